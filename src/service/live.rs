//! A period's live figures, kept rather than recomputed on every read: its figures as
//! cells that add up (`recon::cells`), stored. A callback records its change in its own
//! transaction; a refresh (on read, and in the background) reconciles only the rows linked
//! to the changed payouts, as the cells counted them and as they are now, and adds the
//! difference. New or retired uploads mean a full recompute. A read is a refresh (usually
//! nothing to do) and a sum of the cells of the unit's subtree; where a background
//! refresher takes callbacks in (`doisoat serve`), a read leaves them to it and answers at
//! once, saying whether some are still on their way in (`Freshness`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use super::{ServiceError, ServiceResult, blocking, callback_row, gather};
use crate::domain::attributed::InUnits;
use crate::domain::banks::BankId;
use crate::domain::columns::{ListTable, PayoutTable};
use crate::domain::period::{Targets, TargetsBp};
use crate::domain::records::{BeneficiaryRow, ListRows, PayoutRow};
use crate::domain::units::{NATION, UnitLevel, shipped_tree};
use crate::recon::adjust::Adjustments;
use crate::recon::cells::{self, CellKey, CellKind, Cells, LinkKey};
use crate::recon::{Options, reconcile};
use crate::store::{
    CallbackState, CellScope, ComponentRows, LiveCellRow, LiveComponents, LiveDelta, LiveRefresh,
    RowAddress, Store, StoreError, Upload, UploadKind,
};

/// The engine's side of a refresh of one store's period: how rows link and what they add
/// up to, through one link index of the period (taken once, so every step of a refresh
/// reads the same inputs and adjustments).
pub struct Components {
    index: Option<Arc<LinkIndex>>,
}

impl Components {
    /// Through this server's link index of the period, if it has one.
    fn of(store: &dyn Store, period_id: i64) -> Self {
        let index = LINKS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(store_id(store), period_id))
            .cloned();
        Components { index }
    }

    fn adjustments(&self) -> Adjustments {
        self.index
            .as_ref()
            .map(|i| i.adjustments.clone())
            .unwrap_or_default()
    }

    fn options(&self) -> Options {
        Options {
            adjustments: self.adjustments(),
            arrears: self
                .index
                .as_ref()
                .map(|i| i.arrears.clone())
                .unwrap_or_default(),
            ..Options::default()
        }
    }
}

impl LiveComponents for Components {
    fn addresses(
        &self,
        _period_id: i64,
        inputs_key: &str,
        keys: &[LinkKey],
    ) -> Option<Vec<RowAddress>> {
        let index = self.index.as_ref().filter(|i| i.inputs_key == inputs_key)?;
        let mut out = Vec::new();
        for k in keys {
            index.find(k, |a| out.push(a));
        }
        Some(out)
    }

    fn keys(&self, rows: &ComponentRows) -> Vec<LinkKey> {
        let Ok((list, payouts, _)) = inputs(rows, None) else {
            // `cells` reads the same rows and says what is wrong with them.
            return Vec::new();
        };
        let adj = self.adjustments();
        let mut keys = Vec::new();
        for r in 0..list.len() {
            cells::list_keys(&list, r, |k| keys.push(k));
            adj.list_keys(&list, r, |k| keys.push(k));
        }
        for i in 0..crate::domain::records::PayoutRows::len(&payouts) {
            cells::payout_keys(&payouts, i, |k| keys.push(k));
            adj.payout_keys(&payouts, i, |k| keys.push(k));
        }
        keys
    }

    fn delta(
        &self,
        rows: &ComponentRows,
        before: &HashMap<i64, Option<CallbackState>>,
    ) -> Result<LiveDelta, String> {
        let of = |before| -> Result<Cells, String> {
            let (list, payouts, positions) = inputs(rows, before).map_err(|e| e.to_string())?;
            let recon = reconcile(&list, &payouts, &self.options());
            Ok(cells::cells_of(&list, &payouts, &recon, |r| {
                positions.get(r).copied().unwrap_or(u64::MAX)
            }))
        };
        let (old, new) = (of(Some(before))?, of(None)?);
        let touched: Vec<String> = old
            .keys()
            .chain(new.keys())
            .map(key_text)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        Ok(LiveDelta {
            touched,
            apply: Box::new(move |stored: Vec<LiveCellRow>| {
                let mut base = from_rows(stored).ok()?;
                cells::apply_delta(&mut base, &old, new)?;
                Some(to_rows(&base))
            }),
        })
    }
}

