//! TEMPORARY commitment (hash of all sorted leaves, no proofs); replaced by
//! an authenticated tree in the next commit.

use std::collections::BTreeMap;

use crate::Hash;

#[derive(Clone, Debug, Default)]
pub struct StateTree {
    leaves: BTreeMap<Vec<u8>, Hash>,
}

impl StateTree {
    pub fn new() -> StateTree {
        StateTree::default()
    }

    pub fn apply(&mut self, changes: &[(Vec<u8>, Vec<u8>)]) {
        for (key, value) in changes {
            self.leaves.insert(key.clone(), Hash::of(value));
        }
    }

    pub fn root(&self) -> Hash {
        let mut hasher = blake3::Hasher::new();
        for (key, value) in &self.leaves {
            hasher.update(&(key.len() as u64).to_le_bytes());
            hasher.update(key);
            hasher.update(&value.0);
        }
        Hash(*hasher.finalize().as_bytes())
    }
}
