//! Prints extraction latency for one text and throughput for a batch, on CPU, with the shipped
//! model over the shared examples.
//!
//! Run: `cargo run --example extract_bench [-- MODEL_DIR]` (the dev profile optimises every
//! dependency, so candle runs at full speed).

use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use loan_oracle::model::Extractor;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let model = std::env::args()
        .nth(1)
        .map_or_else(|| root.join("models/loan-terms-v1"), PathBuf::from);
    let started = Instant::now();
    let extractor = Extractor::load(&model, &Device::Cpu)?;
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let examples = std::fs::read_to_string(root.join("../shared/examples/loans.jsonl"))?;
    let texts: Vec<String> = examples
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .map(|v| v["text"].as_str().unwrap_or("").to_owned())
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    // One text at a time: median and p95 over every example, after one warm-up.
    extractor.extract(&refs[..1])?;
    let mut single: Vec<f64> = refs
        .iter()
        .map(|t| {
            let start = Instant::now();
            extractor
                .extract(&[t])
                .map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<anyhow::Result<_>>()?;
    single.sort_by(f64::total_cmp);
    let (p50, p95) = (
        single[single.len() / 2],
        single[(single.len() * 95 / 100).min(single.len() - 1)],
    );

    // Batches of 8 and 16 over all texts, three rounds.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "extract on CPU ({threads} threads), model {}",
        extractor.model_id()
    );
    println!("  load: {load_ms:.0} ms");
    println!(
        "  one text (n={}): p50 {p50:.1} ms, p95 {p95:.1} ms",
        single.len()
    );
    for batch in [8usize, 16] {
        let start = Instant::now();
        let rounds = 3;
        for _ in 0..rounds {
            for chunk in refs.chunks(batch) {
                extractor.extract(chunk)?;
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "  batch {batch}: {:.1} texts/s",
            (rounds * refs.len()) as f64 / seconds
        );
    }
    Ok(())
}
