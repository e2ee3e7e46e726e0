//! Beneficiary list and bank result file uploads (multipart, field `file`).

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;

use super::auth::Auth;
use super::error::{AppError, multipart_error};
use crate::app::AppState;
use crate::app::upload_form::{self, FormShape, UploadFormError, UploadedFile, read_upload_form};
use crate::domain::banks::BankId;
use crate::service::{self, UploadRequest};
use crate::store::{Upload, UploadKind};

#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documents the multipart form for the OpenAPI document.
pub struct UploadForm {
    /// The spreadsheet: xlsx, xls, ods or csv.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Payout files only: the bank, when the file has no bank column (name, code or BIN).
    bank: Option<String>,
    /// Lists only: `true` to store a list whose title names another period or locality
    /// (without it such a list is refused with 409 `title-mismatch`, naming what differs).
    confirm: Option<bool>,
    /// The unit the file is for (`37`, `00004`), within the token's subtree; default: the
    /// token's unit. A list is that unit's; a bank file's unmatched payouts count there.
    unit: Option<String>,
}

/// The API's form: one `file` part (the last, if several), `bank`, `confirm`.
async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
    limit: usize,
) -> Result<(UploadedFile, upload_form::UploadForm), AppError> {
    let shape = FormShape {
        file_field: "file",
        guard: None,
    };
    let mut form = read_upload_form(multipart?, limit, shape)
        .await
        .map_err(|e| match e {
            UploadFormError::Multipart(e) => multipart_error(e, limit),
            UploadFormError::FileTooLarge => AppError::too_large(limit),
            UploadFormError::Refused => AppError::bad_request(e.to_string()),
            UploadFormError::Spool(e) => AppError::internal(format!("upload spool: {e}")),
        })?;
    let file = form.files.pop().ok_or_else(|| {
        AppError::bad_request("Thiếu trường 'file' / missing multipart field 'file'")
    })?;
    Ok((file, form))
}

async fn store_upload(
    st: &AppState,
    auth: &Auth,
    period_id: i64,
    kind: UploadKind,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Upload>), AppError> {
    auth.require_write()?;
    // Refused before the body is read: a national file takes seconds to receive.
    if st.store.get_period(period_id).await?.is_none() {
        return Err(AppError::not_found(format!("period {period_id}")));
    }
    let (file, form) = read_form(multipart, st.config.max_upload_bytes).await?;
    let unit = auth.write_unit(form.unit.as_deref())?;
    let bank = match form.bank.as_deref() {
        None => None,
        Some(b) => Some(BankId::resolve(b).ok_or_else(|| {
            AppError::bad_request(format!("Ngân hàng không xác định / unknown bank: '{b}'"))
        })?),
    };
    let req = UploadRequest {
        period_id,
        file_name: file.name,
        body: file.body,
        bank,
        unit: unit.code.clone(),
        actor: auth.actor(),
        confirmed: form.confirm,
    };
    let saved = service::upload(st.store.as_ref(), kind, req, &st.imports).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(saved.value)))
}

/// Upload a beneficiary list for a unit (form field `unit`, default the token's); it becomes
/// that unit's current list in the period, other units' lists stay. The identical file
/// again returns the stored upload with 200. 409 when an ancestor or descendant unit has a
/// current list in the period (naming it), nothing stored.
#[utoipa::path(post, path = "/api/v1/periods/{id}/beneficiary-lists", tag = "uploads", params(("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Upload), (status = 200, body = Upload, description = "identical file already stored"),
        (status = 403, description = "a unit outside the token's subtree"),
        (status = 409, description = "the title names another period or locality (send confirm=true to store it anyway), or an ancestor's or descendant's list is current"),
        (status = 413), (status = 415), (status = 422)), security(("bearer" = [])))]
pub async fn beneficiary_list(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Upload>), AppError> {
    store_upload(&st, &auth, id, UploadKind::Beneficiaries, multipart).await
}

/// Upload a bank result file; the bank comes from the file's bank column or the form's `bank`.
#[utoipa::path(post, path = "/api/v1/periods/{id}/payout-files", tag = "uploads", params(("id" = i64, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Upload), (status = 200, body = Upload, description = "identical file already stored"),
        (status = 403, description = "a unit outside the token's subtree"),
        (status = 413), (status = 415), (status = 422)), security(("bearer" = [])))]
pub async fn payout_file(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Upload>), AppError> {
    store_upload(&st, &auth, id, UploadKind::Payouts, multipart).await
}

/// One upload, with its row errors.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "uploads", params(("id" = i64, Path)),
    responses((status = 200, body = Upload), (status = 404)), security(("bearer" = [])))]
pub async fn get(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<Upload>, AppError> {
    auth.require_read()?;
    let u = st
        .store
        .get_upload(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("upload {id}")))?;
    auth.may_see(&u.unit, || format!("upload {id}"))?;
    Ok(Json(u))
}

/// An upload the caller may change: 404 when there is none, 403 when it is another
/// unit's.
async fn writable_upload(st: &AppState, auth: &Auth, id: i64) -> Result<(), AppError> {
    auth.require_write()?;
    let u = st
        .store
        .get_upload(id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("upload {id}")))?;
    auth.may_write_in(&u.unit)
}

/// Make this beneficiary list its period's current list again (restoring it if it was
/// retired). Audited; the live figures follow at once, stored runs stay as they were.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/make-current", tag = "uploads", params(("id" = i64, Path)),
    responses((status = 200, body = Upload), (status = 403), (status = 404), (status = 409, description = "a bank result file, or an ancestor's or descendant's list is current")),
    security(("bearer" = [])))]
pub async fn make_current(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<Upload>, AppError> {
    writable_upload(&st, &auth, id).await?;
    Ok(Json(
        service::make_current(st.store.as_ref(), id, &auth.actor()).await?,
    ))
}

/// Retire an upload: its rows stop counting (a retired current list hands over to the list
/// that was current before it). Audited; uploading the same file again restores it.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/retire", tag = "uploads", params(("id" = i64, Path)),
    responses((status = 200, body = Upload), (status = 403), (status = 404), (status = 409, description = "already retired")),
    security(("bearer" = [])))]
pub async fn retire(
    State(st): State<AppState>,
    auth: Auth,
    Path(id): Path<i64>,
) -> Result<Json<Upload>, AppError> {
    writable_upload(&st, &auth, id).await?;
    Ok(Json(
        service::retire_upload(st.store.as_ref(), id, &auth.actor()).await?,
    ))
}
