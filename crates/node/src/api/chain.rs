//! The chain as a whole: where it is (its status), its blocks, and a
//! server-sent event after each finalized block, so that a page knows when
//! to read again.

use axum::Json;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::store::TxLocation;
use stigmer_ledger::tx::hex;
use utoipa::{IntoParams, ToSchema};

use super::doc::{HashHex, Hex};
use super::{
    ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, Reads, bad_request, not_found_error,
    storage_error,
};
use crate::json::TransactionJson;
use crate::ledger::{Shared, lock};
use crate::serve::EventStreams;

/// Most blocks one listing returns.
pub const BLOCKS_PER_PAGE_MAX: u64 = 100;

/// Where the chain is.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeStatus {
    pub chain_id: String,
    /// The height of the last finalized block; 0 before the first.
    pub height: u64,
    /// The hash of the last finalized block (the genesis hash at height 0).
    #[schema(value_type = HashHex)]
    pub tip: String,
    #[schema(value_type = HashHex)]
    pub state_root: String,
    /// The last finalized block's time, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The validators' consensus keys (ed25519, hex).
    pub validators: Vec<String>,
    /// `validator`, or `full_node`: a node that keeps and verifies the
    /// ledger and hands submissions to the validators.
    pub role: NodeRole,
    /// Transactions finalized so far.
    pub transactions: u64,
    /// Transactions in this node's pool.
    pub pending_transactions: u32,
    /// How many DCs exist.
    pub dcs: usize,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    Validator,
    FullNode,
}

/// The node's view of the finalized chain.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "chain",
    responses((status = 200, description = "Where the chain is", body = NodeStatus))
)]
pub(super) async fn status(
    State(ledger): State<Shared>,
    State(finalized): State<Reads>,
) -> ApiResult<NodeStatus> {
    // O(1) under the node's lock, released before the chain is read (lock
    // order: see `ledger`).
    let (role, pending_transactions) = {
        let ledger = lock(&ledger);
        let role = if ledger.upstreams().is_empty() {
            NodeRole::Validator
        } else {
            NodeRole::FullNode
        };
        (role, ledger.mempool().len())
    };
    let chain = finalized.read();
    Ok(Json(NodeStatus {
        chain_id: chain.chain_id.clone(),
        height: chain.height,
        tip: chain.tip.to_string(),
        state_root: chain.state_root().to_string(),
        timestamp_ms: chain.tip_timestamp_ms,
        validators: finalized.genesis().validators.clone(),
        role,
        transactions: chain.n_transactions,
        pending_transactions,
        dcs: chain.state.n_dcs(),
    }))
}

/// A finalized block's header.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockHeader {
    pub height: u64,
    #[schema(value_type = HashHex)]
    pub hash: String,
    #[schema(value_type = HashHex)]
    pub parent: String,
    /// Milliseconds since the Unix epoch, chosen by the proposer.
    pub timestamp_ms: u64,
    #[schema(value_type = HashHex)]
    pub tx_root: String,
    #[schema(value_type = HashHex)]
    pub state_root: String,
    pub n_transactions: usize,
}

fn header_view(block: &Block) -> BlockHeader {
    BlockHeader {
        height: block.header.height,
        hash: block.hash().to_string(),
        parent: block.header.parent.to_string(),
        timestamp_ms: block.header.timestamp_ms,
        tx_root: block.header.tx_root.to_string(),
        state_root: block.header.state_root.to_string(),
        n_transactions: block.txs.len(),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BlocksQuery {
    /// The highest block to list; the tip if absent.
    before: Option<u64>,
    /// How many blocks to list: 20 if absent, at most 100 (larger values
    /// are lowered to it).
    #[param(minimum = 1)]
    limit: Option<u64>,
}

/// A page of block headers, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockPage {
    /// The finalized height.
    pub height: u64,
    pub blocks: Vec<BlockHeader>,
}

/// Finalized block headers, newest first, from `before` down.
#[utoipa::path(
    get,
    path = "/api/v1/blocks",
    tag = "chain",
    params(BlocksQuery),
    responses(
        (status = 200, description = "Headers, newest first", body = BlockPage),
        (status = 400, description = "Malformed query", body = ErrorBody),
    )
)]
pub(super) async fn blocks(
    State(finalized): State<Reads>,
    ApiQuery(query): ApiQuery<BlocksQuery>,
) -> ApiResult<BlockPage> {
    // Blocks are read from the store (snapshots), with no lock held.
    let tip = finalized.read().height;
    let top = query.before.map_or(tip, |b| b.min(tip));
    let limit = match query.limit {
        None => 20,
        Some(0) => return Err(bad_request("limit: at least 1")),
        Some(limit) => limit.min(BLOCKS_PER_PAGE_MAX),
    };
    let mut headers = Vec::new();
    let mut height = top;
    while height >= 1 && (headers.len() as u64) < limit {
        if let Some(block) = finalized.store().block(height).map_err(storage_error)? {
            headers.push(header_view(&block));
        }
        height -= 1;
    }
    Ok(Json(BlockPage {
        height: tip,
        blocks: headers,
    }))
}

