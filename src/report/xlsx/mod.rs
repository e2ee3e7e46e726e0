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
mod exceptions;
mod figures;
mod followup;
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

pub use exceptions::{EXCEL_MAX_DATA_ROWS, ExceptionLayout, exceptions_sheet_name};

/// The auditor's workbook, held in memory (small runs, and the reference the streamed
/// workbook is tested against). Sheet names exactly (Vietnamese even for lang En):
/// "Tổng hợp", "Theo xã", "Ngoại lệ" (continued on "Ngoại lệ (2)", … past Excel's row
/// limit), "Lỗi dữ liệu".
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
        add_exception_sheets(wb, exceptions, lang, fm, layout)
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
        add_template_sheets(wb, &sheet_rows, lang, fm)
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
    // Auditors print these on A4 landscape: the two summaries one page wide; the wide data
    // sheets at readable size, their header row repeated on every page.
    let print = |ws: &mut rust_xlsxwriter::Worksheet,
                 fit_width: bool|
     -> Result<(), rust_xlsxwriter::XlsxError> {
        ws.set_paper_size(9);
        ws.set_landscape();
        if fit_width {
            ws.set_print_fit_to_pages(1, 0);
        } else {
            ws.set_repeat_rows(0, 0)?;
        }
        Ok(())
    };
    for mut ws in [
        summary_sheet(report, meta, lang, &fm)?,
        communes_sheet(report, meta, lang, &fm)?,
    ] {
        print(&mut ws, true)?;
        wb.push_worksheet(ws);
    }
    exception_sheets(&mut wb, &fm)?;
    let mut ws = row_errors_sheet(report, lang, &fm)?;
    print(&mut ws, false)?;
    wb.push_worksheet(ws);
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
            vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu"]
        );

        let s = sheet(&mut book, SHEET_SUMMARY);
        assert_eq!(
            cell(&s, 0, 0),
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
        let r = find_row(&s, 0, "Tỷ lệ có tài khoản");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(83.33)));
        let r = find_row(&s, 0, "Tổng dòng không khớp số liệu tổng cộng");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(1.0)));
        let r = find_row(&s, 0, "danh_sach.xlsx");
        assert_eq!(
            r.map(|r| cell(&s, r, 9)),
            Some(Data::String("Lệch (dòng 30)".into()))
        );
        assert_eq!(
            r.map(|r| cell(&s, r, 11)),
            Some(Data::String("ab".repeat(32)))
        );
        assert!(find_row(&s, 0, "SHA-256 của báo cáo (JSON)").is_some());

        let c = sheet(&mut book, SHEET_COMMUNES);
        assert_eq!(cell(&c, 0, 0), Data::String("Xã/phường".into()));
        assert!(find_row(&c, 0, "(không ghi xã)").is_some());
        let total = find_row(&c, 0, "Tổng cộng");
        assert_eq!(total.map(|r| cell(&c, r, 1)), Some(Data::Float(6.0)));

        let e = sheet(&mut book, SHEET_EXCEPTIONS);
        assert_eq!(cell(&e, 0, 2), Data::String("Số định danh".into()));
        let r = find_row(&e, 2, "001190012346");
        assert!(r.is_some(), "the ID must be text with its leading zeros");
        let r = r.unwrap_or_default();
        assert_eq!(cell(&e, r, 0), Data::String("Chi không thành công".into()));
        assert_eq!(cell(&e, r, 7), Data::String("0100200301".into()));
        assert_eq!(cell(&e, r, 8), Data::Float(1_500_000.0));
        assert_eq!(cell(&e, r, 9), Data::Float(0.0));
        let unmatched = find_row(&e, 1, "unmatched_payout");
        assert_eq!(unmatched.map(|r| cell(&e, r, 8)), Some(Data::Empty));
        assert_eq!(
            unmatched.map(|r| cell(&e, r, 9)),
            Some(Data::Float(700_000.0))
        );

        let d = sheet(&mut book, SHEET_ROW_ERRORS);
        assert_eq!(cell(&d, 1, 2), Data::Float(20.0));
        assert_eq!(cell(&d, 1, 5), Data::String("1,5tr".into()));
        assert_eq!(
            cell(&d, 1, 6),
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
            vec!["Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu"]
        );
        let s = sheet(&mut book, SHEET_SUMMARY);
        assert!(find_row(&s, 0, "Beneficiaries").is_some());
        let d = sheet(&mut book, SHEET_ROW_ERRORS);
        assert_eq!(cell(&d, 1, 6), Data::String("not a number: '1,5tr'".into()));
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
        let r = find_row(&s, 0, "Chế độ");
        assert_eq!(
            r.map(|r| cell(&s, r, 1)),
            Some(Data::String("Trợ cấp ưu đãi người có công (NCC)".into()))
        );
        let r = find_row(&s, 0, "Đơn vị");
        assert_eq!(
            r.map(|r| cell(&s, r, 1)),
            Some(Data::String("Phường Ba Đình (00004)".into()))
        );
        assert!(find_row(&s, 0, "Tổng số đối tượng").is_some());
        let mut book = match write_followup(&exc, &meta, Lang::Vi) {
            Ok(b) => open(b),
            Err(e) => panic!("{e}"),
        };
        let names = book.sheet_names();
        let f = sheet(&mut book, &names[0]);
        let line = cell(&f, 1, 0).to_string();
        assert!(
            line.contains("(NCC)") && line.contains("Phường Ba Đình"),
            "{line}"
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
