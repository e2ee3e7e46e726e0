//! The follow-up (re-payment) list: its own workbook (one sheet, continued on further
//! sheets past Excel's row limit), printed and signed at the commune office: an office
//! document (agency block, national motto, title, period in words) with the total, the
//! place and date and the signature block under the rows.

use std::borrow::{Borrow, Cow};
use std::io::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
#[cfg(test)]
use rust_xlsxwriter::Formula;
#[cfg(test)]
use rust_xlsxwriter::utility::row_col_to_cell;
use rust_xlsxwriter::{Format, Workbook, Worksheet};

use super::cells::{
    ColNum, RowNum, XResult, last_col, put_wrapped_header, set_widths, wrapped_height,
};
#[cfg(test)]
use super::cells::{put_count, put_decimal, put_text};
use super::office::{
    HeaderColumns, OFFICE_HEADER_ROWS, SIGNATURE_ROWS, SignCell, office_header, print_setup,
    signature_cells, write_signature,
};
use super::stream::{
    Cell, SheetRows, column_name, open_row, put_cell, sheet_sizes, write_streamed,
};
use super::styles::Formats;
use super::{SHEET_FOLLOWUP, XlsxError};
use crate::domain::Lang;
#[cfg(test)]
use crate::recon::ExceptionKind;
use crate::recon::{ExceptionRow, Outcome};
use crate::report::ReportMeta;
use crate::report::csv::{joined_rows, kind_label, pick};

/// Who is on the follow-up list: the people whose payment failed, came back or never came.
pub const FOLLOWUP_OUTCOMES: [Outcome; 3] = [Outcome::Failed, Outcome::Returned, Outcome::Unpaid];

