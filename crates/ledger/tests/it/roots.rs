//! State roots are a commitment that stored blocks carry: the same blocks
//! must give the same roots, bit for bit, whatever the code keeps in memory.
//! The golden values below were computed by the code of the time before
//! action logs moved out of the protocol's state (into receipts and the
//! store); a change to them breaks every existing chain.

use std::collections::BTreeMap;

use stigmer_ledger::block::Block;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::tx::Keypair;
use stigmer_ledger::Hash;
use stigmer_protocol::limits::ALLOWANCE_WINDOW_MS;
use stigmer_protocol::workload::Rng;
use stigmer_protocol::{
    Asset, ContributionType, CreateDc, DcId, DcParams, Fixed, Founder, Operation, RuleSet,
};

use crate::common::*;

pub const KEYS: u8 = 24;
const BLOCKS: u64 = 40;
const TXS_PER_BLOCK: usize = 30;

fn dc(id: &str) -> DcId {
    DcId::new(id).unwrap()
}

fn create(id: &str, rules: RuleSet, founders: &[&Keypair]) -> Operation {
    Operation::CreateDc(CreateDc {
        id: dc(id),
        name: format!("The {id}"),
        token_symbol: "TOK".to_string(),
        params: DcParams {
            rules,
            ..DcParams::default()
        },
        types: BTreeMap::from([
            ("work".parse().unwrap(), ContributionType::default()),
            (
                "scale".parse().unwrap(),
                ContributionType {
                    evaluation_set: (0..=4).map(Fixed::from_int).collect(),
                    ..ContributionType::default()
                },
            ),
        ]),
        founders: founders
            .iter()
            .enumerate()
            .map(|(n, key)| Founder {
                agent: key.agent(),
                reputation: Fixed::from_int(10 + 5 * n as u64),
                tokens: Fixed::from_int(20),
                referrer: None,
            })
            .collect(),
    })
}

/// A random operation of `keys[signer]` in a small world of two DCs (one
/// per rule set), where the steward of `garden` also acts as the DC.
fn random_operation(
    rng: &mut Rng,
    keys: &[Keypair],
    contributions: &[(String, String)],
) -> Operation {
    let dcs = ["garden", "orchard"];
    let in_dc = dc(dcs[rng.below(2) as usize]);
    let pick_contribution = |rng: &mut Rng| -> Option<(DcId, String)> {
        if contributions.is_empty() {
            return None;
        }
        let (dc_id, id) = &contributions[rng.below(contributions.len() as u64) as usize];
        Some((dc(dc_id), id.clone()))
    };
    match rng.below(10) {
        0 => Operation::Join {
            dc: in_dc,
            referrer: Some(keys[rng.below(4) as usize].agent()),
        },
        1 | 2 => {
            let id = format!("c{}", rng.next_u64() % 1_000_000);
            let kind = if rng.below(2) == 0 { "work" } else { "scale" };
            Operation::Contribute {
                dc: in_dc,
                id: id.parse().unwrap(),
                kind: kind.parse().unwrap(),
                title: format!("Contribution {id}"),
            }
        }
        3..=6 => match pick_contribution(rng) {
            Some((dc_id, id)) => Operation::Evaluate {
                dc: dc_id,
                contribution: id.parse().unwrap(),
                value: Fixed::from_int(rng.below(5)),
            },
            None => Operation::Leave { dc: in_dc },
        },
        7 => match pick_contribution(rng) {
            Some((dc_id, id)) => Operation::Thank {
                dc: dc_id,
                contribution: id.parse().unwrap(),
            },
            None => Operation::Leave { dc: in_dc },
        },
        8 => Operation::Transfer {
            dc: in_dc,
            to: keys[rng.below(u64::from(KEYS)) as usize].agent(),
            amount: Fixed::from_raw(u128::from(1 + rng.below(3_000)) * (Fixed::SCALE / 1_000)),
            asset: Asset::Tokens,
        },
        _ => Operation::Leave { dc: in_dc },
    }
}

