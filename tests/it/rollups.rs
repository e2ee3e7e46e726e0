//! One system for a ministry, its provinces and their communes: lists per unit, the overlap
//! refusal, `duplicate_across_units`, figures rolled up from communes to the country, and
//! tokens that read and write only within their unit's subtree. On SQLite and, when
//! `TEST_DATABASE_URL` is set, PostgreSQL.

use crate::support::{self, TestApp, TestResponse, for_each_backend, id_of};

use axum::http::{Method, StatusCode};
use doisoat::domain::access::Role;
use serde_json::{Value, json};

/// Hà Nội and two of its wards since 1/7/2025.
const PROVINCE: &str = "01";
const BA_DINH: &str = "00004";
const NGOC_HA: &str = "00008";

const LIST_HEADER: &str =
    "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n";

/// Ba Đình's list: two account holders and one paid in cash, the commune written three ways.
const BA_DINH_ROWS: &str = "\
001090000001,NGUYEN VAN AN,1990,Phường Ba Đình,Người cao tuổi,1500000,1001,Agribank
001190000002,TRAN THI BINH,1990,P. Ba Đình,Người khuyết tật,1500000,1002,Agribank
001090000003,LE VAN CUONG,1990,ba dinh,Người cao tuổi,1000000,,
";

/// Ngọc Hà's list; one row still names a ward from before the 2025 merger.
const NGOC_HA_ROWS: &str = "\
001090000004,PHAM VAN DUNG,1990,Phường Ngọc Hà,Người cao tuổi,2000000,2001,Agribank
001190000005,HOANG THI EM,1990,Phường Phúc Xá,Người khuyết tật,1500000,2002,Agribank
001090000006,VU VAN PHUC,1990,Ngọc Hà,Người cao tuổi,1500000,2003,Agribank
";

/// The bank's file for the province: an underpayment, a failure, and a payout to nobody.
const BANK_FILE: &str = "\
transaction_ref,population_id,account_number,beneficiary_name,amount,status,value_date,bank
FT1,001090000001,1001,NGUYEN VAN AN,1500000,success,2025-09-20,Agribank
FT2,001190000002,1002,TRAN THI BINH,1000000,success,2025-09-20,Agribank
FT3,001090000004,2001,PHAM VAN DUNG,2000000,failed,2025-09-20,Agribank
FT4,001190000005,2002,HOANG THI EM,1500000,success,2025-09-20,Agribank
FT5,001090000006,2003,VU VAN PHUC,1500000,success,2025-09-20,Agribank
FT6,001090000099,9999,NGUOI LA,700000,success,2025-09-20,Agribank
";

fn list_csv(rows: &[&str]) -> Vec<u8> {
    let mut s = LIST_HEADER.to_owned();
    for r in rows {
        s.push_str(r);
    }
    s.into_bytes()
}

/// Tokens of a province and its two wards.
struct Units {
    province: String,
    ba_dinh: String,
    ngoc_ha: String,
    ba_dinh_auditor: String,
}

async fn unit_tokens(app: &TestApp) -> Units {
    let s = app.store.as_ref();
    Units {
        province: support::make_token_in(s, "ke-toan-01", Role::Accountant, None, PROVINCE).await,
        ba_dinh: support::make_token_in(s, "ke-toan-00004", Role::Accountant, None, BA_DINH).await,
        ngoc_ha: support::make_token_in(s, "ke-toan-00008", Role::Accountant, None, NGOC_HA).await,
        ba_dinh_auditor: support::make_token_in(s, "kiem-toan-00004", Role::Auditor, None, BA_DINH)
            .await,
    }
}

async fn new_period(app: &TestApp, body: Value) -> i64 {
    let r = app.create_period(&app.tokens.admin, &body).await;
    r.expect_status(StatusCode::CREATED, "create period");
    id_of(&r.json())
}

