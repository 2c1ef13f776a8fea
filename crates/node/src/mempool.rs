//! Transactions waiting for a block, per signer in nonce order.
//!
//! The pool is bounded three ways, each a named limit refused with an error
//! that names it: [`MEMPOOL_TXS_MAX`] transactions, [`MEMPOOL_BYTES_MAX`]
//! canonical bytes, and [`SIGNER_TXS_MAX`] pending transactions per signer
//! (which also bounds how far ahead of its next nonce a signer may queue).
//! Whatever arrives, and however fast, it holds no more than that.
//!
//! **Expiry.** The pool has no clock: the node passes its time in
//! (milliseconds) on every insert and on the periodic sweep
//! ([`Mempool::expire`]). A transaction that is still behind a nonce gap
//! [`GAP_EXPIRY_MS`] after it arrived is dropped, and so is any transaction
//! still pending [`PENDING_EXPIRY_MS`] after it arrived (one a proposer
//! keeps leaving out). Dropping a transaction drops the signer's later
//! nonces with it: they could no longer follow. The API then reports them
//! unknown, and the signer may submit them again. Each check is due at a
//! deadline kept in an ordered index, so a sweep costs what it drops.
//!
//! **Standing and floods.** Each signer carries its [`Standing`], the
//! reputation it holds as an active member of some DC (zero for a key
//! nobody knows). When the pool is full, a newcomer's transaction makes room
//! by evicting the newest (highest-nonce) transactions of signers of lower
//! standing, or of equal standing holding more pending transactions than it
//! will: least standing first, then most pending. A signer with no standing
//! can never evict one with some, so however many keys flood the pool, a
//! member's transaction still gets in (the key nobody knows gets 503 and
//! tries again).
//!
//! **Selection.** A proposal takes the signers whose first pending nonce is
//! due (kept in an ordered set, so a proposal does not visit signers stuck
//! behind a gap), highest standing first and then in the order they became
//! due, one transaction each per round so that one busy signer does not
//! starve the others; it stops at a count and at a total of canonical bytes.
//!
//! **Re-announcing.** Each entry keeps when it was last announced, in an
//! ordered index; [`Mempool::due_for_announcement`] hands back, in time
//! proportional to what it hands back, the shared canonical bytes of those
//! due again, so gossip sends them after releasing the ledger lock.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use stigmer_ledger::Hash;
use stigmer_ledger::tx::VerifiedTransaction;
use stigmer_protocol::state::Member;
use stigmer_protocol::{AgentId, Fixed, State};

/// Most transactions the pool holds.
pub const MEMPOOL_TXS_MAX: u32 = 100_000;
/// Most canonical bytes of transactions the pool holds (what the pool keeps
/// in memory is about twice that: the bytes and the decoded form).
pub const MEMPOOL_BYTES_MAX: u64 = 64 * 1024 * 1024;
/// Most transactions one signer may have pending. A nonce this far or
/// further ahead of the signer's next one could never be included, so it
/// is refused too.
pub const SIGNER_TXS_MAX: u32 = 256;
/// How long a transaction may wait behind a nonce gap for the gap to fill.
pub const GAP_EXPIRY_MS: u64 = 30_000;
/// How long any transaction may stay pending.
pub const PENDING_EXPIRY_MS: u64 = 10 * 60_000;

/// The limits of one pool; the node's are the constants above (tests use
/// smaller ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    pub txs_max: u32,
    pub bytes_max: u64,
    pub signer_txs_max: u32,
}

impl Default for PoolLimits {
    fn default() -> PoolLimits {
        PoolLimits {
            txs_max: MEMPOOL_TXS_MAX,
            bytes_max: MEMPOOL_BYTES_MAX,
            signer_txs_max: SIGNER_TXS_MAX,
        }
    }
}

/// What a signer has at stake: the highest reputation it holds as an
/// active member of any DC. Zero for a key with no standing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Standing(pub Fixed);

impl Standing {
    pub const NONE: Standing = Standing(Fixed::ZERO);

