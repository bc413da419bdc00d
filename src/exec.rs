//! Exec mode: replace liftoff with the program.
//!
//! `execve` is called directly rather than through `std::process::Command::exec`, because
//! std resets SIGPIPE to its default in the new program; liftoff passes on exactly the
//! signal dispositions it inherited, and restores the signal mask it blocked at start.
//! With `user` set, liftoff drops to that user last, after everything that needs root.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use anyhow::Context;
use nix::errno::Errno;
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
    crate::signals::restore_mask(inherited_mask).context("failed to restore the signal mask")?;
    let Err(errno) = nix::unistd::execve(&program, &argv, &env);
    let shown = plan.program.display();
    Err(match errno {
        Errno::ENOENT => {
            Failure::NotFound(format!("failed to run {shown}: it no longer exists")).into()
        }
        Errno::EACCES | Errno::ENOEXEC | Errno::EISDIR | Errno::ETXTBSY => {
            Failure::NotExecutable(format!("failed to run {shown}: {}", errno.desc())).into()
        }
        other => anyhow::anyhow!("failed to run {shown}: {}", other.desc()),
    })
}

/// Supervising the `before` steps made liftoff a child subreaper (when not PID 1); the
/// flag survives `execve`, and the server did not ask to adopt orphans, so clear it.
fn forget_subreaper(plan: &Plan) -> anyhow::Result<()> {
    if plan.before.is_empty() || std::process::id() == 1 {
        return Ok(());
    }
    nix::sys::prctl::set_child_subreaper(false).context("failed to stop being a child subreaper")
}

/// A C string from OS bytes; NUL bytes cannot be passed to a program.
fn c_string(bytes: impl AsRef<OsStr>) -> anyhow::Result<CString> {
    let bytes = bytes.as_ref();
    CString::new(bytes.as_bytes())
        .with_context(|| format!("failed to pass {bytes:?}: it contains a NUL byte"))
}
