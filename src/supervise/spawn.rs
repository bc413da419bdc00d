//! Starting the main child: its own process group, the terminal's foreground if liftoff
//! had it, then the same last steps as exec mode (`launch::child`).

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Context;

use crate::launch::Spec;
use crate::launch::child::Prepared;
use crate::signals::Inherited;

/// Starts the main child and returns its pid (which is also its process group id).
///
/// A failed exec comes back from `spawn` (std reports the child's error through a pipe)
/// and maps to 127 or 126 exactly as in exec mode.
pub fn spawn(spec: &Spec, inherited: Inherited) -> anyhow::Result<i32> {
    anyhow::ensure!(
        spec.cwd.is_dir(),
        "failed to start {}: working directory {} does not exist",
        spec.program.display(),
        spec.cwd.display()
    );
    let mut prepared = Prepared::new(spec, inherited)?;
    prepared.foreground = owns_terminal();
    let mut cmd = Command::new(&spec.program);
    cmd.process_group(0);
    // SAFETY: `Prepared::exec` makes only async-signal-safe system calls on memory
    // prepared before the fork; it neither allocates nor takes locks. It execs itself,
    // so std's own exec after this closure only runs if it returned an error.
    unsafe { cmd.pre_exec(move || Err(prepared.exec())) };
    match cmd.spawn() {
        Ok(child) => i32::try_from(child.id()).context("failed to read the child's pid"),
        Err(err) => Err(crate::launch::failure(
            &spec.program,
            spec.identity.as_ref(),
            err,
        )),
    }
}

/// Whether stdin is a terminal whose foreground group is liftoff's: only then does the
/// child take the terminal over (not when liftoff runs in the background of a shell).
fn owns_terminal() -> bool {
    // SAFETY: plain queries on fd 0 and on liftoff itself.
    unsafe {
        libc::isatty(libc::STDIN_FILENO) == 1
            && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp()
    }
}
