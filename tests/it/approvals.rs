//! Maker-checker and closing (issue 15): a run submitted by an accountant, approved or
//! returned by an approver (never the submitter's token); the period closed for the run's
//! subtree (uploads refused, callbacks kept and counted apart); reopened by an approver with
//! a reason; the approved workbook as the document to sign. On SQLite and, when
//! `TEST_DATABASE_URL` is set, PostgreSQL.

use std::io::Read;

use crate::support::{self, TestApp, TestResponse, fixture_path, for_each_backend, id_of};

use axum::http::StatusCode;
use doisoat::domain::access::Role;
use serde_json::{Value, json};

async fn step(app: &TestApp, token: &str, run: i64, step: &str, body: Value) -> TestResponse {
    app.post_json(
        token,
        &format!("/api/v1/reconciliations/{run}/{step}"),
        &body,
    )
    .await
}

async fn meta(app: &TestApp, run: i64) -> Value {
    let r = app
        .get(
            &app.tokens.auditor,
            &format!("/api/v1/reconciliations/{run}/meta"),
        )
        .await;
    r.expect_status(StatusCode::OK, "run meta");
    r.json()
}

fn steps(view: &Value) -> Vec<(String, String)> {
    view["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_owned(),
                s["by"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn late_payout(tref: &str, status: &str) -> Value {
    json!({
        "transaction_ref": tref,
        "period": "2024-09",
        "population_id": "025142000102",
        "account_number": "4200205123457",
        "beneficiary_name": "TRAN THI BINH",
        "amount": "1500000",
        "currency": "VND",
        "status": status,
        "value_date": "2024-09-28",
    })
}

/// Every transition and every refusal of the state machine, through the API.
#[tokio::test]
async fn submit_return_resubmit_approve_and_every_refusal() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let s = app.seed_sample("2024-09").await;
        assert_eq!(meta(&app, s.run).await["state"], "draft");

        // Nothing but a submission moves a draft.
        for (token, what) in [(&t.approver, "approve"), (&t.approver, "return")] {
            step(&app, token, s.run, what, json!({"reason": "x"}))
                .await
                .expect_problem(
                    StatusCode::CONFLICT,
                    Some("conflict"),
                    &format!("{what} a draft"),
                );
        }
        // Who may not submit: an auditor, an approver, a bank.
        for token in [&t.auditor, &t.approver, &t.bank] {
            step(&app, token, s.run, "submit", json!({}))
                .await
                .expect_status(StatusCode::FORBIDDEN, "submit by a role that may not");
        }
        let r = step(
            &app,
            &t.accountant,
            s.run,
            "submit",
            json!({"reason": "Số liệu tháng 9"}),
        )
        .await;
        r.expect_status(StatusCode::OK, "submit");
        let v = r.json();
        assert_eq!(v["state"], "submitted");
        assert_eq!(v["id"], s.run);
        assert_eq!(
            steps(&v),
            [("submit".into(), "accountant:test-accountant".into())]
        );
        assert_eq!(v["steps"][0]["reason"], "Số liệu tháng 9");
        step(&app, &t.accountant, s.run, "submit", json!({}))
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "submit twice");
        // An accountant does not approve; a return needs its reason.
        step(&app, &t.accountant, s.run, "approve", json!({}))
            .await
            .expect_status(StatusCode::FORBIDDEN, "an accountant approving");
        step(&app, &t.approver, s.run, "return", json!({}))
            .await
            .expect_problem(
                StatusCode::BAD_REQUEST,
                Some("invalid"),
                "return without a reason",
            );
        step(
            &app,
            &t.approver,
            s.run,
            "return",
            json!({"reason": "x".repeat(1001)}),
        )
        .await
        .expect_problem(
            StatusCode::BAD_REQUEST,
            Some("invalid"),
            "a reason too long",
        );
        let r = step(
            &app,
            &t.approver,
            s.run,
            "return",
            json!({"reason": "Thiếu tệp Vietcombank"}),
        )
        .await;
        r.expect_status(StatusCode::OK, "return");
        assert_eq!(r.json()["state"], "returned");
        // A returned run is not approved: it is submitted again first.
        step(&app, &t.approver, s.run, "approve", json!({}))
            .await
            .expect_problem(
                StatusCode::CONFLICT,
                Some("conflict"),
                "approve a returned run",
            );

        // The admin submits it again, and may not approve what it submitted itself.
        step(&app, &t.admin, s.run, "submit", json!({}))
            .await
            .expect_status(StatusCode::OK, "resubmit");
        let r = step(&app, &t.admin, s.run, "approve", json!({})).await;
        let why = r.expect_problem(StatusCode::FORBIDDEN, Some("forbidden"), "self-approval");
        assert!(
            why["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("submitted"),
            "{why}"
        );
        step(&app, &t.admin, s.run, "return", json!({"reason": "tự trả"}))
            .await
            .expect_status(StatusCode::FORBIDDEN, "self-return");
        assert_eq!(
            meta(&app, s.run).await["state"],
            "submitted",
            "refusals changed nothing"
        );

        let r = step(&app, &t.approver, s.run, "approve", json!({})).await;
        r.expect_status(StatusCode::OK, "approve");
        let v = r.json();
        assert_eq!(v["state"], "approved");
        assert_eq!(
            steps(&v),
            [
                ("submit".into(), "accountant:test-accountant".into()),
                ("return".into(), "approver:test-approver".into()),
                ("submit".into(), "admin:test-admin".into()),
                ("approve".into(), "approver:test-approver".into()),
            ]
        );
        assert_eq!(v["closure"]["unit"], "VN");
        assert_eq!(v["closure"]["run_id"], s.run);
        assert_eq!(v["post_close"]["count"], 0);
        step(&app, &t.approver, s.run, "approve", json!({}))
            .await
            .expect_problem(StatusCode::CONFLICT, Some("conflict"), "approve twice");
        // The list of runs shows the state too.
        let list = app
            .get(
                &t.auditor,
                &format!("/api/v1/periods/{}/reconciliations", s.period),
            )
            .await;
        assert_eq!(list.json()[0]["state"], "approved");

        // Each step is in the audit trail, with the state before and after.
        let entries = app.store.audit_entries(0, 10_000).await.unwrap();
        let actions: Vec<&str> = entries
            .iter()
            .map(|e| e.action.as_str())
            .filter(|a| a.starts_with("reconciliation.") && *a != "reconciliation.create")
            .filter(|a| *a != "reconciliation.download")
            .collect();
        assert_eq!(
            actions,
            [
                "reconciliation.submit",
                "reconciliation.return",
                "reconciliation.submit",
                "reconciliation.approve"
            ]
        );
        let approve = entries
            .iter()
            .rfind(|e| e.action == "reconciliation.approve")
            .unwrap();
        let details: Value = serde_json::from_str(&approve.details).unwrap();
        assert_eq!(details["state_before"], "submitted");
        assert_eq!(details["closes_period"], true);
    })
    .await;
}

