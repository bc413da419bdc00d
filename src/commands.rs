//! What each command does: classify the command word, resolve, then run, print or check.

use std::ffi::OsString;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::SigSet;

use crate::cli::{self, Command, GlobalArgs, PlanFormat, ServerArgs};
use crate::config::{Layers, suggest};
use crate::exit::{self, Failure};
use crate::plan::{self, Plan, Request, Target};
use crate::settings::{Dur, Mode};
use crate::wait::Outcome;

/// Parses the command line and carries out the command; returns liftoff's exit code.
pub fn run(args: Vec<OsString>, inherited_mask: &SigSet) -> anyhow::Result<i32> {
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(err) => return clap_outcome(err),
    };
    if let Some(Command::Word(words)) = &cli.command
        && words[0] == "help"
    {
        // `help` is reserved (no profile can take the name); it prints the help.
        return clap_outcome(cli::parse(["liftoff", "--help"]).expect_err("--help"));
    }
    let global = cli.globals();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    if let Some(Command::Check(_)) = cli.command {
        return check(&global, env);
    }
    let layers = Layers::load(global.config.as_deref(), env)?;
    match cli.command {
        Some(Command::Plan(args)) => print_plan(&layers, &global, args.command, args.format),
        Some(Command::Config(args)) => crate::explain::run(&layers, &global, &args),
        Some(Command::Health(args)) => health(&layers, &args),
        command => {
            let (layers, request) = request(layers, global, command)?;
            start(&layers, &request, inherited_mask)
        }
    }
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

/// Turns a parsed command into a request, classifying a bare word as profile or program.
///
/// Returns the layers too, since `--config` after a profile word selects another file.
fn request(
    layers: Layers,
    global: GlobalArgs,
    command: Option<Command>,
) -> anyhow::Result<(Layers, Request)> {
    let profile = |name: &str, server: ServerArgs| Request {
        target: Target::Profile(name.into()),
        global: global.clone(),
        server,
    };
    let request = match command {
        None => profile("prod", ServerArgs::default()),
        Some(Command::Prod(args)) => profile("prod", args.server),
        Some(Command::Dev(args)) => profile("dev", args.server),
        Some(Command::Run(args)) => {
            let first = args.argv[0].to_string_lossy();
            if first.starts_with('-') {
                return Err(Failure::Usage(format!(
                    "run: `{first}` is not a program; give liftoff's flags before `--` and the program after it, e.g. liftoff run --mode supervise -- sh -c 'echo hi'"
                ))
                .into());
            }
            Request {
                target: Target::Program(args.argv),
                global,
                server: ServerArgs::default(),
            }
        }
        Some(Command::Word(words)) => return word(layers, global, words),
        Some(other) => unreachable!("{other:?} is handled before"),
    };
    Ok((layers, request))
}

/// A word that is a profile of the config file runs it; any other word is a program.
fn word(
    layers: Layers,
    mut global: GlobalArgs,
    words: Vec<OsString>,
) -> anyhow::Result<(Layers, Request)> {
    let name = words[0].to_string_lossy().into_owned();
    if !layers.is_profile(&name) {
        let request = Request {
            target: Target::Program(words),
            global,
            server: ServerArgs::default(),
        };
        return Ok((layers, request));
    }
    let args = cli::parse_profile_args(&name, &words[1..]).map_err(|e| usage(&e))?;
    let layers = match &args.global.config {
        Some(file) if Some(file) != global.config.as_ref() => Layers::load(Some(file), layers.env)?,
        _ => layers,
    };
    if !layers.is_profile(&name) {
        return Err(Failure::Config(format!(
            "profile [{name}] is not in the config file given after it"
        ))
        .into());
    }
    global.overlay(args.global);
    let server = ServerArgs {
        extra: args.extra,
        ..ServerArgs::default()
    };
    Ok((
        layers,
        Request {
            target: Target::Profile(name),
            global,
            server,
        },
    ))
}

/// A clap error as a usage failure (for the second parse, of a profile's flags).
fn usage(err: &clap::Error) -> Failure {
    Failure::Usage(one_line(&err.render().to_string()))
}

/// clap's multi-line error (message, tip, usage, where to look) on one line.
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

