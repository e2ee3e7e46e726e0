//! Checks that run before a workbook reader allocates anything on the file's word.
//!
//! Readers trust what a file declares: calamine reserves `uniqueCount` shared strings, a
//! `.xls` DIMENSIONS record's rows × columns, and expands an `.ods` cell repeated 16,384
//! times in a row repeated 1,200 times into a dense grid. A 2 KB file can thus ask for
//! petabytes and abort the process. Here the zip directory, the declared counts and the
//! real extent of every sheet are read first (streaming, nothing kept), and a file whose
//! grid would exceed the cell budget is refused with a clear message.

use std::io::{BufRead, BufReader, Cursor, Read, Write};

use quick_xml::events::Event;

use super::ImportError;

/// What one import may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Largest total the workbook's zip entries may inflate to (zip bombs).
    pub max_uncompressed_bytes: u64,
    /// Largest number of cells a sheet grid may hold (all sheets, for readers that load
    /// every sheet at once).
    pub max_cells: u64,
}

/// 10 million cells: a full 1,048,576-row sheet of 10 columns.
pub const DEFAULT_MAX_CELLS: u64 = 10_000_000;

/// Office files compress ~5-20×; a zip bomb declares gigabytes or ratios in the thousands.
const MAX_RATIO: u64 = 250;

fn too_big(file: &str, cells: u64, limit: u64, what_vi: &str, what_en: &str) -> ImportError {
    ImportError::TooManyCells {
        file: file.into(),
        detail_vi: format!("{what_vi}: {cells} ô, vượt giới hạn {limit} ô (DOISOAT_MAX_CELLS)"),
        detail_en: format!(
            "{what_en}: {cells} cells, over the {limit}-cell limit (DOISOAT_MAX_CELLS)"
        ),
    }
}

fn corrupt(file: &str, e: impl std::fmt::Display) -> ImportError {
    ImportError::Corrupt {
        file: file.into(),
        detail: e.to_string(),
    }
}

/// Only the central directory is read; nothing is inflated.
pub fn check_zip(file: &str, bytes: &[u8], max_total: u64) -> Result<(), ImportError> {
    let bomb = |detail: String| ImportError::ZipBomb {
        file: file.into(),
        detail,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(file, e))?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|e| corrupt(file, e))?;
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        total = total.saturating_add(size);
        if size > 1024 * 1024 && size / packed > MAX_RATIO {
            return Err(bomb(format!(
                "'{}' inflates {}× ({size} bytes)",
                entry.name().unwrap_or_default(),
                size / packed
            )));
        }
    }
    if total > max_total {
        return Err(bomb(format!(
            "inflates to {total} bytes (limit {max_total})"
        )));
    }
    Ok(())
}

/// The legacy Vietnamese encoding the fonts declared in one XML part imply: xlsx
/// `<font><name val=".VnTime"/>`, ods `<style:font-face style:name="VNI-Times"
/// svg:font-family="…">`. Only the first 1 MB of the part is read.
pub fn legacy_fonts(bytes: &[u8], part: &str) -> Option<super::legacy_vn::Legacy> {
    use super::legacy_vn::Legacy;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let (_, entry) = zip_entry(&mut archive, part)?;
    let mut reader = xml(BufReader::new(entry.take(1024 * 1024)));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e))
                if matches!(e.local_name().as_ref(), "name" | "font-face" | "rFont") =>
            {
                let found = e
                    .attributes()
                    .flatten()
                    .filter(|a| {
                        matches!(a.key.local_name().as_ref(), "val" | "name" | "font-family")
                    })
                    .find_map(|a| Legacy::from_font(a.value.trim_matches(['\'', '"'])));
                if found.is_some() {
                    return found;
                }
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// The zip holds an entry of this name (read from the central directory only).
pub fn zip_has(bytes: &[u8], name: &str) -> bool {
    zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|a| a.index_for_name(name).is_some())
}

/// An entry of the zip, streamed, with its declared inflated size; None when absent.
fn zip_entry<'a, R: Read + std::io::Seek>(
    archive: &'a mut zip::ZipArchive<R>,
    name: &str,
) -> Option<(u64, zip::read::ZipFile<'a, R>)> {
    let index = archive.index_for_name(name)?;
    let entry = archive.by_index(index).ok()?;
    Some((entry.size(), entry))
}

