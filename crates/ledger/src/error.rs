//! Why the ledger refused bytes, a transaction or a block.

use stigmer_protocol::ProtocolError;

use crate::Hash;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("malformed encoding at byte {offset}: {what}")]
    Malformed { what: String, offset: u64 },
    #[error("the transaction is {bytes} bytes, the maximum is {max}")]
    TxTooLarge { bytes: u64, max: u32 },
    #[error("the block is {bytes} bytes, the maximum is {max}")]
    BlockTooLarge { bytes: u64, max: u32 },
    #[error("unknown {what} version {version}")]
    UnknownVersion { what: &'static str, version: u8 },
    #[error("the signature does not match the signer's key and the transaction")]
    BadSignature,
    #[error("the signer's key is weak (of small order): anyone could sign for it")]
    WeakKey,
    #[error("the transaction is beyond a limit of the ledger: {0}")]
    BeyondLimits(String),
    #[error("the transaction does not survive its own encoding unchanged")]
    NotCanonical,
    #[error("the transaction is for chain {got:?}, this ledger is {expected:?}")]
    WrongChain { expected: String, got: String },
    #[error("nonce {got} was already used; the signer's next nonce is {expected}")]
    NonceReused { expected: u64, got: u64 },
    #[error(
        "nonce {got} is ahead of the signer's next nonce {expected}; send the missing ones first"
    )]
    NonceGap { expected: u64, got: u64 },
    #[error(
        "the signer already has its {allowance} transactions of this hour in blocks (keys \
         that are not a member of any DC have a small allowance; membership and reputation \
         raise it); it may send again from {window_ends_ms} ms (Unix time)"
    )]
    AllowanceExceeded { allowance: u32, window_ends_ms: u64 },
    #[error("block {height}: {reason}")]
    InvalidBlock { height: u64, reason: String },
    #[error("block {height}: the state root is {computed}, the block says {claimed}")]
    StateRootMismatch {
        height: u64,
        computed: Hash,
        claimed: Hash,
    },
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("no randomness available to make a key: {0}")]
    Randomness(String),
    #[error("storage: {0}")]
    Storage(String),
}
