//! Bearer-token authentication; roles decide what a caller may do.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::AppError;
use crate::app::AppState;
use crate::domain::access::Role;
use crate::store::TokenInfo;

/// The authenticated caller. Rejects with 401 when the token is missing, unknown or revoked.
pub struct Auth(pub TokenInfo);

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(AppError::unauthorized)?;
        let found = state
            .store
            .token_by_hash(&crate::tokens::hash(token))
            .await?;
        found.map(Auth).ok_or_else(AppError::unauthorized)
    }
}

impl Auth {
    pub fn role(&self) -> Role {
        self.0.role
    }

    /// Who did it, as written in the audit trail.
    pub fn actor(&self) -> String {
        self.0.actor()
    }

    pub fn require_write(&self) -> Result<(), AppError> {
        self.check(
            self.role().can_write(),
            "tạo kỳ, tải tệp và chạy đối soát / create periods, upload, run",
        )
    }

    pub fn require_read(&self) -> Result<(), AppError> {
        self.check(
            self.role().can_read(),
            "xem kỳ chi trả và báo cáo / read periods and reports",
        )
    }

    pub fn require_admin(&self) -> Result<(), AppError> {
        self.check(
            self.role() == Role::Admin,
            "quản trị (tạo chế độ) / administer (create programmes)",
        )
    }

    pub fn require_audit(&self) -> Result<(), AppError> {
        self.check(
            self.role().can_audit(),
            "xem nhật ký kiểm toán / read the audit trail",
        )
    }

    fn check(&self, ok: bool, what: &str) -> Result<(), AppError> {
        if ok {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Vai trò '{}' không được {what} / role '{}' may not do this",
                self.role().as_str(),
                self.role().as_str()
            )))
        }
    }
}
