//! `user`: who the server (and the `before` steps) run as when liftoff starts as root.
//!
//! What gosu and su-exec do, as a setting: `user = "app"`, `"app:staff"`, `"1000"` or
//! `"1000:1000"`. The name is looked up once, before anything runs, so an unknown user is
//! a configuration error (78) and not a server that fails later. The switch itself is
//! supplementary groups, then the group, then the user, in that order (each later call
//! needs the privilege the earlier ones leave), and `HOME` comes from the user's entry.
//!
//! Resolution is pure over a small [`Database`] trait so its rules are table-tested; the
//! real database is the C library's (`getpwnam`, `getgrnam`, `getgrouplist`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A user or group as written: a name or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Who {
    Name(String),
    /// A numeric id, which need not have an entry.
    Id(u32),
}

/// The resolved identity the program runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user's name, when it has an entry in the user database.
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
    /// Every group id, the primary one included (what `setgroups` gets).
    pub groups: Vec<u32>,
    /// The user's home directory, which becomes `HOME` (`/` without an entry).
    pub home: PathBuf,
}

/// One entry of the user database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The lookups resolution needs; the real one is [`System`].
pub trait Database {
    /// The user called `name`.
    fn user_by_name(&self, name: &str) -> Result<Option<Entry>, String>;
    /// The user with id `uid`.
    fn user_by_uid(&self, uid: u32) -> Result<Option<Entry>, String>;
    /// The id of the group called `name`.
    fn group_by_name(&self, name: &str) -> Result<Option<u32>, String>;
    /// Every group `name` belongs to, `gid` included.
    fn group_list(&self, name: &str, gid: u32) -> Result<Vec<u32>, String>;
}

/// The C library's user and group databases (`/etc/passwd`, `/etc/group`, NSS).
pub struct System;

impl Database for System {
    /// `getpwnam`.
    fn user_by_name(&self, name: &str) -> Result<Option<Entry>, String> {
        nix::unistd::User::from_name(name)
            .map(|u| u.map(entry))
            .map_err(|e| format!("failed to look up user `{name}`: {e}"))
    }

    /// `getpwuid`.
    fn user_by_uid(&self, uid: u32) -> Result<Option<Entry>, String> {
        nix::unistd::User::from_uid(uid.into())
            .map(|u| u.map(entry))
            .map_err(|e| format!("failed to look up uid {uid}: {e}"))
    }

    /// `getgrnam`.
    fn group_by_name(&self, name: &str) -> Result<Option<u32>, String> {
        nix::unistd::Group::from_name(name)
            .map(|g| g.map(|g| g.gid.as_raw()))
            .map_err(|e| format!("failed to look up group `{name}`: {e}"))
    }

    /// `getgrouplist`.
    #[cfg(not(target_vendor = "apple"))]
    fn group_list(&self, name: &str, gid: u32) -> Result<Vec<u32>, String> {
        let c_name =
            std::ffi::CString::new(name).map_err(|_| format!("`{name}` contains a NUL byte"))?;
        nix::unistd::getgrouplist(&c_name, gid.into())
            .map(|groups| groups.into_iter().map(|g| g.as_raw()).collect())
            .map_err(|e| format!("failed to list the groups of `{name}`: {e}"))
    }

    /// The primary group only: macOS has no `getgrouplist` in nix, and dropping to a
    /// user is a container feature that laptops do not need beyond building.
    #[cfg(target_vendor = "apple")]
    fn group_list(&self, _name: &str, gid: u32) -> Result<Vec<u32>, String> {
        Ok(vec![gid])
    }
}

/// A database entry from nix's.
fn entry(user: nix::unistd::User) -> Entry {
    Entry {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }
}

/// Resolves `spec` (`user[:group]`, names or ids) against the system's databases.
pub fn resolve(spec: &str) -> Result<Credentials, String> {
    resolve_in(&System, spec)
}

