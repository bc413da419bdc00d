//! The servers liftoff runs: one row per server program ([`SERVERS`]), each with its
//! defaults, how the keys map to its argv, its signal table, how it stops and what it
//! needs installed; and which row a profile's `server` kind uses ([`engine`]). **To add a
//! kind**: a variant of `ServerKind` (`values.rs`), a row here, a line in `engine`.

use super::keys::Settings;
use super::values::{Dur, Interface, ServerKind, Text};
use crate::signals::{Rewrite, Signal, Signal as S, SignalTable};

/// The server program a profile runs (a kind may use more than one: Django runs
/// `runserver` for `dev` and gunicorn or uvicorn otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Gunicorn,
    /// `flask run`.
    Flask,
    Uvicorn,
    Granian,
    /// Django's `python manage.py runserver`.
    Runserver,
    /// The profile's `command`.
    Command,
}

/// What an argv builder and a signal table get: every setting with its default, and the
/// worker count liftoff sized (`None`: the server's own configuration decides).
pub struct Ctx<'a> {
    pub s: &'a Settings,
    pub workers: Option<u32>,
}

/// One server program.
pub struct Server {
    pub engine: Engine,
    pub name: &'static str,
    /// Defaults of the keys whose default depends on the server, as variables write them.
    pub defaults: &'static [&'static [(&'static str, &'static str)]],
    /// What the `dev` profile changes of them.
    pub dev: &'static [(&'static str, &'static str)],
    /// How to install it, for the message when its program is missing.
    pub install: &'static str,
    /// The argv after the program name; `Err` says what is missing.
    pub argv: fn(&Ctx) -> Result<Vec<String>, String>,
    /// The signal table it starts from, before the user's `signals`.
    pub signals: fn(&Ctx) -> SignalTable,
    /// Whether it ends even a clean stop killed by the stop signal, which liftoff (as its
    /// parent) then reports as 0: a single uvicorn process (>= 0.29) re-raises SIGTERM
    /// after shutting down cleanly; `runserver --noreload` has no handler for it.
    pub reraises_stop: fn(&Ctx) -> bool,
    /// A warning about settings that are dangerous for it, if any.
    pub warning: fn(&Settings) -> Option<String>,
}

/// Every server program.
///
/// Production servers stop within 28 s so that graceful_timeout (25 s) < stop_timeout <
/// the 30 s that ECS and Kubernetes give; development servers within 8 s, inside Docker's
/// and Compose's 10 s. A server that manages its workers gets signals alone (`child`);
/// a reloader pair or a shell gets them as a group.
pub static SERVERS: &[Server] = &[
    Server {
        engine: Engine::Gunicorn,
        name: "gunicorn",
        defaults: &[&[("program", "gunicorn")], PRODUCTION],
        dev: &[],
        install: "pip install gunicorn",
        argv: gunicorn_argv,
        signals: gunicorn_signals,
        reraises_stop: |_| false,
        warning: |_| None,
    },
    Server {
        engine: Engine::Flask,
        name: "flask run",
        defaults: &[&[("program", "flask")], DEVELOPMENT],
        dev: &[],
        install: "pip install flask",
        argv: flask_argv,
        signals: |_| reloader_signals(),
        reraises_stop: |_| false,
        warning: flask_warning,
    },
    Server {
        engine: Engine::Uvicorn,
        name: "uvicorn",
        defaults: &[&[("program", "uvicorn")], PRODUCTION],
        dev: DEV,
        install: "pip install uvicorn",
        argv: uvicorn_argv,
        signals: uvicorn_signals,
        reraises_stop: uvicorn_reraises,
        warning: |_| None,
    },
    Server {
        engine: Engine::Granian,
        name: "granian",
        defaults: &[&[("program", "granian"), ("interface", "asgi")], PRODUCTION],
        dev: DEV,
        install: "pip install granian (granian[reload] for reload)",
        argv: granian_argv,
        signals: granian_signals,
        reraises_stop: |_| false,
        warning: |_| None,
    },
    Server {
        engine: Engine::Runserver,
        name: "runserver",
        defaults: &[&[("program", "python")], DEVELOPMENT],
        dev: &[],
        install: "pip install django, and a python on PATH",
        argv: runserver_argv,
        signals: |_| reloader_signals(),
        reraises_stop: |ctx| ctx.s.reload != Some(true),
        warning: |_| None,
    },
    Server {
        engine: Engine::Command,
        name: "the command",
        defaults: &[&[("stop_timeout", "8s"), ("signal_target", "group")]],
        dev: &[],
        install: "",
        argv: |_| Ok(Vec::new()),
        signals: |_| SignalTable::empty(),
        reraises_stop: |_| false,
        warning: |_| None,
    },
];

