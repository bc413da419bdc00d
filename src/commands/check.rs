//! `liftoff check`: every problem the image would meet, in one run (for `RUN liftoff
//! check`): each profile the image can run, resolved as it would start. Exit 0, or 78.

use std::collections::BTreeMap;
use std::ffi::OsString;

use super::load;
use crate::cli::GlobalArgs;
use crate::exit;
use crate::plan::Target;
use crate::plan::keys::KeyValues;

/// Checks everything; prints `ok:` lines to stdout, problems and warnings to stderr.
pub fn run(global: &GlobalArgs, env: Vec<(OsString, OsString)>) -> anyhow::Result<i32> {
    // Only --config applies: flags are not what the image runs.
    let (layers, problems) = load(
        global.config.as_deref(),
        env,
        &KeyValues::default(),
        &GlobalArgs::default(),
    )?;
    let mut report = Report::default();
    if layers.file.is_none() {
        report.problem(
            "no config file: looked for --config, LIFTOFF_CONFIG and ./liftoff.toml".into(),
            None,
        );
    }
    for problem in &problems {
        report.problem(problem.message.clone(), None);
    }
    for profile in layers.all_profiles() {
        if problems.iter().any(|p| p.blocks(&profile)) {
            continue;
        }
        let in_file = layers.file_table(&profile).is_some();
        match crate::plan::resolve(&layers, &Target::Profile(profile.clone()), &[]) {
            Ok(plan) => {
                crate::output::out(&format!("ok: {profile}: {}\n", plan.spec.program.display()));
                for warning in &plan.warnings {
                    report.warnings.push(format!("[{profile}]: {warning}"));
                }
            }
            // A built-in profile the file never mentions, whose server is not installed,
            // is not one the image is meant to run.
            Err(_) if !in_file && !crate::plan::installed(&layers, &profile) => {
                crate::output::out(&format!(
                    "skipped: {profile}: its server is not installed, and the config file has no [{profile}]\n"
                ));
            }
            Err(err) => {
                for line in exit::lines(&err) {
                    report.problem(line, Some(&profile));
                }
            }
        }
    }
    Ok(report.print())
}

/// What `check` found: problems (each with the profiles it blocks) and warnings.
#[derive(Default)]
struct Report {
    /// Problem line → the profiles it was found for (none: it is not about one).
    problems: BTreeMap<String, Vec<String>>,
    order: Vec<String>,
    warnings: Vec<String>,
}

impl Report {
    /// Records `line`, found for `profile`; a line found for several is listed once.
    fn problem(&mut self, line: String, profile: Option<&str>) {
        if !self.problems.contains_key(&line) {
            self.order.push(line.clone());
        }
        let profiles = self.problems.entry(line).or_default();
        profiles.extend(profile.map(String::from));
    }

    /// Prints the warnings and problems and returns the exit code.
    fn print(self) -> i32 {
        for warning in &self.warnings {
            crate::output::err(&format!("liftoff: warning: {warning}"));
        }
        for line in &self.order {
            let scope = match self.problems[line].join(", ") {
                names if names.is_empty() => names,
                names => format!("[{names}]: "),
            };
            crate::output::err(&format!("liftoff: error: {scope}{line}"));
        }
        match self.order.len() {
            0 => 0,
            n => {
                let noun = if n == 1 { "problem" } else { "problems" };
                crate::output::err(&format!("liftoff: error: {n} {noun} found"));
                exit::CONFIG
            }
        }
    }
}
