//! The JSON forms of operations, transactions and amounts: the HTTP API's
//! and the CLI's `--json` vocabulary. ALPHA.
//!
//! Amounts are exact decimal strings (`"14.545454545454545455"`); a JSON
//! number is accepted on input and read as the shortest decimal that denotes
//! the same double. An amount is never rounded: one with more than 18
//! decimals is refused, and a JSON number that a double cannot hold exactly
//! is refused by [`check_exact_numbers`] before it is read. Conversions to
//! protocol types validate every id and say which field was wrong.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stigmer_ledger::codec::parse_account;
use stigmer_ledger::tx::{PublicKey, SignedTransaction, Transaction, unhex};
use stigmer_protocol::{
    Asset, ContributionId, ContributionType, CreateDc, DcId, DcParams, Fixed, Founder, Operation,
    RuleSet, TypeName,
};

/// An exact decimal amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Decimal(pub Fixed);

/// What an amount looks like: digits, then at most 18 decimals.
pub const DECIMAL_PATTERN: &str = r"^[0-9]+(\.[0-9]{1,18})?$";

impl utoipa::PartialSchema for Decimal {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(DECIMAL_PATTERN))
            .description(Some(
                "An exact non-negative decimal amount with at most 18 fractional digits, \
                 in its shortest spelling (no trailing zeros). Requests may also give a \
                 JSON number, if a double holds it exactly; more than 18 decimals is \
                 refused, never rounded.",
            ))
            .examples(["14.545454545454545455", "5"])
            .into()
    }
}

impl utoipa::ToSchema for Decimal {}

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => text
                .parse()
                .map(Decimal)
                .map_err(|e| D::Error::custom(format!("amount {text:?}: {e}"))),
            serde_json::Value::Number(number) => {
                if let Some(integer) = number.as_u64() {
                    return Ok(Decimal(Fixed::from_int(integer)));
                }
                let float = number.as_f64().unwrap_or(f64::NAN);
                Fixed::from_f64_shortest(float)
                    .map(Decimal)
                    .map_err(|e| D::Error::custom(format!("amount {number}: {e}")))
            }
            other => Err(D::Error::custom(format!(
                "amount: expected a decimal string or number, got {other}"
            ))),
        }
    }
}

/// Refuses a JSON text holding a number that would not be read exactly:
/// more than 18 decimals (`1.5e-19`), or more significant digits than a
/// double holds (`0.1000000000000000000001`), which serde would round
/// silently. Integers up to `u64::MAX` are read exactly and pass. The
/// error quotes the number.
pub fn check_exact_numbers(text: &[u8]) -> Result<(), String> {
    let mut at = 0;
    let mut in_string = false;
    while let Some(&byte) = text.get(at) {
        if in_string {
            match byte {
                b'\\' => at += 1,
                b'"' => in_string = false,
                _ => {}
            }
            at += 1;
            continue;
        }
        if byte == b'"' {
            in_string = true;
            at += 1;
            continue;
        }
        if byte == b'-' || byte.is_ascii_digit() {
            let start = at;
            while text.get(at).is_some_and(|b| {
                b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
            }) {
                at += 1;
            }
            let literal = std::str::from_utf8(&text[start..at]).unwrap_or_default();
            check_exact_number(literal)?;
            continue;
        }
        at += 1;
    }
    Ok(())
}

fn check_exact_number(literal: &str) -> Result<(), String> {
    let unsigned = literal.strip_prefix('-').unwrap_or(literal);
    if unsigned.bytes().all(|b| b.is_ascii_digit()) && unsigned.parse::<u64>().is_ok() {
        return Ok(());
    }
    // Not JSON: the parser will say so.
    let (Some(exact), Ok(double)) = (normalized(literal), literal.parse::<f64>()) else {
        return Ok(());
    };
    if exact.1 < -i64::from(Fixed::DECIMALS) && exact.0 != "0" {
        return Err(format!(
            "{literal}: more than 18 digits after the decimal point (amounts are exact to \
             18 decimals, never rounded)"
        ));
    }
    if double.is_finite() && normalized(&format!("{double:e}")) != Some(exact) {
        return Err(format!(
            "{literal}: a JSON number this precise cannot be read exactly; send it as a \
             string (\"{literal}\")"
        ));
    }
    Ok(())
}

/// A decimal literal as significant digits (no leading or trailing zeros,
/// "0" for zero) and the power of ten of the last one.
fn normalized(literal: &str) -> Option<(String, i64)> {
    let unsigned = literal.strip_prefix('-').unwrap_or(literal);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let mut power = exponent.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let digits = digits.trim_start_matches('0');
    let significant = digits.trim_end_matches('0');
    if significant.is_empty() {
        return Some(("0".to_string(), 0));
    }
    power = power.checked_add(i64::try_from(digits.len() - significant.len()).ok()?)?;
    Some((significant.to_string(), power))
}

