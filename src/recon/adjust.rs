//! Exception keys and manual adjustments.
//!
//! Every exception of a run has a stable key, computed from the row alone (so runs stored
//! before keys existed have them too):
//! - `b:<personal ID>` for a beneficiary (a legacy 9-digit CMND is the ID as listed:
//!   `b:123456789`, never the same text as a 12-digit ID); `b:row:<list row>` when the ID
//!   is not valid (or missing);
//! - `p:<bank code>:<transaction_ref>` for a payout that links to nobody;
//!   `p:<bank code>:row:<file row>@<file name>` for one without a reference (bank files only:
//!   callbacks always carry one).
//!
//! Qualifiers only where a bare key would be ambiguous: `@<unit>` after a beneficiary key
//! names the unit the person counts in, for a person on two units' lists (flag
//! `duplicate_across_units`: one exception per listing) and for `b:row:` in a run covering
//! several lists (row 7 of two lists). Units' current lists never overlap, so the unit a
//! row counts in names its list.
//!
//! Adjustments are what resolving an exception changes in the figures of the live period
//! and of the next runs (stored runs never change): a payout linked by hand to a
//! beneficiary (`linked_manually`), a beneficiary paid in cash after all (`paid_in_cash`).

use rustc_hash::FxHashMap;

use super::exceptions::{ExceptionKind, ExceptionRow};
use super::types::Flag;
use crate::domain::banks::BankId;
use crate::domain::records::{IdRef, LinkKey, ListRows, PayoutRows};

/// The longest key read (an ID, a 100-character reference, a file name and a row).
pub const MAX_KEY_CHARS: usize = 400;

/// A beneficiary of the period's lists, as a key names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersonRef {
    /// A valid 12-digit ID or a legacy 9-digit CMND, as listed; `unit`: the listing's unit,
    /// where the person is on two units' lists.
    Id { id: String, unit: Option<String> },
    /// The list row (as the spreadsheet numbers it) of a person whose ID is not valid;
    /// `unit`: the unit the row counts in, which names its list.
    Row { row: u32, unit: Option<String> },
}

/// A payout, as a key names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PayoutRef {
    /// The bank's transaction: its latest state counts.
    Reference { bank: BankId, reference: String },
    /// A bank file's row without a reference.
    Row {
        bank: BankId,
        row: u32,
        file: String,
    },
}

/// What an exception key names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ExceptionKey {
    Beneficiary(PersonRef),
    Payout(PayoutRef),
}

impl PersonRef {
    /// The same person without the qualifier.
    pub fn unit(&self) -> Option<&str> {
        match self {
            PersonRef::Id { unit, .. } | PersonRef::Row { unit, .. } => unit.as_deref(),
        }
    }

    pub fn with_unit(self, u: Option<String>) -> PersonRef {
        match self {
            PersonRef::Id { id, .. } => PersonRef::Id { id, unit: u },
            PersonRef::Row { row, .. } => PersonRef::Row { row, unit: u },
        }
    }
}

impl std::fmt::Display for PersonRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PersonRef::Id { id, .. } => write!(f, "b:{id}")?,
            PersonRef::Row { row, .. } => write!(f, "b:row:{row}")?,
        }
        match self.unit() {
            Some(u) => write!(f, "@{u}"),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for PayoutRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayoutRef::Reference { bank, reference } => write!(f, "p:{}:{reference}", bank.code()),
            PayoutRef::Row { bank, row, file } => write!(f, "p:{}:row:{row}@{file}", bank.code()),
        }
    }
}

impl std::fmt::Display for ExceptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExceptionKey::Beneficiary(p) => p.fmt(f),
            ExceptionKey::Payout(p) => p.fmt(f),
        }
    }
}

/// Why a key does not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadKey(pub &'static str);

impl std::fmt::Display for BadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

fn unit_code(u: &str) -> Result<String, BadKey> {
    let ok = u == crate::domain::units::NATION
        || ((u.len() == 2 || u.len() == 5) && u.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(u.to_owned())
    } else {
        Err(BadKey(
            "the unit after '@' is not a unit code (VN, 2 or 5 digits)",
        ))
    }
}

