//! Scenarios: a DC's parameters and a list of steps, run in order on a fresh
//! DC (`SCENARIOS.md`). This is how the protocol is checked against the
//! reference implementation's results and how anyone can replay a
//! community's history offline.
//!
//! This module is typed; reading and writing the JSON form belongs to the
//! binary. Beyond the reference's three steps (`join`, `contribute`,
//! `evaluate`) scenarios may `leave`, `thank` and `transfer`.

use std::collections::BTreeMap;

use crate::op::{Asset, CreateDc, Operation};
use crate::params::{ContributionType, DcParams};
use crate::state::Dc;
use crate::{AgentId, ContributionId, DcId, Fixed, ProtocolError, State, TypeName};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub params: DcParams,
    pub types: BTreeMap<TypeName, ContributionType>,
    pub steps: Vec<Step>,
}

/// One step. Names and numbers are kept as written: a name that is not a
/// valid id, or a number that is not a valid amount (negative, say), makes
/// its step fail, not the whole scenario, as in the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Adds an agent with an explicit starting allocation.
    Join {
        agent: String,
        reputation: Amount,
        tokens: Amount,
        referrer: Option<String>,
    },
    Contribute {
        agent: String,
        id: String,
        /// `None` takes the first type in alphabetical order, as the
        /// reference does.
        kind: Option<String>,
    },
    Evaluate {
        agent: String,
        contribution: String,
        value: Amount,
    },
    Leave {
        agent: String,
    },
    Thank {
        agent: String,
        contribution: String,
    },
    Transfer {
        agent: String,
        to: String,
        amount: Amount,
    },
}

/// A number from a scenario file: an exact amount, or the number as written
/// and why it is not one.
pub type Amount = Result<Fixed, (String, String)>;

fn amount(field: &'static str, amount: &Amount) -> Result<Fixed, ProtocolError> {
    amount
        .clone()
        .map_err(|(value, reason)| ProtocolError::InvalidNumber {
            field,
            value,
            reason,
        })
}

/// The id of the one DC a scenario runs in.
pub const SCENARIO_DC: &str = "scenario";
/// The agent that creates it; not a member.
pub const SCENARIO_STEWARD: &str = "scenario-steward";

/// Runs `scenario`, calling `on_step` after every step with the step's
/// result and the DC as it then stands. Fails only when the DC itself is
/// invalid (bad parameters), before any step.
pub fn run(
    scenario: &Scenario,
    mut on_step: impl FnMut(usize, Result<(), ProtocolError>, &Dc),
) -> Result<State, ProtocolError> {
    let mut state = State::new();
    let dc = DcId::new(SCENARIO_DC)?;
    let steward = AgentId::new(SCENARIO_STEWARD)?;
    let create = CreateDc {
        id: dc.clone(),
        name: if scenario.name.trim().is_empty() {
            SCENARIO_DC.to_string()
        } else {
            scenario.name.chars().take(80).collect()
        },
        token_symbol: "TOKEN".to_string(),
        params: scenario.params.clone(),
        types: scenario.types.clone(),
        founders: Vec::new(),
    };
    state.apply(&steward, &Operation::CreateDc(create))?;
    for (index, step) in scenario.steps.iter().enumerate() {
        let result = apply_step(&mut state, &dc, step);
        let dc_state = state.dc(&dc).ok_or(ProtocolError::UnknownDc(dc.clone()))?;
        on_step(index, result, dc_state);
    }
    Ok(state)
}

fn first_type(state: &State, dc: &DcId) -> Result<TypeName, ProtocolError> {
    let dc_state = state
        .dc(dc)
        .ok_or_else(|| ProtocolError::UnknownDc(dc.clone()))?;
    // `TypeName` orders by bytes, which for UTF-8 is code point order, the
    // order of Python's `sort`.
    dc_state
        .types
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| ProtocolError::InvalidParameter {
            name: "type".to_string(),
            reason: "the DC has no contribution types".to_string(),
        })
}

fn apply_step(state: &mut State, dc: &DcId, step: &Step) -> Result<(), ProtocolError> {
    let (agent, operation) = match step {
        Step::Join {
            agent,
            reputation,
            tokens,
            referrer,
        } => {
            let referrer = referrer.as_deref().map(AgentId::new).transpose()?;
            let (reputation, tokens) =
                (amount("reputation", reputation)?, amount("tokens", tokens)?);
            state.admit(
                dc,
                &AgentId::new(agent)?,
                reputation,
                tokens,
                referrer.as_ref(),
            )?;
            return Ok(());
        }
        Step::Contribute { agent, id, kind } => (
            agent,
            Operation::Contribute {
                dc: dc.clone(),
                id: ContributionId::new(id)?,
                kind: match kind {
                    Some(kind) => TypeName::new(kind)?,
                    None => first_type(state, dc)?,
                },
                title: String::new(),
            },
        ),
        Step::Evaluate {
            agent,
            contribution,
            value,
        } => (
            agent,
            Operation::Evaluate {
                dc: dc.clone(),
                contribution: ContributionId::new(contribution)?,
                value: amount("value", value)?,
            },
        ),
        Step::Leave { agent } => (agent, Operation::Leave { dc: dc.clone() }),
        Step::Thank {
            agent,
            contribution,
        } => (
            agent,
            Operation::Thank {
                dc: dc.clone(),
                contribution: ContributionId::new(contribution)?,
            },
        ),
        Step::Transfer {
            agent,
            to,
            amount: amount_written,
        } => (
            agent,
            Operation::Transfer {
                dc: dc.clone(),
                to: AgentId::new(to)?,
                amount: amount("amount", amount_written)?,
                asset: Asset::Tokens,
            },
        ),
    };
    state.apply(&AgentId::new(agent)?, &operation)?;
    Ok(())
}