/// A cell's identity as one text: its parts joined, an absent part marked apart from an
/// empty one.
fn key_text(k: &CellKey) -> String {
    let part = |p: Option<&str>| p.map_or("\u{1e}".to_owned(), str::to_owned);
    [
        kind_text(k.kind).to_owned(),
        part(k.unit.as_deref()),
        part(k.commune.as_deref()),
        part(k.category.as_deref()),
        part(k.bank.map(|b| b.code())),
    ]
    .join("\u{1f}")
}

fn kind_text(k: CellKind) -> &'static str {
    match k {
        CellKind::People => "people",
        CellKind::Unmatched => "unmatched",
    }
}

/// Cells as the store keeps them (with each unit's province, the filter of a province's
/// reads).
fn to_rows(cells: &Cells) -> Vec<LiveCellRow> {
    let tree = shipped_tree();
    cells
        .iter()
        .map(|(k, c)| LiveCellRow {
            cell_key: key_text(k),
            kind: kind_text(k.kind).to_owned(),
            unit_code: k.unit.clone(),
            province_code: k
                .unit
                .as_deref()
                .and_then(|u| tree.child_toward(NATION, u))
                .map(|p| p.code.clone()),
            commune_key: k.commune.clone(),
            category_key: k.category.clone(),
            bank_code: k.bank.map(|b| b.code().to_owned()),
            commune_text: c.commune_text.clone(),
            category_text: c.category_text.clone(),
            first_pos: i64::try_from(c.first).unwrap_or(i64::MAX),
            figures: cells::encode(&c.coverage),
        })
        .collect()
}

/// Stored cells back; an error names what does not read.
fn from_rows(rows: Vec<LiveCellRow>) -> ServiceResult<Cells> {
    let corrupt =
        |what: &str| ServiceError::Store(StoreError::Corrupt(format!("live cell: {what}")));
    let mut out = Cells::with_capacity(rows.len());
    for r in rows {
        let kind = match r.kind.as_str() {
            "people" => CellKind::People,
            "unmatched" => CellKind::Unmatched,
            _ => return Err(corrupt("kind")),
        };
        let bank = match r.bank_code.as_deref() {
            None => None,
            Some(code) => Some(BankId::resolve(code).ok_or_else(|| corrupt("bank"))?),
        };
        let coverage = cells::decode(&r.figures).ok_or_else(|| corrupt("figures"))?;
        let first = if r.first_pos == i64::MAX {
            u64::MAX
        } else {
            u64::try_from(r.first_pos).map_err(|_| corrupt("position"))?
        };
        out.insert(
            CellKey {
                kind,
                unit: r.unit_code,
                commune: r.commune_key,
                category: r.category_key,
                bank,
            },
            cells::Cell {
                commune_text: r.commune_text,
                category_text: r.category_text,
                first,
                coverage,
            },
        );
    }
    Ok(out)
}

/// A row's place in the period's lists: (list, row), as `gather` reads them.
fn position(source: usize, seq: i64) -> u64 {
    ((source as u64) << 32) | u64::try_from(seq).unwrap_or(0)
}

/// A few components' rows (owned: they are few), and each list row's position.
type ComponentInputs = (
    InUnits<Vec<BeneficiaryRow>>,
    InUnits<Vec<PayoutRow>>,
    Vec<u64>,
);

