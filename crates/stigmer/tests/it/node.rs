//! End-to-end: a real node process, driven through the CLI and the HTTP
//! API; and the crash test: SIGKILL during a load of transactions, restart,
//! nothing reported finalized is lost, and `stigmer verify` passes; then the
//! ledger's directory is wiped and rebuilt from consensus's archive.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub(crate) fn stigmer_bin() -> &'static str {
    env!("CARGO_BIN_EXE_stigmer")
}

/// A scratch directory removed at the end of the test.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("stigmer-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} to look at", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running node, killed when dropped.
struct Node {
    child: Child,
    api: String,
}

impl Node {
    fn start(data_dir: &Path) -> Node {
        let mut child = Command::new(stigmer_bin())
            .args([
                "node",
                "--listen",
                "127.0.0.1:0",
                "--p2p-port",
                "0",
                "--block-interval-ms",
                "50",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let api = line
            .trim()
            .strip_prefix("api ")
            .unwrap_or_else(|| panic!("unexpected output {line:?}"))
            .to_string();
        let node = Node { child, api };
        node.wait_for_api();
        node
    }

    /// Waits until the API answers. (An idle chain makes no block before
    /// there is a transaction, or `EMPTY_BLOCK_INTERVAL` later.)
    fn wait_for_api(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(format!("{}/api/v1/status", self.api))
            .call()
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the API did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        let mut response = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .new_agent()
            .get(format!("{}{path}", self.api))
            .call()
            .unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().unwrap())
    }

    /// Consensus makes progress on its own: blocks keep coming.
    fn wait_for_height(&self, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(mut response) = ureq::get(format!("{}/api/v1/status", self.api)).call() {
                let status: Value = response.body_mut().read_json().unwrap();
                if status["height"].as_u64().unwrap_or(0) >= height {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "no block {height} within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(home: &Path, node: &Node, args: &[&str]) -> Output {
    Command::new(stigmer_bin())
        .env("STIGMER_HOME", home)
        .args(args)
        .args(["--node", &node.api])
        .output()
        .unwrap()
}

fn cli_offline(home: &Path, args: &[&str]) -> Output {
    Command::new(stigmer_bin())
        .env("STIGMER_HOME", home)
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_community_lives_through_the_cli_and_the_api() {
    let scratch = Scratch::new("cli");
    let (home, data) = (scratch.0.join("home"), scratch.0.join("node"));
    for name in ["ann", "bo", "cy"] {
        let output = cli_offline(&home, &["key", "new", name]);
        assert!(output.status.success(), "{}", text(&output));
    }
    let key_file = home.join("keys/ann.key");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let output = cli_offline(
        &home,
        &[
            "init",
            "--data-dir",
            data.to_str().unwrap(),
            "--chain-id",
            "e2e",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let node = Node::start(&data);

    let run = |args: &[&str]| {
        let output = cli(&home, &node, args);
        (output.status.code(), text(&output))
    };
    let (code, out) = run(&[
        "dc",
        "create",
        "garden",
        "--name",
        "Community garden",
        "--token",
        "SEED",
        "--key",
        "ann",
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("done: finalized in block"), "{out}");
    for who in ["bo", "cy"] {
        let (code, out) = run(&["join", "garden", "--referrer", "ann", "--key", who]);
        assert_eq!(code, Some(0), "{out}");
    }
    let bo_id = String::from_utf8(cli_offline(&home, &["key", "show", "bo"]).stdout)
        .unwrap()
        .trim()
        .to_string();
    // Newcomers start with nothing here: ann sends bo the fee.
    let (code, out) = run(&["transfer", "garden", "bo", "2.5", "--key", "ann"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = run(&[
        "contribute",
        "garden",
        "beds",
        "--type",
        "work",
        "--title",
        "Raised beds",
        "--key",
        "bo",
    ]);
    assert_eq!(code, Some(0), "{out}");
    // Nobody evaluates their own work under the backfeed rules.
    let (code, out) = run(&["evaluate", "garden", "beds", "4", "--key", "bo"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("your own contribution"), "{out}");
    // ann holds all the reputation: her evaluation makes the median positive.
    let (code, out) = run(&["evaluate", "garden", "beds", "4", "--key", "ann"]);
    assert_eq!(code, Some(0), "{out}");
    // A refusal is a clear "no", exit status 1, and changes nothing.
    let (code, out) = run(&["evaluate", "garden", "beds", "4", "--key", "ann"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("must change the value"), "{out}");
    let (code, out) = run(&[
        "transfer",
        "garden",
        "bo",
        "1",
        "--reputation",
        "--key",
        "ann",
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("reputation cannot be transferred"), "{out}");

    let (status, contribution) = node.get("/api/v1/dcs/garden/contributions/beds");
    assert_eq!(status, 200);
    assert_eq!(contribution["tokens_issued"], "40");
    let (_, agent) = node.get(&format!("/api/v1/agents/{bo_id}"));
    let membership = &agent["memberships"][0];
    // 2.5 (from ann) - 1 (fee) + 40 (issued)
    assert_eq!(membership["tokens"], "41.5");
    // The balance checks out against the state root with an inclusion proof.
    let (code, out) = run(&["prove", "garden", "bo"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("verified") && out.contains("41.5 tokens"),
        "{out}"
    );
    let explanations: Vec<&str> = agent["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["explanation"].as_str().unwrap())
        .collect();
    assert!(
        explanations.iter().any(|e| e.contains("weighted median")),
        "{explanations:#?}"
    );
    let (_, json_out) = {
        let output = cli(&home, &node, &["status", "--json"]);
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let line: Value = serde_json::from_str(json_out.trim()).unwrap();
    assert_eq!(line["type"], "status");
    assert_eq!(line["data"]["chain_id"], "e2e");

    // Bad input gets a 4xx with a message, never a 5xx.
    for (path, expected) in [
        ("/api/v1/dcs/NOPE", 400),
        ("/api/v1/dcs/nope", 404),
        ("/api/v1/transactions/zz", 400),
        ("/api/v1/blocks/999999", 404),
        ("/api/v1/agents/%00", 400),
        ("/api/v1/nothing", 404),
    ] {
        let (status, body) = node.get(path);
        assert_eq!(status, expected, "{path}: {body}");
        assert!(body["error"].is_string(), "{path}");
    }
    node.kill();
    let output = cli_offline(&home, &["verify", "--data-dir", data.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("every hash, signature and state root checks out"));
}

#[test]
fn nothing_finalized_is_lost_when_the_node_is_killed() {
    let scratch = Scratch::new("crash");
    let (home, data) = (scratch.0.join("home"), scratch.0.join("node"));
    assert!(cli_offline(&home, &["key", "new", "ann"]).status.success());
    assert!(
        cli_offline(
            &home,
            &[
                "init",
                "--data-dir",
                data.to_str().unwrap(),
                "--dc",
                "load",
                "--founder",
                "ann"
            ]
        )
        .status
        .success()
    );
    let seed = std::fs::read_to_string(home.join("keys/ann.key")).unwrap();
    let key = stigmer_ledger::tx::Keypair::from_seed(
        stigmer_ledger::tx::unhex::<32>(seed.trim()).unwrap(),
    );
    let mut finalized: Vec<String> = Vec::new();
    let mut nonce = 0u64;
    for round in 0..3 {
        let node = Node::start(&data);
        let chain_id = node.get("/api/v1/status").1["chain_id"]
            .as_str()
            .unwrap()
            .to_string();
        nonce = nonce.max(
            node.get(&format!("/api/v1/agents/{}/nonce", key.agent())).1["next_nonce"]
                .as_u64()
                .unwrap(),
        );
        // Every transaction reported finalized before the crash must survive it.
        for hash in &finalized {
            let (status, tx) = node.get(&format!("/api/v1/transactions/{hash}"));
            assert_eq!(
                (status, tx["status"].as_str()),
                (200, Some("finalized")),
                "round {round}: {hash} lost"
            );
        }
        // SIGKILL from another thread, in the middle of the load: no chance
        // to flush or clean up, and usually a request in flight.
        let pid = node.child.id().to_string();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1_500 + 700 * round));
            let _ = Command::new("kill").args(["-9", &pid]).status();
        });
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(40)))
            .build()
            .new_agent();
        loop {
            let operation = stigmer_protocol::Operation::Contribute {
                dc: "load".parse().unwrap(),
                id: format!("c{nonce}").parse().unwrap(),
                kind: "work".parse().unwrap(),
                title: String::new(),
            };
            let tx = key.sign(&chain_id, nonce, operation);
            let body = serde_json::to_value(stigmer_node::json::TransactionJson::from_signed(&tx))
                .unwrap();
            let Ok(mut response) = agent
                .post(format!("{}/api/v1/transactions?wait=true", node.api))
                .send_json(body)
            else {
                break;
            };
            let Ok(answer) = response.body_mut().read_json::<Value>() else {
                break;
            };
            if answer["status"] == "finalized" {
                finalized.push(answer["hash"].as_str().unwrap().to_string());
                nonce += 1;
            } else {
                break;
            }
        }
        killer.join().unwrap();
        node.kill();
    }
    assert!(
        finalized.len() > 5,
        "only {} transactions were finalized",
        finalized.len()
    );
    let node = Node::start(&data);
    for hash in &finalized {
        assert_eq!(
            node.get(&format!("/api/v1/transactions/{hash}")).1["status"],
            "finalized"
        );
    }
    let height = node.get("/api/v1/status").1["height"].as_u64().unwrap();
    node.kill();
    let output = cli_offline(&home, &["verify", "--data-dir", data.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));

    // The ledger's directory lost (but not consensus's): the node rebuilds it
    // from consensus's archive of finalized blocks.
    std::fs::remove_dir_all(data.join("ledger")).unwrap();
    let node = Node::start(&data);
    node.wait_for_height(height);
    for hash in &finalized {
        assert_eq!(
            node.get(&format!("/api/v1/transactions/{hash}")).1["status"],
            "finalized",
            "{hash} not rebuilt"
        );
    }
    node.kill();
    let output = cli_offline(&home, &["verify", "--data-dir", data.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
}

/// The node benchmark runs end to end at a small size (its figures are for
/// people, not for this test).
#[test]
fn the_node_benchmark_runs() {
    let scratch = Scratch::new("bench");
    let output = Command::new(stigmer_bin())
        .args([
            "bench",
            "node",
            "--txs",
            "300",
            "--members",
            "20",
            "--clients",
            "2",
            "--block-interval-ms",
            "50",
            "--chain-txs",
            "3000",
            "--dir",
        ])
        .arg(scratch.0.join("bench"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let report = text(&output);
    assert!(
        report.contains("ratio to raw ed25519 verification"),
        "{report}"
    );
    assert!(
        report.contains("for a chain of 3000 transactions"),
        "{report}"
    );
}

#[test]
fn a_taken_p2p_port_is_a_clear_error() {
    let scratch = Scratch::new("p2p-taken");
    let data = scratch.0.join("data");
    let output = cli_offline(
        &scratch.0,
        &[
            "init",
            "--data-dir",
            data.to_str().unwrap(),
            "--chain-id",
            "e2e",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    // Another program (another node) holds the port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Command::new(stigmer_bin())
        .args(["node", "--listen", "127.0.0.1:0", "--p2p-port", &port])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    assert!(said.contains("--p2p-port"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}

/// The attack of issue 10: under a common 1024 open-file limit, a thousand
/// idle connections made consensus panic ("Too many open files"). Now the
/// API caps its share of descriptors and closes idle connections: the node
/// stays up, keeps finalizing, and answers fresh requests.
#[test]
fn idle_connections_cannot_exhaust_the_node() {
    let scratch = Scratch::new("idle-sockets");
    let data = scratch.0.join("data");
    let output = cli_offline(
        &scratch.0,
        &[
            "init",
            "--data-dir",
            data.to_str().unwrap(),
            "--chain-id",
            "e2e",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let log = scratch.0.join("node.log");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 1024 && exec '{}' node --listen 127.0.0.1:0 --p2p-port 0 \
             --block-interval-ms 50 --api-idle-timeout-ms 500 --data-dir '{}' 2>'{}'",
            stigmer_bin(),
            data.display(),
            log.display()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let node = Node {
        child,
        api: line.trim().strip_prefix("api ").unwrap().to_string(),
    };
    node.wait_for_api();
    let address = node.api.trim_start_matches("http://").to_string();
    // As many idle sockets as the node may open files, held open.
    let idle: Vec<_> = (0..1000)
        .map_while(|_| std::net::TcpStream::connect(&address).ok())
        .collect();
    assert!(idle.len() >= 900, "only {} connections", idle.len());
    // Consensus goes on, and the API answers, while they are held: a DC
    // founded now is finalized.
    let home = scratch.0.join("home");
    assert!(cli_offline(&home, &["key", "new", "ann"]).status.success());
    let output = cli(
        &home,
        &node,
        &[
            "dc", "create", "garden", "--name", "Garden", "--token", "SEED", "--key", "ann",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("finalized in block"),
        "{}",
        text(&output)
    );
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(!log_text.contains("panicked"), "{log_text}");
    assert!(log_text.contains("open-file limit"), "{log_text}");
    drop(idle);
    node.kill();
}

/// `verify` checks state roots on a thread of their own, beside the one
/// that executes the blocks; it still names the first block whose claimed
/// root is wrong, though the block after it fails too (its parent is not
/// the tampered block).
#[test]
fn verify_names_the_first_block_whose_state_root_is_wrong() {
    use stigmer_ledger::chain::Proposal;
    use stigmer_ledger::store::Store;
    use stigmer_protocol::{Asset, Fixed, Operation};

    let scratch = Scratch::new("tampered");
    let data = scratch.0.join("chain");
    std::fs::create_dir_all(&data).unwrap();
    let genesis = stigmer_node::demo::genesis("tampered", vec!["00".repeat(32)], 1_700_000_000_000);
    std::fs::write(stigmer_node::run::genesis_path(&data), genesis.to_json()).unwrap();
    let (mut chain, genesis_applied) = genesis.chain_applied().unwrap();
    let store = Store::open(&data.join("ledger"), &genesis.chain_id).unwrap();
    store.index_block(0, &genesis_applied).unwrap();
    let mut timestamp_ms = genesis.timestamp_ms;
    for height in 1..=5u32 {
        let txs = (1..=5)
            .map(|member| {
                let key = stigmer_node::demo::member_key(member);
                key.sign(
                    &genesis.chain_id,
                    chain.next_nonce(&key.agent()),
                    Operation::Transfer {
                        dc: "festival".parse().unwrap(),
                        to: stigmer_node::demo::member_key(0).agent(),
                        amount: Fixed::ONE,
                        asset: Asset::Tokens,
                    },
                )
                .verified()
                .unwrap()
            })
            .collect();
        timestamp_ms += 1_000;
        let Proposal {
            mut block, applied, ..
        } = chain.propose(timestamp_ms, txs).unwrap();
        assert_eq!(block.txs.len(), 5);
        if height == 3 {
            block.header.state_root.0[0] ^= 1;
        }
        store.commit_block(&block, &applied).unwrap();
    }
    drop(store);
    let home = scratch.0.join("home");
    let output = cli_offline(&home, &["verify", "--data-dir", data.to_str().unwrap()]);
    let report = text(&output);
    assert!(!output.status.success(), "{report}");
    assert!(
        report.contains("FAIL  block 3: the state root is"),
        "{report}"
    );
}
