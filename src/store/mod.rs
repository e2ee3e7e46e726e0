//! Storage: one `Store` trait, a SQLite and a PostgreSQL implementation. The URL scheme
//! picks. Methods are coarse and transactional inside (an upload, its rows and its audit
//! entry commit together or not at all); no transaction spans two calls.

mod common;
mod decide;
pub mod postgres;
mod records;
mod rules;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::access::Role;
use crate::domain::approval::{RunState, Step};
use crate::domain::audit::{AuditEntry, NewAuditEntry};
use crate::domain::period::{TargetChange, TargetsBp};
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::records::{ControlTotal, RowError};
use crate::domain::status::PayoutStatus;

pub use crate::domain::units::{NATION, Unit, UnitLevel};
pub use records::{BeneficiaryRecord, PayoutRecord, storable};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("không tìm thấy / not found: {0}")]
    NotFound(String),
    #[error("xung đột / conflict: {0}")]
    Conflict(String),
    #[error("dữ liệu lưu không hợp lệ / stored data is invalid: {0}")]
    Corrupt(String),
    #[error("cơ sở dữ liệu / database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "DATABASE_URL không hỗ trợ / unsupported DATABASE_URL '{0}': use sqlite:… or postgres://…"
    )]
    UnsupportedUrl(String),
    #[error("{0}")]
    NotSupported(&'static str),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub id: i64,
    pub code: String,
    /// The programme's code (`TCXH`); a period is (programme, code).
    pub programme: String,
    /// "Trợ cấp xã hội hàng tháng".
    pub programme_name: String,
    pub locality: Option<String>,
    /// Targets in basis points (9731 = 97,31%): for both rates, and each rate's own.
    #[serde(skip)]
    pub targets: TargetsBp,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPeriod {
    pub code: String,
    /// A known programme code (`TCXH`).
    pub programme: String,
    pub locality: Option<String>,
    pub targets: TargetsBp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadKind {
    Beneficiaries,
    Payouts,
}

impl UploadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadKind::Beneficiaries => "beneficiaries",
            UploadKind::Payouts => "payouts",
        }
    }
}

/// What an import found in a file, to be stored with its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub file_name: String,
    pub format: String,
    pub sheet: Option<String>,
    /// Payout files: the bank given with the file (rows carry their own bank).
    pub bank_code: Option<String>,
    pub sha256: String,
    pub size_bytes: i64,
    pub header_row: i64,
    pub data_rows: i64,
    pub accepted_rows: i64,
    pub rejected_rows: i64,
    pub control_total: Option<ControlTotal>,
    pub errors: Vec<RowError>,
    pub notices: Vec<String>,
    /// The unit the upload is for (`VN`, a province, a commune): a list is that unit's, a
    /// bank file's unmatched payouts count there.
    pub unit: String,
}

/// What `Store::stream_upload` is sent, in order.
#[derive(Debug)]
pub enum UploadFeed {
    /// The next rows of a list, with the commune each counts in (None: the list's unit).
    Beneficiaries(Vec<BeneficiaryRow>, Vec<Option<&'static str>>),
    /// The next rows of a bank file.
    Payouts(Vec<PayoutRow>),
    /// Every row was sent: the upload as imported.
    Done(Box<NewUpload>),
}

/// How a streamed upload ended.
#[derive(Debug)]
pub enum Streamed {
    Saved(Box<Upload>),
    /// The identical file is stored already: nothing was written.
    Duplicate,
    /// The feed ended without `Done`: nothing was written.
    Abandoned,
}

/// A stored upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Upload {
    pub id: i64,
    pub period_id: i64,
    pub kind: UploadKind,
    /// The unit it is for: each unit has its own current list and versions.
    pub unit: String,
    /// Beneficiary lists: 1, 2, 3… per unit.
    pub version: Option<i64>,
    pub file_name: String,
    pub format: String,
    pub sheet: Option<String>,
    pub bank_code: Option<String>,
    pub sha256: String,
    pub size_bytes: i64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub header_row: i64,
    pub data_rows: i64,
    pub accepted_rows: i64,
    pub rejected_rows: i64,
    #[schema(value_type = Option<Object>)]
    pub control_total: Option<ControlTotal>,
    pub notices: Vec<String>,
    /// Beneficiary lists: this is its unit's current list in the period.
    pub current: bool,
    /// When the upload was retired (its rows no longer count), and by whom.
    pub retired_at: Option<DateTime<Utc>>,
    pub retired_by: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub row_errors: Vec<RowError>,
}

/// `created` is false when the identical file was already stored (idempotent upload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved<T> {
    pub value: T,
    pub created: bool,
}

/// A reconciliation run to store. The JSON texts are stored as given: their digest is
/// part of the run.
#[derive(Debug)]
pub struct NewRun {
    pub period_id: i64,
    /// The subtree the run covers.
    pub unit: String,
    /// The first current list within the subtree (every list used is in the meta).
    pub list_upload_id: i64,
    pub meta_json: String,
    pub report_json: String,
    /// The run's exceptions in order, each stored as an indexed row as it arrives.
    pub exceptions: tokio::sync::mpsc::Receiver<RunFeed>,
    pub report_sha256: String,
}

/// What `Store::save_reconciliation` is sent: a run's exceptions in order, in batches,
/// then `Done`. A national run has 1.3 million: they are made while the first are being
/// stored, never all held at once.
#[derive(Debug)]
pub enum RunFeed {
    Exceptions(Vec<ExceptionRecord>),
    Done,
}

impl RunFeed {
    /// A feed of exceptions all made already (small runs, tests).
    pub fn of(rows: Vec<ExceptionRecord>) -> tokio::sync::mpsc::Receiver<RunFeed> {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        // Room for both: the sends cannot fail.
        let _ = tx.try_send(RunFeed::Exceptions(rows));
        let _ = tx.try_send(RunFeed::Done);
        rx
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RunInfo {
    pub id: i64,
    pub period_id: i64,
    /// The unit whose subtree the run covers.
    pub unit: String,
    /// The first current list within that subtree; `GET …/meta` lists every input.
    pub list_upload_id: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub report_sha256: String,
    /// `draft`, `submitted`, `approved` or `returned` (maker-checker, migration 0021).
    pub state: RunState,
}

/// A step a run went through: submitted, approved, returned, its period reopened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RunStep {
    pub step: Step,
    /// Who, as the audit trail writes it (`approver:ktt-tinh`).
    pub by: String,
    /// Who, as pages and the signature block name them ("Trần Văn Bình").
    pub person: String,
    /// The token that took it: an approver's is never the submitter's.
    #[serde(skip)]
    pub token_id: i64,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A step to take: the store checks the run's state allows it, in the same transaction.
#[derive(Debug, Clone)]
pub struct NewRunStep {
    pub step: Step,
    pub token_id: i64,
    pub actor: String,
    pub person: String,
    pub reason: Option<String>,
}

/// A unit's subtree closed for a period by an approved run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Closure {
    pub period_id: i64,
    /// The unit whose subtree is closed.
    pub unit: String,
    /// The approved run.
    pub run_id: i64,
    pub closed_at: DateTime<Utc>,
    pub closed_by: String,
}

impl Closure {
    /// Whether the closure holds `unit`'s inputs: it is the closed unit or lies below it.
    pub fn covers(&self, unit: &str) -> bool {
        crate::domain::units::shipped_tree().is_within(unit, &self.unit)
    }
}

/// A callback stored or changed after a closure: what counts as a post-close adjustment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LateCallback {
    pub population_id: Option<String>,
    pub unit_code: Option<String>,
    pub amount: i64,
    pub status: String,
}

