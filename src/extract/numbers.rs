//! Numbers as people write them: `1,250,000`, `1.25M`, `2.5 million`, `1 250 000`,
//! `EUR 1.250.000,00`, `1,50,000`, `25k`, `7 1/2`, `forty-five thousand`,
//! `seven and one-half`.

use std::sync::LazyLock;

use regex::Regex;
use rust_decimal::Decimal;

use super::slice;

/// How a text writes its decimal mark, read from the whole text once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumberStyle {
    /// `,` is the decimal mark and `.` groups thousands (`1.250.000,00`, `4,35 %`).
    pub comma_decimal: bool,
    /// A single comma is the decimal mark even before three digits (set for one percentage in
    /// such a text, `2,478 %`).
    pub lone_comma_decimal: bool,
}

impl NumberStyle {
    /// Guesses the style from a whole text: a comma followed by one or two digits and no third
    /// (`4,35 %`, `85.000,00`), dot-grouped thousands (`1.250.000`), or a euro or franc amount
    /// grouped with a dot (`€100.000`) mark European writing.
    pub fn detect(text: &str) -> Self {
        Self {
            comma_decimal: EUROPEAN.is_match(text),
            lone_comma_decimal: false,
        }
    }
}

static EUROPEAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\d,\d{1,2}(?:[^\d]|$)|\d{1,3}(?:\.\d{3}){2,}(?:[^\d]|$)|(?:€|eur|chf)\s?\d{1,3}(?:\.\d{3})+(?:[^\d]|$)|\d{1,3}(?:\.\d{3})+\s?(?:€|eur|chf|franc)")
        .expect("valid regex")
});

/// A number the text writes that its field cannot hold (`100000000000000000000 billion`, a
/// rate of `99999999999999999999999999%`): the value is withheld, with this as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OutOfRange(pub String);

impl OutOfRange {
    /// `written` is too large to read.
    pub fn too_large(written: &str) -> Self {
        Self(format!(
            "{:?} is too large to read",
            slice::before(written, 60)
        ))
    }
}

/// The first number in `text`: digits (preferred when present) or else number words.
pub fn parse_number(text: &str, style: NumberStyle) -> Option<Decimal> {
    read_number(text, style).ok().flatten()
}

/// The first number in `text`, or why the number written there cannot be held: digits (full
/// width too, `８８，０００．００`), else English number words, else Chinese numerals
/// (`叁佰陆拾万`, `壹万贰仟`).
pub fn read_number(text: &str, style: NumberStyle) -> Result<Option<Decimal>, OutOfRange> {
    let ascii;
    let text = if text.chars().any(is_full_width) {
        ascii = to_half_width(text);
        ascii.as_str()
    } else {
        text
    };
    if let Some((value, _)) = read_digits(text, style)? {
        return Ok(Some(value));
    }
    if let Some(value) = read_words(text)? {
        return Ok(Some(value));
    }
    Ok(chinese_number(text))
}

fn is_full_width(c: char) -> bool {
    ('\u{ff01}'..='\u{ff5e}').contains(&c)
}

