//! Spreadsheets and CSV files in, typed rows and row errors out. Callers store them.
//!
//! Office lists have a title block above the header, a column-number row `(1) (2) …`
//! under it, section rows ("I. Xã Tân Lập"), a totals row and signatures at the bottom.
//! The walker here knows that layout; `beneficiaries` and `payouts` parse the data rows.

pub mod bank;
pub mod bank_format;
mod beneficiaries;
mod csv_stream;
pub mod grid;
pub mod guard;
pub mod header;
pub mod legacy_vn;
mod payouts;
pub mod source;
pub mod spool;

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::sync::{Arc, Mutex, mpsc};

use rust_decimal::Decimal;

pub use beneficiaries::{
    import_beneficiaries, import_beneficiaries_from, import_beneficiaries_into,
};
pub use payouts::{
    AccountSample, import_payouts, import_payouts_from, import_payouts_into, sample_accounts,
};
pub use source::{Format, Input};
// Typed like the rows they describe, in `domain` (the store keeps them too).
pub use crate::domain::records::{ControlTotal, RowError};

use crate::domain::banks::BankId;
use crate::domain::money::{self, AmountError};
use crate::domain::names::fold;
use csv_stream::{BATCH_ROWS, BATCH_TEXT, Batch, CsvStream, RAW_TEXT};
use grid::{Cell, Cells, Grid};
use header::{Field, Header};

/// What importers need to know besides the bytes.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// IDs whose derived birth year is after this year are invalid.
    pub as_of_year: i32,
    /// The sheet to read; the first visible worksheet when `None`.
    pub sheet: Option<String>,
    /// Bank of a payout file that has no bank column.
    pub default_bank: Option<BankId>,
    /// Largest total a workbook may inflate to (zip-bomb guard).
    pub max_uncompressed_bytes: u64,
    /// Largest number of cells a sheet may expand to in memory.
    pub max_cells: u64,
    /// Threads that parse a streamed file's rows (0: one per core). The rows, errors and
    /// figures are the same whatever the count.
    pub threads: usize,
    /// The payment orders doisoat wrote for the period: a bank's answer that names only an
    /// end-to-end reference (pain.002, camt, MT940) is linked to the list row it pays.
    pub orders: Option<Arc<crate::domain::payment_orders::PaymentOrders>>,
}

/// 256 MiB: a 100,000-row list inflates to ~60 MB of sheet XML.
pub const DEFAULT_MAX_UNCOMPRESSED: u64 = 256 * 1024 * 1024;

impl ImportOptions {
    pub fn new(as_of_year: i32) -> Self {
        Self {
            as_of_year,
            sheet: None,
            default_bank: None,
            max_uncompressed_bytes: DEFAULT_MAX_UNCOMPRESSED,
            max_cells: guard::DEFAULT_MAX_CELLS,
            threads: 0,
            orders: None,
        }
    }

    fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    pub fn budget(&self) -> guard::Budget {
        guard::Budget {
            max_uncompressed_bytes: self.max_uncompressed_bytes,
            max_cells: self.max_cells,
        }
    }
}

