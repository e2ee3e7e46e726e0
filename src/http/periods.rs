//! Payment periods.

use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::error::{ApiQuery, AppError};
use crate::app::AppState;
use crate::domain::period::{PeriodCode, TargetChange, TargetsBp, bp_pct};
use crate::service::{self, CreatePeriodError, PeriodRequest};
use crate::store::{CarryOver, Closure, Period, UnitTarget, Upload};

/// JSON bodies whose rejections use the problem format too.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePeriod {
    /// `2024-Q3`, `2024-09` (also `Q3/2024`, `09/2024`, `Quý 3/2024`…; stored canonical).
    pub code: String,
    /// A programme code (`TCXH`, the default; `NCC`, `HTXH`…), or its name as written.
    pub programme: Option<String>,
    pub locality: Option<String>,
    /// Target percentage for both rates, 0–100, at most 2 decimals.
    #[schema(value_type = Option<f64>)]
    pub target_pct: Option<Decimal>,
    /// The account coverage's own target (accounts opened), over `target_pct`.
    #[schema(value_type = Option<f64>)]
    pub account_coverage_target_pct: Option<Decimal>,
    /// The cashless rate's own target (paid to an account), over `target_pct`.
    #[schema(value_type = Option<f64>)]
    pub cashless_rate_target_pct: Option<Decimal>,
}

/// A level's targets as the API gives them: the target set for both rates, and the one
/// each rate is compared with there (its own, else the one for both).
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetsPct {
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub target_pct: Option<Decimal>,
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub account_coverage_target_pct: Option<Decimal>,
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub cashless_rate_target_pct: Option<Decimal>,
}

