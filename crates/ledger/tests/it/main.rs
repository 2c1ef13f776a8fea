//! Integration tests of the ledger crate, in one binary.
//!
//! - `transactions`: encoding, signatures, and every refusal.
//! - `chain`: applying blocks, determinism, tampering.
//! - `store`: atomic, idempotent block commits that survive reopening.
//! - `roots`: state roots pinned to those computed before logs left the
//!   protocol's state.
//! - `logs`: log entries, origins and supply points read back from the
//!   store equal what the receipts handed out.

#![allow(clippy::unwrap_used)]

mod chain;
mod common;
mod logs;
mod roots;
mod store;
mod transactions;
