//! The layers above the file as figment providers: the platform's variables, the
//! `LIFTOFF_*` variables and the command line. Each names its values' source the way a
//! user wrote it (`PORT`, `LIFTOFF_ENV__FOO`, `--port`), so errors can point at it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::Arc;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use std::path::{Path, PathBuf};

use super::{env_key_problem, liftoff_vars, lookup};

/// The config file's tables as profiles (`[default]`, `[prod]`, ...), from the table
/// `read_file` already parsed: figment's own TOML provider would read and parse the file
/// a second time on every start.
#[derive(Debug, Clone)]
pub(super) struct FileLayer {
    /// Where the file is, for messages.
    path: PathBuf,
    /// Its contents.
    table: Arc<toml::Table>,
}

impl FileLayer {
    /// A layer for the file at `path` holding `table`.
    pub(super) fn new(path: &Path, table: Arc<toml::Table>) -> Self {
        FileLayer {
            path: path.to_path_buf(),
            table,
        }
    }
}

impl Provider for FileLayer {
    /// Named with the file, so errors say `liftoff.toml [prod]`.
    fn metadata(&self) -> Metadata {
        Metadata::from("TOML file", self.path.as_path())
    }

    /// Each top-level table is a profile; anything else was refused by `read_file`.
    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut profiles = Map::new();
        for (name, value) in self.table.iter() {
            if let Value::Dict(_, dict) = Value::serialize(value)? {
                profiles.insert(Profile::new(name), dict);
            }
        }
        Ok(profiles)
    }
}

/// The platform's own variables as inputs: `PORT` → `port`, `WEB_CONCURRENCY` → `workers`.
#[derive(Debug, Clone)]
pub(super) struct PlatformEnv {
    /// (key, value) pairs that were set.
    values: Vec<(&'static str, String)>,
}

/// Which platform variable feeds which key.
const PLATFORM_VARS: &[(&str, &str)] = &[("PORT", "port"), ("WEB_CONCURRENCY", "workers")];

impl PlatformEnv {
    /// Picks the platform variables out of `env`.
    pub(super) fn new(env: &[(OsString, OsString)]) -> Self {
        let values = PLATFORM_VARS
            .iter()
            .filter_map(|(var, key)| {
                lookup(env, var)
                    .filter(|v| !v.is_empty())
                    .map(|v| (*key, v.to_string()))
            })
            .collect();
        PlatformEnv { values }
    }
}

impl Provider for PlatformEnv {
    /// Named so errors say `environment variable PORT`.
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            let key = keys.first().copied().unwrap_or_default();
            PLATFORM_VARS
                .iter()
                .find(|(_, k)| *k == key)
                .map_or(key.to_string(), |(v, _)| v.to_string())
        })
    }

    /// The values, as the global profile so they beat every table of the file.
    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let dict = self
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.parse::<Value>().unwrap_or_else(|e| match e {}),
                )
            })
            .collect();
        Ok(Map::from([(Profile::Global, dict)]))
    }
}

/// `LIFTOFF_*` variables: `LIFTOFF_PORT=9000`, `LIFTOFF_ENV__FOO=bar`.
///
/// Written instead of figment's `Env` because that one lowercases every part of the name
/// (`LIFTOFF_ENV__FOO` would set `foo`) and names `PORT` where the user wrote `LIFTOFF_PORT`.
#[derive(Debug, Clone)]
pub(super) struct LiftoffEnv {
    /// (full variable name, name without prefix, value).
    vars: Vec<(String, String, String)>,
}

impl LiftoffEnv {
    /// Picks the `LIFTOFF_*` configuration variables out of `env`.
    pub(super) fn new(env: &[(OsString, OsString)]) -> Self {
        let vars = liftoff_vars(env)
            .filter(|(name, rest)| env_key_problem(name, rest).is_none())
            .filter_map(|(name, rest)| {
                lookup(env, name).map(|v| (name.to_string(), rest.to_string(), v.to_string()))
            })
            .collect();
        LiftoffEnv { vars }
    }

    /// The key path of a variable: the key lowercased, table entries as written.
    fn path(rest: &str) -> Vec<String> {
        let mut parts = rest.split("__");
        let first = parts.next().unwrap_or_default().to_ascii_lowercase();
        std::iter::once(first)
            .chain(parts.map(String::from))
            .collect()
    }
}

impl Provider for LiftoffEnv {
    /// Named so errors give the exact variable name.
    fn metadata(&self) -> Metadata {
        let names: Arc<BTreeMap<String, String>> = Arc::new(
            self.vars
                .iter()
                .map(|(name, rest, _)| (Self::path(rest).join("."), name.clone()))
                .collect(),
        );
        Metadata::named("environment variable").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.join(".");
            names
                .get(&key)
                .cloned()
                .unwrap_or_else(|| format!("LIFTOFF_{}", keys.join("__").to_ascii_uppercase()))
        })
    }

    /// The values under the global profile; table entries (`env`) are kept as strings.
    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut dict = Dict::new();
        for (_, rest, value) in &self.vars {
            let path = Self::path(rest);
            let value = if path.len() > 1 && path[0] == "env" {
                Value::from(value.clone())
            } else {
                value.parse::<Value>().unwrap_or_else(|e| match e {})
            };
            insert_path(&mut dict, &path, value);
        }
        Ok(Map::from([(Profile::Global, dict)]))
    }
}

/// Inserts `value` at `path` in a nested dictionary, creating tables on the way.
fn insert_path(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if let Value::Dict(_, inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

/// Command-line flags as configuration keys, the highest layer.
#[derive(Debug, Clone, Default)]
pub struct FlagLayer {
    /// Key → value.
    dict: Dict,
    /// Key → the flag that set it, for messages.
    names: BTreeMap<String, String>,
}

impl FlagLayer {
    /// Every key a flag set, with the flag.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().map(|(k, f)| (k.as_str(), f.as_str()))
    }

    /// Records that `flag` set `key` to `value`.
    pub fn set(&mut self, key: &str, flag: &str, value: impl Into<Value>) {
        self.dict.insert(key.to_string(), value.into());
        self.names.insert(key.to_string(), flag.to_string());
    }

    /// Records one entry of a table key (`--signal-map QUIT=TERM` → `signals.QUIT`).
    pub fn set_entry(&mut self, key: &str, entry: &str, flag: &str, value: impl Into<Value>) {
        insert_path(
            &mut self.dict,
            &[key.to_string(), entry.to_string()],
            value.into(),
        );
        self.names.insert(key.to_string(), flag.to_string());
    }
}

impl Provider for FlagLayer {
    /// Named so errors give the flag.
    fn metadata(&self) -> Metadata {
        let names = Arc::new(self.names.clone());
        Metadata::named("flag").interpolater(move |_: &Profile, keys: &[&str]| {
            let key = keys.first().copied().unwrap_or_default();
            names
                .get(key)
                .cloned()
                .unwrap_or_else(|| format!("--{}", key.replace('_', "-")))
        })
    }

    /// The flags under the global profile, so they beat every other layer.
    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        Ok(Map::from([(Profile::Global, self.dict.clone())]))
    }
}
