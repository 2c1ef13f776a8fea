//! Log entries explained, with the numbers, so that anyone can recompute a
//! change by hand: [`detail`] as data (what happened, the rule, the exact
//! numbers, the objects involved), which the web UI words in its reader's
//! language, and [`explain`], the same in one English sentence for the CLI
//! and API users.

use serde::Serialize;
use stigmer_protocol::state::{Dc, Evaluation, Event};
use stigmer_protocol::{ContributionType, RuleSet};
use utoipa::ToSchema;

use crate::api::doc::AgentIdText;
use crate::json::Decimal;

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

/// A contribution a log entry names: its id and its title (as its
/// contributor wrote it, possibly empty).
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionRef {
    pub id: String,
    pub title: String,
}

/// What a log entry's change was, as data: one object per kind of event,
/// with the rule's exact numbers (decimal strings), the contribution it
/// concerns (id and title) and the agents involved (ids). A client says it
/// in its reader's language, with the same numbers, so that anyone can
/// recompute the change by hand; `explanation` says it in English. ALPHA.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogDetail {
    /// Joined, or was admitted as a founder, with an allocation.
    Joined {
        founder: bool,
        reputation: Decimal,
        tokens: Decimal,
        /// The member who brought this one in, if any.
        #[schema(value_type = Option<AgentIdText>, required = true)]
        referrer: Option<String>,
    },
    /// Came back; the reputation on record counts again.
    Rejoined {},
    /// Left; the reputation on record no longer counts.
    Left {},
    /// Contributed, paying `fee` tokens into the treasury.
    Contributed {
        contribution: ContributionRef,
        fee: Decimal,
    },
    /// Evaluated a contribution with `value`.
    Evaluated {
        contribution: ContributionRef,
        value: Decimal,
    },
    /// Tokens from the contribution's evaluator fund for a first evaluation:
    /// the fund's share `evaluator_reputation / unengaged_reputation`, the
    /// latter being the reputation not yet engaged by others.
    EvaluatorReward {
        contribution: ContributionRef,
        tokens: Decimal,
        evaluator_reputation: Decimal,
        unengaged_reputation: Decimal,
    },
    /// Reputation staked (and burned) to evaluate:
    /// `stake × evaluator_reputation × (1 − (engaged_reputation /
    /// total_reputation)^beta)`.
    StakePaid {
        contribution: ContributionRef,
        reputation: Decimal,
        stake: Decimal,
        evaluator_reputation: Decimal,
        engaged_reputation: Decimal,
        total_reputation: Decimal,
        beta: Decimal,
    },
    /// Reputation gained because `evaluator` later agreed with this
    /// member's evaluation: this member's reputation × `distribution_stake`
    /// × `evaluator_reputation / agreeing_reputation`.
    Redistribution {
        contribution: ContributionRef,
        reputation: Decimal,
        #[schema(value_type = AgentIdText)]
        evaluator: String,
        distribution_stake: Decimal,
        evaluator_reputation: Decimal,
        agreeing_reputation: Decimal,
    },
    /// Issuance to the contributor, because the contribution's score reached
    /// a new high. Under `backfeed` the score is the reputation-weighted
    /// median of its evaluations and each amount is its factor × (`score_after`
    /// − `score_before`) / `value_max`; under `backfeed-classic` it is the
    /// up-voted share `upvoted_reputation / total_reputation`.
    ContributionRewarded {
        contribution: ContributionRef,
        tokens: Decimal,
        reputation: Decimal,
        /// `backfeed` or `backfeed-classic`.
        #[schema(pattern = "^(backfeed|backfeed-classic)$")]
        rules: String,
        score_before: Decimal,
        score_after: Decimal,
        upvoted_reputation: Decimal,
        total_reputation: Decimal,
        token_reward_factor: Decimal,
        reputation_reward_factor: Decimal,
        /// The top of the contribution type's evaluation scale.
        value_max: Decimal,
    },
    /// The referrer's share (`referral_fraction`) of what `referred` earned.
    ReferralReward {
        contribution: ContributionRef,
        tokens: Decimal,
        reputation: Decimal,
        #[schema(value_type = AgentIdText)]
        referred: String,
        referral_fraction: Decimal,
    },
    TokensSent {
        #[schema(value_type = AgentIdText)]
        to: String,
        tokens: Decimal,
    },
    TokensReceived {
        #[schema(value_type = AgentIdText)]
        from: String,
        tokens: Decimal,
    },
    /// Thanked the contributor of a contribution.
    ThanksGiven { contribution: ContributionRef },
    /// Was thanked by `from`.
    ThanksReceived {
        contribution: ContributionRef,
        #[schema(value_type = AgentIdText)]
        from: String,
    },
}

fn agent_id(dc: &Dc, index: u32) -> Option<String> {
    dc.member_at(index).map(|m| m.agent.to_string())
}

