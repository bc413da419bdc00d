//! When `mode = "auto"` supervises: behind another init (`docker run --init`, ECS
//! `initProcessEnabled`), liftoff is PID 2 and execs, saying nothing.

use std::process::Command;

use super::{PROMPTLY, Running, Stream, python, with_liftoff_env};
use crate::support;

/// A minimal init for machines without tini: starts its command, reaps everything,
/// and exits with the command's code.
const TINY_INIT: &str = "import os, sys\n\
pid = os.fork()\n\
if pid == 0:\n    os.execvp(sys.argv[1], sys.argv[1:])\n\
while True:\n    p, status = os.wait()\n    if p == pid:\n        sys.exit(os.waitstatus_to_exitcode(status))\n";

/// `tini --` when it is installed, else [`TINY_INIT`] under the venv's Python.
fn init() -> Vec<String> {
    let tini = Command::new("tini").arg("--version").output();
    if tini.is_ok_and(|out| out.status.success()) {
        return vec!["tini".into(), "--".into()];
    }
    let python = python().display().to_string();
    vec![python, "-c".into(), TINY_INIT.into()]
}

#[test]
fn auto_mode_execs_as_pid_2_behind_an_init_and_says_nothing() {
    if !support::privileged_or_skip("liftoff as PID 2") {
        return;
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(init())
        .arg(support::liftoff_bin())
        .args(["-v", "sh", "-c", "echo pid=$$ ppid=$PPID"]);
    with_liftoff_env(&mut cmd);
    let mut run = Running::start(cmd, false);
    // liftoff is PID 2 under the init (PID 1); the program has liftoff's PID and the
    // init as its parent: liftoff replaced itself.
    run.expect(Stream::Out, "pid=2 ppid=1", PROMPTLY);
    assert_eq!(run.wait(PROMPTLY), 0, "{}", run.transcript());
    let log = run.transcript();
    assert!(
        log.contains("mode exec (auto: liftoff is not PID 1)"),
        "{log}"
    );
    assert!(
        !log.contains("WARN") && !log.contains("subreaper"),
        "nothing to warn about behind an init\n{log}"
    );
}
