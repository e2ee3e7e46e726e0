//! Sheet "Theo xã": under its title and period, coverage and outcome counts by commune, filterable, with a totals row.

use rust_xlsxwriter::Worksheet;

use super::SHEET_COMMUNES;
use super::cells::{
    RowNum, XResult, fit_row, last_col, put_count, put_text, put_wrapped_header, set_widths,
};
use super::figures::{FIGURE_COLUMNS, outcome_label, put_figures, slice_headers};
use super::office::{DATA_HEADER_ROW, data_sheet_title, print_setup};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::Outcome;
use crate::report::csv::pick;
use crate::report::{Report, ReportMeta};

pub(super) fn communes_sheet(
    report: &Report,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_COMMUNES)?;
    let mut headers = vec![pick(lang, "Xã/phường", "Commune")];
    headers.extend(slice_headers(lang));
    headers.extend(Outcome::ALL.map(|o| outcome_label(o, lang)));
    // Money columns fit a province's totals; about 230 characters, so one page wide in
    // landscape.
    let mut widths = vec![24.0, 11.0, 11.0, 9.0, 12.0, 9.0, 15.0, 15.0, 15.0, 15.0];
    widths.extend([10.0; Outcome::ALL.len()]);
    set_widths(&mut ws, &widths)?;
    data_sheet_title(
        &mut ws,
        pick(lang, "SỐ LIỆU THEO XÃ/PHƯỜNG", "FIGURES BY COMMUNE"),
        meta,
        lang,
        fm,
    )?;
    let head = DATA_HEADER_ROW;
    put_wrapped_header(&mut ws, head, &headers, &widths, fm)?;

    let mut r: RowNum = head + 1;
    for s in &report.by_commune {
        let name = s
            .commune
            .as_deref()
            .unwrap_or(pick(lang, "(không ghi xã)", "(no commune)"));
        put_text(&mut ws, r, 0, name, &fm.wrap)?;
        fit_row(&mut ws, r, &[(name, widths[0])])?;
        put_figures(&mut ws, r, 1, &s.figures, fm, false)?;
        for (c, o) in (1 + FIGURE_COLUMNS as u16..).zip(Outcome::ALL) {
            put_count(&mut ws, r, c, s.figures.outcomes.get(o), &fm.count)?;
        }
        r += 1;
    }
    let last = last_col(headers.len());
    ws.set_freeze_panes(head + 1, 1)?;
    // The totals row stays outside the filter so filtering never hides it.
    ws.autofilter(head, 0, r.saturating_sub(1).max(head), last)?;

    let totals = report.totals(meta.targets());
    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(&mut ws, r, 1, &totals, fm, true)?;
    for (c, o) in (1 + FIGURE_COLUMNS as u16..).zip(Outcome::ALL) {
        put_count(&mut ws, r, c, report.outcomes.get(o), &fm.total_count)?;
    }
    print_setup(&mut ws, true, Some(head))?;
    Ok(ws)
}