impl ExceptionKey {
    /// A key as written (`b:…`, `p:…`); the bank may be given by code, short name or BIN
    /// (it is written back by code).
    pub fn parse(text: &str) -> Result<ExceptionKey, BadKey> {
        if text.chars().count() > MAX_KEY_CHARS {
            return Err(BadKey("the key is too long"));
        }
        if text.chars().any(char::is_control) {
            return Err(BadKey("the key holds control characters"));
        }
        if let Some(rest) = text.strip_prefix("b:") {
            let (body, unit) = match rest.split_once('@') {
                Some((b, u)) => (b, Some(unit_code(u)?)),
                None => (rest, None),
            };
            if let Some(row) = body.strip_prefix("row:") {
                let row = row
                    .parse::<u32>()
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or(BadKey("b:row: takes a list row number"))?;
                return Ok(ExceptionKey::Beneficiary(PersonRef::Row { row, unit }));
            }
            if (body.len() == 12 || body.len() == 9) && body.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(ExceptionKey::Beneficiary(PersonRef::Id {
                    id: body.to_owned(),
                    unit,
                }));
            }
            return Err(BadKey(
                "a beneficiary key is b:<12-digit ID>, b:<9-digit CMND> or b:row:<list row>",
            ));
        }
        if let Some(rest) = text.strip_prefix("p:") {
            let (bank, reference) = rest
                .split_once(':')
                .ok_or(BadKey("a payout key is p:<bank code>:<transaction_ref>"))?;
            let bank = BankId::resolve(bank).ok_or(BadKey("the payout key names no known bank"))?;
            if let Some(row_at) = reference.strip_prefix("row:")
                && let Some((row, file)) = row_at.split_once('@')
                && let Ok(row) = row.parse::<u32>()
                && !file.is_empty()
            {
                return Ok(ExceptionKey::Payout(PayoutRef::Row {
                    bank,
                    row,
                    file: file.to_owned(),
                }));
            }
            if reference.trim().is_empty() {
                return Err(BadKey("the payout key has no transaction reference"));
            }
            return Ok(ExceptionKey::Payout(PayoutRef::Reference {
                bank,
                reference: reference.to_owned(),
            }));
        }
        Err(BadKey(
            "an exception key starts with b: (a beneficiary) or p: (a payout)",
        ))
    }
}

impl ExceptionRow {
    /// This exception's key; `several_lists`: the run covers more than one list (then a
    /// `b:row:` key names the unit its row counts in).
    pub fn key(&self, several_lists: bool) -> Option<ExceptionKey> {
        match self.kind {
            ExceptionKind::Beneficiary(_) => {
                let unit = self.unit.clone();
                Some(ExceptionKey::Beneficiary(
                    if self.flags.contains(Flag::InvalidId) {
                        PersonRef::Row {
                            row: self.list_rows.first().copied()?,
                            unit: unit.filter(|_| several_lists),
                        }
                    } else {
                        PersonRef::Id {
                            id: self.population_id.clone(),
                            unit: unit.filter(|_| self.flags.contains(Flag::DuplicateAcrossUnits)),
                        }
                    },
                ))
            }
            ExceptionKind::UnmatchedPayout => {
                // An unmatched payout's row always holds its payout.
                let p = self.payouts.first()?;
                Some(ExceptionKey::Payout(match &p.reference {
                    Some(r) => PayoutRef::Reference {
                        bank: p.bank,
                        reference: r.clone(),
                    },
                    None => PayoutRef::Row {
                        bank: p.bank,
                        row: p.row,
                        file: p.file.clone(),
                    },
                }))
            }
        }
    }
}

/// The period's adjustments, as the engine applies them to one reconciliation's inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjustments {
    /// A payout that links to nobody, linked by hand to a beneficiary (the last link made
    /// for a payout counts).
    pub links: Vec<(PayoutRef, PersonRef)>,
    /// Beneficiaries paid in cash after all.
    pub paid_in_cash: Vec<PersonRef>,
}

