//! Extraction: the model's tagged spans turned into the spec's normalised values, each with the
//! byte span it was read from.
//!
//! Everything here reads text that anyone may have posted on-chain, at offsets a model chose, so
//! none of it may panic: slices go through [`slice`] (raw `&text[a..b]` is denied below), and
//! arithmetic on values read from the text is checked. A value that cannot be held, or does not
//! fit its on-chain field, is withheld with the reason kept in [`Extraction::withheld`].
#![deny(clippy::string_slice)]

pub mod candidates;
pub mod currency;
pub mod numbers;
pub mod rate;
pub mod risk;
pub mod slice;
pub mod term;
pub mod worker;

use std::collections::BTreeMap;

use alloy::primitives::U256;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use candidates::{Candidate, CandidateValue, Kind};
use currency::{Currency, parse_currency};
use numbers::{NumberStyle, OutOfRange, parse_number, read_number};
use risk::{RiskFacts, RiskTier, rubric_tier};

/// What the token head tags: the three terms, their currency and dates, and the risk facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Amount,
    Currency,
    Rate,
    Term,
    StartDate,
    MaturityDate,
    CollateralValue,
    CollateralRatio,
    Ltv,
    CreditScore,
    Adverse,
    Secured,
    Unsecured,
}

impl Entity {
    /// Every entity, in label order.
    pub const ALL: [Entity; 13] = [
        Self::Amount,
        Self::Currency,
        Self::Rate,
        Self::Term,
        Self::StartDate,
        Self::MaturityDate,
        Self::CollateralValue,
        Self::CollateralRatio,
        Self::Ltv,
        Self::CreditScore,
        Self::Adverse,
        Self::Secured,
        Self::Unsecured,
    ];

    /// The name used in label files and BIO tags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Amount => "amount",
            Self::Currency => "currency",
            Self::Rate => "rate",
            Self::Term => "term",
            Self::StartDate => "start_date",
            Self::MaturityDate => "maturity_date",
            Self::CollateralValue => "collateral_value",
            Self::CollateralRatio => "collateral_ratio",
            Self::Ltv => "ltv",
            Self::CreditScore => "credit_score",
            Self::Adverse => "adverse",
            Self::Secured => "secured",
            Self::Unsecured => "unsecured",
        }
    }

    /// Parses a name written by [`Entity::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// A span the model tagged, with its byte offsets and mean token probability.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSpan {
    pub entity: Entity,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

/// What the sequence head says of the whole text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextClass {
    /// Probability of low, medium, high risk, given a loan.
    pub tier: [f32; 3],
    /// Probability that the text is not a loan.
    pub not_a_loan: f32,
}

/// The spec's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok = 1,
    Incomplete = 2,
    NotALoan = 3,
}

/// The fields that carry evidence and a confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Amount,
    Currency,
    AprPercent,
    TermDays,
}

impl Field {
    /// The fields chosen among candidates, each with its own threshold.
    pub const ALL_VALUES: [Field; 3] = [Field::Amount, Field::AprPercent, Field::TermDays];
}

/// The terms of one text, as the spec defines them.
#[derive(Debug, Clone, PartialEq)]
pub struct Extraction {
    pub status: Status,
    pub amount: Option<Decimal>,
    pub currency: Option<Currency>,
    pub apr_percent: Option<Decimal>,
    pub term_days: Option<u32>,
    pub risk_tier: Option<RiskTier>,
    pub risk_score: Option<u8>,
    pub evidence: BTreeMap<Field, [usize; 2]>,
    pub confidence: BTreeMap<Field, f32>,
    /// Values the text gives that were withheld (null) because they cannot be held or do not fit
    /// their on-chain field, and why.
    pub withheld: BTreeMap<Field, String>,
}

/// Confidence below which a value is withheld (null, status `incomplete`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Least mean token probability for a term's span (models that tag spans), and the least
    /// margin of a chosen candidate for a field without its own threshold.
    pub span: f32,
    /// Least probability of "not a loan" to call a text so.
    pub not_a_loan: f32,
    /// Least margin of the chosen candidate over the best candidate of another value, per field
    /// (models with role heads); calibrated on hand-written texts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<Field, f32>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            span: 0.5,
            not_a_loan: 0.5,
            fields: BTreeMap::new(),
        }
    }
}

impl Thresholds {
    /// Every threshold open: what calibration reads with.
    pub fn open() -> Self {
        Self {
            span: 0.0,
            not_a_loan: 0.5,
            fields: BTreeMap::new(),
        }
    }

    /// A threshold no margin reaches: the field is never given.
    pub const NEVER: f32 = 2.0;

    /// The least margin for `field`.
    pub fn margin(&self, field: Field) -> f32 {
        self.fields.get(&field).copied().unwrap_or(self.span)
    }
}

