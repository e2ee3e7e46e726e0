//! Load benchmark for bank callbacks through a real `doisoat serve` process (release build):
//! 64 concurrent keep-alive clients each post single signed callbacks with distinct refs,
//! 30,000 in all (or 15 s, whichever is first). Target (issue 13): ≥ 5,000 callbacks/s with
//! p99 ≤ 25 ms.
//! Baseline in the same run: the same load against GET /healthz (the HTTP floor, no storage).
//! On SQLite always, on PostgreSQL when TEST_DATABASE_URL is set (a fresh database).
//!   cargo build --release && TEST_DATABASE_URL=postgres://… cargo bench --bench callbacks
//! DOISOAT_BENCH_CLIENTS=16,64,256 adds rows at other concurrencies (to see where time goes).
//! On PostgreSQL, a second `doisoat serve` on the same database then takes half the clients:
//! the two-instance figure (the same 64 clients, everything acknowledged stored once).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/it/support/loadgen.rs"]
mod loadgen;
#[path = "../tests/it/support/pg.rs"]
mod pg;

use loadgen::{Bank, Client, Server};

const CLIENTS: usize = 64;
const TOTAL: usize = 30_000;
const TIME_CAP: Duration = Duration::from_secs(15);
const WARMUP: usize = 2_000;
const TARGET_RATE: f64 = 5_000.0;
const TARGET_P99: Duration = Duration::from_millis(25);

/// The server binary cargo built for this bench (the bench profile is the release one).
fn server_binary() -> PathBuf {
    let built = PathBuf::from(env!("CARGO_BIN_EXE_doisoat"));
    if built.is_file() {
        return built;
    }
    let release = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/doisoat");
    if release.is_file() {
        return release;
    }
    eprintln!(
        "no doisoat binary at {} or {}: run `cargo build --release` first",
        built.display(),
        release.display()
    );
    std::process::exit(2);
}

#[derive(Clone, Copy, PartialEq)]
enum Work {
    Healthz,
    Callback,
}

