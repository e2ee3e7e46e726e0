//! What the service does, independent of HTTP: store uploads, run and store
//! reconciliations with their digests, and render stored runs for download.

pub mod approval;
pub mod arrears;
pub mod callbacks;
pub mod compare;
pub mod comparison;
pub mod exceptions;
pub mod job;
pub mod live;
pub mod orders;
pub mod resolutions;
pub mod search;
pub mod tokens;

/// What an upload's file arrives in (the API and the pages fill it as the body streams).
pub use crate::import::spool::{Spool, Spooled};
pub use exceptions::{
    DownloadBody, ExceptionItem, ExceptionPage, ExceptionQuery, download, download_view,
    exception_page, filter_exceptions,
};

use std::collections::HashMap;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::domain::attributed::InUnits;
use crate::domain::banks::BankId;
use crate::domain::columns::{ListTable, PayoutTable};
use crate::domain::period::{PeriodCode, Targets, TargetsBp};
use crate::domain::population_id::IdCheck;
use crate::domain::records::{BeneficiaryRow, ListRows, PayoutOrigin, PayoutRow, RowRef};
use crate::domain::sha256_hex;
use crate::domain::units::{NATION, Unit, UnitLevel};
use crate::import::{
    Drafted, ImportError, ImportOptions, Imported, RowFeed, Rows, import_beneficiaries_into,
    import_payouts_into,
};
use crate::recon::{Coverage, ExceptionRow, Options, Slice};
use crate::report::{InputFile, ProgrammeRef, Report, ReportMeta, UnitFigures, UnitRef};
use crate::store::{
    DEFAULT_PROGRAMME, NewPeriod, NewRun, NewUpload, Period, Programme, RunFeed, RunInfo, Saved,
    Store, StoreError, StoredCallback, StoredRun, Streamed, Upload, UploadFeed, UploadKind,
};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("không tìm thấy / not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("kỳ {0} chưa có danh sách đối tượng / period {0} has no beneficiary list yet")]
    NoList(i64),
    #[error(
        "kỳ {0}: đơn vị {1} chưa có danh sách đối tượng (của chính đơn vị hoặc đơn vị cấp trên ghi tên xã của đơn vị) / period {0}: unit {1} has no beneficiary on any list yet"
    )]
    NoListIn(i64, String),
    #[error("không có đơn vị '{0}' / no unit '{0}'")]
    UnknownUnit(String),
    #[error(
        "Tiêu đề của tệp không khớp với kỳ này; nếu đúng là danh sách của kỳ này, hãy xác nhận (confirm=true) rồi tải lên lại / the file's title does not match this period; if it really is this period's list, confirm (confirm=true) and upload again: {}",
        .0.join("; ")
    )]
    NeedsConfirmation(Vec<String>),
    #[error("{0}")]
    Forbidden(String),
    /// A change to the inputs of a period closed for the unit (an approved run).
    #[error(
        "Kỳ đã khóa cho đơn vị {unit} và các đơn vị trực thuộc từ {at}: kết quả đối soát #{run_id} đã được phê duyệt; không nhận thêm {kind_vi}. Cần người phê duyệt mở lại kỳ / the period is closed for unit {unit}'s subtree since {at} (Vietnam time): reconciliation {run_id} was approved; no new {kind_en} until an approver reopens it",
        at = crate::domain::dates::vietnam_time(*closed_at).format("%d/%m/%Y %H:%M"),
        kind_vi = what.label_vi(),
        kind_en = what.label_en(),
    )]
    Closed {
        unit: String,
        run_id: i64,
        closed_at: chrono::DateTime<chrono::Utc>,
        what: approval::ClosedChange,
    },
    /// A request that cannot be used as sent (400): `slug` names what is wrong.
    #[error("{detail}")]
    Invalid { slug: &'static str, detail: String },
    /// A request that does not fit what it acts on (409): `slug` names why.
    #[error("{detail}")]
    Refused { slug: &'static str, detail: String },
    #[error("lỗi nội bộ / internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    pub(crate) fn invalid(slug: &'static str, detail: impl Into<String>) -> Self {
        ServiceError::Invalid {
            slug,
            detail: detail.into(),
        }
    }
    pub(crate) fn refused(slug: &'static str, detail: impl Into<String>) -> Self {
        ServiceError::Refused {
            slug,
            detail: detail.into(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// An uploaded file and who sent it.
pub struct UploadRequest {
    pub period_id: i64,
    pub file_name: String,
    /// The file as received (in memory, or spooled to disk when large).
    pub body: Spooled,
    /// Payout files without a bank column.
    pub bank: Option<BankId>,
    /// The unit it is for (already checked to be within the uploader's subtree).
    pub unit: String,
    pub actor: String,
    /// The uploader confirmed a list whose title names another period or place.
    pub confirmed: bool,
}

/// A period as a person asks for it, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct PeriodRequest {
    /// As typed: `2024-09`, `Quý 3/2024`, `09/2024`…
    pub code: String,
    /// A programme's code (`TCXH`) or its name as written; none: `TCXH`.
    pub programme: Option<String>,
    pub locality: Option<String>,
    /// The target for both rates; each rate's own below wins over it.
    pub target_pct: Option<Decimal>,
    pub account_coverage_target_pct: Option<Decimal>,
    pub cashless_rate_target_pct: Option<Decimal>,
}

/// A field of a period request that cannot be used, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The request field: `code`, `programme`, `locality`, `target_pct`,
    /// `account_coverage_target_pct`, `cashless_rate_target_pct`.
    pub field: &'static str,
    pub message_vi: String,
    pub message_en: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreatePeriodError {
    #[error("{}", .0.iter().map(|e| format!("{}: {} / {}", e.field, e.message_vi, e.message_en)).collect::<Vec<_>>().join("; "))]
    Fields(Vec<FieldError>),
    #[error("kỳ '{0}' của chế độ {1} đã có / period '{0}' of programme {1} exists")]
    Exists(String, String),
    #[error(transparent)]
    Store(StoreError),
}

/// Longest programme or locality name kept (characters).
const PERIOD_TEXT_CHARS: usize = 200;

/// A run's exceptions are made into stored records and written this many at a time.
const EXCEPTION_BATCH: usize = 65_536;

/// Check a period request and create it: the one rule for the API and the pages. Every
/// field's problem is reported, not just the first.
#[tracing::instrument(skip_all, fields(code = %req.code, actor = %actor))]
pub async fn create_period(
    store: &dyn Store,
    req: PeriodRequest,
    actor: &str,
) -> Result<Period, CreatePeriodError> {
    let mut errors = Vec::new();
    let code = PeriodCode::parse(&req.code)
        .map_err(|e| {
            errors.push(FieldError {
                field: "code",
                message_vi: e.message_vi(),
                message_en: e.message_en(),
            })
        })
        .ok();
    let mut target = |field: &'static str, pct: Option<Decimal>| {
        let t = pct?;
        let bp = crate::domain::period::target_bp(t);
        if bp.is_none() {
            errors.push(FieldError {
                field,
                message_vi: format!("{}: {t}", crate::domain::period::TARGET_RULE_VI),
                message_en: format!("{}: {t}", crate::domain::period::TARGET_RULE_EN),
            });
        }
        bp
    };
    let targets = crate::domain::period::TargetsBp {
        all: target("target_pct", req.target_pct),
        account_coverage: target(
            "account_coverage_target_pct",
            req.account_coverage_target_pct,
        ),
        cashless_rate: target("cashless_rate_target_pct", req.cashless_rate_target_pct),
    };
    let mut text = |field: &'static str, v: Option<String>| {
        let v = v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if v.as_ref().is_some_and(|v| {
            v.chars().count() > PERIOD_TEXT_CHARS || v.chars().any(char::is_control)
        }) {
            errors.push(FieldError {
                field,
                message_vi: format!("tối đa {PERIOD_TEXT_CHARS} ký tự, không có ký tự điều khiển"),
                message_en: format!(
                    "at most {PERIOD_TEXT_CHARS} characters, no control characters"
                ),
            });
        }
        v
    };
    let asked = text("programme", req.programme);
    let locality = text("locality", req.locality);
    let programmes = store
        .list_programmes()
        .await
        .map_err(CreatePeriodError::Store)?;
    let too_long = errors.iter().any(|e| e.field == "programme");
    let programme = match resolve_programme(&programmes, asked.as_deref()) {
        Ok(p) => Some(p),
        Err(_) if too_long => None,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let (Some(code), Some(programme), true) = (code, programme, errors.is_empty()) else {
        return Err(CreatePeriodError::Fields(errors));
    };
    let new = NewPeriod {
        code: code.as_str().to_owned(),
        programme: programme.clone(),
        locality,
        targets,
    };
    store.create_period(new, actor).await.map_err(|e| match e {
        StoreError::Conflict(_) => CreatePeriodError::Exists(code.as_str().to_owned(), programme),
        other => CreatePeriodError::Store(other),
    })
}

/// The programme a request names: by code in any case (`tcxh`), or by its name as written,
/// without regard to case or diacritics ("Trợ cấp xã hội hằng tháng"); none named: `TCXH`.
pub fn resolve_programme(known: &[Programme], asked: Option<&str>) -> Result<String, FieldError> {
    let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(DEFAULT_PROGRAMME.to_owned());
    };
    let folded = crate::domain::names::fold(asked);
    // A code wins over a name: a programme named "TCXH" must not take TCXH's periods.
    let by_code = known.iter().find(|p| p.code.eq_ignore_ascii_case(asked));
    by_code
        .or_else(|| {
            known
                .iter()
                .find(|p| crate::domain::names::fold(&p.name) == folded)
        })
        .map(|p| p.code.clone())
        .ok_or_else(|| {
            let codes = known
                .iter()
                .map(|p| format!("{} ({})", p.code, p.name))
                .collect::<Vec<_>>()
                .join(", ");
            FieldError {
                field: "programme",
                message_vi: format!("không có chế độ '{asked}'; các chế độ: {codes}"),
                message_en: format!("no programme '{asked}'; programmes: {codes}"),
            }
        })
}

/// A programme as an admin asks for it, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct ProgrammeRequest {
    pub code: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateProgrammeError {
    #[error("{}", .0.iter().map(|e| format!("{}: {} / {}", e.field, e.message_vi, e.message_en)).collect::<Vec<_>>().join("; "))]
    Fields(Vec<FieldError>),
    #[error("chế độ '{0}' đã có / programme '{0}' exists")]
    Exists(String),
    #[error(transparent)]
    Store(StoreError),
}

/// Check a programme request and create it: a code of 2–16 letters, digits or `_` (stored
/// in capitals), and a name.
pub async fn create_programme(
    store: &dyn Store,
    req: ProgrammeRequest,
    actor: &str,
) -> Result<Programme, CreateProgrammeError> {
    let mut errors = Vec::new();
    let code = req.code.trim().to_uppercase();
    let code_ok = (2..=16).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !code_ok {
        errors.push(FieldError {
            field: "code",
            message_vi: "mã chế độ: 2–16 chữ cái, chữ số hoặc _".into(),
            message_en: "programme code: 2–16 letters, digits or _".into(),
        });
    }
    let name = crate::domain::names::clean_display(req.name.trim()).into_owned();
    if name.is_empty()
        || name.chars().count() > PERIOD_TEXT_CHARS
        || name.chars().any(char::is_control)
    {
        errors.push(FieldError {
            field: "name",
            message_vi: format!("tên chế độ: bắt buộc, tối đa {PERIOD_TEXT_CHARS} ký tự"),
            message_en: format!("programme name: required, at most {PERIOD_TEXT_CHARS} characters"),
        });
    }
    let known = store
        .list_programmes()
        .await
        .map_err(CreateProgrammeError::Store)?;
    // A name clashes when a request naming it would mean another programme.
    let clash = (!name.is_empty())
        .then(|| resolve_programme(&known, Some(&name)).ok())
        .flatten()
        .filter(|other| *other != code);
    if let Some(p) = clash.and_then(|c| known.iter().find(|p| p.code == c)) {
        errors.push(FieldError {
            field: "name",
            message_vi: format!("tên này đã là chế độ {} ({})", p.code, p.name),
            message_en: format!("this name is already programme {} ({})", p.code, p.name),
        });
    }
    if !errors.is_empty() {
        return Err(CreateProgrammeError::Fields(errors));
    }
    store
        .create_programme(
            Programme {
                code: code.clone(),
                name,
            },
            actor,
        )
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => CreateProgrammeError::Exists(code),
            other => CreateProgrammeError::Store(other),
        })
}

