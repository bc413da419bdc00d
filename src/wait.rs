//! `wait_for`: before the server starts, wait until its dependencies answer.
//!
//! What wait-for-it and dockerize do, as a setting: each `tcp://host:port` must accept a
//! connection and each `http://host[:port]/path` must answer 2xx. Every round probes what
//! is still down, then pauses with a short backoff (100 ms doubling to 1 s) so a
//! dependency that comes up is noticed quickly without hammering one that does not.
//! Progress is logged every few seconds, naming what is still down and why; at the
//! timeout liftoff exits 69 (`EX_UNAVAILABLE`) naming everything that never came up.
//!
//! liftoff is one thread with its signals blocked, so the pauses are `sigtimedwait` on
//! every signal liftoff handles rather than sleeps: a shutdown signal (after the
//! profile's rewrite table) ends the wait at once, and any other is taken and dropped,
//! since no program runs yet to forward it to (left pending, it would kill liftoff when
//! exec mode restores the mask, or reach the server long after it was sent).
//! Each connection attempt is bounded by [`PROBE_TIMEOUT`] per address, so a signal
//! waits at most that long times the addresses a name resolves to (when they swallow
//! packets). Name lookup goes through the system resolver, which has its own timeouts
//! (resolv.conf) that liftoff cannot shorten without a thread.

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;
use serde::{Serialize, Serializer};

use crate::exit::Failure;
use crate::settings::Dur;
use crate::signals::{Signal, SignalTable};
use crate::supervise::later;

/// The longest one connection attempt to one address may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The first pause between rounds.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
/// The longest pause between rounds.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// How often the wait says what it is still waiting for.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// One dependency to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A TCP port that must accept a connection.
    Tcp {
        /// As written, for messages.
        text: String,
        /// Host name or address (IPv6 without brackets).
        host: String,
        /// Port.
        port: u16,
    },
    /// An HTTP URL that must answer 2xx.
    Http {
        /// The URL as written.
        url: String,
    },
}

impl Target {
    /// Parses `tcp://host:port` or `http://host[:port][/path]`.
    pub fn parse(text: &str) -> Result<Target, String> {
        let text = text.trim();
        let expected = "expected tcp://host:port or http://host[:port]/path";
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("`{text}`: {expected}, e.g. tcp://db:5432"));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "tcp" => {
                let (host, port) = authority(rest.strip_suffix('/').unwrap_or(rest))
                    .map_err(|e| format!("`{text}`: {e}"))?;
                let port = port.ok_or_else(|| format!("`{text}`: the port is missing"))?;
                Ok(Target::Tcp {
                    text: text.into(),
                    host,
                    port,
                })
            }
            "http" => {
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                if rest[..end].contains('@') {
                    return Err(format!(
                        "`{text}`: user names and passwords are not supported"
                    ));
                }
                authority(&rest[..end]).map_err(|e| format!("`{text}`: {e}"))?;
                Ok(Target::Http { url: text.into() })
            }
            "https" => Err(format!(
                "`{text}`: https is not supported (no TLS); wait for the port instead, e.g. tcp://host:443"
            )),
            _ => Err(format!("`{text}`: {expected}")),
        }
    }

    /// Probes once: `Ok` when it is up, else why not, within `timeout`.
    fn probe(&self, timeout: Duration) -> Result<(), String> {
        match self {
            Target::Tcp { host, port, .. } => connect(host, *port, timeout),
            Target::Http { url } => match crate::http::get(url, timeout) {
                Ok(r) if (200..300).contains(&r.status) => Ok(()),
                Ok(r) => Err(format!("answered {} {}", r.status, r.reason)
                    .trim_end()
                    .to_string()),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

impl fmt::Display for Target {
    /// Prints the target as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp { text, .. } => f.write_str(text),
            Target::Http { url } => f.write_str(url),
        }
    }
}

impl Serialize for Target {
    /// Serializes as the text written in the config.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; the port is optional here.
fn authority(text: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = match text.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or("missing `]` after an IPv6 address")?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or("expected `:` after `]`")?),
                ),
            }
        }
        None => match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        },
    };
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err("no host".into());
    }
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("`{p}` is not a port (1-65535)")),
        })
        .transpose()?;
    Ok((host.to_string(), port))
}

