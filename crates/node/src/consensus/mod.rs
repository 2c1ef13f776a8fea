//! Consensus: Commonware's simplex with marshal, ordering ledger blocks.
//!
//! ```text
//!   simplex::Engine  --(Automaton/Relay/Reporter)-->  marshal::standard::Deferred<App>
//!        |                                                     |
//!        | votes / certificates / resolver channels            | verified + notarized blocks
//!        v                                                     v
//!   p2p (authenticated::discovery or simulated)       marshal::core::Actor (archives)
//!                                                              |  ordered finalized blocks
//!   broadcast::buffered (full blocks) <-----------------------+  (Update::Block + ack)
//!   marshal::resolver::p2p (backfill)                          v
//!                                                      Finalizer -> on_finalized hook
//! ```
//!
//! The exact same [`start`] is used by the node (tokio runtime + authenticated p2p, see
//! `run.rs`) and by the simulations of N validators (deterministic runtime + simulated
//! p2p, see `tests/it/simulation.rs`). Only the participant set and the network handles
//! differ.

mod application;
pub mod block;
pub mod finality;
mod finalizer;
pub mod gossip;

pub use block::{Block, BlockCfg, BlockContext};
pub use finality::{CertificateChecker, Finality};
pub use finalizer::Finalizer;

use application::App;
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self, Start,
        core::{Actor as MarshalActor, Mailbox},
        standard::{Deferred, Standard},
    },
    simplex::{
        self,
        config::{Floor, ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
        types::Finalization,
    },
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digested, Digestible, Sha256, Signer as _,
    certificate::{ConstantProvider, Verifier as _},
    ed25519::{PrivateKey, PublicKey},
    sha256::Digest,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::archive::immutable;
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set};
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tracing::info;

/// Certificate scheme: plain ed25519 multi-signatures (attributable). Works with the
/// `RoundRobin` elector; `Random` would require BLS threshold (DKG) instead.
pub type Scheme = simplex::scheme::ed25519::Scheme;

/// Marshal mailbox: query finalized blocks/certificates by height or digest.
pub type MarshalMailbox = Mailbox<Scheme, Standard<Block>>;

/// Finalization certificate for a block digest.
pub type BlockFinalization = Finalization<Scheme, Digest>;

/// Called once per finalized block, in height order without gaps, at least
/// once (after a restart marshal may deliver again blocks above its last
/// acknowledged height), with the encoded [`Finality`] proving it. Must make
/// the block durable before returning.
pub type FinalizedHook = Arc<dyn Fn(&Block, &[u8]) + Send + Sync>;

/// Channel ids (must match on every node).
pub mod channels {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const BACKFILL: u64 = 4;
    pub const TRANSACTIONS: u64 = 5;
}

/// Network handles for the five channels, produced by whichever p2p implementation is used.
pub struct Channels<S, R> {
    /// simplex votes (notarize / nullify / finalize).
    pub votes: (S, R),
    /// simplex certificates (notarization / nullification / finalization).
    pub certificates: (S, R),
    /// simplex certificate fetcher for missing views.
    pub resolver: (S, R),
    /// full-block dissemination (`broadcast::buffered`).
    pub broadcast: (S, R),
    /// marshal backfill of missing finalized blocks.
    pub backfill: (S, R),
    /// transactions submitted to one validator, announced to the others.
    pub transactions: (S, R),
}

/// Consensus timing.
///
/// A leader with something to include proposes `block_interval` after the
/// parent. A leader with nothing to include waits for a transaction (woken
/// by the pool) for `idle_wait`, within its `leader_timeout`, then lets its
/// view go without a proposal: simplex nullifies it, which costs votes but
/// nothing kept on disk (simplex's journal is pruned as blocks finalize).
/// Once `empty_block_interval` has passed since the parent, the leader
/// proposes an empty block instead, so that finalization (and with it that
/// pruning) goes on. An idle chain thus makes a view a second and an empty
/// block every `empty_block_interval`, while the timeouts that recover from
/// crashed, silent or Byzantine leaders and lost messages stay short.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Minimum `block.timestamp - parent.timestamp` of a block with
    /// transactions; the proposer sleeps to honor it. Must be smaller than
    /// `leader_timeout`.
    pub block_interval: Duration,
    /// How often an idle chain makes an empty block.
    pub empty_block_interval: Duration,
    /// How long a leader with nothing to include waits for a transaction
    /// before letting its view be nullified. Must leave its proposal time to
    /// reach the others within `leader_timeout`.
    pub idle_wait: Duration,
    /// Time a validator waits for the leader's proposal before voting to nullify.
    pub leader_timeout: Duration,
    /// Time a validator waits for the view to certify before voting to nullify
    /// (must be > `leader_timeout`).
    pub certification_timeout: Duration,
    /// Re-broadcast period of nullify votes while stuck in a view.
    pub timeout_retry: Duration,
    /// Fast-skip of views led by an inactive leader (must be > certification_timeout and
    /// > timeout_retry). `None` disables it.
    pub skip_timeout: Option<Duration>,
    /// Request timeout of the simplex resolver and the marshal backfill resolver.
    pub fetch_timeout: Duration,
    /// Delay before retrying an unresolved fetch.
    pub fetch_retry_delay: Duration,
    /// Views kept (in memory and in the simplex journal) behind the finalized tip.
    pub view_retention: ViewDelta,
    /// Tolerated clock skew for block timestamps before a validator holds its vote.
    pub max_future_skew: Duration,
}

