//! The command line's values as the highest layer. What is wrong with them (a
//! `--signal-map` without `=`, a `--before` with an unclosed quote) is a problem like a
//! bad value anywhere else (78).

use toml::Value;

use super::{Problem, Setting, Source, keys};
use crate::plan::keys::{Flag, Form, Key, Raw};

/// The settings the flags give, and every problem with them; `-v` and `-q` set
/// `log_level`.
pub fn flag_settings(
    values: &keys::KeyValues,
    verbose: u8,
    quiet: u8,
) -> (Vec<Setting>, Vec<Problem>) {
    let mut settings = Vec::new();
    let mut problems = Vec::new();
    for (key, raw) in &values.0 {
        let Some(flag) = key.flag else { continue };
        let source = Source::Flag(match flag.form {
            Form::Switch => format!("--{0}/--no-{0}", flag.long),
            _ => format!("--{}", flag.long),
        });
        let set = |entry: Option<String>, value: Value| Setting {
            key: key.name,
            entry,
            value,
            source: source.clone(),
        };
        match (flag.form, raw) {
            (_, Raw::Switch(on)) => settings.push(set(None, Value::Boolean(*on))),
            (_, Raw::One(text)) => settings.push(set(None, Value::String(text.clone()))),
            (Form::Entries, Raw::Many(items)) => {
                settings.extend(entries(key, flag, items, &source, &mut problems));
            }
            (Form::Command, Raw::Many(items)) => {
                settings.push(set(None, commands(items, &source, &mut problems)))
            }
            (_, Raw::Many(items)) => settings.push(set(
                None,
                Value::Array(items.iter().cloned().map(Value::String).collect()),
            )),
        }
    }
    settings.extend(verbosity(verbose, quiet));
    (settings, problems)
}

/// `--signal-map FROM=TO` values as entries of the table key.
fn entries(
    key: &'static Key,
    flag: Flag,
    items: &[String],
    source: &Source,
    problems: &mut Vec<Problem>,
) -> Vec<Setting> {
    let mut settings = Vec::new();
    for item in items {
        match item.split_once('=') {
            Some((from, to)) => settings.push(Setting {
                key: key.name,
                entry: Some(from.trim().to_string()),
                value: Value::String(to.trim().to_string()),
                source: source.clone(),
            }),
            None => problems.push(Problem::at(
                source,
                format!(
                    "`{}`: expected FROM=TO, e.g. --{long} QUIT=TERM or --{long} HUP=ignore",
                    item.escape_debug(),
                    long = flag.long
                ),
            )),
        }
    }
    settings
}

/// `--before 'CMD ARGS'` values split into words as a shell would, never run by one.
fn commands(items: &[String], source: &Source, problems: &mut Vec<Problem>) -> Value {
    let mut steps = Vec::new();
    for item in items {
        match shell_words::split(item) {
            Ok(words) if !words.is_empty() => {
                steps.push(Value::Array(words.into_iter().map(Value::String).collect()))
            }
            Ok(_) => problems.push(Problem::at(source, "the command is empty".into())),
            Err(e) => problems.push(Problem::at(
                source,
                format!(
                    "`{}`: {e}; quote it as in a shell, e.g. --before 'flask db upgrade'",
                    item.escape_debug()
                ),
            )),
        }
    }
    Value::Array(steps)
}

/// `-v`/`-q` as a `log_level` setting: each `-v` one level more, each `-q` one less.
fn verbosity(verbose: u8, quiet: u8) -> Option<Setting> {
    let level = match i32::from(verbose) - i32::from(quiet) {
        0 => return None,
        1 => "debug",
        n if n >= 2 => "trace",
        -1 => "warn",
        _ => "error",
    };
    Some(Setting {
        key: "log_level",
        entry: None,
        value: Value::String(level.into()),
        source: Source::Flag(if verbose > 0 { "-v" } else { "-q" }.into()),
    })
}
