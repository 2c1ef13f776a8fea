//! Criterion benchmarks of the protocol, next to the code they measure.
//!
//! - `fixed::mul_div`: the baseline, raw fixed-point multiply-divides.
//! - `evaluation::apply/members=N`: evaluations applied per second in a DC of
//!   N members and 1,000 contributions (random evaluators, mostly up-votes).
//! - `scenario::reference_sized`: 200 agents, 20 contributions and 2,000
//!   evaluations under `backfeed-classic`; the reference implementation takes
//!   about 62 s on the machine this was written on.
//!
//! `cargo bench -p stigmer-protocol`; `stigmer bench protocol` prints the same
//! figures as ratios.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use stigmer_protocol::workload::{self, Rng};
use stigmer_protocol::{Fixed, RuleSet};

fn mul_div(c: &mut Criterion) {
    let mut rng = Rng::new(7);
    let operands: Vec<(Fixed, Fixed, Fixed)> = (0..1_024)
        .map(|_| {
            let mut amount = || Fixed::from_raw(u128::from(rng.next_u64()) * 1_000 + 1);
            (amount(), amount(), amount())
        })
        .collect();
    let mut group = c.benchmark_group("fixed");
    group.throughput(Throughput::Elements(operands.len() as u64));
    group.bench_function("mul_div", |b| {
        b.iter(|| {
            for &(x, y, z) in &operands {
                black_box(black_box(x).checked_mul_div(y, z));
            }
        })
    });
    group.finish();
}

fn evaluations(c: &mut Criterion) {
    const N_CONTRIBUTIONS: u32 = 1_000;
    const N_EVALUATIONS: u32 = 5_000;
    let mut group = c.benchmark_group("evaluation::apply");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(N_EVALUATIONS)));
    for n_members in [1_000, 10_000] {
        let base = workload::large_dc(RuleSet::Backfeed, n_members, N_CONTRIBUTIONS, 1);
        let operations = workload::evaluations(n_members, N_CONTRIBUTIONS, N_EVALUATIONS, 2);
        group.bench_function(BenchmarkId::new("members", n_members), |b| {
            b.iter_batched(
                || base.clone(),
                |mut state| {
                    for (agent, operation) in &operations {
                        let _ = black_box(state.apply(agent, operation));
                    }
                    state
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn reference_sized(c: &mut Criterion) {
    let scenario = workload::reference_sized(200, 20, 2_000, 4);
    let mut group = c.benchmark_group("scenario");
    group.sample_size(10);
    group.bench_function("reference_sized", |b| {
        b.iter(|| {
            stigmer_protocol::scenario::run(&scenario, |_, result, _| {
                black_box(result.is_ok());
            })
        })
    });
    group.finish();
}

criterion_group!(benches, mul_div, evaluations, reference_sized);
criterion_main!(benches);