/// How often an idle chain makes an empty block. An empty block costs about
/// 1.4 kB on disk for good (measured: 0.9 kB in the ledger's redb, 0.5 kB in
/// marshal's archives of finalized blocks and certificates; simplex's journal
/// and marshal's caches are pruned, so they stay a few MB), so one every
/// 30 s is about 4 MB a day, under the 10 MB a day an idle node may grow
/// (`docs/SECURITY.md`).
pub const EMPTY_BLOCK_INTERVAL: Duration = Duration::from_secs(30);

impl Default for Timing {
    fn default() -> Self {
        Self {
            block_interval: Duration::from_millis(200),
            empty_block_interval: EMPTY_BLOCK_INTERVAL,
            idle_wait: Duration::from_millis(700),
            leader_timeout: Duration::from_secs(1),
            certification_timeout: Duration::from_secs(2),
            timeout_retry: Duration::from_secs(5),
            skip_timeout: Some(Duration::from_secs(10)),
            fetch_timeout: Duration::from_secs(2),
            fetch_retry_delay: Duration::from_millis(100),
            view_retention: ViewDelta::new(256),
            max_future_skew: Duration::from_millis(500),
        }
    }
}

/// Everything [`start`] needs besides the runtime context and the network channels.
pub struct Config<B, P> {
    /// This validator's identity (p2p + consensus signing key).
    pub signer: PrivateKey,
    /// The validator set (1 for the embedded default). Same on every node.
    pub participants: Set<PublicKey>,
    /// Domain separation for all consensus signatures and the genesis block.
    pub namespace: Vec<u8>,
    /// Prefix for every storage partition (lets several nodes share one runtime in tests).
    pub partition_prefix: String,
    /// Peer blocker (the p2p oracle / control).
    pub blocker: B,
    /// Peer-set provider (the p2p oracle / manager).
    pub peer_provider: P,
    /// The ledger proposals are built on and verified against.
    pub ledger: crate::ledger::Shared,
    /// The ledger genesis hash (parent of ledger block 1).
    pub genesis_hash: stigmer_ledger::Hash,
    pub on_finalized: FinalizedHook,
    pub block_cfg: BlockCfg,
    pub timing: Timing,
    /// Capacity of internal actor mailboxes.
    pub mailbox_size: NonZeroUsize,
}

/// Handle to a running node.
pub struct Node {
    /// Marshal mailbox (read finalized blocks / certificates by height or digest).
    pub marshal: MarshalMailbox,
    /// Last height durably acknowledged to marshal *before* this start (`None` = fresh).
    /// Blocks above it will be (re)delivered to `on_finalized`.
    pub restored_height: Option<u64>,
    /// Highest height handed to `on_finalized` so far.
    pub processed: Arc<AtomicU64>,
    /// Highest finalized height known (may be ahead of `processed`).
    pub tip: Arc<AtomicU64>,
    /// Handles of the spawned actors (all run until the runtime stops).
    pub handles: Vec<Handle<()>>,
}

impl Node {
    pub fn processed_height(&self) -> u64 {
        self.processed.load(Ordering::Acquire)
    }
}

/// Upper bound on any message our channels carry, to configure the p2p `max_message_size`.
pub fn max_message_size(participants: u32, block_cfg: &BlockCfg) -> u32 {
    let marshal = marshal::max_payload_size::<Standard<Block>, Scheme>(participants, block_cfg);
    // Votes and certificates are far smaller than a block for realistic committees, but
    // keep a floor so tiny blocks do not starve certificate traffic.
    marshal.max(64 * 1024) as u32
}

