//! Starting the main child: its own process group, the terminal's foreground if liftoff
//! had it, exactly the signal mask and ignored signals liftoff inherited, and the
//! configured user.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Context;
use nix::sys::signal::SigSet;

use super::Spec;
use crate::signals::{all_signals, contains};
use crate::user::Credentials;

/// What the child must get back before exec; plain values, copied into the child.
#[derive(Clone, Copy)]
pub struct Inherited {
    /// The signal mask liftoff was started with.
    pub mask: SigSet,
    /// The signals liftoff was started with ignored.
    pub ignored: SigSet,
}

/// Starts the main child and returns its pid (which is also its process group id).
///
/// Exec failures come back from `spawn` (std reports them through a pipe) and map to
/// 127 when the program is missing and 126 when it cannot be executed.
pub fn spawn(spec: &Spec, inherited: Inherited) -> anyhow::Result<i32> {
    anyhow::ensure!(
        spec.cwd.is_dir(),
        "failed to start {}: working directory {} does not exist",
        spec.program.display(),
        spec.cwd.display()
    );
    let mut cmd = Command::new(&spec.program);
    if let Some((arg0, args)) = spec.argv.split_first() {
        cmd.arg0(arg0).args(args);
    }
    cmd.env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd);
    cmd.process_group(0);
    let foreground = terminal_foreground();
    let user = spec.user.clone();
    // SAFETY: `in_child` makes only async-signal-safe syscalls (tcgetpgrp, tcsetpgrp,
    // getpid, sigaction, setgroups, setgid, setuid, sigprocmask) on values moved in
    // before the fork; it neither allocates nor takes locks.
    unsafe { cmd.pre_exec(move || in_child(inherited, foreground, user.as_ref())) };
    match cmd.spawn() {
        Ok(child) => {
            let pid = i32::try_from(child.id()).context("failed to read the child's pid")?;
            Ok(pid)
        }
        Err(err) => Err(exec_failure(&spec.program, spec.user.as_ref(), err)),
    }
}

/// Liftoff's process group, when stdin is a terminal whose foreground group it is:
/// only then does the child take the terminal over (not when liftoff runs in the
/// background of a shell).
fn terminal_foreground() -> Option<libc::pid_t> {
    // SAFETY: plain queries on fd 0 and on liftoff itself.
    unsafe {
        let pgrp = libc::getpgrp();
        (libc::isatty(libc::STDIN_FILENO) == 1 && libc::tcgetpgrp(libc::STDIN_FILENO) == pgrp)
            .then_some(pgrp)
    }
}

/// Runs in the child between fork and exec (after std's `setpgid(0, 0)` and its reset of
/// SIGPIPE to SIG_DFL): take the terminal, restore dispositions, become the user, then
/// restore the mask.
///
/// The order matters: `tcsetpgrp` from what is now a background group raises SIGTTOU
/// unless it is blocked, and it still is until the mask is restored last.
fn in_child(
    inherited: Inherited,
    foreground: Option<libc::pid_t>,
    user: Option<&Credentials>,
) -> io::Result<()> {
    // SAFETY: async-signal-safe syscalls only; see `spawn`.
    unsafe {
        if foreground.is_some() {
            // Failure only costs Ctrl-C reaching the child directly; nothing to report
            // from here, where even logging is unsafe.
            libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
        }
        // liftoff installs no handler, so every signal it did not inherit as ignored is
        // at its default here (execve would reset a handler anyway). Only the ignored
        // ones need restoring: std resets SIGPIPE to default before this runs, and
        // supervising may have taken SIGCHLD back from "ignore". One call per ignored
        // signal instead of one per signal keeps the child's start short.
        for raw in all_signals().filter(|&raw| contains(&inherited.ignored, raw)) {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_IGN;
            libc::sigaction(raw, &action, std::ptr::null_mut());
        }
    }
    if let Some(user) = user {
        crate::user::become_user(user.uid, user.gid, &user.groups)?;
    }
    // SAFETY: as above.
    unsafe {
        if libc::sigprocmask(
            libc::SIG_SETMASK,
            inherited.mask.as_ref(),
            std::ptr::null_mut(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Turns a failed spawn into liftoff's error, with the shell's codes for exec failures
/// ([`crate::exec::failure`], so both modes say the same).
///
/// With a user set, EPERM is the switch failing (exec itself reports EACCES for a file it
/// may not run), so it is liftoff's own failure, not the program's.
fn exec_failure(
    program: &std::path::Path,
    user: Option<&Credentials>,
    err: io::Error,
) -> anyhow::Error {
    let shown = program.display();
    if let (Some(user), Some(libc::EPERM)) = (user, err.raw_os_error()) {
        return anyhow::anyhow!(
            "failed to start {shown} as {}: {err} (does the container drop CAP_SETUID or CAP_SETGID?)",
            user.describe()
        );
    }
    crate::exec::failure(program, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn exec_failures_map_to_shell_codes() {
        let program = std::path::Path::new("/opt/app/server");
        let rows = [
            (libc::ENOENT, exit::NOT_FOUND, "is missing"),
            (libc::EACCES, exit::NOT_EXECUTABLE, "is it executable"),
            (libc::ENOEXEC, exit::NOT_EXECUTABLE, "not a program"),
            (
                libc::E2BIG,
                exit::FAILURE,
                "failed to start /opt/app/server",
            ),
        ];
        for (errno, code, text) in rows {
            let err = exec_failure(program, None, io::Error::from_raw_os_error(errno));
            let shown = format!("{err:#}");
            assert!(
                shown.contains("/opt/app/server") && shown.contains(text),
                "{shown}"
            );
            assert_eq!(exit::code_for(Err(err)), code, "{shown}");
        }
        let nobody = Credentials {
            name: Some("nobody".into()),
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
            home: "/nonexistent".into(),
        };
        let eperm = io::Error::from_raw_os_error(libc::EPERM);
        let err = exec_failure(program, Some(&nobody), eperm);
        let shown = format!("{err:#}");
        assert!(
            shown.contains("as nobody (uid 65534") && shown.contains("CAP_SETUID"),
            "{shown}"
        );
        assert_eq!(exit::code_for(Err(err)), exit::FAILURE);
    }
}
