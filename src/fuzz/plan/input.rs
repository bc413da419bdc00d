//! The `plan` target's input format: header lines, then the config file.
//!
//! ```text
//! # argv: plan prod --port 0     words after `liftoff`; several lines add up; none: `check`
//! # env: PORT=\xff               one environment variable, NAME=VALUE
//! # envfile: export\tA=1         one line of `liftoff.env`, next to the config file
//! [prod]                         everything after the header is the config file
//! ```
//!
//! Header values take the escapes `\xHH`, `\n`, `\t`, `\s` (a space) and `\\`; any other
//! backslash is itself. Words are split at spaces. As in a real process, an argument or
//! variable ends at a NUL, and a variable's name at its first `=` after the first byte.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use toml::Value;

use crate::plan::values::parse_scalar;

/// Flags whose values the harness decides: only its own files are read, nothing waits.
const HARNESS_FLAGS: &[&str] = &["--config", "--env-file", "--wait-for"];

/// Paths the inputs may not reach: devices that never end (`/dev/zero`), FIFOs, the
/// kernel's files. The real binary refuses them (tests/it/bad_input.rs runs them with a
/// deadline); here they would only risk a hang the harness cannot stop.
const OUTSIDE: &[&str] = &["/dev", "/proc", "/sys", "dev/", "proc/", "sys/"];

/// One input, parsed.
#[derive(Debug, Default)]
pub struct Input {
    /// The words after `liftoff`, without [`HARNESS_FLAGS`].
    pub argv: Vec<OsString>,
    /// The environment.
    pub env: Vec<(OsString, OsString)>,
    /// The env file's text, when the input has one.
    pub envfile: Option<Vec<u8>>,
    /// The config file's bytes.
    pub config: Vec<u8>,
}

impl Input {
    /// Reads the header, then takes the rest as the config file.
    pub fn parse(data: &[u8]) -> Input {
        let mut input = Input::default();
        let mut rest = data;
        while !rest.is_empty() {
            let (line, after) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &[][..]),
            };
            if let Some(words) = line.strip_prefix(b"# argv:") {
                let words = words.split(|&b| b == b' ').filter(|w| !w.is_empty());
                input
                    .argv
                    .extend(words.map(|w| OsString::from_vec(until_nul(unescape(w)))));
            } else if let Some(var) = line.strip_prefix(b"# env:") {
                input
                    .env
                    .extend(variable(until_nul(unescape(var.trim_ascii_start()))));
            } else if let Some(text) = line.strip_prefix(b"# envfile:") {
                let file = input.envfile.get_or_insert_with(Vec::new);
                file.extend(unescape(text.strip_prefix(b" ").unwrap_or(text)));
                file.push(b'\n');
            } else {
                break;
            }
            rest = after;
        }
        input.config = rest.to_vec();
        input.argv = without_harness_flags(std::mem::take(&mut input.argv));
        input
    }

    /// The command line and environment for the config file at `config`: `--config`, or
    /// `LIFTOFF_CONFIG` pointed at it when the input sets that to a UTF-8 path; a `PATH`
    /// when the input has none; and `canary`, a secret in the `env` table.
    pub fn command_line(
        &self,
        config: &Path,
        canary: &str,
    ) -> (Vec<OsString>, Vec<(OsString, OsString)>) {
        let mut env = self.env.clone();
        let mut args = vec![OsString::from("liftoff")];
        match env.iter_mut().find(|(k, _)| k == "LIFTOFF_CONFIG") {
            Some((_, v)) if v.to_str().is_some_and(|v| !v.is_empty()) => *v = config.into(),
            Some(_) => {}
            None => args.extend([OsString::from("--config"), config.into()]),
        }
        match self.argv.is_empty() {
            true => args.push("check".into()),
            false => args.extend(self.argv.iter().cloned()),
        }
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        }
        env.push(("LIFTOFF_ENV__FUZZ_CANARY".into(), canary.into()));
        (args, env)
    }

    /// Whether the command line asks to show secrets (`--show-env`, anywhere).
    pub fn reveals(&self) -> bool {
        self.argv
            .iter()
            .any(|w| w.as_bytes().starts_with(b"--show"))
    }

    /// Whether any text of the input, as written or as liftoff reads it (a TOML value),
    /// names a path under [`OUTSIDE`].
    pub fn reaches_outside(&self) -> bool {
        let raw = [&self.config, self.envfile.as_deref().unwrap_or_default()];
        let raw = raw
            .into_iter()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        raw.chain(self.texts())
            .any(|text| OUTSIDE.iter().any(|o| text.contains(o)))
    }

    /// The input's texts that a message could repeat: the words, the variables' names and
    /// values, and the config file's keys and strings, each as written and as read.
    pub fn texts(&self) -> Vec<String> {
        let mut found = Vec::new();
        let words = self.argv.iter();
        let vars = self.env.iter().flat_map(|(k, v)| [k, v]);
        for text in words.chain(vars) {
            let text = text.to_string_lossy().into_owned();
            strings(&parse_scalar(&text), &mut found);
            found.push(text);
        }
        let config = String::from_utf8_lossy(&self.config);
        if let Ok(table) = toml::from_str::<toml::Table>(&config) {
            strings(&Value::Table(table), &mut found);
        }
        found
    }
}

