//! Deterministic test data: a province-size case that reproduces the seed figures
//! (26,794 beneficiaries; 16,923 with accounts = 63.16%; 16,467 paid cashless = 97.31%;
//! more than 33.2 billion VND paid) with every outcome and flag present in known numbers.
//!
//! The expected figures are computed from how each person was built, not by running the
//! engine, so a test comparing the two can fail.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, XlsxError};

use crate::recon::{FlagCounts, OutcomeCounts, UnmatchedPayouts};

/// SplitMix64: tiny, deterministic, good enough to scatter test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoAccount,
    NoAccountInvalidId,
    NoAccountLegacy,
    Matched,
    MatchedInvalidIdByAccount,
    MatchedLegacyByAccount,
    MatchedByAccount,
    NameMismatch,
    AccountMismatch,
    IdDobMismatch,
    DuplicateRow,
    Split,
    RepeatedBankRow,
    Underpaid,
    Overpaid,
    Duplicate,
    Failed,
    FailedTwice,
    Returned,
    PaidThenReturned,
    Unpaid,
}

/// People per kind at scale 1. Sums: 9,871 without an account, 16,923 with one.
const GROUPS: &[(Kind, u64)] = &[
    (Kind::NoAccount, 9_846),
    (Kind::NoAccountInvalidId, 20),
    (Kind::NoAccountLegacy, 5),
    (Kind::Matched, 16_138),
    (Kind::MatchedInvalidIdByAccount, 20),
    (Kind::MatchedLegacyByAccount, 10),
    (Kind::MatchedByAccount, 90),
    (Kind::NameMismatch, 45),
    (Kind::AccountMismatch, 18),
    (Kind::IdDobMismatch, 27),
    (Kind::DuplicateRow, 9),
    (Kind::Split, 30),
    (Kind::RepeatedBankRow, 10),
    (Kind::Underpaid, 37),
    (Kind::Overpaid, 21),
    (Kind::Duplicate, 12),
    (Kind::Failed, 118),
    (Kind::FailedTwice, 40),
    (Kind::Returned, 44),
    (Kind::PaidThenReturned, 20),
    (Kind::Unpaid, 234),
];
/// Payouts that link to nobody, per scale unit: 18 with unknown IDs, 5 with unknown accounts.
const UNMATCHED_BY_ID: u64 = 18;
const UNMATCHED_BY_ACCOUNT: u64 = 5;
/// What the list's totals row overstates (so `control_total_mismatch` = 1).
const TOTAL_ROW_ERROR: i64 = 1_500_000;

/// A cell as the generator writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    Date(NaiveDate),
    Empty,
}

impl Value {
    fn text(s: impl Into<String>) -> Value {
        Value::Text(s.into())
    }
}

/// Figures the reconciliation must produce for the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expected {
    pub beneficiaries: u64,
    pub with_account: u64,
    pub paid_cashless: u64,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_due: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount_paid: Decimal,
    pub outcomes: OutcomeCounts,
    pub flags: FlagCounts,
    pub unmatched_payouts: UnmatchedPayouts,
    pub row_errors: u64,
    pub list_data_rows: u64,
    pub list_rejected_rows: u64,
    pub payout_rejected_rows: u64,
}

/// The generated case: sheet rows per file, and what reconciling them must give.
pub struct ProvinceCase {
    pub scale: u32,
    pub list: Vec<Vec<Value>>,
    pub list_total: Decimal,
    pub agribank: Vec<Vec<Value>>,
    pub agribank_total: Decimal,
    pub vietinbank_csv: Vec<Vec<String>>,
    pub other_banks: Vec<Vec<Value>>,
    pub other_banks_total: Decimal,
    pub expected: Expected,
}

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Hà", "Tống", "Cao",
];
const MIDDLE_M: &[&str] = &["Văn", "Hữu", "Đức", "Minh", "Quốc", "Xuân", "Đình"];
const MIDDLE_F: &[&str] = &["Thị", "Ngọc", "Thanh", "Thu", "Kim", "Thị Thu"];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương",
    "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo",
    "Trang", "Tuấn", "Vân", "Yến", "Đông", "Ánh",
];
const COMMUNES: &[&str] = &[
    "Xã Tân Lập",
    "Xã Tân Phú",
    "Xã Thục Luyện",
    "Xã Võ Miếu",
    "Xã Văn Miếu",
    "Xã Cự Đồng",
    "Xã Thắng Sơn",
    "Xã Hương Cần",
    "Xã Yên Lãng",
    "Xã Yên Sơn",
    "Xã Khả Cửu",
    "Xã Đông Cửu",
    "Xã Tinh Nhuệ",
    "Xã Địch Quả",
    "Xã Lương Nha",
    "Xã Tất Thắng",
    "Xã Sơn Hùng",
    "Xã Giáp Lai",
    "Xã Tân Minh",
    "Thị trấn Thanh Sơn",
];
/// Category, quarterly amount (3 months × 500,000 × coefficient), weight in 20ths, birth years.
const CATEGORIES: &[(&str, i64, usize, (i32, i32))] = &[
    ("Người cao tuổi từ đủ 80 tuổi", 1_500_000, 8, (1930, 1944)),
    ("Người khuyết tật nặng", 2_250_000, 6, (1950, 2008)),
    ("Người khuyết tật đặc biệt nặng", 3_000_000, 3, (1950, 2008)),
    ("Trẻ em mồ côi", 2_250_000, 2, (2010, 2022)),
    ("Người đơn thân nghèo nuôi con", 1_500_000, 1, (1980, 2000)),
];
/// Province prefixes in the order chunks of a million people use them; 096 is kept for
/// the unmatched payouts and 094 for the rejected rows, so those never collide.
const PROVINCE_ORDER: &[u16] = &[
    25, 1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 95,
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum BankSlot {
    Agribank,
    VietinBank,
    Bidv,
    LpBank,
    Vbsp,
}

const LIST_BANK_TEXT: &[(BankSlot, &[&str])] = &[
    (
        BankSlot::Agribank,
        &[
            "Agribank",
            "NHNo&PTNT",
            "Ngân hàng Nông nghiệp và Phát triển Nông thôn Việt Nam",
            "NH Agribank",
            "VBA",
        ],
    ),
    (
        BankSlot::VietinBank,
        &["VietinBank", "Vietinbank", "CTG", "Công thương"],
    ),
    (
        BankSlot::Bidv,
        &["BIDV", "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam"],
    ),
    (
        BankSlot::LpBank,
        &["LPBank", "LienVietPostBank", "Bưu điện Liên Việt"],
    ),
    (
        BankSlot::Vbsp,
        &["NHCSXH", "VBSP", "Ngân hàng Chính sách xã hội"],
    ),
];

fn bank_texts(slot: BankSlot) -> &'static [&'static str] {
    LIST_BANK_TEXT
        .iter()
        .find(|(s, _)| *s == slot)
        .map_or(&[], |(_, t)| t)
}

