//! The state every node derives from the ledger: DCs, their members,
//! contributions, evaluations (current and superseded). Action logs are not
//! kept here: each operation hands the entries it made to its caller, in
//! its [`crate::Receipt`].
//!
//! Inside a DC, members and contributions live in append-only vectors and are
//! addressed by `u32` indices: nothing is ever removed (a member who leaves is
//! marked so, a superseded evaluation stays in history), so indices are stable
//! and the hot loops of an evaluation never look up a string.

use std::collections::{BTreeMap, BTreeSet};

use crate::params::{ContributionType, DcParams};
use crate::{AgentId, ContributionId, DcId, Fixed, TypeName};

/// Index of a member (or token holder) within its DC.
pub type MemberIdx = u32;
/// Index of a contribution within its DC.
pub type ContributionIdx = u32;
/// Index of an evaluation within its contribution's history.
pub type EvaluationIdx = u32;

/// The whole protocol state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub(crate) dcs: BTreeMap<DcId, Dc>,
    /// For every agent, the DCs where it holds an account.
    pub(crate) agents: BTreeMap<AgentId, BTreeSet<DcId>>,
    /// Operations applied so far; the sequence number of the next one. Log
    /// entries name the operation that caused them by this number.
    pub(crate) n_ops: u64,
}

/// A decentralized cooperative: its own value system, token and members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dc {
    pub id: DcId,
    pub name: String,
    pub token_symbol: String,
    /// The agent who created the DC and may act for the DC's own account in
    /// other DCs.
    pub steward: AgentId,
    pub params: DcParams,
    pub types: BTreeMap<TypeName, ContributionType>,
    /// Tokens paid in fees.
    pub treasury: Fixed,
    /// Every token ever minted in this DC: allocations and issuance. Always
    /// equal to the sum of all balances plus the treasury.
    pub token_supply: Fixed,
    /// Sum of the reputation of active members (`T` in `PROTOCOL.md`).
    pub total_reputation: Fixed,
    pub created_op: u64,
    pub(crate) members: Vec<Member>,
    pub(crate) member_index: BTreeMap<AgentId, MemberIdx>,
    pub(crate) contributions: Vec<Contribution>,
    pub(crate) contribution_index: BTreeMap<ContributionId, ContributionIdx>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberStatus {
    /// Takes part: its reputation counts.
    Active,
    /// Left: its reputation stays on record but counts no more.
    Left,
    /// Holds the DC's tokens (received by transfer) without having joined.
    Holder,
}

/// An agent's account and standing in one DC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub agent: AgentId,
    pub status: MemberStatus,
    pub reputation: Fixed,
    pub tokens: Fixed,
    pub referrer: Option<MemberIdx>,
    pub joined_op: u64,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// Reputation that counts: a member who left weighs nothing.
    pub fn weight(&self) -> Fixed {
        if self.is_active() {
            self.reputation
        } else {
            Fixed::ZERO
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub id: ContributionId,
    pub contributor: MemberIdx,
    pub kind: TypeName,
    pub title: String,
    pub created_op: u64,
    pub fee: Fixed,
    /// What is left of the fund that rewards first evaluators with tokens.
    pub evaluator_fund: Fixed,
    /// Highest score reached so far: the up-voted share (`backfeed-classic`)
    /// or the median (`backfeed`). Issuance pays only for new highs.
    pub score_max: Fixed,
    pub tokens_issued: Fixed,
    pub reputation_issued: Fixed,
    /// Every evaluation ever cast, in cast order; superseded ones stay.
    pub evaluations: Vec<Evaluation>,
    /// The current evaluation of each evaluator.
    pub(crate) current: BTreeMap<MemberIdx, EvaluationIdx>,
    /// The current evaluations in cast order, only what weighing a new one
    /// reads: every evaluation walks all of them, and a compact list keeps
    /// that walk in cache where the full records (with their figures) do not.
    pub(crate) current_in_order: Vec<CurrentEvaluation>,
    pub thanks: Vec<Thanks>,
}

/// What weighing an evaluation reads of each current one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CurrentEvaluation {
    pub index: EvaluationIdx,
    pub evaluator: MemberIdx,
    pub value: Fixed,
}

