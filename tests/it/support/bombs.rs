//! Tiny files that ask a spreadsheet reader for huge allocations (issue 9): each is a few
//! KB on the wire. Built here, not shipped, so what each one lies about is plain to read.

use std::io::{Cursor, Write};

const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

fn zip(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in entries {
        let opts = if *name == "mimetype" {
            stored
        } else {
            deflated
        };
        let ok = w.start_file(*name, opts).is_ok() && w.write_all(body.as_bytes()).is_ok();
        assert!(ok, "writing {name}");
    }
    w.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// A one-sheet xlsx with the given sheet data and shared strings.
pub fn xlsx(sheet_data: &str, shared_strings: &str) -> Vec<u8> {
    let content_types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
    let rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let wb_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
    );
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>{sheet_data}</sheetData></worksheet>"#
    );
    zip(&[
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", &rels),
        ("xl/workbook.xml", &workbook),
        ("xl/_rels/workbook.xml.rels", &wb_rels),
        ("xl/worksheets/sheet1.xml", &sheet),
        ("xl/sharedStrings.xml", shared_strings),
    ])
}

/// `uniqueCount="100000000000000"`: calamine would reserve 2.4 PB for the table.
pub fn xlsx_shared_strings_lie() -> Vec<u8> {
    xlsx(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row>"#,
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" count="100000000000000" uniqueCount="100000000000000"><si><t>Họ và tên</t></si></sst>"#
        ),
    )
}

/// One cell at A1 and one at XFD1048576: a dense 16,384 × 1,048,576 grid to a box reader.
pub fn xlsx_far_corners() -> Vec<u8> {
    xlsx(
        r#"<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="1048576"><c r="XFD1048576" t="s"><v>0</v></c></row>"#,
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN_NS}" count="2" uniqueCount="1"><si><t>x</t></si></sst>"#
        ),
    )
}

/// A one-table ods with the given rows.
pub fn ods(rows: &str) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Sheet1">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    );
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    zip(&[
        ("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
        ("META-INF/manifest.xml", manifest),
        ("content.xml", &content),
    ])
}

/// A value repeated across all 16,384 columns, in a row repeated 1,200 times.
pub fn ods_repeats() -> Vec<u8> {
    ods(
        r#"<table:table-row table:number-rows-repeated="1200"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>"#,
    )
}

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend(data);
    r
}

/// A BIFF8 workbook: one sheet with DIMENSIONS (first row, last row + 1, first col,
/// last col + 1) and NUMBER cells at the given (row, col).
pub fn xls(dimensions: (u32, u32, u16, u16), cells: &[(u16, u16)]) -> Vec<u8> {
    let bof = |dt: u16| {
        let mut d = vec![0x00, 0x06];
        d.extend(dt.to_le_bytes());
        d.extend([0u8; 12]);
        record(0x0809, &d)
    };
    let mut sheet = bof(0x0010);
    let mut dims = dimensions.0.to_le_bytes().to_vec();
    dims.extend(dimensions.1.to_le_bytes());
    dims.extend(dimensions.2.to_le_bytes());
    dims.extend(dimensions.3.to_le_bytes());
    dims.extend([0, 0]);
    sheet.extend(record(0x0200, &dims));
    for (r, c) in cells {
        let mut d = r.to_le_bytes().to_vec();
        d.extend(c.to_le_bytes());
        d.extend(0u16.to_le_bytes());
        d.extend(1.0f64.to_le_bytes());
        sheet.extend(record(0x0203, &d));
    }
    sheet.extend(record(0x000A, &[]));
    // Globals: BOF, BoundSheet8 (offset of the sheet's BOF, visible worksheet, name), EOF.
    let name = b"Sheet1";
    let boundsheet_len = 4 + 4 + 2 + 2 + name.len();
    let globals_len = bof(0x0005).len() + boundsheet_len + 4;
    let mut bs = (globals_len as u32).to_le_bytes().to_vec();
    bs.extend([0, 0, name.len() as u8, 0]);
    bs.extend(name);
    let mut stream = bof(0x0005);
    stream.extend(record(0x0085, &bs));
    stream.extend(record(0x000A, &[]));
    stream.extend(sheet);
    // Pad past the mini-stream cutoff so the stream lives in regular sectors.
    while stream.len() < 4096 + 64 {
        stream.extend(record(0x00EF, &[0, 0]));
    }
    let mut comp =
        match cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new())) {
            Ok(c) => c,
            Err(e) => panic!("cfb: {e}"),
        };
    let ok = comp
        .create_stream("/Workbook")
        .and_then(|mut s| s.write_all(&stream))
        .is_ok();
    assert!(ok && comp.flush().is_ok(), "writing the xls");
    comp.into_inner().into_inner()
}

/// DIMENSIONS says 4,294,967,295 rows × 256 columns; the one cell is at A1.
pub fn xls_dimensions_lie() -> Vec<u8> {
    xls((0, u32::MAX, 0, 256), &[(0, 0)])
}

/// Two cells, at A1 and at the last row and a 16-bit column: a 65,536 × 65,536 box.
pub fn xls_far_corners() -> Vec<u8> {
    xls((0, 1, 0, 1), &[(0, 0), (65535, 65535)])
}
