//! The HTTP API, JSON under `/api/v1`. ALPHA.
//!
//! Reads show the finalized chain only. Errors are `{"error": "..."}` with a
//! 4xx status that says whose fault it was; malformed input never reaches a
//! 5xx.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stigmer_ledger::Hash;
use stigmer_ledger::block::Block;
use stigmer_ledger::store::TxLocation;
use stigmer_ledger::tx::{SignedTransaction, hex};
use stigmer_protocol::state::{Contribution, Dc, Event, Member, MemberStatus};
use stigmer_protocol::{AgentId, ContributionId, DcId, Fixed};

use crate::NodeError;
use crate::json::{ParamsJson, TransactionJson, TypeJson};
use crate::ledger::NodeLedger;

pub type Shared = Arc<Mutex<NodeLedger>>;

/// How long `?wait=true` waits for finality at most.
pub const WAIT_FINALIZED_MS_MAX: u64 = 30_000;
/// Most blocks one listing returns.
pub const BLOCKS_PER_PAGE_MAX: u64 = 100;

pub fn router(ledger: Shared) -> Router {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/transactions", post(submit))
        .route("/api/v1/transactions/{hash}", get(transaction))
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/blocks/{height}", get(block))
        .route("/api/v1/dcs", get(dcs))
        .route("/api/v1/dcs/{dc}", get(dc))
        .route("/api/v1/dcs/{dc}/contributions/{id}", get(contribution))
        .route(
            "/api/v1/dcs/{dc}/accounts/{agent}/proof",
            get(account_proof),
        )
        .route("/api/v1/agents/{agent}", get(agent))
        .route("/api/v1/agents/{agent}/nonce", get(nonce))
        .route("/api/v1/dcs/{dc}/history", get(dc_history))
        .route("/api/v1/events", get(events))
        .merge(crate::ui::router())
        .fallback(not_found)
        .with_state(ledger)
}

/// An error answer: a status and a message for the person who asked.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
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

type ApiResult = Result<Json<Value>, ApiError>;

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

fn not_found_error(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, message.into())
}

