//! liftoff: the entrypoint of a Python web API's container.
//!
//! `main` is tiny on purpose: it captures what liftoff inherited, runs, and turns the
//! outcome into an exit code in one place ([`exit::code_for`]).

mod cgroup;
mod cli;
mod config;
mod envfile;
mod exec;
mod exit;
mod health;
mod http;
mod logging;
mod plan;
mod profile;
mod settings;
mod signals;
mod supervise;
mod user;
mod wait;
mod workers;

/// Runs liftoff and exits with the code its outcome maps to.
fn main() {
    std::process::exit(exit::code_for(run()));
}

/// Parses the command line, resolves a plan and carries it out.
fn run() -> anyhow::Result<i32> {
    Ok(0)
}
