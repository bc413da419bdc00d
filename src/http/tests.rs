//! Unit tests of `http`.

use super::*;
use std::net::TcpListener;

/// Shorthand for the expected parts of a URL.
fn url(host: &str, port: u16, authority: &str, target: &str) -> Url {
    Url {
        host: host.into(),
        port,
        authority: authority.into(),
        target: target.into(),
    }
}

#[test]
fn urls_parse() {
    let cases = [
        (
            "http://127.0.0.1:8000/health",
            url("127.0.0.1", 8000, "127.0.0.1:8000", "/health"),
        ),
        (
            "http://localhost/health",
            url("localhost", 80, "localhost", "/health"),
        ),
        (
            "HTTP://localhost:9",
            url("localhost", 9, "localhost:9", "/"),
        ),
        ("http://h:1?x=1", url("h", 1, "h:1", "/?x=1")),
        ("http://h:1/a?b=c#frag", url("h", 1, "h:1", "/a?b=c")),
        (
            "http://[::1]:8000/health",
            url("::1", 8000, "[::1]:8000", "/health"),
        ),
        ("http://[::1]/", url("::1", 80, "[::1]", "/")),
        ("http://h:65535/", url("h", 65535, "h:65535", "/")),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_url(input).unwrap(), expected, "{input}");
    }
}

#[test]
fn bad_urls_are_rejected_with_a_reason() {
    let cases = [
        ("127.0.0.1:8000/health", "expected http://host:port/path"),
        ("https://h/health", "https is not supported"),
        ("ftp://h/", "only http:// urls"),
        ("http:///health", "no host"),
        ("http://:80/", "no host"),
        ("http://h:0/", "the port must be"),
        ("http://h:65536/", "the port must be"),
        ("http://h:+80/", "the port must be"),
        ("http://h:/", "the port must be"),
        ("http://h:x/", "the port must be"),
        ("http://[::1/", "missing ']'"),
        ("http://[::1]x/", "expected ':' after ']'"),
        ("http://u:p@h/", "user names"),
        ("http://h/a b", "spaces"),
        ("http://h/a\r\nX: y", "spaces or control"),
    ];
    for (input, why) in cases {
        let err = parse_url(input).unwrap_err();
        assert!(matches!(err, HttpError::BadUrl(_)), "{input}: {err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("invalid url: ") && text.contains(why),
            "{input}: {text}"
        );
    }
}

#[test]
fn status_lines_parse() {
    let cases: [(&[u8], u16, &str); 6] = [
        (b"HTTP/1.1 200 OK\r", 200, "OK"),
        (
            b"HTTP/1.0 503 Service Unavailable",
            503,
            "Service Unavailable",
        ),
        (b"HTTP/1.1 204 ", 204, ""),
        (b"HTTP/1.1 404", 404, ""),
        (b"HTTP/1.1 299 Odd but fine", 299, "Odd but fine"),
        (
            b"HTTP/2.0 101 Switching Protocols\r",
            101,
            "Switching Protocols",
        ),
    ];
    for (line, status, reason) in cases {
        let response = parse_status_line(line).unwrap();
        assert_eq!(
            response,
            Response {
                status,
                reason: reason.into()
            }
        );
    }
}

#[test]
fn garbage_is_not_a_status_line() {
    let cases: [&[u8]; 12] = [
        b"",
        b"hello world",
        b"SSH-2.0-OpenSSH_9.2p1\r",
        b"HTTP/1.1",
        b"HTTP/1.1 ",
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000 OK",
        b"HTTP/1.1 600 Nope",
        b"HTTP/1.1 abc OK",
        b"HTTP/x.1 200 OK",
        b"http/1.1 200 OK",
        b"HTTP/1.1 200 O\x00K",
    ];
    for line in cases {
        let err = parse_status_line(line).unwrap_err();
        assert!(matches!(err, HttpError::Malformed(_)), "{line:?}: {err:?}");
        assert!(
            err.to_string().starts_with("not an http response: "),
            "{err}"
        );
    }
    let invalid_utf8 = parse_status_line(b"HTTP/1.1 200 \xff").unwrap_err();
    assert!(matches!(invalid_utf8, HttpError::Malformed(_)));
}

#[test]
fn io_errors_read_as_short_lowercase_phrases() {
    let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
    assert_eq!(describe(&refused), "connection refused");
    let err = HttpError::Connect {
        addr: "127.0.0.1:9".into(),
        source: refused,
    };
    assert_eq!(
        err.to_string(),
        "failed to connect to 127.0.0.1:9: connection refused"
    );
    assert_eq!(HttpError::Timeout.to_string(), "timed out");
    let reset = HttpError::Io(io::Error::from_raw_os_error(libc::ECONNRESET));
    assert_eq!(
        reset.to_string(),
        "connection failed: connection reset by peer"
    );
}

#[test]
fn long_garbage_is_cut_when_quoted() {
    let long = vec![b'x'; 100];
    assert_eq!(quote(&long), format!("{:?}...", "x".repeat(60)));
    assert_eq!(quote(b"a\"b\n"), r#""a\"b\n""#);
}

#[test]
fn a_zero_timeout_times_out_without_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = get(&format!("http://127.0.0.1:{port}/"), Duration::ZERO).unwrap_err();
    assert!(matches!(err, HttpError::Timeout), "{err:?}");
}