/// The body of a transaction: what the signer asks for, told apart by
/// `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = Operation)]
pub enum OperationJson {
    /// Found a DC; the signer becomes its steward.
    CreateDc {
        id: String,
        name: String,
        token_symbol: String,
        #[serde(default)]
        params: ParamsJson,
        /// The DC's contribution types, by name.
        types: BTreeMap<String, TypeJson>,
        #[serde(default)]
        founders: Vec<FounderJson>,
    },
    /// Join a DC, optionally naming the member who referred the signer.
    Join {
        dc: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        referrer: Option<String>,
    },
    /// Leave a DC.
    Leave { dc: String },
    /// Submit a contribution of one of the DC's types.
    Contribute {
        dc: String,
        /// The contribution's id, unique in the DC.
        id: String,
        contribution_type: String,
        #[serde(default)]
        title: String,
    },
    /// Evaluate a contribution with a value of its type's evaluation set.
    Evaluate {
        dc: String,
        contribution: String,
        value: Decimal,
    },
    /// Thank a contribution: no stake, no issuance.
    Thank { dc: String, contribution: String },
    /// Send tokens to another account of the DC.
    Transfer {
        dc: String,
        /// The recipient's agent id.
        to: String,
        amount: Decimal,
        #[serde(default)]
        asset: AssetJson,
    },
    /// Act in another DC as the DC `dc` (the signer must be its steward).
    AsDc {
        dc: String,
        /// The operation, done by the DC's account `dc:<dc>`.
        #[schema(no_recursion)]
        operation: Box<OperationJson>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Asset)]
pub enum AssetJson {
    #[default]
    Tokens,
    Reputation,
}

/// A DC's parameters. Every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = DcParams)]
pub struct ParamsJson {
    /// The rule set: `backfeed` or `backfeed-classic`.
    #[schema(pattern = "^(backfeed|backfeed-classic)$")]
    pub rules: String,
    pub beta: Decimal,
    pub referral_fraction: Decimal,
    pub reward_evaluators_with_tokens: bool,
    pub initial_reputation: Decimal,
    pub initial_tokens: Decimal,
}

impl Default for ParamsJson {
    fn default() -> ParamsJson {
        ParamsJson::from(&DcParams::default())
    }
}

impl From<&DcParams> for ParamsJson {
    fn from(params: &DcParams) -> ParamsJson {
        ParamsJson {
            rules: params.rules.name().to_string(),
            beta: Decimal(params.beta),
            referral_fraction: Decimal(params.referral_fraction),
            reward_evaluators_with_tokens: params.reward_evaluators_with_tokens,
            initial_reputation: Decimal(params.initial_reputation),
            initial_tokens: Decimal(params.initial_tokens),
        }
    }
}

/// A contribution type's parameters. Every field has a default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = ContributionType)]
pub struct TypeJson {
    pub fee: Decimal,
    pub stake: Decimal,
    pub distribution_stake: Decimal,
    pub reward_threshold: Decimal,
    pub token_reward_factor: Decimal,
    pub reputation_reward_factor: Decimal,
    pub evaluation_set: Vec<Decimal>,
    pub evaluator_token_fund: Decimal,
    pub thanks_only: bool,
}

impl Default for TypeJson {
    fn default() -> TypeJson {
        TypeJson::from(&ContributionType::default())
    }
}

impl From<&ContributionType> for TypeJson {
    fn from(kind: &ContributionType) -> TypeJson {
        TypeJson {
            fee: Decimal(kind.fee),
            stake: Decimal(kind.stake),
            distribution_stake: Decimal(kind.distribution_stake),
            reward_threshold: Decimal(kind.reward_threshold),
            token_reward_factor: Decimal(kind.token_reward_factor),
            reputation_reward_factor: Decimal(kind.reputation_reward_factor),
            evaluation_set: kind.evaluation_set.iter().copied().map(Decimal).collect(),
            evaluator_token_fund: Decimal(kind.evaluator_token_fund),
            thanks_only: kind.thanks_only,
        }
    }
}

/// A founding member of a DC and what they start with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Founder)]
pub struct FounderJson {
    pub agent: String,
    pub reputation: Decimal,
    pub tokens: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<String>,
}

/// Why a JSON form could not become a protocol value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct JsonError {
    pub field: String,
    pub reason: String,
}

fn field<T, E: std::fmt::Display>(name: &str, result: Result<T, E>) -> Result<T, JsonError> {
    result.map_err(|e| JsonError {
        field: name.to_string(),
        reason: e.to_string(),
    })
}

