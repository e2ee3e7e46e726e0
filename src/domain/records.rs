//! Typed rows: what importers produce and the engine consumes.

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