/// A run's file as it was first downloaded whole (see migrations 0016).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RunDownload {
    /// `report.xlsx`, `report.csv` or `follow-up.xlsx`.
    pub file: String,
    /// `vi` or `en`: the workbooks' and CSV's headers follow it.
    pub lang: String,
    pub sha256: String,
    pub bytes: i64,
    pub first_at: DateTime<Utc>,
}

/// One entry of an exception's history (see migrations 0022): what was done, the state it
/// left the exception in, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Resolution {
    pub id: i64,
    #[serde(skip)]
    pub run_id: i64,
    /// The exception's key (`b:…`, `p:…`).
    pub key: String,
    pub action: crate::domain::resolution::ResolutionAction,
    /// The state after this entry.
    pub state: crate::domain::resolution::ResolutionState,
    pub note: String,
    /// For `link`: the beneficiary's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary: Option<String>,
    /// Who, as the audit trail writes it (`accountant:ke-toan`).
    pub actor: String,
    /// Who, as pages name them (the token's display name, else its name).
    pub actor_name: String,
    pub at: DateTime<Utc>,
}

/// An entry to add to an exception's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResolution {
    pub run_id: i64,
    pub key: String,
    pub action: crate::domain::resolution::ResolutionAction,
    /// The state to leave it in; None: the action's default given the state before.
    pub state: Option<crate::domain::resolution::ResolutionState>,
    pub note: String,
    pub beneficiary: Option<String>,
    pub actor: String,
    pub actor_name: String,
}

/// A change of the period's figures recorded by resolving an exception (a link, a payment
/// in cash), for the unit of the run it was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAdjustment {
    pub period_id: i64,
    pub unit: String,
    pub action: crate::domain::resolution::ResolutionAction,
    /// For a link: the payout's key.
    pub payout_key: Option<String>,
    /// The beneficiary's key, qualified with the unit their row counts in where a row names
    /// them (`b:row:7@00004`).
    pub beneficiary_key: String,
    /// For a beneficiary named by list row: the list version it holds for.
    pub list_upload_id: Option<i64>,
}

/// A payment order to be stored with the list row it pays.
#[derive(Debug, Clone)]
pub struct NewPaymentOrder {
    /// The list upload the order's row is on, and the unit it is for.
    pub list_upload_id: i64,
    pub unit: String,
    pub line: crate::domain::payment_orders::OrderLine,
}

/// Orders written for a bank, to be stored (`Store::save_payment_orders`).
#[derive(Debug, Clone)]
pub struct NewPaymentOrders {
    pub period_id: i64,
    /// The pain.001 message that sends them.
    pub message_id: String,
    pub bank: String,
    pub orders: Vec<NewPaymentOrder>,
    pub actor: String,
}

/// A carry-over to be stored: an approved run's follow-up, owed in a later period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCarryOver {
    pub period_id: i64,
    /// The approved run's unit: the carry-over's.
    pub unit: String,
    pub from_run: i64,
    pub from_period_code: String,
    /// The follow-up rows left out (no valid personal ID, paid after the closure).
    pub skipped: i64,
    pub actor: String,
    pub actor_name: String,
    pub items: Vec<NewArrear>,
}

/// One person's arrears from one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArrear {
    pub population_id: String,
    pub name: String,
    /// The unit they counted in in the run.
    pub unit: String,
    /// Why it is owed: the run's outcome (`unpaid`, `failed`, `returned`, `underpaid`).
    pub kind: String,
    pub amount: rust_decimal::Decimal,
}

/// A stored carry-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CarryOver {
    pub id: i64,
    pub period_id: i64,
    pub unit: String,
    pub from_run: i64,
    pub from_period_code: String,
    /// People carried (arrears rows).
    pub people: i64,
    /// Their arrears, summed (exact, đồng).
    #[schema(value_type = String)]
    pub amount: rust_decimal::Decimal,
    pub skipped: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_name: String,
}

/// A stored arrears row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrear {
    pub id: i64,
    pub carry_over_id: i64,
    /// The carry-over's unit: its people are paid their arrears on lists of its subtree.
    pub scope: String,
    pub from_run: i64,
    pub from_period_code: String,
    pub unit: String,
    pub population_id: String,
    pub name: String,
    pub kind: String,
    pub amount: rust_decimal::Decimal,
}

/// A stored adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub id: i64,
    pub period_id: i64,
    pub unit: String,
    pub action: crate::domain::resolution::ResolutionAction,
    pub payout_key: Option<String>,
    pub beneficiary_key: String,
    pub list_upload_id: Option<i64>,
    pub resolution_id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
}

/// A row of one of the period's current lists, as a beneficiary key finds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListedRow {
    pub upload_id: i64,
    /// The list's unit.
    pub list_unit: String,
    /// The commune the row counts in, when not its list's unit.
    pub unit_code: Option<String>,
    pub row_no: i64,
    pub id_status: String,
    pub id_text: String,
    pub name: String,
}

impl ListedRow {
    /// The unit the row counts in.
    pub fn unit(&self) -> &str {
        self.unit_code.as_deref().unwrap_or(&self.list_unit)
    }
}

/// What a beneficiary key asks of the current lists: an ID as listed, or an invalid ID's
/// row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedQuery {
    Id(String),
    Row(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    pub info: RunInfo,
    pub meta_json: String,
    pub report_json: String,
    /// How many exceptions the run stores as rows; `None` for a run stored before they were
    /// rows, whose list is still `legacy_exceptions_json` until `move_exceptions_to_rows`.
    pub exception_rows: Option<i64>,
    pub legacy_exceptions_json: String,
}

/// One exception of a run as the store keeps it: the columns its filters read, and the
/// row itself (`row_json`) as the service wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionRecord {
    /// An outcome (`underpaid`, …) or `unmatched_payout`.
    pub kind: String,
    /// Flag names (`name_mismatch`, …).
    pub flags: Vec<String>,
    pub unit_code: Option<String>,
    /// The province of `unit_code` (itself when it is one); `None` at the nation.
    pub province_code: Option<String>,
    /// The commune as written, folded (`domain::names::fold`).
    pub commune_key: Option<String>,
    pub bank_code: Option<String>,
    pub population_id: String,
    /// The account number, spaces removed (searched like the ID: by its start).
    pub account: Option<String>,
    /// The name folded.
    pub name_key: String,
    /// The sort keys of the amounts (whole đồng, as the store keeps amounts): due (None for
    /// an unmatched payout), paid, and due minus paid (None where nothing is owed here:
    /// unmatched payouts, people paid in cash).
    pub amount_due: Option<i64>,
    pub amount_paid: Option<i64>,
    pub difference: Option<i64>,
    /// The payouts' earliest value date.
    pub value_date: Option<chrono::NaiveDate>,
    pub row_json: String,
}

