//! The one launch spec exec mode and supervise mode both take; both run it through
//! [`child::Prepared::exec`], so a program that cannot run fails the same way in both.

pub mod child;
pub mod exec;

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exit::Failure;
use crate::signals::{SignalTable, SignalTarget};

/// Everything needed to start the program and, when supervised, to stop it.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The program, resolved on `PATH` by the plan.
    pub program: PathBuf,
    pub argv: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub cwd: PathBuf,
    /// The user to become before exec; `None`: stay who liftoff is.
    pub identity: Option<Identity>,
    pub stop: Stop,
}

/// A user to become: supplementary groups, then the group, then the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// Every group id, the primary one included (what `setgroups` gets).
    pub groups: Vec<u32>,
    /// For messages: `nobody (uid 65534, gid 65534, groups 65534)`.
    pub shown: String,
}

/// How supervise mode forwards signals and stops the program.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    pub target: SignalTarget,
    pub table: SignalTable,
    /// From the first shutdown signal (or the main child's exit) to SIGKILL.
    pub stop_timeout: Duration,
    /// Exit codes (after the 128+N mapping) reported as 0.
    pub success_codes: Vec<i32>,
    /// How long the first shutdown signal is held back while the server keeps serving.
    pub drain_delay: Duration,
    /// A death by the stop signal liftoff forwarded is a clean stop (servers re-raise it).
    pub forwarded_stop_is_success: bool,
}

/// A failed start as liftoff's error with the shell's codes (127 missing, 126 cannot run);
/// with a user to become, EPERM is that switch failing (78).
pub fn failure(program: &Path, identity: Option<&Identity>, err: io::Error) -> anyhow::Error {
    let shown = program.display();
    if let (Some(identity), Some(libc::EPERM)) = (identity, err.raw_os_error()) {
        return Failure::Config(format!(
            "failed to start {shown} as {}: {} (does the container drop CAP_SETUID or CAP_SETGID?)",
            identity.shown,
            crate::exit::os_error(&err)
        ))
        .into();
    }
    let why = &err;
    let failure = match err.raw_os_error() {
        Some(libc::ENOENT) => Failure::NotFound(format!(
            "failed to execute {shown}: {why} (the program, or the interpreter on its #! line, is missing)"
        )),
        Some(libc::EACCES | libc::EISDIR | libc::EPERM) => Failure::NotExecutable(format!(
            "failed to execute {shown}: {why} (is it executable, and not a directory?)"
        )),
        Some(libc::ENOEXEC) => Failure::NotExecutable(format!(
            "failed to execute {shown}: {why} (not a program for this machine, or a script without a #! line)"
        )),
        Some(libc::ETXTBSY) => Failure::NotExecutable(format!(
            "failed to execute {shown}: {why} (it is open for writing)"
        )),
        _ => return anyhow::anyhow!("failed to start {shown}: {why}"),
    };
    failure.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn start_failures_map_to_shell_codes_and_say_what_to_check() {
        let program = Path::new("/opt/app/server");
        let rows = [
            (libc::ENOENT, exit::NOT_FOUND, "#! line, is missing"),
            (libc::EACCES, exit::NOT_EXECUTABLE, "is it executable"),
            (libc::EISDIR, exit::NOT_EXECUTABLE, "not a directory"),
            (
                libc::ENOEXEC,
                exit::NOT_EXECUTABLE,
                "not a program for this machine",
            ),
            (libc::ETXTBSY, exit::NOT_EXECUTABLE, "open for writing"),
            (libc::E2BIG, exit::FAILURE, "failed to start"),
        ];
        for (errno, code, text) in rows {
            let err = failure(program, None, io::Error::from_raw_os_error(errno));
            let shown = format!("{err:#}");
            assert!(
                shown.contains("/opt/app/server") && shown.contains(text),
                "{errno}: {shown}"
            );
            assert_eq!(exit::code(&err), code, "{shown}");
        }
        let nobody = Identity {
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
            shown: "nobody (uid 65534, gid 65534, groups 65534)".into(),
        };
        let err = failure(
            program,
            Some(&nobody),
            io::Error::from_raw_os_error(libc::EPERM),
        );
        let shown = format!("{err:#}");
        assert!(
            shown.contains("as nobody (uid 65534") && shown.contains("CAP_SETUID"),
            "{shown}"
        );
        assert_eq!(exit::code(&err), exit::CONFIG);
    }
}
