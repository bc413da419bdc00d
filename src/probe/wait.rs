//! `wait_for`: before the server starts, wait until each `tcp://` target accepts and each
//! `http://` target answers 2xx, within `wait_timeout` (else 69, naming every target still
//! down and why). Each probe runs on its own thread, so a silent resolver cannot hold the
//! wait; a down target is retried after 100 ms doubling to 1 s. Signals are taken every
//! 50 ms: a shutdown signal ends the wait, any other is dropped (no program runs yet to
//! forward it to, and left pending it would kill liftoff when exec restores the mask).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::url::Url;
use super::{Down, probe};
use crate::exit::Failure;
use crate::log::{debug, info};
use crate::signals::{Signal, SignalTable, later};

/// The longest one probe of one target may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// The first pause before a down target is probed again.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// How often the wait says what it is still waiting for.
const REPORT_EVERY: Duration = Duration::from_secs(5);
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// How a wait ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ready,
    /// A shutdown signal arrived first.
    Signaled(Signal),
}

/// Where one target stands.
struct Tracked<'a> {
    target: &'a Url,
    /// Why its last finished probe found it down (`None`: no probe finished yet).
    why: Option<String>,
    up: bool,
    probing: bool,
    next: Instant,
    failures: u32,
}

/// The pause after `failures` probes found a target down: 100 ms doubling up to 1 s.
pub fn pause(failures: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
        .min(MAX_PAUSE)
}

/// Waits until every target is up, a stop signal (per `table`) arrives, or `timeout`
/// passes ([`Failure::Unavailable`]).
pub fn wait(targets: &[Url], timeout: Duration, table: &SignalTable) -> anyhow::Result<Outcome> {
    if targets.is_empty() {
        return Ok(Outcome::Ready);
    }
    let start = Instant::now();
    let deadline = later(start, timeout);
    let names: Vec<String> = targets.iter().map(ToString::to_string).collect();
    info!(
        "waiting up to {} for {}",
        humantime::format_duration(timeout),
        names.join(", ")
    );
    let mut tracked: Vec<Tracked> = targets
        .iter()
        .map(|target| Tracked {
            target,
            why: None,
            up: false,
            probing: false,
            next: start,
            failures: 0,
        })
        .collect();
    let (tx, rx) = mpsc::channel::<(usize, Result<(), Down>)>();
    let mut next_report = later(start, REPORT_EVERY);
    loop {
        let now = Instant::now();
        for (i, t) in tracked.iter_mut().enumerate() {
            if !t.up && !t.probing && now >= t.next {
                t.probe(
                    i,
                    &tx,
                    deadline.saturating_duration_since(now).min(PROBE_TIMEOUT),
                );
            }
        }
        let signal_check = SIGNAL_CHECK.min(deadline.saturating_duration_since(now));
        if let Some(signal) = take_stop(table, signal_check)? {
            return Ok(Outcome::Signaled(signal));
        }
        while let Ok((i, result)) = rx.try_recv() {
            tracked[i].record(result, start);
        }
        if tracked.iter().all(|t| t.up) {
            return Ok(Outcome::Ready);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Failure::Unavailable(unavailable(&tracked, timeout)).into());
        }
        if now >= next_report {
            let waited = start.elapsed().as_secs_f64();
            info!(
                "still waiting after {waited:.1}s for {}",
                down_list(&tracked)
            );
            next_report = later(now, REPORT_EVERY);
        }
    }
}

impl Tracked<'_> {
    /// Probes the target on a thread of its own, within `budget`; the result arrives on
    /// `tx` tagged with `i`.
    fn probe(&mut self, i: usize, tx: &mpsc::Sender<(usize, Result<(), Down>)>, budget: Duration) {
        self.probing = true;
        let (tx, target) = (tx.clone(), self.target.clone());
        super::detach(move || drop(tx.send((i, probe(&target, budget)))));
    }

    /// Takes in a finished probe's result.
    fn record(&mut self, result: Result<(), Down>, start: Instant) {
        self.probing = false;
        match result {
            Ok(()) => {
                self.up = true;
                info!(
                    "{} is up after {:.1}s",
                    self.target,
                    start.elapsed().as_secs_f64()
                );
            }
            Err(why) => {
                self.failures = self.failures.saturating_add(1);
                // A probe cut short by the deadline says less than an earlier finished one.
                if !(matches!(why, Down::TimedOut) && self.why.is_some()) {
                    self.why = Some(why.to_string());
                }
                self.next = later(Instant::now(), pause(self.failures));
            }
        }
    }
}

