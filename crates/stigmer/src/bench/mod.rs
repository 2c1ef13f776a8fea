//! `stigmer bench protocol`: how fast the protocol runs on this machine.
//!
//! Every figure comes with a baseline measured in the same run, so results
//! from different machines can be compared: the rate of raw fixed-point
//! multiply-divides (the arithmetic an evaluation is made of), and for the
//! reference-sized scenario the reference implementation's time.

mod cluster;
mod node;

pub use cluster::{ClusterArgs, cluster};
pub use node::{NodeArgs, node};

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stigmer_protocol::workload::{self, Rng};
use stigmer_protocol::{Fixed, RuleSet};

/// Runs `bench` in `dir`, or in a temporary directory named after `name`
/// that is removed afterwards; `dir` must not exist yet.
fn in_work_dir(
    dir: Option<&PathBuf>,
    name: &str,
    bench: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (dir, remove_dir) = match dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("stigmer-bench-{name}-{}", std::process::id())),
            true,
        ),
    };
    if dir.exists() {
        anyhow::bail!("{} exists already; give an empty --dir", dir.display());
    }
    let outcome = bench(&dir);
    if remove_dir {
        let _ = std::fs::remove_dir_all(&dir);
    }
    outcome
}

#[derive(clap::Args)]
pub struct ProtocolArgs {
    /// Members of the large DC.
    #[arg(long, default_value_t = 10_000)]
    members: u32,
    /// Contributions in the large DC.
    #[arg(long, default_value_t = 1_000)]
    contributions: u32,
    /// Evaluations to apply to the large DC.
    #[arg(long, default_value_t = 20_000)]
    evaluations: u32,
    /// Members who all evaluate one single contribution (the worst case:
    /// each evaluation redistributes to every earlier one).
    #[arg(long, default_value_t = 2_000)]
    hot: u32,
    /// Seconds the reference implementation takes for the reference-sized
    /// scenario on this machine (measured: about 62).
    #[arg(long, default_value_t = 62.0)]
    reference_seconds: f64,
}

pub fn protocol(args: &ProtocolArgs) -> anyhow::Result<()> {
    let mul_divs_per_second = mul_div_rate();
    println!(
        "baseline: {:.1} M fixed-point multiply-divides/s",
        mul_divs_per_second / 1e6
    );

    for rules in [RuleSet::Backfeed, RuleSet::BackfeedClassic] {
        let mut state = workload::large_dc(rules, args.members, args.contributions, 1);
        let operations =
            workload::evaluations(args.members, args.contributions, args.evaluations, 2);
        let (elapsed, n_applied) = apply_all(&mut state, &operations);
        let rate = f64::from(args.evaluations) / elapsed.as_secs_f64();
        println!(
            "{rules}: {rate:.0} evaluations/s in a DC of {} members and {} contributions \
             ({} evaluations, {n_applied} accepted, {:.2} s); one evaluation costs {:.0} multiply-divides",
            args.members,
            args.contributions,
            args.evaluations,
            elapsed.as_secs_f64(),
            mul_divs_per_second / rate,
        );
    }

    // Worst case: everyone evaluates the same contribution (everyone but
    // its author, who may not).
    let mut state = workload::large_dc(RuleSet::Backfeed, args.members, 1, 3);
    let author = workload::author_of(0, args.members);
    let hot: Vec<_> = (0..args.hot.min(args.members))
        .filter(|&index| index != author)
        .map(|index| {
            let (agent, operation) = hot_evaluation(index);
            (agent, operation)
        })
        .collect();
    let (elapsed, _) = apply_all(&mut state, &hot);
    println!(
        "backfeed: {:.0} evaluations/s when {} members all evaluate one contribution ({:.2} s)",
        hot.len() as f64 / elapsed.as_secs_f64(),
        hot.len(),
        elapsed.as_secs_f64(),
    );

    let scenario = workload::reference_sized(200, 20, 2_000, 4);
    let start = Instant::now();
    stigmer_protocol::scenario::run(&scenario, |_, result, _| {
        black_box(result.is_ok());
    })?;
    let protocol_only = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut n_ok = 0_u32;
    let mut output_bytes = 0_usize;
    stigmer_protocol::scenario::run(&scenario, |index, result, dc| {
        n_ok += u32::from(result.is_ok());
        // Produce the per-step output as `scenario run` does.
        output_bytes += crate::scenario_json::step_result(index, &result, dc)
            .to_string()
            .len();
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "reference-sized scenario (200 agents, 20 contributions, 2,000 evaluations, {n_ok} steps ok, \
         {:.1} MB of per-step output): {:.3} s with the output, {protocol_only:.3} s without; \
         {:.0}x faster than the reference's {:.0} s",
        output_bytes as f64 / 1e6,
        elapsed,
        args.reference_seconds / elapsed,
        args.reference_seconds,
    );
    Ok(())
}

fn hot_evaluation(index: u32) -> (stigmer_protocol::AgentId, stigmer_protocol::Operation) {
    let agent = stigmer_protocol::AgentId::new(&format!("m{index}")).expect("a valid id");
    let operation = stigmer_protocol::Operation::Evaluate {
        dc: stigmer_protocol::DcId::new(workload::WORKLOAD_DC).expect("a valid id"),
        contribution: stigmer_protocol::ContributionId::new("c0").expect("a valid id"),
        value: if index % 5 == 4 {
            Fixed::ZERO
        } else {
            Fixed::ONE
        },
    };
    (agent, operation)
}

fn apply_all(
    state: &mut stigmer_protocol::State,
    operations: &[(stigmer_protocol::AgentId, stigmer_protocol::Operation)],
) -> (Duration, u32) {
    let start = Instant::now();
    let mut n_applied = 0;
    for (agent, operation) in operations {
        n_applied += u32::from(state.apply(agent, operation).is_ok());
    }
    (start.elapsed(), n_applied)
}

/// Multiply-divides per second on reputation-sized operands.
fn mul_div_rate() -> f64 {
    let mut rng = Rng::new(7);
    let operands: Vec<(Fixed, Fixed, Fixed)> = (0..1_024)
        .map(|_| {
            let amount = |rng: &mut Rng| Fixed::from_raw(u128::from(rng.next_u64()) * 1_000 + 1);
            (amount(&mut rng), amount(&mut rng), amount(&mut rng))
        })
        .collect();
    let rounds = 2_000;
    let start = Instant::now();
    for _ in 0..rounds {
        for &(a, b, c) in &operands {
            black_box(black_box(a).checked_mul_div(black_box(b), black_box(c)));
        }
    }
    f64::from(rounds * 1_024) / start.elapsed().as_secs_f64()
}
