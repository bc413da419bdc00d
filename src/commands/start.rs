//! `liftoff [prod|dev|NAME|run -- PROGRAM|PROGRAM]`: resolve, wait for dependencies, run
//! the `before` steps, then exec or supervise the program.

use anyhow::Context;

use super::Request;
use crate::exit::Failure;
use crate::log::{debug, error, info, warning};
use crate::plan::values::Mode;
use crate::plan::{Plan, shell_quote};
use crate::probe::wait::{self, Outcome};
use crate::signals::Inherited;

/// Runs the request and returns the code liftoff exits with.
pub fn run(request: &Request, inherited: Inherited) -> anyhow::Result<i32> {
    // stderr lines go through the log's queue from here, so a stalled stderr cannot block.
    crate::log::init(crate::log::Level::Error, crate::log::Format::Text);
    let plan = super::resolve(request)?;
    if let Some(problem) = &plan.user_problem {
        return Err(Failure::Config(problem.clone()).into());
    }
    crate::log::init(plan.log_level, plan.log_format);
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
        info!("received {signal} while waiting for dependencies; not starting");
        return Ok(128 + signal.raw());
    }
    if let Some(code) = run_before(&plan, inherited)? {
        return Ok(code);
    }
    match plan.mode {
        Mode::Supervise => crate::supervise::run(&plan.spec, inherited).map(|outcome| outcome.code),
        _ => crate::launch::exec::exec(&plan.spec, inherited, !plan.before.is_empty()),
    }
}

/// Runs the `before` steps, each supervised; the code to stop with if one fails or stops.
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
                plan.spec.program.display()
            );
            return Ok(Some(outcome.code));
        }
        if outcome.code != 0 {
            error!(
                "before step {n}/{count} ({shown}) failed with exit code {}; not starting {}",
                outcome.code,
                plan.spec.program.display()
            );
            return Ok(Some(outcome.code));
        }
    }
    Ok(None)
}
