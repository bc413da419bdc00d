//! Signals: one Signal type, parsing, rewrite tables, and the inherited mask.
//!
//! TEMPORARY STUB written by the lead so the core compiles; the supervise branch replaces
//! this file with the real implementation (same API).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use nix::sys::signal::SigSet;

/// A signal number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl FromStr for Signal {
    type Err = String;
    /// Parses TERM, SIGTERM or 15.
    fn from_str(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase();
        let name = up.strip_prefix("SIG").unwrap_or(&up);
        if let Ok(n) = name.parse::<i32>() {
            return Ok(Signal(n));
        }
        nix::sys::signal::Signal::from_str(&format!("SIG{name}"))
            .map(|s| Signal(s as i32))
            .map_err(|_| {
                format!("unknown signal `{s}` (expected a name like TERM or SIGTERM, or a number)")
            })
    }
}

impl fmt::Display for Signal {
    /// Prints SIGTERM.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match nix::sys::signal::Signal::try_from(self.0) {
            Ok(s) => f.write_str(s.as_str()),
            Err(_) => write!(f, "SIG{}", self.0),
        }
    }
}

/// What a received signal becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Forward as this signal.
    Forward(Signal),
    /// Drop it.
    Ignore,
}

impl FromStr for Rewrite {
    type Err = String;
    /// Parses `ignore` or a signal.
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("ignore") {
            Ok(Rewrite::Ignore)
        } else {
            s.parse().map(Rewrite::Forward)
        }
    }
}

impl fmt::Display for Rewrite {
    /// Prints `ignore` or the signal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rewrite::Forward(s) => s.fmt(f),
            Rewrite::Ignore => f.write_str("ignore"),
        }
    }
}

/// A rewrite table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignalTable(BTreeMap<Signal, Rewrite>);

impl SignalTable {
    /// No rewrites.
    pub fn empty() -> Self {
        Self::default()
    }
    /// Gunicorn's defaults.
    pub fn gunicorn() -> Self {
        let mut t = Self::empty();
        t.set("USR2".parse().unwrap(), Rewrite::Ignore);
        t
    }
    /// Flask's defaults.
    pub fn flask() -> Self {
        let mut t = Self::empty();
        t.set(
            "QUIT".parse().unwrap(),
            Rewrite::Forward("TERM".parse().unwrap()),
        );
        for s in ["HUP", "USR1", "USR2", "TTIN", "TTOU", "WINCH"] {
            t.set(s.parse().unwrap(), Rewrite::Ignore);
        }
        t
    }
    /// Sets one entry.
    pub fn set(&mut self, from: Signal, to: Rewrite) {
        self.0.insert(from, to);
    }
    /// What `sig` becomes.
    pub fn apply(&self, sig: Signal) -> Rewrite {
        self.0.get(&sig).copied().unwrap_or(Rewrite::Forward(sig))
    }
    /// The entries.
    pub fn iter(&self) -> impl Iterator<Item = (&Signal, &Rewrite)> {
        self.0.iter()
    }
}

/// Where forwarded signals go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalTarget {
    /// The main child.
    Child,
    /// Its process group.
    Group,
}

impl fmt::Display for SignalTarget {
    /// Prints child or group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalTarget::Child => "child",
            SignalTarget::Group => "group",
        })
    }
}

/// Blocks the handled signals; returns the inherited mask.
pub fn block_at_start() -> nix::Result<SigSet> {
    SigSet::all().thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
}

/// Restores the inherited mask.
pub fn restore_mask(inherited: &SigSet) -> nix::Result<()> {
    inherited.thread_set_mask()
}
