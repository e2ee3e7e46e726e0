//! The reconciliation engine: a pure function of typed rows.

use std::ops::Range;

use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

use super::adjust;
use super::types::*;
use crate::domain::banks::BankId;
use crate::domain::names;
use crate::domain::records::{IdRef, ListRows, PayoutOrigin, PayoutRows};
use crate::domain::status::PayoutStatus;

// Legacy CMNDs share the grouping map with 12-digit IDs, their keys offset apart: one
// definition for the engine and the comparison with the previous period.
use super::previous::{Holding, LEGACY_KEY_OFFSET, Previous, person_key};

#[derive(Clone, Copy)]
enum AccountSlot {
    One(u32),
    Ambiguous,
}

/// What a person's payouts said, besides the amount paid (summed into the result) and
/// the paying bank (set on the result at the first success): one byte a person, as the
/// outcome needs only none, one or several successes and which other states were seen.
#[derive(Default, Clone, Copy)]
struct Tally(u8);

impl Tally {
    const ONE_SUCCESS: u8 = 1;
    const SUCCESSES: u8 = 2;
    const FAILED: u8 = 4;
    const RETURNED: u8 = 8;
    const PENDING: u8 = 16;

    fn add(&mut self, status: PayoutStatus) {
        self.0 |= match status {
            PayoutStatus::Success if self.0 & Self::ONE_SUCCESS != 0 => Self::SUCCESSES,
            PayoutStatus::Success => Self::ONE_SUCCESS,
            PayoutStatus::Failed => Self::FAILED,
            PayoutStatus::Returned => Self::RETURNED,
            PayoutStatus::Pending => Self::PENDING,
        };
    }
    fn paid(self) -> bool {
        self.0 & Self::ONE_SUCCESS != 0
    }
    fn paid_twice_or_more(self) -> bool {
        self.0 & Self::SUCCESSES != 0
    }
    fn saw(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// Reconcile a beneficiary list with bank payouts.
///
/// Rows with the same ID are one person; each payout links to at most one person, by ID,
/// or by (bank, account) when the payout carries no usable ID. Later payouts with the same
/// (bank, reference) supersede earlier ones: a bank reports a transaction's latest state
/// (but "still in progress" never replaces a settled, failed or returned state).
pub fn reconcile<L, P>(list: &L, payouts: &P, options: &Options) -> Reconciliation
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    reconcile_on(list, payouts, options, threads, None)
}

/// `reconcile`, with the previous period's lists of the programme: a person listed then
/// with another account and paid into the one listed now is flagged `account_changed`; a
/// payout to nobody on this period's lists whose ID was on the previous period's is flagged
/// `paid_after_removal`. Both flags make exceptions; nothing else changes.
pub fn reconcile_against<L, P>(
    list: &L,
    payouts: &P,
    options: &Options,
    previous: Option<&Previous>,
) -> Reconciliation
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    reconcile_on(list, payouts, options, threads, previous)
}

/// `reconcile` on `threads` cores: the result is the same for any count.
pub(crate) fn reconcile_on<L, P>(
    list: &L,
    payouts: &P,
    options: &Options,
    threads: usize,
    previous: Option<&Previous>,
) -> Reconciliation
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    // 1 and 2 are independent: the list's people on this thread, the latest state of
    // each bank transaction on another.
    let (
        (by_person, mut people, mut amounts, duplicate_rows, person_of_row, across),
        mut payout_links,
    ) = std::thread::scope(|s| {
        let latest = s.spawn(|| latest_states(payouts));
        let grouped = group_people(list, threads);
        let links = latest.join().unwrap_or_else(|_| latest_states(payouts));
        (grouped, links)
    });

    // 3. Link payouts to people: who each payout names and what it says about them, in
    // parallel (each payout on its own); then its effect, in input order.
    let accounts = (0..payouts.len())
        .any(|i| !matches!(payouts.id(i), IdRef::Valid(_)))
        .then(|| account_index(list, &people, &across));
    // Bank files follow the payment orders, which follow the list: the next payout's person
    // is usually a few rows after the last one's. Looking there first (a short sequential
    // read) spares most lookups in the person index (two cache misses each); it finds the
    // same person the index would (a key names one person, or one per list when units'
    // lists overlap: then the listing is chosen when the payout is applied).
    let near = |key: u64, cursor: &mut usize, people: &[BeneficiaryResult]| -> Option<(u32, u32)> {
        let end = (*cursor + LOOK_AHEAD).min(list.len());
        let r =
            (*cursor..end).find(|&r| matches!(list.id(r), IdRef::Valid(p) if p.value() == key))?;
        *cursor = r + 1;
        let b = person_of_row.person(r as u32);
        Some((b, people.get(b as usize)?.row))
    };
    // The links and people as they stand before a block is applied (what resolving reads
    // of them, superseded payouts and first rows, no block changes).
    let resolve = |i: usize,
                   cursor: &mut usize,
                   payout_links: &[PayoutLink],
                   people: &[BeneficiaryResult]|
     -> Option<(u32, u8)> {
        if matches!(payout_links[i], PayoutLink::Superseded { .. }) {
            return None;
        }
        let bank = payouts.bank(i);
        let (b, r, by_account) = match payouts.id(i) {
            IdRef::Valid(id) => {
                let key = id.value();
                let (b, r) = match near(key, cursor, people) {
                    Some(hit) => hit,
                    None => {
                        let hit = find_person(list, &by_person, &person_of_row, key)?;
                        *cursor = hit.1 as usize + 1;
                        hit
                    }
                };
                // Listed by two units: which listing is chosen when the payout is applied.
                if across.has(b) {
                    return Some((b, GROUP));
                }
                (b, r as usize, false)
            }
            _ => {
                let index = accounts.as_ref()?;
                let hit = payouts
                    .account(i)
                    .and_then(|a| match index.get(account_key(a)) {
                        Some(AccountSlot::One(b)) => Some(*b),
                        _ => None,
                    });
                if let Some(b) = hit.filter(|b| across.has(*b)) {
                    return Some((b, GROUP | BY_ACCOUNT));
                }
                // The bank must agree when the list names one.
                let hit = hit.filter(|b| {
                    list.bank(people[*b as usize].row as usize)
                        .is_none_or(|lb| lb == bank)
                })?;
                (hit, people[hit as usize].row as usize, true)
            }
        };
        Some((b, judge(list, payouts, r, i, by_account)))
    };
    // In blocks, so what resolving found is held for one block at a time.
    let mut tallies = vec![Tally::default(); people.len()];
    for start in (0..payouts.len()).step_by(RESOLVE_BLOCK) {
        let end = (start + RESOLVE_BLOCK).min(payouts.len());
        let (links, persons) = (&payout_links[..], &people[..]);
        let resolved = in_parallel_with(end - start, threads, &|k, hint: &mut usize| {
            resolve(start + k, hint, links, persons)
        });
        for (i, res) in (start..end).zip(resolved) {
            let Some((mut b, mut seen)) = res else {
                continue;
            };
            if seen & GROUP != 0 {
                // One person on several units' lists: the listing this payout is for, given
                // what earlier payouts paid.
                let by_account = seen & BY_ACCOUNT != 0;
                let state = |m: u32, r: usize| {
                    let may_pay = payouts.origin(i) != PayoutOrigin::Callback
                        || callback_may_pay(list, r, payouts, i);
                    (may_pay, tallies.get(m as usize).is_some_and(|t| t.paid()))
                };
                b = across.choose(b, list, &people, payouts, i, state);
                let r = people[b as usize].row as usize;
                // Linked by account alone, the listed bank must agree.
                if by_account && list.bank(r).is_some_and(|lb| lb != payouts.bank(i)) {
                    continue;
                }
                seen = judge(list, payouts, r, i, by_account);
            }
            let link = &mut payout_links[i];
            if seen & WRONG_BANK != 0 {
                *link = PayoutLink::WrongBank { named: b };
                continue;
            }
            *link = PayoutLink::Beneficiary(b);
            let person = &mut people[b as usize];
            if seen & BY_ACCOUNT != 0 {
                person.flags.insert(Flag::LinkedByAccount);
            }
            if seen & ACCOUNT_DIFFERS != 0 {
                person.flags.insert(Flag::AccountMismatch);
            }
            if seen & NAME_DIFFERS != 0 {
                person.flags.insert(Flag::NameMismatch);
            }
            let status = payouts.status(i);
            if status == PayoutStatus::Success {
                match payouts.amount_whole(i) {
                    Some(v) => amounts.add_paid_whole(b as usize, v),
                    None => amounts.add_paid(b as usize, payouts.amount(i)),
                }
                // The listed bank, else the first that paid.
                person.bank.get_or_insert(payouts.bank(i));
            }
            tallies[b as usize].add(status);
        }
    }
    // 3b. What was recorded by hand (resolved exceptions): a payout that links to nobody
    // linked to the beneficiary named (`linked_manually`), people paid in cash after all
    // (`paid_in_cash`). A payout that links by itself keeps its own link.
    let mut in_cash: Vec<u32> = Vec::new();
    let adj = &options.adjustments;
    if !adj.is_empty() {
        let person_of =
            |p: &adjust::PersonRef| find_ref(list, &by_person, &person_of_row, &people, &across, p);
        let links: Vec<(usize, u32)> =
            adjust::linked_payouts(payouts, adj, |i| payout_links[i].is_unmatched())
                .into_iter()
                .filter_map(|(i, k)| Some((i, person_of(&adj.links.get(k)?.1)?)))
                .collect();
        in_cash = adj.paid_in_cash.iter().filter_map(person_of).collect();
        for (i, b) in links {
            payout_links[i] = PayoutLink::Beneficiary(b);
            let person = &mut people[b as usize];
            person.flags.insert(Flag::LinkedManually);
            let status = payouts.status(i);
            if status == PayoutStatus::Success {
                amounts.add_paid(b as usize, payouts.amount(i));
                person.bank.get_or_insert(payouts.bank(i));
            }
            tallies[b as usize].add(status);
        }
        for &b in &in_cash {
            people[b as usize].flags.insert(Flag::PaidInCash);
        }
    }

    // Payouts to nobody whose ID the previous period listed and no list of this one does.
    let mut after_removal = rustc_hash::FxHashSet::default();
    if let Some(previous) = previous.filter(|p| !p.is_empty()) {
        for (i, l) in payout_links.iter().enumerate() {
            if *l != PayoutLink::Unmatched {
                continue;
            }
            if let Some(key) = person_key(payouts.id(i))
                && previous.listed(key)
                && find_person(list, &by_person, &person_of_row, key).is_none()
            {
                after_removal.insert(i as u32);
            }
        }
    }
    // Linking is done: what it needed goes before the figures are made.
    drop(by_person);
    drop(accounts);

    // 4. Outcomes. A person owed arrears may be paid them on top of the month: that part
    // is theirs, not an overpayment, and not the month's.
    // Owed once: a person on two units' lists is paid their arrears by one listing.
    let mut arrears_paid = rustc_hash::FxHashMap::default();
    let mut arrears_taken: FxHashMap<u64, Decimal> = FxHashMap::default();
    for (i, (b, t)) in people.iter_mut().zip(tallies.iter().copied()).enumerate() {
        let row = b.row as usize;
        let listed_account = list.account(row).is_some();
        b.paid_cashless = t.paid();
        b.has_account = listed_account || b.paid_cashless;
        let owed = match person_key(list.id(row)).filter(|_| !options.arrears.is_empty()) {
            Some(k) => {
                let taken = arrears_taken.get(&k).copied().unwrap_or_default();
                (
                    k,
                    (options.arrears.owed(k, list.unit(row)) - taken).max(Decimal::ZERO),
                )
            }
            None => (0, Decimal::ZERO),
        };
        let (due, paid) = (amounts.due(i), amounts.paid(i));
        b.outcome = outcome(due, paid, t, listed_account, options.tolerance, owed.1);
        let to_arrears = super::arrears::arrears_paid(due, paid, owed.1);
        if to_arrears > Decimal::ZERO {
            amounts.add_paid(i, -to_arrears);
            arrears_paid.insert(i as u32, to_arrears);
            *arrears_taken.entry(owed.0).or_default() += to_arrears;
        }
    }
    drop(tallies);
    // Paid in cash: still an account holder (account coverage does not change), paid, but
    // never cashless.
    for b in in_cash {
        if let Some(p) = people.get_mut(b as usize) {
            p.paid_cashless = false;
        }
    }

    // 5. CSR index person -> payouts, for exception listings.
    // Counts, summed to each person's end, then filled backwards: each person's payouts in
    // input order, with no second array of cursors.
    let mut payout_offsets = vec![0u32; people.len() + 1];
    for l in &payout_links {
        if let PayoutLink::Beneficiary(b) = l {
            payout_offsets[*b as usize] += 1;
        }
    }
    let mut total = 0u32;
    for o in payout_offsets.iter_mut() {
        total += *o;
        *o = total;
    }
    let mut payout_index = vec![0u32; total as usize];
    for (i, l) in payout_links.iter().enumerate().rev() {
        if let PayoutLink::Beneficiary(b) = l {
            let slot = &mut payout_offsets[*b as usize];
            *slot -= 1;
            payout_index[*slot as usize] = i as u32;
        }
    }

    // 5b. Against the previous period: whose account changed and was paid into.
    if let Some(previous) = previous.filter(|p| !p.is_empty()) {
        let changed = in_parallel_runs(people.len(), threads, &|run: Range<usize>| {
            run.filter(|&b| {
                account_changed_and_paid(
                    list,
                    payouts,
                    previous,
                    &people,
                    b,
                    &payout_offsets,
                    &payout_index,
                )
            })
            .collect::<Vec<usize>>()
        });
        for b in changed.into_iter().flatten() {
            people[b].flags.insert(Flag::AccountChanged);
        }
    }

    // 6. Figures, overall and by slice.
    let Summed {
        totals,
        by_commune,
        by_category,
        by_bank,
        by_unit,
    } = sum_figures(
        list,
        payouts,
        &people,
        &amounts,
        Payouts {
            links: &payout_links,
            after_removal: &after_removal,
        },
        threads,
        None,
    );

    Reconciliation {
        beneficiaries: people,
        payout_links,
        totals,
        by_commune,
        by_category,
        by_bank,
        by_unit,
        options: options.clone(),
        amounts,
        duplicate_rows,
        across_units: across,
        payout_offsets,
        payout_index,
        after_removal,
        arrears_paid,
    }
}

