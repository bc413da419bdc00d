//! The commands: parse the command line, then run, print, explain, check or probe (one
//! file per command under `commands/`); what they share is here.

mod check;
mod config;
mod health;
mod plan;
mod start;

use std::ffi::OsString;
use std::path::Path;

use crate::cli::{self, Command, GlobalArgs};
use crate::exit::Failure;
use crate::plan::keys::KeyValues;
use crate::plan::layers::{Layers, Problem, flag_settings};
use crate::plan::{Target, problems_failure};
use crate::signals::Inherited;

/// Parses the command line and carries out the command; returns liftoff's exit code.
pub fn run(args: Vec<OsString>, inherited: Inherited) -> anyhow::Result<i32> {
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(outcome) => return outcome,
    };
    let global = cli.globals();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    match cli.command {
        Some(Command::Check(_)) => check::run(&global, env),
        Some(Command::Plan(args)) => plan::run(&global, env, args),
        Some(Command::Config(args)) => config::run(&global, env, &args),
        Some(Command::Health(args)) => health::run(&global, env, &args),
        command => match request(global, command, env)? {
            Some(request) => start::run(&request, inherited),
            None => Ok(0),
        },
    }
}

/// Parses the command line; `Err` holds the outcome when parsing decides it already (help
/// or the version printed, a usage error).
fn parse(args: Vec<OsString>) -> Result<cli::Cli, anyhow::Result<i32>> {
    let cli = cli::parse(args).map_err(clap_outcome)?;
    if let Some(Command::Word(words)) = &cli.command
        && words[0] == "help"
    {
        // `help` is reserved (no profile can take the name); it prints the help.
        return Err(clap_outcome(
            cli::parse(["liftoff", "--help"]).expect_err("--help"),
        ));
    }
    Ok(cli)
}

/// `plan`, `config` or `check` as [`run`] carries them out, with `env` as the process's
/// environment; `None` when the command line names another command. For the fuzz
/// harness, which must reach all these commands do and never start anything.
#[cfg(test)]
pub fn run_printing(
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
) -> Option<anyhow::Result<i32>> {
    let cli = match parse(args) {
        Ok(cli) => cli,
        Err(outcome) => return Some(outcome),
    };
    let global = cli.globals();
    Some(match cli.command {
        Some(Command::Check(_)) => check::run(&global, env),
        Some(Command::Plan(args)) => plan::run(&global, env, args),
        Some(Command::Config(args)) => config::run(&global, env, &args),
        _ => return None,
    })
}

/// What to run: the target, the layers it resolves against, and `-- EXTRA`.
pub struct Request {
    pub target: Target,
    pub layers: Layers,
    /// Arguments after `--`, appended to a profile's argv.
    pub extra: Vec<OsString>,
}

/// Help and version print and succeed; anything else clap rejects is a usage error.
fn clap_outcome(err: clap::Error) -> anyhow::Result<i32> {
    if err.use_stderr() {
        Err(usage(&err).into())
    } else {
        crate::output::out(&err.render().to_string());
        Ok(0)
    }
}

/// Loads the config file, the environment's configuration and `flags`, with every problem.
fn load(
    config: Option<&Path>,
    env: Vec<(OsString, OsString)>,
    flags: &KeyValues,
    global: &GlobalArgs,
) -> anyhow::Result<(Layers, Vec<Problem>)> {
    let (mut layers, mut problems) = Layers::load(config, env)?;
    let (settings, flag_problems) = flag_settings(flags, global.verbose, global.quiet);
    layers.set_flags(settings);
    problems.extend(flag_problems);
    Ok((layers, problems))
}

/// Fails with every problem, one per line, when there is any.
fn strict((layers, problems): (Layers, Vec<Problem>)) -> anyhow::Result<Layers> {
    if problems.is_empty() {
        Ok(layers)
    } else {
        Err(problems_failure(problems.into_iter().map(|p| p.message)).into())
    }
}

