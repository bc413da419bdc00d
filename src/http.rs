//! A minimal HTTP/1.1 GET client on std networking, with timeouts.
//!
//! It exists for probes (`liftoff health`, and `wait_for` before a server starts): it sends
//! one GET to an `http://host[:port]/path` URL and reads only the status line. There is no
//! TLS, no redirects and no body: a probe asks "does it answer 2xx?", nothing more. The whole
//! exchange (connect, write, read) shares one deadline, so a server that accepts and never
//! answers, or trickles one byte at a time, still ends at the timeout. Name resolution uses
//! the system resolver and is not bounded by the deadline (probes use loopback addresses).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The longest status line accepted; anything longer is not HTTP.
const MAX_STATUS_LINE: usize = 8192;

/// The part of a response a probe needs: the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The reason phrase as the server sent it (may be empty), e.g. "OK".
    pub reason: String,
}

/// Why a GET did not produce a status line.
#[derive(Debug)]
pub enum HttpError {
    /// The URL is not `http://host[:port][/path]`.
    BadUrl(String),
    /// No connection could be made to any address of the host.
    Connect {
        /// `host:port` as given, or the last address tried.
        addr: String,
        /// The last connection error.
        source: io::Error,
    },
    /// The deadline passed before the status line arrived.
    Timeout,
    /// The peer answered something that is not an HTTP status line.
    Malformed(String),
    /// The connection failed after it was made.
    Io(io::Error),
}

impl fmt::Display for HttpError {
    /// One lowercase line, meant to follow "URL: " in a message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::BadUrl(msg) => write!(f, "invalid url: {msg}"),
            HttpError::Connect { addr, source } => {
                write!(f, "failed to connect to {addr}: {}", describe(source))
            }
            HttpError::Timeout => f.write_str("timed out"),
            HttpError::Malformed(msg) => write!(f, "not an http response: {msg}"),
            HttpError::Io(err) => write!(f, "connection failed: {}", describe(err)),
        }
    }
}

impl std::error::Error for HttpError {
    /// The underlying I/O error, where there is one.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Connect { source, .. } => Some(source),
            HttpError::Io(err) => Some(err),
            _ => None,
        }
    }
}

/// An `http://` URL taken apart: where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    /// Host to resolve and connect to (IPv6 without brackets).
    host: String,
    /// TCP port (80 when the URL has none).
    port: u16,
    /// Value of the `Host` header: the authority as written, brackets included.
    authority: String,
    /// Request target: path and query, always starting with `/`.
    target: String,
}

/// Sends `GET url` and returns the status line, all within `timeout`.
pub fn get(url: &str, timeout: Duration) -> Result<Response, HttpError> {
    let deadline = Instant::now() + timeout;
    let url = parse_url(url)?;
    let mut stream = connect(&url, deadline)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: liftoff/{}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target,
        url.authority,
        env!("CARGO_PKG_VERSION"),
    );
    stream
        .set_write_timeout(Some(remaining(deadline)?))
        .map_err(HttpError::Io)?;
    stream.write_all(request.as_bytes()).map_err(io_error)?;
    let line = read_status_line(&mut stream, deadline)?;
    parse_status_line(&line)
}

/// Connects to the first address of the host that accepts, within the deadline.
fn connect(url: &Url, deadline: Instant) -> Result<TcpStream, HttpError> {
    let given = url.host_port();
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|source| HttpError::Connect {
            addr: given.clone(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(err) if is_timeout(&err) => return Err(HttpError::Timeout),
            Err(err) => last = err,
        }
    }
    Err(HttpError::Connect {
        addr: given,
        source: last,
    })
}

