//! Target `plan`: a config file, environment variables and a command line through the
//! binary's own code for `plan`, `config` and `check` (`commands::run_printing`), up to
//! and including what they print; nothing is started, no signal touched. The input format
//! is in `plan/input.rs`; the files go to a private temporary directory.
//!
//! Invariants, on what the binary would print and its exit code:
//! - no panic, and the exit code is a documented one (0, 2, 78, 126, 127);
//! - every line on stderr is one `liftoff: error: ...` or `liftoff: warning: ...` line
//!   (one problem each), there is an error line exactly when the code is not 0, and no
//!   line starts with text that followed a line break inside one of the input's values
//!   (a value must never split a message, or forge a line);
//! - a secret in the `env` table (a canary the harness adds) shows nowhere unless the
//!   command line says `--show-env`;
//! - output that starts like JSON is JSON.

mod input;

use std::collections::BTreeSet;

use input::Input;

use super::{Target, feature};
use crate::output::{Captured, capture};

/// The target.
pub static TARGET: Target = Target {
    name: "plan",
    tokens: &[
        b"\n# argv: plan prod\n",
        b"\n# argv: config --explain\n",
        b"\n# argv: check\n",
        b"\n# env: LIFTOFF_ENV__X=",
        b"\n# envfile: ",
        b"\\xff",
        b"\\n",
        b" --port ",
        b" --user ",
        b" --signal-map ",
        b" --show-env",
        b" --format json",
        b" --help",
        b" -- ",
        b"\n[prod]\n",
        b"\n[default]\n",
        b"\n[\"line\\nbreak\"]\n",
        b"\n[worker]\ncommand = [\"true\"]\n",
        b"env = { \"HOME=/evil\" = \"x\" }\n",
        b"env_file = \"liftoff.env\"\n",
        b"workers = ",
        b"workers_per_core = ",
        b"threads = ",
        b"signals = { TERM = \"QUIT\" }\n",
        b"stop_timeout = ",
        b"user = ",
        b"server = \"uvicorn\"\n",
        b"app = ",
        b"\"\"\"",
        b"TERM=KILL",
        b"LIFTOFF_",
        b"postgres://user:pa/ss@host/db",
    ],
    run,
};

/// The secret every environment gets in its `env` table.
const CANARY: &str = "c4n4ry-Fz9q-s3cr3t";

/// The exit codes `plan`, `config` and `check` document.
const CODES: &[i32] = &[0, 2, 78, 126, 127];

/// The shortest text after a line break that counts as starting a message.
const PIECE: usize = 8;

/// Runs one input through the command it names; `None` when it names another command
/// (one that would start something) or reaches outside the harness's files.
fn run(data: &[u8]) -> Option<Vec<u64>> {
    let input = Input::parse(data);
    if input.reaches_outside() {
        return None;
    }
    let dir = super::scratch(TARGET.name);
    std::fs::create_dir_all(&dir).ok()?;
    let config = dir.join("liftoff.toml");
    std::fs::write(&config, &input.config).ok()?;
    let envfile = dir.join("liftoff.env");
    match &input.envfile {
        Some(text) => {
            let text = [text, format!("FUZZ_FILE_CANARY={CANARY}\n").as_bytes()].concat();
            std::fs::write(&envfile, text).ok()?;
        }
        None => {
            let _ = std::fs::remove_file(&envfile);
        }
    }
    let (args, env) = input.command_line(&config, CANARY);
    let (code, printed) =
        capture(|| crate::commands::run_printing(args, env).map(crate::exit::code_for));
    let code = code?;
    check(&input, code, &printed);
    let shapes = shapes(&printed).into_iter().map(|s| feature((code, s)));
    Some(shapes.chain([feature(code)]).collect())
}

/// Checks what the command printed and its code.
fn check(input: &Input, code: i32, printed: &Captured) {
    let stderr = &printed.err;
    assert!(
        CODES.contains(&code),
        "exit code {code}; stderr: {stderr:?}"
    );
    let pieces = after_line_breaks(input);
    let mut errors = 0;
    for line in stderr {
        assert!(!line.contains('\n'), "a message of several lines: {line:?}");
        let text = match line.strip_prefix("liftoff: error: ") {
            Some(text) => {
                errors += 1;
                text
            }
            None => line
                .strip_prefix("liftoff: warning: ")
                .unwrap_or_else(|| panic!("not one of liftoff's messages: {line:?}")),
        };
        if let Some(piece) = pieces.iter().find(|p| text.starts_with(p.as_str())) {
            panic!("a line break in the input split a message: {piece:?} starts {line:?}");
        }
    }
    assert_eq!(
        code == 0,
        errors == 0,
        "exit code {code} with {errors} error lines: {stderr:?}"
    );
    if !input.reveals() {
        let shown = printed.out.contains(CANARY) || stderr.iter().any(|l| l.contains(CANARY));
        assert!(!shown, "a secret of the env table shown: {printed:?}");
    }
    if code == 0 && printed.out.starts_with('{') {
        let json = serde_json::from_str::<serde_json::Value>(&printed.out);
        assert!(json.is_ok(), "not JSON: {json:?}\n{}", printed.out);
    }
}

/// The text after each line break inside the input's values, up to the next (a file's
/// own lines are not values).
fn after_line_breaks(input: &Input) -> Vec<String> {
    let mut pieces = Vec::new();
    for text in input.texts() {
        for piece in text.split('\n').skip(1) {
            let piece = piece.strip_suffix('\r').unwrap_or(piece);
            if piece.trim().chars().count() >= PIECE {
                pieces.push(piece.chars().take(40).collect());
            }
        }
    }
    pieces
}

/// The shape of what was printed, for the features: what each stderr line says without
/// what it repeats, and the first word of stdout's first lines.
fn shapes(printed: &Captured) -> BTreeSet<String> {
    let err = printed.err.iter().map(|line| super::shape(line));
    let out = printed.out.lines().take(40).map(|line| {
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    });
    err.chain(out).collect()
}
