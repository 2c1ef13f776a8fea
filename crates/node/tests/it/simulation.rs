//! Deterministic simulations of a federation of validators.
//!
//! Every honest validator runs the real `consensus::start` over its own real
//! `NodeLedger` (redb in a scratch directory), all on Commonware's
//! deterministic runtime and simulated network: latency, jitter and message
//! loss on every link, partitions that heal, validators that crash and
//! restart on their storage, and Byzantine validators from Commonware's
//! simplex mocks in place of honest ones. Members of the demo's festival sign
//! transactions throughout (contributions, evaluations, transfers), so
//! blocks carry real work.
//!
//! Each scenario runs over many seeds and checks:
//!
//! - safety: at every height, every honest validator finalizes the same
//!   ledger block (checked in the finalization hook, against the first
//!   validator to finalize that height, across restarts too);
//! - state: every honest validator reaches the same state root at every
//!   height; at the end each ledger is reopened from its directory (which
//!   replays every stored block and checks its state root) and its root is
//!   recomputed from scratch;
//! - liveness: once a quorum of honest validators is connected, every
//!   connected honest validator reaches a target height; the blocks carry
//!   transactions, and every transaction submitted is finalized, once
//!   (`Cluster::drain` says which, after crashes).
//!
//! A failing seed reproduces exactly: `cargo test -p stigmer-node --test it
//! simulation -- --nocapture` prints one line per seed.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use commonware_consensus::simplex::elector::RoundRobin;
use commonware_consensus::simplex::mocks::{conflicter, equivocator, nuller, relay::Relay};
use commonware_consensus::types::{Epoch, ViewDelta};
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use commonware_cryptography::{Sha256, Signer as _};
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::deterministic::{self, Context};
use commonware_runtime::{Clock as _, Handle, Quota, Runner as _, Spawner as _, Supervisor as _};
use commonware_utils::{NZU32, NZUsize, Probability, SystemTimeExt as _, ordered::Set};
use stigmer_ledger::block::Block as LedgerBlock;
use stigmer_ledger::{Hash, LedgerError};
use stigmer_node::NodeError;
use stigmer_node::consensus::{self, BlockCfg, Channels, FinalizedHook, Scheme, Timing, channels};
use stigmer_node::demo::{DEMO_DC, DEMO_MEMBERS, member_key};
use stigmer_node::genesis::Genesis;
use stigmer_node::json::{AssetJson, Decimal, OperationJson};
use stigmer_node::ledger::{NodeLedger, Shared, lock};
use stigmer_protocol::Fixed;
use stigmer_protocol::workload::Rng;

const CHAIN: &str = "simulation";
/// The genesis time; the runtime's clock starts there.
const GENESIS_MS: u64 = 1_700_000_000_000;
/// Seeds each scenario runs.
const SEEDS: std::ops::Range<u64> = 0..10;
/// The harness's step: it submits transactions, then sleeps this long.
const TICK: Duration = Duration::from_millis(100);
/// Transactions submitted per tick while the load runs.
const TXS_PER_TICK: u32 = 2;
/// How long a connected quorum may take to reach a target height.
const PROGRESS_WITHIN: Duration = Duration::from_secs(120);
/// How long crashed validators' tasks may take to let go of their ledger.
const RELEASE_WITHIN: Duration = Duration::from_secs(1);

/// What a validator does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Honest,
    /// Proposes two blocks in the views it leads, one to a victim and the
    /// other to everyone else.
    Equivocator,
    /// Votes for every proposal and for a random one too.
    Conflicter,
    /// Votes to nullify and to finalize every view.
    Nuller,
}

const BYZANTINE: [Role; 3] = [Role::Equivocator, Role::Conflicter, Role::Nuller];

/// One finalized ledger block as the harness records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Finalized {
    block: Hash,
    state_root: Hash,
    n_txs: u32,
}

impl Finalized {
    fn of(block: &LedgerBlock) -> Finalized {
        Finalized {
            block: block.hash(),
            state_root: block.header.state_root,
            n_txs: block.txs.len() as u32,
        }
    }
}

/// Every height any honest validator finalized: the first to finalize a
/// height sets it, every other must finalize the same.
type Canon = Arc<Mutex<BTreeMap<u64, Finalized>>>;

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(seed: u64) -> Scratch {
        static N_SCRATCH: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stigmer-node-simulation-{}-{seed}-{}",
            std::process::id(),
            N_SCRATCH.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What outlives one run of the runtime (a power loss restarts it): the
/// validators' keys, roles and ledger directories, the genesis, the canon,
/// the load.
struct World {
    seed: u64,
    scratch: Scratch,
    keys: Vec<PrivateKey>,
    roles: Vec<Role>,
    genesis: Genesis,
    link: Link,
    timing: Timing,
    canon: Canon,
    load: Load,
    /// Validators crashed so far.
    n_crashes: u32,
}

impl World {
    fn new(seed: u64, roles: Vec<Role>, link: Link) -> World {
        let keys: Vec<PrivateKey> = (0..roles.len() as u64)
            .map(|i| PrivateKey::from_seed(seed * 100 + i))
            .collect();
        let validators = keys.iter().map(|k| k.public_key().to_string()).collect();
        let genesis = stigmer_node::demo::genesis(CHAIN, validators, GENESIS_MS);
        World {
            seed,
            scratch: Scratch::new(seed),
            keys,
            roles,
            genesis,
            link,
            timing: Timing::default(),
            canon: Arc::default(),
            load: Load::new(seed),
            n_crashes: 0,
        }
    }

    fn honest(&self) -> Vec<usize> {
        (0..self.roles.len())
            .filter(|&i| self.roles[i] == Role::Honest)
            .collect()
    }

    fn ledger_dir(&self, index: usize) -> PathBuf {
        self.scratch.0.join(format!("v{index}"))
    }

    fn participants(&self) -> Set<PublicKey> {
        Set::from_iter_dedup(self.keys.iter().map(|k| k.public_key()))
    }
}

fn namespace() -> Vec<u8> {
    format!("stigmer/{CHAIN}").into_bytes()
}

fn runtime(seed: u64) -> deterministic::Config {
    deterministic::Config::default()
        .with_seed(seed)
        .with_start_time(UNIX_EPOCH + Duration::from_millis(GENESIS_MS))
        .with_timeout(Some(Duration::from_secs(2 * 3_600)))
}

/// A link with `latency_ms` mean latency, half that as jitter, delivering
/// `percent_delivered` percent of the messages.
fn link(latency_ms: u64, percent_delivered: u64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(latency_ms / 2),
        success_rate: Probability::new(percent_delivered, 100).unwrap(),
    }
}

