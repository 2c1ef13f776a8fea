//! `stigmer cluster up|down`: a federation on one machine, for trying
//! things out and for tests. Validators and full nodes are ordinary
//! `stigmer node` processes on 127.0.0.1 with their data under one
//! directory:
//!
//! ```text
//! DIR/cluster.json        the nodes: name, role, API and p2p addresses, key
//! DIR/validator-0/        a node's data directory, with node.log and pid
//! DIR/full-node-0/
//! ```
//!
//! `up` is idempotent: on an existing directory it starts the nodes that
//! are not running (after a crash or `kill -9`, they catch up), then waits
//! until every node has finalized new blocks.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use stigmer_node::genesis::Genesis;
use stigmer_node::run::{ensure_validator_key, genesis_path};

use crate::Outcome;

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Start validators and full nodes on 127.0.0.1 (or those of DIR that
    /// are not running), and wait until they finalize blocks.
    Up(UpArgs),
    /// Stop every node of the cluster in DIR (their data stays).
    Down(DirArgs),
}

#[derive(Args)]
pub struct UpArgs {
    /// How many validators (for a new cluster). A cluster of 3f+1 tolerates f faulty ones.
    #[arg(long, default_value_t = 4)]
    validators: u32,
    /// How many full nodes (for a new cluster).
    #[arg(long, default_value_t = 1)]
    full_nodes: u32,
    /// Minimum milliseconds between blocks.
    #[arg(long, default_value_t = 200)]
    block_interval_ms: u64,
    /// Give up waiting for blocks after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    #[command(flatten)]
    dir: DirArgs,
}

