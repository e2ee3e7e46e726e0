//! The HTTP API end to end, through `app(state).oneshot(…)`: every test runs on a fresh
//! SQLite file, and again on a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.

use crate::support;

use std::sync::OnceLock;

use axum::http::{Method, StatusCode, header};
use doisoat::domain::access::Role;
use doisoat::domain::sha256_hex;
use serde_json::{Value, json};
use support::{
    TestApp, TestResponse, bombs, fixture_path, for_each_backend, for_each_backend_with,
};

const LIST: &str = "danh_sach_xa_tan_lap.xlsx";
const LIST_ODS: &str = "danh_sach_xa_tan_lap.ods";
const AGRIBANK: &str = "ket_qua_agribank.xlsx";
const BANK_CSV: &str = "ket_qua_ngan_hang.csv";

fn fixture_sha(name: &str) -> String {
    sha256_hex(&support::read_file(&fixture_path(name)))
}

fn workbook(bytes: &[u8]) -> calamine::Xlsx<std::io::Cursor<Vec<u8>>> {
    calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec()))
        .expect("a workbook calamine can open")
}

fn sheet_names(bytes: &[u8]) -> Vec<String> {
    calamine::Reader::sheet_names(&workbook(bytes))
}

/// A sheet's cells as text, row by row.
fn sheet_text(bytes: &[u8], sheet: &str) -> Vec<Vec<String>> {
    calamine::Reader::worksheet_range(&mut workbook(bytes), sheet)
        .expect("the sheet")
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

fn row_numbers(upload: &Value) -> Vec<u64> {
    upload["row_errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["row"].as_u64()).collect())
        .unwrap_or_default()
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["population_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| i["name"].as_str().unwrap_or("?").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn exceptions(app: &TestApp, run: i64, query: &str) -> Value {
    let r = app
        .get(
            &app.tokens.accountant,
            &format!("/api/v1/reconciliations/{run}/exceptions?{query}"),
        )
        .await;
    r.expect_status(StatusCode::OK, query);
    r.json()
}

fn check_sample_figures(r: &Value) {
    support::sample::check_sample_report(r);
}

// ---------------------------------------------------------------------------------------
// 1. The whole flow.

#[tokio::test]
async fn the_whole_flow_gives_the_hand_computed_report_and_downloads() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();

        // A period, from the way people write it.
        let p = app
            .create_period(
                &t,
                &json!({ "code": "Quý 3/2024", "programme": "Trợ cấp xã hội hằng tháng",
                         "locality": "Xã Tân Lập", "target_pct": 80 }),
            )
            .await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period_json = p.json();
        assert_eq!(period_json["code"], "2024-Q3", "canonical code");
        assert_eq!(period_json["label"], "Quý 3/2024");
        // The programme as written resolves to its code (diacritics and spelling aside).
        assert_eq!(period_json["programme"], "TCXH");
        assert_eq!(period_json["programme_name"], "Trợ cấp xã hội hàng tháng");
        let period = support::id_of(&period_json);
        let got = app.get(&t, &format!("/api/v1/periods/{period}")).await;
        got.expect_status(StatusCode::OK, "get period");
        assert_eq!(got.json()["code"], "2024-Q3");

        // The list: stored with its row errors; the same bytes again are the same upload.
        let list = app.upload_list(&t, period, &fixture_path(LIST)).await;
        list.expect_status(StatusCode::CREATED, "upload list");
        let list_json = list.json();
        assert_eq!(row_numbers(&list_json), vec![19, 25], "{list_json}");
        assert_eq!(list_json["version"], 1);
        assert_eq!(list_json["kind"], "beneficiaries");
        assert_eq!(list_json["sha256"], fixture_sha(LIST));
        let list_id = support::id_of(&list_json);
        let again = app.upload_list(&t, period, &fixture_path(LIST)).await;
        again.expect_status(StatusCode::OK, "the same list again");
        assert_eq!(support::id_of(&again.json()), list_id, "same upload id");

        // The bank files.
        app.upload_payouts(&t, period, &fixture_path(AGRIBANK), Some("Agribank"))
            .await
            .expect_status(StatusCode::CREATED, "upload Agribank file");
        app.upload_payouts(&t, period, &fixture_path(BANK_CSV), None)
            .await
            .expect_status(StatusCode::CREATED, "upload bank CSV");

        // The run.
        let run = app.reconcile(&t, period).await;
        run.expect_status(StatusCode::CREATED, "reconcile");
        let run_json = run.json();
        let run_id = support::id_of(&run_json);
        let sha = run_json["report_sha256"]
            .as_str()
            .unwrap_or_else(|| panic!("report_sha256 in {run_json}"))
            .to_owned();
        assert_eq!(sha.len(), 64);
        assert_eq!(run_json["list_upload_id"], list_id);

        // The report.
        let r = app
            .get(&t, &format!("/api/v1/reconciliations/{run_id}"))
            .await;
        r.expect_status(StatusCode::OK, "get report");
        let report = r.json();
        check_sample_figures(&report);
        assert_eq!(run_json["report"], report, "POST returns the same report");

        // report.json is the stored text: its digest is the one on record.
        let rj = app.download(&t, run_id, "report.json").await;
        rj.expect_status(StatusCode::OK, "report.json");
        assert!(rj.content_type().starts_with("application/json"));
        assert_eq!(sha256_hex(&rj.body), sha, "report.json digest");

        // Where it came from.
        let m = app
            .get(&t, &format!("/api/v1/reconciliations/{run_id}/meta"))
            .await;
        m.expect_status(StatusCode::OK, "meta");
        let meta = m.json();
        assert_eq!(meta["list_upload_id"], list_id);
        assert_eq!(meta["meta"]["report_sha256"], sha.as_str());
        assert_eq!(meta["meta"]["period"], "2024-Q3");
        let inputs: Vec<(String, String)> = meta["meta"]["inputs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| {
                        (
                            i["role"].as_str().unwrap_or("?").to_owned(),
                            i["sha256"].as_str().unwrap_or("?").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            inputs,
            vec![
                ("beneficiaries".to_owned(), fixture_sha(LIST)),
                ("payouts".to_owned(), fixture_sha(AGRIBANK)),
                ("payouts".to_owned(), fixture_sha(BANK_CSV)),
            ],
            "{meta}"
        );

        // Downloads.
        let csv = app.download(&t, run_id, "report.csv").await;
        csv.expect_status(StatusCode::OK, "report.csv");
        assert!(
            csv.content_type().starts_with("text/csv"),
            "{:?}",
            csv.headers
        );
        assert!(csv.body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM for Excel");
        assert!(csv.text().contains("Lý Thị Nga"));
        assert!(
            csv.headers
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("attachment")),
            "{:?}",
            csv.headers
        );
        let xlsx = app.download(&t, run_id, "report.xlsx").await;
        xlsx.expect_status(StatusCode::OK, "report.xlsx");
        assert_eq!(
            sheet_names(&xlsx.body),
            vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu", "Mã băm"]
        );
        // Streamed as it is written: every exception of the run, in the run's order (under
        // the title, the period line, a blank row and the header; the ID second).
        let listed = exceptions(&app, run_id, "per_page=200").await;
        let want: Vec<String> = ids(&listed);
        assert!(want.len() >= 4, "{listed}");
        let sheet = sheet_text(&xlsx.body, "Ngoại lệ");
        assert_eq!(sheet[3][1], "Số định danh", "{:?}", sheet[3]);
        let got: Vec<String> = sheet.into_iter().skip(4).map(|r| r[1].clone()).collect();
        assert_eq!(got, want, "report.xlsx lists the run's exceptions");
        let fu = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{run_id}/follow-up.xlsx"),
            )
            .await;
        fu.expect_status(StatusCode::OK, "follow-up.xlsx");
        assert!(!sheet_names(&fu.body).is_empty(), "follow-up.xlsx opens");
        // Everyone failed, returned or unpaid, and no one else, then the total.
        let mut due = Vec::new();
        for outcome in ["failed", "returned", "unpaid"] {
            let page = exceptions(&app, run_id, &format!("outcome={outcome}&per_page=200")).await;
            due.extend(ids(&page));
        }
        due.sort();
        // Under the office header (8 rows) and the table's header; the total, then the
        // signature block, under the people.
        let rows: Vec<Vec<String>> = sheet_text(&fu.body, "Danh sách chi lại")
            .into_iter()
            .skip(9)
            .collect();
        let at_total = rows
            .iter()
            .position(|r| r[0] == "Tổng cộng")
            .expect("a total row");
        let (people, total) = (&rows[..at_total], &rows[at_total]);
        assert!(
            rows[at_total..]
                .iter()
                .any(|r| r.iter().any(|c| c == "Thủ trưởng đơn vị")),
            "the signature block under the total"
        );
        let mut listed: Vec<String> = people.iter().map(|r| r[1].clone()).collect();
        listed.sort();
        assert!(!due.is_empty());
        assert_eq!(listed, due, "follow-up.xlsx lists those to pay again");
        assert_eq!(total[0], "Tổng cộng");
        assert_eq!(total[1], due.len().to_string());

        // Exceptions, filtered and paged.
        let all = exceptions(&app, run_id, "").await;
        let total = all["total"].as_u64().unwrap_or(0);
        assert!(total >= 4, "{all}");
        let unpaid = exceptions(&app, run_id, "outcome=unpaid").await;
        assert_eq!(unpaid["total"], 1, "{unpaid}");
        assert_eq!(names(&unpaid), vec!["Lý Thị Nga"]);
        let invalid = exceptions(&app, run_id, "flag=invalid_id").await;
        assert_eq!(invalid["total"], 1, "{invalid}");
        let tan_phu = exceptions(&app, run_id, "commune=xa%20tan%20phu").await;
        assert_eq!(tan_phu["total"], 3, "{tan_phu}");
        let vbsp = exceptions(&app, run_id, "bank=VBSP").await;
        assert_eq!(vbsp["total"], 1, "{vbsp}");
        let nguyen = exceptions(&app, run_id, "q=nguyen").await;
        assert_eq!(nguyen["total"], 1, "{nguyen}");
        assert_eq!(nguyen["total_exact"], true, "{nguyen}");
        // Several choices match any of them, comma-separated or repeated; values that name
        // nothing drop out (all of them: nothing matches).
        let kinds = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| i["kind"].as_str().unwrap_or("?").to_owned())
                .collect()
        };
        let failed = exceptions(&app, run_id, "outcome=failed").await;
        let two = exceptions(&app, run_id, "outcome=unpaid,failed").await;
        assert_eq!(two["total"], 2, "{two}");
        let repeated = exceptions(&app, run_id, "outcome=unpaid&outcome=failed").await;
        assert_eq!(repeated["items"], two["items"]);
        let with_unknown = exceptions(&app, run_id, "outcome=unpaid,nonsense").await;
        assert_eq!(with_unknown["items"], unpaid["items"]);
        let nothing = exceptions(&app, run_id, "outcome=nonsense").await;
        assert_eq!(nothing["total"], 0);
        assert_eq!(failed["total"], 1);
        let banks = exceptions(&app, run_id, "bank=VBSP,Agribank&per_page=200").await;
        let vba = exceptions(&app, run_id, "bank=Agribank&per_page=200").await;
        assert_eq!(
            banks["total"].as_u64(),
            Some(vba["total"].as_u64().unwrap_or(0) + 1)
        );
        // Everything but the people paid in cash.
        let no_cash = exceptions(&app, run_id, "exclude=no_account&per_page=200").await;
        let cash = exceptions(&app, run_id, "outcome=no_account").await;
        assert_eq!(cash["total"], 1, "{cash}");
        assert_eq!(no_cash["total"].as_u64(), Some(total - 1));
        assert!(!kinds(&no_cash).contains(&"no_account".to_owned()));
        // Digits find the start of an account number as well as of an ID.
        let by_account = exceptions(&app, run_id, "q=6310001").await;
        assert_eq!(names(&by_account), vec!["Dương Văn Minh"], "{by_account}");
        // The bank's answer is kept with the exception: its reference and reason.
        let returned = exceptions(&app, run_id, "outcome=returned").await;
        let payout = &returned["items"][0]["payouts"][0];
        assert!(payout["reference"].is_string(), "{returned}");
        // And its value date (ISO), as the bank's file gave it.
        assert_eq!(payout["value_date"], "2024-09-23", "{returned}");

        // Sorted by the store: by a column, both ways; ties in the run's order; rows
        // without a value last either way; pages of a sort are windows of the one order.
        let every = |query: &str| {
            let query = query.to_owned();
            let app = &app;
            async move { exceptions(app, run_id, &format!("{query}&per_page=200")).await }
        };
        let due = |v: &Value| -> Vec<Option<i64>> {
            v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| i["amount_due"].as_str().and_then(|d| d.parse().ok()))
                .collect()
        };
        let by_due = every("sort=due").await;
        let by_due_desc = every("sort=due&dir=desc").await;
        for (page, descending) in [(&by_due, false), (&by_due_desc, true)] {
            let got = due(page);
            assert_eq!(got.len() as u64, total);
            let valued: Vec<i64> = got.iter().map_while(|d| *d).collect();
            assert!(
                got[valued.len()..].iter().all(Option::is_none),
                "no amount due (unmatched payouts) last: {got:?}"
            );
            let mut want = valued.clone();
            want.sort();
            if descending {
                want.reverse();
            }
            assert_eq!(
                valued, want,
                "sorted by amount due, descending {descending}"
            );
            assert!(page.get("next_after").is_none(), "a sort pages by number");
        }
        let mut paged = Vec::new();
        for p in 1..=total.div_ceil(2) {
            let page = exceptions(
                &app,
                run_id,
                &format!("sort=due&dir=desc&per_page=2&page={p}"),
            )
            .await;
            paged.extend(page["items"].as_array().cloned().unwrap_or_default());
        }
        assert_eq!(
            Value::Array(paged),
            by_due_desc["items"],
            "pages of two of a sort"
        );
        let by_name = every("sort=name").await;
        let mut folded: Vec<String> = names(&by_name)
            .iter()
            .map(|n| doisoat::domain::names::fold(n))
            .collect();
        let got = folded.clone();
        folded.sort();
        assert_eq!(got, folded, "names sorted without case or diacritics");
        let by_date = every("sort=value_date&dir=desc").await;
        let dates: Vec<Option<String>> = by_date["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                i["payouts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["value_date"].as_str().map(str::to_owned))
                    .min()
            })
            .collect();
        assert!(dates[0].as_deref() >= dates[1].as_deref(), "{dates:?}");
        assert!(dates.first().is_some_and(Option::is_some), "{dates:?}");
        assert!(dates.last().is_some_and(Option::is_none), "{dates:?}");
        // An unknown column or direction is the default order, never an error.
        let in_order = every("").await;
        assert_eq!(
            every("sort=amount_due;DROP").await["items"],
            in_order["items"]
        );
        assert_eq!(
            every("sort=due&dir=sideways").await["items"],
            by_due["items"]
        );
        let far = exceptions(&app, run_id, "sort=value_date&page=18446744073709551615").await;
        assert_eq!(
            far["items"],
            Value::Array(vec![]),
            "a page past the end: {far}"
        );
        // The filtered download in the same order.
        let csv = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{run_id}/exceptions.csv?sort=due&dir=desc"),
            )
            .await;
        csv.expect_status(StatusCode::OK, "exceptions.csv sorted");
        let listed: Vec<String> = csv::Reader::from_reader(&csv.body[3..])
            .records()
            .map(|r| r.map(|r| r[2].to_owned()).unwrap_or_default())
            .collect();
        let ids: Vec<String> = by_due_desc["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["population_id"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(listed, ids, "exceptions.csv sorted as the list");

        // The filtered view as files of its own: only those rows.
        let csv = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{run_id}/exceptions.csv?outcome=unpaid,failed"),
            )
            .await;
        csv.expect_status(StatusCode::OK, "exceptions.csv");
        let text = String::from_utf8_lossy(&csv.body).into_owned();
        assert_eq!(text.lines().count(), 3, "header and two rows: {text}");
        assert!(text.contains("Lý Thị Nga"));
        let x = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{run_id}/exceptions.xlsx?exclude=no_account"),
            )
            .await;
        x.expect_status(StatusCode::OK, "exceptions.xlsx");
        // Under the title, the period line, a blank row and the header.
        let rows = sheet_text(&x.body, "Ngoại lệ").len() - 4;
        assert_eq!(
            rows as u64,
            total - 1,
            "the workbook lists the filtered rows"
        );
        // Excel's CSV variants: IDs kept as text, `;` between fields.
        let plain = app.download(&t, run_id, "report.csv").await;
        let excel = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{run_id}/report.csv?ids=text&sep=semicolon"),
            )
            .await;
        excel.expect_status(StatusCode::OK, "report.csv for Excel");
        let excel = String::from_utf8_lossy(&excel.body).into_owned();
        assert!(excel.contains("\"=\"\"025050000111\"\"\";"), "{excel}");
        assert_eq!(
            excel.lines().count(),
            String::from_utf8_lossy(&plain.body).lines().count()
        );
        let page = exceptions(&app, run_id, "per_page=2&page=2").await;
        assert_eq!(page["total"], total);
        assert_eq!(page["page"], 2);
        assert_eq!(page["per_page"], 2);
        let want: Vec<Value> = all["items"]
            .as_array()
            .map(|a| a.iter().skip(2).take(2).cloned().collect())
            .unwrap_or_default();
        assert_eq!(page["items"], Value::Array(want), "the second page of two");

        // Keyset pages (`after` = the page before's `next_after`) walk the same list.
        let mut walked = Vec::new();
        let mut query = "per_page=2".to_owned();
        loop {
            let page = exceptions(&app, run_id, &query).await;
            walked.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_after"].as_u64() {
                Some(after) => query = format!("per_page=2&after={after}"),
                None => break,
            }
            assert!(walked.len() <= total as usize, "keyset paging ends");
        }
        assert_eq!(Value::Array(walked), all["items"], "keyset pages of two");

        // Digits search the start of the ID.
        let first_id = all["items"][0]["population_id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let start = &first_id[..6.min(first_id.len())];
        let by_start = exceptions(&app, run_id, &format!("q={start}")).await;
        let want = all["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|i| i["population_id"].as_str().unwrap_or("").starts_with(start))
                    .count()
            })
            .unwrap_or(0);
        assert!(want >= 1);
        assert_eq!(by_start["total"], want, "{by_start}");

        // A large run searched in memory (with or without another filter) pages exactly as
        // the store would (here every run is "large").
        let in_memory = doisoat::service::search::SearchCache::new(0, usize::MAX);
        let in_store = doisoat::service::search::SearchCache::new(i64::MAX, 0);
        let query =
            |q: &str, per_page: Option<usize>, page: Option<usize>, after: Option<usize>| {
                doisoat::service::ExceptionQuery {
                    q: Some(q.into()),
                    per_page,
                    page,
                    after,
                    ..Default::default()
                }
            };
        for q in [
            query("nguyen", None, None, None),
            query("thi", Some(2), None, None),
            query("thi", Some(2), Some(2), None),
            query("i", Some(1), None, Some(0)),
            query("i", Some(3), Some(99), None),
            query("zzz", None, None, None),
            doisoat::service::ExceptionQuery {
                outcome: Some("unpaid".into()),
                ..query("thi", None, None, None)
            },
        ] {
            let page = |cache| {
                let store = app.store.clone();
                let q = q.clone();
                async move {
                    let run = doisoat::service::load_run(store.as_ref(), run_id)
                        .await
                        .expect("the run");
                    let page = doisoat::service::exception_page(store.as_ref(), cache, &run, &q)
                        .await
                        .expect("a page");
                    serde_json::to_value(page).expect("json")
                }
            };
            let (memory, store) = (page(&in_memory).await, page(&in_store).await);
            assert_eq!(memory, store, "{q:?}");
        }
        assert!(
            exceptions(&app, run_id, "q=thi").await["total"]
                .as_u64()
                .is_some_and(|n| n >= 2),
            "a search finding several"
        );
    })
    .await;
}