/// A finalized block: its header and its transactions with their outcomes.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockDetail {
    #[serde(flatten)]
    pub header: BlockHeader,
    /// True for height 0 only: the genesis, which is not a block of
    /// transactions. Its `hash` is the genesis hash (the parent of block 1),
    /// its `state_root` the state after the genesis's operations (see
    /// `/api/v1/genesis`), its `parent` and `tx_root` are all zeros, and it
    /// has no transactions.
    pub genesis: bool,
    pub transactions: Vec<BlockTransaction>,
}

/// A transaction of a block, with its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockTransaction {
    #[schema(value_type = HashHex)]
    pub hash: String,
    pub ok: bool,
    #[schema(required = true)]
    pub error: Option<String>,
    pub transaction: TransactionJson,
    /// The canonical bytes, so that anyone can recompute the hashes and
    /// roots (the web UI does, in the browser).
    #[schema(value_type = Hex)]
    pub encoded: String,
}

/// A finalized block with its transactions and their outcomes. Height 0 is
/// the genesis: its hash, time and state root, and no transactions (what it
/// created is in `/api/v1/genesis`).
#[utoipa::path(
    get,
    path = "/api/v1/blocks/{height}",
    tag = "chain",
    params(("height" = u64, Path, description = "The block's height; 0 for the genesis")),
    responses(
        (status = 200, description = "The block, or the genesis at 0", body = BlockDetail),
        (status = 400, description = "Not a height", body = ErrorBody),
        (status = 404, description = "Not finalized yet", body = ErrorBody),
    )
)]
pub(super) async fn block(
    State(finalized): State<Reads>,
    ApiPath(height): ApiPath<u64>,
) -> ApiResult<BlockDetail> {
    if height == 0 {
        let genesis = finalized.genesis();
        return Ok(Json(BlockDetail {
            header: BlockHeader {
                height: 0,
                hash: genesis.hash().to_string(),
                parent: Hash::ZERO.to_string(),
                timestamp_ms: genesis.timestamp_ms,
                tx_root: Hash::ZERO.to_string(),
                state_root: finalized.genesis_state_root().to_string(),
                n_transactions: 0,
            },
            genesis: true,
            transactions: Vec::new(),
        }));
    }
    let store = finalized.store();
    let block = store
        .block(height)
        .map_err(storage_error)?
        .ok_or_else(|| not_found_error(format!("no block {height} yet")))?;
    let transactions = (0u32..)
        .zip(&block.txs)
        .map(|(index, tx)| {
            let outcome = store.outcome(TxLocation { height, index }).ok().flatten();
            BlockTransaction {
                hash: tx.hash().to_string(),
                ok: matches!(outcome, Some(Ok(()))),
                error: outcome.and_then(|o| o.err()),
                transaction: TransactionJson::from_signed(tx),
                encoded: hex(&tx.encode()),
            }
        })
        .collect();
    Ok(Json(BlockDetail {
        header: header_view(&block),
        genesis: false,
        transactions,
    }))
}

/// The data of a `block` event: where the chain is after a finalized block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockEvent {
    pub height: u64,
    #[schema(value_type = HashHex)]
    pub tip: String,
    #[schema(value_type = HashHex)]
    pub state_root: String,
    pub timestamp_ms: u64,
    /// Transactions finalized so far.
    pub transactions: u64,
}

/// Server-sent events: `block` after every finalized block, with the new
/// height and the count of finalized transactions, so a page knows when to
/// read again.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "chain",
    responses((
        status = 503, description = "Too many streams open on this node: try again later", body = ErrorBody,
    ), (
        status = 200,
        description = "A stream of server-sent events, never ending. Each is named `block` \
            and its data is a `BlockEvent` (`#/components/schemas/BlockEvent`) in JSON. The \
            first describes where the chain is now; one follows every finalized block.",
        content_type = "text/event-stream",
        body = String,
    ))
)]
pub(super) async fn events(
    State(finalized): State<Reads>,
    Extension(streams): Extension<EventStreams>,
) -> Result<
    axum::response::sse::Sse<
        impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    // Held by the stream: the slot frees when the client goes away.
    let slot = streams.permits.clone().try_acquire_owned().map_err(|_| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this node serves at most {} event streams at once; try again later",
                streams.max
            ),
        )
    })?;
    let heights = finalized.watch_height();
    let stream = futures::stream::unfold(
        (heights, finalized, true, slot),
        |(mut heights, finalized, first, slot)| async move {
            // The first event describes where the chain is now.
            if !first {
                heights.changed().await.ok()?;
            }
            heights.borrow_and_update();
            let data = {
                let chain = finalized.read();
                BlockEvent {
                    height: chain.height,
                    tip: chain.tip.to_string(),
                    state_root: chain.state_root().to_string(),
                    timestamp_ms: chain.tip_timestamp_ms,
                    transactions: chain.n_transactions,
                }
            };
            let event = SseEvent::default()
                .event("block")
                .data(serde_json::to_string(&data).unwrap_or_default());
            Some((Ok(event), (heights, finalized, false, slot)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(streams.keep_alive)))
}
