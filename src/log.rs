//! liftoff's own log lines on stderr, as text or JSON, written so that they can never stop
//! PID 1.
//!
//! stderr is often a pipe to a log driver, shared with the server. When that reader
//! stalls, a `write(2)` blocks; when it goes away, the write fails with EPIPE and raises
//! SIGPIPE; on a full disk it fails with ENOSPC. None of that may delay reaping,
//! forwarding or the stop deadline, and none of it may end liftoff. So the supervising
//! thread never writes: it formats a line and queues it, and a writer thread started on
//! the first line writes the queue out.
//!
//! - A full queue, or a write that fails, drops the line and counts it; the next line that
//!   is written is preceded by one warning saying how many were dropped.
//! - The writer blocks alone. Its SIGPIPE is directed at that thread, which blocks every
//!   signal like the rest of liftoff, so it stays pending there: the supervisor, which
//!   takes only its own and process-wide signals, never sees it and never forwards it.
//! - Before liftoff exits or execs, [`flush`] gives the writer a short, bounded time to
//!   finish, so nothing is lost when stderr works and nothing hangs when it does not.
//!
//! The server's own output is not touched: it keeps the stdio liftoff inherited.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long [`flush`] waits for the writer before liftoff exits or execs anyway.
pub const FLUSH_TIMEOUT: Duration = Duration::from_millis(250);

/// The most lines waiting for the writer; more are dropped and counted.
const QUEUE_LINES: usize = 1024;

/// The longest message kept in a line, in bytes. A line then stays below `PIPE_BUF`
/// (4096), so a write to a pipe shared with the server is never interleaved with its
/// output.
const MAX_MESSAGE: usize = 3000;

/// The writer thread's stack: it formats nothing, it only writes.
const WRITER_STACK: usize = 64 * 1024;

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed.
    Error = 1,
    /// Something is wrong but liftoff goes on (escalations, bad budgets).
    Warn = 2,
    /// What runs, and each step of a stop.
    Info = 3,
    /// Every signal and every reaped process.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

impl Level {
    /// The name as printed in a text line, right-aligned to five columns.
    fn padded(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => " WARN",
            Level::Info => " INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
        }
    }
}

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `LEVEL message key=value ...`.
    Text,
    /// One JSON object per line: timestamp, level, message and the fields.
    Json,
}

/// The level lines must reach to be written (0: nothing yet) and the format (1: JSON).
static LEVEL: AtomicU8 = AtomicU8::new(0);
/// 1 when lines are JSON.
static JSON: AtomicU8 = AtomicU8::new(0);

/// Sets the level and the format; lines below the level are not even formatted.
pub fn init(level: Level, format: Format) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(u8::from(format == Format::Json), Ordering::Relaxed);
}

/// Whether a line at `level` would be written.
pub fn enabled(level: Level) -> bool {
    allows(LEVEL.load(Ordering::Relaxed), level)
}

/// Whether the level set (0: none yet) lets a line at `level` through.
fn allows(set: u8, level: Level) -> bool {
    level as u8 <= set
}

/// Formats one line and queues it for the writer (see the module doc). A field whose
/// value prints as nothing is left out (an optional value that is not there).
pub fn emit(level: Level, message: fmt::Arguments<'_>, fields: &[(&str, &dyn fmt::Display)]) {
    let json = JSON.load(Ordering::Relaxed) == 1;
    let mut text = message.to_string();
    truncate(&mut text);
    push(format_line(level, &text, fields, json));
}

/// Queues `text` as one line of its own, without level or fields: liftoff's last error
/// before it exits goes the same non-blocking way as its log once logging is set up.
pub fn raw(text: &str) {
    let mut text = text.to_string();
    truncate(&mut text);
    text.push('\n');
    push(text.into_bytes());
}

