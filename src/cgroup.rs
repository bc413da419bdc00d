//! Container limits: CPU and memory read from cgroup v1 and v2 files.
//!
//! TEMPORARY STUB written by the lead so the core compiles; the limits branch replaces it.

/// Limits.
pub struct Limits {
    /// Affinity CPUs.
    pub affinity: usize,
    /// Memory limit.
    pub memory: Option<u64>,
    /// Notes.
    pub notes: Vec<String>,
}

impl Limits {
    /// CPUs.
    pub fn cpus(&self) -> u32 {
        self.affinity as u32
    }
}

/// Detects limits.
pub fn detect() -> Limits {
    let affinity = std::thread::available_parallelism().map_or(1, |n| n.get());
    Limits {
        affinity,
        memory: None,
        notes: vec![],
    }
}
