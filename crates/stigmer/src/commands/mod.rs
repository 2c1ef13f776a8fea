//! The commands that run or talk to a node. Results go to stdout (human
//! text, or JSON Lines `{"type": ..., "data": ...}` with `--json`),
//! diagnostics to stderr.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use stigmer_ledger::chain::{Chain, SignatureChecked};
use stigmer_ledger::store::Store;
use stigmer_ledger::tx::Keypair;
use stigmer_node::genesis::{Genesis, GenesisDc};
use stigmer_node::json::OperationJson;
use stigmer_node::run::{NodeConfig, ensure_validator_key, genesis_path};
use stigmer_node::serve::ApiLimits;
use stigmer_protocol::{Asset, ContributionType, CreateDc, DcParams, Fixed, Operation, RuleSet};

use crate::Outcome;
use crate::client::{Answer, Client};
use crate::shown::{escape, escape_json, escape_value};

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
    // Signatures depend on no state: a reader thread loads each block and
    // checks its signatures (on all cores) while this thread applies the
    // blocks before it.
    let (blocks_tx, blocks_rx) = std::sync::mpsc::sync_channel(VERIFY_BLOCKS_AHEAD);
    let store = &store;
    let mut n_txs: u64 = 0;
    let failure = std::thread::scope(|scope| {
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
        // Owned here, so that it hangs up (and the reader stops) on a failure.
        let blocks_rx = blocks_rx;
        for _ in 1..=height {
            let applied = match blocks_rx.recv() {
                Ok(Ok(block)) => chain
                    .apply_signature_checked(&block)
                    .map(|_| block.block().txs.len() as u64)
                    .map_err(|e| e.to_string()),
                Ok(Err(error)) => Err(error),
                Err(_) => Err("the block reader stopped".to_string()),
            };
            match applied {
                Ok(n) => n_txs += n,
                Err(error) => return Some(error),
            }
            bar.inc(1);
        }
        None
    });
    if let Some(error) = failure {
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

#[derive(Subcommand)]
pub enum DcCommand {
    /// Found a DC; you become its steward and first member.
    Create(DcCreateArgs),
    /// List the DCs on the ledger.
    List(QueryArgs),
    /// A DC's members, contributions and parameters.
    Show {
        dc: String,
        #[command(flatten)]
        query: QueryArgs,
    },
}

#[derive(Args)]
pub struct DcCreateArgs {
    /// The DC's id (lower case, digits, '-', '_').
    id: String,
    #[arg(long)]
    name: String,
    /// The DC's token symbol.
    #[arg(long)]
    token: String,
    /// `backfeed` (median issuance on any scale) or `backfeed-classic`.
    #[arg(long, default_value = "backfeed")]
    rules: String,
    /// Contribution types, each `name` or `name:thanks-only`.
    #[arg(long = "type", default_values_t = ["work".to_string()])]
    types: Vec<String>,
    /// The top of the evaluation scale (0 to this).
    #[arg(long, default_value_t = 5)]
    scale: u64,
    /// Your starting reputation as founder.
    #[arg(long, default_value = "10")]
    reputation: String,
    /// Your starting tokens as founder.
    #[arg(long, default_value = "100")]
    tokens: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn dc(command: DcCommand) -> anyhow::Result<Outcome> {
    match command {
        DcCommand::Create(args) => {
            let key = crate::keys::load(&args.sign.key)?;
            let rules: RuleSet = args.rules.parse()?;
            if args.scale == 0 || args.scale > 10 {
                bail!("--scale must be between 1 and 10");
            }
            let mut types = std::collections::BTreeMap::new();
            for entry in &args.types {
                let (name, kind) = match entry.split_once(':') {
                    Some((name, "thanks-only")) => (name, ContributionType::thanks_only()),
                    Some((_, other)) => {
                        bail!("unknown type option {other:?}; use name:thanks-only")
                    }
                    None => (
                        entry.as_str(),
                        ContributionType {
                            evaluation_set: (0..=args.scale).map(Fixed::from_int).collect(),
                            ..ContributionType::default()
                        },
                    ),
                };
                types.insert(name.parse()?, kind);
            }
            let operation = Operation::CreateDc(CreateDc {
                id: args.id.parse()?,
                name: args.name,
                token_symbol: args.token,
                params: DcParams {
                    rules,
                    ..DcParams::default()
                },
                types,
                founders: vec![stigmer_protocol::Founder {
                    agent: key.agent(),
                    reputation: args.reputation.parse()?,
                    tokens: args.tokens.parse()?,
                    referrer: None,
                }],
            });
            send(&args.sign, operation)
        }
        DcCommand::List(query) => fetch(&query, "/api/v1/dcs", "dcs", |d| {
            let mut lines = Vec::new();
            for dc in d["dcs"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "{:<16} {:<32} {:>4} members {:>5} contributions  token {}",
                    dc["id"].as_str().unwrap_or(""),
                    dc["name"].as_str().unwrap_or(""),
                    dc["n_members"],
                    dc["n_contributions"],
                    dc["token_symbol"].as_str().unwrap_or("")
                ));
            }
            if lines.is_empty() {
                return "no DC yet".to_string();
            }
            if let Some(next) = d["next"].as_str() {
                lines.push(more_at("more DCs", &format!("/api/v1/dcs?cursor={next}")));
            }
            lines.join("\n")
        }),
        DcCommand::Show { dc, query } => fetch(&query, &format!("/api/v1/dcs/{dc}"), "dc", |d| {
            let mut lines = vec![format!(
                "{} ({}), {} rules, token {}: total reputation {}, {} tokens in existence, treasury {}",
                d["name"].as_str().unwrap_or(""),
                d["id"].as_str().unwrap_or(""),
                d["rules"].as_str().unwrap_or(""),
                d["token_symbol"].as_str().unwrap_or(""),
                d["total_reputation"].as_str().unwrap_or(""),
                d["token_supply"].as_str().unwrap_or(""),
                d["treasury"].as_str().unwrap_or(""),
            )];
            lines.push("members:".to_string());
            for m in d["members"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {}  {:<12} reputation {:<24} tokens {}",
                    m["agent"].as_str().unwrap_or(""),
                    m["status"].as_str().unwrap_or(""),
                    m["reputation"].as_str().unwrap_or(""),
                    m["tokens"].as_str().unwrap_or("")
                ));
            }
            if let Some(next) = d["members_next"].as_str() {
                let id = d["id"].as_str().unwrap_or("");
                lines.push(more_at(
                    "more accounts",
                    &format!("/api/v1/dcs/{id}/members?cursor={next}"),
                ));
            }
            lines.push("contributions, newest first:".to_string());
            for c in d["contributions"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {:<16} {:<40} {} evaluations, issued {} tokens",
                    c["id"].as_str().unwrap_or(""),
                    c["title"].as_str().unwrap_or(""),
                    c["n_evaluations"],
                    c["tokens_issued"].as_str().unwrap_or("")
                ));
            }
            if let Some(next) = d["contributions_next"].as_str() {
                let id = d["id"].as_str().unwrap_or("");
                lines.push(more_at(
                    "older contributions",
                    &format!("/api/v1/dcs/{id}/contributions?cursor={next}"),
                ));
            }
            lines.join("\n")
        }),
    }
}