/// Reads the spec's values from the model's spans and text class. Whatever the spans are
/// (offsets inside characters or past the end, inverted, any confidence), this returns.
pub fn assemble(
    text: &str,
    spans: &[TaggedSpan],
    class: TextClass,
    thresholds: Thresholds,
) -> Extraction {
    if class.not_a_loan >= thresholds.not_a_loan {
        return Extraction::not_a_loan();
    }
    let style = NumberStyle::detect(text);
    let spans = &tidy_spans(text, &clean_spans(text, spans));
    let mut out = Extraction::empty(Status::Incomplete);

    // Each value comes from the most confident span of its kind that reads as one: a stray
    // fragment (`,`, `fixed`, the `30` of "30 days after funding") is passed over.
    let amount = read_best(spans, Entity::Amount, thresholds.span, |s| {
        Ok(read_number(slice::span(text, s.start, s.end), style)?.filter(|a| *a > Decimal::ZERO))
    });
    let amount = out.take(Field::Amount, amount);
    if let Some((span, value)) = &amount {
        out.set(Field::Amount, span);
        out.amount = Some(*value);
    }
    out.read_currency(text, spans, amount.map(|(span, _)| span), thresholds.span);
    let rate = read_best(spans, Entity::Rate, thresholds.span, |s| {
        rate::read_rate(
            slice::span(text, s.start, s.end),
            slice::from(text, s.end),
            style,
        )
    });
    if let Some((span, rate)) = out.take(Field::AprPercent, rate) {
        out.set(Field::AprPercent, span);
        out.apr_percent = Some(rate);
    }
    let tenor = read_best(spans, Entity::Term, thresholds.span, |s| {
        term::read_term(slice::span(text, s.start, s.end), style)
    });
    let tenor_unfit = tenor.is_err();
    if let Some((span, days)) = out.take(Field::TermDays, tenor) {
        out.set(Field::TermDays, span);
        out.term_days = Some(days);
    } else if !tenor_unfit {
        out.read_dates(text, spans, thresholds.span);
    }
    out.check_on_chain_fit();

    let facts = read_facts(text, spans, style, thresholds.span);
    let tier = rubric_tier(&facts, out.amount, out.apr_percent);
    out.risk_tier = Some(tier);
    out.risk_score = Some(risk_score(tier, class));
    // The spec: `ok` when amount, rate and term were all found; the currency may be unwritten.
    let complete = out.amount.is_some() && out.apr_percent.is_some() && out.term_days.is_some();
    out.status = if complete {
        Status::Ok
    } else {
        Status::Incomplete
    };
    out
}

/// Reads the spec's values by the candidates' roles: each term is the candidate the role heads
/// rate most likely to be it, given only when its margin over the best candidate of another
/// value clears the field's threshold (a restatement, `($15,000.00)` after the words, is the
/// same value and no rival). Risk facts that are numbers come from candidates too; adverse
/// history and security from the tagged phrases. Whatever the inputs, this returns.
pub fn assemble_roles(
    text: &str,
    spans: &[TaggedSpan],
    candidates: &[ScoredCandidate],
    class: TextClass,
    thresholds: &Thresholds,
) -> Extraction {
    if class.not_a_loan >= thresholds.not_a_loan {
        return Extraction::not_a_loan();
    }
    let style = NumberStyle::detect(text);
    let spans = &tidy_spans(text, &clean_spans(text, spans));
    let mut out = Extraction::empty(Status::Incomplete);

    let principal = choose(
        candidates,
        Kind::Money,
        "principal",
        thresholds.margin(Field::Amount),
    );
    if let Some((c, confidence)) = principal {
        let tagged = c.tagged(Entity::Amount, confidence);
        match &c.candidate.value {
            CandidateValue::Number(v) if *v > Decimal::ZERO => {
                out.set(Field::Amount, &tagged);
                out.amount = Some(*v);
            }
            CandidateValue::Unfit(why) => out.withhold(Field::Amount, why.clone()),
            _ => {}
        }
        // The currency beside the chosen expression, or beside a restatement of its value
        // (`Fifteen Thousand and 00/100 Dollars ($15,000.00)`).
        let beside = std::iter::once(c)
            .chain(candidates.iter().filter(|o| {
                o.candidate.kind == Kind::Money
                    && same_value(&o.candidate.value, &c.candidate.value)
            }))
            .find_map(|o| o.candidate.currency);
        if let Some((start, end)) = beside
            && let Some(currency) = parse_currency(slice::span(text, start, end), text)
        {
            out.currency = Some(currency);
            out.set(
                Field::Currency,
                &TaggedSpan {
                    entity: Entity::Currency,
                    start,
                    end,
                    confidence,
                },
            );
        } else {
            out.read_currency(text, spans, Some(&tagged), 0.5);
        }
    }
    if let Some((c, confidence)) = choose(
        candidates,
        Kind::Percent,
        "contract_rate",
        thresholds.margin(Field::AprPercent),
    ) {
        out.take_candidate(Field::AprPercent, c, confidence);
    }
    if let Some((c, confidence)) = choose(
        candidates,
        Kind::Duration,
        "tenor",
        thresholds.margin(Field::TermDays),
    ) {
        out.take_candidate(Field::TermDays, c, confidence);
    }
    out.check_on_chain_fit();

    let facts = candidate_facts(text, spans, candidates, style);
    let tier = rubric_tier(&facts, out.amount, out.apr_percent);
    out.risk_tier = Some(tier);
    out.risk_score = Some(risk_score(tier, class));
    let complete = out.amount.is_some() && out.apr_percent.is_some() && out.term_days.is_some();
    out.status = if complete {
        Status::Ok
    } else {
        Status::Incomplete
    };
    out
}

/// A candidate with the role heads' probabilities for it (in its kind's role order).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCandidate {
    pub candidate: Candidate,
    pub roles: Vec<f32>,
}

impl ScoredCandidate {
    /// The probability of `role` (0 for a role its kind does not have or a value not finite).
    pub fn p(&self, role: &str) -> f32 {
        let roles = self.candidate.kind.roles();
        roles
            .iter()
            .position(|r| *r == role)
            .and_then(|i| self.roles.get(i))
            .copied()
            .filter(|p| p.is_finite())
            .map_or(0.0, |p| p.clamp(0.0, 1.0))
    }

    fn tagged(&self, entity: Entity, confidence: f32) -> TaggedSpan {
        TaggedSpan {
            entity,
            start: self.candidate.start,
            end: self.candidate.end,
            confidence,
        }
    }
}

