//! Bad input from every source (issue 11): each gets its documented exit code and one
//! line that says what is wrong and where it came from, never a panic, a hang or a
//! secret. One table, run against the real binary; each row failed on the build
//! before the fix (the closing note of issue 11 has the before and after).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{self, liftoff};

/// How long any bad input may take to be refused: far above what a refusal costs, far
/// below the old behaviour (a read of /dev/zero until killed, a FIFO forever, a
/// quadratic `check`).
const DEADLINE: Duration = Duration::from_secs(30);

/// One bad input and what liftoff must do with it.
struct Case {
    /// What is wrong, for failure messages.
    name: &'static str,
    /// liftoff's arguments.
    args: Vec<OsString>,
    /// Environment variables set for it.
    vars: Vec<(&'static str, OsString)>,
    /// The exit code.
    code: i32,
    /// Text the output must hold (stderr, or stdout for a success).
    says: &'static str,
    /// Text the output must not hold (a secret, a panic).
    never: &'static str,
}

/// A case with text arguments.
fn case(name: &'static str, args: &[&str], code: i32, says: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(OsString::from).collect(),
        vars: Vec::new(),
        code,
        says,
        never: "panicked",
    }
}

impl Case {
    /// With the variable `name` set to `value`.
    fn var(mut self, name: &'static str, value: impl Into<OsString>) -> Case {
        self.vars.push((name, value.into()));
        self
    }

    /// Whose output must never hold `secret`.
    fn never(mut self, secret: &'static str) -> Case {
        self.never = secret;
        self
    }

