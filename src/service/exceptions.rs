//! Exceptions: a stored run keeps them as indexed rows (one per exception, in the run's
//! order), so a page, a filter or a search is one store query whatever the run's size, and
//! downloads stream them from the store a chunk at a time. The live figures' exceptions
//! are in memory and are filtered here the same way (`filter_exceptions`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;

use super::search::SearchCache;
use super::{LoadedRun, ServiceError, ServiceResult, blocking};
use crate::domain::Lang;
use crate::domain::banks::BankId;
use crate::domain::names::fold;
use crate::domain::units::{NATION, UnitLevel, shipped_tree};
use crate::recon::{ExceptionRow, Flag};
use crate::store::{
    ExceptionFilter, ExceptionRecord, ExceptionSort, PageStart, SortColumn, SortKey, SortedStart,
    Store, StoreError, UnitScope,
};

/// Filters for the exception list; all optional.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionQuery {
    /// An outcome (`underpaid`, `unpaid`, …) or `unmatched_payout`; several, comma-separated
    /// (`underpaid,overpaid`), match any of them.
    pub outcome: Option<String>,
    /// Outcomes to leave out, comma-separated: `exclude=no_account` is everything but the
    /// people paid in cash (an account-opening to-do, not an error).
    pub exclude: Option<String>,
    /// A flag (`name_mismatch`, `invalid_id`, …); several, comma-separated, match any.
    pub flag: Option<String>,
    /// Commune name, case- and diacritics-insensitive; several, comma-separated.
    pub commune: Option<String>,
    /// Bank name, code or BIN; several, comma-separated.
    pub bank: Option<String>,
    /// Search: digits are the start of the personal ID or of the account number (or all of
    /// it); other text is part of the name (diacritics-insensitive) or of the ID as written.
    pub q: Option<String>,
    /// A unit's code: the exceptions of its subtree (the people and unmatched payouts that
    /// count there).
    pub unit: Option<String>,
    /// 1-based page number (default 1).
    #[serde(default, deserialize_with = "number_or_text")]
    pub page: Option<usize>,
    /// Rows per page (default 50, at most 500).
    #[serde(default, deserialize_with = "number_or_text")]
    pub per_page: Option<usize>,
    /// Keyset paging: the `next_after` of the page before; the page then starts right after
    /// it (one index range at any depth) and `page` is not used. In the default order only:
    /// a sorted list is paged by `page`.
    #[serde(default, deserialize_with = "number_or_text")]
    pub after: Option<usize>,
    /// Sort by a column: `id`, `name`, `commune`, `outcome`, `due`, `paid`, `difference`
    /// (due minus paid), `bank`, `value_date`; ties keep the run's order. Rows without a
    /// value (no bank, no value date, …) come last in either direction. Names and communes
    /// sort without case or diacritics, codes and IDs character by character. Any other
    /// value: the run's order (the default).
    pub sort: Option<String>,
    /// `asc` (default) or `desc`, with `sort`.
    pub dir: Option<String>,
    /// A stored run's exceptions by where their resolution stands: `open`, `in_progress`,
    /// `resolved`, `wont_fix`; several, comma-separated. Looks through the first 20,000
    /// exceptions the other filters keep.
    pub state: Option<String>,
}

/// Values one filter takes at most; more are ignored.
const MAX_CHOICES: usize = 200;

/// A whole number given as a number or as text: a query string is all text, and a struct
/// flattened into another (the dashboard's query) hands its fields over as strings.
fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(usize),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Raw::Text(t)) => t.trim().parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!(
                "cần một số nguyên dương / a positive whole number, not '{}'",
                t.chars().take(40).collect::<String>()
            ))
        }),
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ExceptionPage {
    /// How many match; a floor when `total_exact` is false.
    pub total: usize,
    /// False when a search (`q`) matched more than 1,000: `total` is then 1000, and more
    /// match (the pages go on while they are full). A search counts no further, so a
    /// common part of a name answers as fast as a rare one.
    pub total_exact: bool,
    pub page: usize,
    pub per_page: usize,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<ExceptionItem>,
    /// Where the next page starts (`after=`), when this page is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<usize>,
}

/// An exception as a list serves it: its stable key (a stored run's: `b:<ID>`,
/// `b:row:<list row>`, `p:<bank>:<ref>`, see `recon::adjust`), its row, and where its
/// resolution stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExceptionItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub row: ExceptionRow,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<super::resolutions::ResolutionSummary>,
}

impl ExceptionItem {
    fn bare(row: ExceptionRow) -> Self {
        ExceptionItem {
            key: None,
            row,
            resolution: None,
        }
    }
}

impl std::ops::Deref for ExceptionItem {
    type Target = ExceptionRow;
    fn deref(&self) -> &ExceptionRow {
        &self.row
    }
}

