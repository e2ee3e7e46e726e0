//! One error type for every handler, rendered as RFC 9457 problem+json. Internal causes
//! are logged in the request's span and never shown to the client.

use axum::Json;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::import::ImportError;
use crate::service::ServiceError;
use crate::store::StoreError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    /// Short slug for the problem type URI (`/problems/{slug}`).
    pub slug: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Extension members (e.g. the columns found when no header was found).
    pub extra: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            extra: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Yêu cầu không hợp lệ / Bad request",
            detail,
        )
    }
    /// 400 naming the request fields that cannot be used (`{"fields": [...]}`).
    pub fn bad_fields(detail: impl Into<String>, fields: &[crate::service::FieldError]) -> Self {
        let names: Vec<&str> = fields.iter().map(|f| f.field).collect();
        Self::bad_request(detail).with(serde_json::json!({ "fields": names }))
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "conflict",
            "Xung đột / Conflict",
            detail,
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Chưa xác thực / Unauthorized",
            "Cần mã truy cập hợp lệ: Authorization: Bearer <token> / a valid bearer token is required",
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Không có quyền / Forbidden",
            detail,
        )
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Không tìm thấy / Not found",
            detail,
        )
    }
    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Tệp quá lớn / Upload too large",
            format!(
                "Tệp vượt quá giới hạn {mb} MB; quản trị viên có thể nâng giới hạn bằng biến môi trường DOISOAT_MAX_UPLOAD_MB / the upload exceeds the {mb} MB limit; an administrator raises it with the DOISOAT_MAX_UPLOAD_MB setting",
                mb = limit_bytes / (1024 * 1024),
            ),
        )
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Lỗi máy chủ / Internal error",
            "Đã ghi nhận lỗi; vui lòng thử lại / the error was logged; please retry",
        )
    }
    pub fn with(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(extra);
        self
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("/problems/{}", self.slug),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let (Some(obj), Some(serde_json::Value::Object(extra))) =
            (body.as_object_mut(), self.extra)
        {
            obj.extend(extra);
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            Json(body),
        )
            .into_response()
    }
}

/// An error and every cause under it, "outer: inner: innermost", for the one log line.
pub fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        // Messages that already quote their cause are not repeated.
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => AppError::not_found(what),
            StoreError::Conflict(what) => AppError::conflict(what),
            other => AppError::internal(cause_chain(&other)),
        }
    }
}

impl From<ImportError> for AppError {
    fn from(e: ImportError) -> Self {
        let detail = e.to_string();
        let unreadable = |slug| {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                "Không đọc được tệp / Unreadable file",
                detail.clone(),
            )
        };
        match e {
            ImportError::UnsupportedFormat { .. } => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-format",
                "Định dạng không hỗ trợ / Unsupported file type",
                detail,
            ),
            ImportError::NoHeader { found, missing, .. } => unreadable("no-header")
                .with(json!({ "columns_found": found, "columns_missing": missing })),
            ImportError::SheetNotFound { available, .. } => {
                unreadable("sheet-not-found").with(json!({ "sheets": available }))
            }
            ImportError::Empty { .. } => unreadable("empty-file"),
            ImportError::Corrupt { .. } => unreadable("corrupt-file"),
            ImportError::NotUtf8 { .. } => unreadable("not-utf8"),
            ImportError::ZipBomb { .. } => unreadable("zip-bomb"),
            ImportError::TooManyCells { .. } => unreadable("too-many-cells"),
            ImportError::Password { .. } => unreadable("password-protected"),
            ImportError::WrongSlot { .. } => unreadable("wrong-slot"),
            ImportError::NoRows {
                data_rows,
                rejected_rows,
                errors,
                ..
            } => AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-rows",
                "Danh sách không có dòng hợp lệ / No usable row",
                detail.clone(),
            )
            .with(json!({
                "data_rows": data_rows,
                "rejected_rows": rejected_rows,
                "row_errors": errors.iter().take(200).collect::<Vec<_>>(),
            })),
            ImportError::NoSheet { .. } => unreadable("no-sheet"),
            ImportError::NoBank { .. } => unreadable("no-bank"),
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(what) => AppError::not_found(what),
            ServiceError::Import(e) => e.into(),
            ServiceError::Store(e) => e.into(),
            ServiceError::NoList(_) | ServiceError::NoListIn(..) => AppError::new(
                StatusCode::CONFLICT,
                "no-list",
                "Chưa có danh sách / No beneficiary list",
                e.to_string(),
            ),
            ServiceError::UnknownUnit(ref code) => super::units::unit_not_found(code),
            ServiceError::NeedsConfirmation(ref warnings) => AppError::new(
                StatusCode::CONFLICT,
                "title-mismatch",
                "Tiêu đề không khớp với kỳ / Title does not match the period",
                e.to_string(),
            )
            .with(json!({ "warnings": warnings, "confirm_with": "confirm=true" })),
            ServiceError::Forbidden(why) => AppError::forbidden(why),
            ServiceError::Closed {
                ref unit, run_id, ..
            } => {
                let unit = unit.clone();
                AppError::new(
                    StatusCode::CONFLICT,
                    "period-closed",
                    "Kỳ đã khóa / Period closed",
                    e.to_string(),
                )
                .with(json!({ "approved_run": run_id, "unit": unit }))
            }
            ServiceError::Invalid { slug, detail } => AppError::new(
                StatusCode::BAD_REQUEST,
                slug,
                "Yêu cầu không hợp lệ / Bad request",
                detail,
            ),
            ServiceError::Refused { slug, detail } => AppError::new(
                StatusCode::CONFLICT,
                slug,
                "Không thực hiện được / Refused",
                detail,
            ),
            ServiceError::Internal(cause) => AppError::internal(cause),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        AppError::new(
            r.status(),
            "invalid-json",
            "JSON không hợp lệ / Invalid JSON",
            r.body_text(),
        )
    }
}

impl From<MultipartRejection> for AppError {
    fn from(r: MultipartRejection) -> Self {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "not-multipart",
            "Cần gửi tệp dạng multipart/form-data / multipart/form-data expected",
            r.body_text(),
        )
    }
}

/// Multipart read errors: the body limit shows up here as 413.
pub fn multipart_error(e: MultipartError, limit: usize) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::too_large(limit)
    } else {
        AppError::bad_request(format!("multipart: {}", e.body_text()))
    }
}

/// A query string for the API; a value that cannot be read is a problem+json 400.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        crate::app::query::merged(parts.uri.query().unwrap_or(""))
            .map(ApiQuery)
            .map_err(|e| {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "bad-query",
                    "Tham số không hợp lệ / Invalid query parameter",
                    format!("Failed to deserialize query string: {e}"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_logged_down_to_the_root() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(cause_chain(&e), "outer: disk full");
        let quoted = StoreError::Corrupt("row 3".into());
        assert_eq!(cause_chain(&quoted), quoted.to_string());
    }
}
