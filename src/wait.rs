//! `wait_for`: wait until TCP and HTTP dependencies are reachable.
