//! The node's ledger: the finalized chain as stored, a speculative head for
//! proposals, the transaction pool, and the one place finalized blocks are
//! written.
//!
//! Consensus drives it: [`NodeLedger::propose`] builds a block on a parent,
//! [`NodeLedger::verify`] checks another validator's proposal,
//! [`NodeLedger::finalize`] applies and stores a finalized block. The HTTP
//! API reads the finalized chain only, so what it shows is final.
//!
//! # Two locks, so that no read stalls consensus
//!
//! The speculative part (head, pending blocks, pool) is consensus's: it sits
//! in [`NodeLedger`], behind the node's one `Mutex` ([`Shared`]). The
//! finalized part ([`Finalized`]: the chain as of the last finalized block,
//! the store, the genesis) is shared through an `Arc` and its chain sits
//! behind its own `RwLock`. The API reads the finalized part without ever
//! taking the mutex (only O(1) questions go there: the pool's size, whether
//! a hash is pending, a nonce), and holds a read guard only for one bounded
//! page of work (every list is paginated). Consensus takes the write guard
//! only while [`NodeLedger::finalize`] applies and stores one block; `std`'s
//! `RwLock` lets a waiting writer in before new readers, so the finalizer
//! waits at most for the pages being read at that moment. Proposing and
//! verifying take only read guards (to rebuild the head), so readers never
//! delay them. A snapshot (an `Arc` of the finalized chain swapped per block)
//! was the alternative; it would clone the whole state at every block. What
//! grows with history (action logs, origins, supply over time) is in the
//! store, not the chain, written with each block under the write guard.
//!
//! Lock order: the mutex, then the finalized chain. Code holding a guard
//! of the finalized chain never takes the mutex.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use futures::channel::mpsc::UnboundedSender;
use stigmer_ledger::block::{BLOCK_TXS_BYTES_MAX, BLOCK_TXS_MAX, Block};
use stigmer_ledger::chain::{Applied, Chain};
use stigmer_ledger::store::Store;
use stigmer_ledger::tx::VerifiedTransaction;
use stigmer_ledger::{Hash, LedgerError};
use tokio::sync::watch;

use crate::NodeError;
use crate::genesis::Genesis;
use crate::mempool::{Mempool, Standing};

/// Most transactions a proposal carries. Bounded well below the block limit
/// so that a block is applied in a fraction of a view.
pub const PROPOSAL_TXS_MAX: u32 = 2_000;
const _: () = assert!(PROPOSAL_TXS_MAX <= BLOCK_TXS_MAX);
/// Most canonical bytes of transactions a proposal carries: about half what
/// a block may hold (with each transaction's length prefix), so that a
/// proposal travels and is checked quickly.
pub const PROPOSAL_BYTES_MAX: u64 = 2 * 1024 * 1024;
const _: () =
    assert!(PROPOSAL_BYTES_MAX as usize + 4 * PROPOSAL_TXS_MAX as usize <= BLOCK_TXS_BYTES_MAX);

/// The finalized ledger: what the API reads, shared with it so that reads
/// never take the lock consensus works under (see the module docs).
pub struct Finalized {
    genesis: Genesis,
    /// The state root right after the genesis (the state of "block 0").
    genesis_state_root: Hash,
    store: Store,
    /// The chain as of the last finalized block; written only by
    /// [`NodeLedger::finalize`], one block at a time.
    chain: RwLock<Chain>,
    height_sender: watch::Sender<u64>,
}

