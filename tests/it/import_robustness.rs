//! The importers on hostile input: arbitrary bytes, arbitrary CSV rows, corrupt workbooks.
//! They may refuse a file, never panic, and always account for every data row.

use doisoat::domain::banks::BankId;
use doisoat::domain::population_id::{IdCheck, IdProblem};
use doisoat::domain::records::BeneficiaryRow;
use doisoat::import::{ImportOptions, Imported, import_beneficiaries, import_payouts};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

const HEADER: &str = "STT,Họ và tên,Số định danh cá nhân,Số tiền,Số tài khoản,Ngân hàng";

/// `cases` cases, the seeds of past failures kept beside this file
/// (tests/it/import_robustness.proptest-regressions). Proptest's default would look for
/// tests/proptest-regressions/import_robustness.txt, since tests/it holds a main.rs.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::with_cases(cases)
    }
}

fn list_opts() -> ImportOptions {
    ImportOptions::new(2026)
}

fn payout_opts() -> ImportOptions {
    ImportOptions {
        default_bank: BankId::resolve("Agribank"),
        ..ImportOptions::new(2026)
    }
}

/// Lines as a text editor numbers them: `\n`, `\r\n` and a lone `\r` (which CSV readers,
/// Excel and editors all take as a line end) each end a line; a trailing one opens no new line.
fn line_count(bytes: &[u8]) -> usize {
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    if matches!(bytes.last(), Some(b'\n' | b'\r')) {
        breaks
    } else {
        breaks + 1
    }
}

fn check_accounting<T>(imported: &Imported<T>, bytes: &[u8]) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        imported.rows.len() + imported.rejected_rows,
        imported.data_rows,
        "accepted + rejected != data rows"
    );
    prop_assert!(imported.errors.len() >= imported.rejected_rows);
    let lines = line_count(bytes);
    for e in &imported.errors {
        prop_assert!(
            e.row > imported.header_row && e.row as usize <= lines,
            "error row {} outside {}..={} : {:?}",
            e.row,
            imported.header_row + 1,
            lines,
            e
        );
    }
    Ok(())
}

/// Cell text with what breaks CSV and office parsing: delimiters, quotes, newlines,
/// digits, Vietnamese letters, totals and signature words.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,12}",
        "[0-9 .,;\"'\\r\\n\t-]{0,14}",
        "[0-9]{9,13}",
        Just("Tổng cộng".to_owned()),
        Just("Người lập biểu".to_owned()),
        Just("I. Xã Tân Lập".to_owned()),
        Just("1.500.000".to_owned()),
        Just("Agribank".to_owned()),
        Just(String::new()),
    ]
}

fn rows() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(cell(), 0..8), 0..12)
}

