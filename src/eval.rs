//! Evaluation: how often a model's values equal the labels, the risk-tier confusion matrix, and
//! how many values it gave confidently that were wrong.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::extract::{Extraction, Field, TaggedSpan, TextClass, Thresholds, assemble};
use crate::model::Extractor;
use crate::synth::Sample;

/// The fields scored by exact match.
pub const FIELDS: [&str; 6] = [
    "status",
    "amount",
    "currency",
    "apr_percent",
    "term_days",
    "risk_tier",
];
const TIERS: [&str; 4] = ["low", "medium", "high", "none"];

/// The figures of an evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub samples: usize,
    /// Share of samples whose value equals the label, per field.
    pub exact: BTreeMap<String, f64>,
    /// Rows: expected tier (low, medium, high, none); columns: predicted.
    pub tier_confusion: [[usize; 4]; 4],
    /// Values given (not null) that differ from the label.
    pub confident_wrong: usize,
    /// Of those, the ones given under status `ok`: what a consumer would act on.
    pub wrong_under_ok: usize,
    /// The samples with a wrong field, with what was expected and what came out.
    pub mistakes: Vec<serde_json::Value>,
    /// For every sample, in order: the fields it got wrong and how many of them were given
    /// (not null).
    #[serde(skip)]
    pub per_sample: Vec<SampleScore>,
}

/// One sample's score.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleScore {
    pub wrong: Vec<&'static str>,
    pub confident_wrong: usize,
    /// Wrong values given under status `ok`.
    pub wrong_under_ok: usize,
}

/// The scores of one group of samples (one genre, one language).
#[derive(Debug, Clone, Serialize)]
pub struct GroupScore {
    pub group: String,
    pub samples: usize,
    /// Share right per field, in [`FIELDS`] order.
    pub exact: Vec<f64>,
    /// Samples with every field right.
    pub all_right: f64,
    pub confident_wrong: usize,
    pub wrong_under_ok: usize,
}

/// Scores per group: `key` names each sample's group (`None`: "unknown").
pub fn breakdown(
    samples: &[Sample],
    report: &EvalReport,
    key: impl Fn(&Sample) -> Option<&str>,
) -> Vec<GroupScore> {
    let mut groups: BTreeMap<String, Vec<&SampleScore>> = BTreeMap::new();
    for (sample, score) in samples.iter().zip(&report.per_sample) {
        let group = key(sample).unwrap_or("unknown").to_owned();
        groups.entry(group).or_default().push(score);
    }
    groups
        .into_iter()
        .map(|(group, scores)| {
            let n = scores.len().max(1) as f64;
            let exact = FIELDS
                .iter()
                .map(|f| scores.iter().filter(|s| !s.wrong.contains(f)).count() as f64 / n)
                .collect();
            GroupScore {
                group,
                samples: scores.len(),
                exact,
                all_right: scores.iter().filter(|s| s.wrong.is_empty()).count() as f64 / n,
                confident_wrong: scores.iter().map(|s| s.confident_wrong).sum(),
                wrong_under_ok: scores.iter().map(|s| s.wrong_under_ok).sum(),
            }
        })
        .collect()
}

/// What the normalisers read from a sample's own labelled spans, with no model: the mechanical
/// check that each label is what its evidence says.
pub fn read_gold_spans(sample: &Sample) -> Extraction {
    let spans: Vec<TaggedSpan> = crate::train::data::entity_spans(sample)
        .into_iter()
        .map(|(entity, start, end)| TaggedSpan {
            entity,
            start,
            end,
            confidence: 1.0,
        })
        .collect();
    let class = TextClass {
        tier: [0.34, 0.33, 0.33],
        not_a_loan: 0.0,
    };
    assemble(&sample.text, &spans, class, Thresholds::default())
}

