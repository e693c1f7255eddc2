//! The pieces of generated texts: amounts, rates, terms, risk facts, distractors and genres.

use chrono::{Datelike, Months, NaiveDate};
use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{Doc, Truth, pick, to_words};
use crate::extract::Entity;
use crate::extract::risk::RiskFacts;

struct Cur {
    code: &'static str,
    symbol: Option<&'static str>,
    words: &'static [&'static str],
    token: bool,
}

const CURRENCIES: &[Cur] = &[
    Cur {
        code: "USD",
        symbol: Some("$"),
        words: &["US dollars", "dollars", "U.S. dollars"],
        token: false,
    },
    Cur {
        code: "USD",
        symbol: Some("$"),
        words: &["dollars"],
        token: false,
    },
    Cur {
        code: "EUR",
        symbol: Some("€"),
        words: &["euros", "euro"],
        token: false,
    },
    Cur {
        code: "GBP",
        symbol: Some("£"),
        words: &["pounds", "pounds sterling"],
        token: false,
    },
    Cur {
        code: "CHF",
        symbol: None,
        words: &["Swiss francs"],
        token: false,
    },
    Cur {
        code: "JPY",
        symbol: Some("¥"),
        words: &["yen"],
        token: false,
    },
    Cur {
        code: "INR",
        symbol: Some("₹"),
        words: &["rupees"],
        token: false,
    },
    Cur {
        code: "CAD",
        symbol: None,
        words: &["Canadian dollars"],
        token: false,
    },
    Cur {
        code: "AUD",
        symbol: None,
        words: &["Australian dollars"],
        token: false,
    },
    Cur {
        code: "USDC",
        symbol: None,
        words: &[],
        token: true,
    },
    Cur {
        code: "USDT",
        symbol: None,
        words: &[],
        token: true,
    },
    Cur {
        code: "DAI",
        symbol: None,
        words: &[],
        token: true,
    },
    Cur {
        code: "ETH",
        symbol: None,
        words: &[],
        token: true,
    },
    Cur {
        code: "WETH",
        symbol: None,
        words: &[],
        token: true,
    },
    Cur {
        code: "WBTC",
        symbol: None,
        words: &[],
        token: true,
    },
];

const LENDERS: &[&str] = &[
    "Harbor Street Lending LLC",
    "Northgate Credit Union",
    "Meridian Commercial Bank",
    "Sparkasse Rheinau",
    "Crestview Consumer Finance, Inc.",
    "Banque Rhodanienne",
    "Summit Auto Credit",
    "Atlas Capital Partners",
    "Bluewater Savings Bank",
    "Kestrel Private Credit Fund II",
    "First Prairie Bank",
    "Oakmont Finance Ltd",
];
const BORROWERS: &[&str] = &[
    "Maria Okafor",
    "Daniel Reyes",
    "Nordwerk Maschinenbau GmbH",
    "Paul Whitfield",
    "Larkspur Cold Storage LLC",
    "Bright Path Dental Group PLLC",
    "Hollis Farm Supply",
    "Tom Fenwick",
    "Aiko Tanaka",
    "Rahul Mehta",
    "Greenline Logistics SAS",
    "Juniper Bakery Co.",
    "Sofia Marquez",
    "Ostrander Holdings Ltd",
];
const ASSETS: &[&str] = &[
    "the property at 14 Alder Lane",
    "a CNC milling centre",
    "the warehouse at 9 Dock Road",
    "the 2023 Ford F-250",
    "the fishing vessel Marigold",
    "320 acres of farmland",
    "the apartment at 8 Rue des Tanneurs",
    "a fleet of delivery vans",
    "the borrower's equity portfolio",
    "inventory and receivables",
];
const TOKENS_AS_COLLATERAL: &[&str] = &["ETH", "WBTC", "stETH", "wstETH", "cbBTC"];

/// A generated loan text and its truth.
pub(super) fn loan(rng: &mut impl Rng) -> (Doc, Truth) {
    let cur = &CURRENCIES[rng.random_range(0..CURRENCIES.len())];
    let defi = cur.token;
    let eu = !defi && matches!(cur.code, "EUR" | "CHF") && rng.random_bool(0.7);
    let mut truth = Truth {
        currency: Some(cur.code),
        ..Default::default()
    };
    let amount = sample_amount(rng, cur);
    truth.amount = Some(amount);

    // Pieces are rendered into small docs first so each genre can order them freely.
    let drop = rng.random_range(0..10);
    let mut parts = Parts {
        amount: (drop != 0).then(|| amount_piece(rng, cur, amount, eu)),
        rate: None,
        term: None,
        facts: Vec::new(),
        distractors: Vec::new(),
    };
    if parts.amount.is_none() {
        truth.amount = None;
        truth.currency = None;
    }
    let (apr, rate_doc) = rate_piece(rng, eu, drop == 1);
    truth.apr_percent = apr;
    parts.rate = rate_doc;
    let (days, term_doc) = term_piece(rng, eu, drop == 2);
    truth.term_days = days;
    parts.term = term_doc;
    truth.facts = facts_pieces(rng, cur, amount, eu, &mut parts.facts);
    for _ in 0..rng.random_range(0..4) {
        parts
            .distractors
            .push(distractor(rng, cur, amount, apr, eu));
    }

    let doc = match (defi, rng.random_range(0..10)) {
        (true, 0..=4) => chat(rng, parts),
        (true, _) => dao(rng, parts),
        (false, 0 | 1) => agreement(rng, parts),
        (false, 2) => term_sheet(rng, parts),
        (false, 3) => email(rng, parts),
        (false, 4) => officer_notes(rng, parts),
        (false, 5) => offer_letter(rng, parts),
        (false, 6) => notice(rng, parts),
        (false, 7) => note_between_people(rng, parts),
        (false, 8) => facility_letter(rng, parts),
        (false, _) => chat(rng, parts),
    };
    (doc, truth)
}

