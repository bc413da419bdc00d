//! Orphans that left the main child's process group (`setsid`): when the main child
//! exits, liftoff stops them too (TERM, then SIGKILL at the stop timeout) and exits
//! only once they are reaped, with the main child's code (issue 3: "liftoff must never
//! exit while a child it started is still running").

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{PROMPTLY, Running, Stream, liftoff, liftoff_as_pid_1, scratch};
use crate::support;

/// One orphan: `$1` names it, `$2` is `polite` (says so on TERM and exits) or
/// `stubborn` (ignores TERM, and so does its `sleep`, which inherits that), `$3` is the
/// directory. It announces itself on stdout, then leaves a file for the main child.
const ORPHAN: &str = r#"name=$1
case $2 in
polite) trap 'echo "$name got TERM"; exit 0' TERM ;;
stubborn) trap '' TERM ;;
esac
echo "$name ready $$"
touch "$3/$name.ready"
"$3/sleeper" 1000 &
wait
"#;

/// The main child: starts both orphans in sessions of their own, waits until both
/// run, and exits 5 (`$1` is the directory).
const MAIN: &str = r#"setsid sh "$1/orphan.sh" polite polite "$1" &
setsid sh "$1/orphan.sh" stubborn stubborn "$1" &
while [ ! -e "$1/polite.ready" ] || [ ! -e "$1/stubborn.ready" ]; do sleep 0.05; done
exit 5"#;

/// Writes the orphan script and `sleeper` (a link to `sleep`, so that every orphan's
/// command line holds the directory, the marker `pgrep` looks for).
fn prepare(test: &str) -> std::path::PathBuf {
    let dir = scratch(test);
    let script = dir.join("orphan.sh");
    std::fs::write(&script, ORPHAN).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sleep = which_sleep();
    std::os::unix::fs::symlink(sleep, dir.join("sleeper")).unwrap();
    dir
}

/// The `sleep` program's path.
fn which_sleep() -> String {
    let out = Command::new("sh")
        .args(["-c", "command -v sleep"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The processes whose command line contains `marker`, as `pgrep -af` lists them.
fn running_with(marker: &Path) -> String {
    let out = Command::new("pgrep")
        .arg("-af")
        .arg(marker)
        .output()
        .expect("failed to run pgrep");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kills, on drop, whatever still runs with the marker in its command line, so a
/// failing run leaves nothing behind (the orphans are nobody's descendants then).
struct Sweep<'a>(&'a Path);

impl Drop for Sweep<'_> {
    /// Kills each leftover by its pid.
    fn drop(&mut self) {
        for line in running_with(self.0).lines() {
            if let Some(pid) = line.split(' ').next().and_then(|p| p.parse::<i32>().ok()) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// Runs the orphan scenario under `cmd` (liftoff, or `unshare` around it) and checks
/// everything: the main child's code, TERM for the polite orphan, SIGKILL at the stop
/// timeout for the stubborn one, both reaped by liftoff, nothing left.
fn orphans_are_stopped_and_reaped(mut cmd: Command, namespaced: bool, dir: &Path) {
    cmd.args(["-v", "--mode", "supervise", "--stop-timeout", "2s", "run"])
        .args(["--", "sh", "-c", MAIN, "main"])
        .arg(dir);
    let _sweep = Sweep(dir);
    let started = Instant::now();
    let mut run = Running::start(cmd, namespaced);
    let stubborn = run.expect(Stream::Out, "stubborn ready", PROMPTLY);
    let stubborn = stubborn.rsplit(' ').next().unwrap().to_string();
    let code = run.wait(Duration::from_secs(30));
    let took = started.elapsed();
    let log = run.transcript();
    assert_eq!(code, 5, "the main child's code\n{log}");
    assert_eq!(
        running_with(dir),
        "",
        "left running after liftoff exited\n{log}"
    );
    assert!(
        log.contains("polite got TERM"),
        "no TERM for the orphan\n{log}"
    );
    assert!(
        log.contains(&format!("reaped pid={stubborn} code=137")),
        "the stubborn orphan was not SIGKILLed and reaped by liftoff\n{log}"
    );
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(2) + PROMPTLY,
        "the stubborn orphan got the stop timeout: {took:?}\n{log}"
    );
    assert!(
        log.contains("final status: all children reaped, exiting code=5 status=exited with 5"),
        "{log}"
    );
}

#[test]
fn setsid_orphans_are_stopped_and_reaped_before_liftoff_exits_as_subreaper() {
    let dir = prepare("orphans-subreaper");
    orphans_are_stopped_and_reaped(liftoff(), false, &dir);
}

#[test]
fn setsid_orphans_are_stopped_and_reaped_before_liftoff_exits_as_pid_1() {
    if !support::privileged_or_skip("setsid orphans as PID 1") {
        return;
    }
    let dir = prepare("orphans-pid-1");
    orphans_are_stopped_and_reaped(liftoff_as_pid_1(), true, &dir);
}
