//! Running a node: the ledger, consensus on Commonware's tokio runtime with
//! authenticated p2p, and the HTTP API, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::{Manager as _, authenticated::discovery};
use commonware_runtime::{Quota, Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use commonware_stream::cups::{self, Cups};
use commonware_stream::sake::{self, Sake};
use commonware_utils::{NZU32, NZUsize, ordered::Set};

use crate::NodeError;
use crate::consensus::{self, BlockCfg, Channels, Timing, channels, max_message_size};
use crate::genesis::Genesis;
use crate::ledger::{NodeLedger, Shared, lock};
use crate::serve::{ApiLimits, raise_open_file_limit, serve_api};

pub struct NodeConfig {
    pub data_dir: PathBuf,
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// Where the validator's p2p listens (and what its peers dial).
    pub p2p_address: SocketAddr,
    /// Other validators to dial at start: consensus key and p2p address.
    /// Each validator finds the rest through them.
    pub peers: Vec<Peer>,
    /// Minimum time between blocks.
    pub block_interval: Duration,
    /// The bounds on the API's connections.
    pub api_limits: ApiLimits,
    /// Called once the API is listening, with the ledger; for the demo's
    /// activity and for tests. Runs on the node's runtime.
    pub on_ready: Option<Box<dyn FnOnce(Shared, SocketAddr) + Send>>,
}

/// A validator's consensus key and where its p2p listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub key: PublicKey,
    pub address: SocketAddr,
}

impl std::str::FromStr for Peer {
    type Err = String;

    /// `KEY@HOST:PORT`, the key in hex.
    fn from_str(text: &str) -> Result<Peer, String> {
        let (key, address) = text
            .split_once('@')
            .ok_or_else(|| format!("{text:?}: expected KEY@HOST:PORT"))?;
        let key = parse_key(key)?;
        let address = address
            .parse()
            .map_err(|e| format!("{address:?} is not an address: {e}"))?;
        Ok(Peer { key, address })
    }
}

fn parse_key(text: &str) -> Result<PublicKey, String> {
    let bytes = stigmer_ledger::tx::unhex::<32>(text)
        .ok_or_else(|| format!("key {text:?} is not 64 hex digits"))?;
    PublicKey::decode(bytes::Bytes::copy_from_slice(&bytes)).map_err(|e| format!("key {text}: {e}"))
}

/// The file holding a node's consensus key.
pub fn validator_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("validator.key")
}

pub fn genesis_path(data_dir: &Path) -> PathBuf {
    data_dir.join("genesis.json")
}

/// Makes (or reads) the node's consensus key; returns its public key, hex.
pub fn ensure_validator_key(data_dir: &Path) -> Result<String, NodeError> {
    let key = read_or_create_key(data_dir)?;
    Ok(key.public_key().to_string())
}

fn read_or_create_key(data_dir: &Path) -> Result<PrivateKey, NodeError> {
    let path = validator_key_path(data_dir);
    let io = |e: std::io::Error| NodeError::Io(format!("{}: {e}", path.display()));
    if let Ok(bytes) = std::fs::read(&path) {
        return PrivateKey::decode(bytes::Bytes::from(bytes))
            .map_err(|e| NodeError::Io(format!("{} is not a key: {e}", path.display())));
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| NodeError::Io(format!("no randomness for a key: {e}")))?;
    let key = PrivateKey::decode(bytes::Bytes::copy_from_slice(&seed))
        .map_err(|e| NodeError::Io(format!("cannot make a key: {e}")))?;
    write_private(&path, &key.encode()).map_err(io)?;
    Ok(key)
}

/// Writes a secret readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

pub fn parse_validators(genesis: &Genesis) -> Result<Set<PublicKey>, NodeError> {
    let keys = genesis
        .validators
        .iter()
        .map(|text| parse_key(text).map_err(|e| NodeError::Genesis(format!("validator {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(NodeError::Genesis(
            "the genesis names no validator".to_string(),
        ));
    }
    Ok(Set::from_iter_dedup(keys))
}

/// Binds the API's listener, non-blocking. With `SO_REUSEADDR`: a node
/// restarted at once after a crash must get its port back although
/// connections of its previous life linger in `TIME_WAIT`.
pub(crate) fn listen(address: SocketAddr) -> Result<std::net::TcpListener, NodeError> {
    use socket2::{Domain, Socket, Type};
    let cannot = |e: std::io::Error| NodeError::Io(format!("cannot listen on {address}: {e}"));
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None).map_err(cannot)?;
    socket.set_reuse_address(true).map_err(cannot)?;
    socket.bind(&address.into()).map_err(cannot)?;
    socket.listen(1024).map_err(cannot)?;
    socket.set_nonblocking(true).map_err(cannot)?;
    Ok(socket.into())
}

/// Fails clearly if the p2p address is taken (by another node on this
/// machine, say), rather than letting the p2p listener panic later.
/// Commonware binds it itself, with `SO_REUSEADDR` as here, so a port in
/// `TIME_WAIT` after a restart does not count as taken.
fn check_p2p_port_free(address: SocketAddr) -> Result<(), NodeError> {
    use socket2::{Domain, Socket, Type};
    let taken = |e: std::io::Error| {
        NodeError::Io(format!(
            "cannot use {address} for peer-to-peer: {e}; is another node running here? \
             choose another port with --p2p-port (or --p2p-address)"
        ))
    };
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, None).map_err(taken)?;
    socket.set_reuse_address(true).map_err(taken)?;
    socket.bind(&address.into()).map_err(taken)?;
    socket.listen(1).map_err(taken)?;
    Ok(())
}

