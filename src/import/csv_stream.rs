//! CSV from a reader, in batches of records: a national list (hundreds of MB) is never
//! held whole, as bytes or as cells. Every byte is still checked as before: UTF-8 with the
//! offset of the first bad byte, no NUL bytes, and row numbers are the editor's lines
//! (CRLF, LF and old-Mac CR alike).

use std::io::Read;

use super::ImportError;
use super::grid::{CsvRows, LineCount};

/// Records per batch, and text per batch: what a worker parses at once.
pub(crate) const BATCH_ROWS: usize = 16_384;
pub(crate) const BATCH_TEXT: usize = 8 * 1024 * 1024;
/// Text per batch handed to a worker unsplit (`Batch::Raw`): about 16,000 list rows.
pub(crate) const RAW_TEXT: usize = 2 * 1024 * 1024;
/// Bytes asked of the reader at a time.
const READ: usize = 1024 * 1024;

/// What the byte checks found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Utf8(u64),
    Nul,
}

/// Where the text is in lines: the editor's line of the next byte, and whether the byte
/// before it was a CR (CRLF, LF and CR are each one line break).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lines {
    line: u32,
    after_cr: bool,
}

impl Lines {
    const START: Lines = Lines {
        line: 1,
        after_cr: false,
    };

    fn brk(&mut self, byte: u8) {
        let cr = byte == b'\r';
        if cr || !self.after_cr {
            self.line = self.line.saturating_add(1);
        }
        self.after_cr = cr;
    }

    /// Past `bytes`.
    fn pass(&mut self, bytes: &[u8]) {
        let Some(&last) = bytes.last() else { return };
        if memchr::memchr(b'\r', bytes).is_none() {
            let lf = memchr::memchr_iter(b'\n', bytes).count();
            let joined = self.after_cr && bytes[0] == b'\n';
            self.line = self.line.saturating_add((lf - usize::from(joined)) as u32);
        } else {
            let mut count = LineCount::new(self.line, self.after_cr);
            for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
                count.brk(i, bytes[i]);
            }
            self.line = count.line;
        }
        self.after_cr = last == b'\r';
    }
}

/// A batch of CSV records: split already, or whole lines of text a worker splits
/// (`into_rows`), so the reader's thread only reads, checks and cuts.
pub(crate) enum Batch {
    Parsed(CsvRows),
    /// Complete lines without a quote: fields are the text between delimiters.
    Raw {
        rows: CsvRows,
        at: Lines,
        delimiter: u8,
    },
}

impl Batch {
    pub(crate) fn into_rows(self) -> CsvRows {
        match self {
            Batch::Parsed(rows) => rows,
            Batch::Raw {
                mut rows,
                at,
                delimiter,
            } => {
                rows.split_plain(at.line, at.after_cr, delimiter);
                rows
            }
        }
    }
}

/// What one step of the record reader found.
enum Step {
    Record,
    NeedMore,
    End,
}

/// A CSV text read batch by batch. Every byte is still checked: UTF-8 with the offset of
/// the first bad byte, no NUL bytes.
pub(crate) struct CsvStream<R> {
    file: String,
    inner: R,
    delimiter: u8,
    /// For records with quotes: the csv crate's own parser, so quoting reads as before.
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Bytes read and not yet handed out: `buf[pos..]`.
    buf: Vec<u8>,
    pos: usize,
    /// Offset in the text of `buf[0]`.
    base: u64,
    /// Lines at `buf[pos]`.
    lines: Lines,
    eof: bool,
    done: bool,
}

impl<R: Read> CsvStream<R> {
    /// `body` is the text after any byte-order mark; `delimiter` as detected on its head.
    pub(crate) fn new(file: &str, body: R, delimiter: u8) -> Self {
        CsvStream {
            file: file.to_owned(),
            inner: body,
            delimiter,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            out: Vec::new(),
            ends: Vec::new(),
            buf: Vec::new(),
            pos: 0,
            base: 0,
            lines: Lines::START,
            eof: false,
            done: false,
        }
    }