impl ExceptionRecord {
    /// The record's value in a sort column, as the store orders by it.
    pub fn sort_key(&self, column: SortColumn) -> Option<SortKey> {
        let text = |t: &Option<String>| t.clone().map(SortKey::Text);
        match column {
            SortColumn::Id => Some(SortKey::Text(self.population_id.clone())),
            SortColumn::Name => Some(SortKey::Text(self.name_key.clone())),
            SortColumn::Commune => text(&self.commune_key),
            SortColumn::Outcome => Some(SortKey::Text(self.kind.clone())),
            SortColumn::Due => self.amount_due.map(SortKey::Int),
            SortColumn::Paid => self.amount_paid.map(SortKey::Int),
            SortColumn::Difference => self.difference.map(SortKey::Int),
            SortColumn::Bank => text(&self.bank_code),
            SortColumn::ValueDate => self.value_date.map(SortKey::Date),
        }
    }
}

/// A column a run's exceptions sort by (`?sort=`): the whole list of what the store's
/// ORDER BY may name; no text from a request ever reaches the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    Id,
    Name,
    Commune,
    Outcome,
    Due,
    Paid,
    Difference,
    Bank,
    ValueDate,
}

impl SortColumn {
    pub const ALL: [SortColumn; 9] = [
        SortColumn::Id,
        SortColumn::Name,
        SortColumn::Commune,
        SortColumn::Outcome,
        SortColumn::Due,
        SortColumn::Paid,
        SortColumn::Difference,
        SortColumn::Bank,
        SortColumn::ValueDate,
    ];

    /// The name in a query string (`sort=due`).
    pub fn as_str(self) -> &'static str {
        match self {
            SortColumn::Id => "id",
            SortColumn::Name => "name",
            SortColumn::Commune => "commune",
            SortColumn::Outcome => "outcome",
            SortColumn::Due => "due",
            SortColumn::Paid => "paid",
            SortColumn::Difference => "difference",
            SortColumn::Bank => "bank",
            SortColumn::ValueDate => "value_date",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        SortColumn::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    /// The stored column it reads: a constant of this list, never request text.
    pub(crate) fn column(self) -> &'static str {
        match self {
            SortColumn::Id => "population_id",
            SortColumn::Name => "name_key",
            SortColumn::Commune => "commune_key",
            SortColumn::Outcome => "kind",
            SortColumn::Due => "amount_due",
            SortColumn::Paid => "amount_paid",
            SortColumn::Difference => "difference",
            SortColumn::Bank => "bank_code",
            SortColumn::ValueDate => "value_date",
        }
    }

    /// Whether rows may have no value here (those come last, in either direction).
    pub fn nullable(self) -> bool {
        !matches!(
            self,
            SortColumn::Id | SortColumn::Name | SortColumn::Outcome
        )
    }

    /// What kind of value the column holds (how a cursor binds and reads it).
    pub fn key_type(self) -> SortKeyType {
        match self {
            SortColumn::Due | SortColumn::Paid | SortColumn::Difference => SortKeyType::Int,
            SortColumn::ValueDate => SortKeyType::Date,
            _ => SortKeyType::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKeyType {
    Int,
    Text,
    Date,
}

/// A sort the store applies: by `column`, then by the run's order (`seq`), both in the
/// same direction; rows without a value come last either way. Texts compare bytewise on
/// both backends (folded names and communes, IDs, codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionSort {
    pub column: SortColumn,
    pub descending: bool,
}

/// A row's value in the sort column (None: it has none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Int(i64),
    Text(String),
    Date(chrono::NaiveDate),
}

/// Where a sorted read starts: after a row (keyset: one index range at any depth), or
/// after skipping this many (numbered pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortedStart {
    Skip(i64),
    /// After the row with this key (None: a row without a value) and `seq`.
    After(Option<SortKey>, i64),
}

/// A row of a sorted read: `seq`, its sort key, `row_json`.
pub type SortedRow = (i64, Option<SortKey>, String);

/// Which of a run's exceptions a page reads; every field narrows it (all `None`: all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExceptionFilter {
    /// Any of these kinds (empty: any kind).
    pub kinds: Vec<String>,
    /// Any of these flags (empty: any).
    pub flags: Vec<String>,
    /// Any of these communes, folded (empty: any).
    pub commune_keys: Vec<String>,
    /// Any of these banks (empty: any).
    pub bank_codes: Vec<String>,
    pub unit: Option<UnitScope>,
    /// Digits: the start of the personal ID (an index range); else part of the folded name
    /// or of the ID as written.
    pub search: Option<String>,
}

impl ExceptionFilter {
    /// A filter no row passes: a kind no exception has (kinds are codes such as `unpaid`).
    /// What a query whose values all name nothing reads: an empty list, never everything.
    pub fn nothing() -> Self {
        ExceptionFilter {
            kinds: vec!["-".into()],
            ..ExceptionFilter::default()
        }
    }

    /// Whether the search is digits: the start of a personal ID, an index range.
    pub fn searches_id_start(&self) -> bool {
        self.search
            .as_deref()
            .is_some_and(|q| !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()))
    }
}

/// A unit's subtree as the exception rows can be filtered to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitScope {
    /// Every row that counts in some unit.
    Nation,
    Province(String),
    /// A commune (or any unit without children): its own rows.
    Unit(String),
}

/// Where a page of exceptions starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// After the row with this `seq` (keyset paging: one index range at any depth).
    After(i64),
    /// Skip this many matching rows (numbered pages).
    Skip(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub bank_code: Option<String>,
    /// The unit whose subtree the token reads and writes (`VN`: everything).
    pub unit: String,
    /// SHA-256 of the token; the token itself is never stored.
    pub token_hash: String,
    /// Bank tokens: the `whsec_…` secret their callbacks are signed with.
    pub webhook_secret: Option<String>,
    /// Who holds it, as pages name them; None: the name.
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub bank_code: Option<String>,
    /// The unit whose subtree the token reads and writes (`VN`: everything).
    pub unit: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Who holds it, as pages name them ("Nguyễn Thị Hoa"); None: the name.
    pub display_name: Option<String>,
}

impl TokenInfo {
    /// How pages name the holder: the display name, else the token's name.
    pub fn person(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }

    /// A token of the whole country (`VN`): it creates the periods every unit shares.
    pub fn is_national(&self) -> bool {
        self.unit == crate::domain::units::NATION
    }

    /// Whether this token may set `unit`'s own target: a national token any unit's, another
    /// only a unit strictly below its own (a unit does not set the bar it is measured by).
    pub fn sets_target_of(&self, unit: &str) -> bool {
        self.is_national() || (unit != self.unit && self.sees(unit))
    }

    /// Whether this token may read an audit entry: a national token every entry, another
    /// those of its subtree (the chain is verified whole either way).
    pub fn reads_audit_entry(&self, e: &AuditEntry) -> bool {
        self.is_national() || e.unit().is_some_and(|u| self.sees(&u))
    }

