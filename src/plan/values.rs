//! The value types of configuration keys. Each reads what people write in a file, a
//! variable or a flag (one [`FromValue`] impl per type), and says what it expected when
//! it cannot, in words a user can act on.
//!
//! Values arrive as TOML values: the file's as written, a variable's or a flag's as TOML
//! would read it (`9000` a number, `true` a boolean, anything unparsable a string; see
//! `layers`). So text keys accept numbers, and number keys accept strings of digits.

use std::fmt;
use std::time::Duration;

use toml::Value;

pub use crate::log::{Format as LogFormat, Level as LogLevel};
use crate::signals::{Rewrite, Signal, SignalTarget};

/// A type a key's value can have.
pub trait FromValue: Sized {
    /// What a value must look like, for messages and docs: "a port number from 1 to 65535".
    const EXPECTED: &'static str;

    /// Reads `value`, or says why not (without repeating [`FromValue::EXPECTED`] when
    /// that says it all: `Err(None)`).
    fn from_value(value: &Value) -> Result<Self, Option<String>>;
}

/// One entry of a table key (`env`, `signals`): read on its own, since entries merge
/// from several layers, each with its own source.
pub trait FromEntry: Sized {
    /// What an entry must look like.
    const EXPECTED: &'static str;

    /// Reads the entry `name = value`, or says why not.
    fn from_entry(name: &str, value: &Value) -> Result<Self, String>;
}

/// A table key's entries, in name order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table<E>(pub Vec<E>);

/// A string that also accepts numbers and booleans (`LIFTOFF_APP=123` is the text "123").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl FromValue for Text {
    const EXPECTED: &'static str = "a string";

    fn from_value(value: &Value) -> Result<Text, Option<String>> {
        scalar_text(value).map(Text).ok_or(None)
    }
}

/// The text of a string, number, boolean or date; `None` for arrays and tables.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        Value::Datetime(d) => Some(d.to_string()),
        Value::Array(_) | Value::Table(_) => None,
    }
}

impl FromValue for bool {
    const EXPECTED: &'static str = "true or false";

    fn from_value(value: &Value) -> Result<bool, Option<String>> {
        match value {
            Value::Boolean(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(None),
        }
    }
}

/// A whole number from 1 (threads, workers per core, worker bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u32);

impl FromValue for Count {
    const EXPECTED: &'static str = "a whole number from 1 to 4294967295";

    fn from_value(value: &Value) -> Result<Count, Option<String>> {
        match whole_number(value) {
            Some(n) if n >= 1 => u32::try_from(n).map(Count).map_err(|_| None),
            _ => Err(None),
        }
    }
}

/// An integer, or a string of ASCII digits (no sign, no spaces: `+80` is not a number).
fn whole_number(value: &Value) -> Option<i64> {
    match value {
        Value::Integer(n) => Some(*n),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// A TCP port, 1 to 65535 (0 would bind a random port nobody can find), or `"server"`:
/// liftoff passes no address, and the server's own configuration decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    Number(u16),
    /// The server's own configuration (a `gunicorn.conf.py` `bind`).
    Server,
}

impl Port {
    /// The port, unless the server's configuration decides.
    pub fn number(self) -> Option<u16> {
        match self {
            Port::Number(n) => Some(n),
            Port::Server => None,
        }
    }
}

impl FromValue for Port {
    const EXPECTED: &'static str = "a port number from 1 to 65535, or \"server\"";

    fn from_value(value: &Value) -> Result<Port, Option<String>> {
        if value
            .as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("server"))
        {
            return Ok(Port::Server);
        }
        match whole_number(value).map(u16::try_from) {
            Some(Ok(port)) if port > 0 => Ok(Port::Number(port)),
            _ => Err(None),
        }
    }
}

/// A duration: `"28s"`, `"1m30s"`, `"500ms"`, or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl Dur {
    /// The longest duration liftoff accepts: nothing it waits for needs more than a year,
    /// and `Instant + Duration` must never overflow.
    pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

