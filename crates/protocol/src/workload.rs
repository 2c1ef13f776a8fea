//! Deterministic synthetic communities, for benchmarks and simulations.
//!
//! Seeded: the same seed builds the same community and the same stream of
//! operations on every machine, so figures measured on them can be compared.

use std::collections::BTreeMap;

use crate::op::{CreateDc, Founder, Operation};
use crate::params::{ContributionType, DcParams, RuleSet};
use crate::scenario::{Scenario, Step};
use crate::{AgentId, ContributionId, DcId, Fixed, State, TypeName};

/// A small, fast generator (splitmix64). Not for anything secret.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

pub const WORKLOAD_DC: &str = "workload";

/// A DC with `n_members` founders of random reputation (1 to 100, with
/// decimals) and tokens, and `n_contributions` contributions of type `work`.
pub fn large_dc(rules: RuleSet, n_members: u32, n_contributions: u32, seed: u64) -> State {
    let mut rng = Rng::new(seed);
    let dc = DcId::new(WORKLOAD_DC).expect("a valid DC id");
    let founders = (0..n_members)
        .map(|index| Founder {
            agent: member(index),
            reputation: Fixed::from_raw(
                u128::from(1_000 + rng.below(99_000)) * (Fixed::SCALE / 1_000),
            ),
            tokens: Fixed::from_int(100),
            referrer: None,
        })
        .collect::<Vec<_>>();
    let mut state = State::new();
    let steward = member(0);
    // Founders are bounded per operation; admit the rest one by one.
    let (first, rest) = founders.split_at(founders.len().min(crate::limits::FOUNDERS_MAX as usize));
    let create = CreateDc {
        id: dc.clone(),
        name: "A large cooperative".to_string(),
        token_symbol: "WORK".to_string(),
        params: DcParams {
            rules,
            ..DcParams::default()
        },
        types: BTreeMap::from([(
            TypeName::new("work").expect("a valid name"),
            ContributionType::default(),
        )]),
        founders: first.to_vec(),
    };
    state
        .apply(&steward, &Operation::CreateDc(create))
        .expect("the workload DC is valid");
    for founder in rest {
        state
            .admit(
                &dc,
                &founder.agent,
                founder.reputation,
                founder.tokens,
                None,
            )
            .expect("workload members are distinct");
    }
    for index in 0..n_contributions {
        let author = member(author_of(index, n_members));
        let contribute = Operation::Contribute {
            dc: dc.clone(),
            id: contribution(index),
            kind: TypeName::new("work").expect("a valid name"),
            title: String::new(),
        };
        state
            .apply(&author, &contribute)
            .expect("authors hold tokens for the fee");
    }
    state
}

/// The member who made contribution `index` of [`large_dc`].
pub fn author_of(index: u32, n_members: u32) -> u32 {
    index % n_members.max(1)
}

/// `n` evaluations by random members of random contributions of
/// [`large_dc`], mostly up-votes, never by the contribution's author (who
/// may not evaluate it under `backfeed` rules). Members may evaluate a
/// contribution more than once; under `backfeed` rules a repeated value is
/// refused, which costs as much to find out as most of the work.
pub fn evaluations(
    n_members: u32,
    n_contributions: u32,
    n: u32,
    seed: u64,
) -> Vec<(AgentId, Operation)> {
    let mut rng = Rng::new(seed ^ 0xE7A1);
    let dc = DcId::new(WORKLOAD_DC).expect("a valid DC id");
    (0..n)
        .map(|_| {
            let mut evaluator = rng.below(u64::from(n_members)) as u32;
            let target = rng.below(u64::from(n_contributions)) as u32;
            if evaluator == author_of(target, n_members) {
                evaluator = (evaluator + 1) % n_members;
            }
            let evaluator = member(evaluator);
            let operation = Operation::Evaluate {
                dc: dc.clone(),
                contribution: contribution(target),
                value: if rng.below(10) < 8 {
                    Fixed::ONE
                } else {
                    Fixed::ZERO
                },
            };
            (evaluator, operation)
        })
        .collect()
}

/// The reference-sized scenario: `n_agents` agents of the reference's
/// default allocation (20 reputation, 50 tokens) join, `n_contributions`
/// contributions, then `n_evaluations` random evaluations, under
/// `backfeed-classic` with the reference's default parameters.
pub fn reference_sized(
    n_agents: u32,
    n_contributions: u32,
    n_evaluations: u32,
    seed: u64,
) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut steps = Vec::new();
    for index in 0..n_agents {
        steps.push(Step::Join {
            agent: member(index).to_string(),
            reputation: Ok(Fixed::from_int(20)),
            tokens: Ok(Fixed::from_int(50)),
            referrer: None,
        });
    }
    for index in 0..n_contributions {
        steps.push(Step::Contribute {
            agent: member(rng.below(u64::from(n_agents)) as u32).to_string(),
            id: contribution(index).to_string(),
            kind: Some("base".to_string()),
        });
    }
    for _ in 0..n_evaluations {
        steps.push(Step::Evaluate {
            agent: member(rng.below(u64::from(n_agents)) as u32).to_string(),
            contribution: contribution(rng.below(u64::from(n_contributions)) as u32).to_string(),
            value: Ok(if rng.below(10) < 7 {
                Fixed::ONE
            } else {
                Fixed::ZERO
            }),
        });
    }
    Scenario {
        name: "reference-sized".to_string(),
        params: DcParams {
            rules: RuleSet::BackfeedClassic,
            ..DcParams::default()
        },
        types: BTreeMap::from([(
            TypeName::new("base").expect("a valid name"),
            ContributionType::default(),
        )]),
        steps,
    }
}

fn member(index: u32) -> AgentId {
    AgentId::new(&format!("m{index}")).expect("a valid agent id")
}

fn contribution(index: u32) -> ContributionId {
    ContributionId::new(&format!("c{index}")).expect("a valid contribution id")
}