/// Every string and key in `value`.
fn strings(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(s) => found.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, found)),
        Value::Table(table) => {
            for (key, value) in table {
                found.push(key.clone());
                strings(value, found);
            }
        }
        _ => {}
    }
}

/// The words without [`HARNESS_FLAGS`] and their values.
fn without_harness_flags(words: Vec<OsString>) -> Vec<OsString> {
    let mut kept = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let bytes = word.as_bytes();
        let flag = HARNESS_FLAGS
            .iter()
            .find(|f| bytes.starts_with(f.as_bytes()));
        match flag.map(|f| &bytes[f.len()..]) {
            Some([]) => {
                words.next();
            }
            Some([b'=', ..]) => {}
            _ => kept.push(word),
        }
    }
    kept
}

/// `NAME=VALUE` as the C library splits an environment entry.
fn variable(entry: Vec<u8>) -> Option<(OsString, OsString)> {
    let at = entry.iter().skip(1).position(|&b| b == b'=')? + 1;
    let value = entry[at + 1..].to_vec();
    let mut name = entry;
    name.truncate(at);
    Some((OsString::from_vec(name), OsString::from_vec(value)))
}

/// The bytes before the first NUL.
fn until_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        bytes.truncate(at);
    }
    bytes
}

/// Undoes the header's escapes.
fn unescape(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let (byte, used) = match (text[i], text.get(i + 1)) {
            (b'\\', Some(b'n')) => (b'\n', 2),
            (b'\\', Some(b't')) => (b'\t', 2),
            (b'\\', Some(b's')) => (b' ', 2),
            (b'\\', Some(b'\\')) => (b'\\', 2),
            (b'\\', Some(b'x')) => match text.get(i + 2..i + 4).and_then(hex) {
                Some(byte) => (byte, 4),
                None => (b'\\', 1),
            },
            (byte, _) => (byte, 1),
        };
        out.push(byte);
        i += used;
    }
    out
}

/// Two hex digits as a byte.
fn hex(digits: &[u8]) -> Option<u8> {
    u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_gives_words_variables_and_an_env_file() {
        let input = Input::parse(
            b"# argv: plan dev --config /etc/x --port\\s8 --wait-for=tcp://x:1\n# env: PORT=\\xff\n# env: =x\n# env: A=b=c\\x00d\n# envfile: export\\tA=1\n[dev]\nport = 1\n",
        );
        let words: Vec<&[u8]> = input.argv.iter().map(|w| w.as_bytes()).collect();
        assert_eq!(words, [&b"plan"[..], b"dev", b"--port 8"]);
        let env: Vec<(&[u8], &[u8])> = input
            .env
            .iter()
            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
            .collect();
        assert_eq!(env, [(&b"PORT"[..], &b"\xff"[..]), (b"A", b"b=c")]);
        assert_eq!(input.envfile.as_deref(), Some(&b"export\tA=1\n"[..]));
        assert_eq!(input.config, b"[dev]\nport = 1\n");
        assert!(!input.reaches_outside());
        assert!(Input::parse(b"[prod]\nenv_file = \"\\u002fdev\\u002fzero\"\n").reaches_outside());
    }
}
