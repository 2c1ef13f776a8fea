use stigmer_ledger::block::Block;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::LedgerError;
use stigmer_protocol::ProtocolError;

use crate::common::*;

/// Three blocks of a small garden DC.
fn blocks() -> Vec<Block> {
    let (ann, bo) = (keypair(1), keypair(2));
    let mut chain = Chain::new(CHAIN);
    let batches = vec![
        vec![ann.sign(CHAIN, 0, create_dc(&[&ann, &bo]))],
        vec![
            ann.sign(CHAIN, 1, contribute("beds")),
            bo.sign(CHAIN, 0, evaluate("beds", 0)),
        ],
        vec![
            bo.sign(CHAIN, 1, evaluate("beds", 1)),
            // Refused by the protocol (the same value again), yet valid.
            bo.sign(CHAIN, 2, evaluate("beds", 1)),
        ],
    ];
    let mut blocks = Vec::new();
    for (index, txs) in batches.into_iter().enumerate() {
        // Sealed rather than proposed: a proposer would leave the refused
        // transaction out.
        let block = seal(&chain, 1_000 * index as u64, txs);
        chain.apply_block(&block).unwrap();
        blocks.push(block);
    }
    blocks
}

#[test]
fn replaying_blocks_gives_the_same_state_and_root() {
    let blocks = blocks();
    let mut replica = Chain::new(CHAIN);
    let mut last = None;
    for block in &blocks {
        last = Some(replica.apply_block(block).unwrap());
    }
    assert_eq!(replica.height, 3);
    assert_eq!(replica.state_root(), blocks[2].header.state_root);
    assert_eq!(replica.state_root(), replica.recompute_root());
    let outcomes = last.unwrap().outcomes;
    assert!(outcomes[0].result.is_ok());
    assert!(matches!(
        outcomes[1].result,
        Err(ProtocolError::SameEvaluation { .. })
    ));
    // Replaying again from scratch: identical, bit for bit.
    let mut again = Chain::new(CHAIN);
    for block in &blocks {
        again.apply_block(block).unwrap();
    }
    assert_eq!(again.state, replica.state);
    assert_eq!(again.state_root(), replica.state_root());
}

#[test]
fn blocks_are_checked_whole_before_anything_changes() {
    let blocks = blocks();
    let mut chain = Chain::new(CHAIN);
    chain.apply_block(&blocks[0]).unwrap();
    let root = chain.state_root();

    let expect_invalid = |chain: &mut Chain, block: &Block, needle: &str| {
        let error = chain.apply_block(block).unwrap_err().to_string();
        assert!(error.contains(needle), "{error}");
    };
    expect_invalid(&mut chain, &blocks[0], "expected height 2");
    expect_invalid(&mut chain, &blocks[2], "expected height 2");
    let mut wrong_parent = blocks[1].clone();
    wrong_parent.header.parent = blocks[1].hash();
    expect_invalid(&mut chain, &wrong_parent, "its parent is");
    let mut dropped_tx = blocks[1].clone();
    dropped_tx.txs.pop();
    expect_invalid(&mut chain, &dropped_tx, "transaction root");
    let mut forged = blocks[1].clone();
    forged.txs[1].signature[0] ^= 1;
    forged.header.tx_root = stigmer_ledger::block::tx_root(&forged.txs);
    expect_invalid(&mut chain, &forged, "signature");
    let mut replayed = blocks[1].clone();
    replayed.txs[0] = blocks[0].txs[0].clone();
    replayed.header.tx_root = stigmer_ledger::block::tx_root(&replayed.txs);
    expect_invalid(&mut chain, &replayed, "nonce 0 was already used");
    assert_eq!(chain.height, 1);
    assert_eq!(chain.state_root(), root);

    let mut lying = blocks[1].clone();
    lying.header.state_root = root;
    assert!(matches!(
        chain.clone().apply_block(&lying),
        Err(LedgerError::StateRootMismatch { .. })
    ));
    chain.apply_block(&blocks[1]).unwrap();
}

#[test]
fn transactions_are_checked_before_entering_a_block() {
    let ann = keypair(1);
    let chain = Chain::new(CHAIN);
    chain
        .check_transaction(&ann.sign(CHAIN, 0, contribute("x")))
        .unwrap();
    // A future nonce is fine for the pool; a wrong chain is not.
    chain
        .check_transaction(&ann.sign(CHAIN, 5, contribute("x")))
        .unwrap();
    assert!(matches!(
        chain.check_transaction(&ann.sign("elsewhere", 0, contribute("x"))),
        Err(LedgerError::WrongChain { .. })
    ));
}

#[test]
fn blocks_round_trip_through_bytes() {
    for block in blocks() {
        assert_eq!(Block::decode(&block.encode()).unwrap(), block);
    }
}