struct Parts {
    amount: Option<Doc>,
    rate: Option<Doc>,
    term: Option<Doc>,
    facts: Vec<Doc>,
    distractors: Vec<Doc>,
}

/// Writes an optional part (the amount, rate or term, where the text states it) after one of
/// `prefixes`, then `suffix`.
fn optional_part(
    d: &mut Doc,
    rng: &mut impl Rng,
    part: &Option<Doc>,
    prefixes: &[&str],
    suffix: &str,
) {
    if let Some(part) = part {
        d.say(pick(rng, prefixes));
        append(d, part);
        d.say(suffix);
    }
}

/// Appends a piece rendered on its own, shifting its spans.
fn append(doc: &mut Doc, piece: &Doc) {
    let offset = doc.text.len();
    doc.text.push_str(&piece.text);
    doc.spans
        .extend(piece.spans.iter().map(|s| super::LabelSpan {
            start: s.start + offset,
            end: s.end + offset,
            ..*s
        }));
}

fn sample_amount(rng: &mut impl Rng, cur: &Cur) -> Decimal {
    let (lo, hi) = match cur.code {
        "ETH" | "WETH" => (0.5f64, 800.0f64),
        "WBTC" => (0.1, 40.0),
        "JPY" => (100_000.0, 500_000_000.0),
        "INR" => (10_000.0, 50_000_000.0),
        _ if cur.token => (500.0, 5_000_000.0),
        _ => (500.0, 80_000_000.0),
    };
    let raw = (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp();
    let digits = raw.log10().floor() as i32;
    let keep = rng.random_range(1..=3);
    let unit = 10f64.powi((digits - keep + 1).max(if cur.token && lo < 1.0 { -1 } else { 0 }));
    let mut value = Decimal::from_f64_retain((raw / unit).round() * unit)
        .unwrap_or(Decimal::ONE_HUNDRED)
        .round_dp(2);
    if !cur.token && cur.code != "JPY" && rng.random_bool(0.05) {
        value += Decimal::new(rng.random_range(1..100), 2);
    }
    value.normalize()
}

fn group(int: &str, sep: &str, indian: bool) -> String {
    let digits: Vec<char> = int.chars().collect();
    let mut out = String::new();
    let n = digits.len();
    for (i, c) in digits.iter().enumerate() {
        let left = n - i;
        let boundary = if indian {
            left > 3 && (left - 3).is_multiple_of(2) || left == 3 && n > 3
        } else {
            left.is_multiple_of(3)
        };
        if i > 0 && boundary {
            out.push_str(sep);
        }
        out.push(*c);
    }
    out
}

/// A number as people write it: grouped, European, spaced, with a scale word, or in words.
fn fmt_number(
    rng: &mut impl Rng,
    value: Decimal,
    eu: bool,
    indian: bool,
    allow_words: bool,
) -> String {
    let int = value.trunc().to_u64().unwrap_or(0);
    let frac = (value.fract() * Decimal::ONE_HUNDRED)
        .round()
        .to_u64()
        .unwrap_or(0);
    let has_frac = !value.fract().is_zero();
    let fine_frac = has_frac && (value.fract() * Decimal::ONE_HUNDRED).fract().is_zero();
    let choice = rng.random_range(0..10);
    if allow_words
        && !has_frac
        && int >= 1000
        && int.is_multiple_of(1000)
        && int <= 10_000_000
        && choice == 0
    {
        return to_words(int, rng.random_bool(0.5));
    }
    if !has_frac && int >= 1_000_000 && int.is_multiple_of(10_000) && choice <= 2 {
        let m = Decimal::from(int) / Decimal::from(1_000_000);
        let m = m.normalize().to_string();
        return match rng.random_range(0..4) {
            0 => format!("{m}M"),
            1 => format!("{m}mm"),
            _ => format!("{m} million"),
        };
    }
    if !has_frac && (1_000..1_000_000).contains(&int) && int.is_multiple_of(1000) && choice == 3 {
        return format!("{}k", int / 1000);
    }
    if has_frac && !fine_frac {
        return value.normalize().to_string();
    }
    let (thousands, decimal) = if eu { (".", ",") } else { (",", ".") };
    let spaced = !eu && !indian && choice == 4;
    let grouped = if spaced {
        group(&int.to_string(), " ", false)
    } else if choice == 5 && int < 100_000 {
        int.to_string()
    } else {
        group(&int.to_string(), thousands, indian)
    };
    if has_frac || (int >= 100 && rng.random_bool(if eu { 0.6 } else { 0.15 })) {
        format!("{grouped}{decimal}{frac:02}")
    } else {
        grouped
    }
}

fn amount_piece(rng: &mut impl Rng, cur: &Cur, amount: Decimal, eu: bool) -> Doc {
    let mut d = Doc::default();
    let indian = cur.code == "INR" && rng.random_bool(0.5);
    let number = fmt_number(rng, amount, eu, indian, !cur.token);
    let is_words = number.chars().any(|c| c.is_ascii_alphabetic())
        && !number.contains('M')
        && !number.contains("million")
        && !number.contains("mm")
        && !number.ends_with('k');
    let style = rng.random_range(0..6);
    if cur.token {
        if style < 4 {
            d.tag(Entity::Amount, &number);
            d.say(" ");
            d.tag(Entity::Currency, cur.code);
        } else {
            d.tag(Entity::Currency, cur.code);
            d.say(" ");
            d.tag(Entity::Amount, &number);
        }
        return d;
    }
    match (style, cur.symbol, is_words) {
        (_, _, true) if !cur.words.is_empty() => {
            d.tag(Entity::Amount, &number);
            d.say(" ");
            d.tag(Entity::Currency, pick(rng, cur.words));
            if rng.random_bool(0.5) {
                let digits = fmt_number(rng, amount, eu, false, false);
                d.say(&format!(
                    " ({}{})",
                    cur.symbol.unwrap_or(cur.code),
                    if cur.symbol.is_some() {
                        digits
                    } else {
                        format!(" {digits}")
                    }
                ));
            }
        }
        (0 | 1, Some(sym), _) => {
            d.tag(Entity::Currency, sym);
            d.tag(Entity::Amount, &number);
        }
        (2, _, _) if !cur.words.is_empty() => {
            d.tag(Entity::Amount, &number);
            d.say(" ");
            d.tag(Entity::Currency, pick(rng, cur.words));
        }
        (3, _, _) => {
            d.tag(Entity::Amount, &number);
            d.say(" ");
            d.tag(Entity::Currency, cur.code);
        }
        (4, _, false)
            if amount.fract().is_zero()
                && amount >= Decimal::from(1000)
                && amount <= Decimal::from(10_000_000)
                && !cur.words.is_empty() =>
        {
            d.tag(Entity::Currency, cur.code);
            d.say(" ");
            d.tag(Entity::Amount, &number);
            let words = to_words(amount.to_u64().unwrap_or(0), rng.random_bool(0.5));
            d.say(&format!(" ({words} {})", pick(rng, cur.words)));
        }
        _ => {
            d.tag(Entity::Currency, cur.code);
            d.say(" ");
            d.tag(Entity::Amount, &number);
        }
    }
    d
}

fn pct(value: Decimal, eu: bool, rng: &mut impl Rng) -> String {
    let s = value.normalize().to_string();
    let s = if eu { s.replace('.', ",") } else { s };
    match rng.random_range(0..6) {
        0 => format!("{s} percent"),
        1 if eu => format!("{s} %"),
        1 => format!("{s} per cent"),
        _ if eu => format!("{s} %"),
        _ => format!("{s}%"),
    }
}

fn nice(rng: &mut impl Rng, lo: i64, hi: i64, scale: u32, steps: &[i64]) -> Decimal {
    let step = pick(rng, steps);
    let n = rng.random_range(lo / step..=hi / step) * step;
    Decimal::new(n, scale).normalize()
}

/// The rate phrase (tagged as a whole, period included) and the annual rate it states.
fn rate_piece(rng: &mut impl Rng, eu: bool, absent: bool) -> (Option<Decimal>, Option<Doc>) {
    let mut d = Doc::default();
    if absent {
        let mut d = Doc::default();
        let floating = rng.random_bool(0.5);
        if floating {
            // A floating rate without its base value: tagged as the rate phrase it is, but it
            // gives no number (the normaliser returns none), so the rate is absent.
            let base = pick(
                rng,
                &[
                    "SOFR",
                    "Term SOFR",
                    "Daily Simple SOFR",
                    "EURIBOR",
                    "the Prime Rate",
                    "SONIA",
                ],
            );
            let margin = nice(rng, 100, 450, 2, &[25, 5]);
            let sign = pick(rng, &["+", "plus"]);
            d.say("interest at ");
            d.tag(
                Entity::Rate,
                &format!("{base} {sign} {}", pct(margin, eu, rng)),
            );
            d.say(pick(rng, &[" per annum, reset daily", "", " per annum"]));
        } else {
            d.say(pick(
                rng,
                &[
                    "an interest rate to be set by the credit committee at approval",
                    "interest at a rate to be agreed",
                    "a rate that will be confirmed in the facility letter",
                ],
            ));
        }
        return (None, Some(d));
    }
    let annual_words = [
        "per annum",
        "p.a.",
        "per year",
        "a year",
        "APR",
        "annually",
        "fixed",
        "per annum, fixed",
    ];
    let kind = rng.random_range(0..20);
    let apr = match kind {
        0..=7 => {
            let r = nice(rng, 100, 2600, 2, &[5, 25, 10, 125]);
            let annual = if eu {
                pick(rng, &["per annum", "p.a.", "per year", "jährlich p.a."])
            } else {
                pick(rng, &annual_words)
            };
            d.tag(Entity::Rate, &format!("{} {annual}", pct(r, eu, rng)));
            r
        }
        8 => {
            let whole = rng.random_range(2..20u64);
            let half = rng.random_bool(0.5);
            let r = Decimal::from(whole)
                + if half {
                    Decimal::new(5, 1)
                } else {
                    Decimal::ZERO
                };
            let words = if half {
                format!(
                    "{} and {} per cent per annum",
                    to_words(whole, false),
                    pick(rng, &["one-half", "a half"])
                )
            } else {
                format!("{} percent ({whole}%) per annum", to_words(whole, false))
            };
            d.tag(Entity::Rate, &words);
            r
        }
        9 => {
            let whole = rng.random_range(3..15u64);
            let (frac, text) = pick(
                rng,
                &[
                    (Decimal::new(5, 1), "1/2"),
                    (Decimal::new(25, 2), "1/4"),
                    (Decimal::new(75, 2), "3/4"),
                ],
            );
            d.tag(Entity::Rate, &format!("{whole} {text}% per annum"));
            Decimal::from(whole) + frac
        }
        10 | 11 => {
            let bps = rng.random_range(10..200) * 5;
            let unit = pick(
                rng,
                &[
                    "basis points per annum",
                    "bps annualised",
                    "bps p.a.",
                    "bps",
                ],
            );
            d.tag(Entity::Rate, &format!("{bps} {unit}"));
            Decimal::new(bps, 2).normalize()
        }
        12..=14 => {
            let m = nice(rng, 20, 300, 2, &[5, 10, 25]);
            let period = pick(
                rng,
                &["per month", "a month", "monthly", "per calendar month"],
            );
            d.tag(Entity::Rate, &format!("{} {period}", pct(m, eu, rng)));
            (m * Decimal::from(12)).normalize()
        }
        15 => {
            let w = nice(rng, 10, 150, 2, &[5, 25]);
            d.tag(
                Entity::Rate,
                &format!(
                    "{} {}",
                    pct(w, eu, rng),
                    pick(rng, &["a week", "per week", "weekly"])
                ),
            );
            (w * Decimal::from(52)).normalize()
        }
        16 => {
            let day = nice(rng, 1, 20, 2, &[1]);
            d.tag(Entity::Rate, &format!("{} per day", pct(day, eu, rng)));
            (day * Decimal::from(365)).normalize()
        }
        17 | 18 => {
            let (name, base) = pick(
                rng,
                &[
                    ("Term SOFR", 0),
                    ("SOFR", 0),
                    ("3-month EURIBOR", 1),
                    ("Prime", 2),
                    ("SONIA", 3),
                ],
            );
            let base_value = match base {
                0 => nice(rng, 380, 540, 2, &[1]),
                1 => nice(rng, 190, 400, 2, &[1]),
                2 => nice(rng, 650, 850, 2, &[25]),
                _ => nice(rng, 400, 520, 2, &[1]),
            };
            let minus = base == 2 && rng.random_bool(0.3);
            let bps = rng.random_range(2..90) * 5;
            let margin_text = if rng.random_bool(0.5) {
                format!("{bps} bps")
            } else {
                pct(Decimal::new(bps, 2).normalize(), eu, rng)
            };
            let sign = if minus {
                "minus"
            } else {
                pick(rng, &["+", "plus"])
            };
            let base_text = pct(base_value, eu, rng);
            let phrase = match rng.random_range(0..2) {
                0 => format!("{name} {sign} {margin_text} ({name} currently {base_text})"),
                _ => format!("{name} {sign} {margin_text}, with {name} currently at {base_text}"),
            };
            d.tag(Entity::Rate, &phrase);
            let margin = Decimal::new(bps, 2);
            (if minus {
                base_value - margin
            } else {
                base_value + margin
            })
            .normalize()
        }
        _ => {
            d.tag(
                Entity::Rate,
                pick(rng, &["interest-free", "interest free", "no interest"]),
            );
            Decimal::ZERO
        }
    };
    (Some(apr), Some(d))
}

fn fmt_date(rng: &mut impl Rng, date: NaiveDate, eu: bool) -> String {
    let month = date.format("%B").to_string();
    match rng.random_range(0..5) {
        0 => date.format("%Y-%m-%d").to_string(),
        1 if eu => date.format("%d.%m.%Y").to_string(),
        1 | 2 if !eu => format!("{month} {}, {}", date.day(), date.year()),
        _ => format!("{} {month} {}", date.day(), date.year()),
    }
}

/// The term phrase and its days: a tenor (`36 months`) or a start and maturity date.
fn term_piece(rng: &mut impl Rng, eu: bool, absent: bool) -> (Option<u32>, Option<Doc>) {
    let mut d = Doc::default();
    if absent {
        d.say(pick(
            rng,
            &[
                "The repayment schedule and final maturity are still being negotiated",
                "Tenor: to be agreed",
            ],
        ));
        return (None, Some(d));
    }
    if rng.random_bool(0.2) {
        let start = NaiveDate::from_ymd_opt(
            rng.random_range(2023..2028),
            rng.random_range(1..13),
            rng.random_range(1..29),
        )
        .unwrap_or_default();
        let months = pick(rng, &[3u32, 6, 9, 12, 18, 24, 36, 48, 60, 84, 120]);
        let end = start
            .checked_add_months(Months::new(months))
            .unwrap_or(start)
            - chrono::Days::new(rng.random_range(0..3));
        let (a, b) = (fmt_date(rng, start, eu), fmt_date(rng, end, eu));
        let joiner = pick(
            rng,
            &[
                " and is repayable in full on ",
                " and repaid in full by ",
                "\nMaturity Date: ",
                ", with final maturity on ",
                " until ",
            ],
        );
        d.say(pick(
            rng,
            &[
                "disbursed on ",
                "drawn on ",
                "Closing Date: ",
                "advanced on ",
            ],
        ));
        d.tag(Entity::StartDate, &a);
        d.say(joiner);
        d.tag(Entity::MaturityDate, &b);
        return (u32::try_from((end - start).num_days()).ok(), Some(d));
    }
    let (unit, factor, range) = pick(
        rng,
        &[
            ("year", 365u32, (1u32, 30u32)),
            ("year", 365, (1, 10)),
            ("month", 30, (1, 120)),
            ("month", 30, (3, 60)),
            ("day", 1, (7, 365)),
            ("week", 7, (1, 26)),
            ("quarter", 90, (1, 12)),
        ],
    );
    let n = rng.random_range(range.0..=range.1);
    let plural = if n == 1 {
        unit.to_owned()
    } else {
        format!("{unit}s")
    };
    let words = to_words(u64::from(n), false);
    let phrase = match rng.random_range(0..6) {
        0 => format!("{words} ({n}) {plural}"),
        1 if n <= 20 => format!("{words} {plural}"),
        2 if unit == "year" => format!("{n}-year"),
        _ => format!("{n} {plural}"),
    };
    d.tag(Entity::Term, &phrase);
    (Some(n * factor), Some(d))
}

/// Risk facts as sentences; returns the facts the text states.
fn facts_pieces(
    rng: &mut impl Rng,
    cur: &Cur,
    amount: Decimal,
    eu: bool,
    out: &mut Vec<Doc>,
) -> RiskFacts {
    let mut facts = RiskFacts::default();
    let secured_kind = rng.random_range(0..10);
    if secured_kind < 6 {
        facts.secured = Some(true);
        let mut d = Doc::default();
        let asset = if cur.token {
            (pick(rng, TOKENS_AS_COLLATERAL)).to_owned()
        } else {
            (pick(rng, ASSETS)).to_owned()
        };
        match rng.random_range(0..4) {
            0 => {
                d.say("The loan is ");
                d.tag(Entity::Secured, "secured by");
                d.say(&format!(" a first-ranking charge over {asset}."));
            }
            1 => {
                d.say(&format!("The borrower will post {asset} "));
                d.tag(Entity::Secured, "as collateral");
                d.say(".");
            }
            2 => {
                d.tag(Entity::Secured, "Security");
                d.say(&format!(": first-lien pledge over {asset}."));
            }
            _ => {
                d.say(&format!("{asset} is pledged to the lender "));
                d.tag(Entity::Secured, "as security");
                d.say(".");
            }
        }
        // What the collateral is worth, if said.
        match rng.random_range(0..5) {
            0 => {
                let ratio = Decimal::from(rng.random_range(20..400) * 5) / Decimal::from(10);
                let value = (amount * Decimal::ONE_HUNDRED / ratio).round_dp(0);
                if !value.is_zero() {
                    facts.collateral_value = Some(value);
                    d.say(&format!(
                        " The collateral has been {} at ",
                        pick(rng, &["valued", "appraised"])
                    ));
                    let sym = cur.symbol.unwrap_or(cur.code);
                    d.say(if cur.symbol.is_some() { sym } else { "" });
                    if cur.symbol.is_none() {
                        d.say(&format!("{sym} "));
                    }
                    d.tag(
                        Entity::CollateralValue,
                        &fmt_number(rng, value, eu, false, false),
                    );
                    d.say(".");
                }
            }
            1 => {
                let ltv = Decimal::from(rng.random_range(6..40) * 5) / Decimal::from(2);
                facts.ltv_percent = Some(ltv.normalize());
                d.say(" Loan-to-value: ");
                d.tag(Entity::Ltv, &pct(ltv.normalize(), eu, rng));
                d.say(".");
            }
            2 => {
                let ratio = Decimal::from(rng.random_range(20..60) * 5);
                facts.collateral_ratio_percent = Some(ratio);
                d.say(" That is about ");
                d.tag(Entity::CollateralRatio, &format!("{ratio}%"));
                d.say(pick(
                    rng,
                    &[
                        " collateral",
                        " of the loan value",
                        " collateralisation",
                        " collateralized",
                    ],
                ));
                d.say(".");
            }
            _ => {}
        }
        out.push(d);
    } else if secured_kind < 8 {
        facts.secured = Some(false);
        let mut d = Doc::default();
        if rng.random_bool(0.5) {
            d.say("This is an ");
            d.tag(Entity::Unsecured, "unsecured");
            d.say(" loan.");
        } else {
            d.tag(Entity::Unsecured, "No collateral");
            d.say(" is taken for this loan.");
        }
        out.push(d);
    }
    if rng.random_bool(0.25) {
        let score = rng.random_range(540..830u32);
        facts.credit_score = Some(score);
        let mut d = Doc::default();
        d.say(pick(
            rng,
            &[
                "Credit score (FICO): ",
                "The borrower's credit score is ",
                "Bureau score: ",
            ],
        ));
        d.tag(Entity::CreditScore, &score.to_string());
        d.say(".");
        out.push(d);
    }
    if rng.random_bool(0.2) {
        let mut d = Doc::default();
        let (text, adverse) = pick(
            rng,
            &[
                ("a Chapter 7 bankruptcy discharge in 2019", true),
                ("a foreclosure on a previous home in 2018", true),
                ("one account 60 days past due in 2023", true),
                ("ninety days behind on a van finance agreement", true),
                ("a charged-off credit card in 2021", true),
                ("a default on a business loan in 2020", true),
                ("one payment 30 days late in 2022", false),
                ("a payment 15 days late last year", false),
            ],
        );
        facts.adverse_history |= adverse;
        d.say(pick(
            rng,
            &[
                "The borrower disclosed ",
                "Bureau report shows ",
                "Note: the applicant had ",
            ],
        ));
        d.tag(Entity::Adverse, text);
        d.say(".");
        out.push(d);
    }
    facts
}

fn distractor(
    rng: &mut impl Rng,
    cur: &Cur,
    amount: Decimal,
    apr: Option<Decimal>,
    eu: bool,
) -> Doc {
    let mut d = Doc::default();
    let sym = cur.symbol.map_or(format!("{} ", cur.code), str::to_owned);
    let small = |rng: &mut dyn rand::RngCore| Decimal::from(rng.random_range(2..200) * 5);
    match rng.random_range(0..8) {
        0 => {
            let default_rate =
                apr.unwrap_or(Decimal::from(8)) + Decimal::from(rng.random_range(2..8));
            d.say(&format!("Upon an Event of Default the outstanding balance bears interest at a default rate of {} per annum.", pct(default_rate.normalize(), eu, rng)));
        }
        1 => d.say(&format!(
            "A late fee of {sym}{} applies to any payment more than {} days overdue.",
            small(rng),
            rng.random_range(5..16)
        )),
        2 => d.say(&format!(
            "An origination fee of {} of the principal is payable at closing.",
            pct(
                Decimal::new(rng.random_range(5..30), 1).normalize(),
                eu,
                rng
            )
        )),
        3 => {
            let instalment = (amount / Decimal::from(rng.random_range(12..60))).round_dp(2);
            d.say(&format!(
                "Monthly instalments of {sym}{} are due on the first day of each month.",
                fmt_number(rng, instalment, eu, false, false)
            ));
        }
        4 => d.say(&format!(
            "See Section {}.{} for covenants. Notices must be given within {} business days.",
            rng.random_range(2..12),
            rng.random_range(1..9),
            rng.random_range(5..30)
        )),
        5 => d.say(&format!(
            "A prepayment premium of {} applies in the first year.",
            pct(Decimal::from(rng.random_range(1..4)), eu, rng)
        )),
        6 => d.say(&format!(
            "This offer remains valid for {} days.",
            rng.random_range(10..60)
        )),
        _ => d.say(&format!(
            "Interest is payable {}.",
            pick(rng, &["monthly in arrears", "quarterly", "at maturity"])
        )),
    }
    d
}

fn shuffle_facts(rng: &mut impl Rng, doc: &mut Doc, parts: &mut Parts) {
    for piece in parts
        .facts
        .drain(..)
        .chain(parts.distractors.drain(..))
        .collect::<Vec<_>>()
        .into_iter()
    {
        doc.say(if rng.random_bool(0.8) { " " } else { "\n" });
        append(doc, &piece);
    }
}

fn agreement(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "{} This agreement is made between {} (the \"Lender\") and {} (the \"Borrower\"). ",
        pick(
            rng,
            &[
                "LOAN AGREEMENT.",
                "TERM LOAN AGREEMENT",
                "PROMISSORY NOTE.",
                "FACILITY AGREEMENT"
            ]
        ),
        pick(rng, LENDERS),
        pick(rng, BORROWERS)
    ));
    optional_part(
        &mut d,
        rng,
        &parts.amount,
        &[
            "The Lender agrees to lend the Borrower the principal sum of ",
            "1. The Lender grants the Borrower a loan of ",
            "For value received, the Borrower promises to pay the principal amount of ",
        ],
        ". ",
    );
    optional_part(
        &mut d,
        rng,
        &parts.rate,
        &[
            "Interest accrues on the outstanding principal at ",
            "The loan bears interest at ",
            "2. Interest: ",
        ],
        ". ",
    );
    optional_part(
        &mut d,
        rng,
        &parts.term,
        &[
            "The loan shall be repaid over a term of ",
            "The loan is ",
            "Term: ",
        ],
        ".",
    );
    shuffle_facts(rng, &mut d, &mut parts);
    d
}