fn xml<R: BufRead>(r: R) -> quick_xml::Reader<R> {
    let mut reader = quick_xml::Reader::from_reader(r);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    reader
}

/// xlsx: calamine reserves the shared-string table's declared `uniqueCount` up front. A
/// string costs at least `<si/>` (5 bytes) of XML, so a count beyond the part's size / 5 is
/// a lie told to make the reader allocate.
pub fn check_xlsx(file: &str, bytes: &[u8], max_cells: u64) -> Result<(), ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(file, e))?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(Result::ok)
        .filter(|n| n.ends_with("sharedStrings.xml"))
        .map(|n| n.into_owned())
        .collect();
    for name in names {
        let Some((size, entry)) = zip_entry(&mut archive, &name) else {
            continue;
        };
        let mut reader = xml(BufReader::new(entry.take(64 * 1024)));
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == "sst" => {
                    for attr in e.attributes().flatten() {
                        // What calamine reserves; `count` (all references) is not used.
                        if attr.key.local_name().as_ref() == "uniqueCount" {
                            let declared = attr.value.trim().parse::<u64>().unwrap_or(0);
                            // The part's size is declared by the file too (bounded by the
                            // zip check); a sheet holds no more strings than cells.
                            let most = (size / 5 + 1).min(max_cells);
                            if declared > most {
                                return Err(ImportError::TooManyCells {
                                    file: file.into(),
                                    detail_vi: format!(
                                        "bảng chuỗi dùng chung khai báo {declared} chuỗi nhưng chỉ chứa được tối đa {most}"
                                    ),
                                    detail_en: format!(
                                        "the shared-string table declares {declared} strings but can hold at most {most}"
                                    ),
                                });
                            }
                        }
                    }
                    break;
                }
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
            buf.clear();
        }
    }
    Ok(())
}

/// ods: calamine reads every sheet of `content.xml` when the file is opened and expands
/// repeated cells and rows into a dense grid. Count, streaming, what that grid would hold:
/// the cells it pushes while reading rows, plus the dense box from the first to the last
/// non-empty cell with every repeat expanded (its own caps: 1,048,576 rows, 16,384 columns).
pub fn check_ods(file: &str, bytes: &[u8], max_cells: u64) -> Result<(), ImportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| corrupt(file, e))?;
    let Some((_, entry)) = zip_entry(&mut archive, "content.xml") else {
        return Ok(());
    };
    let mut reader = xml(BufReader::new(entry));
    let mut buf = Vec::new();
    let mut done: u64 = 0;
    let mut table = Extent::default();
    let over = |cells: u64| {
        too_big(
            file,
            cells,
            max_cells,
            "các ô lặp lại của bảng tính mở rộng thành",
            "the sheets' repeated cells expand to",
        )
    };
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.name().as_ref() == "table:table" => {
                table = Extent::default();
            }
            Ok(Event::End(e)) if e.name().as_ref() == "table:table" => {
                done = done.saturating_add(table.cells());
                table = Extent::default();
            }
            Ok(Event::Start(e)) if e.name().as_ref() == "table:table-row" => {
                let repeats = repeat(&e, "table:number-rows-repeated");
                let row = read_ods_row(&mut reader, file)?;
                table.add_row(repeats, row);
                let cells = done.saturating_add(table.cells());
                if cells > max_cells {
                    return Err(over(cells));
                }
            }
            Ok(Event::Empty(e)) if e.name().as_ref() == "table:table-row" => {
                table.add_row(repeat(&e, "table:number-rows-repeated"), OdsRow::default());
            }
            Ok(Event::Eof) => return Ok(()),
            // Malformed XML: calamine says so in its own words.
            Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

const ODS_MAX_ROWS: u64 = 1_048_576;
const ODS_MAX_COLUMNS: u64 = 16_384;

fn repeat(e: &quick_xml::events::BytesStart<'_>, key: &str) -> u64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.value.trim().parse::<u64>().ok())
        .unwrap_or(1)
}

/// One `table:table-row` as calamine will hold it.
#[derive(Default)]
struct OdsRow {
    /// Cells pushed while reading the row (empty runs before a value, repeated values).
    pushed: u64,
    /// First and last non-empty column.
    span: Option<(u64, u64)>,
}

