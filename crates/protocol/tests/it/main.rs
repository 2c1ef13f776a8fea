//! Integration tests of the protocol crate, in one binary.
//!
//! - `rules`: each rule of `PROTOCOL.md` on small, hand-checked communities.
//! - `properties`: invariants over random operation sequences (proptest).
//! - `vote_flip`: the vote-flip attack under both rule sets.

#![allow(clippy::unwrap_used)]

mod common;
mod properties;
mod rules;
mod vote_flip;