fn term_sheet(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "{}\nBorrower: {}\nLender: {}\n",
        pick(
            rng,
            &[
                "Indicative Term Sheet – Senior Term Loan",
                "SUMMARY OF TERMS",
                "Indicative Terms – Equipment Loan"
            ]
        ),
        pick(rng, BORROWERS),
        pick(rng, LENDERS)
    ));
    optional_part(
        &mut d,
        rng,
        &parts.amount,
        &[
            "Facility Amount: ",
            "Loan Amount: ",
            "Principal: ",
            "Commitment: ",
        ],
        "\n",
    );
    optional_part(
        &mut d,
        rng,
        &parts.rate,
        &["Interest Rate: ", "Margin and Rate: ", "Coupon: "],
        "\n",
    );
    optional_part(
        &mut d,
        rng,
        &parts.term,
        &["Tenor: ", "Term: ", "Maturity: "],
        "\n",
    );
    for piece in parts.facts.drain(..).chain(parts.distractors.drain(..)) {
        append(&mut d, &piece);
        d.say("\n");
    }
    d.say(pick(
        rng,
        &[
            "Governing Law: New York",
            "Governing Law: England and Wales",
            "Conditions precedent: customary",
        ],
    ));
    d
}

fn email(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "Subject: {}\n\nHello {},\n\n",
        pick(
            rng,
            &[
                "Loan request",
                "Financing for the new equipment",
                "Re: refinance"
            ]
        ),
        pick(rng, &["Ms. Grant", "Mark", "team", "Mr. Alvarez"])
    ));
    if let Some(amount) = &parts.amount {
        d.say(pick(
            rng,
            &[
                "I'd like to borrow ",
                "We are looking to raise a loan of ",
                "Could you lend us ",
            ],
        ));
        append(&mut d, amount);
    } else {
        d.say("The final loan amount won't be set until the appraisal comes back");
    }
    optional_part(
        &mut d,
        rng,
        &parts.term,
        &[" for ", ", to be repaid over ", " with the money "],
        "",
    );
    d.say(". ");
    optional_part(
        &mut d,
        rng,
        &parts.rate,
        &[
            "You quoted ",
            "The bank has offered ",
            "We'd be happy with ",
        ],
        ". ",
    );
    shuffle_facts(rng, &mut d, &mut parts);
    d.say(&format!("\n\nRegards,\n{}", pick(rng, BORROWERS)));
    d
}

