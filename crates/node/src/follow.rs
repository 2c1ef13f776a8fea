//! A full node: any member can keep the whole ledger and check it without
//! taking part in consensus (seed 004: every member keeps the ledger).
//!
//! It follows one or more nodes' HTTP APIs (validators, or other full
//! nodes), fetching runs of finalized blocks from `/api/v1/sync`. It trusts
//! none of them: each run must link by consensus digests to the block it
//! already holds and end on a finalization certificate signed by a quorum of
//! the genesis's validators ([`consensus::finality::check_run`]), and every
//! block is then executed in full (signatures, state root) like any
//! validator does. Its own API is the same, read-only: a submission is
//! checked here, then handed to a validator.
//!
//! Fetching over HTTP rather than joining the validators' p2p network means
//! a member needs no one's permission to run a full node: validators only
//! admit known keys to their p2p network.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use commonware_cryptography::Digestible as _;
use commonware_cryptography::sha256::Digest;
use stigmer_ledger::block::Block as LedgerBlock;
use stigmer_ledger::tx::unhex_vec;

use crate::NodeError;
use crate::api::sync::SyncBlocks;
use crate::consensus::Block;
use crate::consensus::finality::{CertificateChecker, Finality, check_run};
use crate::genesis::Genesis;
use crate::ledger::{NodeLedger, Shared, lock};
use crate::progress::CatchUp;
use crate::run::{genesis_path, namespace, parse_validators, shutdown_signal};

pub struct FollowConfig {
    pub data_dir: PathBuf,
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// The APIs followed (`http://host:port`), tried in turn.
    pub upstreams: Vec<String>,
    /// The bounds on the API's connections.
    pub api_limits: crate::serve::ApiLimits,
    /// Called once the API is listening.
    pub on_ready: Option<Box<dyn FnOnce(Shared, SocketAddr) + Send>>,
}

/// How long to wait before asking again when the node is at the tip.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long to wait after an upstream failed before trying the next.
const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Largest sync answer read, in bytes.
const ANSWER_BYTES_MAX: u64 = 64 * 1024 * 1024;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Reads the genesis from the data directory, or fetches it from the first
/// upstream that answers and keeps it.
fn genesis(config: &FollowConfig) -> Result<Genesis, NodeError> {
    let path = genesis_path(&config.data_dir);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Genesis::parse(&text);
    }
    let agent = agent();
    let mut failures = Vec::new();
    for upstream in &config.upstreams {
        let url = format!("{upstream}/api/v1/genesis");
        let text = agent
            .get(&url)
            .call()
            .and_then(|mut r| r.body_mut().read_to_string());
        match text {
            Ok(text) => {
                let genesis = Genesis::parse(&text)?;
                std::fs::create_dir_all(&config.data_dir)
                    .and_then(|()| std::fs::write(&path, genesis.to_json()))
                    .map_err(|e| NodeError::Io(format!("{}: {e}", path.display())))?;
                tracing::info!(
                    chain = genesis.chain_id,
                    genesis = %genesis.hash(),
                    "fetched the genesis from {upstream}; compare its hash with your federation's"
                );
                return Ok(genesis);
            }
            Err(error) => failures.push(format!("{upstream}: {error}")),
        }
    }
    Err(NodeError::Io(format!(
        "no genesis in {} and none could be fetched ({})",
        config.data_dir.display(),
        failures.join("; ")
    )))
}

