//! `loan-oracle synth`: generate labelled training texts.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// How many texts to generate.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Seed: the same seed gives the same texts.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output JSONL (the examples' format plus every entity span).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: SynthArgs) -> anyhow::Result<()> {
    let samples = crate::synth::generate(args.count, args.seed);
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for sample in &samples {
        serde_json::to_writer(&mut out, sample)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let loans = samples
        .iter()
        .filter(|s| s.expected["status"] != "not_a_loan")
        .count();
    tracing::info!(count = samples.len(), loans, path = %args.out.display(), "wrote synthetic samples");
    Ok(())
}