fn officer_notes(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "Loan officer notes – member #{}. Request: ",
        rng.random_range(10_000..99_999)
    ));
    if let Some(amount) = &parts.amount {
        append(&mut d, amount);
        d.say(&format!(
            " {} loan",
            pick(rng, &["personal", "auto", "home improvement", "business"])
        ));
    }
    if let Some(term) = &parts.term {
        d.say(", ");
        append(&mut d, term);
    }
    if let Some(rate) = &parts.rate {
        d.say(", ");
        append(&mut d, rate);
    }
    d.say(".");
    shuffle_facts(rng, &mut d, &mut parts);
    d
}

fn offer_letter(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "Dear {},\n\nWe are pleased to offer you a {} loan",
        pick(rng, BORROWERS),
        pick(rng, &["mortgage", "business", "car", "bridging"])
    ));
    if let Some(amount) = &parts.amount {
        d.say(" of ");
        append(&mut d, amount);
    }
    d.say(". ");
    if let Some(rate) = &parts.rate {
        d.say("It carries a rate of ");
        append(&mut d, rate);
    }
    if let Some(term) = &parts.term {
        d.say(" for its full term of ");
        append(&mut d, term);
    }
    d.say(".");
    shuffle_facts(rng, &mut d, &mut parts);
    d.say(&format!("\n\nYours sincerely,\n{}", pick(rng, LENDERS)));
    d
}

