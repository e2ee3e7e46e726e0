//! Bank callbacks end to end: signatures, roles, idempotency and transitions, all-or-nothing
//! batches, linking when the list arrives, live figures, immutable runs. Every test runs on
//! SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.

use crate::support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use support::{TestApp, TestResponse, fixture_path, for_each_backend, make_bank_token};

const LIST: &str = "danh_sach_xa_tan_lap.xlsx";

fn payout(tref: &str, id: &str, amount: &str, status: &str) -> Value {
    json!({
        "transaction_ref": tref,
        "period": "2024-09",
        "population_id": id,
        "account_number": "4200205123457",
        "beneficiary_name": "TRAN THI BINH",
        "amount": amount,
        "currency": "VND",
        "status": status,
        "value_date": "2024-09-20",
    })
}

async fn post(app: &TestApp, body: &Value) -> support::TestResponse {
    let t = &app.tokens;
    app.post_callback(&t.bank, &t.bank_secret, &body.to_string(), 0)
        .await
}

/// Callbacks are only taken for a period that exists.
async fn period_2024_09(app: &TestApp) -> i64 {
    let p = app
        .create_period(&app.tokens.accountant, &json!({"code": "2024-09"}))
        .await;
    p.expect_status(StatusCode::CREATED, "period 2024-09");
    p.json()["id"].as_i64().unwrap_or(0)
}

async fn history(app: &TestApp, tref: &str) -> usize {
    app.store
        .callback_history("VBA", tref)
        .await
        .expect("history")
        .len()
}

#[tokio::test]
async fn signatures_timestamps_roles_and_banks() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        period_2024_09(&app).await;
        let body = payout("FT-SIG", "025142000102", "1500000", "success").to_string();

        // A signature made with another secret, a stale or future timestamp, no headers.
        let (_, other) = doisoat::webhook::WebhookSecret::generate();
        let r = app.post_callback(&t.bank, &other, &body, 0).await;
        r.expect_problem(
            StatusCode::UNAUTHORIZED,
            Some("bad-signature"),
            "wrong secret",
        );
        for skew in [-301, 301] {
            let r = app
                .post_callback(&t.bank, &t.bank_secret, &body, skew)
                .await;
            r.expect_problem(
                StatusCode::UNAUTHORIZED,
                Some("bad-signature"),
                "timestamp off by 301 s",
            );
        }
        let r = app.post_signed(&t.bank, &body, "", "", "").await;
        r.expect_problem(
            StatusCode::UNAUTHORIZED,
            Some("bad-signature"),
            "no signature headers",
        );
        // A body changed after signing.
        let secret = doisoat::webhook::WebhookSecret::parse(&t.bank_secret).unwrap();
        let now = chrono::Utc::now().timestamp();
        let sig = secret.sign("msg_1", now, body.as_bytes());
        let tampered = body.replace("1500000", "9500000");
        let r = app
            .post_signed(&t.bank, &tampered, "msg_1", &now.to_string(), &sig)
            .await;
        r.expect_problem(
            StatusCode::UNAUTHORIZED,
            Some("bad-signature"),
            "tampered body",
        );
        assert_eq!(
            history(&app, "FT-SIG").await,
            0,
            "nothing stored by refused requests"
        );

        // Within ±5 minutes is fine.
        let r = app
            .post_callback(&t.bank, &t.bank_secret, &body, -290)
            .await;
        r.expect_status(StatusCode::OK, "290 s old");

        // Only bank tokens, only their own bank.
        let r = app
            .post_callback(&t.accountant, &t.bank_secret, &body, 0)
            .await;
        r.expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), "accountant token");
        let mut other_bank = payout("FT-OTHER", "025142000102", "1500000", "success");
        other_bank["bank"] = json!("Vietcombank");
        let r = post(&app, &other_bank).await;
        r.expect_problem(
            StatusCode::FORBIDDEN,
            Some("wrong-bank"),
            "another bank's payout",
        );
        assert_eq!(history(&app, "FT-OTHER").await, 0);

        // The same reference at two banks is two transactions.
        let (vcb_token, vcb_secret) = make_bank_token(app.store.as_ref(), "vcb", "VCB").await;
        let r = app.post_callback(&vcb_token, &vcb_secret, &body, 0).await;
        r.expect_status(StatusCode::OK, "VCB posts the same ref");
        assert_ne!(r.json()["payout_id"], Value::Null);
        let vcb = app
            .store
            .callback_history("VCB", "FT-SIG")
            .await
            .unwrap_or_default();
        assert_eq!((vcb.len(), history(&app, "FT-SIG").await), (1, 1));
    })
    .await;
}

