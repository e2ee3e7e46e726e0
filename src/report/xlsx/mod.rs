//! The auditor's workbook and the follow-up (re-payment) list.
//!
//! Numbers are written as numbers with number formats, never as formatted text: Excel
//! then shows the user's locale (decimal comma on Vietnamese machines) and formulas keep
//! working. Identifiers are written as text, so leading zeros survive. Strings are never
//! formula-escaped here: a string cell is not evaluated by Excel, and auditors need the
//! exact value.
//!
//! By concern: `styles` (the cell formats), `cells` (typed cell writers and table helpers),
//! `figures` (the coverage columns shared by the summary and the communes), one file per
//! sheet of the workbook, and `followup` (the re-payment list).

mod cells;
mod communes;
mod digests;
mod exceptions;
mod figures;
mod followup;
mod office;
pub mod orders;
mod row_errors;
mod stream;
mod styles;
mod summary;
#[cfg(test)]
mod testkit;

use std::borrow::Borrow;

use rust_xlsxwriter::Workbook;

use super::{Report, ReportMeta};
use crate::domain::Lang;
use crate::recon::ExceptionRow;
use communes::communes_sheet;
use digests::digests_sheet;
use exceptions::{add_exception_sheets, add_template_sheets};
use row_errors::row_errors_sheet;
use styles::Formats;
use summary::summary_sheet;

#[cfg(test)]
use followup::write_followup;
pub use followup::{FOLLOWUP_MAX_ROWS, FOLLOWUP_OUTCOMES, write_followup_to};

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("Không ghi được báo cáo {file}: {detail} / cannot write the report {file}: {detail}")]
    Write { file: String, detail: String },
    #[error("Không ghi được báo cáo: {0} / cannot write the report: {0}")]
    Stream(String),
}

/// Sheet names are Vietnamese in every language: scripts and auditors' macros refer to them.
pub const SHEET_SUMMARY: &str = "Tổng hợp";
pub const SHEET_COMMUNES: &str = "Theo xã";
pub const SHEET_EXCEPTIONS: &str = "Ngoại lệ";
pub const SHEET_ROW_ERRORS: &str = "Lỗi dữ liệu";
pub const SHEET_FOLLOWUP: &str = "Danh sách chi lại";
pub const SHEET_DIGESTS: &str = "Mã băm";

pub use exceptions::{EXCEL_MAX_DATA_ROWS, ExceptionLayout, exceptions_sheet_name};

/// The auditor's workbook, held in memory (small runs, and the reference the streamed
/// workbook is tested against). Sheet names exactly (Vietnamese even for lang En):
/// "Tổng hợp", "Theo xã", "Ngoại lệ" (continued on "Ngoại lệ (2)", … past Excel's row
/// limit), "Lỗi dữ liệu", "Mã băm".
pub fn write_report(
    report: &Report,
    exceptions: &[ExceptionRow],
    meta: &ReportMeta,
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    write_held(report, exceptions, meta, lang, ExceptionLayout::default())
}

fn write_held(
    report: &Report,
    exceptions: &[ExceptionRow],
    meta: &ReportMeta,
    lang: Lang,
    layout: ExceptionLayout,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = workbook(report, meta, lang, |wb, fm| {
        add_exception_sheets(wb, exceptions, meta, lang, fm, layout)
    })?;
    Ok(wb.save_to_buffer()?)
}

/// The same workbook written to `out` as it is made, the exceptions taken one by one:
/// nothing held grows with their number, and the first bytes leave before the first
/// exception is read. `exceptions` must yield exactly `count` rows.
pub fn write_report_to<W, I>(
    out: W,
    report: &Report,
    exceptions: I,
    count: usize,
    meta: &ReportMeta,
    lang: Lang,
    layout: ExceptionLayout,
) -> Result<W, XlsxError>
where
    W: std::io::Write,
    I: IntoIterator,
    I::Item: Borrow<ExceptionRow>,
{
    let sheet_rows = stream::sheet_sizes(count, layout.rows_per_sheet);
    let mut template = workbook(report, meta, lang, |wb, fm| {
        add_template_sheets(wb, &sheet_rows, meta, lang, fm)
    })?;
    let template = template.save_to_buffer()?;
    // The exceptions sheets come third on (after "Tổng hợp" and "Theo xã", as `workbook`
    // adds them); rust_xlsxwriter names the n-th sheet `xl/worksheets/sheet{n}.xml`.
    let rows = stream::ExceptionSheetRows {
        rows: exceptions.into_iter(),
        lang,
    };
    stream::write_streamed(out, template, 3, &sheet_rows, rows)
}

