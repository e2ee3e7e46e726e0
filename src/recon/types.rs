//! What the engine produces: outcomes, flags, coverage figures.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::banks::BankId;
use crate::domain::money::percent;

/// Exactly one per beneficiary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Matched,
    Underpaid,
    Overpaid,
    Duplicate,
    Failed,
    Returned,
    /// The bank reported the transfer as still in progress: neither paid nor failed.
    Pending,
    Unpaid,
    NoAccount,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Matched,
        Outcome::Underpaid,
        Outcome::Overpaid,
        Outcome::Duplicate,
        Outcome::Failed,
        Outcome::Returned,
        Outcome::Pending,
        Outcome::Unpaid,
        Outcome::NoAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Matched => "matched",
            Outcome::Underpaid => "underpaid",
            Outcome::Overpaid => "overpaid",
            Outcome::Duplicate => "duplicate",
            Outcome::Failed => "failed",
            Outcome::Returned => "returned",
            Outcome::Pending => "pending",
            Outcome::Unpaid => "unpaid",
            Outcome::NoAccount => "no_account",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Outcome::Matched => "Khớp",
            Outcome::Underpaid => "Chi thiếu",
            Outcome::Overpaid => "Chi thừa",
            Outcome::Duplicate => "Chi trùng",
            Outcome::Failed => "Chi không thành công",
            Outcome::Returned => "Bị hoàn trả",
            Outcome::Pending => "Đang xử lý (ngân hàng chưa báo kết quả)",
            Outcome::Unpaid => "Chưa chi trả",
            Outcome::NoAccount => "Không có tài khoản (chi tiền mặt)",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Outcome::Matched => "Matched",
            Outcome::Underpaid => "Underpaid",
            Outcome::Overpaid => "Overpaid",
            Outcome::Duplicate => "Paid more than once",
            Outcome::Failed => "Payment failed",
            Outcome::Returned => "Returned",
            Outcome::Pending => "Pending at the bank",
            Outcome::Unpaid => "Not paid",
            Outcome::NoAccount => "No account (cash)",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Data-quality and linking flags, on top of the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    NameMismatch,
    AccountMismatch,
    LinkedByAccount,
    IdDobMismatch,
    InvalidId,
    LegacyId,
    DuplicateRow,
    /// On an unmatched payout: a bank's callback named a beneficiary listed with another
    /// bank (or, where the list names no bank, with another account). Not counted as paid.
    WrongBank,
    /// The same personal ID on the current lists of two units of the period.
    DuplicateAcrossUnits,
    /// Listed in the previous period of the programme with another account (or bank), and
    /// paid into the new one: a known fraud pattern. Set only where the previous period's
    /// lists are given (stored runs, `reconcile --previous-beneficiaries`).
    AccountChanged,
    /// On an unmatched payout: its personal ID was on the previous period's lists and is
    /// on none of this period's (a payout to someone removed from the list).
    PaidAfterRemoval,
    /// A payout that linked to nobody, linked to this beneficiary by hand (resolving an
    /// exception: a typo'd ID); counted as theirs in the live figures and later runs.
    LinkedManually,
    /// Paid in cash after all (at the post office), recorded by hand: paid, outside the
    /// cashless scheme, never counted as paid cashless; nothing left to follow up.
    PaidInCash,
}