    /// Whether `unit` lies within this token's subtree (an unknown code lies nowhere).
    pub fn sees(&self, unit: &str) -> bool {
        crate::domain::units::shipped_tree().is_within(unit, &self.unit)
    }

    /// Who acted, as the audit trail writes it: `role:name` (`accountant:ke-toan`).
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.name)
    }
}

/// A browser session to store when a token signs in to the web pages.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_id: i64,
    /// SHA-256 hex of the random session id in the cookie (the id itself is never stored).
    pub session_hash: String,
    pub csrf_token: String,
    /// Stored to the microsecond (what PostgreSQL keeps), so it reads back equal on both backends.
    pub expires_at: DateTime<Utc>,
}

/// A live browser session: the token it signed in with, and its CSRF token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub token: TokenInfo,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A unit's current list with its rows (seq order), as compact columns: a national list
/// read back is its text and a few integers a row, not a struct of strings per row.
#[derive(Debug, Clone)]
pub struct ListInput {
    pub upload: Upload,
    pub rows: crate::domain::columns::ListTable,
    /// Per row: the commune it counts in, when not the list's own unit.
    pub units: crate::domain::columns::InternedColumn,
}

/// A list row as comparing two periods reads it (`Store::for_each_list_entry`): where it
/// is, whom it names, what they are due and with which account, and the unit it counts in
/// when not its list's own. No names, dates or texts besides: a national list is 3.35
/// million of these.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListEntry {
    pub seq: i64,
    /// `valid`, `legacy`, `invalid` or `missing`, as stored.
    pub id_status: String,
    pub id_text: String,
    /// Whole đồng.
    pub amount_due: i64,
    pub account: Option<String>,
    pub bank_code: Option<String>,
    pub unit_code: Option<String>,
}

/// One list row read back whole (`Store::list_rows_at`), with the unit it counts in when
/// not its list's own.
#[derive(Debug, Clone)]
pub struct ListRowAt {
    pub seq: i64,
    pub row: BeneficiaryRow,
    pub unit_code: Option<String>,
}

/// A bank result file in use, with its rows (seq order).
#[derive(Debug, Clone)]
pub struct PayoutInput {
    pub upload: Upload,
    pub rows: crate::domain::columns::PayoutTable,
}

/// The rows a reconciliation needs: every unit's current list (by unit code) and every
/// payout file in use (oldest first).
#[derive(Debug, Clone)]
pub struct PeriodInputs {
    pub lists: Vec<ListInput>,
    pub payout_files: Vec<PayoutInput>,
}

/// A connection pool's use, for `GET /metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    pub name: &'static str,
    pub size: u32,
    pub idle: u32,
}

/// A programme (chế độ): periods, lists and callbacks belong to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Programme {
    /// `TCXH`, `NCC`, `HTXH`…
    pub code: String,
    pub name: String,
}

/// A unit's own targets for a period (the period's apply where a unit has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnitTarget {
    pub unit: String,
    /// Basis points (9731 = 97,31%): for both rates, and each rate's own.
    #[serde(skip)]
    pub targets: TargetsBp,
    pub set_at: DateTime<Utc>,
    pub set_by: String,
}

/// The programme a period, callback or request that names none belongs to.
pub const DEFAULT_PROGRAMME: &str = "TCXH";

fn is_default_programme(code: &str) -> bool {
    code == DEFAULT_PROGRAMME
}

/// One payout a bank posted, validated and normalised (what replays are compared on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CallbackPayout {
    pub transaction_ref: String,
    /// Canonical period code (`2024-09`, `2024-Q3`).
    pub period: String,
    /// The period's programme. Left out of the normalised content when it is the default,
    /// so the digests of payouts stored before programmes existed stay what they were.
    #[serde(
        default = "default_programme",
        skip_serializing_if = "is_default_programme"
    )]
    pub programme: String,
    pub population_id: Option<String>,
    pub account_number: String,
    pub beneficiary_name: Option<String>,
    /// Whole đồng.
    pub amount: i64,
    pub status: PayoutStatus,
    pub value_date: chrono::NaiveDate,
    pub reason: Option<String>,
    /// The unit its payout counts in when it links to nobody (none: `VN`). Left out of the
    /// normalised content when none, so earlier digests stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

fn default_programme() -> String {
    DEFAULT_PROGRAMME.to_owned()
}

impl CallbackPayout {
    /// SHA-256 of the normalised content (fields in declaration order).
    pub fn content_sha256(&self) -> String {
        crate::domain::sha256_hex(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }

    /// Whether this state may follow `earlier` (same bank and reference): only success →
    /// returned (the money came back), with the same payee and amount; the return may bring
    /// its own value date and reason. Err says what differs, for the bank's 409: the status
    /// move not allowed and the names of the fields (never their values: they are personal).
    /// The one transition rule: the store calls it, nothing else decides.
    pub fn follows(&self, earlier: &CallbackPayout) -> Result<(), String> {
        let is_return =
            earlier.status == PayoutStatus::Success && self.status == PayoutStatus::Returned;
        let mut fields = Vec::new();
        let differs = [
            (
                "transaction_ref",
                self.transaction_ref != earlier.transaction_ref,
            ),
            ("period", self.period != earlier.period),
            ("programme", self.programme != earlier.programme),
            ("population_id", self.population_id != earlier.population_id),
            (
                "account_number",
                self.account_number != earlier.account_number,
            ),
            (
                "beneficiary_name",
                self.beneficiary_name != earlier.beneficiary_name,
            ),
            ("amount", self.amount != earlier.amount),
            ("unit", self.unit != earlier.unit),
            (
                "value_date",
                !is_return && self.value_date != earlier.value_date,
            ),
            ("reason", !is_return && self.reason != earlier.reason),
        ];
        fields.extend(differs.iter().filter(|(_, d)| *d).map(|(f, _)| *f));
        if is_return && fields.is_empty() {
            return Ok(());
        }
        let (mut vi, mut en) = (Vec::new(), Vec::new());
        let (a, b) = (earlier.status.as_str(), self.status.as_str());
        if earlier.status != self.status && !is_return {
            vi.push(format!("{a} → {b} không hợp lệ"));
            en.push(format!("{a} → {b} not allowed"));
        }
        if !fields.is_empty() {
            let list = fields.join(", ");
            vi.push(format!("khác: {list}"));
            en.push(format!("differs: {list}"));
        }
        if vi.is_empty() {
            vi.push(format!("{a} → {b}"));
            en.push(format!("{a} → {b}"));
        }
        Err(format!(
            "đã nhận giao dịch này với nội dung khác ({}) / already received with different content ({})",
            vi.join("; "),
            en.join("; ")
        ))
    }
}

/// One signed request from a bank: all its items are stored, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub bank_code: String,
    pub token_name: String,
    pub webhook_id: String,
    pub items: Vec<CallbackPayout>,
}

