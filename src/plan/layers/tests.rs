//! Layering and error tests: real files in a temporary directory, and environments
//! passed in (liftoff captures its environment once, so no test touches the process's).

use super::*;
use crate::plan::keys::Settings;
use crate::plan::values::{Dur, WorkerCount};
use std::path::PathBuf;
use std::time::Duration;

/// A temporary directory with files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    /// A fresh directory holding `liftoff.toml` with `config`.
    fn new(config: &str) -> Dir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("liftoff-layers-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("liftoff.toml"), config).unwrap();
        Dir(dir)
    }

    /// The config file's path.
    fn file(&self) -> PathBuf {
        self.0.join("liftoff.toml")
    }
}

impl Drop for Dir {
    /// Removes it.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An environment from pairs.
fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    vars.iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)))
        .collect()
}

/// The settings of `profile` from `file` (if any) and `vars`, with `flags` on top;
/// every problem of loading and reading, as messages.
fn settings(
    file: Option<&Path>,
    vars: &[(&str, &str)],
    flags: Vec<Setting>,
    profile: &str,
) -> Result<Settings, Vec<String>> {
    let (mut layers, mut problems) =
        Layers::load(file, env(vars)).map_err(|e| vec![e.to_string()])?;
    layers.set_flags(flags);
    let merged = layers.merge(Some(profile));
    let (settings, read) = merged.settings();
    problems.extend(read);
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems.into_iter().map(|p| p.message).collect())
    }
}

/// A flag setting of a whole key.
fn flag(key: &'static str, name: &str, value: Value) -> Setting {
    Setting {
        key,
        entry: None,
        value,
        source: Source::Flag(name.into()),
    }
}

const FILE: &str = r#"
[default]
stop_timeout = "20s"
env = { SHARED = "yes" }

[prod]
app = "app:create_app()"
port = 8001
workers = 4

[dev]
port = 8081

[worker]
server = "command"
command = ["flask", "workflow", "workflow-main"]
"#;

#[test]
fn each_layer_beats_the_one_below() {
    let dir = Dir::new(FILE);
    let port = |vars: &[(&str, &str)], flags: Vec<Setting>| {
        settings(Some(&dir.file()), vars, flags, "prod")
            .unwrap()
            .port
            .and_then(|p| p.number())
    };
    let prod = settings(Some(&dir.file()), &[], vec![], "prod").unwrap();
    assert_eq!(
        prod.port.and_then(|p| p.number()),
        Some(8001),
        "file [prod] beats [default]/built-in"
    );
    assert_eq!(
        prod.stop_timeout,
        Some(Dur(Duration::from_secs(20))),
        "[default] applies"
    );
    assert_eq!(
        port(&[("PORT", "9000")], vec![]),
        Some(9000),
        "PORT beats the [prod] table"
    );
    assert_eq!(
        port(&[("PORT", "9000"), ("LIFTOFF_PORT", "9100")], vec![]),
        Some(9100),
        "LIFTOFF_PORT beats PORT"
    );
    let flags = vec![flag("port", "--port", Value::String("9200".into()))];
    assert_eq!(
        port(&[("LIFTOFF_PORT", "9100")], flags),
        Some(9200),
        "the flag beats LIFTOFF_PORT"
    );
}

#[test]
fn env_beats_a_prod_table_and_applies_to_every_profile() {
    let dir = Dir::new(FILE);
    let vars = [
        ("LIFTOFF_WORKERS", "7"),
        ("WEB_CONCURRENCY", "3"),
        ("LIFTOFF_ENV__Mixed_Case", "0123"),
    ];
    for profile in ["prod", "dev", "worker"] {
        let s = settings(Some(&dir.file()), &vars, vec![], profile).unwrap();
        assert_eq!(s.workers, Some(WorkerCount::Fixed(7)), "{profile}");
        let env = s.env.unwrap().0;
        let get = |name: &str| {
            env.iter()
                .find(|v| v.name == name)
                .map(|v| v.value.as_str())
        };
        assert_eq!(
            get("Mixed_Case"),
            Some("0123"),
            "{profile}: names and values kept as written"
        );
        assert_eq!(get("SHARED"), Some("yes"), "{profile}: [default] env kept");
    }
}