impl From<TargetsBp> for TargetsPct {
    fn from(t: TargetsBp) -> Self {
        let each = t.pct();
        TargetsPct {
            target_pct: t.all.map(bp_pct),
            account_coverage_target_pct: each.account_coverage,
            cashless_rate_target_pct: each.cashless_rate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    #[serde(flatten)]
    pub period: Period,
    /// Vietnamese label of the code ("Quý 3/2024").
    pub label: String,
    #[serde(flatten)]
    pub targets: TargetsPct,
    /// `GET /api/v1/periods/{id}` only: the units whose subtree an approved run closed
    /// (those within the caller's subtree or above it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closures: Vec<Closure>,
}

impl From<Period> for PeriodView {
    fn from(period: Period) -> Self {
        let label =
            PeriodCode::parse(&period.code).map_or_else(|_| period.code.clone(), |c| c.label_vi());
        PeriodView {
            targets: period.targets.into(),
            period,
            label,
            closures: Vec::new(),
        }
    }
}

/// Create a payment period, shared by every unit: a national (`VN`) token's to create.
#[utoipa::path(post, path = "/api/v1/periods", tag = "periods", request_body = CreatePeriod,
    responses((status = 201, body = PeriodView), (status = 400), (status = 401), (status = 403, description = "not a writer, or not a national (VN) token"), (status = 409)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: Auth,
    AppJson(body): AppJson<CreatePeriod>,
) -> Result<(StatusCode, Json<PeriodView>), AppError> {
    auth.require_write()?;
    // Every unit shares a period (and its locality and target): the country makes them.
    if !auth.0.is_national() {
        return Err(AppError::forbidden(
            "Kỳ chi trả dùng chung cho cả nước: chỉ mã cấp toàn quốc (VN) tạo kỳ / periods are shared by every unit: only a national (VN) token creates them",
        ));
    }
    let req = PeriodRequest {
        code: body.code,
        programme: body.programme,
        locality: body.locality,
        target_pct: body.target_pct,
        account_coverage_target_pct: body.account_coverage_target_pct,
        cashless_rate_target_pct: body.cashless_rate_target_pct,
    };
    let period = service::create_period(st.store.as_ref(), req, &auth.actor())
        .await
        .map_err(|e| match e {
            CreatePeriodError::Fields(ref fields) => AppError::bad_fields(e.to_string(), fields),
            CreatePeriodError::Exists(..) => AppError::conflict(e.to_string()),
            CreatePeriodError::Store(e) => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(period.into())))
}

/// List payment periods.
#[utoipa::path(get, path = "/api/v1/periods", tag = "periods",
    responses((status = 200, body = Vec<PeriodView>), (status = 401), (status = 403)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<PeriodView>>, AppError> {
    auth.require_read()?;
    Ok(Json(
        st.store
            .list_periods()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// One payment period.
#[utoipa::path(get, path = "/api/v1/periods/{id}", tag = "periods", params(("id" = i64, Path)),
    responses((status = 200, body = PeriodView), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<PeriodView>, AppError> {
    auth.require_read()?;
    let p = st
        .store
        .get_period(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("period {id}")))?;
    let mut view = PeriodView::from(p);
    let tree = crate::domain::units::shipped_tree();
    view.closures = service::approval::closures(st.store.as_ref(), id)
        .await?
        .into_iter()
        .filter(|c| auth.0.sees(&c.unit) || tree.is_within(&auth.0.unit, &c.unit))
        .collect();
    Ok(Json(view))
}

/// Reopen a closed period for a unit's subtree.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Reopen {
    /// Why (required, at most 1,000 characters): audited.
    pub reason: Option<String>,
    /// The unit whose subtree to reopen (the approved run's unit); default: the token's.
    pub unit: Option<String>,
}

/// Reopen the period for a unit's subtree closed by an approved run (an approver, with a
/// reason): lists and payout files are taken again; the run stays approved, its history
/// says the period was reopened; audited.
#[utoipa::path(post, path = "/api/v1/periods/{id}/reopen", tag = "periods", params(("id" = i64, Path)),
    request_body = Reopen,
    responses((status = 200, body = Closure, description = "the closure removed"), (status = 400, description = "no reason"), (status = 403, description = "not an approver, or a unit outside the token's subtree"), (status = 404), (status = 409, description = "not closed for that unit")),
    security(("bearer" = [])))]
pub async fn reopen(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    AppJson(req): AppJson<Reopen>,
) -> Result<Json<Closure>, AppError> {
    auth.require_read()?;
    let unit = crate::service::unit_or(req.unit.as_deref(), &auth.0.unit)?;
    let closure = service::approval::reopen(
        st.store.as_ref(),
        id,
        &unit.code,
        &auth.0,
        req.reason.as_deref(),
    )
    .await?;
    Ok(Json(closure))
}

/// Carry an approved run's follow-up into this period as arrears.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CarryOverRequest {
    /// The approved run (of an earlier period of the same programme) to carry over.
    pub from_run: i64,
}

/// Carry the follow-up of an approved run of an earlier period (its unpaid, failed and
/// returned people, and the rest of each underpayment) into this period as arrears (truy
/// lĩnh) for the run's unit. People without a valid 12-digit ID, paid in cash after all,
/// or paid by a bank after the approval are left out (`skipped`). This period's runs and
/// live figures then show `arrears {beneficiaries, amount_due, amount_paid,
/// amount_outstanding}` apart from the month's own amounts: a payment goes to the month
/// first, then to the arrears. Audited as `period.carry_over`.
#[utoipa::path(post, path = "/api/v1/periods/{id}/carry-over", tag = "periods", params(("id" = i64, Path)),
    request_body = CarryOverRequest,
    responses((status = 201, body = CarryOver, description = "carried: how many people, how much"),
        (status = 400, description = "`wrong-period`: the run is not of an earlier period of the same programme"),
        (status = 403, description = "a role that does not write"),
        (status = 404, description = "no such period, or a run outside the token's subtree"),
        (status = 409, description = "`not-approved`; `period-closed` for the run's unit; the run was carried into this period already")),
    security(("bearer" = [])))]
