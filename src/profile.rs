//! Profiles: which server a command runs and how its argv is built.