#[derive(Args)]
pub struct JoinArgs {
    dc: String,
    /// The member who brought you in.
    #[arg(long)]
    referrer: Option<String>,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn join(args: JoinArgs) -> anyhow::Result<Outcome> {
    let referrer = args.referrer.as_deref().map(agent_of).transpose()?;
    send(
        &args.sign,
        Operation::Join {
            dc: args.dc.parse()?,
            referrer: referrer.map(|r| r.parse()).transpose()?,
        },
    )
}

#[derive(Args)]
pub struct LeaveArgs {
    dc: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn leave(args: LeaveArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Leave {
            dc: args.dc.parse()?,
        },
    )
}

#[derive(Args)]
pub struct ContributeArgs {
    dc: String,
    /// A short id for the contribution, unique in the DC.
    id: String,
    #[arg(long = "type")]
    kind: String,
    #[arg(long, default_value = "")]
    title: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn contribute(args: ContributeArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Contribute {
            dc: args.dc.parse()?,
            id: args.id.parse()?,
            kind: args.kind.parse()?,
            title: args.title,
        },
    )
}

#[derive(Args)]
pub struct EvaluateArgs {
    dc: String,
    contribution: String,
    /// A value of the contribution type's scale.
    value: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Evaluate {
            dc: args.dc.parse()?,
            contribution: args.contribution.parse()?,
            value: args.value.parse()?,
        },
    )
}

#[derive(Args)]
pub struct ThankArgs {
    dc: String,
    contribution: String,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn thank(args: ThankArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Thank {
            dc: args.dc.parse()?,
            contribution: args.contribution.parse()?,
        },
    )
}

#[derive(Args)]
pub struct TransferArgs {
    dc: String,
    /// The receiver: a key name of yours or an agent id.
    to: String,
    amount: String,
    /// Reputation cannot be transferred; asking is refused by the ledger.
    #[arg(long)]
    reputation: bool,
    #[command(flatten)]
    sign: SignArgs,
}

pub fn transfer(args: TransferArgs) -> anyhow::Result<Outcome> {
    send(
        &args.sign,
        Operation::Transfer {
            dc: args.dc.parse()?,
            to: stigmer_ledger::codec::parse_account(&agent_of(&args.to)?)
                .map_err(|reason| anyhow::anyhow!("{reason}"))?,
            amount: args.amount.parse()?,
            asset: if args.reputation {
                Asset::Reputation
            } else {
                Asset::Tokens
            },
        },
    )
}

