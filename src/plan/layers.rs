//! Layered configuration: built-in defaults < the file's `[default]` < its profile table
//! < the platform's variables < `LIFTOFF_*` variables < flags, every value with its source.
//!
//! The file is read and checked here (size, syntax with line and column, unknown keys,
//! table names); the environment is checked too (unknown `LIFTOFF_*` names, values that
//! are not UTF-8). [`Layers::merge`] picks, for one profile, each key's winning value and
//! where it came from; tables (`env`, `signals`) merge entry by entry. Every problem is
//! collected, so `check` can list them all. Nothing here decides which profile runs: that
//! comes only from the command.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Value;

use super::keys::{self, From, KEYS};
use super::values::{FromEntry, FromValue, parse_scalar, shown};
use crate::exit::Failure;

/// Profiles every config has, whether or not the file defines them.
pub const BUILTIN_PROFILES: &[&str] = &["prod", "dev"];

/// Words that are liftoff's own commands, so no profile can be reached by them.
pub const COMMAND_WORDS: &[&str] = &["run", "plan", "config", "check", "health", "help"];

/// Variables with the `LIFTOFF_` prefix that are not configuration keys.
const NOT_KEYS: &[&str] = &["LIFTOFF_CONFIG", "LIFTOFF_PROFILE"];

/// The largest config or env file liftoff reads: far above any real one, and small
/// enough that `/dev/zero` or a runaway file cannot eat the container's memory.
pub const MAX_FILE: u64 = 1024 * 1024;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// liftoff's own default (the key table, or the server table).
    Default,
    /// A table of the config file.
    File {
        /// The file, as found.
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
            Source::File { path, table } => write!(f, "{} [{table}]", path.display()),
            Source::Variable(name) => write!(f, "environment variable {name}"),
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
    /// What it blocks.
    pub scope: Scope,
    /// The line.
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
    /// Where it is.
    pub path: Arc<Path>,
    /// Why this file: `--config`, `LIFTOFF_CONFIG` or `./liftoff.toml`.
    pub chosen_by: &'static str,
    /// The profile tables it defines, in file order, `default` excluded.
    pub profiles: Vec<String>,
    /// The parsed file.
    pub table: Arc<toml::Table>,
}

/// Everything the layers are built from: the file, the environment and the flags.
#[derive(Debug, Clone, Default)]
pub struct Layers {
    /// The config file, if any.
    pub file: Option<ConfigFile>,
    /// The process environment (captured once, so tests can pass their own).
    pub env: Vec<(OsString, OsString)>,
    /// Values from the environment that are configuration: (key, entry, value, source).
    vars: Vec<Setting>,
    /// Values from the command line.
    flags: Vec<Setting>,
}

/// One value a variable or a flag sets: a key, or one entry of a table key.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The key.
    pub key: &'static str,
    /// The entry of a table key (`env.NAME`), else `None`.
    pub entry: Option<String>,
    /// The value.
    pub value: Value,
    /// The variable or the flag.
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
        let from_env = match env.iter().find(|(k, _)| k == "LIFTOFF_CONFIG") {
            Some((_, v)) if v.is_empty() => None,
            Some((_, v)) => match v.to_str() {
                Some(path) => Some(PathBuf::from(path)),
                None => {
                    return Err(Failure::Config(
                        "environment variable LIFTOFF_CONFIG: the path is not UTF-8; name the config file with a UTF-8 path".into(),
                    ));
                }
            },
            None => None,
        };
        let file = match (config_flag, from_env) {
            (Some(path), _) => Some(read_config(path, "--config", &mut problems)?),
            (None, Some(path)) => Some(read_config(&path, "LIFTOFF_CONFIG", &mut problems)?),
            (None, None) if Path::new("liftoff.toml").exists() => Some(read_config(
                Path::new("liftoff.toml"),
                "./liftoff.toml",
                &mut problems,
            )?),
            (None, None) => None,
        };
        let vars = variables(&env, &mut problems);
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
        lookup(&self.env, name)
    }
}

/// Looks a variable up in a captured environment; `None` also when not UTF-8.
pub fn lookup<'a>(env: &'a [(OsString, OsString)], name: &str) -> Option<&'a str> {
    env.iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.to_str())
}

/// The merged layers of one profile: each key's winning value, or its table's entries.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    /// Key → slot.
    slots: BTreeMap<&'static str, Slot>,
}

/// Where a value came from, or each entry of a table: (entry name or `None`, source).
pub type Sources = Vec<(Option<String>, Source)>;