/// `target_pct` is optional when creating a period; a run of such a period must be readable.
#[tokio::test]
async fn a_period_without_a_target_can_be_reconciled() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-09" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        assert!(p.json()["target_pct"].is_null());
        let period = support::id_of(&p.json());
        app.upload_list(&t, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "list");
        app.upload_payouts(&t, period, &fixture_path(AGRIBANK), Some("Agribank"))
            .await
            .expect_status(StatusCode::CREATED, "Agribank");
        app.upload_payouts(&t, period, &fixture_path(BANK_CSV), None)
            .await
            .expect_status(StatusCode::CREATED, "bank CSV");
        let run = app.reconcile(&t, period).await;
        run.expect_status(StatusCode::CREATED, "reconcile without a target");
        let run_id = support::id_of(&run.json());
        check_sample_figures(&run.json()["report"]);
        for what in [
            "meta",
            "exceptions",
            "report.json",
            "report.csv",
            "report.xlsx",
        ] {
            app.get(&t, &format!("/api/v1/reconciliations/{run_id}/{what}"))
                .await
                .expect_status(StatusCode::OK, what);
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 2. A corrected list.

#[tokio::test]
async fn a_corrected_list_is_version_2_and_earlier_runs_stay_as_they_were() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let s = app.seed_sample("2024-09").await;
        let old_report = app.download(&t, s.run, "report.json").await;
        old_report.expect_status(StatusCode::OK, "first report");
        let old_meta = app
            .get(&t, &format!("/api/v1/reconciliations/{}/meta", s.run))
            .await;

        // The same list as a LibreOffice file: different bytes, a new version.
        let v2 = app.upload_list(&t, s.period, &fixture_path(LIST_ODS)).await;
        v2.expect_status(StatusCode::CREATED, "corrected list");
        let v2_json = v2.json();
        assert_eq!(v2_json["version"], 2, "{v2_json}");
        assert_eq!(v2_json["sha256"], fixture_sha(LIST_ODS));
        let v2_id = support::id_of(&v2_json);
        assert_ne!(v2_id, s.list_upload);

        let ups = app
            .get(&t, &format!("/api/v1/periods/{}/uploads", s.period))
            .await;
        ups.expect_status(StatusCode::OK, "uploads");
        let lists: Vec<(i64, i64)> = ups
            .json()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|u| u["kind"] == "beneficiaries")
                    .map(|u| (support::id_of(u), u["version"].as_i64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(lists, vec![(s.list_upload, 1), (v2_id, 2)]);

        let v1 = app
            .get(&t, &format!("/api/v1/uploads/{}", s.list_upload))
            .await;
        v1.expect_status(StatusCode::OK, "the earlier list");
        assert_eq!(v1.json()["version"], 1);
        assert_eq!(v1.json()["sha256"], fixture_sha(LIST));
        assert_eq!(row_numbers(&v1.json()), vec![19, 25]);

        // A new run uses version 2.
        let run2 = app.reconcile(&t, s.period).await;
        run2.expect_status(StatusCode::CREATED, "second run");
        let run2_id = support::id_of(&run2.json());
        assert_ne!(run2_id, s.run);
        let m2 = app
            .get(&t, &format!("/api/v1/reconciliations/{run2_id}/meta"))
            .await;
        m2.expect_status(StatusCode::OK, "second meta");
        let m2 = m2.json();
        assert_eq!(m2["list_upload_id"], v2_id);
        assert_eq!(m2["meta"]["inputs"][0]["sha256"], fixture_sha(LIST_ODS));
        assert_eq!(m2["meta"]["inputs"][0]["name"], LIST_ODS);

        // The earlier run is unchanged, byte for byte.
        let old_again = app.download(&t, s.run, "report.json").await;
        assert_eq!(old_again.body, old_report.body, "the earlier report");
        let old_meta_again = app
            .get(&t, &format!("/api/v1/reconciliations/{}/meta", s.run))
            .await;
        assert_eq!(old_meta_again.json(), old_meta.json(), "the earlier meta");
        assert_eq!(old_meta_again.json()["list_upload_id"], s.list_upload);

        let runs = app
            .get(&t, &format!("/api/v1/periods/{}/reconciliations", s.period))
            .await;
        runs.expect_status(StatusCode::OK, "runs");
        assert_eq!(runs.json().as_array().map(Vec::len), Some(2));
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 3. Who may do what.

#[tokio::test]
async fn missing_bad_and_revoked_tokens_are_401() {
    for_each_backend(|app| async move {
        for path in ["/api/v1/periods", "/api/v1/audit"] {
            let r = app.send(Method::GET, path, None, None, Vec::new()).await;
            r.expect_problem(StatusCode::UNAUTHORIZED, Some("unauthorized"), path);
            let r = app.get("ds_not-a-real-token", path).await;
            r.expect_problem(StatusCode::UNAUTHORIZED, Some("unauthorized"), path);
        }
        // Not a bearer scheme.
        let r = app
            .send(
                Method::GET,
                "/api/v1/periods",
                None,
                Some("application/json"),
                Vec::new(),
            )
            .await;
        r.expect_problem(StatusCode::UNAUTHORIZED, None, "no header");

        let token = support::make_token(app.store.as_ref(), "short-lived", Role::Admin, None).await;
        app.get(&token, "/api/v1/periods")
            .await
            .expect_status(StatusCode::OK, "before revoking");
        let revoked = app
            .store
            .revoke_token("short-lived", "test")
            .await
            .expect("revoke");
        assert!(revoked);
        app.get(&token, "/api/v1/periods").await.expect_problem(
            StatusCode::UNAUTHORIZED,
            Some("unauthorized"),
            "revoked",
        );
        // Writes too, and nothing is written.
        let before = app.counts(0).await;
        app.create_period(&token, &json!({ "code": "2030-01" }))
            .await
            .expect_problem(StatusCode::UNAUTHORIZED, None, "revoked write");
        assert_eq!(app.counts(0).await, before);
    })
    .await;
}

/// Expected 2xx for `allowed`, else 403 problem+json.
#[track_caller]
fn check_access(r: &TestResponse, allowed: bool, what: &str) {
    if allowed {
        assert!(
            r.status.is_success(),
            "{what}: want 2xx, got {}: {}",
            r.status,
            r.text()
        );
    } else {
        r.expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), what);
    }
}