/// A row type that importers first read in a borrowed form (`Draft`), so a row stored into
/// compact columns costs no allocation per field.
pub trait Drafted: Sized + Send {
    type Draft<'a>;
    /// The amount the control total sums.
    fn amount(draft: &Self::Draft<'_>) -> Decimal;
    /// The owned row, for stores of owned rows.
    fn owned(draft: Self::Draft<'_>) -> Self;
}

impl Drafted for crate::domain::records::BeneficiaryRow {
    type Draft<'a> = crate::domain::records::BeneficiaryDraft<'a>;
    fn amount(draft: &Self::Draft<'_>) -> Decimal {
        draft.amount_due
    }
    fn owned(draft: Self::Draft<'_>) -> Self {
        draft.into_owned()
    }
}

impl Drafted for crate::domain::records::PayoutRow {
    type Draft<'a> = crate::domain::records::PayoutDraft<'a>;
    fn amount(draft: &Self::Draft<'_>) -> Decimal {
        draft.amount
    }
    fn owned(draft: Self::Draft<'_>) -> Self {
        draft.into_owned()
    }
}

/// Where an import puts its accepted rows: a `Vec` of owned rows, or compact columns
/// (`domain::columns`) for files of any size. Batches parsed apart are appended in order.
pub trait Rows<T: Drafted>: Default + Send {
    fn push(&mut self, row: T::Draft<'_>);
    fn append(&mut self, other: Self);
    fn count(&self) -> usize;
}

impl<T: Drafted> Rows<T> for Vec<T> {
    fn push(&mut self, row: T::Draft<'_>) {
        Vec::push(self, T::owned(row));
    }
    fn append(&mut self, mut other: Self) {
        if self.is_empty() {
            *self = other;
        } else {
            Vec::append(self, &mut other);
        }
    }
    fn count(&self) -> usize {
        self.len()
    }
}

impl Rows<crate::domain::records::BeneficiaryRow> for crate::domain::columns::ListTable {
    fn push(&mut self, row: crate::domain::records::BeneficiaryDraft<'_>) {
        crate::domain::columns::ListTable::push_draft(self, row);
    }
    fn append(&mut self, other: Self) {
        crate::domain::columns::ListTable::append(self, other);
    }
    fn count(&self) -> usize {
        crate::domain::records::ListRows::len(self)
    }
}

impl Rows<crate::domain::records::PayoutRow> for crate::domain::columns::PayoutTable {
    fn push(&mut self, row: crate::domain::records::PayoutDraft<'_>) {
        crate::domain::columns::PayoutTable::push_draft(self, row);
    }
    fn append(&mut self, other: Self) {
        crate::domain::columns::PayoutTable::append(self, other);
    }
    fn count(&self) -> usize {
        crate::domain::records::PayoutRows::len(self)
    }
}

/// Rows handed on in file order, `FEED_ROWS` at a time, while the import is still reading
/// the file: an upload's rows go to the database as they are read, never all in memory.
/// The feed made by `RowFeed::new` is the one the import's rows arrive in; those made by
/// `Default` hold a batch parsed apart until it is appended to it.
pub struct RowFeed<T> {
    batch: Vec<T>,
    size: usize,
    sent: usize,
    /// Takes a full batch; false once nobody takes them (the writer stopped): later rows
    /// are counted, not kept.
    out: Option<Box<dyn FnMut(Vec<T>) -> bool + Send>>,
    closed: bool,
}

/// Rows per batch handed on: the store's chunk.
pub const FEED_ROWS: usize = 65_536;

impl<T> RowFeed<T> {
    pub fn new(out: impl FnMut(Vec<T>) -> bool + Send + 'static) -> Self {
        Self::in_batches_of(FEED_ROWS, out)
    }

    pub fn in_batches_of(size: usize, out: impl FnMut(Vec<T>) -> bool + Send + 'static) -> Self {
        RowFeed {
            batch: Vec::new(),
            size: size.max(1),
            sent: 0,
            out: Some(Box::new(out)),
            closed: false,
        }
    }

    /// Hand on what is left (the import has ended). False when nobody took it.
    pub fn flush(&mut self) -> bool {
        if !self.batch.is_empty() {
            self.hand_on();
        }
        !self.closed
    }

    fn hand_on(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.sent += batch.len();
        match self.out.as_mut() {
            Some(out) if !self.closed => self.closed = !out(batch),
            _ => {}
        }
    }
}

impl<T> Default for RowFeed<T> {
    fn default() -> Self {
        RowFeed {
            batch: Vec::new(),
            size: FEED_ROWS,
            sent: 0,
            out: None,
            closed: false,
        }
    }
}

impl<T: Drafted> Rows<T> for RowFeed<T> {
    fn push(&mut self, row: T::Draft<'_>) {
        self.batch.push(T::owned(row));
        if self.out.is_some() && self.batch.len() >= self.size {
            self.hand_on();
        }
    }
    fn append(&mut self, other: Self) {
        let mut rows = other.batch;
        if self.out.is_none() {
            Vec::append(&mut self.batch, &mut rows);
            return;
        }
        let mut rows = rows.into_iter();
        while rows.len() > 0 {
            let room = self.size.saturating_sub(self.batch.len()).max(1);
            self.batch.extend(rows.by_ref().take(room));
            if self.batch.len() >= self.size {
                self.hand_on();
            }
        }
    }
    fn count(&self) -> usize {
        self.sent + self.batch.len()
    }
}

impl<T: Drafted, R: Rows<T>> Imported<T, R> {
    /// A list to replace the current one must hold at least one usable row: a header with
    /// nothing under it, or only rejected rows, would drop every figure to 0.
    pub fn require_rows(self) -> Result<Self, ImportError> {
        if self.rows.count() > 0 {
            return Ok(self);
        }
        let first_errors = self
            .errors
            .iter()
            .take(5)
            .map(|e| {
                format!(
                    "dòng / row {}{}: {} / {}",
                    e.row,
                    e.column
                        .as_deref()
                        .map(|c| format!(", {c}"))
                        .unwrap_or_default(),
                    e.reason_vi,
                    e.reason_en
                )
            })
            .collect();
        Err(ImportError::NoRows {
            file: self.file.to_string(),
            data_rows: self.data_rows,
            rejected_rows: self.rejected_rows,
            first_errors,
            errors: self.errors,
        })
    }
}

impl ControlTotal {
    pub fn mismatch(&self) -> bool {
        self.stated != self.computed
    }
}

/// The result of importing one file: its rows in `R` (owned rows by default).
#[derive(Debug, Clone)]
pub struct Imported<T, R = Vec<T>> {
    pub file: Arc<str>,
    pub format: Format,
    pub sheet: Option<String>,
    /// The title block above the header, one text per row.
    pub title: Vec<String>,
    pub header_row: u32,
    /// Multiplier applied to amounts (ĐVT).
    pub unit: Decimal,
    /// Rows that hold data: `rows.len() + rejected_rows == data_rows`, always.
    pub data_rows: usize,
    pub rejected_rows: usize,
    pub rows: R,
    pub errors: Vec<RowError>,
    pub control_total: Option<ControlTotal>,
    /// File-level remarks (e.g. no status column: every row taken as paid).
    pub notices: Vec<String>,
    pub(crate) row_type: std::marker::PhantomData<fn() -> T>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("Tệp rỗng / empty file: {file}")]
    Empty { file: String },
    #[error("Định dạng không hỗ trợ / unsupported format: {file}: {detail_vi} / {detail_en}")]
    UnsupportedFormat {
        file: String,
        detail_vi: String,
        detail_en: String,
    },
    #[error("Không đọc được tệp (hỏng?) / cannot read the file (corrupt?): {file}: {detail}")]
    Corrupt { file: String, detail: String },
    #[error(
        "Tệp CSV không phải UTF-8 (lỗi ở byte {byte}); hãy lưu lại dạng \"CSV UTF-8\" / CSV file is not UTF-8 (at byte {byte}): {file}"
    )]
    NotUtf8 { file: String, byte: usize },
    #[error("Không có trang tính \"{sheet}\" / no sheet named \"{sheet}\" in {file}; có/available: {}", available.join(", "))]
    SheetNotFound {
        file: String,
        sheet: String,
        available: Vec<String>,
    },
    #[error(
        "Tệp nén bất thường, từ chối để bảo vệ máy chủ / suspicious compressed workbook refused: {file}: {detail}"
    )]
    ZipBomb { file: String, detail: String },
    #[error(
        "Bảng tính quá lớn hoặc bất thường, từ chối để bảo vệ máy chủ / the sheet is too large or malformed and was refused to protect the server: {file}: {detail_vi} / {detail_en}"
    )]
    TooManyCells {
        file: String,
        detail_vi: String,
        detail_en: String,
    },
    #[error(
        "Tệp có mật khẩu / the workbook is password-protected: {file}. Mở bằng Excel, vào Tệp > Thông tin > Bảo vệ sổ làm việc > Mã hoá bằng mật khẩu, xoá mật khẩu rồi lưu lại / open it in Excel, File > Info > Protect Workbook > Encrypt with Password, clear the password and save"
    )]
    Password { file: String },
    #[error(
        "Danh sách không có dòng hợp lệ nào ({rejected_rows} trong {data_rows} dòng dữ liệu bị từ chối); danh sách hiện hành giữ nguyên / the list has no valid row ({rejected_rows} of {data_rows} data rows rejected); the current list is unchanged: {file}{}",
        first_errors.iter().map(|e| format!("\n- {e}")).collect::<String>()
    )]
    NoRows {
        file: String,
        data_rows: usize,
        rejected_rows: usize,
        /// The first row errors, as "row N, column: reason".
        first_errors: Vec<String>,
        /// Every row error, for the API's answer.
        errors: Vec<RowError>,
    },
    #[error("{file}: {detail_vi} / {detail_en}")]
    WrongSlot {
        file: String,
        detail_vi: String,
        detail_en: String,
    },
    #[error("Tệp không có trang tính nào / the workbook has no worksheet: {file}")]
    NoSheet { file: String },
    #[error(
        "Không tìm thấy dòng tiêu đề trong {HEADER_SCAN_ROWS} dòng đầu / header row not found in the first {HEADER_SCAN_ROWS} rows: {file}{}. Cột tìm thấy / columns found: [{}]. Cột bắt buộc còn thiếu / required columns missing: [{}]",
        sheet.as_deref().map(|s| format!(" (sheet {s})")).unwrap_or_default(),
        found.join(" | "),
        missing.join(" | ")
    )]
    NoHeader {
        file: String,
        sheet: Option<String>,
        found: Vec<String>,
        missing: Vec<String>,
    },
    #[error(
        "Không xác định được ngân hàng của tệp {file}: tệp không có cột \"Ngân hàng\", tiêu đề không ghi tên ngân hàng và số tài khoản không cho biết chắc ngân hàng theo danh sách đối tượng; hãy ghi tên ngân hàng (trường bank khi tải lên, hoặc --payouts Agribank={file}) / the file has no bank column, its title names no bank and its accounts do not tell one bank from the beneficiary list: give the bank (the upload's bank field, or --payouts BANK=FILE)"
    )]
    NoBank { file: String },
}

