//! liftoff's own output: stdout for what a command prints (`plan`, `config`, `check`,
//! help), stderr for messages.
//!
//! Every write goes through here because liftoff blocks SIGPIPE from its first
//! instruction (it must, to forward it): a reader that goes away, as in
//! `liftoff plan | head -1`, turns into EPIPE, and `print!` would panic on it. A closed
//! stream is not liftoff's failure, so what cannot be written is dropped.

use std::io::Write;

/// Writes `text` to stdout as is; a closed or broken stdout is ignored.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Writes `text` and a newline to stderr; a closed or broken stderr is ignored. Once
/// liftoff runs a program (logging is set up), the line goes through the log's queue, so
/// a stalled stderr cannot hold liftoff.
pub fn err(text: &str) {
    if crate::log::enabled(crate::log::Level::Error) {
        crate::log::raw(text);
        return;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}
