//! Banks' own formats read into payout rows: ISO 20022 statements and notifications
//! (camt.052/053/054), payment status reports (pain.002) and SWIFT MT940/MT942 statements.
//!
//! Each reader streams its file and hands every transaction it states to a `Sink`, which
//! makes it a payout row or a row error: accepted + rejected = the transactions stated.
//! Where a transaction is in the file is its line and its element path (or SWIFT field),
//! the way a bank's own support would look it up.

mod camt;
mod mt940;
mod pain002;

use std::io::BufRead;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::bank_format::BankFormat;
use super::{ImportError, ImportOptions, Imported, Rows};
use crate::domain::banks::BankId;
use crate::domain::payment_orders::PaymentOrders;
use crate::domain::population_id::IdCheck;
use crate::domain::records::{ControlTotal, PayoutDraft, PayoutOrigin, PayoutRow, RowError};
use crate::domain::status::PayoutStatus;

pub use super::source::Format;

/// Longest text kept from one element or field (a name, a reference, a narrative): a bank
/// file's fields are short; a hostile one's are cut, not kept whole.
const MAX_TEXT: usize = 1_000;

/// Whether a bank format is one doisoat reads as payout results.
pub fn readable(format: &BankFormat) -> bool {
    match format {
        BankFormat::Iso20022 { message, .. } => {
            matches!(*message, "camt.052" | "camt.053" | "camt.054" | "pain.002")
        }
        BankFormat::Swift { .. } => true,
    }
}

/// Read a bank's file as payout results into `rows`.
pub fn read<R: Rows<PayoutRow>>(
    file: &str,
    format: &BankFormat,
    input: impl BufRead,
    opts: &ImportOptions,
    rows: R,
) -> Result<Imported<PayoutRow, R>, ImportError> {
    let mut sink = Sink::new(file, opts, rows);
    let (format_kind, read) = match format {
        BankFormat::Iso20022 { message, .. } if message.starts_with("camt.") => {
            (Format::Camt, camt::read(file, input, &mut sink))
        }
        BankFormat::Iso20022 { .. } => (Format::Pain002, pain002::read(file, input, &mut sink)),
        BankFormat::Swift { .. } => (Format::Mt940, mt940::read(file, input, &mut sink)),
    };
    let statements = read?;
    Ok(sink.finish(format, format_kind, statements))
}

/// What a transaction means for the person paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Money went out to the beneficiary.
    Paid,
    /// Money came back (a return, a reversal).
    Returned,
    /// The bank refused the transfer.
    Failed,
    /// Accepted, not settled yet.
    Pending,
    /// Money came in that is no return: a top-up of the account, not a payout.
    Credit,
}

/// One transaction as a bank's file states it, before it becomes a payout row.
#[derive(Debug, Default)]
pub(crate) struct Txn {
    /// Line in the file where the transaction is (ends).
    pub line: u32,
    /// Where it is: an element path (`Ntfctn[1]/Ntry[3]/NtryDtls/TxDtls[2]`) or a field.
    pub path: String,
    /// The amount as written, and its currency.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Amounts written with a decimal comma (SWIFT).
    pub decimal_comma: bool,
    pub kind: Option<Kind>,
    /// What made the transaction unusable, if the reader knows (e.g. a direction the file
    /// contradicts): (vi, en).
    pub problem: Option<(String, String)>,
    /// The end-to-end reference, else the bank's own reference for the transaction.
    pub reference: Option<String>,
    pub account: Option<String>,
    pub name: Option<String>,
    pub value_date: Option<NaiveDate>,
    pub reason: Option<String>,
    /// Free text the bank carried (remittance, narrative), where an order's reference may
    /// be found when no end-to-end field holds it.
    pub narrative: Option<String>,
}