impl Finalized {
    /// The finalized chain. Hold the guard for bounded work only (a page):
    /// the finalizer waits for it.
    pub fn read(&self) -> RwLockReadGuard<'_, Chain> {
        // A panic while holding the lock would be a bug in the node; a
        // block is applied whole or the node stops (see `finalize`).
        self.chain
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Chain> {
        self.chain
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The state root of the chain at height 0, after the genesis.
    pub fn genesis_state_root(&self) -> Hash {
        self.genesis_state_root
    }

    /// Learn when the finalized height changes.
    pub fn watch_height(&self) -> watch::Receiver<u64> {
        self.height_sender.subscribe()
    }
}

pub struct NodeLedger {
    finalized: Arc<Finalized>,
    /// The finalized chain plus the blocks in `pending`.
    head: Chain,
    /// Blocks proposed on top of the finalized chain, not finalized yet, in
    /// order.
    pending: VecDeque<Block>,
    mempool: Mempool,
    /// Counts transactions entering the pool, so that an idle proposer
    /// wakes up when one arrives (`consensus::application`).
    pool_arrivals: watch::Sender<u64>,
    /// Where transactions submitted here are announced to the other
    /// validators (consensus's gossip task reads it).
    gossip: Option<UnboundedSender<Arc<[u8]>>>,
    /// On a full node: the validators' APIs that submissions go to.
    upstreams: Vec<String>,
    /// Transactions this node's proposals left out because the state
    /// refused them, with the reason, so that whoever submitted one learns
    /// why it never reached a block.
    refused: RecentlyRefused,
}

/// The node's ledger as its tasks share it (consensus, the API, a full
/// node's fetcher, the demo): the node's one mutex (see the module docs).
pub type Shared = Arc<Mutex<NodeLedger>>;

pub fn lock(ledger: &Shared) -> MutexGuard<'_, NodeLedger> {
    // A panic while holding the lock would be a bug in the node; the data
    // is still consistent (writes happen in redb transactions), so go on.
    ledger
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The node's time, milliseconds since the Unix epoch, as the pool takes it
/// from those outside consensus (the API, the demo); consensus reads its
/// runtime's clock instead, so that simulations stay deterministic.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// How many refusals a node remembers (the oldest are forgotten first).
pub const REFUSALS_REMEMBERED_MAX: usize = 4_096;

/// A bounded memory of refusals, oldest forgotten first.
#[derive(Default)]
struct RecentlyRefused {
    order: VecDeque<Hash>,
    reasons: std::collections::HashMap<Hash, String>,
}

impl RecentlyRefused {
    fn remember(&mut self, hash: Hash, reason: String) {
        if self.reasons.insert(hash, reason).is_some() {
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > REFUSALS_REMEMBERED_MAX {
            if let Some(oldest) = self.order.pop_front() {
                self.reasons.remove(&oldest);
            }
        }
    }
}

impl NodeLedger {
    /// Opens the ledger in `dir`, replaying every stored block.
    pub fn open(dir: &Path, genesis: Genesis) -> Result<NodeLedger, NodeError> {
        let store = Store::open(dir, &genesis.chain_id)?;
        let (mut chain, genesis_applied) = genesis.chain_applied()?;
        let genesis_state_root = chain.state_root();
        // Log entries, origins and supply points of blocks stored without
        // them (the genesis of a new store, a store of an older version)
        // are written as the blocks are replayed.
        let indexed = store.indexed_height()?;
        if indexed.is_none() {
            store.index_block(0, &genesis_applied)?;
        }
        drop(genesis_applied);
        let indexed = indexed.unwrap_or(0);
        let applied = store.applied_height()?;
        for height in 1..=applied {
            let block = store
                .block(height)?
                .ok_or_else(|| LedgerError::Storage(format!("block {height} is missing")))?;
            let replayed = chain.replay_block(&block)?;
            if height > indexed {
                store.index_block(height, &replayed)?;
            }
        }
        let (height_sender, _) = watch::channel(chain.height);
        Ok(NodeLedger {
            head: chain.clone(),
            finalized: Arc::new(Finalized {
                genesis,
                genesis_state_root,
                store,
                chain: RwLock::new(chain),
                height_sender,
            }),
            pending: VecDeque::new(),
            mempool: Mempool::default(),
            pool_arrivals: watch::Sender::new(0),
            gossip: None,
            upstreams: Vec::new(),
            refused: RecentlyRefused::default(),
        })
    }

    pub fn genesis(&self) -> &Genesis {
        &self.finalized.genesis
    }

    /// The finalized chain (a read guard: see [`Finalized::read`]).
    pub fn chain(&self) -> RwLockReadGuard<'_, Chain> {
        self.finalized.read()
    }

