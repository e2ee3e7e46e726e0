//! Typed rows: what importers produce and the engine consumes.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::banks::BankId;
use super::dates::DateOrYear;
use super::population_id::{IdCheck, Sex};
use super::status::PayoutStatus;

/// Where a row came from, as the spreadsheet shows it (1-based row number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRef {
    pub file: Arc<str>,
    pub row: u32,
}

impl RowRef {
    pub fn new(file: Arc<str>, row: u32) -> Self {
        Self { file, row }
    }
}

/// One row of a beneficiary list (danh sách chi trả). Several rows may carry the same ID;
/// the engine merges them (flag `duplicate_row`).
#[derive(Debug, Clone, PartialEq)]
pub struct BeneficiaryRow {
    pub source: RowRef,
    pub id: IdCheck,
    pub name: String,
    pub amount_due: Decimal,
    /// Account number as typed, spaces removed. `None` = paid in cash.
    pub account: Option<String>,
    pub bank: Option<BankId>,
    pub birth: Option<DateOrYear>,
    pub sex: Option<Sex>,
    pub category: Option<String>,
    pub commune: Option<String>,
}

/// A beneficiary row as an importer reads it, borrowing the file's text: compact columns
/// copy each field once into their buffers, and nothing is allocated per field.
#[derive(Debug)]
pub struct BeneficiaryDraft<'a> {
    pub file: &'a Arc<str>,
    pub row: u32,
    pub id: IdCheck,
    pub name: Cow<'a, str>,
    pub amount_due: Decimal,
    pub account: Option<Cow<'a, str>>,
    pub bank: Option<BankId>,
    pub birth: Option<DateOrYear>,
    pub sex: Option<Sex>,
    pub category: Option<Cow<'a, str>>,
    pub commune: Option<Cow<'a, str>>,
}

impl BeneficiaryRow {
    /// Borrowed, for the stores that take drafts.
    pub fn as_draft(&self) -> BeneficiaryDraft<'_> {
        BeneficiaryDraft {
            file: &self.source.file,
            row: self.source.row,
            id: self.id.clone(),
            name: Cow::Borrowed(&self.name),
            amount_due: self.amount_due,
            account: self.account.as_deref().map(Cow::Borrowed),
            bank: self.bank,
            birth: self.birth,
            sex: self.sex,
            category: self.category.as_deref().map(Cow::Borrowed),
            commune: self.commune.as_deref().map(Cow::Borrowed),
        }
    }
}

impl BeneficiaryDraft<'_> {
    pub fn into_owned(self) -> BeneficiaryRow {
        BeneficiaryRow {
            source: RowRef::new(self.file.clone(), self.row),
            id: self.id,
            name: self.name.into_owned(),
            amount_due: self.amount_due,
            account: self.account.map(Cow::into_owned),
            bank: self.bank,
            birth: self.birth,
            sex: self.sex,
            category: self.category.map(Cow::into_owned),
            commune: self.commune.map(Cow::into_owned),
        }
    }
}

/// How a payout result reached us: it decides whose word it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutOrigin {
    /// A file an accountant uploaded (or gave the CLI): the accountant vouches for it.
    File,
    /// A bank's signed callback: it speaks only for that bank's own beneficiaries.
    Callback,
}

/// One payout result from a bank (file row or callback).
#[derive(Debug, Clone, PartialEq)]
pub struct PayoutRow {
    pub source: RowRef,
    pub bank: BankId,
    /// The bank's transaction reference; with `bank` it identifies the transaction.
    pub reference: Option<String>,
    pub id: IdCheck,
    pub account: Option<String>,
    pub name: Option<String>,
    pub amount: Decimal,
    pub status: PayoutStatus,
    pub value_date: Option<NaiveDate>,
    pub reason: Option<String>,
    pub origin: PayoutOrigin,
}

/// A payout row as an importer reads it, borrowing the file's text (see `BeneficiaryDraft`).
#[derive(Debug)]
pub struct PayoutDraft<'a> {
    pub file: &'a Arc<str>,
    pub row: u32,
    pub bank: BankId,
    pub reference: Option<Cow<'a, str>>,
    pub id: IdCheck,
    pub account: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub amount: Decimal,
    pub status: PayoutStatus,
    pub value_date: Option<NaiveDate>,
    pub reason: Option<Cow<'a, str>>,
    pub origin: PayoutOrigin,
}

