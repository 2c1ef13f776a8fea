//! The application marshal's `Deferred` wrapper turns into what simplex
//! needs: it builds a block on a parent and verifies a proposal, both through
//! [`NodeLedger`], which executes blocks to commit to their state roots.

use std::time::{Duration, UNIX_EPOCH};

use commonware_consensus::Heightable;
use commonware_consensus::marshal::ancestry::Ancestry;
use commonware_cryptography::{Digested, Digestible};
use commonware_parallel::Sequential;
use commonware_runtime::Clock;
use commonware_utils::SystemTimeExt as _;
use futures::StreamExt as _;
use futures::future::Either;
use stigmer_ledger::Hash;
use tracing::{debug, warn};

use super::Scheme;
use super::block::{Block, BlockContext};
use crate::ledger::Shared;

#[derive(Clone)]
pub struct App {
    pub(crate) ledger: Shared,
    /// The ledger genesis hash: the parent of ledger block 1.
    pub(crate) genesis_hash: Hash,
    /// Minimum spacing between a block's timestamp and its parent's.
    pub(crate) block_interval: Duration,
    /// How often an idle chain makes an empty block.
    pub(crate) empty_block_interval: Duration,
    /// How long a leader with nothing to include waits for a transaction
    /// before letting its view go.
    pub(crate) idle_wait: Duration,
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
                let ledger = crate::ledger::lock(&self.ledger);
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
        match crate::ledger::lock(&self.ledger).adopt(&branch) {
            Ok(()) => true,
            Err(error) => {
                warn!(%error, "cannot adopt the branch");
                false
            }
        }
    }
}

/// How long an idle proposer lets a burst of arrivals gather before looking
/// at the pool again: a flood of transactions that cannot be included yet
/// (nonce gaps) then costs one look per pause, not one per transaction.
const POOL_LOOK_PAUSE: Duration = Duration::from_millis(5);

/// What a leader does in its view.
enum Pace {
    /// Propose now, with what the pool holds (perhaps nothing).
    Propose,
    /// Propose nothing: the view is nullified.
    LetGo,
}

impl App {
    /// Waits until a block on `parent` (its ledger hash and timestamp) is
    /// due: `block_interval` after the parent if the pool holds something to
    /// include, else as soon as something arrives (but not before that).
    /// With nothing to include after `idle_wait`, the view is let go, unless
    /// `empty_block_interval` has passed since the parent: then an empty
    /// block is due. The wait is woken by the pool, not by polling it.
    async fn pace<E: Clock>(&self, runtime: &E, parent: Hash, parent_time_ms: u64) -> Pace {
        let parent_time = UNIX_EPOCH + Duration::from_millis(parent_time_ms);
        let busy_at = parent_time + self.block_interval;
        let empty_at = parent_time + self.empty_block_interval;
        let give_up_at = runtime.current() + self.idle_wait;
        loop {
            let (has_work, mut arrivals) = {
                let mut ledger = crate::ledger::lock(&self.ledger);
                // Subscribe before looking: nothing arriving after the look is missed.
                let arrivals = ledger.watch_pool();
                (ledger.has_work_on(parent), arrivals)
            };
            // An error is the proposal's to report.
            if has_work.unwrap_or(true) {
                runtime.sleep_until(busy_at).await;
                return Pace::Propose;
            }
            let now = runtime.current();
            if now >= empty_at {
                return Pace::Propose;
            }
            if now >= give_up_at {
                return Pace::LetGo;
            }
            let arrival = std::pin::pin!(arrivals.changed());
            let deadline = std::pin::pin!(runtime.sleep_until(empty_at.min(give_up_at)));
            match futures::future::select(arrival, deadline).await {
                Either::Left((Ok(()), _)) => runtime.sleep(POOL_LOOK_PAUSE).await,
                // The ledger is gone: the node is stopping.
                Either::Left((Err(_), _)) => return Pace::LetGo,
                Either::Right(_) => {}
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
        let parent_hash = self.ledger_hash(parent.inner());
        if !self.reach(parent.inner(), &mut ancestry).await {
            warn!("cannot reach the parent to build on");
            return None;
        }
        let parent_time = parent.inner().timestamp_ms();
        if let Pace::LetGo = self.pace(&runtime, parent_hash, parent_time).await {
            debug!("nothing to include: letting the view go");
            return None;
        }
        let timestamp = runtime.current().epoch_millis().max(parent_time);
        let proposal = crate::ledger::lock(&self.ledger).propose(parent_hash, timestamp);
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
        crate::ledger::lock(&self.ledger).verify(ledger_block)
    }
}
