//! Real processes on loopback: `stigmer cluster up` with four validators
//! and a full node, then faults under a steady load of signed transfers:
//!
//! 1. kill -9 one validator: the other three keep finalizing;
//! 2. restart it: it catches up with the others;
//! 3. wipe another validator's data directory: it rebuilds from its peers;
//! 4. stop two of four: finality stops, and no node forks;
//! 5. restart them: finality resumes, every node holds the same chain,
//!    every accepted transaction is finalized, and `stigmer verify` passes
//!    on every data directory.
//!
//! Every wait is bounded; the cluster is stopped and its directory removed
//! even when the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use stigmer_ledger::tx::hex;
use stigmer_protocol::{Asset, Fixed, Operation};

use super::node::{Scratch, stigmer_bin};

const CHAIN_ID: &str = "stigmer-cluster";
const MEMBERS: u32 = stigmer_node::demo::DEMO_MEMBERS;

/// A cluster in a scratch directory, brought down when dropped.
struct Cluster {
    scratch: Scratch,
}

impl Cluster {
    fn dir(&self) -> &Path {
        &self.scratch.0
    }

    /// `stigmer cluster up`; returns the `(role, api)` lines it printed.
    fn up(&self) -> Vec<(String, String)> {
        let output = Command::new(stigmer_bin())
            .args(["cluster", "up", "--validators", "4", "--timeout-secs", "90"])
            .args(["--block-interval-ms", "100", "--dir"])
            .arg(self.dir())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "cluster up failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .map(|line| {
                let (role, api) = line.split_once(' ').unwrap();
                (role.to_string(), api.to_string())
            })
            .collect()
    }

    fn node_dir(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }

    fn kill9(&self, name: &str) {
        let pid = std::fs::read_to_string(self.node_dir(name).join("pid")).unwrap();
        let status = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap();
        assert!(status.success(), "cannot kill {name}");
        // Wait until every thread is gone (the main one turns zombie
        // first), so that its ports and files are free.
        let deadline = Instant::now() + Duration::from_secs(10);
        let live = || {
            std::fs::read_dir(format!("/proc/{}/task", pid.trim()))
                .map(|tasks| {
                    tasks.flatten().any(|task| {
                        let stat =
                            std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                        !stat.contains(") Z") && !stat.contains(") X") && !stat.is_empty()
                    })
                })
                .unwrap_or(false)
        };
        while live() {
            assert!(Instant::now() < deadline, "{name} did not die");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn down(&self) {
        let _ = Command::new(stigmer_bin())
            .args(["cluster", "down", "--dir"])
            .arg(self.dir())
            .output();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.down();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

fn get(api: &str, path: &str) -> Option<Value> {
    let mut response = agent().get(format!("{api}{path}")).call().ok()?;
    if response.status() != 200 {
        return None;
    }
    response.body_mut().read_json().ok()
}

fn height(api: &str) -> Option<u64> {
    get(api, "/api/v1/status")?["height"].as_u64()
}

fn block_hash(api: &str, height: u64) -> Option<String> {
    get(api, &format!("/api/v1/blocks/{height}"))?["hash"]
        .as_str()
        .map(str::to_string)
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until every node in `apis` has passed `height`.
fn wait_all_past(apis: &[&str], height: u64, what: &str) {
    wait_until(what, Duration::from_secs(60), || {
        apis.iter()
            .all(|api| self::height(api).is_some_and(|h| h > height))
    });
}

/// The heights of `apis` once they stop moving: all equal, or unchanged for
/// five seconds (a node still fetching what the others finalized moves up to
/// them; it does not go past them).
fn settled_heights(apis: &[&str]) -> Vec<u64> {
    let heights = || -> Vec<u64> { apis.iter().map(|api| height(api).unwrap()).collect() };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = heights();
    let mut unchanged_since = Instant::now();
    loop {
        if last.iter().all(|h| *h == last[0]) || unchanged_since.elapsed() >= Duration::from_secs(5)
        {
            return last;
        }
        assert!(Instant::now() < deadline, "heights never settled: {last:?}");
        std::thread::sleep(Duration::from_millis(200));
        let now = heights();
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        }
    }
}

/// Transfers among the demo members, signed here, submitted in turn to
/// `targets`; remembers the hash of every accepted one.
struct Load {
    stop: Arc<AtomicBool>,
    accepted: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(targets: Vec<String>) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, accepted) = (stop.clone(), accepted.clone());
            std::thread::spawn(move || {
                let keys: Vec<_> = (0..MEMBERS).map(stigmer_node::demo::member_key).collect();
                let mut nonces = vec![0u64; MEMBERS as usize];
                let agent = agent();
                let mut turn = 0usize;
                while !stop.load(Ordering::Acquire) {
                    let from = turn % MEMBERS as usize;
                    let to = keys[(from + 1) % MEMBERS as usize].agent();
                    let tx = keys[from].sign(
                        CHAIN_ID,
                        nonces[from],
                        Operation::Transfer {
                            dc: "festival".parse().unwrap(),
                            to,
                            amount: "0.01".parse().unwrap(),
                            asset: Asset::Tokens,
                        },
                    );
                    let target = &targets[turn % targets.len()];
                    turn += 1;
                    let body = json!({ "encoded": hex(&tx.encode()) });
                    let Ok(response) = agent
                        .post(format!("{target}/api/v1/transactions"))
                        .send_json(&body)
                    else {
                        continue;
                    };
                    if matches!(response.status().as_u16(), 200 | 202) {
                        nonces[from] += 1;
                        accepted.lock().unwrap().push(tx.hash().to_string());
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Load {
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.lock().unwrap().len()
    }

    fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        self.accepted.lock().unwrap().clone()
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

#[test]
fn a_cluster_survives_crashes_wipes_and_a_lost_quorum() {
    let cluster = Cluster {
        scratch: Scratch::new("cluster"),
    };
    let nodes = cluster.up();
    let roles: Vec<&str> = nodes.iter().map(|(role, _)| role.as_str()).collect();
    assert_eq!(
        roles,
        [
            "validator",
            "validator",
            "validator",
            "validator",
            "full-node"
        ]
    );
    let apis: Vec<&str> = nodes.iter().map(|(_, api)| api.as_str()).collect();
    let (v, full) = (&apis[..4], apis[4]);
    assert_eq!(get(full, "/api/v1/status").unwrap()["role"], "full_node");

    // The load goes to the two validators that stay up until step 4.
    let load = Load::start(vec![v[2].to_string(), v[3].to_string()]);
    wait_until(
        "the first accepted transfers",
        Duration::from_secs(30),
        || load.accepted() >= 20,
    );

    // 1. kill -9 one validator under load: the rest keep finalizing.
    cluster.kill9("validator-0");
    let at_kill = height(v[1]).unwrap();
    let accepted_at_kill = load.accepted();
    wait_all_past(
        &[v[1], v[2], v[3], full],
        at_kill + 10,
        "finality without validator-0",
    );
    wait_until("transfers after the kill", Duration::from_secs(30), || {
        load.accepted() >= accepted_at_kill + 20
    });

    // 2. Restart it: it catches up with the others.
    let before_restart = height(v[1]).unwrap();
    cluster.up();
    wait_all_past(&[v[0]], before_restart, "validator-0 to catch up");
    assert_eq!(
        block_hash(v[0], before_restart),
        block_hash(v[1], before_restart),
        "validator-0 caught up on another chain"
    );

    // 3. Wipe another validator's data: it rebuilds from its peers.
    cluster.kill9("validator-1");
    for part in ["ledger", "consensus"] {
        std::fs::remove_dir_all(cluster.node_dir("validator-1").join(part)).unwrap();
    }
    let before_wipe = height(v[2]).unwrap();
    cluster.up();
    wait_all_past(&[v[1]], before_wipe, "the wiped validator-1 to rebuild");
    assert_eq!(block_hash(v[1], before_wipe), block_hash(v[2], before_wipe));

    // Every accepted transfer is finalized on the full node.
    let accepted = load.stop();
    assert!(
        accepted.len() >= 40,
        "only {} transfers accepted",
        accepted.len()
    );
    wait_until(
        "every accepted transfer to be final",
        Duration::from_secs(60),
        || {
            accepted.iter().all(|hash| {
                get(full, &format!("/api/v1/transactions/{hash}"))
                    .is_some_and(|tx| tx["status"] == "finalized")
            })
        },
    );

    // 4. Stop two of four: no quorum, so finality stops, and nobody forks.
    cluster.kill9("validator-2");
    cluster.kill9("validator-3");
    let survivors = [v[0], v[1], full];
    // Let what was already certified arrive everywhere: a survivor that was
    // a block or two behind catches up, which is not new finality.
    let stalled = settled_heights(&survivors);
    std::thread::sleep(Duration::from_secs(5));
    let later: Vec<u64> = survivors.iter().map(|api| height(api).unwrap()).collect();
    assert_eq!(stalled, later, "blocks were finalized without a quorum");
    let common = *later.iter().min().unwrap();
    let hashes: Vec<Option<String>> = survivors
        .iter()
        .map(|api| block_hash(api, common))
        .collect();
    assert!(
        hashes[0].is_some() && hashes.iter().all(|h| *h == hashes[0]),
        "a fork: {hashes:?}"
    );

    // 5. Restart them: finality resumes; every node holds the same chain.
    // An idle chain makes an empty block only every 30 s: a transaction
    // shows finality resuming. The full node checks it, hands it to a
    // validator, and answers once it has the block that finalized it.
    cluster.up();
    let sender = stigmer_node::demo::member_key(MEMBERS - 1);
    let nonce =
        get(full, &format!("/api/v1/agents/{}/nonce", sender.agent())).unwrap()["next_nonce"]
            .as_u64()
            .unwrap();
    let tx = sender.sign(
        CHAIN_ID,
        nonce,
        Operation::Transfer {
            dc: "festival".parse().unwrap(),
            to: stigmer_node::demo::member_key(0).agent(),
            amount: Fixed::from_int(1),
            asset: Asset::Tokens,
        },
    );
    let mut response = agent()
        .post(format!("{full}/api/v1/transactions?wait=true"))
        .send_json(json!({ "encoded": hex(&tx.encode()) }))
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.body_mut().read_json().unwrap();
    assert_eq!(answer["status"], "finalized", "{answer}");
    let resumed = answer["height"].as_u64().unwrap();
    assert!(
        resumed > *later.iter().max().unwrap(),
        "finalized at {resumed}, before the restart"
    );
    wait_all_past(&apis, resumed - 1, "finality to resume on every node");
    let reference = block_hash(v[0], resumed);
    for api in &apis {
        assert_eq!(block_hash(api, resumed), reference, "{api} differs");
    }

    // A refusal comes back in the validator's words.
    let mut response = agent()
        .post(format!("{full}/api/v1/transactions"))
        .send_json(json!({ "encoded": hex(&tx.encode()) }))
        .unwrap();
    assert_eq!(response.status(), 409);
    let answer: Value = response.body_mut().read_json().unwrap();
    assert!(
        answer["error"].as_str().unwrap().contains("nonce"),
        "{answer}"
    );

    cluster.down();
    for name in [
        "validator-0",
        "validator-1",
        "validator-2",
        "validator-3",
        "full-node-0",
    ] {
        let output = Command::new(stigmer_bin())
            .args(["verify", "--data-dir"])
            .arg(cluster.node_dir(name))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "stigmer verify failed on {name}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A small run of `stigmer bench cluster`, so that it cannot rot. Its
/// figures mean nothing here; only that every transaction was finalized on
/// both setups and the report is complete.
#[test]
fn the_cluster_benchmark_runs() {
    let scratch = Scratch::new("bench-cluster");
    let output = Command::new(stigmer_bin())
        .args(["bench", "cluster", "--rate", "100", "--seconds", "3"])
        .args([
            "--members",
            "20",
            "--clients",
            "2",
            "--block-interval-ms",
            "100",
        ])
        .arg("--dir")
        .arg(scratch.0.join("bench"))
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("single node: "), "{report}");
    assert!(report.contains("(300 of 300 sent"), "{report}");
    assert!(report.contains("4 validators: "), "{report}");
    assert!(
        report.contains("cluster / single node: throughput"),
        "{report}"
    );
    assert_eq!(report.matches("(300 of 300 sent").count(), 2, "{report}");
}
