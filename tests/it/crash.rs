//! Crash test for bank callbacks: `doisoat serve` is SIGKILLed while 16 clients post signed
//! callbacks, then restarted on the same database. Every acknowledged (200) payout must be
//! stored exactly once, nothing duplicated, replays must get the answers given before the
//! crash, and the audit chain must still verify. SQLite always; PostgreSQL when
//! TEST_DATABASE_URL is set (a fresh database is created and dropped).
//! A slow test (`support::gate::slow`): it runs under CI (`CI` set) or when asked,
//!   DOISOAT_SLOW_TESTS=1 cargo test --test it crash:: -- --nocapture

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{gate, loadgen, pg};

use loadgen::{Bank, Client, Server, post_callback};

const CLIENTS: usize = 16;
/// Every BATCH_EVERY-th request of a client is a batch of BATCH_LEN items.
const BATCH_EVERY: usize = 4;
const BATCH_LEN: usize = 10;
/// Kill once this many items were acknowledged, or after KILL_AFTER, whichever is first.
const KILL_AT_ACKED: usize = 4_000;
const KILL_AFTER: Duration = Duration::from_millis(1_500);
/// Bounds on each client: requests, and time.
const MAX_REQUESTS_PER_CLIENT: usize = 20_000;
const CLIENT_TIME_LIMIT: Duration = Duration::from_secs(8);
const READY_WITHIN: Duration = Duration::from_secs(15);

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_doisoat"))
}

/// One acknowledged request: the exact body, the items' refs and contents, the answer.
#[derive(Clone)]
struct Acked {
    body: Vec<u8>,
    items: Vec<(String, serde_json::Value)>,
    answer: serde_json::Value,
}