impl Contribution {
    /// Current evaluations in cast order.
    pub fn current_evaluations(&self) -> impl Iterator<Item = (EvaluationIdx, &Evaluation)> {
        (0..)
            .zip(self.evaluations.iter())
            .filter(|(_, evaluation)| !evaluation.superseded)
    }

    pub fn current_evaluation_of(&self, member: MemberIdx) -> Option<&Evaluation> {
        let index = *self.current.get(&member)?;
        self.evaluations.get(index as usize)
    }
}

/// One evaluation, with the figures it was weighed with, so that anyone can
/// recompute by hand every change it caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub evaluator: MemberIdx,
    pub value: Fixed,
    pub op: u64,
    /// Replaced by a later evaluation of the same evaluator.
    pub superseded: bool,
    pub snapshot: Snapshot,
}

/// The quantities of `PROTOCOL.md`, read once before the evaluation changed
/// anything but the evaluator's tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `R_u`: the evaluator's reputation.
    pub evaluator_reputation: Fixed,
    /// `E`: reputation of all current evaluators, the new one included.
    pub engaged_reputation: Fixed,
    /// `Q`: reputation of current evaluators of the same value.
    pub agreeing_reputation: Fixed,
    /// `T`: reputation of all active members.
    pub total_reputation: Fixed,
    /// `P`: reputation of current evaluators of value 1.
    pub upvoted_reputation: Fixed,
    /// `M_c` (`backfeed` rules): the reputation-weighted median.
    pub median: Fixed,
    /// The contribution's highest score before and after this evaluation.
    pub score_max_before: Fixed,
    pub score_max_after: Fixed,
    /// Whether this was the evaluator's first evaluation of the contribution.
    pub first: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thanks {
    pub from: MemberIdx,
    pub op: u64,
}

/// One change to a member's account, with its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The operation that caused it.
    pub op: u64,
    pub event: Event,
}

/// What happened to an account. Amounts are what the account gained or lost;
/// the direction is given by the variant. Evaluations are named by
/// (contribution, index in its history), whose snapshot holds the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Joined (or was named a founder) with an allocation.
    Joined {
        reputation: Fixed,
        tokens: Fixed,
        referrer: Option<MemberIdx>,
        founder: bool,
    },
    /// Came back after leaving; its reputation counts again.
    Rejoined,
    Left,
    /// Contributed, paying `fee` tokens into the treasury.
    Contributed {
        contribution: ContributionIdx,
        fee: Fixed,
    },
    Evaluated {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
    },
    /// Tokens from the contribution's evaluator fund for a first evaluation.
    EvaluatorReward {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
        tokens: Fixed,
    },
    /// Reputation staked (and burned) to evaluate.
    StakePaid {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
        reputation: Fixed,
    },
    /// Reputation gained because a later evaluation agreed with this member's.
    Redistribution {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
        reputation: Fixed,
    },
    /// Issuance for a contribution whose score reached a new high.
    ContributionRewarded {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
        tokens: Fixed,
        reputation: Fixed,
    },
    /// The referrer's share of a reward earned by `referred`.
    ReferralReward {
        contribution: ContributionIdx,
        evaluation: EvaluationIdx,
        referred: MemberIdx,
        tokens: Fixed,
        reputation: Fixed,
    },
    TokensSent {
        to: MemberIdx,
        tokens: Fixed,
    },
    TokensReceived {
        from: MemberIdx,
        tokens: Fixed,
    },
    ThanksGiven {
        contribution: ContributionIdx,
    },
    ThanksReceived {
        contribution: ContributionIdx,
        from: MemberIdx,
    },
}

