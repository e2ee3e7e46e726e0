//! Rows as stored (flat columns) and back. Both backends use these, so a list reads back
//! the same from SQLite and PostgreSQL.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{StoreError, StoreResult};
use crate::domain::banks::BankId;
use crate::domain::dates::{DateOrYear, parse_date_text};
use crate::domain::population_id::{IdCheck, IdProblem, PersonalId, Sex};
use crate::domain::records::{BeneficiaryRow, PayoutOrigin, PayoutRow, RowRef};
use crate::domain::status::PayoutStatus;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BeneficiaryRecord {
    pub seq: i64,
    pub row_no: i64,
    pub id_status: String,
    pub id_text: String,
    pub id_problem: Option<String>,
    pub name: String,
    pub amount_due: i64,
    pub account: Option<String>,
    pub bank_code: Option<String>,
    pub birth: Option<String>,
    pub sex: Option<String>,
    pub category: Option<String>,
    pub commune: Option<String>,
    /// The commune the row counts in, when not its list's unit.
    pub unit_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PayoutRecord {
    pub upload_id: i64,
    pub seq: i64,
    pub row_no: i64,
    pub bank_code: String,
    pub reference: Option<String>,
    pub id_status: String,
    pub id_text: String,
    pub id_problem: Option<String>,
    pub account: Option<String>,
    pub name: Option<String>,
    pub amount: i64,
    pub status: String,
    pub value_date: Option<NaiveDate>,
    pub reason: Option<String>,
}

/// Text as both databases keep it: PostgreSQL refuses a NUL in text (SQLite keeps it), so
/// a NUL read from a file is stored as U+FFFD on both, the same way.
pub fn storable(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_owned()
    }
}

fn storable_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(storable)
}

/// Whole đồng as i64; importers guarantee scale 0 and ≤ 1e15.
pub fn dong(d: Decimal) -> StoreResult<i64> {
    if !d.fract().is_zero() {
        return Err(StoreError::Corrupt(format!(
            "amount with a fraction of a đồng: {d}"
        )));
    }
    d.to_i64()
        .ok_or_else(|| StoreError::Corrupt(format!("amount out of range: {d}")))
}

fn id_columns(id: &IdCheck) -> (&'static str, String, Option<String>) {
    match id {
        IdCheck::Valid(p) => ("valid", p.to_string(), None),
        IdCheck::Legacy(s) => ("legacy", s.clone(), None),
        IdCheck::Invalid { raw, reason } => ("invalid", raw.clone(), Some(format!("{reason:?}"))),
        IdCheck::Missing => ("missing", String::new(), None),
    }
}

fn id_from(status: &str, text: &str, problem: Option<&str>) -> StoreResult<IdCheck> {
    Ok(match status {
        // Stored IDs were valid when imported; re-validating against today's year would
        // change a stored fact, so only the digits are checked.
        "valid" => IdCheck::Valid(
            text.parse::<u64>()
                .ok()
                .and_then(|v| PersonalId::new(v, 9999).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("stored ID '{text}'")))?,
        ),
        "legacy" => IdCheck::Legacy(text.to_owned()),
        "missing" => IdCheck::Missing,
        "invalid" => IdCheck::Invalid {
            raw: text.to_owned(),
            reason: match problem {
                Some("NotDigits") => IdProblem::NotDigits,
                Some("UnknownProvince") => IdProblem::UnknownProvince,
                Some("FutureBirthYear") => IdProblem::FutureBirthYear,
                _ => IdProblem::WrongLength,
            },
        },
        other => return Err(StoreError::Corrupt(format!("id_status '{other}'"))),
    })
}

fn bank_from(code: &str) -> StoreResult<BankId> {
    BankId::resolve(code).ok_or_else(|| StoreError::Corrupt(format!("bank code '{code}'")))
}

impl BeneficiaryRecord {
    pub fn from_row(seq: usize, r: &BeneficiaryRow) -> StoreResult<Self> {
        let (id_status, id_text, id_problem) = id_columns(&r.id);
        Ok(Self {
            seq: seq as i64,
            row_no: i64::from(r.source.row),
            id_status: id_status.to_owned(),
            id_text: storable(&id_text),
            id_problem,
            name: storable(&r.name),
            amount_due: dong(r.amount_due)?,
            account: storable_opt(&r.account),
            bank_code: r.bank.map(|b| b.code().to_owned()),
            birth: r.birth.map(|b| match b {
                DateOrYear::Date(d) => d.format("%Y-%m-%d").to_string(),
                DateOrYear::Year(y) => y.to_string(),
            }),
            sex: r.sex.map(|s| match s {
                Sex::Male => "male".to_owned(),
                Sex::Female => "female".to_owned(),
            }),
            category: storable_opt(&r.category),
            commune: storable_opt(&r.commune),
            unit_code: None,
        })
    }

