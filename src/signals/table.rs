//! Rewrite tables: what liftoff does with each signal it receives, per server, and
//! where it sends the result (the main child or its process group).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use super::Signal;

/// What to do with one received signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Send this signal to the target (the same one, or another).
    Forward(Signal),
    /// Drop it: the child never sees it.
    Ignore,
}

impl FromStr for Rewrite {
    type Err = String;

    /// Parses `ignore` or anything [`Signal::from_str`] accepts.
    fn from_str(text: &str) -> Result<Rewrite, String> {
        if text.trim().eq_ignore_ascii_case("ignore") {
            return Ok(Rewrite::Ignore);
        }
        text.parse()
            .map(Rewrite::Forward)
            .map_err(|err| format!("{err}, or \"ignore\""))
    }
}

impl fmt::Display for Rewrite {
    /// Prints `ignore` or the signal's name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::Forward(signal) => signal.fmt(f),
            Rewrite::Ignore => f.write_str("ignore"),
        }
    }
}

impl Serialize for Rewrite {
    /// Serializes as the text [`Display`](fmt::Display) prints.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rewrite {
    /// Accepts `"ignore"`, a signal name or a signal number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Rewrite, D::Error> {
        /// Either spelling a config file can hold.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text.parse().map_err(de::Error::custom),
            Raw::Number(raw) => i32::try_from(raw)
                .ok()
                .and_then(Signal::from_raw)
                .map(Rewrite::Forward)
                .ok_or_else(|| de::Error::custom(format!("unknown signal {raw}"))),
        }
    }
}

/// The rewrites for one server: received signal → what the child gets. Signals not
/// listed are forwarded unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalTable {
    rewrites: BTreeMap<Signal, Rewrite>,
    resend_stop_after: Option<Duration>,
}

/// How long after the first stop signal gunicorn gets the same signal once more.
///
/// Gunicorn 27's master was seen (once in ~65 runs) to lose a TERM and sit idle in
/// `wait_for_signals` until a second TERM woke it; a repeated TERM, INT or QUIT is
/// harmless to it because the arbiter drops signals while it is stopping. Two seconds
/// is long after any normal reaction and short next to the usual stop timeouts, so
/// the insurance costs nothing on a healthy stop. See docs/signals.md.
const GUNICORN_RESEND_STOP_AFTER: Duration = Duration::from_secs(2);

#[cfg_attr(
    not(target_os = "linux"),
    expect(dead_code, reason = "supervise mode, which uses this, is Linux-only")
)]
impl SignalTable {
    /// No rewrites: every signal is forwarded as is (programs and command profiles).
    pub fn empty() -> SignalTable {
        SignalTable::default()
    }

    /// Gunicorn's master handles TERM, INT, QUIT, HUP, TTIN, TTOU, USR1 and WINCH
    /// itself; only USR2 is dropped, because a binary upgrade forks a new master
    /// under the old one, which a supervisor would take for the server dying.
    pub fn gunicorn() -> SignalTable {
        let mut table = SignalTable::empty();
        table.set(Signal::USR2, Rewrite::Ignore);
        table.resend_stop_after = Some(GUNICORN_RESEND_STOP_AFTER);
        table
    }

    /// Flask's dev server dies of QUIT (so it becomes TERM), and HUP, USR1, USR2,
    /// TTIN, TTOU and WINCH would kill the reloader parent and orphan its child.
    pub fn flask() -> SignalTable {
        let mut table = SignalTable::empty();
        table.set(Signal::QUIT, Rewrite::Forward(Signal::TERM));
        for signal in [
            Signal::HUP,
            Signal::USR1,
            Signal::USR2,
            Signal::TTIN,
            Signal::TTOU,
        ] {
            table.set(signal, Rewrite::Ignore);
        }
        table.set(Signal::WINCH, Rewrite::Ignore);
        table
    }

    /// Sets the rewrite for `from`, replacing any earlier entry. An entry for KILL,
    /// STOP or CHLD is kept but never applies: use [`SignalTable::try_set`] for input
    /// from users.
    pub fn set(&mut self, from: Signal, to: Rewrite) {
        self.rewrites.insert(from, to);
    }

    /// Like [`SignalTable::set`], but refuses signals liftoff can never receive.
    pub fn try_set(&mut self, from: Signal, to: Rewrite) -> Result<(), String> {
        if !from.is_forwardable() {
            return Err(format!(
                "{from} cannot be rewritten: liftoff never receives it (KILL and STOP \
                 cannot be caught, CHLD is how it learns that children exit)"
            ));
        }
        self.set(from, to);
        Ok(())
    }

    /// What the child gets when liftoff receives `signal`.
    pub fn apply(&self, signal: Signal) -> Rewrite {
        self.rewrites
            .get(&signal)
            .copied()
            .unwrap_or(Rewrite::Forward(signal))
    }