/// Full-width ASCII (`８８，０００．００`, `％`) as plain ASCII.
fn to_half_width(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_full_width(c) {
                char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// The first number written in Chinese numerals, with 万 and 亿 sections (`伍佰万`, `壹拾伍亿`,
/// `壹万贰仟`); `None` without one.
pub fn chinese_number(text: &str) -> Option<Decimal> {
    const NUMERALS: &str = "零〇一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟万萬亿億";
    let start = text.find(|c: char| NUMERALS.contains(c) && !"万萬亿億".contains(c))?;
    let run: String = slice::from(text, start)
        .chars()
        .take_while(|c| NUMERALS.contains(*c))
        .collect();
    let mut total = Decimal::ZERO;
    let mut section = String::new();
    for c in run.chars() {
        let scale = match c {
            '亿' | '億' => Some(100_000_000i64),
            '万' | '萬' => Some(10_000),
            _ => None,
        };
        match scale {
            Some(scale) => {
                let value = trailing_chinese_numeral(&section).unwrap_or(1);
                total =
                    total.checked_add(Decimal::from(value).checked_mul(Decimal::from(scale))?)?;
                section.clear();
            }
            None => section.push(c),
        }
    }
    if let Some(rest) = trailing_chinese_numeral(&section) {
        total = total.checked_add(Decimal::from(rest))?;
    }
    (!run.is_empty()).then_some(total)
}

/// [`read_digits`], with a number too large to hold read as none.
pub fn parse_digits(text: &str, style: NumberStyle) -> Option<(Decimal, std::ops::Range<usize>)> {
    read_digits(text, style).ok().flatten()
}

/// The first digit-written number in `text`, with a following fraction (`7 1/2`) and scale
/// word (`2.5 million`, `25k`) applied; also returns the byte range it covered. A number
/// with more digits than a `Decimal` holds (about 28), or one its scale pushes past that, is
/// an error.
pub fn read_digits(
    text: &str,
    style: NumberStyle,
) -> Result<Option<(Decimal, std::ops::Range<usize>)>, OutOfRange> {
    let Some(start) = text.find(|c: char| c.is_ascii_digit()) else {
        return Ok(None);
    };
    let run_end = digit_run_end(text, start);
    let raw = slice::span(text, start, run_end)
        .trim_end_matches([',', '.', ' ', '\u{a0}', '\u{202f}', '\'']);
    let mut end = start.saturating_add(raw.len());
    // A percentage in a text that writes decimals with a comma: a lone comma is the decimal
    // mark even before three digits (`2,478 %`; no rate is 2478 %).
    let percent_follows = {
        let after = slice::from(text, end).trim_start();
        ["%", "％", "percent", "per cent", "prozent", "procent"]
            .iter()
            .any(|p| after.starts_with(p))
    };
    let style = NumberStyle {
        comma_decimal: style.comma_decimal,
        lone_comma_decimal: style.comma_decimal && percent_follows,
    };
    let Some(mut value) = parse_grouped(raw, style)? else {
        return Ok(None);
    };
    let too_large = || OutOfRange::too_large(slice::from(text, start));

    // `7 1/2` or `7½`
    let rest = slice::from(text, end);
    if let Some((fraction, used)) = trailing_fraction(rest) {
        value = value.checked_add(fraction).ok_or_else(too_large)?;
        end = end.saturating_add(used);
    } else if let Some(slash) = rest.strip_prefix('/') {
        // `1/2` alone: value was the numerator.
        let den_len = slash.bytes().take_while(u8::is_ascii_digit).count();
        if den_len > 0 {
            let Ok(den) = slice::before(slash, den_len).parse::<Decimal>() else {
                return Err(too_large());
            };
            if !den.is_zero() {
                value = value.checked_div(den).ok_or_else(too_large)?;
                end = end.saturating_add(den_len).saturating_add(1);
            }
        }
    }

    if let Some((scale, used)) = scale_suffix(slice::from(text, end)) {
        end = end.saturating_add(used);
        value = value.checked_mul(scale).ok_or_else(too_large)?;
    }
    Ok(Some((value.normalize(), start..end)))
}

fn digit_run_end(text: &str, start: usize) -> usize {
    let mut end = start;
    for (i, c) in slice::from(text, start).char_indices() {
        let separator = matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\u{202f}' | '\'');
        let at = start.saturating_add(i);
        if c.is_ascii_digit() {
            end = at.saturating_add(1);
        } else if separator {
            // A separator only continues the number when a digit follows it directly, and a
            // space only when exactly three digits follow (`1 250 000`, not `15 1/2`).
            let after_separator = slice::from(text, at.saturating_add(c.len_utf8()));
            let next_digits = after_separator
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            let after = slice::from(after_separator, next_digits).chars().next();
            let ok = match c {
                ' ' | '\u{a0}' | '\u{202f}' | '\'' => {
                    next_digits == 3 && !after.is_some_and(|a| a.is_ascii_digit() || a == '/')
                }
                _ => next_digits > 0,
            };
            if !ok {
                break;
            }
        } else {
            break;
        }
    }
    end
}

/// `1,250,000`, `1.250.000,00`, `1,50,000`, `4,35`, `12.5`, `1 250 000`.
fn parse_grouped(raw: &str, style: NumberStyle) -> Result<Option<Decimal>, OutOfRange> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\''))
        .collect();
    let commas = cleaned.matches(',').count();
    let dots = cleaned.matches('.').count();
    let decimal_mark = match (commas, dots) {
        (0, 0) => None,
        (_, 0) => comma_is_decimal(&cleaned, commas, style).then_some(','),
        (0, _) => dot_is_decimal(&cleaned, dots, style).then_some('.'),
        // Both: whichever comes last is the decimal mark.
        _ => Some(if cleaned.rfind(',') > cleaned.rfind('.') {
            ','
        } else {
            '.'
        }),
    };
    let normal: String = cleaned
        .chars()
        .filter_map(|c| match c {
            ',' | '.' if Some(c) == decimal_mark => Some('.'),
            ',' | '.' => None,
            d => Some(d),
        })
        .collect();
    match normal.parse() {
        Ok(value) => Ok(Some(value)),
        // Only digits and one decimal mark are left: what does not parse has too many digits.
        Err(_) if normal.bytes().filter(u8::is_ascii_digit).count() > 20 => {
            Err(OutOfRange::too_large(raw))
        }
        Err(_) => Ok(None),
    }
}