fn chat(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(pick(
        rng,
        &[
            "gm all. ",
            "hey frens, ",
            "Hey Sam, ",
            "anyone lending this week? ",
        ],
    ));
    optional_part(
        &mut d,
        rng,
        &parts.amount,
        &["looking to borrow ", "I need to borrow ", "could I borrow "],
        "",
    );
    if let Some(term) = &parts.term {
        d.say(" for ");
        append(&mut d, term);
    }
    d.say(". ");
    optional_part(
        &mut d,
        rng,
        &parts.rate,
        &["happy to pay ", "I'll pay ", "can do "],
        ". ",
    );
    shuffle_facts(rng, &mut d, &mut parts);
    d.say(pick(
        rng,
        &[" DM me if interested", " reply here", " thanks!", ""],
    ));
    d
}

fn dao(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "[Proposal] Treasury loan to {}\n\nSummary: ",
        pick(
            rng,
            &[
                "Ondo Labs",
                "a market maker",
                "the Gearbox team",
                "Kinetic Finance"
            ]
        )
    ));
    if let Some(amount) = &parts.amount {
        d.say("the DAO lends ");
        append(&mut d, amount);
        d.say(" from the treasury");
    }
    if let Some(term) = &parts.term {
        d.say(" for ");
        append(&mut d, term);
    }
    if let Some(rate) = &parts.rate {
        d.say(" at ");
        append(&mut d, rate);
    }
    d.say(".");
    shuffle_facts(rng, &mut d, &mut parts);
    d.say("\n\nVote: For / Against / Abstain");
    d
}