    /// `agent`'s standing in `state`.
    pub fn of(state: &State, agent: &AgentId) -> Standing {
        Standing(
            state
                .memberships(agent)
                .filter_map(|dc| dc.member(agent))
                .map(Member::weight)
                .max()
                .unwrap_or(Fixed::ZERO),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    #[error(
        "the pool holds {max} transactions, its limit, and none of lower priority to drop \
         for this one; try again shortly"
    )]
    Full { max: u32 },
    #[error(
        "the pool holds {max} bytes of transactions, its limit, and none of lower priority \
         to drop for this one; try again shortly"
    )]
    FullBytes { max: u64 },
    #[error(
        "this signer has {max} transactions pending, the most one signer may; wait until \
         some are finalized"
    )]
    SignerFull { max: u32 },
    #[error(
        "nonce {nonce} is {max} or more ahead of the signer's next nonce {next}: it could \
         never be included, as a signer may have at most {max} pending"
    )]
    TooFarAhead { nonce: u64, next: u64, max: u32 },
    #[error("nonce {nonce} is used already: the signer's next nonce is {next}")]
    NonceUsed { nonce: u64, next: u64 },
    #[error("another transaction with nonce {nonce} from this signer is already pending")]
    NonceTaken { nonce: u64 },
}

struct Entry {
    tx: VerifiedTransaction,
    arrived_ms: u64,
    /// When it was last announced (arriving counts as announced).
    announced_ms: u64,
    /// When its expiry is checked next: its key in `Mempool::expiries`.
    expiry_ms: u64,
    /// Whether it was found out of any gap at its gap deadline; from then
    /// on only [`PENDING_EXPIRY_MS`] applies.
    past_gap: bool,
}

impl Entry {
    fn size(&self) -> u64 {
        self.tx.encoded().len() as u64
    }
}

struct Signer {
    txs: BTreeMap<u64, Entry>,
    standing: Standing,
    /// The chain's next nonce for this signer, as last told.
    next_nonce: u64,
    /// Its place among signers of its standing in `Mempool::due`, taken
    /// when it became due or had transactions finalized.
    due_since: u64,
    /// Whether it is in `Mempool::due` (its first pending nonce is not
    /// behind a gap).
    is_due: bool,
}

impl Signer {
    fn pending(&self) -> u32 {
        self.txs.len() as u32
    }
}

/// Signers whose next transaction can go in a block: highest standing
/// first, then longest waiting.
type DueKey = (Reverse<Standing>, u64, AgentId);
/// Signers to evict from first: least standing, then most pending.
type VictimKey = (Standing, Reverse<u32>, AgentId);

pub struct Mempool {
    limits: PoolLimits,
    signers: BTreeMap<AgentId, Signer>,
    hashes: BTreeMap<Hash, (AgentId, u64)>,
    n_bytes: u64,
    due: BTreeSet<DueKey>,
    victims: BTreeSet<VictimKey>,
    /// (when, transaction): the next expiry check of each entry.
    expiries: BTreeSet<(u64, Hash)>,
    /// (last announced, transaction) of each entry.
    announced: BTreeSet<(u64, Hash)>,
    /// The next `Signer::due_since`.
    due_sequence: u64,
}

impl Default for Mempool {
    fn default() -> Mempool {
        Mempool::with_limits(PoolLimits::default())
    }
}

impl Mempool {
    pub fn with_limits(limits: PoolLimits) -> Mempool {
        Mempool {
            limits,
            signers: BTreeMap::new(),
            hashes: BTreeMap::new(),
            n_bytes: 0,
            due: BTreeSet::new(),
            victims: BTreeSet::new(),
            expiries: BTreeSet::new(),
            announced: BTreeSet::new(),
            due_sequence: 0,
        }
    }

    pub fn limits(&self) -> PoolLimits {
        self.limits
    }

