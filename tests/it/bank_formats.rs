//! The loop with the banks, on the command line: doisoat writes each bank's payment orders
//! (pain.001), the banks answer in their own formats (a pain.002 status report refusing
//! some orders, a camt.054 notification or an MT940 statement booking the rest and
//! returning one), and
//! `reconcile --period` links every answer back to the list row it pays. The figures are
//! those of the same outcomes sent as a spreadsheet.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::gate;

fn doisoat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doisoat"))
        .args(args)
        .output()
        .expect("cannot run doisoat")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The ISO 20022 schemas in `../shared/real/schemas/` and a validator (xmllint), or a loud
/// note that the check did not run (a user's fresh clone); under CI both must be there.
fn schemas() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real/schemas");
    let xmllint = Command::new("xmllint").arg("--version").output().is_ok();
    if dir.is_dir() && xmllint {
        return Some(dir);
    }
    assert!(
        !gate::ci(),
        "under CI the ISO 20022 schemas (../shared/real/schemas) and xmllint must be here"
    );
    gate::skipped(
        "bank_formats schema validation",
        "../shared/real/schemas or xmllint is missing; the XML files were NOT validated",
    );
    None
}

fn validates(schemas: &Path, xsd: &str, file: &Path) {
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schemas.join(xsd))
        .arg(file)
        .output()
        .expect("xmllint");
    assert!(
        out.status.success(),
        "{} does not validate against {xsd}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[path = "../../benches/support/bank_answers.rs"]
mod bank_answers;
use bank_answers::{between, camt054, ids_by_row, mt940, orders_in, pain002, spreadsheet};

/// `doisoat payment-orders` for one bank of the list, paid from the province's account.
fn write_orders(period: &str, list: &str, bank: &str, out: &Path, extra: &[&str]) -> String {
    let out = out.display().to_string();
    let mut args = vec![
        "payment-orders",
        "--period",
        period,
        "--beneficiaries",
        list,
        "--bank",
        bank,
        "--debtor-account",
        "1234567890",
        "--debtor-name",
        "Sở Y tế tỉnh Tân Lập",
        "--out",
        &out,
    ];
    args.extend_from_slice(extra);
    ok(&doisoat(&args))
}

/// The runs of 9 or 12 digits in a text (where a personal ID or a CMND would be).
fn digit_runs(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| !b.is_ascii_digit())
        .filter(|run| run.len() == 9 || run.len() == 12)
}

