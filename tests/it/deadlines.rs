//! Deadlines that hold with a resolver that never answers (issue 11): `wait_for`'s
//! timeout and `health --timeout` are the whole budget, name lookup included, and a
//! shutdown signal ends the wait at once.
//!
//! The silent resolver is real: in a network and mount namespace of their own, a UDP
//! socket on 127.0.0.1:53 reads queries and never answers, and `/etc/resolv.conf`
//! (bind-mounted over, in that namespace only) points there with 5 s timeouts, so one
//! lookup takes 10 s, which the old build waited out.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::supervise::{Running, Stream, with_liftoff_env};
use crate::support;

/// A name no file resolves, so the lookup goes to the silent resolver.
const NAME: &str = "db.example.internal";

/// Namespaces whose resolver never answers, held by the silent resolver itself.
struct Silent(Child);

impl Silent {
    /// Sets them up and waits until the resolver listens.
    fn new() -> Silent {
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let resolv = dir.join(format!("silent-resolv-{}.conf", std::process::id()));
        std::fs::write(
            &resolv,
            "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
        )
        .unwrap();
        let resolver = "import socket\n\
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
            s.bind(('127.0.0.1', 53))\n\
            print('up', flush=True)\n\
            while True:\n    s.recvfrom(512)\n";
        let script = format!(
            "ip link set lo up && mount --bind {} /etc/resolv.conf && exec {} -c \"$0\"",
            resolv.display(),
            support::venv_bin().join("python").display()
        );
        let mut child = Command::new("unshare")
            .args(["--net", "--mount", "--", "sh", "-c", &script, resolver])
            .stdout(Stdio::piped())
            .spawn()
            .expect("failed to run unshare");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "up", "the silent resolver did not start");
        Silent(child)
    }

    /// liftoff `args` inside the namespaces.
    fn liftoff(&self, args: &[&str]) -> Command {
        let pid = self.0.id();
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(format!("--mount=/proc/{pid}/ns/mnt"))
            .arg("--")
            .arg(support::liftoff_bin())
            .args(args);
        with_liftoff_env(&mut cmd);
        cmd
    }

    /// Runs liftoff `args` inside, and how long it took.
    fn run(&self, args: &[&str]) -> (Output, Duration) {
        let start = Instant::now();
        let out = self.liftoff(args).output().unwrap();
        (out, start.elapsed())
    }
}

impl Drop for Silent {
    /// Ends the resolver, and with it the namespaces.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn wait_for_gives_up_on_time_while_the_name_lookup_hangs() {
    if !support::privileged_or_skip("a silent resolver (network and mount namespaces)") {
        return;
    }
    let silent = Silent::new();
    let one = format!("http://{NAME}:5432");
    let two = format!("tcp://cache.{NAME}:6379");
    for targets in [vec![one.as_str()], vec![one.as_str(), two.as_str()]] {
        let mut args = Vec::new();
        for target in &targets {
            args.extend(["--wait-for", target]);
        }
        args.extend(["--wait-timeout", "2s", "run", "--", "true"]);
        let (out, took) = silent.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(69), "{stderr}");
        assert!(stderr.contains("still down after 2s"), "{stderr}");
        // The old build took 10 s per name (20 s with two): the timeout is the budget.
        assert!(
            took < Duration::from_secs(4),
            "{targets:?}: took {took:?}\n{stderr}"
        );
    }
}

#[test]
fn a_stop_signal_ends_a_wait_stuck_in_a_name_lookup() {
    if !support::privileged_or_skip("a silent resolver (network and mount namespaces)") {
        return;
    }
    let silent = Silent::new();
    let url = format!("http://{NAME}:5432");
    let cmd = silent.liftoff(&[
        "--wait-for",
        &url,
        "--wait-timeout",
        "50s",
        "run",
        "--",
        "true",
    ]);
    let mut running = Running::start(cmd, false);
    running.expect(Stream::Err, "waiting up to 50s", Duration::from_secs(10));
    let sent = Instant::now();
    running.signal(libc::SIGTERM);
    assert_eq!(
        running.wait(Duration::from_secs(15)),
        143,
        "{}",
        running.transcript()
    );
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "TERM took {took:?} to end the wait"
    );
}

#[test]
fn health_gives_up_on_time_while_the_name_lookup_hangs() {
    if !support::privileged_or_skip("a silent resolver (network and mount namespaces)") {
        return;
    }
    let silent = Silent::new();
    let url = format!("http://{NAME}/health");
    let (out, took) = silent.run(&["health", "--url", &url, "--timeout", "1s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer within 1s"), "{stderr}");
    assert!(took < Duration::from_secs(3), "took {took:?}\n{stderr}");
}
