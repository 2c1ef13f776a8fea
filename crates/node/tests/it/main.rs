//! Integration tests of the node crate, in one binary.
//!
//! - `ui_codec`: the browser's encoder and signer (`ui/js/`) against the
//!   Rust ones, through the committed fixture `ui/test/fixtures.json`.
//! - `json_path`: transactions in their JSON form are refused or survive
//!   a strict round trip through a block; weak keys are refused.
//! - `simulation`: validators running the real consensus and ledger on
//!   Commonware's deterministic runtime and simulated network, under loss,
//!   partitions, crashes and Byzantine peers, over many seeds.

#![allow(clippy::unwrap_used)]

mod json_path;
mod simulation;
mod ui_codec;