#[test]
fn orders_out_answers_in_the_same_figures_as_a_spreadsheet() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bank-loop");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let fixtures = dir.join("province");
    ok(&doisoat(&[
        "fixtures",
        "--out",
        &fixtures.display().to_string(),
    ]));
    let list = fixtures
        .join("danh_sach_chi_tra.xlsx")
        .display()
        .to_string();

    // The list's IDs by row, as `payment-orders` will have read them.
    let opts = doisoat::import::ImportOptions::new(2026);
    let bytes = std::fs::read(&list).expect("list");
    let imported = doisoat::import::import_beneficiaries(&list, bytes, &opts).expect("list");
    let ids = ids_by_row(&imported.rows);
    let listed: std::collections::HashSet<&[u8]> = ids.values().map(|s| s.as_bytes()).collect();
    let banks = doisoat::domain::payment_orders::banks_of(&imported.rows[..]);
    assert!(banks.len() >= 3, "the province pays through several banks");

    let schemas = schemas();
    let (mut answers, mut sheets, mut statements) = (Vec::new(), Vec::new(), Vec::new());
    let mut ordered = 0;
    for bank in &banks {
        let code = bank.code();
        let xml = dir.join(format!("lenh_chi_{code}.xml"));
        let said = write_orders("2026-10", &list, code, &xml, &[]);
        assert!(said.contains("lệnh chi / orders"), "{said}");
        let text = std::fs::read_to_string(&xml).expect("orders");
        let orders = orders_in(&text);
        assert!(!orders.is_empty(), "{code}");
        ordered += orders.len();
        // NbOfTxs and CtrlSum exact; no personal ID anywhere in the file.
        let sum: u64 = orders
            .iter()
            .map(|o| o.amount.parse::<u64>().expect("amount"))
            .sum();
        assert!(text.contains(&format!("<NbOfTxs>{}</NbOfTxs>", orders.len())));
        assert!(text.contains(&format!("<CtrlSum>{sum}</CtrlSum>")));
        assert!(
            digit_runs(text.as_bytes()).all(|run| !listed.contains(run)),
            "{code}: an ID in the orders"
        );
        // The same list and period give the same references (one bank is enough).
        if bank == &banks[0] {
            let again = dir.join(format!("lenh_chi_{code}_again.xml"));
            write_orders("Tháng 10/2026", &list, code, &again, &["--ascii"]);
            let again = orders_in(&std::fs::read_to_string(&again).expect("again"));
            assert!(
                again
                    .iter()
                    .zip(&orders)
                    .all(|(a, b)| a.end_to_end == b.end_to_end)
            );
            assert!(again.iter().all(|o| o.name.is_ascii()));
        }
        let message = between(&text, "<MsgId>", "</MsgId>").to_owned();
        let status = dir.join(format!("trang_thai_{code}.xml"));
        std::fs::write(&status, pain002(&message, &orders)).expect("pain.002");
        let booked = dir.join(format!("bao_no_{code}.xml"));
        std::fs::write(&booked, camt054(&message, &orders)).expect("camt.054");
        let statement = dir.join(format!("sao_ke_{code}.sta"));
        std::fs::write(&statement, mt940(&orders)).expect("mt940");
        let sheet = dir.join(format!("ket_qua_{code}.csv"));
        std::fs::write(&sheet, spreadsheet(&orders, &ids)).expect("csv");
        if let Some(schemas) = &schemas {
            validates(schemas, "pain.001.001.10_1.xsd", &xml);
            validates(schemas, "pain.002.001.11.xsd", &status);
            validates(schemas, "camt.054.001.08.xsd", &booked);
        }
        answers.push(format!("{code}={}", status.display()));
        answers.push(format!("{code}={}", booked.display()));
        sheets.push(format!("{code}={}", sheet.display()));
        // The same bookings as an MT940 statement, with the status report.
        statements.push(format!("{code}={}", status.display()));
        statements.push(format!("{code}={}", statement.display()));
    }

    let reconcile = |payouts: &[String]| -> Value {
        let mut args = vec![
            "reconcile",
            "--period",
            "2026-10",
            "--beneficiaries",
            &list,
            "--json",
        ];
        for p in payouts {
            args.push("--payouts");
            args.push(p);
        }
        serde_json::from_str(&ok(&doisoat(&args))).expect("json")
    };
    let by_answers = reconcile(&answers);
    let by_sheets = reconcile(&sheets);
    let by_statements = reconcile(&statements);
    let outcomes = &by_answers["outcomes"];
    assert_eq!(
        outcomes["returned"].as_u64(),
        Some(banks.len() as u64),
        "{outcomes}"
    );
    assert!(outcomes["failed"].as_u64().unwrap_or(0) > 0, "{outcomes}");
    assert!(
        outcomes["matched"].as_u64().unwrap_or(0) > (ordered / 2) as u64,
        "{outcomes}"
    );
    assert_eq!(
        outcomes["pending"].as_u64(),
        Some(0),
        "every pending order was booked"
    );
    assert_eq!(by_answers["unmatched_payouts"]["count"].as_u64(), Some(0));
    for key in [
        "beneficiaries",
        "with_account",
        "account_coverage_pct",
        "paid_cashless",
        "cashless_rate_pct",
        "amount_due",
        "amount_paid",
        "outcomes",
        "outcome_amounts",
        "unmatched_payouts",
        "flags",
        "by_commune",
        "by_category",
        "by_bank",
    ] {
        assert_eq!(by_answers[key], by_sheets[key], "{key}");
        assert_eq!(by_statements[key], by_sheets[key], "MT940: {key}");
    }
    assert_eq!(
        by_answers["row_errors"].as_array().map(Vec::len),
        by_sheets["row_errors"].as_array().map(Vec::len)
    );

    // Without the period, the status reports' rows name orders nobody knows: refused,
    // saying so, rather than counted as payouts to nobody.
    let mut args = vec!["reconcile", "--beneficiaries", &list];
    for p in &answers {
        args.push("--payouts");
        args.push(p);
    }
    let said = ok(&doisoat(&args));
    assert!(said.contains("doisoat không tìm thấy"), "{said}");
}

