//! Vietnamese đồng amounts: parsing what people type, unit scaling, formatting.
//!
//! VND has no minor unit, so every amount is a whole number of đồng once the
//! sheet's unit (đồng, nghìn đồng, triệu đồng) is applied. Everything is exact
//! `Decimal`; the only f64 that ever becomes money goes through [`amount_from_f64`].

use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use super::names::fold;

/// Far above any single welfare payment or file total; rejecting larger values keeps
/// all arithmetic comfortably inside Decimal's 96-bit mantissa.
const MAX_AMOUNT: i128 = 1_000_000_000_000_000;
/// More decimals than this is not an amount anyone typed.
const MAX_FRACTION_DIGITS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error("not a number: '{0}'")]
    NotANumber(String),
    #[error("negative amount: '{0}'")]
    Negative(String),
    #[error("VND has no minor unit: {0}")]
    Fractional(String),
    #[error("amount too large: '{0}'")]
    TooLarge(String),
}

impl AmountError {
    pub fn message_vi(&self) -> String {
        match self {
            AmountError::Empty => "Thiếu số tiền".to_string(),
            AmountError::NotANumber(s) => format!("Số tiền không hợp lệ: '{s}'"),
            AmountError::Negative(s) => format!("Số tiền âm: '{s}'"),
            AmountError::Fractional(s) => format!("Số tiền có phần lẻ dưới 1 đồng: {s}"),
            AmountError::TooLarge(s) => format!("Số tiền quá lớn: '{s}'"),
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Currency marks, already folded (đ -> d, lowercase). Longer first so "vnd" is not
/// mistaken for a bare "d".
const CURRENCY_SUFFIXES: [&str; 4] = ["vnd", "dong", "d", "₫"];
const CURRENCY_PREFIXES: [&str; 2] = ["vnd", "₫"];

fn strip_currency(mut t: &str) -> &str {
    if let Some(rest) = CURRENCY_PREFIXES.iter().find_map(|p| t.strip_prefix(p)) {
        t = rest;
    }
    if let Some(rest) = CURRENCY_SUFFIXES.iter().find_map(|p| t.strip_suffix(p)) {
        t = rest;
    }
    t
}

/// Parse typed text to a (not yet unit-scaled) Decimal.
///
/// Dot or comma groups of three are thousands; when both appear the last one is the
/// decimal separator; a single separator followed by other than three digits is a
/// decimal separator. A leading '-' or parentheses mean a negative amount.
pub fn parse_amount_text(s: &str) -> Result<Decimal, AmountError> {
    let raw = s.trim();
    // Most cells are plain digits ("1500000"): what the full reading below gives them.
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        // Up to 19 digits fit a u64: no text-to-decimal on the way.
        if raw.len() <= 19 {
            let v = raw.bytes().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
            if i128::from(v) <= MAX_AMOUNT {
                return Ok(Decimal::from(v));
            }
        }
        return digits_to_decimal(raw, "", raw);
    }
    // And most others are grouped in thousands ("1.500.000", "1,500,000"): the digits, as
    // the full reading below takes them (a first group of 1-3 digits not starting with 0,
    // then groups of exactly 3 after one kind of mark, is grouping there too).
    let mut digits = [0u8; 32];
    if let Some(n) = grouped_thousands(raw, &mut digits)
        && let Ok(d) = std::str::from_utf8(digits.get(..n).unwrap_or(&[]))
    {
        return digits_to_decimal(d, "", raw);
    }
    parse_amount_full(raw)
}

/// The full reading of an amount's text (`raw` trimmed): signs, currency, both marks.
fn parse_amount_full(raw: &str) -> Result<Decimal, AmountError> {
    let not_a_number = || AmountError::NotANumber(raw.to_string());
    let compact: String = fold(raw).chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(AmountError::Empty);
    }

    let mut t = compact.as_str();
    let mut negative = false;
    // Accounting style "(1.000)".
    if let Some(inner) = t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        negative = true;
        t = inner;
    }
    t = strip_currency(t);
    if let Some(rest) = t.strip_prefix('-').or_else(|| t.strip_prefix('\u{2212}')) {
        negative = true;
        t = rest;
    } else if let Some(rest) = t.strip_prefix('+') {
        t = rest;
    }
    t = strip_currency(t);

