//! Supervise mode: liftoff as PID 1 (or a child subreaper) starts the program, forwards
//! signals, reaps every child, stops gracefully and exits with the program's status.
//!
//! The decisions live in `state` (pure, unit-tested); `reaper` is the thin loop around
//! it (wait for a signal or a deadline, reap, send) and `spawn` starts the child.
//! Supervision waits with `sigtimedwait` and relies on `PR_SET_CHILD_SUBREAPER`, both
//! Linux-only; elsewhere (developers' Macs) liftoff execs instead.

#[cfg(target_os = "linux")]
mod reaper;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod state;
#[cfg(target_os = "linux")]
mod trim;

use crate::launch::Spec;
use crate::signals::{Inherited, Signal};

/// How a supervised run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The code liftoff exits with: the main child's exit code, 128+N when signal N
    /// killed it, or 0 for a success code.
    pub code: i32,
    /// The first shutdown signal received, if any: a step that exits 0 after it was
    /// still stopped, not finished.
    pub shutdown: Option<Signal>,
}

/// Runs `spec` under supervision until it and every other child are reaped.
///
/// `inherited` is what liftoff started with; the child gets it back.
#[cfg(target_os = "linux")]
pub fn run(spec: &Spec, inherited: Inherited) -> anyhow::Result<Outcome> {
    reaper::run(spec, inherited)
}

/// Supervise mode needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn run(spec: &Spec, _inherited: Inherited) -> anyhow::Result<Outcome> {
    anyhow::bail!(
        "failed to supervise {}: supervise mode needs Linux; use mode = \"exec\"",
        spec.program.display()
    )
}