/// A key's merged value.
#[derive(Debug, Clone)]
enum Slot {
    /// A whole value and its source.
    One(Value, Source),
    /// A table key's entries, each with its source.
    Entries(BTreeMap<String, (Value, Source)>),
}

impl Merged {
    /// Lays `value` from `source` over key `key` (entry by entry for a table key).
    fn set_value(&mut self, key: &'static str, value: &Value, source: &Source) {
        let table_key = keys::find(key).is_some_and(keys::Key::is_table);
        match (table_key, value) {
            (true, Value::Table(entries)) => {
                for (name, value) in entries {
                    self.set_entry(key, name, value.clone(), source.clone());
                }
            }
            _ => {
                self.slots
                    .insert(key, Slot::One(value.clone(), source.clone()));
            }
        }
    }

    /// Lays one setting of a variable or a flag over the rest.
    fn set(&mut self, setting: &Setting) {
        match &setting.entry {
            Some(entry) => self.set_entry(
                setting.key,
                entry,
                setting.value.clone(),
                setting.source.clone(),
            ),
            None => self.set_value(setting.key, &setting.value, &setting.source),
        }
    }

    /// Lays one table entry over the rest.
    fn set_entry(&mut self, key: &'static str, name: &str, value: Value, source: Source) {
        let slot = self
            .slots
            .entry(key)
            .or_insert_with(|| Slot::Entries(BTreeMap::new()));
        if let Slot::One(..) = slot {
            *slot = Slot::Entries(BTreeMap::new());
        }
        if let Slot::Entries(entries) = slot {
            entries.insert(name.to_string(), (value, source));
        }
    }

    /// Puts a built-in default below key `key`, where no layer set it (a table's default
    /// entries go below the layers' entries). `text` is written as a variable would be.
    pub fn add_default(&mut self, key: &'static str, text: &str) {
        let value = parse_scalar(text);
        match (self.slots.get_mut(key), value) {
            (Some(Slot::Entries(entries)), Value::Table(defaults)) => {
                for (name, value) in defaults {
                    entries.entry(name).or_insert((value, Source::Default));
                }
            }
            (Some(_), _) => {}
            (None, value) => self.set_value(key, &value, &Source::Default),
        }
    }

    /// The winning value of `key`, if a whole value (not a table).
    pub fn value(&self, key: &str) -> Option<&Value> {
        match self.slots.get(key)? {
            Slot::One(value, _) => Some(value),
            Slot::Entries(_) => None,
        }
    }

    /// Where `key`'s value came from (a table key: its highest entry's source).
    pub fn source(&self, key: &str) -> Option<&Source> {
        match self.slots.get(key)? {
            Slot::One(_, source) => Some(source),
            Slot::Entries(entries) => entries.values().map(|(_, s)| s).max_by_key(|s| rank(s)),
        }
    }

    /// `key`'s value as TOML and where it (or each entry) came from, for `config`.
    pub fn shown(&self, key: &str) -> Option<(Value, Sources)> {
        match self.slots.get(key)? {
            Slot::One(value, source) => Some((value.clone(), vec![(None, source.clone())])),
            Slot::Entries(entries) => Some((
                Value::Table(
                    entries
                        .iter()
                        .map(|(k, (v, _))| (k.clone(), v.clone()))
                        .collect(),
                ),
                entries
                    .iter()
                    .map(|(k, (_, s))| (Some(k.clone()), s.clone()))
                    .collect(),
            )),
        }
    }

    /// Reads a whole-value key into its type; a bad value is a problem naming the key,
    /// what was given, what is expected and where it came from.
    pub fn read_value<T: FromValue>(
        &self,
        key: &'static str,
        problems: &mut Vec<Problem>,
    ) -> Option<T> {
        let (value, source) = match self.slots.get(key)? {
            Slot::One(value, source) => (value, source),
            Slot::Entries(entries) => {
                let source = entries.values().map(|(_, s)| s).next()?;
                problems.push(Problem::at(
                    source,
                    format!("`{key}` is not a table, so it takes no entries; set it whole"),
                ));
                return None;
            }
        };
        match T::from_value(value) {
            Ok(v) => Some(v),
            Err(why) => {
                let why = why.unwrap_or_else(|| format!("expected {}", T::EXPECTED));
                problems.push(Problem::value(key, value, source, &why));
                None
            }
        }
    }