/// Whether person `b`'s listed account is not the one the previous period listed, and a
/// successful payout of theirs went into it (a payout naming no account goes to the listed
/// one).
fn account_changed_and_paid<L, P>(
    list: &L,
    payouts: &P,
    previous: &Previous,
    people: &[BeneficiaryResult],
    b: usize,
    offsets: &[u32],
    index: &[u32],
) -> bool
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let Some(person) = people.get(b) else {
        return false;
    };
    if !person.paid_cashless {
        return false;
    }
    let row = person.row as usize;
    let Some(key) = person_key(list.id(row)) else {
        return false;
    };
    let account = list.account(row);
    if !previous.account_changed(key, Holding::new(account, list.bank(row))) {
        return false;
    }
    let Some(listed) = account.map(account_key) else {
        return false;
    };
    let (Some(&s), Some(&e)) = (offsets.get(b), offsets.get(b + 1)) else {
        return false;
    };
    index.get(s as usize..e as usize).is_some_and(|mine| {
        mine.iter().any(|&i| {
            let i = i as usize;
            payouts.status(i) == PayoutStatus::Success
                && payouts.account(i).is_none_or(|a| account_key(a) == listed)
        })
    })
}

/// Which units' people and unmatched payouts a figure counts (`Reconciliation::scoped`).
pub type Keep<'k> = dyn Fn(Option<&str>) -> bool + Sync + 'k;

impl Reconciliation {
    /// The same reconciliation with its figures (totals and every breakdown) made only of
    /// the people and unmatched payouts whose unit `keep` lets through: a unit's subtree
    /// of a period reconciled as a whole, so every payout linked as the whole period links
    /// it. Per-person results stay as they were.
    pub fn scoped<L, P>(mut self, list: &L, payouts: &P, keep: &Keep<'_>) -> Reconciliation
    where
        L: ListRows + ?Sized,
        P: PayoutRows + ?Sized,
    {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
        let s = sum_figures(
            list,
            payouts,
            &self.beneficiaries,
            &self.amounts,
            Payouts {
                links: &self.payout_links,
                after_removal: &self.after_removal,
            },
            threads,
            Some(keep),
        );
        self.totals = s.totals;
        self.by_commune = s.by_commune;
        self.by_category = s.by_category;
        self.by_bank = s.by_bank;
        self.by_unit = s.by_unit;
        self
    }
}

/// What became of the payouts, as step 6 counts the unmatched ones.
#[derive(Clone, Copy)]
struct Payouts<'a> {
    links: &'a [PayoutLink],
    /// Unmatched payouts flagged `paid_after_removal`.
    after_removal: &'a rustc_hash::FxHashSet<u32>,
}

/// The figures step 6 makes.
struct Summed {
    totals: Coverage,
    by_commune: Vec<Slice<String>>,
    by_category: Vec<Slice<String>>,
    by_bank: Vec<Slice<BankId>>,
    by_unit: Vec<Slice<String>>,
}

/// Step 6: the figures, overall and by slice, of the people and unmatched payouts whose
/// unit `keep` lets through (all when None): runs of people summed apart, then merged in
/// order (sums are exact, slices keep their first-seen order).
fn sum_figures<L, P>(
    list: &L,
    payouts: &P,
    people: &[BeneficiaryResult],
    amounts: &PersonAmounts,
    linked: Payouts<'_>,
    threads: usize,
    keep: Option<&Keep<'_>>,
) -> Summed
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let units = list.has_units();
    let parts = in_parallel_runs(people.len(), threads, &|run: Range<usize>| {
        let mut part = Figures::default();
        for (i, b) in run.clone().zip(&people[run]) {
            let row = b.row as usize;
            if let Some(keep) = keep
                && !keep(list.unit(row))
            {
                continue;
            }
            let sums = amounts.whole(i);
            let add = |s: &mut Summing| s.add(b, sums, amounts, i);
            add(&mut part.totals);
            add(part.communes.slot(list.commune(row)));
            add(part.categories.slot(list.category(row)));
            add(part.banks.entry(b.bank).or_default());
            if units {
                add(part.units.slot(list.unit(row)));
            }
        }
        part
    });
    let mut whole = Figures::default();
    for part in parts {
        whole.absorb(part);
    }
    let Figures {
        totals,
        communes,
        categories,
        banks,
        units: unit_slices,
    } = whole;
    let mut totals = totals.finish();
    let mut banks: FxHashMap<Option<BankId>, Coverage> =
        banks.into_iter().map(|(k, s)| (k, s.finish())).collect();
    let mut by_unit: FxHashMap<Option<String>, Coverage> = unit_slices
        .slices
        .into_iter()
        .map(|(k, s)| (k.map(str::to_owned), s.finish()))
        .collect();
    for (i, l) in linked.links.iter().enumerate() {
        if !l.is_unmatched() {
            continue;
        }
        let unit = payouts.unit(i);
        if let Some(keep) = keep
            && !keep(unit)
        {
            continue;
        }
        let flags = unmatched_flags(*l, linked.after_removal.contains(&(i as u32)));
        let amount = payouts.amount(i);
        totals.add_unmatched(amount, flags);
        banks
            .entry(Some(payouts.bank(i)))
            .or_default()
            .add_unmatched(amount, flags);
        if units || unit.is_some() {
            by_unit
                .entry(unit.map(str::to_owned))
                .or_default()
                .add_unmatched(amount, flags);
        }
    }
    let (by_bank, by_unit) = bank_and_unit_slices(banks, by_unit);
    Summed {
        totals,
        by_commune: communes.finish(),
        by_category: categories.finish(),
        by_bank,
        by_unit,
    }
}

/// The flags of an unmatched payout: `wrong_bank` from its link, `paid_after_removal`
/// when the previous period listed the ID it names.
pub(crate) fn unmatched_flags(link: PayoutLink, after_removal: bool) -> Flags {
    let mut flags = Flags::default();
    if matches!(link, PayoutLink::WrongBank { .. }) {
        flags.insert(Flag::WrongBank);
    }
    if after_removal {
        flags.insert(Flag::PaidAfterRemoval);
    }
    flags
}

/// What resolving a payout found (bits of `reconcile`'s step 3).
const WRONG_BANK: u8 = 1;
const BY_ACCOUNT: u8 = 2;
const ACCOUNT_DIFFERS: u8 = 4;
const NAME_DIFFERS: u8 = 8;
/// The payout names a person on several units' lists: the listing is chosen when applied.
const GROUP: u8 = 16;

/// What payout `i` says of list row `r` it links to (`by_account`: by account alone).
fn judge<L, P>(list: &L, payouts: &P, r: usize, i: usize, by_account: bool) -> u8
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    if payouts.origin(i) == PayoutOrigin::Callback && !callback_may_pay(list, r, payouts, i) {
        return WRONG_BANK;
    }
    let mut seen = 0;
    if by_account {
        seen |= BY_ACCOUNT;
    } else if differs(list, r, payouts, i) {
        seen |= ACCOUNT_DIFFERS;
    }
    let listed_name = list.name(r);
    if let Some(name) = payouts.name(i)
        && !name.trim().is_empty()
        && name != listed_name
        && !names::names_match(name, listed_name)
    {
        seen |= NAME_DIFFERS;
    }
    seen
}

/// Payouts resolved at a time (step 3).
const RESOLVE_BLOCK: usize = 1 << 18;

/// List rows after the last payout's person where the next payout's is looked for first.
const LOOK_AHEAD: usize = 16;

/// Rows below which the engine stays on one thread.
const MIN_PARALLEL: usize = 50_000;

/// `f(0..n)` on every core, in contiguous runs, results in order: the same for any count.
/// `f` may carry a hint from one index to the next of its run (each run starts from the
/// default); it must give the same result whatever the hint.
fn in_parallel_with<T: Send, S: Default>(
    n: usize,
    threads: usize,
    f: &(impl Fn(usize, &mut S) -> T + Sync),
) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    let runs = in_parallel_runs(n, threads, &|run: Range<usize>| {
        let mut hint = S::default();
        run.map(|i| f(i, &mut hint)).collect::<Vec<T>>()
    });
    for mut part in runs {
        out.append(&mut part);
    }
    out
}

/// `f` on contiguous runs covering `0..n`, one per core, results in run order.
fn in_parallel_runs<T: Send>(
    n: usize,
    threads: usize,
    f: &(impl Fn(Range<usize>) -> T + Sync),
) -> Vec<T> {
    // Below this a thread costs more than it saves.
    if threads < 2 || n < MIN_PARALLEL {
        return vec![f(0..n)];
    }
    let per = n.div_ceil(threads);
    let run = |t: usize| (t * per).min(n)..((t + 1) * per).min(n);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..threads).map(|t| s.spawn(move || f(run(t)))).collect();
        parts
            .into_iter()
            .enumerate()
            // A worker cannot fail short of a bug; redo its run here rather than lose it.
            .map(|(t, part)| part.join().unwrap_or_else(|_| f(run(t))))
            .collect()
    })
}

/// The figures of some of the people (step 6).
#[derive(Default)]
struct Figures<'a> {
    totals: Summing,
    communes: Slicer<'a>,
    categories: Slicer<'a>,
    banks: FxHashMap<Option<BankId>, Summing>,
    units: Slicer<'a>,
}

/// Coverage being summed: whole đồng in integers (decimal adds per person and slice took
/// about 5% of the national run), folded into the exact decimals at the end.
#[derive(Default)]
struct Summing {
    coverage: Coverage,
    due: u64,
    due_cashless: u64,
    paid: u64,
}

impl Summing {
    /// Beneficiary `i`, with `whole` = `amounts.whole(i)`.
    fn add(
        &mut self,
        b: &BeneficiaryResult,
        whole: Option<(u32, u32)>,
        amounts: &PersonAmounts,
        i: usize,
    ) {
        self.coverage.count_beneficiary(b);
        match whole {
            Some((due, paid)) => {
                Self::sum(&mut self.due, &mut self.coverage.amount_due, due.into());
                if b.has_account {
                    let c = &mut self.coverage.amount_due_cashless;
                    Self::sum(&mut self.due_cashless, c, due.into());
                }
                Self::sum(&mut self.paid, &mut self.coverage.amount_paid, paid.into());
            }
            None => {
                self.coverage.amount_due += amounts.due(i);
                if b.has_account {
                    self.coverage.amount_due_cashless += amounts.due(i);
                }
                self.coverage.amount_paid += amounts.paid(i);
            }
        }
    }

