//! The auditor's workbook and the follow-up (re-payment) list.
//!
//! Numbers are written as numbers with number formats, never as formatted text: Excel
//! then shows the user's locale (decimal comma on Vietnamese machines) and formulas keep
//! working. Identifiers are written as text, so leading zeros survive. Strings are never
//! formula-escaped here: a string cell is not evaluated by Excel, and auditors need the
//! exact value.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::utility::row_col_to_cell;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Formula, Workbook, Worksheet};

use super::csv::{
    COL_ACCOUNT, COL_AMOUNT_DUE, COL_AMOUNT_PAID, COL_ID, exception_headers, exception_texts,
    joined_rows, kind_label, pick,
};
use super::{Figures, InputFile, Lang, Report, ReportMeta};
use crate::recon::{ExceptionKind, ExceptionRow, Flag, Outcome};

type RowNum = u32;
type ColNum = u16;
type XResult<T = ()> = Result<T, rust_xlsxwriter::XlsxError>;

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error(transparent)]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// Sheet names are Vietnamese in every language: scripts and auditors' macros refer to them.
pub const SHEET_SUMMARY: &str = "Tổng hợp";
pub const SHEET_COMMUNES: &str = "Theo xã";
pub const SHEET_EXCEPTIONS: &str = "Ngoại lệ";
pub const SHEET_ROW_ERRORS: &str = "Lỗi dữ liệu";
pub const SHEET_FOLLOWUP: &str = "Danh sách chi lại";

/// Excel's per-cell limit, counted in UTF-16 units.
const MAX_CELL_UTF16: usize = 32_767;

const HEADER_FILL: u32 = 0xDDEBF7;
const TOTAL_FILL: u32 = 0xF2F2F2;

struct Formats {
    title: Format,
    subtitle: Format,
    section: Format,
    label: Format,
    header: Format,
    /// "@" so a user editing an ID cell does not turn it into a number.
    text: Format,
    wrap: Format,
    count: Format,
    row_no: Format,
    money: Format,
    pct: Format,
    total_label: Format,
    total_count: Format,
    total_money: Format,
    total_pct: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = || {
            Format::new()
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::VerticalCenter)
        };
        let total = || {
            cell()
                .set_bold()
                .set_background_color(Color::RGB(TOTAL_FILL))
        };
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            subtitle: Format::new().set_italic(),
            section: Format::new().set_bold().set_font_size(12),
            label: cell(),
            header: cell()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(HEADER_FILL)),
            text: cell().set_num_format("@"),
            wrap: cell().set_text_wrap(),
            count: cell().set_num_format("#,##0"),
            row_no: cell().set_num_format("0"),
            money: cell().set_num_format("#,##0 \"₫\""),
            pct: cell().set_num_format("0.00\"%\""),
            total_label: total(),
            total_count: total().set_num_format("#,##0"),
            total_money: total().set_num_format("#,##0 \"₫\""),
            total_pct: total().set_num_format("0.00\"%\""),
        }
    }
}

/// Cuts text Excel would refuse, so one odd cell cannot cost the whole workbook.
fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_CELL_UTF16 || s.encode_utf16().count() <= MAX_CELL_UTF16 {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut units = 0;
    let mut out = String::new();
    for c in s.chars() {
        units += c.len_utf16();
        if units > MAX_CELL_UTF16 - 1 {
            break;
        }
        out.push(c);
    }
    out.push('…');
    std::borrow::Cow::Owned(out)
}

fn put_text(ws: &mut Worksheet, r: RowNum, c: ColNum, s: &str, f: &Format) -> XResult {
    if s.is_empty() {
        ws.write_blank(r, c, f)?;
    } else {
        ws.write_string_with_format(r, c, fit_cell(s), f)?;
    }
    Ok(())
}

fn put_count(ws: &mut Worksheet, r: RowNum, c: ColNum, n: u64, f: &Format) -> XResult {
    // Counts of rows and people are far below 2^53, so exact as f64.
    ws.write_number_with_format(r, c, n as f64, f)?;
    Ok(())
}

/// The single place where a Decimal becomes f64: amounts are whole đồng far below 2^53
/// and percentages have two places, so Excel gets the exact value it would display.
fn put_decimal(ws: &mut Worksheet, r: RowNum, c: ColNum, d: Decimal, f: &Format) -> XResult {
    match d.to_f64() {
        Some(v) => ws.write_number_with_format(r, c, v, f)?,
        // Not reachable for Decimal; text keeps the value rather than inventing one.
        None => ws.write_string_with_format(r, c, d.to_string(), f)?,
    };
    Ok(())
}

fn put_pct(ws: &mut Worksheet, r: RowNum, c: ColNum, p: Option<Decimal>, f: &Format) -> XResult {
    match p {
        Some(p) => put_decimal(ws, r, c, p, f),
        None => {
            ws.write_blank(r, c, f)?;
            Ok(())
        }
    }
}

