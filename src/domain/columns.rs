//! Imported rows kept as compact columns: what a national list costs in memory is its
//! text and a few integers per row, not a struct of heap strings per row. The engine and
//! the exception list read them through `ListRows` / `PayoutRows`, exactly as they read
//! owned rows; `tests` check that both give the same values.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use super::banks::BankId;
use super::population_id::{IdCheck, Sex};
use super::records::{
    BeneficiaryDraft, BeneficiaryRow, IdRef, ListRows, PayoutDraft, PayoutOrigin, PayoutRow,
    PayoutRows,
};
use super::status::PayoutStatus;

/// Optional texts of many rows in one buffer, with each value's end offset: 4 bytes a
/// row while the buffer is under 2 GiB, 8 past it (switched once, exactly).
#[derive(Debug, Default, Clone)]
pub struct TextColumn {
    text: String,
    ends: Ends,
}

/// End offsets, the top bit marking an absent value.
#[derive(Debug, Clone)]
enum Ends {
    Small(Vec<u32>),
    Large(Vec<u64>),
}

impl Default for Ends {
    fn default() -> Self {
        Ends::Small(Vec::new())
    }
}

const NONE32: u32 = 1 << 31;
const NONE64: u64 = 1 << 63;

impl Ends {
    fn len(&self) -> usize {
        match self {
            Ends::Small(v) => v.len(),
            Ends::Large(v) => v.len(),
        }
    }

    /// (end, absent) of value `i`.
    fn get(&self, i: usize) -> Option<(u64, bool)> {
        match self {
            Ends::Small(v) => v.get(i).map(|&e| (u64::from(e & !NONE32), e & NONE32 != 0)),
            Ends::Large(v) => v.get(i).map(|&e| (e & !NONE64, e & NONE64 != 0)),
        }
    }

    fn push(&mut self, end: u64, absent: bool) {
        if let Ends::Small(v) = self {
            match u32::try_from(end) {
                Ok(e) if e < NONE32 => {
                    v.push(if absent { e | NONE32 } else { e });
                    return;
                }
                _ => {
                    let wide = v
                        .iter()
                        .map(|&e| u64::from(e & !NONE32) | if e & NONE32 != 0 { NONE64 } else { 0 })
                        .collect();
                    *self = Ends::Large(wide);
                }
            }
        }
        if let Ends::Large(v) = self {
            v.push(if absent { end | NONE64 } else { end });
        }
    }
}

impl TextColumn {
    pub fn push(&mut self, value: Option<&str>) {
        if let Some(v) = value {
            self.text.push_str(v);
        }
        self.ends.push(self.text.len() as u64, value.is_none());
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let (end, absent) = self.ends.get(i)?;
        if absent {
            return None;
        }
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(0, |(e, _)| e),
        };
        self.text.get(start as usize..end as usize)
    }

    pub fn append(&mut self, other: TextColumn) {
        let base = self.text.len() as u64;
        self.text.push_str(&other.text);
        // Both narrow and still under the bound: shift the offsets in one pass.
        if let (Ends::Small(mine), Ends::Small(theirs)) = (&mut self.ends, &other.ends)
            && let Ok(base32) = u32::try_from(base)
            && (self.text.len() as u64) < u64::from(NONE32)
        {
            mine.extend(
                theirs
                    .iter()
                    .map(|&e| ((e & !NONE32) + base32) | (e & NONE32)),
            );
            return;
        }
        for i in 0..other.ends.len() {
            if let Some((end, absent)) = other.ends.get(i) {
                self.ends.push(base + end, absent);
            }
        }
    }
}

/// A text most rows lack (a bank's reason for a failure): only the rows that have one.
#[derive(Debug, Default, Clone)]
struct SparseText {
    /// Rows with a value, in order, and their values.
    rows: Vec<u32>,
    values: TextColumn,
    len: u32,
}

impl SparseText {
    fn push(&mut self, value: Option<&str>) {
        if value.is_some() {
            self.rows.push(self.len);
            self.values.push(value);
        }
        self.len += 1;
    }

    fn get(&self, i: usize) -> Option<&str> {
        let k = self.rows.binary_search(&u32::try_from(i).ok()?).ok()?;
        self.values.get(k)
    }

    fn append(&mut self, other: SparseText) {
        let base = self.len;
        self.rows.extend(other.rows.iter().map(|r| r + base));
        self.values.append(other.values);
        self.len += other.len;
    }
}

