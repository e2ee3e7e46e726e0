//! Resolving exceptions (issue 15): each exception's key, its history and state, who may
//! act, and what a link or a payment in cash changes (the live figures and the next run,
//! never the stored run). On SQLite and, with `TEST_DATABASE_URL`, PostgreSQL.

use crate::support::{self, TestApp, for_each_backend, id_of};

use axum::http::StatusCode;
use serde_json::{Value, json};

/// A: listed, unpaid (the bank paid FT1 to a mistyped ID); C: the bank's transfer failed;
/// D: matched; E: an invalid ID (list row 5), with an account, unpaid.
const LIST: &str = "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n\
001090000001,NGUYEN VAN AN,1990,Xã Tân Lập,NCT,1500000,1001,Agribank\n\
001090000003,LE VAN CUONG,1990,Xã Tân Lập,NCT,1000000,1003,Agribank\n\
001090000004,PHAM VAN DUNG,1990,Xã Tân Lập,NCT,2000000,2001,Agribank\n\
12AB,TRAN THI EM,1990,Xã Tân Lập,NCT,500000,3001,Agribank\n";

const PAYOUTS: &str = "transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank\n\
FT1,001090000009,9999,NGUYEN VAN AN,1500000,success,2025-09-20,Agribank\n\
FT2,001090000003,1003,LE VAN CUONG,1000000,failed,2025-09-20,Agribank\n\
FT3,001090000004,2001,PHAM VAN DUNG,2000000,success,2025-09-20,Agribank\n";

const A: &str = "b:001090000001";
const C: &str = "b:001090000003";
const E: &str = "b:row:5";
const FT1: &str = "p:VBA:FT1";

struct Seeded {
    period: i64,
    run: i64,
}

async fn seed(app: &TestApp) -> Seeded {
    let t = &app.tokens.accountant;
    let p = app
        .create_period(
            &app.tokens.admin,
            &json!({"code": "2025-09", "target_pct": 80}),
        )
        .await;
    p.expect_status(StatusCode::CREATED, "period");
    let period = id_of(&p.json());
    app.upload_bytes(
        t,
        &format!("/api/v1/periods/{period}/beneficiary-lists"),
        "ds.csv",
        LIST.as_bytes(),
        None,
    )
    .await
    .expect_status(StatusCode::CREATED, "list");
    app.upload_bytes(
        t,
        &format!("/api/v1/periods/{period}/payout-files"),
        "kq.csv",
        PAYOUTS.as_bytes(),
        None,
    )
    .await
    .expect_status(StatusCode::CREATED, "payouts");
    let run = app.reconcile(t, period).await;
    run.expect_status(StatusCode::CREATED, "run");
    Seeded {
        period,
        run: id_of(&run.json()),
    }
}

fn path(run: i64, key: &str) -> String {
    format!("/api/v1/reconciliations/{run}/exceptions/{key}/resolutions")
}

async fn exceptions(app: &TestApp, run: i64, query: &str) -> Vec<Value> {
    let r = app
        .get(
            &app.tokens.auditor,
            &format!("/api/v1/reconciliations/{run}/exceptions?per_page=500{query}"),
        )
        .await;
    r.expect_status(StatusCode::OK, "exceptions");
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

fn by_key<'a>(items: &'a [Value], key: &str) -> Option<&'a Value> {
    items.iter().find(|i| i["key"] == key)
}

async fn resolutions_audited(app: &TestApp) -> usize {
    app.store
        .audit_entries(0, 1_000_000)
        .await
        .map(|e| e.iter().filter(|e| e.action == "exception.resolve").count())
        .unwrap_or(0)
}

