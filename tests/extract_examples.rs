//! The normalisers read every labelled span of the shared examples to the spec's value: given
//! the right spans, extraction must produce exactly the expected amount, currency, rate and term.

use loan_oracle::extract::{Entity, TaggedSpan, TextClass, Thresholds, assemble};

fn examples() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/examples/loans.jsonl"
    );
    std::fs::read_to_string(path)
        .expect("../shared/examples/loans.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("valid JSON line"))
        .collect()
}

#[test]
fn gold_spans_normalise_to_the_expected_values() {
    let class = TextClass {
        tier: [0.34, 0.33, 0.33],
        not_a_loan: 0.0,
    };
    let mut checked = 0;
    for example in examples() {
        let expected = &example["expected"];
        if expected["status"] == "not_a_loan" {
            continue;
        }
        let text = example["text"].as_str().unwrap();
        let spans: Vec<TaggedSpan> = [
            ("amount", Entity::Amount),
            ("currency", Entity::Currency),
            ("apr_percent", Entity::Rate),
            ("term_days", Entity::Term),
        ]
        .into_iter()
        .filter_map(|(field, entity)| {
            let span = expected["evidence"].get(field)?;
            Some(TaggedSpan {
                entity,
                start: span[0].as_u64()? as usize,
                end: span[1].as_u64()? as usize,
                confidence: 1.0,
            })
        })
        .collect();
        let out = assemble(text, &spans, class, Thresholds::default()).to_json(false);
        let id = &example["id"];
        for field in ["status", "amount", "currency", "apr_percent", "term_days"] {
            assert_eq!(out[field], expected[field], "{id} {field}: {text}");
        }
        checked += 1;
    }
    assert_eq!(checked, 35, "every loan example was checked");
}
