//! The "bảng kê chi trả": the same payment orders as the pain.001 file, as the spreadsheet
//! a bank that takes spreadsheets executes and the office signs: one row per transfer with
//! its end-to-end reference, the total and the count, the signatures under them.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Workbook, Worksheet};

use super::XlsxError;
use super::styles::Formats;
use crate::domain::names;
use crate::domain::payment_orders::OrderLine;
use crate::report::pain001::OrderHeader;

const HEADERS: [&str; 9] = [
    "STT",
    "Mã tham chiếu (EndToEndId)",
    "Họ và tên",
    "Họ và tên (không dấu)",
    "Số tài khoản",
    "Ngân hàng",
    "Mã ngân hàng (BIN)",
    "Số tiền (đồng)",
    "Nội dung",
];
const WIDTHS: [f64; 9] = [6.0, 28.0, 26.0, 26.0, 20.0, 14.0, 12.0, 16.0, 62.0];
const HEADER_ROW: u32 = 7;
/// Excel's rows, less the title block, header, total and signatures.
const MAX_ORDERS: usize = 1_048_576 - 16;

/// The workbook's bytes. `period_words`: "tháng 10 năm 2026".
pub fn write(
    header: &OrderHeader,
    orders: &[OrderLine],
    period_words: &str,
) -> Result<Vec<u8>, XlsxError> {
    if orders.len() > MAX_ORDERS {
        return Err(XlsxError::Xlsx(
            rust_xlsxwriter::XlsxError::RowColumnLimitError,
        ));
    }
    let fm = Formats::new();
    let mut wb = Workbook::new();
    let ws: &mut Worksheet = wb.add_worksheet();
    ws.set_name("Bảng kê")?;
    for (c, w) in (0..).zip(WIDTHS) {
        ws.set_column_width(c, w)?;
    }
    let bank = header.bank.bank();
    ws.merge_range(0, 0, 0, 3, &header.debtor_name, &fm.agency)?;
    ws.merge_range(0, 5, 0, 8, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &fm.motto)?;
    ws.merge_range(1, 5, 1, 8, "Độc lập - Tự do - Hạnh phúc", &fm.motto_sub)?;
    ws.merge_range(
        3,
        0,
        3,
        8,
        "BẢNG KÊ CHI TRẢ TRỢ CẤP QUA TÀI KHOẢN",
        &fm.doc_title,
    )?;
    let first = period_words
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect::<String>());
    let period = match first {
        Some(f) => format!("{f}{}", period_words.chars().skip(1).collect::<String>()),
        None => String::new(),
    };
    ws.merge_range(4, 0, 4, 8, &period, &fm.doc_line)?;
    let bin = bank.bin.as_deref().unwrap_or("—");
    ws.merge_range(
        5,
        0,
        5,
        8,
        &format!(
            "Ngân hàng: {} (BIN {bin}) — Tài khoản chi: {} — Mã lệnh (MsgId): {} — Ngày thực hiện: {}",
            bank.name_vi,
            header.debtor_account,
            header.message_id,
            header.execution_date.format("%d/%m/%Y")
        ),
        &fm.doc_line,
    )?;
    for (c, h) in (0..).zip(HEADERS) {
        ws.write_string_with_format(HEADER_ROW, c, h, &fm.header)?;
    }
    let mut row = HEADER_ROW;
    for (n, o) in (1u32..).zip(orders) {
        row += 1;
        ws.write_number_with_format(row, 0, f64::from(n), &fm.row_no)?;
        ws.write_string_with_format(row, 1, &o.end_to_end, &fm.text)?;
        ws.write_string_with_format(row, 2, &o.name, &fm.text)?;
        ws.write_string_with_format(row, 3, names::ascii(&o.name), &fm.text)?;
        ws.write_string_with_format(row, 4, &o.account, &fm.text)?;
        ws.write_string_with_format(row, 5, &bank.short_name, &fm.text)?;
        ws.write_string_with_format(row, 6, bin, &fm.text)?;
        // Whole đồng, far below 2^53: exact as a spreadsheet number.
        ws.write_number_with_format(row, 7, o.amount.to_f64().unwrap_or(0.0), &fm.money)?;
        let remittance = crate::report::pain001::remittance(&header.remittance, &o.end_to_end);
        ws.write_string_with_format(row, 8, remittance, &fm.text)?;
    }
    row += 1;
    let total: Decimal = orders.iter().map(|o| o.amount).sum();
    ws.merge_range(
        row,
        0,
        row,
        6,
        &format!("Tổng cộng: {} lệnh", orders.len()),
        &fm.total_label,
    )?;
    ws.write_number_with_format(row, 7, total.to_f64().unwrap_or(0.0), &fm.total_money)?;
    ws.write_blank(row, 8, &fm.total_label)?;
    row += 2;
    for (c, (role, hint)) in [
        (1u16, ("Người lập biểu", "(Ký, ghi rõ họ tên)")),
        (4, ("Kế toán trưởng", "(Ký, ghi rõ họ tên)")),
        (7, ("Thủ trưởng đơn vị", "(Ký, đóng dấu)")),
    ] {
        ws.write_string_with_format(row, c, role, &fm.sign_role)?;
        ws.write_string_with_format(row + 1, c, hint, &fm.sign_hint)?;
    }
    ws.set_repeat_rows(HEADER_ROW, HEADER_ROW)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    Ok(wb.save_to_buffer()?)
}
