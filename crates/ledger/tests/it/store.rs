use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::Store;

use crate::common::*;

#[test]
fn committed_blocks_survive_reopening_and_are_written_once() {
    let dir = std::env::temp_dir().join(format!("stigmer-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ann = keypair(1);
    let mut chain = Chain::new(CHAIN);
    let (block, applied) = chain
        .propose(7, verified(vec![ann.sign(CHAIN, 0, create_dc(&[&ann]))]))
        .unwrap();
    {
        let store = Store::open(&dir, CHAIN).unwrap();
        assert_eq!(store.applied_height().unwrap(), 0);
        assert!(store
            .commit_block(&block, &applied.outcomes, &applied.changed_leaves)
            .unwrap());
        // A replay after a crash writes nothing the second time.
        assert!(!store
            .commit_block(&block, &applied.outcomes, &applied.changed_leaves)
            .unwrap());
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