fn contribution_ref(dc: &Dc, index: u32) -> Option<ContributionRef> {
    dc.contribution_at(index).map(|c| ContributionRef {
        id: c.id.to_string(),
        title: c.title.clone(),
    })
}

/// The contribution type of a contribution.
fn kind_of(dc: &Dc, contribution: u32) -> Option<&ContributionType> {
    dc.contribution_at(contribution)
        .and_then(|c| dc.types.get(&c.kind))
}

/// `event` as data. `None` only if the DC's record lacks what the event
/// names (a member, a contribution or an evaluation), which the protocol
/// never lets happen.
pub fn detail(dc: &Dc, event: &Event) -> Option<LogDetail> {
    let d = Decimal;
    Some(match *event {
        Event::Joined {
            reputation,
            tokens,
            referrer,
            founder,
        } => LogDetail::Joined {
            founder,
            reputation: d(reputation),
            tokens: d(tokens),
            referrer: match referrer {
                Some(r) => Some(agent_id(dc, r)?),
                None => None,
            },
        },
        Event::Rejoined => LogDetail::Rejoined {},
        Event::Left => LogDetail::Left {},
        Event::Contributed { contribution, fee } => LogDetail::Contributed {
            contribution: contribution_ref(dc, contribution)?,
            fee: d(fee),
        },
        Event::Evaluated {
            contribution,
            evaluation: index,
        } => LogDetail::Evaluated {
            contribution: contribution_ref(dc, contribution)?,
            value: d(evaluation(dc, contribution, index)?.value),
        },
        Event::EvaluatorReward {
            contribution,
            evaluation: index,
            tokens,
        } => {
            let f = evaluation(dc, contribution, index)?.snapshot;
            // As in the protocol: the total less what the others engaged.
            let others = f.engaged_reputation.saturating_sub(f.evaluator_reputation);
            LogDetail::EvaluatorReward {
                contribution: contribution_ref(dc, contribution)?,
                tokens: d(tokens),
                evaluator_reputation: d(f.evaluator_reputation),
                unengaged_reputation: d(f.total_reputation.saturating_sub(others)),
            }
        }
        Event::StakePaid {
            contribution,
            evaluation: index,
            reputation,
        } => {
            let f = evaluation(dc, contribution, index)?.snapshot;
            LogDetail::StakePaid {
                contribution: contribution_ref(dc, contribution)?,
                reputation: d(reputation),
                stake: d(kind_of(dc, contribution)?.stake),
                evaluator_reputation: d(f.evaluator_reputation),
                engaged_reputation: d(f.engaged_reputation),
                total_reputation: d(f.total_reputation),
                beta: d(dc.params.beta),
            }
        }
        Event::Redistribution {
            contribution,
            evaluation: index,
            reputation,
        } => {
            let e = evaluation(dc, contribution, index)?;
            LogDetail::Redistribution {
                contribution: contribution_ref(dc, contribution)?,
                reputation: d(reputation),
                evaluator: agent_id(dc, e.evaluator)?,
                distribution_stake: d(kind_of(dc, contribution)?.distribution_stake),
                evaluator_reputation: d(e.snapshot.evaluator_reputation),
                agreeing_reputation: d(e.snapshot.agreeing_reputation),
            }
        }
        Event::ContributionRewarded {
            contribution,
            evaluation: index,
            tokens,
            reputation,
        } => {
            let f = evaluation(dc, contribution, index)?.snapshot;
            let kind = kind_of(dc, contribution)?;
            LogDetail::ContributionRewarded {
                contribution: contribution_ref(dc, contribution)?,
                tokens: d(tokens),
                reputation: d(reputation),
                rules: dc.params.rules.name().to_string(),
                score_before: d(f.score_max_before),
                score_after: d(f.score_max_after),
                upvoted_reputation: d(f.upvoted_reputation),
                total_reputation: d(f.total_reputation),
                token_reward_factor: d(kind.token_reward_factor),
                reputation_reward_factor: d(kind.reputation_reward_factor),
                value_max: d(kind.value_max()),
            }
        }
        Event::ReferralReward {
            contribution,
            referred,
            tokens,
            reputation,
            ..
        } => LogDetail::ReferralReward {
            contribution: contribution_ref(dc, contribution)?,
            tokens: d(tokens),
            reputation: d(reputation),
            referred: agent_id(dc, referred)?,
            referral_fraction: d(dc.params.referral_fraction),
        },
        Event::TokensSent { to, tokens } => LogDetail::TokensSent {
            to: agent_id(dc, to)?,
            tokens: d(tokens),
        },
        Event::TokensReceived { from, tokens } => LogDetail::TokensReceived {
            from: agent_id(dc, from)?,
            tokens: d(tokens),
        },
        Event::ThanksGiven { contribution } => LogDetail::ThanksGiven {
            contribution: contribution_ref(dc, contribution)?,
        },
        Event::ThanksReceived { contribution, from } => LogDetail::ThanksReceived {
            contribution: contribution_ref(dc, contribution)?,
            from: agent_id(dc, from)?,
        },
    })
}
