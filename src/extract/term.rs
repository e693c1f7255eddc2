//! Terms: a tenor span (`fifteen (15) years`, `10-year`, `two weeks`) or a start and maturity
//! date to days, by the spec's factors (month 30, quarter 90, year 365).

use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::sync::LazyLock;

use super::numbers::{NumberStyle, OutOfRange, read_digits, read_words, trailing_chinese_numeral};
use super::slice;

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

pub(crate) static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    // English, then the units of the European languages loans are translated from (German,
    // Dutch, Swedish, French, Spanish, Italian), then Chinese.
    Regex::new(concat!(
        r"(?i)\b(days?|weeks?|months?|quarters?|years?|yrs?",
        r"|jahre?n?|monate?n?|tage?n?|wochen?|jaar|maand(?:en)?|dagen|weken",
        r"|år|månad(?:er)?|dagar|veckor|vecka|ans|années?|mois|jours?|semaines?",
        r"|años?|meses|mes|días?|semanas?|ann[oi]|mes[ei]|giorn[oi]|settiman[ae]",
        r"|miesięcy|miesiące|miesiąc|lat|lata|rok|dni|mos)\b",
        r"|个季度|季度|个月|星期|周|天|年|月|日"
    ))
    .expect("valid regex")
});
/// A count of periodic payments standing for the tenor (`36 monthly payments`, `24 equal
/// monthly instalments`), where no unit of time is written.
pub(crate) static PAYMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(monthly|weekly|fortnightly|quarterly|annual|yearly)\b[\w\s-]{0,24}?\b(payments?|instal+ments?|repayments?)\b")
        .expect("valid regex")
});
static CJK_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]").expect("valid regex")
});
static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").expect("valid regex"));
static NUMERIC_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4})\b").expect("valid regex"));
static DAY_MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+([a-z]{3,9})\.?,?\s+(\d{4})\b")
        .expect("valid regex")
});
static MONTH_DAY_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b")
        .expect("valid regex")
});

/// Days in a term span: two dates give the calendar days between them; otherwise a count and
/// a unit (`36 months`, `thirty-six (36) months`, `10-year`, `two weeks`), summed when several.
pub fn parse_term(span: &str, style: NumberStyle) -> Option<u32> {
    read_term(span, style).ok().flatten()
}

/// [`parse_term`], with a term that does not fit `termDays` (a `uint32` of days) an error.
pub fn read_term(span: &str, style: NumberStyle) -> Result<Option<u32>, OutOfRange> {
    let dates = find_dates(span);
    if dates.len() >= 2
        && let (Some((_, start)), Some((_, end))) = (dates.first(), dates.last())
    {
        let days = end.signed_duration_since(*start).num_days();
        return Ok(u32::try_from(days).ok().filter(|d| *d > 0));
    }
    tenor_days(span, style)
}

fn tenor_days(span: &str, style: NumberStyle) -> Result<Option<u32>, OutOfRange> {
    let mut total = Decimal::ZERO;
    let mut previous_end = 0;
    let unfit = || {
        OutOfRange(format!(
            "{:?} is more days than termDays (uint32) holds",
            slice::before(span, 60)
        ))
    };
    let units: Vec<(usize, usize, u32)> = UNIT
        .find_iter(span)
        .map(|m| (m.start(), m.end(), unit_days(m.as_str())))
        .collect();
    let units = if units.is_empty() {
        PAYMENTS
            .captures_iter(span)
            .filter_map(|c| {
                let period = c.get(1)?;
                Some((period.start(), c.get(0)?.end(), unit_days(period.as_str())))
            })
            .collect()
    } else {
        units
    };
    for (start, end, factor) in units {
        let before = slice::span(span, previous_end, start);
        // `one year (365 days)`: a bracket restates the term, it does not add to it.
        if previous_end > 0 && before.trim_start().starts_with('(') {
            previous_end = end;
            continue;
        }
        let Some(count) = count_before(before, style)? else {
            return Ok(None);
        };
        total = count
            .checked_mul(Decimal::from(factor))
            .and_then(|days| total.checked_add(days))
            .ok_or_else(unfit)?;
        previous_end = end;
    }
    let days = total.round();
    if days <= Decimal::ZERO {
        return Ok(None);
    }
    days.to_u32().map(Some).ok_or_else(unfit)
}

