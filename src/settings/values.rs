//! The value types of configuration keys: each accepts what people write in a file, a
//! variable or a flag, and says what it expected when it cannot.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

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

/// Exit codes: a list, one number, or one string of comma-separated numbers (so that
/// `LIFTOFF_SUCCESS_CODES=143` and `=0,143` work like `[0, 143]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Codes(pub Vec<i32>);

impl<'de> Deserialize<'de> for Codes {
    /// Accepts `143`, `[0, 143]` or `"0,143"`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Codes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("exit codes: a number, a list of numbers, or \"0,143\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Codes, E> {
                i32::try_from(v)
                    .map(|v| Codes(vec![v]))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Codes, E> {
                i32::try_from(v)
                    .map(|v| Codes(vec![v]))
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Codes, E> {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<i32>()
                            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                    })
                    .collect::<Result<Vec<_>, E>>()
                    .map(Codes)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Codes, A::Error> {
                let mut codes = Vec::new();
                while let Some(code) = seq.next_element::<i32>()? {
                    codes.push(code);
                }
                Ok(Codes(codes))
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
    /// The longest duration liftoff accepts. Deadlines are `Instant + Duration`, which
    /// panics on overflow; nothing liftoff waits for needs more than a year.
    pub const MAX: Duration = Duration::from_secs(365 * 24 * 3600);

    /// Parses the string forms: humantime (`28s`, `1m 30s`) or plain seconds (`28`, `2.5`).
    pub fn parse(s: &str) -> Result<Dur, String> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<f64>() {
            return Dur::from_secs(secs);
        }
        humantime::parse_duration(s)
            .map_err(|_| format!("`{s}` is not a duration (expected e.g. 28s, 1m30s, 500ms)"))
            .and_then(Dur::checked)
    }

    /// A number of seconds; negative and non-finite values are refused.
    fn from_secs(secs: f64) -> Result<Dur, String> {
        Duration::try_from_secs_f64(secs)
            .map_err(|_| {
                format!("`{secs}` is not a duration (expected a positive number of seconds)")
            })
            .and_then(Dur::checked)
    }

    /// Refuses durations above [`Dur::MAX`].
    fn checked(d: Duration) -> Result<Dur, String> {
        if d > Dur::MAX {
            return Err(format!(
                "`{}` is longer than the most liftoff accepts (365 days)",
                humantime::format_duration(d)
            ));
        }
        Ok(Dur(d))
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
                Dur::checked(Duration::from_secs(v)).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Dur::from_secs(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A TCP port, 1 to 65535 (0 would bind a random port nobody can find).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    /// Accepts a number from 1 to 65535, or a string of one.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number from 1 to 65535")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                match u16::try_from(v) {
                    Ok(port) if port > 0 => Ok(Port(port)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                match v.trim().parse::<u64>() {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
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
