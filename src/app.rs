//! What a request can reach: the application state shared by the API and the pages (the
//! composition root; `server` builds the router and serves it).

pub mod download;
pub mod query;
pub mod upload_form;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::Config;
use crate::service::ImportGate;
use crate::service::callbacks::CallbackQueue;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The group-commit writer for bank callbacks.
    pub callbacks: CallbackQueue,
    /// Upload imports: their budget and how many run at once.
    pub imports: ImportGate,
    /// (programme, period code) pairs known to exist (periods are never deleted), so a
    /// bank's stream of callbacks costs no period lookup each.
    pub periods_seen: PeriodsSeen,
    /// Large runs kept for searching their exceptions by name.
    pub search: Arc<crate::service::search::SearchCache>,
    /// What banks sent by callback per period, recounted when it changed.
    pub callback_tallies: Arc<crate::service::callbacks::CallbackTallies>,
}

/// A set of (programme, period code) pairs seen to exist; only ever grows, so it is never
/// stale.
/// Keyed programme → codes, so the lookup each callback item makes allocates nothing.
#[derive(Clone, Default)]
pub struct PeriodsSeen(Arc<std::sync::RwLock<HashMap<String, HashSet<String>>>>);

impl PeriodsSeen {
    pub fn contains(&self, programme: &str, code: &str) -> bool {
        self.0
            .read()
            .is_ok_and(|s| s.get(programme).is_some_and(|codes| codes.contains(code)))
    }

    pub fn insert(&self, programme: &str, code: &str) {
        if let Ok(mut s) = self.0.write() {
            // Bounded by the number of periods, which is small; guard anyway.
            if s.values().map(HashSet::len).sum::<usize>() < 100_000 {
                s.entry(programme.to_owned())
                    .or_default()
                    .insert(code.to_owned());
            }
        }
    }
}

impl AppState {
    /// Starts the callback writer: call inside a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        AppState {
            callbacks: CallbackQueue::start(store.clone()),
            imports: ImportGate::new(
                config.max_uncompressed_bytes,
                config.max_cells,
                config.max_concurrent_imports,
            ),
            periods_seen: PeriodsSeen::default(),
            search: Arc::default(),
            callback_tallies: Arc::default(),
            store,
            config: Arc::new(config),
        }
    }
}

/// Take bank callbacks into the live figures every `every`, in the background; reads then
/// answer from the kept figures without waiting (and say when callbacks are still on their
/// way in). Instances on one database may all run it: each refresh is one transaction.
/// `every` zero: none (reads take callbacks in themselves, first).
pub fn spawn_live_refresher(store: Arc<dyn crate::store::Store>, every: std::time::Duration) {
    if every.is_zero() {
        return;
    }
    crate::service::live::refreshed_in_background(&store);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = crate::service::live::refresh_pending(store.as_ref()).await {
                tracing::warn!(error = %e, "live figures: background refresh");
            }
        }
    });
}
