//! Handing supervision to a fresh image of liftoff once the server runs.
//!
//! Everything liftoff does before the server starts (command line, configuration
//! layers, TOML, the plan) runs once, yet its code stays mapped: on kernels that keep
//! executables in large page-cache folios, touching one page maps the whole folio, so
//! start-up maps nearly all of liftoff's text and the peak resident set (`VmHWM`) stays
//! at its start-up size for the container's whole life. The supervise loop needs a small
//! fraction of that. So once the main child runs, liftoff re-executes its own binary
//! (`/proc/self/exe`) with the original argument vector and the supervision state in
//! [`VAR`]; the new image skips every start-up step and enters the loop.
//!
//! The process stays the same (same pid, still PID 1 or the subreaper, same children,
//! same process group and terminal), and everything the loop depends on survives
//! `execve`: the signal mask (all handled signals blocked), pending signals (a TERM or
//! a child's exit that arrives meanwhile waits for the new image), and the subreaper
//! attribute. Only the short name (`comm`) would change, to `exe`, so it is carried
//! over too. When the exec fails (no `/proc`, a seccomp filter), liftoff keeps
//! supervising in the image it has, as it did before this hand-over existed.
//!
//! The state is a line of `key=value` words (see [`encode`]), small enough for any
//! environment and parsed without serde, so the new image touches little code.

use std::ffi::{CString, OsStr, c_char};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

use crate::settings::{LogFormat, LogLevel};
use crate::signals::{Rewrite, Signal, SignalTable, SignalTarget};

use super::state::Policy;

/// The variable that carries the state into the new image. The environment rather than
/// the argument vector, so that `ps` keeps showing the command the container was given.
use super::HANDOFF_VAR as VAR;

/// The first word of every state: a hand-over between two builds that disagree on the
/// format is refused rather than misread (the binary cannot change under a running
/// process, but the check is free).
const VERSION: &str = "v1";

/// Everything the new image needs to go on supervising.
#[derive(Clone, Debug, PartialEq)]
pub struct Handoff {
    /// liftoff's own pid, which `execve` keeps; a state meant for another process is
    /// refused.
    pub pid: u32,
    /// The main child, already running.
    pub main_pid: i32,
    /// The supervisor's decisions: target, rewrites, timeouts, success codes.
    pub policy: Policy,
    /// liftoff's own logging, set up again in the new image.
    pub log: (LogLevel, LogFormat),
    /// The process's short name (`/proc/PID/comm`), restored after the exec.
    pub comm: Vec<u8>,
}

/// The state as one line: `v1 pid=1 child=7 target=group stop=10.000000000 ...`.
pub fn encode(h: &Handoff) -> String {
    let p = &h.policy;
    let table: Vec<String> = p
        .table
        .iter()
        .map(|(from, to)| match to {
            Rewrite::Forward(to) => format!("{}:{}", from.raw(), to.raw()),
            Rewrite::Ignore => format!("{}:-", from.raw()),
        })
        .collect();
    let codes: Vec<String> = p.success_codes.iter().map(i32::to_string).collect();
    format!(
        "{VERSION} pid={} child={} target={} stop={} drain={} resend={} codes={} table={} log={},{} comm={}",
        h.pid,
        h.main_pid,
        p.target,
        duration(p.stop_timeout),
        duration(p.drain_delay),
        p.table
            .resend_stop_after()
            .map(duration)
            .unwrap_or_default(),
        codes.join(","),
        table.join(","),
        h.log.0,
        h.log.1,
        hex(&h.comm),
    )
}

/// Reads a state written by [`encode`]; every key must be there exactly once.
pub fn decode(text: &str) -> Result<Handoff, String> {
    let mut words = text.split_ascii_whitespace();
    if words.next() != Some(VERSION) {
        return Err(format!("it does not start with `{VERSION}`"));
    }
    let mut fields: Vec<(&str, &str)> = Vec::new();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("`{word}` is not key=value"))?;
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(format!("`{key}` is given twice"));
        }
        fields.push((key, value));
    }
    let field = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("`{key}` is missing"))
    };
    const KEYS: [&str; 10] = [
        "pid", "child", "target", "stop", "drain", "resend", "codes", "table", "log", "comm",
    ];
    if let Some((key, _)) = fields.iter().find(|(k, _)| !KEYS.contains(k)) {
        return Err(format!("`{key}` is not a known key"));
    }
    let mut table = SignalTable::empty();
    for entry in list(field("table")?) {
        let (from, to) = entry
            .split_once(':')
            .ok_or_else(|| format!("table entry `{entry}` is not FROM:TO"))?;
        let to = match to {
            "-" => Rewrite::Ignore,
            to => Rewrite::Forward(signal(to)?),
        };
        table.set(signal(from)?, to);
    }
    let resend = field("resend")?;
    table.set_resend_stop_after(
        (!resend.is_empty())
            .then(|| parse_duration(resend))
            .transpose()?,
    );
    let (level, format) = field("log")?
        .split_once(',')
        .ok_or("`log` is not LEVEL,FORMAT")?;
    Ok(Handoff {
        pid: number(field("pid")?)?,
        main_pid: number(field("child")?)?,
        policy: Policy {
            target: field("target")?.parse::<SignalTarget>()?,
            table,
            stop_timeout: parse_duration(field("stop")?)?,
            success_codes: list(field("codes")?)
                .map(number)
                .collect::<Result<_, _>>()?,
            drain_delay: parse_duration(field("drain")?)?,
        },
        log: (log_level(level)?, log_format(format)?),
        comm: unhex(field("comm")?)?,
    })
}

