//! Supervise mode: liftoff as PID 1 or subreaper, forwarding, reaping, stopping.
//!
//! TEMPORARY STUB written by the lead so the core compiles; the supervise branch replaces it.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use nix::sys::signal::SigSet;

use crate::signals::{SignalTable, SignalTarget};

/// What the supervisor runs.
pub struct Spec {
    /// Resolved program path.
    pub program: PathBuf,
    /// argv, argv[0] included.
    pub argv: Vec<OsString>,
    /// Complete environment.
    pub env: Vec<(OsString, OsString)>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Signal target.
    pub target: SignalTarget,
    /// Rewrites.
    pub table: SignalTable,
    /// Stop timeout.
    pub stop_timeout: Duration,
    /// Success codes.
    pub success_codes: Vec<i32>,
}

/// Runs the program under supervision.
pub fn run(_spec: &Spec, _inherited_mask: &SigSet) -> anyhow::Result<i32> {
    anyhow::bail!("supervise mode is not built yet")
}