    /// Whether receiving `signal` asks liftoff to stop: a shutdown signal (TERM, INT,
    /// QUIT) or a signal the table turns into one, unless the table drops it. Used while
    /// no child runs yet (`wait_for`), where there is nothing to forward to.
    pub fn stops(&self, signal: Signal) -> bool {
        match self.apply(signal) {
            Rewrite::Forward(to) => signal.is_shutdown() || to.is_shutdown(),
            Rewrite::Ignore => false,
        }
    }

    /// The explicit entries, in signal-number order.
    pub fn iter(&self) -> impl Iterator<Item = (Signal, Rewrite)> + '_ {
        self.rewrites.iter().map(|(from, to)| (*from, *to))
    }

    /// Sets (or clears) the delay of [`SignalTable::resend_stop_after`]; the hand-over
    /// to a fresh image restores a table with it.
    pub fn set_resend_stop_after(&mut self, after: Option<Duration>) {
        self.resend_stop_after = after;
    }

    /// When set, the forwarded stop signal is sent once more this long after the
    /// first, if the child is still running (gunicorn only; see
    /// `GUNICORN_RESEND_STOP_AFTER`).
    pub fn resend_stop_after(&self) -> Option<Duration> {
        self.resend_stop_after
    }
}

impl Serialize for SignalTable {
    /// Serializes the explicit entries as a map `{"SIGQUIT": "SIGTERM", "SIGHUP": "ignore"}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.rewrites.iter())
    }
}

impl<'de> Deserialize<'de> for SignalTable {
    /// Reads user overrides `{ QUIT = "TERM", HUP = "ignore" }`, refusing KILL, STOP
    /// and CHLD as keys.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SignalTable, D::Error> {
        let entries = BTreeMap::<Signal, Rewrite>::deserialize(deserializer)?;
        let mut table = SignalTable::empty();
        for (from, to) in entries {
            table.try_set(from, to).map_err(de::Error::custom)?;
        }
        Ok(table)
    }
}

/// Where forwarded signals go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalTarget {
    /// The main child only (gunicorn's master manages its workers).
    Child,
    /// The main child's whole process group (flask's reloader pair, shell pipelines).
    Group,
}

impl FromStr for SignalTarget {
    type Err = String;

    /// Parses `child` or `group`.
    fn from_str(text: &str) -> Result<SignalTarget, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "child" => Ok(SignalTarget::Child),
            "group" => Ok(SignalTarget::Group),
            _ => Err(format!(
                "unknown signal target {text:?}: expected \"child\" or \"group\""
            )),
        }
    }
}

impl fmt::Display for SignalTarget {
    /// Prints `child` or `group`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalTarget::Child => "child",
            SignalTarget::Group => "group",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shorthand for a forward rewrite.
    fn fwd(signal: Signal) -> Rewrite {
        Rewrite::Forward(signal)
    }

    #[test]
    fn server_tables_rewrite_as_documented() {
        let gunicorn = SignalTable::gunicorn();
        let flask = SignalTable::flask();
        let empty = SignalTable::empty();
        let rows = [
            (Signal::TERM, fwd(Signal::TERM), fwd(Signal::TERM)),
            (Signal::INT, fwd(Signal::INT), fwd(Signal::INT)),
            (Signal::QUIT, fwd(Signal::QUIT), fwd(Signal::TERM)),
            (Signal::HUP, fwd(Signal::HUP), Rewrite::Ignore),
            (Signal::TTIN, fwd(Signal::TTIN), Rewrite::Ignore),
            (Signal::TTOU, fwd(Signal::TTOU), Rewrite::Ignore),
            (Signal::USR1, fwd(Signal::USR1), Rewrite::Ignore),
            (Signal::USR2, Rewrite::Ignore, Rewrite::Ignore),
            (Signal::WINCH, fwd(Signal::WINCH), Rewrite::Ignore),
            (
                Signal(libc::SIGALRM),
                fwd(Signal(libc::SIGALRM)),
                fwd(Signal(libc::SIGALRM)),
            ),
        ];
        for (received, by_gunicorn, by_flask) in rows {
            assert_eq!(gunicorn.apply(received), by_gunicorn, "gunicorn {received}");
            assert_eq!(flask.apply(received), by_flask, "flask {received}");
            assert_eq!(empty.apply(received), fwd(received), "empty {received}");
        }
        assert_eq!(gunicorn.resend_stop_after(), Some(Duration::from_secs(2)));
        assert_eq!(flask.resend_stop_after(), None);
        assert_eq!(empty.resend_stop_after(), None);
    }