pub async fn carry_over(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    AppJson(req): AppJson<CarryOverRequest>,
) -> Result<(StatusCode, Json<CarryOver>), AppError> {
    auth.require_write()?;
    let carried =
        service::arrears::carry_over(st.store.as_ref(), id, req.from_run, &auth.0).await?;
    Ok((StatusCode::CREATED, Json(carried)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ArrearsQuery {
    /// A unit's code within the token's subtree; default: the token's unit.
    pub unit: Option<String>,
    /// People to skip (default 0).
    pub offset: Option<usize>,
    /// People to return (default 100, at most 1,000).
    pub limit: Option<usize>,
}

/// The arrears carried into the period for a unit's subtree, as the period stands now:
/// the figures, the carry-overs, and per person what is owed, paid and outstanding.
#[utoipa::path(get, path = "/api/v1/periods/{id}/arrears", tag = "periods", params(("id" = i64, Path), ArrearsQuery),
    responses((status = 200, body = crate::service::arrears::PeriodArrears), (status = 404, description = "no such period, or a unit outside the token's subtree")),
    security(("bearer" = [])))]
pub async fn arrears(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ArrearsQuery>,
) -> Result<Json<crate::service::arrears::PeriodArrears>, AppError> {
    auth.require_read()?;
    let unit = auth.read_unit(q.unit.as_deref())?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    Ok(Json(
        service::arrears::period_arrears(
            st.store.as_ref(),
            id,
            &unit.code,
            q.offset.unwrap_or(0),
            limit,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitQuery {
    /// A unit's code (`VN`, `37`, `00004`) within the token's subtree; default: the
    /// token's unit.
    pub unit: Option<String>,
}

/// Says whether live figures hold every bank callback received so far: `current`, or
/// `catching-up` while the server's background refresher is still taking some in (within
/// `DOISOAT_LIVE_REFRESH_MS` and the refresh's own time), or `updating` when a list or
/// bank file was added, made current or retired since: the figures are those before it,
/// while the server recomputes them in the background.
pub const LIVE_HEADER: &str = "x-doisoat-live";

fn freshness(f: crate::service::live::Freshness) -> [(&'static str, &'static str); 1] {
    [(LIVE_HEADER, f.as_str())]
}

/// Live figures of a unit's subtree: every current list of the period against every
/// payout file and every bank callback so far (stored runs stay as they were). Kept, not
/// recomputed per read: a read sums the subtree's kept figures. Callbacks are taken in by
/// the server in the background every `DOISOAT_LIVE_REFRESH_MS`; until they all are, the
/// `X-Doisoat-Live` header says `catching-up` (with the refresher off, a read takes them in
/// first). A new list or bank file is counted in the background: meanwhile the figures
/// before it, and `updating`. Equal to a reconciliation of the whole period scoped to the
/// unit. Same keys as a run's report; rates against the target that applies to the unit.
#[utoipa::path(get, path = "/api/v1/periods/{id}/coverage", tag = "reconciliations", params(("id" = i64, Path), UnitQuery),
    responses((status = 200, description = "the report JSON, live",
            headers(("x-doisoat-live" = String, description = "`current`; `catching-up` while callbacks received are still being taken in; `updating` while a new list or bank file is being counted (the figures before it meanwhile)"))),
        (status = 404, description = "no such period, or a unit outside the token's subtree"), (status = 409, description = "no list yet")),
    security(("bearer" = [])))]
pub async fn coverage(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<UnitQuery>,
) -> Result<
    (
        [(&'static str, &'static str); 1],
        Json<crate::report::Report>,
    ),
    AppError,
> {
    auth.require_read()?;
    let unit = auth.read_unit(q.unit.as_deref())?;
    let (report, fresh) = crate::service::live_report(st.store.as_ref(), id, &unit.code).await?;
    Ok((freshness(fresh), Json(report)))
}

/// This period's lists compared with those of the previous period of its programme (the
/// latest earlier period whose code is of the same kind: a month's with the month before,
/// a quarter's with the quarter before), for a unit's subtree, by personal ID: people
/// `added` (on this period's lists only), `removed` (on the previous period's only),
/// `amount_changed` (due another amount; before/after), `account_changed` (listed with
/// another account or bank; before/after). The four counts are exact; the rows come a page
/// at a time (`offset`, `limit`; `next_offset` names the next page), by change then
/// personal ID. `previous_period` is null, with no rows, when there is none.
#[utoipa::path(get, path = "/api/v1/periods/{id}/comparison", tag = "periods", params(("id" = i64, Path), crate::service::comparison::ComparisonParams),
    responses((status = 200, body = crate::service::comparison::Comparison),
        (status = 400, description = "an unknown change"), (status = 401), (status = 403, description = "a role that does not read periods"),
        (status = 404, description = "no such period, or a unit outside the token's subtree")),
    security(("bearer" = [])))]
pub async fn comparison(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<crate::service::comparison::ComparisonParams>,
) -> Result<Json<crate::service::comparison::Comparison>, AppError> {
    auth.require_read()?;
    let unit = auth.read_unit(q.unit.as_deref())?;
    let query = q.query().map_err(AppError::bad_request)?;
    Ok(Json(
        crate::service::comparison::compare(st.store.as_ref(), id, &unit.code, &query).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParentQuery {
    /// The parent unit's code within the token's subtree; default: the token's unit.
    pub parent: Option<String>,
}

/// Live figures of each child unit of `parent` that has data: each the exact sum of its
/// subtree (rates recomputed from the sums, never averaged), against the target that
/// applies to it. A parent's figures are the sum of its children's plus what counts at
/// the parent itself (list rows whose commune did not resolve, unmatched payouts of files
/// uploaded there).
#[utoipa::path(get, path = "/api/v1/periods/{id}/coverage/units", tag = "reconciliations", params(("id" = i64, Path), ParentQuery),
    responses((status = 200, description = "one row per child unit with data: {unit: {code, name, full_name, level}, beneficiaries, with_account, account_coverage_pct, …}",
            headers(("x-doisoat-live" = String, description = "`current`; `catching-up` while callbacks received are still being taken in; `updating` while a new list or bank file is being counted (the figures before it meanwhile)"))),
        (status = 404, description = "no such period, or a unit outside the token's subtree"), (status = 409, description = "no list yet")),
    security(("bearer" = [])))]
pub async fn coverage_units(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ParentQuery>,
) -> Result<
    (
        [(&'static str, &'static str); 1],
        Json<Vec<crate::report::UnitFigures>>,
    ),
    AppError,
> {
    auth.require_read()?;
    let parent = auth.read_unit(q.parent.as_deref())?;
    let (rollup, fresh) = crate::service::unit_rollup(st.store.as_ref(), id, &parent.code).await?;
    Ok((freshness(fresh), Json(rollup.children)))
}

/// Every upload of a period within the token's subtree (lists with their versions, payout
/// files), oldest first.
#[utoipa::path(get, path = "/api/v1/periods/{id}/uploads", tag = "uploads", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Upload>), (status = 404)), security(("bearer" = [])))]
pub async fn uploads(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Upload>>, AppError> {
    auth.require_read()?;
    if st.store.get_period(id).await?.is_none() {
        return Err(AppError::not_found(format!("period {id}")));
    }
    let mut uploads = st.store.list_uploads(id).await?;
    uploads.retain(|u| auth.0.sees(&u.unit));
    Ok(Json(uploads))
}

/// The units' own targets of a period, beside the period's.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetsView {
    /// The period's targets: they apply wherever a unit (or a unit above it) has none for
    /// that rate.
    #[serde(flatten)]
    pub period: TargetsPct,
    pub units: Vec<UnitTargetView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitTargetView {
    #[serde(flatten)]
    pub target: UnitTarget,
    /// The unit's own: for both rates (null when it set only a rate's own), and each rate's.
    #[serde(flatten)]
    pub targets: TargetsPct,
}

/// What applies to one unit, and whose target it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectiveTarget {
    pub unit: String,
    /// The target both rates are compared with, when they share one.
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub target_pct: Option<Decimal>,
    /// The unit whose own target `target_pct` is (the unit itself or one above it); null:
    /// the period's, or the rates' targets are not one.
    pub set_for: Option<String>,
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub account_coverage_target_pct: Option<Decimal>,
    /// Whose target the account coverage's is; null: the period's.
    pub account_coverage_set_for: Option<String>,
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub cashless_rate_target_pct: Option<Decimal>,
    /// Whose target the cashless rate's is; null: the period's.
    pub cashless_rate_set_for: Option<String>,
}

/// A change to a unit's own targets: each field named is set, null removes it, a field
/// left out stays as it is (a misspelt one is refused). At least one field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetTarget {
    /// For both rates: 0–100, at most 2 decimals.
    #[schema(value_type = Option<f64>)]
    #[serde(default, deserialize_with = "present")]
    pub target_pct: Option<Option<Decimal>>,
    /// The account coverage's own target, over `target_pct`.
    #[schema(value_type = Option<f64>)]
    #[serde(default, deserialize_with = "present")]
    pub account_coverage_target_pct: Option<Option<Decimal>>,
    /// The cashless rate's own target, over `target_pct`.
    #[schema(value_type = Option<f64>)]
    #[serde(default, deserialize_with = "present")]
    pub cashless_rate_target_pct: Option<Option<Decimal>>,
}

/// A field that is there, even as null: Some(None) for null, None only when it is missing.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Decimal>>, D::Error> {
    Option::<Decimal>::deserialize(d).map(Some)
}

