//! The state as key/value leaves: what the state root commits to.
//!
//! Every DC, every account in a DC, every contribution and every signer's
//! nonce is one leaf. An account's leaf holds its balances and a hash chain
//! over its whole action log, and a contribution's leaf a hash over all its
//! evaluations (superseded ones included), so the root commits to everything
//! the state holds while a leaf stays small. A member checks a balance by
//! asking for the account's leaf and its proof against a block's state root.
//!
//! Keys start with a one-byte kind, then ids separated by a zero byte (ids
//! never contain control characters, so keys cannot collide).

use std::collections::BTreeMap;

use stigmer_protocol::state::{
    Contribution, ContributionIdx, Dc, Event, LogEntry, Member, MemberIdx, MemberStatus,
};
use stigmer_protocol::{AgentId, DcId, Receipt, State};

use crate::codec::{Decoder, Encoder};
use crate::{Hash, LedgerError};

/// What kind of thing a leaf describes: the first byte of its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum LeafKind {
    Dc = 1,
    Account = 2,
    Contribution = 3,
    Nonce = 4,
}

pub fn dc_key(dc: &DcId) -> Vec<u8> {
    key(LeafKind::Dc, &[dc.as_str()])
}

pub fn account_key(dc: &DcId, agent: &AgentId) -> Vec<u8> {
    key(LeafKind::Account, &[dc.as_str(), agent.as_str()])
}

pub fn contribution_key(dc: &DcId, contribution: &str) -> Vec<u8> {
    key(LeafKind::Contribution, &[dc.as_str(), contribution])
}

pub fn nonce_key(agent: &AgentId) -> Vec<u8> {
    key(LeafKind::Nonce, &[agent.as_str()])
}

fn key(kind: LeafKind, parts: &[&str]) -> Vec<u8> {
    let mut key = vec![kind as u8];
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            key.push(0);
        }
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// Running hashes of every account's log: all the ledger keeps in memory
/// of the logs (the entries themselves go to the store). The protocol hands
/// each operation's entries out in its receipt; they extend the chain of
/// their account, so a block only hashes the entries it added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogHashes {
    /// (entries hashed, hash) per DC, by member index.
    chains: BTreeMap<DcId, Vec<(u64, Hash)>>,
}

impl LogHashes {
    /// Extends the chains of the accounts of `dc` with `entries`, in order.
    pub fn extend(&mut self, dc: &DcId, entries: &[(u32, LogEntry)]) {
        if entries.is_empty() {
            return;
        }
        let chains = match self.chains.get_mut(dc) {
            Some(chains) => chains,
            None => self.chains.entry(dc.clone()).or_default(),
        };
        let mut encoder = Encoder::new();
        for (index, log_entry) in entries {
            let index = *index as usize;
            if chains.len() <= index {
                chains.resize(index + 1, (0, Hash::ZERO));
            }
            let (n_hashed, hash) = &mut chains[index];
            *hash = chain_entry(&mut encoder, *hash, log_entry);
            *n_hashed += 1;
        }
    }

    /// (entries hashed, hash) of account `index` of `dc`.
    pub fn get(&self, dc: &DcId, index: u32) -> (u64, Hash) {
        self.chains
            .get(dc)
            .and_then(|chains| chains.get(index as usize))
            .copied()
            .unwrap_or((0, Hash::ZERO))
    }
}

/// The hash chain of a log after `entry`, from `previous`.
fn chain_entry(encoder: &mut Encoder, previous: Hash, entry: &LogEntry) -> Hash {
    encoder.clear();
    encoder.raw(&previous.0);
    encoder.u64(entry.op);
    encode_event(encoder, &entry.event);
    Hash::of(encoder.bytes())
}

pub fn dc_value(dc: &Dc) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.str(&dc.name);
    encoder.str(&dc.token_symbol);
    encoder.str(dc.steward.as_str());
    encoder.dc_rules(&dc.params, &dc.types);
    encoder.fixed(dc.treasury);
    encoder.fixed(dc.token_supply);
    encoder.fixed(dc.total_reputation);
    encoder.u64(dc.members().len() as u64);
    encoder.u64(dc.contributions().len() as u64);
    encoder.u64(dc.created_op);
    encoder.finish()
}

