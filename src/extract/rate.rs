//! Interest rates: a rate span to the nominal annual rate in percent.

use rust_decimal::Decimal;

use super::numbers::{
    NumberStyle, OutOfRange, chinese_number, parse_digits, read_digits, read_number,
};
use super::slice;

/// Benchmarks a floating rate is quoted over.
pub(crate) const BENCHMARKS: &[&str] = &[
    "sofr",
    "prime",
    "euribor",
    "libor",
    "sonia",
    "€str",
    "estr",
    "base rate",
    "fed funds",
    "federal funds",
    "tonar",
    "saron",
    "bbsw",
    "cdi",
    "reference rate",
    "euríbor",
    "stibor",
    "nibor",
    "cibor",
    "wibor",
    "pribor",
    "tibor",
    "hibor",
    "shibor",
    "mclr",
    "repo rate",
    "selic",
    "贷款市场报价利率",
    "lpr",
];

/// Reads the nominal annual rate in percent from a rate span. `context` is the text right after
/// the span, where the period (`per month`) may stand. `None` when the span does not give a
/// rate that can be read with certainty (a floating rate without its base value).
pub fn parse_rate(span: &str, context: &str, style: NumberStyle) -> Option<Decimal> {
    read_rate(span, context, style).ok().flatten()
}

/// [`parse_rate`], with a rate too large to hold (`99999999999999999999999999% per month`) an
/// error.
pub fn read_rate(
    span: &str,
    context: &str,
    style: NumberStyle,
) -> Result<Option<Decimal>, OutOfRange> {
    let lower = span.to_lowercase().replace('％', "%");
    if is_interest_free(&lower) {
        return Ok(Some(Decimal::ZERO));
    }
    if let Some(rate) = chinese_fraction(&lower) {
        let period = period_factor(&lower).unwrap_or(Decimal::ONE);
        let annual = rate
            .checked_mul(period)
            .ok_or_else(|| OutOfRange::too_large(span))?;
        return Ok(Some(annual.normalize()));
    }
    // A rate is written as one: a percent sign or word, or basis points. A bare number (a
    // weekly payment, a collateral value) is not read as a rate.
    let clause = period_context(context);
    let marked = format!("{lower}{}", clause.chars().take(2).collect::<String>());
    if !PERCENT_WORDS
        .iter()
        .chain(BPS_WORDS)
        .chain(&["‰"])
        .any(|m| marked.contains(m))
    {
        return Ok(None);
    }
    let rate = if BENCHMARKS.iter().any(|b| lower.contains(b)) {
        // The base value may follow the tagged phrase in the same sentence.
        match floating_rate(&lower, style)? {
            Some(rate) => rate,
            None => match floating_rate(&format!("{lower}{}", sentence(context)), style)? {
                Some(rate) => rate,
                None => return Ok(None),
            },
        }
    } else if ["spread", "margin"].iter().any(|w| lower.contains(w))
        && let Some(rate) = floating_rate(&lower, style)?
    {
        // `presently 9.25% p.a., plus spread of 0.75% p.a.`: a named margin over a stated base.
        rate
    } else if let Some(bps) = basis_points(&lower, style)? {
        bps
    } else {
        match read_number(&lower, style)? {
            Some(rate) => rate,
            None => return Ok(None),
        }
    };
    // The period is read from the span, or from the span run on into its clause (`0.8% per`
    // tagged, `month` after it).
    let period = period_factor(&lower)
        .or_else(|| period_factor(&format!("{lower}{clause}")))
        .unwrap_or(Decimal::ONE);
    let annual = rate
        .checked_mul(period)
        .ok_or_else(|| OutOfRange::too_large(span))?;
    Ok(Some(annual.normalize()))
}

/// The rest of the sentence after a span, at most 120 bytes.
fn sentence(context: &str) -> String {
    let lower = context.to_lowercase();
    let end = [". ", ".\n", "\n", "; "]
        .iter()
        .filter_map(|e| lower.find(e))
        .min()
        .unwrap_or(lower.len());
    slice::before(&lower, end.min(120)).to_owned()
}

