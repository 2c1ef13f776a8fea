//! The rules of `PROTOCOL.md`, each on a small community whose figures can
//! be checked by hand.

use stigmer_protocol::{
    Asset, ContributionId, Event, Fixed, Logs, MemberStatus, Operation, ProtocolError, RuleSet,
    State,
};

use crate::common::*;

fn coop(state: &State) -> &stigmer_protocol::Dc {
    state.dc(&dc_id("coop")).unwrap()
}

fn contribution<'s>(state: &'s State, id: &str) -> &'s stigmer_protocol::Contribution {
    coop(state)
        .contribution(&ContributionId::new(id).unwrap())
        .unwrap()
}

/// Events of `who`'s account in the operations `logs` recorded.
fn count_events(logs: &Logs, state: &State, who: &str, matches: fn(&Event) -> bool) -> usize {
    logs.of_agent(state, &dc_id("coop"), &agent(who))
        .iter()
        .filter(|entry| matches(&entry.event))
        .count()
}

/// Applies an operation that must be refused with `expected`, and checks that
/// nothing changed.
fn refused(state: &mut State, who: &str, operation: Operation, expected: ProtocolError) {
    let before = state.clone();
    assert_eq!(state.apply(&agent(who), &operation), Err(expected));
    assert_eq!(*state, before, "a refused operation changed the state");
}

#[test]
fn median_issuance_pays_each_new_high_once() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1, 2, 3, 4, 5],
        &[("ann", 10, 10), ("bo", 10, 10), ("cy", 10, 10)],
    );
    contribute(&mut state, "ann", "w1", "work").unwrap();
    assert_eq!(tokens(&state, "ann"), int(9));

    // A third of the reputation says 5: the median (unengaged counts as 0) is 0.
    evaluate(&mut state, "bo", "w1", 5).unwrap();
    assert_eq!(tokens(&state, "ann"), int(9));
    assert_eq!(contribution(&state, "w1").score_max, Fixed::ZERO);

    // Two thirds rate it 4 or more: the median is 4, 4/5 of the factors are issued.
    evaluate(&mut state, "cy", "w1", 4).unwrap();
    assert_eq!(contribution(&state, "w1").snapshot_median(), int(4));
    assert_eq!(tokens(&state, "ann"), int(49));
    assert_eq!(contribution(&state, "w1").reputation_issued, int(4));

    // Cy raises its rating, the median rises to 5: only the rise is paid.
    evaluate(&mut state, "cy", "w1", 5).unwrap();
    let record = contribution(&state, "w1");
    assert_eq!(record.score_max, int(5));
    assert_eq!(record.tokens_issued, int(50));
    assert_eq!(record.reputation_issued, int(5));
    assert_eq!(tokens(&state, "ann"), int(59));

    // A lower vote never claws back what was issued.
    evaluate(&mut state, "bo", "w1", 0).unwrap();
    assert_eq!(tokens(&state, "ann"), int(59));
    assert_eq!(contribution(&state, "w1").tokens_issued, int(50));
}

trait SnapshotMedian {
    fn snapshot_median(&self) -> Fixed;
}

impl SnapshotMedian for stigmer_protocol::Contribution {
    fn snapshot_median(&self) -> Fixed {
        self.evaluations.last().unwrap().snapshot.median
    }
}

#[test]
fn half_of_the_reputation_is_not_enough() {
    for rules in [RuleSet::Backfeed, RuleSet::BackfeedClassic] {
        let mut state = community(
            rules,
            &[0, 1],
            &[("ann", 10, 10), ("bo", 10, 10), ("cy", 0, 10)],
        );
        contribute(&mut state, "cy", "w1", "work").unwrap();
        evaluate(&mut state, "bo", "w1", 1).unwrap();
        assert_eq!(tokens(&state, "cy"), int(9), "{rules}");
        evaluate(&mut state, "ann", "w1", 1).unwrap();
        // Under classic rules the unpaid half became the high-water mark, so
        // only the rise above it is paid (as in the reference).
        let expected = match rules {
            RuleSet::Backfeed => int(59),
            _ => int(34),
        };
        assert_eq!(tokens(&state, "cy"), expected, "{rules}");
    }
}

