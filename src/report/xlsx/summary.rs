//! Sheet "Tổng hợp", an office document: the agency block and national motto, the
//! headline figures, outcomes with their amounts, flag counts, coverage by category and by
//! bank, the input files with their control totals (their digests are on "Mã băm"), and
//! the signature block.

use rust_decimal::Decimal;
use rust_xlsxwriter::Worksheet;

use super::SHEET_SUMMARY;
use super::cells::{
    RowNum, XResult, fit_cell, fit_row, label_count_table, put_count, put_decimal, put_header,
    put_pct, put_text, put_wrapped_header, set_widths,
};
use super::figures::{outcome_label, put_figures, slice_headers};
use super::office::{HeaderColumns, OFFICE_HEADER_ROWS, office_header, write_signature};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::previous::Change;
use crate::recon::{Flag, Outcome};
use crate::report::csv::pick;
use crate::report::{Figures, InputFile, Report, ReportMeta};

fn flag_label(f: Flag, lang: Lang) -> &'static str {
    pick(lang, f.label_vi(), f.label_en())
}

/// The summary's columns: the labels, then nine figure columns wide enough for a
/// province's amounts ("54.300.000.000 ₫"); about 170 characters, so A4 landscape one
/// page wide prints at about 9 pt (LibreOffice, Carlito).
const WIDTHS: [f64; 10] = [34.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0];
const LAST_COL: u16 = 9;

