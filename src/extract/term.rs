//! Terms: a tenor span (`fifteen (15) years`, `10-year`, `two weeks`) or a start and maturity
//! date to days, by the spec's factors (month 30, quarter 90, year 365).

use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::sync::LazyLock;

use super::numbers::{NumberStyle, OutOfRange, read_digits, read_words};
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

static UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(days?|weeks?|months?|quarters?|years?|yrs?)\b").expect("valid regex")
});
static ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").expect("valid regex"));
static NUMERIC_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b").expect("valid regex"));
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
            slice::prefix(span, 60)
        ))
    };
    for unit in UNIT.find_iter(span) {
        let before = slice::span(span, previous_end, unit.start());
        let Some(count) = count_before(before, style)? else {
            return Ok(None);
        };
        let factor = match unit.as_str().to_lowercase().trim_end_matches('s') {
            "day" => 1,
            "week" => 7,
            "month" => 30,
            "quarter" => 90,
            _ => 365,
        };
        total = count
            .checked_mul(Decimal::from(factor))
            .and_then(|days| total.checked_add(days))
            .ok_or_else(unfit)?;
        previous_end = unit.end();
    }
    let days = total.round();
    if days <= Decimal::ZERO {
        return Ok(None);
    }
    days.to_u32().map(Some).ok_or_else(unfit)
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
    let mut dates: Vec<(usize, NaiveDate)> = Vec::new();
    for c in ISO_DATE.captures_iter(text) {
        if let Some(date) = ymd(&c[1], &c[2], &c[3]) {
            dates.push((c.get(0).map_or(0, |m| m.start()), date));
        }
    }
    for c in NUMERIC_DATE.captures_iter(text) {
        let (a, b): (u32, u32) = (c[1].parse().unwrap_or(0), c[2].parse().unwrap_or(0));
        // Day first unless that is impossible (`01/15/2025` is American).
        let (day, month) = if b > 12 { (b, a) } else { (a, b) };
        if let Some(date) = NaiveDate::from_ymd_opt(c[3].parse().unwrap_or(0), month, day) {
            dates.push((c.get(0).map_or(0, |m| m.start()), date));
        }
    }
    for c in DAY_MONTH_YEAR.captures_iter(text) {
        if let Some(date) = named(&c[3], &c[2], &c[1]) {
            dates.push((c.get(0).map_or(0, |m| m.start()), date));
        }
    }
    for c in MONTH_DAY_YEAR.captures_iter(text) {
        if let Some(date) = named(&c[3], &c[1], &c[2]) {
            dates.push((c.get(0).map_or(0, |m| m.start()), date));
        }
    }
    dates.sort_by_key(|(at, _)| *at);
    dates.dedup_by_key(|(at, _)| *at);
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
        assert_eq!(
            days("the 1st of March 2025 to the 28th of August 2025"),
            Some(180)
        );
    }
}