impl State {
    pub fn new() -> State {
        State::default()
    }

    pub fn dc(&self, id: &DcId) -> Option<&Dc> {
        self.dcs.get(id)
    }

    pub fn dcs(&self) -> impl Iterator<Item = &Dc> {
        self.dcs.values()
    }

    /// DCs in id order, from the first after `after` (all if `None`): a
    /// page of them costs no more than its size.
    pub fn dcs_after(&self, after: Option<&DcId>) -> impl Iterator<Item = &Dc> {
        use core::ops::Bound;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.dcs.range((start, Bound::Unbounded)).map(|(_, dc)| dc)
    }

    /// How many DCs exist.
    pub fn n_dcs(&self) -> usize {
        self.dcs.len()
    }

    /// [`State::memberships`] in DC id order, from the first after `after`.
    pub fn memberships_after<'s>(
        &'s self,
        agent: &AgentId,
        after: Option<&'s DcId>,
    ) -> impl Iterator<Item = &'s Dc> + 's {
        use core::ops::Bound;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.agents
            .get(agent)
            .into_iter()
            .flat_map(move |dcs| dcs.range((start, Bound::Unbounded)))
            .filter_map(|dc| self.dcs.get(dc))
    }

    /// In how many DCs `agent` holds an account.
    pub fn n_memberships(&self, agent: &AgentId) -> usize {
        self.agents.get(agent).map_or(0, BTreeSet::len)
    }

    /// Operations applied so far.
    pub fn n_ops(&self) -> u64 {
        self.n_ops
    }

    /// The DCs where `agent` holds an account.
    pub fn memberships(&self, agent: &AgentId) -> impl Iterator<Item = &Dc> {
        self.agents
            .get(agent)
            .into_iter()
            .flatten()
            .filter_map(|dc| self.dcs.get(dc))
    }

    /// How many transactions per hour `agent` may have in blocks: a small
    /// allowance for a key with no standing, more for an active member of
    /// some DC, more again with reputation (`limits::TXS_PER_HOUR_*`).
    pub fn hourly_allowance(&self, agent: &AgentId) -> u32 {
        use crate::limits::{
            TXS_PER_HOUR_MAX, TXS_PER_HOUR_MEMBER, TXS_PER_HOUR_NEWCOMER,
            TXS_PER_HOUR_PER_REPUTATION,
        };
        let mut member = false;
        let mut reputation: u64 = 0;
        for dc in self.memberships(agent) {
            if let Some(account) = dc.member(agent).filter(|m| m.is_active()) {
                member = true;
                reputation = reputation.saturating_add(account.reputation.whole());
            }
        }
        if !member {
            return TXS_PER_HOUR_NEWCOMER;
        }
        let extra = reputation.saturating_mul(u64::from(TXS_PER_HOUR_PER_REPUTATION));
        u64::from(TXS_PER_HOUR_MEMBER)
            .saturating_add(extra)
            .min(u64::from(TXS_PER_HOUR_MAX)) as u32
    }
}

impl Dc {
    pub fn member(&self, agent: &AgentId) -> Option<&Member> {
        let index = *self.member_index.get(agent)?;
        self.members.get(index as usize)
    }

    pub fn member_index(&self, agent: &AgentId) -> Option<MemberIdx> {
        self.member_index.get(agent).copied()
    }

    pub fn member_at(&self, index: MemberIdx) -> Option<&Member> {
        self.members.get(index as usize)
    }

    /// Every account, in the order they were opened.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn contribution(&self, id: &ContributionId) -> Option<&Contribution> {
        let index = *self.contribution_index.get(id)?;
        self.contributions.get(index as usize)
    }

    pub fn contribution_at(&self, index: ContributionIdx) -> Option<&Contribution> {
        self.contributions.get(index as usize)
    }

    pub fn contributions(&self) -> &[Contribution] {
        &self.contributions
    }

    /// The DC's own account, through which it acts in other DCs.
    pub fn account(&self) -> AgentId {
        AgentId::of_dc(&self.id)
    }
}

