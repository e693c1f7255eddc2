//! Training data: labelled JSONL (the examples' format, optionally with every entity span)
//! turned into token windows with BIO tags and a text class.

use std::path::Path;

use anyhow::Context;
use tokenizers::Tokenizer;

use crate::extract::Entity;
use crate::model::SpecialTokens;
use crate::model::labels::{CLASSES, NOT_A_LOAN};
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
                tokens: range,
            });
        }
        encodings.push(encoded);
    }
    Ok((out, encodings))
}