    pub fn into_row(self, file: &Arc<str>) -> StoreResult<BeneficiaryRow> {
        Ok(BeneficiaryRow {
            source: RowRef::new(file.clone(), u32::try_from(self.row_no).unwrap_or(0)),
            id: id_from(&self.id_status, &self.id_text, self.id_problem.as_deref())?,
            name: self.name,
            amount_due: Decimal::from(self.amount_due),
            account: self.account,
            bank: self.bank_code.as_deref().map(bank_from).transpose()?,
            birth: self.birth.as_deref().and_then(parse_date_text),
            sex: match self.sex.as_deref() {
                Some("male") => Some(Sex::Male),
                Some("female") => Some(Sex::Female),
                _ => None,
            },
            category: self.category,
            commune: self.commune,
        })
    }
}

/// Field `i` of a COPY line, taken (`None` for NULL).
fn field(fields: &mut [Option<String>], i: usize) -> StoreResult<Option<String>> {
    fields
        .get_mut(i)
        .map(Option::take)
        .ok_or_else(|| StoreError::Corrupt(format!("COPY line without field {i}")))
}

fn text_field(fields: &mut [Option<String>], i: usize) -> StoreResult<String> {
    field(fields, i)?.ok_or_else(|| StoreError::Corrupt(format!("NULL in field {i}")))
}

fn int_field(fields: &mut [Option<String>], i: usize) -> StoreResult<i64> {
    let t = text_field(fields, i)?;
    t.parse()
        .map_err(|_| StoreError::Corrupt(format!("field {i}: '{t}' is not a whole number")))
}

impl BeneficiaryRecord {
    /// The fields of `LIST_ROW_COLUMNS`, in that order, as COPY wrote them.
    pub fn from_copy(f: &mut [Option<String>]) -> StoreResult<Self> {
        Ok(Self {
            seq: int_field(f, 0)?,
            row_no: int_field(f, 1)?,
            id_status: text_field(f, 2)?,
            id_text: text_field(f, 3)?,
            id_problem: field(f, 4)?,
            name: text_field(f, 5)?,
            amount_due: int_field(f, 6)?,
            account: field(f, 7)?,
            bank_code: field(f, 8)?,
            birth: field(f, 9)?,
            sex: field(f, 10)?,
            category: field(f, 11)?,
            commune: field(f, 12)?,
            unit_code: field(f, 13)?,
        })
    }
}

/// What a list row is read back as, in `BeneficiaryRecord::from_copy`'s order.
pub const LIST_ROW_COLUMNS: &str = "seq, row_no, id_status, id_text, id_problem, name, \
    amount_due, account, bank_code, birth, sex, category, commune, unit_code";

/// What a lean list row is read back as, in `ListEntry::from_copy`'s order.
pub const LIST_ENTRY_COLUMNS: &str =
    "seq, id_status, id_text, amount_due, account, bank_code, unit_code";

impl super::ListEntry {
    /// The fields of `LIST_ENTRY_COLUMNS`, in that order, as COPY wrote them.
    pub fn from_copy(f: &mut [Option<String>]) -> StoreResult<Self> {
        Ok(Self {
            seq: int_field(f, 0)?,
            id_status: text_field(f, 1)?,
            id_text: text_field(f, 2)?,
            amount_due: int_field(f, 3)?,
            account: field(f, 4)?,
            bank_code: field(f, 5)?,
            unit_code: field(f, 6)?,
        })
    }
}

/// What a payout row is read back as (prefixed `r.`), in `PayoutRecord::from_copy`'s order.
pub const PAYOUT_ROW_COLUMNS: &str = "r.upload_id, r.seq, r.row_no, r.bank_code, r.reference, \
    r.id_status, r.id_text, r.id_problem, r.account, r.name, r.amount, r.status, r.value_date, \
    r.reason";

