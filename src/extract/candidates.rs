//! Candidates: every money expression, rate and duration a text writes, each as a whole
//! expression with the value the normalisers read from it. The model only decides what role
//! each candidate plays (the principal, a fee, the contract rate, a default rate, the tenor, a
//! notice period...); it never chooses where a value starts or ends, so a stray fragment (`2,5`
//! cut from `Mio.`, `GbR`, a function word) can never become an answer.
//!
//! Like the rest of `extract`, nothing here may panic on any text: slices go through
//! [`slice`], and values that cannot be held are kept as [`CandidateValue::Unfit`] so a chosen
//! one is withheld rather than replaced by a lesser reading.
#![deny(clippy::string_slice)]

use std::ops::Range;

use rust_decimal::Decimal;

use super::numbers::{self, NumberStyle, OutOfRange, read_digits, read_words};
use super::rate::{self, BENCHMARKS, BPS_WORDS, INTEREST_FREE, PERCENT_WORDS};
use super::slice;
use super::term::{self, PAYMENTS, UNIT, find_date_spans};

/// What a candidate is: a sum of money (or a bare count such as a credit score), a rate, or a
/// duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Money,
    Percent,
    Duration,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Money, Kind::Percent, Kind::Duration];

    /// The roles a candidate of this kind can play, in head order; the last is always `other`.
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Kind::Money => &[
                "principal",
                "collateral_value",
                "credit_score",
                "instalment",
                "fee",
                "other",
            ],
            Kind::Percent => &[
                "contract_rate",
                "collateral_ratio",
                "ltv",
                "default_rate",
                "fee_rate",
                "other",
            ],
            Kind::Duration => &["tenor", "other"],
        }
    }

    /// The index of `role` among [`Kind::roles`], `other` when it is not one of them.
    pub fn role_index(self, role: &str) -> usize {
        let roles = self.roles();
        roles
            .iter()
            .position(|r| *r == role)
            .unwrap_or(roles.len() - 1)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Money => "money",
            Kind::Percent => "percent",
            Kind::Duration => "duration",
        }
    }
}

/// What a candidate reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateValue {
    /// A number (money, count or percent; a rate already annualised).
    Number(Decimal),
    /// A duration in days.
    Days(u32),
    /// Written, but not readable with certainty (a floating rate without its base value).
    Unreadable,
    /// Written, but too large to hold or to fit its on-chain field: the reason.
    Unfit(String),
}

/// One expression in the text, at `start..end` (bytes, on character boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    pub value: CandidateValue,
    /// A currency written beside a money expression.
    pub currency: Option<(usize, usize)>,
}

impl Candidate {
    fn new(kind: Kind, range: Range<usize>, value: CandidateValue) -> Self {
        Self {
            kind,
            start: range.start,
            end: range.end,
            value,
            currency: None,
        }
    }

    /// Whether the candidate covers any of `start..end`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        self.start < end && start < self.end
    }
}

fn value_of<T>(
    read: Result<Option<T>, OutOfRange>,
    wrap: impl Fn(T) -> CandidateValue,
) -> Option<CandidateValue> {
    match read {
        Ok(Some(v)) => Some(wrap(v)),
        Ok(None) => None,
        Err(OutOfRange(why)) => Some(CandidateValue::Unfit(why)),
    }
}

/// Every candidate in `text`, ordered by start.
/// The most candidates read from one text: real documents propose a few dozen; a text of
/// nothing but numbers must not make the role heads' work unbounded.
pub const MAX_CANDIDATES: usize = 256;

