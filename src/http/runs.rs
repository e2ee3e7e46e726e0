//! Reconciliation runs: create (immutable), read, exceptions, downloads.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::{ApiQuery, AppError};
use crate::app::AppState;
use crate::domain::Lang;
use crate::domain::approval::Step;
use crate::report::ReportMeta;
use crate::service::{self, Download, ExceptionPage, ExceptionQuery};
use crate::store::RunInfo;

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedRun {
    #[serde(flatten)]
    pub run: RunInfo,
    /// The report, same keys as `GET /api/v1/reconciliations/{id}`.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
}

/// What to reconcile; every field optional (an empty body, or `null`, will do). Other
/// fields are ignored, as they were before the body was read at all.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CreateRun {
    /// The unit whose subtree to reconcile (`37`, `00004`), within the token's subtree;
    /// default: the token's unit.
    pub unit: Option<String>,
}

/// Reconcile a unit's subtree of the period (every current list with every payout, linked
/// as the whole period links them; figures and exceptions of the subtree); stores an
/// immutable run with the digest of every input it used.
#[utoipa::path(post, path = "/api/v1/periods/{id}/reconciliations", tag = "reconciliations", params(("id" = i64, Path)),
    request_body(content = Option<CreateRun>, description = "optional"),
    responses((status = 201, body = CreatedRun), (status = 403, description = "a unit outside the token's subtree"), (status = 404), (status = 409, description = "no beneficiary list yet")),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CreatedRun>), AppError> {
    auth.require_write()?;
    let req: CreateRun = if body.iter().all(u8::is_ascii_whitespace) {
        CreateRun::default()
    } else {
        serde_json::from_slice::<Option<CreateRun>>(&body)
            .map(Option::unwrap_or_default)
            .map_err(|e| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-json",
                    "JSON không hợp lệ / Invalid JSON",
                    e.to_string(),
                )
            })?
    };
    let unit = auth.write_unit(req.unit.as_deref())?;
    let (run, report_json) =
        service::reconcile_period(st.store.as_ref(), &st.search, id, &unit.code, &auth.actor())
            .await?;
    let report = serde_json::from_str(&report_json).map_err(AppError::internal)?;
    Ok((StatusCode::CREATED, Json(CreatedRun { run, report })))
}

/// The period's runs within the token's subtree, oldest first.
#[utoipa::path(get, path = "/api/v1/periods/{id}/reconciliations", tag = "reconciliations", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RunInfo>)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<Vec<RunInfo>>, AppError> {
    auth.require_read()?;
    if st.store.get_period(id).await?.is_none() {
        return Err(AppError::not_found(format!("period {id}")));
    }
    let mut runs = st.store.list_reconciliations(id).await?;
    runs.retain(|r| auth.0.sees(&r.unit));
    Ok(Json(runs))
}

/// A stored run the caller may read: 404 when there is none or it covers a unit outside
/// the caller's subtree.
async fn visible_run(st: &AppState, auth: &Auth, id: i64) -> Result<service::LoadedRun, AppError> {
    auth.require_read()?;
    let run = service::load_run(st.store.as_ref(), id).await?;
    auth.may_see(&run.stored.info.unit, || format!("reconciliation {id}"))?;
    Ok(run)
}

fn json_text(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// The report: coverage, outcomes, flags, row errors and breakdowns (the CLI's `--json` keys).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}", tag = "reconciliations", params(("id" = i64, Path)),
    responses((status = 200, description = "the report JSON"), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    auth.require_read()?;
    let run = st
        .store
        .get_reconciliation(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("reconciliation {id}")))?;
    auth.may_see(&run.info.unit, || format!("reconciliation {id}"))?;
    Ok(json_text(run.report_json))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    /// The run, its `state`, `steps`, `closure` and `post_close`.
    #[serde(flatten)]
    pub run: service::approval::RunView,
    /// Period, inputs with their SHA-256, target, tolerance, report SHA-256.
    #[schema(value_type = Object)]
    pub meta: ReportMeta,
    /// The SHA-256 and size of each file as first downloaded whole, per language
    /// (downloads are byte-stable: every later download of the run is the same bytes).
    pub downloads: Vec<crate::store::RunDownload>,
}