/// Runs the model over labelled samples, in batches.
pub fn evaluate(
    extractor: &Extractor,
    samples: &[Sample],
    batch: usize,
) -> anyhow::Result<EvalReport> {
    let mut right: BTreeMap<String, usize> = FIELDS.iter().map(|f| (f.to_string(), 0)).collect();
    let mut confusion = [[0usize; 4]; 4];
    let mut confident_wrong = 0;
    let mut wrong_under_ok = 0;
    let mut mistakes = Vec::new();
    let mut per_sample = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(batch.max(1)) {
        let texts: Vec<&str> = chunk.iter().map(|s| s.text.as_str()).collect();
        for (sample, out) in chunk.iter().zip(extractor.extract(&texts)?) {
            let got = out.to_json(false);
            let want = &sample.expected;
            let (score, _) = score(want, &out);
            for field in FIELDS {
                if !score.wrong.contains(&field) {
                    *right.entry(field.into()).or_default() += 1;
                }
            }
            confident_wrong += score.confident_wrong;
            wrong_under_ok += score.wrong_under_ok;
            let wrong = score.wrong.clone();
            per_sample.push(score);
            let tier_index = |v: &serde_json::Value| {
                TIERS
                    .iter()
                    .position(|t| v.as_str() == Some(t))
                    .unwrap_or(3)
            };
            confusion[tier_index(&value(want, "risk_tier"))]
                [tier_index(&value(&got, "risk_tier"))] += 1;
            if !wrong.is_empty() {
                mistakes.push(serde_json::json!({ "id": sample.id, "wrong": wrong, "expected": want, "got": got }));
            }
        }
    }
    let n = samples.len().max(1) as f64;
    Ok(EvalReport {
        samples: samples.len(),
        exact: right.into_iter().map(|(k, v)| (k, v as f64 / n)).collect(),
        tier_confusion: confusion,
        confident_wrong,
        wrong_under_ok,
        mistakes,
        per_sample,
    })
}

/// Reads every sample with no confidence floor and returns, for each amount, rate and term
/// value read, its confidence and whether it equals the label: what calibration needs.
pub fn score_values(
    extractor: &Extractor,
    samples: &[Sample],
    batch: usize,
) -> anyhow::Result<Scored> {
    let mut scored = Scored::new();
    let open = Thresholds::open();
    for chunk in samples.chunks(batch.max(1)) {
        let texts: Vec<&str> = chunk.iter().map(|s| s.text.as_str()).collect();
        for (sample, reading) in chunk.iter().zip(extractor.read(&texts)?) {
            let out = extractor.assemble(&sample.text, &reading, &open);
            scored.extend(score(&sample.expected, &out).1);
        }
    }
    Ok(scored)
}

/// Scores one extraction against its labels: the fields it got wrong (and how many of those it
/// gave, and gave under status `ok`), and each amount, rate and term it read with the span's
/// confidence and whether the value is right (what calibration needs). The one scoring rule,
/// for `eval`, `calibrate` and training's held-out figures alike.
pub fn score(expected: &serde_json::Value, out: &Extraction) -> (SampleScore, Scored) {
    let got = out.to_json(false);
    let mut score = SampleScore::default();
    for field in FIELDS {
        let (w, g) = (value(expected, field), value(&got, field));
        if w != g {
            score.wrong.push(field);
            if !g.is_null() && field != "status" {
                score.confident_wrong += 1;
                if got["status"] == "ok" {
                    score.wrong_under_ok += 1;
                }
            }
        }
    }
    let values = [
        (Field::Amount, "amount"),
        (Field::AprPercent, "apr_percent"),
        (Field::TermDays, "term_days"),
    ]
    .into_iter()
    .filter_map(|(field, name)| {
        let confidence = out.confidence.get(&field)?;
        Some((
            field,
            *confidence,
            value(&got, name) == value(expected, name),
        ))
    })
    .collect();
    (score, values)
}

/// Values read from labelled texts: each one's field, confidence and whether it was right.
pub type Scored = Vec<(Field, f32, bool)>;

/// The share of values right that calibration asks for at the chosen threshold.
pub const CALIBRATION_TARGET: f32 = 0.995;

