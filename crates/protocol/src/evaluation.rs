//! Evaluating a contribution: stake, redistribution and issuance under both
//! rule sets (`PROTOCOL.md`, "Evaluate").
//!
//! The work is split in two. [`plan`] reads the DC and computes every change
//! in a [`Plan`] (an overlay of new balances in the order the rules make
//! them), failing on any refusal or overflow; [`Plan::commit`] then writes
//! the changes and cannot fail. Redistribution must see each member's
//! reputation "as it is at that moment", including changes made earlier in
//! the same evaluation (a referrer rewarded before its own turn), so reads
//! go through the overlay.
//!
//! The order of operations follows the reference implementation exactly:
//! that is what makes `backfeed-classic` reproduce its numbers.

use std::collections::BTreeMap;

use crate::error::OrOverflow;
use crate::limits::EVALUATIONS_PER_CONTRIBUTION_MAX;
use crate::op::Touched;
use crate::params::RuleSet;
use crate::state::{
    ContributionIdx, CurrentEvaluation, Dc, Evaluation, EvaluationIdx, Event, LogEntry, MemberIdx,
    Snapshot,
};
use crate::transition::contribution_index;
use crate::{ContributionId, Fixed, ProtocolError};

pub(crate) fn evaluate(
    dc: &mut Dc,
    op: u64,
    evaluator: MemberIdx,
    contribution: &ContributionId,
    value: Fixed,
    mode: crate::transition::Mode,
    log: &mut crate::op::Log,
) -> Result<Touched, ProtocolError> {
    let contribution = contribution_index(dc, contribution)?;
    let plan = plan(dc, op, evaluator, contribution, value)?;
    if mode.only_checks() {
        return Ok(Touched::members([]));
    }
    // Every change to a member comes with an event.
    let touched = Touched::members(plan.events.iter().map(|&(member, _)| member));
    plan.commit(dc, log);
    Ok(touched.with_contribution(contribution))
}

/// Every change one evaluation makes, computed but not yet written.
struct Plan {
    op: u64,
    contribution: ContributionIdx,
    evaluator: MemberIdx,
    evaluation: EvaluationIdx,
    value: Fixed,
    snapshot: Snapshot,
    reputation: BTreeMap<MemberIdx, Fixed>,
    tokens: BTreeMap<MemberIdx, Fixed>,
    events: Vec<(MemberIdx, Event)>,
    evaluator_fund: Fixed,
    tokens_issued: Fixed,
    reputation_issued: Fixed,
    total_reputation: Fixed,
    token_supply: Fixed,
}

impl Plan {
    fn reputation(&self, dc: &Dc, member: MemberIdx) -> Fixed {
        match self.reputation.get(&member) {
            Some(&reputation) => reputation,
            None => dc.members[member as usize].reputation,
        }
    }

    fn tokens(&self, dc: &Dc, member: MemberIdx) -> Fixed {
        match self.tokens.get(&member) {
            Some(&tokens) => tokens,
            None => dc.members[member as usize].tokens,
        }
    }

    /// Adds reputation to a member. Only active members' reputation is part
    /// of the DC's total.
    fn gain_reputation(
        &mut self,
        dc: &Dc,
        member: MemberIdx,
        amount: Fixed,
    ) -> Result<(), ProtocolError> {
        let reputation = self
            .reputation(dc, member)
            .checked_add(amount)
            .or_overflow()?;
        self.reputation.insert(member, reputation);
        if dc.members[member as usize].is_active() {
            self.total_reputation = self.total_reputation.checked_add(amount).or_overflow()?;
        }
        Ok(())
    }

    /// Mints tokens for a member.
    fn gain_tokens(
        &mut self,
        dc: &Dc,
        member: MemberIdx,
        amount: Fixed,
    ) -> Result<(), ProtocolError> {
        let tokens = self.tokens(dc, member).checked_add(amount).or_overflow()?;
        self.tokens.insert(member, tokens);
        self.token_supply = self.token_supply.checked_add(amount).or_overflow()?;
        Ok(())
    }