/// The candidate of `kind` most likely to play `role`, with its margin over the most likely
/// candidate of another value; `None` when that margin is below `least`.
fn choose<'c>(
    candidates: &'c [ScoredCandidate],
    kind: Kind,
    role: &str,
    least: f32,
) -> Option<(&'c ScoredCandidate, f32)> {
    let of_kind = || candidates.iter().filter(|c| c.candidate.kind == kind);
    let best = of_kind().max_by(|a, b| a.p(role).total_cmp(&b.p(role)))?;
    let rival = of_kind()
        .filter(|c| {
            !std::ptr::eq(*c, best) && !same_value(&c.candidate.value, &best.candidate.value)
        })
        .map(|c| c.p(role))
        .fold(0.0f32, f32::max);
    let margin = best.p(role) - rival;
    // Alone, a candidate must still be more likely the role than nothing at all (a lone fee is
    // not the principal).
    let likelier_than_other = best.p(role) > best.p("other");
    (margin >= least && margin > 0.0 && likelier_than_other).then_some((best, margin))
}

fn same_value(a: &CandidateValue, b: &CandidateValue) -> bool {
    match (a, b) {
        (CandidateValue::Number(x), CandidateValue::Number(y)) => x.normalize() == y.normalize(),
        (CandidateValue::Days(x), CandidateValue::Days(y)) => x == y,
        _ => false,
    }
}

/// The risk facts: numbers from the candidates the role heads call collateral value, credit
/// score, collateral ratio or LTV; adverse history and security from the tagged phrases; what
/// neither gives, from the usual phrasings.
fn candidate_facts(
    text: &str,
    spans: &[TaggedSpan],
    candidates: &[ScoredCandidate],
    style: NumberStyle,
) -> RiskFacts {
    let phrases: Vec<TaggedSpan> = spans
        .iter()
        .filter(|s| !is_numeric(s.entity))
        .cloned()
        .collect();
    let mut facts = read_facts(text, &phrases, style, 0.5);
    let likely = |kind: Kind, role: &str| {
        candidates
            .iter()
            .filter(|c| c.candidate.kind == kind && c.p(role) >= 0.5)
            .max_by(|a, b| a.p(role).total_cmp(&b.p(role)))
    };
    let written = |c: &ScoredCandidate| slice::span(text, c.candidate.start, c.candidate.end);
    if let Some(c) = likely(Kind::Money, "collateral_value")
        && let CandidateValue::Number(v) = &c.candidate.value
    {
        facts.collateral_value = Some(*v);
    }
    if let Some(c) = likely(Kind::Money, "credit_score") {
        facts.credit_score = risk::parse_credit_score(written(c)).or(facts.credit_score);
    }
    if let Some(c) = likely(Kind::Percent, "collateral_ratio") {
        facts.collateral_ratio_percent =
            risk::parse_percent(written(c), style).or(facts.collateral_ratio_percent);
    }
    if let Some(c) = likely(Kind::Percent, "ltv") {
        facts.ltv_percent = risk::parse_percent(written(c), style).or(facts.ltv_percent);
    }
    facts
}

/// The model's spans as the normalisers may take them: ends moved out to whole characters and
/// into the text, empty spans dropped, confidences finite and within 0..=1.
fn clean_spans(text: &str, spans: &[TaggedSpan]) -> Vec<TaggedSpan> {
    spans
        .iter()
        .filter_map(|span| {
            let start = slice::floor(text, span.start);
            let end = slice::ceil(text, span.end);
            let confidence = if span.confidence.is_finite() {
                span.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            };
            (start < end).then_some(TaggedSpan {
                start,
                end,
                confidence,
                ..span.clone()
            })
        })
        .collect()
}

/// Widens number spans to the whole number written (`1.5` where only `5` was tagged,
/// `2.5 million`), then joins fragments the tagger split (`11.25` and `per annum` around an
/// untagged `%`).
fn tidy_spans(text: &str, spans: &[TaggedSpan]) -> Vec<TaggedSpan> {
    let mut sorted = spans.to_vec();
    for span in &mut sorted {
        if is_numeric(span.entity) {
            widen_number(text, span);
        } else if span.entity == Entity::Term {
            widen_count(text, span);
        }
    }
    sorted.sort_by_key(|s| s.start);
    let mut joined: Vec<TaggedSpan> = Vec::with_capacity(sorted.len());
    for span in sorted {
        if let Some(last) = joined.last_mut()
            && last.entity == span.entity
            && (span.start <= last.end
                || span.start.saturating_sub(last.end) <= 4
                    && !slice::span(text, last.end, span.start)
                        .chars()
                        .any(char::is_alphanumeric))
        {
            let (a, b) = (
                last.end.saturating_sub(last.start) as f32,
                span.end.saturating_sub(span.start) as f32,
            );
            last.confidence = (last.confidence * a + span.confidence * b) / (a + b).max(1.0);
            last.end = last.end.max(span.end);
            continue;
        }
        joined.push(span);
    }
    joined
}

fn is_numeric(entity: Entity) -> bool {
    matches!(
        entity,
        Entity::Amount
            | Entity::Rate
            | Entity::CollateralValue
            | Entity::CollateralRatio
            | Entity::Ltv
            | Entity::CreditScore
    )
}

/// Widens a term span that holds only its unit (`years`) over the count before it (`4 years`,
/// `five years`, `fifteen (15) years`).
fn widen_count(text: &str, span: &mut TaggedSpan) {
    // `60` tagged, `days` not: take the unit after the count.
    let rest = slice::from(text, span.end);
    // One space of any width (` `, U+00A0, U+3000) between the count and its unit.
    let gap = rest
        .chars()
        .next()
        .filter(|c| c.is_whitespace())
        .map_or(0, char::len_utf8);
    let unit_len = if gap == 0 {
        0
    } else {
        let word = ascii_word(slice::from(rest, gap));
        let unit = [
            "day", "days", "week", "weeks", "month", "months", "quarter", "quarters", "year",
            "years",
        ];
        if unit.contains(&word.to_ascii_lowercase().as_str()) {
            gap + word.len()
        } else {
            0
        }
    };
    let inner = slice::span(text, span.start, span.end);
    if unit_len > 0 && !inner.chars().any(|c| c.is_ascii_alphabetic()) {
        span.end = span.end.saturating_add(unit_len);
        return;
    }
    let has_count = inner.chars().any(|c| c.is_ascii_digit())
        || inner
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|w| numbers::is_number_word(&w.to_ascii_lowercase()));
    if has_count {
        return;
    }
    let before =
        slice::before(text, span.start).trim_end_matches(|c: char| c.is_whitespace() || c == '-');
    // The word starts after the last whitespace character, whatever its width (U+3000 is three
    // bytes).
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = slice::from(before, word_start);
    let bare = word.trim_matches(['(', ')']);
    let is_count = !bare.is_empty() && bare.chars().all(|c| c.is_ascii_digit())
        || bare
            .split('-')
            .all(|part| numbers::is_number_word(&part.to_ascii_lowercase()))
        || matches!(bare.to_ascii_lowercase().as_str(), "a" | "an");
    if is_count {
        span.start = word_start;
        if word.starts_with('(') || word.ends_with(')') {
            // `fifteen (15) years`: take the words before the bracket too.
            widen_words(text, span);
        }
    }
}

