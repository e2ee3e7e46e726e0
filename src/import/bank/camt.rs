//! ISO 20022 camt.052 (intraday report), camt.053 (statement) and camt.054 (debit/credit
//! notification), versions 001.01 to 001.08, streamed element by element.
//!
//! A booked entry (`Sts` `BOOK`, as text up to v7, as `<Cd>` from v8) gives one row per
//! transaction detail (`TxDtls`, each with its own amount: a batch's total is never counted
//! as well), or one row for itself when it has none. Debits are payouts; credits that are
//! reversals (`RvslInd`) or carry return information (`RtrInf`) are returns; other credits
//! are no payouts, and are rejected saying so. Entries not booked yet (`PDNG`, `INFO`) are
//! counted in a notice, not read: only a booking is final.

use std::io::BufRead;

use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use rust_decimal::Decimal;

use super::{Balances, Kind, Lines, Sink, Txn, append, cut, open_element};
use crate::domain::reason_codes;
use crate::domain::records::PayoutRow;
use crate::import::{ImportError, Rows};

const ROOTS: [&str; 3] = ["BkToCstmrStmt", "BkToCstmrAcctRpt", "BkToCstmrDbtCdtNtfctn"];
const STATEMENTS: [&str; 3] = ["Stmt", "Rpt", "Ntfctn"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Credit,
    Debit,
}

impl Dir {
    fn parse(s: &str) -> Option<Dir> {
        match s.trim() {
            "CRDT" => Some(Dir::Credit),
            "DBIT" => Some(Dir::Debit),
            _ => None,
        }
    }
    fn code(self) -> &'static str {
        match self {
            Dir::Credit => "CRDT",
            Dir::Debit => "DBIT",
        }
    }
}

#[derive(Default)]
struct Statement {
    label: String,
    account: Option<String>,
    currency: Option<String>,
    opening: Option<Decimal>,
    previous_closing: Option<Decimal>,
    closing: Option<Decimal>,
    closing_line: u32,
    net: Decimal,
    entries: u64,
    booked: u64,
    not_booked: u64,
    bal: Bal,
}

#[derive(Default)]
struct Bal {
    code: Option<String>,
    amount: Option<Decimal>,
    debit: bool,
}

#[derive(Default)]
struct Entry {
    index: u32,
    amount: Option<String>,
    currency: Option<String>,
    dir: Option<Dir>,
    reversal: bool,
    status: Option<String>,
    reference: Option<String>,
    value_date: Option<NaiveDate>,
    booking_date: Option<NaiveDate>,
    txs: u32,
    /// A transaction stated without an amount: it takes the entry's when it is the entry's
    /// only one, which is known only at the entry's end.
    held: Option<Txn>,
}

#[derive(Default)]
struct Tx {
    /// (priority, amount, currency): `Amt` over `AmtDtls/TxAmt` over `AmtDtls/InstdAmt`.
    amount: Option<(u8, String, Option<String>)>,
    dir: Option<Dir>,
    end_to_end: Option<String>,
    bank_ref: Option<String>,
    creditor: Party,
    debtor: Party,
    returned: bool,
    return_code: Option<String>,
    return_text: Option<String>,
    /// `RmtInf/Ustrd` and `AddtlTxInf`.
    narrative: Option<String>,
}

#[derive(Default)]
struct Party {
    name: Option<String>,
    account: Option<String>,
}