/// What an upload's import may cost, and how many imports may run at once: each holds a
/// workbook and its grid in memory, so twenty parallel uploads must queue, not all inflate.
#[derive(Debug, Clone)]
pub struct ImportGate {
    pub max_uncompressed_bytes: u64,
    pub max_cells: u64,
    permits: Arc<tokio::sync::Semaphore>,
}

impl ImportGate {
    pub fn new(max_uncompressed_bytes: u64, max_cells: u64, concurrent: usize) -> Self {
        ImportGate {
            max_uncompressed_bytes,
            max_cells,
            permits: Arc::new(tokio::sync::Semaphore::new(concurrent.max(1))),
        }
    }
}

/// Import and store a file. The import runs on a blocking thread (calamine is CPU work),
/// one of at most `gate`'s concurrent imports, and hands its rows on as it reads them: they
/// are written to the database while the rest of the file is read (`Store::stream_upload`),
/// so neither the file nor all its rows are in memory at once. Nothing is stored unless the
/// whole file can be read and every check passes.
#[tracing::instrument(skip_all, fields(period_id = req.period_id, kind = kind.as_str(), bytes = req.body.len(), actor = %req.actor))]
pub async fn upload(
    store: &dyn Store,
    kind: UploadKind,
    req: UploadRequest,
    gate: &ImportGate,
) -> ServiceResult<Saved<Upload>> {
    // A closed period says so before the file is read (the store checks again as it writes).
    approval::ensure_open(store, req.period_id, &req.unit, kind.into()).await?;
    // A bank file with no bank column, none given and none in its title is read again
    // once its accounts have said which bank it is from.
    let again = if kind == UploadKind::Payouts && req.bank.is_none() {
        let body = req
            .body
            .reread()
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Some(UploadRequest {
            body,
            file_name: req.file_name.clone(),
            unit: req.unit.clone(),
            actor: req.actor.clone(),
            ..req
        })
    } else {
        None
    };
    match (upload_as_given(store, kind, req, gate, None).await, again) {
        (Err(ServiceError::Import(no_bank @ ImportError::NoBank { .. })), Some(again)) => {
            let Some(found) = bank_from_accounts(store, gate, &again).await? else {
                return Err(ServiceError::Import(no_bank));
            };
            let notice = bank_inferred(&found);
            let again = UploadRequest {
                bank: Some(found.bank),
                ..again
            };
            upload_as_given(store, kind, again, gate, Some(notice)).await
        }
        (done, _) => done,
    }
}