/// Where a run came from: its inputs and digests.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/meta", tag = "reconciliations", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 404)), security(("bearer" = [])))]
pub async fn meta(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<RunDetail>, AppError> {
    let run = visible_run(&st, &auth, id).await?;
    let downloads = st.store.run_downloads(id).await?;
    Ok(Json(RunDetail {
        run: service::approval::run_view(st.store.as_ref(), run.stored.info).await?,
        meta: run.meta,
        downloads,
    }))
}

/// Why a step is taken: required to return a run or reopen a period, optional otherwise.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct StepRequest {
    /// At most 1,000 characters.
    pub reason: Option<String>,
}

/// A step's body: optional where the reason is (an empty body, or `null`, will do).
fn step_request(body: &[u8]) -> Result<StepRequest, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(StepRequest::default());
    }
    serde_json::from_slice::<Option<StepRequest>>(body)
        .map(Option::unwrap_or_default)
        .map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "JSON không hợp lệ / Invalid JSON",
                e.to_string(),
            )
        })
}

async fn step(
    st: &AppState,
    auth: &Auth,
    id: i64,
    step: Step,
    body: &[u8],
) -> Result<Json<service::approval::RunView>, AppError> {
    let req = step_request(body)?;
    let view =
        service::approval::take_step(st.store.as_ref(), id, step, &auth.0, req.reason.as_deref())
            .await?;
    Ok(Json(view))
}

/// Submit a run for approval (an accountant): `draft` or `returned` → `submitted`.
#[utoipa::path(post, path = "/api/v1/reconciliations/{id}/submit", tag = "reconciliations", params(("id" = i64, Path)),
    request_body(content = Option<StepRequest>, description = "optional"),
    responses((status = 200, body = service::approval::RunView), (status = 403, description = "a role that may not submit"), (status = 404), (status = 409, description = "the run's state does not allow it")),
    security(("bearer" = [])))]
pub async fn submit(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<service::approval::RunView>, AppError> {
    step(&st, &auth, id, Step::Submit, &body).await
}

/// Approve a submitted run (an approver, never the token that submitted it): `submitted` →
/// `approved`. The period closes for the run's subtree: lists and payout files are refused
/// (409) until an approver reopens it; callbacks are still stored and counted apart
/// (`post_close`).
#[utoipa::path(post, path = "/api/v1/reconciliations/{id}/approve", tag = "reconciliations", params(("id" = i64, Path)),
    request_body(content = Option<StepRequest>, description = "optional"),
    responses((status = 200, body = service::approval::RunView), (status = 403, description = "not an approver, or the token that submitted the run"), (status = 404), (status = 409, description = "not submitted, or the unit's period is closed already")),
    security(("bearer" = [])))]
pub async fn approve(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<service::approval::RunView>, AppError> {
    step(&st, &auth, id, Step::Approve, &body).await
}

/// Return a submitted run with a reason (an approver, never the token that submitted it):
/// `submitted` → `returned`; it may be submitted again.
#[utoipa::path(post, path = "/api/v1/reconciliations/{id}/return", tag = "reconciliations", params(("id" = i64, Path)),
    request_body = StepRequest,
    responses((status = 200, body = service::approval::RunView), (status = 400, description = "no reason"), (status = 403, description = "not an approver, or the token that submitted the run"), (status = 404), (status = 409, description = "not submitted")),
    security(("bearer" = [])))]
pub async fn return_run(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<service::approval::RunView>, AppError> {
    step(&st, &auth, id, Step::Return, &body).await
}

/// Two runs of a period side by side: each figure in both and its change (the later run
/// minus the earlier), and the inputs kept, added and dropped between them: what changed,
/// and which files made it change.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/compare/{other}", tag = "reconciliations",
    params(("id" = i64, Path), ("other" = i64, Path, description = "another run of the same period")),
    responses((status = 200, body = service::compare::RunComparison), (status = 404), (status = 422, description = "the runs are of different periods or units")),
    security(("bearer" = [])))]
