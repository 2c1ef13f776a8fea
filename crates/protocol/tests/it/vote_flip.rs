//! The vote-flip attack (`PROTOCOL.md`): colluders flip their evaluations
//! 1 -> 0 -> 1 to re-run the rules. Under `backfeed-classic` they gain
//! relative reputation, as the reference's own `test_vote_changing_attack`
//! asserts; under `backfeed` they must gain nothing.

use stigmer_protocol::{AgentId, Fixed, RuleSet, State};

use crate::common::*;

/// The colluders' share of the DC's reputation.
fn share(state: &State, colluders: &[String]) -> Fixed {
    let dc = state.dc(&dc_id("coop")).unwrap();
    let held = colluders
        .iter()
        .map(|name| dc.member(&AgentId::new(name).unwrap()).unwrap().reputation)
        .fold(Fixed::ZERO, |total, r| total.checked_add(r).unwrap());
    held.checked_div(dc.total_reputation).unwrap()
}

/// Ten members of 10 reputation; nine up-vote m9's contribution, then the
/// colluders m0, m1 and m2 flip down together and up together, three times.
/// (The reference's own `test_vote_changing_score_attack2`, where the
/// contributor colludes with one friend, does not pay in the reference
/// either: the contributor's large reputation dilutes the gain.)
fn small_attack(rules: RuleSet) -> (Fixed, Fixed) {
    let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let founders: Vec<(&str, u64, u64)> = names.iter().map(|n| (n.as_str(), 10, 10)).collect();
    let mut state = dmag_community(rules, &founders);
    contribute(&mut state, "m9", "c0", "work").unwrap();
    for voter in &names[..9] {
        evaluate(&mut state, voter, "c0", 1).unwrap();
    }
    let colluders = names[..3].to_vec();
    let before = share(&state, &colluders);
    for _ in 0..3 {
        for value in [0, 1] {
            for colluder in &colluders {
                evaluate(&mut state, colluder, "c0", value).unwrap();
            }
        }
    }
    (before, share(&state, &colluders))
}

#[test]
fn flipping_pays_under_classic_rules_only() {
    let (before, after) = small_attack(RuleSet::BackfeedClassic);
    eprintln!("backfeed-classic: colluders' share {before} -> {after}");
    assert!(after > before, "the reference's weakness should reproduce");

    let (before, after) = small_attack(RuleSet::Backfeed);
    eprintln!("backfeed: colluders' share {before} -> {after}");
    assert!(after <= before, "flipping must not pay under backfeed");
}

/// A larger community over several seeds: three colluders contribute and
/// up-vote each other's work, honest members evaluate it, then the colluders
/// either stop (control) or flip each of their votes `rounds` times. Returns the colluders' final share in the
/// control run and in the attack run.
fn simulate(rules: RuleSet, seed: u64, rounds: u32) -> (Fixed, Fixed) {
    let run = |attack: bool| {
        let mut rng = Rng::new(seed);
        let names: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        let founders: Vec<(&str, u64, u64)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                (
                    name.as_str(),
                    if i < 3 { 10 } else { 5 + rng.below(46) },
                    20,
                )
            })
            .collect();
        let mut state = dmag_community(rules, &founders);
        let colluders: Vec<String> = names[..3].to_vec();
        for c in 0..5 {
            let id = format!("c{c}");
            let author = &names[3 + rng.below(27) as usize];
            contribute(&mut state, author, &id, "work").unwrap();
            // Colluders vote first, as early (high-stake, high-reward) voters.
            for colluder in &colluders {
                evaluate(&mut state, colluder, &id, 1).unwrap();
            }
            for name in &names[3..] {
                // A contribution everyone likes: the target of the attack
                // (everyone but its author, who may not evaluate it).
                let likes = rng.below(10) < 9;
                if likes && name != author {
                    evaluate(&mut state, name, &id, 1).unwrap();
                }
            }
            if attack {
                // All down, then all up: each later flipper's stake is
                // redistributed among the few colluders already there.
                for _ in 0..rounds {
                    for value in [0, 1] {
                        for colluder in &colluders {
                            evaluate(&mut state, colluder, &id, value).unwrap();
                        }
                    }
                }
            }
        }
        share(&state, &colluders)
    };
    (run(false), run(true))
}

#[test]
fn flipping_never_pays_under_backfeed() {
    let mut classic_gains = 0;
    for seed in 1..=20 {
        let (control, attack) = simulate(RuleSet::BackfeedClassic, seed, 3);
        if attack > control {
            classic_gains += 1;
        }
        let (control, attack) = simulate(RuleSet::Backfeed, seed, 3);
        assert!(
            attack <= control,
            "seed {seed}: colluders gained under backfeed: {control} -> {attack}"
        );
        if seed == 1 {
            eprintln!(
                "seed 1, backfeed: colluders' share {control} without flipping, {attack} with"
            );
            let (control, attack) = simulate(RuleSet::BackfeedClassic, seed, 3);
            eprintln!("seed 1, backfeed-classic: colluders' share {control} without flipping, {attack} with");
        }
    }
    eprintln!("backfeed-classic: flipping paid in {classic_gains} of 20 seeds");
    assert_eq!(
        classic_gains, 20,
        "under classic rules flipping should pay every time"
    );
}
