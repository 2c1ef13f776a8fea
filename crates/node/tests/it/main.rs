//! Integration tests of the node crate, in one binary.
//!
//! - `ui_codec`: the browser's encoder and signer (`ui/js/`) against the
//!   Rust ones, through the committed fixture `ui/test/fixtures.json`.

#![allow(clippy::unwrap_used)]

mod ui_codec;