/// Some components' rows as the engine reads them, every list and file of the period a
/// source in its place (empty where none of its rows is linked); with `before`, each
/// changed callback in the state the cells counted (left out where None).
fn inputs(
    rows: &ComponentRows,
    before: Option<&HashMap<i64, Option<CallbackState>>>,
) -> ServiceResult<ComponentInputs> {
    let mut list = InUnits::new();
    let mut positions = Vec::new();
    for (s, upload) in rows.lists.iter().enumerate() {
        let file: Arc<str> = Arc::from(upload.file_name.as_str());
        let mut mine: Vec<_> = rows
            .list_rows
            .iter()
            .filter(|(u, _)| *u == upload.id)
            .map(|(_, r)| r)
            .collect();
        mine.sort_by_key(|r| r.seq);
        let mut out = Vec::with_capacity(mine.len());
        let mut units = Vec::with_capacity(mine.len());
        for r in mine {
            positions.push(position(s, r.seq));
            units.push(r.unit_code.clone());
            out.push(r.clone().into_row(&file)?);
        }
        list.push_source(out, |i| {
            units
                .get(i)
                .and_then(|u| u.as_deref())
                .unwrap_or(upload.unit.as_str())
        });
    }
    let mut payouts = InUnits::new();
    for upload in &rows.files {
        let file: Arc<str> = Arc::from(upload.file_name.as_str());
        let mut mine: Vec<_> = rows
            .payout_rows
            .iter()
            .filter(|r| r.upload_id == upload.id)
            .collect();
        mine.sort_by_key(|r| r.seq);
        let out = mine
            .into_iter()
            .map(|r| r.clone().into_row(&file))
            .collect::<Result<Vec<_>, _>>()?;
        payouts.push_source(out, |_| upload.unit.as_str());
    }
    let year = crate::domain::dates::this_year();
    let file: Arc<str> = Arc::from("callback");
    let mut callbacks: Vec<_> = rows.callbacks.iter().collect();
    callbacks.sort_by_key(|c| c.id);
    let mut out = Vec::with_capacity(callbacks.len());
    let mut units = Vec::with_capacity(callbacks.len());
    for c in callbacks {
        let mut c = c.clone();
        match before.and_then(|b| b.get(&c.id)) {
            Some(None) => continue,
            Some(Some(state)) => {
                c.payout.status = state.status;
                c.payout.reason = state.reason.clone();
                c.payout.value_date = state.value_date;
            }
            None => {}
        }
        units.push(c.payout.unit.clone());
        out.push(callback_row(&c, &file, year)?);
    }
    payouts.push_source(out, |i| {
        units.get(i).and_then(|u| u.as_deref()).unwrap_or(NATION)
    });
    Ok((list, payouts, positions))
}

/// Where each link key of a period's list and payout rows is: built in memory by a full
/// recompute (which reads every row anyway), so the tables need no index of their own (one
/// on each would cost every national upload more than its COPY). Each server keeps its
/// own; one that has none for a period's inputs (just started, or inputs changed)
/// recomputes that period once.
struct LinkIndex {
    inputs_key: String,
    /// The period's adjustments as applied to these inputs.
    adjustments: Adjustments,
    /// The arrears carried into the period (a person's outcome depends on them).
    arrears: crate::recon::arrears::Arrears,
    built: std::time::Instant,
    /// The upload of each source: lists, then payout files.
    lists: Vec<i64>,
    files: Vec<i64>,
    /// (hash of a key, address: payout bit, source, seq), sorted.
    entries: Vec<(u64, u64)>,
}

const PAYOUT_BIT: u64 = 1 << 63;

fn key_hash(k: &LinkKey) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(k)
}

impl LinkIndex {
    /// Every row at the key's hash (rows of other keys with the same hash too: harmless,
    /// the component only grows by whole components).
    fn find(&self, k: &LinkKey, mut out: impl FnMut(RowAddress)) {
        let h = key_hash(k);
        let start = self.entries.partition_point(|e| e.0 < h);
        for &(_, a) in self.entries[start..].iter().take_while(|e| e.0 == h) {
            let payout = a & PAYOUT_BIT != 0;
            let source = ((a & !PAYOUT_BIT) >> 32) as usize;
            let uploads = if payout { &self.files } else { &self.lists };
            if let Some(&upload_id) = uploads.get(source) {
                out(RowAddress {
                    payout,
                    upload_id,
                    seq: (a & 0xFFFF_FFFF) as i64,
                });
            }
        }
    }
}

const MAX_LINK_ENTRIES: usize = 40_000_000;

/// By (store, period): a process serves one database, but tests open many.
type LinkIndexes = HashMap<(usize, i64), Arc<LinkIndex>>;

static LINKS: LazyLock<std::sync::Mutex<LinkIndexes>> = LazyLock::new(Default::default);

fn store_id(store: &dyn Store) -> usize {
    store as *const dyn Store as *const () as usize
}

fn link_index(store: &dyn Store, period_id: i64, inputs_key: &str) -> Option<Arc<LinkIndex>> {
    let map = LINKS.lock().unwrap_or_else(|e| e.into_inner());
    map.get(&(store_id(store), period_id))
        .filter(|i| i.inputs_key == inputs_key)
        .cloned()
}

