//! `env_file`: `KEY=VALUE` lines for the server's environment, as in a `.env` file.
//!
//! The format is the common subset of dotenv files and Docker's `--env-file`: one
//! assignment per line, `#` comments, blank lines, an optional `export ` in front, and
//! values that may be single-quoted (literal), double-quoted (with `\n`, `\t`, `\"` and
//! `\\` escapes) or bare (trimmed; ` #` starts a comment). Nothing is expanded: `$HOME`
//! stays `$HOME`, because expansion is what a shell does and liftoff is not one.
//!
//! Problems are listed with their line numbers, never with the value: env files hold
//! secrets, and an error message ends up in the container's log.

use std::path::Path;

use crate::exit::Failure;

/// One variable from the file, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    /// Its value, unquoted and unescaped.
    pub value: String,
    /// The 1-based line it was set on.
    pub line: usize,
}

/// Reads and parses `path`; `shown` names the key and its source for messages.
///
/// A missing, unreadable, oversized or non-regular file and malformed lines are
/// configuration errors (78): the file was named explicitly, so running without it would
/// start a misconfigured server. Every malformed line is its own problem.
pub fn read(path: &Path, shown: &str) -> anyhow::Result<Vec<Entry>> {
    let text = super::layers::read_small_file(path).map_err(|e| {
        Failure::Config(format!(
            "{shown}: failed to read {}: {e}; fix the path or remove the key",
            crate::exit::shown_path(path)
        ))
    })?;
    parse(&text).map_err(|problems| {
        let lines = problems.iter().map(|p| {
            format!(
                "{shown}: malformed line {}:{p}",
                crate::exit::shown_path(path)
            )
        });
        super::problems_failure(lines).into()
    })
}

/// Parses a whole file; on failure, every malformed line as `LINE: what is wrong`.
pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<String>> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    // A byte order mark some editors write is not part of the first name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        match parse_line(raw) {
            Ok(None) => {}
            Ok(Some((key, value))) => entries.push(Entry { key, value, line }),
            Err(problem) => problems.push(format!("{line}: {problem}")),
        }
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

/// One line: `None` for blank lines and comments, else the name and value.
fn parse_line(raw: &str) -> Result<Option<(String, String)>, String> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if line.contains('\0') {
        return Err("the line contains a NUL byte, which no program can receive".into());
    }
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
        _ => line,
    };
    let Some((key, rest)) = line.split_once('=') else {
        return Err("expected KEY=VALUE, found no `=`".into());
    };
    let key = key.trim_end();
    if !is_name(key) {
        // Never the text: a pasted secret often sits where the name should be.
        return Err(
            "expected KEY=VALUE with a name of letters, digits and `_`, not starting with a digit, before the `=`".into(),
        );
    }
    value(rest.trim_start())
        .map(|v| Some((key.to_string(), v)))
        .map_err(|e| format!("`{key}`: {e}"))
}

/// Whether `key` is a portable variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value after `=`: quoted or bare.
fn value(rest: &str) -> Result<String, String> {
    match rest.chars().next() {
        Some('\'') => quoted(&rest[1..], '\'', false),
        Some('"') => quoted(&rest[1..], '"', true),
        _ => Ok(bare(rest)),
    }
}

/// A bare value: up to an inline ` #` comment, trimmed.
fn bare(rest: &str) -> String {
    let end = rest
        .char_indices()
        .find(|&(i, c)| c == '#' && (i == 0 || rest[..i].ends_with(char::is_whitespace)))
        .map_or(rest.len(), |(i, _)| i);
    rest[..end].trim().to_string()
}