impl Adjustments {
    pub fn is_empty(&self) -> bool {
        self.links.is_empty() && self.paid_in_cash.is_empty()
    }

    /// Link keys joining a payout linked by hand and its beneficiary in one component of
    /// the live figures (they share no ID, account or reference by themselves): for list
    /// row `r`, for each link to its person, a mark of the person and the payout's bank
    /// reference (so a callback restating it is found too).
    pub fn list_keys<L: ListRows + ?Sized>(
        &self,
        list: &L,
        r: usize,
        mut out: impl FnMut(LinkKey),
    ) {
        for (payout, person) in &self.links {
            if row_is(list, r, person) {
                out(mark(person));
                if let PayoutRef::Reference { bank, reference } = payout {
                    out(LinkKey::Reference(
                        bank.code().to_owned(),
                        reference.clone(),
                    ));
                }
            }
        }
    }

    /// The same for payout `i`: the mark of the beneficiary it is linked to, and their ID.
    pub fn payout_keys<P: PayoutRows + ?Sized>(
        &self,
        payouts: &P,
        i: usize,
        mut out: impl FnMut(LinkKey),
    ) {
        for (payout, person) in &self.links {
            if payout_is(payouts, i, payout) {
                out(mark(person));
                if let PersonRef::Id { id, .. } = person {
                    out(LinkKey::Person(id.clone()));
                }
            }
        }
    }
}

/// The key marking a person linked to by hand; no bank code starts with `~`.
fn mark(person: &PersonRef) -> LinkKey {
    let unqualified = person.clone().with_unit(None);
    LinkKey::Reference("~link".to_owned(), unqualified.to_string())
}

/// Whether list row `r` is of the person `p` names (the unit, where named, is the one the
/// row counts in).
pub(crate) fn row_is<L: ListRows + ?Sized>(list: &L, r: usize, p: &PersonRef) -> bool {
    let unit_fits = |u: &Option<String>| u.is_none() || list.unit(r) == u.as_deref();
    match p {
        PersonRef::Id { id, unit } => {
            unit_fits(unit)
                && match list.id(r) {
                    IdRef::Valid(v) => id.len() == 12 && id.parse::<u64>().ok() == Some(v.value()),
                    IdRef::Legacy(s) => s == id,
                    _ => false,
                }
        }
        PersonRef::Row { row, unit } => {
            unit_fits(unit)
                && list.row_number(r) == *row
                && matches!(list.id(r), IdRef::Invalid(_) | IdRef::Missing)
        }
    }
}

/// Whether payout `i` is the one `p` names.
pub(crate) fn payout_is<P: PayoutRows + ?Sized>(payouts: &P, i: usize, p: &PayoutRef) -> bool {
    match p {
        PayoutRef::Reference { bank, reference } => {
            payouts.bank(i) == *bank && payouts.reference(i) == Some(reference.as_str())
        }
        PayoutRef::Row { bank, row, file } => {
            payouts.bank(i) == *bank
                && payouts.reference(i).is_none()
                && payouts.row_number(i) == *row
                && payouts.file(i) == file
        }
    }
}