/// Runs a full node until Ctrl-C or SIGTERM.
pub fn run(config: FollowConfig) -> Result<(), NodeError> {
    if config.upstreams.is_empty() {
        return Err(NodeError::Io("a full node needs a node to follow".into()));
    }
    let upstreams: Vec<String> = config
        .upstreams
        .iter()
        .map(|u| u.trim_end_matches('/').to_string())
        .collect();
    let config = FollowConfig {
        upstreams,
        ..config
    };
    let api_limits = config
        .api_limits
        .fit_open_files(crate::serve::raise_open_file_limit());
    let genesis = genesis(&config)?;
    let namespace = namespace(&genesis);
    let checker = CertificateChecker::new(&namespace, parse_validators(&genesis)?);
    let mut node_ledger = NodeLedger::open(&config.data_dir.join("ledger"), genesis)?;
    node_ledger.set_upstreams(config.upstreams.clone());
    let tip = tip_digest(&node_ledger, &namespace)?;
    let ledger: Shared = Arc::new(Mutex::new(node_ledger));

    let listener = crate::run::listen(config.listen)?;
    let api_address = listener
        .local_addr()
        .map_err(|e| NodeError::Io(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| NodeError::Io(e.to_string()))?;

    let stop = Arc::new(AtomicBool::new(false));
    let follower = {
        let ledger = ledger.clone();
        let stop = stop.clone();
        let upstreams = config.upstreams.clone();
        std::thread::Builder::new()
            .name("follow".into())
            .spawn(move || follow(&ledger, &upstreams, &checker, tip, &stop))
            .map_err(|e| NodeError::Io(e.to_string()))?
    };
    let outcome = runtime.block_on(async {
        crate::serve::serve_api(listener, ledger.clone(), api_limits)?;
        if let Some(on_ready) = config.on_ready {
            on_ready(ledger.clone(), api_address);
        }
        shutdown_signal().await;
        tracing::info!("stopping");
        Ok(())
    });
    stop.store(true, Ordering::Release);
    let _ = follower.join();
    outcome
}

/// The consensus digest of the newest block the ledger holds.
fn tip_digest(ledger: &NodeLedger, namespace: &[u8]) -> Result<Digest, NodeError> {
    let height = ledger.chain().height;
    if height == 0 {
        return Ok(Block::genesis(namespace).digest());
    }
    let store = ledger.store();
    let missing = || {
        NodeError::Io(format!(
            "block {height} has no finality proof: this ledger was not kept by a node of a \
             cluster; start from an empty data directory"
        ))
    };
    let block = store.block(height)?.ok_or_else(missing)?;
    let finality = store.finality(height)?.ok_or_else(missing)?;
    let validators = ledger.genesis().validators.len();
    let finality = Finality::decode(&finality, validators).map_err(NodeError::Io)?;
    Ok(finality.block(block).digest())
}

/// Fetches, checks and applies blocks until `stop`.
fn follow(
    ledger: &Shared,
    upstreams: &[String],
    checker: &CertificateChecker,
    mut tip: Digest,
    stop: &AtomicBool,
) {
    let agent = agent();
    let mut progress = CatchUp::default();
    let mut source = 0;
    while !stop.load(Ordering::Acquire) {
        let height = lock(ledger).chain().height;
        let upstream = &upstreams[source % upstreams.len()];
        let answer = match fetch(&agent, upstream, height + 1) {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!("cannot fetch blocks from {upstream}: {error}");
                source += 1;
                std::thread::sleep(RETRY_INTERVAL);
                continue;
            }
        };
        progress.update(height, answer.height.max(height));
        let run = match decode(&answer, height + 1, checker.validators()) {
            Ok(run) => run,
            Err(error) => {
                tracing::warn!("{upstream} sent blocks that do not decode: {error}");
                source += 1;
                std::thread::sleep(RETRY_INTERVAL);
                continue;
            }
        };
        if run.is_empty() {
            std::thread::sleep(POLL_INTERVAL);
            continue;
        }
        let checked: Vec<(LedgerBlock, Finality)> = run
            .iter()
            .map(|(block, finality, _)| (block.clone(), finality.clone()))
            .collect();
        match check_run(checker, tip, &checked) {
            Ok(digest) => tip = digest,
            Err(error) => {
                tracing::warn!("{upstream} sent blocks that do not check out: {error}");
                source += 1;
                std::thread::sleep(RETRY_INTERVAL);
                continue;
            }
        }
        for (block, _, finality) in &run {
            if let Err(error) = lock(ledger).finalize(block, finality) {
                // The validators finalized a block this node cannot apply:
                // going on would make this node's state differ. Stop.
                tracing::error!(%error, "cannot apply a finalized block; stopping");
                eprintln!(
                    "stigmer: cannot apply finalized block {}: {error}",
                    block.header.height
                );
                std::process::exit(3);
            }
        }
        let height = lock(ledger).chain().height;
        progress.update(height, answer.height.max(height));
    }
}

fn fetch(agent: &ureq::Agent, upstream: &str, from: u64) -> Result<SyncBlocks, String> {
    let url = format!("{upstream}/api/v1/sync?from={from}");
    let mut response = agent.get(&url).call().map_err(|e| e.to_string())?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    response
        .body_mut()
        .with_config()
        .limit(ANSWER_BYTES_MAX)
        .read_json()
        .map_err(|e| e.to_string())
}

/// Decodes an answer's blocks, keeping those up to the last one with its
/// own certificate (the rest come again with the next answer).
fn decode(
    answer: &SyncBlocks,
    from: u64,
    validators: usize,
) -> Result<Vec<(LedgerBlock, Finality, Vec<u8>)>, String> {
    let mut run = Vec::new();
    for (expected, entry) in (from..).zip(&answer.blocks) {
        let bytes = unhex_vec(&entry.encoded).ok_or("a block is not hex")?;
        // Leniently, as this node's own store does: the run is finalized
        // history, checked against its certificate before it is applied.
        let block = LedgerBlock::decode_stored(&bytes).map_err(|e| e.to_string())?;
        if block.header.height != expected {
            return Err(format!(
                "expected block {expected}, got {}",
                block.header.height
            ));
        }
        let proof = unhex_vec(&entry.finality).ok_or("a proof is not hex")?;
        let finality = Finality::decode(&proof, validators)?;
        run.push((block, finality, proof));
    }
    let certified = run
        .iter()
        .rposition(|(_, finality, _)| finality.certificate.is_some())
        .map_or(0, |last| last + 1);
    run.truncate(certified);
    Ok(run)
}
