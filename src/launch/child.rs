//! The last steps before the program runs, in exec mode and in a forked child: take the
//! terminal, give back ignored signals, become the user, chdir, give back the mask,
//! `execve`. Everything is prepared before the fork ([`Prepared::new`]); [`Prepared::exec`]
//! only makes async-signal-safe calls. Never `execvp`: glibc's runs an ENOEXEC file
//! through `/bin/sh`.

use std::ffi::{CString, OsStr, c_char};
use std::io;
use std::os::unix::ffi::OsStrExt;

use super::{Identity, Spec};
use crate::signals::{Inherited, all_signals, contains};

/// A spec turned into what the system calls take.
pub struct Prepared {
    program: CString,
    /// `argv` as C strings; `argv_ptrs` points into it.
    _argv: Vec<CString>,
    /// `NAME=value` C strings; `env_ptrs` points into it.
    _env: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    env_ptrs: Vec<*const c_char>,
    cwd: CString,
    identity: Option<Identity>,
    inherited: Inherited,
    /// Give the child the terminal (supervise mode, when liftoff had it).
    pub foreground: bool,
}

// SAFETY: the pointers point into the `CString`s the struct owns, whose heap buffers never
// move or change while it lives.
unsafe impl Send for Prepared {}
// SAFETY: as above; nothing is ever written through the pointers.
unsafe impl Sync for Prepared {}

impl Prepared {
    /// Prepares `spec`; a NUL byte (in a program word or a path) is refused (78).
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

    /// Does the last steps and execs; returns only on failure. Async-signal-safe. The
    /// order matters: SIGTTOU stays blocked for `tcsetpgrp` until the mask is given back
    /// last, and the directory is entered as the user.
    pub fn exec(&self) -> io::Error {
        // SAFETY: only async-signal-safe calls on memory `self` owns; the arrays end in NULL.
        unsafe {
            if self.foreground {
                // Failure only costs Ctrl-C reaching the program directly.
                libc::tcsetpgrp(libc::STDIN_FILENO, libc::getpid());
            }
            // Only inherited ignored signals need restoring: liftoff installs no handler,
            // std resets SIGPIPE in the child, and supervising may have reset SIGCHLD.
            for raw in all_signals().filter(|&raw| contains(&self.inherited.ignored, raw)) {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = libc::SIG_IGN;
                libc::sigaction(raw, &action, std::ptr::null_mut());
            }
            // Supplementary groups, then the group, then the user: each call needs the
            // privilege the earlier ones leave. The count is a size_t or (macOS) an int.
            if let Some(id) = &self.identity
                && (libc::setgroups(id.groups.len() as _, id.groups.as_ptr()) != 0
                    || libc::setgid(id.gid) != 0
                    || libc::setuid(id.uid) != 0)
            {
                return io::Error::last_os_error();
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