#[test]
fn selecting_variables_never_select_a_profile() {
    let dir = Dir::new(FILE);
    let vars = [
        ("LIFTOFF_PROFILE", "dev"),
        ("FLASK_ENV", "development"),
        ("FLASK_DEBUG", "1"),
        ("APP_ENV", "dev"),
        ("ENVIRONMENT", "local"),
    ];
    let prod = settings(Some(&dir.file()), &vars, vec![], "prod").unwrap();
    assert_eq!(prod.port.and_then(|p| p.number()), Some(8001));
}

#[test]
fn the_file_comes_from_the_flag_then_the_variable() {
    let one = Dir::new("[prod]\nport = 1\n");
    let two = Dir::new("[prod]\nport = 2\n");
    let from_var = [("LIFTOFF_CONFIG", two.file().to_str().unwrap().to_string())];
    let vars: Vec<(&str, &str)> = from_var.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let port = |file: Option<&Path>| {
        settings(file, &vars, vec![], "prod")
            .unwrap()
            .port
            .and_then(|p| p.number())
    };
    assert_eq!(port(None), Some(2));
    assert_eq!(port(Some(&one.file())), Some(1));
    let missing = one.0.join("missing.toml");
    let err = Layers::load(Some(&missing), vec![])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing.toml") && err.contains("--config"),
        "{err}"
    );
    let gone = env(&[("LIFTOFF_CONFIG", "/nonexistent/gone.toml")]);
    let err = Layers::load(None, gone).unwrap_err().to_string();
    assert!(
        err.contains("gone.toml") && err.contains("LIFTOFF_CONFIG"),
        "{err}"
    );
}

#[test]
fn files_that_are_not_small_regular_files_are_refused_without_reading_them() {
    for (path, why) in [
        ("/dev/zero", "not a regular file"),
        ("/dev/null", "not a regular file"),
    ] {
        let err = Layers::load(Some(Path::new(path)), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{path}: {err}");
    }
    let big = Dir::new(&format!("# {}\n", "x".repeat(file::MAX_FILE as usize)));
    let err = Layers::load(Some(&big.file()), vec![])
        .unwrap_err()
        .to_string();
    assert!(err.contains("larger than 1024 KiB"), "{err}");
    let fifo = big.0.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let err = Layers::load(Some(&fifo), vec![]).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn profiles_come_from_the_tables() {
    let dir = Dir::new(FILE);
    let (layers, _) = Layers::load(Some(&dir.file()), vec![]).unwrap();
    assert_eq!(layers.all_profiles(), ["prod", "dev", "worker"]);
    assert!(
        layers.is_profile("worker") && layers.is_profile("dev") && !layers.is_profile("default")
    );
}

#[test]
fn every_bad_value_names_the_key_what_was_given_what_is_expected_and_where() {
    type Case<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        Vec<Setting>,
        &'a [&'a str],
    );
    let cases: Vec<Case> = vec![
        (
            "[prod]\nworkers = \"lots\"\n",
            &[],
            vec![],
            &[
                "workers `lots` (from ",
                "liftoff.toml [prod])",
                "expected \"auto\", a number",
            ],
        ),
        (
            "[prod]\nstop_timeout = \"soon\"\n",
            &[],
            vec![],
            &["stop_timeout `soon`", "not a duration"],
        ),
        (
            "[prod]\nport = \"http\"\n",
            &[],
            vec![],
            &["port `http`", "a port number from 1 to 65535"],
        ),
        (
            "[prod]\nmode = \"sometimes\"\n",
            &[],
            vec![],
            &["mode `sometimes`", "one of: auto, exec, supervise"],
        ),
        (
            "",
            &[("LIFTOFF_WORKERS", "lots")],
            vec![],
            &[
                "(from environment variable LIFTOFF_WORKERS)",
                "workers `lots`",
            ],
        ),
        (
            "",
            &[("WEB_CONCURRENCY", "-3")],
            vec![],
            &[
                "(from environment variable WEB_CONCURRENCY)",
                "workers `-3`",
            ],
        ),
        (
            "",
            &[("PORT", "eighty")],
            vec![],
            &["port `eighty` (from environment variable PORT)"],
        ),
        (
            "",
            &[("LIFTOFF_RELOAD", "maybe")],
            vec![],
            &[
                "(from environment variable LIFTOFF_RELOAD)",
                "true or false",
            ],
        ),
        (
            "",
            &[],
            vec![flag(
                "stop_timeout",
                "--stop-timeout",
                Value::String("later".into()),
            )],
            &["(from flag --stop-timeout)", "not a duration"],
        ),
        (
            "",
            &[("LIFTOFF_ENV__", "x")],
            vec![],
            &[
                "`env.\"\"` (from environment variable LIFTOFF_ENV__)",
                "non-empty",
            ],
        ),
        (
            "[prod]\nenv = { \"HOME=/evil\" = \"x\" }\n",
            &[],
            vec![],
            &["env.\"HOME=/evil\"", "no `=`"],
        ),
        (
            "[prod]\nthreads = 0\n",
            &[],
            vec![],
            &["threads `0`", "from 1"],
        ),
    ];
    for (file, vars, flags, needles) in cases {
        let dir = Dir::new(file);
        let problems = settings(Some(&dir.file()), vars, flags, "prod").unwrap_err();
        let text = problems.join("\n");
        for needle in needles {
            assert!(
                text.contains(needle),
                "{file:?} {vars:?}: {text:?} lacks {needle:?}"
            );
        }
    }
}

