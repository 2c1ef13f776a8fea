//! The HTTP API, JSON under `/api/v1`. ALPHA.
//!
//! Reads show the finalized chain only. Errors are `{"error": "..."}` with a
//! 4xx status that says whose fault it was; malformed input never reaches a
//! 5xx.
//!
//! Every route is registered together with its OpenAPI description
//! (`utoipa_axum::routes!`), and every answer is a typed struct whose schema
//! is derived from it, so the document served at `/api/v1/openapi.json`
//! ([`openapi`]) cannot drift from what the handlers do.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::store::TxLocation;
use stigmer_ledger::tx::{SignedTransaction, hex};
use stigmer_protocol::state::{Contribution, Dc, Event, Member, MemberStatus};
use stigmer_protocol::{AgentId, ContributionId, DcId, Fixed};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::NodeError;
use crate::json::{Decimal, ParamsJson, TransactionJson, TypeJson};
use crate::ledger::NodeLedger;

pub mod doc;
pub mod sync;
#[cfg(test)]
mod tests;

use doc::{AgentIdText, HashHex, Hex, SignedDecimal};

pub type Shared = Arc<Mutex<NodeLedger>>;

/// How long `?wait=true` waits for finality at most.
pub const WAIT_FINALIZED_MS_MAX: u64 = 30_000;
/// Most blocks one listing returns.
pub const BLOCKS_PER_PAGE_MAX: u64 = 100;

/// The `/api/v1` routes, each with its OpenAPI operation.
fn documented_routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::with_openapi(doc::base())
        .routes(routes!(status))
        .routes(routes!(submit))
        .routes(routes!(transaction))
        .routes(routes!(blocks))
        .routes(routes!(block))
        .routes(routes!(dcs))
        .routes(routes!(dc))
        .routes(routes!(contribution))
        .routes(routes!(account_proof))
        .routes(routes!(agent))
        .routes(routes!(nonce))
        .routes(routes!(dc_history))
        .routes(routes!(events))
        .routes(routes!(openapi_json))
        .routes(routes!(sync::genesis))
        .routes(routes!(sync::sync))
}

pub fn router(ledger: Shared) -> Router {
    let (api, _) = documented_routes().split_for_parts();
    api.merge(crate::ui::router())
        .fallback(not_found)
        .with_state(ledger)
}

/// The OpenAPI 3.1 document of `/api/v1`, as served at
/// `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut document = documented_routes().into_openapi();
    doc::finish(&mut document);
    document
}

/// `{"error": "..."}`: what went wrong, for the person who asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// An error answer: a status and a message for the person who asked.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> ApiError {
        use stigmer_ledger::LedgerError as L;
        let status = match &error {
            // Full is temporary: the client should try again shortly.
            NodeError::Mempool(crate::mempool::MempoolError::Full) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            NodeError::Ledger(L::NonceReused { .. }) | NodeError::Mempool(_) => {
                StatusCode::CONFLICT
            }
            NodeError::Ledger(L::Storage(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(status, error.to_string())
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

fn not_found_error(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, message.into())
}

async fn not_found() -> ApiError {
    not_found_error("no such endpoint; see /api/v1/status")
}

/// `Path`, refusing malformed parameters with a JSON 400 like every other
/// error.
struct ApiPath<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(bad_request(rejection.body_text())),
        }
    }
}

/// `Query`, refusing malformed parameters with a JSON 400.
struct ApiQuery<T>(T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(bad_request(rejection.body_text())),
        }
    }
}