#[tokio::test]
async fn each_role_may_do_what_its_role_allows() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        let list_bytes = support::read_file(&fixture_path(LIST));
        // (role, write, read and download, audit)
        let table = [
            (Role::Admin, true, true, true, "2031-01"),
            (Role::Accountant, true, true, false, "2031-02"),
            (Role::Auditor, false, true, true, "2031-03"),
            (Role::Bank, false, false, false, "2031-04"),
        ];
        for (role, write, read, audit, code) in table {
            let t = app.tokens.of(role).to_owned();
            let who = role.as_str();
            let before = app.counts(s.period).await;

            let r = app.create_period(&t, &json!({ "code": code })).await;
            check_access(&r, write, &format!("{who}: create period"));
            let r = app
                .upload_bytes(
                    &t,
                    &format!("/api/v1/periods/{}/beneficiary-lists", s.period),
                    LIST,
                    &list_bytes,
                    None,
                )
                .await;
            check_access(&r, write, &format!("{who}: upload list"));
            let r = app
                .upload_payouts(&t, s.period, &fixture_path(BANK_CSV), None)
                .await;
            check_access(&r, write, &format!("{who}: upload payouts"));
            let r = app.reconcile(&t, s.period).await;
            check_access(&r, write, &format!("{who}: reconcile"));
            if !write {
                let after = app.counts(s.period).await;
                assert_eq!(after, before, "{who}: a refused write changes nothing");
            }

            for path in [
                "/api/v1/periods".to_owned(),
                format!("/api/v1/periods/{}", s.period),
                format!("/api/v1/periods/{}/uploads", s.period),
                format!("/api/v1/periods/{}/reconciliations", s.period),
                format!("/api/v1/uploads/{}", s.list_upload),
                format!("/api/v1/reconciliations/{}", s.run),
                format!("/api/v1/reconciliations/{}/meta", s.run),
                format!("/api/v1/reconciliations/{}/exceptions", s.run),
            ] {
                let r = app.get(&t, &path).await;
                check_access(&r, read, &format!("{who}: read {path}"));
            }
            for file in ["report.json", "report.csv", "report.xlsx", "follow-up.xlsx"] {
                let r = app.download(&t, s.run, file).await;
                check_access(&r, read, &format!("{who}: download {file}"));
            }
            let r = app.get(&t, "/api/v1/audit").await;
            check_access(&r, audit, &format!("{who}: audit"));
            let r = app.get(&t, "/api/v1/audit/verify").await;
            check_access(&r, audit, &format!("{who}: audit/verify"));
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 4. Bad input: a clear 4xx and no state change.

/// A zip whose one entry is 200 MB of zeros, deflated (~200 KB on the wire).
fn zip_bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("xl/worksheets/sheet1.xml", opts).expect("zip");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..200 {
            w.write_all(&chunk).expect("zip");
        }
        w.finish().map(std::io::Cursor::into_inner).expect("zip")
    })
}