/// The streamed workbook written to `path`.
pub fn write_report_file<I>(
    path: &std::path::Path,
    report: &Report,
    exceptions: I,
    count: usize,
    meta: &ReportMeta,
    lang: Lang,
    layout: ExceptionLayout,
) -> Result<(), XlsxError>
where
    I: IntoIterator,
    I::Item: Borrow<ExceptionRow>,
{
    let failed = |detail: String| XlsxError::Write {
        file: path.display().to_string(),
        detail,
    };
    let file = std::fs::File::create(path).map_err(|e| failed(e.to_string()))?;
    let out = std::io::BufWriter::with_capacity(1 << 16, file);
    write_report_to(out, report, exceptions, count, meta, lang, layout).map_err(|e| match e {
        XlsxError::Stream(detail) => failed(detail),
        XlsxError::Xlsx(e) => failed(e.to_string()),
        e @ XlsxError::Write { .. } => e,
    })?;
    Ok(())
}

/// The document properties of a report made at `meta.generated_at`: the same run gives the
/// same bytes on every download (rust_xlsxwriter would otherwise stamp the download time into
/// docProps/core.xml), so a filed copy can be checked against the digest on the run page.
pub(super) fn properties(meta: &ReportMeta, title: &str) -> rust_xlsxwriter::DocProperties {
    use chrono::{Datelike, Timelike};
    let made = crate::domain::dates::parse_report_time(&meta.generated_at).and_then(|t| {
        let (y, m, d) = (
            u16::try_from(t.year()).ok()?,
            t.month() as u8,
            t.day() as u8,
        );
        rust_xlsxwriter::ExcelDateTime::from_ymd(y, m, d)
            .and_then(|x| x.and_hms(t.hour() as u16, t.minute() as u8, 0))
            .ok()
    });
    // A time that cannot be read (not one of ours) gives a fixed date, never the clock's.
    let made = made.or_else(|| {
        rust_xlsxwriter::ExcelDateTime::from_ymd(2000, 1, 1)
            .and_then(|x| x.and_hms(0, 0, 0))
            .ok()
    });
    let p = rust_xlsxwriter::DocProperties::new()
        .set_title(title)
        .set_author("doisoat");
    match made {
        Some(t) => p.set_creation_datetime(&t),
        None => p,
    }
}

/// Every sheet of the workbook, the exception sheets added by `exception_sheets`.
fn workbook(
    report: &Report,
    meta: &ReportMeta,
    lang: Lang,
    exception_sheets: impl FnOnce(&mut Workbook, &Formats) -> Result<(), rust_xlsxwriter::XlsxError>,
) -> Result<Workbook, rust_xlsxwriter::XlsxError> {
    let fm = Formats::new();
    let mut wb = Workbook::new();
    wb.set_properties(&properties(
        meta,
        crate::report::csv::pick(lang, "Báo cáo đối soát", "Reconciliation report"),
    ));
    // Every sheet prints on A4 one page wide; the summary as a signed document.
    let mut ws = summary_sheet(report, meta, lang, &fm)?;
    office::print_setup(&mut ws, true, None)?;
    wb.push_worksheet(ws);
    wb.push_worksheet(communes_sheet(report, meta, lang, &fm)?);
    exception_sheets(&mut wb, &fm)?;
    wb.push_worksheet(row_errors_sheet(report, meta, lang, &fm)?);
    let mut ws = digests_sheet(meta, lang, &fm)?;
    office::print_setup(&mut ws, false, None)?;
    wb.push_worksheet(ws);
    if let Some(footer) = office::digest_footer(meta, lang) {
        for ws in wb.worksheets_mut() {
            ws.set_footer(&footer);
        }
    }
    Ok(wb)
}

#[cfg(test)]
mod tests {
    use calamine::{Data, Reader};

    use super::testkit::{cell, find_row, open, sample, sheet};
    use super::*;