/// Distinct account numbers of a bank file looked at to tell its bank.
pub(crate) const ACCOUNTS_SAMPLED: usize = 2_000;

/// The notice of a bank file whose bank its accounts told.
pub(crate) fn bank_inferred(found: &crate::domain::banks::AccountEvidence) -> String {
    let bank = found.bank.short_name();
    let (agreeing, matched) = (found.agreeing, found.matched);
    format!(
        "Ngân hàng suy ra từ danh sách đối tượng: {agreeing}/{matched} số tài khoản của tệp có trong danh sách là tài khoản tại {bank} / the bank is inferred from the beneficiary list: {agreeing} of the file's {matched} account numbers found in the list are accounts at {bank}"
    )
}

/// The bank a file without a bank column is from, by whose accounts it pays: the banks of
/// the beneficiaries with those accounts in the period's current lists of the uploader's
/// unit, the units below it and those above it (a province's list holds its communes'
/// people). None when the accounts do not say one bank (`bank_by_accounts`).
async fn bank_from_accounts(
    store: &dyn Store,
    gate: &ImportGate,
    req: &UploadRequest,
) -> ServiceResult<Option<crate::domain::banks::AccountEvidence>> {
    let input = req
        .body
        .reread()
        .and_then(Spooled::into_input)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let opts = ImportOptions {
        max_uncompressed_bytes: gate.max_uncompressed_bytes,
        max_cells: gate.max_cells,
        ..ImportOptions::new(crate::domain::dates::this_year())
    };
    let sample = {
        let _permit = gate
            .permits
            .acquire()
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let name = req.file_name.clone();
        blocking(move || crate::import::sample_accounts(&name, input, &opts, ACCOUNTS_SAMPLED))
            .await??
    };
    let mut keys: Vec<String> = sample
        .accounts
        .iter()
        .map(|a| crate::recon::account_key(a).to_owned())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let tree = crate::domain::units::shipped_tree();
    let related = |u: &str| tree.is_within(u, &req.unit) || tree.is_within(&req.unit, u);
    let lists: Vec<i64> = store
        .list_uploads(req.period_id)
        .await?
        .into_iter()
        .filter(|u| u.kind == UploadKind::Beneficiaries && u.current && related(&u.unit))
        .map(|u| u.id)
        .collect();
    let found: Vec<(BankId, u64)> = store
        .banks_of_accounts(&lists, &keys)
        .await?
        .into_iter()
        .filter_map(|(code, n)| Some((BankId::resolve(&code)?, u64::try_from(n).ok()?)))
        .collect();
    Ok(crate::domain::banks::bank_by_accounts(
        keys.len() as u64,
        &found,
    ))
}

/// `upload` with the bank as given (or found), and a notice to add to the upload's own.
async fn upload_as_given(
    store: &dyn Store,
    kind: UploadKind,
    req: UploadRequest,
    gate: &ImportGate,
    notice: Option<String>,
) -> ServiceResult<Saved<Upload>> {
    let Some(period) = store.get_period(req.period_id).await? else {
        return Err(ServiceError::NotFound(format!("period {}", req.period_id)));
    };
    let tree = crate::domain::units::shipped_tree();
    if tree.get(&req.unit).is_none() {
        return Err(ServiceError::UnknownUnit(req.unit));
    }
    // The period's payment orders, for a bank's answer that names only the end-to-end
    // references of the orders doisoat wrote (pain.002, camt, MT940).
    let orders = match kind {
        UploadKind::Payouts => {
            // Only the orders of the uploader's units, below or above it: a commune's
            // upload cannot name another commune's beneficiaries.
            let stored = store
                .payment_orders(req.period_id, req.bank.map(|b| b.code()), Some(&req.unit))
                .await?;
            (!stored.is_empty()).then(|| Arc::new(stored))
        }
        UploadKind::Beneficiaries => None,
    };
    let opts = ImportOptions {
        default_bank: req.bank,
        max_uncompressed_bytes: gate.max_uncompressed_bytes,
        max_cells: gate.max_cells,
        orders,
        ..ImportOptions::new(crate::domain::dates::this_year())
    };
    // Held until the rows are stored: a workbook is in memory until then.
    let _permit = gate
        .permits
        .acquire()
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let bank = req.bank.map(|b| b.code().to_owned());
    let start = NewUpload::starting(&req, bank.clone());
    let UploadRequest {
        period_id,
        file_name,
        body,
        unit,
        actor,
        confirmed,
        ..
    } = req;
    let input = body
        .into_input()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let (feed_tx, feed_rx) = tokio::sync::mpsc::channel::<UploadFeed>(2);
    let stored = store.stream_upload(period_id, kind, &start, feed_rx, &actor);
    let imported = async {
        // Owned here: when this ends early (a file that cannot be read, a refused title), the
        // last sender goes with it and the store, seeing no `Done`, stores nothing.
        let feed_tx = feed_tx;
        match kind {
            UploadKind::Beneficiaries => {
                let attribution = Arc::new(std::sync::Mutex::new(Attribution::new(&unit)));
                let (attr, rows_tx) = (Arc::clone(&attribution), feed_tx.clone());
                let feed = RowFeed::new(move |rows: Vec<BeneficiaryRow>| {
                    let Ok(units) = attr.lock().map(|mut a| a.units(&rows)) else {
                        return false;
                    };
                    rows_tx
                        .blocking_send(UploadFeed::Beneficiaries(rows, units))
                        .is_ok()
                });
                let mut imp = blocking(move || {
                    let mut imp = import_beneficiaries_into(&file_name, input, &opts, feed)?;
                    imp.rows.flush();
                    imp.require_rows()
                })
                .await??;
                let warnings = title_mismatch(&period, &imp.title);
                if !warnings.is_empty() {
                    if !confirmed {
                        return Err(ServiceError::NeedsConfirmation(warnings));
                    }
                    imp.notices.extend(warnings.into_iter().map(|w| {
                        format!(
                            "{w} — {} / confirmed by {actor}",
                            "người tải lên đã xác nhận"
                        )
                    }));
                }
                let unresolved = attribution
                    .lock()
                    .map_err(|_| ServiceError::Internal("attribution".into()))?
                    .notice();
                imp.notices.extend(unresolved);
                let new = NewUpload::from_imported(
                    &imp,
                    start.sha256.clone(),
                    start.size_bytes,
                    None,
                    &unit,
                );
                // The store may have answered already (the same file stored): then it is
                // not listening, and `stored` says why.
                let _ = feed_tx.send(UploadFeed::Done(Box::new(new.clone()))).await;
                Ok(new)
            }
            UploadKind::Payouts => {
                let rows_tx = feed_tx.clone();
                let feed = RowFeed::new(move |rows: Vec<PayoutRow>| {
                    rows_tx.blocking_send(UploadFeed::Payouts(rows)).is_ok()
                });
                let mut imp = blocking(move || {
                    let mut imp = import_payouts_into(&file_name, input, &opts, feed)?;
                    imp.rows.flush();
                    Ok::<_, ImportError>(imp)
                })
                .await??;
                imp.notices.extend(notice);
                let new = NewUpload::from_imported(
                    &imp,
                    start.sha256.clone(),
                    start.size_bytes,
                    bank,
                    &unit,
                );
                let _ = feed_tx.send(UploadFeed::Done(Box::new(new.clone()))).await;
                Ok(new)
            }
        }
    };
    let (imported, stored) = tokio::join!(imported, stored);
    // A file that cannot be read, or fails a check, says so first: nothing was stored.
    let new = imported?;
    let saved = match stored? {
        Streamed::Saved(value) => Saved {
            value: *value,
            created: true,
        },
        // The identical file: stored again with no rows, which restores it as before.
        Streamed::Duplicate => match kind {
            UploadKind::Beneficiaries => {
                store
                    .save_beneficiary_list(period_id, new, &[], &[], &actor)
                    .await?
            }
            UploadKind::Payouts => store.save_payout_file(period_id, new, &[], &actor).await?,
        },
        Streamed::Abandoned => {
            return Err(ServiceError::Internal(
                "the upload's rows stopped before the end of the file".into(),
            ));
        }
    };
    ingested(kind, &saved);
    Ok(saved)
}