/// The ASCII letters at the start of `text`.
fn ascii_word(text: &str) -> &str {
    let len = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    slice::before(text, len)
}

/// The ASCII letters at the end of `text`.
fn ascii_word_before(text: &str) -> &str {
    let start = text
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .len();
    slice::from(text, start)
}

/// Widens a span over the number words around it (`two` → `two hundred and fifty thousand`).
fn widen_words(text: &str, span: &mut TaggedSpan) {
    let word_after = |end: usize| ascii_word(slice::from(text, end.saturating_add(1)));
    loop {
        let rest = slice::from(text, span.end);
        if !(rest.starts_with(' ') || rest.starts_with('-')) {
            break;
        }
        let word = word_after(span.end).to_ascii_lowercase();
        let next_is_number = || {
            let after = span.end.saturating_add(1).saturating_add(word.len());
            slice::from(text, after)
                .strip_prefix(' ')
                .is_some_and(|r| numbers::is_number_word(&ascii_word(r).to_ascii_lowercase()))
        };
        if word.is_empty() || !(numbers::is_number_word(&word) || word == "and" && next_is_number())
        {
            break;
        }
        span.end = span.end.saturating_add(1 + word.len());
    }
    while span.start > 1
        && slice::byte(text, span.start - 1).is_some_and(|b| matches!(b, b' ' | b'-'))
    {
        let word = ascii_word_before(slice::before(text, span.start - 1));
        if word.is_empty() || !numbers::is_number_word(&word.to_ascii_lowercase()) {
            break;
        }
        span.start = span.start.saturating_sub(1 + word.len());
    }
}

/// Widens a number span over the digits, separators and scale word around it. It moves only
/// over ASCII bytes, so ends on character boundaries stay on them.
fn widen_number(text: &str, span: &mut TaggedSpan) {
    if slice::span(text, span.start, span.end)
        .chars()
        .any(|c| c.is_ascii_alphabetic())
    {
        widen_words(text, span);
    }
    let at = |i: usize| slice::byte(text, i);
    let digit_at = |i: usize| at(i).is_some_and(|b| b.is_ascii_digit());
    let separator_at = |i: usize| at(i).is_some_and(|b| matches!(b, b'.' | b',' | b'\''));
    while span.start > 0 {
        let prev = span.start - 1;
        if digit_at(prev) {
            span.start = prev;
        } else if separator_at(prev) && prev > 0 && digit_at(prev - 1) {
            span.start = prev - 1;
        } else {
            break;
        }
    }
    while span.end < text.len() {
        if digit_at(span.end) {
            span.end += 1;
        } else if separator_at(span.end) && digit_at(span.end + 1) {
            span.end += 2;
        } else {
            break;
        }
    }
    if matches!(span.entity, Entity::Amount | Entity::CollateralValue) {
        span.end = span
            .end
            .saturating_add(scale_after(slice::from(text, span.end)));
    }
}

/// The length of a scale word right after a number (`million`, ` bn`, `k`, `万`), gap
/// included; 0 when there is none.
fn scale_after(rest: &str) -> usize {
    let word = rest.trim_start_matches(' ');
    let gap = rest.len().saturating_sub(word.len());
    if gap > 1 {
        return 0;
    }
    for glyph in ['万', '萬', '亿', '億'] {
        if word.starts_with(glyph) {
            return gap + glyph.len_utf8();
        }
    }
    for scale in [
        "million", "thousand", "billion", "grand", "bn", "mm", "k", "m",
    ] {
        let Some(head) = word.get(..scale.len()) else {
            continue;
        };
        let after = slice::from(word, scale.len()).chars().next();
        if head.eq_ignore_ascii_case(scale)
            && after.is_none_or(|c| !c.is_alphanumeric())
            && (scale.len() > 2 || gap == 0)
        {
            return gap + scale.len();
        }
    }
    0
}

/// The most confident span of `entity` (at or above `threshold`) that `read` can read, with
/// what it read; an error when that span gives a value that cannot be held (it is not passed
/// over for a less likely span: the value is then withheld).
fn read_best<T>(
    spans: &[TaggedSpan],
    entity: Entity,
    threshold: f32,
    read: impl Fn(&TaggedSpan) -> Result<Option<T>, OutOfRange>,
) -> Result<Option<(&TaggedSpan, T)>, OutOfRange> {
    let mut candidates: Vec<&TaggedSpan> = spans
        .iter()
        .filter(|s| s.entity == entity && s.confidence >= threshold)
        .collect();
    candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    for span in candidates {
        if let Some(value) = read(span)? {
            return Ok(Some((span, value)));
        }
    }
    Ok(None)
}

/// A currency written right beside the amount (`$12,500`, `12,500 USDC`) when the model tagged
/// none.
fn currency_near(text: &str, amount: &TaggedSpan) -> Option<TaggedSpan> {
    let (start, end) = currency_beside(text, amount.start, amount.end)?;
    Some(TaggedSpan {
        entity: Entity::Currency,
        start,
        end,
        confidence: amount.confidence,
    })
}

