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
use crate::config::{Layers, source_name};
use crate::exit::Failure;
use crate::profile::{self, Defaults};
use crate::settings::{LogFormat, LogLevel, Mode, ServerKind, Settings, Text, WorkerCount};
use crate::signals::{Rewrite, Signal, SignalTable, SignalTarget};
use crate::workers::{self, Sizing};

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
    #[serde(serialize_with = "lossy_strings")]
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
    #[serde(serialize_with = "table_strings")]
    pub signals: SignalTable,
    /// Time from the stop signal to SIGKILL.
    #[serde(rename = "stop_timeout_ms", serialize_with = "millis")]
    pub stop_timeout: Duration,
    /// Exit codes reported as 0.
    pub success_codes: Vec<i32>,
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

/// Turns the flags into the highest configuration layer.
pub fn flag_layer(
    global: &GlobalArgs,
    server: &ServerArgs,
) -> anyhow::Result<crate::config::FlagLayer> {
    let mut flags = crate::config::FlagLayer::default();
    let strings = [
        ("mode", "--mode", &global.mode),
        ("stop_timeout", "--stop-timeout", &global.stop_timeout),
        ("signal_target", "--signal-target", &global.signal_target),
        ("log_level", "--log-level", &global.log_level),
        ("log_format", "--log-format", &global.log_format),
        ("host", "--host", &server.host),
        ("app", "--app", &server.app),
        ("workers", "--workers", &server.workers),
    ];
    for (key, flag, value) in strings {
        if let Some(value) = value {
            flags.set(key, flag, value.as_str());
        }
    }
    if let Some(dir) = &global.chdir {
        flags.set("chdir", "--chdir", dir.to_string_lossy().as_ref());
    }
    if let Some(port) = server.port {
        flags.set("port", "--port", port);
    }
    if let Some(threads) = server.threads {
        flags.set("threads", "--threads", threads);
    }
    if let Some(reload) = server.reload() {
        flags.set("reload", "--reload/--no-reload", reload);
    }
    if let Some(debug) = server.debug() {
        flags.set("debug", "--debug/--no-debug", debug);
    }
    if !global.success_code.is_empty() {
        flags.set(
            "success_codes",
            "--success-code",
            global.success_code.clone(),
        );
    }
    for map in &global.signal_map {
        let Some((from, to)) = map.split_once('=') else {
            return Err(Failure::Usage(format!(
                "--signal-map `{map}`: expected FROM=TO, e.g. --signal-map QUIT=TERM or --signal-map HUP=ignore"
            ))
            .into());
        };
        flags.set_entry("signals", from.trim(), "--signal-map", to.trim());
    }
    let level = match global.verbose as i32 - global.quiet as i32 {
        0 => None,
        1 => Some("debug"),
        n if n >= 2 => Some("trace"),
        -1 => Some("warn"),
        _ => Some("error"),
    };
    if let Some(level) = level {
        flags.set(
            "log_level",
            if global.verbose > 0 { "-v" } else { "-q" },
            level,
        );
    }
    Ok(flags)
}