    fn event(&mut self, member: MemberIdx, event: Event) {
        self.events.push((member, event));
    }

    /// Rewards `member` and, if it has an active referrer, the referrer's
    /// share on top (minted, not taken from the member).
    fn reward_with_referral(
        &mut self,
        dc: &Dc,
        member: MemberIdx,
        tokens: Fixed,
        reputation: Fixed,
    ) -> Result<(), ProtocolError> {
        self.gain_tokens(dc, member, tokens)?;
        self.gain_reputation(dc, member, reputation)?;
        let (contribution, evaluation) = (self.contribution, self.evaluation);
        self.event(
            member,
            Event::ContributionRewarded {
                contribution,
                evaluation,
                tokens,
                reputation,
            },
        );
        self.referral(dc, member, tokens, reputation)
    }

    fn referral(
        &mut self,
        dc: &Dc,
        referred: MemberIdx,
        tokens: Fixed,
        reputation: Fixed,
    ) -> Result<(), ProtocolError> {
        let Some(referrer) = dc.members[referred as usize].referrer else {
            return Ok(());
        };
        // Rewards go to members; a referrer who left gets nothing.
        if !dc.members[referrer as usize].is_active() {
            return Ok(());
        }
        let fraction = dc.params.referral_fraction;
        let tokens = tokens.checked_mul(fraction).or_overflow()?;
        let reputation = reputation.checked_mul(fraction).or_overflow()?;
        if tokens.is_zero() && reputation.is_zero() {
            return Ok(());
        }
        self.gain_tokens(dc, referrer, tokens)?;
        self.gain_reputation(dc, referrer, reputation)?;
        let (contribution, evaluation) = (self.contribution, self.evaluation);
        self.event(
            referrer,
            Event::ReferralReward {
                contribution,
                evaluation,
                referred,
                tokens,
                reputation,
            },
        );
        Ok(())
    }

    fn commit(self, dc: &mut Dc, log: &mut crate::op::Log) {
        let record = &mut dc.contributions[self.contribution as usize];
        if let Some(previous) = record.current.insert(self.evaluator, self.evaluation) {
            record.evaluations[previous as usize].superseded = true;
            // In cast order, so sorted by index.
            if let Ok(at) = record
                .current_in_order
                .binary_search_by_key(&previous, |current| current.index)
            {
                record.current_in_order.remove(at);
            }
        }
        record.current_in_order.push(CurrentEvaluation {
            index: self.evaluation,
            evaluator: self.evaluator,
            value: self.value,
        });
        record.evaluations.push(Evaluation {
            evaluator: self.evaluator,
            value: self.value,
            op: self.op,
            superseded: false,
            snapshot: self.snapshot,
        });
        record.evaluator_fund = self.evaluator_fund;
        record.score_max = self.snapshot.score_max_after;
        record.tokens_issued = self.tokens_issued;
        record.reputation_issued = self.reputation_issued;
        for (member, reputation) in self.reputation {
            dc.members[member as usize].reputation = reputation;
        }
        for (member, tokens) in self.tokens {
            dc.members[member as usize].tokens = tokens;
        }
        for (member, event) in self.events {
            log.push((member, LogEntry { op: self.op, event }));
        }
        dc.total_reputation = self.total_reputation;
        dc.token_supply = self.token_supply;
    }
}