    /// Parses humantime (`28s`, `1m 30s`) or plain seconds (`28`, `2.5`).
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        let parsed = match s.parse::<f64>() {
            Ok(secs) => Duration::try_from_secs_f64(secs).ok(),
            Err(_) => humantime::parse_duration(s).ok(),
        };
        let d = parsed.ok_or_else(|| {
            format!(
                "`{}` is not a duration (expected e.g. 28s, 1m30s, 500ms, or seconds)",
                s.escape_debug()
            )
        })?;
        if d > Dur::MAX {
            return Err(format!(
                "`{}` is longer than the most liftoff accepts (365d)",
                Dur(d)
            ));
        }
        Ok(Dur(d))
    }
}

impl FromValue for Dur {
    const EXPECTED: &'static str = "a duration such as \"28s\", \"1m30s\" or a number of seconds";

    fn from_value(value: &Value) -> Result<Dur, Option<String>> {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Integer(n) if *n >= 0 => n.to_string(),
            Value::Float(f) if *f >= 0.0 => f.to_string(),
            _ => return Err(None),
        };
        Dur::parse(&text).map_err(Some)
    }
}

impl fmt::Display for Dur {
    /// `28s`, `1m 30s`, `500ms`, and whole days as `365d` (humantime alone would count in
    /// 30.44-day months).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Seconds in a day.
        const DAY: u64 = 86_400;
        let days = self.0.as_secs() / DAY;
        let rest = self.0 - Duration::from_secs(days * DAY);
        match (days, rest.is_zero()) {
            (0, _) => write!(f, "{}", humantime::format_duration(self.0)),
            (days, true) => write!(f, "{days}d"),
            (days, false) => write!(f, "{days}d {}", humantime::format_duration(rest)),
        }
    }
}

/// `workers`: `"auto"` (fit the container), a number, or `"server"` (the server's own
/// configuration decides; liftoff passes none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerCount {
    /// Sized to the container's CPUs and memory.
    Auto,
    Fixed(u32),
    /// Left to the server's own configuration.
    Server,
}

impl FromValue for WorkerCount {
    const EXPECTED: &'static str = "\"auto\", a number of workers from 1, or \"server\"";

    fn from_value(value: &Value) -> Result<WorkerCount, Option<String>> {
        match value {
            Value::String(s) if s.trim().eq_ignore_ascii_case("auto") => Ok(WorkerCount::Auto),
            Value::String(s) if s.trim().eq_ignore_ascii_case("server") => Ok(WorkerCount::Server),
            other => Count::from_value(other).map(|c| WorkerCount::Fixed(c.0)),
        }
    }
}

impl fmt::Display for WorkerCount {
    /// `auto` or the number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerCount::Auto => f.write_str("auto"),
            WorkerCount::Fixed(n) => write!(f, "{n}"),
            WorkerCount::Server => f.write_str("server"),
        }
    }
}

/// A size in bytes: `536870912`, `"512MiB"`, `"1G"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl FromValue for Bytes {
    const EXPECTED: &'static str = "a size such as \"256MiB\", \"1G\" or a number of bytes";

    fn from_value(value: &Value) -> Result<Bytes, Option<String>> {
        let text = scalar_text(value).ok_or(None)?;
        super::workers::parse_bytes(&text).map(Bytes).map_err(Some)
    }
}

/// A list of strings; one string of comma-separated items also counts
/// (`LIFTOFF_WAIT_FOR=tcp://db:5432,tcp://cache:6379`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct List(pub Vec<String>);

impl FromValue for List {
    const EXPECTED: &'static str = "a list of strings, or one string of comma-separated items";

    fn from_value(value: &Value) -> Result<List, Option<String>> {
        match value {
            Value::String(s) => Ok(List(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            )),
            other => Words::from_value(other).map(|w| List(w.0)),
        }
    }
}

/// An argv: a list of words, never split or run by a shell (`command`, `extra_args`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Words(pub Vec<String>);

impl FromValue for Words {
    const EXPECTED: &'static str = "a list of words, e.g. [\"flask\", \"routes\"]";

    fn from_value(value: &Value) -> Result<Words, Option<String>> {
        match value {
            Value::Array(items) => items
                .iter()
                .map(|v| scalar_text(v).ok_or(None))
                .collect::<Result<_, _>>()
                .map(Words),
            _ => Err(None),
        }
    }
}

/// The `before` steps: a list of commands, each a list of words.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Steps(pub Vec<Vec<String>>);

