//! Risk: the facts a text states about the borrower and collateral, and the spec's rubric that
//! turns them into a tier.

use rust_decimal::Decimal;

use std::sync::LazyLock;

use regex::Regex;

use super::numbers::{NumberStyle, parse_digits, parse_number};
use super::slice;
use super::term::count_before;

/// The spec's risk tiers, numbered as on-chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskTier {
    Low = 1,
    Medium = 2,
    High = 3,
}

impl RiskTier {
    /// The spec's name: `low`, `medium`, `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses the spec's name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// What a text states that the rubric reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RiskFacts {
    /// `Some(true)` secured, `Some(false)` explicitly unsecured, `None` not said.
    pub secured: Option<bool>,
    /// The collateral's stated value, in the loan's currency.
    pub collateral_value: Option<Decimal>,
    /// A stated collateral ratio in percent (`150 % collateralised` is 150).
    pub collateral_ratio_percent: Option<Decimal>,
    /// A stated loan-to-value in percent.
    pub ltv_percent: Option<Decimal>,
    /// The lowest credit score stated.
    pub credit_score: Option<u32>,
    /// A stated prior default, bankruptcy, charge-off, foreclosure or 60+ days late.
    pub adverse_history: bool,
}

impl RiskFacts {
    fn has_collateral(&self) -> bool {
        self.collateral_value.is_some()
            || self.collateral_ratio_percent.is_some()
            || self.ltv_percent.is_some()
    }

    /// Loan-to-value in percent from whichever fact gives it.
    fn ltv(&self, amount: Option<Decimal>) -> Option<Decimal> {
        if let Some(ltv) = self.ltv_percent {
            return Some(ltv);
        }
        if let (Some(amount), Some(value)) = (amount, self.collateral_value) {
            return percent_of(amount, value);
        }
        percent_of(Decimal::ONE_HUNDRED, self.collateral_ratio_percent?)
    }

    /// Collateral ratio in percent from whichever fact gives it.
    fn ratio(&self, amount: Option<Decimal>) -> Option<Decimal> {
        if let Some(ratio) = self.collateral_ratio_percent {
            return Some(ratio);
        }
        if let (Some(amount), Some(value)) = (amount, self.collateral_value) {
            return percent_of(value, amount);
        }
        percent_of(Decimal::ONE_HUNDRED, self.ltv_percent?)
    }
}

/// `part / whole` in percent; `None` for a zero whole. Values read from a text can be anything,
/// so a quotient too large for a `Decimal` saturates (the rubric only compares it).
fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    let saturated = if part.is_sign_negative() == whole.is_sign_negative() {
        Decimal::MAX
    } else {
        Decimal::MIN
    };
    let quotient = part.checked_div(whole).unwrap_or(saturated);
    Some(quotient.saturating_mul(Decimal::ONE_HUNDRED))
}

/// The spec's rubric, first matching rule wins: high, then low, else medium.
pub fn rubric_tier(
    facts: &RiskFacts,
    amount: Option<Decimal>,
    apr_percent: Option<Decimal>,
) -> RiskTier {
    let ltv = facts.ltv(amount);
    let ratio = facts.ratio(amount);
    let score_below = |limit: u32| facts.credit_score.is_some_and(|s| s < limit);
    let high = facts.adverse_history
        || score_below(620)
        || facts.secured == Some(false) && apr_percent.is_some_and(|apr| apr >= Decimal::from(18))
        || ltv.is_some_and(|l| l > Decimal::from(90))
        || ratio.is_some_and(|r| r < Decimal::from(111));
    if high {
        return RiskTier::High;
    }
    let secured =
        facts.secured != Some(false) && (facts.secured == Some(true) || facts.has_collateral());
    let well_covered = ltv.is_some_and(|l| l <= Decimal::from(60))
        || ratio.is_some_and(|r| r >= Decimal::from(166));
    let low = secured
        && well_covered
        && apr_percent.is_some_and(|apr| apr < Decimal::from(12))
        && !score_below(700);
    if low { RiskTier::Low } else { RiskTier::Medium }
}

static LTV: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:loan[- ]to[- ]value|\bltv)(?:\s+ratio)?(?:\s+(?:of|is|at))?[:\s]*(?:about\s+|approximately\s+)?(\d+(?:[.,]\d+)?)\s?%")
        .expect("valid regex")
});
static RATIO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\d+(?:[.,]\d+)?)\s?%\s+(?:of the loan(?: value| amount)?|collateral)|collateral ratio[^0-9%]{0,30}?(\d+(?:[.,]\d+)?)\s?%")
        .expect("valid regex")
});
static VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:valued|appraised|worth)\s+(?:at\s+)?(?:about\s+|approximately\s+|roughly\s+|around\s+)?(?:at\s+)?([^;()\n]{1,60})")
        .expect("valid regex")
});
static SCORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:fico|credit score|bureau score|credit rating score)[^0-9.;\n]{0,25}(\d{3})\b",
    )
    .expect("valid regex")
});