/// A production server's defaults: every address, and a stop inside the platforms' 30 s.
const PRODUCTION: &[(&str, &str)] = &[
    ("host", "0.0.0.0"),
    ("port", "8000"),
    ("stop_timeout", "28s"),
    ("signal_target", "child"),
    ("graceful_timeout", "25s"),
    ("reload", "false"),
];

/// A development server's defaults: loopback, reload, a stop inside Docker's 10 s, and
/// signals to the reloader's whole group.
const DEVELOPMENT: &[(&str, &str)] = &[
    ("host", "127.0.0.1"),
    ("port", "8080"),
    ("stop_timeout", "8s"),
    ("signal_target", "group"),
    ("reload", "true"),
];

/// What the `dev` profile of a production server changes: loopback, liftoff's dev port,
/// reload, and a development server's stop timeout, with a graceful limit inside it so a
/// dev server drains rather than being killed.
const DEV: &[(&str, &str)] = &[
    ("host", "127.0.0.1"),
    ("port", "8080"),
    ("reload", "true"),
    ("graceful_timeout", "5s"),
    ("stop_timeout", "8s"),
];

/// The server program a profile of `kind` runs; `dev` is the `dev` profile, `interface`
/// the app's (Django: `asgi` runs uvicorn in production, `wsgi` gunicorn).
pub fn engine(kind: ServerKind, dev: bool, interface: Option<Interface>) -> Engine {
    match kind {
        ServerKind::Gunicorn => Engine::Gunicorn,
        ServerKind::Flask => Engine::Flask,
        ServerKind::Uvicorn => Engine::Uvicorn,
        ServerKind::Granian => Engine::Granian,
        ServerKind::Django if dev => Engine::Runserver,
        ServerKind::Django if interface == Some(Interface::Asgi) => Engine::Uvicorn,
        ServerKind::Django => Engine::Gunicorn,
        ServerKind::Command => Engine::Command,
    }
}

impl Engine {
    /// This program's row.
    pub fn row(self) -> &'static Server {
        SERVERS
            .iter()
            .find(|s| s.engine == self)
            .unwrap_or(&SERVERS[SERVERS.len() - 1])
    }
}

/// The platform grace period the stop timeout must stay under (ECS and Kubernetes).
pub const PLATFORM_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// gunicorn's master handles TERM, INT, QUIT, HUP, TTIN, TTOU, USR1 and WINCH itself;
/// only USR2 is dropped, because a binary upgrade forks a new master under the old one,
/// which a supervisor would take for the server dying. uvicorn's workers ignore the
/// master's quick stop (they would serve on until the graceful timeout), so with them
/// INT and QUIT become TERM.
fn gunicorn_signals(ctx: &Ctx) -> SignalTable {
    let uvicorn = text(&ctx.s.worker_class)
        .to_ascii_lowercase()
        .contains("uvicorn");
    table(if uvicorn { &[S::INT, S::QUIT] } else { &[] }, &[S::USR2])
}

/// A table that forwards each of `to_term` as TERM and drops each of `ignored`.
fn table(to_term: &[Signal], ignored: &[Signal]) -> SignalTable {
    let mut table = SignalTable::empty();
    for &signal in to_term {
        table.set(signal, Rewrite::Forward(S::TERM));
    }
    for &signal in ignored {
        table.set(signal, Rewrite::Ignore);
    }
    table
}