#[cfg(test)]
pub(super) fn needs_repayment(kind: ExceptionKind) -> bool {
    matches!(kind, ExceptionKind::Beneficiary(o) if FOLLOWUP_OUTCOMES.contains(&o))
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

fn headers(lang: Lang) -> [&'static str; 11] {
    match lang {
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
    }
}

const COL_AMOUNT: ColNum = 7;
/// The header's row (0-based), under the office header.
const HEADER_ROW: RowNum = OFFICE_HEADER_ROWS;
/// Rows under the data: the total, a blank row, the signature block.
const TRAILER_ROWS: RowNum = 2 + SIGNATURE_ROWS;
/// Where the signature block's three columns are centred: under the name, the account
/// and the reason.
const SIGN_COLUMNS: [ColNum; 3] = [2, 6, 9];
/// Data rows per sheet: Excel's 1,048,576 rows less the office header, the table's header
/// and what follows the rows. Past it the list continues on "Danh sách chi lại (2)", …
pub const FOLLOWUP_MAX_ROWS: u32 = 1_048_576 - HEADER_ROW - 1 - TRAILER_ROWS;

/// The name of the `n`th follow-up sheet (1-based).
fn sheet_name(n: usize) -> String {
    if n <= 1 {
        SHEET_FOLLOWUP.to_owned()
    } else {
        format!("{SHEET_FOLLOWUP} ({n})")
    }
}

/// A follow-up cell: the running number, text, or an amount (None: blank).
enum FollowupCell<'a> {
    No(u64),
    Text(Cow<'a, str>),
    Amount(Option<Decimal>),
}

/// The cells of the `no`-th person to pay again, in column order.
fn followup_cells(row: &ExceptionRow, no: u64, lang: Lang) -> [FollowupCell<'_>; 11] {
    let text = |s: &'_ str| FollowupCell::Text(Cow::Owned(s.to_owned()));
    [
        FollowupCell::No(no),
        FollowupCell::Text(Cow::Borrowed(&row.population_id)),
        FollowupCell::Text(Cow::Borrowed(&row.name)),
        FollowupCell::Text(Cow::Borrowed(row.commune.as_deref().unwrap_or(""))),
        FollowupCell::Text(Cow::Borrowed(row.category.as_deref().unwrap_or(""))),
        text(row.bank.map(|b| b.short_name()).unwrap_or("")),
        FollowupCell::Text(Cow::Borrowed(row.account.as_deref().unwrap_or(""))),
        FollowupCell::Amount(row.amount_due),
        text(kind_label(row.kind, lang)),
        FollowupCell::Text(Cow::Owned(reasons(row))),
        FollowupCell::Text(Cow::Owned(joined_rows(&row.list_rows))),
    ]
}

/// About 170 characters, the long texts wrapped: one A4 landscape page wide at ~9 pt.
/// The first column holds the running number, and "Tổng cộng" on the total row.
const WIDTHS: [f64; 11] = [
    9.0, 15.0, 22.0, 16.0, 16.0, 10.0, 16.0, 15.0, 16.0, 25.0, 9.0,
];

/// The height of a row of `cells` when a wrapped one takes more than a line.
fn row_height(cells: &[FollowupCell<'_>]) -> Option<f64> {
    wrapped_height(cells.iter().enumerate().filter_map(|(c, cell)| match cell {
        FollowupCell::Text(t) if matches!(c, 2 | 3 | 4 | 8 | 9) => Some((t.as_ref(), WIDTHS[c])),
        _ => None,
    }))
}

/// Each column's format: IDs, accounts and list rows as text, long texts wrapped.
fn column_format(col: ColNum, fm: &Formats) -> &Format {
    match col {
        0 => &fm.row_no,
        1 | 6 | 10 => &fm.text,
        7 => &fm.money,
        2 | 3 | 4 | 8 | 9 => &fm.wrap,
        _ => &fm.label,
    }
}

/// The total row's format by column.
fn total_format(col: ColNum, fm: &Formats) -> &Format {
    match col {
        1 => &fm.total_count,
        COL_AMOUNT => &fm.total_money,
        _ => &fm.total_label,
    }
}

/// A sheet's title block and header.
fn start_sheet(
    ws: &mut Worksheet,
    n: usize,
    meta: &ReportMeta,
    lang: Lang,
    fm: &Formats,
) -> XResult {
    ws.set_name(sheet_name(n))?;
    if let Some(footer) = super::office::digest_footer(meta, lang) {
        ws.set_footer(&footer);
    }
    let headers = headers(lang);
    let last = last_col(headers.len());
    set_widths(ws, &WIDTHS)?;
    office_header(
        ws,
        pick(
            lang,
            "DANH SÁCH ĐỐI TƯỢNG CẦN CHI TRẢ LẠI",
            "BENEFICIARIES TO BE PAID AGAIN",
        ),
        meta,
        lang,
        fm,
        &HeaderColumns {
            agency: (0, 3),
            motto: (7, last),
            last,
        },
    )?;
    put_wrapped_header(ws, HEADER_ROW, &headers, &WIDTHS, fm)
}

/// A sheet's settings once its `rows` data rows are known: frozen header, filter, and
/// the print setup (A4 landscape, one page wide, header repeated).
fn end_sheet(ws: &mut Worksheet, rows: u32) -> XResult {
    let last = last_col(headers(Lang::Vi).len());
    ws.set_freeze_panes(HEADER_ROW + 1, 0)?;
    ws.autofilter(HEADER_ROW, 0, HEADER_ROW + rows, last)?;
    print_setup(ws, true, Some(HEADER_ROW))
}

/// Follow-up list for re-payment, held in memory (the reference the streamed list is
/// tested against): only beneficiaries whose exception kind is failed, returned or
/// unpaid, one sheet "Danh sách chi lại", with a title block and a "Tổng cộng" row
/// (count, and a =SUM of the amounts with its computed value cached so viewers that do
/// not recalculate still show it).
#[cfg(test)]
pub(super) fn write_followup(
    exceptions: &[ExceptionRow],
    meta: &ReportMeta,
    lang: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let fm = Formats::new();
    let mut ws = Worksheet::new();
    start_sheet(&mut ws, 1, meta, lang, &fm)?;
    let mut r = HEADER_ROW + 1;
    let mut count: u64 = 0;
    let mut sum = Decimal::ZERO;
    for row in exceptions.iter().filter(|e| needs_repayment(e.kind)) {
        count += 1;
        let cells = followup_cells(row, count, lang);
        if let Some(h) = row_height(&cells) {
            ws.set_row_height(r, h)?;
        }
        for (c, cell) in (0..).zip(cells) {
            let f = column_format(c, &fm);
            match cell {
                FollowupCell::No(n) => put_count(&mut ws, r, c, n, f)?,
                FollowupCell::Text(t) => put_text(&mut ws, r, c, &t, f)?,
                FollowupCell::Amount(Some(d)) => {
                    sum += d;
                    put_decimal(&mut ws, r, c, d, f)?;
                }
                FollowupCell::Amount(None) => {
                    ws.write_blank(r, c, f)?;
                }
            }
        }
        r += 1;
    }
    let first_data = HEADER_ROW + 1;
    let last_data = r.saturating_sub(1);
    let last = last_col(headers(lang).len());
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
    write_signature(&mut ws, r + 2, meta, lang, &fm, SIGN_COLUMNS)?;
    end_sheet(&mut ws, u32::try_from(count).unwrap_or(u32::MAX))?;
    let mut wb = Workbook::new();
    wb.set_properties(&followup_properties(meta, lang));
    wb.push_worksheet(ws);
    Ok(wb.save_to_buffer()?)
}

fn followup_properties(meta: &ReportMeta, lang: Lang) -> rust_xlsxwriter::DocProperties {
    super::properties(meta, pick(lang, "Danh sách cần chi lại", "Follow-up list"))
}

/// The follow-up list written to `out` as it is made, from rows that are all failed,
/// returned or unpaid (`count` of them, exactly), `rows_per_sheet` a sheet (at most
/// `FOLLOWUP_MAX_ROWS`), each sheet with its title block, header and total; the running
/// number goes on across sheets.
pub fn write_followup_to<W, I>(
    out: W,
    rows: I,
    count: usize,
    meta: &ReportMeta,
    lang: Lang,
    rows_per_sheet: u32,
) -> Result<W, XlsxError>
where
    W: std::io::Write,
    I: IntoIterator,
    I::Item: Borrow<ExceptionRow>,
{
    let sheet_rows = sheet_sizes(count, rows_per_sheet.min(FOLLOWUP_MAX_ROWS));
    let fm = Formats::new();
    let mut wb = Workbook::new();
    wb.set_properties(&followup_properties(meta, lang));
    let columns = headers(lang).len();
    for (n, here) in (1..).zip(&sheet_rows) {
        let mut ws = Worksheet::new();
        start_sheet(&mut ws, n, meta, lang, &fm)?;
        // One row of blanks in each column's format, then one in the total's (in this
        // order: formats are numbered as first written, as in `write_followup`).
        for c in (0..).take(columns) {
            ws.write_blank(HEADER_ROW + 1, c, column_format(c, &fm))?;
        }
        for c in (0..).take(columns) {
            ws.write_blank(HEADER_ROW + 2, c, total_format(c, &fm))?;
        }
        // The signature block as it will stand under the rows: its styles for `after`.
        write_signature(&mut ws, HEADER_ROW + 4, meta, lang, &fm, SIGN_COLUMNS)?;
        end_sheet(&mut ws, *here)?;
        wb.push_worksheet(ws);
    }
    let template = wb.save_to_buffer()?;
    let rows = FollowupSheetRows {
        rows: rows.into_iter(),
        signature: signature_cells(meta, lang, SIGN_COLUMNS),
        lang,
        no: 0,
        count: 0,
        sum: Decimal::ZERO,
    };
    write_streamed(out, template, 1, &sheet_rows, rows)
}

struct FollowupSheetRows<I> {
    rows: I,
    signature: Vec<SignCell>,
    lang: Lang,
    /// The running number, across sheets.
    no: u64,
    /// This sheet's people and amount.
    count: u64,
    sum: Decimal,
}

impl<I> SheetRows for FollowupSheetRows<I>
where
    I: Iterator,
    I::Item: Borrow<ExceptionRow>,
{
    const DATA_ROW: u32 = HEADER_ROW + 2;
    const AFTER_ROWS: u32 = TRAILER_ROWS;

    fn row(&mut self, out: &mut Vec<u8>, r: u32, styles: &[Option<u32>]) -> bool {
        let Some(row) = self.rows.next() else {
            return false;
        };
        self.no += 1;
        self.count += 1;
        let cells = followup_cells(row.borrow(), self.no, self.lang);
        open_row(out, r, row_height(&cells));
        for (col, cell) in cells.into_iter().enumerate() {
            let style = styles.get(col).copied().flatten();
            match cell {
                FollowupCell::No(n) => put_cell(out, r, col, style, Cell::Number(n as f64)),
                FollowupCell::Text(t) => put_cell(out, r, col, style, Cell::Text(&t)),
                FollowupCell::Amount(Some(d)) => {
                    self.sum += d;
                    put_cell(out, r, col, style, Cell::Decimal(d));
                }
                FollowupCell::Amount(None) => put_cell(out, r, col, style, Cell::Text("")),
            }
        }
        out.extend_from_slice(b"</row>");
        true
    }

    /// The sheet's total (its people, and a SUM of its amounts with the value cached),
    /// then the signature block.
    fn after(
        &mut self,
        out: &mut Vec<u8>,
        r: u32,
        first: u32,
        last: u32,
        styles: &[Vec<Option<u32>>],
    ) {
        let style_of = |k: u32, c: usize| {
            styles
                .get(k as usize)
                .and_then(|row| row.get(c))
                .copied()
                .flatten()
        };
        let style = |c: usize| style_of(0, c);
        let amount = usize::from(COL_AMOUNT);
        let _ = write!(out, "<row r=\"{r}\">");
        let label = pick(self.lang, "Tổng cộng", "Total");
        put_cell(out, r, 0, style(0), Cell::Text(label));
        put_cell(out, r, 1, style(1), Cell::Number(self.count as f64));
        for c in 2..headers(self.lang).len() {
            if c != amount {
                put_cell(out, r, c, style(c), Cell::Text(""));
                continue;
            }
            if last < first {
                put_cell(out, r, c, style(c), Cell::Decimal(Decimal::ZERO));
            } else {
                let column = column_name(c);
                let formula = format!("SUM({column}{first}:{column}{last})");
                let total = self.sum.normalize().to_f64().unwrap_or(0.0);
                put_cell(out, r, c, style(c), Cell::Formula(&formula, total));
            }
        }
        out.extend_from_slice(b"</row>");
        (self.count, self.sum) = (0, Decimal::ZERO);
        // The block's rows in order, each opened once (cells come sorted by row).
        let mut open: Option<u32> = None;
        for c in &self.signature {
            let k = 2 + c.row;
            if open != Some(k) {
                if open.is_some() {
                    out.extend_from_slice(b"</row>");
                }
                let _ = write!(out, "<row r=\"{}\">", r + k);
                open = Some(k);
            }
            let col = usize::from(c.col);
            put_cell(out, r + k, col, style_of(k, col), Cell::Text(&c.text));
        }
        if open.is_some() {
            out.extend_from_slice(b"</row>");
        }
    }
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
            cell(&f, 0, 7),
            Data::String("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into())
        );
        assert_eq!(
            cell(&f, 1, 7),
            Data::String("Độc lập - Tự do - Hạnh phúc".into())
        );
        assert_eq!(
            cell(&f, 3, 0),
            Data::String("DANH SÁCH ĐỐI TƯỢNG CẦN CHI TRẢ LẠI".into())
        );
        assert_eq!(
            cell(&f, 5, 0),
            Data::String("Kỳ chi trả: Tháng 9 năm 2025".into())
        );
        assert_eq!(cell(&f, 8, 1), Data::String("Số định danh".into()));

        let expected = [
            ("001190012346", "Chi không thành công", "Sai số tài khoản"),
            ("001090012347", "Bị hoàn trả", "Tài khoản đã đóng"),
            ("001190012348", "Chưa chi trả", ""),
        ];
        for (i, (id, status, reason)) in (9u32..).zip(expected) {
            assert_eq!(cell(&f, i, 0), Data::Float(f64::from(i - 8)));
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
        assert_eq!(cell(&f, 9, 10), Data::String("11".into()));
        assert_eq!(cell(&f, 12, 0), Data::String("Tổng cộng".into()));
        assert_eq!(cell(&f, 12, 1), Data::Float(3.0));
        assert_eq!(cell(&f, 12, 7), Data::Float(4_500_000.0));
        // Under the total: the place and date, and the three signatures.
        assert_eq!(
            cell(&f, 14, 9),
            Data::String("……………, ngày 30 tháng 09 năm 2025".into())
        );
        for (c, role) in [
            (2, "Người lập biểu"),
            (6, "Kế toán trưởng"),
            (9, "Thủ trưởng đơn vị"),
        ] {
            assert_eq!(cell(&f, 15, c), Data::String(role.into()));
            assert_eq!(cell(&f, 16, c), Data::String("(Ký, ghi rõ họ tên)".into()));
        }
        assert!(find_row(&f, 1, "001090012345").is_none());
        assert!(find_row(&f, 1, "001090012349").is_none());

        let formulas = match book.worksheet_formula(SHEET_FOLLOWUP) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            formulas.get_value((12, 7)).map(String::as_str),
            Some("SUM(H10:H12)")
        );
    }

    /// The streamed list is the held one: the same cells, values, styles, formula, filter
    /// and print settings.
    #[test]
    fn streamed_followup_equals_held() {
        use super::super::stream::tests::{cell_styles, entries, frame, row_heights};
        let (_, exc, meta) = sample();
        let due: Vec<&ExceptionRow> = exc.iter().filter(|e| needs_repayment(e.kind)).collect();
        for lang in [Lang::Vi, Lang::En] {
            let held = write_followup(&exc, &meta, lang).unwrap_or_else(|e| panic!("{e}"));
            let streamed = write_followup_to(
                Vec::new(),
                due.iter().copied(),
                due.len(),
                &meta,
                lang,
                FOLLOWUP_MAX_ROWS,
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let (mut a, mut b) = (open(held.clone()), open(streamed.clone()));
            assert_eq!(a.sheet_names(), b.sheet_names());
            assert_eq!(sheet(&mut a, SHEET_FOLLOWUP), sheet(&mut b, SHEET_FOLLOWUP));
            let formulas = |book: &mut super::super::testkit::Book| {
                book.worksheet_formula(SHEET_FOLLOWUP)
                    .unwrap_or_else(|e| panic!("{e}"))
            };
            assert_eq!(formulas(&mut a), formulas(&mut b));
            let (held, streamed) = (entries(&held), entries(&streamed));
            let name = "xl/worksheets/sheet1.xml";
            assert_eq!(frame(&streamed[name]), frame(&held[name]));
            assert_eq!(cell_styles(&streamed[name]), cell_styles(&held[name]));
            assert_eq!(row_heights(&streamed[name]), row_heights(&held[name]));
            assert_eq!(streamed["xl/workbook.xml"], held["xl/workbook.xml"]);
            assert_eq!(streamed["xl/styles.xml"], held["xl/styles.xml"]);
        }
    }

    /// Past a sheet's rows the list continues on "Danh sách chi lại (2)", … each sheet with
    /// its title, header and total; the running number goes on.
    #[test]
    fn a_long_followup_continues_on_further_sheets() {
        let (_, exc, meta) = sample();
        let due: Vec<&ExceptionRow> = exc.iter().filter(|e| needs_repayment(e.kind)).collect();
        assert_eq!(due.len(), 3);
        let bytes = write_followup_to(Vec::new(), due.iter().copied(), 3, &meta, Lang::Vi, 2)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut book = open(bytes);
        assert_eq!(
            book.sheet_names(),
            vec![SHEET_FOLLOWUP.to_owned(), format!("{SHEET_FOLLOWUP} (2)")]
        );
        let one = sheet(&mut book, SHEET_FOLLOWUP);
        assert_eq!(cell(&one, 8, 1), Data::String("Số định danh".into()));
        assert_eq!(cell(&one, 10, 0), Data::Float(2.0));
        assert_eq!(cell(&one, 11, 0), Data::String("Tổng cộng".into()));
        assert_eq!(cell(&one, 11, 1), Data::Float(2.0));
        assert_eq!(cell(&one, 11, 7), Data::Float(3_000_000.0));
        assert_eq!(
            cell(&one, 14, 2),
            Data::String("Người lập biểu".into()),
            "each sheet is signed"
        );
        let two = sheet(&mut book, &format!("{SHEET_FOLLOWUP} (2)"));
        assert_eq!(cell(&two, 3, 0), cell(&one, 3, 0), "the title again");
        assert_eq!(cell(&two, 9, 0), Data::Float(3.0), "numbering goes on");
        assert_eq!(cell(&two, 9, 1), Data::String("001190012348".into()));
        assert_eq!(cell(&two, 10, 1), Data::Float(1.0));
        assert_eq!(cell(&two, 10, 7), Data::Float(1_500_000.0));
        assert_eq!(cell(&two, 13, 6), Data::String("Kế toán trưởng".into()));
        // Nobody to pay again: one sheet, its header and a zero total.
        let bytes = write_followup_to(
            Vec::new(),
            Vec::<ExceptionRow>::new(),
            0,
            &meta,
            Lang::Vi,
            2,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut book = open(bytes);
        let empty = sheet(&mut book, SHEET_FOLLOWUP);
        assert_eq!(cell(&empty, 9, 0), Data::String("Tổng cộng".into()));
        assert_eq!(cell(&empty, 9, 7), Data::Float(0.0));
        assert_eq!(
            cell(&empty, 12, 9),
            Data::String("Thủ trưởng đơn vị".into())
        );
    }
}
