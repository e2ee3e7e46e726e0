//! What the SQLite and PostgreSQL stores share besides their one `Store` implementation
//! (shared.rs): the SQL column lists (both accept `$1` parameters and `RETURNING`), the
//! flat records rows are read into, and `Dialect`, what each backend spells differently.
//! A backend supplies its pools: `reader()` for reads and `begin_write()`, a transaction
//! that already holds the store-wide write lock, so the audit chain head, list versions and
//! the idempotency check never race.

use chrono::{DateTime, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::records::dong;
use super::{
    CallbackPayout, Closure, NewUpload, Period, RunInfo, RunStep, StoreError, StoreResult,
    StoredCallback, StoredRun, TokenInfo, Upload, UploadKind, WebSession,
};
use crate::domain::access::Role;
use crate::domain::approval::{RunState, Step};
use crate::domain::audit::AuditEntry;
use crate::domain::records::{ControlTotal, RowError};
use crate::domain::status::PayoutStatus;
use crate::domain::units::{Unit, UnitLevel};

/// Rows per multi-row INSERT: 14 columns × 1,000 = 14,000 parameters, under SQLite's
/// 32,766 and PostgreSQL's 65,535, and large enough that 100,000 rows take 100 statements.
pub(super) const BATCH_ROWS: usize = 1_000;

/// An upload's rows are converted to what the database stores this many at a time, as
/// they are written (each chunk one COPY on PostgreSQL): a few MB, not a second copy of
/// the file's rows.
pub(super) const STORE_CHUNK: usize = 65_536;

/// The current time as both backends can store it: PostgreSQL keeps microseconds, so a
/// value truncated here reads back equal from either.
pub(super) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// One value of a row written in bulk (`bulk_insert` in each backend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Date(chrono::NaiveDate),
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Cell::Null, Cell::Text)
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Self {
        Cell::Text(v)
    }
}

impl From<i64> for Cell<'_> {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

/// Parameters per multi-row INSERT where a backend has no COPY: under SQLite's 32,766.
pub(super) const BULK_PARAMS: usize = 30_000;

/// `cells` as one line of PostgreSQL's COPY text format: tab-separated, `\N` for NULL,
/// backslash, tab, line feed and carriage return escaped (stored text never holds NUL:
/// `records::storable`).
pub(super) fn copy_line(cells: &[Cell<'_>], out: &mut Vec<u8>) {
    use std::io::Write;
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match cell {
            Cell::Null => out.extend_from_slice(b"\\N"),
            // Writing to a Vec cannot fail.
            Cell::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Cell::Date(d) => {
                let _ = write!(out, "{}", d.format("%Y-%m-%d"));
            }
            Cell::Text(s)
                if !s
                    .bytes()
                    .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) =>
            {
                out.extend_from_slice(s.as_bytes());
            }
            Cell::Text(s) => {
                for b in s.bytes() {
                    match b {
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        _ => out.push(b),
                    }
                }
            }
        }
    }
    out.push(b'\n');
}

/// The fields of one line of PostgreSQL's COPY text output (without its line feed), into
/// `out`: `None` for `\N`, backslash escapes undone.
pub(super) fn copy_fields(line: &[u8], out: &mut Vec<Option<String>>) -> StoreResult<()> {
    out.clear();
    for field in line.split(|b| *b == b'\t') {
        if field == b"\\N" {
            out.push(None);
            continue;
        }
        let text = if field.contains(&b'\\') {
            let mut v = Vec::with_capacity(field.len());
            let mut it = field.iter();
            while let Some(&b) = it.next() {
                if b != b'\\' {
                    v.push(b);
                    continue;
                }
                v.push(match it.next() {
                    Some(b'n') => b'\n',
                    Some(b't') => b'\t',
                    Some(b'r') => b'\r',
                    Some(b'b') => 0x08,
                    Some(b'f') => 0x0c,
                    Some(b'v') => 0x0b,
                    Some(&other) => other,
                    None => {
                        return Err(StoreError::Corrupt("COPY line ends in a backslash".into()));
                    }
                });
            }
            String::from_utf8(v)
        } else {
            String::from_utf8(field.to_vec())
        };
        out.push(Some(
            text.map_err(|e| StoreError::Corrupt(format!("COPY text: {e}")))?,
        ));
    }
    Ok(())
}

/// Lines of COPY output as they arrive in chunks that need not end at a line's end.
#[derive(Default)]
pub(super) struct CopyLines {
    carry: Vec<u8>,
}

