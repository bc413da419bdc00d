//! Supervise mode on real processes: liftoff as PID 1 of a real PID namespace
//! (`unshare --pid --fork --mount-proc`) or as a child subreaper, with real signals,
//! real orphans, a real terminal, and real gunicorn and Flask.
//!
//! This file holds the harness: a running process whose output lines arrive with
//! deadlines, and liftoff's pid inside or outside a namespace. The helpers the children
//! run are small Python and shell programs in `tests/helpers/`.

mod exits;
mod forwarding;
mod kinds;
mod logging;
mod modes;
mod orphans;
mod reaping;
mod servers;
mod terminal;
mod walkthroughs;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support;

/// Which of a process's outputs a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// What the reader threads report.
enum Report {
    Line(Stream, String),
    Closed(Stream),
}

/// A running command (liftoff, or `unshare` around it) whose stdout and stderr lines
/// can be awaited with deadlines. Dropping it kills whatever is left of the tree.
pub struct Running {
    child: Child,
    reports: Receiver<Report>,
    transcript: Arc<Mutex<String>>,
    namespaced: bool,
    open: HashSet<&'static str>,
    status: Option<ExitStatus>,
}

impl Running {
    /// Starts `cmd` with piped stdout and stderr; `namespaced` says it is `unshare`
    /// around liftoff (so liftoff is its only child).
    pub fn start(cmd: Command, namespaced: bool) -> Running {
        Running::start_with_stderr(cmd, namespaced, None)
    }

    /// Like [`Running::start`], with stderr going to `stderr` instead of a pipe the
    /// test reads (when given).
    pub fn start_with_stderr(mut cmd: Command, namespaced: bool, stderr: Option<Stdio>) -> Running {
        let piped_err = stderr.is_none();
        cmd.stdout(Stdio::piped())
            .stderr(stderr.unwrap_or_else(Stdio::piped));
        let mut child = cmd.spawn().expect("failed to start the command under test");
        let (tx, reports) = channel();
        let transcript = Arc::new(Mutex::new(String::new()));
        read_lines(
            child.stdout.take().unwrap(),
            Stream::Out,
            tx.clone(),
            transcript.clone(),
        );
        let mut open = HashSet::from(["out"]);
        if piped_err {
            read_lines(
                child.stderr.take().unwrap(),
                Stream::Err,
                tx,
                transcript.clone(),
            );
            open.insert("err");
        }
        Running {
            child,
            reports,
            transcript,
            namespaced,
            open,
            status: None,
        }
    }

    /// liftoff's host pid: the process itself, or `unshare`'s only child.
    pub fn liftoff_pid(&self) -> i32 {
        let own = i32::try_from(self.child.id()).unwrap();
        if !self.namespaced {
            return own;
        }
        let mut found = None;
        support::wait_until(Duration::from_secs(10), "unshare to fork liftoff", || {
            found = children(own).first().copied();
            found.is_some()
        });
        found.unwrap()
    }

    /// The pid of the process started (`unshare` when namespaced).
    pub fn root_pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// Sends `signal` to liftoff (from outside its namespace, like `docker stop`).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        let rc = unsafe { libc::kill(self.liftoff_pid(), signal) };
        assert_eq!(
            rc,
            0,
            "failed to send signal {signal}: {}",
            std::io::Error::last_os_error()
        );
    }

    /// Waits for a line on `stream` containing `needle`, and returns it.
    pub fn expect(&mut self, stream: Stream, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(Report::Line(from, line)) if from == stream && line.contains(needle) => {
                    return line;
                }
                Ok(Report::Line(..)) => {}
                Ok(Report::Closed(from)) => {
                    self.open.remove(name(from));
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!(
                        "no {needle:?} on {stream:?} within {within:?}\n{}",
                        self.transcript()
                    );
                }
            }
        }
    }

    /// The next line on either stream, within `within`.
    pub fn next_line(&mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(Report::Line(_, line)) => return line,
                Ok(Report::Closed(from)) => {
                    self.open.remove(name(from));
                    assert!(
                        !self.open.is_empty(),
                        "the output ended\n{}",
                        self.transcript()
                    );
                }
                Err(_) => panic!("no line within {within:?}\n{}", self.transcript()),
            }
        }
    }

    /// The next line on stdout (skipping stderr), within `within`.
    pub fn next_out(&mut self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(Report::Line(Stream::Out, line)) => return line,
                Ok(Report::Line(Stream::Err, _)) => {}
                Ok(Report::Closed(from)) => {
                    self.open.remove(name(from));
                }
                Err(_) => panic!("no stdout line within {within:?}\n{}", self.transcript()),
            }
        }
    }

    /// Waits for the process to exit and returns its exit code; panics (and kills it)
    /// at the deadline.
    pub fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.status = Some(status);
                // The reader threads may still hold the last lines; once every writer
                // is gone they reach EOF at once. A writer that outlives the process
                // (a stray grandchild) is for `wait_for_eof` to catch, not this.
                self.drain(Duration::from_secs(5));
                let code = status.code();
                return code.unwrap_or_else(|| panic!("killed: {status}\n{}", self.transcript()));
            }
            assert!(
                Instant::now() < deadline,
                "still running after {within:?}\n{}",
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until both output pipes reached end of file: every process holding them
    /// (grandchildren included) is gone.
    pub fn wait_for_eof(&mut self, within: Duration) {
        if !self.drain(within) {
            panic!("outputs still open after {within:?}\n{}", self.transcript());
        }
    }

    /// Takes reports until both pipes are closed (true) or `within` passes (false).
    fn drain(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !self.open.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(Report::Closed(from)) => {
                    self.open.remove(name(from));
                }
                Ok(Report::Line(..)) => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Everything both streams printed so far, for failure messages and checks.
    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }
}