/// A table's rows so far: what calamine pushes, and the dense box it then builds.
#[derive(Default)]
struct Extent {
    rows: u64,
    pushed: u64,
    first_row: Option<u64>,
    end_row: u64,
    col_min: u64,
    col_max: u64,
}

impl Extent {
    fn add_row(&mut self, repeats: u64, row: OdsRow) {
        let repeats = repeats.min(ODS_MAX_ROWS.saturating_sub(self.rows));
        self.pushed = self.pushed.saturating_add(row.pushed);
        if let Some((lo, hi)) = row.span {
            if self.first_row.is_none() {
                self.first_row = Some(self.rows);
                self.col_min = lo;
                self.col_max = hi;
            }
            self.end_row = self.rows + repeats;
            self.col_min = self.col_min.min(lo);
            self.col_max = self.col_max.max(hi);
        }
        self.rows = self.rows.saturating_add(repeats);
    }

    fn cells(&self) -> u64 {
        let dense = self.first_row.map_or(0, |first| {
            (self.end_row - first).saturating_mul(self.col_max + 1 - self.col_min)
        });
        self.pushed.saturating_add(dense)
    }
}

fn read_ods_row<R: BufRead>(
    reader: &mut quick_xml::Reader<R>,
    file: &str,
) -> Result<OdsRow, ImportError> {
    let mut row = OdsRow::default();
    let (mut col, mut empty_run) = (0u64, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let (cell, open) = match reader.read_event_into(&mut buf) {
            Ok(Event::Start(c)) => (c.into_owned(), true),
            Ok(Event::Empty(c)) => (c.into_owned(), false),
            Ok(Event::End(e)) if e.name().as_ref() == "table:table-row" => return Ok(row),
            Ok(Event::Eof) => return Ok(row),
            Err(e) => return Err(corrupt(file, e)),
            Ok(_) => continue,
        };
        if !matches!(
            cell.name().as_ref(),
            "table:table-cell" | "table:covered-table-cell"
        ) {
            if open {
                skip_element(reader, cell.name().as_ref(), file)?;
            }
            continue;
        }
        let n = repeat(&cell, "table:number-columns-repeated");
        let mut filled = cell
            .attributes()
            .flatten()
            .any(|a| matches!(a.key.as_ref(), "office:value-type" | "table:formula"));
        // Anything inside a cell (a text:p) may make it a value: count it as one.
        if open && skip_element(reader, cell.name().as_ref(), file)? {
            filled = true;
        }
        if filled {
            let before = empty_run.min(ODS_MAX_COLUMNS.saturating_sub(col));
            col += before;
            let n = n.min(ODS_MAX_COLUMNS.saturating_sub(col));
            row.pushed = row.pushed.saturating_add(before).saturating_add(n);
            if n > 0 {
                let lo = row.span.map_or(col, |(lo, _)| lo);
                row.span = Some((lo, col + n - 1));
            }
            col += n;
            empty_run = 0;
        } else {
            empty_run = empty_run.saturating_add(n);
        }
    }
}

/// Read to the end of the element just opened; true when it held anything.
fn skip_element<R: BufRead>(
    reader: &mut quick_xml::Reader<R>,
    name: &str,
    file: &str,
) -> Result<bool, ImportError> {
    let name = name.to_owned();
    let (mut depth, mut content) = (0usize, false);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::End(e)) if depth == 0 && e.name().as_ref() == name.as_str() => {
                return Ok(content);
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Start(_)) => {
                depth += 1;
                content = true;
            }
            Ok(Event::Empty(_) | Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                content = true
            }
            Ok(Event::Eof) => return Ok(content),
            Err(e) => return Err(corrupt(file, e)),
            Ok(_) => {}
        }
    }
}

