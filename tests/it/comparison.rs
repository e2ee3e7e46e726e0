//! "Compared with the previous period" (issue 15): `GET /api/v1/periods/{id}/comparison`,
//! the report's `comparison` counts and the flags `account_changed` and
//! `paid_after_removal` of a run, on SQLite and, when `TEST_DATABASE_URL` is set,
//! PostgreSQL.

use crate::support;

use axum::http::StatusCode;
use doisoat::domain::access::Role;
use serde_json::{Value, json};
use support::{TestApp, for_each_backend, id_of};

pub(crate) const HEADER: &str =
    "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n";

/// August in Hà Nội (unit 01): A stays, B is removed, D's amount and E's account change
/// (Ba Đình, 00004); F's account changes in Ngọc Hà (00008).
pub(crate) const AUGUST: &str = "\
001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,NCT,1500000,1001,Agribank
001090000002,TRAN THI BINH,1990,Phường Ba Đình,NCT,1000000,1002,Agribank
001090000004,PHAM VAN DUNG,1990,Phường Ba Đình,NCT,1000000,1004,Agribank
001090000005,HOANG VAN EM,1990,Phường Ba Đình,NCT,1000000,1005,Agribank
001090000006,VU THI PHUONG,1990,Phường Ngọc Hà,NCT,1000000,1006,Agribank
";

/// September: C added in Ba Đình, G in Ngọc Hà; A's account with leading zeros (the same).
pub(crate) const SEPTEMBER: &str = "\
001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,NCT,1500000,001001,Agribank
001090000003,LE VAN CUONG,1990,Phường Ba Đình,NCT,1000000,,
001090000004,PHAM VAN DUNG,1990,Phường Ba Đình,NCT,1200000,1004,Agribank
001090000005,HOANG VAN EM,1990,Phường Ba Đình,NCT,1000000,2005,Agribank
001090000006,VU THI PHUONG,1990,Phường Ngọc Hà,NCT,1000000,2006,Agribank
001090000007,DO VAN GIANG,1990,Phường Ngọc Hà,NCT,1000000,,
";

/// September's bank file: E paid into the new account (account_changed), F into the old
/// one (account_mismatch, not account_changed), B though removed (paid_after_removal).
const SEPTEMBER_PAID: &str = "\
transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank
FT1,001090000001,1001,NGUYEN VAN AN,1500000,success,2024-09-20,Agribank
FT2,001090000005,2005,HOANG VAN EM,1000000,success,2024-09-20,Agribank
FT3,001090000006,1006,VU THI PHUONG,1000000,success,2024-09-20,Agribank
FT4,001090000002,1002,TRAN THI BINH,1000000,success,2024-09-20,Agribank
";

pub(crate) async fn period(app: &TestApp, code: &str, programme: &str) -> i64 {
    let p = app
        .create_period(
            &app.tokens.admin,
            &json!({"code": code, "programme": programme}),
        )
        .await;
    p.expect_status(StatusCode::CREATED, code);
    id_of(&p.json())
}

async fn list(app: &TestApp, period: i64, rows: &str, name: &str) {
    let csv = format!("{HEADER}{rows}");
    app.upload_form(
        &app.tokens.admin,
        &format!("/api/v1/periods/{period}/beneficiary-lists"),
        name,
        csv.as_bytes(),
        &[("unit", "01")],
    )
    .await
    .expect_status(StatusCode::CREATED, name);
}

async fn compared(app: &TestApp, token: &str, period: i64, query: &str) -> Value {
    let r = app
        .get(
            token,
            &format!("/api/v1/periods/{period}/comparison{query}"),
        )
        .await;
    r.expect_status(StatusCode::OK, query);
    r.json()
}