    /// Runs it in `dir` and checks the result. Output goes to files, so a long one
    /// cannot block liftoff on a pipe nobody reads yet.
    fn check(&self, dir: &Path) {
        let stem: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let file = |stream: &str| dir.join(format!("{stem}.{stream}"));
        let mut child = liftoff()
            .current_dir(dir)
            .env("PATH", support::path_with_venv())
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .stdout(std::fs::File::create(file("out")).unwrap())
            .stderr(std::fs::File::create(file("err")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > DEADLINE {
                let _ = child.kill();
                panic!("{}: still running after {DEADLINE:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |stream: &str| {
            String::from_utf8_lossy(&std::fs::read(file(stream)).unwrap()).into_owned()
        };
        let (stdout, stderr) = (read("out"), read("err"));
        let shown = format!("{stderr}{stdout}");
        assert_eq!(status.code(), Some(self.code), "{}: {shown}", self.name);
        assert!(shown.contains(self.says), "{}: {shown}", self.name);
        assert!(
            !shown.contains(self.never),
            "{}: shows {:?}: {shown}",
            self.name,
            self.never
        );
        if self.code != 0 {
            // `check` ends its list with a count, which is not another problem.
            let errors: Vec<&str> = stderr
                .lines()
                .filter(|l| l.contains("error:") && !l.ends_with(" found"))
                .collect();
            assert_eq!(errors.len(), 1, "{}: one error line: {stderr}", self.name);
            assert!(
                errors[0].starts_with("liftoff: error: "),
                "{}: {stderr}",
                self.name
            );
        }
    }
}

/// A directory of the files the cases use.
fn fixtures() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &[u8]| std::fs::write(dir.join(name), text).unwrap();
    write("empty.sh", b"");
    std::fs::set_permissions(
        dir.join("empty.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    nix::unistd::mkfifo(
        &dir.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    write(
        "envkey.toml",
        b"[default]\nenv = { \"HOME=/evil\" = \"x\" }\n",
    );
    write(
        "nul.toml",
        b"[default]\nenv = { TOKEN = \"abc\\u0000s3cr3t-value\" }\n",
    );
    write("threads.toml", b"[prod]\napp = \"a:b\"\nthreads = 0\n");
    write(
        "envfile.toml",
        b"[prod]\napp = \"a:b\"\nenv_file = \"nope.env\"\n",
    );
    write("typo.toml", b"[dev]\nwokrers = 3\n");
    write("bom.env", b"\xef\xbb\xbfNAME=from-bom\n");
    write("tab.env", b"export\tNAME=from-tab\n");
    write("secret.env", b"OK=1\nsk_live+AbC/dEf9xYz==\n");
    let mut many = String::new();
    for i in 0..2_000 {
        many += &format!("[p{i}]\ncommand = [\"true\"]\n");
    }
    write("many.toml", many.as_bytes());
    write("worker.toml", b"[worker]\ncommand = [\"true\"]\n");
    dir
}

#[test]
fn every_bad_input_gets_one_line_and_its_code() {
    let dir = fixtures();
    let not_utf8 = |bytes: &[u8]| OsString::from_vec(bytes.to_vec());
    let mut program_word = case("a program word that is not UTF-8", &[], 127, "not found");
    program_word.args = vec![not_utf8(b"\xffprog"), "arg".into()];
    let cases = [
        case(
            "an empty script, supervised",
            &["--mode", "supervise", "run", "--", "./empty.sh"],
            126,
            "not a program for this machine, or a script without a #!",
        ),
        case(
            "an empty script, exec",
            &["--mode", "exec", "run", "--", "./empty.sh"],
            126,
            "not a program for this machine, or a script without a #!",
        ),
        case(
            "an empty script as a before step",
            &[
                "--mode",
                "supervise",
                "--before",
                "./empty.sh",
                "run",
                "--",
                "true",
            ],
            126,
            "not a program for this machine, or a script without a #!",
        ),
        case(
            "config --explain with a 70,000-character value",
            &["config", "--explain"],
            0,
            "app = \"aaaa",
        )
        .var("LIFTOFF_APP", "a".repeat(70_000)),
        case(
            "--config /dev/zero",
            &["--config", "/dev/zero", "plan"],
            78,
            "not a regular file",
        ),
        case(
            "--config a FIFO",
            &["--config", "fifo", "plan"],
            78,
            "not a regular file",
        ),
        case(
            "--env-file /dev/zero",
            &["--env-file", "/dev/zero", "run", "--", "true"],
            78,
            "not a regular file",
        ),
        case(
            "--env-file a FIFO",
            &["--env-file", "fifo", "run", "--", "true"],
            78,
            "not a regular file",
        ),
        case(
            "an env key with =",
            &["--config", "envkey.toml", "run", "--", "true"],
            78,
            "a variable name must be non-empty and contain no `=`",
        ),
        case("LIFTOFF_ENV__", &["run", "--", "true"], 78, "LIFTOFF_ENV__")
            .var("LIFTOFF_ENV__", "x"),
        case(
            "an env value with a NUL",
            &["--config", "nul.toml", "run", "--", "true"],
            78,
            "NUL byte",
        )
        .never("s3cr3t"),
        case(
            "a LIFTOFF_CONFIG that is not UTF-8",
            &["plan"],
            78,
            "LIFTOFF_CONFIG",
        )
        .var("LIFTOFF_CONFIG", not_utf8(b"\xff.toml")),
        case("a PORT that is not UTF-8", &["plan"], 78, "PORT").var("PORT", not_utf8(b"80\xff")),
        case(
            "LIFTOFF_ alone",
            &["plan"],
            78,
            "environment variable LIFTOFF_",
        )
        .var("LIFTOFF_", "x"),
        case(
            "--user 4294967295",
            &[
                "--user",
                "4294967295:4294967295",
                "plan",
                "run",
                "--",
                "true",
            ],
            78,
            "not a valid user id",
        ),
        case(
            "--port 0",
            &["plan", "prod", "--port", "0", "--app", "a:b"],
            78,
            "port `0` (from flag --port)",
        ),
        case(
            "a profile's --help",
            &["--config", "worker.toml", "worker", "--help"],
            0,
            "Usage: liftoff worker",
        ),
        case(
            "--signal-map without =",
            &["--signal-map", "QUIT", "run", "--", "true"],
            78,
            "expected FROM=TO",
        ),
        case(
            "a rewrite to KILL",
            &["--signal-map", "TERM=KILL", "run", "--", "true"],
            78,
            "SIGTERM cannot become SIGKILL",
        ),
        case(
            "a rewrite to STOP",
            &["--signal-map", "TERM=STOP", "run", "--", "true"],
            78,
            "cannot become SIGSTOP",
        ),
        case(
            "a rewrite to CHLD",
            &["--signal-map", "TERM=CHLD", "run", "--", "true"],
            78,
            "cannot become SIGCHLD",
        ),
        case(
            "plan help",
            &["plan", "help"],
            2,
            "plan takes a command that runs something",
        ),
        program_word,
        case(
            "threads = 0",
            &["--config", "threads.toml", "plan", "prod"],
            78,
            "threads `0`",
        ),
        case(
            "an env file with a BOM",
            &[
                "--env-file",
                "bom.env",
                "run",
                "--",
                "sh",
                "-c",
                "echo $NAME",
            ],
            0,
            "from-bom",
        ),
        case(
            "an env file with export and a tab",
            &[
                "--env-file",
                "tab.env",
                "run",
                "--",
                "sh",
                "-c",
                "echo $NAME",
            ],
            0,
            "from-tab",
        ),
        case(
            "an env file line that is a secret",
            &["--env-file", "secret.env", "run", "--", "true"],
            78,
            "secret.env:2",
        )
        .never("sk_live"),
        case(
            "check with 2,000 profiles",
            &["--config", "many.toml", "check"],
            78,
            "gunicorn needs `app`",
        ),
        case(
            "check reads env_file",
            &["--config", "envfile.toml", "check"],
            78,
            "env_file `nope.env`",
        ),
        case(
            "health --url with a broken config",
            &[
                "--config",
                "typo.toml",
                "health",
                "--url",
                "http://127.0.0.1:1/health",
                "--timeout",
                "1s",
            ],
            1,
            "connection refused",
        )
        .var("LIFTOFF_WOKRERS", "3"),
    ];
    for case in &cases {
        case.check(&dir);
    }
}

#[test]
fn a_dropped_user_gets_its_own_user_and_logname() {
    if !support::privileged_or_skip("--user nobody") {
        return;
    }
    let out = liftoff()
        .current_dir("/")
        .args([
            "--user",
            "nobody",
            "run",
            "--",
            "sh",
            "-c",
            "echo $USER $LOGNAME $HOME",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "nobody nobody /nonexistent"
    );
}
