//! Why an operation was refused.
//!
//! Every refusal leaves the state exactly as it was. Messages are written for
//! the person who sent the operation: they say what was wrong and, where it
//! helps, what would be right.

use crate::{AgentId, ContributionId, DcId, Fixed, TypeName};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    #[error("invalid {kind} {id:?}: {reason}")]
    InvalidId {
        kind: &'static str,
        id: String,
        reason: String,
    },
    #[error("{field} {value} is not a valid amount: {reason}")]
    InvalidNumber {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
    #[error("there is no DC {0:?}")]
    UnknownDc(DcId),
    #[error("a DC {0:?} already exists")]
    DcExists(DcId),
    #[error("{agent:?} is not a member of DC {dc:?}")]
    NotAMember { agent: AgentId, dc: DcId },
    #[error("{agent:?} has left DC {dc:?}; join again to take part")]
    HasLeft { agent: AgentId, dc: DcId },
    #[error("{agent:?} is already a member of DC {dc:?}")]
    AlreadyMember { agent: AgentId, dc: DcId },
    #[error("the referrer {referrer:?} is not a member of DC {dc:?}")]
    UnknownReferrer { referrer: AgentId, dc: DcId },
    #[error("an agent cannot be its own referrer")]
    SelfReferral,
    #[error("DC {dc:?} has no contribution type {kind:?}")]
    UnknownContributionType { dc: DcId, kind: TypeName },
    #[error("DC {dc:?} already has a contribution {contribution:?}")]
    ContributionExists {
        dc: DcId,
        contribution: ContributionId,
    },
    #[error("DC {dc:?} has no contribution {contribution:?}")]
    UnknownContribution {
        dc: DcId,
        contribution: ContributionId,
    },
    #[error("not enough tokens: {needed} needed, {available} available")]
    InsufficientTokens { needed: Fixed, available: Fixed },
    #[error("evaluation value {value} is not allowed; this contribution type accepts {allowed}")]
    InvalidEvaluationValue { value: Fixed, allowed: String },
    #[error("contributions of type {kind:?} are thanks only: they can be thanked, never scored")]
    ThanksOnly { kind: TypeName },
    #[error(
        "you already evaluated this contribution {value}; a new evaluation must change the value"
    )]
    SameEvaluation { value: Fixed },
    #[error(
        "DC {dc:?} holds no reputation at all, so nobody's evaluation can value a contribution yet"
    )]
    NoReputation { dc: DcId },
    #[error("you cannot thank your own contribution")]
    ThankingOneself,
    #[error(
        "you cannot evaluate your own contribution: under the backfeed rules it is for the others to value"
    )]
    EvaluatingOneself,
    #[error("reputation cannot be transferred: it is earned by each member and stays with them")]
    ReputationNotTransferable,
    #[error("a transfer needs a positive amount")]
    ZeroAmount,
    #[error("sender and receiver are the same agent")]
    TransferToSelf,
    #[error("{agent:?} is not the steward of DC {dc:?} and cannot act for it")]
    NotSteward { agent: AgentId, dc: DcId },
    #[error("a DC's account can only join, leave, contribute, evaluate, thank and transfer")]
    NotAllowedForDc,
    #[error("a DC cannot be a member of itself")]
    DcJoiningItself,
    #[error("{what} exceeds the maximum of {max}")]
    LimitExceeded { what: &'static str, max: String },
    #[error("the amounts involved are too large to compute exactly")]
    Overflow,
}

/// Shorthand for the arithmetic of this crate: every overflow is a refusal.
pub(crate) trait OrOverflow<T> {
    fn or_overflow(self) -> Result<T, ProtocolError>;
}

impl<T> OrOverflow<T> for Option<T> {
    fn or_overflow(self) -> Result<T, ProtocolError> {
        self.ok_or(ProtocolError::Overflow)
    }
}
