//! Payment period (kỳ chi trả): a quarter, a month, or a whole year.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::names::fold;

const YEARS: std::ops::RangeInclusive<u16> = 2000..=2100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("payment period is empty")]
    Empty,
    #[error("unrecognised payment period '{0}' (expected e.g. 2024-Q3, 2024-09 or 2024)")]
    Unrecognized(String),
    #[error("year out of range 2000-2100 in payment period '{0}'")]
    YearOutOfRange(String),
    #[error("quarter must be 1-4 in payment period '{0}'")]
    QuarterOutOfRange(String),
    #[error("month must be 1-12 in payment period '{0}'")]
    MonthOutOfRange(String),
}

impl PeriodError {
    pub fn message_vi(&self) -> String {
        match self {
            PeriodError::Empty => "Chưa nhập kỳ chi trả".to_string(),
            PeriodError::Unrecognized(s) => {
                format!(
                    "Kỳ chi trả không hợp lệ: '{s}' (ví dụ hợp lệ: 2024-Q3, Quý 3/2024, 09/2024, 2024)"
                )
            }
            PeriodError::YearOutOfRange(s) => {
                format!("Năm của kỳ chi trả phải từ 2000 đến 2100: '{s}'")
            }
            PeriodError::QuarterOutOfRange(s) => format!("Quý phải từ 1 đến 4: '{s}'"),
            PeriodError::MonthOutOfRange(s) => format!("Tháng phải từ 1 đến 12: '{s}'"),
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Canonical "2024-Q3", "2024-09" or "2024".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodCode(String);

enum Kind {
    Year,
    Quarter(u8),
    Month(u8),
}

fn number(s: &str, len: std::ops::RangeInclusive<usize>) -> Option<u16> {
    if len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Quarters are very often written in Roman numerals ("Quý III/2024").
fn quarter_number(s: &str) -> Option<u16> {
    match s {
        "i" => Some(1),
        "ii" => Some(2),
        "iii" => Some(3),
        "iv" => Some(4),
        _ => number(s, 1..=2),
    }
}

impl PeriodCode {
    /// Accepts "2024-Q3", "Q3/2024", "Quý 3/2024", "Quý III/2024", "2024-09", "09/2024",
    /// "Tháng 9/2024", "2024", "Năm 2024".
    pub fn parse(s: &str) -> Result<PeriodCode, PeriodError> {
        let raw = s.trim();
        let unrecognized = || PeriodError::Unrecognized(raw.to_string());
        let compact: String = fold(raw).chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(PeriodError::Empty);
        }
        let split = |t: &str| -> Option<(String, String)> {
            let (a, b) = t.split_once(['/', '-', '.'])?;
            Some((a.to_string(), b.to_string()))
        };

        let (year, kind) = if let Some(rest) = compact.strip_prefix("nam") {
            (number(rest, 4..=4).ok_or_else(unrecognized)?, Kind::Year)
        } else if let Some(rest) = compact
            .strip_prefix("quy")
            .or_else(|| compact.strip_prefix('q'))
        {
            let (q, y) = split(rest).ok_or_else(unrecognized)?;
            let q = quarter_number(&q).ok_or_else(unrecognized)?;
            (
                number(&y, 4..=4).ok_or_else(unrecognized)?,
                Kind::Quarter(q as u8),
            )
        } else if let Some(rest) = compact.strip_prefix("thang") {
            let (m, y) = split(rest).ok_or_else(unrecognized)?;
            let m = number(&m, 1..=2).ok_or_else(unrecognized)?;
            (
                number(&y, 4..=4).ok_or_else(unrecognized)?,
                Kind::Month(m as u8),
            )
        } else if let Some(y) = number(&compact, 4..=4) {
            (y, Kind::Year)
        } else {
            let (a, b) = split(&compact).ok_or_else(unrecognized)?;
            if let Some(y) = number(&a, 4..=4) {
                if let Some(q) = b.strip_prefix('q') {
                    (
                        y,
                        Kind::Quarter(quarter_number(q).ok_or_else(unrecognized)? as u8),
                    )
                } else {
                    (
                        y,
                        Kind::Month(number(&b, 1..=2).ok_or_else(unrecognized)? as u8),
                    )
                }
            } else {
                let m = number(&a, 1..=2).ok_or_else(unrecognized)?;
                (
                    number(&b, 4..=4).ok_or_else(unrecognized)?,
                    Kind::Month(m as u8),
                )
            }
        };

        if !YEARS.contains(&year) {
            return Err(PeriodError::YearOutOfRange(raw.to_string()));
        }
        let code = match kind {
            Kind::Year => format!("{year}"),
            Kind::Quarter(q @ 1..=4) => format!("{year}-Q{q}"),
            Kind::Quarter(_) => return Err(PeriodError::QuarterOutOfRange(raw.to_string())),
            Kind::Month(m @ 1..=12) => format!("{year}-{m:02}"),
            Kind::Month(_) => return Err(PeriodError::MonthOutOfRange(raw.to_string())),
        };
        Ok(PeriodCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn year(&self) -> i32 {
        // Canonical codes always start with 4 digits.
        self.0
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or_default()
    }

    /// The months (1–12) this period spans, and its year.
    fn span(&self) -> (i32, std::ops::RangeInclusive<u32>) {
        let month = |t: &str| t.parse::<u32>().unwrap_or(0);
        match self.0.split_once('-') {
            None => (self.year(), 1..=12),
            Some((_, rest)) => match rest.strip_prefix('Q') {
                Some(q) => {
                    let q = month(q);
                    (self.year(), (3 * q).saturating_sub(2)..=3 * q)
                }
                None => (self.year(), month(rest)..=month(rest)),
            },
        }
    }

    /// Whether the two codes are of one kind (both months, both quarters or both years):
    /// only such codes follow one another ("2024-09" comes after "2024-08", never after
    /// "2024-Q3").
    pub fn same_kind(&self, other: &PeriodCode) -> bool {
        let kind = |c: &PeriodCode| match c.0.split_once('-') {
            None => 0,
            Some((_, r)) if r.starts_with('Q') => 1,
            Some(_) => 2,
        };
        kind(self) == kind(other)
    }

    /// Whether `self` is an earlier period of the same kind than `other`. Canonical codes
    /// of one kind order as their text does (`2024-08` < `2024-09`, `2024-Q2` < `2024-Q3`).
    pub fn precedes(&self, other: &PeriodCode) -> bool {
        self.same_kind(other) && self.0 < other.0
    }

    /// The two periods share a month (September 2024 is within Q3 2024 and 2024).
    pub fn overlaps(&self, other: &PeriodCode) -> bool {
        let ((y1, m1), (y2, m2)) = (self.span(), other.span());
        y1 == y2 && m1.start() <= m2.end() && m2.start() <= m1.end()
    }

    /// Periods a text names, as office titles write them: "THÁNG 9/2024", "tháng 09 năm
    /// 2024", "Quý III/2024", "quý 3 năm 2024".
    pub fn named_in(text: &str) -> Vec<PeriodCode> {
        let folded = fold(text);
        let words: Vec<&str> = folded
            .split(|c: char| !(c.is_alphanumeric() || c == '/'))
            .filter(|w| !w.is_empty())
            .collect();
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if !matches!(*w, "thang" | "quy") {
                continue;
            }
            let candidate = match (words.get(i + 1), words.get(i + 2), words.get(i + 3)) {
                (Some(a), _, _) if a.contains('/') => format!("{w} {a}"),
                (Some(a), Some(&"nam"), Some(y)) => format!("{w} {a}/{y}"),
                _ => continue,
            };
            if let Ok(code) = PeriodCode::parse(&candidate)
                && !out.contains(&code)
            {
                out.push(code);
            }
        }
        out
    }

    /// A stored code in words (`words`); a code that does not parse, as written.
    pub fn words_of(code: &str, vi: bool) -> String {
        PeriodCode::parse(code).map_or_else(|_| code.to_owned(), |c| c.words(vi))
    }

    /// The period in words, as office documents write it: "Tháng 9 năm 2024", "Quý III
    /// năm 2024", "Năm 2024"; in English "September 2024", "Q3 2024", "2024".
    pub fn words(&self, vi: bool) -> String {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const ROMAN: [&str; 4] = ["I", "II", "III", "IV"];
        let year = self.year();
        let number = |t: &str| t.parse::<usize>().ok().filter(|n| *n >= 1);
        let rest = self.0.split_once('-').map(|(_, r)| r);
        match (rest, vi) {
            (None, true) => format!("Năm {year}"),
            (None, false) => format!("{year}"),
            (Some(r), _) => match r.strip_prefix('Q') {
                Some(q) => match (number(q).and_then(|q| ROMAN.get(q - 1)), vi) {
                    (Some(roman), true) => format!("Quý {roman} năm {year}"),
                    _ => format!("Q{q} {year}"),
                },
                None => match (number(r), vi) {
                    (Some(m), true) => format!("Tháng {m} năm {year}"),
                    (Some(m), false) => match MONTHS.get(m - 1) {
                        Some(name) => format!("{name} {year}"),
                        None => self.0.clone(),
                    },
                    (None, _) => self.0.clone(),
                },
            },
        }
    }

    /// "Quý 3/2024", "Tháng 09/2024", "Năm 2024".
    pub fn label_vi(&self) -> String {
        match self.0.split_once('-') {
            None => format!("Năm {}", self.0),
            Some((y, rest)) => match rest.strip_prefix('Q') {
                Some(q) => format!("Quý {q}/{y}"),
                None => format!("Tháng {rest}/{y}"),
            },
        }
    }
}

/// What `target_bp` asks of a target, as a refusal says it.
pub const TARGET_RULE_VI: &str = "chỉ tiêu phải từ 0 đến 100, tối đa 2 chữ số thập phân";
pub const TARGET_RULE_EN: &str = "the target must be 0–100 with at most 2 decimals";

/// A period's coverage target as basis points (97,31% → 9731): 0–100 with at most two
/// decimals, else None. One rule for the API and the pages.
pub fn target_bp(pct: rust_decimal::Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    // The range first: a huge value (1e28) would overflow the multiplication.
    if pct < rust_decimal::Decimal::ZERO || pct > rust_decimal::Decimal::ONE_HUNDRED {
        return None;
    }
    let bp = pct.checked_mul(rust_decimal::Decimal::ONE_HUNDRED)?;
    if !bp.fract().is_zero() {
        return None;
    }
    bp.to_i64()
}

/// The targets the two coverage rates are compared with, one each: a province's
/// account-opening target (30%) is not its cashless-payment target (97%).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub account_coverage: Option<rust_decimal::Decimal>,
    pub cashless_rate: Option<rust_decimal::Decimal>,
}

impl Targets {
    /// One target for both rates (the CLI's `--target-pct`, a run stored before the split).
    pub fn both(t: Option<rust_decimal::Decimal>) -> Self {
        Targets {
            account_coverage: t,
            cashless_rate: t,
        }
    }

    /// The target both rates share, when they share one: what `target_pct` says in JSON.
    pub fn common(self) -> Option<rust_decimal::Decimal> {
        match (self.account_coverage, self.cashless_rate) {
            (Some(a), Some(c)) if a == c => Some(a),
            _ => None,
        }
    }

    pub fn is_none(self) -> bool {
        self.account_coverage.is_none() && self.cashless_rate.is_none()
    }
}

/// One level's targets (the period's, or a unit's own) as set, in basis points: `all`
/// for both rates (the one target doisoat first had), and each rate's own, which wins
/// over `all` for that rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetsBp {
    pub all: Option<i64>,
    pub account_coverage: Option<i64>,
    pub cashless_rate: Option<i64>,
}

impl TargetsBp {
    pub fn account(self) -> Option<i64> {
        self.account_coverage.or(self.all)
    }

    pub fn cashless(self) -> Option<i64> {
        self.cashless_rate.or(self.all)
    }

    pub fn is_empty(self) -> bool {
        self.all.is_none() && self.account_coverage.is_none() && self.cashless_rate.is_none()
    }

    /// The targets each rate is compared with at this level, as percentages.
    pub fn pct(self) -> Targets {
        Targets {
            account_coverage: self.account().map(bp_pct),
            cashless_rate: self.cashless().map(bp_pct),
        }
    }

    /// The change made: a field it names is set (or removed), the others are kept.
    pub fn apply(self, change: TargetChange) -> Self {
        TargetsBp {
            all: change.all.unwrap_or(self.all),
            account_coverage: change.account_coverage.unwrap_or(self.account_coverage),
            cashless_rate: change.cashless_rate.unwrap_or(self.cashless_rate),
        }
    }
}

/// A change to one level's targets: `None` leaves a target as it is, `Some(None)` removes
/// it, `Some(Some(bp))` sets it. A request that forgets a field must not remove it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetChange {
    pub all: Option<Option<i64>>,
    pub account_coverage: Option<Option<i64>>,
    pub cashless_rate: Option<Option<i64>>,
}

impl TargetChange {
    pub fn is_empty(self) -> bool {
        self.all.is_none() && self.account_coverage.is_none() && self.cashless_rate.is_none()
    }
}

/// Basis points as a percentage (9731 → 97.31).
pub fn bp_pct(bp: i64) -> rust_decimal::Decimal {
    rust_decimal::Decimal::new(bp, 2)
}

impl fmt::Display for PeriodCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PeriodCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PeriodCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        PeriodCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(s: &str) -> PeriodCode {
        PeriodCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn each_rate_takes_its_own_target_else_the_shared_one() {
        let d = |s: &str| s.parse::<rust_decimal::Decimal>().ok();
        let set = TargetsBp {
            all: Some(8000),
            account_coverage: Some(3000),
            cashless_rate: None,
        };
        assert_eq!((set.account(), set.cashless()), (Some(3000), Some(8000)));
        // A change names what it changes; the rest stays.
        let changed = set.apply(TargetChange {
            all: Some(None),
            cashless_rate: Some(Some(9500)),
            ..TargetChange::default()
        });
        assert_eq!(
            changed,
            TargetsBp {
                all: None,
                account_coverage: Some(3000),
                cashless_rate: Some(9500)
            }
        );
        assert!(changed.apply(TargetChange::default()) == changed);
        assert!(
            changed
                .apply(TargetChange {
                    account_coverage: Some(None),
                    cashless_rate: Some(None),
                    ..TargetChange::default()
                })
                .is_empty()
        );
        // The JSON's one `target_pct` only where both rates share it.
        assert_eq!(Targets::both(d("80")).common(), d("80"));
        let split = Targets {
            account_coverage: d("30"),
            cashless_rate: d("80"),
        };
        assert_eq!(split.common(), None);
        assert!(!split.is_none() && Targets::default().is_none());
        assert_eq!(bp_pct(9731), rust_decimal::Decimal::new(9731, 2));
    }

