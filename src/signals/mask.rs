//! The signal mask and dispositions: what liftoff blocks at start and gives back.

use std::mem::MaybeUninit;

use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};

use super::{Signal, forwardable};

/// The signal state liftoff was started with, which the program gets back.
#[derive(Clone, Copy, Debug)]
pub struct Inherited {
    pub mask: SigSet,
    /// Signals inherited as `SIG_IGN` (a background job ignores INT like its parent).
    pub ignored: SigSet,
}

/// Blocks every forwardable signal and CHLD, first thing in `main`, so every later thread
/// inherits the block and signals wait pending; reads the ignored set before anything
/// could change it.
pub fn block_at_start() -> nix::Result<Inherited> {
    let mut mask = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&handled()), Some(&mut mask))?;
    let ignored = raw_set(all_signals().filter(|&raw| disposition(raw) == Some(libc::SIG_IGN)));
    Ok(Inherited { mask, ignored })
}

/// An inherited `SIGCHLD = SIG_IGN` makes the kernel reap children itself, so `waitpid`
/// could never see the main child: the default is back while liftoff supervises.
#[cfg(target_os = "linux")]
pub fn take_back_chld(inherited: &Inherited) -> anyhow::Result<()> {
    set_chld(inherited, libc::SIG_DFL)
}

/// Puts back an inherited `SIGCHLD = SIG_IGN` that [`take_back_chld`] reset.
pub fn give_back_chld(inherited: &Inherited) -> anyhow::Result<()> {
    set_chld(inherited, libc::SIG_IGN)
}

/// Sets CHLD's disposition to `to` when it was inherited ignored.
fn set_chld(inherited: &Inherited, to: libc::sighandler_t) -> anyhow::Result<()> {
    if !contains(&inherited.ignored, libc::SIGCHLD) {
        return Ok(());
    }
    // SAFETY: SIG_DFL and SIG_IGN install no handler.
    let old = unsafe { libc::signal(libc::SIGCHLD, to) };
    anyhow::ensure!(
        old != libc::SIG_ERR,
        "failed to set the SIGCHLD disposition: {}",
        nix::errno::Errno::last()
    );
    Ok(())
}

/// Takes one signal of `set`, waiting until `deadline` (none: forever); the raw number and
/// the sender's pid, `None` when the deadline passed. The one place liftoff waits for them.
#[cfg(target_os = "linux")]
pub fn take(
    set: &SigSet,
    deadline: Option<std::time::Instant>,
) -> anyhow::Result<Option<(i32, i32)>> {
    use anyhow::Context;
    use nix::errno::Errno;
    loop {
        let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
        let rc = match deadline {
            // SAFETY: `set` is a valid signal set and `info` is writable.
            None => unsafe { libc::sigwaitinfo(set.as_ref(), info.as_mut_ptr()) },
            Some(deadline) => {
                // Recomputed each round, so an interrupted wait resumes with what is left.
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                let timeout = libc::timespec {
                    // Capped so it fits every time_t (musl deprecates the alias).
                    tv_sec: left
                        .as_secs()
                        .min(i32::MAX as u64)
                        .try_into()
                        .unwrap_or_default(),
                    tv_nsec: left.subsec_nanos().into(),
                };
                // SAFETY: as above, and `timeout` lives across the call.
                unsafe { libc::sigtimedwait(set.as_ref(), info.as_mut_ptr(), &timeout) }
            }
        };
        if rc > 0 {
            // SAFETY: the kernel filled `info` for the signal it returned.
            let from = unsafe { info.assume_init().si_pid() };
            return Ok(Some((rc, from)));
        }
        match Errno::last() {
            Errno::EAGAIN => return Ok(None),
            Errno::EINTR => continue,
            err => return Err(err).context("failed to wait for signals"),
        }
    }
}

/// Every forwardable signal: what liftoff may receive before any child runs.
pub fn forwarded() -> SigSet {
    raw_set(forwardable().map(Signal::raw))
}

/// Every forwardable signal plus CHLD: what liftoff blocks and waits for.
pub fn handled() -> SigSet {
    raw_set(forwardable().map(Signal::raw).chain([libc::SIGCHLD]))
}

/// A signal set holding `signals`, real-time ones included (nix's `add` cannot).
fn raw_set(signals: impl IntoIterator<Item = i32>) -> SigSet {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given.
    let mut set = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        set.assume_init()
    };
    for raw in signals {
        // SAFETY: `set` is initialised; an out-of-range number only returns EINVAL.
        unsafe { libc::sigaddset(&mut set, raw) };
    }
    // SAFETY: `set` was initialised by sigemptyset above.
    unsafe { SigSet::from_sigset_t_unchecked(set) }
}

/// Every signal number the kernel knows, standard and real-time.
pub fn all_signals() -> impl Iterator<Item = i32> {
    1..=super::realtime_range().map_or(31, |range| *range.end())
}

/// The current handler of `raw`, or `None` when the C library refuses the number.
fn disposition(raw: i32) -> Option<libc::sighandler_t> {
    let mut old = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: a null new action only reads the current one into `old`.
    let rc = unsafe { libc::sigaction(raw, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: sigaction filled `old` when it returned 0.
    (rc == 0).then(|| unsafe { old.assume_init() }.sa_sigaction)
}

/// Whether `raw` is in `set` (also for real-time signals).
pub fn contains(set: &SigSet, raw: i32) -> bool {
    // SAFETY: `set` is a valid, initialised signal set.
    unsafe { libc::sigismember(set.as_ref(), raw) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handled_is_forwardable_plus_chld() {
        let set = handled();
        for signal in forwardable() {
            assert!(contains(&set, signal.raw()), "{signal}");
        }
        assert!(contains(&set, libc::SIGCHLD));
        assert!(!contains(&set, libc::SIGKILL));
        assert!(!contains(&set, libc::SIGSTOP));
    }

    #[test]
    fn raw_sets_hold_realtime_signals() {
        let last = all_signals().last().unwrap();
        let set = raw_set([libc::SIGUSR2, last]);
        assert!(contains(&set, libc::SIGUSR2));
        assert!(contains(&set, last));
        assert!(!contains(&set, libc::SIGUSR1));
    }

    #[test]
    fn default_dispositions_are_not_reported_as_ignored() {
        // The test harness never ignores USR1 or TERM.
        let inherited = block_at_start().unwrap();
        assert!(!contains(&inherited.ignored, libc::SIGUSR1));
        assert!(!contains(&inherited.ignored, libc::SIGTERM));
    }
}
