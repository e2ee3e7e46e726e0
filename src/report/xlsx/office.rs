//! The parts that make a workbook a Vietnamese office document (the agency block, the
//! national motto, the title, the period in words, the place-and-date line and the
//! signature block), each sheet's title lines, and the print setup every sheet shares.

use rust_xlsxwriter::{Format, Worksheet};

use super::cells::{ColNum, RowNum, XResult, fit_cell, put_text};
use super::styles::Formats;
use crate::domain::Lang;
use crate::domain::period::PeriodCode;
use crate::report::ReportMeta;
use crate::report::csv::pick;

/// The period in words ("Quý III năm 2024", "September 2024"); a period that is not a
/// period code is shown as given.
pub(super) fn period_words(meta: &ReportMeta, lang: Lang) -> String {
    match meta.period.as_deref() {
        None => pick(lang, "(không ghi)", "(not stated)").to_owned(),
        Some(p) => PeriodCode::words_of(p, lang == Lang::Vi),
    }
}

/// "Kỳ chi trả: Quý III năm 2024 · Đơn vị: Phường Ba Đình".
fn period_line(meta: &ReportMeta, lang: Lang) -> String {
    let mut line = format!(
        "{}: {}",
        pick(lang, "Kỳ chi trả", "Period"),
        period_words(meta, lang)
    );
    if let Some(u) = &meta.unit {
        line.push_str(&format!(
            " · {}: {}",
            pick(lang, "Đơn vị", "Unit"),
            u.full_name
        ));
    }
    line
}

/// Where a data sheet's header row is: under its title, its period line and a blank row.
pub(super) const DATA_HEADER_ROW: RowNum = 3;

/// A data sheet's title (row 1) and period line (row 2), unmerged so the streamed sheets
/// keep them in their head as they are.
pub(super) fn data_sheet_title(
    ws: &mut Worksheet,
    title: &str,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    ws.write_string_with_format(0, 0, title, &fm.title)?;
    ws.write_string_with_format(1, 0, fit_cell(&period_line(meta, lang)), &fm.subtitle)?;
    Ok(())
}

/// Rows the office header takes (the last one blank): write the document's table from here.
pub(super) const OFFICE_HEADER_ROWS: RowNum = 8;

/// Where the office header's blocks go: the agency block over `agency` (first, last
/// column), the motto over `motto`, the title and its lines over `0..=last`.
pub(super) struct HeaderColumns {
    pub(super) agency: (ColNum, ColNum),
    pub(super) motto: (ColNum, ColNum),
    pub(super) last: ColNum,
}

/// The office header, always [`OFFICE_HEADER_ROWS`] rows: agency block (the unit, its
/// programme) top left; "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do - Hạnh
/// phúc" top right; then the title, the programme and unit, the period in words and when
/// it was made, centred.
pub(super) fn office_header(
    ws: &mut Worksheet,
    title: &str,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
    cols: &HeaderColumns,
) -> XResult {
    let merge =
        |ws: &mut Worksheet, r: RowNum, (a, b): (ColNum, ColNum), text: &str, f: &Format| {
            ws.merge_range(r, a, r, b, &fit_cell(text), f).map(|_| ())
        };
    // A file reconciled alone names no unit: a dotted line to fill in by hand.
    let agency = meta
        .unit
        .as_ref()
        .map_or_else(|| "………………………………".to_owned(), |u| u.full_name.to_uppercase());
    merge(ws, 0, cols.agency, &agency, &fm.agency)?;
    let programme = meta.programme.as_ref().map_or("", |p| p.name.as_str());
    merge(ws, 1, cols.agency, programme, &fm.agency_sub)?;
    merge(
        ws,
        0,
        cols.motto,
        pick(
            lang,
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "SOCIALIST REPUBLIC OF VIETNAM",
        ),
        &fm.motto,
    )?;
    merge(
        ws,
        1,
        cols.motto,
        pick(
            lang,
            "Độc lập - Tự do - Hạnh phúc",
            "Independence - Freedom - Happiness",
        ),
        &fm.motto_sub,
    )?;
    let whole = (0, cols.last);
    ws.set_row_height(3, 22)?;
    merge(ws, 3, whole, title, &fm.doc_title)?;
    let mut scope = Vec::new();
    if let Some(p) = &meta.programme {
        scope.push(format!(
            "{}: {} ({})",
            pick(lang, "Chế độ", "Programme"),
            p.name,
            p.code
        ));
    }
    if let Some(u) = &meta.unit {
        scope.push(format!(
            "{}: {} ({})",
            pick(lang, "Đơn vị", "Unit"),
            u.full_name,
            u.code
        ));
    }
    merge(ws, 4, whole, &scope.join(" · "), &fm.doc_line)?;
    let period = format!(
        "{}: {}",
        pick(lang, "Kỳ chi trả", "Period"),
        period_words(meta, lang)
    );
    merge(
        ws,
        5,
        whole,
        &period,
        &fm.doc_title.clone().set_font_size(12),
    )?;
    let made = format!(
        "{}: {}",
        pick(lang, "Thời điểm lập", "Generated at"),
        meta.generated_at
    );
    merge(ws, 6, whole, &made, &fm.place_date)
}