impl Flag {
    pub const ALL: [Flag; 13] = [
        Flag::NameMismatch,
        Flag::AccountMismatch,
        Flag::LinkedByAccount,
        Flag::IdDobMismatch,
        Flag::InvalidId,
        Flag::LegacyId,
        Flag::DuplicateRow,
        Flag::WrongBank,
        Flag::DuplicateAcrossUnits,
        Flag::AccountChanged,
        Flag::PaidAfterRemoval,
        Flag::LinkedManually,
        Flag::PaidInCash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::NameMismatch => "name_mismatch",
            Flag::AccountMismatch => "account_mismatch",
            Flag::LinkedByAccount => "linked_by_account",
            Flag::IdDobMismatch => "id_dob_mismatch",
            Flag::InvalidId => "invalid_id",
            Flag::LegacyId => "legacy_id",
            Flag::DuplicateRow => "duplicate_row",
            Flag::WrongBank => "wrong_bank",
            Flag::DuplicateAcrossUnits => "duplicate_across_units",
            Flag::AccountChanged => "account_changed",
            Flag::PaidAfterRemoval => "paid_after_removal",
            Flag::LinkedManually => "linked_manually",
            Flag::PaidInCash => "paid_in_cash",
        }
    }

    pub fn parse(s: &str) -> Option<Flag> {
        Flag::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Flag::NameMismatch => "Tên không khớp với ngân hàng",
            Flag::AccountMismatch => "Số tài khoản/ngân hàng khác danh sách",
            Flag::LinkedByAccount => "Ghép theo số tài khoản (ngân hàng không gửi số định danh)",
            Flag::IdDobMismatch => "Ngày sinh/giới tính không khớp số định danh",
            Flag::InvalidId => "Số định danh không hợp lệ",
            Flag::LegacyId => "Còn dùng CMND 9 số",
            Flag::DuplicateRow => "Trùng dòng trong danh sách",
            Flag::WrongBank => {
                "Ngân hàng báo chi cho người thuộc ngân hàng khác (không tính là đã chi)"
            }
            Flag::DuplicateAcrossUnits => "Có tên trong danh sách của hai đơn vị",
            Flag::AccountChanged => "Đổi tài khoản so với kỳ trước và được chi vào tài khoản mới",
            Flag::PaidAfterRemoval => "Được chi dù đã bị đưa ra khỏi danh sách so với kỳ trước",
            Flag::LinkedManually => "Khoản chi được ghép thủ công (sai số định danh)",
            Flag::PaidInCash => "Đã chi bằng tiền mặt (không tính là chi không dùng tiền mặt)",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Flag::NameMismatch => "Name differs from the bank's",
            Flag::AccountMismatch => "Account/bank differs from the list",
            Flag::LinkedByAccount => "Linked by account number (no ID from the bank)",
            Flag::IdDobMismatch => "Birth date/sex disagrees with the ID",
            Flag::InvalidId => "Invalid personal ID",
            Flag::LegacyId => "Old 9-digit ID card (CMND)",
            Flag::DuplicateRow => "Listed more than once",
            Flag::WrongBank => {
                "Posted by a bank for another bank's beneficiary (not counted as paid)"
            }
            Flag::DuplicateAcrossUnits => "On the lists of two units",
            Flag::AccountChanged => {
                "Account changed since the previous period, and paid into the new one"
            }
            Flag::PaidAfterRemoval => "Paid after being removed from the previous period's list",
            Flag::LinkedManually => "Payout linked by hand (mistyped ID)",
            Flag::PaidInCash => "Paid in cash after all (not counted as cashless)",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A small set of flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    pub fn insert(&mut self, flag: Flag) {
        self.0 |= flag.bit();
    }
    pub fn contains(self, flag: Flag) -> bool {
        self.0 & flag.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Flag>::deserialize(d)?;
        let mut flags = Flags::default();
        list.into_iter().for_each(|f| flags.insert(f));
        Ok(flags)
    }
}

impl Serialize for Flags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    pub matched: u64,
    pub underpaid: u64,
    pub overpaid: u64,
    pub duplicate: u64,
    pub failed: u64,
    pub returned: u64,
    /// Absent from runs stored before it existed: read as 0.
    #[serde(default)]
    pub pending: u64,
    pub unpaid: u64,
    pub no_account: u64,
}

impl OutcomeCounts {
    pub fn add(&mut self, o: Outcome) {
        *self.slot(o) += 1;
    }
    pub(crate) fn set(&mut self, o: Outcome, v: u64) {
        *self.slot(o) = v;
    }
    pub fn get(&self, o: Outcome) -> u64 {
        let arr = [
            self.matched,
            self.underpaid,
            self.overpaid,
            self.duplicate,
            self.failed,
            self.returned,
            self.pending,
            self.unpaid,
            self.no_account,
        ];
        arr[o.index()]
    }
    fn slot(&mut self, o: Outcome) -> &mut u64 {
        match o {
            Outcome::Matched => &mut self.matched,
            Outcome::Underpaid => &mut self.underpaid,
            Outcome::Overpaid => &mut self.overpaid,
            Outcome::Duplicate => &mut self.duplicate,
            Outcome::Failed => &mut self.failed,
            Outcome::Returned => &mut self.returned,
            Outcome::Pending => &mut self.pending,
            Outcome::Unpaid => &mut self.unpaid,
            Outcome::NoAccount => &mut self.no_account,
        }
    }
}

