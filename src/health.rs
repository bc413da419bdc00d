//! `liftoff health`: an HTTP probe for container health checks.
//!
//! TEMPORARY STUB written by the lead so the core compiles; the containers branch replaces it.

use std::time::Duration;

/// Probes `url`.
pub fn run(_url: &str, _timeout: Duration) -> anyhow::Result<i32> {
    anyhow::bail!("health is not built yet")
}
