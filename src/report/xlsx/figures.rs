//! The coverage columns shared by the summary's tables and the communes sheet.

use rust_xlsxwriter::Worksheet;

use super::cells::{ColNum, RowNum, XResult, put_count, put_decimal, put_pct};
use super::styles::Formats;
use crate::domain::Lang;
use crate::recon::Outcome;
use crate::report::Figures;
use crate::report::csv::pick;

pub(super) fn outcome_label(o: Outcome, lang: Lang) -> &'static str {
    pick(lang, o.label_vi(), o.label_en())
}

/// How many columns [`put_figures`] writes.
pub(super) const FIGURE_COLUMNS: usize = 9;

/// Columns of every coverage table (communes, categories, banks), after the name column.
pub(super) fn slice_headers(lang: Lang) -> [&'static str; FIGURE_COLUMNS] {
    match lang {
        Lang::Vi => [
            "Số đối tượng",
            "Có tài khoản",
            "Tỷ lệ có TK",
            "Đã chi không dùng tiền mặt",
            "Tỷ lệ chi KDTM",
            "Tổng phải chi",
            "Phải chi qua tài khoản",
            "Phải chi tiền mặt",
            "Đã chi qua tài khoản",
        ],
        Lang::En => [
            "Beneficiaries",
            "With account",
            "% with account",
            "Paid cashless",
            "% paid cashless",
            "Total due",
            "Due to account holders",
            "Due in cash",
            "Paid to accounts",
        ],
    }
}

/// Writes the figures of [`slice_headers`] from column `c0`; the split of the amount due is
/// left blank for runs stored before it was kept.
pub(super) fn put_figures(
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
    if let Some(d) = f.amount_due_cashless {
        put_decimal(ws, r, c0 + 6, d, money)?;
    }
    if let Some(d) = f.amount_due_cash {
        put_decimal(ws, r, c0 + 7, d, money)?;
    }
    put_decimal(ws, r, c0 + 8, f.amount_paid, money)
}