struct Row {
    backend: &'static str,
    work: Work,
    /// Servers the clients were spread over.
    instances: usize,
    clients: usize,
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Row {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `clients` keep-alive connections share `total` requests (at most `cap` of wall time),
/// client k talking to `ports[k % ports.len()]`.
async fn load(
    ports: &[u16],
    bank: &Bank,
    work: Work,
    clients: usize,
    total: usize,
    cap: Duration,
    prefix: &str,
) -> (usize, usize, Option<String>, Duration, Vec<Duration>) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|k| {
            let port = ports[k % ports.len()];
            let next = next.clone();
            let bank = bank.clone();
            let prefix = prefix.to_owned();
            tokio::spawn(async move {
                let mut http = Client::new(port);
                let mut lat = Vec::with_capacity(total / clients + 1);
                let (mut errors, mut first_error) = (0usize, None);
                for _ in 0..total {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total || start.elapsed() > cap {
                        break;
                    }
                    let result = match work {
                        Work::Healthz => {
                            let t = Instant::now();
                            http.request("GET", "/healthz", &[], b"")
                                .await
                                .map(|r| (r.status, r.body, t.elapsed()))
                        }
                        Work::Callback => {
                            let tref = format!("{prefix}{i:07}");
                            let body = serde_json::to_vec(&loadgen::item(&tref, i as u64))
                                .unwrap_or_else(|e| panic!("serialise: {e}"));
                            loadgen::post_callback(&mut http, &bank, &body).await
                        }
                    };
                    match result {
                        Ok((200, _, t)) => lat.push(t),
                        Ok((status, body, _)) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{status} {}", String::from_utf8_lossy(&body))
                            });
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                (lat, errors, first_error)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        let (lat, e, fe) = t.await.unwrap_or_else(|e| panic!("client task: {e}"));
        all.extend(lat);
        errors += e;
        if first_error.is_none() {
            first_error = fe;
        }
    }
    let elapsed = start.elapsed();
    all.sort_unstable();
    (all.len(), errors, first_error, elapsed, all)
}

async fn measure(
    backend: &'static str,
    ports: &[u16],
    bank: &Bank,
    work: Work,
    clients: usize,
    prefix: &str,
) -> Row {
    let (ok, errors, first_error, elapsed, lat) =
        load(ports, bank, work, clients, TOTAL, TIME_CAP, prefix).await;
    let (p50, p99, max) = loadgen::percentiles(&lat);
    Row {
        backend,
        work,
        instances: ports.len(),
        clients,
        ok,
        errors,
        first_error,
        elapsed,
        p50,
        p99,
        max,
    }
}

async fn backend(backend: &'static str, bin: &Path, url: &str, log: &Path) -> Vec<Row> {
    let bank = loadgen::create_bank_token(bin, url, "bench-bank");
    loadgen::create_period(url, "2024-09").await;
    let server = Server::start(bin, url, log, Duration::from_secs(30)).await;
    let port = server.port;
    // Warm-up: connections, caches, the database's first pages.
    for (work, prefix) in [(Work::Healthz, ""), (Work::Callback, "WARM")] {
        let (_, errors, first, _, _) =
            load(&[port], &bank, work, CLIENTS, WARMUP, TIME_CAP, prefix).await;
        if errors > 0 {
            panic!("{backend} warm-up: {errors} errors, first: {first:?}");
        }
    }
    let mut rows = vec![
        measure(backend, &[port], &bank, Work::Healthz, CLIENTS, "").await,
        measure(backend, &[port], &bank, Work::Callback, CLIENTS, "BENCH").await,
    ];
    let extra: Vec<usize> = std::env::var("DOISOAT_BENCH_CLIENTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0 && n <= 1024)
        .collect();
    for n in extra {
        rows.push(
            measure(
                backend,
                &[port],
                &bank,
                Work::Callback,
                n,
                &format!("C{n}_"),
            )
            .await,
        );
    }
    // Scale-out: a second instance on the same PostgreSQL, half the clients each.
    let mut warm = 0;
    if backend == "postgres" {
        let second = Server::start(
            bin,
            url,
            &log.with_extension("b.log"),
            Duration::from_secs(30),
        )
        .await;
        let (_, errors, first, _, _) = load(
            &[second.port],
            &bank,
            Work::Callback,
            CLIENTS,
            WARMUP,
            TIME_CAP,
            "WARMB",
        )
        .await;
        if errors > 0 {
            panic!("{backend} second instance warm-up: {errors} errors, first: {first:?}");
        }
        warm = WARMUP;
        let ports = [port, second.port];
        rows.push(measure(backend, &ports, &bank, Work::Callback, CLIENTS, "TWO").await);
    }
    // Cross-check: everything acknowledged is stored, once.
    let store = doisoat::store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("open {backend} store: {e}"));
    let stored = store
        .callback_payouts("TCXH", "2024-09")
        .await
        .unwrap_or_else(|e| panic!("callback_payouts: {e}"))
        .len();
    let acked: usize = WARMUP
        + warm
        + rows
            .iter()
            .filter(|r| r.work == Work::Callback)
            .map(|r| r.ok)
            .sum::<usize>();
    if stored != acked {
        eprintln!("{backend}: {stored} payouts stored but {acked} acknowledged");
    }
    drop(server);
    let log_text = std::fs::read_to_string(log).unwrap_or_default();
    let log_errors = log_text.lines().filter(|l| l.contains("ERROR")).count();
    if log_errors > 0 {
        eprintln!("{backend}: {log_errors} ERROR lines in the server log");
    }
    rows
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn print(rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:<22} {:>7} {:>7} {:>6} {:>8} {:>10} {:>8} {:>8} {:>8}  target (≥ {TARGET_RATE}/s, p99 ≤ {} ms)",
        "backend",
        "workload",
        "clients",
        "ok",
        "errors",
        "secs",
        "req/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        TARGET_P99.as_millis()
    );
    for r in rows {
        let (name, verdict) = match r.work {
            Work::Healthz => ("GET /healthz (floor)", "baseline".to_owned()),
            Work::Callback => {
                let met = r.rate() >= TARGET_RATE && r.p99 <= TARGET_P99 && r.errors == 0;
                (
                    if r.instances > 1 {
                        "POST callback, 2 servers"
                    } else {
                        "POST callback (single)"
                    },
                    if met { "met" } else { "MISSED" }.to_owned(),
                )
            }
        };
        println!(
            "{:<9} {:<22} {:>7} {:>7} {:>6} {:>8.2} {:>10.0} {:>8} {:>8} {:>8}  {verdict}",
            r.backend,
            name,
            r.clients,
            r.ok,
            r.errors,
            r.elapsed.as_secs_f64(),
            r.rate(),
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
        );
        if let Some(e) = &r.first_error {
            println!("          first error: {e}");
        }
    }
    println!();
}

fn main() {
    let bin = server_binary();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let rows = runtime.block_on(async {
        println!(
            "doisoat callbacks load: server {}, {} CPUs shared by server and clients",
            bin.display(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let url = format!("sqlite:{}", dir.path().join("bench.db").display());
        let mut rows = backend("sqlite", &bin, &url, &dir.path().join("sqlite.log")).await;
        if let Ok(admin) = std::env::var("TEST_DATABASE_URL") {
            let db = pg::PgTestDb::create(&admin, "doisoat_cbbench").await;
            let url = db.url.clone();
            let log = dir.path().join("postgres.log");
            let bin2 = bin.clone();
            let run =
                tokio::spawn(async move { backend("postgres", &bin2, &url, &log).await }).await;
            db.drop_db().await;
            match run {
                Ok(r) => rows.extend(r),
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            }
        } else {
            println!("TEST_DATABASE_URL not set: PostgreSQL skipped");
        }
        rows
    });
    print(&rows);
}
