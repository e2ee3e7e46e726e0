//! A reconciliation's figures as cells that add up: one per (unit, commune, category,
//! bank) of the people, one per (unit, bank) of the payouts that link to nobody. Every
//! figure of a report (totals, by commune, category, bank and unit, of any subtree) is a
//! sum of cells, so a period's live figures can be kept as cells and only the cells a
//! change touches recomputed (the service's live figures).

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::types::{Coverage, Flag, Outcome, Reconciliation, bank_and_unit_slices};
use crate::domain::banks::BankId;
use crate::domain::names;
use crate::domain::records::{ListRows, PayoutRows};

/// People, or payouts to nobody (kept apart: only people count in communes and categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CellKind {
    People,
    Unmatched,
}

/// What a cell is of. Commune and category are folded (`names::fold`): one slice however
/// a list spells them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub kind: CellKind,
    pub unit: Option<String>,
    pub commune: Option<String>,
    pub category: Option<String>,
    pub bank: Option<BankId>,
}

/// One cell's figures, with the spellings its first person used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub commune_text: Option<String>,
    pub category_text: Option<String>,
    /// The position (in the period's lists, in order) of the first person counted here: a
    /// slice is named as its first person spells it. Never raised when people leave (they
    /// stay in their commune and category, so each slice's first stays right).
    pub first: u64,
    pub coverage: Coverage,
}

pub type Cells = HashMap<CellKey, Cell>;

/// Add `cell` into `cells` at `key`.
pub fn add_cell(cells: &mut Cells, key: CellKey, cell: Cell) {
    match cells.get_mut(&key) {
        Some(c) => {
            c.coverage.merge(&cell.coverage);
            if cell.first < c.first {
                c.first = cell.first;
                c.commune_text = cell.commune_text;
                c.category_text = cell.category_text;
            }
        }
        None => {
            cells.insert(key, cell);
        }
    }
}

/// The cells of a reconciliation; `position(r)` is list row `r`'s place in the period's
/// lists (the order people are first seen).
pub fn cells_of<L, P>(
    list: &L,
    payouts: &P,
    recon: &Reconciliation,
    position: impl Fn(usize) -> u64,
) -> Cells
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let mut cells = Cells::new();
    let text = |s: Option<&str>| {
        s.filter(|s| !s.trim().is_empty())
            .map(|s| (names::fold(s), s.trim().to_owned()))
    };
    for (b, person) in recon.beneficiaries.iter().enumerate() {
        let row = person.row as usize;
        let commune = text(list.commune(row));
        let category = text(list.category(row));
        let mut coverage = Coverage::default();
        coverage.count_beneficiary(person);
        coverage.amount_due = recon.amount_due(b);
        if person.has_account {
            coverage.amount_due_cashless = coverage.amount_due;
        }
        coverage.amount_paid = recon.amount_paid(b);
        let key = CellKey {
            kind: CellKind::People,
            unit: list.unit(row).map(str::to_owned),
            commune: commune.as_ref().map(|c| c.0.clone()),
            category: category.as_ref().map(|c| c.0.clone()),
            bank: person.bank,
        };
        add_cell(
            &mut cells,
            key,
            Cell {
                commune_text: commune.map(|c| c.1),
                category_text: category.map(|c| c.1),
                first: position(row),
                coverage,
            },
        );
    }
    for (i, link) in recon.payout_links.iter().enumerate() {
        if !link.is_unmatched() {
            continue;
        }
        let mut coverage = Coverage::default();
        coverage.add_unmatched(payouts.amount(i), recon.payout_flags(i));
        let key = CellKey {
            kind: CellKind::Unmatched,
            unit: payouts.unit(i).map(str::to_owned),
            commune: None,
            category: None,
            bank: Some(payouts.bank(i)),
        };
        add_cell(
            &mut cells,
            key,
            Cell {
                commune_text: None,
                category_text: None,
                first: u64::MAX,
                coverage,
            },
        );
    }
    cells
}