#[tokio::test]
async fn replays_conflicts_and_transitions() {
    for_each_backend(|app| async move {
        period_2024_09(&app).await;
        let paid = payout("FT-1", "025142000102", "1500000", "success");
        let first = post(&app, &paid).await;
        first.expect_status(StatusCode::OK, "first post");
        let answer = first.json();
        assert_eq!(
            (answer["status"].as_str(), answer["version"].as_i64()),
            (Some("success"), Some(1))
        );

        // Replay (new message id and timestamp, same content): the same answer, nothing new.
        let again = post(&app, &paid).await;
        again.expect_status(StatusCode::OK, "replay");
        assert_eq!(again.json(), answer);
        // Amounts as numbers are the same content.
        let mut as_number = paid.clone();
        as_number["amount"] = json!(1500000);
        assert_eq!(post(&app, &as_number).await.json(), answer);
        assert_eq!(history(&app, "FT-1").await, 1);

        // Same ref, other content: 409, nothing changes.
        let r = post(&app, &payout("FT-1", "025142000102", "1600000", "success")).await;
        let p = r.expect_problem(StatusCode::CONFLICT, Some("conflict"), "different amount");
        assert_eq!(
            (p["item"].as_i64(), p["transaction_ref"].as_str()),
            (Some(0), Some("FT-1"))
        );
        let r = post(&app, &payout("FT-1", "025142000102", "1500000", "failed")).await;
        r.expect_problem(StatusCode::CONFLICT, Some("conflict"), "success → failed");
        assert_eq!(history(&app, "FT-1").await, 1);

        // Money came back: success → returned is legal; the history keeps both states.
        let mut returned = payout("FT-1", "025142000102", "1500000", "returned");
        returned["reason"] = json!("Tài khoản đã đóng");
        returned["value_date"] = json!("2024-09-25");
        let r = post(&app, &returned).await;
        r.expect_status(StatusCode::OK, "success → returned");
        assert_eq!(
            (r.json()["status"].as_str(), r.json()["version"].as_i64()),
            (Some("returned"), Some(2))
        );
        assert_eq!(history(&app, "FT-1").await, 2);
        // Replaying the original success still gets its original answer.
        assert_eq!(post(&app, &paid).await.json(), answer);
        // returned → success, and failed → success, are not transitions (a new ref is).
        post(&app, &paid.clone())
            .await
            .expect_status(StatusCode::OK, "replay of v1");
        let r = post(&app, &payout("FT-1", "025142000102", "1500000", "success")).await;
        r.expect_status(StatusCode::OK, "still a replay of v1");
        post(&app, &payout("FT-2", "025142000102", "1500000", "failed"))
            .await
            .expect_status(StatusCode::OK, "failed");
        let r = post(&app, &payout("FT-2", "025142000102", "1500000", "success")).await;
        r.expect_problem(StatusCode::CONFLICT, Some("conflict"), "failed → success");
        post(&app, &payout("FT-3", "025142000102", "1500000", "success"))
            .await
            .expect_status(StatusCode::OK, "retry under a new ref");
    })
    .await;
}

