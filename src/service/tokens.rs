//! API tokens as an administrator issues them: the role and bank checked, the secret (and
//! a bank's webhook secret) generated and shown once, only the token's SHA-256 stored.

use crate::domain::access::Role;
use crate::domain::banks::BankId;
use crate::store::{NewToken, Store, StoreError, TokenInfo};

/// A token as an administrator asks for it.
pub struct TokenRequest {
    pub name: String,
    /// As typed: `admin`, `accountant`, `auditor`, `bank`.
    pub role: String,
    /// The bank of a `bank` token, as typed (code, name or BIN).
    pub bank: Option<String>,
    /// The unit whose subtree the token reads and writes, by code (`37`, `00004`); none:
    /// `VN`, everything. Bank tokens speak for their bank, not a unit.
    pub unit: Option<String>,
    /// Who holds it, as pages name them ("Nguyễn Thị Hoa"); at most 100 characters.
    pub display_name: Option<String>,
}

/// A stored token and its secrets, to be shown once.
pub struct IssuedToken {
    pub info: TokenInfo,
    pub secret: String,
    /// Banks sign their callbacks with a secret issued alongside their token.
    pub webhook_secret: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "vai trò không hợp lệ / unknown role '{0}' (admin, accountant, approver, auditor, bank)"
    )]
    UnknownRole(String),
    #[error("ngân hàng không xác định / unknown bank '{0}'")]
    UnknownBank(String),
    #[error("vai trò bank cần --bank / a bank token needs --bank")]
    BankMissing,
    #[error("--bank chỉ dùng cho vai trò bank / --bank is for bank tokens only")]
    BankNotAllowed,
    #[error(
        "không có đơn vị mã '{0}' (VN, 2 chữ số cho tỉnh, 5 chữ số cho xã; xem GET /api/v1/units) / no unit '{0}' (VN, 2 digits for a province, 5 for a commune; see GET /api/v1/units)"
    )]
    UnknownUnit(String),
    #[error("--unit không dùng cho vai trò bank / bank tokens have no unit")]
    UnitNotAllowed,
    #[error(
        "tên hiển thị quá dài (tối đa 100 ký tự) hoặc có ký tự điều khiển / the display name is over 100 characters or has control characters"
    )]
    BadDisplayName,
    #[error("không có mã đang hoạt động tên '{0}' / no active token named '{0}'")]
    NoActiveToken(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check the request, generate the secrets, store the token (audited by the store).
#[tracing::instrument(skip_all, fields(role = %req.role, actor = %actor))]
pub async fn issue_token(
    store: &dyn Store,
    req: TokenRequest,
    actor: &str,
) -> Result<IssuedToken, TokenError> {
    let role = Role::parse(&req.role).ok_or_else(|| TokenError::UnknownRole(req.role.clone()))?;
    let bank_code = match (role, req.bank) {
        (Role::Bank, Some(b)) => Some(
            BankId::resolve(&b)
                .ok_or(TokenError::UnknownBank(b))?
                .code()
                .to_owned(),
        ),
        (Role::Bank, None) => return Err(TokenError::BankMissing),
        (_, Some(_)) => return Err(TokenError::BankNotAllowed),
        (_, None) => None,
    };
    let unit = match (role, req.unit.as_deref().map(str::trim)) {
        (_, None | Some("")) => crate::domain::units::NATION.to_owned(),
        (Role::Bank, Some(_)) => return Err(TokenError::UnitNotAllowed),
        (_, Some(u)) => crate::domain::units::shipped_tree()
            .get(u)
            .ok_or_else(|| TokenError::UnknownUnit(u.chars().take(40).collect()))?
            .code
            .clone(),
    };
    let display_name = match req.display_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) if d.chars().count() > 100 || d.chars().any(char::is_control) => {
            return Err(TokenError::BadDisplayName);
        }
        Some(d) => Some(d.to_owned()),
    };
    let secret = crate::tokens::generate();
    let webhook_secret = (role == Role::Bank).then(|| crate::webhook::WebhookSecret::generate().1);
    let new = NewToken {
        name: req.name.trim().to_owned(),
        role,
        bank_code,
        unit,
        token_hash: crate::tokens::hash(&secret),
        webhook_secret: webhook_secret.clone(),
        display_name,
    };
    let info = store.create_token(new, actor).await?;
    Ok(IssuedToken {
        info,
        secret,
        webhook_secret,
    })
}

/// Revoke the active token of that name; its sessions end with it.
#[tracing::instrument(skip_all, fields(actor = %actor))]
pub async fn revoke_token(store: &dyn Store, name: &str, actor: &str) -> Result<(), TokenError> {
    if store.revoke_token(name, actor).await? {
        Ok(())
    } else {
        Err(TokenError::NoActiveToken(name.to_owned()))
    }
}