/// Rows stored by an upload, for the metrics (an identical file again stores none).
fn ingested(kind: UploadKind, saved: &Saved<Upload>) {
    if saved.created {
        let rows = u64::try_from(saved.value.accepted_rows).unwrap_or(0);
        crate::metrics::global().rows_ingested(kind.as_str(), rows);
    }
}

// Here rather than in `store`: the store knows rows, not the importers that make them.
impl NewUpload {
    /// What an import found in a file, ready to store. `bank_code`: the bank given with a
    /// payout file (its rows carry their own).
    pub fn from_imported<T: Drafted, R: Rows<T>>(
        imp: &Imported<T, R>,
        sha256: String,
        size_bytes: i64,
        bank_code: Option<String>,
        unit: &str,
    ) -> Self {
        NewUpload {
            unit: unit.to_owned(),
            file_name: crate::store::storable(&imp.file),
            format: imp.format.as_str().to_owned(),
            sheet: imp.sheet.as_deref().map(crate::store::storable),
            bank_code,
            sha256,
            size_bytes,
            header_row: i64::from(imp.header_row),
            data_rows: imp.data_rows as i64,
            accepted_rows: imp.rows.count() as i64,
            rejected_rows: imp.rejected_rows as i64,
            control_total: imp.control_total.clone(),
            errors: imp.errors.clone(),
            notices: imp.notices.clone(),
        }
    }

    /// The file as it starts to arrive: named, digested, not yet read.
    fn starting(req: &UploadRequest, bank_code: Option<String>) -> Self {
        NewUpload {
            unit: req.unit.clone(),
            file_name: crate::store::storable(&req.file_name),
            format: String::new(),
            sheet: None,
            bank_code,
            sha256: req.body.sha256().to_owned(),
            size_bytes: i64::try_from(req.body.len()).unwrap_or(i64::MAX),
            header_row: 0,
            data_rows: 0,
            accepted_rows: 0,
            rejected_rows: 0,
            control_total: None,
            errors: Vec::new(),
            notices: Vec::new(),
        }
    }
}

/// The commune each row of a list for `unit` counts in (None: `unit` itself), by its commune
/// column, a batch of rows at a time; and a notice naming the communes that did not resolve
/// (lists from before the 2025 merger name old communes: normal, not an error). A list for
/// the nation stays there.
struct Attribution {
    list_unit: Option<&'static Unit>,
    /// Written name → what it resolved to, so each distinct name is looked up once.
    seen: HashMap<String, Option<&'static str>>,
    unresolved: Vec<String>,
    unresolved_rows: usize,
}

impl Attribution {
    fn new(unit: &str) -> Self {
        let tree = crate::domain::units::shipped_tree();
        Attribution {
            list_unit: tree.get(unit).filter(|u| u.level != UnitLevel::Nation),
            seen: HashMap::new(),
            unresolved: Vec::new(),
            unresolved_rows: 0,
        }
    }

    fn units(&mut self, rows: &[BeneficiaryRow]) -> Vec<Option<&'static str>> {
        let Some(list_unit) = self.list_unit else {
            return vec![None; rows.len()];
        };
        let tree = crate::domain::units::shipped_tree();
        let mut units = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(written) = r.commune.as_deref().filter(|c| !c.trim().is_empty()) else {
                units.push(None);
                continue;
            };
            let code = match self.seen.get(written) {
                Some(code) => *code,
                None => {
                    let found = tree
                        .resolve_commune(&list_unit.code, written)
                        .map(|c| c.code.as_str());
                    if found.is_none() {
                        self.unresolved.push(written.to_owned());
                    }
                    self.seen.insert(written.to_owned(), found);
                    found
                }
            };
            if code.is_none() {
                self.unresolved_rows += 1;
            }
            units.push(code);
        }
        units
    }

    fn notice(&self) -> Option<String> {
        let list_unit = self.list_unit?;
        if self.unresolved.is_empty() {
            return None;
        }
        const SHOWN: usize = 20;
        let mut names: Vec<String> = self
            .unresolved
            .iter()
            .take(SHOWN)
            .map(|n| {
                crate::domain::names::clean_display(n)
                    .chars()
                    .take(60)
                    .collect()
            })
            .collect();
        if self.unresolved.len() > SHOWN {
            names.push(format!("… (+{})", self.unresolved.len() - SHOWN));
        }
        let names = names.join(", ");
        let n = self.unresolved_rows;
        let unit = &list_unit.full_name;
        Some(format!(
            "{n} dòng ghi tên xã không thuộc {unit} (theo danh mục từ 1/7/2025), được tính vào chính {unit}: {names} / {n} rows name a commune that is not one of {unit}'s (as of 1/7/2025) and count in {unit} itself: {names}"
        ))
    }
}

/// Make a stored list its period's current list again (restored if it was retired). The
/// live figures follow at once; stored runs stay as they were.
#[tracing::instrument(skip_all, fields(upload = upload_id, actor = %actor))]
pub async fn make_current(store: &dyn Store, upload_id: i64, actor: &str) -> ServiceResult<Upload> {
    Ok(store.make_current(upload_id, actor).await?)
}

/// Retire an upload: its rows stop counting (a retired current list hands over to the list
/// that was current before it); uploading the same file again restores it.
#[tracing::instrument(skip_all, fields(upload = upload_id, actor = %actor))]
pub async fn retire_upload(
    store: &dyn Store,
    upload_id: i64,
    actor: &str,
) -> ServiceResult<Upload> {
    Ok(store.retire_upload(upload_id, actor).await?)
}

