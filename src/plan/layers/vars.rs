//! The environment's configuration: `LIFTOFF_*` variables and the platform's own (`PORT`,
//! `WEB_CONCURRENCY`), and what is wrong with them.

use std::ffi::{OsStr, OsString};

use toml::Value;

use super::{Problem, Scope, Setting, Source, did_you_mean, keys};
use crate::plan::keys::{From, KEYS};
use crate::plan::values::parse_scalar;

/// Variables with the `LIFTOFF_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["LIFTOFF_CONFIG", "LIFTOFF_PROFILE"];

/// The configuration the environment sets: every `LIFTOFF_*` key variable and the
/// platform's own (`PORT`, `WEB_CONCURRENCY`), the platform's first (they sit below);
/// what is wrong with them goes to `problems`.
pub(super) fn variables(env: &[(OsString, OsString)], problems: &mut Vec<Problem>) -> Vec<Setting> {
    let platform = env
        .iter()
        .filter_map(|(name, value)| platform(name, value, problems));
    let mut settings: Vec<Setting> = platform.collect();
    settings.extend(
        env.iter()
            .filter_map(|(name, value)| liftoff(name, value, problems)),
    );
    settings
}

/// The setting of a platform variable (`PORT=9000` sets `port`); an empty one sets
/// nothing.
fn platform(name: &OsStr, value: &OsStr, problems: &mut Vec<Problem>) -> Option<Setting> {
    let bytes = name.as_encoded_bytes();
    let key = KEYS
        .iter()
        .find(|k| k.platform.is_some_and(|p| p.as_bytes() == bytes))?;
    let source = Source::Variable(key.platform.unwrap_or_default().to_string());
    let text = utf8_value(value, &source, problems).filter(|t| !t.is_empty())?;
    Some(Setting {
        key: key.name,
        entry: None,
        value: parse_scalar(text),
        source,
    })
}

/// The setting of a `LIFTOFF_*` variable (`LIFTOFF_ENV__NAME` sets one entry of `env`,
/// kept as written); what is wrong with it goes to `problems`.
fn liftoff(name: &OsStr, value: &OsStr, problems: &mut Vec<Problem>) -> Option<Setting> {
    if !name.as_encoded_bytes().starts_with(b"LIFTOFF_") {
        return None;
    }
    let Some(name) = name.to_str() else {
        problems.push(Problem {
            scope: Scope::Global,
            message: format!(
                "environment variable {}: the name is not UTF-8; unset it",
                name.to_string_lossy().escape_debug()
            ),
        });
        return None;
    };
    if NOT_KEYS.contains(&name) {
        return None;
    }
    let source = Source::Variable(name.to_string());
    let (key, entry) = variable_setting(name)
        .map_err(|message| problems.push(Problem::at(&source, message)))
        .ok()?;
    let text = utf8_value(value, &source, problems)?;
    let value = match (&entry, key) {
        (Some(_), "env") => Value::String(text.to_string()),
        _ => parse_scalar(text),
    };
    Some(Setting {
        key,
        entry,
        value,
        source,
    })
}

/// A variable's value as UTF-8 text; a value that is not is a problem (it would
/// otherwise be dropped without a word).
fn utf8_value<'a>(
    value: &'a OsStr,
    source: &Source,
    problems: &mut Vec<Problem>,
) -> Option<&'a str> {
    let text = value.to_str();
    if text.is_none() {
        problems.push(Problem::at(
            source,
            "the value is not UTF-8 text; fix or unset it".into(),
        ));
    }
    text
}

/// The key (and table entry) a `LIFTOFF_*` variable sets, or what is wrong with its name.
fn variable_setting(name: &str) -> Result<(&'static str, Option<String>), String> {
    let rest = &name["LIFTOFF_".len()..];
    let (first, entry) = match rest.split_once("__") {
        Some((first, entry)) => (first, Some(entry)),
        None => (rest, None),
    };
    let lower = first.to_ascii_lowercase();
    let Some(key) = keys::find(&lower) else {
        // Escaped: a name may hold a line break, which would split the message.
        let lower = lower.escape_debug().to_string();
        let hint = match did_you_mean(&lower, keys::names()) {
            none if none.is_empty() => "; `liftoff config --explain` lists the keys".into(),
            hint => hint,
        };
        return Err(format!("unknown key `{lower}`{hint}"));
    };
    if key.from == From::ProfileTable {
        return Err(format!(
            "`{lower}` cannot come from the environment (the command chooses what runs); set it in a profile table"
        ));
    }
    match entry {
        Some(_) if !key.is_table() => Err(format!(
            "`{lower}` is not a table, so it takes no `__` part; use LIFTOFF_{first}"
        )),
        Some(entry) => Ok((key.name, Some(entry.to_string()))),
        None => Ok((key.name, None)),
    }
}