/// A statement's balances against its entries (camt `Bal`, MT940 `:60F:`/`:62F:`).
#[derive(Debug, Clone)]
pub(crate) struct Balances {
    /// The statement, as the file names it ("Stmt[1] CH2801234000123456789").
    pub label: String,
    /// Line of the closing balance.
    pub line: u32,
    pub currency: Option<String>,
    pub opening: Option<Decimal>,
    pub closing: Option<Decimal>,
    /// Booked credits less booked debits, every entry (payouts or not).
    pub net: Decimal,
    pub entries: u64,
}

/// Where transactions go: accepted as payout rows, or rejected with a reason.
pub(crate) struct Sink<R> {
    file: Arc<str>,
    /// The bank the rows are from: given (`BANK=`), else the file's own.
    bank: Option<BankId>,
    given_bank: bool,
    /// The orders doisoat wrote, to link answers by end-to-end reference.
    orders: Option<Arc<PaymentOrders>>,
    rows: R,
    errors: Vec<RowError>,
    data_rows: usize,
    rejected: usize,
    notices: Vec<String>,
    title: Vec<String>,
}

impl<R: Rows<PayoutRow>> Sink<R> {
    fn new(file: &str, opts: &ImportOptions, rows: R) -> Self {
        Self {
            file: Arc::from(file),
            bank: opts.default_bank,
            given_bank: opts.default_bank.is_some(),
            orders: opts.orders.clone(),
            rows,
            errors: Vec::new(),
            data_rows: 0,
            rejected: 0,
            notices: Vec::new(),
            title: Vec::new(),
        }
    }

    /// The bank the file names (its servicer's name or BIC), when none was given.
    pub fn file_names_bank(&mut self, text: &str) {
        if self.given_bank {
            return;
        }
        if let Some(b) = BankId::resolve(text) {
            self.bank.get_or_insert(b);
        }
    }

    pub fn orders(&self) -> Option<Arc<PaymentOrders>> {
        self.orders.clone()
    }

    pub fn title(&mut self, line: String) {
        if self.title.len() < 20 {
            self.title.push(line);
        }
    }

    pub fn notice(&mut self, vi: impl std::fmt::Display, en: impl std::fmt::Display) {
        if self.notices.len() < 50 {
            self.notices.push(format!("{vi} / {en}"));
        }
    }

    /// A transaction: a payout row, or a row error naming why not.
    pub fn take(&mut self, mut t: Txn) -> Result<(), ImportError> {
        self.data_rows += 1;
        // An answer to doisoat's own order (at the bank it was sent to): whom it paid is
        // known from the order. The file's own account stays: paid elsewhere than ordered
        // shows as an account mismatch, never as a match.
        let order = self.orders.as_ref().and_then(|orders| {
            let known = |r: &str| {
                orders
                    .get(r)
                    .filter(|o| self.bank.is_none_or(|b| b == o.bank))
                    .cloned()
            };
            // The end-to-end field, else a doisoat reference in it (text glued after) or
            // in the narrative.
            let found = t.reference.as_deref().and_then(known).or_else(|| {
                [t.reference.as_deref(), t.narrative.as_deref()]
                    .into_iter()
                    .flatten()
                    .filter_map(order_reference)
                    .find_map(|r| known(&r))
            });
            if let Some(o) = &found {
                t.reference = Some(o.end_to_end.clone());
            }
            found
        });
        if let Some(o) = &order {
            t.account.get_or_insert_with(|| o.account.clone());
            t.name.get_or_insert_with(|| o.name.clone());
            if t.amount.is_none() {
                t.amount = Some(o.amount.to_string());
                t.currency = Some("VND".into());
                t.decimal_comma = false;
            }
        }
        let ours = [t.reference.as_deref(), t.narrative.as_deref()]
            .into_iter()
            .flatten()
            .find_map(order_reference);
        // Nobody to link it to: a fee, a transfer between own accounts, or an answer to
        // orders this service (or `--period`) does not know.
        let unlinked = (order.is_none() && t.account.is_none()).then(|| match &ours {
            Some(r) => (
                format!("trả lời cho lệnh chi {r} mà doisoat không tìm thấy (lệnh của kỳ khác, hoặc chưa có --period / lệnh chưa lập trong dịch vụ)"),
                format!("answers order {r}, which doisoat does not know (another period's, or no --period / orders not written by the service)"),
            ),
            None => (
                "không có mã lệnh chi (EndToEndId) của doisoat hay số tài khoản người nhận: không ghép được với người hưởng".into(),
                "neither a doisoat order reference (EndToEndId) nor the payee's account: the payout cannot be linked".into(),
            ),
        });
        match self.check(&t, unlinked) {
            Ok((status, amount)) => {
                let Some(bank) = self.bank.or(order.as_ref().map(|o| o.bank)) else {
                    return Err(ImportError::NoBank {
                        file: self.file.to_string(),
                    });
                };
                self.rows.push(PayoutDraft {
                    file: &self.file,
                    row: t.line,
                    bank,
                    reference: t.reference.as_deref().map(Into::into),
                    id: order.map_or(IdCheck::Missing, |o| o.id),
                    account: t.account.as_deref().map(Into::into),
                    name: t.name.as_deref().map(Into::into),
                    amount,
                    status,
                    value_date: t.value_date,
                    reason: t.reason.as_deref().map(Into::into),
                    origin: PayoutOrigin::File,
                });
            }
            Err((vi, en)) => {
                self.rejected += 1;
                let value = match (&t.amount, &t.currency) {
                    (Some(a), Some(c)) => format!("{a} {c}"),
                    (Some(a), None) => a.clone(),
                    _ => t.reference.clone().unwrap_or_default(),
                };
                self.errors.push(RowError {
                    file: self.file.to_string(),
                    sheet: None,
                    row: t.line,
                    column: None,
                    column_name: Some(t.path),
                    value: cut(&value),
                    reason_vi: vi,
                    reason_en: en,
                });
            }
        }
        Ok(())
    }

