//! Service targets, through the HTTP API in-process (the axum router driven with
//! `oneshot`, so the figures include routing, auth, multipart, import, storage):
//!   upload + store a 100,000-row list ≤ 5 s; reconcile the province case (26,794 rows)
//!   ≤ 1 s; report.xlsx for 100,000 beneficiaries ≤ 3 s.
//! On SQLite always, on PostgreSQL when TEST_DATABASE_URL is set (a fresh database is
//! created). Each figure is shown next to a baseline measured in the same run.
//!   cargo bench --bench service

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use doisoat::app::AppState;
use doisoat::config::Config;
use doisoat::domain::access::Role;
use doisoat::import::{ImportOptions, import_beneficiaries};
use doisoat::server::router as app;
use doisoat::store::{NewToken, Store};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[path = "../tests/it/support/pg.rs"]
mod pg;
#[path = "support/province.rs"]
mod province;

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    panic!("{what}: {e}")
}

struct Bench {
    router: axum::Router,
    store: Arc<dyn Store>,
    token: String,
}

impl Bench {
    async fn new(store: Arc<dyn Store>) -> Bench {
        let token = doisoat::tokens::generate();
        let new = NewToken {
            name: "bench".into(),
            role: Role::Admin,
            bank_code: None,
            unit: "VN".into(),
            token_hash: doisoat::tokens::hash(&token),
            webhook_secret: None,
            display_name: None,
        };
        store
            .create_token(new, "bench")
            .await
            .unwrap_or_else(|e| fail("token", e));
        let config = Config::from_map(&HashMap::new()).unwrap_or_else(|e| fail("config", e));
        let router = app(AppState::new(store.clone(), config));
        Bench {
            router,
            store,
            token,
        }
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| fail("request", e));
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .unwrap_or_default();
        (status, body)
    }

    fn req(&self, method: &str, uri: &str) -> axum::http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
    }

    async fn json(&self, method: &str, uri: &str, body: &str) -> serde_json::Value {
        let req = self
            .req(method, uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap_or_else(|e| fail("build", e));
        let (status, bytes) = self.call(req).await;
        assert!(
            status.is_success(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        serde_json::from_slice(&bytes).unwrap_or_default()
    }

    async fn period(&self, code: &str) -> i64 {
        let body = format!(r#"{{"code":"{code}"}}"#);
        self.json("POST", "/api/v1/periods", &body).await["id"]
            .as_i64()
            .unwrap_or(0)
    }

    async fn upload(&self, uri: &str, path: &Path, bank: Option<&str>) -> StatusCode {
        let bytes = std::fs::read(path).unwrap_or_else(|e| fail("read", e));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let boundary = "doisoatbenchboundary";
        let mut body = Vec::new();
        if let Some(b) = bank {
            body.extend(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"bank\"\r\n\r\n{b}\r\n"
                )
                .as_bytes(),
            );
        }
        // The bench's periods are numbered (2030-01, 2030-02…) so every run stores the same
        // bytes afresh; the list's title names Quý 3/2024, so the upload confirms it as an
        // accountant would (payout files ignore the field).
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"confirm\"\r\n\r\ntrue\r\n"
            )
            .as_bytes(),
        );
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend(bytes);
        body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .req("POST", uri)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap_or_else(|e| fail("build", e));
        let (status, bytes) = self.call(req).await;
        assert!(
            status.is_success(),
            "{uri}: {status} {}",
            String::from_utf8_lossy(&bytes)
        );
        status
    }
}

fn province(scale: u32) -> PathBuf {
    province::files(
        scale,
        &std::env::temp_dir().join(format!("doisoat-bench-province-{scale}")),
    )
}

async fn upload_all(b: &Bench, period: i64, dir: &Path) {
    use province::*;
    b.upload(
        &format!("/api/v1/periods/{period}/beneficiary-lists"),
        &dir.join(LIST_FILE),
        None,
    )
    .await;
    b.upload(
        &format!("/api/v1/periods/{period}/payout-files"),
        &dir.join(AGRIBANK_FILE),
        Some("Agribank"),
    )
    .await;
    b.upload(
        &format!("/api/v1/periods/{period}/payout-files"),
        &dir.join(VIETINBANK_FILE),
        Some("VietinBank"),
    )
    .await;
    b.upload(
        &format!("/api/v1/periods/{period}/payout-files"),
        &dir.join(OTHER_BANKS_FILE),
        None,
    )
    .await;
}

