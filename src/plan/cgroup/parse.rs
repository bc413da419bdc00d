//! Pure parsers for the kernel's cgroup files: `/proc/self/cgroup`, `/proc/self/mountinfo`
//! and the v1 and v2 CPU and memory limit files. No I/O here, so every format is tested
//! with tables.

use std::path::PathBuf;

use super::Quota;

/// The CFS period the kernel uses when none is given (100 ms, in microseconds).
pub const DEFAULT_PERIOD_US: u64 = 100_000;

/// Limits at or above 2^62 bytes mean "unlimited": cgroup v1 reports no limit as
/// `9223372036854771712` (`LONG_MAX` rounded down to a page), never as a word.
pub const UNLIMITED_BYTES: u64 = 1 << 62;

/// One line of `/proc/self/cgroup` (`hierarchy-ID:controller-list:path`, see cgroups(7)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    /// Hierarchy ID; 0 is the cgroup v2 unified hierarchy.
    pub hierarchy: u32,
    /// Controllers bound to the hierarchy (`cpu`, `cpuacct`, `name=systemd`); empty for v2.
    pub controllers: Vec<String>,
    /// The process's cgroup, relative to the hierarchy's root as seen from its namespace.
    pub path: String,
}

/// The fields of one `/proc/self/mountinfo` line that locate a cgroup hierarchy (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory of the filesystem that is mounted (field 4); not `/` for bind mounts.
    pub root: String,
    /// Where it is mounted (field 5).
    pub mount_point: PathBuf,
    /// Filesystem type after the ` - ` separator: `cgroup` (v1) or `cgroup2`.
    pub fstype: String,
    /// Super options; for v1 they name the controllers (`rw,cpu,cpuacct`).
    pub super_options: Vec<String>,
}

/// Parses `/proc/self/cgroup`, skipping lines that do not have the three fields.
pub fn proc_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.splitn(3, ':');
            let hierarchy = fields.next()?.trim().parse().ok()?;
            let controllers = fields.next()?;
            let path = fields.next()?.to_string();
            let controllers = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some(CgroupLine {
                hierarchy,
                controllers,
                path,
            })
        })
        .collect()
}

/// Parses one `/proc/self/mountinfo` line; `None` when it does not have the expected shape.
///
/// The optional fields between the mount options and ` - ` vary in number, so the line is
/// split at the separator first.
pub fn mountinfo_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split_whitespace().collect();
    let mut right = right.split_whitespace();
    let fstype = right.next()?.to_string();
    let _source = right.next()?;
    let super_options = right
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect();
    Some(Mount {
        root: unescape(left.get(3)?),
        mount_point: PathBuf::from(unescape(left.get(4)?)),
        fstype,
        super_options,
    })
}