/// Counts of beneficiaries carrying each flag, plus files whose totals row disagrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCounts {
    pub name_mismatch: u64,
    pub account_mismatch: u64,
    pub linked_by_account: u64,
    pub id_dob_mismatch: u64,
    pub invalid_id: u64,
    pub legacy_id: u64,
    pub duplicate_row: u64,
    /// Unmatched payouts a bank posted for another bank's beneficiary (absent from runs
    /// stored before it existed: read as 0).
    #[serde(default)]
    pub wrong_bank: u64,
    /// People on the current lists of two units (absent from runs stored before it
    /// existed: read as 0).
    #[serde(default)]
    pub duplicate_across_units: u64,
    /// People whose account changed since the previous period and who were paid into the
    /// new one (absent from runs stored before it existed, read as 0; live figures do not
    /// read the previous period: 0 there).
    #[serde(default)]
    pub account_changed: u64,
    /// Unmatched payouts to someone removed since the previous period (as above).
    #[serde(default)]
    pub paid_after_removal: u64,
    /// People a payout was linked to by hand, and people paid in cash after all (resolved
    /// exceptions; left out of the JSON while 0, so reports made without any read as
    /// before, byte for byte).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub linked_manually: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub paid_in_cash: u64,
    /// Filled by whoever knows the files (the engine sees rows only).
    pub control_total_mismatch: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FlagCounts {
    pub fn add(&mut self, flags: Flags) {
        for f in flags.iter() {
            *self.slot(f) += 1;
        }
    }
    pub(crate) fn set(&mut self, f: Flag, v: u64) {
        *self.slot(f) = v;
    }
    pub fn get(&self, f: Flag) -> u64 {
        match f {
            Flag::NameMismatch => self.name_mismatch,
            Flag::AccountMismatch => self.account_mismatch,
            Flag::LinkedByAccount => self.linked_by_account,
            Flag::IdDobMismatch => self.id_dob_mismatch,
            Flag::InvalidId => self.invalid_id,
            Flag::LegacyId => self.legacy_id,
            Flag::DuplicateRow => self.duplicate_row,
            Flag::WrongBank => self.wrong_bank,
            Flag::DuplicateAcrossUnits => self.duplicate_across_units,
            Flag::AccountChanged => self.account_changed,
            Flag::PaidAfterRemoval => self.paid_after_removal,
            Flag::LinkedManually => self.linked_manually,
            Flag::PaidInCash => self.paid_in_cash,
        }
    }
    fn slot(&mut self, f: Flag) -> &mut u64 {
        match f {
            Flag::NameMismatch => &mut self.name_mismatch,
            Flag::AccountMismatch => &mut self.account_mismatch,
            Flag::LinkedByAccount => &mut self.linked_by_account,
            Flag::IdDobMismatch => &mut self.id_dob_mismatch,
            Flag::InvalidId => &mut self.invalid_id,
            Flag::LegacyId => &mut self.legacy_id,
            Flag::DuplicateRow => &mut self.duplicate_row,
            Flag::WrongBank => &mut self.wrong_bank,
            Flag::DuplicateAcrossUnits => &mut self.duplicate_across_units,
            Flag::AccountChanged => &mut self.account_changed,
            Flag::PaidAfterRemoval => &mut self.paid_after_removal,
            Flag::LinkedManually => &mut self.linked_manually,
            Flag::PaidInCash => &mut self.paid_in_cash,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedPayouts {
    pub count: u64,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// The coverage figures, for a whole period or one slice of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    pub beneficiaries: u64,
    pub with_account: u64,
    pub paid_cashless: u64,
    pub amount_due: Decimal,
    /// The part of `amount_due` due to account holders: what cashless payment can reach.
    /// The rest is paid in cash at the post office and never seen here.
    pub amount_due_cashless: Decimal,
    pub amount_paid: Decimal,
    pub outcomes: OutcomeCounts,
    pub flags: FlagCounts,
    pub unmatched_payouts: UnmatchedPayouts,
}

impl Coverage {
    /// Amount due to people without an account (paid in cash).
    pub fn amount_due_cash(&self) -> Decimal {
        self.amount_due - self.amount_due_cashless
    }

    /// Share of beneficiaries with an account, percent, 2 places half-up.
    pub fn account_coverage_pct(&self) -> Option<Decimal> {
        percent(self.with_account, self.beneficiaries)
    }
    /// Share of account holders paid cashless, percent, 2 places half-up.
    pub fn cashless_rate_pct(&self) -> Option<Decimal> {
        percent(self.paid_cashless, self.with_account)
    }

    /// Beneficiary `b` counted, without the amounts (the engine sums them apart).
    pub(crate) fn count_beneficiary(&mut self, b: &BeneficiaryResult) {
        self.beneficiaries += 1;
        if b.has_account {
            self.with_account += 1;
        }
        if b.paid_cashless {
            self.paid_cashless += 1;
        }
        self.outcomes.add(b.outcome);
        self.flags.add(b.flags);
    }

    pub(crate) fn merge(&mut self, other: &Coverage) {
        self.beneficiaries += other.beneficiaries;
        self.with_account += other.with_account;
        self.paid_cashless += other.paid_cashless;
        self.amount_due += other.amount_due;
        self.amount_due_cashless += other.amount_due_cashless;
        self.amount_paid += other.amount_paid;
        for o in Outcome::ALL {
            *self.outcomes.slot(o) += other.outcomes.get(o);
        }
        for f in Flag::ALL {
            *self.flags.slot(f) += other.flags.get(f);
        }
        self.flags.control_total_mismatch += other.flags.control_total_mismatch;
        self.unmatched_payouts.count += other.unmatched_payouts.count;
        self.unmatched_payouts.amount += other.unmatched_payouts.amount;
    }

    /// An unmatched payout, with its flags (`Reconciliation::payout_flags`).
    pub(crate) fn add_unmatched(&mut self, amount: Decimal, flags: Flags) {
        self.unmatched_payouts.count += 1;
        self.unmatched_payouts.amount += amount;
        self.flags.add(flags);
    }
}

/// Each person's amount due (their rows summed) and paid (their successful payouts
/// summed), apart from `BeneficiaryResult`: whole đồng as integers, 8 bytes a person
/// instead of 32; an amount that is not whole đồng or passes 4,294,967,294 đồng (a
/// person's allowance never does) is kept exactly, aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PersonAmounts {
    due: Vec<u32>,
    paid: Vec<u32>,
    /// By person: (due, paid), where `due` holds `ASIDE`.
    aside: rustc_hash::FxHashMap<u32, (Decimal, Decimal)>,
}

const ASIDE: u32 = u32::MAX;

use crate::domain::records::whole_u32 as whole;

impl PersonAmounts {
    pub(crate) fn with_capacity(n: usize) -> Self {
        PersonAmounts {
            due: Vec::with_capacity(n),
            paid: Vec::with_capacity(n),
            aside: Default::default(),
        }
    }

    /// A new person, owing `due` whole đồng.
    pub(crate) fn push_whole(&mut self, due: u32) {
        if due == ASIDE {
            return self.push(Decimal::from(due));
        }
        self.paid.push(0);
        self.due.push(due);
    }

    /// A new person, owing `due`.
    pub(crate) fn push(&mut self, due: Decimal) {
        let b = self.due.len() as u32;
        self.paid.push(0);
        match whole(due) {
            Some(v) => self.due.push(v),
            None => {
                self.due.push(ASIDE);
                self.aside.insert(b, (due, Decimal::ZERO));
            }
        }
    }

    fn set_aside(&mut self, b: usize) -> Option<&mut (Decimal, Decimal)> {
        let due = self.due.get_mut(b)?;
        if *due != ASIDE {
            let paid = self.paid.get(b).copied().unwrap_or(0);
            self.aside
                .insert(b as u32, (Decimal::from(*due), Decimal::from(paid)));
            *due = ASIDE;
        }
        self.aside.get_mut(&(b as u32))
    }

    pub(crate) fn add_due(&mut self, b: usize, amount: Decimal) {
        if let (Some(due), Some(v)) = (self.due.get_mut(b), whole(amount))
            && *due != ASIDE
            && let Some(sum) = due.checked_add(v).filter(|&s| s != ASIDE)
        {
            *due = sum;
            return;
        }
        if let Some(a) = self.set_aside(b) {
            a.0 += amount;
        }
    }

    /// `add_paid` of whole đồng, without a decimal on the way.
    pub(crate) fn add_paid_whole(&mut self, b: usize, amount: u32) {
        if let (Some(&due), Some(paid)) = (self.due.get(b), self.paid.get_mut(b))
            && due != ASIDE
            && let Some(sum) = paid.checked_add(amount).filter(|&s| s != ASIDE)
        {
            *paid = sum;
            return;
        }
        self.add_paid(b, Decimal::from(amount));
    }

    pub(crate) fn add_paid(&mut self, b: usize, amount: Decimal) {
        if let (Some(&due), Some(paid), Some(v)) =
            (self.due.get(b), self.paid.get_mut(b), whole(amount))
            && due != ASIDE
            && let Some(sum) = paid.checked_add(v).filter(|&s| s != ASIDE)
        {
            *paid = sum;
            return;
        }
        if let Some(a) = self.set_aside(b) {
            a.1 += amount;
        }
    }

    /// (due, paid) of person `b`, as whole đồng when both are.
    pub(crate) fn whole(&self, b: usize) -> Option<(u32, u32)> {
        match (self.due.get(b), self.paid.get(b)) {
            (Some(&due), Some(&paid)) if due != ASIDE => Some((due, paid)),
            _ => None,
        }
    }

    pub(crate) fn due(&self, b: usize) -> Decimal {
        match self.whole(b) {
            Some((due, _)) => Decimal::from(due),
            None => self.aside.get(&(b as u32)).map_or(Decimal::ZERO, |a| a.0),
        }
    }

    pub(crate) fn paid(&self, b: usize) -> Decimal {
        match self.whole(b) {
            Some((_, paid)) => Decimal::from(paid),
            None => self.aside.get(&(b as u32)).map_or(Decimal::ZERO, |a| a.1),
        }
    }
}

/// People with the same ID on the lists of several units: one beneficiary per list (each
/// unit counts whom it listed), grouped so a payout goes to the one listing it fits and the
/// exceptions show the others. Rare: empty unless a period's lists overlap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AcrossUnits {
    /// First listing's person → every listing's person, first first.
    groups: rustc_hash::FxHashMap<u32, Vec<u32>>,
    /// A later listing's person → the first listing's.
    first_of: rustc_hash::FxHashMap<u32, u32>,
}

impl AcrossUnits {
    pub(crate) fn add(&mut self, first: u32, other: u32) {
        self.groups
            .entry(first)
            .or_insert_with(|| vec![first])
            .push(other);
        self.first_of.insert(other, first);
    }

    /// Whether `b` is one of several listings of a person.
    pub(crate) fn has(&self, b: u32) -> bool {
        !self.groups.is_empty() && !self.members(b).is_empty()
    }

    /// Every listing's person of `b`'s group (empty when `b` is listed once).
    pub(crate) fn members(&self, b: u32) -> &[u32] {
        let first = self.first_of.get(&b).copied().unwrap_or(b);
        self.groups.get(&first).map_or(&[], Vec::as_slice)
    }

    /// Of the listings of the person `b` is, the one payout `i` is for, by what it says of
    /// itself, in this order: its file's (or callback's) unit holds the listing; a bank's
    /// callback may pay it; account and bank both fit, then the account, then the bank; not
    /// paid yet; else the first listing. `state(person, row)` says (may pay, paid yet).
    pub(crate) fn choose<L, P>(
        &self,
        b: u32,
        list: &L,
        people: &[BeneficiaryResult],
        payouts: &P,
        i: usize,
        state: impl Fn(u32, usize) -> (bool, bool),
    ) -> u32
    where
        L: crate::domain::records::ListRows + ?Sized,
        P: crate::domain::records::PayoutRows + ?Sized,
    {
        let tree = crate::domain::units::shipped_tree();
        let account = payouts.account(i).map(account_key);
        let (bank, unit) = (payouts.bank(i), payouts.unit(i));
        let rank = |m: u32| {
            let Some(r) = people.get(m as usize).map(|p| p.row as usize) else {
                return (false, false, false, false, false, false);
            };
            let acct = account.is_some() && list.account(r).map(account_key) == account;
            let same_bank = list.bank(r) == Some(bank);
            let (may_pay, paid) = state(m, r);
            (
                unit.zip(list.unit(r))
                    .is_some_and(|(pu, lu)| tree.is_within(lu, pu)),
                may_pay,
                acct && same_bank,
                acct,
                same_bank,
                !paid,
            )
        };
        let members = self.members(b);
        let mut best = members.first().copied().unwrap_or(b);
        let mut best_rank = rank(best);
        for &m in members.iter().skip(1) {
            let r = rank(m);
            // Strictly better only: among equals the first listing stays.
            if r > best_rank {
                (best, best_rank) = (m, r);
            }
        }
        best
    }
}

/// The bank and unit slices of summed figures, in the order reports list them: by bank
/// short name then unstated, by unit code then unstated.
pub(crate) fn bank_and_unit_slices(
    banks: impl IntoIterator<Item = (Option<BankId>, Coverage)>,
    units: impl IntoIterator<Item = (Option<String>, Coverage)>,
) -> (Vec<Slice<BankId>>, Vec<Slice<String>>) {
    let mut by_bank: Vec<Slice<BankId>> = banks
        .into_iter()
        .map(|(key, coverage)| Slice { key, coverage })
        .collect();
    by_bank.sort_by_key(|s| (s.key.is_none(), s.key.map(|k| k.short_name())));
    let mut by_unit: Vec<Slice<String>> = units
        .into_iter()
        .map(|(key, coverage)| Slice { key, coverage })
        .collect();
    by_unit.sort_by(|a, b| (a.key.is_none(), &a.key).cmp(&(b.key.is_none(), &b.key)));
    (by_bank, by_unit)
}

/// Account numbers compare without leading zeros: a list typed in Excel as a number lost
/// them, the bank's file did not. (Importers already removed spaces.)
pub(crate) fn account_key(a: &str) -> &str {
    let t = a.trim_start_matches('0');
    if t.is_empty() && !a.is_empty() {
        "0"
    } else {
        t
    }
}

/// The engine's verdict on one beneficiary (one person, possibly several list rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeneficiaryResult {
    /// Index of the first list row for this person. Further rows of the same list with the
    /// same ID are merged into this one (amounts summed): `Reconciliation::extra_rows`; the
    /// same ID on another list (another unit's) is a person of that list.
    pub row: u32,
    pub outcome: Outcome,
    pub flags: Flags,
    pub has_account: bool,
    pub paid_cashless: bool,
    /// The listed bank, else the bank that paid.
    pub bank: Option<BankId>,
}

