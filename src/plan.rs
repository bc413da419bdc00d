//! The plan: everything resolved before anything is spawned, printable as text or JSON.
//!
//! [`resolve`] turns the layers and the command into one plain [`Plan`]: the launch spec
//! (program path, argv, working directory, environment, user, how to stop it), the mode,
//! the `wait_for` targets and `before` steps, and what is only for people to read (the
//! summary, the reasons, the warnings). `plan` prints it, `check` builds one per profile,
//! and exec or supervise carry out its spec without deciding anything else.
//!
//! Below the plan are its inputs: the layers (`layers`, `keys`, `values`), the server
//! kinds (`servers`), the container's limits (`cgroup`, `workers`), the user database
//! (`user`), the env file (`envfile`) and the program's `PATH` (`program`).

pub mod cgroup;
mod env;
pub mod envfile;
mod gunicorn_config;
pub mod keys;
pub mod layers;
mod program;
mod render;
pub mod servers;
#[cfg(test)]
mod tests;
mod user;
pub mod values;
pub mod workers;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::exit::Failure;
use crate::launch::{Spec, Stop};
use crate::probe::url::Url;
use crate::signals::SignalTable;
pub use env::{mask, mask_words};
use keys::{KEYS, Settings};
use layers::{Layers, Merged, Source};
pub use render::shell_quote;
use servers::{Ctx, Engine};
use values::{Dur, LogFormat, LogLevel, Mode, WorkerCount};
use values::{Interface, ServerKind};

/// What the command asked to run.
#[derive(Debug, Clone)]
pub enum Target {
    /// A profile: `prod`, `dev`, or a table of the config file.
    Profile(String),
    /// A program and its arguments, with no profile.
    Program(Vec<OsString>),
}

/// Everything needed to start the program, resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The profile, or `None` for a program.
    pub profile: Option<String>,
    /// What it runs (the profile's `server` kind).
    pub server: ServerKind,
    /// The server program that kind runs for this profile.
    pub engine: Engine,
    /// exec or supervise (never auto: that is decided here).
    pub mode: Mode,
    /// Why that mode.
    pub mode_reason: String,
    /// The program, and how to start and stop it.
    pub spec: Spec,
    /// The `before` steps, each a spec like the program's (no drain delay, no success
    /// codes).
    pub before: Vec<Spec>,
    /// Dependencies that must answer before anything starts.
    pub wait_for: Vec<Url>,
    /// How long to wait for them.
    pub wait_timeout: Duration,
    /// Variables liftoff adds or changes (unmasked; printing masks them).
    pub changes: BTreeMap<String, String>,
    /// Who the program runs as, for people.
    pub user: Option<user::Credentials>,
    /// Why starting as that user would fail; `start` refuses to start then (78),
    /// naming the key and its source.
    pub user_problem: Option<String>,
    /// The env file read, if any.
    pub env_file: Option<PathBuf>,
    /// The worker count and how it was reached (servers liftoff sizes).
    pub workers: Option<workers::Workers>,
    /// gunicorn's own config file, and why gunicorn reads it.
    pub server_config: Option<(PathBuf, String)>,
    /// liftoff's own log level.
    pub log_level: LogLevel,
    /// liftoff's own log format.
    pub log_format: LogFormat,
    /// One line with the effective settings, logged at start.
    pub summary: String,
    /// Problems worth a warning that do not stop the start.
    pub warnings: Vec<String>,
}

/// Resolves `target` against the layers into a plan; `extra` is `-- EXTRA` from the
/// command line.
pub fn resolve(layers: &Layers, target: &Target, extra: &[OsString]) -> anyhow::Result<Plan> {
    let profile = match target {
        Target::Profile(name) => Some(name.as_str()),
        Target::Program(_) => None,
    };
    let (merged, server, engine) = merge(layers, profile)?;
    let (settings, problems) = merged.settings();
    if !problems.is_empty() {
        return Err(problems_failure(problems.iter().map(|p| p.message.clone())).into());
    }
    Resolver {
        layers,
        merged: &merged,
        s: &settings,
        server,
        engine,
        profile,
    }
    .plan(target, extra)
}

