//! A sheet as a grid of borrowed cells, whatever file it came from.

use std::borrow::Cow;

use calamine::{Data, Range};

use super::legacy_vn::Legacy;
use chrono::NaiveDate;

/// One cell, borrowed from the loaded sheet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    Number(f64),
    Int(i64),
    Bool(bool),
    Date(NaiveDate),
    Error,
}

impl<'a> Cell<'a> {
    pub fn from_data(d: &'a Data) -> Cell<'a> {
        match d {
            Data::Empty => Cell::Empty,
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::text(s),
            Data::Float(f) => Cell::Number(*f),
            Data::Int(i) => Cell::Int(*i),
            Data::Bool(b) => Cell::Bool(*b),
            Data::DateTime(dt) => {
                if dt.is_datetime() {
                    dt.as_datetime()
                        .map(|d| Cell::Date(d.date()))
                        .unwrap_or(Cell::Number(dt.as_f64()))
                } else {
                    Cell::Number(dt.as_f64())
                }
            }
            Data::Error(_) => Cell::Error,
        }
    }

    /// Text cells holding only whitespace count as empty.
    #[inline]
    pub fn text(s: &'a str) -> Cell<'a> {
        if trimmed(s).is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The cell as a person reads it, for messages and text fields.
    pub fn display(&self) -> Cow<'a, str> {
        match *self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(s) => Cow::Borrowed(trimmed(s)),
            Cell::Number(f) => Cow::Owned(number_text(f)),
            Cell::Int(i) => Cow::Owned(i.to_string()),
            Cell::Bool(b) => Cow::Borrowed(if b { "TRUE" } else { "FALSE" }),
            Cell::Date(d) => Cow::Owned(d.format("%d/%m/%Y").to_string()),
            Cell::Error => Cow::Borrowed("#ERROR"),
        }
    }

    /// Text content trimmed, or None for empty/non-text cells.
    pub fn as_text(&self) -> Option<&'a str> {
        match *self {
            Cell::Text(s) => Some(trimmed(s)),
            _ => None,
        }
    }
}

/// `s.trim()`, looking only at the end characters when neither is whitespace, as in
/// nearly every cell (a national file has tens of millions; names start with "Đ").
#[inline]
fn trimmed(s: &str) -> &str {
    let visible = |c: Option<char>| c.is_some_and(|c| !c.is_whitespace());
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ if visible(s.chars().next()) && visible(s.chars().next_back()) => s,
        _ => s.trim(),
    }
}

/// A float as Excel shows it in a General cell: integers without `.0` or exponent.
pub fn number_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// Spreadsheet column letters: 0 -> A, 25 -> Z, 26 -> AA.
pub fn column_letter(mut c: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub(crate) enum Cells {
    /// xls and ods: calamine's dense range (its size checked by `guard` beforehand).
    Sheet(Range<Data>),
    /// xlsx, read cell by cell: only the cells that hold something.
    Sparse(Sparse),
    Csv(CsvRows),
}

/// Lines as an editor counts them, fed the CR and LF bytes of a text by position, in
/// order: CR, LF and CRLF are each one line break.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineCount {
    pub(crate) line: u32,
    /// The position right after the last CR: an LF there ends the same line break.
    cr_end: Option<usize>,
}

impl LineCount {
    /// At `line`; `after_cr`: the byte before position 0 was a CR.
    pub(crate) fn new(line: u32, after_cr: bool) -> Self {
        LineCount {
            line,
            cr_end: after_cr.then_some(0),
        }
    }

    /// The CR or LF `byte` at position `p`.
    #[inline]
    pub(crate) fn brk(&mut self, p: usize, byte: u8) {
        if byte == b'\r' {
            self.line = self.line.saturating_add(1);
            self.cr_end = Some(p + 1);
        } else if self.cr_end != Some(p) {
            self.line = self.line.saturating_add(1);
        }
    }
}

/// CSV records in one text buffer: no allocation per record or field, so a batch of
/// records costs what its text does.
#[derive(Default)]
pub(crate) struct CsvRows {
    text: String,
    /// Byte range in `text` of each field (32-bit: a batch's text stays under 4 GiB, as
    /// `csv_stream` bounds it).
    fields: Vec<(u32, u32)>,
    /// Per record: the line it starts on, and where its fields start in `fields`.
    rows: Vec<(u32, usize)>,
}

impl CsvRows {
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Emptied, its buffers kept for the next batch (fresh pages cost more than reuse).
    pub(crate) fn cleared(mut self) -> CsvRows {
        self.text.clear();
        self.fields.clear();
        self.rows.clear();
        self
    }