/// What became of one payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutLink {
    /// Linked to this beneficiary (index into `Reconciliation::beneficiaries`).
    Beneficiary(u32),
    /// Links to nobody on the list: possible fraud or a missing list row.
    Unmatched,
    /// A bank's callback for beneficiary `named` (an index into
    /// `Reconciliation::beneficiaries`) who is listed with another bank: kept and shown as
    /// an unmatched payout (flag `wrong_bank`), never counted for them.
    WrongBank { named: u32 },
    /// The same (bank, reference) appears later in the input; the later state counts.
    Superseded { by: u32 },
}

/// One slice of a breakdown (a commune, a category or a bank); `key` None = not stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice<K> {
    pub key: Option<K>,
    pub coverage: Coverage,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Absolute tolerance in đồng when comparing paid with due (default 0).
    pub tolerance: Decimal,
    /// The targets to compare the coverage rates with.
    pub targets: crate::domain::period::Targets,
    /// Links and payments in cash recorded by hand (resolved exceptions).
    pub adjustments: super::adjust::Adjustments,
    /// Arrears carried over from earlier periods, owed on top of the month's amount.
    pub arrears: super::arrears::Arrears,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciliation {
    pub beneficiaries: Vec<BeneficiaryResult>,
    /// One entry per input payout, same order.
    pub payout_links: Vec<PayoutLink>,
    pub totals: Coverage,
    pub by_commune: Vec<Slice<String>>,
    pub by_category: Vec<Slice<String>>,
    pub by_bank: Vec<Slice<BankId>>,
    /// By the unit each person and unmatched payout counts in (empty when the rows name
    /// no units), by code.
    pub by_unit: Vec<Slice<String>>,
    pub options: Options,
    /// Each beneficiary's amounts due and paid: `amount_due(b)`, `amount_paid(b)`.
    pub(crate) amounts: PersonAmounts,
    /// Further list rows of a person listed more than once (rare: kept apart, not a
    /// vector in every beneficiary).
    pub(crate) duplicate_rows: rustc_hash::FxHashMap<u32, Vec<u32>>,
    /// People listed by two units' lists (one person per list), grouped.
    pub(crate) across_units: AcrossUnits,
    // CSR index beneficiary -> linked payouts.
    pub(crate) payout_offsets: Vec<u32>,
    pub(crate) payout_index: Vec<u32>,
    /// Unmatched payouts (indexes) whose ID the previous period listed: flagged
    /// `paid_after_removal`. Empty without a previous period.
    pub(crate) after_removal: rustc_hash::FxHashSet<u32>,
    /// What each person owed arrears paid towards them (beyond the month's amount, which
    /// is all `amounts` counts as paid). Empty without arrears.
    pub(crate) arrears_paid: rustc_hash::FxHashMap<u32, Decimal>,
}

