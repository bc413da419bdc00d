//! The shape of `src/` (ARCHITECTURE.md): which top-level module may use which, and no
//! cycle between sibling modules anywhere. Read from the `crate::` and `super::` paths
//! of every source file, tests included, so the graph cannot silently grow a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the ones it may use. Everything points down, from the
/// command to the system calls: main → commands → plan → {launch, supervise} →
/// signals, exit (see ARCHITECTURE.md).
const ALLOWED: &[(&str, &[&str])] = &[
    ("main", &["commands", "exit", "log", "signals"]),
    // The fuzz harness (tests only) drives the commands and the parsers below them.
    (
        "fuzz",
        &["commands", "plan", "probe", "signals", "exit", "output"],
    ),
    (
        "commands",
        &[
            "cli",
            "plan",
            "launch",
            "supervise",
            "probe",
            "signals",
            "exit",
            "log",
            "output",
        ],
    ),
    ("cli", &["plan"]),
    ("plan", &["launch", "probe", "signals", "exit", "log"]),
    ("supervise", &["launch", "signals", "exit", "log"]),
    ("launch", &["signals", "exit", "log"]),
    ("probe", &["signals", "exit", "log"]),
    ("signals", &[]),
    ("exit", &["output"]),
    ("output", &["log"]),
    ("log", &[]),
];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
    found
}

/// A file's module path: `src/plan/keys.rs` → ["plan", "keys"]; `src/plan.rs` → ["plan"];
/// `src/main.rs` → ["main"].
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect()
}

/// The module paths a file refers to: `crate::a::b` (as written) and `super::x` (resolved
/// against the file's own module).
fn references(text: &str, module: &[String]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.contains("::"))
        .collect();
    for word in words {
        let parts: Vec<&str> = word.split("::").filter(|p| !p.is_empty()).collect();
        match parts.first() {
            Some(&"crate") => found.push(parts[1..].iter().map(|s| s.to_string()).collect()),
            Some(&"super") => {
                let ups = parts.iter().take_while(|p| **p == "super").count();
                let base = module.len().saturating_sub(ups);
                let mut path: Vec<String> = module[..base.min(module.len())].to_vec();
                path.extend(parts[ups..].iter().map(|s| s.to_string()));
                found.push(path);
            }
            _ => {}
        }
    }
    found
}

/// Every edge between modules: (from, to), each a module path that names a file.
fn edges() -> BTreeSet<(Vec<String>, Vec<String>)> {
    let src = crate::support::repo_root().join("src");
    let files = sources(&src);
    let modules: BTreeSet<Vec<String>> = files
        .iter()
        .map(|f| module_of(&src, f))
        .filter(|m| {
            m.last()
                .is_none_or(|l| l != "tests" && !l.ends_with("_tests"))
        })
        .collect();
    let mut edges = BTreeSet::new();
    for file in &files {
        let mut from = module_of(&src, file);
        // A test file belongs to the module it tests.
        while from
            .last()
            .is_some_and(|l| l == "tests" || l.ends_with("_tests"))
        {
            from.pop();
        }
        let text = std::fs::read_to_string(file).unwrap();
        for path in references(&text, &from) {
            // The longest prefix of the path that is a module is what it refers to.
            let to = (1..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p));
            if let Some(to) = to
                && to != from
            {
                edges.insert((from.clone(), to));
            }
        }
    }
    edges
}

#[test]
fn top_level_modules_use_only_what_lies_below_them() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = Vec::new();
    for (from, to) in edges() {
        let (a, b) = (from[0].as_str(), to[0].as_str());
        if a == b {
            continue;
        }
        let may = allowed.get(a).unwrap_or_else(|| {
            panic!("module `{a}` is missing from ALLOWED (and from ARCHITECTURE.md)")
        });
        if !may.contains(&b) {
            wrong.push(format!("{} uses {}", from.join("::"), to.join("::")));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn sibling_modules_form_no_cycle() {
    // Within one parent, the graph of its children must be acyclic (a parent and its
    // own children may use each other: that is how a module's items are shared).
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, to) in edges() {
        let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
        if common == from.len() || common == to.len() {
            continue;
        }
        // The children of the common parent on each side.
        let a = from[..=common].to_vec();
        let b = to[..=common].to_vec();
        graph.entry(a).or_default().insert(b);
    }
    let mut state: BTreeMap<Vec<String>, u8> = BTreeMap::new();
    /// Depth-first search; returns a cycle as module names when it finds one.
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|n| n == node).unwrap_or(0);
                return Some(
                    stack[at..]
                        .iter()
                        .chain([node])
                        .map(|n| n.join("::"))
                        .collect(),
                );
            }
            _ => {}
        }
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut state, &mut Vec::new()) {
            panic!("a cycle between modules: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_rule_can_fail() {
    // The scanner sees what the rule is about: a file that used `crate::commands` from
    // `signals` would be reported.
    let refs = references(
        "use crate::commands::run;\nsuper::table::x",
        &["signals".into(), "mask".into()],
    );
    assert!(
        refs.contains(&vec!["commands".to_string(), "run".to_string()]),
        "{refs:?}"
    );
    assert!(
        refs.contains(&vec![
            "signals".to_string(),
            "table".to_string(),
            "x".to_string()
        ]),
        "{refs:?}"
    );
    assert!(!edges().is_empty());
}
