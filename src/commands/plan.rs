//! `liftoff plan [COMMAND...]`: resolves the command exactly as it would run, and prints
//! the plan, running nothing.

use std::ffi::OsString;

use super::{Next, request, resolve, usage};
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
    let request = match request(outer, inner.command, env)? {
        Next::Run(request) => request,
        Next::Done(code) => return Ok(code),
    };
    let plan = resolve(&request)?;
    match format {
        PlanFormat::Text => crate::output::out(&plan.to_text(reveal)),
        PlanFormat::Json => crate::output::out(&format!("{}\n", plan.to_json(reveal))),
    }
    Ok(0)
}

/// Takes plan's own `--format` and `--show-env` out of the command words, where the
/// usage line shows them (`liftoff plan prod --format json`): after `prod`, `dev` or a
/// profile, before `--`. After a program word every word is the program's.
fn own_flags(
    global: &GlobalArgs,
    env: &[(OsString, OsString)],
    words: Vec<OsString>,
    mut format: PlanFormat,
    mut reveal: bool,
) -> anyhow::Result<(Vec<OsString>, PlanFormat, bool)> {
    let first = words
        .first()
        .and_then(|w| w.to_str())
        .unwrap_or_default()
        .to_string();
    let profile = BUILTIN_PROFILES.contains(&first.as_str())
        || (!first.is_empty() && !first.starts_with('-') && {
            let (layers, _) = Layers::load(global.config.as_deref(), env.to_vec())?;
            layers.is_profile(&first)
        });
    if !profile {
        return Ok((words, format, reveal));
    }
    let mut kept = Vec::new();
    let mut rest = words.into_iter();
    while let Some(word) = rest.next() {
        let text = word.to_str().unwrap_or_default();
        if text == "--show-env" {
            reveal = true;
            continue;
        }
        let value = match text.strip_prefix("--format") {
            Some("") => rest.next(),
            Some(v) if v.starts_with('=') => Some(OsString::from(&v[1..])),
            _ if text == "--" => {
                kept.push(word);
                kept.extend(rest);
                break;
            }
            _ => {
                kept.push(word);
                continue;
            }
        };
        let value = value.unwrap_or_default();
        format = match value.to_str() {
            Some("text") => PlanFormat::Text,
            Some("json") => PlanFormat::Json,
            _ => {
                return Err(Failure::Usage(format!(
                    "invalid value '{}' for '--format <FORMAT>'; possible values: text, json",
                    value.to_string_lossy().escape_debug()
                ))
                .into());
            }
        };
    }
    Ok((kept, format, reveal))
}