    /// Append one record.
    pub(crate) fn push<'f>(&mut self, line: u32, fields: impl IntoIterator<Item = &'f str>) {
        self.rows.push((line, self.fields.len()));
        for f in fields {
            let start = self.text.len() as u32;
            self.text.push_str(f);
            self.fields.push((start, self.text.len() as u32));
        }
    }

    /// Append one record without quotes: its text once, its fields between delimiters.
    pub(crate) fn push_plain(&mut self, line: u32, record: &str, delimiter: u8) {
        self.rows.push((line, self.fields.len()));
        let base = self.text.len();
        self.text.push_str(record);
        let mut start = base;
        for d in memchr::memchr_iter(delimiter, record.as_bytes()) {
            self.fields.push((start as u32, (base + d) as u32));
            start = base + d + 1;
        }
        self.fields.push((start as u32, self.text.len() as u32));
    }

    /// Every record with its line, for tests.
    #[cfg(test)]
    pub(crate) fn records(&self) -> Vec<(u32, Vec<String>)> {
        (0..self.len())
            .map(|r| {
                let n = self.record(r).len();
                let fields = (0..n).map(|c| self.field(r, c).unwrap_or("").to_owned());
                (self.line(r), fields.collect())
            })
            .collect()
    }

    /// Append text that `split_plain` will split (no records yet).
    pub(crate) fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Split the text pushed (`push_text`: whole lines from `first_line`, no quotes; `after_cr`:
    /// a CR came just before) into records and fields in one pass over its
    /// delimiters and line breaks; blank lines are skipped, as the csv parser skips them.
    pub(crate) fn split_plain(&mut self, first_line: u32, after_cr: bool, delimiter: u8) {
        let (fields, rows) = (&mut self.fields, &mut self.rows);
        let b = self.text.as_bytes();
        let mut lines = LineCount::new(first_line, after_cr);
        let mut field_start = 0usize;
        let mut in_record = false;
        for p in memchr::memchr3_iter(delimiter, b'\r', b'\n', b) {
            let c = b[p];
            if c == delimiter {
                if !in_record {
                    rows.push((lines.line, fields.len()));
                    in_record = true;
                }
                fields.push((field_start as u32, p as u32));
            } else {
                if in_record || p > field_start {
                    if !in_record {
                        rows.push((lines.line, fields.len()));
                    }
                    fields.push((field_start as u32, p as u32));
                    in_record = false;
                }
                lines.brk(p, c);
            }
            field_start = p + 1;
        }
        if in_record || field_start < b.len() {
            if !in_record {
                rows.push((lines.line, fields.len()));
            }
            fields.push((field_start as u32, b.len() as u32));
        }
    }

    fn record(&self, r: usize) -> &[(u32, u32)] {
        let Some(&(_, start)) = self.rows.get(r) else {
            return &[];
        };
        let end = self.rows.get(r + 1).map_or(self.fields.len(), |n| n.1);
        self.fields.get(start..end).unwrap_or(&[])
    }

    fn field(&self, r: usize, c: usize) -> Option<&str> {
        let &(s, e) = self.record(r).get(c)?;
        self.text.get(s as usize..e as usize)
    }

    pub(crate) fn line(&self, r: usize) -> u32 {
        self.rows.get(r).map_or(0, |x| x.0)
    }

    /// Every field converted (legacy encodings), lines kept.
    fn map(&self, f: impl Fn(&str) -> String) -> CsvRows {
        let mut out = CsvRows::default();
        for r in 0..self.len() {
            let converted: Vec<String> = (0..self.record(r).len())
                .map(|c| f(self.field(r, c).unwrap_or("")))
                .collect();
            out.push(self.line(r), converted.iter().map(String::as_str));
        }
        out
    }
}

/// The non-empty cells of a sheet, row by row: memory follows what the file holds, not
/// the box between its first and last cell (A1 and XFD1048576 are two cells, not 17
/// billion).
#[derive(Default)]
pub(crate) struct Sparse {
    /// (absolute row, absolute column, value), sorted by row then column.
    cells: Vec<(u32, u32, Value)>,
    /// Per row that has cells: its absolute row and where its cells start.
    rows: Vec<(u32, u32)>,
    /// The workbook's shared strings the cells use, each once.
    strings: Vec<String>,
}

/// A sparse cell's value: calamine's, or a string of the workbook's shared-string table,
/// kept once however many cells use it (a list's commune or category is one string for
/// thousands of cells).
#[derive(Clone)]
pub(crate) enum Value {
    Data(Data),
    Shared(u32),
}

impl Sparse {
    /// From cells in any order (later duplicates of a position win, as in a sheet).
    pub(crate) fn new(cells: Vec<(u32, u32, Data)>) -> Self {
        let cells = cells
            .into_iter()
            .map(|(r, c, v)| (r, c, Value::Data(v)))
            .collect();
        Self::with_strings(cells, Vec::new())
    }

