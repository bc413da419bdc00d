//! The loop around the state machine: wait for a signal or the next deadline, reap,
//! send signals, exit. Every decision is in `state`; this only makes syscalls.

use std::ffi::OsStr;
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use nix::errno::Errno;
use nix::sys::signal::SigSet;
use tracing::{debug, info, warn};

use super::handoff::{self, Handoff};
use super::spawn::{self, Inherited};
use super::state::{Action, Cause, Event, KillCause, Policy, State, Status};
use super::{HANDOFF_VAR, Outcome, Spec};
use crate::exit::Failure;
use crate::settings::{LogFormat, LogLevel};
use crate::signals::{self, Signal, SignalTarget};

/// Starts the child and supervises it until it and every other child are reaped. With
/// `hand_off`, the supervision goes on in a fresh image of liftoff (see `handoff`),
/// and this returns only if that exec failed.
pub fn run(spec: &Spec, inherited_mask: &SigSet, hand_off: bool) -> anyhow::Result<Outcome> {
    // First, before anything could change a disposition.
    let ignored = inherited_ignored();
    become_subreaper()?;
    take_back_chld(&ignored)?;
    let inherited = Inherited {
        mask: *inherited_mask,
        ignored,
    };
    let main_pid = spawn::spawn(spec, inherited)?;
    debug!(pid = main_pid, program = %spec.program.display(), target = %spec.target, "started child");
    let policy = Policy {
        target: spec.target,
        table: spec.table.clone(),
        stop_timeout: spec.stop_timeout,
        success_codes: spec.success_codes.clone(),
        drain_delay: spec.drain_delay,
    };
    let policy = if hand_off {
        hand_over(spec, policy, main_pid)
    } else {
        policy
    };
    super::trim::give_back_startup_memory();
    supervise(State::new(policy, main_pid), main_pid, None)
}

/// Hands supervision of `main_pid` to a fresh image of liftoff, which does not return;
/// when the exec fails, says so and gives the policy back to supervise in this image,
/// which only holds more memory.
fn hand_over(spec: &Spec, policy: Policy, main_pid: i32) -> Policy {
    let state = Handoff {
        pid: std::process::id(),
        start: handoff::start_time(),
        main_pid,
        policy,
        log: spec.log,
        comm: handoff::current_comm(),
    };
    debug!(
        pid = main_pid,
        "handing supervision to a fresh image of liftoff"
    );
    let err = handoff::exec(&state);
    warn!(
        "failed to hand supervision to a fresh image of liftoff ({err:#}); supervising in this one, which only costs memory"
    );
    state.policy
}

/// The fresh image's side of the hand-over: checks that the state in `value` was
/// written for this process, sets logging up again, and supervises. `None` when the
/// state was written for another process: a copy of some liftoff's environment, not a
/// hand-over; it is then removed from the environment, with a warning, and liftoff
/// starts as usual.
pub fn resume(value: &OsStr) -> Option<anyhow::Result<Outcome>> {
    let refused = |reason: String| {
        Some(Err(Failure::Config(format!(
            "{HANDOFF_VAR} is set, but not by liftoff for this process ({reason}); it is internal to liftoff: unset it"
        ))
        .into()))
    };
    let state = match handoff::text(value).and_then(handoff::decode) {
        Ok(state) => state,
        Err(reason) => return refused(reason),
    };
    if !handoff::is_for_this_process(&state) {
        crate::output::err(&format!(
            "liftoff: warning: ignoring {HANDOFF_VAR}: it was written for another process (pid {}), so it is a copy of a liftoff's environment; unset it where it is copied from",
            state.pid
        ));
        // SAFETY: liftoff is single-threaded here: nothing else reads the environment.
        unsafe { std::env::remove_var(HANDOFF_VAR) };
        return None;
    }
    if let Err(reason) = handoff::verify_child(&state) {
        return refused(reason);
    }
    handoff::restore_comm(&state.comm);
    // Setting up logging maps a good part of `tracing`; at `info` and quieter nothing
    // is logged before the first wake-up (a signal or a child's exit), so it waits
    // for that, and a container that runs quietly never maps it.
    let (level, format) = state.log;
    let log_later = if matches!(level, LogLevel::Debug | LogLevel::Trace) {
        crate::logging::init(level, format);
        debug!(
            pid = state.main_pid,
            "took over supervision in a fresh image"
        );
        None
    } else {
        Some(state.log)
    };
    super::trim::give_back_startup_memory();
    Some(supervise(
        State::new(state.policy, state.main_pid),
        state.main_pid,
        log_later,
    ))
}