/// Blocks of a random but seeded community, holding only operations the
/// state accepts (so that what a proposer leaves out cannot change them).
pub fn community_blocks(seed: u64) -> (Vec<Block>, Vec<Hash>) {
    let keys: Vec<Keypair> = (1..=KEYS).map(keypair).collect();
    let mut rng = Rng::new(seed);
    let mut chain = Chain::new(CHAIN);
    let mut nonces = vec![0u64; keys.len()];
    let mut contributions: Vec<(String, String)> = Vec::new();
    let mut blocks = Vec::new();
    let mut roots = Vec::new();
    let sign = |signer: usize, operation: Operation, nonces: &mut Vec<u64>| {
        let tx = keys[signer].sign(CHAIN, nonces[signer], operation);
        nonces[signer] += 1;
        tx
    };
    let first = vec![
        sign(
            0,
            create("garden", RuleSet::Backfeed, &[&keys[0], &keys[1], &keys[2]]),
            &mut nonces,
        ),
        sign(
            1,
            create(
                "orchard",
                RuleSet::BackfeedClassic,
                &[&keys[1], &keys[3], &keys[0]],
            ),
            &mut nonces,
        ),
        // The garden itself joins the orchard.
        sign(
            0,
            Operation::AsDc {
                dc: dc("garden"),
                operation: Box::new(Operation::Join {
                    dc: dc("orchard"),
                    referrer: None,
                }),
            },
            &mut nonces,
        ),
    ];
    let stigmer_ledger::chain::Proposal { block, applied, .. } =
        chain.propose(ALLOWANCE_WINDOW_MS, verified(first)).unwrap();
    assert!(applied.outcomes.iter().all(|o| o.result.is_ok()));
    roots.push(block.header.state_root);
    blocks.push(block);
    for height in 2..=BLOCKS {
        let mut scratch = chain.state.clone();
        let mut txs = Vec::new();
        let mut attempts = 0;
        while txs.len() < TXS_PER_BLOCK && attempts < 20 * TXS_PER_BLOCK {
            attempts += 1;
            let signer = rng.below(u64::from(KEYS)) as usize;
            let mut operation = random_operation(&mut rng, &keys, &contributions);
            if signer == 0 && rng.below(4) == 0 {
                operation = Operation::AsDc {
                    dc: dc("garden"),
                    operation: Box::new(operation),
                };
            }
            if scratch.apply(&keys[signer].agent(), &operation).is_err() {
                continue;
            }
            let inner = match &operation {
                Operation::AsDc { operation, .. } => &**operation,
                other => other,
            };
            if let Operation::Contribute { dc, id, .. } = inner {
                contributions.push((dc.to_string(), id.to_string()));
            }
            txs.push(sign(signer, operation, &mut nonces));
        }
        let stigmer_ledger::chain::Proposal { block, applied, .. } = chain
            .propose(height * ALLOWANCE_WINDOW_MS, verified(txs))
            .unwrap();
        assert!(applied.outcomes.iter().all(|o| o.result.is_ok()));
        roots.push(block.header.state_root);
        blocks.push(block);
    }
    (blocks, roots)
}

/// Every state root of a seeded community, pinned: moving state out of
/// memory must not change what the root commits to.
#[test]
fn state_roots_are_those_of_before_logs_left_the_state() {
    let (blocks, roots) = community_blocks(7);
    let mut all = Vec::new();
    for root in &roots {
        all.extend_from_slice(&root.0);
    }
    let final_root = roots.last().unwrap().to_string();
    let all_roots = Hash::of(&all).to_string();
    let n_txs: usize = blocks.iter().map(|b| b.txs.len()).sum();
    println!("{n_txs} transactions, final root {final_root}, all roots {all_roots}");
    assert_eq!(final_root, GOLDEN_FINAL_ROOT);
    assert_eq!(all_roots, GOLDEN_ALL_ROOTS);
    // A replica that applies (and checks) the same blocks agrees.
    let mut replica = Chain::new(CHAIN);
    for block in &blocks {
        replica.apply_block(block).unwrap();
    }
    assert_eq!(replica.state_root().to_string(), GOLDEN_FINAL_ROOT);
    assert_eq!(replica.recompute_root().to_string(), GOLDEN_FINAL_ROOT);
}

const GOLDEN_FINAL_ROOT: &str = "1c8181056ecf0899c99642d59b10d9f75a45a90e66b378a5d1e9767803f9a53b";
const GOLDEN_ALL_ROOTS: &str = "cc05ea3ef5c8d340d76d525c1cd6884807f82a31faf826ebd31294f04558c731";

/// A replay that checks roots on the side (`apply_deferring_root`, as
/// `stigmer verify` does) reaches the same roots, and catches a block whose
/// claimed root is wrong at that block.
#[test]
fn deferred_roots_are_the_same_roots() {
    use stigmer_ledger::chain::SignatureChecked;
    let (blocks, roots) = community_blocks(7);
    let mut replica = Chain::new(CHAIN);
    let mut tree = replica.take_tree();
    for (block, root) in blocks.iter().zip(&roots) {
        let checked = SignatureChecked::check(block.clone()).unwrap();
        let deferred = replica.apply_deferring_root(&checked).unwrap();
        assert_eq!(deferred.claimed, *root);
        deferred.check(&mut tree).unwrap();
        assert_eq!(tree.root(), *root);
    }
    replica.put_tree(tree);
    assert_eq!(replica.state_root().to_string(), GOLDEN_FINAL_ROOT);
    assert_eq!(replica.recompute_root().to_string(), GOLDEN_FINAL_ROOT);

    // Block 7 claims a root one bit off: its signatures and transactions are
    // fine, so it executes, and the tree catches it.
    let mut replica = Chain::new(CHAIN);
    let mut tree = replica.take_tree();
    for block in &blocks[..6] {
        let checked = SignatureChecked::check(block.clone()).unwrap();
        replica
            .apply_deferring_root(&checked)
            .unwrap()
            .check(&mut tree)
            .unwrap();
    }
    let mut wrong = blocks[6].clone();
    wrong.header.state_root.0[0] ^= 1;
    let checked = SignatureChecked::check(wrong).unwrap();
    let error = replica
        .apply_deferring_root(&checked)
        .unwrap()
        .check(&mut tree)
        .unwrap_err();
    assert!(
        matches!(
            error,
            stigmer_ledger::LedgerError::StateRootMismatch { height: 7, .. }
        ),
        "{error}"
    );
}
