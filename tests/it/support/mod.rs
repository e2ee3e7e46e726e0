//! The HTTP test harness (zero2prod style): `spawn_app(backend)` builds the whole
//! application over a fresh database — a temporary SQLite file always, a new PostgreSQL
//! database when `TEST_DATABASE_URL` is set — with a token for every role, and drives it
//! with `oneshot` (no socket). `for_each_backend` runs one test body on every backend;
//! `for_each_store` does the same with a bare `Store` (`TestStore`) for the store's own tests.
//!
//! Tracing stays quiet unless `TEST_LOG` is set (its value is an `EnvFilter`, e.g. `debug`).

#![allow(dead_code)] // Not every test file uses every helper.

pub mod bombs;
pub mod gate;
pub mod loadgen;
pub mod pg;
pub mod sample;
use pg::PgTestDb;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use doisoat::app::AppState;
use doisoat::config::Config;
use doisoat::domain::access::Role;
use doisoat::domain::banks::BankId;
use doisoat::server::router as app;
use doisoat::store::{self, NewToken, Store};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const BOUNDARY: &str = "doisoat-test-boundary-7MA4YWxkTrZu0gW";

/// Which database a `TestApp` runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// What `Store::backend()` (and `/readyz`) calls it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The backends to run on: SQLite always, PostgreSQL when `TEST_DATABASE_URL` is set.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty()) {
        v.push(Backend::Postgres);
    } else {
        static NOTE: Once = Once::new();
        NOTE.call_once(|| eprintln!("TEST_DATABASE_URL not set: PostgreSQL runs skipped"));
    }
    v
}

fn init_tracing() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let filter = tracing_subscriber::EnvFilter::try_new(&filter)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("debug"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
    });
}

/// A response, read to the end.
#[derive(Debug, Clone)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON; panics with the body text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Panics (showing the body) unless the status is `want`; returns self for chaining.
    #[track_caller]
    pub fn expect_status(&self, want: StatusCode, what: &str) -> &Self {
        assert_eq!(self.status, want, "{what}: body {}", self.text());
        self
    }

    /// An RFC 9457 problem: the status, `application/problem+json`, `status` and `title`
    /// members, and (when given) the type `/problems/{slug}`. Returns the problem.
    #[track_caller]
    pub fn expect_problem(&self, want: StatusCode, slug: Option<&str>, what: &str) -> Value {
        self.expect_status(want, what);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{what}: content type"
        );
        let p = self.json();
        assert_eq!(p["status"], want.as_u16(), "{what}: status member in {p}");
        assert!(
            p["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}: title member in {p}"
        );
        if let Some(slug) = slug {
            assert_eq!(
                p["type"],
                format!("/problems/{slug}"),
                "{what}: type in {p}"
            );
        }
        p
    }
}

/// One part of a multipart/form-data body.
pub enum Part<'a> {
    File {
        name: &'a str,
        file_name: &'a str,
        bytes: &'a [u8],
    },
    Text {
        name: &'a str,
        value: &'a str,
    },
}

/// A multipart/form-data body with `BOUNDARY`, and its content type.
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match part {
            Part::File {
                name,
                file_name,
                bytes,
            } => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                         Content-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
            }
            Part::Text { name, value } => {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}")
                        .as_bytes(),
                );
            }
        }
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn read_file(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read a fixture")
}

/// The bearer token of every role; `bank` belongs to Agribank.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub accountant: String,
    pub approver: String,
    pub auditor: String,
    pub bank: String,
    /// The Agribank token's webhook secret (`whsec_…`).
    pub bank_secret: String,
}

impl Tokens {
    pub fn of(&self, role: Role) -> &str {
        match role {
            Role::Admin => &self.admin,
            Role::Accountant => &self.accountant,
            Role::Approver => &self.approver,
            Role::Auditor => &self.auditor,
            Role::Bank => &self.bank,
        }
    }
}

/// The application over its own fresh database.
pub struct TestApp {
    pub backend: Backend,
    pub router: axum::Router,
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub tokens: Tokens,
    /// Keeps the SQLite file alive as long as the app.
    _tmp: Option<tempfile::TempDir>,
    pg: Option<PgTestDb>,
}

