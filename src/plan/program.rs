//! Finding the program the way a shell would, with the program's own `PATH` and
//! working directory, and saying how to install gunicorn or Flask when they are missing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::exit::Failure;
use crate::settings::ServerKind;

/// Resolves `word` like a shell would, with the program's own `PATH` and working directory.
pub(super) fn resolve_program(
    word: &str,
    env: &[(OsString, OsString)],
    cwd: &Path,
    server: ServerKind,
) -> anyhow::Result<PathBuf> {
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    match which::which_in(word, Some(&path), cwd) {
        Ok(found) => Ok(found),
        Err(_) => {
            let candidate = cwd.join(word);
            if word.contains('/') && candidate.exists() {
                return Err(Failure::NotExecutable(format!(
                    "{} is not executable (mark it with chmod +x, or run it through its interpreter)",
                    candidate.display()
                ))
                .into());
            }
            Err(Failure::NotFound(not_found(word, server)).into())
        }
    }
}

/// The message for a program that is not on `PATH`, with how to install the servers.
fn not_found(word: &str, server: ServerKind) -> String {
    let hint = match server {
        ServerKind::Gunicorn => {
            "; install it with `pip install gunicorn` (in this repository: `make venv`, then put .venv/bin on PATH)"
        }
        ServerKind::Flask => {
            "; install it with `pip install flask` (in this repository: `make venv`, then put .venv/bin on PATH)"
        }
        ServerKind::Command => "",
    };
    format!("program `{word}` not found on PATH{hint}")
}
