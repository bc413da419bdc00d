//! Tests of limit detection on fixture trees (`tests/fixtures/cgroup/<case>/`): each case
//! holds a `proc-self-cgroup`, a `mountinfo` and, under `root/`, the cgroup files a real
//! system of that shape has.

use super::hierarchy::relative;
use super::*;

/// Runs [`detect_in`] on the fixture `case` with `affinity` CPUs.
fn fixture(case: &str, affinity: usize) -> Limits {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(case);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    detect_in(
        &dir.join("root"),
        &read("proc-self-cgroup"),
        &read("mountinfo"),
        affinity,
    )
}

/// Shorthand for an expected quota.
fn q(quota_us: u64, period_us: u64) -> Option<Quota> {
    Some(Quota {
        quota_us,
        period_us,
    })
}

/// One mebibyte, the unit the fixtures' memory limits are written in.
const MIB: u64 = 1 << 20;

/// One fixture expectation: case, affinity, quota, memory, cpus.
type Row = (&'static str, usize, Option<Quota>, Option<u64>, u32);

#[test]
fn fixtures_table() {
    let cases: &[Row] = &[
        ("v1-docker-bind", 4, q(150_000, 100_000), Some(512 * MIB), 2),
        (
            "v1-nested-parent-tighter",
            2,
            q(50_000, 100_000),
            Some(256 * MIB),
            1,
        ),
        (
            "v1-nested-leaf-tighter",
            8,
            q(25_000, 50_000),
            Some(128 * MIB),
            1,
        ),
        ("v1-hybrid-unlimited", 2, None, None, 2),
        ("v1-hybrid-quota", 2, q(150_000, 100_000), None, 2),
        ("v1-hybrid-quota", 1, q(150_000, 100_000), None, 1),
        ("v1-hybrid-quota", 64, q(150_000, 100_000), None, 2),
        ("v2-private-ns", 2, q(50_000, 100_000), None, 1),
        ("v2-nested", 4, q(100_000, 100_000), Some(1024 * MIB), 1),
        ("v2-max", 3, None, None, 3),
        ("v2-outside-ns", 8, q(200_000, 100_000), Some(2048 * MIB), 2),
        ("v1-two-mounts", 2, q(50_000, 100_000), None, 1),
        ("v1-broken", 4, q(100_000, 100_000), None, 1),
        ("none", 6, None, None, 6),
    ];
    for &(case, affinity, quota, memory, cpus) in cases {
        let limits = fixture(case, affinity);
        let context = format!("{case} (affinity {affinity}): {limits:#?}");
        assert_eq!(limits.affinity, affinity, "{context}");
        assert_eq!(limits.quota, quota, "{context}");
        assert_eq!(limits.memory, memory, "{context}");
        assert_eq!(limits.cpus(), cpus, "{context}");
    }
}

/// The notes of a fixture with the fixture's own directory removed from paths.
fn notes(case: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(case)
        .join("root");
    let root = root.display().to_string();
    fixture(case, 2)
        .notes
        .iter()
        .map(|n| n.replace(&root, ""))
        .collect()
}

#[test]
fn notes_name_the_file_and_version() {
    assert_eq!(
        notes("v1-nested-parent-tighter"),
        [
            "cpu quota 50000/100000 (0.5 CPUs) from /sys/fs/cgroup/cpu,cpuacct/kubepods/pod1/cpu.cfs_quota_us (v1)",
            "memory limit 268435456 bytes from /sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes (v1)",
        ]
    );
    assert_eq!(
        notes("v2-nested"),
        [
            "cpu quota 100000/100000 (1 CPUs) from /sys/fs/cgroup/system.slice/cpu.max (v2)",
            "memory limit 1073741824 bytes from /sys/fs/cgroup/system.slice/app.service/memory.max (v2)",
        ]
    );
    assert_eq!(
        notes("v1-hybrid-unlimited"),
        [
            "no cpu quota in /sys/fs/cgroup/cpu (v1)",
            "no memory limit in /sys/fs/cgroup/memory/process_api/ce2f up to /sys/fs/cgroup/memory (v1)",
        ]
    );
}

#[test]
fn notes_explain_what_was_ignored_or_missing() {
    let broken = notes("v1-broken");
    assert_eq!(
        broken[0],
        "ignored /sys/fs/cgroup/cpu/a/b/cpu.cfs_quota_us: not a number: \"garbage\""
    );
    assert!(
        broken[1].starts_with("cpu quota 100000/100000 (1 CPUs) from /sys/fs/cgroup/cpu/a/"),
        "{broken:?}"
    );
    let outside = notes("v2-outside-ns");
    assert_eq!(
        outside[0],
        "cgroup /../../other.slice/x is outside the root / mounted at /sys/fs/cgroup; reading /sys/fs/cgroup only"
    );
    assert_eq!(
        notes("none"),
        [
            "no mounted cgroup hierarchy for cpu; assuming no cpu limit",
            "no mounted cgroup hierarchy for memory; assuming no memory limit",
        ]
    );
}

#[test]
fn limits_cpus_rounds_the_quota_up_and_caps_by_affinity() {
    // (affinity, quota, cpus)
    let cases: &[(usize, Option<Quota>, u32)] = &[
        (2, None, 2),
        (2, q(50_000, 100_000), 1),
        (2, q(150_000, 100_000), 2),
        (2, q(100_000, 100_000), 1),
        (2, q(100_001, 100_000), 2),
        (2, q(400_000, 100_000), 2),
        (16, q(400_000, 100_000), 4),
        (16, q(1_000, 100_000), 1),
        (0, None, 1),
        (4, q(0, 100_000), 1),
    ];
    for &(affinity, quota, cpus) in cases {
        let limits = Limits {
            affinity,
            quota,
            memory: None,
            notes: vec![],
        };
        assert_eq!(limits.cpus(), cpus, "affinity {affinity}, quota {quota:?}");
    }
}

#[test]
fn quota_comparison_and_text() {
    let half = Quota {
        quota_us: 50_000,
        period_us: 100_000,
    };
    let half_short = Quota {
        quota_us: 25_000,
        period_us: 50_000,
    };
    let one_and_half = Quota {
        quota_us: 150_000,
        period_us: 100_000,
    };
    assert!(half.is_tighter_than(&one_and_half));
    assert!(!one_and_half.is_tighter_than(&half));
    assert!(!half.is_tighter_than(&half_short) && !half_short.is_tighter_than(&half));
    assert_eq!(
        (half.cpus_text(), one_and_half.cpus_text()),
        ("0.5".into(), "1.5".into())
    );
    assert_eq!(
        Quota {
            quota_us: 200_000,
            period_us: 100_000
        }
        .cpus_text(),
        "2"
    );
    assert_eq!(
        Quota {
            quota_us: 100_000,
            period_us: 300_000
        }
        .cpus_text(),
        "0.33"
    );
    assert!((one_and_half.cpus() - 1.5).abs() < f64::EPSILON);
}

#[test]
fn relative_strips_the_mount_root() {
    let cases: &[(&str, &str, Option<&[&str]>)] = &[
        ("/", "/", Some(&[])),
        ("/a/b", "/", Some(&["a", "b"])),
        ("/docker/abc", "/docker/abc", Some(&[])),
        ("/docker/abc/sub", "/docker/abc", Some(&["sub"])),
        ("/docker/abcd", "/docker/abc", None),
        ("/other", "/docker", None),
        ("/../x", "/", None),
    ];
    for &(path, root, want) in cases {
        assert_eq!(relative(path, root).as_deref(), want, "{path} under {root}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn detect_reads_this_machine_without_failing() {
    let limits = detect();
    assert!(limits.affinity >= 1);
    assert!(limits.cpus() >= 1);
    assert!(
        limits.notes[0].starts_with("affinity "),
        "{:?}",
        limits.notes
    );
}
