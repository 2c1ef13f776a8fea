//! The block ordered by consensus: a ledger block wrapped with what simplex
//! and marshal need (the consensus context it was proposed in, the parent's
//! consensus digest, the height).
//!
//! The digest is `sha256(encode(block))`; the encoding is canonical, so
//! `encode(decode(bytes)) == bytes` as marshal requires, and the digest
//! commits to the embedded context as `CertifiableBlock` requires. The ledger
//! block inside keeps its own blake3 hash chain, which is what `stigmer
//! verify` checks; consensus only orders it.

use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error, FixedSize, MaxEncodeSize, RangeCfg, Read, ReadExt, Write,
};
use commonware_consensus::{
    BoundedBlock, CertifiableBlock, Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::{
    Digestible, Hasher, Signer,
    ed25519::{PrivateKey, PublicKey},
    sha256::{Digest, Sha256},
};
use stigmer_ledger::block::Block as LedgerBlock;

/// Consensus context embedded in every block (round, leader, parent).
pub type BlockContext = Context<Digest, PublicKey>;

/// Codec limits for [`Block`]. The same on every node, and never lowered
/// while blocks are stored (marshal re-reads its archives with them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockCfg {
    /// Largest encoded ledger block, in bytes.
    pub ledger_bytes_max: usize,
}

impl Default for BlockCfg {
    fn default() -> Self {
        Self {
            ledger_bytes_max: stigmer_ledger::block::BLOCK_BYTES_MAX as usize,
        }
    }
}

/// Largest encoding of a length prefix (a varint of a `u32`).
const LEN_PREFIX_MAX: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Context the proposer was given by simplex (round, leader, parent).
    pub context: BlockContext,
    /// Digest of the parent block.
    pub parent: Digest,
    /// Height (the consensus genesis is 0; ledger block `h` is at height `h`).
    pub height: Height,
    /// The ledger block; `None` only in the consensus genesis.
    pub ledger: Option<LedgerBlock>,
}

impl Block {
    /// The height-zero block every validator of a chain agrees on, derived
    /// from the chain's namespace only.
    pub fn genesis(namespace: &[u8]) -> Self {
        let anchor = Sha256::hash(&[b"stigmer-genesis", namespace]);
        Self {
            context: Context {
                round: Round::new(Epoch::zero(), View::zero()),
                // Nobody proposes the genesis; any fixed identity will do.
                leader: PrivateKey::from_seed(0).public_key(),
                parent: (View::zero(), anchor),
            },
            parent: anchor,
            height: Height::zero(),
            ledger: None,
        }
    }

    /// The ledger block's timestamp (0 for the genesis).
    pub fn timestamp_ms(&self) -> u64 {
        self.ledger.as_ref().map_or(0, |b| b.header.timestamp_ms)
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        self.parent.write(buf);
        self.height.write(buf);
        let bytes = self
            .ledger
            .as_ref()
            .map(LedgerBlock::encode)
            .unwrap_or_default();
        bytes.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        let bytes = self
            .ledger
            .as_ref()
            .map(LedgerBlock::encode)
            .unwrap_or_default();
        self.context.encode_size()
            + self.parent.encode_size()
            + self.height.encode_size()
            + bytes.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockCfg;

    fn read_cfg(buf: &mut impl Buf, cfg: &BlockCfg) -> Result<Self, Error> {
        let context = BlockContext::read(buf)?;
        let parent = Digest::read(buf)?;
        let height = Height::read(buf)?;
        let range: RangeCfg<usize> = (0..=cfg.ledger_bytes_max).into();
        let bytes = Vec::<u8>::read_cfg(buf, &(range, ()))?;
        let ledger = if bytes.is_empty() {
            None
        } else {
            // Leniently: marshal reads its own archive of finalized blocks
            // with this codec, and a block finalized before every limit held
            // on every path must stay readable. A proposal is held to every
            // limit when it is verified (`NodeLedger::verify`).
            let block = LedgerBlock::decode_stored(&bytes)
                .map_err(|_| Error::Invalid("stigmer block", "malformed ledger block"))?;
            Some(block)
        };
        Ok(Self {
            context,
            parent,
            height,
            ledger,
        })
    }
}

impl Digestible for Block {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        use commonware_codec::Encode as _;
        Sha256::hash(&[self.encode().as_ref()])
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        self.height
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> Digest {
        self.parent
    }
}

impl CertifiableBlock for Block {
    type Context = BlockContext;

    fn context(&self) -> BlockContext {
        self.context.clone()
    }
}

impl BoundedBlock for Block {
    fn max_encode_size(cfg: &BlockCfg) -> usize {
        BlockContext::MAX_ENCODE_SIZE
            + Digest::SIZE
            + Height::MAX_ENCODE_SIZE
            + LEN_PREFIX_MAX
            + cfg.ledger_bytes_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};
    use stigmer_ledger::chain::Chain;

    #[test]
    fn round_trips_within_its_bound() {
        let cfg = BlockCfg::default();
        let genesis = Block::genesis(b"test");
        let mut chain = Chain::new("test");
        let ledger = chain.propose(42, Vec::new()).unwrap().block;
        let block = Block {
            context: Context {
                round: Round::new(Epoch::zero(), View::new(7)),
                leader: PrivateKey::from_seed(1).public_key(),
                parent: (View::new(6), genesis.digest()),
            },
            parent: genesis.digest(),
            height: Height::new(1),
            ledger: Some(ledger),
        };
        for block in [genesis, block] {
            let bytes = block.encode();
            assert!(bytes.len() <= Block::max_encode_size(&cfg));
            let decoded = Block::decode_cfg(bytes, &cfg).unwrap();
            assert_eq!(decoded, block);
            assert_eq!(decoded.digest(), block.digest());
        }
    }
}
