//! A DC's value system: its rule set, its parameters, and the parameters of
//! each contribution type.
//!
//! Defaults are the reference implementation's, except the rule set: new DCs
//! use the hardened `backfeed` rules.

use crate::limits::{AMOUNT_MAX, BETA_MAX, EVALUATION_SET_LEN_MAX};
use crate::{Fixed, ProtocolError};

/// Which rules value contributions. See `PROTOCOL.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum RuleSet {
    /// Reproduces Backfeed's reference implementation, number for number,
    /// including its known weakness to vote flipping.
    BackfeedClassic,
    /// Median issuance over any evaluation set, hardened re-votes.
    #[default]
    Backfeed,
}

impl RuleSet {
    pub fn name(self) -> &'static str {
        match self {
            RuleSet::BackfeedClassic => "backfeed-classic",
            RuleSet::Backfeed => "backfeed",
        }
    }
}

impl core::str::FromStr for RuleSet {
    type Err = ProtocolError;
    fn from_str(text: &str) -> Result<RuleSet, ProtocolError> {
        match text {
            "backfeed-classic" => Ok(RuleSet::BackfeedClassic),
            "backfeed" => Ok(RuleSet::Backfeed),
            _ => Err(ProtocolError::InvalidParameter {
                name: "rules".to_string(),
                reason: format!("{text:?} is unknown; use \"backfeed\" or \"backfeed-classic\""),
            }),
        }
    }
}

impl core::fmt::Display for RuleSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters that hold for the whole DC.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DcParams {
    pub rules: RuleSet,
    /// Exponent of the engaged share in the evaluation stake: early evaluators
    /// (little engaged reputation) stake more, late ones less.
    pub beta: Fixed,
    /// Share of an agent's rewards that its referrer receives on top.
    pub referral_fraction: Fixed,
    /// Whether first evaluations earn tokens from the contribution's evaluator fund.
    pub reward_evaluators_with_tokens: bool,
    /// Reputation a member receives on joining after the genesis.
    pub initial_reputation: Fixed,
    /// Tokens minted for a member on joining after the genesis.
    pub initial_tokens: Fixed,
}

impl Default for DcParams {
    fn default() -> DcParams {
        DcParams {
            rules: RuleSet::default(),
            beta: Fixed::from_raw(Fixed::SCALE / 2),
            referral_fraction: Fixed::from_raw(Fixed::SCALE / 5),
            reward_evaluators_with_tokens: false,
            initial_reputation: Fixed::ZERO,
            initial_tokens: Fixed::ZERO,
        }
    }
}

/// Parameters of one contribution type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ContributionType {
    /// Tokens the contributor pays into the DC treasury.
    pub fee: Fixed,
    /// Share of an evaluator's reputation at stake (before the engagement discount).
    pub stake: Fixed,
    /// Share of an agreeing evaluator's reputation it gains, scaled by the new
    /// evaluator's weight in the agreement.
    pub distribution_stake: Fixed,
    /// (`backfeed-classic`) share of reputation up-voting before any reward.
    pub reward_threshold: Fixed,
    pub token_reward_factor: Fixed,
    pub reputation_reward_factor: Fixed,
    /// The values an evaluation may take, ascending, distinct.
    pub evaluation_set: Vec<Fixed>,
    /// Tokens available to reward first evaluators (when the DC says so).
    pub evaluator_token_fund: Fixed,
    /// Recorded, visible and thanked, never scored: no fee, no evaluations,
    /// no issuance. For care work people do not want priced.
    pub thanks_only: bool,
}

impl Default for ContributionType {
    fn default() -> ContributionType {
        let percent = |n: u128| Fixed::from_raw(Fixed::SCALE / 100 * n);
        ContributionType {
            fee: Fixed::ONE,
            stake: percent(2),
            distribution_stake: percent(8),
            reward_threshold: percent(50),
            token_reward_factor: Fixed::from_int(50),
            reputation_reward_factor: Fixed::from_int(5),
            evaluation_set: vec![Fixed::ZERO, Fixed::ONE],
            evaluator_token_fund: Fixed::from_int(10),
            thanks_only: false,
        }
    }
}

impl ContributionType {
    /// A thanks-only type: everything that would price it is zero.
    pub fn thanks_only() -> ContributionType {
        ContributionType {
            fee: Fixed::ZERO,
            evaluator_token_fund: Fixed::ZERO,
            thanks_only: true,
            ..ContributionType::default()
        }
    }

    /// The largest value of the evaluation set; issuance is scaled by it.
    pub fn value_max(&self) -> Fixed {
        self.evaluation_set.last().copied().unwrap_or(Fixed::ZERO)
    }

    pub fn allows(&self, value: Fixed) -> bool {
        self.evaluation_set.binary_search(&value).is_ok()
    }