pub fn lock(ledger: &Shared) -> MutexGuard<'_, NodeLedger> {
    // A panic while holding the lock would be a bug in the node; the data
    // is still consistent (writes happen in redb transactions), so go on.
    ledger
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn storage_error(error: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
}

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
async fn status(State(ledger): State<Shared>) -> ApiResult<NodeStatus> {
    let ledger = lock(&ledger);
    let chain = ledger.chain();
    Ok(Json(NodeStatus {
        chain_id: chain.chain_id.clone(),
        height: chain.height,
        tip: chain.tip.to_string(),
        state_root: chain.state_root().to_string(),
        timestamp_ms: chain.tip_timestamp_ms,
        validators: ledger.genesis().validators.clone(),
        role: if ledger.upstreams().is_empty() {
            NodeRole::Validator
        } else {
            NodeRole::FullNode
        },
        transactions: chain.n_transactions,
        pending_transactions: ledger.mempool().len(),
        dcs: chain.state.dcs().count(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SubmitQuery {
    /// Wait until the transaction is finalized, at most 30 seconds.
    #[serde(default)]
    wait: bool,
}

/// The body of a submission: the JSON form of a signed transaction, or its
/// canonical bytes in hex.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
enum Submission {
    /// The canonical binary encoding of a signed transaction.
    Encoded {
        #[schema(value_type = Hex)]
        encoded: String,
    },
    Json(Box<TransactionJson>),
}

/// Submit a signed transaction. It is checked (signature, chain id, nonce)
/// and put in the pool; with `?wait=true` the answer comes once it is
/// finalized, or after 30 seconds.
#[utoipa::path(
    post,
    path = "/api/v1/transactions",
    tag = "transactions",
    params(SubmitQuery),
    request_body(content = Submission, description = "A signed transaction"),
    responses(
        (status = 200, description = "Finalized (with `?wait=true`)", body = FinalizedTransaction),
        (status = 202, description = "Accepted into the pool, not finalized yet", body = PendingTransaction),
        (status = 400, description = "Malformed, badly signed, or for another chain", body = ErrorBody),
        (status = 409, description = "The nonce is used already, or the pool refused it", body = ErrorBody),
        (status = 503, description = "The pool is full: try again shortly", body = ErrorBody),
    )
)]
async fn submit(
    State(ledger): State<Shared>,
    ApiQuery(query): ApiQuery<SubmitQuery>,
    body: Result<Json<Submission>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(submission) = body.map_err(|e| bad_request(e.body_text()))?;
    let tx = match submission {
        Submission::Json(tx) => tx.to_signed().map_err(|e| bad_request(e.to_string()))?,
        Submission::Encoded { encoded } => {
            let bytes = stigmer_ledger::tx::unhex_vec(&encoded)
                .ok_or_else(|| bad_request("encoded: expected hex"))?;
            SignedTransaction::decode(&bytes).map_err(|e| bad_request(e.to_string()))?
        }
    };
    let tx = tx.verified().map_err(|e| bad_request(e.to_string()))?;
    let upstreams = lock(&ledger).upstreams().to_vec();
    let (hash, mut heights) = if upstreams.is_empty() {
        let mut ledger = lock(&ledger);
        let hash = ledger.submit(tx)?;
        (hash, ledger.watch_height())
    } else {
        // A full node: check what it can, then hand it to a validator.
        lock(&ledger).check(&tx)?;
        forward(upstreams, hex(tx.encoded())).await?;
        let mut ledger = lock(&ledger);
        let hash = tx.hash();
        // Shown as pending here until it comes back finalized; a refusal
        // only means this node already knew it.
        let _ = ledger.accept(tx);
        (hash, ledger.watch_height())
    };
    if query.wait {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(WAIT_FINALIZED_MS_MAX);
        loop {
            if lock(&ledger)
                .store()
                .tx_location(&hash)
                .map_err(storage_error)?
                .is_some()
            {
                break;
            }
            match tokio::time::timeout_at(deadline, heights.changed()).await {
                Ok(Ok(())) => continue,
                _ => break,
            }
        }
    }
    let answer = transaction_view(&lock(&ledger), &hash)?;
    let status = if matches!(answer, TransactionStatus::Finalized(_)) {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(answer)).into_response())
}

/// On a full node: hands a submission (hex) to the first validator that
/// takes it, and relays a refusal as the validator worded it.
async fn forward(upstreams: Vec<String>, encoded: String) -> Result<(), ApiError> {
    let outcome = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let mut unreachable = Vec::new();
        for upstream in &upstreams {
            let url = format!("{upstream}/api/v1/transactions");
            let body = serde_json::json!({ "encoded": encoded });
            let mut response = match agent.post(&url).send_json(&body) {
                Ok(response) => response,
                Err(error) => {
                    unreachable.push(format!("{upstream}: {error}"));
                    continue;
                }
            };
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let answer: serde_json::Value = response.body_mut().read_json().unwrap_or_default();
            let message = answer["error"].as_str().unwrap_or("refused").to_string();
            if status >= 500 {
                // Busy or failing: another validator may take it.
                unreachable.push(format!("{upstream}: {message}"));
                continue;
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return Err(ApiError(status, message));
        }
        Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "this full node could not hand the transaction to a validator ({}); try again",
                unreachable.join("; ")
            ),
        ))
    })
    .await;
    outcome.unwrap_or_else(|e| Err(storage_error(e)))
}

/// A transaction, finalized or not, told apart by `status`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "status", mapping(
    ("finalized" = "#/components/schemas/FinalizedTransaction"),
    ("pending" = "#/components/schemas/PendingTransaction"),
    ("unknown" = "#/components/schemas/PendingTransaction"),
)))]
pub enum TransactionStatus {
    Finalized(Box<FinalizedTransaction>),
    Pending(PendingTransaction),
}

/// A transaction in a finalized block, with its outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct FinalizedTransaction {
    #[schema(value_type = HashHex)]
    pub hash: String,
    pub status: FinalizedState,
    pub height: u64,
    /// Its position in the block.
    pub index: u32,
    /// Whether the operation was applied; a refused one changed nothing.
    pub ok: bool,
    /// Why it was refused, if it was.
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(required = true)]
    pub transaction: Option<TransactionJson>,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FinalizedState {
    Finalized,
}

