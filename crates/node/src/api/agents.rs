//! Agents: the accounts an agent holds across DCs, its action log (every
//! change to those accounts, explained, newest first) and its nonces.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::Store;
use stigmer_protocol::state::{Dc, Event, State as ProtocolState};
use stigmer_protocol::{AgentId, DcId, Fixed};
use utoipa::ToSchema;

use super::dcs::{MemberSummary, member_view, parse_dc};
use super::doc::{AgentIdText, SignedDecimal};
use super::pages::{self, PageQuery, next_after};
use super::transactions::{TransactionOrigin, origin_view};
use super::{
    ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, Reads, bad_request, not_found_error,
};
use crate::ledger::{Shared, lock};

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
pub(super) async fn agent(
    State(finalized): State<Reads>,
    ApiPath(agent): ApiPath<String>,
) -> ApiResult<AgentDetail> {
    let agent = parse_agent(&agent)?;
    let chain = finalized.read();
    let state = &chain.state;
    let (memberships, memberships_next) =
        memberships_page(state, &agent, None, pages::MEMBERSHIPS.default);
    let (log, log_next) = log_page(&chain, finalized.store(), &agent, None, pages::LOG.default)?;
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
        n_log_entries: n_log_entries(&chain, &agent),
        log,
        log_next,
    }))
}

/// An agent id in a path: a key, or a DC's account `dc:<id>`.
pub(super) fn parse_agent(text: &str) -> Result<AgentId, ApiError> {
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

/// The accounts of `agent` in DC id order, after DC `after`.
pub fn memberships_page(
    state: &ProtocolState,
    agent: &AgentId,
    after: Option<&DcId>,
    limit: usize,
) -> (Vec<AgentMembership>, Option<String>) {
    let mut dcs: Vec<&Dc> = state
        .memberships_after(agent, after)
        .take(limit + 1)
        .collect();
    let next = next_after(&mut dcs, limit, |dc| dc.id.to_string());
    let page = dcs
        .into_iter()
        .filter_map(|dc| dc.member(agent).map(|m| (dc, m)))
        .map(|(dc, member)| AgentMembership {
            member: member_view(dc, member),
            dc: dc.id.to_string(),
            token_symbol: dc.token_symbol.clone(),
        })
        .collect();
    (page, next)
}

/// A page of an agent's accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipPage {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    pub memberships: Vec<AgentMembership>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// An agent's accounts, in DC id order: 50 a page by default, at most 100.
#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}/memberships",
    tag = "agents",
    params(("agent" = AgentIdText, Path, description = "The agent's id, or `dc:<id>`"), PageQuery),
    responses(
        (status = 200, description = "A page of its accounts", body = MembershipPage),
        (status = 400, description = "Not a valid agent id, or a bad page", body = ErrorBody),
    )
)]
pub(super) async fn agent_memberships(
    State(finalized): State<Reads>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<MembershipPage> {
    let agent = parse_agent(&agent)?;
    let limit = query.limit(pages::MEMBERSHIPS)?;
    let after = query.cursor_with(parse_dc)?;
    let chain = finalized.read();
    let (memberships, next) = memberships_page(&chain.state, &agent, after.as_ref(), limit);
    Ok(Json(MembershipPage {
        agent: agent.to_string(),
        memberships,
        next,
    }))
}

/// How many entries `agent`'s action log has, over all its accounts (the
/// chain counts them as it hashes them).
pub fn n_log_entries(chain: &Chain, agent: &AgentId) -> usize {
    chain
        .state
        .memberships(agent)
        .filter_map(|dc| Some(chain.log_len(&dc.id, dc.member_index(agent)?)))
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .fold(0, usize::saturating_add)
}

/// `agent`'s action log, newest first, from the entries of operations
/// before `before` (all if `None`): about `limit` entries, more only to end
/// on a whole operation (its entries are never split between pages), so
/// that the cursor, the last operation's number, loses nothing.
///
/// Logs are in the store, filed by agent and operation: a page is one range
/// read, whose work is the page's size, not the history's.
pub fn log_page(
    chain: &Chain,
    store: &Store,
    agent: &AgentId,
    before: Option<u64>,
    limit: usize,
) -> Result<(Vec<LogEntryView>, Option<String>), ApiError> {
    let (entries, next) = store
        .log_page(agent, before, limit)
        .map_err(super::storage_error)?;
    let mut page = Vec::with_capacity(entries.len());
    for stored in &entries {
        let dc = chain.state.dc(&stored.dc).ok_or_else(|| {
            super::storage_error(format!("the log names {}, which does not exist", stored.dc))
        })?;
        page.push(log_entry_view(chain, store, dc, &stored.entry));
    }
    Ok((page, next.map(|op| op.to_string())))
}

/// A page of an agent's action log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    #[schema(value_type = AgentIdText)]
    pub agent: String,
    pub log: Vec<LogEntryView>,
    /// The `cursor` of the next (older) page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// An agent's action log over all its accounts, newest first, each change
/// explained: 50 entries a page by default, at most 200 (a page may hold a
/// few more, never splitting one operation's entries).
#[utoipa::path(
    get,
    path = "/api/v1/agents/{agent}/log",
    tag = "agents",
    params(("agent" = AgentIdText, Path, description = "The agent's id, or `dc:<id>`"), PageQuery),
    responses(
        (status = 200, description = "A page of its log", body = LogPage),
        (status = 400, description = "Not a valid agent id, or a bad page", body = ErrorBody),
        (status = 404, description = "The agent holds no account", body = ErrorBody),
    )
)]
pub(super) async fn agent_log(
    State(finalized): State<Reads>,
    ApiPath(agent): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<LogPage> {
    let agent = parse_agent(&agent)?;
    let limit = query.limit(pages::LOG)?;
    let before = query.cursor_number()?;
    let chain = finalized.read();
    if chain.state.n_memberships(&agent) == 0 {
        return Err(not_found_error(format!("{agent} holds no account")));
    }
    let (log, next) = log_page(&chain, finalized.store(), &agent, before, limit)?;
    Ok(Json(LogPage {
        agent: agent.to_string(),
        log,
        next,
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
pub(super) async fn nonce(
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
