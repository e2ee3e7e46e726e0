//! Bytes in, one sheet out: format sniffing, calamine for workbooks, csv for text.

use std::io::Cursor;

use calamine::{DataRef, Ods, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx};

use std::io::Read;

use super::ImportError;
use super::csv_stream::{CsvStream, detect_delimiter};
use super::grid::{Cells, Grid, Sparse, Value};
use super::guard::{self, Budget};
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xlsx,
    /// Excel's binary workbook (.xlsb), read like xlsx, cell by cell.
    Xlsb,
    Xls,
    Ods,
    Csv,
    /// ISO 20022 camt.052/053/054 (statements, notifications).
    Camt,
    /// ISO 20022 pain.002 (payment status report).
    Pain002,
    /// SWIFT MT940/MT942.
    Mt940,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Xlsb => "xlsb",
            Format::Xls => "xls",
            Format::Ods => "ods",
            Format::Csv => "csv",
            Format::Camt => "camt",
            Format::Pain002 => "pain.002",
            Format::Mt940 => "mt940",
        }
    }
}

/// The file's real format, from its first bytes (names lie: offices rename .xls to .xlsx).
pub fn sniff(file: &str, bytes: &[u8]) -> Result<Format, ImportError> {
    let trimmed = bytes.iter().position(|b| !b.is_ascii_whitespace());
    if bytes.is_empty() || trimmed.is_none() {
        return Err(ImportError::Empty { file: file.into() });
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Format::Xls);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        // ODF puts an uncompressed `mimetype` entry first.
        let head = &bytes[..bytes.len().min(200)];
        let is_ods = head
            .windows(46)
            .any(|w| w == b"application/vnd.oasis.opendocument.spreadsheet");
        return Ok(if is_ods { Format::Ods } else { Format::Xlsx });
    }
    // A bank's own format (a statement, a status report): named as what it is, never to be
    // "saved as .xlsx" (that would destroy it).
    if let Some(f) = super::bank_format::recognise(bytes) {
        let (what_vi, what_en) = f.what();
        let name = f.name();
        let (why_vi, why_en) = match &f {
            f if super::bank::readable(f) => (
                "doisoat đọc tệp này như kết quả chi của ngân hàng: hãy tải lên ở mục kết quả chi (hoặc --payouts), không phải danh sách đối tượng",
                "doisoat reads it as a bank's payout results: upload it as such (or give it to --payouts), not as a beneficiary list",
            ),
            super::bank_format::BankFormat::Iso20022 {
                message: "pain.001",
                ..
            } => (
                "đây là lệnh chi gửi ngân hàng (doisoat lập bằng payment-orders); doisoat đọc trả lời của ngân hàng: pain.002, camt.053/054 hoặc MT940",
                "these are payment orders sent to a bank (doisoat writes them with payment-orders); doisoat reads the bank's answers: pain.002, camt.053/054 or MT940",
            ),
            _ => (
                "không phải khoản chi trả cho người hưởng",
                "not payments to beneficiaries",
            ),
        };
        return Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: format!("tệp {name} ({what_vi}) của ngân hàng: {why_vi}"),
            detail_en: format!("a bank's {name} file ({what_en}): {why_en}"),
        });
    }
    // Files people attach by mistake: say what they are instead of "no header".
    const OTHER: &[(&[u8], &str)] = &[
        (b"%PDF", "PDF"),
        (b"\x89PNG", "PNG"),
        (b"\xFF\xD8\xFF", "JPEG"),
        (b"GIF8", "GIF"),
        (b"{\\rtf", "RTF"),
        (b"Rar!", "RAR"),
        (b"7z\xBC\xAF", "7-Zip"),
    ];
    if let Some((_, kind)) = OTHER.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: format!("tệp {kind}, không phải bảng tính (xlsx, xls, ods, csv)"),
            detail_en: format!("a {kind} file, not a spreadsheet (xlsx, xls, ods, csv)"),
        });
    }
    // Excel 2.x-4.x (BIFF2-4) worksheets are a bare record stream: a BOF record first.
    if bytes.len() >= 4
        && bytes[0] == 0x09
        && matches!(bytes[1], 0x00 | 0x02 | 0x04)
        && matches!(bytes[2], 0x04 | 0x06 | 0x08)
        && bytes[3] == 0x00
    {
        return Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: "bảng tính Excel 2.x–4.x (định dạng BIFF2–4, trước năm 1995); hãy mở bằng Excel hoặc LibreOffice và lưu lại dạng .xlsx".into(),
            detail_en: "an Excel 2.x–4.x worksheet (BIFF2–4, before 1995); open it in Excel or LibreOffice and save it as .xlsx".into(),
        });
    }
    // Excel's "Unicode Text" (UTF-16 with a BOM, tab-separated): read as text.
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Ok(Format::Csv);
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first == Some(b'<') {
        // Excel opens an HTML table or an Excel 2003 XML workbook (what some systems export
        // as "xls"): saving it again as .xlsx is right. Any other XML is not a spreadsheet.
        let head = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_lowercase();
        let excel_opens = [
            "<html",
            "<table",
            "<!doctype html",
            "urn:schemas-microsoft-com:office:spreadsheet",
            "progid=\"excel.sheet\"",
        ]
        .iter()
        .any(|m| head.contains(m));
        return Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: if excel_opens {
                "tệp là trang HTML hoặc XML của Excel 2003 đổi đuôi thành bảng tính; hãy mở bằng Excel và lưu lại dạng .xlsx".into()
            } else {
                "tệp XML, không phải bảng tính (xlsx, xls, ods, csv) hay định dạng ngân hàng doisoat nhận ra".into()
            },
            detail_en: if excel_opens {
                "the file is an HTML page or an Excel 2003 XML workbook renamed as a spreadsheet; open it in Excel and save as .xlsx".into()
            } else {
                "an XML file, not a spreadsheet (xlsx, xls, ods, csv) nor a bank format doisoat recognises".into()
            },
        });
    }
    if body.contains(&0) {
        return Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: "không phải xlsx, xls, ods hay csv".into(),
            detail_en: "not an xlsx, xls, ods or csv file".into(),
        });
    }
    Ok(Format::Csv)
}