/// Resolves the plan, logs it, waits for the dependencies, runs the `before` steps, and
/// execs or supervises the program.
fn start(layers: &Layers, request: &Request, inherited_mask: &SigSet) -> anyhow::Result<i32> {
    let plan = resolve(layers, request)?;
    check_user(&plan)?;
    if logs_anything(&plan) {
        crate::logging::init(plan.log_level, plan.log_format);
    }
    for warning in &plan.warnings {
        tracing::warn!("{warning}");
    }
    if plan.profile.is_some() {
        tracing::info!("{}", plan.summary);
    } else {
        tracing::debug!("{}", plan.summary);
    }
    if let Outcome::Signaled(signal) =
        crate::wait::wait(&plan.wait_for, plan.wait_timeout, &plan.signals)?
    {
        tracing::info!(
            "received {} while waiting for dependencies; not starting",
            signal_name(signal)
        );
        return Ok(128 + signal);
    }
    if let Some(code) = run_before(&plan, inherited_mask)? {
        return Ok(code);
    }
    match plan.mode {
        Mode::Supervise => crate::supervise::run(&spec(&plan), inherited_mask),
        _ => crate::exec::exec(&plan, inherited_mask),
    }
}

/// Fails with 78, before anything runs, when liftoff cannot become the plan's user.
fn check_user(plan: &Plan) -> anyhow::Result<()> {
    if let Some(user) = &plan.user {
        crate::user::switch(user, nix::unistd::geteuid().as_raw())
            .map_err(|e| Failure::Config(format!("user (from {}): {e}", plan.user_source)))?;
    }
    Ok(())
}

/// Runs the `before` steps in order, each supervised like the server; returns the exit
/// code to stop with when one fails, or `None` when all succeeded.
fn run_before(plan: &Plan, inherited_mask: &SigSet) -> anyhow::Result<Option<i32>> {
    let count = plan.before.len();
    for (i, step) in plan.before.iter().enumerate() {
        let n = i + 1;
        tracing::info!("before step {n}/{count}: {}", step.shown());
        // Each step gets the profile's signal handling (issue 6): its rewrite table,
        // target and stop timeout; only the server's drain delay and success codes
        // are the server's alone.
        let spec = crate::supervise::Spec {
            program: step.program.clone(),
            argv: step.argv.clone(),
            success_codes: Vec::new(),
            drain_delay: Duration::ZERO,
            ..spec(plan)
        };
        let outcome = crate::supervise::run_outcome(&spec, inherited_mask)
            .with_context(|| format!("failed to run before step {n} ({})", step.shown()))?;
        let code = outcome.code;
        if let Some(signal) = outcome.shutdown {
            // Stopped, even if the step exited 0: the server must not start after a stop.
            tracing::info!(
                "received {signal} during before step {n}/{count} ({}); not starting {}",
                step.shown(),
                plan.program.display()
            );
            return Ok(Some(code));
        }
        if code != 0 {
            tracing::error!(
                "before step {n}/{count} ({}) failed with exit code {code}; not starting {}",
                step.shown(),
                plan.program.display()
            );
            return Ok(Some(code));
        }
    }
    Ok(None)
}

/// `SIGTERM` for 15, for log lines.
fn signal_name(raw: i32) -> String {
    nix::sys::signal::Signal::try_from(raw)
        .map_or_else(|_| format!("signal {raw}"), |s| s.as_str().to_string())
}

/// Whether liftoff will log anything for this plan. A program exec'd quietly (the common
/// `docker run IMAGE PROGRAM` case) needs no subscriber, and setting one up is a
/// measurable part of the exec path's start-up.
fn logs_anything(plan: &Plan) -> bool {
    use crate::settings::LogLevel;
    plan.mode == Mode::Supervise
        || plan.profile.is_some()
        || !plan.warnings.is_empty()
        || !plan.wait_for.is_empty()
        || !plan.before.is_empty()
        || matches!(plan.log_level, LogLevel::Debug | LogLevel::Trace)
}

/// Resolves a request, adding "did you mean" to a program that is not found.
fn resolve(layers: &Layers, request: &Request) -> anyhow::Result<Plan> {
    plan::resolve(layers, request).map_err(|err| {
        match (&request.target, err.downcast_ref::<Failure>()) {
            (Target::Program(argv), Some(Failure::NotFound(message)))
                if message.starts_with(&format!("program `{}` ", argv[0].to_string_lossy())) =>
            {
                let word = argv[0].to_string_lossy();
                Failure::NotFound(format!("{message}{}", profile_hint(layers, &word))).into()
            }
            _ => err,
        }
    })
}

/// What to say about profiles when a program word is not found: the word may be a profile
/// run through `run --`, or a near miss of one.
fn profile_hint(layers: &Layers, word: &str) -> String {
    let profiles = layers.all_profiles();
    let names: Vec<&str> = profiles.iter().map(String::as_str).collect();
    if names.contains(&word) {
        return format!("; `{word}` is a profile: run it as `liftoff {word}`");
    }
    match suggest(word, &names) {
        hint if hint.is_empty() => "; it is not a profile either".into(),
        hint => hint.replace("did you mean `", "did you mean the profile `"),
    }
}