/// A transaction not in a finalized block.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingTransaction {
    #[schema(value_type = HashHex)]
    pub hash: String,
    pub status: PendingState,
}

/// `pending`: in this node's pool; `unknown`: neither in the pool nor in a
/// block (it may have been dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    Pending,
    Unknown,
}

fn transaction_view(ledger: &NodeLedger, hash: &Hash) -> Result<TransactionStatus, ApiError> {
    let location = ledger.store().tx_location(hash).map_err(storage_error)?;
    let Some(location) = location else {
        let status = if ledger.mempool().contains(hash) {
            PendingState::Pending
        } else {
            PendingState::Unknown
        };
        return Ok(TransactionStatus::Pending(PendingTransaction {
            hash: hash.to_string(),
            status,
        }));
    };
    let block = ledger
        .store()
        .block(location.height)
        .map_err(storage_error)?
        .ok_or_else(|| storage_error("an indexed block is missing"))?;
    let outcome = ledger.store().outcome(location).map_err(storage_error)?;
    let tx = block.txs.get(location.index as usize);
    Ok(TransactionStatus::Finalized(Box::new(
        FinalizedTransaction {
            hash: hash.to_string(),
            status: FinalizedState::Finalized,
            height: location.height,
            index: location.index,
            ok: matches!(outcome, Some(Ok(()))),
            error: outcome.and_then(|o| o.err()),
            transaction: tx.map(TransactionJson::from_signed),
        },
    )))
}

/// A transaction by hash: finalized (with its outcome) or still pending.
#[utoipa::path(
    get,
    path = "/api/v1/transactions/{hash}",
    tag = "transactions",
    params(("hash" = HashHex, Path, description = "The transaction's hash")),
    responses(
        (status = 200, description = "Finalized or pending", body = TransactionStatus),
        (status = 400, description = "Not a hash", body = ErrorBody),
        (status = 404, description = "Neither finalized nor in the pool", body = ErrorBody),
    )
)]
async fn transaction(
    State(ledger): State<Shared>,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<TransactionStatus> {
    let hash =
        Hash::parse(&hash).ok_or_else(|| bad_request("a transaction hash is 64 hex digits"))?;
    let answer = transaction_view(&lock(&ledger), &hash)?;
    if let TransactionStatus::Pending(PendingTransaction {
        status: PendingState::Unknown,
        ..
    }) = answer
    {
        return Err(not_found_error(format!("no transaction {hash}")));
    }
    Ok(Json(answer))
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
struct BlocksQuery {
    /// The highest block to list; the tip if absent.
    before: Option<u64>,
    /// How many blocks to list: 20 if absent, at most 100.
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
async fn blocks(
    State(ledger): State<Shared>,
    ApiQuery(query): ApiQuery<BlocksQuery>,
) -> ApiResult<BlockPage> {
    let ledger = lock(&ledger);
    let tip = ledger.chain().height;
    let top = query.before.map_or(tip, |b| b.min(tip));
    let limit = query.limit.unwrap_or(20).clamp(1, BLOCKS_PER_PAGE_MAX);
    let mut headers = Vec::new();
    let mut height = top;
    while height >= 1 && (headers.len() as u64) < limit {
        if let Some(block) = ledger.store().block(height).map_err(storage_error)? {
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

/// A finalized block with its transactions and their outcomes.
#[utoipa::path(
    get,
    path = "/api/v1/blocks/{height}",
    tag = "chain",
    params(("height" = u64, Path, description = "The block's height, from 1")),
    responses(
        (status = 200, description = "The block", body = BlockDetail),
        (status = 400, description = "Not a height", body = ErrorBody),
        (status = 404, description = "Not finalized yet", body = ErrorBody),
    )
)]
async fn block(
    State(ledger): State<Shared>,
    ApiPath(height): ApiPath<u64>,
) -> ApiResult<BlockDetail> {
    let ledger = lock(&ledger);
    let block = ledger
        .store()
        .block(height)
        .map_err(storage_error)?
        .ok_or_else(|| not_found_error(format!("no block {height} yet")))?;
    let transactions = (0u32..)
        .zip(&block.txs)
        .map(|(index, tx)| {
            let outcome = ledger
                .store()
                .outcome(TxLocation { height, index })
                .ok()
                .flatten();
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
        transactions,
    }))
}

fn parse_dc(text: &str) -> Result<DcId, ApiError> {
    DcId::new(text).map_err(|e| bad_request(e.to_string()))
}

fn find_dc<'l>(ledger: &'l NodeLedger, id: &DcId) -> Result<&'l Dc, ApiError> {
    ledger
        .chain()
        .state
        .dc(id)
        .ok_or_else(|| not_found_error(format!("there is no DC {id:?}")))
}

/// A DC in a few figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcSummary {
    pub id: String,
    pub name: String,
    pub token_symbol: String,
    /// The rule set: `backfeed` or `backfeed-classic`.
    #[schema(pattern = "^(backfeed|backfeed-classic)$")]
    pub rules: String,
    #[schema(value_type = AgentIdText)]
    pub steward: String,
    /// Active members.
    pub n_members: usize,
    pub n_contributions: usize,
    /// The sum of active members' reputation.
    pub total_reputation: Decimal,
    /// Tokens held plus the treasury.
    pub token_supply: Decimal,
    pub treasury: Decimal,
    /// How concentrated reputation is: the fewest active members who
    /// together hold more than half of it, and so can decide alone which
    /// work is valued (1 or 2 deserves a warning). `null` when the DC holds
    /// no reputation.
    #[schema(minimum = 1, required = true)]
    pub majority_holders: Option<usize>,
}