/// The service: `GET /api/v1/periods/{id}/payment-orders` writes a bank's orders from the
/// current list and stores them; the bank's pain.002, uploaded as a payout file without
/// naming the bank, links back through them; every refusal. On both backends.
#[tokio::test]
async fn the_service_writes_orders_and_links_the_answers() {
    use crate::support::{for_each_backend, id_of};
    use axum::http::StatusCode;
    const LIST: &str = "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n\
        001090000001,Nguyễn Văn An,1990,Phường Ba Đình,NCT,1500000,1001,Agribank\n\
        001090000002,Trần Thị Bình,1990,Phường Ba Đình,NCT,1000000,1002,Agribank\n\
        001090000003,Lê Văn Cường,1990,Phường Ba Đình,NCT,1200000,1003,Agribank\n\
        001090000004,Phạm Văn Dũng,1990,Phường Ba Đình,NCT,1000000,2004,Vietcombank\n\
        001090000005,Hoàng Văn Em,1990,Phường Ba Đình,NCT,1000000,,\n";
    let schemas = schemas();
    for_each_backend(|app| {
        let schemas = schemas.clone();
        async move {
            let t = app.tokens.clone();
            let period = crate::comparison::period(&app, "2024-09", "TCXH").await;
            app.upload_form(
                &t.accountant,
                &format!("/api/v1/periods/{period}/beneficiary-lists"),
                "ds.csv",
                LIST.as_bytes(),
                &[("unit", "01")],
            )
            .await
            .expect_status(StatusCode::CREATED, "list");
            let orders = |token: String, query: String| {
                let app = &app;
                async move {
                    app.get(
                        &token,
                        &format!("/api/v1/periods/{period}/payment-orders?{query}"),
                    )
                    .await
                }
            };
            let q = "bank=VBA&debtor_account=1234567890&debtor_name=Ph%C3%B2ng%20VHXH";
            let r = orders(t.accountant.clone(), q.to_owned()).await;
            r.expect_status(StatusCode::OK, "orders");
            assert_eq!(r.content_type(), "application/xml");
            let header = |r: &crate::support::TestResponse, h: &str| {
                r.headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            assert_eq!(header(&r, "x-doisoat-orders"), "3");
            assert_eq!(header(&r, "x-doisoat-control-sum"), "3700000");
            let xml = r.text();
            let lines = orders_in(&xml);
            assert_eq!(lines.len(), 3);
            assert!(xml.contains("<NbOfTxs>3</NbOfTxs><CtrlSum>3700000</CtrlSum>"));
            assert!(!xml.contains("001090000001"), "no personal ID in the orders");
            assert!(lines.iter().all(|l| l.end_to_end.starts_with("DS-202409-")));
            if let Some(schemas) = &schemas {
                let file = std::env::temp_dir().join(format!("doisoat-orders-{}.xml", app.backend.name()));
                std::fs::write(&file, &xml).expect("write");
                validates(schemas, "pain.001.001.10_1.xsd", &file);
            }
            // Again (the bank's own token, in ASCII, as v09): the same references, nothing new stored.
            let again = orders(t.bank.clone(), format!("{q}&ascii=true&version=09")).await;
            again.expect_status(StatusCode::OK, "the bank's own orders");
            let again_xml = again.text();
            assert!(again_xml.contains("pain.001.001.09"));
            assert!(again_xml.contains("Nguyen Van An"));
            let again_lines = orders_in(&again_xml);
            assert!(again_lines.iter().zip(&lines).all(|(a, b)| a.end_to_end == b.end_to_end));
            let audit = app.get(&t.auditor, "/api/v1/audit?limit=1000").await;
            let written = audit.text().matches("period.payment_orders").count();
            assert_eq!(written, 1, "stored once: {}", audit.text());
            // The xlsx bảng kê.
            let x = orders(t.accountant.clone(), format!("{q}&format=xlsx")).await;
            x.expect_status(StatusCode::OK, "xlsx");
            assert!(x.content_type().contains("spreadsheetml"));
            assert_eq!(header(&again, "x-doisoat-new-orders"), "0");
            assert_eq!(header(&r, "x-doisoat-new-orders"), "3");
            assert_eq!(header(&r, "x-doisoat-rows-not-ordered"), "0");
            // Another unit's list with an Agribank account too: the whole country's orders
            // would send the first list's again (another message): refused unless asked.
            app.upload_form(
                &t.accountant,
                &format!("/api/v1/periods/{period}/beneficiary-lists"),
                "ds79.csv",
                "population_id,full_name,year_of_birth,commune,category,amount,account_number,bank\n\
                 079090000001,Võ Văn Tám,1990,Phường Sài Gòn,NCT,1000000,7001,Agribank\n"
                    .as_bytes(),
                &[("unit", "79")],
            )
            .await
            .expect_status(StatusCode::CREATED, "a second unit's list");
            orders(t.accountant.clone(), q.to_owned())
                .await
                .expect_problem(StatusCode::CONFLICT, Some("orders-sent"), "sent already");
            let both = orders(t.accountant.clone(), format!("{q}&resend=true")).await;
            both.expect_status(StatusCode::OK, "resent on purpose");
            assert_eq!(header(&both, "x-doisoat-orders"), "4");
            assert_eq!(header(&both, "x-doisoat-new-orders"), "1");
            assert_eq!(both.text().matches("<PmtInf>").count(), 2, "one block per list");
            // Refusals.
            orders(t.auditor.clone(), q.to_owned())
                .await
                .expect_status(StatusCode::FORBIDDEN, "an auditor");
            orders(t.bank.clone(), q.replace("VBA", "VCB"))
                .await
                .expect_status(StatusCode::FORBIDDEN, "another bank's token");
            orders(t.accountant.clone(), q.replace("VBA", "NOPE"))
                .await
                .expect_status(StatusCode::BAD_REQUEST, "unknown bank");
            orders(t.accountant.clone(), format!("{q}&format=pdf"))
                .await
                .expect_status(StatusCode::BAD_REQUEST, "unknown format");
            orders(t.accountant.clone(), q.replace("1234567890", "12%2034%3C"))
                .await
                .expect_problem(StatusCode::BAD_REQUEST, Some("debtor-account"), "a bad account");
            orders(t.accountant.clone(), q.replace("VBA", "BIDV"))
                .await
                .expect_problem(StatusCode::CONFLICT, Some("no-orders"), "nobody at BIDV");
            orders(t.accountant.clone(), format!("{q}&unit=79"))
                .await
                .expect_status(StatusCode::CONFLICT, "no list in that subtree");

            // The bank answers: the block settled, the second order refused (AC01).
            let message = between(&xml, "<MsgId>", "</MsgId>").to_owned();
            let status = format!(
                "<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.11\"><CstmrPmtStsRpt><GrpHdr><MsgId>S1</MsgId><CreDtTm>2024-09-05T10:00:00</CreDtTm></GrpHdr>\
                 <OrgnlGrpInfAndSts><OrgnlMsgId>{message}</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.10</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>\
                 <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message}-1</OrgnlPmtInfId><PmtInfSts>ACSC</PmtInfSts>\
                 <TxInfAndSts><OrgnlEndToEndId>{}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC01</Cd></Rsn></StsRsnInf></TxInfAndSts>\
                 </OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>",
                lines[1].end_to_end
            );
            let up = app
                .upload_bytes(
                    &t.accountant,
                    &format!("/api/v1/periods/{period}/payout-files"),
                    "trang_thai.xml",
                    status.as_bytes(),
                    None,
                )
                .await;
            up.expect_status(StatusCode::CREATED, "the status report");
            let up = up.json();
            assert_eq!(up["format"], "pain.002", "{up}");
            assert_eq!(up["bank_code"].as_str().unwrap_or("VBA"), "VBA", "{up}");
            assert_eq!(up["accepted_rows"], 3, "{up}");
            let r = app.reconcile(&t.accountant, period).await;
            r.expect_status(StatusCode::CREATED, "reconcile");
            let run = app
                .get(&t.auditor, &format!("/api/v1/reconciliations/{}", id_of(&r.json())))
                .await;
            let run = run.json();
            let outcomes = &run["outcomes"];
            assert_eq!(outcomes["matched"], 2, "{run}");
            assert_eq!(outcomes["failed"], 1, "{run}");
            assert_eq!(
                outcomes["unpaid"], 2,
                "the Vietcombank one, and the second unit's (not answered yet): {run}"
            );
            assert_eq!(run["unmatched_payouts"]["count"], 0, "{run}");
        }
    })
    .await;
}