fn bank_prefix(slot: BankSlot) -> &'static str {
    match slot {
        BankSlot::Agribank => "420",
        BankSlot::VietinBank => "108",
        BankSlot::Bidv => "451",
        BankSlot::LpBank => "020",
        BankSlot::Vbsp => "631",
    }
}

struct Person {
    name: String,
    birth_year: i32,
    female: bool,
    id12: String,
    category: &'static str,
    commune: &'static str,
    due: i64,
    bank: BankSlot,
    account: String,
}

/// A payout line before it is laid out for its bank's file.
struct Pay {
    bank: BankSlot,
    reference: String,
    id: Option<String>,
    name: String,
    account: String,
    amount: i64,
    status: &'static str,
    reason: Option<&'static str>,
}

fn id12(province: u16, birth_year: i32, female: bool, serial: u64) -> String {
    let century = (birth_year - 1900) / 100;
    let g = century * 2 + i32::from(female);
    format!(
        "{province:03}{g}{:02}{:06}",
        birth_year % 100,
        serial % 1_000_000
    )
}

fn ascii_upper(name: &str) -> String {
    crate::domain::names::fold(name).to_uppercase()
}

fn other_given(rng: &mut Rng, not: &str) -> &'static str {
    loop {
        let g = *rng.pick(GIVEN);
        if crate::domain::names::fold(g) != crate::domain::names::fold(not) {
            return g;
        }
    }
}

