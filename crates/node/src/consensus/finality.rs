//! What a node keeps, beside each ledger block, to prove to anyone that the
//! validators finalized it: the consensus envelope of the block (the context
//! it was proposed in and its parent's consensus digest) and, when the block
//! was finalized in its own view, the finalization certificate (a quorum of
//! validator signatures over the block's consensus digest).
//!
//! A block finalized through a descendant has no certificate of its own: the
//! envelope's parent digests link it to the next block that has one. A full
//! node checks a run of blocks by rebuilding each consensus block from its
//! envelope and ledger block, checking the parent links, and verifying the
//! certificate at the end of the run with the validator set of the genesis.

use bytes::BufMut as _;
use commonware_codec::{Encode as _, Read as _, ReadExt as _, Write as _};
use commonware_consensus::types::Height;
use commonware_cryptography::{Digestible as _, ed25519::PublicKey, sha256::Digest};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use stigmer_ledger::block::Block as LedgerBlock;

use super::{Block, BlockContext, BlockFinalization, Scheme};

/// The stored proof of one finalized block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finality {
    pub context: BlockContext,
    /// The parent's consensus digest.
    pub parent: Digest,
    /// The block's own finalization certificate, if its view finalized it.
    pub certificate: Option<BlockFinalization>,
}

impl Finality {
    pub fn of(block: &Block, certificate: Option<BlockFinalization>) -> Finality {
        Finality {
            context: block.context.clone(),
            parent: block.parent,
            certificate,
        }
    }

    /// The encoding: a byte saying whether a certificate follows (so that
    /// [`Finality::is_certified`] needs no decoding), the context, the
    /// parent digest, then the certificate if any.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.put_u8(u8::from(self.certificate.is_some()));
        self.context.write(&mut bytes);
        self.parent.write(&mut bytes);
        if let Some(certificate) = &self.certificate {
            bytes.extend_from_slice(&certificate.encode());
        }
        bytes
    }

    /// Whether encoded proof `bytes` carries a certificate.
    pub fn is_certified(bytes: &[u8]) -> bool {
        bytes.first() == Some(&1)
    }

    /// Decodes a proof for a chain of `validators` validators; refuses
    /// trailing bytes.
    pub fn decode(bytes: &[u8], validators: usize) -> Result<Finality, String> {
        let mut bytes = bytes::Bytes::copy_from_slice(bytes);
        let buf = &mut bytes;
        let tag = u8::read(buf).map_err(|e| format!("tag: {e}"))?;
        let context = BlockContext::read(buf).map_err(|e| format!("context: {e}"))?;
        let parent = Digest::read(buf).map_err(|e| format!("parent: {e}"))?;
        let certificate = match tag {
            0 => None,
            1 => Some(
                BlockFinalization::read_cfg(buf, &validators)
                    .map_err(|e| format!("certificate: {e}"))?,
            ),
            other => return Err(format!("unknown tag {other}")),
        };
        if !buf.is_empty() {
            return Err(format!("{} trailing bytes", buf.len()));
        }
        Ok(Finality {
            context,
            parent,
            certificate,
        })
    }

    /// The consensus block this proof wraps `ledger` in.
    pub fn block(&self, ledger: LedgerBlock) -> Block {
        Block {
            context: self.context.clone(),
            parent: self.parent,
            height: Height::new(ledger.header.height),
            ledger: Some(ledger),
        }
    }
}

/// Checks finalization certificates against a chain's validator set.
pub struct CertificateChecker {
    verifier: Scheme,
    validators: usize,
}

impl CertificateChecker {
    pub fn new(namespace: &[u8], validators: Set<PublicKey>) -> CertificateChecker {
        let count = validators.len();
        CertificateChecker {
            verifier: Scheme::verifier(namespace, validators),
            validators: count,
        }
    }

    pub fn validators(&self) -> usize {
        self.validators
    }

    /// Whether `certificate` is a valid finalization of exactly `digest`.
    pub fn finalizes(&self, certificate: &BlockFinalization, digest: &Digest) -> bool {
        if certificate.proposal.payload != *digest {
            return false;
        }
        // The random source only blinds batch verification; a fresh seed
        // keeps a forger from predicting it.
        let mut seed = [0u8; 32];
        if getrandom::fill(&mut seed).is_err() {
            return false;
        }
        let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::from_seed(seed);
        certificate.verify(&mut rng, &self.verifier, &Sequential)
    }
}

/// Verifies that `blocks` (consecutive, ascending, with their proofs) extend
/// the block whose consensus digest is `tip`, and that the last of them was
/// finalized. Returns the consensus digest of the last block.
pub fn check_run(
    checker: &CertificateChecker,
    tip: Digest,
    blocks: &[(LedgerBlock, Finality)],
) -> Result<Digest, String> {
    let mut parent = tip;
    let mut last_certified = false;
    for (ledger, finality) in blocks {
        let height = ledger.header.height;
        if finality.parent != parent {
            return Err(format!(
                "block {height} does not link to the block before it"
            ));
        }
        let digest = finality.block(ledger.clone()).digest();
        last_certified = match &finality.certificate {
            Some(certificate) => {
                if !checker.finalizes(certificate, &digest) {
                    return Err(format!(
                        "the finalization certificate of block {height} is not valid"
                    ));
                }
                true
            }
            None => false,
        };
        parent = digest;
    }
    if !last_certified {
        return Err("the last block of the run has no finalization certificate".to_string());
    }
    Ok(parent)
}