fn notice(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "Dear Customer, your {} A/c XX{} has been disbursed. ",
        pick(
            rng,
            &["Gold Loan", "Personal Loan", "Two-Wheeler Loan", "Loan"]
        ),
        rng.random_range(1000..9999)
    ));
    if let Some(amount) = &parts.amount {
        d.say("Loan amount: ");
        append(&mut d, amount);
        d.say(". ");
    }
    let mut facts = std::mem::take(&mut parts.facts);
    for piece in facts.drain(..) {
        append(&mut d, &piece);
        d.say(" ");
    }
    if let Some(rate) = &parts.rate {
        d.say("Interest: ");
        append(&mut d, rate);
        d.say(". ");
    }
    optional_part(
        &mut d,
        rng,
        &parts.term,
        &["Tenure: ", "Term: ", "Repayment period: "],
        ". ",
    );
    shuffle_facts(rng, &mut d, &mut parts);
    d.say(&format!(" - {}", pick(rng, LENDERS)));
    d
}

fn note_between_people(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!(
        "PROMISSORY NOTE. For value received, I, {}, promise to pay {}",
        pick(rng, BORROWERS),
        pick(
            rng,
            &[
                "my sister, Lucía",
                "my friend Omar",
                "my uncle",
                "Ms. Priya Nair"
            ]
        )
    ));
    if let Some(amount) = &parts.amount {
        d.say(" the sum of ");
        append(&mut d, amount);
    }
    d.say(", which was lent to me today. ");
    if let Some(rate) = &parts.rate {
        d.say("The loan carries interest at ");
        append(&mut d, rate);
        d.say(". ");
    }
    if let Some(term) = &parts.term {
        d.say("I will repay the full amount no later than ");
        append(&mut d, term);
        d.say(" after the date of this note.");
    }
    shuffle_facts(rng, &mut d, &mut parts);
    let signed = NaiveDate::from_ymd_opt(2025, rng.random_range(1..13), rng.random_range(1..29))
        .unwrap_or_default();
    let signed = fmt_date(rng, signed, false);
    d.say(&format!(" Signed on {signed}."));
    d
}