    let (int_digits, frac_digits) = split_number(t).ok_or_else(not_a_number)?;
    let value = digits_to_decimal(&int_digits, &frac_digits, raw)?;
    if negative && !value.is_zero() {
        return Err(AmountError::Negative(raw.to_string()));
    }
    Ok(value)
}

/// The digits of "1.500.000" or "1,500,000" into `out` (how many), when `s` is exactly
/// that: `[1-9]\d{0,2}` then one or more groups of a mark and 3 digits, one kind of mark.
fn grouped_thousands(s: &str, out: &mut [u8; 32]) -> Option<usize> {
    let b = s.as_bytes();
    let sep = *b.iter().find(|c| !c.is_ascii_digit())?;
    if sep != b'.' && sep != b',' {
        return None;
    }
    let mut groups = b.split(|&c| c == sep);
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || first[0] == b'0' {
        return None;
    }
    let mut n = 0;
    for (i, g) in std::iter::once(first).chain(groups).enumerate() {
        if (i > 0 && g.len() != 3) || !g.iter().all(u8::is_ascii_digit) {
            return None;
        }
        out.get_mut(n..n + g.len())?.copy_from_slice(g);
        n += g.len();
    }
    // At least one mark: plain digits are read before this.
    (n < b.len()).then_some(n)
}

/// Whole numbers up to here are exact in an f64 (2^53).
const MAX_EXACT_WHOLE: f64 = 9_007_199_254_740_992.0;

/// Splits "1.500.000,50" into ("1500000", "50") following the separator rules.
fn split_number(t: &str) -> Option<(String, String)> {
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let (int_part, frac_part) = match (t.rfind('.'), t.rfind(',')) {
        (None, None) => return Some((t.to_string(), String::new())),
        (Some(d), Some(c)) => {
            // Both present: the last one is the decimal mark and occurs exactly once.
            let (dec_pos, dec, thousands) = if d > c { (d, '.', ',') } else { (c, ',', '.') };
            let (int_part, frac_part) = (&t[..dec_pos], &t[dec_pos + 1..]);
            if int_part.contains(dec) {
                return None;
            }
            (strip_grouping(int_part, thousands)?, frac_part)
        }
        (Some(pos), None) | (None, Some(pos)) => {
            let (before, after) = (&t[..pos], &t[pos + 1..]);
            if before.contains(['.', ',']) {
                // Several of the same mark: only digit grouping makes sense.
                let sep = if t.contains('.') { '.' } else { ',' };
                return Some((strip_grouping(t, sep)?, String::new()));
            }
            // "1.500" is thousands; "1500.000" and "0.500" cannot be digit grouping.
            if after.len() == 3 && (1..=3).contains(&before.len()) && !before.starts_with('0') {
                return Some((format!("{before}{after}"), String::new()));
            }
            (before.to_string(), after)
        }
    };
    // ".5" and "1500." are not how amounts are written; refuse rather than guess.
    if int_part.is_empty() || frac_part.is_empty() || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some((int_part, frac_part.to_string()))
}

/// "1.500.000" -> "1500000" when every group after the first has exactly 3 digits.
fn strip_grouping(s: &str, sep: char) -> Option<String> {
    let mut groups = s.split(sep);
    let first = groups.next()?;
    if first.is_empty() || first.len() > 3 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    out.push_str(first);
    for g in groups {
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push_str(g);
    }
    Some(out)
}

fn digits_to_decimal(
    int_digits: &str,
    frac_digits: &str,
    raw: &str,
) -> Result<Decimal, AmountError> {
    let int_digits = int_digits.trim_start_matches('0');
    let frac_digits = frac_digits.trim_end_matches('0');
    // Checked on length first so the i128 parse below cannot overflow.
    if int_digits.len() > 16 {
        return Err(AmountError::TooLarge(raw.to_string()));
    }
    if frac_digits.len() > MAX_FRACTION_DIGITS {
        return Err(AmountError::NotANumber(raw.to_string()));
    }
    let int: i128 = if int_digits.is_empty() {
        0
    } else {
        int_digits
            .parse()
            .map_err(|_| AmountError::NotANumber(raw.to_string()))?
    };
    let frac: i128 = if frac_digits.is_empty() {
        0
    } else {
        frac_digits
            .parse()
            .map_err(|_| AmountError::NotANumber(raw.to_string()))?
    };
    if int > MAX_AMOUNT || (int == MAX_AMOUNT && frac > 0) {
        return Err(AmountError::TooLarge(raw.to_string()));
    }
    let scale = frac_digits.len() as u32;
    let mantissa = int * 10i128.pow(scale) + frac;
    Decimal::try_from_i128_with_scale(mantissa, scale)
        .map_err(|_| AmountError::TooLarge(raw.to_string()))
}