pub async fn compare(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, other)): Path<(i64, i64)>,
) -> Result<Json<service::compare::RunComparison>, AppError> {
    let a = visible_run(&st, &auth, id).await?;
    let b = visible_run(&st, &auth, other).await?;
    if !service::compare::comparable(&a.stored.info, &b.stored.info) {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "different-runs",
            "Chỉ so sánh hai lần đối soát của cùng kỳ và cùng đơn vị / Only runs of the same period and unit compare",
            format!("reconciliation {id} and {other}"),
        ));
    }
    Ok(Json(service::compare::compare(&a, &b)))
}

/// Exceptions, filtered and paged.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/exceptions", tag = "reconciliations",
    params(("id" = i64, Path), ExceptionQuery),
    responses((status = 200, body = ExceptionPage), (status = 404)), security(("bearer" = [])))]
pub async fn exceptions(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<Json<ExceptionPage>, AppError> {
    let run = visible_run(&st, &auth, id).await?;
    Ok(Json(
        service::exception_page(st.store.as_ref(), &st.search, &run, &q).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LangQuery {
    /// `vi` (default) or `en`.
    pub lang: Option<String>,
    /// CSV only: `semicolon` separates fields with `;` (Excel with Vietnamese regional
    /// settings); default `,`.
    pub sep: Option<String>,
    /// CSV only: `text` writes IDs and account numbers as `="035031509656"`, which Excel
    /// keeps as text when the file is double-clicked (no lost leading zeros).
    pub ids: Option<String>,
}

async fn download(
    st: AppState,
    auth: Auth,
    id: i64,
    what: Download,
    lang_q: LangQuery,
) -> Result<Response, AppError> {
    let run = visible_run(&st, &auth, id).await?;
    let lang = match lang_q.lang.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    };
    let csv =
        crate::report::csv::CsvStyle::from_query(lang_q.sep.as_deref(), lang_q.ids.as_deref());
    let body = service::download(st.store.clone(), run, what, lang, csv, &auth.actor()).await?;
    Ok(crate::app::download::response(what, id, body))
}

/// The report as stored (its SHA-256 is on record).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/report.json", tag = "downloads", params(("id" = i64, Path), LangQuery),
    responses((status = 200, content_type = "application/json")), security(("bearer" = [])))]
pub async fn report_json(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(l): ApiQuery<LangQuery>,
) -> Result<Response, AppError> {
    download(st, auth, id, Download::Json, l).await
}

/// Exceptions as CSV (UTF-8 with BOM, formula-injection safe).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/report.csv", tag = "downloads", params(("id" = i64, Path), LangQuery),
    responses((status = 200, content_type = "text/csv")), security(("bearer" = [])))]
pub async fn report_csv(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(l): ApiQuery<LangQuery>,
) -> Result<Response, AppError> {
    download(st, auth, id, Download::Csv, l).await
}

/// The workbook: Tổng hợp, Theo xã, Ngoại lệ, Lỗi dữ liệu.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/report.xlsx", tag = "downloads", params(("id" = i64, Path), LangQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")), security(("bearer" = [])))]
pub async fn report_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(l): ApiQuery<LangQuery>,
) -> Result<Response, AppError> {
    download(st, auth, id, Download::Xlsx, l).await
}

/// The exception filters and the language (documented as `ExceptionQuery`, `LangQuery`).
#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    #[serde(flatten)]
    pub filters: ExceptionQuery,
    /// `vi` (default) or `en`.
    pub lang: Option<String>,
    pub sep: Option<String>,
    pub ids: Option<String>,
}

async fn download_view(
    st: AppState,
    auth: Auth,
    id: i64,
    xlsx: bool,
    q: ViewQuery,
) -> Result<Response, AppError> {
    let run = visible_run(&st, &auth, id).await?;
    let lang = match q.lang.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Vi,
    };
    let csv = crate::report::csv::CsvStyle::from_query(q.sep.as_deref(), q.ids.as_deref());
    let body = service::download_view(
        st.store.clone(),
        run,
        xlsx,
        &q.filters,
        lang,
        csv,
        &auth.actor(),
    )
    .await?;
    Ok(crate::app::download::view_response(xlsx, id, body))
}