async fn targets_of(st: &AppState, id: i64) -> Result<(Period, Vec<UnitTarget>), AppError> {
    let p = st
        .store
        .get_period(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("period {id}")))?;
    let own = st.store.unit_targets(id).await?;
    Ok((p, own))
}

/// The period's target and every unit's own.
#[utoipa::path(get, path = "/api/v1/periods/{id}/targets", tag = "periods", params(("id" = i64, Path)),
    responses((status = 200, body = TargetsView), (status = 404)), security(("bearer" = [])))]
pub async fn targets(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<TargetsView>, AppError> {
    auth.require_read()?;
    let (p, mut own) = targets_of(&st, id).await?;
    // The caller's subtree's targets, and those above it that apply to it.
    let tree = crate::domain::units::shipped_tree();
    own.retain(|t| auth.0.sees(&t.unit) || tree.is_within(&auth.0.unit, &t.unit));
    Ok(Json(TargetsView {
        period: p.targets.into(),
        units: own
            .into_iter()
            .map(|t| UnitTargetView {
                targets: t.targets.into(),
                target: t,
            })
            .collect(),
    }))
}

/// The target that applies to a unit: its own, else the nearest unit's above it, else the
/// period's.
#[utoipa::path(get, path = "/api/v1/periods/{id}/targets/{unit}", tag = "periods",
    params(("id" = i64, Path), ("unit" = String, Path)),
    responses((status = 200, body = EffectiveTarget), (status = 404)), security(("bearer" = [])))]