/// The one place an f64 becomes money: a numeric spreadsheet cell. Goes through the
/// shortest round-trip decimal text, so 1080.5 stays 1080.5 rather than the binary
/// approximation.
pub fn amount_from_f64(f: f64) -> Result<Decimal, AmountError> {
    // A whole number of đồng, exactly representable: what reading its digits gives.
    if f.fract() == 0.0 && (0.0..=MAX_EXACT_WHOLE).contains(&f) && f <= MAX_AMOUNT as f64 {
        return Ok(Decimal::from(f as i64));
    }
    amount_from_f64_text(f)
}

/// The general reading of a number cell: through the digits Rust's `Display` gives it.
fn amount_from_f64_text(f: f64) -> Result<Decimal, AmountError> {
    let text = if f == 0.0 {
        "0".to_string()
    } else {
        format!("{f}")
    };
    if !f.is_finite() {
        return Err(AmountError::NotANumber(text));
    }
    if f < 0.0 {
        return Err(AmountError::Negative(text));
    }
    if f > MAX_AMOUNT as f64 {
        return Err(AmountError::TooLarge(text));
    }
    // Display never uses an exponent; digits beyond Decimal's 28 places (only for
    // sub-1e-12 values) are rounded off by from_str.
    Decimal::from_str(&text)
        .map(|d| d.normalize())
        .map_err(|_| AmountError::NotANumber(text))
}

/// Multiply by the sheet's unit (1, 1000, 1_000_000) and require whole đồng.
pub fn to_dong(value: Decimal, unit: Decimal) -> Result<Decimal, AmountError> {
    // Most amounts: whole đồng, in đồng, in bounds, which the reading below leaves as
    // they are.
    if unit == Decimal::ONE
        && value.scale() == 0
        && value.is_sign_positive()
        && value <= Decimal::from_i128_with_scale(MAX_AMOUNT, 0)
    {
        return Ok(value);
    }
    to_dong_full(value, unit)
}

/// `to_dong` for any value and unit.
fn to_dong_full(value: Decimal, unit: Decimal) -> Result<Decimal, AmountError> {
    let Some(scaled) = value.checked_mul(unit) else {
        return Err(AmountError::TooLarge(value.to_string()));
    };
    let scaled = scaled.normalize();
    if scaled.is_sign_negative() && !scaled.is_zero() {
        return Err(AmountError::Negative(scaled.to_string()));
    }
    if scaled > Decimal::from_i128_with_scale(MAX_AMOUNT, 0) {
        return Err(AmountError::TooLarge(scaled.to_string()));
    }
    if !scaled.fract().is_zero() {
        return Err(AmountError::Fractional(scaled.to_string()));
    }
    // normalize() turned -0 into 0 and dropped trailing zeros, so the scale is 0.
    Ok(scaled)
}

/// Detect a unit statement in a title-block cell ("ĐVT: 1.000 đồng") or in a header's
/// parenthesis ("Số tiền (nghìn đồng)"). Requires a currency word, so "ĐVT: người"
/// or a name never reads as a unit.
pub fn parse_unit(s: &str) -> Option<Decimal> {
    let f = fold(s);
    // A labelled statement anywhere in the cell.
    for label in ["don vi tinh", "dvt", "don vi"] {
        for (pos, _) in f.match_indices(label) {
            let before_ok = f[..pos]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            let rest = &f[pos + label.len()..];
            let after_ok = rest.chars().next().is_none_or(|c| !c.is_alphanumeric());
            if !(before_ok && after_ok) {
                continue;
            }
            let rest = rest
                .trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '-' | '.'));
            let end = rest
                .find([')', ';', '|', '\n'])
                .into_iter()
                .chain(rest.find(", "))
                .min()
                .unwrap_or(rest.len());
            if let Some(unit) = unit_expression(&rest[..end]) {
                return Some(unit);
            }
        }
    }
    // A parenthesised unit in a header: "(1.000 đồng)", "(đồng)".
    let mut rest = f.as_str();
    while let Some(open) = rest.find('(') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(')') else { break };
        if let Some(unit) = unit_expression(&after[..close]) {
            return Some(unit);
        }
        rest = &after[close + 1..];
    }
    None
}