/// The link index of a period's gathered rows.
fn build_links(
    inputs_key: String,
    (adjustments, arrears): (Adjustments, crate::recon::arrears::Arrears),
    lists: Vec<i64>,
    files: Vec<i64>,
    list: &InUnits<ListTable>,
    payouts: &InUnits<PayoutTable>,
) -> LinkIndex {
    let mut entries = Vec::with_capacity(list.len() * 2 + payouts.len() * 2);
    let mut start = Vec::new();
    for r in 0..list.len() {
        let s = list.source_of(r) as usize;
        if start.len() <= s {
            start.resize(s + 1, r);
        }
        let addr = ((s as u64) << 32) | (r - start[s]) as u64;
        cells::list_keys(list, r, |k| entries.push((key_hash(&k), addr)));
        adjustments.list_keys(list, r, |k| entries.push((key_hash(&k), addr)));
    }
    let mut start = Vec::new();
    for i in 0..payouts.len() {
        let s = payouts.source_of(i) as usize;
        if start.len() <= s {
            start.resize(s + 1, i);
        }
        // Callbacks (the source after the files) are found through their own indexes.
        if s >= files.len() {
            continue;
        }
        let addr = PAYOUT_BIT | ((s as u64) << 32) | (i - start[s]) as u64;
        cells::payout_keys(payouts, i, |k| entries.push((key_hash(&k), addr)));
        adjustments.payout_keys(payouts, i, |k| entries.push((key_hash(&k), addr)));
    }
    entries.sort_unstable();
    entries.dedup();
    LinkIndex {
        inputs_key,
        adjustments,
        arrears,
        built: std::time::Instant::now(),
        lists,
        files,
        entries,
    }
}

/// One refresh per period at a time in this process (readers arriving meanwhile wait for
/// it, then find the cells current).
type PeriodLocks = HashMap<(usize, i64), Arc<tokio::sync::Mutex<()>>>;

static FULL: LazyLock<std::sync::Mutex<PeriodLocks>> = LazyLock::new(Default::default);

fn full_lock(store: &dyn Store, period_id: i64) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = FULL.lock().unwrap_or_else(|e| e.into_inner());
    map.entry((store_id(store), period_id)).or_default().clone()
}

/// What a refresh did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Changed callback payouts taken in without a full recompute.
    pub changes: usize,
    /// Whether everything was recomputed (the inputs changed, or nothing was stored).
    pub recomputed: bool,
}

/// Stores whose callbacks a background refresher takes in (`app::spawn_live_refresher`),
/// by address; held weakly, so a dropped store's address, reused, is not mistaken for it.
static IN_BACKGROUND: LazyLock<std::sync::Mutex<HashMap<usize, std::sync::Weak<dyn Store>>>> =
    LazyLock::new(Default::default);

/// From now on `store`'s callbacks are taken in by a background refresher: reads answer
/// from the kept cells without waiting for it.
pub fn refreshed_in_background(store: &Arc<dyn Store>) {
    let mut map = IN_BACKGROUND.lock().unwrap_or_else(|e| e.into_inner());
    map.retain(|_, s| s.strong_count() > 0);
    map.insert(store_id(store.as_ref()), Arc::downgrade(store));
}

/// `store` itself, where a background refresher takes its changes in.
fn in_background(store: &dyn Store) -> Option<Arc<dyn Store>> {
    IN_BACKGROUND
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&store_id(store))
        .and_then(std::sync::Weak::upgrade)
}

/// Periods being recomputed in the background after their inputs changed, by store, and
/// the inputs whose last background recompute failed (a read then recomputes itself, and
/// answers with the error).
static RECOMPUTING: LazyLock<std::sync::Mutex<HashMap<PeriodOf, Option<String>>>> =
    LazyLock::new(Default::default);

/// A period of a store: (the store's address, the period's id).
type PeriodOf = (usize, i64);

/// Recompute `period_id`'s figures in the background, unless that is under way or failed
/// for these inputs; false where a read must recompute itself.
fn recompute_in_background(store: Arc<dyn Store>, period_id: i64, inputs: &str) -> bool {
    let key = (store_id(store.as_ref()), period_id);
    {
        let mut map = RECOMPUTING.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&key) {
            Some(None) => return true,
            Some(Some(failed)) if failed == inputs => return false,
            _ => {}
        }
        map.insert(key, None);
    }
    let inputs = inputs.to_owned();
    tokio::spawn(async move {
        // Removed however the task ends, so a later read can start another.
        struct Done(PeriodOf, Option<String>);
        impl Drop for Done {
            fn drop(&mut self) {
                let mut map = RECOMPUTING.lock().unwrap_or_else(|e| e.into_inner());
                match self.1.take() {
                    Some(failed) => map.insert(self.0, Some(failed)),
                    None => map.remove(&self.0),
                };
            }
        }
        let mut done = Done(key, Some(inputs.clone()));
        match refresh(store.as_ref(), period_id).await {
            Ok(_) => done.1 = None,
            Err(e) => tracing::warn!(period_id, error = %e, "live figures: background recompute"),
        }
    });
    true
}

