//! Sheet "Ngoại lệ": every exception row, the same columns as the CSV, amounts as numbers.

use std::borrow::Borrow;

use rust_xlsxwriter::{Workbook, Worksheet};

use super::SHEET_EXCEPTIONS;
use super::cells::{RowNum, XResult, last_col, put_decimal, put_header, put_text, set_widths};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::ExceptionRow;
use crate::report::csv::{
    COL_ACCOUNT, COL_AMOUNT_DUE, COL_AMOUNT_PAID, COL_ID, exception_headers, exception_texts,
};

/// Excel's last row is 1,048,576: a header and 1,048,575 rows per sheet.
pub const EXCEL_MAX_DATA_ROWS: u32 = 1_048_575;

/// How the exception sheets are laid out and held while they are written.
#[derive(Debug, Clone, Copy)]
pub struct ExceptionLayout {
    /// Data rows per sheet; further rows continue on "Ngoại lệ (2)", "Ngoại lệ (3)", …
    pub rows_per_sheet: u32,
    /// Above this many exceptions the sheets stream to a temporary file (rust_xlsxwriter's
    /// constant-memory mode, strings inline) instead of being held in memory. Below it the
    /// workbook is written exactly as it always was.
    pub in_memory_rows: usize,
}

impl Default for ExceptionLayout {
    fn default() -> Self {
        ExceptionLayout {
            rows_per_sheet: EXCEL_MAX_DATA_ROWS,
            in_memory_rows: 100_000,
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

/// A sheet's settings before its rows: name, widths, header.
fn start_sheet(ws: &mut Worksheet, n: usize, lang: Lang, fm: &Formats) -> XResult {
    ws.set_name(exceptions_sheet_name(n))?;
    set_widths(
        ws,
        &[
            30.0, 16.0, 16.0, 26.0, 18.0, 20.0, 12.0, 18.0, 16.0, 16.0, 40.0, 24.0, 22.0, 10.0,
            70.0, 30.0,
        ],
    )?;
    put_header(ws, 0, 0, &exception_headers(lang), fm)
}

fn put_exception(
    ws: &mut Worksheet,
    r: RowNum,
    row: &ExceptionRow,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    let texts = exception_texts(row, lang);
    for (c, text) in (0..).zip(&texts) {
        let col = usize::from(c);
        if col == COL_AMOUNT_DUE {
            match row.amount_due {
                Some(d) => put_decimal(ws, r, c, d, &fm.money)?,
                None => {
                    ws.write_blank(r, c, &fm.money)?;
                }
            }
        } else if col == COL_AMOUNT_PAID {
            put_decimal(ws, r, c, row.amount_paid, &fm.money)?;
        } else if col == COL_ID || col == COL_ACCOUNT {
            put_text(ws, r, c, text, &fm.text)?;
        } else {
            put_text(ws, r, c, text, &fm.label)?;
        }
    }
    Ok(())
}

/// A sheet's settings after its rows: frozen header, filter over what was written, and
/// the print setup of the wide data sheets (A4 landscape, header on every page).
fn end_sheet(ws: &mut Worksheet, last_row: RowNum) -> XResult {
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, last_row, last_col(exception_headers(Lang::Vi).len()))?;
    ws.set_paper_size(9);
    ws.set_landscape();
    ws.set_repeat_rows(0, 0)?;
    Ok(())
}

/// Add the exception sheets to `wb`: "Ngoại lệ", continued on "Ngoại lệ (2)", … past
/// `layout.rows_per_sheet` rows (always at least the first, with its header).
pub(super) fn add_exception_sheets<I>(
    wb: &mut Workbook,
    exceptions: I,
    count: usize,
    lang: Lang,
    fm: &Formats,
    layout: ExceptionLayout,
) -> XResult
where
    I: IntoIterator,
    I::Item: Borrow<ExceptionRow>,
{
    let per_sheet = layout.rows_per_sheet.max(1);
    let streamed = count > layout.in_memory_rows;
    let mut rows = exceptions.into_iter().peekable();
    let mut n = 0;
    loop {
        n += 1;
        let mut held = Worksheet::new();
        let ws = if streamed {
            wb.add_worksheet_with_constant_memory()?
        } else {
            &mut held
        };
        start_sheet(ws, n, lang, fm)?;
        let mut r: RowNum = 0;
        while r < per_sheet {
            let Some(row) = rows.next() else { break };
            r += 1;
            put_exception(ws, r, row.borrow(), lang, fm)?;
        }
        end_sheet(ws, r)?;
        if !streamed {
            wb.push_worksheet(held);
        }
        if rows.peek().is_none() {
            return Ok(());
        }
    }
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
        let r = find_row(&e, 2, "001190012346");
        assert_eq!(r.map(|r| cell(&e, r, 14)), Some(Data::String(want.into())));
    }

    /// Every row of a sheet as text, header included.
    fn rows_of(range: &calamine::Range<Data>) -> Vec<Vec<String>> {
        range
            .rows()
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
    /// columns, nothing lost or repeated; held in memory or streamed, the cells are the same.
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
        for in_memory_rows in [usize::MAX, 0] {
            let layout = ExceptionLayout {
                rows_per_sheet: per_sheet as u32,
                in_memory_rows,
            };
            let mut book = open(write_with(layout, &exc));
            let mut names = vec!["Tổng hợp".to_owned(), "Theo xã".to_owned()];
            names.extend((1..=sheets).map(exceptions_sheet_name));
            names.push("Lỗi dữ liệu".to_owned());
            assert_eq!(calamine::Reader::sheet_names(&book), names);
            assert_eq!(exceptions_sheet_name(2), "Ngoại lệ (2)");
            let mut joined = vec![whole[0].clone()];
            for n in 1..=sheets {
                let rows = rows_of(&sheet(&mut book, &exceptions_sheet_name(n)));
                assert_eq!(rows[0], whole[0], "sheet {n} has the header");
                assert!(rows.len() - 1 <= per_sheet && rows.len() > 1, "sheet {n}");
                joined.extend(rows.into_iter().skip(1));
            }
            assert_eq!(joined, whole, "in_memory_rows {in_memory_rows}");
        }
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
