//! End-to-end tests of the `stigmer` binary.
//!
//! - `scenario`: `stigmer scenario run/check` on the conformance vectors and
//!   on malformed input.

#![allow(clippy::unwrap_used)]

mod scenario;
