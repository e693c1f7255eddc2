//! Fuzzes the read path with proptest: no text, span, offset or probability may make it panic.
//!
//! Two runs, each printing how many inputs it read and whether anything failed:
//! 1. after the model: generated and mutated texts with arbitrary tagged spans, confidences,
//!    token offsets and tag probabilities, through decoding (`decode_spans`), the normalisers and
//!    rubric (`assemble`), and the candidates the readers propose (`propose`) with arbitrary role
//!    probabilities and stray candidates at any offsets with any value (`assemble_roles`), then
//!    the JSON and the ABI encoding of `LoanTerms`;
//! 2. the whole read path: the same kind of texts (and arbitrary bytes) through `check_text`, the
//!    real tokenizer and the shipped model (`Extractor::extract`), windows and all.
//!
//! Texts are built from fragments of the public examples, Chinese loan phrases (万, 亿, U+3000),
//! other scripts, multi-byte whitespace, zero-width and bidi marks, and numbers of up to 60
//! digits with separators and scales, then mutated (characters inserted, cut, repeated, swapped).
//! A failure is shrunk by proptest and printed; each one found becomes a unit test
//! (`src/extract/hostile.rs`).
//!
//! Run: `scripts/fuzz-extract.sh [--post-model N] [--full N] [--seed S] [--model DIR]`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use alloy::sol_types::SolValue;
use candle_core::Device;
use indicatif::{ProgressBar, ProgressStyle};
use loan_oracle::contracts::LoanTerms;
use loan_oracle::extract::candidates::{Candidate, CandidateValue, Kind, propose};
use loan_oracle::extract::{
    Entity, ScoredCandidate, TaggedSpan, TextClass, Thresholds, assemble, assemble_roles,
};
use loan_oracle::model::labels::NUM_TAGS;
use loan_oracle::model::windows::decode_spans;
use loan_oracle::model::{Extractor, check_text};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Settings from the command line.
struct Args {
    post_model: u32,
    full: u32,
    seed: u64,
    model: PathBuf,
}

fn args() -> anyhow::Result<Args> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut out = Args {
        post_model: 100_000,
        full: 2_000,
        seed: 8,
        model: root.join("models/loan-terms-v1"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--post-model" => out.post_model = value.parse()?,
            "--full" => out.full = value.parse()?,
            "--seed" => out.seed = value.parse()?,
            "--model" => out.model = value.into(),
            other => anyhow::bail!(
                "unknown flag {other}; use --post-model N --full N --seed S --model DIR"
            ),
        }
    }
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let fragments = example_fragments()?;
    // Panics are what we look for; proptest reports each one it keeps, so the default hook's
    // message for every shrinking step would only be noise.
    std::panic::set_hook(Box::new(|_| {}));

    let started = Instant::now();
    let post = run_post_model(&args, &fragments);
    let post_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let full = run_full(&args, &fragments)?;
    let full_secs = started.elapsed().as_secs_f64();
    let failed = post.is_err() || full.is_err();
    println!("fuzz-extract summary (seed {}):", args.seed);
    for (name, result, secs) in [
        ("after the model", &post, post_secs),
        ("whole read path", &full, full_secs),
    ] {
        match result {
            Ok(n) => println!("  {name}: {n} inputs in {secs:.0} s, no panic, nothing failed"),
            Err(e) => println!("  {name}: FAILED after {secs:.0} s: {e}"),
        }
    }
    if failed {
        anyhow::bail!("the fuzzer found a failure; make it a unit test, then fix it");
    }
    Ok(())
}

/// What the post-model run reads: a text, spans the "model" tagged, a class, and token offsets
/// with tag probabilities for the decoder.
#[derive(Debug, Clone)]
struct PostInput {
    text: String,
    spans: Vec<(usize, u32, u32, f32)>,
    class: ([f32; 3], f32),
    tokens: Vec<((u32, u32), Vec<f32>)>,
    /// Role probabilities for the proposed candidates (cycled), and extra candidates at any
    /// offsets: (kind, start, length, value kind, margin threshold).
    roles: Vec<Vec<f32>>,
    stray: Vec<(usize, u32, u32, u8)>,
    margin: f32,
}