    #[test]
    fn targets_in_basis_points_and_nothing_out_of_range() {
        use rust_decimal::Decimal;
        let d = |s: &str| Decimal::from_str_exact(s).unwrap_or_default();
        assert_eq!(target_bp(d("97.31")), Some(9731));
        assert_eq!(target_bp(d("100")), Some(10000));
        assert_eq!(target_bp(d("0")), Some(0));
        assert_eq!(target_bp(d("97.315")), None);
        assert_eq!(target_bp(d("-1")), None);
        assert_eq!(target_bp(d("100.01")), None);
        // Far out of range (a JSON 1e28) is refused, not an overflow.
        assert_eq!(target_bp(Decimal::MAX), None);
        assert_eq!(target_bp(Decimal::MIN), None);
    }

    #[test]
    fn periods_named_in_titles() {
        assert_eq!(
            PeriodCode::named_in("DANH SÁCH CHI TRẢ TRỢ CẤP XÃ HỘI HÀNG THÁNG THÁNG 9/2024"),
            vec![period("2024-09")]
        );
        assert_eq!(
            PeriodCode::named_in("Tháng 10 năm 2024"),
            vec![period("2024-10")]
        );
        assert_eq!(
            PeriodCode::named_in("Quý III/2024"),
            vec![period("2024-Q3")]
        );
        assert_eq!(
            PeriodCode::named_in("quý 4 năm 2024"),
            vec![period("2024-Q4")]
        );
        // A signature line's date names its month too.
        assert_eq!(
            PeriodCode::named_in("Tân Lập, ngày 15 tháng 9 năm 2024"),
            vec![period("2024-09")]
        );
        assert!(PeriodCode::named_in("ĐVT: 1.000 đồng").is_empty());
        assert!(PeriodCode::named_in("Hàng tháng").is_empty());
    }

