//! One story driven through the `Store` trait, run against a fresh SQLite file always and
//! against PostgreSQL when `TEST_DATABASE_URL` is set (each run in its own new database).

use crate::support::pg::{PgTestDb, with_database};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, TimeZone, Utc};
use doisoat::audit::Action;
use doisoat::audit::{self, NewAuditEntry};
use doisoat::domain::access::Role;
use doisoat::domain::banks::BankId;
use doisoat::domain::status::PayoutStatus;
use doisoat::import::{self, ImportOptions, Imported};
use doisoat::report::sha256_hex;
use doisoat::store::{
    self, CallbackAnswer, CallbackPayout, CallbackRequest, CallbackVerdict, NewPeriod, NewRun,
    NewSession, NewToken, NewUpload, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Store, StoreError,
    TokenInfo, Upload, UploadKind,
};
use sqlx::Connection;

const ACTOR: &str = "admin";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).expect("read a fixture")
}

/// What the service builds from an import.
fn new_upload<T>(imported: &Imported<T>, bytes: &[u8], bank_code: Option<&str>) -> NewUpload {
    NewUpload::from_imported(
        imported,
        sha256_hex(bytes),
        bytes.len(),
        bank_code.map(str::to_owned),
    )
}

fn period(code: &str) -> NewPeriod {
    NewPeriod {
        code: code.to_owned(),
        programme: Some("Trợ cấp xã hội hằng tháng".into()),
        locality: Some("Xã Tân Lập".into()),
        target_bp: Some(9731),
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

async fn story(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");

    // Periods.
    let p = store
        .create_period(period("2026-03"), ACTOR)
        .await
        .expect("create_period");
    assert_eq!(
        store.get_period(p.id).await.expect("get_period"),
        Some(p.clone())
    );
    assert_eq!(p.target_bp, Some(9731));
    assert!(matches!(
        store.create_period(period("2026-03"), ACTOR).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.list_periods().await.expect("list_periods"),
        vec![p.clone()]
    );
    assert_eq!(
        store.get_period(p.id + 100).await.expect("get_period"),
        None
    );

    // A beneficiary list, stored twice: the second time is a no-op.
    let bytes = fixture("danh_sach_xa_tan_lap.xlsx");
    let list = import::import_beneficiaries(
        "danh_sach_xa_tan_lap.xlsx",
        bytes.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import list");
    // The sample has rejected rows and a totals row that disagrees: both must survive storage.
    assert!(!list.rows.is_empty() && !list.errors.is_empty() && list.control_total.is_some());
    let up = new_upload(&list, &bytes, None);
    let v1 = store
        .save_beneficiary_list(p.id, up.clone(), &list.rows, ACTOR)
        .await
        .expect("save list");
    assert!(v1.created);
    assert_eq!(v1.value.version, Some(1));
    assert_eq!(v1.value.kind, UploadKind::Beneficiaries);
    assert_eq!(v1.value.row_errors, list.errors);
    assert_eq!(v1.value.notices, list.notices);
    assert_eq!(v1.value.control_total, list.control_total);
    assert_eq!(v1.value.accepted_rows, list.rows.len() as i64);
    assert_eq!(
        store.get_upload(v1.value.id).await.expect("get_upload"),
        Some(v1.value.clone())
    );
    let again = store
        .save_beneficiary_list(p.id, up.clone(), &list.rows, ACTOR)
        .await
        .expect("save list again");
    assert!(!again.created);
    assert_eq!(again.value, v1.value);
    assert!(matches!(
        store
            .save_beneficiary_list(p.id + 100, up, &list.rows, ACTOR)
            .await,
        Err(StoreError::NotFound(_))
    ));

    // A second, different list becomes current.
    let bytes2 = fixture("danh_sach_xa_tan_lap.ods");
    let list2 = import::import_beneficiaries(
        "danh_sach_xa_tan_lap.ods",
        bytes2.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import ods list");
    let mut up2 = new_upload(&list2, &bytes2, None);
    up2.notices
        .push("Không có cột trạng thái / no status column".into());
    let v2 = store
        .save_beneficiary_list(p.id, up2.clone(), &list2.rows, ACTOR)
        .await
        .expect("save list 2");
    assert!(v2.created);
    assert_eq!(v2.value.version, Some(2));
    assert_eq!(v2.value.notices, up2.notices);

    // Bank result files.
    let agri_bytes = fixture("ket_qua_agribank.xlsx");
    let mut opts = ImportOptions::new(2026);
    opts.default_bank = BankId::resolve("Agribank");
    let agri = import::import_payouts("ket_qua_agribank.xlsx", agri_bytes.clone(), &opts)
        .expect("import agribank");
    let agri_up = store
        .save_payout_file(
            p.id,
            new_upload(&agri, &agri_bytes, Some("AGRIBANK")),
            &agri.rows,
            ACTOR,
        )
        .await
        .expect("save agribank");
    assert!(agri_up.created);
    assert_eq!(agri_up.value.version, None);
    assert_eq!(agri_up.value.kind, UploadKind::Payouts);
    let csv_bytes = fixture("ket_qua_ngan_hang.csv");
    let csv = import::import_payouts(
        "ket_qua_ngan_hang.csv",
        csv_bytes.clone(),
        &ImportOptions::new(2026),
    )
    .expect("import csv");
    let csv_up = store
        .save_payout_file(p.id, new_upload(&csv, &csv_bytes, None), &csv.rows, ACTOR)
        .await
        .expect("save csv");
    assert!(csv_up.created);
    let csv_again = store
        .save_payout_file(p.id, new_upload(&csv, &csv_bytes, None), &csv.rows, ACTOR)
        .await
        .expect("save csv again");
    assert_eq!(
        (csv_again.created, csv_again.value.id),
        (false, csv_up.value.id)
    );

    // What a reconciliation reads back is what was imported.
    let inputs = store.period_inputs(p.id).await.expect("period_inputs");
    let (current, rows) = inputs.list.clone().expect("a current list");
    assert_eq!(current, v2.value);
    assert_eq!(rows, list2.rows);
    assert_eq!(
        inputs.payout_files,
        vec![agri_up.value.clone(), csv_up.value.clone()]
    );
    let expected: Vec<_> = agri.rows.iter().chain(csv.rows.iter()).cloned().collect();
    assert_eq!(inputs.payouts, expected);
    // v1 was current when it was saved; v2 is now.
    let v1_now = Upload {
        current: false,
        ..v1.value.clone()
    };
    assert_eq!(
        store.list_uploads(p.id).await.expect("list_uploads"),
        vec![
            v1_now,
            v2.value.clone(),
            agri_up.value.clone(),
            csv_up.value.clone()
        ]
    );
    assert!(matches!(
        store.period_inputs(p.id + 100).await,
        Err(StoreError::NotFound(_))
    ));

    // Reconciliation runs.
    let run = NewRun {
        period_id: p.id,
        list_upload_id: v2.value.id,
        meta_json: r#"{"as_of_year":2026}"#.into(),
        report_json: r#"{"coverage":"97.31"}"#.into(),
        exceptions_json: "[]".into(),
        report_sha256: sha256_hex(br#"{"coverage":"97.31"}"#),
    };
    let info = store
        .save_reconciliation(run.clone(), ACTOR)
        .await
        .expect("save_reconciliation");
    let stored = store
        .get_reconciliation(info.id)
        .await
        .expect("get_reconciliation")
        .expect("the saved run is found");
    assert_eq!(stored.info, info);
    assert_eq!(
        (stored.meta_json, stored.report_json, stored.exceptions_json),
        (
            run.meta_json.clone(),
            run.report_json.clone(),
            run.exceptions_json.clone()
        )
    );
    assert_eq!(
        store
            .list_reconciliations(p.id)
            .await
            .expect("list_reconciliations"),
        vec![info]
    );
    let wrong_list = NewRun {
        list_upload_id: agri_up.value.id,
        ..run
    };
    assert!(matches!(
        store.save_reconciliation(wrong_list, ACTOR).await,
        Err(StoreError::NotFound(_))
    ));

    // Tokens.
    let new_token = NewToken {
        name: "ketoan".into(),
        role: Role::Accountant,
        bank_code: None,
        token_hash: sha256_hex(b"secret-token"),
        webhook_secret: None,
    };
    let token = store
        .create_token(new_token.clone(), ACTOR)
        .await
        .expect("create_token");
    assert!(matches!(
        store.create_token(new_token.clone(), ACTOR).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .token_by_hash(&new_token.token_hash)
            .await
            .expect("token_by_hash"),
        Some(token.clone())
    );
    assert_eq!(
        store.list_tokens().await.expect("list_tokens"),
        vec![token.clone()]
    );
    assert!(store.revoke_token("ketoan", ACTOR).await.expect("revoke"));
    assert!(
        !store
            .revoke_token("ketoan", ACTOR)
            .await
            .expect("revoke again")
    );
    assert!(
        !store
            .revoke_token("nobody", ACTOR)
            .await
            .expect("revoke unknown")
    );
    assert_eq!(
        store
            .token_by_hash(&new_token.token_hash)
            .await
            .expect("token_by_hash after revoke"),
        None
    );
    let listed = store.list_tokens().await.expect("list_tokens");
    assert!(listed.len() == 1 && listed[0].revoked_at.is_some());
    assert_eq!(
        store
            .webhook_secret(token.id)
            .await
            .expect("secret of a revoked token"),
        None
    );

    // A bank token keeps the secret its callbacks are signed with, until revoked.
    let bank_token = store
        .create_token(
            NewToken {
                name: "agribank".into(),
                role: Role::Bank,
                bank_code: Some("VBA".into()),
                token_hash: sha256_hex(b"bank-token"),
                webhook_secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            },
            ACTOR,
        )
        .await
        .expect("create bank token");
    assert_eq!(
        store
            .webhook_secret(bank_token.id)
            .await
            .expect("webhook_secret")
            .as_deref(),
        Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    );
    assert!(
        store
            .revoke_token("agribank", ACTOR)
            .await
            .expect("revoke bank")
    );
    assert_eq!(
        store
            .webhook_secret(bank_token.id)
            .await
            .expect("secret after revoke"),
        None
    );

    store
        .append_audit(NewAuditEntry::new(
            ACTOR,
            Action::TokenRevoke,
            "token/none",
            serde_json::json!({"ok": true}),
        ))
        .await
        .expect("append_audit");

    // The trail: one entry per change, none for the idempotent repeats or refusals.
    let entries = all_audit(store.as_ref()).await;
    assert_chain(&entries, 11);
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "period.create",
            "upload.beneficiaries",
            "upload.beneficiaries",
            "upload.payouts",
            "upload.payouts",
            "reconciliation.create",
            "token.create",
            "token.revoke",
            "token.create",
            "token.revoke",
            "token.revoke",
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| !e.details.contains(&new_token.token_hash))
    );
    let page = store.audit_entries(3, 2).await.expect("audit page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);

    // Concurrent writers all succeed and the chain stays whole.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_period(period(&format!("2026-C{i}")), ACTOR)
                    .await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.expect("task");
        r.expect("concurrent create_period");
    }
    // The same file uploaded by several people at once is stored once.
    let qid = store
        .create_period(period("2026-Q"), ACTOR)
        .await
        .expect("create_period")
        .id;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, up, rows) = (
                store.clone(),
                new_upload(&csv, &csv_bytes, None),
                csv.rows.clone(),
            );
            tokio::spawn(async move { store.save_payout_file(qid, up, &rows, ACTOR).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let r = t.await.expect("task");
        created += usize::from(r.expect("concurrent save_payout_file").created);
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_periods().await.expect("list_periods").len(), 10);
    assert_chain(&all_audit(store.as_ref()).await, 11 + 8 + 1 + 1);
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder that does not exist yet: connect creates it.
    let url = format!(
        "sqlite:{}",
        dir.path().join("data").join("doisoat.db").display()
    );
    let store = store::connect(&url).await.expect("connect sqlite");
    assert_eq!(store.backend(), "sqlite");
    story(store).await;
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

#[tokio::test]
async fn postgres_story() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL story skipped");
        return;
    };
    let db = PgTestDb::create(&admin_url, "doisoat_test").await;
    let url = db.url.clone();
    // Run in a task so the database is dropped even when the story panics.
    let result = tokio::spawn(async move {
        let store = store::connect(&url).await.expect("connect postgres");
        assert_eq!(store.backend(), "postgres");
        story(store).await;
    })
    .await;
    db.drop_db().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
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

// ---- Bank callbacks -------------------------------------------------------------------

const VCB: &str = "VCB";
const BIDV: &str = "BIDV";
/// A personal ID that must never reach the audit log.
const POPULATION_ID: &str = "001234567890";

fn cb(reference: &str, period: &str, amount: i64, status: PayoutStatus) -> CallbackPayout {
    CallbackPayout {
        transaction_ref: reference.to_owned(),
        period: period.to_owned(),
        population_id: Some(POPULATION_ID.to_owned()),
        account_number: "0011001234567".to_owned(),
        beneficiary_name: Some("Nguyễn Văn An".to_owned()),
        amount,
        status,
        value_date: NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"),
        reason: None,
    }
}

fn paid(reference: &str) -> CallbackPayout {
    cb(reference, "2026-03", 540_000, PayoutStatus::Success)
}

fn returned(earlier: &CallbackPayout) -> CallbackPayout {
    CallbackPayout {
        status: PayoutStatus::Returned,
        value_date: NaiveDate::from_ymd_opt(2026, 3, 14).expect("date"),
        reason: Some("Tài khoản đã đóng".to_owned()),
        ..earlier.clone()
    }
}

fn req(bank: &str, webhook_id: &str, items: Vec<CallbackPayout>) -> CallbackRequest {
    CallbackRequest {
        bank_code: bank.to_owned(),
        token_name: format!("{}-api", bank.to_lowercase()),
        webhook_id: webhook_id.to_owned(),
        items,
    }
}

async fn save(store: &dyn Store, requests: Vec<CallbackRequest>) -> Vec<CallbackVerdict> {
    let n = requests.len();
    let verdicts = store
        .save_callbacks(&requests)
        .await
        .expect("save_callbacks");
    assert_eq!(verdicts.len(), n);
    verdicts
}

/// The answers of a request that must be accepted.
async fn accepted(store: &dyn Store, request: CallbackRequest) -> Vec<CallbackAnswer> {
    match save(store, vec![request]).await.remove(0) {
        CallbackVerdict::Accepted(answers) => answers,
        other => panic!("expected Accepted, got {other:?}"),
    }
}

/// (index, ref, reason) of a request that must conflict.
async fn conflict(store: &dyn Store, request: CallbackRequest) -> (usize, String, String) {
    match save(store, vec![request]).await.remove(0) {
        CallbackVerdict::Conflict {
            index,
            transaction_ref,
            reason,
        } => (index, transaction_ref, reason),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn history(store: &dyn Store, bank: &str, reference: &str) -> Vec<CallbackPayout> {
    store
        .callback_history(bank, reference)
        .await
        .expect("callback_history")
}

fn count_action(entries: &[audit::AuditEntry], action: &str) -> usize {
    entries.iter().filter(|e| e.action == action).count()
}

async fn callback_story(store: Arc<dyn Store>) {
    let s = store.as_ref();
    store
        .create_period(period("2026-03"), ACTOR)
        .await
        .expect("create_period");
    // Audit entries expected so far, and accepted requests that wrote something.
    let mut entries = 1;
    let mut callback_entries = 0;

    // First post: stored as version 1.
    let (a1, a2) = (
        paid("FT26001"),
        cb("FT26002", "2026-03", 540_000, PayoutStatus::Failed),
    );
    let first = accepted(s, req(VCB, "wh_1", vec![a1.clone(), a2.clone()])).await;
    (entries, callback_entries) = (entries + 1, callback_entries + 1);
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].transaction_ref, "FT26001");
    assert_eq!(first[0].status, PayoutStatus::Success);
    assert_eq!(first[1].status, PayoutStatus::Failed);
    assert!(first.iter().all(|a| a.version == 1));
    assert_ne!(first[0].payout_id, first[1].payout_id);
    assert_eq!(history(s, VCB, "FT26001").await, vec![a1.clone()]);
    assert_eq!(history(s, VCB, "FT-UNKNOWN").await, vec![]);

    // The audit entry: the bank's token, counts and a digest, never personal IDs.
    let log = all_audit(s).await;
    let last = log.last().expect("an audit entry");
    assert_eq!(last.action, "callback.payouts");
    assert_eq!(last.actor, "bank:vcb-api");
    assert_eq!(last.subject, "bank/VCB");
    let details: serde_json::Value = serde_json::from_str(&last.details).expect("audit details");
    assert_eq!(details["webhook_id"], "wh_1");
    assert_eq!(details["items"], 2);
    assert_eq!(details["refs_sha256"], sha256_hex(b"FT26001\nFT26002"));
    assert!(!last.details.contains(POPULATION_ID));
    assert!(!last.details.contains("FT26001"));

    // Exact replay: the very same answers, nothing written.
    let replay = accepted(s, req(VCB, "wh_1_again", vec![a1.clone(), a2.clone()])).await;
    assert_eq!(replay, first);
    assert_chain(&all_audit(s).await, entries);

    // A 3-item request whose 3rd item conflicts: nothing of it is stored.
    let mut a1_more = a1.clone();
    a1_more.amount += 1_000;
    let (index, reference, reason) = conflict(
        s,
        req(VCB, "wh_3", vec![paid("FT26003"), paid("FT26004"), a1_more]),
    )
    .await;
    assert_eq!((index, reference.as_str()), (2, "FT26001"));
    assert!(
        reason.contains("amount") && reason.contains("already received"),
        "{reason}"
    );
    assert!(!reason.contains(POPULATION_ID), "{reason}");
    assert_eq!(history(s, VCB, "FT26003").await, vec![]);
    assert_eq!(history(s, VCB, "FT26004").await, vec![]);
    assert_eq!(history(s, VCB, "FT26001").await, vec![a1.clone()]);
    assert_chain(&all_audit(s).await, entries);

    // success → returned: version 2, two states.
    let a1r = returned(&a1);
    let back = accepted(s, req(VCB, "wh_4", vec![a1r.clone()])).await;
    (entries, callback_entries) = (entries + 1, callback_entries + 1);
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].payout_id, first[0].payout_id);
    assert_eq!(back[0].version, 2);
    assert_eq!(back[0].status, PayoutStatus::Returned);
    assert_eq!(
        history(s, VCB, "FT26001").await,
        vec![a1.clone(), a1r.clone()]
    );
    // Replays of either state get the answer given for it.
    assert_eq!(
        accepted(s, req(VCB, "wh_5", vec![a1.clone()])).await,
        vec![first[0].clone()]
    );
    assert_eq!(accepted(s, req(VCB, "wh_6", vec![a1r.clone()])).await, back);
    assert_chain(&all_audit(s).await, entries);

    // returned → success is not allowed (a success with other content than the first).
    let mut a1_again = a1.clone();
    a1_again.value_date = NaiveDate::from_ymd_opt(2026, 3, 20).expect("date");
    let (index, _, reason) = conflict(s, req(VCB, "wh_7", vec![a1_again])).await;
    assert_eq!(index, 0);
    assert!(reason.contains("returned → success"), "{reason}");
    // Nor is it for a payout first posted as returned.
    let c1r = returned(&paid("FT26005"));
    accepted(s, req(VCB, "wh_8", vec![c1r])).await;
    (entries, callback_entries) = (entries + 1, callback_entries + 1);
    let (_, _, reason) = conflict(s, req(VCB, "wh_9", vec![paid("FT26005")])).await;
    assert!(reason.contains("returned → success"), "{reason}");
    // failed → success is not allowed either.
    let mut a2_paid = a2.clone();
    a2_paid.status = PayoutStatus::Success;
    let (index, reference, reason) = conflict(s, req(VCB, "wh_10", vec![a2_paid.clone()])).await;
    assert_eq!((index, reference.as_str()), (0, "FT26002"));
    assert!(reason.contains("failed → success"), "{reason}");
    assert_eq!(history(s, VCB, "FT26002").await, vec![a2.clone()]);

    // The same reference at another bank is another payout.
    let other = accepted(s, req(BIDV, "wh_11", vec![a1.clone()])).await;
    (entries, callback_entries) = (entries + 1, callback_entries + 1);
    assert_eq!(other[0].version, 1);
    assert_ne!(other[0].payout_id, first[0].payout_id);
    assert_eq!(history(s, BIDV, "FT26001").await, vec![a1.clone()]);
    assert_eq!(history(s, VCB, "FT26001").await.len(), 2);

    // A group: one request conflicts, the others are stored; later requests see what
    // earlier ones wrote, and nothing of the conflicting one (its new FT26007 included).
    let (d1, d2, d3) = (paid("FT26006"), paid("FT26007"), paid("FT26008"));
    let mut d2_other = d2.clone();
    d2_other.amount = 270_000;
    let group = save(
        s,
        vec![
            req(VCB, "wh_g1", vec![d1.clone()]),
            req(VCB, "wh_g2", vec![d2.clone(), a2_paid]),
            req(VCB, "wh_g3", vec![d2_other.clone()]),
            req(VCB, "wh_g4", vec![d1.clone(), d3.clone(), d3.clone()]),
        ],
    )
    .await;
    (entries, callback_entries) = (entries + 3, callback_entries + 3);
    let answers = |v: &CallbackVerdict| match v {
        CallbackVerdict::Accepted(a) => a.clone(),
        other => panic!("expected Accepted, got {other:?}"),
    };
    let g1 = answers(&group[0]);
    assert!(
        matches!(&group[1], CallbackVerdict::Conflict { index: 1, transaction_ref, .. } if transaction_ref == "FT26002"),
        "{:?}",
        group[1]
    );
    let g3 = answers(&group[2]);
    assert_eq!(g3[0].version, 1);
    let g4 = answers(&group[3]);
    assert_eq!(g4[0], g1[0]);
    assert_eq!(g4[1], g4[2]);
    assert_eq!(history(s, VCB, "FT26007").await, vec![d2_other.clone()]);
    assert_eq!(history(s, VCB, "FT26008").await, vec![d3.clone()]);

    // A period code with no period row yet is kept.
    let early = cb("FT27001", "2027-01", 600_000, PayoutStatus::Success);
    accepted(s, req(VCB, "wh_12", vec![early.clone()])).await;
    (entries, callback_entries) = (entries + 1, callback_entries + 1);
    let listed = store
        .callback_payouts("2027-01")
        .await
        .expect("callback_payouts");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].bank_code.as_str(), &listed[0].payout),
        (VCB, &early)
    );

    // The period's current states, in id order.
    let listed = store
        .callback_payouts("2026-03")
        .await
        .expect("callback_payouts");
    let got: Vec<(String, CallbackPayout)> = listed
        .iter()
        .map(|c| (c.bank_code.clone(), c.payout.clone()))
        .collect();
    let want = vec![
        (VCB.to_owned(), a1r.clone()),
        (VCB.to_owned(), a2.clone()),
        (VCB.to_owned(), returned(&paid("FT26005"))),
        (BIDV.to_owned(), a1.clone()),
        (VCB.to_owned(), d1.clone()),
        (VCB.to_owned(), d2_other.clone()),
        (VCB.to_owned(), d3.clone()),
    ];
    assert_eq!(got, want);
    assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(listed[0].id, first[0].payout_id);
    assert_eq!(
        store
            .callback_payouts("2025-01")
            .await
            .expect("callback_payouts"),
        vec![]
    );

    // Concurrent callbacks all land and the chain stays whole.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let request = req(
                    BIDV,
                    &format!("wh_c{i}"),
                    vec![paid(&format!("FT28{i:03}"))],
                );
                store.save_callbacks(std::slice::from_ref(&request)).await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.expect("task");
        let verdicts = r.expect("concurrent save_callbacks");
        assert!(matches!(verdicts.as_slice(), [CallbackVerdict::Accepted(a)] if a.len() == 1));
    }
    (entries, callback_entries) = (entries + 8, callback_entries + 8);

    let log = all_audit(s).await;
    assert_chain(&log, entries);
    assert_eq!(count_action(&log, "callback.payouts"), callback_entries);
    assert!(log.iter().all(|e| !e.details.contains(POPULATION_ID)));
}

