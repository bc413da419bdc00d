//! The command line as the highest configuration layer.

use super::*;

/// Turns the flags into the highest configuration layer.
pub fn flag_layer(
    global: &GlobalArgs,
    server: &ServerArgs,
) -> anyhow::Result<crate::config::FlagLayer> {
    let mut flags = crate::config::FlagLayer::default();
    let strings = [
        ("mode", "--mode", &global.mode),
        ("stop_timeout", "--stop-timeout", &global.stop_timeout),
        ("drain_delay", "--drain-delay", &global.drain_delay),
        ("wait_timeout", "--wait-timeout", &global.wait_timeout),
        ("user", "--user", &global.user),
        ("signal_target", "--signal-target", &global.signal_target),
        ("log_level", "--log-level", &global.log_level),
        ("log_format", "--log-format", &global.log_format),
        ("host", "--host", &server.host),
        ("app", "--app", &server.app),
        ("workers", "--workers", &server.workers),
    ];
    for (key, flag, value) in strings {
        if let Some(value) = value {
            flags.set(key, flag, value.as_str());
        }
    }
    if let Some(dir) = &global.chdir {
        flags.set("chdir", "--chdir", dir.to_string_lossy().as_ref());
    }
    if let Some(file) = &global.env_file {
        flags.set("env_file", "--env-file", file.to_string_lossy().as_ref());
    }
    if !global.wait_for.is_empty() {
        flags.set("wait_for", "--wait-for", global.wait_for.clone());
    }
    if !global.before.is_empty() {
        flags.set("before", "--before", before_steps(&global.before)?);
    }
    if let Some(port) = server.port {
        flags.set("port", "--port", port);
    }
    if let Some(threads) = server.threads {
        flags.set("threads", "--threads", threads);
    }
    if let Some(reload) = server.reload() {
        flags.set("reload", "--reload/--no-reload", reload);
    }
    if let Some(debug) = server.debug() {
        flags.set("debug", "--debug/--no-debug", debug);
    }
    if !global.success_code.is_empty() {
        flags.set(
            "success_codes",
            "--success-code",
            global.success_code.clone(),
        );
    }
    for map in &global.signal_map {
        let Some((from, to)) = map.split_once('=') else {
            return Err(Failure::Usage(format!(
                "--signal-map `{map}`: expected FROM=TO, e.g. --signal-map QUIT=TERM or --signal-map HUP=ignore"
            ))
            .into());
        };
        flags.set_entry("signals", from.trim(), "--signal-map", to.trim());
    }
    let level = match global.verbose as i32 - global.quiet as i32 {
        0 => None,
        1 => Some("debug"),
        n if n >= 2 => Some("trace"),
        -1 => Some("warn"),
        _ => Some("error"),
    };
    if let Some(level) = level {
        flags.set(
            "log_level",
            if global.verbose > 0 { "-v" } else { "-q" },
            level,
        );
    }
    Ok(flags)
}

/// `--before` values split into words as a shell would, but never run by one.
pub(super) fn before_steps(commands: &[String]) -> Result<Vec<Vec<String>>, Failure> {
    commands
        .iter()
        .map(|command| match shell_words::split(command) {
            Ok(words) if !words.is_empty() => Ok(words),
            Ok(_) => Err(Failure::Usage("--before: the command is empty".into())),
            Err(e) => Err(Failure::Usage(format!(
                "--before `{command}`: {e}; quote it as in a shell, e.g. --before 'flask db upgrade'"
            ))),
        })
        .collect()
}
