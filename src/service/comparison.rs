//! "Compared with the previous period": a period's current lists against those of the
//! previous period of its programme, for a unit's subtree — who was added, who removed,
//! whose amount due or account changed — and what a run needs of the previous period for
//! the flags `account_changed` and `paid_after_removal`.
//!
//! The previous period is the latest period of the same programme whose code comes
//! before this one's and is of the same kind (a month follows a month, a quarter a
//! quarter: `2024-09` is never compared with `2024-Q3`). Both periods' lists are read lean
//! and streamed (`Store::for_each_list_entry`: a few integers and the account a row), the
//! comparison is one merge of two sorted vectors (`recon::previous::compare`), and the
//! rows of a page are read back by key (`Store::list_rows_at`). Counts are always exact;
//! rows come a page at a time. The changes of the latest few comparisons are kept in
//! memory, keyed by both periods' current lists, so the next page reads only its rows.

use std::sync::{Arc, LazyLock, Mutex};

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::{ServiceError, ServiceResult};
use crate::domain::banks::BankId;
use crate::domain::period::PeriodCode;
use crate::domain::population_id::PersonalId;
use crate::domain::records::{IdRef, ListRows};
use crate::domain::units::shipped_tree;
use crate::recon::previous::{Change, ChangeCounts, ChangeRow, Diff, Listed, Previous, Side};
use crate::store::{ListEntry, ListRowAt, Period, Store, Upload, UploadKind};

/// Rows a page gives unless asked for fewer; the most it gives.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1_000;

/// The previous period of `period`: the latest of its programme whose code is earlier and
/// of the same kind (months with months, quarters with quarters, years with years).
pub async fn previous_period(store: &dyn Store, period: &Period) -> ServiceResult<Option<Period>> {
    let Ok(code) = PeriodCode::parse(&period.code) else {
        return Ok(None);
    };
    let mut best: Option<(PeriodCode, Period)> = None;
    for p in store.list_periods().await? {
        if p.programme != period.programme || p.id == period.id {
            continue;
        }
        let Ok(c) = PeriodCode::parse(&p.code) else {
            continue;
        };
        if c.precedes(&code) && best.as_ref().is_none_or(|(b, _)| b.precedes(&c)) {
            best = Some((c, p));
        }
    }
    Ok(best.map(|(_, p)| p))
}

/// A period's current lists (every unit's), as a reconciliation reads them: by unit, then
/// upload.
async fn current_lists(store: &dyn Store, period_id: i64) -> ServiceResult<Vec<Upload>> {
    let mut lists: Vec<Upload> = store
        .list_uploads(period_id)
        .await?
        .into_iter()
        .filter(|u| u.kind == UploadKind::Beneficiaries && u.current && u.retired_at.is_none())
        .collect();
    lists.sort_by(|a, b| (&a.unit, a.id).cmp(&(&b.unit, b.id)));
    Ok(lists)
}

/// Where a row is: its list (an index into the lists read) and its seq.
fn address(list: usize, seq: i64) -> u64 {
    ((list as u64) << 32) | u64::try_from(seq).unwrap_or(0) & 0xFFFF_FFFF
}

fn unaddress(at: u64) -> (usize, i64) {
    ((at >> 32) as usize, (at & 0xFFFF_FFFF) as i64)
}

/// A stored ID as the comparison keys it (stored IDs were checked when imported).
fn stored_id<'a>(status: &str, text: &'a str) -> IdRef<'a> {
    match status {
        "valid" => text.parse::<u64>().ok().map_or(IdRef::Invalid(text), |v| {
            IdRef::Valid(PersonalId::from_stored(v))
        }),
        "legacy" => IdRef::Legacy(text),
        _ => IdRef::Missing,
    }
}

/// Stored bank codes back, each resolved once.
#[derive(Default)]
struct Banks(FxHashMap<String, Option<BankId>>);

impl Banks {
    fn get(&mut self, code: Option<&str>) -> Option<BankId> {
        let code = code?;
        if let Some(b) = self.0.get(code) {
            return *b;
        }
        let b = BankId::resolve(code);
        self.0.insert(code.to_owned(), b);
        b
    }
}

