//! The genesis: what every member of a chain agrees on before block 1.
//! Written by `stigmer init`, read by `stigmer node`.

use serde::{Deserialize, Serialize};
use stigmer_ledger::Hash;
use stigmer_ledger::chain::Chain;
use stigmer_protocol::{AgentId, Operation};

use crate::NodeError;
use crate::json::{JsonError, OperationJson};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    /// Milliseconds since the Unix epoch; block 1 is not earlier.
    pub timestamp_ms: u64,
    /// The validators' consensus keys (ed25519, hex).
    pub validators: Vec<String>,
    /// DCs that exist from the start, each founded by its steward.
    #[serde(default)]
    pub dcs: Vec<GenesisDc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisDc {
    pub steward: String,
    /// A `create_dc` operation.
    pub dc: OperationJson,
}

impl Genesis {
    pub fn parse(text: &str) -> Result<Genesis, NodeError> {
        serde_json::from_str(text).map_err(|e| NodeError::Genesis(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The genesis hash: the parent of block 1. Over the canonical JSON
    /// (serde_json writes struct fields in declaration order).
    pub fn hash(&self) -> Hash {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let mut bytes = b"stigmer/genesis/v1\0".to_vec();
        bytes.extend_from_slice(&canonical);
        Hash::of(&bytes)
    }

    pub fn operations(&self) -> Result<Vec<(AgentId, Operation)>, NodeError> {
        self.dcs
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let context = |e: JsonError| NodeError::Genesis(format!("dcs[{index}].{e}"));
                let steward = AgentId::new(&entry.steward)
                    .map_err(|e| NodeError::Genesis(format!("dcs[{index}].steward: {e}")))?;
                let operation = entry.dc.to_operation().map_err(context)?;
                if !matches!(operation, Operation::CreateDc(_)) {
                    return Err(NodeError::Genesis(format!(
                        "dcs[{index}].dc: only create_dc operations belong in a genesis"
                    )));
                }
                Ok((steward, operation))
            })
            .collect()
    }

    /// The chain at height 0.
    pub fn chain(&self) -> Result<Chain, NodeError> {
        let operations = self.operations()?;
        Chain::from_genesis(&self.chain_id, self.hash(), self.timestamp_ms, &operations)
            .map_err(|e| NodeError::Genesis(e.to_string()))
    }

    /// The chain at height 0, and what the genesis did (its log entries,
    /// for the store).
    pub fn chain_applied(&self) -> Result<(Chain, stigmer_ledger::chain::Applied), NodeError> {
        let operations = self.operations()?;
        Chain::from_genesis_applied(&self.chain_id, self.hash(), self.timestamp_ms, &operations)
            .map_err(|e| NodeError::Genesis(e.to_string()))
    }
}