/// The bytes of a currency written right beside the number at `start..end`: within five
/// characters before it or twelve after.
pub(crate) fn currency_beside(text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    // Counted in characters: a space can be three bytes (U+3000).
    let before = slice::before(text, start);
    let before_start = before
        .char_indices()
        .rev()
        .take(5)
        .last()
        .map_or(start, |(i, _)| i);
    let after = slice::from(text, end);
    let after_end = after
        .char_indices()
        .nth(12)
        .map_or(text.len(), |(i, _)| end.saturating_add(i));
    // Only the far edge of each window can cut a word; the near one touches the number.
    let sides = [(before_start, start, true), (end, after_end, false)];
    sides.into_iter().find_map(|(from, to, before)| {
        let window = slice::span(text, from, to);
        let is_break = |c: char| c.is_whitespace() || c.is_ascii_digit() || ",.()".contains(c);
        // A word cut by the window's edge is not a currency (`rs` of `Dollars`).
        let cut_before = before
            && slice::before(text, from)
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
        let cut_after = !before
            && slice::from(text, to)
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
        let mut offset = 0;
        let mut found = None;
        for token in window.split(is_break) {
            let at = offset;
            let after = slice::from(window, at + token.len());
            offset = at + token.len() + after.chars().next().map_or(0, char::len_utf8);
            let touches_start = at == 0 && cut_before;
            let touches_end = at + token.len() == window.len() && cut_after;
            if !token.is_empty()
                && !touches_start
                && !touches_end
                && parse_currency(token, text).is_some()
            {
                found = Some((from + at, from + at + token.len()));
                break;
            }
        }
        found
    })
}

fn read_facts(text: &str, spans: &[TaggedSpan], style: NumberStyle, threshold: f32) -> RiskFacts {
    let mut facts = RiskFacts::default();
    for span in spans.iter().filter(|s| s.confidence >= threshold) {
        let s = slice::span(text, span.start, span.end);
        match span.entity {
            Entity::CollateralValue => {
                facts.collateral_value = facts.collateral_value.or(parse_number(s, style));
            }
            Entity::CollateralRatio => {
                facts.collateral_ratio_percent = facts
                    .collateral_ratio_percent
                    .or(risk::parse_percent(s, style));
            }
            Entity::Ltv => facts.ltv_percent = facts.ltv_percent.or(risk::parse_percent(s, style)),
            Entity::CreditScore => {
                if let Some(score) = risk::parse_credit_score(s) {
                    facts.credit_score =
                        Some(facts.credit_score.map_or(score, |old| old.min(score)));
                }
            }
            Entity::Adverse => facts.adverse_history |= risk::is_adverse(s, style),
            Entity::Secured => facts.secured = facts.secured.or(Some(risk::parse_secured(s))),
            Entity::Unsecured => facts.secured = Some(false),
            _ => {}
        }
    }
    // What the tagger missed, read from the usual phrasings.
    let stated = risk::stated_facts(text, style);
    facts.ltv_percent = facts.ltv_percent.or(stated.ltv_percent);
    facts.collateral_ratio_percent = facts
        .collateral_ratio_percent
        .or(stated.collateral_ratio_percent);
    facts.collateral_value = facts.collateral_value.or(stated.collateral_value);
    facts.credit_score = facts.credit_score.or(stated.credit_score);
    facts
}

/// A score in the tier's band (low 0–33, medium 34–66, high 67–100), placed within the band by
/// the sequence head's expected riskiness, so scores order the tiers as the spec requires.
fn risk_score(tier: RiskTier, class: TextClass) -> u8 {
    let [_, medium, high] = class
        .tier
        .map(|p| if p.is_finite() { p.max(0.0) } else { 0.0 });
    let total: f32 = class
        .tier
        .iter()
        .filter(|p| p.is_finite())
        .map(|p| p.max(0.0))
        .sum();
    let expected = if total > f32::EPSILON {
        (0.5 * medium + high) / total
    } else {
        0.5
    };
    let band_start = match tier {
        RiskTier::Low => 0.0,
        RiskTier::Medium => 34.0,
        RiskTier::High => 67.0,
    };
    (band_start + (expected.clamp(0.0, 1.0) * 33.0).round()) as u8
}

impl Extraction {
    fn empty(status: Status) -> Self {
        Self {
            status,
            amount: None,
            currency: None,
            apr_percent: None,
            term_days: None,
            risk_tier: None,
            risk_score: None,
            evidence: BTreeMap::new(),
            confidence: BTreeMap::new(),
            withheld: BTreeMap::new(),
        }
    }

    /// The result for a text that is not a loan.
    pub fn not_a_loan() -> Self {
        Self::empty(Status::NotALoan)
    }

    /// A result with no values read; a loan's tier is then the rubric's default, medium.
    pub fn unread(status: Status) -> Self {
        let mut out = Self::empty(status);
        if status != Status::NotALoan {
            out.risk_tier = Some(RiskTier::Medium);
            out.risk_score = Some(50);
        }
        out
    }

    fn set(&mut self, field: Field, span: &TaggedSpan) {
        self.evidence.insert(field, [span.start, span.end]);
        self.confidence.insert(field, span.confidence);
    }

    /// What `read_best` found for `field`; a value that cannot be held is withheld instead.
    fn take<'s, T>(
        &mut self,
        field: Field,
        found: Result<Option<(&'s TaggedSpan, T)>, OutOfRange>,
    ) -> Option<(&'s TaggedSpan, T)> {
        found.unwrap_or_else(|why| {
            self.withhold(field, why.0);
            None
        })
    }

