//! Arrears (truy lĩnh): what earlier periods' approved runs left unpaid (unpaid, failed,
//! returned, the rest of an underpayment), owed to people in this period on top of the
//! month's own amount. A payment goes to the month first, then to the arrears: a person
//! paid their month plus up to what they are owed is matched, not overpaid, and only the
//! month's part counts in the month's own figures.

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use super::Reconciliation;
use super::previous::person_key;
use crate::domain::records::ListRows;

/// What is owed to each person, by person key (`previous::person_key`), and where: each
/// carry-over is for a unit's subtree (its run's), and pays only a listing there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrears {
    owed: FxHashMap<u64, Vec<(String, Decimal)>>,
}

impl Arrears {
    /// `amount` more owed to the person with `key`, to be paid where a list of `scope`'s
    /// subtree has them (several carry-overs add up).
    pub fn add(&mut self, key: u64, scope: &str, amount: Decimal) {
        if amount <= Decimal::ZERO {
            return;
        }
        let entries = self.owed.entry(key).or_default();
        match entries.iter_mut().find(|(s, _)| s == scope) {
            Some((_, a)) => *a += amount,
            None => entries.push((scope.to_owned(), amount)),
        }
    }

    /// What the person with `key` is owed where they are listed in `unit` (None: a list
    /// that names no units, as the CLI's: everywhere).
    pub fn owed(&self, key: u64, unit: Option<&str>) -> Decimal {
        let Some(entries) = self.owed.get(&key) else {
            return Decimal::ZERO;
        };
        let tree = crate::domain::units::shipped_tree();
        entries
            .iter()
            .filter(|(scope, _)| unit.is_none_or(|u| tree.is_within(u, scope)))
            .map(|(_, a)| *a)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.owed.is_empty()
    }

    pub fn len(&self) -> usize {
        self.owed.len()
    }
}

/// The part of `paid` that goes to arrears: what is left after the month's `due`, up to
/// what is `owed`.
pub fn arrears_paid(due: Decimal, paid: Decimal, owed: Decimal) -> Decimal {
    (paid - due).max(Decimal::ZERO).min(owed.max(Decimal::ZERO))
}

/// Where a person owed arrears stands in a reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    /// Their beneficiary (the first listing), when a current list has them.
    pub beneficiary: Option<u32>,
    /// What their payments put towards the arrears.
    pub paid: Decimal,
}

/// For each person key in `keys`, where they stand: one pass over the people (only when
/// anything is owed).
pub fn settled<L: ListRows + ?Sized>(
    list: &L,
    recon: &Reconciliation,
    keys: &[u64],
) -> FxHashMap<u64, Settled> {
    let mut out: FxHashMap<u64, Settled> = keys
        .iter()
        .map(|&k| {
            (
                k,
                Settled {
                    beneficiary: None,
                    paid: Decimal::ZERO,
                },
            )
        })
        .collect();
    if out.is_empty() {
        return out;
    }
    for (b, person) in recon.beneficiaries.iter().enumerate() {
        let Some(key) = person_key(list.id(person.row as usize)) else {
            continue;
        };
        if let Some(s) = out.get_mut(&key) {
            s.beneficiary.get_or_insert(b as u32);
            s.paid += recon.arrears_paid(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_first_then_the_arrears() {
        let d = |v: i64| Decimal::from(v);
        assert_eq!(arrears_paid(d(1000), d(0), d(500)), d(0));
        assert_eq!(arrears_paid(d(1000), d(800), d(500)), d(0), "month short");
        assert_eq!(arrears_paid(d(1000), d(1000), d(500)), d(0));
        assert_eq!(arrears_paid(d(1000), d(1200), d(500)), d(200));
        assert_eq!(arrears_paid(d(1000), d(1500), d(500)), d(500));
        assert_eq!(
            arrears_paid(d(1000), d(2500), d(500)),
            d(500),
            "the rest overpaid"
        );
        assert_eq!(arrears_paid(d(1000), d(2500), d(0)), d(0));
    }

    #[test]
    fn carry_overs_add_up_where_they_were_made() {
        let mut a = Arrears::default();
        a.add(7, "01", Decimal::from(300));
        a.add(7, "01", Decimal::from(200));
        a.add(7, "00004", Decimal::from(50));
        a.add(8, "VN", Decimal::ZERO);
        assert_eq!(
            a.owed(7, Some("00004")),
            Decimal::from(550),
            "Ba Đình is in Hà Nội"
        );
        assert_eq!(
            a.owed(7, Some("00008")),
            Decimal::from(500),
            "Ngọc Hà: Hà Nội's only"
        );
        assert_eq!(
            a.owed(7, Some("79")),
            Decimal::ZERO,
            "another province's list"
        );
        assert_eq!(a.owed(7, None), Decimal::from(550), "a list without units");
        assert_eq!(a.owed(8, None), Decimal::ZERO);
        assert_eq!(a.len(), 1);
    }
}