/// `base + new - old`, cell by cell, empty cells dropped. None when `old` holds more than
/// `base` (cells that do not describe the same inputs: recompute in full).
pub fn apply_delta(base: &mut Cells, old: &Cells, new: Cells) -> Option<()> {
    for (key, cell) in new {
        add_cell(base, key, cell);
    }
    for (key, cell) in old {
        let c = base.get_mut(key)?;
        c.coverage = subtract(&c.coverage, &cell.coverage)?;
        if c.coverage == Coverage::default() {
            base.remove(key);
        }
    }
    Some(())
}

fn subtract(a: &Coverage, b: &Coverage) -> Option<Coverage> {
    let mut out = Coverage {
        beneficiaries: a.beneficiaries.checked_sub(b.beneficiaries)?,
        with_account: a.with_account.checked_sub(b.with_account)?,
        paid_cashless: a.paid_cashless.checked_sub(b.paid_cashless)?,
        amount_due: a.amount_due - b.amount_due,
        amount_due_cashless: a.amount_due_cashless - b.amount_due_cashless,
        amount_paid: a.amount_paid - b.amount_paid,
        ..Coverage::default()
    };
    for o in Outcome::ALL {
        out.outcomes
            .set(o, a.outcomes.get(o).checked_sub(b.outcomes.get(o))?);
    }
    for f in Flag::ALL {
        out.flags
            .set(f, a.flags.get(f).checked_sub(b.flags.get(f))?);
    }
    out.unmatched_payouts.count = a
        .unmatched_payouts
        .count
        .checked_sub(b.unmatched_payouts.count)?;
    out.unmatched_payouts.amount = a.unmatched_payouts.amount - b.unmatched_payouts.amount;
    Some(out)
}

/// Flags stored in their place among the figures (the first of `Flag::ALL`); the flags
/// added later (`linked_manually`, `paid_in_cash`, by migration 0022) follow the amount due
/// to account holders, so cells stored before them still read (as 0).
const FLAGS_IN_PLACE: usize = 9;

/// A cell's coverage as stored: its numbers separated by spaces (counts, the two amounts
/// exact, outcomes and flags in their `ALL` order, then the unmatched count and amount, then
/// the amount due to account holders: added last, by migration 0014, which dropped the cells
/// kept before it; then the flags added after it).
pub fn encode(c: &Coverage) -> String {
    let mut parts: Vec<String> = vec![
        c.beneficiaries.to_string(),
        c.with_account.to_string(),
        c.paid_cashless.to_string(),
        c.amount_due.normalize().to_string(),
        c.amount_paid.normalize().to_string(),
    ];
    parts.extend(Outcome::ALL.iter().map(|o| c.outcomes.get(*o).to_string()));
    let (in_place, later) = Flag::ALL.split_at(FLAGS_IN_PLACE);
    parts.extend(in_place.iter().map(|f| c.flags.get(*f).to_string()));
    parts.push(c.unmatched_payouts.count.to_string());
    parts.push(c.unmatched_payouts.amount.normalize().to_string());
    parts.push(c.amount_due_cashless.normalize().to_string());
    parts.extend(later.iter().map(|f| c.flags.get(*f).to_string()));
    parts.join(" ")
}

/// `encode`'s text back; None when it is not that. Flags added after the first 9 follow
/// the amount due to account holders, in `Flag::ALL` order and only ever appended: cells
/// stored before a flag existed read with 0 for it (what they held).
pub fn decode(s: &str) -> Option<Coverage> {
    let parts: Vec<&str> = s.split(' ').collect();
    let before_later = 5 + Outcome::ALL.len() + FLAGS_IN_PLACE + 3;
    let later_stored = parts.len().checked_sub(before_later)?;
    if later_stored > Flag::ALL.len() - FLAGS_IN_PLACE {
        return None;
    }
    let count = |i: usize| parts.get(i)?.parse::<u64>().ok();
    let amount = |i: usize| parts.get(i)?.parse::<Decimal>().ok();
    let mut c = Coverage {
        beneficiaries: count(0)?,
        with_account: count(1)?,
        paid_cashless: count(2)?,
        amount_due: amount(3)?,
        amount_paid: amount(4)?,
        ..Coverage::default()
    };
    let outcomes = 5;
    for (k, o) in Outcome::ALL.into_iter().enumerate() {
        c.outcomes.set(o, count(outcomes + k)?);
    }
    let flags = outcomes + Outcome::ALL.len();
    let (in_place, later) = Flag::ALL.split_at(FLAGS_IN_PLACE);
    for (k, f) in in_place.iter().enumerate() {
        c.flags.set(*f, count(flags + k)?);
    }
    let tail = flags + FLAGS_IN_PLACE;
    c.unmatched_payouts.count = count(tail)?;
    c.unmatched_payouts.amount = amount(tail + 1)?;
    c.amount_due_cashless = amount(tail + 2)?;
    for (k, f) in later.iter().take(later_stored).enumerate() {
        c.flags.set(*f, count(before_later + k)?);
    }
    Some(c)
}

