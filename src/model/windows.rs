//! Tokens and windows: one untruncated encoding of a text, cut into overlapping windows that
//! fit the encoder, BIO labels from byte spans, and spans back from per-token tag probabilities.
//!
//! Decoding takes whatever offsets and probabilities it is given without panicking: offsets
//! past the text or inside a character, and rows shorter than `NUM_TAGS`, are read safely
//! (raw string slices are denied here, as in `extract`).
#![deny(clippy::string_slice)]

use std::ops::Range;

use tokenizers::Tokenizer;

use super::labels::begin_tag;
use crate::extract::{Entity, TaggedSpan, slice};

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

/// Spans from per-token tag probabilities (`probs[i]` has `NUM_TAGS` values). Tokens are first
/// grouped into words (`1,150,000`, `2029`, `8%` are each one word however the tokenizer cut
/// them) and each word takes the entity its tokens favour together, so a number is never split
/// between tags. Consecutive words of one entity form a span unless a word begins a new one.
/// Confidence is the mean of the words' entity probabilities.
pub fn decode_spans(text: &str, offsets: &[(usize, usize)], probs: &[Vec<f32>]) -> Vec<TaggedSpan> {
    let mut spans: Vec<TaggedSpan> = Vec::new();
    let mut current: Option<(TaggedSpan, f32, usize)> = None;
    // Only tokens that have both an offset and a row of probabilities are read.
    let offsets = offsets
        .get(..probs.len().min(offsets.len()))
        .unwrap_or_default();
    for group in word_groups(text, offsets) {
        let n = group.len() as f32;
        let mean = |tag: usize| {
            group
                .clone()
                .map(|i| {
                    let p = probs.get(i).and_then(|row| row.get(tag)).copied();
                    p.filter(|p| p.is_finite()).unwrap_or(0.0)
                })
                .sum::<f32>()
                / n
        };
        let outside = mean(0);
        let (entity_index, score) = (0..Entity::ALL.len())
            .map(|e| (e, mean(1 + 2 * e) + mean(2 + 2 * e)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let (Some(first), Some(last)) = (offsets.get(group.start), offsets.get(group.end - 1))
        else {
            continue;
        };
        let (start, end) = (first.0, last.1);
        if score <= outside {
            flush(&mut spans, current.take());
            continue;
        }
        let Some(&entity) = Entity::ALL.get(entity_index) else {
            continue;
        };
        let begins = mean(1 + 2 * entity_index) > mean(2 + 2 * entity_index);
        let continues = !begins && current.as_ref().is_some_and(|(s, _, _)| s.entity == entity);
        if continues {
            if let Some((span, sum, count)) = current.as_mut() {
                span.end = end;
                *sum += score;
                *count += 1;
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
                score,
                1,
            ));
        }
    }
    flush(&mut spans, current);
    spans.retain_mut(|span| trim_punctuation(text, span));
    spans
}

/// Token index ranges of words: touching tokens joined across letters and digits, the
/// separators inside a number or date (`1,150,000`, `4,35`, `2025-03-01`) and a percent sign
/// after a digit. A full stop
/// or comma after a word is not part of it.
fn word_groups(text: &str, offsets: &[(usize, usize)]) -> Vec<std::ops::Range<usize>> {
    let piece = |i: usize| {
        offsets
            .get(i)
            .and_then(|&(start, end)| text.get(start..end))
            .unwrap_or("")
    };
    let touching = |i: usize| {
        i > 0
            && matches!((offsets.get(i - 1), offsets.get(i)), (Some(prev), Some(this)) if this.0 == prev.1)
    };
    let ends_digit = |i: usize| piece(i).chars().last().is_some_and(|c| c.is_ascii_digit());
    let starts_digit = |i: usize| piece(i).chars().next().is_some_and(|c| c.is_ascii_digit());
    let inner_separator = |i: usize| {
        matches!(piece(i), "." | "," | "'" | "-" | "/")
            && touching(i)
            && touching(i + 1)
            && ends_digit(i - 1)
            && starts_digit(i + 1)
    };
    let joins = |i: usize| {
        let (prev, next) = (piece(i - 1), piece(i));
        let alnum = prev.chars().last().is_some_and(char::is_alphanumeric)
            && next.chars().next().is_some_and(char::is_alphanumeric);
        touching(i)
            && (alnum
                || inner_separator(i)
                || inner_separator(i - 1)
                || ends_digit(i - 1) && next == "%")
    };
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    for i in 0..offsets.len() {
        match groups.last_mut() {
            Some(group) if joins(i) => group.end = i + 1,
            _ => groups.push(i..i + 1),
        }
    }
    groups
}

/// Drops commas, brackets and the like from a span's ends; false if nothing is left.
fn trim_punctuation(text: &str, span: &mut TaggedSpan) -> bool {
    // Offsets come from the tokenizer; a span is first put on whole characters of the text.
    span.start = slice::floor(text, span.start);
    span.end = slice::ceil(text, span.end);
    let inner = slice::span(text, span.start, span.end);
    let trimmed_start = inner.trim_start_matches([',', ';', ':', '(', ')', ' ']);
    span.start = span
        .start
        .saturating_add(inner.len().saturating_sub(trimmed_start.len()));
    let trimmed = trimmed_start.trim_end_matches([',', ';', ':', '(', ')', ' ']);
    span.end = span.start.saturating_add(trimmed.len());
    span.end > span.start
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
    use crate::model::labels::NUM_TAGS;

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
        let text = "abcd usd 12345 words";
        let decoded = decode_spans(text, &offsets, &probs);
        assert_eq!(decoded.len(), 2);
        assert_eq!(
            (decoded[1].entity, decoded[1].start, decoded[1].end),
            (Entity::Amount, 9, 14)
        );
        assert!((decoded[1].confidence - 0.9).abs() < 1e-6);
    }
}
