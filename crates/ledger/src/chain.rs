//! The chain: the protocol state plus what the ledger adds (nonces, height,
//! the tip's hash and time, the state commitment), and the one way to move
//! it forward: [`Chain::apply_block`].
//!
//! Applying a block is a pure function of the previous chain and the block:
//! no clock, no randomness, no I/O. A block is checked whole (height, parent,
//! time, transaction root, every signature, chain id and nonce) before any of
//! it is applied; an operation the protocol refuses does not invalidate the
//! block: its transaction consumes its nonce and records the refusal.

use std::collections::{BTreeMap, BTreeSet};

use stigmer_protocol::limits::ALLOWANCE_WINDOW_MS;
use stigmer_protocol::{AgentId, DcId, ProtocolError, Receipt, State};

use crate::block::{tx_root, Block, Header, BLOCK_TXS_BYTES_MAX, BLOCK_TXS_MAX};
use crate::commitment::StateTree;
use crate::leaves::{self, Changed, LogHashes};
use crate::tx::{SignedTransaction, VerifiedTransaction};
use crate::{Hash, LedgerError};

/// What applying a block did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub outcomes: Vec<TxOutcome>,
    /// Leaves the block changed, with their new values, sorted by key.
    pub changed_leaves: Vec<(Vec<u8>, Vec<u8>)>,
    /// The agent of every account the receipts' log entries name, by DC and
    /// member index: what a store needs to file each entry under its agent.
    pub agents: BTreeMap<DcId, BTreeMap<u32, AgentId>>,
}

impl Applied {
    /// The agent of account `member` of `dc`, if an entry names it.
    pub fn agent(&self, dc: &DcId, member: u32) -> Option<&AgentId> {
        self.agents.get(dc)?.get(&member)
    }

    /// Notes the agents of the accounts `receipt`'s entries name.
    fn note_agents(&mut self, state: &State, receipt: &Receipt) {
        let Some(dc) = state.dc(&receipt.dc) else {
            return;
        };
        let agents = match self.agents.get_mut(&receipt.dc) {
            Some(agents) => agents,
            None => self.agents.entry(receipt.dc.clone()).or_default(),
        };
        for (member, _) in &receipt.log {
            if let std::collections::btree_map::Entry::Vacant(vacant) = agents.entry(*member) {
                if let Some(account) = dc.member_at(*member) {
                    vacant.insert(account.agent.clone());
                }
            }
        }
    }
}

/// A block built by [`Chain::propose`], already applied.
#[derive(Clone, Debug)]
pub struct Proposal {
    pub block: Block,
    pub applied: Applied,
    /// Transactions the state refused, left out of the block.
    pub refused: Vec<Refused>,
}

/// A transaction a proposer left out because the state refused it: it
/// would only have been a refused operation in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub hash: Hash,
    pub signer: AgentId,
    pub nonce: u64,
    pub error: ProtocolError,
}

/// The outcome of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    pub hash: Hash,
    pub result: Result<Receipt, ProtocolError>,
}

#[derive(Clone)]
pub struct Chain {
    pub chain_id: String,
    pub state: State,
    /// Each signer's next nonce.
    pub nonces: BTreeMap<AgentId, u64>,
    /// Height of the last applied block; 0 before any.
    pub height: u64,
    pub tip: Hash,
    pub tip_timestamp_ms: u64,
    /// Transactions in blocks 1..=height, refused ones included.
    pub n_transactions: u64,
    /// The running hash of every account's log; the logs themselves, and
    /// which transaction caused each operation, are in the store.
    log_hashes: LogHashes,
    tree: StateTree,
    /// Transactions each signer has in blocks of the current allowance
    /// window (`allowance_window`), for [`State::hourly_allowance`]. Derived
    /// from the blocks, so every node agrees; not part of the state root.
    window_counts: BTreeMap<AgentId, u32>,
    /// The allowance window of the tip: its time over `ALLOWANCE_WINDOW_MS`.
    allowance_window: u64,
}

impl Chain {
    /// A chain with no block yet.
    pub fn new(chain_id: &str) -> Chain {
        Chain {
            chain_id: chain_id.to_string(),
            state: State::new(),
            nonces: BTreeMap::new(),
            height: 0,
            tip: Hash::ZERO,
            tip_timestamp_ms: 0,
            n_transactions: 0,
            log_hashes: LogHashes::default(),
            tree: StateTree::new(),
            window_counts: BTreeMap::new(),
            allowance_window: 0,
        }
    }