fn ids(v: &Value) -> Vec<(String, String)> {
    v["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    (
                        r["change"].as_str().unwrap_or_default().to_owned(),
                        r["population_id"].as_str().unwrap_or_default()[9..].to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn counts(v: &Value) -> [u64; 4] {
    ["added", "removed", "amount_changed", "account_changed"].map(|k| v[k].as_u64().unwrap_or(99))
}

/// Two months, and around them what must not be taken for the previous period: an older
/// month, another programme's August, and the quarters.
pub(crate) async fn two_months(app: &TestApp) -> (i64, i64) {
    let july = period(app, "2024-07", "TCXH").await;
    list(app, july, AUGUST, "thang7.csv").await;
    let august = period(app, "2024-08", "TCXH").await;
    list(app, august, AUGUST, "thang8.csv").await;
    let september = period(app, "2024-09", "TCXH").await;
    list(app, september, SEPTEMBER, "thang9.csv").await;
    // Another programme's August, with nobody on it, made last: never this one's previous.
    let ncc = period(app, "2024-08", "NCC").await;
    list(
        app,
        ncc,
        "001090000099,X,1990,Phường Ba Đình,NCT,1,,\n",
        "ncc.csv",
    )
    .await;
    (august, september)
}

#[tokio::test]
async fn comparison_counts_and_rows_exactly_by_unit() {
    for_each_backend(|app| async move {
        let (august, september) = two_months(&app).await;
        let t = app.tokens.clone();
        let all = compared(&app, &t.accountant, september, "").await;
        assert_eq!(all["previous_period"]["id"], august);
        assert_eq!(all["previous_period"]["code"], "2024-08");
        assert_eq!(all["previous_period"]["programme"], "TCXH");
        assert_eq!(all["unit"], "VN");
        assert_eq!(counts(&all), [2, 1, 1, 2]);
        assert_eq!(all["total"], 6);
        assert_eq!(all["next_offset"], Value::Null);
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(c, i)| ((*c).to_owned(), (*i).to_owned()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&all),
            pairs(&[
                ("added", "003"),
                ("added", "007"),
                ("removed", "002"),
                ("amount_changed", "004"),
                ("account_changed", "005"),
                ("account_changed", "006"),
            ])
        );
        // Before and after, as listed (A's 001001 is 1001: no change).
        let rows = all["rows"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            rows[3],
            json!({
                "change": "amount_changed", "population_id": "001090000004",
                "name": "PHAM VAN DUNG", "unit": "00004", "commune": "Phường Ba Đình",
                "before": {"amount_due": "1000000", "account": "1004", "bank": "Agribank",
                           "list_upload_id": rows[3]["before"]["list_upload_id"], "list_row": 4},
                "after": {"amount_due": "1200000", "account": "1004", "bank": "Agribank",
                          "list_upload_id": rows[3]["after"]["list_upload_id"], "list_row": 4},
            })
        );
        assert_eq!(rows[0]["before"], Value::Null);
        assert_eq!(rows[0]["after"]["account"], Value::Null);
        assert_eq!(rows[2]["after"], Value::Null);
        assert_eq!(rows[2]["name"], "TRAN THI BINH");
        assert_eq!(rows[4]["before"]["account"], "1005");
        assert_eq!(rows[4]["after"]["account"], "2005");

        // The province is the same; a ward sees its own people only.
        let hanoi = compared(&app, &t.accountant, september, "?unit=01").await;
        assert_eq!(counts(&hanoi), [2, 1, 1, 2]);
        let ba_dinh = compared(&app, &t.accountant, september, "?unit=00004").await;
        assert_eq!(counts(&ba_dinh), [1, 1, 1, 1]);
        assert_eq!(
            ids(&ba_dinh),
            pairs(&[
                ("added", "003"),
                ("removed", "002"),
                ("amount_changed", "004"),
                ("account_changed", "005"),
            ])
        );
        let s = app.store.as_ref();
        let ngoc_ha = support::make_token_in(s, "kt-00008", Role::Accountant, None, "00008").await;
        let own = compared(&app, &ngoc_ha, september, "").await;
        assert_eq!(own["unit"], "00008");
        assert_eq!(counts(&own), [1, 0, 0, 1]);
        // Outside its subtree: not its to know of. A bank reads no periods.
        app.get(
            &ngoc_ha,
            &format!("/api/v1/periods/{september}/comparison?unit=00004"),
        )
        .await
        .expect_status(StatusCode::NOT_FOUND, "another ward");
        app.get(
            &ngoc_ha,
            &format!("/api/v1/periods/{september}/comparison?unit=01"),
        )
        .await
        .expect_status(StatusCode::NOT_FOUND, "the province above");
        app.get(&t.bank, &format!("/api/v1/periods/{september}/comparison"))
            .await
            .expect_status(StatusCode::FORBIDDEN, "a bank");
        app.get(
            &t.accountant,
            &format!("/api/v1/periods/{september}/comparison?change=moved"),
        )
        .await
        .expect_status(StatusCode::BAD_REQUEST, "no such change");
        app.get(&t.accountant, "/api/v1/periods/9999/comparison")
            .await
            .expect_status(StatusCode::NOT_FOUND, "no such period");
        // Auditors read the API's rows whole, as every API answer.
        let audited = compared(&app, &t.auditor, september, "?change=removed").await;
        assert_eq!(audited["rows"][0]["population_id"], "001090000002");
    })
    .await;
}

#[tokio::test]
async fn comparison_pages_and_filters() {
    for_each_backend(|app| async move {
        let (_, september) = two_months(&app).await;
        let t = app.tokens.accountant.clone();
        let whole = ids(&compared(&app, &t, september, "").await);
        let mut paged = Vec::new();
        let mut query = "?limit=4".to_owned();
        let mut pages = 0;
        loop {
            let page = compared(&app, &t, september, &query).await;
            assert_eq!(counts(&page), [2, 1, 1, 2], "counts on every page");
            assert_eq!(page["total"], 6);
            assert!(page["rows"].as_array().map_or(0, Vec::len) <= 4);
            paged.extend(ids(&page));
            pages += 1;
            match page["next_offset"].as_u64() {
                Some(next) => query = format!("?limit=4&offset={next}"),
                None => break,
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(paged, whole);
        // One change, or two (repeated or comma-separated), in the changes' order.
        let accounts = compared(&app, &t, september, "?change=account_changed").await;
        assert_eq!(accounts["total"], 2);
        assert_eq!(accounts["changes"], json!(["account_changed"]));
        assert_eq!(counts(&accounts), [2, 1, 1, 2]);
        let two = compared(
            &app,
            &t,
            september,
            "?change=account_changed&change=added&limit=3&offset=1",
        )
        .await;
        assert_eq!(two["total"], 4);
        assert_eq!(
            ids(&two),
            vec![
                ("added".to_owned(), "007".to_owned()),
                ("account_changed".to_owned(), "005".to_owned()),
                ("account_changed".to_owned(), "006".to_owned()),
            ]
        );
        assert_eq!(two["next_offset"], Value::Null);
        let past = compared(&app, &t, september, "?offset=50").await;
        assert_eq!(past["rows"], json!([]));
        assert_eq!(past["total"], 6);
    })
    .await;
}

#[tokio::test]
async fn comparison_without_a_previous_period_and_quarters_with_quarters() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        // The first month of the programme: null, zeros, no rows (not an error).
        let july = period(&app, "2024-07", "TCXH").await;
        let none = compared(&app, &t, july, "").await;
        assert_eq!(none["previous_period"], Value::Null);
        assert_eq!(counts(&none), [0, 0, 0, 0]);
        assert_eq!(none["rows"], json!([]));
        // Even with no list of its own yet.
        let august = period(&app, "2024-08", "TCXH").await;
        let empty = compared(&app, &t, august, "").await;
        assert_eq!(empty["previous_period"]["code"], "2024-07");
        assert_eq!(counts(&empty), [0, 0, 0, 0]);

        // "2024-09" sorts before "2024-Q3" as text: a quarter follows a quarter only.
        let q2 = period(&app, "2024-Q2", "TCXH").await;
        list(&app, q2, AUGUST, "q2.csv").await;
        let september = period(&app, "2024-09", "TCXH").await;
        list(&app, september, SEPTEMBER, "t9.csv").await;
        let q3 = period(&app, "Quý III/2024", "TCXH").await;
        list(&app, q3, AUGUST, "q3.csv").await;
        let quarter = compared(&app, &t, q3, "").await;
        assert_eq!(quarter["previous_period"]["code"], "2024-Q2");
        assert_eq!(quarter["previous_period"]["id"], q2);
        assert_eq!(counts(&quarter), [0, 0, 0, 0]);
        let month = compared(&app, &t, september, "").await;
        assert_eq!(month["previous_period"]["id"], august);
        // August has no list: everyone on September's is added.
        assert_eq!(counts(&month), [6, 0, 0, 0]);
        // A run of the first quarter has nothing before it.
        let q1 = period(&app, "2024-Q1", "TCXH").await;
        assert_eq!(
            compared(&app, &t, q1, "").await["previous_period"],
            Value::Null
        );
    })
    .await;
}