fn facility_letter(rng: &mut impl Rng, mut parts: Parts) -> Doc {
    let mut d = Doc::default();
    d.say(&format!("THIS FACILITY LETTER records that {} (the \"Lender\") agrees to lend to {} (the \"Borrower\")", pick(rng, LENDERS), pick(rng, BORROWERS)));
    optional_part(
        &mut d,
        rng,
        &parts.amount,
        &[
            " the sum of ",
            " a term loan in the principal amount of ",
            " up to ",
        ],
        "",
    );
    d.say(". ");
    let mut facts = std::mem::take(&mut parts.facts);
    for piece in facts.drain(..) {
        append(&mut d, &piece);
        d.say(" ");
    }
    optional_part(
        &mut d,
        rng,
        &parts.rate,
        &[
            "Interest shall accrue at ",
            "The loan shall bear interest at ",
            "Rate: ",
        ],
        ", ",
    );
    if let Some(term) = &parts.term {
        d.say(pick(
            rng,
            &[
                "and the whole sum shall be repaid at the end of ",
                "and the loan shall mature ",
                "with a term of ",
            ],
        ));
        append(&mut d, term);
        d.say(pick(
            rng,
            &[
                " from the date of drawdown.",
                " after the Closing Date.",
                ".",
            ],
        ));
    }
    shuffle_facts(rng, &mut d, &mut parts);
    d
}

