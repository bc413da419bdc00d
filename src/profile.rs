//! Profiles: which server a command runs, its built-in defaults, and how its argv is built.
//!
//! Everything here is pure: settings in, values out. The built-in defaults live in one
//! table per server ([`Defaults`]) so that `plan`, `config` and the docs agree.

use std::ffi::OsString;
use std::time::Duration;

use crate::exit::Failure;
use crate::settings::{LogFormat, LogLevel, Mode, ServerKind, Settings, WorkerCount};
use crate::signals::{SignalTable, SignalTarget};

/// Built-in defaults that depend on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// Address to bind.
    pub host: &'static str,
    /// Port to bind.
    pub port: u16,
    /// Time from the stop signal to SIGKILL.
    pub stop_timeout: Duration,
    /// Where forwarded signals go.
    pub signal_target: SignalTarget,
    /// The executable.
    pub program: &'static str,
    /// Whether the server restarts on code changes: the dev server does, gunicorn (for
    /// production) does not.
    pub reload: bool,
}

impl Defaults {
    /// The defaults of `server`.
    ///
    /// gunicorn stops within 28 s so that graceful_timeout (25 s) < stop_timeout < the 30 s
    /// that ECS and Kubernetes give. Everything else stops within 8 s, inside Docker's and
    /// Compose's 10 s. gunicorn's master manages its workers, so only it gets signals; for a
    /// Flask reloader or a shell the whole group does.
    pub fn of(server: ServerKind) -> Defaults {
        match server {
            ServerKind::Gunicorn => Defaults {
                host: "0.0.0.0",
                port: 8000,
                stop_timeout: Duration::from_secs(28),
                signal_target: SignalTarget::Child,
                program: "gunicorn",
                reload: false,
            },
            ServerKind::Flask => Defaults {
                host: "127.0.0.1",
                port: 8080,
                stop_timeout: Duration::from_secs(8),
                signal_target: SignalTarget::Group,
                program: "flask",
                reload: true,
            },
            ServerKind::Command => Defaults {
                host: "",
                port: 0,
                stop_timeout: Duration::from_secs(8),
                signal_target: SignalTarget::Group,
                program: "",
                reload: false,
            },
        }
    }
}

/// How liftoff runs the program when `mode` is not set.
pub const MODE: Mode = Mode::Auto;
/// liftoff's own log level when `log_level` is not set.
pub const LOG_LEVEL: LogLevel = LogLevel::Info;
/// liftoff's own log format when `log_format` is not set.
pub const LOG_FORMAT: LogFormat = LogFormat::Text;
/// Flask's debug mode when `debug` is not set: off, since the debugger runs code.
pub const DEBUG: bool = false;
/// gunicorn's worker count when `workers` is not set: sized to the container.
pub const WORKERS: WorkerCount = WorkerCount::Auto;
/// gunicorn's graceful timeout when none is set: below the 28 s stop timeout.
pub const GRACEFUL_TIMEOUT: Duration = Duration::from_secs(25);
/// Workers per CPU for `workers = "auto"`.
pub const WORKERS_PER_CORE: u32 = 2;
/// Lower bound for `workers = "auto"`.
pub const MIN_WORKERS: u32 = 1;
/// Upper bound for `workers = "auto"`: gunicorn's docs say 4–12 workers handle a lot.
pub const MAX_WORKERS: u32 = 12;
/// Where gunicorn's worker heartbeat goes when the directory exists (tmpfs: see the
/// gunicorn FAQ on blocking heartbeats on overlay filesystems).
pub const WORKER_TMP_DIR: &str = "/dev/shm";
/// The platform grace period the stop timeout must stay under (ECS and Kubernetes).
pub const PLATFORM_GRACE: Duration = Duration::from_secs(30);

/// Which server `profile` runs: `prod` is gunicorn and `dev` Flask unless their table says
/// otherwise; any other profile sets `server`, or `command` (which implies "command").
pub fn server_for(profile: &str, settings: &Settings) -> Result<ServerKind, Failure> {
    match (settings.server, profile, &settings.command) {
        (Some(server), _, _) => Ok(server),
        (None, "prod", _) => Ok(ServerKind::Gunicorn),
        (None, "dev", _) => Ok(ServerKind::Flask),
        (None, _, Some(_)) => Ok(ServerKind::Command),
        (None, _, None) => Err(Failure::Config(format!(
            "profile [{profile}] runs nothing: set `command = [\"program\", \"arg\"]` or `server = \"gunicorn\"` in its table"
        ))),
    }
}

