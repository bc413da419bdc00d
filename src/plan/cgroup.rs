//! Container limits: CPU and memory read from cgroup v1 and v2 files.
//!
//! [`detect`] finds the process's cgroup for the `cpu` and `memory` controllers
//! (`/proc/self/cgroup` plus `/proc/self/mountinfo`, so bind-mounted hierarchies inside
//! containers work), walks from it up to the mount root and keeps the tightest limit it
//! meets, because a limit on any ancestor applies too. It never fails: whatever cannot be
//! read counts as no limit and leaves a note. It does nothing until called, since it runs
//! on every start (issue 5 measures start cost).
//!
//! `std::thread::available_parallelism` is not used for the CPU count: it floors the quota
//! (1.5 CPUs gives 1) and hides both the fraction and the memory limit.

#![cfg_attr(
    not(target_os = "linux"),
    allow(
        dead_code,
        reason = "cgroups exist only on Linux; the parsers stay testable everywhere"
    )
)]

mod hierarchy;
pub mod parse;

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use hierarchy::{Version, locate};
use parse::{CgroupLine, Mount};

/// The CPU and memory the process may use, and where each value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// CPUs in the affinity mask (`sched_getaffinity`), before any quota.
    pub affinity: usize,
    /// Tightest CFS quota on the way up the cgroup path; `None` means unlimited.
    pub quota: Option<Quota>,
    /// Tightest memory limit in bytes on the way up the cgroup path; `None` means unlimited.
    pub memory: Option<u64>,
    /// One line per value saying which file (or call) it came from, for `plan` and logs.
    pub notes: Vec<String>,
}

/// A CFS bandwidth limit: `quota_us` of CPU time every `period_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// CPU time allowed per period, in microseconds (all CPUs together).
    pub quota_us: u64,
    /// Length of the period, in microseconds.
    pub period_us: u64,
}

impl Quota {
    /// The quota as a (possibly fractional) number of CPUs, e.g. 0.5 or 1.5.
    pub fn cpus(&self) -> f64 {
        self.quota_us as f64 / self.period_us as f64
    }

    /// Whole CPUs the quota needs, rounded up (1.5 -> 2, 0.5 -> 1), as the JVM and Go do:
    /// a worker that gets half a CPU still serves requests.
    pub fn whole_cpus(&self) -> u64 {
        self.quota_us.div_ceil(self.period_us)
    }

    /// [`Quota::cpus`] for people: at most two decimals, no trailing zeros ("0.5", "2").
    pub fn cpus_text(&self) -> String {
        let text = format!("{:.2}", self.cpus());
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }

    /// Whether `self` allows less CPU than `other`, compared exactly (periods may differ).
    fn is_tighter_than(&self, other: &Quota) -> bool {
        u128::from(self.quota_us) * u128::from(other.period_us)
            < u128::from(other.quota_us) * u128::from(self.period_us)
    }
}

impl Limits {
    /// CPUs to size for: `min(affinity, ceil(quota / period))`, at least 1.
    pub fn cpus(&self) -> u32 {
        let affinity = u64::try_from(self.affinity).unwrap_or(u64::MAX);
        let cpus = self
            .quota
            .map_or(affinity, |q| q.whole_cpus().min(affinity));
        u32::try_from(cpus.max(1)).unwrap_or(u32::MAX)
    }
}

/// Reads the limits of the current process from `/proc` and `/sys/fs/cgroup`.
#[cfg(target_os = "linux")]
pub fn detect() -> Limits {
    let (affinity, affinity_note) = affinity();
    let mut read_notes = Vec::new();
    let mut read = |path: &str| {
        std::fs::read_to_string(path).unwrap_or_else(|err| {
            read_notes.push(format!(
                "failed to read {path}: {err}; assuming no cgroup limits"
            ));
            String::new()
        })
    };
    let proc_cgroup = read("/proc/self/cgroup");
    let mountinfo = read("/proc/self/mountinfo");
    let mut limits = detect_in(Path::new("/"), &proc_cgroup, &mountinfo, affinity);
    let notes = [vec![affinity_note], read_notes, limits.notes].concat();
    limits.notes = notes;
    limits
}

/// Outside Linux there are no cgroups: the CPU count is all there is.
#[cfg(not(target_os = "linux"))]
pub fn detect() -> Limits {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    Limits {
        affinity: cpus,
        quota: None,
        memory: None,
        notes: vec![format!(
            "{cpus} CPUs from available_parallelism (no cgroups on this OS)"
        )],
    }
}

