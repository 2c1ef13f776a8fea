use std::collections::BTreeMap;

use stigmer_ledger::tx::{Keypair, SignedTransaction, VerifiedTransaction};
use stigmer_protocol::{ContributionType, CreateDc, DcId, DcParams, Fixed, Founder, Operation};

pub const CHAIN: &str = "test-chain";

pub fn keypair(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

pub fn verified(txs: Vec<SignedTransaction>) -> Vec<VerifiedTransaction> {
    txs.into_iter().map(|tx| tx.verified().unwrap()).collect()
}

pub fn create_dc(founders: &[&Keypair]) -> Operation {
    Operation::CreateDc(CreateDc {
        id: DcId::new("garden").unwrap(),
        name: "Community garden".to_string(),
        token_symbol: "SEED".to_string(),
        params: DcParams::default(),
        types: BTreeMap::from([("work".parse().unwrap(), ContributionType::default())]),
        founders: founders
            .iter()
            .map(|key| Founder {
                agent: key.agent(),
                reputation: Fixed::from_int(10),
                tokens: Fixed::from_int(10),
                referrer: None,
            })
            .collect(),
    })
}

pub fn contribute(id: &str) -> Operation {
    Operation::Contribute {
        dc: DcId::new("garden").unwrap(),
        id: id.parse().unwrap(),
        kind: "work".parse().unwrap(),
        title: format!("Contribution {id}"),
    }
}

pub fn evaluate(id: &str, value: u64) -> Operation {
    Operation::Evaluate {
        dc: DcId::new("garden").unwrap(),
        contribution: id.parse().unwrap(),
        value: Fixed::from_int(value),
    }
}

/// The next block of `chain` with exactly `txs` (`Chain::seal`).
pub fn seal(
    chain: &stigmer_ledger::chain::Chain,
    timestamp_ms: u64,
    txs: Vec<SignedTransaction>,
) -> stigmer_ledger::block::Block {
    chain.seal(timestamp_ms, txs).expect("a valid block")
}
