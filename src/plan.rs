//! The plan: everything resolved before anything is spawned, printable as text or JSON.
//!
//! [`resolve`] turns the layers and the command into one plain [`Plan`]: program path,
//! argv, working directory, environment, mode, signal handling, timeouts and worker count.
//! `plan` prints it, `check` builds one per profile, and exec or supervise carry it out
//! without deciding anything else.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use serde::Serialize;

use crate::cli::{GlobalArgs, ServerArgs};
use crate::config::{Layers, value_source};
use crate::exit::Failure;
use crate::profile::{self, Defaults};
use crate::settings::{Dur, LogFormat, LogLevel, Mode, ServerKind, Settings, Text, WorkerCount};
use crate::signals::{Rewrite, Signal, SignalTable, SignalTarget};
use crate::user::Credentials;
use crate::wait::Target as WaitTarget;
use crate::workers::{self, Sizing};

mod entrypoint;
mod env;
mod flags;
mod program;
mod render;
mod server;
#[cfg(test)]
mod tests;

use entrypoint::drain_warning;
pub use env::mask;
use env::merge_env;
pub use flags::flag_layer;
use program::resolve_program;
pub use render::shell_quote;
use server::ServerPart;

/// What the command asked to run.
#[derive(Debug, Clone)]
pub enum Target {
    /// A profile: `prod`, `dev`, or a table of the config file.
    Profile(String),
    /// A program and its arguments, with no profile.
    Program(Vec<OsString>),
}

/// The command, parsed: what to run and the flags that came with it.
#[derive(Debug, Clone)]
pub struct Request {
    /// What to run.
    pub target: Target,
    /// Global flags, before and after the command.
    pub global: GlobalArgs,
    /// `prod`/`dev` flags.
    pub server: ServerArgs,
}

/// Everything needed to start the program, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The profile, or `None` for a program.
    pub profile: Option<String>,
    /// gunicorn, flask or command.
    pub server: ServerKind,
    /// exec or supervise (never auto: that is decided here).
    pub mode: Mode,
    /// Why that mode.
    pub mode_reason: String,
    /// The program's resolved path.
    pub program: PathBuf,
    /// The argv, argv[0] included.
    #[serde(serialize_with = "render::lossy_strings")]
    pub argv: Vec<OsString>,
    /// The working directory.
    pub cwd: PathBuf,
    /// Variables liftoff adds or changes (values of secret-looking names masked).
    pub env: BTreeMap<String, String>,
    /// The program's complete environment.
    #[serde(skip)]
    pub full_env: Vec<(OsString, OsString)>,
    /// child or group.
    pub signal_target: SignalTarget,
    /// Signal rewrites in effect.
    #[serde(serialize_with = "render::table_strings")]
    pub signals: SignalTable,
    /// Time from the stop signal to SIGKILL.
    #[serde(rename = "stop_timeout_ms", serialize_with = "render::millis")]
    pub stop_timeout: Duration,
    /// Exit codes reported as 0.
    pub success_codes: Vec<i32>,
    /// Time from the first shutdown signal to forwarding it (the load balancer's turn).
    #[serde(rename = "drain_delay_ms", serialize_with = "render::millis")]
    pub drain_delay: Duration,
    /// Dependencies that must answer before anything starts.
    pub wait_for: Vec<WaitTarget>,
    /// How long to wait for them.
    #[serde(rename = "wait_timeout_ms", serialize_with = "render::millis")]
    pub wait_timeout: Duration,
    /// Programs run in order before the server.
    pub before: Vec<BeforeStep>,
    /// Who the program (and the steps) run as; `None`: as liftoff.
    pub user: Option<Credentials>,
    /// Where `user` came from, for messages; empty when there is no user.
    #[serde(skip)]
    pub user_source: String,
    /// The env file read, if any.
    pub env_file: Option<PathBuf>,
    /// gunicorn workers.
    pub workers: Option<u32>,
    /// The CPUs the container really has (gunicorn only).
    pub cpus: Option<u32>,
    /// How the worker count was derived.
    pub workers_reason: Option<String>,
    /// liftoff's own log level.
    pub log_level: LogLevel,
    /// liftoff's own log format.
    pub log_format: LogFormat,
    /// One line with the effective server settings, logged at start.
    pub summary: String,
    /// Problems worth a warning that do not stop the start.
    pub warnings: Vec<String>,
}

