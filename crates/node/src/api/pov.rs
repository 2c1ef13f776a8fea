//! Proof-of-Value (`docs/PROTOCOL.md`): a DC's contributions, the
//! evaluations each received with the figures it was weighed with, and its
//! thanks. The routes of a module of the protocol live in a file of their
//! own, as these do; the next module copies this shape.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use stigmer_ledger::chain::Chain;
use stigmer_ledger::store::Store;
use stigmer_protocol::state::{Contribution, Dc};
use stigmer_protocol::{ContributionId, Fixed};
use utoipa::ToSchema;

use super::dcs::{find_dc, parse_dc};
use super::doc::AgentIdText;
use super::pages::{self, PageQuery};
use super::transactions::{TransactionOrigin, origin_view};
use super::{
    ApiError, ApiPath, ApiQuery, ApiResult, ErrorBody, Reads, bad_request, not_found_error,
};
use crate::json::Decimal;

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

pub(super) fn contribution_summary(dc: &Dc, contribution: &Contribution) -> ContributionSummary {
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
    let limit = query.limit(pages::CONTRIBUTIONS)?;
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
pub(super) async fn contribution(
    State(finalized): State<Reads>,
    ApiPath((dc_id, id)): ApiPath<(String, String)>,
) -> ApiResult<ContributionDetail> {
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (evaluations, evaluations_next) = evaluations_page(
        &chain,
        finalized.store(),
        dc,
        contribution,
        0,
        pages::EVALUATIONS.default,
    );
    let (thanks, thanks_next) = thanks_page(dc, contribution, 0, pages::EVALUATIONS.default);
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
    let limit = query.limit(pages::EVALUATIONS)?;
    let start = query.cursor_index()?.unwrap_or(0);
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (evaluations, next) =
        evaluations_page(&chain, finalized.store(), dc, contribution, start, limit);
    Ok(Json(EvaluationPage { evaluations, next }))
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
    let limit = query.limit(pages::EVALUATIONS)?;
    let start = query.cursor_index()?.unwrap_or(0);
    let chain = finalized.read();
    let (dc, contribution) = find_contribution(&chain, &dc_id, &id)?;
    let (thanks, next) = thanks_page(dc, contribution, start, limit);
    Ok(Json(ThanksPage { thanks, next }))
}