const HEADER_SCAN_ROWS: usize = header::HEADER_SCAN_ROWS;

/// Everything a row parser needs to read cells and report problems.
pub(crate) struct RowCtx<'a> {
    grid: &'a Grid,
    row: grid::RowView<'a>,
    header: &'a Header,
    file: &'a Arc<str>,
    sheet: Option<&'a str>,
    r: usize,
    /// Commune named by the last section row ("I. Xã Tân Lập"), if any.
    section: Option<&'a str>,
    errors: Vec<RowError>,
    banks: &'a mut BankCache,
}

/// A file names its banks and statuses in a handful of spellings; read each spelling once.
#[derive(Default)]
pub(crate) struct BankCache {
    banks: rustc_hash::FxHashMap<String, Option<BankId>>,
    statuses: rustc_hash::FxHashMap<String, Option<crate::domain::status::PayoutStatus>>,
}

impl BankCache {
    pub fn resolve(&mut self, text: &str) -> Option<BankId> {
        if let Some(b) = self.banks.get(text) {
            return *b;
        }
        let b = BankId::resolve(text);
        self.banks.insert(text.to_owned(), b);
        b
    }

    pub fn status(&mut self, text: &str) -> Option<crate::domain::status::PayoutStatus> {
        if let Some(s) = self.statuses.get(text) {
            return *s;
        }
        let s = crate::domain::status::PayoutStatus::parse(text);
        self.statuses.insert(text.to_owned(), s);
        s
    }
}

impl<'a> RowCtx<'a> {
    pub fn row_number(&self) -> u32 {
        self.grid.row_number(self.r)
    }