/// The fewest active members whose reputation together is more than half of
/// the DC's total. Sorts the members once: O(m log m).
fn majority_holders(dc: &Dc) -> Option<usize> {
    let total = dc.total_reputation;
    if total.is_zero() {
        return None;
    }
    let mut weights: Vec<Fixed> = dc
        .members()
        .iter()
        .map(|m| m.weight())
        .filter(|w| !w.is_zero())
        .collect();
    weights.sort_unstable_by(|a, b| b.cmp(a));
    let mut held = Fixed::ZERO;
    for (index, weight) in weights.iter().enumerate() {
        held = held.checked_add(*weight)?;
        // More than half: held > total - held (no doubling, no overflow).
        if total.checked_sub(held).is_none_or(|rest| held > rest) {
            return Some(index + 1);
        }
    }
    // Only if the total disagreed with the members' sum: all of them.
    (!weights.is_empty()).then_some(weights.len())
}

fn dc_summary(dc: &Dc) -> DcSummary {
    DcSummary {
        id: dc.id.to_string(),
        name: dc.name.clone(),
        token_symbol: dc.token_symbol.clone(),
        rules: dc.params.rules.name().to_string(),
        steward: dc.steward.to_string(),
        n_members: dc.members().iter().filter(|m| m.is_active()).count(),
        n_contributions: dc.contributions().len(),
        total_reputation: Decimal(dc.total_reputation),
        token_supply: Decimal(dc.token_supply),
        treasury: Decimal(dc.treasury),
        majority_holders: majority_holders(dc),
    }
}

/// Every DC.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcList {
    pub dcs: Vec<DcSummary>,
}

/// Every DC, in a few figures each.
#[utoipa::path(
    get,
    path = "/api/v1/dcs",
    tag = "dcs",
    responses((status = 200, description = "Every DC", body = DcList))
)]
async fn dcs(State(ledger): State<Shared>) -> ApiResult<DcList> {
    let ledger = lock(&ledger);
    let dcs = ledger.chain().state.dcs().map(dc_summary).collect();
    Ok(Json(DcList { dcs }))
}

/// A member's standing in a DC: `member` (active), `left`, or
/// `token holder` (holds tokens without being a member).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum MemberState {
    #[serde(rename = "member")]
    Member,
    #[serde(rename = "left")]
    Left,
    #[serde(rename = "token holder")]
    TokenHolder,
}

fn member_state(status: MemberStatus) -> MemberState {
    match status {
        MemberStatus::Active => MemberState::Member,
        MemberStatus::Left => MemberState::Left,
        MemberStatus::Holder => MemberState::TokenHolder,
    }
}

/// An account in a DC.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberSummary {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    pub status: MemberState,
    pub reputation: Decimal,
    pub tokens: Decimal,
    /// The member who referred this one, if any.
    #[schema(value_type = Option<AgentIdText>, required = true)]
    pub referrer: Option<String>,
}

fn member_view(dc: &Dc, member: &Member) -> MemberSummary {
    MemberSummary {
        agent: member.agent.to_string(),
        status: member_state(member.status),
        reputation: Decimal(member.reputation),
        tokens: Decimal(member.tokens),
        referrer: member
            .referrer
            .and_then(|r| dc.member_at(r))
            .map(|r| r.agent.to_string()),
    }
}

/// A contribution in a few figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionSummary {
    pub id: String,
    #[schema(value_type = Option<AgentIdText>, required = true)]
    pub contributor: Option<String>,
    /// Its contribution type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether its type can only be thanked, never evaluated.
    pub thanks_only: bool,
    pub title: String,
    /// Current (not superseded) evaluations.
    pub n_evaluations: usize,
    /// The weight of the current evaluators.
    pub engaged_reputation: Decimal,
    pub score_max: Decimal,
    pub tokens_issued: Decimal,
    pub reputation_issued: Decimal,
    pub n_thanks: usize,
}