#[test]
fn revotes_under_backfeed_pay_the_stake_and_redistribute_nothing() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1],
        &[
            ("ann", 10, 10),
            ("bo", 10, 10),
            ("cy", 10, 10),
            ("di", 10, 10),
        ],
    );
    let mut logs = Logs::default();
    contribute(&mut state, "ann", "w1", "work").unwrap();
    logs.record(&evaluate(&mut state, "cy", "w1", 1).unwrap());
    logs.record(&evaluate(&mut state, "bo", "w1", 1).unwrap());
    let is_redistribution = |event: &Event| matches!(event, Event::Redistribution { .. });
    assert_eq!(count_events(&logs, &state, "cy", is_redistribution), 1);

    let again = Operation::Evaluate {
        dc: dc_id("coop"),
        contribution: ContributionId::new("w1").unwrap(),
        value: int(1),
    };
    refused(
        &mut state,
        "bo",
        again,
        ProtocolError::SameEvaluation { value: int(1) },
    );

    let bo_before = reputation(&state, "bo");
    logs.record(&evaluate(&mut state, "bo", "w1", 0).unwrap());
    logs.record(&evaluate(&mut state, "bo", "w1", 1).unwrap());
    assert!(
        reputation(&state, "bo") < bo_before,
        "each changed vote pays the stake"
    );
    assert_eq!(count_events(&logs, &state, "cy", is_redistribution), 1);

    // History keeps every evaluation; only the last one of bo is current.
    let record = contribution(&state, "w1");
    assert_eq!(record.evaluations.len(), 4);
    let superseded: Vec<bool> = record.evaluations.iter().map(|e| e.superseded).collect();
    assert_eq!(superseded, [false, true, true, false]);
}

#[test]
fn revotes_under_classic_rerun_the_rules() {
    let mut state = community(
        RuleSet::BackfeedClassic,
        &[0, 1],
        &[("ann", 10, 10), ("bo", 10, 10), ("cy", 10, 10)],
    );
    let mut logs = Logs::default();
    contribute(&mut state, "ann", "w1", "work").unwrap();
    for who in ["cy", "bo", "bo"] {
        logs.record(&evaluate(&mut state, who, "w1", 1).unwrap());
    }
    let is_redistribution = |event: &Event| matches!(event, Event::Redistribution { .. });
    assert_eq!(count_events(&logs, &state, "cy", is_redistribution), 2);
}

#[test]
fn classic_upvote_with_no_reputation_is_refused() {
    let mut state = community(RuleSet::BackfeedClassic, &[0, 1], &[("ann", 0, 10)]);
    contribute(&mut state, "ann", "w1", "work").unwrap();
    let upvote = Operation::Evaluate {
        dc: dc_id("coop"),
        contribution: ContributionId::new("w1").unwrap(),
        value: int(1),
    };
    refused(
        &mut state,
        "ann",
        upvote,
        ProtocolError::NoReputation { dc: dc_id("coop") },
    );
    evaluate(&mut state, "ann", "w1", 0).unwrap();
}

#[test]
fn evaluation_values_outside_the_set_are_refused() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1, 2],
        &[("ann", 10, 10), ("bo", 10, 10)],
    );
    contribute(&mut state, "ann", "w1", "work").unwrap();
    let operation = Operation::Evaluate {
        dc: dc_id("coop"),
        contribution: ContributionId::new("w1").unwrap(),
        value: fixed("1.5"),
    };
    let expected = ProtocolError::InvalidEvaluationValue {
        value: fixed("1.5"),
        allowed: "0, 1, 2".to_string(),
    };
    refused(&mut state, "bo", operation, expected);
}

#[test]
fn thanks_only_contributions_are_recorded_and_thanked_never_scored() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1],
        &[("ann", 10, 0), ("bo", 10, 10)],
    );
    // No fee: ann has no tokens and can still offer care.
    contribute(&mut state, "ann", "cooking", "care").unwrap();
    let evaluate_care = Operation::Evaluate {
        dc: dc_id("coop"),
        contribution: ContributionId::new("cooking").unwrap(),
        value: int(1),
    };
    let expected = ProtocolError::ThanksOnly {
        kind: "care".parse().unwrap(),
    };
    refused(&mut state, "bo", evaluate_care, expected);

    let thank = Operation::Thank {
        dc: dc_id("coop"),
        contribution: ContributionId::new("cooking").unwrap(),
    };
    let mut logs = Logs::default();
    logs.record(&state.apply(&agent("bo"), &thank).unwrap());
    refused(&mut state, "ann", thank, ProtocolError::ThankingOneself);
    let record = contribution(&state, "cooking");
    assert_eq!(record.thanks.len(), 1);
    assert_eq!(record.tokens_issued, Fixed::ZERO);
    assert_eq!(reputation(&state, "ann"), int(10));
    let thanked = |event: &Event| matches!(event, Event::ThanksReceived { .. });
    assert_eq!(count_events(&logs, &state, "ann", thanked), 1);
}