pub(super) fn read<R: Rows<PayoutRow>>(
    file: &str,
    input: impl BufRead,
    sink: &mut Sink<R>,
) -> Result<Vec<Balances>, ImportError> {
    let mut reader = Reader::from_reader(Lines::new(input));
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut ccy: Option<String> = None;
    let mut w = Walk::default();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            corrupt(
                file,
                reader.get_ref().line(),
                &e.to_string(),
                &stack.join("/"),
            )
        })?;
        let line = reader.get_ref().line();
        match event {
            Event::Start(e) => {
                open(&mut stack, &e, &mut ccy, file, line)?;
                text.clear();
                w.open(&stack, line, sink)?;
            }
            Event::Empty(e) => {
                open(&mut stack, &e, &mut ccy, file, line)?;
                text.clear();
                w.open(&stack, line, sink)?;
                w.close(&stack, "", ccy.take(), line, sink)?;
                stack.pop();
            }
            Event::Text(t) => append(&mut text, &t.xml10_content()),
            Event::CData(c) => append(&mut text, &c),
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r.xml10_content() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    append(&mut text, c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::End(_) => {
                w.close(&stack, &text, ccy.take(), line, sink)?;
                stack.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if w.statements.is_empty() && w.seen_root.is_none() {
        return Err(corrupt(file, 1, "no statement found", ""));
    }
    Ok(w.statements)
}

fn open(
    stack: &mut Vec<String>,
    e: &BytesStart<'_>,
    ccy: &mut Option<String>,
    file: &str,
    line: u32,
) -> Result<(), ImportError> {
    if open_element(stack, e, ccy) {
        Ok(())
    } else {
        Err(corrupt(file, line, "elements nested too deep", ""))
    }
}

fn corrupt(file: &str, line: u32, why: &str, at: &str) -> ImportError {
    ImportError::Corrupt {
        file: file.into(),
        detail: if at.is_empty() {
            format!("XML, dòng/line {line}: {why}")
        } else {
            format!("XML, dòng/line {line}, {at}: {why}")
        },
    }
}

/// A message's root: `BkToCstmrStmt`, or version 1's `BkToCstmrStmtV01`.
fn is_root(name: &str) -> bool {
    ROOTS.iter().any(|r| {
        name.strip_prefix(r)
            .is_some_and(|v| v.is_empty() || v.starts_with('V'))
    })
}

fn ends(stack: &[String], path: &[&str]) -> bool {
    stack.len() >= path.len()
        && stack[stack.len() - path.len()..]
            .iter()
            .zip(path)
            .all(|(a, b)| a == b)
}

#[derive(Default)]
struct Walk {
    seen_root: Option<String>,
    statements: Vec<Balances>,
    stmt: Option<Statement>,
    stmt_count: u32,
    entry: Option<Entry>,
    tx: Option<Tx>,
}

impl Walk {
    fn open<R: Rows<PayoutRow>>(
        &mut self,
        stack: &[String],
        _line: u32,
        sink: &mut Sink<R>,
    ) -> Result<(), ImportError> {
        let name = stack.last().map_or("", String::as_str);
        let parent = stack.len().checked_sub(2).map_or("", |i| stack[i].as_str());
        if is_root(name) {
            self.seen_root = Some(name.to_owned());
        } else if STATEMENTS.contains(&name) && is_root(parent) {
            self.stmt_count += 1;
            self.stmt = Some(Statement {
                label: format!("{name}[{}]", self.stmt_count),
                ..Statement::default()
            });
        } else if name == "Bal" {
            if let Some(s) = &mut self.stmt {
                s.bal = Bal::default();
            }
        } else if name == "Ntry" && parent != "TxDtls" {
            if let Some(s) = &mut self.stmt {
                s.entries += 1;
                self.entry = Some(Entry {
                    index: u32::try_from(s.entries).unwrap_or(u32::MAX),
                    ..Entry::default()
                });
            }
        } else if name == "TxDtls" {
            if let Some(e) = &mut self.entry {
                e.txs += 1;
                // A held transaction without an amount is one of several: it has none.
                if e.txs > 1
                    && let Some(t) = e.held.take()
                {
                    sink.take(t)?;
                }
                self.tx = Some(Tx::default());
            }
        } else if name == "RtrInf"
            && let Some(t) = &mut self.tx
        {
            t.returned = true;
        }
        Ok(())
    }

    fn close<R: Rows<PayoutRow>>(
        &mut self,
        stack: &[String],
        text: &str,
        ccy: Option<String>,
        line: u32,
        sink: &mut Sink<R>,
    ) -> Result<(), ImportError> {
        let text = text.trim();
        let name = stack.last().map_or("", String::as_str);
        if let Some(t) = &mut self.tx {
            if name == "TxDtls" {
                let Some(tx) = self.tx.take() else {
                    return Ok(());
                };
                return self.transaction(tx, line, sink);
            }
            tx_field(t, stack, text, ccy);
            return Ok(());
        }
        if let Some(e) = &mut self.entry {
            if name == "Ntry" {
                return self.entry_end(line, sink);
            }
            if ends(stack, &["Ntry", "Amt"]) {
                e.amount = Some(cut(text));
                e.currency = ccy;
            } else if ends(stack, &["Ntry", "CdtDbtInd"]) {
                e.dir = Dir::parse(text);
            } else if ends(stack, &["Ntry", "RvslInd"]) {
                e.reversal = matches!(text, "true" | "1");
            } else if ends(stack, &["Ntry", "Sts"]) && !text.is_empty()
                || ends(stack, &["Ntry", "Sts", "Cd"])
            {
                e.status = Some(cut(text));
            } else if ends(stack, &["Ntry", "AcctSvcrRef"])
                || ends(stack, &["Ntry", "NtryRef"]) && e.reference.is_none()
            {
                e.reference = Some(cut(text));
            } else if ends(stack, &["Ntry", "ValDt", "Dt"])
                || ends(stack, &["Ntry", "ValDt", "DtTm"])
            {
                e.value_date = date(text);
            } else if ends(stack, &["Ntry", "BookgDt", "Dt"])
                || ends(stack, &["Ntry", "BookgDt", "DtTm"])
            {
                e.booking_date = date(text);
            }
            return Ok(());
        }
        let Some(s) = &mut self.stmt else {
            return Ok(());
        };
        if STATEMENTS.contains(&name) && stack.len() >= 2 && is_root(&stack[stack.len() - 2]) {
            return self.statement_end(line, sink);
        }
        if ends(stack, &["Acct", "Id", "IBAN"]) || ends(stack, &["Acct", "Id", "Othr", "Id"]) {
            s.account = Some(cut(text));
        } else if ends(stack, &["Acct", "Ccy"]) {
            s.currency = Some(cut(text));
        } else if ends(stack, &["Acct", "Svcr", "FinInstnId", "Nm"])
            || ends(stack, &["Acct", "Svcr", "FinInstnId", "BIC"])
            || ends(stack, &["Acct", "Svcr", "FinInstnId", "BICFI"])
        {
            sink.file_names_bank(text);
        } else if ends(stack, &["Bal", "Tp", "CdOrPrtry", "Cd"])
            || ends(stack, &["Bal", "Tp", "Cd"])
        {
            s.bal.code = Some(text.to_owned());
        } else if ends(stack, &["Bal", "Amt"]) {
            s.bal.amount = text.parse().ok();
            if s.currency.is_none() {
                s.currency = ccy;
            }
        } else if ends(stack, &["Bal", "CdtDbtInd"]) {
            s.bal.debit = text == "DBIT";
        } else if name == "Bal" {
            let bal = std::mem::take(&mut s.bal);
            let signed = bal.amount.map(|a| if bal.debit { -a } else { a });
            match bal.code.as_deref() {
                Some("OPBD") => s.opening = s.opening.or(signed),
                Some("PRCD") => s.previous_closing = s.previous_closing.or(signed),
                Some("CLBD") => {
                    s.closing = s.closing.or(signed);
                    s.closing_line = line;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn transaction<R: Rows<PayoutRow>>(
        &mut self,
        tx: Tx,
        line: u32,
        sink: &mut Sink<R>,
    ) -> Result<(), ImportError> {
        let (Some(s), Some(e)) = (&self.stmt, &mut self.entry) else {
            return Ok(());
        };
        if !booked(e) {
            return Ok(());
        }
        let path = format!("{}/Ntry[{}]/TxDtls[{}]", s.label, e.index, e.txs);
        let mut t = txn(&tx, e, path, line);
        match tx.amount {
            Some((_, amount, currency)) => {
                t.amount = Some(amount);
                t.currency = currency;
                sink.take(t)
            }
            None if e.txs == 1 => {
                e.held = Some(t);
                Ok(())
            }
            None => sink.take(t),
        }
    }

    fn entry_end<R: Rows<PayoutRow>>(
        &mut self,
        line: u32,
        sink: &mut Sink<R>,
    ) -> Result<(), ImportError> {
        let (Some(s), Some(mut e)) = (&mut self.stmt, self.entry.take()) else {
            return Ok(());
        };
        if !booked(&e) {
            s.not_booked += 1;
            return Ok(());
        }
        s.booked += 1;
        let amount: Option<Decimal> = e.amount.as_deref().and_then(|a| a.parse().ok());
        match (amount, e.dir) {
            (Some(a), Some(Dir::Credit)) => s.net += a,
            (Some(a), Some(Dir::Debit)) => s.net -= a,
            _ => {}
        }
        if let Some(mut t) = e.held.take() {
            // The entry's only transaction: the entry's amount is its amount.
            t.amount = e.amount.clone();
            t.currency = e.currency.clone();
            return sink.take(t);
        }
        if e.txs == 0 {
            let path = format!("{}/Ntry[{}]", s.label, e.index);
            let mut t = txn(&Tx::default(), &e, path, line);
            t.amount = e.amount.take();
            t.currency = e.currency.take();
            t.reference = e.reference.take();
            return sink.take(t);
        }
        Ok(())
    }

    fn statement_end<R: Rows<PayoutRow>>(
        &mut self,
        line: u32,
        sink: &mut Sink<R>,
    ) -> Result<(), ImportError> {
        let Some(s) = self.stmt.take() else {
            return Ok(());
        };
        let account = s.account.as_deref().unwrap_or("?");
        let ccy = s.currency.as_deref().unwrap_or("");
        sink.title(
            format!("{}: {account} {ccy}", s.label)
                .trim_end()
                .to_owned(),
        );
        if s.not_booked > 0 {
            sink.notice(
                format!(
                    "{}: {} bút toán chưa ghi sổ (Sts khác BOOK) chưa được đọc: chỉ bút toán đã ghi sổ là kết quả cuối cùng",
                    s.label, s.not_booked
                ),
                format!(
                    "{}: {} entries not booked (Sts other than BOOK) left out: only a booking is final",
                    s.label, s.not_booked
                ),
            );
        }
        self.statements.push(Balances {
            label: format!("{} {account}", s.label),
            line: if s.closing_line > 0 {
                s.closing_line
            } else {
                line
            },
            currency: s.currency,
            opening: s.opening.or(s.previous_closing),
            closing: s.closing,
            net: s.net,
            entries: s.booked,
        });
        Ok(())
    }
}

fn booked(e: &Entry) -> bool {
    e.status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("BOOK"))
}

fn tx_field(t: &mut Tx, stack: &[String], text: &str, ccy: Option<String>) {
    let amount = |prio: u8, t: &mut Tx| {
        if t.amount.as_ref().is_none_or(|a| a.0 < prio) {
            t.amount = Some((prio, cut(text), ccy.clone()));
        }
    };
    if ends(stack, &["TxDtls", "Amt"]) {
        amount(3, t);
    } else if ends(stack, &["TxDtls", "AmtDtls", "TxAmt", "Amt"]) {
        amount(2, t);
    } else if ends(stack, &["TxDtls", "AmtDtls", "InstdAmt", "Amt"]) {
        amount(1, t);
    } else if ends(stack, &["TxDtls", "CdtDbtInd"]) {
        t.dir = Dir::parse(text);
    } else if ends(stack, &["TxDtls", "Refs", "EndToEndId"]) {
        if !text.is_empty() && !text.eq_ignore_ascii_case("NOTPROVIDED") {
            t.end_to_end = Some(cut(text));
        }
    } else if ends(stack, &["TxDtls", "Refs", "AcctSvcrRef"])
        || ((ends(stack, &["TxDtls", "Refs", "TxId"]) || ends(stack, &["TxDtls", "Refs", "UETR"]))
            && t.bank_ref.is_none())
    {
        t.bank_ref = Some(cut(text));
    } else if ends(stack, &["RltdPties", "Cdtr", "Nm"])
        || ends(stack, &["RltdPties", "Cdtr", "Pty", "Nm"])
    {
        t.creditor.name = Some(cut(text));
    } else if ends(stack, &["RltdPties", "Dbtr", "Nm"])
        || ends(stack, &["RltdPties", "Dbtr", "Pty", "Nm"])
    {
        t.debtor.name = Some(cut(text));
    } else if ends(stack, &["RltdPties", "CdtrAcct", "Id", "IBAN"])
        || ends(stack, &["RltdPties", "CdtrAcct", "Id", "Othr", "Id"])
    {
        t.creditor.account = Some(cut(text));
    } else if ends(stack, &["RltdPties", "DbtrAcct", "Id", "IBAN"])
        || ends(stack, &["RltdPties", "DbtrAcct", "Id", "Othr", "Id"])
    {
        t.debtor.account = Some(cut(text));
    } else if ends(stack, &["RtrInf", "Rsn", "Cd"]) || ends(stack, &["RtrInf", "Rsn", "Prtry"]) {
        t.return_code = Some(cut(text));
    } else if ends(stack, &["RtrInf", "AddtlInf"]) {
        let to = t.return_text.get_or_insert_with(String::new);
        if !to.is_empty() {
            to.push(' ');
        }
        append(to, text);
    } else if ends(stack, &["RmtInf", "Ustrd"]) || ends(stack, &["TxDtls", "AddtlTxInf"]) {
        let to = t.narrative.get_or_insert_with(String::new);
        if !to.is_empty() {
            to.push(' ');
        }
        append(to, text);
    }
}

/// A transaction of a booked entry, as a row to be checked.
fn txn(tx: &Tx, e: &Entry, path: String, line: u32) -> Txn {
    let dir = e.dir;
    let kind = match dir {
        _ if e.reversal || tx.returned => Some(Kind::Returned),
        Some(Dir::Debit) => Some(Kind::Paid),
        Some(Dir::Credit) => Some(Kind::Credit),
        None => None,
    };
    // The beneficiary is the creditor of a payment, the debtor of its return.
    let (first, second) = match dir {
        Some(Dir::Credit) => (&tx.debtor, &tx.creditor),
        _ => (&tx.creditor, &tx.debtor),
    };
    let problem = match (dir, tx.dir) {
        (Some(d), Some(t)) if d != t => Some((
            format!(
                "giao dịch ghi {} trong bút toán ghi {}: tệp tự mâu thuẫn",
                t.code(),
                d.code()
            ),
            format!(
                "a {} transaction in a {} entry: the file contradicts itself",
                t.code(),
                d.code()
            ),
        )),
        _ => None,
    };
    let reason = if tx.returned {
        reason_codes::describe(tx.return_code.as_deref(), tx.return_text.as_deref())
            .or_else(|| Some("Hoàn trả (RtrInf) / returned".into()))
    } else if e.reversal {
        Some("Đảo bút toán (RvslInd) / reversal".into())
    } else {
        None
    };
    Txn {
        line,
        path,
        kind,
        problem,
        reference: tx.end_to_end.clone().or_else(|| tx.bank_ref.clone()),
        account: first
            .account
            .clone()
            .or_else(|| second.account.clone())
            .map(|a| a.split_whitespace().collect()),
        name: first.name.clone().or_else(|| second.name.clone()),
        value_date: e.value_date.or(e.booking_date),
        reason,
        narrative: tx.narrative.clone(),
        ..Txn::default()
    }
}

fn date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}
