//! The hand-over: once the server runs, liftoff re-executes itself and a fresh image
//! goes on supervising. The process must not be able to tell: same pid, name,
//! arguments and subreaper role, and no signal or child exit lost on the way.

use super::{PROMPTLY, Running, Stream, alive, children, comm, liftoff, liftoff_as_pid_1, scratch};
use crate::support;

/// liftoff's environment as `KEY=value` strings.
fn environ(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect()
}

/// Waits until liftoff (host pid `pid`) runs in the fresh image, which is when its
/// environment carries the hand-over state, and has its name back (the exec names it
/// `exe` for the few microseconds until the fresh image restores it).
fn wait_for_handoff(pid: i32) {
    support::wait_until(PROMPTLY, "liftoff to hand supervision over", || {
        let handed = environ(pid)
            .iter()
            .any(|entry| entry.starts_with("LIFTOFF_HANDOFF=v1 "));
        handed && comm(pid).as_deref() == Some("liftoff")
    });
}

#[test]
fn the_fresh_image_keeps_the_name_the_arguments_and_the_subreaper_role() {
    let dir = scratch("handoff-keeps");
    let go = dir.join("go");
    let args = [
        "-v",
        "--mode",
        "supervise",
        "run",
        "--",
        "sh",
        "-c",
        // The orphan is made only once the test says so, after the hand-over: it must
        // come back to liftoff, which it does only if the fresh image is still the
        // subreaper.
        "echo ready; while [ ! -e \"$0\" ]; do sleep 0.05; done; (sleep 30 & echo orphan $!); exec sleep 60",
    ];
    let mut cmd = liftoff();
    cmd.args(args).arg(&go);
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "ready", PROMPTLY);
    let pid = run.liftoff_pid();
    wait_for_handoff(pid);
    assert_eq!(
        comm(pid).as_deref(),
        Some("liftoff"),
        "ps and pgrep must still find it"
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let shown: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    assert_eq!(shown[0], support::liftoff_bin());
    assert_eq!(shown[1..shown.len() - 1], args, "the arguments as given");
    std::fs::write(&go, "").unwrap();
    let line = run.expect(Stream::Out, "orphan", PROMPTLY);
    let orphan: i32 = line.trim_start_matches("orphan ").parse().unwrap();
    support::wait_until(PROMPTLY, "the orphan to come back to liftoff", || {
        children(pid).contains(&orphan)
    });
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(PROMPTLY), 143, "{}", run.transcript());
    let log = run.transcript();
    for line in [
        "handing supervision to a fresh image of liftoff",
        "took over supervision in a fresh image",
        &format!("reaped pid={orphan}"),
    ] {
        assert!(log.contains(line), "no {line:?} in\n{log}");
    }
    assert!(!alive(orphan), "the orphan outlived liftoff");
}

#[test]
fn a_stop_signal_sent_around_the_hand_over_is_not_lost() {
    if !support::privileged_or_skip("stop during the hand-over as PID 1") {
        return;
    }
    // TERM as soon as the child exists: before, during or after the exec, depending on
    // the round. A pending signal survives execve, and the fresh image must act on it.
    for round in 0..10 {
        let mut cmd = liftoff_as_pid_1();
        cmd.args(["run", "--", "sleep", "60"]);
        let mut run = Running::start(cmd, true);
        let pid = run.liftoff_pid();
        support::wait_until(PROMPTLY, "liftoff to start its child", || {
            !children(pid).is_empty()
        });
        run.signal(libc::SIGTERM);
        assert_eq!(
            run.wait(PROMPTLY),
            143,
            "round {round}\n{}",
            run.transcript()
        );
    }
}

#[test]
fn a_hand_over_state_that_liftoff_did_not_write_is_refused() {
    let forged = [
        "yes",
        "v1 pid=1 child=2 target=group stop=10.000000000 drain=0.000000000 resend= codes= table= log=info,text comm=",
    ];
    for value in forged {
        let out = support::liftoff()
            .env("LIFTOFF_HANDOFF", value)
            .arg("check")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{value}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("LIFTOFF_HANDOFF is set, but not by liftoff for this process")
                && stderr.contains("unset it"),
            "{stderr}"
        );
    }
}
