//! Sheet "Ngoại lệ": under its title and period, every exception row: the CSV's columns
//! but the machine codes (the words beside them say the same to a reader; the CSV and
//! the JSON keep the codes), amounts as numbers.

use std::borrow::Borrow;

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use super::SHEET_EXCEPTIONS;
use super::cells::{
    RowNum, XResult, last_col, put_decimal, put_text, put_wrapped_header, set_widths,
    wrapped_height,
};
use super::office::{DATA_HEADER_ROW, data_sheet_title, print_setup};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::ExceptionRow;
use crate::report::ReportMeta;
use crate::report::csv::{
    COL_ACCOUNT, COL_AMOUNT_DUE, COL_AMOUNT_PAID, COL_ID, exception_headers, exception_texts, pick,
};

/// Excel's last row is 1,048,576: the title lines, a header and the rest data.
pub const EXCEL_MAX_DATA_ROWS: u32 = 1_048_576 - DATA_HEADER_ROW - 1;

/// The CSV columns (indexes into `EXCEPTION_COLUMNS`) the sheet shows: all but "Mã" and
/// "Mã cờ", codes such as `underpaid` that a reader has in words in the column before.
const SHEET_COLUMNS: [usize; 15] = [0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16];

/// About 230 characters, the long texts wrapped: one A4 landscape page wide.
const WIDTHS: [f64; 15] = [
    18.0, 14.0, 20.0, 14.0, 14.0, 10.0, 16.0, 14.0, 14.0, 20.0, 12.0, 7.0, 29.0, 11.0, 14.0,
];

/// The sheet columns whose text wraps: labels, names, flags, files, payouts, value dates
/// (several: one a line), unit.
fn wrapped(col: usize) -> bool {
    matches!(
        SHEET_COLUMNS.get(col),
        Some(0 | 3 | 4 | 5 | 10 | 12 | 14 | 15 | 16)
    )
}

/// The height of a row of `row`'s cells when a wrapped one takes more than a line (both
/// writers set it: the streamed rows as the held ones).
pub(super) fn row_height(row: &ExceptionRow, texts: &[String]) -> Option<f64> {
    wrapped_height(
        exception_cells(row, texts)
            .enumerate()
            .filter_map(|(c, cell)| match cell {
                ExceptionCell::Text(t) if wrapped(c) => Some((t, WIDTHS[c])),
                _ => None,
            }),
    )
}

/// The sheet's header labels.
pub(super) fn sheet_headers(lang: Lang) -> [&'static str; 15] {
    let all = exception_headers(lang);
    SHEET_COLUMNS.map(|c| all[c])
}

/// How the exception sheets are laid out.
#[derive(Debug, Clone, Copy)]
pub struct ExceptionLayout {
    /// Data rows per sheet; further rows continue on "Ngoại lệ (2)", "Ngoại lệ (3)", …
    pub rows_per_sheet: u32,
}

impl Default for ExceptionLayout {
    fn default() -> Self {
        ExceptionLayout {
            rows_per_sheet: EXCEL_MAX_DATA_ROWS,
        }
    }
}

/// The name of the `n`th exceptions sheet (1-based): "Ngoại lệ", "Ngoại lệ (2)", …
pub fn exceptions_sheet_name(n: usize) -> String {
    if n <= 1 {
        SHEET_EXCEPTIONS.to_owned()
    } else {
        format!("{SHEET_EXCEPTIONS} ({n})")
    }
}

/// A sheet's settings before its rows: name, widths, title, header.
fn start_sheet(
    ws: &mut Worksheet,
    n: usize,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    ws.set_name(exceptions_sheet_name(n))?;
    set_widths(ws, &WIDTHS)?;
    data_sheet_title(
        ws,
        pick(
            lang,
            "DANH SÁCH NGOẠI LỆ CẦN XỬ LÝ",
            "EXCEPTIONS TO FOLLOW UP",
        ),
        meta,
        lang,
        fm,
    )?;
    put_wrapped_header(ws, DATA_HEADER_ROW, &sheet_headers(lang), &WIDTHS, fm)
}

