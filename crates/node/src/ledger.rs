//! The node's ledger: the finalized chain as stored, a speculative head for
//! proposals, the transaction pool, and the one place finalized blocks are
//! written.
//!
//! Consensus drives it: [`NodeLedger::propose`] builds a block on a parent,
//! [`NodeLedger::verify`] checks another validator's proposal,
//! [`NodeLedger::finalize`] applies and stores a finalized block. The HTTP
//! API reads the finalized chain only, so what it shows is final.

use std::collections::VecDeque;
use std::path::Path;

use futures::channel::mpsc::UnboundedSender;
use stigmer_ledger::block::{BLOCK_TXS_MAX, Block};
use stigmer_ledger::chain::{Applied, Chain};
use stigmer_ledger::store::Store;
use stigmer_ledger::tx::VerifiedTransaction;
use stigmer_ledger::{Hash, LedgerError};
use tokio::sync::watch;

use crate::NodeError;
use crate::genesis::Genesis;
use crate::mempool::Mempool;

/// Most transactions a proposal carries. Bounded well below the block limit
/// so that a block is applied in a fraction of a view.
pub const PROPOSAL_TXS_MAX: u32 = 2_000;
const _: () = assert!(PROPOSAL_TXS_MAX <= BLOCK_TXS_MAX);

pub struct NodeLedger {
    genesis: Genesis,
    store: Store,
    finalized: Chain,
    /// `finalized` plus the blocks in `pending`.
    head: Chain,
    /// Blocks proposed on top of `finalized`, not finalized yet, in order.
    pending: VecDeque<Block>,
    mempool: Mempool,
    height_sender: watch::Sender<u64>,
    /// Counts transactions entering the pool, so that an idle proposer
    /// wakes up when one arrives (`consensus::application`).
    pool_arrivals: watch::Sender<u64>,
    /// Where transactions submitted here are announced to the other
    /// validators (consensus's gossip task reads it).
    gossip: Option<UnboundedSender<Vec<u8>>>,
    /// On a full node: the validators' APIs that submissions go to.
    upstreams: Vec<String>,
}