#[tokio::test]
async fn batches_are_all_or_nothing_and_name_the_item() {
    for_each_backend(|app| async move {
        period_2024_09(&app).await;
        let ok = |r: &str| payout(r, "025142000102", "1500000", "success");
        let mut bad = ok("B-2");
        bad["currency"] = json!("USD");
        let r = post(&app, &json!([ok("B-0"), ok("B-1"), bad])).await;
        let p = r.expect_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid-item"),
            "bad currency",
        );
        assert_eq!(
            (p["item"].as_i64(), p["field"].as_str()),
            (Some(2), Some("currency"))
        );
        assert_eq!(
            history(&app, "B-0").await + history(&app, "B-1").await,
            0,
            "none stored"
        );

        post(&app, &ok("B-9"))
            .await
            .expect_status(StatusCode::OK, "stored alone");
        let conflicting = payout("B-9", "025142000102", "2000000", "success");
        let r = post(&app, &json!([ok("B-0"), ok("B-1"), conflicting])).await;
        let p = r.expect_problem(
            StatusCode::CONFLICT,
            Some("conflict"),
            "third item conflicts",
        );
        assert_eq!(p["item"].as_i64(), Some(2));
        assert_eq!(
            history(&app, "B-0").await + history(&app, "B-1").await,
            0,
            "none stored"
        );

        let r = post(&app, &json!([ok("B-0"), ok("B-1"), ok("B-9")])).await;
        r.expect_status(StatusCode::OK, "a good batch");
        let results = r.json()["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), 3);
        assert_eq!(results[2]["version"], 1, "the stored B-9, replayed");

        let many: Vec<Value> = (0..1001).map(|i| ok(&format!("M-{i}"))).collect();
        let r = post(&app, &json!(many)).await;
        r.expect_problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("batch-too-large"),
            "1,001 items",
        );
        let huge = json!([{ "reason": "x".repeat(3 * 1024 * 1024) }]);
        post(&app, &huge).await.expect_problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("too-large"),
            "a 3 MB body",
        );
    })
    .await;
}

/// Every string field is checked per item: control characters (PostgreSQL refuses a NUL,
/// which used to fail the whole group commit), lengths, unknown and repeated keys, amounts
/// that are not plain whole đồng. The item and field are named; nothing is stored; the
/// good requests around a bad one are stored.
#[tokio::test]
async fn bad_fields_are_refused_per_item_and_never_fail_others() {
    for_each_backend(|app| async move {
        period_2024_09(&app).await;
        let ok = |r: &str| payout(r, "025142000102", "1500000", "success");
        let with = |r: &str, key: &str, v: Value| {
            let mut p = ok(r);
            p[key] = v;
            p
        };
        let body = |items: &[Value]| json!(items).to_string();
        let cases: Vec<(&str, String)> = vec![
            (
                "beneficiary_name",
                body(&[
                    ok("F-0"),
                    with("F-1", "beneficiary_name", json!("TRAN\u{0}BINH")),
                ]),
            ),
            (
                "reason",
                body(&[ok("F-0"), with("F-1", "reason", json!("line\u{1b}[31m"))]),
            ),
            ("transaction_ref", body(&[ok("F-0"), ok(&"R".repeat(101))])),
            (
                "beneficiary_name",
                body(&[
                    ok("F-0"),
                    with("F-1", "beneficiary_name", json!("B".repeat(1_000_000))),
                ]),
            ),
            (
                "reason",
                body(&[ok("F-0"), with("F-1", "reason", json!("r".repeat(501)))]),
            ),
            (
                "amount",
                body(&[ok("F-0"), with("F-1", "amount", json!("1.500.000"))]),
            ),
            (
                "amount",
                body(&[ok("F-0"), with("F-1", "amount", json!(1500000.5))]),
            ),
            (
                "amount",
                body(&[ok("F-0"), with("F-1", "amount", json!("-1500000"))]),
            ),
            (
                "populaton_id",
                format!(
                    "[{},{}]",
                    ok("F-0"),
                    ok("F-1")
                        .to_string()
                        .replace("population_id", "populaton_id")
                ),
            ),
            (
                "amount",
                format!(
                    "[{},{}]",
                    ok("F-0"),
                    ok("F-1")
                        .to_string()
                        .replacen("\"amount\"", "\"amount\":\"1\",\"amount\"", 1)
                ),
            ),
        ];
        for (field, text) in &cases {
            let r = app
                .post_callback(&app.tokens.bank, &app.tokens.bank_secret, text, 0)
                .await;
            let p = r.expect_problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid-item"),
                field,
            );
            assert_eq!(
                (p["item"].as_i64(), p["field"].as_str()),
                (Some(1), Some(*field)),
                "{p}"
            );
            assert_eq!(
                history(&app, "F-0").await,
                0,
                "{field}: nothing of the batch stored"
            );
        }
        // Concurrent good requests next to bad ones: every good one is stored.
        let app = std::sync::Arc::new(app);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40 {
            let item = if i % 4 == 0 {
                with(&format!("G-{i}"), "beneficiary_name", json!("NUL\u{0}"))
            } else {
                ok(&format!("G-{i}"))
            };
            let app = app.clone();
            tasks.spawn(async move { (i, post(&app, &item).await) });
        }
        while let Some(joined) = tasks.join_next().await {
            let (i, r) = joined.expect("task");
            let want = if i % 4 == 0 { 422 } else { 200 };
            assert_eq!(r.status.as_u16(), want, "request {i}: {}", r.text());
        }
        // A plain decimal is read as written: "1.000" is one đồng, not a thousand.
        let r = post(&app, &with("D-1", "amount", json!("1.000"))).await;
        r.expect_status(StatusCode::OK, "1.000");
        let stored = app
            .store
            .callback_history("VBA", "D-1")
            .await
            .unwrap_or_default();
        assert_eq!(stored.first().map(|p| p.amount), Some(1));
    })
    .await;
}