    #[test]
    fn a_period_follows_only_one_of_its_kind() {
        assert!(period("2024-08").precedes(&period("2024-09")));
        assert!(period("2023-12").precedes(&period("2024-01")));
        assert!(period("2024-Q2").precedes(&period("2024-Q3")));
        assert!(period("2023").precedes(&period("2024")));
        assert!(!period("2024-09").precedes(&period("2024-09")));
        assert!(!period("2024-10").precedes(&period("2024-09")));
        // "2024-09" < "2024-Q3" as text, but a month never comes before a quarter.
        assert!(!period("2024-09").precedes(&period("2024-Q3")));
        assert!(!period("2024-Q2").precedes(&period("2024-09")));
        assert!(!period("2023").precedes(&period("2024-01")));
        assert!(period("2024-09").same_kind(&period("2025-01")));
        assert!(!period("2024-Q1").same_kind(&period("2024")));
    }

    #[test]
    fn overlapping_periods() {
        assert!(period("2024-09").overlaps(&period("2024-Q3")));
        assert!(period("2024-Q3").overlaps(&period("2024-09")));
        assert!(period("2024").overlaps(&period("2024-12")));
        assert!(!period("2024-09").overlaps(&period("2024-10")));
        assert!(!period("2024-Q3").overlaps(&period("2024-10")));
        assert!(!period("2024-09").overlaps(&period("2023-09")));
    }
    use proptest::prelude::*;

