//! `liftoff health` on the real binary against real servers on free loopback ports: a
//! 200, a 503, nothing listening, a server that accepts and never answers, one that
//! trickles bytes, one that answers something other than HTTP, and the default URL.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{self, liftoff};

/// What a test server does with the one connection it accepts.
enum Behaviour {
    /// Reads the request, writes these bytes, closes.
    Answer(&'static [u8]),
    /// Accepts, reads the request and holds the connection open without a byte.
    Silent,
    /// Writes a status line one byte every 200 ms and never ends it.
    Trickle,
}

/// A server on a free loopback port that handles one connection.
struct Server {
    /// Its port.
    port: u16,
    /// The request it received (head only), once it has read one.
    request: Receiver<String>,
}

impl Server {
    /// Starts a server thread with `behaviour`.
    fn start(behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, request) = mpsc::channel();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let _ = sender.send(read_head(&mut stream));
            match behaviour {
                Behaviour::Answer(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                // The client closes first; holding the stream until then keeps it silent.
                Behaviour::Silent => {
                    let _ = stream.read(&mut [0u8; 1]);
                }
                Behaviour::Trickle => {
                    for byte in b"HTTP/1.1 200 OK, almost".iter().cycle() {
                        if stream.write_all(&[*byte]).is_err() {
                            break;
                        }
                        thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        });
        Server { port, request }
    }

    /// `http://127.0.0.1:PORT/health`.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/health", self.port)
    }

    /// The request the server received.
    fn received(&self) -> String {
        self.request
            .recv_timeout(Duration::from_secs(5))
            .expect("the server got no request")
    }
}

/// Reads a request head (up to the blank line) from a client.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Runs `liftoff health ARGS` in an empty directory (no liftoff.toml) and times it.
fn health(args: &[&str], vars: &[(&str, &str)]) -> (Output, Duration) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("health-empty");
    std::fs::create_dir_all(&dir).unwrap();
    let start = Instant::now();
    let out = liftoff()
        .current_dir(&dir)
        .envs(vars.iter().copied())
        .arg("health")
        .args(args)
        .output()
        .expect("failed to run liftoff");
    (out, start.elapsed())
}

/// The text the probe printed on stderr.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_200_is_healthy_and_the_request_is_plain_http() {
    let server = Server::start(Behaviour::Answer(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}",
    ));
    let (out, _) = health(&["--url", &server.url()], &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "a healthy probe prints nothing");
    let request = server.received();
    let host = format!("\r\nHost: 127.0.0.1:{}\r\n", server.port);
    assert!(
        request.starts_with("GET /health HTTP/1.1\r\n"),
        "{request:?}"
    );
    assert!(
        request.contains(&host) && request.contains("\r\nConnection: close\r\n"),
        "{request:?}"
    );
}

#[test]
fn a_503_is_unhealthy_with_one_line_of_why() {
    let server = Server::start(Behaviour::Answer(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    ));
    let (out, _) = health(&["--url", &server.url()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "liftoff: error: {} answered 503 Service Unavailable\n",
        server.url()
    );
    assert_eq!(stderr(&out), expected);
}

#[test]
fn nothing_listening_is_unhealthy() {
    let port = support::free_port();
    let url = format!("http://127.0.0.1:{port}/health");
    let (out, took) = health(&["--url", &url], &[]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "liftoff: error: {url}: failed to connect to 127.0.0.1:{port}: connection refused\n"
    );
    assert_eq!(stderr(&out), expected);
    assert!(
        took < Duration::from_secs(3),
        "a refused connection took {took:?}"
    );
}

#[test]
fn a_silent_server_hits_the_timeout() {
    let server = Server::start(Behaviour::Silent);
    let (out, took) = health(&["--url", &server.url(), "--timeout", "1s"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "liftoff: error: {} did not answer within 1s\n",
        server.url()
    );
    assert_eq!(stderr(&out), expected);
    assert!(
        server.received().starts_with("GET /health "),
        "the request was sent"
    );
    assert!(
        took >= Duration::from_millis(900),
        "gave up early, after {took:?}"
    );
    assert!(
        took < Duration::from_secs(4),
        "not bounded by the timeout: {took:?}"
    );
}

#[test]
fn a_trickling_server_is_bounded_by_the_same_deadline() {
    let server = Server::start(Behaviour::Trickle);
    let (out, took) = health(&["--url", &server.url(), "--timeout", "1500ms"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did not answer within 1s 500ms"),
        "{}",
        stderr(&out)
    );
    assert!(
        took < Duration::from_secs(4),
        "each byte restarted the clock: {took:?}"
    );
}

#[test]
fn garbage_instead_of_http_is_unhealthy() {
    let server = Server::start(Behaviour::Answer(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
    let (out, _) = health(&["--url", &server.url()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "liftoff: error: {}: not an http response: expected a status line, got \"SSH-2.0-OpenSSH_9.2p1 Debian-2\"\n",
        server.url()
    );
    assert_eq!(stderr(&out), expected);
}

#[test]
fn a_connection_closed_without_an_answer_is_unhealthy() {
    let server = Server::start(Behaviour::Answer(b""));
    let (out, _) = health(&["--url", &server.url()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).ends_with("the connection closed without an answer\n"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_default_url_is_the_prod_port() {
    let server = Server::start(Behaviour::Answer(b"HTTP/1.0 204 No Content\r\n\r\n"));
    let port = server.port.to_string();
    let (out, _) = health(&[], &[("LIFTOFF_PORT", &port)]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(server.received().starts_with("GET /health HTTP/1.1\r\n"));
}

#[test]
fn a_bad_url_is_a_usage_error() {
    let (out, _) = health(&["--url", "https://127.0.0.1:8000/health"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("https is not supported"),
        "{}",
        stderr(&out)
    );
}
