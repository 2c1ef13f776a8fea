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
//!
//! One file per area: [`chain`] (status, blocks, events), [`transactions`]
//! (submitting and following them), [`dcs`] (DCs, their accounts, proofs
//! and history), [`agents`] (an agent's accounts, action log and nonces),
//! [`pov`] (Proof-of-Value: contributions, evaluations, thanks) and
//! [`sync`] (what full nodes fetch). Here: the router, the error answer,
//! the extractors, and in [`pages`] pagination. A module of the protocol
//! adds `api/<module>.rs` with its routes and registers them in
//! `documented_routes`, as `pov` does.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Extension, FromRef, FromRequestParts, Path, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use serde::de::DeserializeOwned;
use stigmer_ledger::tx::TX_BYTES_MAX;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::NodeError;
use crate::ledger::{Finalized, Shared, lock};
use crate::serve::{ApiLimits, EventStreams};

pub mod agents;
pub mod chain;
pub mod dcs;
pub mod doc;
#[cfg(test)]
mod flood_tests;
pub mod pages;
pub mod pov;
pub mod sync;
#[cfg(test)]
mod tests;
pub mod transactions;

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

/// The `/api/v1` routes, each with its OpenAPI operation, by the file that
/// serves them.
fn documented_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(doc::base())
        .routes(routes!(openapi_json))
        .routes(routes!(chain::status))
        .routes(routes!(chain::blocks))
        .routes(routes!(chain::block))
        .routes(routes!(chain::events))
        .routes(routes!(transactions::submit))
        .routes(routes!(transactions::transaction))
        .routes(routes!(dcs::dcs))
        .routes(routes!(dcs::dc))
        .routes(routes!(dcs::dc_members))
        .routes(routes!(dcs::account_proof))
        .routes(routes!(dcs::dc_history))
        .routes(routes!(agents::agent))
        .routes(routes!(agents::agent_log))
        .routes(routes!(agents::agent_memberships))
        .routes(routes!(agents::nonce))
        .routes(routes!(pov::dc_contributions))
        .routes(routes!(pov::contribution))
        .routes(routes!(pov::contribution_evaluations))
        .routes(routes!(pov::contribution_thanks))
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

/// This document: the OpenAPI 3.1 description of `/api/v1`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "chain",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub(super) async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc::served(),
    )
        .into_response()
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
pub(super) async fn errors_as_json(response: Response) -> Response {
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

pub(super) async fn not_found() -> ApiError {
    not_found_error("no such endpoint; see /api/v1/openapi.json")
}

pub(super) async fn method_not_allowed(method: axum::http::Method) -> ApiError {
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