fn contribution_summary(dc: &Dc, contribution: &Contribution) -> ContributionSummary {
    let current: Vec<&stigmer_protocol::Evaluation> =
        contribution.current_evaluations().map(|(_, e)| e).collect();
    let engaged = current
        .iter()
        .filter_map(|e| dc.member_at(e.evaluator))
        .fold(Fixed::ZERO, |sum, m| {
            sum.checked_add(m.weight()).unwrap_or(sum)
        });
    ContributionSummary {
        id: contribution.id.to_string(),
        contributor: dc
            .member_at(contribution.contributor)
            .map(|m| m.agent.to_string()),
        kind: contribution.kind.to_string(),
        thanks_only: dc
            .types
            .get(&contribution.kind)
            .is_some_and(|t| t.thanks_only),
        title: contribution.title.clone(),
        n_evaluations: current.len(),
        engaged_reputation: Decimal(engaged),
        score_max: Decimal(contribution.score_max),
        tokens_issued: Decimal(contribution.tokens_issued),
        reputation_issued: Decimal(contribution.reputation_issued),
        n_thanks: contribution.thanks.len(),
    }
}

/// A DC: its figures, parameters, contribution types, members and
/// contributions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcDetail {
    #[serde(flatten)]
    pub summary: DcSummary,
    pub params: ParamsJson,
    /// Its contribution types, by name.
    pub types: BTreeMap<String, TypeJson>,
    /// Every account, members who left and token holders included.
    pub members: Vec<MemberSummary>,
    pub contributions: Vec<ContributionSummary>,
}

/// A DC with its members and contributions.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}",
    tag = "dcs",
    params(("dc" = String, Path, description = "The DC's id")),
    responses(
        (status = 200, description = "The DC", body = DcDetail),
        (status = 400, description = "Not a valid DC id", body = ErrorBody),
        (status = 404, description = "No such DC", body = ErrorBody),
    )
)]
async fn dc(State(ledger): State<Shared>, ApiPath(id): ApiPath<String>) -> ApiResult<DcDetail> {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&id)?)?;
    Ok(Json(DcDetail {
        summary: dc_summary(dc),
        params: ParamsJson::from(&dc.params),
        types: dc
            .types
            .iter()
            .map(|(name, kind)| (name.to_string(), TypeJson::from(kind)))
            .collect(),
        members: dc.members().iter().map(|m| member_view(dc, m)).collect(),
        contributions: dc
            .contributions()
            .iter()
            .map(|c| contribution_summary(dc, c))
            .collect(),
    }))
}

/// A contribution with every evaluation and thanks it received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionDetail {
    #[serde(flatten)]
    pub summary: ContributionSummary,
    /// Every evaluation, superseded ones included, in order.
    pub evaluations: Vec<EvaluationRecord>,
    pub thanks: Vec<ThanksRecord>,
}

/// An evaluation and the figures it was weighed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationRecord {
    #[schema(value_type = Option<AgentIdText>, required = true)]
    pub evaluator: Option<String>,
    pub value: Decimal,
    /// Replaced by a later evaluation of the same evaluator.
    pub superseded: bool,
    /// The transaction that cast it.
    #[schema(required = true)]
    pub transaction: Option<TransactionOrigin>,
    pub figures: EvaluationFigures,
}

/// The figures of `docs/PROTOCOL.md` at the time of an evaluation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationFigures {
    /// `R_u`: the evaluator's reputation.
    pub evaluator_reputation: Decimal,
    /// `E`: reputation of all current evaluators, the new one included.
    pub engaged_reputation: Decimal,
    /// `Q`: reputation of current evaluators of the same value.
    pub agreeing_reputation: Decimal,
    /// `T`: reputation of all active members.
    pub total_reputation: Decimal,
    /// `P`: reputation of current evaluators of value 1.
    pub upvoted_reputation: Decimal,
    /// `M_c` (`backfeed` rules): the reputation-weighted median.
    pub median: Decimal,
    pub score_max_before: Decimal,
    pub score_max_after: Decimal,
    /// Whether it was the contribution's first evaluation.
    pub first: bool,
}

/// A thanks a contribution received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThanksRecord {
    #[schema(value_type = Option<AgentIdText>, required = true)]
    pub from: Option<String>,
}