    /// Reads a table key entry by entry; each bad entry is a problem naming the entry
    /// (never its value: `env` holds secrets).
    pub fn read_table<E: FromEntry>(
        &self,
        key: &'static str,
        problems: &mut Vec<Problem>,
    ) -> Option<Vec<E>> {
        let entries = match self.slots.get(key)? {
            Slot::Entries(entries) => entries,
            Slot::One(value, source) => {
                let why = format!("expected a table of {}", E::EXPECTED);
                problems.push(Problem::value(key, value, source, &why));
                return None;
            }
        };
        let mut out = Vec::new();
        for (name, (value, source)) in entries {
            match E::from_entry(name, value) {
                Ok(entry) => out.push(entry),
                Err(why) => problems.push(Problem {
                    scope: source.scope(),
                    message: format!("`{key}.{}` (from {source}): {why}", toml_key(name)),
                }),
            }
        }
        Some(out)
    }

    /// Every key read into [`keys::Settings`], and every problem found on the way.
    pub fn settings(&self) -> (keys::Settings, Vec<Problem>) {
        /// The merged layers and the problems found so far.
        struct Reading<'a>(&'a Merged, Vec<Problem>);
        impl keys::Values for Reading<'_> {
            fn value<T: FromValue>(&mut self, key: &'static str) -> Option<T> {
                self.0.read_value(key, &mut self.1)
            }
            fn table<E: FromEntry>(&mut self, key: &'static str) -> Option<Vec<E>> {
                self.0.read_table(key, &mut self.1)
            }
        }
        let mut reading = Reading(self, Vec::new());
        let settings = keys::Settings::read(&mut reading);
        (settings, reading.1)
    }

    /// The keys some layer set, with their sources (built-in defaults left out).
    pub fn set_keys(&self) -> impl Iterator<Item = (&'static str, &Source)> {
        self.slots
            .keys()
            .filter_map(|key| Some((*key, self.source(key)?)))
            .filter(|(_, source)| **source != Source::Default)
    }
}

/// How high a source's layer is, to name a table's winning layer.
fn rank(source: &Source) -> u8 {
    match source {
        Source::Default => 0,
        Source::File { table, .. } if table == "default" => 1,
        Source::File { .. } => 2,
        Source::Variable(_) => 3,
        Source::Flag(_) => 4,
    }
}

/// A table key as TOML writes it: bare when it can be, else quoted (`"dotted.name"`).
pub fn toml_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_string()
    } else {
        Value::String(key.to_string()).to_string()
    }
}

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
fn read_config(
    path: &Path,
    chosen_by: &'static str,
    problems: &mut Vec<Problem>,
) -> Result<ConfigFile, Failure> {
    let shown = path.display();
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
    let profiles = check_tables(&shown.to_string(), &table, problems);
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
    let mut problem = |scope: Scope, message: String| problems.push(Problem { scope, message });
    let mut profiles = Vec::new();
    for (name, value) in doc {
        let Some(keys) = value.as_table() else {
            problem(
                Scope::File,
                format!(
                    "{file}: `{}` is outside any table; put it under [default] (every profile) or a profile table such as [prod]",
                    toml_key(name)
                ),
            );
            continue;
        };
        let scope = Scope::Table(name.clone());
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            problem(
                scope,
                format!(
                    "{file}: profile names are lowercase (liftoff's commands compare them exactly): rename [{name}] to [{}]",
                    name.to_ascii_lowercase()
                ),
            );
            continue;
        }
        match name.as_str() {
            "default" => {}
            "global" => problem(
                Scope::File,
                format!(
                    "{file}: [global] is not supported; use [default] for settings every profile shares"
                ),
            ),
            word if COMMAND_WORDS.contains(&word) => problem(
                scope.clone(),
                format!(
                    "{file}: [{word}] cannot be a profile: `liftoff {word}` is a liftoff command; rename the table"
                ),
            ),
            _ => profiles.push(name.clone()),
        }
        for key in keys.keys() {
            match keys::find(key) {
                None => problem(
                    scope.clone(),
                    format!(
                        "{file} [{name}]: unknown key `{}`{}",
                        toml_key(key),
                        did_you_mean(key, keys::names())
                    ),
                ),
                Some(k)
                    if name == "default" && k.from == From::ProfileTable && k.name != "server" =>
                {
                    problem(
                        scope.clone(),
                        format!(
                            "{file} [default]: `{key}` chooses what runs, so it belongs in a profile table such as [worker], not in [default]"
                        ),
                    )
                }
                Some(_) => {}
            }
        }
    }
    profiles
}