    pub fn cell(&self, f: Field) -> Cell<'a> {
        self.header
            .column(f)
            .map_or(Cell::Empty, |c| self.row.cell(c))
    }

    pub fn has(&self, f: Field) -> bool {
        self.header.has(f)
    }

    pub fn has_text(&self, f: Field) -> bool {
        !self.cell(f).is_empty()
    }

    /// Text of a cell (numbers as Excel shows them), trimmed, borrowed where the cell holds
    /// text; None when empty.
    pub fn text_ref(&self, f: Field) -> Option<std::borrow::Cow<'a, str>> {
        let c = self.cell(f);
        if c.is_empty() {
            None
        } else {
            Some(c.display())
        }
    }

    pub fn resolve_bank(&mut self, text: &str) -> Option<BankId> {
        self.banks.resolve(text)
    }

    pub fn resolve_status(&mut self, text: &str) -> Option<crate::domain::status::PayoutStatus> {
        self.banks.status(text)
    }

    pub fn section(&self) -> Option<&'a str> {
        self.section
    }

    /// Whether this row has been rejected already (one reason is enough for a row).
    pub fn rejected(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn reject(&mut self, f: Field, vi: impl Into<String>, en: impl Into<String>) {
        let col = self.header.column(f);
        let full = self.cell(f).display();
        let value = cut(&full);
        // Reasons quote the value: quote the cut one, so a 40 MB cell is stored as ~100
        // characters, not three times whole.
        let (mut vi, mut en): (String, String) = (vi.into(), en.into());
        if value.len() < full.len() {
            vi = vi.replace(full.as_ref(), &value);
            en = en.replace(full.as_ref(), &value);
        }
        self.errors.push(RowError {
            file: self.file.to_string(),
            sheet: self.sheet.map(str::to_owned),
            row: self.row_number(),
            column: col.map(|c| self.grid.column_letter(c)),
            column_name: col
                .map(|c| self.header.name_of(c).to_owned())
                .or_else(|| Some(f.label().to_owned())),
            value: value.into_owned(),
            reason_vi: cut(&vi).into_owned(),
            reason_en: cut(&en).into_owned(),
        });
    }

    /// Refuse the row when a field's text is longer than any real value of it: a 40 MB
    /// name would otherwise be stored, reported and shown on every dashboard.
    fn check_lengths(&mut self) {
        const LIMITS: &[(Field, usize)] = &[
            (Field::PopulationId, 40),
            (Field::Name, 200),
            (Field::Amount, 40),
            (Field::Account, 40),
            (Field::Bank, 100),
            (Field::BirthDate, 40),
            (Field::Sex, 20),
            (Field::Category, 200),
            (Field::Commune, 200),
            (Field::Address, 500),
            (Field::Reference, 100),
            (Field::Status, 100),
            (Field::ValueDate, 40),
            (Field::Reason, 500),
            (Field::Debit, 40),
            (Field::Credit, 40),
        ];
        for &(f, limit) in LIMITS {
            let Some(c) = self.header.column(f) else {
                continue;
            };
            // Bytes bound characters, and the cell's bytes its trimmed text's: count only
            // a text that might be too long.
            if self.row.text_len(c) <= limit {
                continue;
            }
            let n = match self.row.cell(c) {
                Cell::Text(raw) if raw.len() > limit => {
                    let t = self.row.cell(c).as_text().unwrap_or(raw);
                    if t.len() > limit {
                        t.chars().count()
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            if n > limit {
                self.reject(
                    f,
                    format!("Quá dài: {n} ký tự, tối đa {limit}"),
                    format!("Too long: {n} characters, at most {limit}"),
                );
            }
        }
    }

    /// An amount in whole đồng, unit applied. `Ok(None)` when the cell is empty.
    pub fn amount(&mut self) -> Option<Decimal> {
        self.amount_in(Field::Amount)
    }

    /// The amount in a statement's debit or credit column `f`, whose side the column
    /// says: a sign written there ("-1.500.000", "(1.500.000)") is dropped.
    pub fn amount_unsigned_in(&mut self, f: Field) -> Option<Decimal> {
        let unsigned = match self.cell(f) {
            Cell::Number(x) => Cell::Number(x.abs()),
            Cell::Int(i) => Cell::Int(i.saturating_abs()),
            Cell::Text(t) => {
                let t = t.trim();
                let t = t
                    .strip_prefix('(')
                    .and_then(|t| t.strip_suffix(')'))
                    .unwrap_or(t);
                Cell::Text(t.trim_start_matches(['-', '\u{2212}']).trim_start())
            }
            other => other,
        };
        self.amount_of(f, unsigned)
    }

    /// The amount in column `f` (a statement's debit or credit), as `amount` reads it.
    pub fn amount_in(&mut self, f: Field) -> Option<Decimal> {
        self.amount_of(f, self.cell(f))
    }

    /// `cell` (column `f`'s, as it stands or unsigned) read as an amount, or the row rejected.
    fn amount_of(&mut self, f: Field, cell: Cell<'_>) -> Option<Decimal> {
        match read_amount(cell, self.header.unit) {
            Ok(v) => Some(v),
            Err(e) => {
                self.reject(f, e.message_vi(), e.message_en());
                None
            }
        }
    }

    /// The file the row is in, for a draft row to point at (no copy, no count).
    pub fn file(&self) -> &'a Arc<str> {
        self.file
    }
}

/// Longest text of a cell kept in a row error (characters).
pub const ROW_ERROR_VALUE_CHARS: usize = 100;

/// A value as stored in a row error: at most `ROW_ERROR_VALUE_CHARS` characters, and when
/// cut, says so and how long it was.
pub fn cut(text: &str) -> std::borrow::Cow<'_, str> {
    let Some((at, _)) = text.char_indices().nth(ROW_ERROR_VALUE_CHARS) else {
        return std::borrow::Cow::Borrowed(text);
    };
    let total = text.chars().count();
    std::borrow::Cow::Owned(format!(
        "{}… [đã cắt, dài {total} ký tự / cut, {total} characters]",
        &text[..at]
    ))
}

fn read_amount(cell: Cell<'_>, unit: Decimal) -> Result<Decimal, AmountError> {
    let raw = match cell {
        Cell::Empty => return Err(AmountError::Empty),
        Cell::Number(f) => money::amount_from_f64(f)?,
        Cell::Int(i) => Decimal::from(i),
        Cell::Text(t) => money::parse_amount_text(t)?,
        other => return Err(AmountError::NotANumber(other.display().into_owned())),
    };
    money::to_dong(raw, unit)
}

/// What a row below the header is.
#[derive(Debug, PartialEq)]
enum RowKind {
    Skip,
    /// A section row; carries a commune name when it names one.
    Section(Option<String>),
    Subtotal,
    Total,
    /// Signatures or the place-and-date line: the table is over.
    End,
    Data,
}

fn folded_label(text: &str) -> String {
    fold(text)
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}

fn total_marker(text: &str) -> Option<RowKind> {
    let l = folded_label(text);
    let total = ["tong cong", "tong so", "total", "grand total"]
        .iter()
        .any(|p| l == *p || l.starts_with(&format!("{p} ")) || l.starts_with(&format!("{p}:")))
        || matches!(l.as_str(), "tong" | "sum");
    if total {
        return Some(RowKind::Total);
    }
    let subtotal = [
        "cong xa",
        "cong phuong",
        "cong thi tran",
        "cong thon",
        "cong trang",
        "cong nhom",
        "cong muc",
    ];
    if l == "cong"
        || l.starts_with("cong:")
        || l == "subtotal"
        || subtotal.iter().any(|p| l.starts_with(p))
    {
        return Some(RowKind::Subtotal);
    }
    None
}

const SIGNATURE_MARKERS: &[&str] = &[
    "nguoi lap",
    "lap bieu",
    "ke toan",
    "thu truong",
    "giam doc",
    "chu tich",
    "ky ten",
    "ky, ghi ro",
    "ghi ro ho ten",
    "xac nhan cua",
    "thu quy",
    "prepared by",
    "approved by",
];

fn is_signature(text: &str) -> bool {
    let l = fold(text);
    if SIGNATURE_MARKERS.iter().any(|m| l.contains(m)) {
        return true;
    }
    // "…, ngày 15 tháng 9 năm 2024"
    let words: Vec<&str> = l
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.contains(&"ngay") && words.contains(&"thang") && words.contains(&"nam")
}

fn is_column_number(cell: Cell<'_>) -> bool {
    match cell {
        Cell::Number(f) => f.fract() == 0.0 && (0.0..=200.0).contains(&f),
        Cell::Int(i) => (0..=200).contains(&i),
        Cell::Text(t) => {
            let t = t
                .trim()
                .trim_start_matches(['(', '['])
                .trim_end_matches([')', ']']);
            (!t.is_empty() && t.len() <= 3 && t.chars().all(|c| c.is_ascii_digit()))
                || (t.len() == 1 && t.chars().all(|c| c.is_ascii_uppercase()))
                || t.contains('=') && t.len() <= 12
        }
        _ => false,
    }
}

/// A commune named in a section row or an address: "I. Xã Tân Lập", "Thôn 2, xã Tân Lập".
fn commune_in(text: &str) -> Option<String> {
    for part in text.split([',', '-', ';']) {
        let part = part.trim();
        let l = fold(part);
        let start = l
            .split_whitespace()
            .position(|w| matches!(w, "xa" | "phuong" | "thi"))
            .filter(|&i| {
                let words: Vec<&str> = l.split_whitespace().collect();
                words[i] != "thi" || words.get(i + 1) == Some(&"tran")
            });
        if let Some(i) = start {
            // Keep the original spelling from that word on.
            let name: Vec<&str> = part.split_whitespace().skip(i).collect();
            if name.len() >= 2 {
                return Some(name.join(" "));
            }
        }
    }
    None
}

fn classify_row<'g>(
    row: grid::RowView<'g>,
    header: &Header,
    near_header: bool,
    filled: &mut Vec<(usize, Cell<'g>)>,
) -> RowKind {
    let id_col = header.column(Field::PopulationId);
    let has_id = id_col.is_some_and(|c| !row.cell(c).is_empty());
    // A row with an ID is data, whatever else it holds (every test below needs no ID, or
    // is met by the ID's cell); only near the header can it be a row of column numbers.
    if has_id && !near_header {
        return RowKind::Data;
    }
    row.filled(filled);
    if filled.is_empty() {
        return RowKind::Skip;
    }
    if near_header && filled.len() >= 2 && filled.iter().all(|(_, c)| is_column_number(*c)) {
        return RowKind::Skip;
    }
    // A statement's amount is its debit or its credit.
    let amount_cols = [
        header.column(Field::Amount),
        header.column(Field::Debit),
        header.column(Field::Credit),
    ];
    let amount_col = amount_cols.into_iter().flatten().next();
    // Data rows carry an ID; only rows without one are worth folding for a totals label.
    if !has_id {
        for (_, cell) in filled.iter().take(3) {
            if let Some(text) = cell.as_text()
                && let Some(kind) = total_marker(text)
            {
                return kind;
            }
        }
    }
    let has_amount = amount_cols
        .into_iter()
        .flatten()
        .any(|c| !row.cell(c).is_empty());
    if !has_id
        && !has_amount
        && filled
            .iter()
            .any(|(_, c)| c.as_text().is_some_and(is_signature))
    {
        return RowKind::End;
    }
    if filled.len() == 1
        && let Some(text) = filled[0].1.as_text()
        && !has_id
        && !has_amount
    {
        let l = fold(text);
        let enumerated = l.split_once(['.', ')']).is_some_and(|(head, _)| {
            !head.is_empty()
                && head.len() <= 4
                && head.chars().all(|c| "ivxlcdm0123456789abc".contains(c))
        });
        let commune = commune_in(text);
        if enumerated || commune.is_some() {
            return RowKind::Section(commune);
        }
    }
    let key_cols = [
        id_col,
        amount_col,
        header.column(Field::Debit),
        header.column(Field::Credit),
        header.column(Field::Name),
        header.column(Field::Account),
    ];
    if !filled.iter().any(|(c, _)| key_cols.contains(&Some(*c))) {
        // Notes in columns the table does not use.
        return RowKind::Skip;
    }
    RowKind::Data
}

/// The rows under the header, handed to `parse`: what an import found.
pub(crate) struct Walked<R> {
    pub rows: R,
    /// Sum of the accepted rows' amounts, for the totals row.
    pub amount: Decimal,
    pub errors: Vec<RowError>,
    pub data_rows: usize,
    pub rejected_rows: usize,
    /// Totals row number and its raw amount.
    pub total: Option<(u32, Result<Decimal, AmountError>)>,
    /// A totals or signature row ended the table.
    stopped: bool,
    /// The commune named by the last section row so far.
    section: Option<String>,
}

/// One run of rows walked on its own (a streamed batch, or a whole sheet).
struct Chunk<R> {
    found: Walked<R>,
    /// A data row came before the chunk's first section row: its commune may be the
    /// section in force when the chunk began.
    inherits: bool,
}

impl<R: Default> Default for Walked<R> {
    fn default() -> Self {
        Walked {
            rows: R::default(),
            amount: Decimal::ZERO,
            errors: Vec::new(),
            data_rows: 0,
            rejected_rows: 0,
            total: None,
            stopped: false,
            section: None,
        }
    }
}

impl<R> Walked<R> {
    /// Add the next chunk's findings, in file order.
    fn absorb<T: Drafted>(&mut self, chunk: Walked<R>)
    where
        R: Rows<T>,
    {
        if self.stopped {
            return;
        }
        let mut chunk = chunk;
        self.rows.append(chunk.rows);
        self.amount += chunk.amount;
        self.errors.append(&mut chunk.errors);
        self.data_rows += chunk.data_rows;
        self.rejected_rows += chunk.rejected_rows;
        self.total = chunk.total;
        self.stopped = chunk.stopped;
        if chunk.section.is_some() {
            self.section = chunk.section;
        }
    }
}

/// What walking needs besides the rows: shared, read-only, by every thread.
struct Walker<'a, F> {
    header: &'a Header,
    file: &'a Arc<str>,
    sheet: Option<&'a str>,
    parse: &'a F,
}