/// The signals liftoff inherited as ignored, read on the first call only: supervising
/// changes SIGCHLD's disposition ([`take_back_chld`]), and a later run (the server after
/// the `before` steps) must still hand its child what liftoff inherited.
fn inherited_ignored() -> SigSet {
    static IGNORED: OnceLock<SigSet> = OnceLock::new();
    *IGNORED.get_or_init(signals::ignored_at_start)
}

/// The loop: every wake-up becomes events, every event becomes actions. `log_later`:
/// logging to set up on the first wake-up (at a level that logs nothing before it).
fn supervise(
    mut state: State,
    main_pid: i32,
    mut log_later: Option<(LogLevel, LogFormat)>,
) -> anyhow::Result<Outcome> {
    let waited = signals::handled();
    loop {
        let woke = wait(&waited, state.deadline())?;
        if let Some((level, format)) = log_later.take() {
            crate::logging::init(level, format);
        }
        let events = match woke {
            Some(signal) if signal == Signal::CHLD => reap(main_pid)?,
            Some(signal) => vec![Event::Signal(signal)],
            None => vec![Event::Timer],
        };
        for event in events {
            for action in state.handle(event, Instant::now()) {
                match action {
                    Action::Send { to, signal, cause } => send(main_pid, to, signal, cause),
                    Action::KillAll { signal, cause } => kill_all(main_pid, signal, cause),
                    Action::Hold { signal, delay } => info!(
                        "stop requested: serving {} more (drain_delay) before sending {signal}; a second stop signal sends it now",
                        crate::settings::Dur(delay)
                    ),
                    Action::Exit(code) => {
                        debug!(
                            code,
                            status = state.main_status().map(tracing::field::display),
                            shutdown = state.shutdown().map(tracing::field::display),
                            "final status: all children reaped, exiting"
                        );
                        return Ok(Outcome {
                            code,
                            shutdown: state.shutdown(),
                        });
                    }
                }
            }
        }
    }
}

/// Makes liftoff the reaper of orphaned descendants when it is not PID 1 (PID 1 is
/// already), so `waitpid(-1)` sees them and none is left a zombie.
fn become_subreaper() -> anyhow::Result<()> {
    if std::process::id() == 1 {
        return Ok(());
    }
    nix::sys::prctl::set_child_subreaper(true).context("failed to become a child subreaper")?;
    debug!("not PID 1: became a child subreaper");
    Ok(())
}

/// An inherited `SIGCHLD = SIG_IGN` makes the kernel reap children itself, and then
/// `waitpid` can never report the main child's status; put the default back for
/// liftoff (the child still gets the inherited SIG_IGN).
fn take_back_chld(ignored: &SigSet) -> anyhow::Result<()> {
    if !signals::contains(ignored, libc::SIGCHLD) {
        return Ok(());
    }
    // SAFETY: setting SIG_DFL installs no handler; liftoff is single-threaded here.
    let old = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    anyhow::ensure!(
        old != libc::SIG_ERR,
        "failed to reset SIGCHLD: {}",
        Errno::last()
    );
    debug!("SIGCHLD was inherited ignored: reset to default so children can be reaped");
    Ok(())
}