fn digits_after_last(s: &str, mark: char) -> usize {
    s.rsplit(mark).next().map_or(0, str::len)
}

fn comma_is_decimal(s: &str, commas: usize, style: NumberStyle) -> bool {
    commas == 1
        && (digits_after_last(s, ',') != 3
            || style.lone_comma_decimal
            || style.comma_decimal && s.starts_with("0,"))
}

fn dot_is_decimal(s: &str, dots: usize, style: NumberStyle) -> bool {
    // `85.000` is eighty-five thousand in European writing, `1.500` is 1.5 elsewhere.
    dots == 1 && !(style.comma_decimal && digits_after_last(s, '.') == 3)
}

/// ` 1/2`, `½`, `-1/2` after an integer.
fn trailing_fraction(rest: &str) -> Option<(Decimal, usize)> {
    for (glyph, value) in [('½', (1, 2)), ('¼', (1, 4)), ('¾', (3, 4))] {
        let trimmed = rest.trim_start_matches([' ', '-']);
        if trimmed.starts_with(glyph) {
            let used = rest.len().saturating_sub(trimmed.len()) + glyph.len_utf8();
            return Some((Decimal::from(value.0) / Decimal::from(value.1), used));
        }
    }
    let trimmed = rest.strip_prefix([' ', '-'])?;
    let num_len = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let after_num = slice::from(trimmed, num_len).strip_prefix('/')?;
    let den_len = after_num.bytes().take_while(u8::is_ascii_digit).count();
    if num_len == 0 || den_len == 0 {
        return None;
    }
    let num: Decimal = slice::before(trimmed, num_len).parse().ok()?;
    let den: Decimal = slice::before(after_num, den_len).parse().ok()?;
    if den.is_zero() || num >= den {
        return None;
    }
    Some((num.checked_div(den)?, num_len + den_len + 2))
}

