//! Administrative units (the 2025 tree) and programmes: the reference every period, list
//! and figure is attached to.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::error::AppError;
use super::periods::AppJson;
use crate::app::AppState;
use crate::service::{self, CreateProgrammeError, ProgrammeRequest};
use crate::store::{NATION, Programme, Unit};

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnitsQuery {
    /// The parent unit's code; `VN` (the provinces) when not given.
    pub parent: Option<String>,
}

/// Child units: the provinces, or `?parent=CODE`'s communes.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", params(UnitsQuery),
    responses((status = 200, body = Vec<Unit>), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    Query(q): Query<UnitsQuery>,
) -> Result<Json<Vec<Unit>>, AppError> {
    auth.require_read()?;
    let parent = q.parent.as_deref().map(str::trim).unwrap_or(NATION);
    if parent.len() > MAX_UNIT_CODE || st.store.get_unit(parent).await?.is_none() {
        return Err(unit_not_found(parent));
    }
    Ok(Json(st.store.child_units(parent).await?))
}

/// One unit.
#[utoipa::path(get, path = "/api/v1/units/{code}", tag = "units", params(("code" = String, Path)),
    responses((status = 200, body = Unit), (status = 401), (status = 404)),
    security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    Path(code): Path<String>,
) -> Result<Json<Unit>, AppError> {
    auth.require_read()?;
    let unit = if code.len() > MAX_UNIT_CODE {
        None
    } else {
        st.store.get_unit(code.trim()).await?
    };
    unit.map(Json).ok_or_else(|| unit_not_found(&code))
}

/// Longer than any unit code (`VN`, `01`, `00004`): not looked up at all.
pub(super) const MAX_UNIT_CODE: usize = 16;

/// 404 for a unit code as given: user input, so echoed bounded.
pub(super) fn unit_not_found(code: &str) -> AppError {
    let shown: String = code.chars().take(MAX_UNIT_CODE).collect();
    AppError::not_found(format!("unit {shown}"))
}

/// Every programme.
#[utoipa::path(get, path = "/api/v1/programmes", tag = "units",
    responses((status = 200, body = Vec<Programme>), (status = 401)),
    security(("bearer" = [])))]
pub async fn programmes(
    State(st): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<Programme>>, AppError> {
    auth.require_read()?;
    Ok(Json(st.store.list_programmes().await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateProgramme {
    /// 2–16 letters, digits or `_`; stored in capitals (`TCXH`).
    pub code: String,
    pub name: String,
}

/// Create a programme (admin).
#[utoipa::path(post, path = "/api/v1/programmes", tag = "units", request_body = CreateProgramme,
    responses((status = 201, body = Programme), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = [])))]
pub async fn create_programme(
    State(st): State<AppState>,
    auth: Auth,
    AppJson(body): AppJson<CreateProgramme>,
) -> Result<(StatusCode, Json<Programme>), AppError> {
    auth.require_admin()?;
    // Programmes are the whole country's, as periods are.
    if !auth.0.is_national() {
        return Err(AppError::forbidden(
            "Chế độ dùng chung cho cả nước: chỉ mã quản trị cấp toàn quốc (VN) tạo chế độ / programmes are the whole country's: only a national (VN) admin token creates them",
        ));
    }
    let req = ProgrammeRequest {
        code: body.code,
        name: body.name,
    };
    let created = service::create_programme(st.store.as_ref(), req, &auth.actor())
        .await
        .map_err(|e| match e {
            CreateProgrammeError::Fields(ref fields) => AppError::bad_fields(e.to_string(), fields),
            CreateProgrammeError::Exists(_) => AppError::conflict(e.to_string()),
            CreateProgrammeError::Store(e) => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(created)))
}
