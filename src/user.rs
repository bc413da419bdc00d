//! `user`: dropping from root to an unprivileged user before exec.
