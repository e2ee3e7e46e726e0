//! Sheet "Lỗi dữ liệu": the rows the readers rejected, with file, sheet, row, column and why.

use rust_xlsxwriter::Worksheet;

use super::SHEET_ROW_ERRORS;
use super::cells::{RowNum, XResult, last_col, put_count, put_header, put_text, set_widths};
use super::styles::Formats;
use crate::domain::Lang;
use crate::report::Report;

pub(super) fn row_errors_sheet(report: &Report, lang: Lang, fm: &Formats) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_ROW_ERRORS)?;
    let headers = match lang {
        Lang::Vi => [
            "Tệp",
            "Trang tính",
            "Dòng",
            "Cột",
            "Tên cột",
            "Giá trị",
            "Lý do",
        ],
        Lang::En => [
            "File",
            "Sheet",
            "Row",
            "Column",
            "Column name",
            "Value",
            "Reason",
        ],
    };
    set_widths(&mut ws, &[28.0, 16.0, 8.0, 7.0, 22.0, 28.0, 60.0])?;
    put_header(&mut ws, 0, 0, &headers, fm)?;
    let mut r: RowNum = 1;
    for e in &report.row_errors {
        put_text(&mut ws, r, 0, &e.file, &fm.label)?;
        put_text(&mut ws, r, 1, e.sheet.as_deref().unwrap_or(""), &fm.label)?;
        put_count(&mut ws, r, 2, u64::from(e.row), &fm.row_no)?;
        put_text(&mut ws, r, 3, e.column.as_deref().unwrap_or(""), &fm.label)?;
        put_text(
            &mut ws,
            r,
            4,
            e.column_name.as_deref().unwrap_or(""),
            &fm.label,
        )?;
        // The value as the user typed it: text, so "0123" or "1.500" is shown verbatim.
        put_text(&mut ws, r, 5, &e.value, &fm.text)?;
        let reason = match lang {
            Lang::Vi => &e.reason_vi,
            Lang::En => &e.reason_en,
        };
        put_text(&mut ws, r, 6, reason, &fm.wrap)?;
        r += 1;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.saturating_sub(1), last_col(headers.len()))?;
    Ok(ws)
}