/// Thresholds from values read with every threshold open: per field, the least confidence
/// (in steps of 0.01) from which on every higher threshold keeps at least `target` of the
/// values given right ([`Thresholds::NEVER`], nothing given, where none does); `span`, for models that tag
/// spans, the least of 0.30, 0.35 ... 0.95 that reaches `target` over all fields. Values below
/// are withheld: better a null than a confident wrong value.
pub fn calibrate(scored: &Scored, target: f32) -> Thresholds {
    let precision = |field: Option<Field>, t: f32| {
        let accepted: Vec<_> = scored
            .iter()
            .filter(|(f, c, _)| field.is_none_or(|x| x == *f) && *c >= t)
            .collect();
        let right = accepted.iter().filter(|(_, _, ok)| *ok).count();
        (!accepted.is_empty()).then(|| right as f32 / accepted.len() as f32)
    };
    let grid: Vec<f32> = (0..=100).map(|c| c as f32 / 100.0).collect();
    let fields = [Field::Amount, Field::AprPercent, Field::TermDays]
        .into_iter()
        .map(|field| {
            let holds = |i: usize| {
                grid[i..]
                    .iter()
                    .all(|&t| precision(Some(field), t).is_none_or(|p| p >= target))
            };
            // A threshold of 1 gives nothing in theory but a margin of exactly 1 in f32.
            let least = (0..grid.len())
                .find(|&i| holds(i))
                .map(|i| grid[i])
                .filter(|t| *t < 1.0)
                .unwrap_or(Thresholds::NEVER);
            (field, least)
        })
        .collect();
    let coarse: Vec<f32> = (30..=95).step_by(5).map(|c| c as f32 / 100.0).collect();
    let span = coarse
        .iter()
        .copied()
        .find(|&t| precision(None, t).is_some_and(|p| p >= target))
        .unwrap_or(0.95);
    Thresholds {
        span,
        not_a_loan: 0.5,
        fields,
    }
}

/// Coverage and precision of each field's values at every threshold from 0 to 1 in steps of
/// 0.01: (threshold, share of right values given, share of given values right).
pub fn coverage_curve(scored: &Scored, field: Field) -> Vec<(f32, f32, f32)> {
    let of_field: Vec<_> = scored.iter().filter(|(f, _, _)| *f == field).collect();
    let right_total = of_field.iter().filter(|(_, _, ok)| *ok).count().max(1) as f32;
    (0..=100)
        .filter_map(|c| {
            let t = c as f32 / 100.0;
            let given: Vec<_> = of_field.iter().filter(|(_, conf, _)| *conf >= t).collect();
            let right = given.iter().filter(|(_, _, ok)| *ok).count() as f32;
            (!given.is_empty()).then(|| (t, right / right_total, right / given.len() as f32))
        })
        .collect()
}

fn value(json: &serde_json::Value, field: &str) -> serde_json::Value {
    json.get(field).cloned().unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_sit_above_every_confident_mistake() {
        // Amounts: right from 0.2 up, one mistake at 0.6; rates: always right; terms: a
        // mistake at the top, so nothing can be given at 99.5 %.
        let mut scored: Scored = (0..100)
            .map(|i| (Field::Amount, 0.2 + i as f32 * 0.008, true))
            .collect();
        scored.push((Field::Amount, 0.6, false));
        scored.extend((0..50).map(|i| (Field::AprPercent, i as f32 / 50.0, true)));
        scored.push((Field::TermDays, 0.99, false));
        scored.push((Field::TermDays, 0.5, true));
        let t = calibrate(&scored, 0.995);
        assert_eq!(t.margin(Field::Amount), 0.61);
        assert_eq!(t.margin(Field::AprPercent), 0.0);
        assert_eq!(t.margin(Field::TermDays), Thresholds::NEVER);

        let curve = coverage_curve(&scored, Field::Amount);
        let (_, coverage, precision) = curve[61];
        assert!(precision == 1.0 && coverage < 1.0 && coverage > 0.4);
        assert!(
            curve[0].2 < 1.0,
            "everything given at 0 includes the mistake"
        );
    }

    #[test]
    fn the_coverage_plot_is_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coverage.png");
        let scored: Scored = (0..20)
            .map(|i| (Field::ALL_VALUES[i % 3], i as f32 / 20.0, i % 7 != 0))
            .collect();
        crate::train::plot::coverage_png(&path, &scored).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let info = decoder.read_info().unwrap().info().clone();
        assert_eq!((info.width, info.height), (800, 500));
    }
}