/// Turns a parsed command into a request (`None`: a profile's help was printed); every
/// problem in the layers is an error here.
fn request(
    mut global: GlobalArgs,
    command: Option<Command>,
    env: Vec<(OsString, OsString)>,
) -> anyhow::Result<Option<Request>> {
    let Some((target, keys, extra)) = target(&mut global, command, &env)? else {
        return Ok(None);
    };
    let mut flags = global.keys.0.clone();
    flags.overlay(keys);
    let layers = strict(load(global.config.as_deref(), env, &flags, &global)?)?;
    if let Target::Profile(name) = &target
        && !layers.is_profile(name)
    {
        return Err(Failure::Config(format!(
            "profile [{name}] is not in the config file given after it"
        ))
        .into());
    }
    Ok(Some(Request {
        target,
        layers,
        extra,
    }))
}

/// What the command asks to run, the `prod`/`dev` flags and `-- EXTRA` (`None`: a
/// profile's `--help` was printed); a bare word is a profile, else a program.
fn target(
    global: &mut GlobalArgs,
    command: Option<Command>,
    env: &[(OsString, OsString)],
) -> anyhow::Result<Option<(Target, KeyValues, Vec<OsString>)>> {
    let profile = |name: &str| Target::Profile(name.into());
    Ok(Some(match command {
        None => (profile("prod"), KeyValues::default(), Vec::new()),
        Some(Command::Prod(args)) => (profile("prod"), args.server.keys.0, args.server.extra),
        Some(Command::Dev(args)) => (profile("dev"), args.server.keys.0, args.server.extra),
        Some(Command::Run(args)) => {
            let first = args.argv[0].to_string_lossy();
            if first.starts_with('-') {
                return Err(Failure::Usage(format!(
                    "run: `{}` is not a program; give liftoff's flags before `--` and the program after it, e.g. liftoff run --mode supervise -- sh -c 'echo hi'",
                    first.escape_debug()
                ))
                .into());
            }
            (Target::Program(args.argv), KeyValues::default(), Vec::new())
        }
        Some(Command::Word(words)) => {
            let (layers, _) = Layers::load(global.config.as_deref(), env.to_vec())?;
            let name = match words[0].to_str() {
                Some(name) if layers.is_profile(name) => name.to_string(),
                _ => {
                    return Ok(Some((
                        Target::Program(words),
                        KeyValues::default(),
                        Vec::new(),
                    )));
                }
            };
            let args = match cli::parse_profile_args(&name, &words[1..]) {
                Ok(args) => args,
                Err(err) => return clap_outcome(err).map(|_| None),
            };
            global.overlay(args.global);
            (profile(&name), KeyValues::default(), args.extra)
        }
        Some(other) => unreachable!("{other:?} is handled before"),
    }))
}

/// A clap error as a usage failure, on one line.
fn usage(err: &clap::Error) -> Failure {
    Failure::Usage(one_line(&err.render().to_string()))
}

/// clap's multi-line error (message, tip, usage) on one line.
fn one_line(rendered: &str) -> String {
    let parts: Vec<String> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = line.strip_prefix("error: ").unwrap_or(line);
            let line = line.strip_prefix("tip: ").unwrap_or(line);
            let line = line
                .strip_prefix("Usage: ")
                .map_or(line.to_string(), |u| format!("usage: {u}"));
            line.replace("For more information, try", "try")
                .trim_end_matches('.')
                .to_string()
        })
        .collect();
    parts.join("; ")
}

/// Resolves the request; a program word not found gets a hint when it is near a profile.
fn resolve(request: &Request) -> anyhow::Result<crate::plan::Plan> {
    crate::plan::resolve(&request.layers, &request.target, &request.extra).map_err(|err| {
        match (&request.target, err.downcast_ref::<Failure>()) {
            (Target::Program(_), Some(Failure::ProgramNotFound { word, message })) => {
                let hint = profile_hint(&request.layers, word);
                Failure::NotFound(format!("{message}{hint}")).into()
            }
            _ => err,
        }
    })
}

/// What to say when a program word is not found: it may be, or be close to, a profile.
fn profile_hint(layers: &Layers, word: &str) -> String {
    if layers.is_profile(word) {
        return format!("; `{word}` is a profile: run it as `liftoff {word}`");
    }
    let profiles = layers.all_profiles();
    match crate::plan::layers::closest(word, profiles.iter().map(String::as_str)) {
        Some(profile) => format!("; did you mean the profile `{profile}`?"),
        None => "; it is not a profile either".into(),
    }
}