    /// The rate or tenor a chosen candidate reads as: given with its evidence, withheld with its
    /// reason when unfit, null when unreadable.
    fn take_candidate(&mut self, field: Field, c: &ScoredCandidate, confidence: f32) {
        match (&c.candidate.value, field) {
            (CandidateValue::Number(v), Field::AprPercent) => {
                self.set(field, &c.tagged(Entity::Rate, confidence));
                self.apr_percent = Some(*v);
            }
            (CandidateValue::Days(d), Field::TermDays) => {
                self.set(field, &c.tagged(Entity::Term, confidence));
                self.term_days = Some(*d);
            }
            (CandidateValue::Unfit(why), _) => self.withhold(field, why.clone()),
            _ => {}
        }
    }

    /// Makes `field` null, keeping why.
    fn withhold(&mut self, field: Field, reason: String) {
        match field {
            Field::Amount => self.amount = None,
            Field::Currency => self.currency = None,
            Field::AprPercent => self.apr_percent = None,
            Field::TermDays => self.term_days = None,
        }
        self.evidence.remove(&field);
        self.confidence.remove(&field);
        self.withheld.insert(field, reason);
    }

    /// The currency: the most confident tagged one (even where the amount cannot be read), else
    /// one written beside the amount.
    fn read_currency(
        &mut self,
        text: &str,
        spans: &[TaggedSpan],
        amount: Option<&TaggedSpan>,
        threshold: f32,
    ) {
        let tagged = read_best(spans, Entity::Currency, threshold, |c| {
            Ok(parse_currency(slice::span(text, c.start, c.end), text))
        })
        .ok()
        .flatten()
        .map(|(c, currency)| (c.clone(), currency));
        let currency = tagged.or_else(|| {
            let near = currency_near(text, amount?)?;
            let currency = parse_currency(slice::span(text, near.start, near.end), text)?;
            Some((near, currency))
        });
        if let Some((c, currency)) = currency {
            self.currency = Some(currency);
            self.set(Field::Currency, &c);
        }
    }

    /// Withholds every value that the on-chain `LoanTerms` cannot carry, so the JSON and the
    /// signed struct always agree and a value is never silently zeroed under status `ok`.
    fn check_on_chain_fit(&mut self) {
        let decimals = self.currency.as_ref().map_or(0, |c| c.decimals);
        if let Some(amount) = self.amount
            && minor_units(amount, decimals).is_none()
        {
            let reason =
                format!("amount {amount} × 10^{decimals} does not fit amountMinor (uint256)");
            self.withhold(Field::Amount, reason);
        }
        if let Some(currency) = &self.currency
            && !currency::fits_bytes8(&currency.code)
        {
            let reason = format!("currency {:?} does not fit bytes8", currency.code);
            self.withhold(Field::Currency, reason);
        }
        if let Some(rate) = self.apr_percent
            && let Err(reason) = apr_ppm(rate)
        {
            self.withhold(Field::AprPercent, reason);
        }
        let far: Vec<Field> = self
            .evidence
            .iter()
            .filter(|(_, [start, end])| {
                u32::try_from(*start).is_err() || u32::try_from(*end).is_err()
            })
            .map(|(field, _)| *field)
            .collect();
        for field in far {
            self.withhold(
                field,
                "its evidence lies beyond byte 4294967295 (uint32)".into(),
            );
        }
    }

    /// The term as the calendar days from the start date to the maturity date, where no tenor
    /// is written. The tagger may split a date or mix up which date is which, so the dates are
    /// read from the whole stretch its date tags cover, first to last.
    fn read_dates(&mut self, text: &str, spans: &[TaggedSpan], threshold: f32) {
        let dates: Vec<&TaggedSpan> = spans
            .iter()
            .filter(|s| {
                matches!(s.entity, Entity::StartDate | Entity::MaturityDate)
                    && s.confidence >= threshold
            })
            .collect();
        let (Some(first), Some(last)) = (
            dates.iter().map(|s| s.start).min(),
            dates.iter().map(|s| s.end).max(),
        ) else {
            return;
        };
        let region = slice::span(text, first, last);
        let found = term::find_dates(region);
        let (Some((a_at, a)), Some((_, b))) = (found.first().copied(), found.last().copied())
        else {
            return;
        };
        let Ok(days) = u32::try_from(b.signed_duration_since(a).num_days()) else {
            return;
        };
        if found.len() < 2 || days == 0 {
            return;
        }
        let confidence = dates.iter().map(|s| s.confidence).fold(1.0f32, f32::min);
        let span = TaggedSpan {
            entity: Entity::Term,
            start: first.saturating_add(a_at),
            end: last,
            confidence,
        };
        self.set(Field::TermDays, &span);
        self.term_days = Some(days);
    }

    /// The spec's JSON for this extraction (`with_confidence` adds a confidence per field).
    pub fn to_json(&self, with_confidence: bool) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        out.insert(
            "status".into(),
            serde_json::to_value(self.status).unwrap_or_default(),
        );
        if self.status != Status::NotALoan {
            out.insert(
                "amount".into(),
                self.amount.map(|a| a.normalize().to_string()).into(),
            );
            out.insert(
                "currency".into(),
                self.currency.as_ref().map(|c| c.code.clone()).into(),
            );
            out.insert(
                "apr_percent".into(),
                self.apr_percent.map(|r| r.normalize().to_string()).into(),
            );
            out.insert("term_days".into(), self.term_days.into());
            out.insert(
                "risk_tier".into(),
                self.risk_tier.map(RiskTier::as_str).into(),
            );
            out.insert("risk_score".into(), self.risk_score.into());
            out.insert(
                "evidence".into(),
                serde_json::to_value(&self.evidence).unwrap_or_default(),
            );
            if with_confidence {
                out.insert(
                    "confidence".into(),
                    serde_json::to_value(&self.confidence).unwrap_or_default(),
                );
            }
            if !self.withheld.is_empty() {
                out.insert(
                    "withheld".into(),
                    serde_json::to_value(&self.withheld).unwrap_or_default(),
                );
            }
        }
        serde_json::Value::Object(out)
    }

    /// A field's evidence as the on-chain `uint32` pair; `[0, 0]` where there is none (or, which
    /// `assemble` prevents, one past `uint32`).
    pub fn evidence_u32(&self, field: Field) -> [u32; 2] {
        self.evidence.get(&field).map_or([0, 0], |[s, e]| {
            match (u32::try_from(*s), u32::try_from(*e)) {
                (Ok(s), Ok(e)) => [s, e],
                _ => [0, 0],
            }
        })
    }

    /// The amount in the currency's minor units (`amountMinor`); zero where there is none.
    pub fn amount_minor(&self) -> U256 {
        let decimals = self.currency.as_ref().map_or(0, |c| c.decimals);
        self.amount
            .and_then(|a| minor_units(a, decimals))
            .unwrap_or(U256::ZERO)
    }
}

