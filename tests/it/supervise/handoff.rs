//! The hand-over: once the server runs, liftoff re-executes itself and a fresh image
//! goes on supervising. The process must not be able to tell: same pid, name,
//! arguments and subreaper role, and no signal or child exit lost on the way.

use super::{
    PROMPTLY, Running, SUPERVISE_SH, Stream, alive, children, comm, liftoff_as_pid_1, scratch,
    with_liftoff_env,
};
use crate::support;

/// liftoff's environment as `KEY=value` strings.
fn environ(pid: i32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|b| *b == 0)
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect()
}

/// Waits until liftoff (host pid `pid`) runs in the fresh image, which is when its
/// environment carries the hand-over state, with its name (the exec names it after the
/// file, and the fresh image restores the name it had).
fn wait_for_handoff(pid: i32, name: &str) {
    support::wait_until(PROMPTLY, "liftoff to hand supervision over", || {
        let handed = environ(pid)
            .iter()
            .any(|entry| entry.starts_with("LIFTOFF_HANDOFF=v1 "));
        handed && comm(pid).as_deref() == Some(name)
    });
}

#[test]
fn the_fresh_image_keeps_the_name_the_arguments_and_the_subreaper_role() {
    let dir = scratch("handoff-keeps");
    let go = dir.join("go");
    // The orphan is made only once the test says so, after the hand-over: it must come
    // back to liftoff, which it does only if the fresh image is still the subreaper.
    let script = "echo ready; while [ ! -e \"$0\" ]; do sleep 0.05; done; (sleep 30 & echo orphan $!); exec sleep 60";
    let args: Vec<&str> = std::iter::once("-v")
        .chain(SUPERVISE_SH)
        .chain([script])
        .collect();
    // Started by another name, as an image may install it (`/sbin/init -> liftoff`):
    // the exec would name the process after the file, `liftoff`.
    let link = dir.join("my-init");
    std::os::unix::fs::symlink(support::liftoff_bin(), &link).unwrap();
    let mut cmd = std::process::Command::new(&link);
    with_liftoff_env(&mut cmd);
    cmd.args(&args).arg(&go);
    let mut run = Running::start(cmd, false);
    run.expect(Stream::Out, "ready", PROMPTLY);
    let pid = run.liftoff_pid();
    // ps and pgrep must still find it by the name it was started by.
    wait_for_handoff(pid, "my-init");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let shown: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    assert_eq!(shown[0], link.display().to_string());
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
        cmd.args(["-v", "run", "--", "sleep", "60"]);
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
        let log = run.transcript();
        assert!(
            log.contains("took over supervision in a fresh image"),
            "round {round}: the signal came before the hand-over, which must still happen\n{log}"
        );
    }
}

/// A hand-over state for the process `sh` execs into: its pid and start time, with
/// `child` as the main child.
const STATE_FOR_THIS_PROCESS: &str = "exec env LIFTOFF_HANDOFF=\"v1 pid=$$ start=$(cut -d')' -f2 /proc/$$/stat | cut -d' ' -f21) child=$1 target=group stop=10.000000000 drain=0.000000000 resend= codes= table= log=info,text comm=\" \"$0\" check";

#[test]
fn a_hand_over_state_that_liftoff_did_not_write_is_refused() {
    // Not a state at all, and a state for this very process (pid and start time) whose
    // "child" is not its child: refused, one line, 78.
    let garbage = support::liftoff()
        .env("LIFTOFF_HANDOFF", "yes")
        .arg("check")
        .output()
        .unwrap();
    let forged = std::process::Command::new("sh")
        .args(["-c", STATE_FOR_THIS_PROCESS, support::liftoff_bin(), "1"])
        .env_remove("LIFTOFF_CONFIG")
        .output()
        .unwrap();
    for (out, reason) in [
        (garbage, "it does not start with `v1`"),
        (forged, "pid 1 is not a child of this process"),
    ] {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("LIFTOFF_HANDOFF is set, but not by liftoff for this process")
                && stderr.contains(reason)
                && stderr.contains("unset it"),
            "{stderr}"
        );
    }
}

#[test]
fn a_copy_of_another_process_state_is_ignored_with_a_warning() {
    // `/proc/1/environ` copied into a cron job's environment: every liftoff started
    // from it must still work, and say what to clean up.
    let copied = "v1 pid=1 start=1 child=2 target=group stop=10.000000000 drain=0.000000000 resend= codes= table= log=info,text comm=";
    let out = support::liftoff()
        .env("LIFTOFF_HANDOFF", copied)
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "echo \"child sees ${LIFTOFF_HANDOFF:-nothing}\"",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "child sees nothing\n");
    assert!(
        stderr.contains(
            "warning: ignoring LIFTOFF_HANDOFF: it was written for another process (pid 1)"
        ) && stderr.contains("unset it where it is copied from"),
        "{stderr}"
    );
}

#[test]
fn started_through_the_dynamic_loader_liftoff_supervises_in_place() {
    // `/proc/self/exe` is then the loader: handing it liftoff's arguments would end
    // PID 1. liftoff sees that it is not the program the kernel started, says so, and
    // supervises in the image it has.
    let loader = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"]
        .into_iter()
        .find(|path| std::path::Path::new(path).exists())
        .expect("no glibc dynamic loader found at the usual paths");
    let mut cmd = std::process::Command::new(loader);
    cmd.arg(support::liftoff_bin())
        .args(SUPERVISE_SH)
        .arg("exit 3");
    with_liftoff_env(&mut cmd);
    let mut run = Running::start(cmd, false);
    assert_eq!(run.wait(PROMPTLY), 3, "{}", run.transcript());
    let log = run.transcript();
    assert!(
        log.contains("failed to hand supervision to a fresh image of liftoff")
            && log.contains("is not liftoff itself")
            && log.contains("supervising in this one"),
        "{log}"
    );
}

#[test]
fn without_proc_liftoff_supervises_in_place() {
    if !support::privileged_or_skip("a mount namespace without /proc") {
        return;
    }
    // An empty tmpfs over /proc: no /proc/self/exe to read.
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs none /proc && exec \"$0\" --mode supervise run -- sh -c 'exit 3'")
        .arg(support::liftoff_bin());
    with_liftoff_env(&mut cmd);
    let mut run = Running::start(cmd, false);
    assert_eq!(run.wait(PROMPTLY), 3, "{}", run.transcript());
    let log = run.transcript();
    assert!(
        log.contains("failed to hand supervision to a fresh image of liftoff")
            && log.contains("failed to read /proc/self/exe"),
        "{log}"
    );
}