/// Members of the festival signing transactions, each always through the
/// same honest validator (its nonces come from that validator's pool).
struct Load {
    rng: Rng,
    n_contributions: u64,
    /// Every transaction a validator accepted, by signer and nonce.
    submitted: BTreeMap<(u32, u64), Slot>,
}

impl Load {
    fn new(seed: u64) -> Load {
        Load {
            rng: Rng::new(seed ^ 0x5157),
            n_contributions: 0,
            submitted: BTreeMap::new(),
        }
    }

    fn next_operation(&mut self, member: u32) -> OperationJson {
        const KINDS: [&str; 4] = ["stage", "sound", "design", "logistics"];
        let dc = DEMO_DC.to_string();
        let roll = self.rng.below(10);
        if self.n_contributions == 0 || roll < 3 {
            let n = self.n_contributions;
            self.n_contributions += 1;
            OperationJson::Contribute {
                dc,
                id: format!("work-{n}"),
                contribution_type: KINDS[(n % 4) as usize].to_string(),
                title: format!("Work number {n}"),
            }
        } else if roll < 7 {
            // Possibly not on the ledger yet, or the member's own: then the
            // evaluation is refused, which is an outcome like any other.
            let n = self.rng.below(self.n_contributions);
            OperationJson::Evaluate {
                dc,
                contribution: format!("work-{n}"),
                value: Decimal(Fixed::from_int(self.rng.below(6))),
            }
        } else {
            let to = (u64::from(member) + 1 + self.rng.below(u64::from(DEMO_MEMBERS) - 1))
                % u64::from(DEMO_MEMBERS);
            OperationJson::Transfer {
                dc,
                to: member_key(to as u32).agent().to_string(),
                amount: Decimal(Fixed::from_int(1)),
                asset: AssetJson::Tokens,
            }
        }
    }
}

/// The transactions signed with one nonce. A validator that restarted has
/// lost its pool and may hand out a nonce again; only one of them can be
/// finalized.
#[derive(Default)]
struct Slot {
    hashes: Vec<Hash>,
    /// Crashes before the last of them was submitted.
    n_crashes_before: u32,
}

type Oracle = simulated::Oracle<PublicKey, Context>;
type Control = simulated::Control<PublicKey, Context>;
type NetSender = simulated::Sender<PublicKey, Context>;
type NetReceiver = simulated::Receiver<PublicKey>;

async fn register(control: &Control, channel: u64) -> (NetSender, NetReceiver) {
    // The production quota (`run.rs`).
    let quota = Quota::per_second(NZU32!(256));
    control.register(channel, quota).await.unwrap()
}

/// An honest validator that is up.
struct Running {
    ledger: Shared,
    /// Its consensus actors are this task's descendants: aborting it stops
    /// them all.
    task: Handle<()>,
}

/// The validators on one run of the runtime, and the network between them.
struct Cluster {
    context: Context,
    oracle: Oracle,
    world: World,
    /// The honest validators that are up, by index.
    running: Vec<Option<Running>>,
    /// Directed links that exist.
    links: BTreeSet<(usize, usize)>,
    /// Whether ticks submit transactions.
    load: bool,
    started: SystemTime,
}

/// What a run ends with.
struct Report {
    /// Each honest validator's finalized height.
    heights: Vec<u64>,
    n_txs: u64,
    simulated: Duration,
}

