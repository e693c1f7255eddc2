//! Synthetic training data: labelled loan texts in the shapes the node meets (agreements, term
//! sheets, emails, chats, DAO and DeFi posts, officer notes, offer letters, and texts that are
//! not loans), with the span of every entity the model tags and the spec's expected values.

mod render;
mod words;

pub use words::to_words;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::extract::risk::{RiskFacts, rubric_tier};
use crate::extract::{Entity, minor_units};

/// One labelled text, in the examples' format plus every entity span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub id: String,
    pub text: String,
    pub expected: serde_json::Value,
    #[serde(default)]
    pub spans: Vec<LabelSpan>,
    /// What kind of text it is (`promissory note`, `chat`), where its writer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub genre: Option<String>,
    /// The text's language (ISO 639-1), where its writer said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The regional number and currency convention (`US`, `euro-continental`, `Indian`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convention: Option<String>,
    /// Other amounts, rates and durations the text writes, with the role each plays (`fee`,
    /// `default_rate`, `other_duration`...), where its writer said.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distractors: Vec<RoleSpan>,
}

/// A written value that is not one of the terms, and what it is: UTF-8 byte offsets, end
/// exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSpan {
    pub start: usize,
    pub end: usize,
    pub role: String,
}

/// A labelled entity span, UTF-8 byte offsets, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSpan {
    pub entity: Entity,
    pub start: usize,
    pub end: usize,
}

/// A text being written, with the spans tagged so far.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub text: String,
    pub spans: Vec<LabelSpan>,
}

impl Doc {
    pub fn say(&mut self, s: &str) {
        self.text.push_str(s);
    }

    pub fn tag(&mut self, entity: Entity, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.spans.push(LabelSpan {
            entity,
            start,
            end: self.text.len(),
        });
    }

    fn evidence_of(&self, entity: Entity) -> Option<[usize; 2]> {
        self.spans
            .iter()
            .find(|s| s.entity == entity)
            .map(|s| [s.start, s.end])
    }
}

/// The truth of a generated loan: what the expected output is computed from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Truth {
    pub amount: Option<Decimal>,
    pub currency: Option<&'static str>,
    pub apr_percent: Option<Decimal>,
    pub term_days: Option<u32>,
    pub facts: RiskFacts,
}

/// Generates `count` samples from `seed`; the same seed gives the same samples.
pub fn generate(count: usize, seed: u64) -> Vec<Sample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let id = format!("s{seed}-{i:06}");
            if rng.random_bool(0.12) {
                let doc = render::not_a_loan(&mut rng);
                Sample {
                    id,
                    text: doc.text,
                    expected: serde_json::json!({"status": "not_a_loan"}),
                    spans: doc.spans,
                    genre: None,
                    language: None,
                    convention: None,
                    distractors: Vec::new(),
                }
            } else {
                let (doc, truth) = render::loan(&mut rng);
                let expected = expected_json(&doc, &truth);
                Sample {
                    id,
                    text: doc.text,
                    expected,
                    spans: doc.spans,
                    genre: None,
                    language: None,
                    convention: None,
                    distractors: Vec::new(),
                }
            }
        })
        .collect()
}

fn expected_json(doc: &Doc, truth: &Truth) -> serde_json::Value {
    let complete =
        truth.amount.is_some() && truth.apr_percent.is_some() && truth.term_days.is_some();
    let tier = rubric_tier(&truth.facts, truth.amount, truth.apr_percent);
    let mut evidence = serde_json::Map::new();
    for (field, entity) in [
        ("amount", Entity::Amount),
        ("currency", Entity::Currency),
        ("apr_percent", Entity::Rate),
        ("term_days", Entity::Term),
    ] {
        if let Some(span) = doc.evidence_of(entity) {
            evidence.insert(field.into(), serde_json::json!(span));
        }
    }
    if !evidence.contains_key("term_days")
        && let (Some(a), Some(b)) = (
            doc.evidence_of(Entity::StartDate),
            doc.evidence_of(Entity::MaturityDate),
        )
    {
        evidence.insert(
            "term_days".into(),
            serde_json::json!([a[0].min(b[0]), a[1].max(b[1])]),
        );
    }
    serde_json::json!({
        "status": if complete { "ok" } else { "incomplete" },
        "amount": truth.amount.map(|a| a.normalize().to_string()),
        "currency": truth.currency,
        "apr_percent": truth.apr_percent.map(|r| r.normalize().to_string()),
        "term_days": truth.term_days,
        "risk_tier": tier.as_str(),
        "evidence": evidence,
    })
}

/// A sanity check used by tests: every amount has an exact minor-unit value.
pub fn amount_is_representable(sample: &Sample) -> bool {
    let amount = sample.expected["amount"]
        .as_str()
        .and_then(|a| a.parse::<Decimal>().ok());
    let currency = sample.expected["currency"].as_str();
    match (amount, currency) {
        (Some(a), Some(c)) => minor_units(a, crate::extract::currency::decimals_of(c)).is_some(),
        _ => true,
    }
}

pub(crate) fn pick<T: Copy>(rng: &mut impl Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{TaggedSpan, TextClass, Thresholds, assemble};

    #[test]
    fn same_seed_same_samples() {
        assert_eq!(generate(50, 7), generate(50, 7));
        assert_ne!(generate(50, 7), generate(50, 8));
    }

    /// The generator's labels and the normalisers agree: reading each sample's gold spans gives
    /// its expected values, tier included.
    #[test]
    fn gold_spans_read_back_to_the_expected_values() {
        let class = TextClass {
            tier: [0.34, 0.33, 0.33],
            not_a_loan: 0.0,
        };
        for sample in generate(3000, 11) {
            assert!(amount_is_representable(&sample), "{sample:?}");
            for span in &sample.spans {
                assert!(
                    sample.text.is_char_boundary(span.start)
                        && sample.text.is_char_boundary(span.end)
                );
            }
            if sample.expected["status"] == "not_a_loan" {
                continue;
            }
            let spans: Vec<TaggedSpan> = sample
                .spans
                .iter()
                .map(|s| TaggedSpan {
                    entity: s.entity,
                    start: s.start,
                    end: s.end,
                    confidence: 1.0,
                })
                .collect();
            let out = assemble(&sample.text, &spans, class, Thresholds::default()).to_json(false);
            for field in crate::eval::FIELDS {
                assert_eq!(
                    out[field], sample.expected[field],
                    "{field} of {}: {}",
                    sample.id, sample.text
                );
            }
        }
    }
}
