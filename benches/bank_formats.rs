//! A bank's answers in its own formats against the same outcomes as a spreadsheet, in one
//! run: the province case ×`DOISOAT_BANK_SCALE` (default 4: 107,176 beneficiaries), the
//! orders of one bank written by `doisoat payment-orders`, and that bank's answers as
//!   - a CSV of the outcomes (the baseline: what banks send today),
//!   - a pain.002 status report + a camt.054 notification (batches of 50 `TxDtls`),
//!   - the same pain.002 + an MT940 statement,
//!
//! each reconciled by `doisoat reconcile --period` (which rebuilds the orders from the
//! list), as its own process under `/usr/bin/time`; next to the floor, a bare parse of the
//! same files (calamine for the list, quick-xml events for the XML, lines for MT940). The
//! figures must be equal across the three, or the timing means nothing.
//!
//!   cargo bench --bench bank_formats
//!
//! `DOISOAT_BENCH_DIR` (default: the system's temporary folder) keeps the files.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/measure.rs"]
mod measure;
#[path = "support/province.rs"]
mod province;
use measure::{best_of_two, fail, line};
#[path = "support/bank_answers.rs"]
mod bank_answers;

const BANK: &str = "VBA";
const PERIOD: &str = "2026-10";

fn doisoat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_doisoat"))
}

/// `--floor FILE…`: read every file as bare as it gets, print the count of records.
fn floor(files: &[String]) {
    let mut records = 0u64;
    for f in files {
        if f.ends_with(".xlsx") {
            use calamine::Reader;
            let mut wb = calamine::open_workbook_auto(f).unwrap_or_else(|e| fail(f, e));
            if let Some(Ok(range)) = wb.worksheet_range_at(0) {
                records += range.height() as u64;
            }
        } else if f.ends_with(".xml") {
            let mut r = quick_xml::Reader::from_file(f).unwrap_or_else(|e| fail(f, e));
            let mut buf = Vec::new();
            loop {
                match r.read_event_into(&mut buf) {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(quick_xml::events::Event::Start(_)) => records += 1,
                    Ok(_) => {}
                    Err(e) => fail(f, e),
                }
                buf.clear();
            }
        } else {
            use std::io::BufRead;
            let file = std::fs::File::open(f).unwrap_or_else(|e| fail(f, e));
            for l in std::io::BufReader::new(file).split(b'\n') {
                records += u64::from(l.unwrap_or_else(|e| fail(f, e)).starts_with(b":61:"));
            }
        }
    }
    println!("{records}");
}

fn floor_of(files: &[&Path]) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail("current_exe", e));
    let mut c = Command::new(exe);
    c.arg("--floor").args(files);
    c
}

fn reconcile(dir: &Path, payouts: &[&str]) -> Command {
    let mut c = doisoat();
    c.args([
        "reconcile",
        "--json",
        "--period",
        PERIOD,
        "--beneficiaries",
        province::LIST_FILE,
    ]);
    for p in payouts {
        c.arg("--payouts").arg(format!("{BANK}={p}"));
    }
    c.current_dir(dir);
    c
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--floor") {
        return floor(&args[1..]);
    }
    let scale: u32 = std::env::var("DOISOAT_BANK_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let root = std::env::var_os("DOISOAT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("doisoat-bench-bank-{scale}"));
    std::fs::create_dir_all(&root).unwrap_or_else(|e| fail("bench dir", e));
    let dir = province::files(scale, &root);
    let list = dir.join(province::LIST_FILE);

    // The bank's orders, as the CLI writes them, and the list's IDs by row for the CSV.
    let orders_file = dir.join(format!("lenh_chi_{BANK}.xml"));
    let out = doisoat()
        .args(["payment-orders", "--period", PERIOD, "--beneficiaries"])
        .arg(&list)
        .args([
            "--bank",
            BANK,
            "--debtor-account",
            "1234567890",
            "--debtor-name",
            "Sở Y tế",
            "--out",
        ])
        .arg(&orders_file)
        .output()
        .unwrap_or_else(|e| fail("payment-orders", e));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&orders_file).unwrap_or_else(|e| fail("orders", e));
    let orders = bank_answers::orders_in(&text);
    let message = bank_answers::between(&text, "<MsgId>", "</MsgId>").to_owned();
    let bytes = std::fs::read(&list).unwrap_or_else(|e| fail("list", e));
    let imported = doisoat::import::import_beneficiaries(
        province::LIST_FILE,
        bytes,
        &doisoat::import::ImportOptions::new(2026),
    )
    .unwrap_or_else(|e| fail("list", e));
    let ids = bank_answers::ids_by_row(&imported.rows);
    let write = |name: &str, body: String| {
        std::fs::write(dir.join(name), body).unwrap_or_else(|e| fail(name, e));
    };
    write("trang_thai.xml", bank_answers::pain002(&message, &orders));
    write("bao_no.xml", bank_answers::camt054(&message, &orders));
    write("sao_ke.sta", bank_answers::mt940(&orders));
    write("ket_qua.csv", bank_answers::spreadsheet(&orders, &ids));

    println!(
        "{} beneficiaries, {} orders at {BANK}, {}:",
        imported.rows.len(),
        orders.len(),
        dir.display()
    );
    for f in ["ket_qua.csv", "trang_thai.xml", "bao_no.xml", "sao_ke.sta"] {
        println!("  {f:<16} {:>7.1} MB", size_mb(&dir.join(f)));
    }
    let runs: [(&str, &[&str]); 3] = [
        ("CSV of the outcomes (baseline)", &["ket_qua.csv"]),
        ("pain.002 + camt.054", &["trang_thai.xml", "bao_no.xml"]),
        ("pain.002 + MT940", &["trang_thai.xml", "sao_ke.sta"]),
    ];
    let mut results = Vec::new();
    for (name, files) in runs {
        let (m, report) = best_of_two(|| reconcile(&dir, files)).unwrap_or_else(|e| fail(name, e));
        let report: serde_json::Value =
            serde_json::from_str(&report).unwrap_or_else(|e| fail("report JSON", e));
        let paths: Vec<PathBuf> = std::iter::once(list.clone())
            .chain(files.iter().map(|f| dir.join(f)))
            .collect();
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let (bare, _) = best_of_two(|| floor_of(&refs)).unwrap_or_else(|e| fail("floor", e));
        results.push((name, m, report, bare));
    }
    let (_, base, base_report, _) = &results[0];
    // The outcomes the answers were written to give, or the timing means nothing.
    let refused = (0..orders.len())
        .filter(|&i| bank_answers::fate(i) == bank_answers::Fate::Refused)
        .count();
    // (Outcomes count people: a person listed twice is one, hence "about".)
    let failed = base_report["outcomes"]["failed"].as_u64().unwrap_or(0) as usize;
    assert!(
        failed <= refused && failed >= refused * 99 / 100,
        "{failed} failed, {refused} refused"
    );
    assert_eq!(base_report["outcomes"]["returned"].as_u64(), Some(1));
    for key in [
        "beneficiaries",
        "paid_cashless",
        "amount_paid",
        "outcomes",
        "outcome_amounts",
        "unmatched_payouts",
        "by_bank",
    ] {
        for (name, _, report, _) in &results[1..] {
            assert_eq!(report[key], base_report[key], "{name}: {key}");
        }
    }
    println!("doisoat reconcile --period {PERIOD} --json, best of two:");
    for (name, m, _, bare) in &results {
        line(&format!("bare read: list + {name}"), *bare, None, None);
        line(
            &format!("doisoat: {name}"),
            *m,
            Some(("baseline", base.wall)),
            Some(("baseline", base.peak_kb)),
        );
    }
}