impl Cluster {
    /// Starts the network and every validator, on the storage they have.
    async fn start(context: Context, world: World) -> Cluster {
        let n = world.keys.len();
        let peers: Vec<PublicKey> = world.keys.iter().map(|k| k.public_key()).collect();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::max_message_size(n as u32, &BlockCfg::default()),
                max_peers_per_set: NZUsize!(n),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            peers,
        )
        .await;
        network.start();
        let started = context.current();
        let mut cluster = Cluster {
            context,
            oracle,
            world,
            running: (0..n).map(|_| None).collect(),
            links: BTreeSet::new(),
            load: true,
            started,
        };
        cluster.heal().await;
        for index in 0..n {
            match cluster.world.roles[index] {
                Role::Honest => cluster.start_validator(index).await,
                role => cluster.start_byzantine(index, role).await,
            }
        }
        cluster
    }

    /// Starts honest validator `index` on its ledger directory and its
    /// consensus storage (reopened if it ran before).
    async fn start_validator(&mut self, index: usize) {
        assert!(self.running[index].is_none(), "validator {index} is up");
        let world = &self.world;
        let key = world.keys[index].clone();
        let ledger = NodeLedger::open(&world.ledger_dir(index), world.genesis.clone())
            .unwrap_or_else(|e| panic!("validator {index}'s ledger does not open: {e}"));
        let ledger: Shared = Arc::new(Mutex::new(ledger));
        let control = self.oracle.control(key.public_key());
        let network_channels = Channels {
            votes: register(&control, channels::VOTES).await,
            certificates: register(&control, channels::CERTIFICATES).await,
            resolver: register(&control, channels::RESOLVER).await,
            broadcast: register(&control, channels::BROADCAST).await,
            backfill: register(&control, channels::BACKFILL).await,
            transactions: register(&control, channels::TRANSACTIONS).await,
        };
        let config = consensus::Config {
            signer: key,
            participants: world.participants(),
            namespace: namespace(),
            partition_prefix: format!("v{index}"),
            blocker: control,
            peer_provider: self.oracle.manager(),
            ledger: ledger.clone(),
            genesis_hash: world.genesis.hash(),
            on_finalized: finalized_hook(index, ledger.clone(), world.canon.clone()),
            block_cfg: BlockCfg::default(),
            timing: world.timing.clone(),
            mailbox_size: NZUsize!(1_024),
        };
        let task = self
            .context
            .child("validator")
            .with_attribute("index", index)
            .spawn(move |context| async move {
                let _node = consensus::start(context, config, network_channels).await;
                futures::future::pending::<()>().await;
            });
        self.running[index] = Some(Running { ledger, task });
    }

    /// Starts Byzantine validator `index` with its consensus key.
    async fn start_byzantine(&mut self, index: usize, role: Role) {
        let key = self.world.keys[index].clone();
        let control = self.oracle.control(key.public_key());
        let scheme = Scheme::signer(&namespace(), self.world.participants(), key)
            .expect("a validator of the genesis");
        let votes = register(&control, channels::VOTES).await;
        let context = self
            .context
            .child("byzantine")
            .with_attribute("index", index);
        match role {
            Role::Equivocator => {
                let certificates = register(&control, channels::CERTIFICATES).await;
                let config = equivocator::Config {
                    scheme,
                    elector: RoundRobin::<Sha256>::default(),
                    epoch: Epoch::zero(),
                    // Nobody listens: the blocks it names exist nowhere.
                    relay: Arc::new(Relay::new()),
                };
                equivocator::Equivocator::<_, _, _, Sha256>::new(context, config)
                    .start(votes, certificates);
            }
            Role::Conflicter => {
                conflicter::Conflicter::<_, _, Sha256>::new(context, conflicter::Config { scheme })
                    .start(votes);
            }
            Role::Nuller => {
                nuller::Nuller::<_, _, Sha256>::new(context, nuller::Config { scheme })
                    .start(votes);
            }
            Role::Honest => unreachable!("honest validators run the node"),
        }
    }

    /// Stops honest validator `index` abruptly and waits until its ledger
    /// is closed (redb locks its file), so that it can be reopened.
    async fn crash(&mut self, index: usize) {
        let Running { ledger, task } = self.running[index].take().expect("validator is up");
        task.abort();
        self.world.n_crashes += 1;
        let deadline = self.context.current() + RELEASE_WITHIN;
        let mut ledger = ledger;
        loop {
            match Arc::try_unwrap(ledger) {
                Ok(last) => {
                    drop(last);
                    return;
                }
                Err(shared) => ledger = shared,
            }
            assert!(
                self.context.current() < deadline,
                "validator {index}'s ledger is still held after its tasks were aborted"
            );
            self.context.sleep(Duration::from_millis(1)).await;
        }
    }

    /// Cuts every link between validators of different `groups`.
    async fn partition(&mut self, groups: &[&[usize]]) {
        let group_of = |i: usize| groups.iter().position(|g| g.contains(&i));
        let cut: Vec<(usize, usize)> = self
            .links
            .iter()
            .copied()
            .filter(|&(a, b)| group_of(a) != group_of(b))
            .collect();
        for (a, b) in cut {
            let keys = &self.world.keys;
            self.oracle
                .remove_link(keys[a].public_key(), keys[b].public_key())
                .await
                .unwrap();
            self.links.remove(&(a, b));
        }
    }

    /// Links every pair of validators that is not linked.
    async fn heal(&mut self) {
        let n = self.world.keys.len();
        for a in 0..n {
            for b in 0..n {
                if a == b || self.links.contains(&(a, b)) {
                    continue;
                }
                let keys = &self.world.keys;
                self.oracle
                    .add_link(
                        keys[a].public_key(),
                        keys[b].public_key(),
                        self.world.link.clone(),
                    )
                    .await
                    .unwrap();
                self.links.insert((a, b));
            }
        }
    }

    fn height(&self, index: usize) -> Option<u64> {
        let running = self.running[index].as_ref()?;
        Some(lock(&running.ledger).chain().height)
    }

    /// Finalized heights of the honest validators; `None` when down.
    fn heights(&self) -> BTreeMap<usize, Option<u64>> {
        self.world
            .honest()
            .into_iter()
            .map(|i| (i, self.height(i)))
            .collect()
    }

    fn height_max(&self) -> u64 {
        self.heights().into_values().flatten().max().unwrap_or(0)
    }

    /// Honest validators that are up.
    fn up(&self) -> Vec<usize> {
        self.world
            .honest()
            .into_iter()
            .filter(|&i| self.running[i].is_some())
            .collect()
    }

    /// One step: submit some transactions, let time pass.
    async fn tick(&mut self) {
        if self.load {
            for _ in 0..TXS_PER_TICK {
                self.submit();
            }
        }
        self.context.sleep(TICK).await;
    }

    async fn run_for(&mut self, duration: Duration) {
        let until = self.context.current() + duration;
        while self.context.current() < until {
            self.tick().await;
        }
    }

    /// Runs until each of `validators` has finalized `height`.
    async fn run_until(&mut self, validators: &[usize], height: u64) {
        let deadline = self.context.current() + PROGRESS_WITHIN;
        while validators
            .iter()
            .any(|&i| self.height(i).is_none_or(|h| h < height))
        {
            assert!(
                self.context.current() < deadline,
                "seed {}: validators {validators:?} did not reach height {height} \
                 within {PROGRESS_WITHIN:?}; heights {:?}",
                self.world.seed,
                self.heights()
            );
            self.tick().await;
        }
    }

    /// Runs until every honest validator that is up has finalized `height`.
    async fn run_until_all(&mut self, height: u64) {
        let up = self.up();
        self.run_until(&up, height).await;
    }

    /// Stops the load and runs until every honest validator that is up has
    /// finalized every transaction submitted since the last crash, and at
    /// most one per signer and nonce. Without crashes, that is every
    /// transaction, each nonce handed out once. (Pools are not kept across
    /// a crash, and a transaction is announced to the other validators only
    /// once, when it is submitted: one accepted by a validator that was cut
    /// off and then crashed is lost.)
    async fn drain(&mut self) {
        self.load = false;
        let n_crashes = self.world.n_crashes;
        let refused = self.refused_slots();
        let n_reused = self
            .world
            .load
            .submitted
            .iter()
            .filter(|((member, nonce), slot)| {
                slot.hashes.len() > 1 && !Self::behind_a_refusal(&refused, *member, *nonce)
            })
            .count();
        assert!(
            n_reused == 0 || n_crashes > 0,
            "seed {}: {n_reused} nonces handed out twice without a crash",
            self.world.seed
        );
        let deadline = self.context.current() + PROGRESS_WITHIN;
        loop {
            let refused = self.refused_slots();
            let mut n_pending_max = 0;
            for index in self.up() {
                let mut n_pending = 0;
                let ledger = lock(&self.running[index].as_ref().expect("up").ledger);
                let store = ledger.store();
                for ((member, nonce), slot) in &self.world.load.submitted {
                    let n_finalized = slot
                        .hashes
                        .iter()
                        .filter(|hash| store.tx_location(hash).unwrap().is_some())
                        .count();
                    assert!(
                        n_finalized <= 1,
                        "seed {}: member {member} has two transactions with nonce {nonce} \
                         on validator {index}",
                        self.world.seed
                    );
                    if n_finalized == 0
                        && slot.n_crashes_before == n_crashes
                        && !Self::behind_a_refusal(&refused, *member, *nonce)
                    {
                        n_pending += 1;
                    }
                }
                n_pending_max = n_pending_max.max(n_pending);
            }
            if n_pending_max == 0 {
                return;
            }
            assert!(
                self.context.current() < deadline,
                "seed {}: {n_pending_max} transactions are not finalized within \
                 {PROGRESS_WITHIN:?}; heights {:?}",
                self.world.seed,
                self.heights()
            );
            self.tick().await;
        }
    }

    /// The slots (member, nonce) holding a transaction that a proposal
    /// left out because the state refused it once the member's earlier ones
    /// were applied (an evaluation of its own contribution, of one not on
    /// the ledger...). Such a transaction is never finalized; it leaves the
    /// pools with the member's later ones, and its nonce is handed out
    /// again.
    fn refused_slots(&self) -> BTreeSet<(u32, u64)> {
        let ledgers: Vec<_> = self
            .up()
            .into_iter()
            .map(|index| self.running[index].as_ref().expect("up").ledger.clone())
            .collect();
        self.world
            .load
            .submitted
            .iter()
            .filter(|(_, slot)| {
                slot.hashes
                    .iter()
                    .any(|hash| ledgers.iter().any(|l| lock(l).refusal(hash).is_some()))
            })
            .map(|(&key, _)| key)
            .collect()
    }

    /// Whether the transactions of `member` with `nonce` may have left the
    /// pools unfinalized, behind a refused one of a nonce at most `nonce`.
    fn behind_a_refusal(refused: &BTreeSet<(u32, u64)>, member: u32, nonce: u64) -> bool {
        refused
            .range((member, 0)..=(member, nonce))
            .next()
            .is_some()
    }

    /// A member signs a transaction and submits it to its validator, if up;
    /// returns its hash.
    fn submit(&mut self) -> Option<Hash> {
        let honest = self.world.honest();
        let load = &mut self.world.load;
        let member = load.rng.below(u64::from(DEMO_MEMBERS)) as u32;
        let home = honest[member as usize % honest.len()];
        let Some(running) = &self.running[home] else {
            return None;
        };
        let operation = load
            .next_operation(member)
            .to_operation()
            .expect("a valid operation");
        let key = member_key(member);
        let mut ledger = lock(&running.ledger);
        let nonce = ledger.next_nonce(&key.agent());
        let tx = key.sign(CHAIN, nonce, operation);
        let now_ms = self.context.current().epoch_millis();
        let hash = match ledger.submit(tx.verified().expect("signed here"), now_ms) {
            Ok(hash) => hash,
            // The state already refuses it (an evaluation of a contribution
            // not on the ledger yet, or of the member's own): answered at
            // once, never in a block, its nonce still free.
            Err(NodeError::Ledger(LedgerError::Protocol(_))) => return None,
            Err(e) => panic!("validator {home} refused a transaction: {e}"),
        };
        let slot = load.submitted.entry((member, nonce)).or_default();
        // After a crash the same operation may be signed again with the same
        // nonce: the very same transaction, counted once.
        if !slot.hashes.contains(&hash) {
            slot.hashes.push(hash);
        }
        slot.n_crashes_before = self.world.n_crashes;
        Some(hash)
    }

    /// Whether every honest validator that is up has finalized `hash`.
    fn finalized_everywhere(&self, hash: &Hash) -> bool {
        self.up().into_iter().all(|index| {
            let ledger = lock(&self.running[index].as_ref().expect("up").ledger);
            ledger.store().tx_location(hash).unwrap().is_some()
        })
    }

    /// Byzantine validators some honest validator caught and blocked.
    async fn blocked(&self) -> BTreeSet<usize> {
        let index_of = |key: &PublicKey| {
            self.world
                .keys
                .iter()
                .position(|k| k.public_key() == *key)
                .expect("a validator")
        };
        let honest = self.world.honest();
        self.oracle
            .blocked()
            .await
            .unwrap()
            .iter()
            .filter(|(by, _)| honest.contains(&index_of(by)))
            .map(|(_, blocked)| index_of(blocked))
            .collect()
    }

    /// Gives the world back without stopping anything: the runtime ends
    /// next, dropping every task as a power loss would.
    fn power_loss(mut self) -> World {
        self.world.n_crashes += self.up().len() as u32;
        self.world
    }

    /// Stops every validator, reopens each honest ledger from its directory
    /// (which replays every stored block and checks its state root) and
    /// checks it against the canon.
    async fn finish(mut self) -> Report {
        for index in self.up() {
            self.crash(index).await;
        }
        let world = &self.world;
        let canon = world.canon.lock().unwrap();
        let mut heights = Vec::new();
        for index in world.honest() {
            let ledger = NodeLedger::open(&world.ledger_dir(index), world.genesis.clone())
                .unwrap_or_else(|e| panic!("validator {index}'s ledger does not reopen: {e}"));
            let chain = ledger.chain();
            for height in 1..=chain.height {
                let block = ledger.store().block(height).unwrap().unwrap();
                assert_eq!(
                    canon.get(&height),
                    Some(&Finalized::of(&block)),
                    "seed {}: validator {index} stored another block {height}",
                    world.seed
                );
            }
            assert_eq!(
                chain.recompute_root(),
                chain.state_root(),
                "seed {}: validator {index}'s state tree is not its state",
                world.seed
            );
            heights.push(chain.height);
        }
        let n_txs = canon.values().map(|f| u64::from(f.n_txs)).sum();
        assert!(
            n_txs > 0,
            "seed {}: no block carried a transaction",
            world.seed
        );
        Report {
            heights,
            n_txs,
            simulated: self.context.current().duration_since(self.started).unwrap(),
        }
    }
}

