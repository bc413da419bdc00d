//! Snapshots of the text users read: help, `plan` output and error messages, so that a
//! change to any of them is reviewed like a change to a user interface.

use std::path::Path;

use crate::support::liftoff;

/// Runs liftoff in `dir` and returns what it printed, stdout then stderr, with the
/// directory replaced by `[DIR]` so snapshots do not depend on where tests run.
fn output(dir: &Path, args: &[&str]) -> String {
    let out = liftoff()
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.replace(&dir.display().to_string(), "[DIR]")
}

/// A temporary directory with `liftoff.toml`.
fn project(config: &str) -> tempdir::Dir {
    tempdir::Dir::new(config)
}

mod tempdir {
    //! A directory removed on drop.

    use std::path::PathBuf;

    /// The directory.
    pub struct Dir(pub PathBuf);

    impl Dir {
        /// Creates it with `liftoff.toml` holding `config`.
        pub fn new(config: &str) -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let dir = std::env::temp_dir().join(format!("liftoff-snap-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("liftoff.toml"), config).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        /// Removes it.
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const CONFIG: &str = r#"
[worker]
command = ["sh", "-c", "echo working"]
signals = { QUIT = "TERM", HUP = "ignore" }
stop_timeout = "5s"
success_codes = [143]
env = { QUEUE = "high", API_TOKEN = "hunter2" }
"#;

#[test]
fn help() {
    let dir = project("");
    insta::assert_snapshot!(output(&dir.0, &["--help"]));
}

#[test]
fn command_help() {
    let dir = project("");
    let all: Vec<String> = ["prod", "dev", "run", "plan", "config", "check", "health"]
        .iter()
        .map(|command| {
            format!(
                "$ liftoff {command} --help\n{}",
                output(&dir.0, &[command, "--help"])
            )
        })
        .collect();
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn plan_of_a_command_profile() {
    let dir = project(CONFIG);
    insta::assert_snapshot!(output(&dir.0, &["plan", "worker", "--", "--fast"]));
}

#[test]
fn errors() {
    let cases: &[(&str, &[&str])] = &[
        ("[prod]\nwokrers = 3\n", &["prod"]),
        ("[prod]\napp = \"a:b\"\nworkers = \"lots\"\n", &["prod"]),
        ("[prod]\napp = \"a:b\"\n[prod.x\n", &["prod"]),
        ("[prod]\nport = 1\n", &["prod"]),
        (CONFIG, &["wroker"]),
        (CONFIG, &["--signal-map", "QUIT", "worker"]),
        (CONFIG, &["prod", "--bogus"]),
    ];
    let all: Vec<String> = cases
        .iter()
        .map(|(config, args)| {
            let dir = project(config);
            format!("$ liftoff {}\n{}", args.join(" "), output(&dir.0, args))
        })
        .collect();
    insta::assert_snapshot!(all.join("\n"));
}

#[test]
fn the_docs_list_every_key_with_its_variable_and_flag() {
    // Each key of `liftoff config --explain --format json` (which reads the key table)
    // has a row in docs/configuration.md naming its variable and its flag, or "none".
    let docs =
        std::fs::read_to_string(crate::support::repo_root().join("docs/configuration.md")).unwrap();
    let dir = project("[worker]\ncommand = [\"true\"]\n");
    let mut keys = Vec::new();
    for profile in ["prod", "dev", "worker"] {
        let out = liftoff()
            .current_dir(&dir.0)
            .args(["config", profile, "--explain", "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        keys.extend(doc["keys"].as_array().unwrap().iter().cloned());
    }
    let mut missing = Vec::new();
    for key in &keys {
        let name = key["key"].as_str().unwrap();
        let rows: Vec<&str> = docs
            .lines()
            .filter(|l| l.starts_with(&format!("| `{name}` |")))
            .collect();
        if rows.is_empty() {
            missing.push(format!("{name}: no row"));
        }
        for row in rows {
            let cells: Vec<&str> = row.split(" | ").collect();
            let variable = key["variable"].as_str().unwrap_or("none");
            let flag = key["flag"].as_str().unwrap_or("none");
            let var_cell = cells
                .get(cells.len().saturating_sub(2))
                .copied()
                .unwrap_or_default();
            let flag_cell = cells.last().copied().unwrap_or_default();
            if !var_cell.contains(variable) {
                missing.push(format!("{name}: variable {variable} not in {var_cell:?}"));
            }
            if !flag_cell.contains(flag) {
                missing.push(format!("{name}: flag {flag} not in {flag_cell:?}"));
            }
        }
    }
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/configuration.md is out of date:\n{}",
        missing.join("\n")
    );
}