#[derive(Args)]
pub struct DirArgs {
    /// The cluster's directory.
    #[arg(long)]
    dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Validator,
    FullNode,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::Validator => "validator",
            Role::FullNode => "full-node",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterNode {
    pub name: String,
    pub role: Role,
    pub api: SocketAddr,
    /// Validators only.
    pub p2p: Option<SocketAddr>,
    /// The consensus key (validators only), hex.
    pub key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ClusterFile {
    pub block_interval_ms: u64,
    pub nodes: Vec<ClusterNode>,
}

fn cluster_file(dir: &Path) -> PathBuf {
    dir.join("cluster.json")
}

pub fn node_dir(dir: &Path, node: &ClusterNode) -> PathBuf {
    dir.join(&node.name)
}

fn pid_file(dir: &Path, node: &ClusterNode) -> PathBuf {
    node_dir(dir, node).join("pid")
}

pub fn load(dir: &Path) -> anyhow::Result<ClusterFile> {
    let path = cluster_file(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is not a cluster directory", dir.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
}

pub fn run(command: ClusterCommand) -> anyhow::Result<Outcome> {
    match command {
        ClusterCommand::Up(args) => up(&args),
        ClusterCommand::Down(args) => {
            let stopped = down(&args.dir)?;
            eprintln!(
                "stopped {stopped} node(s); their data stays in {}",
                args.dir.display()
            );
            Ok(Outcome::Success)
        }
    }
}

fn up(args: &UpArgs) -> anyhow::Result<Outcome> {
    let dir = &args.dir.dir;
    let cluster = if cluster_file(dir).exists() {
        load(dir)?
    } else {
        if args.validators == 0 {
            bail!("a cluster needs at least one validator");
        }
        // The festival cooperative of the demo, so the cluster has a
        // community whose members' keys are known
        // (`stigmer_node::demo::member_key`).
        create(
            dir,
            args.validators,
            args.full_nodes,
            args.block_interval_ms,
            |keys| stigmer_node::demo::genesis("stigmer-cluster", keys, crate::commands::now_ms()),
        )?
    };
    start_missing(dir, &cluster)?;
    wait_finalizing(dir, &cluster, Duration::from_secs(args.timeout_secs))?;
    for node in &cluster.nodes {
        println!("{} http://{}", node.role.word(), node.api);
    }
    Ok(Outcome::Success)
}

/// Starts the nodes of `cluster` that are not running.
pub fn start_missing(dir: &Path, cluster: &ClusterFile) -> anyhow::Result<()> {
    let mut started = 0;
    for node in &cluster.nodes {
        if let Some(pid) = running_pid(dir, node)
            && exiting(pid)
        {
            // Killed a moment ago: let it release its port and files.
            wait_exited(dir, node, Duration::from_secs(10));
        }
        if running_pid(dir, node).is_none() {
            start(dir, cluster, node)?;
            started += 1;
        }
    }
    if started > 0 {
        eprintln!("started {started} node(s); waiting for blocks...");
    }
    Ok(())
}

/// Free ports on 127.0.0.1, held together so that they differ.
///
/// They are taken below the kernel's ephemeral range: a port from that
/// range, free now, may be the source port of some outgoing connection by
/// the time a restarted node wants it back.
fn free_addresses(count: usize) -> anyhow::Result<Vec<SocketAddr>> {
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000u16, ephemeral_start.max(10_000 + 1_000));
    let span = u32::from(high - low);
    // Start somewhere different each time, so clusters side by side rarely
    // probe the same ports.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        ^ std::process::id().wrapping_mul(2_654_435_761);
    let mut listeners = Vec::with_capacity(count);
    for step in 0..span {
        if listeners.len() == count {
            break;
        }
        let port = low + ((seed.wrapping_add(step)) % span) as u16;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(listener);
        }
    }
    if listeners.len() < count {
        bail!("cannot find {count} free ports on 127.0.0.1 between {low} and {high}");
    }
    Ok(listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<_, _>>()?)
}

/// Makes a new cluster in `dir`: keys, data directories, and the genesis
/// `genesis` makes from the validators' keys.
pub fn create(
    dir: &Path,
    n_validators: u32,
    n_full: u32,
    block_interval_ms: u64,
    genesis: impl FnOnce(Vec<String>) -> Genesis,
) -> anyhow::Result<ClusterFile> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (n_validators, n_full) = (n_validators as usize, n_full as usize);
    let mut addresses = free_addresses(2 * n_validators + n_full)?.into_iter();
    let mut nodes = Vec::new();
    for index in 0..n_validators {
        let name = format!("validator-{index}");
        let key = ensure_validator_key(&dir.join(&name))?;
        nodes.push(ClusterNode {
            name,
            role: Role::Validator,
            api: addresses.next().context("ports")?,
            p2p: Some(addresses.next().context("ports")?),
            key: Some(key),
        });
    }
    for index in 0..n_full {
        nodes.push(ClusterNode {
            name: format!("full-node-{index}"),
            role: Role::FullNode,
            api: addresses.next().context("ports")?,
            p2p: None,
            key: None,
        });
    }
    let genesis = genesis(nodes.iter().filter_map(|n| n.key.clone()).collect());
    for node in &nodes {
        let node_dir = node_dir(dir, node);
        std::fs::create_dir_all(&node_dir)?;
        std::fs::write(genesis_path(&node_dir), genesis.to_json())?;
    }
    let cluster = ClusterFile {
        block_interval_ms,
        nodes,
    };
    std::fs::write(cluster_file(dir), serde_json::to_string_pretty(&cluster)?)?;
    eprintln!(
        "a new cluster in {}: {} validators, {} full node(s), genesis {}",
        dir.display(),
        n_validators,
        n_full,
        genesis.hash()
    );
    Ok(cluster)
}

/// Starts one node in the background, detached from this process, its
/// output appended to `node.log` in its directory.
pub fn start(dir: &Path, cluster: &ClusterFile, node: &ClusterNode) -> anyhow::Result<u32> {
    use std::os::unix::process::CommandExt as _;
    let node_dir = node_dir(dir, node);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(node_dir.join("node.log"))
        .with_context(|| format!("cannot open the log in {}", node_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find the stigmer binary")?;
    let mut command = Command::new(exe);
    command
        .arg("node")
        .arg("--data-dir")
        .arg(&node_dir)
        .arg("--listen")
        .arg(node.api.to_string());
    match node.role {
        Role::Validator => {
            let p2p = node.p2p.context("a validator without a p2p address")?;
            command
                .arg("--p2p-address")
                .arg(p2p.to_string())
                .arg("--block-interval-ms")
                .arg(cluster.block_interval_ms.to_string());
            for peer in cluster.nodes.iter().filter(|p| p.name != node.name) {
                if let (Some(key), Some(address)) = (&peer.key, peer.p2p) {
                    command.arg("--peer").arg(format!("{key}@{address}"));
                }
            }
        }
        Role::FullNode => {
            for validator in cluster.nodes.iter().filter(|p| p.role == Role::Validator) {
                command
                    .arg("--follow")
                    .arg(format!("http://{}", validator.api));
            }
        }
    }
    let child = command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for the shell that ran
        // `cluster up` does not reach the nodes.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start {}", node.name))?;
    let pid = child.id();
    std::fs::write(pid_file(dir, node), pid.to_string())?;
    Ok(pid)
}

/// The pid of `node` if it is running (a stigmer process for its
/// directory), including while it is still exiting.
pub fn running_pid(dir: &Path, node: &ClusterNode) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pid_file(dir, node))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // The pid may have been reused: check what runs under it.
    // (An exiting process shows an empty command line.)
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let wanted = node_dir(dir, node);
    let mine = cmdline.is_empty()
        || cmdline
            .split(|b| *b == 0)
            .any(|arg| Path::new(std::str::from_utf8(arg).unwrap_or("")) == wanted);
    (mine && has_live_threads(pid)).then_some(pid)
}