/// A two-column table (label, count) under a header row; returns the next free row.
fn label_count_table<'l>(
    ws: &mut Worksheet,
    mut r: RowNum,
    header: [&str; 2],
    rows: impl IntoIterator<Item = (&'l str, u64)>,
    fm: &Formats,
) -> XResult<RowNum> {
    put_header(ws, r, 0, &header, fm)?;
    r += 1;
    for (label, n) in rows {
        ws.write_string_with_format(r, 0, label, &fm.label)?;
        put_count(ws, r, 1, n, &fm.count)?;
        r += 1;
    }
    Ok(r)
}

fn put_header(
    ws: &mut Worksheet,
    r: RowNum,
    first: ColNum,
    labels: &[&str],
    fm: &Formats,
) -> XResult {
    for (c, label) in (first..).zip(labels) {
        ws.write_string_with_format(r, c, *label, &fm.header)?;
    }
    Ok(())
}

fn last_col(n: usize) -> ColNum {
    // Tables here have a few dozen columns at most.
    ColNum::try_from(n.saturating_sub(1)).unwrap_or(ColNum::MAX)
}

fn set_widths(ws: &mut Worksheet, widths: &[f64]) -> XResult {
    for (c, w) in (0..).zip(widths) {
        ws.set_column_width(c, *w)?;
    }
    Ok(())
}

fn outcome_label(o: Outcome, lang: Lang) -> &'static str {
    pick(lang, o.label_vi(), o.label_en())
}

fn flag_label(f: Flag, lang: Lang) -> &'static str {
    pick(lang, f.label_vi(), f.label_en())
}

fn yes_no(b: bool, lang: Lang) -> &'static str {
    if b {
        pick(lang, "Đạt", "Met")
    } else {
        pick(lang, "Chưa đạt", "Not met")
    }
}

/// Columns of every coverage table (communes, categories, banks), after the name column.
fn slice_headers(lang: Lang) -> [&'static str; 7] {
    match lang {
        Lang::Vi => [
            "Số đối tượng",
            "Có tài khoản",
            "Tỷ lệ có TK",
            "Đã chi không dùng tiền mặt",
            "Tỷ lệ chi KDTM",
            "Phải chi",
            "Đã chi",
        ],
        Lang::En => [
            "Beneficiaries",
            "With account",
            "% with account",
            "Paid cashless",
            "% paid cashless",
            "Amount due",
            "Amount paid",
        ],
    }
}

/// Writes the seven figures of [`slice_headers`] from column `c0`.
fn put_figures(
    ws: &mut Worksheet,
    r: RowNum,
    c0: ColNum,
    f: &Figures,
    fm: &Formats,
    total: bool,
) -> XResult {
    let (count, pct, money) = if total {
        (&fm.total_count, &fm.total_pct, &fm.total_money)
    } else {
        (&fm.count, &fm.pct, &fm.money)
    };
    put_count(ws, r, c0, f.beneficiaries, count)?;
    put_count(ws, r, c0 + 1, f.with_account, count)?;
    put_pct(ws, r, c0 + 2, f.account_coverage_pct, pct)?;
    put_count(ws, r, c0 + 3, f.paid_cashless, count)?;
    put_pct(ws, r, c0 + 4, f.cashless_rate_pct, pct)?;
    put_decimal(ws, r, c0 + 5, f.amount_due, money)?;
    put_decimal(ws, r, c0 + 6, f.amount_paid, money)
}

/// The auditor's workbook. Sheet names exactly (Vietnamese even for lang En):
/// "Tổng hợp", "Theo xã", "Ngoại lệ", "Lỗi dữ liệu".
pub fn write_report(
    report: &Report,
    exceptions: &[ExceptionRow],
    meta: &ReportMeta,
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let fm = Formats::new();
    let mut wb = Workbook::new();
    // Auditors print these on A4 landscape: the two summaries one page wide; the wide data
    // sheets at readable size, their header row repeated on every page.
    for (mut ws, fit_width) in [
        (summary_sheet(report, meta, lang, &fm)?, true),
        (communes_sheet(report, meta, lang, &fm)?, true),
        (exceptions_sheet(exceptions, lang, &fm)?, false),
        (row_errors_sheet(report, lang, &fm)?, false),
    ] {
        ws.set_paper_size(9);
        ws.set_landscape();
        if fit_width {
            ws.set_print_fit_to_pages(1, 0);
        } else {
            ws.set_repeat_rows(0, 0)?;
        }
        wb.push_worksheet(ws);
    }
    Ok(wb.save_to_buffer()?)
}

