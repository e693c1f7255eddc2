//! Hostile texts: multi-byte whitespace and invisible marks beside every kind of figure,
//! numbers too large for any field, and the crashes reported from the field (issue 8) and found
//! by `scripts/fuzz-extract.sh`. Each test reads through `assemble`, the normalisers and
//! `to_terms`, as the node does after the model.

use alloy::sol_types::SolValue;
use rust_decimal::Decimal;

use super::numbers::{NumberStyle, read_number};
use super::*;
use crate::contracts::LoanTerms;

const LOAN: TextClass = TextClass {
    tier: [0.2, 0.6, 0.2],
    not_a_loan: 0.01,
};

/// Multi-byte whitespace, zero-width characters, bidi marks and a BOM.
const MARKS: [char; 11] = [
    '\u{3000}', // ideographic space
    '\u{a0}',   // no-break space
    '\u{2009}', // thin space
    '\u{202f}', // narrow no-break space
    '\u{200b}', // zero-width space
    '\u{200c}', // zero-width non-joiner
    '\u{200d}', // zero-width joiner
    '\u{200e}', // left-to-right mark
    '\u{200f}', // right-to-left mark
    '\u{202e}', // right-to-left override
    '\u{feff}', // byte-order mark
];

fn tagged(text: &str, entity: Entity, needle: &str) -> TaggedSpan {
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {text:?}"));
    TaggedSpan {
        entity,
        start,
        end: start + needle.len(),
        confidence: 0.95,
    }
}

/// Reads `text` with `spans` through everything after the model, as the node does.
fn read(text: &str, spans: &[TaggedSpan]) -> Extraction {
    let out = assemble(text, spans, LOAN, Thresholds::default());
    let _ = out.to_json(true);
    let _ = LoanTerms::from(&out).abi_encode();
    out
}

/// Every entity over spans starting at every byte of `text` (inside characters too) with
/// lengths `lengths`, and the inverted and out-of-range ones.
fn read_every_span(text: &str, lengths: &[usize]) {
    for entity in Entity::ALL {
        for start in 0..=text.len() + 1 {
            for &len in lengths {
                let spans = [
                    TaggedSpan {
                        entity,
                        start,
                        end: start + len,
                        confidence: 0.9,
                    },
                    TaggedSpan {
                        entity,
                        start: start + len,
                        end: start,
                        confidence: f32::NAN,
                    },
                ];
                read(text, &spans);
            }
        }
    }
}

#[test]
fn a_term_unit_after_an_ideographic_space() {
    // Reported: `start byte index … is inside '\u{3000}'` when a term span held only its unit and
    // the word before it ended in U+3000.
    let text = "借款期限为十二\u{3000}months，自2026年3月1日起。";
    let out = read(text, &[tagged(text, Entity::Term, "months")]);
    assert_eq!(out.term_days, None, "no count stands before the unit");
    let text = "Term:\u{3000}36\u{3000}months";
    let out = read(text, &[tagged(text, Entity::Term, "months")]);
    assert_eq!(
        out.term_days,
        Some(1080),
        "a count after U+3000 is still the count"
    );
}

#[test]
fn a_rate_whose_clause_is_cut_inside_a_character() {
    // Reported: `end byte index 40 is not a char boundary; it is inside '除'` from a
    // byte-counted `.min(40)` on the text after a rate.
    let context = format!(" {}除另有约定外按月计息", "x".repeat(38));
    assert_eq!(context.find('除'), Some(39));
    assert_eq!(
        rate::parse_rate("6.5%", &context, NumberStyle::default()),
        Some(Decimal::new(65, 1))
    );
    let text = format!("年利率6.5%{context}");
    let out = read(&text, &[tagged(&text, Entity::Rate, "6.5%")]);
    assert_eq!(out.apr_percent, Some(Decimal::new(65, 1)));
}