/// Build the case. `scale` multiplies every count (1 = the province).
pub fn province_case(scale: u32) -> ProvinceCase {
    let s = u64::from(scale.max(1));
    let mut rng = Rng(0x0D01_5A47 ^ s);
    let mut kinds: Vec<Kind> = GROUPS
        .iter()
        .flat_map(|(k, n)| std::iter::repeat_n(*k, (*n * s) as usize))
        .collect();
    for i in (1..kinds.len()).rev() {
        let j = rng.below(i + 1);
        kinds.swap(i, j);
    }

    let mut exp = Expected {
        beneficiaries: 0,
        with_account: 0,
        paid_cashless: 0,
        amount_due: Decimal::ZERO,
        amount_paid: Decimal::ZERO,
        outcomes: OutcomeCounts::default(),
        flags: FlagCounts::default(),
        unmatched_payouts: UnmatchedPayouts::default(),
        row_errors: 0,
        list_data_rows: 0,
        list_rejected_rows: 0,
        payout_rejected_rows: 0,
    };
    let weights: Vec<usize> = CATEGORIES
        .iter()
        .enumerate()
        .flat_map(|(i, c)| std::iter::repeat_n(i, c.2))
        .collect();

    let mut list: Vec<Vec<Value>> = Vec::with_capacity(kinds.len() + 64);
    let mut duplicates: Vec<Vec<Value>> = Vec::new();
    let mut pays: Vec<Pay> = Vec::new();
    let mut returns: Vec<Pay> = Vec::new();
    let mut list_sum = Decimal::ZERO;
    let value_ref = |bank: BankSlot, n: usize| format!("{}{:09}", bank_prefix(bank), n);
    let mut next_ref = 0usize;
    let mut new_ref = |bank: BankSlot| {
        next_ref += 1;
        value_ref(bank, next_ref)
    };

    for (i, kind) in kinds.iter().copied().enumerate() {
        let cat = CATEGORIES[weights[rng.below(weights.len())]];
        let female = rng.below(2) == 1;
        let birth_year = cat.3.0 + rng.below((cat.3.1 - cat.3.0 + 1) as usize) as i32;
        let chunk = i / 1_000_000;
        let province =
            PROVINCE_ORDER[(chunk * 2 + usize::from(i % 10 == 0)) % PROVINCE_ORDER.len()];
        let middle = if female {
            rng.pick(MIDDLE_F)
        } else {
            rng.pick(MIDDLE_M)
        };
        let name = format!("{} {} {}", rng.pick(FAMILY), middle, rng.pick(GIVEN));
        let arrears = if rng.below(20) == 0 { 1_500_000 } else { 0 };
        let bank = match rng.below(100) {
            0..55 => BankSlot::Agribank,
            55..75 => BankSlot::VietinBank,
            75..85 => BankSlot::Bidv,
            85..93 => BankSlot::LpBank,
            _ => BankSlot::Vbsp,
        };
        let p = Person {
            name,
            birth_year,
            female,
            id12: id12(province, birth_year, female, i as u64),
            category: cat.0,
            commune: COMMUNES[rng.below(COMMUNES.len())],
            due: cat.1 + arrears,
            bank,
            account: format!("{}{:010}", bank_prefix(bank), i),
        };

        let has_account = !matches!(
            kind,
            Kind::NoAccount | Kind::NoAccountInvalidId | Kind::NoAccountLegacy
        );
        // How the ID is written in the list.
        let list_id = match kind {
            Kind::NoAccountInvalidId | Kind::MatchedInvalidIdByAccount => match i % 4 {
                0 => Value::text(&p.id12[1..]), // 11-digit text: not padded
                1 => Value::text(format!("003{}", &p.id12[3..])), // no province 003
                2 => Value::Empty,              // missing
                _ => Value::text(format!("{} (CCCD)", &p.id12[..6])), // junk
            },
            Kind::NoAccountLegacy | Kind::MatchedLegacyByAccount => {
                if i % 2 == 0 {
                    Value::text(format!("{:09}", 100_000_000 + (i as u64 % 100_000_000)))
                } else {
                    // A CMND starting with 0, typed as a number (8 digits left): padded back to 9.
                    Value::Number((10_000_000 + i as u64 % 90_000_000) as f64)
                }
            }
            _ if i % 3 == 0 => Value::Number(p.id12.parse::<u64>().unwrap_or(0) as f64),
            _ => Value::text(&p.id12),
        };
        let dob_year = if kind == Kind::IdDobMismatch {
            p.birth_year + 1 + (i % 3) as i32
        } else {
            p.birth_year
        };
        let day = 1 + rng.below(28) as u32;
        let month = 1 + rng.below(12) as u32;
        let dob = match i % 10 {
            0..4 => Value::text(format!("{day:02}/{month:02}/{dob_year}")),
            4..7 => NaiveDate::from_ymd_opt(dob_year, month, day).map_or(Value::Empty, Value::Date),
            _ => Value::Number(f64::from(dob_year)),
        };
        let amount_cell = |amount: i64, i: usize| match i % 10 {
            0..5 => Value::Number(amount as f64),
            5..8 => Value::text(crate::domain::money::format_thousands(i128::from(amount))),
            8 => Value::text(format!(
                "{}đ",
                crate::domain::money::format_thousands(i128::from(amount))
            )),
            _ => Value::text(
                format!("{amount}")
                    .chars()
                    .rev()
                    .collect::<Vec<_>>()
                    .chunks(3)
                    .map(|c| c.iter().collect::<String>())
                    .collect::<Vec<_>>()
                    .join(",")
                    .chars()
                    .rev()
                    .collect::<String>(),
            ),
        };
        let account_cell = if !has_account {
            Value::Empty
        } else if i % 5 == 0 {
            Value::Number(p.account.parse::<u64>().unwrap_or(0) as f64)
        } else if i % 7 == 0 {
            Value::text(format!("{} {}", &p.account[..4], &p.account[4..]))
        } else {
            Value::text(&p.account)
        };
        let bank_cell = if has_account {
            Value::text(*rng.pick(bank_texts(p.bank)))
        } else {
            Value::Empty
        };
        let row = vec![
            Value::Empty, // STT, filled when laid out
            Value::text(&p.name),
            dob,
            Value::text(if p.female { "Nữ" } else { "Nam" }),
            list_id,
            Value::text(p.category),
            Value::text(p.commune),
            account_cell,
            bank_cell,
            amount_cell(p.due, i),
            Value::Empty,
        ];
        if kind == Kind::DuplicateRow {
            duplicates.push(row.clone());
            list_sum += Decimal::from(p.due);
        }
        list.push(row);
        list_sum += Decimal::from(p.due);

        // Expected figures, from the construction.
        let due = if kind == Kind::DuplicateRow {
            2 * p.due
        } else {
            p.due
        };
        exp.beneficiaries += 1;
        exp.amount_due += Decimal::from(due);
        if has_account {
            exp.with_account += 1;
        }
        let bank_name = if p.bank == BankSlot::Agribank {
            ascii_upper(&p.name)
        } else {
            p.name.clone()
        };
        let mut pay = |amount: i64,
                       status: &'static str,
                       reason: Option<&'static str>,
                       id: bool,
                       account: &str,
                       name: &str,
                       r: &mut Vec<Pay>| {
            r.push(Pay {
                bank: p.bank,
                reference: new_ref(p.bank),
                id: id.then(|| p.id12.clone()),
                name: name.to_owned(),
                account: account.to_owned(),
                amount,
                status,
                reason,
            });
        };
        let acct = p.account.clone();
        use crate::recon::Outcome as O;
        let (outcome, paid) = match kind {
            Kind::NoAccount | Kind::NoAccountInvalidId | Kind::NoAccountLegacy => (O::NoAccount, 0),
            Kind::Matched | Kind::IdDobMismatch => {
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                (O::Matched, p.due)
            }
            Kind::MatchedInvalidIdByAccount
            | Kind::MatchedLegacyByAccount
            | Kind::MatchedByAccount => {
                pay(p.due, "ok", None, false, &acct, &bank_name, &mut pays);
                (O::Matched, p.due)
            }
            Kind::NameMismatch => {
                let wrong = format!(
                    "{} {}",
                    p.name.rsplit_once(' ').map_or("", |(h, _)| h),
                    other_given(&mut rng, p.name.rsplit(' ').next().unwrap_or(""))
                );
                pay(p.due, "ok", None, true, &acct, &wrong, &mut pays);
                (O::Matched, p.due)
            }
            Kind::AccountMismatch => {
                let other = format!("{}{:010}", bank_prefix(p.bank), 9_000_000_000u64 + i as u64);
                pay(p.due, "ok", None, true, &other, &bank_name, &mut pays);
                (O::Matched, p.due)
            }
            Kind::DuplicateRow => {
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                (O::Matched, 2 * p.due)
            }
            Kind::Split => {
                pay(
                    p.due - 500_000,
                    "ok",
                    None,
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                pay(500_000, "ok", None, true, &acct, &bank_name, &mut pays);
                (O::Matched, p.due)
            }
            Kind::RepeatedBankRow => {
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                if let Some(last) = pays.last() {
                    let again = Pay {
                        reference: last.reference.clone(),
                        id: last.id.clone(),
                        name: last.name.clone(),
                        account: last.account.clone(),
                        ..*last
                    };
                    pays.push(again);
                }
                (O::Matched, p.due)
            }
            Kind::Underpaid => {
                pay(
                    p.due - 500_000,
                    "ok",
                    None,
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                (O::Underpaid, p.due - 500_000)
            }
            Kind::Overpaid => {
                pay(
                    p.due + 250_000,
                    "ok",
                    None,
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                (O::Overpaid, p.due + 250_000)
            }
            Kind::Duplicate => {
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                (O::Duplicate, 2 * p.due)
            }
            Kind::Failed => {
                pay(
                    p.due,
                    "fail",
                    Some("Tài khoản bị phong tỏa"),
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                (O::Failed, 0)
            }
            Kind::FailedTwice => {
                pay(
                    p.due,
                    "fail",
                    Some("Sai số tài khoản"),
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                pay(
                    p.due,
                    "fail",
                    Some("Sai số tài khoản"),
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                (O::Failed, 0)
            }
            Kind::Returned => {
                pay(
                    p.due,
                    "return",
                    Some("Tài khoản đã đóng"),
                    true,
                    &acct,
                    &bank_name,
                    &mut pays,
                );
                (O::Returned, 0)
            }
            Kind::PaidThenReturned => {
                pay(p.due, "ok", None, true, &acct, &bank_name, &mut pays);
                if let Some(last) = pays.last() {
                    returns.push(Pay {
                        reference: last.reference.clone(),
                        id: last.id.clone(),
                        name: last.name.clone(),
                        account: last.account.clone(),
                        status: "return",
                        reason: Some("Người hưởng đã mất, hoàn trả"),
                        ..*last
                    });
                }
                (O::Returned, 0)
            }
            Kind::Unpaid => (O::Unpaid, 0),
        };
        exp.outcomes.add(outcome);
        exp.amount_paid += Decimal::from(paid);
        if paid > 0 {
            exp.paid_cashless += 1;
        }
        let flag = match kind {
            Kind::NoAccountInvalidId => vec![crate::recon::Flag::InvalidId],
            Kind::NoAccountLegacy => vec![crate::recon::Flag::LegacyId],
            Kind::MatchedInvalidIdByAccount => vec![
                crate::recon::Flag::InvalidId,
                crate::recon::Flag::LinkedByAccount,
            ],
            Kind::MatchedLegacyByAccount => vec![
                crate::recon::Flag::LegacyId,
                crate::recon::Flag::LinkedByAccount,
            ],
            Kind::MatchedByAccount => vec![crate::recon::Flag::LinkedByAccount],
            Kind::NameMismatch => vec![crate::recon::Flag::NameMismatch],
            Kind::AccountMismatch => vec![crate::recon::Flag::AccountMismatch],
            Kind::IdDobMismatch => vec![crate::recon::Flag::IdDobMismatch],
            Kind::DuplicateRow => vec![crate::recon::Flag::DuplicateRow],
            _ => vec![],
        };
        let mut flags = crate::recon::Flags::default();
        flag.into_iter().for_each(|f| flags.insert(f));
        exp.flags.add(flags);
    }
    pays.append(&mut returns);

    // Rows a person must fix; each has exactly one problem.
    let bad_list: &[(&str, Value, &str)] = &[
        ("Lò Văn Páo", Value::text("abc"), "Agribank"),
        ("Hà Thị Nhung", Value::Empty, "Agribank"),
        ("Sầm Văn Chinh", Value::text("-1.500.000"), "Agribank"),
        ("Bàn Thị Mây", Value::text("1.500.000,5"), "Agribank"),
        (
            "Triệu Văn Sinh",
            Value::Number(1_500_000.0),
            "Ngân hàng XYZ",
        ),
        ("Đinh Thị Lụa", Value::Number(0.0), "Agribank"),
    ];
    for k in 0..s as usize {
        for (j, (name, amount, bank)) in bad_list.iter().enumerate() {
            let serial = (k * bad_list.len() + j) as u64;
            list.push(vec![
                Value::Empty,
                Value::text(*name),
                Value::text("1950"),
                Value::text(if name.contains("Thị") {
                    "Nữ"
                } else {
                    "Nam"
                }),
                Value::text(id12(94, 1950, name.contains("Thị"), serial)),
                Value::text(CATEGORIES[1].0),
                Value::text(COMMUNES[j]),
                Value::text(format!("42099{serial:08}")),
                Value::text(*bank),
                amount.clone(),
                Value::Empty,
            ]);
        }
    }
    exp.list_rejected_rows = bad_list.len() as u64 * s;
    list.extend(duplicates);
    exp.list_data_rows = list.len() as u64;
    exp.flags.control_total_mismatch = 1;

    // Unmatched payouts, in the Agribank file.
    for k in 0..(UNMATCHED_BY_ID + UNMATCHED_BY_ACCOUNT) * s {
        let by_id = k % (UNMATCHED_BY_ID + UNMATCHED_BY_ACCOUNT) < UNMATCHED_BY_ID;
        let amount = 1_500_000 + 750_000 * (k as i64 % 3);
        pays.push(Pay {
            bank: BankSlot::Agribank,
            reference: new_ref(BankSlot::Agribank),
            id: by_id.then(|| id12(96, 1940 + (k % 40) as i32, k % 2 == 1, k)),
            name: format!("NGUOI NGOAI DANH SACH {k}"),
            account: format!("4209{k:09}"),
            amount,
            status: "ok",
            reason: None,
        });
        exp.unmatched_payouts.count += 1;
        exp.unmatched_payouts.amount += Decimal::from(amount);
    }

    // Lay the payouts out per bank file.
    let when = NaiveDate::from_ymd_opt(2024, 9, 16).unwrap_or_default();
    let mut agribank = Vec::new();
    let mut csv = vec![
        [
            "transaction_ref",
            "population_id",
            "account_number",
            "beneficiary_name",
            "amount",
            "currency",
            "status",
            "value_date",
            "reason",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    let mut others = Vec::new();
    let (mut agri_total, mut other_total) = (Decimal::ZERO, Decimal::ZERO);
    for (n, p) in pays.iter().enumerate() {
        let status =
            |vi_ok: &'static str, vi_fail: &'static str, vi_ret: &'static str| match p.status {
                "ok" => vi_ok,
                "fail" => vi_fail,
                _ => vi_ret,
            };
        match p.bank {
            BankSlot::Agribank => {
                agri_total += Decimal::from(p.amount);
                agribank.push(vec![
                    Value::Empty,
                    Value::text(&p.reference),
                    p.id.clone().map_or(Value::Empty, Value::Text),
                    Value::text(&p.name),
                    Value::text(&p.account),
                    Value::Number(p.amount as f64),
                    Value::text(status("Thành công", "Không thành công", "Hoàn trả")),
                    Value::Date(when + chrono::Days::new((n % 5) as u64)),
                    p.reason.map_or(Value::Empty, Value::text),
                ]);
            }
            BankSlot::VietinBank => csv.push(vec![
                p.reference.clone(),
                p.id.clone().unwrap_or_default(),
                p.account.clone(),
                p.name.clone(),
                p.amount.to_string(),
                "VND".into(),
                status("success", "failed", "returned").into(),
                (when + chrono::Days::new((n % 5) as u64)).to_string(),
                p.reason.unwrap_or_default().into(),
            ]),
            slot => {
                other_total += Decimal::from(p.amount);
                others.push(vec![
                    Value::Empty,
                    Value::text(*rng.pick(bank_texts(slot))),
                    Value::text(&p.reference),
                    p.id.clone().map_or(Value::Empty, Value::Text),
                    Value::text(&p.name),
                    Value::text(&p.account),
                    Value::text(crate::domain::money::format_thousands(i128::from(p.amount))),
                    Value::text(status("Đã chi", "Thất bại", "Trả lại")),
                    Value::text(crate::domain::dates::format_date_vi(when)),
                    p.reason.map_or(Value::Empty, Value::text),
                ]);
            }
        }
    }
    // Rows the banks must fix; rejected, so they change no figure.
    let some_id = kinds
        .iter()
        .position(|k| *k == Kind::Matched)
        .map(|i| list[i][4].clone())
        .unwrap_or(Value::Empty);
    let some_id_text = match &some_id {
        Value::Text(t) => t.clone(),
        Value::Number(n) => format!("{:012}", *n as u64),
        _ => String::new(),
    };
    for _ in 0..s {
        agribank.push(vec![
            Value::Empty,
            Value::text(new_ref(BankSlot::Agribank)),
            Value::text(&some_id_text),
            Value::text("X"),
            Value::text("4200000000000"),
            Value::Number(1_500_000.0),
            // An unreadable status (a pending one is read: it counts as pending).
            Value::text("Chưa rõ"),
            Value::Date(when),
            Value::Empty,
        ]);
        agribank.push(vec![
            Value::Empty,
            Value::text(new_ref(BankSlot::Agribank)),
            Value::text(&some_id_text),
            Value::text("X"),
            Value::text("4200000000000"),
            Value::text("abc"),
            Value::text("Thành công"),
            Value::Date(when),
            Value::Empty,
        ]);
        csv.push(vec![
            new_ref(BankSlot::VietinBank),
            some_id_text.clone(),
            "1080000000000".into(),
            "X".into(),
            String::new(),
            "VND".into(),
            "success".into(),
            when.to_string(),
            String::new(),
        ]);
        csv.push(vec![
            new_ref(BankSlot::VietinBank),
            some_id_text.clone(),
            "1080000000000".into(),
            "X".into(),
            "1500000".into(),
            "VND".into(),
            "unknown".into(),
            when.to_string(),
            String::new(),
        ]);
    }
    exp.payout_rejected_rows = 4 * s;
    exp.row_errors = exp.list_rejected_rows + exp.payout_rejected_rows;

    ProvinceCase {
        scale: scale.max(1),
        list,
        list_total: list_sum + Decimal::from(TOTAL_ROW_ERROR),
        agribank,
        agribank_total: agri_total,
        vietinbank_csv: csv,
        other_banks: others,
        other_banks_total: other_total,
        expected: exp,
    }
}

pub const LIST_FILE: &str = "danh_sach_chi_tra.xlsx";
pub const AGRIBANK_FILE: &str = "ket_qua_agribank.xlsx";
pub const VIETINBANK_FILE: &str = "vietinbank_results.csv";
pub const OTHER_BANKS_FILE: &str = "ket_qua_ngan_hang_khac.xlsx";

/// The command that reconciles the files written to `dir`.
pub fn reconcile_command(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "doisoat reconcile --period 2024-Q3 --beneficiaries {d}/{LIST_FILE} --payouts Agribank={d}/{AGRIBANK_FILE} --payouts VietinBank={d}/{VIETINBANK_FILE} --payouts {d}/{OTHER_BANKS_FILE}"
    )
}

fn write_cells(
    ws: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    cells: &[Value],
    date_fmt: &Format,
) -> Result<(), XlsxError> {
    for (c, v) in cells.iter().enumerate() {
        let c = c as u16;
        match v {
            Value::Text(t) => {
                ws.write_string(row, c, t)?;
            }
            Value::Number(n) => {
                ws.write_number(row, c, *n)?;
            }
            Value::Date(d) => {
                let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                ws.write_datetime_with_format(row, c, &dt, date_fmt)?;
            }
            Value::Empty => {}
        }
    }
    Ok(())
}

/// An office workbook: title block, header, column-number row, data, totals, signatures.
fn write_office_sheet(
    path: &Path,
    sheet: &str,
    title: &[&str],
    header: &[&str],
    rows: &[Vec<Value>],
    total: Option<(usize, Decimal)>,
    signatures: &[&str],
) -> Result<(), XlsxError> {
    let mut wb = Workbook::new();
    let date_fmt = Format::new().set_num_format("dd/mm/yyyy");
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(sheet)?;
    let mut r = 0u32;
    for t in title {
        ws.write_string_with_format(r, 0, *t, &bold)?;
        r += 1;
    }
    r += 1;
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, *h, &bold)?;
    }
    r += 1;
    for c in 0..header.len() {
        ws.write_string(r, c as u16, format!("({})", c + 1))?;
    }
    r += 1;
    for (n, row) in rows.iter().enumerate() {
        ws.write_number(r, 0, (n + 1) as f64)?;
        // Column 0 of every row is the STT placeholder (Empty), written just above.
        write_cells(ws, r, row, &date_fmt)?;
        r += 1;
    }
    if let Some((col, amount)) = total {
        ws.write_string_with_format(r, 1, "Tổng cộng", &bold)?;
        ws.write_number_with_format(
            r,
            col as u16,
            rust_decimal::prelude::ToPrimitive::to_f64(&amount).unwrap_or(0.0),
            &bold,
        )?;
        r += 1;
    }
    r += 1;
    for (c, s) in signatures.iter().enumerate() {
        ws.write_string_with_format(r, (c * 3) as u16 + 1, *s, &bold)?;
    }
    ws.write_string(r + 1, 1, "(Ký, ghi rõ họ tên)")?;
    wb.save(path)
}

/// Write the case's four files into `dir`; returns their paths.
pub fn write_province_files(case: &ProvinceCase, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let list_path = dir.join(LIST_FILE);
    write_office_sheet(
        &list_path,
        "DS chi trả",
        &[
            "UBND HUYỆN THANH SƠN            CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "PHÒNG LAO ĐỘNG - THƯƠNG BINH VÀ XÃ HỘI            Độc lập - Tự do - Hạnh phúc",
            "DANH SÁCH CHI TRẢ TRỢ CẤP XÃ HỘI HÀNG THÁNG QUA TÀI KHOẢN",
            "Quý III năm 2024",
            "ĐVT: đồng",
        ],
        &[
            "STT",
            "Họ và tên",
            "Ngày, tháng, năm sinh",
            "Giới tính",
            "Số định danh cá nhân",
            "Đối tượng",
            "Xã/phường",
            "Số tài khoản",
            "Ngân hàng",
            "Số tiền được hưởng (đồng)",
            "Ký nhận",
        ],
        &case.list,
        Some((9, case.list_total)),
        &["Người lập biểu", "Kế toán", "Trưởng phòng"],
    )?;
    let agri_path = dir.join(AGRIBANK_FILE);
    write_office_sheet(
        &agri_path,
        "Ket qua",
        &[
            "NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN VIỆT NAM - CHI NHÁNH THANH SƠN",
            "BẢNG KÊ KẾT QUẢ CHI TRẢ TRỢ CẤP XÃ HỘI QUA TÀI KHOẢN",
            "Kỳ: Quý III/2024",
        ],
        &[
            "STT",
            "Số tham chiếu",
            "Số CCCD",
            "Tên người thụ hưởng",
            "Số tài khoản",
            "Số tiền",
            "Trạng thái",
            "Ngày hạch toán",
            "Lý do",
        ],
        &case.agribank,
        Some((5, case.agribank_total)),
        &["Giao dịch viên", "Kiểm soát viên"],
    )?;
    let csv_path = dir.join(VIETINBANK_FILE);
    let mut w = csv::Writer::from_path(&csv_path)?;
    for rec in &case.vietinbank_csv {
        w.write_record(rec)?;
    }
    w.flush()?;
    let other_path = dir.join(OTHER_BANKS_FILE);
    write_office_sheet(
        &other_path,
        "Tong hop",
        &[
            "TỔNG HỢP KẾT QUẢ CHI TRẢ CỦA CÁC NGÂN HÀNG KHÁC",
            "Quý III/2024",
        ],
        &[
            "STT",
            "Ngân hàng",
            "Mã giao dịch",
            "Số định danh cá nhân",
            "Họ và tên",
            "Số tài khoản",
            "Số tiền",
            "Kết quả",
            "Ngày chi",
            "Ghi chú",
        ],
        &case.other_banks,
        Some((6, case.other_banks_total)),
        &["Người lập", "Kế toán trưởng"],
    )?;
    let expected_path = dir.join("expected.json");
    std::fs::write(&expected_path, serde_json::to_vec_pretty(&case.expected)?)?;
    Ok(vec![
        list_path,
        agri_path,
        csv_path,
        other_path,
        expected_path,
    ])
}

/// The small shipped samples in `fixtures/`: one commune office's list as offices make
/// it (title block, two-row header, ĐVT: 1.000 đồng, sections, subtotals, totals row,
/// signatures), an Agribank result sheet and a semicolon CSV with a bank column.
/// Their figures are worked out by hand in `tests/cli.rs`.
pub fn write_sample_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use Value::{Empty as E, Number as N};
    fn t(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
    std::fs::create_dir_all(dir)?;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("Thang 9")?;
    let title = [
        "UBND HUYỆN THANH SƠN",
        "UBND XÃ TÂN LẬP",
        "DANH SÁCH CHI TRẢ TRỢ CẤP XÃ HỘI HÀNG THÁNG THÁNG 9/2024",
        "ĐVT: 1.000 đồng",
    ];
    for (r, s) in title.iter().enumerate() {
        ws.write_string_with_format(r as u32, 0, *s, &bold)?;
    }
    let upper = [
        "STT",
        "Họ và tên",
        "Năm sinh",
        "Giới tính",
        "Số CCCD/ĐDCN",
        "Đối tượng",
        "Thông tin tài khoản",
        "",
        "Số tiền (nghìn đồng)",
        "Ký nhận",
    ];
    let lower = ["", "", "", "", "", "", "Số tài khoản", "Ngân hàng", "", ""];
    for (c, h) in upper.iter().enumerate() {
        ws.write_string_with_format(5, c as u16, *h, &bold)?;
    }
    for (c, h) in lower.iter().enumerate() {
        if !h.is_empty() {
            ws.write_string_with_format(6, c as u16, *h, &bold)?;
        }
    }
    for c in 0..upper.len() {
        ws.write_string(7, c as u16, format!("({})", c + 1))?;
    }
    let nkt = "Người khuyết tật nặng";
    let nct = "Người cao tuổi";
    let rows: Vec<Vec<Value>> = vec![
        vec![t("I. Xã Tân Lập")],
        vec![
            N(1.0),
            t("Nguyễn Văn An"),
            N(1938.0),
            t("Nam"),
            N(25038000101.0),
            t(nct),
            t("4200205123456"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(2.0),
            t("Trần Thị Bình"),
            t("1942"),
            t("Nữ"),
            t("025142000102"),
            t(nct),
            N(4200205123457.0),
            t("NHNo&PTNT"),
            N(1500.0),
        ],
        vec![
            N(3.0),
            t("Lê Văn Cường"),
            t("12/03/1955"),
            t("Nam"),
            t("025 055 000 103"),
            t(nkt),
            t("1080 0012 3456"),
            t("VietinBank"),
            t("2.250"),
        ],
        vec![
            N(4.0),
            t("Phạm Thị Dung"),
            t("1960"),
            t("Nữ"),
            t("025160000104"),
            t("Người khuyết tật đặc biệt nặng"),
            t("108000123457"),
            t("Vietinbank"),
            t("3.000"),
        ],
        vec![
            N(5.0),
            t("Hoàng Văn Em"),
            t("1940"),
            t("Nam"),
            t("131234567"),
            t(nct),
            t("4200205123460"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(6.0),
            t("Đỗ Thị Hoa"),
            t("1939"),
            t("Nữ"),
            t("025139000106"),
            t(nct),
            E,
            E,
            t("1.500"),
        ],
        vec![
            N(7.0),
            t("Vũ Văn Giang"),
            t("1941"),
            t("Nam"),
            t("025045000107"),
            t(nct),
            t("4200205123462"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(8.0),
            t("Nguyễn Văn An"),
            N(1938.0),
            t("Nam"),
            t("025038000101"),
            t(nct),
            t("4200205123456"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(9.0),
            t("Ngô Văn Khánh"),
            t("1944"),
            t("Nam"),
            t("02504400010"),
            t(nct),
            t("4200205123464"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(10.0),
            t("Đặng Thị Lan"),
            t("1943"),
            t("Nữ"),
            t("025143000110"),
            t(nct),
            t("4200205123465"),
            t("Agribank"),
            t("1.5OO"),
        ],
        vec![E, t("Cộng xã Tân Lập"), E, E, E, E, E, E, N(18_750.0)],
        vec![t("II. Xã Tân Phú")],
        vec![
            N(11.0),
            t("Dương Văn Minh"),
            t("1950"),
            t("Nam"),
            t("025050000111"),
            t(nkt),
            t("6310001234"),
            t("NHCSXH"),
            t("2.250"),
        ],
        vec![
            N(12.0),
            t("Lý Thị Nga"),
            t("1945"),
            t("Nữ"),
            t("025145000112"),
            t(nct),
            t("4200205123467"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(13.0),
            t("Tống Văn Phúc"),
            t("1948"),
            t("Nam"),
            t("025048000113"),
            t(nct),
            t("4200205123468"),
            t("Agribank"),
            t("1.500"),
        ],
        vec![
            N(14.0),
            t("Cao Thị Quế"),
            t("1946"),
            t("Nữ"),
            t("025146000114"),
            t(nct),
            t("1234567"),
            t("Ngân hàng ABC"),
            t("1.500"),
        ],
        vec![E, t("Cộng xã Tân Phú"), E, E, E, E, E, E, N(6_750.0)],
        vec![E, t("Tổng cộng"), E, E, E, E, E, E, N(24_000.0)],
        vec![],
        vec![
            E,
            t("Người lập biểu"),
            E,
            E,
            t("Kế toán"),
            E,
            E,
            t("Chủ tịch UBND xã"),
        ],
        vec![E, t("(Ký, ghi rõ họ tên)")],
    ];
    let date_fmt = Format::new().set_num_format("dd/mm/yyyy");
    for (i, row) in rows.iter().enumerate() {
        write_cells(ws, 8 + i as u32, row, &date_fmt)?;
    }
    let list = dir.join("danh_sach_xa_tan_lap.xlsx");
    wb.save(&list)?;

    let agri = dir.join("ket_qua_agribank.xlsx");
    let pay =
        |r: &str, id: Value, name: &str, acct: &str, amount: f64, status: &str, reason: Value| {
            vec![
                E,
                t(r),
                id,
                t(name),
                t(acct),
                N(amount),
                t(status),
                Value::Date(NaiveDate::from_ymd_opt(2024, 9, 20).unwrap_or_default()),
                reason,
            ]
        };
    let agri_rows = vec![
        pay(
            "FT24264000001",
            t("025038000101"),
            "NGUYEN VAN AN",
            "4200205123456",
            1_500_000.0,
            "Thành công",
            E,
        ),
        pay(
            "FT24264000002",
            t("025142000102"),
            "TRAN THI BICH",
            "4200205123457",
            1_500_000.0,
            "Thành công",
            E,
        ),
        pay(
            "FT24264000003",
            E,
            "HOANG VAN EM",
            "4200205123460",
            1_500_000.0,
            "Thành công",
            E,
        ),
        pay(
            "FT24264000004",
            t("025045000107"),
            "VU VAN GIANG",
            "4200205999999",
            1_500_000.0,
            "Thành công",
            E,
        ),
        pay(
            "FT24264000005",
            E,
            "NGO VAN KHANH",
            "4200205123464",
            1_500_000.0,
            "Thành công",
            E,
        ),
        pay(
            "FT24264000006",
            t("025048000113"),
            "TONG VAN PHUC",
            "4200205123468",
            1_500_000.0,
            "Không thành công",
            t("Tài khoản không tồn tại"),
        ),
        pay(
            "FT24264000007",
            t("037153000257"),
            "PHAM THI XUAN",
            "4200205000001",
            1_500_000.0,
            "Thành công",
            E,
        ),
    ];
    write_office_sheet(
        &agri,
        "Ket qua chi",
        &[
            "NGÂN HÀNG NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN VIỆT NAM",
            "Chi nhánh huyện Thanh Sơn",
            "KẾT QUẢ CHI TRẢ QUA TÀI KHOẢN THÁNG 9/2024",
        ],
        &[
            "STT",
            "Số tham chiếu",
            "Số CCCD",
            "Tên người thụ hưởng",
            "Số tài khoản",
            "Số tiền",
            "Trạng thái",
            "Ngày hạch toán",
            "Lý do",
        ],
        &agri_rows,
        Some((5, Decimal::from(10_500_000))),
        &["Giao dịch viên", "Kiểm soát viên"],
    )?;

    let csv_path = dir.join("ket_qua_ngan_hang.csv");
    std::fs::write(
        &csv_path,
        "\u{feff}transaction_ref;bank;population_id;account_number;beneficiary_name;amount;status;value_date;reason\r\n\
         VTB-0001;VietinBank;025055000103;108000123456;LE VAN CUONG;2.250.000;success;2024-09-21;\r\n\
         VTB-0002;VietinBank;025160000104;108000123457;PHAM THI DUNG;1.000.000;success;2024-09-21;\r\n\
         VTB-0003;VietinBank;025160000104;108000123457;PHAM THI DUNG;2.000.000;success;2024-09-22;split payment\r\n\
         VBSP-01;NHCSXH;025050000111;6310001234;Dương Văn Minh;2.250.000;returned;2024-09-23;Tài khoản đã đóng\r\n",
    )?;
    Ok(vec![list, agri, csv_path])
}