    fn error(&self, bad: Bad) -> ImportError {
        match bad {
            Bad::Utf8(byte) => ImportError::NotUtf8 {
                file: self.file.clone(),
                byte: byte as usize,
            },
            Bad::Nul => ImportError::UnsupportedFormat {
                file: self.file.clone(),
                detail_vi: "không phải xlsx, xls, ods hay csv".into(),
                detail_en: "not an xlsx, xls, ods or csv file".into(),
            },
        }
    }

    /// Read more after what is left; the buffer grows only for a record longer than it.
    fn fill(&mut self) -> Result<(), ImportError> {
        if self.eof {
            return Ok(());
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
        if self.buf.len() >= MAX_RECORD {
            let line = self.lines.line;
            return Err(ImportError::Corrupt {
                file: self.file.clone(),
                detail: format!(
                    "dòng {line}: một bản ghi dài hơn 2 GiB / line {line}: a record longer than 2 GiB"
                ),
            });
        }
        let start = self.buf.len();
        let want = READ.max(start);
        self.buf.reserve(want);
        let n = (&mut self.inner)
            .take(want as u64)
            .read_to_end(&mut self.buf)
            .map_err(|e| ImportError::Corrupt {
                file: self.file.clone(),
                detail: e.to_string(),
            })?;
        if n < want {
            self.eof = true;
        }
        if memchr::memchr(0, &self.buf[start..]).is_some() {
            return Err(self.error(Bad::Nul));
        }
        // The parser the csv crate used skipped one more byte-order mark at the start.
        if self.base == 0 && start < 3 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.pos = 3;
        }
        Ok(())
    }

    /// `buf[pos..]` as text, and whether it is the end of the file; an incomplete UTF-8
    /// sequence at its end waits for the next read.
    fn text(buf: &[u8], base: u64, eof: bool) -> Result<(&str, bool), Bad> {
        match simdutf8::compat::from_utf8(buf) {
            Ok(s) => Ok((s, eof)),
            Err(e) if e.error_len().is_none() && !eof => {
                let s = simdutf8::compat::from_utf8(&buf[..e.valid_up_to()])
                    .map_err(|_| Bad::Utf8(base))?;
                Ok((s, false))
            }
            Err(e) => Err(Bad::Utf8(base + e.valid_up_to() as u64)),
        }
    }

    /// Up to `max_rows` records, fewer once their text passes `max_text`; `None` at the
    /// end.
    pub(crate) fn next_batch(
        &mut self,
        max_rows: usize,
        max_text: usize,
    ) -> Result<Option<CsvRows>, ImportError> {
        self.next_batch_in(CsvRows::default(), max_rows, max_text)
    }

    /// The same, into the buffers of a batch already walked (`CsvRows::cleared`).
    pub(crate) fn next_batch_in(
        &mut self,
        mut batch: CsvRows,
        max_rows: usize,
        max_text: usize,
    ) -> Result<Option<CsvRows>, ImportError> {
        // Batches keep 32-bit offsets: under 2 GiB of text, plus one record under 2 GiB.
        let max_text = max_text.min(MAX_RECORD);
        while !self.done && batch.len() < max_rows && batch.text_len() < max_text {
            if self.buf.len() == self.pos {
                self.fill()?;
            }
            let base = self.base + self.pos as u64;
            let (text, complete) =
                Self::text(&self.buf[self.pos..], base, self.eof).map_err(|b| self.error(b))?;
            let mut at = 0;
            let mut step = Step::Record;
            while batch.len() < max_rows && batch.text_len() < max_text {
                let (n, s) = read_record(
                    &text[at..],
                    complete,
                    &mut self.lines,
                    self.delimiter,
                    (&mut self.core, &mut self.out, &mut self.ends),
                    &mut batch,
                );
                at += n;
                step = s;
                if !matches!(step, Step::Record) {
                    break;
                }
            }
            self.pos += at;
            match step {
                Step::Record => {}
                Step::End => self.done = true,
                Step::NeedMore => self.fill()?,
            }
        }
        Ok(if batch.is_empty() { None } else { Some(batch) })
    }