/// The whole of `expr` (folded) must be "[multiplier] currency", optionally "per"
/// something ("đồng/tháng", "đ/người/tháng"), which does not change the unit.
fn unit_expression(expr: &str) -> Option<Decimal> {
    let compact: String = expr
        .trim()
        .trim_end_matches('.')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let compact = match compact.split_once('/') {
        Some((unit, per))
            if !per.is_empty() && per.chars().all(|c| c.is_alphabetic() || c == '/') =>
        {
            unit
        }
        _ => compact.as_str(),
    };
    let multiplier = CURRENCY_SUFFIXES
        .iter()
        .find_map(|c| compact.strip_suffix(c))?;
    match multiplier {
        "" => Some(Decimal::ONE),
        "nghin" | "ngan" => Some(Decimal::from(1_000)),
        "trieu" => Some(Decimal::from(1_000_000)),
        "ty" | "ti" => Some(Decimal::from(1_000_000_000)),
        digits if digits.starts_with(|c: char| c.is_ascii_digit()) => {
            // Only powers of ten are units; "(500 đồng)" is an amount, not a unit.
            let n = parse_amount_text(digits).ok()?.normalize();
            is_power_of_ten(n).then_some(n)
        }
        _ => None,
    }
}

fn is_power_of_ten(n: Decimal) -> bool {
    let mut m = n.normalize().mantissa();
    if n.normalize().scale() != 0 || m < 1 {
        return false;
    }
    while m % 10 == 0 {
        m /= 10;
    }
    m == 1
}

/// Groups the digits of a plain non-negative integer string with dots.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// "1.234.567 ₫"; a fractional value shows a comma decimal "1.234,5 ₫".
pub fn format_vnd(d: Decimal) -> String {
    let d = d.normalize();
    let plain = d.abs().to_string();
    let (int, frac) = plain.split_once('.').unwrap_or((plain.as_str(), ""));
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else {
        ""
    };
    let mut out = format!("{sign}{}", group_thousands(int));
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out.push_str(" ₫");
    out
}