/// One configuration failure listing `lines`, one problem each.
pub fn problems_failure(lines: impl Iterator<Item = String>) -> Failure {
    Failure::Config(lines.collect::<Vec<_>>().join("\n"))
}

/// The merged layers of `profile` with the built-in defaults below them, the server kind
/// the profile runs, and the server program that kind runs for it.
pub fn merge(
    layers: &Layers,
    profile: Option<&str>,
) -> Result<(Merged, ServerKind, Engine), Failure> {
    let mut merged = layers.merge(profile);
    let server = server_kind(profile, &merged)?;
    let mut problems = Vec::new();
    let interface = merged.read_value::<Interface>("interface", &mut problems);
    if !problems.is_empty() {
        return Err(problems_failure(problems.into_iter().map(|p| p.message)));
    }
    let dev = profile == Some("dev");
    let engine = servers::engine(server, dev, interface);
    let row = engine.row();
    merged.add_default("server", &server.to_string());
    // The dev profile's own defaults go first: a default is only added where none is.
    let dev_defaults = row.dev.iter().filter(|_| dev);
    let dev_defaults = dev_defaults.map(|row| (row, Source::DevDefault));
    let defaults = row.defaults.iter().copied().flatten();
    let defaults = defaults.map(|row| (row, Source::Default));
    for ((key, value), source) in dev_defaults.chain(defaults) {
        if let Some(key) = keys::find(key) {
            merged.add_builtin(key.name, value, source);
        }
    }
    if engine == Engine::Gunicorn && Path::new(WORKER_TMP_DIR).is_dir() {
        merged.add_default("worker_tmp_dir", WORKER_TMP_DIR);
    }
    for key in KEYS {
        if let keys::Default::Is(value) = key.default {
            merged.add_default(key.name, value);
        }
    }
    Ok((merged, server, engine))
}

/// Where gunicorn's worker heartbeat goes when the directory exists (tmpfs: see the
/// gunicorn FAQ on blocking heartbeats on overlay filesystems).
const WORKER_TMP_DIR: &str = "/dev/shm";

/// Which server `profile` runs: `command` makes it a command profile; else `server`;
/// else `prod` is gunicorn and `dev` Flask. Never guessed from what is installed.
fn server_kind(profile: Option<&str>, merged: &Merged) -> Result<ServerKind, Failure> {
    let Some(profile) = profile else {
        return Ok(ServerKind::Command);
    };
    let mut problems = Vec::new();
    let server = merged.read_value::<ServerKind>("server", &mut problems);
    if !problems.is_empty() {
        return Err(problems_failure(problems.into_iter().map(|p| p.message)));
    }
    let command = merged.source("command");
    match (server, command) {
        (Some(kind), Some(command))
            if kind != ServerKind::Command && merged.source("server") == Some(command) =>
        {
            Err(Failure::Config(format!(
                "{command}: sets both `server = \"{kind}\"` and `command`; a command profile runs its command: remove one of them"
            )))
        }
        (_, Some(_)) => Ok(ServerKind::Command),
        (Some(ServerKind::Command), None) => Err(Failure::Config(format!(
            "profile [{profile}] has `server = \"command\"` but no `command`; set command = [\"program\", \"arg\"] in its table"
        ))),
        (Some(kind), None) => Ok(kind),
        (None, None) => match profile {
            "prod" => Ok(ServerKind::Gunicorn),
            "dev" => Ok(ServerKind::Flask),
            _ => Err(Failure::Config(format!(
                "profile [{profile}] runs nothing: set `command = [\"program\", \"arg\"]` or `server = \"gunicorn\"` in its table"
            ))),
        },
    }
}

/// Whether the program `profile` runs is on its `PATH` (for `check`, which skips a
/// built-in profile the file never mentions when its server is not installed).
pub fn installed(layers: &Layers, profile: &str) -> bool {
    let Ok((merged, _, engine)) = merge(layers, Some(profile)) else {
        return true;
    };
    let (s, _) = merged.settings();
    let word = s
        .program
        .map(|p| p.0)
        .or_else(|| s.command.and_then(|c| c.0.first().cloned()));
    let Some(word) = word else { return true };
    let cwd = std::env::current_dir().unwrap_or_default();
    program::resolve(word, &layers.env, &cwd, engine).is_ok()
}

