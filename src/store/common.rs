//! What the SQLite and PostgreSQL stores share: the SQL (both accept `$1` parameters and
//! `RETURNING`), the flat records rows are read into, and `impl_store!`, which writes the
//! one `Store` implementation for each backend. A backend only supplies its pools:
//! `reader()` for reads and `begin_write()`, a transaction that already holds the
//! store-wide write lock, so the audit chain head, list versions and the idempotency check
//! never race.

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::records::dong;
use super::{
    CallbackPayout, NewUpload, Period, RunInfo, StoreError, StoreResult, StoredCallback, StoredRun,
    TokenInfo, Upload, UploadKind, WebSession,
};
use crate::audit::AuditEntry;
use crate::domain::access::Role;
use crate::domain::status::PayoutStatus;
use crate::import::{ControlTotal, RowError};

/// Rows per multi-row INSERT: 14 columns × 1,000 = 14,000 parameters, under SQLite's
/// 32,766 and PostgreSQL's 65,535, and large enough that 100,000 rows take 100 statements.
pub(super) const BATCH_ROWS: usize = 1_000;

/// The current time as both backends can store it: PostgreSQL keeps microseconds, so a
/// value truncated here reads back equal from either.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// `SELECT <every upload column> FROM uploads <rest>`, as a literal so `sqlx::query` takes it.
macro_rules! upload_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, kind, version, file_name, format, sheet, bank_code, sha256, \
             size_bytes, uploaded_by, created_at, header_row, data_rows, accepted_rows, \
             rejected_rows, control_total_row, control_total_stated, control_total_computed, \
             errors_json, notices_json, current_since, retired_at, retired_by, \
             (kind = 'beneficiaries' AND retired_at IS NULL AND current_since = \
              (SELECT MAX(c.current_since) FROM uploads c WHERE c.period_id = uploads.period_id \
               AND c.kind = 'beneficiaries' AND c.retired_at IS NULL)) AS is_current \
             FROM uploads ",
            $rest
        )
    };
}
pub(super) use upload_sql;

macro_rules! period_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, code, programme, locality, target_bp, created_at, created_by FROM periods ",
            $rest
        )
    };
}
pub(super) use period_sql;

macro_rules! token_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, role, bank_code, created_at, created_by, revoked_at FROM api_tokens ",
            $rest
        )
    };
}
pub(super) use token_sql;

macro_rules! run_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, list_upload_id, created_at, created_by, report_sha256, \
             meta_json, report_json, exceptions_json FROM reconciliations ",
            $rest
        )
    };
}
pub(super) use run_sql;

/// A run without its JSON texts (reports can be megabytes), for listings.
macro_rules! run_info_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, list_upload_id, created_at, created_by, report_sha256 \
             FROM reconciliations ",
            $rest
        )
    };
}
pub(super) use run_info_sql;

/// `SELECT <every callback payout column> FROM callback_payouts <rest>`.
macro_rules! callback_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, bank_code, transaction_ref, period_code, population_id, account_number, \
             beneficiary_name, amount, status, value_date, reason FROM callback_payouts ",
            $rest
        )
    };
}
pub(super) use callback_sql;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PeriodRecord {
    id: i64,
    code: String,
    programme: Option<String>,
    locality: Option<String>,
    target_bp: Option<i64>,
    created_at: DateTime<Utc>,
    created_by: String,
}

impl From<PeriodRecord> for Period {
    fn from(r: PeriodRecord) -> Self {
        Period {
            id: r.id,
            code: r.code,
            programme: r.programme,
            locality: r.locality,
            target_bp: r.target_bp,
            created_at: r.created_at,
            created_by: r.created_by,
        }
    }
}

/// `RowError` as stored in `errors_json`. A copy of the import type, so the stored format
/// is this module's contract (and the import type need not be deserializable).
#[derive(Serialize, Deserialize)]
struct StoredRowError {
    file: String,
    sheet: Option<String>,
    row: u32,
    column: Option<String>,
    column_name: Option<String>,
    value: String,
    reason_vi: String,
    reason_en: String,
}

/// The upload columns that are not plain copies of `NewUpload` fields.
pub(super) struct UploadColumns {
    pub control_total_row: Option<i64>,
    pub control_total_stated: Option<i64>,
    pub control_total_computed: Option<i64>,
    pub errors_json: String,
    pub notices_json: String,
}