/// The cell format of each sheet column: amounts as money, IDs and accounts as text, the
/// long texts wrapped.
fn column_format(col: usize, fm: &Formats) -> &Format {
    match SHEET_COLUMNS.get(col).copied().unwrap_or(usize::MAX) {
        COL_AMOUNT_DUE | COL_AMOUNT_PAID => &fm.money,
        COL_ID | COL_ACCOUNT => &fm.text,
        _ if wrapped(col) => &fm.wrap,
        _ => &fm.label,
    }
}

/// An exception's cell: an amount, or text (empty: a blank).
pub(super) enum ExceptionCell<'a> {
    Amount(Decimal),
    Text(&'a str),
}

/// The cells of `row`, in the sheet's column order, as both writers put them.
pub(super) fn exception_cells<'a>(
    row: &ExceptionRow,
    texts: &'a [String],
) -> impl Iterator<Item = ExceptionCell<'a>> {
    let (due, paid) = (row.amount_due, row.amount_paid);
    SHEET_COLUMNS.into_iter().map(move |col| match col {
        COL_AMOUNT_DUE => due.map_or(ExceptionCell::Text(""), ExceptionCell::Amount),
        COL_AMOUNT_PAID => ExceptionCell::Amount(paid),
        _ => ExceptionCell::Text(texts.get(col).map_or("", String::as_str)),
    })
}

fn put_exception(
    ws: &mut Worksheet,
    r: RowNum,
    row: &ExceptionRow,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    let texts = exception_texts(row, lang);
    if let Some(h) = row_height(row, &texts) {
        ws.set_row_height(r, h)?;
    }
    for (c, cell) in (0..).zip(exception_cells(row, &texts)) {
        let f = column_format(usize::from(c), fm);
        match cell {
            ExceptionCell::Amount(d) => put_decimal(ws, r, c, d, f)?,
            ExceptionCell::Text(text) => put_text(ws, r, c, text, f)?,
        }
    }
    Ok(())
}

/// A sheet's settings after its `rows` data rows: frozen header, filter over what was
/// written, and the print setup (A4 landscape one page wide, header on every page).
fn end_sheet(ws: &mut Worksheet, rows: RowNum) -> XResult {
    ws.set_freeze_panes(DATA_HEADER_ROW + 1, 0)?;
    ws.autofilter(
        DATA_HEADER_ROW,
        0,
        DATA_HEADER_ROW + rows,
        last_col(SHEET_COLUMNS.len()),
    )?;
    print_setup(ws, true, Some(DATA_HEADER_ROW))
}

/// Add the exception sheets to `wb`: "Ngoại lệ", continued on "Ngoại lệ (2)", … past
/// `layout.rows_per_sheet` rows (always at least the first, with its header).
pub(super) fn add_exception_sheets<I>(
    wb: &mut Workbook,
    exceptions: I,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
    layout: ExceptionLayout,
) -> XResult
where
    I: IntoIterator,
    I::Item: Borrow<ExceptionRow>,
{
    let per_sheet = layout.rows_per_sheet.max(1);
    let mut rows = exceptions.into_iter().peekable();
    let mut n = 0;
    loop {
        n += 1;
        let mut ws = Worksheet::new();
        start_sheet(&mut ws, n, meta, lang, fm)?;
        let mut r: RowNum = 0;
        while r < per_sheet {
            let Some(row) = rows.next() else { break };
            r += 1;
            put_exception(&mut ws, DATA_HEADER_ROW + r, row.borrow(), lang, fm)?;
        }
        end_sheet(&mut ws, r)?;
        wb.push_worksheet(ws);
        if rows.peek().is_none() {
            return Ok(());
        }
    }
}

