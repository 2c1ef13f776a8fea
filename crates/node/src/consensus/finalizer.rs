//! Receives marshal's ordered stream of finalized blocks and hands them to the
//! `on_finalized` hook.
//!
//! Marshal calls `Reporter::report` synchronously from its actor loop, so we only forward
//! the update into a channel; a separate task fetches the finalization certificate, runs
//! the hook and then acknowledges the block. Marshal persists "processed height" only
//! after the acknowledgement, which is what makes restart resume at the right place.
//!
//! The ledger's own applied height decides what the hook sees: heights at or
//! below it are acknowledged without calling the hook, and if marshal resumes
//! above the next one (the ledger directory was lost or restored from an
//! older copy, but not consensus's) the missing blocks are read back from
//! marshal's archive of finalized blocks first. The hook sees exactly
//! `applied + 1, applied + 2, ...`.

use super::{Block, FinalizedHook, MarshalMailbox};
use crate::ledger::{Shared, lock};
use commonware_actor::Feedback;
use commonware_consensus::{Heightable, Reporter, marshal::Update, types::Height};
use commonware_runtime::{Handle, Spawner};
use commonware_utils::Acknowledgement as _;
use futures::{
    StreamExt as _,
    channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded},
};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use tracing::{debug, error, info};

/// The `Reporter` given to marshal (`Actor::start`).
#[derive(Clone)]
pub struct Finalizer {
    sender: UnboundedSender<Update<Block>>,
}

impl Reporter for Finalizer {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Update<Block>) -> Feedback {
        // Unbounded is fine: marshal never has more than `max_pending_acks` blocks
        // outstanding, and tips are tiny.
        match self.sender.unbounded_send(activity) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

pub(crate) struct Worker {
    receiver: UnboundedReceiver<Update<Block>>,
    marshal: MarshalMailbox,
    ledger: Shared,
    on_finalized: FinalizedHook,
    processed: Arc<AtomicU64>,
    tip: Arc<AtomicU64>,
}

pub(crate) fn new(
    marshal: MarshalMailbox,
    ledger: Shared,
    on_finalized: FinalizedHook,
    processed: Arc<AtomicU64>,
    tip: Arc<AtomicU64>,
) -> (Finalizer, Worker) {
    let (sender, receiver) = unbounded();
    (
        Finalizer { sender },
        Worker {
            receiver,
            marshal,
            ledger,
            on_finalized,
            processed,
            tip,
        },
    )
}

impl Worker {
    pub(crate) fn start<E: Spawner>(self, context: E) -> Handle<()> {
        context.spawn(move |_| self.run())
    }

    async fn run(mut self) {
        let restored = self.processed.load(Ordering::Acquire);
        self.catch_up(restored).await;
        while let Some(update) = self.receiver.next().await {
            match update {
                Update::Tip(round, height, digest) => {
                    debug!(?round, height = height.get(), ?digest, "finalized tip");
                    self.tip.fetch_max(height.get(), Ordering::AcqRel);
                }
                Update::Block(block, ack) => {
                    let height = block.height().get();
                    if height <= lock(&self.ledger).chain().height {
                        debug!(height, "already applied");
                        self.mark(height);
                        ack.acknowledge();
                        continue;
                    }
                    self.catch_up(height - 1).await;
                    self.deliver(block.inner()).await;
                    ack.acknowledge();
                }
            }
        }
    }

    /// Replays from marshal's archive the finalized blocks up to `height`
    /// that the ledger lacks. At start, marshal's processed height may be
    /// ahead of the ledger (its directory was lost); without this, the
    /// ledger could never build on the blocks consensus builds on.
    async fn catch_up(&mut self, height: u64) {
        let applied = lock(&self.ledger).chain().height;
        for missing in applied + 1..=height {
            let Some(old) = self.marshal.get_block(Height::new(missing)).await else {
                // Going on would fork this node from everyone else.
                error!(height = missing, "marshal has no finalized block; stopping");
                eprintln!(
                    "stigmer: finalized block {missing} is in neither the ledger nor the \
                     consensus archive; stopping"
                );
                std::process::exit(3);
            };
            info!(height = missing, "replaying a finalized block from marshal");
            self.deliver(old.inner()).await;
        }
    }

    /// Hands a finalized block to the hook, which makes it durable.
    async fn deliver(&mut self, block: &Block) {
        let height = block.height();
        // Marshal archives a block's finalization (when it has one) before
        // dispatching the block, so this is a local read.
        let certificate = self.marshal.get_finalization(height).await;
        let certified = certificate.is_some();
        let finality = super::Finality::of(block, certificate).encode();
        (self.on_finalized)(block, &finality);
        self.mark(height.get());
        debug!(height = height.get(), certified, "finalized block");
    }

    fn mark(&self, height: u64) {
        self.processed.fetch_max(height, Ordering::AcqRel);
        self.tip.fetch_max(height, Ordering::AcqRel);
    }
}