/// Read `lists`' rows once: the people of `scope`'s subtree into a `Side` (when asked),
/// and everyone into a `Previous` (when asked).
async fn read_lists(
    store: &dyn Store,
    lists: &[Upload],
    scope: Option<&str>,
    mut previous: Option<&mut Previous>,
) -> ServiceResult<Side> {
    let tree = shipped_tree();
    // Room for the rows of the lists within the scope (a ward's side is not a nation's).
    let expected: i64 = lists
        .iter()
        .filter(|u| scope.is_some_and(|s| tree.is_within(&u.unit, s)))
        .map(|u| u.accepted_rows.max(0))
        .sum();
    let mut side = Side::with_capacity(usize::try_from(expected).unwrap_or(0));
    let mut banks = Banks::default();
    for (k, upload) in lists.iter().enumerate() {
        let within = scope.map(|s| tree.is_within(&upload.unit, s));
        // A list of a unit above the scope may still have rows counting within it; a list
        // beside it has none.
        let may_hold =
            scope.is_none_or(|s| within == Some(true) || tree.is_within(s, &upload.unit));
        if !may_hold && previous.is_none() {
            continue;
        }
        let mut f = |e: ListEntry| {
            let id = stored_id(&e.id_status, &e.id_text);
            let bank = banks.get(e.bank_code.as_deref());
            if let Some(p) = previous.as_deref_mut() {
                p.push(id, e.account.as_deref(), bank);
            }
            if let Some(s) = scope {
                let counted = within == Some(true)
                    || e.unit_code.as_deref().is_some_and(|u| tree.is_within(u, s));
                if counted {
                    side.push(
                        id,
                        e.amount_due,
                        e.account.as_deref(),
                        bank,
                        address(k, e.seq),
                    );
                }
            }
            Ok(())
        };
        store.for_each_list_entry(upload.id, &mut f).await?;
    }
    Ok(side)
}

/// What a run needs of the previous period: its name, everyone it listed (for the flags)
/// and the run's subtree's people (for the counts).
pub struct PreviousInputs {
    pub period: Period,
    pub people: Previous,
    pub side: Side,
}

/// The previous period's lists for a run of `period` scoped to `scope`; None when there is
/// no previous period.
pub async fn previous_inputs(
    store: &dyn Store,
    period: &Period,
    scope: &str,
) -> ServiceResult<Option<PreviousInputs>> {
    let Some(prev) = previous_period(store, period).await? else {
        return Ok(None);
    };
    let lists = current_lists(store, prev.id).await?;
    let rows: i64 = lists.iter().map(|u| u.accepted_rows.max(0)).sum();
    let mut people = Previous::with_capacity(usize::try_from(rows).unwrap_or(0));
    let side = read_lists(store, &lists, Some(scope), Some(&mut people)).await?;
    Ok(Some(PreviousInputs {
        period: prev,
        people,
        side,
    }))
}

/// A run's own people of `scope`'s subtree (its list as gathered), as a comparison's side.
pub fn side_of<L: ListRows + ?Sized>(list: &L, scope: &str) -> Side {
    use rust_decimal::prelude::ToPrimitive;
    let tree = shipped_tree();
    let mut side = Side::default();
    for r in 0..list.len() {
        if !list.unit(r).is_some_and(|u| tree.is_within(u, scope)) {
            continue;
        }
        let due = list.amount_due(r).to_i64().unwrap_or(i64::MAX);
        side.push(list.id(r), due, list.account(r), list.bank(r), r as u64);
    }
    side
}

/// A period as a comparison names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeriodRef {
    pub id: i64,
    pub programme: String,
    /// Canonical (`2024-08`).
    pub code: String,
    /// Vietnamese label ("Tháng 08/2024").
    pub label: String,
}

impl From<&Period> for PeriodRef {
    fn from(p: &Period) -> Self {
        PeriodRef {
            id: p.id,
            programme: p.programme.clone(),
            code: p.code.clone(),
            label: PeriodCode::parse(&p.code).map_or_else(|_| p.code.clone(), |c| c.label_vi()),
        }
    }
}

/// How a person stood in one period: what they were due (their rows summed) and the
/// account and bank of their first row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Standing {
    /// Whole đồng, as text (as every amount of the API).
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String)]
    pub amount_due: Decimal,
    pub account: Option<String>,
    /// The bank's short name ("Agribank").
    #[schema(value_type = Option<String>)]
    pub bank: Option<BankId>,
    /// Where the person's first row is: its list upload and row number as the
    /// spreadsheet shows it.
    pub list_upload_id: i64,
    pub list_row: u32,
}

/// One change of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ComparisonRow {
    /// `added`, `removed`, `amount_changed` or `account_changed`.
    #[schema(value_type = String)]
    pub change: Change,
    pub population_id: String,
    pub name: String,
    /// The unit the person counts in (this period's listing, else the previous one's).
    pub unit: Option<String>,
    pub commune: Option<String>,
    /// In the previous period (null: not listed).
    pub before: Option<Standing>,
    /// In this period (null: not listed).
    pub after: Option<Standing>,
}

