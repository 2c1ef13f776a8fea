//! Decentralized cooperatives: each in a few figures, one in detail, its
//! accounts, an account's inclusion proof against the state root, and its
//! token supply over time. What a DC holds of a module (its contributions,
//! for Proof-of-Value) is listed by that module's file, [`super::pov`].

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::tx::hex;
use stigmer_protocol::state::{Dc, Member, MemberStatus};
use stigmer_protocol::{DcId, Fixed};
use utoipa::ToSchema;

use super::agents::parse_agent;
use super::doc::{AgentIdText, HashHex, Hex};
use super::pages::{self, PageQuery};
use super::pov::{ContributionSummary, contributions_page};
use super::{
    ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, Reads, bad_request, not_found_error,
    storage_error,
};
use crate::json::{Decimal, ParamsJson, TypeJson};

/// Most points of a DC's history.
pub const HISTORY_POINTS_MAX: usize = 500;

pub(super) fn parse_dc(text: &str) -> Result<DcId, ApiError> {
    DcId::new(text).map_err(|e| bad_request(e.to_string()))
}

pub(super) fn find_dc<'c>(chain: &'c Chain, id: &DcId) -> Result<&'c Dc, ApiError> {
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
pub(super) fn majority_holders(dc: &Dc) -> Option<usize> {
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
pub(super) async fn dcs(
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

pub(super) fn member_view(dc: &Dc, member: &Member) -> MemberSummary {
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
pub(super) async fn dc(
    State(finalized): State<Reads>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<DcDetail> {
    let chain = finalized.read();
    let dc = find_dc(&chain, &parse_dc(&id)?)?;
    let (members, members_next) = members_page(dc, 0, pages::MEMBERS.default);
    let (contributions, contributions_next) =
        contributions_page(dc, None, pages::CONTRIBUTIONS.default);
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
    let limit = query.limit(pages::MEMBERS)?;
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
pub(super) async fn account_proof(
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
pub(super) async fn dc_history(
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