/// A reloader parent with a serving child (`flask run`, `runserver`): QUIT kills without
/// cleanup, so it becomes TERM; HUP, USR1, USR2 kill the parent and orphan the child,
/// TTIN and TTOU stop both, WINCH means nothing: all dropped.
fn reloader_signals() -> SignalTable {
    table(
        &[S::QUIT],
        &[S::HUP, S::USR1, S::USR2, S::TTIN, S::TTOU, S::WINCH],
    )
}

/// uvicorn: QUIT kills it (or its reload parent, orphaning the server), so it becomes
/// TERM; USR1, USR2 and WINCH are dropped. Its `--workers` supervisor handles HUP (a
/// rolling restart) and TTIN/TTOU (a worker more or less); a single process or the reload
/// parent would die or stop of them, so they are dropped there.
fn uvicorn_signals(ctx: &Ctx) -> SignalTable {
    let supervisor = ctx.s.reload != Some(true) && ctx.workers.is_some_and(|n| n > 1);
    let ignored = [S::USR1, S::USR2, S::WINCH, S::HUP, S::TTIN, S::TTOU];
    table(&[S::QUIT], &ignored[..if supervisor { 3 } else { 6 }])
}

/// granian's main process handles TERM and INT (stop) and HUP (respawn the workers);
/// QUIT, USR1 and USR2 kill it and orphan the workers, TTIN and TTOU stop it: QUIT
/// becomes TERM, the rest are dropped.
fn granian_signals(_: &Ctx) -> SignalTable {
    table(&[S::QUIT], &[S::USR1, S::USR2, S::TTIN, S::TTOU, S::WINCH])
}