/// One `before` step, resolved like the server's program.
#[derive(Debug, Clone, Serialize)]
pub struct BeforeStep {
    /// The program's resolved path.
    pub program: PathBuf,
    /// The argv, argv[0] included.
    #[serde(serialize_with = "render::lossy_strings")]
    pub argv: Vec<OsString>,
}

impl BeforeStep {
    /// The step as people read it, for messages: `flask db upgrade`.
    pub fn shown(&self) -> String {
        shell_quote(&self.argv)
    }
}

/// How long `wait_for` waits when `wait_timeout` is not set.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves the request against the configuration into a plan.
pub fn resolve(layers: &Layers, request: &Request) -> anyhow::Result<Plan> {
    let mut layers = layers.clone();
    layers.flags = flag_layer(&request.global, &request.server)?;
    let (profile, figment, settings) = match &request.target {
        Target::Profile(name) => {
            let (figment, settings) = layers.settings(Some(name))?;
            (Some(name.clone()), figment, settings)
        }
        Target::Program(_) => {
            let (figment, settings) = layers.settings(None)?;
            (None, figment, settings)
        }
    };
    let server = match &profile {
        Some(name) => profile::server_for(name, &settings)?,
        None => ServerKind::Command,
    };
    Resolver {
        figment: &figment,
        settings: &settings,
        server,
        layers: &layers,
        extra: &request.server.extra,
    }
    .plan(profile, &request.target)
}

/// Resolves one profile's settings; holds what every step needs.
struct Resolver<'a> {
    /// The provider chain, for sources.
    figment: &'a Figment,
    /// The extracted settings.
    settings: &'a Settings,
    /// The server kind.
    server: ServerKind,
    /// The layers (for the process environment).
    layers: &'a Layers,
    /// `-- EXTRA` from the command line.
    extra: &'a [OsString],
}

