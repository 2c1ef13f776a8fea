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
mod scenario_json;

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
}

enum Outcome {
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
            eprintln!("stigmer: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Scenario(ScenarioCommand::Run { final_only, file }) => {
            let results = run_scenario(&file)?;
            let results = if final_only {
                results.last().cloned().into_iter().collect()
            } else {
                results
            };
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
                let actual = run_scenario(file)?
                    .iter()
                    .map(|line| serde_json::from_str(line))
                    .collect::<Result<Vec<serde_json::Value>, _>>()?;
                match scenario_json::compare(&expected, &actual) {
                    Ok(()) => println!("ok    {} ({} steps)", file.display(), actual.len()),
                    Err(difference) => {
                        all_match = false;
                        println!("FAIL  {}: {difference}", file.display());
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
    }
}

fn read(file: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// Runs a scenario file; one line of JSON per step.
fn run_scenario(file: &Path) -> anyhow::Result<Vec<String>> {
    let text = read(file)?;
    let scenario = scenario_json::parse(&text)
        .with_context(|| format!("{} is not a valid scenario", file.display()))?;
    let mut results = Vec::with_capacity(scenario.steps.len());
    stigmer_protocol::scenario::run(&scenario, |index, result, dc| {
        results.push(scenario_json::step_result(index, &result, dc));
    })
    .with_context(|| format!("{}: the scenario's DC is invalid", file.display()))?;
    Ok(results)
}