/// The coverage and score facts a text states in the usual words, for when the tagger marked
/// none: a loan-to-value, a collateral ratio, what the collateral is valued at, a credit score.
pub fn stated_facts(text: &str, style: NumberStyle) -> RiskFacts {
    let percent = |caps: regex::Captures| {
        let m = caps.iter().skip(1).flatten().next()?;
        parse_percent(&format!("{}%", m.as_str()), style)
    };
    let value = VALUE.captures(text).and_then(|c| {
        let phrase = c.get(1)?.as_str();
        // The number right after the phrase: `$515,000, for a loan-to-value of 80%` is 515000.
        parse_number(phrase.split(", ").next().unwrap_or(phrase), style)
    });
    RiskFacts {
        ltv_percent: LTV.captures(text).and_then(percent),
        collateral_ratio_percent: RATIO.captures(text).and_then(percent),
        collateral_value: value.filter(|v| !v.is_zero()),
        credit_score: SCORE
            .captures(text)
            .and_then(|c| parse_credit_score(c.get(1)?.as_str())),
        ..RiskFacts::default()
    }
}

/// A percentage in a span: `55%`, `240% collateral`, `1.5x` (150), `LTV of 75 percent`.
pub fn parse_percent(span: &str, style: NumberStyle) -> Option<Decimal> {
    let (value, range) = parse_digits(span, style)
        .or_else(|| parse_number(span, style).map(|v| (v, span.len()..span.len())))?;
    let after = slice::from(span, range.end).trim_start().to_lowercase();
    if after.starts_with('x') || after.starts_with("times") {
        return Some(value.saturating_mul(Decimal::ONE_HUNDRED));
    }
    Some(value)
}

/// A credit score: the first integer of 300..=900 in the span.
pub fn parse_credit_score(span: &str) -> Option<u32> {
    span.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse::<u32>().ok())
        .find(|s| (300..=900).contains(s))
}

/// Whether an adverse-history span meets the rubric: any default, bankruptcy, charge-off or
/// foreclosure; lateness only at 60 days or more.
pub fn is_adverse(span: &str, style: NumberStyle) -> bool {
    let lower = span.to_lowercase();
    let lateness = [
        "late",
        "past due",
        "overdue",
        "behind",
        "delinquen",
        "arrears",
    ];
    if lateness.iter().any(|w| lower.contains(w)) {
        // `ninety days behind`, `60+ days past due`, `three months in arrears`.
        let Some(unit_at) = lower.find("day").or_else(|| lower.find("month")) else {
            return false;
        };
        let factor = if slice::from(&lower, unit_at).starts_with("month") {
            30
        } else {
            1
        };
        // A count too large to read is still 60 days or more.
        let days = match count_before(slice::before(&lower, unit_at), style) {
            Ok(count) => count.map(|c| c.saturating_mul(Decimal::from(factor))),
            Err(_) => Some(Decimal::MAX),
        };
        return days.is_some_and(|d| d >= Decimal::from(60));
    }
    // Only the borrower's history counts: a contract's default rate or events of default do not,
    // and neither does a fragment that names no adverse event.
    let contract_terms = [
        "default interest",
        "default rate",
        "event of default",
        "upon default",
        "after default",
        "following default",
    ];
    let none = [
        "no default",
        "never defaulted",
        "no history of default",
        "no bankruptc",
        "no prior default",
    ];
    if contract_terms
        .iter()
        .chain(&none)
        .any(|w| lower.contains(w))
    {
        return false;
    }
    let adverse = [
        "default",
        "bankrupt",
        "charge-off",
        "charged off",
        "charged-off",
        "foreclos",
        "repossess",
        "insolven",
        "judgment",
        "collections",
        "chapter 7",
        "chapter 13",
        "written off",
        "write-off",
    ];
    adverse.iter().any(|w| lower.contains(w))
}