impl NodeLedger {
    /// Opens the ledger in `dir`, replaying every stored block.
    pub fn open(dir: &Path, genesis: Genesis) -> Result<NodeLedger, NodeError> {
        let store = Store::open(dir, &genesis.chain_id)?;
        let mut chain = genesis.chain()?;
        let applied = store.applied_height()?;
        for height in 1..=applied {
            let block = store
                .block(height)?
                .ok_or_else(|| LedgerError::Storage(format!("block {height} is missing")))?;
            chain.replay_block(&block)?;
        }
        let (height_sender, _) = watch::channel(chain.height);
        Ok(NodeLedger {
            genesis,
            store,
            head: chain.clone(),
            finalized: chain,
            pending: VecDeque::new(),
            mempool: Mempool::default(),
            height_sender,
            pool_arrivals: watch::Sender::new(0),
            gossip: None,
            upstreams: Vec::new(),
        })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    pub fn chain(&self) -> &Chain {
        &self.finalized
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The nonce a new transaction of `agent` should carry: after its
    /// finalized, speculative and pending ones.
    pub fn next_nonce(&self, agent: &stigmer_protocol::AgentId) -> u64 {
        self.mempool.next_nonce(agent, self.head.next_nonce(agent))
    }

    /// Learn when the finalized height changes.
    pub fn watch_height(&self) -> watch::Receiver<u64> {
        self.height_sender.subscribe()
    }

    /// Learn when a transaction enters the pool. Subscribe before looking
    /// at the pool, so that nothing arriving after the look is missed.
    pub fn watch_pool(&self) -> watch::Receiver<u64> {
        self.pool_arrivals.subscribe()
    }

    /// Whether a block built on `parent` now would carry a transaction.
    pub fn has_work_on(&mut self, parent: Hash) -> Result<bool, NodeError> {
        self.rewind_head_to(parent)?;
        Ok(self.mempool.has_includable(&self.head))
    }

    /// Accepts a transaction into the pool after checking its chain id and
    /// nonce, and announces it to the other validators. Returns its hash.
    /// The signature is checked before, outside the lock on the ledger, so
    /// that submissions verify in parallel.
    pub fn submit(&mut self, tx: VerifiedTransaction) -> Result<Hash, NodeError> {
        let encoded = self.gossip.as_ref().map(|_| tx.encoded().to_vec());
        let hash = self.accept(tx)?;
        if let (Some(gossip), Some(encoded)) = (&self.gossip, encoded) {
            // The receiver lives as long as consensus; if it is gone the
            // node is stopping and the pool no longer matters.
            let _ = gossip.unbounded_send(encoded);
        }
        Ok(hash)
    }

    /// Whether the pool would take `tx` (chain id and nonce), without taking it.
    pub fn check(&self, tx: &VerifiedTransaction) -> Result<(), NodeError> {
        Ok(self.head.check_verified(tx)?)
    }

    /// Accepts a transaction another validator announced (not announced
    /// again: every validator hears from the one that took it).
    pub fn accept(&mut self, tx: VerifiedTransaction) -> Result<Hash, NodeError> {
        self.head.check_verified(&tx)?;
        let next = self.head.next_nonce(&tx.signer());
        let n_pending = self.mempool.len();
        let hash = self.mempool.insert(tx, next)?;
        if self.mempool.len() > n_pending {
            self.pool_arrivals.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(hash)
    }

    /// Announce what is submitted here on `gossip`.
    pub fn set_gossip(&mut self, gossip: UnboundedSender<Vec<u8>>) {
        self.gossip = Some(gossip);
    }

    /// Make this a full node: submissions go to `upstreams`.
    pub fn set_upstreams(&mut self, upstreams: Vec<String>) {
        self.upstreams = upstreams;
    }

    /// The validators' APIs a full node forwards submissions to; empty on
    /// a validator.
    pub fn upstreams(&self) -> &[String] {
        &self.upstreams
    }

    /// Builds the next block on `parent` (a ledger block hash) with pending
    /// transactions, at `timestamp_ms` (raised to the parent's if earlier).
    pub fn propose(&mut self, parent: Hash, timestamp_ms: u64) -> Result<Block, NodeError> {
        self.rewind_head_to(parent)?;
        let txs = self.mempool.select(&self.head, PROPOSAL_TXS_MAX);
        let (block, _) = self.head.propose(timestamp_ms, txs)?;
        self.pending.push_back(block.clone());
        Ok(block)
    }

    /// Whether the speculative head can be moved to end at `parent` (the
    /// finalized tip or a block this node proposed or verified).
    pub fn knows(&self, parent: &Hash) -> bool {
        self.head.tip == *parent
            || self.finalized.tip == *parent
            || self.pending.iter().any(|b| b.hash() == *parent)
    }

    /// Adopts a branch of notarized blocks this node did not execute (it
    /// verified a competing branch, or restarted): `branch`, in ascending
    /// order, must start on a block [`NodeLedger::knows`]; blocks already
    /// finalized are skipped. Each block is checked in full.
    pub fn adopt(&mut self, branch: &[Block]) -> Result<(), NodeError> {
        let fresh: Vec<&Block> = branch
            .iter()
            .filter(|b| b.header.height > self.finalized.height)
            .collect();
        let Some(first) = fresh.first() else {
            return Ok(());
        };
        self.rewind_head_to(first.header.parent)?;
        let mut head = self.head.clone();
        for block in &fresh {
            head.apply_block(block)?;
        }
        self.head = head;
        self.pending.extend(fresh.into_iter().cloned());
        Ok(())
    }

    /// Whether `block` is a valid child of the chain it names as parent.
    /// A proposal is held to every limit of the codec (it may have been
    /// decoded leniently, as finalized blocks are): one that is not canonical
    /// is refused, as a proposer of this code would never build it.
    pub fn verify(&mut self, block: &Block) -> bool {
        if let Err(error) = block.check_canonical() {
            tracing::warn!(height = block.header.height, %error, "refused a non-canonical proposal");
            return false;
        }
        if self.rewind_head_to(block.header.parent).is_err() {
            return false;
        }
        let mut trial = self.head.clone();
        match trial.apply_block(block) {
            Ok(_) => {
                self.head = trial;
                self.pending.push_back(block.clone());
                true
            }
            Err(error) => {
                tracing::warn!(height = block.header.height, %error, "refused a proposal");
                false
            }
        }
    }

    /// Applies and stores a finalized block with `finality`, the proof of
    /// its finalization (see `consensus::finality`). Blocks at or below the
    /// stored height are skipped (consensus may deliver them again after a
    /// restart). Returns the height now finalized.
    pub fn finalize(&mut self, block: &Block, finality: &[u8]) -> Result<u64, NodeError> {
        if block.header.height <= self.finalized.height {
            return Ok(self.finalized.height);
        }
        let known = self
            .pending
            .front()
            .is_some_and(|front| front.hash() == block.hash());
        // A block this node proposed or verified had its signatures checked
        // then; executing it again and matching its state root is enough.
        let applied: Applied = if known {
            self.finalized.replay_block(block)?
        } else {
            self.finalized.apply_block(block)?
        };
        self.store.commit_finalized_block(
            block,
            &applied.outcomes,
            &applied.changed_leaves,
            finality,
        )?;
        if known {
            self.pending.pop_front();
        } else {
            // Another block won: what was speculated on is void.
            self.pending.clear();
            self.head = self.finalized.clone();
        }
        self.mempool.prune(&self.finalized);
        let height = self.finalized.height;
        self.height_sender.send_replace(height);
        // An idle chain makes an empty block now and then: not worth a line.
        if block.txs.is_empty() {
            tracing::debug!(height, "empty block finalized");
        } else {
            tracing::info!(height, n_txs = block.txs.len(), "block finalized");
        }
        Ok(height)
    }

    /// Makes `head` end at `parent`, dropping speculative blocks after it.
    fn rewind_head_to(&mut self, parent: Hash) -> Result<(), NodeError> {
        if self.head.tip == parent {
            return Ok(());
        }
        if self.finalized.tip == parent {
            self.pending.clear();
            self.head = self.finalized.clone();
            return Ok(());
        }
        let Some(position) = self.pending.iter().position(|b| b.hash() == parent) else {
            return Err(NodeError::UnknownParent(parent));
        };
        let keep: Vec<Block> = self.pending.drain(..=position).collect();
        self.pending.clear();
        let mut head = self.finalized.clone();
        for block in &keep {
            head.apply_block(block)?;
        }
        self.head = head;
        self.pending.extend(keep);
        Ok(())
    }
}