    /// `v` into `sum`, and `sum` into `exact` before it would overflow.
    fn sum(sum: &mut u64, exact: &mut Decimal, v: u64) {
        match sum.checked_add(v) {
            Some(s) => *sum = s,
            None => {
                *exact += Decimal::from(*sum);
                *sum = v;
            }
        }
    }

    fn merge(&mut self, other: Summing) {
        self.coverage.merge(&other.coverage);
        Self::sum(&mut self.due, &mut self.coverage.amount_due, other.due);
        let c = &mut self.coverage.amount_due_cashless;
        Self::sum(&mut self.due_cashless, c, other.due_cashless);
        Self::sum(&mut self.paid, &mut self.coverage.amount_paid, other.paid);
    }

    fn finish(mut self) -> Coverage {
        self.coverage.amount_due += Decimal::from(self.due);
        self.coverage.amount_due_cashless += Decimal::from(self.due_cashless);
        self.coverage.amount_paid += Decimal::from(self.paid);
        self.coverage
    }
}

impl<'a> Figures<'a> {
    /// Add the figures of the people after these.
    fn absorb(&mut self, later: Figures<'a>) {
        self.totals.merge(later.totals);
        self.communes.absorb(later.communes);
        self.categories.absorb(later.categories);
        self.units.absorb(later.units);
        for (k, c) in later.banks {
            self.banks.entry(k).or_default().merge(c);
        }
    }
}

/// Step 1: one beneficiary per person and list (rows of one list with the same ID merged),
/// and the index from a person's key to them.
type Grouped = (
    PersonIndex,
    Vec<BeneficiaryResult>,
    PersonAmounts,
    FxHashMap<u32, Vec<u32>>,
    RowPeople,
    AcrossUnits,
);

/// The person index, in parts by bits of the key's hash: each part is small enough to stay
/// in cache while it is built (one big table costs two cache misses an insert), and the
/// parts are built on every core. A slot holds the person's first list row only (4 bytes,
/// not 16 with the key): the key is read back from the list when a slot's tag matches.
struct PersonIndex {
    parts: Vec<hashbrown::HashTable<u32>>,
    /// Bits of the hash that choose the part.
    bits: u32,
}

/// A part of the index, and its rows whose key an earlier row has: (row, first row).
type PartBuilt = (hashbrown::HashTable<u32>, Vec<(u32, u32)>);

/// Keys per part of the index, about: its slots and the keys they point at stay in a
/// core's L2.
const KEYS_PER_PART: usize = 8_192;

impl PersonIndex {
    /// The part of `hash`: bits above those a part's table uses for its buckets and below
    /// the 7 it keeps as tags, so neither is the same for every key of a part.
    fn part_of(hash: u64, bits: u32) -> usize {
        ((hash >> 32) & ((1u64 << bits) - 1)) as usize
    }

    /// The first list row of the person with `key`.
    fn first_row<L: ListRows + ?Sized>(&self, list: &L, key: u64) -> Option<u32> {
        let hash = key_hash(key);
        self.parts
            .get(Self::part_of(hash, self.bits))?
            .find(hash, |&row| row_key(list, row) == Some(key))
            .copied()
    }
}

/// A 64-bit mix (murmur3's finaliser): every bit of the key reaches every bit of the hash,
/// which the index's parts and buckets, taken from different bits, rely on.
fn key_hash(key: u64) -> u64 {
    let mut h = key;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Which person each list row is: people are the list's rows in order, less the rows that
/// repeat an earlier row's ID, so only those are stored (a few, not 4 bytes a row).
struct RowPeople {
    /// (repeated row, its person), by row.
    repeats: Vec<(u32, u32)>,
}

impl RowPeople {
    fn person(&self, row: u32) -> u32 {
        let before = self.repeats.partition_point(|&(r, _)| r < row);
        match self.repeats.get(before) {
            Some(&(r, person)) if r == row => person,
            _ => row - before as u32,
        }
    }
}

/// The key of list row `row`.
fn row_key<L: ListRows + ?Sized>(list: &L, row: u32) -> Option<u64> {
    person_key(list.id(row as usize))
}

/// The beneficiary with `key`, if listed: (person, first list row).
fn find_person<L: ListRows + ?Sized>(
    list: &L,
    index: &PersonIndex,
    person_of_row: &RowPeople,
    key: u64,
) -> Option<(u32, u32)> {
    let row = index.first_row(list, key)?;
    Some((person_of_row.person(row), row))
}

fn group_people<L: ListRows + ?Sized>(list: &L, threads: usize) -> Grouped {
    let n = list.len();
    // 1a. Every keyed row, scattered into its part, in row order within each part.
    let bits = (n / KEYS_PER_PART)
        .next_power_of_two()
        .trailing_zeros()
        .min(16);
    let parts = 1usize << bits;
    // Two passes over the list's IDs (sizes, then places) rather than a copy of them all.
    let keyed = || (0..n).filter_map(|r| person_key(list.id(r)).map(|k| (k, r as u32)));
    let mut starts = vec![0usize; parts + 1];
    for (k, _) in keyed() {
        starts[PersonIndex::part_of(key_hash(k), bits) + 1] += 1;
    }
    for p in 0..parts {
        starts[p + 1] += starts[p];
    }
    let mut fill = starts.clone();
    let mut scattered = vec![(0u64, 0u32); starts[parts]];
    for (k, r) in keyed() {
        let slot = &mut fill[PersonIndex::part_of(key_hash(k), bits)];
        if let Some(s) = scattered.get_mut(*slot) {
            *s = (k, r);
        }
        *slot += 1;
    }
    // 1b. Each part's table, and its rows whose key an earlier row has: (row, first row).
    let build = |range: Range<usize>| -> Vec<PartBuilt> {
        range
            .map(|p| {
                let rows = scattered.get(starts[p]..starts[p + 1]).unwrap_or(&[]);
                let mut table = hashbrown::HashTable::with_capacity(rows.len());
                let mut repeats = Vec::new();
                for &(key, row) in rows {
                    match table.entry(
                        key_hash(key),
                        |&r| row_key(list, r) == Some(key),
                        |&r| row_key(list, r).map_or(0, key_hash),
                    ) {
                        hashbrown::hash_table::Entry::Occupied(e) => {
                            repeats.push((row, *e.get()));
                        }
                        hashbrown::hash_table::Entry::Vacant(e) => {
                            e.insert(row);
                        }
                    }
                }
                (table, repeats)
            })
            .collect()
    };
    let built = if threads < 2 || n < MIN_PARALLEL {
        build(0..parts)
    } else {
        in_parallel_runs(parts, threads.min(parts), &build)
            .into_iter()
            .flatten()
            .collect()
    };
    drop(scattered);
    let mut tables = Vec::with_capacity(parts);
    let mut repeats = Vec::new();
    for (table, r) in built {
        tables.push(table);
        repeats.extend(r);
    }
    repeats.sort_unstable();
    // 1c. The people, in list order: a repeated row adds to its first row's person.
    let mut duplicate_rows: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    let mut people: Vec<BeneficiaryResult> = Vec::with_capacity(n);
    let mut amounts = PersonAmounts::with_capacity(n);
    let mut person_of_row = RowPeople {
        repeats: Vec::with_capacity(repeats.len()),
    };
    let mut repeats = repeats.into_iter().peekable();
    let mut across = AcrossUnits::default();
    // (the key's first row, a later list) → that list's person of the key.
    let mut on_other_list: FxHashMap<(u32, u32), u32> = FxHashMap::default();
    for r in 0..n {
        let i = r as u32;
        let mut also_listed = false;
        if let Some((_, first_row)) = repeats.next_if(|&(row, _)| row == i) {
            // The first row comes earlier: its person is known. A row of the same list
            // adds to its person; the first row of another list (another unit's) is a
            // person of that list, both flagged: each unit counts whom it listed.
            let source = list.source(r);
            let same_list = source == list.source(first_row as usize);
            let first = person_of_row.person(first_row);
            let into = if same_list {
                Some(first)
            } else {
                on_other_list.get(&(first_row, source)).copied()
            };
            if let Some(into) = into {
                person_of_row.repeats.push((i, into));
                duplicate_rows.entry(into).or_default().push(i);
                if let Some(b) = people.get_mut(into as usize) {
                    amounts.add_due(into as usize, list.amount_due(r));
                    b.flags.insert(Flag::DuplicateRow);
                }
                continue;
            }
            let person = people.len() as u32;
            on_other_list.insert((first_row, source), person);
            across.add(first, person);
            if let Some(b) = people.get_mut(first as usize) {
                b.flags.insert(Flag::DuplicateAcrossUnits);
            }
            also_listed = true;
        }
        let id = list.id(r);
        let mut flags = Flags::default();
        if also_listed {
            flags.insert(Flag::DuplicateAcrossUnits);
        }
        match id {
            IdRef::Invalid(_) | IdRef::Missing => flags.insert(Flag::InvalidId),
            IdRef::Legacy(_) => flags.insert(Flag::LegacyId),
            IdRef::Valid(_) => {
                if id.disagrees_with(list.birth_year(r), list.sex(r)) {
                    flags.insert(Flag::IdDobMismatch);
                }
            }
        }
        match list.amount_due_whole(r) {
            Some(v) => amounts.push_whole(v),
            None => amounts.push(list.amount_due(r)),
        }
        people.push(BeneficiaryResult {
            row: i,
            outcome: Outcome::Unpaid,
            flags,
            has_account: false,
            paid_cashless: false,
            bank: list.bank(r),
        });
    }
    let index = PersonIndex {
        parts: tables,
        bits,
    };
    (
        index,
        people,
        amounts,
        duplicate_rows,
        person_of_row,
        across,
    )
}

/// The beneficiary a key names: by ID through the index (on two units' lists, the listing
/// counting in the unit named, else the first), or the list row of an invalid ID.
fn find_ref<L: ListRows + ?Sized>(
    list: &L,
    index: &PersonIndex,
    person_of_row: &RowPeople,
    people: &[BeneficiaryResult],
    across: &AcrossUnits,
    p: &adjust::PersonRef,
) -> Option<u32> {
    match p {
        adjust::PersonRef::Id { id, .. } => {
            let n = id.parse::<u64>().ok()?;
            let key = if id.len() == 12 {
                n
            } else {
                n + LEGACY_KEY_OFFSET
            };
            let (b, _) = find_person(list, index, person_of_row, key)?;
            let members = across.members(b);
            let candidates: &[u32] = if members.is_empty() {
                std::slice::from_ref(&b)
            } else {
                members
            };
            candidates.iter().copied().find(|&m| {
                people
                    .get(m as usize)
                    .is_some_and(|x| adjust::row_is(list, x.row as usize, p))
            })
        }
        adjust::PersonRef::Row { .. } => (0..list.len())
            .find(|&r| adjust::row_is(list, r, p))
            .map(|r| person_of_row.person(r as u32)),
    }
}

/// Step 2: every payout unmatched so far, except those a later payout with the same
/// (bank, reference) supersedes.
fn latest_states<P: PayoutRows + ?Sized>(payouts: &P) -> Vec<PayoutLink> {
    use std::hash::BuildHasher;
    let mut links = vec![PayoutLink::Unmatched; payouts.len()];
    // The last payout seen per (bank, reference), as its index: the key is read back
    // from the payouts, never copied.
    let key = |i: u32| (payouts.bank(i as usize), payouts.reference(i as usize));
    let hash = |k: (BankId, Option<&str>)| rustc_hash::FxBuildHasher.hash_one(k);
    // Sized for every payout (5 bytes a slot) rather than a pass counting references.
    let mut last_by_ref: hashbrown::HashTable<u32> =
        hashbrown::HashTable::with_capacity(payouts.len());
    for i in 0..payouts.len() as u32 {
        let k = key(i);
        if k.1.is_none() {
            continue;
        }
        match last_by_ref.entry(hash(k), |&j| key(j) == k, |&j| hash(key(j))) {
            // A later report that the transfer is still in progress is stale once the
            // bank has said it settled, failed or came back (a status report read after
            // the statement that booked it).
            hashbrown::hash_table::Entry::Occupied(e)
                if payouts.status(i as usize) == PayoutStatus::Pending
                    && payouts.status(*e.get() as usize) != PayoutStatus::Pending =>
            {
                links[i as usize] = PayoutLink::Superseded { by: *e.get() };
            }
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                let prev = std::mem::replace(e.get_mut(), i);
                links[prev as usize] = PayoutLink::Superseded { by: i };
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(i);
            }
        }
    }
    links
}

