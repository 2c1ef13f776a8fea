//! Receives marshal's ordered stream of finalized blocks and hands them to the
//! `on_finalized` hook.
//!
//! Marshal calls `Reporter::report` synchronously from its actor loop, so we only forward
//! the update into a channel; a separate task fetches the finalization certificate, runs
//! the hook and then acknowledges the block. Marshal persists "processed height" only
//! after the acknowledgement, which is what makes restart resume at the right place.

use super::{Block, FinalizedHook, MarshalMailbox};
use commonware_actor::Feedback;
use commonware_consensus::{Heightable, Reporter, marshal::Update};
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
use tracing::debug;

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
    on_finalized: FinalizedHook,
    processed: Arc<AtomicU64>,
    tip: Arc<AtomicU64>,
}

pub(crate) fn new(
    marshal: MarshalMailbox,
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
        while let Some(update) = self.receiver.next().await {
            match update {
                Update::Tip(round, height, digest) => {
                    debug!(?round, height = height.get(), ?digest, "finalized tip");
                    self.tip.fetch_max(height.get(), Ordering::AcqRel);
                }
                Update::Block(block, ack) => {
                    let height = block.height();
                    // Marshal archives a block's finalization (when it has one) before
                    // dispatching the block, so this is a local read.
                    let certified = self.marshal.get_finalization(height).await.is_some();
                    // Durable before the acknowledgement: marshal records the
                    // processed height only after it.
                    (self.on_finalized)(block.inner());
                    self.processed.fetch_max(height.get(), Ordering::AcqRel);
                    self.tip.fetch_max(height.get(), Ordering::AcqRel);
                    debug!(height = height.get(), certified, "finalized block");
                    ack.acknowledge();
                }
            }
        }
    }
}