/// Puts back an inherited `SIGCHLD = SIG_IGN` that [`take_back_chld`] reset: exec mode
/// calls this before exec, after the `before` steps were supervised, so the program
/// starts with the dispositions liftoff inherited. A no-op when CHLD was not inherited
/// ignored (and, when nothing was supervised, the disposition is still the inherited
/// one, so reading it here is right too).
pub fn give_back_chld() -> anyhow::Result<()> {
    if !signals::contains(&inherited_ignored(), libc::SIGCHLD) {
        return Ok(());
    }
    // SAFETY: setting SIG_IGN installs no handler; liftoff is single-threaded here.
    let old = unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    anyhow::ensure!(
        old != libc::SIG_ERR,
        "failed to restore the inherited SIGCHLD disposition: {}",
        Errno::last()
    );
    Ok(())
}

/// Sleeps in the kernel until a signal in `set` is pending or `deadline` passes;
/// `None` means the deadline passed. A signal number liftoff does not know is dropped.
fn wait(set: &SigSet, deadline: Option<Instant>) -> anyhow::Result<Option<Signal>> {
    loop {
        let Some((raw, from)) = signals::take(set, deadline)? else {
            return Ok(None);
        };
        let Some(signal) = Signal::from_raw(raw) else {
            continue;
        };
        if signal != Signal::CHLD {
            debug!(signal = %signal, from, "received signal");
        }
        return Ok(Some(signal));
    }
}

/// Reaps every child that has exited — orphans as well as the main child — and reports
/// each, then `NoChildren` once none is left. Raw `waitpid` rather than nix's: nix
/// turns a death by a real-time signal into an error after the child is already
/// reaped, which would lose the main child's status.
fn reap(main_pid: i32) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    loop {
        let mut raw = 0;
        // SAFETY: `raw` is writable; WNOHANG never blocks.
        let pid = unsafe { libc::waitpid(-1, &mut raw, libc::WNOHANG) };
        if pid == 0 {
            return Ok(events);
        }
        if pid < 0 {
            match Errno::last() {
                Errno::EINTR => continue,
                Errno::ECHILD => {
                    events.push(Event::NoChildren);
                    return Ok(events);
                }
                err => return Err(err).context("failed to reap children"),
            }
        }
        let status = if libc::WIFSIGNALED(raw) {
            Status::Killed(libc::WTERMSIG(raw))
        } else {
            Status::Exited(libc::WEXITSTATUS(raw))
        };
        if pid == main_pid {
            debug!(pid, code = status.code(), ?status, "main child exited");
        } else {
            debug!(pid, code = status.code(), "reaped");
        }
        events.push(Event::Exited { pid, status });
    }
}

/// Sends `signal` to the main child or its process group (whose id is the main
/// child's pid: it was started with `setpgid(0, 0)`).
fn send(main_pid: i32, to: SignalTarget, signal: Signal, cause: Cause) {
    let pid = match to {
        SignalTarget::Child => main_pid,
        SignalTarget::Group => -main_pid,
    };
    // SAFETY: kill has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal.raw()) };
    if rc != 0 {
        let err = Errno::last();
        if err == Errno::ESRCH {
            debug!(pid = main_pid, target = %to, signal = %signal, ?cause, "no process left to signal");
        } else {
            warn!(pid = main_pid, target = %to, signal = %signal, %err, "failed to send signal");
        }
        return;
    }
    match cause {
        Cause::Forward => {
            debug!(pid = main_pid, target = %to, signal = %signal, "forwarded signal")
        }
        Cause::DrainDelayOver => {
            info!(pid = main_pid, target = %to, signal = %signal, "drain delay over: sent the stop signal")
        }
        Cause::DrainDelaySkipped => info!(
            pid = main_pid, target = %to, signal = %signal,
            "second stop signal: skipped the rest of the drain delay and sent the stop signal"
        ),
        Cause::Resend => {
            debug!(pid = main_pid, target = %to, signal = %signal, "sent the stop signal again")
        }
    }
}