/// Whether a security span says secured (`true`) or unsecured (`false`).
pub fn parse_secured(span: &str) -> bool {
    let lower = span.to_lowercase();
    ![
        "unsecured",
        "no collateral",
        "without collateral",
        "not secured",
        "uncollateral",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn tier(facts: RiskFacts, amount: &str, apr: &str) -> RiskTier {
        rubric_tier(&facts, Some(d(amount)), Some(d(apr)))
    }

    #[test]
    fn high_rules() {
        let adverse = RiskFacts {
            adverse_history: true,
            ltv_percent: Some(d("40")),
            secured: Some(true),
            ..Default::default()
        };
        assert_eq!(tier(adverse, "1000", "5"), RiskTier::High);
        let score = RiskFacts {
            credit_score: Some(619),
            ..Default::default()
        };
        assert_eq!(tier(score, "1000", "5"), RiskTier::High);
        let score = RiskFacts {
            credit_score: Some(620),
            ..Default::default()
        };
        assert_eq!(tier(score, "1000", "5"), RiskTier::Medium);
        let unsecured = RiskFacts {
            secured: Some(false),
            ..Default::default()
        };
        assert_eq!(tier(unsecured.clone(), "1000", "18"), RiskTier::High);
        assert_eq!(tier(unsecured, "1000", "17.99"), RiskTier::Medium);
        let ltv = RiskFacts {
            ltv_percent: Some(d("90.5")),
            ..Default::default()
        };
        assert_eq!(tier(ltv, "1000", "5"), RiskTier::High);
        let ratio = RiskFacts {
            collateral_ratio_percent: Some(d("105")),
            ..Default::default()
        };
        assert_eq!(tier(ratio, "10", "15"), RiskTier::High);
    }

    #[test]
    fn low_needs_cover_rate_and_score() {
        let covered = RiskFacts {
            secured: Some(true),
            collateral_value: Some(d("640000")),
            ..Default::default()
        };
        assert_eq!(
            tier(covered.clone(), "384000", "3.15"),
            RiskTier::Low,
            "LTV exactly 60"
        );
        // 390000 / 640000: LTV 60.9 % and ratio 164 %, neither enough.
        assert_eq!(tier(covered.clone(), "390000", "3.15"), RiskTier::Medium);
        assert_eq!(
            tier(covered.clone(), "384000", "12"),
            RiskTier::Medium,
            "12 % is not below 12"
        );
        let fair_score = RiskFacts {
            credit_score: Some(699),
            ..covered
        };
        assert_eq!(tier(fair_score, "384000", "3.15"), RiskTier::Medium);
        let ratio = RiskFacts {
            collateral_ratio_percent: Some(d("166")),
            ..Default::default()
        };
        assert_eq!(
            tier(ratio, "30000", "7.5"),
            RiskTier::Low,
            "166 % is enough"
        );
        assert_eq!(
            tier(RiskFacts::default(), "1000", "5"),
            RiskTier::Medium,
            "collateral unstated"
        );
        let between = RiskFacts {
            collateral_value: Some(d("2400")),
            ..Default::default()
        };
        assert_eq!(tier(between, "2000", "26"), RiskTier::Medium);
    }

    #[test]
    fn stated_facts_backstop_the_tagger() {
        let style = NumberStyle::default();
        let f = stated_facts(
            "appraised at $515,000, for a loan-to-value of 80%. FICO score: 742",
            style,
        );
        assert_eq!(
            (f.collateral_value, f.ltv_percent, f.credit_score),
            (Some(d("515000")), Some(d("80")), Some(742))
        );
        let f = stated_facts("I'll post stETH at 166% collateralisation", style);
        assert_eq!(f.collateral_ratio_percent, Some(d("166")));
        let f = stated_facts(
            "independently valued at six hundred thousand pounds sterling.",
            style,
        );
        assert_eq!(f.collateral_value, Some(d("600000")));
        let f = stated_facts(
            "Collateral: 110 ETH (collateral ratio at origination: 210%)",
            style,
        );
        assert_eq!(f.collateral_ratio_percent, Some(d("210")));
        assert_eq!(
            stated_facts("a plain loan of $5,000", style),
            RiskFacts::default()
        );
    }

    #[test]
    fn fact_spans() {
        let style = NumberStyle::default();
        assert_eq!(parse_percent("240% collateral", style), Some(d("240")));
        assert_eq!(parse_percent("1.5x", style), Some(d("150")));
        assert_eq!(parse_percent("Loan-to-Value: 55%", style), Some(d("55")));
        assert_eq!(parse_credit_score("FICO 598"), Some(598));
        assert_eq!(parse_credit_score("score of 12"), None);
        assert!(is_adverse("Chapter 7 bankruptcy discharge in 2019", style));
        assert!(is_adverse("ninety days behind", style));
        assert!(is_adverse("60 days past due", style));
        assert!(is_adverse(
            "fell ninety days behind on a van finance agreement in 2022",
            style
        ));
        assert!(is_adverse("three months in arrears", style));
        assert!(!is_adverse("30 days late", style));
        assert!(is_adverse("2018 foreclosure", style));
        assert!(!is_adverse(
            "Default Interest: contract rate plus 200 basis points",
            style
        ));
        assert!(!is_adverse("came back at", style));
        assert!(!parse_secured("Unsecured"));
        assert!(!parse_secured("No collateral is taken"));
        assert!(parse_secured("secured by a first mortgage"));
    }
}
