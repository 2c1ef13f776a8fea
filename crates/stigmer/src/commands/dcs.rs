//! DCs and the accounts in them: `dc create|list|show`, `join`, `leave`,
//! `transfer`, and `prove`, which checks an account's balances against the
//! state root.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use stigmer_protocol::{Asset, ContributionType, CreateDc, DcParams, Fixed, Operation, RuleSet};

use super::{QueryArgs, SignArgs, agent_of, fetch, more_at, print, send};
use crate::Outcome;
use crate::client::{Answer, Client};

#[derive(Subcommand)]
pub enum DcCommand {
    /// Found a DC; you become its steward and first member.
    Create(DcCreateArgs),
    /// List the DCs on the ledger.
    List(QueryArgs),
    /// A DC's members, contributions and parameters.
    Show {
        dc: String,
        #[command(flatten)]
        query: QueryArgs,
    },
}

#[derive(Args)]
pub struct DcCreateArgs {
    /// The DC's id (lower case, digits, '-', '_').
    id: String,
    #[arg(long)]
    name: String,
    /// The DC's token symbol.
    #[arg(long)]
    token: String,
    /// `backfeed` (median issuance on any scale) or `backfeed-classic`.
    #[arg(long, default_value = "backfeed")]
    rules: String,
    /// Contribution types, each `name` or `name:thanks-only`.
    #[arg(long = "type", default_values_t = ["work".to_string()])]
    types: Vec<String>,
    /// The top of the evaluation scale (0 to this).
    #[arg(long, default_value_t = 5)]
    scale: u64,
    /// Your starting reputation as founder.
    #[arg(long, default_value = "10")]
    reputation: String,
    /// Your starting tokens as founder.
    #[arg(long, default_value = "100")]
    tokens: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn dc(command: DcCommand) -> anyhow::Result<Outcome> {
    match command {
        DcCommand::Create(args) => {
            let key = crate::keys::load(&args.sign.key)?;
            let rules: RuleSet = args.rules.parse()?;
            if args.scale == 0 || args.scale > 10 {
                bail!("--scale must be between 1 and 10");
            }
            let mut types = std::collections::BTreeMap::new();
            for entry in &args.types {
                let (name, kind) = match entry.split_once(':') {
                    Some((name, "thanks-only")) => (name, ContributionType::thanks_only()),
                    Some((_, other)) => {
                        bail!("unknown type option {other:?}; use name:thanks-only")
                    }
                    None => (
                        entry.as_str(),
                        ContributionType {
                            evaluation_set: (0..=args.scale).map(Fixed::from_int).collect(),
                            ..ContributionType::default()
                        },
                    ),
                };
                types.insert(name.parse()?, kind);
            }
            let operation = Operation::CreateDc(CreateDc {
                id: args.id.parse()?,
                name: args.name,
                token_symbol: args.token,
                params: DcParams {
                    rules,
                    ..DcParams::default()
                },
                types,
                founders: vec![stigmer_protocol::Founder {
                    agent: key.agent(),
                    reputation: args.reputation.parse()?,
                    tokens: args.tokens.parse()?,
                    referrer: None,
                }],
            });
            send(&args.sign, operation)
        }
        DcCommand::List(query) => fetch(&query, "/api/v1/dcs", "dcs", |d| {
            let mut lines = Vec::new();
            for dc in d["dcs"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "{:<16} {:<32} {:>4} members {:>5} contributions  token {}",
                    dc["id"].as_str().unwrap_or(""),
                    dc["name"].as_str().unwrap_or(""),
                    dc["n_members"],
                    dc["n_contributions"],
                    dc["token_symbol"].as_str().unwrap_or("")
                ));
            }
            if lines.is_empty() {
                return "no DC yet".to_string();
            }
            if let Some(next) = d["next"].as_str() {
                lines.push(more_at("more DCs", &format!("/api/v1/dcs?cursor={next}")));
            }
            lines.join("\n")
        }),
        DcCommand::Show { dc, query } => fetch(&query, &format!("/api/v1/dcs/{dc}"), "dc", |d| {
            let mut lines = vec![format!(
                "{} ({}), {} rules, token {}: total reputation {}, {} tokens in existence, treasury {}",
                d["name"].as_str().unwrap_or(""),
                d["id"].as_str().unwrap_or(""),
                d["rules"].as_str().unwrap_or(""),
                d["token_symbol"].as_str().unwrap_or(""),
                d["total_reputation"].as_str().unwrap_or(""),
                d["token_supply"].as_str().unwrap_or(""),
                d["treasury"].as_str().unwrap_or(""),
            )];
            lines.push("members:".to_string());
            for m in d["members"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {}  {:<12} reputation {:<24} tokens {}",
                    m["agent"].as_str().unwrap_or(""),
                    m["status"].as_str().unwrap_or(""),
                    m["reputation"].as_str().unwrap_or(""),
                    m["tokens"].as_str().unwrap_or("")
                ));
            }
            if let Some(next) = d["members_next"].as_str() {
                let id = d["id"].as_str().unwrap_or("");
                lines.push(more_at(
                    "more accounts",
                    &format!("/api/v1/dcs/{id}/members?cursor={next}"),
                ));
            }
            lines.push("contributions, newest first:".to_string());
            for c in d["contributions"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {:<16} {:<40} {} evaluations, issued {} tokens",
                    c["id"].as_str().unwrap_or(""),
                    c["title"].as_str().unwrap_or(""),
                    c["n_evaluations"],
                    c["tokens_issued"].as_str().unwrap_or("")
                ));
            }
            if let Some(next) = d["contributions_next"].as_str() {
                let id = d["id"].as_str().unwrap_or("");
                lines.push(more_at(
                    "older contributions",
                    &format!("/api/v1/dcs/{id}/contributions?cursor={next}"),
                ));
            }
            lines.join("\n")
        }),
    }
}

