//! Action logs, origins and supply points live in the store, written with
//! each block from the receipts: what a node reads back must be what the
//! protocol handed out.

use std::collections::BTreeMap;

use stigmer_ledger::chain::{Applied, Chain};
use stigmer_ledger::store::{Store, StoredEntry, SupplyPoint, TxLocation};
use stigmer_protocol::{AgentId, DcId, Event, Fixed, Logs};

use crate::common::*;
use crate::roots::{community_blocks, KEYS};

struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("stigmer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the receipts of a chain handed out, kept in memory.
struct Expected {
    chain: Chain,
    logs: Logs,
    origins: BTreeMap<u64, TxLocation>,
    applied: Vec<Applied>,
}

fn expected(blocks: &[stigmer_ledger::block::Block]) -> Expected {
    let mut chain = Chain::new(CHAIN);
    let mut logs = Logs::default();
    let mut origins = BTreeMap::new();
    let mut all = Vec::new();
    for block in blocks {
        let applied = chain.apply_block(block).unwrap();
        for (index, outcome) in (0u32..).zip(&applied.outcomes) {
            let receipt = outcome.result.as_ref().unwrap();
            logs.record(receipt);
            let height = block.header.height;
            origins.insert(receipt.op, TxLocation { height, index });
        }
        all.push(applied);
    }
    Expected {
        chain,
        logs,
        origins,
        applied: all,
    }
}

fn agents() -> Vec<AgentId> {
    let mut agents: Vec<AgentId> = (1..=KEYS).map(|n| keypair(n).agent()).collect();
    agents.push(AgentId::of_dc(&DcId::new("garden").unwrap()));
    agents
}

/// Walks `agent`'s log in the store, `limit` a page; checks that no page
/// splits an operation.
fn walk(store: &Store, agent: &AgentId, limit: usize) -> Vec<StoredEntry> {
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = store.log_page(agent, cursor, limit).unwrap();
        if page.len() > limit {
            let last = page[page.len() - 1].entry.op;
            assert!(page[limit - 1..].iter().all(|e| e.entry.op == last));
        }
        walked.extend(page);
        match next {
            Some(next) => {
                assert_eq!(Some(next), walked.last().map(|e| e.entry.op));
                cursor = Some(next);
            }
            None => return walked,
        }
    }
}

/// The supply history by a scan of every log, as the API once computed it.
fn scanned_history(expected: &Expected, dc: &DcId) -> Vec<SupplyPoint> {
    let state = &expected.chain.state;
    let dc_state = state.dc(dc).unwrap();
    let mut by_height: BTreeMap<u64, (Fixed, Fixed)> = BTreeMap::new();
    for member in 0..dc_state.members().len() as u32 {
        for entry in expected.logs.of(dc, member) {
            let minted = entry.event.tokens_minted();
            if minted.is_zero() {
                continue;
            }
            let for_work = if matches!(entry.event, Event::Joined { .. }) {
                Fixed::ZERO
            } else {
                minted
            };
            let height = expected.origins[&entry.op].height;
            let sums = by_height
                .entry(height)
                .or_insert((Fixed::ZERO, Fixed::ZERO));
            sums.0 = sums.0.checked_add(minted).unwrap();
            sums.1 = sums.1.checked_add(for_work).unwrap();
        }
    }
    let (mut supply, mut issued) = (Fixed::ZERO, Fixed::ZERO);
    by_height
        .into_iter()
        .map(|(height, (minted, for_work))| {
            supply = supply.checked_add(minted).unwrap();
            issued = issued.checked_add(for_work).unwrap();
            SupplyPoint {
                height,
                token_supply: supply,
                issued_for_work: issued,
            }
        })
        .collect()
}

/// The newest point of each stretch, as `Store::supply_history` promises.
fn strided(points: &[SupplyPoint], points_max: usize) -> Vec<SupplyPoint> {
    let stretch = points.len().div_ceil(points_max).max(1);
    points
        .chunks(stretch)
        .filter_map(|chunk| chunk.last().copied())
        .collect()
}

fn check_store(store: &Store, expected: &Expected) {
    let state = &expected.chain.state;
    for agent in agents() {
        // Newest first; within an operation, the last entry made first.
        let mut all: Vec<StoredEntry> = expected
            .logs
            .action_log(state, &agent)
            .into_iter()
            .map(|(dc, entry)| StoredEntry {
                dc: dc.id.clone(),
                member: dc.member_index(&agent).unwrap(),
                entry: *entry,
            })
            .collect();
        all.reverse();
        let n: u64 = state
            .memberships(&agent)
            .map(|dc| {
                expected
                    .chain
                    .log_len(&dc.id, dc.member_index(&agent).unwrap())
            })
            .sum();
        assert_eq!(n, all.len() as u64, "entries hashed for {agent}");
        for limit in [1, 2, 3, 7, 50, 1_000] {
            assert_eq!(walk(store, &agent, limit), all, "{agent}, {limit} a page");
        }
    }
    for (op, location) in &expected.origins {
        assert_eq!(store.origin(*op).unwrap(), Some(*location));
    }
    assert_eq!(store.origin(state.n_ops()).unwrap(), None);
    for dc in state.dcs() {
        let scanned = scanned_history(expected, &dc.id);
        assert!(scanned.len() > 3, "issuance in {}", dc.id);
        assert_eq!(scanned.last().unwrap().token_supply, dc.token_supply);
        for points_max in [1, 2, 3, 5, scanned.len() - 1, scanned.len(), 500] {
            assert_eq!(
                store.supply_history(&dc.id, points_max).unwrap(),
                strided(&scanned, points_max),
                "{}, {points_max} points",
                dc.id
            );
        }
    }
}

/// Log pages, origins and the supply history read from the store equal
/// what the receipts handed out, for every page size.
#[test]
fn the_store_keeps_what_receipts_hand_out() {
    let (blocks, _) = community_blocks(11);
    let expected = expected(&blocks);
    let scratch = Scratch::new("logs");
    let store = Store::open(&scratch.0, CHAIN).unwrap();
    // No genesis here: an empty block 0 starts the indexes.
    store.index_block(0, &Applied::default()).unwrap();
    for (block, applied) in blocks.iter().zip(&expected.applied) {
        assert!(store.commit_block(block, applied).unwrap());
    }
    assert_eq!(store.indexed_height().unwrap(), Some(blocks.len() as u64));
    check_store(&store, &expected);
}

/// A store written without indexes (by an older version, or a tool) gets
/// them block by block, the same as if written with each block; blocks
/// committed before then are not indexed out of order.
#[test]
fn a_store_without_indexes_is_indexed_block_by_block() {
    let (blocks, _) = community_blocks(11);
    let expected = expected(&blocks);
    let scratch = Scratch::new("logs-late");
    let store = Store::open(&scratch.0, CHAIN).unwrap();
    for (block, applied) in blocks.iter().zip(&expected.applied) {
        assert!(store.commit_block(block, applied).unwrap());
    }
    assert_eq!(store.indexed_height().unwrap(), None);
    let agent = keypair(1).agent();
    assert_eq!(
        store.log_page(&agent, None, 10).unwrap(),
        (Vec::new(), None)
    );
    // Out of order: nothing written.
    store.index_block(2, &expected.applied[1]).unwrap();
    assert_eq!(store.indexed_height().unwrap(), None);
    store.index_block(0, &Applied::default()).unwrap();
    for (height, applied) in (1u64..).zip(&expected.applied) {
        store.index_block(height, applied).unwrap();
        // Again: a no-op.
        store.index_block(height, applied).unwrap();
    }
    check_store(&store, &expected);
}
