//! The last steps before the program runs, the same in exec mode and in a forked child:
//! take the terminal (supervise mode), give back the ignored signals, become the user,
//! enter the working directory, give back the signal mask, `execve`.
//!
//! In a forked child only async-signal-safe calls are allowed, so everything is prepared
//! before the fork ([`Prepared::new`]) and [`Prepared::exec`] only makes system calls on
//! it: no allocation, no lock, no logging. `execve` is called directly, never `execvp`:
//! glibc's `execvp` runs a file that fails with ENOEXEC through `/bin/sh`, so an empty
//! or foreign file would "succeed".

use std::ffi::{CString, OsStr, c_char};
use std::io;
use std::os::unix::ffi::OsStrExt;

use super::{Identity, Spec};
use crate::signals::{Inherited, all_signals, contains};

/// A spec turned into what the system calls take.
pub struct Prepared {
    /// The program's path.
    program: CString,
    /// `argv` as C strings; `argv_ptrs` points into it.
    _argv: Vec<CString>,
    /// The environment as `NAME=value` C strings; `env_ptrs` points into it.
    _env: Vec<CString>,
    /// NULL-terminated pointers to `_argv`.
    argv_ptrs: Vec<*const c_char>,
    /// NULL-terminated pointers to `_env`.
    env_ptrs: Vec<*const c_char>,
    /// The working directory.
    cwd: CString,
    /// The user to become.
    identity: Option<Identity>,
    /// What liftoff inherited, to give back.
    inherited: Inherited,
    /// The process group to give the terminal to (supervise mode, when liftoff had it).
    pub foreground: bool,
}

// SAFETY: the raw pointers point into the `CString`s the same struct owns, which are
// never changed or moved out while it lives (a `CString`'s heap buffer does not move
// when the struct does); the struct is only read after it is built.
unsafe impl Send for Prepared {}
// SAFETY: as above; nothing is ever written through the pointers.
unsafe impl Sync for Prepared {}

impl Prepared {
    /// Prepares `spec`. A NUL byte anywhere is refused: the plan already refused it in
    /// the environment, so this is a program word or a path (78).
    pub fn new(spec: &Spec, inherited: Inherited) -> Result<Prepared, crate::exit::Failure> {
        let c = |bytes: &OsStr, what: &str| {
            CString::new(bytes.as_bytes()).map_err(|_| {
                crate::exit::Failure::Config(format!(
                    "{what} contains a NUL byte, which no program can receive"
                ))
            })
        };
        let argv = spec
            .argv
            .iter()
            .map(|a| c(a, "an argument"))
            .collect::<Result<Vec<_>, _>>()?;
        let env = spec
            .env
            .iter()
            .map(|(k, v)| {
                let entry = [k.as_bytes(), b"=", v.as_bytes()].concat();
                c(OsStr::from_bytes(&entry), "the environment")
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pointers = |strings: &[CString]| {
            strings
                .iter()
                .map(|s| s.as_ptr())
                .chain(std::iter::once(std::ptr::null()))
                .collect::<Vec<_>>()
        };
        Ok(Prepared {
            program: c(spec.program.as_os_str(), "the program's path")?,
            argv_ptrs: pointers(&argv),
            env_ptrs: pointers(&env),
            _argv: argv,
            _env: env,
            cwd: c(spec.cwd.as_os_str(), "the working directory")?,
            identity: spec.identity.clone(),
            inherited,
            foreground: false,
        })
    }

    /// Does the last steps and execs; returns only on failure, with the error.
    ///
    /// Async-signal-safe: system calls on memory prepared before, nothing else. The order
    /// matters: `tcsetpgrp` from a background group raises SIGTTOU unless it is blocked,
    /// and it stays blocked until the mask is given back last; the directory is entered
    /// as the user, so a directory the user may not enter fails here instead of starting
    /// a program that cannot read its own directory.
    pub fn exec(&self) -> io::Error {
        // SAFETY: only async-signal-safe system calls on memory owned by `self`, which
        // outlives them; the pointer arrays are NULL-terminated.
        unsafe {
            if self.foreground {
                // Failure only costs Ctrl-C reaching the program directly.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            }
            // liftoff installs no handler, so every signal it did not inherit as ignored
            // is at its default (execve resets handlers anyway). Only the ignored ones
            // need restoring: std resets SIGPIPE before this runs in a child, and
            // supervising may have taken SIGCHLD back from "ignore".
            for raw in all_signals().filter(|&raw| contains(&self.inherited.ignored, raw)) {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = libc::SIG_IGN;
                libc::sigaction(raw, &action, std::ptr::null_mut());
            }
            if let Some(identity) = &self.identity
                && let Err(err) = become_user(identity.uid, identity.gid, &identity.groups)
            {
                return err;
            }
            if libc::chdir(self.cwd.as_ptr()) != 0 {
                return io::Error::last_os_error();
            }
            if libc::sigprocmask(
                libc::SIG_SETMASK,
                self.inherited.mask.as_ref(),
                std::ptr::null_mut(),
            ) != 0
            {
                return io::Error::last_os_error();
            }
            libc::execve(
                self.program.as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.env_ptrs.as_ptr(),
            );
        }
        io::Error::last_os_error()
    }
}

/// Becomes `uid`/`gid` with `groups`: supplementary groups, then the group, then the
/// user (each later call needs the privilege the earlier ones leave).
///
/// Async-signal-safe: three system calls on memory prepared by the caller.
pub fn become_user(uid: u32, gid: u32, groups: &[libc::gid_t]) -> io::Result<()> {
    // The count is a size_t on Linux and an int on macOS; neither conversion allocates.
    #[cfg_attr(
        not(target_vendor = "apple"),
        expect(
            clippy::useless_conversion,
            reason = "a no-op where the count is a size_t"
        )
    )]
    let count = groups
        .len()
        .try_into()
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `groups` is a valid slice for its length; the calls only read it.
    unsafe {
        if libc::setgroups(count, groups.as_ptr()) != 0
            || libc::setgid(gid) != 0
            || libc::setuid(uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
