//! SWIFT MT940 (statement) and MT942 (intraday report), read line by line: several
//! messages a file, each from `:20:` (after a `{1:}{2:}{4:` header or a bank's title) to
//! `-}`, `-` or the next `:20:`; UTF-8 or Latin-1; LF or CRLF.
//!
//! Each `:61:` is a transaction: value date, `C`/`D` (credit, debit) or `RC`/`RD` (a
//! reversal: returned), the amount with a decimal comma, references; the `:86:` after it
//! is its narrative, where the end-to-end reference is found (`EREF+…`, `/EREF/…/`).
//! The opening (`:60F:`) plus the transactions must make the closing (`:62F:`) balance.

use std::io::BufRead;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Balances, Kind, Lines, Sink, Txn, cut};
use crate::domain::records::PayoutRow;
use crate::import::{ImportError, Rows};

/// Longest line kept: SWIFT lines are at most 65 characters; a bank's narrative lines a few
/// hundred. Past this a line is cut (its rest is not kept).
const MAX_LINE: usize = 16 * 1024;

#[derive(Default)]
struct Message {
    index: u32,
    account: Option<String>,
    statement: Option<String>,
    currency: Option<String>,
    opening: Option<Decimal>,
    closing: Option<Decimal>,
    closing_line: u32,
    net: Decimal,
    count: u32,
    /// Expected, not booked (`ED`/`EC`).
    expected: u32,
    pending: Option<Pending>,
}

/// A `:61:` waiting for its `:86:`.
struct Pending {
    txn: Txn,
    customer_ref: Option<String>,
    bank_ref: Option<String>,
}

pub(super) fn read<R: Rows<PayoutRow>>(
    file: &str,
    input: impl BufRead,
    sink: &mut Sink<R>,
) -> Result<Vec<Balances>, ImportError> {
    let mut lines = Lines::new(input);
    let mut raw = Vec::new();
    let mut statements = Vec::new();
    let mut msg: Option<Message> = None;
    let mut messages = 0u32;
    // The field being read: (tag, its line, its text so far).
    let mut field: Option<(String, u32, String)> = None;
    loop {
        raw.clear();
        let at = lines.line();
        let n = std::io::Read::take(&mut lines, MAX_LINE as u64)
            .read_until(b'\n', &mut raw)
            .map_err(|e| ImportError::Corrupt {
                file: file.into(),
                detail: e.to_string(),
            })?;
        if n == 0 {
            break;
        }
        if raw.len() >= MAX_LINE && !raw.ends_with(b"\n") {
            // The rest of an overlong line is skipped, not kept.
            let mut skip = Vec::new();
            while std::io::Read::take(&mut lines, MAX_LINE as u64)
                .read_until(b'\n', &mut skip)
                .map_err(|e| ImportError::Corrupt {
                    file: file.into(),
                    detail: e.to_string(),
                })?
                > 0
                && !skip.ends_with(b"\n")
            {
                skip.clear();
            }
        }
        let text = decode(&raw);
        let mut line = text.trim_end_matches(['\r', '\n']).trim_end();
        // A `{1:…}{2:…}{4:` header: the message's text starts after `{4:`.
        if let Some(i) = line.find("{4:") {
            line = line[i + 3..].trim_start();
        }
        let ends_message = line == "-}" || line == "-" || line.starts_with("-}");
        if let Some((tag, rest)) = tag_of(line) {
            if let Some((t, l, v)) = field.take()
                && let Some(m) = &mut msg
            {
                on_field(m, &t, l, &v, sink)?;
            }
            if tag == "20" || msg.is_none() {
                if let Some(m) = msg.take() {
                    statements.push(end_message(m, sink)?);
                }
                messages += 1;
                msg = Some(Message {
                    index: messages,
                    ..Message::default()
                });
            }
            field = Some((tag.to_owned(), at, rest.to_owned()));
        } else if ends_message {
            if let Some((t, l, v)) = field.take()
                && let Some(m) = &mut msg
            {
                on_field(m, &t, l, &v, sink)?;
            }
            if let Some(m) = msg.take() {
                statements.push(end_message(m, sink)?);
            }
        } else if let Some((_, _, v)) = &mut field
            && !line.is_empty()
            && v.len() < MAX_LINE
        {
            v.push('\n');
            v.push_str(line);
        }
    }
    if let Some((t, l, v)) = field.take()
        && let Some(m) = &mut msg
    {
        on_field(m, &t, l, &v, sink)?;
    }
    if let Some(m) = msg.take() {
        statements.push(end_message(m, sink)?);
    }
    Ok(statements)
}

