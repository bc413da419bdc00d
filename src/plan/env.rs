//! The program's environment: liftoff's own with the plan's changes, and what of it may
//! be shown (secret-looking values masked).

use std::collections::BTreeMap;
use std::ffi::OsString;

/// The program's environment: liftoff's own, with `changes` laid over it.
pub(super) fn merge(
    base: &[(OsString, OsString)],
    changes: &BTreeMap<String, String>,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = base
        .iter()
        .filter(|(k, _)| k.to_str().is_none_or(|k| !changes.contains_key(k)))
        .cloned()
        .collect();
    env.extend(
        changes
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v))),
    );
    env
}

/// Variables whose values `plan` and `config` show: liftoff's own and settings that never
/// hold secrets. Every other value liftoff adds to the environment is shown as `***`
/// (unless `--show-env`): a list of what is harmless cannot miss a secret the way a list
/// of what looks secret does (`PW`, `GITHUB_PAT`, `JWT`, `STRIPE_SK`, ...).
const SHOWN: &[&str] = &[
    "WEB_CONCURRENCY",
    "PYTHON_CPU_COUNT",
    "HOME",
    "USER",
    "LOGNAME",
    "PATH",
    "TZ",
    "LANG",
    "LANGUAGE",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPATH",
    "PYTHONOPTIMIZE",
    "DJANGO_SETTINGS_MODULE",
    "FLASK_APP",
    "ENVIRONMENT",
    "APP_ENV",
    "LOG_LEVEL",
];

/// What `plan` and `config` show of the variable `name = value`: the value when `name`
/// is one of [`SHOWN`] (or `LC_*`), or when `reveal` (`--show-env`), else `***`.
pub fn mask(name: &str, value: &str, reveal: bool) -> String {
    if reveal || SHOWN.contains(&name) || name.starts_with("LC_") {
        value.to_string()
    } else {
        "***".into()
    }
}

/// An argv (or `before` step, `command`, `extra_args`, `wait_for`) as `plan` and
/// `config` show it: every word through [`mask_word`], and the word after an option
/// whose name looks secret (`--password hunter2`) as `***`.
pub fn mask_words(words: &[String], reveal: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut hide_next = false;
    for word in words {
        if reveal {
            out.push(word.clone());
            continue;
        }
        out.push(if hide_next {
            "***".into()
        } else {
            mask_word(word)
        });
        hide_next = word.starts_with('-') && !word.contains('=') && secret_name(word);
    }
    out
}

/// One word with its secrets as `***`: a URL's password and query values, and the value
/// of each `name=value` (or `name:value`-free `--name=value`) part whose name looks
/// secret, in a connection string too (`Server=db;Password=x`).
pub fn mask_word(word: &str) -> String {
    if let Some((scheme, rest)) = word.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b))
    {
        return format!("{scheme}://{}", mask_url(rest));
    }
    word.split(';')
        .map(|part| match part.split_once('=') {
            Some((name, _)) if secret_name(name) => format!("{name}=***"),
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// A URL after `scheme://`: the password of `user:password@` and every query value
/// masked. The userinfo ends at the last `@` before the query, so a `/` in a password
/// cannot hide it.
fn mask_url(rest: &str) -> String {
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let before_query = match before_query.rfind('@') {
        Some(at) => match before_query[..at].split_once(':') {
            Some((user, _)) => format!("{user}:***{}", &before_query[at..]),
            None => before_query.to_string(),
        },
        None => before_query.to_string(),
    };
    match query {
        None => before_query,
        Some(query) => {
            let (query, fragment) = query
                .split_once('#')
                .map_or((query, None), |(q, f)| (q, Some(f)));
            let masked: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=***"),
                    None => pair.to_string(),
                })
                .collect();
            let fragment = fragment.map_or(String::new(), |f| format!("#{f}"));
            format!("{before_query}?{}{fragment}", masked.join("&"))
        }
    }
}

/// Whether an option or parameter name looks like it holds a secret: one of its parts
/// (split at `-`, `_`, `.`, spaces) is PW, PWD, PAT, JWT, DSN, SK or KEY, or contains
/// PASS, SECRET, TOKEN, CRED, AUTH, SESSION, COOKIE, PRIVATE, SIGNATURE or APIKEY.
fn secret_name(name: &str) -> bool {
    /// Whole parts that are secrets' names.
    const PARTS: &[&str] = &["PW", "PWD", "PAT", "JWT", "DSN", "SK", "KEY"];
    /// Pieces that make a part a secret's name.
    const PIECES: &[&str] = &[
        "PASS",
        "SECRET",
        "TOKEN",
        "CRED",
        "AUTH",
        "SESSION",
        "COOKIE",
        "PRIVATE",
        "SIGNATURE",
        "APIKEY",
    ];
    name.to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|part| PARTS.contains(&part) || PIECES.iter().any(|p| part.contains(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_are_shown_only_for_harmless_names() {
        let secret_shapes = [
            ("DATABASE_URL", "postgres://app:pa/ss@db/app"),
            ("PW", "hunter2"),
            ("GITHUB_PAT", "ghp_0123456789abcdef"),
            ("JWT", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
            ("STRIPE_SK", "sk_live_abc"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"),
            ("SQLSERVER", "Server=db;User Id=app;Password=p;"),
            ("QUEUE", "high"),
        ];
        for (name, value) in secret_shapes {
            assert_eq!(mask(name, value, false), "***", "{name}");
            assert_eq!(mask(name, value, true), value, "{name} with --show-env");
        }
        for (name, value) in [
            ("WEB_CONCURRENCY", "5"),
            ("HOME", "/home/app"),
            ("LC_ALL", "C.UTF-8"),
            ("TZ", "UTC"),
        ] {
            assert_eq!(mask(name, value, false), value, "{name}");
        }
    }

    #[test]
    fn secrets_in_words_are_masked_and_the_rest_is_kept() {
        let rows = [
            (
                "postgres://user:pa/ss@host/db",
                "postgres://user:***@host/db",
            ),
            (
                "postgres://app:s3cret@db:5432/x",
                "postgres://app:***@db:5432/x",
            ),
            ("redis://:secret@cache:6379/0", "redis://:***@cache:6379/0"),
            ("redis://cache:6379/0", "redis://cache:6379/0"),
            ("https://user@host/", "https://user@host/"),
            ("https://example.org/a@b", "https://example.org/a@b"),
            (
                "http://api/health?token=abc&ready=1#top",
                "http://api/health?token=***&ready=***#top",
            ),
            ("tcp://db:5432", "tcp://db:5432"),
            ("--api-key=sk_live_x", "--api-key=***"),
            ("--password=hunter2", "--password=***"),
            ("GITHUB_PAT=ghp_x", "GITHUB_PAT=***"),
            (
                "Server=db;User Id=app;Password=p;",
                "Server=db;User Id=app;Password=***;",
            ),
            ("app:create_app()", "app:create_app()"),
            ("--workers=5", "--workers=5"),
            ("TASK=build", "TASK=build"),
        ];
        for (word, shown) in rows {
            assert_eq!(mask_word(word), shown, "{word}");
        }
        let argv: Vec<String> = ["flask", "--token", "ghp_x", "--port", "8000", "-p", "x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            mask_words(&argv, false),
            ["flask", "--token", "***", "--port", "8000", "-p", "x"]
        );
        assert_eq!(mask_words(&argv, true), argv);
    }
}
