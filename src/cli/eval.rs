//! `loan-oracle eval`: score a model on labelled texts.

use std::path::PathBuf;

use clap::Args;

use super::extract::ExtractArgs;
use crate::eval::{FIELDS, evaluate};
use crate::train::data::read_samples;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The trained model folder.
    #[arg(long, default_value = "models/loan-terms-v1")]
    model: PathBuf,
    /// Labelled JSONL.
    #[arg(long)]
    data: PathBuf,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
    /// auto, cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let extractor = ExtractArgs::load_model(&args.model, &args.device)?;
    let samples = read_samples(&[&args.data])?;
    let report = evaluate(&extractor, &samples, 16)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("{} samples, model {}", report.samples, extractor.model_id());
    for field in FIELDS {
        println!("  {field:<12} {:>6.1} %", report.exact[field] * 100.0);
    }
    println!("  confident wrong values: {}", report.confident_wrong);
    println!("  risk tier (rows expected, columns predicted: low medium high none)");
    for (name, row) in ["low", "medium", "high", "none"]
        .iter()
        .zip(report.tier_confusion)
    {
        println!(
            "    {name:<7} {:>5} {:>5} {:>5} {:>5}",
            row[0], row[1], row[2], row[3]
        );
    }
    for m in &report.mistakes {
        println!("  {} wrong {}: got {}", m["id"], m["wrong"], m["got"]);
    }
    Ok(())
}