    /// How many transactions `signer` may still have in blocks of the
    /// allowance window that holds `time_ms`, and its allowance: what a pool
    /// checks before taking a transaction.
    pub fn allowance_left(&self, signer: &AgentId, time_ms: u64) -> (u32, u32) {
        let allowance = self.state.hourly_allowance(signer);
        let used = if time_ms / ALLOWANCE_WINDOW_MS == self.allowance_window {
            self.window_counts.get(signer).copied().unwrap_or(0)
        } else {
            0
        };
        (allowance.saturating_sub(used), allowance)
    }

    /// `signer`'s transactions in blocks of `window` before the next
    /// block, and its allowance in the state before it.
    fn allowance_before(&self, window: u64, signer: &AgentId) -> (u32, u32) {
        let before = if window == self.allowance_window {
            self.window_counts.get(signer).copied().unwrap_or(0)
        } else {
            0
        };
        (before, self.state.hourly_allowance(signer))
    }

    /// The transactions of `signer` in the block so far, counted against its
    /// allowance; `None` when one more would exceed it.
    fn count_against_allowance(
        &self,
        window: u64,
        in_block: &mut BTreeMap<AgentId, (u32, u32)>,
        signer: &AgentId,
    ) -> Option<()> {
        let (used, allowance) = match in_block.get_mut(signer) {
            Some(counts) => counts,
            None => in_block
                .entry(signer.clone())
                .or_insert_with(|| self.allowance_before(window, signer)),
        };
        if *used >= *allowance {
            return None;
        }
        *used += 1;
        Some(())
    }

    /// The chain at height 0: `operations` applied in order on behalf of
    /// their agents, without signatures (every member of the chain agrees on
    /// the genesis). `genesis_hash` becomes the parent of block 1.
    pub fn from_genesis(
        chain_id: &str,
        genesis_hash: Hash,
        timestamp_ms: u64,
        operations: &[(AgentId, stigmer_protocol::Operation)],
    ) -> Result<Chain, LedgerError> {
        Chain::from_genesis_applied(chain_id, genesis_hash, timestamp_ms, operations)
            .map(|(chain, _)| chain)
    }

    /// [`Chain::from_genesis`], with what the genesis did as if it were
    /// block 0 (outcomes carry no transaction hash): for a store to keep
    /// its log entries.
    pub fn from_genesis_applied(
        chain_id: &str,
        genesis_hash: Hash,
        timestamp_ms: u64,
        operations: &[(AgentId, stigmer_protocol::Operation)],
    ) -> Result<(Chain, Applied), LedgerError> {
        let mut chain = Chain::new(chain_id);
        let mut changed = Changed::default();
        let mut applied = Applied::default();
        for (agent, operation) in operations {
            let receipt = chain.state.apply(agent, operation)?;
            changed.receipt(&receipt, &mut chain.log_hashes);
            applied.note_agents(&chain.state, &receipt);
            applied.outcomes.push(TxOutcome {
                hash: Hash::ZERO,
                result: Ok(receipt),
            });
        }
        let changes = changed.leaves(&chain.state, &chain.nonces, &chain.log_hashes);
        chain.tree.apply(&changes);
        chain.tip = genesis_hash;
        chain.tip_timestamp_ms = timestamp_ms;
        applied.changed_leaves = changes;
        Ok((chain, applied))
    }

    /// Applies a block read back from this node's own store: its signatures
    /// were checked before it was written, so only its place in the chain and
    /// its roots are checked again. `stigmer verify` checks everything.
    pub fn replay_block(&mut self, block: &Block) -> Result<Applied, LedgerError> {
        let header = &block.header;
        if header.height != self.height + 1 || header.parent != self.tip {
            return Err(LedgerError::InvalidBlock {
                height: header.height,
                reason: format!("does not follow block {} ({})", self.height, self.tip),
            });
        }
        if header.tx_root != tx_root(&block.txs) {
            return Err(LedgerError::InvalidBlock {
                height: header.height,
                reason: "the transaction root does not match".to_string(),
            });
        }
        let applied = self.execute(block);
        let computed = self.state_root();
        if computed != header.state_root {
            return Err(LedgerError::StateRootMismatch {
                height: header.height,
                computed,
                claimed: header.state_root,
            });
        }
        self.finish(block);
        Ok(applied)
    }

