//! The importers on real files other tools wrote (calamine's, xlrd's and SheetJS's test
//! files, in `../shared/real/`; provenance in its PROVENANCE.md). They are read from there,
//! never copied into the project: on a fresh clone without that folder these tests say so
//! loudly and pass; under CI (`support::gate::ci`) a missing folder fails them.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader};
use doisoat::import::grid::Cell;
use doisoat::import::guard::{Budget, DEFAULT_MAX_CELLS};
use doisoat::import::{ImportError, source};

use crate::support::gate;

fn real_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/real");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !gate::ci(),
        "../shared/real is missing: under CI the real-file tests must run"
    );
    gate::skipped(
        "real_files",
        "../shared/real is not here (a fresh clone); the real-file tests did NOT run",
    );
    None
}

fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.iter().any(|e| x.eq_ignore_ascii_case(e)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn budget() -> Budget {
    Budget {
        max_uncompressed_bytes: 256 * 1024 * 1024,
        max_cells: DEFAULT_MAX_CELLS,
    }
}

/// calamine's own reading of the sheet we pick: (absolute row, column) -> value.
fn calamine_cells(path: &Path, sheet: &str) -> Option<Vec<((u32, u32), Data)>> {
    let mut wb = calamine::open_workbook_auto(path).ok()?;
    let range = wb.worksheet_range(sheet).ok()?;
    let (r0, c0) = range.start().unwrap_or((0, 0));
    Some(
        range
            .cells()
            .filter(|(_, _, v)| !matches!(v, Data::Empty))
            .filter(|(_, _, v)| !matches!(v, Data::String(s) if s.trim().is_empty()))
            .map(|(r, c, v)| ((r0 + r as u32, c0 + c as u32), v.clone()))
            .collect(),
    )
}

/// Every workbook is either read, cell for cell what calamine reads, or refused with a
/// reason; none panics, none is refused that calamine reads (unless protected or over budget).
#[test]
fn real_workbooks_read_like_calamine_or_are_refused_clearly() {
    let Some(dir) = real_dir() else { return };
    let paths = files(
        &dir.join("spreadsheets"),
        &["xlsx", "xlsm", "xlsb", "xls", "ods"],
    );
    assert!(
        paths.len() > 100,
        "expected the real spreadsheets, found {}",
        paths.len()
    );
    let (mut read, mut refused) = (0, 0);
    let mut problems = Vec::new();
    for path in &paths {
        let name = path.display().to_string();
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        match source::load(&name, bytes, None, budget()) {
            Ok((_, sheet, grid)) => {
                read += 1;
                let Some(sheet) = sheet else { continue };
                let Some(expected) = calamine_cells(path, &sheet) else {
                    continue;
                };
                let (_, c0) = grid.origin();
                let mut ours = std::collections::HashMap::new();
                let mut filled = Vec::new();
                for r in 0..grid.height() {
                    grid.filled(r, &mut filled);
                    for (c, cell) in &filled {
                        ours.insert((grid.row_number(r) - 1, c0 + *c as u32), *cell);
                    }
                }
                for (pos, value) in &expected {
                    let want = Cell::from_data(value);
                    if ours.get(pos) != Some(&want) {
                        problems.push(format!(
                            "{name} {sheet} {pos:?}: ours {:?}, calamine {want:?}",
                            ours.get(pos)
                        ));
                        break;
                    }
                }
                if ours.len() != expected.len() {
                    problems.push(format!(
                        "{name} {sheet}: {} cells, calamine {}",
                        ours.len(),
                        expected.len()
                    ));
                }
            }
            Err(e) => {
                refused += 1;
                let calamine_reads = calamine::open_workbook_auto(path)
                    .ok()
                    .and_then(|mut wb| {
                        let first = wb.sheet_names().first().cloned()?;
                        wb.worksheet_range(&first).ok()
                    })
                    .is_some();
                let ok = matches!(
                    e,
                    ImportError::Password { .. }
                        | ImportError::UnsupportedFormat { .. }
                        | ImportError::NoSheet { .. }
                );
                if calamine_reads && !ok {
                    problems.push(format!("{name}: refused ({e}) but calamine reads it"));
                }
            }
        }
    }
    eprintln!("{read} read, {refused} refused of {}", paths.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What Excel users really produce, named as what it is (issue 9, item 10).
#[test]
fn real_protected_old_binary_and_unicode_text_files() {
    let Some(dir) = real_dir() else { return };
    let s = dir.join("spreadsheets");
    let load = |rel: &str| {
        let path = s.join(rel);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        source::load(rel, bytes, None, budget())
    };
    for rel in [
        "calamine/pass_protected.xlsx",
        "calamine/pass_protected.xlsb",
        "calamine/pass_protected.ods",
        "sheetjs/password_2002_40_xor.xls",
    ] {
        match load(rel) {
            Err(e @ ImportError::Password { .. }) => {
                assert!(e.to_string().contains("mật khẩu"), "{e}");
            }
            other => panic!("{rel}: {:?}", other.map(|(f, s, _)| (f, s)).err()),
        }
    }
    for rel in [
        "xlrd/biff4_no_format_no_window2.xls",
        "sheetjs/crlf__CRLFX5_2.XLS",
        "sheetjs/crlf__CRLFX5_3.XLS",
        "sheetjs/crlf__CRLFR9_4.XLS",
    ] {
        match load(rel) {
            Err(ImportError::UnsupportedFormat { detail_en, .. }) => {
                assert!(detail_en.contains("Excel 2.x"), "{rel}: {detail_en}");
            }
            other => panic!("{rel}: {:?}", other.map(|(f, s, _)| (f, s))),
        }
    }
    // xlsb is read, cell by cell.
    for rel in ["calamine/any_sheets.xlsb", "calamine/date.xlsb"] {
        match load(rel) {
            Ok((format, Some(_), grid)) => {
                assert_eq!(format.as_str(), "xlsb");
                assert!(grid.height() > 0, "{rel}");
            }
            other => panic!("{rel}: {:?}", other.err().map(|e| e.to_string())),
        }
    }
    // Excel's "Unicode Text": UTF-16 LE with BOM, tab-separated.
    match load("other-office-formats/ErrorTypes.txt") {
        Ok((format, None, grid)) => {
            assert_eq!(format.as_str(), "csv");
            assert!(grid.height() >= 2, "rows read");
            let mut filled = Vec::new();
            grid.filled(0, &mut filled);
            assert!(filled.len() >= 2, "tab-separated cells: {filled:?}");
        }
        other => panic!("ErrorTypes.txt: {:?}", other.err().map(|e| e.to_string())),
    }
}

/// Banks' own formats (`../shared/real/bank/`): every ISO 20022 message and SWIFT
/// statement is named as what it is, by content, with its version where the file says it;
/// never "save as .xlsx" (which would destroy a statement) nor "save as CSV UTF-8" (Latin-1
/// MT940 is normal). Reading them is issue 16's next steps.
#[test]
fn real_bank_files_are_named_as_what_they_are() {
    let Some(dir) = real_dir() else { return };
    let bank = dir.join("bank");
    let all = files(&bank, &["xml", "sta"]);
    assert!(all.len() >= 90, "{} bank files", all.len());
    let mut named = std::collections::BTreeMap::<String, usize>::new();
    let mut wrong = Vec::new();
    for path in &all {
        let rel = path
            .strip_prefix(&bank)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let lower = rel.to_lowercase();
        let message = match source::load(&rel, bytes, None, budget()) {
            Err(ImportError::UnsupportedFormat {
                detail_vi,
                detail_en,
                ..
            }) => {
                assert!(!detail_en.contains("save as"), "{rel}: {detail_en}");
                assert!(!detail_vi.contains("lưu lại"), "{rel}: {detail_vi}");
                detail_en
            }
            // The junk among the MT940 samples ("1 2 3 …", a lone non-SWIFT `:NS:` field)
            // is no statement: it is read as text (whose header the importer then looks
            // for).
            Ok(_) if lower.contains("invalid_statement") || lower.contains("empty_non_swift") => {
                continue;
            }
            other => {
                wrong.push(format!("{rel}: {:?}", other.map(|(f, s, _)| (f, s))));
                continue;
            }
        };
        let want = if lower.starts_with("mt940") {
            // Intraday (MT942) by its own tags; some samples named "mt942" are shaped as
            // MT940s (opening and closing balances), and are named so.
            let text =
                String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
            if text.contains(":34F:") || text.contains(":13D:") {
                "SWIFT MT942"
            } else {
                "SWIFT MT940"
            }
        } else if lower.starts_with("pain001") {
            "ISO 20022 pain.001"
        } else if lower.starts_with("pain002") {
            "ISO 20022 pain.002"
        } else if lower.starts_with("pain008") {
            "ISO 20022 pain.008"
        } else {
            // The file name's message: "camt.054", "camt054", "camt_052", "camt53".
            let after = lower
                .rsplit_once("camt")
                .map(|(_, a)| a.trim_start_matches(['.', '_']))
                .unwrap_or("");
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            match digits.trim_start_matches('0') {
                "52" => "ISO 20022 camt.052",
                "54" => "ISO 20022 camt.054",
                _ => "ISO 20022 camt.053",
            }
        };
        if !message.contains(want) {
            wrong.push(format!("{rel}: want {want}: {message}"));
        }
        *named.entry(want.to_owned()).or_default() += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Versions are named where the file says them.
    let with_version = |rel: &str| {
        let bytes = std::fs::read(bank.join(rel)).unwrap_or_default();
        match source::load(rel, bytes, None, budget()) {
            Err(ImportError::UnsupportedFormat { detail_en, .. }) => detail_en,
            other => panic!("{rel}: {:?}", other.map(|(f, s, _)| (f, s))),
        }
    };
    assert!(with_version("camt/genkgo/camt054.v8.xml").contains("camt.054.001.08"));
    assert!(with_version("camt/genkgo/camt052.v2.xml").contains("camt.052.001.02"));
    assert!(
        with_version("pain002/pain002-epo_p_0_0_0_2018031510491259.xml")
            .contains("pain.002.001.03")
    );
    eprintln!("bank formats named: {named:?}");
}

/// What reading a bank's file as payout results gave, in one line.
fn bank_read_summary(rel: &str, bytes: Vec<u8>) -> String {
    use doisoat::domain::banks::BankId;
    use doisoat::import::{ImportOptions, import_payouts};
    let opts = ImportOptions {
        default_bank: BankId::resolve("VCB"),
        ..ImportOptions::new(2026)
    };
    match import_payouts(rel, bytes, &opts) {
        Ok(imp) => {
            let mut reasons = std::collections::BTreeMap::<String, usize>::new();
            for e in &imp.errors {
                let r = e.reason_en.split(':').next().unwrap_or("").to_owned();
                *reasons.entry(r).or_default() += 1;
            }
            let ct = imp
                .control_total
                .as_ref()
                .map(|c| format!("{}={}", c.stated, c.computed))
                .unwrap_or_default();
            format!(
                "{} data={} ok={} rej={} ct={} reasons={:?} notices={} unbalanced={}",
                imp.format.as_str(),
                imp.data_rows,
                imp.rows.len(),
                imp.rejected_rows,
                ct,
                reasons,
                imp.notices.len(),
                imp.notices.iter().filter(|n| n.contains('≠')).count()
            )
        }
        Err(e) => format!("ERR {e}"),
    }
}

#[test]
fn dump_bank_reads() {
    let Some(dir) = real_dir() else { return };
    let Ok(out) = std::env::var("DOISOAT_DUMP") else {
        return;
    };
    let bank = dir.join("bank");
    let mut lines = Vec::new();
    for path in files(
        &bank,
        &["xml", "sta", "txt", "940", "mt940", "942", "swi", "rtf"],
    ) {
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let bytes = std::fs::read(&path).unwrap_or_default();
        lines.push(format!("{rel}\t{}", bank_read_summary(&rel, bytes)));
    }
    std::fs::write(out, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
}
