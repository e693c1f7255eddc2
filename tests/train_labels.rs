//! The hand-written training corpus (`models/data/train/train.jsonl`) as committed: at least
//! 2,000 texts, every label given by its evidence read by the normalisers, every distractor
//! inside its text, and no text shared with the held-out set.

use std::collections::BTreeSet;

use loan_oracle::eval::read_gold_spans;
use loan_oracle::synth::Sample;
use loan_oracle::train::data::{candidate_roles, read_samples};

fn read(path: &str) -> Vec<Sample> {
    let path = format!("{}/models/data/{path}", env!("CARGO_MANIFEST_DIR"));
    read_samples(&[&path]).unwrap_or_else(|e| panic!("{path}: {e:#}"))
}

#[test]
fn every_label_is_what_its_evidence_reads_to() {
    let corpus = read("train/train.jsonl");
    assert!(corpus.len() >= 2000, "{} texts", corpus.len());
    for sample in &corpus {
        for d in &sample.distractors {
            assert!(
                d.start < d.end && sample.text.get(d.start..d.end).is_some(),
                "{}: distractor {d:?} is not inside the text",
                sample.id
            );
        }
        if sample.expected["status"] == "not_a_loan" {
            continue;
        }
        let read = read_gold_spans(sample).to_json(false);
        for field in ["amount", "currency", "apr_percent", "term_days"] {
            let label = &sample.expected[field];
            if !label.is_null() {
                assert_eq!(&read[field], label, "{} {field}", sample.id);
            }
        }
    }
}

#[test]
fn no_training_text_is_held_out() {
    let held: BTreeSet<String> = read("heldout/dev.jsonl")
        .into_iter()
        .chain(read("heldout/test.jsonl"))
        .map(|s| s.text)
        .collect();
    for sample in read("train/train.jsonl") {
        assert!(
            !held.contains(&sample.text),
            "{} is a held-out text",
            sample.id
        );
    }
}

#[test]
fn gold_roles_name_the_terms() {
    // Every loan whose amount the corpus labels has a candidate taking the principal's role
    // in nearly every text: the proposer's recall is what the role heads can reach.
    let corpus = read("train/train.jsonl");
    let labelled: Vec<&Sample> = corpus
        .iter()
        .filter(|s| !s.expected["amount"].is_null())
        .collect();
    let with_principal = labelled
        .iter()
        .filter(|s| {
            candidate_roles(s)
                .iter()
                .any(|(c, role)| c.kind.roles()[*role] == "principal")
        })
        .count();
    let recall = with_principal as f64 / labelled.len() as f64;
    assert!(
        recall >= 0.99,
        "principal candidates in {recall:.3} of texts"
    );
}