    /// The same, with the shared strings `Value::Shared` points into.
    pub(crate) fn with_strings(mut cells: Vec<(u32, u32, Value)>, strings: Vec<String>) -> Self {
        // A sheet as written holds each position once, in order: nothing to do then.
        let in_order = cells
            .windows(2)
            .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1));
        if !in_order {
            // Stable, so equal positions stay in file order; keep the last of each.
            cells.sort_by_key(|c| (c.0, c.1));
            cells.reverse();
            cells.dedup_by_key(|c| (c.0, c.1));
            cells.reverse();
        }
        let mut rows: Vec<(u32, u32)> = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            if rows.last().is_none_or(|r| r.0 != c.0) {
                rows.push((c.0, i as u32));
            }
        }
        Sparse {
            cells,
            rows,
            strings,
        }
    }

    fn value<'s>(&'s self, v: &'s Value) -> Cell<'s> {
        match v {
            Value::Data(d) => Cell::from_data(d),
            Value::Shared(i) => self
                .strings
                .get(*i as usize)
                .map_or(Cell::Empty, |s| Cell::text(s)),
        }
    }

    /// Smallest row and column that hold a cell.
    pub(crate) fn origin(&self) -> (u32, u32) {
        let row = self.rows.first().map_or(0, |r| r.0);
        let col = self.cells.iter().map(|c| c.1).min().unwrap_or(0);
        (row, col)
    }

    fn row(&self, r: usize) -> &[(u32, u32, Value)] {
        let Some(&(_, start)) = self.rows.get(r) else {
            return &[];
        };
        let end = self
            .rows
            .get(r + 1)
            .map_or(self.cells.len(), |n| n.1 as usize);
        &self.cells[start as usize..end]
    }
}

/// One row of a grid, its cells read without finding the row again for each (a CSV
/// row's fields are one slice of the batch).
#[derive(Clone, Copy)]
pub(crate) enum RowView<'g> {
    Csv {
        text: &'g str,
        fields: &'g [(u32, u32)],
    },
    Other {
        grid: &'g Grid,
        r: usize,
    },
}

impl<'g> RowView<'g> {
    #[inline]
    pub(crate) fn cell(&self, c: usize) -> Cell<'g> {
        match *self {
            RowView::Csv { text, fields } => fields
                .get(c)
                .and_then(|&(s, e)| text.get(s as usize..e as usize))
                .map_or(Cell::Empty, Cell::text),
            RowView::Other { grid, r } => grid.cell(r, c),
        }
    }

    /// Bytes of column `c`'s text as stored (0 for a cell that is not text): a bound of
    /// its trimmed text's length, without making the cell.
    #[inline]
    pub(crate) fn text_len(&self, c: usize) -> usize {
        match *self {
            RowView::Csv { fields, .. } => fields.get(c).map_or(0, |&(s, e)| (e - s) as usize),
            RowView::Other { grid, r } => match grid.cell(r, c) {
                Cell::Text(t) => t.len(),
                _ => 0,
            },
        }
    }

    /// The non-empty cells with their columns, into `out` (cleared first).
    pub(crate) fn filled(&self, out: &mut Vec<(usize, Cell<'g>)>) {
        match *self {
            RowView::Csv { text, fields } => {
                out.clear();
                out.extend(fields.iter().enumerate().filter_map(|(c, &(s, e))| {
                    let cell = text
                        .get(s as usize..e as usize)
                        .map_or(Cell::Empty, Cell::text);
                    (!cell.is_empty()).then_some((c, cell))
                }));
            }
            RowView::Other { grid, r } => grid.filled(r, out),
        }
    }
}

/// A loaded sheet: cells plus where they sit in the original file.
pub struct Grid {
    pub(crate) cells: Cells,
    /// Absolute 0-based position of the grid's first row and column.
    pub(crate) origin: (u32, u32),
    /// A legacy Vietnamese encoding the workbook's fonts imply (`.VnTime`, `VNI-Times`).
    pub(crate) font_hint: Option<Legacy>,
}

impl Grid {
    pub(crate) fn new(cells: Cells, origin: (u32, u32)) -> Self {
        Grid {
            cells,
            origin,
            font_hint: None,
        }
    }

    /// Up to `max` text cells from the top of the sheet, for telling its encoding.
    pub fn sample_texts(&self, max: usize) -> Vec<&str> {
        let mut out = Vec::new();
        let mut filled = Vec::new();
        for r in 0..self.height().min(300) {
            self.filled(r, &mut filled);
            out.extend(filled.iter().filter_map(|(_, c)| c.as_text()));
            if out.len() >= max {
                out.truncate(max);
                break;
            }
        }
        out
    }

