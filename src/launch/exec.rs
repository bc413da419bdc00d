//! Exec mode: replace liftoff with the program.
//!
//! liftoff passes on exactly the signal dispositions and mask it inherited, drops to the
//! user last, and execs with `execve` itself (see `child.rs`).

use super::Spec;
use super::child::Prepared;
use crate::signals::Inherited;

/// Replaces liftoff with `spec`'s program; returns only on failure.
///
/// `supervised_before`: `before` steps ran under supervision, which made liftoff a child
/// subreaper (when not PID 1) and may have taken SIGCHLD back from "ignore"; both are
/// undone, since the program asked for neither.
pub fn exec(spec: &Spec, inherited: Inherited, supervised_before: bool) -> anyhow::Result<i32> {
    let prepared = Prepared::new(spec, inherited)?;
    if supervised_before && std::process::id() != 1 {
        #[cfg(target_os = "linux")]
        nix::sys::prctl::set_child_subreaper(false)
            .map_err(|e| anyhow::anyhow!("failed to stop being a child subreaper: {e}"))?;
    }
    crate::signals::give_back_chld(&inherited)?;
    // The start line and any warning reach stderr before the program owns it.
    crate::log::flush(crate::log::FLUSH_TIMEOUT);
    let err = prepared.exec();
    Err(super::failure(&spec.program, spec.identity.as_ref(), err))
}
