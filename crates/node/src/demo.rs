//! `stigmer demo`: a node seeded with a living community, as in the seed's
//! field trial: a cooperative organizing a festival. Thirty members found it;
//! they contribute (stage building, sound, cooking, childcare...), evaluate
//! each other's work on a 0-5 scale, thank the care work that is never
//! scored, and trade tokens. Activity goes through signed transactions and
//! consensus like anyone's.
//!
//! The members' keys come from fixed seeds: this is a demo, not a place for
//! real value.

use std::collections::BTreeMap;
use std::time::Duration;

use stigmer_ledger::tx::Keypair;
use stigmer_protocol::workload::Rng;
use stigmer_protocol::{ContributionType, Fixed, Operation, RuleSet};

use crate::genesis::{Genesis, GenesisDc};
use crate::json::{Decimal, FounderJson, OperationJson, ParamsJson, TypeJson};
use crate::ledger::{Shared, lock};

pub const DEMO_DC: &str = "festival";
pub const DEMO_MEMBERS: u32 = 30;
/// Contributions the demo makes before it slows down to a trickle.
pub const DEMO_CONTRIBUTIONS: u32 = 100;

const NAMES: [&str; 30] = [
    "ana", "bea", "caro", "dani", "eli", "fran", "gus", "hana", "ines", "joan", "kai", "lia",
    "marc", "nora", "oriol", "pau", "quim", "rosa", "sam", "teo", "uma", "vera", "wen", "xavi",
    "yara", "zoe", "abril", "bruno", "clara", "dario",
];

const WORK: [(&str, &str); 12] = [
    ("stage", "Built the main stage"),
    ("stage", "Fixed the lighting rig"),
    ("sound", "Ran the sound desk on Saturday"),
    ("sound", "Lent and set up the speakers"),
    ("design", "Designed the poster"),
    ("design", "Made the site map"),
    ("logistics", "Drove the van to collect the tents"),
    ("logistics", "Organized the volunteer shifts"),
    ("design", "Wrote the programme booklet"),
    ("stage", "Painted the backdrop"),
    ("logistics", "Sorted the recycling"),
    ("sound", "Recorded the concerts"),
];

const CARE: [&str; 5] = [
    "Cooked lunch for the crew",
    "Looked after the children's corner",
    "Welcomed the newcomers",
    "Listened to a volunteer having a hard day",
    "Brought tea to the night shift",
];

/// The demo member with index `n`.
pub fn member_key(n: u32) -> Keypair {
    let seed = blake3::hash(format!("stigmer demo member {n}").as_bytes());
    Keypair::from_seed(*seed.as_bytes())
}

pub fn member_name(n: u32) -> &'static str {
    NAMES[(n as usize) % NAMES.len()]
}

/// The demo genesis: the festival DC and its founders.
pub fn genesis(chain_id: &str, validators: Vec<String>, timestamp_ms: u64) -> Genesis {
    let scored = |set: &[u64]| TypeJson {
        evaluation_set: set.iter().map(|&v| Decimal(Fixed::from_int(v))).collect(),
        ..TypeJson::from(&ContributionType::default())
    };
    let mut types = BTreeMap::new();
    for name in ["stage", "sound", "design", "logistics"] {
        types.insert(name.to_string(), scored(&[0, 1, 2, 3, 4, 5]));
    }
    types.insert(
        "care".to_string(),
        TypeJson::from(&ContributionType::thanks_only()),
    );
    let mut rng = Rng::new(2016);
    let founders = (0..DEMO_MEMBERS)
        .map(|n| FounderJson {
            agent: member_key(n).agent().to_string(),
            reputation: Decimal(Fixed::from_int(5 + rng.below(26))),
            tokens: Decimal(Fixed::from_int(20)),
            referrer: None,
        })
        .collect();
    let dc = OperationJson::CreateDc {
        id: DEMO_DC.to_string(),
        name: "Summer festival cooperative".to_string(),
        token_symbol: "FEST".to_string(),
        params: ParamsJson {
            rules: RuleSet::Backfeed.name().to_string(),
            reward_evaluators_with_tokens: true,
            initial_tokens: Decimal(Fixed::from_int(5)),
            ..ParamsJson::default()
        },
        types,
        founders,
    };
    Genesis {
        chain_id: chain_id.to_string(),
        timestamp_ms,
        validators,
        dcs: vec![GenesisDc {
            steward: member_key(0).agent().to_string(),
            dc,
        }],
    }
}