fn summary_sheet(
    report: &Report,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_SUMMARY)?;
    set_widths(
        &mut ws,
        &[
            46.0, 18.0, 16.0, 16.0, 16.0, 16.0, 18.0, 18.0, 18.0, 16.0, 30.0, 66.0,
        ],
    )?;
    let ws_ = &mut ws;

    ws_.write_string_with_format(
        0,
        0,
        pick(
            lang,
            "BÁO CÁO ĐỐI SOÁT CHI TRẢ KHÔNG DÙNG TIỀN MẶT",
            "CASHLESS PAYMENT RECONCILIATION REPORT",
        ),
        &fm.title,
    )?;
    ws_.write_string_with_format(1, 0, pick(lang, "Kỳ chi trả", "Period"), &fm.subtitle)?;
    let period = meta
        .period
        .as_deref()
        .unwrap_or(pick(lang, "(không ghi)", "(not stated)"));
    ws_.write_string_with_format(1, 1, fit_cell(period), &fm.subtitle)?;
    ws_.write_string_with_format(
        2,
        0,
        pick(lang, "Thời điểm lập", "Generated at"),
        &fm.subtitle,
    )?;
    ws_.write_string_with_format(2, 1, fit_cell(&meta.generated_at), &fm.subtitle)?;

    // Headline figures.
    let mut r: RowNum = 4;
    put_header(
        ws_,
        r,
        0,
        &[
            pick(lang, "Chỉ tiêu", "Indicator"),
            pick(lang, "Giá trị", "Value"),
        ],
        fm,
    )?;
    r += 1;
    let totals = report.totals(meta.target_pct);
    let mut line = |ws: &mut Worksheet, vi: &'static str, en: &'static str| -> XResult<RowNum> {
        let row = r;
        ws.write_string_with_format(row, 0, pick(lang, vi, en), &fm.label)?;
        r += 1;
        Ok(row)
    };
    let row = line(ws_, "Tổng số đối tượng", "Beneficiaries")?;
    put_count(ws_, row, 1, report.beneficiaries, &fm.count)?;
    let row = line(ws_, "Có tài khoản", "With a bank account")?;
    put_count(ws_, row, 1, report.with_account, &fm.count)?;
    let row = line(ws_, "Tỷ lệ có tài khoản", "Account coverage")?;
    put_pct(ws_, row, 1, report.account_coverage_pct, &fm.pct)?;
    let row = line(ws_, "Đã chi trả không dùng tiền mặt", "Paid cashless")?;
    put_count(ws_, row, 1, report.paid_cashless, &fm.count)?;
    let row = line(
        ws_,
        "Tỷ lệ chi không dùng tiền mặt",
        "Cashless payment rate",
    )?;
    put_pct(ws_, row, 1, report.cashless_rate_pct, &fm.pct)?;
    let row = line(ws_, "Số tiền phải chi", "Amount due")?;
    put_decimal(ws_, row, 1, report.amount_due, &fm.money)?;
    let row = line(ws_, "Số tiền đã chi", "Amount paid")?;
    put_decimal(ws_, row, 1, report.amount_paid, &fm.money)?;
    let row = line(
        ws_,
        "Khoản chi không khớp danh sách (số khoản)",
        "Payouts to nobody on the list (count)",
    )?;
    put_count(ws_, row, 1, report.unmatched_payouts.count, &fm.count)?;
    let row = line(
        ws_,
        "Khoản chi không khớp danh sách (số tiền)",
        "Payouts to nobody on the list (amount)",
    )?;
    put_decimal(ws_, row, 1, report.unmatched_payouts.amount, &fm.money)?;
    if let Some(target) = meta.target_pct {
        let row = line(ws_, "Chỉ tiêu tỷ lệ", "Target rate")?;
        put_decimal(ws_, row, 1, target, &fm.pct)?;
        if let Some(met) = totals.account_coverage_meets_target {
            let row = line(
                ws_,
                "Tỷ lệ có tài khoản so với chỉ tiêu",
                "Account coverage vs target",
            )?;
            ws_.write_string_with_format(row, 1, yes_no(met, lang), &fm.label)?;
        }
        if let Some(met) = totals.cashless_rate_meets_target {
            let row = line(
                ws_,
                "Tỷ lệ chi không dùng tiền mặt so với chỉ tiêu",
                "Cashless rate vs target",
            )?;
            ws_.write_string_with_format(row, 1, yes_no(met, lang), &fm.label)?;
        }
    }

    // Outcomes, then flags.
    r = label_count_table(
        ws_,
        r + 1,
        [
            pick(lang, "Kết quả đối soát", "Outcome"),
            pick(lang, "Số đối tượng", "Beneficiaries"),
        ],
        Outcome::ALL.map(|o| (outcome_label(o, lang), report.outcomes.get(o))),
        fm,
    )?;
    r = label_count_table(
        ws_,
        r + 1,
        [
            pick(lang, "Cảnh báo", "Flag"),
            pick(lang, "Số lượng", "Count"),
        ],
        Flag::ALL.map(|f| (flag_label(f, lang), report.flags.get(f))),
        fm,
    )?;
    ws_.write_string_with_format(
        r,
        0,
        pick(
            lang,
            "Tổng dòng không khớp số liệu tổng cộng",
            "Totals rows that disagree with the sum of the rows",
        ),
        &fm.label,
    )?;
    put_count(ws_, r, 1, report.flags.control_total_mismatch, &fm.count)?;
    r += 1;

    // By category.
    r += 1;
    ws_.write_string_with_format(
        r,
        0,
        pick(lang, "Theo đối tượng", "By category"),
        &fm.section,
    )?;
    r += 1;
    let mut headers = vec![pick(lang, "Đối tượng", "Category")];
    headers.extend(slice_headers(lang));
    put_header(ws_, r, 0, &headers, fm)?;
    r += 1;
    for s in &report.by_category {
        let name =
            s.category
                .as_deref()
                .unwrap_or(pick(lang, "(không ghi đối tượng)", "(no category)"));
        put_text(ws_, r, 0, name, &fm.label)?;
        put_figures(ws_, r, 1, &s.figures, fm, false)?;
        r += 1;
    }
    ws_.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(ws_, r, 1, &totals, fm, true)?;
    r += 1;

    // By bank.
    r += 1;
    ws_.write_string_with_format(r, 0, pick(lang, "Theo ngân hàng", "By bank"), &fm.section)?;
    r += 1;
    headers[0] = pick(lang, "Ngân hàng", "Bank");
    put_header(ws_, r, 0, &headers, fm)?;
    r += 1;
    for s in &report.by_bank {
        let name = s.bank.map(|b| b.short_name()).unwrap_or(pick(
            lang,
            "(không có ngân hàng: chi tiền mặt)",
            "(no bank: cash)",
        ));
        put_text(ws_, r, 0, name, &fm.label)?;
        put_figures(ws_, r, 1, &s.figures, fm, false)?;
        r += 1;
    }
    ws_.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(ws_, r, 1, &totals, fm, true)?;
    r += 1;

    // Inputs: the audit trail of which files, exactly, the figures come from.
    r += 1;
    ws_.write_string_with_format(r, 0, pick(lang, "Tệp đầu vào", "Input files"), &fm.section)?;
    r += 1;
    let input_headers = match lang {
        Lang::Vi => [
            "Tệp",
            "Vai trò",
            "Trang tính",
            "Ngân hàng",
            "Số dòng dữ liệu",
            "Dòng hợp lệ",
            "Dòng bị loại",
            "Tổng cộng ghi trên tệp",
            "Tổng cộng tính lại",
            "Kiểm tra tổng cộng",
            "Ghi chú",
            "SHA-256",
        ],
        Lang::En => [
            "File",
            "Role",
            "Sheet",
            "Bank",
            "Data rows",
            "Accepted rows",
            "Rejected rows",
            "Stated total",
            "Computed total",
            "Total check",
            "Notices",
            "SHA-256",
        ],
    };
    put_header(ws_, r, 0, &input_headers, fm)?;
    r += 1;
    for input in &meta.inputs {
        put_input(ws_, r, input, lang, fm)?;
        r += 1;
    }

    r += 1;
    if let Some(sha) = &meta.report_sha256 {
        ws_.write_string_with_format(
            r,
            0,
            pick(
                lang,
                "SHA-256 của báo cáo (JSON)",
                "SHA-256 of the report (JSON)",
            ),
            &fm.label,
        )?;
        put_text(ws_, r, 1, sha, &fm.text)?;
        r += 1;
    }
    ws_.write_string_with_format(
        r,
        0,
        pick(
            lang,
            "Dung sai khi so sánh số tiền",
            "Tolerance when comparing amounts",
        ),
        &fm.label,
    )?;
    put_decimal(ws_, r, 1, meta.tolerance, &fm.money)?;
    Ok(ws)
}

