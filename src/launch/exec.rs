//! Exec mode: replace liftoff with the program (see `child.rs`).

use super::Spec;
use super::child::Prepared;
use crate::signals::Inherited;

/// Replaces liftoff with `spec`'s program; returns only on failure. After supervised
/// `before` steps, undoes the child subreaper and the SIGCHLD reset.
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
