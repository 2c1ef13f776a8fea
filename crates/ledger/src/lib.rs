//! The ledger: signed transactions in hash-linked blocks, applied to the
//! protocol state, stored so that nothing finalized is ever lost.
//!
//! # Overview
//!
//! - [`tx`]: keys, signed transactions, their canonical encoding ([`codec`])
//!   and checks (signature, chain id, nonce, size).
//! - [`block`]: blocks (height, parent hash, timestamp, transactions,
//!   transaction root, state root) and [`chain::Chain`], which applies a block
//!   to the state as a pure function of the previous state and the block.
//!
//! Formats are ALPHA: they may change without a migration path.

pub mod block;
pub mod chain;
pub mod codec;
pub mod commitment;
mod error;
pub mod leaves;
pub mod signature;
pub mod store;
pub mod tx;

pub use error::LedgerError;

/// A blake3 hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    pub fn of(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    pub fn parse(text: &str) -> Option<Hash> {
        tx::unhex::<32>(text).map(Hash)
    }
}

impl core::fmt::Display for Hash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&tx::hex(&self.0))
    }
}

impl core::fmt::Debug for Hash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Hash({self})")
    }
}
