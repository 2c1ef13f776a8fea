//! The HTTP API, JSON under `/api/v1`. ALPHA.
//!
//! Reads show the finalized chain only, and never take the lock consensus
//! works under: they read [`Finalized`] (see `ledger`'s module docs), one
//! bounded page at a time. Every list is paginated ([`pages`]).
//! Errors are `{"error": "..."}` with a
//! 4xx status that says whose fault it was; malformed input never reaches a
//! 5xx.
//!
//! Every route is registered together with its OpenAPI description
//! (`utoipa_axum::routes!`), and every answer is a typed struct whose schema
//! is derived from it, so the document served at `/api/v1/openapi.json`
//! ([`openapi`]) cannot drift from what the handlers do.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{
    DefaultBodyLimit, Extension, FromRef, FromRequest, FromRequestParts, Path, Query, State,
};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::TxLocation;
use stigmer_ledger::tx::{SignedTransaction, TX_BYTES_MAX, hex};
use stigmer_protocol::state::{Contribution, Dc, Event, Member, MemberStatus};
use stigmer_protocol::{AgentId, ContributionId, DcId, Fixed};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::NodeError;
use crate::json::{Decimal, ParamsJson, TransactionJson, TypeJson};
use crate::ledger::{Finalized, Shared, lock, now_ms};
use crate::serve::{ApiLimits, EventStreams};

pub mod doc;
#[cfg(test)]
mod flood_tests;
pub mod pages;
pub mod sync;
#[cfg(test)]
mod tests;

use doc::{AgentIdText, HashHex, Hex, SignedDecimal};

/// The finalized ledger, as read handlers see it: without the lock of
/// [`Shared`].
pub type Reads = Arc<Finalized>;

/// What the handlers are given: the node's ledger (for submissions and the
/// pool, O(1) questions only) and the finalized ledger to read.
#[derive(Clone)]
pub struct ApiState {
    ledger: Shared,
    finalized: Reads,
}

impl FromRef<ApiState> for Shared {
    fn from_ref(state: &ApiState) -> Shared {
        Arc::clone(&state.ledger)
    }
}

impl FromRef<ApiState> for Reads {
    fn from_ref(state: &ApiState) -> Reads {
        Arc::clone(&state.finalized)
    }
}

/// How long `?wait=true` waits for finality at most.
pub const WAIT_FINALIZED_MS_MAX: u64 = 30_000;
/// Most blocks one listing returns.
pub const BLOCKS_PER_PAGE_MAX: u64 = 100;
/// Most points of a DC's history.
pub const HISTORY_POINTS_MAX: usize = 500;

/// The `/api/v1` routes, each with its OpenAPI operation.
fn documented_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(doc::base())
        .routes(routes!(status))
        .routes(routes!(submit))
        .routes(routes!(transaction))
        .routes(routes!(blocks))
        .routes(routes!(block))
        .routes(routes!(dcs))
        .routes(routes!(dc))
        .routes(routes!(pages::dc_members))
        .routes(routes!(pages::dc_contributions))
        .routes(routes!(contribution))
        .routes(routes!(pages::contribution_evaluations))
        .routes(routes!(pages::contribution_thanks))
        .routes(routes!(account_proof))
        .routes(routes!(agent))
        .routes(routes!(pages::agent_log))
        .routes(routes!(pages::agent_memberships))
        .routes(routes!(nonce))
        .routes(routes!(dc_history))
        .routes(routes!(events))
        .routes(routes!(openapi_json))
        .routes(routes!(sync::genesis))
        .routes(routes!(sync::sync))
}

/// The API and the web UI with the default [`ApiLimits`].
pub fn router(ledger: Shared) -> Router {
    router_with(ledger, &ApiLimits::default())
}

/// Largest request body: a submission, the largest transaction
/// ([`TX_BYTES_MAX`]) in either form. In hex it is twice its bytes; in JSON
/// its text may be escaped at up to 6 bytes a byte (`\u0041`). 8 times
/// covers both, with the field names around them.
pub const REQUEST_BODY_BYTES_MAX: usize = 8 * TX_BYTES_MAX as usize;