/// Ann holds three quarters of the reputation. Under the reference's rules
/// her own up-vote alone values her work and mints her tokens and
/// reputation, again with every contribution; under `backfeed` her own work
/// is for the others to value, as thanking it is.
#[test]
fn evaluating_ones_own_contribution_is_refused_under_backfeed_only() {
    for rules in [RuleSet::Backfeed, RuleSet::BackfeedClassic] {
        let mut state = community(rules, &[0, 1], &[("ann", 30, 10), ("bo", 10, 10)]);
        contribute(&mut state, "ann", "w1", "work").unwrap();
        let own = Operation::Evaluate {
            dc: dc_id("coop"),
            contribution: ContributionId::new("w1").unwrap(),
            value: int(1),
        };
        match rules {
            RuleSet::Backfeed => {
                refused(&mut state, "ann", own, ProtocolError::EvaluatingOneself);
                // A value of 0 is no better: it is still her own work.
                let zero = Operation::Evaluate {
                    dc: dc_id("coop"),
                    contribution: ContributionId::new("w1").unwrap(),
                    value: Fixed::ZERO,
                };
                refused(&mut state, "ann", zero, ProtocolError::EvaluatingOneself);
                // The others still value it.
                evaluate(&mut state, "bo", "w1", 1).unwrap();
                assert_eq!(contribution(&state, "w1").evaluations.len(), 1);
            }
            RuleSet::BackfeedClassic => {
                state.apply(&agent("ann"), &own).unwrap();
                assert_eq!(tokens(&state, "ann"), plus(int(9), fixed("37.5")));
            }
        }
    }
}

#[test]
fn leaving_keeps_the_record_but_it_counts_no_more() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1],
        &[("ann", 10, 10), ("bo", 30, 10), ("cy", 0, 10)],
    );
    let leave = Operation::Leave { dc: dc_id("coop") };
    state.apply(&agent("bo"), &leave).unwrap();
    let dc = coop(&state);
    assert_eq!(dc.total_reputation, int(10));
    assert_eq!(dc.member(&agent("bo")).unwrap().status, MemberStatus::Left);
    assert_eq!(reputation(&state, "bo"), int(30));

    contribute(&mut state, "cy", "w1", "work").unwrap();
    let upvote = Operation::Evaluate {
        dc: dc_id("coop"),
        contribution: ContributionId::new("w1").unwrap(),
        value: int(1),
    };
    let expected = ProtocolError::HasLeft {
        agent: agent("bo"),
        dc: dc_id("coop"),
    };
    refused(&mut state, "bo", upvote, expected);
    // With bo gone, ann alone is all the reputation that counts.
    evaluate(&mut state, "ann", "w1", 1).unwrap();
    assert_eq!(tokens(&state, "cy"), int(59));

    // Coming back restores the record without a new allocation.
    let join = Operation::Join {
        dc: dc_id("coop"),
        referrer: None,
    };
    state.apply(&agent("bo"), &join).unwrap();
    let expected = plus(
        plus(reputation(&state, "ann"), reputation(&state, "cy")),
        int(30),
    );
    assert_eq!(coop(&state).total_reputation, expected);
}

fn plus(a: Fixed, b: Fixed) -> Fixed {
    a.checked_add(b).unwrap()
}