/// "Ba Đình, ngày 30 tháng 09 năm 2025" (the place is the unit's name; dots where there
/// is none), from the run's time; "Ba Đình, 30 September 2025" in English.
pub(super) fn place_and_date(meta: &ReportMeta, lang: Lang) -> String {
    use chrono::Datelike;
    let place = meta
        .unit
        .as_ref()
        .map_or_else(|| "……………".to_owned(), |u| u.name.clone());
    // An approved report is dated the day it was approved; another, the day it was made.
    // Times are stored in UTC; the date on the document is Vietnam's.
    let day = match &meta.signatures {
        Some(s) => Some(vn_day(s.approved_by.at)),
        None => crate::domain::dates::parse_report_time(&meta.generated_at).map(vn_day),
    };
    match (day, lang) {
        (Some(d), Lang::Vi) => format!(
            "{place}, ngày {:02} tháng {:02} năm {}",
            d.day(),
            d.month(),
            d.year()
        ),
        (Some(d), Lang::En) => format!("{place}, {}", d.format("%-d %B %Y")),
        (None, Lang::Vi) => format!("{place}, ngày … tháng … năm …"),
        (None, Lang::En) => format!("{place}, date: …"),
    }
}

/// The day in Vietnam (UTC+7) of a stored time.
fn vn_day(t: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
    (t + chrono::Duration::hours(7)).date_naive()
}

/// "Trình ngày 05/10/2026" under a signer's role: when they put their name to it.
fn signed_on(
    verb_vi: &str,
    verb_en: &str,
    at: chrono::DateTime<chrono::Utc>,
    lang: Lang,
) -> String {
    let day = vn_day(at).format("%d/%m/%Y");
    match lang {
        Lang::Vi => format!("{verb_vi} ngày {day}"),
        Lang::En => format!("{verb_en} on {day}"),
    }
}

/// How a cell of the signature block looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SignFormat {
    PlaceDate,
    Role,
    Hint,
    /// The signer's name: who submitted and who approved an approved run; blank otherwise.
    Name,
}

impl SignFormat {
    pub(super) fn format(self, fm: &Formats) -> &Format {
        match self {
            SignFormat::PlaceDate => &fm.place_date,
            SignFormat::Role => &fm.sign_role,
            SignFormat::Hint => &fm.sign_hint,
            SignFormat::Name => &fm.sign_name,
        }
    }
}

/// A cell of the signature block: its row (from the block's first), column, text, look.
pub(super) struct SignCell {
    pub(super) row: RowNum,
    pub(super) col: ColNum,
    pub(super) text: String,
    pub(super) format: SignFormat,
}

/// Rows the signature block takes: the place and date, the roles, "(Ký, ghi rõ họ tên)",
/// four rows to sign in, the names.
pub(super) const SIGNATURE_ROWS: RowNum = 8;