pub async fn unit_target(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, unit)): Path<(i64, String)>,
) -> Result<Json<EffectiveTarget>, AppError> {
    auth.require_read()?;
    let tree = crate::domain::units::shipped_tree();
    let unit = auth.read_unit(Some(&unit))?.code.clone();
    let (p, own) = targets_of(&st, id).await?;
    let own: std::collections::HashMap<String, TargetsBp> =
        own.into_iter().map(|t| (t.unit, t.targets)).collect();
    let at = tree.targets_for(&unit, &own, p.targets);
    let target_pct = at.pct().common();
    let set_for = (target_pct.is_some() && at.account_set_for == at.cashless_set_for)
        .then_some(at.account_set_for)
        .flatten();
    Ok(Json(EffectiveTarget {
        target_pct,
        set_for: set_for.map(str::to_owned),
        account_coverage_target_pct: at.account_bp.map(bp_pct),
        account_coverage_set_for: at.account_set_for.map(str::to_owned),
        cashless_rate_target_pct: at.cashless_bp.map(bp_pct),
        cashless_rate_set_for: at.cashless_set_for.map(str::to_owned),
        unit,
    }))
}

/// Set a unit's own targets for the period: `target_pct` for both rates,
/// `account_coverage_target_pct` and `cashless_rate_target_pct` for each (over the one for
/// both); a field named sets it, null removes it, a field left out is kept.
#[utoipa::path(put, path = "/api/v1/periods/{id}/targets/{unit}", tag = "periods",
    params(("id" = i64, Path), ("unit" = String, Path)), request_body = SetTarget,
    responses((status = 200, body = EffectiveTarget), (status = 400), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn set_unit_target(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, unit)): Path<(i64, String)>,
    AppJson(body): AppJson<SetTarget>,
) -> Result<Json<EffectiveTarget>, AppError> {
    auth.require_write()?;
    // A field left out: kept; null: removed; a number: set, once it passes the rule.
    let field = |name: &'static str, v: Option<Option<Decimal>>| {
        let Some(Some(t)) = v else {
            return Ok(v.map(|_| None));
        };
        match crate::domain::period::target_bp(t) {
            Some(bp) => Ok(Some(Some(bp))),
            None => Err(AppError::bad_request(format!(
                "{name}: {} / {}: {t}",
                crate::domain::period::TARGET_RULE_VI,
                crate::domain::period::TARGET_RULE_EN
            ))
            .with(serde_json::json!({ "fields": [name] }))),
        }
    };
    let change = TargetChange {
        all: field("target_pct", body.target_pct)?,
        account_coverage: field(
            "account_coverage_target_pct",
            body.account_coverage_target_pct,
        )?,
        cashless_rate: field("cashless_rate_target_pct", body.cashless_rate_target_pct)?,
    };
    if change.is_empty() {
        return Err(AppError::bad_request(
            "thiếu chỉ tiêu: target_pct, account_coverage_target_pct hoặc cashless_rate_target_pct (null để bỏ) / a target is required: target_pct, account_coverage_target_pct or cashless_rate_target_pct (null removes it)",
        )
        .with(serde_json::json!({ "fields": ["target_pct", "account_coverage_target_pct", "cashless_rate_target_pct"] })));
    }
    if unit.len() > super::units::MAX_UNIT_CODE {
        return Err(super::units::unit_not_found(&unit));
    }
    let unit = auth.write_unit(Some(&unit))?.code.clone();
    if !auth.0.sets_target_of(&unit) {
        return Err(AppError::forbidden(format!(
            "Chỉ tiêu của đơn vị {unit} do đơn vị cấp trên đặt / unit {unit}'s target is set by a unit above it"
        )));
    }
    st.store
        .set_unit_target(id, &unit, change, &auth.actor())
        .await?;
    unit_target(State(st), auth, Path((id, unit))).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentOrdersQuery {
    /// The bank the orders go to: its code (`VBA`), name or NAPAS BIN.
    pub bank: String,
    /// `pain.001` (default; version 10) or `xlsx` (the "bảng kê chi trả").
    pub format: Option<String>,
    /// pain.001's version: `10` (default) or `09`.
    pub version: Option<String>,
    /// The paying account (at most 34 letters and digits).
    pub debtor_account: String,
    /// The paying office's name (at most 140 characters).
    pub debtor_name: String,
    /// `true`: names and texts without diacritics, for banks that take only ASCII.
    pub ascii: Option<bool>,
    /// The requested execution date, `dd/mm/yyyy` or `yyyy-mm-dd`; default today
    /// (Vietnam time).
    pub execution_date: Option<String>,
    /// A unit's code within the token's subtree; default: the token's unit.
    pub unit: Option<String>,
    /// `true`: write again orders already sent in another message (the bank lost that
    /// file); without it such a request is refused (409 `orders-sent`).
    pub resend: Option<bool>,
}

