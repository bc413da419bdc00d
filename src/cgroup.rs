//! Container limits: CPU and memory read from cgroup v1 and v2 files.
