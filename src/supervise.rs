//! Supervise mode: liftoff as PID 1 (or a child subreaper) starts the program, forwards
//! signals, reaps every child and exits with the program's status. `state` decides (pure),
//! `reaper` waits, reaps and sends, `spawn` starts the child. Linux only.

#[cfg(target_os = "linux")]
mod reaper;
#[cfg(target_os = "linux")]
mod spawn;
#[cfg(target_os = "linux")]
mod state;
#[cfg(target_os = "linux")]
mod trim;

use crate::signals::Signal;

/// How a supervised run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The code liftoff exits with: the exit code, 128+N, or 0 for a success code.
    pub code: i32,
    /// The first shutdown signal received: a step that exits 0 after it was still stopped.
    pub shutdown: Option<Signal>,
}

#[cfg(target_os = "linux")]
pub use reaper::run;

/// Supervise mode needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn run(
    spec: &crate::launch::Spec,
    _inherited: crate::signals::Inherited,
) -> anyhow::Result<Outcome> {
    anyhow::bail!(
        "failed to supervise {}: supervise mode needs Linux; use mode = \"exec\"",
        spec.program.display()
    )
}