pub(super) fn summary_sheet(
    report: &Report,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult<Worksheet> {
    let mut ws = Worksheet::new();
    ws.set_name(SHEET_SUMMARY)?;
    set_widths(&mut ws, &WIDTHS)?;
    let ws_ = &mut ws;
    office_header(
        ws_,
        pick(
            lang,
            "BÁO CÁO ĐỐI SOÁT CHI TRẢ KHÔNG DÙNG TIỀN MẶT",
            "CASHLESS PAYMENT RECONCILIATION REPORT",
        ),
        meta,
        lang,
        fm,
        &HeaderColumns {
            agency: (0, 1),
            motto: (5, LAST_COL),
            last: LAST_COL,
        },
    )?;

    // Headline figures.
    let mut r: RowNum = OFFICE_HEADER_ROWS;
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
    let totals = report.totals(meta.targets());
    let mut line = |ws: &mut Worksheet, vi: &'static str, en: &'static str| -> XResult<RowNum> {
        let row = r;
        let label = pick(lang, vi, en);
        ws.write_string_with_format(row, 0, label, &fm.wrap)?;
        fit_row(ws, row, &[(label, WIDTHS[0])])?;
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
    // Each rate's own target and where the rate stands against it.
    let rates = [
        (
            totals.account_coverage_target_pct,
            totals.account_coverage_pct,
            ("Chỉ tiêu tỷ lệ có tài khoản", "Account coverage target"),
            (
                "Tỷ lệ có tài khoản so với chỉ tiêu",
                "Account coverage vs target",
            ),
        ),
        (
            totals.cashless_rate_target_pct,
            totals.cashless_rate_pct,
            (
                "Chỉ tiêu tỷ lệ chi không dùng tiền mặt",
                "Cashless rate target",
            ),
            (
                "Tỷ lệ chi không dùng tiền mặt so với chỉ tiêu",
                "Cashless rate vs target",
            ),
        ),
    ];
    for (target, rate, (target_vi, target_en), (vs_vi, vs_en)) in rates {
        let Some(target) = target else { continue };
        let row = line(ws_, target_vi, target_en)?;
        put_pct(ws_, row, 1, Some(target), &fm.pct)?;
        let row = line(ws_, vs_vi, vs_en)?;
        let text = crate::domain::money::target_verdict(rate, target, lang == Lang::Vi);
        ws_.write_string_with_format(row, 1, text, &fm.label)?;
    }

    // Outcomes with their amounts, then flags.
    r = outcome_table(ws_, r + 1, report, lang, fm)?;
    r = label_count_table(
        ws_,
        r + 1,
        [
            pick(lang, "Cảnh báo", "Flag"),
            pick(lang, "Số lượng", "Count"),
        ],
        // The flags of resolved exceptions only where some are (workbooks of runs without
        // any read as before, byte for byte).
        Flag::ALL
            .into_iter()
            .filter(|f| {
                !matches!(f, Flag::LinkedManually | Flag::PaidInCash) || report.flags.get(*f) > 0
            })
            .map(|f| (flag_label(f, lang), report.flags.get(f))),
        WIDTHS[0],
        fm,
    )?;
    let label = pick(
        lang,
        "Tổng dòng không khớp số liệu tổng cộng",
        "Totals rows that disagree with the sum of the rows",
    );
    ws_.write_string_with_format(r, 0, label, &fm.wrap)?;
    fit_row(ws_, r, &[(label, WIDTHS[0])])?;
    put_count(ws_, r, 1, report.flags.control_total_mismatch, &fm.count)?;
    r += 1;

    // Compared with the previous period (runs the service makes).
    if let Some(c) = &report.comparison {
        r += 1;
        let title = format!(
            "{}: {}",
            pick(lang, "So với kỳ trước", "Compared with the previous period"),
            c.previous_in_words(lang)
        );
        ws_.write_string_with_format(r, 0, &title, &fm.section)?;
        r += 1;
        r = label_count_table(
            ws_,
            r,
            [
                pick(lang, "Thay đổi", "Change"),
                pick(lang, "Số người", "People"),
            ],
            Change::ALL.map(|ch| (pick(lang, ch.label_vi(), ch.label_en()), c.get(ch))),
            WIDTHS[0],
            fm,
        )?;
    }

    // Arrears carried over from earlier periods, apart from the month's own amounts.
    if let Some(a) = &report.arrears {
        r += 1;
        let title = pick(
            lang,
            "Truy lĩnh chuyển từ kỳ trước (ngoài số của tháng)",
            "Arrears carried over (apart from the month's own amounts)",
        );
        ws_.write_string_with_format(r, 0, title, &fm.section)?;
        r += 1;
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
        ws_.write_string_with_format(
            r,
            0,
            pick(lang, "Số người được truy lĩnh", "People owed arrears"),
            &fm.wrap,
        )?;
        put_count(ws_, r, 1, a.beneficiaries, &fm.count)?;
        r += 1;
        for (vi, en, v) in [
            ("Số tiền truy lĩnh phải chi", "Arrears due", a.amount_due),
            ("Đã chi truy lĩnh", "Arrears paid", a.amount_paid),
            (
                "Truy lĩnh còn nợ",
                "Arrears outstanding",
                a.amount_outstanding,
            ),
        ] {
            ws_.write_string_with_format(r, 0, pick(lang, vi, en), &fm.wrap)?;
            put_decimal(ws_, r, 1, v, &fm.money)?;
            r += 1;
        }
    }

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
    put_wrapped_header(ws_, r, &headers, &WIDTHS, fm)?;
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
    put_wrapped_header(ws_, r, &headers, &WIDTHS, fm)?;
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
        ],
    };
    put_wrapped_header(ws_, r, &input_headers, &WIDTHS, fm)?;
    r += 1;
    for input in &meta.inputs {
        put_input(ws_, r, input, lang, fm)?;
        r += 1;
    }
    // What reading each file noticed, one line each, under the table (a column of its
    // own would widen the page); the digests are on their own sheet.
    let notices: Vec<(&str, &str)> = meta
        .inputs
        .iter()
        .flat_map(|i| i.notices.iter().map(|n| (i.name.as_str(), n.as_str())))
        .collect();
    if !notices.is_empty() {
        r += 1;
        ws_.write_string_with_format(
            r,
            0,
            pick(
                lang,
                "Ghi chú khi đọc tệp",
                "Notices when reading the files",
            ),
            &fm.section,
        )?;
        r += 1;
        for (file, notice) in notices {
            put_text(ws_, r, 0, file, &fm.wrap)?;
            ws_.merge_range(r, 1, r, LAST_COL, &fit_cell(notice), &fm.wrap)?;
            let across: f64 = WIDTHS[1..].iter().sum();
            fit_row(ws_, r, &[(file, WIDTHS[0]), (notice, across)])?;
            r += 1;
        }
    }

    r += 1;
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
    write_signature(ws_, r + 2, meta, lang, fm, [0, 4, 8])?;
    Ok(ws)
}

