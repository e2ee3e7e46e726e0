//! The exception list as CSV, shaped for Excel: accountants double-click the file, so it
//! must open with Vietnamese intact and with amounts Excel can sum.
//!
//! The column set and the cell texts are shared with the "Ngoại lệ" sheet of the
//! workbook, so both views of an exception always agree.

use std::borrow::{Borrow, Cow};
use std::io::Write;

use rust_decimal::Decimal;

use crate::domain::Lang;
use crate::domain::money::format_vnd;
use crate::domain::status::PayoutStatus;
use crate::recon::{ExceptionKind, ExceptionRow};

/// Excel reads a BOM-less CSV in the machine's ANSI code page (Windows-1258 on
/// Vietnamese Windows), which garbles every diacritic.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// (Vietnamese, English) headers of the exception columns, in order.
pub(crate) const EXCEPTION_COLUMNS: [(&str, &str); 17] = [
    ("Loại ngoại lệ", "Exception"),
    ("Mã", "Code"),
    ("Số định danh", "Personal ID"),
    ("Họ và tên", "Name"),
    ("Xã/phường", "Commune"),
    ("Đối tượng", "Category"),
    ("Ngân hàng", "Bank"),
    ("Số tài khoản", "Account"),
    ("Số tiền phải chi", "Amount due"),
    ("Số tiền đã chi", "Amount paid"),
    ("Cờ", "Flags"),
    ("Mã cờ", "Flag codes"),
    ("Tệp danh sách", "List file"),
    ("Dòng", "Rows"),
    ("Giao dịch", "Payouts"),
    ("Ngày giá trị", "Value date"),
    ("Đơn vị", "Unit"),
];

/// Indexes into [`EXCEPTION_COLUMNS`] of the columns the workbook writes as numbers.
pub(crate) const COL_AMOUNT_DUE: usize = 8;
pub(crate) const COL_AMOUNT_PAID: usize = 9;
/// Columns holding identifiers, which must stay text (leading zeros).
pub(crate) const COL_ID: usize = 2;
pub(crate) const COL_ACCOUNT: usize = 7;

pub(crate) fn pick(lang: Lang, vi: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

pub(crate) fn exception_headers(lang: Lang) -> [&'static str; 17] {
    EXCEPTION_COLUMNS.map(|(vi, en)| pick(lang, vi, en))
}

pub(crate) fn kind_label(kind: ExceptionKind, lang: Lang) -> &'static str {
    pick(lang, kind.label_vi(), kind.label_en())
}

pub(crate) fn status_label(status: PayoutStatus, lang: Lang) -> &'static str {
    match lang {
        Lang::Vi => status.label_vi(),
        // PayoutStatus has Vietnamese labels only.
        Lang::En => match status {
            PayoutStatus::Success => "Success",
            PayoutStatus::Failed => "Failed",
            PayoutStatus::Returned => "Returned",
            PayoutStatus::Pending => "Pending",
        },
    }
}

/// Digits only ("1500000"): thousands separators would make Excel read the cell as
/// text (or as a decimal, with the Vietnamese "." grouping), and then it cannot sum.
pub(crate) fn plain_amount(d: Decimal) -> String {
    d.normalize().to_string()
}

