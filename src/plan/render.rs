//! Printing a plan: aligned text for people, one JSON object for scripts, and the one
//! line logged at start. Secret-looking values are masked in all of them (`env.rs`).

use std::ffi::OsString;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::env::{mask, mask_words};
use super::keys::Settings;
use super::servers::Engine;
use super::values::{Dur, Mode};
use super::{Plan, servers};

/// Quotes an argv for a shell, for people to read (never executed).
pub fn shell_quote(argv: &[OsString]) -> String {
    shell_words::join(lossy_words(argv))
}

/// Milliseconds for JSON.
fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `1 worker`, `5 workers`.
fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The start line: `prod: /venv/bin/gunicorn on 0.0.0.0:8000, 5 workers (...), mode
/// exec (...), stop timeout 28s`.
pub fn summary(plan: &Plan, s: &Settings) -> String {
    let name = plan.profile.clone().unwrap_or_else(|| "program".into());
    let mut line = format!("{name}: {}", plan.spec.program.display());
    let on_off = |b: Option<bool>| if b == Some(true) { "on" } else { "off" };
    let _ = match s.port.and_then(|p| p.number()) {
        Some(port) if plan.engine != Engine::Command => {
            write!(
                line,
                " on {}",
                servers::bind(s.host.as_ref().map_or("", |h| h.0.as_str()), port)
            )
        }
        _ => Ok(()),
    };
    if let (Some(w), true) = (
        &plan.workers,
        matches!(
            plan.engine,
            Engine::Gunicorn | Engine::Uvicorn | Engine::Granian
        ),
    ) {
        let _ = write!(line, ", {} ({})", plural(w.count, "worker"), w.why);
    }
    let _ = match plan.engine {
        Engine::Gunicorn => {
            let timeout = s
                .timeout
                .map_or("30s (gunicorn default)".into(), |d| d.to_string());
            write!(
                line,
                ", {}, worker timeout {timeout}, graceful timeout {}",
                plural(s.threads.map_or(1, |t| t.0), "thread"),
                s.graceful_timeout
                    .map_or_else(String::new, |d| d.to_string()),
            )
        }
        Engine::Uvicorn | Engine::Granian => write!(
            line,
            ", reload {}, graceful timeout {}",
            on_off(s.reload),
            s.graceful_timeout
                .map_or_else(String::new, |d| d.to_string())
        ),
        Engine::Flask => {
            let debug = s.debug.map_or("the app's", |d| on_off(Some(d)));
            write!(line, ", reload {}, debug {debug}", on_off(s.reload))
        }
        Engine::Runserver => write!(line, ", reload {}", on_off(s.reload)),
        Engine::Command => Ok(()),
    };
    let _ = write!(
        line,
        ", mode {} ({}), stop timeout {}",
        plan.mode,
        plan.mode_reason,
        Dur(plan.spec.stop.stop_timeout)
    );
    if !plan.spec.stop.drain_delay.is_zero() {
        let _ = write!(line, ", drain delay {}", Dur(plan.spec.stop.drain_delay));
    }
    if let Some(user) = &plan.user {
        let _ = write!(line, ", as {}", user.describe());
    }
    line
}

impl Plan {
    /// The variables liftoff adds or changes, values masked unless `reveal`.
    fn shown_env(&self, reveal: bool) -> impl Iterator<Item = (&str, String)> {
        self.changes
            .iter()
            .map(move |(k, v)| (k.as_str(), mask(k, v, reveal)))
    }

    /// Whether the signal handling rows apply: only something supervised (the program in
    /// supervise mode, or `before` steps) is stopped by liftoff.
    fn supervises(&self) -> bool {
        self.mode == Mode::Supervise || !self.before.is_empty()
    }