/// Load the named sheet (or the first visible worksheet) of a file. Workbooks are checked
/// against the budget before a reader allocates on their word (see `guard`).
pub fn load(
    file: &str,
    bytes: Vec<u8>,
    sheet: Option<&str>,
    budget: Budget,
) -> Result<(Format, Option<String>, Grid), ImportError> {
    let mut format = sniff(file, &bytes)?;
    if matches!(format, Format::Xlsx | Format::Ods) {
        guard::check_zip(file, &bytes, budget.max_uncompressed_bytes)?;
        if format == Format::Xlsx && guard::zip_has(&bytes, "xl/workbook.bin") {
            format = Format::Xlsb;
        }
    }
    let corrupt = |e: &dyn std::fmt::Display| ImportError::Corrupt {
        file: file.into(),
        detail: e.to_string(),
    };
    let password = || ImportError::Password { file: file.into() };
    match format {
        // Never sniffed: a bank's format is read by `import::bank`, not as a sheet.
        Format::Camt | Format::Pain002 | Format::Mt940 => Err(ImportError::UnsupportedFormat {
            file: file.into(),
            detail_vi: format!("tệp {} không phải bảng tính", format.as_str()),
            detail_en: format!("a {} file is not a spreadsheet", format.as_str()),
        }),
        Format::Csv => {
            let grid = load_csv(file, bytes, budget)?;
            Ok((format, None, grid))
        }
        Format::Xlsx => {
            guard::check_xlsx(file, &bytes, budget.max_cells)?;
            let font_hint = guard::legacy_fonts(&bytes, "xl/styles.xml");
            let mut wb = Xlsx::new(Cursor::new(bytes)).map_err(|e| match e {
                calamine::XlsxError::Password => password(),
                e => corrupt(&e),
            })?;
            let name = pick_sheet(file, wb.sheets_metadata(), sheet)?;
            let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| corrupt(&e))?;
            let mut grid = sparse_grid(file, &name, budget, || {
                reader.next_cell().map_err(|e| e.to_string())
            })?;
            grid.font_hint = font_hint;
            Ok((format, Some(name), grid))
        }
        Format::Xlsb => {
            let mut wb = Xlsb::new(Cursor::new(bytes)).map_err(|e| match e {
                calamine::XlsbError::Password => password(),
                e => corrupt(&e),
            })?;
            let name = pick_sheet(file, wb.sheets_metadata(), sheet)?;
            let mut reader = wb.worksheet_cells_reader(&name).map_err(|e| corrupt(&e))?;
            let grid = sparse_grid(file, &name, budget, || {
                reader.next_cell().map_err(|e| e.to_string())
            })?;
            Ok((format, Some(name), grid))
        }
        Format::Xls => {
            let bytes = guard::prepare_xls(file, bytes, budget.max_cells)?;
            let wb = Xls::new(Cursor::new(bytes)).map_err(|e| match e {
                calamine::XlsError::Password => password(),
                e => corrupt(&e),
            })?;
            let (name, grid) = load_workbook(file, wb, sheet)?;
            Ok((format, Some(name), grid))
        }
        Format::Ods => {
            guard::check_ods(file, &bytes, budget.max_cells)?;
            let font_hint = guard::legacy_fonts(&bytes, "styles.xml")
                .or_else(|| guard::legacy_fonts(&bytes, "content.xml"));
            let wb = Ods::new(Cursor::new(bytes)).map_err(|e| match e {
                calamine::OdsError::Password => password(),
                e => corrupt(&e),
            })?;
            let (name, mut grid) = load_workbook(file, wb, sheet)?;
            grid.font_hint = font_hint;
            Ok((format, Some(name), grid))
        }
    }
}

