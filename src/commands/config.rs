//! `liftoff config [PROFILE] [--explain]`: the merged configuration of a profile, and
//! where every value came from.

use std::ffi::OsString;

use serde_json::json;
use toml::Value;

use super::{load, strict};
use crate::cli::{ConfigArgs, ConfigFormat, GlobalArgs};
use crate::exit::Failure;
use crate::plan::keys::{self, KEYS};
use crate::plan::layers::{Layers, Merged, Sources, closest};
use crate::plan::servers::{Ctx, Engine};
use crate::plan::values::ServerKind;
use crate::plan::{Plan, Target};

/// One key that applies to the profile's server: its value and where it came from.
struct Entry {
    key: &'static str,
    /// The value (`None`: unset, and what that means is the source).
    value: Option<Value>,
    source: String,
}

/// Prints the merged configuration of the profile, or its explanation.
pub fn run(
    global: &GlobalArgs,
    env: Vec<(OsString, OsString)>,
    args: &ConfigArgs,
) -> anyhow::Result<i32> {
    let layers = strict(load(global.config.as_deref(), env, &global.keys.0, global)?)?;
    let profile = args.profile.clone().unwrap_or_else(|| "prod".into());
    if !layers.is_profile(&profile) {
        let profiles = layers.all_profiles();
        let hint = closest(&profile, profiles.iter().map(String::as_str))
            .map_or_else(String::new, |p| format!("; did you mean `{p}`?"));
        return Err(Failure::Usage(format!(
            "no profile `{}`{hint}; profiles: {}",
            profile.escape_debug(),
            profiles.join(", ")
        ))
        .into());
    }
    let (merged, server, engine) = crate::plan::merge(&layers, Some(&profile))?;
    let resolved = crate::plan::resolve(&layers, &Target::Profile(profile.clone()), &[]);
    let entries = entries(
        &merged,
        server,
        engine,
        resolved.as_ref().ok(),
        args.show_env,
    );
    let text = match (args.explain, args.format) {
        (false, ConfigFormat::Toml) => to_toml(&profile, &entries),
        (false, ConfigFormat::Json) => {
            format!("{}\n", serde_json::to_string_pretty(&set_values(&entries))?)
        }
        (true, ConfigFormat::Json) => {
            let keys: Vec<_> = entries
                .iter()
                .map(|e| {
                    let key = keys::find(e.key);
                    json!({
                        "key": e.key,
                        "value": e.value,
                        "source": e.source,
                        "expected": key.map(|k| k.expected),
                        "variable": key.and_then(keys::Key::variable),
                        "flag": key.and_then(|k| k.flag).map(|f| format!("--{}", f.long)),
                    })
                })
                .collect();
            let doc = json!({
                "profile": profile,
                "profile_source": "command",
                "file": layers.file.as_ref().map(|f| f.path.display().to_string()),
                "keys": keys,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc)?)
        }
        (true, ConfigFormat::Toml) => explain_text(&profile, &layers, &entries, resolved.as_ref()),
    };
    crate::output::out(&text);
    Ok(0)
}

/// Every key that applies to `server`: its value and source, secrets masked unless `reveal`.
fn entries(
    merged: &Merged,
    server: ServerKind,
    engine: Engine,
    plan: Option<&Plan>,
    reveal: bool,
) -> Vec<Entry> {
    KEYS.iter()
        .filter(|k| k.applies_to(server))
        .map(|key| {
            let set = merged.shown(key.name);
            let (value, source) = match (key.name, set) {
                ("signals", set) => signals(engine, plan, set.map(|(_, sources)| sources)),
                (_, Some((value, sources))) => (Some(value), describe(&sources)),
                (_, None) => match key.default {
                    keys::Default::Unset(meaning) => (None, meaning.to_string()),
                    _ => (None, "unset: the server's own default applies".to_string()),
                },
            };
            let value = value.map(|v| masked(key.name, v, reveal));
            Entry {
                key: key.name,
                value,
                source,
            }
        })
        .collect()
}