#[tokio::test]
async fn callbacks_link_when_the_list_arrives_and_show_live() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        // Not before the period exists: it would wait, unseen, for whoever creates it.
        let early = post(&app, &payout("L-0", "025142000102", "1500000", "success")).await;
        let problem = early.expect_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown-period"),
            "no such period",
        );
        assert_eq!(
            (problem["item"].as_u64(), problem["field"].as_str()),
            (Some(0), Some("period"))
        );
        assert_eq!(history(&app, "L-0").await, 0, "nothing stored");

        // Before its list: kept, and linked when the list arrives.
        let period = period_2024_09(&app).await;
        post(&app, &payout("L-1", "025142000102", "1500000", "success"))
            .await
            .expect_status(StatusCode::OK, "Bình");
        post(&app, &payout("L-2", "037153000257", "1500000", "success"))
            .await
            .expect_status(StatusCode::OK, "nobody on the list");

        let live = format!("/api/v1/periods/{period}/coverage");
        app.get(&t.accountant, &live).await.expect_problem(
            StatusCode::CONFLICT,
            Some("no-list"),
            "no list yet",
        );
        app.upload_list(&t.accountant, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "list");

        let r = app.get(&t.auditor, &live).await;
        r.expect_status(StatusCode::OK, "live coverage");
        let live1 = r.json();
        assert_eq!(live1["paid_cashless"], 1, "Bình, paid by callback");
        assert_eq!(live1["outcomes"]["matched"], 1);
        assert_eq!(live1["unmatched_payouts"]["count"], 1);
        assert_eq!(live1["amount_paid"], "1500000");

        // A stored run records the callbacks as an input and then stays as it was.
        let run = app.reconcile(&t.accountant, period).await;
        run.expect_status(StatusCode::CREATED, "run");
        let run_id = run.json()["id"].as_i64().unwrap_or(0);
        let report_path = format!("/api/v1/reconciliations/{run_id}");
        let before = app.get(&t.auditor, &report_path).await.body;
        let meta = app
            .get(&t.auditor, &format!("{report_path}/meta"))
            .await
            .json();
        let inputs = meta["meta"]["inputs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            inputs
                .iter()
                .any(|i| i["role"] == "callbacks" && i["data_rows"] == 2),
            "{meta}"
        );

        // Dung (VietinBank on the list) paid 3,000,000 by VietinBank: live figures move.
        let mut dung = payout("L-3", "025160000104", "3000000", "success");
        dung["account_number"] = json!("108000123457");
        let (vtb, vtb_secret) = make_bank_token(app.store.as_ref(), "vietinbank", "ICB").await;
        app.post_callback(&vtb, &vtb_secret, &dung.to_string(), 0)
            .await
            .expect_status(StatusCode::OK, "Dung");
        let r = app.get(&t.auditor, &live).await;
        assert_eq!(
            live_header(&r),
            "current",
            "no background refresher: taken in first"
        );
        let live2 = r.json();
        assert_eq!(live2["paid_cashless"], 2);
        assert_eq!(live2["amount_paid"], "4500000");

        // With a background refresher (as `doisoat serve` runs), a read does not wait for
        // it: the kept figures, said to be catching up; then the callback is in.
        doisoat::service::live::refreshed_in_background(&app.store);
        let mut extra = payout("L-4", "037153000257", "700000", "success");
        extra["account_number"] = json!("999000111");
        post(&app, &extra)
            .await
            .expect_status(StatusCode::OK, "L-4");
        let r = app.get(&t.auditor, &live).await;
        assert_eq!(live_header(&r), "catching-up");
        assert_eq!(r.json()["unmatched_payouts"]["count"], 1, "not in yet");
        let units = format!("/api/v1/periods/{period}/coverage/units?parent=VN");
        let r = app.get(&t.auditor, &units).await;
        r.expect_status(StatusCode::OK, "units");
        assert_eq!(live_header(&r), "catching-up");
        doisoat::service::live::refresh_pending(app.store.as_ref())
            .await
            .expect("refresh");
        let r = app.get(&t.auditor, &live).await;
        assert_eq!(live_header(&r), "current");
        assert_eq!(r.json()["unmatched_payouts"]["count"], 2, "taken in");
        assert_eq!(r.json()["amount_paid"], "4500000", "paid to nobody listed");

        // A new bank file changes the inputs: a read does not wait for the full recompute
        // (the server does it in the background), and says the figures are updating.
        let before_file = r.json();
        app.upload_payouts(
            &t.accountant,
            period,
            &fixture_path("ket_qua_ngan_hang.csv"),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "bank file");
        let r = app.get(&t.auditor, &live).await;
        r.expect_status(StatusCode::OK, "live while updating");
        assert_eq!(live_header(&r), "updating");
        let mut after_file = None;
        for _ in 0..200 {
            let r = app.get(&t.auditor, &live).await;
            if live_header(&r) == "current" {
                after_file = Some(r.json());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let after_file = after_file.expect("recomputed in the background");
        assert_ne!(after_file, before_file, "the bank file counts");
        assert_eq!(
            app.get(&t.auditor, &report_path).await.body,
            before,
            "the stored run is immutable"
        );

        // Banks may not read figures; the audit trail has the callbacks and verifies.
        app.get(&t.bank, &live).await.expect_problem(
            StatusCode::FORBIDDEN,
            Some("forbidden"),
            "bank reads",
        );
        let audit = app.get(&t.auditor, "/api/v1/audit?limit=1000").await.json();
        let callbacks = audit["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter(|e| e["action"] == "callback.payouts")
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(callbacks, 4);
        let v = app.get(&t.auditor, "/api/v1/audit/verify").await.json();
        assert_eq!(v["ok"], true);
    })
    .await;
}

