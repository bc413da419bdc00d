//! Logging setup: liftoff's own lines go to stderr, as text or JSON.
//!
//! stdout belongs to the server, so nothing of liftoff's is ever written there. Set up
//! once the plan is resolved (errors before that are printed by `exit::code_for`), and
//! only when something will be logged, so that the exec path stays cheap.

use tracing::level_filters::LevelFilter;

use crate::settings::{LogFormat, LogLevel};

/// Installs the global subscriber for liftoff's own log lines.
pub fn init(level: LogLevel, format: LogFormat) {
    let filter = match level {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(filter)
        .with_target(false)
        .with_ansi(false);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match format {
        LogFormat::Text => builder.without_time().try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
