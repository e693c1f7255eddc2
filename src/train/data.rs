//! Training data: labelled JSONL (the examples' format, optionally with every entity span)
//! turned into token windows with BIO tags and a text class.

use std::path::Path;

use anyhow::Context;
use tokenizers::Tokenizer;

use rust_decimal::Decimal;

use crate::extract::Entity;
use crate::extract::candidates::{Candidate, CandidateValue, Kind, propose};
use crate::model::SpecialTokens;
use crate::model::labels::{CLASSES, NOT_A_LOAN};
use crate::model::roles::{Pooling, centrality, pooling_in, token_span};
use crate::model::windows::{bio_tags, encode, windows};
use crate::synth::Sample;

/// Reads labelled samples from JSONL files; a bad line is an error naming the file and line.
pub fn read_samples(paths: &[impl AsRef<Path>]) -> anyhow::Result<Vec<Sample>> {
    let mut samples = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let sample: Sample = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a labelled sample", path.display(), n + 1))?;
            samples.push(sample);
        }
    }
    Ok(samples)
}

/// A sample's entity spans: its own `spans`, or else those its `expected.evidence` gives.
pub fn entity_spans(sample: &Sample) -> Vec<(Entity, usize, usize)> {
    if !sample.spans.is_empty() {
        return sample
            .spans
            .iter()
            .map(|s| (s.entity, s.start, s.end))
            .collect();
    }
    let evidence = &sample.expected["evidence"];
    [
        ("amount", Entity::Amount),
        ("currency", Entity::Currency),
        ("apr_percent", Entity::Rate),
        ("term_days", Entity::Term),
    ]
    .into_iter()
    .filter_map(|(field, entity)| {
        let span = evidence.get(field)?;
        Some((
            entity,
            span[0].as_u64()? as usize,
            span[1].as_u64()? as usize,
        ))
    })
    .collect()
}

/// The text class index of a sample: its risk tier, or not a loan.
pub fn class_of(sample: &Sample) -> usize {
    if sample.expected["status"] == "not_a_loan" {
        return NOT_A_LOAN;
    }
    let tier = sample.expected["risk_tier"].as_str().unwrap_or("medium");
    CLASSES.iter().position(|c| *c == tier).unwrap_or(1)
}

/// One training window: token ids with `[CLS]`/`[SEP]`, a tag per position (`u32::MAX` where no
/// loss is taken) and the text's class.
#[derive(Debug, Clone)]
pub struct Window {
    pub sample: usize,
    pub ids: Vec<u32>,
    pub tags: Vec<u32>,
    pub class: u32,
    pub tokens: std::ops::Range<usize>,
    /// The candidates the window holds whole, with their gold roles (`Pooling::window` is set
    /// when batched).
    pub candidates: Vec<WindowCandidate>,
}

/// A candidate inside a training window and the role it plays.
#[derive(Debug, Clone)]
pub struct WindowCandidate {
    /// Its index among the sample's candidates ([`candidate_roles`] order).
    pub index: usize,
    pub kind: Kind,
    pub pooling: Pooling,
    pub role: u32,
    /// How far it sits from the window's edges (the most central window reads it).
    pub centre: usize,
}

/// Every candidate of a sample with the index of its gold role among its kind's roles: the
/// labelled spans and distractors say what a candidate is; one that no span covers takes the
/// term's role when it reads as the term's value (a restatement: `($15,000.00)` after the
/// words), else `other`.
pub fn candidate_roles(sample: &Sample) -> Vec<(Candidate, usize)> {
    let spans = entity_spans(sample);
    let loan = sample.expected["status"] != "not_a_loan";
    let gold = |field: &str| -> Option<Decimal> {
        match &sample.expected[field] {
            serde_json::Value::String(v) => v.parse().ok(),
            serde_json::Value::Number(n) => n.to_string().parse().ok(),
            _ => None,
        }
    };
    let (amount, rate, term) = (gold("amount"), gold("apr_percent"), gold("term_days"));
    propose(&sample.text)
        .into_iter()
        .map(|c| {
            let role = if loan {
                role_of(&c, &spans, &sample.distractors, [amount, rate, term])
            } else {
                "other"
            };
            let index = c.kind.role_index(role);
            (c, index)
        })
        .collect()
}