/// A key's value with the `env` table's values and argv-like secrets masked unless `reveal`.
fn masked(key: &str, value: Value, reveal: bool) -> Value {
    match (key, value) {
        ("env", Value::Table(table)) => Value::Table(
            table
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(t) => {
                        (k.clone(), Value::String(crate::plan::mask(&k, &t, reveal)))
                    }
                    v => (k, v),
                })
                .collect(),
        ),
        ("command" | "extra_args" | "wait_for", Value::Array(a)) if a.iter().all(Value::is_str) => {
            let words: Vec<String> = a
                .iter()
                .filter_map(|w| w.as_str().map(String::from))
                .collect();
            let masked = crate::plan::mask_words(&words, reveal);
            Value::Array(masked.into_iter().map(Value::String).collect())
        }
        ("before", Value::Array(steps)) => Value::Array(
            steps
                .into_iter()
                .map(|step| masked("command", step, reveal))
                .collect(),
        ),
        (_, value) => value,
    }
}

/// The signal table in effect: the server's built-in one with the layers' entries over it.
fn signals(engine: Engine, plan: Option<&Plan>, set: Option<Sources>) -> (Option<Value>, String) {
    let table = plan.map_or_else(
        || {
            (engine.row().signals)(&Ctx {
                s: &Default::default(),
                workers: None,
            })
        },
        |p| p.spec.stop.table.clone(),
    );
    let value = Value::Table(
        table
            .iter()
            .map(|(f, t)| (f.to_string(), Value::String(t.to_string())))
            .collect(),
    );
    let source = match set {
        Some(sources) => format!("{}, over the built-in table", describe(&sources)),
        None => "built-in default".into(),
    };
    (Some(value), source)
}