impl Resolver<'_> {
    /// Builds the plan.
    fn plan(&self, profile: Option<String>, target: &Target) -> anyhow::Result<Plan> {
        let s = self.settings;
        let defaults = Defaults::of(self.server);
        let cwd = self.cwd()?;
        let mut warnings = Vec::new();
        warnings.extend(self.keys_without_effect());
        if crate::config::lookup(&self.layers.env, "LIFTOFF_PROFILE").is_some() {
            warnings.push(
                "LIFTOFF_PROFILE is ignored: the profile comes only from the command (liftoff prod, liftoff dev, liftoff NAME)".into(),
            );
        }
        let env_file = self.env_file()?;
        let user = self.user(&mut warnings)?;
        let mut env_changes = self.env_below_table(env_file.as_ref(), user.as_ref());
        env_changes.extend(self.env_table());
        let part = match self.server {
            ServerKind::Gunicorn => self.gunicorn(&cwd, &mut env_changes, &mut warnings)?,
            ServerKind::Flask => self.flask(&mut warnings),
            ServerKind::Command => ServerPart::default(),
        };
        let (program_word, argv) = self.argv(target, &defaults, part.args)?;
        let full_env = merge_env(&self.layers.env, &env_changes);
        let program = resolve_program(&program_word, &full_env, &cwd, self.server)?;
        let before = self.before(&full_env, &cwd)?;
        let wait_for = self.wait_for()?;
        let drain_delay = s.drain_delay.map_or(Duration::ZERO, |d| d.0);
        let success_codes = self.success_codes()?;
        // Only a parent can hold a stop signal back or turn an exit code into 0.
        let needs_parent = if !drain_delay.is_zero() {
            Some("drain_delay")
        } else if !success_codes.is_empty() {
            Some("success_codes")
        } else {
            None
        };
        let (mode, mode_reason) = self.mode(needs_parent)?;
        let stop_timeout = s.stop_timeout.map_or(defaults.stop_timeout, |d| d.0);
        let graceful = (self.server == ServerKind::Gunicorn).then(|| {
            s.graceful_timeout
                .map_or(profile::GRACEFUL_TIMEOUT, |d| d.0)
        });
        warnings.extend(drain_warning(drain_delay, graceful, stop_timeout));
        let signals = self.signals()?;
        let name = profile.clone().unwrap_or_else(|| "program".into());
        let mut summary = format!(
            "{name}: {}{}, mode {mode} ({mode_reason}), stop timeout {}",
            program.display(),
            if part.detail.is_empty() {
                String::new()
            } else {
                format!(" {}", part.detail)
            },
            Dur(stop_timeout)
        );
        if !drain_delay.is_zero() {
            summary.push_str(&format!(", drain delay {}", Dur(drain_delay)));
        }
        if let Some(user) = &user {
            summary.push_str(&format!(", as {}", user.describe()));
        }
        Ok(Plan {
            profile,
            server: self.server,
            mode,
            mode_reason,
            program,
            argv,
            cwd,
            env: env_changes
                .iter()
                .map(|(k, v)| (k.clone(), mask(k, v)))
                .collect(),
            full_env,
            signal_target: s.signal_target.unwrap_or(defaults.signal_target),
            signals,
            stop_timeout,
            success_codes,
            drain_delay,
            wait_for,
            wait_timeout: s.wait_timeout.map_or(WAIT_TIMEOUT, |d| d.0),
            before,
            // Only looked up when there is a user: every lookup merges the layers again.
            user_source: user
                .as_ref()
                .map(|_| self.source("user"))
                .unwrap_or_default(),
            user,
            env_file: env_file.map(|(path, _)| path),
            workers: part.workers,
            cpus: part.cpus,
            workers_reason: part.workers_reason,
            log_level: s.log_level.unwrap_or(profile::LOG_LEVEL),
            log_format: s.log_format.unwrap_or(profile::LOG_FORMAT),
            summary,
            warnings,
        })
    }

    /// Where a key's value came from, for messages.
    fn source(&self, key: &str) -> String {
        self.figment
            .find_value(key)
            .ok()
            .and_then(|value| value_source(self.figment, &[key], &value))
            .unwrap_or_else(|| "built-in default".into())
    }

    /// The working directory: `chdir` (relative to the config file when it came from
    /// there, else to the current directory), else the current directory.
    fn cwd(&self) -> anyhow::Result<PathBuf> {
        let Some(Text(dir)) = &self.settings.chdir else {
            return std::env::current_dir().context("failed to read the current directory");
        };
        let path = self.base_dir("chdir")?.join(dir);
        if !path.is_dir() {
            return Err(Failure::Config(format!(
                "chdir `{dir}` (from {}): {} is not a directory; fix the path",
                self.source("chdir"),
                path.display()
            ))
            .into());
        }
        Ok(path)
    }

    /// What a relative path in `key` is relative to: the config file's directory when the
    /// value came from the file, else the current directory.
    fn base_dir(&self, key: &str) -> anyhow::Result<PathBuf> {
        let here = std::env::current_dir().context("failed to read the current directory")?;
        Ok(
            match self
                .figment
                .find_metadata(key)
                .and_then(|md| md.source.as_ref())
            {
                Some(figment::Source::File(file)) => {
                    file.parent().map_or(here.clone(), |p| here.join(p))
                }
                _ => here,
            },
        )
    }

    /// exec or supervise: `auto` supervises when liftoff is PID 1 or must stay the
    /// program's parent (a drain delay); `exec` with a drain delay is an error.
    fn mode(&self, needs_parent: Option<&str>) -> anyhow::Result<(Mode, String)> {
        let set = self.settings.mode.unwrap_or(profile::MODE);
        if let (Mode::Exec, Some(key)) = (set, needs_parent) {
            return Err(Failure::Config(format!(
                "{key} (from {}) needs liftoff to stay the program's parent, but mode is exec (from {}); use mode = \"supervise\" or \"auto\", or remove {key}",
                self.source(key),
                self.source("mode")
            ))
            .into());
        }
        Ok(decide_mode(
            set,
            nix::unistd::getpid().as_raw() == 1,
            needs_parent,
        ))
    }

    /// Keys set for this profile alone (by a flag or in its own table) that mean nothing
    /// to its server, such as `--workers` for dev; `[default]` and the environment apply
    /// to every profile, so keys there are expected not to fit some of them.
    fn keys_without_effect(&self) -> Vec<String> {
        // The parsed file answers "which keys are in this profile's table" directly;
        // asking figment key by key re-merges every layer per key, which was nearly half
        // of the exec path's start-up.
        let profile = self.figment.profile().as_str();
        let own_table = self
            .layers
            .file
            .iter()
            .filter(|_| profile != "default")
            .filter_map(|file| file.table.get(profile.as_str())?.as_table())
            .flat_map(|table| table.keys().cloned());
        let from_flags = self.layers.flags.keys().map(|(key, _)| key.to_string());
        let from_table = own_table;
        let mut keys: Vec<String> = from_flags.chain(from_table).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter(|key| !crate::settings::applies(key, self.server))
            .map(|key| {
                format!(
                    "{key} (from {}) has no effect on a {} profile",
                    self.source(&key),
                    self.server
                )
            })
            .collect()
    }

    /// `success_codes`, each an exit status liftoff can report (0-255).
    fn success_codes(&self) -> anyhow::Result<Vec<i32>> {
        let codes = self.settings.success_codes.clone().unwrap_or_default().0;
        if let Some(bad) = codes.iter().find(|c| !(0..=255).contains(*c)) {
            return Err(Failure::Config(format!(
                "success_codes (from {}): {bad} is not an exit status; give codes from 0 to 255 (143 is SIGTERM's 128+15)",
                self.source("success_codes")
            ))
            .into());
        }
        Ok(codes)
    }

    /// The `env` table, as strings.
    fn env_table(&self) -> BTreeMap<String, String> {
        self.settings
            .env
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect()
    }

    /// The rewrite table: the server's defaults, then the user's entries.
    fn signals(&self) -> anyhow::Result<SignalTable> {
        let mut table = profile::default_signals(self.server);
        for (from, to) in self.settings.signals.iter().flatten() {
            let bad = |e: String| {
                Failure::Config(format!(
                    "`signals.{from}` (from {}): {e}",
                    self.source("signals")
                ))
            };
            let from_sig: Signal = from.parse().map_err(bad)?;
            let rewrite: Rewrite = to.0.parse().map_err(bad)?;
            table.try_set(from_sig, rewrite).map_err(bad)?;
        }
        Ok(table)
    }

    /// The program word and the full argv.
    fn argv(
        &self,
        target: &Target,
        defaults: &Defaults,
        server_args: Vec<String>,
    ) -> anyhow::Result<(String, Vec<OsString>)> {
        let s = self.settings;
        let extra_args: Vec<String> = s.extra_args.iter().flatten().map(|t| t.0.clone()).collect();
        if let Target::Program(argv) = target {
            let word = argv[0].to_string_lossy().into_owned();
            return Ok((word, argv.clone()));
        }
        if self.server == ServerKind::Command {
            let command: Vec<String> = s.command.iter().flatten().map(|t| t.0.clone()).collect();
            let Some((first, rest)) = command.split_first() else {
                return Err(Failure::Config(format!(
                    "`command` (from {}) is empty; give at least the program",
                    self.source("command")
                ))
                .into());
            };
            let program = s.program.as_ref().map_or(first.clone(), |t| t.0.clone());
            return Ok((
                program,
                profile::full_argv(first, rest.to_vec(), &extra_args, self.extra),
            ));
        }
        let program = s
            .program
            .as_ref()
            .map_or(defaults.program.to_string(), |t| t.0.clone());
        Ok((
            program.clone(),
            profile::full_argv(&program, server_args, &extra_args, self.extra),
        ))
    }
}

/// `auto` becomes supervise when liftoff is PID 1 (someone must reap and forward) or
/// must stay the program's parent (`needs_parent` names the key: a drain delay holds the
/// stop signal back, success codes rewrite the exit status), else exec (an init such as `docker run --init` already reaps and forwards).
pub fn decide_mode(mode: Mode, pid1: bool, needs_parent: Option<&str>) -> (Mode, String) {
    match (mode, pid1, needs_parent) {
        (Mode::Auto, true, _) => (Mode::Supervise, "auto: liftoff is PID 1".into()),
        (Mode::Auto, false, Some(key)) => (
            Mode::Supervise,
            format!("auto: {key} needs liftoff to stay the parent"),
        ),
        (Mode::Auto, false, None) => (Mode::Exec, "auto: liftoff is not PID 1".into()),
        (mode, _, _) => (mode, "set".into()),
    }
}
