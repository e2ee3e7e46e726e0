//! The auditor's workbook written as a stream, whatever the run's size: its first bytes
//! leave at once and nothing grows with the number of exceptions.
//!
//! rust_xlsxwriter writes a small template: every sheet but the exception rows, each
//! exceptions sheet with its header, its filter and print settings sized for the rows to
//! come, and one row of blanks in each column's format. The template's entries are
//! written into the stream as they are; each exceptions sheet is written again from the
//! template's XML, its rows streamed between the header and the end of `<sheetData>`,
//! strings inline, each cell with the style id its column has in the template. A test
//! holds the result equal to the workbook rust_xlsxwriter writes in memory.

use std::borrow::Borrow;
use std::io::{Cursor, Read, Write};

use rust_decimal::prelude::ToPrimitive;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::XlsxError;
use super::cells::fit_cell;
use super::exceptions::{ExceptionCell, exception_cells, row_height};
use crate::domain::Lang;
pub(super) use crate::import::grid::column_letter as column_name;
use crate::recon::ExceptionRow;
use crate::report::csv::exception_texts;

/// Deflate level: on the national report (1.34 M rows), level 3 writes 126 MB in 12.3 s
/// where level 1 writes 183 MB in 10.6 s and level 6 (the default) 106 MB in 16.7 s
/// (`doisoat reconcile --out`, whole run).
const DEFLATE_LEVEL: i64 = 3;

fn failed(detail: impl std::fmt::Display) -> XlsxError {
    XlsxError::Stream(detail.to_string())
}

impl From<zip::result::ZipError> for XlsxError {
    fn from(e: zip::result::ZipError) -> Self {
        failed(e)
    }
}

impl From<std::io::Error> for XlsxError {
    fn from(e: std::io::Error) -> Self {
        failed(e)
    }
}

/// Every entry deflated and dated 1980-01-01, so the same run gives the same bytes.
///
/// No entry is ZIP64: LibreOffice refuses a ZIP64 entry written with a data descriptor
/// (as every entry of a stream is), and a full sheet of the national run is 0.9 GB of
/// XML, far below 4 GB. A sheet would pass 4 GB only with rows of 4 KB on average; the
/// stream then stops with an error instead of sending a file that is not whole.
fn entry_options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(zip::DateTime::default())
}

/// A streamed sheet of the template, cut where its rows go.
struct SheetTemplate {
    /// Up to `<dimension ref="`.
    before_dimension: String,
    /// From the dimension's closing quote through the rows above the data.
    head: String,
    /// From `</sheetData>` to the end.
    tail: String,
    /// The style id of each column's cells in the data rows (None: the default style).
    data: Vec<Option<u32>>,
    /// The same for each row below the data (a total, a signature block), where the
    /// template has them (an empty row: none).
    after: Vec<Vec<Option<u32>>>,
    /// The last column's letters, for the dimension.
    last_column: String,
}

/// The style ids of a template row's cells by column, and its last column's letters.
fn row_styles(row_xml: &str) -> Option<(Vec<Option<u32>>, String)> {
    let mut styles = Vec::new();
    let mut last_column = String::from("A");
    // <c r="A2" s="5"/>… for the columns that have a format.
    for cell in row_xml.split("<c r=\"").skip(1) {
        let letters: String = cell.chars().take_while(char::is_ascii_uppercase).collect();
        let col = column_index(&letters)?;
        let style = cell
            .split_once(" s=\"")
            .and_then(|(_, s)| s.split_once('"'))
            .and_then(|(s, _)| s.parse::<u32>().ok());
        if styles.len() <= col {
            styles.resize(col + 1, None);
        }
        styles[col] = style;
        last_column = letters;
    }
    Some((styles, last_column))
}

/// The span of `<row r="{r}" …>…</row>` in `xml`, from `from` on.
fn find_row(xml: &str, from: usize, r: u32) -> Option<(usize, usize)> {
    let open = format!("<row r=\"{r}\"");
    let start = from + xml[from..].find(&open)?;
    let end = start + xml[start..].find("</row>")? + "</row>".len();
    Some((start, end))
}