impl<F> Walker<'_, F> {
    /// Walk `rows` of `grid` (`base`: how many rows of the table came before the grid),
    /// with `section` in force at the start.
    fn chunk<T: Drafted, R: Rows<T>>(
        &self,
        grid: &Grid,
        rows: Range<usize>,
        base: usize,
        section: Option<&str>,
    ) -> Chunk<R>
    where
        F: for<'g> Fn(&mut RowCtx<'g>) -> Option<T::Draft<'g>>,
    {
        let header = self.header;
        let mut out: Walked<R> = Walked {
            section: section.map(str::to_owned),
            ..Walked::default()
        };
        let mut named_section = false;
        let mut inherits = false;
        let mut filled = Vec::new();
        let mut banks = BankCache::default();
        for r in rows {
            let near_header = base + r <= header.last_row + 2;
            let row = grid.row_view(r);
            match classify_row(row, header, near_header, &mut filled) {
                RowKind::Skip | RowKind::Subtotal => continue,
                RowKind::Section(commune) => {
                    if commune.is_some() {
                        out.section = commune;
                        named_section = true;
                    }
                    continue;
                }
                RowKind::Total => {
                    if let Some(c) = header.column(Field::Amount) {
                        let cell = row.cell(c);
                        if !cell.is_empty() {
                            out.total = Some((grid.row_number(r), read_amount(cell, header.unit)));
                        }
                    }
                    out.stopped = true;
                    break;
                }
                RowKind::End => {
                    out.stopped = true;
                    break;
                }
                RowKind::Data => {}
            }
            inherits |= !named_section;
            out.data_rows += 1;
            let mut ctx = RowCtx {
                grid,
                row,
                header,
                file: self.file,
                sheet: self.sheet,
                r,
                section: out.section.as_deref(),
                errors: Vec::new(),
                banks: &mut banks,
            };
            ctx.check_lengths();
            let parsed = if ctx.errors.is_empty() {
                (self.parse)(&mut ctx)
            } else {
                None
            };
            match parsed {
                Some(row) if ctx.errors.is_empty() => {
                    out.amount += T::amount(&row);
                    out.rows.push(row);
                }
                _ => {
                    out.rejected_rows += 1;
                    if ctx.errors.is_empty() {
                        ctx.reject(Field::Amount, "Dòng không dùng được", "Row cannot be used");
                    }
                    out.errors.append(&mut ctx.errors);
                }
            }
        }
        if !named_section {
            // Only a section row of this chunk says what follows it.
            out.section = None;
        }
        Chunk {
            found: out,
            inherits,
        }
    }
}

/// A walked batch waiting for its turn, with its rows when it may need walking again.
type Done<R> = (Chunk<R>, Option<(usize, Grid)>);