/// A bank's callback speaks only for that bank's beneficiaries: the listed bank must be the
/// posting bank; where the list names no bank, the listed account must be the one paid.
fn callback_may_pay<L, P>(list: &L, r: usize, payouts: &P, i: usize) -> bool
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    match list.bank(r) {
        Some(listed) => listed == payouts.bank(i),
        None => matches!(
            (list.account(r), payouts.account(i)),
            (Some(a), Some(b)) if account_key(a) == account_key(b)
        ),
    }
}

fn differs<L, P>(list: &L, r: usize, payouts: &P, i: usize) -> bool
where
    L: ListRows + ?Sized,
    P: PayoutRows + ?Sized,
{
    let bank_differs = list.bank(r).is_some_and(|b| b != payouts.bank(i));
    let account_differs = match (list.account(r), payouts.account(i)) {
        (Some(a), Some(b)) => account_key(a) != account_key(b),
        _ => false,
    };
    bank_differs || account_differs
}

fn account_index<'a, L: ListRows + ?Sized>(
    list: &'a L,
    people: &[BeneficiaryResult],
    across: &AcrossUnits,
) -> FxHashMap<&'a str, AccountSlot> {
    let mut index: FxHashMap<&str, AccountSlot> = FxHashMap::default();
    index.reserve(people.len());
    for (b, person) in people.iter().enumerate() {
        let Some(acct) = list.account(person.row as usize) else {
            continue;
        };
        index
            .entry(account_key(acct))
            .and_modify(|slot| {
                // Two people sharing an account: linking by it would guess. One person on
                // two units' lists with one account is not two people: the first listing.
                let same = |x: u32| x == b as u32 || across.members(x).contains(&(b as u32));
                if !matches!(slot, AccountSlot::One(x) if same(*x)) {
                    *slot = AccountSlot::Ambiguous;
                }
            })
            .or_insert(AccountSlot::One(b as u32));
    }
    index
}

