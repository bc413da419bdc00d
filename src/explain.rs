//! `liftoff config [PROFILE] [--explain]`: the merged configuration of a profile, and where
//! every value came from (a layer, a built-in default, or computed from the machine).

use serde::Serialize;

use crate::cli::{ConfigArgs, ConfigFormat, GlobalArgs, ServerArgs};
use crate::config::{Layers, suggest};
use crate::exit::Failure;
use crate::plan::{self, Plan, Request, Target};
use crate::profile::{self, Defaults};
use crate::settings::{KEYS, ServerKind, TABLE_KEYS, applies};

/// One effective key: its value and where it came from.
#[derive(Debug, Serialize)]
struct Entry {
    /// The key.
    key: String,
    /// The value (`None`: unset, the server's own default applies).
    value: Option<toml::Value>,
    /// Where it came from.
    source: String,
}

/// Prints the merged configuration of the profile, or its explanation.
pub fn run(layers: &Layers, global: &GlobalArgs, args: &ConfigArgs) -> anyhow::Result<i32> {
    let profile = args.profile.clone().unwrap_or_else(|| "prod".into());
    if !layers.is_profile(&profile) {
        let profiles = layers.all_profiles();
        let names: Vec<&str> = profiles.iter().map(String::as_str).collect();
        return Err(Failure::Usage(format!(
            "no profile `{profile}`{}; profiles: {}",
            suggest(&profile, &names),
            names.join(", ")
        ))
        .into());
    }
    let mut layers = layers.clone();
    layers.flags = plan::flag_layer(global, &ServerArgs::default())?;
    let (figment, settings) = layers.settings(Some(&profile))?;
    let server = profile::server_for(&profile, &settings)?;
    let request = Request {
        target: Target::Profile(profile.clone()),
        global: global.clone(),
        server: ServerArgs::default(),
    };
    let resolved = plan::resolve(&layers, &request);
    let entries = entries(&figment, server, resolved.as_ref().ok());
    match (args.explain, args.format) {
        (false, ConfigFormat::Toml) => crate::output::out(&to_toml(&profile, &entries)),
        (false, ConfigFormat::Json) => crate::output::out(&format!("{}\n", to_json(&entries))),
        (true, ConfigFormat::Json) => {
            let doc = serde_json::json!({ "profile": profile, "profile_source": "command", "file": layers.file.as_ref().map(|f| f.path.display().to_string()), "keys": entries });
            crate::output::out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
        }
        (true, ConfigFormat::Toml) => crate::output::out(&explain_text(
            &profile,
            &layers,
            &entries,
            resolved.as_ref(),
        )),
    }
    Ok(0)
}

/// The built-in default of a key for a server, if it has one.
///
/// Every value is read from the constants and the [`Defaults`] table that the plan applies,
/// so the two cannot disagree; only the empty ones (no codes, no steps, no delay) and `.`
/// for the working directory are written here, since "nothing" has no table entry.
fn default_value(key: &str, server: ServerKind, plan: Option<&Plan>) -> Option<toml::Value> {
    use toml::Value as V;
    let d = Defaults::of(server);
    let text = |s: &str| Some(V::String(s.into()));
    let dur = |x| Some(V::String(crate::settings::Dur(x).to_string()));
    match key {
        "mode" => text(&profile::MODE.to_string()),
        "chdir" => text("."),
        "stop_timeout" => dur(d.stop_timeout),
        "signal_target" => text(&d.signal_target.to_string()),
        "signals" => {
            let table =
                plan.map_or_else(|| profile::default_signals(server), |p| p.signals.clone());
            Some(V::Table(
                table
                    .iter()
                    .map(|(f, t)| (f.to_string(), V::String(t.to_string())))
                    .collect(),
            ))
        }
        "success_codes" | "extra_args" => Some(V::Array(vec![])),
        "env" => Some(V::Table(toml::Table::new())),
        "log_level" => text(&profile::LOG_LEVEL.to_string()),
        "log_format" => text(&profile::LOG_FORMAT.to_string()),
        "server" => text(&server.to_string()),
        "program" if server != ServerKind::Command => text(d.program),
        "host" if server != ServerKind::Command => text(d.host),
        "port" if server != ServerKind::Command => Some(V::Integer(d.port.into())),
        "workers" => text(&profile::WORKERS.to_string()),
        "workers_per_core" => Some(V::Integer(profile::WORKERS_PER_CORE.into())),
        "min_workers" => Some(V::Integer(profile::MIN_WORKERS.into())),
        "max_workers" => Some(V::Integer(profile::MAX_WORKERS.into())),
        "graceful_timeout" => dur(profile::GRACEFUL_TIMEOUT),
        "worker_tmp_dir" => std::path::Path::new(profile::WORKER_TMP_DIR)
            .is_dir()
            .then(|| V::String(profile::WORKER_TMP_DIR.into())),
        "reload" => Some(V::Boolean(d.reload)),
        "drain_delay" => dur(std::time::Duration::ZERO),
        "wait_timeout" => dur(crate::plan::WAIT_TIMEOUT),
        "wait_for" | "before" => Some(V::Array(vec![])),
        "debug" => Some(V::Boolean(profile::DEBUG)),
        _ => None,
    }
}

