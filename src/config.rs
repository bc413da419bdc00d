//! Layered configuration: built-in defaults < TOML file < environment < flags, with sources.
//!
//! One function, [`Layers::figment`], builds the provider chain for a profile. Every layer
//! except the file is a figment *global* profile, so a `LIFTOFF_*` variable beats a `[prod]`
//! table and a flag beats both. The file is read and checked here first (syntax with line and
//! column, unknown keys, the profile names it defines), because figment alone would accept
//! a missing file silently and report an unknown key without saying where it came from.
//! Nothing here reads which profile to run: that comes only from the command.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use crate::exit::Failure;
use crate::settings::{KEYS, Settings, TABLE_KEYS};

/// Profiles every config has, whether or not the file defines them.
pub const BUILTIN_PROFILES: &[&str] = &["prod", "dev"];

/// Words that are liftoff's own commands, so no profile can be reached by them.
pub const COMMAND_WORDS: &[&str] = &["run", "plan", "config", "check", "health", "help"];

/// Keys that choose what runs: they belong to a profile table, never to `[default]` or
/// the environment, so that only the command decides which server starts.
pub const PROFILE_ONLY_KEYS: &[&str] = &["server", "command", "program"];

/// Variables with the `LIFTOFF_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["LIFTOFF_CONFIG", "LIFTOFF_PROFILE"];

/// The config file, once found and checked.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// Where it is.
    pub path: PathBuf,
    /// Why this file: `--config`, `LIFTOFF_CONFIG` or `./liftoff.toml`.
    pub chosen_by: &'static str,
    /// The profile tables it defines, `default` excluded.
    pub profiles: Vec<String>,
}

/// Everything the layers are built from: the file and the process environment.
#[derive(Debug, Clone)]
pub struct Layers {
    /// The config file, if any.
    pub file: Option<ConfigFile>,
    /// The process environment (captured once, so tests can pass their own).
    pub env: Vec<(OsString, OsString)>,
    /// Flags given on the command line, as configuration keys.
    pub flags: FlagLayer,
}

impl Layers {
    /// Finds and checks the config file, and captures the environment.
    ///
    /// The file is `--config` (must exist), else `$LIFTOFF_CONFIG` (must exist), else
    /// `./liftoff.toml` if present.
    pub fn load(
        config_flag: Option<&Path>,
        env: Vec<(OsString, OsString)>,
    ) -> anyhow::Result<Layers> {
        let from_env = lookup(&env, "LIFTOFF_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let file = match (config_flag, from_env) {
            (Some(path), _) => Some(read_file(path, "--config")?),
            (None, Some(path)) => Some(read_file(&path, "LIFTOFF_CONFIG")?),
            (None, None) => {
                let default = Path::new("liftoff.toml");
                default
                    .is_file()
                    .then(|| read_file(default, "./liftoff.toml"))
                    .transpose()?
            }
        };
        check_env_keys(&env)?;
        Ok(Layers {
            file,
            env,
            flags: FlagLayer::default(),
        })
    }

    /// Whether `name` is a profile: built in, or a table of the config file.
    pub fn is_profile(&self, name: &str) -> bool {
        BUILTIN_PROFILES.contains(&name) || self.file_profiles().any(|p| p == name)
    }

    /// The profiles the config file defines.
    pub fn file_profiles(&self) -> impl Iterator<Item = &str> {
        self.file
            .iter()
            .flat_map(|f| f.profiles.iter().map(String::as_str))
    }

    /// Every profile: the built-in ones, then the file's, without repeats.
    pub fn all_profiles(&self) -> Vec<String> {
        let mut all: Vec<String> = BUILTIN_PROFILES.iter().map(|p| p.to_string()).collect();
        all.extend(
            self.file_profiles()
                .filter(|p| !all.iter().any(|a| a == p))
                .map(String::from)
                .collect::<Vec<_>>(),
        );
        all
    }

    /// The provider chain with `profile` selected (`None`: only `[default]`, for programs).
    pub fn figment(&self, profile: Option<&str>) -> Figment {
        let mut figment = Figment::new();
        if let Some(file) = &self.file {
            figment = figment.merge(Toml::file_exact(&file.path).nested());
        }
        figment
            .merge(PlatformEnv::new(&self.env))
            .merge(LiftoffEnv::new(&self.env))
            .merge(self.flags.clone())
            .select(profile.map_or(Profile::Default, Profile::new))
    }

    /// Extracts the settings of `profile`, every error naming key and source.
    pub fn settings(&self, profile: Option<&str>) -> anyhow::Result<(Figment, Settings)> {
        let figment = self.figment(profile);
        match figment.extract::<Settings>() {
            Ok(settings) => Ok((figment, settings)),
            Err(errors) => {
                let lines: Vec<String> = errors.into_iter().map(|e| describe(&e)).collect();
                Err(Failure::Config(lines.join("\n")).into())
            }
        }
    }
}

/// Looks a variable up in a captured environment.
pub fn lookup<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.to_str())
}