/// A comparison: the counts (always exact) and a page of its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub period: PeriodRef,
    /// The unit whose subtree is compared.
    pub unit: String,
    /// Null when the programme has no earlier period of this kind (then every count is 0
    /// and there are no rows).
    pub previous_period: Option<PeriodRef>,
    /// People on this period's lists, not the previous period's.
    pub added: u64,
    /// People on the previous period's lists, not this one's.
    pub removed: u64,
    /// People on both, due another amount (their rows summed).
    pub amount_changed: u64,
    /// People on both, listed with another account (or bank) than before: both periods
    /// list an account and they differ, leading zeros aside.
    pub account_changed: u64,
    /// The changes the rows are of (`change=`; default all four), in this order.
    #[schema(value_type = Vec<String>)]
    pub changes: Vec<Change>,
    /// Rows of those changes in all.
    pub total: u64,
    /// Rows skipped (`offset=`).
    pub offset: u64,
    /// Rows a page gives at most (`limit=`: default 100, at most 1,000).
    pub limit: u64,
    /// Each change's rows by personal ID, the changes in the order above.
    pub rows: Vec<ComparisonRow>,
    /// The `offset` of the next page; null on the last.
    pub next_offset: Option<u64>,
}

impl Comparison {
    pub fn counts(&self) -> ChangeCounts {
        ChangeCounts {
            added: self.added,
            removed: self.removed,
            amount_changed: self.amount_changed,
            account_changed: self.account_changed,
        }
    }
}

/// A comparison's query string, as the API and the pages take it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComparisonParams {
    /// A unit's code (`VN`, `37`, `00004`) within the token's subtree; default: the
    /// token's unit.
    pub unit: Option<String>,
    /// The rows of which changes: `added`, `removed`, `amount_changed`,
    /// `account_changed`, comma-separated (or the key repeated); default all four. The
    /// counts are always all four's.
    pub change: Option<String>,
    /// Rows to skip (default 0).
    pub offset: Option<usize>,
    /// Rows to give: default 100, at most 1,000.
    pub limit: Option<usize>,
}

impl ComparisonParams {
    /// The query these say; Err names a change there is not.
    pub fn query(&self) -> Result<ComparisonQuery, String> {
        let mut changes = Vec::new();
        for c in self
            .change
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let Some(c) = Change::parse(c) else {
                return Err(format!(
                    "thay đổi không có: '{c}' (added, removed, amount_changed, account_changed) / no such change: '{c}'",
                    c = c.chars().take(40).collect::<String>()
                ));
            };
            changes.push(c);
        }
        Ok(ComparisonQuery {
            changes,
            offset: self.offset.unwrap_or(0),
            limit: self.limit,
        })
    }
}

/// Which rows to give.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComparisonQuery {
    /// Empty: all four.
    pub changes: Vec<Change>,
    pub offset: usize,
    /// None: `DEFAULT_LIMIT`; at most `MAX_LIMIT`.
    pub limit: Option<usize>,
}

/// The changes of one comparison, with the lists their rows' addresses point into.
struct Computed {
    diff: Diff,
    before: Vec<Upload>,
    after: Vec<Upload>,
}

/// Comparisons kept: the latest few, by store, periods, unit and both periods' current
/// lists (a new list version makes a new key). A national month's changes are a few
/// percent of its people: some MB.
type CacheKey = (usize, i64, i64, String, String);
type Kept = Vec<(CacheKey, Arc<Computed>)>;
static KEPT: LazyLock<Mutex<Kept>> = LazyLock::new(|| Mutex::new(Vec::new()));
const KEEP: usize = 4;

