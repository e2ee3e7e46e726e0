//! Searching a large stored run's exceptions by part of a name, in memory. A run never
//! changes once stored, so its folded names can be kept and scanned as one buffer: a
//! national run's 1.3 million names are about 25 MB, scanned in a few milliseconds, and
//! every match is counted. (A trigram index in PostgreSQL was tried: 50-80 ms for names
//! made of common syllables such as `thi hoa`, 300 ms for their first page, and 2.5 s
//! more to store a national run.) A run's filter columns are kept too (a few bytes a
//! row), so a search with other filters is answered here as well, the same rows as the
//! store's `Store::exception_rows` gives; tests hold both to it. The first search of a run
//! on an instance reads it (about 1.3 s for a national run); a run reconciled on the
//! instance is kept as it is stored. Small runs, ID searches (digits: an index range) and
//! filters without a search (index ranges) stay in the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use memchr::memmem;

use crate::store::{ExceptionFilter, ExceptionRecord, Store, StoreResult, UnitScope};

/// Runs with fewer exceptions than this are searched by the store: it is fast enough.
pub const IN_MEMORY_FROM_ROWS: i64 = 50_000;
/// What the kept runs may take in all; the least recently searched go first.
pub const BUDGET_BYTES: usize = 256 << 20;

/// Distinct values of a column, numbered from 1 (0: none).
#[derive(Debug, Default)]
struct Interned {
    ids: HashMap<String, u32>,
    bytes: usize,
}

impl Interned {
    fn id(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else { return 0 };
        if let Some(id) = self.ids.get(v) {
            return *id;
        }
        let id = u32::try_from(self.ids.len() + 1).unwrap_or(u32::MAX);
        self.bytes += v.len() + 48;
        self.ids.insert(v.to_owned(), id);
        id
    }

    /// The number of `value`; None where no row has it.
    fn find(&self, value: &str) -> Option<u32> {
        self.ids.get(value).copied()
    }
}

/// One run's searchable text and filter columns, in the run's order.
#[derive(Debug, Default)]
pub struct RunSearch {
    /// Every folded name, each followed by '\n' (which no name holds).
    names: Vec<u8>,
    /// Where each row's name ends in `names` (after its '\n').
    name_ends: Vec<u32>,
    /// The IDs that are not all digits (kept raw), lower-cased, with their rows: only
    /// these can hold a search that is not all digits.
    odd_ids: Vec<(u32, String)>,
    kinds: Vec<u32>,
    /// Each row's flags as bits, a bit per flag name (`flag_bits`).
    flags: Vec<u64>,
    units: Vec<u32>,
    provinces: Vec<u32>,
    communes: Vec<u32>,
    banks: Vec<u32>,
    kind_ids: Interned,
    flag_bits: Interned,
    /// Units and provinces share their codes.
    unit_ids: Interned,
    commune_ids: Interned,
    bank_ids: Interned,
}

impl RunSearch {
    /// Add the next row; false when the run cannot be kept (past 4 GB of names, or more
    /// than 64 kinds of flag).
    pub fn push(&mut self, r: &ExceptionRecord) -> bool {
        let row = self.name_ends.len();
        // A name with a newline would blur the row boundaries: kept without it.
        self.names.extend(
            r.name_key
                .bytes()
                .map(|b| if b == b'\n' { b' ' } else { b }),
        );
        self.names.push(b'\n');
        let (Ok(end), Ok(row)) = (u32::try_from(self.names.len()), u32::try_from(row)) else {
            return false;
        };
        self.name_ends.push(end);
        if !r.population_id.bytes().all(|b| b.is_ascii_digit()) {
            self.odd_ids.push((row, r.population_id.to_lowercase()));
        }
        self.kinds.push(self.kind_ids.id(Some(&r.kind)));
        let mut bits = 0u64;
        for flag in &r.flags {
            match self.flag_bits.id(Some(flag)) {
                n @ 1..=64 => bits |= 1 << (n - 1),
                _ => return false,
            }
        }
        self.flags.push(bits);
        self.units.push(self.unit_ids.id(r.unit_code.as_deref()));
        self.provinces
            .push(self.unit_ids.id(r.province_code.as_deref()));
        self.communes
            .push(self.commune_ids.id(r.commune_key.as_deref()));
        self.banks.push(self.bank_ids.id(r.bank_code.as_deref()));
        true
    }

