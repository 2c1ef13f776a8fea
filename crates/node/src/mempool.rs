//! Transactions waiting for a block, per signer in nonce order.

use std::collections::BTreeMap;

use stigmer_ledger::Hash;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::tx::VerifiedTransaction;
use stigmer_protocol::AgentId;

/// Most transactions the pool holds.
pub const MEMPOOL_TXS_MAX: u32 = 100_000;
/// How far ahead of its next nonce a signer may queue transactions.
pub const NONCE_AHEAD_MAX: u64 = 1_000;

#[derive(Default)]
pub struct Mempool {
    by_signer: BTreeMap<AgentId, BTreeMap<u64, VerifiedTransaction>>,
    hashes: BTreeMap<Hash, (AgentId, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error("the node holds {MEMPOOL_TXS_MAX} pending transactions already; try again shortly")]
    Full,
    #[error("nonce {nonce} is more than {NONCE_AHEAD_MAX} ahead of the signer's next nonce {next}")]
    TooFarAhead { nonce: u64, next: u64 },
    #[error("another transaction with nonce {nonce} from this signer is already pending")]
    NonceTaken { nonce: u64 },
}

impl Mempool {
    pub fn len(&self) -> u32 {
        self.hashes.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains_key(hash)
    }

    /// The next nonce of `signer` counting its pending transactions that
    /// follow `next_nonce` without a gap.
    pub fn next_nonce(&self, signer: &AgentId, mut next_nonce: u64) -> u64 {
        if let Some(queue) = self.by_signer.get(signer) {
            while queue.contains_key(&next_nonce) {
                next_nonce += 1;
            }
        }
        next_nonce
    }

    /// Adds a transaction already checked against the chain.
    pub fn insert(
        &mut self,
        tx: VerifiedTransaction,
        next_nonce: u64,
    ) -> Result<Hash, MempoolError> {
        let hash = tx.hash();
        if self.hashes.contains_key(&hash) {
            return Ok(hash);
        }
        if self.len() >= MEMPOOL_TXS_MAX {
            return Err(MempoolError::Full);
        }
        let nonce = tx.transaction.nonce;
        if nonce > next_nonce.saturating_add(NONCE_AHEAD_MAX) {
            return Err(MempoolError::TooFarAhead {
                nonce,
                next: next_nonce,
            });
        }
        let signer = tx.signer();
        let queue = self.by_signer.entry(signer.clone()).or_default();
        if queue.contains_key(&nonce) {
            return Err(MempoolError::NonceTaken { nonce });
        }
        queue.insert(nonce, tx);
        self.hashes.insert(hash, (signer, nonce));
        Ok(hash)
    }

    /// Up to `max` transactions that can follow `chain`: for each signer, the
    /// unbroken run of nonces from its next one. Signers take turns so that
    /// one busy signer does not starve the others.
    pub fn select(&self, chain: &Chain, max: u32) -> Vec<VerifiedTransaction> {
        let mut runs: Vec<Vec<&VerifiedTransaction>> = self
            .by_signer
            .iter()
            .map(|(signer, queue)| {
                let mut next = chain.next_nonce(signer);
                queue
                    .range(next..)
                    .take_while(|&(&nonce, _)| {
                        let follows = nonce == next;
                        next += 1;
                        follows
                    })
                    .map(|(_, tx)| tx)
                    .collect()
            })
            .collect();
        let mut selected = Vec::new();
        let mut round = 0;
        while selected.len() < max as usize {
            let mut any = false;
            for run in &mut runs {
                if let Some(tx) = run.get(round) {
                    selected.push((*tx).clone());
                    any = true;
                    if selected.len() >= max as usize {
                        break;
                    }
                }
            }
            if !any {
                break;
            }
            round += 1;
        }
        // Nonces must be in order per signer; interleaving keeps that.
        selected
    }

    /// Whether [`Mempool::select`] on `chain` would select anything: some
    /// signer's next nonce is pending. Stops at the first.
    pub fn has_includable(&self, chain: &Chain) -> bool {
        self.by_signer
            .iter()
            .any(|(signer, queue)| queue.contains_key(&chain.next_nonce(signer)))
    }

    /// Every pending transaction with its hash, by signer and nonce.
    pub fn transactions(&self) -> impl Iterator<Item = (Hash, &VerifiedTransaction)> {
        self.by_signer
            .values()
            .flat_map(|queue| queue.values())
            .map(|tx| (tx.hash(), tx))
    }

    /// Drops every transaction `chain` has made stale (nonce used).
    pub fn prune(&mut self, chain: &Chain) {
        let hashes = &mut self.hashes;
        self.by_signer.retain(|signer, queue| {
            let next = chain.next_nonce(signer);
            let stale: Vec<u64> = queue.range(..next).map(|(&nonce, _)| nonce).collect();
            for nonce in stale {
                if let Some(tx) = queue.remove(&nonce) {
                    hashes.remove(&tx.hash());
                }
            }
            !queue.is_empty()
        });
    }
}