impl UploadColumns {
    pub fn new(u: &NewUpload) -> StoreResult<Self> {
        let errors: Vec<StoredRowError> = u
            .errors
            .iter()
            .map(|e| StoredRowError {
                file: e.file.clone(),
                sheet: e.sheet.clone(),
                row: e.row,
                column: e.column.clone(),
                column_name: e.column_name.clone(),
                value: e.value.clone(),
                reason_vi: e.reason_vi.clone(),
                reason_en: e.reason_en.clone(),
            })
            .collect();
        let json = |r: serde_json::Result<String>| {
            r.map_err(|e| StoreError::Corrupt(format!("JSON: {e}")))
        };
        let (row, stated, computed) = match &u.control_total {
            Some(c) => (
                Some(i64::from(c.row)),
                Some(dong(c.stated)?),
                Some(dong(c.computed)?),
            ),
            None => (None, None, None),
        };
        Ok(Self {
            control_total_row: row,
            control_total_stated: stated,
            control_total_computed: computed,
            errors_json: json(serde_json::to_string(&errors))?,
            notices_json: json(serde_json::to_string(&u.notices))?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UploadRecord {
    id: i64,
    period_id: i64,
    kind: String,
    version: Option<i64>,
    file_name: String,
    format: String,
    sheet: Option<String>,
    bank_code: Option<String>,
    sha256: String,
    size_bytes: i64,
    uploaded_by: String,
    created_at: DateTime<Utc>,
    header_row: i64,
    data_rows: i64,
    accepted_rows: i64,
    rejected_rows: i64,
    control_total_row: Option<i64>,
    control_total_stated: Option<i64>,
    control_total_computed: Option<i64>,
    errors_json: String,
    notices_json: String,
    #[allow(dead_code)] // Read for ordering in SQL; `is_current` carries what it decides.
    current_since: Option<DateTime<Utc>>,
    retired_at: Option<DateTime<Utc>>,
    retired_by: Option<String>,
    is_current: Option<bool>,
}

impl UploadRecord {
    pub fn into_upload(self) -> StoreResult<Upload> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("upload {}: {what}: {e}", self.id))
        };
        let kind = match self.kind.as_str() {
            "beneficiaries" => UploadKind::Beneficiaries,
            "payouts" => UploadKind::Payouts,
            other => return Err(corrupt("kind", &other)),
        };
        let control_total = match (
            self.control_total_row,
            self.control_total_stated,
            self.control_total_computed,
        ) {
            (Some(row), Some(stated), Some(computed)) => Some(ControlTotal {
                row: u32::try_from(row).map_err(|e| corrupt("control_total_row", &e))?,
                stated: Decimal::from(stated),
                computed: Decimal::from(computed),
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("control_total", &"partly empty")),
        };
        let errors: Vec<StoredRowError> =
            serde_json::from_str(&self.errors_json).map_err(|e| corrupt("errors_json", &e))?;
        let notices: Vec<String> =
            serde_json::from_str(&self.notices_json).map_err(|e| corrupt("notices_json", &e))?;
        Ok(Upload {
            id: self.id,
            period_id: self.period_id,
            kind,
            version: self.version,
            file_name: self.file_name,
            format: self.format,
            sheet: self.sheet,
            bank_code: self.bank_code,
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            uploaded_by: self.uploaded_by,
            created_at: self.created_at,
            header_row: self.header_row,
            data_rows: self.data_rows,
            accepted_rows: self.accepted_rows,
            rejected_rows: self.rejected_rows,
            control_total,
            notices,
            current: self.is_current.unwrap_or(false),
            retired_at: self.retired_at,
            retired_by: self.retired_by,
            row_errors: errors
                .into_iter()
                .map(|e| RowError {
                    file: e.file,
                    sheet: e.sheet,
                    row: e.row,
                    column: e.column,
                    column_name: e.column_name,
                    value: e.value,
                    reason_vi: e.reason_vi,
                    reason_en: e.reason_en,
                })
                .collect(),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct TokenRecord {
    id: i64,
    name: String,
    role: String,
    bank_code: Option<String>,
    created_at: DateTime<Utc>,
    created_by: String,
    revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub fn into_info(self) -> StoreResult<TokenInfo> {
        let role = Role::parse(&self.role).ok_or_else(|| {
            StoreError::Corrupt(format!("token '{}': role '{}'", self.name, self.role))
        })?;
        Ok(TokenInfo {
            id: self.id,
            name: self.name,
            role,
            bank_code: self.bank_code,
            created_at: self.created_at,
            created_by: self.created_by,
            revoked_at: self.revoked_at,
        })
    }
}

/// A `web_sessions` row joined with its token (`session_sql!`).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct SessionRecord {
    #[sqlx(flatten)]
    token: TokenRecord,
    csrf_token: String,
    session_created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl SessionRecord {
    /// The session if it is still live at `now` (expired: `expires_at <= now`). Compared
    /// here rather than in SQL, so the rule is the same whatever each backend's time type.
    pub fn live_at(self, now: DateTime<Utc>) -> StoreResult<Option<WebSession>> {
        if self.expires_at <= now {
            return Ok(None);
        }
        Ok(Some(WebSession {
            token: self.token.into_info()?,
            csrf_token: self.csrf_token,
            created_at: self.session_created_at,
            expires_at: self.expires_at,
        }))
    }
}

/// `SELECT <session and its active token> FROM web_sessions JOIN api_tokens <rest>`: only
/// sessions of tokens not revoked.
macro_rules! session_sql {
    ($rest:literal) => {
        concat!(
            "SELECT t.id, t.name, t.role, t.bank_code, t.created_at, t.created_by, t.revoked_at, \
             s.csrf_token, s.created_at AS session_created_at, s.expires_at \
             FROM web_sessions s JOIN api_tokens t ON t.id = s.token_id AND t.revoked_at IS NULL ",
            $rest
        )
    };
}
pub(super) use session_sql;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RunInfoRecord {
    id: i64,
    period_id: i64,
    list_upload_id: i64,
    created_at: DateTime<Utc>,
    created_by: String,
    report_sha256: String,
}

impl From<RunInfoRecord> for RunInfo {
    fn from(r: RunInfoRecord) -> Self {
        RunInfo {
            id: r.id,
            period_id: r.period_id,
            list_upload_id: r.list_upload_id,
            created_at: r.created_at,
            created_by: r.created_by,
            report_sha256: r.report_sha256,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RunRecord {
    id: i64,
    period_id: i64,
    list_upload_id: i64,
    created_at: DateTime<Utc>,
    created_by: String,
    report_sha256: String,
    meta_json: String,
    report_json: String,
    exceptions_json: String,
}

impl RunRecord {
    pub fn into_stored(self) -> StoredRun {
        StoredRun {
            info: RunInfo {
                id: self.id,
                period_id: self.period_id,
                list_upload_id: self.list_upload_id,
                created_at: self.created_at,
                created_by: self.created_by,
                report_sha256: self.report_sha256,
            },
            meta_json: self.meta_json,
            report_json: self.report_json,
            exceptions_json: self.exceptions_json,
        }
    }
}

/// A `callback_payouts` row: a payout's current state.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct CallbackRecord {
    pub id: i64,
    pub bank_code: String,
    pub transaction_ref: String,
    pub period_code: String,
    pub population_id: Option<String>,
    pub account_number: String,
    pub beneficiary_name: Option<String>,
    pub amount: i64,
    pub status: String,
    pub value_date: chrono::NaiveDate,
    pub reason: Option<String>,
}

impl CallbackRecord {
    pub fn payout(&self) -> StoreResult<CallbackPayout> {
        let status = PayoutStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "callback payout {}: status '{}'",
                self.id, self.status
            ))
        })?;
        Ok(CallbackPayout {
            transaction_ref: self.transaction_ref.clone(),
            period: self.period_code.clone(),
            population_id: self.population_id.clone(),
            account_number: self.account_number.clone(),
            beneficiary_name: self.beneficiary_name.clone(),
            amount: self.amount,
            status,
            value_date: self.value_date,
            reason: self.reason.clone(),
        })
    }

    pub fn into_stored(self) -> StoreResult<StoredCallback> {
        Ok(StoredCallback {
            payout: self.payout()?,
            id: self.id,
            bank_code: self.bank_code,
        })
    }
}

/// A `callback_payouts` row with its version, as `save_callbacks` loads a group's state.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct CallbackStateRecord {
    #[sqlx(flatten)]
    pub record: CallbackRecord,
    pub version: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct AuditRecord {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    details: String,
    prev_hash: String,
    hash: String,
}

impl From<AuditRecord> for AuditEntry {
    fn from(r: AuditRecord) -> Self {
        AuditEntry {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// The `Store` implementation both backends share, generated for `$store` (a type in the
/// invoking module with `fn reader(&self) -> &Pool<$db>` and
/// `async fn begin_write(&self) -> StoreResult<Transaction<'static, $db>>`).
/// A macro rather than generic functions: sqlx's executor bounds over a generic database
/// would outweigh the code they share.
macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:literal) => {
        mod shared_impl {
            use std::collections::HashMap;
            use std::sync::Arc;

            use async_trait::async_trait;
            use chrono::{DateTime, SubsecRound, Utc};
            use serde_json::json;
            use sqlx::QueryBuilder;

            use super::$store;
            use $crate::audit::{Action, AuditEntry, NewAuditEntry};
            use $crate::domain::records::{BeneficiaryRow, PayoutRow};
            use $crate::store::decide::{CallbackSlot, Decided, PendingEvent, SlotAnswer, decide};
            use $crate::store::common::{
                AuditRecord, BATCH_ROWS, CallbackRecord, CallbackStateRecord, PeriodRecord, RunInfoRecord, RunRecord,
                SessionRecord, TokenRecord, UploadColumns, UploadRecord, callback_sql,
                is_unique_violation, now, period_sql, run_info_sql, run_sql, session_sql, token_sql,
                upload_sql,
            };
            use $crate::store::{
                BeneficiaryRecord, CallbackPayout, CallbackRequest, CallbackVerdict, NewPeriod,
                NewRun, NewSession, NewToken, NewUpload, PayoutRecord, Period, PeriodInputs, RunInfo, Saved, Store,
                StoreError, StoreResult, StoredCallback, StoredRun, TokenInfo, Upload, UploadKind, WebSession,
            };

            type Db = $db;
            type Tx = sqlx::Transaction<'static, Db>;

            /// Chain `entry` after the last stored one. The caller's transaction holds the
            /// write lock, so no other writer can read the same head; it may be a savepoint,
            /// and entries appended earlier in the same transaction are the head it sees.
            async fn append_in(
                tx: &mut sqlx::Transaction<'_, Db>,
                entry: NewAuditEntry,
                at: DateTime<Utc>,
            ) -> StoreResult<AuditEntry> {
                let prev: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                let e = entry.chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), at);
                sqlx::query(
                    "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(e.seq)
                .bind(&e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.subject)
                .bind(&e.details)
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .execute(&mut **tx)
                .await?;
                Ok(e)
            }

            async fn period_exists(tx: &mut Tx, period_id: i64) -> StoreResult<()> {
                let found: Option<i64> = sqlx::query_scalar("SELECT id FROM periods WHERE id = $1")
                    .bind(period_id)
                    .fetch_optional(&mut **tx)
                    .await?;
                match found {
                    Some(_) => Ok(()),
                    None => Err(StoreError::NotFound(format!("period {period_id}"))),
                }
            }

            async fn upload_in(tx: &mut Tx, id: i64) -> StoreResult<Upload> {
                let r: UploadRecord = sqlx::query_as(upload_sql!("WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut **tx)
                    .await?;
                r.into_upload()
            }

            /// An upload back in use: a list becomes its period's current list (restored if
            /// retired), a retired payout file counts again. Audited when anything changed.
            async fn reinstate_in(tx: &mut Tx, existing: Upload, actor: &str, at: DateTime<Utc>, why: &str) -> StoreResult<Upload> {
                let is_list = existing.kind == UploadKind::Beneficiaries;
                if existing.retired_at.is_none() && (!is_list || existing.current) {
                    return Ok(existing);
                }
                sqlx::query(
                    "UPDATE uploads SET current_since = CASE WHEN kind = 'beneficiaries' THEN $1 ELSE current_since END, \
                     retired_at = NULL, retired_by = NULL WHERE id = $2",
                )
                .bind(at)
                .bind(existing.id)
                .execute(&mut **tx)
                .await?;
                let action = if is_list { Action::UploadMakeCurrent } else { Action::UploadRestore };
                let entry = NewAuditEntry::new(
                    actor,
                    action,
                    format!("period/{}", existing.period_id),
                    json!({
                        "upload_id": existing.id,
                        "version": existing.version,
                        "file_name": existing.file_name,
                        "was_retired": existing.retired_at.is_some(),
                        "why": why,
                    }),
                );
                append_in(tx, entry, at).await?;
                upload_in(tx, existing.id).await
            }

            async fn existing_upload(tx: &mut Tx, id: i64) -> StoreResult<Upload> {
                let r: Option<UploadRecord> = sqlx::query_as(upload_sql!("WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut **tx)
                    .await?;
                r.ok_or_else(|| StoreError::NotFound(format!("upload {id}")))?.into_upload()
            }

            /// The first half of saving an upload: the period must exist; the identical
            /// file already stored is returned as is; otherwise the upload row is inserted
            /// (lists get the next version) and its id returned.
            async fn insert_upload(
                tx: &mut Tx,
                period_id: i64,
                kind: UploadKind,
                u: &NewUpload,
                actor: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<Result<i64, Upload>> {
                period_exists(tx, period_id).await?;
                let existing: Option<UploadRecord> =
                    sqlx::query_as(upload_sql!("WHERE period_id = $1 AND kind = $2 AND sha256 = $3"))
                        .bind(period_id)
                        .bind(kind.as_str())
                        .bind(&u.sha256)
                        .fetch_optional(&mut **tx)
                        .await?;
                if let Some(r) = existing {
                    return Ok(Err(r.into_upload()?));
                }
                let version: Option<i64> = match kind {
                    UploadKind::Beneficiaries => {
                        let max: i64 = sqlx::query_scalar(
                            "SELECT COALESCE(MAX(version), 0) FROM uploads WHERE period_id = $1 AND kind = $2",
                        )
                        .bind(period_id)
                        .bind(kind.as_str())
                        .fetch_one(&mut **tx)
                        .await?;
                        Some(max + 1)
                    }
                    UploadKind::Payouts => None,
                };
                let c = UploadColumns::new(u)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO uploads (period_id, kind, version, file_name, format, sheet, bank_code, \
                     sha256, size_bytes, uploaded_by, created_at, header_row, data_rows, accepted_rows, \
                     rejected_rows, control_total_row, control_total_stated, control_total_computed, \
                     errors_json, notices_json, current_since) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                     $18, $19, $20, $21) RETURNING id",
                )
                .bind(period_id)
                .bind(kind.as_str())
                .bind(version)
                .bind(&u.file_name)
                .bind(&u.format)
                .bind(&u.sheet)
                .bind(&u.bank_code)
                .bind(&u.sha256)
                .bind(u.size_bytes)
                .bind(actor)
                .bind(at)
                .bind(u.header_row)
                .bind(u.data_rows)
                .bind(u.accepted_rows)
                .bind(u.rejected_rows)
                .bind(c.control_total_row)
                .bind(c.control_total_stated)
                .bind(c.control_total_computed)
                .bind(&c.errors_json)
                .bind(&c.notices_json)
                .bind((kind == UploadKind::Beneficiaries).then_some(at))
                .fetch_one(&mut **tx)
                .await?;
                Ok(Ok(id))
            }

            fn json_text<T: serde::Serialize>(what: &str, value: &T) -> StoreResult<String> {
                serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
            }

            /// Load the stored state of every (bank, reference) the group names, with the
            /// states each passed through: one query per bank and per 1,000 references.
            async fn load_callback_slots(
                tx: &mut Tx,
                requests: &[CallbackRequest],
            ) -> StoreResult<(Vec<CallbackSlot>, HashMap<String, HashMap<String, usize>>)> {
                let mut wanted: HashMap<&str, Vec<&str>> = HashMap::new();
                let mut seen: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
                for req in requests {
                    for item in &req.items {
                        if seen.insert((req.bank_code.as_str(), item.transaction_ref.as_str())) {
                            wanted.entry(req.bank_code.as_str()).or_default().push(item.transaction_ref.as_str());
                        }
                    }
                }
                let mut slots = Vec::new();
                let mut index: HashMap<String, HashMap<String, usize>> = HashMap::new();
                let mut by_id: HashMap<i64, usize> = HashMap::new();
                for (bank, refs) in &wanted {
                    for chunk in refs.chunks(BATCH_ROWS) {
                        // PostgreSQL: one index lookup per reference. An IN list, or a plain
                        // LATERAL join (which the planner flattens into a hash join), may be
                        // planned as a scan of the bank's whole table while its statistics lag
                        // behind a burst of callbacks; LIMIT 1 (the key is unique) keeps the
                        // subquery a per-reference index probe whatever the statistics say.
                        let mut qb: QueryBuilder<Db> = QueryBuilder::new(if $backend == "postgres" {
                            "SELECT c.id, c.bank_code, c.transaction_ref, c.period_code, c.population_id, \
                             c.account_number, c.beneficiary_name, c.amount, c.status, c.value_date, c.reason, \
                             c.version FROM (VALUES "
                        } else {
                            "SELECT id, bank_code, transaction_ref, period_code, population_id, account_number, \
                             beneficiary_name, amount, status, value_date, reason, version FROM callback_payouts \
                             WHERE transaction_ref IN ("
                        });
                        let mut list = qb.separated(", ");
                        for r in chunk {
                            list.push("(");
                            list.push_bind_unseparated(*r);
                            list.push_unseparated(")");
                        }
                        if $backend == "postgres" {
                            qb.push(
                                ") AS r (tref) CROSS JOIN LATERAL (SELECT * FROM callback_payouts \
                                 WHERE bank_code = ",
                            );
                            qb.push_bind(*bank);
                            qb.push(" AND transaction_ref = r.tref LIMIT 1) AS c");
                        } else {
                            qb.push(") AND bank_code = ");
                            qb.push_bind(*bank);
                        }
                        let rows: Vec<CallbackStateRecord> = qb.build_query_as().fetch_all(&mut **tx).await?;
                        for row in rows {
                            let rec = row.record;
                            let current = rec.payout().map_err(|_| (rec.id, rec.status.clone()));
                            let i = slots.len();
                            by_id.insert(rec.id, i);
                            index.entry(rec.bank_code.clone()).or_default().insert(rec.transaction_ref.clone(), i);
                            slots.push(CallbackSlot {
                                bank_code: rec.bank_code,
                                id: Some(rec.id),
                                current,
                                content_sha256: String::new(),
                                version: row.version,
                                received_at: DateTime::<Utc>::MIN_UTC,
                                updated_at: DateTime::<Utc>::MIN_UTC,
                                inserted: false,
                                updated: false,
                                events: Vec::new(),
                            });
                        }
                    }
                }
                let ids: Vec<i64> = slots.iter().filter_map(|s| s.id).collect();
                for chunk in ids.chunks(BATCH_ROWS) {
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(if $backend == "postgres" {
                        "SELECT e.payout_id, e.version, e.content_sha256, e.answer_json FROM (VALUES "
                    } else {
                        "SELECT payout_id, version, content_sha256, answer_json FROM callback_events \
                         WHERE payout_id IN ("
                    });
                    let mut list = qb.separated(", ");
                    for id in chunk {
                        list.push("(");
                        list.push_bind_unseparated(*id);
                        list.push_unseparated(")");
                    }
                    // OFFSET 0: the same planner fence as LIMIT 1 above (a payout has several events).
                    if $backend == "postgres" {
                        qb.push(
                            ") AS r (id) CROSS JOIN LATERAL (SELECT * FROM callback_events \
                             WHERE payout_id = r.id OFFSET 0) AS e ORDER BY e.payout_id, e.version",
                        );
                    } else {
                        qb.push(") ORDER BY payout_id, version");
                    }
                    let rows: Vec<(i64, i64, String, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
                    for (payout_id, _version, sha, answer_json) in rows {
                        if let Some(&i) = by_id.get(&payout_id) {
                            slots[i].events.push((sha, SlotAnswer::Stored(answer_json)));
                        }
                    }
                }
                Ok((slots, index))
            }

            /// Write what `save_callbacks` decided: new payouts (their ids set in `slots`),
            /// moved payouts, new events with their answers, in few statements.
            async fn write_callback_slots(
                tx: &mut Tx,
                requests: &[CallbackRequest],
                slots: &mut [CallbackSlot],
                events: &mut [PendingEvent],
            ) -> StoreResult<()> {
                let new: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].inserted).collect();
                for chunk in new.chunks(BATCH_ROWS) {
                    let mut by_key: HashMap<(&str, &str), usize> = HashMap::new();
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                        "INSERT INTO callback_payouts (bank_code, transaction_ref, period_code, population_id, \
                         account_number, beneficiary_name, amount, status, value_date, reason, content_sha256, \
                         version, received_at, updated_at) ",
                    );
                    let mut rows = Vec::with_capacity(chunk.len());
                    for &i in chunk {
                        let s = &slots[i];
                        let Ok(p) = &s.current else {
                            return Err(StoreError::Corrupt("callback payout: new state unreadable".into()));
                        };
                        by_key.insert((s.bank_code.as_str(), p.transaction_ref.as_str()), i);
                        rows.push((s, p));
                    }
                    qb.push_values(rows, |mut b, (s, p)| {
                        b.push_bind(&s.bank_code)
                            .push_bind(&p.transaction_ref)
                            .push_bind(&p.period)
                            .push_bind(&p.population_id)
                            .push_bind(&p.account_number)
                            .push_bind(&p.beneficiary_name)
                            .push_bind(p.amount)
                            .push_bind(p.status.as_str())
                            .push_bind(p.value_date)
                            .push_bind(&p.reason)
                            .push_bind(&s.content_sha256)
                            .push_bind(s.version)
                            .push_bind(s.received_at)
                            .push_bind(s.updated_at);
                    });
                    qb.push(" RETURNING id, bank_code, transaction_ref");
                    let returned: Vec<(i64, String, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
                    let mut ids = Vec::with_capacity(returned.len());
                    for (id, bank, tref) in &returned {
                        let i = by_key.get(&(bank.as_str(), tref.as_str())).copied().ok_or_else(|| {
                            StoreError::Corrupt(format!("callback payout {id}: inserted row not in the group"))
                        })?;
                        ids.push((i, *id));
                    }
                    if ids.len() != chunk.len() {
                        return Err(StoreError::Corrupt("callback payouts: insert returned too few rows".into()));
                    }
                    for (i, id) in ids {
                        slots[i].id = Some(id);
                    }
                }
                for s in slots.iter().filter(|s| s.updated) {
                    let Ok(p) = &s.current else {
                        return Err(StoreError::Corrupt("callback payout: new state unreadable".into()));
                    };
                    sqlx::query(
                        "UPDATE callback_payouts SET status = $1, reason = $2, value_date = $3, content_sha256 = $4, \
                         version = $5, updated_at = $6 WHERE id = $7",
                    )
                    .bind(p.status.as_str())
                    .bind(&p.reason)
                    .bind(p.value_date)
                    .bind(&s.content_sha256)
                    .bind(s.version)
                    .bind(s.updated_at)
                    .bind(s.id)
                    .execute(&mut **tx)
                    .await?;
                }
                let mut rows = Vec::with_capacity(events.len());
                for e in events.iter_mut() {
                    e.answer.payout_id = slots[e.slot]
                        .id
                        .ok_or_else(|| StoreError::Corrupt("callback payout without an id".into()))?;
                    let req = &requests[e.request];
                    rows.push((
                        e.answer.payout_id,
                        e.answer.version,
                        e.content_sha256.as_str(),
                        json_text("callback content", &req.items[e.item])?,
                        json_text("callback answer", &e.answer)?,
                        req.webhook_id.as_str(),
                        req.token_name.as_str(),
                        e.answer.received_at,
                    ));
                }
                for chunk in rows.chunks(BATCH_ROWS) {
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                        "INSERT INTO callback_events (payout_id, version, content_sha256, content_json, answer_json, \
                         webhook_id, token_name, received_at) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.0)
                            .push_bind(r.1)
                            .push_bind(r.2)
                            .push_bind(&r.3)
                            .push_bind(&r.4)
                            .push_bind(r.5)
                            .push_bind(r.6)
                            .push_bind(r.7);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Chain `entries` (in order) after the last stored audit entry, with one read
            /// of the head and one INSERT per 1,000 entries.
            async fn append_many_in(tx: &mut Tx, entries: Vec<(NewAuditEntry, DateTime<Utc>)>) -> StoreResult<()> {
                if entries.is_empty() {
                    return Ok(());
                }
                let mut prev: Option<(i64, String)> =
                    sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                        .fetch_optional(&mut **tx)
                        .await?;
                let mut chained = Vec::with_capacity(entries.len());
                for (entry, at) in entries {
                    let e = entry.chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), at);
                    prev = Some((e.seq, e.hash.clone()));
                    chained.push(e);
                }
                for chunk in chained.chunks(BATCH_ROWS) {
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                        "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) ",
                    );
                    qb.push_values(chunk, |mut b, e| {
                        b.push_bind(e.seq)
                            .push_bind(&e.at)
                            .push_bind(&e.actor)
                            .push_bind(&e.action)
                            .push_bind(&e.subject)
                            .push_bind(&e.details)
                            .push_bind(&e.prev_hash)
                            .push_bind(&e.hash);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            fn upload_audit(kind: UploadKind, period_id: i64, id: i64, u: &NewUpload, actor: &str) -> NewAuditEntry {
                let action = match kind {
                    UploadKind::Beneficiaries => Action::UploadBeneficiaries,
                    UploadKind::Payouts => Action::UploadPayouts,
                };
                NewAuditEntry::new(
                    actor,
                    action,
                    format!("period/{period_id}"),
                    json!({
                        "upload_id": id,
                        "file_name": u.file_name,
                        "sha256": u.sha256,
                        "accepted_rows": u.accepted_rows,
                        "rejected_rows": u.rejected_rows,
                    }),
                )
            }

            async fn insert_beneficiaries(tx: &mut Tx, upload_id: i64, rows: &[BeneficiaryRecord]) -> StoreResult<()> {
                for chunk in rows.chunks(BATCH_ROWS) {
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                        "INSERT INTO beneficiary_rows (upload_id, seq, row_no, id_status, id_text, id_problem, \
                         name, amount_due, account, bank_code, birth, sex, category, commune) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(upload_id)
                            .push_bind(r.seq)
                            .push_bind(r.row_no)
                            .push_bind(&r.id_status)
                            .push_bind(&r.id_text)
                            .push_bind(&r.id_problem)
                            .push_bind(&r.name)
                            .push_bind(r.amount_due)
                            .push_bind(&r.account)
                            .push_bind(&r.bank_code)
                            .push_bind(&r.birth)
                            .push_bind(&r.sex)
                            .push_bind(&r.category)
                            .push_bind(&r.commune);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_payouts(tx: &mut Tx, rows: &[PayoutRecord]) -> StoreResult<()> {
                for chunk in rows.chunks(BATCH_ROWS) {
                    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
                        "INSERT INTO payout_rows (upload_id, seq, row_no, bank_code, reference, id_status, \
                         id_text, id_problem, account, name, amount, status, value_date, reason) ",
                    );
                    qb.push_values(chunk, |mut b, r| {
                        b.push_bind(r.upload_id)
                            .push_bind(r.seq)
                            .push_bind(r.row_no)
                            .push_bind(&r.bank_code)
                            .push_bind(&r.reference)
                            .push_bind(&r.id_status)
                            .push_bind(&r.id_text)
                            .push_bind(&r.id_problem)
                            .push_bind(&r.account)
                            .push_bind(&r.name)
                            .push_bind(r.amount)
                            .push_bind(&r.status)
                            .push_bind(r.value_date)
                            .push_bind(&r.reason);
                    });
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            #[async_trait]
            impl Store for $store {
                fn backend(&self) -> &'static str {
                    $backend
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(self.reader()).await?;
                    Ok(())
                }

                async fn create_period(&self, new: NewPeriod, actor: &str) -> StoreResult<Period> {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                        "INSERT INTO periods (code, programme, locality, target_bp, created_at, created_by) \
                         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    )
                    .bind(&new.code)
                    .bind(&new.programme)
                    .bind(&new.locality)
                    .bind(new.target_bp)
                    .bind(at)
                    .bind(actor)
                    .fetch_one(&mut *tx)
                    .await;
                    let id = match inserted {
                        Ok(id) => id,
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(format!("period '{}' exists", new.code)));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let entry = NewAuditEntry::new(
                        actor,
                        Action::PeriodCreate,
                        format!("period/{id}"),
                        json!({
                            "code": new.code,
                            "programme": new.programme,
                            "locality": new.locality,
                            "target_bp": new.target_bp,
                        }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(Period {
                        id,
                        code: new.code,
                        programme: new.programme,
                        locality: new.locality,
                        target_bp: new.target_bp,
                        created_at: at,
                        created_by: actor.to_owned(),
                    })
                }

                async fn list_periods(&self) -> StoreResult<Vec<Period>> {
                    let rows: Vec<PeriodRecord> =
                        sqlx::query_as(period_sql!("ORDER BY id")).fetch_all(self.reader()).await?;
                    Ok(rows.into_iter().map(Period::from).collect())
                }

                async fn period_by_code(&self, code: &str) -> StoreResult<Option<Period>> {
                    let row: Option<PeriodRecord> = sqlx::query_as(period_sql!("WHERE code = $1"))
                        .bind(code)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(Period::from))
                }

                async fn get_period(&self, id: i64) -> StoreResult<Option<Period>> {
                    let row: Option<PeriodRecord> = sqlx::query_as(period_sql!("WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(Period::from))
                }

                async fn save_beneficiary_list(
                    &self,
                    period_id: i64,
                    upload: NewUpload,
                    rows: &[BeneficiaryRow],
                    actor: &str,
                ) -> StoreResult<Saved<Upload>> {
                    // Converted before the write lock is taken: a bad amount fails early
                    // and does not hold up other writers.
                    let records = rows
                        .iter()
                        .enumerate()
                        .map(|(seq, r)| BeneficiaryRecord::from_row(seq, r))
                        .collect::<StoreResult<Vec<_>>>()?;
                    let kind = UploadKind::Beneficiaries;
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let id = match insert_upload(&mut tx, period_id, kind, &upload, actor, at).await? {
                        Ok(id) => id,
                        Err(existing) => {
                            let value = reinstate_in(&mut tx, existing, actor, at, "uploaded again").await?;
                            tx.commit().await?;
                            return Ok(Saved { value, created: false });
                        }
                    };
                    insert_beneficiaries(&mut tx, id, &records).await?;
                    append_in(&mut tx, upload_audit(kind, period_id, id, &upload, actor), at).await?;
                    let value = upload_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(Saved { value, created: true })
                }

                async fn save_payout_file(
                    &self,
                    period_id: i64,
                    upload: NewUpload,
                    rows: &[PayoutRow],
                    actor: &str,
                ) -> StoreResult<Saved<Upload>> {
                    let kind = UploadKind::Payouts;
                    // Checked before the lock, like lists; the upload id is filled in below.
                    let mut records = rows
                        .iter()
                        .enumerate()
                        .map(|(seq, r)| PayoutRecord::from_row(0, seq, r))
                        .collect::<StoreResult<Vec<_>>>()?;
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let id = match insert_upload(&mut tx, period_id, kind, &upload, actor, at).await? {
                        Ok(id) => id,
                        Err(existing) => {
                            let value = reinstate_in(&mut tx, existing, actor, at, "uploaded again").await?;
                            tx.commit().await?;
                            return Ok(Saved { value, created: false });
                        }
                    };
                    for r in &mut records {
                        r.upload_id = id;
                    }
                    insert_payouts(&mut tx, &records).await?;
                    append_in(&mut tx, upload_audit(kind, period_id, id, &upload, actor), at).await?;
                    let value = upload_in(&mut tx, id).await?;
                    tx.commit().await?;
                    Ok(Saved { value, created: true })
                }

                async fn list_uploads(&self, period_id: i64) -> StoreResult<Vec<Upload>> {
                    let rows: Vec<UploadRecord> = sqlx::query_as(upload_sql!("WHERE period_id = $1 ORDER BY id"))
                        .bind(period_id)
                        .fetch_all(self.reader())
                        .await?;
                    rows.into_iter().map(UploadRecord::into_upload).collect()
                }

                async fn make_current(&self, upload_id: i64, actor: &str) -> StoreResult<Upload> {
                    let mut tx = self.begin_write().await?;
                    let existing = existing_upload(&mut tx, upload_id).await?;
                    if existing.kind != UploadKind::Beneficiaries {
                        return Err(StoreError::Conflict(format!(
                            "upload {upload_id} is a bank result file, not a list / tệp kết quả chi, không phải danh sách"
                        )));
                    }
                    let value = reinstate_in(&mut tx, existing, actor, now(), "chosen").await?;
                    tx.commit().await?;
                    Ok(value)
                }

                async fn retire_upload(&self, upload_id: i64, actor: &str) -> StoreResult<Upload> {
                    let mut tx = self.begin_write().await?;
                    let existing = existing_upload(&mut tx, upload_id).await?;
                    if existing.retired_at.is_some() {
                        return Err(StoreError::Conflict(format!(
                            "upload {upload_id} is already retired / tệp đã được loại bỏ"
                        )));
                    }
                    let at = now();
                    sqlx::query("UPDATE uploads SET retired_at = $1, retired_by = $2 WHERE id = $3")
                        .bind(at)
                        .bind(actor)
                        .bind(upload_id)
                        .execute(&mut *tx)
                        .await?;
                    let entry = NewAuditEntry::new(
                        actor,
                        Action::UploadRetire,
                        format!("period/{}", existing.period_id),
                        json!({
                            "upload_id": upload_id,
                            "kind": existing.kind.as_str(),
                            "version": existing.version,
                            "file_name": existing.file_name,
                            "was_current": existing.current,
                        }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    let value = upload_in(&mut tx, upload_id).await?;
                    tx.commit().await?;
                    Ok(value)
                }

                async fn get_upload(&self, id: i64) -> StoreResult<Option<Upload>> {
                    let row: Option<UploadRecord> = sqlx::query_as(upload_sql!("WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(UploadRecord::into_upload).transpose()
                }

                async fn period_inputs(&self, period_id: i64) -> StoreResult<PeriodInputs> {
                    let pool = self.reader();
                    if self.get_period(period_id).await?.is_none() {
                        return Err(StoreError::NotFound(format!("period {period_id}")));
                    }
                    let current: Option<UploadRecord> = sqlx::query_as(upload_sql!(
                        "WHERE period_id = $1 AND kind = 'beneficiaries' AND retired_at IS NULL \
                         ORDER BY current_since DESC, id DESC LIMIT 1"
                    ))
                    .bind(period_id)
                    .fetch_optional(pool)
                    .await?;
                    let list = match current {
                        None => None,
                        Some(r) => {
                            let upload = r.into_upload()?;
                            let file: Arc<str> = Arc::from(upload.file_name.as_str());
                            let records: Vec<BeneficiaryRecord> = sqlx::query_as(
                                "SELECT seq, row_no, id_status, id_text, id_problem, name, amount_due, account, \
                                 bank_code, birth, sex, category, commune \
                                 FROM beneficiary_rows WHERE upload_id = $1 ORDER BY seq",
                            )
                            .bind(upload.id)
                            .fetch_all(pool)
                            .await?;
                            let rows = records
                                .into_iter()
                                .map(|r| r.into_row(&file))
                                .collect::<StoreResult<Vec<_>>>()?;
                            Some((upload, rows))
                        }
                    };
                    let files: Vec<UploadRecord> =
                        sqlx::query_as(upload_sql!("WHERE period_id = $1 AND kind = 'payouts' AND retired_at IS NULL ORDER BY id"))
                            .bind(period_id)
                            .fetch_all(pool)
                            .await?;
                    let payout_files = files
                        .into_iter()
                        .map(UploadRecord::into_upload)
                        .collect::<StoreResult<Vec<_>>>()?;
                    let names: HashMap<i64, Arc<str>> = payout_files
                        .iter()
                        .map(|u| (u.id, Arc::from(u.file_name.as_str())))
                        .collect();
                    let records: Vec<PayoutRecord> = sqlx::query_as(
                        "SELECT r.upload_id, r.seq, r.row_no, r.bank_code, r.reference, r.id_status, r.id_text, \
                         r.id_problem, r.account, r.name, r.amount, r.status, r.value_date, r.reason \
                         FROM payout_rows r JOIN uploads u ON u.id = r.upload_id \
                         WHERE u.period_id = $1 AND u.retired_at IS NULL ORDER BY r.upload_id, r.seq",
                    )
                    .bind(period_id)
                    .fetch_all(pool)
                    .await?;
                    // A file committed between the two queries has rows but is not in
                    // `payout_files`; its rows are left out so the inputs stay consistent
                    // (a file and its rows commit together, so every listed file is whole).
                    let mut payouts = Vec::with_capacity(records.len());
                    for r in records {
                        if let Some(file) = names.get(&r.upload_id) {
                            let file = file.clone();
                            payouts.push(r.into_row(&file)?);
                        }
                    }
                    Ok(PeriodInputs { list, payout_files, payouts })
                }

                async fn save_reconciliation(&self, run: NewRun, actor: &str) -> StoreResult<RunInfo> {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let list: Option<i64> = sqlx::query_scalar(
                        "SELECT id FROM uploads WHERE id = $1 AND period_id = $2 AND kind = 'beneficiaries'",
                    )
                    .bind(run.list_upload_id)
                    .bind(run.period_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    if list.is_none() {
                        return Err(StoreError::NotFound(format!(
                            "beneficiary list {} of period {}",
                            run.list_upload_id, run.period_id
                        )));
                    }
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO reconciliations (period_id, list_upload_id, created_at, created_by, \
                         meta_json, report_json, exceptions_json, report_sha256) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                    )
                    .bind(run.period_id)
                    .bind(run.list_upload_id)
                    .bind(at)
                    .bind(actor)
                    .bind(&run.meta_json)
                    .bind(&run.report_json)
                    .bind(&run.exceptions_json)
                    .bind(&run.report_sha256)
                    .fetch_one(&mut *tx)
                    .await?;
                    let entry = NewAuditEntry::new(
                        actor,
                        Action::ReconciliationCreate,
                        format!("period/{}", run.period_id),
                        json!({
                            "reconciliation_id": id,
                            "list_upload_id": run.list_upload_id,
                            "report_sha256": run.report_sha256,
                        }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(RunInfo {
                        id,
                        period_id: run.period_id,
                        list_upload_id: run.list_upload_id,
                        created_at: at,
                        created_by: actor.to_owned(),
                        report_sha256: run.report_sha256,
                    })
                }

                async fn get_reconciliation(&self, id: i64) -> StoreResult<Option<StoredRun>> {
                    let row: Option<RunRecord> = sqlx::query_as(run_sql!("WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(RunRecord::into_stored))
                }

                async fn list_reconciliations(&self, period_id: i64) -> StoreResult<Vec<RunInfo>> {
                    let rows: Vec<RunInfoRecord> =
                        sqlx::query_as(run_info_sql!("WHERE period_id = $1 ORDER BY id"))
                            .bind(period_id)
                            .fetch_all(self.reader())
                            .await?;
                    Ok(rows.into_iter().map(RunInfo::from).collect())
                }

                async fn create_token(&self, new: NewToken, actor: &str) -> StoreResult<TokenInfo> {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                        "INSERT INTO api_tokens (name, role, bank_code, token_hash, created_at, created_by, webhook_secret) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(&new.name)
                    .bind(new.role.as_str())
                    .bind(&new.bank_code)
                    .bind(&new.token_hash)
                    .bind(at)
                    .bind(actor)
                    .bind(&new.webhook_secret)
                    .fetch_one(&mut *tx)
                    .await;
                    let id = match inserted {
                        Ok(id) => id,
                        // Name or hash: both are unique; the hash colliding means the same
                        // secret was generated twice, which callers treat like a name clash.
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::Conflict(format!("token '{}' exists", new.name)));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    // Never the hash: the audit log is readable by auditors.
                    let entry = NewAuditEntry::new(
                        actor,
                        Action::TokenCreate,
                        format!("token/{}", new.name),
                        json!({ "token_id": id, "name": new.name, "role": new.role.as_str(), "bank_code": new.bank_code }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(TokenInfo {
                        id,
                        name: new.name,
                        role: new.role,
                        bank_code: new.bank_code,
                        created_at: at,
                        created_by: actor.to_owned(),
                        revoked_at: None,
                    })
                }

                async fn webhook_secret(&self, token_id: i64) -> StoreResult<Option<String>> {
                    let secret: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT webhook_secret FROM api_tokens WHERE id = $1 AND revoked_at IS NULL",
                    )
                    .bind(token_id)
                    .fetch_optional(self.reader())
                    .await?;
                    Ok(secret.flatten())
                }

                async fn revoke_token(&self, name: &str, actor: &str) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let revoked: Option<i64> = sqlx::query_scalar(
                        "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING id",
                    )
                    .bind(at)
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(id) = revoked else {
                        tx.rollback().await?;
                        return Ok(false);
                    };
                    // Its web sessions end with it (lookups also skip revoked tokens).
                    let sessions = sqlx::query("DELETE FROM web_sessions WHERE token_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    let entry = NewAuditEntry::new(
                        actor,
                        Action::TokenRevoke,
                        format!("token/{name}"),
                        json!({ "token_id": id, "name": name, "sessions_deleted": sessions }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenInfo>> {
                    let row: Option<TokenRecord> =
                        sqlx::query_as(token_sql!("WHERE token_hash = $1 AND revoked_at IS NULL"))
                            .bind(token_hash)
                            .fetch_optional(self.reader())
                            .await?;
                    row.map(TokenRecord::into_info).transpose()
                }

                async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
                    let rows: Vec<TokenRecord> =
                        sqlx::query_as(token_sql!("ORDER BY id")).fetch_all(self.reader()).await?;
                    rows.into_iter().map(TokenRecord::into_info).collect()
                }

                async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                    // Microseconds, like `now()`: what PostgreSQL keeps, so both backends read
                    // back the same instant (and SQLite's text stays in time order).
                    let expires_at = session.expires_at.trunc_subsecs(6);
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let token: Option<TokenRecord> =
                        sqlx::query_as(token_sql!("WHERE id = $1 AND revoked_at IS NULL"))
                            .bind(session.token_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let Some(token) = token else {
                        tx.rollback().await?;
                        return Err(StoreError::NotFound(format!("token {}", session.token_id)));
                    };
                    let token = token.into_info()?;
                    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                    let inserted = sqlx::query(
                        "INSERT INTO web_sessions (session_hash, token_id, csrf_token, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&session.session_hash)
                    .bind(token.id)
                    .bind(&session.csrf_token)
                    .bind(at)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Ok(_) => {}
                        // Never the hash in the message: errors reach logs.
                        Err(e) if is_unique_violation(&e) => {
                            return Err(StoreError::Conflict("web session exists".into()));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    // Never the session id or its hash: the audit log is readable by auditors.
                    let entry = NewAuditEntry::new(
                        &token.actor(),
                        Action::SessionSignIn,
                        format!("token/{}", token.name),
                        json!({ "token_id": token.id, "expires_at": expires_at }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn session_by_hash(
                    &self,
                    session_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Option<WebSession>> {
                    let row: Option<SessionRecord> = sqlx::query_as(session_sql!("WHERE s.session_hash = $1"))
                        .bind(session_hash)
                        .fetch_optional(self.reader())
                        .await?;
                    match row {
                        Some(r) => r.live_at(now),
                        None => Ok(None),
                    }
                }

                async fn delete_session(&self, session_hash: &str) -> StoreResult<bool> {
                    let mut tx = self.begin_write().await?;
                    let at = now();
                    let deleted: Option<i64> =
                        sqlx::query_scalar("DELETE FROM web_sessions WHERE session_hash = $1 RETURNING token_id")
                            .bind(session_hash)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let Some(token_id) = deleted else {
                        tx.rollback().await?;
                        return Ok(false);
                    };
                    // The token as it is, revoked or not: signing out always works.
                    let token: Option<TokenRecord> = sqlx::query_as(token_sql!("WHERE id = $1"))
                        .bind(token_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let token = token
                        .ok_or_else(|| StoreError::Corrupt(format!("web session of missing token {token_id}")))?
                        .into_info()?;
                    let entry = NewAuditEntry::new(
                        &token.actor(),
                        Action::SessionSignOut,
                        format!("token/{}", token.name),
                        json!({ "token_id": token.id }),
                    );
                    append_in(&mut tx, entry, at).await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn save_callbacks(&self, requests: &[CallbackRequest]) -> StoreResult<Vec<CallbackVerdict>> {
                    if requests.is_empty() {
                        return Ok(Vec::new());
                    }
                    // One transaction, one commit for the whole group. The state of every
                    // payout the group names is loaded once; requests are decided in order in
                    // memory, each against a copy of what it touches that replaces the working
                    // state only when the request is accepted (so a conflict changes nothing);
                    // then everything is written in a few multi-row statements.
                    let mut tx = self.begin_write().await?;
                    let (mut slots, mut index) = load_callback_slots(&mut tx, &requests).await?;
                    let Decided { outcomes, mut events, audits } = decide(requests, &mut slots, &mut index, now)?;
                    write_callback_slots(&mut tx, requests, &mut slots, &mut events).await?;
                    append_many_in(&mut tx, audits).await?;
                    tx.commit().await?;
                    let mut verdicts = Vec::with_capacity(outcomes.len());
                    for outcome in outcomes {
                        match outcome {
                            Ok(drafts) => {
                                let mut answers = Vec::with_capacity(drafts.len());
                                for (slot, mut answer) in drafts {
                                    if let Some(i) = slot {
                                        answer.payout_id = slots[i].id.ok_or_else(|| {
                                            StoreError::Corrupt("callback payout without an id".into())
                                        })?;
                                    }
                                    answers.push(answer);
                                }
                                verdicts.push(CallbackVerdict::Accepted(answers));
                            }
                            Err(verdict) => verdicts.push(verdict),
                        }
                    }
                    Ok(verdicts)
                }

                async fn callback_payouts(&self, period_code: &str) -> StoreResult<Vec<StoredCallback>> {
                    let rows: Vec<CallbackRecord> =
                        sqlx::query_as(callback_sql!("WHERE period_code = $1 ORDER BY id"))
                            .bind(period_code)
                            .fetch_all(self.reader())
                            .await?;
                    rows.into_iter().map(CallbackRecord::into_stored).collect()
                }

                async fn callback_history(&self, bank_code: &str, transaction_ref: &str) -> StoreResult<Vec<CallbackPayout>> {
                    let rows: Vec<(i64, String)> = sqlx::query_as(
                        "SELECT e.version, e.content_json FROM callback_events e \
                         JOIN callback_payouts p ON p.id = e.payout_id \
                         WHERE p.bank_code = $1 AND p.transaction_ref = $2 ORDER BY e.version",
                    )
                    .bind(bank_code)
                    .bind(transaction_ref)
                    .fetch_all(self.reader())
                    .await?;
                    rows.into_iter()
                        .map(|(version, text)| {
                            serde_json::from_str(&text).map_err(|e| {
                                StoreError::Corrupt(format!(
                                    "callback {bank_code}/{transaction_ref} version {version}: content_json: {e}"
                                ))
                            })
                        })
                        .collect()
                }

                async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>> {
                    let rows: Vec<AuditRecord> = sqlx::query_as(
                        "SELECT seq, at, actor, action, subject, details, prev_hash, hash \
                         FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                    )
                    .bind(after)
                    .bind(limit.max(0))
                    .fetch_all(self.reader())
                    .await?;
                    Ok(rows.into_iter().map(AuditEntry::from).collect())
                }

                async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
                    let mut tx = self.begin_write().await?;
                    let e = append_in(&mut tx, entry, now()).await?;
                    tx.commit().await?;
                    Ok(e)
                }
            }
        }
    };
}
pub(super) use impl_store;
