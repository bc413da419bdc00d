//! The one place that turns an outcome into liftoff's exit code: a [`Failure`] picks it,
//! anything else is liftoff's own failure (1).

use std::fmt;

/// Exit code for a command-line usage error (what clap uses too).
pub const USAGE: i32 = 2;
/// Exit code for a configuration error (`EX_CONFIG` from sysexits.h).
pub const CONFIG: i32 = 78;
/// Exit code for a dependency that never became available (`EX_UNAVAILABLE`).
pub const UNAVAILABLE: i32 = 69;
/// Exit code when the program exists but cannot be executed (as in a shell).
pub const NOT_EXECUTABLE: i32 = 126;
/// Exit code when the program cannot be found (as in a shell).
pub const NOT_FOUND: i32 = 127;
/// Exit code for liftoff's own failures.
pub const FAILURE: i32 = 1;

/// A failure whose kind decides the exit code; its message is printed as is.
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Config(String),
    Unavailable(String),
    NotFound(String),
    /// The program word itself was not found (`word` lets the caller add a hint).
    ProgramNotFound {
        word: String,
        message: String,
    },
    NotExecutable(String),
}

impl Failure {
    /// The exit code this failure maps to.
    pub fn code(&self) -> i32 {
        match self {
            Failure::Usage(_) => USAGE,
            Failure::Config(_) => CONFIG,
            Failure::Unavailable(_) => UNAVAILABLE,
            Failure::NotFound(_) | Failure::ProgramNotFound { .. } => NOT_FOUND,
            Failure::NotExecutable(_) => NOT_EXECUTABLE,
        }
    }
}

impl fmt::Display for Failure {
    /// Prints the message alone: the kind is already in the exit code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m)
            | Failure::Config(m)
            | Failure::Unavailable(m)
            | Failure::NotFound(m)
            | Failure::ProgramNotFound { message: m, .. }
            | Failure::NotExecutable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

/// Maps the result of a run to the exit code, printing an error as `liftoff: error: ...`
/// lines, one per problem.
pub fn code_for(result: anyhow::Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(err) => {
            for line in lines(&err) {
                crate::output::err(&format!("liftoff: error: {line}"));
            }
            code(&err)
        }
    }
}

/// The exit code of an error: its [`Failure`] kind's, else liftoff's own failure (1).
pub fn code(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<Failure>())
        .map_or(FAILURE, Failure::code)
}

/// The lines of an error: its context chain joined with `: `, split at newlines.
pub fn lines(err: &anyhow::Error) -> Vec<String> {
    let parts: Vec<String> = err.chain().map(ToString::to_string).collect();
    let text = parts.join(": ");
    text.lines().map(String::from).collect()
}

/// A path as messages show it: escaped, since a file name may hold a line break, which
/// would split the message (`Path::display` keeps it).
pub fn shown_path(path: &std::path::Path) -> String {
    path.display().to_string().escape_debug().to_string()
}

/// An I/O error as a short lowercase phrase, without "(os error N)".
pub fn os_error(err: &std::io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error ").next().unwrap_or_default();
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_kinds_pick_their_codes() {
        let cases = [
            (Failure::Usage("u".into()), 2),
            (Failure::Config("c".into()), 78),
            (Failure::Unavailable("x".into()), 69),
            (Failure::NotFound("n".into()), 127),
            (Failure::NotExecutable("e".into()), 126),
        ];
        for (failure, code) in cases {
            let err = anyhow::Error::new(failure).context("failed to start");
            assert_eq!(super::code(&err), code);
        }
        assert_eq!(code_for(Ok(143)), 143);
        assert_eq!(super::code(&anyhow::anyhow!("boom")), 1);
    }

    #[test]
    fn every_problem_of_a_list_gets_its_own_line() {
        let err = anyhow::Error::new(Failure::Config("a: one\nb: two".into()));
        assert_eq!(lines(&err), ["a: one", "b: two"]);
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert_eq!(os_error(&refused), "connection refused");
    }
}