pub fn propose(text: &str) -> Vec<Candidate> {
    let half = HalfWidth::of(text);
    let t = half.text.as_str();
    let style = NumberStyle::detect(t);
    let mut out = Vec::new();
    let numbers = number_expressions(t, style);
    for (range, value) in &numbers {
        let unit = rate_unit_after(t, range.end);
        if let Some(unit_end) = unit {
            out.push(percent_candidate(t, range.start..unit_end, style));
        } else if !matches!(value, CandidateValue::Number(v) if v.is_zero()) {
            let mut c = Candidate::new(Kind::Money, range.clone(), value.clone());
            c.currency = super::currency_beside(t, range.start, range.end);
            out.push(c);
        }
    }
    out.extend(chinese_rates(t, style));
    out.extend(floating_rates(t, style));
    out.extend(interest_free(t));
    out.extend(durations(t, style));
    for c in &mut out {
        c.start = half.original(c.start);
        c.end = half.original(c.end);
        c.currency = c
            .currency
            .map(|(a, b)| (half.original(a), half.original(b)));
    }
    out.sort_by_key(|c| (c.start, c.end, c.kind));
    out.dedup_by(|a, b| a.kind == b.kind && a.start == b.start && a.end == b.end);
    // A number inside a short rate or duration expression is part of it, not a sum of money
    // (`24` of `年利率百分之二十四`, `36` of `36 months`); long ones (a date range) hold
    // whole clauses.
    let parts: Vec<(usize, usize)> = out
        .iter()
        .filter(|c| c.kind != Kind::Money && c.end - c.start <= 48)
        .map(|c| (c.start, c.end))
        .collect();
    out.retain(|c| {
        c.kind != Kind::Money || !parts.iter().any(|&(s, e)| s <= c.start && c.end <= e)
    });
    out.truncate(MAX_CANDIDATES);
    out
}

/// A text with full-width ASCII (`８８，０００`) written half-width, and the way back to the
/// original's byte offsets.
struct HalfWidth {
    text: String,
    /// For each byte of `text` (and one past its end), the original byte offset.
    map: Vec<usize>,
}

impl HalfWidth {
    fn of(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len() + 1);
        let chars: Vec<(usize, char)> = original.char_indices().collect();
        let is_digit = |k: Option<&(usize, char)>| {
            k.is_some_and(|(_, c)| c.is_ascii_digit() || ('０'..='９').contains(c))
        };
        for (k, &(at, c)) in chars.iter().enumerate() {
            // `，` is Chinese's ordinary comma: it groups digits only before exactly three of
            // them (`８８，０００`), never in `借5000，3个月`; `．` is a decimal point only
            // between digits.
            // Counted only at a separator, and never past the fourth: linear in the text.
            let digits_after = || {
                chars
                    .iter()
                    .skip(k + 1)
                    .take(4)
                    .take_while(|d| is_digit(Some(d)))
                    .count()
            };
            let after_digit = k > 0 && is_digit(chars.get(k - 1));
            let keep = match c {
                '，' => !(after_digit && digits_after() == 3),
                '．' => !(after_digit && digits_after() > 0),
                _ => false,
            };
            let c = if ('\u{ff01}'..='\u{ff5e}').contains(&c) && !keep {
                char::from_u32(u32::from(c) - 0xfee0).unwrap_or(c)
            } else {
                c
            };
            map.extend(std::iter::repeat_n(at, c.len_utf8()));
            text.push(c);
        }
        map.push(original.len());
        Self { text, map }
    }

    fn original(&self, at: usize) -> usize {
        self.map.get(at).or(self.map.last()).copied().unwrap_or(0)
    }
}

/// Every number written in digits (with its fraction and scale: `2.5 million`, `EUR 2,5 Mio.`
/// gives `2,5 Mio`), in English words with a scale (`Fifteen Thousand`), or in Chinese numerals
/// (`伍拾万`), with what it reads as.
fn number_expressions(text: &str, style: NumberStyle) -> Vec<(Range<usize>, CandidateValue)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let rest = slice::from(text, at);
        let Some(offset) = rest.find(|c: char| c.is_ascii_digit()) else {
            break;
        };
        let start = at.saturating_add(offset);
        match read_digits(slice::from(text, start), style) {
            Ok(Some((value, range))) if range.start == 0 => {
                let end = start.saturating_add(range.end);
                let end = end.saturating_add(dotted_scale(
                    slice::span(text, start, end),
                    slice::from(text, end),
                ));
                out.push((start..end, CandidateValue::Number(value)));
                at = end.max(start.saturating_add(1));
            }
            Err(OutOfRange(why)) => {
                let run = slice::from(text, start);
                let len = run
                    .find(|c: char| !(c.is_ascii_digit() || ",. '".contains(c)))
                    .unwrap_or(run.len());
                let len = slice::before(run, len)
                    .trim_end_matches([',', '.', ' ', '\''])
                    .len();
                out.push((start..start.saturating_add(len), CandidateValue::Unfit(why)));
                at = start.saturating_add(len.max(1));
            }
            _ => at = start.saturating_add(1),
        }
    }
    out.extend(word_numbers(text));
    out.extend(chinese_numbers(text));
    out.sort_by_key(|(r, _)| r.start);
    out
}

