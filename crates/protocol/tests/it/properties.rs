//! Invariants over random operation sequences: no panic, refused operations
//! change nothing, reputation never negative, tokens created only by the
//! issuance rules and moved only by fees and transfers, logs that replay to
//! the balances, determinism.

use std::collections::BTreeMap;

use proptest::prelude::*;
use stigmer_protocol::{
    AgentId, Asset, ContributionId, ContributionType, CreateDc, DcParams, Event, Fixed, Founder,
    Logs, MemberStatus, Operation, RuleSet, State, TypeName,
};

use crate::common::{agent, dc_id, fixed};

const AGENTS: [&str; 6] = ["ann", "bo", "cy", "di", "ed", "fay"];
const DCS: [&str; 2] = ["classic", "modern"];
const CONTRIBUTIONS: [&str; 4] = ["c0", "c1", "c2", "c3"];
const TYPES: [&str; 3] = ["work", "care", "unknown"];

/// An operation in terms of indices into the pools above.
#[derive(Clone, Debug)]
enum Action {
    Join {
        dc: usize,
        agent: usize,
        referrer: Option<usize>,
    },
    Leave {
        dc: usize,
        agent: usize,
    },
    Contribute {
        dc: usize,
        agent: usize,
        id: usize,
        kind: usize,
    },
    Evaluate {
        dc: usize,
        agent: usize,
        id: usize,
        value: u64,
    },
    Thank {
        dc: usize,
        agent: usize,
        id: usize,
    },
    Transfer {
        dc: usize,
        agent: usize,
        to: usize,
        amount_milli: u64,
        reputation: bool,
    },
    AsDc {
        signer: usize,
        dc: usize,
        inner: Box<Action>,
    },
}

fn leaf_action() -> impl Strategy<Value = Action> {
    let dc = 0..DCS.len();
    let who = 0..AGENTS.len();
    let id = 0..CONTRIBUTIONS.len();
    prop_oneof![
        1 => (dc.clone(), who.clone(), proptest::option::of(0..AGENTS.len()))
            .prop_map(|(dc, agent, referrer)| Action::Join { dc, agent, referrer }),
        1 => (dc.clone(), 2..AGENTS.len()).prop_map(|(dc, agent)| Action::Leave { dc, agent }),
        3 => (dc.clone(), who.clone(), id.clone(), prop::sample::select(vec![0usize, 0, 0, 1, 2]))
            .prop_map(|(dc, agent, id, kind)| Action::Contribute { dc, agent, id, kind }),
        8 => (dc.clone(), who.clone(), id.clone(), prop::sample::select(vec![0u64, 1, 1, 2, 3, 5, 7]))
            .prop_map(|(dc, agent, id, value)| Action::Evaluate { dc, agent, id, value }),
        1 => (dc.clone(), who.clone(), id).prop_map(|(dc, agent, id)| Action::Thank { dc, agent, id }),
        1 => (dc, who.clone(), who, 0u64..20_000, prop::bool::weighted(0.1)).prop_map(
            |(dc, agent, to, amount_milli, reputation)| Action::Transfer {
                dc,
                agent,
                to,
                amount_milli,
                reputation
            }
        ),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        9 => leaf_action(),
        1 => (0..AGENTS.len(), 0..DCS.len(), leaf_action())
            .prop_map(|(signer, dc, inner)| Action::AsDc { signer, dc, inner: Box::new(inner) }),
    ]
}

fn milli(n: u64) -> Fixed {
    Fixed::from_raw(n as u128 * (Fixed::SCALE / 1000))
}