fn row(what: &str, took: Duration, target: Duration, baseline_name: &str, baseline: Duration) {
    println!(
        "  {what:<44} {:>8.0} ms  (target ≤ {:>5.0} ms: {})   baseline {baseline_name}: {:>7.0} ms → {:.2}×",
        took.as_secs_f64() * 1e3,
        target.as_secs_f64() * 1e3,
        if took <= target { "met" } else { "MISSED" },
        baseline.as_secs_f64() * 1e3,
        took.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
}

async fn run(backend: &str, store: Arc<dyn Store>, p1: &Path, p4: &Path) {
    println!("{backend}:");
    let b = Bench::new(store).await;
    let list4 = p4.join(province::LIST_FILE);

    // 1. Upload + store a 107,236-row list; each run into a new period (same bytes into the
    // same period would be the idempotent fast path).
    let mut upload = Vec::new();
    let mut import_only = Vec::new();
    for i in 0..RUNS {
        let bytes = std::fs::read(&list4).unwrap_or_else(|e| fail("read", e));
        let t = Instant::now();
        let imported = import_beneficiaries("list.xlsx", bytes, &ImportOptions::new(2026));
        import_only.push(t.elapsed());
        assert!(imported.is_ok());
        let period = b.period(&format!("2030-{:02}", i + 1)).await;
        let t = Instant::now();
        let status = b
            .upload(
                &format!("/api/v1/periods/{period}/beneficiary-lists"),
                &list4,
                None,
            )
            .await;
        upload.push(t.elapsed());
        assert_eq!(status, StatusCode::CREATED);
    }
    row(
        "upload+store 107,236-row list",
        median(upload),
        Duration::from_secs(5),
        "import only",
        median(import_only),
    );

    // 2. Reconcile the province case (26,794 beneficiaries, 4 files) through the API.
    let period = b.period("2024-Q3").await;
    upload_all(&b, period, p1).await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let created = b
            .json(
                "POST",
                &format!("/api/v1/periods/{period}/reconciliations"),
                "",
            )
            .await;
        runs.push(t.elapsed());
        assert_eq!(created["report"]["beneficiaries"], 26_794);
    }
    let dir = p1.to_path_buf();
    let t = Instant::now();
    let job = doisoat::service::job::JobInput {
        beneficiaries: dir.join(province::LIST_FILE),
        beneficiaries_sheet: None,
        payouts: vec![
            doisoat::service::job::PayoutSource::parse(&format!(
                "Agribank={}",
                dir.join(province::AGRIBANK_FILE).display()
            ))
            .unwrap_or_else(|e| fail("arg", e)),
            doisoat::service::job::PayoutSource::parse(&format!(
                "VietinBank={}",
                dir.join(province::VIETINBANK_FILE).display()
            ))
            .unwrap_or_else(|e| fail("arg", e)),
            doisoat::service::job::PayoutSource::parse(
                &dir.join(province::OTHER_BANKS_FILE).display().to_string(),
            )
            .unwrap_or_else(|e| fail("arg", e)),
        ],
        period: None,
        tolerance: rust_decimal::Decimal::ZERO,
        targets: Default::default(),
        as_of_year: 2026,
    };
    let job_out =
        doisoat::service::job::run(&job, &|_: &str| {}).unwrap_or_else(|e| fail("job", e));
    let file_job = t.elapsed();
    drop(job_out);
    let run_time = median(runs);
    row(
        "reconcile province run (API, stored)",
        run_time,
        Duration::from_secs(1),
        "CLI job from files",
        file_job,
    );

    // Live figures are computed on read: a run's work, without storing it.
    let mut live = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let report = b
            .json("GET", &format!("/api/v1/periods/{period}/coverage"), "")
            .await;
        live.push(t.elapsed());
        assert_eq!(report["beneficiaries"], 26_794);
    }
    row(
        "live coverage on read (province)",
        median(live),
        Duration::from_secs(1),
        "stored run",
        run_time,
    );

    // 3. report.xlsx for 107,236 beneficiaries.
    let period = b.period("2031-Q1").await;
    upload_all(&b, period, p4).await;
    let created = b
        .json(
            "POST",
            &format!("/api/v1/periods/{period}/reconciliations"),
            "",
        )
        .await;
    let run_id = created["id"].as_i64().unwrap_or(0);
    let mut xlsx = Vec::new();
    for _ in 0..RUNS {
        let req = b
            .req(
                "GET",
                &format!("/api/v1/reconciliations/{run_id}/report.xlsx"),
            )
            .body(Body::empty())
            .unwrap_or_else(|e| fail("build", e));
        let t = Instant::now();
        let (status, bytes) = b.call(req).await;
        xlsx.push(t.elapsed());
        assert!(status.is_success() && bytes.len() > 1000);
    }
    let run = doisoat::service::load_run(b.store.as_ref(), run_id)
        .await
        .unwrap_or_else(|e| fail("load", e));
    let exceptions: Vec<doisoat::recon::ExceptionRow> = b
        .store
        .exception_rows(
            run_id,
            &Default::default(),
            doisoat::store::PageStart::After(-1),
            i64::MAX,
        )
        .await
        .unwrap_or_else(|e| fail("exceptions", e))
        .iter()
        .map(|(_, j)| serde_json::from_str(j).unwrap_or_else(|e| fail("exception", e)))
        .collect();
    let t = Instant::now();
    let direct = doisoat::report::xlsx::write_report(
        &run.report,
        &exceptions,
        &run.meta,
        doisoat::domain::Lang::Vi,
    );
    let in_process = t.elapsed();
    assert!(direct.is_ok());
    row(
        "report.xlsx, 107,236 beneficiaries (API)",
        median(xlsx),
        Duration::from_secs(3),
        "same, in-process",
        in_process,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail("runtime", e));
    let (p1, p4) = (province(1), province(4));
    rt.block_on(async {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| fail("tmp", e));
        let url = format!("sqlite:{}", tmp.path().join("bench.db").display());
        let store = doisoat::store::connect(&url).await.unwrap_or_else(|e| fail("sqlite", e));
        run("SQLite", store, &p1, &p4).await;
        if let Ok(base) = std::env::var("TEST_DATABASE_URL") {
            let db = pg::PgTestDb::create(&base, "doisoat_bench").await;
            let store = doisoat::store::connect(&db.url).await.unwrap_or_else(|e| fail("pg", e));
            run("PostgreSQL", store, &p1, &p4).await;
            db.drop_db().await;
        } else {
            println!("PostgreSQL: skipped (set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)");
        }
    });
}