fn run_post_model(args: &Args, fragments: &[String]) -> Result<u64, String> {
    let strategy = (
        text_strategy(fragments.to_vec()),
        prop::collection::vec(
            (0..Entity::ALL.len(), any::<u32>(), 0u32..64, confidence()),
            0..24,
        ),
        (prop::array::uniform3(probability()), probability()),
        prop::collection::vec(
            (
                (any::<u32>(), 0u32..24),
                prop::collection::vec(probability(), 0..NUM_TAGS + 3),
            ),
            0..96,
        ),
        prop::collection::vec(prop::collection::vec(probability(), 0..8), 1..12),
        prop::collection::vec((0..3usize, any::<u32>(), 0u32..64, any::<u8>()), 0..6),
        probability(),
    )
        .prop_map(
            |(text, spans, class, tokens, roles, stray, margin)| PostInput {
                text,
                spans,
                class,
                tokens,
                roles,
                stray,
                margin,
            },
        );
    let read = AtomicU64::new(0);
    let bar = progress(u64::from(args.post_model), "after the model");
    let mut runner = runner(args.post_model, args.seed);
    let result = runner.run(&strategy, |input| {
        read_post_model(&input);
        read.fetch_add(1, Ordering::Relaxed);
        bar.inc(1);
        Ok(())
    });
    bar.finish_and_clear();
    result
        .map(|()| read.load(Ordering::Relaxed))
        .map_err(|e| e.to_string())
}

/// Everything after the model, on one input.
fn read_post_model(input: &PostInput) {
    let text = input.text.as_str();
    let modulus = text.len() + 8;
    let spans: Vec<TaggedSpan> = input
        .spans
        .iter()
        .map(|&(entity, start, len, confidence)| {
            let start = start as usize % modulus;
            TaggedSpan {
                entity: Entity::ALL[entity],
                start,
                end: if len == 63 {
                    start / 2
                } else {
                    start + len as usize
                },
                confidence,
            }
        })
        .collect();
    let mut offsets = Vec::with_capacity(input.tokens.len());
    let mut probs = Vec::with_capacity(input.tokens.len());
    for ((start, len), row) in &input.tokens {
        let start = *start as usize % modulus;
        offsets.push((start, start + *len as usize));
        probs.push(row.clone());
    }
    let class = TextClass {
        tier: input.class.0,
        not_a_loan: input.class.1,
    };
    let thresholds = Thresholds::default();
    // The model's output as the decoder would have it, and spans straight from a "tagger".
    let decoded = decode_spans(text, &offsets, &probs);
    // Candidates as the readers propose them, with any role probabilities, and strays at any
    // offsets with any value, for the role path.
    let mut candidates: Vec<ScoredCandidate> = propose(text)
        .into_iter()
        .zip(input.roles.iter().cycle())
        .map(|(candidate, roles)| ScoredCandidate {
            candidate,
            roles: roles.clone(),
        })
        .collect();
    for &(kind, start, len, value) in &input.stray {
        let start = start as usize % modulus;
        let value = match value % 4 {
            0 => CandidateValue::Number(
                (rust_decimal::Decimal::MAX / rust_decimal::Decimal::from(255))
                    .checked_mul(rust_decimal::Decimal::from(value))
                    .unwrap_or(rust_decimal::Decimal::MAX),
            ),
            1 => CandidateValue::Days(u32::from(value) * 16_843_009),
            2 => CandidateValue::Unreadable,
            _ => CandidateValue::Unfit("fuzz".into()),
        };
        candidates.push(ScoredCandidate {
            candidate: Candidate {
                kind: Kind::ALL[kind],
                start,
                end: if len == 63 {
                    start / 2
                } else {
                    start + len as usize
                },
                value,
                currency: (len % 2 == 0).then_some((start + 1, start / 3)),
            },
            roles: input.roles[0].clone(),
        });
    }
    let margins = Thresholds {
        span: input.margin,
        ..Thresholds::open()
    };
    for spans in [decoded, spans] {
        let out = assemble(text, &spans, class, thresholds.clone());
        let _ = out.to_json(true).to_string();
        let _ = LoanTerms::from(&out).abi_encode();
        for t in [&thresholds, &margins] {
            let out = assemble_roles(text, &spans, &candidates, class, t);
            let _ = out.to_json(true).to_string();
            let _ = LoanTerms::from(&out).abi_encode();
        }
    }
}

