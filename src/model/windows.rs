//! Tokens and windows: one untruncated encoding of a text, cut into overlapping windows that
//! fit the encoder, BIO labels from byte spans, and spans back from per-token tag probabilities.

use std::ops::Range;

use tokenizers::Tokenizer;

use super::labels::{NUM_TAGS, begin_tag, tag_entity};
use crate::extract::{Entity, TaggedSpan};

/// A text's tokens without special tokens, with their byte offsets in the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub offsets: Vec<(usize, usize)>,
}

/// Encodes `text` whole: no truncation, no special tokens (windows add them).
pub fn encode(tokenizer: &Tokenizer, text: &str) -> anyhow::Result<Encoded> {
    let encoding = tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizer failed: {e}"))?;
    Ok(Encoded {
        ids: encoding.get_ids().to_vec(),
        offsets: encoding.get_offsets().to_vec(),
    })
}

/// Token ranges of windows of at most `max_len - 2` tokens (room for `[CLS]` and `[SEP]`),
/// each overlapping the previous by `overlap` tokens. An empty text still gets one window.
pub fn windows(tokens: usize, max_len: usize, overlap: usize) -> Vec<Range<usize>> {
    let content = max_len.saturating_sub(2).max(1);
    let step = content.saturating_sub(overlap).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + content).min(tokens);
        out.push(start..end);
        if end >= tokens {
            return out;
        }
        start += step;
    }
}

/// BIO tags for each token from labelled byte spans: a token inside a span is tagged; the first
/// token of the span begins it.
pub fn bio_tags(offsets: &[(usize, usize)], spans: &[(Entity, usize, usize)]) -> Vec<u32> {
    let mut tags = vec![0u32; offsets.len()];
    for &(entity, start, end) in spans {
        let mut first = true;
        for (i, &(ts, te)) in offsets.iter().enumerate() {
            if ts < end && te > start && te > ts && tags[i] == 0 {
                tags[i] = if first {
                    begin_tag(entity)
                } else {
                    begin_tag(entity) + 1
                };
                first = false;
            }
        }
    }
    tags
}

/// Spans from per-token tag probabilities (`probs[i]` has `NUM_TAGS` values): runs of tokens whose
/// best tag is the same entity, a `B-` starting a new run. Confidence is the mean best probability.
pub fn decode_spans(offsets: &[(usize, usize)], probs: &[Vec<f32>]) -> Vec<TaggedSpan> {
    let mut spans: Vec<TaggedSpan> = Vec::new();
    let mut current: Option<(TaggedSpan, f32, usize)> = None;
    for (i, p) in probs.iter().enumerate().take(offsets.len()) {
        let (tag, best) = p
            .iter()
            .copied()
            .enumerate()
            .take(NUM_TAGS)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let (start, end) = offsets[i];
        match tag_entity(tag) {
            Some((entity, begins)) => {
                let continues =
                    current.as_ref().is_some_and(|(s, _, _)| s.entity == entity) && !begins;
                if continues {
                    if let Some((span, sum, n)) = current.as_mut() {
                        span.end = end;
                        *sum += best;
                        *n += 1;
                    }
                } else {
                    flush(&mut spans, current.take());
                    current = Some((
                        TaggedSpan {
                            entity,
                            start,
                            end,
                            confidence: 0.0,
                        },
                        best,
                        1,
                    ));
                }
            }
            None => flush(&mut spans, current.take()),
        }
    }
    flush(&mut spans, current);
    spans
}

fn flush(spans: &mut Vec<TaggedSpan>, current: Option<(TaggedSpan, f32, usize)>) {
    if let Some((mut span, sum, n)) = current {
        span.confidence = sum / n as f32;
        spans.push(span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_token_with_overlap() {
        assert_eq!(windows(0, 16, 4), vec![0..0]);
        assert_eq!(windows(10, 16, 4), vec![0..10]);
        let w = windows(40, 16, 4);
        assert_eq!(w, vec![0..14, 10..24, 20..34, 30..40]);
    }

    #[test]
    fn bio_tags_and_decoding_round_trip() {
        let offsets = [(0, 4), (5, 8), (9, 11), (11, 14), (15, 20)];
        let spans = [(Entity::Amount, 9, 14), (Entity::Currency, 5, 8)];
        let tags = bio_tags(&offsets, &spans);
        let b = begin_tag(Entity::Amount);
        assert_eq!(tags, vec![0, begin_tag(Entity::Currency), b, b + 1, 0]);
        let probs: Vec<Vec<f32>> = tags
            .iter()
            .map(|&t| {
                let mut p = vec![0.0; NUM_TAGS];
                p[t as usize] = 0.9;
                p
            })
            .collect();
        let decoded = decode_spans(&offsets, &probs);
        assert_eq!(decoded.len(), 2);
        assert_eq!(
            (decoded[1].entity, decoded[1].start, decoded[1].end),
            (Entity::Amount, 9, 14)
        );
        assert!((decoded[1].confidence - 0.9).abs() < 1e-6);
    }
}
