//! The JSON form of scenarios and of their results (`SCENARIOS.md`).
//!
//! Numbers are read exactly: a JSON number is taken as the shortest decimal
//! that denotes the same double (so `0.02` is 0.02, not its binary
//! approximation), and decimal strings are accepted too. Results are written
//! as exact decimal strings.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, anyhow, bail};
use serde_json::{Map, Value};
use stigmer_protocol::scenario::{Scenario, Step};
use stigmer_protocol::state::Dc;
use stigmer_protocol::{ContributionType, DcParams, Fixed, ProtocolError, TypeName};

/// Reads a scenario; the error names the field that is wrong.
pub fn parse(text: &str) -> anyhow::Result<Scenario> {
    let root: Value = serde_json::from_str(text).context("the file is not valid JSON")?;
    // Numbers are read as doubles: refuse any that would be rounded.
    stigmer_node::json::check_exact_numbers(text.as_bytes()).map_err(|e| anyhow!(e))?;
    let root = object(&root, "the scenario")?;
    let name = match root.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(name)) => name.clone(),
        Some(_) => bail!("name: expected a string"),
    };
    let dc = object(root.get("dc").unwrap_or(&Value::Null), "dc")?;
    let (params, types) = parse_dc(dc)?;
    let Some(Value::Array(steps)) = root.get("steps") else {
        bail!("steps: expected an array of steps");
    };
    let steps = steps
        .iter()
        .enumerate()
        .map(|(index, step)| parse_step(step).with_context(|| format!("steps[{index}]")))
        .collect::<anyhow::Result<Vec<Step>>>()?;
    Ok(Scenario {
        name,
        params,
        types,
        steps,
    })
}

fn parse_dc(
    dc: &Map<String, Value>,
) -> anyhow::Result<(DcParams, BTreeMap<TypeName, ContributionType>)> {
    let mut params = DcParams::default();
    for (key, value) in dc {
        let field = format!("dc.{key}");
        match key.as_str() {
            "rules" => {
                params.rules = string(value, &field)?
                    .parse()
                    .map_err(|e: ProtocolError| anyhow!("{field}: {e}"))?
            }
            "beta" => params.beta = number(value, &field)?,
            "referral_fraction" => params.referral_fraction = number(value, &field)?,
            "reward_evaluators_with_tokens" => {
                params.reward_evaluators_with_tokens = value
                    .as_bool()
                    .ok_or_else(|| anyhow!("{field}: expected true or false"))?
            }
            "initial_reputation" => params.initial_reputation = number(value, &field)?,
            "initial_tokens" => params.initial_tokens = number(value, &field)?,
            "contribution_types" => {}
            _ => bail!("{field}: unknown parameter"),
        }
    }
    let kinds = object(
        dc.get("contribution_types").unwrap_or(&Value::Null),
        "dc.contribution_types",
    )?;
    let mut types = BTreeMap::new();
    for (name, kind) in kinds {
        let field = format!("dc.contribution_types.{name}");
        let type_name = TypeName::new(name).map_err(|e| anyhow!("{field}: {e}"))?;
        types.insert(type_name, parse_type(object(kind, &field)?, &field)?);
    }
    Ok((params, types))
}

fn parse_type(kind: &Map<String, Value>, path: &str) -> anyhow::Result<ContributionType> {
    let mut parsed = ContributionType::default();
    for (key, value) in kind {
        let field = format!("{path}.{key}");
        let slot = match key.as_str() {
            "fee" => &mut parsed.fee,
            "stake" => &mut parsed.stake,
            "distribution_stake" => &mut parsed.distribution_stake,
            "reward_threshold" => &mut parsed.reward_threshold,
            "token_reward_factor" => &mut parsed.token_reward_factor,
            "reputation_reward_factor" => &mut parsed.reputation_reward_factor,
            "evaluator_token_fund" => &mut parsed.evaluator_token_fund,
            "evaluation_set" => {
                let Value::Array(values) = value else {
                    bail!("{field}: expected an array of numbers");
                };
                parsed.evaluation_set = values
                    .iter()
                    .map(|value| number(value, &field))
                    .collect::<anyhow::Result<_>>()?;
                continue;
            }
            "thanks_only" => {
                parsed.thanks_only = value
                    .as_bool()
                    .ok_or_else(|| anyhow!("{field}: expected true or false"))?;
                continue;
            }
            _ => bail!("{field}: unknown parameter"),
        };
        *slot = number(value, &field)?;
    }
    Ok(parsed)
}