impl PayoutRow {
    /// Borrowed, for the stores that take drafts.
    pub fn as_draft(&self) -> PayoutDraft<'_> {
        PayoutDraft {
            file: &self.source.file,
            row: self.source.row,
            bank: self.bank,
            reference: self.reference.as_deref().map(Cow::Borrowed),
            id: self.id.clone(),
            account: self.account.as_deref().map(Cow::Borrowed),
            name: self.name.as_deref().map(Cow::Borrowed),
            amount: self.amount,
            status: self.status,
            value_date: self.value_date,
            reason: self.reason.as_deref().map(Cow::Borrowed),
            origin: self.origin,
        }
    }
}

impl PayoutDraft<'_> {
    pub fn into_owned(self) -> PayoutRow {
        PayoutRow {
            source: RowRef::new(self.file.clone(), self.row),
            bank: self.bank,
            reference: self.reference.map(Cow::into_owned),
            id: self.id,
            account: self.account.map(Cow::into_owned),
            name: self.name.map(Cow::into_owned),
            amount: self.amount,
            status: self.status,
            value_date: self.value_date,
            reason: self.reason.map(Cow::into_owned),
            origin: self.origin,
        }
    }
}

/// A rejected row's problem, located the way the user sees the spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub file: String,
    pub sheet: Option<String>,
    /// Row number as the spreadsheet shows it.
    pub row: u32,
    /// Column letter (A, B, …) and header text.
    pub column: Option<String>,
    pub column_name: Option<String>,
    pub value: String,
    pub reason_vi: String,
    pub reason_en: String,
}

/// A totals row ("Tổng cộng") checked against the sum of the accepted rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlTotal {
    pub row: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub stated: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub computed: Decimal,
}

/// A personal ID as the engine reads it, borrowed from wherever the rows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdRef<'a> {
    Valid(super::population_id::PersonalId),
    Legacy(&'a str),
    Invalid(&'a str),
    Missing,
}

impl IdRef<'_> {
    /// As typed or as the ID reads ("" when missing).
    pub fn display(self) -> String {
        match self {
            IdRef::Valid(id) => id.to_string(),
            IdRef::Legacy(s) | IdRef::Invalid(s) => s.to_owned(),
            IdRef::Missing => String::new(),
        }
    }

    /// Whether a birth year or sex on the list disagrees with a valid ID.
    pub fn disagrees_with(self, birth_year: Option<i32>, sex: Option<Sex>) -> bool {
        match self {
            IdRef::Valid(id) => IdCheck::Valid(id).disagrees_with(birth_year, sex),
            _ => false,
        }
    }
}

impl IdCheck {
    pub fn as_id_ref(&self) -> IdRef<'_> {
        match self {
            IdCheck::Valid(id) => IdRef::Valid(*id),
            IdCheck::Legacy(s) => IdRef::Legacy(s),
            IdCheck::Invalid { raw, .. } => IdRef::Invalid(raw),
            IdCheck::Missing => IdRef::Missing,
        }
    }
}

/// `d` as whole đồng below `u32::MAX`, the engine's compact amounts.
pub fn whole_u32(d: Decimal) -> Option<u32> {
    use rust_decimal::prelude::ToPrimitive;
    if d.scale() == 0 {
        // As read from a file: the mantissa is the amount (negative ones fail here).
        return u32::try_from(d.mantissa()).ok().filter(|&v| v != u32::MAX);
    }
    if d.fract().is_zero() {
        d.to_u32().filter(|&v| v != u32::MAX)
    } else {
        None
    }
}

/// A beneficiary list as the engine and the exception list read it, row by row: a slice
/// of owned rows (the service's), or compact columns (a national file's).
pub trait ListRows: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn id(&self, i: usize) -> IdRef<'_>;
    fn name(&self, i: usize) -> &str;
    fn amount_due(&self, i: usize) -> Decimal;
    /// `amount_due` as whole đồng in 4 bytes, when it is that (what the engine sums).
    fn amount_due_whole(&self, i: usize) -> Option<u32> {
        whole_u32(self.amount_due(i))
    }
    fn account(&self, i: usize) -> Option<&str>;
    fn bank(&self, i: usize) -> Option<BankId>;
    fn birth_year(&self, i: usize) -> Option<i32>;
    fn sex(&self, i: usize) -> Option<Sex>;
    fn category(&self, i: usize) -> Option<&str>;
    fn commune(&self, i: usize) -> Option<&str>;
    fn file(&self, i: usize) -> &str;
    /// The row number the spreadsheet shows.
    fn row_number(&self, i: usize) -> u32;
    /// Whether rows say which unit they count in (the service's period lists do; a file
    /// read alone does not): the engine then breaks its figures down by unit.
    fn has_units(&self) -> bool {
        false
    }
    /// The unit (an administrative code) row `i` counts in.
    fn unit(&self, _i: usize) -> Option<&str> {
        None
    }
    /// Which list row `i` came from, when several are read as one: the same ID on two
    /// lists is flagged `duplicate_across_units`, on one list `duplicate_row`.
    fn source(&self, _i: usize) -> u32 {
        0
    }
}