/// Upload `bytes` as `name` to a period's `slot` (`beneficiary-lists`, `payout-files`),
/// for `unit` when given (else the token's own).
async fn upload(
    app: &TestApp,
    token: &str,
    period: i64,
    slot: &str,
    name: &str,
    bytes: &[u8],
    unit: Option<&str>,
) -> TestResponse {
    let fields: Vec<(&str, &str)> = unit.map(|u| ("unit", u)).into_iter().collect();
    let path = format!("/api/v1/periods/{period}/{slot}");
    app.upload_form(token, &path, name, bytes, &fields).await
}

async fn coverage(app: &TestApp, token: &str, period: i64, unit: &str) -> Value {
    let r = app
        .get(
            token,
            &format!("/api/v1/periods/{period}/coverage?unit={unit}"),
        )
        .await;
    r.expect_status(StatusCode::OK, &format!("coverage of {unit}"));
    r.json()
}

async fn children(app: &TestApp, token: &str, period: i64, parent: &str) -> Vec<Value> {
    let r = app
        .get(
            token,
            &format!("/api/v1/periods/{period}/coverage/units?parent={parent}"),
        )
        .await;
    r.expect_status(StatusCode::OK, &format!("children of {parent}"));
    r.json().as_array().cloned().unwrap_or_default()
}