/// Whether live figures hold every callback received when they were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Current,
    /// Callbacks received are not all in yet: the background refresher is taking them in
    /// (within `DOISOAT_LIVE_REFRESH_MS` and the refresh's own time).
    CatchingUp,
    /// A list or payout file was added, made current or retired since the figures were
    /// made: they are those of the inputs before, while the server recomputes them in the
    /// background (about 20 s for the whole country on two cores).
    Updating,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Current => "current",
            Freshness::CatchingUp => "catching-up",
            Freshness::Updating => "updating",
        }
    }
}

/// Make the period's cells count its current inputs, for a read. Callback changes are
/// applied here too, unless a background refresher takes them in: a read under a stream of
/// callbacks then costs a lookup, not a refresh (100–200 ms of work for half a second of
/// callbacks at national scale), and says it is catching up.
async fn refresh_for_read(store: &dyn Store, period_id: i64) -> ServiceResult<Freshness> {
    if let Some(background) = in_background(store) {
        let status = store.live_status(period_id).await?;
        match status.cells_key.as_deref() {
            Some(key) if key == status.current_key => {
                return Ok(if status.pending {
                    Freshness::CatchingUp
                } else {
                    Freshness::Current
                });
            }
            // New inputs: a dashboard read does not wait for a full recompute (seconds at
            // national scale, after every province's upload); the figures before stand,
            // said to be updating.
            Some(_) if recompute_in_background(background, period_id, &status.current_key) => {
                return Ok(Freshness::Updating);
            }
            _ => {}
        }
    }
    refresh(store, period_id).await?;
    Ok(Freshness::Current)
}

/// Bring the period's cells up to date: its pending callback changes applied, or, when its
/// inputs changed (or nothing is stored yet), everything recomputed.
pub async fn refresh(store: &dyn Store, period_id: i64) -> ServiceResult<Refreshed> {
    let mut done = Refreshed::default();
    let mut force = false;
    for _ in 0..4 {
        // Read first, without the write lock: most reads find nothing to do.
        let status = store.live_status(period_id).await?;
        let cells_current = status.cells_key.as_deref() == Some(status.current_key.as_str());
        if cells_current && !status.pending {
            return Ok(done);
        }
        // One refresh of a period at a time in this process: a reader arriving while the
        // background takes changes in waits for it (then finds little or nothing left),
        // rather than reading the same rows again and losing the race to write.
        let lock = full_lock(store, period_id);
        let _held = lock.lock().await;
        let status = store.live_status(period_id).await?;
        let cells_current = status.cells_key.as_deref() == Some(status.current_key.as_str());
        if cells_current && !status.pending {
            return Ok(done);
        }
        // Changes are taken in through this server's link index of the inputs: without
        // one (just started, or another server recomputed), recompute, which makes it.
        if !force && cells_current && link_index(store, period_id, &status.current_key).is_some() {
            let started = std::time::Instant::now();
            let applied = store
                .apply_live_changes(period_id, &Components::of(store, period_id))
                .await?;
            let ms = started.elapsed().as_millis() as u64;
            if ms >= 200 {
                tracing::info!(period_id, ms, ?applied, "live figures: a slow refresh");
            }
            match applied {
                LiveRefresh::Applied(n) => {
                    done.changes += n;
                    if n > 0 {
                        crate::metrics::global().live_changes(n as u64);
                    }
                    return Ok(done);
                }
                // Another refresh took the same changes in meanwhile: look again.
                LiveRefresh::Busy => continue,
                // The inputs changed meanwhile, or the cells do not hold what the changes
                // say they count: recompute.
                LiveRefresh::Stale => {
                    force = true;
                    continue;
                }
            }
        }
        recompute(store, period_id, status.watermark).await?;
        crate::metrics::global().live_recompute();
        done.recomputed = true;
        force = false;
    }
    // Uploads kept changing the inputs while they were read: the figures of the last
    // recompute stand; the next read tries again.
    Ok(done)
}