#[derive(Args)]
pub struct JoinArgs {
    dc: String,
    /// The member who brought you in.
    #[arg(long)]
    referrer: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn join(args: JoinArgs) -> anyhow::Result<Outcome> {
    let referrer = args.referrer.as_deref().map(agent_of).transpose()?;
    send(
        &args.sign,
        Operation::Join {
            dc: args.dc.parse()?,
            referrer: referrer.map(|r| r.parse()).transpose()?,
        },
    )
}

#[derive(Args)]
pub struct LeaveArgs {
    dc: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn leave(args: LeaveArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Leave {
            dc: args.dc.parse()?,
        },
    )
}

#[derive(Args)]
pub struct TransferArgs {
    dc: String,
    /// The receiver: a key name of yours or an agent id.
    to: String,
    amount: String,
    /// Reputation cannot be transferred; asking is refused by the ledger.
    #[arg(long)]
    reputation: bool,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn transfer(args: TransferArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Transfer {
            dc: args.dc.parse()?,
            to: stigmer_ledger::codec::parse_account(&agent_of(&args.to)?)
                .map_err(|reason| anyhow::anyhow!("{reason}"))?,
            amount: args.amount.parse()?,
            asset: if args.reputation {
                Asset::Reputation
            } else {
                Asset::Tokens
            },
        },
    )
}

#[derive(Args)]
pub struct ProveArgs {
    dc: String,
    /// A key name of yours or an agent id.
    agent: String,
    #[command(flatten)]
    query: QueryArgs,
}

/// Fetches an account's leaf and proof and checks them here: the balances
/// shown are those the state root commits to, whatever the node says.
pub fn prove(args: ProveArgs) -> anyhow::Result<Outcome> {
    use stigmer_ledger::commitment::{self, Proof};
    let agent = agent_of(&args.agent).unwrap_or(args.agent.clone());
    let data = match Client::new(&args.query.node)
        .get(&format!("/api/v1/dcs/{}/accounts/{agent}/proof", args.dc))?
    {
        Answer::Ok(data) => data,
        Answer::Refused(message) => {
            print(&args.query, "error", &json!({ "error": message }), |d| {
                format!("no: {}", d["error"].as_str().unwrap_or_default())
            });
            return Ok(Outcome::No);
        }
    };
    let bytes = |field: &str| -> anyhow::Result<Vec<u8>> {
        let text = data[field]
            .as_str()
            .with_context(|| format!("the node sent no {field}"))?;
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<_, _>>()
            .with_context(|| format!("{field} is not hex"))
    };
    let root = stigmer_ledger::Hash::parse(data["state_root"].as_str().unwrap_or_default())
        .context("the node sent no state root")?;
    let key = stigmer_ledger::leaves::account_key(&args.dc.parse()?, &agent.parse()?);
    if bytes("key")? != key {
        bail!("the node proved another key than the one asked for");
    }
    let value = bytes("value")?;
    let proof = Proof::from_bytes(&bytes("proof")?).context("the proof is malformed")?;
    let verified = commitment::verify(&root, &key, Some(&value), &proof);
    let (reputation, tokens) =
        stigmer_ledger::leaves::account_balances(&value).context("the leaf is malformed")?;
    let result = json!({
        "verified": verified,
        "height": data["height"],
        "state_root": root.to_string(),
        "reputation": reputation.to_string(),
        "tokens": tokens.to_string(),
    });
    print(&args.query, "proof", &result, |r| {
        if verified {
            format!(
                "verified: at height {} (state root {}), reputation {} and {} tokens",
                r["height"], root, reputation, tokens
            )
        } else {
            "NOT verified: the proof does not match the state root".to_string()
        }
    });
    Ok(if verified {
        Outcome::Success
    } else {
        Outcome::No
    })
}
