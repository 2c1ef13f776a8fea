//! Blocks: an ordered batch of signed transactions, linked to its parent by
//! hash, committing to its transactions and to the state after them.

use crate::codec::{Decoder, Encoder};
use crate::tx::{SignedTransaction, TX_BYTES_MAX};
use crate::{Hash, LedgerError};

/// Version byte leading every encoded block.
pub const BLOCK_VERSION: u8 = 1;
/// Most transactions in one block.
pub const BLOCK_TXS_MAX: u32 = 4_096;
/// Largest encoded block, in bytes. Consensus carries a block in a message
/// of its own codec whose limit is this one (`consensus::BlockCfg`).
pub const BLOCK_BYTES_MAX: u32 = 4 * 1024 * 1024;
/// Most bytes of transactions (each with its length prefix) a proposer puts
/// in a block: the block limit less room for the header and the count.
pub const BLOCK_TXS_BYTES_MAX: usize = BLOCK_BYTES_MAX as usize - 1024;

const _: () = assert!(TX_BYTES_MAX < BLOCK_BYTES_MAX);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub height: u64,
    pub parent: Hash,
    /// Milliseconds since the Unix epoch, chosen by the proposer; never
    /// earlier than the parent's. The protocol never reads a clock: this is
    /// the only time there is.
    pub timestamp_ms: u64,
    /// Commits to the transactions, in order.
    pub tx_root: Hash,
    /// Commits to the whole state after this block's transactions.
    pub state_root: Hash,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub header: Header,
    pub txs: Vec<SignedTransaction>,
}

impl Header {
    pub fn encode(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        self.encode_into(&mut encoder);
        encoder.finish()
    }

    fn encode_into(&self, encoder: &mut Encoder) {
        encoder.u8(BLOCK_VERSION);
        encoder.u64(self.height);
        encoder.raw(&self.parent.0);
        encoder.u64(self.timestamp_ms);
        encoder.raw(&self.tx_root.0);
        encoder.raw(&self.state_root.0);
    }

    fn decode_from(decoder: &mut Decoder<'_>) -> Result<Header, LedgerError> {
        let version = decoder.u8("block version")?;
        if version != BLOCK_VERSION {
            return Err(LedgerError::UnknownVersion {
                what: "block",
                version,
            });
        }
        Ok(Header {
            height: decoder.u64("height")?,
            parent: Hash(decoder.array("parent")?),
            timestamp_ms: decoder.u64("timestamp")?,
            tx_root: Hash(decoder.array("transaction root")?),
            state_root: Hash(decoder.array("state root")?),
        })
    }

    /// The header at the start of an encoded block, without decoding (or
    /// checking) the transactions after it.
    pub fn decode_prefix(bytes: &[u8]) -> Result<Header, LedgerError> {
        Header::decode_from(&mut Decoder::new(bytes))
    }

    /// The block's id: the hash of its header (which commits to the rest).
    pub fn hash(&self) -> Hash {
        Hash::of(&self.encode())
    }
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        self.header.encode_into(&mut encoder);
        encoder.len(self.txs.len());
        for tx in &self.txs {
            // Each transaction is length-prefixed so that a reader can skip it.
            let bytes = tx.encode();
            encoder.len(bytes.len());
            encoder.raw(&bytes);
        }
        encoder.finish()
    }

    /// Decodes a block strictly: every limit of the codec holds, so every
    /// transaction in it is one a pool would have taken. Blocks from peers
    /// are read this way.
    pub fn decode(bytes: &[u8]) -> Result<Block, LedgerError> {
        Block::decode_with(Decoder::new(bytes))
    }

    /// Decodes a block a federation already finalized, from this node's
    /// store or a certified sync run, leniently (see [`crate::codec`]): a
    /// block written before every limit held on every path stays readable.
    pub fn decode_stored(bytes: &[u8]) -> Result<Block, LedgerError> {
        Block::decode_with(Decoder::stored(bytes))
    }

    fn decode_with(mut decoder: Decoder<'_>) -> Result<Block, LedgerError> {
        let bytes = decoder.remaining();
        if bytes > BLOCK_BYTES_MAX as usize {
            return Err(LedgerError::BlockTooLarge {
                bytes: bytes as u64,
                max: BLOCK_BYTES_MAX,
            });
        }
        let header = Header::decode_from(&mut decoder)?;
        let n_txs = decoder.len("transactions", BLOCK_TXS_MAX)?;
        let mut txs = Vec::with_capacity(n_txs);
        for _ in 0..n_txs {
            let n_bytes = decoder.len("transaction length", TX_BYTES_MAX)?;
            txs.push(SignedTransaction::decode_with(
                decoder.sub(n_bytes, "transaction")?,
            )?);
        }
        decoder.finish()?;
        Ok(Block { header, txs })
    }

    /// Whether the block is what a strict decoder would read from its own
    /// encoding: within every limit, each transaction canonical. A proposer
    /// never builds, and a verifier never accepts, a block that fails this:
    /// the peers could not decode it.
    pub fn check_canonical(&self) -> Result<(), LedgerError> {
        let encoded = self.encode();
        if Block::decode(&encoded)? != *self {
            return Err(LedgerError::NotCanonical);
        }
        Ok(())
    }
}

/// The transaction root: a hash over the count and the transaction hashes,
/// in block order.
pub fn tx_root(txs: &[SignedTransaction]) -> Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"stigmer/tx-root/v1\0");
    hasher.update(&(txs.len() as u64).to_le_bytes());
    for tx in txs {
        hasher.update(&tx.hash().0);
    }
    Hash(*hasher.finalize().as_bytes())
}
