//! `stigmer bench cluster`: what replication costs. The same steady load
//! (a cooperative at work, as in `bench node`) goes through a single
//! validator, then through a cluster of validators on loopback
//! (`stigmer cluster`), in the same run. For each: finalized transactions
//! per second, and finality latency (from sending a transaction to the
//! observed node holding it finalized) at the median and the 99th
//! percentile.
//!
//! The load is open-loop: transactions leave on a fixed schedule whether or
//! not earlier ones are final, as people's actions would. Clients spread
//! over the validators; one node is watched through `/api/v1/sync`, which
//! gives each new block's transactions as soon as it is finalized there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::tx::{SignedTransaction, hex, unhex_vec};
use stigmer_node::api::sync::SyncBlocks;

use super::node::{Community, NodeProcess, submit_all};

#[derive(clap::Args)]
pub struct ClusterArgs {
    /// Validators in the cluster.
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// Transactions sent per second.
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// Seconds the load lasts.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Members of the DC; each signs its own transactions.
    #[arg(long, default_value_t = 1_000)]
    members: u32,
    /// HTTP clients sending in parallel.
    #[arg(long, default_value_t = 4)]
    clients: u32,
    /// Minimum milliseconds between blocks.
    #[arg(long, default_value_t = 200)]
    block_interval_ms: u64,
    /// Where to keep the data directories [default: a temporary directory,
    /// removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// What one setup achieved under the load.
struct Measured {
    sent: usize,
    finalized: usize,
    tx_per_second: f64,
    p50: Duration,
    p99: Duration,
    blocks: u64,
}

pub fn cluster(args: &ClusterArgs) -> anyhow::Result<()> {
    if args.members < 2 || args.clients == 0 || args.rate == 0 || args.validators == 0 {
        bail!("the bench needs 2 members, 1 client, 1 validator and a rate above 0");
    }
    super::in_work_dir(args.dir.as_ref(), "cluster", |dir| {
        let outcome = run(args, dir);
        let _ = crate::cluster::down(&dir.join("cluster"));
        outcome
    })
}

fn run(args: &ClusterArgs, dir: &Path) -> anyhow::Result<()> {
    println!(
        "load: {} transactions/s for {} s from {} clients (contributions, evaluations, \
         transfers, thanks by {} members), block interval {} ms",
        args.rate, args.seconds, args.clients, args.members, args.block_interval_ms
    );
    let single = single_node(args, &dir.join("single"))?;
    report("single node", &single);
    let cluster = replicated(args, &dir.join("cluster"))?;
    report(&format!("{} validators", args.validators), &cluster);
    println!(
        "cluster / single node: throughput {:.2}, median latency {:.2}, p99 latency {:.2}",
        cluster.tx_per_second / single.tx_per_second,
        cluster.p50.as_secs_f64() / single.p50.as_secs_f64(),
        cluster.p99.as_secs_f64() / single.p99.as_secs_f64(),
    );
    Ok(())
}

fn report(setup: &str, measured: &Measured) {
    println!(
        "{setup}: {:.0} transactions/s finalized ({} of {} sent, {} blocks); finality latency \
         p50 {} ms, p99 {} ms",
        measured.tx_per_second,
        measured.finalized,
        measured.sent,
        measured.blocks,
        measured.p50.as_millis(),
        measured.p99.as_millis()
    );
}

/// The transactions of the run: a contribution per member first (so there
/// is work to evaluate), then the load.
fn workload(args: &ClusterArgs) -> (Community, Vec<SignedTransaction>, Vec<SignedTransaction>) {
    let mut community = Community::new(args.members);
    let seed = (0..args.members).map(|m| community.contribute(m)).collect();
    let load = (0..args.rate * args.seconds)
        .map(|_| community.next())
        .collect();
    (community, seed, load)
}

fn single_node(args: &ClusterArgs, data_dir: &Path) -> anyhow::Result<Measured> {
    std::fs::create_dir_all(data_dir)?;
    let validator = stigmer_node::run::ensure_validator_key(data_dir)?;
    let (community, seed, load) = workload(args);
    let genesis = community.genesis(vec![validator], crate::commands::now_ms());
    std::fs::write(stigmer_node::run::genesis_path(data_dir), genesis.to_json())?;
    let node = NodeProcess::start(data_dir, args.block_interval_ms)?;
    submit_all(&node.api, seed, args.clients)?;
    node.wait_for_transactions(u64::from(args.members), Duration::from_secs(120))?;
    measure(args, std::slice::from_ref(&node.api), &node.api, load)
}

fn replicated(args: &ClusterArgs, dir: &Path) -> anyhow::Result<Measured> {
    let (community, seed, load) = workload(args);
    let cluster =
        crate::cluster::create(dir, args.validators, 0, args.block_interval_ms, |keys| {
            community.genesis(keys, crate::commands::now_ms())
        })?;
    crate::cluster::start_missing(dir, &cluster)?;
    crate::cluster::wait_finalizing(dir, &cluster, Duration::from_secs(120))?;
    let apis: Vec<String> = cluster
        .nodes
        .iter()
        .map(|node| format!("http://{}", node.api))
        .collect();
    submit_all(&apis[0], seed, args.clients)?;
    wait_transactions(&apis[0], u64::from(args.members))?;
    measure(args, &apis, &apis[0], load)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn wait_transactions(api: &str, n: u64) -> anyhow::Result<()> {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status: serde_json::Value = agent
            .get(format!("{api}/api/v1/status"))
            .call()?
            .body_mut()
            .read_json()?;
        if status["transactions"].as_u64().unwrap_or(0) >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the seed transactions were not finalized within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `load` on schedule to `targets` and watches `observed` finalize it.
fn measure(
    args: &ClusterArgs,
    targets: &[String],
    observed: &str,
    load: Vec<SignedTransaction>,
) -> anyhow::Result<Measured> {
    let sent: Arc<Mutex<BTreeMap<Hash, Instant>>> = Arc::default();
    let seen: Arc<Mutex<BTreeMap<Hash, Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let start_height = height(&agent(), observed)?;
    let watcher = {
        let (seen, stop, observed) = (seen.clone(), stop.clone(), observed.to_string());
        std::thread::spawn(move || watch(&observed, start_height + 1, &seen, &stop))
    };

    // Each signer's transactions go through one client, in nonce order;
    // transaction `i` leaves at `start + i / rate`.
    let clients = args.clients as usize;
    let mut queues: Vec<Vec<(usize, SignedTransaction)>> = vec![Vec::new(); clients];
    for (index, tx) in load.into_iter().enumerate() {
        let client = usize::from(tx.transaction.signer.0[0]) % clients;
        queues[client].push((index, tx));
    }
    let start = Instant::now();
    let rate = args.rate as f64;
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = queues
            .into_iter()
            .enumerate()
            .map(|(client, queue)| {
                let target = &targets[client % targets.len()];
                let sent = &sent;
                scope.spawn(move || -> anyhow::Result<()> {
                    let agent = agent();
                    let url = format!("{target}/api/v1/transactions");
                    for (index, tx) in queue {
                        let due = start + Duration::from_secs_f64(index as f64 / rate);
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let body = serde_json::json!({ "encoded": hex(&tx.encode()) });
                        let at = Instant::now();
                        loop {
                            let response = agent
                                .post(&url)
                                .send_json(&body)
                                .context("cannot reach the node")?;
                            match response.status().as_u16() {
                                200..=299 => break,
                                503 => std::thread::sleep(Duration::from_millis(20)),
                                status => bail!("a transaction was refused ({status})"),
                            }
                        }
                        sent.lock()
                            .map_err(|_| anyhow::anyhow!("poisoned"))?
                            .insert(tx.hash(), at);
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;

    // Wait for the stragglers.
    let deadline = Instant::now() + Duration::from_secs(120);
    let n_sent = sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.len();
    loop {
        let done = {
            let (sent, seen) = (sent.lock(), seen.lock());
            match (sent, seen) {
                (Ok(sent), Ok(seen)) => sent.keys().all(|hash| seen.contains_key(hash)),
                _ => bail!("poisoned"),
            }
        };
        if done || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Release);
    let _ = watcher.join();
    let end_height = height(&agent(), observed)?;

    let sent = sent.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|(hash, at)| Some(seen.get(hash)?.saturating_duration_since(*at)))
        .collect();
    latencies.sort();
    if latencies.is_empty() {
        bail!("no transaction was finalized");
    }
    let last_final = sent
        .keys()
        .filter_map(|hash| seen.get(hash))
        .max()
        .copied()
        .unwrap_or(start);
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    Ok(Measured {
        sent: n_sent,
        finalized: latencies.len(),
        tx_per_second: latencies.len() as f64 / last_final.duration_since(start).as_secs_f64(),
        p50: percentile(50),
        p99: percentile(99),
        blocks: end_height - start_height,
    })
}

fn height(agent: &ureq::Agent, api: &str) -> anyhow::Result<u64> {
    let status: serde_json::Value = agent
        .get(format!("{api}/api/v1/status"))
        .call()?
        .body_mut()
        .read_json()?;
    status["height"].as_u64().context("no height in the status")
}

/// Records when each transaction shows up finalized on `api`.
fn watch(api: &str, mut next: u64, seen: &Mutex<BTreeMap<Hash, Instant>>, stop: &AtomicBool) {
    let agent = agent();
    while !stop.load(Ordering::Acquire) {
        let answer: Option<SyncBlocks> = agent
            .get(format!("{api}/api/v1/sync?from={next}"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().with_config().limit(1 << 26).read_json().ok());
        let now = Instant::now();
        let blocks = answer.map(|a| a.blocks).unwrap_or_default();
        if blocks.is_empty() {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let Ok(mut seen) = seen.lock() else { return };
        for entry in &blocks {
            let Some(block) = unhex_vec(&entry.encoded).and_then(|b| Block::decode(&b).ok()) else {
                return;
            };
            for tx in &block.txs {
                seen.entry(tx.hash()).or_insert(now);
            }
            next = entry.height + 1;
        }
    }
}
