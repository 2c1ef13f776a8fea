//! The stigmer node: keeps the ledger with consensus, serves the HTTP API.
//!
//! # Overview
//!
//! - [`ledger::NodeLedger`]: the finalized chain, a speculative head for
//!   proposals, the transaction pool and the redb store.
//! - [`json`]: the JSON forms of the API. The only crate that speaks JSON.
//! - [`genesis::Genesis`]: what every member of a chain agrees on first.

pub mod api;
pub mod consensus;
pub mod demo;
mod explain;
pub mod follow;
pub mod genesis;
pub mod json;
pub mod ledger;
pub mod mempool;
pub mod progress;
pub mod run;
pub mod serve;
pub mod ui;

use stigmer_ledger::{Hash, LedgerError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Mempool(#[from] mempool::MempoolError),
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("no block {0} to build on")]
    UnknownParent(Hash),
    #[error("{0}")]
    Io(String),
}