/// Returns the signer and the operation.
fn operation(action: &Action) -> (AgentId, Operation) {
    match action {
        Action::Join {
            dc,
            agent: who,
            referrer,
        } => (
            agent(AGENTS[*who]),
            Operation::Join {
                dc: dc_id(DCS[*dc]),
                referrer: referrer.map(|r| agent(AGENTS[r])),
            },
        ),
        Action::Leave { dc, agent: who } => (
            agent(AGENTS[*who]),
            Operation::Leave {
                dc: dc_id(DCS[*dc]),
            },
        ),
        Action::Contribute {
            dc,
            agent: who,
            id,
            kind,
        } => (
            agent(AGENTS[*who]),
            Operation::Contribute {
                dc: dc_id(DCS[*dc]),
                id: ContributionId::new(CONTRIBUTIONS[*id]).unwrap(),
                kind: TypeName::new(TYPES[*kind]).unwrap(),
                title: String::new(),
            },
        ),
        Action::Evaluate {
            dc,
            agent: who,
            id,
            value,
        } => (
            agent(AGENTS[*who]),
            Operation::Evaluate {
                dc: dc_id(DCS[*dc]),
                contribution: ContributionId::new(CONTRIBUTIONS[*id]).unwrap(),
                value: Fixed::from_int(*value),
            },
        ),
        Action::Thank { dc, agent: who, id } => (
            agent(AGENTS[*who]),
            Operation::Thank {
                dc: dc_id(DCS[*dc]),
                contribution: ContributionId::new(CONTRIBUTIONS[*id]).unwrap(),
            },
        ),
        Action::Transfer {
            dc,
            agent: who,
            to,
            amount_milli,
            reputation,
        } => (
            agent(AGENTS[*who]),
            Operation::Transfer {
                dc: dc_id(DCS[*dc]),
                to: agent(AGENTS[*to]),
                amount: milli(*amount_milli),
                asset: if *reputation {
                    Asset::Reputation
                } else {
                    Asset::Tokens
                },
            },
        ),
        Action::AsDc { signer, dc, inner } => {
            let (_, inner) = operation(inner);
            (
                agent(AGENTS[*signer]),
                Operation::AsDc {
                    dc: dc_id(DCS[*dc]),
                    operation: Box::new(inner),
                },
            )
        }
    }
}

#[derive(Clone, Debug)]
struct Genesis {
    beta: &'static str,
    reward_evaluators_with_tokens: bool,
    initial_tokens_milli: u64,
    /// (reputation, tokens) in thousandths, for the first founders.
    founders: Vec<(u64, u64)>,
}

fn genesis() -> impl Strategy<Value = Genesis> {
    (
        prop::sample::select(vec!["0.3", "0.5", "0.6", "1", "1.5", "0"]),
        any::<bool>(),
        0u64..3_000,
        prop::collection::vec((0u64..100_000, 0u64..20_000), 3..7),
    )
        .prop_map(
            |(beta, reward_evaluators_with_tokens, initial_tokens_milli, founders)| Genesis {
                beta,
                reward_evaluators_with_tokens,
                initial_tokens_milli,
                founders,
            },
        )
}

fn genesis_state(genesis: &Genesis) -> (State, Logs) {
    let mut state = State::new();
    let mut logs = Logs::default();
    for (dc, rules, set) in [
        ("classic", RuleSet::BackfeedClassic, vec![0u64, 1]),
        ("modern", RuleSet::Backfeed, vec![0u64, 1, 2, 3]),
    ] {
        let work = ContributionType {
            evaluation_set: set.into_iter().map(Fixed::from_int).collect(),
            ..ContributionType::default()
        };
        let create = CreateDc {
            id: dc_id(dc),
            name: dc.to_string(),
            token_symbol: "T".to_string(),
            params: DcParams {
                rules,
                beta: fixed(genesis.beta),
                reward_evaluators_with_tokens: genesis.reward_evaluators_with_tokens,
                initial_tokens: milli(genesis.initial_tokens_milli),
                ..DcParams::default()
            },
            types: BTreeMap::from([
                (TypeName::new("work").unwrap(), work),
                (
                    TypeName::new("care").unwrap(),
                    ContributionType::thanks_only(),
                ),
            ]),
            founders: genesis
                .founders
                .iter()
                .enumerate()
                .map(|(index, &(reputation, tokens))| Founder {
                    agent: agent(AGENTS[index]),
                    reputation: milli(reputation),
                    tokens: milli(tokens),
                    referrer: (index > 0).then(|| agent(AGENTS[index - 1])),
                })
                .collect(),
        };
        logs.record(
            &state
                .apply(&agent("ann"), &Operation::CreateDc(create))
                .unwrap(),
        );
    }
    (state, logs)
}