impl ExceptionQuery {
    fn per_page(&self) -> usize {
        self.per_page.unwrap_or(50).clamp(1, 500)
    }
    fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    /// The sort asked for; None (the run's order) when `sort` names no column.
    pub fn sort(&self) -> Option<ExceptionSort> {
        let column = SortColumn::parse(self.sort.as_deref()?)?;
        let descending = self
            .dir
            .as_deref()
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("desc"));
        Some(ExceptionSort { column, descending })
    }

    /// The store's filter; None when a value names nothing there is (an unknown outcome
    /// still goes to the store, where it matches nothing): unknown values match nothing,
    /// never everything.
    fn filter(&self) -> Option<ExceptionFilter> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // Comma-separated choices; values that name nothing drop out, and when every one
        // does, nothing matches (None), never everything.
        fn choices<T: PartialEq>(
            v: &Option<String>,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Option<Vec<T>> {
            let parts: Vec<&str> = v
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let mut found: Vec<T> = Vec::new();
            for p in parts.iter().take(MAX_CHOICES) {
                if let Some(x) = parse(p).filter(|x| !found.contains(x)) {
                    found.push(x);
                }
            }
            (parts.is_empty() || !found.is_empty()).then_some(found)
        }
        let flags = choices(&self.flag, |f| {
            Flag::parse(f).map(|f| f.as_str().to_owned())
        })?;
        let bank_codes = choices(&self.bank, |b| {
            BankId::resolve(b).map(|b| b.code().to_owned())
        })?;
        let mut commune_keys = choices(&self.commune, |c| Some(fold(c)).filter(|c| !c.is_empty()))?;
        // A commune written with a comma ("Xã Tân Lập, huyện Đan Phượng") is also one choice.
        if let Some(whole) = self
            .commune
            .as_deref()
            .filter(|c| c.contains(','))
            .map(fold)
            .filter(|w| !commune_keys.contains(w))
        {
            commune_keys.push(whole);
        }
        let all_kinds = || {
            crate::recon::Outcome::ALL
                .iter()
                .map(|o| o.as_str())
                .chain(["unmatched_payout"])
        };
        let mut kinds = choices(&self.outcome, |k| {
            all_kinds().find(|a| *a == k).map(str::to_owned)
        })?;
        let excluded: Vec<String> =
            choices(&self.exclude, |k| Some(k.to_owned())).unwrap_or_default();
        if !excluded.is_empty() {
            if kinds.is_empty() {
                kinds = all_kinds().map(str::to_owned).collect();
            }
            kinds.retain(|k| !excluded.contains(k));
            if kinds.is_empty() {
                return None;
            }
        }
        let unit = match given(&self.unit) {
            None => None,
            Some(code) => Some(match shipped_tree().get(&code)?.level {
                UnitLevel::Nation => UnitScope::Nation,
                UnitLevel::Province => UnitScope::Province(code),
                UnitLevel::Commune => UnitScope::Unit(code),
            }),
        };
        let folded = |v: &Option<String>| v.as_deref().map(fold).filter(|s| !s.is_empty());
        Some(ExceptionFilter {
            kinds,
            flags,
            commune_keys,
            bank_codes,
            unit,
            search: folded(&self.q),
        })
    }
}

/// The store's form of each exception: the columns its filters read, the row as JSON.
/// Each row is dropped once made into a record.
pub fn records(
    rows: impl IntoIterator<Item = ExceptionRow>,
) -> Result<Vec<ExceptionRecord>, serde_json::Error> {
    let tree = shipped_tree();
    let rows = rows.into_iter();
    let mut out = Vec::with_capacity(rows.size_hint().0);
    for row in rows {
        let key = |d: rust_decimal::Decimal| whole_dong(d);
        out.push(ExceptionRecord {
            amount_due: row.amount_due.and_then(key),
            amount_paid: key(row.amount_paid),
            difference: row.difference().and_then(key),
            value_date: row.value_date(),
            kind: row.kind.as_str().to_owned(),
            flags: row.flags.iter().map(|f| f.as_str().to_owned()).collect(),
            unit_code: row.unit.clone(),
            province_code: row
                .unit
                .as_deref()
                .and_then(|u| tree.child_toward(NATION, u))
                .map(|p| p.code.clone()),
            commune_key: row.commune.as_deref().map(fold),
            bank_code: row.bank.map(|b| b.code().to_owned()),
            population_id: row.population_id.clone(),
            account: row
                .account
                .as_deref()
                .map(|a| a.chars().filter(|c| !c.is_whitespace()).collect()),
            name_key: fold(&row.name),
            row_json: serde_json::to_string(&row)?,
        });
    }
    Ok(out)
}

/// An amount as the sort key the store keeps: whole đồng (stored amounts are; a fraction,
/// which the store refuses in inputs, is rounded down), None past i64.
fn whole_dong(d: rust_decimal::Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    d.floor().to_i64()
}

/// `row`'s value in a sort column, exactly as the store keeps it (the in-memory sort of the
/// live figures orders as a stored run's does).
fn sort_key(row: &ExceptionRow, column: SortColumn) -> Option<SortKey> {
    let int = |d: Option<rust_decimal::Decimal>| d.and_then(whole_dong).map(SortKey::Int);
    match column {
        SortColumn::Id => Some(SortKey::Text(row.population_id.clone())),
        SortColumn::Name => Some(SortKey::Text(fold(&row.name))),
        SortColumn::Commune => row.commune.as_deref().map(|c| SortKey::Text(fold(c))),
        SortColumn::Outcome => Some(SortKey::Text(row.kind.as_str().to_owned())),
        SortColumn::Due => int(row.amount_due),
        SortColumn::Paid => int(Some(row.amount_paid)),
        SortColumn::Difference => int(row.difference()),
        SortColumn::Bank => row.bank.map(|b| SortKey::Text(b.code().to_owned())),
        SortColumn::ValueDate => row.value_date().map(SortKey::Date),
    }
}

/// The order `sort` puts two rows in (`a` at `i`, `b` at `j` in the run's order): by key,
/// then by position, both in the sort's direction; rows without a key last either way.
/// Texts compare bytewise, as the store compares them.
fn sorted_order(
    sort: ExceptionSort,
    (i, a): (usize, &Option<SortKey>),
    (j, b): (usize, &Option<SortKey>),
) -> std::cmp::Ordering {
    let directed = |o: std::cmp::Ordering| if sort.descending { o.reverse() } else { o };
    match (a, b) {
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (a, b) => directed(a.cmp(b).then(i.cmp(&j))),
    }
}

pub(super) fn parse_row(run_id: i64, json: &str) -> Result<ExceptionRow, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("run {run_id}: {e}")))
}