/// The production hook (`run.rs`), checking as it goes: the block handed
/// over is the one the ledger holds at its height (applied now, or before a
/// restart), the ledger's state root after it is the block's, and every
/// honest validator finalizes the same block at each height.
fn finalized_hook(index: usize, ledger: Shared, canon: Canon) -> FinalizedHook {
    Arc::new(move |block: &consensus::Block, finality: &[u8]| {
        let Some(block) = &block.ledger else {
            return;
        };
        let height = block.header.height;
        let mut ledger = lock(&ledger);
        if let Err(error) = ledger.finalize(block, finality) {
            panic!("validator {index} cannot apply finalized block {height}: {error}");
        }
        let stored = ledger
            .store()
            .block(height)
            .unwrap()
            .unwrap_or_else(|| panic!("validator {index} did not store block {height}"));
        assert_eq!(
            stored.hash(),
            block.hash(),
            "validator {index} was handed a block {height} other than the one it holds"
        );
        if ledger.chain().height == height {
            assert_eq!(ledger.chain().state_root(), block.header.state_root);
        }
        let finalized = Finalized::of(block);
        let mut canon = canon.lock().unwrap();
        let first = *canon.entry(height).or_insert(finalized);
        assert_eq!(
            first, finalized,
            "validator {index} finalized another block at height {height}"
        );
    })
}

