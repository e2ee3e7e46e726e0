//! Payment periods.

use axum::Json;
use axum::extract::{FromRequest, Path, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::AppError;
use crate::app::AppState;
use crate::domain::period::PeriodCode;
use crate::service::{self, CreatePeriodError, PeriodRequest};
use crate::store::{Period, Upload};

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
    /// Target percentage, 0–100, at most 2 decimals.
    #[schema(value_type = Option<f64>)]
    pub target_pct: Option<Decimal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    #[serde(flatten)]
    pub period: Period,
    /// Vietnamese label of the code ("Quý 3/2024").
    pub label: String,
    #[schema(value_type = Option<f64>)]
    #[serde(with = "rust_decimal::serde::float_option")]
    pub target_pct: Option<Decimal>,
}

impl From<Period> for PeriodView {
    fn from(period: Period) -> Self {
        let label =
            PeriodCode::parse(&period.code).map_or_else(|_| period.code.clone(), |c| c.label_vi());
        let target_pct = period.target_bp.map(|bp| Decimal::new(bp, 2));
        PeriodView {
            period,
            label,
            target_pct,
        }
    }
}

/// Create a payment period.
#[utoipa::path(post, path = "/api/v1/periods", tag = "periods", request_body = CreatePeriod,
    responses((status = 201, body = PeriodView), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = [])))]
pub async fn create(
    State(st): State<AppState>,
    auth: Auth,
    AppJson(body): AppJson<CreatePeriod>,
) -> Result<(StatusCode, Json<PeriodView>), AppError> {
    auth.require_write()?;
    let req = PeriodRequest {
        code: body.code,
        programme: body.programme,
        locality: body.locality,
        target_pct: body.target_pct,
    };
    let period = service::create_period(st.store.as_ref(), req, &auth.actor())
        .await
        .map_err(|e| match e {
            CreatePeriodError::Fields(ref fields) => AppError::bad_request(e.to_string()).with(
                serde_json::json!({ "fields": fields.iter().map(|f| f.field).collect::<Vec<_>>() }),
            ),
            CreatePeriodError::Exists(..) => AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                "Xung đột / Conflict",
                e.to_string(),
            ),
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
    Ok(Json(p.into()))
}

/// Live figures: the current list against every payout file and every bank callback so
/// far, computed on read (stored runs stay as they were). Same keys as a run's report.
#[utoipa::path(get, path = "/api/v1/periods/{id}/coverage", tag = "reconciliations", params(("id" = i64, Path)),
    responses((status = 200, description = "the report JSON, live"), (status = 404), (status = 409, description = "no list yet")),
    security(("bearer" = [])))]
pub async fn coverage(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<crate::report::Report>, AppError> {
    auth.require_read()?;
    Ok(Json(
        crate::service::live_report(st.store.as_ref(), id).await?,
    ))
}

/// Every upload of a period (lists with their versions, payout files), oldest first.
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
    Ok(Json(st.store.list_uploads(id).await?))
}