    /// The evaluation set written for people: `0, 1, 2`.
    pub fn evaluation_set_text(&self) -> String {
        let values: Vec<String> = self.evaluation_set.iter().map(Fixed::to_string).collect();
        values.join(", ")
    }

    /// Sorts the evaluation set and checks every parameter.
    pub(crate) fn validate(&mut self, kind: &str) -> Result<(), ProtocolError> {
        let name = |field: &str| format!("{field} of contribution type {kind:?}");
        for (field, value) in [
            ("stake", self.stake),
            ("distribution_stake", self.distribution_stake),
            ("reward_threshold", self.reward_threshold),
        ] {
            check_fraction(&name(field), value)?;
        }
        for (field, value) in [
            ("fee", self.fee),
            ("token_reward_factor", self.token_reward_factor),
            ("reputation_reward_factor", self.reputation_reward_factor),
            ("evaluator_token_fund", self.evaluator_token_fund),
        ] {
            check_amount(&name(field), value)?;
        }
        self.evaluation_set.sort();
        let n_values = self.evaluation_set.len();
        let invalid = |reason: String| ProtocolError::InvalidParameter {
            name: name("evaluation_set"),
            reason,
        };
        if n_values == 0 {
            return Err(invalid("it is empty".to_string()));
        }
        if n_values > EVALUATION_SET_LEN_MAX as usize {
            return Err(invalid(format!(
                "it has {n_values} values, the maximum is {EVALUATION_SET_LEN_MAX}"
            )));
        }
        if self
            .evaluation_set
            .windows(2)
            .any(|pair| pair[0] == pair[1])
        {
            return Err(invalid("it names a value twice".to_string()));
        }
        if self.value_max().is_zero() {
            return Err(invalid("it needs a value above 0".to_string()));
        }
        if self.value_max() > AMOUNT_MAX {
            return Err(invalid(format!("its values must be at most {AMOUNT_MAX}")));
        }
        if self.thanks_only {
            // Care is not priced: nothing is charged, nothing is funded.
            self.fee = Fixed::ZERO;
            self.evaluator_token_fund = Fixed::ZERO;
        }
        Ok(())
    }
}

impl DcParams {
    pub(crate) fn validate(&self) -> Result<(), ProtocolError> {
        check_fraction("referral_fraction", self.referral_fraction)?;
        if self.beta > BETA_MAX {
            return Err(ProtocolError::InvalidParameter {
                name: "beta".to_string(),
                reason: format!("{} is above the maximum of {BETA_MAX}", self.beta),
            });
        }
        check_amount("initial_reputation", self.initial_reputation)?;
        check_amount("initial_tokens", self.initial_tokens)?;
        Ok(())
    }
}

fn check_fraction(name: &str, value: Fixed) -> Result<(), ProtocolError> {
    if value > Fixed::ONE {
        return Err(ProtocolError::InvalidParameter {
            name: name.to_string(),
            reason: format!("{value} is not a fraction between 0 and 1"),
        });
    }
    Ok(())
}

pub(crate) fn check_amount(name: &str, value: Fixed) -> Result<(), ProtocolError> {
    if value > AMOUNT_MAX {
        return Err(ProtocolError::InvalidParameter {
            name: name.to_string(),
            reason: format!("{value} is above the maximum of {AMOUNT_MAX}"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_reference_defaults() {
        let kind = ContributionType::default();
        assert_eq!(kind.stake.to_string(), "0.02");
        assert_eq!(kind.distribution_stake.to_string(), "0.08");
        assert_eq!(kind.reward_threshold.to_string(), "0.5");
        let dc = DcParams::default();
        assert_eq!(dc.beta.to_string(), "0.5");
        assert_eq!(dc.referral_fraction.to_string(), "0.2");
        assert_eq!(dc.rules, RuleSet::Backfeed);
    }

    #[test]
    fn evaluation_sets_are_checked() {
        let check = |set: &[u64], ok: bool| {
            let mut kind = ContributionType {
                evaluation_set: set.iter().map(|&v| Fixed::from_int(v)).collect(),
                ..ContributionType::default()
            };
            assert_eq!(kind.validate("t").is_ok(), ok, "{set:?}");
        };
        check(&[0, 1], true);
        check(&[5, 0, 3], true);
        check(&[], false);
        check(&[0], false);
        check(&[1, 1], false);
        check(&(0..17).collect::<Vec<_>>(), false);
    }

    #[test]
    fn fractions_are_checked() {
        let mut kind = ContributionType {
            stake: Fixed::from_int(2),
            ..ContributionType::default()
        };
        let error = kind.validate("code").unwrap_err().to_string();
        assert!(
            error.contains("stake of contribution type \"code\""),
            "{error}"
        );
    }
}
