//! Sheet "Lỗi dữ liệu", under its title and period: the rows the readers rejected, with file, sheet, row, column and why.

use rust_xlsxwriter::Worksheet;

use super::SHEET_ROW_ERRORS;
use super::cells::{
    RowNum, XResult, fit_row, last_col, put_count, put_text, put_wrapped_header, set_widths,
};
use super::office::{DATA_HEADER_ROW, data_sheet_title, print_setup};
use super::styles::Formats;
use crate::domain::Lang;
use crate::report::csv::pick;
use crate::report::{Report, ReportMeta};

pub(super) fn row_errors_sheet(
    report: &Report,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult<Worksheet> {
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
    const WIDTHS: [f64; 7] = [26.0, 14.0, 8.0, 7.0, 20.0, 24.0, 50.0];
    set_widths(&mut ws, &WIDTHS)?;
    data_sheet_title(
        &mut ws,
        pick(
            lang,
            "CÁC DÒNG DỮ LIỆU BỊ LOẠI",
            "ROWS REJECTED WHEN READING THE FILES",
        ),
        meta,
        lang,
        fm,
    )?;
    let head = DATA_HEADER_ROW;
    put_wrapped_header(&mut ws, head, &headers, &WIDTHS, fm)?;
    let mut r: RowNum = head + 1;
    for e in &report.row_errors {
        put_text(&mut ws, r, 0, &e.file, &fm.wrap)?;
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
        fit_row(&mut ws, r, &[(&e.file, WIDTHS[0]), (reason, WIDTHS[6])])?;
        r += 1;
    }
    ws.set_freeze_panes(head + 1, 0)?;
    ws.autofilter(
        head,
        0,
        r.saturating_sub(1).max(head),
        last_col(headers.len()),
    )?;
    print_setup(&mut ws, true, Some(head))?;
    Ok(ws)
}
