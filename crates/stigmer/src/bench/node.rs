//! `stigmer bench node`: signed transactions per second finalized by one
//! node, against the raw ed25519 verification rate of this machine measured
//! in the same run; and how long `stigmer verify` takes on a chain of a
//! million transactions.
//!
//! The load is a cooperative at work: members contribute, evaluate each
//! other's contributions on a 0-5 scale, transfer tokens and thank. The node
//! is a real `stigmer node` process fed through its HTTP API; the long chain
//! is built offline with the same code a proposer runs, then checked by a
//! real `stigmer verify` process.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::{Store, TxLocation};
use stigmer_ledger::tx::{Keypair, SignedTransaction, hex};
use stigmer_node::genesis::{Genesis, GenesisDc};
use stigmer_node::json::{Decimal, FounderJson, OperationJson, ParamsJson, TypeJson};
use stigmer_node::ledger::PROPOSAL_TXS_MAX;
use stigmer_protocol::workload::Rng;
use stigmer_protocol::{Asset, ContributionId, ContributionType, DcId, Fixed, Operation};

const CHAIN_ID: &str = "bench";
const DC: &str = "bench";

#[derive(clap::Args)]
pub struct NodeArgs {
    /// Signed transactions to push through the node.
    #[arg(long, default_value_t = 40_000)]
    txs: u64,
    /// Members of the DC; each signs its own transactions.
    #[arg(long, default_value_t = 1_000)]
    members: u32,
    /// HTTP clients submitting in parallel.
    #[arg(long, default_value_t = 4)]
    clients: u32,
    /// The node's minimum milliseconds between blocks.
    #[arg(long, default_value_t = 200)]
    block_interval_ms: u64,
    /// Transactions in the chain `stigmer verify` checks; 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    chain_txs: u64,
    /// Where to keep the data directories [default: a temporary directory,
    /// removed at the end].
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn node(args: &NodeArgs) -> anyhow::Result<()> {
    if args.members < 2 || args.clients == 0 {
        bail!("the bench needs at least 2 members and 1 client");
    }
    super::in_work_dir(args.dir.as_ref(), "node", |dir| run(args, dir))
}

fn run(args: &NodeArgs, dir: &Path) -> anyhow::Result<()> {
    let verify_rate = ed25519_verify_rate();
    println!("baseline: {verify_rate:.0} raw ed25519 verifications/s on one core of this machine");
    throughput(args, &dir.join("node"), verify_rate)?;
    if args.chain_txs > 0 {
        verify_time(args, &dir.join("chain"), verify_rate)?;
    }
    Ok(())
}

/// Raw ed25519-dalek verifications per second on transaction-sized messages.
pub(super) fn ed25519_verify_rate() -> f64 {
    let mut rng = Rng::new(25519);
    let samples: Vec<_> = (0..256)
        .map(|_| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            let message: Vec<u8> = (0..160).map(|_| rng.below(256) as u8).collect();
            let signature = ed25519_dalek::Signer::sign(&key, &message);
            (key.verifying_key(), message, signature)
        })
        .collect();
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(1) {
        for (key, message, signature) in &samples {
            let ok = ed25519_dalek::Verifier::verify(key, message, signature).is_ok();
            std::hint::black_box(ok);
        }
        n += samples.len() as u64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Pushes `args.txs` transactions through a node process and reports the
/// rate at which they are finalized.
fn throughput(args: &NodeArgs, data_dir: &Path, verify_rate: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let validator = stigmer_node::run::ensure_validator_key(data_dir)?;
    let mut community = Community::new(args.members);
    let genesis = community.genesis(vec![validator], now_ms());
    std::fs::write(stigmer_node::run::genesis_path(data_dir), genesis.to_json())?;

    // Every member contributes once before the clock starts, so that there
    // is work to evaluate from the first transaction on.
    let seed: Vec<SignedTransaction> = (0..args.members)
        .map(|member| community.contribute(member))
        .collect();
    let load: Vec<SignedTransaction> = (0..args.txs).map(|_| community.next()).collect();

    let node = NodeProcess::start(data_dir, args.block_interval_ms)?;
    submit_all(&node.api, seed, args.clients)?;
    node.wait_for_transactions(u64::from(args.members), Duration::from_secs(120))?;

    let start = Instant::now();
    let submitted = submit_all(&node.api, load, args.clients)?;
    let submit_seconds = start.elapsed().as_secs_f64();
    let finalized = node.wait_for_transactions(
        u64::from(args.members) + submitted,
        Duration::from_secs(600),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    let height = node.status()?["height"].as_u64().unwrap_or(0);
    drop(node);

    let (n_refused, first_refusal) = refusals(&data_dir.join("ledger"))?;
    let rate = submitted as f64 / seconds;
    println!(
        "node: {rate:.0} signed transactions/s finalized ({submitted} in {seconds:.2} s through \
         the HTTP API with {} clients, submitted in {submit_seconds:.2} s; {height} blocks, \
         block interval {} ms; {n_refused} refused by the ledger{})",
        args.clients,
        args.block_interval_ms,
        first_refusal
            .map(|reason| format!(", the first because: {reason}"))
            .unwrap_or_default(),
    );
    println!(
        "node: ratio to raw ed25519 verification: {:.3} ({rate:.0} / {verify_rate:.0})",
        rate / verify_rate
    );
    debug_assert!(finalized >= submitted);
    Ok(())
}

/// Builds a chain of `args.chain_txs` transactions offline (as a proposer
/// would), then times a `stigmer verify` process on it.
fn verify_time(args: &NodeArgs, data_dir: &Path, verify_rate: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let mut community = Community::new(args.members);
    let genesis = community.genesis(
        vec!["0000000000000000000000000000000000000000000000000000000000000000".to_string()],
        now_ms(),
    );
    std::fs::write(stigmer_node::run::genesis_path(data_dir), genesis.to_json())?;
    let (mut chain, genesis_applied) = genesis.chain_applied()?;
    let store = Store::open(&data_dir.join("ledger"), CHAIN_ID)?;
    // As a node does: log entries, origins and supply points with each block.
    store.index_block(0, &genesis_applied)?;
    drop(genesis_applied);

    let bar = indicatif::ProgressBar::new(args.chain_txs);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "building a chain {bar:40} {pos}/{len} transactions ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let build_start = Instant::now();
    let mut pending: Vec<SignedTransaction> = (0..args.members)
        .map(|member| community.contribute(member))
        .collect();
    let mut n_txs: u64 = 0;
    let mut n_refused: u64 = 0;
    let mut first_refusal: Option<String> = None;
    let mut timestamp_ms = genesis.timestamp_ms;
    while n_txs < args.chain_txs {
        while (pending.len() as u64) < u64::from(PROPOSAL_TXS_MAX) {
            pending.push(community.next());
        }
        let take = u64::from(PROPOSAL_TXS_MAX).min(args.chain_txs - n_txs) as usize;
        let txs = pending
            .drain(..take)
            .map(SignedTransaction::verified)
            .collect::<Result<Vec<_>, _>>()?;
        let mut offered: Vec<(stigmer_protocol::AgentId, u64)> = txs
            .iter()
            .map(|tx| (tx.signer(), tx.transaction.nonce))
            .collect();
        timestamp_ms += 200;
        let stigmer_ledger::chain::Proposal {
            block,
            applied,
            refused,
        } = chain.propose(timestamp_ms, txs)?;
        store.commit_block(&block, &applied)?;
        n_refused += refused.len() as u64;
        if let Some(refusal) = refused.first().filter(|_| first_refusal.is_none()) {
            first_refusal = Some(refusal.error.to_string());
        }
        // A proposer leaves out a refused transaction and its signer's later
        // ones: those members drop what they have pending and sign again
        // from the chain's next nonce, so the chain gets the count asked for.
        offered.retain(|(signer, nonce)| *nonce >= chain.next_nonce(signer));
        if !offered.is_empty() {
            let left_out: std::collections::BTreeSet<_> =
                offered.into_iter().map(|(signer, _)| signer).collect();
            pending.retain(|tx| !left_out.contains(&tx.signer()));
            community.resync_nonces(&chain, &left_out);
        }
        n_txs += block.txs.len() as u64;
        bar.set_position(n_txs);
    }
    bar.finish_and_clear();
    let height = chain.height;
    let build_seconds = build_start.elapsed().as_secs_f64();
    drop(store);
    drop(chain);
    println!(
        "chain: built {n_txs} transactions in {height} blocks in {build_seconds:.1} s \
         ({n_refused} refused by the ledger and left out{})",
        first_refusal.map_or(String::new(), |error| format!("; the first: {error}"))
    );

    let start = Instant::now();
    let output = Command::new(std::env::current_exe()?)
        .arg("verify")
        .arg("--data-dir")
        .arg(data_dir)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run stigmer verify")?;
    let seconds = start.elapsed().as_secs_f64();
    let report = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || !report.starts_with("ok") {
        bail!("stigmer verify failed on the built chain: {report}");
    }
    let rate = n_txs as f64 / seconds;
    println!(
        "verify: {seconds:.1} s for a chain of {n_txs} transactions ({rate:.0} transactions/s, \
         {:.3} of the raw ed25519 rate)",
        rate / verify_rate
    );
    Ok(())
}

/// Counts refused transactions in a stopped node's ledger.
fn refusals(ledger_dir: &Path) -> anyhow::Result<(u64, Option<String>)> {
    let (store, _) = Store::open_existing(ledger_dir)?;
    let mut n_refused = 0;
    let mut first = None;
    for height in 1..=store.applied_height()? {
        let Some(block) = store.block(height)? else {
            bail!("block {height} is missing");
        };
        for index in 0..block.txs.len() as u32 {
            if let Some(Err(reason)) = store.outcome(TxLocation { height, index })? {
                n_refused += 1;
                first.get_or_insert(reason);
            }
        }
    }
    Ok((n_refused, first))
}

/// Submits every transaction, keeping each signer's in order: client `k`
/// sends those of the signers that hash to `k`. Returns how many the node
/// accepted into its pool.
pub(super) fn submit_all(
    api: &str,
    txs: Vec<SignedTransaction>,
    clients: u32,
) -> anyhow::Result<u64> {
    let mut queues: Vec<Vec<String>> = vec![Vec::new(); clients as usize];
    for tx in &txs {
        let signer = tx.transaction.signer.0;
        let client = usize::from(signer[0]) % clients as usize;
        queues[client].push(hex(&tx.encode()));
    }
    let accepted = AtomicU64::new(0);
    let url = format!("{api}/api/v1/transactions");
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = queues
            .into_iter()
            .map(|queue| {
                let (url, accepted) = (&url, &accepted);
                scope.spawn(move || submit_queue(url, queue, accepted))
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(accepted.into_inner())
}

fn submit_queue(url: &str, queue: Vec<String>, accepted: &AtomicU64) -> anyhow::Result<()> {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    for encoded in queue {
        let body = serde_json::json!({ "encoded": encoded });
        loop {
            let mut response = agent
                .post(url)
                .send_json(&body)
                .context("cannot reach the node")?;
            match response.status().as_u16() {
                200..=299 => {
                    accepted.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // The pool is full: wait for a block to drain it.
                503 => std::thread::sleep(Duration::from_millis(20)),
                status => {
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    bail!("the node refused a transaction ({status}): {text}");
                }
            }
        }
    }
    Ok(())
}

/// A `stigmer node` child process, stopped when dropped.
pub(super) struct NodeProcess {
    child: Child,
    pub(super) api: String,
}

impl NodeProcess {
    pub(super) fn start(data_dir: &Path, block_interval_ms: u64) -> anyhow::Result<NodeProcess> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["node", "--listen", "127.0.0.1:0", "--p2p-port", "0"])
            .arg("--block-interval-ms")
            .arg(block_interval_ms.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start stigmer node")?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let Some(api) = line.trim().strip_prefix("api ") else {
            let _ = child.kill();
            bail!("the node did not start (it said {line:?})");
        };
        Ok(NodeProcess {
            api: api.to_string(),
            child,
        })
    }

    fn status(&self) -> anyhow::Result<Value> {
        Ok(ureq::get(format!("{}/api/v1/status", self.api))
            .call()?
            .body_mut()
            .read_json()?)
    }

    /// Waits until at least `n` transactions are finalized; returns how many are.
    pub(super) fn wait_for_transactions(&self, n: u64, timeout: Duration) -> anyhow::Result<u64> {
        let deadline = Instant::now() + timeout;
        loop {
            let finalized = self.status()?["transactions"].as_u64().unwrap_or(0);
            if finalized >= n {
                return Ok(finalized);
            }
            if Instant::now() > deadline {
                bail!("only {finalized} of {n} transactions finalized after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // SIGKILL is fine: everything finalized is durable.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bench cooperative and the transactions its members make, in order.
pub(super) struct Community {
    keys: Vec<Keypair>,
    nonces: Vec<u64>,
    /// Contributions made so far, with their author and the transaction
    /// count when they were made.
    contributions: Vec<(ContributionId, u32, u64)>,
    /// Each member's last value per contribution: `backfeed` refuses a
    /// re-vote of the same value.
    votes: BTreeMap<(u32, usize), u64>,
    n_made: u64,
    rng: Rng,
}

impl Community {
    pub(super) fn new(members: u32) -> Community {
        Community {
            keys: (0..members)
                .map(|n| {
                    let seed = blake3::hash(format!("stigmer bench member {n}").as_bytes());
                    Keypair::from_seed(*seed.as_bytes())
                })
                .collect(),
            nonces: vec![0; members as usize],
            contributions: Vec::new(),
            votes: BTreeMap::new(),
            n_made: 0,
            rng: Rng::new(1_000_000),
        }
    }

    pub(super) fn genesis(&self, validators: Vec<String>, timestamp_ms: u64) -> Genesis {
        let mut types = BTreeMap::new();
        types.insert(
            "work".to_string(),
            TypeJson {
                evaluation_set: (0..=5).map(|v| Decimal(Fixed::from_int(v))).collect(),
                ..TypeJson::from(&ContributionType::default())
            },
        );
        types.insert(
            "care".to_string(),
            TypeJson::from(&ContributionType::thanks_only()),
        );
        let founders = self
            .keys
            .iter()
            .map(|key| FounderJson {
                agent: key.agent().to_string(),
                reputation: Decimal(Fixed::from_int(10)),
                tokens: Decimal(Fixed::from_int(100)),
                referrer: None,
            })
            .collect();
        Genesis {
            chain_id: CHAIN_ID.to_string(),
            timestamp_ms,
            validators,
            dcs: vec![GenesisDc {
                steward: self.keys[0].agent().to_string(),
                dc: OperationJson::CreateDc {
                    id: DC.to_string(),
                    name: "Bench cooperative".to_string(),
                    token_symbol: "BENCH".to_string(),
                    params: ParamsJson::default(),
                    types,
                    founders,
                },
            }],
        }
    }

    /// Takes the next nonce of `members` from `chain`, after some of their
    /// transactions were left out of a block.
    fn resync_nonces(
        &mut self,
        chain: &Chain,
        members: &std::collections::BTreeSet<stigmer_protocol::AgentId>,
    ) {
        for (key, nonce) in self.keys.iter().zip(&mut self.nonces) {
            let agent = key.agent();
            if members.contains(&agent) {
                *nonce = chain.next_nonce(&agent);
            }
        }
    }

    fn sign(&mut self, member: u32, operation: Operation) -> SignedTransaction {
        let nonce = &mut self.nonces[member as usize];
        let tx = self.keys[member as usize].sign(CHAIN_ID, *nonce, operation);
        *nonce += 1;
        self.n_made += 1;
        tx
    }

    pub(super) fn contribute(&mut self, member: u32) -> SignedTransaction {
        let n = self.contributions.len();
        let (kind, title) = if n % 10 == 9 {
            ("care", "Cooked for the crew")
        } else {
            ("work", "Fixed the shared tools")
        };
        let id: ContributionId = format!("c{n}").parse().expect("a valid id");
        self.contributions.push((id.clone(), member, self.n_made));
        self.sign(
            member,
            Operation::Contribute {
                dc: dc(),
                id,
                kind: kind.parse().expect("a valid name"),
                title: title.to_string(),
            },
        )
    }

    /// The next transaction: 10% contributions, 55% evaluations, 25%
    /// transfers, 10% thanks.
    pub(super) fn next(&mut self) -> SignedTransaction {
        let member = self.rng.below(self.keys.len() as u64) as u32;
        let roll = self.rng.below(100);
        if roll < 10 {
            return self.contribute(member);
        }
        // A contribution surely on the ledger: one of those every member
        // made before the clock started. (A node refuses at once an
        // evaluation of a contribution its state does not hold yet, and a
        // pre-signed sequence cannot recover from a refused nonce.)
        let settled = self.keys.len().min(self.contributions.len());
        let window = settled.min(500) as u64;
        let pick = settled - 1 - self.rng.below(window) as usize;
        let (contribution, author, _) = self.contributions[pick].clone();
        let care = pick % 10 == 9;
        if roll < 65 && !care && author != member {
            let mut value = 1 + self.rng.below(5);
            if self.votes.get(&(member, pick)) == Some(&value) {
                value = value % 5 + 1;
            }
            self.votes.insert((member, pick), value);
            return self.sign(
                member,
                Operation::Evaluate {
                    dc: dc(),
                    contribution,
                    value: Fixed::from_int(value),
                },
            );
        }
        if roll < 90 || author == member {
            let to = (member + 1 + self.rng.below(self.keys.len() as u64 - 1) as u32)
                % self.keys.len() as u32;
            let to = self.keys[to as usize].agent();
            return self.sign(
                member,
                Operation::Transfer {
                    dc: dc(),
                    to,
                    amount: Fixed::ONE,
                    asset: Asset::Tokens,
                },
            );
        }
        self.sign(
            member,
            Operation::Thank {
                dc: dc(),
                contribution,
            },
        )
    }
}

fn dc() -> DcId {
    DC.parse().expect("a valid id")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
