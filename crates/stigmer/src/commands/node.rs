//! Running and checking a node on this machine: `demo`, `init`, `node`,
//! `verify`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use stigmer_ledger::chain::{Chain, DeferredRoot, SignatureChecked};
use stigmer_ledger::commitment::StateTree;
use stigmer_ledger::store::Store;
use stigmer_node::genesis::{Genesis, GenesisDc};
use stigmer_node::json::OperationJson;
use stigmer_node::run::{NodeConfig, ensure_validator_key, genesis_path};
use stigmer_node::serve::ApiLimits;
use stigmer_protocol::{ContributionType, CreateDc, DcParams, Fixed, Operation};

use super::{DEFAULT_LISTEN, agent_of, default_dir, now_ms};
use crate::Outcome;
use crate::shown::escape;

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STIGMER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,stigmer_node=info"));
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The bounds on a node's API connections (`stigmer_node::serve::ApiLimits`).
#[derive(Args)]
pub struct ApiLimitArgs {
    /// Most API connections open at once (at most half the open-file limit).
    #[arg(long, default_value_t = ApiLimits::default().connections_max)]
    api_connections_max: usize,
    /// Most `/api/v1/events` streams open at once.
    #[arg(long, default_value_t = ApiLimits::default().event_streams_max)]
    api_event_streams_max: usize,
    /// Milliseconds an API connection may wait before sending a request
    /// (after opening, or between requests), before it is closed.
    #[arg(long, default_value_t = ApiLimits::default().idle_timeout.as_millis() as u64)]
    api_idle_timeout_ms: u64,
}

impl ApiLimitArgs {
    fn limits(&self) -> ApiLimits {
        ApiLimits {
            connections_max: self.api_connections_max.max(1),
            event_streams_max: self.api_event_streams_max.max(1),
            idle_timeout: Duration::from_millis(self.api_idle_timeout_ms.max(1)),
            ..ApiLimits::default()
        }
    }
}

#[derive(Args)]
pub struct NodeArgs {
    /// Where the node keeps its ledger [default: ~/.local/share/stigmer/node].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the HTTP API listens.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The peer-to-peer port (on 127.0.0.1 unless --p2p-address is given).
    #[arg(long, default_value_t = 7651)]
    p2p_port: u16,
    /// Where the peer-to-peer network listens, and what other validators dial.
    #[arg(long)]
    p2p_address: Option<SocketAddr>,
    /// Another validator to connect to, as KEY@HOST:PORT (repeat for each).
    #[arg(long = "peer", value_name = "KEY@HOST:PORT")]
    peers: Vec<stigmer_node::run::Peer>,
    /// Keep a full node instead of validating: follow this node's API
    /// (repeat to name several; the genesis is fetched if the data directory
    /// has none).
    #[arg(long = "follow", value_name = "URL", conflicts_with_all = ["peers", "p2p_address"])]
    follow: Vec<String>,
    /// Minimum milliseconds between blocks with transactions (an idle chain
    /// makes an empty block every 30 s).
    #[arg(long, default_value_t = 200)]
    block_interval_ms: u64,
    #[command(flatten)]
    api: ApiLimitArgs,
}

pub fn node(args: NodeArgs) -> anyhow::Result<Outcome> {
    init_logging();
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_dir("node")?,
    };
    let listen = args.listen;
    if !args.follow.is_empty() {
        eprintln!(
            "stigmer node: a full node following {}; data in {}, API on http://{listen}",
            args.follow.join(", "),
            data_dir.display()
        );
        stigmer_node::follow::run(stigmer_node::follow::FollowConfig {
            data_dir,
            listen,
            upstreams: args.follow,
            api_limits: args.api.limits(),
            on_ready: Some(Box::new(move |_, address| {
                println!("api http://{address}");
            })),
        })?;
        return Ok(Outcome::Success);
    }
    eprintln!(
        "stigmer node: a validator; data in {}, API on http://{listen}",
        data_dir.display()
    );
    stigmer_node::run::run(NodeConfig {
        data_dir,
        listen,
        p2p_address: args
            .p2p_address
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.p2p_port))),
        peers: args.peers,
        block_interval: Duration::from_millis(args.block_interval_ms),
        api_limits: args.api.limits(),
        on_ready: Some(Box::new(move |_, address| {
            println!("api http://{address}");
        })),
    })?;
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps its ledger [default: ~/.local/share/stigmer/demo].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where the HTTP API listens.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The peer-to-peer port (127.0.0.1).
    #[arg(long, default_value_t = 7652)]
    p2p_port: u16,
    #[command(flatten)]
    api: ApiLimitArgs,
}

