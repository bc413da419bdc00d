//! Layered configuration: built-in defaults < TOML file < environment < flags, with sources.
//!
//! One function, [`Layers::figment`], builds the provider chain for a profile. Every layer
//! except the file is a figment *global* profile, so a `LIFTOFF_*` variable beats a `[prod]`
//! table and a flag beats both. The file is read and checked here first (syntax with line and
//! column, unknown keys, the profile names it defines), because figment alone would accept
//! a missing file silently and report an unknown key without saying where it came from.
//! Nothing here reads which profile to run: that comes only from the command.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use figment::{Figment, Metadata, Profile};

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
    /// Unknown keys and misplaced tables, each with the table it is in.
    pub problems: Vec<Problem>,
    /// The parsed file, shared: it is parsed once and read by every layer built from it.
    pub table: Arc<toml::Table>,
}

/// A problem in the shape of the config file.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The table it is in, or `None` for the file as a whole.
    pub table: Option<String>,
    /// What is wrong, where, and what to do.
    pub message: String,
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
        let (layers, problems) = Layers::load_lenient(config_flag, env)?;
        if problems.is_empty() {
            Ok(layers)
        } else {
            Err(Failure::Config(problems.join("\n")).into())
        }
    }

    /// Like [`Layers::load`], but unknown keys and misplaced tables are returned as
    /// problems instead of failing, so that `check` can list them with everything else.
    /// A file that cannot be read or parsed still fails.
    pub fn load_lenient(
        config_flag: Option<&Path>,
        env: Vec<(OsString, OsString)>,
    ) -> anyhow::Result<(Layers, Vec<String>)> {
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
        let mut problems: Vec<String> = file
            .iter()
            .flat_map(|f| f.problems.iter().map(|p| p.message.clone()))
            .collect();
        problems.extend(check_env_keys(&env));
        let layers = Layers {
            file,
            env,
            flags: FlagLayer::default(),
        };
        Ok((layers, problems))
    }

    /// Whether the file has a problem in `profile`'s table, in `[default]`, or outside
    /// any table: such a profile cannot be resolved until the problem is fixed.
    pub fn is_tainted(&self, profile: &str) -> bool {
        self.file
            .iter()
            .flat_map(|f| &f.problems)
            .any(|p| match &p.table {
                Some(table) => table == profile || table == "default",
                None => true,
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
            figment = figment.merge(FileLayer::new(&file.path, file.table.clone()));
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
    let (profiles, problems) = check_tables(&shown.to_string(), &table);
    Ok(ConfigFile {
        path: path.to_path_buf(),
        chosen_by,
        profiles,
        problems,
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

/// Checks the shape of the file: tables only at the top, known keys inside them.
///
/// Returns the profile names (tables other than `[default]`) and every problem found.
fn check_tables(file: &str, table: &toml::Table) -> (Vec<String>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut problem = |table: Option<&str>, message: String| {
        problems.push(Problem {
            table: table.map(String::from),
            message,
        });
    };
    let mut profiles = Vec::new();
    for (name, value) in table {
        let Some(keys) = value.as_table() else {
            problem(
                None,
                format!(
                    "{file}: `{name}` is outside any table; put it under [default] (every profile) or a profile table such as [prod]"
                ),
            );
            continue;
        };
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            problem(
                Some(name),
                format!(
                    "{file}: profile names are lowercase (figment compares them without case, liftoff's commands with it): rename [{name}] to [{}]",
                    name.to_ascii_lowercase()
                ),
            );
            continue;
        }
        match name.as_str() {
            "default" => {}
            "global" => problem(
                None,
                format!(
                    "{file}: [global] is not supported; use [default] for settings every profile shares"
                ),
            ),
            word if COMMAND_WORDS.contains(&word) => problem(
                Some(name),
                format!(
                    "{file}: [{word}] cannot be a profile: `liftoff {word}` is a liftoff command; rename the table"
                ),
            ),
            _ => profiles.push(name.clone()),
        }
        for key in keys.keys() {
            if !KEYS.contains(&key.as_str()) {
                problem(
                    Some(name),
                    format!("{file} [{name}]: unknown key `{key}`{}", suggest(key, KEYS)),
                );
            } else if name == "default" && PROFILE_ONLY_KEYS.contains(&key.as_str()) {
                problem(
                    Some(name),
                    format!(
                        "{file} [default]: `{key}` chooses what runs, so it belongs in a profile table such as [worker], not in [default]"
                    ),
                );
            }
        }
    }
    (profiles, problems)
}

/// Checks that every `LIFTOFF_*` variable names a known key; returns every problem.
fn check_env_keys(env: &[(OsString, OsString)]) -> Vec<String> {
    liftoff_vars(env)
        .filter_map(|(name, rest)| env_key_problem(name, rest))
        .collect()
}

/// What is wrong with the `LIFTOFF_*` variable `name` (`rest` without the prefix), if
/// anything. The environment layer leaves out exactly the variables that have a problem,
/// so what is reported and what is skipped can never disagree.
pub(super) fn env_key_problem(name: &str, rest: &str) -> Option<String> {
    let first = rest
        .split("__")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !KEYS.contains(&first.as_str()) {
        let hint = match suggest(&first, KEYS) {
            none if none.is_empty() => "; `liftoff config --explain` lists the keys".into(),
            hint => hint,
        };
        Some(format!(
            "environment variable {name}: unknown key `{first}`{hint}"
        ))
    } else if PROFILE_ONLY_KEYS.contains(&first.as_str()) {
        Some(format!(
            "environment variable {name}: `{first}` cannot come from the environment (the command chooses what runs); set it in a profile table"
        ))
    } else if rest.contains("__") && !TABLE_KEYS.contains(&first.as_str()) {
        Some(format!(
            "environment variable {name}: `{first}` is not a table, so it takes no `__` part; use LIFTOFF_{}",
            first.to_ascii_uppercase()
        ))
    } else {
        None
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

/// Where `value`, found at `path` in `figment`'s merged layers, came from (see
/// [`source_name`]); `None` when no layer tagged it. Its own tag leads to its metadata,
/// so nothing is merged again (`find_metadata` would merge every layer once more).
pub fn value_source(
    figment: &Figment,
    path: &[&str],
    value: &figment::value::Value,
) -> Option<String> {
    // A tag knows only default, global or "custom": a custom one is the selected profile.
    let profile = value
        .tag()
        .profile()
        .unwrap_or_else(|| figment.profile().clone());
    figment
        .get_metadata(value.tag())
        .map(|md| source_name(md, Some(&profile), path))
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

mod providers;
pub use providers::FlagLayer;
use providers::{FileLayer, LiftoffEnv, PlatformEnv};

#[cfg(test)]
mod tests;
