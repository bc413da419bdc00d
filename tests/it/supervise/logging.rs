//! liftoff's own log can never stop PID 1 (issue 11): a stderr that is full, closed or
//! never read costs log lines, not reaping, forwarding or the stop deadline, and the
//! SIGPIPE of liftoff's own write never reaches the server. Each case runs as PID 1 and
//! as a child subreaper.

use std::fs::OpenOptions;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

use super::{PROMPTLY, Running, Stream, helper, liftoff, liftoff_as_pid_1, python};
use crate::support;

/// liftoff, as PID 1 (when privileged tests can run) or not, in supervise mode.
fn liftoff_cmd(pid1: bool) -> Option<Command> {
    if !pid1 {
        let mut cmd = liftoff();
        cmd.args(["--mode", "supervise"]);
        return Some(cmd);
    }
    support::privileged_or_skip("logging as PID 1").then(liftoff_as_pid_1)
}

/// A pipe whose buffer is already full: every write to it blocks until someone reads,
/// and nobody will. Returns (read end, write end); keep the read end open.
fn stalled_pipe() -> (OwnedFd, OwnedFd) {
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let flags = OFlag::from_bits_truncate(fcntl(&write, FcntlArg::F_GETFL).unwrap());
    fcntl(&write, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).unwrap();
    let chunk = [b'x'; 4096];
    while nix::unistd::write(&write, &chunk).is_ok() {}
    fcntl(&write, FcntlArg::F_SETFL(flags)).unwrap();
    (read, write)
}

/// With stderr on a full device, the drain delay and the forwarded TERM still work.
fn full_stderr_keeps_the_stop_timeline(pid1: bool) {
    let Some(mut cmd) = liftoff_cmd(pid1) else {
        return;
    };
    cmd.args([
        "--drain-delay",
        "2s",
        "run",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 100",
    ]);
    let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
    let mut run = Running::start_with_stderr(cmd, pid1, Some(Stdio::from(full)));
    run.expect(Stream::Out, "ready", PROMPTLY);
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(PROMPTLY), 143, "{}", run.transcript());
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn a_full_stderr_keeps_the_stop_timeline() {
    full_stderr_keeps_the_stop_timeline(false);
}

#[test]
fn a_full_stderr_keeps_the_stop_timeline_as_pid_1() {
    full_stderr_keeps_the_stop_timeline(true);
}

/// The Python child: says ready, reports every WINCH, PIPE and TERM it gets on stdout,
/// and exits 0 on TERM.
const REPORTER: &str = "import signal, sys, time\n\
def got(n, _):\n    print('got', signal.Signals(n).name, flush=True)\n    if n == signal.SIGTERM:\n        sys.exit(0)\n\
for s in (signal.SIGWINCH, signal.SIGPIPE, signal.SIGTERM):\n    signal.signal(s, got)\n\
print('ready', flush=True)\nwhile True:\n    time.sleep(1)\n";

/// With stderr a pipe whose reader went away, liftoff's writes fail with EPIPE and raise
/// SIGPIPE in liftoff; the server must never get that SIGPIPE.
fn own_sigpipe_is_not_forwarded(pid1: bool) {
    let Some(mut cmd) = liftoff_cmd(pid1) else {
        return;
    };
    cmd.arg("-v")
        .args(["run", "--"])
        .arg(python())
        .args(["-c", REPORTER]);
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let mut run = Running::start_with_stderr(cmd, pid1, Some(Stdio::from(write)));
    run.expect(Stream::Out, "ready", PROMPTLY);
    drop(read);
    for _ in 0..3 {
        run.signal(libc::SIGWINCH);
        run.expect(Stream::Out, "got SIGWINCH", PROMPTLY);
    }
    run.signal(libc::SIGTERM);
    run.expect(Stream::Out, "got SIGTERM", PROMPTLY);
    assert_eq!(run.wait(PROMPTLY), 0, "{}", run.transcript());
    assert!(
        !run.transcript().contains("got SIGPIPE"),
        "{}",
        run.transcript()
    );
}

#[test]
fn liftoffs_own_sigpipe_is_not_forwarded() {
    own_sigpipe_is_not_forwarded(false);
}

#[test]
fn liftoffs_own_sigpipe_is_not_forwarded_as_pid_1() {
    own_sigpipe_is_not_forwarded(true);
}

/// With stderr a pipe nobody reads, liftoff at debug level (a line per reaped process)
/// still reaps an orphan storm, and still kills at the stop deadline.
fn stalled_stderr_never_stops_reaping_or_the_deadline(pid1: bool) {
    let (_read, write) = stalled_pipe();
    let Some(mut cmd) = liftoff_cmd(pid1) else {
        return;
    };
    // Outside a namespace the helper's census sees the whole machine: settle briefly.
    let settle = if pid1 { "20" } else { "2" };
    cmd.arg("-v")
        .args(["run", "--"])
        .arg(python())
        .arg(helper("orphan_storm.py"))
        .args(["500", settle]);
    let mut run =
        Running::start_with_stderr(cmd, pid1, Some(Stdio::from(write.try_clone().unwrap())));
    let line = run.expect(Stream::Out, "zombies", Duration::from_secs(60));
    if pid1 {
        // The namespace's own /proc: the helper's census is of liftoff's orphans.
        assert!(line.starts_with("zombies 0 "), "{line}");
    } else {
        // The machine's /proc holds other tests' processes too: count liftoff's own.
        let pid = run.liftoff_pid();
        support::wait_until(PROMPTLY, "liftoff to reap its orphans", || {
            super::children(pid).into_iter().all(super::alive)
        });
    }
    assert_eq!(run.wait(PROMPTLY), 0, "{}", run.transcript());

    let Some(mut cmd) = liftoff_cmd(pid1) else {
        return;
    };
    cmd.args([
        "-v",
        "--stop-timeout",
        "2s",
        "run",
        "--",
        "sh",
        "-c",
        "trap '' TERM; echo ready; sleep 100 & wait",
    ]);
    let mut run = Running::start_with_stderr(cmd, pid1, Some(Stdio::from(write)));
    run.expect(Stream::Out, "ready", PROMPTLY);
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(PROMPTLY), 137, "{}", run.transcript());
    let took = sent.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[test]
fn a_stalled_stderr_never_stops_reaping_or_the_deadline() {
    stalled_stderr_never_stops_reaping_or_the_deadline(false);
}

#[test]
fn a_stalled_stderr_never_stops_reaping_or_the_deadline_as_pid_1() {
    stalled_stderr_never_stops_reaping_or_the_deadline(true);
}

#[test]
fn lines_dropped_while_stderr_was_full_are_counted_once_it_works_again() {
    // stderr is a pipe that is full at first; the test starts reading once liftoff has
    // had lines to drop, and then sees one notice saying how many.
    let (read, write) = stalled_pipe();
    let mut cmd = liftoff();
    cmd.args(["-v", "--mode", "supervise", "run", "--"])
        .arg(python())
        .arg(helper("orphan_storm.py"))
        .args(["1500", "20"]);
    let mut run = Running::start_with_stderr(cmd, false, Some(Stdio::from(write)));
    run.expect(Stream::Out, "zombies", Duration::from_secs(60));
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::fs::File::from(read), &mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    assert_eq!(run.wait(PROMPTLY), 0);
    let log = reader.join().unwrap();
    let notices: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("log lines that stderr could not take"))
        .collect();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].starts_with(" WARN dropped "), "{notices:?}");
}
