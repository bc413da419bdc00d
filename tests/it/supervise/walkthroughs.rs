//! The walk-throughs of docs/servers.md ("FastAPI in five minutes", "Django in five
//! minutes"), followed step by step as a new user would: every file the page shows is
//! written, every command run, every output it shows checked, every server started and
//! stopped as the page says.
//!
//! The page marks its steps with HTML comments, which do not render:
//! - `<!-- walk: install -->` before a `pip install` block: each package must be in the
//!   test venv (tests/fixtures/requirements.txt), since tests install nothing.
//! - `<!-- walk: file PATH -->` before a block: the block is written to PATH.
//! - `<!-- walk: run -->` before a console block: each `$ COMMAND` runs and must exit 0
//!   and print the lines below it. While a server runs, a command is tried again until it
//!   does (a reload, a worker still booting), within a deadline.
//! - `<!-- walk: serve -->` (`serve pid1`: the command is `unshare ... liftoff`) before a
//!   console block of one command: it starts and must print the lines below it, in order.
//! - `<!-- walk: ctrl-c CODE -->`: SIGINT to the server's process group, as a terminal's
//!   Ctrl-C; `<!-- walk: stop SIGNAL CODE -->`: the signal to liftoff, as `docker stop`.
//!   Either way the server must exit with CODE and leave no process behind.
//!
//! In expected output, a line `...` stands for any lines and `...` inside a line for any
//! text. Everything runs in a network namespace of its own, so the page's ports (8000,
//! 8080) never meet a server of the machine running the tests.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Running, alive, descendants, scratch, with_liftoff_env};
use crate::support;

/// How long a server may take to print what the page shows, or a command to start
/// answering as shown, on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// One step of a walk-through.
#[derive(Debug)]
enum Step {
    /// `pip install` these packages.
    Install(Vec<String>),
    /// Write this file.
    File(String, String),
    /// Run these commands.
    Run(Vec<Shown>),
    /// Start this server (`pid1`: through `unshare`) and await its lines.
    Serve { pid1: bool, shown: Shown },
    /// Ctrl-C: SIGINT to the server's group; the exit code it must end with.
    CtrlC(i32),
    /// This signal to liftoff; the exit code it must end with.
    Stop(i32, i32),
}

/// A command the page shows, with the output it shows.
#[derive(Debug)]
struct Shown {
    words: Vec<String>,
    output: Vec<String>,
}

/// The steps of the section titled `title` of `page`, in order.
fn steps(page: &str, title: &str) -> Vec<Step> {
    let start = page
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("docs/servers.md has no section {title:?}"));
    let section = &page[start + 1..];
    let section = &section[..section[1..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 1)];
    let mut lines = section.lines();
    let mut steps = Vec::new();
    while let Some(line) = lines.next() {
        let Some(marker) = line
            .trim()
            .strip_prefix("<!-- walk: ")
            .and_then(|m| m.strip_suffix(" -->"))
        else {
            continue;
        };
        let words: Vec<&str> = marker.split_whitespace().collect();
        let code = |i: usize| -> i32 { words[i].parse().expect("an exit code") };
        let step = match words[..] {
            ["ctrl-c", _] => Step::CtrlC(code(1)),
            ["stop", signal, _] => Step::Stop(signal_number(signal), code(2)),
            [kind, ..] => {
                let block = block(&mut lines, marker);
                match (kind, words.get(1)) {
                    ("install", None) => Step::Install(packages(&block)),
                    ("file", Some(path)) => {
                        Step::File((*path).to_string(), block.join("\n") + "\n")
                    }
                    ("run", None) => Step::Run(console(&block)),
                    ("serve", pid1) => {
                        let mut shown = console(&block);
                        assert_eq!(shown.len(), 1, "{marker}: one command per serve step");
                        Step::Serve {
                            pid1: pid1 == Some(&"pid1"),
                            shown: shown.remove(0),
                        }
                    }
                    _ => panic!("unknown walk step {marker:?}"),
                }
            }
            [] => panic!("empty walk marker"),
        };
        steps.push(step);
    }
    assert!(steps.len() > 5, "{title}: only {} steps", steps.len());
    steps
}

