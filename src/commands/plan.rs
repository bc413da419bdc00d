//! `liftoff plan [COMMAND...]`: resolves the command as it would run and prints the plan.

use std::ffi::OsString;

use clap::ValueEnum;

use super::{request, resolve, usage};
use crate::cli::{self, Command, GlobalArgs, PlanArgs, PlanFormat};
use crate::exit::Failure;
use crate::plan::layers::{BUILTIN_PROFILES, Layers};

/// Prints the plan of `args.command` (default: prod).
pub fn run(
    global: &GlobalArgs,
    env: Vec<(OsString, OsString)>,
    args: PlanArgs,
) -> anyhow::Result<i32> {
    let (words, format, reveal) =
        own_flags(global, &env, args.command, args.format, args.show_env)?;
    let inner = cli::parse(std::iter::once(OsString::from("liftoff")).chain(words))
        .map_err(|e| usage(&e))?;
    let runs_nothing = match &inner.command {
        Some(Command::Plan(_) | Command::Config(_) | Command::Check(_) | Command::Health(_)) => {
            true
        }
        Some(Command::Word(words)) => words[0] == "help",
        _ => false,
    };
    if runs_nothing {
        return Err(Failure::Usage(
            "plan takes a command that runs something: prod, dev, a profile, or a program".into(),
        )
        .into());
    }
    let mut outer = global.clone();
    outer.overlay(inner.globals());
    let Some(request) = request(outer, inner.command, env)? else {
        return Ok(0);
    };
    let plan = resolve(&request)?;
    match format {
        PlanFormat::Text => crate::output::out(&plan.to_text(reveal)),
        PlanFormat::Json => crate::output::out(&format!("{}\n", plan.to_json(reveal))),
    }
    Ok(0)
}

/// Takes plan's own `--format` and `--show-env` out of the words after `prod`, `dev` or a
/// profile, before `--` (`liftoff plan prod --format json`); a program's words stay.
fn own_flags(
    global: &GlobalArgs,
    env: &[(OsString, OsString)],
    words: Vec<OsString>,
    mut format: PlanFormat,
    mut reveal: bool,
) -> anyhow::Result<(Vec<OsString>, PlanFormat, bool)> {
    let first = words.first().and_then(|w| w.to_str()).unwrap_or_default();
    let profile = BUILTIN_PROFILES.contains(&first)
        || (!first.is_empty() && !first.starts_with('-') && {
            let (layers, _) = Layers::load(global.config.as_deref(), env.to_vec())?;
            layers.is_profile(first)
        });
    if !profile {
        return Ok((words, format, reveal));
    }
    let mut kept = Vec::new();
    let mut rest = words.into_iter();
    while let Some(word) = rest.next() {
        let value = match word.to_str().unwrap_or_default() {
            "--" => {
                kept.push(word);
                kept.extend(rest);
                break;
            }
            "--show-env" => {
                reveal = true;
                continue;
            }
            "--format" => rest.next().unwrap_or_default(),
            text if text.starts_with("--format=") => text["--format=".len()..].into(),
            _ => {
                kept.push(word);
                continue;
            }
        };
        format = PlanFormat::from_str(&value.to_string_lossy(), false).map_err(|_| {
            Failure::Usage(format!(
                "invalid value '{}' for '--format <FORMAT>'; possible values: text, json",
                value.to_string_lossy().escape_debug()
            ))
        })?;
    }
    Ok((kept, format, reveal))
}
