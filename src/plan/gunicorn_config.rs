//! gunicorn's own configuration: which file gunicorn will read, and which of its settings
//! liftoff's flags replace, so that nothing in a `gunicorn.conf.py` or `GUNICORN_CMD_ARGS`
//! is overridden without a word. `workers = "server"` and `port = "server"` leave those
//! to gunicorn's configuration.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::keys::Settings;

/// gunicorn's setting names (in a config file) for what liftoff passes, with the flags
/// that set them (in `GUNICORN_CMD_ARGS`, short and long).
const PASSED: &[(&str, &[&str])] = &[
    ("bind", &["-b", "--bind"]),
    ("workers", &["-w", "--workers"]),
    ("threads", &["--threads"]),
    ("worker_class", &["-k", "--worker-class"]),
    ("timeout", &["-t", "--timeout"]),
    ("graceful_timeout", &["--graceful-timeout"]),
    ("keepalive", &["--keep-alive"]),
    ("worker_tmp_dir", &["--worker-tmp-dir"]),
    ("accesslog", &["--access-logfile"]),
    ("reload", &["--reload"]),
];

/// The config file gunicorn will read, and why: `gunicorn_config` (`-c`), else `--config`
/// in `GUNICORN_CMD_ARGS`, else `./gunicorn.conf.py` in the working directory.
pub fn file(cwd: &Path, s: &Settings, env: &[(OsString, OsString)]) -> Option<(PathBuf, String)> {
    if let Some(config) = &s.gunicorn_config {
        return Some((cwd.join(&config.0), "gunicorn_config".into()));
    }
    let args = cmd_args(env);
    let named = args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "-c" | "--config" => args.get(i + 1).cloned(),
        a => a.strip_prefix("--config=").map(String::from),
    });
    if let Some(named) = named {
        return Some((cwd.join(named), "GUNICORN_CMD_ARGS".into()));
    }
    let default = cwd.join("gunicorn.conf.py");
    default
        .is_file()
        .then(|| (default, "its default, ./gunicorn.conf.py".into()))
}

/// The words of `GUNICORN_CMD_ARGS`, split as gunicorn splits them.
fn cmd_args(env: &[(OsString, OsString)]) -> Vec<String> {
    env.iter()
        .find(|(k, _)| k == "GUNICORN_CMD_ARGS")
        .and_then(|(_, v)| v.to_str())
        .and_then(|v| shell_words::split(v).ok())
        .unwrap_or_default()
}

/// The settings of [`PASSED`] that `args` set, as `--flag value` or `--flag=value`.
fn set_by(args: &[String]) -> impl Iterator<Item = &'static str> {
    let sets = |f: &str| {
        args.iter()
            .any(|a| a == f || a.starts_with(&format!("{f}=")))
    };
    PASSED
        .iter()
        .filter(move |(_, flags)| flags.iter().any(|f| sets(f)))
        .map(|(name, _)| *name)
}

/// The top-level assignments in a config file's text that set one of `names`.
fn assigned<'a>(text: &str, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|name| {
            text.lines().any(|line| {
                line.strip_prefix(name)
                    .map(str::trim_start)
                    .is_some_and(|rest| rest.starts_with('=') && !rest.starts_with("=="))
            })
        })
        .collect()
}

/// Warnings for every setting of gunicorn's own configuration that a flag in `argv`
/// replaces, saying how to keep it.
pub fn overridden(
    cwd: &Path,
    s: &Settings,
    env: &[(OsString, OsString)],
    argv: &[OsString],
) -> Vec<String> {
    let argv: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let names: Vec<&str> = set_by(&argv).collect();
    let mut warnings = Vec::new();
    if let Some((path, _)) = file(cwd, s, env)
        && let Ok(text) = super::layers::read_small_file(&path)
    {
        let set = assigned(&text, &names);
        if !set.is_empty() {
            warnings.push(format!(
                "{} sets {}, which liftoff's flags replace{}",
                crate::exit::shown_path(&path),
                set.join(", "),
                how_to_keep(&set)
            ));
        }
    }
    let args = cmd_args(env);
    let set: Vec<&str> = set_by(&args).filter(|name| names.contains(name)).collect();
    if !set.is_empty() {
        warnings.push(format!(
            "GUNICORN_CMD_ARGS sets {}, which liftoff's flags replace{}",
            set.join(", "),
            how_to_keep(&set)
        ));
    }
    warnings
}

/// How to keep gunicorn's own value of each of `set`.
fn how_to_keep(set: &[&str]) -> String {
    let mut ways = Vec::new();
    if set.contains(&"workers") {
        ways.push("workers = \"server\"");
    }
    if set.contains(&"bind") {
        ways.push("port = \"server\"");
    }
    let others = set.iter().any(|s| !matches!(*s, "workers" | "bind"));
    match (ways.is_empty(), others) {
        (true, _) => "; set them in liftoff's config instead".into(),
        (false, false) => format!(
            "; to keep them, set {} in liftoff's config",
            ways.join(" and ")
        ),
        (false, true) => format!(
            "; to keep them, set {} in liftoff's config, and the others there instead",
            ways.join(" and ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::values::{Count, Port, Text};

    #[test]
    fn top_level_assignments_are_found_and_nothing_else() {
        let text = "import multiprocessing\nworkers = multiprocessing.cpu_count() * 2 + 1\nbind=\"0.0.0.0:80\"\n\
                    def x():\n    threads = 4\nif workers == 3:\n    pass\ntimeout_x = 1\n";
        assert_eq!(
            assigned(text, &["bind", "workers", "threads", "timeout"]),
            ["bind", "workers"]
        );
    }

    #[test]
    fn what_liftoff_passes_is_what_is_warned_about_with_the_way_to_keep_it() {
        let dir = std::env::temp_dir().join(format!("liftoff-gconf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("gunicorn.conf.py"),
            "workers = 2\nbind = \"0.0.0.0:80\"\nthreads = 8\n",
        )
        .unwrap();
        let s = Settings {
            port: Some(Port::Number(8000)),
            threads: Some(Count(4)),
            ..Settings::default()
        };
        let env = vec![(
            OsString::from("GUNICORN_CMD_ARGS"),
            OsString::from("--workers=3 --access-logfile -"),
        )];
        let argv = [
            "gunicorn",
            "--bind",
            "0.0.0.0:8000",
            "--workers",
            "5",
            "--threads",
            "4",
            "app",
        ];
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let warnings = overridden(&dir, &s, &env, &argv);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("gunicorn.conf.py sets bind, workers, threads"),
            "{warnings:?}"
        );
        assert!(
            warnings[0].contains("workers = \"server\" and port = \"server\""),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("GUNICORN_CMD_ARGS sets workers"),
            "{warnings:?}"
        );
        let left = Settings {
            port: Some(Port::Server),
            ..Settings::default()
        };
        assert!(
            overridden(&dir, &left, &[], &argv[..1]).is_empty(),
            "nothing passed, nothing replaced"
        );
        let named = Settings {
            gunicorn_config: Some(Text("other.py".into())),
            ..Settings::default()
        };
        assert_eq!(file(&dir, &named, &[]).unwrap().0, dir.join("other.py"));
        let env = vec![(
            OsString::from("GUNICORN_CMD_ARGS"),
            OsString::from("-c conf/g.py"),
        )];
        assert_eq!(
            file(&dir, &Settings::default(), &env).unwrap().0,
            dir.join("conf/g.py")
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(file(&dir, &Settings::default(), &[]), None);
    }
}