/// A text with numbers, rates and terms that is not a loan.
pub(super) fn not_a_loan(rng: &mut impl Rng) -> Doc {
    let mut d = Doc::default();
    let n = rng.random_range(1..60) * 100;
    let p = Decimal::new(rng.random_range(10..900), 2).normalize();
    let q = Decimal::new(rng.random_range(10..900), 2).normalize();
    let months = rng.random_range(2..36);
    let who = pick(rng, BORROWERS);
    let text = match rng.random_range(0..16) {
        0 => format!(
            "RESIDENTIAL LEASE. The Landlord leases the apartment to the Tenant for {months} months at a monthly rent of ${n}. A security deposit of ${} is due at signing. Rent paid more than 5 days late incurs a fee of {p}%.",
            n * 2
        ),
        1 => format!(
            "Bright two-bedroom flat available now. Rent is ${n} per month on a {months}-month lease, deposit one month's rent. Late rent incurs a {p}% fee. Call 555-{:04} to view.",
            rng.random_range(0..9999)
        ),
        2 => format!(
            "INVOICE #{}. Amount due: USD {n}.00 for consulting services. Payment terms: net 30. Overdue balances accrue {p}% per month.",
            rng.random_range(1000..9999)
        ),
        3 => format!(
            "Open a High-Yield Savings account today and earn {p}% APY on balances above ${n}. Offer valid for 90 days."
        ),
        4 => format!(
            "Dear {who},\n\nWe are delighted to offer you the position of analyst. Your starting salary will be £{n}0 per year, with a bonus target of {p}% and a {months}-month probationary period.\n\nWarm regards,\nHead of People"
        ),
        5 => format!(
            "MUTUAL NON-DISCLOSURE AGREEMENT. Each party shall keep the other's information confidential for {} years. Breach damages are capped at EUR {n}.",
            rng.random_range(1..6)
        ),
        6 => format!(
            "Mortgage rates rose this week: the average 30-year fixed rate climbed to {p}%, while 15-year loans averaged {q}% according to the survey."
        ),
        7 => format!(
            "The central bank held its benchmark rate at {p}% on Thursday; two members preferred a cut of 25 basis points. Ten-year yields slipped to {q}%, and inflation is expected to ease over the next {months} months."
        ),
        8 => format!(
            "[Proposal] Adjust the stability fee on the ETH-A vault to {p}% and raise the debt ceiling by {n} DAI. Voting runs for 7 days."
        ),
        9 => format!(
            "PURCHASE AGREEMENT. The Buyer agrees to buy the vehicle for ${n}, paid in full on delivery within 14 days. The Seller warrants the vehicle for {months} months."
        ),
        10 => format!(
            "gm, just swapped {} ETH for USDC at {n}. gas was wild, {p} gwei. wen airdrop",
            rng.random_range(1..20)
        ),
        11 => format!(
            "Balanced Fund – annual statement. Your investment of ${n} made five years ago is now worth ${}, an annualised return of {p}% after fees. The ongoing charge is {q}% per year.",
            n + n / 3
        ),
        12 => format!(
            "Dear {who},\n\nWe are pleased to tell you that your project has been awarded a grant of ${n}. This is a grant, not a loan: it does not need to be repaid and carries no interest. Funds will be released in {months} months."
        ),
        13 => format!(
            "Your insurance policy renews on 1 {} at an annual premium of £{n}. The excess is £{}; a {p}% no-claims discount has been applied.",
            pick(rng, &["March", "June", "October"]),
            n / 10
        ),
        14 => format!(
            "Staking update: validators earned {p}% APR last epoch. Total value locked rose to {n} ETH, and the unbonding period stays at {} days.",
            rng.random_range(7..28)
        ),
        _ => format!(
            "Quarterly report: revenue grew {p}% to ${n} thousand; operating margin was {q}%. The board approved a dividend payable in {months} weeks."
        ),
    };
    d.say(&text);
    d
}