/// Bank payout results as the engine and the exception list read them.
pub trait PayoutRows: Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn id(&self, i: usize) -> IdRef<'_>;
    fn bank(&self, i: usize) -> BankId;
    fn reference(&self, i: usize) -> Option<&str>;
    fn account(&self, i: usize) -> Option<&str>;
    fn name(&self, i: usize) -> Option<&str>;
    fn amount(&self, i: usize) -> Decimal;
    /// `amount` as whole đồng in 4 bytes, when it is that (what the engine sums).
    fn amount_whole(&self, i: usize) -> Option<u32> {
        whole_u32(self.amount(i))
    }
    fn status(&self, i: usize) -> PayoutStatus;
    fn reason(&self, i: usize) -> Option<&str>;
    fn origin(&self, i: usize) -> PayoutOrigin;
    /// The bank's value date (ngày giá trị), where it gave one.
    fn value_date(&self, i: usize) -> Option<NaiveDate>;
    fn file(&self, i: usize) -> &str;
    fn row_number(&self, i: usize) -> u32;
    /// The unit payout `i` counts in when it links to nobody on the lists.
    fn unit(&self, _i: usize) -> Option<&str> {
        None
    }
}

impl ListRows for [BeneficiaryRow] {
    fn len(&self) -> usize {
        <[BeneficiaryRow]>::len(self)
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        self[i].id.as_id_ref()
    }
    fn name(&self, i: usize) -> &str {
        &self[i].name
    }
    fn amount_due(&self, i: usize) -> Decimal {
        self[i].amount_due
    }
    fn account(&self, i: usize) -> Option<&str> {
        self[i].account.as_deref()
    }
    fn bank(&self, i: usize) -> Option<BankId> {
        self[i].bank
    }
    fn birth_year(&self, i: usize) -> Option<i32> {
        self[i].birth.map(|b| b.year())
    }
    fn sex(&self, i: usize) -> Option<Sex> {
        self[i].sex
    }
    fn category(&self, i: usize) -> Option<&str> {
        self[i].category.as_deref()
    }
    fn commune(&self, i: usize) -> Option<&str> {
        self[i].commune.as_deref()
    }
    fn file(&self, i: usize) -> &str {
        &self[i].source.file
    }
    fn row_number(&self, i: usize) -> u32 {
        self[i].source.row
    }
}

impl PayoutRows for [PayoutRow] {
    fn len(&self) -> usize {
        <[PayoutRow]>::len(self)
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        self[i].id.as_id_ref()
    }
    fn bank(&self, i: usize) -> BankId {
        self[i].bank
    }
    fn reference(&self, i: usize) -> Option<&str> {
        self[i].reference.as_deref()
    }
    fn account(&self, i: usize) -> Option<&str> {
        self[i].account.as_deref()
    }
    fn name(&self, i: usize) -> Option<&str> {
        self[i].name.as_deref()
    }
    fn amount(&self, i: usize) -> Decimal {
        self[i].amount
    }
    fn status(&self, i: usize) -> PayoutStatus {
        self[i].status
    }
    fn reason(&self, i: usize) -> Option<&str> {
        self[i].reason.as_deref()
    }
    fn origin(&self, i: usize) -> PayoutOrigin {
        self[i].origin
    }
    fn value_date(&self, i: usize) -> Option<NaiveDate> {
        self[i].value_date
    }
    fn file(&self, i: usize) -> &str {
        &self[i].source.file
    }
    fn row_number(&self, i: usize) -> u32 {
        self[i].source.row
    }
}

/// What links rows into one reconciliation component: the engine links a list row and a
/// payout only through these (a person's ID; an account, for payouts without a valid ID;
/// a bank's transaction reference, which later states supersede). The rows sharing no key,
/// transitively, with a changed row reconcile exactly as they did.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LinkKey {
    /// An ID as stored (12 digits, or a legacy CMND).
    Person(String),
    /// An account without its leading zeros (`account_key`).
    Account(String),
    /// (bank code, transaction reference).
    Reference(String, String),
}
