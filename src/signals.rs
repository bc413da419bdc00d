//! Signals: one Signal type, parsing, rewrite tables, and the inherited mask.
