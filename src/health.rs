//! `liftoff health`: an HTTP probe for container health checks.
//!
//! Slim Python images have no curl or wget, so the image's `HEALTHCHECK` (and Kubernetes
//! exec probes, ECS container health checks) call liftoff itself: exit 0 when the URL
//! answers 2xx, otherwise exit 1 with one line on stderr saying why, which the engine keeps
//! in the container's health log.

use std::time::Duration;

use crate::exit::Failure;
use crate::http::{self, HttpError, Response};

/// Probes `url` once and returns the exit code: 0 on 2xx, 1 otherwise (after printing why).
///
/// A URL that is not `http://host:port/path` is a usage error (exit 2), not an unhealthy
/// server: it is a mistake in the probe's command line.
pub fn run(url: &str, timeout: Duration) -> anyhow::Result<i32> {
    let outcome = http::get(url, timeout);
    if let Err(HttpError::BadUrl(why)) = &outcome {
        return Err(Failure::Usage(format!("invalid --url {why}")).into());
    }
    let (code, why) = verdict(url, timeout, &outcome);
    if let Some(why) = why {
        crate::output::err(&why);
    }
    Ok(code)
}

/// Decides the exit code and the line to print for the outcome of a probe.
fn verdict(
    url: &str,
    timeout: Duration,
    outcome: &Result<Response, HttpError>,
) -> (i32, Option<String>) {
    match outcome {
        Ok(response) if (200..300).contains(&response.status) => (0, None),
        Ok(Response { status, reason }) => {
            let answer = format!("{status} {reason}");
            (
                1,
                Some(format!(
                    "liftoff health: {url} answered {}",
                    answer.trim_end()
                )),
            )
        }
        Err(HttpError::Timeout) => {
            let within = humantime::format_duration(timeout);
            (
                1,
                Some(format!(
                    "liftoff health: {url} did not answer within {within}"
                )),
            )
        }
        Err(err) => (1, Some(format!("liftoff health: {url}: {err}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8000/health";

    /// A response with this status and reason.
    fn answered(status: u16, reason: &str) -> Result<Response, HttpError> {
        Ok(Response {
            status,
            reason: reason.into(),
        })
    }

    #[test]
    fn verdicts() {
        let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
        let cases = [
            (answered(200, "OK"), 0, None),
            (answered(204, ""), 0, None),
            (answered(299, "X"), 0, None),
            (
                answered(199, "X"),
                1,
                Some(format!("liftoff health: {URL} answered 199 X")),
            ),
            (
                answered(301, "Moved Permanently"),
                1,
                Some(format!(
                    "liftoff health: {URL} answered 301 Moved Permanently"
                )),
            ),
            (
                answered(503, "Service Unavailable"),
                1,
                Some(format!(
                    "liftoff health: {URL} answered 503 Service Unavailable"
                )),
            ),
            (
                answered(500, ""),
                1,
                Some(format!("liftoff health: {URL} answered 500")),
            ),
            (
                Err(HttpError::Timeout),
                1,
                Some(format!(
                    "liftoff health: {URL} did not answer within 2s 500ms"
                )),
            ),
            (
                Err(HttpError::Connect {
                    addr: "127.0.0.1:8000".into(),
                    source: refused,
                }),
                1,
                Some(format!(
                    "liftoff health: {URL}: failed to connect to 127.0.0.1:8000: connection refused"
                )),
            ),
            (
                Err(HttpError::Malformed(
                    "expected a status line, got \"hi\"".into(),
                )),
                1,
                Some(format!(
                    "liftoff health: {URL}: not an http response: expected a status line, got \"hi\""
                )),
            ),
        ];
        for (outcome, code, line) in cases {
            assert_eq!(
                verdict(URL, Duration::from_millis(2500), &outcome),
                (code, line)
            );
        }
    }

    #[test]
    fn a_bad_url_is_a_usage_error() {
        let err = run("https://127.0.0.1/health", Duration::from_secs(1)).unwrap_err();
        assert_eq!(crate::exit::code_for(Err(err)), crate::exit::USAGE);
    }
}
