//! Exit codes and stopping: codes pass through, deaths by signal N become 128+N,
//! success codes become 0, exec failures are 127/126, and a child that will not stop
//! is killed at the stop timeout or at once on a second shutdown signal.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::{PROMPTLY, Running, Stream, liftoff, liftoff_as_pid_1, python, scratch};
use crate::support;

/// Runs `liftoff --mode supervise ARGS` and returns its exit code and transcript.
fn supervise(args: &[&str]) -> (i32, String) {
    let mut cmd = liftoff();
    cmd.args(["--mode", "supervise"]).args(args);
    let mut run = Running::start(cmd, false);
    let code = run.wait(PROMPTLY);
    (code, run.transcript())
}

#[test]
fn exit_codes_pass_through() {
    for code in [0, 1, 2, 127, 254, 255] {
        let script = format!("exit {code}");
        let (got, log) = supervise(&["run", "--", "sh", "-c", &script]);
        assert_eq!(got, code, "{log}");
    }
}

#[test]
fn a_child_killed_by_signal_n_gives_128_plus_n() {
    let rows = [("TERM", 143), ("HUP", 129), ("KILL", 137)];
    for (signal, code) in rows {
        let script = format!("kill -{signal} $$");
        let (got, log) = supervise(&["run", "--", "sh", "-c", &script]);
        assert_eq!(got, code, "{signal}\n{log}");
    }
    // A real-time death: nix's waitpid would turn this into an error after reaping.
    let rt = "import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 3)";
    let python = python().display().to_string();
    let (got, log) = supervise(&["run", "--", &python, "-c", rt]);
    assert_eq!(got, 128 + libc::SIGRTMIN() + 3, "{log}");
}

#[test]
fn a_child_killed_by_term_gives_143_as_pid_1() {
    if !support::privileged_or_skip("exit codes as PID 1") {
        return;
    }
    let mut cmd = liftoff_as_pid_1();
    cmd.args(["run", "--", "sh", "-c", "kill -TERM $$"]);
    let mut run = Running::start(cmd, true);
    assert_eq!(run.wait(PROMPTLY), 143, "{}", run.transcript());
}

#[test]
fn success_codes_become_zero() {
    // 143 is listed; 137 is not, and stays what it is.
    for (script, code) in [("kill -TERM $$", 0), ("kill -KILL $$", 137)] {
        let (got, log) = supervise(&["--success-code", "143", "run", "--", "sh", "-c", script]);
        assert_eq!(got, code, "{script}: only the listed codes become 0\n{log}");
    }

    let dir = scratch("success-codes");
    let config = dir.join("liftoff.toml");
    let toml = "[worker]\nserver = \"command\"\ncommand = [\"sh\", \"-c\", \"kill -TERM $$\"]\n\
                success_codes = [143]\n";
    std::fs::write(&config, toml).unwrap();
    let (got, log) = supervise(&["--config", config.to_str().unwrap(), "worker"]);
    assert_eq!(got, 0, "success_codes = [143] in the profile\n{log}");
}

#[test]
fn the_final_status_is_logged_at_debug_level_with_its_fields() {
    let (code, log) = supervise(&[
        "-v",
        "--success-code",
        "143",
        "run",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]);
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(
            "DEBUG final status: all children reaped, exiting code=0 status=killed by SIGTERM\n"
        ),
        "the code after success_codes, the status before, no shutdown field\n{log}"
    );
    let mut cmd = liftoff();
    cmd.args(["-v", "--mode", "supervise", "run", "--", "sh", "-c"]);
    cmd.arg("echo ready; exec sleep 1000");
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "ready", PROMPTLY);
    run.signal(libc::SIGINT);
    assert_eq!(run.wait(PROMPTLY), 130, "{}", run.transcript());
    assert!(
        run.transcript().contains(
            "final status: all children reaped, exiting code=130 status=killed by SIGINT shutdown=SIGINT"
        ),
        "{}",
        run.transcript()
    );
}

#[test]
fn exec_failure_after_fork_is_127_or_126() {
    let dir = scratch("exec-failure");
    let rows = [
        (
            "missing-interpreter",
            "#!/nonexistent/interpreter\n",
            127,
            "is missing",
        ),
        ("directory-interpreter", "#!/\n", 126, "Permission denied"),
    ];
    for (name, text, code, message) in rows {
        let script = dir.join(name);
        std::fs::write(&script, text).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (got, log) = supervise(&["run", "--", script.to_str().unwrap()]);
        assert_eq!(got, code, "{name}\n{log}");
        assert!(
            log.contains(script.to_str().unwrap()) && log.contains(message),
            "{log}"
        );
    }
}

#[test]
fn a_missing_interpreter_reads_the_same_in_exec_and_supervise_mode() {
    let dir = scratch("missing-interpreter");
    let script = dir.join("server");
    std::fs::write(&script, "#!/nonexistent/interpreter\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.to_str().unwrap();
    for mode in ["exec", "supervise"] {
        let mut cmd = liftoff();
        cmd.args(["--mode", mode, "run", "--", script]);
        let mut run = Running::start(cmd, false);
        let code = run.wait(PROMPTLY);
        let log = run.transcript();
        assert_eq!(code, 127, "{mode}\n{log}");
        assert!(
            log.contains(script)
                && log.contains("(the program, or the interpreter on its #! line, is missing)"),
            "{mode}\n{log}"
        );
    }
}

/// Starts a shell that ignores TERM (and so does the `sleep` it becomes) and waits
/// until it runs.
fn term_ignoring_child(stop_timeout: &str) -> Running {
    let mut cmd = liftoff();
    cmd.args([
        "-v",
        "--mode",
        "supervise",
        "--stop-timeout",
        stop_timeout,
        "run",
        "--",
    ]);
    cmd.args(["sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"]);
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "ready", PROMPTLY);
    run
}

#[test]
fn a_child_that_ignores_term_is_killed_at_the_stop_timeout() {
    let mut run = term_ignoring_child("2s");
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    let code = run.wait(Duration::from_secs(30));
    let took = sent.elapsed();
    assert_eq!(code, 137, "{}", run.transcript());
    assert!(
        took >= Duration::from_millis(1900),
        "killed before the stop timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(2) + PROMPTLY, "took {took:?}");
    assert!(
        run.transcript().contains("stop timeout passed"),
        "{}",
        run.transcript()
    );
}

#[test]
fn a_second_term_kills_at_once() {
    let mut run = term_ignoring_child("60s");
    run.signal(libc::SIGTERM);
    // The second TERM must reach liftoff after it took the first (two pending TERMs
    // would merge into one), so wait for the log line that says it did.
    run.expect(Stream::Err, "forwarded signal", PROMPTLY);
    let sent = Instant::now();
    run.signal(libc::SIGTERM);
    let code = run.wait(Duration::from_secs(30));
    assert_eq!(code, 137, "{}", run.transcript());
    assert!(sent.elapsed() < PROMPTLY, "took {:?}", sent.elapsed());
    assert!(
        run.transcript().contains("second shutdown signal"),
        "{}",
        run.transcript()
    );
}
