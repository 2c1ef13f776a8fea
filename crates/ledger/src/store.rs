//! Durable storage in redb. Layout in `docs/design.md`.
//!
//! A finalized block, the leaves it changed, its transaction index entries,
//! its outcomes, its log entries, origins and supply points, and the
//! applied height are written in one redb write transaction: after a crash
//! at any moment the store holds every block up to `applied_height` and
//! nothing after it. The in-memory state is rebuilt by replaying the stored
//! blocks, so writing a block twice (replay after a crash) is refused as a
//! no-op, never applied twice.
//!
//! What grows with history and is only read, never needed to apply a
//! block, lives here and not in memory: every action log (`log`), which
//! transaction caused each operation (`origins`), each DC's token supply
//! over time (`supply`). These indexes are written with each block once
//! they hold everything before it (`indexed_height`); a store of an older
//! version, or one a tool wrote without them, is indexed by
//! [`Store::index_block`] as its blocks are replayed.

use std::path::Path;

use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use stigmer_protocol::state::{Event, LogEntry};
use stigmer_protocol::{AgentId, DcId, Fixed};

use crate::block::{Block, Header};
use crate::chain::Applied;
use crate::codec::{Decoder, Encoder};
use crate::{Hash, LedgerError};

/// height -> encoded block.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// transaction hash -> height (8 bytes LE) and index in the block (4 bytes LE).
const TX_INDEX: TableDefinition<&[u8; 32], &[u8; 12]> = TableDefinition::new("tx_index");
/// (height, index) -> transaction hash: the inverse of `TX_INDEX`, so that
/// "which transaction caused this" is one lookup, without decoding a block.
const TX_HASHES: TableDefinition<(u64, u32), &[u8; 32]> = TableDefinition::new("tx_hashes");
/// (height, index) -> outcome: 0 for success, or 1 and the refusal message.
const OUTCOMES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("outcomes");
/// leaf key -> value: the state as of `applied_height`.
const LEAVES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("leaves");
/// height -> the proof that consensus finalized the block, opaque here (the
/// node writes its consensus certificate). Lets a full node prove to another
/// what it serves.
const FINALITY: TableDefinition<u64, &[u8]> = TableDefinition::new("finality");
/// name -> value: `chain_id`, `applied_height`, `indexed_height` (the
/// height up to which `log`, `origins` and `supply` are complete; absent
/// until the genesis is indexed).
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// (agent number, operation, position among the operation's entries) ->
/// the entry's DC, account index and event: every action log, filed by
/// agent, so that a page of an agent's log across its accounts, newest
/// first, is one range read.
const LOG: TableDefinition<(u32, u64, u32), &[u8]> = TableDefinition::new("log");
/// agent -> its number in `LOG`'s keys (in the order agents first appear
/// in a log): a key of 16 bytes instead of one that starts with a 64-byte
/// agent id, for every entry.
const AGENT_NUMBERS: TableDefinition<&str, u32> = TableDefinition::new("agent_numbers");
/// operation -> (height, index) of the transaction that caused it; height 0
/// is the genesis.
const ORIGINS: TableDefinition<u64, (u64, u32)> = TableDefinition::new("origins");
/// (DC, n) -> the n-th block in which the DC's tokens were minted: its
/// height, then the token supply and the tokens issued for work (not
/// allocated on joining) minted up to it, cumulated.
const SUPPLY: TableDefinition<(&str, u64), Cumulated> = TableDefinition::new("supply");
/// A `SUPPLY` value: height, token supply and issued for work (raw amounts).
type Cumulated = (u64, u128, u128);

/// One entry of an agent's action log, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub dc: DcId,
    /// The account's index in its DC.
    pub member: u32,
    pub entry: LogEntry,
}

/// A point of a DC's token supply over time: after block `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupplyPoint {
    pub height: u64,
    /// Every token minted in the DC up to this block.
    pub token_supply: Fixed,
    /// Of which issued for work and evaluation.
    pub issued_for_work: Fixed,
}

pub struct Store {
    db: Database,
}

fn storage(error: impl std::fmt::Display) -> LedgerError {
    LedgerError::Storage(error.to_string())
}