#[tokio::test]
async fn sqlite_callbacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("doisoat.db").display());
    let store = store::connect(&url).await.expect("connect sqlite");
    callback_story(store).await;
}

#[tokio::test]
async fn postgres_callbacks() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL callbacks skipped");
        return;
    };
    let db = PgTestDb::create(&admin_url, "doisoat_test").await;
    let url = db.url.clone();
    let result = tokio::spawn(async move {
        let store = store::connect(&url).await.expect("connect postgres");
        callback_story(store).await;
    })
    .await;
    db.drop_db().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---- Web sessions ---------------------------------------------------------------------

/// A session as the web layer makes one: the cookie holds `id`, the store its SHA-256.
fn new_session(token_id: i64, id: &str, expires_at: DateTime<Utc>) -> NewSession {
    NewSession {
        token_id,
        session_hash: sha256_hex(id.as_bytes()),
        csrf_token: format!("csrf-{id}"),
        expires_at,
    }
}

async fn make_token(store: &dyn Store, name: &str, role: Role) -> TokenInfo {
    let new = NewToken {
        name: name.to_owned(),
        role,
        bank_code: None,
        token_hash: sha256_hex(format!("token of {name}").as_bytes()),
        webhook_secret: None,
    };
    store.create_token(new, ACTOR).await.expect("create_token")
}