#[test]
fn unknown_keys_do_not_hide_bad_values_and_every_problem_is_listed() {
    let dir =
        Dir::new("[prod]\nthread = 4\nstop_timout = \"3s\"\nport = \"eighty\"\nworkers = 0\n");
    let problems = settings(Some(&dir.file()), &[], vec![], "prod").unwrap_err();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    let text = problems.join("\n");
    for needle in [
        "unknown key `thread`",
        "unknown key `stop_timout`",
        "port `eighty`",
        "workers `0`",
    ] {
        assert!(text.contains(needle), "{text}");
    }
}

#[test]
fn unknown_keys_and_bad_shapes_are_reported_with_suggestions() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "[prod]\nwokrers = 3\n",
            &[],
            &[
                "liftoff.toml [prod]",
                "unknown key `wokrers`",
                "did you mean `workers`",
            ],
        ),
        (
            "port = 3\n",
            &[],
            &["`port` is outside any table", "[default]"],
        ),
        ("[global]\nport = 3\n", &[], &["[global] is not supported"]),
        ("[check]\nport = 3\n", &[], &["[check] cannot be a profile"]),
        ("[Prod]\nport = 3\n", &[], &["rename [Prod] to [prod]"]),
        (
            "",
            &[("LIFTOFF_WOKRERS", "3")],
            &[
                "environment variable LIFTOFF_WOKRERS",
                "did you mean `workers`",
            ],
        ),
        (
            "",
            &[("LIFTOFF_PORT__X", "3")],
            &["LIFTOFF_PORT__X", "not a table"],
        ),
        (
            "",
            &[("LIFTOFF_SERVER", "flask")],
            &["LIFTOFF_SERVER", "cannot come from the environment"],
        ),
        (
            "",
            &[("LIFTOFF_", "x")],
            &["environment variable LIFTOFF_", "unknown key ``"],
        ),
        (
            "[default]\ncommand = [\"x\"]\n",
            &[],
            &["[default]: `command` chooses what runs"],
        ),
    ];
    for (file, vars, needles) in cases {
        let dir = Dir::new(file);
        let (_, problems) = Layers::load(Some(&dir.file()), env(vars)).unwrap();
        let text: Vec<String> = problems.into_iter().map(|p| p.message).collect();
        let text = text.join("\n");
        for needle in *needles {
            assert!(
                text.contains(needle),
                "{file:?} {vars:?}: {text:?} lacks {needle:?}"
            );
        }
    }
    let dir = Dir::new("[prod]\nport = 1\n[prod.x\n");
    let err = Layers::load(Some(&dir.file()), vec![])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("liftoff.toml:3:") && err.contains("TOML syntax error"),
        "{err}"
    );
}

