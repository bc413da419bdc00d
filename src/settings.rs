//! The configuration keys and their value types, as read from every layer.
//!
//! Every key is optional here: a missing key means "not set in any layer", and the
//! server-specific built-in default is applied when the plan is resolved. That is on
//! purpose: built-in defaults differ per server (gunicorn binds 0.0.0.0:8000, Flask
//! 127.0.0.1:8080), and as a figment layer they would beat a `[default]` table.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::signals::SignalTarget;

/// Every key a profile table, a `LIFTOFF_*` variable or a flag can set.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// auto, exec or supervise.
    pub mode: Option<Mode>,
    /// Working directory of the program.
    pub chdir: Option<Text>,
    /// Variables set for the program.
    pub env: Option<BTreeMap<String, Text>>,
    /// Time from the stop signal to SIGKILL.
    pub stop_timeout: Option<Dur>,
    /// child or group.
    pub signal_target: Option<SignalTarget>,
    /// Signal rewrites, e.g. `{ QUIT = "TERM", HUP = "ignore" }`.
    pub signals: Option<BTreeMap<String, Text>>,
    /// Exit codes reported as 0.
    pub success_codes: Option<Codes>,
    /// On the first shutdown signal, keep serving this long before forwarding it.
    pub drain_delay: Option<Dur>,
    /// Dependencies to wait for before starting: `tcp://host:port`, `http://host/path`.
    pub wait_for: Option<List>,
    /// How long to wait for them.
    pub wait_timeout: Option<Dur>,
    /// Programs run in order before the server, each an argv.
    pub before: Option<Steps>,
    /// Who the server runs as when liftoff starts as root: `user[:group]`, names or ids.
    pub user: Option<Text>,
    /// A `KEY=VALUE` file merged into the server's environment below `env`.
    pub env_file: Option<Text>,
    /// liftoff's own log level.
    pub log_level: Option<LogLevel>,
    /// liftoff's own log format.
    pub log_format: Option<LogFormat>,
    /// gunicorn, flask or command.
    pub server: Option<ServerKind>,
    /// The executable (default: gunicorn, flask, or `command[0]`).
    pub program: Option<Text>,
    /// The argv of a `server = "command"` profile.
    pub command: Option<Vec<Text>>,
    /// Arguments appended to the server's argv.
    pub extra_args: Option<Vec<Text>>,
    /// The application, e.g. `app:create_app()`.
    pub app: Option<Text>,
    /// Address to bind.
    pub host: Option<Text>,
    /// Port to bind.
    pub port: Option<Port>,
    /// `auto` or a number of gunicorn workers.
    pub workers: Option<WorkerCount>,
    /// Workers per CPU for `workers = "auto"`.
    pub workers_per_core: Option<u32>,
    /// Lower bound for `workers = "auto"`.
    pub min_workers: Option<u32>,
    /// Upper bound for `workers = "auto"`.
    pub max_workers: Option<u32>,
    /// Memory one worker needs; caps auto workers by the memory limit.
    pub worker_memory: Option<Bytes>,
    /// Threads per gunicorn worker.
    pub threads: Option<u32>,
    /// gunicorn's worker class.
    pub worker_class: Option<Text>,
    /// gunicorn's worker timeout.
    pub timeout: Option<Dur>,
    /// gunicorn's graceful timeout.
    pub graceful_timeout: Option<Dur>,
    /// gunicorn's keep-alive.
    pub keepalive: Option<Dur>,
    /// gunicorn's worker heartbeat directory.
    pub worker_tmp_dir: Option<Text>,
    /// A gunicorn config file, passed as `-c`.
    pub gunicorn_config: Option<Text>,
    /// gunicorn's access log (`-` for stdout).
    pub access_log: Option<Text>,
    /// Flask: reload on code changes.
    pub reload: Option<bool>,
    /// Flask: debug mode.
    pub debug: Option<bool>,
}