/// A closed period refuses new inputs, keeps what banks send (counted apart, the approved
/// figures unchanged), and opens again only for an approver with a reason.
#[tokio::test]
async fn a_closed_period_refuses_inputs_and_keeps_late_callbacks_apart() {
    for_each_backend(|app| async move {
        let t = app.tokens.clone();
        let s = app.seed_sample("2024-09").await;
        step(&app, &t.accountant, s.run, "submit", json!({})).await.expect_status(StatusCode::OK, "submit");
        step(&app, &t.approver, s.run, "approve", json!({})).await.expect_status(StatusCode::OK, "approve");
        let approved = app.get(&t.auditor, &format!("/api/v1/reconciliations/{}", s.run)).await.text();
        let before = app.counts(s.period).await;

        // New lists and bank files: 409 naming the approved run; nothing stored.
        let r = app.upload_list(&t.accountant, s.period, &fixture_path("danh_sach_xa_tan_lap.ods")).await;
        let p = r.expect_problem(StatusCode::CONFLICT, Some("period-closed"), "a list into a closed period");
        assert_eq!(p["approved_run"], s.run, "{p}");
        assert!(p["detail"].as_str().unwrap_or_default().contains(&format!("#{}", s.run)), "{p}");
        let bank = "transaction_ref,population_id,account_number,amount,status\nX1,025142000102,4200205123457,1500000,success\n";
        let r = app
            .upload_bytes(&t.accountant, &format!("/api/v1/periods/{}/payout-files", s.period), "late.csv", bank.as_bytes(), Some("Agribank"))
            .await;
        r.expect_problem(StatusCode::CONFLICT, Some("period-closed"), "a bank file into a closed period");
        // Retiring or choosing another list would change the inputs too.
        let r = app
            .send(axum::http::Method::POST, &format!("/api/v1/uploads/{}/retire", s.list_upload), Some(&t.accountant), None, Vec::new())
            .await;
        r.expect_status(StatusCode::CONFLICT, "retire in a closed period");
        assert_eq!(app.counts(s.period).await.uploads, before.uploads);

        // Linking a payout by hand would change the figures too; a note does not.
        let unmatched = app
            .get(&t.accountant, &format!("/api/v1/reconciliations/{}/exceptions?outcome=unmatched_payout", s.run))
            .await
            .json();
        let key = unmatched["items"][0]["key"].as_str().unwrap_or_default().to_owned();
        assert!(key.starts_with("p:"), "{unmatched}");
        let path = format!("/api/v1/reconciliations/{}/exceptions/{}/resolutions", s.run, key);
        let r = app
            .post_json(&t.accountant, &path, &json!({"action": "link", "note": "gõ sai số định danh", "beneficiary": "b:025038000101"}))
            .await;
        r.expect_problem(StatusCode::CONFLICT, Some("period-closed"), "a link in a closed period");
        app.post_json(&t.accountant, &path, &json!({"action": "note", "state": "in_progress", "note": "đang hỏi ngân hàng"}))
            .await
            .expect_status(StatusCode::CREATED, "a note in a closed period");
        // The store refuses it too, past the service (an approval and an adjustment cannot
        // cross), and writes nothing.
        use doisoat::domain::resolution::ResolutionAction;
        let past_service = app
            .store
            .add_resolution(
                doisoat::store::NewResolution {
                    run_id: s.run,
                    key: key.clone(),
                    action: ResolutionAction::Link,
                    state: None,
                    note: "gõ sai".into(),
                    beneficiary: Some("b:025038000101".into()),
                    actor: "accountant:test-accountant".into(),
                    actor_name: "test-accountant".into(),
                },
                Some(doisoat::store::NewAdjustment {
                    period_id: s.period,
                    unit: "VN".into(),
                    action: ResolutionAction::Link,
                    payout_key: Some(key.clone()),
                    beneficiary_key: "b:025038000101".into(),
                    list_upload_id: None,
                }),
            )
            .await;
        assert!(matches!(past_service, Err(doisoat::store::StoreError::Conflict(_))), "{past_service:?}");
        let history = app.get(&t.auditor, &path).await.json();
        assert_eq!(history["entries"].as_array().map(Vec::len), Some(1), "only the note: {history}");

        // A callback is still taken (200) and counted after the closure.
        let r = app.post_callback(&t.bank, &t.bank_secret, &late_payout("FT-LATE-1", "success").to_string(), 0).await;
        r.expect_status(StatusCode::OK, "a late callback");
        let live = app.get(&t.auditor, &format!("/api/v1/periods/{}/coverage", s.period)).await;
        live.expect_status(StatusCode::OK, "live figures");
        let pc = &live.json()["post_close"];
        assert_eq!(pc["count"], 1, "{pc}");
        assert_eq!(pc["amount"], "1500000", "{pc}");
        assert_eq!(pc["approved_run"], s.run);
        assert_eq!(meta(&app, s.run).await["post_close"]["count"], 1);
        let again = app.get(&t.auditor, &format!("/api/v1/reconciliations/{}", s.run)).await.text();
        assert_eq!(again, approved, "the approved run's figures never change");

        // Reopening: an approver, with a reason, where it is closed.
        let reopen = |token: String, body: Value| {
            let app = &app;
            async move {
                app.post_json(&token, &format!("/api/v1/periods/{}/reopen", s.period), &body).await
            }
        };
        reopen(t.accountant.clone(), json!({"reason": "sửa danh sách"}))
            .await
            .expect_status(StatusCode::FORBIDDEN, "an accountant reopening");
        reopen(t.approver.clone(), json!({}))
            .await
            .expect_problem(StatusCode::BAD_REQUEST, Some("invalid"), "reopen without a reason");
        reopen(t.approver.clone(), json!({"reason": "x", "unit": "01"}))
            .await
            .expect_status(StatusCode::CONFLICT, "reopen a unit that is not closed");
        let r = reopen(t.approver.clone(), json!({"reason": "Bổ sung danh sách tháng 9"})).await;
        r.expect_status(StatusCode::OK, "reopen");
        assert_eq!(r.json()["run_id"], s.run);
        reopen(t.approver.clone(), json!({"reason": "again"}))
            .await
            .expect_status(StatusCode::CONFLICT, "reopen twice");
        let v = meta(&app, s.run).await;
        assert_eq!(v["state"], "approved", "the run stays approved: it was signed");
        assert!(v["closure"].is_null());
        assert!(v.get("post_close").is_none());
        assert_eq!(steps(&v).last().map(|s| s.0.as_str()), Some("reopen"));
        let r = app.upload_list(&t.accountant, s.period, &fixture_path("danh_sach_xa_tan_lap.ods")).await;
        r.expect_status(StatusCode::CREATED, "a list once reopened");
        let entries = app.store.audit_entries(0, 10_000).await.unwrap();
        let reopened = entries.iter().rfind(|e| e.action == "period.reopen").unwrap();
        assert!(reopened.details.contains("Bổ sung danh sách tháng 9"), "{}", reopened.details);
    })
    .await;
}