/// What a list's title says that disagrees with the period it is uploaded to: another
/// month or quarter ("THÁNG 10/2024" into September), or another commune, district or
/// province than the period's locality. Empty when the title agrees or says nothing.
pub fn title_mismatch(period: &Period, title: &[String]) -> Vec<String> {
    use crate::domain::names::{places_named, same_place};
    let mut out = Vec::new();
    if let Ok(code) = PeriodCode::parse(&period.code) {
        let named: Vec<PeriodCode> = title.iter().flat_map(|l| PeriodCode::named_in(l)).collect();
        if !named.is_empty() && !named.iter().any(|n| n.overlaps(&code)) {
            let labels: Vec<String> = named.iter().map(PeriodCode::label_vi).collect();
            out.push(format!(
                "tiêu đề ghi {} nhưng kỳ này là {} / the title names {} but this period is {}",
                labels.join(", "),
                code.label_vi(),
                labels.join(", "),
                code.as_str()
            ));
        }
    }
    if let Some(locality) = period.locality.as_deref() {
        for (level, name) in places_named(locality) {
            let titled: Vec<(String, String)> = title
                .iter()
                .flat_map(|l| {
                    places_named(l)
                        .into_iter()
                        .filter(|(lv, _)| *lv == level)
                        .map(move |(_, n)| (n, l.clone()))
                })
                .collect();
            if !titled.is_empty() && !titled.iter().any(|(n, _)| same_place(n, &name)) {
                out.push(format!(
                    "tiêu đề ghi \"{}\" nhưng địa bàn của kỳ là \"{locality}\" / the title names \"{}\" but the period's locality is \"{locality}\"",
                    titled[0].1, titled[0].1
                ));
            }
        }
    }
    out
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

fn input_of(u: &Upload) -> InputFile {
    InputFile {
        role: u.kind.as_str().to_owned(),
        name: u.file_name.clone(),
        sheet: u.sheet.clone(),
        bank: u.bank_code.as_deref().and_then(BankId::resolve),
        sha256: u.sha256.clone(),
        data_rows: u.data_rows as usize,
        accepted_rows: u.accepted_rows as usize,
        rejected_rows: u.rejected_rows as usize,
        control_total: u.control_total.clone(),
        notices: u.notices.clone(),
        unit: Some(u.unit.clone()),
    }
}

/// Everything a reconciliation of a period reads: every unit's current list and every
/// payout, each row with the unit it counts in.
struct Gathered {
    period: Period,
    /// The current lists (by unit code), then the payout files in use.
    uploads: Vec<Upload>,
    list: InUnits<ListTable>,
    /// File payouts, then callbacks (a callback restating a file's transaction wins).
    payouts: InUnits<PayoutTable>,
    /// The callbacks as an input of the run, when there are any.
    callbacks: Option<InputFile>,
    /// Units' own targets, basis points.
    targets: HashMap<String, TargetsBp>,
    /// Each callback's state as read (what figures made from this count it as).
    callback_states: HashMap<i64, crate::store::CallbackState>,
    /// The period's adjustments (resolved exceptions) as stored, and as the engine applies
    /// them to these inputs.
    adjustments_stored: Vec<crate::store::Adjustment>,
    adjustments: crate::recon::adjust::Adjustments,
    /// Arrears carried into the period, as stored and as the engine applies them; the
    /// newest carry-over (what names them in the live inputs' key).
    arrears_stored: Vec<crate::store::Arrear>,
    arrears: crate::recon::arrears::Arrears,
    carry_over_mark: Option<i64>,
}

impl Gathered {
    /// What the engine applies to these inputs: the period's adjustments and arrears (the
    /// tolerance and targets left at their defaults).
    fn options(&self) -> Options {
        Options {
            adjustments: self.adjustments.clone(),
            arrears: self.arrears.clone(),
            ..Options::default()
        }
    }

    /// The targets that apply to `unit`: for each rate its own, the nearest above, or the
    /// period's.
    fn target_for(&self, unit: &str) -> Targets {
        let tree = crate::domain::units::shipped_tree();
        tree.targets_for(unit, &self.targets, self.period.targets)
            .pct()
    }

    /// The inputs of a run of `scope` as the report lists them: every upload used (lists,
    /// then bank files), then the callbacks. Another unit's file is named only by its unit,
    /// role, digest and row counts: the run used it (its links count), its reader has no
    /// business with its name, bank or notices.
    fn inputs(&self, scope: &str) -> Vec<InputFile> {
        let keep = within(scope);
        self.uploads
            .iter()
            .map(|u| {
                let mut input = input_of(u);
                if !keep(Some(&u.unit)) {
                    input.name = format!(
                        "(tệp của đơn vị {unit} / a file of unit {unit})",
                        unit = u.unit
                    );
                    input.sheet = None;
                    input.bank = None;
                    input.notices.clear();
                    input.control_total = None;
                }
                input
            })
            .chain(self.callbacks.clone())
            .chain(resolutions::adjustments_input(&self.adjustments_stored))
            .chain(arrears::arrears_input(&self.arrears_stored))
            .collect()
    }

    /// The first current list with rows in `scope`: its own, one below it, or one above it
    /// whose rows name its communes.
    fn first_list_within(&self, scope: &str) -> Option<i64> {
        let tree = crate::domain::units::shipped_tree();
        let lists = self
            .uploads
            .iter()
            .filter(|u| u.kind == UploadKind::Beneficiaries);
        let own = lists.clone().find(|u| tree.is_within(&u.unit, scope));
        own.or_else(|| {
            // Rows of a list above that count in the scope: the lists are the sources, in
            // order.
            let row = (0..self.list.len()).find(|&i| {
                self.list
                    .unit_of(i)
                    .is_some_and(|u| tree.is_within(u, scope))
            })?;
            lists
                .clone()
                .nth(ListRows::source(&self.list, row) as usize)
        })
        .map(|u| u.id)
    }
}

async fn gather(store: &dyn Store, period_id: i64) -> ServiceResult<Gathered> {
    let period = store
        .get_period(period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {period_id}")))?;
    let inputs = store.period_inputs(period_id).await?;
    if inputs.lists.is_empty() {
        return Err(ServiceError::NoList(period_id));
    }
    let mut uploads = Vec::new();
    let mut list = InUnits::new();
    for l in inputs.lists {
        let unit = l.upload.unit.clone();
        let units = l.units;
        list.push_source(l.rows, |i| units.get(i).unwrap_or(unit.as_str()));
        uploads.push(l.upload);
    }
    let mut payouts = InUnits::new();
    for f in inputs.payout_files {
        let unit = f.upload.unit.clone();
        payouts.push_source(f.rows, |_| unit.as_str());
        uploads.push(f.upload);
    }
    let stored = store
        .callback_payouts(&period.programme, &period.code)
        .await?;
    let callbacks = (!stored.is_empty()).then(|| callback_input(&stored));
    let year = crate::domain::dates::this_year();
    let file: Arc<str> = Arc::from("callback");
    let mut rows = PayoutTable::default();
    for c in &stored {
        rows.push(callback_row(c, &file, year)?);
    }
    payouts.push_source(rows, |i| {
        stored
            .get(i)
            .and_then(|c| c.payout.unit.as_deref())
            .unwrap_or(NATION)
    });
    let callback_states = stored
        .iter()
        .map(|c| {
            let p = &c.payout;
            (
                c.id,
                crate::store::CallbackState {
                    status: p.status,
                    reason: p.reason.clone(),
                    value_date: p.value_date,
                },
            )
        })
        .collect();
    let targets = store
        .unit_targets(period_id)
        .await?
        .into_iter()
        .map(|t| (t.unit, t.targets))
        .collect();
    let adjustments_stored = store.period_adjustments(period_id).await?;
    let current_lists: Vec<i64> = uploads
        .iter()
        .filter(|u| u.kind == UploadKind::Beneficiaries)
        .map(|u| u.id)
        .collect();
    let adjustments = resolutions::bind(&adjustments_stored, &current_lists);
    let carry_over_mark = store
        .carry_overs(period_id)
        .await?
        .iter()
        .map(|c| c.id)
        .max();
    let arrears_stored = store.period_arrears(period_id).await?;
    let arrears = arrears::owed(&arrears_stored);
    Ok(Gathered {
        period,
        uploads,
        list,
        payouts,
        callbacks,
        callback_states,
        targets,
        adjustments_stored,
        adjustments,
        arrears_stored,
        arrears,
        carry_over_mark,
    })
}

/// A stored callback as the engine reads a payout.
fn callback_row(c: &StoredCallback, file: &Arc<str>, year: i32) -> ServiceResult<PayoutRow> {
    let Some(bank) = BankId::resolve(&c.bank_code) else {
        return Err(ServiceError::Store(StoreError::Corrupt(format!(
            "callback bank '{}'",
            c.bank_code
        ))));
    };
    let p = &c.payout;
    Ok(PayoutRow {
        source: RowRef::new(file.clone(), u32::try_from(c.id).unwrap_or(u32::MAX)),
        bank,
        reference: Some(p.transaction_ref.clone()),
        id: p
            .population_id
            .as_deref()
            .map_or(IdCheck::Missing, |t| IdCheck::from_text(t, year)),
        account: Some(p.account_number.clone()),
        name: p.beneficiary_name.clone(),
        amount: Decimal::from(p.amount),
        status: p.status,
        value_date: Some(p.value_date),
        reason: p.reason.clone(),
        origin: PayoutOrigin::Callback,
    })
}

/// The callback set as one input: its digest covers every payout's current content.
fn callback_input(stored: &[StoredCallback]) -> InputFile {
    let digests: Vec<String> = stored
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.bank_code,
                c.payout.transaction_ref,
                c.payout.content_sha256()
            )
        })
        .collect();
    InputFile::records("callbacks", &digests)
}

