//! The follow-up (re-payment) list: its own one-sheet workbook, printed and signed at the
//! commune office.

use rust_decimal::Decimal;
use rust_xlsxwriter::utility::row_col_to_cell;
use rust_xlsxwriter::{FormatAlign, Formula, Workbook, Worksheet};

use super::cells::{
    ColNum, RowNum, fit_cell, last_col, put_count, put_decimal, put_header, put_text, set_widths,
};
use super::styles::Formats;
use super::{SHEET_FOLLOWUP, XlsxError};
use crate::domain::Lang;
use crate::recon::{ExceptionKind, ExceptionRow, Outcome};
use crate::report::ReportMeta;
use crate::report::csv::{joined_rows, kind_label, pick};

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
    let mut period_line = format!("{}: {period}", pick(lang, "Kỳ chi trả", "Period"));
    // A stored run's programme and unit (a file reconciled alone has neither).
    if let Some(p) = &meta.programme {
        period_line.push_str(&format!(" · {} ({})", p.name, p.code));
    }
    if let Some(u) = &meta.unit {
        period_line.push_str(&format!(
            " · {}: {}",
            pick(lang, "Đơn vị", "Unit"),
            u.full_name
        ));
    }
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
    use calamine::{Data, Reader};

    use super::super::testkit::{cell, find_row, open, sample, sheet};
    use super::*;

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
}