fn lists_key(before: &[Upload], after: &[Upload]) -> String {
    let ids = |v: &[Upload]| {
        v.iter()
            .map(|u| format!("{}@{}", u.id, u.sha256.get(..16).unwrap_or(&u.sha256)))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!("{};{}", ids(before), ids(after))
}

async fn computed(
    store: &dyn Store,
    period: &Period,
    previous: &Period,
    unit: &str,
) -> ServiceResult<Arc<Computed>> {
    let before = current_lists(store, previous.id).await?;
    let after = current_lists(store, period.id).await?;
    let key: CacheKey = (
        store as *const dyn Store as *const () as usize,
        period.id,
        previous.id,
        unit.to_owned(),
        lists_key(&before, &after),
    );
    if let Some(hit) = KEPT
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, c)| c.clone())
    {
        return Ok(hit);
    }
    let started = std::time::Instant::now();
    let b = read_lists(store, &before, Some(unit), None).await?;
    let a = read_lists(store, &after, Some(unit), None).await?;
    let diff = super::blocking(move || crate::recon::previous::compare(b, a)).await?;
    tracing::debug!(
        period = period.id,
        previous = previous.id,
        unit,
        changes = diff.rows.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "comparison computed"
    );
    let c = Arc::new(Computed {
        diff,
        before,
        after,
    });
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    kept.retain(|(k, _)| *k != key);
    kept.push((key, c.clone()));
    if kept.len() > KEEP {
        kept.remove(0);
    }
    Ok(c)
}

/// `period` compared with its previous period, for `unit`'s subtree (the caller checked
/// the unit is the reader's to see): the counts, and the page of rows `q` asks for.
pub async fn compare(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
    q: &ComparisonQuery,
) -> ServiceResult<Comparison> {
    let period = store
        .get_period(period_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("period {period_id}")))?;
    let changes = if q.changes.is_empty() {
        Change::ALL.to_vec()
    } else {
        Change::ALL
            .into_iter()
            .filter(|c| q.changes.contains(c))
            .collect()
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut out = Comparison {
        period: PeriodRef::from(&period),
        unit: unit.to_owned(),
        previous_period: None,
        added: 0,
        removed: 0,
        amount_changed: 0,
        account_changed: 0,
        changes: changes.clone(),
        total: 0,
        offset: q.offset as u64,
        limit: limit as u64,
        rows: Vec::new(),
        next_offset: None,
    };
    let Some(previous) = previous_period(store, &period).await? else {
        return Ok(out);
    };
    out.previous_period = Some(PeriodRef::from(&previous));
    let c = computed(store, &period, &previous, unit).await?;
    let counts = c.diff.counts();
    out.added = counts.added;
    out.removed = counts.removed;
    out.amount_changed = counts.amount_changed;
    out.account_changed = counts.account_changed;
    let selected: Vec<&ChangeRow> = changes
        .iter()
        .flat_map(|ch| c.diff.of(*ch).iter())
        .collect();
    out.total = selected.len() as u64;
    let page: Vec<ChangeRow> = selected
        .iter()
        .skip(q.offset)
        .take(limit)
        .map(|r| **r)
        .collect();
    let end = q.offset.saturating_add(page.len());
    out.next_offset = (end < selected.len()).then_some(end as u64);
    out.rows = rows_of(store, &c, &page).await?;
    Ok(out)
}

/// The page's rows read back: both sides' first rows, a query per list and 500 rows.
async fn rows_of(
    store: &dyn Store,
    c: &Computed,
    page: &[ChangeRow],
) -> ServiceResult<Vec<ComparisonRow>> {
    // (before?, list index) → seqs.
    let mut wanted: FxHashMap<(bool, usize), Vec<i64>> = FxHashMap::default();
    for r in page {
        for (is_before, side) in [(true, r.before), (false, r.after)] {
            if let Some(l) = side {
                let (list, seq) = unaddress(l.at);
                wanted.entry((is_before, list)).or_default().push(seq);
            }
        }
    }
    let mut read: FxHashMap<(bool, usize, i64), (i64, ListRowAt)> = FxHashMap::default();
    for ((is_before, list), mut seqs) in wanted {
        let lists = if is_before { &c.before } else { &c.after };
        let Some(upload) = lists.get(list) else {
            continue;
        };
        seqs.sort_unstable();
        seqs.dedup();
        for row in store.list_rows_at(upload.id, &seqs).await? {
            read.insert((is_before, list, row.seq), (upload.id, row));
        }
    }
    let standing = |is_before: bool, l: Option<Listed>| -> Option<(Standing, &ListRowAt, &str)> {
        let l = l?;
        let (list, seq) = unaddress(l.at);
        let (upload_id, row) = read.get(&(is_before, list, seq))?;
        let lists = if is_before { &c.before } else { &c.after };
        let unit = row
            .unit_code
            .as_deref()
            .or_else(|| lists.get(list).map(|u| u.unit.as_str()))
            .unwrap_or_default();
        Some((
            Standing {
                amount_due: Decimal::from(l.due),
                account: row.row.account.clone(),
                bank: row.row.bank,
                list_upload_id: *upload_id,
                list_row: row.row.source.row,
            },
            row,
            unit,
        ))
    };
    let mut out = Vec::with_capacity(page.len());
    for r in page {
        let before = standing(true, r.before);
        let after = standing(false, r.after);
        // The person as this period lists them, else as the previous one did.
        let Some((_, row, unit)) = after.as_ref().or(before.as_ref()) else {
            // Rows changed since the comparison was made (a list retired meanwhile).
            continue;
        };
        out.push(ComparisonRow {
            change: r.change,
            population_id: row.row.id.as_id_ref().display(),
            name: row.row.name.clone(),
            unit: Some((*unit).to_owned()).filter(|u| !u.is_empty()),
            commune: row.row.commune.clone(),
            before: before.as_ref().map(|b| b.0.clone()),
            after: after.as_ref().map(|a| a.0.clone()),
        });
    }
    Ok(out)
}