/// Whether `unit` (a row's or payout's) lies within `scope`.
fn within(scope: &str) -> impl Fn(Option<&str>) -> bool + Sync + '_ {
    let tree = crate::domain::units::shipped_tree();
    move |u: Option<&str>| u.is_some_and(|u| tree.is_within(u, scope))
}

/// The period reconciled as a whole, its figures and exceptions those of `scope`'s
/// subtree, against the target that applies to `scope`.
fn compute(
    g: &Gathered,
    scope: &str,
    previous: Option<&crate::recon::previous::Previous>,
) -> crate::report::Assembled {
    let options = Options {
        targets: g.target_for(scope),
        ..g.options()
    };
    let keep = within(scope);
    let in_scope = |u: &Upload| keep(Some(&u.unit));
    let row_errors = g
        .uploads
        .iter()
        .filter(|u| in_scope(u))
        .flat_map(|u| u.row_errors.iter().cloned())
        .collect();
    let inputs: Vec<InputFile> = g
        .uploads
        .iter()
        .filter(|u| in_scope(u))
        .map(input_of)
        .collect();
    // The nation holds every unit: nothing to leave out.
    let keep: Option<&crate::recon::Keep<'_>> = (scope != NATION).then_some(&keep);
    let mut assembled = crate::report::assemble_within(
        &g.list, &g.payouts, &options, &inputs, row_errors, keep, previous,
    );
    if g.carry_over_mark.is_some() {
        let people = arrears::per_person(
            &g.arrears_stored,
            &arrears::standings(&g.list, &assembled.recon, &g.arrears_stored),
        );
        let tree = crate::domain::units::shipped_tree();
        assembled.report.arrears = Some(arrears::figures(&people, |u| tree.is_within(u, scope)));
    }
    assembled
}

/// The unit a request names (`unit`, else the caller's own), known to the tree.
pub fn unit_or(asked: Option<&str>, own: &str) -> ServiceResult<&'static Unit> {
    let code = asked
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .unwrap_or(own);
    crate::domain::units::shipped_tree()
        .get(code)
        .ok_or_else(|| ServiceError::UnknownUnit(code.chars().take(16).collect()))
}