/// `k`, `M`, `mm`, `mn`, `bn`, ` million`, ` thousand`, ` billion`, `万`, `亿` right after a
/// number.
fn scale_suffix(rest: &str) -> Option<(Decimal, usize)> {
    let trimmed = rest.trim_start_matches([' ', '\u{a0}', '\u{202f}', '\u{2009}', '\u{3000}']);
    let gap = rest.len().saturating_sub(trimmed.len());
    // Chinese writes its scales as characters right after the digits: `5万元`, `1.2亿`.
    for (glyph, scale) in [
        ('万', 10_000i64),
        ('萬', 10_000),
        ('亿', 100_000_000),
        ('億', 100_000_000),
    ] {
        if trimmed.starts_with(glyph) {
            return Some((Decimal::from(scale), gap + glyph.len_utf8()));
        }
    }
    let word_len = trimmed
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(trimmed.len());
    let word = slice::before(trimmed, word_len);
    let tight = gap == 0;
    let scale: i64 = match word {
        "k" | "K" if tight => 1_000,
        "m" | "M" | "mm" | "MM" | "mn" | "Mn" if tight => 1_000_000,
        "b" | "B" | "bn" | "Bn" | "BN" if tight => 1_000_000_000,
        _ => match word.to_ascii_lowercase().as_str() {
            "thousand" | "grand" => 1_000,
            "million" | "millions" | "mio" | "mill" | "miljon" | "miljoner" | "miljoen"
            | "miljoenen" | "millones" | "millón" | "millon" | "milioni" | "milione"
            | "millionen" | "mln" => 1_000_000,
            "miljard" | "miljarder" | "mrd" | "milliard" | "milliarden" => 1_000_000_000,
            "billion" | "billions" | "bn" => 1_000_000_000,
            "lakh" | "lakhs" => 100_000,
            "crore" | "crores" => 10_000_000,
            _ => return None,
        },
    };
    Some((Decimal::from(scale), gap + word_len))
}

/// A number written in Chinese numerals at the end of `text` (`三`, `十八`, `二十四`, `两`,
/// `一百二十`), up to 9999; `None` when `text` does not end in one.
pub fn trailing_chinese_numeral(text: &str) -> Option<u32> {
    let digit = |c: char| match c {
        '零' | '〇' => Some(0),
        '一' | '壹' => Some(1),
        '二' | '两' | '贰' => Some(2),
        '三' | '叁' => Some(3),
        '四' | '肆' => Some(4),
        '五' | '伍' => Some(5),
        '六' | '陆' => Some(6),
        '七' | '柒' => Some(7),
        '八' | '捌' => Some(8),
        '九' | '玖' => Some(9),
        _ => None,
    };
    let unit = |c: char| match c {
        '十' | '拾' => Some(10),
        '百' | '佰' => Some(100),
        '千' | '仟' => Some(1000),
        _ => None,
    };
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| digit(*c).is_some() || unit(*c).is_some())
        .last()
        .map(|(i, _)| i)?;
    let mut total: u32 = 0;
    let mut pending: Option<u32> = None;
    for c in slice::from(text, start).chars() {
        if let Some(d) = digit(c) {
            pending = Some(d);
        } else if let Some(u) = unit(c) {
            // `十八`: a unit with no digit before it counts once.
            total = total.saturating_add(pending.take().unwrap_or(1).saturating_mul(u));
        }
    }
    Some(total.saturating_add(pending.unwrap_or(0)))
}

/// Whether `word` (lower case) is part of a number written in words.
pub fn is_number_word(word: &str) -> bool {
    unit_word(word).is_some() || matches!(word, "hundred" | "thousand" | "million" | "billion")
}

/// Number words below twenty, by value.
pub(crate) const UNITS: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

/// The tens from twenty, by value / 10 - 2.
pub(crate) const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn unit_word(word: &str) -> Option<u64> {
    if let Some(i) = UNITS.iter().position(|u| *u == word) {
        return Some(i as u64);
    }
    TENS.iter()
        .position(|t| *t == word)
        .map(|i| (i as u64 + 2) * 10)
}

fn fraction_word(word: &str) -> Option<u64> {
    match word {
        "half" | "halves" => Some(2),
        "third" | "thirds" => Some(3),
        "quarter" | "quarters" | "fourth" | "fourths" => Some(4),
        "fifth" | "fifths" => Some(5),
        "eighth" | "eighths" => Some(8),
        "tenth" | "tenths" => Some(10),
        _ => None,
    }
}

/// Number words: `forty-five thousand`, `two hundred and fifty thousand`, `one million`,
/// `seven and one-half`, `six and a half`, `one-quarter`. Reads the first run of number words.
pub fn parse_words(text: &str) -> Option<Decimal> {
    read_words(text).ok().flatten()
}

