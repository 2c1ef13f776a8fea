//! The operations that change the state. Each one becomes a signed
//! transaction on the ledger; here it is only the body, applied on behalf of
//! an already authenticated signer.

use std::collections::BTreeMap;

use crate::params::{ContributionType, DcParams};
use crate::{AgentId, ContributionId, DcId, Fixed, TypeName};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Found a DC; the signer becomes its steward.
    CreateDc(CreateDc),
    /// Join a DC, optionally naming the member who brought you in.
    Join { dc: DcId, referrer: Option<AgentId> },
    /// Leave a DC: reputation stays on record but counts no more.
    Leave { dc: DcId },
    Contribute {
        dc: DcId,
        id: ContributionId,
        kind: TypeName,
        title: String,
    },
    Evaluate {
        dc: DcId,
        contribution: ContributionId,
        value: Fixed,
    },
    /// Thank a contributor: recorded and shown, never scored.
    Thank {
        dc: DcId,
        contribution: ContributionId,
    },
    /// Move a DC's tokens to another agent. Naming reputation as the asset is
    /// refused: reputation is not transferable.
    Transfer {
        dc: DcId,
        to: AgentId,
        amount: Fixed,
        asset: Asset,
    },
    /// The steward of `dc` performs `operation` with the DC's own account,
    /// so that the DC takes part in another DC as an agent.
    AsDc { dc: DcId, operation: Box<Operation> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asset {
    Tokens,
    Reputation,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateDc {
    pub id: DcId,
    pub name: String,
    pub token_symbol: String,
    pub params: DcParams,
    pub types: BTreeMap<TypeName, ContributionType>,
    /// The genesis allocation: the first members and what they start with.
    pub founders: Vec<Founder>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Founder {
    pub agent: AgentId,
    pub reputation: Fixed,
    pub tokens: Fixed,
    /// Must be a founder listed earlier.
    pub referrer: Option<AgentId>,
}

/// What a successful operation reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The operation's sequence number; log entries it caused carry it.
    pub op: u64,
    /// The DC it changed (every operation changes exactly one).
    pub dc: DcId,
    /// What changed in it, so that a ledger can update its commitment to
    /// the state without looking at the rest.
    pub touched: Touched,
    /// The entries the operation added to action logs, in the order they
    /// were made: (account in `dc`, entry). The state keeps no logs; whoever
    /// wants them (a ledger's store, a scenario's report) keeps these.
    pub log: Vec<(crate::state::MemberIdx, crate::state::LogEntry)>,
}

/// Entries of action logs as an operation makes them: (account, entry).
pub(crate) type Log = Vec<(crate::state::MemberIdx, crate::state::LogEntry)>;

/// Members and contributions an operation changed, each listed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Touched {
    pub members: Vec<crate::state::MemberIdx>,
    pub contributions: Vec<crate::state::ContributionIdx>,
}

impl Touched {
    pub(crate) fn members(members: impl IntoIterator<Item = crate::state::MemberIdx>) -> Touched {
        let mut members: Vec<_> = members.into_iter().collect();
        members.sort_unstable();
        members.dedup();
        Touched {
            members,
            contributions: Vec::new(),
        }
    }

    pub(crate) fn with_contribution(
        mut self,
        contribution: crate::state::ContributionIdx,
    ) -> Touched {
        self.contributions.push(contribution);
        self
    }
}