/// Where a transaction is: its block and position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    pub height: u64,
    pub index: u32,
}

impl Store {
    /// Opens (or creates) the store in `dir`, for chain `chain_id`. Refuses a
    /// directory that belongs to another chain.
    pub fn open(dir: &Path, chain_id: &str) -> Result<Store, LedgerError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| storage(format!("cannot create {}: {e}", dir.display())))?;
        let db = Database::create(dir.join("ledger.redb")).map_err(storage)?;
        let store = Store { db };
        let write = store.db.begin_write().map_err(storage)?;
        {
            let mut meta = write.open_table(META).map_err(storage)?;
            let existing = meta
                .get("chain_id")
                .map_err(storage)?
                .map(|value| value.value().to_vec());
            match existing {
                Some(existing) if existing != chain_id.as_bytes() => {
                    return Err(LedgerError::Storage(format!(
                        "{} holds chain {:?}, not {chain_id:?}",
                        dir.display(),
                        String::from_utf8_lossy(&existing)
                    )));
                }
                Some(_) => {}
                None => {
                    meta.insert("chain_id", chain_id.as_bytes())
                        .map_err(storage)?;
                    meta.insert("applied_height", &0u64.to_le_bytes()[..])
                        .map_err(storage)?;
                }
            }
            write.open_table(BLOCKS).map_err(storage)?;
            let index = write.open_table(TX_INDEX).map_err(storage)?;
            let mut hashes = write.open_table(TX_HASHES).map_err(storage)?;
            // A store written before `TX_HASHES` existed: fill it once.
            if hashes.len().map_err(storage)? < index.len().map_err(storage)? {
                for entry in index.iter().map_err(storage)? {
                    let (hash, location) = entry.map_err(storage)?;
                    hashes
                        .insert(decode_location(location.value()), hash.value())
                        .map_err(storage)?;
                }
            }
            write.open_table(OUTCOMES).map_err(storage)?;
            write.open_table(LEAVES).map_err(storage)?;
            write.open_table(LOG).map_err(storage)?;
            write.open_table(AGENT_NUMBERS).map_err(storage)?;
            write.open_table(ORIGINS).map_err(storage)?;
            write.open_table(SUPPLY).map_err(storage)?;
        }
        write.commit().map_err(storage)?;
        Ok(store)
    }

    /// Opens an existing store read-only in spirit: fails if there is none.
    pub fn open_existing(dir: &Path) -> Result<(Store, String), LedgerError> {
        let path = dir.join("ledger.redb");
        if !path.exists() {
            return Err(LedgerError::Storage(format!(
                "no ledger in {}",
                dir.display()
            )));
        }
        let db = Database::open(path).map_err(storage)?;
        let read = db.begin_read().map_err(storage)?;
        let meta = read.open_table(META).map_err(storage)?;
        let chain_id = meta
            .get("chain_id")
            .map_err(storage)?
            .map(|value| String::from_utf8_lossy(value.value()).to_string())
            .ok_or_else(|| LedgerError::Storage("the ledger has no chain id".to_string()))?;
        drop(meta);
        drop(read);
        Ok((Store { db }, chain_id))
    }

    pub fn applied_height(&self) -> Result<u64, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let meta = read.open_table(META).map_err(storage)?;
        let value = meta
            .get("applied_height")
            .map_err(storage)?
            .ok_or_else(|| LedgerError::Storage("no applied height".to_string()))?;
        let bytes: [u8; 8] = value
            .value()
            .try_into()
            .map_err(|_| LedgerError::Storage("the applied height is not 8 bytes".to_string()))?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// The height up to which log entries, origins and supply points are
    /// stored; `None` before the genesis's are.
    pub fn indexed_height(&self) -> Result<Option<u64>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let meta = read.open_table(META).map_err(storage)?;
        let value = meta.get("indexed_height").map_err(storage)?;
        Ok(value
            .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
            .map(u64::from_le_bytes))
    }

    /// Stores the log entries, origins and supply points of block `height`
    /// (0: the genesis, as [`crate::chain::Chain::from_genesis_applied`]
    /// gives it), for a block stored before they were: the next one after
    /// [`Store::indexed_height`]. Anything else is a no-op.
    pub fn index_block(&self, height: u64, applied: &Applied) -> Result<(), LedgerError> {
        let write = self.db.begin_write().map_err(storage)?;
        if !write_indexes(&write, height, applied)? {
            return Ok(());
        }
        write.commit().map_err(storage)?;
        Ok(())
    }

    /// Writes a finalized block and everything it changed, atomically.
    /// Returns `false` (and writes nothing) if the block is already stored.
    pub fn commit_block(&self, block: &Block, applied: &Applied) -> Result<bool, LedgerError> {
        self.commit_finalized_block(block, applied, &[])
    }

    /// [`Store::commit_block`], also keeping `finality`, the proof that the
    /// block was finalized (nothing is kept when it is empty).
    pub fn commit_finalized_block(
        &self,
        block: &Block,
        applied: &Applied,
        finality: &[u8],
    ) -> Result<bool, LedgerError> {
        let (outcomes, changed_leaves) = (&applied.outcomes, &applied.changed_leaves);
        let height = block.header.height;
        let write = self.db.begin_write().map_err(storage)?;
        {
            let mut meta = write.open_table(META).map_err(storage)?;
            let applied = meta
                .get("applied_height")
                .map_err(storage)?
                .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
                .map(u64::from_le_bytes)
                .unwrap_or(0);
            if height <= applied {
                return Ok(false);
            }
            if height != applied + 1 {
                return Err(LedgerError::Storage(format!(
                    "block {height} cannot follow applied height {applied}"
                )));
            }
            let encoded = block.encode();
            // Pair the write with a read-back check of the bytes.
            debug_assert_eq!(Block::decode_stored(&encoded).as_ref(), Ok(block));
            write
                .open_table(BLOCKS)
                .map_err(storage)?
                .insert(height, &encoded[..])
                .map_err(storage)?;
            let mut index_table = write.open_table(TX_INDEX).map_err(storage)?;
            let mut hash_table = write.open_table(TX_HASHES).map_err(storage)?;
            let mut outcome_table = write.open_table(OUTCOMES).map_err(storage)?;
            for (index, outcome) in (0u32..).zip(outcomes) {
                let mut location = [0u8; 12];
                location[..8].copy_from_slice(&height.to_le_bytes());
                location[8..].copy_from_slice(&index.to_le_bytes());
                index_table
                    .insert(&outcome.hash.0, &location)
                    .map_err(storage)?;
                hash_table
                    .insert((height, index), &outcome.hash.0)
                    .map_err(storage)?;
                let encoded_outcome = match &outcome.result {
                    Ok(_) => vec![0],
                    Err(error) => {
                        let mut bytes = vec![1];
                        bytes.extend_from_slice(error.to_string().as_bytes());
                        bytes
                    }
                };
                outcome_table
                    .insert((height, index), &encoded_outcome[..])
                    .map_err(storage)?;
            }
            if !finality.is_empty() {
                write
                    .open_table(FINALITY)
                    .map_err(storage)?
                    .insert(height, finality)
                    .map_err(storage)?;
            }
            let mut leaf_table = write.open_table(LEAVES).map_err(storage)?;
            for (key, value) in changed_leaves {
                leaf_table.insert(&key[..], &value[..]).map_err(storage)?;
            }
            meta.insert("applied_height", &height.to_le_bytes()[..])
                .map_err(storage)?;
        }
        write_indexes(&write, height, applied)?;
        write.commit().map_err(storage)?;
        Ok(true)
    }

    /// The finality proof stored with block `height`, if any.
    pub fn finality(&self, height: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let table = match read.open_table(FINALITY) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(error) => return Err(storage(error)),
        };
        let value = table.get(height).map_err(storage)?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let blocks = read.open_table(BLOCKS).map_err(storage)?;
        let Some(bytes) = blocks.get(height).map_err(storage)? else {
            return Ok(None);
        };
        // Pair the read with a check of what was written.
        let block = Block::decode_stored(bytes.value())?;
        if block.header.height != height {
            return Err(LedgerError::Storage(format!(
                "the block stored at {height} says it is {}",
                block.header.height
            )));
        }
        Ok(Some(block))
    }

    /// The header of block `height`, without decoding its transactions.
    pub fn header(&self, height: u64) -> Result<Option<Header>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let blocks = read.open_table(BLOCKS).map_err(storage)?;
        let Some(bytes) = blocks.get(height).map_err(storage)? else {
            return Ok(None);
        };
        let header = Header::decode_prefix(bytes.value())?;
        if header.height != height {
            return Err(LedgerError::Storage(format!(
                "the block stored at {height} says it is {}",
                header.height
            )));
        }
        Ok(Some(header))
    }

    pub fn tx_location(&self, hash: &Hash) -> Result<Option<TxLocation>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let index = read.open_table(TX_INDEX).map_err(storage)?;
        Ok(index
            .get(&hash.0)
            .map_err(storage)?
            .map(|value| decode_location(value.value()))
            .map(|(height, index)| TxLocation { height, index }))
    }

    /// The hash of the transaction at `location`: one index lookup.
    pub fn tx_hash(&self, location: TxLocation) -> Result<Option<Hash>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let hashes = read.open_table(TX_HASHES).map_err(storage)?;
        Ok(hashes
            .get((location.height, location.index))
            .map_err(storage)?
            .map(|value| Hash(*value.value())))
    }

    /// The outcome of a stored transaction: `Ok(())` or the refusal message.
    pub fn outcome(&self, location: TxLocation) -> Result<Option<Result<(), String>>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let outcomes = read.open_table(OUTCOMES).map_err(storage)?;
        Ok(outcomes
            .get((location.height, location.index))
            .map_err(storage)?
            .map(|value| match value.value().split_first() {
                Some((0, _)) => Ok(()),
                Some((_, message)) => Err(String::from_utf8_lossy(message).to_string()),
                None => Err(String::new()),
            }))
    }

    /// The transaction behind protocol operation `op` (height 0: the
    /// genesis).
    pub fn origin(&self, op: u64) -> Result<Option<TxLocation>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let origins = read.open_table(ORIGINS).map_err(storage)?;
        Ok(origins.get(op).map_err(storage)?.map(|value| {
            let (height, index) = value.value();
            TxLocation { height, index }
        }))
    }

    /// A page of `agent`'s action log across its accounts, newest first,
    /// from the entries of operations before `before` (all if `None`):
    /// about `limit` entries, more only to end on a whole operation (its
    /// entries are never split between pages). Also returns the cursor of
    /// the next page, the last operation's number, if anything is left.
    /// Entries of one operation come last made first. One range read: the
    /// work is the page's size, not the history's.
    pub fn log_page(
        &self,
        agent: &AgentId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<StoredEntry>, Option<u64>), LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let log = read.open_table(LOG).map_err(storage)?;
        let numbers = read.open_table(AGENT_NUMBERS).map_err(storage)?;
        let Some(agent) = numbers.get(agent.as_str()).map_err(storage)? else {
            return Ok((Vec::new(), None));
        };
        let agent = agent.value();
        let start = (agent, 0u64, 0u32);
        let entries = match before {
            Some(before) => log.range(start..(agent, before, 0)),
            None => log.range(start..=(agent, u64::MAX, u32::MAX)),
        }
        .map_err(storage)?;
        let mut page = Vec::new();
        let mut last_op = None;
        let mut more = false;
        for item in entries.rev() {
            let (key, value) = item.map_err(storage)?;
            let (_, op, _) = key.value();
            if page.len() >= limit && last_op != Some(op) {
                more = true;
                break;
            }
            page.push(decode_stored_entry(op, value.value())?);
            last_op = Some(op);
        }
        Ok((page, last_op.filter(|_| more)))
    }

    /// `dc`'s token supply over time: one point per block in which its
    /// tokens were minted, oldest first; when there are more than
    /// `points_max`, the newest point of each stretch of equal length. At
    /// most `points_max` reads, whatever the history.
    pub fn supply_history(
        &self,
        dc: &DcId,
        points_max: usize,
    ) -> Result<Vec<SupplyPoint>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let supply = read.open_table(SUPPLY).map_err(storage)?;
        let Some(n) = last_supply_point(&supply, dc)?.map(|(n, _)| n + 1) else {
            return Ok(Vec::new());
        };
        let stretch = n.div_ceil(points_max.max(1) as u64).max(1);
        let mut points = Vec::new();
        let mut end = stretch.min(n);
        loop {
            let value = supply
                .get((dc.as_str(), end - 1))
                .map_err(storage)?
                .ok_or_else(|| storage(format!("supply point {} of {dc} is missing", end - 1)))?;
            let (height, token_supply, issued_for_work) = value.value();
            points.push(SupplyPoint {
                height,
                token_supply: Fixed::from_raw(token_supply),
                issued_for_work: Fixed::from_raw(issued_for_work),
            });
            if end == n {
                break;
            }
            end = (end + stretch).min(n);
        }
        Ok(points)
    }

    pub fn leaf(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let leaves = read.open_table(LEAVES).map_err(storage)?;
        Ok(leaves
            .get(key)
            .map_err(storage)?
            .map(|v| v.value().to_vec()))
    }
}