fn role_of(
    c: &Candidate,
    spans: &[(Entity, usize, usize)],
    distractors: &[crate::synth::RoleSpan],
    [amount, rate, term]: [Option<Decimal>; 3],
) -> &'static str {
    let value = match &c.value {
        CandidateValue::Number(v) => Some(v.normalize()),
        CandidateValue::Days(d) => Some(Decimal::from(*d)),
        _ => None,
    };
    let is = |gold: Option<Decimal>| gold.is_some() && gold.map(|g| g.normalize()) == value;
    let covering = |entity: Entity| {
        spans
            .iter()
            .any(|(e, s, t)| *e == entity && c.overlaps(*s, *t))
    };
    // Only a distractor of the candidate's own kind says what it is: an instalment inside a
    // date range does not make the range something else.
    let of_kind = |role: &str| match c.kind {
        Kind::Money => matches!(
            role,
            "collateral_value" | "instalment" | "fee" | "interest_amount" | "other_amount"
        ),
        Kind::Percent => matches!(role, "default_rate" | "fee_rate" | "ltv" | "other_rate"),
        Kind::Duration => role == "other_duration",
    };
    let distractor = distractors
        .iter()
        .find(|d| c.overlaps(d.start, d.end) && of_kind(&d.role))
        .map(|d| d.role.as_str());
    match c.kind {
        Kind::Money => {
            if covering(Entity::Amount) && is(amount) {
                "principal"
            } else if covering(Entity::CollateralValue) {
                "collateral_value"
            } else if covering(Entity::CreditScore) {
                "credit_score"
            } else if let Some(role) = distractor {
                match role {
                    "collateral_value" => "collateral_value",
                    "instalment" => "instalment",
                    "fee" => "fee",
                    _ => "other",
                }
            } else if !covering(Entity::Amount) && is(amount) {
                "principal"
            } else {
                "other"
            }
        }
        Kind::Percent => {
            if covering(Entity::Rate) && is(rate) {
                "contract_rate"
            } else if covering(Entity::CollateralRatio) {
                "collateral_ratio"
            } else if covering(Entity::Ltv) {
                "ltv"
            } else if let Some(role) = distractor {
                match role {
                    "default_rate" => "default_rate",
                    "fee_rate" => "fee_rate",
                    "ltv" => "ltv",
                    _ => "other",
                }
            } else if !covering(Entity::Rate) && is(rate) {
                "contract_rate"
            } else {
                "other"
            }
        }
        Kind::Duration => {
            if is(term) && (covering(Entity::Term) || distractor.is_none()) {
                "tenor"
            } else {
                "other"
            }
        }
    }
}

/// No loss is taken at positions with this tag.
pub const IGNORE: u32 = u32::MAX;

/// Cuts every sample into windows with tags.
pub fn make_windows(
    samples: &[Sample],
    tokenizer: &Tokenizer,
    special: SpecialTokens,
    max_len: usize,
    overlap: usize,
) -> anyhow::Result<(Vec<Window>, Vec<crate::model::windows::Encoded>)> {
    let mut out = Vec::new();
    let mut encodings = Vec::with_capacity(samples.len());
    for (i, sample) in samples.iter().enumerate() {
        let encoded = encode(tokenizer, &sample.text)?;
        let tags = bio_tags(&encoded.offsets, &entity_spans(sample));
        let class = class_of(sample) as u32;
        let candidates: Vec<(usize, Kind, std::ops::Range<usize>, u32)> = candidate_roles(sample)
            .into_iter()
            .enumerate()
            .filter_map(|(index, (c, role))| {
                let tokens = token_span(&encoded.offsets, c.start, c.end)?;
                Some((index, c.kind, tokens, role as u32))
            })
            .collect();
        for range in windows(encoded.ids.len(), max_len, overlap) {
            let mut ids = vec![special.cls];
            ids.extend_from_slice(&encoded.ids[range.clone()]);
            ids.push(special.sep);
            let mut window_tags = vec![IGNORE];
            window_tags.extend_from_slice(&tags[range.clone()]);
            window_tags.push(IGNORE);
            out.push(Window {
                sample: i,
                ids,
                tags: window_tags,
                class,
                candidates: candidates
                    .iter()
                    .filter_map(|(index, kind, tokens, role)| {
                        Some(WindowCandidate {
                            index: *index,
                            kind: *kind,
                            pooling: pooling_in(0, &range, tokens)?,
                            role: *role,
                            centre: centrality(&range, tokens),
                        })
                    })
                    .collect(),
                tokens: range,
            });
        }
        encodings.push(encoded);
    }
    Ok((out, encodings))
}
