//! Rewrite tables: what liftoff does with each signal it receives, and where it sends it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::Signal;

/// What to do with one received signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Send this signal to the target (the same one, or another).
    Forward(Signal),
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

impl Rewrite {
    /// A rewrite given as a signal number (`HUP = 10` in a file).
    pub fn from_raw(raw: i64) -> Result<Rewrite, String> {
        i32::try_from(raw)
            .ok()
            .and_then(Signal::from_raw)
            .map(Rewrite::Forward)
            .ok_or_else(|| format!("unknown signal {raw}"))
    }
}

/// The rewrites for one server: received signal → what the child gets; others go unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalTable {
    rewrites: BTreeMap<Signal, Rewrite>,
}

impl SignalTable {
    /// No rewrites: every signal is forwarded as is (programs and command profiles).
    pub fn empty() -> SignalTable {
        SignalTable::default()
    }

    /// Sets the rewrite for `from` (users' entries are checked by [`check_rewrite`]).
    pub fn set(&mut self, from: Signal, to: Rewrite) {
        self.rewrites.insert(from, to);
    }

    /// What the child gets when liftoff receives `signal`.
    pub fn apply(&self, signal: Signal) -> Rewrite {
        self.rewrites
            .get(&signal)
            .copied()
            .unwrap_or(Rewrite::Forward(signal))
    }

    /// Whether receiving `signal` asks liftoff to stop: a shutdown signal or one the table
    /// turns into one, unless the table drops it.
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
}

/// Refuses a rewrite liftoff could never apply: from KILL, STOP or CHLD (never received),
/// or to one of them.
pub fn check_rewrite(from: Signal, to: Rewrite) -> Result<(), String> {
    if !from.is_forwardable() {
        return Err(format!(
            "{from} cannot be rewritten: liftoff never receives it (KILL and STOP cannot be caught, CHLD is how it learns that children exit)"
        ));
    }
    match to {
        Rewrite::Forward(to) if !to.is_forwardable() => Err(format!(
            "{from} cannot become {to}: rewrite it to a signal the server can handle, or to \"ignore\""
        )),
        _ => Ok(()),
    }
}

/// Where forwarded signals go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalTarget {
    /// The main child only (gunicorn's master manages its workers).
    Child,
    /// The main child's process group (flask's reloader pair, shell pipelines).
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

    /// A table like Flask's: QUIT becomes TERM, HUP, USR1, USR2, TTIN and TTOU are dropped.
    fn flask_like() -> SignalTable {
        let mut table = SignalTable::empty();
        table.set(Signal::QUIT, fwd(Signal::TERM));
        for signal in [
            Signal::HUP,
            Signal::USR1,
            Signal::USR2,
            Signal::TTIN,
            Signal::TTOU,
        ] {
            table.set(signal, Rewrite::Ignore);
        }
        table
    }

    #[test]
    fn shutdown_signals_and_what_the_table_makes_one_stop() {
        let mut table = flask_like();
        table.set(Signal::TERM, Rewrite::Ignore);
        table.set(Signal::USR1, fwd(Signal::INT));
        table.set(Signal::INT, fwd(Signal::WINCH));
        let rows = [
            (Signal::TERM, false, "dropped by the table"),
            (Signal::QUIT, true, "rewritten to TERM"),
            (Signal::INT, true, "a shutdown signal, whatever it becomes"),
            (Signal::USR1, true, "rewritten to INT"),
            (Signal::HUP, false, "ignored by the table"),
            (Signal(libc::SIGALRM), false, "not a shutdown signal"),
        ];
        for (signal, stops, why) in rows {
            assert_eq!(table.stops(signal), stops, "{signal}: {why}");
        }
    }

    #[test]
    fn user_entries_override_defaults() {
        let mut table = flask_like();
        table.set(Signal::HUP, fwd(Signal::HUP));
        table.set(Signal::TERM, fwd(Signal::INT));
        table.set(Signal(libc::SIGALRM), Rewrite::Ignore);
        assert_eq!(table.apply(Signal::HUP), fwd(Signal::HUP));
        assert_eq!(table.apply(Signal::TERM), fwd(Signal::INT));
        assert_eq!(table.apply(Signal(libc::SIGALRM)), Rewrite::Ignore);
        assert_eq!(table.apply(Signal::USR1), Rewrite::Ignore);
        assert_eq!(SignalTable::empty().apply(Signal::HUP), fwd(Signal::HUP));
    }

    #[test]
    fn rewrites_liftoff_cannot_apply_are_refused() {
        for signal in [Signal::KILL, Signal::STOP, Signal::CHLD] {
            let err = check_rewrite(signal, Rewrite::Ignore).unwrap_err();
            assert!(err.contains("cannot be rewritten"), "{err}");
            let err = check_rewrite(Signal::TERM, fwd(signal)).unwrap_err();
            assert!(err.contains("cannot become"), "{err}");
        }
        assert!(check_rewrite(Signal::TERM, fwd(Signal::INT)).is_ok());
        assert!(check_rewrite(Signal::HUP, Rewrite::Ignore).is_ok());
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
        assert_eq!(Rewrite::from_raw(1), Ok(fwd(Signal::HUP)));
        assert!(Rewrite::from_raw(4096).is_err());
    }

    #[test]
    fn targets_parse_and_print() {
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
    }
}