/// A rate in percent as `aprPpm`: parts per million, rounded, within `uint32`.
pub fn apr_ppm(rate: Decimal) -> Result<u32, String> {
    if rate.is_sign_negative() && !rate.is_zero() {
        return Err(format!(
            "apr_percent {rate} is negative; aprPpm (uint32) cannot hold it"
        ));
    }
    rate.checked_mul(Decimal::from(10_000))
        .and_then(|ppm| ppm.round().to_u32())
        .ok_or_else(|| {
            format!("apr_percent {rate} does not fit aprPpm (uint32: at most 429496.7295 %)")
        })
}

/// `amount × 10^decimals` as an integer, rounded half-even to the currency's minor unit.
pub fn minor_units(amount: Decimal, decimals: u8) -> Option<U256> {
    let rounded = amount.round_dp(u32::from(decimals)).normalize();
    let digits = rounded.mantissa().to_string();
    let scale = rounded.scale();
    let mantissa: U256 = digits.parse().ok()?;
    let shift = u32::from(decimals).checked_sub(scale)?;
    mantissa.checked_mul(U256::from(10u8).checked_pow(U256::from(shift))?)
}

#[cfg(test)]
mod hostile;

#[cfg(test)]
#[allow(clippy::string_slice)] // literal texts, offsets found in them
mod tests {
    use super::*;

    fn span(text: &str, entity: Entity, needle: &str) -> TaggedSpan {
        let start = text.find(needle).unwrap();
        TaggedSpan {
            entity,
            start,
            end: start + needle.len(),
            confidence: 0.99,
        }
    }

    const LOAN: TextClass = TextClass {
        tier: [0.8, 0.15, 0.05],
        not_a_loan: 0.01,
    };

    /// Candidates as the readers propose them, with role probabilities set by a rule: the first
    /// role of each kind gets `p` on the candidates whose text is in `chosen`, the rest `other`.
    fn scored(text: &str, chosen: &[(&str, f32)]) -> Vec<ScoredCandidate> {
        candidates::propose(text)
            .into_iter()
            .map(|candidate| {
                let written = &text[candidate.start..candidate.end];
                let p = chosen
                    .iter()
                    .find(|(t, _)| *t == written)
                    .map_or(0.0, |(_, p)| *p);
                let n = candidate.kind.roles().len();
                let mut roles = vec![0.0; n];
                roles[0] = p;
                roles[n - 1] = 1.0 - p;
                ScoredCandidate { candidate, roles }
            })
            .collect()
    }

    #[test]
    fn roles_choose_whole_expressions_with_a_margin() {
        let text = "Fifteen Thousand and 00/100 Dollars ($15,000.00), a fee of $45.00, at 7.5% per \
                    annum (default rate 18% per annum) for thirty-six (36) months.";
        let candidates = scored(
            text,
            &[
                ("Fifteen Thousand", 0.9),
                ("15,000.00", 0.8),
                ("45.00", 0.1),
                ("7.5%", 0.95),
                ("18%", 0.3),
                ("thirty-six (36) months", 0.9),
            ],
        );
        let margins = Thresholds {
            span: 0.5,
            ..Thresholds::open()
        };
        let out = assemble_roles(text, &[], &candidates, LOAN, &margins);
        assert_eq!(out.status, Status::Ok, "{:?}", out.to_json(true));
        // The restatement has the same value: it is no rival, so the margin is over the fee.
        assert_eq!(out.amount, Some(Decimal::from(15_000)));
        assert_eq!(out.confidence[&Field::Amount], 0.9 - 0.1);
        assert_eq!(out.currency.as_ref().map(|c| c.code.as_str()), Some("USD"));
        assert_eq!(out.apr_percent, Some(Decimal::new(75, 1)));
        assert_eq!(out.term_days, Some(1080));
        let [start, end] = out.evidence[&Field::Amount];
        assert_eq!(&text[start..end], "Fifteen Thousand");

        // The same reading with the default rate close behind the contract rate: withheld.
        let close = scored(
            text,
            &[("Fifteen Thousand", 0.9), ("7.5%", 0.6), ("18%", 0.5)],
        );
        let out = assemble_roles(text, &[], &close, LOAN, &margins);
        assert_eq!(out.apr_percent, None);
        assert_eq!(out.status, Status::Incomplete);
        // A field's own threshold wins over the default.
        let mut strict = margins.clone();
        strict.fields.insert(Field::Amount, 0.95);
        let out = assemble_roles(text, &[], &close, LOAN, &strict);
        assert_eq!(out.amount, None);
    }