/// Each outcome's people, what they were due and were paid, and the difference; then the
/// top-ups to pay (underpaid) and the overpayments to recover (overpaid, paid twice).
/// Reports without the amounts (live figures, older runs) show the counts alone.
fn outcome_table(
    ws: &mut Worksheet,
    mut r: RowNum,
    report: &Report,
    lang: Lang,
    fm: &Formats,
) -> XResult<RowNum> {
    let headers = match lang {
        Lang::Vi => [
            "Kết quả đối soát",
            "Số đối tượng",
            "Số tiền phải chi",
            "Số tiền đã chi",
            "Chênh lệch (đã chi − phải chi)",
        ],
        Lang::En => [
            "Outcome",
            "Beneficiaries",
            "Amount due",
            "Amount paid",
            "Difference (paid − due)",
        ],
    };
    put_wrapped_header(ws, r, &headers, &WIDTHS, fm)?;
    r += 1;
    let amounts = report.outcome_amounts.as_ref();
    for o in Outcome::ALL {
        let label = outcome_label(o, lang);
        ws.write_string_with_format(r, 0, label, &fm.wrap)?;
        fit_row(ws, r, &[(label, WIDTHS[0])])?;
        put_count(ws, r, 1, report.outcomes.get(o), &fm.count)?;
        match amounts.map(|a| a.get(o)) {
            Some(a) => {
                put_decimal(ws, r, 2, a.due, &fm.money)?;
                put_decimal(ws, r, 3, a.paid, &fm.money)?;
                put_decimal(ws, r, 4, a.difference(), &fm.money)?;
            }
            None => {
                for c in 2..=4 {
                    ws.write_blank(r, c, &fm.money)?;
                }
            }
        }
        r += 1;
    }
    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    let people: u64 = Outcome::ALL.iter().map(|o| report.outcomes.get(*o)).sum();
    put_count(ws, r, 1, people, &fm.total_count)?;
    match amounts {
        Some(a) => {
            let (due, paid) = Outcome::ALL
                .iter()
                .map(|o| a.get(*o))
                .fold((Decimal::ZERO, Decimal::ZERO), |(d, p), x| {
                    (d + x.due, p + x.paid)
                });
            put_decimal(ws, r, 2, due, &fm.total_money)?;
            put_decimal(ws, r, 3, paid, &fm.total_money)?;
            put_decimal(ws, r, 4, paid - due, &fm.total_money)?;
        }
        None => {
            for c in 2..=4 {
                ws.write_blank(r, c, &fm.total_money)?;
            }
        }
    }
    r += 1;
    if let Some(a) = amounts {
        let due_again: Decimal = crate::report::xlsx::FOLLOWUP_OUTCOMES
            .iter()
            .map(|o| a.get(*o).due - a.get(*o).paid)
            .sum();
        for (vi, en, amount) in [
            (
                "Số tiền cần chi bổ sung (chi thiếu)",
                "Top-ups to pay (underpaid)",
                a.top_ups(),
            ),
            (
                "Số tiền cần thu hồi (chi thừa, chi trùng)",
                "Overpayments to recover (overpaid, paid twice)",
                a.to_recover(),
            ),
            (
                "Số tiền cần chi lại (không thành công, bị hoàn trả, chưa chi)",
                "To pay again (failed, returned, unpaid)",
                due_again,
            ),
        ] {
            let label = pick(lang, vi, en);
            ws.write_string_with_format(r, 0, label, &fm.wrap)?;
            fit_row(ws, r, &[(label, WIDTHS[0])])?;
            put_decimal(ws, r, 1, amount, &fm.money)?;
            r += 1;
        }
    }
    Ok(r)
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
        put_text(ws, r, 0, name, &fm.wrap)?;
        fit_row(ws, r, &[(name, WIDTHS[0])])?;
        put_figures(ws, r, 1, figures, fm, false)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, pick(lang, "Tổng cộng", "Total"), &fm.total_label)?;
    put_figures(ws, r, 1, totals, fm, true)?;
    Ok(r + 1)
}

/// An input file's role in words.
pub(super) fn role_label(role: &str, lang: Lang) -> &str {
    match role {
        "beneficiaries" => pick(lang, "Danh sách đối tượng", "Beneficiary list"),
        "payouts" => pick(lang, "Kết quả chi của ngân hàng", "Bank payout results"),
        "callbacks" => pick(
            lang,
            "Kết quả chi ngân hàng gửi trực tiếp (callback)",
            "Bank callbacks",
        ),
        "adjustments" => pick(
            lang,
            "Điều chỉnh khi xử lý ngoại lệ",
            "Adjustments (resolved exceptions)",
        ),
        "arrears" => pick(lang, "Truy lĩnh chuyển sang", "Arrears carried over"),
        other => other,
    }
}

fn put_input(
    ws: &mut Worksheet,
    r: RowNum,
    input: &InputFile,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    let role = role_label(&input.role, lang);
    fit_row(ws, r, &[(&input.name, WIDTHS[0]), (role, WIDTHS[1])])?;
    put_text(ws, r, 0, &input.name, &fm.wrap)?;
    put_text(ws, r, 1, role, &fm.wrap)?;
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
    Ok(())
}