fn put_input(
    ws: &mut Worksheet,
    r: RowNum,
    input: &InputFile,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    let role = match input.role.as_str() {
        "beneficiaries" => pick(lang, "Danh sách đối tượng", "Beneficiary list"),
        "payouts" => pick(lang, "Kết quả chi của ngân hàng", "Bank payout results"),
        "callbacks" => pick(
            lang,
            "Kết quả chi ngân hàng gửi trực tiếp (callback)",
            "Bank callbacks",
        ),
        other => other,
    };
    put_text(ws, r, 0, &input.name, &fm.label)?;
    put_text(ws, r, 1, role, &fm.label)?;
    put_text(ws, r, 2, input.sheet.as_deref().unwrap_or(""), &fm.label)?;
    put_text(
        ws,
        r,
        3,
        input.bank.map(|b| b.short_name()).unwrap_or(""),
        &fm.label,
    )?;
    put_count(ws, r, 4, input.data_rows as u64, &fm.count)?;
    put_count(ws, r, 5, input.accepted_rows as u64, &fm.count)?;
    put_count(ws, r, 6, input.rejected_rows as u64, &fm.count)?;
    match &input.control_total {
        Some(ct) => {
            put_decimal(ws, r, 7, ct.stated, &fm.money)?;
            put_decimal(ws, r, 8, ct.computed, &fm.money)?;
            let verdict = if ct.mismatch() {
                pick(lang, "Lệch", "Mismatch")
            } else {
                pick(lang, "Khớp", "Agrees")
            };
            let row_word = pick(lang, "dòng", "row");
            put_text(
                ws,
                r,
                9,
                &format!("{verdict} ({row_word} {})", ct.row),
                &fm.label,
            )?;
        }
        None => {
            for c in 7..=9 {
                ws.write_blank(r, c, &fm.label)?;
            }
        }
    }
    put_text(ws, r, 10, &input.notices.join("; "), &fm.wrap)?;
    put_text(ws, r, 11, &input.sha256, &fm.text)
}

