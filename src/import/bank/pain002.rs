//! ISO 20022 pain.002 (customer payment status report), versions 001.02 to 001.11 and
//! national variants, streamed.
//!
//! Statuses: `ACSC`/`ACCC` paid; `RJCT` failed, with the reason (`StsRsnInf`: `AC01`,
//! `AC04`, `MD07`…); `ACTC`/`ACCP`/`ACSP`/`ACWC`/`PDNG`/`RCVD`/`PART` pending. A
//! transaction takes its own status, else its payment information block's, else the
//! group's. A block's or the group's status also answers for the orders it lists none of:
//! those are found in the payment orders doisoat wrote (`ImportOptions::orders`).

use std::collections::HashSet;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{Kind, Lines, Sink, Txn, append, cut, open_element};
use crate::domain::reason_codes;
use crate::domain::records::PayoutRow;
use crate::import::{ImportError, Rows};

/// A status with its reason, and where it was stated.
#[derive(Default, Clone)]
struct Status {
    code: Option<String>,
    reason_code: Option<String>,
    reason_text: Option<String>,
    line: u32,
}

impl Status {
    fn reason(&self) -> Option<String> {
        reason_codes::describe(self.reason_code.as_deref(), self.reason_text.as_deref())
    }
}

#[derive(Default)]
struct Block {
    id: Option<String>,
    status: Status,
    index: u32,
}

#[derive(Default)]
struct Tx {
    end_to_end: Option<String>,
    instruction: Option<String>,
    status: Status,
    amount: Option<(String, Option<String>)>,
    account: Option<String>,
    name: Option<String>,
}