    pub fn state_root(&self) -> Hash {
        self.tree.root()
    }

    /// How many entries the log of account `member` of `dc` has.
    pub fn log_len(&self, dc: &DcId, member: u32) -> u64 {
        self.log_hashes.get(dc, member).0
    }

    pub fn tree(&self) -> &StateTree {
        &self.tree
    }

    pub fn next_nonce(&self, agent: &AgentId) -> u64 {
        self.nonces.get(agent).copied().unwrap_or(0)
    }

    /// Checks what can be checked of a transaction before it is in a block:
    /// signature, chain id, and that its nonce is not already used.
    pub fn check_transaction(&self, tx: &SignedTransaction) -> Result<(), LedgerError> {
        self.check_chain_and_nonce(tx)?;
        tx.verify_signature()
    }

    /// [`Chain::check_transaction`] for a transaction whose signature is
    /// known to be good.
    pub fn check_verified(&self, tx: &VerifiedTransaction) -> Result<(), LedgerError> {
        self.check_chain_and_nonce(tx)
    }

    fn check_chain_and_nonce(&self, tx: &SignedTransaction) -> Result<(), LedgerError> {
        if tx.transaction.chain_id != self.chain_id {
            return Err(LedgerError::WrongChain {
                expected: self.chain_id.clone(),
                got: tx.transaction.chain_id.clone(),
            });
        }
        let expected = self.next_nonce(&tx.signer());
        if tx.transaction.nonce < expected {
            return Err(LedgerError::NonceReused {
                expected,
                got: tx.transaction.nonce,
            });
        }
        Ok(())
    }

    /// Builds the next block from `txs` (verified, in nonce order per
    /// signer) and applies it. Used by the proposer.
    ///
    /// Each transaction is applied as it is considered, so the block holds
    /// only what the state accepts: a transaction the state refuses (which
    /// could not be checked when it arrived, being behind others of its
    /// signer) is left out and handed back in [`Proposal::refused`], with
    /// the rest of its signer's (whose nonces can no longer follow). So is
    /// a signer's transaction beyond its hourly allowance, or one whose
    /// nonce does not follow. Only transactions that fit in a block are
    /// taken, so a proposal is always decodable by the peers.
    pub fn propose(
        &mut self,
        timestamp_ms: u64,
        txs: Vec<VerifiedTransaction>,
    ) -> Result<Proposal, LedgerError> {
        let timestamp_ms = timestamp_ms.max(self.tip_timestamp_ms);
        let height = self.height + 1;
        let window = timestamp_ms / ALLOWANCE_WINDOW_MS;
        // A verifier counts allowances with the state before the block
        // (`check_block`): so does the proposer.
        let mut in_block = BTreeMap::new();
        for tx in &txs {
            let signer = tx.signer();
            if let std::collections::btree_map::Entry::Vacant(entry) = in_block.entry(signer) {
                let counts = self.allowance_before(window, entry.key());
                entry.insert(counts);
            }
        }
        self.enter_window(window);
        let mut room = BLOCK_TXS_BYTES_MAX;
        let mut left_out: BTreeSet<AgentId> = BTreeSet::new();
        let mut refused = Vec::new();
        let mut included: Vec<SignedTransaction> = Vec::new();
        let mut changed = Changed::default();
        let mut outcomes = Vec::new();
        let mut agents = Applied::default();
        for tx in txs {
            if included.len() >= BLOCK_TXS_MAX as usize {
                break;
            }
            // Each transaction is length-prefixed in the block.
            let size = tx.encoded().len() + 4;
            if size >= room {
                break;
            }
            let signer = tx.signer();
            if left_out.contains(&signer) {
                continue;
            }
            let follows = tx.transaction.chain_id == self.chain_id
                && tx.transaction.nonce == self.next_nonce(&signer);
            if !follows
                || self
                    .count_against_allowance(window, &mut in_block, &signer)
                    .is_none()
            {
                left_out.insert(signer);
                continue;
            }
            let result = self.state.apply(&signer, &tx.transaction.operation);
            if let Err(error) = result {
                // A failed operation changes nothing: the state is as if
                // the transaction had never been considered.
                refused.push(Refused {
                    hash: tx.hash(),
                    signer: signer.clone(),
                    nonce: tx.transaction.nonce,
                    error,
                });
                left_out.insert(signer);
                continue;
            }
            room -= size;
            let tx = tx.into_inner();
            self.record(&tx, result, &mut changed, &mut outcomes, &mut agents);
            included.push(tx);
        }
        let changed_leaves = changed.leaves(&self.state, &self.nonces, &self.log_hashes);
        self.tree.apply(&changed_leaves);
        let block = Block {
            header: Header {
                height,
                parent: self.tip,
                timestamp_ms,
                tx_root: tx_root(&included),
                state_root: self.state_root(),
            },
            txs: included,
        };
        self.finish(&block);
        Ok(Proposal {
            block,
            applied: Applied {
                outcomes,
                changed_leaves,
                agents: agents.agents,
            },
            refused,
        })
    }