fn communes_sheet(
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
    let mut widths = vec![28.0, 12.0, 12.0, 11.0, 16.0, 11.0, 18.0, 18.0];
    widths.extend([13.0; Outcome::ALL.len()]);
    set_widths(&mut ws, &widths)?;
    ws.set_row_height(0, 45)?;
    put_header(&mut ws, 0, 0, &headers, fm)?;

    let mut r: RowNum = 1;
    for s in &report.by_commune {
        let name = s
            .commune
            .as_deref()
            .unwrap_or(pick(lang, "(không ghi xã)", "(no commune)"));
        put_text(&mut ws, r, 0, name, &fm.label)?;
        put_figures(&mut ws, r, 1, &s.figures, fm, false)?;
        for (c, o) in (8..).zip(Outcome::ALL) {
            put_count(&mut ws, r, c, s.figures.outcomes.get(o), &fm.count)?;
        }
        r += 1;
    }
    let last = last_col(headers.len());
    ws.set_freeze_panes(1, 1)?;
    // The totals row stays outside the filter so filtering never hides it.
    ws.autofilter(0, 0, r.saturating_sub(1), last)?;

    let totals = report.totals(meta.target_pct);
    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(&mut ws, r, 1, &totals, fm, true)?;
    for (c, o) in (8..).zip(Outcome::ALL) {
        put_count(&mut ws, r, c, report.outcomes.get(o), &fm.total_count)?;
    }
    Ok(ws)
}

fn exceptions_sheet(exceptions: &[ExceptionRow], lang: Lang, fm: &Formats) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_EXCEPTIONS)?;
    let headers = exception_headers(lang);
    set_widths(
        &mut ws,
        &[
            30.0, 16.0, 16.0, 26.0, 18.0, 20.0, 12.0, 18.0, 16.0, 16.0, 40.0, 24.0, 22.0, 10.0,
            70.0,
        ],
    )?;
    put_header(&mut ws, 0, 0, &headers, fm)?;
    let mut r: RowNum = 1;
    for row in exceptions {
        let texts = exception_texts(row, lang);
        for (c, text) in (0..).zip(&texts) {
            let col = usize::from(c);
            if col == COL_AMOUNT_DUE {
                match row.amount_due {
                    Some(d) => put_decimal(&mut ws, r, c, d, &fm.money)?,
                    None => {
                        ws.write_blank(r, c, &fm.money)?;
                    }
                }
            } else if col == COL_AMOUNT_PAID {
                put_decimal(&mut ws, r, c, row.amount_paid, &fm.money)?;
            } else if col == COL_ID || col == COL_ACCOUNT {
                put_text(&mut ws, r, c, text, &fm.text)?;
            } else {
                put_text(&mut ws, r, c, text, &fm.label)?;
            }
        }
        r += 1;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, r.saturating_sub(1), last_col(headers.len()))?;
    Ok(ws)
}

fn row_errors_sheet(report: &Report, lang: Lang, fm: &Formats) -> XResult<Worksheet> {
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

fn needs_repayment(kind: ExceptionKind) -> bool {
    matches!(
        kind,
        ExceptionKind::Beneficiary(Outcome::Failed | Outcome::Returned | Outcome::Unpaid)
    )
}

/// The bank's reasons, each once, in payout order.
fn reasons(row: &ExceptionRow) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for p in &row.payouts {
        if let Some(reason) = p.reason.as_deref().map(str::trim).filter(|r| !r.is_empty())
            && !seen.contains(&reason)
        {
            seen.push(reason);
        }
    }
    seen.join("; ")
}