/// Connects to any address of `host:port` within `timeout`.
fn connect(host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let addrs = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("failed to resolve {host}: {}", short(&e)))?;
    let mut last = format!("{host} has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(_) => return Ok(()),
            Err(e) => last = short(&e),
        }
    }
    Err(last)
}

/// An I/O error as a short lowercase phrase, without `(os error N)`.
fn short(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error ").next().unwrap_or_default();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_lowercase().chain(chars).collect::<String>()
    })
}

/// How a wait ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything is up.
    Ready,
    /// A shutdown signal (this number) arrived first.
    Signaled(i32),
}

/// The pause after round `round` (0-based): 100 ms, 200 ms, 400 ms, 800 ms, then 1 s.
pub fn pause(round: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(2u32.saturating_pow(round))
        .min(MAX_PAUSE)
}

/// The message for the dependencies that never came up, with their last errors.
pub fn unavailable(down: &[(&Target, String)], timeout: Duration) -> String {
    let list: Vec<String> = down
        .iter()
        .map(|(target, why)| format!("{target} ({why})"))
        .collect();
    format!(
        "wait_for: still down after {}: {}; check that they run and are reachable from here, or raise wait_timeout",
        Dur(timeout),
        list.join(", ")
    )
}

/// Waits until every target is up, a shutdown signal arrives, or `timeout` passes
/// (a [`Failure::Unavailable`] error). `table` is the profile's rewrite table, which
/// says which signals ask liftoff to stop ([`SignalTable::stops`]).
pub fn wait(targets: &[Target], timeout: Duration, table: &SignalTable) -> anyhow::Result<Outcome> {
    if targets.is_empty() {
        return Ok(Outcome::Ready);
    }
    let start = Instant::now();
    let deadline = later(start, timeout);
    let waited = crate::signals::forwarded();
    let names: Vec<String> = targets.iter().map(ToString::to_string).collect();
    tracing::info!("waiting up to {} for {}", Dur(timeout), names.join(", "));
    let mut down: Vec<(&Target, String)> = targets.iter().map(|t| (t, String::new())).collect();
    let mut next_report = later(start, REPORT_EVERY);
    let mut round = 0;
    loop {
        let mut still = Vec::new();
        for (target, before) in down {
            let left = deadline.saturating_duration_since(Instant::now());
            let budget = left.clamp(Duration::from_millis(1), PROBE_TIMEOUT);
            match target.probe(budget) {
                Ok(()) => tracing::info!("{target} is up after {}", secs(start.elapsed())),
                // A probe cut short by the wait's own deadline says less than the full
                // one before it ("answered 503" beats "timed out").
                Err(why)
                    if budget < PROBE_TIMEOUT
                        && why.contains("timed out")
                        && !before.is_empty() =>
                {
                    still.push((target, before));
                }
                Err(why) => still.push((target, why)),
            }
            if let Some(signal) = take_stop(&waited, table, Duration::ZERO)? {
                return Ok(Outcome::Signaled(signal));
            }
        }
        down = still;
        if down.is_empty() {
            return Ok(Outcome::Ready);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::Unavailable(unavailable(&down, timeout)).into());
        }
        if now >= next_report {
            let list: Vec<String> = down.iter().map(|(t, why)| format!("{t} ({why})")).collect();
            tracing::info!(
                "still waiting after {} for {}",
                secs(start.elapsed()),
                list.join(", ")
            );
            next_report = later(now, REPORT_EVERY);
        }
        let rest = pause(round).min(deadline.saturating_duration_since(now));
        if let Some(signal) = take_stop(&waited, table, rest)? {
            return Ok(Outcome::Signaled(signal));
        }
        round = round.saturating_add(1);
    }
}