/// xls: calamine parses every sheet when the workbook is opened. It reserves each sheet's
/// declared DIMENSIONS (up to 2³² rows × 256 columns) and then builds the dense box of the
/// cells it found (row and column are 16-bit: up to 65,536 × 65,536). The records are read
/// here first: a DIMENSIONS record that asks for more than the budget is zeroed in the copy
/// handed to calamine (it only sizes a reservation), and a sheet whose real cells span more
/// than the budget is refused. Encrypted workbooks are named as such.
pub fn prepare_xls(file: &str, bytes: Vec<u8>, max_cells: u64) -> Result<Vec<u8>, ImportError> {
    let mut comp = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| corrupt(file, e))?;
    if comp.is_stream("/EncryptedPackage") {
        return Err(ImportError::Password { file: file.into() });
    }
    let Some(name) = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| comp.is_stream(n))
    else {
        return Err(corrupt(
            file,
            "không có luồng Workbook: không phải tệp Excel / no Workbook stream: not an Excel file",
        ));
    };
    let mut data = Vec::new();
    comp.open_stream(name)
        .and_then(|mut s| s.read_to_end(&mut data))
        .map_err(|e| corrupt(file, e))?;
    let scan = scan_biff(&mut data, max_cells);
    if scan.encrypted {
        return Err(ImportError::Password { file: file.into() });
    }
    if scan.cells > max_cells {
        return Err(too_big(
            file,
            scan.cells,
            max_cells,
            "các ô của bảng tính trải trên",
            "the sheets' cells span",
        ));
    }
    if scan.patched {
        let written = comp
            .open_stream(name)
            .and_then(|mut s| s.write_all(&data).and_then(|()| s.flush()));
        written.map_err(|e| corrupt(file, e))?;
        comp.flush().map_err(|e| corrupt(file, e))?;
    }
    Ok(comp.into_inner().into_inner())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct BiffScan {
    /// Dense cells calamine would build over all sheets (values and formulas).
    cells: u64,
    /// A DIMENSIONS record was zeroed.
    patched: bool,
    encrypted: bool,
}

/// Bounding box of the cells of one substream.
#[derive(Default, Clone, Copy)]
struct BoxOf(Option<(u32, u32, u32, u32)>);

impl BoxOf {
    fn add(&mut self, row: u32, col: u32) {
        self.0 = Some(match self.0 {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
    }
    fn cells(self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| {
            u64::from(r1 - r0 + 1).saturating_mul(u64::from(c1 - c0 + 1))
        })
    }
}

fn u16_at(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at + 2)
        .map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
}