/// Keeps the community alive: submits activity through the node's pool.
/// Fast at first (to build a history), then a few actions every seconds.
pub async fn activity(ledger: Shared) {
    let mut rng = Rng::new(1848);
    let mut contributions: Vec<(String, u32, bool)> = Vec::new();
    let mut evaluated: std::collections::BTreeSet<(u32, usize)> = Default::default();
    let mut n_actions: u64 = 0;
    // Restarted demos continue where they stopped.
    {
        let ledger = lock(&ledger);
        if let Some(dc) = ledger
            .chain()
            .state
            .dc(&DEMO_DC.parse().expect("a valid id"))
        {
            for c in dc.contributions() {
                let thanks_only = dc.types.get(&c.kind).is_some_and(|t| t.thanks_only);
                contributions.push((c.id.to_string(), c.contributor, thanks_only));
            }
        }
    }
    loop {
        let burst = contributions.len() < DEMO_CONTRIBUTIONS as usize;
        let actions = if burst { 12 } else { 2 };
        for _ in 0..actions {
            let member = rng.below(u64::from(DEMO_MEMBERS)) as u32;
            let key = member_key(member);
            let mut ledger = lock(&ledger);
            // Only act on contributions already on the ledger: one still in
            // the pool may land after the action in the same block.
            let on_ledger = |id: &str| {
                let chain = ledger.chain();
                let dc = chain.state.dc(&DEMO_DC.parse().expect("a valid id"));
                let id = id.parse().ok();
                dc.zip(id)
                    .is_some_and(|(dc, id)| dc.contribution(&id).is_some())
            };
            let operation = next_action(
                &mut rng,
                member,
                &mut contributions,
                &mut evaluated,
                on_ledger,
            );
            // After its finalized, speculative and pending ones: a
            // transaction a proposal left out as refused frees its nonce.
            let nonce = ledger.next_nonce(&key.agent());
            let tx = key.sign(&ledger.chain().chain_id, nonce, operation);
            let submitted = tx
                .verified()
                .map_err(crate::NodeError::from)
                .and_then(|tx| ledger.submit(tx, crate::ledger::now_ms()));
            if submitted.is_ok() {
                n_actions += 1;
            }
        }
        let pause = if burst { 250 } else { 3_000 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
        if n_actions.is_multiple_of(500) {
            tracing::debug!(n_actions, "demo activity");
        }
    }
}

fn next_action(
    rng: &mut Rng,
    member: u32,
    contributions: &mut Vec<(String, u32, bool)>,
    evaluated: &mut std::collections::BTreeSet<(u32, usize)>,
    on_ledger: impl Fn(&str) -> bool,
) -> Operation {
    let dc = DEMO_DC.parse().expect("a valid id");
    let roll = rng.below(100);
    // About one action in twenty is a new contribution, so that each gets
    // enough evaluations to pass the threshold and be rewarded.
    if contributions.is_empty() || roll < 5 {
        let n = contributions.len();
        let (kind, title, thanks_only) = if rng.below(5) == 0 {
            ("care", CARE[n % CARE.len()], true)
        } else {
            let (kind, title) = WORK[n % WORK.len()];
            (kind, title, false)
        };
        let id = format!("{kind}-{n}");
        contributions.push((id.clone(), member, thanks_only));
        return Operation::Contribute {
            dc,
            id: id.parse().expect("a valid id"),
            kind: kind.parse().expect("a valid name"),
            title: title.to_string(),
        };
    }
    // Recent contributions get most of the attention.
    // People look for work they have not valued yet.
    let window = contributions.len().min(8) as u64;
    let mut pick = contributions.len() - 1 - rng.below(window) as usize;
    for _ in 0..3 {
        if !evaluated.contains(&(member, pick)) {
            break;
        }
        pick = contributions.len() - 1 - rng.below(window) as usize;
    }
    let (id, author, thanks_only) = contributions[pick].clone();
    if !on_ledger(&id) {
        return Operation::Transfer {
            dc,
            to: member_key((member + 1) % DEMO_MEMBERS).agent(),
            amount: Fixed::from_int(1),
            asset: stigmer_protocol::Asset::Tokens,
        };
    }
    let contribution = id.parse().expect("a valid id");
    // One's own work is for the others to thank and value.
    if author == member {
        return Operation::Transfer {
            dc,
            to: member_key((member + 1) % DEMO_MEMBERS).agent(),
            amount: Fixed::from_int(1),
            asset: stigmer_protocol::Asset::Tokens,
        };
    }
    if thanks_only || roll > 96 {
        return Operation::Thank { dc, contribution };
    }
    evaluated.insert((member, pick));
    // Most work is appreciated; some people are harder to please.
    let value = match rng.below(10) {
        0 => 0,
        1 | 2 => 2,
        3..=5 => 3,
        6 | 7 => 4,
        _ => 5,
    };
    Operation::Evaluate {
        dc,
        contribution,
        value: Fixed::from_int(value),
    }
}

/// Starts [`activity`] on the node's runtime.
pub fn spawn_activity(ledger: Shared) {
    tokio::spawn(activity(ledger));
}
