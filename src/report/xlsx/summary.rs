//! Sheet "Tổng hợp": the headline figures, outcome and flag counts, coverage by category
//! and by bank, the input files with their digests and control totals.

use rust_decimal::Decimal;
use rust_xlsxwriter::Worksheet;

use super::SHEET_SUMMARY;
use super::cells::{
    RowNum, XResult, fit_cell, label_count_table, put_count, put_decimal, put_header, put_pct,
    put_text, set_widths,
};
use super::figures::{outcome_label, put_figures, slice_headers};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::{Flag, Outcome};
use crate::report::csv::pick;
use crate::report::{Figures, InputFile, Report, ReportMeta};

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

/// "Đạt, vượt 33,16 điểm phần trăm": the verdict and by how much.
fn with_margin(verdict: &str, points: Option<Decimal>, lang: Lang) -> String {
    match points {
        Some(p) => format!(
            "{verdict}, {}",
            crate::domain::money::target_margin(p, lang == Lang::Vi)
        ),
        None => verdict.to_owned(),
    }
}

pub(super) fn summary_sheet(
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
    // A stored run's programme and the unit whose subtree it covers (a file reconciled
    // alone has neither, and its sheet stays as it was).
    let mut r: RowNum = 2;
    let programme = meta
        .programme
        .as_ref()
        .map(|p| format!("{} ({})", p.name, p.code));
    let unit = meta
        .unit
        .as_ref()
        .map(|u| format!("{} ({})", u.full_name, u.code));
    for (label, value) in [
        (pick(lang, "Chế độ", "Programme"), programme),
        (pick(lang, "Đơn vị", "Unit"), unit),
    ] {
        if let Some(value) = value {
            ws_.write_string_with_format(r, 0, label, &fm.subtitle)?;
            ws_.write_string_with_format(r, 1, fit_cell(&value), &fm.subtitle)?;
            r += 1;
        }
    }
    ws_.write_string_with_format(
        r,
        0,
        pick(lang, "Thời điểm lập", "Generated at"),
        &fm.subtitle,
    )?;
    ws_.write_string_with_format(r, 1, fit_cell(&meta.generated_at), &fm.subtitle)?;

    // Headline figures.
    let mut r: RowNum = r + 2;
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
    let row = line(ws_, "Tổng số tiền phải chi", "Total amount due")?;
    put_decimal(ws_, row, 1, report.amount_due, &fm.money)?;
    // Stored runs from before the split have neither line.
    if let Some(d) = report.amount_due_cashless {
        let row = line(
            ws_,
            "Trong đó: phải chi qua tài khoản",
            "Of which due to account holders",
        )?;
        put_decimal(ws_, row, 1, d, &fm.money)?;
    }
    if let Some(d) = report.amount_due_cash {
        let row = line(
            ws_,
            "Trong đó: phải chi bằng tiền mặt (bưu điện)",
            "Of which due in cash (post office)",
        )?;
        put_decimal(ws_, row, 1, d, &fm.money)?;
    }
    let row = line(
        ws_,
        "Số tiền đã chi qua tài khoản",
        "Amount paid to accounts",
    )?;
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
            let text = with_margin(
                yes_no(met, lang),
                totals.account_coverage_vs_target_points,
                lang,
            );
            ws_.write_string_with_format(row, 1, text, &fm.label)?;
        }
        if let Some(met) = totals.cashless_rate_meets_target {
            let row = line(
                ws_,
                "Tỷ lệ chi không dùng tiền mặt so với chỉ tiêu",
                "Cashless rate vs target",
            )?;
            let text = with_margin(
                yes_no(met, lang),
                totals.cashless_rate_vs_target_points,
                lang,
            );
            ws_.write_string_with_format(row, 1, text, &fm.label)?;
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
    let by_category = report.by_category.iter().map(|s| {
        let name =
            s.category
                .as_deref()
                .unwrap_or(pick(lang, "(không ghi đối tượng)", "(no category)"));
        (name, &s.figures)
    });
    r = coverage_rows(ws_, r, by_category, &totals, lang, fm)?;

    // By bank.
    r += 1;
    ws_.write_string_with_format(r, 0, pick(lang, "Theo ngân hàng", "By bank"), &fm.section)?;
    r += 1;
    headers[0] = pick(lang, "Ngân hàng", "Bank");
    put_header(ws_, r, 0, &headers, fm)?;
    r += 1;
    let by_bank = report.by_bank.iter().map(|s| {
        let name = s.bank.map(|b| b.short_name()).unwrap_or(pick(
            lang,
            "(không có ngân hàng: chi tiền mặt)",
            "(no bank: cash)",
        ));
        (name, &s.figures)
    });
    r = coverage_rows(ws_, r, by_bank, &totals, lang, fm)?;

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

/// The rows of a coverage table (a name, then its figures), then its totals row;
/// returns the next free row.
fn coverage_rows<'a>(
    ws: &mut Worksheet,
    mut r: RowNum,
    rows: impl IntoIterator<Item = (&'a str, &'a Figures)>,
    totals: &Figures,
    lang: Lang,
    fm: &Formats,
) -> XResult<RowNum> {
    for (name, figures) in rows {
        put_text(ws, r, 0, name, &fm.label)?;
        put_figures(ws, r, 1, figures, fm, false)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(ws, r, 1, totals, fm, true)?;
    Ok(r + 1)
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
