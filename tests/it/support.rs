//! Shared test support: a builder around the real binary, the venv with real gunicorn
//! and Flask, free ports, and waiting with deadlines instead of sleeping.

#![allow(
    dead_code,
    reason = "each test module uses a different part of the support code"
)]

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the liftoff binary under test.
pub fn liftoff_bin() -> &'static str {
    env!("CARGO_BIN_EXE_liftoff")
}

/// The repository root (where `liftoff.toml` and `docker/app` live).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv with the pinned Flask and gunicorn (`make venv` creates it).
///
/// Panics with what to do when it is missing: tests never skip for lack of it.
pub fn venv_bin() -> PathBuf {
    let bin = repo_root().join(".venv/bin");
    assert!(
        bin.join("gunicorn").exists() && bin.join("flask").exists(),
        "the test venv is missing: run `make venv` (creates .venv with docker/app/requirements.txt)"
    );
    bin
}

/// `PATH` with the venv's bin directory first.
pub fn path_with_venv() -> String {
    let old = std::env::var("PATH").unwrap_or_default();
    format!("{}:{old}", venv_bin().display())
}

/// A command for the liftoff binary with a clean, predictable environment: no
/// `LIFTOFF_*`, `PORT` or `WEB_CONCURRENCY` from the machine running the tests.
#[must_use]
pub fn liftoff() -> Command {
    let mut cmd = Command::new(liftoff_bin());
    for (key, _) in std::env::vars_os() {
        let key_str = key.to_string_lossy();
        if key_str.starts_with("LIFTOFF_") || key_str == "PORT" || key_str == "WEB_CONCURRENCY" {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
    default_signals(&mut cmd);
    cmd
}

/// Starts `cmd` with every signal at its default action and none blocked, as a container
/// runtime starts an entrypoint.
///
/// Tests must not depend on how the test runner was started: a background job of a
/// non-interactive shell (`cmd &`) inherits SIGINT and SIGQUIT ignored, and liftoff
/// rightly passes inherited ignored signals on to its program.
pub fn default_signals(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec this makes only async-signal-safe calls (signal,
    // sigprocmask) on values prepared on the stack, and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::zeroed();
            libc::sigemptyset(empty.as_mut_ptr());
            libc::sigprocmask(libc::SIG_SETMASK, empty.as_ptr(), std::ptr::null_mut());
            Ok(())
        })
    }
}

/// Runs `liftoff ARGS` in `dir` and captures its output.
pub fn run_in<I, S>(dir: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    liftoff()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("failed to run liftoff")
}

/// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `127.0.0.1:port` accepts connections, or panics at the deadline.
pub fn wait_for_port(port: u16, deadline: Duration) {
    wait_until(
        deadline,
        &format!("port {port} to accept connections"),
        || TcpStream::connect(("127.0.0.1", port)).is_ok(),
    );
}

/// Polls `ready` every 20 ms until it is true, or panics naming `what` at the deadline.
pub fn wait_until(deadline: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `GET path` to `127.0.0.1:port` and returns the status code and body.
pub fn http_get(port: u16, path: &str, timeout: Duration) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Whether tests that need root, `unshare` or cgroups must run rather than skip.
///
/// `.ci/run` sets `REQUIRE_PRIVILEGED_TESTS=1`, so a skip there is a failure.
pub fn require_privileged() -> bool {
    std::env::var_os("REQUIRE_PRIVILEGED_TESTS").is_some_and(|v| v == "1")
}

/// Returns true when the machine can run privileged tests (root and `unshare`); when it
/// cannot, prints why and returns false, or panics under `REQUIRE_PRIVILEGED_TESTS=1`.
pub fn privileged_or_skip(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    let unshare = Command::new("unshare").arg("--version").output().is_ok();
    if root && unshare {
        return true;
    }
    let why = format!("{test}: needs root and unshare (root={root}, unshare={unshare})");
    assert!(
        !require_privileged(),
        "REQUIRE_PRIVILEGED_TESTS=1 but {why}"
    );
    eprintln!("skipped: {why}");
    false
}
