use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::Store;

use crate::common::*;

#[test]
fn committed_blocks_survive_reopening_and_are_written_once() {
    let dir = std::env::temp_dir().join(format!("stigmer-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ann = keypair(1);
    let mut chain = Chain::new(CHAIN);
    let stigmer_ledger::chain::Proposal { block, applied, .. } = chain
        .propose(7, verified(vec![ann.sign(CHAIN, 0, create_dc(&[&ann]))]))
        .unwrap();
    {
        let store = Store::open(&dir, CHAIN).unwrap();
        assert_eq!(store.applied_height().unwrap(), 0);
        assert!(store.commit_block(&block, &applied).unwrap());
        // A replay after a crash writes nothing the second time.
        assert!(!store.commit_block(&block, &applied).unwrap());
    }
    let store = Store::open(&dir, CHAIN).unwrap();
    assert_eq!(store.applied_height().unwrap(), 1);
    assert_eq!(store.block(1).unwrap().unwrap(), block);
    let tx = &block.txs[0];
    let location = store.tx_location(&tx.hash()).unwrap().unwrap();
    assert_eq!((location.height, location.index), (1, 0));
    assert_eq!(store.outcome(location).unwrap(), Some(Ok(())));
    assert!(store.block(2).unwrap().is_none());
    assert!(Store::open(&dir, "another-chain").is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A block finalized by an older version, before every limit held on every
/// path (here a title over 200 bytes that came in through JSON), must stay
/// readable: the node replays it at start, serves it to full nodes, and
/// `stigmer verify` checks it. Strictly, it is refused: no proposal may
/// carry it any more.
#[test]
fn a_block_finalized_before_the_limits_held_stays_readable() {
    use stigmer_ledger::block::{tx_root, Block, Header};
    use stigmer_ledger::{Hash, LedgerError};
    use stigmer_protocol::{DcId, Operation};

    let dir = std::env::temp_dir().join(format!("stigmer-legacy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ann = keypair(1);
    let tx = ann.sign(
        CHAIN,
        0,
        Operation::Contribute {
            dc: DcId::new("garden").unwrap(),
            id: "c".parse().unwrap(),
            kind: "work".parse().unwrap(),
            title: "x".repeat(300),
        },
    );
    assert!(tx.clone().verified().is_err());
    let mut chain = Chain::new(CHAIN);
    let mut block = Block {
        header: Header {
            height: 1,
            parent: chain.tip,
            timestamp_ms: 5,
            tx_root: tx_root(std::slice::from_ref(&tx)),
            state_root: Hash::ZERO,
        },
        txs: vec![tx],
    };
    block.header.state_root = match chain.clone().apply_block(&block) {
        Err(LedgerError::StateRootMismatch { computed, .. }) => computed,
        other => panic!("expected the state root to be computed, got {other:?}"),
    };
    let applied = chain.apply_block(&block).unwrap();
    assert!(applied.outcomes[0].result.is_err());
    assert!(Block::decode(&block.encode()).is_err());
    assert!(block.check_canonical().is_err());
    assert_eq!(Block::decode_stored(&block.encode()).unwrap(), block);
    {
        let store = Store::open(&dir, CHAIN).unwrap();
        store.commit_block(&block, &applied).unwrap();
    }
    let store = Store::open(&dir, CHAIN).unwrap();
    let stored = store.block(1).unwrap().unwrap();
    assert_eq!(stored, block);
    let mut replayed = Chain::new(CHAIN);
    replayed.replay_block(&stored).unwrap();
    assert_eq!(replayed.state_root(), chain.state_root());
    let _ = std::fs::remove_dir_all(&dir);
}