// Storage tuning (modest values for a single embedded node; alto uses much larger tables).
const PAGE_SIZE: u16 = 4_096;
const PAGE_CACHE_PAGES: usize = 1_024; // 4 MiB
const REPLAY_BUFFER: NonZeroUsize = NZUsize!(1024 * 1024);
const WRITE_BUFFER: NonZeroUsize = NZUsize!(128 * 1024);
const FREEZER_TABLE_INITIAL_SIZE: u32 = 1 << 14;
const FREEZER_TABLE_RESIZE_FREQUENCY: u8 = 4;
const FREEZER_TABLE_RESIZE_CHUNK_SIZE: u32 = 1 << 12;
const FREEZER_VALUE_TARGET_SIZE: u64 = 128 * 1024 * 1024;
const IMMUTABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(1 << 18);
const PRUNABLE_ITEMS_PER_SECTION: NonZeroU64 = NZU64!(4_096);
const MAX_REPAIR: NonZeroUsize = NZUsize!(16);
const MAX_PENDING_ACKS: NonZeroUsize = NZUsize!(16);
const BUFFER_DEQUE_SIZE: usize = 16;

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: &CacheRef,
    codec_config: C,
) -> immutable::Config<C> {
    immutable::Config {
        metadata_partition: format!("{prefix}-{name}-metadata"),
        freezer_table_partition: format!("{prefix}-{name}-freezer-table"),
        freezer_table_initial_size: FREEZER_TABLE_INITIAL_SIZE,
        freezer_table_resize_frequency: FREEZER_TABLE_RESIZE_FREQUENCY,
        freezer_table_resize_chunk_size: FREEZER_TABLE_RESIZE_CHUNK_SIZE,
        freezer_key_partition: format!("{prefix}-{name}-freezer-key"),
        freezer_key_page_cache: page_cache.clone(),
        freezer_value_partition: format!("{prefix}-{name}-freezer-value"),
        freezer_value_target_size: FREEZER_VALUE_TARGET_SIZE,
        freezer_value_compression: None,
        ordinal_partition: format!("{prefix}-{name}-ordinal"),
        items_per_section: IMMUTABLE_ITEMS_PER_SECTION,
        freezer_key_write_buffer: WRITE_BUFFER,
        freezer_value_write_buffer: WRITE_BUFFER,
        ordinal_write_buffer: WRITE_BUFFER,
        replay_buffer: REPLAY_BUFFER,
        codec_config,
    }
}