    #[test]
    fn shutdown_signals_and_what_the_table_makes_one_stop() {
        let mut table = SignalTable::flask();
        table.set(Signal::TERM, Rewrite::Ignore);
        table.set(Signal::USR1, fwd(Signal::INT));
        table.set(Signal::INT, fwd(Signal::WINCH));
        let rows = [
            (Signal::TERM, false, "dropped by the table"),
            (Signal::QUIT, true, "rewritten to TERM"),
            (Signal::INT, true, "a shutdown signal, whatever it becomes"),
            (Signal::USR1, true, "rewritten to INT"),
            (Signal::HUP, false, "ignored by flask's table"),
            (Signal(libc::SIGALRM), false, "not a shutdown signal"),
        ];
        for (signal, stops, why) in rows {
            assert_eq!(table.stops(signal), stops, "{signal}: {why}");
        }
        let gunicorn = SignalTable::gunicorn();
        for signal in [Signal::TERM, Signal::INT, Signal::QUIT] {
            assert!(gunicorn.stops(signal), "{signal}");
        }
        for signal in [Signal::HUP, Signal::USR2, Signal::TTIN] {
            assert!(!gunicorn.stops(signal), "{signal}");
        }
    }

    #[test]
    fn user_entries_override_defaults() {
        let mut table = SignalTable::flask();
        table.set(Signal::HUP, fwd(Signal::HUP));
        table.set(Signal::TERM, fwd(Signal::INT));
        table.set(Signal(libc::SIGALRM), Rewrite::Ignore);
        assert_eq!(table.apply(Signal::HUP), fwd(Signal::HUP));
        assert_eq!(table.apply(Signal::TERM), fwd(Signal::INT));
        assert_eq!(table.apply(Signal(libc::SIGALRM)), Rewrite::Ignore);
        assert_eq!(table.apply(Signal::USR1), Rewrite::Ignore);
    }

    #[test]
    fn try_set_refuses_signals_liftoff_never_receives() {
        let mut table = SignalTable::empty();
        for signal in [Signal::KILL, Signal::STOP, Signal::CHLD] {
            let err = table.try_set(signal, Rewrite::Ignore).unwrap_err();
            assert!(err.contains("cannot be rewritten"), "{err}");
        }
        assert_eq!(table, SignalTable::empty());
        assert!(table.try_set(Signal::TERM, fwd(Signal::KILL)).is_ok());
    }

    #[test]
    fn rewrites_parse_and_print() {
        let cases = [
            ("ignore", Rewrite::Ignore, "ignore"),
            ("IGNORE", Rewrite::Ignore, "ignore"),
            ("term", fwd(Signal::TERM), "SIGTERM"),
            ("9", fwd(Signal::KILL), "SIGKILL"),
        ];
        for (text, rewrite, shown) in cases {
            assert_eq!(text.parse::<Rewrite>(), Ok(rewrite), "{text}");
            assert_eq!(rewrite.to_string(), shown);
        }
        let err = "drop".parse::<Rewrite>().unwrap_err();
        assert!(err.contains("or \"ignore\""), "{err}");
    }

    #[test]
    fn tables_deserialize_from_config_and_serialize_for_plan() {
        let table: SignalTable =
            toml::from_str("QUIT = \"TERM\"\nHUP = \"ignore\"\nSIGUSR1 = 10\n15 = \"INT\"")
                .unwrap();
        let entries: Vec<_> = table.iter().collect();
        assert_eq!(
            entries,
            [
                (Signal::HUP, Rewrite::Ignore),
                (Signal::QUIT, fwd(Signal::TERM)),
                (Signal::USR1, fwd(Signal::USR1)),
                (Signal::TERM, fwd(Signal::INT)),
            ]
        );
        let json = serde_json::to_string(&table).unwrap();
        assert_eq!(
            json,
            r#"{"SIGHUP":"ignore","SIGQUIT":"SIGTERM","SIGUSR1":"SIGUSR1","SIGTERM":"SIGINT"}"#
        );
        let err = toml::from_str::<SignalTable>("CHLD = \"ignore\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("SIGCHLD cannot be rewritten"), "{err}");
        let err = toml::from_str::<SignalTable>("HUP = \"drop\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown signal \"drop\""), "{err}");
    }

    #[test]
    fn targets_parse_print_and_deserialize() {
        for (text, target) in [
            ("child", SignalTarget::Child),
            ("GROUP", SignalTarget::Group),
        ] {
            let parsed: SignalTarget = text.parse().unwrap();
            assert_eq!(parsed, target);
            assert_eq!(parsed.to_string(), text.to_ascii_lowercase());
        }
        assert!(
            "pgrp"
                .parse::<SignalTarget>()
                .unwrap_err()
                .contains("\"child\" or \"group\"")
        );
        #[derive(Deserialize)]
        struct Doc {
            target: SignalTarget,
        }
        let doc: Doc = toml::from_str("target = \"group\"").unwrap();
        assert_eq!(doc.target, SignalTarget::Group);
    }
}
