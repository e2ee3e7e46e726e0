//! Backup and restore, as the README tells an operator to do them: SQLite's online backup
//! (`doisoat backup --out FILE`, while the service runs) and PostgreSQL's `pg_dump` /
//! `pg_restore`; on the restored copy `doisoat audit verify` passes and the data is whole.

use std::process::Command;

use axum::http::StatusCode;
use doisoat::store::Store;

use crate::support::pg::PgTestDb;
use crate::support::{Backend, for_each_backend};

fn doisoat(database_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doisoat"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run doisoat")
}

fn tool(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (the PostgreSQL client tools are needed)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What must read back the same from a restored copy.
async fn state(store: &dyn Store) -> (Vec<String>, usize, Vec<String>, usize) {
    let periods = store.list_periods().await.expect("periods");
    let mut uploads = 0;
    let mut reports = Vec::new();
    for p in &periods {
        uploads += store.list_uploads(p.id).await.expect("uploads").len();
        for run in store.list_reconciliations(p.id).await.expect("runs") {
            let stored = store.get_reconciliation(run.id).await.expect("run");
            reports.extend(stored.map(|r| r.report_json));
        }
    }
    let audit = store
        .audit_entries(0, 1_000_000)
        .await
        .expect("audit")
        .len();
    let codes = periods.into_iter().map(|p| p.code).collect();
    (codes, uploads, reports, audit)
}

/// `doisoat audit verify` on `url`: passes, and says how many entries it checked.
fn verified(url: &str) -> String {
    let out = doisoat(url, &["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "audit verify on the restored copy: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[tokio::test]
async fn a_backup_restores_whole_and_its_audit_chain_verifies() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        app.get(
            &app.tokens.auditor,
            &format!("/api/v1/reconciliations/{}", s.run),
        )
        .await
        .expect_status(StatusCode::OK, "the run");
        let live = app.config.database_url.clone();
        let dir = tempfile::tempdir().expect("tempdir");
        let restored_url;
        let mut restored_db = None;
        match app.backend {
            Backend::Sqlite => {
                // While the service holds the database open.
                let file = dir.path().join("doisoat-backup.db");
                let out = doisoat(&live, &["backup", "--out", &file.display().to_string()]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                // Never over an existing file.
                let again = doisoat(&live, &["backup", "--out", &file.display().to_string()]);
                assert!(!again.status.success());
                restored_url = format!("sqlite:{}", file.display());
            }
            Backend::Postgres => {
                let dump = dir.path().join("doisoat.dump");
                let dump = dump.display().to_string();
                tool("pg_dump", &["--format=custom", "--file", &dump, &live]);
                let admin = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
                let db = PgTestDb::create(admin.trim(), "doisoat_restore").await;
                tool("pg_restore", &["--no-owner", "--dbname", &db.url, &dump]);
                restored_url = db.url.clone();
                restored_db = Some(db);
                // `doisoat backup` points a PostgreSQL operator to pg_dump.
                let out = doisoat(
                    &live,
                    &[
                        "backup",
                        "--out",
                        &dir.path().join("x").display().to_string(),
                    ],
                );
                assert!(!out.status.success());
                assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
            }
        }
        assert_eq!(verified(&restored_url), verified(&live));
        let restored = doisoat::store::connect(&restored_url)
            .await
            .expect("the restored copy");
        assert_eq!(
            state(restored.as_ref()).await,
            state(app.store.as_ref()).await
        );
        drop(restored);
        if let Some(db) = restored_db {
            db.drop_db().await;
        }
    })
    .await;
}