/// A new empty database on `backend`, and its URL: a SQLite file `sqlite_file` (a path,
/// created by `connect`) in a new temporary folder, or a new database named `pg_prefix_…`
/// on the server `TEST_DATABASE_URL` names, to be dropped after the test (`run_then_drop`).
async fn fresh_database(
    backend: Backend,
    sqlite_file: &str,
    pg_prefix: &str,
) -> (Option<tempfile::TempDir>, Option<PgTestDb>, String) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite:{}", dir.path().join(sqlite_file).display());
            (Some(dir), None, url)
        }
        Backend::Postgres => {
            let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
            let db = PgTestDb::create(admin.trim(), pg_prefix).await;
            let url = db.url.clone();
            (None, Some(db), url)
        }
    }
}

/// Run one backend's test body in a task, so the PostgreSQL database is dropped even when
/// the test panics; then pass the panic on, saying which backend failed.
async fn run_then_drop<Fut>(backend: Backend, pg: Option<PgTestDb>, test: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let result = tokio::spawn(test).await;
    if let Some(db) = pg {
        db.drop_db().await;
    }
    if let Err(e) = result {
        eprintln!("failed on the {} backend", backend.name());
        match e.try_into_panic() {
            Ok(p) => std::panic::resume_unwind(p),
            Err(e) => panic!("{} backend: {e}", backend.name()),
        }
    }
}

/// An app with the default settings.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// An app with some settings (`DOISOAT_MAX_UPLOAD_MB`, …) as `Config::from_map` reads them.
pub async fn spawn_app_with(backend: Backend, settings: &[(&str, &str)]) -> TestApp {
    init_tracing();
    let (tmp, pg, url) = fresh_database(backend, "t.db", "doisoat_api").await;
    let mut vars: HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    vars.insert("DATABASE_URL".into(), url.clone());
    let config = Arc::new(Config::from_map(&vars).expect("config"));
    let store = store::connect(&url)
        .await
        .expect("connect to the test database");
    assert_eq!(store.backend(), backend.name());

    let agribank = BankId::resolve("Agribank")
        .expect("Agribank is a known bank")
        .code()
        .to_owned();
    let bank_token = make_bank_token(store.as_ref(), "test-bank", &agribank).await;
    let tokens = Tokens {
        admin: make_token(store.as_ref(), "test-admin", Role::Admin, None).await,
        accountant: make_token(store.as_ref(), "test-accountant", Role::Accountant, None).await,
        approver: make_token(store.as_ref(), "test-approver", Role::Approver, None).await,
        auditor: make_token(store.as_ref(), "test-auditor", Role::Auditor, None).await,
        bank: bank_token.0,
        bank_secret: bank_token.1,
    };
    let router = app(AppState::new(store.clone(), config.as_ref().clone()));
    TestApp {
        backend,
        router,
        store,
        config,
        tokens,
        _tmp: tmp,
        pg,
    }
}

/// A token made directly through the store, as `doisoat token create` would.
pub async fn make_token(store: &dyn Store, name: &str, role: Role, bank: Option<String>) -> String {
    make_token_in(store, name, role, bank, "VN").await
}

/// A token of a unit (`--unit`): it reads and writes within that unit's subtree.
pub async fn make_token_in(
    store: &dyn Store,
    name: &str,
    role: Role,
    bank: Option<String>,
    unit: &str,
) -> String {
    make_person_token(store, name, role, bank, unit, None).await
}

/// A token of a unit held by a person the pages (and signature blocks) name.
pub async fn make_person_token(
    store: &dyn Store,
    name: &str,
    role: Role,
    bank: Option<String>,
    unit: &str,
    display_name: Option<&str>,
) -> String {
    let token = doisoat::tokens::generate();
    let new = NewToken {
        name: name.to_owned(),
        role,
        bank_code: bank,
        unit: unit.to_owned(),
        token_hash: doisoat::tokens::hash(&token),
        webhook_secret: None,
        display_name: display_name.map(str::to_owned),
    };
    store
        .create_token(new, "test-harness")
        .await
        .expect("create a test token");
    token
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A bank token and its webhook secret, as `doisoat token create --role bank` makes them.
pub async fn make_bank_token(store: &dyn Store, name: &str, bank_code: &str) -> (String, String) {
    let token = doisoat::tokens::generate();
    let (_, secret) = doisoat::webhook::WebhookSecret::generate();
    let new = NewToken {
        name: name.to_owned(),
        role: Role::Bank,
        bank_code: Some(bank_code.to_owned()),
        unit: "VN".into(),
        token_hash: doisoat::tokens::hash(&token),
        webhook_secret: Some(secret.clone()),
        display_name: None,
    };
    store
        .create_token(new, "test-harness")
        .await
        .expect("create a test token");
    (token, secret)
}

/// Run `test` on a fresh app on every backend (see `backends`).
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for_each_backend_with(&[], test).await;
}