pub fn status(query: QueryArgs) -> anyhow::Result<Outcome> {
    fetch(&query, "/api/v1/status", "status", |d| {
        format!(
            "chain {}: height {}, state root {}, {} DCs, {} pending transactions, validators {}",
            d["chain_id"].as_str().unwrap_or(""),
            d["height"],
            d["state_root"].as_str().unwrap_or(""),
            d["dcs"],
            d["pending_transactions"],
            d["validators"]
                .as_array()
                .map(|keys| keys
                    .iter()
                    .map(|key| key.as_str().unwrap_or("?"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        )
    })
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

#[derive(Args)]
pub struct ContributionArgs {
    dc: String,
    id: String,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn contribution(args: ContributionArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/dcs/{}/contributions/{}", args.dc, args.id),
        "contribution",
        |d| {
            let mut lines = vec![format!(
                "{} \"{}\" by {}: best score {}, issued {} tokens and {} reputation, {} thanks",
                d["id"].as_str().unwrap_or(""),
                d["title"].as_str().unwrap_or(""),
                d["contributor"].as_str().unwrap_or(""),
                d["score_max"].as_str().unwrap_or(""),
                d["tokens_issued"].as_str().unwrap_or(""),
                d["reputation_issued"].as_str().unwrap_or(""),
                d["n_thanks"],
            )];
            for e in d["evaluations"].as_array().into_iter().flatten() {
                lines.push(format!(
                    "  {} rated {}{}",
                    e["evaluator"].as_str().unwrap_or(""),
                    e["value"].as_str().unwrap_or(""),
                    if e["superseded"] == true {
                        " (superseded)"
                    } else {
                        ""
                    }
                ));
            }
            if let Some(next) = d["evaluations_next"].as_str() {
                lines.push(more_at(
                    "more evaluations",
                    &format!(
                        "/api/v1/dcs/{}/contributions/{}/evaluations?cursor={next}",
                        args.dc, args.id
                    ),
                ));
            }
            lines.join("\n")
        },
    )
}

#[derive(Args)]
pub struct BlockArgs {
    height: u64,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn block(args: BlockArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/blocks/{}", args.height),
        "block",
        |d| {
            format!(
                "block {} {}: {} transactions, state root {}",
                d["height"],
                d["hash"].as_str().unwrap_or(""),
                d["n_transactions"],
                d["state_root"].as_str().unwrap_or("")
            )
        },
    )
}

#[derive(Args)]
pub struct TxArgs {
    hash: String,
    #[command(flatten)]
    query: QueryArgs,
}

pub fn tx(args: TxArgs) -> anyhow::Result<Outcome> {
    fetch(
        &args.query,
        &format!("/api/v1/transactions/{}", args.hash),
        "transaction",
        |d| {
            format!(
                "transaction {}: {}{}",
                d["hash"].as_str().unwrap_or(""),
                d["status"].as_str().unwrap_or(""),
                match d["error"].as_str() {
                    Some(error) => format!(", refused: {error}"),
                    None => String::new(),
                }
            )
        },
    )
}

#[derive(Args)]
pub struct ProveArgs {
    dc: String,
    /// A key name of yours or an agent id.
    agent: String,
    #[command(flatten)]
    query: QueryArgs,
}

/// Fetches an account's leaf and proof and checks them here: the balances
/// shown are those the state root commits to, whatever the node says.
pub fn prove(args: ProveArgs) -> anyhow::Result<Outcome> {
    use stigmer_ledger::commitment::{self, Proof};
    let agent = agent_of(&args.agent).unwrap_or(args.agent.clone());
    let data = match Client::new(&args.query.node)
        .get(&format!("/api/v1/dcs/{}/accounts/{agent}/proof", args.dc))?
    {
        Answer::Ok(data) => data,
        Answer::Refused(message) => {
            print(&args.query, "error", &json!({ "error": message }), |d| {
                format!("no: {}", d["error"].as_str().unwrap_or_default())
            });
            return Ok(Outcome::No);
        }
    };
    let bytes = |field: &str| -> anyhow::Result<Vec<u8>> {
        let text = data[field]
            .as_str()
            .with_context(|| format!("the node sent no {field}"))?;
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<_, _>>()
            .with_context(|| format!("{field} is not hex"))
    };
    let root = stigmer_ledger::Hash::parse(data["state_root"].as_str().unwrap_or_default())
        .context("the node sent no state root")?;
    let key = stigmer_ledger::leaves::account_key(&args.dc.parse()?, &agent.parse()?);
    if bytes("key")? != key {
        bail!("the node proved another key than the one asked for");
    }
    let value = bytes("value")?;
    let proof = Proof::from_bytes(&bytes("proof")?).context("the proof is malformed")?;
    let verified = commitment::verify(&root, &key, Some(&value), &proof);
    let (reputation, tokens) =
        stigmer_ledger::leaves::account_balances(&value).context("the leaf is malformed")?;
    let result = json!({
        "verified": verified,
        "height": data["height"],
        "state_root": root.to_string(),
        "reputation": reputation.to_string(),
        "tokens": tokens.to_string(),
    });
    print(&args.query, "proof", &result, |r| {
        if verified {
            format!(
                "verified: at height {} (state root {}), reputation {} and {} tokens",
                r["height"], root, reputation, tokens
            )
        } else {
            "NOT verified: the proof does not match the state root".to_string()
        }
    });
    Ok(if verified {
        Outcome::Success
    } else {
        Outcome::No
    })
}