#[test]
fn newcomers_join_with_the_dc_allocation_and_referrers_share_rewards() {
    let mut state = community(RuleSet::Backfeed, &[0, 1], &[("ann", 10, 10)]);
    let join = Operation::Join {
        dc: dc_id("coop"),
        referrer: Some(agent("ann")),
    };
    state.apply(&agent("bo"), &join).unwrap();
    assert_eq!(reputation(&state, "bo"), Fixed::ZERO);
    refused(
        &mut state,
        "bo",
        join.clone(),
        ProtocolError::AlreadyMember {
            agent: agent("bo"),
            dc: dc_id("coop"),
        },
    );
    let unknown_referrer = Operation::Join {
        dc: dc_id("coop"),
        referrer: Some(agent("zed")),
    };
    refused(
        &mut state,
        "cy",
        unknown_referrer,
        ProtocolError::UnknownReferrer {
            referrer: agent("zed"),
            dc: dc_id("coop"),
        },
    );

    // bo has no tokens for the fee until ann gives some.
    assert!(matches!(
        contribute(&mut state, "bo", "w1", "work"),
        Err(ProtocolError::InsufficientTokens { .. })
    ));
    let gift = Operation::Transfer {
        dc: dc_id("coop"),
        to: agent("bo"),
        amount: int(2),
        asset: Asset::Tokens,
    };
    state.apply(&agent("ann"), &gift).unwrap();
    contribute(&mut state, "bo", "w1", "work").unwrap();
    let mut logs = Logs::default();
    logs.record(&evaluate(&mut state, "ann", "w1", 1).unwrap());
    // All the reputation valued bo's work: 50 tokens and 5 reputation, and
    // ann as referrer receives a fifth of both on top.
    assert_eq!(tokens(&state, "bo"), int(51));
    assert_eq!(reputation(&state, "bo"), int(5));
    let ann_tokens = tokens(&state, "ann");
    assert_eq!(ann_tokens, plus(int(8), int(10)));
    let referral = |event: &Event| matches!(event, Event::ReferralReward { .. });
    assert_eq!(count_events(&logs, &state, "ann", referral), 1);
}

#[test]
fn reputation_is_never_transferable() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1],
        &[("ann", 10, 10), ("bo", 10, 10)],
    );
    let transfer = Operation::Transfer {
        dc: dc_id("coop"),
        to: agent("bo"),
        amount: int(1),
        asset: Asset::Reputation,
    };
    refused(
        &mut state,
        "ann",
        transfer,
        ProtocolError::ReputationNotTransferable,
    );
    let too_much = Operation::Transfer {
        dc: dc_id("coop"),
        to: agent("bo"),
        amount: int(11),
        asset: Asset::Tokens,
    };
    refused(
        &mut state,
        "ann",
        too_much,
        ProtocolError::InsufficientTokens {
            needed: int(11),
            available: int(10),
        },
    );
}

#[test]
fn token_holders_who_never_joined_cannot_take_part() {
    let mut state = community(RuleSet::Backfeed, &[0, 1], &[("ann", 10, 10)]);
    let transfer = Operation::Transfer {
        dc: dc_id("coop"),
        to: agent("outsider"),
        amount: int(3),
        asset: Asset::Tokens,
    };
    state.apply(&agent("ann"), &transfer).unwrap();
    let dc = coop(&state);
    let holder = dc.member(&agent("outsider")).unwrap();
    assert_eq!(
        (holder.status, holder.tokens),
        (MemberStatus::Holder, int(3))
    );
    assert!(matches!(
        contribute(&mut state, "outsider", "w1", "work"),
        Err(ProtocolError::NotAMember { .. })
    ));
    // Joining makes the holder a member with its tokens kept.
    let join = Operation::Join {
        dc: dc_id("coop"),
        referrer: None,
    };
    state.apply(&agent("outsider"), &join).unwrap();
    contribute(&mut state, "outsider", "w1", "work").unwrap();
    assert_eq!(tokens(&state, "outsider"), int(2));
}

#[test]
fn a_dc_takes_part_in_another_dc_through_its_own_account() {
    let mut state = community(RuleSet::Backfeed, &[0, 1], &[("ann", 10, 10)]);
    let farm = create_dc("farm", RuleSet::Backfeed, &[0, 1], &[("fern", 10, 10)]);
    state
        .apply(&agent("fern"), &Operation::CreateDc(farm))
        .unwrap();

    let join_coop = Operation::AsDc {
        dc: dc_id("farm"),
        operation: Box::new(Operation::Join {
            dc: dc_id("coop"),
            referrer: None,
        }),
    };
    refused(
        &mut state,
        "ann",
        join_coop.clone(),
        ProtocolError::NotSteward {
            agent: agent("ann"),
            dc: dc_id("farm"),
        },
    );
    state.apply(&agent("fern"), &join_coop).unwrap();
    let account = stigmer_protocol::AgentId::of_dc(&dc_id("farm"));
    let member = coop(&state).member(&account).unwrap();
    assert_eq!(member.status, MemberStatus::Active);
    assert_eq!(state.memberships(&account).count(), 1);

    // The farm buys the coop's tokens (here: receives them) and contributes.
    let payment = Operation::Transfer {
        dc: dc_id("coop"),
        to: account.clone(),
        amount: int(5),
        asset: Asset::Tokens,
    };
    state.apply(&agent("ann"), &payment).unwrap();
    let contribute = Operation::AsDc {
        dc: dc_id("farm"),
        operation: Box::new(Operation::Contribute {
            dc: dc_id("coop"),
            id: ContributionId::new("seeds").unwrap(),
            kind: "work".parse().unwrap(),
            title: "Seeds for the community garden".into(),
        }),
    };
    state.apply(&agent("fern"), &contribute).unwrap();
    evaluate(&mut state, "ann", "seeds", 1).unwrap();
    assert_eq!(coop(&state).member(&account).unwrap().tokens, int(54));

    let join_itself = Operation::AsDc {
        dc: dc_id("farm"),
        operation: Box::new(Operation::Join {
            dc: dc_id("farm"),
            referrer: None,
        }),
    };
    refused(
        &mut state,
        "fern",
        join_itself,
        ProtocolError::DcJoiningItself,
    );
}