fn sum(values: impl Iterator<Item = Fixed>) -> Fixed {
    values.fold(Fixed::ZERO, |total, value| {
        total.checked_add(value).unwrap()
    })
}

/// Checks every invariant of every DC; `logs` holds the entries of every
/// receipt so far.
fn check_invariants(state: &State, logs: &Logs) {
    for dc in state.dcs() {
        let held = sum(dc.members().iter().map(|m| m.tokens));
        assert_eq!(
            held.checked_add(dc.treasury).unwrap(),
            dc.token_supply,
            "tokens conserved in {}",
            dc.id
        );
        let active = sum(dc
            .members()
            .iter()
            .filter(|m| m.is_active())
            .map(|m| m.reputation));
        assert_eq!(active, dc.total_reputation, "total reputation of {}", dc.id);
        let fees = sum(dc.contributions().iter().map(|c| c.fee));
        assert_eq!(
            fees, dc.treasury,
            "the treasury holds the fees of {}",
            dc.id
        );
        for (index, member) in (0..).zip(dc.members()) {
            // Replaying the log (the entries receipts handed out) from zero
            // yields the balances, without ever going below zero.
            let (mut reputation, mut tokens) = (Fixed::ZERO, Fixed::ZERO);
            for entry in logs.of(&dc.id, index) {
                let change = entry.event.change();
                reputation = reputation.checked_add(change.reputation_gained).unwrap();
                reputation = reputation
                    .checked_sub(change.reputation_lost)
                    .expect("reputation went negative");
                tokens = tokens.checked_add(change.tokens_gained).unwrap();
                tokens = tokens
                    .checked_sub(change.tokens_lost)
                    .expect("tokens went negative");
            }
            assert_eq!(
                (reputation, tokens),
                (member.reputation, member.tokens),
                "log of {}",
                member.agent
            );
            if member.status == MemberStatus::Holder {
                assert_eq!(member.reputation, Fixed::ZERO);
            }
        }
        for contribution in dc.contributions() {
            let mut current = std::collections::BTreeSet::new();
            for evaluation in contribution.evaluations.iter().filter(|e| !e.superseded) {
                assert!(
                    current.insert(evaluation.evaluator),
                    "two current evaluations by one member"
                );
            }
            // Under `backfeed` a contribution is for the others to value
            // (random actions pick the contributor one time in six).
            if dc.params.rules == RuleSet::Backfeed {
                assert!(
                    contribution
                        .evaluations
                        .iter()
                        .all(|e| e.evaluator != contribution.contributor),
                    "a contributor evaluated its own contribution"
                );
            }
        }
    }
}

/// Tokens minted in each DC by operation `op`, read from the logs.
fn minted_by(state: &State, logs: &Logs, op: u64) -> BTreeMap<String, Fixed> {
    state
        .dcs()
        .map(|dc| {
            let minted = (0..dc.members().len() as u32)
                .flat_map(|member| logs.of(&dc.id, member))
                .filter(|entry| entry.op == op)
                .map(|entry| entry.event.tokens_minted());
            (dc.id.to_string(), sum(minted))
        })
        .collect()
}

fn tokens_in_existence(state: &State) -> BTreeMap<String, Fixed> {
    state
        .dcs()
        .map(|dc| {
            let held = sum(dc.members().iter().map(|m| m.tokens));
            (dc.id.to_string(), held.checked_add(dc.treasury).unwrap())
        })
        .collect()
}