/// Runs `scenario` on a fresh cluster of `world`, then checks the ledgers.
fn simulate<F, Fut>(name: &str, world: World, scenario: F)
where
    F: FnOnce(Cluster) -> Fut,
    Fut: Future<Output = Cluster>,
{
    let wall = std::time::Instant::now();
    let (seed, roles) = (world.seed, world.roles.clone());
    let report = deterministic::Runner::new(runtime(seed)).start(|context| async move {
        let cluster = Cluster::start(context, world).await;
        scenario(cluster).await.finish().await
    });
    print_report(name, seed, &roles, &report, wall);
}

fn print_report(name: &str, seed: u64, roles: &[Role], report: &Report, wall: std::time::Instant) {
    let byzantine: Vec<_> = roles.iter().filter(|r| **r != Role::Honest).collect();
    println!(
        "{name} seed {seed}: {} validators, byzantine {byzantine:?}, heights {:?}, \
         {} transactions, {:.1}s simulated, {} ms",
        roles.len(),
        report.heights,
        report.n_txs,
        report.simulated.as_secs_f64(),
        wall.elapsed().as_millis()
    );
}

/// 4 to 7 validators, by seed.
fn validators(seed: u64) -> usize {
    4 + (seed % 4) as usize
}

/// Most faulty validators `n` validators tolerate.
fn faults_max(n: usize) -> usize {
    (n - 1) / 3
}

/// `count` distinct validators of `0..n`, picked by `rng`.
fn pick(rng: &mut Rng, n: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    let mut picked = Vec::new();
    for _ in 0..count {
        picked.push(all.remove(rng.below(all.len() as u64) as usize));
    }
    picked.sort_unstable();
    picked
}

fn all_honest(n: usize) -> Vec<Role> {
    vec![Role::Honest; n]
}

/// Latency, jitter and one message in ten lost on every link: every
/// validator finalizes the same blocks, and every transaction submitted
/// ends up in one.
#[test]
fn lossy_links() {
    for seed in SEEDS {
        let world = World::new(seed, all_honest(validators(seed)), link(50, 90));
        simulate("lossy_links", world, |mut cluster| async move {
            cluster.run_until_all(15).await;
            cluster.drain().await;
            cluster
        });
    }
}