    /// The same sheet with every text converted from a legacy Vietnamese encoding.
    pub fn converted(&self, enc: Legacy) -> Grid {
        let fix = |d: &Data| match d {
            Data::String(s) => Data::String(enc.to_unicode(s)),
            other => other.clone(),
        };
        let cells = match &self.cells {
            Cells::Sheet(range) => Cells::Sparse(Sparse::new(
                range
                    .used_cells()
                    .filter(|(_, _, v)| !matches!(v, Data::Empty))
                    .map(|(r, c, v)| (self.origin.0 + r as u32, self.origin.1 + c as u32, fix(v)))
                    .collect(),
            )),
            Cells::Sparse(sp) => Cells::Sparse(Sparse {
                cells: sp
                    .cells
                    .iter()
                    .map(|(r, c, v)| {
                        let v = match v {
                            Value::Data(d) => Value::Data(fix(d)),
                            shared => shared.clone(),
                        };
                        (*r, *c, v)
                    })
                    .collect(),
                rows: sp.rows.clone(),
                strings: sp.strings.iter().map(|t| enc.to_unicode(t)).collect(),
            }),
            Cells::Csv(rows) => Cells::Csv(rows.map(|f| enc.to_unicode(f))),
        };
        Grid {
            cells,
            origin: self.origin,
            font_hint: self.font_hint,
        }
    }

    pub(crate) fn row_view(&self, r: usize) -> RowView<'_> {
        match &self.cells {
            Cells::Csv(rows) => RowView::Csv {
                text: &rows.text,
                fields: rows.record(r),
            },
            _ => RowView::Other { grid: self, r },
        }
    }

    /// A streamed batch's rows back, for their buffers to be reused.
    pub(crate) fn into_csv(self) -> Option<CsvRows> {
        match self.cells {
            Cells::Csv(rows) => Some(rows),
            _ => None,
        }
    }

    pub fn height(&self) -> usize {
        match &self.cells {
            Cells::Sheet(r) => r.height(),
            Cells::Sparse(s) => s.rows.len(),
            Cells::Csv(rows) => rows.len(),
        }
    }

    pub fn width(&self, r: usize) -> usize {
        match &self.cells {
            Cells::Sheet(range) => range.width(),
            Cells::Sparse(s) => s
                .row(r)
                .last()
                .map_or(0, |c| (c.1 - self.origin.1) as usize + 1),
            Cells::Csv(rows) => rows.record(r).len(),
        }
    }

    pub fn cell(&self, r: usize, c: usize) -> Cell<'_> {
        match &self.cells {
            Cells::Sheet(range) => range.get((r, c)).map_or(Cell::Empty, Cell::from_data),
            Cells::Sparse(s) => {
                let row = s.row(r);
                let col = self.origin.1 as usize + c;
                row.binary_search_by_key(&col, |x| x.1 as usize)
                    .map_or(Cell::Empty, |i| s.value(&row[i].2))
            }
            Cells::Csv(rows) => rows.field(r, c).map_or(Cell::Empty, Cell::text),
        }
    }

    /// The row number the spreadsheet (or text editor, for CSV) shows.
    pub fn row_number(&self, r: usize) -> u32 {
        match &self.cells {
            Cells::Sheet(_) => self.origin.0 + r as u32 + 1,
            Cells::Sparse(s) => s.rows.get(r).map_or(0, |x| x.0 + 1),
            Cells::Csv(rows) => rows.line(r),
        }
    }

    /// Absolute 0-based (row, column) of the grid's first row and column.
    pub fn origin(&self) -> (u32, u32) {
        self.origin
    }

    pub fn column_letter(&self, c: usize) -> String {
        column_letter(self.origin.1 as usize + c)
    }

    pub fn is_blank_row(&self, r: usize) -> bool {
        let mut filled = Vec::new();
        self.filled(r, &mut filled);
        filled.is_empty()
    }

    /// The non-empty cells of row `r` with their columns, into `out` (cleared first).
    /// Costs what the row holds, whatever its width.
    pub fn filled<'g>(&'g self, r: usize, out: &mut Vec<(usize, Cell<'g>)>) {
        out.clear();
        match &self.cells {
            Cells::Sparse(s) => out.extend(
                s.row(r)
                    .iter()
                    .map(|x| ((x.1 - self.origin.1) as usize, s.value(&x.2)))
                    .filter(|(_, c)| !c.is_empty()),
            ),
            _ => out.extend(
                (0..self.width(r))
                    .map(|c| (c, self.cell(r, c)))
                    .filter(|(_, cell)| !cell.is_empty()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn numbers_show_as_excel_shows_them() {
        assert_eq!(number_text(37153000257.0), "37153000257");
        assert_eq!(number_text(1500000.0), "1500000");
        assert_eq!(number_text(1.5), "1.5");
    }
}