impl Drop for Running {
    /// Kills what is left, so a failed test leaves no process behind.
    fn drop(&mut self) {
        if self.status.is_none() && self.child.try_wait().ok().flatten().is_none() {
            let root = i32::try_from(self.child.id()).unwrap();
            for pid in descendants(root).into_iter().chain([root]) {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = self.child.wait();
        }
    }
}

/// The name of a stream, as kept in the set of open ones.
fn name(stream: Stream) -> &'static str {
    match stream {
        Stream::Out => "out",
        Stream::Err => "err",
    }
}

/// Forwards the lines of `pipe` to `tx` and the transcript, then reports the close.
fn read_lines(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: Sender<Report>,
    transcript: Arc<Mutex<String>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            transcript
                .lock()
                .unwrap()
                .push_str(&format!("[{}] {line}\n", name(stream)));
            let _ = tx.send(Report::Line(stream, line));
        }
        let _ = tx.send(Report::Closed(stream));
    });
}

/// The pids of `pid`'s children.
pub fn children(pid: i32) -> Vec<i32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Every descendant of `pid`, parents before children.
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut queue = children(pid);
    while let Some(next) = queue.pop() {
        found.push(next);
        queue.extend(children(next));
    }
    found
}

/// The command name of `pid`, or `None` once it is gone.
pub fn comm(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
}

/// Waits until some descendant of `root` runs `name`, and returns its pid.
pub fn wait_for_descendant(root: i32, name: &str, within: Duration) -> i32 {
    let mut found = None;
    support::wait_until(within, &format!("a `{name}` process under {root}"), || {
        found = descendants(root)
            .into_iter()
            .find(|&p| comm(p).as_deref() == Some(name));
        found.is_some()
    });
    found.unwrap()
}

/// A helper program from `tests/helpers/`.
pub fn helper(file: &str) -> PathBuf {
    support::repo_root().join("tests/helpers").join(file)
}

/// The venv's Python (the test machine's `python3` may be a slow shim).
pub fn python() -> PathBuf {
    support::venv_bin().join("python")
}

/// liftoff with a clean environment and the venv first on `PATH`.
pub fn liftoff() -> Command {
    let mut cmd = support::liftoff();
    cmd.env("PATH", support::path_with_venv());
    cmd
}

/// liftoff as PID 1 of a new PID namespace, with the same clean environment; when the
/// test drops it, `--kill-child` takes liftoff, and so the namespace, down too.
pub fn liftoff_as_pid_1() -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(support::liftoff_bin());
    with_liftoff_env(&mut cmd);
    cmd
}

/// Gives `cmd` (a wrapper that ends up running liftoff) the environment and stdin of
/// [`liftoff`].
pub fn with_liftoff_env(cmd: &mut Command) {
    for (key, value) in liftoff().get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.stdin(Stdio::null());
    support::default_signals(cmd);
}

/// A fresh directory for one test's files (config files, scripts).
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("supervise-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The arguments that make liftoff supervise `sh -c SCRIPT` (not as PID 1): the
/// script goes after them.
pub const SUPERVISE_SH: [&str; 6] = ["--mode", "supervise", "run", "--", "sh", "-c"];

/// Generous bound for "promptly" on a 2-core machine shared with other test runs.
pub const PROMPTLY: Duration = Duration::from_secs(10);