/// The targets still down, each with why: `tcp://db:5432 (connection refused)`.
fn down_list(tracked: &[Tracked]) -> String {
    let list: Vec<String> = tracked
        .iter()
        .filter(|t| !t.up)
        .map(|t| {
            let why = t
                .why
                .as_deref()
                .unwrap_or("no answer yet: name lookup or connection still pending");
            format!("{} ({why})", t.target)
        })
        .collect();
    list.join(", ")
}

/// The message for the dependencies that never came up.
fn unavailable(tracked: &[Tracked], timeout: Duration) -> String {
    format!(
        "wait_for: still down after {}: {}; check that they run and are reachable from here, or raise wait_timeout",
        humantime::format_duration(timeout),
        down_list(tracked)
    )
}

/// Takes the signals that arrive within `timeout` (those already pending first: they are
/// blocked from the start of `main`) and returns the first that asks liftoff to stop;
/// any other is dropped.
fn take_stop(table: &SignalTable, timeout: Duration) -> anyhow::Result<Option<Signal>> {
    let set = crate::signals::forwarded();
    let end = later(Instant::now(), timeout);
    loop {
        let Some(raw) = next_signal(&set, end)? else {
            return Ok(None);
        };
        match Signal::from_raw(raw) {
            Some(signal) if table.stops(signal) => return Ok(Some(signal)),
            Some(signal) => debug!(
                "received a signal while waiting for dependencies: dropped, no program runs yet to forward it to";
                signal = signal
            ),
            None => debug!("received an unknown signal while waiting: dropped"; raw = raw),
        }
    }
}

/// Takes a pending signal of `set`, waiting until `end` for one; `None` if none came.
#[cfg(target_os = "linux")]
fn next_signal(set: &nix::sys::signal::SigSet, end: Instant) -> anyhow::Result<Option<i32>> {
    Ok(crate::signals::take(set, Some(end))?.map(|(raw, _)| raw))
}

/// macOS has no `sigtimedwait`: sleep through the pause, then take a pending signal.
#[cfg(not(target_os = "linux"))]
fn next_signal(set: &nix::sys::signal::SigSet, end: Instant) -> anyhow::Result<Option<i32>> {
    use anyhow::Context;
    std::thread::sleep(end.saturating_duration_since(Instant::now()));
    let mut pending = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
    // SAFETY: `pending` is a writable sigset_t.
    if unsafe { libc::sigpending(pending.as_mut_ptr()) } != 0 {
        return Err(nix::errno::Errno::last()).context("failed to read pending signals");
    }
    // SAFETY: sigpending filled the set.
    let pending =
        unsafe { nix::sys::signal::SigSet::from_sigset_t_unchecked(pending.assume_init()) };
    if set.iter().any(|signal| pending.contains(signal)) {
        let signal = set.wait().context("failed to take a pending signal")?;
        return Ok(Some(signal as i32));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::url::parse;

    #[test]
    fn pauses_double_up_to_a_second() {
        let ms: Vec<u128> = (1..8).map(|r| pause(r).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(pause(u32::MAX), MAX_PAUSE);
    }

    #[test]
    fn the_timeout_message_names_every_dependency_and_why() {
        let db = parse("tcp://db:5432").unwrap();
        let api = parse("http://api:8000/health").unwrap();
        let slow = parse("tcp://slow:1").unwrap();
        let t = |target, why: Option<&str>| Tracked {
            target,
            why: why.map(String::from),
            up: false,
            probing: false,
            next: Instant::now(),
            failures: 1,
        };
        let tracked = [
            t(&db, Some("connection refused")),
            t(&api, Some("answered 503 Service Unavailable")),
            t(&slow, None),
        ];
        let text = unavailable(&tracked, Duration::from_secs(30));
        assert!(
            text.contains("still down after 30s")
                && text.contains("tcp://db:5432 (connection refused)")
                && text.contains("http://api:8000/health (answered 503 Service Unavailable)")
                && text.contains("tcp://slow:1 (no answer yet"),
            "{text}"
        );
    }

    #[test]
    fn a_huge_timeout_is_a_deadline_that_never_comes_not_a_panic() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
        let outcome = wait(&[target], Duration::MAX, &SignalTable::empty()).unwrap();
        assert_eq!(outcome, Outcome::Ready);
    }
}
