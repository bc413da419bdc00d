//! What the child starts with: the terminal's foreground (so a shell reads input and
//! Ctrl-C reaches it), and exactly the signal mask and ignored signals liftoff was
//! started with.

use std::process::Command;
use std::time::Duration;

use super::{PROMPTLY, Running, helper, liftoff_as_pid_1, python, with_liftoff_env};
use crate::support;

#[test]
fn under_a_terminal_the_shell_reads_input_and_ctrl_c_interrupts_sleep() {
    let mut cmd = Command::new(python());
    cmd.arg(helper("pty_shell.py")).arg(support::liftoff_bin());
    cmd.args(["--mode", "supervise", "run", "--", "sh"]);
    with_liftoff_env(&mut cmd);
    let mut run = Running::start(cmd, false);
    let code = run.wait(Duration::from_secs(90));
    assert_eq!(code, 0, "{}", run.transcript());
    assert!(
        run.transcript().contains("[out] ok"),
        "{}",
        run.transcript()
    );
}

/// Starts liftoff through `exec_with.py OPTIONS` (as PID 1 or not) supervising
/// `child`, and returns what liftoff was started with (its "SigBlk"/"SigIgn" lines),
/// what the child printed, and liftoff's exit code.
fn masks(options: &[&str], as_pid_1: bool, child: &[&str]) -> (Vec<String>, Vec<String>, i32) {
    let args = [&["--mode", "supervise", "run", "--"], child].concat();
    started_and_seen(options, as_pid_1, &args)
}

/// Like [`masks`], for any liftoff command line `args`.
fn started_and_seen(
    options: &[&str],
    as_pid_1: bool,
    args: &[&str],
) -> (Vec<String>, Vec<String>, i32) {
    let mut cmd = Command::new(python());
    cmd.arg(helper("exec_with.py")).args(options).arg("--");
    if as_pid_1 {
        let inner = liftoff_as_pid_1();
        cmd.arg(inner.get_program()).args(inner.get_args());
    } else {
        cmd.arg(support::liftoff_bin());
    }
    cmd.args(args);
    with_liftoff_env(&mut cmd);
    let mut run = Running::start(cmd, false);
    let code = run.wait(PROMPTLY);
    let log = run.transcript();
    let pick = |prefix: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let (started, seen) = (pick("[err] before exec: "), pick("[out] "));
    assert_eq!(started.len(), 2, "{log}");
    (started, seen, code)
}

/// The child: `grep` reads its own status (a shell would reset its mask first).
const GREP: [&str; 3] = ["grep", "-E", "^Sig(Blk|Ign)"];

/// [`GREP`] with its file.
fn grep_status() -> Vec<&'static str> {
    GREP.iter().copied().chain(["/proc/self/status"]).collect()
}

#[test]
fn the_child_gets_the_mask_and_ignored_signals_liftoff_started_with() {
    let rows: [&[&str]; 3] = [
        &["--block", "USR2", "--ignore", "INT"],
        &[],
        &[
            "--block", "RTMIN", "--block", "TERM", "--ignore", "PIPE", "--ignore", "HUP",
        ],
    ];
    for options in rows {
        let (started, seen, code) = masks(options, false, &grep_status());
        assert_eq!(seen, started, "options {options:?}");
        assert_eq!(code, 0);
    }
    // The first row spelled out, so a broken helper cannot make both sides agree:
    // USR2 (12) blocked is bit 11, INT (2) ignored is bit 1.
    let (_, seen, _) = masks(
        &["--block", "USR2", "--ignore", "INT"],
        false,
        &grep_status(),
    );
    let standard: Vec<u64> = seen.iter().map(|line| standard_bits(line)).collect();
    assert_eq!(standard, [1 << 11, 1 << 1], "{seen:?}");
}

/// The bits for signals 1-31 of a "SigBlk:"/"SigIgn:" line. Signals 32 and up are left
/// out of spelled-out checks: glibc keeps 32 and 33 to itself, so neither Python nor
/// liftoff can change them, and they arrive as whatever the test runner inherited.
fn standard_bits(line: &str) -> u64 {
    let hex = line.split_whitespace().nth(1).unwrap();
    u64::from_str_radix(hex, 16).unwrap() & 0x7fff_ffff
}

#[test]
fn the_child_gets_the_mask_and_ignored_signals_as_pid_1() {
    if !support::privileged_or_skip("inherited mask as PID 1") {
        return;
    }
    let options = ["--block", "USR2", "--ignore", "INT"];
    let (started, seen, code) = masks(&options, true, &grep_status());
    assert_eq!(seen, started, "exit code {code}");
    assert_eq!(code, 0);
}

#[test]
fn an_inherited_ignored_chld_keeps_the_exit_code_and_reaches_the_child() {
    // With SIGCHLD ignored the kernel reaps children itself and waitpid cannot report
    // an exit code; liftoff takes CHLD back for itself and restores it for the child.
    let python = python().display().to_string();
    let script = "import sys\n\
                  print(next(l for l in open('/proc/self/status') if l.startswith('SigIgn')))\n\
                  sys.exit(3)";
    let (started, seen, code) = masks(&["--ignore", "CHLD"], false, &[&python, "-c", script]);
    assert_eq!(code, 3, "{seen:?}");
    let chld_bit = 1 << (libc::SIGCHLD - 1);
    assert_eq!(standard_bits(&started[1]), chld_bit, "{started:?}");
    assert_ne!(standard_bits(&seen[0]) & chld_bit, 0, "{seen:?}");
}

#[test]
fn after_before_steps_the_program_still_gets_an_inherited_ignored_chld() {
    // Supervising the steps takes CHLD back for liftoff; exec mode must put the
    // inherited SIG_IGN back before exec, as supervise mode does for its child.
    for mode in ["exec", "supervise"] {
        let args = [
            &["--mode", mode, "--before", "true", "--"][..],
            &grep_status(),
        ]
        .concat();
        let (started, seen, code) = started_and_seen(&["--ignore", "CHLD"], false, &args);
        assert_eq!(code, 0, "{mode}");
        assert_eq!(seen, started, "{mode}");
        let chld_bit = 1 << (libc::SIGCHLD - 1);
        assert_eq!(standard_bits(&seen[1]), chld_bit, "{mode}: {seen:?}");
    }
}
