//! The reconciliation engine: a pure function of typed rows.

use std::collections::hash_map::Entry;

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use super::types::*;
use crate::domain::banks::BankId;
use crate::domain::names;
use crate::domain::population_id::IdCheck;
use crate::domain::records::{BeneficiaryRow, PayoutRow};
use crate::domain::status::PayoutStatus;

/// Legacy CMNDs share the grouping map with 12-digit IDs; this offset keeps their keys apart.
const LEGACY_KEY_OFFSET: u64 = 1 << 41;

fn person_key(id: &IdCheck) -> Option<u64> {
    match id {
        IdCheck::Valid(p) => Some(p.value()),
        IdCheck::Legacy(s) => s.parse::<u64>().ok().map(|n| n + LEGACY_KEY_OFFSET),
        _ => None,
    }
}

/// Account numbers compare without spaces and leading zeros: a list typed in Excel as a
/// number lost them, the bank's file did not.
fn account_key(a: &str) -> &str {
    let t = a.trim_start_matches('0');
    if t.is_empty() { a } else { t }
}

#[derive(Clone, Copy)]
enum AccountSlot {
    One(u32),
    Ambiguous,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    paid: Decimal,
    successes: u32,
    failed: bool,
    returned: bool,
    any: bool,
    paying_bank: Option<BankId>,
}

/// Reconcile a beneficiary list with bank payouts.
///
/// Rows with the same ID are one person; each payout links to at most one person, by ID,
/// or by (bank, account) when the payout carries no usable ID. Later payouts with the same
/// (bank, reference) supersede earlier ones: a bank reports a transaction's latest state.
pub fn reconcile(
    list: &[BeneficiaryRow],
    payouts: &[PayoutRow],
    options: &Options,
) -> Reconciliation {
    // 1. One beneficiary per person.
    let mut by_person: FxHashMap<u64, u32> = FxHashMap::default();
    by_person.reserve(list.len());
    let mut people: Vec<BeneficiaryResult> = Vec::with_capacity(list.len());
    for (i, row) in list.iter().enumerate() {
        let i = i as u32;
        if let Some(key) = person_key(&row.id) {
            match by_person.entry(key) {
                Entry::Occupied(e) => {
                    let b = &mut people[*e.get() as usize];
                    b.extra_rows.push(i);
                    b.amount_due += row.amount_due;
                    b.flags.insert(Flag::DuplicateRow);
                    continue;
                }
                Entry::Vacant(e) => {
                    e.insert(people.len() as u32);
                }
            }
        }
        let mut flags = Flags::default();
        match &row.id {
            IdCheck::Invalid { .. } | IdCheck::Missing => flags.insert(Flag::InvalidId),
            IdCheck::Legacy(_) => flags.insert(Flag::LegacyId),
            IdCheck::Valid(_) => {
                if row.id.disagrees_with(row.birth.map(|b| b.year()), row.sex) {
                    flags.insert(Flag::IdDobMismatch);
                }
            }
        }
        people.push(BeneficiaryResult {
            row: i,
            extra_rows: Vec::new(),
            outcome: Outcome::Unpaid,
            flags,
            amount_due: row.amount_due,
            amount_paid: Decimal::ZERO,
            has_account: false,
            paid_cashless: false,
            bank: row.bank,
        });
    }

    // 2. The latest state of each bank transaction.
    let mut payout_links = vec![PayoutLink::Unmatched; payouts.len()];
    {
        let mut last_by_ref: FxHashMap<(BankId, &str), u32> = FxHashMap::default();
        for (i, p) in payouts.iter().enumerate() {
            let Some(r) = p.reference.as_deref() else {
                continue;
            };
            if let Some(prev) = last_by_ref.insert((p.bank, r), i as u32) {
                payout_links[prev as usize] = PayoutLink::Superseded { by: i as u32 };
            }
        }
    }

    // 3. Link payouts to people.
    let mut accounts: Option<FxHashMap<&str, AccountSlot>> = None;
    let mut tallies = vec![Tally::default(); people.len()];
    for (i, p) in payouts.iter().enumerate() {
        if matches!(payout_links[i], PayoutLink::Superseded { .. }) {
            continue;
        }
        let (target, by_account) = match &p.id {
            IdCheck::Valid(id) => (by_person.get(&id.value()).copied(), false),
            _ => {
                let index = accounts.get_or_insert_with(|| account_index(list, &people));
                let hit = p
                    .account
                    .as_deref()
                    .and_then(|a| match index.get(account_key(a)) {
                        Some(AccountSlot::One(b)) => Some(*b),
                        _ => None,
                    });
                // The bank must agree when the list names one.
                let hit = hit.filter(|b| {
                    list[people[*b as usize].row as usize]
                        .bank
                        .is_none_or(|lb| lb == p.bank)
                });
                (hit, true)
            }
        };
        let Some(b) = target else { continue };
        payout_links[i] = PayoutLink::Beneficiary(b);
        let person = &mut people[b as usize];
        let row = &list[person.row as usize];
        if by_account {
            person.flags.insert(Flag::LinkedByAccount);
        } else if differs(row, p) {
            person.flags.insert(Flag::AccountMismatch);
        }
        if let Some(name) = p.name.as_deref()
            && !name.trim().is_empty()
            && name != row.name
            && !names::names_match(name, &row.name)
        {
            person.flags.insert(Flag::NameMismatch);
        }
        let t = &mut tallies[b as usize];
        t.any = true;
        match p.status {
            PayoutStatus::Success => {
                t.paid += p.amount;
                t.successes += 1;
                t.paying_bank.get_or_insert(p.bank);
            }
            PayoutStatus::Failed => t.failed = true,
            PayoutStatus::Returned => t.returned = true,
        }
    }

    // 4. Outcomes.
    for (b, t) in people.iter_mut().zip(&tallies) {
        let listed_account = list[b.row as usize].account.is_some();
        b.amount_paid = t.paid;
        b.paid_cashless = t.successes > 0;
        b.has_account = listed_account || b.paid_cashless;
        if b.bank.is_none() {
            b.bank = t.paying_bank;
        }
        b.outcome = outcome(b.amount_due, t, listed_account, options.tolerance);
    }

    // 5. CSR index person -> payouts, for exception listings.
    let mut payout_offsets = vec![0u32; people.len() + 1];
    for l in &payout_links {
        if let PayoutLink::Beneficiary(b) = l {
            payout_offsets[*b as usize + 1] += 1;
        }
    }
    for i in 1..payout_offsets.len() {
        payout_offsets[i] += payout_offsets[i - 1];
    }
    let mut fill = payout_offsets.clone();
    let mut payout_index = vec![0u32; payout_offsets.last().copied().unwrap_or(0) as usize];
    for (i, l) in payout_links.iter().enumerate() {
        if let PayoutLink::Beneficiary(b) = l {
            let slot = &mut fill[*b as usize];
            payout_index[*slot as usize] = i as u32;
            *slot += 1;
        }
    }

    // 6. Figures, overall and by slice.
    let mut totals = Coverage::default();
    let mut communes = Slicer::default();
    let mut categories = Slicer::default();
    let mut banks: FxHashMap<Option<BankId>, Coverage> = FxHashMap::default();
    for b in &people {
        totals.add_beneficiary(b);
        let row = &list[b.row as usize];
        communes.slot(row.commune.as_deref()).add_beneficiary(b);
        categories.slot(row.category.as_deref()).add_beneficiary(b);
        banks.entry(b.bank).or_default().add_beneficiary(b);
    }
    for (p, l) in payouts.iter().zip(&payout_links) {
        if matches!(l, PayoutLink::Unmatched) {
            totals.add_unmatched(p.amount);
            banks
                .entry(Some(p.bank))
                .or_default()
                .add_unmatched(p.amount);
        }
    }
    let mut by_bank: Vec<Slice<BankId>> = banks
        .into_iter()
        .map(|(key, coverage)| Slice { key, coverage })
        .collect();
    by_bank.sort_by_key(|s| (s.key.is_none(), s.key.map(|k| k.short_name())));

    Reconciliation {
        beneficiaries: people,
        payout_links,
        totals,
        by_commune: communes.finish(),
        by_category: categories.finish(),
        by_bank,
        options: options.clone(),
        payout_offsets,
        payout_index,
    }
}