fn run_full(args: &Args, fragments: &[String]) -> anyhow::Result<Result<u64, String>> {
    let extractor = Extractor::load(&args.model, &Device::Cpu)?;
    // Eight texts a case, read as one batch as the node does; some are arbitrary bytes.
    let texts = prop_oneof![
        9 => text_strategy(fragments.to_vec()).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..400),
    ];
    let strategy = prop::collection::vec(texts, 8);
    let cases = args.full.div_ceil(8);
    let read = AtomicU64::new(0);
    let bar = progress(u64::from(cases) * 8, "whole read path");
    let mut runner = runner(cases, args.seed.wrapping_add(1));
    let result = runner.run(&strategy, |batch| {
        let texts: Vec<&str> = batch.iter().filter_map(|b| check_text(b).ok()).collect();
        extractor
            .extract(&texts)
            .map_err(|e| TestCaseError::fail(format!("the model failed: {e:#}")))?;
        read.fetch_add(batch.len() as u64, Ordering::Relaxed);
        bar.inc(batch.len() as u64);
        Ok(())
    });
    bar.finish_and_clear();
    Ok(result
        .map(|()| read.load(Ordering::Relaxed))
        .map_err(|e| e.to_string()))
}

fn runner(cases: u32, seed: u64) -> TestRunner {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    )
}

fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Any `f32`, with the special values weighted in.
fn probability() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => 0.0f32..=1.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => any::<f32>(),
    ]
}

fn confidence() -> impl Strategy<Value = f32> {
    prop_oneof![8 => 0.4f32..=1.0, 2 => probability()]
}

/// Fragments of the public examples: whole texts, their lines and their words.
fn example_fragments() -> anyhow::Result<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/loans.jsonl");
    let mut out = Vec::new();
    for line in std::fs::read_to_string(&path)?.lines() {
        let value: serde_json::Value = serde_json::from_str(line)?;
        let text = value["text"].as_str().unwrap_or_default();
        out.push(text.to_owned());
        out.extend(text.lines().map(str::to_owned));
        out.extend(text.split(' ').map(str::to_owned));
    }
    out.retain(|f| !f.is_empty());
    Ok(out)
}

/// Chinese loan phrases, with the figures Chinese contracts write.
const CHINESE: &[&str] = &[
    "借款合同",
    "借条",
    "今借到",
    "人民币",
    "\u{3000}500,000.00\u{3000}元",
    "伍拾万元整",
    "5万元",
    "1.2亿元",
    "年利率\u{3000}6.5%\u{3000}",
    "月利率0.5%",
    "借款期限为\u{3000}24\u{3000}个月",
    "自2026年3月1日起至2028年2月29日止",
    "逾期按日万分之五计收罚息",
    "除另有约定外",
    "抵押率约为\u{3000}41.7%\u{3000}",
    "甲方（盖章）：　　　　",
    "￥５０，０００",
    "第一条\u{3000}借款金额",
];

/// Other scripts and marks.
const SCRIPTS: &[&str] = &[
    "قرض بمبلغ ٥٠٬٠٠٠ دولار",
    "ऋण राशि ₹५,००,००० ब्याज 9%",
    "เงินกู้ ๕๐,๐๐๐ บาท",
    "Кредит 1 500 000 ₽ под 12,5 % годовых",
    "대출금 5,000만 원",
    "融資額 ３億円",
    "e\u{301}\u{302}\u{303}",
    "😀👨‍👩‍👧‍👦🏳️‍🌈",
    "\u{202e}%5.9\u{202c}",
    "\u{200f}USD\u{200f}",
    "\u{fffd}\u{fffd}",
    "Ⅻ ⅻ ½ ¼ ¾ ⁵ ₅",
];