/// Texts that repeat (communes, categories): each distinct one stored once.
#[derive(Debug, Default, Clone)]
pub struct InternedColumn {
    values: Vec<Box<str>>,
    index: FxHashMap<Box<str>, u32>,
    /// Per row: an index into `values`, or absent.
    ids: InternedIds,
}

/// 2 bytes a row while under 65,535 distinct values (3,321 communes in the country), 4
/// past it (widened once, exactly).
#[derive(Debug, Clone)]
enum InternedIds {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for InternedIds {
    fn default() -> Self {
        InternedIds::Narrow(Vec::new())
    }
}

impl InternedIds {
    /// `u32::MAX` for absent.
    fn push(&mut self, id: u32) {
        if let InternedIds::Narrow(v) = self {
            match u16::try_from(id) {
                Ok(n) if n != u16::MAX => {
                    v.push(n);
                    return;
                }
                _ if id == u32::MAX => {
                    v.push(u16::MAX);
                    return;
                }
                _ => {
                    let wide = v
                        .iter()
                        .map(|&n| {
                            if n == u16::MAX {
                                u32::MAX
                            } else {
                                u32::from(n)
                            }
                        })
                        .collect();
                    *self = InternedIds::Wide(wide);
                }
            }
        }
        if let InternedIds::Wide(v) = self {
            v.push(id);
        }
    }

    fn get(&self, i: usize) -> Option<u32> {
        match self {
            InternedIds::Narrow(v) => match *v.get(i)? {
                u16::MAX => None,
                n => Some(u32::from(n)),
            },
            InternedIds::Wide(v) => v.get(i).copied().filter(|&n| n != u32::MAX),
        }
    }

    fn len(&self) -> usize {
        match self {
            InternedIds::Narrow(v) => v.len(),
            InternedIds::Wide(v) => v.len(),
        }
    }
}

impl InternedColumn {
    fn id_of(&mut self, v: &str) -> u32 {
        if let Some(&id) = self.index.get(v) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(v.into());
        self.index.insert(v.into(), id);
        id
    }

    pub fn push(&mut self, value: Option<&str>) {
        let id = value.map_or(u32::MAX, |v| self.id_of(v));
        self.ids.push(id);
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let id = self.ids.get(i)?;
        self.values.get(id as usize).map(|v| &**v)
    }

    pub fn append(&mut self, other: InternedColumn) {
        let remap: Vec<u32> = other.values.iter().map(|v| self.id_of(v)).collect();
        for i in 0..other.ids.len() {
            let id = other
                .ids
                .get(i)
                .and_then(|id| remap.get(id as usize).copied());
            self.ids.push(id.unwrap_or(u32::MAX));
        }
    }
}

/// Personal IDs: a valid one as its number; the rare others (CMND, invalid, missing) aside.
#[derive(Debug, Default, Clone)]
struct IdColumn {
    values: Vec<u64>,
    others: FxHashMap<u32, IdCheck>,
}

/// Not a 12-digit number: look in `others`.
const OTHER_ID: u64 = u64::MAX;

impl IdColumn {
    fn push(&mut self, id: IdCheck) {
        match id {
            IdCheck::Valid(p) => self.values.push(p.value()),
            other => {
                self.others.insert(self.values.len() as u32, other);
                self.values.push(OTHER_ID);
            }
        }
    }

    fn get(&self, i: usize) -> IdRef<'_> {
        match self.values.get(i) {
            Some(&OTHER_ID) | None => self
                .others
                .get(&(i as u32))
                .map_or(IdRef::Missing, IdCheck::as_id_ref),
            Some(&v) => IdRef::Valid(super::population_id::PersonalId::from_stored(v)),
        }
    }

    fn append(&mut self, other: IdColumn) {
        let base = self.values.len() as u32;
        self.values.extend(other.values);
        self.others
            .extend(other.others.into_iter().map(|(i, id)| (i + base, id)));
    }
}

/// Amounts in whole đồng (importers refuse fractions, negatives and more than 10^15), as
/// integers; an amount that is not one (never, from an importer) is kept aside exactly.
#[derive(Debug, Default, Clone)]
struct AmountColumn {
    /// 4 bytes a row: up to 4,294,967,294 đồng a row, far above any allowance.
    values: Vec<u32>,
    others: FxHashMap<u32, Decimal>,
}

const OTHER_AMOUNT: u32 = u32::MAX;

