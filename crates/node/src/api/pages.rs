//! Pagination: every list the API returns comes in pages, so that a read
//! holds the finalized chain's read guard only for bounded work (see
//! `ledger`'s module docs) and an answer stays small whatever the history.
//!
//! One query shape for every list ([`PageQuery`]: `limit` and `cursor`),
//! one page size per kind of list ([`PageSize`], named constants below), and
//! every page says how to get the next one: its `next`, given back as
//! `cursor`, or null on the last page. Cursors are plain: a position in an
//! append-only list (accounts, evaluations, thanks), the index to stop
//! before (contributions and action logs, newest first), or the last DC id
//! of the page; so a page stays right while the chain grows.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::Store;
use stigmer_protocol::state::{Contribution, Dc, State as ProtocolState};
use stigmer_protocol::{AgentId, DcId};
use utoipa::{IntoParams, ToSchema};

use super::doc::AgentIdText;
use super::{
    AgentMembership, ApiError, ApiPath, ApiQuery, ApiResult, ContributionSummary, ErrorBody,
    EvaluationRecord, LogEntryView, MemberSummary, Reads, ThanksRecord, bad_request,
    contribution_summary, evaluation_record, find_contribution, find_dc, log_entry_view,
    member_view, not_found_error, parse_agent, parse_dc,
};

/// How many items a page of one kind of list holds: `default` when the
/// query names no `limit`, never more than `max`.
#[derive(Clone, Copy, Debug)]
pub struct PageSize {
    pub default: usize,
    pub max: usize,
}

/// DCs of `/api/v1/dcs`.
pub const DCS: PageSize = PageSize {
    default: 50,
    max: 100,
};
/// Accounts of a DC.
pub const MEMBERS: PageSize = PageSize {
    default: 100,
    max: 500,
};
/// Contributions of a DC.
pub const CONTRIBUTIONS: PageSize = PageSize {
    default: 50,
    max: 200,
};
/// Evaluations, or thanks, of a contribution.
pub const EVALUATIONS: PageSize = PageSize {
    default: 100,
    max: 500,
};
/// Accounts of an agent.
pub const MEMBERSHIPS: PageSize = PageSize {
    default: 50,
    max: 100,
};
/// Entries of an agent's action log.
pub const LOG: PageSize = PageSize {
    default: 50,
    max: 200,
};

/// Which page of a list: at most `limit` items, from `cursor` on.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items at most. Each list has a default and a maximum
    /// (larger values are lowered to it), given in its description.
    #[param(minimum = 1)]
    pub limit: Option<u32>,
    /// Where to go on: the `next` of the previous page. Absent for the
    /// first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page's size: the default, or `limit` lowered to the maximum.
    pub fn limit(&self, size: PageSize) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(size.default),
            Some(0) => Err(bad_request("limit: at least 1")),
            Some(limit) => Ok((limit as usize).min(size.max)),
        }
    }

    /// The cursor, read by `parse`.
    pub fn cursor_with<T>(
        &self,
        parse: impl FnOnce(&str) -> Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        self.cursor.as_deref().map(parse).transpose()
    }

    /// A numeric cursor.
    pub fn cursor_number(&self) -> Result<Option<u64>, ApiError> {
        self.cursor_with(|text| {
            text.parse().map_err(|_| {
                bad_request("cursor: expected the `next` of a previous page (a number)")
            })
        })
    }

    /// A numeric cursor that is a position in a list in memory.
    fn cursor_index(&self) -> Result<Option<usize>, ApiError> {
        Ok(self
            .cursor_number()?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
    }
}

/// Cuts `items` (fetched with one extra to learn whether more follow) to
/// `limit`, and returns the cursor of the next page: `key` of the last item
/// kept, or `None` when nothing follows.
pub fn next_after<T>(
    items: &mut Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(key)
}

/// The accounts of `dc` from position `start`, in the order they were opened.
pub fn members_page(dc: &Dc, start: usize, limit: usize) -> (Vec<MemberSummary>, Option<String>) {
    let all = dc.members();
    let page = all.get(start..).unwrap_or_default();
    let end = start.saturating_add(limit);
    let next = (end < all.len()).then(|| end.to_string());
    let members = page
        .iter()
        .take(limit)
        .map(|m| member_view(dc, m))
        .collect();
    (members, next)
}

/// The contributions of `dc` before position `before` (all if `None`),
/// newest first.
pub fn contributions_page(
    dc: &Dc,
    before: Option<usize>,
    limit: usize,
) -> (Vec<ContributionSummary>, Option<String>) {
    let all = dc.contributions();
    let end = before.map_or(all.len(), |b| b.min(all.len()));
    let start = end.saturating_sub(limit);
    let next = (start > 0).then(|| start.to_string());
    let page = all[start..end]
        .iter()
        .rev()
        .map(|c| contribution_summary(dc, c))
        .collect();
    (page, next)
}

/// The evaluations of `contribution` from position `start`, in order.
pub fn evaluations_page(
    chain: &Chain,
    store: &Store,
    dc: &Dc,
    contribution: &Contribution,
    start: usize,
    limit: usize,
) -> (Vec<EvaluationRecord>, Option<String>) {
    let all = &contribution.evaluations;
    let end = start.saturating_add(limit);
    let next = (end < all.len()).then(|| end.to_string());
    let page = all
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take(limit)
        .map(|evaluation| evaluation_record(chain, store, dc, evaluation))
        .collect();
    (page, next)
}

