//! Bearer-token authentication; roles decide what a caller may do.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::AppError;
use crate::app::AppState;
use crate::domain::access::Role;
use crate::domain::units::Unit;
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

    /// The unit a read names (`asked`), else the caller's own: 404 when it is unknown or
    /// outside the caller's subtree (another unit's figures are not theirs to know of).
    pub fn read_unit(&self, asked: Option<&str>) -> Result<&'static Unit, AppError> {
        let unit = crate::service::unit_or(asked, &self.0.unit)?;
        if self.0.sees(&unit.code) {
            Ok(unit)
        } else {
            Err(super::units::unit_not_found(&unit.code))
        }
    }

    /// The unit a write names (`asked`), else the caller's own: 404 when unknown, 403 when
    /// outside the caller's subtree.
    pub fn write_unit(&self, asked: Option<&str>) -> Result<&'static Unit, AppError> {
        let unit = crate::service::unit_or(asked, &self.0.unit)?;
        self.may_write_in(&unit.code)?;
        Ok(unit)
    }

    /// 404 unless a resource of `unit` lies within the caller's subtree.
    pub fn may_see(&self, unit: &str, what: impl FnOnce() -> String) -> Result<(), AppError> {
        if self.0.sees(unit) {
            Ok(())
        } else {
            Err(AppError::not_found(what()))
        }
    }

    /// 403 unless `unit` lies within the caller's subtree.
    pub fn may_write_in(&self, unit: &str) -> Result<(), AppError> {
        if self.0.sees(unit) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "Mã của đơn vị {own} chỉ được ghi trong đơn vị {own} và các đơn vị trực thuộc, không phải {unit} / a token of unit {own} writes only within {own}'s subtree, not {unit}",
                own = self.0.unit
            )))
        }
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
