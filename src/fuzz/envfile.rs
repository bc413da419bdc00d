//! Target `envfile`: the env-file parser (`plan/envfile.rs`). The input is the file.
//!
//! Invariants: no panic; every problem is one line that starts with its line number;
//! names are variable names and values hold no NUL; and no problem repeats text of a
//! malformed line (env files hold secrets): apart from a valid name before the `=`, no
//! eight characters of the line appear in a problem, unless they are the parser's own
//! words.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use super::{Target, feature};
use crate::plan::envfile;

/// The target.
pub static TARGET: Target = Target {
    name: "envfile",
    tokens: &[
        b"export ",
        b"export\t",
        b"A=",
        b"_X9=",
        b"=\"",
        b"='",
        b"\\\"",
        b"\\n",
        b" #",
        b"sk_live+AbC/dEf9xYz==",
        b"postgres://user:pa/ss@host/db",
        b"\xef\xbb\xbf",
    ],
    run,
};

/// The shortest piece of a line that counts as repeated.
const PIECE: usize = 8;

/// Parses the input and checks the outcome.
fn run(data: &[u8]) -> Option<Vec<u64>> {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text
        .strip_prefix('\u{feff}')
        .unwrap_or(&text)
        .lines()
        .collect();
    match envfile::parse(&text) {
        Ok(entries) => {
            for entry in &entries {
                assert!(is_name(&entry.key), "bad name {:?}", entry.key);
                assert!(
                    !entry.value.contains('\0'),
                    "a NUL in the value of {}",
                    entry.key
                );
                assert!(
                    (1..=lines.len()).contains(&entry.line),
                    "line {}",
                    entry.line
                );
            }
            Some(vec![feature(("ok", entries.len().min(4)))])
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "an error without a problem");
            let shapes: BTreeSet<String> = problems.iter().map(|p| check(p, &lines)).collect();
            Some(shapes.iter().map(feature).collect())
        }
    }
}

/// Checks one problem against the line it names; returns its shape, for the features.
fn check(problem: &str, lines: &[&str]) -> String {
    assert!(
        !problem.contains(['\n', '\r']),
        "a problem of several lines: {problem:?}"
    );
    let (number, what) = problem
        .split_once(": ")
        .unwrap_or_else(|| panic!("no line number: {problem:?}"));
    let n: usize = number
        .parse()
        .unwrap_or_else(|_| panic!("no line number: {problem:?}"));
    assert!(
        (1..=lines.len()).contains(&n),
        "line {n} of {}",
        lines.len()
    );
    let (name, secret) = sensitive(lines[n - 1]);
    // The name may be named: the problem says which variable is wrong.
    let named = name.map(|name| format!("`{name}`: "));
    let said = named
        .and_then(|named| what.strip_prefix(named.as_str()))
        .unwrap_or(what);
    let chars: Vec<char> = said.chars().collect();
    for window in chars.windows(PIECE) {
        let piece: String = window.iter().collect();
        assert!(
            !secret.contains(&piece) || vocabulary().contains(&piece),
            "problem {problem:?} repeats {piece:?} of its line"
        );
    }
    super::shape(said)
}

/// The valid name before `=` (found as the parser finds it), which problems may name,
/// and what of the line must never be repeated: all of it but that name.
fn sensitive(raw: &str) -> (Option<&str>, &str) {
    let line = raw.trim();
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    };
    match line.split_once('=') {
        Some((key, rest)) if is_name(key.trim_end()) => (Some(key.trim_end()), rest),
        _ => (None, raw),
    }
}

/// Whether `key` is a portable variable name.
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The parser's own words: every problem it gives for one line of each kind.
fn vocabulary() -> &'static str {
    static WORDS: OnceLock<String> = OnceLock::new();
    WORDS.get_or_init(|| {
        let kinds = "x\n9=x\nA=\"x\nA='x\nA=\"x\" y\nA='x' y\nA=\0\n";
        envfile::parse(kinds).unwrap_err().join("\n")
    })
}
