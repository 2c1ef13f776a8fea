//! Agents: your keys (`key`), and an agent's accounts and action log
//! (`agent`).

use clap::{Args, Subcommand};

use super::{QueryArgs, agent_of, fetch, more_at};
use crate::Outcome;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Make a new key.
    New { name: String },
    /// List your keys.
    List,
    /// Show a key's agent id (its public key).
    Show { name: String },
}

pub fn key(command: KeyCommand) -> anyhow::Result<Outcome> {
    match command {
        KeyCommand::New { name } => {
            let key = crate::keys::create(&name)?;
            println!("{name} {}", key.agent());
        }
        KeyCommand::List => {
            for name in crate::keys::list()? {
                let key = crate::keys::load(&name)?;
                println!("{name} {}", key.agent());
            }
        }
        KeyCommand::Show { name } => println!("{}", crate::keys::load(&name)?.agent()),
    }
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct AgentArgs {
    /// A key name of yours or an agent id.
    agent: String,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn agent(args: AgentArgs) -> anyhow::Result<Outcome> {
    let agent = agent_of(&args.agent).unwrap_or(args.agent.clone());
    fetch(
        &args.query,
        &format!("/api/v1/agents/{agent}"),
        "agent",
        |d| {
            let mut lines = vec![format!("agent {}", d["agent"].as_str().unwrap_or(""))];
            for m in d["memberships"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {} ({}): reputation {}, {} {}",
                    m["dc"].as_str().unwrap_or(""),
                    m["status"].as_str().unwrap_or(""),
                    m["reputation"].as_str().unwrap_or(""),
                    m["tokens"].as_str().unwrap_or(""),
                    m["token_symbol"].as_str().unwrap_or("")
                ));
            }
            let id = d["agent"].as_str().unwrap_or("");
            if let Some(next) = d["memberships_next"].as_str() {
                lines.push(more_at(
                    "more accounts",
                    &format!("/api/v1/agents/{id}/memberships?cursor={next}"),
                ));
            }
            lines.push(format!(
                "log, newest first ({} entries):",
                d["n_log_entries"]
            ));
            for entry in d["log"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  [{}] {}: {}",
                    entry["dc"].as_str().unwrap_or(""),
                    entry["kind"].as_str().unwrap_or(""),
                    entry["explanation"].as_str().unwrap_or("")
                ));
            }
            if let Some(next) = d["log_next"].as_str() {
                lines.push(more_at(
                    "older entries",
                    &format!("/api/v1/agents/{id}/log?cursor={next}"),
                ));
            }
            lines.join("\n")
        },
    )
}