const MARKS: &[char] = &[
    ' ', '\n', '\t', '\u{3000}', '\u{a0}', '\u{2009}', '\u{202f}', '\u{200b}', '\u{200c}',
    '\u{200d}', '\u{200e}', '\u{200f}', '\u{202e}', '\u{feff}', '\u{2028}', '\u{85}',
];

const SCALES: &[&str] = &[
    "",
    "",
    "",
    " million",
    " billion",
    "bn",
    "k",
    "M",
    " thousand",
    "万",
    "亿",
    " lakh",
    " crore",
    " Mio.",
    "%",
    " percent",
    " bps",
    " years",
    " months",
    " days",
    " weeks",
];

/// A number as texts write it, or as no field can hold it: up to 60 digits, grouped with any
/// separator, with a scale or unit after it.
fn number() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0u8..10, 1..60),
        prop::sample::select(vec![
            "", ",", ".", " ", "'", "\u{a0}", "\u{202f}", "\u{3000}",
        ]),
        0usize..5,
        prop::option::of(prop::collection::vec(0u8..10, 1..6)),
        prop::sample::select(SCALES),
    )
        .prop_map(|(digits, separator, group, fraction, scale)| {
            let mut out = String::new();
            for (i, d) in digits.iter().enumerate() {
                if group > 0 && i > 0 && (digits.len() - i) % (group + 1) == 0 {
                    out.push_str(separator);
                }
                out.push(char::from(b'0' + d));
            }
            if let Some(fraction) = fraction {
                out.push(if separator == "," { '.' } else { ',' });
                out.extend(fraction.iter().map(|d| char::from(b'0' + d)));
            }
            out.push_str(scale);
            out
        })
}

/// One piece of a text.
fn piece(fragments: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(fragments),
        3 => number(),
        2 => prop::sample::select(CHINESE).prop_map(str::to_owned),
        1 => prop::sample::select(SCRIPTS).prop_map(str::to_owned),
        3 => prop::sample::select(MARKS).prop_map(String::from),
        1 => any::<String>(),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// An edit of a text, applied at character positions.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(usize, char),
    Cut(usize, usize),
    Repeat(usize, usize, usize),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let mark = prop::sample::select(MARKS);
    prop_oneof![
        3 => (any::<usize>(), prop_oneof![mark, any::<char>()]).prop_map(|(at, c)| Mutation::Insert(at, c)),
        2 => (any::<usize>(), 0usize..12).prop_map(|(at, n)| Mutation::Cut(at, n)),
        1 => (any::<usize>(), 1usize..40, 1usize..30).prop_map(|(at, n, times)| Mutation::Repeat(at, n, times)),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn mutate(text: String, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        let len = chars.len().max(1);
        match *m {
            Mutation::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
            Mutation::Cut(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            Mutation::Repeat(at, n, times) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                if at < end && chars.len() < 6_000 {
                    let part: Vec<char> = chars[at..end].to_vec();
                    for _ in 0..times {
                        chars.splice(end..end, part.iter().copied());
                    }
                }
            }
            Mutation::Swap(a, b) if !chars.is_empty() => chars.swap(a % len, b % len),
            Mutation::Swap(..) => {}
        }
    }
    chars.into_iter().collect()
}

/// A text: pieces joined by marks or nothing, then mutated; at most 16 KiB, as the hub takes.
fn text_strategy(fragments: Vec<String>) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (piece(fragments), prop::sample::select(MARKS), any::<bool>()),
            0..40,
        ),
        prop::collection::vec(mutation(), 0..8),
    )
        .prop_map(|(pieces, mutations)| {
            let mut text = String::new();
            for (piece, mark, joined) in pieces {
                text.push_str(&piece);
                if !joined {
                    text.push(mark);
                }
            }
            let mut text = mutate(text, &mutations);
            while text.len() > 16_384 {
                text.pop();
            }
            text
        })
}
