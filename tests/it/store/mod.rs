//! The `Store` trait on both backends: each test gets a fresh store, a new SQLite file always
//! and a new PostgreSQL database when `TEST_DATABASE_URL` is set (`support::for_each_store`).
//! A module per area: periods, uploads, runs, tokens (`records`), bank callbacks, web sessions;
//! here the checks of connecting and of the migrations.

mod callbacks;
mod records;
mod sessions;
mod units;

use std::path::Path;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use doisoat::domain::access::Role;
use doisoat::domain::audit::Action;
use doisoat::domain::audit::{self, NewAuditEntry};
use doisoat::domain::banks::BankId;
use doisoat::domain::sha256_hex;
use doisoat::domain::status::PayoutStatus;
use doisoat::import::{self, ImportOptions, Imported};
use doisoat::store::{
    self, CallbackAnswer, CallbackPayout, CallbackRequest, CallbackVerdict, NewPeriod, NewRun,
    NewSession, NewToken, NewUpload, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError,
    TokenInfo, Upload, UploadKind,
};
use sqlx::Connection;

use crate::support::for_each_store;
use crate::support::pg::with_database;

const ACTOR: &str = "admin";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).expect("read a fixture")
}

/// What the service builds from an import.
fn new_upload<T: doisoat::import::Drafted>(
    imported: &Imported<T>,
    bytes: &[u8],
    bank_code: Option<&str>,
) -> NewUpload {
    NewUpload::from_imported(
        imported,
        sha256_hex(bytes),
        bytes.len() as i64,
        bank_code.map(str::to_owned),
        "VN",
    )
}

fn period(code: &str) -> NewPeriod {
    NewPeriod {
        code: code.to_owned(),
        programme: "TCXH".into(),
        locality: Some("Xã Tân Lập".into()),
        // One target for both rates and the account coverage's own: both kept.
        targets: doisoat::domain::period::TargetsBp {
            all: Some(9731),
            account_coverage: Some(3000),
            cashless_rate: None,
        },
    }
}

async fn all_audit(store: &dyn Store) -> Vec<audit::AuditEntry> {
    store
        .audit_entries(0, 1_000_000)
        .await
        .expect("audit_entries")
}

fn assert_chain(entries: &[audit::AuditEntry], n: usize) {
    assert_eq!(
        entries.len(),
        n,
        "audit entries: {:#?}",
        entries.iter().map(|e| &e.action).collect::<Vec<_>>()
    );
    assert_eq!(audit::verify(entries), Ok(n));
}

fn count_action(entries: &[audit::AuditEntry], action: &str) -> usize {
    entries.iter().filter(|e| e.action == action).count()
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = store::connect("sqlite::memory:")
        .await
        .expect("connect memory");
    let p = store
        .create_period(period("2026-01"), ACTOR)
        .await
        .expect("create_period");
    assert_eq!(store.get_period(p.id).await.expect("get_period"), Some(p));
}

#[test]
fn with_database_replaces_only_the_name() {
    assert_eq!(
        with_database("postgres://u@h:5432/test", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

#[tokio::test]
async fn unknown_url_schemes_are_refused() {
    assert!(matches!(
        store::connect("mysql://x").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
}

fn file_names(dir: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .expect("read the migrations folder")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Table name → column names, from the CREATE TABLE statements of a migration folder.
fn tables(dir: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for name in file_names(dir) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir)
            .join(&name);
        let sql = std::fs::read_to_string(&path).expect("read a migration");
        for line in sql.lines().map(str::trim) {
            // A table rebuilt (SQLite cannot alter a constraint): new, copy, drop, rename.
            if let Some(rest) = line.strip_prefix("DROP TABLE ") {
                let table = rest.trim_end_matches(';').trim();
                out.retain(|(t, _)| t != table);
                continue;
            }
            if let Some(rest) = line.strip_prefix("ALTER TABLE ")
                && let Some((table, column)) = rest.split_once(" ADD COLUMN ")
            {
                let column = column.split_whitespace().next().unwrap_or_default();
                for (_, cols) in out.iter_mut().filter(|(t, _)| t == table.trim()) {
                    cols.push(column.to_owned());
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("ALTER TABLE ")
                && let Some((from, to)) = rest.trim_end_matches(';').split_once(" RENAME TO ")
            {
                for (t, _) in out.iter_mut().filter(|(t, _)| t == from.trim()) {
                    *t = to.trim().to_owned();
                }
                continue;
            }
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let table = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                out.push((table, Vec::new()));
            } else if let Some((_, cols)) = out.last_mut() {
                let word = line.split_whitespace().next().unwrap_or_default();
                let is_column = !word.is_empty()
                    && word
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                    && !line.starts_with("--");
                if is_column && !line.starts_with(')') {
                    cols.push(word.to_owned());
                }
            }
        }
    }
    out
}

#[test]
fn migration_folders_move_in_step() {
    assert_eq!(file_names("sqlite"), file_names("postgres"));
    let describe = |m: &sqlx::migrate::Migrator| {
        m.iter()
            .map(|m| (m.version, m.description.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(describe(&SQLITE_MIGRATIONS), describe(&POSTGRES_MIGRATIONS));
    let (mut sqlite, mut postgres) = (tables("sqlite"), tables("postgres"));
    sqlite.sort();
    postgres.sort();
    assert!(sqlite.len() >= 6, "{sqlite:?}");
    assert_eq!(sqlite, postgres);
}

/// SQLite keeps times as the text sqlx writes (RFC 3339, `+00:00`, 0/3/6 fraction digits);
/// purging expired sessions compares that text in SQL, which must follow time order.
#[tokio::test]
async fn sqlite_time_text_sorts_in_time_order() {
    let mut c = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("connect memory");
    let base = Utc
        .timestamp_opt(1_767_225_599, 0)
        .single()
        .expect("a time");
    let micros = [0, 1, 999, 1_000, 1_001, 100_000, 123_456, 500_000, 999_999];
    let mut times: Vec<DateTime<Utc>> = Vec::new();
    for s in [0, 1, 60, 86_400] {
        for us in micros {
            times.push(base + Duration::seconds(s) + Duration::microseconds(us));
        }
    }
    for a in &times {
        for b in &times {
            let le: bool = sqlx::query_scalar("SELECT $1 <= $2")
                .bind(a)
                .bind(b)
                .fetch_one(&mut c)
                .await
                .expect("compare");
            assert_eq!(le, a <= b, "{a:?} <= {b:?}");
        }
    }
}

/// Run `sql` (one `$1` id parameter) straight on the database `url` names, past the store;
/// returns the first column of the first row as an integer, or the rows affected.
pub(super) async fn raw(url: &str, sql: &str, id: Option<i64>) -> i64 {
    let fetch = sql.starts_with("SELECT");
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url)
            .await
            .expect("connect straight to the test database");
        if fetch {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut c)
                .await
                .expect("raw SQL on the test database")
        } else {
            let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .execute(&mut c)
                .await
                .expect("raw SQL on the test database");
            n.rows_affected() as i64
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url)
            .await
            .expect("connect straight to the test database");
        if fetch {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut c)
                .await
                .expect("raw SQL on the test database")
        } else {
            let n = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .execute(&mut c)
                .await
                .expect("raw SQL on the test database");
            n.rows_affected() as i64
        }
    }
}
