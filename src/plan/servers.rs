//! The server kinds: one row per kind, with its defaults, how the keys map to its argv,
//! its signal table, how it stops and what it needs installed. **To add a kind**: add a
//! variant to [`ServerKind`], a row to [`SERVERS`], and an argv builder.

use super::keys::Settings;
use super::values::{Dur, ServerKind};
use crate::signals::{Rewrite, Signal, SignalTable};

/// One server kind.
pub struct Server {
    /// Which kind.
    pub kind: ServerKind,
    /// Defaults of the keys whose default depends on the server, written as variables
    /// are (`stop_timeout = "28s"`).
    pub defaults: &'static [(&'static str, &'static str)],
    /// What to run to install it, for the message when its program is missing.
    pub install: &'static str,
    /// The rewrite table it starts from, before the user's `signals`.
    pub signals: fn() -> SignalTable,
    /// Builds the argv after the program name from the settings, every default applied,
    /// and the worker count; `Err` names what is missing.
    pub argv: fn(&Settings, Option<u32>) -> Result<Vec<String>, String>,
    /// Whether it forks workers whose number liftoff sizes (`workers`).
    pub sized: bool,
    /// A warning about settings that are dangerous for it, if any.
    pub warning: fn(&Settings) -> Option<String>,
}

/// Every server kind.
///
/// gunicorn stops within 28 s so that graceful_timeout (25 s) < stop_timeout < the 30 s
/// that ECS and Kubernetes give; everything else within 8 s, inside Docker's and
/// Compose's 10 s. gunicorn's master manages its workers, so only it gets signals; for a
/// Flask reloader or a shell the whole group does.
pub static SERVERS: &[Server] = &[
    Server {
        kind: ServerKind::Gunicorn,
        defaults: &[
            ("program", "gunicorn"),
            ("host", "0.0.0.0"),
            ("port", "8000"),
            ("stop_timeout", "28s"),
            ("signal_target", "child"),
            ("graceful_timeout", "25s"),
            ("reload", "false"),
        ],
        install: "pip install gunicorn",
        signals: gunicorn_signals,
        argv: gunicorn_argv,
        sized: true,
        warning: |_| None,
    },
    Server {
        kind: ServerKind::Flask,
        defaults: &[
            ("program", "flask"),
            ("host", "127.0.0.1"),
            ("port", "8080"),
            ("stop_timeout", "8s"),
            ("signal_target", "group"),
            ("reload", "true"),
        ],
        install: "pip install flask",
        signals: flask_signals,
        argv: flask_argv,
        sized: false,
        warning: flask_warning,
    },
    Server {
        kind: ServerKind::Command,
        defaults: &[("stop_timeout", "8s"), ("signal_target", "group")],
        install: "",
        signals: SignalTable::empty,
        argv: |_, _| Ok(Vec::new()),
        sized: false,
        warning: |_| None,
    },
];

impl ServerKind {
    /// This kind's row.
    pub fn row(self) -> &'static Server {
        SERVERS
            .iter()
            .find(|s| s.kind == self)
            .unwrap_or(&SERVERS[SERVERS.len() - 1])
    }
}

/// The platform grace period the stop timeout must stay under (ECS and Kubernetes).
pub const PLATFORM_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// How long after the first stop signal gunicorn gets the same signal once more; see
/// `SignalTable::resend_stop_after`.
const GUNICORN_RESEND_STOP_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// gunicorn's master handles TERM, INT, QUIT, HUP, TTIN, TTOU, USR1 and WINCH itself;
/// only USR2 is dropped, because a binary upgrade forks a new master under the old one,
/// which a supervisor would take for the server dying.
fn gunicorn_signals() -> SignalTable {
    let mut table = SignalTable::empty();
    table.set(Signal::USR2, Rewrite::Ignore);
    table.set_resend_stop_after(Some(GUNICORN_RESEND_STOP_AFTER));
    table
}

/// Flask's dev server dies of QUIT (so it becomes TERM); HUP, USR1, USR2, TTIN, TTOU and
/// WINCH would kill or stop the reloader parent and orphan its child.
fn flask_signals() -> SignalTable {
    let mut table = SignalTable::empty();
    table.set(Signal::QUIT, Rewrite::Forward(Signal::TERM));
    for signal in [
        Signal::HUP,
        Signal::USR1,
        Signal::USR2,
        Signal::TTIN,
        Signal::TTOU,
        Signal::WINCH,
    ] {
        table.set(signal, Rewrite::Ignore);
    }
    table
}

