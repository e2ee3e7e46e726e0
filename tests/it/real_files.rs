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

/// A real statement re-denominated in đồng: every currency code replaced by VND, so its
/// transactions pass the currency rule and what the reader made of them shows.
fn in_dong(bytes: &[u8], xml: bool) -> Vec<u8> {
    let text: String = bytes.iter().map(|&b| b as char).collect();
    let out = if xml {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find("Ccy=\"") {
            out.push_str(&rest[..at + 5]);
            out.push_str("VND");
            rest = &rest[(at + 8).min(rest.len())..];
        }
        out.push_str(rest);
        out
    } else {
        text.lines()
            .map(|l| {
                let tags = [":60F:", ":60M:", ":62F:", ":62M:", ":64:", ":65:"];
                match tags.iter().find(|t| l.starts_with(*t)) {
                    Some(t) if l.len() >= t.len() + 10 => {
                        format!("{}VND{}", &l[..t.len() + 7], &l[t.len() + 10..])
                    }
                    _ if l.starts_with(":34F:") && l.len() >= 8 => format!(":34F:VND{}", &l[8..]),
                    _ => l.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    out.chars().map(|c| c as u32 as u8).collect()
}

/// Every real statement and status report in `../shared/real/bank/` read as payout results,
/// as it is and re-denominated in đồng (`in_dong`): the transactions stated, how many are
/// accepted, how many are credits that are no payouts, how many statements do not balance,
/// and in đồng the accepted rows, their sum and the returns among them. The figures were
/// written down from the files, and checked against an independent reading of them (a
/// Python script over the same rules: every count, fraction and sum agreed).
/// (file, transactions, accepted, credits, unbalanced, accepted in đồng, their sum, returned).
type BankFile = (
    &'static str,
    usize,
    usize,
    usize,
    usize,
    usize,
    &'static str,
    usize,
);

#[rustfmt::skip]
const BANK_FILES: &[BankFile] = &[
    ("camt/dutch/dutch__camt.053.001.02.xml", 3, 0, 2, 0, 0, "0", 0),
    ("camt/genkgo/camt052.v1.xml", 1, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt052.v2.other-account.xml", 1, 0, 0, 0, 1, "200000", 0),
    ("camt/genkgo/camt052.v2.with-account-name.xml", 1, 0, 0, 0, 1, "200000", 0),
    ("camt/genkgo/camt052.v2.xml", 1, 0, 0, 0, 1, "200000", 0),
    ("camt/genkgo/camt052.v4.xml", 0, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt052.v6.Amt-zero.xml", 0, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt052.v6.xml", 0, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt052.v8.xml", 1, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt053.v2.all-balance-types.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v2.five.decimals.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v2.minimal.ultimate.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v2.minimal.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v2.multi.statement.xml", 2, 0, 1, 0, 1, "7", 0),
    ("camt/genkgo/camt053.v2.with-account-name.xml", 1, 0, 1, 0, 0, "0", 0),
    ("camt/genkgo/camt053.v2.with-party-ids.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v2.wrong.xml", 0, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt053.v3.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v4.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt053.v8.xml", 1, 0, 1, 1, 0, "0", 0),
    ("camt/genkgo/camt054.v2.with-account-name.xml", 1, 0, 0, 0, 1, "200000", 0),
    ("camt/genkgo/camt054.v2.xml", 3, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt054.v4.xml", 3, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt054.v8-with-UETR.xml", 1, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt054.v8-with-financial-institution.xml", 1, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt054.v8.xml", 3, 0, 0, 0, 0, "0", 0),
    ("camt/genkgo/camt53.only-Dt-with-DtTm.xml", 0, 0, 0, 0, 0, "0", 0),
    ("camt/moov/200519_camt.052_P_CH2909000000250094239_1110092686_0_2019042416072347.xml", 2, 0, 0, 0, 0, "0", 0),
    ("camt/moov/200519_camt.054-Credit_P_CH2909000000250094239_1110092691_0_2019042421291293.xml", 1, 0, 1, 0, 0, "0", 0),
    ("camt/moov/200519_camt.054-Debit_P_CH2909000000250094239_1110092692_0_2019042401501580.xml", 1, 0, 0, 0, 0, "0", 0),
    ("camt/moov/200519_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727.xml", 2, 0, 2, 0, 0, "0", 0),
    ("camt/moov/200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml", 6, 0, 5, 0, 0, "0", 0),
    ("camt/moov/200519_camt054-chdd_p_ch2909000000250094239_1110097484_0_20190520700381159.xml", 2, 0, 2, 0, 0, "0", 0),
    ("camt/moov/200519_camt054-epo_p_ch5109000000250092291_1110097605_0_2019052003522556.xml", 3, 0, 0, 0, 0, "0", 0),
    ("camt/moov/200519_camt054-epo_p_ch5109000000250092291_1110097605_0_2019052103322231.xml", 3, 0, 0, 0, 1, "300", 0),
    ("camt/moov/200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml", 1, 0, 0, 0, 1, "400", 1),
    ("camt/moov/200924_camt.054_P_CH2909000000250094239_1110092703_0_2019042423412214.xml", 6, 0, 6, 0, 0, "0", 0),
    ("camt/moov/200924_camt.054_P_CH2909000000250094239_1111091335_0_2020061900081727.xml", 2, 0, 2, 0, 0, "0", 0),
    ("camt/moov/FI_camt_052_sample.xml.xml", 1, 0, 1, 0, 0, "0", 0),
    ("camt/moov/FI_camt_053_sample.xml.xml", 13, 0, 6, 0, 0, "0", 0),
    ("camt/moov/FI_camt_054_sample.xml.xml", 11, 0, 6, 0, 2, "1000", 0),
    ("camt/moov/camt.053_P_CH2909000000250094239_1110092698_0_2020112503071366.xml", 5, 0, 4, 1, 0, "0", 0),
    ("camt/moov/camt054-returns_p_ch5109000000250092291_1110097606_0_2020112500512470.xml", 1, 0, 0, 0, 1, "500", 1),
    ("camt/moov/statement_1.xml", 4, 0, 0, 0, 0, "0", 0),
    ("camt/prowide/camt.053.001.07.xml", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__abnamro__mt940.sta", 4, 0, 0, 2, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__bugs__issue-51.sta", 3, 0, 0, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__danskebank__MT940_DK_Example.sta", 89, 0, 8, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__danskebank__MT940_FI_Example.sta", 6, 0, 1, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__danskebank__MT940_NO_Example.sta", 24, 0, 10, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__danskebank__MT940_SE_Example.sta", 103, 0, 17, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__mBank__mt940.sta", 3, 0, 3, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__mBank__with_newline_in_tnr.sta", 2, 0, 2, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__full__sparkasse__buxtehude.sta", 3, 0, 0, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__february_30.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__incomplete_tag_61.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__invalid_utf8.sta", 7, 0, 1, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__overly_long_details.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__unexpected_tag.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt940__special-cases__unknown_tag.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt942__full__mBank__mt942.sta", 11, 0, 4, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt942__full__sberbank__171011_01234945.sta", 3, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt942__special-cases__long_statement_number.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt942__special-cases__mt942.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/mt940-rs/mt942__special-cases__raphaelm.sta", 9, 0, 8, 0, 0, "0", 0),
    ("mt940/php-mt940/Abn__issue48.sta", 2, 0, 1, 0, 0, "0", 0),
    ("mt940/php-mt940/Abn__sample.sta", 5, 0, 1, 0, 0, "0", 0),
    ("mt940/php-mt940/Abn__sample2.sta", 4, 0, 0, 1, 0, "0", 0),
    ("mt940/php-mt940/Asn__sample.sta", 3, 0, 0, 0, 0, "0", 0),
    ("mt940/php-mt940/Bunq__sample.sta", 111, 0, 26, 0, 22, "268", 0),
    ("mt940/php-mt940/Hsbc__sample.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/php-mt940/Ing__sample.sta", 7, 0, 3, 1, 0, "0", 0),
    ("mt940/php-mt940/Kbs__sample.sta", 3, 0, 1, 0, 0, "0", 0),
    ("mt940/php-mt940/Kbs__sample2.sta", 7, 0, 1, 0, 0, "0", 0),
    ("mt940/php-mt940/Knab__sample.sta", 5, 0, 0, 1, 0, "0", 0),
    ("mt940/php-mt940/Knab__sample2.sta", 1, 0, 1, 0, 0, "0", 0),
    ("mt940/php-mt940/Knab__sample3.sta", 1, 0, 1, 1, 0, "0", 0),
    ("mt940/php-mt940/Kontist__sample.sta", 6, 0, 4, 0, 0, "0", 0),
    ("mt940/php-mt940/Penta__sample.sta", 30, 0, 3, 0, 0, "0", 0),
    ("mt940/php-mt940/Rabo__sample.sta", 39, 0, 26, 29, 0, "0", 0),
    ("mt940/php-mt940/Rabo__sample2.sta", 0, 0, 0, 1, 0, "0", 0),
    ("mt940/php-mt940/Rabo__sample3.sta", 12, 0, 8, 2, 0, "0", 0),
    ("mt940/php-mt940/Rabo__sample4.sta", 3, 0, 0, 1, 0, "0", 0),
    ("mt940/php-mt940/Spk__sample.sta", 10, 0, 9, 0, 0, "0", 0),
    ("mt940/php-mt940/Triodos__sample.sta", 8, 0, 2, 0, 0, "0", 0),
    ("mt940/php-mt940/Zetb__sample.sta", 8, 0, 1, 0, 0, "0", 0),
    ("mt940/wolph/ASNB__0708271685_09022020_164516.940.txt", 8, 0, 3, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__amount_formats.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__currency_in_25.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__empty_86.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__empty_entry_date.sta", 1, 0, 1, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__empty_line.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__missing_crlf_at_end.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__sepa_mt9401.sta", 97, 0, 41, 0, 0, "0", 0),
    ("mt940/wolph/betterplace__sepa_snippet.sta", 11, 0, 8, 1, 0, "0", 0),
    ("mt940/wolph/betterplace__sepa_snippet_broken.sta", 1, 0, 1, 1, 0, "0", 0),
    ("mt940/wolph/betterplace__with_binary_character.sta", 4, 0, 3, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__account_balance_credit.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__account_balance_debit.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__account_identification_iban.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__account_identification_legacy.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__available_balance.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__closing_balance.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__mt940.sta", 16, 0, 7, 0, 2, "10800", 0),
    ("mt940/wolph/cmxl__reference.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__statement_details.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__statement_line.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/cmxl__statement_number.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/jejik__abnamro.sta", 10, 0, 0, 2, 0, "0", 0),
    ("mt940/wolph/jejik__generic.sta", 2, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/jejik__ing.sta", 7, 0, 2, 1, 0, "0", 0),
    ("mt940/wolph/jejik__knab.sta", 3, 0, 2, 1, 0, "0", 0),
    ("mt940/wolph/jejik__postfinance.sta", 4, 0, 3, 1, 0, "0", 0),
    ("mt940/wolph/jejik__rabobank-iban.sta", 4, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/jejik__rabobank.sta", 5, 0, 0, 2, 0, "0", 0),
    ("mt940/wolph/jejik__sns.sta", 2, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/jejik__triodos.sta", 2, 0, 0, 1, 0, "0", 0),
    ("mt940/wolph/mBank__mt940.sta", 3, 0, 3, 0, 0, "0", 0),
    ("mt940/wolph/mBank__mt942.sta", 3, 0, 3, 0, 0, "0", 0),
    ("mt940/wolph/mBank__with_newline_in_tnr.sta", 2, 0, 2, 1, 0, "0", 0),
    ("mt940/wolph/sberbank__171011_01234945.sta", 3, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__details_60-63.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/wolph/self-provided__february_30.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__gv_codes.sta", 2, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__long_statement_number.sta", 0, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__malformed_details.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/wolph/self-provided__mt942.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__overly_long_details.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/wolph/self-provided__raiffeisen-cmi.sta", 7, 0, 1, 1, 0, "0", 0),
    ("mt940/wolph/self-provided__raphaelm.sta", 9, 0, 8, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__sparkassen.sta", 1, 0, 1, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__transaction_details_wrapped.sta", 1, 0, 0, 0, 0, "0", 0),
    ("mt940/wolph/self-provided__whitespace.sta", 1, 0, 0, 1, 0, "0", 0),
    ("mt940/wolph/self-provided__wrapped_timestamp.sta", 1, 0, 0, 0, 0, "0", 0),
    ("pain002/pain002-chdd-cor1_p_ch2909000000250094239_1110097483_0_2018031317221082.xml", 0, 0, 0, 0, 0, "0", 0),
    ("pain002/pain002-epo_p_0_0_0_2018031510491259.xml", 0, 0, 0, 0, 0, "0", 0),
    ("pain002/pain002-epo_p_0_0_0_2018032614401842.xml", 0, 0, 0, 0, 0, "0", 0),
    ("pain002/pain002-epo_p_ch2909000000250094239_1109800799_0_2018032612092784.xml", 1, 0, 0, 0, 0, "0", 0),
    ("pain002/pain002-epo_p_ch5109000000250092291_1110097605_0_2018031511252307.xml", 1, 0, 0, 0, 0, "0", 0),
];

#[test]
fn real_bank_files_are_read_as_payouts() {
    use doisoat::domain::banks::BankId;
    use doisoat::domain::status::PayoutStatus;
    use doisoat::import::{ImportOptions, import_payouts};
    let Some(dir) = real_dir() else { return };
    let bank = dir.join("bank");
    let opts = ImportOptions {
        default_bank: BankId::resolve("VCB"),
        ..ImportOptions::new(2026)
    };
    let mut wrong = Vec::new();
    let mut read = 0;
    for path in files(&bank, &["xml", "sta", "txt"]) {
        let rel = path
            .strip_prefix(&bank)
            .unwrap_or(&path)
            .display()
            .to_string();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let got = import_payouts(&rel, bytes.clone(), &opts);
        let Some(want) = BANK_FILES.iter().find(|w| w.0 == rel) else {
            // Orders (pain.001), direct debits (pain.008) and the junk samples are refused,
            // saying what they are.
            match got {
                Err(ImportError::UnsupportedFormat { detail_en, .. })
                    if rel.starts_with("pain001") || rel.starts_with("pain008") =>
                {
                    let name = if rel.starts_with("pain001") {
                        "pain.001"
                    } else {
                        "pain.008"
                    };
                    if !detail_en.contains(name) || detail_en.contains("save as") {
                        wrong.push(format!("{rel}: {detail_en}"));
                    }
                }
                Err(ImportError::NoHeader { .. })
                    if rel.contains("invalid_statement") || rel.contains("empty_non_swift") => {}
                other => wrong.push(format!(
                    "{rel}: not in the table: {:?}",
                    other.map(|i| i.data_rows)
                )),
            }
            continue;
        };
        read += 1;
        let (Ok(imp), Ok(dong)) = (
            got,
            import_payouts(&rel, in_dong(&bytes, rel.ends_with(".xml")), &opts),
        ) else {
            wrong.push(format!("{rel}: refused"));
            continue;
        };
        assert_eq!(imp.rows.len() + imp.rejected_rows, imp.data_rows, "{rel}");
        let credits = imp
            .errors
            .iter()
            .filter(|e| e.reason_en.starts_with("a credit that is not a return"))
            .count();
        let unbalanced = imp.notices.iter().filter(|n| n.contains('≠')).count();
        let sum: rust_decimal::Decimal = dong.rows.iter().map(|r| r.amount).sum();
        let returned = dong
            .rows
            .iter()
            .filter(|r| r.status == PayoutStatus::Returned)
            .count();
        let have = (
            imp.data_rows,
            imp.rows.len(),
            credits,
            unbalanced,
            dong.rows.len(),
            sum.to_string(),
            returned,
        );
        let expected = (
            want.1,
            want.2,
            want.3,
            want.4,
            want.5,
            want.6.to_owned(),
            want.7,
        );
        if have != expected {
            wrong.push(format!("{rel}: want {expected:?}, got {have:?}"));
        }
        // Every rejection names where and why.
        for e in &imp.errors {
            if e.column_name.as_deref().unwrap_or("").is_empty()
                || e.row == 0
                || e.reason_vi.is_empty()
            {
                wrong.push(format!("{rel}: unlocated error {e:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(read, BANK_FILES.len());
    // What some of them say, read as their banks meant it.
    let one = |rel: &str| {
        let bytes = std::fs::read(bank.join(rel)).unwrap_or_default();
        import_payouts(rel, in_dong(&bytes, true), &opts).unwrap_or_else(|e| panic!("{rel}: {e}"))
    };
    // A Swiss return: the original transfer's end-to-end reference, the reason AC01.
    let ret = one(
        "camt/moov/200519_camt054-returns_p_ch2909000000250094239_1109800798_0_2019052023472022.xml",
    );
    assert_eq!(ret.rows[0].status, PayoutStatus::Returned);
    assert_eq!(
        ret.rows[0].reference.as_deref(),
        Some("EndToEndId-004-01-01")
    );
    assert_eq!(
        ret.rows[0].account.as_deref(),
        Some("CH8709000000929471495")
    );
    assert!(
        ret.rows[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("AC01 Số tài khoản không đúng")
    );
    // A status report refusing one transfer, AC01, answering an order of the Swiss
    // bank's sample message (`MsgId-001`) as if doisoat had written it: linked by its
    // end-to-end reference; the block's status answers for the block's other order.
    use doisoat::domain::payment_orders::{OrderLine, PaymentOrders};
    let order = |e2e: &str, account: &str| OrderLine {
        end_to_end: e2e.into(),
        message: "MsgId-001".into(),
        payment_info: "PmtInfId-001-03".into(),
        bank: BankId::resolve("VCB").expect("bank"),
        row: 4,
        id: doisoat::domain::population_id::IdCheck::Missing,
        account: account.into(),
        name: "Người nhận".into(),
        amount: rust_decimal::Decimal::from(1_500_000),
    };
    let rel = "pain002/pain002-epo_p_ch5109000000250092291_1110097605_0_2018031511252307.xml";
    let with_orders = ImportOptions {
        orders: Some(std::sync::Arc::new(PaymentOrders::new(vec![
            order("EndToEndId-001-03-04", "CH0000000000000000004"),
            order("EndToEndId-001-03-05", "CH0000000000000000005"),
        ]))),
        ..opts.clone()
    };
    let rjct = import_payouts(
        rel,
        std::fs::read(bank.join(rel)).unwrap_or_default(),
        &with_orders,
    )
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(rjct.rows.len(), 2, "{:?}", rjct.errors);
    assert_eq!(rjct.rows[0].status, PayoutStatus::Failed);
    assert_eq!(
        rjct.rows[0].account.as_deref(),
        Some("CH0000000000000000004")
    );
    assert!(
        rjct.rows[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("AC01"),
        "{:?}",
        rjct.rows[0].reason
    );
    assert_eq!(
        rjct.rows[1].status,
        PayoutStatus::Pending,
        "the other order takes the block's status (PART: neither paid nor failed yet)"
    );
    // Without the orders it names an order nobody knows: refused, saying so.
    let bare = one(rel);
    assert_eq!(bare.rows.len(), 0);
    assert!(
        bare.errors[0]
            .reason_en
            .starts_with("neither a doisoat order reference")
    );
}

/// Vietnamese banks' statement exports (`../shared/real/vietnamese/`: the Fatherland
/// Front's relief accounts, published in September 2024): debit and credit columns named
/// as each bank's internet banking writes them (`DebitAmount`, `Debit`), both thousand
/// separators, narratives over several lines. They are donations coming in: every credit
/// is refused as no payout, saying so; the one debit (an SMS fee) names nobody and is
/// refused too. Counts written down from the files (Python's csv module).
#[test]
fn vietnamese_statement_exports_are_read() {
    use doisoat::domain::banks::BankId;
    use doisoat::import::{ImportOptions, import_payouts};
    let Some(dir) = real_dir() else { return };
    for (file, bank, data, credits, debits, first_amount) in [
        (
            "sao_ke_agribank_mttq_001.csv",
            "VBA",
            10_000,
            10_000,
            0,
            "500000",
        ),
        (
            "sao_ke_vietcombank_mttq_00.csv",
            "VCB",
            8_008,
            8_007,
            1,
            "50000",
        ),
        (
            "sao_ke_vietinbank_mttq_001.csv",
            "ICB",
            10_000,
            10_000,
            0,
            "300000",
        ),
    ] {
        let bytes = std::fs::read(dir.join("vietnamese").join(file)).unwrap_or_default();
        let opts = ImportOptions {
            default_bank: BankId::resolve(bank),
            ..ImportOptions::new(2026)
        };
        let imp = import_payouts(file, bytes, &opts).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(imp.data_rows, data, "{file}");
        assert_eq!(imp.rows.len(), 0, "{file}");
        let refused_credits = imp
            .errors
            .iter()
            .filter(|e| e.reason_en.contains("credit that is not a return"))
            .count();
        assert_eq!(refused_credits, credits, "{file}");
        let nobody = imp
            .errors
            .iter()
            .filter(|e| e.reason_en.starts_with("neither a doisoat order reference"))
            .count();
        assert_eq!(nobody, debits, "{file}");
        // The credit's amount as the file writes it ("500,000", "50.000"), on its row.
        assert!(
            imp.errors[0].value.replace(['.', ','], "") == first_amount,
            "{file}: {:?}",
            imp.errors[0]
        );
        assert_eq!(imp.errors[0].row, 2, "{file}");
    }
}