pub(super) fn read<R: Rows<PayoutRow>>(
    file: &str,
    input: impl BufRead,
    sink: &mut Sink<R>,
) -> Result<Vec<super::Balances>, ImportError> {
    let mut reader = Reader::from_reader(Lines::new(input));
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut ccy = None;
    let mut group = Status::default();
    let mut group_message: Option<String> = None;
    // The transactions listed anywhere in the file, and the blocks' statuses to answer for
    // the rest with: both only when there are orders to answer for.
    let with_orders = sink.orders().is_some();
    let mut listed: HashSet<String> = HashSet::new();
    let mut answers: Vec<(String, Status, String)> = Vec::new();
    let mut block: Option<Block> = None;
    let mut blocks = 0u32;
    let mut tx: Option<Tx> = None;
    let mut txs = 0u32;
    let corrupt = |line: u32, why: &str| ImportError::Corrupt {
        file: file.into(),
        detail: format!("XML, dòng/line {line}: {why}"),
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| corrupt(reader.get_ref().line(), &e.to_string()))?;
        let line = reader.get_ref().line();
        let (start, end) = match &event {
            Event::Start(e) | Event::Empty(e) => {
                if !open_element(&mut stack, e, &mut ccy) {
                    return Err(corrupt(line, "elements nested too deep"));
                }
                text.clear();
                (true, matches!(event, Event::Empty(_)))
            }
            Event::End(_) => (false, true),
            Event::Text(t) => {
                append(&mut text, &t.xml10_content());
                (false, false)
            }
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    append(&mut text, c.encode_utf8(&mut [0; 4]));
                } else if let Some(c) = match &*r.xml10_content() {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => None,
                } {
                    append(&mut text, c.encode_utf8(&mut [0; 4]));
                }
                (false, false)
            }
            Event::Eof => break,
            _ => (false, false),
        };
        if start {
            match stack.last().map(String::as_str) {
                Some("OrgnlPmtInfAndSts") => {
                    blocks += 1;
                    block = Some(Block {
                        index: blocks,
                        ..Block::default()
                    });
                }
                Some("TxInfAndSts") => {
                    txs += 1;
                    tx = Some(Tx::default());
                }
                _ => {}
            }
        }
        if end {
            let v = text.trim();
            let name = stack.last().map_or("", String::as_str);
            let at = |p: &[&str]| ends(&stack, p);
            if let Some(t) = &mut tx {
                if name == "TxInfAndSts" {
                    let done = tx.take().unwrap_or_default();
                    let path = match &block {
                        Some(b) => format!("OrgnlPmtInfAndSts[{}]/TxInfAndSts[{txs}]", b.index),
                        None => format!("TxInfAndSts[{txs}]"),
                    };
                    // Kept only to answer for the orders a status does not list.
                    if let Some(e) = &done.end_to_end
                        && with_orders
                    {
                        listed.insert(e.clone());
                    }
                    let inherited = block
                        .as_ref()
                        .map(|b| &b.status)
                        .filter(|s| s.code.is_some())
                        .unwrap_or(&group);
                    let status = if done.status.code.is_some() {
                        &done.status
                    } else {
                        inherited
                    };
                    sink.take(Txn {
                        line,
                        path,
                        amount: done.amount.as_ref().map(|a| a.0.clone()),
                        currency: done.amount.and_then(|a| a.1),
                        kind: kind(status.code.as_deref()),
                        problem: unknown(status.code.as_deref()),
                        reference: done.end_to_end.or(done.instruction),
                        account: done.account,
                        name: done.name,
                        reason: status.reason(),
                        ..Txn::default()
                    })?;
                } else if at(&["TxInfAndSts", "OrgnlEndToEndId"]) {
                    if !v.is_empty() && !v.eq_ignore_ascii_case("NOTPROVIDED") {
                        t.end_to_end = Some(cut(v));
                    }
                } else if at(&["TxInfAndSts", "OrgnlInstrId"]) {
                    t.instruction = Some(cut(v));
                } else if at(&["TxInfAndSts", "TxSts"]) || at(&["TxInfAndSts", "TxSts", "Cd"]) {
                    t.status.code = Some(cut(v));
                    t.status.line = line;
                } else if at(&["TxInfAndSts", "StsRsnInf", "Rsn", "Cd"])
                    || at(&["TxInfAndSts", "StsRsnInf", "Rsn", "Prtry"])
                {
                    t.status.reason_code.get_or_insert_with(|| cut(v));
                } else if at(&["TxInfAndSts", "StsRsnInf", "AddtlInf"]) {
                    add_text(&mut t.status.reason_text, v);
                } else if at(&["OrgnlTxRef", "Amt", "InstdAmt"])
                    || at(&["OrgnlTxRef", "Amt", "EqvtAmt", "Amt"])
                {
                    t.amount.get_or_insert((cut(v), ccy.take()));
                } else if at(&["OrgnlTxRef", "CdtrAcct", "Id", "IBAN"])
                    || at(&["OrgnlTxRef", "CdtrAcct", "Id", "Othr", "Id"])
                {
                    t.account = Some(cut(&v.replace(' ', "")));
                } else if at(&["OrgnlTxRef", "Cdtr", "Nm"])
                    || at(&["OrgnlTxRef", "Cdtr", "Pty", "Nm"])
                {
                    t.name = Some(cut(v));
                }
            } else if let Some(b) = &mut block {
                if name == "OrgnlPmtInfAndSts" {
                    let done = block.take().unwrap_or_default();
                    let status = if done.status.code.is_some() {
                        done.status.clone()
                    } else {
                        group.clone()
                    };
                    // Answered at the end of the file, once every listed transaction is
                    // known (a block may be reported in parts).
                    if let Some(id) = done.id {
                        answers.retain(|(b, _, _)| *b != id);
                        answers.push((id, status, format!("OrgnlPmtInfAndSts[{}]", done.index)));
                    }
                } else if at(&["OrgnlPmtInfAndSts", "OrgnlPmtInfId"]) {
                    b.id = Some(cut(v));
                } else if at(&["OrgnlPmtInfAndSts", "PmtInfSts"])
                    || at(&["OrgnlPmtInfAndSts", "PmtInfSts", "Cd"])
                {
                    b.status.code = Some(cut(v));
                    b.status.line = line;
                } else if at(&["OrgnlPmtInfAndSts", "StsRsnInf", "Rsn", "Cd"])
                    || at(&["OrgnlPmtInfAndSts", "StsRsnInf", "Rsn", "Prtry"])
                {
                    b.status.reason_code.get_or_insert_with(|| cut(v));
                } else if at(&["OrgnlPmtInfAndSts", "StsRsnInf", "AddtlInf"]) {
                    add_text(&mut b.status.reason_text, v);
                }
            } else if at(&["OrgnlGrpInfAndSts", "OrgnlMsgId"]) {
                group_message = Some(cut(v));
            } else if at(&["OrgnlGrpInfAndSts", "GrpSts"])
                || at(&["OrgnlGrpInfAndSts", "GrpSts", "Cd"])
            {
                group.code = Some(cut(v));
                group.line = line;
            } else if at(&["OrgnlGrpInfAndSts", "StsRsnInf", "Rsn", "Cd"])
                || at(&["OrgnlGrpInfAndSts", "StsRsnInf", "Rsn", "Prtry"])
            {
                group.reason_code.get_or_insert_with(|| cut(v));
            } else if at(&["OrgnlGrpInfAndSts", "StsRsnInf", "AddtlInf"]) {
                add_text(&mut group.reason_text, v);
            }
            stack.pop();
            text.clear();
        }
        buf.clear();
    }
    for (id, status, path) in &answers {
        let answered = unlisted(sink, id, status, &listed, path)?;
        listed.extend(answered);
    }
    if let Some(id) = &group_message {
        unlisted(sink, id, &group, &listed, "OrgnlGrpInfAndSts")?;
    }
    let label = group_message.as_deref().unwrap_or("?");
    sink.title(format!(
        "OrgnlMsgId {label}: {}",
        group.code.as_deref().unwrap_or("—")
    ));
    Ok(Vec::new())
}

