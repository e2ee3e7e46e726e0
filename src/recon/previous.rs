//! A period compared with the previous one of its programme: who was added to the lists,
//! who was removed, whose amount due or bank account changed (`compare`), and what the
//! engine needs to flag a payout into a changed account or to someone removed
//! (`Previous`). Pure: the caller reads both periods' lists and gives their rows here.
//!
//! People are compared by personal ID (a 12-digit ID, or an old 9-digit CMND kept as
//! typed); rows with an invalid or missing ID cannot be followed from one period to the
//! next and are left out. A person listed on several rows is one person: their amounts
//! summed, their first row's account and bank. An account "changed" when both periods
//! list an account for the person and the two differ (leading zeros aside, as the engine
//! compares accounts), or both name a bank and the banks differ: an account opened where
//! there was none is an opening, not a change, and an account no longer listed is a
//! move to cash.

use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;

use super::types::account_key;
use crate::domain::banks::BankId;
use crate::domain::records::IdRef;

/// Legacy CMNDs share the key space with 12-digit IDs; this offset keeps their keys apart
/// (the engine's own keys, `engine::person_key`).
pub(crate) const LEGACY_KEY_OFFSET: u64 = 1 << 41;

/// The key a person is compared by, when their ID can be followed: the ID's number, an
/// old CMND's number offset past every 12-digit ID. None for invalid or missing IDs.
pub fn person_key(id: IdRef<'_>) -> Option<u64> {
    match id {
        IdRef::Valid(p) => Some(p.value()),
        IdRef::Legacy(s) => s.parse::<u64>().ok().map(|n| n + LEGACY_KEY_OFFSET),
        _ => None,
    }
}

/// The bits of a `Holding` that hold the bank (its number, 0: none named).
const BANK_BITS: u32 = 16;

/// A person's account and bank in 8 bytes: 48 bits of a hash of the account (leading
/// zeros aside; 0: no account) and the bank's number. Two accounts whose hashes agree
/// are taken as one: a chance of about 1 in 10^14 per person compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Holding(u64);

impl Holding {
    pub fn new(account: Option<&str>, bank: Option<BankId>) -> Self {
        let account = account
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map_or(0, |a| {
                let mut h = FxHasher::default();
                h.write(account_key(a).as_bytes());
                // 48 bits, never 0 (0 says "no account").
                (h.finish() >> BANK_BITS) | 1
            });
        let bank = bank.map_or(0, |b| u64::from(b.number()));
        Holding((account << BANK_BITS) | bank)
    }

    fn account(self) -> u64 {
        self.0 >> BANK_BITS
    }

    fn bank(self) -> u64 {
        self.0 & ((1 << BANK_BITS) - 1)
    }

    /// Whether `after` is another account than `self`: both list one and they differ, or
    /// both name a bank and the banks differ.
    pub fn changed_to(self, after: Holding) -> bool {
        let (a, b) = (self.account(), after.account());
        if a == 0 || b == 0 {
            return false;
        }
        a != b || (self.bank() != 0 && after.bank() != 0 && self.bank() != after.bank())
    }
}

/// The people of the previous period's lists (every unit's), with the account each was
/// listed with: what the engine needs for the flags `account_changed` and
/// `paid_after_removal`. About 17 bytes a person (the national month: some 70 MB).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    people: FxHashMap<u64, Holding>,
}

impl Previous {
    pub fn with_capacity(n: usize) -> Self {
        Previous {
            people: FxHashMap::with_capacity_and_hasher(n, Default::default()),
        }
    }

    /// A row of the previous lists; a person's first row counts (as the engine's).
    pub fn push(&mut self, id: IdRef<'_>, account: Option<&str>, bank: Option<BankId>) {
        if let Some(key) = person_key(id) {
            self.people
                .entry(key)
                .or_insert_with(|| Holding::new(account, bank));
        }
    }

    pub fn len(&self) -> usize {
        self.people.len()
    }

    pub fn is_empty(&self) -> bool {
        self.people.is_empty()
    }

    /// Whether the person of `key` was listed.
    pub fn listed(&self, key: u64) -> bool {
        self.people.contains_key(&key)
    }

    /// Whether the person of `key` was listed with another account than `now`.
    pub fn account_changed(&self, key: u64, now: Holding) -> bool {
        self.people.get(&key).is_some_and(|h| h.changed_to(now))
    }
}