/// The configuration the environment sets: every `LIFTOFF_*` key variable and the
/// platform's own (`PORT`, `WEB_CONCURRENCY`); what is wrong with them goes to `problems`.
fn variables(env: &[(OsString, OsString)], problems: &mut Vec<Problem>) -> Vec<Setting> {
    let mut platform = Vec::new();
    let mut liftoff = Vec::new();
    for (name, value) in env {
        let bytes = name.as_encoded_bytes();
        if let Some(key) = KEYS
            .iter()
            .find(|k| k.platform.is_some_and(|p| p.as_bytes() == bytes))
        {
            let source = Source::Variable(key.platform.unwrap_or_default().to_string());
            match utf8_value(value, &source, problems) {
                Some("") | None => {}
                Some(text) => platform.push(Setting {
                    key: key.name,
                    entry: None,
                    value: parse_scalar(text),
                    source,
                }),
            }
            continue;
        }
        if !bytes.starts_with(b"LIFTOFF_") {
            continue;
        }
        let Some(name) = name.to_str() else {
            problems.push(Problem {
                scope: Scope::Global,
                message: format!(
                    "environment variable {}: the name is not UTF-8; unset it",
                    name.to_string_lossy()
                ),
            });
            continue;
        };
        if NOT_KEYS.contains(&name) {
            continue;
        }
        let source = Source::Variable(name.to_string());
        match variable_setting(name, &source) {
            Ok((key, entry)) => {
                if let Some(text) = utf8_value(value, &source, problems) {
                    let value = if entry.is_some() && key == "env" {
                        Value::String(text.to_string())
                    } else {
                        parse_scalar(text)
                    };
                    liftoff.push(Setting {
                        key,
                        entry,
                        value,
                        source,
                    });
                }
            }
            Err(message) => problems.push(Problem::at(&source, message)),
        }
    }
    // The platform's variables sit below every LIFTOFF_* one.
    platform.extend(liftoff);
    platform
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
fn variable_setting(
    name: &str,
    _source: &Source,
) -> Result<(&'static str, Option<String>), String> {
    let rest = &name["LIFTOFF_".len()..];
    let (first, entry) = match rest.split_once("__") {
        Some((first, entry)) => (first, Some(entry)),
        None => (rest, None),
    };
    let lower = first.to_ascii_lowercase();
    let Some(key) = keys::find(&lower) else {
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

/// The command line's values as the highest layer; what is wrong with them (a
/// `--signal-map` without `=`, a `--before` with an unclosed quote) is a problem like a
/// bad value anywhere else.
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
            keys::Form::Switch => format!("--{0}/--no-{0}", flag.long),
            _ => format!("--{}", flag.long),
        });
        let mut set = |entry: Option<String>, value: Value| {
            settings.push(Setting {
                key: key.name,
                entry,
                value,
                source: source.clone(),
            });
        };
        match (flag.form, raw) {
            (_, keys::Raw::Switch(on)) => set(None, Value::Boolean(*on)),
            (_, keys::Raw::One(text)) => set(None, Value::String(text.clone())),
            (keys::Form::Entries, keys::Raw::Many(items)) => {
                for item in items {
                    match item.split_once('=') {
                        Some((from, to)) => set(Some(from.trim().to_string()), Value::String(to.trim().to_string())),
                        None => problems.push(Problem::at(
                            &source,
                            format!(
                                "`{}`: expected FROM=TO, e.g. --{long} QUIT=TERM or --{long} HUP=ignore",
                                item.escape_debug(),
                                long = flag.long
                            ),
                        )),
                    }
                }
            }
            (keys::Form::Command, keys::Raw::Many(items)) => {
                let mut steps = Vec::new();
                for item in items {
                    match shell_words::split(item) {
                        Ok(words) if !words.is_empty() => steps.push(Value::Array(words.into_iter().map(Value::String).collect())),
                        Ok(_) => problems.push(Problem::at(&source, "the command is empty".into())),
                        Err(e) => problems.push(Problem::at(
                            &source,
                            format!("`{}`: {e}; quote it as in a shell, e.g. --before 'flask db upgrade'", item.escape_debug()),
                        )),
                    }
                }
                set(None, Value::Array(steps));
            }
            (_, keys::Raw::Many(items)) => set(
                None,
                Value::Array(items.iter().cloned().map(Value::String).collect()),
            ),
        }
    }
    let level = match i32::from(verbose) - i32::from(quiet) {
        0 => None,
        1 => Some("debug"),
        n if n >= 2 => Some("trace"),
        -1 => Some("warn"),
        _ => Some("error"),
    };
    if let Some(level) = level {
        settings.push(Setting {
            key: "log_level",
            entry: None,
            value: Value::String(level.into()),
            source: Source::Flag(if verbose > 0 { "-v" } else { "-q" }.into()),
        });
    }
    (settings, problems)
}

/// `; did you mean `x`?` when a known word is close to `word`, else nothing.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, known).map_or_else(String::new, |k| format!("; did you mean `{k}`?"))
}

/// The known word closest to `word`, when one is close.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests;