impl OperationJson {
    pub fn to_operation(&self) -> Result<Operation, JsonError> {
        let dc_id = |dc: &str| field("dc", DcId::new(dc));
        Ok(match self {
            OperationJson::CreateDc {
                id,
                name,
                token_symbol,
                params,
                types,
                founders,
            } => {
                let params = DcParams {
                    rules: field("params.rules", params.rules.parse::<RuleSet>())?,
                    beta: params.beta.0,
                    referral_fraction: params.referral_fraction.0,
                    reward_evaluators_with_tokens: params.reward_evaluators_with_tokens,
                    initial_reputation: params.initial_reputation.0,
                    initial_tokens: params.initial_tokens.0,
                };
                let mut parsed_types = BTreeMap::new();
                for (type_name, kind) in types {
                    parsed_types.insert(
                        field(&format!("types.{type_name}"), TypeName::new(type_name))?,
                        ContributionType {
                            fee: kind.fee.0,
                            stake: kind.stake.0,
                            distribution_stake: kind.distribution_stake.0,
                            reward_threshold: kind.reward_threshold.0,
                            token_reward_factor: kind.token_reward_factor.0,
                            reputation_reward_factor: kind.reputation_reward_factor.0,
                            evaluation_set: kind.evaluation_set.iter().map(|v| v.0).collect(),
                            evaluator_token_fund: kind.evaluator_token_fund.0,
                            thanks_only: kind.thanks_only,
                        },
                    );
                }
                let founders = founders
                    .iter()
                    .enumerate()
                    .map(|(index, founder)| {
                        let name = format!("founders[{index}]");
                        Ok(Founder {
                            agent: field(&name, parse_account(&founder.agent))?,
                            reputation: founder.reputation.0,
                            tokens: founder.tokens.0,
                            referrer: founder
                                .referrer
                                .as_deref()
                                .map(|r| field(&name, parse_account(r)))
                                .transpose()?,
                        })
                    })
                    .collect::<Result<Vec<_>, JsonError>>()?;
                Operation::CreateDc(CreateDc {
                    id: field("id", DcId::new(id))?,
                    name: name.clone(),
                    token_symbol: token_symbol.clone(),
                    params,
                    types: parsed_types,
                    founders,
                })
            }
            OperationJson::Join { dc, referrer } => Operation::Join {
                dc: dc_id(dc)?,
                referrer: referrer
                    .as_deref()
                    .map(|r| field("referrer", parse_account(r)))
                    .transpose()?,
            },
            OperationJson::Leave { dc } => Operation::Leave { dc: dc_id(dc)? },
            OperationJson::Contribute {
                dc,
                id,
                contribution_type,
                title,
            } => Operation::Contribute {
                dc: dc_id(dc)?,
                id: field("id", ContributionId::new(id))?,
                kind: field("contribution_type", TypeName::new(contribution_type))?,
                title: title.clone(),
            },
            OperationJson::Evaluate {
                dc,
                contribution,
                value,
            } => Operation::Evaluate {
                dc: dc_id(dc)?,
                contribution: field("contribution", ContributionId::new(contribution))?,
                value: value.0,
            },
            OperationJson::Thank { dc, contribution } => Operation::Thank {
                dc: dc_id(dc)?,
                contribution: field("contribution", ContributionId::new(contribution))?,
            },
            OperationJson::Transfer {
                dc,
                to,
                amount,
                asset,
            } => Operation::Transfer {
                dc: dc_id(dc)?,
                to: field("to", parse_account(to))?,
                amount: amount.0,
                asset: match asset {
                    AssetJson::Tokens => Asset::Tokens,
                    AssetJson::Reputation => Asset::Reputation,
                },
            },
            OperationJson::AsDc { dc, operation } => Operation::AsDc {
                dc: dc_id(dc)?,
                operation: Box::new(operation.to_operation()?),
            },
        })
    }