/// Thousands with dots, no currency: "16.467".
pub fn format_thousands(n: i128) -> String {
    let grouped = group_thousands(&n.unsigned_abs().to_string());
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// "97,31%" from a percentage value 97.31.
pub fn format_pct(p: Decimal) -> String {
    let rounded = p.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    format!("{rounded:.2}%").replace('.', ",")
}

/// How far a rate is from its target, in percentage points, as a province reports it:
/// "vượt 33,16 điểm phần trăm" / "33.16 points above"; "thiếu 2,50 điểm phần trăm" / "2.50
/// points below"; "bằng chỉ tiêu" / "at the target".
pub fn target_margin(points: Decimal, vi: bool) -> String {
    let p = points.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let abs = p.abs();
    let (num_vi, num_en) = (format!("{abs:.2}").replace('.', ","), format!("{abs:.2}"));
    match (p.cmp(&Decimal::ZERO), vi) {
        (std::cmp::Ordering::Greater, true) => format!("vượt {num_vi} điểm phần trăm"),
        (std::cmp::Ordering::Greater, false) => format!("{num_en} points above"),
        (std::cmp::Ordering::Less, true) => format!("thiếu {num_vi} điểm phần trăm"),
        (std::cmp::Ordering::Less, false) => format!("{num_en} points below"),
        (std::cmp::Ordering::Equal, true) => "bằng chỉ tiêu".to_owned(),
        (std::cmp::Ordering::Equal, false) => "at the target".to_owned(),
    }
}

/// A rate against its target as a province reports it: "đạt 63,16%, vượt 33,16 điểm phần
/// trăm so với chỉ tiêu"; "chưa đạt: 25,00%, thiếu 5,00 điểm phần trăm so với chỉ tiêu";
/// in English "met: 63.16%, 33.16 points above the target". No rate (nobody to count):
/// not met, "chưa có số liệu".
pub fn target_verdict(rate: Option<Decimal>, target: Decimal, vi: bool) -> String {
    let Some(rate) = rate else {
        return if vi {
            "chưa đạt: chưa có số liệu"
        } else {
            "not met: no figures"
        }
        .to_owned();
    };
    let rounded = rate.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let shown = if vi {
        format_pct(rate)
    } else {
        format!("{rounded:.2}%")
    };
    let points = rate - target;
    let margin = target_margin(points, vi);
    let margin = match (points.is_zero(), vi) {
        (true, _) => margin,
        (false, true) => format!("{margin} so với chỉ tiêu"),
        (false, false) => format!("{margin} the target"),
    };
    match (rate >= target, vi) {
        (true, true) => format!("đạt {shown}, {margin}"),
        (true, false) => format!("met: {shown}, {margin}"),
        (false, true) => format!("chưa đạt: {shown}, {margin}"),
        (false, false) => format!("not met: {shown}, {margin}"),
    }
}

/// num/den*100 rounded half-up to 2 places; None when den == 0.
pub fn percent(num: u64, den: u64) -> Option<Decimal> {
    if den == 0 {
        return None;
    }
    // Integer arithmetic: round(x) = floor(x + 1/2) for x = num*10000/den, exact and
    // far inside u128 (num*20000 < 2^79).
    let (num, den) = (u128::from(num), u128::from(den));
    let hundredths = (num * 20_000 + den) / (2 * den);
    Decimal::try_from_i128_with_scale(i128::try_from(hundredths).ok()?, 2).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn margins_as_a_province_reports_them() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap_or_default();
        assert_eq!(target_margin(d("33.16"), true), "vượt 33,16 điểm phần trăm");
        assert_eq!(target_margin(d("33.16"), false), "33.16 points above");
        assert_eq!(target_margin(d("-2.5"), true), "thiếu 2,50 điểm phần trăm");
        assert_eq!(target_margin(d("-2.5"), false), "2.50 points below");
        assert_eq!(target_margin(d("0"), true), "bằng chỉ tiêu");
        assert_eq!(target_margin(d("0.00"), false), "at the target");
        // The whole verdict, as the province's report reads.
        assert_eq!(
            target_verdict(Some(d("63.16")), d("30"), true),
            "đạt 63,16%, vượt 33,16 điểm phần trăm so với chỉ tiêu"
        );
        assert_eq!(
            target_verdict(Some(d("63.16")), d("30"), false),
            "met: 63.16%, 33.16 points above the target"
        );
        assert_eq!(
            target_verdict(Some(d("25")), d("30"), true),
            "chưa đạt: 25,00%, thiếu 5,00 điểm phần trăm so với chỉ tiêu"
        );
        assert_eq!(
            target_verdict(Some(d("25")), d("30"), false),
            "not met: 25.00%, 5.00 points below the target"
        );
        assert_eq!(
            target_verdict(Some(d("30")), d("30"), true),
            "đạt 30,00%, bằng chỉ tiêu"
        );
        assert_eq!(
            target_verdict(None, d("30"), true),
            "chưa đạt: chưa có số liệu"
        );
    }

    proptest! {
        /// The fast readings give what the full ones do, on digits and marks of any shape.
        #[test]
        fn fast_amount_readings_agree_with_the_full_ones(
            s in "[0-9]{0,4}([.,][0-9]{0,4}){0,4}",
            n in 0u64..=10_000_000_000_000_000,
        ) {
            let raw = s.trim();
            prop_assert_eq!(parse_amount_text(raw), parse_amount_full(raw));
            let dotted = format_vnd(Decimal::from(n)).replace(" ₫", "");
            prop_assert_eq!(parse_amount_text(&dotted), parse_amount_full(&dotted));
            if n >= 1000 {
                prop_assert!(grouped_thousands(&dotted, &mut [0; 32]).is_some(), "{}", dotted);
            }
            let commas = dotted.replace('.', ",");
            prop_assert_eq!(parse_amount_text(&commas), parse_amount_full(&commas));
            let f = n as f64;
            prop_assert_eq!(amount_from_f64(f), amount_from_f64_text(f));
            for plain in [n.to_string(), format!(" 00{n} ")] {
                let fast = parse_amount_text(&plain);
                prop_assert_eq!(&fast, &parse_amount_full(plain.trim()), "{:?}", plain);
                if let Ok(d) = fast {
                    prop_assert_eq!(d.scale(), 0);
                }
            }
            for d in [
                Decimal::from(n),
                Decimal::from(n) * Decimal::NEGATIVE_ONE,
                Decimal::new(n as i64, 2),
                -Decimal::ZERO,
            ] {
                for unit in [Decimal::ONE, Decimal::new(10, 1), Decimal::from(1000)] {
                    prop_assert_eq!(to_dong(d, unit), to_dong_full(d, unit), "{} × {}", d, unit);
                }
            }
        }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ok(s: &str) -> Decimal {
        parse_amount_text(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn accepted_forms() {
        let m = dec("1500000");
        for s in [
            "1.500.000",
            "1.500.000đ",
            "1.500.000 đ",
            "1.500.000 VNĐ",
            "1.500.000 VND",
            "1.500.000 vnđ",
            "1.500.000Đ",
            "1,500,000",
            "1500000",
            "1500000.00",
            "1.500.000,00",
            "1,500,000.00",
            "1 500 000",
            "1\u{00A0}500\u{00A0}000",
            "₫1.500.000",
            "1.500.000 ₫",
            "1500000 đồng",
            "1500000 dong",
            "VND 1.500.000",
            "  1.500.000  ",
            "+1.500.000",
        ] {
            assert_eq!(ok(s), m, "{s}");
        }
    }

    #[test]
    fn single_separator_rules() {
        assert_eq!(ok("1.500"), dec("1500"));
        assert_eq!(ok("1,500"), dec("1500"));
        assert_eq!(ok("1500000,5"), dec("1500000.5"));
        assert_eq!(ok("1500000.00"), dec("1500000"));
        assert_eq!(ok("1.5"), dec("1.5"));
        assert_eq!(ok("12,50"), dec("12.5"));
        // Not a valid grouping, so a decimal mark.
        assert_eq!(ok("1500.000"), dec("1500"));
        assert_eq!(ok("0.500"), dec("0.5"));
        assert_eq!(ok("0"), Decimal::ZERO);
    }

    #[test]
    fn both_separators_last_is_decimal() {
        assert_eq!(ok("1.234.567,89"), dec("1234567.89"));
        assert_eq!(ok("1,234,567.89"), dec("1234567.89"));
        assert_eq!(ok("1.500,5"), dec("1500.5"));
        assert!(matches!(
            parse_amount_text("1.500,000.5"),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            parse_amount_text("1,5.00,0"),
            Err(AmountError::NotANumber(_))
        ));
    }

    #[test]
    fn malformed_is_not_a_number() {
        for s in [
            "abc",
            "1.5.0",
            "1..500",
            ".5",
            "1500.",
            "1.50.000",
            "12a",
            "1 triệu",
            "--5",
            "1-2",
            "đ",
            "()",
        ] {
            assert_eq!(
                parse_amount_text(s),
                Err(AmountError::NotANumber(s.to_string())),
                "{s}"
            );
        }
    }

    #[test]
    fn negatives() {
        assert_eq!(
            parse_amount_text("-1.000"),
            Err(AmountError::Negative("-1.000".into()))
        );
        assert_eq!(
            parse_amount_text("(1.000)"),
            Err(AmountError::Negative("(1.000)".into()))
        );
        assert_eq!(
            parse_amount_text("-1.000 đ"),
            Err(AmountError::Negative("-1.000 đ".into()))
        );
        assert_eq!(
            parse_amount_text("(1.000 đ)"),
            Err(AmountError::Negative("(1.000 đ)".into()))
        );
        assert_eq!(
            parse_amount_text("−500"),
            Err(AmountError::Negative("−500".into()))
        );
        assert_eq!(ok("-0"), Decimal::ZERO);
    }

    #[test]
    fn empty_and_too_large() {
        assert_eq!(parse_amount_text(""), Err(AmountError::Empty));
        assert_eq!(parse_amount_text(" \u{00A0} "), Err(AmountError::Empty));
        assert_eq!(ok("1.000.000.000.000.000"), dec("1000000000000000"));
        assert!(matches!(
            parse_amount_text("1.000.000.000.000.001"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            parse_amount_text("1000000000000000,5"),
            Err(AmountError::TooLarge(_))
        ));
        let huge = "9".repeat(60);
        assert!(matches!(
            parse_amount_text(&huge),
            Err(AmountError::TooLarge(_))
        ));
        assert_eq!(ok(&format!("{}1", "0".repeat(40))), Decimal::ONE);
        assert!(matches!(
            parse_amount_text("0,0000000000001"),
            Err(AmountError::NotANumber(_))
        ));
    }

    #[test]
    fn error_messages() {
        let e = AmountError::NotANumber("abc".into());
        assert_eq!(e.message_vi(), "Số tiền không hợp lệ: 'abc'");
        assert_eq!(e.message_en(), "not a number: 'abc'");
        let f = AmountError::Fractional("1080.5".into());
        assert_eq!(f.message_vi(), "Số tiền có phần lẻ dưới 1 đồng: 1080.5");
        assert_eq!(f.message_en(), "VND has no minor unit: 1080.5");
        for e in [
            AmountError::Empty,
            AmountError::Negative("-1".into()),
            AmountError::TooLarge("1e20".into()),
        ] {
            assert!(!e.message_vi().is_empty() && !e.message_en().is_empty());
        }
    }

    #[test]
    fn from_f64() {
        assert_eq!(amount_from_f64(1_500_000.0), Ok(dec("1500000")));
        assert_eq!(amount_from_f64(1080.5), Ok(dec("1080.5")));
        assert_eq!(amount_from_f64(0.1), Ok(dec("0.1")));
        assert_eq!(amount_from_f64(1_080.45), Ok(dec("1080.45")));
        assert_eq!(amount_from_f64(-0.0), Ok(Decimal::ZERO));
        assert_eq!(amount_from_f64(1e15), Ok(dec("1000000000000000")));
        assert!(matches!(
            amount_from_f64(f64::NAN),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            amount_from_f64(f64::INFINITY),
            Err(AmountError::NotANumber(_))
        ));
        assert!(matches!(
            amount_from_f64(f64::NEG_INFINITY),
            Err(AmountError::NotANumber(_))
        ));
        assert_eq!(
            amount_from_f64(-5.0),
            Err(AmountError::Negative("-5".into()))
        );
        assert!(matches!(
            amount_from_f64(1.5e15),
            Err(AmountError::TooLarge(_))
        ));
        assert!(amount_from_f64(f64::MIN_POSITIVE).is_ok());
        assert!(amount_from_f64(5e-324).is_ok());
    }

    #[test]
    fn unit_scaling() {
        let thousand = Decimal::from(1000);
        assert_eq!(to_dong(dec("1500"), thousand), Ok(dec("1500000")));
        assert_eq!(to_dong(dec("1080.5"), thousand), Ok(dec("1080500")));
        assert_eq!(
            to_dong(dec("1.5"), Decimal::from(1_000_000)),
            Ok(dec("1500000"))
        );
        assert_eq!(
            to_dong(dec("1500000.00"), Decimal::ONE).map(|d| d.scale()),
            Ok(0)
        );
        assert_eq!(
            to_dong(dec("1080.5"), Decimal::ONE),
            Err(AmountError::Fractional("1080.5".into()))
        );
        assert_eq!(
            to_dong(dec("1.0805"), thousand),
            Err(AmountError::Fractional("1080.5".into()))
        );
        assert_eq!(
            to_dong(dec("-1"), thousand),
            Err(AmountError::Negative("-1000".into()))
        );
        assert_eq!(to_dong(dec("-0"), thousand), Ok(Decimal::ZERO));
        assert!(matches!(
            to_dong(Decimal::MAX, thousand),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            to_dong(dec("2000000000000"), thousand),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn units_detected() {
        let k = Some(Decimal::from(1000));
        let m = Some(Decimal::from(1_000_000));
        let one = Some(Decimal::ONE);
        assert_eq!(parse_unit("ĐVT: 1.000 đồng"), k);
        assert_eq!(parse_unit("Đơn vị tính: nghìn đồng"), k);
        assert_eq!(parse_unit("Đơn vị: ngàn đồng"), k);
        assert_eq!(parse_unit("ĐVT: triệu đồng"), m);
        assert_eq!(parse_unit("(1.000 đồng)"), k);
        assert_eq!(parse_unit("Số tiền (nghìn đồng)"), k);
        assert_eq!(parse_unit("(đồng)"), one);
        assert_eq!(parse_unit("ĐVT: đồng"), one);
        assert_eq!(parse_unit("Đơn vị tính: 1.000đ"), k);
        assert_eq!(parse_unit("DVT:1000 VND"), k);
        assert_eq!(parse_unit("đơn vị tính : Đồng."), one);
        assert_eq!(parse_unit("Số tiền (VNĐ)"), one);
        assert_eq!(parse_unit("Kinh phí (Đơn vị tính: 1.000.000 đồng)"), m);
        assert_eq!(
            parse_unit("BẢNG TỔNG HỢP ... ĐVT: nghìn đồng; ngày lập 5/9"),
            k
        );
        assert_eq!(parse_unit("Mức trợ cấp (đồng/tháng)"), one);
        assert_eq!(parse_unit("Mức hưởng (1.000đ/người/tháng)"), k);
    }

    #[test]
    fn units_not_detected_in_ordinary_text() {
        for s in [
            "",
            "Số tiền được hưởng",
            "Số tiền",
            "Nguyễn Thị Đồng",
            "Đơn vị: Đồng Xoài",
            "Tên đơn vị: UBND xã Đồng Tâm",
            "ĐVT: người",
            "(500 đồng)",
            "(1.000)",
            "Ghi chú (đồng ý)",
            "dvtx: đồng",
            "ĐVT: người/tháng",
            "(đồng/5)",
        ] {
            assert_eq!(parse_unit(s), None, "{s}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(format_vnd(dec("1234567")), "1.234.567 ₫");
        assert_eq!(format_vnd(dec("1234567.00")), "1.234.567 ₫");
        assert_eq!(format_vnd(dec("-1234")), "-1.234 ₫");
        assert_eq!(format_vnd(dec("1234.5")), "1.234,5 ₫");
        assert_eq!(format_vnd(dec("0")), "0 ₫");
        assert_eq!(format_vnd(dec("-0")), "0 ₫");
        assert_eq!(format_vnd(dec("999")), "999 ₫");
        assert_eq!(format_thousands(16467), "16.467");
        assert_eq!(format_thousands(0), "0");
        assert_eq!(format_thousands(-1_000_000), "-1.000.000");
        assert_eq!(format_thousands(100), "100");
        assert_eq!(
            format_thousands(i128::MIN),
            "-170.141.183.460.469.231.731.687.303.715.884.105.728"
        );
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(16467, 16923), Some(dec("97.31")));
        assert_eq!(percent(16923, 26794), Some(dec("63.16")));
        assert_eq!(percent(1, 0), None);
        assert_eq!(percent(0, 5), Some(dec("0")));
        assert_eq!(percent(5, 5), Some(dec("100")));
        // 1/8 = 12.5% exactly; 1/800 = 0.125% -> half-up to 0.13.
        assert_eq!(percent(1, 800), Some(dec("0.13")));
        assert!(percent(u64::MAX, 1).is_some());
        assert_eq!(format_pct(dec("97.31")), "97,31%");
        assert_eq!(format_pct(dec("100")), "100,00%");
        assert_eq!(format_pct(dec("0.125")), "0,13%");
        assert_eq!(format_pct(dec("63.1596")), "63,16%");
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = parse_amount_text(&s);
            let _ = parse_unit(&s);
        }

        #[test]
        fn parse_numberlike_never_panics(s in "[-+(]?[0-9.,  ]{0,40}(đ|VND|)\\)?") {
            let _ = parse_amount_text(&s);
        }

        #[test]
        fn f64_never_panics(f in proptest::num::f64::ANY) {
            let _ = amount_from_f64(f);
        }

        #[test]
        fn whole_amounts_round_trip(n in 0i64..=1_000_000_000_000_000) {
            let d = Decimal::from(n);
            prop_assert_eq!(parse_amount_text(&format_vnd(d)), Ok(d));
            prop_assert_eq!(parse_amount_text(&format_thousands(i128::from(n))), Ok(d));
            prop_assert_eq!(to_dong(d, Decimal::ONE), Ok(d));
        }

        #[test]
        fn negative_amounts_are_rejected(n in 1i64..=1_000_000_000_000_000) {
            let d = Decimal::from(-n);
            prop_assert!(matches!(parse_amount_text(&format_vnd(d)), Err(AmountError::Negative(_))));
        }

        // Three decimals below 1.000 are ambiguous by design ("1,234" is 1234), so the
        // round trip holds for one or two decimals.
        #[test]
        fn fractional_amounts_round_trip(n in 0i64..=100_000_000_000_000, scale in 1u32..=2) {
            let d = Decimal::new(n, scale).normalize();
            prop_assert_eq!(parse_amount_text(&format_vnd(d)), Ok(d));
        }

        #[test]
        fn f64_cells_match_text(n in 0u64..=1_000_000_000_000_000) {
            prop_assert_eq!(amount_from_f64(n as f64), Ok(Decimal::from(n)));
        }

        #[test]
        fn percent_is_bounded(den in 1u64..1_000_000, frac in 0u64..=1000) {
            let num = den * frac / 1000;
            let p = percent(num, den);
            prop_assert!(p.is_some_and(|p| p >= Decimal::ZERO && p <= Decimal::from(100)));
        }
    }
}
