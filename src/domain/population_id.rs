//! Personal identification number (số định danh cá nhân, the 12-digit number on the
//! chip-based CCCD) and the older 9-digit CMND.
//!
//! Layout `PPP G YY NNNNNN`: province of birth registration, century-and-sex digit,
//! last two digits of the birth year, serial. There is no check digit, so the only
//! checks possible are the province code and a birth year not in the future.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::names::fold;

const PROVINCES_CSV: &str = include_str!("id_province_codes.csv");

/// Codes 101..=295 are for births registered abroad (by country), not provinces.
const ABROAD_CODES: std::ops::RangeInclusive<u16> = 101..=295;

static PROVINCES: LazyLock<HashMap<u16, &'static str>> = LazyLock::new(|| {
    PROVINCES_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            #[allow(clippy::expect_used)] // embedded constant, checked by a unit test
            let (code, name) = line
                .split_once(',')
                .expect("id_province_codes.csv: code,province");
            #[allow(clippy::expect_used)]
            let code: u16 = code
                .trim()
                .parse()
                .expect("id_province_codes.csv: numeric code");
            (code, name.trim())
        })
        .collect()
});

/// Which of the 1,000 possible 3-digit codes name a province: every ID is checked against
/// it, and an array index is far cheaper than a hash lookup.
static PROVINCE_CODE: LazyLock<[bool; 1000]> = LazyLock::new(|| {
    let mut known = [false; 1000];
    for &code in PROVINCES.keys() {
        if let Some(k) = known.get_mut(usize::from(code)) {
            *k = true;
        }
    }
    known
});

const TEN_POW_12: u64 = 1_000_000_000_000;

