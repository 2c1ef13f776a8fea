//! Transaction gossip between validators. A transaction submitted to one
//! validator is announced to the others, so whichever validator leads the
//! next view can include it, and once the announcement got through, the
//! crash of the validator that took it loses nothing.
//!
//! Announcements are batched: the sender waits a few milliseconds after the
//! first transaction so that a burst leaves as one message, which keeps well
//! inside the p2p rate limit. Receivers skip what their pool holds already,
//! check every other signature (outside the ledger lock) and offer the
//! transactions to their pool; what the pool refuses (nonce taken) is
//! dropped quietly.
//!
//! Messages get lost (a partition, a peer restarting), so a transaction
//! still pending after a whole [`REANNOUNCE_INTERVAL`] is announced again.
//! The pool keeps when each was last announced in order, so picking those
//! due costs what is picked, not the size of the pool; under the ledger
//! lock nothing is encoded, hashed or walked, only shared bytes handed
//! back, and they are sent after the lock is released. Each round is
//! bounded in count and bytes. The same periodic visit drops the pool's
//! expired transactions.
//! Pools are not kept across a restart: a transaction accepted by a
//! validator that crashes before any announcement got through is lost, and
//! its sender sees it never finalize.

use std::sync::Arc;
use std::time::Duration;

use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner};
use commonware_utils::SystemTimeExt as _;
use futures::StreamExt as _;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use stigmer_ledger::tx::{SignedTransaction, TX_BYTES_MAX};
use tracing::debug;

use crate::ledger::{Shared, lock};

/// How long the sender gathers a batch after its first transaction.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Largest batch, in bytes (far below the p2p message limit).
const BATCH_BYTES_MAX: usize = 512 * 1024;
/// How long a transaction stays pending before it is announced again.
pub const REANNOUNCE_INTERVAL: Duration = Duration::from_secs(2);
/// Most transactions announced again per interval.
const REANNOUNCE_MAX: usize = 2_000;
/// Most bytes of transactions announced again per interval.
const REANNOUNCE_BYTES_MAX: u64 = 2 * 1024 * 1024;
const _: () = assert!(REANNOUNCE_BYTES_MAX >= TX_BYTES_MAX as u64);

/// Encodes transactions as a batch: each is a 4-byte little-endian length
/// and its bytes.
pub fn encode_batch<T: AsRef<[u8]>>(txs: &[T]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(txs.iter().map(|tx| tx.as_ref().len() + 4).sum());
    for tx in txs {
        let tx = tx.as_ref();
        bytes.extend_from_slice(&(tx.len() as u32).to_le_bytes());
        bytes.extend_from_slice(tx);
    }
    bytes
}

/// Splits a batch; `None` if it is malformed.
pub fn decode_batch(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut txs = Vec::new();
    while !bytes.is_empty() {
        let (length, rest) = bytes.split_first_chunk::<4>()?;
        let length = u32::from_le_bytes(*length) as usize;
        if rest.len() < length {
            return None;
        }
        let (tx, rest) = rest.split_at(length);
        txs.push(tx);
        bytes = rest;
    }
    Some(txs)
}

pub(crate) fn start<E, S, R>(
    context: E,
    ledger: Shared,
    announce: UnboundedSender<Arc<[u8]>>,
    mut outgoing: UnboundedReceiver<Arc<[u8]>>,
    (mut sender, mut receiver): (S, R),
) -> Vec<Handle<()>>
where
    E: Spawner + Clock,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let announce_task = context.child("announce").spawn(move |clock| async move {
        while let Some(first) = outgoing.next().await {
            clock.sleep(BATCH_WINDOW).await;
            let mut batch = vec![first];
            let mut size = batch[0].len();
            while size < BATCH_BYTES_MAX {
                match outgoing.try_recv() {
                    Ok(tx) => {
                        size += tx.len() + 4;
                        batch.push(tx);
                    }
                    Err(_) => break,
                }
            }
            let sent_to = sender.send(Recipients::All, encode_batch(&batch), false);
            debug!(
                n_txs = batch.len(),
                n_peers = sent_to.len(),
                "announced transactions"
            );
        }
    });
    let reannounce = {
        let ledger = ledger.clone();
        context.child("reannounce").spawn(move |clock| async move {
            loop {
                clock.sleep(REANNOUNCE_INTERVAL).await;
                let now_ms = clock.current().epoch_millis();
                let again = lock(&ledger).due_for_announcement(
                    now_ms,
                    REANNOUNCE_INTERVAL.as_millis() as u64,
                    REANNOUNCE_MAX,
                    REANNOUNCE_BYTES_MAX,
                );
                if !again.is_empty() {
                    debug!(
                        n_txs = again.len(),
                        "announcing still-pending transactions again"
                    );
                }
                for tx in again {
                    if announce.unbounded_send(tx).is_err() {
                        return;
                    }
                }
            }
        })
    };
    let listen = context.child("listen").spawn(move |clock| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let Some(txs) = decode_batch(message.as_ref()) else {
                debug!(?peer, "malformed transaction batch");
                continue;
            };
            let decoded: Vec<SignedTransaction> = txs
                .into_iter()
                .filter_map(|bytes| SignedTransaction::decode(bytes).ok())
                .collect();
            // Hashing is cheap; checking a signature is not.
            let fresh: Vec<SignedTransaction> = {
                let ledger = lock(&ledger);
                decoded
                    .into_iter()
                    .filter(|tx| !ledger.mempool().contains(&tx.hash()))
                    .collect()
            };
            let verified: Vec<_> = fresh
                .into_iter()
                .filter_map(|tx| tx.verified().ok())
                .collect();
            let now_ms = clock.current().epoch_millis();
            let mut ledger = lock(&ledger);
            for tx in verified {
                // Refusals are expected: the pool may hold it already, or
                // be full of transactions of higher priority.
                let _ = ledger.accept(tx, now_ms);
            }
        }
    });
    vec![announce_task, reannounce, listen]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_and_refuse_truncation() {
        let txs = vec![vec![1, 2, 3], Vec::new(), vec![9; 300]];
        let bytes = encode_batch(&txs);
        let decoded = decode_batch(&bytes).unwrap();
        assert_eq!(decoded, txs.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(decode_batch(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode_batch(&[1, 0]).is_none());
        assert_eq!(decode_batch(&[]), Some(Vec::new()));
    }
}
