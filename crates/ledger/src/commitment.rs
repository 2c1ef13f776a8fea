//! The state tree: a Jellyfish Merkle tree (the `jmt` crate) over the state
//! leaves (`leaves.rs`). Its root is the block's state root, and it proves
//! that a key has a value (or none) at that root, so a member can check one
//! balance without trusting the node that serves it.
//!
//! The root depends only on the set of leaves, not on the order or batching
//! of updates, so a tree rebuilt from scratch (`stigmer verify`) must equal
//! the one maintained block by block. Nodes live in memory and only the
//! latest version is kept: the chain is rebuilt by replaying blocks on start.

use std::collections::HashMap;

use jmt::proof::SparseMerkleProof;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, RootHash, Sha256Jmt, Version};
use sha2::Sha256;

use crate::Hash;

/// The root of the tree with no leaves.
pub const EMPTY_ROOT: Hash = Hash(*b"SPARSE_MERKLE_PLACEHOLDER_HASH__");

#[derive(Clone, Default)]
struct Nodes {
    nodes: HashMap<NodeKey, Node, SeededHash>,
    /// The latest value of each live key: the tree only reads the newest.
    values: HashMap<KeyHash, OwnedValue, SeededHash>,
}

/// A fast hasher for the tree's maps, which every block reads and writes
/// thousands of times (SipHash was a tenth of applying a block). Keys are
/// SHA-256 outputs and node paths; a seed drawn per process keeps anyone
/// from choosing ids that pile into one bucket.
#[derive(Clone, Copy)]
struct SeededHash(u64);

impl Default for SeededHash {
    fn default() -> SeededHash {
        static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        SeededHash(*SEED.get_or_init(|| {
            let mut seed = [0u8; 8];
            // Without the system's randomness the maps still work, only
            // with a guessable seed.
            let _ = getrandom::fill(&mut seed);
            u64::from_le_bytes(seed) | 1
        }))
    }
}

impl std::hash::BuildHasher for SeededHash {
    type Hasher = MixHasher;

    fn build_hasher(&self) -> MixHasher {
        MixHasher(self.0)
    }
}

/// Multiply-rotate mixing of each 8-byte word (as FxHash does), from a seed.
struct MixHasher(u64);

impl std::hash::Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.write_u64(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn write_u8(&mut self, byte: u8) {
        self.write_u64(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weakest; hashbrown takes its
        // bucket from them and its tag from the top.
        let hash = self.0;
        hash ^ (hash >> 29) ^ (hash >> 47)
    }
}

impl TreeReader for Nodes {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        _max: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.values.get(&key_hash).cloned())
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from chunks is not supported")
    }
}

impl Nodes {
    /// Writes an update and drops the nodes it made stale.
    fn write(&mut self, batch: TreeUpdateBatch) {
        let node_batch = batch.node_batch;
        self.nodes.extend(node_batch.nodes().clone());
        for ((_, key_hash), value) in node_batch.values().clone() {
            match value {
                Some(value) => self.values.insert(key_hash, value),
                None => self.values.remove(&key_hash),
            };
        }
        for stale in batch.stale_node_index_batch {
            self.nodes.remove(&stale.node_key);
        }
    }
}

#[derive(Clone, Default)]
pub struct StateTree {
    nodes: Nodes,
    /// Version of the latest root; `None` while empty.
    version: Option<Version>,
    root: Option<Hash>,
}

impl core::fmt::Debug for StateTree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "StateTree(root {}, {} nodes)",
            self.root(),
            self.nodes.nodes.len()
        )
    }
}

fn key_hash(key: &[u8]) -> KeyHash {
    KeyHash::with::<Sha256>(key)
}

impl StateTree {
    pub fn new() -> StateTree {
        StateTree::default()
    }

    /// Sets each key to its value.
    pub fn apply(&mut self, changes: &[(Vec<u8>, Vec<u8>)]) {
        if changes.is_empty() {
            return;
        }
        let version = self.version.map_or(0, |v| v + 1);
        let values = changes
            .iter()
            .map(|(key, value)| (key_hash(key), value.clone()))
            .collect();
        // Leaves are only ever set, never deleted, so the batch insertion
        // applies: it builds each changed subtree once for the whole set
        // (hashing each internal node once), where inserting key by key
        // rehashes the path to the root for every key. The root depends
        // only on the leaves, so it is the same. The in-memory reader never
        // fails, so neither can the update.
        let (roots, batch) = Sha256Jmt::new(&self.nodes)
            .batch_put_value_sets(vec![values], None, version)
            .expect("an in-memory tree update cannot fail");
        self.nodes.write(batch);
        self.version = Some(version);
        if let Some(root) = roots.first() {
            self.root = Some(Hash(root.0));
        }
    }

    pub fn root(&self) -> Hash {
        self.root.unwrap_or(EMPTY_ROOT)
    }

    /// The value of `key` and a proof of it (or of its absence) against
    /// [`StateTree::root`].
    pub fn prove(&self, key: &[u8]) -> Option<(Option<Vec<u8>>, Proof)> {
        let version = self.version?;
        let (value, proof) = Sha256Jmt::new(&self.nodes)
            .get_with_proof(key_hash(key), version)
            .ok()?;
        Some((value, Proof(proof)))
    }
}

/// A proof that a key has a value, or none, at a state root.
#[derive(Clone, Debug)]
pub struct Proof(SparseMerkleProof<Sha256>);

impl Proof {
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(&self.0).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Proof> {
        borsh::from_slice(bytes).ok().map(Proof)
    }
}

/// Whether `proof` shows that `key` has `value` (`None`: no value) in the
/// state committed to by `root`.
pub fn verify(root: &Hash, key: &[u8], value: Option<&[u8]>, proof: &Proof) -> bool {
    proof
        .0
        .verify(RootHash(root.0), key_hash(key), value)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str)]) -> StateTree {
        let mut tree = StateTree::new();
        let changes: Vec<(Vec<u8>, Vec<u8>)> = entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        tree.apply(&changes);
        tree
    }

    #[test]
    fn the_root_depends_on_the_leaves_only() {
        let mut one_by_one = StateTree::new();
        for (key, value) in [("a", "1"), ("b", "2"), ("a", "3")] {
            one_by_one.apply(&[(key.as_bytes().to_vec(), value.as_bytes().to_vec())]);
        }
        assert_eq!(one_by_one.root(), tree(&[("b", "2"), ("a", "3")]).root());
        assert_ne!(one_by_one.root(), tree(&[("b", "2"), ("a", "1")]).root());
        assert_eq!(StateTree::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn proofs_verify_against_the_root_and_nothing_else() {
        let tree = tree(&[("alice", "10"), ("bob", "20"), ("carol", "30")]);
        let root = tree.root();
        let (value, proof) = tree.prove(b"bob").unwrap();
        assert_eq!(value.as_deref(), Some(&b"20"[..]));
        assert!(verify(&root, b"bob", Some(b"20"), &proof));
        assert!(!verify(&root, b"bob", Some(b"21"), &proof));
        assert!(!verify(&root, b"alice", Some(b"20"), &proof));
        let round_tripped = Proof::from_bytes(&proof.to_bytes()).unwrap();
        assert!(verify(&root, b"bob", Some(b"20"), &round_tripped));
        let (absent, proof) = tree.prove(b"dave").unwrap();
        assert_eq!(absent, None);
        assert!(verify(&root, b"dave", None, &proof));
    }
}
