//! Carrying over (issue 15): an approved run's follow-up becomes arrears (truy lĩnh) owed in
//! a later period; that period's live figures and runs show them due, paid and outstanding
//! apart from the month's own amounts, across two periods, with every refusal. On SQLite
//! and, when `TEST_DATABASE_URL` is set, PostgreSQL.

use crate::comparison::period;
use crate::support::{TestApp, for_each_backend, id_of};

use axum::http::StatusCode;
use serde_json::{Value, json};

const HEADER: &str =
    "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n";

/// August: A is paid, B never, C 700,000 of 1,200,000, D's transfer fails; E's ID is not
/// valid (unpaid, but nobody can be found by it next month).
const AUGUST: &str = "\
001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,NCT,1500000,1001,Agribank
001090000002,TRAN THI BINH,1990,Phường Ba Đình,NCT,1000000,1002,Agribank
001090000003,LE VAN CUONG,1990,Phường Ba Đình,NCT,1200000,1003,Agribank
001090000004,PHAM VAN DUNG,1990,Phường Ba Đình,NCT,1000000,1004,Agribank
0010900000XY,HOANG VAN EM,1990,Phường Ba Đình,NCT,1000000,1005,Agribank
";

const AUGUST_PAID: &str = "\
transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank
FT1,001090000001,1001,NGUYEN VAN AN,1500000,success,2024-08-20,Agribank
FT3,001090000003,1003,LE VAN CUONG,700000,success,2024-08-20,Agribank
FT4,001090000004,1004,PHAM VAN DUNG,1000000,failed,2024-08-20,Agribank
";

const SEPTEMBER: &str = "\
001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,NCT,1500000,1001,Agribank
001090000002,TRAN THI BINH,1990,Phường Ba Đình,NCT,1000000,1002,Agribank
001090000003,LE VAN CUONG,1990,Phường Ba Đình,NCT,1200000,1003,Agribank
001090000004,PHAM VAN DUNG,1990,Phường Ba Đình,NCT,1000000,1004,Agribank
";

/// September: B is paid the month and the arrears apart, C both in one transfer, D only
/// the month (the arrears come later, by callback).
const SEPTEMBER_PAID: &str = "\
transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank
FS1,001090000001,1001,NGUYEN VAN AN,1500000,success,2024-09-20,Agribank
FS2,001090000002,1002,TRAN THI BINH,1000000,success,2024-09-20,Agribank
FS2B,001090000002,1002,TRAN THI BINH,1000000,success,2024-09-21,Agribank
FS3,001090000003,1003,LE VAN CUONG,1700000,success,2024-09-20,Agribank
FS4,001090000004,1004,PHAM VAN DUNG,1000000,success,2024-09-20,Agribank
";

async fn inputs(app: &TestApp, period: i64, list: &str, paid: &str) {
    let t = &app.tokens.accountant;
    app.upload_form(
        t,
        &format!("/api/v1/periods/{period}/beneficiary-lists"),
        "ds.csv",
        format!("{HEADER}{list}").as_bytes(),
        &[("unit", "01")],
    )
    .await
    .expect_status(StatusCode::CREATED, "list");
    app.upload_bytes(
        t,
        &format!("/api/v1/periods/{period}/payout-files"),
        "kq.csv",
        paid.as_bytes(),
        Some("Agribank"),
    )
    .await
    .expect_status(StatusCode::CREATED, "bank file");
}

async fn run(app: &TestApp, period: i64) -> Value {
    let r = app.reconcile(&app.tokens.accountant, period).await;
    r.expect_status(StatusCode::CREATED, "reconcile");
    let id = id_of(&r.json());
    let r = app
        .get(
            &app.tokens.auditor,
            &format!("/api/v1/reconciliations/{id}"),
        )
        .await;
    r.expect_status(StatusCode::OK, "report");
    let mut report = r.json();
    report["id"] = json!(id);
    report
}

async fn carry(
    app: &TestApp,
    token: &str,
    period: i64,
    from_run: &Value,
) -> crate::support::TestResponse {
    app.post_json(
        token,
        &format!("/api/v1/periods/{period}/carry-over"),
        &json!({"from_run": from_run}),
    )
    .await
}

