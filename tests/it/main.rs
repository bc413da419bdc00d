//! Integration tests: one test binary driving the real `liftoff` binary against real
//! processes. Each area of liftoff has its own module.

mod architecture;
mod bad_input;
mod core;
mod deadlines;
mod entrypoint;
mod health;
mod kinds;
mod limits;
mod snapshots;
mod supervise;
mod support;