/// The `.` of `Mio.` or `Mrd.` after an abbreviated scale word, so the expression ends where it
/// is written (a sentence's full stop after `$15,000` is not part of it).
fn dotted_scale(number: &str, rest: &str) -> usize {
    let abbreviated = number.ends_with(|c: char| c.is_ascii_alphabetic());
    usize::from(
        abbreviated
            && rest.starts_with('.')
            && !rest.chars().nth(1).is_some_and(|c| c.is_ascii_digit()),
    )
}

/// Runs of English number words: with a scale word for money (`two hundred fifty thousand`),
/// or followed by a percent word for rates (`six and a half per cent`).
fn word_numbers(text: &str) -> Vec<(Range<usize>, CandidateValue)> {
    let words = ascii_words(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (start, _) = words[i];
        let lower = |k: usize| slice::span(text, words[k].0, words[k].1).to_ascii_lowercase();
        if !numbers::is_number_word(&lower(i)) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < words.len() {
            let gap = slice::span(text, words[j].1, words[j + 1].0);
            if !(gap == " " || gap == "-") {
                break;
            }
            let next = lower(j + 1);
            let joins = numbers::is_number_word(&next)
                || matches!(next.as_str(), "and" | "a" | "half" | "quarter" | "one-half")
                    && j + 2 < words.len();
            if !joins {
                break;
            }
            j += 1;
        }
        // Do not end on a joining word.
        while j > i && matches!(lower(j).as_str(), "and" | "a") {
            j -= 1;
        }
        let end = words[j].1;
        let span = slice::span(text, start, end);
        let scaled = (i..=j).any(|k| {
            matches!(
                lower(k).as_str(),
                "hundred" | "thousand" | "million" | "billion"
            )
        });
        let percent = rate_unit_after(text, end).is_some();
        if (scaled || percent)
            && let Some(value) = value_of(read_words(span), CandidateValue::Number)
        {
            out.push((start..end, value));
        }
        i = j + 1;
    }
    out
}

/// Byte ranges of ASCII-letter words.
fn ascii_words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_ascii_alphabetic(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

const CHINESE_NUMERALS: &str = "零〇一二两三四五六七八九十百千壹贰叁肆伍陆柒捌玖拾佰仟万萬亿億";

/// Runs of Chinese numerals of at least two characters (`伍拾万`, `十二`), or one before a
/// unit of money (`五万块`, `三千元`).
fn chinese_numbers(text: &str) -> Vec<(Range<usize>, CandidateValue)> {
    let mut out = Vec::new();
    let mut run: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let numeral = CHINESE_NUMERALS.contains(c);
        if numeral && run.is_none() && !"万萬亿億".contains(c) {
            run = Some(i);
        }
        let next_is_numeral = chars
            .peek()
            .is_some_and(|(_, n)| CHINESE_NUMERALS.contains(*n));
        if let Some(start) = run
            && (!numeral || !next_is_numeral)
        {
            let end = if numeral { i + c.len_utf8() } else { i };
            let span = slice::span(text, start, end);
            let after = slice::from(text, end);
            let money_unit = ["元", "块", "圆", "美元", "港币", "万", "亿"]
                .iter()
                .any(|u| after.starts_with(u));
            if (span.chars().count() >= 2 || money_unit)
                && let Some(value) = numbers::chinese_number(span)
                && !value.is_zero()
            {
                out.push((start..end, CandidateValue::Number(value)));
            }
            run = None;
        }
    }
    out
}

/// Where a percent or basis-point word right after a number ends (`%`, ` per cent`, ` bps`).
fn rate_unit_after(text: &str, end: usize) -> Option<usize> {
    let rest = slice::from(text, end);
    // `six hundred fifty (650) basis points`: the unit may follow the bracket of a restatement.
    let rest = rest.strip_prefix(')').unwrap_or(rest);
    let end = end + usize::from(slice::from(text, end).starts_with(')'));
    let trimmed = rest.trim_start_matches([' ', '\u{a0}', '\u{202f}', '\u{2009}']);
    let gap = rest.len() - trimmed.len();
    // One space of any width (`5\u{202f}%` is French): counted in characters, not bytes.
    if slice::before(rest, gap).chars().count() > 1 {
        return None;
    }
    let lower = slice::before(trimmed, 24).to_lowercase();
    PERCENT_WORDS
        .iter()
        .chain(BPS_WORDS)
        .chain(&["‰", "punkte", "percentage points"])
        .filter(|w| lower.starts_with(*w))
        .filter(|w| {
            // `bp` is not the start of `bpm`; `pct` of a longer word.
            let after = slice::from(&lower, w.len()).chars().next();
            !w.chars().all(|c| c.is_ascii_alphabetic())
                || after.is_none_or(|c| !c.is_alphanumeric())
        })
        .map(|w| end + gap + w.len())
        .max()
}

