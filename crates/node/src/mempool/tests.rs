//! Each mechanism of the pool: its bounds, expiry, eviction, re-announcing,
//! selection; then random sequences of all of them against its invariants.

use std::collections::BTreeMap;

use stigmer_ledger::tx::Keypair;
use stigmer_protocol::Operation;
use stigmer_protocol::workload::Rng;

use super::*;

const CHAIN: &str = "pool-test";
const T0: u64 = 1_700_000_000_000;

fn key(n: u32) -> Keypair {
    let mut seed = [0x5A; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    Keypair::from_seed(seed)
}

/// A small transaction.
fn tx(key: &Keypair, nonce: u64) -> VerifiedTransaction {
    let leave = Operation::Leave {
        dc: "festival".parse().unwrap(),
    };
    key.sign(CHAIN, nonce, leave).verified().unwrap()
}

/// A transaction about `extra` bytes larger than [`tx`].
fn sized_tx(key: &Keypair, nonce: u64, extra: usize) -> VerifiedTransaction {
    let contribute = Operation::Contribute {
        dc: "festival".parse().unwrap(),
        id: "c".parse().unwrap(),
        kind: "work".parse().unwrap(),
        title: "x".repeat(extra),
    };
    key.sign(CHAIN, nonce, contribute).verified().unwrap()
}

fn size(tx: &VerifiedTransaction) -> u64 {
    tx.encoded().len() as u64
}

fn member(reputation: u64) -> Standing {
    Standing(Fixed::from_int(reputation))
}

fn limits(txs_max: u32, bytes_max: u64, signer_txs_max: u32) -> PoolLimits {
    PoolLimits {
        txs_max,
        bytes_max,
        signer_txs_max,
    }
}

/// Next nonces as a chain gives them: 0 unless set.
#[derive(Default)]
struct Nonces(BTreeMap<AgentId, u64>);

impl Nonces {
    fn of(&self, agent: &AgentId) -> u64 {
        self.0.get(agent).copied().unwrap_or(0)
    }
}

/// The nonces `key` has pending, in order.
fn pending(pool: &Mempool, key: &Keypair) -> Vec<u64> {
    pool.signers
        .get(&key.agent())
        .map(|signer| signer.txs.keys().copied().collect())
        .unwrap_or_default()
}

/// (signer, nonce) of each selected transaction.
fn selected(txs: &[VerifiedTransaction]) -> Vec<(AgentId, u64)> {
    txs.iter()
        .map(|tx| (tx.signer(), tx.transaction.nonce))
        .collect()
}

#[test]
fn bounded_by_count_whoever_asks() {
    let mut pool = Mempool::with_limits(limits(10, u64::MAX, 100));
    for n in 0..10 {
        pool.insert(tx(&key(n), 0), 0, Standing::NONE, T0).unwrap();
    }
    // Another key nobody knows, with as few pending as any: no room.
    let refused = pool.insert(tx(&key(10), 0), 0, Standing::NONE, T0);
    assert_eq!(refused, Err(MempoolError::Full { max: 10 }));
    assert!(refused.unwrap_err().to_string().contains("10 transactions"));
    assert_eq!(pool.len(), 10);
    assert!((0..10).all(|n| pool.contains(&tx(&key(n), 0).hash())));
}

#[test]
fn bounded_by_bytes_whatever_the_count() {
    let one = size(&sized_tx(&key(0), 0, 190));
    let mut pool = Mempool::with_limits(limits(1_000, 3 * one + 10, 100));
    for n in 0..3 {
        pool.insert(sized_tx(&key(n), 0, 190), 0, Standing::NONE, T0)
            .unwrap();
    }
    let refused = pool.insert(sized_tx(&key(3), 0, 190), 0, Standing::NONE, T0);
    assert_eq!(refused, Err(MempoolError::FullBytes { max: 3 * one + 10 }));
    assert_eq!(pool.n_bytes(), 3 * one);
    // However small: 10 bytes are left, and nothing may go for a newcomer.
    assert!(matches!(
        pool.insert(tx(&key(4), 0), 0, Standing::NONE, T0),
        Err(MempoolError::FullBytes { .. })
    ));
    // A member's takes the place of one.
    pool.insert(tx(&key(5), 0), 0, member(1), T0).unwrap();
    assert_eq!(pool.len(), 3);
    assert!(pool.n_bytes() <= 3 * one + 10);
}

#[test]
fn bounded_per_signer_and_by_nonce() {
    let mut pool = Mempool::with_limits(limits(1_000, u64::MAX, 4));
    let ann = key(0);
    for nonce in 5..9 {
        pool.insert(tx(&ann, nonce), 5, Standing::NONE, T0).unwrap();
    }
    // Nonce 9 is as far ahead as 4 pending allow...
    assert_eq!(
        pool.insert(tx(&ann, 9), 5, Standing::NONE, T0),
        Err(MempoolError::TooFarAhead {
            nonce: 9,
            next: 5,
            max: 4
        })
    );
    // ... and once 5 and 6 are in a block not final yet, 4 are pending
    // still: even a member is held to it.
    assert_eq!(
        pool.insert(tx(&ann, 9), 7, member(100), T0),
        Err(MempoolError::SignerFull { max: 4 })
    );
    let bo = key(1);
    assert_eq!(
        pool.insert(tx(&bo, 4), 0, Standing::NONE, T0),
        Err(MempoolError::TooFarAhead {
            nonce: 4,
            next: 0,
            max: 4
        })
    );
    assert_eq!(
        pool.insert(tx(&bo, 2), 3, Standing::NONE, T0),
        Err(MempoolError::NonceUsed { nonce: 2, next: 3 })
    );
    pool.insert(tx(&bo, 3), 0, Standing::NONE, T0).unwrap();
    assert_eq!(
        pool.insert(sized_tx(&bo, 3, 5), 0, Standing::NONE, T0),
        Err(MempoolError::NonceTaken { nonce: 3 })
    );
    // The same transaction again is fine and changes nothing.
    let again = tx(&bo, 3);
    assert_eq!(
        pool.insert(again.clone(), 0, Standing::NONE, T0),
        Ok(again.hash())
    );
    assert_eq!(pool.len(), 5);
}

#[test]
fn transactions_behind_a_gap_expire_unless_it_fills() {
    let mut pool = Mempool::default();
    let (ann, bo, cy) = (key(0), key(1), key(2));
    // Ann's follow her next nonce; Bo's wait for a nonce 0 that never comes;
    // Cy's nonce 0 comes late but in time.
    for nonce in 0..2 {
        pool.insert(tx(&ann, nonce), 0, Standing::NONE, T0).unwrap();
    }
    for nonce in 1..3 {
        pool.insert(tx(&bo, nonce), 0, Standing::NONE, T0).unwrap();
    }
    pool.insert(tx(&cy, 1), 0, Standing::NONE, T0).unwrap();
    pool.insert(tx(&cy, 0), 0, Standing::NONE, T0 + 10_000)
        .unwrap();
    let nonces = Nonces::default();
    assert_eq!(pool.expire(T0 + GAP_EXPIRY_MS - 1, |a| nonces.of(a)), 0);
    assert_eq!(pool.len(), 6);
    assert_eq!(pool.expire(T0 + GAP_EXPIRY_MS, |a| nonces.of(a)), 2);
    assert_eq!(pending(&pool, &ann), [0, 1]);
    assert_eq!(pending(&pool, &bo), Vec::<u64>::new());
    assert_eq!(pending(&pool, &cy), [0, 1]);
    assert!(!pool.contains(&tx(&bo, 1).hash()));
    // A gap the chain filled counts as filled: Dee's nonce 0 is finalized.
    let dee = key(3);
    pool.insert(tx(&dee, 1), 0, Standing::NONE, T0).unwrap();
    let mut nonces = Nonces::default();
    nonces.0.insert(dee.agent(), 1);
    pool.expire(T0 + GAP_EXPIRY_MS, |a| nonces.of(a));
    assert_eq!(pending(&pool, &dee), [1]);
}

#[test]
fn every_transaction_expires_eventually_and_takes_later_nonces_along() {
    let mut pool = Mempool::default();
    let ann = key(0);
    pool.insert(tx(&ann, 0), 0, Standing::NONE, T0).unwrap();
    pool.insert(tx(&ann, 1), 0, member(3), T0 + 5_000).unwrap();
    let nonces = Nonces::default();
    // Past the gap check, both wait for the longer expiry.
    assert_eq!(pool.expire(T0 + GAP_EXPIRY_MS + 5_000, |a| nonces.of(a)), 0);
    assert_eq!(pool.expire(T0 + PENDING_EXPIRY_MS - 1, |a| nonces.of(a)), 0);
    assert_eq!(pool.len(), 2);
    // Nonce 0 expires; nonce 1, younger, cannot follow without it.
    assert_eq!(pool.expire(T0 + PENDING_EXPIRY_MS, |a| nonces.of(a)), 2);
    assert!(pool.is_empty());
    assert_eq!(pool.n_bytes(), 0);
    assert!(pool.expiries.is_empty() && pool.announced.is_empty());
    assert!(pool.due.is_empty() && pool.victims.is_empty());
}

#[test]
fn eviction_takes_the_newest_of_the_least_standing_with_most_pending() {
    let mut pool = Mempool::with_limits(limits(8, u64::MAX, 100));
    let (heavy, light, low, high) = (key(0), key(1), key(2), key(3));
    for nonce in 0..4 {
        pool.insert(tx(&heavy, nonce), 0, Standing::NONE, T0)
            .unwrap();
    }
    pool.insert(tx(&light, 0), 0, Standing::NONE, T0).unwrap();
    pool.insert(tx(&low, 0), 0, member(1), T0).unwrap();
    pool.insert(tx(&high, 0), 0, member(9), T0).unwrap();
    pool.insert(tx(&high, 1), 0, member(9), T0).unwrap();
    assert_eq!(pool.len(), 8);

    // A member: the newcomer with most pending loses its newest.
    let member_key = key(4);
    pool.insert(tx(&member_key, 0), 0, member(5), T0).unwrap();
    assert_eq!(pending(&pool, &heavy), [0, 1, 2]);
    // A newcomer with nothing pending may take from a newcomer holding
    // more than it will, never from a member.
    let newcomer = key(5);
    pool.insert(tx(&newcomer, 0), 0, Standing::NONE, T0)
        .unwrap();
    assert_eq!(pending(&pool, &heavy), [0, 1]);
    pool.insert(tx(&newcomer, 1), 0, Standing::NONE, T0)
        .unwrap_err();
    assert_eq!(pending(&pool, &heavy), [0, 1]);
    // A bigger transaction from a member takes as many as it needs, newest
    // first: heavy's, then light's and newcomer's.
    let big = sized_tx(&key(6), 0, 100);
    let mut pool_bytes = Mempool::with_limits(limits(100, 4 * size(&tx(&heavy, 0)), 100));
    for nonce in 0..4 {
        pool_bytes
            .insert(tx(&heavy, nonce), 0, Standing::NONE, T0)
            .unwrap();
    }
    let needed = size(&big).div_ceil(size(&tx(&heavy, 0)));
    pool_bytes.insert(big, 0, member(1), T0).unwrap();
    assert_eq!(pending(&pool_bytes, &heavy).len() as u64, 4 - needed);
    assert_eq!(
        pending(&pool_bytes, &heavy),
        (0..4 - needed).collect::<Vec<_>>()
    );

    // Between members, least standing first.
    let mut pool = Mempool::with_limits(limits(2, u64::MAX, 100));
    pool.insert(tx(&low, 0), 0, member(1), T0).unwrap();
    pool.insert(tx(&high, 0), 0, member(9), T0).unwrap();
    pool.insert(tx(&member_key, 0), 0, member(5), T0).unwrap();
    assert_eq!(pending(&pool, &low), Vec::<u64>::new());
    assert_eq!(pending(&pool, &high), [0]);
    // And no one of lower standing displaces them.
    assert_eq!(
        pool.insert(tx(&low, 0), 0, member(1), T0),
        Err(MempoolError::Full { max: 2 })
    );
}

#[test]
fn a_newcomer_never_evicts_a_member() {
    let mut pool = Mempool::with_limits(limits(4, u64::MAX, 100));
    let member_key = key(0);
    for nonce in 0..4 {
        pool.insert(tx(&member_key, nonce), 0, member(1), T0)
            .unwrap();
    }
    for n in 1..20 {
        assert_eq!(
            pool.insert(tx(&key(n), 0), 0, Standing::NONE, T0),
            Err(MempoolError::Full { max: 4 })
        );
    }
    assert_eq!(pending(&pool, &member_key), [0, 1, 2, 3]);
}

#[test]
fn reannouncing_hands_back_only_what_is_due() {
    let mut pool = Mempool::default();
    let (ann, bo) = (key(0), key(1));
    let (first, second) = (tx(&ann, 0), sized_tx(&bo, 0, 50));
    pool.insert(first.clone(), 0, Standing::NONE, T0).unwrap();
    pool.insert(second.clone(), 0, Standing::NONE, T0 + 1_000)
        .unwrap();
    let due = |pool: &mut Mempool, now: u64| -> Vec<Vec<u8>> {
        pool.due_for_announcement(now, 2_000, 10, u64::MAX)
            .iter()
            .map(|bytes| bytes.to_vec())
            .collect()
    };
    assert!(due(&mut pool, T0 + 1_999).is_empty());
    assert_eq!(due(&mut pool, T0 + 2_000), [first.encoded()]);
    // Announced at T0 + 2000: not due again before T0 + 4000.
    assert!(due(&mut pool, T0 + 2_500).is_empty());
    assert_eq!(due(&mut pool, T0 + 3_000), [second.encoded()]);
    assert_eq!(due(&mut pool, T0 + 4_000), [first.encoded()]);
    // The shared bytes are the transaction's own, not a copy.
    let shared = pool.due_for_announcement(T0 + 10_000, 2_000, 1, u64::MAX);
    assert_eq!(shared.len(), 1);
    assert!(Arc::ptr_eq(&shared[0], &second.encoded_shared()));
    // Bounded by bytes: the first that does not fit waits.
    assert!(
        pool.due_for_announcement(T0 + 20_000, 2_000, 10, size(&first) - 1)
            .is_empty()
    );
    assert_eq!(
        pool.due_for_announcement(T0 + 20_000, 2_000, 10, size(&first))
            .len(),
        1
    );
    // What left the pool is never announced.
    let nonces = Nonces::default();
    pool.expire(T0 + PENDING_EXPIRY_MS + 1_000, |a| nonces.of(a));
    assert!(pool.is_empty());
    assert!(
        pool.due_for_announcement(T0 + PENDING_EXPIRY_MS * 2, 2_000, 10, u64::MAX)
            .is_empty()
    );
}

#[test]
fn selection_follows_nonces_takes_turns_and_respects_bytes() {
    let mut pool = Mempool::default();
    let (ann, bo, cy) = (key(0), key(1), key(2));
    for nonce in 0..4 {
        pool.insert(tx(&ann, nonce), 0, Standing::NONE, T0).unwrap();
    }
    for nonce in 0..2 {
        pool.insert(tx(&bo, nonce), 0, Standing::NONE, T0).unwrap();
    }
    // Cy's wait behind a gap, as does Ann's nonce 5.
    pool.insert(tx(&cy, 1), 0, Standing::NONE, T0).unwrap();
    pool.insert(tx(&ann, 5), 0, Standing::NONE, T0).unwrap();
    let nonces = Nonces::default();
    let all = pool.select(|a| nonces.of(a), 100, u64::MAX);
    let (a, b) = (ann.agent(), bo.agent());
    assert_eq!(
        selected(&all),
        [
            (a.clone(), 0),
            (b.clone(), 0),
            (a.clone(), 1),
            (b.clone(), 1),
            (a.clone(), 2),
            (a.clone(), 3)
        ]
    );
    assert_eq!(pool.select(|a| nonces.of(a), 3, u64::MAX).len(), 3);
    let one = size(&tx(&ann, 0));
    let by_bytes = pool.select(|a| nonces.of(a), 100, 3 * one + one / 2);
    assert_eq!(selected(&by_bytes), selected(&all[..3]));
    // On a head where Ann's first two are in a block not final yet.
    let mut head = Nonces::default();
    head.0.insert(a.clone(), 2);
    assert_eq!(
        selected(&pool.select(|a| head.of(a), 100, u64::MAX)),
        [(a.clone(), 2), (b.clone(), 0), (a, 3), (b, 1)]
    );
}

#[test]
fn selection_takes_members_first_and_newcomers_in_turn() {
    let mut pool = Mempool::default();
    for n in 0..5 {
        pool.insert(tx(&key(n), 0), 0, Standing::NONE, T0).unwrap();
    }
    pool.insert(tx(&key(9), 0), 0, member(2), T0 + 1).unwrap();
    let nonces = Nonces::default();
    let first = pool.select(|a| nonces.of(a), 2, u64::MAX);
    assert_eq!(selected(&first), [(key(9).agent(), 0), (key(0).agent(), 0)]);
    // Key 0 has one finalized and more to come: it waits behind the others.
    pool.insert(tx(&key(0), 1), 0, Standing::NONE, T0).unwrap();
    let mut nonces = Nonces::default();
    nonces.0.insert(key(0).agent(), 1);
    pool.prune([key(0).agent()], |a| nonces.of(a));
    assert_eq!(pending(&pool, &key(0)), [1]);
    let next = pool.select(|a| nonces.of(a), 100, u64::MAX);
    assert_eq!(next.last().map(|tx| tx.signer()), Some(key(0).agent()));
    assert_eq!(next.len(), 6);
}

/// Checks every index against the signers' queues and every limit.
fn check_invariants(pool: &Mempool) {
    let limits = pool.limits();
    assert!(pool.len() <= limits.txs_max);
    assert!(pool.n_bytes() <= limits.bytes_max);
    let mut n_txs = 0;
    let mut n_bytes = 0;
    let mut n_due = 0;
    for (agent, signer) in &pool.signers {
        assert!(!signer.txs.is_empty(), "an empty signer is forgotten");
        assert!(signer.pending() <= limits.signer_txs_max);
        assert!(pool.victims.contains(&(
            signer.standing,
            Reverse(signer.pending()),
            agent.clone()
        )));
        let first = *signer.txs.keys().next().unwrap();
        assert_eq!(signer.is_due, first <= signer.next_nonce);
        if signer.is_due {
            n_due += 1;
            assert!(pool.due.contains(&(
                Reverse(signer.standing),
                signer.due_since,
                agent.clone()
            )));
        }
        for (&nonce, entry) in &signer.txs {
            let hash = entry.tx.hash();
            assert_eq!(pool.hashes.get(&hash), Some(&(agent.clone(), nonce)));
            assert!(pool.expiries.contains(&(entry.expiry_ms, hash)));
            assert!(pool.announced.contains(&(entry.announced_ms, hash)));
            n_txs += 1;
            n_bytes += entry.size();
        }
    }
    assert_eq!(pool.hashes.len(), n_txs);
    assert_eq!(pool.expiries.len(), n_txs);
    assert_eq!(pool.announced.len(), n_txs);
    assert_eq!(pool.victims.len(), pool.signers.len());
    assert_eq!(pool.due.len(), n_due);
    assert_eq!(pool.n_bytes(), n_bytes);
}

#[test]
fn random_sequences_keep_every_bound_and_index() {
    let keys: Vec<Keypair> = (0..12).map(key).collect();
    for seed in 0..40 {
        let mut rng = Rng::new(seed);
        let one = size(&tx(&keys[0], 0));
        let mut pool = Mempool::with_limits(limits(
            20 + rng.below(20) as u32,
            one * (10 + rng.below(30)),
            2 + rng.below(6) as u32,
        ));
        let mut chain = Nonces::default();
        let mut now = T0;
        for _ in 0..400 {
            now += rng.below(3_000);
            let k = &keys[rng.below(keys.len() as u64) as usize];
            match rng.below(10) {
                0..=6 => {
                    let next = chain.of(&k.agent());
                    let nonce = next + rng.below(8);
                    let tx = if rng.below(3) == 0 {
                        sized_tx(k, nonce, rng.below(150) as usize)
                    } else {
                        tx(k, nonce)
                    };
                    let standing = member(rng.below(3));
                    let before = (pool.len(), pool.n_bytes());
                    let hash = tx.hash();
                    match pool.insert(tx, next, standing, now) {
                        Ok(_) => assert!(pool.contains(&hash)),
                        Err(_) => assert_eq!((pool.len(), pool.n_bytes()), before),
                    }
                }
                7 => {
                    // A block finalizes the first due transaction of a
                    // signer.
                    let selection = pool.select(|a| chain.of(a), 1, u64::MAX);
                    if let Some(tx) = selection.first() {
                        let agent = tx.signer();
                        assert_eq!(tx.transaction.nonce, chain.of(&agent));
                        chain.0.insert(agent.clone(), tx.transaction.nonce + 1);
                        pool.prune([agent], |a| chain.of(a));
                    }
                }
                8 => {
                    pool.expire(now, |a| chain.of(a));
                }
                _ => {
                    let due = pool.due_for_announcement(now, 2_000, 5, u64::MAX);
                    assert!(due.len() <= 5);
                }
            }
            check_invariants(&pool);
            // Whatever is selected follows the chain's nonces in order.
            let selection = pool.select(|a| chain.of(a), 1_000, u64::MAX);
            let mut expected = BTreeMap::new();
            for tx in &selection {
                let agent = tx.signer();
                let next = expected.entry(agent.clone()).or_insert(chain.of(&agent));
                assert_eq!(tx.transaction.nonce, *next);
                *next += 1;
            }
        }
        // Long after, nothing is left.
        pool.expire(now + PENDING_EXPIRY_MS, |a| chain.of(a));
        assert!(pool.is_empty(), "seed {seed}");
        check_invariants(&pool);
    }
}