/// Merge the batches that are next in file order. A batch walked without knowing the
/// section in force is walked again when it turns out there was one (files with section
/// rows are office lists, small; the common flat file never needs it).
fn merge_ready<T, R, F>(
    walker: &Walker<'_, F>,
    pending: &mut BTreeMap<usize, Done<R>>,
    next: &mut usize,
    out: &mut Walked<R>,
) where
    T: Drafted,
    R: Rows<T>,
    F: for<'g> Fn(&mut RowCtx<'g>) -> Option<T::Draft<'g>>,
{
    while let Some((chunk, rows)) = pending.remove(next) {
        *next += 1;
        let chunk = match (&out.section, rows) {
            (Some(section), Some((base, grid))) if chunk.inherits => {
                walker.chunk(&grid, 0..grid.height(), base, Some(section))
            }
            _ => chunk,
        };
        out.absorb(chunk.found);
    }
}

/// Walk the whole table: the loaded grid, then, for a streamed CSV, every further batch,
/// parsed by `threads` workers and merged in file order (the same result for any count).
fn walk_table<T, R, F>(
    table: &mut Table<'_>,
    file: &Arc<str>,
    parse: &F,
    threads: usize,
    rows: R,
) -> Result<Walked<R>, ImportError>
where
    T: Drafted,
    R: Rows<T>,
    F: for<'g> Fn(&mut RowCtx<'g>) -> Option<T::Draft<'g>> + Sync,
{
    let walker = Walker {
        header: &table.header,
        file,
        sheet: table.sheet.as_deref(),
        parse,
    };
    let mut out = Walked {
        rows,
        ..Walked::default()
    };
    let first = walker.chunk(
        &table.grid,
        table.header.last_row + 1..table.grid.height(),
        0,
        None,
    );
    out.absorb(first.found);
    let Some(mut stream) = table.rest.take() else {
        return Ok(out);
    };
    let legacy = table.legacy;
    let mut base = table.grid.height();
    let batch = |rows| {
        let grid = Grid::new(Cells::Csv(rows), (0, 0));
        match legacy {
            Some(enc) => grid.converted(enc),
            None => grid,
        }
    };
    // Rows right under the header are classified with it in view (`near_header`): those
    // come split by the reader, which then knows their count; later text goes to the
    // workers unsplit, and `base` only has to stay past the header's neighbourhood.
    let near = table.header.last_row + 2;
    let read_next = |stream: &mut CsvStream<_>, spare, base: usize| {
        if base <= near {
            Ok(stream
                .next_batch_in(spare, BATCH_ROWS, BATCH_TEXT)?
                .map(Batch::Parsed))
        } else {
            stream.next_raw_in(spare, RAW_TEXT)
        }
    };
    if threads <= 1 {
        let mut spare = grid::CsvRows::default();
        while !out.stopped {
            let Some(rows) = read_next(&mut stream, spare, base)? else {
                break;
            };
            let grid = batch(rows.into_rows());
            let chunk = walker.chunk(&grid, 0..grid.height(), base, out.section.as_deref());
            base += grid.height();
            out.absorb(chunk.found);
            spare = grid
                .into_csv()
                .map(grid::CsvRows::cleared)
                .unwrap_or_default();
        }
        stream.drain()?;
        return Ok(out);
    }
    let (jobs, job_rx) = mpsc::sync_channel::<(usize, usize, Batch)>(threads * 2);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done) = mpsc::channel::<(usize, Done<R>)>();
    // Walked batches' buffers go back to the reader: a few circulate instead of one fresh
    // allocation (and fresh pages) per batch.
    let (spare_tx, spare) = mpsc::channel::<grid::CsvRows>();
    let read = std::thread::scope(|scope| -> Result<(), ImportError> {
        // Owned here: dropping it tells the workers there is no more.
        let jobs = jobs;
        for _ in 0..threads {
            let (job_rx, done_tx, walker, batch) = (&job_rx, done_tx.clone(), &walker, &batch);
            let spare_tx = spare_tx.clone();
            scope.spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((seq, base, rows)) = job else { return };
                    let grid = batch(rows.into_rows());
                    let chunk = walker.chunk(&grid, 0..grid.height(), base, None);
                    let keep = if chunk.inherits {
                        Some((base, grid))
                    } else {
                        if let Some(rows) = grid.into_csv() {
                            // The reader may be gone (a totals row ended the table).
                            let _ = spare_tx.send(rows.cleared());
                        }
                        None
                    };
                    if done_tx.send((seq, (chunk, keep))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let (mut pending, mut next, mut sent) = (BTreeMap::new(), 0usize, 0usize);
        while !out.stopped {
            let buffers = spare.try_recv().unwrap_or_default();
            let Some(rows) = read_next(&mut stream, buffers, base)? else {
                break;
            };
            let height = match &rows {
                Batch::Parsed(rows) => rows.len(),
                Batch::Raw { .. } => 0,
            };
            if jobs.send((sent, base, rows)).is_err() {
                break;
            }
            sent += 1;
            base += height;
            while let Ok((seq, d)) = done.try_recv() {
                pending.insert(seq, d);
            }
            merge_ready(&walker, &mut pending, &mut next, &mut out);
        }
        drop(jobs);
        while next < sent && !out.stopped {
            let Ok((seq, d)) = done.recv() else { break };
            pending.insert(seq, d);
            merge_ready(&walker, &mut pending, &mut next, &mut out);
        }
        Ok(())
    });
    read?;
    stream.drain()?;
    Ok(out)
}

/// Rows read to find a streamed CSV's header and encoding (both look at the top only).
const HEAD_ROWS: usize = 1_000;

/// An opened sheet: its recognised header, the legacy encoding it was converted from, and
/// the title block above the header. `grid` is the whole sheet, or a CSV's first rows
/// with `rest` still to be read.
pub(crate) struct Table<'r> {
    pub format: Format,
    pub sheet: Option<String>,
    pub grid: Grid,
    pub header: Header,
    pub legacy: Option<legacy_vn::Legacy>,
    rest: Option<Box<CsvStream<Box<dyn Read + 'r>>>>,
}

impl Table<'_> {
    /// The texts above the header ("UBND XÃ TÂN LẬP", "DANH SÁCH … THÁNG 9/2024"), each cut.
    pub fn title(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut filled = Vec::new();
        for r in 0..self.grid.height() {
            if self.grid.row_number(r) >= self.header.row_number {
                break;
            }
            self.grid.filled(r, &mut filled);
            let line: Vec<String> = filled
                .iter()
                .map(|(_, c)| c.display().into_owned())
                .collect();
            if !line.is_empty() {
                out.push(cut(&line.join(" ")).into_owned());
            }
        }
        out
    }
}