/// An upload that must be refused: with which status and problem type.
struct BadFile<'a> {
    what: &'a str,
    path: &'a str,
    file_name: &'a str,
    bytes: &'a [u8],
    status: StatusCode,
    slug: &'a str,
}

#[tokio::test]
async fn unreadable_files_are_refused_and_change_nothing() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-10" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let lists = format!("/api/v1/periods/{period}/beneficiary-lists");
        let payouts = format!("/api/v1/periods/{period}/payout-files");
        let before = app.counts(period).await;

        let pdf: &[u8] = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
        let no_header: &[u8] = b"foo,bar,baz\n1,2,3\n4,5,6\n";
        // Tiny files that ask a reader for petabytes (issue 9): refused, or read sparsely.
        let (sst_lie, far_xlsx, ods_rep, xls_dims, far_xls) = (
            bombs::xlsx_shared_strings_lie(),
            bombs::xlsx_far_corners(),
            bombs::ods_repeats(),
            bombs::xls_dimensions_lie(),
            bombs::xls_far_corners(),
        );
        let mut cases = vec![];
        for path in [&lists, &payouts] {
            cases.extend([
                BadFile {
                    what: "xlsx whose sharedStrings declares 10^14 strings",
                    path,
                    file_name: "sst.xlsx",
                    bytes: &sst_lie,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "too-many-cells",
                },
                // Two cells, read as two cells: then simply no header.
                BadFile {
                    what: "xlsx with cells at A1 and XFD1048576",
                    path,
                    file_name: "corners.xlsx",
                    bytes: &far_xlsx,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "no-header",
                },
                BadFile {
                    what: "ods repeating a value 16,384 × 1,200 times",
                    path,
                    file_name: "repeats.ods",
                    bytes: &ods_rep,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "too-many-cells",
                },
                BadFile {
                    what: "xls whose DIMENSIONS declares 2^32 rows",
                    path,
                    file_name: "dims.xls",
                    bytes: &xls_dims,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "no-header",
                },
                BadFile {
                    what: "xls with cells 65,536 rows and columns apart",
                    path,
                    file_name: "corners.xls",
                    bytes: &far_xls,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    slug: "too-many-cells",
                },
            ]);
        }
        cases.extend([
            BadFile {
                what: "PDF named .pdf",
                path: &lists,
                file_name: "danh_sach.pdf",
                bytes: pdf,
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                slug: "unsupported-format",
            },
            BadFile {
                what: "PDF renamed .xlsx",
                path: &lists,
                file_name: "danh_sach.xlsx",
                bytes: pdf,
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                slug: "unsupported-format",
            },
            BadFile {
                what: "corrupt xlsx",
                path: &lists,
                file_name: "hong.xlsx",
                bytes: b"PK\x03\x04junk",
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "corrupt-file",
            },
            BadFile {
                what: "empty file",
                path: &lists,
                file_name: "rong.csv",
                bytes: b"",
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "empty-file",
            },
            BadFile {
                what: "no header",
                path: &lists,
                file_name: "khong_tieu_de.csv",
                bytes: no_header,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "no-header",
            },
            BadFile {
                what: "payouts: no header",
                path: &payouts,
                file_name: "khong_tieu_de.csv",
                bytes: no_header,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "no-header",
            },
            BadFile {
                what: "payouts: corrupt xlsx",
                path: &payouts,
                file_name: "hong.xlsx",
                bytes: b"PK\x03\x04junk",
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "corrupt-file",
            },
            BadFile {
                what: "zip bomb",
                path: &lists,
                file_name: "bom.xlsx",
                bytes: zip_bomb(),
                status: StatusCode::UNPROCESSABLE_ENTITY,
                slug: "zip-bomb",
            },
        ]);
        for BadFile {
            what,
            path,
            file_name,
            bytes,
            status,
            slug,
        } in cases
        {
            let r = app.upload_bytes(&t, path, file_name, bytes, None).await;
            let problem = r.expect_problem(status, Some(slug), what);
            if slug == "no-header" {
                assert!(
                    problem["columns_found"].is_array() && problem["columns_missing"].is_array(),
                    "{what}: columns_found / columns_missing in {problem}"
                );
                assert!(
                    problem["columns_missing"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty()),
                    "{what}: {problem}"
                );
            }
            assert_eq!(app.counts(period).await, before, "{what}: no state change");
        }
    })
    .await;
}