/// Resolves `spec` against `db`.
///
/// A numeric uid without an entry is allowed (Kubernetes' `runAsUser` works the same way)
/// but then needs its group spelled out, since nothing else says which group it has;
/// a numeric gid need not exist either. Named users and groups must exist.
pub fn resolve_in(db: &dyn Database, spec: &str) -> Result<Credentials, String> {
    let (user, group) = parse_spec(spec)?;
    let found = match &user {
        Who::Name(name) => Some(db.user_by_name(name)?.ok_or_else(|| {
            format!("there is no user `{name}` in the user database (/etc/passwd); create it in the image (useradd) or give a uid")
        })?),
        Who::Id(uid) => db.user_by_uid(*uid)?,
    };
    let gid = match (&group, &found) {
        (Some(Who::Id(gid)), _) => *gid,
        (Some(Who::Name(name)), _) => db.group_by_name(name)?.ok_or_else(|| {
            format!("there is no group `{name}` in the group database (/etc/group)")
        })?,
        (None, Some(entry)) => entry.gid,
        (None, None) => {
            return Err(format!(
                "uid {spec} has no entry in the user database, so its group is unknown; give it as `{spec}:GID`"
            ));
        }
    };
    Ok(match found {
        Some(entry) => Credentials {
            groups: db.group_list(&entry.name, gid)?,
            name: Some(entry.name),
            uid: entry.uid,
            gid,
            home: entry.home,
        },
        None => Credentials {
            name: None,
            uid: match user {
                Who::Id(uid) => uid,
                Who::Name(_) => unreachable!("a named user without an entry is an error above"),
            },
            gid,
            groups: vec![gid],
            home: PathBuf::from("/"),
        },
    })
}

/// Splits `user[:group]` into its parts, each a name or a number.
fn parse_spec(spec: &str) -> Result<(Who, Option<Who>), String> {
    // No user database holds one, and messages repeat the names.
    if spec.contains(char::is_control) {
        return Err(
            "it holds a control character; write `user`, `user:group`, `uid` or `uid:gid`".into(),
        );
    }
    let (user, group) = match spec.split_once(':') {
        Some((user, group)) => (user, Some(group)),
        None => (spec, None),
    };
    let who = |part: &str, what: &str| -> Result<Who, String> {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!(
                "`{spec}` has no {what}; write `user`, `user:group`, `uid` or `uid:gid`"
            ));
        }
        match part.parse::<u32>() {
            // (uid_t)-1 tells setuid and setgid "no change": it is not an id.
            Ok(u32::MAX) => Err(format!(
                "{part} is not a valid {what} id (the kernel reads it as \"no change\"); give an id below 4294967295"
            )),
            Ok(id) => Ok(Who::Id(id)),
            Err(_) => Ok(Who::Name(part.to_string())),
        }
    };
    Ok((
        who(user, "user")?,
        group.map(|g| who(g, "group")).transpose()?,
    ))
}

/// Decides whether liftoff, running with effective uid `euid`, can become `creds`:
/// `true` when it is root and drops to the user, `false` when it already is the user.
///
/// Only root with CAP_SETUID and CAP_SETGID can switch (a container may drop them);
/// anyone else can only already be the user. Failing here, before anything runs, beats a
/// server that starts as the wrong user or a `setuid` error later.
pub fn switch(creds: &Credentials, euid: u32) -> Result<bool, String> {
    match euid {
        0 if !can_switch_ids() => Err(format!(
            "liftoff runs as root without CAP_SETUID and CAP_SETGID (the container drops them), so it cannot switch to {}; keep those capabilities or remove `user`",
            creds.describe()
        )),
        0 => Ok(true),
        uid if uid == creds.uid => Ok(false),
        uid => Err(format!(
            "liftoff runs as uid {uid}, not root, so it cannot switch to {}; start the container as root (remove the image's USER line) or remove `user`",
            creds.describe()
        )),
    }
}

/// Whether this process may change its user and group ids: CAP_SETUID (7) and
/// CAP_SETGID (6) in its effective set (`/proc/self/status`). Without `/proc`, it is
/// assumed so, and a failure shows at start.
fn can_switch_ids() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return true;
    };
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok());
    caps.is_none_or(|caps| caps & (1 << 6) != 0 && caps & (1 << 7) != 0)
}

/// Why `creds` could not use `dir` as its working directory, if so: every directory on
/// the way needs search permission for the user, and `dir` itself read permission too,
/// by the mode bits (liftoff checks as root, so `access(2)` would not tell).
pub fn cannot_enter(dir: &Path, creds: &Credentials) -> Option<String> {
    if creds.uid == 0 {
        return None;
    }
    let allowed = |path: &Path, need: u32| -> bool {
        let Ok(meta) = std::fs::metadata(path) else {
            return true;
        };
        let bits = if meta.uid() == creds.uid {
            meta.mode() >> 6
        } else if creds.groups.contains(&meta.gid()) || meta.gid() == creds.gid {
            meta.mode() >> 3
        } else {
            meta.mode()
        };
        bits & need == need
    };
    let blocked = dir
        .ancestors()
        .find(|p| !allowed(p, if *p == dir { 0o5 } else { 0o1 }))?;
    Some(format!(
        "{} may not {} {}",
        creds.describe(),
        if blocked == dir { "read" } else { "enter" },
        crate::exit::shown_path(blocked)
    ))
}

impl Credentials {
    /// What the child switches to.
    pub fn identity(&self) -> crate::launch::Identity {
        crate::launch::Identity {
            uid: self.uid,
            gid: self.gid,
            groups: self.groups.clone(),
            shown: self.describe(),
        }
    }