/// The API and the web UI, with `limits` on `/api/v1/events` streams. Every
/// error, the router's own included (404, 405, 413, 415...), is
/// `{"error": "..."}`.
pub fn router_with(ledger: Shared, limits: &ApiLimits) -> Router {
    let (api, _) = documented_routes().split_for_parts();
    let finalized = lock(&ledger).finalized();
    let state = ApiState { ledger, finalized };
    api.merge(crate::ui::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::map_response(errors_as_json))
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(Extension(EventStreams::new(limits)))
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

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError(status, message.into())
    }

    /// An extractor's rejection, with its own status (413 for a body too
    /// large, 415 for a missing content type...) and its words.
    fn rejected(rejection: impl IntoResponse + RejectionText) -> ApiError {
        let text = rejection.text();
        ApiError(rejection.into_response().status(), text)
    }
}

/// The words of axum's rejections.
trait RejectionText {
    fn text(&self) -> String;
}

macro_rules! rejection_text {
    ($($rejection:ty),*) => {$(
        impl RejectionText for $rejection {
            fn text(&self) -> String {
                self.body_text()
            }
        }
    )*};
}

rejection_text!(
    JsonRejection,
    axum::extract::rejection::BytesRejection,
    axum::extract::rejection::PathRejection,
    axum::extract::rejection::QueryRejection
);

/// The most of a non-JSON error body kept as its message.
const ERROR_TEXT_BYTES_MAX: usize = 1024;

/// Turns any error answer that is not JSON yet (axum's own rejections and
/// fallbacks, a layer's) into `{"error": "..."}` with the same status, so
/// that a client can always read why.
async fn errors_as_json(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, ERROR_TEXT_BYTES_MAX)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let mut answer = ApiError(status, message).into_response();
    // Keep what the status needs, such as `Allow` on a 405.
    for (name, value) in parts.headers.iter() {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

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
            NodeError::Mempool(
                crate::mempool::MempoolError::Full { .. }
                | crate::mempool::MempoolError::FullBytes { .. },
            ) => StatusCode::SERVICE_UNAVAILABLE,
            // The signer's own backlog: it should wait for some to finalize.
            NodeError::Mempool(crate::mempool::MempoolError::SignerFull { .. }) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            NodeError::Ledger(L::NonceReused { .. })
            | NodeError::Ledger(L::Protocol(_))
            | NodeError::Mempool(_) => StatusCode::CONFLICT,
            // Its signer's allowance for this hour is used up: later.
            NodeError::Ledger(L::AllowanceExceeded { .. }) => StatusCode::TOO_MANY_REQUESTS,
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
    not_found_error("no such endpoint; see /api/v1/openapi.json")
}

async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed here; see /api/v1/openapi.json"),
    )
}

