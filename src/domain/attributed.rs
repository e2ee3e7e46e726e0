//! Rows of a period's several lists (or payout sources) read as one, each with the unit it
//! counts in: what the engine reads when a period's figures roll up by unit. The rows stay
//! as imported; units are interned, four bytes a row.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::banks::BankId;
use super::population_id::Sex;
use super::records::{BeneficiaryRow, IdRef, ListRows, PayoutOrigin, PayoutRow, PayoutRows};
use super::status::PayoutStatus;

/// Rows from several sources, each counting in a unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InUnits<R> {
    rows: Vec<R>,
    /// Per row: index into `units`.
    unit: Vec<u32>,
    /// Per row: which `push_source` call it came with.
    source: Vec<u32>,
    units: Vec<String>,
    /// Code → index into `units`.
    index: HashMap<String, u32>,
    sources: u32,
}

impl<R> InUnits<R> {
    pub fn new() -> Self {
        InUnits {
            rows: Vec::new(),
            unit: Vec::new(),
            source: Vec::new(),
            units: Vec::new(),
            index: HashMap::new(),
            sources: 0,
        }
    }

    /// Add one source's rows; `unit_of(i)` is the unit row `i` of them counts in.
    pub fn push_source<'u>(&mut self, rows: Vec<R>, unit_of: impl Fn(usize) -> &'u str) {
        let source = self.sources;
        self.sources += 1;
        self.unit.reserve(rows.len());
        self.source.reserve(rows.len());
        // Rows of a source mostly share a few units: remember the last one looked up.
        let mut last: Option<(&str, u32)> = None;
        for i in 0..rows.len() {
            let code = unit_of(i);
            let idx = match last {
                Some((c, idx)) if c == code => idx,
                _ => {
                    let idx = self.intern(code);
                    last = Some((code, idx));
                    idx
                }
            };
            self.unit.push(idx);
            self.source.push(source);
        }
        self.rows.extend(rows);
    }

    fn intern(&mut self, code: &str) -> u32 {
        if let Some(&i) = self.index.get(code) {
            return i;
        }
        let i = self.units.len() as u32;
        self.units.push(code.to_owned());
        self.index.insert(code.to_owned(), i);
        i
    }

    /// Which `push_source` call row `i` came with.
    pub fn source_of(&self, i: usize) -> u32 {
        self.source.get(i).copied().unwrap_or(u32::MAX)
    }

    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The unit row `i` counts in.
    pub fn unit_of(&self, i: usize) -> Option<&str> {
        let idx = *self.unit.get(i)?;
        self.units.get(idx as usize).map(String::as_str)
    }

    /// Every unit some row counts in.
    pub fn units(&self) -> &[String] {
        &self.units
    }
}

impl ListRows for InUnits<BeneficiaryRow> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        self.rows[..].id(i)
    }
    fn name(&self, i: usize) -> &str {
        ListRows::name(&self.rows[..], i)
    }
    fn amount_due(&self, i: usize) -> Decimal {
        self.rows[..].amount_due(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        ListRows::account(&self.rows[..], i)
    }
    fn bank(&self, i: usize) -> Option<BankId> {
        ListRows::bank(&self.rows[..], i)
    }
    fn birth_year(&self, i: usize) -> Option<i32> {
        self.rows[..].birth_year(i)
    }
    fn sex(&self, i: usize) -> Option<Sex> {
        self.rows[..].sex(i)
    }
    fn category(&self, i: usize) -> Option<&str> {
        self.rows[..].category(i)
    }
    fn commune(&self, i: usize) -> Option<&str> {
        self.rows[..].commune(i)
    }
    fn file(&self, i: usize) -> &str {
        ListRows::file(&self.rows[..], i)
    }
    fn row_number(&self, i: usize) -> u32 {
        ListRows::row_number(&self.rows[..], i)
    }
    fn has_units(&self) -> bool {
        true
    }
    fn unit(&self, i: usize) -> Option<&str> {
        self.unit_of(i)
    }
    fn source(&self, i: usize) -> u32 {
        self.source.get(i).copied().unwrap_or(0)
    }
}

impl PayoutRows for InUnits<PayoutRow> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        PayoutRows::id(&self.rows[..], i)
    }
    fn bank(&self, i: usize) -> BankId {
        PayoutRows::bank(&self.rows[..], i)
    }
    fn reference(&self, i: usize) -> Option<&str> {
        self.rows[..].reference(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        PayoutRows::account(&self.rows[..], i)
    }
    fn name(&self, i: usize) -> Option<&str> {
        PayoutRows::name(&self.rows[..], i)
    }
    fn amount(&self, i: usize) -> Decimal {
        self.rows[..].amount(i)
    }
    fn status(&self, i: usize) -> PayoutStatus {
        self.rows[..].status(i)
    }
    fn reason(&self, i: usize) -> Option<&str> {
        self.rows[..].reason(i)
    }
    fn origin(&self, i: usize) -> PayoutOrigin {
        self.rows[..].origin(i)
    }
    fn file(&self, i: usize) -> &str {
        PayoutRows::file(&self.rows[..], i)
    }
    fn row_number(&self, i: usize) -> u32 {
        PayoutRows::row_number(&self.rows[..], i)
    }
    fn unit(&self, i: usize) -> Option<&str> {
        self.unit_of(i)
    }
}