/// A run stored before its exceptions were rows: move its JSON list into rows, once.
pub(super) async fn move_legacy(
    store: &dyn Store,
    run: &mut crate::store::StoredRun,
) -> ServiceResult<()> {
    if run.exception_rows.is_some() {
        return Ok(());
    }
    let id = run.info.id;
    let json = std::mem::take(&mut run.legacy_exceptions_json);
    let moved = blocking(move || -> Result<Vec<ExceptionRecord>, String> {
        let rows: Vec<ExceptionRow> = if json.trim().is_empty() {
            Vec::new()
        } else {
            serde_json::from_str(&json).map_err(|e| format!("run {id}: {e}"))?
        };
        records(rows).map_err(|e| format!("run {id}: {e}"))
    })
    .await?
    .map_err(|e| ServiceError::Store(StoreError::Corrupt(e)))?;
    let n = i64::try_from(moved.len()).map_err(|e| ServiceError::Internal(e.to_string()))?;
    store.move_exceptions_to_rows(id, moved).await?;
    run.exception_rows = Some(n);
    Ok(())
}

/// A page of a stored run's exceptions, filtered: one store query for the rows and one
/// for the count (none when nothing is filtered: the run knows how many it has). A large
/// run searched by part of a name (with or without other filters) is searched in memory
/// (`search`), exactly counted.
#[tracing::instrument(skip(store, search, run))]
pub async fn exception_page(
    store: &dyn Store,
    search: &SearchCache,
    run: &LoadedRun,
    q: &ExceptionQuery,
) -> ServiceResult<ExceptionPage> {
    use super::resolutions::{ResolutionSummary, several_lists, summaries, summary_of};
    use crate::domain::resolution::ResolutionState;
    let run_id = run.stored.info.id;
    let several = several_lists(run);
    let states = summaries(store, run_id).await?;
    let decorate = |mut item: ExceptionItem| {
        let key = item.row.key(several).map(|k| k.to_string());
        item.resolution = Some(key.as_deref().map_or_else(
            || summary_of(&HashMap::new(), ""),
            |k| summary_of(&states, k),
        ));
        item.key = key;
        item
    };
    let Some(wanted) = q.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        let mut page = page_of(store, search, run_id, q).await?;
        page.items = page.items.into_iter().map(decorate).collect();
        return Ok(page);
    };
    // By state: the rows the other filters keep, read page by page, kept by their state.
    let wanted: Vec<ResolutionState> = wanted
        .split(',')
        .filter_map(|w| ResolutionState::parse(w.trim()))
        .collect();
    let (per_page, page) = (q.per_page(), q.page());
    let mut kept: Vec<ExceptionItem> = Vec::new();
    let mut read = 0usize;
    let mut exact = true;
    let mut next = ExceptionQuery {
        state: None,
        per_page: Some(500),
        page: Some(1),
        after: None,
        ..q.clone()
    };
    while !wanted.is_empty() {
        let got = page_of(store, search, run_id, &next).await?;
        let n = got.items.len();
        read += n;
        kept.extend(got.items.into_iter().map(decorate).filter(|i| {
            i.resolution
                .as_ref()
                .is_some_and(|r: &ResolutionSummary| wanted.contains(&r.state))
        }));
        if n < 500 {
            break;
        }
        if read >= STATE_SCAN {
            exact = false;
            break;
        }
        match got.next_after {
            Some(after) if next.sort().is_none() => next.after = Some(after),
            _ => next.page = Some(next.page.unwrap_or(1) + 1),
        }
    }
    let total = kept.len();
    let items: Vec<ExceptionItem> = kept
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(ExceptionPage {
        total,
        total_exact: exact,
        page,
        per_page,
        items,
        next_after: None,
    })
}

/// Exceptions a filter by state looks through at most.
const STATE_SCAN: usize = 20_000;

async fn page_of(
    store: &dyn Store,
    search: &SearchCache,
    run_id: i64,
    q: &ExceptionQuery,
) -> ServiceResult<ExceptionPage> {
    let (per_page, page) = (q.per_page(), q.page());
    let empty = ExceptionPage {
        total: 0,
        total_exact: true,
        page,
        per_page,
        items: Vec::new(),
        next_after: None,
    };
    let Some(filter) = q.filter() else {
        return Ok(empty);
    };
    let wide = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    // One more than the cap tells "exactly the cap" from "more".
    let up_to = filter
        .search
        .is_some()
        .then_some(SEARCH_COUNT_CAP as i64 + 1);
    if let Some(sort) = q.sort() {
        // Sorted by the store, paged by number (a search too: the store finds and sorts).
        let skip = wide((page - 1).saturating_mul(per_page));
        let rows = store
            .sorted_exception_rows(
                run_id,
                &filter,
                sort,
                SortedStart::Skip(skip),
                wide(per_page),
            )
            .await?;
        let counted =
            usize::try_from(store.count_exceptions(run_id, &filter, up_to).await?).unwrap_or(0);
        let (total, total_exact) = capped(counted, up_to.is_some());
        let items = rows
            .iter()
            .map(|(_, _, json)| parse_row(run_id, json).map(ExceptionItem::bare))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(ExceptionPage {
            total,
            total_exact,
            items,
            ..empty
        });
    }
    let start = match q.after {
        Some(after) => PageStart::After(wide(after)),
        None => PageStart::Skip(wide((page - 1).saturating_mul(per_page))),
    };
    let (rows, total, total_exact) = match searched_in_memory(store, search, run_id, &filter)
        .await?
    {
        Some(all) => {
            let from = match start {
                PageStart::After(after) => all.partition_point(|seq| *seq <= after),
                PageStart::Skip(n) => usize::try_from(n).unwrap_or(usize::MAX),
            }
            .min(all.len());
            let to = from.saturating_add(per_page).min(all.len());
            let rows = store.exceptions_at(run_id, &all[from..to]).await?;
            (rows, all.len(), true)
        }
        None => {
            let rows = store
                .exception_rows(run_id, &filter, start, wide(per_page))
                .await?;
            let counted =
                usize::try_from(store.count_exceptions(run_id, &filter, up_to).await?).unwrap_or(0);
            let (total, exact) = capped(counted, up_to.is_some());
            (rows, total, exact)
        }
    };
    let next_after = if rows.len() == per_page {
        rows.last().and_then(|(seq, _)| usize::try_from(*seq).ok())
    } else {
        None
    };
    let items = rows
        .iter()
        .map(|(_, json)| parse_row(run_id, json).map(ExceptionItem::bare))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ExceptionPage {
        total,
        total_exact,
        items,
        next_after,
        ..empty
    })
}