/// The thanks `contribution` received from position `start`, in order.
pub fn thanks_page(
    dc: &Dc,
    contribution: &Contribution,
    start: usize,
    limit: usize,
) -> (Vec<ThanksRecord>, Option<String>) {
    let all = &contribution.thanks;
    let end = start.saturating_add(limit);
    let next = (end < all.len()).then(|| end.to_string());
    let page = all
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take(limit)
        .map(|t| ThanksRecord {
            from: dc.member_at(t.from).map(|m| m.agent.to_string()),
        })
        .collect();
    (page, next)
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

/// A page of a DC's accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    pub dc: String,
    pub members: Vec<MemberSummary>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// A DC's accounts (members who left and token holders included), in the
/// order they were opened: 100 a page by default, at most 500.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/members",
    tag = "dcs",
    params(("dc" = String, Path, description = "The DC's id"), PageQuery),
    responses(
        (status = 200, description = "A page of accounts", body = MemberPage),
        (status = 400, description = "Not a valid DC id, or a bad page", body = ErrorBody),
        (status = 404, description = "No such DC", body = ErrorBody),
    )
)]
pub(super) async fn dc_members(
    State(finalized): State<Reads>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<MemberPage> {
    let limit = query.limit(MEMBERS)?;
    let start = query.cursor_index()?.unwrap_or(0);
    let chain = finalized.read();
    let dc = find_dc(&chain, &parse_dc(&id)?)?;
    let (members, next) = members_page(dc, start, limit);
    Ok(Json(MemberPage {
        dc: dc.id.to_string(),
        members,
        next,
    }))
}

/// A page of a DC's contributions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionPage {
    pub dc: String,
    pub contributions: Vec<ContributionSummary>,
    /// The `cursor` of the next (older) page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// A DC's contributions, newest first: 50 a page by default, at most 200.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/contributions",
    tag = "dcs",
    params(("dc" = String, Path, description = "The DC's id"), PageQuery),
    responses(
        (status = 200, description = "A page of contributions", body = ContributionPage),
        (status = 400, description = "Not a valid DC id, or a bad page", body = ErrorBody),
        (status = 404, description = "No such DC", body = ErrorBody),
    )
)]
pub(super) async fn dc_contributions(
    State(finalized): State<Reads>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ContributionPage> {
    let limit = query.limit(CONTRIBUTIONS)?;
    let before = query.cursor_index()?;
    let chain = finalized.read();
    let dc = find_dc(&chain, &parse_dc(&id)?)?;
    let (contributions, next) = contributions_page(dc, before, limit);
    Ok(Json(ContributionPage {
        dc: dc.id.to_string(),
        contributions,
        next,
    }))
}

/// A page of a contribution's evaluations.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluationPage {
    pub evaluations: Vec<EvaluationRecord>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// A contribution's evaluations, superseded ones included, in order: 100 a
/// page by default, at most 500.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/contributions/{id}/evaluations",
    tag = "dcs",
    params(
        ("dc" = String, Path, description = "The DC's id"),
        ("id" = String, Path, description = "The contribution's id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of evaluations", body = EvaluationPage),
        (status = 400, description = "Not a valid id, or a bad page", body = ErrorBody),
        (status = 404, description = "No such DC or contribution", body = ErrorBody),
    )
)]
pub(super) async fn contribution_evaluations(
    State(finalized): State<Reads>,
    ApiPath((dc_id, id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<EvaluationPage> {
    let limit = query.limit(EVALUATIONS)?;
    let start = query.cursor_index()?.unwrap_or(0);
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (evaluations, next) =
        evaluations_page(&chain, finalized.store(), dc, contribution, start, limit);
    Ok(Json(EvaluationPage { evaluations, next }))
}

/// A page of the thanks a contribution received.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThanksPage {
    pub thanks: Vec<ThanksRecord>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required = true)]
    pub next: Option<String>,
}

/// The thanks a contribution received, in order: 100 a page by default, at
/// most 500.
#[utoipa::path(
    get,
    path = "/api/v1/dcs/{dc}/contributions/{id}/thanks",
    tag = "dcs",
    params(
        ("dc" = String, Path, description = "The DC's id"),
        ("id" = String, Path, description = "The contribution's id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of thanks", body = ThanksPage),
        (status = 400, description = "Not a valid id, or a bad page", body = ErrorBody),
        (status = 404, description = "No such DC or contribution", body = ErrorBody),
    )
)]
pub(super) async fn contribution_thanks(
    State(finalized): State<Reads>,
    ApiPath((dc_id, id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ThanksPage> {
    let limit = query.limit(EVALUATIONS)?;
    let start = query.cursor_index()?.unwrap_or(0);
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (thanks, next) = thanks_page(dc, contribution, start, limit);
    Ok(Json(ThanksPage { thanks, next }))
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
    let limit = query.limit(LOG)?;
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
    let limit = query.limit(MEMBERSHIPS)?;
    let after = query.cursor_with(parse_dc)?;
    let chain = finalized.read();
    let (memberships, next) = memberships_page(&chain.state, &agent, after.as_ref(), limit);
    Ok(Json(MembershipPage {
        agent: agent.to_string(),
        memberships,
        next,
    }))
}
