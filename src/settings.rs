//! The configuration keys and their value types, as read from every layer.
//!
//! Every key is optional here: a missing key means "not set in any layer", and the
//! server-specific built-in default is applied when the plan is resolved. That is on
//! purpose: built-in defaults differ per server (gunicorn binds 0.0.0.0:8000, Flask
//! 127.0.0.1:8080), and as a figment layer they would beat a `[default]` table.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

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
    pub success_codes: Option<Vec<i32>>,
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
    pub port: Option<u16>,
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

/// The names of every key, for unknown-key checks and suggestions.
pub const KEYS: &[&str] = &[
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
    "reload",
    "debug",
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

/// A string that also accepts numbers and booleans.
///
/// Environment variables are parsed TOML-style (`LIFTOFF_APP=123` arrives as a number),
/// so string keys must accept scalars and keep their text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    /// Accepts a string, an integer, a float or a boolean.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of strings that also accepts one string of comma-separated items, so that
/// `LIFTOFF_WAIT_FOR=tcp://db:5432,tcp://cache:6379` works as well as a TOML array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct List(pub Vec<String>);

impl<'de> Deserialize<'de> for List {
    /// Accepts an array of strings or one string of comma-separated items.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings, or one string of comma-separated items")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<List, E> {
                Ok(List(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect(),
                ))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut items = Vec::new();
                while let Some(Text(item)) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List(items))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `before` steps: a list of commands, each a list of words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Steps(pub Vec<Step>);

impl<'de> Deserialize<'de> for Steps {
    /// Accepts an array of steps; anything else gets a message showing the form.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Steps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(STEP_FORM)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Steps, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element()? {
                    steps.push(step);
                }
                Ok(Steps(steps))
            }
        }
        d.deserialize_seq(V)
    }
}

/// How `before` is written, for messages.
const STEP_FORM: &str =
    "a list of commands, each a list of words, e.g. before = [[\"flask\", \"db\", \"upgrade\"]]";

/// One `before` step: a program and its arguments, never a shell line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Step(pub Vec<String>);

impl<'de> Deserialize<'de> for Step {
    /// Accepts an array of words; a string gets a message showing the array form.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Step;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(STEP_FORM)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Step, A::Error> {
                let mut words = Vec::new();
                while let Some(Text(word)) = seq.next_element()? {
                    words.push(word);
                }
                Ok(Step(words))
            }
        }
        d.deserialize_seq(V)
    }
}

/// A duration: `"28s"`, `"1m30s"`, `"500ms"`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    /// Parses the string forms: humantime (`28s`, `1m 30s`) or plain seconds (`28`, `2.5`).
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<f64>() {
            return Dur::from_secs(secs);
        }
        humantime::parse_duration(s)
            .map(Dur)
            .map_err(|_| format!("`{s}` is not a duration (expected e.g. 28s, 1m30s, 500ms)"))
    }

    /// A number of seconds; negative and non-finite values are refused.
    fn from_secs(secs: f64) -> Result<Dur, String> {
        Duration::try_from_secs_f64(secs).map(Dur).map_err(|_| {
            format!("`{secs}` is not a duration (expected a positive number of seconds)")
        })
    }
}

/// The text of an optional string key, or `default`.
pub fn text_or(value: &Option<Text>, default: &str) -> String {
    value
        .as_ref()
        .map_or_else(|| default.to_string(), |t| t.0.clone())
}

impl fmt::Display for Dur {
    /// Prints `28s`, `1m 30s`, `500ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl Serialize for Dur {
    /// Serializes as the display string.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    /// Accepts `"28s"`-style strings and numbers of seconds.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"28s\", \"1m30s\" or a number of seconds")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                Dur::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|v| Dur(Duration::from_secs(v)))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Dur::from_secs(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `workers`: `"auto"` or a positive number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCount {
    /// Fit the container's CPUs (and memory).
    Auto,
    /// Exactly this many.
    Fixed(u32),
}