/// Undoes the octal escapes (`\040` for a space) that mountinfo uses in paths.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match octal {
            Some(digits) if bytes[i] == b'\\' => {
                let value = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses v2 `cpu.max` (`"$MAX $PERIOD"`): `None` for `max`, fields past the second ignored.
pub fn cpu_max(text: &str) -> Result<Option<Quota>, String> {
    let mut fields = text.split_whitespace();
    let max = fields.next().ok_or("empty cpu.max")?;
    if max == "max" {
        return Ok(None);
    }
    let quota_us = number(max)?;
    let period_us = fields.next().map_or(Ok(DEFAULT_PERIOD_US), number)?;
    quota(quota_us, period_us)
}

/// Parses v1 `cpu.cfs_quota_us`: the quota in microseconds, `None` for `-1` (no quota).
pub fn cfs_quota_us(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    let quota_us: i64 = text
        .parse()
        .map_err(|_| format!("not a number: {text:?}"))?;
    Ok(u64::try_from(quota_us).ok())
}

/// Combines a v1 quota with the content of the matching `cpu.cfs_period_us`.
pub fn cfs_quota(quota_us: u64, period: &str) -> Result<Option<Quota>, String> {
    quota(quota_us, number(period.trim())?)
}

/// Builds a quota, rejecting a zero period (it would make every ratio meaningless).
fn quota(quota_us: u64, period_us: u64) -> Result<Option<Quota>, String> {
    if period_us == 0 {
        return Err("period is 0".to_string());
    }
    Ok(Some(Quota {
        quota_us,
        period_us,
    }))
}

/// Parses v2 `memory.max`: `None` for `max` or an unlimited-sized value.
pub fn memory_max(text: &str) -> Result<Option<u64>, String> {
    match text.trim() {
        "max" => Ok(None),
        value => memory_limit_in_bytes(value),
    }
}

/// Parses v1 `memory.limit_in_bytes`: `None` for values at or above [`UNLIMITED_BYTES`].
pub fn memory_limit_in_bytes(text: &str) -> Result<Option<u64>, String> {
    let bytes = number(text.trim())?;
    Ok((bytes < UNLIMITED_BYTES).then_some(bytes))
}

/// Parses an unsigned decimal number, saying what was found when it is not one.
fn number(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| format!("not a number: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An expected parse: a value or "some error".
    type Want<T> = Result<Option<T>, ()>;

    /// Shorthand for an expected quota.
    fn q(quota_us: u64, period_us: u64) -> Option<Quota> {
        Some(Quota {
            quota_us,
            period_us,
        })
    }

    #[test]
    fn cpu_max_table() {
        let cases: &[(&str, Want<Quota>)] = &[
            ("max 100000\n", Ok(None)),
            ("max", Ok(None)),
            ("50000 100000\n", Ok(q(50_000, 100_000))),
            ("150000 100000", Ok(q(150_000, 100_000))),
            ("200000 100000 1000 extra", Ok(q(200_000, 100_000))),
            ("75000", Ok(q(75_000, DEFAULT_PERIOD_US))),
            ("", Err(())),
            ("lots 100000", Err(())),
            ("50000 0", Err(())),
            ("-1 100000", Err(())),
        ];
        for (text, want) in cases {
            assert_eq!(cpu_max(text).map_err(|_| ()), *want, "cpu.max {text:?}");
        }
    }

    #[test]
    fn cfs_quota_table() {
        let quotas: &[(&str, Want<u64>)] = &[
            ("-1\n", Ok(None)),
            ("50000\n", Ok(Some(50_000))),
            ("150000", Ok(Some(150_000))),
            ("abc", Err(())),
            ("", Err(())),
        ];
        for (text, want) in quotas {
            assert_eq!(
                cfs_quota_us(text).map_err(|_| ()),
                *want,
                "cfs_quota_us {text:?}"
            );
        }
        let periods: &[(u64, &str, Want<Quota>)] = &[
            (50_000, "100000\n", Ok(q(50_000, 100_000))),
            (25_000, "50000", Ok(q(25_000, 50_000))),
            (50_000, "", Err(())),
            (50_000, "0", Err(())),
        ];
        for (quota, period, want) in periods {
            let got = cfs_quota(*quota, period).map_err(|_| ());
            assert_eq!(got, *want, "cfs quota {quota} period {period:?}");
        }
    }

    #[test]
    fn memory_table() {
        let v2: &[(&str, Want<u64>)] = &[
            ("max\n", Ok(None)),
            ("536870912\n", Ok(Some(536_870_912))),
            ("9223372036854771712", Ok(None)),
            ("-5", Err(())),
            ("", Err(())),
        ];
        for (text, want) in v2 {
            assert_eq!(
                memory_max(text).map_err(|_| ()),
                *want,
                "memory.max {text:?}"
            );
        }
        let v1: &[(&str, Want<u64>)] = &[
            ("9223372036854771712\n", Ok(None)),
            ("4611686018427387904", Ok(None)),
            ("4611686018427387903", Ok(Some(UNLIMITED_BYTES - 1))),
            ("268435456\n", Ok(Some(268_435_456))),
            ("max", Err(())),
        ];
        for (text, want) in v1 {
            let got = memory_limit_in_bytes(text).map_err(|_| ());
            assert_eq!(got, *want, "memory.limit_in_bytes {text:?}");
        }
    }

    #[test]
    fn proc_cgroup_v1_hybrid_and_v2() {
        let text =
            "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n0::/user.slice\nbroken\n";
        let lines = proc_cgroup(text);
        assert_eq!(
            lines,
            vec![
                CgroupLine {
                    hierarchy: 12,
                    controllers: vec!["cpu".into(), "cpuacct".into()],
                    path: "/docker/abc".into()
                },
                CgroupLine {
                    hierarchy: 1,
                    controllers: vec!["name=systemd".into()],
                    path: "/init.scope".into()
                },
                CgroupLine {
                    hierarchy: 0,
                    controllers: vec![],
                    path: "/user.slice".into()
                },
            ]
        );
    }

    #[test]
    fn proc_cgroup_keeps_colons_in_paths() {
        let lines = proc_cgroup("0::/a:b\n");
        assert_eq!(lines[0].path, "/a:b");
    }

    #[test]
    fn mountinfo_lines() {
        let v1 = "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:9 master:2 - cgroup cgroup rw,cpu,cpuacct";
        assert_eq!(
            mountinfo_line(v1),
            Some(Mount {
                root: "/docker/abc".into(),
                mount_point: "/sys/fs/cgroup/cpu,cpuacct".into(),
                fstype: "cgroup".into(),
                super_options: vec!["rw".into(), "cpu".into(), "cpuacct".into()],
            })
        );
        let v2 = "41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw,nsdelegate";
        let mount = mountinfo_line(v2).unwrap();
        assert_eq!(
            (mount.root.as_str(), mount.fstype.as_str()),
            ("/", "cgroup2")
        );
        assert_eq!(mount.mount_point, PathBuf::from("/sys/fs/cgroup"));
        let spaced = r"50 31 0:40 /a\040b /mnt/my\040cgroup rw - cgroup2 none rw";
        let mount = mountinfo_line(spaced).unwrap();
        assert_eq!(mount.root, "/a b");
        assert_eq!(mount.mount_point, PathBuf::from("/mnt/my cgroup"));
        assert_eq!(mountinfo_line("32 31 0:29 / /x rw"), None);
        assert_eq!(mountinfo_line(""), None);
    }

    #[test]
    fn unescape_leaves_other_backslashes() {
        assert_eq!(unescape(r"a\134b"), r"a\b");
        assert_eq!(unescape(r"a\9b\"), r"a\9b\");
        assert_eq!(unescape(r"\011tab"), "\ttab");
    }
}