/// The exception sheets of a streamed workbook, `sheet_rows[i]` data rows on the i-th:
/// the header, settings sized for those rows, and one row of blanks in each column's
/// format, whose style ids the streamed rows reuse.
pub(super) fn add_template_sheets(
    wb: &mut Workbook,
    sheet_rows: &[u32],
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    for (n, rows) in (1..).zip(sheet_rows) {
        let mut ws = Worksheet::new();
        start_sheet(&mut ws, n, meta, lang, fm)?;
        for c in 0..SHEET_COLUMNS.len() {
            ws.write_blank(DATA_HEADER_ROW + 1, last_col(c + 1), column_format(c, fm))?;
        }
        end_sheet(&mut ws, *rows)?;
        wb.push_worksheet(ws);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use calamine::Data;

    use super::super::testkit::{cell, find_row, open, sample, sheet};
    use super::super::write_report;
    use super::*;

    #[test]
    fn payouts_column_same_in_csv_and_sheet() {
        let (report, exc, meta) = sample();
        let want =
            "FT000006 (Không thành công, 1.500.000 ₫, agribank.xlsx:6, lý do: Sai số tài khoản)";

        let mut csv_bytes = Vec::new();
        assert!(crate::report::csv::write_exceptions(&mut csv_bytes, &exc, Lang::Vi).is_ok());
        let text = String::from_utf8(csv_bytes).unwrap_or_default();
        assert!(text.contains(want), "{text}");

        let bytes = match write_report(&report, &exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let mut book = open(bytes);
        let e = sheet(&mut book, SHEET_EXCEPTIONS);
        let r = find_row(&e, 1, "001190012346");
        assert_eq!(r.map(|r| cell(&e, r, 12)), Some(Data::String(want.into())));
    }

    /// Every row of a sheet as text from the header on (under the title lines).
    fn rows_of(range: &calamine::Range<Data>) -> Vec<Vec<String>> {
        range
            .rows()
            .skip(DATA_HEADER_ROW as usize)
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn write_with(layout: ExceptionLayout, exc: &[ExceptionRow]) -> Vec<u8> {
        let (report, _, meta) = sample();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("bao_cao.xlsx");
        let written = super::super::write_report_file(
            &path,
            &report,
            exc.iter(),
            exc.len(),
            &meta,
            Lang::Vi,
            layout,
        );
        assert!(written.is_ok(), "{written:?}");
        std::fs::read(&path).unwrap_or_default()
    }

    /// Past the row limit the list continues on "Ngoại lệ (2)", … with the same header and
    /// columns, nothing lost or repeated.
    #[test]
    fn exceptions_continue_on_further_sheets() {
        let (_, exc, _) = sample();
        assert!(exc.len() >= 5, "the sample has {} exceptions", exc.len());
        let whole = {
            let mut book = open(write_with(ExceptionLayout::default(), &exc));
            rows_of(&sheet(&mut book, SHEET_EXCEPTIONS))
        };
        assert_eq!(whole.len(), exc.len() + 1);
        let per_sheet = 2;
        let sheets = exc.len().div_ceil(per_sheet);
        let layout = ExceptionLayout {
            rows_per_sheet: per_sheet as u32,
        };
        assert_eq!(
            super::super::stream::sheet_sizes(exc.len(), layout.rows_per_sheet).len(),
            sheets
        );
        let mut book = open(write_with(layout, &exc));
        let mut names = vec!["Tổng hợp".to_owned(), "Theo xã".to_owned()];
        names.extend((1..=sheets).map(exceptions_sheet_name));
        names.push("Lỗi dữ liệu".to_owned());
        names.push("Mã băm".to_owned());
        assert_eq!(calamine::Reader::sheet_names(&book), names);
        assert_eq!(exceptions_sheet_name(2), "Ngoại lệ (2)");
        let mut joined = vec![whole[0].clone()];
        for n in 1..=sheets {
            let rows = rows_of(&sheet(&mut book, &exceptions_sheet_name(n)));
            assert_eq!(rows[0], whole[0], "sheet {n} has the header");
            assert!(rows.len() - 1 <= per_sheet && rows.len() > 1, "sheet {n}");
            joined.extend(rows.into_iter().skip(1));
        }
        assert_eq!(joined, whole);
        // A file that cannot be written is named, in both languages.
        let (report, _, meta) = sample();
        let bad = std::path::Path::new("/khong-co-thu-muc/bao_cao.xlsx");
        let err = super::super::write_report_file(
            bad,
            &report,
            exc.iter(),
            exc.len(),
            &meta,
            Lang::Vi,
            ExceptionLayout::default(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("Không ghi được báo cáo /khong-co-thu-muc/bao_cao.xlsx")
                && err.contains("cannot write the report"),
            "{err}"
        );
        // An empty list still has its sheet and header.
        let mut book = open(write_with(ExceptionLayout::default(), &[]));
        assert_eq!(
            rows_of(&sheet(&mut book, SHEET_EXCEPTIONS)),
            vec![whole[0].clone()]
        );
    }
}