async fn not_found() -> ApiError {
    not_found_error("no such endpoint; see /api/v1/status")
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

async fn status(State(ledger): State<Shared>) -> ApiResult {
    let ledger = lock(&ledger);
    let chain = ledger.chain();
    Ok(Json(json!({
        "chain_id": chain.chain_id,
        "height": chain.height,
        "tip": chain.tip.to_string(),
        "state_root": chain.state_root().to_string(),
        "timestamp_ms": chain.tip_timestamp_ms,
        "validators": ledger.genesis().validators,
        "transactions": chain.n_transactions,
        "pending_transactions": ledger.mempool().len(),
        "dcs": chain.state.dcs().count(),
    })))
}

#[derive(Deserialize)]
struct SubmitQuery {
    /// Wait until the transaction is finalized (or `WAIT_FINALIZED_MS_MAX`).
    #[serde(default)]
    wait: bool,
}

/// The body of a submission: the JSON form, or the canonical bytes in hex.
#[derive(Deserialize)]
#[serde(untagged)]
enum Submission {
    Encoded { encoded: String },
    Json(Box<TransactionJson>),
}

async fn submit(
    State(ledger): State<Shared>,
    Query(query): Query<SubmitQuery>,
    body: Result<Json<Submission>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(submission) = body.map_err(|e| bad_request(e.body_text()))?;
    let tx = match submission {
        Submission::Json(tx) => tx.to_signed().map_err(|e| bad_request(e.to_string()))?,
        Submission::Encoded { encoded } => {
            let bytes =
                unhex_bytes(&encoded).ok_or_else(|| bad_request("encoded: expected hex"))?;
            SignedTransaction::decode(&bytes).map_err(|e| bad_request(e.to_string()))?
        }
    };
    let tx = tx.verified().map_err(|e| bad_request(e.to_string()))?;
    let (hash, mut heights) = {
        let mut ledger = lock(&ledger);
        let hash = ledger.submit(tx)?;
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
    let status = if answer["status"] == "finalized" {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(answer)).into_response())
}

fn unhex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn transaction_view(ledger: &NodeLedger, hash: &Hash) -> Result<Value, ApiError> {
    let location = ledger.store().tx_location(hash).map_err(storage_error)?;
    let Some(location) = location else {
        let status = if ledger.mempool().contains(hash) {
            "pending"
        } else {
            "unknown"
        };
        return Ok(json!({ "hash": hash.to_string(), "status": status }));
    };
    let block = ledger
        .store()
        .block(location.height)
        .map_err(storage_error)?
        .ok_or_else(|| storage_error("an indexed block is missing"))?;
    let outcome = ledger.store().outcome(location).map_err(storage_error)?;
    let tx = block.txs.get(location.index as usize);
    Ok(json!({
        "hash": hash.to_string(),
        "status": "finalized",
        "height": location.height,
        "index": location.index,
        "ok": matches!(outcome, Some(Ok(()))),
        "error": outcome.and_then(|o| o.err()),
        "transaction": tx.map(TransactionJson::from_signed),
    }))
}

async fn transaction(State(ledger): State<Shared>, Path(hash): Path<String>) -> ApiResult {
    let hash =
        Hash::parse(&hash).ok_or_else(|| bad_request("a transaction hash is 64 hex digits"))?;
    let answer = transaction_view(&lock(&ledger), &hash)?;
    if answer["status"] == "unknown" {
        return Err(not_found_error(format!("no transaction {hash}")));
    }
    Ok(Json(answer))
}

fn header_view(block: &Block) -> Value {
    json!({
        "height": block.header.height,
        "hash": block.hash().to_string(),
        "parent": block.header.parent.to_string(),
        "timestamp_ms": block.header.timestamp_ms,
        "tx_root": block.header.tx_root.to_string(),
        "state_root": block.header.state_root.to_string(),
        "n_transactions": block.txs.len(),
    })
}

#[derive(Deserialize)]
struct BlocksQuery {
    /// The highest block to list; the tip if absent.
    before: Option<u64>,
    limit: Option<u64>,
}

async fn blocks(State(ledger): State<Shared>, Query(query): Query<BlocksQuery>) -> ApiResult {
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
    Ok(Json(json!({ "height": tip, "blocks": headers })))
}

async fn block(State(ledger): State<Shared>, Path(height): Path<u64>) -> ApiResult {
    let ledger = lock(&ledger);
    let block = ledger
        .store()
        .block(height)
        .map_err(storage_error)?
        .ok_or_else(|| not_found_error(format!("no block {height} yet")))?;
    let mut view = header_view(&block);
    let txs: Vec<Value> = (0u32..)
        .zip(&block.txs)
        .map(|(index, tx)| {
            let outcome = ledger
                .store()
                .outcome(TxLocation { height, index })
                .ok()
                .flatten();
            json!({
                "hash": tx.hash().to_string(),
                "ok": matches!(outcome, Some(Ok(()))),
                "error": outcome.and_then(|o| o.err()),
                "transaction": TransactionJson::from_signed(tx),
                // The canonical bytes, so that anyone can recompute the
                // hashes and roots (the web UI does, in the browser).
                "encoded": hex(&tx.encode()),
            })
        })
        .collect();
    view["transactions"] = Value::from(txs);
    Ok(Json(view))
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

fn dc_summary(dc: &Dc) -> Value {
    json!({
        "id": dc.id.to_string(),
        "name": dc.name,
        "token_symbol": dc.token_symbol,
        "rules": dc.params.rules.name(),
        "steward": dc.steward.to_string(),
        "n_members": dc.members().iter().filter(|m| m.is_active()).count(),
        "n_contributions": dc.contributions().len(),
        "total_reputation": dc.total_reputation.to_string(),
        "token_supply": dc.token_supply.to_string(),
        "treasury": dc.treasury.to_string(),
    })
}

async fn dcs(State(ledger): State<Shared>) -> ApiResult {
    let ledger = lock(&ledger);
    let list: Vec<Value> = ledger.chain().state.dcs().map(dc_summary).collect();
    Ok(Json(json!({ "dcs": list })))
}

fn status_name(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Active => "member",
        MemberStatus::Left => "left",
        MemberStatus::Holder => "token holder",
    }
}

fn member_view(dc: &Dc, member: &Member) -> Value {
    json!({
        "agent": member.agent.to_string(),
        "status": status_name(member.status),
        "reputation": member.reputation.to_string(),
        "tokens": member.tokens.to_string(),
        "referrer": member.referrer.and_then(|r| dc.member_at(r)).map(|r| r.agent.to_string()),
    })
}

fn contribution_summary(dc: &Dc, contribution: &Contribution) -> Value {
    let current: Vec<&stigmer_protocol::Evaluation> =
        contribution.current_evaluations().map(|(_, e)| e).collect();
    let engaged = current
        .iter()
        .filter_map(|e| dc.member_at(e.evaluator))
        .fold(Fixed::ZERO, |sum, m| {
            sum.checked_add(m.weight()).unwrap_or(sum)
        });
    json!({
        "id": contribution.id.to_string(),
        "contributor": dc.member_at(contribution.contributor).map(|m| m.agent.to_string()),
        "type": contribution.kind.to_string(),
        "thanks_only": dc.types.get(&contribution.kind).is_some_and(|t| t.thanks_only),
        "title": contribution.title,
        "n_evaluations": current.len(),
        "engaged_reputation": engaged.to_string(),
        "score_max": contribution.score_max.to_string(),
        "tokens_issued": contribution.tokens_issued.to_string(),
        "reputation_issued": contribution.reputation_issued.to_string(),
        "n_thanks": contribution.thanks.len(),
    })
}

async fn dc(State(ledger): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&id)?)?;
    let mut view = dc_summary(dc);
    view["params"] = serde_json::to_value(ParamsJson::from(&dc.params)).unwrap_or_default();
    view["types"] = dc
        .types
        .iter()
        .map(|(name, kind)| {
            (
                name.to_string(),
                serde_json::to_value(TypeJson::from(kind)).unwrap_or_default(),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into();
    view["members"] = dc
        .members()
        .iter()
        .map(|m| member_view(dc, m))
        .collect::<Vec<_>>()
        .into();
    view["contributions"] = dc
        .contributions()
        .iter()
        .map(|c| contribution_summary(dc, c))
        .collect::<Vec<_>>()
        .into();
    Ok(Json(view))
}

async fn contribution(
    State(ledger): State<Shared>,
    Path((dc_id, id)): Path<(String, String)>,
) -> ApiResult {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&dc_id)?)?;
    let id = ContributionId::new(&id).map_err(|e| bad_request(e.to_string()))?;
    let contribution = dc
        .contribution(&id)
        .ok_or_else(|| not_found_error(format!("DC {dc_id:?} has no contribution {id:?}")))?;
    let mut view = contribution_summary(dc, contribution);
    let evaluations: Vec<Value> = contribution
        .evaluations
        .iter()
        .map(|evaluation| {
            let figures = &evaluation.snapshot;
            json!({
                "evaluator": dc.member_at(evaluation.evaluator).map(|m| m.agent.to_string()),
                "value": evaluation.value.to_string(),
                "superseded": evaluation.superseded,
                "transaction": origin_view(&ledger, evaluation.op),
                "figures": {
                    "evaluator_reputation": figures.evaluator_reputation.to_string(),
                    "engaged_reputation": figures.engaged_reputation.to_string(),
                    "agreeing_reputation": figures.agreeing_reputation.to_string(),
                    "total_reputation": figures.total_reputation.to_string(),
                    "upvoted_reputation": figures.upvoted_reputation.to_string(),
                    "median": figures.median.to_string(),
                    "score_max_before": figures.score_max_before.to_string(),
                    "score_max_after": figures.score_max_after.to_string(),
                    "first": figures.first,
                },
            })
        })
        .collect();
    view["evaluations"] = evaluations.into();
    view["thanks"] = contribution
        .thanks
        .iter()
        .map(|t| json!({ "from": dc.member_at(t.from).map(|m| m.agent.to_string()) }))
        .collect::<Vec<_>>()
        .into();
    Ok(Json(view))
}