/// Build and start buffer, marshal, the finalizer and simplex on `context`.
///
/// Restart: call again with the same storage (same `partition_prefix`, same storage
/// directory). Marshal and simplex recover from their journals; blocks finalized but not
/// yet acknowledged are redelivered to `on_finalized`.
pub async fn start<E, B, P, S, R>(context: E, cfg: Config<B, P>, channels: Channels<S, R>) -> Node
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng,
    B: Blocker<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let Config {
        signer,
        participants,
        namespace,
        partition_prefix: prefix,
        blocker,
        peer_provider,
        ledger,
        genesis_hash,
        on_finalized,
        block_cfg,
        timing,
        mailbox_size,
    } = cfg;
    assert!(
        timing.block_interval < timing.leader_timeout
            && timing.idle_wait < timing.leader_timeout
            && timing.block_interval <= timing.empty_block_interval,
        "block_interval and idle_wait must be < leader_timeout, block_interval <= empty_block_interval"
    );
    let me = signer.public_key();
    let scheme = Scheme::signer(&namespace, participants.clone(), signer)
        .expect("signer must be a participant");

    // Genesis (height 0) is a local anchor both for marshal and for simplex's view 0.
    let genesis = Block::genesis(&namespace);
    let genesis_digest = genesis.digest();
    // One epoch forever: the validator set is static. An epoch boundary would make the
    // marshal wrapper re-propose the boundary block until a new simplex epoch starts.
    let epocher = FixedEpocher::new(NZU64!(u64::MAX));
    let page_cache = CacheRef::new(NZU16!(PAGE_SIZE), NZUsize!(PAGE_CACHE_PAGES));

    // Full-block dissemination.
    let (buffer, buffer_mailbox) = buffered::Engine::new(
        context.child("buffer"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size,
            deque_size: BUFFER_DEQUE_SIZE,
            priority: false,
            codec_config: block_cfg,
            peer_provider: peer_provider.clone(),
            strategy: Sequential,
        },
    );

    // Marshal's durable archives: finalization certificates and finalized blocks, both
    // indexed by height (ordinal) and by digest (freezer).
    let finalizations_by_height = immutable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations-by-height",
            &page_cache,
            Scheme::certificate_codec_config_unbounded(),
        ),
    )
    .await
    .expect("failed to initialize finalizations archive");
    let finalized_blocks = immutable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "finalized-blocks", &page_cache, block_cfg),
    )
    .await
    .expect("failed to initialize finalized blocks archive");

    let (marshal_actor, marshal_mailbox, floor) = MarshalActor::init(
        context.child("marshal"),
        finalizations_by_height,
        finalized_blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: epocher.clone(),
            start: Start::Genesis(Digested::precomputed(genesis, genesis_digest)),
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size,
            view_retention: timing.view_retention,
            prunable_items_per_section: PRUNABLE_ITEMS_PER_SECTION,
            page_cache: page_cache.clone(),
            replay_buffer: REPLAY_BUFFER,
            key_write_buffer: WRITE_BUFFER,
            value_write_buffer: WRITE_BUFFER,
            block_codec_config: block_cfg,
            max_repair: MAX_REPAIR,
            max_pending_acks: MAX_PENDING_ACKS,
            strategy: Sequential,
        },
    )
    .await;
    let restored_height = floor.processed().map(|p| p.height().get());
    info!(?restored_height, "marshal restored");
    let processed = Arc::new(AtomicU64::new(restored_height.unwrap_or(0)));
    let tip = Arc::new(AtomicU64::new(restored_height.unwrap_or(0)));

    // Our application, wrapped by marshal's deferred-verification adapter.
    let app = App {
        ledger: ledger.clone(),
        genesis_hash,
        block_interval: timing.block_interval,
        empty_block_interval: timing.empty_block_interval,
        idle_wait: timing.idle_wait,
        max_future_skew: timing.max_future_skew,
    };
    let wrapper = Deferred::new(
        context.child("application"),
        app,
        marshal_mailbox.clone(),
        epocher,
    );

    // Reporter for marshal's ordered finalized blocks.
    let (finalizer, worker) = finalizer::new(
        marshal_mailbox.clone(),
        ledger.clone(),
        on_finalized,
        processed.clone(),
        tip.clone(),
    );

    // Marshal backfill (fetch missing finalized blocks from peers).
    let (backfill_rx, backfill_resolver) = marshal::resolver::p2p::init(
        context.child("backfill"),
        marshal::resolver::p2p::Config {
            public_key: me.clone(),
            peer_provider,
            blocker: blocker.clone(),
            mailbox_size,
            fetch_timeout: NZDuration!(timing.fetch_timeout),
            fetch_retry_delay: timing.fetch_retry_delay,
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let consensus = simplex::Engine::new(
        context.child("consensus"),
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: wrapper.clone(),
            relay: wrapper.clone(),
            reporter: wrapper,
            track_historical_votes: false,
            strategy: Sequential,
            partition: format!("{prefix}-consensus"),
            mailbox_size,
            epoch: Epoch::zero(),
            floor: Floor::Genesis(genesis_digest),
            replay_buffer: REPLAY_BUFFER,
            write_buffer: WRITE_BUFFER,
            page_cache,
            leader_timeout: timing.leader_timeout,
            certification_timeout: timing.certification_timeout,
            timeout_retry: timing.timeout_retry,
            view_retention: timing.view_retention,
            skip: match timing.skip_timeout {
                Some(timeout) => SkipPolicy::Enabled {
                    timeout,
                    budget: SkipBudget::Participants,
                },
                None => SkipPolicy::Disabled,
            },
            fetch_timeout: NZDuration!(timing.fetch_timeout),
            fetch_retry_delay: timing.fetch_retry_delay,
            forward: ForwardPolicy::Disabled,
        },
    );

    let (announce, outgoing) = futures::channel::mpsc::unbounded();
    crate::ledger::lock(&ledger).set_gossip(announce.clone());

    // Start order: consumers before producers, so nothing replayed at startup is dropped.
    let mut handles = vec![
        worker.start(context.child("finalizer")),
        buffer.start(channels.broadcast),
        marshal_actor.start(finalizer, buffer_mailbox, (backfill_rx, backfill_resolver)),
        consensus.start(channels.votes, channels.certificates, channels.resolver),
    ];
    handles.extend(gossip::start(
        context.child("gossip"),
        ledger,
        announce,
        outgoing,
        channels.transactions,
    ));

    Node {
        marshal: marshal_mailbox,
        restored_height,
        processed,
        tip,
        handles,
    }
}
