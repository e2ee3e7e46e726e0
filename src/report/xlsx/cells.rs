//! Typed cell writers (text cut to Excel's limit, counts, exact decimals, percentages) and
//! the small table helpers every sheet uses.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Worksheet};

use super::styles::Formats;

pub(super) type RowNum = u32;
pub(super) type ColNum = u16;
pub(super) type XResult<T = ()> = Result<T, rust_xlsxwriter::XlsxError>;

/// Excel's per-cell limit, counted in UTF-16 units.
const MAX_CELL_UTF16: usize = 32_767;

/// Cuts text Excel would refuse, so one odd cell cannot cost the whole workbook.
pub(super) fn fit_cell(s: &str) -> std::borrow::Cow<'_, str> {
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

pub(super) fn put_text(ws: &mut Worksheet, r: RowNum, c: ColNum, s: &str, f: &Format) -> XResult {
    if s.is_empty() {
        ws.write_blank(r, c, f)?;
    } else {
        ws.write_string_with_format(r, c, fit_cell(s), f)?;
    }
    Ok(())
}

pub(super) fn put_count(ws: &mut Worksheet, r: RowNum, c: ColNum, n: u64, f: &Format) -> XResult {
    // Counts of rows and people are far below 2^53, so exact as f64.
    ws.write_number_with_format(r, c, n as f64, f)?;
    Ok(())
}

/// The single place where a Decimal becomes f64: amounts are whole đồng far below 2^53
/// and percentages have two places, so Excel gets the exact value it would display.
pub(super) fn put_decimal(
    ws: &mut Worksheet,
    r: RowNum,
    c: ColNum,
    d: Decimal,
    f: &Format,
) -> XResult {
    match d.to_f64() {
        Some(v) => ws.write_number_with_format(r, c, v, f)?,
        // Not reachable for Decimal; text keeps the value rather than inventing one.
        None => ws.write_string_with_format(r, c, d.to_string(), f)?,
    };
    Ok(())
}

/// A percentage (97.31) as the fraction Excel's % format expects (0.9731), divided exactly
/// before it becomes f64, so the cell holds what it shows.
pub(super) fn put_pct(
    ws: &mut Worksheet,
    r: RowNum,
    c: ColNum,
    p: Option<Decimal>,
    f: &Format,
) -> XResult {
    match p {
        Some(p) => put_decimal(ws, r, c, fraction(p), f),
        None => {
            ws.write_blank(r, c, f)?;
            Ok(())
        }
    }
}

/// Lines a wrapped `text` takes in a column `width` wide (Excel's unit: the width of a
/// "0"; letters are a little narrower, and word wrapping wastes some of each line).
pub(super) fn wrapped_lines(text: &str, width: f64) -> u32 {
    let per_line = (width * 0.95 - 1.0).max(1.0);
    let lines: u32 = text
        .split('\n')
        .map(|l| (l.chars().count() as f64 / per_line).ceil().max(1.0) as u32)
        .sum();
    lines.max(1)
}

/// The height (points) of a row whose wrapped cells are `cells` (text, column width);
/// None for one line. Written out because LibreOffice does not grow rows to their wrapped
/// text on opening a file, and a clipped cell misleads a reader.
pub(super) fn wrapped_height<'a>(cells: impl IntoIterator<Item = (&'a str, f64)>) -> Option<f64> {
    let lines = cells
        .into_iter()
        .map(|(text, width)| wrapped_lines(text, width))
        .max()
        .unwrap_or(1)
        .min(20);
    (lines > 1).then(|| 15.0 * f64::from(lines))
}

/// The height of a header row of bold, wrapped `labels` in columns `widths`: at least two
/// lines, more where a label needs them.
fn header_height(labels: &[&str], widths: &[f64]) -> f64 {
    // Bold letters are wider: count the columns a little narrower.
    let lines = labels.iter().zip(widths).map(|(l, w)| (*l, w * 0.9));
    wrapped_height(lines).unwrap_or(0.0).max(30.0)
}

/// Sets row `r`'s height to fit its wrapped `cells`.
pub(super) fn fit_row(ws: &mut Worksheet, r: RowNum, cells: &[(&str, f64)]) -> XResult {
    if let Some(h) = wrapped_height(cells.iter().copied()) {
        ws.set_row_height(r, h)?;
    }
    Ok(())
}

/// 97.31 → 0.9731, exactly.
pub(super) fn fraction(pct: Decimal) -> Decimal {
    pct / Decimal::ONE_HUNDRED
}

/// A two-column table (label, count) under a header row; returns the next free row.
pub(super) fn label_count_table<'l>(
    ws: &mut Worksheet,
    mut r: RowNum,
    header: [&str; 2],
    rows: impl IntoIterator<Item = (&'l str, u64)>,
    label_width: f64,
    fm: &Formats,
) -> XResult<RowNum> {
    put_header(ws, r, 0, &header, fm)?;
    r += 1;
    for (label, n) in rows {
        ws.write_string_with_format(r, 0, label, &fm.wrap)?;
        fit_row(ws, r, &[(label, label_width)])?;
        put_count(ws, r, 1, n, &fm.count)?;
        r += 1;
    }
    Ok(r)
}

/// A table's header from its first column, its row tall enough for the labels wrapped
/// in their columns' `widths`.
pub(super) fn put_wrapped_header(
    ws: &mut Worksheet,
    r: RowNum,
    labels: &[&str],
    widths: &[f64],
    fm: &Formats,
) -> XResult {
    put_header(ws, r, 0, labels, fm)?;
    ws.set_row_height(r, header_height(labels, widths))?;
    Ok(())
}

pub(super) fn put_header(
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

pub(super) fn last_col(n: usize) -> ColNum {
    // Tables here have a few dozen columns at most.
    ColNum::try_from(n.saturating_sub(1)).unwrap_or(ColNum::MAX)
}

pub(super) fn set_widths(ws: &mut Worksheet, widths: &[f64]) -> XResult {
    for (c, w) in (0..).zip(widths) {
        ws.set_column_width(c, *w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_rows_get_the_height_of_their_lines() {
        assert_eq!(wrapped_lines("", 20.0), 1);
        assert_eq!(wrapped_lines("Chi thiếu", 20.0), 1);
        assert_eq!(wrapped_lines(&"a".repeat(18), 20.0), 1);
        assert_eq!(wrapped_lines(&"a".repeat(19), 20.0), 2);
        assert_eq!(wrapped_lines("một\nhai", 20.0), 2);
        assert_eq!(wrapped_height([("ngắn", 10.0)]), None);
        assert_eq!(
            wrapped_height([("ngắn", 10.0), (&"x".repeat(30), 12.0)]),
            Some(45.0)
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