/// Waits until every queued line is written, or `timeout` passes.
pub fn flush(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut queue = lock();
    while queue.writer == Writer::Running && (!queue.lines.is_empty() || queue.writing) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        queue = SINK
            .drained
            .wait_timeout(queue, left)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// `message key=value ...` or a JSON object, with a newline.
fn format_line(
    level: Level,
    message: &str,
    fields: &[(&str, &dyn fmt::Display)],
    json: bool,
) -> Vec<u8> {
    let mut line = String::new();
    if json {
        let mut object = serde_json::Map::new();
        let now = humantime::format_rfc3339_micros(std::time::SystemTime::now());
        object.insert("timestamp".into(), now.to_string().into());
        object.insert("level".into(), level.padded().trim_start().into());
        object.insert("message".into(), message.into());
        for (key, value) in fields {
            let value = value.to_string();
            if !value.is_empty() {
                object.insert((*key).into(), value.into());
            }
        }
        line = serde_json::Value::Object(object).to_string();
    } else {
        let _ = write!(line, "{} {message}", level.padded());
        for (key, value) in fields {
            let value = value.to_string();
            if !value.is_empty() {
                let _ = write!(line, " {key}={value}");
            }
        }
    }
    line.push('\n');
    line.into_bytes()
}

/// Cuts `text` to [`MAX_MESSAGE`] bytes at a character boundary, marking the cut.
fn truncate(text: &mut String) {
    if text.len() <= MAX_MESSAGE {
        return;
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(" [cut]");
}

/// Whether the writer thread runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// No line yet.
    NotStarted,
    /// It writes the queue out.
    Running,
    /// It could not be started (a process limit): lines are written only when stderr
    /// can take them at once.
    Unavailable,
}

/// Lines waiting for the writer, and what the writer is doing.
struct Queue {
    /// Complete lines, oldest first.
    lines: VecDeque<Vec<u8>>,
    /// Whether the writer holds a line it is writing.
    writing: bool,
    /// Lines dropped since the last notice.
    dropped: u64,
    /// The writer thread's state.
    writer: Writer,
}

/// The queue, and the two conditions threads wait on.
struct Sink {
    /// The queue.
    queue: Mutex<Queue>,
    /// Signalled when a line is queued.
    work: Condvar,
    /// Signalled when the writer has nothing left.
    drained: Condvar,
}

/// The one sink of the process.
static SINK: Sink = Sink {
    queue: Mutex::new(Queue {
        lines: VecDeque::new(),
        writing: false,
        dropped: 0,
        writer: Writer::NotStarted,
    }),
    work: Condvar::new(),
    drained: Condvar::new(),
};

/// Locks the queue. A panic aborts liftoff (`panic = "abort"`), so the lock is never
/// poisoned in practice; if it were, the queue is still consistent.
fn lock() -> MutexGuard<'static, Queue> {
    SINK.queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Queues `line`, starting the writer on the first one; never blocks on stderr.
fn push(line: Vec<u8>) {
    let mut queue = lock();
    if queue.writer == Writer::NotStarted {
        queue.writer = match std::thread::Builder::new()
            .name("liftoff-log".into())
            .stack_size(WRITER_STACK)
            .spawn(write_queue)
        {
            Ok(_) => Writer::Running,
            Err(_) => Writer::Unavailable,
        };
    }
    if queue.writer == Writer::Unavailable {
        drop(queue);
        write_now(&line);
        return;
    }
    if queue.lines.len() >= QUEUE_LINES {
        queue.dropped += 1;
        return;
    }
    queue.lines.push_back(line);
    SINK.work.notify_one();
}

/// The writer thread: writes queued lines to stderr, blocking as long as stderr does.
fn write_queue() {
    loop {
        let (line, dropped) = {
            let mut queue = lock();
            queue.writing = false;
            while queue.lines.is_empty() {
                SINK.drained.notify_all();
                queue = SINK
                    .work
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            queue.writing = true;
            let line = queue.lines.pop_front().unwrap_or_default();
            (line, std::mem::take(&mut queue.dropped))
        };
        let lost = match (dropped, write_all(&line)) {
            (0, Ok(())) => 0,
            (n, Ok(())) => match write_all(&dropped_notice(n)) {
                Ok(()) => 0,
                Err(_) => n,
            },
            (n, Err(_)) => n + 1,
        };
        if lost > 0 {
            lock().dropped += lost;
        }
    }
}

/// The warning that `n` lines were dropped, in the current format.
fn dropped_notice(n: u64) -> Vec<u8> {
    let text = format!(
        "dropped {n} log line{} that stderr could not take (closed, full or not read)",
        if n == 1 { "" } else { "s" }
    );
    format_line(Level::Warn, &text, &[], JSON.load(Ordering::Relaxed) == 1)
}

/// Writes `bytes` to stderr, retrying after signals and partial writes; on failure, the
/// error number.
fn write_all(mut bytes: &[u8]) -> Result<(), i32> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of its length; fd 2 may be anything, and a
        // bad descriptor only makes the call fail.
        let n = unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return Err(libc::EIO),
            Ok(n) => bytes = &bytes[n..],
            Err(_) => match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => {}
                errno => return Err(errno.unwrap_or(libc::EIO)),
            },
        }
    }
    Ok(())
}