/// A key with no standing has a small allowance of transactions per hour of
/// block time: a proposer leaves out what goes beyond it (and that signer's
/// later nonces), a verifier refuses a block that carries it, and a new
/// window starts the count again. Membership raises the allowance.
#[test]
fn hourly_allowances_bind_proposers_and_verifiers() {
    use stigmer_protocol::limits::{
        ALLOWANCE_WINDOW_MS, TXS_PER_HOUR_MEMBER, TXS_PER_HOUR_NEWCOMER,
    };
    use stigmer_protocol::Operation;

    let (ann, stranger) = (keypair(1), keypair(9));
    let mut chain = Chain::new(CHAIN);
    chain
        .propose(0, verified(vec![ann.sign(CHAIN, 0, create_dc(&[&ann]))]))
        .unwrap();
    assert_eq!(
        chain.state.hourly_allowance(&stranger.agent()),
        TXS_PER_HOUR_NEWCOMER
    );
    assert!(chain.state.hourly_allowance(&ann.agent()) >= TXS_PER_HOUR_MEMBER);
    // The stranger leaves a DC it never joined, again and again: each
    // refused by the protocol, each a transaction all the same.
    let n = u64::from(TXS_PER_HOUR_NEWCOMER) + 5;
    let leave = || Operation::Leave {
        dc: stigmer_protocol::DcId::new("garden").unwrap(),
    };
    let txs: Vec<_> = (0..n)
        .map(|nonce| stranger.sign(CHAIN, nonce, leave()))
        .collect();
    // A proposer of this version leaves them out, the first as refused...
    let mut proposer = chain.clone();
    let proposal = proposer.propose(1_000, verified(txs.clone())).unwrap();
    assert!(proposal.block.txs.is_empty());
    assert_eq!(proposal.refused.len(), 1);
    assert_eq!(proposal.refused[0].nonce, 0);
    // ...but a block holding refused transactions is valid, up to the
    // signer's allowance.
    let allowed = TXS_PER_HOUR_NEWCOMER as usize;
    let block = seal(&chain, 1_000, txs[..allowed].to_vec());
    chain.apply_block(&block).unwrap();
    assert_eq!(
        chain.allowance_left(&stranger.agent(), 2_000),
        (0, TXS_PER_HOUR_NEWCOMER)
    );
    // Nothing more this hour, from the proposer...
    let rest = verified(txs[allowed..].to_vec());
    let mut proposer = chain.clone();
    let proposal = proposer.propose(2_000, rest.clone()).unwrap();
    assert!(proposal.block.txs.is_empty());
    assert!(
        proposal.refused.is_empty(),
        "over the allowance, not refused"
    );
    // ...and a block that carries one more is invalid.
    let mut forged = chain.clone();
    let mut cheat = proposal.block.clone();
    cheat.txs = vec![txs[allowed].clone()];
    cheat.header.tx_root = stigmer_ledger::block::tx_root(&cheat.txs);
    match forged.apply_block(&cheat) {
        Err(LedgerError::InvalidBlock { reason, .. }) => {
            assert!(reason.contains("allowance"), "{reason}")
        }
        other => panic!("a block over an allowance must be invalid, got {other:?}"),
    }
    // The next hour, the count starts again.
    let next_hour = seal(&chain, ALLOWANCE_WINDOW_MS, txs[allowed..].to_vec());
    assert_eq!(next_hour.txs.len(), 5);
    let mut verifier = chain.clone();
    verifier.apply_block(&next_hour).unwrap();
    chain.apply_block(&next_hour).unwrap();
    assert_eq!(verifier.state_root(), chain.state_root());
}

/// A transaction the state refuses never reaches a block a proposer of this
/// version builds, even when it could not be checked on arrival (it came
/// behind others of its signer): it is handed back as refused, and its
/// signer's later ones wait out of the block, their nonces no longer
/// following.
#[test]
fn proposers_leave_out_what_the_state_refuses() {
    let ann = keypair(1);
    let mut chain = Chain::new(CHAIN);
    let txs = vec![
        ann.sign(CHAIN, 0, create_dc(&[&ann])),
        ann.sign(CHAIN, 1, contribute("beds")),
        // The same id again: refused, but only once the first is applied.
        ann.sign(CHAIN, 2, contribute("beds")),
        ann.sign(CHAIN, 3, contribute("paths")),
    ];
    let refused_hash = txs[2].hash();
    let proposal = chain.propose(1_000, verified(txs)).unwrap();
    assert_eq!(proposal.block.txs.len(), 2);
    assert!(proposal.applied.outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(proposal.refused.len(), 1);
    assert_eq!(proposal.refused[0].hash, refused_hash);
    assert_eq!(proposal.refused[0].nonce, 2);
    assert_eq!(chain.next_nonce(&ann.agent()), 2);
    // Every verifier accepts the block and agrees on the state.
    let mut verifier = Chain::new(CHAIN);
    verifier.apply_block(&proposal.block).unwrap();
    assert_eq!(verifier.state_root(), chain.state_root());
}
