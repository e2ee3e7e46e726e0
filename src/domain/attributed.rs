//! Rows of a period's several lists (or payout sources) read as one, each with the unit it
//! counts in: what the engine reads when a period's figures roll up by unit. The rows stay
//! as they were given (owned rows, or compact columns: `columns`); units are interned,
//! four bytes a row.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::banks::BankId;
use super::columns::{ListTable, PayoutTable};
use super::population_id::Sex;
use super::records::{IdRef, ListRows, PayoutOrigin, PayoutRows};
use super::status::PayoutStatus;

/// Rows kept together, as `InUnits` holds them: a `Vec` of rows, or compact columns (a
/// national month's rows in a third of the memory).
pub trait RowStack: Default {
    /// What the engine reads them as (`ListRows` or `PayoutRows`).
    type Rows: ?Sized;
    fn rows(&self) -> &Self::Rows;
    fn count(&self) -> usize;
    fn append(&mut self, other: Self);
}

impl<R> RowStack for Vec<R> {
    type Rows = [R];
    fn rows(&self) -> &[R] {
        self
    }
    fn count(&self) -> usize {
        self.len()
    }
    fn append(&mut self, other: Self) {
        self.extend(other);
    }
}

impl RowStack for ListTable {
    type Rows = ListTable;
    fn rows(&self) -> &ListTable {
        self
    }
    fn count(&self) -> usize {
        ListRows::len(self)
    }
    fn append(&mut self, other: Self) {
        ListTable::append(self, other);
    }
}

impl RowStack for PayoutTable {
    type Rows = PayoutTable;
    fn rows(&self) -> &PayoutTable {
        self
    }
    fn count(&self) -> usize {
        PayoutRows::len(self)
    }
    fn append(&mut self, other: Self) {
        PayoutTable::append(self, other);
    }
}

/// Rows from several sources, each counting in a unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InUnits<T> {
    rows: T,
    /// Per row: index into `units`.
    unit: Vec<u32>,
    /// Per row: which `push_source` call it came with.
    source: Vec<u32>,
    units: Vec<String>,
    /// Code → index into `units`.
    index: HashMap<String, u32>,
    sources: u32,
}

impl<T: RowStack> InUnits<T> {
    pub fn new() -> Self {
        InUnits {
            rows: T::default(),
            unit: Vec::new(),
            source: Vec::new(),
            units: Vec::new(),
            index: HashMap::new(),
            sources: 0,
        }
    }

    /// Add one source's rows; `unit_of(i)` is the unit row `i` of them counts in.
    pub fn push_source<'u>(&mut self, rows: T, unit_of: impl Fn(usize) -> &'u str) {
        let source = self.sources;
        self.sources += 1;
        let n = rows.count();
        self.unit.reserve(n);
        self.source.reserve(n);
        // Rows of a source mostly share a few units: remember the last one looked up.
        let mut last: Option<(&str, u32)> = None;
        for i in 0..n {
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
        self.rows.append(rows);
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

    pub fn rows(&self) -> &T::Rows {
        self.rows.rows()
    }

    pub fn len(&self) -> usize {
        self.rows.count()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.count() == 0
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

impl<T: RowStack + Sync> ListRows for InUnits<T>
where
    T::Rows: ListRows,
{
    fn len(&self) -> usize {
        self.rows.count()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        ListRows::id(self.rows.rows(), i)
    }
    fn name(&self, i: usize) -> &str {
        ListRows::name(self.rows.rows(), i)
    }
    fn amount_due(&self, i: usize) -> Decimal {
        self.rows.rows().amount_due(i)
    }
    fn amount_due_whole(&self, i: usize) -> Option<u32> {
        self.rows.rows().amount_due_whole(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        ListRows::account(self.rows.rows(), i)
    }
    fn bank(&self, i: usize) -> Option<BankId> {
        ListRows::bank(self.rows.rows(), i)
    }
    fn birth_year(&self, i: usize) -> Option<i32> {
        self.rows.rows().birth_year(i)
    }
    fn sex(&self, i: usize) -> Option<Sex> {
        self.rows.rows().sex(i)
    }
    fn category(&self, i: usize) -> Option<&str> {
        self.rows.rows().category(i)
    }
    fn commune(&self, i: usize) -> Option<&str> {
        self.rows.rows().commune(i)
    }
    fn file(&self, i: usize) -> &str {
        ListRows::file(self.rows.rows(), i)
    }
    fn row_number(&self, i: usize) -> u32 {
        ListRows::row_number(self.rows.rows(), i)
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

impl<T: RowStack + Sync> PayoutRows for InUnits<T>
where
    T::Rows: PayoutRows,
{
    fn len(&self) -> usize {
        self.rows.count()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        PayoutRows::id(self.rows.rows(), i)
    }
    fn bank(&self, i: usize) -> BankId {
        PayoutRows::bank(self.rows.rows(), i)
    }
    fn reference(&self, i: usize) -> Option<&str> {
        self.rows.rows().reference(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        PayoutRows::account(self.rows.rows(), i)
    }
    fn name(&self, i: usize) -> Option<&str> {
        PayoutRows::name(self.rows.rows(), i)
    }
    fn amount(&self, i: usize) -> Decimal {
        self.rows.rows().amount(i)
    }
    fn amount_whole(&self, i: usize) -> Option<u32> {
        self.rows.rows().amount_whole(i)
    }
    fn status(&self, i: usize) -> PayoutStatus {
        self.rows.rows().status(i)
    }
    fn reason(&self, i: usize) -> Option<&str> {
        self.rows.rows().reason(i)
    }
    fn origin(&self, i: usize) -> PayoutOrigin {
        self.rows.rows().origin(i)
    }
    fn value_date(&self, i: usize) -> Option<chrono::NaiveDate> {
        self.rows.rows().value_date(i)
    }
    fn file(&self, i: usize) -> &str {
        PayoutRows::file(self.rows.rows(), i)
    }
    fn row_number(&self, i: usize) -> u32 {
        PayoutRows::row_number(self.rows.rows(), i)
    }
    fn unit(&self, i: usize) -> Option<&str> {
        self.unit_of(i)
    }
}