/// Take in the callbacks of every period whose live figures are kept and have changes
/// waiting (the server does this in the background, so reads find them current).
pub async fn refresh_pending(store: &dyn Store) -> ServiceResult<usize> {
    let mut changes = 0;
    for period_id in store.live_pending_periods().await? {
        match refresh(store, period_id).await {
            Ok(done) => changes += done.changes,
            // A period whose lists were all retired has no figures to keep.
            Err(ServiceError::NoList(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(changes)
}

/// Recompute the period's cells from all its rows and store them.
async fn recompute(store: &dyn Store, period_id: i64, watermark: i64) -> ServiceResult<()> {
    let started = std::time::Instant::now();
    // The period's link index is of inputs about to be replaced: let it go before the new
    // one is built, not after (a national month's is about 160 MB). A refresh holding it
    // keeps its own reference.
    LINKS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&(store_id(store), period_id));
    let g = gather(store, period_id).await?;
    let of = |kind: UploadKind| -> Vec<(i64, &str)> {
        g.uploads
            .iter()
            .filter(|u| u.kind == kind)
            .map(|u| (u.id, u.sha256.as_str()))
            .collect()
    };
    let (list_inputs, file_inputs) = (of(UploadKind::Beneficiaries), of(UploadKind::Payouts));
    let lists: Vec<i64> = list_inputs.iter().map(|u| u.0).collect();
    let files: Vec<i64> = file_inputs.iter().map(|u| u.0).collect();
    let key = crate::store::inputs_key(
        &list_inputs,
        &file_inputs,
        super::resolutions::mark(&g.adjustments_stored),
        g.carry_over_mark,
    );
    drop((list_inputs, file_inputs));
    let index_key = key.clone();
    let (cells, states, links) = blocking(move || {
        let recon = reconcile(&g.list, &g.payouts, &g.options());
        // (list, row) of every row: its source, and its index there.
        let mut starts = Vec::new();
        for i in 0..g.list.len() {
            let s = ListRows::source(&g.list, i) as usize;
            if starts.len() <= s {
                starts.resize(s + 1, i);
            }
        }
        let cells = cells::cells_of(&g.list, &g.payouts, &recon, |r| {
            let s = ListRows::source(&g.list, r) as usize;
            position(s, (r - starts.get(s).copied().unwrap_or(0)) as i64)
        });
        drop(recon);
        let links = build_links(
            index_key,
            (g.adjustments.clone(), g.arrears.clone()),
            lists,
            files,
            &g.list,
            &g.payouts,
        );
        (cells, g.callback_states, links)
    })
    .await?;
    let links = Arc::new(links);
    let components = Components {
        index: Some(links.clone()),
    };
    {
        let mut map = LINKS.lock().unwrap_or_else(|e| e.into_inner());
        map.insert((store_id(store), period_id), links);
        // A national month's index is about 10 million entries (160 MB): keep those of the
        // few periods being worked on (another is rebuilt by its next recompute).
        while map.len() > 1
            && map.values().map(|i| i.entries.len()).sum::<usize>() > MAX_LINK_ENTRIES
        {
            let Some(oldest) = map.iter().min_by_key(|(_, i)| i.built).map(|(p, _)| *p) else {
                break;
            };
            map.remove(&oldest);
        }
    }
    let outcome = store
        .replace_live_cells(
            period_id,
            &key,
            to_rows(&cells),
            watermark,
            states,
            &components,
        )
        .await?;
    tracing::info!(
        period_id,
        ms = started.elapsed().as_millis() as u64,
        ?outcome,
        "live figures recomputed in full"
    );
    Ok(())
}

/// Which stored cells a read of `unit`'s subtree needs (then kept by `is_within`).
fn scope_of(unit: &str) -> CellScope<'_> {
    let tree = shipped_tree();
    match tree.get(unit).map(|u| u.level) {
        None | Some(UnitLevel::Nation) => CellScope::Nation,
        Some(UnitLevel::Province) => CellScope::Province(unit),
        Some(UnitLevel::Commune) => CellScope::Unit(unit),
    }
}

/// What a live read of a unit is made of: the cells of its subtree (refreshed), and the
/// period's uploads in use (their row errors and totals rows), in the order a
/// reconciliation reads them.
pub(super) struct LiveCells {
    pub cells: Cells,
    pub uploads: Vec<Upload>,
    pub freshness: Freshness,
}

pub(super) async fn read(
    store: &dyn Store,
    period_id: i64,
    unit: &str,
) -> ServiceResult<LiveCells> {
    let freshness = refresh_for_read(store, period_id).await?;
    let tree = shipped_tree();
    let mut cells = from_rows(store.live_cells(period_id, scope_of(unit)).await?)?;
    if unit != NATION {
        cells.retain(|k, _| k.unit.as_deref().is_some_and(|u| tree.is_within(u, unit)));
    }
    let mut uploads: Vec<Upload> = store
        .list_uploads(period_id)
        .await?
        .into_iter()
        .filter(|u| u.retired_at.is_none())
        .collect();
    uploads.retain(|u| u.kind == UploadKind::Payouts || u.current);
    if !uploads.iter().any(|u| u.kind == UploadKind::Beneficiaries) {
        return Err(ServiceError::NoList(period_id));
    }
    uploads.sort_by(|a, b| {
        let rank = |u: &Upload| match u.kind {
            UploadKind::Beneficiaries => (0, u.unit.clone(), u.id),
            UploadKind::Payouts => (1, String::new(), u.id),
        };
        rank(a).cmp(&rank(b))
    });
    Ok(LiveCells {
        cells,
        uploads,
        freshness,
    })
}

/// The targets that apply to `unit` in the period (for each rate its own, the nearest
/// above, the period's).
pub(super) async fn target_for(
    store: &dyn Store,
    period: &crate::store::Period,
) -> ServiceResult<impl Fn(&str) -> Targets + use<>> {
    let targets: HashMap<String, TargetsBp> = store
        .unit_targets(period.id)
        .await?
        .into_iter()
        .map(|t| (t.unit, t.targets))
        .collect();
    let period_targets = period.targets;
    Ok(move |unit: &str| {
        shipped_tree()
            .targets_for(unit, &targets, period_targets)
            .pct()
    })
}

/// How a callback payout links to the period's current lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// To a listed beneficiary, by the personal ID it carries.
    Linked,
    /// To a listed beneficiary, by its account number (it carries no valid 12-digit ID).
    LinkedByAccount,
    /// To nobody on the lists (or refused as another bank's customer: flag `wrong_bank`).
    Unmatched,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Linked => "linked",
            LinkState::LinkedByAccount => "linked_by_account",
            LinkState::Unmatched => "unmatched",
        }
    }
}

