//! The exception list: every beneficiary not cleanly matched, and every payout that links
//! to nobody. This is what accountants follow up and auditors check line by line.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::types::{Flag, Flags, Outcome, Reconciliation};
use crate::domain::banks::BankId;
use crate::domain::records::{ListRows, PayoutRows};
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
    /// The name the bank used, kept where it differs from the list's (flag
    /// `name_mismatch`): what the follow-up checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The bank's value date (ngày giá trị), `YYYY-MM-DD`; absent where the bank gave none
    /// and in runs stored before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_date: Option<chrono::NaiveDate>,
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
    /// The unit the person (or unmatched payout) counts in, where rows name units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The same person on other units' lists (flag `duplicate_across_units`), each also an
    /// exception of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_lists: Vec<OtherListing>,
}

impl ExceptionRow {
    /// The exception's value date: its payouts' earliest (most have one payout); None
    /// where no payout gave one.
    pub fn value_date(&self) -> Option<chrono::NaiveDate> {
        self.payouts.iter().filter_map(|p| p.value_date).min()
    }

    /// Amount due minus paid, as the follow-up reads it (positive: a top-up to pay;
    /// negative: to recover); None for an unmatched payout (nothing due) and for a person
    /// paid in cash (nothing is owed here), without an account or after all.
    pub fn difference(&self) -> Option<Decimal> {
        self.amount_due
            .filter(|_| self.kind != ExceptionKind::Beneficiary(Outcome::NoAccount))
            .filter(|_| !self.flags.contains(Flag::PaidInCash))
            .map(|due| due - self.amount_paid)
    }
}

/// A person's rows on another unit's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherListing {
    pub unit: Option<String>,
    /// The list file and rows; left out where the reader's unit is not the listing's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<u32>,
}

fn summary<P: PayoutRows + ?Sized>(payouts: &P, i: usize) -> PayoutSummary {
    PayoutSummary {
        file: payouts.file(i).to_owned(),
        row: payouts.row_number(i),
        bank: payouts.bank(i),
        reference: payouts.reference(i).map(str::to_owned),
        status: payouts.status(i),
        amount: payouts.amount(i),
        reason: payouts.reason(i).map(str::to_owned),
        name: None,
        value_date: payouts.value_date(i),
    }
}

/// Exceptions in list order, then unmatched payouts in input order.
pub fn exceptions<L, P>(list: &L, payouts: &P, recon: &Reconciliation) -> Vec<ExceptionRow>
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
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
pub fn exception_rows<'a, L, P>(
    list: &'a L,
    payouts: &'a P,
    recon: &'a Reconciliation,
) -> impl Iterator<Item = ExceptionRow> + 'a
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let people = recon
        .beneficiaries
        .iter()
        .enumerate()
        .filter(|(_, person)| is_exception(person))
        .map(move |(b, person)| {
            let r = person.row as usize;
            let rows_of = |b: usize| {
                let first = recon.beneficiaries.get(b).map_or(0, |p| p.row as usize);
                std::iter::once(list.row_number(first))
                    .chain(
                        recon
                            .extra_rows(b)
                            .iter()
                            .map(|x| list.row_number(*x as usize)),
                    )
                    .collect::<Vec<u32>>()
            };
            let list_rows = rows_of(b);
            // The same person on other units' lists: each is its own exception too.
            let other_lists = recon
                .also_listed_as(b)
                .filter_map(|o| {
                    let row = recon.beneficiaries.get(o as usize)?.row as usize;
                    Some(OtherListing {
                        unit: list.unit(row).map(str::to_owned),
                        file: list.file(row).to_owned(),
                        rows: rows_of(o as usize),
                    })
                })
                .collect();
            ExceptionRow {
                kind: ExceptionKind::Beneficiary(person.outcome),
                population_id: list.id(r).display(),
                name: list.name(r).to_owned(),
                commune: list.commune(r).map(str::to_owned),
                category: list.category(r).map(str::to_owned),
                bank: person.bank,
                account: list.account(r).map(str::to_owned),
                amount_due: Some(recon.amount_due(b)),
                amount_paid: recon.amount_paid(b),
                flags: person.flags,
                list_file: Some(list.file(r).to_owned()),
                list_rows,
                payouts: recon
                    .payouts_of(b)
                    .iter()
                    .map(|&p| {
                        let mut s = summary(payouts, p as usize);
                        if person.flags.contains(Flag::NameMismatch) {
                            s.name = payouts.name(p as usize).map(str::to_owned);
                        }
                        s
                    })
                    .collect(),
                unit: list.unit(r).map(str::to_owned),
                other_lists,
            }
        });
    let unmatched = recon
        .payout_links
        .iter()
        .enumerate()
        .filter(|(_, link)| link.is_unmatched())
        .map(move |(i, _)| {
            let flags = recon.payout_flags(i);
            ExceptionRow {
                kind: ExceptionKind::UnmatchedPayout,
                population_id: payouts.id(i).display(),
                name: payouts.name(i).unwrap_or_default().to_owned(),
                commune: None,
                category: None,
                bank: Some(payouts.bank(i)),
                account: payouts.account(i).map(str::to_owned),
                amount_due: None,
                amount_paid: if payouts.status(i) == PayoutStatus::Success {
                    payouts.amount(i)
                } else {
                    Decimal::ZERO
                },
                flags,
                list_file: None,
                list_rows: Vec::new(),
                payouts: vec![summary(payouts, i)],
                unit: payouts.unit(i).map(str::to_owned),
                other_lists: Vec::new(),
            }
        });
    people.chain(unmatched)
}