/// A minority is cut off while the rest (a quorum) goes on; then the
/// federation is split so that no side has a quorum and nobody finalizes;
/// once healed, everyone catches up and goes on.
#[test]
fn partitions_heal() {
    for seed in SEEDS {
        let n = validators(seed);
        let world = World::new(seed, all_honest(n), link(40, 98));
        simulate("partitions_heal", world, |cluster| {
            partitions(seed, n, cluster)
        });
    }
}

/// Heights a block can get ahead of the highest finalized one while it is
/// being voted on: what may still be finalized after a cut, from votes and
/// certificates sent before it.
const PIPELINE_HEIGHTS_MAX: u64 = 2;

async fn partitions(seed: u64, n: usize, mut cluster: Cluster) -> Cluster {
    let mut rng = Rng::new(seed);
    cluster.run_until_all(3).await;

    // A minority of f validators is cut off: the quorum goes on, the
    // minority finalizes nothing proposed after the cut.
    let minority = pick(&mut rng, n, faults_max(n));
    let majority: Vec<usize> = (0..n).filter(|i| !minority.contains(i)).collect();
    let at_cut = cluster.height_max();
    cluster.partition(&[&minority, &majority]).await;
    cluster.run_until(&majority, at_cut + 6).await;
    for &index in &minority {
        let height = cluster.height(index).unwrap();
        assert!(
            height <= at_cut + PIPELINE_HEIGHTS_MAX,
            "seed {seed}: validator {index} finalized alone: {height} after {at_cut}"
        );
    }
    cluster.heal().await;
    let target = cluster.height_max() + 3;
    cluster.run_until_all(target).await;

    // Two halves, neither a quorum: once what was under way has landed,
    // nobody finalizes anything.
    let half = pick(&mut rng, n, n / 2);
    let rest: Vec<usize> = (0..n).filter(|i| !half.contains(i)).collect();
    let at_cut = cluster.height_max();
    cluster.partition(&[&half, &rest]).await;
    cluster.run_for(Duration::from_secs(5)).await;
    let settled = cluster.heights();
    cluster.run_for(Duration::from_secs(10)).await;
    assert_eq!(
        settled,
        cluster.heights(),
        "seed {seed}: finalized without a quorum"
    );
    assert!(cluster.height_max() <= at_cut + PIPELINE_HEIGHTS_MAX);
    cluster.heal().await;
    let target = cluster.height_max() + 5;
    cluster.run_until_all(target).await;
    cluster.drain().await;
    cluster
}

/// f validators crash at once, at a moment that depends on the seed, while
/// the others go on (a process crash: their tasks and transaction pools are
/// gone, what they wrote is kept); they restart on their storage and catch
/// up. Twice, under mild loss; the second time, one of them has also lost
/// its ledger directory and rebuilds it from consensus's archive.
#[test]
fn crashes_and_restarts() {
    for seed in SEEDS {
        let n = validators(seed);
        let world = World::new(seed, all_honest(n), link(30, 97));
        simulate("crashes_and_restarts", world, |cluster| {
            crash_rounds(seed, n, cluster)
        });
    }
}

async fn crash_rounds(seed: u64, n: usize, mut cluster: Cluster) -> Cluster {
    let mut rng = Rng::new(seed);
    cluster.run_until_all(3).await;
    for round in 0..2 {
        let crashed = pick(&mut rng, n, faults_max(n));
        cluster
            .run_for(Duration::from_millis(rng.below(1_000)))
            .await;
        for &index in &crashed {
            cluster.crash(index).await;
        }
        // The others are still a quorum.
        let target = cluster.height_max() + 4;
        cluster.run_until_all(target).await;
        if round == 1 {
            let dir = cluster.world.ledger_dir(crashed[0]);
            std::fs::remove_dir_all(dir).unwrap();
        }
        for &index in &crashed {
            cluster.start_validator(index).await;
        }
        let target = cluster.height_max() + 4;
        cluster.run_until_all(target).await;
    }
    cluster.drain().await;
    cluster
}

/// Views simplex keeps behind the finalized tip in `long_absences`: far
/// fewer than in production, so that a short absence already outlasts them.
const VIEW_RETENTION_SHORT: u64 = 8;

/// A validator is cut off, then down, for far longer than simplex keeps
/// views: it catches up through marshal's backfill of finalized blocks,
/// then votes and proposes again, and every transaction is finalized.
#[test]
fn long_absences() {
    for seed in SEEDS.take(5) {
        let n = validators(seed);
        let mut world = World::new(seed, all_honest(n), link(30, 97));
        world.timing.view_retention = ViewDelta::new(VIEW_RETENTION_SHORT);
        simulate("long_absences", world, |mut cluster| async move {
            let mut rng = Rng::new(seed);
            let absent = rng.below(n as u64) as usize;
            let others: Vec<usize> = (0..n).filter(|&i| i != absent).collect();
            let absence = 3 * VIEW_RETENTION_SHORT;
            cluster.run_until_all(3).await;

            cluster.partition(&[&[absent], &others]).await;
            let target = cluster.height_max() + absence;
            cluster.run_until(&others, target).await;
            cluster.heal().await;
            let target = cluster.height_max() + 3;
            cluster.run_until_all(target).await;

            cluster.crash(absent).await;
            let target = cluster.height_max() + absence;
            cluster.run_until(&others, target).await;
            cluster.start_validator(absent).await;
            let target = cluster.height_max() + 3;
            cluster.run_until_all(target).await;
            cluster.drain().await;
            cluster
        });
    }
}