/// Rows a download reads at a time.
const DOWNLOAD_PAGE: usize = MAX_LIMIT;

/// Every row of the comparison (of `changes`, all four when empty) as CSV (UTF-8 with a
/// BOM, for Excel), read and written a page at a time: what the page's "download all"
/// gives. Whole IDs and accounts, as every download.
pub fn csv_download(
    store: Arc<dyn Store>,
    period_id: i64,
    unit: String,
    changes: Vec<Change>,
    lang: crate::domain::Lang,
) -> super::DownloadBody {
    let stream = futures_util::stream::unfold(Some(0usize), move |offset| {
        let (store, unit, changes) = (store.clone(), unit.clone(), changes.clone());
        async move {
            let offset = offset?;
            let q = ComparisonQuery {
                changes,
                offset,
                limit: Some(DOWNLOAD_PAGE),
            };
            let page = match compare(store.as_ref(), period_id, &unit, &q).await {
                Ok(page) => page,
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            };
            let next = page.next_offset.map(|n| n as usize);
            Some((csv_lines(&page.rows, offset == 0, lang), next))
        }
    });
    super::DownloadBody {
        stream: Box::pin(stream),
        len: None,
    }
}

/// Rows as CSV lines (the header and BOM first when `head`).
fn csv_lines(
    rows: &[ComparisonRow],
    head: bool,
    lang: crate::domain::Lang,
) -> Result<Vec<u8>, std::io::Error> {
    let vi = lang == crate::domain::Lang::Vi;
    let mut out = Vec::new();
    if head {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut w = csv::Writer::from_writer(out);
    if head {
        let header: [&str; 11] = if vi {
            [
                "Thay đổi",
                "Số định danh",
                "Họ tên",
                "Đơn vị",
                "Xã/phường",
                "Số tiền kỳ trước",
                "Tài khoản kỳ trước",
                "Ngân hàng kỳ trước",
                "Số tiền kỳ này",
                "Tài khoản kỳ này",
                "Ngân hàng kỳ này",
            ]
        } else {
            [
                "Change",
                "Personal ID",
                "Name",
                "Unit",
                "Commune",
                "Amount due before",
                "Account before",
                "Bank before",
                "Amount due now",
                "Account now",
                "Bank now",
            ]
        };
        w.write_record(header).map_err(std::io::Error::other)?;
    }
    let side = |s: &Option<Standing>| -> [String; 3] {
        match s {
            Some(s) => [
                s.amount_due.to_string(),
                s.account.clone().unwrap_or_default(),
                s.bank
                    .map(|b| b.short_name().to_owned())
                    .unwrap_or_default(),
            ],
            None => Default::default(),
        }
    };
    for r in rows {
        let [b0, b1, b2] = side(&r.before);
        let [a0, a1, a2] = side(&r.after);
        let label = if vi {
            r.change.label_vi()
        } else {
            r.change.label_en()
        };
        w.write_record([
            label,
            &r.population_id,
            &r.name,
            r.unit.as_deref().unwrap_or(""),
            r.commune.as_deref().unwrap_or(""),
            &b0,
            &b1,
            &b2,
            &a0,
            &a1,
            &a2,
        ])
        .map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for (list, seq) in [(0usize, 0i64), (3, 41), (65_000, 3_350_000)] {
            assert_eq!(unaddress(address(list, seq)), (list, seq));
        }
        assert!(matches!(
            stored_id("valid", "001090000001"),
            IdRef::Valid(_)
        ));
        assert!(matches!(stored_id("legacy", "012345678"), IdRef::Legacy(_)));
        assert!(matches!(stored_id("invalid", "12AB"), IdRef::Missing));
    }
}
