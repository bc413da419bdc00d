//! Core behaviour on the real binary: the plan for each profile, exit codes, exec, real
//! gunicorn and Flask serving through `liftoff prod` and `liftoff dev`, and `check`.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{self, liftoff};

/// A temporary directory with a config file, removed on drop.
struct Project {
    /// The directory.
    dir: PathBuf,
}

impl Project {
    /// A fresh directory holding `liftoff.toml` with `config`.
    fn new(config: &str) -> Project {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("liftoff-core-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("liftoff.toml"), config).unwrap();
        Project { dir }
    }

    /// Runs liftoff here with the venv on PATH and extra variables.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        liftoff()
            .current_dir(&self.dir)
            .env("PATH", support::path_with_venv())
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .expect("failed to run liftoff")
    }

    /// `plan --format json ARGS` parsed.
    fn plan(&self, args: &[&str], vars: &[(&str, &str)]) -> Value {
        let mut all = vec!["plan", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all, vars);
        assert!(
            out.status.success(),
            "plan {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("plan prints JSON")
    }
}

impl Drop for Project {
    /// Removes the directory.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The example app's directory.
fn app_dir() -> String {
    support::repo_root()
        .join("docker/app")
        .display()
        .to_string()
}

/// A config serving the example app, with a command profile.
fn app_config() -> String {
    format!(
        "[default]\napp = \"app:create_app()\"\nchdir = \"{}\"\n\n[prod]\nthreads = 2\n\n[dev]\n\n\
         [worker]\ncommand = [\"sh\", \"-c\", \"echo worker\"]\nstop_timeout = \"3s\"\n",
        app_dir()
    )
}

/// stderr as text.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn plan_json_for_each_profile() {
    let project = Project::new(&app_config());
    let prod = project.plan(&["prod"], &[]);
    assert_eq!(prod["profile"], "prod");
    assert_eq!(prod["server"], "gunicorn");
    assert!(
        prod["program"]
            .as_str()
            .unwrap()
            .ends_with("/.venv/bin/gunicorn"),
        "{prod}"
    );
    assert_eq!(prod["cwd"], app_dir());
    assert_eq!(prod["signal_target"], "child");
    assert_eq!(prod["stop_timeout_ms"], 28_000);
    assert_eq!(prod["mode"], "exec");
    let workers = prod["workers"].as_u64().unwrap();
    let cpus = prod["cpus"].as_u64().unwrap();
    assert!(workers >= 3 && cpus >= 1, "{prod}");
    assert_eq!(prod["env"]["WEB_CONCURRENCY"], workers.to_string());
    assert_eq!(prod["env"]["PYTHON_CPU_COUNT"], cpus.to_string());
    let argv: Vec<&str> = prod["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(argv[0], "gunicorn");
    assert!(
        argv.windows(2).any(|w| w == ["--bind", "0.0.0.0:8000"]),
        "{argv:?}"
    );
    assert!(argv.windows(2).any(|w| w == ["--threads", "2"]), "{argv:?}");
    assert_eq!(argv.last(), Some(&"app:create_app()"));

    let dev = project.plan(&["dev", "--port", "8123"], &[]);
    assert_eq!(
        (dev["server"].as_str(), dev["signal_target"].as_str()),
        (Some("flask"), Some("group"))
    );
    let argv = dev["argv"].to_string();
    assert!(
        argv.contains(r#""--port","8123""#) && argv.contains(r#""--reload""#),
        "{argv}"
    );
    assert_eq!(dev["signals"]["SIGQUIT"], "SIGTERM");
    assert_eq!(dev["workers"], Value::Null);

    let worker = project.plan(&["worker", "--", "--fast"], &[]);
    assert_eq!(worker["server"], "command");
    assert_eq!(
        worker["argv"],
        serde_json::json!(["sh", "-c", "echo worker", "--fast"])
    );
    assert_eq!(worker["stop_timeout_ms"], 3_000);

    let program = project.plan(&["sh", "-c", "exit 3"], &[]);
    assert_eq!(program["profile"], Value::Null);
    assert_eq!(program["argv"], serde_json::json!(["sh", "-c", "exit 3"]));
    let bin = project.dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy("/bin/true", bin.join("prod")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let run = project.plan(&["run", "--", "prod"], &[("PATH", &path)]);
    assert_eq!(
        run["argv"],
        serde_json::json!(["prod"]),
        "run -- prod plans a program called prod"
    );
    assert_eq!(run["program"], bin.join("prod").display().to_string());
}

#[test]
fn layers_reach_the_plan_and_flags_win() {
    let project = Project::new(&app_config());
    let plan = project.plan(&["prod"], &[("PORT", "9000"), ("WEB_CONCURRENCY", "2")]);
    assert!(plan["argv"].to_string().contains("0.0.0.0:9000"), "{plan}");
    assert_eq!(plan["workers"], 2);
    let plan = project.plan(
        &["prod", "--port", "9100", "--workers", "7"],
        &[("LIFTOFF_PORT", "9050")],
    );
    assert!(plan["argv"].to_string().contains("0.0.0.0:9100"), "{plan}");
    assert_eq!(plan["workers"], 7);
}

#[test]
fn keys_that_mean_nothing_to_the_server_are_warned_about() {
    let project = Project::new(&format!("{}\n[dev.env]\nX = \"1\"\n", app_config()));
    let plan = project.plan(&["dev", "--workers", "3"], &[("LIFTOFF_THREADS", "2")]);
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("workers (from flag --workers) has no effect on a flask profile"),
        "{warnings}"
    );
    assert!(
        !warnings.contains("threads"),
        "the environment applies to every profile: {warnings}"
    );
    let plan = project.plan(&["prod"], &[]);
    assert_eq!(plan["warnings"], serde_json::json!([]), "{plan}");
}

#[test]
fn the_environment_never_selects_the_profile() {
    let project = Project::new(&app_config());
    let vars = [
        ("LIFTOFF_PROFILE", "dev"),
        ("FLASK_ENV", "development"),
        ("FLASK_DEBUG", "1"),
        ("APP_ENV", "development"),
        ("ENVIRONMENT", "local"),
        ("ENV", "dev"),
    ];
    for args in [&[][..], &["prod"][..]] {
        let plan = project.plan(args, &vars);
        assert_eq!(
            (plan["profile"].as_str(), plan["server"].as_str()),
            (Some("prod"), Some("gunicorn")),
            "{args:?}"
        );
        let warnings = plan["warnings"].to_string();
        assert!(
            warnings.contains("LIFTOFF_PROFILE is ignored"),
            "{warnings}"
        );
    }
    let explain = project.run(&["config", "--explain"], &vars);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("no environment variable") && text.contains("chooses the profile"),
        "{text}"
    );
}

#[test]
fn exit_codes_follow_the_contract() {
    let project = Project::new(&app_config());
    let script = project.dir.join("not-exec.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let script = script.display().to_string();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["sh", "-c", "exit 7"], 7, ""),
        (&["--success-code", "7", "sh", "-c", "exit 7"], 0, ""),
        (
            &["--success-code", "300", "sh", "-c", "exit 7"],
            78,
            "300 is not an exit status",
        ),
        (
            &["run", "--port", "3", "--", "sh"],
            2,
            "`--port` is not a program",
        ),
        (
            &["--stop-timeout", "-1", "sh"],
            78,
            "`-1` is not a duration",
        ),
        (
            &["no-such-program-xyz"],
            127,
            "`no-such-program-xyz` not found on PATH",
        ),
        (&["wroker"], 127, "did you mean the profile `worker`"),
        (&[script.as_str()], 126, "not executable"),
        (&["--config", "missing.toml", "prod"], 78, "missing.toml"),
        (&["prod", "--bogus"], 2, "--bogus"),
        // A value liftoff refuses is 78 wherever it came from, a flag included.
        (&["--signal-map", "QUIT", "prod"], 78, "FROM=TO"),
    ];
    for (args, code, needle) in cases {
        let out = project.run(args, &[]);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(needle),
            "{args:?}: {:?} lacks {needle:?}",
            stderr(&out)
        );
    }
}

#[test]
fn configuration_errors_are_one_clear_line_and_exit_78() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "[prod]\napp = \"a:b\"\nworkers = \"lots\"\n",
            &[],
            "workers `lots` (from liftoff.toml [prod]): expected \"auto\", a number of workers from 1, or \"server\"",
        ),
        (
            "[prod]\napp = \"a:b\"\n",
            &[("LIFTOFF_WORKERS", "lots")],
            "environment variable LIFTOFF_WORKERS",
        ),
        ("[prod]\nwokrers = 3\n", &[], "did you mean `workers`"),
        ("[prod]\napp = \"a:b\"\n[prod.x\n", &[], "liftoff.toml:3:"),
        ("[prod]\nport = 1\n", &[], "gunicorn needs `app`"),
        (
            "[prod]\napp = \"a:b\"\nsignals = { KILL = \"TERM\" }\n",
            &[],
            "SIGKILL cannot be rewritten",
        ),
        (
            "[prod]\napp = \"a:b\"\nsignals = { HUP = \"LOUDLY\" }\n",
            &[],
            "`signals.HUP` (from liftoff.toml [prod])",
        ),
        (
            "[prod]\napp = \"a:b\"\nmin_workers = 5\nmax_workers = 2\n",
            &[],
            "min_workers (5, from liftoff.toml [prod])",
        ),
        (
            "[prod]\napp = \"a:b\"\nworker_memory = 0\n",
            &[],
            "worker_memory `0` (from liftoff.toml [prod])",
        ),
        (
            "[prod]\napp = \"a:b\"\nchdir = \"nowhere\"\n",
            &[],
            "chdir `nowhere`",
        ),
        (
            "[prod]\napp = \"a:b\"\ngunicorn_config = \"gone.py\"\n",
            &[],
            "gunicorn_config `gone.py`",
        ),
    ];
    for (config, vars, needle) in cases {
        let project = Project::new(config);
        let out = project.run(&["prod"], vars);
        assert_eq!(out.status.code(), Some(78), "{config:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("liftoff: error: ") && err.contains(needle),
            "{config:?}: {err:?} lacks {needle:?}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    }
}

#[test]
fn secrets_are_masked_in_the_plan() {
    // The rule: what liftoff adds to the environment is shown as *** unless its name is
    // on a short list of harmless ones; in argv-like values, URL passwords, query values
    // and options or name=value parts with secret-looking names are ***. --show-env
    // shows everything.
    let project = Project::new(&format!(
        "{}\n[prod.env]\nDB_PASSWORD = \"hunter2\"\nPLAIN = \"visible\"\nTZ = \"UTC\"\n\n[worker2]\ncommand = [\"sh\", \"-c\", \"true\", \"--token\", \"ghp_tok3n\", \"postgres://u:pa/ss@db/x\"]\nwait_for = [\"http://127.0.0.1:1/h?key=k3y\"]\n",
        app_config()
    ));
    let vars = [
        ("LIFTOFF_ENV__API_TOKEN", "s3cret"),
        (
            "LIFTOFF_ENV__DATABASE_URL",
            "postgres://app:pw/123@db:5432/x",
        ),
        ("LIFTOFF_ENV__GITHUB_PAT", "ghp_pat"),
        ("LIFTOFF_ENV__STRIPE_SK", "sk_live_q"),
        ("LIFTOFF_ENV__JWT", "eyJhbGc"),
        ("LIFTOFF_ENV__PW", "pw_only"),
        ("LIFTOFF_ENV__MSSQL", "Server=db;Password=ado_pw;"),
    ];
    let secrets = [
        "hunter2",
        "s3cret",
        "pw/123",
        "ghp_pat",
        "sk_live_q",
        "eyJhbGc",
        "pw_only",
        "ado_pw",
        "ghp_tok3n",
        "pa/ss",
        "k3y",
    ];
    for args in [
        &["plan", "prod"][..],
        &["plan", "prod", "--format", "json"],
        &["plan", "worker2"],
        &["plan", "worker2", "--format", "json"],
        &["config", "prod", "--explain"],
        &["config", "prod", "--format", "json"],
        &["config", "worker2", "--explain"],
    ] {
        let out = project.run(args, &vars);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        for secret in secrets {
            assert!(!text.contains(secret), "{args:?} shows {secret}: {text}");
        }
    }
    let out = project.run(&["plan", "prod"], &vars);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("DB_PASSWORD='***'")
            && text.contains("PLAIN='***'")
            && text.contains("TZ=UTC"),
        "{text}"
    );
    let out = project.run(&["plan", "worker2"], &vars);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--token '***' 'postgres://u:***@db/x'") && text.contains("h?key=***"),
        "{text}"
    );
    let out = project.run(&["plan", "prod", "--show-env"], &vars);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("PLAIN=visible") && text.contains("DB_PASSWORD=hunter2"),
        "{text}"
    );
}