/// Header: how many orders the file holds (its `NbOfTxs`).
pub const ORDERS_COUNT_HEADER: &str = "x-doisoat-orders";
/// Header: their total in đồng (its `CtrlSum`).
pub const ORDERS_SUM_HEADER: &str = "x-doisoat-control-sum";
/// Header: the pain.001 message id.
pub const ORDERS_MESSAGE_HEADER: &str = "x-doisoat-message-id";
/// Header: how many of the orders were written for the first time.
pub const ORDERS_NEW_HEADER: &str = "x-doisoat-new-orders";
/// Header: rows naming the bank left out (no usable account or name, not a positive whole
/// amount).
pub const ORDERS_LEFT_OUT_HEADER: &str = "x-doisoat-rows-not-ordered";

/// One bank's payment orders from the period's current lists of a unit's subtree: only
/// beneficiaries with an account at that bank, amounts in whole đồng, one payment
/// information block per list, as an ISO 20022 pain.001 credit transfer initiation
/// (version 10, or 09) or the same orders as an xlsx "bảng kê chi trả". Each order's
/// `EndToEndId` (`DS-{period}-{list}-{row}`, never the personal ID) is the same for the
/// same list version and row, and is stored: the bank's pain.002, camt.053/054 and MT940
/// answers, uploaded as payout files, link back to the rows they pay. Writers may fetch
/// any bank's orders; a bank's token its own bank's. Audited as `period.payment_orders`
/// when an order is new.
#[utoipa::path(get, path = "/api/v1/periods/{id}/payment-orders", tag = "periods", params(("id" = i64, Path), PaymentOrdersQuery),
    responses((status = 200, content_type = "application/xml", description = "the pain.001 file (or the xlsx); headers X-Doisoat-Orders, X-Doisoat-Control-Sum, X-Doisoat-Message-Id, X-Doisoat-New-Orders, X-Doisoat-Rows-Not-Ordered"),
        (status = 400, description = "an unknown bank, format, version or date; `debtor-account`, `debtor-name`"),
        (status = 403, description = "a role that does not write, or another bank's token"),
        (status = 404, description = "no such period, or a unit outside the token's subtree"),
        (status = 409, description = "`no-orders`: no beneficiary of those lists is paid into an account at that bank; `orders-sent`: these orders were sent in another message already (`resend=true` to write them again)")),
    security(("bearer" = [])))]
