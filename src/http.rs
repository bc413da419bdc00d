//! A minimal HTTP/1.1 GET client on std networking, with timeouts.