    /// The next block with exactly `txs`, in order, whatever the state
    /// makes of them, with its roots right: a block an older or dishonest
    /// proposer could build (one of this version leaves refused
    /// transactions out). The chain is unchanged. For tests and tools that
    /// need such blocks; `None` if the block is invalid.
    pub fn seal(&self, timestamp_ms: u64, txs: Vec<SignedTransaction>) -> Option<Block> {
        let mut block = Block {
            header: Header {
                height: self.height + 1,
                parent: self.tip,
                timestamp_ms,
                tx_root: tx_root(&txs),
                state_root: Hash::ZERO,
            },
            txs,
        };
        let mut trial = self.clone();
        trial.check_block(&block, Signatures::Verify).ok()?;
        trial.execute(&block);
        block.header.state_root = trial.state_root();
        Some(block)
    }

    /// Starts counting allowances afresh when a block opens a new window.
    fn enter_window(&mut self, window: u64) {
        if window != self.allowance_window {
            self.window_counts.clear();
            self.allowance_window = window;
        }
    }

    /// Records what one transaction of a block did: its signer's nonce and
    /// allowance, the leaves it changed, and the agents its log entries
    /// name.
    fn record(
        &mut self,
        tx: &SignedTransaction,
        result: Result<Receipt, ProtocolError>,
        changed: &mut Changed,
        outcomes: &mut Vec<TxOutcome>,
        agents: &mut Applied,
    ) {
        let signer = tx.signer();
        let count = self.window_counts.entry(signer.clone()).or_insert(0);
        *count = count.saturating_add(1);
        self.nonces.insert(signer.clone(), tx.transaction.nonce + 1);
        changed.signer(signer);
        if let Ok(receipt) = &result {
            changed.receipt(receipt, &mut self.log_hashes);
            agents.note_agents(&self.state, receipt);
        }
        outcomes.push(TxOutcome {
            hash: tx.hash(),
            result,
        });
    }

    /// Checks `block` against this chain and applies it. On error the chain
    /// is unchanged, except for a state root mismatch, which means the block
    /// or this node is broken: the caller must stop rather than go on.
    pub fn apply_block(&mut self, block: &Block) -> Result<Applied, LedgerError> {
        self.apply(block, Signatures::Verify)
    }

    /// [`Chain::apply_block`] for a block whose signatures were checked
    /// already, possibly on another thread while this chain applied the
    /// blocks before it: signatures depend on no state, so a replay can
    /// check block `h + 1`'s while it applies block `h`.
    pub fn apply_signature_checked(
        &mut self,
        block: &SignatureChecked,
    ) -> Result<Applied, LedgerError> {
        self.apply(&block.0, Signatures::AlreadyVerified)
    }

    fn apply(&mut self, block: &Block, signatures: Signatures) -> Result<Applied, LedgerError> {
        self.check_block(block, signatures)?;
        let applied = self.execute(block);
        let computed = self.state_root();
        if computed != block.header.state_root {
            return Err(LedgerError::StateRootMismatch {
                height: block.header.height,
                computed,
                claimed: block.header.state_root,
            });
        }
        self.finish(block);
        Ok(applied)
    }