/// One person on one period's lists (of the subtree compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: u64,
    due: i64,
    holding: Holding,
    /// Where their first row is, as the caller numbers rows (to read it back for a page).
    at: u64,
}

/// One period's side of a comparison: its people, one entry per row until `finish`.
#[derive(Debug, Clone, Default)]
pub struct Side {
    entries: Vec<Entry>,
    finished: bool,
}

impl Side {
    pub fn with_capacity(n: usize) -> Self {
        Side {
            entries: Vec::with_capacity(n),
            finished: false,
        }
    }

    /// A list row: its ID, amount due (whole đồng), account and bank, and `at`, the
    /// caller's address of the row (rows of one person: the smallest is their first).
    pub fn push(
        &mut self,
        id: IdRef<'_>,
        due: i64,
        account: Option<&str>,
        bank: Option<BankId>,
        at: u64,
    ) {
        if let Some(key) = person_key(id) {
            self.entries.push(Entry {
                key,
                due,
                holding: Holding::new(account, bank),
                at,
            });
            self.finished = false;
        }
    }

    /// One entry a person, by key: amounts summed, the first row's account.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.entries.sort_unstable_by_key(|e| (e.key, e.at));
        let mut out: Vec<Entry> = Vec::with_capacity(self.entries.len());
        for e in self.entries.drain(..) {
            match out.last_mut() {
                Some(last) if last.key == e.key => last.due = last.due.saturating_add(e.due),
                _ => out.push(e),
            }
        }
        out.shrink_to_fit();
        self.entries = out;
        self.finished = true;
    }

    /// How many people.
    pub fn people(&mut self) -> usize {
        self.finish();
        self.entries.len()
    }
}

/// What changed for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// On this period's lists, not the previous period's.
    Added,
    /// On the previous period's lists, not this one's.
    Removed,
    /// On both, due another amount.
    AmountChanged,
    /// On both, listed with another account or bank.
    AccountChanged,
}

impl Change {
    pub const ALL: [Change; 4] = [
        Change::Added,
        Change::Removed,
        Change::AmountChanged,
        Change::AccountChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::AmountChanged => "amount_changed",
            Change::AccountChanged => "account_changed",
        }
    }

    pub fn parse(s: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.as_str() == s.trim())
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Change::Added => "Mới có tên",
            Change::Removed => "Không còn tên",
            Change::AmountChanged => "Thay đổi số tiền",
            Change::AccountChanged => "Thay đổi tài khoản",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Change::Added => "Added",
            Change::Removed => "Removed",
            Change::AmountChanged => "Amount changed",
            Change::AccountChanged => "Account changed",
        }
    }
}

/// A person's side of a change: the amount due and where their first row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listed {
    pub due: i64,
    pub at: u64,
}

/// One change: the person, and how they stood before and after (None: not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeRow {
    pub change: Change,
    pub key: u64,
    pub before: Option<Listed>,
    pub after: Option<Listed>,
}

/// The changes between two periods' lists: every row, by change (in `Change::ALL`'s
/// order) then personal ID; a person may be both `amount_changed` and
/// `account_changed`, a row in each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    pub rows: Vec<ChangeRow>,
    /// Where each change's rows start in `rows`, and the end.
    starts: [usize; 5],
}

impl Diff {
    pub fn count(&self, change: Change) -> usize {
        let k = change as usize;
        self.starts[k + 1] - self.starts[k]
    }

    /// The rows of one change.
    pub fn of(&self, change: Change) -> &[ChangeRow] {
        let k = change as usize;
        &self.rows[self.starts[k]..self.starts[k + 1]]
    }

    /// The counts, as the report and the API give them.
    pub fn counts(&self) -> ChangeCounts {
        ChangeCounts {
            added: self.count(Change::Added) as u64,
            removed: self.count(Change::Removed) as u64,
            amount_changed: self.count(Change::AmountChanged) as u64,
            account_changed: self.count(Change::AccountChanged) as u64,
        }
    }

    /// Roughly the bytes it holds (for a cache's budget).
    pub fn bytes(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<ChangeRow>()
    }
}

/// How many people each change has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangeCounts {
    pub added: u64,
    pub removed: u64,
    pub amount_changed: u64,
    pub account_changed: u64,
}