/// A contribution with its evaluations (and the figures each was weighed
/// with) and thanks.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/contributions/{id}",
    tag = "dcs",
    params(
        ("dc" = String, Path, description = "The DC's id"),
        ("id" = String, Path, description = "The contribution's id"),
    ),
    responses(
        (status = 200, description = "The contribution", body = ContributionDetail),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such DC or contribution", body = ErrorBody),
    )
)]
async fn contribution(
    State(ledger): State<Shared>,
    ApiPath((dc_id, id)): ApiPath<(String, String)>,
) -> ApiResult<ContributionDetail> {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&dc_id)?)?;
    let id = ContributionId::new(&id).map_err(|e| bad_request(e.to_string()))?;
    let contribution = dc
        .contribution(&id)
        .ok_or_else(|| not_found_error(format!("DC {dc_id:?} has no contribution {id:?}")))?;
    let evaluations = contribution
        .evaluations
        .iter()
        .map(|evaluation| {
            let figures = &evaluation.snapshot;
            EvaluationRecord {
                evaluator: dc
                    .member_at(evaluation.evaluator)
                    .map(|m| m.agent.to_string()),
                value: Decimal(evaluation.value),
                superseded: evaluation.superseded,
                transaction: origin_view(&ledger, evaluation.op),
                figures: EvaluationFigures {
                    evaluator_reputation: Decimal(figures.evaluator_reputation),
                    engaged_reputation: Decimal(figures.engaged_reputation),
                    agreeing_reputation: Decimal(figures.agreeing_reputation),
                    total_reputation: Decimal(figures.total_reputation),
                    upvoted_reputation: Decimal(figures.upvoted_reputation),
                    median: Decimal(figures.median),
                    score_max_before: Decimal(figures.score_max_before),
                    score_max_after: Decimal(figures.score_max_after),
                    first: figures.first,
                },
            }
        })
        .collect();
    let thanks = contribution
        .thanks
        .iter()
        .map(|t| ThanksRecord {
            from: dc.member_at(t.from).map(|m| m.agent.to_string()),
        })
        .collect();
    Ok(Json(ContributionDetail {
        summary: contribution_summary(dc, contribution),
        evaluations,
        thanks,
    }))
}

/// The transaction behind a change: its place in a block, or the genesis.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum TransactionOrigin {
    /// The transaction at `index` in block `height`.
    Block {
        height: u64,
        index: u32,
        #[schema(value_type = Option<HashHex>, required = true)]
        hash: Option<String>,
    },
    /// An operation of the genesis (`height` 0, `genesis` true).
    Genesis {
        #[schema(maximum = 0)]
        height: u64,
        genesis: bool,
    },
}

/// The transaction behind a protocol operation, if it came from a block.
fn origin_view(ledger: &NodeLedger, op: u64) -> Option<TransactionOrigin> {
    match ledger.chain().origin(op) {
        Some(origin) if origin.height > 0 => {
            let hash = ledger
                .store()
                .block(origin.height)
                .ok()
                .flatten()
                .and_then(|b| {
                    b.txs
                        .get(origin.index as usize)
                        .map(|tx| tx.hash().to_string())
                });
            Some(TransactionOrigin::Block {
                height: origin.height,
                index: origin.index,
                hash,
            })
        }
        Some(_) => Some(TransactionOrigin::Genesis {
            height: 0,
            genesis: true,
        }),
        None => None,
    }
}

/// An agent: its accounts in every DC and its action log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDetail {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    /// The next nonce after its finalized transactions.
    pub next_nonce: u64,
    pub memberships: Vec<AgentMembership>,
    /// Every change to its accounts, oldest first.
    pub log: Vec<LogEntryView>,
}

/// An agent's account in one DC.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentMembership {
    #[serde(flatten)]
    pub member: MemberSummary,
    pub dc: String,
    pub token_symbol: String,
}

/// One change to an account, the operation that caused it, and its
/// explanation in plain words.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogEntryView {
    pub dc: String,
    /// The protocol's sequence number of the operation.
    pub op: u64,
    #[schema(required = true)]
    pub transaction: Option<TransactionOrigin>,
    pub kind: EventKind,
    #[schema(value_type = SignedDecimal)]
    pub reputation_change: String,
    #[schema(value_type = SignedDecimal)]
    pub tokens_change: String,
    pub explanation: String,
}

