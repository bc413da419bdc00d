//! Probes: does a TCP port accept, does an HTTP URL answer 2xx (`wait_for`, `health`).
//! A timeout is the whole budget, name lookup included: the resolver's own timeouts
//! cannot be shortened, so a lookup runs on its own thread and is abandoned ([`within`]).

pub mod http;
pub mod url;
pub mod wait;

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `work` on a thread and waits for its result at most `timeout`; `None` when it
/// did not finish in time (the thread is left to end on its own).
pub fn within<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> T + Send + Clone + 'static,
) -> Option<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    detach(move || drop(tx.send(work())));
    rx.recv_timeout(timeout).ok()
}

/// Runs `work` on a thread of its own; when no thread can be started (a process limit),
/// here and unbounded, rather than not at all.
pub fn detach(work: impl FnOnce() + Send + Clone + 'static) {
    let theirs = work.clone();
    let spawned = std::thread::Builder::new()
        .name("liftoff-probe".into())
        .stack_size(256 * 1024)
        .spawn(theirs);
    if spawned.is_err() {
        work();
    }
}

/// Why a probe found its target down.
#[derive(Debug)]
pub enum Down {
    Lookup(String, io::Error),
    /// Nothing answered before the deadline (lookup, connect or answer).
    TimedOut,
    Connect(String, io::Error),
    /// No address of a `tcp://` target accepted (the target names the address already).
    Tcp(io::Error),
    Http(http::HttpError),
}

impl std::fmt::Display for Down {
    /// One lowercase phrase, meant to follow the target in a message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Down::Lookup(host, err) => write!(
                f,
                "failed to resolve {host}: {}",
                crate::exit::os_error(err)
            ),
            Down::TimedOut => f.write_str("timed out"),
            Down::Connect(addr, err) => write!(
                f,
                "failed to connect to {addr}: {}",
                crate::exit::os_error(err)
            ),
            Down::Tcp(err) => f.write_str(&crate::exit::os_error(err)),
            Down::Http(err) => err.fmt(f),
        }
    }
}

/// Connects to `url`'s host and port before `deadline`: resolves the name, then tries each
/// address with what is left. The lookup has no deadline of its own: callers run the probe
/// on a thread they stop waiting for (`within`, `wait_for`).
pub fn connect(url: &url::Url, deadline: Instant) -> Result<TcpStream, Down> {
    let addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| Down::Lookup(url.host.clone(), e))?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(err) if is_timeout(&err) => return Err(Down::TimedOut),
            Err(err) => last = err,
        }
    }
    Err(Down::Connect(url.host_port(), last))
}

/// The time left before `deadline`, or [`Down::TimedOut`] when none is left.
pub fn remaining(deadline: Instant) -> Result<Duration, Down> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(Down::TimedOut)
    } else {
        Ok(left)
    }
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO` reports `EAGAIN`).
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// Probes `url` once within `timeout`: a TCP connection, or an HTTP GET answered 2xx.
pub fn probe(url: &url::Url, timeout: Duration) -> Result<(), Down> {
    let deadline = crate::signals::later(Instant::now(), timeout);
    match url.scheme {
        url::Scheme::Tcp => connect(url, deadline).map(drop).map_err(|down| match down {
            Down::Connect(_, err) => Down::Tcp(err),
            other => other,
        }),
        url::Scheme::Http => match http::get(url, deadline) {
            Ok(r) if (200..300).contains(&r.status) => Ok(()),
            Ok(r) => Err(Down::Http(http::HttpError::Status(r))),
            Err(err) => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_see_a_real_listener_come_and_go() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target = url::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
        assert!(probe(&target, Duration::from_secs(2)).is_ok());
        drop(listener);
        let err = probe(&target, Duration::from_secs(2)).unwrap_err();
        assert_eq!(err.to_string(), "connection refused");
    }

    #[test]
    fn work_that_outlasts_its_budget_is_abandoned() {
        let start = Instant::now();
        let slow = within(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(5))
        });
        assert!(slow.is_none() && start.elapsed() < Duration::from_secs(1));
        assert_eq!(within(Duration::from_secs(5), || 7), Some(7));
    }
}