fn u32_at(d: &[u8], at: usize) -> Option<u64> {
    d.get(at..at + 4)
        .map(|b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
}

/// Walk the BIFF records of a workbook stream (see the MS-XLS record list).
fn scan_biff(data: &mut [u8], max_cells: u64) -> BiffScan {
    let mut out = BiffScan::default();
    let (mut pos, mut depth) = (0usize, 0usize);
    let (mut values, mut formulas) = (BoxOf::default(), BoxOf::default());
    while pos + 4 <= data.len() {
        let typ = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let len = usize::from(u16::from_le_bytes([data[pos + 2], data[pos + 3]]));
        let start = pos + 4;
        let end = (start + len).min(data.len());
        pos = start + len;
        match typ {
            // BOF: a substream starts (nested ones are charts inside a sheet).
            0x0809 => depth += 1,
            // EOF: the substream ends; its cells were a sheet's (or nothing).
            0x000A => {
                if depth == 1 {
                    out.cells = out
                        .cells
                        .saturating_add(values.cells())
                        .saturating_add(formulas.cells());
                    values = BoxOf::default();
                    formulas = BoxOf::default();
                }
                depth = depth.saturating_sub(1);
            }
            // FilePass in the globals: the workbook is encrypted (RC4) or obfuscated (XOR,
            // type 0, which calamine lets through and then reads as garbage). Everything
            // after it is scrambled, so nothing more can be read.
            0x002F => {
                out.encrypted = true;
                return out;
            }
            // Dimensions: rows first..last+1 (u32 in BIFF8, u16 before), columns (u16).
            0x0200 if depth == 1 => {
                let d = &data[start..end];
                let (rows, cols) = match d.len() {
                    14 | 16 => (
                        u32_at(d, 4)
                            .zip(u32_at(d, 0))
                            .map_or(0, |(l, f)| l.saturating_sub(f)),
                        u16_at(d, 10)
                            .zip(u16_at(d, 8))
                            .map_or(0, |(l, f)| u64::from(l.saturating_sub(f))),
                    ),
                    _ => (
                        u16_at(d, 2)
                            .zip(u16_at(d, 0))
                            .map_or(0, |(l, f)| u64::from(l.saturating_sub(f))),
                        u16_at(d, 6)
                            .zip(u16_at(d, 4))
                            .map_or(0, |(l, f)| u64::from(l.saturating_sub(f))),
                    ),
                };
                if rows
                    .saturating_add(1)
                    .saturating_mul(cols.saturating_add(1))
                    > max_cells
                {
                    data[start..end].fill(0);
                    out.patched = true;
                }
            }
            // Cells calamine keeps: Number, Label, RString, BoolErr, RK, LabelSst.
            0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD if depth == 1 => {
                let d = &data[start..end];
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    values.add(r, c);
                }
            }
            // Formula: a value cell and a formula cell at the same place.
            0x0006 if depth == 1 => {
                let d = &data[start..end];
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    values.add(r, c);
                    formulas.add(r, c);
                }
            }
            // MulRk: row, first column, RK values, last column.
            0x00BD if depth == 1 => {
                let d = &data[start..end];
                if let (Some(r), Some(c0), Some(c1)) = (
                    u16_at(d, 0),
                    u16_at(d, 2),
                    d.len().checked_sub(2).and_then(|at| u16_at(d, at)),
                ) {
                    values.add(r, c0);
                    values.add(r, c1.max(c0));
                }
            }
            _ => {}
        }
    }
    // A stream cut short still had its cells read.
    out.cells = out
        .cells
        .saturating_add(values.cells())
        .saturating_add(formulas.cells());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::legacy_vn::Legacy;

    fn zip_of(name: &str, body: &str) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let ok = w
            .start_file(name, zip::write::SimpleFileOptions::default())
            .is_ok()
            && w.write_all(body.as_bytes()).is_ok();
        assert!(ok);
        w.finish().map(|c| c.into_inner()).unwrap_or_default()
    }

    #[test]
    fn fonts_name_the_legacy_encoding() {
        let xlsx = zip_of(
            "xl/styles.xml",
            r#"<styleSheet><fonts><font><sz val="11"/><name val="Calibri"/></font><font><name val=".VnTime"/></font></fonts></styleSheet>"#,
        );
        assert_eq!(legacy_fonts(&xlsx, "xl/styles.xml"), Some(Legacy::Tcvn3));
        let ods = zip_of(
            "styles.xml",
            r#"<office:document-styles><office:font-face-decls><style:font-face style:name="VNI-Times" svg:font-family="&apos;VNI-Times&apos;"/></office:font-face-decls></office:document-styles>"#,
        );
        assert_eq!(legacy_fonts(&ods, "styles.xml"), Some(Legacy::Vni));
        let plain = zip_of(
            "xl/styles.xml",
            r#"<styleSheet><fonts><font><name val="Times New Roman"/></font></fonts></styleSheet>"#,
        );
        assert_eq!(legacy_fonts(&plain, "xl/styles.xml"), None);
    }

    #[test]
    fn biff_scan_zeroes_a_lying_dimensions_record_and_stops_at_filepass() {
        let record = |typ: u16, data: &[u8]| {
            let mut r = typ.to_le_bytes().to_vec();
            r.extend((data.len() as u16).to_le_bytes());
            r.extend(data);
            r
        };
        let mut dims = 0u32.to_le_bytes().to_vec();
        dims.extend(u32::MAX.to_le_bytes());
        dims.extend([0, 0, 0, 1, 0, 0]);
        let mut stream = record(0x0809, &[0; 16]);
        stream.extend(record(0x0200, &dims));
        stream.extend(record(0x000A, &[]));
        let scan = scan_biff(&mut stream, DEFAULT_MAX_CELLS);
        assert!(scan.patched && !scan.encrypted);
        assert!(stream[24..38].iter().all(|b| *b == 0), "zeroed in place");
        let mut enc = record(0x0809, &[0; 16]);
        enc.extend(record(0x002F, &[0, 0, 1, 0]));
        enc.extend(record(0x0203, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0]));
        let scan = scan_biff(&mut enc, DEFAULT_MAX_CELLS);
        assert!(scan.encrypted);
        assert_eq!(scan.cells, 0, "nothing read past FILEPASS");
    }
}