/// A callback payout as the period's reconciliation sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackLink {
    pub link: LinkState,
    /// The linked beneficiary's outcome.
    pub outcome: Option<crate::recon::Outcome>,
    /// The link's flags: the linked beneficiary's name/account ones, or `wrong_bank`.
    pub flags: Vec<crate::recon::Flag>,
}

/// Flags of a linked beneficiary that speak of what the bank sent (the others speak of
/// the list, which is not the bank's).
const PAYOUT_FLAGS: [crate::recon::Flag; 2] = [
    crate::recon::Flag::NameMismatch,
    crate::recon::Flag::AccountMismatch,
];

/// `read` through this server's link index of the period's current inputs: without one
/// here (the server just started, or the inputs changed), the period is recomputed once,
/// which makes one; an upload between the index check and the read makes the read find no
/// index (`read` answers None): a few tries. None when the period has no list.
async fn through_link_index<T, F, Fut>(
    store: &dyn Store,
    period_id: i64,
    mut read: F,
) -> ServiceResult<Option<T>>
where
    F: FnMut(Components) -> Fut,
    Fut: std::future::Future<Output = ServiceResult<Option<T>>>,
{
    for _ in 0..4 {
        let status = store.live_status(period_id).await?;
        if link_index(store, period_id, &status.current_key).is_none() {
            let lock = full_lock(store, period_id);
            let _held = lock.lock().await;
            let status = store.live_status(period_id).await?;
            if link_index(store, period_id, &status.current_key).is_none() {
                match recompute(store, period_id, status.watermark).await {
                    Ok(()) => crate::metrics::global().live_recompute(),
                    Err(ServiceError::NoList(_)) => return Ok(None),
                    Err(e) => return Err(e),
                }
            }
            continue;
        }
        if let Some(found) = read(Components::of(store, period_id)).await? {
            return Ok(Some(found));
        }
    }
    Err(ServiceError::Internal(format!(
        "period {period_id}: the inputs kept changing while they were read"
    )))
}