/// A quoted value after its opening quote; only a comment may follow the closing one.
fn quoted(body: &str, quote: char, escapes: bool) -> Result<String, String> {
    let mut value = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            let tail = body[i + 1..].trim_start();
            if !(tail.is_empty() || tail.starts_with('#')) {
                return Err(format!(
                    "unexpected text after the closing {quote} (quote the whole value)"
                ));
            }
            return Ok(value);
        }
        if escapes && c == '\\' {
            let Some((_, next)) = chars.next() else { break };
            value.push(match next {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => other,
            });
        } else {
            value.push(c);
        }
    }
    Err(format!(
        "the closing {quote} is missing (values must fit on one line)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_like_dotenv_files() {
        let cases = [
            ("A=1", "A", "1"),
            ("A = 1 ", "A", "1"),
            ("export A=1", "A", "1"),
            ("export   A=1", "A", "1"),
            ("A=", "A", ""),
            ("A=a=b", "A", "a=b"),
            ("A=x # comment", "A", "x"),
            ("A=x#not-a-comment", "A", "x#not-a-comment"),
            ("A=#", "A", ""),
            ("A='single $HOME \\n'", "A", "single $HOME \\n"),
            (
                "A=\"double \\\"q\\\" \\n\\t\\\\\"",
                "A",
                "double \"q\" \n\t\\",
            ),
            ("A=\"x\" # comment", "A", "x"),
            ("A='# not a comment'", "A", "# not a comment"),
            ("_x9=postgres://u:p@db/x", "_x9", "postgres://u:p@db/x"),
            ("A=$OTHER", "A", "$OTHER"),
        ];
        for (line, key, value) in cases {
            let entries = parse(line).unwrap_or_else(|e| panic!("{line:?}: {e:?}"));
            assert_eq!(
                entries,
                [Entry {
                    key: key.into(),
                    value: value.into(),
                    line: 1
                }],
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_and_export_with_a_tab_are_read() {
        let entries = parse("\u{feff}A=1\nexport\tB=2\nexported=3\n").unwrap();
        let got: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(got, [("A", "1"), ("B", "2"), ("exported", "3")]);
        let err = parse("A=sk\0secret\n").unwrap_err();
        assert!(
            err[0].contains("NUL") && !err[0].contains("secret"),
            "{err:?}"
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped_and_lines_are_counted() {
        let text = "# header\n\n   \nA=1\n  # indented comment\r\nB=2\r\n";
        let entries = parse(text).unwrap();
        let got: Vec<(&str, &str, usize)> = entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
            .collect();
        assert_eq!(got, [("A", "1", 4), ("B", "2", 6)]);
    }

    #[test]
    fn every_malformed_line_is_reported_without_its_text() {
        let text =
            "OK=1\nhunter2\n9LIVES=x\nA B=1\nC=\"open\nD='x' trailing\n=x\nsk_live+AbC/dEf9xYz==\n";
        let problems = parse(text).unwrap_err();
        let expected = [
            ("2:", "no `=`"),
            ("3:", "name of letters"),
            ("4:", "name of letters"),
            ("5:", "`C`: the closing \" is missing"),
            ("6:", "`D`: unexpected text after the closing '"),
            ("7:", "name of letters"),
            ("8:", "name of letters"),
        ];
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (problem, (line, text)) in problems.iter().zip(expected) {
            assert!(
                problem.starts_with(line) && problem.contains(text),
                "{problem:?} is not {line} {text}"
            );
        }
        assert!(
            problems.iter().all(|p| !p.contains("hunter2")
                && !p.contains("open")
                && !p.contains("sk_live")
                && !p.contains("9LIVES")),
            "{problems:?}"
        );
    }

    #[test]
    fn read_names_the_key_and_the_file() {
        let missing = Path::new("/nonexistent/liftoff-test.env");
        let err = read(missing, "env_file `x.env` (from liftoff.toml [prod])").unwrap_err();
        let failure = err.downcast_ref::<Failure>().unwrap();
        assert!(matches!(failure, Failure::Config(_)));
        let text = failure.to_string();
        assert!(
            text.contains("env_file `x.env` (from liftoff.toml [prod])")
                && text.contains("/nonexistent/liftoff-test.env"),
            "{text}"
        );
    }
}