/// Phrases that say a loan carries no interest.
pub(crate) const INTEREST_FREE: &[&str] = &[
    "interest-free",
    "interest free",
    "no interest",
    "zero interest",
    "without interest",
    "0% interest",
    "zinslos",
    "zinsfrei",
    "räntefri",
    "renteloos",
    "rentevrij",
    "sans intérêt",
    "sin intereses",
    "senza interessi",
    "sem juros",
    "不计利息",
    "不计息",
    "无息",
    "免息",
    "无利息",
    "不收取利息",
    "不收利息",
    "零利息",
    "不要利息",
    "not charging any interest",
    "no interest will be charged",
];

pub(crate) fn is_interest_free(lower: &str) -> bool {
    INTEREST_FREE.iter().any(|p| lower.contains(p))
}

/// `百分之十` (10 %), `千分之五` (0.5 %), `万分之五` (0.05 %), in digits or Chinese numerals,
/// as percent.
fn chinese_fraction(lower: &str) -> Option<Decimal> {
    for (mark, per_percent) in [("百分之", 1i64), ("千分之", 10), ("万分之", 100)] {
        let Some(at) = lower.find(mark) else {
            continue;
        };
        let rest = slice::from(lower, at + mark.len());
        let count = match parse_digits(rest, NumberStyle::default()) {
            Some((value, range)) if range.start == 0 => value,
            _ => chinese_number(rest)?,
        };
        return count.checked_div(Decimal::from(per_percent));
    }
    None
}

/// `725 basis points`, `275 bps`, `50bp` as percent.
fn basis_points(lower: &str, style: NumberStyle) -> Result<Option<Decimal>, OutOfRange> {
    let Some((value, range)) = read_digits(lower, style)? else {
        return Ok(None);
    };
    // `six hundred fifty (650) basis points`: the unit may follow a closing bracket.
    let after = slice::from(lower, range.end).trim_start_matches([' ', ')']);
    let is_bps = BPS_WORDS.iter().any(|u| {
        after.starts_with(u) && !slice::from(after, u.len()).starts_with(char::is_alphabetic)
    }) || after.starts_with("basis point");
    Ok(is_bps.then(|| value / Decimal::ONE_HUNDRED))
}

/// `Term SOFR + 275 bps (Term SOFR currently 4.31%)`, `Prime minus 50 bps, with the Prime Rate
/// currently 7.50%`: the base value plus or minus the margin; `None` without a base value.
fn floating_rate(lower: &str, style: NumberStyle) -> Result<Option<Decimal>, OutOfRange> {
    let quantities = quantities(lower, style)?;
    let Some((margin_index, negative)) = quantities
        .iter()
        .enumerate()
        .find_map(|(i, q)| margin_sign(lower, q).map(|negative| (i, negative)))
    else {
        return Ok(None);
    };
    let Some(margin) = quantities.get(margin_index) else {
        return Ok(None);
    };
    let Some((_, base)) = quantities
        .iter()
        .enumerate()
        .find(|(i, q)| *i != margin_index && q.percent)
    else {
        return Ok(None);
    };
    let margin_percent = if margin.bps {
        margin.value / Decimal::ONE_HUNDRED
    } else {
        margin.value
    };
    let rate = if negative {
        base.value.checked_sub(margin_percent)
    } else {
        base.value.checked_add(margin_percent)
    };
    rate.map(Some).ok_or_else(|| OutOfRange::too_large(lower))
}

/// Whether a quantity is the margin over a benchmark, and if so whether it is taken off
/// (`Some(true)`): a sign or word before it (`+ 275 bps`, `plus a margin of 2%`, `minus 50
/// bps`), the word margin or spread before it (`a margin of 2.75%`), or a word after its unit
/// (`2.75% over SONIA`, `50 bps below Prime`).
fn margin_sign(lower: &str, q: &Quantity) -> Option<bool> {
    let raw_tail = slice::before(lower, q.start).trim_end();
    let tail = without_margin_words(raw_tail);
    let ends = |words: &[&str]| words.iter().any(|w| tail.ends_with(w));
    if ends(&["-", "minus", "less", "below"]) {
        return Some(true);
    }
    if ends(&["+", "plus", "over", "above"]) {
        return Some(false);
    }
    if tail.len() < raw_tail.len() && ["margin", "spread"].iter().any(|w| raw_tail.contains(w)) {
        return Some(false);
    }
    let after = slice::from(lower, q.end).trim_start();
    let after = after.strip_prefix(q.unit).unwrap_or(after).trim_start();
    if ["over", "above", "plus", "on top of"]
        .iter()
        .any(|w| after.starts_with(w))
    {
        return Some(false);
    }
    if ["below", "under"].iter().any(|w| after.starts_with(w)) {
        return Some(true);
    }
    None
}