/// The rewrite table a server starts from, before the user's `signals`.
pub fn default_signals(server: ServerKind) -> SignalTable {
    match server {
        ServerKind::Gunicorn => SignalTable::gunicorn(),
        ServerKind::Flask => SignalTable::flask(),
        ServerKind::Command => SignalTable::empty(),
    }
}

/// What gunicorn's argv is built from, every default already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gunicorn {
    /// `-c FILE`.
    pub config: Option<String>,
    /// `--bind`.
    pub host: String,
    /// `--bind`.
    pub port: u16,
    /// `--workers`.
    pub workers: u32,
    /// `--threads`.
    pub threads: Option<u32>,
    /// `--worker-class`.
    pub worker_class: Option<String>,
    /// `--timeout`.
    pub timeout: Option<Duration>,
    /// `--graceful-timeout`.
    pub graceful_timeout: Duration,
    /// `--keep-alive`.
    pub keepalive: Option<Duration>,
    /// `--worker-tmp-dir`.
    pub worker_tmp_dir: Option<String>,
    /// `--access-logfile`.
    pub access_log: Option<String>,
    /// `--reload` (restart workers on code changes; for development only).
    pub reload: bool,
    /// The application.
    pub app: String,
}

/// gunicorn's argv after the program name.
///
/// Every value liftoff computed is passed as a flag, so it wins over a `gunicorn.conf.py`
/// and `GUNICORN_CMD_ARGS` alike: what `plan` shows is what runs.
pub fn gunicorn_args(g: &Gunicorn) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(config) = &g.config {
        args.extend(["-c".into(), config.clone()]);
    }
    args.extend(["--bind".into(), bind(&g.host, g.port)]);
    args.extend(["--workers".into(), g.workers.to_string()]);
    if let Some(threads) = g.threads {
        args.extend(["--threads".into(), threads.to_string()]);
    }
    if let Some(class) = &g.worker_class {
        args.extend(["--worker-class".into(), class.clone()]);
    }
    if let Some(timeout) = g.timeout {
        args.extend(["--timeout".into(), seconds(timeout)]);
    }
    args.extend(["--graceful-timeout".into(), seconds(g.graceful_timeout)]);
    if let Some(keepalive) = g.keepalive {
        args.extend(["--keep-alive".into(), seconds(keepalive)]);
    }
    if let Some(dir) = &g.worker_tmp_dir {
        args.extend(["--worker-tmp-dir".into(), dir.clone()]);
    }
    if let Some(log) = &g.access_log {
        args.extend(["--access-logfile".into(), log.clone()]);
    }
    if g.reload {
        args.push("--reload".into());
    }
    args.push(g.app.clone());
    args
}

/// What `flask run`'s argv is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flask {
    /// `--app`, when set (else Flask finds `FLASK_APP`, `app.py` or `wsgi.py`).
    pub app: Option<String>,
    /// `--host`.
    pub host: String,
    /// `--port`.
    pub port: u16,
    /// `--reload`/`--no-reload`.
    pub reload: bool,
    /// `--debug`/`--no-debug`.
    pub debug: bool,
}

/// Flask's argv after the program name.
///
/// Debug and reload are always explicit, so a stray `FLASK_DEBUG` or `FLASK_RUN_RELOAD` in
/// the environment cannot change what the profile says.
pub fn flask_args(f: &Flask) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(app) = &f.app {
        args.extend(["--app".into(), app.clone()]);
    }
    args.push(if f.debug { "--debug" } else { "--no-debug" }.into());
    args.extend([
        "run".into(),
        "--host".into(),
        f.host.clone(),
        "--port".into(),
        f.port.to_string(),
    ]);
    args.push(if f.reload { "--reload" } else { "--no-reload" }.into());
    args
}

