//! A minimal HTTP/1.1 GET for probes: it reads only the status line (no TLS, redirects or
//! body), and the whole exchange shares one deadline, so a server that never answers, or
//! trickles one byte at a time, still ends at the timeout.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use super::url::Url;
use super::{Down, is_timeout, remaining};

/// The longest status line accepted; anything longer is not HTTP.
const MAX_STATUS_LINE: usize = 8192;

/// The part of a response a probe needs: the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The reason phrase as sent (may be empty).
    pub reason: String,
}

/// Why an exchange did not produce a 2xx status line.
#[derive(Debug)]
pub enum HttpError {
    Malformed(String),
    /// The connection failed after it was made.
    Io(io::Error),
    Status(Response),
}

impl fmt::Display for HttpError {
    /// One lowercase line, meant to follow "URL: " in a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Malformed(msg) => write!(f, "not an http response: {msg}"),
            HttpError::Io(err) => write!(f, "connection failed: {}", crate::exit::os_error(err)),
            HttpError::Status(r) => {
                let text = format!("answered {} {}", r.status, r.reason);
                f.write_str(text.trim_end())
            }
        }
    }
}

/// Sends `GET url` and returns the status line, all before `deadline`.
pub fn get(url: &Url, deadline: Instant) -> Result<Response, Down> {
    let mut stream = super::connect(url, deadline)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: liftoff/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.authority,
        env!("CARGO_PKG_VERSION"),
    );
    stream
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(|e| Down::Http(HttpError::Io(e)))?;
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let line = read_status_line(&mut stream, deadline)?;
    parse_status_line(&line).map_err(Down::Http)
}

/// Reads up to the end of the first line, each read bounded by the deadline.
fn read_status_line(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, Down> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        stream
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(|e| Down::Http(HttpError::Io(e)))?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(io_error(err)),
        };
        if n == 0 {
            return Err(Down::Http(HttpError::Malformed(if line.is_empty() {
                "the connection closed without an answer".to_string()
            } else {
                format!(
                    "the connection closed inside the status line {}",
                    quote(&line)
                )
            })));
        }
        line.extend_from_slice(&chunk[..n]);
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            line.truncate(end);
            return Ok(line);
        }
        if line.len() > MAX_STATUS_LINE {
            return Err(Down::Http(HttpError::Malformed(format!(
                "no end of line in the first {MAX_STATUS_LINE} bytes {}",
                quote(&line)
            ))));
        }
    }
}

/// Maps an I/O error after connecting: timeouts become [`Down::TimedOut`].
fn io_error(err: io::Error) -> Down {
    if is_timeout(&err) {
        Down::TimedOut
    } else {
        Down::Http(HttpError::Io(err))
    }
}

/// Bytes from the peer as a short quoted string, safe to print on one line.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]);
    let more = if bytes.len() > 60 { "..." } else { "" };
    format!("{text:?}{more}")
}

/// Parses `HTTP/1.1 200 OK` (a trailing `\r` allowed); interim 1xx are returned as they are
/// (probes send no `Expect`).
fn parse_status_line(line: &[u8]) -> Result<Response, HttpError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let malformed = || HttpError::Malformed(format!("expected a status line, got {}", quote(line)));
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let (version, rest) = text.split_once(' ').ok_or_else(malformed)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let valid = matches!(
        version.as_bytes(),
        [b'H', b'T', b'T', b'P', b'/', b'0'..=b'9', b'.', b'0'..=b'9']
    ) && matches!(code.as_bytes(), [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'])
        && !reason.chars().any(char::is_control);
    if !valid {
        return Err(malformed());
    }
    let status = code.parse().map_err(|_| malformed())?;
    Ok(Response {
        status,
        reason: reason.to_string(),
    })
}

#[cfg(test)]
mod tests;
