//! Integration tests of the ledger crate, in one binary.
//!
//! - `transactions`: encoding, signatures, and every refusal.
//! - `chain`: applying blocks, determinism, tampering.
//! - `store`: atomic, idempotent block commits that survive reopening.

#![allow(clippy::unwrap_used)]

mod chain;
mod common;
mod logs;
mod roots;
mod store;
mod transactions;