/// A bank's token speaks only for that bank: Vietcombank posting a payout for Bình (listed
/// with Agribank), even with her own account number, pays nobody. The callback is kept and
/// shown as an unmatched payout flagged `wrong_bank`; Bình stays on the follow-up list and
/// Agribank's figures do not move. Agribank's own callback then counts.
#[tokio::test]
async fn a_bank_cannot_mark_another_banks_beneficiary_paid() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let period = period_2024_09(&app).await;
        app.upload_list(&t.accountant, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "list");
        let live = format!("/api/v1/periods/{period}/coverage");
        let before = app.get(&t.auditor, &live).await.json();

        let (vcb, vcb_secret) = make_bank_token(app.store.as_ref(), "vcb", "VCB").await;
        for (tref, account) in [("VCB-1", "4200205123457"), ("VCB-2", "0011000999999")] {
            let body = payout(tref, "025142000102", "1500000", "success").to_string();
            let body = body.replace("4200205123457", account);
            app.post_callback(&vcb, &vcb_secret, &body, 0)
                .await
                .expect_status(StatusCode::OK, "stored: nothing lost");
        }
        let after = app.get(&t.auditor, &live).await.json();
        for key in ["paid_cashless", "amount_paid", "outcomes"] {
            assert_eq!(after[key], before[key], "{key}: Bình is not paid by VCB");
        }
        assert_eq!(
            after["unmatched_payouts"]["count"],
            before["unmatched_payouts"]["count"].as_u64().unwrap_or(0) + 2
        );
        assert_eq!(after["flags"]["wrong_bank"], 2);
        let bank_row = |report: &Value, code: &str| {
            report["by_bank"]
                .as_array()
                .and_then(|b| b.iter().find(|s| s["bank_code"] == code).cloned())
                .unwrap_or(Value::Null)
        };
        assert_eq!(
            bank_row(&after, "VBA"),
            bank_row(&before, "VBA"),
            "Agribank's figures do not move"
        );
        assert_eq!(bank_row(&after, "VCB")["unmatched_payouts"]["count"], 2);
        assert_eq!(bank_row(&after, "VCB")["flags"]["wrong_bank"], 2);

        // Shown: in a run's exceptions, filterable, and Bình is still to follow up.
        let run = app.reconcile(&t.accountant, period).await;
        run.expect_status(StatusCode::CREATED, "run");
        let run_id = run.json()["id"].as_i64().unwrap_or(0);
        let page = app
            .get(
                &t.auditor,
                &format!("/api/v1/reconciliations/{run_id}/exceptions?flag=wrong_bank"),
            )
            .await
            .json();
        assert_eq!(page["total"], 2, "{page}");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        assert!(
            items
                .iter()
                .all(|i| i["kind"] == "unmatched_payout" && i["bank"] == "Vietcombank")
        );
        let binh = app
            .get(
                &t.auditor,
                &format!(
                    "/api/v1/reconciliations/{run_id}/exceptions?q=025142000102&outcome=unpaid"
                ),
            )
            .await
            .json();
        assert_eq!(binh["total"], 1, "Bình is still unpaid: {binh}");

        // Agribank's own callback for her counts.
        post(&app, &payout("VBA-1", "025142000102", "1500000", "success"))
            .await
            .expect_status(StatusCode::OK, "Agribank");
        let paid = app.get(&t.auditor, &live).await.json();
        assert_eq!(
            paid["paid_cashless"].as_u64(),
            before["paid_cashless"].as_u64().map(|n| n + 1)
        );
        assert_eq!(paid["flags"]["wrong_bank"], 2);
    })
    .await;
}