/// The exceptions the filters keep (the same filters as `…/exceptions`), as CSV: a
/// commune's or a bank's own list.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/exceptions.csv", tag = "downloads", params(("id" = i64, Path), ExceptionQuery, LangQuery),
    responses((status = 200, content_type = "text/csv")), security(("bearer" = [])))]
pub async fn exceptions_csv(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Response, AppError> {
    download_view(st, auth, id, false, q).await
}

/// The exceptions the filters keep, in the report workbook (its summary is the run's).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/exceptions.xlsx", tag = "downloads", params(("id" = i64, Path), ExceptionQuery, LangQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")), security(("bearer" = [])))]
pub async fn exceptions_xlsx(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<ViewQuery>,
) -> Result<Response, AppError> {
    download_view(st, auth, id, true, q).await
}

/// Failed, returned and unpaid beneficiaries, for re-payment.
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/follow-up.xlsx", tag = "downloads", params(("id" = i64, Path), LangQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")), security(("bearer" = [])))]
pub async fn follow_up(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    ApiQuery(l): ApiQuery<LangQuery>,
) -> Result<Response, AppError> {
    download(st, auth, id, Download::FollowUp, l).await
}

/// An exception's history (oldest first) and its state (`open` when nothing was recorded).
/// The key is the exception's `key` in `…/exceptions` (percent-encode `/`, `?`, `#`, `%`).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}/exceptions/{key}/resolutions", tag = "reconciliations",
    params(("id" = i64, Path), ("key" = String, Path, description = "the exception's key: b:<ID>, b:row:<list row>, p:<bank code>:<transaction_ref>")),
    responses((status = 200, body = service::resolutions::History), (status = 400, description = "a malformed key"), (status = 403, description = "a bank token"), (status = 404, description = "no such run or exception")),
    security(("bearer" = [])))]
pub async fn resolutions(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
) -> Result<Json<service::resolutions::History>, AppError> {
    let run = visible_run(&st, &auth, id).await?;
    Ok(Json(
        service::resolutions::history(st.store.as_ref(), &run, &key).await?,
    ))
}

/// Record what was done about an exception: a note or a state (`note`), a payout to nobody
/// linked to a beneficiary of the period (`link`, with `beneficiary` and a reason), a
/// beneficiary paid in cash after all (`paid_in_cash`, with a reason), a fix made elsewhere
/// (`confirm`). A link or a payment in cash changes the live figures and the next runs,
/// never this run. Accountants and admins, within their unit's subtree.
#[utoipa::path(post, path = "/api/v1/reconciliations/{id}/exceptions/{key}/resolutions", tag = "reconciliations",
    params(("id" = i64, Path), ("key" = String, Path, description = "the exception's key")),
    request_body = service::resolutions::ResolutionRequest,
    responses((status = 201, body = crate::store::Resolution), (status = 400, description = "a malformed request: key, action, state, note (at most 2,000 characters; required for link and paid_in_cash), beneficiary"),
        (status = 403, description = "a role that may not act (auditor, bank) or a run outside the token's subtree"), (status = 404, description = "no such run or exception"),
        (status = 409, description = "the action does not fit the exception (link of a beneficiary, paid_in_cash of a payout or of someone owed nothing), or the beneficiary is not on the period's current lists")),
    security(("bearer" = [])))]
pub async fn resolve(
    State(st): State<AppState>,
    auth: Auth,
    Path((id, key)): Path<(i64, String)>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<crate::store::Resolution>), AppError> {
    auth.require_write()?;
    let run = visible_run(&st, &auth, id).await?;
    auth.may_write_in(&run.stored.info.unit)?;
    let req: service::resolutions::ResolutionRequest =
        serde_json::from_slice(&body).map_err(|e| {
            AppError::new(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                "JSON không hợp lệ / Invalid JSON",
                e.to_string(),
            )
        })?;
    let entry = service::resolutions::resolve(st.store.as_ref(), &run, &key, req, &auth.0).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}