impl WorkerCount {
    /// Parses `auto` or a positive number.
    pub fn parse(s: &str) -> Result<WorkerCount, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(WorkerCount::Auto);
        }
        match s.parse::<u32>() {
            Ok(n) if n > 0 => Ok(WorkerCount::Fixed(n)),
            _ => Err(format!(
                "`{s}` is not a worker count (expected \"auto\" or a number from 1)"
            )),
        }
    }
}

impl fmt::Display for WorkerCount {
    /// Prints `auto` or the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerCount::Auto => f.write_str("auto"),
            WorkerCount::Fixed(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for WorkerCount {
    /// Accepts `"auto"`, a positive integer, or a string of one.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = WorkerCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"auto\" or a number of workers from 1")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WorkerCount, E> {
                WorkerCount::parse(v).map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WorkerCount, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(WorkerCount::Fixed(n)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WorkerCount, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: `536870912`, `"512MiB"`, `"1G"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl<'de> Deserialize<'de> for Bytes {
    /// Accepts a number of bytes or a string with a unit.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"256MiB\", \"1G\" or a number of bytes")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bytes, E> {
                crate::workers::parse_bytes(v).map(Bytes).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bytes, E> {
                u64::try_from(v)
                    .map(Bytes)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_from_what_people_write() {
        let ok = [
            ("28s", 28_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("500ms", 500),
            ("28", 28_000),
            ("2.5", 2_500),
        ];
        for (text, ms) in ok {
            assert_eq!(
                Dur::parse(text).unwrap().0,
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in ["soon", "-1", "", "10 parsecs"] {
            let err = Dur::parse(bad).unwrap_err();
            assert!(err.contains("not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn worker_counts_are_auto_or_positive() {
        assert_eq!(WorkerCount::parse("auto"), Ok(WorkerCount::Auto));
        assert_eq!(WorkerCount::parse("AUTO"), Ok(WorkerCount::Auto));
        assert_eq!(WorkerCount::parse("5"), Ok(WorkerCount::Fixed(5)));
        for bad in ["0", "-2", "lots", "2.5"] {
            assert!(WorkerCount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_take_arrays_or_comma_separated_strings_and_steps_take_arrays() {
        let settings: Settings = toml::from_str(
            "wait_for = \"tcp://db:5432, http://api/health,\"\nbefore = [[\"flask\", \"db\", \"upgrade\"], [\"true\"]]",
        )
        .unwrap();
        assert_eq!(
            settings.wait_for,
            Some(List(vec![
                "tcp://db:5432".into(),
                "http://api/health".into()
            ]))
        );
        let before: Vec<Vec<String>> = settings
            .before
            .unwrap()
            .0
            .into_iter()
            .map(|s| s.0)
            .collect();
        assert_eq!(before, [vec!["flask", "db", "upgrade"], vec!["true"]]);
        let settings: Settings =
            toml::from_str("wait_for = [\"tcp://a:1\", \"tcp://b:2\"]").unwrap();
        assert_eq!(settings.wait_for.unwrap().0, ["tcp://a:1", "tcp://b:2"]);
        let err = toml::from_str::<Settings>("before = [\"flask db upgrade\"]")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("before = [[\"flask\", \"db\", \"upgrade\"]]"),
            "{err}"
        );
        let err = toml::from_str::<Settings>("before = \"flask db upgrade\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a list of commands, each a list of words"),
            "{err}"
        );
    }

    #[test]
    fn key_groups_name_real_keys() {
        for key in GUNICORN_KEYS.iter().chain(TABLE_KEYS) {
            assert!(KEYS.contains(key), "{key} is not a key");
        }
    }

    #[test]
    fn keys_list_matches_the_struct() {
        // serde names every field of the struct when it meets an unknown one.
        let table: toml::Table = toml::from_str("no_such_key = 1").unwrap();
        let err = toml::Value::Table(table)
            .try_into::<Settings>()
            .unwrap_err()
            .to_string();
        let fields: Vec<&str> = err.split('`').skip(3).step_by(2).collect();
        assert_eq!(fields, KEYS, "{err}");
    }
}