/// Days in one unit of time (`months` 30, `年` 365) or one payment period (`monthly` 30).
fn unit_days(unit: &str) -> u32 {
    let lower = unit.to_lowercase();
    let stem = lower.trim_end_matches('s');
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| stem.starts_with(p));
    if starts(&["day", "tag", "dag", "jour", "día", "dia", "giorn", "dni"])
        || matches!(stem, "天" | "日")
    {
        1
    } else if starts(&[
        "week", "woche", "weken", "veck", "semain", "semana", "settiman",
    ]) || matches!(stem, "周" | "星期")
    {
        7
    } else if stem == "fortnightly" {
        14
    } else if starts(&[
        "month", "monat", "maand", "månad", "moi", "mes", "miesi", "mo",
    ]) || matches!(stem, "个月" | "月")
    {
        30
    } else if starts(&["quarter"]) || matches!(stem, "季度" | "个季度") {
        90
    } else {
        365
    }
}

/// The count written before a unit: digits when present (`fifteen (15) years` is 15), else
/// words, else `a`/`an` for one.
pub(super) fn count_before(
    before: &str,
    style: NumberStyle,
) -> Result<Option<Decimal>, OutOfRange> {
    if let Some((value, _)) = last_digits(before, style)? {
        return Ok(Some(value));
    }
    if let Some(value) = read_words(before)? {
        return Ok(Some(value));
    }
    // `三年`, `十八个月`, `两年`
    if let Some(value) = trailing_chinese_numeral(before.trim_end()) {
        return Ok(Some(Decimal::from(value)));
    }
    let last_word = before
        .split_whitespace()
        .last()
        .unwrap_or("")
        .to_lowercase();
    Ok(matches!(last_word.as_str(), "a" | "an" | "one").then_some(Decimal::ONE))
}

fn last_digits(
    text: &str,
    style: NumberStyle,
) -> Result<Option<(Decimal, std::ops::Range<usize>)>, OutOfRange> {
    let mut offset = 0;
    let mut last = None;
    while let Some((value, range)) = read_digits(slice::from(text, offset), style)? {
        let end = offset.saturating_add(range.end);
        last = Some((value, offset.saturating_add(range.start)..end));
        offset = end.max(offset.saturating_add(1));
    }
    Ok(last)
}

/// Every date in `text`, in order, with its byte offset.
pub fn find_dates(text: &str) -> Vec<(usize, NaiveDate)> {
    find_date_spans(text)
        .into_iter()
        .map(|(range, date)| (range.start, date))
        .collect()
}