    #[test]
    fn workbook_sheets_ids_and_amounts() {
        let (report, exc, meta) = sample();
        let bytes = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let mut book = open(bytes);
        assert_eq!(
            book.sheet_names(),
            vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu", "Mã băm"]
        );

        let s = sheet(&mut book, SHEET_SUMMARY);
        assert_eq!(
            cell(&s, 3, 0),
            Data::String("BÁO CÁO ĐỐI SOÁT CHI TRẢ KHÔNG DÙNG TIỀN MẶT".into())
        );
        let r = find_row(&s, 0, "Tổng số đối tượng");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(6.0)));
        let r = find_row(&s, 0, "Tổng số tiền phải chi");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(9_000_000.0)));
        let due = |label: &str| find_row(&s, 0, label).map(|r| cell(&s, r, 1));
        let (cashless, cash) = (
            due("Trong đó: phải chi qua tài khoản"),
            due("Trong đó: phải chi bằng tiền mặt (bưu điện)"),
        );
        match (cashless, cash) {
            (Some(Data::Float(a)), Some(Data::Float(b))) => {
                assert_eq!(a + b, 9_000_000.0);
                assert_eq!(
                    Some(a),
                    report
                        .amount_due_cashless
                        .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
                );
            }
            other => panic!("split of the amount due missing: {other:?}"),
        }
        // A fraction under a % format: 0.8333 shows as 83,33%.
        let r = find_row(&s, 0, "Tỷ lệ có tài khoản");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(0.8333)));
        // Each rate against its own target, with the margin as a province reports it.
        let r = find_row(&s, 0, "Chỉ tiêu tỷ lệ có tài khoản");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(0.3)));
        let r = find_row(&s, 0, "Tỷ lệ có tài khoản so với chỉ tiêu");
        assert_eq!(
            r.map(|r| cell(&s, r, 1)),
            Some(Data::String(
                "đạt 83,33%, vượt 53,33 điểm phần trăm so với chỉ tiêu".into()
            ))
        );
        let r = find_row(&s, 0, "Chỉ tiêu tỷ lệ chi không dùng tiền mặt");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(0.9)));
        let r = find_row(&s, 0, "Tỷ lệ chi không dùng tiền mặt so với chỉ tiêu");
        assert!(
            matches!(r.map(|r| cell(&s, r, 1)), Some(Data::String(v)) if v.starts_with("chưa đạt: ")),
            "the cashless rate is under its 90%"
        );
        let r = find_row(&s, 0, "Tổng dòng không khớp số liệu tổng cộng");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(1.0)));
        let r = find_row(&s, 0, "danh_sach.xlsx");
        assert_eq!(
            r.map(|r| cell(&s, r, 9)),
            Some(Data::String("Lệch (dòng 30)".into()))
        );
        // The notices under the table, the digests on their own sheet: the summary is
        // ten columns wide.
        let notice = r.and_then(|r| (r + 1..r + 4).find(|&n| cell(&s, n, 1) != Data::Empty));
        assert_eq!(
            notice.map(|n| (cell(&s, n, 0), cell(&s, n, 1))),
            Some((
                Data::String("danh_sach.xlsx".into()),
                Data::String("Không có cột trạng thái".into())
            ))
        );
        assert!(find_row(&s, 0, "SHA-256 của báo cáo (JSON)").is_none());
        assert!(s.end().is_some_and(|(_, c)| c <= 9), "{:?}", s.end());

        let h = sheet(&mut book, SHEET_DIGESTS);
        assert_eq!(cell(&h, 0, 0), Data::String("MÃ BĂM SHA-256".into()));
        assert_eq!(
            cell(&h, 1, 0),
            Data::String("Kỳ chi trả: Tháng 9 năm 2025".into())
        );
        let r = find_row(&h, 0, "SHA-256 của báo cáo (JSON)");
        assert_eq!(
            r.map(|r| cell(&h, r, 1)),
            Some(Data::String("cd".repeat(32)))
        );
        let r = find_row(&h, 0, "danh_sach.xlsx");
        assert_eq!(
            r.map(|r| (cell(&h, r, 1), cell(&h, r, 2))),
            Some((
                Data::String("Danh sách đối tượng".into()),
                Data::String("ab".repeat(32))
            ))
        );

        let c = sheet(&mut book, SHEET_COMMUNES);
        assert_eq!(
            cell(&c, 0, 0),
            Data::String("SỐ LIỆU THEO XÃ/PHƯỜNG".into())
        );
        assert_eq!(
            cell(&c, 1, 0),
            Data::String("Kỳ chi trả: Tháng 9 năm 2025".into())
        );
        assert_eq!(cell(&c, 3, 0), Data::String("Xã/phường".into()));
        let pct = find_row(&c, 0, "Xã Tân Lập").map(|r| cell(&c, r, 3));
        assert_eq!(pct, Some(Data::Float(1.0)), "3 of 3 with an account: 100%");
        assert!(find_row(&c, 0, "(không ghi xã)").is_some());
        let total = find_row(&c, 0, "Tổng cộng");
        assert_eq!(total.map(|r| cell(&c, r, 1)), Some(Data::Float(6.0)));

        let e = sheet(&mut book, SHEET_EXCEPTIONS);
        assert_eq!(
            cell(&e, 0, 0),
            Data::String("DANH SÁCH NGOẠI LỆ CẦN XỬ LÝ".into())
        );
        assert_eq!(
            cell(&e, 1, 0),
            Data::String("Kỳ chi trả: Tháng 9 năm 2025".into())
        );
        assert_eq!(cell(&e, 3, 1), Data::String("Số định danh".into()));
        let r = find_row(&e, 1, "001190012346");
        assert!(r.is_some(), "the ID must be text with its leading zeros");
        let r = r.unwrap_or_default();
        assert_eq!(cell(&e, r, 0), Data::String("Chi không thành công".into()));
        assert_eq!(cell(&e, r, 6), Data::String("0100200301".into()));
        assert_eq!(cell(&e, r, 7), Data::Float(1_500_000.0));
        assert_eq!(cell(&e, r, 8), Data::Float(0.0));
        let unmatched = find_row(&e, 0, "Khoản chi không có trong danh sách");
        assert_eq!(unmatched.map(|r| cell(&e, r, 7)), Some(Data::Empty));
        assert_eq!(
            unmatched.map(|r| cell(&e, r, 8)),
            Some(Data::Float(700_000.0))
        );
        // Codes are words in every cell: no `underpaid`, `unmatched_payout` or flag code.
        let codes: Vec<&str> = crate::recon::Outcome::ALL
            .iter()
            .map(|o| o.as_str())
            .chain(crate::recon::Flag::ALL.iter().map(|f| f.as_str()))
            .chain(["unmatched_payout"])
            .collect();
        for row in e.rows() {
            for c in row {
                let text = c.to_string();
                assert!(
                    !codes
                        .iter()
                        .any(|code| text.split([' ', ';']).any(|w| w == *code)),
                    "a code in the sheet: {text}"
                );
            }
        }
        assert!(find_row(&e, 0, "Chi thiếu").is_some(), "outcomes in words");

        let d = sheet(&mut book, SHEET_ROW_ERRORS);
        assert_eq!(
            cell(&d, 0, 0),
            Data::String("CÁC DÒNG DỮ LIỆU BỊ LOẠI".into())
        );
        assert_eq!(cell(&d, 4, 2), Data::Float(20.0));
        assert_eq!(cell(&d, 4, 5), Data::String("1,5tr".into()));
        assert_eq!(
            cell(&d, 4, 6),
            Data::String("Số tiền không hợp lệ: '1,5tr'".into())
        );
    }

    #[test]
    fn english_labels_vietnamese_sheet_names() {
        let (report, exc, meta) = sample();
        let bytes = match write_report(&report, &exc, &meta, Lang::En) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let mut book = open(bytes);
        assert_eq!(
            book.sheet_names(),
            vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu", "Mã băm"]
        );
        let s = sheet(&mut book, SHEET_SUMMARY);
        assert!(find_row(&s, 0, "Beneficiaries").is_some());
        assert!(find_row(&s, 0, "Underpaid").is_some());
        assert_eq!(
            cell(&s, 0, 5),
            Data::String("SOCIALIST REPUBLIC OF VIETNAM".into())
        );
        assert_eq!(
            cell(&s, 5, 0),
            Data::String("Period: September 2025".into())
        );
        assert_eq!(
            cell(&s, 1, 5),
            Data::String("Independence - Freedom - Happiness".into())
        );
        let dated = find_row(&s, 8, "……………, 30 September 2025");
        let Some(d) = dated else {
            panic!("no place-and-date line in English")
        };
        assert_eq!(cell(&s, d + 1, 0), Data::String("Prepared by".into()));
        assert_eq!(cell(&s, d + 1, 4), Data::String("Chief accountant".into()));
        assert_eq!(cell(&s, d + 1, 8), Data::String("Head of unit".into()));
        assert_eq!(
            cell(&s, d + 2, 8),
            Data::String("(Signature, full name)".into())
        );
        let d = sheet(&mut book, SHEET_ROW_ERRORS);
        assert_eq!(cell(&d, 4, 6), Data::String("not a number: '1,5tr'".into()));
        let e = sheet(&mut book, SHEET_EXCEPTIONS);
        assert_eq!(
            find_row(&e, 0, "Underpaid").map(|r| cell(&e, r, 0)),
            Some(Data::String("Underpaid".into()))
        );
    }

    #[test]
    fn a_stored_run_names_its_programme_and_unit() {
        let (report, exc, mut meta) = sample();
        meta.programme = Some(crate::report::ProgrammeRef {
            code: "NCC".into(),
            name: "Trợ cấp ưu đãi người có công".into(),
        });
        meta.unit = crate::domain::units::shipped_tree()
            .get("00004")
            .map(crate::report::UnitRef::from);
        let mut book = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut book, SHEET_SUMMARY);
        // The office header: the agency block (the unit, its programme) and the motto.
        assert_eq!(cell(&s, 0, 0), Data::String("PHƯỜNG BA ĐÌNH".into()));
        assert_eq!(
            cell(&s, 1, 0),
            Data::String("Trợ cấp ưu đãi người có công".into())
        );
        assert_eq!(
            cell(&s, 4, 0),
            Data::String(
                "Chế độ: Trợ cấp ưu đãi người có công (NCC) · Đơn vị: Phường Ba Đình (00004)"
                    .into()
            )
        );
        assert!(find_row(&s, 0, "Tổng số đối tượng").is_some());
        // The place and date line names the unit.
        let dated = find_row(&s, 8, "Ba Đình, ngày 30 tháng 09 năm 2025");
        assert!(dated.is_some(), "the place-and-date line");
        let mut book = match write_followup(&exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let names = book.sheet_names();
        let f = sheet(&mut book, &names[0]);
        assert_eq!(cell(&f, 0, 0), Data::String("PHƯỜNG BA ĐÌNH".into()));
        let line = cell(&f, 4, 0).to_string();
        assert!(
            line.contains("(NCC)") && line.contains("Phường Ba Đình"),
            "{line}"
        );
        assert!(find_row(&f, 9, "Ba Đình, ngày 30 tháng 09 năm 2025").is_some());
    }

    /// The summary as an office document: the national motto over the right columns, the
    /// title, the period in words, and the signature block at the end.
    #[test]
    fn summary_is_an_office_document() {
        let (report, exc, meta) = sample();
        let mut book = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut book, SHEET_SUMMARY);
        let text = |r, c| cell(&s, r, c);
        // No unit: a line to fill in by hand.
        assert_eq!(text(0, 0), Data::String("………………………………".into()));
        assert_eq!(
            text(0, 5),
            Data::String("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into())
        );
        assert_eq!(
            text(1, 5),
            Data::String("Độc lập - Tự do - Hạnh phúc".into())
        );
        assert_eq!(
            text(3, 0),
            Data::String("BÁO CÁO ĐỐI SOÁT CHI TRẢ KHÔNG DÙNG TIỀN MẶT".into())
        );
        assert_eq!(
            text(5, 0),
            Data::String("Kỳ chi trả: Tháng 9 năm 2025".into())
        );
        assert_eq!(
            text(6, 0),
            Data::String("Thời điểm lập: 30/09/2025 10:15 (giờ Việt Nam, UTC+7)".into())
        );
        let dated = find_row(&s, 8, "……………, ngày 30 tháng 09 năm 2025");
        let Some(d) = dated else {
            panic!("no place-and-date line")
        };
        for (c, role) in [
            (0, "Người lập biểu"),
            (4, "Kế toán trưởng"),
            (8, "Thủ trưởng đơn vị"),
        ] {
            assert_eq!(text(d + 1, c), Data::String(role.into()));
            assert_eq!(text(d + 2, c), Data::String("(Ký, ghi rõ họ tên)".into()));
            for blank in d + 3..d + 8 {
                assert_eq!(text(blank, c), Data::Empty, "room to sign");
            }
        }
        // The merged header cells: the motto over F:J, the title over A:J.
        let xml =
            &super::stream::tests::entries(&match write_report(&report, &exc, &meta, Lang::Vi) {
                Ok(b) => b,
                Err(e) => panic!("{e}"),
            })["xl/worksheets/sheet1.xml"];
        for range in ["A1:B1", "F1:J1", "F2:J2", "A4:J4", "A6:J6"] {
            assert!(
                xml.contains(&format!("<mergeCell ref=\"{range}\"/>")),
                "{range}"
            );
        }
    }

    /// A run's comparison with the previous period: the period in words and the four
    /// counts, after the flags (which count the two flags it brings); none without one.
    #[test]
    fn the_summary_compares_with_the_previous_period() {
        let (mut report, exc, meta) = sample();
        let without = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut open(without), SHEET_SUMMARY);
        assert!(find_row(&s, 0, "Mới có tên").is_none());
        report.flags.account_changed = 2;
        report.comparison = Some(crate::report::ComparisonCounts {
            previous_period: Some("2025-08".into()),
            added: 3,
            removed: 1,
            amount_changed: 4,
            account_changed: 5,
        });
        for (lang, title, labels, flag) in [
            (
                Lang::Vi,
                "So với kỳ trước: Tháng 8 năm 2025",
                [
                    "Mới có tên",
                    "Không còn tên",
                    "Thay đổi số tiền",
                    "Thay đổi tài khoản",
                ],
                "Đổi tài khoản so với kỳ trước và được chi vào tài khoản mới",
            ),
            (
                Lang::En,
                "Compared with the previous period: August 2025",
                ["Added", "Removed", "Amount changed", "Account changed"],
                "Account changed since the previous period, and paid into the new one",
            ),
        ] {
            let bytes = match write_report(&report, &exc, &meta, lang) {
                Ok(b) => b,
                Err(e) => panic!("{e}"),
            };
            let s = sheet(&mut open(bytes), SHEET_SUMMARY);
            let Some(t) = find_row(&s, 0, title) else {
                panic!("no comparison title in {lang:?}")
            };
            for (k, (label, n)) in labels.iter().zip([3.0, 1.0, 4.0, 5.0]).enumerate() {
                let row = t + 2 + k as u32;
                assert_eq!(cell(&s, row, 0), Data::String((*label).into()), "{lang:?}");
                assert_eq!(cell(&s, row, 1), Data::Float(n), "{label}");
            }
            let f = find_row(&s, 0, flag).map(|r| cell(&s, r, 1));
            assert_eq!(f, Some(Data::Float(2.0)), "{lang:?}");
        }
        report.comparison = Some(crate::report::ComparisonCounts {
            previous_period: None,
            added: 0,
            removed: 0,
            amount_changed: 0,
            account_changed: 0,
        });
        let bytes = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut open(bytes), SHEET_SUMMARY);
        assert!(find_row(&s, 0, "So với kỳ trước: không có kỳ trước cùng chế độ").is_some());
    }

    /// Each outcome's count, amounts due and paid and their difference; the top-ups to
    /// pay and the overpayments to recover, exact.
    #[test]
    fn outcomes_give_amounts_as_well_as_counts() {
        let (report, exc, meta) = sample();
        let Some(amounts) = report.outcome_amounts.clone() else {
            panic!("a fresh report has its outcome amounts")
        };
        let (due, paid) = crate::recon::Outcome::ALL
            .iter()
            .map(|o| amounts.get(*o))
            .fold(
                (rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO),
                |(d, p), a| (d + a.due, p + a.paid),
            );
        assert_eq!(due, report.amount_due);
        assert_eq!(paid, report.amount_paid);
        assert_eq!(amounts.top_ups(), rust_decimal::Decimal::from(500_000));
        let mut book = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut book, SHEET_SUMMARY);
        let head = find_row(&s, 0, "Kết quả đối soát");
        assert_eq!(
            head.map(|r| cell(&s, r, 4)),
            Some(Data::String("Chênh lệch (đã chi − phải chi)".into()))
        );
        let r = find_row(&s, 0, "Chi thiếu");
        assert_eq!(
            r.map(|r| (
                cell(&s, r, 1),
                cell(&s, r, 2),
                cell(&s, r, 3),
                cell(&s, r, 4)
            )),
            Some((
                Data::Float(1.0),
                Data::Float(1_500_000.0),
                Data::Float(1_000_000.0),
                Data::Float(-500_000.0)
            ))
        );
        let r = find_row(&s, 0, "Chi không thành công");
        assert_eq!(r.map(|r| cell(&s, r, 2)), Some(Data::Float(1_500_000.0)));
        let line = |label: &str| find_row(&s, 0, label).map(|r| cell(&s, r, 1));
        assert_eq!(
            line("Số tiền cần chi bổ sung (chi thiếu)"),
            Some(Data::Float(500_000.0))
        );
        assert_eq!(
            line("Số tiền cần thu hồi (chi thừa, chi trùng)"),
            Some(Data::Float(0.0))
        );
        assert_eq!(
            line("Số tiền cần chi lại (không thành công, bị hoàn trả, chưa chi)"),
            Some(Data::Float(4_500_000.0))
        );
        // Reports without the amounts (live figures) still show the counts.
        let mut old = report.clone();
        old.outcome_amounts = None;
        let mut book = match write_report(&old, &exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let s = sheet(&mut book, SHEET_SUMMARY);
        let r = find_row(&s, 0, "Chi thiếu");
        assert_eq!(
            r.map(|r| (cell(&s, r, 1), cell(&s, r, 2))),
            Some((Data::Float(1.0), Data::Empty))
        );
        assert!(find_row(&s, 0, "Số tiền cần chi bổ sung (chi thiếu)").is_none());
    }

    /// Every sheet prints on A4, one page wide, long sheets repeating their header.
    #[test]
    fn every_sheet_prints_one_page_wide_on_a4() {
        let (report, exc, meta) = sample();
        let bytes = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let entries = super::stream::tests::entries(&bytes);
        let followup = match write_followup(&exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let followup = super::stream::tests::entries(&followup);
        let sheets = [
            (&entries, 1, "landscape"),
            (&entries, 2, "landscape"),
            (&entries, 3, "landscape"),
            (&entries, 4, "landscape"),
            (&entries, 5, "portrait"),
            (&followup, 1, "landscape"),
        ];
        for (book, n, orientation) in sheets {
            let xml = &book[&format!("xl/worksheets/sheet{n}.xml")];
            assert!(
                xml.contains("<sheetPr><pageSetUpPr fitToPage=\"1\"/></sheetPr>"),
                "sheet {n}"
            );
            let setup = xml
                .split("<pageSetup ")
                .nth(1)
                .and_then(|s| s.split("/>").next())
                .unwrap_or_default();
            assert!(setup.starts_with("paperSize=\"9\""), "sheet {n}: {setup}");
            assert!(
                setup.contains(&format!("orientation=\"{orientation}\"")),
                "sheet {n}: {setup}"
            );
            assert!(setup.contains("fitToHeight=\"0\""), "sheet {n}: {setup}");
            // fitToWidth="1" is the default, which rust_xlsxwriter leaves out.
            assert!(!setup.contains("fitToWidth"), "sheet {n}: {setup}");
        }
        let names = &entries["xl/workbook.xml"];
        for repeated in ["'Theo xã'!$4:$4", "'Ngoại lệ'!$4:$4", "'Lỗi dữ liệu'!$4:$4"] {
            assert!(names.contains(repeated), "{repeated}: {names}");
        }
        let names = &followup["xl/workbook.xml"];
        assert!(names.contains("'Danh sách chi lại'!$9:$9"), "{names}");
        // Wrapped headers have the height of their lines.
        let exceptions = &entries["xl/worksheets/sheet3.xml"];
        assert!(
            exceptions.contains("<row r=\"4\" ") && exceptions.contains("ht=\"30\""),
            "header row height"
        );
    }

    #[test]
    fn empty_report_still_writes() {
        let (mut report, _, mut meta) = sample();
        report.row_errors.clear();
        report.by_commune.clear();
        report.account_coverage_pct = None;
        meta.report_sha256 = None;
        meta.inputs.clear();
        meta.period = None;
        assert!(write_report(&report, &[], &meta, Lang::Vi).is_ok());
        assert!(write_followup(&[], &meta, Lang::Vi).is_ok());
    }
}