/// Every key that applies to the server: its value and source.
fn entries(figment: &figment::Figment, server: ServerKind, plan: Option<&Plan>) -> Vec<Entry> {
    // Every `find_value` and `find_metadata` merges all layers again, so the layers are
    // merged once here (an empty path finds the whole merged dictionary, tags intact) and
    // each value's tag leads to its metadata directly.
    let mut merged = figment
        .find_value("")
        .ok()
        .and_then(|v| v.into_dict())
        .unwrap_or_default();
    let mut out = Vec::new();
    for key in KEYS.iter().copied().filter(|k| applies(k, server)) {
        let set = merged.remove(key).and_then(|v| {
            let source = if TABLE_KEYS.contains(&key) {
                table_sources(figment, key, &v)
            } else {
                value_source(figment, &[key], &v)
            };
            toml::Value::try_from(&v).ok().map(|value| (value, source))
        });
        let (value, source) = match (key, set) {
            ("signals", Some((_, source))) => (
                default_value(key, server, plan),
                format!("{source}, over the built-in table"),
            ),
            (_, Some((value, source))) => (Some(value), source),
            (_, None) => match default_value(key, server, plan) {
                Some(value) => (Some(value), "built-in default".into()),
                None => (None, unset_meaning(key).into()),
            },
        };
        out.push(Entry {
            key: key.into(),
            value: value.map(|v| mask_env(key, v)),
            source,
        });
    }
    out
}

/// Where one value (found at `path` in the merged layers) came from; `?` if no layer says.
fn value_source(
    figment: &figment::Figment,
    path: &[&str],
    value: &figment::value::Value,
) -> String {
    crate::config::value_source(figment, path, value).unwrap_or_else(|| "?".into())
}

/// Where each entry of a table came from, since entries merge across layers.
fn table_sources(figment: &figment::Figment, key: &str, table: &figment::value::Value) -> String {
    let Some(dict) = table.as_dict() else {
        return value_source(figment, &[key], table);
    };
    let parts: Vec<String> = dict
        .iter()
        .map(|(name, value)| format!("{name} from {}", value_source(figment, &[key, name], value)))
        .collect();
    parts.join("; ")
}

/// What leaving a key without a default unset means.
fn unset_meaning(key: &str) -> &'static str {
    match key {
        "worker_memory" => "unset: no memory cap on the worker count",
        "gunicorn_config" => "unset: no -c (gunicorn still reads ./gunicorn.conf.py if present)",
        "app" => "unset: Flask finds FLASK_APP, app.py or wsgi.py",
        "program" => "unset: the first word of `command`",
        "user" => "unset: the program runs as liftoff's own user",
        "env_file" => "unset: no env file",
        _ => "unset: the server's own default applies",
    }
}