#[test]
fn marks_beside_every_kind_of_figure() {
    for mark in MARKS {
        let m = mark;
        let text = format!(
            "Loan{m}of{m}USD{m}5,000{m}at{m}9.5%{m}per{m}annum{m}for{m}12{m}months{m}from{m}\
             1{m}March{m}2025{m}to{m}1{m}March{m}2026;{m}secured,{m}valued{m}at{m}$9,000,{m}\
             LTV{m}55%,{m}150%{m}collateral,{m}FICO{m}710,{m}2.5{m}million{m}€{m}1.250.000,00{m}\
             ¥{m}50万{m}{m}60{m}days{m}late"
        );
        read_every_span(&text, &[0, 1, 2, 3, 5, 8, 13, 21]);
        let out = read(
            &text,
            &[
                tagged(&text, Entity::Amount, "5,000"),
                tagged(&text, Entity::Rate, &format!("9.5%{m}per{m}annum")),
                tagged(&text, Entity::Term, &format!("12{m}months")),
            ],
        );
        assert_eq!(out.amount, Some(Decimal::from(5000)), "{mark:?}");
        assert_eq!(out.apr_percent, Some(Decimal::new(95, 1)), "{mark:?}");
        if mark.is_whitespace() {
            assert_eq!(out.term_days, Some(360), "{mark:?}");
            assert_eq!(
                out.currency.map(|c| c.code).as_deref(),
                Some("USD"),
                "{mark:?}"
            );
            assert_eq!(out.status, Status::Ok, "{mark:?}");
        }
    }
}

#[test]
fn numbers_of_forty_digits_and_more_are_withheld_with_the_reason() {
    let forty = "1".repeat(40);
    let style = NumberStyle::default();
    assert!(read_number(&forty, style).is_err());
    for written in [
        format!("USD {forty}"),
        format!("USD {forty}.50 million"),
        "USD 100000000000000000000 billion".to_owned(),
        "USD 79,228,162,514,264,337,593,543,950,335 thousand".to_owned(),
        format!("USD 1{}k", ",000".repeat(14)),
        format!("{forty} 万元"),
        "nine hundred hundred hundred hundred hundred hundred hundred hundred hundred hundred \
         hundred hundred billion dollars"
            .to_owned(),
    ] {
        let text = format!("The lender lends {written} at 5% per annum for 12 months.");
        let start = text.find("lends ").unwrap() + 6;
        let end = start + written.len();
        let spans = [
            TaggedSpan {
                entity: Entity::Amount,
                start,
                end,
                confidence: 0.9,
            },
            tagged(&text, Entity::Rate, "5% per annum"),
            tagged(&text, Entity::Term, "12 months"),
        ];
        let out = read(&text, &spans);
        assert_eq!(out.amount, None, "{written}");
        assert_eq!(out.status, Status::Incomplete, "{written}");
        let reason = out.withheld.get(&Field::Amount).expect("a reason");
        assert!(reason.contains("too large"), "{reason}");
        let json = out.to_json(false);
        assert_eq!(json["amount"], serde_json::Value::Null);
        assert!(json["withheld"]["amount"].is_string(), "{json}");
        assert!(
            !json["evidence"]
                .as_object()
                .is_some_and(|e| e.contains_key("amount"))
        );
        let terms = LoanTerms::from(&out);
        assert_eq!((terms.status, terms.amountMinor), (2, U256::ZERO));
        assert_eq!(terms.evidence[..2], [0, 0]);
    }
    // Large but representable amounts still read.
    let text = "USD 79,228,162,514 billion at 5% per annum for 12 months";
    let out = read(
        text,
        &[tagged(text, Entity::Amount, "79,228,162,514 billion")],
    );
    assert_eq!(out.amount, Some("79228162514000000000".parse().unwrap()));
}

#[test]
fn rates_that_overflow_apr_ppm_are_withheld() {
    for (rate, why) in [
        ("99999999999999999999999999% per annum", "aprPpm"),
        ("9999999999999999999999999999% per month", "too large"),
        ("429496.7296% per annum", "aprPpm"),
        ("500000 percent a year", "aprPpm"),
        ("Prime minus 900 bps (Prime currently 1.5%)", "negative"),
        ("999999999999999999999999999999% per annum", "too large"),
    ] {
        let text = format!("USD 5,000 at {rate} for 12 months");
        let out = read(
            &text,
            &[
                tagged(&text, Entity::Amount, "5,000"),
                tagged(&text, Entity::Rate, rate),
                tagged(&text, Entity::Term, "12 months"),
            ],
        );
        assert_eq!(out.apr_percent, None, "{rate}");
        assert_eq!(out.status, Status::Incomplete, "{rate}");
        let reason = &out.withheld[&Field::AprPercent];
        assert!(reason.contains(why), "{rate}: {reason}");
        assert_eq!(LoanTerms::from(&out).aprPpm, 0);
    }
    let text = "USD 5,000 at 429496.7295% per annum";
    let out = read(
        text,
        &[tagged(text, Entity::Rate, "429496.7295% per annum")],
    );
    assert_eq!(
        LoanTerms::from(&out).aprPpm,
        u32::MAX,
        "the largest rate that fits"
    );
}