async fn run_report(app: &TestApp, period: i64) -> (i64, Value) {
    let r = app.reconcile(&app.tokens.accountant, period).await;
    r.expect_status(StatusCode::CREATED, "reconcile");
    let v = r.json();
    (id_of(&v), v["report"].clone())
}

async fn flagged(app: &TestApp, run: i64, flag: &str) -> Vec<(String, String)> {
    let r = app
        .get(
            &app.tokens.accountant,
            &format!("/api/v1/reconciliations/{run}/exceptions?flag={flag}"),
        )
        .await;
    r.expect_status(StatusCode::OK, flag);
    r.json()["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["kind"].as_str().unwrap_or_default().to_owned(),
                        e["population_id"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_run_flags_changed_accounts_paid_and_payouts_after_removal() {
    for_each_backend(|app| async move {
        let (august, september) = two_months(&app).await;
        let t = app.tokens.admin.clone();
        app.upload_bytes(
            &t,
            &format!("/api/v1/periods/{september}/payout-files"),
            "kq9.csv",
            SEPTEMBER_PAID.as_bytes(),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "September's bank file");
        app.upload_bytes(
            &t,
            &format!("/api/v1/periods/{august}/payout-files"),
            "kq8.csv",
            SEPTEMBER_PAID.replace("2024-09", "2024-08").as_bytes(),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "August's bank file");

        let (run, report) = run_report(&app, september).await;
        assert_eq!(
            report["comparison"],
            json!({"previous_period": "2024-08", "added": 2, "removed": 1,
                   "amount_changed": 1, "account_changed": 2})
        );
        assert_eq!(report["flags"]["account_changed"], 1);
        assert_eq!(report["flags"]["paid_after_removal"], 1);
        assert_eq!(
            flagged(&app, run, "account_changed").await,
            vec![("matched".to_owned(), "001090000005".to_owned())]
        );
        assert_eq!(
            flagged(&app, run, "paid_after_removal").await,
            vec![("unmatched_payout".to_owned(), "001090000002".to_owned())]
        );
        // The stored report reads back the same.
        let stored = app.download(&app.tokens.auditor, run, "report.json").await;
        stored.expect_status(StatusCode::OK, "report.json");
        assert_eq!(stored.json()["comparison"], report["comparison"]);

        // August (July before it, the same list): the counts are zero and nothing flagged;
        // July has nothing before it: `previous_period` null.
        let (run8, report8) = run_report(&app, august).await;
        assert_eq!(
            report8["comparison"],
            json!({"previous_period": "2024-07", "added": 0, "removed": 0,
                   "amount_changed": 0, "account_changed": 0})
        );
        assert_eq!(report8["flags"]["account_changed"], 0);
        assert!(flagged(&app, run8, "account_changed").await.is_empty());
        let july = app
            .get(&t, "/api/v1/periods")
            .await
            .json()
            .as_array()
            .and_then(|a| a.iter().find(|p| p["code"] == "2024-07").map(id_of))
            .unwrap_or_default();
        app.upload_bytes(
            &t,
            &format!("/api/v1/periods/{july}/payout-files"),
            "kq7.csv",
            SEPTEMBER_PAID.replace("2024-09", "2024-07").as_bytes(),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "July's bank file");
        let (run7, report7) = run_report(&app, july).await;
        assert_eq!(report7["comparison"]["previous_period"], Value::Null);
        assert_eq!(report7["flags"]["paid_after_removal"], 0);
        assert!(flagged(&app, run7, "paid_after_removal").await.is_empty());

        // A ward's run counts its own subtree.
        let s = app.store.as_ref();
        let ba_dinh = support::make_token_in(s, "kt-00004", Role::Accountant, None, "00004").await;
        let r = app
            .post_json(
                &ba_dinh,
                &format!("/api/v1/periods/{september}/reconciliations"),
                &json!({}),
            )
            .await;
        r.expect_status(StatusCode::CREATED, "Ba Đình's run");
        assert_eq!(
            r.json()["report"]["comparison"],
            json!({"previous_period": "2024-08", "added": 1, "removed": 1,
                   "amount_changed": 1, "account_changed": 1})
        );
        assert_eq!(r.json()["report"]["flags"]["account_changed"], 1);
    })
    .await;
}