/// `for_each_backend` with settings for `Config::from_map`.
pub async fn for_each_backend_with<F, Fut>(settings: &[(&str, &str)], test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in backends() {
        eprintln!("on the {} backend", backend.name());
        let mut app = spawn_app_with(backend, settings).await;
        let pg = app.pg.take();
        run_then_drop(backend, pg, test(app)).await;
    }
}

/// A bare `Store` over its own fresh database: what `TestApp` runs on, without the HTTP layer.
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    /// The database's URL, to check it straight, past the store.
    pub url: String,
}

/// A fresh `TestStore`, and what to keep until its test is over: the SQLite file's folder
/// (not in `TestStore`: a test body that uses only some fields captures only those) and the
/// PostgreSQL database to drop.
struct SpawnedStore {
    store: TestStore,
    _tmp: Option<tempfile::TempDir>,
    pg: Option<PgTestDb>,
}

impl TestStore {
    /// A fresh store; on SQLite its file is in a folder that does not exist yet (`connect`
    /// makes it).
    async fn spawn(backend: Backend) -> SpawnedStore {
        init_tracing();
        let (tmp, pg, url) = fresh_database(backend, "data/doisoat.db", "doisoat_test").await;
        let store = store::connect(&url)
            .await
            .expect("connect to the test database");
        assert_eq!(store.backend(), backend.name());
        SpawnedStore {
            store: TestStore {
                backend,
                store,
                url,
            },
            _tmp: tmp,
            pg,
        }
    }
}

/// Run `test` on a fresh store on every backend (see `backends`).
pub async fn for_each_store<F, Fut>(test: F)
where
    F: Fn(TestStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in backends() {
        eprintln!("on the {} backend", backend.name());
        let SpawnedStore { store, _tmp, pg } = TestStore::spawn(backend).await;
        run_then_drop(backend, pg, test(store)).await;
    }
}

/// A fresh, empty database URL per backend (no store connected, no migration run), for
/// tests of the migrations themselves.
pub async fn for_each_empty_database<F, Fut>(test: F)
where
    F: Fn(Backend, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for backend in backends() {
        eprintln!("on the {} backend", backend.name());
        let (tmp, pg, url) = fresh_database(backend, "doisoat.db", "doisoat_migrate").await;
        run_then_drop(backend, pg, test(backend, url)).await;
        drop(tmp);
    }
}

/// What a refused request must leave as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateCounts {
    pub periods: usize,
    pub uploads: usize,
    pub runs: usize,
    pub audit_entries: usize,
}