    /// `nobody (uid 65534, gid 65534, groups 65534)`, for messages and the plan.
    pub fn describe(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        let ids = format!(
            "uid {}, gid {}, groups {}",
            self.uid,
            self.gid,
            groups.join(",")
        );
        match &self.name {
            Some(name) => format!("{name} ({ids})"),
            None => ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small user database: app (1000, group 1000, also in 27), and groups app, staff.
    struct Fake;

    impl Database for Fake {
        fn user_by_name(&self, name: &str) -> Result<Option<Entry>, String> {
            Ok((name == "app").then(app))
        }
        fn user_by_uid(&self, uid: u32) -> Result<Option<Entry>, String> {
            Ok((uid == 1000).then(app))
        }
        fn group_by_name(&self, name: &str) -> Result<Option<u32>, String> {
            Ok(match name {
                "app" => Some(1000),
                "staff" => Some(50),
                _ => None,
            })
        }
        fn group_list(&self, name: &str, gid: u32) -> Result<Vec<u32>, String> {
            assert_eq!(name, "app");
            Ok(vec![gid, 27])
        }
    }

    /// The `app` entry.
    fn app() -> Entry {
        Entry {
            name: "app".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/app".into(),
        }
    }

    #[test]
    fn specs_resolve_to_ids_groups_and_home() {
        let rows: [(&str, u32, u32, &[u32], &str); 7] = [
            ("app", 1000, 1000, &[1000, 27], "/home/app"),
            ("1000", 1000, 1000, &[1000, 27], "/home/app"),
            ("app:staff", 1000, 50, &[50, 27], "/home/app"),
            ("app:50", 1000, 50, &[50, 27], "/home/app"),
            ("1000:1000", 1000, 1000, &[1000, 27], "/home/app"),
            ("10001:10001", 10001, 10001, &[10001], "/"),
            ("10001:staff", 10001, 50, &[50], "/"),
        ];
        for (spec, uid, gid, groups, home) in rows {
            let c = resolve_in(&Fake, spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
            assert_eq!(
                (c.uid, c.gid, c.groups.as_slice(), c.home.to_str().unwrap()),
                (uid, gid, groups, home),
                "{spec}"
            );
        }
    }

    #[test]
    fn unknown_or_incomplete_specs_are_errors_that_say_what_to_do() {
        let rows = [
            ("ghost", "no user `ghost`"),
            ("app:ghosts", "no group `ghosts`"),
            ("10001", "give it as `10001:GID`"),
            ("", "has no user"),
            (":1000", "has no user"),
            ("app:", "has no group"),
        ];
        for (spec, needle) in rows {
            let err = resolve_in(&Fake, spec).unwrap_err();
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn the_id_that_means_no_change_is_refused() {
        for spec in ["4294967295", "4294967295:4294967295", "app:4294967295"] {
            let err = resolve_in(&Fake, spec).unwrap_err();
            assert!(err.contains("not a valid"), "{spec}: {err}");
        }
    }

    #[test]
    fn a_directory_the_user_may_not_enter_is_named() {
        let nobody = Credentials {
            name: Some("nobody".into()),
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
            home: "/nonexistent".into(),
        };
        let dir = std::env::temp_dir().join(format!("liftoff-user-{}", std::process::id()));
        let inner = dir.join("inner");
        std::fs::create_dir_all(&inner).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let why = cannot_enter(&inner, &nobody);
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let fine = cannot_enter(&inner, &nobody);
        std::fs::remove_dir_all(&dir).unwrap();
        let why = why.expect("a 0700 directory of another user blocks nobody");
        assert!(
            why.contains("may not enter") && why.contains("liftoff-user-"),
            "{why}"
        );
        assert_eq!(fine, None);
    }

    #[test]
    fn only_root_switches_and_others_can_only_already_be_the_user() {
        let app = resolve_in(&Fake, "app").unwrap();
        if can_switch_ids() {
            assert_eq!(switch(&app, 0), Ok(true));
        }
        assert_eq!(switch(&app, 1000), Ok(false));
        let err = switch(&app, 1001).unwrap_err();
        assert!(
            err.contains("uid 1001, not root") && err.contains("app (uid 1000"),
            "{err}"
        );
    }

    #[test]
    fn the_system_database_knows_root() {
        let root = resolve("root").unwrap();
        assert_eq!(
            (root.uid, root.gid, root.name.as_deref()),
            (0, 0, Some("root"))
        );
        assert!(root.groups.contains(&0), "{root:?}");
        assert_eq!(resolve("0").unwrap().uid, 0);
        assert!(resolve("no-such-user-liftoff").is_err());
    }
}