    fn check_block(&self, block: &Block, signatures: Signatures) -> Result<(), LedgerError> {
        let header = &block.header;
        let invalid = |reason: String| LedgerError::InvalidBlock {
            height: header.height,
            reason,
        };
        if header.height != self.height + 1 {
            return Err(invalid(format!("expected height {}", self.height + 1)));
        }
        if header.parent != self.tip {
            return Err(invalid(format!(
                "its parent is {}, the tip is {}",
                header.parent, self.tip
            )));
        }
        if header.timestamp_ms < self.tip_timestamp_ms {
            return Err(invalid("its time is earlier than its parent's".to_string()));
        }
        if block.txs.len() > BLOCK_TXS_MAX as usize {
            return Err(invalid(format!("more than {BLOCK_TXS_MAX} transactions")));
        }
        if header.tx_root != tx_root(&block.txs) {
            return Err(invalid("the transaction root does not match".to_string()));
        }
        // Nonces must follow each other per signer, within the block too,
        // and no signer may exceed its hourly allowance.
        let mut next: BTreeMap<AgentId, u64> = BTreeMap::new();
        let window = header.timestamp_ms / ALLOWANCE_WINDOW_MS;
        let mut in_block = BTreeMap::new();
        for (index, tx) in block.txs.iter().enumerate() {
            let signer = tx.signer();
            let expected = *next
                .entry(signer.clone())
                .or_insert_with(|| self.next_nonce(&signer));
            let wrong = |e: LedgerError| invalid(format!("transaction {index}: {e}"));
            if tx.transaction.chain_id != self.chain_id {
                return Err(wrong(LedgerError::WrongChain {
                    expected: self.chain_id.clone(),
                    got: tx.transaction.chain_id.clone(),
                }));
            }
            if tx.transaction.nonce != expected {
                let got = tx.transaction.nonce;
                return Err(wrong(if got < expected {
                    LedgerError::NonceReused { expected, got }
                } else {
                    LedgerError::NonceGap { expected, got }
                }));
            }
            if self
                .count_against_allowance(window, &mut in_block, &signer)
                .is_none()
            {
                return Err(wrong(LedgerError::AllowanceExceeded {
                    allowance: self.state.hourly_allowance(&signer),
                    window_ends_ms: (window + 1).saturating_mul(ALLOWANCE_WINDOW_MS),
                }));
            }
            next.insert(signer, expected + 1);
        }
        if signatures == Signatures::Verify {
            verify_signatures(&block.txs)
                .map_err(|(index, error)| invalid(format!("transaction {index}: {error}")))?;
        }
        Ok(())
    }

    /// Applies the transactions of a checked block and updates the state
    /// tree. Cannot fail: refusals are outcomes.
    fn execute(&mut self, block: &Block) -> Applied {
        let applied = self.execute_state(block);
        self.tree.apply(&applied.changed_leaves);
        applied
    }

    /// [`Chain::execute`] without the state tree.
    fn execute_state(&mut self, block: &Block) -> Applied {
        let mut changed = Changed::default();
        let mut outcomes = Vec::with_capacity(block.txs.len());
        let mut agents = Applied::default();
        self.enter_window(block.header.timestamp_ms / ALLOWANCE_WINDOW_MS);
        for tx in &block.txs {
            let result = self.state.apply(&tx.signer(), &tx.transaction.operation);
            self.record(tx, result, &mut changed, &mut outcomes, &mut agents);
        }
        let changed_leaves = changed.leaves(&self.state, &self.nonces, &self.log_hashes);
        Applied {
            outcomes,
            changed_leaves,
            agents: agents.agents,
        }
    }

    /// [`Chain::apply_signature_checked`] without the state tree, for a
    /// replay that updates the tree (a third of applying a block) on
    /// another thread while this one executes the next block. The caller
    /// takes the tree first ([`Chain::take_tree`]), gives each returned
    /// [`DeferredRoot`] to it in order, and puts it back
    /// ([`Chain::put_tree`]) before asking this chain for a root. A root
    /// that does not match means the replay must stop there, as with
    /// [`Chain::apply_block`].
    pub fn apply_deferring_root(
        &mut self,
        block: &SignatureChecked,
    ) -> Result<DeferredRoot, LedgerError> {
        let block = &block.0;
        self.check_block(block, Signatures::AlreadyVerified)?;
        let applied = self.execute_state(block);
        self.finish(block);
        Ok(DeferredRoot {
            height: block.header.height,
            claimed: block.header.state_root,
            changed_leaves: applied.changed_leaves,
        })
    }