/// The fenced block right after a marker.
fn block<'a>(lines: &mut impl Iterator<Item = &'a str>, marker: &str) -> Vec<String> {
    let fence = lines.next().unwrap_or_default();
    assert!(fence.starts_with("```"), "{marker}: no code block after it");
    lines
        .by_ref()
        .take_while(|l| !l.starts_with("```"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// A console block's commands, each with the output lines under it.
fn console(block: &[String]) -> Vec<Shown> {
    let mut shown: Vec<Shown> = Vec::new();
    for line in block {
        match (line.strip_prefix("$ "), shown.last_mut()) {
            (Some(command), _) => shown.push(Shown {
                words: words(command),
                output: Vec::new(),
            }),
            (None, Some(last)) => last.output.push(line.clone()),
            (None, None) => panic!("output before any command: {line:?}"),
        }
    }
    shown
}

/// The distribution names of a `pip install` block, without extras.
fn packages(block: &[String]) -> Vec<String> {
    let shown = console(block);
    let words = &shown.first().expect("a pip install command").words;
    assert_eq!(words[..2], ["pip", "install"], "{words:?}");
    words[2..]
        .iter()
        .map(|w| w.split('[').next().unwrap().to_string())
        .collect()
}

/// A command line split as a shell would, for the quoting the page uses.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_default();
            }
            (Some(q), c) if c == q => quote = None,
            (None, ' ') => words.extend(word.take()),
            (_, c) => word.get_or_insert_default().push(c),
        }
    }
    assert!(quote.is_none(), "unclosed quote in {line:?}");
    words.extend(word);
    words
}

/// `TERM`, `SIGTERM` or `INT` as a number.
fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        other => panic!("signal {other} is not used by the walk-throughs"),
    }
}