/// Every match of a search by part of a name (with any other filter), in the run's order,
/// where the run is large enough to be searched in memory; None where the store searches.
async fn searched_in_memory(
    store: &dyn Store,
    search: &SearchCache,
    run_id: i64,
    filter: &ExceptionFilter,
) -> ServiceResult<Option<Vec<i64>>> {
    // No search, or digits (the start of an ID): index ranges in the store.
    if filter.search.as_deref().is_none_or(str::is_empty) || filter.searches_id_start() {
        return Ok(None);
    }
    let rows = store
        .count_exceptions(run_id, &ExceptionFilter::default(), None)
        .await?;
    if !search.wants(rows) {
        return Ok(None);
    }
    Ok(search
        .get(store, run_id)
        .await?
        .and_then(|run| run.matching(filter)))
}

/// Filter and page exceptions held in memory (the live figures') exactly as a stored
/// run's are. Unknown filter values match nothing (never everything).
pub fn filter_exceptions(rows: &[ExceptionRow], q: &ExceptionQuery) -> ExceptionPage {
    let (per_page, page) = (q.per_page(), q.page());
    let Some(f) = q.filter() else {
        return ExceptionPage {
            total: 0,
            total_exact: true,
            page,
            per_page,
            items: Vec::new(),
            next_after: None,
        };
    };
    let tree = shipped_tree();
    let matches = |r: &ExceptionRow| -> bool {
        (f.kinds.is_empty() || f.kinds.iter().any(|k| k == r.kind.as_str()))
            && (f.flags.is_empty()
                || r.flags
                    .iter()
                    .any(|x| f.flags.iter().any(|fl| fl == x.as_str())))
            && (f.commune_keys.is_empty()
                || r.commune
                    .as_deref()
                    .map(fold)
                    .is_some_and(|c| f.commune_keys.contains(&c)))
            && (f.bank_codes.is_empty()
                || r.bank
                    .is_some_and(|rb| f.bank_codes.iter().any(|b| b == rb.code())))
            && match &f.unit {
                None => true,
                Some(UnitScope::Nation) => r.unit.is_some(),
                Some(UnitScope::Province(u) | UnitScope::Unit(u)) => {
                    r.unit.as_deref().is_some_and(|ru| tree.is_within(ru, u))
                }
            }
            && f.search.as_deref().is_none_or(|n| {
                if f.searches_id_start() {
                    r.population_id.starts_with(n)
                        || r.account.as_deref().is_some_and(|a| {
                            let a: String = a.chars().filter(|c| !c.is_whitespace()).collect();
                            a.starts_with(n)
                        })
                } else {
                    r.population_id.to_lowercase().contains(n) || fold(&r.name).contains(n)
                }
            })
    };
    let mut matching: Vec<(usize, &ExceptionRow)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| matches(r))
        .collect();
    // Capped as a stored run's search is, so both answer alike.
    let (total, total_exact) = capped(matching.len(), f.search.is_some());
    let sort = q.sort();
    if let Some(sort) = sort {
        let mut keyed: Vec<(Option<SortKey>, (usize, &ExceptionRow))> = matching
            .into_iter()
            .map(|(i, r)| (sort_key(r, sort.column), (i, r)))
            .collect();
        keyed.sort_by(|(a, (i, _)), (b, (j, _))| sorted_order(sort, (*i, a), (*j, b)));
        matching = keyed.into_iter().map(|(_, m)| m).collect();
    }
    let skip = match q.after.filter(|_| sort.is_none()) {
        Some(after) => matching.partition_point(|(i, _)| *i <= after),
        None => (page - 1).saturating_mul(per_page),
    };
    let window: Vec<&(usize, &ExceptionRow)> = matching.iter().skip(skip).take(per_page).collect();
    let next_after = if window.len() == per_page && sort.is_none() {
        window.last().map(|(i, _)| *i)
    } else {
        None
    };
    ExceptionPage {
        total,
        total_exact,
        page,
        per_page,
        items: window
            .into_iter()
            .map(|(_, r)| ExceptionItem::bare((*r).clone()))
            .collect(),
        next_after,
    }
}

/// A search counts its matches up to here (see `ExceptionPage::total_exact`): 20 pages of
/// 50, beyond which a name part is too common to page through.
pub const SEARCH_COUNT_CAP: usize = 1_000;

/// What a page says of `counted` matches: a search's past the cap is the cap, not exact.
fn capped(counted: usize, searched: bool) -> (usize, bool) {
    if searched && counted > SEARCH_COUNT_CAP {
        (SEARCH_COUNT_CAP, false)
    } else {
        (counted, true)
    }
}

/// Rows read from the store per query while a download is written.
const CHUNK_ROWS: i64 = 5_000;

/// A download's bytes as they are made, and their length when known beforehand.
pub struct DownloadBody {
    pub stream: BoxStream<'static, Result<Vec<u8>, std::io::Error>>,
    pub len: Option<u64>,
}

fn io_error(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Which of a run's exceptions a download lists, and in which order (None: the run's).
struct Listed {
    filter: ExceptionFilter,
    sort: Option<ExceptionSort>,
}

impl Listed {
    fn new(filter: ExceptionFilter, sort: Option<ExceptionSort>) -> Self {
        Listed { filter, sort }
    }
}

