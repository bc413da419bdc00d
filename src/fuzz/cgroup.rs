//! Target `cgroup`: the kernel's cgroup files as liftoff reads them (`plan/cgroup/parse.rs`),
//! and limit detection over a fake root (`cgroup::detect_in`).
//!
//! Input format (tests/fuzz/corpus/cgroup/*): sections, each starting with a line
//! `== NAME`: `cgroup` is /proc/self/cgroup, `mountinfo` is /proc/self/mountinfo,
//! `affinity` the number of CPUs, and a relative path ending in one of the limit files
//! (`cpu.max`, `cpu.cfs_quota_us`, `cpu.cfs_period_us`, `memory.max`,
//! `memory.limit_in_bytes`) is written under the fake root. Every section is also given to
//! every parser. As the kernel's, the `cgroup` section's lines are at most `PATH_MAX`
//! (4096) bytes: longer ones are cut (a path of 17,000 levels made detection walk them
//! all, which no kernel can ask for).
//!
//! Invariants: no panic; a quota has a period above 0 and a finite, non-negative CPU
//! count; a memory limit is below "unlimited"; the CPUs to size for are at least 1 and at
//! most the affinity (or 1).

use std::path::{Path, PathBuf};

use super::{Target, feature};
use crate::plan::cgroup::parse::{self, UNLIMITED_BYTES};
use crate::plan::cgroup::{Limits, Quota, detect_in};

/// The target.
pub static TARGET: Target = Target {
    name: "cgroup",
    tokens: &[
        b"\n== cgroup\n",
        b"\n== mountinfo\n",
        b"\n== affinity\n",
        b"\n== sys/fs/cgroup/cpu.max\n",
        b"\n== sys/fs/cgroup/memory.max\n",
        b"\n== sys/fs/cgroup/cpu/cpu.cfs_quota_us\n",
        b"0::/",
        b"cpu,cpuacct",
        b" - cgroup2 cgroup2 rw",
        b" - cgroup cgroup rw,cpu",
        b"max",
        b"\\040",
        b"\\012",
        b"/..",
        b":",
    ],
    run,
};

/// The limit files a section may write.
const FILES: &[&str] = &[
    "cpu.max",
    "cpu.cfs_quota_us",
    "cpu.cfs_period_us",
    "memory.max",
    "memory.limit_in_bytes",
];

/// Runs the parsers on every section, then detection over the fake root.
fn run(data: &[u8]) -> Option<Vec<u64>> {
    let text = String::from_utf8_lossy(data);
    let sections = sections(&text);
    let mut features: Vec<u64> = sections.iter().map(|(_, body)| parsers(body)).collect();
    let find = |name: &str| {
        sections
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, body)| body.as_str())
    };
    let affinity = find("affinity").trim().parse::<usize>().unwrap_or(2) % 4096;
    let root = fake_root(&sections)?;
    let limits = detect_in(
        &root,
        &kernel_lines(find("cgroup")),
        find("mountinfo"),
        affinity,
    );
    check_limits(&limits);
    features.push(feature((limits.quota.is_some(), limits.memory.is_some())));
    // What each note is about (its first word), not the paths and numbers it names.
    let about = |note: &String| feature(("note", note.split(' ').next().map(String::from)));
    features.extend(limits.notes.iter().map(about));
    Some(features)
}

/// `text` with every line cut to `PATH_MAX` bytes, as the kernel writes a path.
fn kernel_lines(text: &str) -> String {
    /// `PATH_MAX` on Linux.
    const PATH_MAX: usize = 4096;
    let cut = |line: &str| -> String {
        let mut end = line.len().min(PATH_MAX);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line[..end].to_string()
    };
    text.lines().map(cut).collect::<Vec<_>>().join("\n")
}

/// The sections of the input: (name, body), each starting at a line `== NAME`.
fn sections(text: &str) -> Vec<(String, String)> {
    format!("\n{text}")
        .split("\n== ")
        .skip(1)
        .map(|section| {
            let (name, body) = section.split_once('\n').unwrap_or((section, ""));
            (name.trim().to_string(), format!("{body}\n"))
        })
        .collect()
}

/// Every parser on one body; a feature of what they made of it.
fn parsers(body: &str) -> u64 {
    let lines = parse::proc_cgroup(body);
    let mounts: Vec<_> = body.lines().filter_map(parse::mountinfo_line).collect();
    let cpu_max = parse::cpu_max(body).map(|q| q.inspect(check_quota).is_some());
    let cpu_max = cpu_max.map_err(|e| super::shape(&e));
    let quota_us = parse::cfs_quota_us(body);
    if let Ok(Some(us)) = quota_us {
        let _ = parse::cfs_quota(us, body).map(|q| q.inspect(check_quota));
    }
    let memory = [parse::memory_max(body), parse::memory_limit_in_bytes(body)];
    for bytes in memory.iter().flatten().flatten() {
        assert!(*bytes < UNLIMITED_BYTES, "memory {bytes} from {body:?}");
    }
    feature((
        lines.len().min(3),
        mounts.len().min(3),
        cpu_max,
        quota_us.is_ok(),
        memory.map(|m| m.is_ok()),
    ))
}

/// A quota's invariants.
fn check_quota(quota: &Quota) {
    assert!(quota.period_us > 0, "{quota:?}");
    let cpus = quota.cpus();
    assert!(
        cpus.is_finite() && cpus >= 0.0,
        "{quota:?} gives {cpus} CPUs"
    );
    assert!(!quota.cpus_text().is_empty(), "{quota:?}");
}

/// Detection's invariants.
fn check_limits(limits: &Limits) {
    if let Some(quota) = &limits.quota {
        check_quota(quota);
    }
    if let Some(bytes) = limits.memory {
        assert!(bytes < UNLIMITED_BYTES, "memory {bytes}");
    }
    let cpus = limits.cpus();
    let most = u32::try_from(limits.affinity.max(1)).unwrap_or(u32::MAX);
    assert!((1..=most).contains(&cpus), "{cpus} CPUs from {limits:?}");
}

/// A fresh fake root with the input's limit files; `None` when it cannot be made.
fn fake_root(sections: &[(String, String)]) -> Option<PathBuf> {
    let root = super::scratch(TARGET.name);
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).ok()?;
    for (name, body) in sections {
        if let Some(path) = limit_file(&root, name) {
            let written = path.parent().map(std::fs::create_dir_all);
            if matches!(written, Some(Ok(()))) {
                let _ = std::fs::write(&path, body);
            }
        }
    }
    Some(root)
}

/// Where a section named `name` goes under `root`, when it names a limit file by a plain
/// relative path.
fn limit_file(root: &Path, name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = name.split('/').collect();
    let plain = parts
        .iter()
        .all(|p| !p.is_empty() && *p != "." && *p != "..");
    (plain && FILES.contains(parts.last()?) && parts.len() <= 16).then(|| root.join(name))
}