/// The named sheet, or the first visible worksheet.
fn pick_sheet(
    file: &str,
    metadata: &[calamine::Sheet],
    sheet: Option<&str>,
) -> Result<String, ImportError> {
    match sheet {
        Some(wanted) => metadata
            .iter()
            .find(|s| s.name == wanted || s.name.trim().eq_ignore_ascii_case(wanted.trim()))
            .map(|s| s.name.clone())
            .ok_or_else(|| ImportError::SheetNotFound {
                file: file.into(),
                sheet: wanted.into(),
                available: metadata.iter().map(|s| s.name.clone()).collect(),
            }),
        None => metadata
            .iter()
            .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
            .or_else(|| metadata.iter().find(|s| s.typ == SheetType::WorkSheet))
            .map(|s| s.name.clone())
            .ok_or_else(|| ImportError::NoSheet { file: file.into() }),
    }
}

/// A sheet read cell by cell (xlsx, xlsb) into a sparse grid, within the cell budget. The
/// text copied out of the shared-string table is bounded too: a crafted sheet can point a
/// million cells at one huge string.
fn sparse_grid<'a>(
    file: &str,
    name: &str,
    budget: Budget,
    mut next_cell: impl FnMut() -> Result<Option<calamine::Cell<DataRef<'a>>>, String>,
) -> Result<Grid, ImportError> {
    let corrupt = |detail: String| ImportError::Corrupt {
        file: file.into(),
        detail,
    };
    let max_text = budget.max_uncompressed_bytes.saturating_mul(2);
    let mut cells: Vec<(u32, u32, Value)> = Vec::new();
    let mut text: u64 = 0;
    // Each shared string once, known by where it sits in the workbook's table (which
    // outlives this read): no copy per cell.
    let mut shared: FxHashMap<(usize, usize), u32> = FxHashMap::default();
    let mut strings: Vec<String> = Vec::new();
    while let Some(cell) = next_cell().map_err(corrupt)? {
        let (row, col) = cell.get_position();
        let value = match cell.get_value() {
            DataRef::Empty => continue,
            DataRef::SharedString(s) => {
                // Counted per cell, as a copy would be: the bound stays what it was.
                text += s.len() as u64;
                let at = *shared
                    .entry((s.as_ptr() as usize, s.len()))
                    .or_insert_with(|| {
                        strings.push((*s).to_owned());
                        (strings.len() - 1) as u32
                    });
                Value::Shared(at)
            }
            other => {
                if let DataRef::String(s) = other {
                    text += s.len() as u64;
                }
                Value::Data(other.clone().into())
            }
        };
        if cells.len() as u64 >= budget.max_cells || text > max_text {
            return Err(ImportError::TooManyCells {
                file: file.into(),
                detail_vi: format!(
                    "trang \"{name}\" vượt giới hạn {} ô hoặc {} MB chữ (DOISOAT_MAX_CELLS, DOISOAT_MAX_UNCOMPRESSED_MB)",
                    budget.max_cells,
                    max_text / (1024 * 1024)
                ),
                detail_en: format!(
                    "sheet \"{name}\" exceeds {} cells or {} MB of text (DOISOAT_MAX_CELLS, DOISOAT_MAX_UNCOMPRESSED_MB)",
                    budget.max_cells,
                    max_text / (1024 * 1024)
                ),
            });
        }
        cells.push((row, col, value));
    }
    let sparse = Sparse::with_strings(cells, strings);
    let origin = sparse.origin();
    Ok(Grid::new(Cells::Sparse(sparse), origin))
}