/// A block's (or the group's) status answers for its orders it lists none of: one row for
/// each such order doisoat wrote, with the order's amount. Returns their references.
fn unlisted<R: Rows<PayoutRow>>(
    sink: &mut Sink<R>,
    block: &str,
    status: &Status,
    listed: &HashSet<String>,
    path: &str,
) -> Result<Vec<String>, ImportError> {
    if status.code.is_none() {
        return Ok(Vec::new());
    }
    let Some(orders) = sink.orders() else {
        return Ok(Vec::new());
    };
    let open: Vec<String> = orders
        .in_block(block)
        .filter(|o| !listed.contains(&o.end_to_end))
        .map(|o| o.end_to_end.clone())
        .collect();
    let mut answered = Vec::with_capacity(open.len());
    for end_to_end in open {
        answered.push(end_to_end.clone());
        // The order's amount, as ordered (the sink finds it by the reference).
        sink.take(Txn {
            line: status.line,
            path: format!("{path} ({end_to_end})"),
            kind: kind(status.code.as_deref()),
            problem: unknown(status.code.as_deref()),
            reference: Some(end_to_end),
            reason: status.reason(),
            ..Txn::default()
        })?;
    }
    Ok(answered)
}

fn add_text(to: &mut Option<String>, v: &str) {
    if v.is_empty() {
        return;
    }
    let t = to.get_or_insert_with(String::new);
    if !t.is_empty() {
        t.push(' ');
    }
    append(t, v);
}

fn ends(stack: &[String], path: &[&str]) -> bool {
    stack.len() >= path.len()
        && stack[stack.len() - path.len()..]
            .iter()
            .zip(path)
            .all(|(a, b)| a == b)
}

/// What a status code means for the payee.
fn kind(code: Option<&str>) -> Option<Kind> {
    match code?.trim().to_ascii_uppercase().as_str() {
        "ACSC" | "ACCC" => Some(Kind::Paid),
        "RJCT" | "CANC" => Some(Kind::Failed),
        "ACTC" | "ACCP" | "ACSP" | "ACWC" | "ACWP" | "ACFC" | "PDNG" | "RCVD" | "PART" | "PATC" => {
            Some(Kind::Pending)
        }
        _ => None,
    }
}

fn unknown(code: Option<&str>) -> Option<(String, String)> {
    match code {
        None => Some((
            "không có trạng thái (TxSts, PmtInfSts hay GrpSts)".into(),
            "no status (TxSts, PmtInfSts nor GrpSts)".into(),
        )),
        Some(c) if kind(Some(c)).is_none() => Some((
            format!("trạng thái không rõ: '{}'", cut(c)),
            format!("unknown status: '{}'", cut(c)),
        )),
        Some(_) => None,
    }
}