pub(crate) fn joined_rows(rows: &[u32]) -> String {
    rows.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each linked payout as "REF (status, amount, file:row)", so a reader can find the
/// line in the bank's file without opening the tool.
fn payouts_text(row: &ExceptionRow, lang: Lang) -> String {
    row.payouts
        .iter()
        .map(|p| {
            let reference = p
                .reference
                .as_deref()
                .filter(|r| !r.trim().is_empty())
                .unwrap_or(pick(lang, "(không có mã GD)", "(no reference)"));
            let mut s = format!(
                "{reference} ({}, {}, {}:{}",
                status_label(p.status, lang),
                format_vnd(p.amount),
                p.file,
                p.row
            );
            if let Some(reason) = p.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                s.push_str(pick(lang, ", lý do: ", ", reason: "));
                s.push_str(reason);
            }
            s.push(')');
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The cell texts of one exception, unescaped, in [`EXCEPTION_COLUMNS`] order.
pub(crate) fn exception_texts(row: &ExceptionRow, lang: Lang) -> [String; 17] {
    [
        kind_label(row.kind, lang).to_owned(),
        row.kind.as_str().to_owned(),
        row.population_id.clone(),
        row.name.clone(),
        row.commune.clone().unwrap_or_default(),
        row.category.clone().unwrap_or_default(),
        row.bank
            .map(|b| b.short_name().to_owned())
            .unwrap_or_default(),
        row.account.clone().unwrap_or_default(),
        row.amount_due.map(plain_amount).unwrap_or_default(),
        plain_amount(row.amount_paid),
        row.flags
            .iter()
            .map(|f| pick(lang, f.label_vi(), f.label_en()))
            .collect::<Vec<_>>()
            .join("; "),
        row.flags
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        row.list_file.clone().unwrap_or_default(),
        joined_rows(&row.list_rows),
        payouts_text(row, lang),
        value_dates_text(row),
        unit_text(row, lang),
    ]
}

/// The payouts' value dates as an office writes them (dd/mm/yyyy), each once, in the
/// payouts' order; empty where none was given (or kept: runs stored before it was).
fn value_dates_text(row: &ExceptionRow) -> String {
    let mut dates: Vec<chrono::NaiveDate> = Vec::new();
    for d in row.payouts.iter().filter_map(|p| p.value_date) {
        if !dates.contains(&d) {
            dates.push(d);
        }
    }
    dates
        .iter()
        .map(|d| d.format("%d/%m/%Y").to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The unit the exception counts in ("Phường Ba Đình (00004)"), and the other units'
/// lists the same person is on; empty for a file reconciled alone.
fn unit_text(row: &ExceptionRow, lang: Lang) -> String {
    let tree = crate::domain::units::shipped_tree();
    let name = |code: &str| {
        tree.get(code)
            .map_or_else(|| code.to_owned(), |u| format!("{} ({code})", u.full_name))
    };
    let mut s = row.unit.as_deref().map(name).unwrap_or_default();
    for o in &row.other_lists {
        s.push_str(pick(
            lang,
            "; cũng có trong danh sách của ",
            "; also on the list of ",
        ));
        s.push_str(&o.unit.as_deref().map(name).unwrap_or_default());
        if !o.file.is_empty() {
            s.push_str(&format!(
                " ({}, {} {})",
                o.file,
                pick(lang, "dòng", "rows"),
                joined_rows(&o.rows)
            ));
        }
    }
    s
}

/// How the CSV is shaped for the program that opens it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvStyle {
    /// `;` between fields: what Excel splits on where the list separator is `;` (the
    /// Vietnamese regional setting, where `,` is the decimal mark).
    pub semicolon: bool,
    /// IDs and account numbers as `="035031509656"`: Excel opening the file by a double
    /// click keeps them as text (leading zeros, all 12+ digits) instead of numbers.
    pub excel_text: bool,
}

/// The exceptions as CSV for Excel users: UTF-8 with BOM (so Excel shows Vietnamese),
/// comma separated, CRLF line endings, header row of labels in `lang`.
pub fn write_exceptions<W, I>(w: W, exceptions: I, lang: Lang) -> std::io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::Item: std::borrow::Borrow<ExceptionRow>,
{
    write_exceptions_styled(w, exceptions, lang, CsvStyle::default())
}

/// `write_exceptions` in a `style`.
pub fn write_exceptions_styled<W, I>(
    mut w: W,
    exceptions: I,
    lang: Lang,
    style: CsvStyle,
) -> std::io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::Item: std::borrow::Borrow<ExceptionRow>,
{
    w.write_all(&head(lang, style)?)?;
    rows(w, exceptions, lang, style)
}

/// The BOM and the header row in `style`.
fn head(lang: Lang, style: CsvStyle) -> std::io::Result<Vec<u8>> {
    let mut buf = UTF8_BOM.to_vec();
    let mut out = writer(&mut buf, style);
    out.write_record(
        exception_headers(lang)
            .iter()
            .map(|h| escape_cell(h).into_owned()),
    )?;
    out.flush()?;
    drop(out);
    Ok(buf)
}

/// The exception rows in `style`.
fn rows<W, I>(w: W, exceptions: I, lang: Lang, style: CsvStyle) -> std::io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::Item: std::borrow::Borrow<ExceptionRow>,
{
    let mut out = writer(w, style);
    for row in exceptions {
        let mut texts = exception_texts(row.borrow(), lang);
        let mut cells: Vec<String> = texts.iter().map(|t| escape_cell(t).into_owned()).collect();
        if style.excel_text {
            for c in [COL_ID, COL_ACCOUNT] {
                let t = std::mem::take(&mut texts[c]);
                // Only digits become a text formula: anything else stays escaped as it is.
                if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
                    cells[c] = format!("=\"{t}\"");
                }
            }
        }
        out.write_record(&cells)?;
    }
    out.flush()
}

/// Every field quoted: a `;` or tab inside one stays inside it whichever separator Excel
/// splits on.
fn writer<W: Write>(w: W, style: CsvStyle) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .delimiter(if style.semicolon { b';' } else { b',' })
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(w)
}

/// The start of the exceptions CSV: the BOM and the header row. Rows written after it
/// with `write_exception_rows`, in as many pieces as wanted, make the same bytes as
/// `write_exceptions` (a download streams them as they are read).
pub fn exceptions_head(lang: Lang) -> std::io::Result<Vec<u8>> {
    head(lang, CsvStyle::default())
}

/// Exception rows of the CSV, to follow `exceptions_head`.
pub fn write_exception_rows<W, I>(w: W, exceptions: I, lang: Lang) -> std::io::Result<()>
where
    W: Write,
    I: IntoIterator,
    I::Item: std::borrow::Borrow<ExceptionRow>,
{
    rows(w, exceptions, lang, CsvStyle::default())
}

/// Formula-injection guard: a cell starting with = + - @ (or tab/CR) gets a leading
/// apostrophe ('), as OWASP recommends; so does every such character right after a `;`,
/// a tab or a line break inside the cell. Excel on a Vietnamese machine splits CSV on its
/// list separator, usually `;`: "Tran;=HYPERLINK(…)" would start a live formula there. (A
/// negative number like "-5" would also be quoted; amounts are never negative here.)
///
/// Names, references and bank reasons come from files we do not control; Excel would
/// run "=HYPERLINK(...)" or a DDE payload typed into a name cell.
pub fn escape_cell(s: &str) -> Cow<'_, str> {
    const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    const BREAKS: [char; 4] = [';', '\t', '\n', '\r'];
    let inner = s
        .char_indices()
        .zip(s.chars().skip(1))
        .any(|((_, c), next)| BREAKS.contains(&c) && TRIGGERS.contains(&next));
    if !s.starts_with(TRIGGERS) && !inner {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        if TRIGGERS.contains(&c) && prev.is_none_or(|p| BREAKS.contains(&p)) {
            out.push('\'');
        }
        out.push(c);
        prev = Some(c);
    }
    Cow::Owned(out)
}

impl CsvStyle {
    /// From the query's `sep` (`semicolon` or `;`) and `ids` (`text`); anything else is
    /// the default.
    pub fn from_query(sep: Option<&str>, ids: Option<&str>) -> Self {
        CsvStyle {
            semicolon: matches!(sep.map(str::trim), Some("semicolon" | ";")),
            excel_text: ids.map(str::trim) == Some("text"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::banks::BankId;
    use crate::recon::{Flag, Flags, Outcome};

    fn row() -> ExceptionRow {
        let mut flags = Flags::default();
        flags.insert(Flag::NameMismatch);
        flags.insert(Flag::LegacyId);
        ExceptionRow {
            kind: ExceptionKind::Beneficiary(Outcome::Underpaid),
            population_id: "001090012345".into(),
            name: "Nguyễn Thị Hồng Nhung".into(),
            commune: Some("Xã Tân Lập".into()),
            category: Some("Người cao tuổi".into()),
            bank: BankId::resolve("Agribank"),
            account: Some("0123456789".into()),
            amount_due: Some(Decimal::from(1_500_000)),
            amount_paid: Decimal::from(1_000_000),
            flags,
            list_file: Some("danh_sach.xlsx".into()),
            list_rows: vec![12, 40],
            payouts: Vec::new(),
            unit: None,
            other_lists: Vec::new(),
        }
    }

    fn write(rows: &[ExceptionRow], lang: Lang) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(write_exceptions(&mut out, rows, lang).is_ok());
        out
    }

    fn read(bytes: &[u8]) -> Vec<Vec<String>> {
        let body = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(body)
            .records()
            .map(|r| {
                r.map(|r| r.iter().map(str::to_owned).collect())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn bom_header_and_crlf() {
        let bytes = write(&[row()], Lang::Vi);
        assert!(bytes.starts_with(UTF8_BOM));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap_or_default();
        assert!(
            text.starts_with(
                "\"Loại ngoại lệ\",\"Mã\",\"Số định danh\",\"Họ và tên\",\"Xã/phường\","
            ),
            "{text}"
        );
        assert!(text.contains("\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));

        let en = write(&[], Lang::En);
        let rows = read(&en);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][0], "Exception");
        assert_eq!(rows[0][14], "Payouts");
        assert_eq!(rows[0].len(), EXCEPTION_COLUMNS.len());
    }

    #[test]
    fn row_round_trips_with_vietnamese_intact() {
        let rows = read(&write(&[row()], Lang::Vi));
        assert_eq!(rows.len(), 2);
        let r = &rows[1];
        assert_eq!(r[0], "Chi thiếu");
        assert_eq!(r[1], "underpaid");
        assert_eq!(r[2], "001090012345");
        assert_eq!(r[3], "Nguyễn Thị Hồng Nhung");
        assert_eq!(r[4], "Xã Tân Lập");
        assert_eq!(r[5], "Người cao tuổi");
        assert_eq!(r[6], "Agribank");
        assert_eq!(r[7], "0123456789");
        assert_eq!(r[8], "1500000");
        assert_eq!(r[9], "1000000");
        assert_eq!(r[10], "Tên không khớp với ngân hàng; Còn dùng CMND 9 số");
        assert_eq!(r[11], "name_mismatch legacy_id");
        assert_eq!(r[12], "danh_sach.xlsx");
        assert_eq!(r[13], "12, 40");
        assert_eq!(r[14], "");
    }

    #[test]
    fn the_unit_and_the_other_units_lists_are_named() {
        let mut r = row();
        assert_eq!(
            read(&write(&[r.clone()], Lang::Vi))[1][16],
            "",
            "no unit: a file alone"
        );
        r.unit = Some("00004".into());
        r.other_lists = vec![crate::recon::OtherListing {
            unit: Some("00008".into()),
            file: "ds_ngoc_ha.csv".into(),
            rows: vec![5],
        }];
        let rows = read(&write(&[r], Lang::Vi));
        assert_eq!(rows[0][16], "Đơn vị");
        assert_eq!(
            rows[1][16],
            "Phường Ba Đình (00004); cũng có trong danh sách của Phường Ngọc Hà (00008) (ds_ngoc_ha.csv, dòng 5)"
        );
    }

    /// The payouts' value dates, each once, as an office writes them; none where the bank
    /// gave none (or a run stored before kept none).
    #[test]
    fn value_dates_are_their_own_column() {
        let mut r = row();
        let payout = |day: Option<u32>| crate::recon::PayoutSummary {
            file: "kq.csv".into(),
            row: 2,
            bank: crate::domain::banks::BankId::resolve("VBA").unwrap_or_else(|| panic!("VBA")),
            reference: Some("FT1".into()),
            status: PayoutStatus::Success,
            amount: Decimal::from(1_000_000),
            reason: None,
            name: None,
            value_date: day.and_then(|d| chrono::NaiveDate::from_ymd_opt(2024, 9, d)),
        };
        r.payouts = vec![
            payout(Some(25)),
            payout(None),
            payout(Some(5)),
            payout(Some(25)),
        ];
        let rows = read(&write(&[r.clone()], Lang::Vi));
        assert_eq!(rows[0][15], "Ngày giá trị");
        assert_eq!(rows[1][15], "25/09/2024; 05/09/2024");
        assert_eq!(read(&write(&[r.clone()], Lang::En))[0][15], "Value date");
        r.payouts = vec![payout(None)];
        assert_eq!(read(&write(&[r], Lang::Vi))[1][15], "");
    }

    #[test]
    fn english_labels() {
        let rows = read(&write(&[row()], Lang::En));
        assert_eq!(rows[1][0], "Underpaid");
        assert_eq!(
            rows[1][10],
            "Name differs from the bank's; Old 9-digit ID card (CMND)"
        );
    }

    #[test]
    fn formula_injection_is_neutralised() {
        let mut r = row();
        r.name = "=HYPERLINK(\"http://evil.example\",\"Bấm vào\")".into();
        r.account = Some("+84123".into());
        r.commune = Some("@SUM(1)".into());
        let rows = read(&write(&[r], Lang::Vi));
        assert_eq!(
            rows[1][3],
            "'=HYPERLINK(\"http://evil.example\",\"Bấm vào\")"
        );
        assert_eq!(rows[1][7], "'+84123");
        assert_eq!(rows[1][4], "'@SUM(1)");
    }

    /// Read as Excel does with `;` as its list separator (the usual Vietnamese setting),
    /// and with tab: no cell starts a formula.
    #[test]
    fn no_cell_starts_a_formula_whatever_the_separator() {
        let mut r = row();
        r.name = "Tran;=HYPERLINK(\"http://evil.example\",\"x\")".into();
        r.commune = Some("Xa\t+cmd|' /C calc'!A0".into());
        r.category = Some("a;@SUM(1)".into());
        let bytes = write(&[r], Lang::Vi);
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap_or_default();
        assert!(
            text.lines().all(|l| l.is_empty() || l.starts_with('"')),
            "every field quoted: {text}"
        );
        for sep in [b';', b'\t', b','] {
            for quoting in [true, false] {
                let cells: Vec<String> = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .quoting(quoting)
                    .delimiter(sep)
                    .from_reader(&bytes[3..])
                    .records()
                    .flatten()
                    .flat_map(|r| r.iter().map(str::to_owned).collect::<Vec<_>>())
                    .collect();
                for c in &cells {
                    let c = c.trim_start_matches('"');
                    assert!(
                        !c.starts_with(['=', '+', '@']),
                        "separator {:?}, quoting {quoting}: a formula cell {c:?}",
                        sep as char
                    );
                }
            }
        }
    }

    #[test]
    fn escape_cell_rules() {
        assert_eq!(escape_cell("=1+1"), "'=1+1");
        assert_eq!(escape_cell("-5"), "'-5");
        assert_eq!(escape_cell("\tx"), "'\tx");
        assert_eq!(escape_cell("\rx"), "'\rx");
        assert_eq!(escape_cell("Trần Văn A"), "Trần Văn A");
        assert_eq!(escape_cell("a=b"), "a=b");
        assert_eq!(escape_cell("Tran;=HYPERLINK(1)"), "Tran;'=HYPERLINK(1)");
        assert_eq!(escape_cell("a\t+1;@x"), "a\t'+1;'@x");
        assert_eq!(escape_cell("a\n-1"), "a\n'-1");
        assert_eq!(escape_cell("=a;=b"), "'=a;'=b");
        assert_eq!(escape_cell("a; b"), "a; b");
        assert_eq!(escape_cell(""), "");
        assert!(matches!(escape_cell("1500000"), Cow::Borrowed(_)));
    }

    #[test]
    fn unmatched_payout_has_no_amount_due() {
        let mut r = row();
        r.kind = ExceptionKind::UnmatchedPayout;
        r.amount_due = None;
        r.list_rows.clear();
        r.list_file = None;
        let rows = read(&write(&[r], Lang::Vi));
        assert_eq!(rows[1][1], "unmatched_payout");
        assert_eq!(rows[1][8], "");
        assert_eq!(rows[1][13], "");
    }

    /// The variants Excel needs: IDs and accounts kept as text by a double click, and `;`
    /// between fields for the Vietnamese regional setting; the default stays as it was.
    #[test]
    fn excel_variants_keep_ids_as_text_and_split_on_semicolons() {
        let write = |style: CsvStyle| {
            let mut out = Vec::new();
            assert!(write_exceptions_styled(&mut out, [row()], Lang::Vi, style).is_ok());
            String::from_utf8(out).unwrap_or_default()
        };
        let plain = write(CsvStyle::default());
        let mut legacy = Vec::new();
        assert!(write_exceptions(&mut legacy, [row()], Lang::Vi).is_ok());
        assert_eq!(plain.as_bytes(), legacy.as_slice());
        assert!(plain.contains("\"001090012345\""));
        let text = write(CsvStyle::from_query(None, Some("text")));
        assert!(text.contains("\"=\"\"001090012345\"\"\""), "{text}");
        assert!(text.contains("\"=\"\"0123456789\"\"\""), "{text}");
        // Names stay guarded against formulas.
        let semi = write(CsvStyle::from_query(Some("semicolon"), None));
        assert!(semi.contains("\"Loại ngoại lệ\";\"Mã\";"), "{semi}");
        assert_eq!(semi.replace("\";\"", "\",\""), plain);
    }
}