impl AmountColumn {
    fn push(&mut self, d: Decimal) {
        match super::records::whole_u32(d) {
            Some(v) => self.values.push(v),
            None => {
                self.others.insert(self.values.len() as u32, d);
                self.values.push(OTHER_AMOUNT);
            }
        }
    }

    fn whole(&self, i: usize) -> Option<u32> {
        self.values.get(i).copied().filter(|&v| v != OTHER_AMOUNT)
    }

    fn get(&self, i: usize) -> Decimal {
        match self.values.get(i) {
            Some(&OTHER_AMOUNT) | None => self
                .others
                .get(&(i as u32))
                .copied()
                .unwrap_or(Decimal::ZERO),
            Some(&v) => Decimal::from(v),
        }
    }

    fn append(&mut self, other: AmountColumn) {
        let base = self.values.len() as u32;
        self.values.extend(other.values);
        self.others
            .extend(other.others.into_iter().map(|(i, d)| (i + base, d)));
    }
}

/// Row numbers as the spreadsheet shows them, as runs of consecutive rows: a list's rows
/// mostly follow one another, so a file costs a few runs rather than 4 bytes a row. Rows
/// that jump about are kept one by one, once runs would cost more.
#[derive(Debug, Clone)]
enum RowNumbers {
    /// (index of the run's first row, its row number), in order; `len` rows in all.
    Runs {
        runs: Vec<(u32, u32)>,
        len: u32,
    },
    Each(Vec<u32>),
}

impl Default for RowNumbers {
    fn default() -> Self {
        RowNumbers::Runs {
            runs: Vec::new(),
            len: 0,
        }
    }
}

impl RowNumbers {
    fn len(&self) -> usize {
        match self {
            RowNumbers::Runs { len, .. } => *len as usize,
            RowNumbers::Each(v) => v.len(),
        }
    }

    /// `count` rows numbered from `row` on.
    fn push_run(&mut self, row: u32, count: u32) {
        match self {
            RowNumbers::Runs { runs, len } => {
                let continues = runs
                    .last()
                    .is_some_and(|&(i, r)| r.checked_add(*len - i) == Some(row));
                if !continues {
                    runs.push((*len, row));
                }
                *len += count;
                // Runs cost 8 bytes each, single rows 4.
                if runs.len() > 32 && runs.len() * 2 > *len as usize {
                    let each = (0..*len as usize).filter_map(|i| self.get(i)).collect();
                    *self = RowNumbers::Each(each);
                }
            }
            RowNumbers::Each(v) => v.extend((0..count).map(|k| row.wrapping_add(k))),
        }
    }

    fn push(&mut self, row: u32) {
        self.push_run(row, 1);
    }

    fn get(&self, i: usize) -> Option<u32> {
        match self {
            RowNumbers::Runs { runs, len } => {
                if i >= *len as usize {
                    return None;
                }
                let k = runs.partition_point(|&(start, _)| start as usize <= i);
                let &(start, row) = runs.get(k.checked_sub(1)?)?;
                Some(row.wrapping_add(i as u32 - start))
            }
            RowNumbers::Each(v) => v.get(i).copied(),
        }
    }

    fn append(&mut self, other: RowNumbers) {
        match other {
            RowNumbers::Runs { runs, len } => {
                for (k, &(start, row)) in runs.iter().enumerate() {
                    let end = runs.get(k + 1).map_or(len, |r| r.0);
                    self.push_run(row, end - start);
                }
            }
            RowNumbers::Each(v) => v.into_iter().for_each(|r| self.push(r)),
        }
    }
}

/// Birth years in 2 bytes a row; a year outside `i16` (never, from an importer) is kept
/// aside exactly.
#[derive(Debug, Default, Clone)]
struct YearColumn {
    values: Vec<i16>,
    others: FxHashMap<u32, i32>,
}

const NO_YEAR: i16 = i16::MIN;
const OTHER_YEAR: i16 = i16::MIN + 1;

impl YearColumn {
    fn push(&mut self, year: Option<i32>) {
        let v = match year {
            None => NO_YEAR,
            Some(y) => match i16::try_from(y) {
                Ok(v) if v > OTHER_YEAR => v,
                _ => {
                    self.others.insert(self.values.len() as u32, y);
                    OTHER_YEAR
                }
            },
        };
        self.values.push(v);
    }

