//! The entrypoint-script replacements on the real binary: waiting for real TCP and HTTP
//! dependencies on loopback, signals during the wait, `before` steps, dropping to a real
//! user (checked from the child's `/proc/self/status`), env files, and the drain delay
//! measured against a real server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{self, liftoff};

/// A temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    /// A fresh directory, optionally holding `liftoff.toml`.
    fn new(config: Option<&str>) -> Dir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("liftoff-ep-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(config) = config {
            std::fs::write(dir.join("liftoff.toml"), config).unwrap();
        }
        Dir(dir)
    }

    /// Writes `name` with `text` here.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs liftoff here to completion.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        liftoff()
            .current_dir(&self.0)
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .expect("failed to run liftoff")
    }
}

impl Drop for Dir {
    /// Removes the directory.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// liftoff running in its own process group, its stderr collected; killed on drop.
struct Running {
    /// The liftoff process.
    child: Child,
    /// When it was started.
    started: Instant,
    /// Its stderr so far.
    log: Arc<Mutex<String>>,
    /// Its stdout lines so far, each with the time it arrived.
    out: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Running {
    /// Starts `liftoff ARGS` in `dir`.
    fn start(dir: &Path, args: &[&str]) -> Running {
        let mut child = liftoff()
            .current_dir(dir)
            .env("PATH", support::path_with_venv())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push((Instant::now(), line));
            }
        });
        Running {
            child,
            started: Instant::now(),
            log,
            out,
        }
    }

    /// Waits until stderr contains `needle`.
    fn wait_log(&self, needle: &str, deadline: Duration) {
        support::wait_until(deadline, &format!("{needle:?} in the log"), || {
            self.log.lock().unwrap().contains(needle)
        });
    }

    /// The stderr so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// When stdout printed a line equal to `line`, if it did.
    fn printed(&self, line: &str) -> Option<Instant> {
        let out = self.out.lock().unwrap();
        out.iter().find(|(_, l)| l == line).map(|(at, _)| *at)
    }

    /// Every stdout line so far.
    fn lines(&self) -> Vec<String> {
        self.out
            .lock()
            .unwrap()
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Waits until stdout printed `line` or liftoff exited, whichever comes first.
    fn wait_printed_or_exit(&mut self, line: &str, deadline: Duration) {
        support::wait_until(deadline, &format!("{line:?} on stdout"), || {
            self.printed(line).is_some() || self.child.try_wait().unwrap().is_some()
        });
    }

    /// Sends `signal` to liftoff.
    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    /// Waits for liftoff to exit; returns its status and when it exited.
    fn wait_exit(&mut self, deadline: Duration) -> (ExitStatus, Instant) {
        let mut status = None;
        support::wait_until(deadline, "liftoff to exit", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        (status.unwrap(), Instant::now())
    }
}

impl Drop for Running {
    /// Kills the whole group, whatever happened.
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// stderr as text.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tiny HTTP server on loopback: answers 503 to the first `failures` requests, then
/// 200; counts the requests. Runs on a thread until the test ends.
fn flaky_http(failures: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let status = if n < failures {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, count)
}

#[test]
fn waits_for_a_tcp_listener_that_appears_after_a_second() {
    let dir = Dir::new(None);
    let port = support::free_port();
    let target = format!("tcp://127.0.0.1:{port}");
    let mut liftoff = Running::start(
        &dir.0,
        &[
            "--wait-for",
            &target,
            "--wait-timeout",
            "20s",
            "sh",
            "-c",
            "echo started",
        ],
    );
    liftoff.wait_log("waiting up to 20s for", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        liftoff.printed("started").is_none(),
        "started before the port existed"
    );
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let bound = Instant::now();
    let (status, _) = liftoff.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status:?}: {}", liftoff.log());
    let started = liftoff.printed("started").expect("the program ran");
    assert!(
        started >= bound,
        "the program ran only once the port accepted"
    );
    assert!(
        started.duration_since(bound) < Duration::from_secs(3),
        "noticed within the capped backoff: {:?}",
        started.duration_since(bound)
    );
    assert!(
        liftoff.log().contains(&format!("{target} is up after")),
        "{}",
        liftoff.log()
    );
    drop(listener);
}

#[test]
fn waits_for_an_http_endpoint_to_answer_2xx() {
    let dir = Dir::new(None);
    let (port, requests) = flaky_http(3);
    let url = format!("http://127.0.0.1:{port}/health");
    let out = dir.run(
        &[
            "--wait-for",
            &url,
            "--wait-timeout",
            "20s",
            "sh",
            "-c",
            "echo started",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "started\n");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        4,
        "three 503s were retried, the 200 ended the wait"
    );
    assert!(
        stderr(&out).contains(&format!("{url} is up after")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_dependency_that_never_comes_is_exit_69_within_the_timeout() {
    let dir = Dir::new(Some(
        "[default]\nwait_timeout = \"1500ms\"\n\n[worker]\ncommand = [\"sh\", \"-c\", \"echo started\"]\n",
    ));
    let (http_port, _) = flaky_http(usize::MAX);
    let tcp = format!("tcp://127.0.0.1:{}", support::free_port());
    let http = format!("http://127.0.0.1:{http_port}/ready");
    let started = Instant::now();
    let out = dir.run(
        &["worker"],
        &[("LIFTOFF_WAIT_FOR", &format!("{tcp},{http}"))],
    );
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(69), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "the program never ran");
    let err = stderr(&out);
    assert!(
        err.contains("still down after 1s 500ms")
            && err.contains(&format!("{tcp} (connection refused)"))
            && err.contains(&format!("{http} (answered 503 Service Unavailable)")),
        "{err}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[test]
fn sigterm_during_the_wait_ends_it_at_once() {
    let dir = Dir::new(None);
    let target = format!("tcp://127.0.0.1:{}", support::free_port());
    for (signal, code) in [(Signal::SIGTERM, 143), (Signal::SIGINT, 130)] {
        let mut liftoff = Running::start(
            &dir.0,
            &[
                "--wait-for",
                &target,
                "--wait-timeout",
                "60s",
                "sh",
                "-c",
                "echo started",
            ],
        );
        liftoff.wait_log("waiting up to 1m for", Duration::from_secs(10));
        let sent = Instant::now();
        liftoff.signal(signal);
        let (status, exited) = liftoff.wait_exit(Duration::from_secs(10));
        assert_eq!(status.code(), Some(code), "{signal}: {}", liftoff.log());
        assert!(
            exited.duration_since(sent) < Duration::from_secs(1),
            "{signal}: took {:?}",
            exited.duration_since(sent)
        );
        assert!(liftoff.printed("started").is_none());
        assert!(
            liftoff
                .log()
                .contains(&format!("received {signal} while waiting")),
            "{}",
            liftoff.log()
        );
        assert!(liftoff.started.elapsed() < Duration::from_secs(30));
    }
}

/// The venv's Python and the helper that prints every signal it receives.
fn signal_echo() -> [String; 2] {
    let python = support::venv_bin().join("python");
    let echo = support::repo_root().join("tests/helpers/signal_echo.py");
    [python, echo].map(|p| p.display().to_string())
}

/// Sends HUP while liftoff waits for a port, then opens the port: the server starts,
/// never sees the HUP, and stops on TERM as usual.
fn a_hup_during_the_wait_is_dropped(mode: &str) {
    let dir = Dir::new(None);
    let port = support::free_port();
    let target = format!("tcp://127.0.0.1:{port}");
    let [python, echo] = signal_echo();
    let args = [
        "-v",
        "--mode",
        mode,
        "--wait-for",
        &target,
        "--wait-timeout",
        "60s",
    ];
    let mut liftoff = Running::start(&dir.0, &[&args[..], &[&python, &echo]].concat());
    liftoff.wait_log("waiting up to 1m for", Duration::from_secs(10));
    liftoff.signal(Signal::SIGHUP);
    // The HUP is pending at liftoff once kill returns; the wait takes every pending
    // signal after each probe, so it is taken before the probe that finds the port.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    liftoff.wait_printed_or_exit("ready", Duration::from_secs(30));
    assert!(
        liftoff.printed("ready").is_some(),
        "{mode}: {}",
        liftoff.log()
    );
    liftoff.signal(Signal::SIGTERM);
    let (status, _) = liftoff.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{mode}: {}", liftoff.log());
    assert_eq!(
        liftoff.lines(),
        ["ready", "signal 15"],
        "{mode}: the server got TERM and no HUP\n{}",
        liftoff.log()
    );
    assert!(
        liftoff.log().contains(
            "received a signal while waiting for dependencies: dropped, no program runs yet to forward it to signal=SIGHUP"
        ),
        "{mode}: {}",
        liftoff.log()
    );
    drop(listener);
}

#[test]
fn a_hup_during_the_wait_is_dropped_in_exec_mode() {
    a_hup_during_the_wait_is_dropped("exec");
}

#[test]
fn a_hup_during_the_wait_is_dropped_in_supervise_mode() {
    a_hup_during_the_wait_is_dropped("supervise");
}

#[test]
fn bad_wait_targets_are_configuration_errors() {
    let dir = Dir::new(Some("[default]\nwait_for = [\"db:5432\"]\n"));
    let out = dir.run(&["sh", "-c", "echo started"], &[]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("wait_for (from liftoff.toml [default])")
            && err.contains("expected tcp://host:port"),
        "{err}"
    );
}

#[test]
fn env_file_sits_below_the_process_environment_and_the_env_table() {
    let dir = Dir::new(Some(
        "[default]\nenv_file = \"conf/app.env\"\n\n[show]\ncommand = [\"sh\", \"-c\", \"echo $FROM_FILE $FROM_PROCESS $FROM_TABLE $QUOTED\"]\n\n[show.env]\nFROM_TABLE = \"table\"\n",
    ));
    std::fs::create_dir(dir.0.join("conf")).unwrap();
    dir.write(
        "conf/app.env",
        "# app settings\nexport FROM_FILE=file\nFROM_PROCESS=file\nFROM_TABLE=file\nQUOTED=\"a b\"\n",
    );
    let out = dir.run(&["show"], &[("FROM_PROCESS", "process")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "file process table a b\n");
    // A flag names the file relative to the current directory.
    dir.write("other.env", "FROM_FILE=other\n");
    let out = dir.run(&["show", "--env-file", "other.env"], &[]);
    assert_eq!(stdout(&out), "other table\n", "{}", stderr(&out));
}

#[test]
fn env_file_errors_are_78_with_the_file_and_line_numbers() {
    let dir = Dir::new(None);
    let out = dir.run(&["--env-file", "missing.env", "true"], &[]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("env_file `missing.env` (from flag --env-file)")
            && err.contains("missing.env"),
        "{err}"
    );
    dir.write(
        "bad.env",
        "GOOD=1\nSECRET_TOKEN hunter2\n\nB=\"unterminated\n",
    );
    let out = dir.run(&["true"], &[("LIFTOFF_ENV_FILE", "bad.env")]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("environment variable LIFTOFF_ENV_FILE")
            && err.contains("bad.env:2: expected KEY=VALUE")
            && err.contains("bad.env:4: `B`: the closing \" is missing"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2") && !err.contains("unterminated"),
        "{err}"
    );
}

/// The `Uid:`, `Gid:` and `Groups:` lines and `HOME` of a program run by liftoff.
const WHOAMI: &str = "grep -E '^(Uid|Gid|Groups):' /proc/self/status; echo HOME=$HOME";

/// What [`WHOAMI`] prints for nobody (65534, group nogroup 65534, home /nonexistent).
const NOBODY: &str = "Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t65534 \nHOME=/nonexistent\n";

#[test]
fn exec_mode_drops_to_the_user() {
    if !support::privileged_or_skip("exec_mode_drops_to_the_user") {
        return;
    }
    let dir = Dir::new(Some("[default]\nuser = \"nobody\"\n"));
    let out = dir.run(
        &["--mode", "exec", "sh", "-c", WHOAMI],
        &[("HOME", "/root")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), NOBODY);
    // An explicit group replaces the primary one; a uid without an entry is allowed
    // with its group given, and gets HOME=/.
    let rows = [
        ("65534:0", "65534", "0", "0", "/nonexistent"),
        ("12345:12345", "12345", "12345", "12345", "/"),
    ];
    for (user, uid, gid, groups, home) in rows {
        let out = dir.run(&["--mode", "exec", "--user", user, "sh", "-c", WHOAMI], &[]);
        let want = format!(
            "Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nGroups:\t{groups} \nHOME={home}\n"
        );
        assert_eq!(stdout(&out), want, "{user}: {}", stderr(&out));
    }
}

#[test]
fn unknown_users_and_non_root_switches_are_78_before_anything_runs() {
    if !support::privileged_or_skip("unknown_users_and_non_root_switches_are_78") {
        return;
    }
    let dir = Dir::new(None);
    let marker = dir.0.join("ran");
    let touch = format!("touch {}", marker.display());
    let target = format!("tcp://127.0.0.1:{}", support::free_port());
    let started = Instant::now();
    let out = dir.run(
        &[
            "--user",
            "no-such-user-xyz",
            "--wait-for",
            &target,
            "sh",
            "-c",
            &touch,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("user `no-such-user-xyz` (from flag --user): there is no user"),
        "{}",
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no wait happened"
    );
    assert!(!marker.exists());

    // As nobody, liftoff cannot become root, but can stay nobody.
    let as_nobody = |user: &str| {
        std::process::Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ])
            .arg(support::liftoff_bin())
            .args(["--user", user, "sh", "-c", "echo ran"])
            .current_dir("/")
            .output()
            .unwrap()
    };
    let out = as_nobody("root");
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("liftoff runs as uid 65534, not root, so it cannot switch to root"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stdout(&out), "");
    let out = as_nobody("nobody");
    assert_eq!(stdout(&out), "ran\n", "{}", stderr(&out));
}

#[test]
fn before_steps_run_in_order_then_the_program() {
    let dir = Dir::new(None);
    let out = dir.run(
        &[
            "--before",
            "sh -c 'echo step one'",
            "--before",
            "sh -c 'echo step two'",
            "sh",
            "-c",
            "echo server",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "step one\nstep two\nserver\n");
    assert!(
        stderr(&out).contains("before step 2/2: sh -c 'echo step two'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_failing_before_step_stops_liftoff_with_its_code_and_names_it() {
    let dir = Dir::new(Some(
        "[default]\nbefore = [[\"sh\", \"-c\", \"echo first\"], [\"sh\", \"-c\", \"exit 3\"], [\"sh\", \"-c\", \"echo never\"]]\n",
    ));
    let out = dir.run(&["sh", "-c", "echo server"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "first\n",
        "neither the third step nor the server ran"
    );
    assert!(
        stderr(&out).contains("before step 2/3 (sh -c 'exit 3') failed with exit code 3"),
        "{}",
        stderr(&out)
    );
    let out = dir.run(&["--before", "no-such-step-xyz", "true"], &[]);
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("before step 1 (no-such-step-xyz): program `no-such-step-xyz` not found"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sigterm_during_a_before_step_stops_it_and_starts_nothing() {
    let dir = Dir::new(None);
    // The step catches TERM and exits 0, as a polite script would: still no server.
    let step = "sh -c 'trap \"exit 0\" TERM; echo step ready; while :; do sleep 0.1; done'";
    let mut liftoff = Running::start(&dir.0, &["--before", step, "sh", "-c", "echo server"]);
    support::wait_until(Duration::from_secs(10), "the step to start", || {
        liftoff.printed("step ready").is_some()
    });
    liftoff.signal(Signal::SIGTERM);
    let (status, _) = liftoff.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", liftoff.log());
    assert!(liftoff.printed("server").is_none(), "{}", liftoff.log());
    assert!(
        liftoff
            .log()
            .contains("received SIGTERM during before step 1/1"),
        "{}",
        liftoff.log()
    );
}

#[test]
fn before_steps_get_the_profiles_signal_table() {
    // The step has HUP's default action (death); the profile drops HUP, so the step
    // must never see it.
    let dir = Dir::new(Some(
        "[worker]\ncommand = [\"sh\", \"-c\", \"echo server\"]\n\
         before = [[\"sh\", \"-c\", \"echo step ready; while [ ! -e go ]; do sleep 0.05; done; echo step done\"]]\n\
         signals = { HUP = \"ignore\" }\n",
    ));
    let mut liftoff = Running::start(&dir.0, &["-v", "worker"]);
    liftoff.wait_printed_or_exit("step ready", Duration::from_secs(10));
    liftoff.signal(Signal::SIGHUP);
    liftoff.wait_log("received signal signal=SIGHUP", Duration::from_secs(10));
    dir.write("go", "");
    let (status, _) = liftoff.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", liftoff.log());
    assert_eq!(
        liftoff.lines(),
        ["step ready", "step done", "server"],
        "{}",
        liftoff.log()
    );
}

#[test]
fn supervised_programs_and_before_steps_run_as_the_user() {
    if !support::privileged_or_skip("supervised_programs_and_before_steps_run_as_the_user") {
        return;
    }
    let dir = Dir::new(None);
    let out = dir.run(
        &[
            "--mode",
            "supervise",
            "--user",
            "nobody",
            "--before",
            &format!("sh -c \"{WHOAMI}\""),
            "sh",
            "-c",
            WHOAMI,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{NOBODY}{NOBODY}"),
        "the step, then the program"
    );
}

#[test]
fn exec_mode_refuses_a_drain_delay() {
    let dir = Dir::new(None);
    let out = dir.run(&["--mode", "exec", "--drain-delay", "1s", "true"], &[]);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("drain_delay (from flag --drain-delay) needs liftoff to stay the program's parent, but mode is exec (from flag --mode)"),
        "{}",
        stderr(&out)
    );
}

/// A config serving the example app with gunicorn, one worker.
fn app_config() -> String {
    format!(
        "[default]\napp = \"app:create_app()\"\nchdir = \"{}\"\n\n[prod]\nworkers = 1\n",
        support::repo_root().join("docker/app").display()
    )
}

/// Whether `GET /health` on `port` answers 200 right now.
fn healthy(port: u16) -> bool {
    support::http_get(port, "/health", Duration::from_secs(2))
        .is_ok_and(|(status, _)| status == 200)
}

/// `liftoff prod` on the example app with this drain delay and stop timeout, once
/// it serves; the directory it runs in (keep it alive), its port, and the process.
fn serving_prod(drain_delay: &str, stop_timeout: &str) -> (Dir, u16, Running) {
    let dir = Dir::new(Some(&app_config()));
    let port = support::free_port();
    let liftoff = Running::start(
        &dir.0,
        &[
            "prod",
            "--port",
            &port.to_string(),
            "--drain-delay",
            drain_delay,
            "--stop-timeout",
            stop_timeout,
        ],
    );
    support::wait_for_port(port, Duration::from_secs(30));
    (dir, port, liftoff)
}

#[test]
fn the_drain_delay_keeps_serving_then_stops() {
    let (_dir, port, mut liftoff) = serving_prod("2s", "20s");
    assert!(healthy(port));
    liftoff.signal(Signal::SIGTERM);
    let sent = Instant::now();
    liftoff.wait_log("stop requested: serving 2s more", Duration::from_secs(5));
    // Every request during the delay is answered.
    let mut answered = 0;
    while sent.elapsed() < Duration::from_millis(1700) {
        assert!(
            healthy(port),
            "refused {:?} into the 2s delay",
            sent.elapsed()
        );
        answered += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, exited) = liftoff.wait_exit(Duration::from_secs(20));
    let took = exited.duration_since(sent);
    assert_eq!(status.code(), Some(0), "{}", liftoff.log());
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "stopped {took:?} after TERM"
    );
    assert!(!healthy(port), "nothing serves after the stop");
    assert!(
        answered >= 10,
        "{answered} requests answered during the delay"
    );
    assert!(
        liftoff.log().contains("drain delay over"),
        "{}",
        liftoff.log()
    );
    eprintln!(
        "drain delay 2s: {answered} requests answered during it; stopped {took:?} after TERM"
    );
}

#[test]
fn a_second_sigterm_skips_the_drain_delay() {
    let (_dir, port, mut liftoff) = serving_prod("60s", "90s");
    liftoff.signal(Signal::SIGTERM);
    liftoff.wait_log("stop requested: serving 1m more", Duration::from_secs(5));
    assert!(healthy(port), "still serving during the delay");
    liftoff.signal(Signal::SIGTERM);
    let second = Instant::now();
    let (status, exited) = liftoff.wait_exit(Duration::from_secs(30));
    let took = exited.duration_since(second);
    assert_eq!(status.code(), Some(0), "{}", liftoff.log());
    assert!(
        took < Duration::from_secs(10),
        "stopped {took:?} after the second TERM"
    );
    assert!(
        liftoff
            .log()
            .contains("skipped the rest of the drain delay"),
        "{}",
        liftoff.log()
    );
    eprintln!("second TERM: stopped {took:?} after it");
}