    fn check(
        &self,
        t: &Txn,
        unlinked: Option<(String, String)>,
    ) -> Result<(PayoutStatus, Decimal), (String, String)> {
        if let Some(p) = &t.problem {
            return Err(p.clone());
        }
        let status = match t.kind {
            Some(Kind::Paid) => PayoutStatus::Success,
            Some(Kind::Returned) => PayoutStatus::Returned,
            Some(Kind::Failed) => PayoutStatus::Failed,
            Some(Kind::Pending) => PayoutStatus::Pending,
            Some(Kind::Credit) => {
                return Err((
                    "khoản ghi có không phải tiền hoàn trả: không phải một khoản chi".into(),
                    "a credit that is not a return: not a payout".into(),
                ));
            }
            None => {
                return Err((
                    "không rõ giao dịch là ghi nợ hay ghi có".into(),
                    "the transaction says neither debit nor credit".into(),
                ));
            }
        };
        let Some(text) = t.amount.as_deref() else {
            // A status report may state no amount: the order's amount stands.
            if matches!(status, PayoutStatus::Failed | PayoutStatus::Pending) {
                if let Some(why) = unlinked {
                    return Err(why);
                }
                return Ok((status, Decimal::ZERO));
            }
            return Err(("thiếu số tiền".into(), "no amount".into()));
        };
        let Some(currency) = t.currency.as_deref() else {
            return Err((
                "không rõ loại tiền (tệp không ghi): chỉ đối soát khoản chi bằng VND".into(),
                "no currency stated: only payments in VND are reconciled".into(),
            ));
        };
        if !currency.eq_ignore_ascii_case("VND") {
            return Err((
                format!(
                    "số tiền bằng {currency}, không phải VND: doisoat đối soát khoản chi bằng đồng"
                ),
                format!("an amount in {currency}, not VND: doisoat reconciles payments in đồng"),
            ));
        }
        let normal = if t.decimal_comma && !text.contains('.') {
            text.replace(',', ".")
        } else {
            text.to_owned()
        };
        let normal = normal.trim();
        let normal = normal.strip_suffix('.').unwrap_or(normal);
        let amount: Decimal = normal.parse().map_err(|_| {
            (
                format!("số tiền không đọc được: '{}'", cut(text)),
                format!("unreadable amount: '{}'", cut(text)),
            )
        })?;
        if amount.is_sign_negative() {
            return Err(("số tiền âm".into(), "negative amount".into()));
        }
        if !amount.fract().is_zero() {
            return Err((
                "số tiền có phần lẻ dưới một đồng (VND không có đơn vị nhỏ hơn)".into(),
                "an amount with a fraction of a đồng (VND has no minor unit)".into(),
            ));
        }
        if amount.is_zero() && status == PayoutStatus::Success {
            return Err((
                "khoản chi thành công có số tiền bằng 0".into(),
                "successful payout of zero".into(),
            ));
        }
        if let Some(why) = unlinked {
            return Err(why);
        }
        Ok((status, amount.normalize()))
    }

