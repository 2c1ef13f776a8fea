//! Proof-of-Value: `contribute`, `evaluate`, `thank`, and `contribution`,
//! which shows one with its evaluations. The commands of a module of the
//! protocol live in a file of their own, as these do; the next module
//! copies this shape.

use clap::Args;
use stigmer_protocol::Operation;

use super::{QueryArgs, SignArgs, fetch, more_at, send};
use crate::Outcome;

#[derive(Args)]
pub struct ContributeArgs {
    dc: String,
    /// A short id for the contribution, unique in the DC.
    id: String,
    #[arg(long = "type")]
    kind: String,
    #[arg(long, default_value = "")]
    title: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn contribute(args: ContributeArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Contribute {
            dc: args.dc.parse()?,
            id: args.id.parse()?,
            kind: args.kind.parse()?,
            title: args.title,
        },
    )
}

#[derive(Args)]
pub struct EvaluateArgs {
    dc: String,
    contribution: String,
    /// A value of the contribution type's scale.
    value: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Evaluate {
            dc: args.dc.parse()?,
            contribution: args.contribution.parse()?,
            value: args.value.parse()?,
        },
    )
}

#[derive(Args)]
pub struct ThankArgs {
    dc: String,
    contribution: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn thank(args: ThankArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Thank {
            dc: args.dc.parse()?,
            contribution: args.contribution.parse()?,
        },
    )
}

#[derive(Args)]
pub struct ContributionArgs {
    dc: String,
    id: String,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn contribution(args: ContributionArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/dcs/{}/contributions/{}", args.dc, args.id),
        "contribution",
        |d| {
            let mut lines = vec![format!(
                "{} \"{}\" by {}: best score {}, issued {} tokens and {} reputation, {} thanks",
                d["id"].as_str().unwrap_or(""),
                d["title"].as_str().unwrap_or(""),
                d["contributor"].as_str().unwrap_or(""),
                d["score_max"].as_str().unwrap_or(""),
                d["tokens_issued"].as_str().unwrap_or(""),
                d["reputation_issued"].as_str().unwrap_or(""),
                d["n_thanks"],
            )];
            for e in d["evaluations"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {} rated {}{}",
                    e["evaluator"].as_str().unwrap_or(""),
                    e["value"].as_str().unwrap_or(""),
                    if e["superseded"] == true {
                        " (superseded)"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(next) = d["evaluations_next"].as_str() {
                lines.push(more_at(
                    "more evaluations",
                    &format!(
                        "/api/v1/dcs/{}/contributions/{}/evaluations?cursor={next}",
                        args.dc, args.id
                    ),
                ));
            }
            lines.join("\n")
        },
    )
}