/// UTF-8, else Latin-1 (what German and Dutch banks' MT940 often are).
fn decode(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| b as char).collect(),
    }
}

/// `:61:` → ("61", rest); `:60F:` → ("60F", rest).
fn tag_of(line: &str) -> Option<(&str, &str)> {
    let b = line.as_bytes();
    if b.len() < 4 || b[0] != b':' || !b[1].is_ascii_digit() || !b[2].is_ascii_digit() {
        return None;
    }
    if b[3] == b':' {
        return Some((&line[1..3], &line[4..]));
    }
    if b.len() > 4 && b[3].is_ascii_uppercase() && b[4] == b':' {
        return Some((&line[1..4], &line[5..]));
    }
    None
}

fn on_field<R: Rows<PayoutRow>>(
    m: &mut Message,
    tag: &str,
    line: u32,
    value: &str,
    sink: &mut Sink<R>,
) -> Result<(), ImportError> {
    match tag {
        "25" => m.account = Some(cut(value.trim())),
        "28" | "28C" => m.statement = Some(cut(value.trim())),
        "60F" | "60M" => {
            if let Some((amount, ccy)) = balance(value)
                && m.opening.is_none()
            {
                m.opening = Some(amount);
                m.currency = Some(ccy);
            }
        }
        "62F" | "62M" => {
            if let Some((amount, ccy)) = balance(value) {
                if tag == "62F" || m.closing.is_none() {
                    m.closing = Some(amount);
                    m.closing_line = line;
                }
                m.currency.get_or_insert(ccy);
            }
        }
        // MT942: the floor limit names the currency (`:34F:EURD0,`).
        "34F" if m.currency.is_none() => {
            m.currency = value
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_uppercase()))
                .map(str::to_owned);
        }
        "61" => {
            if let Some(p) = m.pending.take() {
                flush(p, sink)?;
            }
            m.count += 1;
            match statement_line(m, line, value) {
                Some((pending, signed)) => {
                    if let Some(s) = signed {
                        m.net += s;
                    }
                    m.pending = Some(pending);
                }
                // An expected item (MT942 `ED`/`EC`): not booked, not read.
                None => m.expected += 1,
            }
        }
        "86" => {
            if let Some(p) = &mut m.pending {
                narrative(p, value);
                let p = m.pending.take();
                if let Some(p) = p {
                    flush(p, sink)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn end_message<R: Rows<PayoutRow>>(
    mut m: Message,
    sink: &mut Sink<R>,
) -> Result<Balances, ImportError> {
    if let Some(p) = m.pending.take() {
        flush(p, sink)?;
    }
    let account = m.account.as_deref().unwrap_or("?");
    let label = match &m.statement {
        Some(s) => format!("MT940 #{} {account} ({s})", m.index),
        None => format!("MT940 #{} {account}", m.index),
    };
    sink.title(format!(
        "{label}: {} {}",
        m.count,
        m.currency.as_deref().unwrap_or("")
    ));
    if m.expected > 0 {
        sink.notice(
            format!(
                "{label}: {} giao dịch dự kiến (ED/EC) chưa ghi sổ, chưa được đọc",
                m.expected
            ),
            format!(
                "{label}: {} expected items (ED/EC) not booked, left out",
                m.expected
            ),
        );
    }
    Ok(Balances {
        label,
        line: m.closing_line,
        currency: m.currency,
        opening: m.opening,
        closing: m.closing,
        net: m.net,
        entries: u64::from(m.count),
    })
}

/// A `:61:` with what its `:86:` said. Without an end-to-end reference it goes by the
/// bank's own reference (unique per transaction), never the customer reference: 16
/// characters, often the same on every line of a batch. That one is searched, with the
/// narrative, for a doisoat order reference.
fn flush<R: Rows<PayoutRow>>(p: Pending, sink: &mut Sink<R>) -> Result<(), ImportError> {
    let mut t = p.txn;
    if t.reference.is_none() {
        t.reference = p.bank_ref;
    }
    if let Some(c) = p.customer_ref {
        let n = t.narrative.get_or_insert_with(String::new);
        n.push(' ');
        n.push_str(&c);
    }
    sink.take(t)
}

/// `C120131EUR1000,00` → (1000.00, EUR), negative for `D`.
fn balance(v: &str) -> Option<(Decimal, String)> {
    let v = v.trim();
    let debit = v.starts_with('D');
    let rest = v.get(1..)?;
    let ccy = rest.get(6..9)?.to_owned();
    if !ccy.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let amount = amount(rest.get(9..)?)?;
    Some((if debit { -amount } else { amount }, ccy))
}

/// `1000,00` (a decimal comma; `1000,` is whole; some banks' old exports write a point).
fn amount(s: &str) -> Option<Decimal> {
    let s = s.trim();
    let separators = s.bytes().filter(|b| matches!(b, b',' | b'.')).count();
    let digits = s.trim_end_matches([',', '.']);
    if digits.is_empty()
        || separators > 1
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'.')
    {
        return None;
    }
    digits.replace(',', ".").parse().ok()
}

/// A `:61:` line: `YYMMDD[MMDD](C|D|RC|RD)[funds code]amount(N|F|S)xxx ref[//bank ref]`,
/// then supplementary details on the next line. Returns the transaction and its signed
/// amount for the balance check.
fn statement_line(m: &Message, line: u32, value: &str) -> Option<(Pending, Option<Decimal>)> {
    let path = format!("MT940 #{} :61: #{}", m.index, m.count);
    let mut t = Txn {
        line,
        path,
        currency: m.currency.clone(),
        decimal_comma: true,
        ..Txn::default()
    };
    let first = value.lines().next().unwrap_or("");
    let b = first.as_bytes();
    let mut i = 0;
    let digits = |from: usize, n: usize| {
        b.get(from..from + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if digits(0, 6) {
        t.value_date = NaiveDate::parse_from_str(&format!("20{}", &first[..6]), "%Y%m%d").ok();
        i = 6;
        if digits(6, 4) {
            i = 10;
        }
    }
    let rest = &first[i.min(first.len())..];
    let (mark, rest) = ["RC", "RD", "EC", "ED", "C", "D"]
        .iter()
        .find_map(|m| rest.strip_prefix(m).map(|r| (*m, r)))
        .unwrap_or(("", rest));
    if matches!(mark, "EC" | "ED") {
        return None;
    }
    // A funds code (the currency's third letter) may come before the amount.
    let rest = match rest.as_bytes().first() {
        Some(c) if c.is_ascii_uppercase() => &rest[1..],
        _ => rest,
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(rest.len());
    let amount_text = &rest[..end];
    let after = &rest[end..];
    if !amount_text.is_empty() {
        t.amount = Some(amount_text.to_owned());
    }
    let signed = amount(amount_text).map(|a| match mark {
        "D" | "RC" => -a,
        _ => a,
    });
    t.kind = match mark {
        "D" => Some(Kind::Paid),
        "C" => Some(Kind::Credit),
        "RC" | "RD" => Some(Kind::Returned),
        _ => None,
    };
    if mark.starts_with('R') {
        t.reason = Some(format!("Đảo giao dịch ({mark}) / reversal ({mark})"));
    }
    // The transaction type (`NTRF`, `S202`, …) then the references.
    let refs = after.get(4..).unwrap_or("");
    let (customer, bank) = match refs.split_once("//") {
        Some((c, b)) => (c, Some(b)),
        None => (refs, None),
    };
    let customer = customer.trim();
    let customer_ref =
        (!customer.is_empty() && !customer.eq_ignore_ascii_case("NONREF")).then(|| cut(customer));
    let bank_ref = bank.map(str::trim).filter(|b| !b.is_empty()).map(cut);
    Some((
        Pending {
            txn: t,
            customer_ref,
            bank_ref,
        },
        signed,
    ))
}

/// What a `:86:` narrative says: the end-to-end reference, the counterparty's account and
/// name, in the common styles (German `?20EREF+…?31IBAN?32NAME`, `/EREF/…/IBAN/…/NAME/…`).
fn narrative(p: &mut Pending, text: &str) {
    let flat: String = text.lines().map(str::trim_end).collect();
    p.txn.narrative = Some(cut(&text
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")));
    if let Some(e) = end_to_end(&flat) {
        p.txn.reference = Some(cut(&e));
    }
    // German structured narrative: ?31 account, ?32/?33 name.
    if flat.contains("?2") || flat.contains("?3") {
        let sub = |code: &str| -> Option<String> {
            let at = flat.find(code)? + code.len();
            let rest = &flat[at..];
            let end = rest.find('?').unwrap_or(rest.len());
            let v = rest[..end].trim();
            (!v.is_empty()).then(|| v.to_owned())
        };
        if let Some(a) = sub("?31") {
            p.txn.account = Some(cut(&a.replace(' ', "")));
        }
        let name: String = [sub("?32"), sub("?33")].into_iter().flatten().collect();
        if !name.is_empty() {
            p.txn.name = Some(cut(&name));
        }
    }
    let slashed = |key: &str| -> Option<String> {
        let at = flat.find(key)? + key.len();
        let rest = &flat[at..];
        let v = rest.split('/').next().unwrap_or("").trim();
        (!v.is_empty()).then(|| v.to_owned())
    };
    if p.txn.account.is_none() {
        p.txn.account = slashed("/IBAN/").map(|a| cut(&a.replace(' ', "")));
    }
    if p.txn.name.is_none() {
        p.txn.name = slashed("/NAME/").map(|n| cut(&n));
    }
    // A credit booked as a return (`/RTRN/AC04/`) is money back, as `RD` is.
    if let Some(code) = slashed("/RTRN/")
        && matches!(p.txn.kind, Some(Kind::Returned | Kind::Credit))
    {
        p.txn.kind = Some(Kind::Returned);
        p.txn.reason = crate::domain::reason_codes::describe(Some(&code), None);
    }
}

/// The end-to-end reference in a narrative: `EREF+ABC` (to the next `?` subfield or SEPA
/// keyword), `/EREF/ABC/`, or `EREF: ABC`.
fn end_to_end(flat: &str) -> Option<String> {
    const KEYWORDS: [&str; 8] = [
        "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "COAM+",
    ];
    let found = if let Some(at) = flat.find("EREF+") {
        let rest = &flat[at + 5..];
        // The value may run on across `?2x` subfields (long references wrap).
        let mut v = String::new();
        let mut s = rest;
        loop {
            let end = s.find('?').unwrap_or(s.len());
            let part = &s[..end];
            let stop = KEYWORDS.iter().filter_map(|k| part.find(k)).min();
            match stop {
                Some(k) => {
                    v.push_str(&part[..k]);
                    break;
                }
                None => v.push_str(part),
            }
            let next = &s[end..];
            // `?21`… continue the purpose text; another keyword there ends the reference.
            if next.len() >= 3
                && next.as_bytes()[1] == b'2'
                && next.as_bytes()[2].is_ascii_digit()
                && !KEYWORDS.iter().any(|k| next[3..].starts_with(k))
            {
                s = &next[3..];
            } else {
                break;
            }
        }
        Some(v)
    } else if let Some(at) = flat.find("/EREF/") {
        Some(flat[at + 6..].split('/').next().unwrap_or("").to_owned())
    } else {
        flat.find("EREF:").map(|at| {
            flat[at + 5..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_owned()
        })
    };
    found
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("NOTPROVIDED"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_references_in_narratives() {
        assert_eq!(
            end_to_end("166?00SEPA-UEBERWEISUNG?100310?20EREF+DS-202610-1A2B?21MREF+X").as_deref(),
            Some("DS-202610-1A2B")
        );
        assert_eq!(
            end_to_end("?20EREF+DS-202610-1A2B3C4D-00?2112345?22SVWZ+Tro cap").as_deref(),
            Some("DS-202610-1A2B3C4D-0012345")
        );
        assert_eq!(
            end_to_end("/EREF/DS-1//NAME/Nguyen Van A/").as_deref(),
            Some("DS-1")
        );
        assert_eq!(end_to_end("EREF: ABC 123").as_deref(), Some("ABC"));
        assert_eq!(end_to_end("/EREF/NOTPROVIDED/"), None);
        assert_eq!(end_to_end("nothing here"), None);
    }

    #[test]
    fn tags_and_amounts() {
        assert_eq!(tag_of(":61:1"), Some(("61", "1")));
        assert_eq!(tag_of(":60F:C"), Some(("60F", "C")));
        assert_eq!(tag_of("61:1"), None);
        assert_eq!(amount("1000,"), Some(Decimal::from(1000)));
        assert_eq!(amount("12,5"), "12.5".parse().ok());
        assert_eq!(amount("1.000,00"), None);
        assert_eq!(amount("000000000300.00"), Some(Decimal::from(300)));
        assert_eq!(
            balance("C120131EUR1000,00"),
            Some((Decimal::from(1000), "EUR".to_owned()))
        );
        assert_eq!(
            balance("D120131VND1500000,"),
            Some((Decimal::from(-1_500_000), "VND".to_owned()))
        );
        assert_eq!(balance("C020315105000,00"), None, "no currency");
    }
}