impl CopyLines {
    /// Every whole line `chunk` completes, each without its line feed.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut line: impl FnMut(&[u8]) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut rest = chunk;
        if !self.carry.is_empty() {
            match memchr::memchr(b'\n', rest) {
                None => {
                    self.carry.extend_from_slice(rest);
                    return Ok(());
                }
                Some(end) => {
                    self.carry.extend_from_slice(&rest[..end]);
                    let whole = std::mem::take(&mut self.carry);
                    line(&whole)?;
                    rest = &rest[end + 1..];
                }
            }
        }
        while let Some(end) = memchr::memchr(b'\n', rest) {
            line(&rest[..end])?;
            rest = &rest[end + 1..];
        }
        self.carry.extend_from_slice(rest);
        Ok(())
    }

    /// Error when the output stopped inside a line.
    pub fn finish(self) -> StoreResult<()> {
        if self.carry.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Corrupt("COPY output ends inside a line".into()))
        }
    }
}

/// What a backend's SQL spells differently, as data: the shared code (shared.rs) pushes
/// these pieces around the same binds on either backend.
pub(super) struct Dialect {
    /// `Store::backend()`: "sqlite" or "postgres".
    pub name: &'static str,
    /// A bank's payouts for a list of transaction references, with their stored version:
    /// `open`, then `(ref), (ref)…`, then `before_bank`, the bank code, `after_bank`.
    pub payouts_by_ref: RefLookup,
    /// The stored events of a list of payout ids, in (payout, version) order:
    /// `open`, then `(id), (id)…`, then `close`.
    pub events_by_payout: IdLookup,
    /// A consistent copy of the live database into the file bound as `$1`, where the
    /// backend makes one itself (SQLite); None where its own tool does (`pg_dump`).
    pub backup_into: Option<&'static str>,
    /// Run after a run's exception rows are committed (outside the transaction), so the
    /// planner knows the new rows and counts read the index alone: PostgreSQL's statistics
    /// and visibility map are otherwise only updated when autovacuum comes by.
    pub after_exception_rows: &'static [&'static str],
    /// Whether list and payout rows are looked up by (upload, seq) one probe each
    /// (`LATERAL (… LIMIT 1)` over a VALUES list) rather than with an IN list: PostgreSQL,
    /// not yet knowing a 3 M-row upload (autovacuum analyzes it a minute later), planned
    /// `seq IN (1,000 values)` as a scan of the whole upload (560 ms instead of 11 ms).
    pub seq_probe: bool,
    /// The first statement of a read-only transaction that must see one snapshot (a
    /// live-figures refresh reads many tables, then writes under the lock only if nothing
    /// changed); None where a transaction's reads already do (SQLite).
    pub snapshot: Option<&'static str>,
}

pub(super) struct RefLookup {
    pub open: &'static str,
    pub before_bank: &'static str,
    pub after_bank: &'static str,
}

pub(super) struct IdLookup {
    pub open: &'static str,
    pub close: &'static str,
}

pub(super) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// `SELECT <every upload column> FROM uploads <rest>`, as a literal so `sqlx::query` takes it.
macro_rules! upload_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, kind, unit_code, version, file_name, format, sheet, bank_code, sha256, \
             size_bytes, uploaded_by, created_at, header_row, data_rows, accepted_rows, \
             rejected_rows, control_total_row, control_total_stated, control_total_computed, \
             errors_json, notices_json, current_since, retired_at, retired_by, \
             (kind = 'beneficiaries' AND retired_at IS NULL AND current_since = \
              (SELECT MAX(c.current_since) FROM uploads c WHERE c.period_id = uploads.period_id \
               AND c.kind = 'beneficiaries' AND c.unit_code = uploads.unit_code \
               AND c.retired_at IS NULL)) AS is_current \
             FROM uploads ",
            $rest
        )
    };
}
pub(super) use upload_sql;

macro_rules! period_sql {
    ($rest:literal) => {
        concat!(
            "SELECT p.id, p.code, p.programme, g.name AS programme_name, p.locality, p.target_bp, \
             p.account_target_bp, p.cashless_target_bp, p.created_at, p.created_by FROM periods p JOIN programmes g ON g.code = p.programme ",
            $rest
        )
    };
}
pub(super) use period_sql;

macro_rules! token_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, role, bank_code, unit_code, created_at, created_by, revoked_at, \
             display_name FROM api_tokens ",
            $rest
        )
    };
}
pub(super) use token_sql;

macro_rules! run_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, unit_code, list_upload_id, created_at, created_by, report_sha256, \
             state, meta_json, report_json, exceptions_json, exception_rows FROM reconciliations ",
            $rest
        )
    };
}
pub(super) use run_sql;

