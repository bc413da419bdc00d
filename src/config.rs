//! Layered configuration: built-in defaults < TOML file < environment < flags, with sources.