/// What a bank is told about one payout; a replay gets the very same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CallbackAnswer {
    pub transaction_ref: String,
    pub payout_id: i64,
    #[schema(value_type = crate::domain::status::CallbackStatus)]
    pub status: PayoutStatus,
    /// 1 for the first state, 2 after success → returned.
    pub version: i64,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackVerdict {
    Accepted(Vec<CallbackAnswer>),
    /// Item `index` conflicts with what is stored; nothing of the request was stored.
    Conflict {
        index: usize,
        transaction_ref: String,
        reason: String,
    },
}

/// One of a bank's callback payouts as it reads it back: the current state, with when it
/// first arrived and when its current state did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCallback {
    pub stored: StoredCallback,
    /// 1 for the first state, 2 after success → returned.
    pub version: i64,
    pub received_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A page of a bank's callback payouts of a period, and how many it has there in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCallbacks {
    pub total: i64,
    pub items: Vec<BankCallback>,
}

/// What a bank has sent by callback for a period, for one unit it named (or none).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CallbackTally {
    pub bank_code: String,
    /// The unit the payouts named; None when they named none.
    pub unit: Option<String>,
    pub payouts: i64,
    pub success: i64,
    pub failed: i64,
    pub returned: i64,
    /// When the latest of them arrived (a new state counts as arriving).
    pub last_at: DateTime<Utc>,
}

/// A callback payout's current state, for reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCallback {
    pub id: i64,
    pub bank_code: String,
    pub payout: CallbackPayout,
}

/// Where a period's live cells stand (`Store::live_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStatus {
    /// The inputs the stored cells were computed from (`inputs_key`); None: none stored.
    pub cells_key: Option<String>,
    /// How many times the stored cells were written (0: none stored): with `cells_key`,
    /// `current_key` and `watermark`, it names the figures as they stand.
    pub cells_version: i64,
    /// The period's inputs now.
    pub current_key: String,
    /// Callback changes not yet in the cells.
    pub pending: bool,
    /// The newest change recorded for the period (0: none): a full recompute that starts
    /// now takes in the changes up to it, perhaps more.
    pub watermark: i64,
}

/// A period's inputs as the live figures name them: its current lists (by unit, then id:
/// the order a reconciliation reads them) and its payout files in use (by id), each by id
/// and content digest (so the name says which rows, whatever database it came from).
/// With `adjustments` (the newest adjustment's id, where the period has any: they are
/// never removed), the cells are of those adjustments too, so recording one recomputes them.
pub fn inputs_key(
    lists: &[(i64, &str)],
    files: &[(i64, &str)],
    adjustments: Option<i64>,
    carry_overs: Option<i64>,
) -> String {
    let ids = |v: &[(i64, &str)]| {
        v.iter()
            .map(|(id, sha)| format!("{id}@{}", sha.get(..16).unwrap_or(sha)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let key = format!("lists:{};files:{}", ids(lists), ids(files));
    let key = match adjustments {
        Some(a) => format!("{key};adjustments:{a}"),
        None => key,
    };
    match carry_overs {
        Some(c) => format!("{key};arrears:{c}"),
        None => key,
    }
}

/// An upload as a component's rows name it: which source of the period it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRef {
    pub id: i64,
    pub sha256: String,
    pub unit: String,
    pub file_name: String,
}

/// The state a callback payout had (what changes between its versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackState {
    pub status: PayoutStatus,
    pub reason: Option<String>,
    pub value_date: chrono::NaiveDate,
}

/// The rows of some components of a period: every row sharing a link key with another,
/// transitively, with the period's inputs in order.
#[derive(Debug, Clone, Default)]
pub struct ComponentRows {
    pub lists: Vec<InputRef>,
    pub files: Vec<InputRef>,
    /// (list upload id, row).
    pub list_rows: Vec<(i64, BeneficiaryRecord)>,
    pub payout_rows: Vec<PayoutRecord>,
    pub callbacks: Vec<StoredCallback>,
}

/// One stored live cell (the service's `recon::cells`, flat: the store keeps cells, it
/// does not add them up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCellRow {
    /// The cell's identity: its kind, unit, commune, category and bank, joined.
    pub cell_key: String,
    /// `people` or `unmatched`.
    pub kind: String,
    pub unit_code: Option<String>,
    pub province_code: Option<String>,
    pub commune_key: Option<String>,
    pub category_key: Option<String>,
    pub bank_code: Option<String>,
    pub commune_text: Option<String>,
    pub category_text: Option<String>,
    pub first_pos: i64,
    pub figures: String,
}

/// How a refresh changes the stored cells: the cells it touches, and what they become
/// given what they hold (None: they do not hold what the change says they count).
pub struct LiveDelta {
    pub touched: Vec<String>,
    #[allow(clippy::type_complexity)]
    pub apply: Box<dyn FnOnce(Vec<LiveCellRow>) -> Option<Vec<LiveCellRow>> + Send>,
}

/// A list or payout row of a period's input (`upload_id`, `seq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RowAddress {
    pub payout: bool,
    pub upload_id: i64,
    pub seq: i64,
}