/// Writes the log entries, origins and supply points of block `height`, if
/// the indexes hold everything before it (the genesis is height 0); returns
/// whether it did.
fn write_indexes(
    write: &WriteTransaction,
    height: u64,
    applied: &Applied,
) -> Result<bool, LedgerError> {
    let mut meta = write.open_table(META).map_err(storage)?;
    let indexed = meta
        .get("indexed_height")
        .map_err(storage)?
        .and_then(|v| <[u8; 8]>::try_from(v.value()).ok())
        .map(u64::from_le_bytes);
    let follows = match indexed {
        None => height == 0,
        Some(indexed) => height == indexed + 1,
    };
    if !follows {
        return Ok(false);
    }
    let mut log = write.open_table(LOG).map_err(storage)?;
    let mut numbers = write.open_table(AGENT_NUMBERS).map_err(storage)?;
    let mut numbered: std::collections::BTreeMap<&AgentId, u32> = Default::default();
    let mut origins = write.open_table(ORIGINS).map_err(storage)?;
    let mut supply = write.open_table(SUPPLY).map_err(storage)?;
    // Tokens minted in this block per DC: all, and those issued for work.
    let mut minted: std::collections::BTreeMap<&DcId, (Fixed, Fixed)> = Default::default();
    for (index, outcome) in (0u32..).zip(&applied.outcomes) {
        let Ok(receipt) = &outcome.result else {
            continue;
        };
        origins
            .insert(receipt.op, (height, index))
            .map_err(storage)?;
        for (position, (member, entry)) in (0u32..).zip(&receipt.log) {
            let agent = applied.agent(&receipt.dc, *member).ok_or_else(|| {
                storage(format!("no agent for account {member} of {}", receipt.dc))
            })?;
            let number = match numbered.get(agent) {
                Some(number) => *number,
                None => {
                    let known = numbers
                        .get(agent.as_str())
                        .map_err(storage)?
                        .map(|n| n.value());
                    let number = match known {
                        Some(number) => number,
                        None => {
                            let number = u32::try_from(numbers.len().map_err(storage)?)
                                .map_err(|_| storage("more agents than agent numbers"))?;
                            numbers.insert(agent.as_str(), number).map_err(storage)?;
                            number
                        }
                    };
                    numbered.insert(agent, number);
                    number
                }
            };
            let mut value = Encoder::new();
            value.str(receipt.dc.as_str());
            value.u32(*member);
            crate::leaves::encode_event(&mut value, &entry.event);
            log.insert((number, entry.op, position), &value.finish()[..])
                .map_err(storage)?;
            let tokens = entry.event.tokens_minted();
            if !tokens.is_zero() {
                let for_work = if matches!(entry.event, Event::Joined { .. }) {
                    Fixed::ZERO
                } else {
                    tokens
                };
                let sums = minted
                    .entry(&receipt.dc)
                    .or_insert((Fixed::ZERO, Fixed::ZERO));
                sums.0 = sums.0.checked_add(tokens).unwrap_or(sums.0);
                sums.1 = sums.1.checked_add(for_work).unwrap_or(sums.1);
            }
        }
    }
    for (dc, (tokens, for_work)) in minted {
        let (n, total, issued) = match last_supply_point(&supply, dc)? {
            Some((n, (_, total, issued))) => {
                (n + 1, Fixed::from_raw(total), Fixed::from_raw(issued))
            }
            None => (0, Fixed::ZERO, Fixed::ZERO),
        };
        let total = total.checked_add(tokens).unwrap_or(total);
        let issued = issued.checked_add(for_work).unwrap_or(issued);
        supply
            .insert((dc.as_str(), n), (height, total.raw(), issued.raw()))
            .map_err(storage)?;
    }
    meta.insert("indexed_height", &height.to_le_bytes()[..])
        .map_err(storage)?;
    Ok(true)
}

