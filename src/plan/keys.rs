//! The configuration keys: one row per key, and everything else is read from it.
//!
//! A row gives the key's name and type, its flag (if any), its default, the servers it
//! means something to, where it may be set, and one line of help. From the rows come the
//! [`Settings`] struct, the unknown-key checks and suggestions, the `LIFTOFF_*` variable
//! names, the command-line flags and their `--help`, `config --explain`, and the docs
//! test. **To add a key**: add a row here and use `settings.<key>` where it matters.
//!
//! Defaults that depend on the server (`Default::Server`) are in the server table
//! (`servers.rs`), one row per server kind.

use self::Applies::{Any, Only, Servers};
use self::Default::{Is, Server, Unset};
use self::From::{Anywhere, ProfileTable};
use super::values::ServerKind;
use super::values::{
    Bytes, Codes, Count, Dur, FromValue, Interface, List, LogFormat, LogLevel, Mode, Port,
    SignalRewrite, Steps, Table, Text, Var, Words, WorkerCount,
};
use crate::signals::SignalTarget;

/// One configuration key.
#[derive(Debug)]
pub struct Key {
    /// The name, as written in the file (`stop_timeout`).
    pub name: &'static str,
    pub expected: &'static str,
    pub flag: Option<Flag>,
    pub default: Default,
    pub applies: Applies,
    pub from: From,
    /// One line of help (also the flag's `--help`).
    pub help: &'static str,
    /// The platform's own variable that sets it below `LIFTOFF_*` (`PORT`).
    pub platform: Option<&'static str>,
}

/// A key's command-line flag.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The long name without dashes: `stop-timeout`.
    pub long: &'static str,
    /// The value's name in `--help`: `DUR`; for a switch, the help of `--no-LONG`.
    pub value: &'static str,
    pub scope: Scope,
    pub form: Form,
}

/// Where a flag is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Before or after any command.
    Global,
    /// After `prod` and `dev` only.
    Server,
}

/// How a flag gives its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One value; given twice, the later wins.
    One,
    /// Repeatable (and comma-separated when `comma`), the values add up.
    Many {
        /// Whether one value may hold several, comma-separated.
        comma: bool,
    },
    /// Repeatable `FROM=TO` entries of a table key.
    Entries,
    /// A command line split into words as a shell would (never run by one); repeatable.
    Command,
    /// `--NAME` and `--no-NAME`; the last one given wins.
    Switch,
}