/// `Path`, refusing malformed parameters with a JSON 400 like every other
/// error.
struct ApiPath<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::rejected(rejection)),
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
            Err(rejection) => Err(ApiError::rejected(rejection)),
        }
    }
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
async fn status(
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

/// The body of a submission, read as JSON: `{"encoded": ...}` if it has
/// that field, else the JSON form, so that an error names the field that is
/// wrong rather than "no variant of an untagged enum matched".
struct SubmissionBody(Submission);

impl<S: Send + Sync> FromRequest<S> for SubmissionBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a body with `Content-Type: application/json`".to_string(),
            ));
        }
        let bytes = bytes::Bytes::from_request(request, state)
            .await
            .map_err(ApiError::rejected)?;
        parse_submission(&bytes)
            .map(SubmissionBody)
            .map_err(bad_request)
    }
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The submission in `bytes`, or what is wrong with it, naming the field.
fn parse_submission(bytes: &[u8]) -> Result<Submission, String> {
    /// Only whether the body has `encoded`.
    #[derive(Deserialize)]
    struct Probe {
        encoded: Option<serde::de::IgnoredAny>,
    }
    #[derive(Deserialize)]
    struct Encoded {
        encoded: String,
    }
    /// axum's words, less the preamble that says nothing.
    fn cause(rejection: JsonRejection) -> String {
        let text = rejection.body_text();
        for preamble in [
            "Failed to deserialize the JSON body into the target type: ",
            "Failed to parse the request body as JSON: ",
        ] {
            if let Some(rest) = text.strip_prefix(preamble) {
                return rest.to_string();
            }
        }
        text
    }
    let has_encoded =
        serde_json::from_slice::<Probe>(bytes).is_ok_and(|probe| probe.encoded.is_some());
    if has_encoded {
        let Json(Encoded { encoded }) = Json::from_bytes(bytes).map_err(cause)?;
        return Ok(Submission::Encoded { encoded });
    }
    let Json(tx) = Json::<TransactionJson>::from_bytes(bytes).map_err(|rejection| {
        format!(
            "not a transaction (its JSON form, or {{\"encoded\": HEX}}): {}",
            cause(rejection)
        )
    })?;
    // Its numbers were read as doubles: refuse any that was rounded.
    crate::json::check_exact_numbers(bytes)?;
    Ok(Submission::Json(Box::new(tx)))
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
        (status = 409, description = "The nonce is used already, the current state refuses the operation (it would be refused in a block), or the pool refused it; with `?wait=true`, also when a proposal left it out because the state refused it once the signer's transactions before it were applied", body = ErrorBody),
        (status = 413, description = "The body is larger than any transaction can be", body = ErrorBody),
        (status = 415, description = "The body is not sent as `Content-Type: application/json`", body = ErrorBody),
        (status = 429, description = "The signer's allowance of transactions for this hour is used up, or it has the most transactions pending a signer may: wait", body = ErrorBody),
        (status = 503, description = "The pool is full of transactions of higher priority: try again shortly", body = ErrorBody),
    )
)]
async fn submit(
    State(ledger): State<Shared>,
    State(finalized): State<Reads>,
    ApiQuery(query): ApiQuery<SubmitQuery>,
    SubmissionBody(submission): SubmissionBody,
) -> Result<Response, ApiError> {
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
        let hash = ledger.submit(tx, now_ms())?;
        (hash, ledger.watch_height())
    } else {
        // A full node: check what it can, then hand it to a validator.
        lock(&ledger).check(&tx)?;
        forward(upstreams, hex(tx.encoded())).await?;
        let mut ledger = lock(&ledger);
        let hash = tx.hash();
        // Shown as pending here until it comes back finalized; a refusal
        // only means this node already knew it.
        let _ = ledger.accept(tx, now_ms());
        (hash, ledger.watch_height())
    };
    if query.wait {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(WAIT_FINALIZED_MS_MAX);
        loop {
            if finalized
                .store()
                .tx_location(&hash)
                .map_err(storage_error)?
                .is_some()
            {
                break;
            }
            if let Some(reason) = lock(&ledger).refusal(&hash) {
                return Err(ApiError(StatusCode::CONFLICT, reason.to_string()));
            }
            match tokio::time::timeout_at(deadline, heights.changed()).await {
                Ok(Ok(())) => continue,
                _ => break,
            }
        }
    }
    let answer = transaction_view(&finalized, &ledger, &hash)?;
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
    /// Why it was refused (with `refused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `pending`: in this node's pool; `refused`: left out of this node's
/// proposal because the state refused it once the transactions before it
/// were applied (it will never be in a block: fix it and sign it again with
/// the same nonce); `unknown`: neither in the pool nor in a block (it may
/// have been dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PendingState {
    Pending,
    Refused,
    Unknown,
}

