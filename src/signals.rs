//! Signals: one [`Signal`] type with the names people type, rewrite tables, and the mask.
//! Numbers come from `libc`, never literals: Linux and macOS differ, and the real-time
//! range is the C library's.

mod mask;
mod table;

use std::fmt;
use std::str::FromStr;

use std::time::{Duration, Instant};

pub use mask::{Inherited, all_signals, block_at_start, contains, forwarded, give_back_chld};
#[cfg(target_os = "linux")]
pub use mask::{handled, take, take_back_chld};
pub use table::{Rewrite, SignalTable, SignalTarget, check_rewrite};

/// A signal liftoff can receive, forward or send; only numbers that name a signal on this
/// platform can be built, so every value is valid for `kill(2)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(i32);

impl Signal {
    pub const HUP: Signal = Signal(libc::SIGHUP);
    pub const INT: Signal = Signal(libc::SIGINT);
    pub const QUIT: Signal = Signal(libc::SIGQUIT);
    pub const KILL: Signal = Signal(libc::SIGKILL);
    pub const USR1: Signal = Signal(libc::SIGUSR1);
    pub const USR2: Signal = Signal(libc::SIGUSR2);
    pub const TERM: Signal = Signal(libc::SIGTERM);
    pub const CHLD: Signal = Signal(libc::SIGCHLD);
    pub const STOP: Signal = Signal(libc::SIGSTOP);
    pub const TTIN: Signal = Signal(libc::SIGTTIN);
    pub const TTOU: Signal = Signal(libc::SIGTTOU);
    pub const WINCH: Signal = Signal(libc::SIGWINCH);

    /// The signal numbered `raw`, if that number names one on this platform.
    pub fn from_raw(raw: i32) -> Option<Signal> {
        let standard = nix::sys::signal::Signal::try_from(raw).is_ok();
        let realtime = realtime_range().is_some_and(|range| range.contains(&raw));
        (standard || realtime).then_some(Signal(raw))
    }

    /// The signal's number, for `kill(2)` and signal sets.
    pub fn raw(self) -> i32 {
        self.0
    }

    /// Whether liftoff can receive this signal and pass it on (not KILL, STOP, CHLD).
    pub fn is_forwardable(self) -> bool {
        self != Signal::KILL && self != Signal::STOP && self != Signal::CHLD
    }

    /// Whether platforms send this to stop a container (TERM, INT, QUIT).
    pub fn is_shutdown(self) -> bool {
        self == Signal::TERM || self == Signal::INT || self == Signal::QUIT
    }
}

/// Every signal liftoff forwards: 1–31 but KILL, STOP and CHLD, then SIGRTMIN..=SIGRTMAX.
pub fn forwardable() -> impl Iterator<Item = Signal> {
    let realtime = realtime_range().into_iter().flatten();
    (1..=31)
        .chain(realtime)
        .filter_map(Signal::from_raw)
        .filter(|s| s.is_forwardable())
}

/// The real-time signals applications may use (glibc keeps the first two for itself).
#[cfg(target_os = "linux")]
fn realtime_range() -> Option<std::ops::RangeInclusive<i32>> {
    Some(libc::SIGRTMIN()..=libc::SIGRTMAX())
}

/// Platforms without real-time signals (macOS).
#[cfg(not(target_os = "linux"))]
fn realtime_range() -> Option<std::ops::RangeInclusive<i32>> {
    None
}

/// What [`Signal::from_str`] accepts, for error messages.
const ACCEPTED: &str = "a name like TERM, SIGTERM or sigterm, a number like 15, \
    or a real-time signal like RTMIN+3 or SIGRTMAX-1";

impl FromStr for Signal {
    type Err = String;

    /// Parses `TERM`, `SIGTERM`, `sigterm`, `15`, `RTMIN+3`, `SIGRTMAX-1`.
    fn from_str(text: &str) -> Result<Signal, String> {
        let text = text.trim();
        let unknown = || format!("unknown signal {text:?}: expected {ACCEPTED}");
        if let Ok(raw) = text.parse::<i32>() {
            return Signal::from_raw(raw).ok_or_else(unknown);
        }
        let upper = text.to_ascii_uppercase();
        let name = upper.strip_prefix("SIG").unwrap_or(&upper);
        // IOT and CLD: other names the C library and `kill -l` accept.
        match name {
            "IOT" => Ok(Signal(libc::SIGABRT)),
            "CLD" => Ok(Signal(libc::SIGCHLD)),
            rt if rt.starts_with("RT") => parse_realtime(rt).ok_or_else(unknown),
            _ => nix::sys::signal::Signal::from_str(&format!("SIG{name}"))
                .map(|s| Signal(s as i32))
                .map_err(|_| unknown()),
        }
    }
}