/// How each of the callbacks `ids` (of the period's programme and code) links now: their
/// components (every row sharing a link key with them, transitively) read through this
/// server's link index and reconciled, as a refresh reconciles them; the same answer as a
/// reconciliation of the whole period. Without an index of the current inputs here (the
/// server just started, or the inputs changed), the period is recomputed once, which makes
/// one. Without a current list every payout links to nobody.
pub async fn callback_links(
    store: &dyn Store,
    period_id: i64,
    ids: &[i64],
) -> ServiceResult<HashMap<i64, CallbackLink>> {
    let nobody = || {
        ids.iter()
            .map(|&id| {
                (
                    id,
                    CallbackLink {
                        link: LinkState::Unmatched,
                        outcome: None,
                        flags: Vec::new(),
                    },
                )
            })
            .collect()
    };
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = through_link_index(store, period_id, |components| async move {
        let options = components.options();
        let Some(rows) = store
            .callback_components(period_id, ids, &components)
            .await?
        else {
            return Ok(None);
        };
        let mut links = blocking(move || links_of(&rows, &options)).await??;
        // A component may hold other payouts (another bank's too): only those asked.
        links.retain(|id, _| ids.contains(id));
        Ok(Some(links))
    })
    .await?;
    Ok(found.unwrap_or_else(nobody))
}

/// Where each person owed arrears in `stored` stands now: their components (every row
/// linked to their IDs, transitively) read through this server's link index and
/// reconciled as a refresh reconciles them: the same answer as a reconciliation of the
/// whole period. Without an index of the current inputs here, the period is recomputed
/// once, which makes one. None when the period has no list (nobody is listed).
pub(super) async fn arrears_standings(
    store: &dyn Store,
    period_id: i64,
    stored: &[crate::store::Arrear],
) -> ServiceResult<Option<HashMap<u64, super::arrears::Standing>>> {
    let mut ids: Vec<String> = stored.iter().map(|a| a.population_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids = &ids;
    through_link_index(store, period_id, |components| async move {
        let options = components.options();
        let Some(rows) = store.person_components(period_id, ids, &components).await? else {
            return Ok(None);
        };
        let stored = stored.to_vec();
        blocking(move || {
            let (list, payouts, _) = inputs(&rows, None)?;
            let recon = reconcile(&list, &payouts, &options);
            Ok(Some(super::arrears::standings(&list, &recon, &stored)))
        })
        .await?
    })
    .await
}

/// The links of the callbacks among `rows` (whole components).
fn links_of(rows: &ComponentRows, options: &Options) -> ServiceResult<HashMap<i64, CallbackLink>> {
    use crate::domain::records::{IdRef, PayoutRows};
    use crate::recon::{Flag, PayoutLink};
    let (list, payouts, _) = inputs(rows, None)?;
    let recon = reconcile(&list, &payouts, options);
    // The callbacks are the last source, by id (`inputs`).
    let mut ids: Vec<i64> = rows.callbacks.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let first = PayoutRows::len(&payouts).saturating_sub(ids.len());
    let mut out = HashMap::with_capacity(ids.len());
    for (k, id) in ids.into_iter().enumerate() {
        let i = first + k;
        let link = match recon.payout_links.get(i).copied() {
            Some(PayoutLink::Beneficiary(b)) => {
                let person = recon.beneficiaries.get(b as usize);
                let by_account = !matches!(PayoutRows::id(&payouts, i), IdRef::Valid(_));
                CallbackLink {
                    link: if by_account {
                        LinkState::LinkedByAccount
                    } else {
                        LinkState::Linked
                    },
                    outcome: person.map(|p| p.outcome),
                    flags: PAYOUT_FLAGS
                        .into_iter()
                        .filter(|f| person.is_some_and(|p| p.flags.contains(*f)))
                        .chain(by_account.then_some(Flag::LinkedByAccount))
                        .collect(),
                }
            }
            Some(PayoutLink::WrongBank { .. }) => CallbackLink {
                link: LinkState::Unmatched,
                outcome: None,
                flags: vec![Flag::WrongBank],
            },
            // A callback is never superseded (one row per bank and reference, and the
            // callbacks come after the files they restate), so this is only `Unmatched`.
            _ => CallbackLink {
                link: LinkState::Unmatched,
                outcome: None,
                flags: Vec::new(),
            },
        };
        out.insert(id, link);
    }
    Ok(out)
}