fn plan(
    dc: &Dc,
    op: u64,
    evaluator: MemberIdx,
    contribution: ContributionIdx,
    value: Fixed,
) -> Result<Plan, ProtocolError> {
    let record = &dc.contributions[contribution as usize];
    let rules = dc.params.rules;
    // A contributor holding more than half the reputation would otherwise
    // value its own work alone and mint at will. The reference allows it.
    if rules == RuleSet::Backfeed && record.contributor == evaluator {
        return Err(ProtocolError::EvaluatingOneself);
    }
    let kind =
        dc.types
            .get(&record.kind)
            .ok_or_else(|| ProtocolError::UnknownContributionType {
                dc: dc.id.clone(),
                kind: record.kind.clone(),
            })?;
    if kind.thanks_only {
        return Err(ProtocolError::ThanksOnly {
            kind: record.kind.clone(),
        });
    }
    // Step 1.
    if !kind.allows(value) {
        return Err(ProtocolError::InvalidEvaluationValue {
            value,
            allowed: kind.evaluation_set_text(),
        });
    }
    // Step 2.
    let previous = record.current_evaluation_of(evaluator);
    if rules == RuleSet::Backfeed {
        if let Some(previous) = previous {
            if previous.value == value {
                return Err(ProtocolError::SameEvaluation { value });
            }
        }
    }
    if record.evaluations.len() >= EVALUATIONS_PER_CONTRIBUTION_MAX as usize {
        return Err(ProtocolError::LimitExceeded {
            what: "the number of evaluations of this contribution",
            max: EVALUATIONS_PER_CONTRIBUTION_MAX.to_string(),
        });
    }
    let first = previous.is_none();
    let total = dc.total_reputation;
    if rules == RuleSet::BackfeedClassic && !value.is_zero() && total.is_zero() {
        // The reference divides the up-voted reputation by the total here and
        // fails; with no reputation in the DC there is nothing to weigh.
        return Err(ProtocolError::NoReputation { dc: dc.id.clone() });
    }

    // The current evaluations as they stand after step 2: the evaluator's
    // earlier one replaced by the new one. Sums of fixed-point numbers are
    // exact, so the order of summation does not matter.
    let evaluator_reputation = dc.members[evaluator as usize].weight();
    let mut engaged = evaluator_reputation;
    let mut agreeing = evaluator_reputation;
    let mut upvoted = if value == Fixed::ONE {
        evaluator_reputation
    } else {
        Fixed::ZERO
    };
    let mut by_value = vec![Fixed::ZERO; kind.evaluation_set.len()];
    add_by_value(
        &mut by_value,
        &kind.evaluation_set,
        value,
        evaluator_reputation,
    )?;
    for current in &record.current_in_order {
        let member = current.evaluator;
        if member == evaluator {
            continue;
        }
        let weight = dc.members[member as usize].weight();
        let cast = current.value;
        engaged = engaged.checked_add(weight).or_overflow()?;
        if cast == value {
            agreeing = agreeing.checked_add(weight).or_overflow()?;
        }
        if cast == Fixed::ONE {
            upvoted = upvoted.checked_add(weight).or_overflow()?;
        }
        add_by_value(&mut by_value, &kind.evaluation_set, cast, weight)?;
    }

    let mut plan = Plan {
        op,
        contribution,
        evaluator,
        evaluation: record.evaluations.len() as EvaluationIdx,
        value,
        snapshot: Snapshot::default(),
        reputation: BTreeMap::new(),
        tokens: BTreeMap::new(),
        events: Vec::new(),
        evaluator_fund: record.evaluator_fund,
        tokens_issued: record.tokens_issued,
        reputation_issued: record.reputation_issued,
        total_reputation: total,
        token_supply: dc.token_supply,
    };
    plan.event(
        evaluator,
        Event::Evaluated {
            contribution,
            evaluation: plan.evaluation,
        },
    );

    // Step 3: tokens from the evaluator fund, for first evaluations only.
    if dc.params.reward_evaluators_with_tokens && first {
        let others_engaged = engaged.checked_sub(evaluator_reputation).or_overflow()?;
        let unengaged = total.checked_sub(others_engaged).or_overflow()?;
        if !unengaged.is_zero() {
            let tokens = plan
                .evaluator_fund
                .checked_mul_div(evaluator_reputation, unengaged)
                .or_overflow()?;
            plan.evaluator_fund = plan.evaluator_fund.checked_sub(tokens).or_overflow()?;
            plan.gain_tokens(dc, evaluator, tokens)?;
            plan.event(
                evaluator,
                Event::EvaluatorReward {
                    contribution,
                    evaluation: plan.evaluation,
                    tokens,
                },
            );
        }
    }

    // Step 4.
    let median = match rules {
        RuleSet::Backfeed => weighted_median(&kind.evaluation_set, &by_value, total, engaged)?,
        RuleSet::BackfeedClassic => Fixed::ZERO,
    };
    plan.snapshot = Snapshot {
        evaluator_reputation,
        engaged_reputation: engaged,
        agreeing_reputation: agreeing,
        total_reputation: total,
        upvoted_reputation: upvoted,
        median,
        score_max_before: record.score_max,
        score_max_after: record.score_max,
        first,
    };

    // Step 5: the stake, burned. Early evaluators (little reputation engaged)
    // risk more.
    if !evaluator_reputation.is_zero() {
        // E <= T exactly; the minimum only documents it for the power below.
        let engaged_share = engaged.checked_div(total).or_overflow()?.min(Fixed::ONE);
        let discount = engaged_share
            .checked_pow_unit(dc.params.beta)
            .or_overflow()?;
        let exposed = evaluator_reputation
            .checked_mul(Fixed::ONE.saturating_sub(discount))
            .or_overflow()?;
        let stake = kind.stake.checked_mul(exposed).or_overflow()?;
        // Reputation never goes below zero; with stake <= 1 it cannot anyway.
        let stake = stake.min(evaluator_reputation);
        plan.reputation
            .insert(evaluator, evaluator_reputation.saturating_sub(stake));
        plan.total_reputation = plan.total_reputation.saturating_sub(stake);
        plan.event(
            evaluator,
            Event::StakePaid {
                contribution,
                evaluation: plan.evaluation,
                reputation: stake,
            },
        );
    }

    // Step 6: earlier evaluators who agree gain, oldest first. Under
    // `backfeed`, a changed vote pays the stake again but redistributes
    // nothing: flipping back and forth must not pay.
    if (rules == RuleSet::BackfeedClassic || first) && !agreeing.is_zero() {
        let numerator = kind
            .distribution_stake
            .checked_mul(evaluator_reputation)
            .or_overflow()?;
        for evaluation in &record.current_in_order {
            let member = evaluation.evaluator;
            if member == evaluator
                || evaluation.value != value
                || !dc.members[member as usize].is_active()
            {
                continue;
            }
            let gain = plan
                .reputation(dc, member)
                .checked_mul_div(numerator, agreeing)
                .or_overflow()?;
            if gain.is_zero() {
                continue;
            }
            plan.gain_reputation(dc, member, gain)?;
            plan.event(
                member,
                Event::Redistribution {
                    contribution,
                    evaluation: plan.evaluation,
                    reputation: gain,
                },
            );
            plan.referral(dc, member, Fixed::ZERO, gain)?;
        }
    }

    // Step 7: issuance to the contributor.
    let (tokens, reputation) = match rules {
        RuleSet::BackfeedClassic => classic_issuance(&mut plan, kind, total, upvoted, value)?,
        RuleSet::Backfeed => median_issuance(&mut plan, kind, median)?,
    };
    if !tokens.is_zero() || !reputation.is_zero() {
        plan.tokens_issued = plan.tokens_issued.checked_add(tokens).or_overflow()?;
        plan.reputation_issued = plan
            .reputation_issued
            .checked_add(reputation)
            .or_overflow()?;
        plan.reward_with_referral(dc, record.contributor, tokens, reputation)?;
    }
    Ok(plan)
}