/// A rate candidate at `anchor` (the number and its percent word), read with the words that
/// qualify it right before (`monthly rate of`, `月利率`, `SOFR +`) and after (`over EURIBOR`).
fn percent_candidate(text: &str, anchor: Range<usize>, style: NumberStyle) -> Candidate {
    let start = qualifier_before(text, anchor.start).unwrap_or(anchor.start);
    let end = benchmark_after(text, anchor.end).unwrap_or(anchor.end);
    let span = slice::span(text, start, end);
    let value = value_of(
        rate::read_rate(span, slice::from(text, end), style),
        CandidateValue::Number,
    )
    .unwrap_or(CandidateValue::Unreadable);
    Candidate::new(Kind::Percent, start..end, value)
}

/// Words that change how a rate reads when they stand just before it.
const QUALIFIERS: &[&str] = &[
    "monthly",
    "weekly",
    "daily",
    "quarterly",
    "annual",
    "yearly",
    "per month",
    "a month",
    "margin",
    "spread",
    "plus",
    "+",
    "月利率",
    "月息",
    "月利",
    "日利率",
    "日息",
    "日利",
    "年利率",
    "年息",
    "年化",
    "周利率",
    "每月",
    "每日",
    "每天",
    "按月",
    "按日",
];

/// The start of a qualifier in the same clause within 28 bytes before `start`, with no digit
/// between (`at a monthly rate of 1.5%`, `月利率1.5%`).
fn qualifier_before(text: &str, start: usize) -> Option<usize> {
    let from = slice::floor(text, start.saturating_sub(28));
    let before = slice::span(text, from, start);
    let cut = before
        .rfind(|c: char| c.is_ascii_digit() || ".;:\n,，。；：()（）".contains(c))
        .map_or(0, |i| i + 1);
    let clause = slice::from(before, slice::ceil(before, cut));
    let lower = clause.to_lowercase();
    if lower.len() != clause.len() {
        return None;
    }
    let at = QUALIFIERS
        .iter()
        .chain(BENCHMARKS)
        .filter_map(|q| lower.find(q))
        .min()?;
    Some(start - clause.len() + at)
}

/// The end of a benchmark named right after a margin (`2.5% over SOFR`, `+ 1,2 % über EURIBOR`).
fn benchmark_after(text: &str, end: usize) -> Option<usize> {
    let after = slice::span(text, end, slice::ceil(text, end.saturating_add(32)));
    let cut = after
        .find(|c: char| c.is_ascii_digit() || ".;:\n,，。；：()（）".contains(c))
        .unwrap_or(after.len());
    let clause = slice::before(after, cut).to_lowercase();
    if clause.len() != cut {
        // Lower-casing changed the length (`İ`): offsets in it are not the text's.
        return None;
    }
    BENCHMARKS
        .iter()
        .filter_map(|b| clause.find(b).map(|at| at + b.len()))
        .min()
        .map(|e| end + e)
}