/// Shared head of both importers: the sheet and its recognised header.
pub(crate) fn open_table<'r, R: Read + 'r>(
    file: &str,
    input: source::Input<R>,
    opts: &ImportOptions,
    required: &[&[Field]],
) -> Result<Table<'r>, ImportError> {
    let (format, sheet, grid, mut rest) =
        match source::open(file, input, opts.sheet.as_deref(), opts.budget())? {
            source::Opened::Sheet {
                format,
                sheet,
                grid,
            } => (format, sheet, grid, None),
            source::Opened::Csv(mut stream) => {
                let head = stream
                    .next_batch(HEAD_ROWS, usize::MAX)?
                    .unwrap_or_default();
                (
                    Format::Csv,
                    None,
                    Grid::new(Cells::Csv(head), (0, 0)),
                    Some(stream),
                )
            }
        };
    let not_found = |nf: header::NotFound| ImportError::NoHeader {
        file: file.into(),
        sheet: sheet.clone(),
        // What the first row held, bounded: a 40 MB cell is not echoed back.
        found: nf
            .found
            .iter()
            .take(60)
            .map(|f| cut(f).into_owned())
            .collect(),
        missing: nf.missing,
    };
    // Lists typed with legacy Vietnamese fonts (TCVN3 `.VnTime`, VNI `VNI-Times`) arrive
    // as `Hä vµ tªn`: converted to Unicode when the text says so, or when the fonts do and
    // the text as it stands has no header.
    let converted_header = |enc| {
        let converted = grid.converted(enc);
        header::find(&converted, required).map(|h| (converted, h))
    };
    let found = match legacy_vn::guess(grid.sample_texts(2_000)) {
        // The text itself says so: convert (unless only the original has a header).
        Some(enc) => match converted_header(enc) {
            Ok((converted, header)) => Ok((converted, header, Some(enc))),
            Err(nf) => match header::find(&grid, required) {
                Ok(header) => Ok((grid, header, None)),
                Err(_) => Err(not_found(nf)),
            },
        },
        None => match header::find(&grid, required) {
            Ok(header) => Ok((grid, header, None)),
            // Only the fonts say so: convert if that is what finds the header.
            Err(nf) => match grid.font_hint.map(|enc| (enc, converted_header(enc))) {
                Some((enc, Ok((converted, header)))) => Ok((converted, header, Some(enc))),
                _ => Err(not_found(nf)),
            },
        },
    };
    match found {
        Ok((grid, header, legacy)) => Ok(Table {
            format,
            sheet: sheet.clone(),
            grid,
            header,
            legacy,
            rest,
        }),
        Err(e) => {
            // A bad byte further down is what a whole read would have said first.
            if let Some(stream) = rest.take() {
                stream.drain()?;
            }
            Err(e)
        }
    }
}

/// The notice for a list converted from a legacy encoding.
fn legacy_notice(enc: Option<legacy_vn::Legacy>) -> Option<String> {
    enc.map(|e| {
        format!(
            "Tệp được gõ bằng bảng mã cũ {n} (phông .VnTime/VNI-Times); đã chuyển sang Unicode để tên khớp với ngân hàng. Nên lưu lại tệp bằng Unicode / the file was typed in the legacy {n} encoding; converted to Unicode so names match the bank's. Consider saving it in Unicode",
            n = e.name()
        )
    })
}

