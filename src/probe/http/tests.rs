//! Unit tests of `http`.

use super::*;
use std::net::TcpListener;

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
fn failures_read_as_short_lowercase_phrases() {
    let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
    let err = Down::Connect("127.0.0.1:9".into(), refused);
    assert_eq!(
        err.to_string(),
        "failed to connect to 127.0.0.1:9: connection refused"
    );
    assert_eq!(Down::TimedOut.to_string(), "timed out");
    let reset = HttpError::Io(io::Error::from_raw_os_error(libc::ECONNRESET));
    assert_eq!(
        reset.to_string(),
        "connection failed: connection reset by peer"
    );
    let status = HttpError::Status(Response {
        status: 503,
        reason: "Service Unavailable".into(),
    });
    assert_eq!(status.to_string(), "answered 503 Service Unavailable");
    let bare = HttpError::Status(Response {
        status: 500,
        reason: String::new(),
    });
    assert_eq!(bare.to_string(), "answered 500");
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
    let url = crate::probe::url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let err = get(&url, Instant::now()).unwrap_err();
    assert!(matches!(err, Down::TimedOut), "{err:?}");
}