/// A run of `unit`'s subtree (the token's own when None): its id and unit.
async fn run_for(app: &TestApp, token: &str, period: i64, unit: Option<&str>) -> (i64, String) {
    let body = unit.map_or_else(|| json!({}), |u| json!({"unit": u}));
    let r = app
        .post_json(
            token,
            &format!("/api/v1/periods/{period}/reconciliations"),
            &body,
        )
        .await;
    r.expect_status(StatusCode::CREATED, "a run");
    let run = r.json();
    (
        id_of(&run),
        run["unit"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A page of a run's exceptions, filtered by `query`.
async fn exceptions(app: &TestApp, token: &str, run: i64, query: &str) -> Value {
    let r = app
        .get(
            token,
            &format!("/api/v1/reconciliations/{run}/exceptions?{query}"),
        )
        .await;
    r.expect_status(StatusCode::OK, query);
    r.json()
}

fn row_of<'a>(rows: &'a [Value], code: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["unit"]["code"] == code)
        .unwrap_or_else(|| panic!("no row for {code} in {rows:?}"))
}

fn n(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a whole number: {v}"))
}

/// The counts and amounts of a figure set that must add up.
const SUMMED: &[&str] = &[
    "beneficiaries",
    "with_account",
    "paid_cashless",
    "amount_due",
    "amount_paid",
];

/// Ba Đình and Ngọc Hà upload their own lists to `period`; the province its bank file.
async fn communes_upload(app: &TestApp, u: &Units, period: i64) -> (i64, i64) {
    let a = upload(
        app,
        &u.ba_dinh,
        period,
        "beneficiary-lists",
        "ds_ba_dinh.csv",
        &list_csv(&[BA_DINH_ROWS]),
        None,
    )
    .await;
    a.expect_status(StatusCode::CREATED, "Ba Đình's list");
    let b = upload(
        app,
        &u.ngoc_ha,
        period,
        "beneficiary-lists",
        "ds_ngoc_ha.csv",
        &list_csv(&[NGOC_HA_ROWS]),
        None,
    )
    .await;
    b.expect_status(StatusCode::CREATED, "Ngọc Hà's list");
    upload(
        app,
        &u.province,
        period,
        "payout-files",
        "agribank_01.csv",
        BANK_FILE.as_bytes(),
        None,
    )
    .await
    .expect_status(StatusCode::CREATED, "the province's bank file");
    (id_of(&a.json()), id_of(&b.json()))
}

#[tokio::test]
async fn communes_lists_roll_up_as_one_consolidated_list() {
    for_each_backend(|app| async move {
        let u = unit_tokens(&app).await;
        // Two programmes, the same month: the communes' lists in one, the province's
        // consolidated list of the same rows in the other.
        let split = new_period(&app, json!({"code": "2025-09", "target_pct": 80})).await;
        let whole = new_period(
            &app,
            json!({"code": "2025-09", "programme": "NCC", "target_pct": 80}),
        )
        .await;
        let (ba_dinh_list, ngoc_ha_list) = communes_upload(&app, &u, split).await;

        // Each unit's list is its own, version 1 and current; the old ward's name is a notice.
        let up = app.get(&u.province, &format!("/api/v1/uploads/{ngoc_ha_list}")).await;
        let up = up.json();
        assert_eq!((up["unit"].as_str(), up["version"].as_i64()), (Some(NGOC_HA), Some(1)));
        assert_eq!(up["current"], true);
        let notices = up["notices"].to_string();
        assert!(notices.contains("Phúc Xá") && notices.contains("1 dòng"), "{notices}");
        let up = app.get(&u.province, &format!("/api/v1/uploads/{ba_dinh_list}")).await;
        assert_eq!(up.json()["current"], true, "the other unit's list stays current");
        assert_eq!(up.json()["notices"], json!([]), "every Ba Đình spelling resolved");

        let list = list_csv(&[BA_DINH_ROWS, NGOC_HA_ROWS]);
        let consolidated =
            upload(&app, &u.province, whole, "beneficiary-lists", "ds_01.csv", &list, None).await;
        consolidated.expect_status(StatusCode::CREATED, "the consolidated list");
        assert_eq!(consolidated.json()["unit"], PROVINCE);
        upload(&app, &u.province, whole, "payout-files", "agribank_01.csv", BANK_FILE.as_bytes(), None)
            .await
            .expect_status(StatusCode::CREATED, "the bank file again");

        // The province and the country: the same figures from separate lists as from one.
        let t = app.tokens.accountant.clone();
        let province = coverage(&app, &t, split, PROVINCE).await;
        for unit in [PROVINCE, "VN"] {
            assert_eq!(
                coverage(&app, &t, split, unit).await,
                coverage(&app, &t, whole, unit).await,
                "{unit}: communes' lists and the consolidated list"
            );
        }
        assert_eq!(coverage(&app, &t, split, "VN").await, province);
        assert_eq!(
            (n(&province["beneficiaries"]), n(&province["with_account"]), n(&province["paid_cashless"])),
            (6, 5, 4)
        );
        assert_eq!((n(&province["amount_due"]), n(&province["amount_paid"])), (9_000_000, 5_500_000));
        assert_eq!(province["account_coverage_pct"], 83.33);
        assert_eq!(province["cashless_rate_pct"], 80.0);
        assert_eq!(province["unmatched_payouts"], json!({"count": 1, "amount": "700000"}));
        assert_eq!(province["flags"]["duplicate_across_units"], 0);

        // The province's children: each the sum of its rows, rates from the sums.
        let rows = children(&app, &t, split, PROVINCE).await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        let (bd, nh) = (row_of(&rows, BA_DINH), row_of(&rows, NGOC_HA));
        assert_eq!(bd["unit"], json!({"code": BA_DINH, "name": "Ba Đình", "full_name": "Phường Ba Đình", "level": "commune"}));
        assert_eq!((n(&bd["beneficiaries"]), n(&bd["with_account"]), n(&bd["paid_cashless"])), (3, 2, 2));
        assert_eq!(bd["account_coverage_pct"], 66.67);
        assert_eq!(bd["outcomes"]["underpaid"], 1);
        assert_eq!(bd["outcomes"]["no_account"], 1);
        assert_eq!((n(&nh["beneficiaries"]), n(&nh["paid_cashless"])), (3, 2));
        assert_eq!(nh["cashless_rate_pct"], 66.67);
        assert_eq!(nh["outcomes"]["failed"], 1);
        for key in SUMMED {
            assert_eq!(n(&bd[key]) + n(&nh[key]), n(&province[key]), "{key}");
        }
        // The payout to nobody sits at the province itself (its file's unit).
        assert_eq!(bd["unmatched_payouts"]["count"], 0);
        assert_eq!(nh["unmatched_payouts"]["count"], 0);
        let country = children(&app, &t, split, "VN").await;
        assert_eq!(country.len(), 1, "only Hà Nội has data");
        let hn = row_of(&country, PROVINCE);
        for key in SUMMED.iter().chain(&["account_coverage_pct", "cashless_rate_pct", "outcomes", "unmatched_payouts", "flags"]) {
            assert_eq!(hn[key], province[key], "{key}");
        }

        // The consolidated list names the same wards: Ba Đình's figures are the same; the
        // pre-merger ward is not one of Hà Nội's now, so its row sits at the province.
        let whole_rows = children(&app, &t, whole, PROVINCE).await;
        assert_eq!(row_of(&whole_rows, BA_DINH), bd);
        assert_eq!(n(&row_of(&whole_rows, NGOC_HA)["beneficiaries"]), 2);

        // A ward's token reads its own figures by default: the same as its row above.
        let own = coverage(&app, &u.ba_dinh, split, BA_DINH).await;
        let by_default = app.get(&u.ba_dinh, &format!("/api/v1/periods/{split}/coverage")).await;
        assert_eq!(by_default.json(), own);
        for key in SUMMED {
            assert_eq!(own[key], bd[key], "{key}");
        }

        // A ward's own target: its row is measured against it, the other against the period's.
        let r = app
            .send(
                Method::PUT,
                &format!("/api/v1/periods/{split}/targets/{BA_DINH}"),
                Some(&u.province),
                Some("application/json"),
                json!({"target_pct": 95}).to_string().into_bytes(),
            )
            .await;
        r.expect_status(StatusCode::OK, "Ba Đình's own target");
        let rows = children(&app, &t, split, PROVINCE).await;
        let (bd, nh) = (row_of(&rows, BA_DINH), row_of(&rows, NGOC_HA));
        assert_eq!((bd["target_pct"].clone(), bd["account_coverage_meets_target"].clone()), (json!(95.0), json!(false)));
        assert_eq!(bd["account_coverage_vs_target_points"], -28.33);
        assert_eq!((nh["target_pct"].clone(), nh["account_coverage_meets_target"].clone()), (json!(80.0), json!(true)));
        assert_eq!(nh["account_coverage_vs_target_points"], 20.0);
        // The ward's own figures (its slices) are measured against its own target.
        let own = coverage(&app, &u.ba_dinh, split, BA_DINH).await;
        assert_eq!(own["by_commune"][0]["target_pct"], 95.0, "{}", own["by_commune"]);
    })
    .await;
}

#[tokio::test]
async fn a_list_may_not_overlap_its_ancestors_or_descendants() {
    for_each_backend(|app| async move {
        let u = unit_tokens(&app).await;
        let p = new_period(&app, json!({"code": "2025-09"})).await;
        let (ba_dinh_list, ngoc_ha_list) = communes_upload(&app, &u, p).await;
        let before = app.counts(p).await;

        // The province's list over its wards' lists, or the nation's: refused, naming one.
        let whole = list_csv(&[BA_DINH_ROWS, NGOC_HA_ROWS]);
        for (token, unit) in [
            (&u.province, None),
            (&app.tokens.accountant, None),
            (&app.tokens.accountant, Some(PROVINCE)),
        ] {
            let r = upload(
                &app,
                token,
                p,
                "beneficiary-lists",
                "ds_01.csv",
                &whole,
                unit,
            )
            .await;
            let problem = r.expect_problem(
                StatusCode::CONFLICT,
                Some("conflict"),
                "an overlapping list",
            );
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains(BA_DINH) && detail.contains("ds_ba_dinh.csv"),
                "{detail}"
            );
        }
        assert_eq!(app.counts(p).await, before, "a refused list stores nothing");

        // The same file as another unit's list is not that unit's to reuse.
        let r = upload(
            &app,
            &u.province,
            p,
            "beneficiary-lists",
            "x.csv",
            &list_csv(&[BA_DINH_ROWS]),
            Some(NGOC_HA),
        )
        .await;
        let problem = r.expect_problem(StatusCode::CONFLICT, None, "another unit's file");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(BA_DINH),
            "{problem}"
        );
        assert_eq!(app.counts(p).await, before);

        // Once the wards' lists are retired, the province's list may be current.
        for id in [ba_dinh_list, ngoc_ha_list] {
            app.send(
                Method::POST,
                &format!("/api/v1/uploads/{id}/retire"),
                Some(&u.province),
                None,
                Vec::new(),
            )
            .await
            .expect_status(StatusCode::OK, "the province retires a ward's list");
        }
        upload(
            &app,
            &u.province,
            p,
            "beneficiary-lists",
            "ds_01.csv",
            &whole,
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "the province's list");
        // … and now a ward's old list may not come back over it.
        let r = app
            .send(
                Method::POST,
                &format!("/api/v1/uploads/{ba_dinh_list}/make-current"),
                Some(&u.ba_dinh),
                None,
                Vec::new(),
            )
            .await;
        r.expect_problem(
            StatusCode::CONFLICT,
            Some("conflict"),
            "a ward's list under the province's",
        );
        let versions = app
            .get(&u.province, &format!("/api/v1/periods/{p}/uploads"))
            .await
            .json();
        let current: Vec<&str> = versions
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| u["current"] == true)
            .filter_map(|u| u["unit"].as_str())
            .collect();
        assert_eq!(current, [PROVINCE]);
    })
    .await;
}