fn load_workbook<R, W>(
    file: &str,
    mut wb: W,
    sheet: Option<&str>,
) -> Result<(String, Grid), ImportError>
where
    R: std::io::Read + std::io::Seek,
    W: Reader<R>,
    W::Error: std::fmt::Display,
{
    let name = pick_sheet(file, wb.sheets_metadata(), sheet)?;
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| ImportError::Corrupt {
            file: file.into(),
            detail: e.to_string(),
        })?;
    let origin = range.start().unwrap_or((0, 0));
    Ok((name, Grid::new(Cells::Sheet(range), origin)))
}

/// Excel's "Unicode Text" export: UTF-16 (little-endian with BOM FF FE, or big-endian
/// FE FF), tab-separated. Decoded to UTF-8 text, then read like any CSV.
fn utf16_to_utf8(file: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>, ImportError> {
    let little = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return Ok(None),
    };
    let units = bytes[2..].chunks(2).map(|c| match (c, little) {
        ([a, b], true) => u16::from_le_bytes([*a, *b]),
        ([a, b], false) => u16::from_be_bytes([*a, *b]),
        // An odd last byte: not a whole character.
        _ => 0xDC00,
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(ImportError::Corrupt {
                    file: file.into(),
                    detail: format!(
                        "văn bản UTF-16 hỏng ở byte {} / broken UTF-16 text at byte {}",
                        2 + 2 * i,
                        2 + 2 * i
                    ),
                });
            }
        }
    }
    Ok(Some(text.into_bytes()))
}

/// The size of the head read to tell a file's format and a CSV's delimiter (the delimiter
/// looks at 64 KiB after any byte-order mark).
const HEAD: u64 = 64 * 1024 + 3;

/// A file as opened: a loaded sheet, or a CSV text to read batch by batch.
pub(crate) enum Opened<'r> {
    Sheet {
        format: Format,
        sheet: Option<String>,
        grid: Grid,
    },
    Csv(Box<CsvStream<Box<dyn Read + 'r>>>),
}

/// Where a file's bytes are: already in memory (an upload), or still to be read.
pub enum Input<R> {
    Bytes(Vec<u8>),
    Reader(R),
}