impl FromValue for Steps {
    const EXPECTED: &'static str = "a list of commands, each a list of words, e.g. before = [[\"flask\", \"db\", \"upgrade\"]]";

    fn from_value(value: &Value) -> Result<Steps, Option<String>> {
        let Value::Array(steps) = value else {
            return Err(None);
        };
        steps
            .iter()
            .map(|step| Words::from_value(step).map(|w| w.0).map_err(|_| None))
            .collect::<Result<_, _>>()
            .map(Steps)
    }
}

/// Exit statuses reported as 0: `143`, `[0, 143]` or `"0,143"`, each from 0 to 255.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Codes(pub Vec<i32>);

impl FromValue for Codes {
    const EXPECTED: &'static str =
        "exit statuses from 0 to 255: a number, a list of numbers, or \"0,143\"";

    fn from_value(value: &Value) -> Result<Codes, Option<String>> {
        let items: Vec<Value> = match value {
            Value::Array(items) => items.clone(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
            other => vec![other.clone()],
        };
        items
            .iter()
            .map(|item| match whole_number(item) {
                Some(code @ 0..=255) => Ok(code as i32),
                Some(code) => Err(Some(format!(
                    "{code} is not an exit status; give codes from 0 to 255 (143 is SIGTERM's 128+15)"
                ))),
                None => Err(None),
            })
            .collect::<Result<_, _>>()
            .map(Codes)
    }
}

impl FromValue for SignalTarget {
    const EXPECTED: &'static str = "one of: child, group";

    fn from_value(value: &Value) -> Result<SignalTarget, Option<String>> {
        value.as_str().ok_or(None)?.parse().map_err(|_| None)
    }
}

/// One variable of the `env` table: a portable-enough name and a value without NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub name: String,
    pub value: String,
}

impl FromEntry for Var {
    const EXPECTED: &'static str = "NAME = \"value\" (a string, number or boolean)";

    /// Refuses names that would make another entry (`HOME=/evil`), or none, and values
    /// that cannot be passed to a program. The value is never repeated: it may be a secret.
    fn from_entry(name: &str, value: &Value) -> Result<Var, String> {
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err("a variable name must be non-empty and contain no `=` or NUL byte".into());
        }
        let text = scalar_text(value).ok_or_else(|| format!("expected {}", Var::EXPECTED))?;
        if text.contains('\0') {
            return Err("the value contains a NUL byte, which no program can receive".into());
        }
        Ok(Var {
            name: name.into(),
            value: text,
        })
    }
}

/// One entry of the `signals` table: a received signal and what the child gets instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalRewrite {
    pub from: Signal,
    pub to: Rewrite,
}

impl FromEntry for SignalRewrite {
    const EXPECTED: &'static str = "SIGNAL = \"SIGNAL\" or \"ignore\"";

    fn from_entry(name: &str, value: &Value) -> Result<SignalRewrite, String> {
        let from: Signal = name.parse()?;
        let to = match value {
            Value::Integer(n) => Rewrite::from_raw(*n)?,
            other => scalar_text(other)
                .ok_or_else(|| format!("expected {}", SignalRewrite::EXPECTED))?
                .parse()?,
        };
        crate::signals::check_rewrite(from, to)?;
        Ok(SignalRewrite { from, to })
    }
}

/// Declares a string enum read from its lowercase names, with `Display` (`impl`: for an
/// enum declared elsewhere).
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
        word_enum!(impl $name { $($variant = $text),+ });
    };
    (impl $name:ident { $($variant:ident = $text:literal),+ }) => {
        impl $crate::plan::values::FromValue for $name {
            const EXPECTED: &'static str = concat!("one of: ", join!($($text),+));

            fn from_value(value: &toml::Value) -> Result<$name, Option<String>> {
                let text = value.as_str().map(|s| s.trim().to_ascii_lowercase());
                match text.as_deref() {
                    $(Some($text) => Ok($name::$variant),)+
                    _ => Err(None),
                }
            }
        }

        impl std::fmt::Display for $name {
            /// The name as written in the config file.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(match self { $($name::$variant => $text),+ })
            }
        }
    };
}

