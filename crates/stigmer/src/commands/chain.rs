//! Questions about the chain as a whole: `status`, `block`, `tx`.

use clap::Args;

use super::{QueryArgs, fetch};
use crate::Outcome;

pub fn status(query: QueryArgs) -> anyhow::Result<Outcome> {
    fetch(&query, "/api/v1/status", "status", |d| {
        format!(
            "chain {}: height {}, state root {}, {} DCs, {} pending transactions, validators {}",
            d["chain_id"].as_str().unwrap_or(""),
            d["height"],
            d["state_root"].as_str().unwrap_or(""),
            d["dcs"],
            d["pending_transactions"],
            d["validators"]
                .as_array()
                .map(|keys| keys
                    .iter()
                    .map(|key| key.as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        )
    })
}

#[derive(Args)]
pub struct BlockArgs {
    height: u64,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn block(args: BlockArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/blocks/{}", args.height),
        "block",
        |d| {
            format!(
                "block {} {}: {} transactions, state root {}",
                d["height"],
                d["hash"].as_str().unwrap_or(""),
                d["n_transactions"],
                d["state_root"].as_str().unwrap_or("")
            )
        },
    )
}

#[derive(Args)]
pub struct TxArgs {
    hash: String,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn tx(args: TxArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/transactions/{}", args.hash),
        "transaction",
        |d| {
            format!(
                "transaction {}: {}{}",
                d["hash"].as_str().unwrap_or(""),
                d["status"].as_str().unwrap_or(""),
                match d["error"].as_str() {
                    Some(error) => format!(", refused: {error}"),
                    None => String::new(),
                }
            )
        },
    )
}