/// Every validator loses power at once, at a moment that depends on the
/// seed: of each write to consensus storage not synced yet, only a random
/// prefix survives (the ledgers, in redb, keep what they committed). They
/// all restart on what their storage kept and go on with the same chain.
#[test]
fn power_loss() {
    let torn_writes = || {
        deterministic::FaultConfig::default().write(deterministic::WriteConfig {
            failure_rate: Probability::new(0, 100).unwrap(),
            retention_rate: Probability::new(90, 100).unwrap(),
            mode: deterministic::PartialWriteMode::Prefix,
        })
    };
    for seed in SEEDS {
        let wall = std::time::Instant::now();
        let roles = all_honest(validators(seed));
        let world = World::new(seed, roles.clone(), link(30, 100));
        let runtime = runtime(seed).with_storage_fault_config(torn_writes());
        let (world, checkpoint) =
            deterministic::Runner::new(runtime).start_and_recover(|context| async move {
                let mut cluster = Cluster::start(context, world).await;
                cluster.run_until_all(5).await;
                let mut rng = Rng::new(seed);
                cluster
                    .run_for(Duration::from_millis(rng.below(2_000)))
                    .await;
                cluster.power_loss()
            });
        let before = *world.canon.lock().unwrap().keys().last().unwrap();
        let report = deterministic::Runner::from(checkpoint).start(|context| async move {
            let mut cluster = Cluster::start(context, world).await;
            cluster.run_until_all(before + 5).await;
            cluster.drain().await;
            cluster.finish().await
        });
        print_report("power_loss", seed, &roles, &report, wall);
    }
}

/// One Byzantine validator of four, or two of seven, each one of
/// Commonware's mocks (equivocator, conflicter, nuller) in place of an
/// honest validator, with its key: the honest ones finalize the same
/// blocks and every transaction, and block those whose votes contradict
/// each other (an equivocator's two proposals go to different validators,
/// so nobody sees both).
#[test]
fn byzantine_validators() {
    for seed in SEEDS {
        let (n, f) = if seed % 2 == 0 { (4, 1) } else { (7, 2) };
        let mut rng = Rng::new(seed);
        let mut roles = all_honest(n);
        for (k, index) in pick(&mut rng, n, f).into_iter().enumerate() {
            roles[index] = BYZANTINE[(seed as usize / 2 + k) % BYZANTINE.len()];
        }
        let caught: BTreeSet<usize> = (0..n)
            .filter(|&i| matches!(roles[i], Role::Conflicter | Role::Nuller))
            .collect();
        let world = World::new(seed, roles, link(40, 95));
        simulate("byzantine_validators", world, |mut cluster| async move {
            cluster.run_until_all(12).await;
            cluster.drain().await;
            let blocked = cluster.blocked().await;
            assert!(
                blocked.is_superset(&caught),
                "seed {seed}: blocked {blocked:?}, not all of {caught:?}"
            );
            cluster
        });
    }
}

/// How long `idle_chains` leaves a chain alone.
const IDLE_HOUR: Duration = Duration::from_secs(3_600);
/// How soon a transaction submitted to an idle chain must be final.
const FINAL_WITHIN: Duration = Duration::from_secs(1);

/// A chain nobody uses makes one empty block per empty-block interval,
/// not one per block interval: at most an hour's worth of them in an idle
/// hour (and most of them: finalization does not stop). A transaction
/// submitted after idling, at moments spread over the views, is final on
/// every validator within a second. With one validator and with four.
#[test]
fn idle_chains() {
    let interval = Timing::default().empty_block_interval;
    let per_hour = IDLE_HOUR.as_secs() / interval.as_secs();
    for (n, seeds) in [(1, 0..2), (4, 0..4)] {
        for seed in seeds {
            let world = World::new(seed, all_honest(n), link(50, 100));
            simulate("idle_chains", world, |mut cluster| async move {
                cluster.load = false;
                cluster.run_until_all(1).await;
                let before = cluster.height_max();
                cluster.context.sleep(IDLE_HOUR).await;
                let n_blocks = cluster.height_max() - before;
                assert!(
                    n_blocks <= per_hour + 1 && n_blocks >= per_hour / 2,
                    "seed {seed}, {n} validators: {n_blocks} blocks in an idle hour \
                     (one per {interval:?} is {per_hour})"
                );
                let mut rng = Rng::new(seed);
                for _ in 0..10 {
                    let pause = rng.below(interval.as_millis() as u64);
                    cluster.context.sleep(Duration::from_millis(pause)).await;
                    let submitted = cluster.context.current();
                    // Every validator is up; the state may refuse a random
                    // operation at once (then another is signed).
                    let hash = loop {
                        if let Some(hash) = cluster.submit() {
                            break hash;
                        }
                    };
                    while !cluster.finalized_everywhere(&hash) {
                        let waited = cluster.context.current().duration_since(submitted).unwrap();
                        assert!(
                            waited <= FINAL_WITHIN,
                            "seed {seed}, {n} validators: a transaction submitted to an idle \
                             chain is not final everywhere after {waited:?}"
                        );
                        cluster.context.sleep(Duration::from_millis(10)).await;
                    }
                }
                cluster
            });
        }
    }
}

/// The same seed gives the same run: the same blocks, the same state roots,
/// at the same simulated time.
#[test]
fn same_seed_same_chain() {
    let run = || {
        let seed = 7;
        let n = validators(seed);
        let world = World::new(seed, all_honest(n), link(30, 95));
        let canon = world.canon.clone();
        let report = deterministic::Runner::new(runtime(seed)).start(|context| async move {
            let cluster = Cluster::start(context, world).await;
            crash_rounds(seed, n, cluster).await.finish().await
        });
        let canon = canon.lock().unwrap().clone();
        (canon, report.heights, report.simulated)
    };
    let first = run();
    assert!(first.0.len() > 10);
    assert_eq!(first, run());
}