type StoredChunk = Result<Vec<crate::store::SortedRow>, StoreError>;

/// The stored run's exceptions one by one, read from the store a chunk at a time, for a
/// writer on a blocking thread; the next chunk is read while this one is written. A read
/// that fails ends the rows and is kept in `failed`. Sorted, each chunk starts after the
/// last row's key and `seq` (an index range at any depth, as in the run's order).
struct StoredRows {
    store: Arc<dyn Store>,
    run_id: i64,
    filter: Arc<ExceptionFilter>,
    sort: Option<ExceptionSort>,
    held: std::vec::IntoIter<ExceptionRow>,
    /// The next chunk's read, under way.
    next: Option<tokio::task::JoinHandle<StoredChunk>>,
    failed: Arc<Mutex<Option<String>>>,
    runtime: tokio::runtime::Handle,
}

impl StoredRows {
    /// The `listed` rows of the run from the start; read failures land in the returned
    /// slot.
    fn new(
        store: Arc<dyn Store>,
        run_id: i64,
        listed: Listed,
    ) -> (Self, Arc<Mutex<Option<String>>>) {
        let failed = Arc::new(Mutex::new(None));
        let mut rows = StoredRows {
            store,
            run_id,
            filter: Arc::new(listed.filter),
            sort: listed.sort,
            held: Vec::new().into_iter(),
            next: None,
            failed: failed.clone(),
            runtime: tokio::runtime::Handle::current(),
        };
        rows.next = Some(rows.read(None));
        (rows, failed)
    }

    /// Starts reading the chunk after `after` (a row's key and `seq`; None: the start).
    fn read(&self, after: Option<(Option<SortKey>, i64)>) -> tokio::task::JoinHandle<StoredChunk> {
        let (store, filter, run_id) = (self.store.clone(), self.filter.clone(), self.run_id);
        let sort = self.sort;
        self.runtime.spawn(async move {
            match sort {
                Some(sort) => {
                    let start = match after {
                        Some((key, seq)) => SortedStart::After(key, seq),
                        None => SortedStart::Skip(0),
                    };
                    store
                        .sorted_exception_rows(run_id, &filter, sort, start, CHUNK_ROWS)
                        .await
                }
                None => {
                    let after = after.map_or(-1, |(_, seq)| seq);
                    let rows = store
                        .exception_rows(run_id, &filter, PageStart::After(after), CHUNK_ROWS)
                        .await?;
                    Ok(rows.into_iter().map(|(seq, j)| (seq, None, j)).collect())
                }
            }
        })
    }

    /// The chunk under way, the one after it started; None at the end.
    fn fetch(&mut self) -> Option<Result<Vec<ExceptionRow>, String>> {
        let pending = self.next.take()?;
        let rows = match self.runtime.block_on(pending) {
            Ok(Ok(rows)) => rows,
            Ok(Err(e)) => return Some(Err(e.to_string())),
            Err(e) => return Some(Err(e.to_string())),
        };
        if i64::try_from(rows.len()).unwrap_or(0) == CHUNK_ROWS
            && let Some((seq, key, _)) = rows.last()
        {
            self.next = Some(self.read(Some((key.clone(), *seq))));
        }
        Some(
            rows.iter()
                .map(|(_, _, j)| parse_row(self.run_id, j).map_err(|e| e.to_string()))
                .collect(),
        )
    }
}

impl Iterator for StoredRows {
    type Item = ExceptionRow;
    fn next(&mut self) -> Option<ExceptionRow> {
        loop {
            if let Some(row) = self.held.next() {
                return Some(row);
            }
            match self.fetch()? {
                Ok(rows) => self.held = rows.into_iter(),
                Err(e) => {
                    if let Ok(mut f) = self.failed.lock() {
                        *f = Some(e);
                    }
                    self.next = None;
                    return None;
                }
            }
        }
    }
}

/// Bytes a writer on a blocking thread makes, handed to a response body 64 KiB at a time
/// through a bounded channel: a slow reader slows the writer, so memory stays bounded; a
/// reader that left makes the next write fail, which stops the writer.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
    buf: Vec<u8>,
    /// Every byte sent, hashed as it goes (the digest the run page shows).
    sent: Arc<Mutex<Sent>>,
}

#[derive(Default)]
struct Sent {
    hasher: sha2::Sha256,
    bytes: u64,
}

const CHANNEL_CHUNK: usize = 64 * 1024;

impl ChannelWriter {
    fn new(
        tx: tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
        sent: Arc<Mutex<Sent>>,
    ) -> Self {
        ChannelWriter {
            tx,
            buf: Vec::with_capacity(CHANNEL_CHUNK),
            sent,
        }
    }

    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHANNEL_CHUNK));
        if let Ok(mut sent) = self.sent.lock() {
            use sha2::Digest;
            sent.hasher.update(&chunk);
            sent.bytes += chunk.len() as u64;
        }
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the reader left"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHANNEL_CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// The bytes `write` makes on a blocking thread from the stored rows `failed` watches, as
/// a response body: the first chunk (or the error) is awaited here, so a download that
/// cannot start is an error status; a later failure ends the body with an error (the
/// client sees a broken download, never a short file passed off as whole). A file made
/// whole has its digest kept (`keep_digest`).
async fn written_on_the_side(
    run_id: i64,
    what: &'static str,
    failed: Arc<Mutex<Option<String>>>,
    keep: KeepDigest,
    write: impl FnOnce(ChannelWriter) -> Result<(), String> + Send + 'static,
) -> ServiceResult<BoxStream<'static, Result<Vec<u8>, std::io::Error>>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let ended = tx.clone();
    let sent = Arc::new(Mutex::new(Sent::default()));
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let written = write(ChannelWriter::new(tx, sent.clone()));
        // A read that failed says more than what it led to.
        let error = match (failed.lock().ok().and_then(|mut f| f.take()), written) {
            (Some(e), _) | (None, Err(e)) => e,
            (None, Ok(())) => {
                let sent = Arc::try_unwrap(sent).ok().and_then(|m| m.into_inner().ok());
                if let Some(sent) = sent {
                    use sha2::Digest;
                    let sha256 = hex::encode(sent.hasher.finalize());
                    runtime.block_on(keep_digest(keep, what, sha256, sent.bytes));
                }
                return;
            }
        };
        if ended.is_closed() {
            tracing::debug!(run_id, what, "download: the reader left");
        } else {
            tracing::error!(run_id, what, error = %error, "download stopped");
            let _ = ended.blocking_send(Err(io_error(error)));
        }
    });
    let first = match rx.recv().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(e)) => return Err(ServiceError::Internal(e.to_string())),
        None => {
            return Err(ServiceError::Internal(format!(
                "{what} ended before it began"
            )));
        }
    };
    let rest = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok(stream::once(async move { Ok(first) }).chain(rest).boxed())
}