/// A run without its JSON texts (reports can be megabytes), for listings.
macro_rules! run_info_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, period_id, unit_code, list_upload_id, created_at, created_by, \
             report_sha256, state FROM reconciliations ",
            $rest
        )
    };
}
pub(super) use run_info_sql;

/// `SELECT <every closure column> FROM period_closures <rest>`.
macro_rules! closure_sql {
    ($rest:literal) => {
        concat!(
            "SELECT period_id, unit_code, run_id, closed_at, closed_by FROM period_closures ",
            $rest
        )
    };
}
pub(super) use closure_sql;

/// `SELECT <every callback payout column> FROM callback_payouts <rest>`.
macro_rules! callback_sql {
    ($rest:literal) => {
        concat!(
            "SELECT id, bank_code, transaction_ref, period_code, programme, population_id, \
             account_number, beneficiary_name, amount, status, value_date, reason, unit_code \
             FROM callback_payouts ",
            $rest
        )
    };
}
pub(super) use callback_sql;

/// `SELECT <every unit column> FROM units <rest>`.
macro_rules! unit_sql {
    ($rest:literal) => {
        concat!(
            "SELECT code, name, full_name, level, parent, kind FROM units ",
            $rest
        )
    };
}
pub(super) use unit_sql;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct UnitRecord {
    code: String,
    name: String,
    full_name: String,
    level: String,
    parent: Option<String>,
    kind: Option<String>,
}

impl UnitRecord {
    pub fn into_unit(self) -> StoreResult<Unit> {
        let level = UnitLevel::parse(&self.level).ok_or_else(|| {
            StoreError::Corrupt(format!("unit {}: level '{}'", self.code, self.level))
        })?;
        Ok(Unit {
            code: self.code,
            name: self.name,
            full_name: self.full_name,
            level,
            parent: self.parent,
            kind: self.kind,
        })
    }
}

/// A level's targets as `periods` and `period_targets` keep them (basis points).
#[derive(Debug, sqlx::FromRow)]
pub(super) struct TargetColumns {
    target_bp: Option<i64>,
    account_target_bp: Option<i64>,
    cashless_target_bp: Option<i64>,
}

impl From<TargetColumns> for crate::domain::period::TargetsBp {
    fn from(c: TargetColumns) -> Self {
        crate::domain::period::TargetsBp {
            all: c.target_bp,
            account_coverage: c.account_target_bp,
            cashless_rate: c.cashless_target_bp,
        }
    }
}

/// A unit's own targets as `period_targets` keeps them.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct UnitTargetRecord {
    unit_code: String,
    #[sqlx(flatten)]
    targets: TargetColumns,
    set_at: DateTime<Utc>,
    set_by: String,
}

