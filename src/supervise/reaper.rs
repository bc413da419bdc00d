//! The loop around the state machine: wait for a signal or the next deadline, reap, send.

use std::time::Instant;

use anyhow::Context;
use nix::errno::Errno;
use nix::sys::signal::SigSet;

use super::Outcome;
use super::state::{Action, Cause, Event, KillCause, State, Status};
use crate::launch::Spec;
use crate::log::{debug, info, warning};
use crate::signals::{self, Inherited, Signal, SignalTarget};

/// Starts the child and supervises it until it and every other child are reaped.
pub fn run(spec: &Spec, inherited: Inherited) -> anyhow::Result<Outcome> {
    become_subreaper()?;
    signals::take_back_chld(&inherited)?;
    let main_pid = super::spawn::spawn(spec, inherited)?;
    debug!("started child"; pid = main_pid, program = spec.program.display(), target = spec.stop.target);
    super::trim::give_back_startup_memory();
    supervise(State::new(spec.stop.clone(), main_pid), main_pid)
}

/// The loop: every wake-up becomes events, every event becomes actions.
fn supervise(mut state: State, main_pid: i32) -> anyhow::Result<Outcome> {
    let waited = signals::handled();
    loop {
        let events = match wait(&waited, state.deadline())? {
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
                        humantime::format_duration(delay)
                    ),
                    Action::Exit(code) => {
                        debug!(
                            "final status: all children reaped, exiting";
                            code = code,
                            status = shown(state.main_status()),
                            shutdown = shown(state.shutdown())
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

/// An optional value for a log field: empty (left out) when it is `None`.
fn shown(value: Option<impl std::fmt::Display>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Makes liftoff the reaper of orphaned descendants when it is not PID 1.
fn become_subreaper() -> anyhow::Result<()> {
    if std::process::id() == 1 {
        return Ok(());
    }
    nix::sys::prctl::set_child_subreaper(true).context("failed to become a child subreaper")?;
    debug!("not PID 1: became a child subreaper");
    Ok(())
}

/// Waits for a signal in `set` or `deadline` (`None`); unknown signal numbers are dropped.
fn wait(set: &SigSet, deadline: Option<Instant>) -> anyhow::Result<Option<Signal>> {
    loop {
        let Some((raw, from)) = signals::take(set, deadline)? else {
            return Ok(None);
        };
        let Some(signal) = Signal::from_raw(raw) else {
            continue;
        };
        if signal != Signal::CHLD {
            debug!("received signal"; signal = signal, from = from);
        }
        return Ok(Some(signal));
    }
}

/// Reaps every child that exited, then reports `NoChildren` once none is left. Raw
/// `waitpid`: nix turns a death by a real-time signal into an error after reaping.
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
            debug!("main child exited"; pid = pid, code = status.code(), status = status);
        } else {
            debug!("reaped"; pid = pid, code = status.code());
        }
        events.push(Event::Exited { pid, status });
    }
}

/// Sends `signal` to the main child or its process group (whose id is the child's pid).
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
            debug!("no process left to signal"; pid = main_pid, target = to, signal = signal);
        } else {
            warning!("failed to send signal"; pid = main_pid, target = to, signal = signal, err = err);
        }
        return;
    }
    let what = match cause {
        Cause::Forward => {
            debug!("forwarded signal"; pid = main_pid, target = to, signal = signal);
            return;
        }
        Cause::DrainDelayOver => "drain delay over: sent the stop signal",
        Cause::DrainDelaySkipped => {
            "second stop signal: skipped the rest of the drain delay and sent the stop signal"
        }
    };
    info!("{what}"; pid = main_pid, target = to, signal = signal);
}

/// Sends `signal` to every process liftoff started. As PID 1, `kill(-1)` reaches the
/// whole namespace; as a subreaper, the main child's group, then every descendant found
/// in `/proc` (one forked after the walk is caught by the next SIGKILL round).
fn kill_all(main_pid: i32, signal: Signal, cause: KillCause) {
    let scope = if std::process::id() == 1 {
        // SAFETY: kill has no memory-safety preconditions.
        let rc = unsafe { libc::kill(-1, signal.raw()) };
        if rc != 0 && Errno::last() != Errno::ESRCH {
            warning!("failed to signal every process"; signal = signal, err = Errno::last());
        }
        "the PID namespace".to_string()
    } else {
        let others = kill_descendants(main_pid, signal);
        format!("group {main_pid} and {others} other descendants")
    };
    let what = match cause {
        KillCause::MainExited => {
            debug!("main child exited: stopping every process left"; signal = signal, scope = scope);
            return;
        }
        KillCause::Leftover => {
            debug!("processes left after SIGKILL: killed them again"; scope = scope);
            return;
        }
        KillCause::SecondSignal => "second shutdown signal: killed every process",
        KillCause::StopTimeout => "stop timeout passed: killed every process",
        KillCause::DrainTimeout => {
            "processes outlived the main child by the stop timeout: killed them"
        }
    };
    warning!("{what}"; scope = scope);
}

/// Subreaper case of [`kill_all`]: the group, then each descendant outside it; returns
/// how many of those it signalled.
fn kill_descendants(main_pid: i32, signal: Signal) -> usize {
    // SAFETY: kill has no memory-safety preconditions; ESRCH (group gone) is expected.
    unsafe { libc::kill(-main_pid, signal.raw()) };
    let mut reached = 0;
    for pid in descendants() {
        // A group member already got it: twice could read as "stop now".
        // SAFETY: getpgid and kill have no memory-safety preconditions.
        let signalled =
            unsafe { libc::getpgid(pid) != main_pid && libc::kill(pid, signal.raw()) == 0 };
        reached += usize::from(signalled);
    }
    reached
}

/// liftoff's descendants, parents first; those that exit meanwhile are not listed.
fn descendants() -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = children_of("self");
    while let Some(pid) = queue.pop() {
        found.push(pid);
        queue.extend(children_of(&pid.to_string()));
    }
    found
}

/// The children of `pid` (a number or `self`), from each thread's `children` file.
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
