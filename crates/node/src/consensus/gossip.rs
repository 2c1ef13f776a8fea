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
//! Pools are not kept across a restart: a transaction accepted by a
//! validator that crashes before any announcement got through is lost, and
//! its sender sees it never finalize.

use std::collections::BTreeSet;
use std::time::Duration;

use commonware_cryptography::ed25519::PublicKey;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Clock, Handle, Spawner};
use futures::StreamExt as _;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use stigmer_ledger::Hash;
use stigmer_ledger::tx::SignedTransaction;
use tracing::debug;

use crate::api::{Shared, lock};

/// How long the sender gathers a batch after its first transaction.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Largest batch, in bytes (far below the p2p message limit).
const BATCH_BYTES_MAX: usize = 512 * 1024;
/// How long a transaction stays pending before it is announced again.
pub const REANNOUNCE_INTERVAL: Duration = Duration::from_secs(2);
/// Most transactions announced again per interval.
const REANNOUNCE_MAX: usize = 2_000;

/// Encodes transactions as a batch: each is a 4-byte little-endian length
/// and its bytes.
pub fn encode_batch(txs: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(txs.iter().map(|tx| tx.len() + 4).sum());
    for tx in txs {
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
    announce: UnboundedSender<Vec<u8>>,
    mut outgoing: UnboundedReceiver<Vec<u8>>,
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
            let mut previous: BTreeSet<Hash> = BTreeSet::new();
            loop {
                clock.sleep(REANNOUNCE_INTERVAL).await;
                let mut again = Vec::new();
                let current: BTreeSet<Hash> = {
                    let ledger = lock(&ledger);
                    ledger
                        .mempool()
                        .transactions()
                        .map(|(hash, tx)| {
                            if previous.contains(&hash) && again.len() < REANNOUNCE_MAX {
                                again.push(tx.encoded().to_vec());
                            }
                            hash
                        })
                        .collect()
                };
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
                previous = current;
            }
        })
    };
    let listen = context.child("listen").spawn(move |_| async move {
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
            let mut ledger = lock(&ledger);
            for tx in verified {
                // Refusals are expected: the pool may hold it already.
                let _ = ledger.accept(tx);
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
