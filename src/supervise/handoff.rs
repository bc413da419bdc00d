//! Handing supervision to a fresh image of liftoff once the server runs.
//!
//! Everything liftoff does before the server starts (command line, configuration
//! layers, TOML, the plan) runs once, yet its code stays mapped: on kernels that keep
//! executables in large page-cache folios, touching one page maps the whole folio, so
//! start-up maps nearly all of liftoff's text and the peak resident set (`VmHWM`) stays
//! at its start-up size for the container's whole life. The supervise loop needs a small
//! fraction of that. So once the main child runs, liftoff re-executes its own binary
//! (the file `/proc/self/exe` links to, once checked to be liftoff) with the original
//! argument vector and the supervision state in [`VAR`]; the new image skips every
//! start-up step and enters the loop.
//!
//! The process stays the same (same pid, still PID 1 or the subreaper, same children,
//! same process group and terminal), and everything the loop depends on survives
//! `execve`: the signal mask (all handled signals blocked), pending signals (a TERM or
//! a child's exit that arrives meanwhile waits for the new image), and the subreaper
//! attribute. The short name (`comm`) follows the file's name, so it is carried over
//! too, for a binary installed under another name. When the exec cannot be done (no
//! `/proc`, liftoff started through the dynamic loader) or fails, liftoff keeps
//! supervising in the image it has, as it did before this hand-over existed.
//!
//! The state is a line of `key=value` words (see [`encode`]), small enough for any
//! environment and parsed without serde, so the new image touches little code.