#[tokio::test]
async fn the_zip_bomb_is_small_on_the_wire() {
    assert!(zip_bomb().len() < 1024 * 1024, "{}", zip_bomb().len());
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_changes_nothing() {
    for_each_backend_with(&[("DOISOAT_MAX_UPLOAD_MB", "1")], |app| async move {
        assert_eq!(app.config.max_upload_bytes, 1024 * 1024);
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-09" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let before = app.counts(period).await;

        // ~1.5 MB of a CSV that would otherwise be read.
        let mut big = b"STT,Ho va ten,So CCCD,So tien\n".to_vec();
        let mut n = 0u64;
        while big.len() < 1536 * 1024 {
            n += 1;
            big.extend_from_slice(format!("{n},Nguyen Van {n},{:012},1500000\n", n).as_bytes());
        }
        for path in [
            format!("/api/v1/periods/{period}/beneficiary-lists"),
            format!("/api/v1/periods/{period}/payout-files"),
        ] {
            let r = app.upload_bytes(&t, &path, "lon.csv", &big, None).await;
            r.expect_problem(StatusCode::PAYLOAD_TOO_LARGE, Some("too-large"), &path);
            let detail = r.json()["detail"].as_str().unwrap_or("").to_owned();
            assert!(
                detail.contains("1 MB") && detail.contains("DOISOAT_MAX_UPLOAD_MB"),
                "the limit and the setting that raises it: {detail}"
            );
            assert_eq!(app.counts(period).await, before, "{path}: no state change");
        }
        // Below the limit still works.
        app.upload_list(&t, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "a small list");
    })
    .await;
}

#[tokio::test]
async fn bad_requests_are_clear_4xx_and_change_nothing() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-Q3" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let before = app.counts(period).await;
        let list_bytes = support::read_file(&fixture_path(LIST));

        // Not multipart.
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/periods/{period}/beneficiary-lists"),
                Some(&t),
                Some("application/json"),
                b"{}".to_vec(),
            )
            .await;
        r.expect_problem(StatusCode::BAD_REQUEST, None, "not multipart");
        assert_eq!(app.counts(period).await, before, "not multipart");

        // Multipart without the file field.
        let (ct, body) = support::multipart(&[support::Part::Text {
            name: "bank",
            value: "Agribank",
        }]);
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/periods/{period}/payout-files"),
                Some(&t),
                Some(&ct),
                body,
            )
            .await;
        r.expect_problem(StatusCode::BAD_REQUEST, None, "no file field");
        assert_eq!(app.counts(period).await, before, "no file field");

        // An unknown bank.
        let r = app
            .upload_bytes(
                &t,
                &format!("/api/v1/periods/{period}/payout-files"),
                AGRIBANK,
                &support::read_file(&fixture_path(AGRIBANK)),
                Some("Ngân hàng ABC"),
            )
            .await;
        r.expect_problem(StatusCode::BAD_REQUEST, None, "unknown bank");
        assert_eq!(app.counts(period).await, before, "unknown bank");

        // A period that does not exist.
        for path in [
            "/api/v1/periods/999999/beneficiary-lists",
            "/api/v1/periods/999999/payout-files",
        ] {
            let r = app.upload_bytes(&t, path, LIST, &list_bytes, None).await;
            r.expect_problem(StatusCode::NOT_FOUND, Some("not-found"), path);
            // Refused before the body is read (a national file takes seconds to send): a
            // body that could not be read says 404, not 400.
            let r = app
                .send(
                    Method::POST,
                    path,
                    Some(&t),
                    Some("multipart/form-data; boundary=X"),
                    b"not a multipart body".to_vec(),
                )
                .await;
            r.expect_problem(StatusCode::NOT_FOUND, Some("not-found"), path);
        }
        app.reconcile(&t, 999_999).await.expect_problem(
            StatusCode::NOT_FOUND,
            Some("not-found"),
            "reconcile 404",
        );
        app.get(&t, "/api/v1/periods/999999").await.expect_problem(
            StatusCode::NOT_FOUND,
            Some("not-found"),
            "period 404",
        );
        app.get(&t, "/api/v1/reconciliations/999999")
            .await
            .expect_problem(StatusCode::NOT_FOUND, Some("not-found"), "run 404");
        assert_eq!(app.counts(period).await, before, "404s");

        // No list yet.
        app.reconcile(&t, period).await.expect_problem(
            StatusCode::CONFLICT,
            Some("no-list"),
            "no list",
        );
        assert_eq!(app.counts(period).await, before, "no list");

        // Period creation: invalid JSON, bad codes, bad target, duplicates.
        let r = app
            .send(
                Method::POST,
                "/api/v1/periods",
                Some(&t),
                Some("application/json"),
                b"{\"code\": ".to_vec(),
            )
            .await;
        r.expect_problem(
            StatusCode::BAD_REQUEST,
            Some("invalid-json"),
            "invalid JSON",
        );
        for (what, body) in [
            ("bad code", json!({ "code": "Quý 5/2024" })),
            ("bad code", json!({ "code": "hôm qua" })),
            ("bad month", json!({ "code": "2024-13" })),
            (
                "bad target",
                json!({ "code": "2024-12", "target_pct": 120 }),
            ),
        ] {
            let r = app.create_period(&t, &body).await;
            r.expect_problem(StatusCode::BAD_REQUEST, Some("bad-request"), what);
        }
        for code in ["2024-Q3", "Q3/2024", "Quý 3/2024"] {
            let r = app.create_period(&t, &json!({ "code": code })).await;
            r.expect_problem(StatusCode::CONFLICT, Some("conflict"), code);
        }
        assert_eq!(app.counts(period).await, before, "period creation");
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 5. Health and the API description.

#[tokio::test]
async fn health_readiness_and_openapi() {
    for_each_backend(|app| async move {
        let h = app
            .send(Method::GET, "/healthz", None, None, Vec::new())
            .await;
        h.expect_status(StatusCode::OK, "healthz");
        assert_eq!(h.json()["status"], "ok");
        let r = app
            .send(Method::GET, "/readyz", None, None, Vec::new())
            .await;
        r.expect_status(StatusCode::OK, "readyz");
        assert_eq!(r.json()["status"], "ok");
        assert_eq!(r.json()["database"], app.backend.name());

        let o = app
            .send(Method::GET, "/api/openapi.json", None, None, Vec::new())
            .await;
        o.expect_status(StatusCode::OK, "openapi");
        let doc = o.json();
        let paths = &doc["paths"];
        for (path, method) in [
            ("/api/v1/periods", "post"),
            ("/api/v1/periods", "get"),
            ("/api/v1/periods/{id}", "get"),
            ("/api/v1/periods/{id}/uploads", "get"),
            ("/api/v1/periods/{id}/beneficiary-lists", "post"),
            ("/api/v1/periods/{id}/payout-files", "post"),
            ("/api/v1/periods/{id}/reconciliations", "post"),
            ("/api/v1/periods/{id}/reconciliations", "get"),
            ("/api/v1/uploads/{id}", "get"),
            ("/api/v1/uploads/{id}/make-current", "post"),
            ("/api/v1/uploads/{id}/retire", "post"),
            ("/api/v1/reconciliations/{id}", "get"),
            ("/api/v1/reconciliations/{id}/meta", "get"),
            ("/api/v1/reconciliations/{id}/exceptions", "get"),
            ("/api/v1/reconciliations/{id}/report.json", "get"),
            ("/api/v1/reconciliations/{id}/report.csv", "get"),
            ("/api/v1/reconciliations/{id}/report.xlsx", "get"),
            ("/api/v1/reconciliations/{id}/follow-up.xlsx", "get"),
            ("/api/v1/audit", "get"),
            ("/api/v1/audit/verify", "get"),
        ] {
            assert!(
                paths[path][method].is_object(),
                "{method} {path} missing from the OpenAPI document; paths: {:?}",
                paths.as_object().map(|o| o.keys().collect::<Vec<_>>())
            );
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    })
    .await;
}

// ---------------------------------------------------------------------------------------
// 6. The audit trail.

#[tokio::test]
async fn the_audit_trail_records_the_flow_and_verifies() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-Q3").await;
        let t = app.tokens.auditor.clone();
        let a = app.get(&t, "/api/v1/audit").await;
        a.expect_status(StatusCode::OK, "audit");
        let page = a.json();
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        let actions: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for want in [
            "period.create",
            "upload.beneficiaries",
            "upload.payouts",
            "reconciliation.create",
        ] {
            assert!(actions.contains(&want), "{want} in {actions:?}");
        }
        assert_eq!(
            actions.iter().filter(|a| **a == "upload.payouts").count(),
            2,
            "{actions:?}"
        );
        // Who did it, as the token's role and name.
        let run_entry = entries
            .iter()
            .find(|e| e["action"] == "reconciliation.create")
            .cloned()
            .unwrap_or_default();
        assert_eq!(run_entry["actor"], "admin:test-admin", "{run_entry}");
        assert!(
            run_entry["subject"]
                .as_str()
                .is_some_and(|s_| s_.contains(&s.run.to_string())),
            "{run_entry}"
        );
        // One vocabulary, and no personal ID or account in any entry: every ID and account
        // of the sample files is looked for in each entry's text.
        let names: Vec<&str> = doisoat::domain::audit::Action::ALL
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert!(actions.iter().all(|a| names.contains(a)), "{actions:?}");
        let opts = doisoat::import::ImportOptions {
            default_bank: doisoat::domain::banks::BankId::resolve("Agribank"),
            ..doisoat::import::ImportOptions::new(2026)
        };
        let mut secrets: Vec<String> = Vec::new();
        if let Ok(list) = doisoat::import::import_beneficiaries(
            LIST,
            support::read_file(&fixture_path(LIST)),
            &opts,
        ) {
            for r in &list.rows {
                secrets.push(r.id.display());
                secrets.extend(r.account.clone());
            }
        }
        for f in [AGRIBANK, BANK_CSV] {
            if let Ok(p) =
                doisoat::import::import_payouts(f, support::read_file(&fixture_path(f)), &opts)
            {
                for r in &p.rows {
                    secrets.push(r.id.display());
                    secrets.extend(r.account.clone());
                }
            }
        }
        secrets.retain(|s| s.len() >= 6);
        assert!(
            secrets.len() > 20,
            "the sample's IDs and accounts: {}",
            secrets.len()
        );
        for e in &entries {
            let text = format!("{} {} {}", e["actor"], e["subject"], e["details"]);
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "a personal ID or account in {e}"
                );
            }
        }
        // Sequence numbers run 1, 2, 3… and each entry chains to the one before.
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e["seq"], (i + 1) as u64, "{e}");
            if i > 0 {
                assert_eq!(e["prev_hash"], entries[i - 1]["hash"], "{e}");
            }
        }
        assert!(page["next_after"].is_null());

        // Paging.
        let p = app.get(&t, "/api/v1/audit?after=1&limit=2").await;
        p.expect_status(StatusCode::OK, "audit page");
        let p = p.json();
        let seqs: Vec<u64> = p["entries"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["seq"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(seqs, vec![2, 3]);
        assert_eq!(p["next_after"], 3);

        let v = app.get(&t, "/api/v1/audit/verify").await;
        v.expect_status(StatusCode::OK, "verify");
        let v = v.json();
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["entries"], entries.len(), "{v}");
        assert!(v["broken"].is_null());
    })
    .await;
}

