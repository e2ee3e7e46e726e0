//! The whole CLI job at national size, side by side in one run with
//!   - the floor: a bare parse of the same CSVs with the `csv` crate (no typing at all),
//!   - the peers: polars and DuckDB doing the same join and counts
//!     (`benches/peers/*.py`; `pip install polars duckdb`; skipped with a note when absent),
//!
//! and the province case's CLI job next to a bare calamine/csv read of its files.
//! Every program runs as its own process under `/usr/bin/time`, so wall time and peak
//! memory (maximum resident set) come from the operating system.
//!
//!   cargo bench --bench national
//!
//! `DOISOAT_NATIONAL_PEOPLE` (default 3,350,000) sizes the month; `DOISOAT_BENCH_DIR`
//! (default: the system's temporary folder) keeps the generated files between runs.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/measure.rs"]
mod measure;
#[path = "support/province.rs"]
mod province;
use measure::{Measured, best_of_two, fail, line, measure};

const LIST: &str = "danh_sach_quoc_gia.csv";
const PAYOUTS: &str = "ket_qua_chi_quoc_gia.csv";

fn doisoat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_doisoat"))
}

fn me(args: &[&Path]) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|e| fail("current_exe", e));
    let mut c = Command::new(exe);
    c.arg("--floor").args(args);
    c
}

/// `--floor FILE…`: parse every file as the bare floor, print the record count.
fn floor(files: &[String]) {
    let mut records = 0u64;
    for f in files {
        if f.ends_with(".csv") {
            let mut r = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(f)
                .unwrap_or_else(|e| fail(f, e));
            let mut rec = csv::ByteRecord::new();
            while r.read_byte_record(&mut rec).unwrap_or_else(|e| fail(f, e)) {
                records += 1;
            }
        } else {
            use calamine::Reader;
            let mut wb = calamine::open_workbook_auto(f).unwrap_or_else(|e| fail(f, e));
            if let Some(Ok(range)) = wb.worksheet_range_at(0) {
                records += range.height() as u64;
            }
        }
    }
    println!("{records}");
}

fn python_peer(script: &str, dir: &Path) -> Option<Command> {
    let module = script.split('_').next().unwrap_or(script);
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("  ({module} is not installed: pip install polars duckdb; peer skipped)");
        return None;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(script);
    let mut c = Command::new("python3");
    c.arg(path).arg(LIST).arg(PAYOUTS).current_dir(dir);
    Some(c)
}

fn national(dir: &Path) {
    let people = std::env::var("DOISOAT_NATIONAL_PEOPLE").unwrap_or_else(|_| "3350000".into());
    let stamp = dir.join(format!("people-{people}"));
    if !stamp.exists() {
        let out = doisoat()
            .args(["fixtures", "--national", "--people", &people, "--out"])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| fail("doisoat fixtures", e));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&stamp, "").unwrap_or_else(|e| fail("stamp", e));
    }
    println!(
        "national month ({people} beneficiaries), {}:",
        dir.display()
    );
    let (floor, _) = best_of_two(|| me(&[&dir.join(LIST), &dir.join(PAYOUTS)]))
        .unwrap_or_else(|e| fail("floor", e));
    let json = || {
        let mut c = doisoat();
        c.args([
            "reconcile",
            "--json",
            "--beneficiaries",
            LIST,
            "--payouts",
            PAYOUTS,
        ])
        .current_dir(dir);
        c
    };
    let (ours, report) = best_of_two(json).unwrap_or_else(|e| fail("doisoat reconcile", e));
    // The figures must be the construction's, or the timing means nothing.
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("expected_national.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| fail("expected_national.json", e));
    let got: serde_json::Value =
        serde_json::from_str(&report).unwrap_or_else(|e| fail("report JSON", e));
    for key in [
        "beneficiaries",
        "with_account",
        "paid_cashless",
        "amount_due",
        "amount_paid",
    ] {
        assert_eq!(got[key], expected[key], "{key}");
    }
    let peers: Vec<(&str, Measured)> = [
        ("polars", "polars_national.py"),
        ("DuckDB", "duckdb_national.py"),
    ]
    .into_iter()
    .filter_map(|(name, script)| {
        let (m, _) =
            best_of_two(|| python_peer(script, dir).unwrap_or_else(|| Command::new("false")))
                .map_err(|e| println!("  ({name}: {e})"))
                .ok()?;
        Some((name, m))
    })
    .collect();
    let faster = peers
        .iter()
        .min_by(|a, b| a.1.wall.total_cmp(&b.1.wall))
        .map(|(n, m)| (*n, m.wall));
    let leaner = peers
        .iter()
        .min_by_key(|p| p.1.peak_kb)
        .map(|(n, m)| (*n, m.peak_kb));
    line("csv crate, bare parse (floor)", floor, None, None);
    for (name, m) in &peers {
        line(&format!("{name} (same join and counts)"), *m, None, None);
    }
    line(
        "doisoat reconcile --json",
        ours,
        faster.or(Some(("floor", floor.wall))),
        leaner.or(Some(("floor", floor.peak_kb))),
    );
    line(
        "doisoat reconcile --json vs the floor",
        ours,
        Some(("floor", floor.wall)),
        Some(("floor", floor.peak_kb)),
    );
    let xlsx = dir.join("bao_cao_quoc_gia.xlsx");
    let mut c = doisoat();
    c.args([
        "reconcile",
        "--beneficiaries",
        LIST,
        "--payouts",
        PAYOUTS,
        "--out",
    ])
    .arg(&xlsx)
    .current_dir(dir);
    match measure(c) {
        Ok((m, _)) => line("doisoat reconcile --out report.xlsx", m, None, None),
        Err(e) => println!("  doisoat reconcile --out report.xlsx FAILED: {e}"),
    }
    let _ = std::fs::remove_file(&xlsx);
}

fn province_case(root: &Path) {
    let dir = province::files(1, &root.join("province"));
    println!("province case (26,794 beneficiaries), {}:", dir.display());
    let files = [
        province::LIST_FILE,
        province::AGRIBANK_FILE,
        province::VIETINBANK_FILE,
        province::OTHER_BANKS_FILE,
    ];
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let (bare, _) = best_of_two(|| me(&refs)).unwrap_or_else(|e| fail("bare read", e));
    let job = || {
        let mut c = doisoat();
        c.args([
            "reconcile",
            "--json",
            "--beneficiaries",
            files[0],
            "--payouts",
        ])
        .arg(format!("Agribank={}", files[1]))
        .arg("--payouts")
        .arg(format!("VietinBank={}", files[2]))
        .args(["--payouts", files[3]])
        .current_dir(&dir);
        c
    };
    let (ours, _) = best_of_two(job).unwrap_or_else(|e| fail("province job", e));
    line("calamine/csv bare read of the 4 files", bare, None, None);
    line(
        "doisoat reconcile --json (the whole job)",
        ours,
        Some(("bare read", bare.wall)),
        Some(("bare read", bare.peak_kb)),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--floor") {
        return floor(&args[1..]);
    }
    // `cargo bench` passes `--bench`; nothing else is taken.
    let root = std::env::var_os("DOISOAT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("doisoat-bench-national"));
    std::fs::create_dir_all(&root).unwrap_or_else(|e| fail("bench dir", e));
    province_case(&root);
    national(&root);
}
