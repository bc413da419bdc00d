//! Starting the main child in its own process group, then the steps of `launch::child`.

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Context;

use crate::launch::Spec;
use crate::launch::child::Prepared;
use crate::signals::Inherited;

/// Starts the main child and returns its pid (also its process group id); a failed exec
/// maps to 127 or 126 as in exec mode.
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
    // SAFETY: `Prepared::exec` makes only async-signal-safe calls on memory prepared before
    // the fork; it execs itself, so std's exec runs only if it failed.
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

/// Whether stdin is a terminal whose foreground group is liftoff's (then the child takes it).
fn owns_terminal() -> bool {
    // SAFETY: plain queries on fd 0 and on liftoff itself.
    unsafe {
        libc::isatty(libc::STDIN_FILENO) == 1
            && libc::tcgetpgrp(libc::STDIN_FILENO) == libc::getpgrp()
    }
}
