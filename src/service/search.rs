//! Searching a large stored run's exceptions by part of a name, in memory. A run never
//! changes once stored, so its folded names can be kept and scanned as one buffer: a
//! national run's 1.3 million names are about 30 MB, scanned in a few milliseconds, and
//! every match is counted. (A trigram index in PostgreSQL was tried: 50-80 ms for names
//! made of common syllables such as `thi hoa`, 300 ms for their first page, and 2.5 s
//! more to store a national run.) The first search of a run on an instance reads its
//! names (about 1.7 s for a national run); a run reconciled on the instance is kept as it
//! is stored. The answer is the store's own (`Store::exception_rows` with only `search`
//! set); tests hold both to it. Small runs, ID searches (digits: an index range) and
//! searches with other filters stay in the store.

use std::sync::{Arc, Mutex};

use memchr::memmem;

use crate::store::{Store, StoreResult};

/// Runs with fewer exceptions than this are searched by the store: it is fast enough.
pub const IN_MEMORY_FROM_ROWS: i64 = 50_000;
/// What the kept runs may take in all; the least recently searched go first.
pub const BUDGET_BYTES: usize = 256 << 20;

/// One run's searchable text, in the run's order.
#[derive(Debug, Default)]
pub struct RunSearch {
    /// Every folded name, each followed by '\n' (which no name holds).
    names: Vec<u8>,
    /// Where each row's name ends in `names` (after its '\n').
    name_ends: Vec<u32>,
    /// The IDs that are not all digits (kept raw), lower-cased, with their rows: only
    /// these can hold a search that is not all digits.
    odd_ids: Vec<(u32, String)>,
}

impl RunSearch {
    /// Add the next row; false when the run is too large to keep (past 4 GB of names).
    pub fn push(&mut self, name_key: &str, population_id: &str) -> bool {
        let row = self.name_ends.len();
        // A name with a newline would blur the row boundaries: kept without it.
        self.names
            .extend(name_key.bytes().map(|b| if b == b'\n' { b' ' } else { b }));
        self.names.push(b'\n');
        let (Ok(end), Ok(row)) = (u32::try_from(self.names.len()), u32::try_from(row)) else {
            return false;
        };
        self.name_ends.push(end);
        if !population_id.bytes().all(|b| b.is_ascii_digit()) {
            self.odd_ids.push((row, population_id.to_lowercase()));
        }
        true
    }

    /// Give back what growing left spare (up to half of it).
    fn shrink(&mut self) {
        self.names.shrink_to_fit();
        self.name_ends.shrink_to_fit();
        self.odd_ids.shrink_to_fit();
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
    }

    /// The rows (`seq`) whose name or ID holds `q` (folded), in order; None for a search
    /// this does not answer: empty, all digits (the start of an ID: the store's index), or
    /// holding a newline.
    pub fn matching(&self, q: &str) -> Option<Vec<i64>> {
        if q.bytes().all(|b| b.is_ascii_digit()) || q.contains('\n') {
            return None;
        }
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
            if rows.last() != Some(&seq) {
                rows.push(seq);
            }
        }
        let by_id: Vec<i64> = self
            .odd_ids
            .iter()
            .filter(|(_, id)| id.contains(q))
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
                    .for_each_exception_key(run_id, &mut |name, id| {
                        fits = fits && search.push(name, id);
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

    fn run(rows: &[(&str, &str)]) -> RunSearch {
        let mut s = RunSearch::default();
        for (name, id) in rows {
            assert!(s.push(name, id));
        }
        s
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
            assert_eq!(s.matching(q), want, "{q:?}");
        }
        // A match never spans two names.
        assert_eq!(s.matching("hung\ntran"), None);
        assert_eq!(s.matching("hungtran"), Some(vec![]));
        assert_eq!(s.matching(""), None);
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