#[tokio::test]
async fn resolution_keys_states_and_history() {
    for_each_backend(|app| async move {
        let s = seed(&app).await;
        let t = app.tokens.clone();
        let items = exceptions(&app, s.run, "").await;
        let keys: Vec<&str> = items.iter().filter_map(|i| i["key"].as_str()).collect();
        for k in [A, C, E, FT1] {
            assert!(keys.contains(&k), "{k} among {keys:?}");
        }
        assert!(
            items.iter().all(|i| i["resolution"]["state"] == "open"),
            "open by default"
        );

        // A note that takes it in hand, a note that keeps the state, a confirmation that
        // resolves by default, then won't fix.
        let steps = [
            (
                json!({"action": "note", "state": "in_progress", "note": "Gọi điện cho xã"}),
                "in_progress",
            ),
            (
                json!({"action": "note", "note": "Xã hẹn gửi lại danh sách"}),
                "in_progress",
            ),
            (
                json!({"action": "confirm", "note": "Danh sách đã sửa"}),
                "resolved",
            ),
            (
                json!({"action": "note", "state": "wont_fix", "note": "Để kỳ sau"}),
                "wont_fix",
            ),
        ];
        for (body, state) in &steps {
            let r = app.post_json(&t.accountant, &path(s.run, A), body).await;
            r.expect_status(StatusCode::CREATED, &format!("{body}"));
            let e = r.json();
            assert_eq!(e["state"], *state, "{body}");
            assert_eq!(e["key"], A);
            assert_eq!(e["actor"], "accountant:test-accountant");
            assert_eq!(e["actor_name"], "test-accountant");
        }
        // The history, oldest first, for an auditor too.
        let h = app.get(&t.auditor, &path(s.run, A)).await;
        h.expect_status(StatusCode::OK, "history");
        let h = h.json();
        assert_eq!(h["state"], "wont_fix");
        let entries = h["entries"].as_array().cloned().unwrap_or_default();
        let states: Vec<&str> = entries.iter().filter_map(|e| e["state"].as_str()).collect();
        assert_eq!(
            states,
            ["in_progress", "in_progress", "resolved", "wont_fix"]
        );
        assert_eq!(entries[0]["note"], "Gọi điện cho xã");
        // Nothing recorded: open, no entries.
        let h = app.get(&t.accountant, &path(s.run, E)).await;
        h.expect_status(StatusCode::OK, "history of E");
        assert_eq!(h.json()["state"], "open");
        assert_eq!(h.json()["entries"], json!([]));

        // On the list, and filtered by state.
        let items = exceptions(&app, s.run, "").await;
        let a = by_key(&items, A).expect("A listed");
        assert_eq!(a["resolution"]["state"], "wont_fix");
        assert_eq!(a["resolution"]["entries"], 4);
        assert_eq!(a["resolution"]["last"]["note"], "Để kỳ sau");
        let wont = exceptions(&app, s.run, "&state=wont_fix").await;
        assert_eq!(wont.len(), 1);
        assert_eq!(wont[0]["key"], A);
        let open = exceptions(&app, s.run, "&state=open").await;
        assert_eq!(open.len(), items.len() - 1);
        assert!(by_key(&open, A).is_none());

        // Audited, with the state before and after.
        let trail = app
            .store
            .audit_entries(0, 1_000_000)
            .await
            .unwrap_or_default();
        let resolved: Vec<Value> = trail
            .iter()
            .filter(|e| e.action == "exception.resolve")
            .map(|e| serde_json::from_str(&e.details).unwrap_or_default())
            .collect();
        assert_eq!(resolved.len(), 4);
        assert_eq!(resolved[0]["state_before"], "open");
        assert_eq!(resolved[0]["state"], "in_progress");
        assert_eq!(resolved[3]["state_before"], "resolved");
        assert_eq!(resolved[3]["key"], A);
        let verify = app.get(&t.auditor, "/api/v1/audit/verify").await;
        verify.expect_status(StatusCode::OK, "the chain holds");
    })
    .await;
}