/// Re-executes liftoff's own binary with `h` in [`VAR`]; returns only when the exec
/// failed, with the reason, and then nothing has changed.
pub fn exec(h: &Handoff) -> anyhow::Error {
    let argv = crate::ARGV.load(std::sync::atomic::Ordering::Relaxed);
    if argv.is_null() {
        return anyhow::anyhow!("the argument vector is not known");
    }
    let mut env: Vec<CString> = std::env::vars_os()
        .filter(|(key, _)| key != VAR)
        .filter_map(|(key, value)| {
            let mut entry = key.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            CString::new(entry).ok()
        })
        .collect();
    match CString::new(format!("{VAR}={}", encode(h))) {
        Ok(entry) => env.push(entry),
        Err(err) => return err.into(),
    }
    let envp: Vec<*const c_char> = env
        .iter()
        .map(|entry| entry.as_ptr())
        .chain([std::ptr::null()])
        .collect();
    // SAFETY: `argv` is the vector the C runtime passed to `main` (NULL-terminated,
    // valid for the life of the process, never written); `envp` points into `env`,
    // which outlives the call, and ends with NULL.
    unsafe { libc::execve(c"/proc/self/exe".as_ptr(), argv, envp.as_ptr()) };
    anyhow::Error::new(std::io::Error::last_os_error()).context("failed to execute /proc/self/exe")
}

/// Checks, in the new image, that a decoded state is this process's own: the pid is
/// ours and the main child is our child. A `LIFTOFF_HANDOFF` set by hand fails here.
pub fn verify(h: &Handoff) -> Result<(), String> {
    if h.pid != std::process::id() {
        return Err(format!("it was written for pid {}", h.pid));
    }
    let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
    let id = libc::id_t::try_from(h.main_pid).map_err(|_| "the child's pid is negative")?;
    // SAFETY: `info` is writable; WNOWAIT leaves the child's status to be reaped later.
    let rc = unsafe {
        libc::waitid(
            libc::P_PID,
            id,
            info.as_mut_ptr(),
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    };
    if rc != 0 {
        return Err(format!("pid {} is not a child of this process", h.main_pid));
    }
    Ok(())
}

/// Gives the process back the short name it had before the exec (which set it to `exe`),
/// so `ps`, `top` and `pgrep liftoff` still find it. Best effort.
pub fn restore_comm(comm: &[u8]) {
    if let Ok(name) = CString::new(comm) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string (the kernel truncates it to
        // 15 bytes).
        unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
    }
}

/// The process's current short name.
pub fn current_comm() -> Vec<u8> {
    let mut name = [0u8; 17];
    // SAFETY: PR_GET_NAME writes at most 16 bytes, NUL included.
    unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) };
    name.iter().take_while(|b| **b != 0).copied().collect()
}

/// The comma-separated items of `text`; none when it is empty.
fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(|item| !item.is_empty())
}

/// A number of any integer type.
fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a number"))
}

/// A raw signal number this system has.
fn signal(text: &str) -> Result<Signal, String> {
    Signal::from_raw(number(text)?).ok_or_else(|| format!("`{text}` is not a signal"))
}

/// `SECONDS.NANOSECONDS`, exact for every `Duration`.
fn duration(d: Duration) -> String {
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// Reads what [`duration`] writes.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let malformed = || format!("`{text}` is not SECONDS.NANOSECONDS");
    let (secs, nanos) = text.split_once('.').ok_or_else(malformed)?;
    if nanos.len() != 9 {
        return Err(malformed());
    }
    Ok(Duration::new(number(secs)?, number(nanos)?))
}

/// A log level by the name the config file uses.
fn log_level(text: &str) -> Result<LogLevel, String> {
    use LogLevel::*;
    [Error, Warn, Info, Debug, Trace]
        .into_iter()
        .find(|level| level.to_string() == text)
        .ok_or_else(|| format!("`{text}` is not a log level"))
}

/// A log format by the name the config file uses.
fn log_format(text: &str) -> Result<LogFormat, String> {
    [LogFormat::Text, LogFormat::Json]
        .into_iter()
        .find(|format| format.to_string() == text)
        .ok_or_else(|| format!("`{text}` is not a log format"))
}

/// Bytes as lowercase hex: a name may hold spaces or `=`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads what [`hex`] writes.
fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return Err(format!("`{text}` is not hex"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).map_err(|_| format!("`{text}` is not hex"))
        })
        .collect()
}

/// The state's text from the environment value, which must be UTF-8.
pub fn text(value: &OsStr) -> Result<&str, String> {
    value.to_str().ok_or_else(|| "it is not UTF-8".to_string())
}

#[cfg(test)]
mod tests;