/// The signature block: "Người lập biểu", "Kế toán trưởng", "Thủ trưởng đơn vị" centred on
/// `cols`, the place-and-date line over the last. One cell each, centred text spilling
/// over its empty neighbours: no merged cells, so a streamed sheet writes it as it is. An
/// approved run names its submitter (Người lập biểu) and its approver (Kế toán trưởng),
/// each with the day they acted; the head of unit signs on paper.
pub(super) fn signature_cells(meta: &ReportMeta, lang: Lang, cols: [ColNum; 3]) -> Vec<SignCell> {
    let roles = match lang {
        Lang::Vi => ["Người lập biểu", "Kế toán trưởng", "Thủ trưởng đơn vị"],
        Lang::En => ["Prepared by", "Chief accountant", "Head of unit"],
    };
    let hint = pick(lang, "(Ký, ghi rõ họ tên)", "(Signature, full name)");
    let cell = |row, col, text: &str, format| SignCell {
        row,
        col,
        text: text.to_owned(),
        format,
    };
    let mut cells = vec![cell(
        0,
        cols[2],
        &place_and_date(meta, lang),
        SignFormat::PlaceDate,
    )];
    let signers = meta.signatures.as_ref().map(|s| {
        [
            Some((
                s.prepared_by.person.as_str(),
                signed_on("Trình", "Submitted", s.prepared_by.at, lang),
            )),
            Some((
                s.approved_by.person.as_str(),
                signed_on("Duyệt", "Approved", s.approved_by.at, lang),
            )),
            None,
        ]
    });
    for (i, (col, role)) in cols.into_iter().zip(roles).enumerate() {
        cells.push(cell(1, col, role, SignFormat::Role));
        cells.push(cell(2, col, hint, SignFormat::Hint));
        let signer = signers.as_ref().and_then(|s| s.get(i).cloned().flatten());
        if let Some((_, on)) = &signer {
            cells.push(cell(3, col, on, SignFormat::Hint));
        }
        let name = signer.map_or("", |(person, _)| person);
        cells.push(cell(SIGNATURE_ROWS - 1, col, name, SignFormat::Name));
    }
    cells.sort_by_key(|c| (c.row, c.col));
    cells
}

/// The signature block written from row `r`; returns the next free row.
pub(super) fn write_signature(
    ws: &mut Worksheet,
    r: RowNum,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
    cols: [ColNum; 3],
) -> XResult<RowNum> {
    for c in signature_cells(meta, lang, cols) {
        put_text(ws, r + c.row, c.col, &c.text, c.format.format(fm))?;
    }
    Ok(r + SIGNATURE_ROWS)
}

/// Every sheet prints on A4, one page wide (as many pages down as it takes), with
/// margins that leave room to file; `repeat` is the header row long sheets repeat.
pub(super) fn print_setup(ws: &mut Worksheet, landscape: bool, repeat: Option<RowNum>) -> XResult {
    ws.set_paper_size(9);
    if landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    ws.set_print_fit_to_pages(1, 0);
    // Inches: a wider left margin for the binding.
    ws.set_margins(0.6, 0.4, 0.5, 0.5, 0.3, 0.3);
    ws.set_print_center_horizontally(true);
    if let Some(r) = repeat {
        ws.set_repeat_rows(r, r)?;
    }
    Ok(())
}

/// An approved report's footer on every printed page: the report's digest (what an
/// auditor checks a filed copy against, `GET …/meta`) and the page number.
pub(super) fn digest_footer(meta: &ReportMeta, lang: Lang) -> Option<String> {
    meta.signatures.as_ref()?;
    let sha = meta.report_sha256.as_deref()?;
    let (label, page) = match lang {
        Lang::Vi => ("Mã kiểm tra báo cáo (SHA-256)", "Trang"),
        Lang::En => ("Report digest (SHA-256)", "Page"),
    };
    Some(format!("&L&7{label}: {sha}&R&7{page} &P/&N"))
}