#[tokio::test]
async fn resolution_refusals_change_nothing() {
    for_each_backend(|app| async move {
        let s = seed(&app).await;
        let t = app.tokens.clone();
        let long = "x".repeat(2001);
        let cases: Vec<(String, Value, StatusCode, &str)> = vec![
            (
                A.into(),
                json!({"action": "note", "state": "closed", "note": "?"}),
                StatusCode::BAD_REQUEST,
                "invalid-state",
            ),
            (
                A.into(),
                json!({"action": "delete", "note": "?"}),
                StatusCode::BAD_REQUEST,
                "invalid-action",
            ),
            (
                A.into(),
                json!({"action": "note", "note": long}),
                StatusCode::BAD_REQUEST,
                "note-too-long",
            ),
            (
                A.into(),
                json!({"action": "note"}),
                StatusCode::BAD_REQUEST,
                "nothing-to-record",
            ),
            (
                A.into(),
                json!({"action": "note", "note": "x", "extra": 1}),
                StatusCode::BAD_REQUEST,
                "invalid-json",
            ),
            (
                "b:12345".into(),
                json!({"action": "note", "note": "x"}),
                StatusCode::BAD_REQUEST,
                "invalid-key",
            ),
            (
                "q:1".into(),
                json!({"action": "note", "note": "x"}),
                StatusCode::BAD_REQUEST,
                "invalid-key",
            ),
            // Not an exception of this run: D is matched, B is on no list.
            (
                "b:001090000004".into(),
                json!({"action": "note", "note": "x"}),
                StatusCode::NOT_FOUND,
                "not-found",
            ),
            (
                "p:VBA:FT9".into(),
                json!({"action": "note", "note": "x"}),
                StatusCode::NOT_FOUND,
                "not-found",
            ),
            // Actions that do not fit the exception.
            (
                A.into(),
                json!({"action": "link", "note": "x", "beneficiary": A}),
                StatusCode::CONFLICT,
                "not-a-payout",
            ),
            (
                FT1.into(),
                json!({"action": "paid_in_cash", "note": "x"}),
                StatusCode::CONFLICT,
                "not-a-beneficiary",
            ),
            (
                FT1.into(),
                json!({"action": "link", "beneficiary": A}),
                StatusCode::BAD_REQUEST,
                "note-required",
            ),
            (
                FT1.into(),
                json!({"action": "link", "note": "x"}),
                StatusCode::BAD_REQUEST,
                "beneficiary-required",
            ),
            (
                FT1.into(),
                json!({"action": "link", "note": "x", "beneficiary": "b:001090000002"}),
                StatusCode::CONFLICT,
                "not-on-list",
            ),
            (
                FT1.into(),
                json!({"action": "link", "note": "x", "beneficiary": FT1}),
                StatusCode::BAD_REQUEST,
                "invalid-beneficiary",
            ),
            (
                C.into(),
                json!({"action": "paid_in_cash"}),
                StatusCode::BAD_REQUEST,
                "note-required",
            ),
            (
                C.into(),
                json!({"action": "confirm", "note": "x", "beneficiary": A}),
                StatusCode::BAD_REQUEST,
                "unexpected-beneficiary",
            ),
        ];
        for (key, body, status, slug) in &cases {
            let r = app.post_json(&t.accountant, &path(s.run, key), body).await;
            r.expect_problem(*status, Some(slug), &format!("{key} {body}"));
        }
        app.get(&t.accountant, &path(s.run, "b:001090000004"))
            .await
            .expect_status(StatusCode::NOT_FOUND, "history of a non-exception");
        app.get(&t.accountant, &path(9999, A))
            .await
            .expect_status(StatusCode::NOT_FOUND, "no such run");

        // Who: auditors read and may not act, banks see nothing, a unit's token only acts
        // on runs within its subtree.
        let note = json!({"action": "note", "note": "x"});
        app.get(&t.auditor, &path(s.run, A))
            .await
            .expect_status(StatusCode::OK, "auditor reads");
        app.post_json(&t.auditor, &path(s.run, A), &note)
            .await
            .expect_status(StatusCode::FORBIDDEN, "auditor acts");
        app.get(&t.bank, &path(s.run, A))
            .await
            .expect_status(StatusCode::FORBIDDEN, "bank reads");
        app.post_json(&t.bank, &path(s.run, A), &note)
            .await
            .expect_status(StatusCode::FORBIDDEN, "bank acts");
        app.get(
            &t.bank,
            &format!("/api/v1/reconciliations/{}/exceptions", s.run),
        )
        .await
        .expect_status(StatusCode::FORBIDDEN, "bank lists");
        let ward = support::make_token_in(
            app.store.as_ref(),
            "ke-toan-ba-dinh",
            doisoat::domain::access::Role::Accountant,
            None,
            "00004",
        )
        .await;
        app.post_json(&ward, &path(s.run, A), &note)
            .await
            .expect_status(StatusCode::NOT_FOUND, "a ward's token and the nation's run");
        app.get(&ward, &path(s.run, A)).await.expect_status(
            StatusCode::NOT_FOUND,
            "a ward's token reads the nation's run",
        );

        assert_eq!(resolutions_audited(&app).await, 0, "no refusal is audited");
        let h = app.get(&t.accountant, &path(s.run, A)).await.json();
        assert_eq!(h["entries"], json!([]), "no refusal is stored");
        assert_eq!(
            app.store
                .period_adjustments(s.period)
                .await
                .map(|a| a.len())
                .ok(),
            Some(0)
        );
    })
    .await;
}

