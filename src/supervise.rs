//! Supervise mode: liftoff as PID 1 or subreaper, forwarding, reaping, stopping.