/// Open a file. Workbooks are read whole (zip and compound files need to seek, and are
/// checked against the budget before they inflate); CSV text is streamed. Bytes already
/// in memory are used as they are, never copied.
pub(crate) fn open<'r, R: Read + 'r>(
    file: &str,
    input: Input<R>,
    sheet: Option<&str>,
    budget: Budget,
) -> Result<Opened<'r>, ImportError> {
    let mut raw = match input {
        Input::Reader(r) => r,
        Input::Bytes(bytes) => return open_bytes(file, bytes, sheet, budget),
    };
    let io_error = |e: std::io::Error| ImportError::Corrupt {
        file: file.into(),
        detail: e.to_string(),
    };
    let mut head = Vec::new();
    (&mut raw)
        .take(HEAD)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    let full = head.len() as u64 == HEAD;
    let format = match sniff(file, &head) {
        // Only whitespace so far: look at the rest before calling the file empty.
        Err(ImportError::Empty { .. }) if full => {
            raw.read_to_end(&mut head).map_err(io_error)?;
            sniff(file, &head)?
        }
        other => other?,
    };
    if format != Format::Csv {
        raw.read_to_end(&mut head).map_err(io_error)?;
        let (format, sheet, grid) = load(file, head, sheet, budget)?;
        return Ok(Opened::Sheet {
            format,
            sheet,
            grid,
        });
    }
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        raw.read_to_end(&mut head).map_err(io_error)?;
        let text = utf16_to_utf8(file, &head)?.unwrap_or_default();
        let delimiter = detect_delimiter(&text);
        let body: Box<dyn Read + 'r> = Box::new(std::io::Cursor::new(text));
        return Ok(Opened::Csv(Box::new(CsvStream::new(file, body, delimiter))));
    }
    if head.starts_with(b"\xEF\xBB\xBF") {
        head.drain(..3);
    }
    let delimiter = detect_delimiter(&head);
    let body: Box<dyn Read + 'r> = Box::new(std::io::Cursor::new(head).chain(raw));
    Ok(Opened::Csv(Box::new(CsvStream::new(file, body, delimiter))))
}

/// `open` for bytes in memory: the same readings, on the bytes themselves.
fn open_bytes<'r>(
    file: &str,
    bytes: Vec<u8>,
    sheet: Option<&str>,
    budget: Budget,
) -> Result<Opened<'r>, ImportError> {
    let format = sniff(file, &bytes)?;
    if format != Format::Csv {
        let (format, sheet, grid) = load(file, bytes, sheet, budget)?;
        return Ok(Opened::Sheet {
            format,
            sheet,
            grid,
        });
    }
    let (text, skip) = match utf16_to_utf8(file, &bytes)? {
        Some(text) => (text, 0),
        None if bytes.starts_with(b"\xEF\xBB\xBF") => (bytes, 3),
        None => (bytes, 0),
    };
    let delimiter = detect_delimiter(&text[skip..]);
    let mut body = std::io::Cursor::new(text);
    body.set_position(skip as u64);
    let body: Box<dyn Read + 'r> = Box::new(body);
    Ok(Opened::Csv(Box::new(CsvStream::new(file, body, delimiter))))
}