    fn finish(
        mut self,
        bank_format: &BankFormat,
        format: Format,
        statements: Vec<Balances>,
    ) -> Imported<PayoutRow, R> {
        self.title.insert(0, bank_format.name());
        let mut control_total = None;
        let mut summed: Option<ControlTotal> = None;
        for s in &statements {
            let (Some(open), Some(close)) = (s.opening, s.closing) else {
                continue;
            };
            let stated = close - open;
            let ccy = s.currency.as_deref().unwrap_or("");
            if stated != s.net {
                self.notice(
                    format!(
                        "{}: số dư đầu {open} + phát sinh {} của {} bút toán ≠ số dư cuối {close} {ccy} (dòng {})",
                        s.label, s.net, s.entries, s.line
                    ),
                    format!(
                        "{}: opening balance {open} + {} in {} entries ≠ closing balance {close} {ccy} (line {})",
                        s.label, s.net, s.entries, s.line
                    ),
                );
                control_total.get_or_insert(ControlTotal {
                    row: s.line,
                    stated,
                    computed: s.net,
                });
            }
            let t = summed.get_or_insert(ControlTotal {
                row: s.line,
                stated: Decimal::ZERO,
                computed: Decimal::ZERO,
            });
            t.stated += stated;
            t.computed += s.net;
        }
        if statements.len() > 1 {
            self.notice(
                format!("Tệp có {} sao kê/thông báo", statements.len()),
                format!(
                    "the file holds {} statements/notifications",
                    statements.len()
                ),
            );
        }
        Imported {
            file: self.file,
            format,
            sheet: None,
            title: self.title,
            header_row: 0,
            unit: Decimal::ONE,
            data_rows: self.data_rows,
            rejected_rows: self.rejected,
            rows: self.rows,
            errors: self.errors,
            control_total: control_total.or(summed),
            notices: self.notices,
            row_type: std::marker::PhantomData,
        }
    }
}

/// A doisoat order reference in a text (`DS-202610-78F56852-123`), wherever a bank put it:
/// an end-to-end field, a narrative, the remittance text; text glued after the row number
/// is left off.
pub(crate) fn order_reference(text: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = text.get(from..)?.find("DS-") {
        let start = from + at;
        let rest = &text[start + 3..];
        let mut parts = rest.splitn(3, '-');
        let (period, list, tail) = (parts.next()?, parts.next(), parts.next());
        let row: String = tail
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let period_ok = (4..=8).contains(&period.len())
            && period
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        let list_ok =
            list.is_some_and(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_hexdigit()));
        if period_ok && list_ok && !row.is_empty() && row.len() <= 9 {
            return Some(format!("DS-{period}-{}-{row}", list.unwrap_or_default()));
        }
        from = start + 3;
    }
    None
}

/// Deeper than any ISO 20022 message nests: a file that does is refused, not followed.
pub(crate) const MAX_DEPTH: usize = 64;