/// `1.2s`, for progress lines.
fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Takes the signals of `set` that arrive within `timeout` (those already pending
/// first: they are blocked from the start of `main`) and returns the number of the
/// first that asks liftoff to stop; any other is dropped.
fn take_stop(set: &SigSet, table: &SignalTable, timeout: Duration) -> anyhow::Result<Option<i32>> {
    let end = later(Instant::now(), timeout);
    loop {
        let Some(raw) = next_signal(set, end)? else {
            return Ok(None);
        };
        match Signal::from_raw(raw) {
            Some(signal) if table.stops(signal) => return Ok(Some(raw)),
            Some(signal) => tracing::debug!(
                signal = %signal,
                "received a signal while waiting for dependencies: dropped, no program runs yet to forward it to"
            ),
            None => tracing::debug!(raw, "received an unknown signal while waiting: dropped"),
        }
    }
}

/// Takes a pending signal of `set`, waiting until `end` for one; `None` if none came.
#[cfg(target_os = "linux")]
fn next_signal(set: &SigSet, end: Instant) -> anyhow::Result<Option<i32>> {
    Ok(crate::signals::take(set, Some(end))?.map(|(raw, _)| raw))
}

/// macOS has no `sigtimedwait`: sleep through the pause, then take a shutdown signal
/// that arrived meanwhile (it stays pending, since liftoff blocks it from the start).
#[cfg(not(target_os = "linux"))]
fn next_signal(set: &SigSet, end: Instant) -> anyhow::Result<Option<i32>> {
    use anyhow::Context;
    use nix::errno::Errno;
    use std::mem::MaybeUninit;
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let mut pending = MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: `pending` is a writable sigset_t.
    if unsafe { libc::sigpending(pending.as_mut_ptr()) } != 0 {
        return Err(Errno::last()).context("failed to read pending signals");
    }
    // SAFETY: sigpending filled the set.
    let pending = unsafe { SigSet::from_sigset_t_unchecked(pending.assume_init()) };
    if set.iter().any(|signal| pending.contains(signal)) {
        let signal = set.wait().context("failed to take a pending signal")?;
        return Ok(Some(signal as i32));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_from_urls() {
        let tcp = |host: &str, port| (host.to_string(), port);
        let rows = [
            ("tcp://db:5432", Some(tcp("db", 5432))),
            ("TCP://db:5432/", Some(tcp("db", 5432))),
            ("tcp://127.0.0.1:6379", Some(tcp("127.0.0.1", 6379))),
            ("tcp://[::1]:5432", Some(tcp("::1", 5432))),
            ("http://api:8000/health", None),
            ("http://api/health?ready=1", None),
            ("http://[::1]:8000", None),
        ];
        for (text, tcp) in rows {
            let target = Target::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(target.to_string(), text.trim(), "{text}");
            match (target, tcp) {
                (Target::Tcp { host, port, .. }, Some(want)) => assert_eq!((host, port), want),
                (Target::Http { .. }, None) => {}
                (other, want) => panic!("{text}: {other:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn bad_targets_say_what_is_expected() {
        let rows = [
            ("db:5432", "expected tcp://host:port"),
            ("tcp://db", "port is missing"),
            ("tcp://db:0", "not a port"),
            ("tcp://db:postgres", "not a port"),
            ("tcp://:5432", "no host"),
            ("tcp://[::1:5432", "missing `]`"),
            ("https://api/health", "tcp://host:443"),
            ("http://u:p@api/health", "passwords are not supported"),
            ("http://api:x/health", "not a port"),
            ("redis://cache:6379", "expected tcp://host:port"),
        ];
        for (text, needle) in rows {
            let err = Target::parse(text).unwrap_err();
            assert!(err.contains(needle) && err.contains(text), "{text}: {err}");
        }
    }

    #[test]
    fn pauses_double_up_to_a_second() {
        let ms: Vec<u128> = (0..7).map(|r| pause(r).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(pause(u32::MAX), MAX_PAUSE);
    }

    #[test]
    fn the_timeout_message_names_every_dependency_and_why() {
        let db = Target::parse("tcp://db:5432").unwrap();
        let api = Target::parse("http://api:8000/health").unwrap();
        let down = [
            (&db, "connection refused".to_string()),
            (&api, "answered 503 Service Unavailable".to_string()),
        ];
        let text = unavailable(&down, Duration::from_secs(30));
        assert!(
            text.contains("still down after 30s")
                && text.contains("tcp://db:5432 (connection refused)")
                && text.contains("http://api:8000/health (answered 503 Service Unavailable)"),
            "{text}"
        );
    }

    #[test]
    fn a_huge_timeout_is_a_deadline_that_never_comes_not_a_panic() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let outcome = wait(&[target], Duration::MAX, &SignalTable::empty()).unwrap();
        assert_eq!(outcome, Outcome::Ready);
    }

    #[test]
    fn probes_see_a_real_listener_come_and_go() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = Target::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
        assert_eq!(target.probe(PROBE_TIMEOUT), Ok(()));
        drop(listener);
        let err = target.probe(PROBE_TIMEOUT).unwrap_err();
        assert_eq!(err, "connection refused");
    }
}
