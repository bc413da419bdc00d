//! Command-line parsing: raw flags and the command word, nothing resolved yet.