/// CPUs this process may run on, and a note saying how that was found.
#[cfg(target_os = "linux")]
fn affinity() -> (usize, String) {
    use nix::sched::{CpuSet, sched_getaffinity};
    match sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => {
            let count = (0..CpuSet::count())
                .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
                .count();
            (
                count.max(1),
                format!("affinity {count} CPUs from sched_getaffinity"),
            )
        }
        Err(err) => {
            let cpus = std::thread::available_parallelism().map_or(1, usize::from);
            (
                cpus,
                format!("sched_getaffinity failed ({err}); {cpus} CPUs from available_parallelism"),
            )
        }
    }
}

/// The core of [`detect`]: reads limit files under `root` (a fake filesystem root in
/// tests, `/` for real) for the cgroups that `proc_cgroup` and `mountinfo` describe.
pub fn detect_in(root: &Path, proc_cgroup: &str, mountinfo: &str, affinity: usize) -> Limits {
    let cgroups = parse::proc_cgroup(proc_cgroup);
    let mounts: Vec<Mount> = mountinfo
        .lines()
        .filter_map(parse::mountinfo_line)
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .collect();
    let mut notes = Vec::new();
    let quota = cpu_quota(root, &cgroups, &mounts, &mut notes);
    let memory = memory_limit(root, &cgroups, &mounts, &mut notes);
    Limits {
        affinity,
        quota,
        memory,
        notes,
    }
}

/// The tightest CPU quota on the process's `cpu` cgroup path.
fn cpu_quota(
    root: &Path,
    cgroups: &[CgroupLine],
    mounts: &[Mount],
    notes: &mut Vec<String>,
) -> Option<Quota> {
    let hierarchy = locate(root, "cpu", cgroups, mounts, notes)?;
    let read = |dir: &Path| match hierarchy.version {
        Version::V1 => read_cfs_quota(dir),
        Version::V2 => read_parsed(&dir.join("cpu.max"), parse::cpu_max),
    };
    let shown = |q: &Quota| format!("{}/{} ({} CPUs)", q.quota_us, q.period_us, q.cpus_text());
    hierarchy.tightest(notes, "cpu quota", read, Quota::is_tighter_than, shown)
}

/// The tightest memory limit on the process's `memory` cgroup path.
fn memory_limit(
    root: &Path,
    cgroups: &[CgroupLine],
    mounts: &[Mount],
    notes: &mut Vec<String>,
) -> Option<u64> {
    let hierarchy = locate(root, "memory", cgroups, mounts, notes)?;
    let read = |dir: &Path| match hierarchy.version {
        Version::V1 => read_parsed(
            &dir.join("memory.limit_in_bytes"),
            parse::memory_limit_in_bytes,
        ),
        Version::V2 => read_parsed(&dir.join("memory.max"), parse::memory_max),
    };
    let shown = |bytes: &u64| format!("{bytes} bytes");
    hierarchy.tightest(notes, "memory limit", read, |a, b| a < b, shown)
}

/// Reads v1 `cpu.cfs_quota_us` in `dir`, and `cpu.cfs_period_us` only when there is a quota.
fn read_cfs_quota(dir: &Path) -> Result<Option<(Quota, PathBuf)>, String> {
    let Some((quota_us, file)) = read_parsed(&dir.join("cpu.cfs_quota_us"), parse::cfs_quota_us)?
    else {
        return Ok(None);
    };
    let period = dir.join("cpu.cfs_period_us");
    let text = read_optional(&period)?.unwrap_or_else(|| parse::DEFAULT_PERIOD_US.to_string());
    let quota =
        parse::cfs_quota(quota_us, &text).map_err(|err| format!("{}: {err}", period.display()))?;
    Ok(quota.map(|quota| (quota, file)))
}

/// Reads `file` and parses it; `Ok(None)` when the file does not exist or says "no limit".
fn read_parsed<T>(
    file: &Path,
    parser: impl Fn(&str) -> Result<Option<T>, String>,
) -> Result<Option<(T, PathBuf)>, String> {
    let Some(text) = read_optional(file)? else {
        return Ok(None);
    };
    let value = parser(&text).map_err(|err| format!("{}: {err}", file.display()))?;
    Ok(value.map(|value| (value, file.to_path_buf())))
}

/// Reads a file, `Ok(None)` when it does not exist (a root cgroup has no `cpu.max`).
fn read_optional(file: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(file) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(format!("failed to read {}: {err}", file.display())),
    }
}

#[cfg(test)]
mod tests;
