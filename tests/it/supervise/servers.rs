//! Real servers with liftoff as PID 1: gunicorn drains an in-flight request on
//! SIGTERM; Flask's reloader pair stops on SIGTERM with nothing left behind; and the
//! control that shows why liftoff is there: Flask alone as PID 1 ignores SIGTERM.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{PROMPTLY, Running, Stream, alive, descendants, liftoff_as_pid_1, scratch};
use crate::support;

/// How long a Python server may take to start on a busy 2-core machine.
const BOOT: Duration = Duration::from_secs(60);

/// A config file for the example app, with `[prod]` logging every request as it starts.
fn config(test: &str) -> PathBuf {
    let app = support::repo_root().join("docker/app");
    let text = format!(
        "[default]\napp = \"app:create_app()\"\nchdir = {:?}\n\
         [prod]\nworkers = 2\n\
         # gunicorn's default pre_request hook logs \"GET /path\" at debug level; the\n\
         # control socket would be shared by every gunicorn on the machine.\n\
         extra_args = [\"--log-level\", \"debug\", \"--no-control-socket\"]\n\
         [dev]\nreload = true\n",
        app.display().to_string()
    );
    let path = scratch(test).join("liftoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn gunicorn_as_pid_1_finishes_the_in_flight_request_on_term_and_exits_0() {
    if !support::privileged_or_skip("gunicorn as PID 1") {
        return;
    }
    let port = support::free_port();
    let mut cmd = liftoff_as_pid_1();
    cmd.arg("--config")
        .arg(config("gunicorn"))
        .args(["prod", "--port", &port.to_string()]);
    let mut server = Running::start(cmd, true);
    support::wait_for_port(port, BOOT);
    let request = std::thread::spawn(move || {
        support::http_get(port, "/slow?seconds=2", Duration::from_secs(60))
    });
    server.expect(Stream::Err, "GET /slow", PROMPTLY);
    let sent = Instant::now();
    server.signal(libc::SIGTERM);
    let (status, body) = request
        .join()
        .unwrap()
        .expect("the in-flight request failed");
    assert_eq!(status, 200, "{body}\n{}", server.transcript());
    assert!(body.contains("\"slept\":2.0"), "{body}");
    assert_eq!(
        server.wait(Duration::from_secs(30)),
        0,
        "{}",
        server.transcript()
    );
    let log = server.transcript();
    assert!(log.contains("Handling signal: term"), "{log}");
    assert!(sent.elapsed() < PROMPTLY, "took {:?}", sent.elapsed());
}

#[test]
fn flask_with_reloader_as_pid_1_stops_both_processes_on_term() {
    if !support::privileged_or_skip("flask as PID 1") {
        return;
    }
    let port = support::free_port();
    let mut cmd = liftoff_as_pid_1();
    cmd.arg("--config")
        .arg(config("flask"))
        .args(["--stop-timeout", "20s"]);
    cmd.args(["dev", "--port", &port.to_string()]);
    let mut server = Running::start(cmd, true);
    support::wait_for_port(port, BOOT);
    let liftoff = server.liftoff_pid();
    // The reloader parent and the child that serves: two Python processes.
    let mut flask = Vec::new();
    support::wait_until(BOOT, "the reloader's two processes", || {
        flask = descendants(liftoff);
        flask.len() == 2
    });
    let sent = Instant::now();
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.wait(Duration::from_secs(30)),
        0,
        "{}",
        server.transcript()
    );
    let took = sent.elapsed();
    let log = server.transcript();
    assert!(took < PROMPTLY, "took {took:?}\n{log}");
    assert!(
        !log.contains("killed the process group"),
        "needed SIGKILL:\n{log}"
    );
    for pid in flask {
        assert!(!alive(pid), "flask process {pid} left behind");
    }
}

#[test]
fn control_flask_without_reloader_alone_as_pid_1_ignores_term() {
    if !support::privileged_or_skip("flask alone as PID 1") {
        return;
    }
    // No handler for SIGTERM, and a namespace's init gets no default actions: the
    // signal is dropped. This is why `liftoff dev` supervises instead of exec'ing.
    let port = support::free_port();
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"]);
    cmd.arg(support::venv_bin().join("flask"))
        .args(["--app", "app:create_app()"]);
    cmd.args(["run", "--no-reload", "--port", &port.to_string()]);
    cmd.current_dir(support::repo_root().join("docker/app"));
    let flask = Running::start(cmd, true);
    support::wait_for_port(port, BOOT);
    flask.signal(libc::SIGTERM);
    // An observation window, not a readiness wait: the claim is "still serving after
    // SIGTERM", and a default-action TERM would kill it within milliseconds.
    std::thread::sleep(Duration::from_secs(2));
    let (status, _) = support::http_get(port, "/health", PROMPTLY).expect("flask died of SIGTERM");
    assert_eq!(status, 200);
    assert!(alive(flask.liftoff_pid()));
}