/// Follow-up list for re-payment: only beneficiaries whose exception kind is failed,
/// returned or unpaid, one sheet "Danh sách chi lại", with a title block and a
/// "Tổng cộng" row (count, and a =SUM of the amounts with its computed value cached so
/// viewers that do not recalculate still show it).
pub fn write_followup(
    exceptions: &[ExceptionRow],
    meta: &ReportMeta,
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let fm = Formats::new();
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_FOLLOWUP)?;
    let headers = match lang {
        Lang::Vi => [
            "STT",
            "Số định danh",
            "Họ và tên",
            "Xã/phường",
            "Đối tượng",
            "Ngân hàng",
            "Số tài khoản",
            "Số tiền phải chi",
            "Tình trạng",
            "Lý do",
            "Dòng trong danh sách",
        ],
        Lang::En => [
            "No.",
            "Personal ID",
            "Name",
            "Commune",
            "Category",
            "Bank",
            "Account",
            "Amount due",
            "Status",
            "Reason",
            "Rows in the list",
        ],
    };
    const COL_AMOUNT: ColNum = 7;
    let last = last_col(headers.len());
    set_widths(
        &mut ws,
        &[
            6.0, 16.0, 26.0, 18.0, 20.0, 12.0, 18.0, 16.0, 20.0, 36.0, 12.0,
        ],
    )?;

    let title_fmt = fm.title.clone().set_align(FormatAlign::Center);
    let sub_fmt = fm.subtitle.clone().set_align(FormatAlign::Center);
    ws.merge_range(
        0,
        0,
        0,
        last,
        pick(
            lang,
            "DANH SÁCH ĐỐI TƯỢNG CẦN CHI TRẢ LẠI",
            "BENEFICIARIES TO BE PAID AGAIN",
        ),
        &title_fmt,
    )?;
    let period = meta
        .period
        .as_deref()
        .unwrap_or(pick(lang, "(không ghi)", "(not stated)"));
    let period_line = format!("{}: {period}", pick(lang, "Kỳ chi trả", "Period"));
    ws.merge_range(1, 0, 1, last, &fit_cell(&period_line), &sub_fmt)?;
    let generated = format!(
        "{}: {}",
        pick(lang, "Thời điểm lập", "Generated at"),
        meta.generated_at
    );
    ws.merge_range(2, 0, 2, last, &fit_cell(&generated), &sub_fmt)?;

    const HEADER_ROW: RowNum = 4;
    ws.set_row_height(HEADER_ROW, 30)?;
    put_header(&mut ws, HEADER_ROW, 0, &headers, &fm)?;

    let mut r = HEADER_ROW + 1;
    let mut count: u64 = 0;
    let mut sum = Decimal::ZERO;
    for row in exceptions.iter().filter(|e| needs_repayment(e.kind)) {
        count += 1;
        put_count(&mut ws, r, 0, count, &fm.row_no)?;
        put_text(&mut ws, r, 1, &row.population_id, &fm.text)?;
        put_text(&mut ws, r, 2, &row.name, &fm.label)?;
        put_text(
            &mut ws,
            r,
            3,
            row.commune.as_deref().unwrap_or(""),
            &fm.label,
        )?;
        put_text(
            &mut ws,
            r,
            4,
            row.category.as_deref().unwrap_or(""),
            &fm.label,
        )?;
        put_text(
            &mut ws,
            r,
            5,
            row.bank.map(|b| b.short_name()).unwrap_or(""),
            &fm.label,
        )?;
        put_text(
            &mut ws,
            r,
            6,
            row.account.as_deref().unwrap_or(""),
            &fm.text,
        )?;
        match row.amount_due {
            Some(d) => {
                sum += d;
                put_decimal(&mut ws, r, COL_AMOUNT, d, &fm.money)?;
            }
            None => {
                ws.write_blank(r, COL_AMOUNT, &fm.money)?;
            }
        }
        put_text(&mut ws, r, 8, kind_label(row.kind, lang), &fm.label)?;
        put_text(&mut ws, r, 9, &reasons(row), &fm.wrap)?;
        put_text(&mut ws, r, 10, &joined_rows(&row.list_rows), &fm.text)?;
        r += 1;
    }
    let first_data = HEADER_ROW + 1;
    let last_data = r.saturating_sub(1);
    ws.set_freeze_panes(first_data, 0)?;
    ws.autofilter(HEADER_ROW, 0, last_data.max(HEADER_ROW), last)?;

    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_count(&mut ws, r, 1, count, &fm.total_count)?;
    for c in (2..=last).filter(|&c| c != COL_AMOUNT) {
        ws.write_blank(r, c, &fm.total_label)?;
    }
    if count == 0 {
        put_decimal(&mut ws, r, COL_AMOUNT, Decimal::ZERO, &fm.total_money)?;
    } else {
        let range = format!(
            "{}:{}",
            row_col_to_cell(first_data, COL_AMOUNT),
            row_col_to_cell(last_data, COL_AMOUNT)
        );
        let formula =
            Formula::new(format!("=SUM({range})")).set_result(sum.normalize().to_string());
        ws.write_formula_with_format(r, COL_AMOUNT, formula, &fm.total_money)?;
    }

    // Printed and signed at the commune office: A4 landscape, one page wide, header repeated.
    ws.set_paper_size(9);
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(HEADER_ROW, HEADER_ROW)?;

    let mut wb = Workbook::new();
    wb.push_worksheet(ws);
    Ok(wb.save_to_buffer()?)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::sync::Arc;

    use calamine::{Data, Reader};

    use super::*;
    use crate::domain::banks::BankId;
    use crate::domain::population_id::IdCheck;
    use crate::domain::records::{BeneficiaryRow, PayoutRow, RowRef};
    use crate::domain::status::PayoutStatus;
    use crate::import::{ControlTotal, RowError};
    use crate::recon::{Options, exceptions, reconcile};

    const YEAR: i32 = 2025;

    fn dec(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn person(
        row: u32,
        id: &str,
        name: &str,
        account: Option<&str>,
        commune: Option<&str>,
    ) -> BeneficiaryRow {
        BeneficiaryRow {
            source: RowRef::new(Arc::from("danh_sach.xlsx"), row),
            id: IdCheck::from_text(id, YEAR),
            name: name.into(),
            amount_due: dec(1_500_000),
            account: account.map(str::to_owned),
            bank: account.and_then(|_| BankId::resolve("Agribank")),
            birth: None,
            sex: None,
            category: Some("Người cao tuổi".into()),
            commune: commune.map(str::to_owned),
        }
    }

    fn agribank() -> BankId {
        match BankId::resolve("Agribank") {
            Some(b) => b,
            None => panic!("Agribank is in the registry"),
        }
    }

    fn payout(
        row: u32,
        id: &str,
        account: &str,
        amount: i64,
        status: PayoutStatus,
        reason: Option<&str>,
    ) -> PayoutRow {
        PayoutRow {
            source: RowRef::new(Arc::from("agribank.xlsx"), row),
            bank: agribank(),
            reference: Some(format!("FT{row:06}")),
            id: IdCheck::from_text(id, YEAR),
            account: Some(account.into()),
            name: None,
            amount: dec(amount),
            status,
            value_date: None,
            reason: reason.map(str::to_owned),
            origin: crate::domain::records::PayoutOrigin::File,
        }
    }

    /// A small run through the real engine, so the exception rows (and their payout
    /// summaries) are exactly what production produces.
    fn sample() -> (Report, Vec<ExceptionRow>, ReportMeta) {
        let list = vec![
            person(
                10,
                "001090012345",
                "Nguyễn Văn An",
                Some("0100200300"),
                Some("Xã Tân Lập"),
            ),
            person(
                11,
                "001190012346",
                "Trần Thị Bình",
                Some("0100200301"),
                Some("Xã Tân Lập"),
            ),
            person(12, "001090012347", "Lê Văn Cường", Some("0100200302"), None),
            person(
                13,
                "001190012348",
                "Phạm Thị Dung",
                Some("0100200303"),
                Some("Phường Hòa Bình"),
            ),
            person(
                14,
                "001090012349",
                "Hoàng Văn Em",
                None,
                Some("Phường Hòa Bình"),
            ),
            person(
                15,
                "001190012350",
                "Đỗ Thị Phương",
                Some("0100200305"),
                Some("Xã Tân Lập"),
            ),
        ];
        let payouts = vec![
            payout(
                5,
                "001090012345",
                "0100200300",
                1_500_000,
                PayoutStatus::Success,
                None,
            ),
            payout(
                6,
                "001190012346",
                "0100200301",
                1_500_000,
                PayoutStatus::Failed,
                Some("Sai số tài khoản"),
            ),
            payout(
                7,
                "001090012347",
                "0100200302",
                1_500_000,
                PayoutStatus::Returned,
                Some("Tài khoản đã đóng"),
            ),
            payout(
                8,
                "001190012350",
                "0100200305",
                1_000_000,
                PayoutStatus::Success,
                None,
            ),
            payout(
                9,
                "079090000001",
                "9999999999",
                700_000,
                PayoutStatus::Success,
                None,
            ),
        ];
        let options = Options {
            tolerance: Decimal::ZERO,
            target_pct: Some(dec(90)),
        };
        let recon = reconcile(&list, &payouts, &options);
        let row_errors = vec![RowError {
            file: "danh_sach.xlsx".into(),
            sheet: Some("DS".into()),
            row: 20,
            column: Some("E".into()),
            column_name: Some("Số tiền".into()),
            value: "1,5tr".into(),
            reason_vi: "Số tiền không hợp lệ: '1,5tr'".into(),
            reason_en: "not a number: '1,5tr'".into(),
        }];
        let report = Report::new(&recon, row_errors, 1);
        let exc = exceptions(&list, &payouts, &recon);
        let meta = ReportMeta {
            period: Some("Tháng 9/2025".into()),
            generated_at: "2025-09-30 10:15".into(),
            inputs: vec![super::super::InputFile {
                role: "beneficiaries".into(),
                name: "danh_sach.xlsx".into(),
                sheet: Some("DS".into()),
                bank: None,
                sha256: "ab".repeat(32),
                data_rows: 7,
                accepted_rows: 6,
                rejected_rows: 1,
                control_total: Some(ControlTotal {
                    row: 30,
                    stated: dec(10_000_000),
                    computed: dec(9_000_000),
                }),
                notices: vec!["Không có cột trạng thái".into()],
            }],
            target_pct: Some(dec(90)),
            tolerance: Decimal::ZERO,
            report_sha256: Some("cd".repeat(32)),
        };
        (report, exc, meta)
    }

    type Book = calamine::Xlsx<Cursor<Vec<u8>>>;

    fn open(bytes: Vec<u8>) -> Book {
        match calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(Cursor::new(bytes)) {
            Ok(b) => b,
            Err(e) => panic!("cannot reopen the workbook: {e}"),
        }
    }

    fn sheet(book: &mut Book, name: &str) -> calamine::Range<Data> {
        match book.worksheet_range(name) {
            Ok(r) => r,
            Err(e) => panic!("sheet {name}: {e}"),
        }
    }

    /// Rows as absolute positions (row 0 = spreadsheet row 1), whatever the used range.
    fn cell(range: &calamine::Range<Data>, r: u32, c: u32) -> Data {
        range.get_value((r, c)).cloned().unwrap_or(Data::Empty)
    }

    fn find_row(range: &calamine::Range<Data>, col: u32, text: &str) -> Option<u32> {
        let (start, end) = (range.start()?, range.end()?);
        (start.0..=end.0).find(|&r| cell(range, r, col) == Data::String(text.into()))
    }

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
        let r = find_row(&s, 0, "Số tiền phải chi");
        assert_eq!(r.map(|r| cell(&s, r, 1)), Some(Data::Float(9_000_000.0)));
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
    fn payouts_column_same_in_csv_and_sheet() {
        let (report, exc, meta) = sample();
        let want =
            "FT000006 (Không thành công, 1.500.000 ₫, agribank.xlsx:6, lý do: Sai số tài khoản)";

        let mut csv_bytes = Vec::new();
        assert!(super::super::csv::write_exceptions(&mut csv_bytes, &exc, Lang::Vi).is_ok());
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

    #[test]
    fn followup_has_only_failed_returned_unpaid_and_a_total() {
        let (_, exc, meta) = sample();
        let bytes = match write_followup(&exc, &meta, Lang::Vi) {
            Ok(b) => b,
            Err(e) => panic!("{e}"),
        };
        let mut book = open(bytes);
        assert_eq!(book.sheet_names(), vec![SHEET_FOLLOWUP]);
        let f = sheet(&mut book, SHEET_FOLLOWUP);
        assert_eq!(
            cell(&f, 0, 0),
            Data::String("DANH SÁCH ĐỐI TƯỢNG CẦN CHI TRẢ LẠI".into())
        );
        assert_eq!(
            cell(&f, 1, 0),
            Data::String("Kỳ chi trả: Tháng 9/2025".into())
        );
        assert_eq!(cell(&f, 4, 1), Data::String("Số định danh".into()));

        let expected = [
            ("001190012346", "Chi không thành công", "Sai số tài khoản"),
            ("001090012347", "Bị hoàn trả", "Tài khoản đã đóng"),
            ("001190012348", "Chưa chi trả", ""),
        ];
        for (i, (id, status, reason)) in (5u32..).zip(expected) {
            assert_eq!(cell(&f, i, 0), Data::Float(f64::from(i - 4)));
            assert_eq!(cell(&f, i, 1), Data::String(id.into()));
            assert_eq!(cell(&f, i, 7), Data::Float(1_500_000.0));
            assert_eq!(cell(&f, i, 8), Data::String(status.into()));
            let want = if reason.is_empty() {
                Data::Empty
            } else {
                Data::String(reason.into())
            };
            assert_eq!(cell(&f, i, 9), want);
        }
        assert_eq!(cell(&f, 5, 10), Data::String("11".into()));
        assert_eq!(cell(&f, 8, 0), Data::String("Tổng cộng".into()));
        assert_eq!(cell(&f, 8, 1), Data::Float(3.0));
        assert_eq!(cell(&f, 8, 7), Data::Float(4_500_000.0));
        assert!(find_row(&f, 1, "001090012345").is_none());
        assert!(find_row(&f, 1, "001090012349").is_none());

        let formulas = match book.worksheet_formula(SHEET_FOLLOWUP) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            formulas.get_value((8, 7)).map(String::as_str),
            Some("SUM(H6:H8)")
        );
    }

    #[test]
    fn overlong_text_is_cut_not_fatal() {
        let long = "ắ".repeat(40_000);
        let cut = fit_cell(&long);
        assert_eq!(cut.encode_utf16().count(), MAX_CELL_UTF16);
        assert!(cut.ends_with('…'));
        assert!(matches!(fit_cell("ngắn"), std::borrow::Cow::Borrowed(_)));
    }
}