/// The text of a key, or "".
fn text(value: &Option<super::values::Text>) -> &str {
    value.as_ref().map_or("", |t| t.0.as_str())
}

/// `host:port`, with brackets around an IPv6 address.
pub fn bind(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whole seconds for integer flags, rounded up so a timeout never shrinks.
fn seconds(d: Dur) -> String {
    d.0.as_secs_f64().ceil().to_string()
}

/// gunicorn's argv. Every value liftoff computed is passed as a flag, so what `plan`
/// shows is what runs.
fn gunicorn_argv(s: &Settings, workers: Option<u32>) -> Result<Vec<String>, String> {
    let app = s.app.as_ref().ok_or("gunicorn needs `app`")?.0.clone();
    let mut args = Vec::new();
    let mut flag = |name: &str, value: String| args.extend([name.to_string(), value]);
    if let Some(config) = &s.gunicorn_config {
        flag("-c", config.0.clone());
    }
    flag("--bind", bind(text(&s.host), s.port.map_or(0, |p| p.0)));
    if let Some(workers) = workers {
        flag("--workers", workers.to_string());
    }
    if let Some(threads) = s.threads {
        flag("--threads", threads.0.to_string());
    }
    if let Some(class) = &s.worker_class {
        flag("--worker-class", class.0.clone());
    }
    if let Some(timeout) = s.timeout {
        flag("--timeout", seconds(timeout));
    }
    if let Some(graceful) = s.graceful_timeout {
        flag("--graceful-timeout", seconds(graceful));
    }
    if let Some(keepalive) = s.keepalive {
        flag("--keep-alive", seconds(keepalive));
    }
    if let Some(dir) = &s.worker_tmp_dir {
        flag("--worker-tmp-dir", dir.0.clone());
    }
    if let Some(log) = &s.access_log {
        flag("--access-logfile", log.0.clone());
    }
    if s.reload == Some(true) {
        args.push("--reload".into());
    }
    args.push(app);
    Ok(args)
}

/// `flask run`'s argv. Debug and reload are always explicit, so a stray `FLASK_DEBUG` or
/// `FLASK_RUN_RELOAD` in the environment cannot change what the profile says.
fn flask_argv(s: &Settings, _workers: Option<u32>) -> Result<Vec<String>, String> {
    let mut args = Vec::new();
    if let Some(app) = &s.app {
        args.extend(["--app".into(), app.0.clone()]);
    }
    args.push(
        if s.debug == Some(true) {
            "--debug"
        } else {
            "--no-debug"
        }
        .into(),
    );
    args.extend([
        "run".into(),
        "--host".into(),
        text(&s.host).to_string(),
        "--port".into(),
        s.port.map_or(0, |p| p.0).to_string(),
    ]);
    args.push(
        if s.reload == Some(true) {
            "--reload"
        } else {
            "--no-reload"
        }
        .into(),
    );
    Ok(args)
}

/// Flask's debugger runs code sent to it: on an address other than loopback, that is
/// remote code execution for anyone who can reach it.
fn flask_warning(s: &Settings) -> Option<String> {
    let host = text(&s.host);
    (s.debug == Some(true) && !matches!(host, "127.0.0.1" | "localhost" | "::1")).then(|| {
        format!(
            "debug mode on {host} exposes Werkzeug's debugger (remote code execution) to the network; bind 127.0.0.1 or turn debug off"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::values::{Count, Port, Text};
    use std::time::Duration;

    /// gunicorn settings with only the required parts and the defaults.
    fn gunicorn() -> Settings {
        Settings {
            app: Some(Text("app:create_app()".into())),
            host: Some(Text("0.0.0.0".into())),
            port: Some(Port(8000)),
            graceful_timeout: Some(Dur(Duration::from_secs(25))),
            reload: Some(false),
            ..Settings::default()
        }
    }

    #[test]
    fn gunicorn_argv_has_only_what_is_set() {
        assert_eq!(
            gunicorn_argv(&gunicorn(), Some(5)).unwrap().join(" "),
            "--bind 0.0.0.0:8000 --workers 5 --graceful-timeout 25 app:create_app()"
        );
        let full = Settings {
            gunicorn_config: Some(Text("gunicorn.conf.py".into())),
            host: Some(Text("::".into())),
            threads: Some(Count(4)),
            worker_class: Some(Text("gthread".into())),
            timeout: Some(Dur(Duration::from_millis(30_500))),
            keepalive: Some(Dur(Duration::from_secs(125))),
            worker_tmp_dir: Some(Text("/dev/shm".into())),
            access_log: Some(Text("-".into())),
            reload: Some(true),
            ..gunicorn()
        };
        assert_eq!(
            gunicorn_argv(&full, Some(5)).unwrap().join(" "),
            "-c gunicorn.conf.py --bind [::]:8000 --workers 5 --threads 4 --worker-class gthread \
             --timeout 31 --graceful-timeout 25 --keep-alive 125 --worker-tmp-dir /dev/shm \
             --access-logfile - --reload app:create_app()"
        );
        let no_app = Settings {
            app: None,
            ..gunicorn()
        };
        assert!(gunicorn_argv(&no_app, Some(1)).is_err());
    }

    #[test]
    fn flask_argv_is_always_explicit_about_debug_and_reload() {
        let f = Settings {
            app: Some(Text("app:create_app()".into())),
            host: Some(Text("127.0.0.1".into())),
            port: Some(Port(8080)),
            reload: Some(true),
            debug: Some(false),
            ..Settings::default()
        };
        assert_eq!(
            flask_argv(&f, None).unwrap().join(" "),
            "--app app:create_app() --no-debug run --host 127.0.0.1 --port 8080 --reload"
        );
        let f = Settings {
            app: None,
            reload: Some(false),
            debug: Some(true),
            ..f
        };
        assert_eq!(
            flask_argv(&f, None).unwrap().join(" "),
            "--debug run --host 127.0.0.1 --port 8080 --no-reload"
        );
    }

    #[test]
    fn flask_debug_off_loopback_is_warned_about() {
        let on = |host: &str, debug| Settings {
            host: Some(Text(host.into())),
            debug: Some(debug),
            ..Settings::default()
        };
        let warning = flask_warning(&on("0.0.0.0", true)).unwrap();
        assert!(
            warning.contains("debug mode on 0.0.0.0 exposes Werkzeug's debugger"),
            "{warning}"
        );
        assert_eq!(flask_warning(&on("127.0.0.1", true)), None);
        assert_eq!(flask_warning(&on("0.0.0.0", false)), None);
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(bind("::", 80), "[::]:80");
        assert_eq!(bind("[::1]", 80), "[::1]:80");
        assert_eq!(bind("127.0.0.1", 80), "127.0.0.1:80");
    }

    #[test]
    fn every_kind_has_a_row_and_defaults_name_real_keys_that_parse() {
        for kind in ServerKind::ALL {
            let row = kind.row();
            assert_eq!(row.kind, *kind);
            for (key, value) in row.defaults {
                let k = crate::plan::keys::find(key).unwrap_or_else(|| panic!("{kind}: {key}"));
                assert!(
                    matches!(k.default, crate::plan::keys::Default::Server),
                    "{kind}: {key}"
                );
                let mut merged = crate::plan::layers::Merged::default();
                merged.add_default(k.name, value);
                let (_, problems) = merged.settings();
                assert!(problems.is_empty(), "{kind}: {key} = {value}: {problems:?}");
            }
        }
    }

    #[test]
    fn tables_rewrite_as_documented() {
        let fwd = Rewrite::Forward;
        let gunicorn = gunicorn_signals();
        let flask = flask_signals();
        let rows = [
            (Signal::TERM, fwd(Signal::TERM), fwd(Signal::TERM)),
            (Signal::QUIT, fwd(Signal::QUIT), fwd(Signal::TERM)),
            (Signal::HUP, fwd(Signal::HUP), Rewrite::Ignore),
            (Signal::TTIN, fwd(Signal::TTIN), Rewrite::Ignore),
            (Signal::USR1, fwd(Signal::USR1), Rewrite::Ignore),
            (Signal::USR2, Rewrite::Ignore, Rewrite::Ignore),
            (Signal::WINCH, fwd(Signal::WINCH), Rewrite::Ignore),
        ];
        for (received, by_gunicorn, by_flask) in rows {
            assert_eq!(gunicorn.apply(received), by_gunicorn, "gunicorn {received}");
            assert_eq!(flask.apply(received), by_flask, "flask {received}");
        }
        assert_eq!(gunicorn.resend_stop_after(), Some(Duration::from_secs(2)));
        assert_eq!(flask.resend_stop_after(), None);
    }
}