/// Approving a ward's run closes the ward only: its sibling and its province go on; an
/// approver of another ward may not approve it.
#[tokio::test]
async fn approving_a_ward_closes_its_subtree_only() {
    for_each_backend(|app| async move {
        let st = app.store.as_ref();
        let ba_dinh = support::make_token_in(st, "kt-00004", Role::Accountant, None, "00004").await;
        let ngoc_ha = support::make_token_in(st, "kt-00008", Role::Accountant, None, "00008").await;
        let ngoc_ha_approver = support::make_token_in(st, "ktt-00008", Role::Approver, None, "00008").await;
        let province_approver = support::make_token_in(st, "ktt-01", Role::Approver, None, "01").await;
        let r = app.create_period(&app.tokens.admin, &json!({"code": "2025-09"})).await;
        let period = id_of(&r.json());
        let list = |rows: &str| format!("population_id,full_name,amount,account_number,bank\n{rows}").into_bytes();
        let path = format!("/api/v1/periods/{period}/beneficiary-lists");
        app.upload_bytes(&ba_dinh, &path, "ba_dinh.csv", &list("001090000001,NGUYEN VAN AN,1500000,1001,Agribank\n"), None)
            .await
            .expect_status(StatusCode::CREATED, "Ba Đình's list");
        let r = app.post_json(&ba_dinh, &format!("/api/v1/periods/{period}/reconciliations"), &json!({})).await;
        r.expect_status(StatusCode::CREATED, "Ba Đình's run");
        let run = id_of(&r.json());
        assert_eq!(r.json()["state"], "draft");
        step(&app, &ba_dinh, run, "submit", json!({})).await.expect_status(StatusCode::OK, "submit");
        step(&app, &ngoc_ha_approver, run, "approve", json!({}))
            .await
            .expect_status(StatusCode::NOT_FOUND, "another ward's approver does not see the run");
        step(&app, &province_approver, run, "approve", json!({})).await.expect_status(StatusCode::OK, "approve");

        app.upload_bytes(&ba_dinh, &path, "ba_dinh_2.csv", &list("001090000002,TRAN THI BINH,1500000,1002,Agribank\n"), None)
            .await
            .expect_problem(StatusCode::CONFLICT, Some("period-closed"), "Ba Đình closed");
        app.upload_bytes(&ngoc_ha, &path, "ngoc_ha.csv", &list("001090000004,PHAM VAN DUNG,2000000,2001,Agribank\n"), None)
            .await
            .expect_status(StatusCode::CREATED, "Ngọc Hà is open");
        let bank = "transaction_ref,population_id,account_number,amount,status\nFT1,001090000004,2001,2000000,success\n";
        app.upload_form(&app.tokens.accountant, &format!("/api/v1/periods/{period}/payout-files"), "tinh.csv", bank.as_bytes(), &[("bank", "Agribank"), ("unit", "01")])
            .await
            .expect_status(StatusCode::CREATED, "the province's bank file");
        // The period says which units are closed.
        let p = app.get(&app.tokens.auditor, &format!("/api/v1/periods/{period}")).await.json();
        assert_eq!(p["closures"][0]["unit"], "00004", "{p}");
        assert_eq!(p["closures"][0]["run_id"], run);
        // Only an approver over the ward reopens it.
        app.post_json(&ngoc_ha_approver, &format!("/api/v1/periods/{period}/reopen"), &json!({"reason": "x", "unit": "00004"}))
            .await
            .expect_status(StatusCode::FORBIDDEN, "another ward's approver reopening");
    })
    .await;
}