/// Transactions beyond the codec's limits, in their JSON form: each of
/// them, finalized, once made every node that held it unable to read its
/// block, and sent to every validator of a federation, halted it.
fn beyond_the_codec(round: u64) -> Vec<OperationJson> {
    let dc = format!("hostile-{round}");
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..701u64)
            .map(|n| hostile_key(2 << 32 | n).agent().to_string())
            .collect()
    });
    let founders: Vec<stigmer_node::json::FounderJson> = (0..700usize)
        .map(|n| stigmer_node::json::FounderJson {
            agent: keys[n].clone(),
            reputation: Decimal(Fixed::from_int(1)),
            tokens: Decimal(Fixed::from_int(1)),
            referrer: Some(keys[n + 1].clone()),
        })
        .collect();
    vec![
        OperationJson::Contribute {
            dc: DEMO_DC.to_string(),
            id: format!("long-{round}"),
            contribution_type: "stage".to_string(),
            title: "t".repeat(201),
        },
        OperationJson::CreateDc {
            id: dc.clone(),
            name: "n".repeat(81),
            token_symbol: "H".to_string(),
            params: Default::default(),
            types: Default::default(),
            founders: Vec::new(),
        },
        OperationJson::AsDc {
            dc: DEMO_DC.to_string(),
            operation: Box::new(OperationJson::AsDc {
                dc: dc.clone(),
                operation: Box::new(OperationJson::Leave { dc: dc.clone() }),
            }),
        },
        // Over 64 KiB.
        OperationJson::CreateDc {
            id: dc,
            name: "Big".to_string(),
            token_symbol: "BIG".to_string(),
            params: Default::default(),
            types: Default::default(),
            founders,
        },
    ]
}

/// A canonical transaction as large as a DC's founding gets (about 60 KiB):
/// a few dozen of them fill a block to the codec's limit.
fn large_but_canonical(id: String) -> OperationJson {
    static FOUNDERS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let keys = FOUNDERS.get_or_init(|| {
        (0..380u64)
            .map(|n| hostile_key(1 << 32 | n).agent().to_string())
            .collect()
    });
    let founders = keys
        .iter()
        .enumerate()
        .map(|(n, agent)| stigmer_node::json::FounderJson {
            agent: agent.clone(),
            reputation: Decimal(Fixed::from_int(1)),
            tokens: Decimal(Fixed::from_int(1)),
            referrer: (n > 0).then(|| keys[0].clone()),
        })
        .collect();
    OperationJson::CreateDc {
        id,
        name: "A large cooperative".to_string(),
        token_symbol: "LARGE".to_string(),
        params: Default::default(),
        types: Default::default(),
        founders,
    }
}

/// Nothing a client sends can make a validator's proposals undecodable or
/// its views time out. A hostile client sends every validator, through the
/// path the API takes (JSON form, then `verified`), the transactions that
/// once bricked nodes: each validator refuses each of them. It also sends
/// every validator, at once, the same canonical transactions as large as
/// they get, more than a block holds (each founds a DC of 380 founders):
/// proposals carry as many as fit and every peer decodes them. Meanwhile members' transactions
/// all finalize, and blocks keep coming at the pace of views that end
/// without a timeout.
#[test]
fn hostile_clients() {
    for seed in 0..2 {
        let world = World::new(seed, all_honest(4), link(10, 100));
        simulate("hostile_clients", world, |mut cluster| async move {
            cluster.run_until_all(3).await;
            let (height_before, time_before) = (cluster.height_max(), cluster.context.current());
            let mut n_hostile: u64 = 0;
            let mut large_bytes = 0;
            for _ in 0..80 {
                let operation = large_but_canonical(format!("large-{n_hostile}"));
                let tx = hostile_key(n_hostile).sign(CHAIN, 0, operation.to_operation().unwrap());
                n_hostile += 1;
                let tx = tx.verified().expect("canonical");
                large_bytes += tx.encoded().len();
                let now_ms = cluster.context.current().epoch_millis();
                for index in cluster.up() {
                    let running = cluster.running[index].as_ref().expect("up");
                    lock(&running.ledger)
                        .submit(tx.clone(), now_ms)
                        .unwrap_or_else(|e| panic!("validator {index} refused: {e}"));
                }
            }
            assert!(large_bytes > stigmer_ledger::block::BLOCK_BYTES_MAX as usize);
            for round in 0..20u64 {
                for operation in beyond_the_codec(round) {
                    let tx =
                        hostile_key(n_hostile).sign(CHAIN, 0, operation.to_operation().unwrap());
                    n_hostile += 1;
                    let json = stigmer_node::json::TransactionJson::from_signed(&tx);
                    for index in cluster.up() {
                        let received = json.to_signed().expect("well-formed JSON");
                        assert!(
                            received.verified().is_err(),
                            "seed {seed}: validator {index} took a transaction beyond the codec"
                        );
                    }
                }
                cluster.tick().await;
            }
            cluster.drain().await;
            let blocks = cluster.height_max() - height_before;
            let elapsed = cluster
                .context
                .current()
                .duration_since(time_before)
                .expect("time goes forward");
            // A view that times out takes a leader timeout (1 s) and
            // finalizes nothing; views that end well take a block interval
            // (200 ms) and a few round trips.
            let views_max = elapsed.as_millis() as u64 / 200;
            assert!(
                blocks * 3 >= views_max * 2,
                "seed {seed}: {blocks} blocks in {elapsed:?}: views timed out"
            );
            cluster
        });
    }
}

fn hostile_key(n: u64) -> stigmer_ledger::tx::Keypair {
    let mut seed = [0xee; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    stigmer_ledger::tx::Keypair::from_seed(seed)
}