/// `backfeed-classic` step 7: pays for the up-voted share of reputation
/// once it passes the threshold, then for each new high.
fn classic_issuance(
    plan: &mut Plan,
    kind: &crate::params::ContributionType,
    total: Fixed,
    upvoted: Fixed,
    value: Fixed,
) -> Result<(Fixed, Fixed), ProtocolError> {
    if value.is_zero() {
        return Ok((Fixed::ZERO, Fixed::ZERO));
    }
    // `total` is not zero: checked in `plan`.
    let score = upvoted.checked_div(total).or_overflow()?;
    let score_max = plan.snapshot.score_max_before;
    let mut base = Fixed::ZERO;
    if score > score_max {
        if score_max >= kind.reward_threshold {
            base = score.saturating_sub(score_max);
        } else if score > kind.reward_threshold {
            base = score;
        }
        plan.snapshot.score_max_after = score;
    }
    if base.is_zero() {
        return Ok((Fixed::ZERO, Fixed::ZERO));
    }
    Ok((
        kind.token_reward_factor.checked_mul(base).or_overflow()?,
        kind.reputation_reward_factor
            .checked_mul(base)
            .or_overflow()?,
    ))
}

/// `backfeed` issuance: pays for each rise of the weighted median above its
/// previous high, scaled to the top of the evaluation set.
fn median_issuance(
    plan: &mut Plan,
    kind: &crate::params::ContributionType,
    median: Fixed,
) -> Result<(Fixed, Fixed), ProtocolError> {
    let score_max = plan.snapshot.score_max_before;
    if median <= score_max {
        return Ok((Fixed::ZERO, Fixed::ZERO));
    }
    plan.snapshot.score_max_after = median;
    let rise = median.saturating_sub(score_max);
    let value_max = kind.value_max();
    Ok((
        kind.token_reward_factor
            .checked_mul_div(rise, value_max)
            .or_overflow()?,
        kind.reputation_reward_factor
            .checked_mul_div(rise, value_max)
            .or_overflow()?,
    ))
}