    /// Give back what growing left spare (up to half of it).
    fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.name_ends.shrink_to_fit();
        self.odd_ids.shrink_to_fit();
        for column in [
            &mut self.kinds,
            &mut self.units,
            &mut self.provinces,
            &mut self.communes,
            &mut self.banks,
        ] {
            column.shrink_to_fit();
        }
        self.flags.shrink_to_fit();
    }

    pub fn rows(&self) -> usize {
        self.name_ends.len()
    }

    fn bytes(&self) -> usize {
        self.names.capacity()
            + self.name_ends.capacity() * 4
            + self
                .odd_ids
                .iter()
                .map(|(_, id)| 32 + id.capacity())
                .sum::<usize>()
            + (self.kinds.capacity()
                + self.units.capacity()
                + self.provinces.capacity()
                + self.communes.capacity()
                + self.banks.capacity())
                * 4
            + self.flags.capacity() * 8
            + [
                &self.kind_ids,
                &self.flag_bits,
                &self.unit_ids,
                &self.commune_ids,
                &self.bank_ids,
            ]
            .iter()
            .map(|i| i.bytes)
            .sum::<usize>()
    }

    /// Whether row `i` passes `f`'s filters other than the search, as the store's
    /// `push_exception_filter` has them; None where a value no row has is asked for.
    fn others(&self, f: &ExceptionFilter) -> Option<impl Fn(usize) -> bool + '_> {
        let kinds: Vec<u32> = f
            .kinds
            .iter()
            .filter_map(|k| self.kind_ids.find(k))
            .collect();
        if !f.kinds.is_empty() && kinds.is_empty() {
            return None;
        }
        // Any of the flags asked for: their bits; values no row has drop out, and when
        // all do, nothing matches.
        let mut flag = 0u64;
        for fl in &f.flags {
            if let Some(bit) = self.flag_bits.find(fl).and_then(|b| b.checked_sub(1)) {
                flag |= 1u64 << bit;
            }
        }
        if !f.flags.is_empty() && flag == 0 {
            return None;
        }
        let ids = |values: &[String], table: &Interned| -> Option<Vec<u32>> {
            let found: Vec<u32> = values.iter().filter_map(|v| table.find(v)).collect();
            (values.is_empty() || !found.is_empty()).then_some(found)
        };
        let communes = ids(&f.commune_keys, &self.commune_ids)?;
        let banks = ids(&f.bank_codes, &self.bank_ids)?;
        let unit = match &f.unit {
            None => None,
            Some(UnitScope::Nation) => Some((false, 0)),
            Some(UnitScope::Province(code)) => Some((true, self.unit_ids.find(code)?)),
            Some(UnitScope::Unit(code)) => Some((false, self.unit_ids.find(code)?)),
        };
        Some(move |i: usize| {
            (kinds.is_empty() || kinds.contains(&self.kinds[i]))
                && (flag == 0 || self.flags[i] & flag != 0)
                && (communes.is_empty() || communes.contains(&self.communes[i]))
                && (banks.is_empty() || banks.contains(&self.banks[i]))
                && match unit {
                    None => true,
                    // The nation: every row that names a unit.
                    Some((false, 0)) => self.units[i] != 0,
                    Some((true, p)) => self.provinces[i] == p,
                    Some((false, u)) => self.units[i] == u,
                }
        })
    }

    /// The rows (`seq`) matching `f`, in order, where `f` searches by part of a name or
    /// ID (folded); None for a filter this does not answer: no search, a search all of
    /// digits (the start of an ID: the store's index), or one holding a newline.
    pub fn matching(&self, f: &ExceptionFilter) -> Option<Vec<i64>> {
        let q = f.search.as_deref()?;
        if q.is_empty() || f.searches_id_start() || q.contains('\n') {
            return None;
        }
        let Some(keep) = self.others(f) else {
            return Some(Vec::new());
        };
        let mut rows: Vec<i64> = Vec::new();
        let mut row = 0usize;
        for at in memmem::find_iter(&self.names, q.as_bytes()) {
            // Positions only grow: walk the row ends forward.
            while self
                .name_ends
                .get(row)
                .is_some_and(|&end| end as usize <= at)
            {
                row += 1;
            }
            let seq = row as i64;
            if rows.last() != Some(&seq) && keep(row) {
                rows.push(seq);
            }
        }
        let by_id: Vec<i64> = self
            .odd_ids
            .iter()
            .filter(|(row, id)| id.contains(q) && keep(*row as usize))
            .map(|(row, _)| i64::from(*row))
            .collect();
        if !by_id.is_empty() {
            rows.extend(by_id);
            rows.sort_unstable();
            rows.dedup();
        }
        Some(rows)
    }
}

type Slot = Arc<tokio::sync::OnceCell<Option<Arc<RunSearch>>>>;

/// The runs kept for searching, least recently used first. Runs are immutable, so a
/// kept run is never stale; each instance keeps its own.
pub struct SearchCache {
    runs: Mutex<Vec<(i64, Slot)>>,
    min_rows: i64,
    budget: usize,
}

impl Default for SearchCache {
    fn default() -> Self {
        Self::new(IN_MEMORY_FROM_ROWS, BUDGET_BYTES)
    }
}

impl SearchCache {
    pub fn new(min_rows: i64, budget: usize) -> Self {
        SearchCache {
            runs: Mutex::new(Vec::new()),
            min_rows,
            budget,
        }
    }

    /// Whether a run of `rows` exceptions is searched here.
    pub fn wants(&self, rows: i64) -> bool {
        rows >= self.min_rows
    }

    /// The fewest exceptions a run searched here has.
    pub fn min_rows(&self) -> i64 {
        self.min_rows
    }

    fn slot(&self, run_id: i64) -> Slot {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let slot = match runs.iter().position(|(id, _)| *id == run_id) {
            Some(i) => runs.remove(i).1,
            None => Slot::default(),
        };
        runs.push((run_id, slot.clone()));
        slot
    }