#[derive(Default)]
struct Shared {
    acked: Mutex<Vec<Acked>>,
    acked_items: AtomicUsize,
    failures: Mutex<Vec<String>>,
    /// Requests that failed after the kill on an open connection (in flight when it died).
    cut_in_flight: AtomicUsize,
    /// Requests refused after the kill (no server listening).
    refused: AtomicUsize,
    killed: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn client(id: usize, port: u16, bank: Bank, shared: Arc<Shared>) {
    let mut http = Client::new(port);
    let start = Instant::now();
    for k in 0..MAX_REQUESTS_PER_CLIENT {
        if start.elapsed() > CLIENT_TIME_LIMIT {
            lock(&shared.failures).push(format!("client {id}: time limit before the kill"));
            return;
        }
        let batch = k % BATCH_EVERY == BATCH_EVERY - 1;
        let n = if batch { BATCH_LEN } else { 1 };
        let items: Vec<(String, serde_json::Value)> = (0..n)
            .map(|j| {
                let tref = format!("CR{id:02}K{k:06}J{j:02}");
                let seq = (id * MAX_REQUESTS_PER_CLIENT * BATCH_LEN + k * BATCH_LEN + j) as u64;
                let item = loadgen::item(&tref, seq);
                (tref, item)
            })
            .collect();
        let body = if batch {
            serde_json::to_vec(&items.iter().map(|(_, v)| v).collect::<Vec<_>>())
        } else {
            serde_json::to_vec(&items[0].1)
        }
        .expect("serialise");
        match post_callback(&mut http, &bank, &body).await {
            Ok((200, answer, _)) => {
                let answer: serde_json::Value =
                    serde_json::from_slice(&answer).expect("the 200 answer is JSON");
                shared.acked_items.fetch_add(n, Ordering::Relaxed);
                lock(&shared.acked).push(Acked {
                    body,
                    items,
                    answer,
                });
            }
            Ok((status, answer, _)) => {
                lock(&shared.failures).push(format!(
                    "client {id} request {k}: {status} {}",
                    String::from_utf8_lossy(&answer)
                ));
                return;
            }
            Err(e) if shared.killed.load(Ordering::SeqCst) => {
                if e.kind() == io::ErrorKind::ConnectionRefused {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                } else {
                    shared.cut_in_flight.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
            Err(e) => {
                lock(&shared.failures).push(format!("client {id} request {k}: {e}"));
                return;
            }
        }
    }
}

async fn crash_and_recover(database_url: String, dir: PathBuf) {
    let t0 = Instant::now();
    let bin = bin();
    let bank = loadgen::create_bank_token(&bin, &database_url, "crash-bank");
    loadgen::create_period(&database_url, "2024-09").await;
    let log = dir.join("serve.log");
    let mut server = Server::start(&bin, &database_url, &log, READY_WITHIN).await;

    let shared = Arc::new(Shared::default());
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|id| tokio::spawn(client(id, server.port, bank.clone(), shared.clone())))
        .collect();

    // Kill while the clients are posting: after KILL_AT_ACKED items or KILL_AFTER.
    let load_start = Instant::now();
    for _ in 0..(KILL_AFTER.as_millis() / 5) {
        if shared.acked_items.load(Ordering::Relaxed) >= KILL_AT_ACKED
            || load_start.elapsed() >= KILL_AFTER
            || !lock(&shared.failures).is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shared.killed.store(true, Ordering::SeqCst);
    server.kill();
    let killed_after = load_start.elapsed();

    for t in tasks {
        tokio::time::timeout(Duration::from_secs(15), t)
            .await
            .expect("a client did not stop after the kill")
            .expect("client task");
    }
    let failures = lock(&shared.failures).clone();
    assert!(
        failures.is_empty(),
        "requests failed before the kill:\n{}",
        failures.join("\n")
    );
    let acked = lock(&shared.acked).clone();
    let cut = shared.cut_in_flight.load(Ordering::Relaxed);
    let refused = shared.refused.load(Ordering::Relaxed);
    assert!(
        cut > 0,
        "no request was in flight at the kill (refused afterwards: {refused})"
    );
    let acked_refs: HashMap<&str, &serde_json::Value> = acked
        .iter()
        .flat_map(|a| a.items.iter().map(|(r, v)| (r.as_str(), v)))
        .collect();
    let acked_items: usize = acked.iter().map(|a| a.items.len()).sum();
    assert_eq!(acked_refs.len(), acked_items, "refs are distinct by design");
    assert!(acked_items > 0, "nothing was acknowledged before the kill");

    // Restart on the same database.
    let server = Server::start(&bin, &database_url, &log, READY_WITHIN).await;
    let store = doisoat::store::connect(&database_url)
        .await
        .expect("open the store after the crash");

    // Nothing duplicated: one row per ref, and every stored ref has exactly one state.
    let stored = store
        .callback_payouts("TCXH", "2024-09")
        .await
        .expect("callback_payouts");
    let mut stored_ids: HashMap<&str, i64> = HashMap::new();
    for s in &stored {
        assert_eq!(s.bank_code, "VBA");
        let before = stored_ids.insert(s.payout.transaction_ref.as_str(), s.id);
        assert!(
            before.is_none(),
            "{} stored twice",
            s.payout.transaction_ref
        );
    }
    assert_eq!(stored_ids.len(), stored.len());
    for s in &stored {
        let history = store
            .callback_history("VBA", &s.payout.transaction_ref)
            .await
            .expect("callback_history");
        assert_eq!(
            history.len(),
            1,
            "{} has {} versions",
            s.payout.transaction_ref,
            history.len()
        );
        assert_eq!(history[0], s.payout);
    }

    // Every acknowledged item is there, once, with the content posted and the id answered.
    for a in &acked {
        let answers: Vec<&serde_json::Value> = match a.answer.get("results") {
            Some(serde_json::Value::Array(v)) => v.iter().collect(),
            _ => vec![&a.answer],
        };
        assert_eq!(answers.len(), a.items.len());
        for ((tref, item), answer) in a.items.iter().zip(answers) {
            let Some(&id) = stored_ids.get(tref.as_str()) else {
                panic!("acknowledged {tref} is missing after the crash");
            };
            assert_eq!(answer["transaction_ref"], tref.as_str());
            assert_eq!(answer["payout_id"], id, "{tref}");
            assert_eq!(answer["version"], 1, "{tref}");
            let s = stored
                .iter()
                .find(|s| s.id == id)
                .unwrap_or_else(|| panic!("{tref}"));
            assert_eq!(s.payout.account_number, item["account_number"], "{tref}");
            assert_eq!(s.payout.amount.to_string(), item["amount"], "{tref}");
            assert_eq!(s.payout.status.as_str(), item["status"], "{tref}");
        }
    }
    let acked_set: HashSet<&str> = acked_refs.keys().copied().collect();
    let unacked_stored = stored_ids
        .keys()
        .filter(|r| !acked_set.contains(*r))
        .count();

    // Replays after the restart get the answers given before the crash, byte for byte in JSON.
    let mut http = Client::new(server.port);
    let singles = acked.iter().filter(|a| !a.answer["results"].is_array());
    let batches = acked.iter().filter(|a| a.answer["results"].is_array());
    let replays: Vec<&Acked> = singles
        .clone()
        .take(4)
        .chain(singles.clone().rev().take(4))
        .chain(batches.clone().take(2))
        .chain(batches.clone().rev().take(2))
        .collect();
    for a in &replays {
        let (status, body, _) = post_callback(&mut http, &bank, &a.body)
            .await
            .expect("replay after restart");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let answer: serde_json::Value = serde_json::from_slice(&body).expect("replay answer");
        assert_eq!(
            answer, a.answer,
            "replay answer differs from the one before the crash"
        );
    }
    // The replays stored nothing new.
    let after = store
        .callback_payouts("TCXH", "2024-09")
        .await
        .expect("callback_payouts");
    assert_eq!(after.len(), stored.len());

    let verify = loadgen::run_cli(&bin, &database_url, &["audit", "verify"]);
    drop(server);

    eprintln!(
        "{}: {} requests / {acked_items} items acknowledged in {killed_after:?}, then SIGKILL \
         ({cut} requests cut in flight, {refused} refused); after restart {} stored \
         ({unacked_stored} committed but unacknowledged), {} replays identical; {}; total {:?}",
        if database_url.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        },
        acked.len(),
        stored.len(),
        replays.len(),
        verify.trim(),
        t0.elapsed()
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("doisoat.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_during_callbacks_loses_no_acknowledged_payout() {
    if !gate::slow("crash::sqlite_kill_during_callbacks_loses_no_acknowledged_payout") {
        return;
    }
    let dir = tempdir();
    crash_and_recover(sqlite_url(dir.path()), dir.path().to_owned()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_kill_during_callbacks_loses_no_acknowledged_payout() {
    if !gate::slow("crash::postgres_kill_during_callbacks_loses_no_acknowledged_payout") {
        return;
    }
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: skipping the PostgreSQL crash test");
        return;
    };
    let db = pg::PgTestDb::create(&admin, "doisoat_crash").await;
    let dir = tempdir();
    // In its own task so a failure still drops the database (the server guard is dropped
    // while the task unwinds).
    let run = tokio::spawn(crash_and_recover(db.url.clone(), dir.path().to_owned())).await;
    db.drop_db().await;
    if let Err(e) = run {
        std::panic::resume_unwind(e.into_panic());
    }
}