impl ChangeCounts {
    pub fn get(&self, c: Change) -> u64 {
        match c {
            Change::Added => self.added,
            Change::Removed => self.removed,
            Change::AmountChanged => self.amount_changed,
            Change::AccountChanged => self.account_changed,
        }
    }
}

/// `before`'s people against `after`'s, by personal ID (both sides merged: a linear
/// pass over two sorted vectors).
pub fn compare(mut before: Side, mut after: Side) -> Diff {
    before.finish();
    after.finish();
    let mut by: [Vec<ChangeRow>; 4] = Default::default();
    let listed = |e: &Entry| Listed {
        due: e.due,
        at: e.at,
    };
    let (mut b, mut a) = (
        before.entries.iter().peekable(),
        after.entries.iter().peekable(),
    );
    let row = |change, key, before, after| ChangeRow {
        change,
        key,
        before,
        after,
    };
    loop {
        let (x, y) = match (b.peek(), a.peek()) {
            (None, None) => break,
            (x, y) => (x.copied().copied(), y.copied().copied()),
        };
        let order = match (x, y) {
            (Some(x), Some(y)) => x.key.cmp(&y.key),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match (order, x, y) {
            (std::cmp::Ordering::Equal, Some(x), Some(y)) => {
                b.next();
                a.next();
                let (bl, al) = (Some(listed(&x)), Some(listed(&y)));
                if x.due != y.due {
                    by[Change::AmountChanged as usize].push(row(
                        Change::AmountChanged,
                        x.key,
                        bl,
                        al,
                    ));
                }
                if x.holding.changed_to(y.holding) {
                    by[Change::AccountChanged as usize].push(row(
                        Change::AccountChanged,
                        x.key,
                        bl,
                        al,
                    ));
                }
            }
            (std::cmp::Ordering::Less, Some(x), _) => {
                b.next();
                by[Change::Removed as usize].push(row(
                    Change::Removed,
                    x.key,
                    Some(listed(&x)),
                    None,
                ));
            }
            (_, _, Some(y)) => {
                a.next();
                by[Change::Added as usize].push(row(Change::Added, y.key, None, Some(listed(&y))));
            }
            // Not reached: a side with no entry is never the smaller.
            _ => break,
        }
    }
    let mut starts = [0usize; 5];
    let mut rows = Vec::with_capacity(by.iter().map(Vec::len).sum());
    for (k, part) in by.into_iter().enumerate() {
        rows.extend(part);
        starts[k + 1] = rows.len();
    }
    Diff { rows, starts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::population_id::PersonalId;

    fn id(n: u64) -> IdRef<'static> {
        IdRef::Valid(PersonalId::new(1_090_000_000 + n, 2026).unwrap_or_else(|e| panic!("{e:?}")))
    }

    fn bank(code: &str) -> Option<BankId> {
        BankId::resolve(code)
    }

    #[test]
    fn holdings_compare_accounts_without_leading_zeros_and_banks_only_when_both_named() {
        let agri = bank("Agribank");
        let vtb = bank("VietinBank");
        assert!(agri.is_some() && vtb.is_some() && agri != vtb);
        let h = |a: Option<&str>, b| Holding::new(a, b);
        assert!(!h(Some("001001"), agri).changed_to(h(Some("1001"), agri)));
        assert!(h(Some("1001"), agri).changed_to(h(Some("1002"), agri)));
        assert!(h(Some("1001"), agri).changed_to(h(Some("1001"), vtb)));
        assert!(!h(Some("1001"), None).changed_to(h(Some("1001"), vtb)));
        // An account opened, or no longer listed: not a change of account.
        assert!(!h(None, None).changed_to(h(Some("1001"), agri)));
        assert!(!h(Some("1001"), agri).changed_to(h(None, None)));
        assert!(!h(Some(" "), agri).changed_to(h(Some("9"), agri)));
    }

    #[test]
    fn the_four_changes_exactly() {
        let agri = bank("Agribank");
        let mut before = Side::default();
        let mut after = Side::default();
        // 1 stays as is; 2 removed; 3 added; 4 amount; 5 account; 6 both; 7 two rows
        // summed (1,000 + 500) against 1,500: no change; 8 invalid ID: left out.
        before.push(id(1), 1_000, Some("11"), agri, 10);
        before.push(id(2), 1_000, Some("12"), agri, 11);
        before.push(id(4), 1_000, Some("14"), agri, 12);
        before.push(id(5), 1_000, Some("15"), agri, 13);
        before.push(id(6), 1_000, Some("16"), agri, 14);
        before.push(id(7), 1_500, None, None, 15);
        before.push(IdRef::Invalid("12AB"), 1_000, None, None, 16);
        after.push(id(7), 1_000, None, None, 20);
        after.push(id(6), 2_000, Some("99"), agri, 21);
        after.push(id(5), 1_000, Some("0015"), bank("VietinBank"), 22);
        after.push(id(4), 1_200, Some("14"), agri, 23);
        after.push(id(3), 1_000, None, None, 24);
        after.push(id(1), 1_000, Some("11"), agri, 25);
        after.push(id(7), 500, None, None, 26);
        after.push(IdRef::Invalid("12AC"), 1_000, None, None, 27);
        let d = compare(before, after);
        let keys = |c| {
            d.of(c)
                .iter()
                .map(|r| r.key - 1_090_000_000)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(Change::Added), vec![3]);
        assert_eq!(keys(Change::Removed), vec![2]);
        assert_eq!(keys(Change::AmountChanged), vec![4, 6]);
        assert_eq!(keys(Change::AccountChanged), vec![5, 6]);
        assert_eq!(
            d.counts(),
            ChangeCounts {
                added: 1,
                removed: 1,
                amount_changed: 2,
                account_changed: 2
            }
        );
        let six = d.of(Change::AmountChanged)[1];
        assert_eq!(six.before, Some(Listed { due: 1_000, at: 14 }));
        assert_eq!(six.after, Some(Listed { due: 2_000, at: 21 }));
        assert_eq!(d.of(Change::Added)[0].before, None);
        assert_eq!(d.of(Change::Removed)[0].after, None);
    }

    #[test]
    fn nothing_before_means_everyone_added() {
        let mut after = Side::default();
        for n in 0..5 {
            after.push(id(n), 1, None, None, n);
        }
        assert_eq!(after.people(), 5);
        let d = compare(Side::default(), after);
        assert_eq!(d.counts().added, 5);
        assert_eq!(d.rows.len(), 5);
    }

    #[test]
    fn previous_knows_who_was_listed_and_with_what() {
        let agri = bank("Agribank");
        let mut p = Previous::default();
        p.push(id(1), Some("11"), agri);
        p.push(id(1), Some("99"), agri); // a second row: the first counts
        p.push(IdRef::Legacy("012345678"), None, None);
        p.push(IdRef::Missing, Some("1"), None);
        assert_eq!(p.len(), 2);
        let k1 = person_key(id(1)).unwrap_or_default();
        assert!(p.listed(k1));
        assert!(!p.account_changed(k1, Holding::new(Some("011"), agri)));
        assert!(p.account_changed(k1, Holding::new(Some("12"), agri)));
        assert!(p.listed(person_key(IdRef::Legacy("012345678")).unwrap_or_default()));
    }

    proptest::proptest! {
        /// The merge agrees with sets: added + kept = after's people, removed + kept =
        /// before's, whatever the rows.
        #[test]
        fn counts_add_up(
            before in proptest::collection::vec((0u64..40, 0i64..3, 0u8..3), 0..60),
            after in proptest::collection::vec((0u64..40, 0i64..3, 0u8..3), 0..60),
        ) {
            let side = |rows: &[(u64, i64, u8)]| {
                let mut s = Side::default();
                let accounts = ["1", "2", ""];
                for (at, (n, due, acct)) in rows.iter().enumerate() {
                    s.push(id(*n), *due, Some(accounts[*acct as usize]), None, at as u64);
                }
                s
            };
            let (mut b, mut a) = (side(&before), side(&after));
            let (nb, na) = (b.people(), a.people());
            let d = compare(b, a);
            let c = d.counts();
            let kept_b = nb as u64 - c.removed;
            let kept_a = na as u64 - c.added;
            proptest::prop_assert_eq!(kept_a, kept_b);
            proptest::prop_assert_eq!(d.rows.len() as u64, c.added + c.removed + c.amount_changed + c.account_changed);
            for w in d.rows.windows(2) {
                proptest::prop_assert!((w[0].change, w[0].key) < (w[1].change, w[1].key));
            }
        }
    }
}