/// The figures a set of cells adds up to, as the engine's step 6 makes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summed {
    pub totals: Coverage,
    pub by_commune: Vec<super::types::Slice<String>>,
    pub by_category: Vec<super::types::Slice<String>>,
    pub by_bank: Vec<super::types::Slice<BankId>>,
    pub by_unit: Vec<super::types::Slice<String>>,
}

/// Sum `cells` (those of one scope) into totals and slices, in the engine's orders.
pub fn sum<'c>(cells: impl IntoIterator<Item = (&'c CellKey, &'c Cell)>) -> Summed {
    use super::types::Slice;
    // Text slices: by folded key, named as their first person spells them.
    type Named = HashMap<Option<String>, (u64, Option<String>, Coverage)>;
    let mut totals = Coverage::default();
    let mut communes: Named = HashMap::new();
    let mut categories: Named = HashMap::new();
    let mut banks: HashMap<Option<BankId>, Coverage> = HashMap::new();
    let mut units: HashMap<Option<String>, Coverage> = HashMap::new();
    let named = |slices: &mut Named, key: &Option<String>, text: &Option<String>, c: &Cell| {
        let e = slices
            .entry(key.clone())
            .or_insert_with(|| (u64::MAX, None, Coverage::default()));
        e.2.merge(&c.coverage);
        if c.first < e.0 {
            e.0 = c.first;
            e.1 = text.clone();
        }
    };
    for (key, cell) in cells {
        totals.merge(&cell.coverage);
        banks.entry(key.bank).or_default().merge(&cell.coverage);
        units
            .entry(key.unit.clone())
            .or_default()
            .merge(&cell.coverage);
        if key.kind == CellKind::People {
            named(&mut communes, &key.commune, &cell.commune_text, cell);
            named(&mut categories, &key.category, &cell.category_text, cell);
        }
    }
    let text_slices = |slices: Named| {
        let mut v: Vec<(Option<String>, Slice<String>)> = slices
            .into_iter()
            .map(|(fold, (_, text, coverage))| {
                (
                    fold,
                    Slice {
                        key: text,
                        coverage,
                    },
                )
            })
            .collect();
        v.sort_by(|a, b| (a.0.is_none(), &a.0, &a.1.key).cmp(&(b.0.is_none(), &b.0, &b.1.key)));
        v.into_iter().map(|(_, s)| s).collect()
    };
    let (by_bank, by_unit) = bank_and_unit_slices(banks, units);
    Summed {
        totals,
        by_commune: text_slices(communes),
        by_category: text_slices(categories),
        by_bank,
        by_unit,
    }
}

pub use crate::domain::records::LinkKey;

/// The keys list row `r` links through.
pub fn list_keys<L: ListRows + ?Sized>(list: &L, r: usize, mut out: impl FnMut(LinkKey)) {
    use crate::domain::records::IdRef;
    match list.id(r) {
        IdRef::Valid(p) => out(LinkKey::Person(p.to_string())),
        IdRef::Legacy(s) => out(LinkKey::Person(s.to_owned())),
        _ => {}
    }
    if let Some(a) = list.account(r) {
        out(LinkKey::Account(super::types::account_key(a).to_owned()));
    }
}