/// The approved report.xlsx is the form to sign: the submitter and the approver named with
/// their dates in the signature block, the report's digest in every sheet's footer; its
/// digest kept apart from the draft's.
#[tokio::test]
async fn the_approved_workbook_names_its_signers_and_carries_the_digest() {
    for_each_backend(|app| async move {
        let st = app.store.as_ref();
        let hoa = support::make_person_token(
            st,
            "ke-toan-hoa",
            Role::Accountant,
            None,
            "VN",
            Some("Nguyễn Thị Hoa"),
        )
        .await;
        let binh = support::make_person_token(
            st,
            "ktt-binh",
            Role::Approver,
            None,
            "VN",
            Some("Trần Văn Bình"),
        )
        .await;
        let s = app.seed_sample("2024-09").await;
        let draft = app
            .download(&app.tokens.auditor, s.run, "report.xlsx")
            .await;
        draft.expect_status(StatusCode::OK, "the draft workbook");
        step(&app, &hoa, s.run, "submit", json!({}))
            .await
            .expect_status(StatusCode::OK, "submit");
        step(&app, &binh, s.run, "approve", json!({}))
            .await
            .expect_status(StatusCode::OK, "approve");
        let r = app
            .download(&app.tokens.auditor, s.run, "report.xlsx")
            .await;
        r.expect_status(StatusCode::OK, "the approved workbook");
        let bytes = r.body.to_vec();
        assert_ne!(bytes, draft.body.to_vec());
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
        let range = calamine::Reader::worksheet_range(&mut book, "Tổng hợp").unwrap();
        let text: Vec<String> = range.cells().map(|(_, _, c)| c.to_string()).collect();
        let today = (chrono::Utc::now() + chrono::Duration::hours(7))
            .format("%d/%m/%Y")
            .to_string();
        for want in [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            "Người lập biểu",
            "Kế toán trưởng",
            "Thủ trưởng đơn vị",
            "Nguyễn Thị Hoa",
            "Trần Văn Bình",
            &format!("Trình ngày {today}"),
            &format!("Duyệt ngày {today}"),
        ] {
            assert!(
                text.iter().any(|t| t == want),
                "{want} missing from the summary"
            );
        }
        // The names stand under their roles.
        let pos = |want: &str| {
            range
                .cells()
                .find(|(_, _, c)| **c == calamine::Data::String(want.to_owned()))
                .map(|(r, c, _)| (r, c))
                .unwrap()
        };
        assert_eq!(pos("Nguyễn Thị Hoa").1, pos("Người lập biểu").1);
        assert_eq!(pos("Trần Văn Bình").1, pos("Kế toán trưởng").1);
        assert!(pos("Nguyễn Thị Hoa").0 > pos("Người lập biểu").0);
        // Every sheet's footer carries the report's digest; the page prints on A4.
        let sha = meta(&app, s.run).await["report_sha256"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let sheets: Vec<String> = zip
            .file_names()
            .filter_map(Result::ok)
            .filter(|n| n.starts_with("xl/worksheets/sheet"))
            .map(|n| n.into_owned())
            .collect();
        assert!(sheets.len() >= 4, "{sheets:?}");
        for name in sheets {
            let mut xml = String::new();
            zip.by_name(&name)
                .unwrap()
                .read_to_string(&mut xml)
                .unwrap();
            assert!(
                xml.contains(&format!("Mã kiểm tra báo cáo (SHA-256): {sha}")),
                "{name}: no digest footer"
            );
            assert!(xml.contains("paperSize=\"9\""), "{name}: not A4");
        }
        // Byte-stable, and its digest kept under its own name.
        let again = app
            .download(&app.tokens.auditor, s.run, "report.xlsx")
            .await;
        assert_eq!(again.body, r.body);
        let files: Vec<String> = meta(&app, s.run).await["downloads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["file"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(
            files.contains(&"report.xlsx".to_owned())
                && files.contains(&"report.xlsx (approved)".to_owned()),
            "{files:?}"
        );
    })
    .await;
}