/// `plus a margin of` → `plus`: the words that name the margin say nothing of its sign.
fn without_margin_words(tail: &str) -> &str {
    let mut tail = tail.trim_end();
    for word in ["of", "margin", "spread", "a", "the"] {
        if let Some(rest) = tail.strip_suffix(word)
            && (rest.is_empty() || rest.ends_with(' '))
        {
            tail = rest.trim_end();
        }
    }
    tail
}

struct Quantity {
    value: Decimal,
    start: usize,
    end: usize,
    /// The unit written after it (`%`, `bps`), or empty.
    unit: &'static str,
    bps: bool,
    percent: bool,
}

fn quantities(lower: &str, style: NumberStyle) -> Result<Vec<Quantity>, OutOfRange> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some((value, range)) = read_digits(slice::from(lower, offset), style)? {
        let (start, end) = (
            offset.saturating_add(range.start),
            offset.saturating_add(range.end),
        );
        let after = slice::from(lower, end).trim_start();
        let bps_unit = BPS_WORDS.iter().find(|u| after.starts_with(*u));
        let percent_unit = PERCENT_WORDS.iter().find(|u| after.starts_with(*u));
        found.push(Quantity {
            value,
            start,
            end,
            unit: bps_unit.or(percent_unit).copied().unwrap_or(""),
            bps: bps_unit.is_some(),
            percent: percent_unit.is_some(),
        });
        offset = end.max(start.saturating_add(1));
    }
    Ok(found)
}

/// How basis points are written, longest first.
pub(crate) const BPS_WORDS: &[&str] = &[
    "basis points",
    "basis point",
    "basispunkte",
    "basispunkten",
    "baspunkter",
    "räntepunkter",
    "punti base",
    "points de base",
    "puntos básicos",
    "bps",
    "bp",
];

/// How percent is written, longest first.
pub(crate) const PERCENT_WORDS: &[&str] = &[
    "per cent",
    "percent",
    "prozent",
    "procent",
    "pour cent",
    "por ciento",
    "per cento",
    "pct",
    "%",
];

/// The period of a rate as its annualising factor: month × 12, week × 52, day × 365.
pub(crate) fn period_factor(lower: &str) -> Option<Decimal> {
    const PERIODS: &[(&[&str], i64)] = &[
        (
            &[
                "per annum",
                "p.a",
                "a year",
                "per year",
                "annual",
                "apr",
                "yearly",
                "/year",
                "/yr",
                "each year",
                "pro jahr",
                "jährlich",
                "per år",
                "per jaar",
                "par an",
                "annuel",
                "anual",
                "al año",
                "annuo",
                "all'anno",
                "年利率",
                "年化",
                "年息",
                "年利",
                "按年",
            ],
            1,
        ),
        (
            &[
                "per month",
                "a month",
                "monthly",
                "/month",
                "/mo",
                "p.m.",
                "per mensem",
                "each month",
                "every month",
                "per calendar month",
                "per månad",
                "i månaden",
                "per maand",
                "pro monat",
                "monatlich",
                "par mois",
                "mensuel",
                "al mes",
                "mensual",
                "al mese",
                "mensile",
                "ao mês",
                "ao mes",
                "por mês",
                "a.m.",
                "mensais",
                "% pm",
                "pcm",
                "%pm",
                "月利率",
                "月息",
                "月利",
                "按月",
                "每月",
            ],
            12,
        ),
        (
            &[
                "per kwartaal",
                "pro quartal",
                "vierteljährlich",
                "par trimestre",
                "trimestral",
                "per kvartal",
                "per quarter",
                "a quarter",
                "quarterly",
                "p.q.",
                "/quarter",
                "按季",
            ],
            4,
        ),
        (
            &[
                "per week",
                "a week",
                "weekly",
                "/week",
                "/wk",
                "each week",
                "every week",
            ],
            52,
        ),
        (
            &[
                "per day",
                "a day",
                "daily",
                "/day",
                "each day",
                "every day",
                "per diem",
                "日利率",
                "日息",
                "日利",
                "按日",
                "每日",
                "每天",
            ],
            365,
        ),
    ];
    PERIODS
        .iter()
        .filter_map(|(words, factor)| {
            words
                .iter()
                .filter_map(|w| lower.find(w))
                .min()
                .map(|at| (at, *factor))
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, factor)| Decimal::from(factor))
}