impl From<UnitTargetRecord> for crate::store::UnitTarget {
    fn from(r: UnitTargetRecord) -> Self {
        crate::store::UnitTarget {
            unit: r.unit_code,
            targets: r.targets.into(),
            set_at: r.set_at,
            set_by: r.set_by,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PeriodRecord {
    id: i64,
    code: String,
    programme: String,
    programme_name: String,
    locality: Option<String>,
    #[sqlx(flatten)]
    targets: TargetColumns,
    created_at: DateTime<Utc>,
    created_by: String,
}

impl From<PeriodRecord> for Period {
    fn from(r: PeriodRecord) -> Self {
        Period {
            id: r.id,
            code: r.code,
            programme: r.programme,
            programme_name: r.programme_name,
            locality: r.locality,
            targets: r.targets.into(),
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
    unit_code: String,
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
            unit: self.unit_code,
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
    unit_code: String,
    created_at: DateTime<Utc>,
    created_by: String,
    revoked_at: Option<DateTime<Utc>>,
    display_name: Option<String>,
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
            unit: self.unit_code,
            created_at: self.created_at,
            created_by: self.created_by,
            revoked_at: self.revoked_at,
            display_name: self.display_name,
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
            "SELECT t.id, t.name, t.role, t.bank_code, t.unit_code, t.created_at, t.created_by, t.revoked_at, t.display_name, \
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
    unit_code: String,
    list_upload_id: i64,
    created_at: DateTime<Utc>,
    created_by: String,
    report_sha256: String,
    state: String,
}

/// A stored state this version does not know reads as a draft (it can only be one of
/// the CHECK's four).
pub(super) fn run_state(s: &str) -> RunState {
    RunState::parse(s).unwrap_or(RunState::Draft)
}

impl From<RunInfoRecord> for RunInfo {
    fn from(r: RunInfoRecord) -> Self {
        RunInfo {
            id: r.id,
            period_id: r.period_id,
            unit: r.unit_code,
            list_upload_id: r.list_upload_id,
            created_at: r.created_at,
            created_by: r.created_by,
            report_sha256: r.report_sha256,
            state: run_state(&r.state),
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RunStepRecord {
    step: String,
    token_id: i64,
    actor: String,
    person: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

impl RunStepRecord {
    pub fn into_step(self) -> StoreResult<RunStep> {
        Ok(RunStep {
            step: Step::parse(&self.step)
                .ok_or_else(|| StoreError::Corrupt(format!("run step '{}'", self.step)))?,
            by: self.actor,
            person: self.person,
            token_id: self.token_id,
            reason: self.reason,
            at: self.at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ClosureRecord {
    period_id: i64,
    unit_code: String,
    run_id: i64,
    closed_at: DateTime<Utc>,
    closed_by: String,
}

impl From<ClosureRecord> for Closure {
    fn from(r: ClosureRecord) -> Self {
        Closure {
            period_id: r.period_id,
            unit: r.unit_code,
            run_id: r.run_id,
            closed_at: r.closed_at,
            closed_by: r.closed_by,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct RunRecord {
    id: i64,
    period_id: i64,
    unit_code: String,
    list_upload_id: i64,
    created_at: DateTime<Utc>,
    created_by: String,
    report_sha256: String,
    state: String,
    meta_json: String,
    report_json: String,
    exceptions_json: String,
    exception_rows: Option<i64>,
}

impl RunRecord {
    pub fn into_stored(self) -> StoredRun {
        StoredRun {
            info: RunInfo {
                id: self.id,
                period_id: self.period_id,
                unit: self.unit_code,
                list_upload_id: self.list_upload_id,
                created_at: self.created_at,
                created_by: self.created_by,
                report_sha256: self.report_sha256,
                state: run_state(&self.state),
            },
            meta_json: self.meta_json,
            report_json: self.report_json,
            exception_rows: self.exception_rows,
            legacy_exceptions_json: self.exceptions_json,
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
    pub programme: String,
    pub population_id: Option<String>,
    pub account_number: String,
    pub beneficiary_name: Option<String>,
    pub amount: i64,
    pub status: String,
    pub value_date: chrono::NaiveDate,
    pub reason: Option<String>,
    pub unit_code: Option<String>,
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
            programme: self.programme.clone(),
            population_id: self.population_id.clone(),
            account_number: self.account_number.clone(),
            beneficiary_name: self.beneficiary_name.clone(),
            amount: self.amount,
            status,
            value_date: self.value_date,
            reason: self.reason.clone(),
            unit: self.unit_code.clone(),
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

/// A `callback_payouts` row with its version and times, as a bank reads it back.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct BankCallbackRecord {
    #[sqlx(flatten)]
    pub record: CallbackRecord,
    pub version: i64,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_output_reads_back_what_copy_lines_wrote() {
        let texts = ["Nguyễn\tVăn\nA\\B\r", "", "\\N", "x\u{8}\u{c}\u{b}"];
        let mut written = Vec::new();
        let cells: Vec<Cell<'_>> = texts
            .iter()
            .map(|t| Cell::Text(t))
            .chain([Cell::Null])
            .collect();
        copy_line(&cells, &mut written);
        // PostgreSQL writes \b, \f, \v for those control characters; copy_line leaves them.
        let from_pg = String::from_utf8_lossy(&written).replace('\u{8}', "\\b");
        let mut fields = Vec::new();
        let mut lines = CopyLines::default();
        let bytes = from_pg.as_bytes();
        // Fed in pieces that cut the line anywhere.
        for piece in bytes.chunks(3) {
            lines
                .feed(piece, |l| copy_fields(l, &mut fields))
                .expect("feed");
        }
        lines.finish().expect("whole lines");
        let mut want: Vec<Option<String>> = texts.iter().map(|t| Some((*t).to_owned())).collect();
        want.push(None);
        assert_eq!(fields, want);
        let mut half = CopyLines::default();
        half.feed(b"1\t2", |_| Ok(())).expect("feed");
        assert!(half.finish().is_err());
    }

    #[test]
    fn copy_lines_escape_what_copy_text_format_reads_specially() {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 9, 15);
        let mut out = Vec::new();
        copy_line(
            &[
                Cell::Int(-7),
                Cell::Null,
                Cell::Text("Nguyễn\tVăn\nA\\B\r"),
                Cell::Text(""),
                date.map_or(Cell::Null, Cell::Date),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            "-7\t\\N\tNguyễn\\tVăn\\nA\\\\B\\r\t\t2024-09-15\n"
        );
    }
}

/// An exception's history entry as `exception_resolutions` keeps it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct ResolutionRecord {
    id: i64,
    run_id: i64,
    exception_key: String,
    action: String,
    state: String,
    note: String,
    beneficiary: Option<String>,
    actor: String,
    actor_name: String,
    at: DateTime<Utc>,
}

pub(super) const RESOLUTION_COLUMNS: &str =
    "id, run_id, exception_key, action, state, note, beneficiary, actor, actor_name, at";

impl ResolutionRecord {
    pub(super) fn into_resolution(self) -> StoreResult<crate::store::Resolution> {
        use crate::domain::resolution::{ResolutionAction, ResolutionState};
        Ok(crate::store::Resolution {
            id: self.id,
            run_id: self.run_id,
            key: self.exception_key,
            action: ResolutionAction::parse(&self.action).ok_or_else(|| {
                StoreError::Corrupt(format!("resolution action '{}'", self.action))
            })?,
            state: ResolutionState::parse(&self.state)
                .ok_or_else(|| StoreError::Corrupt(format!("resolution state '{}'", self.state)))?,
            note: self.note,
            beneficiary: self.beneficiary,
            actor: self.actor,
            actor_name: self.actor_name,
            at: self.at,
        })
    }
}

/// A period adjustment as `period_adjustments` keeps it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct AdjustmentRecord {
    id: i64,
    period_id: i64,
    unit_code: String,
    kind: String,
    payout_key: Option<String>,
    beneficiary_key: String,
    list_upload_id: Option<i64>,
    resolution_id: i64,
    at: DateTime<Utc>,
    actor: String,
}

impl AdjustmentRecord {
    pub(super) fn into_adjustment(self) -> StoreResult<crate::store::Adjustment> {
        use crate::domain::resolution::ResolutionAction;
        Ok(crate::store::Adjustment {
            id: self.id,
            period_id: self.period_id,
            unit: self.unit_code,
            action: ResolutionAction::parse(&self.kind)
                .filter(|a| a.adjusts())
                .ok_or_else(|| StoreError::Corrupt(format!("adjustment kind '{}'", self.kind)))?,
            payout_key: self.payout_key,
            beneficiary_key: self.beneficiary_key,
            list_upload_id: self.list_upload_id,
            resolution_id: self.resolution_id,
            at: self.at,
            actor: self.actor,
        })
    }
}

/// A `carry_overs` row as read.
#[derive(sqlx::FromRow)]
pub(super) struct CarryOverRecord {
    id: i64,
    period_id: i64,
    unit_code: String,
    from_run: i64,
    from_period_code: String,
    people: i64,
    amount: String,
    skipped: i64,
    at: DateTime<Utc>,
    actor: String,
    actor_name: String,
}

pub(super) const CARRY_OVER_COLUMNS: &str = "id, period_id, unit_code, from_run, \
    from_period_code, people, amount, skipped, at, actor, actor_name";

fn stored_decimal(text: &str, what: &str) -> StoreResult<rust_decimal::Decimal> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{what} amount '{text}'")))
}

impl CarryOverRecord {
    pub(super) fn into_carry_over(self) -> StoreResult<crate::store::CarryOver> {
        Ok(crate::store::CarryOver {
            id: self.id,
            period_id: self.period_id,
            unit: self.unit_code,
            from_run: self.from_run,
            from_period_code: self.from_period_code,
            people: self.people,
            amount: stored_decimal(&self.amount, "carry-over")?,
            skipped: self.skipped,
            at: self.at,
            actor: self.actor,
            actor_name: self.actor_name,
        })
    }
}

/// An `arrears` row as read, with its carry-over's run and period.
#[derive(sqlx::FromRow)]
pub(super) struct ArrearRecord {
    id: i64,
    carry_over_id: i64,
    scope: String,
    from_run: i64,
    from_period_code: String,
    unit_code: String,
    population_id: String,
    name: String,
    kind: String,
    amount: String,
}

impl ArrearRecord {
    pub(super) fn into_arrear(self) -> StoreResult<crate::store::Arrear> {
        Ok(crate::store::Arrear {
            id: self.id,
            carry_over_id: self.carry_over_id,
            scope: self.scope,
            from_run: self.from_run,
            from_period_code: self.from_period_code,
            unit: self.unit_code,
            population_id: self.population_id,
            name: self.name,
            kind: self.kind,
            amount: stored_decimal(&self.amount, "arrears")?,
        })
    }
}
