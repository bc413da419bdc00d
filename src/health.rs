//! `liftoff health`: an HTTP probe for container health checks.