/// A rate over a benchmark as one expression, from the benchmark to the last rate in its clause
/// (`Prime Rate (currently 6.70% per annum) plus 2.00% per annum`, `650 bps over SONIA;
/// SONIA ... currently 4.70%`): readable when the clause states the benchmark's value.
fn floating_rates(text: &str, style: NumberStyle) -> Vec<Candidate> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for benchmark in BENCHMARKS {
        let mut from = 0;
        while let Some(at) = slice::from(&lower, from).find(benchmark) {
            let start = from + at;
            from = start + benchmark.len();
            // Margins are written before the benchmark as often as after it.
            let before = slice::span(text, slice::floor(text, start.saturating_sub(24)), start);
            let lead = before
                .rfind(|c: char| ".;:\n".contains(c))
                .map_or(0, |i| i + 1);
            // Only a rate right before the benchmark is its margin (`650 bps over SONIA`).
            let lead_text = slice::from(before, lead);
            let begin = digit_runs(lead_text)
                .into_iter()
                .rfind(|run| rate_unit_after(lead_text, run.end).is_some())
                .map_or(start, |run| start - lead_text.len() + run.start);
            let rest = slice::from(text, from);
            let clause_end = [". ", ".\n", "\n"]
                .iter()
                .filter_map(|e| rest.find(e))
                .min()
                .map_or(text.len(), |i| from + i)
                .min(slice::floor(text, from + 120));
            let clause = slice::span(text, begin, clause_end);
            let Some(last) = rate_ends(clause).last().copied() else {
                continue;
            };
            let end = begin + last;
            let span = slice::span(text, begin, end);
            let value = value_of(
                rate::read_rate(span, slice::from(text, end), style),
                CandidateValue::Number,
            )
            .unwrap_or(CandidateValue::Unreadable);
            out.push(Candidate::new(Kind::Percent, begin..end, value));
        }
    }
    out
}

/// Where each percent or basis-point word in `text` ends.
fn rate_ends(text: &str) -> Vec<usize> {
    digit_runs(text)
        .into_iter()
        .filter_map(|run| rate_unit_after(text, run.end))
        .collect()
}

/// The runs of digits, with their decimal marks, in `text`.
fn digit_runs(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit()
            && !slice::before(text, i)
                .ends_with(|p: char| p.is_ascii_digit() || p == '.' || p == ',')
        {
            let end = slice::from(text, i)
                .find(|d: char| !(d.is_ascii_digit() || d == '.' || d == ','))
                .map_or(text.len(), |n| i + n);
            out.push(i..end);
        }
    }
    out
}

/// `百分之八`, `千分之五`, `月息2分`, `一分利`, `3个点`: rates Chinese writes without `%`.
fn chinese_rates(text: &str, style: NumberStyle) -> Vec<Candidate> {
    static FRACTION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"(?:年利率|月利率|日利率|年息|月息|日息|年利|月利)?",
            r"(?:[百千万]分之[\d.零〇一二两三四五六七八九十]+",
            r"|[\d.一二两三四五六七八九十半]+\s*(?:分利|分息|厘|个点))",
            r"|(?:年利率|月利率|日利率|年息|月息|日息|年利|月利)[\d.一二两三四五六七八九十半]+分"
        ))
        .expect("valid regex")
    });
    FRACTION
        .find_iter(text)
        .map(|m| {
            let value = value_of(
                rate::read_rate(m.as_str(), slice::from(text, m.end()), style),
                CandidateValue::Number,
            )
            .unwrap_or(CandidateValue::Unreadable);
            Candidate::new(Kind::Percent, m.range(), value)
        })
        .collect()
}

/// `interest-free`, `无息`, `without interest`: a contract rate of 0.
fn interest_free(text: &str) -> Vec<Candidate> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for phrase in INTEREST_FREE {
        let mut from = 0;
        while let Some(at) = slice::from(&lower, from).find(phrase) {
            let start = from + at;
            let end = start + phrase.len();
            out.push(Candidate::new(
                Kind::Percent,
                start..end,
                CandidateValue::Number(Decimal::ZERO),
            ));
            from = end;
        }
    }
    out
}