#[test]
fn explain_names_every_source() {
    let project = Project::new(&app_config());
    let out = project.run(
        &["config", "prod", "--explain", "--stop-timeout", "20s"],
        &[("LIFTOFF_PORT", "9001"), ("WEB_CONCURRENCY", "4")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "port = 9001",
        "environment variable LIFTOFF_PORT",
        "environment variable WEB_CONCURRENCY",
        "flag --stop-timeout",
        "liftoff.toml [prod]",
        "liftoff.toml [default]",
        "built-in default",
        "computed: workers = 4",
    ] {
        assert!(text.contains(needle), "{text} lacks {needle:?}");
    }
}

#[test]
fn exec_replaces_liftoff() {
    let project = Project::new("");
    let child = liftoff()
        .current_dir(&project.dir)
        .args([
            "sh",
            "-c",
            "echo $$; grep -E '^Sig(Blk|Ign)' /proc/self/status",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.lines().next(),
        Some(pid.to_string().as_str()),
        "the program has liftoff's PID"
    );
    assert!(
        text.contains("SigBlk:\t0000000000000000"),
        "liftoff's blocked signals must not leak: {text}"
    );
    assert!(out.status.success());
}

#[test]
fn check_passes_a_good_file_and_lists_every_problem_of_a_bad_one() {
    let project = Project::new(&app_config());
    let out = project.run(&["check"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let bad = format!(
        "{}\n[broken]\ncommand = [\"no-such-tool-xyz\"]\n[empty]\nport = 1\n[typo]\nwrokers = 1\n",
        app_config()
    );
    let project = Project::new(&bad);
    let out = project.run(&["check"], &[("LIFTOFF_NOSUCH", "1")]);
    assert_eq!(out.status.code(), Some(78));
    let err = stderr(&out);
    for needle in [
        "[broken]: program `no-such-tool-xyz` not found",
        "[empty] runs nothing",
        "[typo]: unknown key `wrokers`",
        "environment variable LIFTOFF_NOSUCH: unknown key",
        "4 problems found",
    ] {
        assert!(err.contains(needle), "{err} lacks {needle:?}");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ok: prod:") && text.contains("ok: dev:"),
        "clean profiles are still resolved: {text}"
    );
    let nowhere = Project::new("");
    std::fs::remove_file(nowhere.dir.join("liftoff.toml")).unwrap();
    let out = nowhere.run(&["check"], &[]);
    assert_eq!(
        out.status.code(),
        Some(78),
        "a missing config file fails check"
    );
    assert!(stderr(&out).contains("no config file"), "{}", stderr(&out));
}

/// A server started through liftoff in its own process group, killed on drop.
struct Server {
    /// The liftoff process (the server after exec).
    child: Child,
    /// Everything it wrote to stderr so far, collected by a thread.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    /// Starts `liftoff ARGS` in `dir` with the venv on PATH.
    fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = liftoff()
            .current_dir(dir)
            .env("PATH", support::path_with_venv())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Server { child, log }
    }

    /// Sends SIGTERM and waits for the exit status, with a deadline.
    fn stop(&mut self) -> std::process::ExitStatus {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let mut status = None;
        support::wait_until(Duration::from_secs(20), "the server to stop", || {
            status = self.child.try_wait().unwrap();
            status.is_some()
        });
        status.unwrap()
    }
}

impl Drop for Server {
    /// Kills the whole group, whatever happened.
    fn drop(&mut self) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.wait();
    }
}

#[test]
fn gunicorn_serves_health_through_liftoff_prod() {
    let project = Project::new(&app_config());
    let port = support::free_port();
    let mut server = Server::start(
        &project.dir,
        &["prod", "--port", &port.to_string(), "--workers", "2"],
    );
    support::wait_for_port(port, Duration::from_secs(30));
    let (status, body) = support::http_get(port, "/health", Duration::from_secs(10)).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.contains("prod:") && log.contains("2 workers"),
        "the start line gives the settings: {log}"
    );
    assert!(server.stop().success(), "gunicorn exits 0 on SIGTERM");
}

#[test]
fn flask_serves_health_through_liftoff_dev() {
    let project = Project::new(&app_config());
    let port = support::free_port();
    let mut server = Server::start(
        &project.dir,
        &["dev", "--port", &port.to_string(), "--no-reload"],
    );
    support::wait_for_port(port, Duration::from_secs(30));
    let (status, body) = support::http_get(port, "/health", Duration::from_secs(10)).unwrap();
    assert_eq!(status, 200, "{body}");
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("dev:") && log.contains("reload off"), "{log}");
    server.stop();
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    let project = Project::new(&app_config());
    for args in [
        &["--help"][..],
        &["plan", "sh"],
        &["config", "dev", "--explain"],
        &["check"],
    ] {
        // A pipe whose read end is closed before liftoff writes: every write is EPIPE.
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let out = liftoff()
            .current_dir(&project.dir)
            .env("PATH", support::path_with_venv())
            .args(args)
            .stdout(Stdio::from(write))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn version_names_the_target_and_the_linkage() {
    let out = liftoff().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let linkage = if cfg!(target_feature = "crt-static") {
        "static"
    } else {
        "dynamic"
    };
    let want = format!(
        "liftoff {} ({}-unknown-linux-{}, {linkage})\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH,
        if cfg!(target_env = "musl") {
            "musl"
        } else {
            "gnu"
        },
    );
    assert_eq!((out.status.code(), text), (Some(0), want));
}

#[test]
fn plans_own_flags_are_accepted_after_the_command_words() {
    let project = Project::new(&app_config());
    for args in [
        &["plan", "prod", "--format", "json"][..],
        &["plan", "prod", "--format=json", "--port", "9001"],
        &["plan", "--format", "json", "prod"],
    ] {
        let out = project.run(args, &[]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let plan: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(plan["profile"], "prod", "{args:?}");
    }
    // After a program word every word is the program's.
    let out = project.run(&["plan", "sh", "-c", "x", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("argv:          sh -c x --format json"));
}

#[test]
fn an_exec_plan_marks_the_stop_settings_as_not_applying() {
    let project = Project::new(&app_config());
    let out = project.run(&["plan", "prod", "--mode", "exec"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !text.contains("stop timeout:") && !text.contains("signal target:"),
        "{text}"
    );
    let out = project.run(&["plan", "prod", "--mode", "exec", "--before", "true"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stop timeout:  28s (before steps only: exec mode)"),
        "{text}"
    );
    let out = project.run(&["plan", "prod", "--mode", "supervise"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stop timeout:  28s\n"), "{text}");
}

#[test]
fn a_profile_help_is_help_and_plan_help_is_a_usage_error() {
    let project = Project::new(&app_config());
    let out = project.run(&["worker", "--help"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: liftoff worker"));
    let out = project.run(&["plan", "help"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("plan takes a command that runs something"));
}