/// Shared tail of both importers: the rows, the control total, notices, the result.
pub(crate) fn finish<T: Drafted, R: Rows<T>>(
    file: &str,
    mut table: Table<'_>,
    parse: impl for<'g> Fn(&mut RowCtx<'g>) -> Option<T::Draft<'g>> + Sync,
    mut notices: Vec<String>,
    threads: usize,
    rows: R,
) -> Result<Imported<T, R>, ImportError> {
    let file: Arc<str> = Arc::from(file);
    let walked = walk_table::<T, R, _>(&mut table, &file, &parse, threads, rows)?;
    if let Some(n) = legacy_notice(table.legacy) {
        notices.insert(0, n);
    }
    let title = table.title();
    let Table {
        format,
        sheet,
        header,
        ..
    } = table;
    let control_total = match walked.total {
        Some((row, Ok(stated))) => Some(ControlTotal {
            row,
            stated,
            computed: walked.amount,
        }),
        Some((row, Err(e))) => {
            notices.push(format!(
                "Dòng tổng cộng {row}: {} / totals row {row}: {}",
                e.message_vi(),
                e.message_en()
            ));
            None
        }
        None => None,
    };
    Ok(Imported {
        file,
        format,
        sheet,
        title,
        header_row: header.row_number,
        unit: header.unit,
        data_rows: walked.data_rows,
        rejected_rows: walked.rejected_rows,
        rows: walked.rows,
        errors: walked.errors,
        control_total,
        notices,
        row_type: std::marker::PhantomData,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_subtotals() {
        assert_eq!(total_marker("Tổng cộng"), Some(RowKind::Total));
        assert_eq!(total_marker("TỔNG CỘNG:"), Some(RowKind::Total));
        assert_eq!(total_marker("Tổng số"), Some(RowKind::Total));
        assert_eq!(total_marker("Total"), Some(RowKind::Total));
        assert_eq!(total_marker("Cộng"), Some(RowKind::Subtotal));
        assert_eq!(total_marker("Cộng xã Tân Lập"), Some(RowKind::Subtotal));
        // Tống is a family name.
        assert_eq!(total_marker("Tống Văn Bình"), None);
        // Công Tằng Tôn Nữ is a family name too; only subtotal phrases count.
        assert_eq!(total_marker("Công Tằng Tôn Nữ Mai"), None);
        assert_eq!(total_marker("Cộng trang"), Some(RowKind::Subtotal));
    }

    /// Lists typed in TCVN3 (.VnTime) or VNI (VNI-Times) read as Unicode, with a notice, so
    /// names still match the bank's.
    #[test]
    fn a_title_block_33_rows_deep() {
        // A bank's export: the account's details fill the first 33 rows.
        let mut text: Vec<String> = (1..=33)
            .map(|i| format!("Thông tin tài khoản dòng {i},,"))
            .collect();
        text.push("Họ và tên,Số định danh cá nhân,Số tiền được hưởng".into());
        text.push("Nguyễn Thị Hồng Nhung,025038000101,1500000".into());
        let imp = import_beneficiaries(
            "sao_ke.csv",
            text.join("\n").into_bytes(),
            &ImportOptions::new(2026),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(imp.rows.len(), 1);
        assert_eq!(imp.rows[0].name, "Nguyễn Thị Hồng Nhung");
    }

    #[test]
    fn legacy_encoded_lists_are_converted() {
        use legacy_vn::Legacy;
        let rows = [
            "STT,Họ và tên,Số định danh cá nhân,Số tiền được hưởng,Xã/phường",
            "1,Nguyễn Thị Hồng Nhung,025038000101,1500000,Xã Tân Lập",
            "2,Trần Văn Đức,025142000102,1500000,Phường Hà Cầu",
            "3,Lê Thị Bích Ngọc,025055000103,2250000,Xã Tân Lập",
            "Tổng cộng,,,5250000,",
        ];
        for enc in [Legacy::Tcvn3, Legacy::Vni] {
            let text: Vec<String> = rows
                .iter()
                .map(|r| legacy_vn::tests::encode(enc, r).unwrap_or_else(|| panic!("encode {r}")))
                .collect();
            assert_ne!(text[0], rows[0], "really encoded");
            let csv = text.join("\n");
            let imp =
                match import_beneficiaries("cu.csv", csv.into_bytes(), &ImportOptions::new(2026)) {
                    Ok(i) => i,
                    Err(e) => panic!("{enc:?}: {e}"),
                };
            let names: Vec<&str> = imp.rows.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(
                names,
                ["Nguyễn Thị Hồng Nhung", "Trần Văn Đức", "Lê Thị Bích Ngọc"],
                "{enc:?}"
            );
            assert_eq!(imp.rows[1].commune.as_deref(), Some("Phường Hà Cầu"));
            assert!(
                imp.notices.iter().any(|n| n.contains(enc.name())),
                "{enc:?}: {:?}",
                imp.notices
            );
            assert!(imp.control_total.is_some_and(|c| !c.mismatch()));
        }
        // Unicode text is left alone, without a notice.
        let imp = import_beneficiaries(
            "moi.csv",
            rows.join("\n").into_bytes(),
            &ImportOptions::new(2026),
        );
        assert!(
            imp.is_ok_and(|i| i.notices.is_empty() && i.rows[0].name == "Nguyễn Thị Hồng Nhung")
        );
    }

    /// A feed hands on every accepted row once, in file order, in batches of its size,
    /// whatever the thread count; one nobody takes from still counts every row.
    #[test]
    fn a_row_feed_hands_on_rows_in_order_and_in_batches() {
        use crate::domain::records::BeneficiaryRow;
        let mut csv = String::from("Họ và tên,Số định danh cá nhân,Số tiền\n");
        for i in 0..40_000u32 {
            // Every 997th row has a bad amount: rejected, not handed on.
            let amount = if i % 997 == 0 { "abc" } else { "1500000" };
            csv.push_str(&format!(
                "Người {i},{:03}{:09},{amount}\n",
                i % 96 + 1,
                100_000_000 + i
            ));
        }
        let whole = match import_beneficiaries("feed.csv", csv.clone().into_bytes(), &{
            let mut o = ImportOptions::new(2026);
            o.threads = 1;
            o
        }) {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        assert!(whole.rejected_rows > 0);
        for threads in [1, 2, 4] {
            let opts = ImportOptions {
                threads,
                ..ImportOptions::new(2026)
            };
            let got = Arc::new(Mutex::new(Vec::<Vec<BeneficiaryRow>>::new()));
            let sink = Arc::clone(&got);
            let feed =
                RowFeed::in_batches_of(5_000, move |b| sink.lock().map(|mut g| g.push(b)).is_ok());
            let mut imp = match import_beneficiaries_into(
                "feed.csv",
                Input::Reader(csv.as_bytes()),
                &opts,
                feed,
            ) {
                Ok(i) => i,
                Err(e) => panic!("{e}"),
            };
            assert!(imp.rows.flush());
            let batches = match got.lock() {
                Ok(g) => g.clone(),
                Err(_) => panic!("poisoned"),
            };
            assert!(
                batches[..batches.len() - 1]
                    .iter()
                    .all(|b| b.len() == 5_000)
            );
            let rows: Vec<BeneficiaryRow> = batches.into_iter().flatten().collect();
            assert_eq!(rows, whole.rows, "{threads} threads");
            assert_eq!(imp.rows.count(), whole.rows.len());
            assert_eq!(imp.data_rows, imp.rows.count() + imp.rejected_rows);
            assert_eq!(imp.errors.len(), whole.errors.len());
        }
        // Nobody takes the rows after the first batch: the import still ends, and counts.
        let mut taken = 0;
        let feed = RowFeed::in_batches_of(5_000, move |_| {
            taken += 1;
            taken < 2
        });
        let imp = import_beneficiaries_into(
            "feed.csv",
            Input::Reader(csv.as_bytes()),
            &ImportOptions::new(2026),
            feed,
        );
        let mut imp = match imp {
            Ok(i) => i,
            Err(e) => panic!("{e}"),
        };
        assert!(!imp.rows.flush());
        assert_eq!(imp.rows.count(), whole.rows.len());
    }

    #[test]
    fn long_values_are_cut_and_marked() {
        assert_eq!(cut("ngắn"), "ngắn");
        let long = "á".repeat(5000);
        let c = cut(&long);
        assert!(c.starts_with(&"á".repeat(100)) && c.contains("5000"), "{c}");
        assert!(c.chars().count() < 160);
    }

    #[test]
    fn signatures() {
        assert!(is_signature("Người lập biểu"));
        assert!(is_signature("KẾ TOÁN"));
        assert!(is_signature("Thủ trưởng đơn vị"));
        assert!(is_signature("(Ký, ghi rõ họ tên)"));
        assert!(is_signature("Tân Lập, ngày 15 tháng 9 năm 2024"));
        assert!(!is_signature("Nguyễn Văn An"));
    }

    #[test]
    fn communes_in_text() {
        assert_eq!(commune_in("I. Xã Tân Lập").as_deref(), Some("Xã Tân Lập"));
        assert_eq!(
            commune_in("Thôn 2, xã Tân Lập, tỉnh Phú Thọ").as_deref(),
            Some("xã Tân Lập")
        );
        assert_eq!(
            commune_in("Phường Hà Cầu").as_deref(),
            Some("Phường Hà Cầu")
        );
        assert_eq!(
            commune_in("Thị trấn Hưng Hà").as_deref(),
            Some("Thị trấn Hưng Hà")
        );
        assert_eq!(commune_in("Người cao tuổi"), None);
    }

    #[test]
    fn column_numbers() {
        assert!(is_column_number(Cell::Text("(1)")));
        assert!(is_column_number(Cell::Text("A")));
        assert!(is_column_number(Cell::Number(3.0)));
        assert!(is_column_number(Cell::Text("7=5x6")));
        assert!(!is_column_number(Cell::Text("Nguyễn Văn An")));
        assert!(!is_column_number(Cell::Number(1500000.0)));
    }
}
