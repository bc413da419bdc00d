//! `env_file`: KEY=VALUE files merged into the server's environment.