/// An XML element opens: its name onto the path, and the currency an amount states
/// (`…Amt Ccy="VND"`). `false` when it nests deeper than `MAX_DEPTH`.
pub(crate) fn open_element(
    stack: &mut Vec<String>,
    e: &quick_xml::events::BytesStart<'_>,
    ccy: &mut Option<String>,
) -> bool {
    if stack.len() >= MAX_DEPTH {
        return false;
    }
    let name = e.local_name().as_ref().to_owned();
    *ccy = if name.ends_with("Amt") {
        e.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == "Ccy")
            .map(|a| cut(a.value.trim()))
    } else {
        None
    };
    stack.push(name);
    true
}

/// Text kept from a file, bounded.
pub(crate) fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// Appends to a bounded text.
pub(crate) fn append(to: &mut String, s: &str) {
    if to.len() < MAX_TEXT * 4 {
        to.push_str(s);
    }
}

/// A `BufRead` that counts the lines it has handed out, so a reader knows where it is.
pub(crate) struct Lines<R> {
    inner: R,
    pub newlines: u32,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, newlines: 0 }
    }
    /// The line (1-based) the reader is on.
    pub fn line(&self) -> u32 {
        self.newlines.saturating_add(1)
    }
}

impl<R: BufRead> std::io::Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count(&buf[..n]);
        Ok(n)
    }
}

impl<R: BufRead> Lines<R> {
    fn count(&mut self, bytes: &[u8]) {
        let n = memchr::memchr_iter(b'\n', bytes).count();
        self.newlines = self
            .newlines
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }
}