    fn code(s: &str) -> String {
        PeriodCode::parse(s)
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn quarters() {
        for s in [
            "2024-Q3",
            "2024-q3",
            "2024 - Q3",
            "Q3/2024",
            "q3-2024",
            "Quý 3/2024",
            "quy 3 / 2024",
            "QUÝ III/2024",
            "Quý 03/2024",
        ] {
            assert_eq!(code(s), "2024-Q3", "{s}");
        }
        assert_eq!(code("Quý IV/2025"), "2025-Q4");
    }

    #[test]
    fn months() {
        for s in [
            "2024-09",
            "2024-9",
            "09/2024",
            "9/2024",
            "Tháng 9/2024",
            "tháng 09-2024",
            "THANG 9/2024",
            "9.2024",
        ] {
            assert_eq!(code(s), "2024-09", "{s}");
        }
        assert_eq!(code("12/2100"), "2100-12");
    }

    #[test]
    fn years() {
        assert_eq!(code("2024"), "2024");
        assert_eq!(code(" Năm 2024 "), "2024");
    }

    #[test]
    fn errors() {
        assert_eq!(PeriodCode::parse(""), Err(PeriodError::Empty));
        assert_eq!(PeriodCode::parse("  "), Err(PeriodError::Empty));
        assert_eq!(
            PeriodCode::parse("1999"),
            Err(PeriodError::YearOutOfRange("1999".into()))
        );
        assert_eq!(
            PeriodCode::parse("2101-01"),
            Err(PeriodError::YearOutOfRange("2101-01".into()))
        );
        assert_eq!(
            PeriodCode::parse("2024-Q5"),
            Err(PeriodError::QuarterOutOfRange("2024-Q5".into()))
        );
        assert_eq!(
            PeriodCode::parse("Quý 0/2024"),
            Err(PeriodError::QuarterOutOfRange("Quý 0/2024".into()))
        );
        assert_eq!(
            PeriodCode::parse("13/2024"),
            Err(PeriodError::MonthOutOfRange("13/2024".into()))
        );
        assert_eq!(
            PeriodCode::parse("2024-00"),
            Err(PeriodError::MonthOutOfRange("2024-00".into()))
        );
        for s in [
            "abc",
            "24-09",
            "2024-09-05",
            "Q3",
            "2024/",
            "Quý V/2024",
            "09/24",
            "20245",
            "Tháng 9",
        ] {
            assert_eq!(
                PeriodCode::parse(s),
                Err(PeriodError::Unrecognized(s.into())),
                "{s}"
            );
        }
        let e = PeriodError::MonthOutOfRange("13/2024".into());
        assert!(e.message_vi().contains("Tháng"));
        assert!(e.message_en().contains("month"));
    }

    #[test]
    fn words() {
        let words = |s: &str, vi: bool| {
            PeriodCode::parse(s)
                .map(|p| p.words(vi))
                .unwrap_or_default()
        };
        assert_eq!(words("2024-09", true), "Tháng 9 năm 2024");
        assert_eq!(words("2024-12", true), "Tháng 12 năm 2024");
        assert_eq!(words("2024-Q3", true), "Quý III năm 2024");
        assert_eq!(words("Quý 4/2024", true), "Quý IV năm 2024");
        assert_eq!(words("2024-Q1", true), "Quý I năm 2024");
        assert_eq!(words("2024", true), "Năm 2024");
        assert_eq!(words("2024-09", false), "September 2024");
        assert_eq!(words("1/2025", false), "January 2025");
        assert_eq!(words("2024-Q3", false), "Q3 2024");
        assert_eq!(words("2024", false), "2024");
    }

    #[test]
    fn labels() {
        let label = |s: &str| {
            PeriodCode::parse(s)
                .map(|p| p.label_vi())
                .unwrap_or_default()
        };
        assert_eq!(label("2024-Q3"), "Quý 3/2024");
        assert_eq!(label("9/2024"), "Tháng 09/2024");
        assert_eq!(label("2024"), "Năm 2024");
    }

    #[test]
    fn serde_display_year() {
        let p = PeriodCode::parse("Quý 3/2024");
        assert_eq!(
            p.as_ref().map(|p| p.to_string()).ok().as_deref(),
            Some("2024-Q3")
        );
        assert_eq!(p.as_ref().map(PeriodCode::year).ok(), Some(2024));
        let json = p.as_ref().ok().and_then(|p| serde_json::to_string(p).ok());
        assert_eq!(json.as_deref(), Some("\"2024-Q3\""));
        let back = serde_json::from_str::<PeriodCode>("\"Q3/2024\"").ok();
        assert_eq!(back, p.ok());
        assert!(serde_json::from_str::<PeriodCode>("\"Q9/2024\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = PeriodCode::parse(&s);
        }

        #[test]
        fn canonical_and_label_round_trip(y in 2000u16..=2100, k in 0u8..=16) {
            let text = match k {
                0 => format!("{y}"),
                1..=4 => format!("{y}-Q{k}"),
                _ => format!("{y}-{:02}", k - 4),
            };
            let p = PeriodCode::parse(&text);
            prop_assert_eq!(p.as_ref().map(|p| p.as_str()), Ok(text.as_str()));
            if let Ok(p) = p {
                prop_assert_eq!(PeriodCode::parse(&p.label_vi()), Ok(p.clone()));
            }
        }
    }
}