/// The server-specific part of a plan.
#[derive(Debug, Default)]
struct ServerPart {
    /// gunicorn workers.
    workers: Option<u32>,
    /// CPUs the container has (gunicorn only).
    cpus: Option<u32>,
    /// How the worker count was derived.
    workers_reason: Option<String>,
    /// The server's arguments after the program name.
    args: Vec<String>,
    /// The server's part of the start line.
    detail: String,
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
        let mut env_changes = self.env_table();
        let mut warnings = Vec::new();
        let part = match self.server {
            ServerKind::Gunicorn => self.gunicorn(&cwd, &mut env_changes, &mut warnings)?,
            ServerKind::Flask => self.flask(&mut warnings),
            ServerKind::Command => ServerPart::default(),
        };
        let (program_word, argv) = self.argv(target, &defaults, part.args)?;
        let full_env = merge_env(&self.layers.env, &env_changes);
        let program = resolve_program(&program_word, &full_env, &cwd, self.server)?;
        let (mode, mode_reason) = decide_mode(
            s.mode.unwrap_or(Mode::Auto),
            nix::unistd::getpid().as_raw() == 1,
        );
        let stop_timeout = s.stop_timeout.map_or(defaults.stop_timeout, |d| d.0);
        let signals = self.signals()?;
        let name = profile.clone().unwrap_or_else(|| "program".into());
        let summary = format!(
            "{name}: {} {}, mode {mode} ({mode_reason}), stop timeout {}",
            program.display(),
            part.detail,
            crate::settings::Dur(stop_timeout)
        );
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
            success_codes: s.success_codes.clone().unwrap_or_default(),
            workers: part.workers,
            cpus: part.cpus,
            workers_reason: part.workers_reason,
            log_level: s.log_level.unwrap_or(LogLevel::Info),
            log_format: s.log_format.unwrap_or(LogFormat::Text),
            summary,
            warnings,
        })
    }

    /// Where a key's value came from, for messages.
    fn source(&self, key: &str) -> String {
        // A tag knows only default, global or "custom": a custom one is the selected profile.
        let tag_profile = self.figment.find_value(key).ok().map(|v| {
            v.tag()
                .profile()
                .unwrap_or_else(|| self.figment.profile().clone())
        });
        self.figment.find_metadata(key).map_or_else(
            || "built-in default".into(),
            |md| source_name(md, tag_profile.as_ref(), &[key]),
        )
    }

    /// The working directory: `chdir` (relative to the config file when it came from
    /// there, else to the current directory), else the current directory.
    fn cwd(&self) -> anyhow::Result<PathBuf> {
        let here = std::env::current_dir().context("failed to read the current directory")?;
        let Some(Text(dir)) = &self.settings.chdir else {
            return Ok(here);
        };
        let base = match self
            .figment
            .find_metadata("chdir")
            .and_then(|md| md.source.as_ref())
        {
            Some(figment::Source::File(file)) => {
                file.parent().map_or(here.clone(), |p| here.join(p))
            }
            _ => here,
        };
        let path = base.join(dir);
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
            table.set(from_sig, rewrite);
        }
        Ok(table)
    }

    /// gunicorn's arguments, worker count and summary; adds WEB_CONCURRENCY and
    /// PYTHON_CPU_COUNT to the environment so a gunicorn.conf.py agrees with the plan.
    fn gunicorn(
        &self,
        cwd: &Path,
        env: &mut BTreeMap<String, String>,
        warnings: &mut Vec<String>,
    ) -> anyhow::Result<ServerPart> {
        let s = self.settings;
        let defaults = Defaults::of(ServerKind::Gunicorn);
        let app = s.app.as_ref().map(|t| t.0.clone()).ok_or_else(|| {
            Failure::Config(
                "gunicorn needs `app`, e.g. `app = \"app:create_app()\"` in [prod] of liftoff.toml, LIFTOFF_APP, or --app"
                    .into(),
            )
        })?;
        if let Some(Text(file)) = &s.gunicorn_config
            && !cwd.join(file).is_file()
        {
            return Err(Failure::Config(format!(
                "gunicorn_config `{file}` (from {}) does not exist in {}; fix the path or remove the key",
                self.source("gunicorn_config"),
                cwd.display()
            ))
            .into());
        }
        let limits = crate::cgroup::detect();
        let sized = match s.workers.unwrap_or(WorkerCount::Auto) {
            WorkerCount::Auto => workers::auto(&limits, &self.sizing()),
            WorkerCount::Fixed(n) => workers::Workers {
                count: n,
                cpus: limits.cpus(),
                why: format!("set to {n} by {}", self.source("workers")),
            },
        };
        env.insert("WEB_CONCURRENCY".into(), sized.count.to_string());
        env.insert("PYTHON_CPU_COUNT".into(), sized.cpus.to_string());
        let stop = s.stop_timeout.map_or(defaults.stop_timeout, |d| d.0);
        let graceful = s
            .graceful_timeout
            .map_or(profile::GRACEFUL_TIMEOUT, |d| d.0);
        budget_warnings(graceful, stop, warnings);
        let g = profile::Gunicorn {
            config: s.gunicorn_config.as_ref().map(|t| t.0.clone()),
            host: s
                .host
                .as_ref()
                .map_or(defaults.host.into(), |t| t.0.clone()),
            port: s.port.unwrap_or(defaults.port),
            workers: sized.count,
            threads: s.threads,
            worker_class: s.worker_class.as_ref().map(|t| t.0.clone()),
            timeout: s.timeout.map(|d| d.0),
            graceful_timeout: graceful,
            keepalive: s.keepalive.map(|d| d.0),
            worker_tmp_dir: s.worker_tmp_dir.as_ref().map(|t| t.0.clone()).or_else(|| {
                Path::new(profile::WORKER_TMP_DIR)
                    .is_dir()
                    .then(|| profile::WORKER_TMP_DIR.to_string())
            }),
            access_log: s.access_log.as_ref().map(|t| t.0.clone()),
            app,
        };
        let detail = format!(
            "on {}, {} workers ({}), {} threads, worker timeout {}, graceful timeout {}",
            profile::bind(&g.host, g.port),
            g.workers,
            sized.why,
            g.threads.unwrap_or(1),
            g.timeout
                .map_or("30s (gunicorn default)".into(), |d| crate::settings::Dur(d)
                    .to_string()),
            crate::settings::Dur(g.graceful_timeout),
        );
        Ok(ServerPart {
            workers: Some(sized.count),
            cpus: Some(sized.cpus),
            workers_reason: Some(sized.why),
            args: profile::gunicorn_args(&g),
            detail,
        })
    }

    /// The sizing knobs with their defaults.
    fn sizing(&self) -> Sizing {
        let s = self.settings;
        Sizing {
            workers_per_core: s.workers_per_core.unwrap_or(profile::WORKERS_PER_CORE),
            min_workers: s.min_workers.unwrap_or(profile::MIN_WORKERS),
            max_workers: s.max_workers.unwrap_or(profile::MAX_WORKERS),
            worker_memory: s.worker_memory.map(|b| b.0),
        }
    }

    /// Flask's arguments and summary.
    fn flask(&self, warnings: &mut Vec<String>) -> ServerPart {
        let s = self.settings;
        let defaults = Defaults::of(ServerKind::Flask);
        let f = profile::Flask {
            app: s.app.as_ref().map(|t| t.0.clone()),
            host: s
                .host
                .as_ref()
                .map_or(defaults.host.into(), |t| t.0.clone()),
            port: s.port.unwrap_or(defaults.port),
            reload: s.reload.unwrap_or(true),
            debug: s.debug.unwrap_or(false),
        };
        if f.debug && !matches!(f.host.as_str(), "127.0.0.1" | "localhost" | "::1") {
            warnings.push(format!(
                "debug mode on {} exposes Werkzeug's debugger (remote code execution) to the network; bind 127.0.0.1 or turn debug off",
                f.host
            ));
        }
        let detail = format!(
            "on {}, reload {}, debug {}",
            profile::bind(&f.host, f.port),
            if f.reload { "on" } else { "off" },
            if f.debug { "on" } else { "off" }
        );
        ServerPart {
            args: profile::flask_args(&f),
            detail,
            ..ServerPart::default()
        }
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

/// Warns when the shutdown budget is out of order: graceful < stop < platform grace.
fn budget_warnings(graceful: Duration, stop: Duration, warnings: &mut Vec<String>) {
    use crate::settings::Dur;
    if graceful >= stop {
        warnings.push(format!(
            "graceful_timeout ({}) is not below stop_timeout ({}): liftoff will SIGKILL gunicorn before it finishes draining; lower graceful_timeout",
            Dur(graceful),
            Dur(stop)
        ));
    }
    if stop >= profile::PLATFORM_GRACE {
        warnings.push(format!(
            "stop_timeout ({}) is not below the 30s that ECS and Kubernetes wait before SIGKILL: the platform will kill the container first",
            Dur(stop)
        ));
    }
}

/// `auto` becomes supervise when liftoff is PID 1 (someone must reap and forward), else
/// exec (an init such as `docker run --init` already does that).
pub fn decide_mode(mode: Mode, pid1: bool) -> (Mode, String) {
    match (mode, pid1) {
        (Mode::Auto, true) => (Mode::Supervise, "auto: liftoff is PID 1".into()),
        (Mode::Auto, false) => (Mode::Exec, "auto: liftoff is not PID 1".into()),
        (mode, _) => (mode, "set".into()),
    }
}

/// The program's environment: liftoff's own, with `changes` laid over it.
fn merge_env(
    base: &[(OsString, OsString)],
    changes: &BTreeMap<String, String>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = base
        .iter()
        .filter(|(k, _)| k.to_str().is_none_or(|k| !changes.contains_key(k)))
        .cloned()
        .collect();
    env.extend(
        changes
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env
}

/// `***` for values of names that look secret, else the value.
pub fn mask(name: &str, value: &str) -> String {
    const SECRET: &[&str] = &["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PASSWD"];
    let upper = name.to_ascii_uppercase();
    if SECRET.iter().any(|s| upper.contains(s)) {
        "***".into()
    } else {
        value.into()
    }
}

/// Resolves `word` like a shell would, with the program's own `PATH` and working directory.
fn resolve_program(
    word: &str,
    env: &[(OsString, OsString)],
    cwd: &Path,
    server: ServerKind,
) -> anyhow::Result<PathBuf> {
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match which::which_in(word, Some(&path), cwd) {
        Ok(found) => Ok(found),
        Err(_) => {
            let candidate = cwd.join(word);
            if word.contains('/') && candidate.exists() {
                return Err(Failure::NotExecutable(format!(
                    "{} is not executable (mark it with chmod +x, or run it through its interpreter)",
                    candidate.display()
                ))
                .into());
            }
            Err(Failure::NotFound(not_found(word, server)).into())
        }
    }
}

/// The message for a program that is not on `PATH`, with how to install the servers.
fn not_found(word: &str, server: ServerKind) -> String {
    let hint = match server {
        ServerKind::Gunicorn => {
            "; install it with `pip install gunicorn` (in this repository: `make venv`, then put .venv/bin on PATH)"
        }
        ServerKind::Flask => {
            "; install it with `pip install flask` (in this repository: `make venv`, then put .venv/bin on PATH)"
        }
        ServerKind::Command => "",
    };
    format!("program `{word}` not found on PATH{hint}")
}

/// Serializes argv as (lossy) strings.
fn lossy_strings<S: serde::Serializer>(argv: &[OsString], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(argv.iter().map(|a| a.to_string_lossy()))
}

/// Serializes the rewrite table as `{"SIGQUIT": "SIGTERM", "SIGHUP": "ignore"}`.
fn table_strings<S: serde::Serializer>(table: &SignalTable, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(
        table
            .iter()
            .map(|(from, to)| (from.to_string(), to.to_string())),
    )
}

/// Serializes a duration as whole milliseconds.
fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Quotes an argv for a shell, for people to read (never executed).
pub fn shell_quote(argv: &[OsString]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    shell_words::join(words)
}

impl Plan {
    /// The plan as aligned text for people.
    pub fn to_text(&self) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            (
                "profile",
                self.profile.clone().map_or("none (a program)".into(), |p| {
                    format!("{p} ({})", self.server)
                }),
            ),
            ("mode", format!("{} ({})", self.mode, self.mode_reason)),
            ("program", self.program.display().to_string()),
            ("argv", shell_quote(&self.argv)),
            ("cwd", self.cwd.display().to_string()),
        ];
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_words::quote(v)))
            .collect();
        rows.push((
            "env",
            if env.is_empty() {
                "(unchanged)".into()
            } else {
                env.join(" ")
            },
        ));
        rows.push(("signal target", self.signal_target.to_string()));
        let rewrites: Vec<String> = self
            .signals
            .iter()
            .map(|(from, to)| format!("{from} -> {to}"))
            .collect();
        rows.push((
            "signals",
            if rewrites.is_empty() {
                "forwarded as is".into()
            } else {
                rewrites.join(", ")
            },
        ));
        rows.push((
            "stop timeout",
            crate::settings::Dur(self.stop_timeout).to_string(),
        ));
        if !self.success_codes.is_empty() {
            let codes: Vec<String> = self.success_codes.iter().map(i32::to_string).collect();
            rows.push(("success codes", codes.join(", ")));
        }
        if let (Some(workers), Some(why)) = (self.workers, &self.workers_reason) {
            rows.push(("workers", format!("{workers} ({why})")));
        }
        for warning in &self.warnings {
            rows.push(("warning", warning.clone()));
        }
        rows.iter()
            .map(|(k, v)| format!("{:<14} {v}\n", format!("{k}:")))
            .collect()
    }

    /// The plan as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The program's environment as `std::process::Command` wants it.
    pub fn env_pairs(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.full_env
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_supervises_only_as_pid_1() {
        assert_eq!(decide_mode(Mode::Auto, true).0, Mode::Supervise);
        assert_eq!(decide_mode(Mode::Auto, false).0, Mode::Exec);
        assert_eq!(decide_mode(Mode::Exec, true).0, Mode::Exec);
        assert_eq!(decide_mode(Mode::Supervise, false).0, Mode::Supervise);
    }

    #[test]
    fn secret_looking_names_are_masked() {
        for name in [
            "DB_PASSWORD",
            "api_token",
            "SECRET_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GCP_CREDENTIALS",
        ] {
            assert_eq!(mask(name, "hunter2"), "***", "{name}");
        }
        assert_eq!(mask("WEB_CONCURRENCY", "5"), "5");
    }

    #[test]
    fn env_changes_replace_and_add() {
        let base = vec![
            (OsString::from("A"), OsString::from("1")),
            (OsString::from("B"), OsString::from("2")),
        ];
        let changes = BTreeMap::from([
            ("B".to_string(), "3".to_string()),
            ("C".to_string(), "4".to_string()),
        ]);
        let merged = merge_env(&base, &changes);
        let get = |k: &str| {
            merged
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(
            (get("A"), get("B"), get("C")),
            (Some("1".into()), Some("3".into()), Some("4".into()))
        );
        assert_eq!(merged.len(), 3);
    }

    #[test]
    fn budget_warnings_fire_only_out_of_order() {
        let s = Duration::from_secs;
        let mut w = Vec::new();
        budget_warnings(s(25), s(28), &mut w);
        assert!(w.is_empty(), "{w:?}");
        budget_warnings(s(30), s(28), &mut w);
        assert_eq!(w.len(), 1);
        budget_warnings(s(25), s(40), &mut w);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn shell_quoting_is_readable() {
        let argv: Vec<OsString> = ["gunicorn", "app:create_app()", "a b"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(shell_quote(&argv), "gunicorn 'app:create_app()' 'a b'");
    }
}
