//! What full nodes need from the nodes they follow: the genesis, and runs of
//! finalized blocks with the proofs that the validators finalized them
//! (`consensus::finality`). Any node serves them, so a full node can follow
//! another full node as well as a validator: it trusts the certificates,
//! never the node that relays them.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use stigmer_ledger::tx::hex;
use utoipa::{IntoParams, ToSchema};

use super::doc::Hex;
use super::{ApiQuery, ApiResult, Reads, bad_request, storage_error};

/// Most blocks one answer carries (before extending to a certified block).
pub const SYNC_BLOCKS_MAX: u64 = 64;
/// An answer stops growing past this many bytes of hex (at the next block
/// with its own certificate).
const SYNC_BYTES_TARGET: usize = 4 * 1024 * 1024;
/// How far past `max` an answer extends to end on a block with its own
/// finalization certificate.
const CERTIFIED_EXTENSION_MAX: u64 = 64;

/// The genesis this node started from, as `stigmer init` wrote it.
#[utoipa::path(
    get,
    path = "/api/v1/genesis",
    tag = "chain",
    responses((status = 200, description = "The genesis (JSON)", body = Object))
)]
pub(super) async fn genesis(State(finalized): State<Reads>) -> ApiResult<serde_json::Value> {
    let genesis = finalized.genesis().clone();
    serde_json::to_value(&genesis)
        .map(Json)
        .map_err(storage_error)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SyncQuery {
    /// The first height wanted (at least 1).
    #[param(minimum = 1)]
    from: u64,
    /// How many blocks at most (1 to 64; default 64).
    #[param(minimum = 1, maximum = 64)]
    max: Option<u64>,
}

/// Finalized blocks with their finality proofs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncBlocks {
    /// The height this node has finalized.
    pub height: u64,
    /// Consecutive blocks from `from`; the last has its own finalization
    /// certificate unless the node's newest block does not have one yet.
    pub blocks: Vec<SyncBlock>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncBlock {
    pub height: u64,
    /// The ledger block's canonical encoding.
    #[schema(value_type = Hex)]
    pub encoded: String,
    /// The encoded finality proof: consensus context, parent digest, and
    /// the finalization certificate if the block has its own.
    #[schema(value_type = Hex)]
    pub finality: String,
}

/// Finalized blocks from `from` on, with what proves each was finalized.
/// Full nodes fetch these to catch up and to follow the chain.
#[utoipa::path(
    get,
    path = "/api/v1/sync",
    tag = "chain",
    params(SyncQuery),
    responses(
        (status = 200, description = "Blocks and their proofs (none past the tip)", body = SyncBlocks),
        (status = 400, description = "A bad range", body = super::ErrorBody),
    )
)]
pub(super) async fn sync(
    State(finalized): State<Reads>,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> ApiResult<SyncBlocks> {
    if query.from == 0 {
        return Err(bad_request("from: heights start at 1"));
    }
    let max = query.max.unwrap_or(SYNC_BLOCKS_MAX);
    if !(1..=SYNC_BLOCKS_MAX).contains(&max) {
        return Err(bad_request(format!("max: between 1 and {SYNC_BLOCKS_MAX}")));
    }
    let height = finalized.read().height;
    let mut blocks = Vec::new();
    let mut bytes = 0;
    let mut next = query.from;
    let last_wanted = query.from.saturating_add(max - 1);
    while next <= height && next <= last_wanted.saturating_add(CERTIFIED_EXTENSION_MAX) {
        // From the store alone (redb reads are snapshots): no lock held.
        let (block, finality) = {
            let store = finalized.store();
            (
                store.block(next).map_err(storage_error)?,
                store.finality(next).map_err(storage_error)?,
            )
        };
        let (Some(block), Some(finality)) = (block, finality) else {
            // A ledger built without consensus proofs: nothing to serve.
            break;
        };
        let certified = crate::consensus::Finality::is_certified(&finality);
        let encoded = hex(&block.encode());
        bytes += encoded.len();
        blocks.push(SyncBlock {
            height: next,
            encoded,
            finality: hex(&finality),
        });
        next += 1;
        if (next > last_wanted || bytes >= SYNC_BYTES_TARGET) && certified {
            break;
        }
    }
    Ok(Json(SyncBlocks { height, blocks }))
}
