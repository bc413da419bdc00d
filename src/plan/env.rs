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

/// `***` for values of names that look secret, else the value.
pub fn mask(name: &str, value: &str) -> String {
    /// Parts of variable names whose values are secrets.
    const SECRET: &[&str] = &[
        "PASS",
        "SECRET",
        "TOKEN",
        "KEY",
        "CREDENTIAL",
        "AUTH",
        "DSN",
        "COOKIE",
        "SESSION",
        "PRIVATE",
    ];
    let upper = name.to_ascii_uppercase();
    if SECRET.iter().any(|s| upper.contains(s)) {
        return "***".into();
    }
    mask_url_password(value)
}

/// `scheme://user:***@host/...` for a URL with a password (DATABASE_URL and friends).
fn mask_url_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return value.into();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => value.into(),
    }
}
