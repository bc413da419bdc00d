//! `liftoff health`: an HTTP probe for `HEALTHCHECK` and exec probes (slim images have no
//! curl): exit 0 on 2xx, else 1 and one line saying why. With a full URL it reads no
//! configuration, so a typo in a ConfigMap cannot fail every probe.

use std::ffi::OsString;
use std::time::Duration;

use super::{load, strict};
use crate::cli::{GlobalArgs, HealthArgs};
use crate::exit::Failure;
use crate::plan::values::{Dur, FromValue, Port};
use crate::probe::http::HttpError;
use crate::probe::url::{self, Scheme};
use crate::probe::{Down, within};

/// Probes once and returns the exit code: 0 on 2xx, 1 otherwise (after printing why).
pub fn run(
    global: &GlobalArgs,
    env: Vec<(OsString, OsString)>,
    args: &HealthArgs,
) -> anyhow::Result<i32> {
    let timeout = Dur::parse(&args.timeout)
        .map_err(|e| Failure::Usage(format!("--timeout: {e}")))?
        .0
        .max(Duration::from_millis(1));
    let text = match &args.url {
        Some(url) if !url.starts_with('/') => url.clone(),
        path => {
            let layers = strict(load(global.config.as_deref(), env, &global.keys.0, global)?)?;
            let (merged, _, _) = crate::plan::merge(&layers, Some("prod"))?;
            let port = merged
                .value("port")
                .and_then(|v| Port::from_value(v).ok())
                .and_then(Port::number)
                .unwrap_or(8000);
            let default_path = merged
                .value("health_path")
                .and_then(|v| v.as_str().map(String::from));
            let path = path
                .clone()
                .or(default_path)
                .unwrap_or_else(|| "/health".into());
            format!("http://127.0.0.1:{port}{path}")
        }
    };
    let target = url::parse(&text).map_err(|why| Failure::Usage(format!("invalid --url {why}")))?;
    if target.scheme != Scheme::Http {
        return Err(Failure::Usage(format!(
            "invalid --url `{text}`: health probes http:// urls"
        ))
        .into());
    }
    let probed = within(timeout, move || crate::probe::probe(&target, timeout))
        .unwrap_or(Err(Down::TimedOut));
    let why = match probed {
        Ok(()) => return Ok(0),
        Err(Down::TimedOut) => format!(
            " did not answer within {}",
            humantime::format_duration(timeout)
        ),
        Err(why @ Down::Http(HttpError::Status(_))) => format!(" {why}"),
        Err(why) => format!(": {why}"),
    };
    crate::output::err(&format!("liftoff: error: {text}{why}"));
    Ok(1)
}
