//! Finding the program the way a shell would, with the program's own `PATH` and working
//! directory, and saying what helps when it is missing.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::servers::Engine;
use crate::exit::Failure;

/// Resolves `word` like a shell would, with the program's own `PATH` and working directory.
pub fn resolve(
    word: impl AsRef<OsStr>,
    env: &[(OsString, OsString)],
    cwd: &Path,
    engine: Engine,
) -> anyhow::Result<PathBuf> {
    let word = word.as_ref();
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if let Ok(found) = which::which_in(word, Some(&path), cwd) {
        return Ok(found);
    }
    let shown = word.to_string_lossy();
    let candidate = cwd.join(word);
    if shown.contains('/') && candidate.exists() {
        return Err(Failure::NotExecutable(format!(
            "{} is not executable (mark it with chmod +x, or run it through its interpreter)",
            candidate.display().to_string().escape_debug()
        ))
        .into());
    }
    let install = match engine.row().install {
        "" => String::new(),
        install => format!("; install it with `{install}` in the image or venv"),
    };
    let searched = match path.to_string_lossy() {
        p if p.is_empty() => "PATH is empty".to_string(),
        p => format!("searched {}", p.escape_debug()),
    };
    Err(Failure::ProgramNotFound {
        word: shown.to_string(),
        // Escaped: a word may hold a line break, which would split the message.
        message: format!(
            "program `{}` not found on PATH ({searched}){install}",
            shown.escape_debug()
        ),
    }
    .into())
}

/// A `before` step's failure to resolve, naming the step (and never taken for the
/// program word itself).
pub fn in_step(err: anyhow::Error, n: usize, shown: &str) -> anyhow::Error {
    match err.downcast::<Failure>() {
        Ok(Failure::ProgramNotFound { message, .. }) => {
            Failure::NotFound(format!("before step {n} ({shown}): {message}")).into()
        }
        Ok(Failure::NotExecutable(m)) => {
            Failure::NotExecutable(format!("before step {n} ({shown}): {m}")).into()
        }
        Ok(other) => other.into(),
        Err(err) => err,
    }
}