fn account_value(member: &Member, log: (u64, Hash)) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.u8(match member.status {
        MemberStatus::Active => 0,
        MemberStatus::Left => 1,
        MemberStatus::Holder => 2,
    });
    encoder.fixed(member.reputation);
    encoder.fixed(member.tokens);
    match member.referrer {
        None => encoder.u8(0),
        Some(referrer) => {
            encoder.u8(1);
            encoder.u32(referrer);
        }
    }
    encoder.u64(member.joined_op);
    encoder.u64(log.0);
    encoder.raw(&log.1 .0);
    encoder.finish()
}

fn contribution_value(contribution: &Contribution) -> Vec<u8> {
    let mut encoder = Encoder::new();
    encoder.u32(contribution.contributor);
    encoder.str(contribution.kind.as_str());
    encoder.str(&contribution.title);
    encoder.u64(contribution.created_op);
    encoder.fixed(contribution.fee);
    encoder.fixed(contribution.evaluator_fund);
    encoder.fixed(contribution.score_max);
    encoder.fixed(contribution.tokens_issued);
    encoder.fixed(contribution.reputation_issued);
    /// Bytes of one evaluation below: evaluator, value, op, superseded,
    /// eight figures and `first`.
    const EVALUATION_BYTES: usize = 4 + 16 + 8 + 1 + 8 * 16 + 1;
    let mut evaluations = Encoder::with_capacity(contribution.evaluations.len() * EVALUATION_BYTES);
    for evaluation in &contribution.evaluations {
        evaluations.u32(evaluation.evaluator);
        evaluations.fixed(evaluation.value);
        evaluations.u64(evaluation.op);
        evaluations.bool(evaluation.superseded);
        let figures = &evaluation.snapshot;
        for value in [
            figures.evaluator_reputation,
            figures.engaged_reputation,
            figures.agreeing_reputation,
            figures.total_reputation,
            figures.upvoted_reputation,
            figures.median,
            figures.score_max_before,
            figures.score_max_after,
        ] {
            evaluations.fixed(value);
        }
        evaluations.bool(figures.first);
    }
    encoder.u64(contribution.evaluations.len() as u64);
    encoder.raw(&Hash::of(&evaluations.finish()).0);
    encoder.u64(contribution.thanks.len() as u64);
    for thanks in &contribution.thanks {
        encoder.u32(thanks.from);
        encoder.u64(thanks.op);
    }
    encoder.finish()
}

/// Reads the reputation and tokens of an account leaf's value.
pub fn account_balances(
    value: &[u8],
) -> Option<(stigmer_protocol::Fixed, stigmer_protocol::Fixed)> {
    let mut decoder = crate::codec::Decoder::new(value);
    decoder.u8("status").ok()?;
    let reputation = decoder.fixed("reputation").ok()?;
    let tokens = decoder.fixed("tokens").ok()?;
    Some((reputation, tokens))
}

pub fn nonce_value(nonce: u64) -> Vec<u8> {
    nonce.to_le_bytes().to_vec()
}

/// What a block changed so far, turned into leaves once at its end: an
/// account that a hundred operations of the block touch is encoded (and its
/// leaf written to the tree) once, not a hundred times. Only the final
/// values count for the state root, so this equals writing each
/// operation's leaves in turn.
#[derive(Debug, Default)]
pub struct Changed {
    dcs: BTreeMap<DcId, ChangedInDc>,
    signers: Vec<AgentId>,
}

#[derive(Debug, Default)]
struct ChangedInDc {
    members: Vec<MemberIdx>,
    contributions: Vec<ContributionIdx>,
}

impl Changed {
    /// A signer whose nonce moved.
    pub fn signer(&mut self, agent: AgentId) {
        self.signers.push(agent);
    }

