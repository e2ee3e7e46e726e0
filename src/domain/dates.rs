//! Dates of birth and payment dates as they appear in lists: Vietnamese day-first
//! text, a bare year (common for elderly beneficiaries), ISO, or an Excel serial.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

/// Vietnam keeps UTC+7 all year (Asia/Ho_Chi_Minh has no daylight saving time).
pub fn vietnam_time(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    match FixedOffset::east_opt(7 * 3600) {
        Some(offset) => t.with_timezone(&offset),
        None => t.fixed_offset(),
    }
}

/// The time a report was made, as its readers quote it, zone named:
/// "01/12/2026 16:05 (giờ Việt Nam, UTC+7)".
pub fn report_time(t: DateTime<Utc>) -> String {
    format!(
        "{} (giờ Việt Nam, UTC+7)",
        vietnam_time(t).format("%d/%m/%Y %H:%M")
    )
}

/// `report_time`'s text back to the minute it names; None for any other text.
pub fn parse_report_time(s: &str) -> Option<DateTime<Utc>> {
    let head = s.get(..16)?;
    let local = chrono::NaiveDateTime::parse_from_str(head, "%d/%m/%Y %H:%M").ok()?;
    let offset = FixedOffset::east_opt(7 * 3600)?;
    local
        .and_local_timezone(offset)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// This year, in Vietnam.
pub fn this_year() -> i32 {
    vietnam_time(Utc::now()).year()
}

/// Outside this range a "year" is a typo or a different quantity.
const YEARS: std::ops::RangeInclusive<i32> = 1850..=2200;
/// Serial of 9999-12-31, Excel's last date.
const MAX_SERIAL: u64 = 2_958_465;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DateOrYear {
    Date(NaiveDate),
    Year(i32),
}

impl DateOrYear {
    pub fn year(self) -> i32 {
        match self {
            DateOrYear::Date(d) => d.year(),
            DateOrYear::Year(y) => y,
        }
    }

    /// "dd/mm/yyyy" or "yyyy".
    pub fn format_vi(self) -> String {
        match self {
            DateOrYear::Date(d) => format_date_vi(d),
            DateOrYear::Year(y) => format!("{y:04}"),
        }
    }
}

fn all_digits(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

fn ymd(y: &str, m: &str, d: &str) -> Option<DateOrYear> {
    if !(all_digits(y, 4..=4) && all_digits(m, 1..=2) && all_digits(d, 1..=2)) {
        return None;
    }
    let year: i32 = y.parse().ok()?;
    if !YEARS.contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, m.parse().ok()?, d.parse().ok()?).map(DateOrYear::Date)
}

/// A time after the date ("T08:30:00Z", " 08:30:00", " 8:30 SA") is accepted and
/// ignored; it must at least start like "h:" or "hh:".
fn is_time_suffix(rest: &str) -> bool {
    let Some(time) = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' ')) else {
        return false;
    };
    let time = time.trim_start();
    let hour_len = time.bytes().take_while(u8::is_ascii_digit).count();
    (1..=2).contains(&hour_len) && time[hour_len..].starts_with(':')
}

/// "dd/mm/yyyy", "d/m/yyyy", "dd-mm-yyyy", "dd.mm.yyyy", "yyyy", ISO "yyyy-mm-dd"
/// (optionally with a time). Day first: Vietnamese documents never put the month first.
pub fn parse_date_text(s: &str) -> Option<DateOrYear> {
    let s = s.trim();
    if all_digits(s, 4..=4) {
        let year: i32 = s.parse().ok()?;
        return YEARS.contains(&year).then_some(DateOrYear::Year(year));
    }
    let (date, rest) = match s.find(['T', ' ']) {
        Some(pos) => s.split_at(pos),
        None => (s, ""),
    };
    if !rest.is_empty() && !is_time_suffix(rest) {
        return None;
    }
    let sep = date.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    let parts: Vec<&str> = date.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if a.len() == 4 {
        // Year first is unambiguous: ISO, or "2024/09/05" from some exports.
        ymd(a, b, c)
    } else {
        ymd(c, b, a)
    }
}

/// A numeric cell in a date column: a whole number 1850..=2200 is a year, otherwise
/// an Excel 1900-system serial date (time of day ignored).
pub fn from_excel_number(n: f64) -> Option<DateOrYear> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && (f64::from(*YEARS.start())..=f64::from(*YEARS.end())).contains(&n) {
        return Some(DateOrYear::Year(n as i32));
    }
    let serial = n.floor();
    if !(1.0..=MAX_SERIAL as f64).contains(&serial) {
        return None;
    }
    let serial = serial as u64;
    // Excel counts a 29/02/1900 that never existed (serial 60, kept for Lotus 1-2-3
    // compatibility), so serials from 61 on are one day ahead of a plain count.
    let date = match serial {
        0..=59 => NaiveDate::from_ymd_opt(1900, 1, 1)?
            .checked_add_days(Days::new(serial.saturating_sub(1))),
        60 => None,
        _ => NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(Days::new(serial)),
    };
    date.map(DateOrYear::Date)
}