/// Who took which file of which run (and, for a filtered list, with which filters):
/// appended once the download is on its way, so one that cannot start gives nothing away.
fn download_audit(
    actor: &str,
    run: &LoadedRun,
    file: &str,
    lang: Lang,
    filters: Option<serde_json::Value>,
) -> crate::domain::audit::NewAuditEntry {
    use crate::domain::audit::{Action, NewAuditEntry};
    let run_id = run.stored.info.id;
    let mut details = serde_json::json!({
        "reconciliation_id": run_id,
        "unit": run.stored.info.unit,
        "file": file,
        "lang": lang.code(),
    });
    if let (Some(f), Some(map)) = (filters, details.as_object_mut()) {
        map.insert("filters".into(), f);
    }
    NewAuditEntry::new(
        actor,
        Action::RunDownload,
        format!("reconciliation/{run_id}"),
        details,
    )
}

/// Where a download's digest is kept: the run, its language, the store; a filtered view
/// keeps none (its bytes depend on the filters).
struct KeepDigest {
    store: Option<Arc<dyn Store>>,
    run_id: i64,
    lang: Lang,
}

impl KeepDigest {
    fn of(store: &Arc<dyn Store>, run_id: i64, lang: Lang) -> Self {
        KeepDigest {
            store: Some(store.clone()),
            run_id,
            lang,
        }
    }

    fn none() -> Self {
        KeepDigest {
            store: None,
            run_id: 0,
            lang: Lang::Vi,
        }
    }
}

/// Keeps the digest of a file made whole, the first time; a later one that differs means a
/// download is not byte-stable (a bug: an auditor's filed copy would no longer check), so
/// it is logged loudly, and the first stays.
async fn keep_digest(keep: KeepDigest, file: &'static str, sha256: String, bytes: u64) {
    let Some(store) = keep.store else {
        return;
    };
    let d = crate::store::RunDownload {
        file: file.to_owned(),
        lang: keep.lang.code().to_owned(),
        sha256,
        bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        first_at: chrono::Utc::now(),
    };
    match store.record_download(keep.run_id, d.clone()).await {
        Ok(kept) if kept.sha256 == d.sha256 => {}
        Ok(kept) => tracing::error!(
            run_id = keep.run_id,
            file,
            first = %kept.sha256,
            now = %d.sha256,
            "a download of the same run differs from the first"
        ),
        Err(e) => {
            tracing::warn!(run_id = keep.run_id, file, error = %e, "download digest not kept")
        }
    }
}

/// A download of a stored run. report.json is the stored text itself (its digest is on
/// record); the CSV and the workbooks stream, written on a blocking thread as their rows
/// are read (continuing on further sheets past Excel's row limit); the follow-up list
/// reads only the failed, returned and unpaid.
#[tracing::instrument(skip(store, run), fields(run_id = run.stored.info.id))]
pub async fn download(
    store: Arc<dyn Store>,
    run: LoadedRun,
    what: super::Download,
    lang: Lang,
    csv: crate::report::csv::CsvStyle,
    actor: &str,
) -> ServiceResult<DownloadBody> {
    let run = super::approval::with_signatures(store.as_ref(), run).await?;
    let audit = download_audit(actor, &run, what.name(), lang, None);
    let body = made(store.clone(), run, what, lang, csv).await?;
    store.append_audit(audit).await?;
    Ok(body)
}

/// The exceptions of a stored run as a page shows them filtered, as a file of their own:
/// a commune or a bank gets its list. `xlsx`: the report workbook with just those rows on
/// its exception sheets (the summary stays the run's); otherwise the CSV. Audited as a
/// download (with the filters).
pub async fn download_view(
    store: Arc<dyn Store>,
    run: LoadedRun,
    xlsx: bool,
    q: &ExceptionQuery,
    lang: Lang,
    csv: crate::report::csv::CsvStyle,
    actor: &str,
) -> ServiceResult<DownloadBody> {
    let run_id = run.stored.info.id;
    if q.state.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        // Downloads stream the store's rows; a state is not one of their columns.
        return Err(ServiceError::invalid(
            "state-not-supported",
            "Tệp tải về không lọc theo trạng thái xử lý / downloads are not filtered by resolution state",
        ));
    }
    let file = if xlsx {
        "exceptions.xlsx"
    } else {
        "exceptions.csv"
    };
    // A value that names nothing matches nothing: an empty list, never everything.
    let filter = q.filter().unwrap_or_else(ExceptionFilter::nothing);
    let filters = serde_json::json!({
        "outcome": q.outcome, "exclude": q.exclude, "flag": q.flag,
        "commune": q.commune.as_deref().map(|c| c.chars().take(200).collect::<String>()),
        "bank": q.bank.as_deref().map(|b| b.chars().take(200).collect::<String>()),
        // A search may be someone's ID or account: never kept whole in the trail.
        "q": q.q.as_deref().map(|s| s.chars().take(100).map(|c| if c.is_ascii_digit() { '*' } else { c }).collect::<String>()),
        "unit": q.unit,
        "sort": q.sort().map(|s| s.column.as_str()),
        "dir": q.sort().map(|s| if s.descending { "desc" } else { "asc" }),
    });
    let audit = download_audit(actor, &run, file, lang, Some(filters));
    let body = if xlsx {
        let count = store.count_exceptions(run_id, &filter, None).await?;
        let count = usize::try_from(count).unwrap_or(0);
        report_workbook(
            store.clone(),
            run,
            Listed::new(filter, q.sort()),
            count,
            lang,
            file,
            KeepDigest::none(),
        )
        .await?
    } else {
        let keep = KeepDigest::none();
        exceptions_csv(
            store.clone(),
            run_id,
            Listed::new(filter, q.sort()),
            lang,
            csv,
            file,
            keep,
        )
        .await?
    };
    store.append_audit(audit).await?;
    Ok(body)
}

