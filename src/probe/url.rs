//! The one parser for probe targets: `tcp://host:port` and `http://host[:port][/path]`.
//! Strict, so a typo fails before anything runs (78): digits-only ports, bracketed IPv6,
//! no user names, passwords, spaces or control characters.

use std::fmt;

/// What a URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Tcp,
    Http,
}

/// A parsed probe URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 for http without one).
    pub port: u16,
    /// The authority as written (the `Host` header), brackets included.
    pub authority: String,
    /// Path and query for http, always starting with `/`; `/` for tcp.
    pub target: String,
    /// The URL as written, for messages.
    pub text: String,
}

impl Url {
    /// `host:port` for messages, with brackets around an IPv6 address.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Parses `text`; the error says what is wrong and how it should look.
pub fn parse(text: &str) -> Result<Url, String> {
    let text = text.trim();
    // Escaped, so that a message stays one line whatever the URL holds.
    let bad = |why: &str| format!("`{}`: {why}", text.escape_debug());
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| bad("expected tcp://host:port or http://host[:port]/path"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "tcp" => Scheme::Tcp,
        "http" => Scheme::Http,
        "https" => {
            return Err(bad(
                "https is not supported (no TLS); probe the port instead, e.g. tcp://host:443",
            ));
        }
        _ => return Err(bad("expected tcp://host:port or http://host[:port]/path")),
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    if authority.contains('@') {
        return Err(bad("user names and passwords are not supported"));
    }
    if text
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(bad("it contains spaces or control characters"));
    }
    let (host, port) = split_authority(authority).map_err(&bad)?;
    let port = match (scheme, port) {
        (_, Some(port)) => port,
        (Scheme::Http, None) => 80,
        (Scheme::Tcp, None) => return Err(bad("the port is missing")),
    };
    let target = match (scheme, target) {
        (Scheme::Tcp, "" | "/") => "/".to_string(),
        (Scheme::Tcp, _) => return Err(bad("a tcp:// target has no path")),
        (Scheme::Http, "") => "/".to_string(),
        (Scheme::Http, t) if t.starts_with('?') => format!("/{t}"),
        (Scheme::Http, t) => t.to_string(),
    };
    Ok(Url {
        scheme,
        host,
        port,
        authority: authority.to_string(),
        target,
        text: text.to_string(),
    })
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .ok_or("missing `]` after an IPv6 address")?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("expected `:` after `]`")?),
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err("an IPv6 address needs brackets, e.g. [::1]:8000");
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    // Digits only: `parse` would take `+80`.
    let number = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| p.parse().ok())?
    };
    match port.map(|p| number(p).filter(|&n: &u16| n != 0)) {
        Some(None) => Err("the port must be a number from 1 to 65535"),
        port => Ok((host.to_string(), port.flatten())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of a parsed URL that matter: scheme, host, port, authority, target.
    fn parts(text: &str) -> (Scheme, String, u16, String, String) {
        let url = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(url.to_string(), text.trim());
        (url.scheme, url.host, url.port, url.authority, url.target)
    }

    #[test]
    fn urls_parse() {
        let http = |host: &str, port, authority: &str, target: &str| {
            (
                Scheme::Http,
                host.to_string(),
                port,
                authority.to_string(),
                target.to_string(),
            )
        };
        let tcp = |host: &str, port, authority: &str| {
            (
                Scheme::Tcp,
                host.to_string(),
                port,
                authority.to_string(),
                "/".to_string(),
            )
        };
        let rows = [
            (
                "http://127.0.0.1:8000/health",
                http("127.0.0.1", 8000, "127.0.0.1:8000", "/health"),
            ),
            (
                "http://localhost/health",
                http("localhost", 80, "localhost", "/health"),
            ),
            (
                "HTTP://localhost:9",
                http("localhost", 9, "localhost:9", "/"),
            ),
            ("http://h:1?x=1", http("h", 1, "h:1", "/?x=1")),
            ("http://h:1/a?b=c#frag", http("h", 1, "h:1", "/a?b=c")),
            (
                "http://[::1]:8000/health",
                http("::1", 8000, "[::1]:8000", "/health"),
            ),
            ("http://[::1]/", http("::1", 80, "[::1]", "/")),
            ("http://h:65535/", http("h", 65535, "h:65535", "/")),
            ("tcp://db:5432", tcp("db", 5432, "db:5432")),
            ("TCP://db:5432/", tcp("db", 5432, "db:5432")),
            (
                "tcp://127.0.0.1:6379",
                tcp("127.0.0.1", 6379, "127.0.0.1:6379"),
            ),
            ("tcp://[::1]:5432", tcp("::1", 5432, "[::1]:5432")),
        ];
        for (text, want) in rows {
            assert_eq!(parts(text), want, "{text}");
        }
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        let rows = [
            ("127.0.0.1:8000/health", "expected tcp://host:port"),
            ("db:5432", "expected tcp://host:port"),
            ("redis://cache:6379", "expected tcp://host:port"),
            ("https://h/health", "https is not supported"),
            ("tcp://db", "port is missing"),
            ("tcp://db:0", "the port must be"),
            ("tcp://db:postgres", "the port must be"),
            ("tcp://:5432", "no host"),
            ("tcp://[::1:5432", "missing `]`"),
            ("tcp://db:5432/x", "no path"),
            ("tcp://::1:5432", "needs brackets"),
            ("http:///health", "no host"),
            ("http://:80/", "no host"),
            ("http://h:65536/", "the port must be"),
            ("http://h:+80/", "the port must be"),
            ("http://127.0.0.1:+80/", "the port must be"),
            ("http://h:/", "the port must be"),
            ("http://[::1]x/", "expected `:` after `]`"),
            ("http://u:p@h/", "user names"),
            ("http://h/a b", "spaces"),
            ("http://h/a\r\nX: y", "spaces or control"),
        ];
        for (text, why) in rows {
            let err = parse(text).unwrap_err();
            let shown = text.trim().escape_debug().to_string();
            assert!(err.contains(why) && err.contains(&shown), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err:?}");
        }
    }
}