/// What the live refresh needs from the engine, given by the service (the store knows
/// rows, not how they reconcile).
pub trait LiveComponents: Send + Sync {
    /// Every link key of these rows.
    fn keys(&self, rows: &ComponentRows) -> Vec<crate::domain::records::LinkKey>;
    /// The list and payout rows of the period's inputs (`inputs_key`) that may link through
    /// `keys` (a superset is fine); None when they cannot be told here (then the refresh
    /// is Stale).
    fn addresses(
        &self,
        period_id: i64,
        inputs_key: &str,
        keys: &[crate::domain::records::LinkKey],
    ) -> Option<Vec<RowAddress>>;
    /// The change to the cells: these rows as the stored cells count them (each changed
    /// callback in `before`'s state, absent where None) replaced by the rows as they are.
    fn delta(
        &self,
        rows: &ComponentRows,
        before: &HashMap<i64, Option<CallbackState>>,
    ) -> Result<LiveDelta, String>;
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveRefresh {
    /// Changes applied (how many), or none waiting.
    Applied(usize),
    /// The inputs are not those of the cells (or there are none): recompute in full.
    Stale,
    /// Another refresh wrote the cells meanwhile: nothing written, try again.
    Busy,
}

/// Which cells a read wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellScope<'a> {
    Nation,
    Province(&'a str),
    Unit(&'a str),
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Which backend, for logs and /readyz.
    fn backend(&self) -> &'static str;
    /// Each connection pool (`reader`, `writer`): its open connections and how many idle.
    fn pools(&self) -> Vec<PoolUse>;
    /// A consistent copy of the live database, written to `path` (which must not exist),
    /// while the service goes on (SQLite). NotSupported on PostgreSQL: `pg_dump` does it.
    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()>;
    async fn ping(&self) -> StoreResult<()>;

    /// Units whose parent is `parent` (`VN`: the provinces), by code.
    async fn child_units(&self, parent: &str) -> StoreResult<Vec<Unit>>;
    async fn get_unit(&self, code: &str) -> StoreResult<Option<Unit>>;

    /// Every programme, by code.
    async fn list_programmes(&self) -> StoreResult<Vec<Programme>>;
    /// Conflict when the code exists; audits "programme.create".
    async fn create_programme(&self, new: Programme, actor: &str) -> StoreResult<Programme>;

    /// Conflict when (programme, code) exists; NotFound when the programme does not.
    async fn create_period(&self, new: NewPeriod, actor: &str) -> StoreResult<Period>;
    async fn list_periods(&self) -> StoreResult<Vec<Period>>;
    async fn get_period(&self, id: i64) -> StoreResult<Option<Period>>;
    /// The period of `programme` with this canonical code (`2024-09`), if any.
    async fn period_by_code(&self, programme: &str, code: &str) -> StoreResult<Option<Period>>;

    /// Change a unit's own targets for a period (what the change names; a unit left with
    /// none has no row); audits "period.target" with the targets before and after, unless
    /// nothing changed. NotFound when the period or the unit does not exist.
    async fn set_unit_target(
        &self,
        period_id: i64,
        unit: &str,
        change: TargetChange,
        actor: &str,
    ) -> StoreResult<()>;
    /// Every unit's own target for a period, by unit code.
    async fn unit_targets(&self, period_id: i64) -> StoreResult<Vec<UnitTarget>>;

    /// The banks of the beneficiaries of these lists whose account is one of `accounts`,
    /// given without leading zeros (the engine's account keys; the list's are compared
    /// without theirs): per bank code, how many of the accounts. Rows naming no bank are
    /// left out.
    async fn banks_of_accounts(
        &self,
        list_uploads: &[i64],
        accounts: &[String],
    ) -> StoreResult<Vec<(String, i64)>>;

    /// Store a beneficiary list as its unit's new current version in the period, with its
    /// rows (`units[i]`: the commune row i counts in, None: the list's unit) and an audit
    /// entry. The identical file (same SHA-256) again returns the stored upload, made
    /// current again if it was not (audited "upload.make_current"). NotFound when the
    /// period does not exist; Conflict, nothing stored, when an ancestor or descendant unit
    /// has a current list in the period, or the same file is stored for another unit.
    async fn save_beneficiary_list(
        &self,
        period_id: i64,
        upload: NewUpload,
        rows: &[BeneficiaryRow],
        units: &[Option<&str>],
        actor: &str,
    ) -> StoreResult<Saved<Upload>>;
    /// Same for a bank result file (the identical file again restores it if retired).
    async fn save_payout_file(
        &self,
        period_id: i64,
        upload: NewUpload,
        rows: &[PayoutRow],
        actor: &str,
    ) -> StoreResult<Saved<Upload>>;
    /// Store an upload whose rows arrive while its file is still being read: rows are
    /// written as they come (`UploadFeed::Beneficiaries`/`Payouts`, matching `kind`), and
    /// `UploadFeed::Done` stores the upload as `save_beneficiary_list`/`save_payout_file`
    /// would, in the same transaction. `start` names the file (its SHA-256, size, unit,
    /// bank); its counts are not read. Before any row: the identical file already stored
    /// answers `Duplicate` (store it with `save_*` and no rows, which restores it), and a
    /// list overlapping another unit's current list is a Conflict. A feed that ends without
    /// `Done` stores nothing (`Abandoned`). Other writers wait only for the final step.
    async fn stream_upload(
        &self,
        period_id: i64,
        kind: UploadKind,
        start: &NewUpload,
        feed: tokio::sync::mpsc::Receiver<UploadFeed>,
        actor: &str,
    ) -> StoreResult<Streamed>;
    /// Every upload of a period, oldest first.
    async fn list_uploads(&self, period_id: i64) -> StoreResult<Vec<Upload>>;
    /// Make a beneficiary list its unit's current list again (restoring it if it was
    /// retired); audits "upload.make_current". NotFound for no such upload; Conflict for a
    /// payout file, or when an ancestor or descendant unit has a current list. A list
    /// already current is returned unchanged, nothing audited.
    async fn make_current(&self, upload_id: i64, actor: &str) -> StoreResult<Upload>;
    /// Retire an upload: its rows stop counting (a retired current list hands over to the
    /// most recently current list left); audits "upload.retire". Conflict when already
    /// retired.
    async fn retire_upload(&self, upload_id: i64, actor: &str) -> StoreResult<Upload>;
    async fn get_upload(&self, id: i64) -> StoreResult<Option<Upload>>;
    /// Every unit's current list with its rows, and every payout file in use with its
    /// rows. NotFound when the period does not exist.
    async fn period_inputs(&self, period_id: i64) -> StoreResult<PeriodInputs>;
    /// Every row of one list upload, lean (`ListEntry`), in row order: what comparing a
    /// period with the previous one reads, streamed (never held here). An unknown upload
    /// has no rows.
    async fn for_each_list_entry(
        &self,
        upload_id: i64,
        f: &mut (dyn FnMut(ListEntry) -> StoreResult<()> + Send),
    ) -> StoreResult<()>;
    /// Rows `seqs` of list upload `upload_id`, whole, by seq (those that exist): one
    /// indexed read per 500 (the table's key is (upload, seq)).
    async fn list_rows_at(&self, upload_id: i64, seqs: &[i64]) -> StoreResult<Vec<ListRowAt>>;

    /// NotFound unless `list_upload_id` is a beneficiary list of `period_id`; audits
    /// "reconciliation.create". The exceptions are written as `run.exceptions` sends them;
    /// a feed that ends without `RunFeed::Done` stores nothing (Conflict).
    async fn save_reconciliation(&self, run: NewRun, actor: &str) -> StoreResult<RunInfo>;
    async fn get_reconciliation(&self, id: i64) -> StoreResult<Option<StoredRun>>;
    /// A run without its JSON texts (reports can be megabytes).
    async fn run_info(&self, id: i64) -> StoreResult<Option<RunInfo>>;
    async fn list_reconciliations(&self, period_id: i64) -> StoreResult<Vec<RunInfo>>;
    /// Take a step of a run (`step.step` must not be `Reopen`: see `reopen_period`), if its
    /// state allows (`Step::from`), and audit it. Approving closes the period for the
    /// run's subtree; Conflict, nothing written, when that unit's subtree is closed
    /// already, or the state does not allow the step. NotFound for no such run.
    async fn take_run_step(&self, run_id: i64, step: NewRunStep) -> StoreResult<RunInfo>;
    /// Every step of a run, oldest first.
    async fn run_steps(&self, run_id: i64) -> StoreResult<Vec<RunStep>>;
    /// The period's closures, by unit code.
    async fn period_closures(&self, period_id: i64) -> StoreResult<Vec<Closure>>;
    /// Reopen the period for `unit`'s subtree: its closure goes, a `reopen` step is added
    /// to the approved run, audited. Conflict when the unit's subtree is not closed.
    async fn reopen_period(
        &self,
        period_id: i64,
        unit: &str,
        step: NewRunStep,
    ) -> StoreResult<Closure>;
    /// Callbacks of a programme's period stored or changed after `since`, at most `limit`
    /// (the newest state of each).
    async fn callbacks_since(
        &self,
        programme: &str,
        period_code: &str,
        since: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<LateCallback>>;
    /// Which of `ids` are on the beneficiary lists `list_ids` (as written there).
    async fn ids_on_lists(&self, list_ids: &[i64], ids: &[String]) -> StoreResult<Vec<String>>;

    /// Keep `d` as the digest of run `run_id`'s `d.file` in `d.lang` unless one is kept
    /// already; returns the one kept (the first), for the caller to compare.
    async fn record_download(&self, run_id: i64, d: RunDownload) -> StoreResult<RunDownload>;
    /// The run's kept download digests, by file then language.
    async fn run_downloads(&self, run_id: i64) -> StoreResult<Vec<RunDownload>>;

    /// Add an entry to an exception's history (and, for a link or a payment in cash, the
    /// period's adjustment), audited as `exception.resolve` with the state before and
    /// after, in one transaction. NotFound when the run does not exist.
    async fn add_resolution(
        &self,
        new: NewResolution,
        adjustment: Option<NewAdjustment>,
    ) -> StoreResult<Resolution>;
    /// A run's exception histories, oldest first: one exception's (`key`), or every one's.
    async fn resolutions(&self, run_id: i64, key: Option<&str>) -> StoreResult<Vec<Resolution>>;
    /// A period's adjustments, oldest first.
    async fn period_adjustments(&self, period_id: i64) -> StoreResult<Vec<Adjustment>>;
    /// Store a carry-over into its period with its arrears rows, audited as
    /// `period.carry_over`, in one transaction. Conflict when that run was carried into the
    /// period already, or when the period is closed for the unit.
    async fn carry_over(&self, new: NewCarryOver) -> StoreResult<CarryOver>;
    /// A period's carry-overs, oldest first.
    async fn carry_overs(&self, period_id: i64) -> StoreResult<Vec<CarryOver>>;
    /// The carry-overs of runs of period `from_period_id` (into any later period).
    async fn carry_overs_from(&self, from_period_id: i64) -> StoreResult<Vec<CarryOver>>;
    /// A period's arrears rows, in the order they were carried.
    async fn period_arrears(&self, period_id: i64) -> StoreResult<Vec<Arrear>>;
    /// Stores the orders of a period's pain.001 message: an order whose end-to-end
    /// reference is stored already keeps its first row (the same orders exported again
    /// store nothing new); the message's blocks are recorded. Audits
    /// `period.payment_orders` when an order is new. Returns how many were new.
    async fn save_payment_orders(&self, new: NewPaymentOrders) -> StoreResult<u64>;
    /// The period's stored orders (one bank's, or all; with `related`, only those for a
    /// unit within its subtree or above it), with the blocks of each message.
    async fn payment_orders(
        &self,
        period_id: i64,
        bank: Option<&str>,
        related: Option<&str>,
    ) -> StoreResult<crate::domain::payment_orders::PaymentOrders>;
    /// The rows of the period's current lists with this ID (as listed) or, for `Row`, the
    /// rows at that spreadsheet row whose ID is not valid.
    async fn listed_rows(&self, period_id: i64, q: &ListedQuery) -> StoreResult<Vec<ListedRow>>;
    /// Matching exceptions of a run in its order, at most `limit` from `start`, as
    /// `(seq, row_json)`.
    async fn exception_rows(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        start: PageStart,
        limit: i64,
    ) -> StoreResult<Vec<(i64, String)>>;
    /// Matching exceptions of a run in `sort`'s order (ties in the run's order, the same
    /// direction; rows without a value last), at most `limit` from `start`.
    async fn sorted_exception_rows(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        sort: ExceptionSort,
        start: SortedStart,
        limit: i64,
    ) -> StoreResult<Vec<SortedRow>>;
    /// Those of a run's exceptions at `seqs` (ascending), as `(seq, row_json)`.
    async fn exceptions_at(&self, run_id: i64, seqs: &[i64]) -> StoreResult<Vec<(i64, String)>>;
    /// Each of a run's exceptions in order, as stored but without its `row_json`.
    async fn for_each_exception_record(
        &self,
        run_id: i64,
        f: &mut (dyn FnMut(ExceptionRecord) + Send),
    ) -> StoreResult<()>;
    /// How many of a run's exceptions match, counting no further than `up_to` (a search
    /// for a common name part stops there instead of visiting every match).
    async fn count_exceptions(
        &self,
        run_id: i64,
        filter: &ExceptionFilter,
        up_to: Option<i64>,
    ) -> StoreResult<i64>;
    /// A run stored before exceptions were rows: store `rows` as its rows and empty its
    /// JSON list, unless that already happened (then nothing changes).
    async fn move_exceptions_to_rows(
        &self,
        run_id: i64,
        rows: Vec<ExceptionRecord>,
    ) -> StoreResult<()>;

    /// Conflict when the name exists.
    async fn create_token(&self, new: NewToken, actor: &str) -> StoreResult<TokenInfo>;
    /// False when no active token has that name. Its web sessions are deleted with it.
    async fn revoke_token(&self, name: &str, actor: &str) -> StoreResult<bool>;
    /// An active (not revoked) token by its hash.
    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<TokenInfo>>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>>;
    /// The webhook secret of an active token (bank tokens have one).
    async fn webhook_secret(&self, token_id: i64) -> StoreResult<Option<String>>;

    /// Store a signed-in session; also deletes expired sessions; audits "session.sign_in"
    /// (subject "token/{name}", details {"token_id", "expires_at"}; never the session id or
    /// hash), the actor being "{role}:{token name}". NotFound (nothing written) when the token
    /// does not exist or is revoked; Conflict if the hash is already stored.
    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The live session with this hash: not expired at `now` (`now < expires_at`), and its
    /// token not revoked.
    async fn session_by_hash(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>>;
    /// Sign out: delete the session (expired or not); audits "session.sign_out" when one was
    /// deleted; Ok(false) if none.
    async fn delete_session(&self, session_hash: &str) -> StoreResult<bool>;

    /// Store bank callbacks, many requests in ONE transaction (group commit): each request
    /// is decided in order against what is stored (including earlier requests of the
    /// group) inside its own savepoint, so one request's conflict never undoes another's.
    /// Same (bank, ref) and same content as any earlier state → the stored answer, no write.
    /// success → returned (`CallbackPayout::follows`) → version + 1. Anything else → Conflict.
    /// Each accepted request appends one audit entry (`callback.payouts`).
    async fn save_callbacks(
        &self,
        requests: &[CallbackRequest],
    ) -> StoreResult<Vec<CallbackVerdict>>;
    /// Current state of every callback payout posted for a programme's period code, in id
    /// order.
    async fn callback_payouts(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Vec<StoredCallback>>;
    /// When a programme's period's callbacks last changed (a new payout or a new state):
    /// an index read, where `callback_tallies` reads every callback. None: none yet.
    async fn callbacks_changed_at(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Option<DateTime<Utc>>>;
    /// What each bank sent by callback for a programme's period code, by the unit named.
    async fn callback_tallies(
        &self,
        programme: &str,
        period_code: &str,
    ) -> StoreResult<Vec<CallbackTally>>;
    /// One bank's callback payouts of a programme's period code, in id order: at most
    /// `limit` from `start` (`After` a payout id, or `Skip` that many), and their count.
    async fn bank_callbacks(
        &self,
        bank_code: &str,
        programme: &str,
        period_code: &str,
        start: PageStart,
        limit: i64,
    ) -> StoreResult<BankCallbacks>;
    /// The rows of the period's current inputs linked (transitively, as the live refresh
    /// reads them) to the callbacks `callback_ids`, those callbacks included, read in one
    /// snapshot. None when `components` has no link index of the inputs as they are.
    async fn callback_components(
        &self,
        period_id: i64,
        callback_ids: &[i64],
        components: &dyn LiveComponents,
    ) -> StoreResult<Option<ComponentRows>>;
    /// The rows of the period's current inputs linked (transitively) to the people with
    /// these IDs, read in one snapshot, as `callback_components` reads a callback's.
    async fn person_components(
        &self,
        period_id: i64,
        ids: &[String],
        components: &dyn LiveComponents,
    ) -> StoreResult<Option<ComponentRows>>;
    /// Every state one payout passed through, oldest first (empty when unknown).
    async fn callback_history(
        &self,
        bank_code: &str,
        transaction_ref: &str,
    ) -> StoreResult<Vec<CallbackPayout>>;

    /// Where the period's live cells stand.
    async fn live_status(&self, period_id: i64) -> StoreResult<LiveStatus>;
    /// Periods with live cells stored and callback changes waiting for them.
    async fn live_pending_periods(&self) -> StoreResult<Vec<i64>>;
    /// The period's live cells a scope needs (a province's, or the unit's own).
    async fn live_cells(
        &self,
        period_id: i64,
        scope: CellScope<'_>,
    ) -> StoreResult<Vec<LiveCellRow>>;
    /// Replace the period's cells with `cells`, computed in full from the inputs
    /// `inputs_key` names and the callbacks in `gathered` (by id, in the state read), which
    /// took in every change up to `watermark`; then apply the changes after it, as
    /// `apply_live_changes` does. Stale (nothing written) when the inputs changed since.
    async fn replace_live_cells(
        &self,
        period_id: i64,
        inputs_key: &str,
        cells: Vec<LiveCellRow>,
        watermark: i64,
        gathered: HashMap<i64, CallbackState>,
        components: &dyn LiveComponents,
    ) -> StoreResult<LiveRefresh>;
    /// Apply the period's pending callback changes to its cells in one transaction: the
    /// rows linked to each changed payout are read, reconciled as the cells counted them
    /// and as they are now, and the difference added.
    async fn apply_live_changes(
        &self,
        period_id: i64,
        components: &dyn LiveComponents,
    ) -> StoreResult<LiveRefresh>;

    /// Entries with seq > `after`, oldest first, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEntry>>;
    /// Append an entry on its own (e.g. a CLI action with no other state change).
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry>;
}

/// Open the store a URL names, creating the SQLite file and its folder when needed, and
/// run the migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let s = sqlite::SqliteStore::connect(url).await?;
        Ok(Arc::new(s))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// The migration folders, compiled in; a test checks they move in step.
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payout(status: PayoutStatus) -> CallbackPayout {
        CallbackPayout {
            transaction_ref: "FT1".into(),
            period: "2024-09".into(),
            programme: DEFAULT_PROGRAMME.into(),
            population_id: Some("025038000101".into()),
            account_number: "4200205123456".into(),
            beneficiary_name: Some("NGUYEN VAN AN".into()),
            amount: 1_500_000,
            status,
            value_date: chrono::NaiveDate::from_ymd_opt(2024, 9, 20).unwrap_or_default(),
            reason: None,
            unit: None,
        }
    }

    fn status() -> impl Strategy<Value = PayoutStatus> {
        prop_oneof![
            Just(PayoutStatus::Success),
            Just(PayoutStatus::Failed),
            Just(PayoutStatus::Returned),
            Just(PayoutStatus::Pending),
        ]
    }

    #[test]
    fn a_return_may_change_date_and_reason_only() {
        let paid = payout(PayoutStatus::Success);
        let back = CallbackPayout {
            value_date: chrono::NaiveDate::from_ymd_opt(2024, 9, 25).unwrap_or_default(),
            reason: Some("Tài khoản đã đóng".into()),
            ..payout(PayoutStatus::Returned)
        };
        assert_eq!(back.follows(&paid), Ok(()));
        let other_amount = CallbackPayout {
            amount: 1,
            ..back.clone()
        };
        let why = other_amount.follows(&paid).err().unwrap_or_default();
        assert!(
            why.contains("differs: amount") && !why.contains("1500000"),
            "{why}"
        );
        let why = paid.follows(&back).err().unwrap_or_default();
        assert!(why.contains("returned → success not allowed"), "{why}");
    }

    /// Migration 0007 seeds exactly the units the domain ships, on both backends.
    #[test]
    fn units_migration_is_the_shipped_tree() {
        let quote =
            |s: Option<&str>| s.map_or("NULL".into(), |s| format!("'{}'", s.replace('\'', "''")));
        let values: Vec<String> = crate::domain::units::seed()
            .iter()
            .map(|u| {
                format!(
                    "    ({}, {}, {}, '{}', {}, {})",
                    quote(Some(&u.code)),
                    quote(Some(&u.name)),
                    quote(Some(&u.full_name)),
                    u.level.as_str(),
                    quote(u.parent.as_deref()),
                    quote(u.kind.as_deref()),
                )
            })
            .collect();
        let expected = format!(
            "INSERT INTO units (code, name, full_name, level, parent, kind) VALUES\n{};\n",
            values.join(",\n")
        );
        for sql in [
            include_str!("../../migrations/sqlite/0007_units.sql"),
            include_str!("../../migrations/postgres/0007_units.sql"),
        ] {
            assert!(
                sql.ends_with(&expected),
                "the migration's rows differ from admin_units_2025.csv"
            );
        }
    }

    proptest! {
        /// Allowed exactly when the status goes success → returned and the payee and amount
        /// are those stored; the reason never carries a value.
        #[test]
        fn follows_is_the_transition_rule(
            s1 in status(), s2 in status(),
            amount_differs in any::<bool>(), account_differs in any::<bool>(),
            name_differs in any::<bool>(), date_differs in any::<bool>(),
        ) {
            let earlier = payout(s1);
            let mut later = payout(s2);
            if amount_differs { later.amount += 1; }
            if account_differs { later.account_number.push('9'); }
            if name_differs { later.beneficiary_name = Some("TRAN VAN B".into()); }
            if date_differs { later.value_date = later.value_date.succ_opt().unwrap_or_default(); }
            let allowed = s1 == PayoutStatus::Success
                && s2 == PayoutStatus::Returned
                && !amount_differs && !account_differs && !name_differs;
            let verdict = later.follows(&earlier);
            prop_assert_eq!(verdict.is_ok(), allowed);
            if let Err(why) = verdict {
                prop_assert!(!why.contains("4200205123456") && !why.contains("NGUYEN"));
            }
        }
    }
}