/// The period's figures right now (lists, payout files and callbacks so far) for `unit`'s
/// subtree, not stored: the sum of the period's live cells there (`live`), equal to a
/// reconciliation of the whole period scoped to the unit.
#[tracing::instrument(skip(store))]
pub async fn live_report(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
) -> ServiceResult<(Report, live::Freshness)> {
    let started = std::time::Instant::now();
    let period = store
        .get_period(period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {period_id}")))?;
    let read = live::read(store, period_id, unit).await?;
    let target = live::target_for(store, &period).await?;
    let tree = crate::domain::units::shipped_tree();
    let in_scope: Vec<&Upload> = read
        .uploads
        .iter()
        .filter(|u| tree.is_within(&u.unit, unit))
        .collect();
    let row_errors = in_scope
        .iter()
        .flat_map(|u| u.row_errors.iter().cloned())
        .collect();
    let mismatches = in_scope
        .iter()
        .filter(|u| u.control_total.as_ref().is_some_and(|c| c.mismatch()))
        .count() as u64;
    let sums = crate::recon::cells::sum(&read.cells);
    crate::metrics::global().live_refresh(started.elapsed());
    let mut report = Report::from_sums(&sums, target(unit), row_errors, mismatches);
    report.arrears = arrears::live_figures(store, period_id, unit).await?;
    let closures = store.period_closures(period_id).await?;
    if let Some(c) = approval::closure_over(&closures, unit) {
        report.post_close = Some(approval::post_close(store, &period, c).await?);
    }
    Ok((report, read.freshness))
}

/// `live_report` made the old way, from every stored row: what the live cells must equal
/// (tests compare them).
pub async fn live_report_recomputed(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
) -> ServiceResult<Report> {
    let g = gather(store, period_id).await?;
    let unit = unit.to_owned();
    blocking(move || compute(&g, &unit, None).report).await
}

/// A unit's live figures as the dashboard shows them: the report, its exception list and
/// its children's figures, from one reconciliation.
pub struct Live {
    pub report: Report,
    pub exceptions: Vec<ExceptionRow>,
    pub children: Rollup,
    /// The targets that apply to the unit (its own, the nearest above, the period's).
    pub target: Targets,
}

/// The live figures of `unit`'s subtree with their exception list and the unit's children.
#[tracing::instrument(skip(store))]
pub async fn live(store: &dyn Store, period_id: i64, unit: &str) -> ServiceResult<Live> {
    let started = std::time::Instant::now();
    let g = gather(store, period_id).await?;
    let unit = unit.to_owned();
    let live = blocking(move || {
        let a = compute(&g, &unit, None);
        let children = rollup(&g.uploads, &|u| g.target_for(u), &a.recon.by_unit, &unit);
        Live {
            report: a.report,
            exceptions: a.exceptions,
            children,
            target: g.target_for(&unit),
        }
    })
    .await;
    crate::metrics::global().live_refresh(started.elapsed());
    live
}

/// The live figures of each child unit of `parent` that has data (people or unmatched
/// payouts), by code: each the exact sum of everything counting in its subtree, its rates
/// recomputed from those sums, against the target that applies to it. Also what counts at
/// `parent` itself (rows whose commune did not resolve, unmatched payouts uploaded there),
/// when anything does.
#[tracing::instrument(skip(store))]
pub async fn unit_rollup(
    store: &dyn Store,
    period_id: i64,
    parent: &str,
) -> ServiceResult<(Rollup, live::Freshness)> {
    let started = std::time::Instant::now();
    let period = store
        .get_period(period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {period_id}")))?;
    // The cells of `parent`'s subtree, summed by unit: all a roll-up reads.
    let read = live::read(store, period_id, parent).await?;
    let target = live::target_for(store, &period).await?;
    let by_unit = crate::recon::cells::sum(&read.cells).by_unit;
    let rollup = rollup(&read.uploads, &target, &by_unit, parent);
    crate::metrics::global().live_refresh(started.elapsed());
    Ok((rollup, read.freshness))
}

/// A unit's figures split by its children.
#[derive(Debug, Clone)]
pub struct Rollup {
    pub children: Vec<UnitFigures>,
    /// What counts at the parent itself, when anything does.
    pub own: Option<UnitFigures>,
}

/// `parent`'s children's figures, from the figures by unit of a reconciliation that covers
/// `parent`'s subtree (`by_unit`), with the period's uploads in use and its targets.
fn rollup(
    uploads: &[Upload],
    target_for: &dyn Fn(&str) -> Targets,
    by_unit: &[Slice<String>],
    parent: &str,
) -> Rollup {
    let tree = crate::domain::units::shipped_tree();
    let mut children: std::collections::BTreeMap<&str, Coverage> = Default::default();
    let mut own: Option<Coverage> = None;
    for slice in by_unit {
        let Some(code) = slice.key.as_deref() else {
            continue;
        };
        if code == parent {
            own.get_or_insert_with(Coverage::default)
                .merge(&slice.coverage);
        } else if let Some(child) = tree.child_toward(parent, code) {
            children
                .entry(child.code.as_str())
                .or_default()
                .merge(&slice.coverage);
        }
    }
    let figures = |code: &str, c: &Coverage| {
        let unit = tree.get(code).map(UnitRef::from);
        let mut figures = crate::report::Figures::new(c, target_for(code));
        // As a report of the unit counts them: its files whose totals row disagrees.
        let own = |u: &Upload| {
            if code == parent {
                u.unit == code
            } else {
                tree.is_within(&u.unit, code)
            }
        };
        figures.flags.control_total_mismatch = uploads
            .iter()
            .filter(|u| own(u) && u.control_total.as_ref().is_some_and(|c| c.mismatch()))
            .count() as u64;
        unit.map(|unit| UnitFigures { figures, unit })
    };
    Rollup {
        children: children
            .iter()
            .filter_map(|(code, c)| figures(code, c))
            .collect(),
        // What counts at the parent, or its own files' totals-row mismatches: the rows
        // then add up to the parent's report.
        own: figures(parent, &own.clone().unwrap_or_default())
            .filter(|f| own.is_some() || f.figures.flags.control_total_mismatch > 0),
    }
}

/// Reconcile `unit`'s subtree of the period: every current list with every payout (files
/// and callbacks), linked as the whole period links them, the figures and exceptions
/// those of the subtree; store the run, with the SHA-256 of every input and of the
/// report. Returns the run and its report JSON.
#[tracing::instrument(skip(store, search))]
pub async fn reconcile_period(
    store: &dyn Store,
    search: &search::SearchCache,
    period_id: i64,
    unit: &str,
    actor: &str,
) -> ServiceResult<(RunInfo, String)> {
    let started = std::time::Instant::now();
    let g = gather(store, period_id).await?;
    let gathered = started.elapsed();
    let Some(list_upload_id) = g.first_list_within(unit) else {
        return Err(ServiceError::NoListIn(period_id, unit.to_owned()));
    };
    let scope = crate::domain::units::shipped_tree()
        .get(unit)
        .ok_or_else(|| ServiceError::UnknownUnit(unit.to_owned()))?;
    let programme = ProgrammeRef {
        code: g.period.programme.clone(),
        name: g.period.programme_name.clone(),
    };
    // The previous period of the programme: everyone it listed (the flags) and the
    // subtree's people (the comparison's counts).
    let previous = comparison::previous_inputs(store, &g.period, &scope.code).await?;
    // The run is made on a blocking thread and stored as it is made: its head (meta, report)
    // first, then its exceptions a batch at a time, so the inputs are let go before the
    // exceptions become records, and the records never all exist at once.
    let (head_tx, head_rx) = tokio::sync::oneshot::channel();
    let (feed_tx, feed_rx) = tokio::sync::mpsc::channel(2);
    // A large run's names are kept for searching as they go by, not read back.
    let keep_from = search.min_rows();
    let maker = tokio::task::spawn_blocking(
        move || -> Result<Option<search::RunSearch>, serde_json::Error> {
            // The comparison's counts first: its two sides go before the run is made.
            let (counts, people) = match previous {
                Some(p) => {
                    let now = comparison::side_of(&g.list, &scope.code);
                    let diff = crate::recon::previous::compare(p.side, now);
                    let counts = crate::report::ComparisonCounts::new(
                        Some(p.period.code.clone()),
                        diff.counts(),
                    );
                    (counts, Some(p.people))
                }
                None => (
                    crate::report::ComparisonCounts::new(None, Default::default()),
                    None,
                ),
            };
            let crate::report::Assembled {
                recon,
                mut report,
                exceptions: rows,
            } = compute(&g, &scope.code, people.as_ref());
            drop(recon);
            drop(people);
            report.comparison = Some(counts);
            let report_json = serde_json::to_string(&report)?;
            drop(report);
            let report_sha256 = sha256_hex(report_json.as_bytes());
            let targets = g.target_for(&scope.code);
            let meta = ReportMeta {
                period: Some(g.period.code.clone()),
                generated_at: crate::domain::dates::report_time(chrono::Utc::now()),
                inputs: g.inputs(&scope.code),
                target_pct: targets.common(),
                account_coverage_target_pct: targets.account_coverage,
                cashless_rate_target_pct: targets.cashless_rate,
                tolerance: Decimal::ZERO,
                report_sha256: Some(report_sha256.clone()),
                unit: Some(UnitRef::from(scope)),
                programme: Some(programme),
                signatures: None,
            };
            let meta_json = serde_json::to_string(&meta)?;
            drop(g);
            let count = rows.len();
            let mut names = (count as i64 >= keep_from).then(search::RunSearch::default);
            if head_tx
                .send((meta_json, report_json, report_sha256, count))
                .is_err()
            {
                return Ok(None);
            }
            let mut rows = rows.into_iter();
            loop {
                let batch = exceptions::records(rows.by_ref().take(EXCEPTION_BATCH))?;
                if batch.is_empty() {
                    break;
                }
                if let Some(run) = &mut names
                    && !batch.iter().all(|r| run.push(r))
                {
                    names = None;
                }
                // The store stopped (its error is the answer): nothing more to make.
                if feed_tx.blocking_send(RunFeed::Exceptions(batch)).is_err() {
                    return Ok(None);
                }
            }
            let _ = feed_tx.blocking_send(RunFeed::Done);
            Ok(names)
        },
    );
    type Made =
        Result<Result<Option<search::RunSearch>, serde_json::Error>, tokio::task::JoinError>;
    let made = |joined: Made| match joined {
        Ok(Ok(names)) => Ok(names),
        Ok(Err(e)) => Err(ServiceError::Internal(e.to_string())),
        Err(e) => Err(ServiceError::Internal(e.to_string())),
    };
    let Ok((meta_json, report_json, report_sha256, exception_rows)) = head_rx.await else {
        // The maker stopped before the head: its error says why.
        made(maker.await)?;
        return Err(ServiceError::Internal("reconciliation stopped".into()));
    };
    let computed_at = started.elapsed();
    let run = NewRun {
        period_id,
        unit: unit.to_owned(),
        list_upload_id,
        meta_json,
        report_json: report_json.clone(),
        exceptions: feed_rx,
        report_sha256,
    };
    let saved = store.save_reconciliation(run, actor).await;
    // A maker's failure is the cause of a feed that stopped short.
    let names = made(maker.await)?;
    let info = saved?;
    if let Some(names) = names {
        search.keep(info.id, names);
    }
    let total = started.elapsed();
    // Where a run's time goes, for whoever sizes the machine.
    tracing::info!(
        run = info.id,
        exception_rows,
        read_ms = gathered.as_millis() as u64,
        reconcile_ms = (computed_at - gathered).as_millis() as u64,
        store_ms = (total - computed_at).as_millis() as u64,
        "reconciliation stored"
    );
    crate::metrics::global().reconciliation(total);
    Ok((info, report_json))
}

/// A stored run, parsed back; its exceptions stay in the store (`exception_page`,
/// `download`).
pub struct LoadedRun {
    pub stored: StoredRun,
    pub report: Report,
    pub meta: ReportMeta,
}

#[tracing::instrument(skip(store))]
pub async fn load_run(store: &dyn Store, id: i64) -> ServiceResult<LoadedRun> {
    let mut stored = store
        .get_reconciliation(id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("reconciliation {id}")))?;
    exceptions::move_legacy(store, &mut stored).await?;
    let corrupt =
        |e: serde_json::Error| ServiceError::Store(StoreError::Corrupt(format!("run {id}: {e}")));
    let report: Report = serde_json::from_str(&stored.report_json).map_err(corrupt)?;
    let meta: ReportMeta = serde_json::from_str(&stored.meta_json).map_err(corrupt)?;
    Ok(LoadedRun {
        stored,
        report,
        meta,
    })
}

/// Downloads of a stored run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Json,
    Csv,
    Xlsx,
    FollowUp,
}