    pub fn from_operation(operation: &Operation) -> OperationJson {
        match operation {
            Operation::CreateDc(create) => OperationJson::CreateDc {
                id: create.id.to_string(),
                name: create.name.clone(),
                token_symbol: create.token_symbol.clone(),
                params: ParamsJson::from(&create.params),
                types: create
                    .types
                    .iter()
                    .map(|(name, kind)| (name.to_string(), TypeJson::from(kind)))
                    .collect(),
                founders: create
                    .founders
                    .iter()
                    .map(|founder| FounderJson {
                        agent: founder.agent.to_string(),
                        reputation: Decimal(founder.reputation),
                        tokens: Decimal(founder.tokens),
                        referrer: founder.referrer.as_ref().map(ToString::to_string),
                    })
                    .collect(),
            },
            Operation::Join { dc, referrer } => OperationJson::Join {
                dc: dc.to_string(),
                referrer: referrer.as_ref().map(ToString::to_string),
            },
            Operation::Leave { dc } => OperationJson::Leave { dc: dc.to_string() },
            Operation::Contribute {
                dc,
                id,
                kind,
                title,
            } => OperationJson::Contribute {
                dc: dc.to_string(),
                id: id.to_string(),
                contribution_type: kind.to_string(),
                title: title.clone(),
            },
            Operation::Evaluate {
                dc,
                contribution,
                value,
            } => OperationJson::Evaluate {
                dc: dc.to_string(),
                contribution: contribution.to_string(),
                value: Decimal(*value),
            },
            Operation::Thank { dc, contribution } => OperationJson::Thank {
                dc: dc.to_string(),
                contribution: contribution.to_string(),
            },
            Operation::Transfer {
                dc,
                to,
                amount,
                asset,
            } => OperationJson::Transfer {
                dc: dc.to_string(),
                to: to.to_string(),
                amount: Decimal(*amount),
                asset: match asset {
                    Asset::Tokens => AssetJson::Tokens,
                    Asset::Reputation => AssetJson::Reputation,
                },
            },
            Operation::AsDc { dc, operation } => OperationJson::AsDc {
                dc: dc.to_string(),
                operation: Box::new(OperationJson::from_operation(operation)),
            },
        }
    }
}

/// A signed transaction in JSON. The signature is over the canonical
/// binary encoding, which is rebuilt from these fields to check it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Transaction)]
pub struct TransactionJson {
    pub chain_id: String,
    /// The signer's public key, hex: also its agent id.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub signer: String,
    pub nonce: u64,
    pub operation: OperationJson,
    /// 64 bytes, hex.
    #[schema(pattern = "^[0-9a-fA-F]{128}$")]
    pub signature: String,
}

impl TransactionJson {
    pub fn from_signed(tx: &SignedTransaction) -> TransactionJson {
        TransactionJson {
            chain_id: tx.transaction.chain_id.clone(),
            signer: tx.transaction.signer.to_string(),
            nonce: tx.transaction.nonce,
            operation: OperationJson::from_operation(&tx.transaction.operation),
            signature: stigmer_ledger::tx::hex(&tx.signature),
        }
    }

    pub fn to_signed(&self) -> Result<SignedTransaction, JsonError> {
        let signer = unhex::<32>(&self.signer).ok_or_else(|| JsonError {
            field: "signer".to_string(),
            reason: "expected 64 hex digits (an ed25519 public key)".to_string(),
        })?;
        let signature = unhex::<64>(&self.signature).ok_or_else(|| JsonError {
            field: "signature".to_string(),
            reason: "expected 128 hex digits".to_string(),
        })?;
        let operation = self.operation.to_operation().map_err(|e| JsonError {
            field: format!("operation.{}", e.field),
            reason: e.reason,
        })?;
        Ok(SignedTransaction {
            transaction: Transaction {
                chain_id: self.chain_id.clone(),
                signer: PublicKey(signer),
                nonce: self.nonce,
                operation,
            },
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_exactly_pass() {
        for text in [
            r#"{"a": 0.1, "b": 12.5, "c": 3, "d": 1e-18, "e": 18446744073709551615}"#,
            r#"[0, -0, 0.0, 1E2, 2.50, 0.12345678901234568, 1e20, -3]"#,
            r#"{"s": "1.5e-19 and 0.1000000000000000000001 in a string \" 1e-30"}"#,
        ] {
            assert_eq!(check_exact_numbers(text.as_bytes()), Ok(()), "{text}");
        }
    }

    #[test]
    fn numbers_that_would_be_rounded_are_refused() {
        for (text, number) in [
            (r#"{"amount": 1.5e-19}"#, "1.5e-19"),
            (
                r#"{"amount": 0.0000000000000000001}"#,
                "0.0000000000000000001",
            ),
            (r#"[1, {"x": "y"}, 5e-324]"#, "5e-324"),
            (
                r#"{"amount": 0.1000000000000000000001}"#,
                "0.1000000000000000000001",
            ),
            (
                r#"{"amount": 123456789012345678901}"#,
                "123456789012345678901",
            ),
        ] {
            let error = check_exact_numbers(text.as_bytes()).unwrap_err();
            assert!(error.starts_with(number), "{text}: {error}");
        }
    }

    #[test]
    fn decimal_amounts_are_never_rounded() {
        for text in ["1.5e-19", "1e-20", "\"0.0000000000000000015\""] {
            let error = serde_json::from_str::<Decimal>(text)
                .unwrap_err()
                .to_string();
            assert!(error.contains("18"), "{text}: {error}");
        }
        assert_eq!(
            serde_json::from_str::<Decimal>("1e-18").unwrap(),
            Decimal(Fixed::from_raw(1))
        );
    }
}
