//! Payment orders: what doisoat asks a bank to pay (a pain.001 credit transfer initiation),
//! one order line per list row, each with an end-to-end reference the bank carries back in
//! its status reports and statements.
//!
//! The reference never holds the personal ID (it travels through every bank on the way):
//! it is made of the period, the list version and the row, `DS-202610-1A2B3C4D-123`, so the
//! same list for the same period always gives the same references.

use std::sync::Arc;

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use super::banks::BankId;
use super::period::PeriodCode;
use super::population_id::IdCheck;
use super::records::{IdRef, ListRows};

/// Longest end-to-end reference ISO 20022 allows (`Max35Text`).
pub const MAX_REFERENCE: usize = 35;

/// A period as references write it: `202610` (a month), `2024Q3`, `2024`; else its letters
/// and digits, at most 8.
pub fn period_key(period: &str) -> String {
    match PeriodCode::parse(period) {
        Ok(code) => code.as_str().replace(['-', '/'], ""),
        Err(_) => period
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_uppercase(),
    }
}

/// A list version as references write it: the first 8 hex digits of its file's digest, or,
/// for a sheet of a workbook, of the digest of the file's digest and the sheet's name (two
/// sheets of one workbook are two lists).
pub fn list_key(digest: &str, sheet: Option<&str>) -> String {
    let of_sheet;
    let digest = match sheet {
        Some(sheet) => {
            of_sheet = super::digest::sha256_hex(format!("{digest}#{sheet}").as_bytes());
            of_sheet.as_str()
        }
        None => digest,
    };
    digest
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase()
}

/// The end-to-end reference of a list row's order: `DS-{period}-{list}-{row}`.
pub fn end_to_end_id(period_key: &str, list_key: &str, row: u32) -> String {
    format!("DS-{period_key}-{list_key}-{row}")
}

/// The message reference of a bank's orders for a list: `DS-{period}-{list}-{BANK}`.
pub fn message_id(period_key: &str, list_key: &str, bank: BankId) -> String {
    format!("DS-{period_key}-{list_key}-{}", bank.code())
}

/// One order: who is paid, where, how much, and under which reference.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub end_to_end: String,
    /// The message and the payment information block it is sent in (shared by its lines).
    pub message: Arc<str>,
    pub payment_info: Arc<str>,
    pub bank: BankId,
    /// The list row it pays (as the spreadsheet shows it) and whom.
    pub row: u32,
    pub id: IdCheck,
    pub account: String,
    pub name: String,
    pub amount: Decimal,
}

/// Orders, looked up by end-to-end reference (a bank's answers name only that).
#[derive(Debug, Default, Clone)]
pub struct PaymentOrders {
    lines: Vec<OrderLine>,
    by_reference: FxHashMap<String, u32>,
    /// The payment information blocks each message sent (a status may answer for a whole
    /// message), beyond a line's own `message`.
    messages: FxHashMap<String, Vec<String>>,
}

impl PaymentOrders {
    pub fn new(lines: Vec<OrderLine>) -> Self {
        let by_reference = lines
            .iter()
            .enumerate()
            .map(|(i, l)| (l.end_to_end.clone(), u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Self {
            lines,
            by_reference,
            messages: FxHashMap::default(),
        }
    }

    /// With the blocks each message sent: (message, payment information block).
    pub fn with_messages(mut self, blocks: impl IntoIterator<Item = (String, String)>) -> Self {
        for (message, block) in blocks {
            self.messages.entry(message).or_default().push(block);
        }
        self
    }

    pub fn get(&self, end_to_end: &str) -> Option<&OrderLine> {
        let i = *self.by_reference.get(end_to_end.trim())?;
        self.lines.get(i as usize)
    }

    /// The orders sent in a message (by its id) or a payment information block.
    pub fn in_block<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a OrderLine> + 'a {
        let id = id.trim();
        let blocks = self.messages.get(id).map_or(&[][..], Vec::as_slice);
        self.lines.iter().filter(move |l| {
            &*l.payment_info == id
                || &*l.message == id
                || blocks.iter().any(|b| **b == *l.payment_info)
        })
    }

    /// The messages a payment information block was sent in.
    pub fn messages_of(&self, block: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .messages
            .iter()
            .filter(|(_, blocks)| blocks.iter().any(|b| b == block))
            .map(|(m, _)| m.as_str())
            .collect();
        out.sort_unstable();
        out
    }

    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The orders a list gives one bank, in list order: its rows that name that bank and an
/// account (1–34 letters and digits, what ISO 20022 carries), a name, and an amount due
/// above zero in whole đồng (a row without an account is paid in cash). All are sent in
/// one payment information block, `{message}-1`.
pub fn plan<L: ListRows + ?Sized>(
    list: &L,
    period_key: &str,
    list_key: &str,
    bank: BankId,
) -> Vec<OrderLine> {
    let message: Arc<str> = message_id(period_key, list_key, bank).into();
    let payment_info: Arc<str> = format!("{message}-1").into();
    (0..list.len())
        .filter(|&i| {
            let due = list.amount_due(i);
            list.bank(i) == Some(bank) && due > Decimal::ZERO && due.fract().is_zero()
        })
        .filter_map(|i| {
            let account = list.account(i).filter(|a| orderable_account(a))?;
            if list.name(i).trim().is_empty() {
                return None;
            }
            let row = list.row_number(i);
            Some(OrderLine {
                end_to_end: end_to_end_id(period_key, list_key, row),
                message: message.clone(),
                payment_info: payment_info.clone(),
                bank,
                row,
                id: match list.id(i) {
                    IdRef::Valid(id) => IdCheck::Valid(id),
                    IdRef::Legacy(s) => IdCheck::Legacy(s.to_owned()),
                    IdRef::Invalid(_) | IdRef::Missing => IdCheck::Missing,
                },
                account: account.to_owned(),
                name: list.name(i).to_owned(),
                amount: list.amount_due(i),
            })
        })
        .collect()
}

/// An account a transfer order can carry: 1–34 letters and digits (`Max34Text`).
pub fn orderable_account(a: &str) -> bool {
    (1..=34).contains(&a.len()) && a.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The banks a list pays into, in the reference data's order.
pub fn banks_of<L: ListRows + ?Sized>(list: &L) -> Vec<BankId> {
    let mut seen: Vec<BankId> = (0..list.len())
        .filter(|&i| list.account(i).is_some())
        .filter_map(|i| list.bank(i))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    seen.sort_by_key(|b| b.number());
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_short_stable_and_hold_no_id() {
        let p = period_key("Tháng 10/2026");
        assert_eq!(p, "202610");
        assert_eq!(period_key("2024-Q3"), "2024Q3");
        assert_eq!(period_key("đợt 2 năm 2026!"), "T2NM2026");
        let l = list_key("1a2b3c4d5e6f", None);
        assert_ne!(
            list_key("1a2b3c4d5e6f", Some("Tháng 10")),
            l,
            "a sheet is a list of its own"
        );
        assert_eq!(l, "1A2B3C4D");
        let e = end_to_end_id(&p, &l, 1_048_576);
        assert_eq!(e, "DS-202610-1A2B3C4D-1048576");
        assert!(e.len() <= MAX_REFERENCE);
    }
}