/// A stored run's exceptions that `filter` keeps, as CSV in `style`, as it is written.
async fn exceptions_csv(
    store: Arc<dyn Store>,
    run_id: i64,
    listed: Listed,
    lang: Lang,
    style: crate::report::csv::CsvStyle,
    file: &'static str,
    keep: KeepDigest,
) -> ServiceResult<DownloadBody> {
    let (rows, failed) = StoredRows::new(store, run_id, listed);
    let stream = written_on_the_side(run_id, file, failed, keep, move |mut out| {
        crate::report::csv::write_exceptions_styled(&mut out, rows, lang, style)
            .and_then(|()| std::io::Write::flush(&mut out))
            .map_err(|e| e.to_string())
    })
    .await?;
    Ok(DownloadBody { stream, len: None })
}

/// The report workbook of a stored run with `filter`'s exceptions (`count` of them), as it
/// is written.
async fn report_workbook(
    store: Arc<dyn Store>,
    run: LoadedRun,
    listed: Listed,
    count: usize,
    lang: Lang,
    file: &'static str,
    keep: KeepDigest,
) -> ServiceResult<DownloadBody> {
    let run_id = run.stored.info.id;
    let (rows, failed) = StoredRows::new(store, run_id, listed);
    let (report, meta) = (run.report, run.meta);
    let stream = written_on_the_side(run_id, file, failed, keep, move |out| {
        crate::report::xlsx::write_report_to(
            out,
            &report,
            rows,
            count,
            &meta,
            lang,
            crate::report::xlsx::ExceptionLayout::default(),
        )
        .map(drop)
        .map_err(|e| e.to_string())
    })
    .await?;
    Ok(DownloadBody { stream, len: None })
}