#[tokio::test]
async fn the_same_person_on_two_units_lists_is_flagged_on_both() {
    for_each_backend(|app| async move {
        let u = unit_tokens(&app).await;
        let p = new_period(&app, json!({"code": "2025-09"})).await;
        // Ngọc Hà also lists Ba Đình's first person.
        let also =
            "001090000001,NGUYEN VAN AN,1990,Phường Ngọc Hà,Người cao tuổi,1500000,1001,Agribank\n";
        upload(
            &app,
            &u.ba_dinh,
            p,
            "beneficiary-lists",
            "ds_ba_dinh.csv",
            &list_csv(&[BA_DINH_ROWS]),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "Ba Đình");
        upload(
            &app,
            &u.ngoc_ha,
            p,
            "beneficiary-lists",
            "ds_ngoc_ha.csv",
            &list_csv(&[NGOC_HA_ROWS, also]),
            None,
        )
        .await
        .expect_status(StatusCode::CREATED, "Ngọc Hà");
        // Each ward counts whom it listed, both flagged; Ba Đình's figures are its own.
        let province = coverage(&app, &u.province, p, PROVINCE).await;
        assert_eq!(
            province["flags"]["duplicate_across_units"], 2,
            "{}",
            province["flags"]
        );
        assert_eq!(province["flags"]["duplicate_row"], 0);
        assert_eq!(
            province["beneficiaries"], 7,
            "one person on two wards' lists"
        );
        let ba_dinh = coverage(&app, &u.ba_dinh, p, BA_DINH).await;
        assert_eq!(
            (n(&ba_dinh["beneficiaries"]), n(&ba_dinh["amount_due"])),
            (3, 4_000_000)
        );
        let ngoc_ha = coverage(&app, &u.ngoc_ha, p, NGOC_HA).await;
        assert_eq!(
            (n(&ngoc_ha["beneficiaries"]), n(&ngoc_ha["amount_due"])),
            (4, 6_500_000)
        );
        assert_eq!(ngoc_ha["flags"]["duplicate_across_units"], 1);

        let (run, _) = run_for(&app, &u.province, p, None).await;
        let page = exceptions(&app, &u.province, run, "flag=duplicate_across_units").await;
        assert_eq!(page["total"], 2, "both rows: {page}");
        for (e, (unit, file, other, other_file, row)) in
            page["items"].as_array().into_iter().flatten().zip([
                (BA_DINH, "ds_ba_dinh.csv", NGOC_HA, "ds_ngoc_ha.csv", 5),
                (NGOC_HA, "ds_ngoc_ha.csv", BA_DINH, "ds_ba_dinh.csv", 2),
            ])
        {
            assert_eq!(e["population_id"], "001090000001");
            assert_eq!(
                (e["unit"].as_str(), e["list_file"].as_str()),
                (Some(unit), Some(file))
            );
            assert_eq!(
                e["other_lists"],
                json!([{"unit": other, "file": other_file, "rows": [row]}])
            );
        }
        // Each ward sees its own listing, naming the other.
        for unit in [BA_DINH, NGOC_HA] {
            let page = exceptions(
                &app,
                &u.province,
                run,
                &format!("flag=duplicate_across_units&unit={unit}"),
            )
            .await;
            assert_eq!(page["total"], 1, "{unit}: {page}");
            assert_eq!(page["items"][0]["unit"], unit);
        }
        let (own, _) = run_for(&app, &u.ngoc_ha, p, None).await;
        let page = exceptions(&app, &u.ngoc_ha, own, "flag=duplicate_across_units").await;
        assert_eq!(
            page["total"], 1,
            "Ngọc Hà's own run shows its listing: {page}"
        );
        // Ba Đình's listing is named by its unit only, not by Ba Đình's file.
        assert_eq!(page["items"][0]["other_lists"], json!([{"unit": BA_DINH}]));
    })
    .await;
}