fn outcome(
    due: Decimal,
    paid: Decimal,
    t: Tally,
    listed_account: bool,
    tolerance: Decimal,
    owed_arrears: Decimal,
) -> Outcome {
    if t.paid() {
        let diff = paid - due;
        if diff.abs() <= tolerance || (diff > tolerance && diff <= owed_arrears + tolerance) {
            Outcome::Matched
        } else if t.paid_twice_or_more()
            && !due.is_zero()
            && (paid % due).is_zero()
            && paid / due >= Decimal::TWO
        {
            Outcome::Duplicate
        } else if diff.is_sign_negative() {
            Outcome::Underpaid
        } else {
            Outcome::Overpaid
        }
    } else if t.saw(Tally::PENDING) {
        // A transfer still in progress is the latest word, over an earlier failure.
        Outcome::Pending
    } else if t.saw(Tally::RETURNED) {
        Outcome::Returned
    } else if t.saw(Tally::FAILED) {
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
    slices: Vec<(Option<&'a str>, Summing)>,
}

impl<'a> Slicer<'a> {
    fn slot(&mut self, key: Option<&'a str>) -> &mut Summing {
        let key = key.filter(|k| !k.trim().is_empty());
        let i = *self.index.entry(key).or_insert_with(|| {
            self.slices.push((key, Summing::default()));
            self.slices.len() - 1
        });
        &mut self.slices[i].1
    }

    /// Add the slices of later rows: keys new here come after, in their first-seen order.
    fn absorb(&mut self, later: Slicer<'a>) {
        for (key, summing) in later.slices {
            self.slot(key).merge(summing);
        }
    }

    /// One slice per commune (or category) as a reader means it: "Xã Tân Lập" and
    /// "xã tân lập" are one, under the first spelling seen. Folding runs per distinct key,
    /// not per row.
    fn finish(self) -> Vec<Slice<String>> {
        let mut merged: Vec<(Option<String>, Slice<String>)> = Vec::new();
        let mut by_fold: FxHashMap<Option<String>, usize> = FxHashMap::default();
        for (k, summing) in self.slices {
            let coverage = summing.finish();
            let folded = k.map(names::fold);
            match by_fold.get(&folded) {
                Some(&i) => merged[i].1.coverage.merge(&coverage),
                None => {
                    by_fold.insert(folded.clone(), merged.len());
                    merged.push((
                        folded,
                        Slice {
                            key: k.map(|k| k.trim().to_owned()),
                            coverage,
                        },
                    ));
                }
            }
        }
        // Unnamed slice last; otherwise alphabetical as a Vietnamese reader expects.
        merged
            .sort_by(|a, b| (a.0.is_none(), &a.0, &a.1.key).cmp(&(b.0.is_none(), &b.0, &b.1.key)));
        merged.into_iter().map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rust_decimal::Decimal;

    use super::reconcile;
    use crate::domain::banks::BankId;
    use crate::domain::dates::DateOrYear;
    use crate::domain::population_id::{IdCheck, Sex};
    use crate::domain::records::{BeneficiaryRow, PayoutOrigin, PayoutRow, RowRef};
    use crate::domain::status::PayoutStatus::{self, Failed, Returned, Success};
    use crate::recon::types::*;

    const YEAR: i32 = 2026;
    /// Valid IDs: Hà Nội (001) male 1990, female 1990; Ninh Bình (037) female 1953.
    const ID_A: &str = "001090000001";
    const ID_B: &str = "001190000002";
    const ID_C: &str = "037153000257";
    const ID_D: &str = "001085000004";

    fn id(s: &str) -> IdCheck {
        IdCheck::from_text(s, YEAR)
    }

    fn valid(s: &str) -> IdCheck {
        let c = id(s);
        assert!(matches!(c, IdCheck::Valid(_)), "{s} should be valid: {c:?}");
        c
    }

    fn bank(name: &str) -> BankId {
        BankId::resolve(name).unwrap_or_else(|| panic!("unknown bank {name}"))
    }

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn src(row: u32) -> RowRef {
        RowRef::new(Arc::from("test"), row)
    }

    /// A list row without account (cash).
    fn ben(id_text: &str, name: &str, due: i64) -> BeneficiaryRow {
        BeneficiaryRow {
            source: src(1),
            id: id(id_text),
            name: name.to_owned(),
            amount_due: d(due),
            account: None,
            bank: None,
            birth: None,
            sex: None,
            category: None,
            commune: None,
        }
    }

    /// A list row with an account, optionally at a named bank.
    fn ben_acct(id_text: &str, due: i64, account: &str, bank_name: Option<&str>) -> BeneficiaryRow {
        BeneficiaryRow {
            account: Some(account.to_owned()),
            bank: bank_name.map(bank),
            ..ben(id_text, "Nguyễn Văn An", due)
        }
    }

    fn pay(id_text: &str, bank_name: &str, amount: i64, status: PayoutStatus) -> PayoutRow {
        PayoutRow {
            source: src(1),
            bank: bank(bank_name),
            reference: None,
            id: id(id_text),
            account: None,
            name: None,
            amount: d(amount),
            status,
            value_date: None,
            reason: None,
            origin: PayoutOrigin::File,
        }
    }

    fn pay_acct(account: &str, bank_name: &str, amount: i64) -> PayoutRow {
        PayoutRow {
            account: Some(account.to_owned()),
            ..pay("", bank_name, amount, Success)
        }
    }

    fn with_ref(p: PayoutRow, r: &str) -> PayoutRow {
        PayoutRow {
            reference: Some(r.to_owned()),
            ..p
        }
    }

    fn run(list: &[BeneficiaryRow], payouts: &[PayoutRow]) -> Reconciliation {
        reconcile(list, payouts, &Options::default())
    }

    fn run_tol(list: &[BeneficiaryRow], payouts: &[PayoutRow], tol: i64) -> Reconciliation {
        let options = Options {
            tolerance: d(tol),
            ..Default::default()
        };
        reconcile(list, payouts, &options)
    }

    /// Arrears carried over: the month first, then the arrears; only the month's part
    /// counts in the month's figures.
    #[test]
    fn arrears_are_paid_on_top_of_the_month() {
        let with = |owed: i64, payouts: &[PayoutRow]| {
            let mut arrears = crate::recon::arrears::Arrears::default();
            if let Ok(k) = ID_A.parse::<u64>() {
                arrears.add(k, "VN", d(owed));
            }
            let options = Options {
                arrears,
                ..Default::default()
            };
            let list = [ben_acct(ID_A, 1000, "123", None)];
            reconcile(&list[..], payouts, &options)
        };
        let r = with(500, &[ok(1000), ok(500)]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Matched);
        assert_eq!((r.amount_paid(0), r.arrears_paid(0)), (d(1000), d(500)));
        assert_eq!(r.totals.amount_paid, d(1000), "the month's own figures");
        let r = with(500, &[ok(1300)]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Matched, "part of it");
        assert_eq!((r.amount_paid(0), r.arrears_paid(0)), (d(1000), d(300)));
        let r = with(500, &[ok(2000)]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Overpaid);
        assert_eq!((r.amount_paid(0), r.arrears_paid(0)), (d(1500), d(500)));
        let r = with(1000, &[ok(1000), ok(1000)]);
        assert_eq!(
            r.beneficiaries[0].outcome,
            Outcome::Matched,
            "a month's arrears paid apart is not a duplicate"
        );
        let r = with(500, &[ok(700)]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Underpaid);
        assert_eq!(r.arrears_paid(0), d(0));
        // Without arrears, the same payouts are what they always were.
        assert_eq!(outcome_of(1000, &[ok(1000), ok(500)]), Outcome::Overpaid);
    }

    /// Outcome of the only beneficiary, for a single-person list.
    fn outcome_of(due: i64, payouts: &[PayoutRow]) -> Outcome {
        let r = run(&[ben_acct(ID_A, due, "123", None)], payouts);
        assert_eq!(r.beneficiaries.len(), 1);
        r.beneficiaries[0].outcome
    }

    fn ok(amount: i64) -> PayoutRow {
        pay(ID_A, "Agribank", amount, Success)
    }

    fn with_status(amount: i64, status: PayoutStatus) -> PayoutRow {
        pay(ID_A, "Agribank", amount, status)
    }

    fn sum_slices<K>(slices: &[Slice<K>]) -> Coverage {
        let mut c = Coverage::default();
        for s in slices {
            let x = &s.coverage;
            c.beneficiaries += x.beneficiaries;
            c.with_account += x.with_account;
            c.paid_cashless += x.paid_cashless;
            c.amount_due += x.amount_due;
            c.amount_due_cashless += x.amount_due_cashless;
            c.amount_paid += x.amount_paid;
            for o in Outcome::ALL {
                for _ in 0..x.outcomes.get(o) {
                    c.outcomes.add(o);
                }
            }
            for f in Flag::ALL {
                let mut one = Flags::default();
                one.insert(f);
                for _ in 0..x.flags.get(f) {
                    c.flags.add(one);
                }
            }
            c.unmatched_payouts.count += x.unmatched_payouts.count;
            c.unmatched_payouts.amount += x.unmatched_payouts.amount;
        }
        c
    }

    #[test]
    fn links_by_valid_id() {
        let list = [ben(ID_A, "A", 100), ben(ID_B, "B", 200)];
        let payouts = [pay(ID_B, "Agribank", 200, Success), ok(100)];
        let r = run(&list, &payouts);
        assert_eq!(
            r.payout_links,
            vec![PayoutLink::Beneficiary(1), PayoutLink::Beneficiary(0)]
        );
        for b in &r.beneficiaries {
            assert_eq!(b.outcome, Outcome::Matched);
            assert!(!b.flags.contains(Flag::LinkedByAccount));
        }
    }

    #[test]
    fn links_by_account_only_without_usable_id() {
        let list = [
            ben_acct(ID_A, 100, "111", None),
            ben_acct(ID_B, 100, "222", None),
        ];
        // Missing, invalid and legacy IDs on the payout: link by account.
        let missing = pay_acct("111", "Agribank", 100);
        let invalid = PayoutRow {
            id: id("12345"),
            ..pay_acct("222", "Agribank", 100)
        };
        let r = run(&list, &[missing, invalid]);
        assert_eq!(
            r.payout_links,
            vec![PayoutLink::Beneficiary(0), PayoutLink::Beneficiary(1)]
        );
        for b in &r.beneficiaries {
            assert_eq!(b.outcome, Outcome::Matched);
            assert!(b.flags.contains(Flag::LinkedByAccount));
        }
        let legacy = PayoutRow {
            id: id("012345678"),
            ..pay_acct("111", "Agribank", 100)
        };
        let r = run(&list, &[legacy]);
        assert_eq!(r.payout_links, vec![PayoutLink::Beneficiary(0)]);
        assert!(r.beneficiaries[0].flags.contains(Flag::LinkedByAccount));
        assert_eq!(r.totals.flags.linked_by_account, 1);
        // A payout linked by ID is not flagged.
        let r = run(
            &list,
            &[PayoutRow {
                account: Some("111".into()),
                ..ok(100)
            }],
        );
        assert!(!r.beneficiaries[0].flags.contains(Flag::LinkedByAccount));
    }

    #[test]
    fn account_link_needs_the_listed_bank_to_agree() {
        let list = [
            ben_acct(ID_A, 100, "111", Some("Agribank")),
            ben_acct(ID_B, 100, "222", None),
        ];
        let r = run(
            &list,
            &[
                pay_acct("111", "Vietcombank", 100),
                pay_acct("222", "Vietcombank", 100),
            ],
        );
        // Listed bank differs: no link. No listed bank: any bank links.
        assert_eq!(
            r.payout_links,
            vec![PayoutLink::Unmatched, PayoutLink::Beneficiary(1)]
        );
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Unpaid);
        assert_eq!(r.beneficiaries[1].outcome, Outcome::Matched);
        let r = run(&list, &[pay_acct("111", "Agribank", 100)]);
        assert_eq!(r.payout_links, vec![PayoutLink::Beneficiary(0)]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Matched);
    }

    /// A callback speaks for its own bank only; a file keeps today's rules.
    #[test]
    fn callbacks_count_only_for_the_posting_banks_beneficiaries() {
        let list = [
            ben_acct(ID_A, 100, "111", Some("Agribank")),
            ben_acct(ID_B, 100, "222", None),
            ben(ID_C, "Lê Văn Cường", 100),
        ];
        let cb = |id_text: &str, bank_name: &str, account: &str| PayoutRow {
            account: Some(account.to_owned()),
            origin: PayoutOrigin::Callback,
            ..pay(id_text, bank_name, 100, Success)
        };
        let r = run(
            &list,
            &[
                cb(ID_A, "Vietcombank", "111"),
                cb(ID_B, "Vietcombank", "999"),
                cb(ID_C, "Vietcombank", "333"),
                cb(ID_B, "Vietcombank", "222"),
            ],
        );
        assert_eq!(
            r.payout_links,
            vec![
                PayoutLink::WrongBank { named: 0 },
                PayoutLink::WrongBank { named: 1 },
                PayoutLink::WrongBank { named: 2 },
                // No listed bank, and the listed account is the one paid.
                PayoutLink::Beneficiary(1),
            ]
        );
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Unpaid);
        assert_eq!(r.beneficiaries[2].outcome, Outcome::NoAccount);
        assert_eq!(r.totals.unmatched_payouts.count, 3);
        assert_eq!(r.totals.flags.wrong_bank, 3);
        let vcb = r
            .by_bank
            .iter()
            .find(|s| s.key == Some(bank("Vietcombank")));
        assert_eq!(vcb.map(|s| s.coverage.flags.wrong_bank), Some(3));
        let ex = crate::recon::exceptions(
            &list[..],
            &[cb(ID_A, "Vietcombank", "111")][..],
            &run(&list, &[cb(ID_A, "Vietcombank", "111")]),
        );
        assert!(ex.iter().any(|e| e.flags.contains(Flag::WrongBank)));
        // The same rows in an accountant's file link as before.
        let file = run(&list, &[pay(ID_A, "Vietcombank", 100, Success)]);
        assert_eq!(file.payout_links, vec![PayoutLink::Beneficiary(0)]);
        assert!(file.beneficiaries[0].flags.contains(Flag::AccountMismatch));
    }

    #[test]
    fn shared_account_links_nobody() {
        let list = [
            ben_acct(ID_A, 100, "555", None),
            ben_acct(ID_B, 100, "0555", None),
        ];
        let r = run(&list, &[pay_acct("555", "Agribank", 100)]);
        assert_eq!(r.payout_links, vec![PayoutLink::Unmatched]);
        assert!(r.beneficiaries.iter().all(|b| b.outcome == Outcome::Unpaid));
        assert_eq!(r.totals.unmatched_payouts.count, 1);
        assert_eq!(r.totals.unmatched_payouts.amount, d(100));
    }

    #[test]
    fn valid_id_not_listed_stays_unmatched_despite_account() {
        let list = [ben_acct(ID_A, 100, "111", None)];
        let p = PayoutRow {
            account: Some("111".into()),
            ..pay(ID_B, "Agribank", 100, Success)
        };
        let r = run(&list, &[p]);
        assert_eq!(r.payout_links, vec![PayoutLink::Unmatched]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Unpaid);
        assert_eq!(r.totals.unmatched_payouts.count, 1);
    }

    #[test]
    fn matched_including_split_payments() {
        assert_eq!(outcome_of(1_500_000, &[ok(1_500_000)]), Outcome::Matched);
        assert_eq!(
            outcome_of(1_500_000, &[ok(1_000_000), ok(500_000)]),
            Outcome::Matched
        );
        assert_eq!(
            outcome_of(900, &[ok(300), ok(300), ok(300)]),
            Outcome::Matched
        );
    }

    #[test]
    fn underpaid_and_overpaid() {
        assert_eq!(outcome_of(1000, &[ok(999)]), Outcome::Underpaid);
        assert_eq!(outcome_of(1000, &[ok(400), ok(500)]), Outcome::Underpaid);
        assert_eq!(outcome_of(1000, &[ok(1001)]), Outcome::Overpaid);
        // One payment of twice the amount is overpaid, not a duplicate.
        assert_eq!(outcome_of(1000, &[ok(2000)]), Outcome::Overpaid);
    }

    #[test]
    fn duplicate_when_successes_sum_to_a_multiple() {
        assert_eq!(outcome_of(1000, &[ok(1000), ok(1000)]), Outcome::Duplicate);
        assert_eq!(
            outcome_of(1000, &[ok(1000), ok(1000), ok(1000)]),
            Outcome::Duplicate
        );
        let r = run(&[ben(ID_A, "A", 1000)], &[ok(1000), ok(1000)]);
        assert_eq!(r.amount_paid(0), d(2000));
        assert_eq!(r.totals.outcomes.duplicate, 1);
    }

    #[test]
    fn two_successes_not_a_multiple_are_overpaid() {
        assert_eq!(outcome_of(1000, &[ok(1000), ok(500)]), Outcome::Overpaid);
        assert_eq!(outcome_of(1000, &[ok(1000), ok(1001)]), Outcome::Overpaid);
    }

    #[test]
    fn failed_when_only_failed() {
        let r = run(
            &[ben_acct(ID_A, 1000, "1", None)],
            &[with_status(1000, Failed), with_status(1000, Failed)],
        );
        let b = &r.beneficiaries[0];
        assert_eq!(b.outcome, Outcome::Failed);
        assert_eq!(r.amount_paid(0), Decimal::ZERO);
        assert!(!b.paid_cashless);
    }

    #[test]
    fn returned_wins_over_failed_without_success() {
        assert_eq!(
            outcome_of(1000, &[with_status(1000, Returned)]),
            Outcome::Returned
        );
        assert_eq!(
            outcome_of(
                1000,
                &[with_status(1000, Returned), with_status(1000, Failed)]
            ),
            Outcome::Returned
        );
        assert_eq!(
            outcome_of(
                1000,
                &[with_status(1000, Failed), with_status(1000, Returned)]
            ),
            Outcome::Returned
        );
    }

    /// A transfer still in progress is neither paid nor failed; a success settles it.
    #[test]
    fn pending_is_neither_paid_nor_failed() {
        use crate::domain::status::PayoutStatus::Pending;
        let list = [ben_acct(ID_A, 1000, "123", Some("Agribank"))];
        let r = run(&list, &[with_status(1000, Pending)]);
        let b = &r.beneficiaries[0];
        assert_eq!(b.outcome, Outcome::Pending);
        assert!(!b.paid_cashless);
        assert_eq!(r.amount_paid(0), Decimal::ZERO);
        assert_eq!(r.totals.outcomes.pending, 1);
        assert_eq!(r.totals.paid_cashless, 0);
        assert_eq!(
            outcome_of(
                1000,
                &[with_status(1000, Failed), with_status(1000, Pending)]
            ),
            Outcome::Pending
        );
        assert_eq!(
            outcome_of(1000, &[with_status(1000, Pending), ok(1000)]),
            Outcome::Matched
        );
        let ex = crate::recon::exceptions(&list[..], &[with_status(1000, Pending)][..], &r);
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].kind.as_str(), "pending");
    }

    #[test]
    fn success_and_failed_judged_on_the_success() {
        assert_eq!(
            outcome_of(1000, &[with_status(1000, Failed), ok(1000)]),
            Outcome::Matched
        );
        assert_eq!(
            outcome_of(1000, &[ok(1000), with_status(1000, Failed)]),
            Outcome::Matched
        );
        assert_eq!(
            outcome_of(1000, &[with_status(1000, Failed), ok(600)]),
            Outcome::Underpaid
        );
        // A returned line next to a success (different transactions) does not count either.
        assert_eq!(
            outcome_of(1000, &[ok(1000), with_status(1000, Returned)]),
            Outcome::Matched
        );
    }

    #[test]
    fn unpaid_and_no_account() {
        let list = [
            ben_acct(ID_A, 1000, "123", Some("Agribank")),
            ben(ID_B, "B", 1000),
        ];
        let r = run(&list, &[]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Unpaid);
        assert!(r.beneficiaries[0].has_account);
        assert_eq!(r.beneficiaries[1].outcome, Outcome::NoAccount);
        assert!(!r.beneficiaries[1].has_account);
        assert_eq!(r.totals.outcomes.unpaid, 1);
        assert_eq!(r.totals.outcomes.no_account, 1);
    }

    #[test]
    fn tolerance() {
        let list = [ben(ID_A, "A", 1_000_000)];
        let within = |amount: i64| run_tol(&list, &[ok(amount)], 1000).beneficiaries[0].outcome;
        assert_eq!(within(999_000), Outcome::Matched);
        assert_eq!(within(1_001_000), Outcome::Matched);
        assert_eq!(within(998_999), Outcome::Underpaid);
        assert_eq!(within(1_001_001), Outcome::Overpaid);
        // Zero tolerance by default: exact to the đồng.
        assert_eq!(
            run(&list, &[ok(999_999)]).beneficiaries[0].outcome,
            Outcome::Underpaid
        );
        // The amount paid is still what was paid.
        assert_eq!(
            run_tol(&list, &[ok(999_500)], 1000).amount_paid(0),
            d(999_500)
        );
    }

    #[test]
    fn later_row_with_same_bank_reference_supersedes() {
        let list = [ben_acct(ID_A, 1000, "1", None)];
        // Success, then the bank reports the same transaction returned.
        let r = run(
            &list,
            &[
                with_ref(ok(1000), "T1"),
                with_ref(with_status(1000, Returned), "T1"),
            ],
        );
        assert_eq!(r.payout_links[0], PayoutLink::Superseded { by: 1 });
        assert_eq!(r.payout_links[1], PayoutLink::Beneficiary(0));
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Returned);
        assert_eq!(r.amount_paid(0), Decimal::ZERO);
        assert_eq!(r.payouts_of(0), &[1]);
        // "In progress" after "returned" is stale: returned stands.
        let r = run(
            &list,
            &[
                with_ref(with_status(1000, Returned), "T1"),
                with_ref(with_status(1000, PayoutStatus::Pending), "T1"),
            ],
        );
        assert_eq!(r.payout_links[1], PayoutLink::Superseded { by: 0 });
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Returned);
        // An identical repeat counts once.
        let r = run(&list, &[with_ref(ok(1000), "T1"), with_ref(ok(1000), "T1")]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Matched);
        assert_eq!(r.amount_paid(0), d(1000));
        assert_eq!(r.totals.unmatched_payouts.count, 0);
        // The same reference at two banks: two transactions.
        let other = with_ref(pay(ID_A, "Vietcombank", 1000, Success), "T1");
        let r = run(&list, &[with_ref(ok(1000), "T1"), other]);
        assert_eq!(
            r.payout_links,
            vec![PayoutLink::Beneficiary(0), PayoutLink::Beneficiary(0)]
        );
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Duplicate);
        // Different references at one bank: two transactions too.
        let r = run(&list, &[with_ref(ok(1000), "T1"), with_ref(ok(1000), "T2")]);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Duplicate);
    }

    #[test]
    fn same_id_on_two_rows_is_one_beneficiary() {
        let list = [
            ben(ID_A, "A", 600),
            ben(ID_B, "B", 100),
            ben(ID_A, "A", 400),
        ];
        let r = run(&list, &[ok(1000)]);
        assert_eq!(r.beneficiaries.len(), 2);
        let a = &r.beneficiaries[0];
        assert_eq!(a.row, 0);
        assert_eq!(r.extra_rows(0), [2]);
        assert_eq!(r.amount_due(0), d(1000));
        assert!(a.flags.contains(Flag::DuplicateRow));
        assert_eq!(a.outcome, Outcome::Matched);
        assert!(!r.beneficiaries[1].flags.contains(Flag::DuplicateRow));
        assert_eq!(r.totals.beneficiaries, 2);
        assert_eq!(r.totals.amount_due, d(1100));
        assert_eq!(r.totals.flags.duplicate_row, 1);
        // Rows without a usable ID are never merged; the same legacy CMND is.
        let list = [
            ben("", "X", 1),
            ben("", "X", 1),
            ben("12345", "Y", 1),
            ben("12345", "Y", 1),
            ben("012345678", "Z", 1),
            ben("012345678", "Z", 1),
        ];
        let r = run(&list, &[]);
        assert_eq!(r.beneficiaries.len(), 5);
        assert_eq!(r.extra_rows(4), [5]);
    }

    #[test]
    fn invalid_missing_and_legacy_id_flags() {
        let list = [
            ben("12345", "Invalid", 1),
            ben("", "Missing", 1),
            ben("012345678", "Legacy", 1),
            ben(ID_A, "Valid", 1),
        ];
        let r = run(&list, &[]);
        let flags: Vec<Flags> = r.beneficiaries.iter().map(|b| b.flags).collect();
        assert!(flags[0].contains(Flag::InvalidId));
        assert!(flags[1].contains(Flag::InvalidId));
        assert!(flags[2].contains(Flag::LegacyId) && !flags[2].contains(Flag::InvalidId));
        assert!(flags[3].is_empty());
        assert_eq!(r.totals.flags.invalid_id, 2);
        assert_eq!(r.totals.flags.legacy_id, 1);
    }

    #[test]
    fn id_dob_mismatch() {
        let c = valid(ID_C);
        assert!(matches!(c, IdCheck::Valid(p) if p.birth_year() == 1953 && p.sex() == Sex::Female));
        let row = |birth: Option<DateOrYear>, sex: Option<Sex>| BeneficiaryRow {
            birth,
            sex,
            ..ben(ID_C, "Trần Thị Mai", 1)
        };
        let date = |y, m, dd| chrono::NaiveDate::from_ymd_opt(y, m, dd).map(DateOrYear::Date);
        let list = [
            row(Some(DateOrYear::Year(1953)), Some(Sex::Female)),
            row(date(1953, 5, 1), None),
            row(None, None),
            row(Some(DateOrYear::Year(1954)), Some(Sex::Female)),
            row(date(1935, 5, 1), None),
            row(Some(DateOrYear::Year(1953)), Some(Sex::Male)),
            row(None, Some(Sex::Male)),
        ];
        // Separate runs: the same ID on one list would merge the rows.
        let got: Vec<bool> = list
            .iter()
            .map(|b| {
                let r = run(std::slice::from_ref(b), &[]);
                r.beneficiaries[0].flags.contains(Flag::IdDobMismatch)
            })
            .collect();
        assert_eq!(got, vec![false, false, false, true, true, true, true]);
        // Non-valid IDs never disagree.
        let legacy = BeneficiaryRow {
            birth: Some(DateOrYear::Year(1900)),
            sex: Some(Sex::Male),
            ..ben("012345678", "X", 1)
        };
        assert!(
            !run(&[legacy], &[]).beneficiaries[0]
                .flags
                .contains(Flag::IdDobMismatch)
        );
    }

    #[test]
    fn name_mismatch_folds_case_and_diacritics() {
        let list = [ben(ID_A, "Nguyễn Văn Đạt", 1000)];
        let named = |name: Option<&str>| {
            let p = PayoutRow {
                name: name.map(str::to_owned),
                ..ok(1000)
            };
            run(&list, &[p]).beneficiaries[0]
                .flags
                .contains(Flag::NameMismatch)
        };
        assert!(!named(Some("NGUYEN VAN DAT")));
        assert!(!named(Some("nguyễn  văn   đạt")));
        assert!(!named(Some("Nguyễn Văn Đạt")));
        assert!(!named(None));
        assert!(!named(Some("  ")));
        assert!(named(Some("Nguyễn Văn Đức")));
        assert!(named(Some("NGUYEN VAN DUC")));
        // ASCII on both sides too.
        let list = [ben(ID_A, "Nguyen Van Dat", 1000)];
        let p = PayoutRow {
            name: Some("NGUYEN  VAN DAT".into()),
            ..ok(1000)
        };
        assert!(
            !run(&list, &[p]).beneficiaries[0]
                .flags
                .contains(Flag::NameMismatch)
        );
    }

    #[test]
    fn account_mismatch_ignores_leading_zeros() {
        let flagged =
            |listed: &str, listed_bank: Option<&str>, paid: Option<&str>, paid_bank: &str| {
                let p = PayoutRow {
                    account: paid.map(str::to_owned),
                    ..pay(ID_A, paid_bank, 1000, Success)
                };
                let r = run(&[ben_acct(ID_A, 1000, listed, listed_bank)], &[p]);
                r.beneficiaries[0].flags.contains(Flag::AccountMismatch)
            };
        assert!(!flagged("0123", None, Some("123"), "Agribank"));
        assert!(!flagged("123", None, Some("000123"), "Agribank"));
        assert!(!flagged("123", Some("Agribank"), Some("123"), "Agribank"));
        assert!(!flagged("123", Some("Agribank"), None, "Agribank"));
        assert!(flagged("123", None, Some("124"), "Agribank"));
        assert!(flagged("1230", None, Some("123"), "Agribank"));
        assert!(flagged("123", Some("Agribank"), Some("123"), "Vietcombank"));
        // Linked by account: flagged linked_by_account, never account_mismatch.
        let r = run(
            &[ben_acct(ID_A, 1000, "0123", None)],
            &[pay_acct("123", "Agribank", 1000)],
        );
        let f = r.beneficiaries[0].flags;
        assert!(f.contains(Flag::LinkedByAccount) && !f.contains(Flag::AccountMismatch));
    }

    #[test]
    fn coverage_figures() {
        let list = [
            // Listed account, paid.
            ben_acct(ID_A, 1000, "1", Some("Agribank")),
            // Listed account, not paid.
            ben_acct(ID_B, 1000, "2", Some("Agribank")),
            // No listed account, paid by ID: counts as having an account.
            ben(ID_C, "C", 1000),
            // No account, no payout: cash.
            ben(ID_D, "D", 1000),
        ];
        let payouts = [
            ok(1000),
            pay(ID_B, "Agribank", 1000, Failed),
            pay(ID_C, "Vietcombank", 700, Success),
        ];
        let r = run(&list, &payouts);
        let t = &r.totals;
        assert_eq!(t.beneficiaries, 4);
        assert_eq!(t.with_account, 3);
        assert_eq!(t.paid_cashless, 2);
        assert_eq!(t.amount_due, d(4000));
        assert_eq!(t.amount_paid, d(1700));
        assert_eq!(t.account_coverage_pct(), Some(Decimal::new(7500, 2)));
        // 2/3 = 66.666… -> 66.67.
        assert_eq!(t.cashless_rate_pct(), Some(Decimal::new(6667, 2)));
        assert_eq!(t.outcomes.matched, 1);
        assert_eq!(t.outcomes.failed, 1);
        assert_eq!(t.outcomes.underpaid, 1);
        assert_eq!(t.outcomes.no_account, 1);
        // The bank of a person without a listed bank is the bank that paid.
        assert_eq!(r.beneficiaries[2].bank, Some(bank("Vietcombank")));
        assert_eq!(r.beneficiaries[3].bank, None);
    }

    #[test]
    fn percentages_round_half_up() {
        // 1/32 = 3.125% -> 3.13 (half-up, not banker's 3.12).
        let mut list: Vec<BeneficiaryRow> = (0..32u64)
            .map(|i| BeneficiaryRow {
                id: IdCheck::Invalid {
                    raw: i.to_string(),
                    reason: crate::domain::population_id::IdProblem::WrongLength,
                },
                ..ben("", "X", 1)
            })
            .collect();
        list[0].account = Some("9".into());
        let r = run(&list, &[]);
        assert_eq!(r.totals.beneficiaries, 32);
        assert_eq!(r.totals.account_coverage_pct(), Some(Decimal::new(313, 2)));
        assert_eq!(r.totals.cashless_rate_pct(), Some(Decimal::new(0, 2)));
        // 1/3 -> 33.33, 1/8 -> 12.50.
        let c = Coverage {
            beneficiaries: 3,
            with_account: 1,
            ..Coverage::default()
        };
        assert_eq!(c.account_coverage_pct(), Some(Decimal::new(3333, 2)));
        let c = Coverage {
            beneficiaries: 8,
            with_account: 1,
            ..Coverage::default()
        };
        assert_eq!(c.account_coverage_pct(), Some(Decimal::new(1250, 2)));
        assert_eq!(c.cashless_rate_pct(), Some(Decimal::ZERO));
    }

    #[test]
    fn slices_sum_to_totals() {
        let mut list = vec![
            ben_acct(ID_A, 1000, "1", Some("Agribank")),
            ben_acct(ID_B, 2000, "2", Some("Vietcombank")),
            ben(ID_C, "C", 3000),
            ben(ID_D, "D", 4000),
            ben("12345", "E", 5000),
        ];
        let communes = [
            Some("Xã Tân Lập"),
            Some("xã tân lập"),
            Some("Xã An Bình"),
            None,
            Some(" "),
        ];
        let categories = [
            Some("Người cao tuổi"),
            None,
            Some("Người khuyết tật"),
            Some("Người cao tuổi"),
            None,
        ];
        for (i, row) in list.iter_mut().enumerate() {
            row.commune = communes[i].map(str::to_owned);
            row.category = categories[i].map(str::to_owned);
        }
        let payouts = [
            ok(1000),
            pay(ID_B, "Vietcombank", 1000, Success),
            pay(ID_C, "BIDV", 3000, Success),
            // Unmatched: valid ID not on the list.
            pay("079085000123", "Agribank", 777, Success),
        ];
        let r = run(&list, &payouts);
        assert_eq!(r.totals.beneficiaries, 5);
        assert_eq!(r.totals.unmatched_payouts.count, 1);
        let by_commune = sum_slices(&r.by_commune);
        let by_category = sum_slices(&r.by_category);
        let by_bank = sum_slices(&r.by_bank);
        // Communes and categories carry beneficiaries only; banks also the unmatched payouts.
        let beneficiaries_only = Coverage {
            unmatched_payouts: UnmatchedPayouts::default(),
            ..r.totals.clone()
        };
        assert_eq!(by_commune, beneficiaries_only);
        assert_eq!(by_category, beneficiaries_only);
        assert_eq!(by_bank, r.totals);
        // Due to account holders: the two listed with an account, and C, whom a bank paid;
        // the rest (D, E) in cash.
        assert_eq!(r.totals.amount_due_cashless, d(6000));
        assert_eq!(r.totals.amount_due_cash(), d(9000));
        // Blank keys go to the unnamed slice, which comes last.
        assert_eq!(r.by_commune.last().map(|s| s.key.clone()), Some(None));
        assert_eq!(
            r.by_commune.last().map(|s| s.coverage.beneficiaries),
            Some(2)
        );
        assert_eq!(r.by_bank.last().map(|s| s.key), Some(None));
        // Spellings differing in case/diacritics are one commune, under the first spelling.
        let keys: Vec<Option<&str>> = r.by_commune.iter().map(|s| s.key.as_deref()).collect();
        assert_eq!(keys, vec![Some("Xã An Bình"), Some("Xã Tân Lập"), None]);
        assert_eq!(r.by_commune[1].coverage.beneficiaries, 2);
    }

    #[test]
    fn unmatched_payouts_go_to_their_bank_slice() {
        let list = [ben_acct(ID_A, 1000, "1", Some("Agribank"))];
        let payouts = [
            ok(1000),
            pay(ID_B, "Vietcombank", 500, Success),
            pay_acct("999", "Vietcombank", 250),
        ];
        let r = run(&list, &payouts);
        assert_eq!(r.unmatched_payouts().collect::<Vec<_>>(), vec![1, 2]);
        let vcb = r
            .by_bank
            .iter()
            .find(|s| s.key == Some(bank("Vietcombank")))
            .map(|s| s.coverage.clone());
        assert!(matches!(vcb, Some(ref c) if c.beneficiaries == 0
            && c.unmatched_payouts == UnmatchedPayouts { count: 2, amount: d(750) }));
        let agri = r.by_bank.iter().find(|s| s.key == Some(bank("Agribank")));
        assert!(matches!(agri, Some(s) if s.coverage.beneficiaries == 1
            && s.coverage.unmatched_payouts.count == 0));
        assert_eq!(
            r.totals.unmatched_payouts,
            UnmatchedPayouts {
                count: 2,
                amount: d(750)
            }
        );
    }

    #[test]
    fn payouts_of_lists_linked_payouts() {
        let list = [
            ben(ID_A, "A", 1000),
            ben(ID_B, "B", 1000),
            ben(ID_C, "C", 1000),
        ];
        let payouts = [
            ok(500),
            pay(ID_B, "Agribank", 1000, Failed),
            pay(ID_D, "Agribank", 1000, Success),
            ok(500),
            pay(ID_B, "Agribank", 1000, Success),
        ];
        let r = run(&list, &payouts);
        assert_eq!(r.payouts_of(0), &[0, 3]);
        assert_eq!(r.payouts_of(1), &[1, 4]);
        assert!(r.payouts_of(2).is_empty());
        assert!(r.payouts_of(3).is_empty());
        assert!(r.payouts_of(usize::MAX - 1).is_empty());
        assert_eq!(r.payout_links[2], PayoutLink::Unmatched);
    }

    #[test]
    fn empty_inputs_give_zeros() {
        let r = run(&[], &[]);
        assert!(r.beneficiaries.is_empty() && r.payout_links.is_empty());
        assert_eq!(r.totals, Coverage::default());
        assert_eq!(r.totals.account_coverage_pct(), None);
        assert_eq!(r.totals.cashless_rate_pct(), None);
        assert!(r.by_commune.is_empty() && r.by_category.is_empty() && r.by_bank.is_empty());
        assert!(r.payouts_of(0).is_empty());
        // Payouts but no list: all unmatched. A list but no payouts: nobody paid.
        let r = run(&[], &[ok(1000)]);
        assert_eq!(r.totals.unmatched_payouts.count, 1);
        assert_eq!(r.totals.account_coverage_pct(), None);
        let r = run(&[ben(ID_A, "A", 1000)], &[]);
        assert_eq!(r.totals.account_coverage_pct(), Some(Decimal::ZERO));
        assert_eq!(r.totals.cashless_rate_pct(), None);
    }

    /// Past the size where it splits the work, the engine gives the same result on any
    /// number of threads (every outcome, flag and slice; payouts in input order).
    #[test]
    fn same_result_whatever_the_thread_count() {
        use crate::domain::population_id::PersonalId;
        let n = super::MIN_PARALLEL + 7_000;
        let communes = [
            "Xã Tân Lập",
            "xã tân lập",
            "Phường Hà Cầu",
            "",
            "Xã Yên Bài",
        ];
        let banks = ["Agribank", "BIDV", "VietinBank"];
        let id_of = |i: usize| {
            let v = 1_090_000_000 + (i as u64 % (n as u64 - 500));
            PersonalId::new(v, YEAR)
                .map(|p| p.to_string())
                .unwrap_or_default()
        };
        let list: Vec<BeneficiaryRow> = (0..n)
            .map(|i| BeneficiaryRow {
                commune: Some(communes[i % communes.len()].to_owned()),
                category: Some(["NCT", "Khuyết tật"][i % 2].to_owned()),
                ..ben_acct(
                    &id_of(i),
                    1_000 + (i % 3) as i64,
                    &format!("{i}"),
                    Some(banks[i % 3]),
                )
            })
            .collect();
        let payouts: Vec<PayoutRow> = (0..n)
            .map(|i| {
                let status = [Success, Success, Failed, Returned, PayoutStatus::Pending][i % 5];
                // Every 13th names nobody on the list.
                let id = if i % 13 == 0 {
                    PersonalId::new(95_000_000_000 + i as u64, YEAR)
                        .map(|p| p.to_string())
                        .unwrap_or_default()
                } else {
                    id_of(i * 7 % n)
                };
                let p = pay(&id, banks[(i / 3) % 3], 1_000 + (i % 4) as i64, status);
                let p = PayoutRow {
                    name: Some(["NGUYEN VAN AN", "TRAN THI B"][i % 2].into()),
                    account: Some(format!("{}", i * 7 % n)),
                    ..p
                };
                if i % 11 == 0 {
                    with_ref(p, &format!("R{}", i % 500))
                } else {
                    p
                }
            })
            .collect();
        let one = super::reconcile_on(&list[..], &payouts[..], &Options::default(), 1, None);
        assert!(one.totals.flags.duplicate_row > 0, "{:?}", one.totals.flags);
        assert!(one.totals.unmatched_payouts.count > 0, "{:?}", one.totals);
        assert!(one.by_commune.len() >= 3, "{:?}", one.by_commune.len());
        for threads in [2, 3, 8] {
            let many =
                super::reconcile_on(&list[..], &payouts[..], &Options::default(), threads, None);
            assert!(many == one, "{threads} threads differ");
        }
    }

    /// Payouts in list order are linked by looking a few rows ahead first; in any other
    /// order through the index. Both find the same people, duplicate rows included.
    #[test]
    fn payouts_in_list_order_link_as_in_any_order() {
        use crate::domain::population_id::PersonalId;
        let n = 3_000;
        // Every 10th row repeats an earlier person.
        let id_of = |i: usize| {
            let k = if i % 10 == 9 { i / 2 } else { i };
            PersonalId::new(1_090_000_000 + k as u64, YEAR)
                .map(|p| p.to_string())
                .unwrap_or_default()
        };
        let list: Vec<BeneficiaryRow> = (0..n)
            .map(|i| ben_acct(&id_of(i), 1_000, &format!("{i}"), Some("BIDV")))
            .collect();
        // Gaps of up to 40 rows (past the look-ahead), and payouts for duplicate rows.
        let payouts: Vec<PayoutRow> = (0..n)
            .filter(|i| i % 7 != 3 && !(100..140).contains(&(i % 500)))
            .map(|i| {
                let p = pay(&id_of(i), "BIDV", 1_000, Success);
                with_ref(p, &format!("R{i}"))
            })
            .collect();
        let reversed: Vec<PayoutRow> = payouts.iter().rev().cloned().collect();
        for threads in [1, 2] {
            let ordered =
                super::reconcile_on(&list[..], &payouts[..], &Options::default(), threads, None);
            let other =
                super::reconcile_on(&list[..], &reversed[..], &Options::default(), threads, None);
            assert!(ordered.totals.flags.duplicate_row > 0);
            assert!(ordered.beneficiaries == other.beneficiaries);
            let back: Vec<_> = other.payout_links.iter().rev().copied().collect();
            assert!(ordered.payout_links == back);
        }
    }

    /// Two wards' lists and a province's bank file, as the service reads a period.
    fn wards() -> (
        crate::domain::attributed::InUnits<Vec<BeneficiaryRow>>,
        crate::domain::attributed::InUnits<Vec<PayoutRow>>,
    ) {
        use crate::domain::attributed::InUnits;
        let mut list = InUnits::new();
        list.push_source(
            vec![ben_acct(ID_A, 100, "1", None), ben(ID_B, "B", 200)],
            |_| "00004",
        );
        // Ward 00008 lists C, and A again: the same person on two units' lists.
        list.push_source(
            vec![
                ben_acct(ID_C, 300, "3", None),
                ben_acct(ID_A, 100, "1", None),
            ],
            |_| "00008",
        );
        let mut payouts = InUnits::new();
        payouts.push_source(
            vec![
                ok(100),
                pay(ID_C, "Agribank", 300, Success),
                pay(ID_D, "Agribank", 50, Success),
            ],
            |_| "01",
        );
        (list, payouts)
    }

    #[test]
    fn the_same_id_on_two_units_lists_is_a_person_of_each_flagged_on_both() {
        let (list, payouts) = wards();
        let r = reconcile(&list, &payouts, &Options::default());
        // Each unit counts whom it listed: A in 00004 and in 00008.
        assert_eq!(r.beneficiaries.len(), 4);
        let (a4, a8) = (&r.beneficiaries[0], &r.beneficiaries[3]);
        for a in [a4, a8] {
            assert!(a.flags.contains(Flag::DuplicateAcrossUnits));
            assert!(
                !a.flags.contains(Flag::DuplicateRow),
                "not twice on one list"
            );
        }
        assert_eq!(r.totals.flags.duplicate_across_units, 2);
        // The payout (no account, no listed bank) goes to the first listing only.
        assert_eq!(
            (a4.outcome, a8.outcome),
            (Outcome::Matched, Outcome::Unpaid)
        );
        assert_eq!((r.amount_due(0), r.amount_due(3)), (d(100), d(100)));
        // Twice on one list stays duplicate_row.
        let one = run(&[ben(ID_A, "A", 1), ben(ID_A, "A", 1)], &[]);
        assert!(one.beneficiaries[0].flags.contains(Flag::DuplicateRow));
        assert!(
            !one.beneficiaries[0]
                .flags
                .contains(Flag::DuplicateAcrossUnits)
        );
        // Both listings are exceptions, each naming the other.
        let ex = crate::recon::exceptions(&list, &payouts, &r);
        let of = |unit: &str| {
            ex.iter()
                .find(|e| e.population_id == ID_A && e.unit.as_deref() == Some(unit))
                .unwrap_or_else(|| panic!("A's exception in {unit}"))
        };
        assert_eq!(of("00004").other_lists[0].unit.as_deref(), Some("00008"));
        assert_eq!(of("00008").other_lists[0].unit.as_deref(), Some("00004"));
        assert_eq!(of("00008").other_lists[0].rows, [1]);
    }

    #[test]
    fn a_payout_goes_to_the_listing_its_account_fits() {
        use crate::domain::attributed::InUnits;
        let mut list = InUnits::new();
        list.push_source(vec![ben_acct(ID_A, 100, "1", None)], |_| "00004");
        // 00008 lists A with another account, and twice: one person there, its rows added.
        list.push_source(
            vec![ben_acct(ID_A, 100, "009", None), ben(ID_A, "A", 50)],
            |_| "00008",
        );
        let mut payouts = InUnits::new();
        let by_account = PayoutRow {
            account: Some("9".into()),
            ..ok(150)
        };
        payouts.push_source(vec![by_account], |_| "01");
        let r = reconcile(&list, &payouts, &Options::default());
        assert_eq!(r.beneficiaries.len(), 2);
        let a8 = &r.beneficiaries[1];
        assert!(
            a8.flags.contains(Flag::DuplicateRow) && a8.flags.contains(Flag::DuplicateAcrossUnits)
        );
        assert_eq!((r.amount_due(1), r.amount_paid(1)), (d(150), d(150)));
        assert_eq!(a8.outcome, Outcome::Matched);
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Unpaid);
        assert_eq!(r.payout_links, [PayoutLink::Beneficiary(1)]);
    }

    #[test]
    fn a_payout_without_an_id_links_by_the_account_both_listings_share() {
        use crate::domain::attributed::InUnits;
        let mut list = InUnits::new();
        list.push_source(vec![ben_acct(ID_A, 100, "777", None)], |_| "00004");
        list.push_source(vec![ben_acct(ID_A, 100, "0777", None)], |_| "00008");
        let mut payouts = InUnits::new();
        payouts.push_source(vec![pay_acct("777", "Agribank", 100)], |_| "01");
        let r = reconcile(&list, &payouts, &Options::default());
        assert_eq!(r.payout_links, [PayoutLink::Beneficiary(0)]);
        assert!(r.beneficiaries[0].flags.contains(Flag::LinkedByAccount));
    }

    /// A on the lists of wards 00004 and 00008, with these (account, bank) each.
    fn a_on_two_lists(
        on4: (&str, &str),
        on8: (&str, &str),
    ) -> crate::domain::attributed::InUnits<Vec<BeneficiaryRow>> {
        let mut list = crate::domain::attributed::InUnits::new();
        list.push_source(vec![ben_acct(ID_A, 100, on4.0, Some(on4.1))], |_| "00004");
        list.push_source(vec![ben_acct(ID_A, 100, on8.0, Some(on8.1))], |_| "00008");
        list
    }

    #[test]
    fn a_listing_is_paid_by_its_units_file_then_by_what_fits_then_unpaid_first() {
        use crate::domain::attributed::InUnits;
        let list = a_on_two_lists(("1", "Agribank"), ("1", "Agribank"));
        let with_ref = |r: &str| with_ref(ok(100), r);
        // Ngọc Hà's own file pays its own listing.
        let mut own = InUnits::new();
        own.push_source(vec![with_ref("FT1")], |_| "00008");
        let r = reconcile(&list, &own, &Options::default());
        assert_eq!(r.payout_links, [PayoutLink::Beneficiary(1)]);
        // A province's file with one payment per ward's order: one each, not both to one.
        let mut province = InUnits::new();
        province.push_source(vec![with_ref("FT1"), with_ref("FT2")], |_| "01");
        let r = reconcile(&list, &province, &Options::default());
        assert_eq!(
            r.payout_links,
            [PayoutLink::Beneficiary(0), PayoutLink::Beneficiary(1)]
        );
        assert_eq!(
            (r.beneficiaries[0].outcome, r.beneficiaries[1].outcome),
            (Outcome::Matched, Outcome::Matched)
        );
    }

    #[test]
    fn account_and_bank_together_choose_the_listing_with_or_without_an_id() {
        use crate::domain::attributed::InUnits;
        let list = a_on_two_lists(("777", "Vietcombank"), ("777", "Agribank"));
        for payout in [
            PayoutRow {
                account: Some("777".into()),
                ..ok(100)
            },
            pay_acct("777", "Agribank", 100),
        ] {
            let mut payouts = InUnits::new();
            payouts.push_source(vec![payout], |_| "01");
            let r = reconcile(&list, &payouts, &Options::default());
            assert_eq!(r.payout_links, [PayoutLink::Beneficiary(1)]);
            assert!(!r.beneficiaries[1].flags.contains(Flag::AccountMismatch));
        }
    }

    #[test]
    fn figures_by_unit_and_scoped_sum_to_the_whole() {
        let (list, payouts) = wards();
        let whole = reconcile(&list, &payouts, &Options::default());
        let keys: Vec<Option<&str>> = whole.by_unit.iter().map(|s| s.key.as_deref()).collect();
        assert_eq!(keys, [Some("00004"), Some("00008"), Some("01")]);
        assert_eq!(sum_slices(&whole.by_unit), whole.totals);
        // The payout to nobody counts in its file's unit.
        let at = |r: &Reconciliation, u: &str| {
            r.by_unit
                .iter()
                .find(|s| s.key.as_deref() == Some(u))
                .map(|s| s.coverage.clone())
                .unwrap_or_default()
        };
        assert_eq!(at(&whole, "01").unmatched_payouts.count, 1);
        assert_eq!(at(&whole, "01").beneficiaries, 0);
        let mut parts = Coverage::default();
        for unit in ["00004", "00008", "01"] {
            let scoped =
                reconcile(&list, &payouts, &Options::default())
                    .scoped(&list, &payouts, &|u| u == Some(unit));
            assert_eq!(scoped.totals, at(&whole, unit), "{unit}");
            assert_eq!(
                sum_slices(&scoped.by_bank),
                scoped.totals,
                "{unit}: by bank"
            );
            // Per-person results are those of the whole period.
            assert_eq!(scoped.beneficiaries, whole.beneficiaries);
            parts.merge(&scoped.totals);
        }
        assert_eq!(parts, whole.totals);
        // A list read alone names no units: no breakdown by unit.
        assert!(run(&[ben(ID_A, "A", 1)], &[ok(1)]).by_unit.is_empty());
    }

    /// The previous period's lists as the engine takes them.
    fn previous(rows: &[BeneficiaryRow]) -> crate::recon::previous::Previous {
        let mut p = crate::recon::previous::Previous::default();
        for r in rows {
            p.push(r.id.as_id_ref(), r.account.as_deref(), r.bank);
        }
        p
    }

    #[test]
    fn a_changed_account_paid_into_and_a_payout_after_removal_are_flagged() {
        let before = [
            ben_acct(ID_A, 1_000, "111", Some("Agribank")),
            ben_acct(ID_B, 1_000, "222", Some("Agribank")),
            ben_acct(ID_C, 1_000, "333", Some("Agribank")),
            ben_acct(ID_D, 1_000, "444", Some("Agribank")),
        ];
        // A: new account, paid into it. B: new account, paid into the old one (the bank's
        // file says so: account_mismatch, not account_changed). C: same account (leading
        // zeros aside), paid. D: removed from the list, and still paid.
        let list = [
            ben_acct(ID_A, 1_000, "999", Some("Agribank")),
            ben_acct(ID_B, 1_000, "888", Some("Agribank")),
            ben_acct(ID_C, 1_000, "0333", Some("Agribank")),
        ];
        let paid_into = |id_text: &str, account: &str| PayoutRow {
            account: Some(account.to_owned()),
            ..pay(id_text, "Agribank", 1_000, Success)
        };
        let payouts = [
            paid_into(ID_A, "999"),
            paid_into(ID_B, "222"),
            paid_into(ID_C, "333"),
            paid_into(ID_D, "444"),
        ];
        let prev = previous(&before);
        let r = super::reconcile_against(&list[..], &payouts[..], &Options::default(), Some(&prev));
        let flags = |b: usize| r.beneficiaries[b].flags;
        assert!(flags(0).contains(Flag::AccountChanged));
        assert_eq!(r.beneficiaries[0].outcome, Outcome::Matched);
        assert!(!flags(1).contains(Flag::AccountChanged));
        assert!(flags(1).contains(Flag::AccountMismatch));
        assert!(!flags(2).contains(Flag::AccountChanged));
        assert_eq!(r.payout_links[3], PayoutLink::Unmatched);
        assert!(r.payout_flags(3).contains(Flag::PaidAfterRemoval));
        assert!(!r.payout_flags(0).contains(Flag::PaidAfterRemoval));
        assert_eq!(r.totals.flags.account_changed, 1);
        assert_eq!(r.totals.flags.paid_after_removal, 1);
        // Both are exceptions, A although matched cleanly otherwise.
        let ex = super::super::exceptions(&list[..], &payouts[..], &r);
        assert!(
            ex.iter()
                .any(|e| e.population_id == ID_A && e.flags.contains(Flag::AccountChanged))
        );
        assert!(ex.iter().any(|e| e.population_id == ID_D
            && e.kind == crate::recon::ExceptionKind::UnmatchedPayout
            && e.flags.contains(Flag::PaidAfterRemoval)));
        // The breakdowns count them too.
        assert_eq!(sum_slices(&r.by_bank).flags.account_changed, 1);

        // Without a previous period (or an empty one): neither flag, the same figures.
        for none in [None, Some(&crate::recon::previous::Previous::default())] {
            let plain =
                super::reconcile_against(&list[..], &payouts[..], &Options::default(), none);
            assert_eq!(plain.totals.flags.account_changed, 0);
            assert_eq!(plain.totals.flags.paid_after_removal, 0);
            assert!(
                plain
                    .beneficiaries
                    .iter()
                    .all(|b| !b.flags.contains(Flag::AccountChanged))
            );
        }
        // A failed payout into the new account is not "paid into" it.
        let failed = [PayoutRow {
            status: Failed,
            ..paid_into(ID_A, "999")
        }];
        let r = super::reconcile_against(&list[..1], &failed[..], &Options::default(), Some(&prev));
        assert!(!r.beneficiaries[0].flags.contains(Flag::AccountChanged));
    }

    fn adjusted(
        list: &[BeneficiaryRow],
        payouts: &[PayoutRow],
        adjustments: crate::recon::adjust::Adjustments,
    ) -> Reconciliation {
        let options = Options {
            adjustments,
            ..Default::default()
        };
        reconcile(list, payouts, &options)
    }

    /// A payout to nobody (its ID mistyped) linked by hand counts as the person's payout,
    /// flagged; a payout that links by itself keeps its own link.
    #[test]
    fn a_payout_linked_by_hand_counts_for_the_person_named() {
        use crate::recon::adjust::{Adjustments, PayoutRef, PersonRef};
        let list = [
            ben_acct(ID_A, 1_500_000, "1001", Some("Agribank")),
            ben_acct(ID_B, 1_000_000, "1002", Some("Agribank")),
        ];
        // ID_D is nobody's: a typo of ID_A's.
        let payouts = [
            with_ref(pay(ID_D, "Agribank", 1_500_000, Success), "FT1"),
            with_ref(pay(ID_B, "Agribank", 1_000_000, Success), "FT2"),
        ];
        let before = run(&list, &payouts);
        assert_eq!(before.beneficiaries[0].outcome, Outcome::Unpaid);
        assert_eq!(before.totals.unmatched_payouts.count, 1);
        let link = |reference: &str, id: &str| {
            (
                PayoutRef::Reference {
                    bank: bank("Agribank"),
                    reference: reference.into(),
                },
                PersonRef::Id {
                    id: id.into(),
                    unit: None,
                },
            )
        };
        let adj = Adjustments {
            // FT2 links by itself: the hand's link to A does not take it away from B.
            links: vec![link("FT1", ID_A), link("FT2", ID_A)],
            paid_in_cash: Vec::new(),
        };
        let r = adjusted(&list, &payouts, adj);
        let a = &r.beneficiaries[0];
        assert_eq!(a.outcome, Outcome::Matched);
        assert!(a.flags.contains(Flag::LinkedManually));
        assert!(a.paid_cashless);
        assert_eq!(r.payouts_of(0), &[0]);
        assert_eq!(r.payouts_of(1), &[1]);
        assert!(!r.beneficiaries[1].flags.contains(Flag::LinkedManually));
        assert_eq!(r.totals.unmatched_payouts.count, 0);
        assert_eq!(r.totals.paid_cashless, 2);
        assert_eq!(r.totals.amount_paid, d(2_500_000));
        assert_eq!(r.totals.flags.linked_manually, 1);
    }

    /// Paid in cash after all: still an account holder, paid, never cashless; the outcome
    /// stays what the bank said, and nothing is left owed.
    #[test]
    fn paid_in_cash_is_paid_but_not_cashless() {
        use crate::recon::adjust::{Adjustments, PersonRef};
        let list = [
            ben_acct(ID_A, 1_500_000, "1001", Some("Agribank")),
            ben_acct(ID_B, 1_000_000, "1002", Some("Agribank")),
            BeneficiaryRow {
                source: src(7),
                ..ben("12AB", "Lê Văn Cường", 500_000)
            },
        ];
        let payouts = [pay(ID_A, "Agribank", 1_500_000, Failed)];
        let adj = Adjustments {
            links: Vec::new(),
            paid_in_cash: vec![
                PersonRef::Id {
                    id: ID_A.into(),
                    unit: None,
                },
                PersonRef::Row { row: 7, unit: None },
            ],
        };
        let r = adjusted(&list, &payouts, adj);
        let a = &r.beneficiaries[0];
        assert_eq!(a.outcome, Outcome::Failed);
        assert!(a.flags.contains(Flag::PaidInCash));
        assert!(a.has_account && !a.paid_cashless);
        assert!(r.beneficiaries[2].flags.contains(Flag::PaidInCash));
        assert_eq!(r.totals.with_account, 2);
        assert_eq!(r.totals.paid_cashless, 0);
        assert_eq!(r.totals.flags.paid_in_cash, 2);
        let rows = crate::recon::exceptions(&list[..], &payouts[..], &r);
        let row_a = rows.iter().find(|e| e.population_id == ID_A);
        assert_eq!(row_a.map(|e| e.difference()), Some(None), "nothing owed");
    }
}
