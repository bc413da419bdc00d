//! Worker sizing: how many gunicorn workers fit the container.
//!
//! TEMPORARY STUB written by the lead so the core compiles; the limits branch replaces it.

/// Sizing knobs.
pub struct Sizing {
    /// Workers per CPU.
    pub workers_per_core: u32,
    /// Lower bound.
    pub min_workers: u32,
    /// Upper bound.
    pub max_workers: u32,
    /// Memory per worker.
    pub worker_memory: Option<u64>,
}

/// The result.
pub struct Workers {
    /// How many.
    pub count: u32,
    /// CPUs used.
    pub cpus: u32,
    /// Why.
    pub why: String,
}

/// Auto sizing.
pub fn auto(limits: &crate::cgroup::Limits, sizing: &Sizing) -> Workers {
    let cpus = limits.cpus();
    let count = (cpus * sizing.workers_per_core + 1).clamp(sizing.min_workers, sizing.max_workers);
    Workers {
        count,
        cpus,
        why: format!("auto: {cpus} cpus x {} + 1", sizing.workers_per_core),
    }
}

/// Parses a byte size.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    s.parse().map_err(|_| format!("`{s}` is not a size"))
}
