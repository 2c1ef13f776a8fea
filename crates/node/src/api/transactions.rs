//! Transactions: submitting one (checked, then pooled here or, on a full
//! node, handed to a validator) and following it until it is finalized; and
//! where the transaction behind a change of state is ([`TransactionOrigin`]),
//! which other areas show with what they list.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use stigmer_ledger::Hash;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::TxLocation;
use stigmer_ledger::tx::{SignedTransaction, hex};
use utoipa::{IntoParams, ToSchema};

use super::doc::{HashHex, Hex};
use super::{
    ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, Reads, bad_request, not_found_error,
    storage_error,
};
use crate::json::TransactionJson;
use crate::ledger::{Finalized, Shared, lock, now_ms};

/// How long `?wait=true` waits for finality at most.
pub const WAIT_FINALIZED_MS_MAX: u64 = 30_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SubmitQuery {
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
pub(super) struct SubmissionBody(Submission);

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
pub(super) async fn submit(
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
pub(super) async fn forward(upstreams: Vec<String>, encoded: String) -> Result<(), ApiError> {
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
pub(super) async fn transaction(
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
pub(super) fn origin_view(
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