/// The current calendar year on this machine, for callers of the `*_text`/`*_number`
/// checks that take the year explicitly (kept explicit so results are reproducible).
pub fn current_year() -> i32 {
    super::dates::this_year()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// Case/diacritics-insensitive, trimmed: "Nam", "Nữ", "nu", "male", "female", "M", "F".
    pub fn parse(s: &str) -> Option<Sex> {
        match fold(s).as_str() {
            "nam" | "nam gioi" | "male" | "m" => Some(Sex::Male),
            "nu" | "nu gioi" | "female" | "f" => Some(Sex::Female),
            _ => None,
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
pub enum IdProblem {
    #[error("the ID contains characters other than digits")]
    NotDigits,
    #[error("the ID must have 12 digits (or 9 for an old CMND)")]
    WrongLength,
    #[error("the first three digits are not a known province code")]
    UnknownProvince,
    #[error("the birth year encoded in the ID is in the future")]
    FutureBirthYear,
}

impl IdProblem {
    pub fn message_vi(self) -> &'static str {
        match self {
            IdProblem::NotDigits => "Số định danh có ký tự không phải chữ số",
            IdProblem::WrongLength => {
                "Số định danh phải có 12 chữ số (hoặc 9 chữ số nếu là CMND cũ)"
            }
            IdProblem::UnknownProvince => "Ba chữ số đầu không phải mã tỉnh hợp lệ",
            IdProblem::FutureBirthYear => "Năm sinh suy ra từ số định danh lớn hơn năm hiện tại",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            IdProblem::NotDigits => "the ID contains characters other than digits",
            IdProblem::WrongLength => "the ID must have 12 digits (or 9 for an old CMND)",
            IdProblem::UnknownProvince => "the first three digits are not a known province code",
            IdProblem::FutureBirthYear => "the birth year encoded in the ID is in the future",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalId(u64);

impl PersonalId {
    /// Validates a 12-digit number (leading zeros implied) for `current_year`.
    pub fn new(value: u64, current_year: i32) -> Result<PersonalId, IdProblem> {
        if value >= TEN_POW_12 {
            return Err(IdProblem::WrongLength);
        }
        let id = PersonalId(value);
        let code = id.province_code();
        let province = PROVINCE_CODE.get(usize::from(code)).copied() == Some(true);
        if !ABROAD_CODES.contains(&code) && !province {
            return Err(IdProblem::UnknownProvince);
        }
        if id.birth_year() > current_year {
            return Err(IdProblem::FutureBirthYear);
        }
        Ok(id)
    }

    /// Strict parse: exactly 12 ASCII digits, valid for `current_year`.
    pub fn parse_for_year(s: &str, current_year: i32) -> Result<PersonalId, IdProblem> {
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdProblem::NotDigits);
        }
        let value = twelve_digits(s).ok_or(IdProblem::WrongLength)?;
        PersonalId::new(value, current_year)
    }

    pub fn value(self) -> u64 {
        self.0
    }

    /// Back from `value()` of an ID already validated (compact columns keep the number).
    pub(crate) fn from_stored(value: u64) -> PersonalId {
        PersonalId(value)
    }

    pub fn province_code(self) -> u16 {
        // < 1000 because value < 10^12.
        (self.0 / 1_000_000_000) as u16
    }

    /// None for abroad codes.
    pub fn province_name(self) -> Option<&'static str> {
        PROVINCES.get(&self.province_code()).copied()
    }

    pub fn is_registered_abroad(self) -> bool {
        ABROAD_CODES.contains(&self.province_code())
    }

    fn century_sex_digit(self) -> u64 {
        (self.0 / 100_000_000) % 10
    }

    pub fn sex(self) -> Sex {
        if self.century_sex_digit().is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// 0/1 = 1900s, 2/3 = 2000s, ... 8/9 = 2300s.
    pub fn birth_year(self) -> i32 {
        let century = (self.century_sex_digit() / 2) as i32;
        let yy = ((self.0 / 1_000_000) % 100) as i32;
        1900 + 100 * century + yy
    }

    /// "********0257": enough to tell records apart in logs and shared reports.
    pub fn masked(self) -> String {
        format!("********{:04}", self.0 % 10_000)
    }
}

impl fmt::Display for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl FromStr for PersonalId {
    type Err = IdProblem;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PersonalId::parse_for_year(s, current_year())
    }
}

impl Serialize for PersonalId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PersonalId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdCheck {
    Valid(PersonalId),
    /// 9-digit CMND text, leading zeros kept.
    Legacy(String),
    Invalid {
        raw: String,
        reason: IdProblem,
    },
    /// Empty cell.
    Missing,
}

impl IdCheck {
    /// A text cell (or CSV field): taken as typed after removing spaces (incl. NBSP),
    /// dots and a leading apostrophe. 12 digits -> validate; 9 digits -> Legacy;
    /// anything else (an 11-digit text included: a text cell kept its zeros, so a
    /// missing digit is a real error, not Excel's doing) -> Invalid. Empty -> Missing.
    pub fn from_text(s: &str, current_year: i32) -> IdCheck {
        // Nearly every cell is exactly the 12 digits: no trimming, no copy.
        if let Some(value) = twelve_digits(s) {
            return match PersonalId::new(value, current_year) {
                Ok(id) => IdCheck::Valid(id),
                Err(reason) => IdCheck::Invalid {
                    raw: s.to_owned(),
                    reason,
                },
            };
        }
        let trimmed = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
        // Excel's "force text" prefix.
        let body = trimmed.strip_prefix('\'').unwrap_or(trimmed);
        let invalid = |reason| IdCheck::Invalid {
            raw: trimmed.to_string(),
            reason,
        };
        // "037.153.000.257" is grouping, but "37153000257.0" is a number rendered by
        // some exporter: removing that dot would silently append a digit.
        if looks_like_float_rendering(body) {
            return invalid(IdProblem::NotDigits);
        }
        let digits: String = body
            .chars()
            .filter(|&c| !(c.is_whitespace() || c == '.' || c == '\u{200B}'))
            .collect();
        if digits.is_empty() {
            return IdCheck::Missing;
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return invalid(IdProblem::NotDigits);
        }
        match digits.len() {
            12 => match PersonalId::parse_for_year(&digits, current_year) {
                Ok(id) => IdCheck::Valid(id),
                Err(reason) => invalid(reason),
            },
            9 => IdCheck::Legacy(digits),
            _ => invalid(IdProblem::WrongLength),
        }
    }

    /// A numeric spreadsheet cell: Excel dropped the leading zeros, so 10-12 digits
    /// are padded to 12 and 8-9 digits to a 9-digit CMND.
    pub fn from_number(n: f64, current_year: i32) -> IdCheck {
        let raw = format_number_plain(n);
        if !n.is_finite() || n < 0.0 || n.fract() != 0.0 {
            return IdCheck::Invalid {
                raw,
                reason: IdProblem::NotDigits,
            };
        }
        if n >= TEN_POW_12 as f64 {
            return IdCheck::Invalid {
                raw,
                reason: IdProblem::WrongLength,
            };
        }
        // Exact: integral, non-negative and below 2^53.
        let value = n as u64;
        match value.checked_ilog10().map_or(1, |l| l + 1) {
            10..=12 => match PersonalId::new(value, current_year) {
                Ok(id) => IdCheck::Valid(id),
                Err(reason) => IdCheck::Invalid {
                    raw: format!("{value:012}"),
                    reason,
                },
            },
            8 | 9 => IdCheck::Legacy(format!("{value:09}")),
            _ => IdCheck::Invalid {
                raw,
                reason: IdProblem::WrongLength,
            },
        }
    }

    pub fn valid(&self) -> Option<PersonalId> {
        match self {
            IdCheck::Valid(id) => Some(*id),
            _ => None,
        }
    }

    /// Only a valid 12-digit ID identifies a person well enough to link records.
    pub fn is_linkable(&self) -> bool {
        matches!(self, IdCheck::Valid(_))
    }

    /// The text to show / store: 12 digits, the CMND, or the raw invalid text.
    pub fn display(&self) -> String {
        match self {
            IdCheck::Valid(id) => id.to_string(),
            IdCheck::Legacy(s) => s.clone(),
            IdCheck::Invalid { raw, .. } => raw.clone(),
            IdCheck::Missing => String::new(),
        }
    }

    /// Whether a year of birth or sex given on the list disagrees with the ID.
    /// Not given (None) is not a disagreement; non-valid IDs never disagree.
    pub fn disagrees_with(&self, birth_year: Option<i32>, sex: Option<Sex>) -> bool {
        let IdCheck::Valid(id) = self else {
            return false;
        };
        birth_year.is_some_and(|y| y != id.birth_year()) || sex.is_some_and(|s| s != id.sex())
    }
}

/// "12345678901.0" / "1234.00": one dot with only zeros after it and more than three
/// digits before it, which digit grouping can never produce.
/// The value of `s` when it is exactly 12 ASCII digits.
fn twelve_digits(s: &str) -> Option<u64> {
    let b: &[u8; 12] = s.as_bytes().try_into().ok()?;
    b.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

fn looks_like_float_rendering(s: &str) -> bool {
    let Some((int, frac)) = s.split_once('.') else {
        return false;
    };
    int.len() > 3
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0')
}

/// Rust's `Display` for f64 never uses an exponent and drops ".0" on whole numbers.
fn format_number_plain(n: f64) -> String {
    if n == 0.0 {
        // Avoid "-0".
        return "0".to_string();
    }
    format!("{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const YEAR: i32 = 2025;

    fn valid(s: &str) -> PersonalId {
        match IdCheck::from_text(s, YEAR) {
            IdCheck::Valid(id) => id,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn problem(c: IdCheck) -> Option<IdProblem> {
        match c {
            IdCheck::Invalid { reason, .. } => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn embedded_province_table_parses() {
        assert_eq!(PROVINCES.len(), 63);
        assert_eq!(PROVINCES.get(&1), Some(&"Hà Nội"));
        assert_eq!(PROVINCES.get(&96), Some(&"Cà Mau"));
    }

    #[test]
    fn example_id_decodes() {
        let id = valid("037153000257");
        assert_eq!(id.value(), 37_153_000_257);
        assert_eq!(id.province_code(), 37);
        assert_eq!(id.province_name(), Some("Ninh Bình"));
        assert!(!id.is_registered_abroad());
        assert_eq!(id.birth_year(), 1953);
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.to_string(), "037153000257");
        assert_eq!(id.masked(), "********0257");
    }

    #[test]
    fn century_digit_gives_year_and_sex() {
        let m = valid("001090012345");
        assert_eq!((m.birth_year(), m.sex()), (1990, Sex::Male));
        let f = valid("079305012345");
        assert_eq!((f.birth_year(), f.sex()), (2005, Sex::Female));
        let m2 = valid("079210012345");
        assert_eq!((m2.birth_year(), m2.sex()), (2010, Sex::Male));
    }

    #[test]
    fn future_birth_year_is_invalid() {
        // G=2, YY=30 -> 2030.
        let c = IdCheck::from_text("001230012345", YEAR);
        assert_eq!(problem(c), Some(IdProblem::FutureBirthYear));
        // Same ID is fine once that year arrives.
        assert!(IdCheck::from_text("001230012345", 2030).is_linkable());
        // G=8 -> 2300s.
        assert_eq!(
            problem(IdCheck::from_text("001800012345", YEAR)),
            Some(IdProblem::FutureBirthYear)
        );
    }

    #[test]
    fn province_codes() {
        assert_eq!(
            problem(IdCheck::from_text("003190012345", YEAR)),
            Some(IdProblem::UnknownProvince)
        );
        assert_eq!(
            problem(IdCheck::from_text("000190012345", YEAR)),
            Some(IdProblem::UnknownProvince)
        );
        assert_eq!(
            problem(IdCheck::from_text("296190012345", YEAR)),
            Some(IdProblem::UnknownProvince)
        );
        assert_eq!(
            problem(IdCheck::from_text("100190012345", YEAR)),
            Some(IdProblem::UnknownProvince)
        );
        for abroad in ["101190012345", "295190012345", "200190012345"] {
            let id = valid(abroad);
            assert!(id.is_registered_abroad());
            assert_eq!(id.province_name(), None);
        }
    }

    #[test]
    fn text_cleanup() {
        let expected = valid("001090012345");
        assert_eq!(valid("001 090 012 345"), expected);
        assert_eq!(valid("001\u{00A0}090\u{00A0}012345"), expected);
        assert_eq!(valid("001.090.012.345"), expected);
        assert_eq!(valid("'001090012345"), expected);
        assert_eq!(valid("  '001090012345 "), expected);
    }

    #[test]
    fn text_is_not_padded() {
        let c = IdCheck::from_text("37153000257", YEAR);
        assert_eq!(problem(c.clone()), Some(IdProblem::WrongLength));
        assert_eq!(c.display(), "37153000257");
        assert_eq!(
            problem(IdCheck::from_text("1234", YEAR)),
            Some(IdProblem::WrongLength)
        );
        assert_eq!(
            problem(IdCheck::from_text("0371530002570", YEAR)),
            Some(IdProblem::WrongLength)
        );
    }

    #[test]
    fn text_non_digits() {
        assert_eq!(
            problem(IdCheck::from_text("03715300025A", YEAR)),
            Some(IdProblem::NotDigits)
        );
        assert_eq!(
            problem(IdCheck::from_text("037-153-000257", YEAR)),
            Some(IdProblem::NotDigits)
        );
        assert_eq!(
            problem(IdCheck::from_text("không có", YEAR)),
            Some(IdProblem::NotDigits)
        );
        // Full-width digits are not ASCII digits.
        assert_eq!(
            problem(IdCheck::from_text("０３７１５３０００２５７", YEAR)),
            Some(IdProblem::NotDigits)
        );
    }

    #[test]
    fn text_float_rendering_is_not_trusted() {
        let c = IdCheck::from_text("37153000257.0", YEAR);
        assert_eq!(problem(c.clone()), Some(IdProblem::NotDigits));
        assert_eq!(c.display(), "37153000257.0");
    }

    #[test]
    fn text_legacy_and_missing() {
        assert_eq!(
            IdCheck::from_text("012345678", YEAR),
            IdCheck::Legacy("012345678".into())
        );
        assert_eq!(
            IdCheck::from_text("012 345 678", YEAR),
            IdCheck::Legacy("012345678".into())
        );
        assert_eq!(IdCheck::from_text("", YEAR), IdCheck::Missing);
        assert_eq!(IdCheck::from_text(" \u{00A0}\t", YEAR), IdCheck::Missing);
        assert_eq!(IdCheck::from_text("'", YEAR), IdCheck::Missing);
    }

    #[test]
    fn number_cell_padding() {
        let id = valid("037153000257");
        assert_eq!(
            IdCheck::from_number(37153000257.0, YEAR),
            IdCheck::Valid(id)
        );
        // Hà Nội: 10 digits left in the cell.
        assert_eq!(
            IdCheck::from_number(1090012345.0, YEAR),
            IdCheck::Valid(valid("001090012345"))
        );
        assert_eq!(
            IdCheck::from_number(201190012345.0, YEAR),
            IdCheck::Valid(valid("201190012345"))
        );
        assert_eq!(
            IdCheck::from_number(12345678.0, YEAR),
            IdCheck::Legacy("012345678".into())
        );
        assert_eq!(
            IdCheck::from_number(123456789.0, YEAR),
            IdCheck::Legacy("123456789".into())
        );
    }

    #[test]
    fn number_cell_invalid() {
        let check = |n: f64, raw: &str, reason| {
            assert_eq!(
                IdCheck::from_number(n, YEAR),
                IdCheck::Invalid {
                    raw: raw.into(),
                    reason
                },
                "{n}"
            );
        };
        check(1234567.0, "1234567", IdProblem::WrongLength);
        check(0.0, "0", IdProblem::WrongLength);
        check(-0.0, "0", IdProblem::WrongLength);
        check(1e12, "1000000000000", IdProblem::WrongLength);
        check(1e20, "100000000000000000000", IdProblem::WrongLength);
        check(37153000257.5, "37153000257.5", IdProblem::NotDigits);
        check(-37153000257.0, "-37153000257", IdProblem::NotDigits);
        check(f64::NAN, "NaN", IdProblem::NotDigits);
        check(f64::INFINITY, "inf", IdProblem::NotDigits);
        // Padded, then fails validation: raw shows the padded ID.
        check(3190012345.0, "003190012345", IdProblem::UnknownProvince);
        check(1230012345.0, "001230012345", IdProblem::FutureBirthYear);
    }

    #[test]
    fn from_str_is_strict() {
        assert_eq!(
            "037153000257".parse::<PersonalId>().map(|i| i.value()),
            Ok(37_153_000_257)
        );
        assert_eq!(
            "37153000257".parse::<PersonalId>(),
            Err(IdProblem::WrongLength)
        );
        assert_eq!(
            "037 153 000 257".parse::<PersonalId>(),
            Err(IdProblem::NotDigits)
        );
        assert_eq!(
            "+37153000257".parse::<PersonalId>(),
            Err(IdProblem::NotDigits)
        );
        assert_eq!("".parse::<PersonalId>(), Err(IdProblem::WrongLength));
    }

    #[test]
    fn serde_as_string() {
        let id = valid("037153000257");
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, "\"037153000257\"");
        let back: Result<PersonalId, _> = serde_json::from_str(&json);
        assert_eq!(back.ok(), Some(id));
        assert!(serde_json::from_str::<PersonalId>("\"37153000257\"").is_err());
    }

    #[test]
    fn display_and_accessors() {
        let id = valid("037153000257");
        let v = IdCheck::Valid(id);
        assert_eq!(v.display(), "037153000257");
        assert_eq!(v.valid(), Some(id));
        assert!(v.is_linkable());
        let legacy = IdCheck::Legacy("012345678".into());
        assert_eq!(legacy.display(), "012345678");
        assert!(!legacy.is_linkable());
        assert_eq!(legacy.valid(), None);
        assert_eq!(IdCheck::Missing.display(), "");
        assert!(!IdCheck::Missing.is_linkable());
    }

    #[test]
    fn disagreement_with_list_data() {
        let v = IdCheck::Valid(valid("037153000257"));
        assert!(!v.disagrees_with(None, None));
        assert!(!v.disagrees_with(Some(1953), Some(Sex::Female)));
        assert!(v.disagrees_with(Some(1954), None));
        assert!(v.disagrees_with(None, Some(Sex::Male)));
        assert!(!IdCheck::Missing.disagrees_with(Some(1), Some(Sex::Male)));
        assert!(!IdCheck::Legacy("012345678".into()).disagrees_with(Some(1), None));
    }

    #[test]
    fn sex_parse() {
        for s in ["Nam", "nam", "NAM", " Nam ", "male", "Male", "M", "m"] {
            assert_eq!(Sex::parse(s), Some(Sex::Male), "{s}");
        }
        for s in ["Nữ", "nu", "NỮ", "Nu", "female", "F", "f"] {
            assert_eq!(Sex::parse(s), Some(Sex::Female), "{s}");
        }
        for s in ["", "x", "nam nu", "1"] {
            assert_eq!(Sex::parse(s), None, "{s}");
        }
        assert_eq!(Sex::Male.label_vi(), "Nam");
        assert_eq!(Sex::Female.label_vi(), "Nữ");
    }

    #[test]
    fn messages_exist() {
        for p in [
            IdProblem::NotDigits,
            IdProblem::WrongLength,
            IdProblem::UnknownProvince,
            IdProblem::FutureBirthYear,
        ] {
            assert!(!p.message_vi().is_empty());
            assert_eq!(p.message_en(), p.to_string());
        }
    }

    /// Valid IDs: a known province or an abroad code, a past birth year.
    fn valid_id() -> impl Strategy<Value = u64> {
        let codes: Vec<u16> = PROVINCES.keys().copied().chain(ABROAD_CODES).collect();
        (
            proptest::sample::select(codes),
            0u64..=3,
            0u64..=99,
            0u64..1_000_000,
        )
            .prop_filter_map("birth year in the past", |(p, g, yy, serial)| {
                let v = u64::from(p) * 1_000_000_000 + g * 100_000_000 + yy * 1_000_000 + serial;
                PersonalId::new(v, YEAR).ok().map(|id| id.value())
            })
    }

    proptest! {
        #[test]
        fn text_never_panics(s in "\\PC*") {
            let c = IdCheck::from_text(&s, YEAR);
            let _ = c.display();
        }

        #[test]
        fn digit_text_never_panics(s in "'?[0-9 .]{0,20}") {
            let _ = IdCheck::from_text(&s, YEAR);
        }

        #[test]
        fn number_never_panics(n in proptest::num::f64::ANY) {
            let _ = IdCheck::from_number(n, YEAR).display();
        }

        #[test]
        fn numeric_cell_padding_round_trip(v in valid_id()) {
            let text = format!("{v:012}");
            let from_text = IdCheck::from_text(&text, YEAR);
            let from_number = IdCheck::from_number(v as f64, YEAR);
            prop_assert!(from_text.is_linkable());
            prop_assert_eq!(&from_number, &from_text);
            prop_assert_eq!(from_number.display(), text);
        }

        #[test]
        fn legacy_padding_round_trip(v in 10_000_000u64..1_000_000_000) {
            let text = format!("{v:09}");
            prop_assert_eq!(IdCheck::from_number(v as f64, YEAR), IdCheck::Legacy(text.clone()));
            prop_assert_eq!(IdCheck::from_text(&text, YEAR), IdCheck::Legacy(text));
        }

        #[test]
        fn display_parse_round_trip(v in valid_id()) {
            let id = PersonalId::new(v, YEAR);
            prop_assert!(id.is_ok());
            if let Ok(id) = id {
                prop_assert_eq!(PersonalId::parse_for_year(&id.to_string(), YEAR), Ok(id));
                prop_assert_eq!(id.masked().len(), 12);
            }
        }
    }
}