/// An agent's accounts in every DC and its action log, with each change
/// explained.
#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}",
    tag = "agents",
    params(("agent" = AgentIdText, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "The agent", body = AgentDetail),
        (status = 400, description = "Not a valid agent id", body = ErrorBody),
        (status = 404, description = "The ledger has never seen this agent", body = ErrorBody),
    )
)]
async fn agent(
    State(ledger): State<Shared>,
    ApiPath(agent): ApiPath<String>,
) -> ApiResult<AgentDetail> {
    let ledger = lock(&ledger);
    let agent = AgentId::new(&agent).map_err(|e| bad_request(e.to_string()))?;
    let state = &ledger.chain().state;
    let memberships: Vec<AgentMembership> = state
        .memberships(&agent)
        .filter_map(|dc| dc.member(&agent).map(|m| (dc, m)))
        .map(|(dc, member)| AgentMembership {
            member: member_view(dc, member),
            dc: dc.id.to_string(),
            token_symbol: dc.token_symbol.clone(),
        })
        .collect();
    let log: Vec<LogEntryView> = state
        .action_log(&agent)
        .into_iter()
        .map(|(dc, entry)| {
            let change = entry.event.change();
            let signed = |gained: Fixed, lost: Fixed| {
                if !lost.is_zero() {
                    format!("-{lost}")
                } else {
                    format!("+{gained}")
                }
            };
            LogEntryView {
                dc: dc.id.to_string(),
                op: entry.op,
                transaction: origin_view(&ledger, entry.op),
                kind: event_kind(&entry.event),
                reputation_change: signed(change.reputation_gained, change.reputation_lost),
                tokens_change: signed(change.tokens_gained, change.tokens_lost),
                explanation: crate::explain::explain(dc, &entry.event),
            }
        })
        .collect();
    if memberships.is_empty() && log.is_empty() && ledger.chain().next_nonce(&agent) == 0 {
        return Err(not_found_error(format!("no agent {agent} on this ledger")));
    }
    Ok(Json(AgentDetail {
        agent: agent.to_string(),
        next_nonce: ledger.chain().next_nonce(&agent),
        memberships,
        log,
    }))
}

/// An account's leaf and its inclusion proof against the state root.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountProof {
    /// The finalized height the proof is for.
    pub height: u64,
    #[schema(value_type = HashHex)]
    pub state_root: String,
    /// The leaf's key in the state tree.
    #[schema(value_type = Hex)]
    pub key: String,
    /// The leaf's value.
    #[schema(value_type = Option<Hex>, required = true)]
    pub value: Option<String>,
    /// The inclusion proof.
    #[schema(value_type = Hex)]
    pub proof: String,
    pub reputation: Decimal,
    pub tokens: Decimal,
}

/// An account's leaf and its inclusion proof against the current state
/// root, so that anyone can check a balance without trusting this node.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/accounts/{agent}/proof",
    tag = "dcs",
    params(
        ("dc" = String, Path, description = "The DC's id"),
        ("agent" = AgentIdText, Path, description = "The account's agent id"),
    ),
    responses(
        (status = 200, description = "The leaf and its proof", body = AccountProof),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
    )
)]
async fn account_proof(
    State(ledger): State<Shared>,
    ApiPath((dc_id, agent)): ApiPath<(String, String)>,
) -> ApiResult<AccountProof> {
    let ledger = lock(&ledger);
    let dc = parse_dc(&dc_id)?;
    let agent = AgentId::new(&agent).map_err(|e| bad_request(e.to_string()))?;
    let chain = ledger.chain();
    let member = chain
        .state
        .dc(&dc)
        .and_then(|d| d.member(&agent))
        .ok_or_else(|| not_found_error(format!("{agent} has no account in DC {dc}")))?;
    let key = stigmer_ledger::leaves::account_key(&dc, &agent);
    let (value, proof) = chain
        .tree()
        .prove(&key)
        .ok_or_else(|| storage_error("the state tree is empty"))?;
    Ok(Json(AccountProof {
        height: chain.height,
        state_root: chain.state_root().to_string(),
        key: hex(&key),
        value: value.map(|v| hex(&v)),
        proof: hex(&proof.to_bytes()),
        reputation: Decimal(member.reputation),
        tokens: Decimal(member.tokens),
    }))
}

/// The nonces of an agent.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentNonce {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    /// The nonce its next transaction should carry: after its finalized
    /// and pending ones.
    pub next_nonce: u64,
    /// The next nonce after its finalized transactions only.
    pub finalized_nonce: u64,
}

/// The nonce an agent's next transaction should carry.
#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}/nonce",
    tag = "agents",
    params(("agent" = AgentIdText, Path, description = "The agent's id")),
    responses(
        (status = 200, description = "Its nonces", body = AgentNonce),
        (status = 400, description = "Not a valid agent id", body = ErrorBody),
    )
)]
async fn nonce(
    State(ledger): State<Shared>,
    ApiPath(agent): ApiPath<String>,
) -> ApiResult<AgentNonce> {
    let ledger = lock(&ledger);
    let agent = AgentId::new(&agent).map_err(|e| bad_request(e.to_string()))?;
    Ok(Json(AgentNonce {
        agent: agent.to_string(),
        next_nonce: ledger.next_nonce(&agent),
        finalized_nonce: ledger.chain().next_nonce(&agent),
    }))
}

/// What an event of an action log did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Joined,
    Rejoined,
    Left,
    Contributed,
    Evaluated,
    EvaluatorReward,
    StakePaid,
    Redistribution,
    ContributionRewarded,
    ReferralReward,
    TokensSent,
    TokensReceived,
    ThanksGiven,
    ThanksReceived,
}