fn differs(row: &BeneficiaryRow, p: &PayoutRow) -> bool {
    let bank_differs = row.bank.is_some_and(|b| b != p.bank);
    let account_differs = match (row.account.as_deref(), p.account.as_deref()) {
        (Some(a), Some(b)) => account_key(a) != account_key(b),
        _ => false,
    };
    bank_differs || account_differs
}

fn account_index<'a>(
    list: &'a [BeneficiaryRow],
    people: &[BeneficiaryResult],
) -> FxHashMap<&'a str, AccountSlot> {
    let mut index: FxHashMap<&str, AccountSlot> = FxHashMap::default();
    for (b, person) in people.iter().enumerate() {
        let Some(acct) = list[person.row as usize].account.as_deref() else {
            continue;
        };
        index
            .entry(account_key(acct))
            .and_modify(|slot| {
                // Two people sharing an account: linking by it would guess.
                if !matches!(slot, AccountSlot::One(x) if *x == b as u32) {
                    *slot = AccountSlot::Ambiguous;
                }
            })
            .or_insert(AccountSlot::One(b as u32));
    }
    index
}

fn outcome(due: Decimal, t: &Tally, listed_account: bool, tolerance: Decimal) -> Outcome {
    if t.successes > 0 {
        let diff = t.paid - due;
        if diff.abs() <= tolerance {
            Outcome::Matched
        } else if t.successes >= 2
            && !due.is_zero()
            && (t.paid % due).is_zero()
            && t.paid / due >= Decimal::TWO
        {
            Outcome::Duplicate
        } else if diff.is_sign_negative() {
            Outcome::Underpaid
        } else {
            Outcome::Overpaid
        }
    } else if t.returned {
        Outcome::Returned
    } else if t.failed {
        Outcome::Failed
    } else if listed_account {
        Outcome::Unpaid
    } else {
        Outcome::NoAccount
    }
}

/// Groups by a text key, in first-seen order, then sorts by the folded key.
#[derive(Default)]
struct Slicer<'a> {
    index: FxHashMap<Option<&'a str>, usize>,
    slices: Vec<(Option<&'a str>, Coverage)>,
}

impl<'a> Slicer<'a> {
    fn slot(&mut self, key: Option<&'a str>) -> &mut Coverage {
        let key = key.filter(|k| !k.trim().is_empty());
        let i = *self.index.entry(key).or_insert_with(|| {
            self.slices.push((key, Coverage::default()));
            self.slices.len() - 1
        });
        &mut self.slices[i].1
    }

    fn finish(self) -> Vec<Slice<String>> {
        let mut out: Vec<(Option<String>, Slice<String>)> = self
            .slices
            .into_iter()
            .map(|(k, coverage)| {
                (
                    k.map(names::fold),
                    Slice {
                        key: k.map(str::to_owned),
                        coverage,
                    },
                )
            })
            .collect();
        // Unnamed slice last; otherwise alphabetical as a Vietnamese reader expects.
        out.sort_by(|a, b| (a.0.is_none(), &a.0, &a.1.key).cmp(&(b.0.is_none(), &b.0, &b.1.key)));
        out.into_iter().map(|(_, s)| s).collect()
    }
}