fn parse_step(step: &Value) -> anyhow::Result<Step> {
    let step = object(step, "a step")?;
    let mut entries = step.iter();
    let (Some((kind, body)), None) = (entries.next(), entries.next()) else {
        bail!(
            "a step is an object with exactly one key: join, contribute, evaluate, leave, thank or transfer"
        );
    };
    let body = object(body, kind)?;
    let text = |key: &str| -> anyhow::Result<String> {
        string(
            body.get(key).unwrap_or(&Value::Null),
            &format!("{kind}.{key}"),
        )
        .map(str::to_string)
    };
    // Bad numbers fail their step, not the file: keep them as written.
    let amount = |key: &str| -> anyhow::Result<stigmer_protocol::scenario::Amount> {
        let value = body.get(key).unwrap_or(&Value::Null);
        Ok(match value {
            Value::Number(_) | Value::String(_) => {
                number_in_step(value).map_err(|reason| (value.to_string(), reason))
            }
            _ => bail!("{kind}.{key}: expected a number"),
        })
    };
    let amount_or = |key: &str, default: u64| match body.get(key) {
        None | Some(Value::Null) => Ok(Ok(Fixed::from_int(default))),
        Some(_) => amount(key),
    };
    Ok(match kind.as_str() {
        "join" => Step::Join {
            agent: text("agent")?,
            // The reference's defaults when a scenario leaves them out.
            reputation: amount_or("reputation", 20)?,
            tokens: amount_or("tokens", 50)?,
            referrer: match body.get("referrer") {
                None | Some(Value::Null) => None,
                Some(_) => Some(text("referrer")?),
            },
        },
        "contribute" => Step::Contribute {
            agent: text("agent")?,
            id: text("id")?,
            kind: match body.get("type") {
                None | Some(Value::Null) => None,
                Some(_) => Some(text("type")?),
            },
        },
        "evaluate" => Step::Evaluate {
            agent: text("agent")?,
            contribution: text("contribution")?,
            value: amount("value")?,
        },
        "leave" => Step::Leave {
            agent: text("agent")?,
        },
        "thank" => Step::Thank {
            agent: text("agent")?,
            contribution: text("contribution")?,
        },
        "transfer" => Step::Transfer {
            agent: text("agent")?,
            to: text("to")?,
            amount: amount("amount")?,
        },
        _ => {
            bail!("unknown step {kind:?}; use join, contribute, evaluate, leave, thank or transfer")
        }
    })
}

fn object<'v>(value: &'v Value, what: &str) -> anyhow::Result<&'v Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| anyhow!("{what}: expected an object"))
}

fn string<'v>(value: &'v Value, field: &str) -> anyhow::Result<&'v str> {
    value
        .as_str()
        .ok_or_else(|| anyhow!("{field}: expected a string"))
}

/// A JSON number or decimal string, read exactly.
pub fn number(value: &Value, field: &str) -> anyhow::Result<Fixed> {
    let parsed = match value {
        Value::Number(number) => {
            if let Some(integer) = number.as_u64() {
                Ok(Fixed::from_int(integer))
            } else if number.as_i64().is_some() {
                bail!("{field}: {number} is negative; amounts are never negative")
            } else {
                let float = number.as_f64().unwrap_or(f64::NAN);
                if float < 0.0 {
                    bail!("{field}: {number} is negative; amounts are never negative")
                }
                Fixed::from_f64_shortest(float)
            }
        }
        Value::String(text) => text.parse(),
        _ => bail!("{field}: expected a number"),
    };
    parsed.map_err(|e| anyhow!("{field}: {e}"))
}