impl PayoutLink {
    /// Counts as a payout to nobody on the list (plainly, or refused as another bank's).
    pub fn is_unmatched(self) -> bool {
        matches!(self, PayoutLink::Unmatched | PayoutLink::WrongBank { .. })
    }
}

impl Reconciliation {
    /// What beneficiary `b` is due: the amounts of their list rows, summed.
    pub fn amount_due(&self, b: usize) -> Decimal {
        self.amounts.due(b)
    }

    /// What beneficiary `b` was paid towards the month: their successful linked payouts,
    /// summed, less what went to arrears (`arrears_paid`).
    pub fn amount_paid(&self, b: usize) -> Decimal {
        self.amounts.paid(b)
    }

    /// What beneficiary `b`'s payments put towards arrears carried over to them.
    pub fn arrears_paid(&self, b: usize) -> Decimal {
        self.arrears_paid
            .get(&(b as u32))
            .copied()
            .unwrap_or_default()
    }

    /// Further list rows (indexes) of beneficiary `b`, merged into its first.
    pub fn extra_rows(&self, b: usize) -> &[u32] {
        self.duplicate_rows
            .get(&(b as u32))
            .map_or(&[], Vec::as_slice)
    }

    /// The same person on other units' lists (indexes into `beneficiaries`).
    pub fn also_listed_as(&self, b: usize) -> impl Iterator<Item = u32> + '_ {
        self.across_units
            .members(b as u32)
            .iter()
            .copied()
            .filter(move |&m| m != b as u32)
    }

    /// Indexes (into the input payouts) of the payouts linked to beneficiary `b`.
    pub fn payouts_of(&self, b: usize) -> &[u32] {
        match (self.payout_offsets.get(b), self.payout_offsets.get(b + 1)) {
            (Some(&s), Some(&e)) => &self.payout_index[s as usize..e as usize],
            _ => &[],
        }
    }

    /// The flags of payout `i` as an unmatched payout (`wrong_bank`, `paid_after_removal`).
    pub fn payout_flags(&self, i: usize) -> Flags {
        match self.payout_links.get(i) {
            Some(l) if l.is_unmatched() => {
                super::engine::unmatched_flags(*l, self.after_removal.contains(&(i as u32)))
            }
            _ => Flags::default(),
        }
    }

    pub fn unmatched_payouts(&self) -> impl Iterator<Item = usize> + '_ {
        self.payout_links
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_unmatched())
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whole đồng in integers, anything else aside: every sum as exact as Decimal's.
        #[test]
        fn person_amounts_are_exact_whatever_they_hold(
            ops in proptest::collection::vec((0usize..4, 0u8..3, -3i64..=3, 0u32..3), 1..60),
        ) {
            let mut amounts = PersonAmounts::default();
            let mut want: Vec<(Decimal, Decimal)> = Vec::new();
            for (who, what, n, kind) in ops {
                // Small whole amounts, whole amounts near i64's end, fractions.
                let amount = match kind {
                    0 => Decimal::from(n * 1_000),
                    1 => Decimal::from(u32::MAX / 2) * Decimal::from(n.signum()),
                    _ => Decimal::new(n * 15, 1),
                };
                if what == 0 || want.is_empty() {
                    match whole(amount) {
                        Some(v) if kind == 0 => amounts.push_whole(v),
                        _ => amounts.push(amount),
                    }
                    want.push((amount, Decimal::ZERO));
                    continue;
                }
                let b = who % want.len();
                if what == 1 {
                    amounts.add_due(b, amount);
                    want[b].0 += amount;
                } else {
                    match whole(amount) {
                        Some(v) if kind == 0 => amounts.add_paid_whole(b, v),
                        _ => amounts.add_paid(b, amount),
                    }
                    want[b].1 += amount;
                }
            }
            for (b, &(due, paid)) in want.iter().enumerate() {
                proptest::prop_assert_eq!(amounts.due(b), due, "due {}", b);
                proptest::prop_assert_eq!(amounts.paid(b), paid, "paid {}", b);
            }
        }
    }
}