    pub fn len(&self) -> u32 {
        self.hashes.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Canonical bytes of every pending transaction.
    pub fn n_bytes(&self) -> u64 {
        self.n_bytes
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains_key(hash)
    }

    /// How many transactions of `signer` are pending.
    pub fn pending_of(&self, signer: &AgentId) -> u32 {
        self.signers
            .get(signer)
            .map_or(0, |queue| queue.txs.len() as u32)
    }

    /// The next nonce of `signer` counting its pending transactions that
    /// follow `next_nonce` without a gap.
    pub fn next_nonce(&self, signer: &AgentId, mut next_nonce: u64) -> u64 {
        if let Some(signer) = self.signers.get(signer) {
            while signer.txs.contains_key(&next_nonce) {
                next_nonce += 1;
            }
        }
        next_nonce
    }

    /// Adds a transaction already checked against the chain, whose signer's
    /// next nonce there is `next_nonce` and whose standing is `standing`,
    /// at `now_ms`. If the pool is full, evicts transactions of lower
    /// priority to make room, or refuses.
    pub fn insert(
        &mut self,
        tx: VerifiedTransaction,
        next_nonce: u64,
        standing: Standing,
        now_ms: u64,
    ) -> Result<Hash, MempoolError> {
        let hash = tx.hash();
        if self.hashes.contains_key(&hash) {
            return Ok(hash);
        }
        let nonce = tx.transaction.nonce;
        let agent = tx.signer();
        let max = self.limits.signer_txs_max;
        if nonce < next_nonce {
            return Err(MempoolError::NonceUsed {
                nonce,
                next: next_nonce,
            });
        }
        if nonce - next_nonce >= u64::from(max) {
            return Err(MempoolError::TooFarAhead {
                nonce,
                next: next_nonce,
                max,
            });
        }
        let pending = match self.signers.get(&agent) {
            Some(signer) if signer.txs.contains_key(&nonce) => {
                return Err(MempoolError::NonceTaken { nonce });
            }
            Some(signer) => signer.pending(),
            None => 0,
        };
        if pending >= max {
            return Err(MempoolError::SignerFull { max });
        }
        let size = tx.encoded().len() as u64;
        self.make_room(&agent, standing, pending + 1, size)?;

        let was_due = self.unindex(&agent);
        let signer = self.signers.entry(agent.clone()).or_insert(Signer {
            txs: BTreeMap::new(),
            standing,
            next_nonce,
            due_since: 0,
            is_due: false,
        });
        signer.standing = standing;
        signer.next_nonce = next_nonce;
        let expiry_ms = now_ms.saturating_add(GAP_EXPIRY_MS);
        signer.txs.insert(
            nonce,
            Entry {
                tx,
                arrived_ms: now_ms,
                announced_ms: now_ms,
                expiry_ms,
                past_gap: false,
            },
        );
        self.n_bytes += size;
        self.hashes.insert(hash, (agent.clone(), nonce));
        self.expiries.insert((expiry_ms, hash));
        self.announced.insert((now_ms, hash));
        self.index(&agent, was_due, false);
        Ok(hash)
    }

    /// Evicts what must go for a transaction of `size` bytes from `agent`
    /// (of `standing`, with `pending_after` pending once it is in), or
    /// refuses without changing anything.
    fn make_room(
        &mut self,
        agent: &AgentId,
        standing: Standing,
        pending_after: u32,
        size: u64,
    ) -> Result<(), MempoolError> {
        let count_over = (u64::from(self.len()) + 1).saturating_sub(u64::from(self.limits.txs_max));
        let bytes_over = (self.n_bytes + size).saturating_sub(self.limits.bytes_max);
        if count_over == 0 && bytes_over == 0 {
            return Ok(());
        }
        let (mut freed_count, mut freed_bytes) = (0, 0);
        let enough = |count: u64, bytes: u64| count >= count_over && bytes >= bytes_over;
        // Plan first: if there is not enough to evict, nothing changes.
        let mut plan: Vec<(AgentId, u64)> = Vec::new();
        for (victim_standing, Reverse(victim_pending), victim) in &self.victims {
            if victim == agent {
                continue;
            }
            let evictable = if *victim_standing < standing {
                *victim_pending
            } else if *victim_standing == standing && *victim_pending > pending_after {
                // Equal standing: down to as many pending as this signer.
                victim_pending - pending_after
            } else {
                // Ordered by standing then most pending: none further may go.
                break;
            };
            let Some(signer) = self.signers.get(victim) else {
                continue;
            };
            let mut lowest = None;
            for (&nonce, entry) in signer.txs.iter().rev().take(evictable as usize) {
                if enough(freed_count, freed_bytes) {
                    break;
                }
                freed_count += 1;
                freed_bytes += entry.size();
                lowest = Some(nonce);
            }
            if let Some(nonce) = lowest {
                plan.push((victim.clone(), nonce));
            }
            if enough(freed_count, freed_bytes) {
                break;
            }
        }
        if !enough(freed_count, freed_bytes) {
            return Err(if count_over > freed_count {
                MempoolError::Full {
                    max: self.limits.txs_max,
                }
            } else {
                MempoolError::FullBytes {
                    max: self.limits.bytes_max,
                }
            });
        }
        for (victim, nonce) in plan {
            self.drop_from(&victim, nonce);
        }
        Ok(())
    }

    /// Up to `max_txs` transactions of at most `max_bytes` canonical bytes
    /// in all that can follow a chain where `next_nonce` gives each
    /// signer's next nonce: for each signer, the unbroken run of nonces
    /// from its next one, in order. Signers take turns, highest standing
    /// first. Visits only signers that are due, and stops at the first
    /// transaction that does not fit.
    pub fn select(
        &self,
        next_nonce: impl Fn(&AgentId) -> u64,
        max_txs: u32,
        max_bytes: u64,
    ) -> Vec<VerifiedTransaction> {
        let max_txs = max_txs as usize;
        let mut selected = Vec::new();
        let mut n_bytes = 0;
        // Signers that gave a transaction this round, with the nonce they
        // would give next.
        let mut runs: Vec<(&Signer, u64)> = Vec::new();
        let mut take = |signer: &Signer, nonce: u64, selected: &mut Vec<VerifiedTransaction>| {
            let entry = signer.txs.get(&nonce)?;
            let size = entry.size();
            if n_bytes + size > max_bytes {
                return Some(false);
            }
            n_bytes += size;
            selected.push(entry.tx.clone());
            Some(true)
        };
        let mut full = false;
        for (_, _, agent) in &self.due {
            if selected.len() >= max_txs {
                break;
            }
            let Some(signer) = self.signers.get(agent) else {
                continue;
            };
            let nonce = next_nonce(agent);
            match take(signer, nonce, &mut selected) {
                Some(true) => runs.push((signer, nonce + 1)),
                Some(false) => {
                    full = true;
                    break;
                }
                // Its due transactions are all in blocks not final yet.
                None => {}
            }
        }
        while !full && selected.len() < max_txs && !runs.is_empty() {
            let mut next_round = Vec::with_capacity(runs.len());
            for (signer, nonce) in runs {
                if selected.len() >= max_txs {
                    break;
                }
                match take(signer, nonce, &mut selected) {
                    Some(true) => next_round.push((signer, nonce + 1)),
                    Some(false) => {
                        full = true;
                        break;
                    }
                    None => {}
                }
            }
            runs = next_round;
        }
        selected
    }

    /// Drops the transactions whose expiry is due at `now_ms`, the
    /// finalized chain giving each signer's next nonce by `next_nonce`.
    /// Returns how many were dropped.
    pub fn expire(&mut self, now_ms: u64, next_nonce: impl Fn(&AgentId) -> u64) -> u32 {
        let before = self.len();
        // Per signer met in this sweep: its next nonce, and the end of its
        // run of pending nonces without a gap from there.
        let mut runs: BTreeMap<AgentId, (u64, u64)> = BTreeMap::new();
        while let Some(&(expiry_ms, hash)) = self.expiries.first() {
            if expiry_ms > now_ms {
                break;
            }
            self.expiries.pop_first();
            let Some((agent, nonce)) = self.hashes.get(&hash).cloned() else {
                continue;
            };
            let Some(signer) = self.signers.get_mut(&agent) else {
                continue;
            };
            let (next, run_end) = *runs.entry(agent.clone()).or_insert_with(|| {
                let next = next_nonce(&agent);
                let mut end = next;
                while signer.txs.contains_key(&end) {
                    end += 1;
                }
                (next, end)
            });
            let Some(entry) = signer.txs.get_mut(&nonce) else {
                continue;
            };
            if !entry.past_gap && (next..run_end).contains(&nonce) {
                // Nothing is missing before it: only the longer expiry
                // applies from now on.
                entry.past_gap = true;
                entry.expiry_ms = entry.arrived_ms.saturating_add(PENDING_EXPIRY_MS);
                self.expiries.insert((entry.expiry_ms, hash));
                continue;
            }
            // Behind a gap still, pending too long, or already used.
            self.drop_from(&agent, nonce);
            if let Some((_, end)) = runs.get_mut(&agent) {
                *end = (*end).min(nonce);
            }
        }
        before - self.len()
    }

    /// Whether [`Mempool::select`] with `next_nonce` would select anything:
    /// some due signer's next nonce is pending. Stops at the first.
    pub fn has_includable(&self, next_nonce: impl Fn(&AgentId) -> u64) -> bool {
        self.due.iter().any(|(_, _, agent)| {
            self.signers
                .get(agent)
                .is_some_and(|signer| signer.txs.contains_key(&next_nonce(agent)))
        })
    }

    /// Drops what the finalized chain made stale: the transactions of
    /// `signers` (those of a finalized block) whose nonce it used, with
    /// `next_nonce` giving each signer's next nonce there. Signers that had
    /// some finalized wait their turn again behind those of their standing.
    pub fn prune(
        &mut self,
        signers: impl IntoIterator<Item = AgentId>,
        next_nonce: impl Fn(&AgentId) -> u64,
    ) {
        let signers: BTreeSet<AgentId> = signers.into_iter().collect();
        for agent in signers {
            if !self.signers.contains_key(&agent) {
                continue;
            }
            let next = next_nonce(&agent);
            let was_due = self.unindex(&agent);
            let Some(signer) = self.signers.get_mut(&agent) else {
                continue;
            };
            signer.next_nonce = next;
            let kept = signer.txs.split_off(&next);
            let stale = std::mem::replace(&mut signer.txs, kept);
            for entry in stale.into_values() {
                self.forget(&entry);
            }
            self.index(&agent, was_due, true);
        }
    }

    /// Up to `max_txs` transactions of at most `max_bytes` in all that were
    /// last announced `interval_ms` or longer before `now_ms`, oldest
    /// first, as shared canonical bytes; they count as announced at
    /// `now_ms`. Costs what it hands back, not the size of the pool.
    pub fn due_for_announcement(
        &mut self,
        now_ms: u64,
        interval_ms: u64,
        max_txs: usize,
        max_bytes: u64,
    ) -> Vec<Arc<[u8]>> {
        let mut due = Vec::new();
        let mut n_bytes = 0;
        while due.len() < max_txs {
            let Some(&(announced_ms, hash)) = self.announced.first() else {
                break;
            };
            if announced_ms.saturating_add(interval_ms) > now_ms {
                break;
            }
            let Some(entry) = self
                .hashes
                .get(&hash)
                .and_then(|(agent, nonce)| self.signers.get_mut(agent)?.txs.get_mut(nonce))
            else {
                self.announced.pop_first();
                continue;
            };
            if n_bytes + entry.size() > max_bytes {
                break;
            }
            n_bytes += entry.size();
            self.announced.pop_first();
            entry.announced_ms = now_ms;
            self.announced.insert((now_ms, hash));
            due.push(entry.tx.encoded_shared());
        }
        due
    }

    /// Removes `agent`'s transactions from `nonce` on (those after it can
    /// no longer follow).
    pub fn drop_from(&mut self, agent: &AgentId, nonce: u64) {
        let was_due = self.unindex(agent);
        let Some(signer) = self.signers.get_mut(agent) else {
            return;
        };
        let dropped = signer.txs.split_off(&nonce);
        for entry in dropped.into_values() {
            self.forget(&entry);
        }
        self.index(agent, was_due, false);
    }

    /// Removes a transaction already taken out of its signer's queue from
    /// the other indexes.
    fn forget(&mut self, entry: &Entry) {
        let hash = entry.tx.hash();
        self.hashes.remove(&hash);
        self.expiries.remove(&(entry.expiry_ms, hash));
        self.announced.remove(&(entry.announced_ms, hash));
        self.n_bytes -= entry.size();
    }

    /// Takes `agent` out of the ordered indexes before a change; returns
    /// whether it was due.
    fn unindex(&mut self, agent: &AgentId) -> bool {
        let Some(signer) = self.signers.get(agent) else {
            return false;
        };
        self.victims
            .remove(&(signer.standing, Reverse(signer.pending()), agent.clone()));
        if signer.is_due {
            self.due
                .remove(&(Reverse(signer.standing), signer.due_since, agent.clone()));
        }
        signer.is_due
    }

    /// Puts `agent` back in the ordered indexes after a change, or forgets
    /// it if it has nothing pending. It keeps its place among the due
    /// unless it just became due or `requeue`.
    fn index(&mut self, agent: &AgentId, was_due: bool, requeue: bool) {
        let Some(signer) = self.signers.get_mut(agent) else {
            return;
        };
        let Some(&first) = signer.txs.keys().next() else {
            self.signers.remove(agent);
            return;
        };
        // Not behind a gap (a first nonce below the next one is in a block
        // not finalized yet).
        signer.is_due = first <= signer.next_nonce;
        if signer.is_due {
            if !was_due || requeue {
                signer.due_since = self.due_sequence;
                self.due_sequence += 1;
            }
            self.due
                .insert((Reverse(signer.standing), signer.due_since, agent.clone()));
        }
        self.victims
            .insert((signer.standing, Reverse(signer.pending()), agent.clone()));
    }
}

#[cfg(test)]
mod tests;
