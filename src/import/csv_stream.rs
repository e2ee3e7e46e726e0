//! CSV from a reader, in batches of records: a national list (hundreds of MB) is never
//! held whole, as bytes or as cells. Every byte is still checked as before: UTF-8 with the
//! offset of the first bad byte, no NUL bytes, and row numbers are the editor's lines
//! (CRLF, LF and old-Mac CR alike).

use std::collections::VecDeque;
use std::io::{self, Read};

use super::ImportError;
use super::grid::CsvRows;

/// Records per batch, and text per batch: what a worker parses at once.
pub(crate) const BATCH_ROWS: usize = 16_384;
pub(crate) const BATCH_TEXT: usize = 8 * 1024 * 1024;

/// What the byte checks found, in the bytes read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Utf8(u64),
    Nul,
}

/// The bytes under the CSV parser: checks them as they pass and remembers where line
/// breaks are, so a record's start offset gives its line.
struct Tracked<R> {
    inner: R,
    /// Bytes passed so far.
    offset: u64,
    /// An incomplete UTF-8 sequence at the end of the last read (at most 3 bytes).
    carry: Vec<u8>,
    bad: Option<Bad>,
    /// Runs of CR/LF bytes not yet passed by the records: (start, end, line breaks up to
    /// the run's end).
    runs: VecDeque<(u64, u64, u32)>,
    /// The run still open at the end of the last read: (start, last byte, breaks so far).
    open: Option<(u64, u64)>,
    last_was_cr: bool,
    breaks: u32,
    /// Line breaks before every run already passed.
    passed_breaks: u32,
}

impl<R: Read> Tracked<R> {
    fn new(inner: R) -> Self {
        Tracked {
            inner,
            offset: 0,
            carry: Vec::new(),
            bad: None,
            runs: VecDeque::new(),
            open: None,
            last_was_cr: false,
            breaks: 0,
            passed_breaks: 0,
        }
    }

    fn check_utf8(&mut self, bytes: &[u8], base: u64) -> Result<(), Bad> {
        if memchr::memchr(0, bytes).is_some() {
            return Err(Bad::Nul);
        }
        let mut start = 0;
        if !self.carry.is_empty() {
            // Complete the sequence cut by the last read, byte by byte.
            let mut taken = 0;
            while taken < bytes.len() && self.carry.len() < 4 {
                self.carry.push(bytes[taken]);
                taken += 1;
                match simdutf8::compat::from_utf8(&self.carry) {
                    Ok(_) => break,
                    Err(e) if e.error_len().is_some() => {
                        return Err(Bad::Utf8(base - (self.carry.len() - taken) as u64));
                    }
                    Err(_) => {}
                }
            }
            if simdutf8::compat::from_utf8(&self.carry).is_err() {
                if taken == bytes.len() && self.carry.len() < 4 {
                    return Ok(());
                }
                return Err(Bad::Utf8(base - (self.carry.len() - taken) as u64));
            }
            self.carry.clear();
            start = taken;
        }
        match simdutf8::compat::from_utf8(&bytes[start..]) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                self.carry
                    .extend_from_slice(&bytes[start + e.valid_up_to()..]);
                Ok(())
            }
            Err(e) => Err(Bad::Utf8(base + (start + e.valid_up_to()) as u64)),
        }
    }

    /// Record the CR/LF runs in `bytes` (at `base`). A CR counts as a break, and an LF
    /// right after a CR does not: CRLF, LF and CR are each one line break.
    fn track_lines(&mut self, bytes: &[u8], base: u64) {
        for i in memchr::memchr2_iter(b'\r', b'\n', bytes) {
            let at = base + i as u64;
            match self.open {
                Some((start, last)) if last + 1 == at => self.open = Some((start, at)),
                Some((start, last)) => {
                    self.runs.push_back((start, last + 1, self.breaks));
                    self.open = Some((at, at));
                    self.last_was_cr = false;
                }
                None => {
                    self.open = Some((at, at));
                    self.last_was_cr = false;
                }
            }
            let cr = bytes[i] == b'\r';
            if cr || !self.last_was_cr {
                self.breaks += 1;
            }
            self.last_was_cr = cr;
        }
        // A run ends at the first other byte.
        if let Some((start, last)) = self.open
            && last + 1 < base + bytes.len() as u64
        {
            self.runs.push_back((start, last + 1, self.breaks));
            self.open = None;
            self.last_was_cr = false;
        }
    }

    fn finish_lines(&mut self) {
        if let Some((start, last)) = self.open.take() {
            self.runs.push_back((start, last + 1, self.breaks));
        }
    }

    /// The line a record starting at byte `start` is on (records come in order).
    fn line_of(&mut self, start: u64) -> u32 {
        while let Some(&(_, end, breaks)) = self.runs.front() {
            if end > start {
                break;
            }
            self.passed_breaks = breaks;
            self.runs.pop_front();
        }
        match self.runs.front() {
            // The parser may place a record on the line breaks before it.
            Some(&(run_start, _, breaks)) if run_start <= start => 1 + breaks,
            _ => 1 + self.passed_breaks,
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.bad.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad bytes"));
        }
        let n = self.inner.read(buf)?;
        let base = self.offset;
        if n == 0 {
            self.finish_lines();
            if !self.carry.is_empty() {
                self.bad = Some(Bad::Utf8(base - self.carry.len() as u64));
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad bytes"));
            }
            return Ok(0);
        }
        let bytes = &buf[..n];
        if let Err(bad) = self.check_utf8(bytes, base) {
            self.bad = Some(bad);
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad bytes"));
        }
        self.track_lines(bytes, base);
        self.offset += n as u64;
        Ok(n)
    }
}