/// Whether any thread of `pid` has not exited. After SIGKILL the main
/// thread turns zombie first; the process holds its files and ports until
/// the last thread is gone.
fn has_live_threads(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        stat.rsplit_once(')').is_some_and(|(_, rest)| {
            !matches!(rest.trim_start().chars().next(), Some('Z' | 'X') | None)
        })
    })
}

/// Whether `pid` is exiting: its main thread is done, others not yet.
fn exiting(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
}

/// Waits (at most `timeout`) until the process of `node` has exited.
fn wait_exited(dir: &Path, node: &ClusterNode, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while running_pid(dir, node).is_some() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Sends `signal` (`TERM`, `KILL`) with kill(1): the workspace has no
/// unsafe code, not even for kill(2).
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops every running node: SIGTERM, then SIGKILL after 15 seconds.
/// Returns how many were running.
pub fn down(dir: &Path) -> anyhow::Result<usize> {
    let cluster = load(dir)?;
    let running: Vec<&ClusterNode> = cluster
        .nodes
        .iter()
        .filter(|node| running_pid(dir, node).is_some())
        .collect();
    for node in &running {
        if let Some(pid) = running_pid(dir, node) {
            signal(pid, "TERM");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && running.iter().any(|n| running_pid(dir, n).is_some()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    for node in &running {
        if let Some(pid) = running_pid(dir, node) {
            eprintln!("{} did not stop in time; killing it", node.name);
            signal(pid, "KILL");
            wait_exited(dir, node, Duration::from_secs(10));
        }
    }
    for node in &cluster.nodes {
        let _ = std::fs::remove_file(pid_file(dir, node));
    }
    Ok(running.len())
}

/// The finalized height a node reports, if it answers.
pub fn height(agent: &ureq::Agent, api: SocketAddr) -> Option<u64> {
    let mut response = agent
        .get(format!("http://{api}/api/v1/status"))
        .call()
        .ok()?;
    let status: serde_json::Value = response.body_mut().read_json().ok()?;
    status["height"].as_u64()
}

/// Waits until every node answers and has finalized a block past the
/// highest height seen when the wait began.
pub fn wait_finalizing(dir: &Path, cluster: &ClusterFile, timeout: Duration) -> anyhow::Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into();
    let deadline = Instant::now() + timeout;
    let mut baseline: Option<u64> = None;
    loop {
        let heights: Vec<Option<u64>> = cluster
            .nodes
            .iter()
            .map(|node| height(&agent, node.api))
            .collect();
        if baseline.is_none() {
            baseline = heights.iter().flatten().max().copied();
        }
        let target = baseline.unwrap_or(0) + 1;
        if heights.iter().all(|h| h.is_some_and(|h| h >= target)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let lagging: Vec<String> = cluster
                .nodes
                .iter()
                .zip(&heights)
                .filter(|(_, h)| !h.is_some_and(|h| h >= target))
                .map(|(node, h)| {
                    let state = match h {
                        Some(h) => format!("at height {h}"),
                        None => "not answering".to_string(),
                    };
                    format!(
                        "{} {state} (log: {})",
                        node.name,
                        node_dir(dir, node).join("node.log").display()
                    )
                })
                .collect();
            bail!(
                "the cluster did not finalize blocks within {} s: {}",
                timeout.as_secs(),
                lagging.join("; ")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
