//! The held-out set (`models/data/heldout/`) as committed: every label is given by its evidence,
//! read by the normalisers; the splits are disjoint; and the set is as large and as varied as
//! its brief asks (at least 250 texts, 25 genre families, 8 number conventions, 20 in Chinese).

use std::collections::BTreeSet;

use loan_oracle::eval::read_gold_spans;
use loan_oracle::synth::Sample;
use loan_oracle::train::data::read_samples;

fn split(name: &str) -> Vec<Sample> {
    let path = format!(
        "{}/models/data/heldout/{name}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    read_samples(&[&path]).unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

#[test]
fn every_label_is_what_its_evidence_reads_to() {
    for sample in split("dev").into_iter().chain(split("test")) {
        if sample.expected["status"] == "not_a_loan" {
            continue;
        }
        let read = read_gold_spans(&sample).to_json(false);
        for field in ["amount", "currency", "apr_percent", "term_days"] {
            let label = &sample.expected[field];
            if !label.is_null() {
                assert_eq!(&read[field], label, "{} {field}", sample.id);
            }
        }
    }
}

#[test]
fn the_splits_are_disjoint_and_cover_the_brief() {
    let (dev, test) = (split("dev"), split("test"));
    let dev_ids: BTreeSet<&str> = dev.iter().map(|s| s.id.as_str()).collect();
    assert!(test.iter().all(|s| !dev_ids.contains(s.id.as_str())));
    let all: Vec<&Sample> = dev.iter().chain(&test).collect();
    assert!(all.len() >= 250, "{} texts", all.len());
    let distinct = |key: fn(&Sample) -> Option<&str>| {
        all.iter()
            .filter_map(|s| key(s))
            .collect::<BTreeSet<_>>()
            .len()
    };
    assert!(distinct(|s| s.genre.as_deref()) >= 25);
    assert!(distinct(|s| s.convention.as_deref()) >= 8);
    let chinese = all
        .iter()
        .filter(|s| s.language.as_deref() == Some("zh"))
        .count();
    assert!(chinese >= 20, "{chinese} Chinese texts");
}