    fn get(&self, i: usize) -> Option<i32> {
        match *self.values.get(i)? {
            NO_YEAR => None,
            OTHER_YEAR => self.others.get(&(i as u32)).copied(),
            v => Some(i32::from(v)),
        }
    }

    fn append(&mut self, other: YearColumn) {
        let base = self.values.len() as u32;
        self.values.extend(other.values);
        self.others
            .extend(other.others.into_iter().map(|(i, y)| (i + base, y)));
    }
}

/// Which file each run of rows came from (rows from several files are appended).
#[derive(Debug, Default, Clone)]
struct FileColumn {
    /// (index of the file's first row, file name), in row order.
    starts: Vec<(u32, Arc<str>)>,
    len: u32,
}

impl FileColumn {
    fn push(&mut self, file: &Arc<str>) {
        if self
            .starts
            .last()
            .is_none_or(|(_, f)| !Arc::ptr_eq(f, file))
        {
            self.starts.push((self.len, file.clone()));
        }
        self.len += 1;
    }

    fn get(&self, i: usize) -> &str {
        let at = self
            .starts
            .partition_point(|(start, _)| *start as usize <= i);
        at.checked_sub(1)
            .and_then(|k| self.starts.get(k))
            .map_or("", |(_, f)| f)
    }

    fn append(&mut self, other: FileColumn) {
        for (start, file) in other.starts {
            if self
                .starts
                .last()
                .is_none_or(|(_, f)| !Arc::ptr_eq(f, &file))
            {
                self.starts.push((self.len + start, file));
            }
        }
        self.len += other.len;
    }
}

/// A beneficiary list as columns.
#[derive(Debug, Default, Clone)]
pub struct ListTable {
    files: FileColumn,
    rows: RowNumbers,
    ids: IdColumn,
    names: TextColumn,
    amounts: AmountColumn,
    accounts: TextColumn,
    banks: Vec<Option<BankId>>,
    birth_years: YearColumn,
    sexes: Vec<Option<Sex>>,
    categories: InternedColumn,
    communes: InternedColumn,
}

impl ListTable {
    pub fn push(&mut self, row: BeneficiaryRow) {
        self.push_draft(row.as_draft());
    }

    /// The same from an importer's borrowed row: each text copied once, into its column.
    pub fn push_draft(&mut self, row: BeneficiaryDraft<'_>) {
        self.files.push(row.file);
        self.rows.push(row.row);
        self.ids.push(row.id);
        self.names.push(Some(&row.name));
        self.amounts.push(row.amount_due);
        self.accounts.push(row.account.as_deref());
        self.banks.push(row.bank);
        self.birth_years.push(row.birth.map(|b| b.year()));
        self.sexes.push(row.sex);
        self.categories.push(row.category.as_deref());
        self.communes.push(row.commune.as_deref());
    }

    pub fn append(&mut self, other: ListTable) {
        self.files.append(other.files);
        self.rows.append(other.rows);
        self.ids.append(other.ids);
        self.names.append(other.names);
        self.amounts.append(other.amounts);
        self.accounts.append(other.accounts);
        self.banks.extend(other.banks);
        self.birth_years.append(other.birth_years);
        self.sexes.extend(other.sexes);
        self.categories.append(other.categories);
        self.communes.append(other.communes);
    }
}

impl ListRows for ListTable {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        self.ids.get(i)
    }
    fn name(&self, i: usize) -> &str {
        self.names.get(i).unwrap_or("")
    }
    fn amount_due(&self, i: usize) -> Decimal {
        self.amounts.get(i)
    }
    fn amount_due_whole(&self, i: usize) -> Option<u32> {
        self.amounts.whole(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        self.accounts.get(i)
    }
    fn bank(&self, i: usize) -> Option<BankId> {
        self.banks.get(i).copied().flatten()
    }
    fn birth_year(&self, i: usize) -> Option<i32> {
        self.birth_years.get(i)
    }
    fn sex(&self, i: usize) -> Option<Sex> {
        self.sexes.get(i).copied().flatten()
    }
    fn category(&self, i: usize) -> Option<&str> {
        self.categories.get(i)
    }
    fn commune(&self, i: usize) -> Option<&str> {
        self.communes.get(i)
    }
    fn file(&self, i: usize) -> &str {
        self.files.get(i)
    }
    fn row_number(&self, i: usize) -> u32 {
        self.rows.get(i).unwrap_or(0)
    }
}