/// Expected 404 (a read) or 403 (a write), as problem+json; nothing else.
#[track_caller]
fn refused(r: &TestResponse, write: bool, what: &str) {
    if write {
        r.expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), what);
    } else {
        r.expect_problem(StatusCode::NOT_FOUND, Some("not-found"), what);
    }
}

#[tokio::test]
async fn a_ward_token_reads_and_writes_only_its_own_subtree() {
    for_each_backend(|app| async move {
        let u = unit_tokens(&app).await;
        let p = new_period(&app, json!({"code": "2025-09"})).await;
        let (ba_dinh_list, ngoc_ha_list) = communes_upload(&app, &u, p).await;
        let (own_run, unit) = run_for(&app, &u.ba_dinh, p, None).await;
        assert_eq!(unit, BA_DINH);
        let (other_run, unit) = run_for(&app, &u.ngoc_ha, p, None).await;
        assert_eq!(unit, NGOC_HA);
        let (province_run, unit) = run_for(&app, &u.province, p, None).await;
        assert_eq!(unit, PROVINCE);
        let (_, unit) = run_for(&app, &u.province, p, Some(NGOC_HA)).await;
        assert_eq!(unit, NGOC_HA, "a province reconciles one of its wards");

        for (who, token, write) in [
            ("accountant", &u.ba_dinh, true),
            ("auditor", &u.ba_dinh_auditor, false),
        ] {
            let before = app.counts(p).await;
            // Reads of another unit's data: 404, as if it did not exist.
            let mut reads = vec![
                format!("/api/v1/uploads/{ngoc_ha_list}"),
                format!("/api/v1/periods/{p}/coverage?unit={NGOC_HA}"),
                format!("/api/v1/periods/{p}/coverage?unit={PROVINCE}"),
                format!("/api/v1/periods/{p}/coverage?unit=VN"),
                format!("/api/v1/periods/{p}/coverage/units?parent={NGOC_HA}"),
                format!("/api/v1/periods/{p}/coverage/units?parent={PROVINCE}"),
                format!("/api/v1/periods/{p}/targets/{NGOC_HA}"),
            ];
            for run in [other_run, province_run] {
                for tail in [
                    "",
                    "/meta",
                    "/exceptions",
                    "/report.json",
                    "/report.csv",
                    "/report.xlsx",
                    "/follow-up.xlsx",
                ] {
                    reads.push(format!("/api/v1/reconciliations/{run}{tail}"));
                }
            }
            for path in &reads {
                refused(
                    &app.get(token, path).await,
                    false,
                    &format!("{who}: read {path}"),
                );
            }
            // Listings leave other units' uploads and runs out.
            let uploads = app
                .get(token, &format!("/api/v1/periods/{p}/uploads"))
                .await
                .json();
            let ids: Vec<i64> = uploads
                .as_array()
                .into_iter()
                .flatten()
                .map(id_of)
                .collect();
            assert_eq!(ids, [ba_dinh_list], "{who}: only its own uploads");
            let runs = app
                .get(token, &format!("/api/v1/periods/{p}/reconciliations"))
                .await
                .json();
            let ids: Vec<i64> = runs.as_array().into_iter().flatten().map(id_of).collect();
            assert_eq!(ids, [own_run], "{who}: only its own runs");
            // Its own run's inputs: every file the run used, another unit's named only by its
            // unit and digest.
            let meta = app
                .get(token, &format!("/api/v1/reconciliations/{own_run}/meta"))
                .await;
            meta.expect_status(StatusCode::OK, "its own run's meta");
            let names: Vec<String> = meta.json()["meta"]["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            assert_eq!(names.len(), 3, "{names:?}");
            assert!(names.contains(&"ds_ba_dinh.csv".to_owned()), "{names:?}");
            assert!(
                names
                    .iter()
                    .all(|n| !n.contains("ngoc_ha") && !n.contains("agribank")),
                "{names:?}"
            );
            // Its own: readable.
            for path in [
                format!("/api/v1/uploads/{ba_dinh_list}"),
                format!("/api/v1/periods/{p}/coverage"),
                format!("/api/v1/periods/{p}/coverage/units?parent={BA_DINH}"),
                format!("/api/v1/reconciliations/{own_run}/exceptions"),
                format!("/api/v1/reconciliations/{own_run}/report.xlsx"),
            ] {
                app.get(token, &path)
                    .await
                    .expect_status(StatusCode::OK, &format!("{who}: {path}"));
            }
            if !write {
                // The audit trail: the ward's entries only (the chain still verifies whole).
                let trail = app.get(token, "/api/v1/audit?limit=1000").await;
                trail.expect_status(StatusCode::OK, "a ward auditor's trail");
                let trail = trail.json();
                let units: Vec<String> = trail["entries"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let d: Value = serde_json::from_str(e["details"].as_str().unwrap_or("{}"))
                            .unwrap_or_default();
                        d["unit"].as_str().unwrap_or("-").to_owned()
                    })
                    .collect();
                assert!(
                    !units.is_empty() && units.iter().all(|u| u == BA_DINH),
                    "{units:?}"
                );
                let whole = app.get(token, "/api/v1/audit/verify").await.json();
                assert_eq!(whole["ok"], true);
                assert!(whole["entries"].as_u64().unwrap_or(0) > units.len() as u64);
                continue;
            }
            // Refused reads left no trace; its own download is in the audit trail.
            let mut downloaded = before.clone();
            downloaded.audit_entries += 1;
            assert_eq!(app.counts(p).await, downloaded, "{who}: reads");
            let before = downloaded;
            // Writes for another unit: 403, nothing changed.
            let list = list_csv(&[NGOC_HA_ROWS]);
            let writes = [
                upload(
                    &app,
                    token,
                    p,
                    "beneficiary-lists",
                    "ds.csv",
                    &list,
                    Some(NGOC_HA),
                )
                .await,
                upload(
                    &app,
                    token,
                    p,
                    "beneficiary-lists",
                    "ds.csv",
                    &list,
                    Some(PROVINCE),
                )
                .await,
                upload(
                    &app,
                    token,
                    p,
                    "payout-files",
                    "kq.csv",
                    BANK_FILE.as_bytes(),
                    Some(NGOC_HA),
                )
                .await,
                app.send(
                    Method::POST,
                    &format!("/api/v1/uploads/{ngoc_ha_list}/make-current"),
                    Some(token),
                    None,
                    Vec::new(),
                )
                .await,
                app.send(
                    Method::POST,
                    &format!("/api/v1/uploads/{ngoc_ha_list}/retire"),
                    Some(token),
                    None,
                    Vec::new(),
                )
                .await,
                app.post_json(
                    token,
                    &format!("/api/v1/periods/{p}/reconciliations"),
                    &json!({"unit": NGOC_HA}),
                )
                .await,
                app.post_json(
                    token,
                    &format!("/api/v1/periods/{p}/reconciliations"),
                    &json!({"unit": "VN"}),
                )
                .await,
                app.send(
                    Method::PUT,
                    &format!("/api/v1/periods/{p}/targets/{NGOC_HA}"),
                    Some(token),
                    Some("application/json"),
                    json!({"target_pct": 50}).to_string().into_bytes(),
                )
                .await,
                // Its own target is set from above; periods are the country's to create.
                app.send(
                    Method::PUT,
                    &format!("/api/v1/periods/{p}/targets/{BA_DINH}"),
                    Some(token),
                    Some("application/json"),
                    json!({"target_pct": 50}).to_string().into_bytes(),
                )
                .await,
                app.create_period(token, &json!({"code": "2025-10"})).await,
            ];
            for (i, r) in writes.iter().enumerate() {
                refused(r, true, &format!("{who}: write {i}"));
            }
            assert_eq!(
                app.counts(p).await,
                before,
                "{who}: refused writes change nothing"
            );
        }
        // The province sees both wards' data.
        for path in [
            format!("/api/v1/uploads/{ngoc_ha_list}"),
            format!("/api/v1/uploads/{ba_dinh_list}"),
            format!("/api/v1/reconciliations/{other_run}"),
            format!("/api/v1/periods/{p}/coverage?unit={NGOC_HA}"),
        ] {
            app.get(&u.province, &path)
                .await
                .expect_status(StatusCode::OK, &path);
        }
        let runs = app
            .get(&u.province, &format!("/api/v1/periods/{p}/reconciliations"))
            .await
            .json();
        assert_eq!(runs.as_array().map(Vec::len), Some(4));
        // Programmes, like periods, are the whole country's.
        let admin_01 =
            support::make_token_in(app.store.as_ref(), "admin-01", Role::Admin, None, PROVINCE)
                .await;
        let r = app
            .post_json(
                &admin_01,
                "/api/v1/programmes",
                &json!({"code": "TT01", "name": "Riêng tỉnh"}),
            )
            .await;
        refused(&r, true, "a province's admin creates a programme");
        // An unknown unit is not found, whoever asks.
        refused(
            &app.get(
                &u.province,
                &format!("/api/v1/periods/{p}/coverage?unit=99999"),
            )
            .await,
            false,
            "unknown unit",
        );
    })
    .await;
}