/// A number of a step, or why it is not an amount.
fn number_in_step(value: &Value) -> Result<Fixed, String> {
    number(value, "").map_err(|e| {
        let message = e.to_string();
        message.trim_start_matches(": ").to_string()
    })
}

/// Reads a figure of an expected or actual result (number or decimal string)
/// as a float, for comparison within a tolerance.
fn figure(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// One step's result as a line of JSON. Written directly rather than
/// through `serde_json::Value`: a reference-sized scenario prints hundreds of
/// thousands of figures.
pub fn step_result(index: usize, result: &Result<(), ProtocolError>, dc: &Dc) -> String {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(64 + 64 * dc.members().len());
    let error = match result {
        Ok(()) => "null".to_string(),
        Err(error) => json_string(&error.to_string()),
    };
    let _ = write!(
        line,
        r#"{{"step":{index},"ok":{},"error":{error},"agents":{{"#,
        result.is_ok()
    );
    for (position, member) in dc.members().iter().enumerate() {
        let separator = if position == 0 { "" } else { "," };
        let _ = write!(
            line,
            r#"{separator}{}:{{"reputation":"{}","tokens":"{}"}}"#,
            json_string(member.agent.as_str()),
            member.reputation,
            member.tokens,
        );
    }
    line.push_str("}}");
    line
}

fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}

/// Writes results as a JSON array, one step per line.
pub fn write_results(out: &mut impl Write, results: &[String]) -> std::io::Result<()> {
    out.write_all(b"[")?;
    for (index, result) in results.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        out.write_all(b"\n")?;
        out.write_all(result.as_bytes())?;
    }
    out.write_all(b"\n]\n")?;
    Ok(())
}

/// Compares results with a scenario's `expect` (`SCENARIOS.md`,
/// "Conformance"): every `ok` flag equal, every figure within a relative
/// error of 1e-9 (absolute 1e-9 near zero). Returns the first difference.
pub fn compare(expected: &[Value], actual: &[Value]) -> Result<(), String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "expected {} steps, got {}",
            expected.len(),
            actual.len()
        ));
    }
    for (index, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        if expected.get("ok") != actual.get("ok") {
            return Err(format!(
                "step {index}: expected ok = {}, got {} ({})",
                expected.get("ok").unwrap_or(&Value::Null),
                actual.get("ok").unwrap_or(&Value::Null),
                actual.get("error").unwrap_or(&Value::Null),
            ));
        }
        let empty = Map::new();
        let expected_agents = expected
            .get("agents")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let actual_agents = actual
            .get("agents")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if expected_agents.len() != actual_agents.len() {
            return Err(format!(
                "step {index}: expected {} agents, got {}",
                expected_agents.len(),
                actual_agents.len()
            ));
        }
        for (agent, expected_figures) in expected_agents {
            let Some(actual_figures) = actual_agents.get(agent) else {
                return Err(format!("step {index}: agent {agent:?} is missing"));
            };
            for key in ["reputation", "tokens"] {
                let want = expected_figures.get(key).and_then(figure);
                let got = actual_figures.get(key).and_then(figure);
                let (Some(want), Some(got)) = (want, got) else {
                    return Err(format!(
                        "step {index}: {agent}.{key} is missing or not a number"
                    ));
                };
                let error = (want - got).abs();
                if error > 1e-9 && error > 1e-9 * want.abs() {
                    return Err(format!(
                        "step {index}: {agent}.{key} expected {want}, got {got} (difference {error:e})"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The scenario's `expect`, if any.
pub fn expectations(text: &str) -> anyhow::Result<Option<Vec<Value>>> {
    let root: Value = serde_json::from_str(text).context("the file is not valid JSON")?;
    match root.get("expect") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(steps)) => Ok(Some(steps.clone())),
        Some(_) => bail!("expect: expected an array of step results"),
    }
}
