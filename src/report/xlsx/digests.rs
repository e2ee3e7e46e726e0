//! Sheet "Mã băm": the SHA-256 digests an auditor checks a filed copy against (the report's
//! JSON and each input file), on a sheet of their own so the 64-character column does not
//! shrink the summary's print.

use rust_xlsxwriter::Worksheet;

use super::SHEET_DIGESTS;
use super::cells::{RowNum, XResult, fit_row, put_header, put_text, set_widths};
use super::office::{DATA_HEADER_ROW, data_sheet_title};
use super::styles::Formats;
use super::summary::role_label;
use crate::domain::Lang;
use crate::report::ReportMeta;
use crate::report::csv::pick;

pub(super) fn digests_sheet(meta: &ReportMeta, lang: Lang, fm: &Formats) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_DIGESTS)?;
    // The digest column holds 64 hex digits whole.
    set_widths(&mut ws, &[34.0, 26.0, 68.0])?;
    data_sheet_title(
        &mut ws,
        pick(lang, "MÃ BĂM SHA-256", "SHA-256 DIGESTS"),
        meta,
        lang,
        fm,
    )?;
    let mut r: RowNum = DATA_HEADER_ROW;
    if let Some(sha) = &meta.report_sha256 {
        ws.write_string_with_format(
            r,
            0,
            pick(
                lang,
                "SHA-256 của báo cáo (JSON)",
                "SHA-256 of the report (JSON)",
            ),
            &fm.label,
        )?;
        ws.merge_range(r, 1, r, 2, sha, &fm.text)?;
        r += 2;
    }
    put_header(
        &mut ws,
        r,
        0,
        &[
            pick(lang, "Tệp đầu vào", "Input file"),
            pick(lang, "Vai trò", "Role"),
            "SHA-256",
        ],
        fm,
    )?;
    r += 1;
    for input in &meta.inputs {
        put_text(&mut ws, r, 0, &input.name, &fm.wrap)?;
        put_text(&mut ws, r, 1, role_label(&input.role, lang), &fm.wrap)?;
        put_text(&mut ws, r, 2, &input.sha256, &fm.text)?;
        fit_row(
            &mut ws,
            r,
            &[(&input.name, 34.0), (role_label(&input.role, lang), 26.0)],
        )?;
        r += 1;
    }
    Ok(ws)
}
