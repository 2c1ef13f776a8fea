//! End-to-end tests of the `stigmer` binary.
//!
//! - `cluster`: `stigmer cluster up` on loopback, under faults and load.
//! - `hostile_node`: the CLI escapes what a node sends before printing it.
//! - `node`: a real node process through the CLI and the API; SIGKILL crash test.
//! - `scenario`: `stigmer scenario run/check` on the conformance vectors and
//!   on malformed input.

#![allow(clippy::unwrap_used)]

mod cluster;
mod hostile_node;
mod node;
mod scenario;