/// Reads the store (no lock: redb reads are snapshots), and asks the pool
/// (under the node's lock, one lookup) only if the transaction is not
/// finalized.
fn transaction_view(
    finalized: &Finalized,
    ledger: &Shared,
    hash: &Hash,
) -> Result<TransactionStatus, ApiError> {
    let store = finalized.store();
    let location = store.tx_location(hash).map_err(storage_error)?;
    let Some(location) = location else {
        let ledger = lock(ledger);
        let (status, error) = if ledger.mempool().contains(hash) {
            (PendingState::Pending, None)
        } else if let Some(reason) = ledger.refusal(hash) {
            (PendingState::Refused, Some(reason.to_string()))
        } else {
            (PendingState::Unknown, None)
        };
        return Ok(TransactionStatus::Pending(PendingTransaction {
            hash: hash.to_string(),
            status,
            error,
        }));
    };
    let block = store
        .block(location.height)
        .map_err(storage_error)?
        .ok_or_else(|| storage_error("an indexed block is missing"))?;
    let outcome = store.outcome(location).map_err(storage_error)?;
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
    State(finalized): State<Reads>,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<TransactionStatus> {
    let hash =
        Hash::parse(&hash).ok_or_else(|| bad_request("a transaction hash is 64 hex digits"))?;
    let answer = transaction_view(&finalized, &ledger, &hash)?;
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
async fn blocks(
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
async fn block(
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

fn parse_dc(text: &str) -> Result<DcId, ApiError> {
    DcId::new(text).map_err(|e| bad_request(e.to_string()))
}

fn find_dc<'c>(chain: &'c Chain, id: &DcId) -> Result<&'c Dc, ApiError> {
    chain
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

/// A page of DCs, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcList {
    pub dcs: Vec<DcSummary>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// The DCs, in a few figures each, in id order: 50 a page by default, at
/// most 100 (the cursor is the last DC id of the page).
#[utoipa::path(
    get,
    path = "/api/v1/dcs",
    tag = "dcs",
    params(pages::PageQuery),
    responses(
        (status = 200, description = "A page of DCs", body = DcList),
        (status = 400, description = "Malformed query", body = ErrorBody),
    )
)]
async fn dcs(
    State(finalized): State<Reads>,
    ApiQuery(query): ApiQuery<pages::PageQuery>,
) -> ApiResult<DcList> {
    let limit = query.limit(pages::DCS)?;
    let after = query.cursor_with(parse_dc)?;
    let chain = finalized.read();
    let mut dcs: Vec<&Dc> = chain
        .state
        .dcs_after(after.as_ref())
        .take(limit + 1)
        .collect();
    let next = pages::next_after(&mut dcs, limit, |dc| dc.id.to_string());
    Ok(Json(DcList {
        dcs: dcs.into_iter().map(dc_summary).collect(),
        next,
    }))
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

/// A DC: its figures, parameters, contribution types, and the first pages
/// of its accounts and contributions.
#[derive(Debug, Serialize, ToSchema)]
pub struct DcDetail {
    #[serde(flatten)]
    pub summary: DcSummary,
    pub params: ParamsJson,
    /// Its contribution types, by name.
    pub types: BTreeMap<String, TypeJson>,
    /// The first page of its accounts, in the order they were opened
    /// (members who left and token holders included).
    pub members: Vec<MemberSummary>,
    /// The `cursor` of `/api/v1/dcs/{dc}/members` for the next page; null if
    /// this is all.
    #[schema(required = true)]
    pub members_next: Option<String>,
    /// The first page of its contributions, newest first.
    pub contributions: Vec<ContributionSummary>,
    /// The `cursor` of `/api/v1/dcs/{dc}/contributions` for the next page;
    /// null if this is all.
    #[schema(required = true)]
    pub contributions_next: Option<String>,
}

/// A DC with the first pages of its accounts (100) and contributions (50,
/// newest first); the rest are under `/members` and `/contributions`.
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
async fn dc(State(finalized): State<Reads>, ApiPath(id): ApiPath<String>) -> ApiResult<DcDetail> {
    let chain = finalized.read();
    let dc = find_dc(&chain, &parse_dc(&id)?)?;
    let (members, members_next) = pages::members_page(dc, 0, pages::MEMBERS.default);
    let (contributions, contributions_next) =
        pages::contributions_page(dc, None, pages::CONTRIBUTIONS.default);
    Ok(Json(DcDetail {
        summary: dc_summary(dc),
        params: ParamsJson::from(&dc.params),
        types: dc
            .types
            .iter()
            .map(|(name, kind)| (name.to_string(), TypeJson::from(kind)))
            .collect(),
        members,
        members_next,
        contributions,
        contributions_next,
    }))
}

/// A contribution with every evaluation and thanks it received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionDetail {
    #[serde(flatten)]
    pub summary: ContributionSummary,
    /// The first page of its evaluations, superseded ones included, in
    /// order.
    pub evaluations: Vec<EvaluationRecord>,
    /// The `cursor` of `.../evaluations` for the next page; null if this is
    /// all.
    #[schema(required = true)]
    pub evaluations_next: Option<String>,
    /// The first page of the thanks it received, in order.
    pub thanks: Vec<ThanksRecord>,
    /// The `cursor` of `.../thanks` for the next page; null if this is all.
    #[schema(required = true)]
    pub thanks_next: Option<String>,
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

/// A contribution with the first pages (100 each) of its evaluations (and
/// the figures each was weighed with) and thanks.
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
    State(finalized): State<Reads>,
    ApiPath((dc_id, id)): ApiPath<(String, String)>,
) -> ApiResult<ContributionDetail> {
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (evaluations, evaluations_next) = pages::evaluations_page(
        &chain,
        finalized.store(),
        dc,
        contribution,
        0,
        pages::EVALUATIONS.default,
    );
    let (thanks, thanks_next) = pages::thanks_page(dc, contribution, 0, pages::EVALUATIONS.default);
    Ok(Json(ContributionDetail {
        summary: contribution_summary(dc, contribution),
        evaluations,
        evaluations_next,
        thanks,
        thanks_next,
    }))
}

fn find_contribution<'c>(
    chain: &'c Chain,
    dc_id: &str,
    id: &str,
) -> Result<(&'c Dc, &'c Contribution), ApiError> {
    let dc = find_dc(chain, &parse_dc(dc_id)?)?;
    let id = ContributionId::new(id).map_err(|e| bad_request(e.to_string()))?;
    let contribution = dc
        .contribution(&id)
        .ok_or_else(|| not_found_error(format!("DC {dc_id:?} has no contribution {id:?}")))?;
    Ok((dc, contribution))
}