pub fn demo(args: DemoArgs) -> anyhow::Result<Outcome> {
    init_logging();
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_dir("demo")?,
    };
    if !genesis_path(&data_dir).exists() {
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let validator = ensure_validator_key(&data_dir)?;
        let genesis = stigmer_node::demo::genesis("stigmer-demo", vec![validator], now_ms());
        std::fs::write(genesis_path(&data_dir), genesis.to_json())?;
        eprintln!(
            "stigmer demo: a new festival cooperative in {}",
            data_dir.display()
        );
    } else {
        eprintln!(
            "stigmer demo: continuing the festival in {}",
            data_dir.display()
        );
    }
    stigmer_node::run::run(NodeConfig {
        data_dir,
        listen: args.listen,
        p2p_address: SocketAddr::from(([127, 0, 0, 1], args.p2p_port)),
        peers: Vec::new(),
        block_interval: Duration::from_millis(200),
        api_limits: args.api.limits(),
        on_ready: Some(Box::new(|ledger, address| {
            println!("api http://{address}");
            eprintln!(
                "stigmer demo: 30 members are organizing a festival; try\n  \
                 curl http://{address}/api/v1/dcs/festival\n  \
                 stigmer status --node http://{address}"
            );
            stigmer_node::demo::spawn_activity(ledger);
        })),
    })?;
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct InitArgs {
    /// The data directory to create.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The chain's name; every member of the chain uses the same.
    #[arg(long, default_value = "stigmer")]
    chain_id: String,
    /// Also found a DC at genesis with this id...
    #[arg(long, requires = "founders")]
    dc: Option<String>,
    /// ...this name...
    #[arg(long, default_value = "Our cooperative")]
    dc_name: String,
    /// ...this token symbol...
    #[arg(long, default_value = "COOP")]
    token: String,
    /// ...and these founders (names of your keys, or agent ids), each
    /// starting with 10 reputation and 100 tokens. The first is the steward.
    #[arg(long = "founder", num_args = 1..)]
    founders: Vec<String>,
}