/// Every date in `text`, in order, with the bytes it is written in.
pub fn find_date_spans(text: &str) -> Vec<(std::ops::Range<usize>, NaiveDate)> {
    let mut dates: Vec<(std::ops::Range<usize>, NaiveDate)> = Vec::new();
    for c in ISO_DATE.captures_iter(text) {
        if let Some(date) = ymd(&c[1], &c[2], &c[3]) {
            dates.push((c.get(0).map_or(0..0, |m| m.range()), date));
        }
    }
    for c in NUMERIC_DATE.captures_iter(text) {
        let (a, b): (u32, u32) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
        // Day first unless that is impossible (`01/15/2025` is American).
        let (day, month) = if b > 12 { (b, a) } else { (a, b) };
        if let Some(date) = NaiveDate::from_ymd_opt(c[3].parse().unwrap_or(0), month, day) {
            dates.push((c.get(0).map_or(0..0, |m| m.range()), date));
        }
    }
    for c in CJK_DATE.captures_iter(text) {
        if let Some(date) = ymd(&c[1], &c[2], &c[3]) {
            dates.push((c.get(0).map_or(0..0, |m| m.range()), date));
        }
    }
    for c in DAY_MONTH_YEAR.captures_iter(text) {
        if let Some(date) = named(&c[3], &c[2], &c[1]) {
            dates.push((c.get(0).map_or(0..0, |m| m.range()), date));
        }
    }
    for c in MONTH_DAY_YEAR.captures_iter(text) {
        if let Some(date) = named(&c[3], &c[1], &c[2]) {
            dates.push((c.get(0).map_or(0..0, |m| m.range()), date));
        }
    }
    dates.sort_by_key(|(at, _)| at.start);
    dates.dedup_by_key(|(at, _)| at.start);
    dates
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// `15 January 2025`, `Jan. 15, 2025`, `1st of Sept 2025`: a full month name or a prefix of
/// at least three letters.
fn named(year: &str, month: &str, day: &str) -> Option<NaiveDate> {
    let lower = month.to_lowercase();
    let index = MONTHS
        .iter()
        .position(|full| lower.len() >= 3 && full.starts_with(&lower))?;
    NaiveDate::from_ymd_opt(year.parse().ok()?, index as u32 + 1, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(span: &str) -> Option<u32> {
        parse_term(span, NumberStyle::default())
    }

    #[test]
    fn tenors() {
        assert_eq!(days("fifteen (15) years"), Some(5475));
        assert_eq!(days("thirty-six (36) months"), Some(1080));
        assert_eq!(days("five years"), Some(1825));
        assert_eq!(days("7 years"), Some(2555));
        assert_eq!(days("12 months"), Some(360));
        assert_eq!(days("60 days"), Some(60));
        assert_eq!(days("two weeks"), Some(14));
        assert_eq!(days("10-year"), Some(3650));
        assert_eq!(days("30-year"), Some(10950));
        assert_eq!(days("eighteen months"), Some(540));
        assert_eq!(days("ten weeks"), Some(70));
        assert_eq!(days("2 quarters"), Some(180));
        assert_eq!(days("a year"), Some(365));
        assert_eq!(days("1 year and 6 months"), Some(545));
        assert_eq!(days("soon"), None);
        assert_eq!(days("36 monthly payments"), Some(1080));
        assert_eq!(
            days("forty-eight (48) equal monthly installments"),
            Some(1440)
        );
        assert_eq!(days("26 fortnightly repayments"), Some(364));
        assert_eq!(days("one year (365 days)"), Some(365));
        assert_eq!(days("36\u{3000}个月"), Some(1080));
        assert_eq!(days("三年"), Some(1095));
        assert_eq!(days("十八个月"), Some(540));
        assert_eq!(days("两年"), Some(730));
        assert_eq!(days("5年"), Some(1825));
        assert_eq!(days("90天"), Some(90));
        assert_eq!(days("30 jaar (360 maanden)"), Some(10950));
        assert_eq!(days("eine Laufzeit von 60 Monaten"), Some(1800));
        assert_eq!(days("10 Jahre"), Some(3650));
        assert_eq!(days("5 år"), Some(1825));
        assert_eq!(days("84 mois"), Some(2520));
        assert_eq!(days("24 meses"), Some(720));
        assert_eq!(days("36 mesi"), Some(1080));
        assert_eq!(days("84 miesięcy"), Some(2520));
        assert_eq!(days("30 lat (360 miesięcy)"), Some(10950));
        assert_eq!(days("30 dni"), Some(30));
        assert_eq!(days("72 mos"), Some(2160));
        assert_eq!(
            days("15-03-2025\n3. Final maturity date: 14-03-2030"),
            Some(1825)
        );
    }

    #[test]
    fn date_ranges() {
        assert_eq!(
            days("15 January 2025 and is repayable in full on 15 January 2029"),
            Some(1461)
        );
        assert_eq!(
            days("30 June 2025\nMaturity Date: 30 June 2028"),
            Some(1096)
        );
        assert_eq!(
            days("1 September 2025 and repaid in full by 28 February 2027"),
            Some(545)
        );
        assert_eq!(days("2025-03-01\nMaturity: 2025-08-28"), Some(180));
        assert_eq!(
            days(
                "10 April 2024, and the entire unpaid principal and accrued interest shall be due and payable on 10 October 2026"
            ),
            Some(913)
        );
        assert_eq!(days("March 1, 2025 until August 28, 2025"), Some(180));
        assert_eq!(days("01.03.2025 – 28.08.2025"), Some(180));
        assert_eq!(days("2024年10月1日至2025年3月31日"), Some(181));
        assert_eq!(days("自2026年3月1日起至2028年2月29日止"), Some(730));
        assert_eq!(
            days("the 1st of March 2025 to the 28th of August 2025"),
            Some(180)
        );
    }
}