/// `"a", "b", "c"` joined with `, ` at compile time.
macro_rules! join {
    ($first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}

word_enum!(
    /// How liftoff runs the program.
    Mode {
        /// Supervise when liftoff is PID 1 or must stay the parent, else exec.
        Auto = "auto",
        /// Replace liftoff with the program.
        Exec = "exec",
        /// Stay as the program's parent.
        Supervise = "supervise",
    }
);

word_enum!(
    /// What a profile runs.
    ServerKind {
        /// gunicorn (the `prod` profile).
        Gunicorn = "gunicorn",
        /// The Flask development server (the `dev` profile).
        Flask = "flask",
        /// uvicorn, for ASGI apps (FastAPI).
        Uvicorn = "uvicorn",
        /// Django: `manage.py runserver` for `dev`, gunicorn (or uvicorn for ASGI) otherwise.
        Django = "django",
        /// granian, for WSGI or ASGI apps.
        Granian = "granian",
        /// Any argv (`command = [...]`).
        Command = "command",
    }
);

word_enum!(
    /// The interface between server and app.
    Interface {
        /// WSGI (Flask, Django's `wsgi.py`).
        Wsgi = "wsgi",
        /// ASGI (FastAPI, Django's `asgi.py`).
        Asgi = "asgi",
    }
);

// liftoff's own log level and format, as the logger declares them.
word_enum!(impl LogLevel {
    Error = "error", Warn = "warn", Info = "info", Debug = "debug", Trace = "trace"
});
word_enum!(impl LogFormat { Text = "text", Json = "json" });

/// A value written as a variable is: TOML's reading when the text is one TOML value
/// (`9000`, `true`, `[0, 143]`, `{ A = "b" }`, `"quoted"`), else the text itself.
pub fn parse_scalar(text: &str) -> Value {
    if !text.contains(['\n', '\r'])
        && let Ok(mut doc) = toml::from_str::<toml::Table>(&format!("v = {text}"))
        && doc.len() == 1
        && let Some(value) = doc.remove("v")
    {
        return value;
    }
    Value::String(text.to_string())
}

/// A value as shown in a message: TOML's inline form, cut to a readable length.
pub fn shown(value: &Value) -> String {
    /// The most characters of a value a message repeats.
    const MAX: usize = 80;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value as a variable gives it: TOML-parsed when it parses, else a string.
    fn v(text: &str) -> Value {
        parse_scalar(text)
    }

    #[test]
    fn durations_parse_from_what_people_write_and_print_back() {
        for (text, ms) in [
            ("28s", 28_000),
            ("1m30s", 90_000),
            ("1m 30s", 90_000),
            ("500ms", 500),
            ("28", 28_000),
            ("2.5", 2_500),
        ] {
            assert_eq!(
                Dur::from_value(&v(text)).unwrap().0,
                Duration::from_millis(ms),
                "{text}"
            );
        }
        for bad in [
            "soon",
            "-1",
            "",
            "10 parsecs",
            "300000000000y",
            "366d",
            "1e30",
            "nan",
            "inf",
        ] {
            assert!(Dur::from_value(&v(bad)).is_err(), "{bad}");
        }
        let err = Dur::from_value(&v("366d")).unwrap_err().unwrap();
        assert!(err.contains("(365d)"), "{err}");
        for (text, shown) in [
            ("28s", "28s"),
            ("1m30s", "1m 30s"),
            ("500ms", "500ms"),
            ("365d", "365d"),
            ("1d 2h", "1d 2h"),
        ] {
            let d = Dur::parse(text).unwrap();
            assert_eq!(d.to_string(), shown);
            assert_eq!(Dur::parse(shown).unwrap(), d, "{shown} parses back");
        }
    }

    #[test]
    fn numbers_take_integers_or_digit_strings_only() {
        assert_eq!(Port::from_value(&v("8000")), Ok(Port::Number(8000)));
        assert_eq!(
            Port::from_value(&Value::String("8000".into())),
            Ok(Port::Number(8000))
        );
        assert_eq!(Port::from_value(&v("server")), Ok(Port::Server));
        for bad in ["0", "65536", "-1", "eighty", "+80", " 80", "80.0"] {
            assert!(
                Port::from_value(&Value::String(bad.into())).is_err(),
                "{bad}"
            );
        }
        assert_eq!(Count::from_value(&v("4")), Ok(Count(4)));
        assert!(
            Count::from_value(&v("0")).is_err(),
            "threads = 0 never reaches a server"
        );
        assert!(Count::from_value(&v("4294967296")).is_err());
    }

    #[test]
    fn worker_counts_are_auto_or_positive() {
        assert_eq!(WorkerCount::from_value(&v("auto")), Ok(WorkerCount::Auto));
        assert_eq!(WorkerCount::from_value(&v("AUTO")), Ok(WorkerCount::Auto));
        assert_eq!(WorkerCount::from_value(&v("5")), Ok(WorkerCount::Fixed(5)));
        assert_eq!(
            WorkerCount::from_value(&v("server")),
            Ok(WorkerCount::Server)
        );
        for bad in ["0", "-2", "lots", "2.5"] {
            assert!(WorkerCount::from_value(&v(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_codes_and_steps_take_what_each_layer_can_write() {
        assert_eq!(
            List::from_value(&v("tcp://db:5432, http://api/health,"))
                .unwrap()
                .0,
            ["tcp://db:5432", "http://api/health"]
        );
        assert_eq!(
            List::from_value(&v("[\"a\", \"b\"]")).unwrap().0,
            ["a", "b"]
        );
        for (text, codes) in [
            ("143", vec![143]),
            ("0,143", vec![0, 143]),
            ("[1]", vec![1]),
            ("[0, 143]", vec![0, 143]),
        ] {
            assert_eq!(Codes::from_value(&v(text)).unwrap().0, codes, "{text}");
        }
        let err = Codes::from_value(&v("256")).unwrap_err().unwrap();
        assert!(err.contains("256 is not an exit status"), "{err}");
        let steps = Steps::from_value(&v(r#"[["flask", "db", "upgrade"], ["true"]]"#)).unwrap();
        assert_eq!(steps.0, [vec!["flask", "db", "upgrade"], vec!["true"]]);
        assert!(Steps::from_value(&v(r#"["flask db upgrade"]"#)).is_err());
        assert!(Steps::from_value(&v("flask db upgrade")).is_err());
        assert!(Steps::EXPECTED.contains("before = [[\"flask\", \"db\", \"upgrade\"]]"));
    }

    #[test]
    fn env_entries_refuse_names_that_would_make_other_entries_and_hide_values() {
        assert_eq!(
            Var::from_entry("Mixed_Case", &Value::String("0123".into()))
                .unwrap()
                .value,
            "0123"
        );
        assert_eq!(Var::from_entry("N", &Value::Integer(5)).unwrap().value, "5");
        for name in ["HOME=/evil", "", "A\0B"] {
            assert!(
                Var::from_entry(name, &Value::String("x".into())).is_err(),
                "{name:?}"
            );
        }
        let err = Var::from_entry("KEY", &Value::String("sk_live\0secret".into())).unwrap_err();
        assert!(err.contains("NUL") && !err.contains("secret"), "{err}");
    }

    #[test]
    fn signal_entries_refuse_what_cannot_be_rewritten() {
        let ok = SignalRewrite::from_entry("QUIT", &Value::String("TERM".into())).unwrap();
        assert_eq!(
            (ok.from, ok.to),
            (Signal::QUIT, Rewrite::Forward(Signal::TERM))
        );
        let ok = SignalRewrite::from_entry("15", &Value::String("ignore".into())).unwrap();
        assert_eq!((ok.from, ok.to), (Signal::TERM, Rewrite::Ignore));
        for (from, to) in [
            ("KILL", "TERM"),
            ("TERM", "KILL"),
            ("TERM", "STOP"),
            ("TERM", "CHLD"),
            ("BOGUS", "TERM"),
            ("HUP", "drop"),
            ("HUP", ""),
        ] {
            assert!(
                SignalRewrite::from_entry(from, &Value::String(to.into())).is_err(),
                "{from} = {to}"
            );
        }
    }

    #[test]
    fn enums_read_their_names_in_any_case() {
        assert_eq!(Mode::from_value(&v("Supervise")), Ok(Mode::Supervise));
        assert!(Mode::from_value(&v("sometimes")).is_err());
        assert_eq!(Mode::EXPECTED, "one of: auto, exec, supervise");
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = Value::String("x".repeat(70_000));
        assert!(shown(&long).len() < 100);
    }
}