#[tokio::test]
async fn a_callback_to_nobody_counts_in_the_unit_it_names() {
    for_each_backend(|app| async move {
        let u = unit_tokens(&app).await;
        let p = new_period(&app, json!({"code": "2025-09"})).await;
        communes_upload(&app, &u, p).await;
        let item = |tref: &str, unit: Option<&str>| {
            let mut v = json!({
                "transaction_ref": tref, "period": "2025-09",
                "population_id": "001090000098", "account_number": "777",
                "amount": 300000, "currency": "VND", "status": "success",
                "value_date": "2025-09-21",
            });
            if let Some(unit) = unit {
                v["unit"] = json!(unit);
            }
            v.to_string()
        };
        let t = &app.tokens;
        app.post_callback(&t.bank, &t.bank_secret, &item("CB-1", Some(BA_DINH)), 0)
            .await
            .expect_status(StatusCode::OK, "a callback naming a ward");
        app.post_callback(&t.bank, &t.bank_secret, &item("CB-2", None), 0)
            .await
            .expect_status(StatusCode::OK, "a callback naming no unit");
        let r = app
            .post_callback(&t.bank, &t.bank_secret, &item("CB-3", Some("99999")), 0)
            .await;
        r.expect_status(StatusCode::UNPROCESSABLE_ENTITY, "an unknown unit");
        assert!(r.text().contains("unit"), "{}", r.text());

        let ward = coverage(&app, &u.ba_dinh, p, BA_DINH).await;
        assert_eq!(
            ward["unmatched_payouts"],
            json!({"count": 1, "amount": "300000"})
        );
        let province = coverage(&app, &u.province, p, PROVINCE).await;
        assert_eq!(
            province["unmatched_payouts"]["count"], 2,
            "the ward's and the province's file's"
        );
        let country = coverage(&app, &app.tokens.accountant, p, "VN").await;
        assert_eq!(
            country["unmatched_payouts"]["count"], 3,
            "and the one naming no unit"
        );
    })
    .await;
}