    /// The plan as aligned text for people; secrets masked unless `reveal` (`--show-env`).
    pub fn to_text(&self, reveal: bool) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            (
                "profile",
                self.profile.clone().map_or("none (a program)".into(), |p| {
                    format!("{p} ({})", self.server)
                }),
            ),
            ("mode", format!("{} ({})", self.mode, self.mode_reason)),
            ("program", self.spec.program.display().to_string()),
            ("argv", shown_argv(&self.spec.argv, reveal)),
            ("cwd", self.spec.cwd.display().to_string()),
        ];
        let env: Vec<String> = self
            .shown_env(reveal)
            .map(|(k, v)| format!("{k}={}", shell_words::quote(&v)))
            .collect();
        rows.push(("env", joined(&env, " ", "(unchanged)")));
        if self.supervises() {
            self.stop_rows(&mut rows);
        }
        self.entrypoint_rows(&mut rows, reveal);
        if let Some(w) = &self.workers {
            rows.push(("workers", format!("{} ({})", w.count, w.why)));
        }
        for warning in &self.warnings {
            rows.push(("warning", warning.clone()));
        }
        rows.iter()
            .map(|(k, v)| format!("{:<14} {v}\n", format!("{k}:")))
            .collect()
    }

    /// The rows of how liftoff forwards signals and stops what it supervises; in exec
    /// mode they are marked as applying to the `before` steps only.
    fn stop_rows(&self, rows: &mut Vec<(&str, String)>) {
        let stop = &self.spec.stop;
        let only = if self.mode == Mode::Exec {
            " (before steps only: exec mode)"
        } else {
            ""
        };
        rows.push(("signal target", format!("{}{only}", stop.target)));
        let rewrites: Vec<String> = stop
            .table
            .iter()
            .map(|(from, to)| format!("{from} -> {to}"))
            .collect();
        rows.push(("signals", joined(&rewrites, ", ", "forwarded as is")));
        rows.push(("stop timeout", format!("{}{only}", Dur(stop.stop_timeout))));
        if !stop.success_codes.is_empty() {
            let codes: Vec<String> = stop.success_codes.iter().map(i32::to_string).collect();
            rows.push(("success codes", codes.join(", ")));
        }
    }

    /// The rows of the entrypoint settings that are set.
    fn entrypoint_rows(&self, rows: &mut Vec<(&str, String)>, reveal: bool) {
        if !self.spec.stop.drain_delay.is_zero() {
            rows.push(("drain delay", Dur(self.spec.stop.drain_delay).to_string()));
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
            let targets: Vec<String> = self
                .wait_for
                .iter()
                .map(|u| shown_word(&u.text, reveal))
                .collect();
            rows.push((
                "wait for",
                format!("{} (up to {})", targets.join(", "), Dur(self.wait_timeout)),
            ));
        }
        for step in &self.before {
            rows.push(("before", shown_argv(&step.argv, reveal)));
        }
    }

    /// The plan as one JSON object; secrets masked unless `reveal` (`--show-env`).
    pub fn to_json(&self, reveal: bool) -> String {
        let stop = &self.spec.stop;
        let lossy = |argv: &[OsString]| -> Vec<String> { mask_words(&lossy_words(argv), reveal) };
        let signals: serde_json::Map<String, Value> = stop
            .table
            .iter()
            .map(|(from, to)| (from.to_string(), to.to_string().into()))
            .collect();
        let env: serde_json::Map<String, Value> = self
            .shown_env(reveal)
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        let doc = json!({
            "profile": self.profile,
            "server": self.server.to_string(),
            "mode": self.mode.to_string(),
            "mode_reason": self.mode_reason,
            "program": self.spec.program.display().to_string(),
            "argv": lossy(&self.spec.argv),
            "cwd": self.spec.cwd.display().to_string(),
            "env": env,
            "signal_target": stop.target.to_string(),
            "signals": signals,
            "stop_timeout_ms": millis(stop.stop_timeout),
            "success_codes": stop.success_codes,
            "drain_delay_ms": millis(stop.drain_delay),
            "wait_for": self.wait_for.iter().map(|u| shown_word(&u.text, reveal)).collect::<Vec<_>>(),
            "wait_timeout_ms": millis(self.wait_timeout),
            "before": self.before.iter().map(|b| json!({
                "program": b.program.display().to_string(),
                "argv": lossy(&b.argv),
            })).collect::<Vec<_>>(),
            "user": self.user.as_ref().map(|u| json!({
                "name": u.name, "uid": u.uid, "gid": u.gid, "groups": u.groups,
                "home": u.home.display().to_string(),
            })),
            "env_file": self.env_file.as_ref().map(|p| p.display().to_string()),
            "workers": self.workers.as_ref().map(|w| w.count),
            "cpus": self.workers.as_ref().map(|w| w.cpus),
            "workers_reason": self.workers.as_ref().map(|w| w.why.clone()),
            "log_level": self.log_level.to_string(),
            "log_format": self.log_format.to_string(),
            "summary": self.summary,
            "warnings": self.warnings,
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// `items` joined with `sep`, or `none` when there are none.
fn joined(items: &[String], sep: &str, none: &str) -> String {
    if items.is_empty() {
        none.into()
    } else {
        items.join(sep)
    }
}

/// An argv's words as strings (lossy: for showing only).
fn lossy_words(argv: &[OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// An argv as people read it, quoted for a shell, secrets masked unless `reveal`.
fn shown_argv(argv: &[OsString], reveal: bool) -> String {
    shell_words::join(mask_words(&lossy_words(argv), reveal))
}

/// One word (a `wait_for` target) with its secrets masked unless `reveal`.
fn shown_word(word: &str, reveal: bool) -> String {
    mask_words(&[word.to_string()], reveal).remove(0)
}
