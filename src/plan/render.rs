//! Printing a plan: aligned text for people, one JSON object for scripts.

use super::*;

/// Serializes argv as (lossy) strings.
pub(super) fn lossy_strings<S: serde::Serializer>(
    argv: &[OsString],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(argv.iter().map(|a| a.to_string_lossy()))
}

/// Serializes the rewrite table as `{"SIGQUIT": "SIGTERM", "SIGHUP": "ignore"}`.
pub(super) fn table_strings<S: serde::Serializer>(
    table: &SignalTable,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(
        table
            .iter()
            .map(|(from, to)| (from.to_string(), to.to_string())),
    )
}

/// Serializes a duration as whole milliseconds.
pub(super) fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Quotes an argv for a shell, for people to read (never executed).
pub fn shell_quote(argv: &[OsString]) -> String {
    let words: Vec<String> = argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    shell_words::join(words)
}

impl Plan {
    /// The plan as aligned text for people.
    pub fn to_text(&self) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            (
                "profile",
                self.profile.clone().map_or("none (a program)".into(), |p| {
                    format!("{p} ({})", self.server)
                }),
            ),
            ("mode", format!("{} ({})", self.mode, self.mode_reason)),
            ("program", self.program.display().to_string()),
            ("argv", shell_quote(&self.argv)),
            ("cwd", self.cwd.display().to_string()),
        ];
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={}", shell_words::quote(v)))
            .collect();
        rows.push((
            "env",
            if env.is_empty() {
                "(unchanged)".into()
            } else {
                env.join(" ")
            },
        ));
        rows.push(("signal target", self.signal_target.to_string()));
        let rewrites: Vec<String> = self
            .signals
            .iter()
            .map(|(from, to)| format!("{from} -> {to}"))
            .collect();
        rows.push((
            "signals",
            if rewrites.is_empty() {
                "forwarded as is".into()
            } else {
                rewrites.join(", ")
            },
        ));
        rows.push((
            "stop timeout",
            crate::settings::Dur(self.stop_timeout).to_string(),
        ));
        if !self.success_codes.is_empty() {
            let codes: Vec<String> = self.success_codes.iter().map(i32::to_string).collect();
            rows.push(("success codes", codes.join(", ")));
        }
        self.entrypoint_rows(&mut rows);
        if let (Some(workers), Some(why)) = (self.workers, &self.workers_reason) {
            rows.push(("workers", format!("{workers} ({why})")));
        }
        for warning in &self.warnings {
            rows.push(("warning", warning.clone()));
        }
        rows.iter()
            .map(|(k, v)| format!("{:<14} {v}\n", format!("{k}:")))
            .collect()
    }

    /// The rows of the entrypoint settings that are set.
    fn entrypoint_rows(&self, rows: &mut Vec<(&str, String)>) {
        if !self.drain_delay.is_zero() {
            rows.push(("drain delay", Dur(self.drain_delay).to_string()));
        }
        if let Some(path) = &self.env_file {
            rows.push(("env file", path.display().to_string()));
        }
        if let Some(user) = &self.user {
            rows.push((
                "user",
                format!("{}, HOME={}", user.describe(), user.home.display()),
            ));
        }
        if !self.wait_for.is_empty() {
            let targets: Vec<String> = self.wait_for.iter().map(ToString::to_string).collect();
            rows.push((
                "wait for",
                format!("{} (up to {})", targets.join(", "), Dur(self.wait_timeout)),
            ));
        }
        for step in &self.before {
            rows.push(("before", step.shown()));
        }
    }

    /// The plan as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The program's environment as `std::process::Command` wants it.
    pub fn env_pairs(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.full_env
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}