/// The payouts the links name, by index: one pass over the payouts (references by hash).
pub(crate) fn linked_payouts<P: PayoutRows + ?Sized>(
    payouts: &P,
    adj: &Adjustments,
    candidate: impl Fn(usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut by_ref: FxHashMap<(BankId, &str), usize> = FxHashMap::default();
    let mut by_row: Vec<(usize, &PayoutRef)> = Vec::new();
    for (k, (p, _)) in adj.links.iter().enumerate() {
        match p {
            // The last link of a payout counts.
            PayoutRef::Reference { bank, reference } => {
                by_ref.insert((*bank, reference.as_str()), k);
            }
            PayoutRef::Row { .. } => by_row.push((k, p)),
        }
    }
    let mut out = Vec::new();
    for i in 0..payouts.len() {
        if !candidate(i) {
            continue;
        }
        let found = match payouts.reference(i) {
            Some(r) => by_ref.get(&(payouts.bank(i), r)).copied(),
            None => by_row
                .iter()
                .rev()
                .find(|(_, p)| payout_is(payouts, i, p))
                .map(|(k, _)| *k),
        };
        if let Some(k) = found {
            out.push((i, k));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        for k in [
            "b:001090000001",
            "b:123456789",
            "b:001090000001@00004",
            "b:row:7",
            "b:row:7@00008",
            "p:VBA:FT1",
            "p:VBA:FT:1@x",
            "p:ICB:row:12@ket qua.xlsx",
        ] {
            let parsed = ExceptionKey::parse(k).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(parsed.to_string(), k);
        }
        // A bank by its name reads, written back by code.
        assert_eq!(
            ExceptionKey::parse("p:Agribank:FT1").map(|k| k.to_string()),
            Ok("p:VBA:FT1".to_owned())
        );
    }

    #[test]
    fn bad_keys_say_why() {
        for k in [
            "",
            "x:1",
            "b:12345",
            "b:00109000000a",
            "b:row:0",
            "b:row:x",
            "b:001090000001@hanoi",
            "p:VBA",
            "p:NOBANK:FT1",
            "p:VBA:",
            "p:VBA:\u{7}",
        ] {
            assert!(ExceptionKey::parse(k).is_err(), "{k}");
        }
        assert!(ExceptionKey::parse(&format!("p:VBA:{}", "x".repeat(500))).is_err());
    }

    fn row(v: serde_json::Value) -> ExceptionRow {
        let mut base = serde_json::json!({
            "kind": "unpaid", "population_id": "001090000001", "name": "A",
            "commune": null, "category": null, "bank": null, "account": null,
            "amount_due": "1000", "amount_paid": "0", "flags": [], "list_file": "ds.csv",
            "list_rows": [7], "payouts": [], "unit": "00004"
        });
        if let (Some(b), Some(o)) = (base.as_object_mut(), v.as_object()) {
            for (k, x) in o {
                b.insert(k.clone(), x.clone());
            }
        }
        serde_json::from_value(base).unwrap_or_else(|e| panic!("{e}"))
    }

    fn key(r: &ExceptionRow, several: bool) -> String {
        r.key(several).map(|k| k.to_string()).unwrap_or_default()
    }

    /// The documented shapes, and a qualifier only where a bare key would be ambiguous.
    #[test]
    fn keys_of_stored_rows() {
        let plain = row(serde_json::json!({}));
        assert_eq!(key(&plain, false), "b:001090000001");
        assert_eq!(
            key(&plain, true),
            "b:001090000001",
            "an ID names one person"
        );
        let legacy = row(serde_json::json!({"population_id": "123456789", "flags": ["legacy_id"]}));
        assert_eq!(key(&legacy, true), "b:123456789");
        let across = row(serde_json::json!({"flags": ["duplicate_across_units"]}));
        assert_eq!(key(&across, false), "b:001090000001@00004");
        let invalid = row(serde_json::json!({"population_id": "12AB", "flags": ["invalid_id"]}));
        assert_eq!(key(&invalid, false), "b:row:7");
        assert_eq!(key(&invalid, true), "b:row:7@00004", "row 7 of which list");
        let payout = |reference: serde_json::Value| {
            row(serde_json::json!({
                "kind": "unmatched_payout", "list_rows": [], "list_file": null,
                "amount_due": null, "bank": "VBA",
                "payouts": [{"file": "kq.csv", "row": 12, "bank": "VBA", "reference": reference,
                             "status": "success", "amount": "1000", "reason": null}]
            }))
        };
        assert_eq!(key(&payout(serde_json::json!("FT1")), true), "p:VBA:FT1");
        assert_eq!(
            key(&payout(serde_json::Value::Null), false),
            "p:VBA:row:12@kq.csv"
        );
        for r in [
            plain,
            legacy,
            across,
            invalid,
            payout(serde_json::Value::Null),
        ] {
            let k = key(&r, true);
            assert_eq!(ExceptionKey::parse(&k).map(|p| p.to_string()), Ok(k));
        }
    }
}