use std::ffi::{CStr, CString, OsStr, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

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
    /// liftoff's own pid, which `execve` keeps.
    pub pid: u32,
    /// When the process started (clock ticks after boot, `/proc/self/stat` field 22),
    /// which `execve` keeps too: with the pid, it tells this process from any other,
    /// even from an earlier PID 1 whose environment was copied somewhere.
    pub start: u64,
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
        "{VERSION} pid={} start={} child={} target={} stop={} drain={} resend={} codes={} table={} log={},{} comm={}",
        h.pid,
        h.start,
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
    const KEYS: [&str; 11] = [
        "pid", "start", "child", "target", "stop", "drain", "resend", "codes", "table", "log",
        "comm",
    ];
    if let Some((key, _)) = fields.iter().find(|(k, _)| !KEYS.contains(k)) {
        return Err(format!("`{key}` is not a known key"));
    }
    let mut table = SignalTable::empty();
    for entry in list(field("table")?)? {
        let (from, to) = entry
            .split_once(':')
            .ok_or_else(|| format!("table entry `{entry}` is not FROM:TO"))?;
        let to = match to {
            "-" => Rewrite::Ignore,
            to => Rewrite::Forward(signal(to)?),
        };
        let from = signal(from)?;
        if table.iter().any(|(f, _)| f == from) {
            return Err(format!("table entry for {from} is given twice"));
        }
        table.set(from, to);
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
        start: number(field("start")?)?,
        main_pid: number(field("child")?)?,
        policy: Policy {
            target: field("target")?.parse::<SignalTarget>()?,
            table,
            stop_timeout: parse_duration(field("stop")?)?,
            success_codes: list(field("codes")?)?
                .into_iter()
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
    let path = match own_binary() {
        Ok(path) => path,
        Err(err) => return err,
    };
    let (file, entry) = match (
        CString::new(path.as_os_str().as_bytes()),
        CString::new(format!("{VAR}={}", encode(h))),
    ) {
        (Ok(file), Ok(entry)) => (file, entry),
        _ => return anyhow::anyhow!("{} holds a NUL byte", path.display()),
    };
    // liftoff's environment exactly as it is, plus the state.
    let mut envp: Vec<*const c_char> = Vec::new();
    // SAFETY: `environ` is the C runtime's NULL-terminated array of NUL-terminated
    // strings; nothing changes it while this single-threaded process reads it.
    unsafe {
        let mut at = environ;
        while !(*at).is_null() {
            if !is_state_entry(CStr::from_ptr(*at).to_bytes()) {
                envp.push(*at);
            }
            at = at.add(1);
        }
    }
    envp.extend([entry.as_ptr(), std::ptr::null()]);
    // SAFETY: `argv` is the vector the C runtime passed to `main` (NULL-terminated,
    // valid for the life of the process, never written); `envp` holds pointers into
    // `environ` and `entry`, which outlive the call, and ends with NULL.
    unsafe { libc::execve(file.as_ptr(), argv, envp.as_ptr()) };
    anyhow::Error::new(std::io::Error::last_os_error())
        .context(format!("failed to execute {}", path.display()))
}

/// Whether an environment entry (`NAME=value`) is the one that holds a state.
fn is_state_entry(entry: &[u8]) -> bool {
    entry
        .strip_prefix(VAR.as_bytes())
        .is_some_and(|rest| rest.first() == Some(&b'='))
}

unsafe extern "C" {
    /// The C runtime's environment: `NAME=value` strings, then NULL.
    static environ: *const *const c_char;
}

/// liftoff's own file, by the path `/proc/self/exe` links to, when that file is liftoff.
/// It is not when liftoff was started through the dynamic loader (`ld.so liftoff ...`):
/// the link then names the loader, which must not get liftoff's arguments. The path
/// rather than `/proc/self/exe` itself: an emulator (qemu-user running an image of
/// another architecture) answers the link with liftoff's path, so the exec goes through
/// the emulator again, where executing the link itself would run the emulator's own
/// binary. It also names the process after its file, not `exe`.
fn own_binary() -> anyhow::Result<PathBuf> {
    let path = std::fs::read_link("/proc/self/exe").context("failed to read /proc/self/exe")?;
    let is_own = same_program_headers(&path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    anyhow::ensure!(
        is_own,
        "{} is not liftoff itself (was liftoff started through the dynamic loader?)",
        path.display()
    );
    Ok(path)
}

/// Whether the ELF file at `path` has the very program headers liftoff runs with. The
/// loader rewrites the auxiliary vector for the program it starts, so only the file
/// tells; and the file's identity (device and inode) would not do either, since
/// overlayfs reports other numbers for a mapping than for the path on many kernels.
fn same_program_headers(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let Some((_, headers)) = super::trim::executable_headers() else {
        return Ok(false);
    };
    // SAFETY: the headers are plain integers, mapped for the life of the process.
    let own =
        unsafe { std::slice::from_raw_parts(headers.as_ptr().cast::<u8>(), size_of_val(headers)) };
    let mut file = std::fs::File::open(path)?;
    // The ELF header: e_phoff (u64) at 32, e_phnum (u16) at 56, in the byte order of
    // the machine that runs both.
    let mut elf = [0u8; 64];
    file.read_exact(&mut elf)?;
    let phoff = u64::from_ne_bytes(elf[32..40].try_into().unwrap_or_default());
    let phnum = u16::from_ne_bytes(elf[56..58].try_into().unwrap_or_default());
    if &elf[..4] != b"\x7fELF" || usize::from(phnum) != headers.len() {
        return Ok(false);
    }
    let mut on_disk = vec![0u8; own.len()];
    file.read_exact_at(&mut on_disk, phoff)?;
    Ok(on_disk == own)
}

/// When this process started, in clock ticks after boot (`/proc/self/stat` field 22);
/// 0 when it cannot be read.
pub fn start_time() -> u64 {
    // Read with plain syscalls into the stack: the fresh image reads this first thing,
    // and std's file reading would map code that supervising never needs again.
    let mut buf = [0u8; 1024];
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe {
        libc::open(
            c"/proc/self/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return 0;
    }
    // SAFETY: `buf` is writable for its whole length; `fd` is open.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    let stat = &buf[..usize::try_from(n).unwrap_or(0)];
    // Field 2, the name, may hold spaces and parentheses: count from the last `)`,
    // after which field 3 comes.
    let Some(after) = stat.iter().rposition(|&b| b == b')') else {
        return 0;
    };
    std::str::from_utf8(&stat[after + 1..])
        .ok()
        .and_then(|rest| rest.split_ascii_whitespace().nth(22 - 3))
        .and_then(|start| start.parse().ok())
        .unwrap_or(0)
}

/// Whether a decoded state was written for this very process: same pid and start time.
/// One that was not is a copy of some liftoff's environment (`/proc/1/environ` copied
/// into a cron job's), not a hand-over.
pub fn is_for_this_process(h: &Handoff) -> bool {
    h.pid == std::process::id() && h.start == start_time()
}

/// Checks, in the new image, that the main child is this process's child. A state
/// written by hand for this process fails here.
pub fn verify_child(h: &Handoff) -> Result<(), String> {
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

/// Gives the process back the short name it had before the exec (which names it after
/// the file: a symlink it was started by, `/usr/bin/init -> liftoff`, is gone), so `ps`,
/// `top` and `pgrep` still find it by that name. Best effort.
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

/// The comma-separated items of `text`; none when it is empty, and never an empty one.
fn list(text: &str) -> Result<Vec<&str>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = text.split(',').collect();
    if items.iter().any(|item| item.is_empty()) {
        return Err(format!("`{text}` has an empty item"));
    }
    Ok(items)
}

/// A number of any integer type, written as [`encode`] writes it (no `+`).
fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    let parsed = (!text.starts_with('+'))
        .then(|| text.parse().ok())
        .flatten();
    parsed.ok_or_else(|| format!("`{text}` is not a number"))
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