    /// The state tree, left empty here: see [`Chain::apply_deferring_root`].
    pub fn take_tree(&mut self) -> StateTree {
        std::mem::take(&mut self.tree)
    }

    pub fn put_tree(&mut self, tree: StateTree) {
        self.tree = tree;
    }

    fn finish(&mut self, block: &Block) {
        self.height = block.header.height;
        self.tip = block.hash();
        self.tip_timestamp_ms = block.header.timestamp_ms;
        self.n_transactions += block.txs.len() as u64;
    }

    /// Recomputes the state root from every leaf, for `verify`. The logs'
    /// hashes are the running ones (the state keeps no logs to hash again).
    pub fn recompute_root(&self) -> Hash {
        let mut tree = StateTree::new();
        let all: BTreeMap<Vec<u8>, Vec<u8>> =
            leaves::all_leaves(&self.state, &self.nonces, &self.log_hashes)
                .into_iter()
                .collect();
        let all: Vec<(Vec<u8>, Vec<u8>)> = all.into_iter().collect();
        tree.apply(&all);
        tree.root()
    }
}

/// What a block executed by [`Chain::apply_deferring_root`] changed, and
/// the state root its header claims: checked against the state tree, in
/// the order of the blocks, by whoever holds the tree.
#[derive(Clone, Debug)]
pub struct DeferredRoot {
    pub height: u64,
    pub claimed: Hash,
    pub changed_leaves: Vec<(Vec<u8>, Vec<u8>)>,
}

impl DeferredRoot {
    /// Applies the block's leaves to `tree` (the state tree after the block
    /// before) and checks the root.
    pub fn check(self, tree: &mut StateTree) -> Result<(), LedgerError> {
        tree.apply(&self.changed_leaves);
        let computed = tree.root();
        if computed != self.claimed {
            return Err(LedgerError::StateRootMismatch {
                height: self.height,
                computed,
                claimed: self.claimed,
            });
        }
        Ok(())
    }
}

/// A block every signature of which passed [`SignedTransaction::verify_signature`].
/// Only [`SignatureChecked::check`] makes one, so holding one is the proof.
#[derive(Clone, Debug)]
pub struct SignatureChecked(Block);

impl SignatureChecked {
    /// Checks every signature of `block`, on all cores. The error names the
    /// first bad transaction, as [`Chain::apply_block`] would.
    pub fn check(block: Block) -> Result<SignatureChecked, LedgerError> {
        match verify_signatures(&block.txs) {
            Ok(()) => Ok(SignatureChecked(block)),
            Err((index, error)) => Err(LedgerError::InvalidBlock {
                height: block.header.height,
                reason: format!("transaction {index}: {error}"),
            }),
        }
    }

    pub fn block(&self) -> &Block {
        &self.0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Signatures {
    Verify,
    AlreadyVerified,
}

/// Fewest signatures worth a thread of their own.
const SIGNATURES_PER_THREAD_MIN: usize = 128;

/// Checks every signature, on all cores, in batches: it is most of the cost
/// of checking a block. Returns the first bad one.
fn verify_signatures(txs: &[SignedTransaction]) -> Result<(), (usize, LedgerError)> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = txs.len().div_ceil(threads).max(SIGNATURES_PER_THREAD_MIN);
    // One batch per thread (`signature.rs`: a batch agrees with one-by-one
    // verification, and costs about half).
    let first_bad = |start: usize, chunk: &[SignedTransaction]| {
        let items: Vec<_> = chunk
            .iter()
            .map(|tx| {
                (
                    &tx.transaction.signer.0,
                    &tx.signature,
                    tx.transaction.signing_bytes(),
                )
            })
            .collect();
        crate::signature::verify_all(&items)
            .err()
            .map(|(offset, error)| (start + offset, error))
    };
    if txs.len() <= chunk {
        return first_bad(0, txs).map_or(Ok(()), Err);
    }
    let bad = std::thread::scope(|scope| {
        let workers: Vec<_> = txs
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| scope.spawn(move || first_bad(n * chunk, part)))
            .collect();
        // Chunks are in order, so the first error found is the first bad one.
        workers.into_iter().find_map(|worker| {
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    });
    bad.map_or(Ok(()), Err)
}