/// A key's value when no layer sets it.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// No value; the text says what that means ("unset: no env file").
    Unset(&'static str),
    /// This value for every server, written as a variable would be (`"30s"`, `"auto"`).
    Is(&'static str),
    /// Per server: the server table's row gives it.
    Server,
}

/// The servers a key means something to.
#[derive(Debug, Clone, Copy)]
pub enum Applies {
    /// Every profile and program.
    Any,
    /// Every server but `command` (and programs).
    Servers,
    Only(&'static [ServerKind]),
}

/// Where a key may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    Anywhere,
    /// Only a profile table of the file: it chooses what runs, and only the command
    /// chooses that.
    ProfileTable,
}

impl Key {
    /// Whether the key means something to `server`.
    pub fn applies_to(&self, server: ServerKind) -> bool {
        match self.applies {
            Applies::Any => true,
            Applies::Servers => server != ServerKind::Command,
            Applies::Only(kinds) => kinds.contains(&server),
        }
    }

    /// The `LIFTOFF_*` variable that sets it, when the environment may.
    pub fn variable(&self) -> Option<String> {
        (self.from == From::Anywhere).then(|| format!("LIFTOFF_{}", self.name.to_ascii_uppercase()))
    }

    /// Whether its value is a table whose entries merge one by one (`env`, `signals`).
    pub fn is_table(&self) -> bool {
        matches!(self.name, "env" | "signals")
    }
}

/// The values a command line gave configuration keys, in table order.
#[derive(Debug, Default, Clone)]
pub struct KeyValues(pub Vec<(&'static Key, Raw)>);

/// One key's value(s) as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    One(String),
    Many(Vec<String>),
    /// `--NAME` (true) or `--no-NAME` (false), the last one given.
    Switch(bool),
}

impl KeyValues {
    /// Lays `later` over `self`: one-value flags and switches are replaced, repeatable
    /// ones extended.
    pub fn overlay(&mut self, later: KeyValues) {
        for (key, raw) in later.0 {
            match (self.0.iter_mut().find(|(k, _)| k.name == key.name), raw) {
                (Some((_, Raw::Many(old))), Raw::Many(new)) => old.extend(new),
                (Some((_, old)), raw) => *old = raw,
                (None, raw) => self.0.push((key, raw)),
            }
        }
    }
}

/// The key called `name`.
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Every key's name, in table order.
pub fn names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

/// What [`Settings::read`] reads from: each key's merged value, read into the key's type,
/// with what is wrong recorded on the side (the layers implement it).
pub trait Values {
    /// A whole-value key.
    fn value<T: FromValue>(&mut self, key: &'static str) -> Option<T>;
    /// A table key, entry by entry.
    fn table<E: super::values::FromEntry>(&mut self, key: &'static str) -> Option<Vec<E>>;
}

/// Reads one key's value into its type: a table key entry by entry.
pub trait ReadKey: Sized {
    /// What the key's values must look like.
    const EXPECTED: &'static str;
    /// The key's value, or `None` when unset or bad.
    fn read(from: &mut impl Values, key: &'static str) -> Option<Self>;
}

impl<T: FromValue> ReadKey for T {
    const EXPECTED: &'static str = T::EXPECTED;

    fn read(from: &mut impl Values, key: &'static str) -> Option<T> {
        from.value(key)
    }
}

impl<E: super::values::FromEntry> ReadKey for Table<E> {
    const EXPECTED: &'static str = E::EXPECTED;

    fn read(from: &mut impl Values, key: &'static str) -> Option<Table<E>> {
        from.table(key).map(Table)
    }
}

/// Declares the keys: the [`Settings`] struct, [`KEYS`] and [`Settings::read`], from one
/// row per key.
macro_rules! keys {
    ($(
        $name:ident: $ty:ty {
            $(flag: $flag:expr,)? default: $default:expr, $(applies: $applies:expr,)?
            $(from: $from:expr,)? $(platform: $platform:literal,)? help: $help:literal }
    )*) => {
        /// Every key's value, read from the layers: `None` when no layer sets it and it
        /// has no default for the server.
        #[derive(Debug, Clone, Default)]
        #[allow(dead_code, reason = "every key is a field; `server` is read before the rest, from the layers")]
        pub struct Settings {
            $(
                #[doc = $help]
                pub $name: Option<$ty>,
            )*
        }

        /// The keys, in the order `--help`, `config` and the docs list them.
        pub static KEYS: &[Key] = &[$(
            Key {
                name: stringify!($name),
                expected: <$ty as ReadKey>::EXPECTED,
                flag: keys!(@or None $(, Some($flag))?),
                default: $default,
                applies: keys!(@or Any $(, $applies)?),
                from: keys!(@or Anywhere $(, $from)?),
                help: $help,
                platform: keys!(@or None $(, Some($platform))?),
            },
        )*];

        impl Settings {
            /// Reads every key, so that every problem is found (not only the first).
            pub fn read(from: &mut impl Values) -> Settings {
                Settings {
                    $($name: <$ty as ReadKey>::read(from, stringify!($name)),)*
                }
            }
        }
    };
    (@or $default:expr) => { $default };
    (@or $default:expr, $value:expr) => { $value };
}

/// A global flag with one value.
const fn global(long: &'static str, value: &'static str) -> Flag {
    Flag {
        long,
        value,
        scope: Scope::Global,
        form: Form::One,
    }
}

impl Flag {
    /// The flag with another form.
    const fn with(mut self, form: Form) -> Flag {
        self.form = form;
        self
    }
}

/// A flag of `prod` and `dev` with one value.
const fn server(long: &'static str, value: &'static str) -> Flag {
    Flag {
        scope: Scope::Server,
        ..global(long, value)
    }
}

/// The servers liftoff sizes workers for (passed as `--workers`, or read by the program
/// from `WEB_CONCURRENCY`).
const SIZED: Applies = Applies::Only(&[
    ServerKind::Gunicorn,
    ServerKind::Uvicorn,
    ServerKind::Granian,
    ServerKind::Django,
    ServerKind::Command,
]);
/// gunicorn, and Django (served by gunicorn in production).
const GUNICORN: Applies = Applies::Only(&[ServerKind::Gunicorn, ServerKind::Django]);
/// The production servers with a graceful stop limit.
const GRACEFUL: Applies = Applies::Only(&[
    ServerKind::Gunicorn,
    ServerKind::Uvicorn,
    ServerKind::Granian,
    ServerKind::Django,
]);

/// The default of a key the server decides when unset.
const OWN: Default = Unset("unset: the server's own default applies");

keys! {
    mode: Mode { flag: global("mode", "MODE"), default: Is("auto"),
        help: "exec: become the program; supervise: stay as its parent; auto: supervise when PID 1 or when drain_delay or success_codes need a parent" }
    chdir: Text { flag: global("chdir", "DIR"), default: Unset("unset: the current directory"),
        help: "Working directory of the program" }
    env: Table<Var> { default: Is("{}"),
        help: "Variables set for the program, over everything else" }
    stop_timeout: Dur { flag: global("stop-timeout", "DUR"), default: Server,
        help: "Time between the stop signal and SIGKILL (e.g. 28s, 1m30s)" }
    signal_target: SignalTarget { flag: global("signal-target", "TARGET"), default: Server,
        help: "Where forwarded signals go: the child alone, or its process group" }
    signals: Table<SignalRewrite> { flag: global("signal-map", "FROM=TO").with(Form::Entries),
        default: Server,
        help: "Rewrite a forwarded signal, e.g. QUIT=TERM or HUP=ignore (repeatable)" }
    success_codes: Codes { flag: global("success-code", "N").with(Form::Many { comma: false }),
        default: Is("[]"),
        help: "An exit code to report as 0 (repeatable)" }
    drain_delay: Dur { flag: global("drain-delay", "DUR"), default: Is("0s"),
        help: "Keep serving this long after the first stop signal before passing it on (e.g. 5s)" }
    wait_for: List { flag: global("wait-for", "URL").with(Form::Many { comma: true }),
        default: Is("[]"),
        help: "Wait until this answers before starting: tcp://host:port or http://host:port/path (repeatable, or comma-separated as in LIFTOFF_WAIT_FOR)" }
    wait_timeout: Dur { flag: global("wait-timeout", "DUR"), default: Is("30s"),
        help: "How long to wait for the --wait-for dependencies (default 30s)" }
    before: Steps { flag: global("before", "COMMAND").with(Form::Command), default: Is("[]"),
        help: "Run this command before the server, e.g. 'flask db upgrade' (split into words, never run by a shell; repeatable)" }
    user: Text { flag: global("user", "USER[:GROUP]"),
        default: Unset("unset: the program runs as liftoff's own user"),
        help: "Run the program as this user when liftoff starts as root: NAME, UID, NAME:GROUP or UID:GID" }
    env_file: Text { flag: global("env-file", "FILE"), default: Unset("unset: no env file"),
        help: "KEY=VALUE lines for the program's environment (below env and the process's own)" }
    log_level: LogLevel { flag: global("log-level", "LEVEL"), default: Is("info"),
        help: "liftoff's own log level: error, warn, info, debug, trace" }
    log_format: LogFormat { flag: global("log-format", "FORMAT"), default: Is("text"),
        help: "liftoff's own log format: text or json" }
    server: ServerKind { default: Server, from: ProfileTable,
        help: "What the profile runs: gunicorn, flask, uvicorn, django, granian or command" }
    program: Text { default: Server, from: ProfileTable,
        help: "The executable, looked up on the program's PATH" }
    command: Words { default: Unset("unset: the profile runs a server"),
        applies: Only(&[ServerKind::Command]), from: ProfileTable,
        help: "The argv of a command profile, run verbatim" }
    extra_args: Words { default: Is("[]"),
        help: "Arguments appended to the server's argv, before -- EXTRA" }
    host: Text { flag: server("host", "HOST"), default: Server, applies: Servers,
        help: "Address to bind" }
    port: Port { flag: server("port", "PORT"), default: Server, applies: Servers, platform: "PORT",
        help: "Port to bind (1-65535)" }
    app: Text { flag: server("app", "APP"),
        default: Unset("unset: Flask finds FLASK_APP, app.py or wsgi.py"), applies: Servers,
        help: "The application, e.g. 'app:create_app()'" }
    workers: WorkerCount { flag: server("workers", "N|auto"), default: Is("auto"), applies: SIZED,
        platform: "WEB_CONCURRENCY",
        help: "Number of workers, auto (fit the container's CPUs) or server (the server's own config)" }
    workers_per_core: Count { default: Is("2"), applies: SIZED,
        help: "Workers per CPU for workers = \"auto\"" }
    min_workers: Count { default: Is("1"), applies: SIZED,
        help: "Lower bound for workers = \"auto\"" }
    max_workers: Count { default: Is("12"), applies: SIZED,
        help: "Upper bound for workers = \"auto\"" }
    worker_memory: Bytes { default: Unset("unset: no memory cap on the worker count"), applies: SIZED,
        help: "Memory one worker needs; caps workers = \"auto\" by the memory limit" }
    threads: Count { flag: server("threads", "N"), default: OWN,
        applies: Only(&[ServerKind::Gunicorn, ServerKind::Django, ServerKind::Granian]),
        help: "Threads per worker (gunicorn; granian's WSGI blocking threads)" }
    worker_class: Text { default: OWN, applies: GUNICORN,
        help: "gunicorn's worker class, e.g. gthread" }
    timeout: Dur { default: OWN, applies: GUNICORN,
        help: "A worker silent this long is killed" }
    graceful_timeout: Dur { default: Server, applies: GRACEFUL,
        help: "Time workers get to finish their requests after a stop signal" }
    keepalive: Dur { default: OWN,
        applies: Only(&[ServerKind::Gunicorn, ServerKind::Uvicorn, ServerKind::Django]),
        help: "How long an idle keep-alive connection stays open" }
    worker_tmp_dir: Text { default: Unset("unset: /dev/shm when it exists"), applies: GUNICORN,
        help: "Directory for gunicorn's worker heartbeats" }
    gunicorn_config: Text {
        default: Unset("unset: no -c (gunicorn still reads ./gunicorn.conf.py if present)"),
        applies: GUNICORN,
        help: "A gunicorn config file, passed as -c" }
    access_log: Text { default: OWN, applies: GRACEFUL,
        help: "Access lines: a file or \"-\" for stdout (gunicorn); \"on\" or \"off\" (uvicorn, granian)" }
    reload: bool { flag: server("reload", "Do not reload on code changes").with(Form::Switch),
        default: Server, applies: Servers,
        help: "Reload on code changes" }
    debug: bool { flag: server("debug", "No debug mode").with(Form::Switch),
        default: Unset("unset: the app's own setting (FLASK_DEBUG, .flaskenv)"),
        applies: Only(&[ServerKind::Flask]),
        help: "Debug mode (Flask's debugger; never on a public address)" }
    interface: Interface { default: Server,
        applies: Only(&[ServerKind::Granian, ServerKind::Django]),
        help: "wsgi or asgi: how granian calls the app; asgi runs a Django profile under uvicorn" }
    health_path: Text { default: Is("/health"), applies: Servers,
        help: "The path `liftoff health` probes on the server's port" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = std::collections::BTreeSet::new();
        for key in KEYS {
            assert!(seen.insert(key.name), "{} twice", key.name);
            assert!(
                key.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{}",
                key.name
            );
        }
    }

    #[test]
    fn flags_are_unique_and_help_is_one_line() {
        let mut seen = std::collections::BTreeSet::new();
        for key in KEYS {
            assert!(
                !key.help.contains('\n') && !key.help.is_empty(),
                "{}",
                key.name
            );
            if let Some(flag) = key.flag {
                assert!(seen.insert(flag.long), "--{} twice", flag.long);
            }
        }
    }

    #[test]
    fn only_what_chooses_what_runs_stays_out_of_the_environment() {
        let profile_only: Vec<&str> = KEYS
            .iter()
            .filter(|k| k.from == From::ProfileTable)
            .map(|k| k.name)
            .collect();
        assert_eq!(profile_only, ["server", "program", "command"]);
        assert_eq!(
            find("stop_timeout").unwrap().variable().as_deref(),
            Some("LIFTOFF_STOP_TIMEOUT")
        );
        assert_eq!(find("server").unwrap().variable(), None);
    }
}