#[test]
fn terms_that_overflow_term_days_are_withheld() {
    for term in [
        "99999999999 years",
        "4294967296 days",
        "99999999999999999999999999 years",
        "11767034 years and 5 months",
    ] {
        let text = format!("USD 5,000 at 5% per annum for {term}.");
        let out = read(&text, &[tagged(&text, Entity::Term, term)]);
        assert_eq!(out.term_days, None, "{term}");
        assert!(
            out.withheld[&Field::TermDays].contains("termDays"),
            "{term}: {:?}",
            out.withheld
        );
    }
    let text = "for 4294967295 days";
    let out = read(text, &[tagged(text, Entity::Term, "4294967295 days")]);
    assert_eq!(out.term_days, Some(u32::MAX));
}

#[test]
fn scales_written_in_chinese() {
    let style = NumberStyle::default();
    assert_eq!(read_number("5万元", style), Ok(Some(Decimal::from(50_000))));
    assert_eq!(
        read_number("1.2亿", style),
        Ok(Some(Decimal::from(120_000_000)))
    );
    assert_eq!(
        read_number("30\u{3000}万", style),
        Ok(Some(Decimal::from(300_000)))
    );
    let text = "借款金额：人民币50万元整";
    let out = read(text, &[tagged(text, Entity::Amount, "50")]);
    assert_eq!(out.amount, Some(Decimal::from(500_000)));
    assert_eq!(
        out.evidence[&Field::Amount],
        [text.find("50").unwrap(), text.find("元").unwrap()]
    );
}

#[test]
fn a_chinese_contract_with_ideographic_spaces() {
    let text = include_str!("../../tests/data/loan-contract-zh.txt");
    assert!(text.contains('\u{3000}'));
    read_every_span(text, &[1, 2, 4, 7, 12]);
}

#[test]
fn any_class_probabilities() {
    let text = "USD 5,000 at 9% APR for 60 days";
    for p in [f32::NAN, f32::INFINITY, -1.0, 0.0, 2.0] {
        let class = TextClass {
            tier: [p, p, 0.3],
            not_a_loan: if p.is_nan() { p } else { 0.0 },
        };
        let out = assemble(
            text,
            &[tagged(text, Entity::Amount, "5,000")],
            class,
            Thresholds::default(),
        );
        assert!(
            out.risk_score.is_some_and(|s| s <= 100),
            "{p}: {:?}",
            out.risk_score
        );
    }
}

/// Inputs `scripts/fuzz-extract.sh` found (seed 8, on the code before the slicing helpers).
#[test]
fn inputs_the_fuzzer_found() {
    use crate::model::windows::decode_spans;
    // A token offset past the end of an empty text, with a NaN probability:
    // "end byte index 1 is out of bounds of ``".
    let spans = decode_spans("", &[(0, 1)], &[vec![f32::NAN]]);
    assert!(read("", &spans).status != Status::Ok);
    // Offsets and probability rows of different lengths, offsets inside characters.
    let text = "借\u{3000}5万";
    let rows = vec![vec![0.0, 0.9, 0.05]; 2];
    let spans = decode_spans(text, &[(1, 4), (4, 8), (8, 30)], &rows);
    read(text, &spans);
    // U+00A0 between the groups of a number, whatever span the model put on it: "start byte
    // index 6 is not a char boundary; it is inside '\u{a0}'".
    read_every_span(
        "0\u{a0}42\u{a0}54 days   43105,2 to 0,01,16,00,01,00,10 lakh ",
        &[0, 1, 2, 3, 4, 6, 9, 14, 30],
    );
}

/// The spec's `ok` needs amount, rate and term; a text that names no currency is still `ok`.
#[test]
fn ok_needs_amount_rate_and_term_not_a_currency() {
    let text = "Lending you 175k at 12% for 6 months, ok?";
    let out = read(
        text,
        &[
            tagged(text, Entity::Amount, "175k"),
            tagged(text, Entity::Rate, "12%"),
            tagged(text, Entity::Term, "6 months"),
        ],
    );
    assert_eq!(out.currency, None);
    assert_eq!(out.status, Status::Ok);
    assert_eq!(
        LoanTerms::from(&out).currency,
        alloy::primitives::FixedBytes::<8>::ZERO
    );
}
