//! Plain-words explanations of log entries, with the numbers, so that anyone
//! can recompute a change by hand.

use stigmer_protocol::RuleSet;
use stigmer_protocol::state::{Dc, Evaluation, Event};

fn agent_name(dc: &Dc, index: u32) -> String {
    dc.member_at(index)
        .map(|m| short(m.agent.as_str()))
        .unwrap_or_else(|| format!("member #{index}"))
}

/// Public keys are long; people recognise the first digits.
fn short(agent: &str) -> String {
    if agent.len() == 64 && agent.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("{}…", &agent[..8])
    } else {
        agent.to_string()
    }
}

fn contribution_name(dc: &Dc, index: u32) -> String {
    match dc.contribution_at(index) {
        Some(c) if !c.title.is_empty() => format!("\"{}\" ({})", c.title, c.id),
        Some(c) => format!("\"{}\"", c.id),
        None => format!("contribution #{index}"),
    }
}

fn evaluation(dc: &Dc, contribution: u32, index: u32) -> Option<&Evaluation> {
    dc.contribution_at(contribution)?
        .evaluations
        .get(index as usize)
}

pub fn explain(dc: &Dc, event: &Event) -> String {
    let symbol = &dc.token_symbol;
    match *event {
        Event::Joined {
            reputation,
            tokens,
            referrer,
            founder,
        } => {
            let how = if founder {
                "was admitted as a founder"
            } else {
                "joined"
            };
            let by = referrer
                .map(|r| format!(", brought in by {}", agent_name(dc, r)))
                .unwrap_or_default();
            format!("{how} with {reputation} reputation and {tokens} {symbol}{by}")
        }
        Event::Rejoined => "came back; the reputation on record counts again".to_string(),
        Event::Left => "left; the reputation on record no longer counts".to_string(),
        Event::Contributed { contribution, fee } => format!(
            "contributed {}, paying a fee of {fee} {symbol} into the treasury",
            contribution_name(dc, contribution)
        ),
        Event::Evaluated {
            contribution,
            evaluation: index,
        } => {
            let value = evaluation(dc, contribution, index)
                .map(|e| e.value.to_string())
                .unwrap_or_default();
            format!(
                "evaluated {} as {value}",
                contribution_name(dc, contribution)
            )
        }
        Event::EvaluatorReward {
            contribution,
            evaluation: index,
            tokens,
        } => {
            let figures = evaluation(dc, contribution, index).map(|e| e.snapshot);
            let formula = figures
                .map(|f| {
                    format!(
                        " (the fund's share for your reputation {} out of the {} not yet engaged)",
                        f.evaluator_reputation,
                        f.total_reputation
                            .saturating_sub(f.engaged_reputation)
                            .checked_add(f.evaluator_reputation)
                            .unwrap_or(f.total_reputation)
                    )
                })
                .unwrap_or_default();
            format!(
                "received {tokens} {symbol} from the evaluator fund of {} for a first evaluation{formula}",
                contribution_name(dc, contribution)
            )
        }
        Event::StakePaid {
            contribution,
            evaluation: index,
            reputation,
        } => {
            let stake = dc
                .contribution_at(contribution)
                .and_then(|c| dc.types.get(&c.kind))
                .map(|t| t.stake.to_string())
                .unwrap_or_default();
            let formula = evaluation(dc, contribution, index)
                .map(|e| {
                    let f = e.snapshot;
                    format!(
                        ": stake {stake} × your reputation {} × (1 − (engaged {} / total {})^{})",
                        f.evaluator_reputation,
                        f.engaged_reputation,
                        f.total_reputation,
                        dc.params.beta
                    )
                })
                .unwrap_or_default();
            format!(
                "staked {reputation} reputation to evaluate {}{formula}; the earlier you evaluate, the more you stake",
                contribution_name(dc, contribution)
            )
        }
        Event::Redistribution {
            contribution,
            evaluation: index,
            reputation,
        } => {
            let distribution = dc
                .contribution_at(contribution)
                .and_then(|c| dc.types.get(&c.kind))
                .map(|t| t.distribution_stake.to_string())
                .unwrap_or_default();
            match evaluation(dc, contribution, index) {
                Some(e) => format!(
                    "gained {reputation} reputation because {} later agreed with your evaluation of {}: \
                     your reputation × {distribution} × their reputation {} / agreeing reputation {}",
                    agent_name(dc, e.evaluator),
                    contribution_name(dc, contribution),
                    e.snapshot.evaluator_reputation,
                    e.snapshot.agreeing_reputation
                ),
                None => format!("gained {reputation} reputation from agreement"),
            }
        }
        Event::ContributionRewarded {
            contribution,
            evaluation: index,
            tokens,
            reputation,
        } => {
            let why = evaluation(dc, contribution, index)
                .map(|e| {
                    let f = e.snapshot;
                    match dc.params.rules {
                        RuleSet::Backfeed => format!(
                            "the reputation-weighted median of its evaluations rose from {} to {} \
                             (more than half of all reputation values it)",
                            f.score_max_before, f.score_max_after
                        ),
                        RuleSet::BackfeedClassic => format!(
                            "the share of reputation that up-voted it reached a new high of {} \
                             (up-voted {} / total {}; previous high {})",
                            f.score_max_after,
                            f.upvoted_reputation,
                            f.total_reputation,
                            f.score_max_before
                        ),
                    }
                })
                .unwrap_or_default();
            format!(
                "received {tokens} {symbol} and {reputation} reputation for {}: {why}",
                contribution_name(dc, contribution)
            )
        }
        Event::ReferralReward {
            contribution,
            referred,
            tokens,
            reputation,
            ..
        } => format!(
            "received {tokens} {symbol} and {reputation} reputation, a {} share of what {} (whom you brought in) earned on {}",
            dc.params.referral_fraction,
            agent_name(dc, referred),
            contribution_name(dc, contribution)
        ),
        Event::TokensSent { to, tokens } => {
            format!("sent {tokens} {symbol} to {}", agent_name(dc, to))
        }
        Event::TokensReceived { from, tokens } => {
            format!("received {tokens} {symbol} from {}", agent_name(dc, from))
        }
        Event::ThanksGiven { contribution } => {
            format!(
                "thanked the contributor of {}",
                contribution_name(dc, contribution)
            )
        }
        Event::ThanksReceived { contribution, from } => format!(
            "was thanked by {} for {}",
            agent_name(dc, from),
            contribution_name(dc, contribution)
        ),
    }
}
