//! liftoff: blocks signals, runs the command, maps the outcome to an exit code. It
//! defines the C `main` (`no_main`) so std's start-up cannot set SIGPIPE to "ignore":
//! the program must get exactly the dispositions liftoff inherited.

// Unit tests keep the harness's own main.
#![cfg_attr(not(test), no_main)]

mod cli;
mod commands;
mod exit;
#[cfg(test)]
mod fuzz;
mod launch;
mod log;
mod output;
mod plan;
mod probe;
mod signals;
mod supervise;

/// dlmalloc takes memory in large chunks where musl's malloc maps and unmaps per
/// allocation: the static build starts a fifth faster (docs/benchmarks.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;

/// The process entry point, called by the C runtime as `main`.
#[cfg_attr(not(test), unsafe(export_name = "main"))]
extern "C" fn liftoff_main(argc: c_int, argv: *const *const c_char) -> c_int {
    // Block first: as PID 1, a signal that arrives before liftoff waits for it is lost.
    let inherited = signals::block_at_start();
    // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in `argv`.
    let args = unsafe { args(argc, argv) };
    let result = match inherited {
        Ok(inherited) => commands::run(args, inherited),
        Err(errno) => Err(anyhow::anyhow!("failed to block signals: {errno}")),
    };
    let code = exit::code_for(result);
    log::flush(log::FLUSH_TIMEOUT);
    // `process::exit` flushes stdout; returning from a C main would not.
    std::process::exit(code)
}

/// Keeps the entry point alive in unit-test builds, so dead-code lints stay meaningful.
#[cfg(test)]
#[used]
static ENTRY: extern "C" fn(c_int, *const *const c_char) -> c_int = liftoff_main;

/// Copies the C argument vector (`argv` must hold `argc` valid C strings).
unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the caller guarantees `argc` valid entries.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}
