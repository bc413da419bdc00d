//! Which directories hold the limits for one controller: the process's cgroup found
//! through `/proc/self/cgroup` and `/proc/self/mountinfo`, and each parent up to the mount
//! point, because a limit on any ancestor applies too.

use std::path::{Path, PathBuf};

use super::parse::{CgroupLine, Mount};

/// Which cgroup version a hierarchy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Version {
    /// One hierarchy per controller group, `fstype` `cgroup`.
    V1,
    /// The unified hierarchy, `fstype` `cgroup2`.
    V2,
}

impl std::fmt::Display for Version {
    /// Prints "v1" or "v2", as the notes say.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

/// The directories whose limits apply to the process for one controller.
#[derive(Debug)]
pub(super) struct Hierarchy {
    /// cgroup version of the files to read.
    pub(super) version: Version,
    /// The process's own cgroup directory first, then each parent up to the mount point.
    pub(super) levels: Vec<PathBuf>,
}

impl Hierarchy {
    /// Reads each level and keeps the tightest value; unreadable files become notes, and
    /// a note says where the `what` came from (`shown`), or that there is none.
    pub(super) fn tightest<T>(
        &self,
        notes: &mut Vec<String>,
        what: &str,
        read: impl Fn(&Path) -> Result<Option<(T, PathBuf)>, String>,
        tighter: impl Fn(&T, &T) -> bool,
        shown: impl Fn(&T) -> String,
    ) -> Option<T> {
        let mut best: Option<(T, PathBuf)> = None;
        for dir in &self.levels {
            match read(dir) {
                Ok(Some(found)) if best.as_ref().is_none_or(|b| tighter(&found.0, &b.0)) => {
                    best = Some(found)
                }
                Ok(_) => {}
                Err(err) => notes.push(format!("ignored {err}")),
            }
        }
        notes.push(match &best {
            Some((value, file)) => {
                let (value, file) = (shown(value), file.display());
                format!("{what} {value} from {file} ({})", self.version)
            }
            None => {
                let (leaf, top) = (&self.levels[0], &self.levels[self.levels.len() - 1]);
                let up = (leaf != top).then(|| format!(" up to {}", top.display()));
                let up = up.unwrap_or_default();
                format!("no {what} in {}{up} ({})", leaf.display(), self.version)
            }
        });
        best.map(|(value, _)| value)
    }
}

/// Finds the directories to read for `controller`: its v1 hierarchy when one is mounted
/// (hybrid systems keep controllers on v1), else the v2 unified hierarchy.
pub(super) fn locate(
    root: &Path,
    controller: &str,
    cgroups: &[CgroupLine],
    mounts: &[Mount],
    notes: &mut Vec<String>,
) -> Option<Hierarchy> {
    let v1 = cgroups
        .iter()
        .find(|line| line.hierarchy != 0 && line.controllers.iter().any(|c| c == controller));
    if let Some(line) = v1 {
        let candidates = mounts
            .iter()
            .filter(|m| m.fstype == "cgroup" && m.super_options.iter().any(|o| o == controller));
        if let Some(levels) = levels(root, &line.path, candidates, notes) {
            return Some(Hierarchy {
                version: Version::V1,
                levels,
            });
        }
    }
    let v2 = cgroups
        .iter()
        .find(|line| line.hierarchy == 0 && line.controllers.is_empty());
    let levels = v2.and_then(|line| {
        let candidates = mounts.iter().filter(|m| m.fstype == "cgroup2");
        levels(root, &line.path, candidates, notes)
    });
    if levels.is_none() {
        notes.push(format!(
            "no mounted cgroup hierarchy for {controller}; assuming no {controller} limit"
        ));
    }
    levels.map(|levels| Hierarchy {
        version: Version::V2,
        levels,
    })
}

/// The directories from the process's cgroup up to the mount point of the best mount.
///
/// The best mount is the one whose root contains `cgroup_path` (the longest such root,
/// which is how bind-mounted container roots are stripped). When none does, the process
/// sits outside what is mounted (another cgroup namespace), and only the mount point is read.
fn levels<'a>(
    root: &Path,
    cgroup_path: &str,
    candidates: impl Iterator<Item = &'a Mount>,
    notes: &mut Vec<String>,
) -> Option<Vec<PathBuf>> {
    let candidates: Vec<&Mount> = candidates.collect();
    let mut best: Option<(&Mount, Vec<&str>)> = None;
    for mount in &candidates {
        if let Some(rest) = relative(cgroup_path, &mount.root)
            && best
                .as_ref()
                .is_none_or(|(b, _)| mount.root.len() > b.root.len())
        {
            best = Some((mount, rest));
        }
    }
    let (mount, rest) = match best {
        Some(found) => found,
        None => {
            let mount = candidates.first()?;
            let point = mount.mount_point.display();
            notes.push(format!("cgroup {cgroup_path} is outside the root {} mounted at {point}; reading {point} only", mount.root));
            (*mount, Vec::new())
        }
    };
    let mut dir = root.join(
        mount
            .mount_point
            .strip_prefix("/")
            .unwrap_or(&mount.mount_point),
    );
    let mut levels = vec![dir.clone()];
    for component in rest {
        dir.push(component);
        levels.push(dir.clone());
    }
    levels.reverse();
    Some(levels)
}

/// The components of `path` below `mount_root`, or `None` when `path` is not inside it
/// (including paths that climb out with `..`, as seen from another cgroup namespace).
pub(super) fn relative<'a>(path: &'a str, mount_root: &str) -> Option<Vec<&'a str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|&p| p == ".." || p == ".") {
        return None;
    }
    let root_parts = mount_root.split('/').filter(|p| !p.is_empty());
    let mut rest = parts.into_iter();
    for want in root_parts {
        if rest.next() != Some(want) {
            return None;
        }
    }
    Some(rest.collect())
}