impl SheetTemplate {
    fn parse(xml: &str, data_row: u32, after_rows: u32) -> Result<Self, XlsxError> {
        let broken = || failed("the template sheet has no place for its rows");
        let dim = xml.find("<dimension ref=\"").ok_or_else(broken)? + "<dimension ref=\"".len();
        let dim_end = dim + xml[dim..].find('"').ok_or_else(broken)?;
        let (row, row_end) = find_row(xml, dim_end, data_row).ok_or_else(broken)?;
        let tail = row_end + xml[row_end..].find("</sheetData>").ok_or_else(broken)?;
        let (data, last_column) = row_styles(&xml[row..row_end]).ok_or_else(broken)?;
        let mut after = Vec::new();
        let mut from = row_end;
        for k in 1..=after_rows {
            match find_row(&xml[..tail], from, data_row + k) {
                Some((a, b)) => {
                    after.push(row_styles(&xml[a..b]).ok_or_else(broken)?.0);
                    from = b;
                }
                None => after.push(Vec::new()),
            }
        }
        Ok(SheetTemplate {
            before_dimension: xml[..dim].to_owned(),
            head: xml[dim_end..row].to_owned(),
            tail: xml[tail..].to_owned(),
            data,
            after,
            last_column,
        })
    }
}

/// "A" → 0, "P" → 15, "AA" → 26.
fn column_index(letters: &str) -> Option<usize> {
    if letters.is_empty() {
        return None;
    }
    letters
        .bytes()
        .try_fold(0usize, |n, b| Some(n * 26 + usize::from(b - b'A') + 1))
        .map(|n| n - 1)
}

/// Text as Excel stores it in XML: `& < >` as entities, control characters and the two
/// non-characters as `_xHHHH_`, and a literal `_xHHHH_` kept by escaping its underscore
/// (`_x005F_`), the same as rust_xlsxwriter.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        let code = u32::from(c);
        let literal_escape = c == '_'
            && bytes.len() >= i + 7
            && bytes[i + 1] == b'x'
            && bytes[i + 2..i + 6].iter().all(u8::is_ascii_hexdigit)
            && bytes[i + 6] == b'_';
        let entity: Option<&[u8]> = match c {
            '&' => Some(b"&amp;"),
            '<' => Some(b"&lt;"),
            '>' => Some(b"&gt;"),
            _ => None,
        };
        let control = (code < 0x20 && c != '\t' && c != '\n') || code == 0xFFFE || code == 0xFFFF;
        if entity.is_none() && !control && !literal_escape {
            continue;
        }
        out.extend_from_slice(&bytes[plain..i]);
        plain = i + c.len_utf8();
        if let Some(e) = entity {
            out.extend_from_slice(e);
        } else if control {
            let _ = write!(out, "_x{code:04X}_");
        } else {
            out.extend_from_slice(b"_x005F_");
        }
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// The data rows of each sheet for `count` rows, `per_sheet` at most a sheet (always one
/// sheet, empty when there are none).
pub(super) fn sheet_sizes(count: usize, per_sheet: u32) -> Vec<u32> {
    let per_sheet = per_sheet.max(1);
    let mut left = count;
    let mut sheets = Vec::new();
    loop {
        let here = u32::try_from(left).unwrap_or(u32::MAX).min(per_sheet);
        sheets.push(here);
        left -= here as usize;
        if left == 0 {
            return sheets;
        }
    }
}

/// The rows streamed into a template's sheets, and what each sheet has below them.
pub(super) trait SheetRows {
    /// The template's data row (1-based), where the streamed rows go; the rows after it
    /// in the template give the styles of `after`'s rows.
    const DATA_ROW: u32;
    /// How many rows `after` writes.
    const AFTER_ROWS: u32 = 0;
    /// The next row as sheet row `r`, or false when there is none.
    fn row(&mut self, out: &mut Vec<u8>, r: u32, styles: &[Option<u32>]) -> bool;
    /// What follows a sheet's data rows `first..=last` (none when `last < first`), from
    /// sheet row `r` on; `styles[k]` are those of the template's row `k` below the data.
    fn after(
        &mut self,
        out: &mut Vec<u8>,
        r: u32,
        first: u32,
        last: u32,
        styles: &[Vec<Option<u32>>],
    ) {
        let _ = (out, r, first, last, styles);
    }
}