fn add_by_value(
    by_value: &mut [Fixed],
    set: &[Fixed],
    value: Fixed,
    weight: Fixed,
) -> Result<(), ProtocolError> {
    if let Ok(position) = set.binary_search(&value) {
        by_value[position] = by_value[position].checked_add(weight).or_overflow()?;
    }
    Ok(())
}

/// `M_c`: the smallest value x such that the reputation on evaluations of at
/// most x, counting unengaged reputation as 0, is at least half the total.
/// Positive exactly when more than half of all reputation rated above 0.
pub(crate) fn weighted_median(
    set: &[Fixed],
    by_value: &[Fixed],
    total: Fixed,
    engaged: Fixed,
) -> Result<Fixed, ProtocolError> {
    // Compare 2 * cumulative >= total, exactly, without halving.
    let mut cumulative = total.saturating_sub(engaged);
    let reached = |cumulative: Fixed| -> Result<bool, ProtocolError> {
        Ok(cumulative.checked_add(cumulative).or_overflow()? >= total)
    };
    if reached(cumulative)? {
        return Ok(Fixed::ZERO);
    }
    for (&value, &weight) in set.iter().zip(by_value) {
        cumulative = cumulative.checked_add(weight).or_overflow()?;
        if reached(cumulative)? {
            return Ok(value);
        }
    }
    // Unreachable when `engaged` is the sum of `by_value`; the top value is
    // the only sensible answer either way.
    Ok(set.last().copied().unwrap_or(Fixed::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_median(by_value: &[(u64, u64)], unengaged: u64, expected: u64) {
        let set: Vec<Fixed> = by_value.iter().map(|&(v, _)| Fixed::from_int(v)).collect();
        let weights: Vec<Fixed> = by_value.iter().map(|&(_, w)| Fixed::from_int(w)).collect();
        let engaged: u64 = by_value.iter().map(|&(_, w)| w).sum();
        let total = Fixed::from_int(engaged + unengaged);
        let median = weighted_median(&set, &weights, total, Fixed::from_int(engaged)).unwrap();
        assert_eq!(
            median,
            Fixed::from_int(expected),
            "{by_value:?} + {unengaged}"
        );
    }

    #[test]
    fn median_counts_unengaged_reputation_as_zero() {
        // Half the reputation is not enough: more than half must value it.
        check_median(&[(0, 0), (1, 50)], 50, 0);
        check_median(&[(0, 0), (1, 51)], 49, 1);
        check_median(&[(0, 10), (1, 41)], 49, 0);
        check_median(&[(0, 0), (3, 30), (5, 40)], 30, 3);
        check_median(&[(0, 0), (3, 10), (5, 80)], 10, 5);
        check_median(&[(0, 0), (1, 0)], 0, 0);
    }
}