impl PayoutRecord {
    /// The fields of `PAYOUT_ROW_COLUMNS`, in that order, as COPY wrote them (dates as
    /// `YYYY-MM-DD`).
    pub fn from_copy(f: &mut [Option<String>]) -> StoreResult<Self> {
        Ok(Self {
            upload_id: int_field(f, 0)?,
            seq: int_field(f, 1)?,
            row_no: int_field(f, 2)?,
            bank_code: text_field(f, 3)?,
            reference: field(f, 4)?,
            id_status: text_field(f, 5)?,
            id_text: text_field(f, 6)?,
            id_problem: field(f, 7)?,
            account: field(f, 8)?,
            name: field(f, 9)?,
            amount: int_field(f, 10)?,
            status: text_field(f, 11)?,
            value_date: match field(f, 12)? {
                None => None,
                Some(d) => Some(
                    NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|_| StoreError::Corrupt(format!("value_date '{d}'")))?,
                ),
            },
            reason: field(f, 13)?,
        })
    }
}

impl PayoutRecord {
    pub fn from_row(upload_id: i64, seq: usize, r: &PayoutRow) -> StoreResult<Self> {
        let (id_status, id_text, id_problem) = id_columns(&r.id);
        Ok(Self {
            upload_id,
            seq: seq as i64,
            row_no: i64::from(r.source.row),
            bank_code: r.bank.code().to_owned(),
            reference: storable_opt(&r.reference),
            id_status: id_status.to_owned(),
            id_text: storable(&id_text),
            id_problem,
            account: storable_opt(&r.account),
            name: storable_opt(&r.name),
            amount: dong(r.amount)?,
            status: r.status.as_str().to_owned(),
            value_date: r.value_date,
            reason: storable_opt(&r.reason),
        })
    }

    pub fn into_row(self, file: &Arc<str>) -> StoreResult<PayoutRow> {
        Ok(PayoutRow {
            source: RowRef::new(file.clone(), u32::try_from(self.row_no).unwrap_or(0)),
            bank: bank_from(&self.bank_code)?,
            reference: self.reference,
            id: id_from(&self.id_status, &self.id_text, self.id_problem.as_deref())?,
            account: self.account,
            name: self.name,
            amount: Decimal::from(self.amount),
            status: PayoutStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("status '{}'", self.status)))?,
            value_date: self.value_date,
            reason: self.reason,
            origin: PayoutOrigin::File,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_records() {
        let file: Arc<str> = Arc::from("ds.xlsx");
        let row = BeneficiaryRow {
            source: RowRef::new(file.clone(), 12),
            id: IdCheck::from_text("037153000257", 2026),
            name: "Trần Thị Bình".into(),
            amount_due: Decimal::from(1_500_000),
            account: Some("0123".into()),
            bank: BankId::resolve("Agribank"),
            birth: Some(DateOrYear::Year(1953)),
            sex: Some(Sex::Female),
            category: Some("Người cao tuổi".into()),
            commune: None,
        };
        let back = BeneficiaryRecord::from_row(0, &row).and_then(|r| r.into_row(&file));
        assert_eq!(back.ok(), Some(row.clone()));
        for id in [
            IdCheck::Missing,
            IdCheck::Legacy("012345678".into()),
            IdCheck::from_text("25123", 2026),
            IdCheck::from_text("003153000257", 2026),
        ] {
            let r = BeneficiaryRow {
                id: id.clone(),
                ..row.clone()
            };
            let back = BeneficiaryRecord::from_row(0, &r).and_then(|r| r.into_row(&file));
            assert_eq!(back.ok().map(|b| b.id), Some(id));
        }
        let p = PayoutRow {
            source: RowRef::new(file.clone(), 9),
            bank: BankId::resolve("VBSP").unwrap_or_else(|| panic!("VBSP")),
            reference: Some("FT1".into()),
            id: IdCheck::Missing,
            account: Some("631".into()),
            name: None,
            amount: Decimal::from(2_250_000),
            status: PayoutStatus::Returned,
            value_date: NaiveDate::from_ymd_opt(2024, 9, 20),
            reason: Some("Tài khoản đã đóng".into()),
            origin: PayoutOrigin::File,
        };
        let back = PayoutRecord::from_row(1, 0, &p).and_then(|r| r.into_row(&file));
        assert_eq!(back.ok(), Some(p));
    }

    #[test]
    fn fractional_amounts_are_refused() {
        assert!(dong(Decimal::new(15, 1)).is_err());
        assert_eq!(dong(Decimal::from(1_500_000)).ok(), Some(1_500_000));
    }
}
