//! liftoff's own log lines on stderr, as text or JSON, written so they can never stop
//! PID 1: a stalled, closed or full stderr may not delay reaping, forwarding or a
//! deadline. So the supervising thread only queues lines; a writer thread writes them.
//!
//! - A full queue or a failed write drops the line and counts it; the next line written
//!   is preceded by one warning saying how many.
//! - The writer blocks alone. Its SIGPIPE stays pending on its own thread (every signal is
//!   blocked), so the supervisor never sees or forwards it.
//! - [`flush`] gives the writer a short, bounded time before liftoff exits or execs.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long [`flush`] waits for the writer before liftoff exits or execs anyway.
pub const FLUSH_TIMEOUT: Duration = Duration::from_millis(250);

/// The most lines waiting for the writer; more are dropped and counted.
const QUEUE_LINES: usize = 1024;

/// The longest message kept, in bytes: a line stays below `PIPE_BUF` (4096), so a write to
/// a pipe shared with the server is never interleaved with its output.
const MAX_MESSAGE: usize = 3000;

const WRITER_STACK: usize = 64 * 1024;

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
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
    Text,
    Json,
}

/// The level lines must reach to be written (0: nothing yet).
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

/// Formats one line and queues it; a field that prints as nothing is left out.
pub fn emit(level: Level, message: fmt::Arguments<'_>, fields: &[(&str, &dyn fmt::Display)]) {
    let json = JSON.load(Ordering::Relaxed) == 1;
    let mut text = message.to_string();
    truncate(&mut text);
    push(format_line(level, &text, fields, json));
}

/// Queues `text` as a line of its own, without level or fields (liftoff's last error).
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
    while queue.started && (!queue.lines.is_empty() || queue.writing) {
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

/// Lines waiting for the writer, and what the writer is doing.
struct Queue {
    lines: VecDeque<Vec<u8>>,
    /// Whether the writer holds a line it is writing.
    writing: bool,
    dropped: u64,
    /// Whether the writer thread runs (when it cannot be started, lines are dropped).
    started: bool,
}

/// The queue, and the two conditions threads wait on.
struct Sink {
    queue: Mutex<Queue>,
    work: Condvar,
    drained: Condvar,
}

static SINK: Sink = Sink {
    queue: Mutex::new(Queue {
        lines: VecDeque::new(),
        writing: false,
        dropped: 0,
        started: false,
    }),
    work: Condvar::new(),
    drained: Condvar::new(),
};

/// Locks the queue; a poisoned lock (never, with `panic = "abort"`) is still consistent.
fn lock() -> MutexGuard<'static, Queue> {
    SINK.queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Queues `line`, starting the writer on the first one; never blocks on stderr. Without
/// a writer (a process limit refused the thread) the line is dropped and counted.
fn push(line: Vec<u8>) {
    let mut queue = lock();
    if !queue.started {
        queue.started = std::thread::Builder::new()
            .name("liftoff-log".into())
            .stack_size(WRITER_STACK)
            .spawn(write_queue)
            .is_ok();
    }
    if !queue.started || queue.lines.len() >= QUEUE_LINES {
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

/// Writes `bytes` to stderr, retrying after signals and partial writes; else the errno.
fn write_all(mut bytes: &[u8]) -> Result<(), i32> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for its length; a bad fd 2 only makes the call fail.
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