/// Value dates: a period's payouts share a handful, each stored once (2 bytes a row, as
/// `InternedColumn`).
#[derive(Debug, Default, Clone)]
struct DateColumn {
    values: Vec<NaiveDate>,
    index: FxHashMap<NaiveDate, u32>,
    ids: InternedIds,
}

impl DateColumn {
    fn id_of(&mut self, d: NaiveDate) -> u32 {
        if let Some(&id) = self.index.get(&d) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(d);
        self.index.insert(d, id);
        id
    }

    fn push(&mut self, d: Option<NaiveDate>) {
        let id = d.map_or(u32::MAX, |d| self.id_of(d));
        self.ids.push(id);
    }

    fn get(&self, i: usize) -> Option<NaiveDate> {
        self.values.get(self.ids.get(i)? as usize).copied()
    }

    fn append(&mut self, other: DateColumn) {
        for i in 0..other.ids.len() {
            self.push(other.get(i));
        }
    }
}

/// Bank payout results as columns.
#[derive(Debug, Default, Clone)]
pub struct PayoutTable {
    files: FileColumn,
    rows: RowNumbers,
    ids: IdColumn,
    banks: Vec<BankId>,
    references: TextColumn,
    accounts: TextColumn,
    names: TextColumn,
    amounts: AmountColumn,
    statuses: Vec<PayoutStatus>,
    reasons: SparseText,
    origins: Vec<PayoutOrigin>,
    value_dates: DateColumn,
}

impl PayoutTable {
    pub fn push(&mut self, row: PayoutRow) {
        self.push_draft(row.as_draft());
    }

    /// The same from an importer's borrowed row.
    pub fn push_draft(&mut self, row: PayoutDraft<'_>) {
        self.files.push(row.file);
        self.rows.push(row.row);
        self.ids.push(row.id);
        self.banks.push(row.bank);
        self.references.push(row.reference.as_deref());
        self.accounts.push(row.account.as_deref());
        self.names.push(row.name.as_deref());
        self.amounts.push(row.amount);
        self.statuses.push(row.status);
        self.reasons.push(row.reason.as_deref());
        self.origins.push(row.origin);
        self.value_dates.push(row.value_date);
    }

    pub fn append(&mut self, other: PayoutTable) {
        self.files.append(other.files);
        self.rows.append(other.rows);
        self.ids.append(other.ids);
        self.banks.extend(other.banks);
        self.references.append(other.references);
        self.accounts.append(other.accounts);
        self.names.append(other.names);
        self.amounts.append(other.amounts);
        self.statuses.extend(other.statuses);
        self.reasons.append(other.reasons);
        self.origins.extend(other.origins);
        self.value_dates.append(other.value_dates);
    }
}

impl PayoutRows for PayoutTable {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn id(&self, i: usize) -> IdRef<'_> {
        self.ids.get(i)
    }
    fn bank(&self, i: usize) -> BankId {
        self.banks[i]
    }
    fn reference(&self, i: usize) -> Option<&str> {
        self.references.get(i)
    }
    fn account(&self, i: usize) -> Option<&str> {
        self.accounts.get(i)
    }
    fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i)
    }
    fn amount(&self, i: usize) -> Decimal {
        self.amounts.get(i)
    }
    fn amount_whole(&self, i: usize) -> Option<u32> {
        self.amounts.whole(i)
    }
    fn status(&self, i: usize) -> PayoutStatus {
        self.statuses[i]
    }
    fn reason(&self, i: usize) -> Option<&str> {
        self.reasons.get(i)
    }
    fn origin(&self, i: usize) -> PayoutOrigin {
        self.origins[i]
    }
    fn value_date(&self, i: usize) -> Option<NaiveDate> {
        self.value_dates.get(i)
    }
    fn file(&self, i: usize) -> &str {
        self.files.get(i)
    }
    fn row_number(&self, i: usize) -> u32 {
        self.rows.get(i).unwrap_or(0)
    }
}