    /// Keep a run made here (its rows as they were stored), so its first search is fast.
    pub fn keep(&self, run_id: i64, mut search: RunSearch) {
        if self.wants(search.rows() as i64) {
            search.shrink();
            let _ = self.slot(run_id).set(Some(Arc::new(search)));
            self.evict();
        }
    }

    /// The run's searchable text, read from the store the first time (once, however many
    /// ask at once); None when the run is too large to keep.
    pub async fn get(&self, store: &dyn Store, run_id: i64) -> StoreResult<Option<Arc<RunSearch>>> {
        let slot = self.slot(run_id);
        let got = slot
            .get_or_try_init(|| async {
                let mut search = RunSearch::default();
                let mut fits = true;
                store
                    .for_each_exception_record(run_id, &mut |record| {
                        fits = fits && search.push(&record);
                    })
                    .await?;
                search.shrink();
                Ok::<_, crate::store::StoreError>(fits.then(|| Arc::new(search)))
            })
            .await?
            .clone();
        self.evict();
        Ok(got)
    }

    /// Drop the least recently used runs past the budget (never the newest).
    fn evict(&self) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let size = |s: &Slot| s.get().and_then(|r| r.as_ref()).map_or(0, |r| r.bytes());
        let mut total: usize = runs.iter().map(|(_, s)| size(s)).sum();
        while total > self.budget && runs.len() > 1 {
            let (_, gone) = runs.remove(0);
            total -= size(&gone);
        }
    }

    #[cfg(test)]
    fn kept(&self) -> Vec<i64> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter().map(|(id, _)| *id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, id: &str) -> ExceptionRecord {
        ExceptionRecord {
            kind: "unpaid".into(),
            flags: vec![],
            unit_code: None,
            province_code: None,
            commune_key: None,
            bank_code: None,
            population_id: id.into(),
            account: None,
            name_key: name.into(),
            amount_due: None,
            amount_paid: None,
            difference: None,
            value_date: None,
            row_json: String::new(),
        }
    }

    fn run(rows: &[(&str, &str)]) -> RunSearch {
        let mut s = RunSearch::default();
        for (name, id) in rows {
            assert!(s.push(&record(name, id)));
        }
        s
    }

    fn text(q: &str) -> ExceptionFilter {
        ExceptionFilter {
            search: Some(q.into()),
            ..ExceptionFilter::default()
        }
    }

    /// What the store's `name_key LIKE %q% OR lower(id) LIKE %q%` picks, row by row.
    fn naive(rows: &[(&str, &str)], q: &str) -> Vec<i64> {
        (0..)
            .zip(rows)
            .filter(|(_, (name, id))| name.contains(q) || id.to_lowercase().contains(q))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn matches_what_the_store_matches() {
        let rows = [
            ("nguyen van hung", "025060000000"),
            ("tran thi hoa", "025060000001"),
            ("hung", "CMND-Hung 12"),
            ("le thi hoang", "025060000003"),
            ("", "025060000004"),
            ("pham hung hung", "x"),
        ];
        let s = run(&rows);
        for q in [
            "hung", "thi ho", "g\nt", "n", "hoa", "hung 1", "12", "cmnd-h", "x", "zzz", "hung h",
            " ",
        ] {
            let want = if q.contains('\n') || q.bytes().all(|b| b.is_ascii_digit()) {
                None
            } else {
                Some(naive(&rows, q))
            };
            assert_eq!(s.matching(&text(q)), want, "{q:?}");
        }
        // A match never spans two names.
        assert_eq!(s.matching(&text("hung\ntran")), None);
        assert_eq!(s.matching(&text("hungtran")), Some(vec![]));
        assert_eq!(s.matching(&text("")), None);
        assert_eq!(s.matching(&ExceptionFilter::default()), None);
        // A value no row has matches nothing.
        let bank = ExceptionFilter {
            bank_codes: vec!["VBA".into()],
            ..text("hung")
        };
        assert_eq!(s.matching(&bank), Some(vec![]));
    }

    /// More kinds of flag than bits: the run is not kept (the store searches it).
    #[test]
    fn too_many_kinds_of_flag_are_not_kept() {
        let mut s = RunSearch::default();
        let fits = (0..65).all(|i| {
            s.push(&ExceptionRecord {
                flags: vec![format!("flag_{i}")],
                ..record("a", "1")
            })
        });
        assert!(!fits);
    }

    #[test]
    fn the_least_recently_used_go_past_the_budget() {
        let big = || run(&[("nguyen van hung", "025060000000"); 1000]);
        let one = {
            let mut kept = big();
            kept.shrink();
            kept.bytes()
        };
        let cache = SearchCache::new(0, one * 2 + one / 2);
        cache.keep(1, big());
        cache.keep(2, big());
        let _ = cache.slot(1); // searched again: now the most recent
        cache.keep(3, big());
        assert_eq!(cache.kept(), vec![1, 3]);
        // Runs below the size searched in memory are not kept.
        let small = SearchCache::new(10_000, usize::MAX);
        small.keep(1, big());
        assert!(small.kept().is_empty());
    }
}
