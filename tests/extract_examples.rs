//! The normalisers read every labelled span of the shared examples to the spec's value: given
//! the right spans, extraction must produce exactly the expected amount, currency, rate and term.

use loan_oracle::eval::read_gold_spans;
use loan_oracle::train::data::read_samples;

#[test]
fn gold_spans_normalise_to_the_expected_values() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/examples/loans.jsonl"
    );
    let mut checked = 0;
    for example in read_samples(&[path]).expect("../shared/examples/loans.jsonl") {
        let expected = &example.expected;
        if expected["status"] == "not_a_loan" {
            continue;
        }
        let out = read_gold_spans(&example).to_json(false);
        for field in ["status", "amount", "currency", "apr_percent", "term_days"] {
            assert_eq!(
                out[field], expected[field],
                "{} {field}: {}",
                example.id, example.text
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 35, "every loan example was checked");
}