/// dd/mm/yyyy
pub fn format_date_vi(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_times_are_vietnam_time_and_say_so() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-12-01T20:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        // 20:30 UTC is 03:30 the next day in Vietnam.
        assert_eq!(report_time(t), "02/12/2026 03:30 (giờ Việt Nam, UTC+7)");
        assert_eq!(parse_report_time(&report_time(t)), Some(t));
        assert_eq!(parse_report_time("2026-12-02 03:30"), None);
        assert_eq!(parse_report_time("02/12/2026"), None);
        assert_eq!(parse_report_time("ngày 02/12/2026 03:30 xx"), None);
        assert_eq!(vietnam_time(t).year(), 2026);
    }
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> Option<DateOrYear> {
        NaiveDate::from_ymd_opt(y, m, d).map(DateOrYear::Date)
    }

    #[test]
    fn day_first_forms() {
        for s in [
            "05/09/1953",
            "5/9/1953",
            "05-09-1953",
            "05.09.1953",
            " 5/09/1953 ",
            "05/09/1953 00:00:00",
        ] {
            assert_eq!(parse_date_text(s), date(1953, 9, 5), "{s}");
        }
    }

    #[test]
    fn iso_forms() {
        for s in [
            "1953-09-05",
            "1953-9-5",
            "1953-09-05T00:00:00",
            "1953-09-05T08:30:00Z",
            "1953-09-05 08:30:00",
            "1953/09/05",
            "1953-09-05 8:30 SA",
        ] {
            assert_eq!(parse_date_text(s), date(1953, 9, 5), "{s}");
        }
    }

    #[test]
    fn year_only() {
        assert_eq!(parse_date_text("1953"), Some(DateOrYear::Year(1953)));
        assert_eq!(parse_date_text(" 2024 "), Some(DateOrYear::Year(2024)));
        assert_eq!(parse_date_text("1849"), None);
        assert_eq!(parse_date_text("2201"), None);
        assert_eq!(parse_date_text("0953"), None);
    }

    #[test]
    fn rejected() {
        for s in [
            "",
            "abc",
            "31/02/2024",
            "29/02/2023",
            "32/01/2000",
            "01/13/2000",
            "05/09/53",
            "05/09-1953",
            "05/09/1953/1",
            "1953-09-05X",
            "1953-09-05 abc",
            "1953-09-05 12",
            "1953-09-05T",
            "05/09/1800",
            "05/09/2300",
            "953",
            "1953-09",
        ] {
            assert_eq!(parse_date_text(s), None, "{s}");
        }
        assert_eq!(parse_date_text("29/02/2024"), date(2024, 2, 29));
    }

    #[test]
    fn excel_serials() {
        assert_eq!(from_excel_number(1.0), date(1900, 1, 1));
        assert_eq!(from_excel_number(59.0), date(1900, 2, 28));
        assert_eq!(from_excel_number(60.0), None);
        assert_eq!(from_excel_number(61.0), date(1900, 3, 1));
        assert_eq!(from_excel_number(19607.0), date(1953, 9, 5));
        assert_eq!(from_excel_number(45540.75), date(2024, 9, 5));
        assert_eq!(from_excel_number(2_958_465.0), date(9999, 12, 31));
        assert_eq!(from_excel_number(2_958_466.0), None);
        assert_eq!(from_excel_number(0.0), None);
        assert_eq!(from_excel_number(0.5), None);
        assert_eq!(from_excel_number(-1.0), None);
        assert_eq!(from_excel_number(f64::NAN), None);
        assert_eq!(from_excel_number(f64::INFINITY), None);
    }

    #[test]
    fn excel_years() {
        assert_eq!(from_excel_number(1953.0), Some(DateOrYear::Year(1953)));
        assert_eq!(from_excel_number(1850.0), Some(DateOrYear::Year(1850)));
        assert_eq!(from_excel_number(2200.0), Some(DateOrYear::Year(2200)));
        // Not whole: a serial in 1905.
        assert_eq!(from_excel_number(1953.5), date(1905, 5, 6));
        assert_eq!(from_excel_number(2201.0), date(1906, 1, 9));
    }

    #[test]
    fn formatting() {
        assert_eq!(
            date(1953, 9, 5).map(DateOrYear::format_vi).as_deref(),
            Some("05/09/1953")
        );
        assert_eq!(DateOrYear::Year(1953).format_vi(), "1953");
        assert_eq!(DateOrYear::Year(1953).year(), 1953);
        assert_eq!(date(2024, 2, 29).map(DateOrYear::year), Some(2024));
    }

    proptest! {
        #[test]
        fn text_never_panics(s in "\\PC*") {
            let _ = parse_date_text(&s);
        }

        #[test]
        fn numbers_never_panic(n in proptest::num::f64::ANY) {
            let _ = from_excel_number(n);
        }

        #[test]
        fn format_parse_round_trip(days in 0u64..(350 * 366)) {
            let d = NaiveDate::from_ymd_opt(1850, 1, 1).and_then(|s| s.checked_add_days(Days::new(days)));
            if let Some(d) = d {
                prop_assert_eq!(parse_date_text(&format_date_vi(d)), Some(DateOrYear::Date(d)));
                prop_assert_eq!(parse_date_text(&d.to_string()), Some(DateOrYear::Date(d)));
            }
        }
    }
}