pub async fn payment_orders(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PaymentOrdersQuery>,
) -> Result<axum::response::Response, AppError> {
    use crate::report::pain001::Pain001Version;
    use crate::service::orders::{OrdersFormat, OrdersRequest};
    use axum::response::IntoResponse;
    let Some(bank) = crate::domain::banks::BankId::resolve(&q.bank) else {
        return Err(AppError::bad_request(format!(
            "bank: ngân hàng không xác định / unknown bank '{}'",
            q.bank.chars().take(60).collect::<String>()
        )));
    };
    let version = match q.version.as_deref() {
        None => Pain001Version::V10,
        Some(v) => Pain001Version::parse(v)
            .ok_or_else(|| AppError::bad_request("version: 10 hoặc/or 09"))?,
    };
    let format = match q.format.as_deref().map(str::trim) {
        None | Some("pain.001") | Some("pain001") | Some("xml") => OrdersFormat::Pain001(version),
        Some("xlsx") => OrdersFormat::Xlsx,
        Some(_) => return Err(AppError::bad_request("format: pain.001 hoặc/or xlsx")),
    };
    let execution_date = match q.execution_date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            chrono::NaiveDate::parse_from_str(d, "%d/%m/%Y")
                .or_else(|_| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
                .map_err(|_| AppError::bad_request("execution_date: dd/mm/yyyy"))?,
        ),
    };
    let unit = auth.read_unit(q.unit.as_deref())?;
    let file = service::orders::payment_orders(
        st.store.as_ref(),
        OrdersRequest {
            period_id: id,
            bank,
            unit: unit.code.clone(),
            debtor_account: q.debtor_account,
            debtor_name: q.debtor_name,
            format,
            ascii: q.ascii.unwrap_or(false),
            execution_date,
            resend: q.resend.unwrap_or(false),
        },
        &auth.0,
    )
    .await?;
    let disposition = format!("attachment; filename=\"{}\"", file.file_name);
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                file.content_type.to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (
                axum::http::HeaderName::from_static(ORDERS_COUNT_HEADER),
                file.orders.to_string(),
            ),
            (
                axum::http::HeaderName::from_static(ORDERS_SUM_HEADER),
                file.amount.normalize().to_string(),
            ),
            (
                axum::http::HeaderName::from_static(ORDERS_MESSAGE_HEADER),
                file.message_id,
            ),
            (
                axum::http::HeaderName::from_static(ORDERS_NEW_HEADER),
                file.new.to_string(),
            ),
            (
                axum::http::HeaderName::from_static(ORDERS_LEFT_OUT_HEADER),
                file.not_ordered.to_string(),
            ),
        ],
        file.body,
    )
        .into_response())
}