/// An evaluation as the API shows it.
fn evaluation_record(
    chain: &Chain,
    store: &stigmer_ledger::store::Store,
    dc: &Dc,
    evaluation: &stigmer_protocol::Evaluation,
) -> EvaluationRecord {
    let figures = &evaluation.snapshot;
    EvaluationRecord {
        evaluator: dc
            .member_at(evaluation.evaluator)
            .map(|m| m.agent.to_string()),
        value: Decimal(evaluation.value),
        superseded: evaluation.superseded,
        transaction: origin_view(chain, store, evaluation.op),
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

/// The transaction behind a protocol operation of the finalized `chain`:
/// its place and its hash from the store's indexes (two lookups, no block
/// decoded).
fn origin_view(
    chain: &Chain,
    store: &stigmer_ledger::store::Store,
    op: u64,
) -> Option<TransactionOrigin> {
    if op >= chain.state.n_ops() {
        return None;
    }
    match store.origin(op).ok().flatten() {
        Some(origin) if origin.height > 0 => {
            let hash = store
                .tx_hash(TxLocation {
                    height: origin.height,
                    index: origin.index,
                })
                .ok()
                .flatten()
                .map(|hash| hash.to_string());
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

/// An agent: the first pages of its accounts and of its action log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDetail {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    /// The next nonce after its finalized transactions.
    pub next_nonce: u64,
    /// In how many DCs it holds an account.
    pub n_memberships: usize,
    /// Its accounts, in DC id order: the first page.
    pub memberships: Vec<AgentMembership>,
    /// The `cursor` of `/api/v1/agents/{agent}/memberships` for the next
    /// page; null if this is all.
    #[schema(required = true)]
    pub memberships_next: Option<String>,
    /// How many entries its action log has.
    pub n_log_entries: usize,
    /// The changes to its accounts, newest first: the first page.
    pub log: Vec<LogEntryView>,
    /// The `cursor` of `/api/v1/agents/{agent}/log` for the next page; null
    /// if this is all.
    #[schema(required = true)]
    pub log_next: Option<String>,
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
/// explanation: as data (`detail`) and as an English sentence.
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
    /// The symbol of the DC's token, in which `tokens_change` and the
    /// token amounts of `detail` are counted.
    pub token_symbol: String,
    /// The change as data, for a client to say in its reader's language;
    /// null only if the ledger's record lacked what the event names.
    #[schema(required = true)]
    pub detail: Option<crate::explain::LogDetail>,
    /// The change in one English sentence, with its numbers.
    pub explanation: String,
}

/// An agent (a key, or a DC's account `dc:<id>`): the first page of its
/// accounts (50, in DC id order) and of its action log (50, newest first),
/// each change explained; the rest are under `/memberships` and `/log`.
#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}",
    tag = "agents",
    params(("agent" = AgentIdText, Path, description = "The agent's id, or `dc:<id>`")),
    responses(
        (status = 200, description = "The agent", body = AgentDetail),
        (status = 400, description = "Not a valid agent id", body = ErrorBody),
        (status = 404, description = "The ledger has never seen this agent", body = ErrorBody),
    )
)]
async fn agent(
    State(finalized): State<Reads>,
    ApiPath(agent): ApiPath<String>,
) -> ApiResult<AgentDetail> {
    let agent = parse_agent(&agent)?;
    let chain = finalized.read();
    let state = &chain.state;
    let (memberships, memberships_next) =
        pages::memberships_page(state, &agent, None, pages::MEMBERSHIPS.default);
    let (log, log_next) =
        pages::log_page(&chain, finalized.store(), &agent, None, pages::LOG.default)?;
    let next_nonce = chain.next_nonce(&agent);
    if memberships.is_empty() && log.is_empty() && next_nonce == 0 {
        return Err(not_found_error(format!("no agent {agent} on this ledger")));
    }
    Ok(Json(AgentDetail {
        agent: agent.to_string(),
        next_nonce,
        n_memberships: state.n_memberships(&agent),
        memberships,
        memberships_next,
        n_log_entries: pages::n_log_entries(&chain, &agent),
        log,
        log_next,
    }))
}

/// An agent id in a path: a key, or a DC's account `dc:<id>`.
fn parse_agent(text: &str) -> Result<AgentId, ApiError> {
    match text.strip_prefix(stigmer_protocol::ids::DC_AGENT_PREFIX) {
        Some(dc) => Ok(AgentId::of_dc(&parse_dc(dc)?)),
        None => AgentId::new(text).map_err(|e| bad_request(e.to_string())),
    }
}

/// A log entry as the API shows it, explained.
fn log_entry_view(
    chain: &Chain,
    store: &stigmer_ledger::store::Store,
    dc: &Dc,
    entry: &stigmer_protocol::state::LogEntry,
) -> LogEntryView {
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
        transaction: origin_view(chain, store, entry.op),
        kind: event_kind(&entry.event),
        reputation_change: signed(change.reputation_gained, change.reputation_lost),
        tokens_change: signed(change.tokens_gained, change.tokens_lost),
        token_symbol: dc.token_symbol.clone(),
        detail: crate::explain::detail(dc, &entry.event),
        explanation: crate::explain::explain(dc, &entry.event),
    }
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
    State(finalized): State<Reads>,
    ApiPath((dc_id, agent)): ApiPath<(String, String)>,
) -> ApiResult<AccountProof> {
    let dc = parse_dc(&dc_id)?;
    let agent = parse_agent(&agent)?;
    let chain = finalized.read();
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
    let agent = parse_agent(&agent)?;
    let ledger = lock(&ledger);
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
    /// One point per block in which tokens were created, oldest first; at
    /// most 500: beyond, the newest point of each stretch of blocks.
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
    State(finalized): State<Reads>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<DcHistory> {
    let id = parse_dc(&id)?;
    // The supply after each block that minted tokens, cumulated as blocks
    // were stored: at most `HISTORY_POINTS_MAX` reads (the newest point of
    // each stretch of blocks), whatever the history.
    let supply = {
        let chain = finalized.read();
        find_dc(&chain, &id)?;
        finalized
            .store()
            .supply_history(&id, HISTORY_POINTS_MAX)
            .map_err(storage_error)?
    };
    let mut points = Vec::with_capacity(supply.len());
    for point in supply {
        let height = point.height;
        let (supply, issued) = (point.token_supply, point.issued_for_work);
        let timestamp_ms = if height == 0 {
            Some(finalized.genesis().timestamp_ms)
        } else {
            finalized
                .store()
                .header(height)
                .map_err(storage_error)?
                .map(|header| header.timestamp_ms)
        };
        points.push(HistoryPoint {
            height,
            timestamp_ms,
            token_supply: Decimal(supply),
            issued_for_work: Decimal(issued),
        });
    }
    Ok(Json(DcHistory {
        dc: id.to_string(),
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
async fn events(
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