impl<R: BufRead> BufRead for Lines<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = memchr::memchr_iter(b'\n', &buf[..amt.min(buf.len())]).count();
            self.newlines = self
                .newlines
                .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        }
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payment_orders::{OrderLine, PaymentOrders};
    use crate::import::import_payouts;

    fn read(name: &str, bytes: &[u8], opts: &ImportOptions) -> Imported<PayoutRow> {
        import_payouts(name, bytes.to_vec(), opts).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn opts(bank: Option<&str>) -> ImportOptions {
        ImportOptions {
            default_bank: bank.and_then(BankId::resolve),
            ..ImportOptions::new(2026)
        }
    }

    /// Accepted + rejected = the transactions stated, whatever the format.
    fn balanced(imp: &Imported<PayoutRow>) {
        assert_eq!(imp.rows.len() + imp.rejected_rows, imp.data_rows);
        assert_eq!(imp.errors.len(), imp.rejected_rows);
    }

    #[test]
    fn a_camt054_notification_in_dong() {
        let imp = read(
            "camt054_vnd.xml",
            include_bytes!("../../../fixtures/bank/camt054_vnd.xml"),
            &opts(None),
        );
        balanced(&imp);
        assert_eq!(imp.format, Format::Camt);
        // The bank is the account servicer's ("Agribank Chi nhánh Tân Lập").
        assert!(imp.rows.iter().all(|r| r.bank.code() == "VBA"));
        // A batch of two (its total never counted as well), a return; a USD entry, a
        // budget top-up and a fraction of a đồng rejected; the pending entry not read.
        assert_eq!(imp.data_rows, 6);
        let got: Vec<_> = imp
            .rows
            .iter()
            .map(|r| {
                (
                    r.status,
                    r.amount.to_string(),
                    r.reference.clone(),
                    r.account.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    PayoutStatus::Success,
                    "1500000".into(),
                    Some("DS-202610-78F56852-10".into()),
                    Some("4200205123456".into())
                ),
                (
                    PayoutStatus::Success,
                    "1500000".into(),
                    Some("FT26278000001-2".into()),
                    Some("420020512345 7".replace(' ', ""))
                ),
                (
                    PayoutStatus::Returned,
                    "1500000".into(),
                    Some("DS-202610-78F56852-10".into()),
                    Some("4200205123456".into())
                ),
            ]
        );
        assert_eq!(imp.rows[1].name.as_deref(), Some("Trần Thị Bình"));
        let reason = imp.rows[2].reason.as_deref().unwrap_or("");
        assert!(
            reason.starts_with("AC04 Tài khoản đã đóng / closed account"),
            "{reason}"
        );
        assert_eq!(imp.rows[0].value_date, NaiveDate::from_ymd_opt(2026, 10, 5));
        let why: Vec<_> = imp
            .errors
            .iter()
            .map(|e| {
                (
                    e.column_name.clone().unwrap_or_default(),
                    e.reason_en.clone(),
                )
            })
            .collect();
        assert_eq!(why.len(), 3);
        assert_eq!(why[0].0, "Ntfctn[1]/Ntry[4]");
        assert!(why[0].1.contains("USD, not VND"), "{why:?}");
        assert!(why[1].1.contains("credit that is not a return"), "{why:?}");
        assert_eq!(why[2].0, "Ntfctn[1]/Ntry[6]/TxDtls[1]");
        assert!(why[2].1.contains("fraction"), "{why:?}");
        // The line where the transaction is, as an editor shows it.
        assert!(imp.errors.iter().all(|e| e.row > 80), "{:?}", imp.errors);
        assert!(
            imp.notices
                .iter()
                .any(|n| n.contains("1 entries not booked")),
            "{:?}",
            imp.notices
        );
    }

    #[test]
    fn camt053_statements_checked_against_their_balances() {
        let imp = read(
            "camt053_vnd.xml",
            include_bytes!("../../../fixtures/bank/camt053_vnd.xml"),
            &opts(Some("BIDV")),
        );
        balanced(&imp);
        assert_eq!((imp.data_rows, imp.rows.len()), (3, 3));
        // Day 1: 50,000,000 − 3,000,000 = 47,000,000. Day 2: 47,000,000 − 1,500,000 is
        // not the 45,000,000 stated.
        let ct = imp.control_total.as_ref().expect("a balance check");
        assert!(ct.mismatch());
        assert_eq!(
            (ct.stated, ct.computed),
            (Decimal::from(-2_000_000), Decimal::from(-1_500_000))
        );
        assert_eq!(
            imp.notices.iter().filter(|n| n.contains('≠')).count(),
            1,
            "{:?}",
            imp.notices
        );
        assert!(imp.notices.iter().any(|n| n.contains("Stmt[2]")));
        assert_eq!(imp.title.len(), 3, "{:?}", imp.title);
    }

    /// Versions 2 to 7 write the status as text; version 1 roots end in `V01`; a file
    /// without a bank and none given is refused as any bank file is.
    #[test]
    fn camt_older_versions() {
        let v2 = r#"<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><BkToCstmrDbtCdtNtfctnV01><GrpHdr><MsgId>1</MsgId></GrpHdr><Ntfctn><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="VND">1500000</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts><NtryDtls><TxDtls><AmtDtls><TxAmt><Amt Ccy="VND">1500000</Amt></TxAmt></AmtDtls><RltdPties><Cdtr><Nm>A &amp; B</Nm></Cdtr><CdtrAcct><Id><Othr><Id>42</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="VND">1500000</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd><Sts>BOOK</Sts><AcctSvcrRef>R1</AcctSvcrRef></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctnV01></Document>"#;
        let imp = read("v2.xml", v2.as_bytes(), &opts(Some("VCB")));
        balanced(&imp);
        assert_eq!(imp.rows.len(), 1, "{:?}", imp.errors);
        assert_eq!(imp.rows[0].name.as_deref(), Some("A & B"));
        assert_eq!(imp.rows[0].amount, Decimal::from(1_500_000));
        // A reversal naming neither an order nor an account cannot be linked: refused.
        assert!(
            imp.errors[0]
                .reason_en
                .starts_with("neither a doisoat order reference")
        );
        let err = import_payouts("v2.xml", v2.as_bytes().to_vec(), &opts(None));
        assert!(matches!(err, Err(ImportError::NoBank { .. })), "{err:?}");
        let broken = import_payouts("x.xml", v2.as_bytes()[..400].to_vec(), &opts(Some("VCB")));
        assert!(
            matches!(broken, Err(ImportError::Corrupt { .. })),
            "{broken:?}"
        );
    }

    fn orders() -> Arc<PaymentOrders> {
        orders_with(&[
            (10, "4200205123456"),
            (11, "4200205123457"),
            (14, "4200205123460"),
        ])
    }

    fn orders_with(rows: &[(u32, &str)]) -> Arc<PaymentOrders> {
        let line = |row: u32, account: &str| OrderLine {
            end_to_end: format!("DS-202610-78F56852-{row}"),
            message: "DS-202610-78F56852-VBA".into(),
            payment_info: "DS-202610-78F56852-VBA-1".into(),
            bank: BankId::resolve("VBA").expect("bank"),
            row,
            id: IdCheck::Missing,
            account: account.into(),
            name: format!("Người {row}"),
            amount: Decimal::from(1_500_000),
        };
        Arc::new(PaymentOrders::new(
            rows.iter().map(|(r, a)| line(*r, a)).collect(),
        ))
    }

    #[test]
    fn pain002_statuses_inherit_and_answer_for_unlisted_orders() {
        let bytes = include_bytes!("../../../fixtures/bank/pain002_vnd.xml");
        let with_orders = ImportOptions {
            orders: Some(orders()),
            ..opts(None)
        };
        let imp = read("pain002_vnd.xml", bytes, &with_orders);
        balanced(&imp);
        assert_eq!(imp.format, Format::Pain002);
        let got: Vec<_> = imp
            .rows
            .iter()
            .map(|r| {
                (
                    r.reference.clone().unwrap_or_default(),
                    r.status,
                    r.account.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "DS-202610-78F56852-11".into(),
                    PayoutStatus::Failed,
                    Some("4200205123457".into())
                ),
                (
                    "DS-202610-78F56852-14".into(),
                    PayoutStatus::Pending,
                    Some("4200205123460".into())
                ),
                // Not listed: the block's ACSC answers for it, with the order's amount.
                (
                    "DS-202610-78F56852-10".into(),
                    PayoutStatus::Success,
                    Some("4200205123456".into())
                ),
            ]
        );
        assert_eq!(imp.rows[2].amount, Decimal::from(1_500_000));
        assert_eq!(imp.rows[2].bank.code(), "VBA", "the order's bank");
        let reason = imp.rows[0].reason.as_deref().unwrap_or("");
        assert!(reason.contains("AC01 Số tài khoản không đúng"), "{reason}");
        assert!(reason.ends_with("Tài khoản không tồn tại"), "{reason}");

        // Without the orders, what the report lists names orders nobody knows: refused,
        // saying so (never payouts to nobody).
        let bare = read("pain002_vnd.xml", bytes, &opts(Some("VBA")));
        balanced(&bare);
        assert_eq!((bare.rows.len(), bare.rejected_rows), (0, 2));
        assert!(
            bare.errors[0]
                .reason_en
                .contains("answers order DS-202610-78F56852-11")
        );

        // A whole file refused: the group's status answers for every order.
        let refused = r#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt><GrpHdr><MsgId>x</MsgId></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>DS-202610-78F56852-VBA</OrgnlMsgId><GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>"#;
        let imp = read("refused.xml", refused.as_bytes(), &with_orders);
        balanced(&imp);
        assert_eq!(imp.rows.len(), 3);
        assert!(imp.rows.iter().all(|r| r.status == PayoutStatus::Failed));
        assert!(
            imp.rows[0]
                .reason
                .as_deref()
                .unwrap_or("")
                .starts_with("FF01")
        );

        // An unknown status is a row error, not a guess.
        let odd = r#"<Document><CstmrPmtStsRpt><OrgnlGrpInfAndSts><OrgnlMsgId>m</OrgnlMsgId></OrgnlGrpInfAndSts><OrgnlPmtInfAndSts><OrgnlPmtInfId>p</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>DS-202610-78F56852-10</OrgnlEndToEndId><TxSts>XXXX</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>DS-202610-78F56852-11</OrgnlEndToEndId></TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"#;
        let imp = read("odd.xml", odd.as_bytes(), &with_orders);
        balanced(&imp);
        assert_eq!(imp.rejected_rows, 2);
        assert!(imp.errors[0].reason_en.contains("unknown status: 'XXXX'"));
        assert!(imp.errors[1].reason_en.contains("no status"));
        assert_eq!(
            order_reference("Tro cap DS-202610-78F56852-10TRO CAP"),
            Some("DS-202610-78F56852-10".into())
        );
        assert_eq!(
            order_reference("DS-X DS-2024Q3-0A0B0C0D-7"),
            Some("DS-2024Q3-0A0B0C0D-7".into())
        );
        assert_eq!(order_reference("DS-202610-F7DF6F0-1"), None);
        assert_eq!(order_reference("DS-"), None);
    }

    #[test]
    fn mt940_in_dong_latin1_crlf_two_messages() {
        let bytes = include_bytes!("../../../fixtures/bank/mt940_vnd.sta");
        // Without the orders, the return names no account: it answers an unknown order.
        let bare = read("mt940_vnd.sta", bytes, &opts(Some("VBA")));
        balanced(&bare);
        assert_eq!((bare.data_rows, bare.rows.len()), (4, 2));
        assert!(
            bare.errors
                .iter()
                .any(|e| e.reason_en.contains("answers order DS-202610-78F56852-16")),
            "{:?}",
            bare.errors
        );
        let with_orders = ImportOptions {
            orders: Some(orders_with(&[(16, "4200205123458"), (17, "4200205123459")])),
            ..opts(Some("VBA"))
        };
        let imp = read("mt940_vnd.sta", bytes, &with_orders);
        balanced(&imp);
        assert_eq!(imp.format, Format::Mt940);
        assert_eq!((imp.data_rows, imp.rows.len()), (4, 3));
        let got: Vec<_> = imp
            .rows
            .iter()
            .map(|r| {
                (
                    r.status,
                    r.reference.clone(),
                    r.account.clone(),
                    r.name.clone(),
                )
            })
            .collect();
        assert_eq!(
            got[0],
            (
                PayoutStatus::Success,
                Some("DS-202610-78F56852-16".into()),
                Some("4200205123458".into()),
                Some("Le Van Cuong".into())
            )
        );
        assert_eq!(got[1].0, PayoutStatus::Returned);
        assert_eq!(got[1].1.as_deref(), Some("DS-202610-78F56852-16"));
        assert!(
            imp.rows[1]
                .reason
                .as_deref()
                .unwrap_or("")
                .starts_with("AC04"),
            "{:?}",
            imp.rows[1].reason
        );
        // German style, Latin-1: ?20EREF+…, ?31 account, ?32 name.
        assert_eq!(
            got[2],
            (
                PayoutStatus::Success,
                Some("DS-202610-78F56852-17".into()),
                Some("4200205123459".into()),
                Some("Phám Thi Dung".into())
            )
        );
        assert_eq!(imp.rows[0].value_date, NaiveDate::from_ymd_opt(2026, 10, 5));
        assert_eq!(imp.errors[0].row, 10, "the :61: line of the credit");
        assert!(
            imp.errors[0]
                .reason_en
                .contains("credit that is not a return")
        );
        // Both messages balance.
        assert!(imp.control_total.as_ref().is_some_and(|c| !c.mismatch()));
    }

    #[test]
    fn the_orders_link_answers_to_the_people_they_pay() {
        let with_orders = ImportOptions {
            orders: Some(orders()),
            ..opts(Some("VBA"))
        };
        let imp = read(
            "camt054_vnd.xml",
            include_bytes!("../../../fixtures/bank/camt054_vnd.xml"),
            &with_orders,
        );
        // DS-…-10's payment and return carry the order's account and name.
        assert_eq!(imp.rows[0].name.as_deref(), Some("Nguyễn Văn An"));
        assert_eq!(imp.rows[2].account.as_deref(), Some("4200205123456"));
    }
}