/// Joined raw (the cells may break the quoting) or written by a CSV writer.
fn csv_bytes(rows: &[Vec<String>], quoted: bool) -> Vec<u8> {
    let mut out = String::from(HEADER);
    out.push('\n');
    for row in rows {
        let fields: Vec<String> = if quoted {
            row.iter()
                .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
                .collect()
        } else {
            row.clone()
        };
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(imported) = import_beneficiaries("x.csv", bytes.clone(), &list_opts()) {
            check_accounting(&imported, &bytes)?;
        }
        if let Ok(imported) = import_payouts("x.csv", bytes.clone(), &payout_opts()) {
            check_accounting(&imported, &bytes)?;
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let bytes = text.into_bytes();
        if let Ok(imported) = import_beneficiaries("x.csv", bytes.clone(), &list_opts()) {
            check_accounting(&imported, &bytes)?;
        }
        if let Ok(imported) = import_payouts("x.csv", bytes.clone(), &payout_opts()) {
            check_accounting(&imported, &bytes)?;
        }
    }

    #[test]
    fn csv_rows_are_all_accounted_for(rows in rows(), quoted in any::<bool>()) {
        let bytes = csv_bytes(&rows, quoted);
        if let Ok(imported) = import_beneficiaries("x.csv", bytes.clone(), &list_opts()) {
            check_accounting(&imported, &bytes)?;
            // Unquoted, a lone '\r' in a cell ends a record; quoted, records are rows.
            prop_assert!(!quoted || imported.data_rows <= rows.len());
        }
        if let Ok(imported) = import_payouts("x.csv", bytes.clone(), &payout_opts()) {
            check_accounting(&imported, &bytes)?;
            prop_assert!(!quoted || imported.data_rows <= rows.len());
        }
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn junk_after_a_zip_signature_is_an_error(junk in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(&junk);
        prop_assert!(import_beneficiaries("x.xlsx", bytes.clone(), &list_opts()).is_err());
        prop_assert!(import_payouts("x.xlsx", bytes, &payout_opts()).is_err());
    }

    #[test]
    fn junk_after_an_ole_signature_is_an_error(junk in prop::collection::vec(any::<u8>(), 0..1024)) {
        let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        bytes.extend_from_slice(&junk);
        prop_assert!(import_beneficiaries("x.xls", bytes.clone(), &list_opts()).is_err());
        prop_assert!(import_payouts("x.xls", bytes, &payout_opts()).is_err());
    }
}

const LIST_CSV: &str = "STT,Họ và tên,Số định danh cá nhân,Số tiền,Số tài khoản,Ngân hàng
1,Nguyễn Văn An,001090000001,1.500.000,0123456789,Agribank
2,Trần Thị Bình,037153000257,750.000,,
3,Lê Văn Cường,012345678,\"1,000,000\",9876 5432,Vietcombank
4,Phạm Thị Dung,abc,0,,
5,Hoàng Văn Em,001085000004,x,111,Ngân hàng Không Có
Tổng cộng,,,3.250.000,,
";

fn ok<T>(r: Result<Imported<T>, doisoat::import::ImportError>) -> Imported<T> {
    r.expect("import failed")
}

/// LIST_CSV with ';' outside quotes, CRLF line ends and a UTF-8 BOM.
fn excel_style(csv: &str) -> Vec<u8> {
    let semicolon: String = csv
        .lines()
        .map(|line| {
            let mut out = String::new();
            let mut in_quotes = false;
            for c in line.chars() {
                match c {
                    '"' => {
                        in_quotes = !in_quotes;
                        out.push(c);
                    }
                    ',' if !in_quotes => out.push(';'),
                    _ => out.push(c),
                }
            }
            out + "\r\n"
        })
        .collect();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(semicolon.as_bytes());
    bytes
}

#[test]
fn bom_semicolons_and_crlf_read_like_the_comma_version() {
    // Everything equal, row numbers included: an Excel "CSV UTF-8" export (BOM, ';', CRLF)
    // must point at the same lines as the plain file.
    let bytes = excel_style(LIST_CSV);
    let comma = ok(import_beneficiaries(
        "list.csv",
        LIST_CSV.as_bytes().to_vec(),
        &list_opts(),
    ));
    let other = ok(import_beneficiaries(
        "list.csv",
        bytes.clone(),
        &list_opts(),
    ));
    assert_eq!(comma.rows.len(), 3, "{:?}", comma.errors);
    assert_eq!(comma.rejected_rows, 2);
    assert_eq!(comma.header_row, 1);
    let rows =
        |i: &Imported<BeneficiaryRow>| i.rows.iter().map(|r| r.source.row).collect::<Vec<_>>();
    assert_eq!(rows(&comma), vec![2, 3, 4]);
    assert_eq!(other.rows, comma.rows);
    assert_eq!(other.errors, comma.errors);
    assert_eq!(
        (other.data_rows, other.rejected_rows, other.header_row),
        (comma.data_rows, comma.rejected_rows, comma.header_row)
    );
    assert_eq!(other.control_total, comma.control_total);

    let comma = ok(import_payouts(
        "list.csv",
        LIST_CSV.as_bytes().to_vec(),
        &payout_opts(),
    ));
    let other = ok(import_payouts("list.csv", bytes, &payout_opts()));
    assert!(!comma.rows.is_empty());
    assert_eq!(other.rows, comma.rows);
    assert_eq!(other.errors, comma.errors);
    assert_eq!(other.control_total, comma.control_total);
}

#[test]
fn eleven_digit_text_id_is_kept_invalid_not_padded() {
    let csv = format!(
        "{HEADER}\n1,Trần Thị Bình,37153000257,750.000,,\n2,Nguyễn Văn An,001090000001,1.500.000,,\n"
    );
    let imported = ok(import_beneficiaries(
        "list.csv",
        csv.into_bytes(),
        &list_opts(),
    ));
    assert_eq!(imported.rows.len(), 2, "{:?}", imported.errors);
    assert_eq!(imported.rejected_rows, 0);
    let first = &imported.rows[0];
    assert_eq!(first.name, "Trần Thị Bình");
    assert!(
        matches!(
            &first.id,
            IdCheck::Invalid { raw, reason: IdProblem::WrongLength } if raw == "37153000257"
        ),
        "{:?}",
        first.id
    );
    assert!(matches!(imported.rows[1].id, IdCheck::Valid(p) if p.value() == 1_090_000_001));
}