/// Parses `RTMIN`, `RTMIN+N`, `RTMAX`, `RTMAX-N` (already upper case, without `SIG`).
fn parse_realtime(name: &str) -> Option<Signal> {
    let range = realtime_range()?;
    let (base, rest, sign) = if let Some(rest) = name.strip_prefix("RTMIN") {
        (*range.start(), rest, 1)
    } else {
        (*range.end(), name.strip_prefix("RTMAX")?, -1)
    };
    let offset = match rest.strip_prefix(if sign > 0 { '+' } else { '-' }) {
        None if rest.is_empty() => 0,
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i32>().ok()?
        }
        _ => return None,
    };
    let raw = base.checked_add(sign * offset)?;
    range.contains(&raw).then_some(Signal(raw))
}

impl fmt::Display for Signal {
    /// Prints `SIGTERM`, `SIGRTMIN`, `SIGRTMIN+3` or `SIGRTMAX`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Ok(standard) = nix::sys::signal::Signal::try_from(self.0) {
            return f.write_str(standard.as_str());
        }
        match realtime_range() {
            Some(range) if self.0 == *range.start() => f.write_str("SIGRTMIN"),
            Some(range) if self.0 == *range.end() => f.write_str("SIGRTMAX"),
            Some(range) => write!(f, "SIGRTMIN+{}", self.0 - range.start()),
            None => write!(f, "signal {}", self.0),
        }
    }
}

/// How far ahead [`later`] puts a deadline that would not fit (about 30 years).
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// The instant `after` from `now`, or one that never comes when that overflows
/// (`Instant + Duration` would panic, and a panic in PID 1 takes the container down).
pub fn later(now: Instant, after: Duration) -> Instant {
    now.checked_add(after)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        let cases = [
            ("TERM", libc::SIGTERM),
            ("SIGTERM", libc::SIGTERM),
            ("sigterm", libc::SIGTERM),
            ("Term", libc::SIGTERM),
            (" 15 ", 15),
            ("9", libc::SIGKILL),
            ("HUP", libc::SIGHUP),
            ("winch", libc::SIGWINCH),
            ("IOT", libc::SIGABRT),
            ("SIGCLD", libc::SIGCHLD),
        ];
        for (text, raw) in cases {
            assert_eq!(text.parse::<Signal>().map(Signal::raw), Ok(raw), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_signal_and_says_what_is_accepted() {
        for text in [
            "", "0", "-1", "65", "999", "TERMX", "SIG", "RTMIN+", "RTMIN-1", "RTMAX+1",
        ] {
            let err = text.parse::<Signal>().unwrap_err();
            assert!(err.contains("expected a name like TERM"), "{text}: {err}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn parses_and_prints_realtime_signals() {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        let cases = [
            ("RTMIN", min, "SIGRTMIN"),
            ("SIGRTMIN+3", min + 3, "SIGRTMIN+3"),
            ("rtmin+3", min + 3, "SIGRTMIN+3"),
            ("RTMAX", max, "SIGRTMAX"),
            ("RTMAX-1", max - 1, &format!("SIGRTMIN+{}", max - 1 - min)),
        ];
        for (text, raw, shown) in cases {
            let signal: Signal = text.parse().unwrap();
            assert_eq!(signal.raw(), raw, "{text}");
            assert_eq!(signal.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<Signal>(), Ok(signal), "round trip of {shown}");
        }
        let past_max = format!("RTMIN+{}", max - min + 1);
        assert!(past_max.parse::<Signal>().is_err());
        // glibc keeps 32 and 33 for itself: they are not signals applications can use.
        assert!(Signal::from_raw(32).is_none());
    }

    #[test]
    fn display_round_trips_for_every_forwardable_signal() {
        for signal in forwardable() {
            let shown = signal.to_string();
            assert!(shown.starts_with("SIG"), "{shown}");
            assert_eq!(shown.parse::<Signal>(), Ok(signal));
            assert_eq!(signal.raw().to_string().parse::<Signal>(), Ok(signal));
        }
    }

    #[test]
    fn forwardable_is_everything_catchable_but_chld() {
        let all: Vec<Signal> = forwardable().collect();
        for excluded in [Signal::KILL, Signal::STOP, Signal::CHLD] {
            assert!(!all.contains(&excluded), "{excluded}");
        }
        for included in [
            Signal::HUP,
            Signal::TERM,
            Signal::WINCH,
            Signal(libc::SIGCONT),
            Signal::TTIN,
        ] {
            assert!(all.contains(&included), "{included}");
        }
        let standard = all.iter().filter(|s| s.raw() <= 31).count();
        assert_eq!(standard, 28);
        if let Some(range) = realtime_range() {
            assert_eq!(all.len(), 28 + range.count());
        }
    }

    #[test]
    fn later_never_overflows() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(1_000_000));
        assert_eq!(
            later(now, Duration::from_secs(3)),
            now + Duration::from_secs(3)
        );
    }
}