/// The `x-doisoat-live` header of a live read.
fn live_header(r: &TestResponse) -> &str {
    r.headers
        .get("x-doisoat-live")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("(none)")
}

/// A bank reads back what doisoat holds from it (`GET /api/v1/callbacks/payouts`): its own
/// payouts of a period, never another bank's, each with how it links to the current list
/// now; paged by cursor or offset; the period named as the POST names it.
#[tokio::test]
async fn a_bank_reads_back_its_payouts_with_their_links() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let read = |token: String, query: String| {
            let app = &app;
            async move {
                app.get(&token, &format!("/api/v1/callbacks/payouts?{query}"))
                    .await
            }
        };
        let period = period_2024_09(&app).await;
        let refs = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| i["transaction_ref"].as_str().unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        let item = |page: &Value, tref: &str| -> Value {
            page["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["transaction_ref"] == tref))
                .cloned()
                .unwrap_or(Value::Null)
        };

        // Before the list arrives every payout links to nobody. One object is answered
        // with one object (docs/callbacks.md, section 6).
        let r = post(&app, &payout("A-1", "025142000102", "1500000", "success")).await;
        r.expect_status(StatusCode::OK, "Bình");
        let answer = r.json();
        let keys: Vec<&str> = answer
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "payout_id",
                "received_at",
                "status",
                "transaction_ref",
                "version"
            ],
            "{answer}"
        );
        let r = read(t.bank.clone(), "period=2024-09".into()).await;
        r.expect_status(StatusCode::OK, "read back before the list");
        let page = r.json();
        assert_eq!(
            (page["total"].as_i64(), page["bank"].as_str()),
            (Some(1), Some("VBA"))
        );
        assert_eq!(item(&page, "A-1")["link"], "unmatched", "{page}");

        app.upload_list(&t.accountant, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "list");
        // Giang by account alone; An paid too little; a payout to nobody listed; Nga paid,
        // then returned.
        let mut giang = payout("A-2", "", "1500000", "success");
        giang["population_id"] = Value::Null;
        giang["account_number"] = json!("4200205123462");
        giang["beneficiary_name"] = json!("VU VAN GIANG");
        let mut an = payout("A-3", "025038000101", "1000000", "success");
        an["account_number"] = json!("4200205123456");
        an["beneficiary_name"] = json!("NGUYEN VAN AN");
        let mut nobody = payout("A-4", "037153000257", "700000", "success");
        nobody["account_number"] = json!("999000111");
        let mut nga = payout("A-5", "025145000112", "1500000", "success");
        nga["account_number"] = json!("4200205123467");
        nga["beneficiary_name"] = json!("LY THI NGA");
        post(&app, &json!([giang, an, nobody, nga]))
            .await
            .expect_status(StatusCode::OK, "batch");
        nga["status"] = json!("returned");
        nga["value_date"] = json!("2024-09-25");
        nga["reason"] = json!("Tài khoản đã đóng");
        // An array, even of one, is answered with `results`.
        let r = post(&app, &json!([nga])).await;
        r.expect_status(StatusCode::OK, "returned");
        assert_eq!(r.json()["results"][0]["version"], 2, "{}", r.json());
        // Vietcombank posts for Bình, listed with Agribank: stored, paying nobody.
        let (vcb, vcb_secret) = make_bank_token(app.store.as_ref(), "vcb", "VCB").await;
        let wrong = payout("VCB-1", "025142000102", "1500000", "success").to_string();
        app.post_callback(&vcb, &vcb_secret, &wrong, 0)
            .await
            .expect_status(StatusCode::OK, "VCB for Bình");

        // Agribank's own five, in the order they arrived, and none of Vietcombank's; the
        // period as the POST names it.
        let r = read(t.bank.clone(), "period=Th%C3%A1ng%209%2F2024".into()).await;
        r.expect_status(StatusCode::OK, "read back");
        let page = r.json();
        assert_eq!(page["total"], 5, "{page}");
        assert_eq!(
            (page["period"].as_str(), page["programme"].as_str()),
            (Some("2024-09"), Some("TCXH"))
        );
        assert_eq!(refs(&page), ["A-1", "A-2", "A-3", "A-4", "A-5"]);
        assert!(page.get("next_after").is_none(), "{page}");
        let binh = item(&page, "A-1");
        assert_eq!(
            (
                &binh["link"],
                &binh["outcome"],
                &binh["amount"],
                &binh["status"]
            ),
            (
                &json!("linked"),
                &json!("matched"),
                &json!("1500000"),
                &json!("success")
            ),
            "{binh}"
        );
        assert_eq!(binh["population_id"], "025142000102");
        assert_eq!(binh["account_number"], "4200205123457");
        assert_eq!(binh["value_date"], "2024-09-20");
        assert_eq!(binh["version"], 1);
        assert_eq!(binh["received_at"], binh["updated_at"]);
        assert_eq!(
            (&binh["payout_id"], &binh["received_at"]),
            (&answer["payout_id"], &answer["received_at"]),
            "the POST's answer names the payout read back"
        );
        let giang = item(&page, "A-2");
        assert_eq!(giang["link"], "linked_by_account", "{giang}");
        assert_eq!(giang["flags"], json!(["linked_by_account"]));
        assert_eq!(giang["population_id"], Value::Null);
        assert_eq!(item(&page, "A-3")["outcome"], "underpaid");
        let nobody = item(&page, "A-4");
        assert_eq!(
            (&nobody["link"], &nobody["flags"]),
            (&json!("unmatched"), &json!([]))
        );
        assert!(nobody.get("outcome").is_none(), "{nobody}");
        let nga = item(&page, "A-5");
        assert_eq!(
            (
                &nga["status"],
                &nga["version"],
                &nga["outcome"],
                &nga["value_date"]
            ),
            (
                &json!("returned"),
                &json!(2),
                &json!("returned"),
                &json!("2024-09-25")
            ),
            "{nga}"
        );
        assert_eq!(nga["reason"], "Tài khoản đã đóng");

        // Vietcombank sees its one payout, refused as another bank's customer.
        let page = read(vcb.clone(), "period=2024-09".into()).await.json();
        assert_eq!(refs(&page), ["VCB-1"], "{page}");
        let vcb1 = item(&page, "VCB-1");
        assert_eq!(
            (&vcb1["link"], &vcb1["flags"]),
            (&json!("unmatched"), &json!(["wrong_bank"]))
        );
        // A bank with nothing in the period: an empty page.
        let (vtb, _) = make_bank_token(app.store.as_ref(), "vietinbank", "ICB").await;
        let page = read(vtb, "period=2024-09".into()).await.json();
        assert_eq!((page["total"].as_i64(), refs(&page).len()), (Some(0), 0));

        // Paging: by cursor, then by offset.
        let first = read(t.bank.clone(), "period=2024-09&limit=2".into())
            .await
            .json();
        assert_eq!(
            (refs(&first), first["limit"].as_i64()),
            (vec!["A-1".to_owned(), "A-2".to_owned()], Some(2))
        );
        let after = first["next_after"].as_i64().unwrap_or(0);
        assert_eq!(Some(after), item(&first, "A-2")["payout_id"].as_i64());
        let second = read(
            t.bank.clone(),
            format!("period=2024-09&limit=2&after={after}"),
        )
        .await
        .json();
        assert_eq!(refs(&second), ["A-3", "A-4"]);
        assert_eq!(second["total"], 5, "the count is of them all");
        let last = second["next_after"].as_i64().unwrap_or(0);
        let third = read(
            t.bank.clone(),
            format!("period=2024-09&limit=2&after={last}"),
        )
        .await
        .json();
        assert_eq!(refs(&third), ["A-5"]);
        assert!(third.get("next_after").is_none(), "{third}");
        let skipped = read(t.bank.clone(), "period=2024-09&limit=2&offset=3".into())
            .await
            .json();
        assert_eq!(refs(&skipped), ["A-4", "A-5"]);
        let big = read(t.bank.clone(), "period=2024-09&limit=5000".into())
            .await
            .json();
        assert_eq!(big["limit"], 1000);
        read(t.bank.clone(), "period=2024-09&after=1&offset=1".into())
            .await
            .expect_problem(
                StatusCode::BAD_REQUEST,
                Some("bad-query"),
                "after and offset",
            );
        read(t.bank.clone(), "period=2024-09&limit=-1".into())
            .await
            .expect_problem(StatusCode::BAD_REQUEST, Some("bad-query"), "negative limit");

        // Periods refused as the POST refuses them: 422 naming the field.
        for (query, slug) in [
            ("period=2024-10", "unknown-period"),
            ("period=2024-09&programme=NCC", "unknown-period"),
            ("period=sometime", "invalid-query"),
            ("limit=10", "invalid-query"),
        ] {
            let problem = read(t.bank.clone(), query.into()).await.expect_problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(slug),
                query,
            );
            assert_eq!(problem["field"], "period", "{query}");
        }

        // Only bank tokens read back; no token at all is 401.
        for token in [&t.admin, &t.accountant, &t.auditor] {
            read(token.clone(), "period=2024-09".into())
                .await
                .expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), "not a bank");
        }
        let r = app
            .send(
                axum::http::Method::GET,
                "/api/v1/callbacks/payouts?period=2024-09",
                None,
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    })
    .await;
}