async fn lookup(store: &dyn Store, id: &str, now: DateTime<Utc>) -> Option<store::WebSession> {
    store
        .session_by_hash(&sha256_hex(id.as_bytes()), now)
        .await
        .expect("session_by_hash")
}

/// Run `sql` (one `$1` id parameter) straight on the database `url` names, past the store;
/// returns the first column of the first row as an integer, or the rows affected.
async fn raw(url: &str, sql: &str, id: Option<i64>) -> i64 {
    let fetch = sql.starts_with("SELECT");
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url)
            .await
            .expect("raw SQL on the test database");
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
            .expect("raw SQL on the test database");
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

async fn session_rows(url: &str) -> i64 {
    raw(url, "SELECT COUNT(*) FROM web_sessions", None).await
}

async fn session_story(store: Arc<dyn Store>, url: &str) {
    let s = store.as_ref();
    let ketoan = make_token(s, "ketoan", Role::Accountant).await;
    let kiemtoan = make_token(s, "kiemtoan", Role::Auditor).await;
    let mut entries = 2;
    let mut ids: Vec<String> = Vec::new();

    // Create and look up. Nanoseconds in, microseconds stored (what PostgreSQL keeps).
    let before = Utc::now().trunc_subsecs(6);
    let expires = before + Duration::hours(8) + Duration::nanoseconds(123_456_789);
    let stored_expiry = expires.trunc_subsecs(6);
    s.create_session(new_session(ketoan.id, "phien-1", expires))
        .await
        .expect("create_session");
    entries += 1;
    ids.push("phien-1".into());
    let after = Utc::now();
    let live = lookup(s, "phien-1", after)
        .await
        .expect("the new session is live");
    assert_eq!(live.token, ketoan);
    assert_eq!(live.csrf_token, "csrf-phien-1");
    assert_eq!(live.expires_at, stored_expiry);
    assert!(
        before <= live.created_at && live.created_at <= after,
        "created_at {} not in [{before}, {after}]",
        live.created_at
    );
    assert!(lookup(s, "phien-khac", after).await.is_none(), "unknown id");
    // The cookie's id itself is not a key.
    assert!(
        s.session_by_hash("phien-1", after)
            .await
            .expect("by raw id")
            .is_none(),
        "only the hash finds a session"
    );

    // Expiry: live up to the last microsecond before expires_at, gone at and after it.
    let last = stored_expiry - Duration::microseconds(1);
    assert!(lookup(s, "phien-1", last).await.is_some(), "just before");
    assert!(lookup(s, "phien-1", stored_expiry).await.is_none(), "at");
    assert!(
        lookup(s, "phien-1", stored_expiry + Duration::seconds(1))
            .await
            .is_none(),
        "after"
    );

    // The same hash twice: Conflict, nothing written.
    assert!(matches!(
        s.create_session(new_session(kiemtoan.id, "phien-1", expires))
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        lookup(s, "phien-1", after).await.map(|w| w.token),
        Some(ketoan.clone())
    );

    // Unknown token: NotFound, no state change.
    assert!(matches!(
        s.create_session(new_session(999_999, "phien-x", expires))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(lookup(s, "phien-x", after).await.is_none());
    assert_chain(&all_audit(s).await, entries);
    assert_eq!(session_rows(url).await, 1);

    // Expired sessions are deleted when someone signs in (and only those): one ended
    // a second ago, one whole-second expiry and one sub-millisecond one still ahead.
    let now = Utc::now().trunc_subsecs(6);
    s.create_session(new_session(
        kiemtoan.id,
        "da-het-han",
        now - Duration::seconds(1),
    ))
    .await
    .expect("create expired");
    let whole_second = Utc
        .timestamp_opt((now + Duration::hours(1)).timestamp(), 0)
        .single()
        .expect("a whole second");
    s.create_session(new_session(kiemtoan.id, "giay-chan", whole_second))
        .await
        .expect("create whole second");
    s.create_session(new_session(
        kiemtoan.id,
        "vi-giay",
        now + Duration::hours(1) + Duration::microseconds(7),
    ))
    .await
    .expect("create microseconds");
    entries += 3;
    ids.extend(["da-het-han", "giay-chan", "vi-giay"].map(String::from));
    assert_eq!(session_rows(url).await, 3, "the expired one was deleted");
    assert!(lookup(s, "da-het-han", Utc::now()).await.is_none());
    let whole = lookup(s, "giay-chan", Utc::now())
        .await
        .expect("whole-second session is live");
    assert_eq!(whole.expires_at, whole_second);
    assert_eq!(whole.token, kiemtoan);

    // Sign out: deleted once; the second time there is nothing to delete.
    assert!(
        s.delete_session(&sha256_hex(b"phien-1"))
            .await
            .expect("delete_session")
    );
    entries += 1;
    assert!(lookup(s, "phien-1", after).await.is_none());
    assert!(
        !s.delete_session(&sha256_hex(b"phien-1"))
            .await
            .expect("delete again")
    );
    assert!(
        !s.delete_session(&sha256_hex(b"khong-co"))
            .await
            .expect("delete unknown")
    );
    assert_eq!(session_rows(url).await, 2);

    // Revoking a token ends its sessions; it cannot sign in again.
    s.create_session(new_session(ketoan.id, "phien-2", expires))
        .await
        .expect("create_session");
    entries += 1;
    ids.push("phien-2".into());
    assert!(lookup(s, "phien-2", Utc::now()).await.is_some());
    assert!(s.revoke_token("kiemtoan", ACTOR).await.expect("revoke"));
    entries += 1;
    assert!(lookup(s, "giay-chan", Utc::now()).await.is_none());
    assert!(lookup(s, "vi-giay", Utc::now()).await.is_none());
    assert!(
        lookup(s, "phien-2", Utc::now()).await.is_some(),
        "other token's"
    );
    assert_eq!(session_rows(url).await, 1);
    assert!(matches!(
        s.create_session(new_session(kiemtoan.id, "phien-3", expires))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(lookup(s, "phien-3", Utc::now()).await.is_none());
    assert_eq!(session_rows(url).await, 1);
    assert!(
        !s.delete_session(&sha256_hex(b"vi-giay"))
            .await
            .expect("deleted by the revoke")
    );

    // A token revoked without its sessions being deleted (by hand, an older binary): the
    // lookup still refuses them, since it only joins active tokens. Sign-out still works.
    s.create_session(new_session(ketoan.id, "phien-4", expires))
        .await
        .expect("create_session");
    entries += 1;
    ids.push("phien-4".into());
    let revoked = raw(
        url,
        "UPDATE api_tokens SET revoked_at = created_at WHERE id = $1",
        Some(ketoan.id),
    )
    .await;
    assert_eq!(revoked, 1);
    assert_eq!(session_rows(url).await, 2);
    assert!(lookup(s, "phien-4", Utc::now()).await.is_none());
    assert!(lookup(s, "phien-2", Utc::now()).await.is_none());
    assert!(
        s.delete_session(&sha256_hex(b"phien-4"))
            .await
            .expect("sign out of a revoked token's session")
    );
    entries += 1;

    // The trail: whole, a sign-in per session and a sign-out per deletion, by the token
    // ("role:name"), with no session id, hash or CSRF token anywhere in it.
    let log = all_audit(s).await;
    assert_chain(&log, entries);
    assert_eq!(count_action(&log, "session.sign_in"), 6);
    assert_eq!(count_action(&log, "session.sign_out"), 2);
    let first = log
        .iter()
        .find(|e| e.action == "session.sign_in")
        .expect("a sign-in entry");
    assert_eq!(first.actor, "accountant:ketoan");
    assert_eq!(first.subject, "token/ketoan");
    let details: serde_json::Value =
        serde_json::from_str(&first.details).expect("sign-in details are JSON");
    assert_eq!(details["token_id"], ketoan.id);
    let logged_expiry = details["expires_at"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .expect("an RFC 3339 expires_at in the sign-in details");
    assert_eq!(logged_expiry, stored_expiry);
    let out = log
        .iter()
        .find(|e| e.action == "session.sign_out")
        .expect("a sign-out entry");
    assert_eq!(
        (out.actor.as_str(), out.subject.as_str()),
        ("accountant:ketoan", "token/ketoan")
    );
    let revoke = log
        .iter()
        .rfind(|e| e.action == "token.revoke")
        .expect("a revoke entry");
    assert!(
        revoke.details.contains("\"sessions_deleted\":2"),
        "{}",
        revoke.details
    );
    for id in &ids {
        let hash = sha256_hex(id.as_bytes());
        for e in &log {
            let text = format!("{} {} {}", e.actor, e.subject, e.details);
            assert!(
                !text.contains(&hash) && !text.contains(&format!("csrf-{id}")),
                "session secret in the audit log: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn sqlite_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("doisoat.db").display());
    let store = store::connect(&url).await.expect("connect sqlite");
    session_story(store, &url).await;
}

#[tokio::test]
async fn postgres_sessions() {
    let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL sessions skipped");
        return;
    };
    let db = PgTestDb::create(&admin_url, "doisoat_test").await;
    let url = db.url.clone();
    let result = tokio::spawn(async move {
        let store = store::connect(&url).await.expect("connect postgres");
        session_story(store, &url).await;
    })
    .await;
    db.drop_db().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
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
