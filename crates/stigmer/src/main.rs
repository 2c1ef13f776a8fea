//! `stigmer`: value, reward and trade each other's work on a ledger every
//! member can verify. This binary is a thin shell over the library crates.
//!
//! Exit status: 0 on success, 1 when the answer is "no" (a scenario that does
//! not match its expectations), 2 on usage or runtime errors.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod bench;
mod client;
mod cluster;
mod commands;
mod keys;
mod scenario_json;
mod shown;

#[derive(Parser)]
#[command(
    name = "stigmer",
    version,
    about = "Value, reward and trade each other's work on a ledger every member can verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a demo node with a living community (a festival cooperative).
    Demo(commands::node::DemoArgs),
    /// Make a data directory with a genesis: a new chain, with this machine as its validator.
    Init(commands::node::InitArgs),
    /// Run a node: a validator (consensus, the ledger and the HTTP API), or
    /// with --follow a full node that fetches and checks every block.
    Node(commands::node::NodeArgs),
    /// A federation on this machine: validators and full nodes on 127.0.0.1.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Re-check a data directory from genesis: every hash, signature and state root.
    Verify(commands::node::VerifyArgs),
    /// Manage your keys (your identity as an agent).
    #[command(subcommand)]
    Key(commands::agents::KeyCommand),
    /// Found a decentralized cooperative, or look at one.
    #[command(subcommand)]
    Dc(commands::dcs::DcCommand),
    /// Join a DC.
    Join(commands::dcs::JoinArgs),
    /// Leave a DC (your reputation stays on record but counts no more).
    Leave(commands::dcs::LeaveArgs),
    /// Record a contribution.
    Contribute(commands::pov::ContributeArgs),
    /// Evaluate a contribution, staking some of your reputation.
    Evaluate(commands::pov::EvaluateArgs),
    /// Thank a contributor (recorded, never scored).
    Thank(commands::pov::ThankArgs),
    /// Send tokens of a DC to another agent.
    Transfer(commands::dcs::TransferArgs),
    /// The node's status: height, state root, validators.
    Status(commands::QueryArgs),
    /// An agent's memberships, balances and action log.
    Agent(commands::agents::AgentArgs),
    /// A contribution and its evaluations.
    Contribution(commands::pov::ContributionArgs),
    /// A block and its transactions.
    Block(commands::chain::BlockArgs),
    /// A transaction and its outcome.
    Tx(commands::chain::TxArgs),
    /// Check an account's balances against the state root with an inclusion proof.
    Prove(commands::dcs::ProveArgs),
    /// Run Proof-of-Value scenarios offline (see SCENARIOS.md).
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Measure how fast stigmer is on this machine.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Run a scenario and print the state after every step as JSON.
    Run {
        /// Print only the state after the last step.
        #[arg(long = "final")]
        final_only: bool,
        file: PathBuf,
    },
    /// Run scenarios and compare each with its `expect`; exit 1 on any difference.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Evaluations per second in a large DC, and a reference-sized scenario.
    Protocol(bench::ProtocolArgs),
    /// Signed transactions per second finalized by one node, against raw
    /// ed25519 verification; and the time to verify a chain of 1M transactions.
    Node(bench::NodeArgs),
    /// Finalized transactions per second and finality latency of a cluster
    /// of validators on loopback, against a single node in the same run.
    Cluster(bench::ClusterArgs),
}

pub enum Outcome {
    Success,
    No,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::No) => ExitCode::from(1),
        Err(error) => {
            // A closed pipe (`stigmer scenario run f.json | head`) is not a failure.
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("stigmer: {}", shown::escape(&format!("{error:#}")));
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Scenario(ScenarioCommand::Run { final_only, file }) => {
            let results = run_scenario(&file, final_only)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            scenario_json::write_results(&mut out, &results)?;
            out.flush()?;
            Ok(Outcome::Success)
        }
        Command::Scenario(ScenarioCommand::Check { files }) => {
            let mut all_match = true;
            for file in &files {
                let text = read(file)?;
                let Some(expected) = scenario_json::expectations(&text)
                    .with_context(|| format!("{}", file.display()))?
                else {
                    anyhow::bail!(
                        "{}: the scenario has no expect to check against",
                        file.display()
                    );
                };
                let actual = run_scenario(file, false)?
                    .iter()
                    .map(|line| serde_json::from_str(line))
                    .collect::<Result<Vec<serde_json::Value>, _>>()?;
                match scenario_json::compare(&expected, &actual) {
                    Ok(()) => println!("ok    {} ({} steps)", file.display(), actual.len()),
                    Err(difference) => {
                        all_match = false;
                        println!(
                            "FAIL  {}: {}",
                            file.display(),
                            shown::escape(&difference.to_string())
                        );
                    }
                }
            }
            Ok(if all_match {
                Outcome::Success
            } else {
                Outcome::No
            })
        }
        Command::Bench(BenchCommand::Protocol(args)) => {
            bench::protocol(&args)?;
            Ok(Outcome::Success)
        }
        Command::Bench(BenchCommand::Cluster(args)) => {
            bench::cluster(&args)?;
            Ok(Outcome::Success)
        }
        Command::Bench(BenchCommand::Node(args)) => {
            bench::node(&args)?;
            Ok(Outcome::Success)
        }
        Command::Demo(args) => commands::node::demo(args),
        Command::Init(args) => commands::node::init(args),
        Command::Node(args) => commands::node::node(args),
        Command::Cluster(command) => cluster::run(command),
        Command::Verify(args) => commands::node::verify(args),
        Command::Key(command) => commands::agents::key(command),
        Command::Dc(command) => commands::dcs::dc(command),
        Command::Join(args) => commands::dcs::join(args),
        Command::Leave(args) => commands::dcs::leave(args),
        Command::Contribute(args) => commands::pov::contribute(args),
        Command::Evaluate(args) => commands::pov::evaluate(args),
        Command::Thank(args) => commands::pov::thank(args),
        Command::Transfer(args) => commands::dcs::transfer(args),
        Command::Status(args) => commands::chain::status(args),
        Command::Agent(args) => commands::agents::agent(args),
        Command::Contribution(args) => commands::pov::contribution(args),
        Command::Block(args) => commands::chain::block(args),
        Command::Tx(args) => commands::chain::tx(args),
        Command::Prove(args) => commands::dcs::prove(args),
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Runs a scenario file; one line of JSON per step, or with `final_only`
/// only the last step's: the others are computed (the last depends on
/// them) but neither serialized nor kept.
fn run_scenario(file: &Path, final_only: bool) -> anyhow::Result<Vec<String>> {
    let text = read(file)?;
    let scenario = scenario_json::parse(&text)
        .with_context(|| format!("{} is not a valid scenario", file.display()))?;
    let mut results = Vec::with_capacity(if final_only { 1 } else { scenario.steps.len() });
    let mut last = None;
    let state = stigmer_protocol::scenario::run(&scenario, |index, result, dc| {
        if final_only {
            last = Some((index, result));
        } else {
            results.push(scenario_json::step_result(index, &result, dc));
        }
    })
    .with_context(|| format!("{}: the scenario's DC is invalid", file.display()))?;
    if let Some((index, result)) = last {
        let dc = stigmer_protocol::DcId::new(stigmer_protocol::scenario::SCENARIO_DC)
            .ok()
            .and_then(|id| state.dc(&id))
            .context("the scenario's DC is gone after its last step")?;
        results.push(scenario_json::step_result(index, &result, dc));
    }
    Ok(results)
}