fn arrears(v: &Value) -> (u64, String, String, String) {
    let a = &v["arrears"];
    let text = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
    (
        a["beneficiaries"].as_u64().unwrap_or(u64::MAX),
        text("amount_due"),
        text("amount_paid"),
        text("amount_outstanding"),
    )
}

fn person<'a>(rows: &'a Value, id: &str) -> &'a Value {
    rows["rows"]
        .as_array()
        .and_then(|r| r.iter().find(|p| p["population_id"] == id))
        .unwrap_or(&Value::Null)
}

#[tokio::test]
async fn an_approved_runs_unpaid_are_owed_next_month_and_counted_apart() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let july = period(&app, "2024-07", "TCXH").await;
        let august = period(&app, "2024-08", "TCXH").await;
        let september = period(&app, "2024-09", "TCXH").await;
        let other = period(&app, "2024-09", "NCC").await;
        inputs(&app, august, AUGUST, AUGUST_PAID).await;
        let aug = run(&app, august).await;
        let aug_run = aug["id"].clone();
        assert!(aug.get("arrears").is_none(), "no carry-over, no key: {aug}");

        // Only an approved run is carried.
        carry(&app, &t.accountant, september, &aug_run)
            .await
            .expect_problem(StatusCode::CONFLICT, Some("not-approved"), "a draft run");
        for (token, step) in [(&t.accountant, "submit"), (&t.approver, "approve")] {
            app.post_json(
                token,
                &format!("/api/v1/reconciliations/{aug_run}/{step}"),
                &json!({}),
            )
            .await
            .expect_status(StatusCode::OK, step);
        }
        // Roles that do not write; an earlier period; another programme; no such run.
        for token in [&t.approver, &t.auditor, &t.bank] {
            carry(&app, token, september, &aug_run)
                .await
                .expect_status(StatusCode::FORBIDDEN, "a role that does not write");
        }
        for p in [july, other] {
            carry(&app, &t.accountant, p, &aug_run)
                .await
                .expect_problem(
                    StatusCode::BAD_REQUEST,
                    Some("wrong-period"),
                    "not a later period of the programme",
                );
        }
        carry(&app, &t.accountant, september, &json!(999_999))
            .await
            .expect_status(StatusCode::NOT_FOUND, "no such run");

        let r = carry(&app, &t.accountant, september, &aug_run).await;
        r.expect_status(StatusCode::CREATED, "carry over");
        let c = r.json();
        assert_eq!(c["people"], 3, "B unpaid, C's rest, D failed: {c}");
        assert_eq!(c["amount"], "2500000", "{c}");
        assert_eq!(c["skipped"], 1, "E has no valid ID: {c}");
        assert_eq!(c["from_period_code"], "2024-08");
        assert_eq!(c["unit"], "VN");
        carry(&app, &t.accountant, september, &aug_run)
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "carried twice");

        // September: live figures before any list say everything is owed.
        let a = app
            .get(&t.auditor, &format!("/api/v1/periods/{september}/arrears"))
            .await;
        a.expect_status(StatusCode::OK, "arrears before any list");
        assert_eq!(
            arrears(&a.json()),
            (3, "2500000".into(), "0".into(), "2500000".into())
        );
        assert_eq!(person(&a.json(), "001090000002")["listed"], false);

        inputs(&app, september, SEPTEMBER, SEPTEMBER_PAID).await;
        let live = app
            .get(&t.auditor, &format!("/api/v1/periods/{september}/coverage"))
            .await;
        live.expect_status(StatusCode::OK, "live figures");
        let live = live.json();
        assert_eq!(
            arrears(&live),
            (3, "2500000".into(), "1500000".into(), "1000000".into()),
            "B's and C's paid, D's outstanding: {live}"
        );
        assert_eq!(live["amount_paid"], "4700000", "the month's own: {live}");
        assert_eq!(live["amount_due"], "4700000");
        assert_eq!(live["outcomes"]["matched"], 4, "nobody overpaid: {live}");
        assert_eq!(live["outcomes"]["duplicate"], 0);

        let rows = app
            .get(
                &t.accountant,
                &format!("/api/v1/periods/{september}/arrears?unit=01"),
            )
            .await
            .json();
        assert_eq!(rows["total"], 3);
        let b = person(&rows, "001090000002");
        assert_eq!(
            (
                b["amount_due"].clone(),
                b["amount_paid"].clone(),
                b["amount_outstanding"].clone()
            ),
            (json!("1000000"), json!("1000000"), json!("0"))
        );
        assert_eq!(b["kinds"], json!(["unpaid"]));
        assert_eq!(b["from_periods"], json!(["2024-08"]));
        assert_eq!(b["listed"], true);
        assert_eq!(b["outcome"], "matched");
        assert_eq!(person(&rows, "001090000003")["kinds"], json!(["underpaid"]));
        assert_eq!(
            person(&rows, "001090000004")["amount_outstanding"],
            "1000000"
        );
        // The carry-over was the nation's: listed at the nation, not in a province's view
        // (it speaks of other provinces' people too), whose own people are in the rows.
        assert_eq!(rows["carry_overs"], json!([]), "{rows}");
        let national = app
            .get(&t.auditor, &format!("/api/v1/periods/{september}/arrears"))
            .await
            .json();
        assert_eq!(national["carry_overs"][0]["from_run"], aug_run);
        // Another unit's subtree has none of them.
        let elsewhere = app
            .get(
                &t.auditor,
                &format!("/api/v1/periods/{september}/arrears?unit=79"),
            )
            .await
            .json();
        assert_eq!(elsewhere["total"], 0, "{elsewhere}");

        // D's arrears arrive by callback: taken in by the live refresh, matched.
        let cb = json!({
            "transaction_ref": "FS4B", "period": "2024-09", "population_id": "001090000004",
            "account_number": "1004", "beneficiary_name": "PHAM VAN DUNG", "amount": "1000000",
            "currency": "VND", "status": "success", "value_date": "2024-09-25",
        });
        app.post_callback(&t.bank, &t.bank_secret, &cb.to_string(), 0)
            .await
            .expect_status(StatusCode::OK, "callback");
        let live = app
            .get(&t.auditor, &format!("/api/v1/periods/{september}/coverage"))
            .await
            .json();
        assert_eq!(
            arrears(&live),
            (3, "2500000".into(), "2500000".into(), "0".into()),
            "{live}"
        );
        assert_eq!(live["outcomes"]["matched"], 4, "{live}");
        assert_eq!(live["outcomes"]["overpaid"], 0, "{live}");
        // The live cells agree with a reconciliation of every stored row.
        let recomputed =
            doisoat::service::live_report_recomputed(app.store.as_ref(), september, "VN")
                .await
                .unwrap();
        let recomputed = serde_json::to_value(&recomputed).unwrap();
        for k in ["amount_paid", "outcomes", "arrears", "paid_cashless"] {
            assert_eq!(live[k], recomputed[k], "{k}");
        }

        // A run of September reports the same, lists the arrears as an input, and its
        // figures stay as they are whatever comes next.
        let sep = run(&app, september).await;
        assert_eq!(arrears(&sep), arrears(&live));
        assert_eq!(sep["amount_paid"], "4700000");
        let meta = app
            .get(
                &t.auditor,
                &format!("/api/v1/reconciliations/{}/meta", sep["id"]),
            )
            .await
            .json();
        let inputs = meta["meta"]["inputs"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(inputs.iter().any(|i| i["role"] == "arrears"), "{inputs:?}");

        // The workbook's summary has the arrears apart.
        let r = app
            .download(
                &t.auditor,
                sep["id"].as_i64().unwrap_or_default(),
                "report.xlsx",
            )
            .await;
        r.expect_status(StatusCode::OK, "report.xlsx");
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(r.body.to_vec())).unwrap();
        let range = calamine::Reader::worksheet_range(&mut book, "Tổng hợp").unwrap();
        let value_of = |label: &str| {
            range
                .rows()
                .find(|row| row.first() == Some(&calamine::Data::String(label.to_owned())))
                .and_then(|row| row.get(1).cloned())
        };
        assert_eq!(
            value_of("Số người được truy lĩnh"),
            Some(calamine::Data::Float(3.0))
        );
        assert_eq!(
            value_of("Đã chi truy lĩnh"),
            Some(calamine::Data::Float(2_500_000.0))
        );
        assert_eq!(
            value_of("Truy lĩnh còn nợ"),
            Some(calamine::Data::Float(0.0))
        );

        // Once September is approved and closed, nothing more is carried into it.
        for (token, step) in [(&t.accountant, "submit"), (&t.approver, "approve")] {
            app.post_json(
                token,
                &format!("/api/v1/reconciliations/{}/{step}", sep["id"]),
                &json!({}),
            )
            .await
            .expect_status(StatusCode::OK, step);
        }
        carry(&app, &t.accountant, september, &aug_run)
            .await
            .expect_problem(
                StatusCode::CONFLICT,
                Some("period-closed"),
                "into a closed period",
            );

        // Audited.
        let entries = app.store.audit_entries(0, 10_000).await.unwrap();
        let e = entries
            .iter()
            .find(|e| e.action == "period.carry_over")
            .expect("a carry-over in the audit trail");
        let d: Value = serde_json::from_str(&e.details).unwrap();
        assert_eq!(d["people"], 3);
        assert_eq!(d["from_run"], aug_run);
    })
    .await;
}