/// A NUL in a list cell (xlsx `_x0000_`): PostgreSQL refuses NUL in text, SQLite keeps it;
/// both store it as U+FFFD, so the upload succeeds the same way on both.
#[tokio::test]
async fn a_nul_in_a_cell_is_stored_the_same_on_both_backends() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-10" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let strings = ["Họ và tên", "Số định danh", "Số tiền", "Nguyễn_x0000_Văn An", "025038000101"];
        let sst = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5">{}</sst>"#,
            strings.iter().map(|s| format!("<si><t>{s}</t></si>")).collect::<String>()
        );
        let rows = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2"><v>1500000</v></c></row>"#;
        let xlsx = bombs::xlsx(rows, &sst);
        let path = format!("/api/v1/periods/{period}/beneficiary-lists");
        let r = app.upload_bytes(&t, &path, "nul.xlsx", &xlsx, None).await;
        r.expect_status(StatusCode::CREATED, "a NUL in a name");
        let live = app
            .get(&t, &format!("/api/v1/periods/{period}/coverage"))
            .await
            .json();
        assert_eq!(live["beneficiaries"], 1, "{live}");
        let inputs = app.store.period_inputs(period).await;
        let name = inputs
            .ok()
            .and_then(|i| i.lists.into_iter().next())
            .and_then(|l| {
                use doisoat::domain::records::ListRows;
                (l.rows.len() > 0).then(|| l.rows.name(0).to_owned())
            });
        assert_eq!(name.as_deref(), Some("Nguyễn\u{FFFD}Văn An"));
    })
    .await;
}

/// A 1 MB cell in a bad row: the row error keeps ~100 characters of it, marked as cut, in
/// its value and in both reasons; the upload and the period page stay small.
#[tokio::test]
async fn huge_cells_in_row_errors_are_cut() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-10" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let huge = "9".repeat(1_000_000);
        let csv = format!(
            "Họ và tên,Số định danh,Số tiền\nNguyễn Văn An,025038000101,1500000\nTrần Thị Bình,{huge},1500000\nLê Văn C,025038000103,{huge}x\n"
        );
        let path = format!("/api/v1/periods/{period}/beneficiary-lists");
        let r = app
            .upload_bytes(&t, &path, "big.csv", csv.as_bytes(), None)
            .await;
        r.expect_status(StatusCode::CREATED, "list with two bad rows");
        // (A million-digit ID is no ID: the row is refused as too long, not stored.)
        assert!(r.body.len() < 10_000, "the answer is small: {} bytes", r.body.len());
        let upload = r.json();
        let errors = upload["row_errors"].as_array().cloned().unwrap_or_default();
        assert_eq!(errors.len(), 2, "{upload}");
        for e in &errors {
            for key in ["value", "reason_vi", "reason_en"] {
                let text = e[key].as_str().unwrap_or("");
                assert!(text.chars().count() < 400, "{key}: {} characters", text.chars().count());
            }
            assert!(
                e["value"].as_str().is_some_and(|v| v.contains("characters]") && v.contains("100000")),
                "marked as cut, with the length: {e}"
            );
        }
    })
    .await;
}

/// A list with a header and nothing under it, or whose every row is rejected, would drop
/// the period's figures to 0: refused (422, with the reasons), the current list unchanged.
#[tokio::test]
async fn a_list_without_a_usable_row_is_refused_and_changes_nothing() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-09" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        app.upload_list(&t, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "the real list");
        let live = format!("/api/v1/periods/{period}/coverage");
        let before = app.get(&t, &live).await.json();
        let counts = app.counts(period).await;
        let path = format!("/api/v1/periods/{period}/beneficiary-lists");
        let header_only = "Họ và tên,Số định danh,Số tiền\n";
        let all_bad = "Họ và tên,Số định danh,Số tiền\nNguyễn Văn An,025038000101,abc\nTrần Thị Bình,025142000102,-5\n";
        for (what, body, rejected) in [("header only", header_only, 0), ("every row rejected", all_bad, 2)] {
            let r = app
                .upload_bytes(&t, &path, "rong.csv", body.as_bytes(), None)
                .await;
            let problem = r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("no-rows"), what);
            assert_eq!(problem["rejected_rows"], rejected, "{problem}");
            assert_eq!(
                problem["row_errors"].as_array().map(Vec::len),
                Some(rejected),
                "{problem}"
            );
            assert_eq!(app.counts(period).await, counts, "{what}: nothing stored");
            assert_eq!(app.get(&t, &live).await.json(), before, "{what}: figures unchanged");
        }
    })
    .await;
}

