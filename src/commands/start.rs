//! `liftoff [prod|dev|NAME|run -- PROGRAM|PROGRAM]`: resolve the plan, wait for the
//! dependencies, run the `before` steps, then exec or supervise the program.

use anyhow::Context;

use super::Request;
use crate::exit::Failure;
use crate::launch::Spec;
use crate::log::{debug, error, info, warning};
use crate::plan::values::Mode;
use crate::plan::{Plan, shell_quote};
use crate::probe::wait::{self, Outcome};
use crate::signals::{Inherited, Signal};

/// Runs the request and returns the code liftoff exits with.
pub fn run(request: &Request, inherited: Inherited) -> anyhow::Result<i32> {
    // From here on liftoff's stderr lines go through the log's queue, so that not even an
    // error line can block on a stalled stderr; nothing is logged until the plan says how.
    crate::log::init(crate::log::Level::Error, crate::log::Format::Text);
    let plan = super::resolve(request)?;
    if let Some(problem) = &plan.user_problem {
        return Err(Failure::Config(problem.clone()).into());
    }
    crate::log::init(plan.log_level.level(), plan.log_format.format());
    for warning in &plan.warnings {
        warning!("{warning}");
    }
    if plan.profile.is_some() {
        info!("{}", plan.summary);
    } else {
        debug!("{}", plan.summary);
    }
    if let Outcome::Signaled(signal) =
        wait::wait(&plan.wait_for, plan.wait_timeout, &plan.spec.stop.table)?
    {
        info!(
            "received {} while waiting for dependencies; not starting",
            signal_name(signal)
        );
        return Ok(128 + signal);
    }
    if let Some(code) = run_before(&plan, inherited)? {
        return Ok(code);
    }
    match plan.mode {
        Mode::Supervise => crate::supervise::run(&plan.spec, inherited).map(|outcome| outcome.code),
        _ => crate::launch::exec::exec(&plan.spec, inherited, !plan.before.is_empty()),
    }
}

/// Runs the `before` steps in order, each supervised like the server; returns the exit
/// code to stop with when one fails or is stopped, or `None` when all succeeded.
fn run_before(plan: &Plan, inherited: Inherited) -> anyhow::Result<Option<i32>> {
    let count = plan.before.len();
    for (i, step) in plan.before.iter().enumerate() {
        let n = i + 1;
        let shown = shell_quote(&step.argv);
        info!("before step {n}/{count}: {shown}");
        let outcome = crate::supervise::run(step, inherited)
            .with_context(|| format!("failed to run before step {n} ({shown})"))?;
        if let Some(signal) = outcome.shutdown {
            // Stopped, even if the step exited 0: the server must not start after a stop.
            info!(
                "received {signal} during before step {n}/{count} ({shown}); not starting {}",
                program(&plan.spec)
            );
            return Ok(Some(outcome.code));
        }
        if outcome.code != 0 {
            error!(
                "before step {n}/{count} ({shown}) failed with exit code {}; not starting {}",
                outcome.code,
                program(&plan.spec)
            );
            return Ok(Some(outcome.code));
        }
    }
    Ok(None)
}

/// The program's path, for messages.
fn program(spec: &Spec) -> std::path::Display<'_> {
    spec.program.display()
}

/// `SIGTERM` for 15, for log lines.
fn signal_name(raw: i32) -> String {
    Signal::from_raw(raw).map_or_else(|| format!("signal {raw}"), |s| s.to_string())
}