/// What the supervisor needs from the plan.
fn spec(plan: &Plan) -> crate::supervise::Spec {
    crate::supervise::Spec {
        program: plan.program.clone(),
        argv: plan.argv.clone(),
        env: plan.full_env.clone(),
        cwd: plan.cwd.clone(),
        target: plan.signal_target,
        table: plan.signals.clone(),
        stop_timeout: plan.stop_timeout,
        success_codes: plan.success_codes.clone(),
        drain_delay: plan.drain_delay,
        log: (plan.log_level, plan.log_format),
        user: plan.user.clone().filter(|user| {
            crate::user::switch(user, nix::unistd::geteuid().as_raw())
                == Ok(crate::user::Switch::Drop)
        }),
    }
}

/// `liftoff plan [COMMAND...]`: resolves the command as if it were run, and prints it.
fn print_plan(
    layers: &Layers,
    global: &GlobalArgs,
    command: Vec<OsString>,
    format: PlanFormat,
) -> anyhow::Result<i32> {
    let args = std::iter::once(OsString::from("liftoff")).chain(command);
    let inner = cli::parse(args).map_err(|e| usage(&e))?;
    if matches!(
        inner.command,
        Some(Command::Plan(_) | Command::Config(_) | Command::Check(_) | Command::Health(_))
    ) {
        return Err(Failure::Usage(
            "plan takes a command that runs something: prod, dev, a profile, or a program".into(),
        )
        .into());
    }
    let mut outer = global.clone();
    outer.overlay(inner.globals());
    let layers = match &outer.config {
        Some(file) if outer.config != global.config => {
            Layers::load(Some(file), layers.env.clone())?
        }
        _ => layers.clone(),
    };
    let (layers, request) = request(layers, outer, inner.command)?;
    let plan = resolve(&layers, &request)?;
    match format {
        PlanFormat::Text => crate::output::out(&plan.to_text()),
        PlanFormat::Json => crate::output::out(&format!("{}\n", plan.to_json())),
    }
    Ok(0)
}

/// `liftoff check`: checks the file's shape and the environment, then resolves every
/// profile that the problems found so far do not block; lists every problem, exit 0 or 78.
fn check(global: &GlobalArgs, env: Vec<(OsString, OsString)>) -> anyhow::Result<i32> {
    let (layers, mut problems) = Layers::load_lenient(global.config.as_deref(), env)?;
    if layers.file.is_none() {
        problems.push(
            "no config file: looked for --config, LIFTOFF_CONFIG and ./liftoff.toml".to_string(),
        );
    }
    let mut warnings = Vec::new();
    for profile in layers
        .all_profiles()
        .into_iter()
        .filter(|p| !layers.is_tainted(p))
    {
        let request = Request {
            target: Target::Profile(profile.clone()),
            global: global.clone(),
            server: ServerArgs::default(),
        };
        match plan::resolve(&layers, &request) {
            Ok(plan) => {
                crate::output::out(&format!("ok: {profile}: {}\n", plan.program.display()));
                warnings.extend(
                    plan.warnings
                        .iter()
                        .map(|w| format!("warning: [{profile}]: {w}")),
                );
            }
            Err(err) => {
                let message = err
                    .chain()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(": ");
                // Messages from the file already name the table; those from the
                // environment apply to every profile and are listed once.
                let global = ["environment variable", "flag "]
                    .iter()
                    .any(|p| message.starts_with(p));
                let line = if global || message.contains(&format!("[{profile}]")) {
                    message
                } else {
                    format!("[{profile}]: {message}")
                };
                if !problems.contains(&line) {
                    problems.push(line);
                }
            }
        }
    }
    for line in warnings.iter().chain(&problems) {
        crate::output::err(&format!("liftoff check: {line}"));
    }
    match problems.len() {
        0 => Ok(0),
        n => {
            let noun = if n == 1 { "problem" } else { "problems" };
            crate::output::err(&format!("liftoff check: {n} {noun} found"));
            Ok(exit::CONFIG)
        }
    }
}

/// `liftoff health`: GET the prod profile's port unless a URL is given.
fn health(layers: &Layers, args: &cli::HealthArgs) -> anyhow::Result<i32> {
    let timeout = Dur::parse(&args.timeout)
        .map_err(|e| Failure::Usage(format!("--timeout: {e}")))?
        .0;
    let url = match &args.url {
        Some(url) => url.clone(),
        None => {
            let (_, settings) = layers.settings(Some("prod"))?;
            let port = settings.port.map_or(
                crate::profile::Defaults::of(crate::settings::ServerKind::Gunicorn).port,
                |p| p.0,
            );
            format!("http://127.0.0.1:{port}/health")
        }
    };
    crate::health::run(&url, timeout.max(Duration::from_millis(1)))
}