/// Whether `line` fits `pattern`, where `...` stands for any text.
fn fits(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("...").collect();
    let [first, middle @ .., last] = &parts[..] else {
        return pattern == line;
    };
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether `lines` are what `expected` shows: each line fits, a line `...` takes any
/// number of lines.
fn shows(expected: &[String], lines: &[String]) -> bool {
    match expected.split_first() {
        None => lines.is_empty(),
        Some((dots, rest)) if dots == "..." => {
            (0..=lines.len()).any(|skip| shows(rest, &lines[skip..]))
        }
        Some((pattern, rest)) => lines
            .split_first()
            .is_some_and(|(line, more)| fits(pattern, line) && shows(rest, more)),
    }
}

/// A network namespace with loopback up, held by a process that lives as long as this.
struct Network(Child);

impl Network {
    /// A fresh one.
    fn new() -> Network {
        let mut child = Command::new("unshare")
            .args([
                "--net",
                "--",
                "sh",
                "-c",
                "ip link set lo up && echo up && exec cat",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("failed to run unshare --net");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "up",
            "loopback did not come up in the new namespace"
        );
        Network(child)
    }

    /// `program args` run inside it, in `dir`, with liftoff's test environment; the
    /// page's `liftoff` is the binary under test.
    fn command(&self, dir: &Path, words: &[String]) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/proc/{}/ns/net", self.0.id()))
            .arg("--");
        for word in words {
            if word == "liftoff" {
                cmd.arg(support::liftoff_bin());
            } else {
                cmd.arg(word);
            }
        }
        with_liftoff_env(&mut cmd);
        cmd.current_dir(dir);
        cmd
    }
}

impl Drop for Network {
    /// Ends the holder, and with it the namespace.
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server started by a serve step.
struct Served {
    running: Running,
    /// Every process it had started, once it served, to check none is left.
    processes: HashSet<i32>,
}

/// Follows the section `title` of docs/servers.md in a fresh directory.
fn walk(title: &str, name: &str) {
    let page = std::fs::read_to_string(support::repo_root().join("docs/servers.md")).unwrap();
    let dir = scratch(name);
    let net = Network::new();
    let mut served: Option<Served> = None;
    for step in steps(&page, title) {
        match step {
            Step::Install(packages) => installed(&packages),
            Step::File(path, text) => {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            Step::Run(commands) => {
                for shown in commands {
                    run(&net, &dir, &shown, served.is_some());
                }
            }
            Step::Serve { pid1, shown } => {
                assert!(served.is_none(), "{title}: a server is already running");
                served = Some(serve(&net, &dir, pid1, &shown));
            }
            Step::CtrlC(code) => {
                let server = served.take().expect("ctrl-c with no server running");
                let pgid = server.running.root_pid();
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(-pgid, libc::SIGINT) };
                stopped(server, code);
            }
            Step::Stop(signal, code) => {
                let server = served.take().expect("stop with no server running");
                server.running.signal(signal);
                stopped(server, code);
            }
        }
    }
    assert!(served.is_none(), "{title} leaves a server running");
}

/// Checks that the venv holds each package (the tests install nothing themselves).
fn installed(packages: &[String]) {
    for package in packages {
        let out = Command::new(support::venv_bin().join("python"))
            .args(["-m", "pip", "show", "-q", package])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the walk-through installs {package}, which the test venv lacks: add it to tests/fixtures/requirements.txt"
        );
    }
}

/// Runs one command; with a server up, again until it shows what the page shows.
fn run(net: &Network, dir: &Path, shown: &Shown, serving: bool) {
    let deadline = Instant::now() + if serving { PATIENCE } else { Duration::ZERO };
    loop {
        let out = net
            .command(dir, &shown.words)
            .output()
            .unwrap_or_else(|e| panic!("failed to run {:?}: {e}", shown.words));
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let lines: Vec<String> = text.lines().map(|l| l.trim_end().to_string()).collect();
        if out.status.success() && shows(&shown.output, &lines) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "$ {}\nexited {}, printed:\n{text}\nbut the page shows:\n{}",
            shown.words.join(" "),
            out.status,
            shown.output.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts a server in its own process group (as a shell's foreground job) and waits
/// for the lines the page shows, in order.
fn serve(net: &Network, dir: &Path, pid1: bool, shown: &Shown) -> Served {
    if pid1 {
        assert_eq!(
            shown.words[0], "unshare",
            "serve pid1 runs liftoff through unshare"
        );
    }
    let mut cmd = net.command(dir, &shown.words);
    cmd.process_group(0);
    let mut running = Running::start(cmd, pid1);
    let mut expected = shown.output.iter().peekable();
    let deadline = Instant::now() + PATIENCE;
    while let Some(pattern) = expected.next() {
        let left = deadline.saturating_duration_since(Instant::now());
        if pattern == "..." {
            let next = expected.next().expect("a serve step cannot end with ...");
            while !fits(next, &running.next_line(left)) {}
        } else {
            let line = running.next_line(left);
            assert!(
                fits(pattern, &line),
                "$ {}\nprinted {line:?} where the page shows {pattern:?}\n{}",
                shown.words.join(" "),
                running.transcript()
            );
        }
    }
    let processes = descendants(running.root_pid()).into_iter().collect();
    Served { running, processes }
}

/// Waits for the server to exit with `code`, then for every process it started to be
/// gone. Not at the same instant: after a Ctrl-C in exec mode nothing waits for
/// multiprocessing's resource tracker, which ignores SIGINT and leaves once the
/// processes that share its pipe have (as PID 1, liftoff waits for it).
fn stopped(mut server: Served, code: i32) {
    assert_eq!(
        server.running.wait(PATIENCE),
        code,
        "{}",
        server.running.transcript()
    );
    let left = || {
        server
            .processes
            .iter()
            .copied()
            .filter(|&pid| alive(pid))
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !left().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        left().is_empty(),
        "processes {:?} left behind\n{}",
        left(),
        server.running.transcript()
    );
}

#[test]
fn fastapi_in_five_minutes_works_as_written() {
    if !support::privileged_or_skip("the walk-throughs (network and PID namespaces)") {
        return;
    }
    walk("FastAPI in five minutes", "walk-fastapi");
}

#[test]
fn django_in_five_minutes_works_as_written() {
    if !support::privileged_or_skip("the walk-throughs (network and PID namespaces)") {
        return;
    }
    walk("Django in five minutes", "walk-django");
}

#[test]
fn expected_output_matches_with_dots_and_nothing_else() {
    let lines = |t: &str| t.lines().map(String::from).collect::<Vec<_>>();
    assert!(fits(
        "ok: prod: .../bin/uvicorn",
        "ok: prod: /v/bin/uvicorn"
    ));
    assert!(!fits(
        "ok: prod: .../bin/uvicorn",
        "ok: prod: /v/bin/gunicorn"
    ));
    assert!(fits("a ... b ... c", "a 1 b 2 c"));
    assert!(!fits("a...a", "a"), "the ends may not overlap");
    assert!(shows(&lines("x\n...\nz"), &lines("x\n1\n2\nz")));
    assert!(shows(&lines("x\n...\nz"), &lines("x\nz")));
    assert!(!shows(&lines("x\nz"), &lines("x\n1\nz")));
    assert!(
        !shows(&lines("x"), &lines("x\ny")),
        "extra output is a difference"
    );
    assert_eq!(
        words(r#"pip install fastapi "uvicorn[standard]" 'a b'"#),
        ["pip", "install", "fastapi", "uvicorn[standard]", "a b"]
    );
}