/// The keys payout `i` links through.
pub fn payout_keys<P: PayoutRows + ?Sized>(payouts: &P, i: usize, mut out: impl FnMut(LinkKey)) {
    use crate::domain::records::IdRef;
    match payouts.id(i) {
        IdRef::Valid(p) => out(LinkKey::Person(p.to_string())),
        _ => {
            if let Some(a) = payouts.account(i) {
                out(LinkKey::Account(super::types::account_key(a).to_owned()));
            }
        }
    }
    if let Some(r) = payouts.reference(i) {
        out(LinkKey::Reference(
            payouts.bank(i).code().to_owned(),
            r.to_owned(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::attributed::InUnits;
    use crate::domain::population_id::IdCheck;
    use crate::domain::records::{BeneficiaryRow, PayoutOrigin, PayoutRow, RowRef};
    use crate::domain::status::PayoutStatus;
    use crate::recon::{Options, reconcile};

    const BANKS: [&str; 3] = ["Agribank", "Vietcombank", "BIDV"];
    const UNITS: [&str; 3] = ["00004", "00008", "01"];
    const COMMUNES: [&str; 4] = ["Xã Tân Lập", "xã tân lập ", "Phường Ba Đình", ""];

    fn id(k: u8) -> IdCheck {
        match k {
            0..=7 => IdCheck::from_text(&format!("00109000000{k}"), 2026),
            8 => IdCheck::from_text("123456789", 2026),
            9 => IdCheck::from_text("12AB", 2026),
            _ => IdCheck::Missing,
        }
    }

    fn account(k: u8) -> Option<String> {
        match k {
            0..=3 => Some(format!("42000{k}")),
            4..=5 => Some(format!("4200{}", k - 4)),
            _ => None,
        }
    }

    fn bank(k: u8) -> crate::domain::banks::BankId {
        crate::domain::banks::BankId::resolve(BANKS[k as usize % 3]).unwrap_or_else(|| {
            panic!("bank {k}");
        })
    }

    type ListSpec = (u8, u8, u8, u8, u8, u8, i64);
    type PayoutSpec = (u8, u8, u8, u8, u8, u8, i64);

    fn list_row((i, a, b, c, cat, _, due): ListSpec) -> BeneficiaryRow {
        BeneficiaryRow {
            source: RowRef::new(Arc::from("list"), 1),
            id: id(i),
            name: "Nguyễn Văn An".into(),
            amount_due: Decimal::from(due),
            account: account(a),
            bank: (b < 3).then(|| bank(b)),
            birth: None,
            sex: None,
            category: Some(
                ["Người cao tuổi", "người cao tuổi", "Khuyết tật"][cat as usize % 3].into(),
            ),
            commune: Some(COMMUNES[c as usize % 4].into()),
        }
    }

    fn payout((i, a, b, r, s, origin, amount): PayoutSpec) -> PayoutRow {
        PayoutRow {
            source: RowRef::new(Arc::from("bank"), 1),
            bank: bank(b),
            reference: (r < 5).then(|| format!("FT{r}")),
            id: id(i),
            account: account(a),
            name: None,
            amount: Decimal::from(amount),
            status: [
                PayoutStatus::Success,
                PayoutStatus::Failed,
                PayoutStatus::Returned,
            ][s as usize % 3],
            value_date: None,
            reason: None,
            origin: if origin == 0 {
                PayoutOrigin::Callback
            } else {
                PayoutOrigin::File
            },
        }
    }

    /// A period: lists by unit, payout sources (files, then callbacks) by unit.
    #[derive(Debug, Clone)]
    struct Period {
        lists: Vec<(usize, Vec<ListSpec>)>,
        payouts: Vec<(usize, Vec<PayoutSpec>)>,
    }

    fn period() -> impl Strategy<Value = Period> {
        let l = (0u8..11, 0u8..7, 0u8..4, 0u8..4, 0u8..3, 0u8..1, 1i64..4);
        let p = (0u8..11, 0u8..7, 0u8..3, 0u8..7, 0u8..3, 0u8..2, 1i64..4);
        (
            proptest::collection::vec((0usize..3, proptest::collection::vec(l, 0..8)), 1..4),
            proptest::collection::vec((0usize..3, proptest::collection::vec(p, 0..8)), 0..3),
        )
            .prop_map(|(lists, payouts)| Period { lists, payouts })
    }

    /// The period's rows, only those `keep` lets through (by source and index), every
    /// source kept (an empty one where none of its rows is), with each kept list row's
    /// position in the whole period.
    fn rows(
        p: &Period,
        keep_list: &dyn Fn(usize, usize) -> bool,
        keep_payout: &dyn Fn(usize, usize) -> bool,
    ) -> (
        InUnits<Vec<BeneficiaryRow>>,
        InUnits<Vec<PayoutRow>>,
        Vec<u64>,
    ) {
        let mut list = InUnits::new();
        let mut positions = Vec::new();
        for (s, (unit, specs)) in p.lists.iter().enumerate() {
            let mut rows = Vec::new();
            for (r, spec) in specs.iter().enumerate() {
                if keep_list(s, r) {
                    rows.push(list_row(*spec));
                    positions.push(((s as u64) << 32) | r as u64);
                }
            }
            list.push_source(rows, |_| UNITS[*unit]);
        }
        let mut payouts = InUnits::new();
        for (s, (unit, specs)) in p.payouts.iter().enumerate() {
            let rows = specs
                .iter()
                .enumerate()
                .filter(|(i, _)| keep_payout(s, *i))
                .map(|(_, spec)| payout(*spec))
                .collect();
            payouts.push_source(rows, |_| UNITS[*unit]);
        }
        (list, payouts, positions)
    }

    fn period_cells(
        p: &Period,
        keep_list: &dyn Fn(usize, usize) -> bool,
        keep_payout: &dyn Fn(usize, usize) -> bool,
    ) -> Cells {
        let (list, payouts, positions) = rows(p, keep_list, keep_payout);
        let recon = reconcile(&list, &payouts, &Options::default());
        cells_of(&list, &payouts, &recon, |r| positions[r])
    }

    /// Each row's component: rows sharing a link key, transitively.
    fn components(p: &Period) -> BTreeMap<(bool, usize, usize), usize> {
        let (list, payouts, _) = rows(p, &|_, _| true, &|_, _| true);
        let mut parent: Vec<usize> = (0..list.len() + payouts.len()).collect();
        fn find(parent: &mut [usize], x: usize) -> usize {
            let mut x = x;
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        let mut owner: std::collections::HashMap<LinkKey, usize> = Default::default();
        let mut link = |parent: &mut Vec<usize>, node: usize, key: LinkKey| {
            let other = *owner.entry(key).or_insert(node);
            let (a, b) = (find(parent, node), find(parent, other));
            parent[a] = b;
        };
        for r in 0..list.len() {
            list_keys(&list, r, |k| link(&mut parent, r, k));
        }
        for i in 0..payouts.len() {
            payout_keys(&payouts, i, |k| link(&mut parent, list.len() + i, k));
        }
        let mut out = BTreeMap::new();
        let mut node = 0;
        for (s, (_, specs)) in p.lists.iter().enumerate() {
            for r in 0..specs.len() {
                out.insert((true, s, r), find(&mut parent, node));
                node += 1;
            }
        }
        for (s, (_, specs)) in p.payouts.iter().enumerate() {
            for i in 0..specs.len() {
                out.insert((false, s, i), find(&mut parent, node));
                node += 1;
            }
        }
        out
    }

    fn summed(cells: &Cells, scope: Option<&str>) -> Summed {
        sum(cells
            .iter()
            .filter(|(k, _)| scope.is_none() || k.unit.as_deref() == scope))
    }

    proptest! {
        /// Cells add up to the engine's own figures, for the whole period and for one unit.
        #[test]
        fn cells_sum_to_the_engines_figures(p in period()) {
            let (list, payouts, positions) = rows(&p, &|_, _| true, &|_, _| true);
            let recon = reconcile(&list, &payouts, &Options::default());
            let cells = cells_of(&list, &payouts, &recon, |r| positions[r]);
            let s = summed(&cells, None);
            prop_assert_eq!(&s.totals, &recon.totals);
            prop_assert_eq!(&s.by_commune, &recon.by_commune);
            prop_assert_eq!(&s.by_category, &recon.by_category);
            prop_assert_eq!(&s.by_bank, &recon.by_bank);
            prop_assert_eq!(&s.by_unit, &recon.by_unit);
            let unit = UNITS[0];
            let keep = |u: Option<&str>| u == Some(unit);
            let scoped = recon.clone().scoped(&list, &payouts, &keep);
            let s = summed(&cells, Some(unit));
            prop_assert_eq!(&s.totals, &scoped.totals);
            prop_assert_eq!(&s.by_commune, &scoped.by_commune);
            prop_assert_eq!(&s.by_bank, &scoped.by_bank);
        }

        /// Components reconciled apart give the cells of the whole: what the live figures
        /// rely on to recompute only what a change touches.
        #[test]
        fn components_reconcile_apart_as_in_the_whole(p in period()) {
            let whole = period_cells(&p, &|_, _| true, &|_, _| true);
            let comps = components(&p);
            let mut parts = Cells::new();
            let ids: std::collections::BTreeSet<usize> = comps.values().copied().collect();
            for c in ids {
                let part = period_cells(
                    &p,
                    &|s, r| comps[&(true, s, r)] == c,
                    &|s, i| comps[&(false, s, i)] == c,
                );
                for (k, cell) in part {
                    add_cell(&mut parts, k, cell);
                }
            }
            prop_assert_eq!(summed(&parts, None), summed(&whole, None));
            prop_assert_eq!(parts, whole);
        }

        /// A change applied as old and new cells of the components it touches gives the
        /// figures of the changed period.
        #[test]
        fn a_delta_gives_the_changed_periods_figures(p in period(), flip in 0usize..64, status in 0u8..3) {
            let mut changed = Period { lists: p.lists.clone(), payouts: p.payouts.clone() };
            let all: Vec<(usize, usize)> = changed.payouts.iter().enumerate()
                .flat_map(|(s, (_, v))| (0..v.len()).map(move |i| (s, i))).collect();
            if all.is_empty() {
                return Ok(());
            }
            let (s, i) = all[flip % all.len()];
            changed.payouts[s].1[i].4 = status;
            let comps = components(&p);
            let c = comps[&(false, s, i)];
            let in_c_list = |s: usize, r: usize| comps[&(true, s, r)] == c;
            let in_c_payout = |s: usize, i: usize| comps[&(false, s, i)] == c;
            let old = period_cells(&p, &in_c_list, &in_c_payout);
            let new = period_cells(&changed, &in_c_list, &in_c_payout);
            let mut cells = period_cells(&p, &|_, _| true, &|_, _| true);
            prop_assert!(apply_delta(&mut cells, &old, new).is_some());
            let want = period_cells(&changed, &|_, _| true, &|_, _| true);
            prop_assert_eq!(summed(&cells, None), summed(&want, None));
            prop_assert_eq!(summed(&cells, Some(UNITS[1])), summed(&want, Some(UNITS[1])));
        }

        #[test]
        fn coverage_text_round_trips(n in proptest::collection::vec(0u64..1_000_000, 30), frac in 0i64..100) {
            let mut c = Coverage {
                beneficiaries: n[0], with_account: n[1], paid_cashless: n[2],
                amount_due: Decimal::new(n[3] as i64 * 100 + frac, 2),
                amount_paid: Decimal::from(n[4]),
                ..Coverage::default()
            };
            for (k, o) in Outcome::ALL.into_iter().enumerate() { c.outcomes.set(o, n[5 + k]); }
            let flags = Flag::ALL.len();
            for (k, f) in Flag::ALL.into_iter().enumerate() { c.flags.set(f, n[14 + k]); }
            c.unmatched_payouts.count = n[14 + flags];
            c.unmatched_payouts.amount = Decimal::new(n[15 + flags] as i64, 1);
            c.amount_due_cashless = Decimal::new(n[16 + flags] as i64 * 100 + frac, 2);
            prop_assert_eq!(decode(&encode(&c)), Some(c.clone()));
            // As stored before the later flags (9, then 11): they read as 0.
            let text = encode(&c);
            for kept in [9, 11] {
                let mut old = c.clone();
                for f in Flag::ALL.into_iter().skip(kept) { old.flags.set(f, 0); }
                let short: Vec<&str> = text.split(' ').take(26 + kept - 9).collect();
                prop_assert_eq!(decode(&short.join(" ")), Some(old));
            }
        }
    }
}