/// Every duration: a count and a unit (`thirty-six (36) months`, `12个月`, `5-year`), a count
/// of periodic payments (`36 monthly instalments`), two of them joined (`one year and six
/// months`), and every range between two dates written close together.
fn durations(text: &str, style: NumberStyle) -> Vec<Candidate> {
    let dates = find_date_spans(text);
    let in_date = |at: usize| dates.iter().any(|(r, _)| r.contains(&at));
    let mut tenors: Vec<Candidate> = Vec::new();
    let units = UNIT
        .find_iter(text)
        .map(|m| m.range())
        .chain(PAYMENTS.find_iter(text).map(|m| m.range()));
    for unit in units {
        if in_date(unit.start) {
            continue;
        }
        let start = count_start(text, unit.start);
        if start == unit.start {
            continue;
        }
        let span = slice::span(text, start, unit.end);
        if let Some(value) = value_of(term::read_term(span, style), CandidateValue::Days) {
            tenors.push(Candidate::new(Kind::Duration, start..unit.end, value));
        }
    }
    tenors.sort_by_key(|c| c.start);
    let mut joined = Vec::new();
    for pair in tenors.windows(2) {
        let gap = slice::span(text, pair[0].end, pair[1].start).to_ascii_lowercase();
        if matches!(gap.trim(), "and" | "," | "又" | "零") || gap == " " {
            let span = slice::span(text, pair[0].start, pair[1].end);
            if let Some(value) = value_of(term::read_term(span, style), CandidateValue::Days) {
                joined.push(Candidate::new(
                    Kind::Duration,
                    pair[0].start..pair[1].end,
                    value,
                ));
            }
        }
    }
    tenors.extend(joined);
    for (i, (first, a)) in dates.iter().enumerate() {
        // A note dated at its head may state its maturity pages later: any of the next four.
        for (last, b) in dates.iter().skip(i + 1).take(4) {
            let days = b.signed_duration_since(*a).num_days();
            if let Ok(days) = u32::try_from(days)
                && days > 0
            {
                tenors.push(Candidate::new(
                    Kind::Duration,
                    first.start..last.end,
                    CandidateValue::Days(days),
                ));
            }
        }
    }
    tenors
}