    /// What an operation touched; extends the log hashes with its entries
    /// (in order: the chains are sequential).
    pub fn receipt(&mut self, receipt: &Receipt, log_hashes: &mut LogHashes) {
        log_hashes.extend(&receipt.dc, &receipt.log);
        let dc = match self.dcs.get_mut(&receipt.dc) {
            Some(dc) => dc,
            None => self.dcs.entry(receipt.dc.clone()).or_default(),
        };
        dc.members.extend_from_slice(&receipt.touched.members);
        dc.contributions
            .extend_from_slice(&receipt.touched.contributions);
    }

    /// The changed leaves with their values in `state`, sorted by key.
    pub fn leaves(
        self,
        state: &State,
        nonces: &BTreeMap<AgentId, u64>,
        log_hashes: &LogHashes,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut leaves = Vec::new();
        for (id, mut changed) in self.dcs {
            let Some(dc) = state.dc(&id) else {
                continue;
            };
            leaves.push((dc_key(&dc.id), dc_value(dc)));
            changed.members.sort_unstable();
            changed.members.dedup();
            for index in changed.members {
                if let Some(member) = dc.member_at(index) {
                    let log = log_hashes.get(&dc.id, index);
                    leaves.push((
                        account_key(&dc.id, &member.agent),
                        account_value(member, log),
                    ));
                }
            }
            changed.contributions.sort_unstable();
            changed.contributions.dedup();
            for index in changed.contributions {
                if let Some(contribution) = dc.contribution_at(index) {
                    leaves.push((
                        contribution_key(&dc.id, contribution.id.as_str()),
                        contribution_value(contribution),
                    ));
                }
            }
        }
        let mut signers = self.signers;
        signers.sort_unstable();
        signers.dedup();
        for agent in signers {
            let nonce = nonces.get(&agent).copied().unwrap_or(0);
            leaves.push((nonce_key(&agent), nonce_value(nonce)));
        }
        leaves.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        leaves
    }
}

/// Every leaf of a state, for rebuilding a commitment from scratch (the
/// logs' hashes as `log_hashes` holds them: the state has no logs).
pub fn all_leaves(
    state: &State,
    nonces: &BTreeMap<AgentId, u64>,
    log_hashes: &LogHashes,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut leaves = Vec::new();
    for dc in state.dcs() {
        leaves.push((dc_key(&dc.id), dc_value(dc)));
        for (index, member) in (0..).zip(dc.members()) {
            let log = log_hashes.get(&dc.id, index);
            leaves.push((
                account_key(&dc.id, &member.agent),
                account_value(member, log),
            ));
        }
        for contribution in dc.contributions() {
            leaves.push((
                contribution_key(&dc.id, contribution.id.as_str()),
                contribution_value(contribution),
            ));
        }
    }
    for (agent, nonce) in nonces {
        leaves.push((nonce_key(agent), nonce_value(*nonce)));
    }
    leaves
}

