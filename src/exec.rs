//! Exec mode: replace liftoff with the program.
//!
//! `execve` is called directly rather than through `std::process::Command::exec`, because
//! std resets SIGPIPE to its default in the new program; liftoff passes on exactly the
//! signal dispositions it inherited, and restores the signal mask it blocked at start.
//! With `user` set, liftoff drops to that user last, after everything that needs root.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Context;
use nix::sys::signal::SigSet;

use crate::exit::Failure;
use crate::plan::Plan;

/// Replaces liftoff with the plan's program; returns only on failure.
pub fn exec(plan: &Plan, inherited_mask: &SigSet) -> anyhow::Result<i32> {
    let program = c_string(plan.program.as_os_str())?;
    let argv = plan
        .argv
        .iter()
        .map(c_string)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let env = plan
        .env_pairs()
        .map(|(k, v)| {
            c_string(OsStr::from_bytes(
                &[k.as_bytes(), b"=", v.as_bytes()].concat(),
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    nix::unistd::chdir(&plan.cwd)
        .with_context(|| format!("failed to change directory to {}", plan.cwd.display()))?;
    forget_subreaper(plan)?;
    if let Some(user) = &plan.user
        && crate::user::switch(user, nix::unistd::geteuid().as_raw())
            == Ok(crate::user::Switch::Drop)
    {
        crate::user::become_user(user.uid, user.gid, &user.groups)
            .with_context(|| format!("failed to switch to user {}", user.describe()))?;
    }
    crate::supervise::give_back_chld()?;
    crate::signals::restore_mask(inherited_mask).context("failed to restore the signal mask")?;
    let Err(errno) = nix::unistd::execve(&program, &argv, &env);
    Err(failure(
        &plan.program,
        io::Error::from_raw_os_error(errno as i32),
    ))
}

/// Turns a failed exec into liftoff's error, with the shell's codes: 127 when the
/// program or the interpreter on its `#!` line is missing, 126 when it cannot be
/// executed. Supervise mode words its failures the same way (`spawn`).
pub fn failure(program: &Path, err: io::Error) -> anyhow::Error {
    let shown = program.display();
    let failure = match (err.kind(), err.raw_os_error()) {
        (io::ErrorKind::NotFound, _) => Failure::NotFound(format!(
            "failed to execute {shown}: {err} (the program, or the interpreter on its #! line, is missing)"
        )),
        (io::ErrorKind::PermissionDenied, _) | (_, Some(libc::EISDIR)) => Failure::NotExecutable(
            format!("failed to execute {shown}: {err} (is it executable, and not a directory?)"),
        ),
        (_, Some(libc::ENOEXEC)) => Failure::NotExecutable(format!(
            "failed to execute {shown}: {err} (not a program or script)"
        )),
        (_, Some(libc::ETXTBSY)) => Failure::NotExecutable(format!(
            "failed to execute {shown}: {err} (it is open for writing)"
        )),
        _ => return anyhow::Error::new(err).context(format!("failed to start {shown}")),
    };
    anyhow::Error::new(failure)
}

/// Supervising the `before` steps made liftoff a child subreaper (when not PID 1); the
/// flag survives `execve`, and the server did not ask to adopt orphans, so clear it.
fn forget_subreaper(plan: &Plan) -> anyhow::Result<()> {
    if plan.before.is_empty() || std::process::id() == 1 {
        return Ok(());
    }
    #[cfg(target_os = "linux")]
    nix::sys::prctl::set_child_subreaper(false)
        .context("failed to stop being a child subreaper")?;
    Ok(())
}

/// A C string from OS bytes; NUL bytes cannot be passed to a program.
fn c_string(bytes: impl AsRef<OsStr>) -> anyhow::Result<CString> {
    let bytes = bytes.as_ref();
    CString::new(bytes.as_bytes())
        .with_context(|| format!("failed to pass {bytes:?}: it contains a NUL byte"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;

    #[test]
    fn exec_failures_map_to_shell_codes_and_say_what_to_check() {
        let program = Path::new("/opt/app/server");
        let rows = [
            (libc::ENOENT, exit::NOT_FOUND, "#! line, is missing"),
            (libc::EACCES, exit::NOT_EXECUTABLE, "is it executable"),
            (libc::EISDIR, exit::NOT_EXECUTABLE, "not a directory"),
            (libc::ENOEXEC, exit::NOT_EXECUTABLE, "not a program"),
            (libc::ETXTBSY, exit::NOT_EXECUTABLE, "open for writing"),
            (libc::E2BIG, exit::FAILURE, "failed to start"),
        ];
        for (errno, code, text) in rows {
            let err = failure(program, io::Error::from_raw_os_error(errno));
            let shown = format!("{err:#}");
            assert!(
                shown.contains("/opt/app/server") && shown.contains(text),
                "{errno}: {shown}"
            );
            assert_eq!(exit::code_for(Err(err)), code, "{shown}");
        }
    }
}