/// One source, or for a table each entry's: `A from X; B from Y`.
fn describe(sources: &[(Option<String>, crate::plan::layers::Source)]) -> String {
    match sources {
        [(None, source)] => source.to_string(),
        entries => entries
            .iter()
            .map(|(name, source)| format!("{} from {source}", name.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// The set values as a table of name → value.
fn set_values(entries: &[Entry]) -> toml::Table {
    entries
        .iter()
        .filter_map(|e| e.value.clone().map(|v| (e.key.to_string(), v)))
        .collect()
}

/// The set values as a TOML table named after the profile.
fn to_toml(profile: &str, entries: &[Entry]) -> String {
    let mut doc = toml::Table::new();
    doc.insert(profile.into(), Value::Table(set_values(entries)));
    toml::to_string(&doc).unwrap_or_default()
}

/// The explanation: every key, its value and its source, then what was computed.
fn explain_text(
    profile: &str,
    layers: &Layers,
    entries: &[Entry],
    plan: Result<&Plan, &anyhow::Error>,
) -> String {
    /// Longer values are not padded to: the column would run off the screen.
    const ALIGN_UP_TO: usize = 60;
    let mut out = format!(
        "profile {profile}: chosen by the command; no environment variable (LIFTOFF_PROFILE, FLASK_ENV, FLASK_DEBUG, APP_ENV, ENVIRONMENT) ever chooses the profile\n"
    );
    out += &match &layers.file {
        Some(file) => format!(
            "config file: {} (found by {})\n",
            file.path.display(),
            file.chosen_by
        ),
        None => "config file: none (no --config, no LIFTOFF_CONFIG, no ./liftoff.toml)\n".into(),
    };
    let lefts: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{} = {}",
                e.key,
                e.value.as_ref().map_or("-".into(), Value::to_string)
            )
        })
        .collect();
    let width = lefts
        .iter()
        .map(|l| l.chars().count())
        .filter(|w| *w <= ALIGN_UP_TO)
        .max()
        .unwrap_or(0);
    for (left, e) in lefts.iter().zip(entries) {
        let pad = width.saturating_sub(left.chars().count());
        out += &format!("{left}{}  # {}\n", " ".repeat(pad), e.source);
    }
    out + &computed(plan)
}

/// What was computed from the machine, or why the plan could not be made.
fn computed(plan: Result<&Plan, &anyhow::Error>) -> String {
    let plan = match plan {
        Ok(plan) => plan,
        Err(err) => {
            return crate::exit::lines(err)
                .iter()
                .map(|l| format!("problem: {l}\n"))
                .collect();
        }
    };
    let mut out = String::new();
    if let Some(w) = &plan.workers {
        out += &format!(
            "computed: workers = {} ({}); cpus = {}\n",
            w.count, w.why, w.cpus
        );
    }
    out += &format!(
        "computed: program = {} (resolved on PATH)\n",
        plan.spec.program.display()
    );
    out += &format!("computed: cwd = {}\n", plan.spec.cwd.display());
    if plan.engine == Engine::Gunicorn {
        out += &match &plan.server_config {
            Some((path, why)) => format!("computed: gunicorn config = {} (gunicorn reads it: {why})\n", path.display()),
            None => "computed: gunicorn config = none (no gunicorn_config, no --config in GUNICORN_CMD_ARGS, no ./gunicorn.conf.py)\n".into(),
        };
    }
    out + &format!("computed: mode = {} ({})\n", plan.mode, plan.mode_reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::layers::Setting;

    #[test]
    fn every_value_and_table_entry_names_its_layer() {
        let dir = std::env::temp_dir().join(format!("liftoff-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("liftoff.toml");
        std::fs::write(
            &file,
            "[default]\nenv = { SHARED = \"1\" }\n\n[prod]\napp = \"app:create_app()\"\nenv = { \"dotted.name\" = \"x\" }\n",
        )
        .unwrap();
        let env = vec![
            (OsString::from("LIFTOFF_PORT"), OsString::from("9001")),
            (OsString::from("LIFTOFF_ENV__FOO"), OsString::from("bar")),
        ];
        let (mut layers, problems) = Layers::load(Some(&file), env).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        layers.set_flags(vec![Setting {
            key: "stop_timeout",
            entry: None,
            value: Value::String("20s".into()),
            source: crate::plan::layers::Source::Flag("--stop-timeout".into()),
        }]);
        let (merged, server, engine) = crate::plan::merge(&layers, Some("prod")).unwrap();
        let entries = entries(&merged, server, engine, None, true);
        std::fs::remove_dir_all(&dir).unwrap();
        let source = |key: &str| {
            let entry = entries.iter().find(|e| e.key == key).unwrap();
            (
                entry.value.as_ref().map(Value::to_string),
                entry.source.clone(),
            )
        };
        let shown_file = file.display().to_string();
        let cases = [
            (
                "app",
                "\"app:create_app()\"".to_string(),
                format!("{shown_file} [prod]"),
            ),
            (
                "port",
                "9001".to_string(),
                "environment variable LIFTOFF_PORT".to_string(),
            ),
            (
                "stop_timeout",
                "\"20s\"".to_string(),
                "flag --stop-timeout".to_string(),
            ),
            (
                "host",
                "\"0.0.0.0\"".to_string(),
                "built-in default".to_string(),
            ),
            (
                "env",
                "{ FOO = \"bar\", SHARED = \"1\", \"dotted.name\" = \"x\" }".to_string(),
                format!(
                    "FOO from environment variable LIFTOFF_ENV__FOO; SHARED from {shown_file} [default]; dotted.name from {shown_file} [prod]"
                ),
            ),
        ];
        for (key, value, from) in cases {
            assert_eq!(source(key), (Some(value), from), "{key}");
        }
        assert_eq!(
            source("threads"),
            (None, "unset: the server's own default applies".to_string())
        );
    }

    #[test]
    fn a_value_longer_than_a_line_is_explained_without_a_panic() {
        let entries = [
            Entry {
                key: "app",
                value: Some(Value::String("x".repeat(70_000))),
                source: "flag --app".into(),
            },
            Entry {
                key: "host",
                value: Some(Value::String("h".into())),
                source: "built-in default".into(),
            },
        ];
        let layers = Layers::default();
        let err = anyhow::anyhow!("one\ntwo");
        let text = explain_text("prod", &layers, &entries, Err(&err));
        assert!(
            text.contains("# flag --app") && text.contains("problem: two"),
            "{}",
            text.len()
        );
    }
}