/// Where the count before a unit of time starts (`thirty-six (36) `, `12-`, `十二个`, `为12个`,
/// `a `); `unit_start` itself when there is none.
fn count_start(text: &str, unit_start: usize) -> usize {
    let from = slice::floor(text, unit_start.saturating_sub(48));
    let before = slice::span(text, from, unit_start);
    // Chinese writes the count against its unit and the words before it (`期限为12个月`,
    // `三年`): the count is the run of numerals or digits right before the unit.
    let tight = before.trim_end_matches(['个', '個']);
    let tail_start = tight
        .char_indices()
        .rev()
        .take_while(|(_, c)| {
            CHINESE_NUMERALS.contains(*c) || *c == '半' || c.is_ascii_digit() || *c == '.'
        })
        .last()
        .map(|(i, _)| i);
    if let Some(i) = tail_start {
        let tail = slice::from(tight, i);
        let at = i + (tail.len() - tail.trim_start_matches('.').len());
        if at < tight.len() {
            return from + at;
        }
    }
    let mut start = before.len();
    // Walk back over whole words that can be part of a count: number words, and digits only
    // first or as a bracketed restatement (`thirty-six (36)`), so `$5,000, 36 months` counts
    // only `36`.
    let mut rest = before;
    let mut last_digits = false;
    let mut took_words = false;
    loop {
        let trimmed = rest.trim_end_matches([' ', '-', '(', ')', '\u{a0}', '\u{3000}']);
        let opened = slice::from(rest, trimmed.len()).contains('(');
        if last_digits && !opened {
            break;
        }
        let word_start = trimmed
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '.' || *c == ',')
            .last()
            .map_or(trimmed.len(), |(i, _)| i);
        let word = slice::from(trimmed, word_start);
        if word.is_empty() {
            break;
        }
        let lower = word.to_lowercase();
        let digits = !lower.ends_with(',')
            && lower
                .trim_end_matches('.')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            && lower.chars().any(|c| c.is_ascii_digit());
        let words = lower.split('-').all(numbers::is_number_word)
            || matches!(lower.as_str(), "a" | "an" | "half" | "and");
        let article = matches!(lower.as_str(), "a" | "an");
        if (digits && took_words) || (!digits && !words) || (article && start < before.len()) {
            break;
        }
        last_digits = digits;
        took_words |= !digits;
        start = word_start;
        rest = slice::before(trimmed, word_start);
        if article {
            break;
        }
    }
    // Never start on a joining word.
    let mut begin = from + start;
    if slice::span(text, begin, unit_start)
        .to_ascii_lowercase()
        .starts_with("and ")
    {
        begin += 4;
    }
    let lead = slice::span(text, begin, unit_start);
    begin + (lead.len() - lead.trim_start_matches([' ', ')', '-']).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(text: &str) -> Vec<(Kind, String, String)> {
        propose(text)
            .into_iter()
            .map(|c| {
                let value = match &c.value {
                    CandidateValue::Number(v) => v.normalize().to_string(),
                    CandidateValue::Days(d) => format!("{d}d"),
                    CandidateValue::Unreadable => "?".into(),
                    CandidateValue::Unfit(_) => "unfit".into(),
                };
                (c.kind, slice::span(text, c.start, c.end).to_owned(), value)
            })
            .collect()
    }

    fn has(text: &str, kind: Kind, span: &str, value: &str) {
        let all = show(text);
        assert!(
            all.iter()
                .any(|(k, s, v)| *k == kind && s == span && v == value),
            "{kind:?} {span:?} = {value} not among {all:?}"
        );
    }

    #[test]
    fn money_as_whole_expressions() {
        has(
            "a loan of EUR 2,5 Mio. at 4 %",
            Kind::Money,
            "2,5 Mio.",
            "2500000",
        );
        let words = "Fifteen Thousand and 00/100 Dollars ($15,000.00)";
        has(words, Kind::Money, "Fifteen Thousand", "15000");
        has(words, Kind::Money, "15,000.00", "15000");
        has("U.S. $387,500.00 due", Kind::Money, "387,500.00", "387500");
        has("借款金额人民币伍拾万元整", Kind::Money, "伍拾万", "500000");
        has("借款50万元", Kind::Money, "50万", "500000");
        has(
            "ＲＭＢ８８，０００．００元",
            Kind::Money,
            "８８，０００．００",
            "88000",
        );
        let c = propose("$12,500 loan");
        assert_eq!(c[0].currency, Some((0, 1)));
    }

    #[test]
    fn rates_with_their_qualifiers() {
        has(
            "at a yearly rate of 6.500%.",
            Kind::Percent,
            "yearly rate of 6.500%",
            "6.5",
        );
        has("interest of 1.5% per month", Kind::Percent, "1.5%", "18");
        has("月利率1.5%", Kind::Percent, "月利率1.5%", "18");
        has("年利率百分之八", Kind::Percent, "年利率百分之八", "8");
        has("650 basis points", Kind::Percent, "650 basis points", "6.5");
        has(
            "six and a half per cent",
            Kind::Percent,
            "six and a half per cent",
            "6.5",
        );
        has("SOFR + 2.50%", Kind::Percent, "SOFR + 2.50%", "?");
        has(
            "the Prime Rate (currently 6.70% per annum) plus 2.00% per annum, payable",
            Kind::Percent,
            "Prime Rate (currently 6.70% per annum) plus 2.00%",
            "8.7",
        );
        has(
            "six hundred fifty (650) basis points per annum",
            Kind::Percent,
            "650) basis points",
            "6.5",
        );
        has(
            "the loan is interest-free",
            Kind::Percent,
            "interest-free",
            "0",
        );
        // A percentage is not money.
        assert!(
            !show("at 6.5% a year")
                .iter()
                .any(|(k, _, _)| *k == Kind::Money)
        );
    }

    #[test]
    fn durations_counts_and_date_ranges() {
        has(
            "for thirty-six (36) months",
            Kind::Duration,
            "thirty-six (36) months",
            "1080d",
        );
        has("a 5-year loan", Kind::Duration, "5-year", "1825d");
        has("借款期限为十二个月", Kind::Duration, "十二个月", "360d");
        has(
            "in 36 monthly instalments",
            Kind::Duration,
            "36 monthly instalments",
            "1080d",
        );
        has(
            "one year and six months",
            Kind::Duration,
            "one year and six months",
            "545d",
        );
        has(
            "from 1 March 2024 to 28 February 2025",
            Kind::Duration,
            "1 March 2024 to 28 February 2025",
            "364d",
        );
        // The year of a date is not a tenor.
        assert!(
            !show("自2024年3月1日起")
                .iter()
                .any(|(k, _, _)| *k == Kind::Duration),
            "{:?}",
            show("自2024年3月1日起")
        );
    }

    #[test]
    fn any_text_any_bytes() {
        for text in [
            "",
            "%",
            "1",
            "万",
            "年",
            "１２３４５６７８９０％",
            "9".repeat(80).as_str(),
            "9999999999999999999999999999999 billion",
            "\u{3000}5\u{3000}万\u{3000}元",
            "百分之",
            "分利",
            "and years",
            "(((( months",
            "–1 — 2 % — 3 years",
        ] {
            for c in propose(text) {
                assert!(c.start <= c.end && c.end <= text.len());
                assert!(text.is_char_boundary(c.start) && text.is_char_boundary(c.end));
            }
        }
    }
}
