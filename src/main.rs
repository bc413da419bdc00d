//! liftoff: the entrypoint of a Python web API's container.
//!
//! `main` is tiny on purpose: it blocks signals, collects its arguments, runs the command,
//! and turns the outcome into an exit code in one place ([`exit::code_for`]).
//!
//! liftoff defines the C `main` itself (`no_main`) so that std's runtime start-up does not
//! run: that start-up sets SIGPIPE to "ignore", and liftoff must hand its program exactly
//! the signal dispositions it inherited. It also keeps the exec path short.

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

/// musl's malloc maps and unmaps memory for many of the allocations clap makes while
/// parsing (66 `mmap` and 49 `munmap` calls per `liftoff run -- /bin/true`); dlmalloc takes
/// memory in large chunks (13 `mmap`), which makes the static build start about a fifth
/// faster (1.91 → 1.55 ms, 219 → 167 page faults; docs/benchmarks.md).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

use std::ffi::{CStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStringExt;

/// The process entry point, called by the C runtime as `main`.
#[cfg_attr(not(test), unsafe(export_name = "main"))]
extern "C" fn liftoff_main(argc: c_int, argv: *const *const c_char) -> c_int {
    // Block first: as PID 1, a signal without a handler that arrives before liftoff
    // waits for it would be dropped, and a lost SIGTERM is a container that never stops.
    let inherited = signals::block_at_start();
    // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in `argv`.
    let args = unsafe { args(argc, argv) };
    let result = match inherited {
        Ok(inherited) => commands::run(args, inherited),
        Err(errno) => Err(anyhow::anyhow!("failed to block signals: {errno}")),
    };
    let code = exit::code_for(result);
    // What liftoff logged reaches stderr before it exits, unless stderr does not take it.
    log::flush(log::FLUSH_TIMEOUT);
    // `process::exit` flushes stdout; returning from a C main would not.
    std::process::exit(code)
}

/// Keeps the entry point (and all it calls) alive in unit-test builds, where the test
/// harness has its own `main`, so that dead-code lints stay meaningful.
#[cfg(test)]
#[used]
static ENTRY: extern "C" fn(c_int, *const *const c_char) -> c_int = liftoff_main;

/// Copies the C argument vector.
///
/// # Safety
/// `argv` must hold `argc` valid, NUL-terminated C strings.
unsafe fn args(argc: c_int, argv: *const *const c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        .map(|i| {
            // SAFETY: the caller guarantees `argc` valid entries.
            let arg = unsafe { CStr::from_ptr(*argv.add(i)) };
            OsString::from_vec(arg.to_bytes().to_vec())
        })
        .collect()
}