/// Reads and checks a config file: it must exist, parse, and use only known keys.
fn read_file(path: &Path, chosen_by: &'static str) -> anyhow::Result<ConfigFile> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = match chosen_by {
            "./liftoff.toml" => "check its permissions".to_string(),
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
    let profiles = check_tables(&shown.to_string(), &table)?;
    Ok(ConfigFile {
        path: path.to_path_buf(),
        chosen_by,
        profiles,
    })
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Checks the shape of the file: tables only at the top, known keys inside them.
///
/// Returns the profile names (tables other than `[default]`); every problem is listed.
fn check_tables(file: &str, table: &toml::Table) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut profiles = Vec::new();
    for (name, value) in table {
        let Some(keys) = value.as_table() else {
            problems.push(format!(
                "{file}: `{name}` is outside any table; put it under [default] (every profile) or a profile table such as [prod]"
            ));
            continue;
        };
        match name.as_str() {
            "default" => {}
            "global" => problems.push(format!(
                "{file}: [global] is not supported; use [default] for settings every profile shares"
            )),
            word if COMMAND_WORDS.contains(&word) => problems.push(format!(
                "{file}: [{word}] cannot be a profile: `liftoff {word}` is a liftoff command; rename the table"
            )),
            _ => profiles.push(name.clone()),
        }
        for key in keys.keys() {
            if !KEYS.contains(&key.as_str()) {
                problems.push(format!(
                    "{file} [{name}]: unknown key `{key}`{}",
                    suggest(key, KEYS)
                ));
            } else if name == "default" && PROFILE_ONLY_KEYS.contains(&key.as_str()) {
                problems.push(format!(
                    "{file} [default]: `{key}` chooses what runs, so it belongs in a profile table such as [worker], not in [default]"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(profiles)
    } else {
        Err(Failure::Config(problems.join("\n")).into())
    }
}

/// Checks that every `LIFTOFF_*` variable names a known key.
fn check_env_keys(env: &[(OsString, OsString)]) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for (name, key) in liftoff_vars(env) {
        let first = key
            .split("__")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !KEYS.contains(&first.as_str()) {
            problems.push(format!(
                "environment variable {name}: unknown key `{first}`{}",
                suggest(&first, KEYS)
            ));
        } else if PROFILE_ONLY_KEYS.contains(&first.as_str()) {
            problems.push(format!(
                "environment variable {name}: `{first}` cannot come from the environment (the command chooses what runs); set it in a profile table"
            ));
        } else if key.contains("__") && !TABLE_KEYS.contains(&first.as_str()) {
            problems.push(format!(
                "environment variable {name}: `{first}` is not a table, so it takes no `__` part; use LIFTOFF_{}",
                first.to_ascii_uppercase()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::Config(problems.join("\n")).into())
    }
}

/// The `LIFTOFF_*` variables that are configuration keys: (full name, name without prefix).
fn liftoff_vars(env: &[(OsString, OsString)]) -> impl Iterator<Item = (&str, &str)> {
    env.iter()
        .filter_map(|(k, _)| k.to_str())
        .filter(|k| !NOT_KEYS.contains(k))
        .filter_map(|k| {
            k.strip_prefix("LIFTOFF_")
                .filter(|rest| !rest.is_empty())
                .map(|rest| (k, rest))
        })
}

/// `; did you mean `x`?` when a known word is close to `word`, else nothing.
pub fn suggest(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// One line for one extraction error: source, key, and what was expected.
fn describe(err: &figment::Error) -> String {
    let key = err.path.join(".");
    let source = err
        .metadata
        .as_ref()
        .map(|md| source_name(md, err.profile.as_ref(), &err.path));
    let what = match &err.kind {
        figment::error::Kind::UnknownVariant(value, expected) => {
            format!(
                "unknown value `{value}`, expected one of: {}",
                expected.join(", ")
            )
        }
        kind => kind.to_string(),
    };
    match source {
        Some(source) if key.is_empty() => format!("{source}: {what}"),
        Some(source) => format!("{source}: invalid `{key}`: {what}"),
        None => format!("invalid `{key}`: {what}"),
    }
}

/// Where a value came from: `liftoff.toml [prod]`, `environment variable LIFTOFF_PORT`,
/// or the flag `--port`.
pub fn source_name<K: AsRef<str>>(md: &Metadata, profile: Option<&Profile>, path: &[K]) -> String {
    let default = Profile::Default;
    let profile = profile.unwrap_or(&default);
    match &md.source {
        Some(figment::Source::File(file)) => {
            format!("{} [{}]", file.display(), profile.as_str().as_str())
        }
        _ => format!("{} {}", md.name, md.interpolate(profile, path)),
    }
}

/// The platform's own variables as inputs: `PORT` → `port`, `WEB_CONCURRENCY` → `workers`.
#[derive(Debug, Clone)]
struct PlatformEnv {
    /// (key, value) pairs that were set.
    values: Vec<(&'static str, String)>,
}

/// Which platform variable feeds which key.
const PLATFORM_VARS: &[(&str, &str)] = &[("PORT", "port"), ("WEB_CONCURRENCY", "workers")];

impl PlatformEnv {
    /// Picks the platform variables out of `env`.
    fn new(env: &[(OsString, OsString)]) -> Self {
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
struct LiftoffEnv {
    /// (full variable name, name without prefix, value).
    vars: Vec<(String, String, String)>,
}

impl LiftoffEnv {
    /// Picks the `LIFTOFF_*` configuration variables out of `env`.
    fn new(env: &[(OsString, OsString)]) -> Self {
        let vars = liftoff_vars(env)
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

#[cfg(test)]
mod tests;
