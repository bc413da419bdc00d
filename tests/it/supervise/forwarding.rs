//! Forwarding: every catchable signal reaches the child in order, after the profile's
//! rewrite table, and goes to the child alone or its whole process group.

use std::time::{Duration, Instant};

use super::{Running, Stream, helper, liftoff, liftoff_as_pid_1, python, scratch};
use crate::support;

/// The real-time signal the tests send (SIGRTMIN+3 in the C library's numbering).
fn rtmin_plus_3() -> i32 {
    libc::SIGRTMIN() + 3
}

/// Starts `signal_echo.py` under liftoff as PID 1 (auto mode: no `--mode`) and waits
/// until it has blocked its signals.
fn echo_as_pid_1(extra: &[&str]) -> Running {
    let mut cmd = liftoff_as_pid_1();
    cmd.arg("-v")
        .args(extra)
        .arg("run")
        .arg("--")
        .arg(python())
        .arg(helper("signal_echo.py"));
    let mut echo = Running::start(cmd, true);
    echo.expect(Stream::Out, "ready", Duration::from_secs(20));
    echo
}

/// Sends `sent` to liftoff and returns the signal number the child reports.
fn round_trip(echo: &mut Running, sent: i32) -> i32 {
    echo.signal(sent);
    let line = echo.next_out(Duration::from_secs(10));
    let number = line.strip_prefix("signal ").and_then(|n| n.parse().ok());
    number.unwrap_or_else(|| panic!("unexpected line {line:?}\n{}", echo.transcript()))
}

/// HUP, USR1, USR2, ALRM, WINCH, CONT and SIGRTMIN+3 arrive in order, then `shutdown`
/// arrives and the child's exit 0 is liftoff's.
fn forwards_in_order_then(shutdown: i32) {
    if !support::privileged_or_skip("forwarding as PID 1") {
        return;
    }
    let mut echo = echo_as_pid_1(&[]);
    let sent = [
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
        libc::SIGWINCH,
        libc::SIGCONT,
        rtmin_plus_3(),
        shutdown,
    ];
    let received: Vec<i32> = sent.iter().map(|&s| round_trip(&mut echo, s)).collect();
    assert_eq!(received, sent);
    assert_eq!(echo.wait(super::PROMPTLY), 0);
    let log = echo.transcript();
    // liftoff is PID 1 and, in auto mode, supervises. (Its child is not always PID 2:
    // liftoff's log writer thread may take that id first.)
    assert!(
        log.contains("mode supervise (auto: liftoff is PID 1)")
            && log.contains("started child pid="),
        "auto mode must supervise as PID 1\n{log}"
    );
    assert!(
        log.contains("forwarded signal") && log.contains("signal=SIGRTMIN+3"),
        "{log}"
    );
}

#[test]
fn forwards_every_signal_in_order_then_int_as_pid_1() {
    forwards_in_order_then(libc::SIGINT);
}

#[test]
fn forwards_every_signal_in_order_then_quit_as_pid_1() {
    forwards_in_order_then(libc::SIGQUIT);
}

#[test]
fn forwards_every_signal_in_order_then_term_as_pid_1() {
    forwards_in_order_then(libc::SIGTERM);
}

#[test]
fn profile_table_rewrites_and_ignores_as_pid_1() {
    if !support::privileged_or_skip("profile table as PID 1") {
        return;
    }
    let dir = scratch("table");
    let config = dir.join("liftoff.toml");
    let toml = format!(
        "[worker]\nserver = \"command\"\ncommand = [{:?}, {:?}]\n\
         signals = {{ HUP = \"ignore\", USR1 = \"USR2\", QUIT = \"TERM\" }}\n",
        python().display().to_string(),
        helper("signal_echo.py").display().to_string(),
    );
    std::fs::write(&config, toml).unwrap();
    let mut cmd = liftoff_as_pid_1();
    cmd.arg("--config")
        .arg(&config)
        .args(["--signal-map", "ALRM=WINCH", "worker"]);
    let mut echo = Running::start(cmd, true);
    echo.expect(Stream::Out, "ready", Duration::from_secs(20));
    // HUP is dropped: had it been forwarded, the child would report it before USR2
    // (pending standard signals are taken lowest number first, HUP is 1).
    echo.signal(libc::SIGHUP);
    assert_eq!(round_trip(&mut echo, libc::SIGUSR1), libc::SIGUSR2);
    assert_eq!(
        round_trip(&mut echo, libc::SIGALRM),
        libc::SIGWINCH,
        "--signal-map applies"
    );
    assert_eq!(round_trip(&mut echo, libc::SIGQUIT), libc::SIGTERM);
    assert_eq!(echo.wait(super::PROMPTLY), 0);
}

/// Runs `sh -c 'sleep 30; echo survived'` with `target`, sends INT once `sleep` runs,
/// and returns liftoff's exit code, how long it took, and the transcript.
fn interrupt_shell(target: &str, stop_timeout: &str) -> (i32, Duration, String) {
    let mut cmd = liftoff();
    cmd.args([
        "--mode",
        "supervise",
        "--signal-target",
        target,
        "--stop-timeout",
        stop_timeout,
    ]);
    cmd.args(["run", "--", "sh", "-c", "sleep 30; echo survived"]);
    let mut shell = Running::start(cmd, false);
    super::wait_for_descendant(shell.liftoff_pid(), "sleep", Duration::from_secs(10));
    let sent = Instant::now();
    shell.signal(libc::SIGINT);
    let code = shell.wait(Duration::from_secs(30));
    (code, sent.elapsed(), shell.transcript())
}

#[test]
fn group_target_stops_the_whole_shell_at_once_on_int() {
    let (code, took, log) = interrupt_shell("group", "20s");
    assert_eq!(code, 130, "sh died of SIGINT: 128+2\n{log}");
    assert!(took < super::PROMPTLY, "took {took:?}\n{log}");
    assert!(!log.contains("survived"), "{log}");
}

#[test]
fn child_target_leaves_the_sleep_running_until_the_stop_timeout() {
    // The control for the test above: INT to the shell alone waits for its foreground
    // `sleep`, so only the stop timeout's SIGKILL ends it.
    let (code, took, log) = interrupt_shell("child", "2s");
    assert_eq!(code, 137, "{log}");
    assert!(took >= Duration::from_millis(1900), "took {took:?}\n{log}");
    assert!(!log.contains("survived"), "{log}");
}