/// Arrears still owed when a period is approved are carried on to the next one, with the
/// month's own follow-up: August → September → October.
#[tokio::test]
async fn arrears_still_owed_are_carried_on() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let one = "001090000002,TRAN THI BINH,1990,Phường Ba Đình,NCT,1000000,1002,Agribank\n";
        let month_only = |m: &str| {
            format!(
                "transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank\n\
                 F{m},001090000002,1002,TRAN THI BINH,1000000,success,2024-{m}-20,Agribank\n"
            )
        };
        let approve = |id: Value| {
            let app = &app;
            let t = t.clone();
            async move {
                for (token, step) in [(&t.accountant, "submit"), (&t.approver, "approve")] {
                    app.post_json(token, &format!("/api/v1/reconciliations/{id}/{step}"), &json!({}))
                        .await
                        .expect_status(StatusCode::OK, step);
                }
            }
        };
        let august = period(&app, "2024-08", "TCXH").await;
        let september = period(&app, "2024-09", "TCXH").await;
        let october = period(&app, "2024-10", "TCXH").await;
        // August: B is not paid, nor G, whom the accountant finds is not owed (wont_fix).
        let g = "001090000007,DO VAN GIANG,1990,Phường Ba Đình,NCT,1000000,1007,Agribank\n";
        inputs(
            &app,
            august,
            &format!("{one}{g}"),
            "transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank\n",
        )
        .await;
        let aug = run(&app, august).await;
        app.post_json(
            &t.accountant,
            &format!(
                "/api/v1/reconciliations/{}/exceptions/b:001090000007/resolutions",
                aug["id"]
            ),
            &json!({"action": "note", "state": "wont_fix", "note": "đã mất ngày 02/08"}),
        )
        .await
        .expect_status(StatusCode::CREATED, "wont_fix");
        approve(aug["id"].clone()).await;
        let r = carry(&app, &t.accountant, september, &aug["id"]).await;
        r.expect_status(StatusCode::CREATED, "August into September");
        assert_eq!(
            (r.json()["people"].clone(), r.json()["skipped"].clone()),
            (json!(1), json!(1)),
            "G is not owed: {}",
            r.json()
        );
        // September: B is paid the month only; the arrears stay owed.
        inputs(&app, september, one, &month_only("09")).await;
        let sep = run(&app, september).await;
        assert_eq!(
            arrears(&sep),
            (1, "1000000".into(), "0".into(), "1000000".into())
        );
        assert_eq!(sep["outcomes"]["matched"], 1, "the month is paid: {sep}");
        approve(sep["id"].clone()).await;
        let r = carry(&app, &t.accountant, october, &sep["id"]).await;
        r.expect_status(StatusCode::CREATED, "September into October");
        assert_eq!(r.json()["people"], 1, "{}", r.json());
        assert_eq!(r.json()["amount"], "1000000");
        // August's people were carried once: not again into October.
        carry(&app, &t.accountant, october, &aug["id"])
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "August into two months");
        let rows = app
            .get(&t.accountant, &format!("/api/v1/periods/{october}/arrears"))
            .await
            .json();
        let b = person(&rows, "001090000002");
        assert_eq!(b["kinds"], json!(["arrears"]), "{rows}");
        assert_eq!(b["from_periods"], json!(["2024-09"]));
        assert_eq!(b["amount_outstanding"], "1000000");
    })
    .await;
}
