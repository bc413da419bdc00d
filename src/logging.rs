//! Logging setup: liftoff's own lines go to stderr, as text or JSON.