#[test]
fn values_that_are_not_utf8_are_refused_not_ignored() {
    use std::os::unix::ffi::OsStringExt;
    let bad = OsString::from_vec(vec![0x66, 0xff]);
    for name in ["PORT", "LIFTOFF_APP"] {
        let (_, problems) = Layers::load(None, vec![(OsString::from(name), bad.clone())]).unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.message.contains("not UTF-8") && p.message.contains(name)),
            "{name}: {problems:?}"
        );
    }
    let err = Layers::load(None, vec![(OsString::from("LIFTOFF_CONFIG"), bad)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("LIFTOFF_CONFIG") && err.contains("not UTF-8"),
        "{err}"
    );
}

#[test]
fn string_keys_accept_what_the_environment_parses_as_numbers() {
    let vars = [
        ("LIFTOFF_APP", "123"),
        ("LIFTOFF_HOST", "127.0.0.1"),
        ("LIFTOFF_EXTRA_ARGS", r#"["--preload", "-k"]"#),
    ];
    let s = settings(None, &vars, vec![], "prod").unwrap();
    assert_eq!(s.app.unwrap().0, "123");
    assert_eq!(s.host.unwrap().0, "127.0.0.1");
    assert_eq!(s.extra_args.unwrap().0.len(), 2);
    for (value, codes) in [
        ("143", vec![143]),
        ("0,143", vec![0, 143]),
        ("[1]", vec![1]),
        ("[0, 143]", vec![0, 143]),
    ] {
        let s = settings(None, &[("LIFTOFF_SUCCESS_CODES", value)], vec![], "prod").unwrap();
        assert_eq!(s.success_codes.unwrap().0, codes, "{value}");
    }
}

#[test]
fn table_flags_merge_entry_by_entry_with_the_file() {
    let dir = Dir::new("[prod]\nsignals = { QUIT = \"TERM\", HUP = \"ignore\" }\n");
    let values = crate::plan::keys::KeyValues(vec![(
        crate::plan::keys::find("signals").unwrap(),
        crate::plan::keys::Raw::Many(vec!["HUP=USR1".into()]),
    )]);
    let (flags, problems) = flag_settings(&values, 0, 0);
    assert!(problems.is_empty());
    let s = settings(Some(&dir.file()), &[], flags, "prod").unwrap();
    let signals: Vec<(String, String)> = s
        .signals
        .unwrap()
        .0
        .iter()
        .map(|r| (r.from.to_string(), r.to.to_string()))
        .collect();
    assert!(
        signals.contains(&("SIGQUIT".into(), "SIGTERM".into())),
        "{signals:?}"
    );
    assert!(
        signals.contains(&("SIGHUP".into(), "SIGUSR1".into())),
        "{signals:?}"
    );
}

#[test]
fn malformed_flag_values_are_problems_with_their_flag() {
    let key = |name| crate::plan::keys::find(name).unwrap();
    let values = crate::plan::keys::KeyValues(vec![
        (
            key("signals"),
            crate::plan::keys::Raw::Many(vec!["QUIT".into()]),
        ),
        (
            key("before"),
            crate::plan::keys::Raw::Many(vec![
                "flask db 'upgrade".into(),
                "sh -c 'echo $HOME; x'".into(),
            ]),
        ),
    ]);
    let (flags, problems) = flag_settings(&values, 0, 0);
    let text: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(problems.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with("flag --signal-map: `QUIT`: expected FROM=TO"),
        "{text:?}"
    );
    assert!(
        text[1].starts_with("flag --before: `flask db \\'upgrade`"),
        "{text:?}"
    );
    let before = flags.iter().find(|s| s.key == "before").unwrap();
    assert_eq!(
        before.value.to_string(),
        r#"[["sh", "-c", "echo $HOME; x"]]"#
    );
}

#[test]
fn suggestions_only_for_close_words() {
    assert_eq!(
        did_you_mean("wokrers", keys::names()),
        "; did you mean `workers`?"
    );
    assert_eq!(did_you_mean("zzzzzz", keys::names()), "");
}