/// A cell as rust_xlsxwriter writes it; `style` from the template's row.
pub(super) enum Cell<'a> {
    /// Text, inline; empty is a blank, written only where a style makes it visible.
    Text(&'a str),
    Number(f64),
    /// Converted to f64 here, the edge where an exact amount becomes a spreadsheet number:
    /// whole đồng are exact far beyond any amount.
    Decimal(rust_decimal::Decimal),
    /// A formula with its computed value cached, for viewers that do not recalculate.
    Formula(&'a str, f64),
}

/// Writes `cell` at column `col` of sheet row `r`.
pub(super) fn put_cell(out: &mut Vec<u8>, r: u32, col: usize, style: Option<u32>, cell: Cell<'_>) {
    if matches!(cell, Cell::Text("")) && style.is_none() {
        return;
    }
    let _ = write!(out, "<c r=\"{}{r}\"", column_name(col));
    if let Some(s) = style {
        let _ = write!(out, " s=\"{s}\"");
    }
    match cell {
        Cell::Number(v) => {
            let _ = write!(out, "><v>{v}</v></c>");
        }
        Cell::Decimal(d) => match d.to_f64() {
            Some(v) => {
                let _ = write!(out, "><v>{v}</v></c>");
            }
            None => {
                let _ = write!(out, " t=\"inlineStr\"><is><t>{d}</t></is></c>");
            }
        },
        Cell::Formula(f, v) => {
            out.extend_from_slice(b"><f>");
            push_escaped(out, f);
            let _ = write!(out, "</f><v>{v}</v></c>");
        }
        Cell::Text("") => out.extend_from_slice(b"/>"),
        Cell::Text(text) => {
            let text = fit_cell(text);
            let ws = ['\t', '\n', ' '];
            let preserve = text.starts_with(ws) || text.ends_with(ws);
            out.extend_from_slice(if preserve {
                b" t=\"inlineStr\"><is><t xml:space=\"preserve\">".as_slice()
            } else {
                b" t=\"inlineStr\"><is><t>".as_slice()
            });
            push_escaped(out, &text);
            out.extend_from_slice(b"</t></is></c>");
        }
    }
}

/// Opens sheet row `r`, of height `height` (points) where its wrapped text needs it.
pub(super) fn open_row(out: &mut Vec<u8>, r: u32, height: Option<f64>) {
    match height {
        Some(h) => {
            let _ = write!(out, "<row r=\"{r}\" ht=\"{h}\" customHeight=\"1\">");
        }
        None => {
            let _ = write!(out, "<row r=\"{r}\">");
        }
    }
}

/// The exceptions sheets' rows, as `put_exception` writes them.
pub(super) struct ExceptionSheetRows<I> {
    pub(super) rows: I,
    pub(super) lang: Lang,
}

impl<I> SheetRows for ExceptionSheetRows<I>
where
    I: Iterator,
    I::Item: Borrow<ExceptionRow>,
{
    const DATA_ROW: u32 = super::office::DATA_HEADER_ROW + 2;

    fn row(&mut self, out: &mut Vec<u8>, r: u32, styles: &[Option<u32>]) -> bool {
        let Some(row) = self.rows.next() else {
            return false;
        };
        let row = row.borrow();
        let texts = exception_texts(row, self.lang);
        open_row(out, r, row_height(row, &texts));
        for (col, cell) in exception_cells(row, &texts).enumerate() {
            let cell = match cell {
                ExceptionCell::Amount(d) => Cell::Decimal(d),
                ExceptionCell::Text(t) => Cell::Text(t),
            };
            put_cell(out, r, col, styles.get(col).copied().flatten(), cell);
        }
        out.extend_from_slice(b"</row>");
        true
    }
}

/// The workbook to `out` as a zip stream: the template's entries, its sheets from
/// `first_sheet` (1-based) on with `sheet_rows[i]` rows of `rows` each. `rows` must give
/// exactly those rows (fewer or more is an error: a short file must not pass for a whole
/// one).
pub(super) fn write_streamed<W, R>(
    out: W,
    template: Vec<u8>,
    first_sheet: usize,
    sheet_rows: &[u32],
    mut rows: R,
) -> Result<W, XlsxError>
where
    W: Write,
    R: SheetRows,
{
    let count: u64 = sheet_rows.iter().map(|n| u64::from(*n)).sum();
    let mut archive = ZipArchive::new(Cursor::new(template))?;
    let mut zip = ZipWriter::new_stream(out);
    let mut written = 0u64;
    let mut buf = Vec::with_capacity(1 << 17);
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name()?.into_owned();
        let sheet = name
            .strip_prefix("xl/worksheets/sheet")
            .and_then(|n| n.strip_suffix(".xml"))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| n.checked_sub(first_sheet))
            .filter(|n| *n < sheet_rows.len());
        let Some(n) = sheet else {
            // The template's small entries are inflated and written again, not copied raw:
            // zip 9.4's raw copy into a stream leaves out the data descriptor its header
            // announces (unzip then refuses the file).
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            drop(entry);
            zip.start_file(name, entry_options())?;
            zip.write_all(&bytes)?;
            continue;
        };
        let mut xml = String::new();
        entry.read_to_string(&mut xml)?;
        drop(entry);
        let template = SheetTemplate::parse(&xml, R::DATA_ROW, R::AFTER_ROWS)?;
        let here = sheet_rows[n];
        let first = R::DATA_ROW;
        let end = first + here;
        // Whatever came before leaves now: the reader sees bytes while rows are read.
        zip.flush()?;
        zip.start_file(name, entry_options())?;
        buf.clear();
        buf.extend_from_slice(template.before_dimension.as_bytes());
        let last_row = (end - 1 + R::AFTER_ROWS).max(first - 1);
        let _ = write!(buf, "A1:{}{last_row}", template.last_column);
        buf.extend_from_slice(template.head.as_bytes());
        for r in first..end {
            if !rows.row(&mut buf, r, &template.data) {
                return Err(failed(format!("{count} rows expected, {written} read")));
            }
            written += 1;
            if buf.len() >= 1 << 16 {
                zip.write_all(&buf)?;
                buf.clear();
            }
        }
        rows.after(&mut buf, end, first, end - 1, &template.after);
        buf.extend_from_slice(template.tail.as_bytes());
        zip.write_all(&buf)?;
    }
    if rows.row(&mut Vec::new(), 0, &[]) {
        return Err(failed(format!("more than {count} rows read")));
    }
    let mut out = zip.finish()?.into_inner();
    out.flush()?;
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::super::testkit::{open, sample};
    use super::super::{ExceptionLayout, write_held, write_report_to};
    use super::*;

    /// Every entry of a workbook, unpacked.
    pub(in super::super) fn entries(bytes: &[u8]) -> BTreeMap<String, String> {
        let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => panic!("{e}"),
        };
        (0..zip.len())
            .map(|i| {
                let mut f = zip.by_index(i).unwrap_or_else(|e| panic!("{e}"));
                let mut text = String::new();
                let name = f.name().map(|n| n.into_owned()).unwrap_or_default();
                f.read_to_string(&mut text)
                    .unwrap_or_else(|e| panic!("{e}"));
                (name, text)
            })
            .collect()
    }

    /// Each cell's reference and style id, in order.
    pub(in super::super) fn cell_styles(xml: &str) -> Vec<(String, Option<String>)> {
        xml.split("<c r=\"")
            .skip(1)
            .map(|c| {
                let head = &c[..c.find('>').unwrap_or(c.len())];
                let r = head.split('"').next().unwrap_or_default().to_owned();
                let s = head
                    .split_once(" s=\"")
                    .and_then(|(_, s)| s.split('"').next())
                    .map(str::to_owned);
                (r, s)
            })
            .collect()
    }

    /// Each row's number and height where it has one, in order.
    pub(in super::super) fn row_heights(xml: &str) -> Vec<(String, String)> {
        xml.split("<row r=\"")
            .skip(1)
            .filter_map(|row| {
                let head = &row[..row.find('>')?];
                let r = head.split('"').next()?.to_owned();
                let ht = head.split_once(" ht=\"")?.1.split('"').next()?.to_owned();
                Some((r, ht))
            })
            .collect()
    }

    /// A sheet's XML without its rows.
    pub(in super::super) fn frame(xml: &str) -> String {
        match (xml.find("<sheetData"), xml.find("</sheetData>")) {
            (Some(a), Some(b)) => format!("{}{}", &xml[..a], &xml[b..]),
            _ => xml.to_owned(),
        }
    }

    /// The streamed workbook is the held one: the same sheets, cells, values, styles,
    /// filters, print settings and defined names, for texts that need escaping and for
    /// sheets that continue.
    #[test]
    fn streamed_equals_held() {
        let (report, mut exc, meta) = sample();
        let odd = [
            "  Lê _x0041_ & <b>\r",
            "tab\tend\n",
            "\u{1}\u{FFFE}",
            "_x005F_",
        ];
        for (row, name) in exc.iter_mut().zip(odd) {
            row.name = name.into();
        }
        exc[0].name = "ắ".repeat(40_000);
        for lang in [Lang::Vi, Lang::En] {
            for per_sheet in [u32::MAX, 2, 1] {
                let layout = ExceptionLayout {
                    rows_per_sheet: per_sheet,
                };
                let held = write_held(&report, &exc, &meta, lang, layout)
                    .unwrap_or_else(|e| panic!("{e}"));
                let streamed =
                    write_report_to(Vec::new(), &report, &exc, exc.len(), &meta, lang, layout)
                        .unwrap_or_else(|e| panic!("{e}"));
                let (mut a, mut b) = (open(held.clone()), open(streamed.clone()));
                let names = calamine::Reader::sheet_names(&a);
                assert_eq!(names, calamine::Reader::sheet_names(&b));
                for name in &names {
                    let x = calamine::Reader::worksheet_range(&mut a, name);
                    let y = calamine::Reader::worksheet_range(&mut b, name);
                    match (x, y) {
                        (Ok(x), Ok(y)) => assert!(x == y, "{name}, {per_sheet} rows a sheet"),
                        (x, y) => panic!("{name}: {:?} {:?}", x.err(), y.err()),
                    }
                }
                let (held, streamed) = (entries(&held), entries(&streamed));
                assert_eq!(
                    held.keys().collect::<Vec<_>>(),
                    streamed.keys().collect::<Vec<_>>()
                );
                for (entry, want) in &held {
                    let got = &streamed[entry];
                    if entry.starts_with("xl/worksheets/sheet") {
                        assert_eq!(frame(got), frame(want), "{entry}");
                        assert_eq!(cell_styles(got), cell_styles(want), "{entry}");
                        assert_eq!(row_heights(got), row_heights(want), "{entry}");
                    } else if entry != "xl/sharedStrings.xml" {
                        assert_eq!(got, want, "{entry}");
                    }
                }
            }
        }
    }

    /// The same run gives the same bytes on every download, however far apart: core.xml
    /// carries the run's time (10:15 in Vietnam = 03:15 UTC), never the clock's, for the
    /// report and the follow-up list alike.
    #[test]
    fn downloads_of_a_run_are_byte_stable() {
        let (report, exc, meta) = sample();
        let layout = ExceptionLayout::default();
        let report_xlsx = || {
            write_report_to(
                Vec::new(),
                &report,
                &exc,
                exc.len(),
                &meta,
                Lang::Vi,
                layout,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let due: Vec<&ExceptionRow> = exc
            .iter()
            .filter(|e| super::super::followup::needs_repayment(e.kind))
            .collect();
        let followup = || {
            let rows = due.iter().copied();
            super::super::write_followup_to(Vec::new(), rows, due.len(), &meta, Lang::Vi, 10)
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let first = (report_xlsx(), followup());
        // Past a second boundary, so a clock in the file would show.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let second = (report_xlsx(), followup());
        assert!(first.0 == second.0, "report.xlsx differs between downloads");
        assert!(
            first.1 == second.1,
            "follow-up.xlsx differs between downloads"
        );
        for bytes in [&first.0, &first.1] {
            let core = &entries(bytes)["docProps/core.xml"];
            assert!(core.contains("2025-09-30T03:15:00Z"), "{core}");
        }
    }

    /// Fewer or more rows than counted fail the stream rather than pass a wrong file.
    #[test]
    fn a_count_that_does_not_match_fails() {
        let (report, exc, meta) = sample();
        let layout = ExceptionLayout::default();
        for count in [exc.len() - 1, exc.len() + 1] {
            let r = write_report_to(Vec::new(), &report, &exc, count, &meta, Lang::Vi, layout);
            let e = r.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("rows"), "{count}: {e}");
        }
    }

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        push_escaped(&mut out, s);
        String::from_utf8(out).unwrap_or_default()
    }

    #[test]
    fn text_escapes_as_excel_stores_it() {
        assert_eq!(escaped("Nguyễn Văn An"), "Nguyễn Văn An");
        assert_eq!(escaped("A & B <c>"), "A &amp; B &lt;c&gt;");
        assert_eq!(escaped("a\rb\u{1}\tc\n"), "a_x000D_b_x0001_\tc\n");
        assert_eq!(
            escaped("_x0041_ _xZZZZ_ _x12"),
            "_x005F_x0041_ _xZZZZ_ _x12"
        );
        assert_eq!(escaped("\u{FFFE}"), "_xFFFE_");
        assert_eq!(escaped("ắ_x00ắ"), "ắ_x00ắ");
    }

    #[test]
    fn column_letters_both_ways() {
        for (i, name) in [(0, "A"), (15, "P"), (25, "Z"), (26, "AA"), (701, "ZZ")] {
            assert_eq!(column_name(i), name);
            assert_eq!(column_index(name), Some(i));
        }
        assert_eq!(column_index(""), None);
    }
}
