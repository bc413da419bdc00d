//! Every server kind with its real server from PyPI, liftoff as PID 1 (issue 12): it
//! serves, a TERM stops it with exit 0 (an in-flight request answered where the server
//! drains), and nothing is left. The apps are in tests/fixtures.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{PROMPTLY, Running, Stream, alive, descendants, liftoff_as_pid_1, scratch};
use crate::support;

/// How long a Python server may take to start on a busy 2-core machine.
const BOOT: Duration = Duration::from_secs(60);

/// A fixture app's directory.
fn fixture(name: &str) -> PathBuf {
    support::repo_root().join("tests/fixtures").join(name)
}

/// Writes `text` as the test's liftoff.toml and returns its path.
fn config(test: &str, text: &str) -> PathBuf {
    let path = scratch(test).join("liftoff.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `[default]` for a fixture app served by `server`.
fn default_table(server: &str, app: &str, dir: &Path) -> String {
    format!(
        "[default]\nserver = \"{server}\"\napp = \"{app}\"\nchdir = {:?}\n",
        dir.display().to_string()
    )
}

/// Starts `liftoff --config CONFIG ARGS --port PORT` as PID 1 and waits until it serves.
fn start(config: &Path, args: &[&str], port: u16) -> Running {
    let mut cmd = liftoff_as_pid_1();
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .args(["--port", &port.to_string()]);
    let server = Running::start(cmd, true);
    support::wait_until(BOOT, "the server to answer /health", || {
        support::http_get(port, "/health", Duration::from_secs(2)).is_ok_and(|(s, _)| s == 200)
    });
    server
}

/// With `/slow?seconds=2` in flight when TERM arrives: the request gets its 200, liftoff
/// exits 0, and every process it started is gone. Returns what liftoff and the server
/// printed.
fn stops_cleanly_with_a_request_in_flight(mut server: Running, port: u16) -> String {
    let liftoff = server.liftoff_pid();
    let processes = descendants(liftoff);
    let request = std::thread::spawn(move || {
        support::http_get(port, "/slow?seconds=2", Duration::from_secs(60))
    });
    server.expect(Stream::Out, "slow started", PROMPTLY);
    let sent = Instant::now();
    server.signal(libc::SIGTERM);
    let (status, body) = request
        .join()
        .unwrap()
        .expect("the in-flight request failed");
    assert_eq!(status, 200, "{body}\n{}", server.transcript());
    assert!(body.contains("slept"), "{body}");
    assert_eq!(
        server.wait(Duration::from_secs(30)),
        0,
        "{}",
        server.transcript()
    );
    assert!(
        sent.elapsed() < PROMPTLY,
        "took {:?}\n{}",
        sent.elapsed(),
        server.transcript()
    );
    for pid in processes {
        assert!(
            !alive(pid),
            "process {pid} left behind\n{}",
            server.transcript()
        );
    }
    server.transcript()
}

/// TERM stops it with exit 0 and leaves nothing (no drain: the dev servers).
fn stops_cleanly(mut server: Running) {
    let processes = descendants(server.liftoff_pid());
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.wait(Duration::from_secs(30)),
        0,
        "{}",
        server.transcript()
    );
    for pid in processes {
        assert!(
            !alive(pid),
            "process {pid} left behind\n{}",
            server.transcript()
        );
    }
}

#[test]
fn uvicorn_with_workers_drains_and_exits_0_as_pid_1() {
    if !support::privileged_or_skip("uvicorn as PID 1") {
        return;
    }
    let port = support::free_port();
    let text =
        default_table("uvicorn", "app:app", &fixture("fastapi_app")) + "[prod]\nworkers = 2\n";
    let server = start(&config("uvicorn-workers", &text), &["prod"], port);
    let liftoff = server.liftoff_pid();
    // The supervisor, its resource tracker and two workers.
    support::wait_until(BOOT, "uvicorn's two workers", || {
        descendants(liftoff).len() >= 4
    });
    stops_cleanly_with_a_request_in_flight(server, port);
}

#[test]
fn a_single_uvicorn_that_reraises_the_forwarded_term_still_exits_0() {
    if !support::privileged_or_skip("uvicorn alone as PID 1") {
        return;
    }
    // uvicorn >= 0.29 dies by the SIGTERM it re-raises after a clean shutdown: 143 to a
    // shell, 0 from liftoff because liftoff forwarded that very signal.
    let port = support::free_port();
    let text =
        default_table("uvicorn", "app:app", &fixture("fastapi_app")) + "[prod]\nworkers = 1\n";
    let server = start(&config("uvicorn-single", &text), &["-v", "prod"], port);
    let log = stops_cleanly_with_a_request_in_flight(server, port);
    assert!(log.contains("status=killed by SIGTERM"), "{log}");
}

#[test]
fn not_as_pid_1_a_single_uvicorn_is_supervised_so_a_clean_stop_still_exits_0() {
    // Exec would hand the terminal uvicorn's own 143; auto mode stays its parent instead.
    let port = support::free_port();
    let text =
        default_table("uvicorn", "app:app", &fixture("fastapi_app")) + "[prod]\nworkers = 1\n";
    let mut cmd = super::liftoff();
    cmd.arg("--config")
        .arg(config("uvicorn-single-child", &text))
        .args(["prod", "--port", &port.to_string()]);
    let mut server = Running::start(cmd, false);
    let line = server.expect(Stream::Err, "mode supervise", BOOT);
    assert!(
        line.contains("(auto: uvicorn ends a clean stop killed by the stop signal"),
        "{line}"
    );
    support::wait_until(BOOT, "the server to answer /health", || {
        support::http_get(port, "/health", Duration::from_secs(2)).is_ok_and(|(s, _)| s == 200)
    });
    stops_cleanly_with_a_request_in_flight(server, port);
}

#[test]
fn uvicorn_dev_reloads_on_a_change_and_stops_with_exit_0() {
    if !support::privileged_or_skip("uvicorn --reload as PID 1") {
        return;
    }
    let dir = scratch("uvicorn-reload-app");
    std::fs::copy(fixture("fastapi_app/app.py"), dir.join("app.py")).unwrap();
    let port = support::free_port();
    let text = default_table("uvicorn", "app:app", &dir);
    let server = start(&config("uvicorn-reload", &text), &["dev"], port);
    let pid = |port| {
        support::http_get(port, "/pid", Duration::from_secs(5))
            .map(|(_, body)| body)
            .unwrap_or_default()
    };
    let before = pid(port);
    let source = std::fs::read_to_string(dir.join("app.py")).unwrap();
    std::fs::write(dir.join("app.py"), source + "\n# changed\n").unwrap();
    support::wait_until(BOOT, "uvicorn to reload", || {
        let now = pid(port);
        !now.is_empty() && now != before
    });
    stops_cleanly(server);
}

#[test]
fn gunicorn_with_uvicorn_workers_drains_and_exits_0_as_pid_1() {
    if !support::privileged_or_skip("gunicorn with UvicornWorker as PID 1") {
        return;
    }
    let port = support::free_port();
    let text = format!(
        "[default]\napp = \"app:app\"\nchdir = {:?}\n[prod]\nworkers = 2\nworker_class = \"uvicorn_worker.UvicornWorker\"\nextra_args = [\"--no-control-socket\"]\n",
        fixture("fastapi_app").display().to_string()
    );
    let server = start(&config("gunicorn-uvicorn", &text), &["prod"], port);
    stops_cleanly_with_a_request_in_flight(server, port);
}

#[test]
fn django_dev_runs_runserver_with_its_reloader_and_stops_with_exit_0() {
    if !support::privileged_or_skip("django runserver as PID 1") {
        return;
    }
    let port = support::free_port();
    let text = default_table("django", "mysite.wsgi", &fixture("django_project"));
    let server = start(&config("django-dev", &text), &["dev"], port);
    let liftoff = server.liftoff_pid();
    // The reloader parent and the serving child.
    support::wait_until(BOOT, "runserver's two processes", || {
        descendants(liftoff).len() == 2
    });
    stops_cleanly(server);
}

#[test]
fn django_prod_runs_gunicorn_drains_and_exits_0_as_pid_1() {
    if !support::privileged_or_skip("django under gunicorn as PID 1") {
        return;
    }
    let port = support::free_port();
    let text = default_table("django", "mysite.wsgi", &fixture("django_project"))
        + "[prod]\nworkers = 2\nextra_args = [\"--no-control-socket\"]\n";
    let server = start(&config("django-prod", &text), &["prod"], port);
    stops_cleanly_with_a_request_in_flight(server, port);
}

#[test]
fn granian_prod_drains_and_exits_0_as_pid_1() {
    if !support::privileged_or_skip("granian as PID 1") {
        return;
    }
    let port = support::free_port();
    let text =
        default_table("granian", "app:app", &fixture("fastapi_app")) + "[prod]\nworkers = 2\n";
    let server = start(&config("granian", &text), &["prod"], port);
    // A worker still starting ignores the stop until granian's kill timeout: wait for both.
    support::wait_until(BOOT, "granian's two workers", || {
        let log = server.transcript();
        log.contains("Started worker-1") && log.contains("Started worker-2")
    });
    stops_cleanly_with_a_request_in_flight(server, port);
}