/// A key the key table or the server table gives a default for: its value, or liftoff's
/// own failure when a table lacks it (a bug, reported instead of a panic in PID 1).
fn need<T: Clone>(value: &Option<T>, key: &str) -> anyhow::Result<T> {
    value.clone().with_context(|| {
        format!("no value for `{key}`: liftoff's key table lacks a default (a bug)")
    })
}

/// Resolves one profile's settings; holds what every step needs.
struct Resolver<'a> {
    layers: &'a Layers,
    merged: &'a Merged,
    s: &'a Settings,
    server: ServerKind,
    engine: Engine,
    profile: Option<&'a str>,
}

impl Resolver<'_> {
    /// Builds the plan.
    fn plan(&self, target: &Target, extra: &[OsString]) -> anyhow::Result<Plan> {
        let s = self.s;
        let mut warnings = self.keys_without_effect();
        if self.layers.var("LIFTOFF_PROFILE").is_some() {
            warnings.push("LIFTOFF_PROFILE is ignored: the profile comes only from the command (liftoff prod, liftoff dev, liftoff NAME)".into());
        }
        let cwd = self.cwd()?;
        let env_file = self.env_file()?;
        let (user, identity, user_problem) = self.user(&cwd)?;
        if let Some(problem) = &user_problem {
            warnings.push(format!("starting would fail: {problem}"));
        }
        let workers = self.workers(&cwd)?;
        let changes = self.changes(env_file.as_ref(), user.as_ref(), workers.as_ref());
        let env = env::merge(&self.layers.env, &changes);
        let ctx = Ctx {
            s,
            workers: workers.as_ref().map(|w| w.count),
        };
        let argv = self.argv(target, &ctx, &cwd, extra)?;
        // `program` replaces the executable looked up; argv[0] stays the command's.
        let word = match (target, &s.program) {
            (Target::Profile(_), Some(program)) => program.0.clone().into(),
            _ => argv[0].clone(),
        };
        let program = program::resolve(word, &env, &cwd, self.engine)?;
        let stop = self.stop(&ctx)?;
        warnings.extend(self.budget_warnings(&stop));
        warnings.extend((self.engine.row().warning)(s));
        if self.engine == Engine::Gunicorn {
            warnings.extend(gunicorn_config::overridden(
                &cwd,
                s,
                &self.layers.env,
                &argv,
            ));
        }
        let spec = Spec {
            program,
            argv,
            env,
            cwd,
            identity,
            stop,
        };
        let before = self.before(&spec)?;
        let (mode, mode_reason) = self.mode(&spec.stop)?;
        let spec_cwd = spec.cwd.clone();
        let mut plan = Plan {
            profile: self.profile.map(String::from),
            server: self.server,
            engine: self.engine,
            mode,
            mode_reason,
            spec,
            before,
            wait_for: self.wait_for()?,
            wait_timeout: need(&s.wait_timeout, "wait_timeout")?.0,
            changes,
            user,
            user_problem,
            env_file: env_file.map(|(path, _)| path),
            workers,
            server_config: (self.engine == Engine::Gunicorn)
                .then(|| gunicorn_config::file(&spec_cwd, s, &self.layers.env))
                .flatten(),
            log_level: need(&s.log_level, "log_level")?,
            log_format: need(&s.log_format, "log_format")?,
            summary: String::new(),
            warnings,
        };
        plan.summary = render::summary(&plan, s);
        Ok(plan)
    }

    /// Where a key's value came from, for messages.
    fn source(&self, key: &str) -> String {
        self.merged
            .source(key)
            .map_or_else(|| "built-in default".into(), ToString::to_string)
    }

    /// What a relative path in `key` is relative to: the config file's directory when the
    /// value came from the file, else the current directory.
    fn base_dir(&self, key: &str) -> anyhow::Result<PathBuf> {
        let here = std::env::current_dir().context("failed to read the current directory")?;
        Ok(match self.merged.source(key) {
            Some(Source::File { path, .. }) => path.parent().map_or(here.clone(), |p| here.join(p)),
            _ => here,
        })
    }

    /// The working directory: `chdir` (relative to the config file when it came from
    /// there), else the current directory.
    fn cwd(&self) -> anyhow::Result<PathBuf> {
        let Some(dir) = &self.s.chdir else {
            return std::env::current_dir().context("failed to read the current directory");
        };
        let path = self.base_dir("chdir")?.join(&dir.0);
        if !path.is_dir() {
            return Err(Failure::Config(format!(
                "chdir `{}` (from {}): {} is not a directory; fix the path",
                dir.0.escape_debug(),
                self.source("chdir"),
                crate::exit::shown_path(&path)
            ))
            .into());
        }
        Ok(path)
    }

    /// `env_file`, read: its path and entries.
    fn env_file(&self) -> anyhow::Result<Option<(PathBuf, Vec<envfile::Entry>)>> {
        let Some(file) = &self.s.env_file else {
            return Ok(None);
        };
        let path = self.base_dir("env_file")?.join(&file.0);
        let shown = format!(
            "env_file `{}` (from {})",
            file.0.escape_debug(),
            self.source("env_file")
        );
        let entries = envfile::read(&path, &shown)?;
        Ok(Some((path, entries)))
    }

    /// `user`, resolved against the user database, and whether liftoff can become it
    /// (decided here, once): the credentials, the identity the child switches to (`None`
    /// when liftoff already is that user), and why starting would fail.
    fn user(
        &self,
        cwd: &Path,
    ) -> anyhow::Result<(
        Option<user::Credentials>,
        Option<crate::launch::Identity>,
        Option<String>,
    )> {
        let Some(spec) = &self.s.user else {
            return Ok((None, None, None));
        };
        let source = self.source("user");
        // Escaped: a line break in the value would split the message.
        let shown = spec.0.escape_debug();
        let creds = user::resolve(&spec.0)
            .map_err(|e| Failure::Config(format!("user `{shown}` (from {source}): {e}")))?;
        let switch = user::switch(&creds, nix::unistd::geteuid().as_raw());
        let identity = (switch == Ok(true)).then(|| creds.identity());
        let problem = match switch {
            Err(e) => Some(e),
            Ok(_) => user::cannot_enter(cwd, &creds).map(|why| {
                format!(
                    "{why}; choose a working directory the user can read (chdir), or another user"
                )
            }),
        };
        let problem = problem.map(|why| format!("user `{shown}` (from {source}): {why}"));
        Ok((Some(creds), identity, problem))
    }

    /// The variables liftoff adds or changes, lowest first: the env file's (where the
    /// process environment does not set them, so `docker run -e` still wins), the user's
    /// `HOME`, `USER` and `LOGNAME`, the `env` table, and the worker count.
    fn changes(
        &self,
        env_file: Option<&(PathBuf, Vec<envfile::Entry>)>,
        user: Option<&user::Credentials>,
        workers: Option<&workers::Workers>,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for entry in env_file.iter().flat_map(|(_, entries)| entries) {
            if !self.layers.env.iter().any(|(k, _)| k == entry.key.as_str()) {
                env.insert(entry.key.clone(), entry.value.clone());
            }
        }
        if let Some(user) = user {
            env.insert("HOME".into(), user.home.to_string_lossy().into_owned());
            let name = user.name.clone().unwrap_or_else(|| user.uid.to_string());
            env.insert("USER".into(), name.clone());
            env.insert("LOGNAME".into(), name);
        }
        env.extend(
            self.s
                .env
                .iter()
                .flat_map(|t| &t.0)
                .map(|v| (v.name.clone(), v.value.clone())),
        );
        if let Some(w) = workers {
            env.insert("WEB_CONCURRENCY".into(), w.count.to_string());
            env.insert("PYTHON_CPU_COUNT".into(), w.cpus.to_string());
        }
        // uvicorn reads UVICORN_RELOAD and has no --no-reload to beat it.
        if self.engine == Engine::Uvicorn
            && self.s.reload != Some(true)
            && self.layers.var("UVICORN_RELOAD").is_some()
        {
            env.insert("UVICORN_RELOAD".into(), "false".into());
        }
        env
    }

    /// The worker count, for servers liftoff sizes; `None` for the others.
    fn workers(&self, cwd: &Path) -> anyhow::Result<Option<workers::Workers>> {
        let sized = keys::find("workers").is_some_and(|k| k.applies_to(self.server));
        // One process serves: runserver, and uvicorn's reloader (which warns about
        // --workers and WEB_CONCURRENCY alike).
        let one = self.engine == Engine::Runserver
            || (self.engine == Engine::Uvicorn && self.s.reload == Some(true));
        if !sized || one || self.profile.is_none() {
            return Ok(None);
        }
        let s = self.s;
        if let (Engine::Gunicorn, Some(config)) = (self.engine, &s.gunicorn_config)
            && !cwd.join(&config.0).is_file()
        {
            return Err(Failure::Config(format!(
                "gunicorn_config `{}` (from {}) does not exist in {}; fix the path or remove the key",
                config.0.escape_debug(),
                self.source("gunicorn_config"),
                crate::exit::shown_path(cwd)
            ))
            .into());
        }
        let sizing = workers::Sizing {
            workers_per_core: need(&s.workers_per_core, "workers_per_core")?.0,
            min_workers: need(&s.min_workers, "min_workers")?.0,
            max_workers: need(&s.max_workers, "max_workers")?.0,
            worker_memory: s.worker_memory.map(|b| b.0),
        };
        if sizing.min_workers > sizing.max_workers {
            return Err(Failure::Config(format!(
                "min_workers ({}, from {}) is above max_workers ({}, from {}); lower min_workers or raise max_workers",
                sizing.min_workers,
                self.source("min_workers"),
                sizing.max_workers,
                self.source("max_workers")
            ))
            .into());
        }
        let limits = cgroup::detect();
        Ok(match need(&s.workers, "workers")? {
            WorkerCount::Auto => Some(workers::auto(&limits, &sizing)),
            WorkerCount::Fixed(n) => Some(workers::Workers {
                count: n,
                cpus: limits.cpus(),
                why: format!("set to {n} by {}", self.source("workers")),
            }),
            WorkerCount::Server => None,
        })
    }

    /// The full argv: the server's (or the command's, or the program's own), then
    /// `extra_args`, then `-- EXTRA`.
    fn argv(
        &self,
        target: &Target,
        ctx: &Ctx,
        cwd: &Path,
        extra: &[OsString],
    ) -> anyhow::Result<Vec<OsString>> {
        let s = self.s;
        if let Target::Program(argv) = target {
            return Ok(argv.clone());
        }
        let mut words = match self.engine {
            Engine::Command => s.command.clone().unwrap_or_default().0,
            engine => {
                if engine == Engine::Runserver && !cwd.join("manage.py").is_file() {
                    return Err(Failure::Config(format!(
                        "django needs manage.py in the working directory {}; set chdir to the project's directory",
                        crate::exit::shown_path(cwd)
                    ))
                    .into());
                }
                let s = self.engine_settings();
                let ctx = Ctx {
                    s: &s,
                    workers: ctx.workers,
                };
                let args = (engine.row().argv)(&ctx).map_err(|_| self.missing_app())?;
                [vec![need(&self.s.program, "program")?.0], args].concat()
            }
        };
        if words.is_empty() {
            let from = self.source("command");
            let why = format!("`command` (from {from}) is empty; give at least the program");
            return Err(Failure::Config(why).into());
        }
        words.extend(s.extra_args.clone().unwrap_or_default().0);
        let words = words.into_iter().map(OsString::from);
        Ok(words.chain(extra.iter().cloned()).collect())
    }

    /// The settings as the engine reads them: for Django under uvicorn, the ASGI module
    /// with its `:application` (gunicorn finds `application` by itself; uvicorn does not).
    fn engine_settings(&self) -> Settings {
        let mut s = self.s.clone();
        if let (ServerKind::Django, Engine::Uvicorn, Some(app)) =
            (self.server, self.engine, &mut s.app)
            && !app.0.contains(':')
        {
            app.0.push_str(":application");
        }
        s
    }

    /// The error for a server that cannot run without `app`.
    fn missing_app(&self) -> Failure {
        let file = self
            .layers
            .file
            .as_ref()
            .map_or("liftoff.toml".into(), |f| crate::exit::shown_path(&f.path));
        let example = match self.server {
            ServerKind::Django => "mysite.wsgi",
            ServerKind::Uvicorn | ServerKind::Granian => "main:app",
            _ => "app:create_app()",
        };
        Failure::Config(format!(
            "{} needs `app`, e.g. `app = \"{example}\"` in [{}] of {file}, LIFTOFF_APP, or --app",
            self.server,
            self.profile.unwrap_or("default")
        ))
    }

    /// How supervise mode stops the program: the server's table with the user's
    /// entries, the target, the timeouts.
    fn stop(&self, ctx: &Ctx) -> anyhow::Result<Stop> {
        let s = self.s;
        let mut table: SignalTable = (self.engine.row().signals)(ctx);
        for rewrite in s.signals.iter().flat_map(|t| &t.0) {
            table.set(rewrite.from, rewrite.to);
        }
        Ok(Stop {
            target: need(&s.signal_target, "signal_target")?,
            table,
            stop_timeout: need(&s.stop_timeout, "stop_timeout")?.0,
            success_codes: s.success_codes.clone().unwrap_or_default().0,
            drain_delay: need(&s.drain_delay, "drain_delay")?.0,
            forwarded_stop_is_success: (self.engine.row().reraises_stop)(ctx),
        })
    }

    /// Warnings when the shutdown budget is out of order: drain delay + graceful timeout
    /// < stop timeout < the platform's grace period.
    fn budget_warnings(&self, stop: &Stop) -> Vec<String> {
        use Engine::{Granian, Gunicorn, Uvicorn};
        let production = matches!(self.engine, Gunicorn | Uvicorn | Granian);
        let graceful = self.s.graceful_timeout.filter(|_| production).map(|d| d.0);
        let server = production.then_some(self.engine.row().name);
        let mut warnings = budget_warnings(graceful, stop.stop_timeout, server);
        warnings.extend(drain_warning(stop.drain_delay, graceful, stop.stop_timeout));
        warnings
    }

    /// `before`, each step's program resolved like the server's, each step a spec like
    /// the program's but for the drain delay and success codes, which are the server's.
    fn before(&self, spec: &Spec) -> anyhow::Result<Vec<Spec>> {
        let stop = Stop {
            success_codes: Vec::new(),
            drain_delay: Duration::ZERO,
            forwarded_stop_is_success: false,
            ..spec.stop.clone()
        };
        let steps = self.s.before.clone().unwrap_or_default().0;
        steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| {
                let n = i + 1;
                let Some(word) = step.first() else {
                    return Err(Failure::Config(format!(
                        "before step {n} (from {}) is empty; give at least the program",
                        self.source("before")
                    ))
                    .into());
                };
                let argv: Vec<OsString> = step.iter().map(OsString::from).collect();
                let program = program::resolve(word, &spec.env, &spec.cwd, Engine::Command)
                    .map_err(|err| program::in_step(err, n, &shell_quote(&argv)))?;
                Ok(Spec {
                    program,
                    argv,
                    stop: stop.clone(),
                    ..spec.clone()
                })
            })
            .collect()
    }

    /// `wait_for`, parsed with the probes' own URL parser, so a target that could never
    /// answer fails here (78) instead of waiting out the timeout.
    fn wait_for(&self) -> anyhow::Result<Vec<Url>> {
        let items = self.s.wait_for.clone().unwrap_or_default().0;
        items
            .iter()
            .map(|item| {
                crate::probe::url::parse(item).map_err(|e| {
                    Failure::Config(format!("wait_for (from {}): {e}", self.source("wait_for")))
                        .into()
                })
            })
            .collect()
    }

    /// exec or supervise: `auto` supervises when liftoff is PID 1 or must stay the
    /// program's parent; `exec` with a key that needs a parent is an error.
    fn mode(&self, stop: &Stop) -> anyhow::Result<(Mode, String)> {
        let set = need(&self.s.mode, "mode")?;
        let needs_parent = if !stop.drain_delay.is_zero() {
            Some("drain_delay")
        } else if !stop.success_codes.is_empty() {
            Some("success_codes")
        } else {
            None
        };
        // Exec would leave the server's own status: 143 after a clean stop.
        let reraises = stop.forwarded_stop_is_success.then(|| {
            format!(
                "{} ends a clean stop killed by the stop signal, which liftoff reports as 0",
                self.engine.row().name
            )
        });
        if let (Mode::Exec, Some(key)) = (set, needs_parent) {
            return Err(Failure::Config(format!(
                "{key} (from {}) needs liftoff to stay the program's parent, but mode is exec (from {}); use mode = \"supervise\" or \"auto\", or remove {key}",
                self.source(key),
                self.source("mode")
            ))
            .into());
        }
        let needs_parent =
            needs_parent.map(|key| format!("{key} needs liftoff to stay the parent"));
        Ok(decide_mode(
            set,
            std::process::id() == 1,
            needs_parent.or(reraises),
        ))
    }

    /// Keys set for this profile alone (by a flag or in its own table) that mean nothing
    /// to its server, such as `--workers` for dev; `[default]` and the environment apply
    /// to every profile, so keys there are expected not to fit some of them.
    fn keys_without_effect(&self) -> Vec<String> {
        let own = |source: &Source| match source {
            Source::Flag(_) => true,
            Source::File { table, .. } => {
                Some(table.as_str()) == self.profile && table != "default"
            }
            _ => false,
        };
        self.merged
            .set_keys()
            .filter(|(key, source)| {
                own(source) && keys::find(key).is_some_and(|k| !k.applies_to(self.server))
            })
            .map(|(key, source)| {
                format!(
                    "{key} (from {source}) has no effect on a {} profile",
                    self.server
                )
            })
            .collect()
    }
}