/// The names of every key, for unknown-key checks and suggestions, in the struct's
/// order: the keys before the gunicorn-only ones, those, and the last ones.
pub const KEYS: &[&str] =
    &concat::<{ FIRST_KEYS.len() + GUNICORN_KEYS.len() + LAST_KEYS.len() }>([
        FIRST_KEYS,
        GUNICORN_KEYS,
        LAST_KEYS,
    ]);

/// The keys before the gunicorn-only ones.
const FIRST_KEYS: &[&str] = &[
    "mode",
    "chdir",
    "env",
    "stop_timeout",
    "signal_target",
    "signals",
    "success_codes",
    "drain_delay",
    "wait_for",
    "wait_timeout",
    "before",
    "user",
    "env_file",
    "log_level",
    "log_format",
    "server",
    "program",
    "command",
    "extra_args",
    "app",
    "host",
    "port",
];

/// Keys that only gunicorn profiles use (`config` shows them for gunicorn only).
pub const GUNICORN_KEYS: &[&str] = &[
    "workers",
    "workers_per_core",
    "min_workers",
    "max_workers",
    "worker_memory",
    "threads",
    "worker_class",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "worker_tmp_dir",
    "gunicorn_config",
    "access_log",
];

/// The keys after the gunicorn-only ones.
const LAST_KEYS: &[&str] = &["reload", "debug"];

/// `parts` one after the other, at compile time (`N` must be their total length).
const fn concat<const N: usize>(parts: [&[&'static str]; 3]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut at, mut part) = (0, 0);
    while part < parts.len() {
        let mut i = 0;
        while i < parts[part].len() {
            out[at] = parts[part][i];
            (at, i) = (at + 1, i + 1);
        }
        part += 1;
    }
    out
}

/// Whether `key` means anything to `server` (`config` shows only those; a flag that does
/// not is warned about).
pub fn applies(key: &str, server: ServerKind) -> bool {
    /// Keys that only the Flask dev server uses.
    const FLASK: &[&str] = &["debug"];
    match key {
        "app" | "host" | "port" | "reload" => server != ServerKind::Command,
        "command" => server == ServerKind::Command,
        k if GUNICORN_KEYS.contains(&k) => server == ServerKind::Gunicorn,
        k if FLASK.contains(&k) => server == ServerKind::Flask,
        _ => true,
    }
}

/// Keys whose value is a table with free-form keys (variable or signal names).
pub const TABLE_KEYS: &[&str] = &["env", "signals"];

/// Declares a lowercase string enum with `Display` and its accepted names.
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vmeta])* $variant),* }

        impl fmt::Display for $name {
            /// Prints the name as written in the config file.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($name::$variant => $text),* })
            }
        }
    };
}

word_enum!(
    /// How liftoff runs the program.
    Mode {
        /// Supervise when liftoff is PID 1, else exec.
        Auto = "auto",
        /// Replace liftoff with the program.
        Exec = "exec",
        /// Stay as the program's parent.
        Supervise = "supervise",
    }
);

word_enum!(
    /// Which kind of server a profile runs.
    ServerKind {
        /// gunicorn (the `prod` profile).
        Gunicorn = "gunicorn",
        /// The Flask development server (the `dev` profile).
        Flask = "flask",
        /// Any argv (`command = [...]`).
        Command = "command",
    }
);

word_enum!(
    /// liftoff's own log level.
    LogLevel {
        /// Errors only.
        Error = "error",
        /// Warnings and errors.
        Warn = "warn",
        /// The start line, warnings and errors.
        Info = "info",
        /// Every signal and reaped process.
        Debug = "debug",
        /// Everything.
        Trace = "trace",
    }
);

word_enum!(
    /// liftoff's own log format.
    LogFormat {
        /// One readable line per event.
        Text = "text",
        /// One JSON object per event.
        Json = "json",
    }
);

mod values;
pub use values::*;

#[cfg(test)]
mod tests;