    #[test]
    fn chosen_candidates_that_cannot_be_read_are_withheld() {
        let text =
            "A loan of 99999999999999999999999999999999 dollars at SOFR + 2.50% for 2 years.";
        let candidates = scored(
            text,
            &[
                ("99999999999999999999999999999999", 0.9),
                ("SOFR + 2.50%", 0.9),
                ("2 years", 0.9),
            ],
        );
        let out = assemble_roles(text, &[], &candidates, LOAN, &Thresholds::open());
        assert_eq!(out.amount, None);
        assert!(
            out.withheld.contains_key(&Field::Amount),
            "{:?}",
            out.withheld
        );
        // A floating rate without its base is not read with certainty, and no other rate
        // stands in for it.
        assert_eq!(out.apr_percent, None);
        assert_eq!(out.term_days, Some(730));
        assert_eq!(out.status, Status::Incomplete);
        // Nothing proposed, nothing rated: incomplete, never a panic.
        let out = assemble_roles("", &[], &[], LOAN, &Thresholds::open());
        assert_eq!(out.status, Status::Incomplete);
    }

    #[test]
    fn assembles_the_spec_values_with_evidence() {
        let text = "Lender lends Borrower $12,500, unsecured, at 19.9% per annum over thirty-six (36) months.";
        let spans = [
            span(text, Entity::Amount, "12,500"),
            span(text, Entity::Rate, "19.9% per annum"),
            span(text, Entity::Term, "thirty-six (36) months"),
            span(text, Entity::Unsecured, "unsecured"),
        ];
        let out = assemble(text, &spans, LOAN, Thresholds::default());
        assert_eq!(out.status, Status::Ok);
        let json = out.to_json(false);
        assert_eq!(json["amount"], "12500");
        assert_eq!(json["currency"], "USD", "currency read beside the amount");
        assert_eq!(json["apr_percent"], "19.9");
        assert_eq!(json["term_days"], 1080);
        assert_eq!(json["risk_tier"], "high");
        assert_eq!(json["evidence"]["currency"], serde_json::json!([22, 23]));
        let score = json["risk_score"].as_u64().unwrap();
        assert!(
            (67..=100).contains(&score),
            "high scores sit in the high band: {score}"
        );
    }

    #[test]
    fn withholds_unconfident_values() {
        let text = "Borrow USD 5,000 at 9% APR for 60 days.";
        let mut spans = vec![
            span(text, Entity::Amount, "5,000"),
            span(text, Entity::Currency, "USD"),
            span(text, Entity::Rate, "9% APR"),
            span(text, Entity::Term, "60 days"),
        ];
        spans[2].confidence = 0.3;
        let out = assemble(text, &spans, LOAN, Thresholds::default());
        assert_eq!(out.status, Status::Incomplete);
        assert_eq!(out.apr_percent, None);
        assert!(!out.evidence.contains_key(&Field::AprPercent));
        assert_eq!(out.to_json(false)["apr_percent"], serde_json::Value::Null);
    }

    #[test]
    fn term_from_dates_and_not_a_loan() {
        let text = "Drawn on 15 January 2025, repaid on 15 January 2029.";
        let spans = [
            span(text, Entity::StartDate, "15 January 2025"),
            span(text, Entity::MaturityDate, "15 January 2029"),
        ];
        let out = assemble(text, &spans, LOAN, Thresholds::default());
        assert_eq!(out.term_days, Some(1461));
        assert_eq!(out.evidence[&Field::TermDays], [9, 51]);
        let not_loan = TextClass {
            tier: [0.3, 0.3, 0.4],
            not_a_loan: 0.9,
        };
        let out = assemble(text, &spans, not_loan, Thresholds::default());
        assert_eq!(
            out.to_json(true),
            serde_json::json!({"status": "not_a_loan"})
        );
    }

    #[test]
    fn fragments_join_and_numbers_widen() {
        let text = "Borrow 1.5 WBTC at 11.25% per annum, or USD 2.5 million.";
        let at = |needle: &str| text.find(needle).unwrap();
        let frag = |entity, start: usize, end: usize| TaggedSpan {
            entity,
            start,
            end,
            confidence: 0.9,
        };
        let spans = [
            frag(Entity::Amount, at("5 WBTC"), at("5 WBTC") + 1),
            frag(Entity::Rate, at("11."), at("11.") + 2),
            frag(Entity::Rate, at("per annum"), at("per annum") + 9),
            frag(Entity::CollateralValue, at("2.5"), at("2.5") + 3),
        ];
        let tidy = tidy_spans(text, &spans);
        let read: Vec<&str> = tidy.iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(read, ["1.5", "11.25% per annum", "2.5 million"]);

        let text = "the sum of two hundred and fifty thousand pounds sterling";
        let start = text.find("hundred").unwrap();
        let tidy = tidy_spans(text, &[frag(Entity::Amount, start, start + 7)]);
        assert_eq!(
            &text[tidy[0].start..tidy[0].end],
            "two hundred and fifty thousand"
        );
    }

    /// Whatever spans the tagger returns, reading never panics: every span over every pair of
    /// character boundaries of a text full of multi-byte characters, for every entity.
    #[test]
    fn any_span_is_read_without_panicking() {
        let text = "€1.250.000,00 zu 4,5 % für zwölf (12) Monate – ¥500 万, 7½% p.a., \u{1F600} 2 000 000 CHF; valued at €90 million";
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .collect();
        for entity in Entity::ALL {
            for (a, &start) in bounds.iter().enumerate() {
                for &end in &bounds[a + 1..] {
                    let spans = [TaggedSpan {
                        entity,
                        start,
                        end,
                        confidence: 0.9,
                    }];
                    let out = assemble(text, &spans, LOAN, Thresholds::default());
                    let _ = crate::contracts::LoanTerms::from(&out);
                }
            }
        }
    }

    #[test]
    fn minor_units_follow_decimals() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(minor_units(d("180000"), 2), Some(U256::from(18_000_000u64)));
        assert_eq!(minor_units(d("1.5"), 8), Some(U256::from(150_000_000u64)));
        assert_eq!(
            minor_units(d("10"), 18),
            Some(U256::from(10u64).pow(U256::from(19)))
        );
        assert_eq!(
            minor_units(d("48750.25"), 2),
            Some(U256::from(4_875_025u64))
        );
        assert_eq!(minor_units(d("500000"), 0), Some(U256::from(500_000u64)));
    }
}
