//! The config file: read bounded, parsed, and checked for its shape (tables, names,
//! known keys in their place).

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;

use super::{COMMAND_WORDS, ConfigFile, Problem, Scope, did_you_mean, keys, toml_key};
use crate::exit::Failure;

/// The largest config or env file liftoff reads: far above any real one, and small
/// enough that `/dev/zero` or a runaway file cannot eat the container's memory.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Reads a small regular file as UTF-8: refuses what is not a regular file (a FIFO would
/// block, `/dev/zero` never ends) and anything over [`MAX_FILE`] bytes.
pub fn read_small_file(path: &Path) -> Result<String, String> {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| crate::exit::os_error(&e))?;
    let meta = file.metadata().map_err(|e| crate::exit::os_error(&e))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.by_ref()
        .take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| crate::exit::os_error(&e))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("larger than {} KiB", MAX_FILE / 1024));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into())
}

/// Reads and checks a config file: it must be a small regular file that parses; every
/// problem in its shape is added to `problems`.
pub(super) fn read_config(
    path: &Path,
    chosen_by: &'static str,
    problems: &mut Vec<Problem>,
) -> Result<ConfigFile, Failure> {
    let shown = crate::exit::shown_path(path);
    let text = read_small_file(path).map_err(|e| {
        let hint = match chosen_by {
            "./liftoff.toml" => "check the file".to_string(),
            _ => format!("fix the path given by {chosen_by}"),
        };
        Failure::Config(format!(
            "failed to read config file {shown} (from {chosen_by}): {e}; {hint}"
        ))
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| {
        let (line, col) = e.span().map_or((0, 0), |span| line_col(&text, span.start));
        let message = e.message().trim_end_matches('\n');
        Failure::Config(format!(
            "{shown}:{line}:{col}: TOML syntax error: {message}"
        ))
    })?;
    let profiles = check_tables(&shown, &table, problems);
    Ok(ConfigFile {
        path: Arc::from(path),
        chosen_by,
        profiles,
        table: Arc::new(table),
    })
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Checks the shape of the file: tables only at the top, lowercase names that are not
/// commands, known keys in their place. Returns the profile names.
fn check_tables(file: &str, doc: &toml::Table, problems: &mut Vec<Problem>) -> Vec<String> {
    let mut profiles = Vec::new();
    for (name, value) in doc {
        let Some(keys) = value.as_table() else {
            problems.push(Problem {
                scope: Scope::File,
                message: format!(
                    "{file}: `{}` is outside any table; put it under [default] (every profile) or a profile table such as [prod]",
                    toml_key(name)
                ),
            });
            continue;
        };
        match table_name_problem(file, name) {
            Some(problem) => problems.push(problem),
            None if name != "default" => profiles.push(name.clone()),
            None => {}
        }
        if name
            .chars()
            .any(|c| c.is_ascii_uppercase() || c.is_control())
        {
            continue;
        }
        problems.extend(keys.keys().filter_map(|key| key_problem(file, name, key)));
    }
    profiles
}

/// What is wrong with a table's name: upper case, `[global]`, or a command's name.
fn table_name_problem(file: &str, name: &str) -> Option<Problem> {
    let scope = Scope::Table(name.to_string());
    let message = if name.chars().any(char::is_control) {
        // Escaped: a line break in the name would split the message.
        format!(
            "{file}: [{}] cannot be a profile: its name holds a control character, which no command line types; rename the table",
            name.escape_debug()
        )
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        format!(
            "{file}: profile names are lowercase (liftoff's commands compare them exactly): rename [{name}] to [{}]",
            name.to_ascii_lowercase()
        )
    } else if name == "global" {
        return Some(Problem {
            scope: Scope::File,
            message: format!(
                "{file}: [global] is not supported; use [default] for settings every profile shares"
            ),
        });
    } else if COMMAND_WORDS.contains(&name) {
        format!(
            "{file}: [{name}] cannot be a profile: `liftoff {name}` is a liftoff command; rename the table"
        )
    } else {
        return None;
    };
    Some(Problem { scope, message })
}

/// What is wrong with key `key` in table `name`: unknown, or out of its place.
fn key_problem(file: &str, name: &str, key: &str) -> Option<Problem> {
    let scope = Scope::Table(name.to_string());
    let message = match keys::find(key) {
        None => format!(
            "{file} [{name}]: unknown key `{}`{}",
            toml_key(key),
            did_you_mean(key, keys::names())
        ),
        Some(k)
            if name == "default" && k.from == keys::From::ProfileTable && k.name != "server" =>
        {
            format!(
                "{file} [default]: `{key}` chooses what runs, so it belongs in a profile table such as [worker], not in [default]"
            )
        }
        Some(_) => return None,
    };
    Some(Problem { scope, message })
}
