//! Supervise mode: liftoff as PID 1 (or a child subreaper) starts the server, forwards
//! signals, reaps every child, stops gracefully and exits with the server's status.
//!
//! The decisions live in `state` (pure, unit-tested); `reaper` is the thin loop around
//! it (wait for a signal or a deadline, reap, send) and `spawn` starts the child.

#[cfg(target_os = "linux")]
mod handoff;
#[cfg(target_os = "linux")]
mod reaper;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod state;
#[cfg(target_os = "linux")]
mod trim;

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::sys::signal::SigSet;

use crate::settings::{LogFormat, LogLevel};
use crate::signals::{Signal, SignalTable, SignalTarget};
use crate::user::Credentials;

/// Everything supervise mode needs, resolved by the caller before anything starts.
#[cfg_attr(
    not(target_os = "linux"),
    expect(dead_code, reason = "supervise mode, which uses this, is Linux-only")
)]
#[derive(Clone, Debug)]
pub struct Spec {
    /// The program, as an absolute path.
    pub program: PathBuf,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<OsString>,
    /// The child's complete environment.
    pub env: Vec<(OsString, OsString)>,
    /// The child's working directory.
    pub cwd: PathBuf,
    /// Where forwarded signals go.
    pub target: SignalTarget,
    /// The rewrites: server defaults merged with the user's entries.
    pub table: SignalTable,
    /// Time from the first shutdown signal (or the main child's exit) to SIGKILL.
    pub stop_timeout: Duration,
    /// Exit codes (after the 128+N mapping) reported as 0.
    pub success_codes: Vec<i32>,
    /// Time the first shutdown signal is held back while the server keeps serving.
    pub drain_delay: Duration,
    /// The user to become in the child before exec; `None`: stay who liftoff is.
    pub user: Option<Credentials>,
    /// liftoff's own logging, set up again by the fresh image that takes the
    /// supervision of the server over.
    pub log: (LogLevel, LogFormat),
}

/// The environment variable that hands supervision to a fresh image (see
/// `supervise/handoff.rs`); internal to liftoff.
pub const HANDOFF_VAR: &str = "LIFTOFF_HANDOFF";

/// How a supervised run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The code liftoff would exit with (see [`run`]).
    pub code: i32,
    /// The first shutdown signal received, if any: a step that exits 0 after it was
    /// still stopped, not finished.
    pub shutdown: Option<Signal>,
}

/// Runs `spec` under supervision and returns the code liftoff must exit with: the main
/// child's exit code, 128+N when signal N killed it, or 0 for a success code.
///
/// `inherited_mask` is what [`crate::signals::block_at_start`] returned; liftoff must
/// not have changed any signal disposition before this call, so the ignored signals
/// it sees here are the ones it inherited.
#[cfg(target_os = "linux")]
pub fn run(spec: &Spec, inherited_mask: &SigSet) -> anyhow::Result<i32> {
    reaper::run(spec, inherited_mask, true).map(|outcome| outcome.code)
}

/// Goes on supervising in a fresh image of liftoff, from the state in `HANDOFF_VAR`
/// (`value`), and returns the code liftoff must exit with, as [`run`] does; `None` when
/// the state is a stale copy, which was then dropped (liftoff starts as usual).
#[cfg(target_os = "linux")]
pub fn resume(value: &std::ffi::OsStr) -> Option<anyhow::Result<i32>> {
    reaper::resume(value).map(|result| result.map(|outcome| outcome.code))
}

/// Nothing to resume: only supervise mode (Linux-only) hands over, so the variable can
/// only be a copy; it is ignored.
#[cfg(not(target_os = "linux"))]
pub fn resume(_value: &std::ffi::OsStr) -> Option<anyhow::Result<i32>> {
    None
}

/// How far ahead [`later`] puts a deadline that would not fit: about 30 years, which
/// the monotonic clock (seconds since boot in 64 bits) always holds.
const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// The instant `after` from `now`, for deadlines; when that overflows (a duration of
/// centuries from the command line), a deadline so far ahead it never comes. `Instant +
/// Duration` would panic instead, and a panic in PID 1 takes the container down.
pub fn later(now: Instant, after: Duration) -> Instant {
    now.checked_add(after)
        .or_else(|| now.checked_add(FAR))
        .unwrap_or(now)
}

/// Like [`run`], and also says whether liftoff was asked to stop meanwhile.
#[cfg(target_os = "linux")]
pub fn run_outcome(spec: &Spec, inherited_mask: &SigSet) -> anyhow::Result<Outcome> {
    // No hand-over: a `before` step's outcome goes back to the caller, which goes on.
    reaper::run(spec, inherited_mask, false)
}

/// Restores an inherited `SIGCHLD = SIG_IGN` that supervising (the `before` steps)
/// reset for liftoff; exec mode calls this right before exec.
#[cfg(target_os = "linux")]
pub fn give_back_chld() -> anyhow::Result<()> {
    reaper::give_back_chld()
}

/// Nothing to restore: without supervision (Linux-only) no disposition was changed.
#[cfg(not(target_os = "linux"))]
pub fn give_back_chld() -> anyhow::Result<()> {
    Ok(())
}

/// Like [`run`] (which fails here: supervise mode needs Linux).
#[cfg(not(target_os = "linux"))]
pub fn run_outcome(spec: &Spec, inherited_mask: &SigSet) -> anyhow::Result<Outcome> {
    run(spec, inherited_mask).map(|code| Outcome {
        code,
        shutdown: None,
    })
}

/// Supervision waits with `sigtimedwait` and relies on `PR_SET_CHILD_SUBREAPER`, both
/// Linux-only; elsewhere (developers' Macs) liftoff execs instead.
#[cfg(not(target_os = "linux"))]
pub fn run(spec: &Spec, _inherited_mask: &SigSet) -> anyhow::Result<i32> {
    anyhow::bail!(
        "failed to supervise {}: supervise mode needs Linux",
        spec.program.display()
    )
}