/// Without a writer thread: writes `line` only if stderr can take some of it at once,
/// and takes back the SIGPIPE a broken pipe raises in this thread, so it is not
/// forwarded to the server as if someone had sent it.
fn write_now(line: &[u8]) {
    let mut poll = libc::pollfd {
        fd: libc::STDERR_FILENO,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) } == 1 && poll.revents & libc::POLLOUT != 0;
    let result = if ready {
        write_all(line)
    } else {
        Err(libc::EAGAIN)
    };
    if result.is_err() {
        lock().dropped += 1;
    }
    if result == Err(libc::EPIPE) {
        take_own_sigpipe();
    }
}

/// Removes the SIGPIPE this thread's failed write raised. Linux takes a thread's own
/// pending signals before process-wide ones, so a SIGPIPE someone sent with `kill`
/// stays pending for the supervisor to forward.
#[cfg(target_os = "linux")]
fn take_own_sigpipe() {
    // SAFETY: the set is initialised by sigemptyset before use; a zero timeout never
    // blocks, and a missing signal only makes sigtimedwait fail with EAGAIN.
    unsafe {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(set.as_ptr(), std::ptr::null_mut(), &zero);
    }
}

/// Nothing to take: liftoff forwards signals only on Linux (supervise mode).
#[cfg(not(target_os = "linux"))]
fn take_own_sigpipe() {}

/// Logs at a level: `log!(Level::Info, "text {x}"; key = value, ...)`.
macro_rules! log {
    ($level:expr, $fmt:literal $(, $arg:expr)* $(,)? $(; $($key:ident = $value:expr),+ $(,)?)?) => {
        if $crate::log::enabled($level) {
            $crate::log::emit(
                $level,
                format_args!($fmt $(, $arg)*),
                &[$($((stringify!($key), &$value as &dyn ::std::fmt::Display)),+)?],
            );
        }
    };
}

/// Logs an error line.
macro_rules! error {
    ($($t:tt)+) => { $crate::log::log!($crate::log::Level::Error, $($t)+) };
}

/// Logs a warning.
macro_rules! warning {
    ($($t:tt)+) => { $crate::log::log!($crate::log::Level::Warn, $($t)+) };
}

/// Logs at info level.
macro_rules! info {
    ($($t:tt)+) => { $crate::log::log!($crate::log::Level::Info, $($t)+) };
}

/// Logs at debug level.
macro_rules! debug {
    ($($t:tt)+) => { $crate::log::log!($crate::log::Level::Debug, $($t)+) };
}

pub(crate) use {debug, error, info, log, warning};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_read_like_before_and_json_lines_parse() {
        let fields: [(&str, &dyn fmt::Display); 2] = [("code", &0), ("status", &"exited with 0")];
        let text = format_line(Level::Debug, "final status", &fields, false);
        assert_eq!(text, b"DEBUG final status code=0 status=exited with 0\n");
        assert_eq!(format_line(Level::Info, "x", &[], false), b" INFO x\n");
        let json = format_line(Level::Warn, "say \"hi\"", &fields, true);
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["level"], "WARN");
        assert_eq!(value["message"], "say \"hi\"");
        assert_eq!(value["code"], "0");
        assert!(
            value["timestamp"].as_str().unwrap().ends_with('Z'),
            "{value}"
        );
    }

    #[test]
    fn long_messages_are_cut_below_pipe_buf_at_a_character_boundary() {
        let mut text = "é".repeat(4000);
        truncate(&mut text);
        assert!(
            text.len() < 4096 - 100 && text.ends_with(" [cut]"),
            "{}",
            text.len()
        );
        let mut short = "short".to_string();
        truncate(&mut short);
        assert_eq!(short, "short");
    }

    #[test]
    fn levels_below_the_set_one_are_not_enabled() {
        let info = Level::Info as u8;
        assert!(allows(info, Level::Warn) && allows(info, Level::Info));
        assert!(!allows(info, Level::Debug));
        assert!(!allows(0, Level::Error), "nothing is logged before init");
    }
}