async fn made(
    store: Arc<dyn Store>,
    run: LoadedRun,
    what: super::Download,
    lang: Lang,
    csv: crate::report::csv::CsvStyle,
) -> ServiceResult<DownloadBody> {
    use super::Download;
    let run_id = run.stored.info.id;
    let kept = what.kept_name(run.meta.signatures.is_some());
    match what {
        Download::Json => {
            let bytes = run.stored.report_json.into_bytes();
            let len = Some(bytes.len() as u64);
            Ok(DownloadBody {
                stream: stream::once(async move { Ok(bytes) }).boxed(),
                len,
            })
        }
        Download::Csv => {
            // The digest on record is the default file's; Excel's variants are other bytes.
            let keep = if csv == crate::report::csv::CsvStyle::default() {
                KeepDigest::of(&store, run_id, lang)
            } else {
                KeepDigest::none()
            };
            let listed = Listed::new(ExceptionFilter::default(), None);
            exceptions_csv(store, run_id, listed, lang, csv, what.name(), keep).await
        }
        Download::FollowUp => {
            // Only the failed, returned and unpaid are on it: read just those.
            let filter = ExceptionFilter {
                kinds: crate::report::xlsx::FOLLOWUP_OUTCOMES
                    .map(|o| o.as_str().to_owned())
                    .to_vec(),
                ..ExceptionFilter::default()
            };
            // Nor anyone paid in cash after all (a resolved exception): nothing is owed.
            let in_cash = ExceptionFilter {
                flags: vec![Flag::PaidInCash.as_str().to_owned()],
                ..filter.clone()
            };
            let count = store.count_exceptions(run_id, &filter, None).await?
                - store.count_exceptions(run_id, &in_cash, None).await?;
            let count = usize::try_from(count).unwrap_or(0);
            let keep = KeepDigest::of(&store, run_id, lang);
            let (rows, failed) = StoredRows::new(store, run_id, Listed::new(filter, None));
            let rows = rows.filter(|r| !r.flags.contains(Flag::PaidInCash));
            let meta = run.meta;
            let stream = written_on_the_side(run_id, kept, failed, keep, move |out| {
                crate::report::xlsx::write_followup_to(
                    out,
                    rows,
                    count,
                    &meta,
                    lang,
                    crate::report::xlsx::FOLLOWUP_MAX_ROWS,
                )
                .map(drop)
                .map_err(|e| e.to_string())
            })
            .await?;
            Ok(DownloadBody { stream, len: None })
        }
        Download::Xlsx => {
            let count = usize::try_from(run.stored.exception_rows.unwrap_or(0)).unwrap_or(0);
            let keep = KeepDigest::of(&store, run_id, lang);
            let listed = Listed::new(ExceptionFilter::default(), None);
            report_workbook(store, run, listed, count, lang, kept, keep).await
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn row(i: usize, name: &str) -> ExceptionRow {
        serde_json::from_value(serde_json::json!({
            "kind": "no_account", "population_id": format!("0250660{i:05}"), "name": name,
            "commune": "Xã Sơn Hùng", "category": null, "bank": null, "account": null,
            "amount_due": "3000000", "amount_paid": "0", "flags": [], "list_file": "ds.csv",
            "list_rows": [i + 2], "payouts": []
        }))
        .expect("an exception row")
    }

    fn search(rows: &[ExceptionRow], q: &str, page: usize) -> ExceptionPage {
        filter_exceptions(
            rows,
            &ExceptionQuery {
                q: Some(q.into()),
                page: Some(page),
                ..ExceptionQuery::default()
            },
        )
    }

    /// A search counts to its cap and says so; pages still go on to the last match.
    #[test]
    fn a_search_counts_up_to_its_cap() {
        let mut rows: Vec<ExceptionRow> = (0..SEARCH_COUNT_CAP)
            .map(|i| row(i, "Trần Văn Hùng"))
            .collect();
        rows.push(row(SEARCH_COUNT_CAP, "Lê Thị Mai"));
        let at_cap = search(&rows, "hung", 1);
        assert_eq!((at_cap.total, at_cap.total_exact), (SEARCH_COUNT_CAP, true));
        rows.push(row(SEARCH_COUNT_CAP + 1, "Phạm Hùng"));
        let over = search(&rows, "hung", 1);
        assert_eq!((over.total, over.total_exact), (SEARCH_COUNT_CAP, false));
        let last = search(&rows, "hung", SEARCH_COUNT_CAP / 50 + 1);
        assert_eq!(last.items.len(), 1, "the match past the cap is on a page");
        assert_eq!(last.items[0].name, "Phạm Hùng");
        // Other filters count exactly, however many match.
        let all = filter_exceptions(&rows, &ExceptionQuery::default());
        assert_eq!((all.total, all.total_exact), (SEARCH_COUNT_CAP + 2, true));
    }

    fn sorted(rows: &[ExceptionRow], sort: &str, dir: &str) -> Vec<String> {
        filter_exceptions(
            rows,
            &ExceptionQuery {
                sort: Some(sort.into()),
                dir: Some(dir.into()),
                per_page: Some(500),
                ..ExceptionQuery::default()
            },
        )
        .items
        .into_iter()
        .map(|r| r.row.population_id)
        .collect()
    }

    /// The live figures' list sorts in memory by the keys a stored run's rows keep: the
    /// same order as the store's, rows without a value last both ways, ties in the run's
    /// order (reversed with the direction); an unknown column is the run's order.
    #[test]
    fn the_live_list_sorts_as_a_stored_run() {
        let mut rows: Vec<ExceptionRow> = ["Trần Văn B", "lê thị a", "Đỗ C", "Lê Thị A"]
            .iter()
            .enumerate()
            .map(|(i, n)| row(i, n))
            .collect();
        rows[0].amount_due = None;
        rows[0].kind = crate::recon::ExceptionKind::UnmatchedPayout;
        rows[1].kind = crate::recon::ExceptionKind::Beneficiary(crate::recon::Outcome::Underpaid);
        rows[1].amount_paid = rust_decimal::Decimal::from(1_000_000);
        rows[2].kind = crate::recon::ExceptionKind::Beneficiary(crate::recon::Outcome::Overpaid);
        rows[2].amount_paid = rust_decimal::Decimal::from(4_000_000);
        let ids = |idx: &[usize]| -> Vec<String> {
            idx.iter().map(|&i| rows[i].population_id.clone()).collect()
        };
        // Folded names: "do c" < "le thi a" (twice: run order) < "tran van b".
        assert_eq!(sorted(&rows, "name", "asc"), ids(&[2, 1, 3, 0]));
        assert_eq!(sorted(&rows, "name", "desc"), ids(&[0, 3, 1, 2]));
        // Difference (due − paid): over 1,000,000 < short 2,000,000; the unmatched payout
        // and the cash payee have none: last, in either direction.
        assert_eq!(sorted(&rows, "difference", "asc"), ids(&[2, 1, 0, 3]));
        assert_eq!(sorted(&rows, "difference", "desc"), ids(&[1, 2, 3, 0]));
        assert_eq!(sorted(&rows, "nonsense", "desc"), ids(&[0, 1, 2, 3]));
        assert_eq!(sorted(&rows, "'; DROP TABLE x", "asc"), ids(&[0, 1, 2, 3]));
        // Each key is the one the store keeps for the row.
        let records = records(rows.clone()).expect("records");
        for (row, record) in rows.iter().zip(&records) {
            for c in SortColumn::ALL {
                assert_eq!(sort_key(row, c), record.sort_key(c), "{c:?}");
            }
        }
    }

    /// Choices: any of several, each once, at most `MAX_CHOICES`; a commune written with a
    /// comma is one choice too; values naming nothing match nothing.
    #[test]
    fn several_choices_read_as_one_filter() {
        let q = |outcome: &str, commune: &str| ExceptionQuery {
            outcome: Some(outcome.into()),
            commune: Some(commune.into()),
            ..ExceptionQuery::default()
        };
        let f = q("unpaid,failed,unpaid", "Xã Tân Lập, huyện Đan Phượng").filter();
        let f = f.expect("a filter");
        assert_eq!(f.kinds, ["unpaid", "failed"]);
        assert!(
            f.commune_keys
                .contains(&fold("Xã Tân Lập, huyện Đan Phượng"))
        );
        assert!(q("nonsense", "").filter().is_none());
        let many = vec!["unpaid"; 10_000].join(",");
        assert_eq!(q(&many, "").filter().map(|f| f.kinds.len()), Some(1));
        let all_but_cash = ExceptionQuery {
            exclude: Some("no_account".into()),
            ..ExceptionQuery::default()
        }
        .filter()
        .expect("a filter");
        assert!(!all_but_cash.kinds.contains(&"no_account".to_owned()));
        assert!(all_but_cash.kinds.contains(&"unmatched_payout".to_owned()));
    }
}
