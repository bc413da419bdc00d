//! The server-specific part of a plan: gunicorn (workers that fit the container, the
//! timing budget) and the Flask dev server.

use super::*;

/// The server-specific part of a plan.
#[derive(Debug, Default)]
pub(super) struct ServerPart {
    /// gunicorn workers.
    pub(super) workers: Option<u32>,
    /// CPUs the container has (gunicorn only).
    pub(super) cpus: Option<u32>,
    /// How the worker count was derived.
    pub(super) workers_reason: Option<String>,
    /// The server's arguments after the program name.
    pub(super) args: Vec<String>,
    /// The server's part of the start line.
    pub(super) detail: String,
}

impl Resolver<'_> {
    /// gunicorn's arguments, worker count and summary; adds WEB_CONCURRENCY and
    /// PYTHON_CPU_COUNT to the environment so a gunicorn.conf.py agrees with the plan.
    pub(super) fn gunicorn(
        &self,
        cwd: &Path,
        env: &mut BTreeMap<String, String>,
        warnings: &mut Vec<String>,
    ) -> anyhow::Result<ServerPart> {
        let s = self.settings;
        let defaults = Defaults::of(ServerKind::Gunicorn);
        let app = self.gunicorn_app()?;
        self.check_gunicorn_config(cwd)?;
        let sized = self.workers()?;
        env.insert("WEB_CONCURRENCY".into(), sized.count.to_string());
        env.insert("PYTHON_CPU_COUNT".into(), sized.cpus.to_string());
        let stop = s.stop_timeout.map_or(defaults.stop_timeout, |d| d.0);
        let graceful = s
            .graceful_timeout
            .map_or(profile::GRACEFUL_TIMEOUT, |d| d.0);
        budget_warnings(graceful, stop, warnings);
        let g = profile::Gunicorn {
            config: s.gunicorn_config.as_ref().map(|t| t.0.clone()),
            host: crate::settings::text_or(&s.host, defaults.host),
            port: s.port.map_or(defaults.port, |p| p.0),
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
            reload: s.reload.unwrap_or(defaults.reload),
            app,
        };
        Ok(ServerPart {
            workers: Some(sized.count),
            cpus: Some(sized.cpus),
            detail: gunicorn_detail(&g, &sized.why),
            workers_reason: Some(sized.why),
            args: profile::gunicorn_args(&g),
        })
    }

    /// `app`, which gunicorn cannot do without.
    fn gunicorn_app(&self) -> Result<String, Failure> {
        self.settings.app.as_ref().map(|t| t.0.clone()).ok_or_else(|| {
            let file = self
                .layers
                .file
                .as_ref()
                .map_or("liftoff.toml".into(), |f| f.path.display().to_string());
            Failure::Config(format!(
                "gunicorn needs `app`, e.g. `app = \"app:create_app()\"` in [{}] of {file}, LIFTOFF_APP, or --app",
                self.figment.profile().as_str()
            ))
        })
    }

    /// A `gunicorn_config` that is set must exist: gunicorn would otherwise run with its
    /// defaults (one sync worker) without a word.
    fn check_gunicorn_config(&self, cwd: &Path) -> Result<(), Failure> {
        match &self.settings.gunicorn_config {
            Some(Text(file)) if !cwd.join(file).is_file() => Err(Failure::Config(format!(
                "gunicorn_config `{file}` (from {}) does not exist in {}; fix the path or remove the key",
                self.source("gunicorn_config"),
                cwd.display()
            ))),
            _ => Ok(()),
        }
    }

    /// The worker count: fixed, or sized to the container's CPUs and memory.
    fn workers(&self) -> Result<workers::Workers, Failure> {
        let sizing = self.sizing();
        if sizing.min_workers > sizing.max_workers {
            return Err(Failure::Config(format!(
                "min_workers ({}, from {}) is above max_workers ({}, from {}); lower min_workers or raise max_workers",
                sizing.min_workers,
                self.source("min_workers"),
                sizing.max_workers,
                self.source("max_workers")
            )));
        }
        if sizing.worker_memory == Some(0) {
            return Err(Failure::Config(format!(
                "worker_memory (from {}) is 0; give the memory one worker needs, e.g. \"256MiB\"",
                self.source("worker_memory")
            )));
        }
        let limits = crate::cgroup::detect();
        Ok(match self.settings.workers.unwrap_or(profile::WORKERS) {
            WorkerCount::Auto => workers::auto(&limits, &sizing),
            WorkerCount::Fixed(n) => workers::Workers {
                count: n,
                cpus: limits.cpus(),
                why: format!("set to {n} by {}", self.source("workers")),
            },
        })
    }

    /// The sizing knobs with their defaults.
    pub(super) fn sizing(&self) -> Sizing {
        let s = self.settings;
        Sizing {
            workers_per_core: s.workers_per_core.unwrap_or(profile::WORKERS_PER_CORE),
            min_workers: s.min_workers.unwrap_or(profile::MIN_WORKERS),
            max_workers: s.max_workers.unwrap_or(profile::MAX_WORKERS),
            worker_memory: s.worker_memory.map(|b| b.0),
        }
    }

    /// Flask's arguments and summary.
    pub(super) fn flask(&self, warnings: &mut Vec<String>) -> ServerPart {
        let s = self.settings;
        let defaults = Defaults::of(ServerKind::Flask);
        let f = profile::Flask {
            app: s.app.as_ref().map(|t| t.0.clone()),
            host: crate::settings::text_or(&s.host, defaults.host),
            port: s.port.map_or(defaults.port, |p| p.0),
            reload: s.reload.unwrap_or(defaults.reload),
            debug: s.debug.unwrap_or(profile::DEBUG),
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
}

/// Warns when the shutdown budget is out of order: graceful < stop < platform grace.
pub(super) fn budget_warnings(graceful: Duration, stop: Duration, warnings: &mut Vec<String>) {
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

/// gunicorn's part of the start line: bind, workers and why, threads, timeouts.
fn gunicorn_detail(g: &profile::Gunicorn, why: &str) -> String {
    let timeout = g
        .timeout
        .map_or("30s (gunicorn default)".into(), |d| Dur(d).to_string());
    format!(
        "on {}, {} ({why}), {}, worker timeout {timeout}, graceful timeout {}",
        profile::bind(&g.host, g.port),
        plural(g.workers, "worker"),
        plural(g.threads.unwrap_or(1), "thread"),
        Dur(g.graceful_timeout),
    )
}

/// `1 worker`, `5 workers`.
fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