/// The receipt names every member and contribution that changed, in the
/// one DC that changed.
fn check_touched(before: &State, after: &State, receipt: &stigmer_protocol::Receipt) {
    for dc in after.dcs() {
        let old = before.dc(&dc.id);
        if old == Some(dc) {
            continue;
        }
        assert_eq!(dc.id, receipt.dc, "a DC the receipt does not name changed");
        for (index, member) in dc.members().iter().enumerate() {
            let unchanged = old.and_then(|old| old.members().get(index)) == Some(member);
            if !unchanged {
                assert!(
                    receipt.touched.members.contains(&(index as u32)),
                    "member {} changed untold",
                    member.agent
                );
            }
        }
        for (index, contribution) in dc.contributions().iter().enumerate() {
            let unchanged =
                old.and_then(|old| old.contributions().get(index)) == Some(contribution);
            if !unchanged {
                assert!(
                    receipt.touched.contributions.contains(&(index as u32)),
                    "contribution {} changed untold",
                    contribution.id
                );
            }
        }
    }
}

fn run(genesis: &Genesis, actions: &[Action]) -> (State, Logs) {
    let (mut state, mut logs) = genesis_state(genesis);
    check_invariants(&state, &logs);
    for action in actions {
        let (signer, operation) = operation(action);
        let before = state.clone();
        // A check says what applying would say, and changes nothing.
        let checked = state.check(&signer, &operation);
        assert_eq!(state, before, "a check changed the state");
        let applied = state.apply(&signer, &operation);
        assert_eq!(
            checked.as_ref().err(),
            applied.as_ref().err(),
            "check and apply disagree on {operation:?}"
        );
        match applied {
            Err(error) => {
                assert_eq!(state, before, "refused ({error}) but changed the state");
                assert!(!error.to_string().is_empty());
            }
            Ok(receipt) => {
                // Entries name their operation and accounts that exist.
                for (member, entry) in &receipt.log {
                    assert_eq!(entry.op, receipt.op);
                    assert!(receipt.touched.members.contains(member));
                }
                logs.record(&receipt);
                check_invariants(&state, &logs);
                check_touched(&before, &state, &receipt);
                let minted = minted_by(&state, &logs, receipt.op);
                let (old, new) = (tokens_in_existence(&before), tokens_in_existence(&state));
                for (dc, new_total) in &new {
                    let expected = old[dc].checked_add(minted[dc]).unwrap();
                    assert_eq!(
                        *new_total, expected,
                        "tokens in {dc} changed by more than was minted"
                    );
                }
                if let Operation::Evaluate { .. } = operation {
                    assert!(minted.values().all(|m| *m <= Fixed::from_int(1_000)));
                }
            }
        }
    }
    (state, logs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(
        genesis in genesis(),
        actions in prop::collection::vec(action(), 1..150),
    ) {
        let state = run(&genesis, &actions);
        // Determinism: the same operations give the same state and logs.
        prop_assert_eq!(state, run(&genesis, &actions));
    }
}

#[test]
fn evaluations_are_logged_with_their_cause() {
    // A fixed sequence, to make sure the random ones exercise evaluations.
    let genesis = Genesis {
        beta: "0.5",
        reward_evaluators_with_tokens: true,
        initial_tokens_milli: 2_000,
        founders: vec![(10_000, 5_000), (20_000, 5_000), (30_000, 5_000)],
    };
    let actions = [
        Action::Contribute {
            dc: 0,
            agent: 0,
            id: 0,
            kind: 0,
        },
        Action::Evaluate {
            dc: 0,
            agent: 1,
            id: 0,
            value: 1,
        },
        Action::Evaluate {
            dc: 0,
            agent: 2,
            id: 0,
            value: 1,
        },
        Action::Evaluate {
            dc: 0,
            agent: 1,
            id: 0,
            value: 0,
        },
    ];
    let (state, logs) = run(&genesis, &actions);
    let bo = logs.of_agent(&state, &dc_id("classic"), &agent("bo"));
    assert!(bo
        .iter()
        .any(|e| matches!(e.event, Event::Redistribution { .. })));
    assert!(bo
        .iter()
        .any(|e| matches!(e.event, Event::EvaluatorReward { .. })));
}