/// Reads up to the end of the first line, each read bounded by what is left of the deadline.
fn read_status_line(stream: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, HttpError> {
    let mut line = Vec::new();
    let mut chunk = [0u8; 512];
    loop {
        stream
            .set_read_timeout(Some(remaining(deadline)?))
            .map_err(HttpError::Io)?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(io_error(err)),
        };
        if n == 0 {
            return Err(HttpError::Malformed(if line.is_empty() {
                "the connection closed without an answer".to_string()
            } else {
                format!(
                    "the connection closed inside the status line {}",
                    quote(&line)
                )
            }));
        }
        line.extend_from_slice(&chunk[..n]);
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            line.truncate(end);
            return Ok(line);
        }
        if line.len() > MAX_STATUS_LINE {
            return Err(HttpError::Malformed(format!(
                "no end of line in the first {MAX_STATUS_LINE} bytes {}",
                quote(&line)
            )));
        }
    }
}

/// The time left before the deadline, or [`HttpError::Timeout`] when none is left.
fn remaining(deadline: Instant) -> Result<Duration, HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(HttpError::Timeout)
    } else {
        Ok(left)
    }
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO` reports `EAGAIN`).
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Maps an I/O error after connecting: timeouts become [`HttpError::Timeout`].
fn io_error(err: io::Error) -> HttpError {
    if is_timeout(&err) {
        HttpError::Timeout
    } else {
        HttpError::Io(err)
    }
}

/// An I/O error as a short lowercase phrase: "connection refused", not
/// "Connection refused (os error 111)".
fn describe(err: &io::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Bytes from the peer as a short quoted string, safe to print on one line.
fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]);
    let more = if bytes.len() > 60 { "..." } else { "" };
    format!("{text:?}{more}")
}

impl Url {
    /// `host:port` for messages, with brackets around an IPv6 address.
    fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Takes an `http://host[:port][/path][?query]` URL apart; a fragment is dropped.
fn parse_url(url: &str) -> Result<Url, HttpError> {
    let bad = |why: &str| HttpError::BadUrl(format!("{url:?}: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected http://host:port/path"))?;
    if scheme.eq_ignore_ascii_case("https") {
        return Err(bad("https is not supported; probes speak plain http"));
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err(bad("only http:// urls are supported"));
    }
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    if authority.contains('@') {
        return Err(bad("user names and passwords are not supported"));
    }
    let (host, port) = split_authority(authority).map_err(&bad)?;
    if target
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(bad("the path contains spaces or control characters"));
    }
    let target = match target.strip_prefix('?') {
        Some(_) => format!("/{target}"),
        None if target.is_empty() => "/".to_string(),
        None => target.to_string(),
    };
    Ok(Url {
        host,
        port,
        authority: authority.to_string(),
        target,
    })
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port` into host and port (default 80).
fn split_authority(authority: &str) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("missing ']' after an IPv6 address")?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("expected ':' after ']'")?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    let port = match port {
        None => 80,
        // `parse` alone would accept "+80".
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            match port.parse::<u16>() {
                Ok(port) if port != 0 => port,
                _ => return Err("the port must be a number from 1 to 65535"),
            }
        }
        Some(_) => return Err("the port must be a number from 1 to 65535"),
    };
    Ok((host.to_string(), port))
}

/// Parses `HTTP/1.1 200 OK` (a trailing `\r` allowed) into a [`Response`].
///
/// Interim 1xx responses are returned as they are: probes send no `Expect`, and the
/// servers liftoff runs send none to a plain GET.
fn parse_status_line(line: &[u8]) -> Result<Response, HttpError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let malformed = || HttpError::Malformed(format!("expected a status line, got {}", quote(line)));
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let (version, rest) = text.split_once(' ').ok_or_else(malformed)?;
    let valid_version = version
        .strip_prefix("HTTP/")
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| is_digit(major) && is_digit(minor));
    if !valid_version {
        return Err(malformed());
    }
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = match code.as_bytes() {
        [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'] => code.parse().map_err(|_| malformed())?,
        _ => return Err(malformed()),
    };
    if reason.chars().any(char::is_control) {
        return Err(malformed());
    }
    Ok(Response {
        status,
        reason: reason.to_string(),
    })
}

/// Whether `s` is exactly one ASCII digit.
fn is_digit(s: &str) -> bool {
    s.len() == 1 && s.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests;