impl TestApp {
    /// Send a request; `token` None sends no Authorization header.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let req = req
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .expect("build the request");
        self.dispatch(req).await
    }

    /// Run a request through the router and collect the whole response.
    pub async fn dispatch(&self, req: Request<Body>) -> TestResponse {
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("the router answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("read the response body")
            .to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// POST a signed bank callback; `skew` moves the signed timestamp off now (seconds).
    pub async fn post_callback(
        &self,
        token: &str,
        secret: &str,
        body: &str,
        skew: i64,
    ) -> TestResponse {
        let secret = doisoat::webhook::WebhookSecret::parse(secret).expect("secret");
        let ts = chrono::Utc::now().timestamp() + skew;
        let id = format!("msg_test_{}", rand_suffix());
        let signature = secret.sign(&id, ts, body.as_bytes());
        self.post_signed(token, body, &id, &ts.to_string(), &signature)
            .await
    }

    /// POST to the callback endpoint with the given signing headers, as they are.
    pub async fn post_signed(
        &self,
        token: &str,
        body: &str,
        id: &str,
        ts: &str,
        signature: &str,
    ) -> TestResponse {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/callbacks/payouts")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts)
            .header("webhook-signature", signature)
            .body(Body::from(body.to_owned()))
            .expect("callback request");
        self.dispatch(req).await
    }

    pub async fn get(&self, token: &str, path: &str) -> TestResponse {
        self.send(Method::GET, path, Some(token), None, Vec::new())
            .await
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> TestResponse {
        self.send(
            Method::POST,
            path,
            Some(token),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    pub async fn create_period(&self, token: &str, body: &Value) -> TestResponse {
        self.post_json(token, "/api/v1/periods", body).await
    }

    /// POST a multipart form with `file` (and `bank` when given) to `path`.
    pub async fn upload_bytes(
        &self,
        token: &str,
        path: &str,
        file_name: &str,
        bytes: &[u8],
        bank: Option<&str>,
    ) -> TestResponse {
        let fields: Vec<(&str, &str)> = bank.map(|b| ("bank", b)).into_iter().collect();
        self.upload_form(token, path, file_name, bytes, &fields)
            .await
    }

    /// POST a multipart form with `file` and text `fields` (`bank`, `unit`, …) to `path`.
    pub async fn upload_form(
        &self,
        token: &str,
        path: &str,
        file_name: &str,
        bytes: &[u8],
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let mut parts = vec![Part::File {
            name: "file",
            file_name,
            bytes,
        }];
        parts.extend(
            fields
                .iter()
                .map(|&(name, value)| Part::Text { name, value }),
        );
        let (ct, body) = multipart(&parts);
        self.send(Method::POST, path, Some(token), Some(&ct), body)
            .await
    }

    pub async fn upload_list(&self, token: &str, period: i64, path: &Path) -> TestResponse {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("list");
        self.upload_bytes(
            token,
            &format!("/api/v1/periods/{period}/beneficiary-lists"),
            name,
            &read_file(path),
            None,
        )
        .await
    }

    pub async fn upload_payouts(
        &self,
        token: &str,
        period: i64,
        path: &Path,
        bank: Option<&str>,
    ) -> TestResponse {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("payouts");
        self.upload_bytes(
            token,
            &format!("/api/v1/periods/{period}/payout-files"),
            name,
            &read_file(path),
            bank,
        )
        .await
    }

    pub async fn reconcile(&self, token: &str, period: i64) -> TestResponse {
        self.send(
            Method::POST,
            &format!("/api/v1/periods/{period}/reconciliations"),
            Some(token),
            None,
            Vec::new(),
        )
        .await
    }

    /// Download one of a run's files (`report.json`, `report.csv`, `report.xlsx`,
    /// `follow-up.xlsx`).
    pub async fn download(&self, token: &str, run: i64, file: &str) -> TestResponse {
        self.get(token, &format!("/api/v1/reconciliations/{run}/{file}"))
            .await
    }

    /// The sample story as the admin: a period (target 80%), the list, both payout files,
    /// one run.
    pub async fn seed_sample(&self, code: &str) -> Sample {
        let t = self.tokens.admin.clone();
        let p = self
            .create_period(&t, &serde_json::json!({ "code": code, "target_pct": 80 }))
            .await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = id_of(&p.json());
        let list = self
            .upload_list(&t, period, &fixture_path("danh_sach_xa_tan_lap.xlsx"))
            .await;
        list.expect_status(StatusCode::CREATED, "upload list");
        self.upload_payouts(
            &t,
            period,
            &fixture_path("ket_qua_agribank.xlsx"),
            Some("Agribank"),
        )
        .await
        .expect_status(StatusCode::CREATED, "upload Agribank");
        self.upload_payouts(&t, period, &fixture_path("ket_qua_ngan_hang.csv"), None)
            .await
            .expect_status(StatusCode::CREATED, "upload bank CSV");
        let run = self.reconcile(&t, period).await;
        run.expect_status(StatusCode::CREATED, "reconcile");
        Sample {
            period,
            list_upload: id_of(&list.json()),
            run: id_of(&run.json()),
        }
    }

    /// Counts straight from the store (uploads of `period`).
    pub async fn counts(&self, period: i64) -> StateCounts {
        let periods = self.store.list_periods().await.expect("list_periods");
        let uploads = self
            .store
            .list_uploads(period)
            .await
            .map(|u| u.len())
            .unwrap_or(0);
        let mut runs = 0;
        for p in &periods {
            runs += self
                .store
                .list_reconciliations(p.id)
                .await
                .expect("list_reconciliations")
                .len();
        }
        let audit_entries = self
            .store
            .audit_entries(0, 1_000_000)
            .await
            .expect("audit_entries")
            .len();
        StateCounts {
            periods: periods.len(),
            uploads,
            runs,
            audit_entries,
        }
    }
}

/// Ids of what `seed_sample` made.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub period: i64,
    pub list_upload: i64,
    pub run: i64,
}

/// The `id` member.
#[track_caller]
pub fn id_of(v: &Value) -> i64 {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no integer id in {v}"))
}