/// `auto` becomes supervise when liftoff is PID 1 (someone must reap and forward) or
/// must stay the program's parent (`needs_parent` says why), else exec (an init such as
/// `docker run --init` already reaps and forwards).
pub fn decide_mode(mode: Mode, pid1: bool, needs_parent: Option<String>) -> (Mode, String) {
    match (mode, pid1, needs_parent) {
        (Mode::Auto, true, _) => (Mode::Supervise, "auto: liftoff is PID 1".into()),
        (Mode::Auto, false, Some(why)) => (Mode::Supervise, format!("auto: {why}")),
        (Mode::Auto, false, None) => (Mode::Exec, "auto: liftoff is not PID 1".into()),
        (mode, _, _) => (mode, "set".into()),
    }
}

/// Warnings when a production server's graceful timeout is not below the stop timeout,
/// or the stop timeout not below the platforms' 30 s (checked for the production
/// servers, whose defaults fill it); `server` names the production server, if it is one.
fn budget_warnings(
    graceful: Option<Duration>,
    stop: Duration,
    server: Option<&str>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(graceful) = graceful
        && graceful >= stop
    {
        warnings.push(format!(
            "graceful_timeout ({}) is not below stop_timeout ({}): liftoff will SIGKILL {} before it finishes draining; lower graceful_timeout",
            Dur(graceful),
            Dur(stop),
            server.unwrap_or("the server")
        ));
    }
    if server.is_some() && stop >= servers::PLATFORM_GRACE {
        warnings.push(format!(
            "stop_timeout ({}) is not below the 30s that ECS and Kubernetes wait before SIGKILL: the platform will kill the container first",
            Dur(stop)
        ));
    }
    warnings
}

/// Warns when the drain delay eats the stop budget: it counts inside the stop timeout,
/// so delay + the server's graceful timeout (or the delay alone) must stay below it.
fn drain_warning(drain: Duration, graceful: Option<Duration>, stop: Duration) -> Option<String> {
    if drain.is_zero() {
        return None;
    }
    match graceful {
        Some(graceful) if drain + graceful >= stop => Some(format!(
            "drain_delay ({}) + graceful_timeout ({}) is not below stop_timeout ({}): the delay counts inside the stop timeout, so the server would be killed before it finishes draining; lower one or raise stop_timeout",
            Dur(drain),
            Dur(graceful),
            Dur(stop)
        )),
        None if drain >= stop => Some(format!(
            "drain_delay ({}) is not below stop_timeout ({}): the delay counts inside the stop timeout, so the program would be killed without ever getting the stop signal",
            Dur(drain),
            Dur(stop)
        )),
        _ => None,
    }
}
