//! The application marshal's `Deferred` wrapper turns into what simplex
//! needs: it builds a block on a parent and verifies a proposal, both through
//! [`NodeLedger`], which executes blocks to commit to their state roots.

use std::time::Duration;

use commonware_consensus::Heightable;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_cryptography::{Digested, Digestible};
use commonware_parallel::Sequential;
use commonware_runtime::Clock;
use commonware_utils::SystemTimeExt as _;
use futures::StreamExt as _;
use stigmer_ledger::Hash;
use tracing::{debug, warn};

use super::Scheme;
use super::block::{Block, BlockContext};
use crate::api::Shared;

#[derive(Clone)]
pub struct App {
    pub(crate) ledger: Shared,
    /// The ledger genesis hash: the parent of ledger block 1.
    pub(crate) genesis_hash: Hash,
    /// Minimum spacing between a block's timestamp and its parent's.
    pub(crate) block_interval: Duration,
    /// How far in the future a proposal's timestamp may be before we hold
    /// our vote.
    pub(crate) max_future_skew: Duration,
}

impl App {
    fn ledger_hash(&self, block: &Block) -> Hash {
        block
            .ledger
            .as_ref()
            .map_or(self.genesis_hash, |b| b.hash())
    }

    /// Makes the ledger's speculative head able to build on `parent`. When
    /// this node did not execute `parent` (it had verified a competing
    /// branch, or it restarted), the branch down to a block it knows is
    /// read from the ancestry (which yields `parent`'s ancestors next) and
    /// executed. Returns false if that is impossible.
    async fn reach(&self, parent: &Block, ancestry: &mut impl Ancestry<Block>) -> bool {
        let mut branch = Vec::new();
        let mut cursor = parent.ledger.clone();
        while let Some(block) = cursor {
            {
                let ledger = crate::api::lock(&self.ledger);
                if ledger.knows(&block.hash()) || block.header.height <= ledger.chain().height {
                    break;
                }
            }
            branch.push(block);
            cursor = match ancestry.next().await {
                Some(ancestor) => ancestor.inner().ledger.clone(),
                None => return false,
            };
        }
        if branch.is_empty() {
            return true;
        }
        branch.reverse();
        debug!(
            n_blocks = branch.len(),
            "adopting a branch this node did not execute"
        );
        match crate::api::lock(&self.ledger).adopt(&branch) {
            Ok(()) => true,
            Err(error) => {
                warn!(%error, "cannot adopt the branch");
                false
            }
        }
    }
}

impl<E> commonware_consensus::Application<E> for App
where
    E: Clock + Send + Sync + 'static,
{
    type SigningScheme = Scheme;
    type Context = BlockContext;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        (runtime, context): (E, BlockContext),
        mut ancestry: impl Ancestry<Block>,
        _input: (),
    ) -> Option<Digested<Block>> {
        let parent = ancestry.next().await?;
        // Pace production: a single validator would otherwise spin. Must stay
        // well below the leader timeout.
        let interval = self.block_interval.as_millis() as u64;
        let parent_time = parent.inner().timestamp_ms();
        let target = parent_time.saturating_add(interval);
        let now = runtime.current().epoch_millis();
        if now < target {
            runtime.sleep(Duration::from_millis(target - now)).await;
        }
        let timestamp = runtime.current().epoch_millis().max(parent_time);
        let parent_hash = self.ledger_hash(parent.inner());
        if !self.reach(parent.inner(), &mut ancestry).await {
            warn!("cannot reach the parent to build on");
            return None;
        }
        let proposal = crate::api::lock(&self.ledger).propose(parent_hash, timestamp);
        let ledger_block = match proposal {
            Ok(block) => block,
            Err(error) => {
                warn!(%error, "cannot propose");
                return None;
            }
        };
        if ledger_block.header.height != parent.height().next().get() {
            warn!("the ledger and consensus disagree on the height");
            return None;
        }
        debug!(
            height = ledger_block.header.height,
            n_txs = ledger_block.txs.len(),
            "proposing"
        );
        let block = Block {
            context,
            parent: parent.digest(),
            height: parent.height().next(),
            ledger: Some(ledger_block),
        };
        Some(Digested::compute(block, &Sequential).await)
    }

    async fn verify(
        &mut self,
        (runtime, _context): (E, BlockContext),
        mut ancestry: impl Ancestry<Block>,
    ) -> bool {
        // The ancestry starts at the block itself, then its parent.
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            return false;
        };
        let Some(ledger_block) = block.inner().ledger.as_ref() else {
            return false;
        };
        if ledger_block.header.parent != self.ledger_hash(parent.inner())
            || ledger_block.header.height != block.height().get()
        {
            warn!(
                height = block.height().get(),
                "the ledger block does not link to its parent"
            );
            return false;
        }
        // A time too far ahead is not permanently invalid (our clock may be
        // behind): wait instead of voting no.
        let skew = self.max_future_skew.as_millis() as u64;
        let now = runtime.current().epoch_millis();
        let earliest = ledger_block.header.timestamp_ms.saturating_sub(skew);
        if now < earliest {
            runtime.sleep(Duration::from_millis(earliest - now)).await;
        }
        if !self.reach(parent.inner(), &mut ancestry).await {
            return false;
        }
        crate::api::lock(&self.ledger).verify(ledger_block)
    }
}
