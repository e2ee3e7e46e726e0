//! Sheet "Ngoại lệ": every exception row, the same columns as the CSV, amounts as numbers.

use rust_xlsxwriter::Worksheet;

use super::SHEET_EXCEPTIONS;
use super::cells::{RowNum, XResult, last_col, put_decimal, put_header, put_text, set_widths};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::ExceptionRow;
use crate::report::csv::{
    COL_ACCOUNT, COL_AMOUNT_DUE, COL_AMOUNT_PAID, COL_ID, exception_headers, exception_texts,
};

pub(super) fn exceptions_sheet(
    exceptions: &[ExceptionRow],
    lang: Lang,
    fm: &Formats,
) -> XResult<Worksheet> {
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

#[cfg(test)]
mod tests {
    use calamine::Data;

    use super::super::testkit::{cell, find_row, open, sample, sheet};
    use super::super::write_report;
    use super::*;

    #[test]
    fn payouts_column_same_in_csv_and_sheet() {
        let (report, exc, meta) = sample();
        let want =
            "FT000006 (Không thành công, 1.500.000 ₫, agribank.xlsx:6, lý do: Sai số tài khoản)";

        let mut csv_bytes = Vec::new();
        assert!(crate::report::csv::write_exceptions(&mut csv_bytes, &exc, Lang::Vi).is_ok());
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
}
