//! The exception list: every beneficiary not cleanly matched, and every payout that links
//! to nobody. This is what accountants follow up and auditors check line by line.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{Flag, Flags, Outcome, PayoutLink, Reconciliation};
use crate::domain::banks::BankId;
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::status::PayoutStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    Beneficiary(Outcome),
    UnmatchedPayout,
}

impl ExceptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Beneficiary(o) => o.as_str(),
            ExceptionKind::UnmatchedPayout => "unmatched_payout",
        }
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            ExceptionKind::Beneficiary(o) => o.label_vi(),
            ExceptionKind::UnmatchedPayout => "Khoản chi không có trong danh sách",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            ExceptionKind::Beneficiary(o) => o.label_en(),
            ExceptionKind::UnmatchedPayout => "Payout to nobody on the list",
        }
    }
}

impl<'de> Deserialize<'de> for ExceptionKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "unmatched_payout" {
            return Ok(ExceptionKind::UnmatchedPayout);
        }
        Outcome::parse(&s)
            .map(ExceptionKind::Beneficiary)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown exception kind '{s}'")))
    }
}

impl Serialize for ExceptionKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A payout as shown next to an exception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSummary {
    pub file: String,
    pub row: u32,
    pub bank: BankId,
    pub reference: Option<String>,
    pub status: PayoutStatus,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    pub kind: ExceptionKind,
    /// Full ID (or CMND / raw invalid text); masking is up to whoever shows it.
    pub population_id: String,
    pub name: String,
    pub commune: Option<String>,
    pub category: Option<String>,
    pub bank: Option<BankId>,
    pub account: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub amount_due: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_paid: Decimal,
    pub flags: Flags,
    /// The list file and its row numbers as the spreadsheet shows them.
    pub list_file: Option<String>,
    pub list_rows: Vec<u32>,
    pub payouts: Vec<PayoutSummary>,
}

fn summary(p: &PayoutRow) -> PayoutSummary {
    PayoutSummary {
        file: p.source.file.to_string(),
        row: p.source.row,
        bank: p.bank,
        reference: p.reference.clone(),
        status: p.status,
        amount: p.amount,
        reason: p.reason.clone(),
    }
}

/// Exceptions in list order, then unmatched payouts in input order.
pub fn exceptions(
    list: &[BeneficiaryRow],
    payouts: &[PayoutRow],
    recon: &Reconciliation,
) -> Vec<ExceptionRow> {
    exception_rows(list, payouts, recon).collect()
}

fn is_exception(person: &super::types::BeneficiaryResult) -> bool {
    !(person.outcome == Outcome::Matched && person.flags.is_empty())
}

/// How many rows [`exception_rows`] gives, without making them.
pub fn exception_count(recon: &Reconciliation) -> usize {
    recon
        .beneficiaries
        .iter()
        .filter(|p| is_exception(p))
        .count()
        + recon
            .payout_links
            .iter()
            .filter(|l| l.is_unmatched())
            .count()
}

/// The same rows one at a time, for writers of any size: the list is never held whole.
pub fn exception_rows<'a>(
    list: &'a [BeneficiaryRow],
    payouts: &'a [PayoutRow],
    recon: &'a Reconciliation,
) -> impl Iterator<Item = ExceptionRow> + 'a {
    let people = recon
        .beneficiaries
        .iter()
        .enumerate()
        .filter(|(_, person)| is_exception(person))
        .map(move |(b, person)| {
            let row = &list[person.row as usize];
            let mut list_rows = vec![row.source.row];
            list_rows.extend(
                person
                    .extra_rows
                    .iter()
                    .map(|r| list[*r as usize].source.row),
            );
            ExceptionRow {
                kind: ExceptionKind::Beneficiary(person.outcome),
                population_id: row.id.display(),
                name: row.name.clone(),
                commune: row.commune.clone(),
                category: row.category.clone(),
                bank: person.bank,
                account: row.account.clone(),
                amount_due: Some(person.amount_due),
                amount_paid: person.amount_paid,
                flags: person.flags,
                list_file: Some(row.source.file.to_string()),
                list_rows,
                payouts: recon
                    .payouts_of(b)
                    .iter()
                    .map(|&p| summary(&payouts[p as usize]))
                    .collect(),
            }
        });
    let unmatched = payouts
        .iter()
        .zip(&recon.payout_links)
        .filter(|(_, link)| link.is_unmatched())
        .map(|(p, link)| {
            let mut flags = Flags::default();
            if matches!(link, PayoutLink::WrongBank { .. }) {
                flags.insert(Flag::WrongBank);
            }
            ExceptionRow {
                kind: ExceptionKind::UnmatchedPayout,
                population_id: p.id.display(),
                name: p.name.clone().unwrap_or_default(),
                commune: None,
                category: None,
                bank: Some(p.bank),
                account: p.account.clone(),
                amount_due: None,
                amount_paid: if p.status == PayoutStatus::Success {
                    p.amount
                } else {
                    Decimal::ZERO
                },
                flags,
                list_file: None,
                list_rows: Vec::new(),
                payouts: vec![summary(p)],
            }
        });
    people.chain(unmatched)
}
