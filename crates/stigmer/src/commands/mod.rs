//! The commands that run or talk to a node. Results go to stdout (human
//! text, or JSON Lines `{"type": ..., "data": ...}` with `--json`),
//! diagnostics to stderr.
//!
//! One file per area, as the node's API has: [`node`] (running and
//! checking a node here), [`chain`], [`dcs`], [`agents`] and [`pov`]
//! (Proof-of-Value). Here: what they share, the options of every command
//! that talks to a node or signs, and how answers are printed. A module of
//! the protocol adds `commands/<module>.rs` with its commands, as `pov`
//! does, and names them in `main.rs`.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use serde_json::{Value, json};
use stigmer_ledger::tx::Keypair;
use stigmer_protocol::Operation;

use crate::Outcome;
use crate::client::{Answer, Client};
use crate::shown::{escape_json, escape_value};

pub mod agents;
pub mod chain;
pub mod dcs;
pub mod node;
pub mod pov;

const DEFAULT_LISTEN: &str = "127.0.0.1:7650";
const DEFAULT_NODE: &str = "http://127.0.0.1:7650";

fn default_dir(name: &str) -> anyhow::Result<PathBuf> {
    Ok(crate::keys::home()?.join(name))
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An agent id from a key name or an id.
fn agent_of(name_or_id: &str) -> anyhow::Result<String> {
    match crate::keys::load(name_or_id) {
        Ok(key) => Ok(key.agent().to_string()),
        // An account as a transaction names it: a key in lower-case hex, or
        // a DC's account `dc:<id>`; anything else would be an account
        // nobody holds the key of.
        Err(_) if name_or_id.len() == 64 || name_or_id.starts_with("dc:") => {
            stigmer_ledger::codec::parse_account(name_or_id)
                .map(|account| account.to_string())
                .map_err(|reason| anyhow::anyhow!("{reason}"))
        }
        Err(error) => Err(error),
    }
}

/// Options of every command that talks to a node.
#[derive(Args, Clone)]
pub struct QueryArgs {
    /// The node's API.
    #[arg(long, default_value = DEFAULT_NODE, global = true)]
    node: String,
    /// Print JSON Lines instead of text.
    #[arg(long, global = true)]
    json: bool,
}

/// Options of every command that signs a transaction.
#[derive(Args, Clone)]
pub struct SignArgs {
    /// The key that signs (see `stigmer key list`).
    #[arg(long)]
    key: String,
    /// Act for this DC, of which you are the steward, with its own account.
    #[arg(long)]
    as_dc: Option<String>,
    #[command(flatten)]
    query: QueryArgs,
}

/// Prints `data`: as a JSON line with `--json`, else as `text` makes of it,
/// from a copy whose every string is escaped ([`escape_value`]), so that
/// nothing a node or the ledger says can act on the terminal.
fn print(query: &QueryArgs, kind: &str, data: &Value, text: impl FnOnce(&Value) -> String) {
    if query.json {
        println!(
            "{}",
            escape_json(json!({ "type": kind, "data": data }).to_string())
        );
    } else {
        println!("{}", text(&escape_value(data)));
    }
}

/// Where the rest of a paginated list is (the API answers lists in pages).
fn more_at(what: &str, path: &str) -> String {
    format!("  ... {what}: GET {path}")
}

fn fetch(
    query: &QueryArgs,
    path: &str,
    kind: &str,
    text: impl FnOnce(&Value) -> String,
) -> anyhow::Result<Outcome> {
    match Client::new(&query.node).get(path)? {
        Answer::Ok(data) => {
            print(query, kind, &data, text);
            Ok(Outcome::Success)
        }
        Answer::Refused(message) => {
            print(query, "error", &json!({ "error": message }), |d| {
                format!("no: {}", d["error"].as_str().unwrap_or_default())
            });
            Ok(Outcome::No)
        }
    }
}

fn send(args: &SignArgs, operation: Operation) -> anyhow::Result<Outcome> {
    let key: Keypair = crate::keys::load(&args.key)?;
    let operation = match &args.as_dc {
        Some(dc) => Operation::AsDc {
            dc: dc.parse()?,
            operation: Box::new(operation),
        },
        None => operation,
    };
    match Client::new(&args.query.node).submit(&key, operation)? {
        Answer::Ok(data) => {
            let refused = data["ok"] == false;
            print(&args.query, "transaction", &data, |d| {
                match d["status"].as_str() {
                    Some("finalized") if d["ok"] == true => {
                        format!(
                            "done: finalized in block {} (transaction {})",
                            d["height"],
                            d["hash"].as_str().unwrap_or("")
                        )
                    }
                    Some("finalized") => format!(
                        "refused: {} (finalized in block {}, nothing changed)",
                        d["error"].as_str().unwrap_or(""),
                        d["height"]
                    ),
                    _ => format!(
                        "submitted, not finalized yet: transaction {}",
                        d["hash"].as_str().unwrap_or("")
                    ),
                }
            });
            Ok(if refused {
                Outcome::No
            } else {
                Outcome::Success
            })
        }
        Answer::Refused(message) => {
            print(&args.query, "error", &json!({ "error": message }), |d| {
                format!("refused: {}", d["error"].as_str().unwrap_or_default())
            });
            Ok(Outcome::No)
        }
    }
}