/// Masks the values of secret-looking variables in the `env` table.
fn mask_env(key: &str, value: toml::Value) -> toml::Value {
    match (key, value) {
        ("env", toml::Value::Table(table)) => toml::Value::Table(
            table
                .into_iter()
                .map(|(k, v)| {
                    // Values that are not strings (numbers, booleans) hold no secret.
                    let v = match v.as_str().map(|text| plan::mask(&k, text)) {
                        Some(shown) => toml::Value::String(shown),
                        None => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        (_, value) => value,
    }
}

/// The set values as a TOML table named after the profile.
fn to_toml(profile: &str, entries: &[Entry]) -> String {
    let table: toml::Table = entries
        .iter()
        .filter_map(|e| e.value.clone().map(|v| (e.key.clone(), v)))
        .collect();
    let mut doc = toml::Table::new();
    doc.insert(profile.into(), toml::Value::Table(table));
    toml::to_string(&doc).unwrap_or_default()
}

/// The set values as one JSON object.
fn to_json(entries: &[Entry]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = entries
        .iter()
        .filter_map(|e| {
            e.value
                .as_ref()
                .and_then(|v| serde_json::to_value(v).ok())
                .map(|v| (e.key.clone(), v))
        })
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}

/// The explanation: every key, its value and its source, then what was computed.
fn explain_text(
    profile: &str,
    layers: &Layers,
    entries: &[Entry],
    plan: Result<&Plan, &anyhow::Error>,
) -> String {
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
    let shown = |v: &Option<toml::Value>| v.as_ref().map_or("-".into(), inline);
    let width = entries
        .iter()
        .map(|e| e.key.len() + 3 + shown(&e.value).len())
        .max()
        .unwrap_or(0);
    for e in entries {
        let left = format!("{} = {}", e.key, shown(&e.value));
        out += &format!("{left:<width$}  # {}\n", e.source);
    }
    match plan {
        Ok(plan) => {
            if let (Some(workers), Some(why)) = (plan.workers, &plan.workers_reason) {
                out += &format!(
                    "computed: workers = {workers} ({why}); cpus = {}\n",
                    plan.cpus.unwrap_or(0)
                );
            }
            out += &format!(
                "computed: program = {} (resolved on PATH)\n",
                plan.program.display()
            );
            out += &format!("computed: cwd = {}\n", plan.cwd.display());
            out += &format!("computed: mode = {} ({})\n", plan.mode, plan.mode_reason);
        }
        Err(err) => out += &format!("problem: {err}\n"),
    }
    out
}

/// A TOML value on one line.
fn inline(value: &toml::Value) -> String {
    match value {
        toml::Value::Table(table) => {
            let parts: Vec<String> = table
                .iter()
                .map(|(k, v)| format!("{} = {}", inline_key(k), inline(v)))
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        other => other.to_string(),
    }
}

/// A table key as TOML writes it: bare when it can be, else quoted (`"dotted.name"`),
/// so the line reads back as the same table.
fn inline_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_string()
    } else {
        toml::Value::String(key.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::result_large_err,
        reason = "figment::Jail closures return figment::Error"
    )]

    use super::*;
    use figment::Jail;

    #[test]
    fn every_value_and_table_entry_names_its_layer() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "liftoff.toml",
                r#"
[default]
env = { SHARED = "1" }

[prod]
app = "app:create_app()"
env = { "dotted.name" = "x" }
"#,
            )?;
            jail.set_env("LIFTOFF_PORT", "9001");
            jail.set_env("LIFTOFF_ENV__FOO", "bar");
            let mut layers = Layers::load(None, std::env::vars_os().collect()).unwrap();
            layers.flags.set("stop_timeout", "--stop-timeout", "20s");
            let (figment, _) = layers.settings(Some("prod")).unwrap();
            let entries = entries(&figment, ServerKind::Gunicorn, None);
            let source = |key: &str| {
                let entry = entries.iter().find(|e| e.key == key).unwrap();
                (entry.value.as_ref().map(inline), entry.source.as_str())
            };
            let cases = [
                ("app", "\"app:create_app()\"", "liftoff.toml [prod]"),
                ("port", "9001", "environment variable LIFTOFF_PORT"),
                ("stop_timeout", "\"20s\"", "flag --stop-timeout"),
                ("host", "\"0.0.0.0\"", "built-in default"),
                (
                    "env",
                    "{ FOO = \"bar\", SHARED = \"1\", \"dotted.name\" = \"x\" }",
                    "FOO from environment variable LIFTOFF_ENV__FOO; SHARED from liftoff.toml [default]; dotted.name from liftoff.toml [prod]",
                ),
            ];
            for (key, value, from) in cases {
                assert_eq!(source(key), (Some(value.to_string()), from), "{key}");
            }
            assert_eq!(
                source("threads"),
                (None, "unset: the server's own default applies")
            );
            Ok(())
        });
    }
}