    /// About `max_text` of whole lines, for a worker to split: the reader's thread only
    /// reads, checks and cuts. Text with a quote is parsed here, record by record.
    pub(crate) fn next_raw_in(
        &mut self,
        mut batch: CsvRows,
        max_text: usize,
    ) -> Result<Option<Batch>, ImportError> {
        let max_text = max_text.clamp(1, MAX_RECORD);
        loop {
            if self.done {
                return Ok(None);
            }
            while !self.eof && self.buf.len() - self.pos < max_text {
                self.fill()?;
            }
            let avail = &self.buf[self.pos..];
            if avail.is_empty() {
                self.done = true;
                return Ok(None);
            }
            let cut = if self.eof {
                avail.len()
            } else {
                match memchr::memrchr2(b'\r', b'\n', avail) {
                    Some(i) => i + 1,
                    None => {
                        // One line longer than the buffer: read on.
                        self.fill()?;
                        continue;
                    }
                }
            };
            let region = &avail[..cut];
            if memchr::memchr(b'"', region).is_some() {
                let rows = self.next_batch_in(batch, BATCH_ROWS, max_text)?;
                return Ok(rows.map(Batch::Parsed));
            }
            let base = self.base + self.pos as u64;
            let text = simdutf8::compat::from_utf8(region)
                .map_err(|e| self.error(Bad::Utf8(base + e.valid_up_to() as u64)))?;
            batch.push_text(text);
            let at = self.lines;
            self.lines.pass(region);
            self.pos += cut;
            return Ok(Some(Batch::Raw {
                rows: batch,
                at,
                delimiter: self.delimiter,
            }));
        }
    }

    /// Read the rest unparsed, for its byte checks: a list that ends at its signatures is
    /// still refused for a bad byte after them, as when files were read whole.
    pub(crate) fn drain(mut self) -> Result<(), ImportError> {
        loop {
            let base = self.base + self.pos as u64;
            let (text, _) =
                Self::text(&self.buf[self.pos..], base, self.eof).map_err(|b| self.error(b))?;
            self.pos += text.len();
            if self.eof {
                return Ok(());
            }
            self.fill()?;
        }
    }
}

/// One record from the start of `text` (after the line breaks before it), into `batch`:
/// the bytes used, and what was found. `complete`: nothing follows `text`.
fn read_record(
    text: &str,
    complete: bool,
    lines: &mut Lines,
    delimiter: u8,
    (core, out, ends): (&mut csv_core::Reader, &mut Vec<u8>, &mut Vec<usize>),
    batch: &mut CsvRows,
) -> (usize, Step) {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(&c @ (b'\r' | b'\n')) = b.get(i) {
        lines.brk(c);
        i += 1;
    }
    let rest = &b[i..];
    if rest.is_empty() {
        return (i, if complete { Step::End } else { Step::NeedMore });
    }
    let line = lines.line;
    let plain_end = match memchr::memchr3(b'"', b'\r', b'\n', rest) {
        Some(j) if rest[j] != b'"' => Some(j),
        None if complete => Some(rest.len()),
        None => return (i, Step::NeedMore),
        Some(_) => None,
    };
    if let Some(j) = plain_end {
        batch.push_plain(line, &text[i..i + j], delimiter);
        lines.after_cr = false;
        return (i + j, Step::Record);
    }
    // A quote: csv-core reads the record exactly as the csv crate did.
    core.reset();
    let (mut nin, mut nout, mut nend) = (0, 0, 0);
    loop {
        if out.len() == nout {
            out.resize((out.len() * 2).max(1024), 0);
        }
        if ends.len() == nend {
            ends.resize((ends.len() * 2).max(64), 0);
        }
        let input = &rest[nin..];
        let (res, i_n, o_n, e_n) = core.read_record(input, &mut out[nout..], &mut ends[nend..]);
        nin += i_n;
        nout += o_n;
        nend += e_n;
        match res {
            csv_core::ReadRecordResult::InputEmpty if !complete => return (i, Step::NeedMore),
            // Empty input tells csv-core the text has ended.
            csv_core::ReadRecordResult::InputEmpty if !input.is_empty() => {}
            csv_core::ReadRecordResult::InputEmpty => break,
            csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => {
            }
            csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
        }
    }
    lines.pass(&rest[..nin]);
    // Fields are the input without its quotes: still UTF-8.
    let field_text = String::from_utf8_lossy(&out[..nout]);
    let mut start = 0;
    batch.push(
        line,
        ends[..nend].iter().map(|&end| {
            let f = field_text.get(start..end).unwrap_or("");
            start = end;
            f
        }),
    );
    (i + nin, Step::Record)
}