/// The live figures of the period as served, and as a full recompute makes them.
async fn live(app: &TestApp, period: i64) -> Value {
    let r = app
        .get(
            &app.tokens.auditor,
            &format!("/api/v1/periods/{period}/coverage"),
        )
        .await;
    r.expect_status(StatusCode::OK, "coverage");
    let full = doisoat::service::live_report_recomputed(app.store.as_ref(), period, "VN")
        .await
        .expect("recompute");
    let mut full = serde_json::to_value(full).unwrap_or_default();
    if let Some(o) = full.as_object_mut() {
        o.remove("outcome_amounts");
    }
    assert_eq!(r.json(), full, "the live cells equal a recompute");
    r.json()
}

#[tokio::test]
async fn resolution_link_and_paid_in_cash_change_the_live_figures_and_the_next_run() {
    for_each_backend(|app| async move {
        let s = seed(&app).await;
        let t = app.tokens.clone();
        let stored = app
            .get(&t.auditor, &format!("/api/v1/reconciliations/{}", s.run))
            .await
            .text();
        let before = live(&app, s.period).await;
        assert_eq!(before["paid_cashless"], 1);
        assert_eq!(before["with_account"], 4);
        assert_eq!(before["unmatched_payouts"]["count"], 1);
        assert_eq!(before["outcomes"]["unpaid"], 2);

        // FT1 went to a mistyped ID: it is A's.
        let r = app
            .post_json(
                &t.accountant,
                &path(s.run, FT1),
                &json!({"action": "link", "beneficiary": A, "note": "Ngân hàng gõ sai số định danh"}),
            )
            .await;
        r.expect_status(StatusCode::CREATED, "link");
        assert_eq!(r.json()["state"], "resolved");
        assert_eq!(r.json()["beneficiary"], A);
        // C was paid at the post office after the transfer failed.
        let r = app
            .post_json(
                &t.admin,
                &path(s.run, C),
                &json!({"action": "paid_in_cash", "note": "Chi tại bưu điện ngày 25/09"}),
            )
            .await;
        r.expect_status(StatusCode::CREATED, "paid in cash");

        let after = live(&app, s.period).await;
        assert_eq!(after["paid_cashless"], 2, "A paid cashless through FT1; C not");
        assert_eq!(after["with_account"], 4, "account coverage does not change");
        assert_eq!(after["cashless_rate_pct"], 50.0);
        assert_eq!(after["unmatched_payouts"]["count"], 0);
        assert_eq!(after["outcomes"]["unpaid"], 1, "E only");
        assert_eq!(after["outcomes"]["matched"], 2);
        assert_eq!(after["outcomes"]["failed"], 1, "C's outcome is the bank's word");
        assert_eq!(after["flags"]["linked_manually"], 1);
        assert_eq!(after["flags"]["paid_in_cash"], 1);
        assert_eq!(after["amount_paid"], "3500000");

        // The stored run never changes.
        let again = app
            .get(&t.auditor, &format!("/api/v1/reconciliations/{}", s.run))
            .await
            .text();
        assert_eq!(again, stored, "the stored run is as it was");

        // The next run counts them, and says so.
        let next = app.reconcile(&t.accountant, s.period).await;
        next.expect_status(StatusCode::CREATED, "next run");
        let next_id = id_of(&next.json());
        let report = next.json()["report"].clone();
        assert_eq!(report["paid_cashless"], 2);
        assert_eq!(report["flags"]["linked_manually"], 1);
        assert_eq!(report["flags"]["paid_in_cash"], 1);
        let items = exceptions(&app, next_id, "").await;
        assert!(by_key(&items, FT1).is_none(), "FT1 links to A now");
        let a = by_key(&items, A).expect("A, flagged");
        assert_eq!(a["kind"], "matched");
        assert_eq!(a["flags"], json!(["linked_manually"]));
        assert_eq!(a["payouts"][0]["reference"], "FT1");
        let c = by_key(&items, C).expect("C, flagged");
        assert_eq!(c["kind"], "failed");
        assert_eq!(c["flags"], json!(["paid_in_cash"]));
        let meta = app
            .get(&t.auditor, &format!("/api/v1/reconciliations/{next_id}/meta"))
            .await
            .json();
        let inputs = meta["meta"]["inputs"].as_array().cloned().unwrap_or_default();
        assert!(
            inputs.iter().any(|i| i["role"] == "adjustments"),
            "the adjustments are an input of the run: {inputs:?}"
        );
        let flagged = exceptions(&app, next_id, "&flag=paid_in_cash").await;
        assert_eq!(flagged.len(), 1);
        // The follow-up (who to pay again) leaves out whoever was paid in cash.
        let fu = app.download(&t.auditor, next_id, "follow-up.xlsx").await;
        fu.expect_status(StatusCode::OK, "follow-up.xlsx");
        let mut wb: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(fu.body.clone()))
                .expect("follow-up.xlsx opens");
        let mut text = String::new();
        for name in calamine::Reader::sheet_names(&wb) {
            if let Ok(range) = calamine::Reader::worksheet_range(&mut wb, &name) {
                for row in range.rows() {
                    for c in row {
                        text.push_str(&c.to_string());
                        text.push('|');
                    }
                }
            }
        }
        assert!(text.contains("TRAN THI EM"), "E is still to pay");
        assert!(!text.contains("LE VAN CUONG"), "C was paid in cash");

        // A callback restating FT1 (a return) is A's too, taken into the live figures.
        let body = json!({
            "transaction_ref": "FT1", "period": "2025-09", "population_id": "001090000009",
            "account_number": "9999", "beneficiary_name": "NGUYEN VAN AN",
            "amount": "1500000", "currency": "VND", "status": "success",
            "value_date": "2025-09-20",
        });
        app.post_callback(&t.bank, &t.bank_secret, &body.to_string(), 0)
            .await
            .expect_status(StatusCode::OK, "callback FT1 success");
        live(&app, s.period).await;
        let mut back = body.clone();
        back["status"] = json!("returned");
        back["value_date"] = json!("2025-09-23");
        app.post_callback(&t.bank, &t.bank_secret, &back.to_string(), 0)
            .await
            .expect_status(StatusCode::OK, "callback FT1 returned");
        let returned = live(&app, s.period).await;
        assert_eq!(returned["outcomes"]["returned"], 1, "A's payout came back");
        assert_eq!(returned["paid_cashless"], 1);
        assert_eq!(returned["unmatched_payouts"]["count"], 0);
    })
    .await;
}

/// A person with an invalid ID is named by list row; paid in cash by that key.
#[tokio::test]
async fn resolution_by_list_row() {
    for_each_backend(|app| async move {
        let s = seed(&app).await;
        let t = app.tokens.clone();
        let r = app
            .post_json(
                &t.accountant,
                &path(s.run, E),
                &json!({"action": "paid_in_cash", "note": "Chi tiền mặt"}),
            )
            .await;
        r.expect_status(StatusCode::CREATED, "E paid in cash");
        let after = live(&app, s.period).await;
        assert_eq!(after["flags"]["paid_in_cash"], 1);
        let adj = app
            .store
            .period_adjustments(s.period)
            .await
            .unwrap_or_default();
        assert_eq!(adj.len(), 1);
        assert_eq!(adj[0].beneficiary_key, "b:row:5@VN");
        assert!(adj[0].list_upload_id.is_some(), "bound to its list version");
    })
    .await;
}