/// A whole CSV text as one grid (small files and tests; imports read batches).
fn load_csv(file: &str, bytes: Vec<u8>, budget: Budget) -> Result<Grid, ImportError> {
    let mut stream = match open_bytes(file, bytes, None, budget)? {
        Opened::Csv(s) => s,
        Opened::Sheet { grid, .. } => return Ok(grid),
    };
    let rows = stream.next_batch(usize::MAX, usize::MAX)?;
    Ok(Grid::new(Cells::Csv(rows.unwrap_or_default()), (0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(max_uncompressed_bytes: u64) -> Budget {
        Budget {
            max_uncompressed_bytes,
            max_cells: guard::DEFAULT_MAX_CELLS,
        }
    }

    #[test]
    fn delimiter_detection() {
        assert_eq!(detect_delimiter(b"a;b;c\n1;2;3\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(detect_delimiter(b"a,b,c\n\"1,5\",2,3\n"), b',');
        // Thousands separators inside quotes do not fool it.
        assert_eq!(
            detect_delimiter(b"ten;so tien\n\"A\";\"1,500,000\"\n"),
            b';'
        );
    }

    #[test]
    fn sniffing() {
        assert!(matches!(sniff("a", b""), Err(ImportError::Empty { .. })));
        assert!(matches!(
            sniff("a", b"  \n"),
            Err(ImportError::Empty { .. })
        ));
        assert!(matches!(
            sniff("a", b"<html><table>"),
            Err(ImportError::UnsupportedFormat { .. })
        ));
        assert!(matches!(
            sniff("a", b"\x00\x01binary"),
            Err(ImportError::UnsupportedFormat { .. })
        ));
        assert_eq!(sniff("a", b"a,b\n").ok(), Some(Format::Csv));
        assert!(matches!(
            sniff("a.xlsx", b"%PDF-1.4\n"),
            Err(ImportError::UnsupportedFormat { .. })
        ));
        assert!(matches!(
            sniff("a.xls", b"\x89PNG\r\n"),
            Err(ImportError::UnsupportedFormat { .. })
        ));
        assert_eq!(sniff("a", b"PK\x03\x04rest").ok(), Some(Format::Xlsx));
    }

    fn lines(body: &[u8]) -> Vec<u32> {
        match load("x.csv", body.to_vec(), None, budget(1 << 30)) {
            Ok((_, _, grid)) => (0..grid.height()).map(|r| grid.row_number(r)).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn csv_row_numbers_are_the_editor_lines() {
        assert_eq!(lines(b"a,b\n1,2\n3,4\n"), vec![1, 2, 3]);
        assert_eq!(lines(b"a,b\r\n1,2\r\n3,4\r\n"), vec![1, 2, 3]);
        assert_eq!(lines(b"a,b\r1,2\r3,4\r"), vec![1, 2, 3]);
        assert_eq!(lines(b"\xEF\xBB\xBFa,b\r\n\r\n1,2\r\n"), vec![1, 3]);
        // A quoted field spanning lines: the next record is on a later line.
        assert_eq!(lines(b"a,b\n\"x\ny\",2\n3,4\n"), vec![1, 2, 4]);
    }

    #[test]
    fn unicode_text_is_read_as_tab_separated() {
        let text = "Họ và tên\tSố tiền\r\nNguyễn Văn An\t1500000\r\n";
        for little in [true, false] {
            let mut bytes = if little {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for u in text.encode_utf16() {
                bytes.extend(if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                });
            }
            match load("x.txt", bytes, None, budget(1 << 30)) {
                Ok((Format::Csv, _, grid)) => {
                    assert_eq!(grid.height(), 2);
                    assert_eq!(grid.cell(1, 0).display(), "Nguyễn Văn An");
                    assert_eq!(grid.cell(1, 1).display(), "1500000");
                    assert_eq!(grid.row_number(1), 2);
                }
                other => panic!("{}", other.err().map(|e| e.to_string()).unwrap_or_default()),
            }
        }
    }

    #[test]
    fn old_excel_worksheets_are_named() {
        for head in [
            [0x09u8, 0x00, 0x04, 0x00],
            [0x09, 0x02, 0x06, 0x00],
            [0x09, 0x04, 0x06, 0x00],
        ] {
            let mut bytes = head.to_vec();
            bytes.extend([0u8; 40]);
            match sniff("cu.xls", &bytes) {
                Err(ImportError::UnsupportedFormat { detail_en, .. }) => {
                    assert!(detail_en.contains("Excel 2.x"), "{detail_en}")
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn csv_not_utf8_is_a_clear_error() {
        let err = load("x.csv", b"H\xe4 N\xf4i,1\n".to_vec(), None, budget(1 << 30)).err();
        assert!(matches!(err, Some(ImportError::NotUtf8 { .. })));
    }

    /// A zip whose one entry is 200 MB of zeros (deflates ~1000×).
    fn zip_bomb() -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let chunk = vec![0u8; 1 << 20];
        let ok = w.start_file("xl/worksheets/sheet1.xml", opts).is_ok()
            && (0..200).all(|_| w.write_all(&chunk).is_ok());
        assert!(ok);
        w.finish().map(|c| c.into_inner()).unwrap_or_default()
    }

    #[test]
    fn zip_bombs_are_refused_before_inflating() {
        let bomb = zip_bomb();
        assert!(
            bomb.len() < 1024 * 1024,
            "small on the wire: {}",
            bomb.len()
        );
        let err = load("bom.xlsx", bomb.clone(), None, budget(1 << 30)).err();
        assert!(matches!(err, Some(ImportError::ZipBomb { .. })), "{err:?}");
        // A total beyond the limit is refused too.
        let err = load("bom.xlsx", bomb, None, budget(1024)).err();
        assert!(matches!(err, Some(ImportError::ZipBomb { .. })), "{err:?}");
    }

    #[test]
    fn corrupt_xlsx_is_an_error_not_a_panic() {
        let err = load(
            "x.xlsx",
            b"PK\x03\x04garbage".to_vec(),
            None,
            budget(1 << 30),
        )
        .err();
        assert!(matches!(err, Some(ImportError::Corrupt { .. })));
    }
}