fn event_kind(event: &Event) -> EventKind {
    match event {
        Event::Joined { .. } => EventKind::Joined,
        Event::Rejoined => EventKind::Rejoined,
        Event::Left => EventKind::Left,
        Event::Contributed { .. } => EventKind::Contributed,
        Event::Evaluated { .. } => EventKind::Evaluated,
        Event::EvaluatorReward { .. } => EventKind::EvaluatorReward,
        Event::StakePaid { .. } => EventKind::StakePaid,
        Event::Redistribution { .. } => EventKind::Redistribution,
        Event::ContributionRewarded { .. } => EventKind::ContributionRewarded,
        Event::ReferralReward { .. } => EventKind::ReferralReward,
        Event::TokensSent { .. } => EventKind::TokensSent,
        Event::TokensReceived { .. } => EventKind::TokensReceived,
        Event::ThanksGiven { .. } => EventKind::ThanksGiven,
        Event::ThanksReceived { .. } => EventKind::ThanksReceived,
    }
}

/// A DC's token supply over time.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcHistory {
    pub dc: String,
    /// One point per block in which tokens were created, oldest first.
    pub points: Vec<HistoryPoint>,
}

/// The token supply after a block, and how much of it was issued for work
/// and evaluation (not allocated on joining).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPoint {
    /// The block's height; 0 for the genesis.
    pub height: u64,
    #[schema(required = true)]
    pub timestamp_ms: Option<u64>,
    pub token_supply: Decimal,
    pub issued_for_work: Decimal,
}

/// A DC's token supply and issuance over time: one point per block in which
/// tokens were created (allocations on joining, rewards for work and
/// evaluation, referral shares).
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/history",
    tag = "dcs",
    params(("dc" = String, Path, description = "The DC's id")),
    responses(
        (status = 200, description = "Its token supply over time", body = DcHistory),
        (status = 400, description = "Not a valid DC id", body = ErrorBody),
        (status = 404, description = "No such DC", body = ErrorBody),
    )
)]
async fn dc_history(
    State(ledger): State<Shared>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<DcHistory> {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&id)?)?;
    // Tokens created in each block: all of them, and those issued for work.
    let mut by_height: BTreeMap<u64, (Fixed, Fixed)> = BTreeMap::new();
    for member in dc.members() {
        for entry in &member.log {
            let minted = entry.event.tokens_minted();
            if minted == Fixed::ZERO {
                continue;
            }
            let for_work = if matches!(entry.event, Event::Joined { .. }) {
                Fixed::ZERO
            } else {
                minted
            };
            let height = ledger
                .chain()
                .origin(entry.op)
                .map_or(0, |origin| origin.height);
            let sums = by_height
                .entry(height)
                .or_insert((Fixed::ZERO, Fixed::ZERO));
            sums.0 = sums.0.checked_add(minted).unwrap_or(sums.0);
            sums.1 = sums.1.checked_add(for_work).unwrap_or(sums.1);
        }
    }
    let (mut supply, mut issued) = (Fixed::ZERO, Fixed::ZERO);
    let mut points = Vec::with_capacity(by_height.len());
    for (height, (minted, for_work)) in by_height {
        supply = supply.checked_add(minted).unwrap_or(supply);
        issued = issued.checked_add(for_work).unwrap_or(issued);
        let timestamp_ms = if height == 0 {
            Some(ledger.genesis().timestamp_ms)
        } else {
            ledger
                .store()
                .block(height)
                .map_err(storage_error)?
                .map(|block| block.header.timestamp_ms)
        };
        points.push(HistoryPoint {
            height,
            timestamp_ms,
            token_supply: Decimal(supply),
            issued_for_work: Decimal(issued),
        });
    }
    Ok(Json(DcHistory {
        dc: dc.id.to_string(),
        points,
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
        status = 200,
        description = "A stream of server-sent events, never ending. Each is named `block` \
            and its data is a `BlockEvent` (`#/components/schemas/BlockEvent`) in JSON. The \
            first describes where the chain is now; one follows every finalized block.",
        content_type = "text/event-stream",
        body = String,
    ))
)]
async fn events(
    State(ledger): State<Shared>,
) -> axum::response::sse::Sse<
    impl futures::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
    let heights = lock(&ledger).watch_height();
    let stream = futures::stream::unfold(
        (heights, ledger, true),
        |(mut heights, ledger, first)| async move {
            // The first event describes where the chain is now.
            if !first {
                heights.changed().await.ok()?;
            }
            heights.borrow_and_update();
            let data = {
                let ledger = lock(&ledger);
                let chain = ledger.chain();
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
            Some((Ok(event), (heights, ledger, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// This document: the OpenAPI 3.1 description of `/api/v1`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "chain",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc::served(),
    )
        .into_response()
}
