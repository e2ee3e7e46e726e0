//! The audit trail, for auditors.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::error::{ApiQuery, AppError};
use crate::app::AppState;
use crate::domain::audit::{self, AuditEntry, Broken};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries after this sequence number (default 0).
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null at the end.
    pub next_after: Option<i64>,
}

/// Audit entries, oldest first: every entry for a national token; for a unit's, those of
/// its subtree (uploads, runs, targets and tokens of its units).
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403)), security(("bearer" = [])))]
pub async fn list(
    State(st): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, AppError> {
    auth.require_audit()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let mut after = q.after.unwrap_or(0).max(0);
    let mut entries = Vec::new();
    // Read on, a thousand at a time, until the page is full of entries the caller may
    // read, or the trail ends.
    const BATCH: i64 = 1000;
    let next_after = loop {
        let batch = st.store.audit_entries(after, BATCH).await?;
        let end = (batch.len() as i64) < BATCH;
        for e in batch {
            after = e.seq;
            if auth.0.reads_audit_entry(&e) {
                entries.push(e);
                if entries.len() as i64 == limit {
                    break;
                }
            }
        }
        if entries.len() as i64 == limit {
            break Some(after);
        }
        if end {
            break None;
        }
    };
    Ok(Json(AuditPage {
        entries,
        next_after,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    pub ok: bool,
    pub entries: usize,
    pub broken: Option<Broken>,
}

/// Re-check the hash chain; names the first broken entry.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = Verification), (status = 403)), security(("bearer" = [])))]
pub async fn verify(
    State(st): State<AppState>,
    auth: Auth,
) -> Result<Json<Verification>, AppError> {
    auth.require_audit()?;
    let entries = crate::service::audit_trail(st.store.as_ref()).await?;
    Ok(Json(match audit::verify(&entries) {
        Ok(n) => Verification {
            ok: true,
            entries: n,
            broken: None,
        },
        Err(b) => Verification {
            ok: false,
            entries: entries.len(),
            broken: Some(b),
        },
    }))
}