#[test]
fn every_change_is_in_the_action_log_with_its_cause() {
    let create = create_dc(
        "coop",
        RuleSet::BackfeedClassic,
        &[0, 1],
        &[("ann", 10, 10), ("bo", 20, 10), ("cy", 20, 10)],
    );
    let mut state = State::new();
    let mut logs = Logs::default();
    logs.record(
        &state
            .apply(&agent("ann"), &Operation::CreateDc(create))
            .unwrap(),
    );
    logs.record(&contribute(&mut state, "cy", "w1", "work").unwrap());
    logs.record(&evaluate(&mut state, "bo", "w1", 1).unwrap());
    logs.record(&evaluate(&mut state, "cy", "w1", 1).unwrap());
    let log = logs.action_log(&state, &agent("bo"));
    let events: Vec<&str> = log
        .iter()
        .map(|(_, entry)| match entry.event {
            Event::Joined { .. } => "joined",
            Event::Evaluated { .. } => "evaluated",
            Event::StakePaid { .. } => "stake",
            Event::Redistribution { .. } => "redistribution",
            _ => "other",
        })
        .collect();
    assert_eq!(events, ["joined", "evaluated", "stake", "redistribution"]);
    // The redistribution names cy's evaluation; its snapshot holds the figures.
    let (_, entry) = log[3];
    let Event::Redistribution {
        evaluation,
        reputation: gain,
        ..
    } = entry.event
    else {
        panic!("expected a redistribution, got {:?}", entry.event);
    };
    let cause = &contribution(&state, "w1").evaluations[evaluation as usize];
    assert_eq!(
        coop(&state).member_at(cause.evaluator).unwrap().agent,
        agent("cy")
    );
    let figures = cause.snapshot;
    let bo_at_the_time = figures
        .agreeing_reputation
        .checked_sub(figures.evaluator_reputation)
        .unwrap();
    // gain = rep(bo) * distribution_stake * R_u / Q
    let expected = bo_at_the_time
        .checked_mul(fixed("0.08"))
        .unwrap()
        .checked_mul_div(figures.evaluator_reputation, figures.agreeing_reputation)
        .unwrap();
    let difference = gain.raw().abs_diff(expected.raw());
    assert!(difference <= 2, "{gain} vs {expected}");
}

#[test]
fn same_operations_same_state() {
    let run = || {
        let mut state = community(
            RuleSet::Backfeed,
            &[0, 1, 2, 3],
            &[("ann", 7, 10), ("bo", 13, 10), ("cy", 3, 10), ("di", 1, 10)],
        );
        contribute(&mut state, "di", "w1", "work").unwrap();
        for (who, value) in [("bo", 3), ("cy", 2), ("ann", 1), ("cy", 3)] {
            evaluate(&mut state, who, "w1", value).unwrap();
        }
        state
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second);
    assert_eq!(format!("{first:?}"), format!("{second:?}"));
}

/// A DC's account exists once the DC does: tokens sent to the account of a
/// DC nobody has founded would go to whoever founds it first.
#[test]
fn tokens_go_only_to_the_accounts_of_existing_dcs() {
    let mut state = community(
        RuleSet::Backfeed,
        &[0, 1],
        &[("ann", 10, 10), ("bo", 10, 10)],
    );
    let to_dc = |id: &str| Operation::Transfer {
        dc: dc_id("coop"),
        to: stigmer_protocol::AgentId::of_dc(&dc_id(id)),
        amount: int(1),
        asset: Asset::Tokens,
    };
    refused(
        &mut state,
        "ann",
        to_dc("nowhere"),
        ProtocolError::UnknownDc(dc_id("nowhere")),
    );
    state.apply(&agent("ann"), &to_dc("coop")).unwrap();
}