/// `host:port`, with brackets around an IPv6 address.
pub fn bind(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whole seconds for gunicorn's integer flags, rounded up so a timeout never shrinks.
fn seconds(d: Duration) -> String {
    d.as_secs_f64().ceil().to_string()
}

/// The full argv: the program, the server's arguments, `extra_args`, then `-- EXTRA`.
pub fn full_argv(
    program: &str,
    server_args: Vec<String>,
    extra_args: &[String],
    extra: &[OsString],
) -> Vec<OsString> {
    std::iter::once(program.to_string())
        .chain(server_args)
        .chain(extra_args.iter().cloned())
        .map(OsString::from)
        .chain(extra.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Text;

    /// A gunicorn description with only the required parts.
    fn gunicorn() -> Gunicorn {
        Gunicorn {
            config: None,
            host: "0.0.0.0".into(),
            port: 8000,
            workers: 5,
            threads: None,
            worker_class: None,
            timeout: None,
            graceful_timeout: GRACEFUL_TIMEOUT,
            keepalive: None,
            worker_tmp_dir: None,
            access_log: None,
            reload: false,
            app: "app:create_app()".into(),
        }
    }

    #[test]
    fn gunicorn_argv_has_only_what_is_set() {
        let args = gunicorn_args(&gunicorn());
        assert_eq!(
            args,
            [
                "--bind",
                "0.0.0.0:8000",
                "--workers",
                "5",
                "--graceful-timeout",
                "25",
                "app:create_app()"
            ]
        );
        let full = Gunicorn {
            config: Some("gunicorn.conf.py".into()),
            host: "::".into(),
            threads: Some(4),
            worker_class: Some("gthread".into()),
            timeout: Some(Duration::from_millis(30_500)),
            keepalive: Some(Duration::from_secs(125)),
            worker_tmp_dir: Some("/dev/shm".into()),
            access_log: Some("-".into()),
            reload: true,
            ..gunicorn()
        };
        assert_eq!(
            gunicorn_args(&full).join(" "),
            "-c gunicorn.conf.py --bind [::]:8000 --workers 5 --threads 4 --worker-class gthread \
             --timeout 31 --graceful-timeout 25 --keep-alive 125 --worker-tmp-dir /dev/shm \
             --access-logfile - --reload app:create_app()"
        );
    }

    #[test]
    fn flask_argv_is_always_explicit_about_debug_and_reload() {
        let f = Flask {
            app: Some("app:create_app()".into()),
            host: "127.0.0.1".into(),
            port: 8080,
            reload: true,
            debug: false,
        };
        assert_eq!(
            flask_args(&f).join(" "),
            "--app app:create_app() --no-debug run --host 127.0.0.1 --port 8080 --reload"
        );
        let f = Flask {
            app: None,
            reload: false,
            debug: true,
            ..f
        };
        assert_eq!(
            flask_args(&f).join(" "),
            "--debug run --host 127.0.0.1 --port 8080 --no-reload"
        );
    }

    #[test]
    fn full_argv_appends_extra_args_then_extra() {
        let argv = full_argv(
            "flask",
            vec!["workflow".into()],
            &["--fast".into()],
            &[OsString::from("--x")],
        );
        assert_eq!(argv, ["flask", "workflow", "--fast", "--x"]);
    }

    #[test]
    fn servers_come_from_the_profile_and_its_table() {
        let none = Settings::default();
        let command = Settings {
            command: Some(vec![Text("x".into())]),
            ..Settings::default()
        };
        let flask = Settings {
            server: Some(ServerKind::Flask),
            ..Settings::default()
        };
        assert_eq!(server_for("prod", &none).unwrap(), ServerKind::Gunicorn);
        assert_eq!(server_for("dev", &none).unwrap(), ServerKind::Flask);
        assert_eq!(server_for("worker", &command).unwrap(), ServerKind::Command);
        assert_eq!(server_for("prod", &flask).unwrap(), ServerKind::Flask);
        let err = server_for("worker", &none).unwrap_err().to_string();
        assert!(err.contains("[worker] runs nothing"), "{err}");
    }

    #[test]
    fn defaults_keep_the_timing_budget() {
        let g = Defaults::of(ServerKind::Gunicorn);
        assert!(GRACEFUL_TIMEOUT < g.stop_timeout && g.stop_timeout < PLATFORM_GRACE);
        assert_eq!(
            (g.host, g.port, g.signal_target),
            ("0.0.0.0", 8000, SignalTarget::Child)
        );
        let f = Defaults::of(ServerKind::Flask);
        assert_eq!(
            (f.host, f.port, f.signal_target),
            ("127.0.0.1", 8080, SignalTarget::Group)
        );
        assert!(
            f.stop_timeout < Duration::from_secs(10),
            "inside Docker's 10 s"
        );
        assert!(f.reload && !g.reload, "only the dev server reloads");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(bind("::", 80), "[::]:80");
        assert_eq!(bind("[::1]", 80), "[::1]:80");
        assert_eq!(bind("127.0.0.1", 80), "127.0.0.1:80");
    }
}