/// Re-uploading an earlier list makes it current again (audited), and any version can be
/// chosen or retired; the live figures follow, every upload says whether it is current.
#[tokio::test]
async fn list_versions_can_be_made_current_and_uploads_retired() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-09" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let live = format!("/api/v1/periods/{period}/coverage");
        let v1 = app.upload_list(&t, period, &fixture_path(LIST)).await;
        v1.expect_status(StatusCode::CREATED, "v1");
        let v1_id = support::id_of(&v1.json());
        assert_eq!(v1.json()["current"], true);
        let fig1 = app.get(&t, &live).await.json();
        let v2 = app.upload_list(&t, period, &fixture_path(LIST_ODS)).await;
        v2.expect_status(StatusCode::CREATED, "v2");
        let v2_id = support::id_of(&v2.json());
        let short = "Họ và tên,Số định danh,Số tiền\nNguyễn Văn An,025038000101,1500000\n";
        let path = format!("/api/v1/periods/{period}/beneficiary-lists");
        let v3 = app
            .upload_bytes(&t, &path, "ngan.csv", short.as_bytes(), None)
            .await;
        v3.expect_status(StatusCode::CREATED, "v3");
        let v3_id = support::id_of(&v3.json());
        assert_eq!(
            app.get(&t, &live).await.json()["beneficiaries"],
            1,
            "v3 is current"
        );
        let current = |uploads: &Value| -> Vec<i64> {
            uploads
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|u| u["current"] == true)
                        .map(support::id_of)
                        .collect()
                })
                .unwrap_or_default()
        };
        let uploads_path = format!("/api/v1/periods/{period}/uploads");
        assert_eq!(
            current(&app.get(&t, &uploads_path).await.json()),
            vec![v3_id]
        );

        // The first file again: 200, and it is current again.
        let again = app.upload_list(&t, period, &fixture_path(LIST)).await;
        again.expect_status(StatusCode::OK, "v1 again");
        assert_eq!(
            (
                support::id_of(&again.json()),
                again.json()["current"].clone()
            ),
            (v1_id, json!(true))
        );
        assert_eq!(app.get(&t, &live).await.json(), fig1, "v1's figures");
        assert_eq!(
            current(&app.get(&t, &uploads_path).await.json()),
            vec![v1_id]
        );

        // Choose v2; retire it: the list current before it (v1) takes over.
        let r = app
            .post_json(
                &t,
                &format!("/api/v1/uploads/{v2_id}/make-current"),
                &json!({}),
            )
            .await;
        r.expect_status(StatusCode::OK, "make v2 current");
        assert_eq!(
            current(&app.get(&t, &uploads_path).await.json()),
            vec![v2_id]
        );
        let r = app
            .post_json(&t, &format!("/api/v1/uploads/{v2_id}/retire"), &json!({}))
            .await;
        r.expect_status(StatusCode::OK, "retire v2");
        assert!(r.json()["retired_at"].is_string());
        assert_eq!(
            current(&app.get(&t, &uploads_path).await.json()),
            vec![v1_id]
        );
        app.post_json(&t, &format!("/api/v1/uploads/{v2_id}/retire"), &json!({}))
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "retired twice");

        // A retired bank file stops counting; uploading it again restores it.
        let bank = app
            .upload_payouts(&t, period, &fixture_path(AGRIBANK), Some("Agribank"))
            .await;
        bank.expect_status(StatusCode::CREATED, "bank file");
        let bank_id = support::id_of(&bank.json());
        let paid = app.get(&t, &live).await.json()["paid_cashless"].clone();
        assert_ne!(paid, fig1["paid_cashless"]);
        app.post_json(
            &t,
            &format!("/api/v1/uploads/{bank_id}/make-current"),
            &json!({}),
        )
        .await
        .expect_problem(
            StatusCode::CONFLICT,
            Some("conflict"),
            "a bank file is no list",
        );
        app.post_json(&t, &format!("/api/v1/uploads/{bank_id}/retire"), &json!({}))
            .await
            .expect_status(StatusCode::OK, "retire the bank file");
        assert_eq!(app.get(&t, &live).await.json(), fig1, "figures without it");
        app.upload_payouts(&t, period, &fixture_path(AGRIBANK), Some("Agribank"))
            .await
            .expect_status(StatusCode::OK, "the same file again");
        assert_eq!(
            app.get(&t, &live).await.json()["paid_cashless"],
            paid,
            "restored"
        );

        // Auditors cannot; every change is in the audit trail.
        app.post_json(
            &app.tokens.auditor,
            &format!("/api/v1/uploads/{v3_id}/retire"),
            &json!({}),
        )
        .await
        .expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), "auditor");
        let audit = app
            .get(&app.tokens.auditor, "/api/v1/audit?limit=1000")
            .await
            .json();
        let actions: Vec<String> = audit["entries"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|e| e["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for want in ["upload.make_current", "upload.retire", "upload.restore"] {
            assert!(actions.iter().any(|a| a == want), "{want} in {actions:?}");
        }
        assert_eq!(
            actions
                .iter()
                .filter(|a| *a == "upload.make_current")
                .count(),
            2
        );
        let v = app
            .get(&app.tokens.auditor, "/api/v1/audit/verify")
            .await
            .json();
        assert_eq!(v["ok"], true);
    })
    .await;
}

/// A bank row still in progress ("Đang xử lý", "pending") is stored as pending: neither
/// paid nor failed, not a row error, and shown as such.
#[tokio::test]
async fn pending_bank_rows_count_as_pending() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app.create_period(&t, &json!({ "code": "2024-09" })).await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        app.upload_list(&t, period, &fixture_path(LIST))
            .await
            .expect_status(StatusCode::CREATED, "list");
        let bank = "Số tham chiếu,Số định danh,Số tài khoản,Số tiền,Trạng thái\nP1,025142000102,4200205123457,1500000,Đang xử lý\nP2,025038000101,4200205123456,1500000,pending\n";
        let path = format!("/api/v1/periods/{period}/payout-files");
        let r = app
            .upload_bytes(&t, &path, "dang_xu_ly.csv", bank.as_bytes(), Some("Agribank"))
            .await;
        r.expect_status(StatusCode::CREATED, "pending rows");
        assert_eq!((r.json()["accepted_rows"].as_i64(), r.json()["rejected_rows"].as_i64()), (Some(2), Some(0)));
        let live = app
            .get(&t, &format!("/api/v1/periods/{period}/coverage"))
            .await
            .json();
        assert_eq!(live["outcomes"]["pending"], 2, "{live}");
        assert_eq!(live["paid_cashless"], 0);
        assert_eq!(live["outcomes"]["failed"], 0);
        let run = app.reconcile(&t, period).await;
        run.expect_status(StatusCode::CREATED, "run");
        let run_id = run.json()["id"].as_i64().unwrap_or(0);
        let page = app
            .get(&t, &format!("/api/v1/reconciliations/{run_id}/exceptions?outcome=pending"))
            .await
            .json();
        assert_eq!(page["total"], 2, "{page}");
        assert_eq!(page["items"][0]["payouts"][0]["status"], "pending");
    })
    .await;
}

/// A bank's result file is refused in the list slot (and a list in the bank-file slot),
/// naming the right slot; a list whose title names another month or commune is stored
/// only once the uploader confirms, and the confirmation is noted on the upload.
#[tokio::test]
async fn files_in_the_wrong_slot_or_period_are_caught() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app
            .create_period(&t, &json!({ "code": "2024-10", "locality": "Xã Tân Phú" }))
            .await;
        p.expect_status(StatusCode::CREATED, "create period");
        let period = support::id_of(&p.json());
        let before = app.counts(period).await;
        let lists = format!("/api/v1/periods/{period}/beneficiary-lists");
        let payouts = format!("/api/v1/periods/{period}/payout-files");
        let bank = support::read_file(&fixture_path(AGRIBANK));
        let r = app.upload_bytes(&t, &lists, AGRIBANK, &bank, None).await;
        let problem = r.expect_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("wrong-slot"),
            "bank file as a list",
        );
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("payout-files")),
            "{problem}"
        );
        let list = support::read_file(&fixture_path(LIST));
        let r = app
            .upload_bytes(&t, &payouts, LIST, &list, Some("Agribank"))
            .await;
        let problem = r.expect_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("wrong-slot"),
            "list as a bank file",
        );
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("beneficiary-lists")),
            "{problem}"
        );
        assert_eq!(app.counts(period).await, before, "nothing stored");

        // The sample list's title says September 2024 and Xã Tân Lập.
        let r = app.upload_bytes(&t, &lists, LIST, &list, None).await;
        let problem = r.expect_problem(
            StatusCode::CONFLICT,
            Some("title-mismatch"),
            "another month and commune",
        );
        let warnings = problem["warnings"].as_array().cloned().unwrap_or_default();
        assert_eq!(warnings.len(), 2, "{problem}");
        assert!(
            warnings[0]
                .as_str()
                .is_some_and(|w| w.contains("Tháng 09/2024"))
        );
        assert!(
            warnings[1].as_str().is_some_and(|w| w.contains("TÂN LẬP")),
            "{warnings:?}"
        );
        assert_eq!(
            app.counts(period).await,
            before,
            "nothing stored until confirmed"
        );
        let (ct, body) = support::multipart(&[
            support::Part::File {
                name: "file",
                file_name: LIST,
                bytes: &list,
            },
            support::Part::Text {
                name: "confirm",
                value: "true",
            },
        ]);
        let r = app
            .send(Method::POST, &lists, Some(&t), Some(&ct), body)
            .await;
        r.expect_status(StatusCode::CREATED, "confirmed");
        let notices = r.json()["notices"].as_array().cloned().unwrap_or_default();
        assert!(
            notices.iter().any(|n| n
                .as_str()
                .is_some_and(|n| n.contains("confirmed by accountant:"))),
            "{notices:?}"
        );
    })
    .await;
}

/// One period rule for the API and the pages: every bad field is named, texts are bounded.
#[tokio::test]
async fn period_requests_name_every_bad_field() {
    for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let r = app
            .create_period(
                &t,
                &json!({ "code": "sometime", "target_pct": 101, "locality": "X".repeat(201) }),
            )
            .await;
        let p = r.expect_problem(
            StatusCode::BAD_REQUEST,
            Some("bad-request"),
            "three bad fields",
        );
        assert_eq!(
            p["fields"],
            json!(["code", "target_pct", "locality"]),
            "{p}"
        );
        assert_eq!(app.counts(0).await.periods, 0, "nothing created");
        app.create_period(
            &t,
            &json!({ "code": "Quý 3/2024", "locality": "Xã Tân Lập" }),
        )
        .await
        .expect_status(StatusCode::CREATED, "good");
        app.create_period(&t, &json!({ "code": "2024-Q3" }))
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "exists");
    })
    .await;
}

