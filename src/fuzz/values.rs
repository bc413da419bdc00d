//! Target `values`: the parsers of what people type for one value: signals (`TERM`,
//! `SIGTERM`, `15`, `RTMIN+3`), rewrites and `FROM=TO` entries, signal targets, durations,
//! byte sizes, and probe URLs. The input is the text (lossy UTF-8).
//!
//! Invariants: no panic; every error is one line; what parses prints back to the same
//! value (signals, rewrites, durations, sizes, URLs); a `FROM=TO` entry that is accepted
//! is one liftoff can apply; a duration is at most a year, a size is not 0.

use toml::Value;

use super::{Target, feature};
use crate::plan::values::{Dur, FromEntry, FromValue, SignalRewrite, parse_scalar};
use crate::plan::workers::{format_bytes, parse_bytes};
use crate::signals::{Rewrite, Signal, SignalTarget};

/// The target.
pub static TARGET: Target = Target {
    name: "values",
    tokens: &[
        b"SIG", b"TERM", b"KILL", b"STOP", b"CHLD", b"QUIT", b"RTMIN", b"RTMAX", b"+", b"-",
        b"ignore", b"child", b"group", b"ms", b"us", b"ns", b"s", b"m", b"h", b"d", b"1m30s", b"K",
        b"MiB", b"GB", b"T", b"iB", b".", b"e", b"tcp://", b"http://", b":", b"@", b"?", b"[::1]",
        b"/", b"%",
    ],
    run,
};

/// Runs every parser on the input.
fn run(data: &[u8]) -> Option<Vec<u64>> {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    Some(vec![
        feature(("signal", signal(text))),
        feature(("rewrite", rewrite(text))),
        feature(("entry", entry(text))),
        feature(("target", target(text))),
        feature(("duration", duration(text))),
        feature(("size", size(text))),
        feature(("url", url(text))),
    ])
}

/// An error's shape, for the features, after checking that it is one line.
fn shape(err: &str) -> String {
    assert!(
        !err.contains(['\n', '\r']),
        "an error of several lines: {err:?}"
    );
    super::shape(err)
}

/// The order of magnitude of a number, for the features.
fn magnitude(n: u128) -> u32 {
    u128::BITS - n.leading_zeros()
}

/// A signal, printed and parsed back.
fn signal(text: &str) -> Result<i32, String> {
    let signal: Signal = text.parse().map_err(|e: String| shape(&e))?;
    assert_eq!(Signal::from_raw(signal.raw()), Some(signal));
    assert_eq!(signal.to_string().parse::<Signal>(), Ok(signal), "{text:?}");
    Ok(signal.raw())
}

/// A rewrite, printed and parsed back.
fn rewrite(text: &str) -> Result<String, String> {
    let rewrite: Rewrite = text.parse().map_err(|e: String| shape(&e))?;
    assert_eq!(
        rewrite.to_string().parse::<Rewrite>(),
        Ok(rewrite),
        "{text:?}"
    );
    Ok(rewrite.to_string())
}

/// `FROM=TO` as `--signal-map` and the `signals` table give it: accepted only when
/// liftoff can apply it.
fn entry(text: &str) -> Result<String, String> {
    let (from, to) = text.split_once('=').unwrap_or((text, ""));
    let as_text = SignalRewrite::from_entry(from, &Value::String(to.into()));
    let as_toml = SignalRewrite::from_entry(from, &parse_scalar(to));
    for entry in [&as_text, &as_toml].into_iter().flatten() {
        assert!(
            entry.from.is_forwardable(),
            "{text:?} rewrites {}",
            entry.from
        );
        if let Rewrite::Forward(to) = entry.to {
            assert!(to.is_forwardable(), "{text:?} rewrites to {to}");
        }
    }
    as_text.map(|e| e.to.to_string()).map_err(|e| shape(&e))
}

/// `child` or `group`.
fn target(text: &str) -> Result<String, String> {
    let target: SignalTarget = text.parse().map_err(|e: String| shape(&e))?;
    assert_eq!(target.to_string().parse::<SignalTarget>(), Ok(target));
    Ok(target.to_string())
}

/// A duration, as text and as a value of any layer; printed and parsed back.
fn duration(text: &str) -> Result<u32, String> {
    if let Ok(d) = Dur::from_value(&parse_scalar(text)) {
        assert!(d.0 <= Dur::MAX, "{text:?} gives {d}");
    }
    let d = Dur::parse(text).map_err(|e| shape(&e))?;
    assert!(d.0 <= Dur::MAX, "{text:?} gives {d}");
    assert_eq!(Dur::parse(&d.to_string()), Ok(d), "{text:?} prints as {d}");
    Ok(magnitude(d.0.as_nanos()))
}

/// A byte size; printed and parsed back (`format_bytes` says "N bytes" where no unit
/// divides, which `parse_bytes` reads without the word).
fn size(text: &str) -> Result<u32, String> {
    let bytes = parse_bytes(text).map_err(|e| shape(&e))?;
    assert!(bytes > 0, "{text:?} is 0 bytes");
    let shown = format_bytes(bytes);
    let again = parse_bytes(shown.trim_end_matches(" bytes"));
    assert_eq!(again, Ok(bytes), "{text:?} prints as {shown}");
    Ok(magnitude(u128::from(bytes)))
}

/// A probe URL; its text parses to the same URL.
fn url(text: &str) -> Result<bool, String> {
    let url = crate::probe::url::parse(text).map_err(|e| shape(&e))?;
    assert_eq!(crate::probe::url::parse(&url.to_string()), Ok(url.clone()));
    Ok(url.port == 80)
}