/// The transaction behind a protocol operation, if it came from a block.
fn origin_view(ledger: &NodeLedger, op: u64) -> Value {
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
            json!({ "height": origin.height, "index": origin.index, "hash": hash })
        }
        Some(_) => json!({ "height": 0, "genesis": true }),
        None => Value::Null,
    }
}

#[derive(Serialize)]
struct LogEntryView {
    dc: String,
    op: u64,
    transaction: Value,
    kind: &'static str,
    reputation_change: String,
    tokens_change: String,
    explanation: String,
}

async fn agent(State(ledger): State<Shared>, Path(agent): Path<String>) -> ApiResult {
    let ledger = lock(&ledger);
    let agent = AgentId::new(&agent).map_err(|e| bad_request(e.to_string()))?;
    let state = &ledger.chain().state;
    let memberships: Vec<Value> = state
        .memberships(&agent)
        .filter_map(|dc| dc.member(&agent).map(|m| (dc, m)))
        .map(|(dc, member)| {
            let mut view = member_view(dc, member);
            view["dc"] = Value::from(dc.id.to_string());
            view["token_symbol"] = Value::from(dc.token_symbol.clone());
            view
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
    Ok(Json(json!({
        "agent": agent.to_string(),
        "next_nonce": ledger.chain().next_nonce(&agent),
        "memberships": memberships,
        "log": serde_json::to_value(log).unwrap_or_default(),
    })))
}

/// An account's leaf and its inclusion proof against the current state
/// root, so that anyone can check a balance without trusting this node.
async fn account_proof(
    State(ledger): State<Shared>,
    Path((dc_id, agent)): Path<(String, String)>,
) -> ApiResult {
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
    Ok(Json(json!({
        "height": chain.height,
        "state_root": chain.state_root().to_string(),
        "key": hex(&key),
        "value": value.map(|v| hex(&v)),
        "proof": hex(&proof.to_bytes()),
        "reputation": member.reputation.to_string(),
        "tokens": member.tokens.to_string(),
    })))
}

async fn nonce(State(ledger): State<Shared>, Path(agent): Path<String>) -> ApiResult {
    let ledger = lock(&ledger);
    let agent = AgentId::new(&agent).map_err(|e| bad_request(e.to_string()))?;
    Ok(Json(json!({
        "agent": agent.to_string(),
        "next_nonce": ledger.next_nonce(&agent),
        "finalized_nonce": ledger.chain().next_nonce(&agent),
    })))
}

fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::Joined { .. } => "joined",
        Event::Rejoined => "rejoined",
        Event::Left => "left",
        Event::Contributed { .. } => "contributed",
        Event::Evaluated { .. } => "evaluated",
        Event::EvaluatorReward { .. } => "evaluator_reward",
        Event::StakePaid { .. } => "stake_paid",
        Event::Redistribution { .. } => "redistribution",
        Event::ContributionRewarded { .. } => "contribution_rewarded",
        Event::ReferralReward { .. } => "referral_reward",
        Event::TokensSent { .. } => "tokens_sent",
        Event::TokensReceived { .. } => "tokens_received",
        Event::ThanksGiven { .. } => "thanks_given",
        Event::ThanksReceived { .. } => "thanks_received",
    }
}