/// A CSV text read batch by batch.
pub(crate) struct CsvStream<R> {
    file: String,
    reader: csv::Reader<Tracked<R>>,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> CsvStream<R> {
    /// `body` is the text after any byte-order mark; `delimiter` as detected on its head.
    pub(crate) fn new(file: &str, body: R, delimiter: u8) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(Tracked::new(body));
        CsvStream {
            file: file.to_owned(),
            reader,
            record: csv::ByteRecord::new(),
            done: false,
        }
    }

    fn error(&self, e: impl std::fmt::Display) -> ImportError {
        match self.reader.get_ref().bad {
            Some(Bad::Utf8(byte)) => ImportError::NotUtf8 {
                file: self.file.clone(),
                byte: byte as usize,
            },
            Some(Bad::Nul) => ImportError::UnsupportedFormat {
                file: self.file.clone(),
                detail_vi: "không phải xlsx, xls, ods hay csv".into(),
                detail_en: "not an xlsx, xls, ods or csv file".into(),
            },
            None => ImportError::Corrupt {
                file: self.file.clone(),
                detail: e.to_string(),
            },
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
        if self.done {
            return Ok(None);
        }
        // Batches keep 32-bit offsets: under 2 GiB of text, plus one record under 2 GiB.
        let max_text = max_text.min(MAX_RECORD);
        while batch.len() < max_rows && batch.text_len() < max_text {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => return Err(self.error(e)),
            }
            let start = self.record.position().map_or(0, |p| p.byte());
            let line = self.reader.get_mut().line_of(start);
            if self.record.as_slice().len() >= MAX_RECORD {
                return Err(ImportError::Corrupt {
                    file: self.file.clone(),
                    detail: format!(
                        "dòng {line}: một bản ghi dài hơn 2 GiB / line {line}: a record longer than 2 GiB"
                    ),
                });
            }
            // Every byte passed the stream's UTF-8 check, and fields end at ASCII bytes:
            // one check of the whole record, then slices of it.
            let text =
                simdutf8::compat::from_utf8(self.record.as_slice()).map_err(|e| self.error(e))?;
            let record = &self.record;
            batch.push(
                line,
                (0..record.len()).map(|i| record.range(i).and_then(|r| text.get(r)).unwrap_or("")),
            );
        }
        Ok(if batch.is_empty() { None } else { Some(batch) })
    }

    /// Read the rest unparsed, for its byte checks: a list that ends at its signatures is
    /// still refused for a bad byte after them, as when files were read whole.
    pub(crate) fn drain(mut self) -> Result<(), ImportError> {
        if self.done {
            return Ok(());
        }
        let mut sink = [0u8; 64 * 1024];
        loop {
            match self.reader.get_mut().read(&mut sink) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(self.error(e)),
            }
        }
    }
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
