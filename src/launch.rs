//! Starting the program: the one launch spec that exec mode and supervise mode both take,
//! and the one way both turn it into a running program.
//!
//! The plan resolves a [`Spec`] (program, argv, environment, directory, user, and how to
//! stop it). Exec mode replaces liftoff with it ([`exec::exec`]); supervise mode forks
//! and does the same in the child (`supervise/spawn.rs`). Both go through
//! [`child::Prepared::exec`], so a program that cannot be run fails the same way, with
//! the same code, in both modes and with either C library.

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
    /// The program, as a path (resolved on `PATH` by the plan).
    pub program: PathBuf,
    /// The argument vector, `argv[0]` included.
    pub argv: Vec<OsString>,
    /// The program's complete environment.
    pub env: Vec<(OsString, OsString)>,
    /// The program's working directory.
    pub cwd: PathBuf,
    /// The user to become before exec; `None`: stay who liftoff is.
    pub identity: Option<Identity>,
    /// How supervise mode forwards signals and stops the program.
    pub stop: Stop,
}

/// A user to become: supplementary groups, then the group, then the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// Every group id, the primary one included (what `setgroups` gets).
    pub groups: Vec<u32>,
    /// How to name it in messages: `nobody (uid 65534, gid 65534, groups 65534)`.
    pub shown: String,
}

/// How supervise mode forwards signals and stops the program.
#[derive(Clone, Debug, PartialEq)]
pub struct Stop {
    /// Where forwarded signals go.
    pub target: SignalTarget,
    /// Received signal → forwarded signal or nothing.
    pub table: SignalTable,
    /// Time from the first shutdown signal (or the main child's exit) to SIGKILL.
    pub stop_timeout: Duration,
    /// Exit codes (after the 128+N mapping) reported as 0.
    pub success_codes: Vec<i32>,
    /// Time the first shutdown signal is held back while the server keeps serving.
    pub drain_delay: Duration,
    /// A death by the very stop signal liftoff forwarded counts as a clean stop
    /// (servers that re-raise it after shutting down cleanly).
    pub forwarded_stop_is_success: bool,
}

/// Turns a failed start into liftoff's error, with the shell's codes: 127 when the
/// program or the interpreter on its `#!` line is missing, 126 when it cannot be run.
/// With a user to become, EPERM is that switch failing, a configuration problem.
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