pub fn hex_of(bytes: &[u8]) -> String {
    hex(bytes)
}

/// A DC's token supply and issuance over time: one point per block in which
/// tokens were created (allocations on joining, rewards for work and
/// evaluation, referral shares).
async fn dc_history(State(ledger): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let ledger = lock(&ledger);
    let dc = find_dc(&ledger, &parse_dc(&id)?)?;
    // Tokens created by each operation, then per block.
    let mut minted_by_op: std::collections::BTreeMap<u64, (Fixed, Fixed)> = Default::default();
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
            let sums = minted_by_op
                .entry(entry.op)
                .or_insert((Fixed::ZERO, Fixed::ZERO));
            sums.0 = sums.0.checked_add(minted).unwrap_or(sums.0);
            sums.1 = sums.1.checked_add(for_work).unwrap_or(sums.1);
        }
    }
    let mut by_height: std::collections::BTreeMap<u64, (Fixed, Fixed)> = Default::default();
    for (op, (minted, for_work)) in minted_by_op {
        let height = ledger.chain().origin(op).map_or(0, |origin| origin.height);
        let sums = by_height
            .entry(height)
            .or_insert((Fixed::ZERO, Fixed::ZERO));
        sums.0 = sums.0.checked_add(minted).unwrap_or(sums.0);
        sums.1 = sums.1.checked_add(for_work).unwrap_or(sums.1);
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
        points.push(json!({
            "height": height,
            "timestamp_ms": timestamp_ms,
            "token_supply": supply.to_string(),
            "issued_for_work": issued.to_string(),
        }));
    }
    Ok(Json(json!({ "dc": dc.id.to_string(), "points": points })))
}

/// Server-sent events: `block` after every finalized block, with the new
/// height and the count of finalized transactions, so a page knows when to
/// read again.
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
                json!({
                    "height": chain.height,
                    "tip": chain.tip.to_string(),
                    "state_root": chain.state_root().to_string(),
                    "timestamp_ms": chain.tip_timestamp_ms,
                    "transactions": chain.n_transactions,
                })
            };
            let event = SseEvent::default().event("block").data(data.to_string());
            Some((Ok(event), (heights, ledger, false)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
