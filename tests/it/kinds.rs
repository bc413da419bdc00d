//! Server kinds in `plan`, `check` and `config --explain` (issue 12): what each kind runs
//! from the same keys, `server` in `[default]`, `command` in any table, gunicorn's own
//! config respected, the health path, and Flask's debug left to the app.

use std::path::PathBuf;
use std::process::Output;

use serde_json::Value;

use crate::support::{self, liftoff};

/// A directory with a liftoff.toml, removed on drop.
struct Dir(PathBuf);

impl Dir {
    /// A fresh directory holding `liftoff.toml` with `config`.
    fn new(config: &str) -> Dir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("liftoff-kinds-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("liftoff.toml"), config).unwrap();
        Dir(dir)
    }

    /// Runs liftoff here with the test venv first on PATH and `vars`.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        liftoff()
            .current_dir(&self.0)
            .env("PATH", support::path_with_venv())
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .unwrap()
    }

    /// `plan --format json ARGS`, parsed.
    fn plan(&self, args: &[&str], vars: &[(&str, &str)]) -> Value {
        let mut all = vec!["plan", "--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all, vars);
        assert!(
            out.status.success(),
            "plan {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Dir {
    /// Removes it.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A plan's argv after the program, joined with spaces.
fn args(plan: &Value) -> String {
    let argv: Vec<&str> = plan["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    argv[1..].join(" ")
}

/// A fixture's directory.
fn fixture(name: &str) -> String {
    support::repo_root()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn a_default_server_makes_prod_and_dev_run_it() {
    let dir = Dir::new(&format!(
        "[default]\nserver = \"uvicorn\"\napp = \"app:app\"\nchdir = {:?}\n",
        fixture("fastapi_app")
    ));
    let prod = dir.plan(&["prod"], &[("WEB_CONCURRENCY", "3")]);
    assert_eq!(prod["server"], "uvicorn");
    assert_eq!(
        args(&prod),
        "app:app --host 0.0.0.0 --port 8000 --workers 3 --timeout-graceful-shutdown 25"
    );
    assert_eq!(
        (
            prod["signal_target"].as_str(),
            prod["stop_timeout_ms"].as_u64()
        ),
        (Some("child"), Some(28_000))
    );
    assert_eq!(prod["signals"]["SIGQUIT"], "SIGTERM");
    assert_eq!(prod["env"]["WEB_CONCURRENCY"], "3");
    let dev = dir.plan(&["dev"], &[]);
    assert_eq!(
        args(&dev),
        "app:app --host 127.0.0.1 --port 8080 --reload --timeout-graceful-shutdown 5"
    );
    assert_eq!(dev["stop_timeout_ms"], 8_000);
    // The reloader runs one server and warns about WEB_CONCURRENCY: none is exported.
    assert!(
        dev["env"].get("WEB_CONCURRENCY").is_none(),
        "{}",
        dev["env"]
    );
    let explain = dir.run(&["config", "--explain", "dev"], &[]);
    let explain = String::from_utf8_lossy(&explain.stdout);
    assert!(
        explain
            .lines()
            .any(|l| l.starts_with("graceful_timeout = \"5s\" ")
                && l.ends_with("# built-in default for dev")),
        "{explain}"
    );
    let port = dir.plan(&["prod"], &[("PORT", "9001")]);
    assert!(args(&port).contains("--port 9001"), "{}", args(&port));
}

#[test]
fn django_runs_runserver_for_dev_and_gunicorn_or_uvicorn_for_prod() {
    let base = format!(
        "[default]\nserver = \"django\"\napp = \"mysite.wsgi\"\nchdir = {:?}\n",
        fixture("django_project")
    );
    let dir = Dir::new(&base);
    let dev = dir.plan(&["dev"], &[]);
    let program = dev["program"].as_str().unwrap();
    assert!(program.ends_with("/python"), "{program}");
    assert_eq!(args(&dev), "manage.py runserver 127.0.0.1:8080");
    assert_eq!(
        args(&dir.plan(&["dev", "--no-reload"], &[])),
        "manage.py runserver 127.0.0.1:8080 --noreload"
    );
    let prod = dir.plan(&["prod", "--workers", "2"], &[]);
    assert!(prod["program"].as_str().unwrap().ends_with("/gunicorn"));
    assert!(
        args(&prod).starts_with("--bind 0.0.0.0:8000 --workers 2")
            && args(&prod).ends_with("mysite.wsgi"),
        "{}",
        args(&prod)
    );
    let asgi = Dir::new(
        &base
            .replace("mysite.wsgi", "mysite.asgi")
            .replace("[default]\n", "[default]\ninterface = \"asgi\"\n"),
    );
    let prod = asgi.plan(&["prod", "--workers", "2"], &[]);
    assert!(prod["program"].as_str().unwrap().ends_with("/uvicorn"));
    assert!(
        args(&prod).starts_with("mysite.asgi:application --host 0.0.0.0 --port 8000 --workers 2"),
        "{}",
        args(&prod)
    );
    let nowhere = Dir::new("[default]\nserver = \"django\"\n");
    let out = nowhere.run(&["plan", "dev"], &[]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("django needs manage.py in the working directory")
    );
}

#[test]
fn granian_always_says_its_interface() {
    let dir = Dir::new(&format!(
        "[prod]\nserver = \"granian\"\napp = \"app:create_app()\"\ninterface = \"wsgi\"\nthreads = 4\nchdir = {:?}\n",
        fixture("fastapi_app")
    ));
    let prod = dir.plan(&["prod", "--workers", "2"], &[]);
    assert_eq!(
        args(&prod),
        "app:create_app --factory --interface wsgi --host 0.0.0.0 --port 8000 --workers 2 --blocking-threads 4 --no-reload --workers-kill-timeout 25"
    );
}

#[test]
fn command_in_any_table_makes_a_command_profile() {
    let dir = Dir::new(
        "[prod]\ncommand = [\"sh\", \"-c\", \"echo prod\"]\n[dev]\ncommand = [\"sh\", \"-c\", \"echo dev\"]\n",
    );
    for profile in ["prod", "dev"] {
        let plan = dir.plan(&[profile], &[]);
        assert_eq!(plan["server"], "command", "{profile}");
        assert_eq!(args(&plan), format!("-c echo {profile}"));
        assert!(!plan["warnings"].to_string().contains("ignored"), "{plan}");
    }
    let both = Dir::new("[worker]\nserver = \"gunicorn\"\ncommand = [\"true\"]\n");
    let out = both.run(&["plan", "worker"], &[]);
    assert_eq!(out.status.code(), Some(78));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("sets both `server = \"gunicorn\"` and `command`")
    );
}

#[test]
fn check_skips_a_builtin_profile_whose_server_the_image_lacks() {
    // A file with only a worker: the image has no Flask (nor gunicorn), and runs neither
    // prod nor dev, so check passes and says what it skipped.
    let dir = Dir::new("[worker]\ncommand = [\"sh\", \"-c\", \"true\"]\n");
    let out = liftoff()
        .current_dir(&dir.0)
        .env("PATH", "/usr/bin:/bin")
        .arg("check")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok: worker:")
            && stdout.contains("skipped: dev:")
            && stdout.contains("skipped: prod:"),
        "{stdout}"
    );
    // A table in the file is always checked: [dev] without Flask is a problem.
    let dev = Dir::new("[dev]\nport = 9000\n");
    let out = liftoff()
        .current_dir(&dev.0)
        .env("PATH", "/usr/bin:/bin")
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[dev]: program `flask` not found"));
}

#[test]
fn gunicorns_own_config_is_never_overridden_without_a_word() {
    let dir = Dir::new(&format!(
        "[prod]\napp = \"app:create_app()\"\nchdir = {:?}\n",
        "."
    ));
    std::fs::write(
        dir.0.join("gunicorn.conf.py"),
        "workers = 2\nbind = \"0.0.0.0:9999\"\n",
    )
    .unwrap();
    let plan = dir.plan(&["prod"], &[]);
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("gunicorn.conf.py sets bind, workers, which liftoff's flags replace"),
        "{warnings}"
    );
    assert!(
        warnings.contains("workers = \\\"server\\\" and port = \\\"server\\\""),
        "{warnings}"
    );
    let kept = dir.plan(&["prod", "--workers", "server", "--port", "server"], &[]);
    assert_eq!(kept["warnings"], serde_json::json!([]), "{kept}");
    assert!(
        !args(&kept).contains("--workers") && !args(&kept).contains("--bind"),
        "{}",
        args(&kept)
    );
    assert!(kept["env"].get("WEB_CONCURRENCY").is_none(), "{kept}");
    let cmd_args = dir.plan(
        &["prod", "--workers", "server", "--port", "server"],
        &[("GUNICORN_CMD_ARGS", "--threads 8")],
    );
    assert_eq!(
        cmd_args["warnings"],
        serde_json::json!([]),
        "threads is not passed by liftoff"
    );
    let cmd_args = dir.plan(
        &["prod", "--workers", "3"],
        &[("GUNICORN_CMD_ARGS", "-w 5")],
    );
    assert!(
        cmd_args["warnings"]
            .to_string()
            .contains("GUNICORN_CMD_ARGS sets workers"),
        "{cmd_args}"
    );
    let explain = dir.run(&["config", "prod", "--explain"], &[]);
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("computed: gunicorn config = ")
            && text.contains("gunicorn.conf.py (gunicorn reads it"),
        "{text}"
    );
    std::fs::remove_file(dir.0.join("gunicorn.conf.py")).unwrap();
    let text = String::from_utf8_lossy(&dir.run(&["config", "prod", "--explain"], &[]).stdout)
        .into_owned();
    assert!(text.contains("computed: gunicorn config = none"), "{text}");
}

#[test]
fn flask_debug_is_the_apps_unless_liftoff_sets_it() {
    let dir = Dir::new("[dev]\napp = \"app:create_app()\"\n");
    assert_eq!(
        args(&dir.plan(&["dev"], &[])),
        "--app app:create_app() run --host 127.0.0.1 --port 8080 --reload"
    );
    assert!(args(&dir.plan(&["dev", "--debug"], &[])).contains("--debug run"));
    assert!(args(&dir.plan(&["dev"], &[("LIFTOFF_DEBUG", "false")])).contains("--no-debug run"));
}

#[test]
fn health_probes_a_path_on_the_prod_port_and_the_health_path_key() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let mut paths = Vec::new();
        for _ in 0..2 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            paths.push(
                request
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
            );
            std::io::Write::write_all(&mut stream, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        }
        paths
    });
    let dir = Dir::new(&format!(
        "[prod]\napp = \"x:y\"\nport = {port}\nhealth_path = \"/ready\"\n"
    ));
    let out = dir.run(&["health"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = dir.run(&["health", "--url", "/hello?x=1"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server.join().unwrap(), ["/ready", "/hello?x=1"]);
}

#[test]
fn health_with_a_full_url_reads_no_config() {
    // A typo in [dev] and in the environment fails every command that reads the config;
    // a health probe with its URL given must not care.
    let dir = Dir::new("[dev]\nwokrers = 3\n");
    let out = dir.run(
        &[
            "health",
            "--url",
            "http://127.0.0.1:1/health",
            "--timeout",
            "1s",
        ],
        &[("LIFTOFF_WOKRERS", "3")],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("connection refused"));
}