/// The contracts banks' and auditors' tools rely on, as snapshots (tests/it/snapshots/): the
/// OpenAPI document, the sample's report JSON (the same on both backends) and the problem
/// documents of refused uploads. A change to any key or route shows as a reviewed diff.
#[tokio::test]
async fn contracts_match_their_snapshots() {
    for_each_backend(|app| async move {
        let o = app
            .send(Method::GET, "/api/openapi.json", None, None, Vec::new())
            .await;
        o.expect_status(StatusCode::OK, "openapi");
        insta::assert_json_snapshot!("openapi", o.json());

        let s = app.seed_sample("2024-09").await;
        let report = app
            .get(
                &app.tokens.auditor,
                &format!("/api/v1/reconciliations/{}", s.run),
            )
            .await;
        report.expect_status(StatusCode::OK, "report");
        insta::assert_json_snapshot!("sample_report", report.json());

        let t = app.tokens.accountant.clone();
        let lists = format!("/api/v1/periods/{}/beneficiary-lists", s.period);
        let mut problems = Vec::new();
        for (name, bytes) in [
            ("khong_tieu_de.csv", b"foo,bar,baz\n1,2,3\n".to_vec()),
            (
                "rong.csv",
                "Họ và tên,Số định danh,Số tiền\n".as_bytes().to_vec(),
            ),
            ("sst.xlsx", bombs::xlsx_shared_strings_lie()),
            ("cu.xls", vec![0x09, 0x04, 0x06, 0x00, 0, 0, 0x10, 0]),
        ] {
            let r = app.upload_bytes(&t, &lists, name, &bytes, None).await;
            problems.push(r.json());
        }
        insta::assert_json_snapshot!("upload_problems", problems);
    })
    .await;
}

/// The same run downloads as the same bytes every time; the first whole download's digest
/// is kept and shown (`…/meta` and the run page), and every download is in the audit trail
/// (who, which file, which run).
#[tokio::test]
async fn downloads_are_byte_stable_digested_and_audited() {
    for_each_backend(|app| async move {
        let s = app.seed_sample("2024-09").await;
        let t = app.tokens.accountant.clone();
        let files = ["report.xlsx", "report.csv", "follow-up.xlsx"];
        let mut first = Vec::new();
        for f in files {
            let a = app.download(&t, s.run, f).await;
            a.expect_status(StatusCode::OK, f);
            first.push(a.body.clone());
        }
        // Across a second boundary, so a clock in a file would show.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        for (f, want) in files.iter().zip(&first) {
            let b = app.download(&app.tokens.admin, s.run, f).await;
            b.expect_status(StatusCode::OK, f);
            assert!(
                b.body == *want,
                "{f}: a second download differs from the first"
            );
        }
        let meta = app
            .get(&t, &format!("/api/v1/reconciliations/{}/meta", s.run))
            .await
            .json();
        let kept = meta["downloads"].as_array().cloned().unwrap_or_default();
        assert_eq!(kept.len(), files.len(), "{meta}");
        for (f, bytes) in files.iter().zip(&first) {
            let k = kept
                .iter()
                .find(|k| k["file"] == *f && k["lang"] == "vi")
                .unwrap_or_else(|| panic!("{f} kept: {meta}"));
            assert_eq!(k["sha256"], sha256_hex(bytes), "{f}");
            assert_eq!(k["bytes"], bytes.len(), "{f}");
        }
        // In English: other headers, so another file, kept apart.
        let en = app
            .get(
                &t,
                &format!("/api/v1/reconciliations/{}/report.xlsx?lang=en", s.run),
            )
            .await;
        en.expect_status(StatusCode::OK, "report.xlsx in English");
        assert!(en.body != first[0]);
        let meta = app
            .get(&t, &format!("/api/v1/reconciliations/{}/meta", s.run))
            .await
            .json();
        assert_eq!(
            meta["downloads"].as_array().map(Vec::len),
            Some(4),
            "{meta}"
        );

        // The audit trail: seven downloads, by whom, of what.
        let trail = app
            .store
            .audit_entries(0, 1_000_000)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let downloads: Vec<_> = trail
            .iter()
            .filter(|e| e.action == "reconciliation.download")
            .collect();
        assert_eq!(downloads.len(), 7);
        assert_eq!(downloads[0].actor, "accountant:test-accountant");
        assert_eq!(downloads[0].subject, format!("reconciliation/{}", s.run));
        assert!(downloads[0].details.contains("\"file\":\"report.xlsx\""));
        assert!(downloads[3].actor.starts_with("admin:"));
        assert!(downloads[6].details.contains("\"lang\":\"en\""));
    })
    .await;
}

#[tokio::test]
async fn a_bank_file_without_a_bank_takes_it_from_whose_accounts_it_pays() {
    support::for_each_backend(|app| async move {
        let t = app.tokens.accountant.clone();
        let p = app
            .create_period(&t, &serde_json::json!({"code": "2024-09"}))
            .await;
        p.expect_status(StatusCode::CREATED, "period");
        let id = support::id_of(&p.json());
        // Agribank's results as a bare CSV: no bank column, no title. Four of its five
        // accounts are on the list, all of them at Agribank.
        let csv = "Số tham chiếu,Số định danh,Số tài khoản,Tên,Số tiền,Trạng thái\n\
            FT1,025038000101,4200205123456,NGUYEN VAN AN,1500000,Thành công\n\
            FT2,025142000102,4200205123457,TRAN THI BICH,1500000,Thành công\n\
            FT3,,4200205123460,HOANG VAN EM,1500000,Thành công\n\
            FT4,025045000107,4200205999999,VU VAN GIANG,1500000,Thành công\n\
            FT5,,4200205123464,NGO VAN KHANH,1500000,Thành công\n";
        let send = |period: i64, bank: Option<&'static str>| {
            let app = &app;
            let t = t.clone();
            async move {
                app.upload_bytes(
                    &t,
                    &format!("/api/v1/periods/{period}/payout-files"),
                    "kq_agribank.csv",
                    csv.as_bytes(),
                    bank,
                )
                .await
            }
        };
        // No list yet: nothing says the bank, and nothing is stored.
        let r = send(id, None).await;
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, None, "no bank");
        assert_eq!(app.store.list_uploads(id).await.expect("uploads").len(), 0);

        app.upload_list(&t, id, &support::fixture_path("danh_sach_xa_tan_lap.xlsx"))
            .await
            .expect_status(StatusCode::CREATED, "list");
        // The list says whose accounts the file pays: Agribank's, with a notice saying so.
        let r = send(id, None).await;
        r.expect_status(StatusCode::CREATED, "bank from the list");
        let up = r.json();
        assert_eq!(up["bank_code"], "VBA", "{up}");
        let notices = up["notices"].to_string();
        assert!(
            notices.contains("Ngân hàng suy ra từ danh sách đối tượng: 4/4 số tài khoản"),
            "{notices}"
        );
        // Its figures are those of the file uploaded with its bank named.
        let inferred = app
            .get(&t, &format!("/api/v1/periods/{id}/coverage"))
            .await
            .json();
        let p2 = app
            .create_period(&t, &serde_json::json!({"code": "2024-09", "programme": "NCC"}))
            .await;
        let id2 = support::id_of(&p2.json());
        app.upload_list(&t, id2, &support::fixture_path("danh_sach_xa_tan_lap.xlsx"))
            .await
            .expect_status(StatusCode::CREATED, "list");
        send(id2, Some("Agribank"))
            .await
            .expect_status(StatusCode::CREATED, "named");
        let named = app
            .get(&t, &format!("/api/v1/periods/{id2}/coverage"))
            .await
            .json();
        assert_eq!(inferred["by_bank"], named["by_bank"]);
        assert_eq!(inferred["outcomes"], named["outcomes"]);

        // Accounts the list does not know: still refused, nothing stored.
        let unknown = "Số tham chiếu,Số tài khoản,Số tiền,Trạng thái\nFT1,999000111,1500000,Thành công\nFT2,999000112,1500000,Thành công\n";
        let before = app.store.list_uploads(id).await.expect("uploads").len();
        let r = app
            .upload_bytes(
                &t,
                &format!("/api/v1/periods/{id}/payout-files"),
                "kq.csv",
                unknown.as_bytes(),
                None,
            )
            .await;
        r.expect_problem(StatusCode::UNPROCESSABLE_ENTITY, None, "unknown accounts");
        assert_eq!(app.store.list_uploads(id).await.expect("uploads").len(), before);
    })
    .await;
}