pub fn init(args: InitArgs) -> anyhow::Result<Outcome> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_dir("node")?,
    };
    if genesis_path(&data_dir).exists() {
        bail!("{} already has a genesis", data_dir.display());
    }
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let validator = ensure_validator_key(&data_dir)?;
    let mut genesis = Genesis {
        chain_id: args.chain_id,
        timestamp_ms: now_ms(),
        validators: vec![validator.clone()],
        dcs: Vec::new(),
    };
    if let Some(dc) = args.dc {
        let founders: Vec<String> = args
            .founders
            .iter()
            .map(|f| agent_of(f))
            .collect::<anyhow::Result<_>>()?;
        let operation = Operation::CreateDc(CreateDc {
            id: dc.parse()?,
            name: args.dc_name,
            token_symbol: args.token,
            params: DcParams::default(),
            types: [("work".parse()?, ContributionType::default())].into(),
            founders: founders
                .iter()
                .map(|agent| {
                    Ok(stigmer_protocol::Founder {
                        agent: agent.parse()?,
                        reputation: Fixed::from_int(10),
                        tokens: Fixed::from_int(100),
                        referrer: None,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        });
        genesis.dcs.push(GenesisDc {
            steward: founders[0].clone(),
            dc: OperationJson::from_operation(&operation),
        });
    }
    // Check it before writing it.
    genesis.chain()?;
    std::fs::write(genesis_path(&data_dir), genesis.to_json())?;
    println!("genesis {} in {}", genesis.hash(), data_dir.display());
    println!("validator {validator}");
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct VerifyArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Blocks read and signature-checked ahead of the one being applied.
const VERIFY_BLOCKS_AHEAD: usize = 4;

pub fn verify(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => default_dir("node")?,
    };
    let genesis = Genesis::parse(
        &std::fs::read_to_string(genesis_path(&data_dir))
            .with_context(|| format!("no genesis in {}", data_dir.display()))?,
    )?;
    let (store, chain_id) = Store::open_existing(&data_dir.join("ledger"))
        .context("cannot open the ledger (is a node running on it? stop it first)")?;
    if chain_id != genesis.chain_id {
        bail!(
            "the ledger holds chain {chain_id:?}, the genesis says {:?}",
            genesis.chain_id
        );
    }
    let height = store.applied_height()?;
    let mut chain: Chain = genesis.chain()?;
    let bar = indicatif::ProgressBar::new(height);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "verifying {bar:40} {pos}/{len} blocks ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // Three stages at once, each on the blocks after the next one's: a
    // reader thread loads each block and checks its signatures (in batches,
    // on all cores; they depend on no state), this thread executes it, and
    // a tree thread applies its changed leaves to the state tree and checks
    // the root. A failure stops the stages after it; the earliest block that
    // failed is the one reported.
    let (blocks_tx, blocks_rx) = std::sync::mpsc::sync_channel(VERIFY_BLOCKS_AHEAD);
    let (roots_tx, roots_rx) = std::sync::mpsc::sync_channel::<DeferredRoot>(VERIFY_BLOCKS_AHEAD);
    let mut tree = chain.take_tree();
    let store = &store;
    let mut n_txs: u64 = 0;
    let (execution_failure, tree_result) = std::thread::scope(|scope| {
        scope.spawn(move || {
            for h in 1..=height {
                let checked = match store.block(h) {
                    Ok(Some(block)) => SignatureChecked::check(block).map_err(|e| e.to_string()),
                    Ok(None) => Err(format!("block {h} is missing (applied height {height})")),
                    Err(error) => Err(format!("block {h} cannot be read: {error}")),
                };
                let failed = checked.is_err();
                // The receiver hangs up after a failure of its own.
                if blocks_tx.send(checked).is_err() || failed {
                    return;
                }
            }
        });
        let tree_thread = scope.spawn(move || {
            for deferred in roots_rx {
                let height = deferred.height;
                deferred
                    .check(&mut tree)
                    .map_err(|error| (height, error.to_string()))?;
            }
            Ok::<StateTree, (u64, String)>(tree)
        });
        // Owned here, so that they hang up (and the other stages stop) on a
        // failure.
        let (blocks_rx, roots_tx) = (blocks_rx, roots_tx);
        let mut failure = None;
        for h in 1..=height {
            let executed = match blocks_rx.recv() {
                Ok(Ok(block)) => chain
                    .apply_deferring_root(&block)
                    .map(|deferred| (deferred, block.block().txs.len() as u64))
                    .map_err(|e| e.to_string()),
                Ok(Err(error)) => Err(error),
                Err(_) => Err("the block reader stopped".to_string()),
            };
            match executed {
                Ok((deferred, n)) => {
                    n_txs += n;
                    // Refused only once the tree thread stopped on a
                    // failure, which it reports.
                    if roots_tx.send(deferred).is_err() {
                        break;
                    }
                }
                Err(error) => {
                    failure = Some((h, error));
                    break;
                }
            }
            bar.inc(1);
        }
        drop(roots_tx);
        let tree_result = tree_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (failure, tree_result)
    });
    let failure = match (execution_failure, tree_result) {
        (None, Ok(tree)) => {
            chain.put_tree(tree);
            None
        }
        (Some(execution), Ok(_)) => Some(execution),
        (None, Err(tree)) => Some(tree),
        (Some(execution), Err(tree)) => Some(if tree.0 <= execution.0 {
            tree
        } else {
            execution
        }),
    };
    if let Some((_, error)) = failure {
        bar.abandon();
        println!("FAIL  {}", escape(&error));
        return Ok(Outcome::No);
    }
    bar.finish_and_clear();
    // The incrementally maintained commitment must equal one built from scratch.
    let rebuilt = chain.recompute_root();
    if rebuilt != chain.state_root() {
        println!(
            "FAIL  the state rebuilt from scratch has root {rebuilt}, the chain {}",
            chain.state_root()
        );
        return Ok(Outcome::No);
    }
    println!(
        "ok    {height} blocks, {n_txs} transactions: every hash, signature and state root checks out; state root {}",
        chain.state_root()
    );
    Ok(Outcome::Success)
}