/// [`parse_words`], with a number too large to hold (`hundred hundred hundred …`) an error.
pub fn read_words(text: &str) -> Result<Option<Decimal>, OutOfRange> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let Some(first) = words.iter().position(|w| unit_word(w).is_some()) else {
        return Ok(None);
    };
    let too_large = || OutOfRange::too_large(text);

    let mut total = Decimal::ZERO; // completed thousands/millions groups
    let mut current: u64 = 0; // the group being read
    let mut seen_number = false;
    let mut pending_numerator: Option<u64> = None; // after `and`: `one` in `and one-half`
    let words = words.get(first..).unwrap_or_default();
    for (i, word) in words.iter().enumerate() {
        if let Some(n) = unit_word(word) {
            if pending_numerator.is_some() {
                pending_numerator = Some(n);
                continue;
            }
            current = current.checked_add(n).ok_or_else(too_large)?;
            seen_number = true;
        } else if *word == "hundred" && seen_number {
            current = current.max(1).checked_mul(100).ok_or_else(too_large)?;
        } else if let Some(scale) = match *word {
            "thousand" => Some(1_000u64),
            "million" => Some(1_000_000),
            "billion" => Some(1_000_000_000),
            _ => None,
        } {
            let group = Decimal::from(current.max(1)).checked_mul(Decimal::from(scale));
            total = group
                .and_then(|g| total.checked_add(g))
                .ok_or_else(too_large)?;
            current = 0;
        } else if *word == "and" {
            // `and` inside a number (`two hundred and fifty`) or before a fraction.
            let next = words.get(i.saturating_add(1)).copied().unwrap_or("");
            let after = words.get(i.saturating_add(2)).copied().unwrap_or("");
            if next == "a" || fraction_word(after).is_some() && unit_word(next).is_some() {
                pending_numerator = Some(1);
            }
        } else if *word == "point" && seen_number {
            // `five point nine nine`: the digit words after `point` are the decimals.
            let decimals: Vec<u64> = words
                .get(i.saturating_add(1)..)
                .unwrap_or_default()
                .iter()
                .map_while(|w| unit_word(w).filter(|d| *d < 10))
                .collect();
            let digits: String = decimals.iter().map(|d| d.to_string()).collect();
            if let Ok(fraction) = format!("0.{digits}").parse::<Decimal>() {
                total = total.checked_add(fraction).ok_or_else(too_large)?;
            }
            break;
        } else if *word == "a" && pending_numerator.is_some() {
            pending_numerator = Some(1);
        } else if let Some(den) = fraction_word(word) {
            let num = pending_numerator
                .take()
                .unwrap_or_else(|| std::mem::take(&mut current).max(1));
            let fraction = Decimal::from(num).checked_div(Decimal::from(den));
            total = fraction
                .and_then(|f| total.checked_add(f))
                .ok_or_else(too_large)?;
            break;
        } else {
            break;
        }
    }
    if !seen_number {
        return Ok(None);
    }
    let value = total
        .checked_add(Decimal::from(current))
        .ok_or_else(too_large)?;
    Ok(Some(value.normalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn us(text: &str) -> Decimal {
        parse_number(text, NumberStyle::default())
            .unwrap_or_else(|| panic!("no number in {text:?}"))
    }

    fn eu(text: &str) -> Decimal {
        parse_number(
            text,
            NumberStyle {
                comma_decimal: true,
                lone_comma_decimal: false,
            },
        )
        .unwrap()
    }

    #[test]
    fn grouped_digits() {
        assert_eq!(us("1,250,000"), d("1250000"));
        assert_eq!(
            us("USD 180,000 (one hundred eighty thousand US dollars)"),
            d("180000")
        );
        assert_eq!(us("1 250 000"), d("1250000"));
        assert_eq!(us("2 000 000"), d("2000000"));
        assert_eq!(us("1,50,000"), d("150000"));
        assert_eq!(us("12.5"), d("12.5"));
        assert_eq!(us("1250000.50"), d("1250000.5"));
        assert_eq!(us("$12,500."), d("12500"));
    }

    #[test]
    fn european_digits() {
        assert_eq!(eu("EUR 1.250.000,00"), d("1250000"));
        assert_eq!(eu("85.000,00"), d("85000"));
        assert_eq!(eu("48.750,25"), d("48750.25"));
        assert_eq!(eu("4,35 %"), d("4.35"));
        assert_eq!(eu("85.000"), d("85000"));
        assert_eq!(
            us("4,35 %"),
            d("4.35"),
            "a lone comma before two digits is a decimal mark"
        );
    }

    #[test]
    fn detects_european_style() {
        assert!(NumberStyle::detect("a loan of EUR 85.000,00 at 4,35 %").comma_decimal);
        assert!(!NumberStyle::detect("a loan of USD 85,000.00 at 4.35%").comma_decimal);
        assert!(!NumberStyle::detect("USD 1,250,000").comma_decimal);
        assert!(NumberStyle::detect("Facility Amount: €100.000").comma_decimal);
        assert!(NumberStyle::detect("EUR 2.500.000 loan").comma_decimal);
        assert!(NumberStyle::detect("Principal: 40.000 euro").comma_decimal);
        assert!(!NumberStyle::detect("$500 at 4.125% for 12 months").comma_decimal);
    }

    #[test]
    fn scales_and_suffixes() {
        assert_eq!(us("1.25M"), d("1250000"));
        assert_eq!(us("2.5 million"), d("2500000"));
        assert_eq!(us("25k"), d("25000"));
        assert_eq!(us("$3bn"), d("3000000000"));
        assert_eq!(us("1.5 lakh"), d("150000"));
        assert_eq!(us("10 months"), d("10"));
    }

    #[test]
    fn fractions() {
        assert_eq!(us("7 1/2 %"), d("7.5"));
        assert_eq!(us("7½%"), d("7.5"));
        assert_eq!(us("6-1/4 percent"), d("6.25"));
        assert_eq!(us("1/2 of one percent"), d("0.5"));
    }

    #[test]
    fn words() {
        assert_eq!(us("forty-five thousand US dollars"), d("45000"));
        assert_eq!(us("two hundred and fifty thousand pounds"), d("250000"));
        assert_eq!(us("one hundred eighty thousand"), d("180000"));
        assert_eq!(us("twelve thousand"), d("12000"));
        assert_eq!(us("one million two hundred fifty thousand"), d("1250000"));
        assert_eq!(us("seven and one-half per cent"), d("7.5"));
        assert_eq!(us("six and a half percent"), d("6.5"));
        assert_eq!(us("thirty-six months"), d("36"));
        assert_eq!(us("two weeks"), d("2"));
        assert_eq!(us("three-quarters of a percent"), d("0.75"));
        assert_eq!(us("five point nine nine per cent"), d("5.99"));
        assert_eq!(us("85 mill."), d("85000000"));
        assert_eq!(eu("6,2 miljoner"), d("6200000"));
        assert_eq!(eu("1,5 millones"), d("1500000"));
        assert_eq!(us("叁佰陆拾万"), d("3600000"));
        assert_eq!(us("壹万贰仟"), d("12000"));
        assert_eq!(us("壹拾伍亿"), d("1500000000"));
        assert_eq!(us("拾伍万"), d("150000"));
        assert_eq!(us("伍万"), d("50000"));
        assert_eq!(us("８８，０００．００"), d("88000"));
        assert_eq!(us("４５万"), d("450000"));
        assert!(parse_number("no numbers here", NumberStyle::default()).is_none());
    }

    #[test]
    fn chinese_numerals() {
        for (text, n) in [
            ("三", 3),
            ("期限两", 2),
            ("十八", 18),
            ("二十四", 24),
            ("一百二十", 120),
            ("三十", 30),
            ("伍拾", 50),
        ] {
            assert_eq!(trailing_chinese_numeral(text), Some(n), "{text}");
        }
        assert_eq!(trailing_chinese_numeral("期限"), None);
    }

    #[test]
    fn digits_win_over_words() {
        assert_eq!(us("fifteen (15) years"), d("15"));
        assert_eq!(us("eight percent (8%)"), d("8"));
    }
}