/// The canonical encoding of an event: hashed into the log chains, and
/// how the store keeps log entries.
pub(crate) fn encode_event(encoder: &mut Encoder, event: &Event) {
    let option = |encoder: &mut Encoder, value: Option<u32>| match value {
        None => encoder.u8(0),
        Some(value) => {
            encoder.u8(1);
            encoder.u32(value);
        }
    };
    match *event {
        Event::Joined {
            reputation,
            tokens,
            referrer,
            founder,
        } => {
            encoder.u8(0);
            encoder.fixed(reputation);
            encoder.fixed(tokens);
            option(encoder, referrer);
            encoder.bool(founder);
        }
        Event::Rejoined => encoder.u8(1),
        Event::Left => encoder.u8(2),
        Event::Contributed { contribution, fee } => {
            encoder.u8(3);
            encoder.u32(contribution);
            encoder.fixed(fee);
        }
        Event::Evaluated {
            contribution,
            evaluation,
        } => {
            encoder.u8(4);
            encoder.u32(contribution);
            encoder.u32(evaluation);
        }
        Event::EvaluatorReward {
            contribution,
            evaluation,
            tokens,
        } => {
            encoder.u8(5);
            encoder.u32(contribution);
            encoder.u32(evaluation);
            encoder.fixed(tokens);
        }
        Event::StakePaid {
            contribution,
            evaluation,
            reputation,
        } => {
            encoder.u8(6);
            encoder.u32(contribution);
            encoder.u32(evaluation);
            encoder.fixed(reputation);
        }
        Event::Redistribution {
            contribution,
            evaluation,
            reputation,
        } => {
            encoder.u8(7);
            encoder.u32(contribution);
            encoder.u32(evaluation);
            encoder.fixed(reputation);
        }
        Event::ContributionRewarded {
            contribution,
            evaluation,
            tokens,
            reputation,
        } => {
            encoder.u8(8);
            encoder.u32(contribution);
            encoder.u32(evaluation);
            encoder.fixed(tokens);
            encoder.fixed(reputation);
        }
        Event::ReferralReward {
            contribution,
            evaluation,
            referred,
            tokens,
            reputation,
        } => {
            encoder.u8(9);
            encoder.u32(contribution);
            encoder.u32(evaluation);
            encoder.u32(referred);
            encoder.fixed(tokens);
            encoder.fixed(reputation);
        }
        Event::TokensSent { to, tokens } => {
            encoder.u8(10);
            encoder.u32(to);
            encoder.fixed(tokens);
        }
        Event::TokensReceived { from, tokens } => {
            encoder.u8(11);
            encoder.u32(from);
            encoder.fixed(tokens);
        }
        Event::ThanksGiven { contribution } => {
            encoder.u8(12);
            encoder.u32(contribution);
        }
        Event::ThanksReceived { contribution, from } => {
            encoder.u8(13);
            encoder.u32(contribution);
            encoder.u32(from);
        }
    }
}

/// Reads back an event [`encode_event`] wrote.
pub(crate) fn decode_event(decoder: &mut Decoder<'_>) -> Result<Event, LedgerError> {
    let option = |decoder: &mut Decoder<'_>| -> Result<Option<u32>, LedgerError> {
        Ok(match decoder.u8("option")? {
            0 => None,
            _ => Some(decoder.u32("index")?),
        })
    };
    let tag = decoder.u8("event")?;
    Ok(match tag {
        0 => Event::Joined {
            reputation: decoder.fixed("reputation")?,
            tokens: decoder.fixed("tokens")?,
            referrer: option(decoder)?,
            founder: decoder.bool("founder")?,
        },
        1 => Event::Rejoined,
        2 => Event::Left,
        3 => Event::Contributed {
            contribution: decoder.u32("contribution")?,
            fee: decoder.fixed("fee")?,
        },
        4 => Event::Evaluated {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
        },
        5 => Event::EvaluatorReward {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
            tokens: decoder.fixed("tokens")?,
        },
        6 => Event::StakePaid {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
            reputation: decoder.fixed("reputation")?,
        },
        7 => Event::Redistribution {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
            reputation: decoder.fixed("reputation")?,
        },
        8 => Event::ContributionRewarded {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
            tokens: decoder.fixed("tokens")?,
            reputation: decoder.fixed("reputation")?,
        },
        9 => Event::ReferralReward {
            contribution: decoder.u32("contribution")?,
            evaluation: decoder.u32("evaluation")?,
            referred: decoder.u32("referred")?,
            tokens: decoder.fixed("tokens")?,
            reputation: decoder.fixed("reputation")?,
        },
        10 => Event::TokensSent {
            to: decoder.u32("to")?,
            tokens: decoder.fixed("tokens")?,
        },
        11 => Event::TokensReceived {
            from: decoder.u32("from")?,
            tokens: decoder.fixed("tokens")?,
        },
        12 => Event::ThanksGiven {
            contribution: decoder.u32("contribution")?,
        },
        13 => Event::ThanksReceived {
            contribution: decoder.u32("contribution")?,
            from: decoder.u32("from")?,
        },
        other => {
            return Err(LedgerError::Storage(format!("unknown event kind {other}")));
        }
    })
}
