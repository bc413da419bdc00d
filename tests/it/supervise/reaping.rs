//! Reaping: orphans never stay zombies under liftoff (as PID 1 or as a subreaper),
//! leftovers of the main child's group cannot hold liftoff, and while idle liftoff
//! sleeps in the kernel.

use std::time::{Duration, Instant};

use super::{PROMPTLY, Running, SUPERVISE_SH, Stream, helper, liftoff, liftoff_as_pid_1, python};
use crate::support;

/// How many orphans the storm makes.
const ORPHANS: &str = "2000";

/// Parses the storm helper's report `zombies Z live L`.
fn census(run: &mut Running) -> (u32, u32) {
    let line = run.expect(Stream::Out, "zombies", Duration::from_secs(120));
    let numbers: Vec<u32> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn orphan_storm_leaves_no_zombie_as_pid_1() {
    if !support::privileged_or_skip("orphan storm as PID 1") {
        return;
    }
    let mut cmd = liftoff_as_pid_1();
    cmd.args(["run", "--"])
        .arg(python())
        .arg(helper("orphan_storm.py"))
        .args([ORPHANS, "30"]);
    let mut run = Running::start(cmd, true);
    let (zombies, live) = census(&mut run);
    assert_eq!((zombies, live), (0, 0), "{}", run.transcript());
    let reported = Instant::now();
    assert_eq!(run.wait(PROMPTLY), 0, "{}", run.transcript());
    assert!(reported.elapsed() < PROMPTLY);
}

#[test]
fn control_a_pid_1_that_does_not_reap_leaves_zombies() {
    if !support::privileged_or_skip("orphan storm control") {
        return;
    }
    // Python's subprocess.call waits for its own child only, like most programs that
    // were never meant to be PID 1. The storm's orphans stay zombies under it.
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(python());
    cmd.args([
        "-c",
        "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))",
    ]);
    cmd.arg(python())
        .arg(helper("orphan_storm.py"))
        .args([ORPHANS, "2"]);
    let mut run = Running::start(cmd, true);
    let (zombies, _) = census(&mut run);
    assert!(
        zombies > 1000,
        "expected the orphans as zombies, found {zombies}"
    );
    assert_eq!(run.wait(PROMPTLY), 0);
}

#[test]
fn orphans_come_back_to_liftoff_when_it_is_not_pid_1() {
    // The orphaned `sleep` is re-parented to liftoff (a child subreaper), which stops
    // it with the rest of the group and reaps it; without PR_SET_CHILD_SUBREAPER it
    // would go to the machine's init and liftoff would never log it.
    let mut cmd = liftoff();
    cmd.arg("-v").args(SUPERVISE_SH).arg("sleep 30 & echo $!");
    let mut run = Running::start(cmd, false);
    let orphan = run.next_out(PROMPTLY);
    assert_eq!(run.wait(PROMPTLY), 0, "{}", run.transcript());
    let log = run.transcript();
    assert!(
        log.contains(&format!("reaped pid={orphan}")),
        "orphan {orphan} not reaped:\n{log}"
    );
    let pid: i32 = orphan.parse().unwrap();
    assert!(!super::alive(pid), "the orphan outlived liftoff");
}

#[test]
fn a_grandchild_holding_stdout_does_not_keep_liftoff_running() {
    // The main child exits at once; its child ignores TERM (inherited, so it is in
    // place before the main child exits) and keeps stdout open. liftoff TERMs the
    // group, SIGKILLs it at the stop timeout, and exits with the main child's code; the
    // test's pipe reaches EOF because the grandchild is gone.
    let mut cmd = liftoff();
    cmd.args(["--stop-timeout", "2s"])
        .args(SUPERVISE_SH)
        .arg("trap '' TERM; sleep 1000 & echo grandchild; exit 5");
    let started = Instant::now();
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "grandchild", PROMPTLY);
    assert_eq!(run.wait(Duration::from_secs(30)), 5, "{}", run.transcript());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "exited before the stop timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(2) + PROMPTLY, "took {took:?}");
    run.wait_for_eof(PROMPTLY);
}

/// CPU ticks (user + system) and context switches (voluntary, involuntary) of `pid`.
fn usage(pid: i32) -> (u64, u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of proc_pid_stat(5), counted after the command name.
    let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let switches = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (
        ticks,
        switches("voluntary_ctxt_switches"),
        switches("nonvoluntary_ctxt_switches"),
    )
}

#[test]
fn an_idle_supervisor_uses_no_cpu_and_never_wakes() {
    let mut cmd = liftoff();
    cmd.args(SUPERVISE_SH).arg("echo started; exec sleep 1000");
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "started", PROMPTLY);
    let pid = run.liftoff_pid();
    support::wait_until(PROMPTLY, "liftoff to sleep in sigwaitinfo", || {
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .is_ok_and(|w| w.contains("sigtimedwait"))
    });
    let before = usage(pid);
    // A measurement window, not a wait for readiness: the claim is about this interval.
    std::thread::sleep(Duration::from_secs(3));
    let after = usage(pid);
    assert_eq!(
        before, after,
        "(cpu ticks, voluntary, involuntary switches) grew while idle"
    );
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait(PROMPTLY), 143);
}
