//! Durable storage in redb. Layout in `docs/design.md`.
//!
//! A finalized block, the leaves it changed, its transaction index entries,
//! its outcomes and the applied height are written in one redb write
//! transaction: after a crash at any moment the store holds every block up
//! to `applied_height` and nothing after it. The in-memory state is rebuilt
//! by replaying the stored blocks, so writing a block twice (replay after a
//! crash) is refused as a no-op, never applied twice.

use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::block::{Block, Header};
use crate::chain::TxOutcome;
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
/// name -> value: `chain_id`, `applied_height`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

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

    /// Writes a finalized block and everything it changed, atomically.
    /// Returns `false` (and writes nothing) if the block is already stored.
    pub fn commit_block(
        &self,
        block: &Block,
        outcomes: &[TxOutcome],
        changed_leaves: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<bool, LedgerError> {
        self.commit_finalized_block(block, outcomes, changed_leaves, &[])
    }

    /// [`Store::commit_block`], also keeping `finality`, the proof that the
    /// block was finalized (nothing is kept when it is empty).
    pub fn commit_finalized_block(
        &self,
        block: &Block,
        outcomes: &[TxOutcome],
        changed_leaves: &[(Vec<u8>, Vec<u8>)],
        finality: &[u8],
    ) -> Result<bool, LedgerError> {
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

    pub fn leaf(&self, key: &[u8]) -> Result<Option<Vec<u8>>, LedgerError> {
        let read = self.db.begin_read().map_err(storage)?;
        let leaves = read.open_table(LEAVES).map_err(storage)?;
        Ok(leaves
            .get(key)
            .map_err(storage)?
            .map(|v| v.value().to_vec()))
    }
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
                store
                    .commit_block(&block, &applied.outcomes, &applied.changed_leaves)
                    .unwrap();
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