/// Rows as they are built from a row struct, for tests comparing both forms.
#[cfg(test)]
pub(crate) fn list_of(rows: &[BeneficiaryRow]) -> ListTable {
    let mut t = ListTable::default();
    rows.iter().cloned().for_each(|r| t.push(r));
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::records::RowRef;

    fn row(file: &Arc<str>, n: u32, id: &str, commune: Option<&str>) -> BeneficiaryRow {
        BeneficiaryRow {
            source: RowRef::new(file.clone(), n),
            id: IdCheck::from_text(id, 2026),
            name: format!("Người {n}"),
            amount_due: Decimal::from(1_500_000 + n as i64),
            account: n.is_multiple_of(2).then(|| format!("0{n}")),
            bank: BankId::resolve("Agribank").filter(|_| n.is_multiple_of(3)),
            birth: None,
            sex: n.is_multiple_of(5).then_some(Sex::Female),
            category: Some("Người cao tuổi".into()),
            commune: commune.map(str::to_owned),
        }
    }

    /// Pushed in two chunks and appended, or pushed at once: the columns read back every
    /// value of the rows, the odd IDs and empty texts included.
    #[test]
    fn columns_read_back_what_rows_hold() {
        let a: Arc<str> = Arc::from("a.csv");
        let b: Arc<str> = Arc::from("b.csv");
        let rows: Vec<BeneficiaryRow> = (0..40)
            .map(|n| {
                let id = match n % 7 {
                    0 => "012345678".to_owned(),
                    1 => "12x".to_owned(),
                    2 => String::new(),
                    _ => format!("0010900{n:05}"),
                };
                let file = if n < 25 { &a } else { &b };
                let commune = ["Xã Tân Lập", "", "Phường Hà Cầu"][n as usize % 3];
                let mut r = row(file, n, &id, (n % 4 != 0).then_some(commune));
                // Years a 2-byte column holds, and some it must keep aside.
                let year = [None, Some(1950), Some(-40_000), Some(40_000), Some(-32_767)];
                r.birth = year[n as usize % 5].map(crate::domain::dates::DateOrYear::Year);
                // Amounts 4 bytes hold, and some they must keep aside.
                let amount = [
                    Decimal::from(1_500_000),
                    Decimal::from(u32::MAX),
                    Decimal::from(u32::MAX - 1),
                    Decimal::from(1_000_000_000_000_000i64),
                    Decimal::new(15, 1),
                    Decimal::from(-5),
                ];
                r.amount_due = amount[n as usize % 6];
                r
            })
            .collect();
        let whole = list_of(&rows);
        let mut chunked = list_of(&rows[..17]);
        chunked.append(list_of(&rows[17..]));
        for t in [&whole, &chunked] {
            let s = &rows[..];
            assert_eq!(ListRows::len(t), ListRows::len(s));
            for i in 0..rows.len() {
                assert_eq!(t.id(i), s.id(i), "{i}");
                assert_eq!(t.name(i), s.name(i));
                assert_eq!(t.amount_due(i), s.amount_due(i));
                assert_eq!(t.account(i), s.account(i));
                assert_eq!(t.bank(i), s.bank(i));
                assert_eq!(t.sex(i), s.sex(i));
                assert_eq!(t.birth_year(i), s.birth_year(i), "{i}");
                assert_eq!(t.category(i), s.category(i));
                assert_eq!(t.commune(i), s.commune(i), "{i}");
                assert_eq!(ListRows::file(t, i), ListRows::file(s, i), "{i}");
                assert_eq!(t.row_number(i), s.row_number(i));
            }
        }
    }

    #[test]
    fn payout_columns_read_back_what_rows_hold() {
        let f: Arc<str> = Arc::from("kq.csv");
        let rows: Vec<PayoutRow> = (0..30)
            .map(|n| PayoutRow {
                source: RowRef::new(f.clone(), n + 2),
                bank: BankId::resolve("BIDV").unwrap_or_else(|| panic!("BIDV")),
                reference: (n % 3 != 0).then(|| format!("FT{n}")),
                id: IdCheck::from_text(&format!("0010900{n:05}"), 2026),
                account: None,
                name: (n % 2 == 0).then(|| "NGUYEN VAN AN".into()),
                amount: Decimal::from(n as i64 * 1000),
                status: PayoutStatus::Success,
                value_date: (n % 4 != 0)
                    .then(|| NaiveDate::from_ymd_opt(2024, 9, 20 + n % 3))
                    .flatten(),
                reason: (n % 7 == 1).then(|| format!("AC0{n}")),
                origin: PayoutOrigin::File,
            })
            .collect();
        let mut whole = PayoutTable::default();
        rows.iter().cloned().for_each(|r| whole.push(r));
        let (mut t, mut rest) = (PayoutTable::default(), PayoutTable::default());
        rows[..11].iter().cloned().for_each(|r| t.push(r));
        rows[11..].iter().cloned().for_each(|r| rest.push(r));
        t.append(rest);
        let s = &rows[..];
        for i in 0..rows.len() {
            assert_eq!(whole.reason(i), s.reason(i), "{i}");
            assert_eq!(t.reason(i), s.reason(i), "{i}");
            assert_eq!(whole.value_date(i), s.value_date(i), "{i}");
            assert_eq!(t.value_date(i), s.value_date(i), "{i}");
            assert_eq!(t.id(i), s.id(i));
            assert_eq!(t.reference(i), s.reference(i));
            assert_eq!(t.name(i), s.name(i));
            assert_eq!(t.amount(i), s.amount(i));
            assert_eq!(PayoutRows::file(&t, i), PayoutRows::file(s, i));
            assert_eq!(PayoutRows::row_number(&t, i), PayoutRows::row_number(s, i));
        }
    }

    proptest::proptest! {
        /// Row numbers read back as pushed, in runs or one by one, whole or appended.
        #[test]
        fn row_numbers_read_back_as_pushed(
            steps in proptest::collection::vec((0u32..3, 1u32..50), 0..300),
            cut in 0usize..300,
        ) {
            // Mostly the next row, sometimes a jump back or forward.
            let mut rows = Vec::new();
            let mut row = 7u32;
            for (jump, run) in steps {
                row = match jump { 0 => row, 1 => row + 5, _ => row.saturating_sub(20) };
                for _ in 0..run {
                    rows.push(row);
                    row += 1;
                }
            }
            let cut = cut.min(rows.len());
            let mut whole = RowNumbers::default();
            rows.iter().for_each(|&r| whole.push(r));
            let (mut first, mut second) = (RowNumbers::default(), RowNumbers::default());
            rows[..cut].iter().for_each(|&r| first.push(r));
            rows[cut..].iter().for_each(|&r| second.push(r));
            first.append(second);
            for t in [&whole, &first] {
                proptest::prop_assert_eq!(t.len(), rows.len());
                let back: Vec<u32> = (0..rows.len()).filter_map(|i| t.get(i)).collect();
                proptest::prop_assert_eq!(&back, &rows);
                proptest::prop_assert_eq!(t.get(rows.len()), None);
            }
        }
    }

    #[test]
    fn interned_values_read_back_past_65535_distinct() {
        let value = |i: usize| (i % 7 != 3).then(|| format!("Xã {}", i / 2));
        let (mut whole, mut first, mut second) = Default::default();
        let n = 140_000;
        for i in 0..n {
            InternedColumn::push(&mut whole, value(i).as_deref());
            let half = if i < n / 3 { &mut first } else { &mut second };
            InternedColumn::push(half, value(i).as_deref());
        }
        first.append(second);
        for t in [&whole, &first] {
            assert!(matches!(t.ids, InternedIds::Wide(_)));
            for i in 0..n {
                assert_eq!(t.get(i), value(i).as_deref(), "{i}");
            }
        }
    }

    #[test]
    fn row_numbers_of_a_plain_file_are_one_run() {
        let mut t = RowNumbers::default();
        (2..100_000).for_each(|r| t.push(r));
        assert!(matches!(&t, RowNumbers::Runs { runs, .. } if runs.len() == 1));
        let mut scattered = RowNumbers::default();
        (0..1000).for_each(|r| scattered.push(r * 2));
        assert!(matches!(scattered, RowNumbers::Each(_)));
    }

    /// Past 2 GiB of text the offsets widen without changing any value.
    #[test]
    fn text_offsets_widen_exactly() {
        let mut ends = Ends::default();
        ends.push(5, false);
        ends.push(5, true);
        ends.push(u64::from(NONE32) + 10, false);
        ends.push(u64::from(NONE32) + 10, true);
        assert!(matches!(ends, Ends::Large(_)));
        assert_eq!(ends.get(0), Some((5, false)));
        assert_eq!(ends.get(1), Some((5, true)));
        assert_eq!(ends.get(2), Some((u64::from(NONE32) + 10, false)));
        assert_eq!(ends.get(3), Some((u64::from(NONE32) + 10, true)));
        let mut col = TextColumn::default();
        col.push(Some("Nguyễn"));
        col.push(None);
        col.push(Some(""));
        let mut more = TextColumn::default();
        more.push(Some("An"));
        col.append(more);
        let got: Vec<_> = (0..4).map(|i| col.get(i)).collect();
        assert_eq!(got, [Some("Nguyễn"), None, Some(""), Some("An")]);
    }
}