/// The part of the text after a rate span that can still qualify it: up to the first clause
/// break, and never a payment schedule (`payable monthly` says nothing about the rate).
fn period_context(context: &str) -> String {
    let lower = context.to_lowercase();
    let clause_end = lower
        .find([',', ';', '.', '(', '\n'])
        .unwrap_or(lower.len());
    // At most 40 bytes, cut on a character boundary (`除` is three bytes).
    let clause = slice::before(&lower, clause_end.min(40));
    let schedule = [
        "payable",
        "paid",
        "repa",
        "instal",
        "compounded",
        "settled",
        "due",
    ];
    let cut = schedule
        .iter()
        .filter_map(|w| clause.find(w))
        .min()
        .unwrap_or(clause.len());
    slice::before(clause, cut).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(span: &str) -> Option<String> {
        parse_rate(span, "", NumberStyle::detect(span)).map(|d| d.to_string())
    }

    #[test]
    fn annual_rates() {
        assert_eq!(rate("6.25% per annum").as_deref(), Some("6.25"));
        assert_eq!(rate("4,35 % per annum").as_deref(), Some("4.35"));
        assert_eq!(rate("eight percent (8%) per annum").as_deref(), Some("8"));
        assert_eq!(rate("9% APR").as_deref(), Some("9"));
        assert_eq!(rate("6.875% per year").as_deref(), Some("6.875"));
        assert_eq!(rate("8,40 % p.a.").as_deref(), Some("8.4"));
        assert_eq!(rate("6.75% fixed").as_deref(), Some("6.75"));
    }

    #[test]
    fn words_and_fractions() {
        assert_eq!(
            rate("seven and one-half per cent per annum").as_deref(),
            Some("7.5")
        );
        assert_eq!(
            rate("six and a half percent a year").as_deref(),
            Some("6.5")
        );
        assert_eq!(rate("7 1/2 %").as_deref(), Some("7.5"));
    }

    #[test]
    fn periods_are_annualised() {
        assert_eq!(rate("0.95% per month").as_deref(), Some("11.4"));
        assert_eq!(rate("1.25% per month").as_deref(), Some("15"));
        assert_eq!(rate("0.5% a week").as_deref(), Some("26"));
        assert_eq!(rate("0.05% per day").as_deref(), Some("18.25"));
        let monthly_context = parse_rate("1.5%", " monthly on the balance", NumberStyle::default());
        assert_eq!(monthly_context.unwrap().to_string(), "18");
        let schedule = parse_rate(
            "6.25% per annum",
            ", payable monthly",
            NumberStyle::default(),
        );
        assert_eq!(schedule.unwrap().to_string(), "6.25");
        let schedule = parse_rate("6.25%", ", payable monthly", NumberStyle::default());
        assert_eq!(schedule.unwrap().to_string(), "6.25");
        let cut = parse_rate(
            "0.8% per",
            " month. Tenure: 12 months",
            NumberStyle::default(),
        );
        assert_eq!(cut.unwrap().to_string(), "9.6");
    }

    #[test]
    fn rates_written_in_chinese() {
        assert_eq!(rate("年利率6.5%").as_deref(), Some("6.5"));
        assert_eq!(rate("月利率1%").as_deref(), Some("12"));
        assert_eq!(rate("月利率0.8%").as_deref(), Some("9.6"));
        assert_eq!(rate("日利率0.04%").as_deref(), Some("14.6"));
        assert_eq!(rate("按月1%").as_deref(), Some("12"));
        assert_eq!(rate("年利率百分之十").as_deref(), Some("10"));
        assert_eq!(rate("月利率千分之五").as_deref(), Some("6"));
        assert_eq!(rate("日利率万分之五").as_deref(), Some("18.25"));
        assert_eq!(rate("年利率　6％").as_deref(), Some("6"));
        assert_eq!(rate("0.95% pm").as_deref(), Some("11.4"));
        assert_eq!(rate("1.5% per quarter").as_deref(), Some("6"));
        assert_eq!(rate("0,75 % per månad").as_deref(), Some("9"));
        assert_eq!(rate("0.95% pcm").as_deref(), Some("11.4"));
        assert_eq!(
            rate("six hundred fifty (650) basis points per annum").as_deref(),
            Some("6.5")
        );
        assert_eq!(
            rate("presently 9.25% p.a., plus spread of 0.75% p.a.").as_deref(),
            Some("10")
        );
        assert_eq!(rate("1,5% per kwartaal").as_deref(), Some("6"));
        assert_eq!(rate("zinslos").as_deref(), Some("0"));
        assert_eq!(rate("1,2% ao mês").as_deref(), Some("14.4"));
        assert_eq!(rate("2,49% a.m.").as_deref(), Some("29.88"));
        assert_eq!(rate("senza interessi").as_deref(), Some("0"));
    }

    #[test]
    fn bare_numbers_are_not_rates() {
        assert_eq!(rate("10 a week"), None);
        assert_eq!(rate("12,000"), None);
        assert_eq!(rate("twelve"), None);
        assert_eq!(
            parse_rate("7.5", "% APR", NumberStyle::default())
                .map(|d| d.to_string())
                .as_deref(),
            Some("7.5")
        );
    }

    #[test]
    fn basis_points_and_free() {
        assert_eq!(rate("725 basis points per annum").as_deref(), Some("7.25"));
        assert_eq!(rate("800 bps annualised").as_deref(), Some("8"));
        assert_eq!(rate("480 basis points per annum").as_deref(), Some("4.8"));
        assert_eq!(rate("interest-free").as_deref(), Some("0"));
        assert_eq!(rate("不计利息").as_deref(), Some("0"));
        assert_eq!(rate("无息").as_deref(), Some("0"));
    }

    #[test]
    fn floating_rates_need_their_base() {
        assert_eq!(
            rate("Term SOFR + 275 bps (Term SOFR currently 4.31%)").as_deref(),
            Some("7.06")
        );
        assert_eq!(
            rate("Prime minus 50 bps, with the Prime Rate currently 7.50%").as_deref(),
            Some("7")
        );
        assert_eq!(
            rate("3-month EURIBOR plus 2.5% (EURIBOR is 2.1%)").as_deref(),
            Some("4.6")
        );
        assert_eq!(rate("SOFR + 2.5%"), None);
        assert_eq!(
            rate("margin of 2.75% over compounded SONIA (currently 4.70%)").as_deref(),
            Some("7.45")
        );
        assert_eq!(
            rate("270 basis points over Bank of England base rate (base currently 4.25%)")
                .as_deref(),
            Some("6.95")
        );
        assert_eq!(
            rate("Euríbor a 12 meses + 0,89 % (Euríbor vigente: 2,478 %)").as_deref(),
            Some("3.368")
        );
        assert_eq!(
            rate("STIBOR 90 dagar + 325 räntepunkter (baspunkter); STIBOR 90 dagar as fixed on the signing date was 2,41 %").as_deref(),
            Some("5.66")
        );
        assert_eq!(
            rate("Compounded SONIA (currently 4.21 per cent) plus a margin of 650 basis points")
                .as_deref(),
            Some("10.71")
        );
        let base_after = parse_rate(
            "Term SOFR + 275 bps",
            " (Term SOFR currently 4.31%)\nFee: 1%",
            NumberStyle::default(),
        );
        assert_eq!(base_after.unwrap().to_string(), "7.06");
        let no_base = parse_rate(
            "SOFR plus 3.00%",
            " per annum, reset daily. After default 2%",
            NumberStyle::default(),
        );
        assert_eq!(no_base, None);
    }
}