/// The domain of every consensus signature of a chain.
pub fn namespace(genesis: &Genesis) -> Vec<u8> {
    format!("stigmer/{}", genesis.chain_id).into_bytes()
}

/// Runs the node until Ctrl-C or SIGTERM.
pub fn run(config: NodeConfig) -> Result<(), NodeError> {
    let genesis_file = genesis_path(&config.data_dir);
    let text = std::fs::read_to_string(&genesis_file).map_err(|e| {
        NodeError::Io(format!(
            "cannot read {}: {e} (run `stigmer init` first)",
            genesis_file.display()
        ))
    })?;
    let genesis = Genesis::parse(&text)?;
    let signer = read_or_create_key(&config.data_dir)?;
    let participants = parse_validators(&genesis)?;
    let me = signer.public_key();
    if participants.position(&me).is_none() {
        return Err(NodeError::Genesis(format!(
            "this node's key {me} is not a validator of the genesis; \
             to keep a full node, follow a validator's API instead"
        )));
    }
    // Before opening anything: the API's share is sized from the limit.
    let api_limits = config.api_limits.fit_open_files(raise_open_file_limit());
    let namespace = namespace(&genesis);
    let genesis_hash = genesis.hash();
    let ledger: Shared = Arc::new(Mutex::new(NodeLedger::open(
        &config.data_dir.join("ledger"),
        genesis,
    )?));
    // Bind before starting anything, so a busy port is a clear error.
    let listener = listen(config.listen)?;
    check_p2p_port_free(config.p2p_address)?;
    let api_address = listener
        .local_addr()
        .map_err(|e| NodeError::Io(e.to_string()))?;

    let runtime = cw_tokio::Config::default()
        .with_worker_threads(2)
        .with_storage_directory(config.data_dir.join("consensus"));
    let outcome: Result<(), NodeError> =
        cw_tokio::Runner::new(runtime).start(|context| async move {
            let block_cfg = BlockCfg::default();
            let address = config.p2p_address;
            let bootstrappers = config
                .peers
                .iter()
                .filter(|peer| peer.key != me)
                .map(|peer| (peer.key.clone(), peer.address.into()))
                .collect();
            let mut p2p = discovery::Config::local(
                Cups::<_, ChaCha20Poly1305>::new(
                    Sake {
                        signer: signer.clone(),
                        synchrony_bound: Duration::from_secs(5),
                        max_handshake_age: Duration::from_secs(10),
                        version: sake::Version::V1,
                    },
                    cups::Version::V1,
                ),
                &[namespace.as_slice(), b"_P2P"].concat(),
                address,
                address,
                bootstrappers,
                NZUsize!(participants.len()),
                max_message_size(participants.len() as u32, &block_cfg),
                NZUsize!(1_024),
            );
            // Each handshake holds a descriptor: bound them well within the
            // descriptors kept from the API (`serve::FILES_RESERVED_MIN`).
            p2p.max_concurrent_handshakes = NZU32!(64);
            let (mut network, mut oracle) = discovery::Network::new(context.child("p2p"), p2p);
            let _ = oracle.track(0, participants.clone());
            let quota = Quota::per_second(NZU32!(256));
            let network_channels = Channels {
                votes: network.register(channels::VOTES, quota),
                certificates: network.register(channels::CERTIFICATES, quota),
                resolver: network.register(channels::RESOLVER, quota),
                broadcast: network.register(channels::BROADCAST, quota),
                backfill: network.register(channels::BACKFILL, quota),
                transactions: network.register(channels::TRANSACTIONS, quota),
            };
            network.start();

            let finalizing = ledger.clone();
            let on_finalized: consensus::FinalizedHook = Arc::new(move |block, finality| {
                let Some(ledger_block) = &block.ledger else {
                    return;
                };
                if let Err(error) = lock(&finalizing).finalize(ledger_block, finality) {
                    // A finalized block this node cannot apply or store: going
                    // on would fork its state from everyone else's. Stop.
                    tracing::error!(%error, "cannot apply a finalized block; stopping");
                    eprintln!(
                        "stigmer: cannot apply finalized block {}: {error}",
                        ledger_block.header.height
                    );
                    std::process::exit(3);
                }
            });
            let node = consensus::start(
                context.child("node"),
                consensus::Config {
                    signer,
                    participants,
                    namespace,
                    partition_prefix: "stigmer".into(),
                    blocker: oracle.clone(),
                    peer_provider: oracle.clone(),
                    ledger: ledger.clone(),
                    genesis_hash,
                    on_finalized,
                    block_cfg,
                    timing: Timing {
                        block_interval: config.block_interval,
                        ..Timing::default()
                    },
                    mailbox_size: NZUsize!(1_024),
                },
                network_channels,
            )
            .await;
            tracing::info!(restored = ?node.restored_height, "consensus started");
            // A progress bar while marshal backfills finalized blocks from peers.
            let (processed, tip) = (node.processed.clone(), node.tip.clone());
            ::tokio::spawn(async move {
                let mut catch_up = crate::progress::CatchUp::default();
                loop {
                    ::tokio::time::sleep(Duration::from_millis(250)).await;
                    let height = processed.load(std::sync::atomic::Ordering::Acquire);
                    catch_up.update(height, tip.load(std::sync::atomic::Ordering::Acquire));
                }
            });

            serve_api(listener, ledger.clone(), api_limits)?;
            if let Some(on_ready) = config.on_ready {
                on_ready(ledger.clone(), api_address);
            }
            shutdown_signal().await;
            tracing::info!("stopping");
            let _ = context.stop(0, Some(Duration::from_secs(5))).await;
            Ok(())
        });
    outcome
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = ::tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match ::tokio::signal::unix::signal(::tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        ::tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
