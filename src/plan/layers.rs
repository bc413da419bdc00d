//! Layered configuration: built-in defaults < the file's `[default]` < its profile table
//! < the platform's variables < `LIFTOFF_*` variables < flags, every value with its source.
//!
//! The file is read and checked here (size, syntax with line and column, unknown keys,
//! table names); the environment is checked too (unknown `LIFTOFF_*` names, values that
//! are not UTF-8). [`Layers::merge`] picks, for one profile, each key's winning value and
//! where it came from; tables (`env`, `signals`) merge entry by entry. Every problem is
//! collected, so `check` can list them all. Nothing here decides which profile runs: that
//! comes only from the command.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use toml::Value;

use super::keys;
use super::values::shown;
use crate::exit::Failure;

/// Profiles every config has, whether or not the file defines them.
pub const BUILTIN_PROFILES: &[&str] = &["prod", "dev"];

/// Words that are liftoff's own commands, so no profile can be reached by them.
pub const COMMAND_WORDS: &[&str] = &["run", "plan", "config", "check", "health", "help"];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// liftoff's own default (the key table, or the server table).
    Default,
    /// The `dev` profile's own default for its server (loopback, reload, short stop).
    DevDefault,
    /// A table of the config file.
    File {
        path: Arc<Path>,
        /// The table: `default` or a profile.
        table: String,
    },
    /// An environment variable, named as set.
    Variable(String),
    /// A flag, named as given (`--port`, `-v`).
    Flag(String),
}

impl fmt::Display for Source {
    /// `built-in default`, `liftoff.toml [prod]`, `environment variable PORT`, `flag --port`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("built-in default"),
            Source::DevDefault => f.write_str("built-in default for dev"),
            Source::File { path, table } => {
                write!(f, "{} [{table}]", crate::exit::shown_path(path))
            }
            // Escaped: a name may hold a line break, which would split a message.
            Source::Variable(name) => write!(f, "environment variable {}", name.escape_debug()),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// What a problem blocks: one table of the file, the whole file, or everything (the
/// environment and flags apply to every profile).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// A profile table; `default` blocks every profile.
    Table(String),
    /// The file as a whole (syntax, keys outside tables).
    File,
    /// The environment or the command line (every profile reads them).
    Global,
}

/// One thing wrong with the configuration, in one line that says where and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub scope: Scope,
    pub message: String,
}

impl Source {
    /// What a problem with a value from here blocks.
    pub fn scope(&self) -> Scope {
        match self {
            Source::File { table, .. } => Scope::Table(table.clone()),
            _ => Scope::Global,
        }
    }
}

impl Problem {
    /// A problem with a value from `source`: `{source}: {message}`.
    pub fn at(source: &Source, message: String) -> Problem {
        Problem {
            scope: source.scope(),
            message: format!("{source}: {message}"),
        }
    }

    /// A bad value of `key` from `source`: `port `eighty` (from environment variable
    /// PORT): expected a port number from 1 to 65535`.
    pub fn value(key: &str, value: &Value, source: &Source, why: &str) -> Problem {
        let text = match value {
            Value::String(s) => shown(&Value::String(s.clone()))
                .trim_matches('"')
                .to_string(),
            other => shown(other),
        };
        Problem {
            scope: source.scope(),
            message: format!("{key} `{}` (from {source}): {why}", text.escape_debug()),
        }
    }

    /// Whether it keeps `profile` from resolving: a problem in its table, in `[default]`
    /// or outside any table does; a variable or flag that names no key is left out of
    /// the layers, so it does not.
    pub fn blocks(&self, profile: &str) -> bool {
        match &self.scope {
            Scope::Table(table) => table == profile || table == "default",
            Scope::File => true,
            Scope::Global => false,
        }
    }
}

/// The config file, once found and checked.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: Arc<Path>,
    /// Why this file: `--config`, `LIFTOFF_CONFIG` or `./liftoff.toml`.
    pub chosen_by: &'static str,
    /// The profile tables it defines, in file order, `default` excluded.
    pub profiles: Vec<String>,
    pub table: Arc<toml::Table>,
}

/// Everything the layers are built from: the file, the environment and the flags.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub file: Option<ConfigFile>,
    /// The process environment (captured once, so tests can pass their own).
    pub env: Vec<(OsString, OsString)>,
    /// Values from the environment that are configuration: (key, entry, value, source).
    vars: Vec<Setting>,
    flags: Vec<Setting>,
}

/// One value a variable or a flag sets: a key, or one entry of a table key.
#[derive(Debug, Clone)]
pub struct Setting {
    pub key: &'static str,
    /// The entry of a table key (`env.NAME`), else `None`.
    pub entry: Option<String>,
    pub value: Value,
    pub source: Source,
}