/// What one event did to an account's balances.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub reputation_gained: Fixed,
    pub reputation_lost: Fixed,
    pub tokens_gained: Fixed,
    pub tokens_lost: Fixed,
}

impl Event {
    /// The change this event made to its account's reputation and tokens.
    /// Replaying a member's log (the entries of its receipts) from zero
    /// yields its balances.
    pub fn change(&self) -> Change {
        let none = Fixed::ZERO;
        let (reputation_gained, reputation_lost, tokens_gained, tokens_lost) = match *self {
            Event::Joined {
                reputation, tokens, ..
            } => (reputation, none, tokens, none),
            Event::Contributed { fee, .. } => (none, none, none, fee),
            Event::EvaluatorReward { tokens, .. } => (none, none, tokens, none),
            Event::StakePaid { reputation, .. } => (none, reputation, none, none),
            Event::Redistribution { reputation, .. } => (reputation, none, none, none),
            Event::ContributionRewarded {
                tokens, reputation, ..
            }
            | Event::ReferralReward {
                tokens, reputation, ..
            } => (reputation, none, tokens, none),
            Event::TokensSent { tokens, .. } => (none, none, none, tokens),
            Event::TokensReceived { tokens, .. } => (none, none, tokens, none),
            Event::Rejoined
            | Event::Left
            | Event::Evaluated { .. }
            | Event::ThanksGiven { .. }
            | Event::ThanksReceived { .. } => (none, none, none, none),
        };
        Change {
            reputation_gained,
            reputation_lost,
            tokens_gained,
            tokens_lost,
        }
    }

    /// Tokens this event created out of nothing (allocations and issuance).
    pub fn tokens_minted(&self) -> Fixed {
        match *self {
            Event::Joined { tokens, .. }
            | Event::EvaluatorReward { tokens, .. }
            | Event::ContributionRewarded { tokens, .. }
            | Event::ReferralReward { tokens, .. } => tokens,
            _ => Fixed::ZERO,
        }
    }
}

/// Action logs kept in memory, built from receipts: for tests, scenarios and
/// small tools. The state keeps no logs (they grow with history); a ledger
/// keeps them in its store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Logs {
    accounts: BTreeMap<(DcId, MemberIdx), Vec<LogEntry>>,
}

impl Logs {
    /// Appends the entries of one operation, in the order it made them.
    pub fn record(&mut self, receipt: &crate::Receipt) {
        for (member, entry) in &receipt.log {
            self.accounts
                .entry((receipt.dc.clone(), *member))
                .or_default()
                .push(*entry);
        }
    }

    /// The log of account `member` of `dc`, oldest first.
    pub fn of(&self, dc: &DcId, member: MemberIdx) -> &[LogEntry] {
        self.accounts
            .get(&(dc.clone(), member))
            .map_or(&[], Vec::as_slice)
    }

    /// The log of `agent`'s account in `dc`, oldest first.
    pub fn of_agent(&self, state: &State, dc: &DcId, agent: &AgentId) -> &[LogEntry] {
        state
            .dc(dc)
            .and_then(|dc_state| dc_state.member_index(agent))
            .map_or(&[], |member| self.of(dc, member))
    }

    /// The agent's action log across all DCs, oldest first.
    pub fn action_log<'s>(
        &'s self,
        state: &'s State,
        agent: &AgentId,
    ) -> Vec<(&'s Dc, &'s LogEntry)> {
        let mut log: Vec<(&Dc, &LogEntry)> = state
            .memberships(agent)
            .filter_map(|dc| Some((dc, dc.member_index(agent)?)))
            .flat_map(|(dc, member)| self.of(&dc.id, member).iter().map(move |entry| (dc, entry)))
            .collect();
        // Stable: entries of one operation keep their order within a DC.
        log.sort_by_key(|(_, entry)| entry.op);
        log
    }
}
