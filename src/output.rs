//! liftoff's own output: stdout for what a command prints, stderr for messages. SIGPIPE
//! is blocked from the start, so a closed reader is EPIPE, and what cannot be written is
//! dropped (`print!` would panic).

use std::io::Write;

/// Writes `text` to stdout as is; a closed or broken stdout is ignored.
pub fn out(text: &str) {
    #[cfg(test)]
    if captured(|c| c.out.push_str(text)) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// Writes `text` and a newline to stderr, through the log's queue once logging is set up
/// (so a stalled stderr cannot hold liftoff); a closed or broken stderr is ignored.
pub fn err(text: &str) {
    #[cfg(test)]
    if captured(|c| c.err.push(text.to_string())) {
        return;
    }
    if crate::log::enabled(crate::log::Level::Error) {
        crate::log::raw(text);
        return;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// What [`out`] and [`err`] were given on one thread while it captured them (tests only:
/// the fuzz harness checks what the commands print without printing it).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct Captured {
    /// stdout's text.
    pub out: String,
    /// stderr's lines, one per call to [`err`].
    pub err: Vec<String>,
}

#[cfg(test)]
thread_local! {
    /// This thread's capture, while [`capture`] runs.
    static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's output captured instead of written, and returns what it
/// wrote; a panic in `f` ends the capture too.
#[cfg(test)]
pub fn capture<T>(f: impl FnOnce() -> T) -> (T, Captured) {
    /// Takes the capture back when dropped, so a panic cannot leave it on.
    struct Guard;
    impl Drop for Guard {
        /// Ends the capture.
        fn drop(&mut self) {
            CAPTURE.with(|c| c.borrow_mut().take());
        }
    }
    CAPTURE.with(|c| *c.borrow_mut() = Some(Captured::default()));
    let guard = Guard;
    let value = f();
    let captured = CAPTURE.with(|c| c.borrow_mut().take()).unwrap_or_default();
    drop(guard);
    (value, captured)
}

/// Hands the capture to `f` when this thread captures; whether it does.
#[cfg(test)]
fn captured(f: impl FnOnce(&mut Captured)) -> bool {
    CAPTURE.with(|c| c.borrow_mut().as_mut().map(f).is_some())
}