impl Layers {
    /// Finds and checks the config file, and reads the environment's configuration.
    ///
    /// The file is `--config` (must exist), else `$LIFTOFF_CONFIG` (must exist), else
    /// `./liftoff.toml` if present. A file that cannot be read or parsed is an error;
    /// anything else wrong is returned as problems, all of them.
    pub fn load(
        config_flag: Option<&Path>,
        env: Vec<(OsString, OsString)>,
    ) -> Result<(Layers, Vec<Problem>), Failure> {
        let mut problems = Vec::new();
        let from_env = match env.iter().find(|(k, v)| k == "LIFTOFF_CONFIG" && !v.is_empty()) {
            Some((_, v)) => Some(v.to_str().ok_or_else(|| Failure::Config(
                "environment variable LIFTOFF_CONFIG: the path is not UTF-8; name the config file with a UTF-8 path".into(),
            ))?),
            None => None,
        };
        let here = Path::new("liftoff.toml");
        let chosen = match (config_flag, from_env) {
            (Some(path), _) => Some((path, "--config")),
            (None, Some(path)) => Some((Path::new(path), "LIFTOFF_CONFIG")),
            (None, None) => here.exists().then_some((here, "./liftoff.toml")),
        };
        let file = chosen.map(|(path, by)| file::read_config(path, by, &mut problems));
        let file = file.transpose()?;
        let vars = vars::variables(&env, &mut problems);
        let layers = Layers {
            file,
            env,
            vars,
            flags: Vec::new(),
        };
        Ok((layers, problems))
    }

    /// Sets the command line's values, the highest layer.
    pub fn set_flags(&mut self, flags: Vec<Setting>) {
        self.flags = flags;
    }

    /// Whether `name` is a profile: built in, or a table of the config file.
    pub fn is_profile(&self, name: &str) -> bool {
        BUILTIN_PROFILES.contains(&name) || self.file_table(name).is_some() && name != "default"
    }

    /// The profile tables the file defines.
    pub fn file_profiles(&self) -> impl Iterator<Item = &str> {
        self.file
            .iter()
            .flat_map(|f| f.profiles.iter().map(String::as_str))
    }

    /// Every profile: the built-in ones, then the file's, without repeats.
    pub fn all_profiles(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        BUILTIN_PROFILES
            .iter()
            .copied()
            .chain(self.file_profiles())
            .filter(|p| seen.insert(*p))
            .map(String::from)
            .collect()
    }

    /// A table of the file, by name.
    pub fn file_table(&self, name: &str) -> Option<&toml::Table> {
        self.file.as_ref()?.table.get(name)?.as_table()
    }

    /// Each key's winning value for `profile` (`None`: a program, `[default]` only), with
    /// its source; no built-in defaults yet (they depend on the server, which this says).
    pub fn merge(&self, profile: Option<&str>) -> Merged {
        let mut merged = Merged::default();
        if let Some(file) = &self.file {
            let tables = std::iter::once("default").chain(profile.filter(|p| *p != "default"));
            for table in tables {
                let Some(keys) = file.table.get(table).and_then(Value::as_table) else {
                    continue;
                };
                let source = Source::File {
                    path: file.path.clone(),
                    table: table.to_string(),
                };
                for (key, value) in keys {
                    if let Some(key) = keys::find(key) {
                        merged.set_value(key.name, value, &source);
                    }
                }
            }
        }
        for setting in self.vars.iter().chain(&self.flags) {
            merged.set(setting);
        }
        merged
    }

    /// Looks a variable up in the captured environment; `None` also when not UTF-8.
    pub fn var(&self, name: &str) -> Option<&str> {
        let found = self.env.iter().find(|(k, _)| k == name);
        found.and_then(|(_, v)| v.to_str())
    }
}

/// A table key as TOML writes it: bare when it can be, else quoted on one line
/// (`"dotted.name"`, `"a\u000Ab"`). Not toml's own quoting: it writes a key with a line
/// break as a multi-line string, which would split the message that names the key.
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return key.to_string();
    }
    let mut quoted = String::from('"');
    for c in key.chars() {
        match c {
            '"' | '\\' => quoted.extend(['\\', c]),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// `; did you mean `x`?` when a known word is close to `word`, else nothing.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

/// The known word closest to `word`, when one is close.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    /// Longer words get no suggestion: nobody mistypes a name that long, and comparing two
    /// words takes time that grows with the product of their lengths (two names of 40,000
    /// characters took 15 s).
    const UP_TO: usize = 100;
    if word.len() > UP_TO {
        return None;
    }
    known
        .into_iter()
        .filter(|k| k.len() <= UP_TO)
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

mod file;
mod flags;
mod merged;
mod vars;

pub use file::read_small_file;
pub use flags::flag_settings;
pub use merged::{Merged, Sources};

#[cfg(test)]
mod tests;
