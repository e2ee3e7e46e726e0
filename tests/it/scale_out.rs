//! Two `doisoat serve` instances on one PostgreSQL database, driven at once: bank callbacks
//! (the same transactions posted to both), list uploads for one unit and reconciliations on
//! both. Nothing may be lost or doubled: one stored payout per transaction with the same
//! answer from either instance, list versions 1, 2, … without a gap or a repeat, every run
//! intact, and one audit chain that verifies.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use doisoat::domain::sha256_hex;
use serde_json::Value;

use crate::support::loadgen::{self, Client, Server, create_bank_token, create_token, run_cli};
use crate::support::pg::PgTestDb;
use crate::support::{Part, multipart};

/// Transactions each posted to both instances.
const REFS: u64 = 120;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_doisoat"))
}

#[tokio::test]
async fn two_instances_on_one_postgres_lose_and_double_nothing() {
    let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("!! SKIPPED two instances on one PostgreSQL: TEST_DATABASE_URL is not set");
        return;
    };
    let db = PgTestDb::create(admin.trim(), "doisoat_two").await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = bin();
    run_cli(&bin, &url, &["migrate"]);
    let accountant = create_token(&bin, &url, "accountant", "ke-toan");
    let bank = create_bank_token(&bin, &url, "agribank");
    loadgen::create_period(&url, "2024-09").await;
    let ready = Duration::from_secs(60);
    let a = Server::start(&bin, &url, &dir.path().join("a.log"), ready).await;
    let b = Server::start(&bin, &url, &dir.path().join("b.log"), ready).await;

    // Callbacks: every transaction to both instances, from several clients each.
    let mut tasks = Vec::new();
    for (instance, port) in [(0, a.port), (1, b.port)] {
        for client in 0..3u64 {
            let bank = bank.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = Client::new(port);
                let mut answers = Vec::new();
                for n in (client..REFS).step_by(3) {
                    let body = loadgen::item(&format!("TX-{n}"), n).to_string();
                    let (status, body, _) = loadgen::post_callback(&mut c, &bank, body.as_bytes())
                        .await
                        .expect("a callback");
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                    let answer: Value = serde_json::from_slice(&body).expect("an answer");
                    answers.push((instance, n, answer));
                }
                answers
            }));
        }
    }
    // Lists for one unit on both instances, and runs on both, meanwhile.
    let list = |name: &'static str, rows: &'static str| {
        let port_token = accountant.clone();
        move |port: u16| {
            let token = port_token.clone();
            async move {
                let csv = format!(
                    "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n{rows}"
                );
                let (ct, body) = multipart(&[Part::File {
                    name: "file",
                    file_name: name,
                    bytes: csv.as_bytes(),
                }]);
                let auth = format!("Bearer {token}");
                let r = Client::new(port)
                    .request(
                        "POST",
                        "/api/v1/periods/1/beneficiary-lists",
                        &[("Authorization", &auth), ("Content-Type", &ct)],
                        &body,
                    )
                    .await
                    .expect("an upload");
                assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
                r.json()
            }
        }
    };
    let first = list(
        "ds_1.csv",
        "025038000001,NGUYEN VAN AN,1938,Xã Tân Lập,NCT,500000,4200200000001,Agribank\n",
    );
    let second = list(
        "ds_2.csv",
        "025038000002,TRAN THI BINH,1938,Xã Tân Lập,NCT,501000,4200200000002,Agribank\n",
    );
    let (u1, u2) = tokio::join!(first(a.port), second(b.port));
    let mut runs = Vec::new();
    for port in [a.port, b.port, a.port, b.port] {
        let token = accountant.clone();
        runs.push(tokio::spawn(async move {
            let auth = format!("Bearer {token}");
            let r = Client::new(port)
                .request(
                    "POST",
                    "/api/v1/periods/1/reconciliations",
                    &[("Authorization", &auth)],
                    b"",
                )
                .await
                .expect("a run");
            assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
            r.json()["id"].as_i64().expect("run id")
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.extend(t.await.expect("a callback client"));
    }
    let mut run_ids = Vec::new();
    for r in runs {
        run_ids.push(r.await.expect("a run"));
    }

    // One payout per transaction, and both instances gave it the same answer.
    let mut by_ref: HashMap<u64, Vec<Value>> = HashMap::new();
    for (_, n, answer) in answers {
        by_ref.entry(n).or_default().push(answer);
    }
    assert_eq!(by_ref.len() as u64, REFS);
    for (n, seen) in &by_ref {
        assert_eq!(seen.len(), 2, "TX-{n}: posted to both instances");
        assert_eq!(
            seen[0], seen[1],
            "TX-{n}: the same answer from either instance"
        );
    }
    let store = doisoat::store::connect(&url).await.expect("the store");
    let stored = store
        .callback_payouts("TCXH", "2024-09")
        .await
        .expect("payouts");
    assert_eq!(stored.len() as u64, REFS, "nothing lost or doubled");
    // List versions 1 and 2 of the unit, one each.
    let mut versions: Vec<i64> = [u1, u2]
        .iter()
        .filter_map(|u| u["version"].as_i64())
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2]);
    // Every run stored whole: its report is what its digest says.
    run_ids.sort_unstable();
    run_ids.dedup();
    assert_eq!(run_ids.len(), 4);
    for id in run_ids {
        let run = store
            .get_reconciliation(id)
            .await
            .expect("run")
            .expect("stored");
        assert_eq!(
            sha256_hex(run.report_json.as_bytes()),
            run.info.report_sha256
        );
    }
    // One audit chain, in order, from both instances' writes.
    let verified = run_cli(&bin, &url, &["audit", "verify"]);
    assert!(verified.contains("audit chain intact"), "{verified}");
    drop((a, b));
    drop(store);
    db.drop_db().await;
}