/// Sends `signal` to every process liftoff started that is still running, and logs
/// why. As PID 1, `kill(-1)` reaches everything else in the PID namespace, which is
/// all that could be left (and what the kernel kills anyway when PID 1 exits). As a
/// subreaper: the main child's group, then every other descendant, found by walking
/// `/proc/PID/task/TID/children` down from liftoff; a process forked after the walk
/// passed its parent is re-parented to liftoff and caught by the next round (the state
/// machine repeats SIGKILL until `waitpid` says no child is left).
fn kill_all(main_pid: i32, signal: Signal, cause: KillCause) {
    let scope = if std::process::id() == 1 {
        // SAFETY: kill has no memory-safety preconditions.
        let rc = unsafe { libc::kill(-1, signal.raw()) };
        if rc != 0 && Errno::last() != Errno::ESRCH {
            warn!(signal = %signal, err = %Errno::last(), "failed to signal every process");
        }
        "the PID namespace".to_string()
    } else {
        let others = kill_descendants(main_pid, signal);
        format!("group {main_pid} and {others} other descendants")
    };
    match cause {
        KillCause::MainExited => {
            debug!(signal = %signal, %scope, "main child exited: stopping every process left")
        }
        KillCause::SecondSignal => warn!(%scope, "second shutdown signal: killed every process"),
        KillCause::StopTimeout => warn!(%scope, "stop timeout passed: killed every process"),
        KillCause::DrainTimeout => warn!(
            %scope,
            "processes outlived the main child by the stop timeout: killed them"
        ),
        KillCause::Leftover => debug!(%scope, "processes left after SIGKILL: killed them again"),
    }
}

/// Subreaper case of [`kill_all`]: the main child's process group at once, then each
/// descendant outside it; returns how many processes outside the group it signalled.
fn kill_descendants(main_pid: i32, signal: Signal) -> usize {
    // SAFETY: kill has no memory-safety preconditions; ESRCH (group gone) is expected.
    unsafe { libc::kill(-main_pid, signal.raw()) };
    let mut reached = 0;
    for pid in descendants() {
        // A group member already got it; twice could read as "stop now" to a program
        // that counts its signals.
        // SAFETY: getpgid and kill have no memory-safety preconditions.
        let signalled =
            unsafe { libc::getpgid(pid) != main_pid && libc::kill(pid, signal.raw()) == 0 };
        reached += usize::from(signalled);
    }
    reached
}

/// liftoff's descendants, parents before their children; processes that exit while
/// the tree is read are simply not listed.
fn descendants() -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = children_of("self");
    while let Some(pid) = queue.pop() {
        found.push(pid);
        queue.extend(children_of(&pid.to_string()));
    }
    found
}

/// The children of process `pid` (a number or `self`), from each of its threads'
/// `children` file (proc_pid_task(5)): a child belongs to the thread that forked it.
fn children_of(pid: &str) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        children.extend(parse_pids(&text));
    }
    children
}

/// The pids in a `children` file: numbers separated by spaces.
fn parse_pids(text: &str) -> impl Iterator<Item = i32> + '_ {
    text.split_ascii_whitespace().filter_map(|p| p.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_files_parse_to_pids() {
        let rows: [(&str, &[i32]); 4] = [
            ("", &[]),
            ("12 ", &[12]),
            ("12 345 6789 ", &[12, 345, 6789]),
            ("12 x 3\n", &[12, 3]),
        ];
        for (text, pids) in rows {
            assert_eq!(parse_pids(text).collect::<Vec<_>>(), pids, "{text:?}");
        }
    }

    #[test]
    fn descendants_are_found_down_the_tree() {
        // A real child with a real grandchild: both are listed, the child first.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        let child_pid = i32::try_from(child.id()).unwrap();
        let found = descendants();
        let at = |pid| found.iter().position(|&p| p == pid);
        assert!(
            matches!((at(child_pid), at(grandchild)), (Some(c), Some(g)) if c < g),
            "{child_pid} then {grandchild} in {found:?}"
        );
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(grandchild, libc::SIGKILL) };
        child.wait().unwrap();
    }
}
