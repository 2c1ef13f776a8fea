//! Builds, offline, a ledger in which one agent made many contributions:
//! the fixture for measuring `GET /api/v1/agents/{agent}` on a long history
//! (issue 10, item 5).
//!
//! ```text
//! cargo run -p stigmer-node --example agent_history -- agent
//! stigmer init --data-dir D --dc bench --founder <that agent>
//! cargo run -p stigmer-node --example agent_history -- build D 15000
//! stigmer node --data-dir D
//! ```
//!
//! The blocks are built with the code a proposer runs and committed to the
//! store as the finalizer does; the node replays them at start.

use std::path::PathBuf;

use stigmer_ledger::store::Store;
use stigmer_ledger::tx::Keypair;
use stigmer_node::genesis::Genesis;
use stigmer_node::ledger::PROPOSAL_TXS_MAX;
use stigmer_protocol::Operation;

fn key() -> Keypair {
    Keypair::from_seed(*blake3::hash(b"stigmer agent history fixture").as_bytes())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let key = key();
    match args.first().map(String::as_str) {
        Some("agent") => println!("{}", key.agent()),
        Some("build") if args.len() == 3 => {
            let dir = PathBuf::from(&args[1]);
            let count: u64 = args[2].parse()?;
            let genesis = Genesis::parse(&std::fs::read_to_string(
                stigmer_node::run::genesis_path(&dir),
            )?)?;
            let dc = genesis.dcs.first().ok_or("the genesis has no DC")?;
            let dc_id: stigmer_protocol::DcId = match &dc.dc {
                stigmer_node::json::OperationJson::CreateDc { id, .. } => id.parse()?,
                _ => return Err("not a create_dc".into()),
            };
            let mut chain = genesis.chain()?;
            let store = Store::open(&dir.join("ledger"), &genesis.chain_id)?;
            let mut nonce = chain.next_nonce(&key.agent());
            let mut made = 0;
            let mut timestamp_ms = genesis.timestamp_ms;
            while made < count {
                let take = u64::from(PROPOSAL_TXS_MAX).min(count - made);
                let txs = (0..take)
                    .map(|n| {
                        let tx = key.sign(
                            &genesis.chain_id,
                            nonce,
                            Operation::Contribute {
                                dc: dc_id.clone(),
                                id: format!("c{}", made + n).parse().expect("a valid id"),
                                kind: "work".parse().expect("a valid name"),
                                title: "Fixed the shared tools".to_string(),
                            },
                        );
                        nonce += 1;
                        tx.verified()
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                timestamp_ms += 200;
                let stigmer_ledger::chain::Proposal { block, applied, .. } =
                    chain.propose(timestamp_ms, txs)?;
                if let Some(refused) = applied
                    .outcomes
                    .iter()
                    .find_map(|o| o.result.as_ref().err())
                {
                    return Err(format!("a contribution was refused: {refused}").into());
                }
                store.commit_block(&block, &applied)?;
                made += take;
            }
            println!("{made} contributions in {} blocks", chain.height);
        }
        Some("submit") if args.len() == 4 => {
            let url = &args[1];
            let dc_id: stigmer_protocol::DcId = args[2].parse()?;
            let count: u64 = args[3].parse()?;
            submit(&key, url, &dc_id, count)?;
        }
        _ => {
            return Err(
                "usage: agent_history agent | build DATA_DIR COUNT | submit API_URL DC COUNT"
                    .into(),
            );
        }
    }
    Ok(())
}

/// Signs `count` contributions and submits them to a running node's API,
/// then waits until they are all finalized.
fn submit(
    key: &Keypair,
    url: &str,
    dc: &stigmer_protocol::DcId,
    count: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let agent = key.agent();
    let status: serde_json::Value = ureq::get(format!("{url}/api/v1/status"))
        .call()?
        .body_mut()
        .read_json()?;
    let chain_id = status["chain_id"]
        .as_str()
        .ok_or("no chain id")?
        .to_string();
    let nonces: serde_json::Value = ureq::get(format!("{url}/api/v1/agents/{agent}/nonce"))
        .call()?
        .body_mut()
        .read_json()?;
    let first = nonces["next_nonce"].as_u64().ok_or("no nonce")?;
    for n in 0..count {
        let tx = key.sign(
            &chain_id,
            first + n,
            Operation::Contribute {
                dc: dc.clone(),
                id: format!("s{}", first + n).parse()?,
                kind: "work".parse()?,
                title: "Fixed the shared tools".to_string(),
            },
        );
        let body = serde_json::json!({ "encoded": stigmer_ledger::tx::hex(&tx.encode()) });
        loop {
            match ureq::post(format!("{url}/api/v1/transactions")).send_json(&body) {
                Ok(_) => break,
                Err(error) => {
                    eprintln!("retrying {n}: {error}");
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
            }
        }
    }
    loop {
        let nonces: serde_json::Value = ureq::get(format!("{url}/api/v1/agents/{agent}/nonce"))
            .call()?
            .body_mut()
            .read_json()?;
        let finalized = nonces["finalized_nonce"].as_u64().unwrap_or(0);
        if finalized >= first + count {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    println!("{count} contributions finalized");
    Ok(())
}
