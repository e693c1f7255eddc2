//! The role heads: what each candidate ([`crate::extract::candidates`]) is, decided from the
//! encoder's contextual vectors for the candidate's own tokens and the words either side.
//!
//! A candidate's vector is `[mean over its tokens ‖ mean over up to CONTEXT_LEFT tokens before
//! ‖ mean over up to CONTEXT_RIGHT tokens after]`, pooled from prefix sums so that training
//! differentiates through it; one linear head per kind maps it to that kind's roles.

use std::ops::Range;

use candle_core::{Module, Tensor};
use candle_nn::{Linear, VarBuilder, linear};

use crate::extract::candidates::Kind;

/// Tokens before a candidate that are pooled as its left context.
pub const CONTEXT_LEFT: usize = 16;
/// Tokens after a candidate that are pooled as its right context.
pub const CONTEXT_RIGHT: usize = 8;

/// Where a candidate's vector is pooled from, in one window: positions in the window's rows
/// (`[CLS]` is row 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pooling {
    /// The window (row of the batch).
    pub window: usize,
    pub span: Range<usize>,
    pub left: Range<usize>,
    pub right: Range<usize>,
}

/// The text tokens (indices into an encoding) that cover `start..end`; `None` when none does.
pub fn token_span(offsets: &[(usize, usize)], start: usize, end: usize) -> Option<Range<usize>> {
    let mut covering = offsets
        .iter()
        .enumerate()
        .filter(|(_, (ts, te))| *ts < end && *te > start && te > ts)
        .map(|(i, _)| i);
    let first = covering.next()?;
    let last = covering.next_back().unwrap_or(first);
    Some(first..last + 1)
}

/// The pooling of a candidate at text tokens `tokens` in window `window`, which holds text
/// tokens `held`; `None` unless the window holds all of the candidate.
pub fn pooling_in(window: usize, held: &Range<usize>, tokens: &Range<usize>) -> Option<Pooling> {
    if tokens.start < held.start || tokens.end > held.end || tokens.is_empty() {
        return None;
    }
    // Window row of text token `i` is `i - held.start + 1` (row 0 is `[CLS]`).
    let row = |i: usize| i - held.start + 1;
    let left_start = tokens.start.saturating_sub(CONTEXT_LEFT).max(held.start);
    let right_end = (tokens.end + CONTEXT_RIGHT).min(held.end);
    Some(Pooling {
        window,
        span: row(tokens.start)..row(tokens.end),
        left: row(left_start)..row(tokens.start),
        right: row(tokens.end)..row(right_end),
    })
}

/// How far a candidate sits from its window's edges, in tokens: the window where it is most
/// central sees the most of its context.
pub fn centrality(held: &Range<usize>, tokens: &Range<usize>) -> usize {
    tokens
        .start
        .saturating_sub(held.start)
        .min(held.end.saturating_sub(tokens.end))
}

/// One linear head per kind of candidate.
#[derive(Debug, Clone)]
pub struct RoleHeads {
    heads: Vec<(Kind, Linear)>,
}

impl RoleHeads {
    /// The width of a pooled candidate vector for an encoder of `hidden` units.
    pub fn input_width(hidden: usize) -> usize {
        3 * hidden
    }

    pub fn load(hidden: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let heads = Kind::ALL
            .into_iter()
            .map(|kind| {
                let head = linear(
                    Self::input_width(hidden),
                    kind.roles().len(),
                    vb.pp(kind.name()),
                )?;
                Ok((kind, head))
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self { heads })
    }

    /// Role logits (candidates, roles of `kind`) for candidates of one kind, pooled from
    /// `hidden` (windows, positions, hidden).
    pub fn forward(
        &self,
        kind: Kind,
        hidden: &Tensor,
        pooling: &[Pooling],
    ) -> candle_core::Result<Tensor> {
        let head = self
            .heads
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, h)| h)
            .ok_or_else(|| candle_core::Error::Msg(format!("no head for {kind:?}")))?;
        let pooled = pool(hidden, pooling)?;
        head.forward(&pooled)
    }
}

/// The pooled vectors (candidates, 3 × hidden): each a mean over rows of its window, taken as
/// the difference of two prefix sums, so memory and work grow with the number of candidates,
/// never with candidates × batch.
pub fn pool(hidden: &Tensor, pooling: &[Pooling]) -> candle_core::Result<Tensor> {
    let (windows, positions, width) = hidden.dims3()?;
    let device = hidden.device();
    if pooling.is_empty() || windows == 0 {
        return Tensor::zeros((0, 3 * width), hidden.dtype(), device);
    }
    // A zero row before each window's prefix sums: rows a..b sum to prefix[b] - prefix[a].
    let zeros = Tensor::zeros((windows, 1, width), hidden.dtype(), device)?;
    let prefix =
        Tensor::cat(&[zeros, hidden.cumsum(1)?], 1)?.reshape((windows * (positions + 1), width))?;
    let mean = |pick: fn(&Pooling) -> &Range<usize>| -> candle_core::Result<Tensor> {
        let n = pooling.len();
        let (mut starts, mut ends, mut scale) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for p in pooling {
            let range = pick(p);
            let a = range.start.min(positions);
            let b = range.end.clamp(a, positions);
            let base = p.window.min(windows - 1) * (positions + 1);
            starts.push((base + a) as u32);
            ends.push((base + b) as u32);
            scale.push(1.0 / (b - a).max(1) as f32);
        }
        let at = |rows: Vec<u32>| prefix.index_select(&Tensor::from_vec(rows, n, device)?, 0);
        (at(ends)? - at(starts)?)?.broadcast_mul(&Tensor::from_vec(scale, (n, 1), device)?)
    };
    Tensor::cat(
        &[mean(|p| &p.span)?, mean(|p| &p.left)?, mean(|p| &p.right)?],
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_spans_and_window_rows() {
        let offsets = [(0, 3), (4, 7), (7, 8), (9, 12)];
        assert_eq!(token_span(&offsets, 4, 8), Some(1..3));
        assert_eq!(token_span(&offsets, 8, 9), None);
        let p = pooling_in(2, &(1..4), &(1..3)).expect("held");
        assert_eq!((p.span, p.left, p.right), (1..3, 1..1, 3..4));
        assert_eq!(pooling_in(0, &(2..4), &(1..3)), None);
    }

    #[test]
    fn pooling_averages_rows() -> candle_core::Result<()> {
        let device = candle_core::Device::Cpu;
        let hidden = Tensor::from_vec((0..12).map(|v| v as f32).collect(), (2, 3, 2), &device)?;
        let pooling = [Pooling {
            window: 1,
            span: 1..3,
            left: 0..1,
            right: 3..3,
        }];
        let out = pool(&hidden, &pooling)?.to_vec2::<f32>()?;
        // Window 1 rows: [6,7], [8,9], [10,11].
        assert_eq!(out[0], vec![9.0, 10.0, 6.0, 7.0, 0.0, 0.0]);
        Ok(())
    }
}
