//! Builders shared by the tests.

use std::collections::BTreeMap;

use stigmer_protocol::{
    AgentId, ContributionId, ContributionType, CreateDc, DcId, DcParams, Fixed, Founder, Operation,
    ProtocolError, Receipt, RuleSet, State, TypeName,
};

pub fn agent(name: &str) -> AgentId {
    AgentId::new(name).unwrap()
}

pub fn dc_id(name: &str) -> DcId {
    DcId::new(name).unwrap()
}

pub fn fixed(text: &str) -> Fixed {
    text.parse().unwrap()
}

pub fn int(n: u64) -> Fixed {
    Fixed::from_int(n)
}

/// A DC named `dc` with one contribution type `work` (and a thanks-only type
/// `care`), founded by `founders` = (name, reputation, tokens).
pub fn create_dc(
    dc: &str,
    rules: RuleSet,
    evaluation_set: &[u64],
    founders: &[(&str, u64, u64)],
) -> CreateDc {
    let work = ContributionType {
        evaluation_set: evaluation_set.iter().map(|&v| int(v)).collect(),
        ..ContributionType::default()
    };
    CreateDc {
        id: dc_id(dc),
        name: format!("The {dc} cooperative"),
        token_symbol: dc.to_uppercase(),
        params: DcParams {
            rules,
            ..DcParams::default()
        },
        types: BTreeMap::from([
            (TypeName::new("work").unwrap(), work),
            (
                TypeName::new("care").unwrap(),
                ContributionType::thanks_only(),
            ),
        ]),
        founders: founders
            .iter()
            .map(|&(name, reputation, tokens)| Founder {
                agent: agent(name),
                reputation: int(reputation),
                tokens: int(tokens),
                referrer: None,
            })
            .collect(),
    }
}

pub fn community(rules: RuleSet, evaluation_set: &[u64], founders: &[(&str, u64, u64)]) -> State {
    community_with(create_dc("coop", rules, evaluation_set, founders))
}

/// The parameters of the reference's `DMagContract`, with which its own
/// vote-changing attack tests run.
pub fn dmag_community(rules: RuleSet, founders: &[(&str, u64, u64)]) -> State {
    let mut create = create_dc("coop", rules, &[0, 1], founders);
    create.params.beta = fixed("0.6");
    create.params.reward_evaluators_with_tokens = true;
    let work = create
        .types
        .get_mut(&TypeName::new("work").unwrap())
        .unwrap();
    work.distribution_stake = fixed("0.06");
    work.reputation_reward_factor = int(50);
    work.reward_threshold = fixed("0.3");
    work.token_reward_factor = int(20);
    community_with(create)
}

pub fn community_with(create: CreateDc) -> State {
    let mut state = State::new();
    let founder = create.founders[0].agent.clone();
    state.apply(&founder, &Operation::CreateDc(create)).unwrap();
    state
}

pub fn contribute(
    state: &mut State,
    who: &str,
    id: &str,
    kind: &str,
) -> Result<Receipt, ProtocolError> {
    state.apply(
        &agent(who),
        &Operation::Contribute {
            dc: dc_id("coop"),
            id: ContributionId::new(id).unwrap(),
            kind: TypeName::new(kind).unwrap(),
            title: format!("{id} by {who}"),
        },
    )
}

pub fn evaluate(
    state: &mut State,
    who: &str,
    id: &str,
    value: u64,
) -> Result<Receipt, ProtocolError> {
    state.apply(
        &agent(who),
        &Operation::Evaluate {
            dc: dc_id("coop"),
            contribution: ContributionId::new(id).unwrap(),
            value: int(value),
        },
    )
}

pub fn reputation(state: &State, who: &str) -> Fixed {
    state
        .dc(&dc_id("coop"))
        .unwrap()
        .member(&agent(who))
        .unwrap()
        .reputation
}

pub fn tokens(state: &State, who: &str) -> Fixed {
    state
        .dc(&dc_id("coop"))
        .unwrap()
        .member(&agent(who))
        .unwrap()
        .tokens
}

pub use stigmer_protocol::workload::Rng;