/// The text of a key, or "".
fn text(value: &Option<Text>) -> &str {
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

/// The app, which the server cannot do without.
fn app(s: &Settings) -> Result<String, String> {
    s.app
        .as_ref()
        .map(|a| a.0.clone())
        .ok_or_else(|| "app".to_string())
}

/// An app for uvicorn and granian: `module:attr` as is; `module:factory()` as
/// `["--factory", "module:factory"]` (they call the factory themselves).
fn asgi_app(s: &Settings) -> Result<Vec<String>, String> {
    let app = app(s)?;
    Ok(match app.strip_suffix("()") {
        Some(factory) => vec![factory.to_string(), "--factory".into()],
        None => vec![app],
    })
}

/// `--host H --port P`, or nothing when the port is left to the server (`"server"`).
fn host_port(s: &Settings) -> Vec<String> {
    match s.port.and_then(|p| p.number()) {
        Some(port) => vec![
            "--host".into(),
            text(&s.host).to_string(),
            "--port".into(),
            port.to_string(),
        ],
        None => Vec::new(),
    }
}

/// `--access-log` or `--no-access-log` for servers that only switch it: "off" or "false"
/// is off, anything else on; nothing when unset.
fn access_switch(s: &Settings) -> Option<String> {
    let on = |a: &Text| !matches!(a.0.to_ascii_lowercase().as_str(), "off" | "false");
    s.access_log
        .as_ref()
        .map(|a| switch(on(a), "--access-log", "--no-access-log"))
}

/// `yes` when `on`, else `no`.
fn switch(on: bool, yes: &str, no: &str) -> String {
    if on { yes } else { no }.into()
}

/// gunicorn's argv. Every value liftoff computed is passed as a flag, so what `plan`
/// shows is what runs (`"server"` values are left to gunicorn's own configuration).
fn gunicorn_argv(ctx: &Ctx) -> Result<Vec<String>, String> {
    let s = ctx.s;
    let app = app(s)?;
    let mut args = Vec::new();
    let mut flag = |name: &str, value: String| args.extend([name.to_string(), value]);
    if let Some(config) = &s.gunicorn_config {
        flag("-c", config.0.clone());
    }
    if let Some(port) = s.port.and_then(|p| p.number()) {
        flag("--bind", bind(text(&s.host), port));
    }
    if let Some(workers) = ctx.workers {
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

/// `flask run`'s argv. Reload is always explicit, so a stray `FLASK_RUN_RELOAD` cannot
/// change what the profile says; debug only when liftoff's layers set it, so the app's
/// own `FLASK_DEBUG` (`.flaskenv`) decides otherwise.
fn flask_argv(ctx: &Ctx) -> Result<Vec<String>, String> {
    let s = ctx.s;
    let mut args = Vec::new();
    if let Some(app) = &s.app {
        args.extend(["--app".into(), app.0.clone()]);
    }
    args.extend(s.debug.map(|on| switch(on, "--debug", "--no-debug")));
    args.push("run".into());
    args.extend(host_port(s));
    args.push(switch(s.reload == Some(true), "--reload", "--no-reload"));
    Ok(args)
}

/// uvicorn's argv: the app, the address, the workers (not with reload, which runs one),
/// and the timeouts it has. uvicorn has no graceful limit of its own, so
/// `graceful_timeout` (25 s by default) keeps its drain inside the stop timeout.
fn uvicorn_argv(ctx: &Ctx) -> Result<Vec<String>, String> {
    let s = ctx.s;
    let mut args = asgi_app(s)?;
    args.extend(host_port(s));
    let reload = s.reload == Some(true);
    if let (Some(workers), false) = (ctx.workers, reload) {
        args.extend(["--workers".into(), workers.to_string()]);
    }
    if reload {
        args.push("--reload".into());
    }
    if let Some(graceful) = s.graceful_timeout {
        args.extend(["--timeout-graceful-shutdown".into(), seconds(graceful)]);
    }
    if let Some(keepalive) = s.keepalive {
        args.extend(["--timeout-keep-alive".into(), seconds(keepalive)]);
    }
    args.extend(access_switch(s));
    Ok(args)
}

/// A single uvicorn process re-raises SIGTERM after a clean stop; its `--workers`
/// supervisor and its reloader exit 0.
fn uvicorn_reraises(ctx: &Ctx) -> bool {
    ctx.s.reload != Some(true) && ctx.workers.is_none_or(|n| n <= 1)
}

/// granian's argv: the interface is always passed (granian's default, rsgi, serves
/// neither WSGI nor ASGI apps), reload both ways, and `--workers-kill-timeout` from
/// `graceful_timeout`, since granian has no limit of its own.
fn granian_argv(ctx: &Ctx) -> Result<Vec<String>, String> {
    let s = ctx.s;
    let mut args = asgi_app(s)?;
    let interface = s.interface.unwrap_or(Interface::Asgi);
    args.extend(["--interface".into(), interface.to_string()]);
    args.extend(host_port(s));
    if let Some(workers) = ctx.workers {
        args.extend(["--workers".into(), workers.to_string()]);
    }
    if let (Some(threads), Interface::Wsgi) = (s.threads, interface) {
        args.extend(["--blocking-threads".into(), threads.0.to_string()]);
    }
    args.push(switch(s.reload == Some(true), "--reload", "--no-reload"));
    if let Some(graceful) = s.graceful_timeout {
        args.extend(["--workers-kill-timeout".into(), seconds(graceful)]);
    }
    args.extend(access_switch(s));
    Ok(args)
}

/// `python manage.py runserver HOST:PORT`, `--noreload` when reload is off. Django has no
/// graceful stop here: the development server ends within a second.
fn runserver_argv(ctx: &Ctx) -> Result<Vec<String>, String> {
    let s = ctx.s;
    let mut args = vec!["manage.py".to_string(), "runserver".to_string()];
    if let Some(port) = s.port.and_then(|p| p.number()) {
        args.push(bind(text(&s.host), port));
    }
    if s.reload != Some(true) {
        args.push("--noreload".into());
    }
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
mod tests;