impl Download {
    pub fn content_type(self) -> &'static str {
        match self {
            Download::Json => "application/json",
            Download::Csv => "text/csv; charset=utf-8",
            Download::Xlsx | Download::FollowUp => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// The file as routes name it: `report.json`, `report.csv`, `report.xlsx`,
    /// `follow-up.xlsx`.
    pub fn name(self) -> &'static str {
        match self {
            Download::Json => "report.json",
            Download::Csv => "report.csv",
            Download::Xlsx => "report.xlsx",
            Download::FollowUp => "follow-up.xlsx",
        }
    }

    /// The name its digest is kept under: an approved run's workbooks carry their signers
    /// and the digest footer, other bytes than the draft's, kept apart.
    pub fn kept_name(self, signed: bool) -> &'static str {
        match (self, signed) {
            (Download::Xlsx, true) => "report.xlsx (approved)",
            (Download::FollowUp, true) => "follow-up.xlsx (approved)",
            (other, _) => other.name(),
        }
    }

    pub fn file_name(self, run_id: i64) -> String {
        match self {
            Download::Json => format!("doisoat-{run_id}-report.json"),
            Download::Csv => format!("doisoat-{run_id}-ngoai-le.csv"),
            Download::Xlsx => format!("doisoat-{run_id}-report.xlsx"),
            Download::FollowUp => format!("doisoat-{run_id}-danh-sach-chi-lai.xlsx"),
        }
    }
}

/// Every audit entry, oldest first (what verification and the audit page read).
#[tracing::instrument(skip_all)]
pub async fn audit_trail(
    store: &dyn Store,
) -> Result<Vec<crate::domain::audit::AuditEntry>, StoreError> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(0, |e: &crate::domain::audit::AuditEntry| e.seq);
        let page = store.audit_entries(after, 1000).await?;
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::job::{JobInput, PayoutSource};
    use super::*;

    /// What is stored for a run must read back exactly, or downloads break.
    #[test]
    fn stored_run_json_round_trips() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let input = JobInput {
            beneficiaries: dir.join("danh_sach_xa_tan_lap.xlsx"),
            beneficiaries_sheet: None,
            payouts: vec![
                PayoutSource {
                    bank: BankId::resolve("Agribank"),
                    path: dir.join("ket_qua_agribank.xlsx"),
                    sheet: None,
                },
                PayoutSource {
                    bank: None,
                    path: dir.join("ket_qua_ngan_hang.csv"),
                    sheet: None,
                },
            ],
            period: Some("2024-09".into()),
            tolerance: Decimal::ZERO,
            targets: Targets::both(Some(Decimal::new(8000, 2))),
            as_of_year: 2026,
        };
        // With and without targets, one for both rates or each its own: the target fields
        // are then left out of the JSON where there is none.
        let split = Targets {
            account_coverage: Some(Decimal::new(3000, 2)),
            cashless_rate: Some(Decimal::new(9500, 2)),
        };
        for target in [Targets::default(), input.targets, split] {
            let input = JobInput {
                targets: target,
                ..input.clone()
            };
            let out = super::job::run(&input, &|_: &str| {}).unwrap_or_else(|e| panic!("{e}"));
            let report: Result<Report, _> =
                serde_json::to_string(&out.report).and_then(|s| serde_json::from_str(&s));
            assert_eq!(report.ok().as_ref(), Some(&out.report), "target {target:?}");
        }
        let out = super::job::run(&input, &|_: &str| {}).unwrap_or_else(|e| panic!("{e}"));
        let meta: Result<ReportMeta, _> =
            serde_json::to_string(&out.meta).and_then(|s| serde_json::from_str(&s));
        assert_eq!(meta.ok().as_ref(), Some(&out.meta));
        let ex: Result<Vec<ExceptionRow>, _> =
            serde_json::to_string(&out.exceptions()).and_then(|s| serde_json::from_str(&s));
        assert_eq!(ex.ok(), Some(out.exceptions()));
    }
}