    pub fn store(&self) -> &Store {
        &self.finalized.store
    }

    /// The finalized ledger, to read without this ledger's lock.
    pub fn finalized(&self) -> Arc<Finalized> {
        Arc::clone(&self.finalized)
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
        self.finalized.watch_height()
    }

    /// Learn when a transaction enters the pool. Subscribe before looking
    /// at the pool, so that nothing arriving after the look is missed.
    pub fn watch_pool(&self) -> watch::Receiver<u64> {
        self.pool_arrivals.subscribe()
    }

    /// Whether a block built on `parent` now would carry a transaction.
    pub fn has_work_on(&mut self, parent: Hash) -> Result<bool, NodeError> {
        self.rewind_head_to(parent)?;
        let head = &self.head;
        Ok(self.mempool.has_includable(|agent| head.next_nonce(agent)))
    }

    /// Accepts a transaction into the pool at `now_ms` (the node's time)
    /// after checking its chain id and nonce, and announces it to the other
    /// validators. Returns its hash. The signature is checked before,
    /// outside the lock on the ledger, so that submissions verify in
    /// parallel.
    pub fn submit(&mut self, tx: VerifiedTransaction, now_ms: u64) -> Result<Hash, NodeError> {
        let encoded = self.gossip.as_ref().map(|_| tx.encoded_shared());
        let hash = self.accept(tx, now_ms)?;
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
    ///
    /// What the ledger would refuse anyway is answered at once and never
    /// reaches a block: a transaction that is next in line for its signer
    /// is checked against the speculative head's state (one behind pending
    /// transactions of its signer can only be checked once they are
    /// applied), and every transaction against its signer's hourly
    /// allowance, counting those already pending.
    pub fn accept(&mut self, tx: VerifiedTransaction, now_ms: u64) -> Result<Hash, NodeError> {
        self.head.check_verified(&tx)?;
        self.expire_pending(now_ms);
        let signer = tx.signer();
        let next = self.head.next_nonce(&signer);
        if tx.transaction.nonce == next {
            self.head
                .state
                .check(&signer, &tx.transaction.operation)
                .map_err(LedgerError::Protocol)?;
        }
        let time_ms = now_ms.max(self.head.tip_timestamp_ms);
        let (left, allowance) = self.head.allowance_left(&signer, time_ms);
        if !self.mempool.contains(&tx.hash()) && self.mempool.pending_of(&signer) >= left {
            let window = stigmer_protocol::limits::ALLOWANCE_WINDOW_MS;
            return Err(LedgerError::AllowanceExceeded {
                allowance,
                window_ends_ms: (time_ms / window + 1).saturating_mul(window),
            }
            .into());
        }
        let standing = Standing::of(&self.head.state, &signer);
        let fresh = !self.mempool.contains(&tx.hash());
        let hash = self.mempool.insert(tx, next, standing, now_ms)?;
        if fresh {
            self.pool_arrivals.send_modify(|n| *n = n.wrapping_add(1));
        }
        Ok(hash)
    }

    /// Drops the pool's transactions expired at `now_ms`. Costs what it
    /// drops.
    pub fn expire_pending(&mut self, now_ms: u64) {
        let finalized = self.finalized.read();
        let dropped = self
            .mempool
            .expire(now_ms, |agent| finalized.next_nonce(agent));
        if dropped > 0 {
            tracing::debug!(dropped, "expired pending transactions");
        }
    }

    /// Drops expired transactions, then hands back the canonical bytes of
    /// those due to be announced again at `now_ms` (last announced
    /// `interval_ms` ago or more), at most `max_txs` and `max_bytes`: the
    /// caller sends them after releasing the lock.
    pub fn due_for_announcement(
        &mut self,
        now_ms: u64,
        interval_ms: u64,
        max_txs: usize,
        max_bytes: u64,
    ) -> Vec<Arc<[u8]>> {
        self.expire_pending(now_ms);
        self.mempool
            .due_for_announcement(now_ms, interval_ms, max_txs, max_bytes)
    }

    /// Replaces the (empty) pool with one of smaller limits, for tests.
    #[cfg(test)]
    pub(crate) fn set_pool_limits(&mut self, limits: crate::mempool::PoolLimits) {
        assert!(self.mempool.is_empty());
        self.mempool = Mempool::with_limits(limits);
    }

    /// Announce what is submitted here on `gossip`.
    pub fn set_gossip(&mut self, gossip: UnboundedSender<Arc<[u8]>>) {
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
        let head = &self.head;
        let txs = self.mempool.select(
            |agent| head.next_nonce(agent),
            PROPOSAL_TXS_MAX,
            PROPOSAL_BYTES_MAX,
        );
        let proposal = self.head.propose(timestamp_ms, txs)?;
        // What the state refused leaves the pool with the signer's later
        // transactions, which can no longer follow; it was answered
        // "pending" when it came, so its reason is kept for whoever asks.
        for refused in proposal.refused {
            tracing::debug!(tx = %refused.hash, error = %refused.error, "left a refused transaction out");
            self.mempool.drop_from(&refused.signer, refused.nonce);
            self.refused.remember(
                refused.hash,
                LedgerError::Protocol(refused.error).to_string(),
            );
        }
        self.pending.push_back(proposal.block.clone());
        Ok(proposal.block)
    }

    /// Why a proposal of this node left out transaction `hash`, if it did
    /// recently: the state refused it.
    pub fn refusal(&self, hash: &Hash) -> Option<&str> {
        self.refused.reasons.get(hash).map(String::as_str)
    }

    /// Whether the speculative head can be moved to end at `parent` (the
    /// finalized tip or a block this node proposed or verified).
    pub fn knows(&self, parent: &Hash) -> bool {
        self.head.tip == *parent
            || self.finalized.read().tip == *parent
            || self.pending.iter().any(|b| b.hash() == *parent)
    }

    /// Adopts a branch of notarized blocks this node did not execute (it
    /// verified a competing branch, or restarted): `branch`, in ascending
    /// order, must start on a block [`NodeLedger::knows`]; blocks already
    /// finalized are skipped. Each block is checked in full.
    pub fn adopt(&mut self, branch: &[Block]) -> Result<(), NodeError> {
        let finalized_height = self.finalized.read().height;
        let fresh: Vec<&Block> = branch
            .iter()
            .filter(|b| b.header.height > finalized_height)
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
        let known = self
            .pending
            .front()
            .is_some_and(|front| front.hash() == block.hash());
        let height = {
            // The only write guard: held while this one block is applied
            // and stored, so that readers see the chain and the store agree.
            let mut finalized = self.finalized.write();
            if block.header.height <= finalized.height {
                return Ok(finalized.height);
            }
            // A block this node proposed or verified had its signatures
            // checked then; executing it again and matching its state root
            // is enough.
            let applied: Applied = if known {
                finalized.replay_block(block)?
            } else {
                finalized.apply_block(block)?
            };
            self.finalized
                .store
                .commit_finalized_block(block, &applied, finality)?;
            finalized.height
        };
        if known {
            self.pending.pop_front();
        } else {
            // Another block won: what was speculated on is void.
            self.pending.clear();
            self.head = self.finalized.read().clone();
        }
        {
            let finalized = self.finalized.read();
            self.mempool
                .prune(block.txs.iter().map(|tx| tx.signer()), |agent| {
                    finalized.next_nonce(agent)
                });
        }
        self.finalized.height_sender.send_replace(height);
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
        if self.finalized.read().tip == parent {
            self.pending.clear();
            self.head = self.finalized.read().clone();
            return Ok(());
        }
        let Some(position) = self.pending.iter().position(|b| b.hash() == parent) else {
            return Err(NodeError::UnknownParent(parent));
        };
        let keep: Vec<Block> = self.pending.drain(..=position).collect();
        self.pending.clear();
        let mut head = self.finalized.read().clone();
        for block in &keep {
            head.apply_block(block)?;
        }
        self.head = head;
        self.pending.extend(keep);
        Ok(())
    }
}