/// The last supply point of `dc`: its number and value.
fn last_supply_point(
    supply: &impl ReadableTable<(&'static str, u64), Cumulated>,
    dc: &DcId,
) -> Result<Option<(u64, Cumulated)>, LedgerError> {
    let mut points = supply
        .range((dc.as_str(), 0)..=(dc.as_str(), u64::MAX))
        .map_err(storage)?;
    match points.next_back() {
        None => Ok(None),
        Some(item) => {
            let (key, value) = item.map_err(storage)?;
            Ok(Some((key.value().1, value.value())))
        }
    }
}

/// A `LOG` value read back.
fn decode_stored_entry(op: u64, bytes: &[u8]) -> Result<StoredEntry, LedgerError> {
    let mut decoder = Decoder::stored(bytes);
    let dc = decoder.str("dc", u32::MAX)?;
    let dc = DcId::new(dc).map_err(|e| storage(format!("a stored log entry's DC: {e}")))?;
    let member = decoder.u32("member")?;
    let event = crate::leaves::decode_event(&mut decoder)?;
    decoder.finish()?;
    Ok(StoredEntry {
        dc,
        member,
        entry: LogEntry { op, event },
    })
}

/// A `TX_INDEX` value: height (8 bytes LE) and index (4 bytes LE).
fn decode_location(bytes: &[u8; 12]) -> (u64, u32) {
    let mut height = [0u8; 8];
    height.copy_from_slice(&bytes[..8]);
    let mut position = [0u8; 4];
    position.copy_from_slice(&bytes[8..]);
    (u64::from_le_bytes(height), u32::from_le_bytes(position))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Chain;
    use crate::tx::Keypair;

    /// Every stored transaction's hash is found by its place; a store
    /// written before the `tx_hashes` table existed gets it at open.
    #[test]
    fn hashes_by_place_and_filled_for_old_stores() {
        let dir = std::env::temp_dir().join(format!("stigmer-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = Keypair::from_seed([3; 32]);
        let mut chain = Chain::new("store-test");
        let mut expected = Vec::new();
        {
            let store = Store::open(&dir, "store-test").unwrap();
            for height in 1..=3u64 {
                let txs: Vec<_> = (0..4u64)
                    .map(|n| {
                        let nonce = (height - 1) * 4 + n;
                        let op = stigmer_protocol::Operation::Leave {
                            dc: "nowhere".parse().unwrap(),
                        };
                        key.sign("store-test", nonce, op).verified().unwrap()
                    })
                    .collect();
                let crate::chain::Proposal { block, applied, .. } =
                    chain.propose(height * 1_000, txs).unwrap();
                for (index, tx) in (0u32..).zip(&block.txs) {
                    expected.push((TxLocation { height, index }, tx.hash()));
                }
                store.commit_block(&block, &applied).unwrap();
                assert_eq!(store.header(height).unwrap().as_ref(), Some(&block.header));
            }
            for (location, hash) in &expected {
                assert_eq!(store.tx_hash(*location).unwrap(), Some(*hash));
            }
            assert_eq!(
                store
                    .tx_hash(TxLocation {
                        height: 9,
                        index: 0
                    })
                    .unwrap(),
                None
            );
            // As a store of an earlier version: no such table.
            let write = store.db.begin_write().unwrap();
            write.delete_table(TX_HASHES).unwrap();
            write.commit().unwrap();
        }
        let store = Store::open(&dir, "store-test").unwrap();
        for (location, hash) in &expected {
            assert_eq!(store.tx_hash(*location).unwrap(), Some(*hash));
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