/// The longest record, and the most text a batch collects before it ends.
const MAX_RECORD: usize = 1 << 31;

/// The delimiter that splits the most rows near the top into the same number (≥ 2) of
/// fields: a comma inside an unquoted amount splits one row differently from the rest.
pub(crate) fn detect_delimiter(body: &[u8]) -> u8 {
    let head = &body[..body.len().min(64 * 1024)];
    let mut best = ((0usize, 0usize), b',');
    for d in [b',', b';', b'\t'] {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(d)
            .from_reader(head);
        let widths: Vec<usize> = reader
            .records()
            .take(40)
            .filter_map(Result::ok)
            .map(|r| r.len())
            .collect();
        let mut counts = std::collections::BTreeMap::new();
        for w in widths.iter().filter(|w| **w >= 2) {
            *counts.entry(*w).or_insert(0usize) += 1;
        }
        // (rows agreeing on the most common width, that width)
        let score = counts.iter().map(|(w, n)| (*n, *w)).max().unwrap_or((0, 0));
        if score > best.0 {
            best = (score, d);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    /// A reader that hands out `step` bytes at a time, to cut sequences and CRLFs.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn lines(body: &[u8], step: usize) -> Result<Vec<u32>, ImportError> {
        let mut s = CsvStream::new("x.csv", Trickle(body, step), b',');
        let mut out = Vec::new();
        while let Some(b) = s.next_batch(2, BATCH_TEXT)? {
            out.extend((0..b.len()).map(|r| b.line(r)));
        }
        Ok(out)
    }

    type Records = Vec<(u32, Vec<String>)>;

    fn collect(rows: &CsvRows, out: &mut Records) {
        out.extend(rows.records());
    }

    /// Every record with its line: split by the reader (`raw` None) or in raw batches of
    /// about `raw` bytes, split as a worker would.
    fn records(body: &[u8], step: usize, raw: Option<usize>) -> Result<Records, ImportError> {
        let mut s = CsvStream::new("x.csv", Trickle(body, step), b',');
        let mut out = Vec::new();
        match raw {
            None => {
                while let Some(b) = s.next_batch(2, BATCH_TEXT)? {
                    collect(&b, &mut out);
                }
            }
            Some(max) => {
                while let Some(b) = s.next_raw_in(CsvRows::default(), max)? {
                    collect(&b.into_rows(), &mut out);
                }
            }
        }
        Ok(out)
    }

    /// The csv crate's reading, which the streamed reader must equal field for field.
    fn csv_crate(body: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body)
            .byte_records()
            .filter_map(Result::ok)
            .map(|r| {
                r.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .collect()
    }

    fn same_as_csv_crate(body: &[u8]) {
        let want = csv_crate(body);
        let first = records(body, 64 * 1024, None).map_err(|e| e.to_string());
        let Ok(first) = first else {
            panic!("{body:?}: {first:?}");
        };
        let fields: Vec<Vec<String>> = first.iter().map(|r| r.1.clone()).collect();
        assert_eq!(fields, want, "{body:?}");
        for step in [1, 2, 3, 7, 64 * 1024] {
            for raw in [None, Some(1), Some(2), Some(5), Some(64), Some(RAW_TEXT)] {
                let got = records(body, step, raw).map_err(|e| e.to_string());
                assert_eq!(got.as_ref(), Ok(&first), "{body:?} step {step} raw {raw:?}");
            }
        }
    }

    #[test]
    fn records_and_lines_as_the_csv_crate_reads_them_whichever_path() {
        for body in [
            &b"a,b\n1,2\n"[..],
            b"a,b\r\n1,2\r\n\r\n\r\n3,4",
            b"a,b\r1,2\r3,4\r",
            b"\xEF\xBB\xBFa,b\n1,2",
            b"a,\"x\ny\",c\n\"q\"\"q\",2\nab\"c,\"ab\"c,\"\"\n1,2",
            b",\n,,\n \n\t\n,x,\n",
            b"\"unterminated\n1,2\n3,4",
            b"H\xC3\xA0 N\xE1\xBB\x99i,1\r\n\"\xC4\x90\xC3\xA0, N\xE1\xBA\xB5ng\",2\r",
            b"\n\n\r\r\n",
            b"",
        ] {
            same_as_csv_crate(body);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_the_csv_crate_reads_it(
            body in proptest::collection::vec(
                proptest::sample::select(vec!["a", "\u{1EC7}", ",", "\"", "\r", "\n", " ", "\r\n"]),
                0..40,
            )
        ) {
            same_as_csv_crate(body.concat().as_bytes());
        }
    }

    #[test]
    fn lines_whatever_the_read_sizes() {
        let cases: &[(&[u8], &[u32])] = &[
            (b"a,b\n1,2\n3,4\n", &[1, 2, 3]),
            (b"a,b\r\n1,2\r\n3,4\r\n", &[1, 2, 3]),
            (b"a,b\r1,2\r3,4\r", &[1, 2, 3]),
            (b"a,b\r\n\r\n1,2\r\n", &[1, 3]),
            (b"a,b\n\"x\ny\",2\n3,4\n", &[1, 2, 4]),
            (b"a,b\n\n\n\r\n1,2", &[1, 5]),
            (b"\n\na,b\r\r\n1,2", &[3, 5]),
        ];
        for (body, want) in cases {
            for step in [1, 2, 3, 5, 64 * 1024] {
                let got = lines(body, step).map_err(|e| e.to_string());
                assert_eq!(got.as_deref(), Ok(*want), "{body:?} step {step}");
            }
        }
    }

    #[test]
    fn bad_bytes_are_found_wherever_a_read_cuts() {
        let text = "Hà Nội,1\nĐà Nẵng,2\n".as_bytes();
        for step in [1, 2, 3, 7, 1024] {
            assert!(lines(text, step).is_ok());
            let mut bad = text.to_vec();
            bad.insert(11, 0xE4);
            match lines(&bad, step) {
                Err(ImportError::NotUtf8 { byte, .. }) => assert_eq!(byte, 11, "step {step}"),
                other => panic!("step {step}: {other:?}"),
            }
            // A sequence cut off by the end of the file.
            let mut cut = text.to_vec();
            cut.push(0xE1);
            match lines(&cut, step) {
                Err(ImportError::NotUtf8 { byte, .. }) => assert_eq!(byte, text.len()),
                other => panic!("step {step}: {other:?}"),
            }
            let mut nul = text.to_vec();
            nul.insert(12, 0);
            assert!(matches!(
                lines(&nul, step),
                Err(ImportError::UnsupportedFormat { .. })
            ));
        }
    }
}
