//! `loan-oracle eval`: score a model on labelled texts.

use std::path::PathBuf;

use clap::Args;

use super::extract::ExtractArgs;
use crate::eval::{EvalReport, FIELDS, breakdown, evaluate};
use crate::synth::Sample;
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
    /// Also score per group of samples: `genre`, `language` or `convention` (repeatable).
    #[arg(long, value_parser = ["genre", "language", "convention"])]
    by: Vec<String>,
    /// Do not list the mistakes.
    #[arg(long)]
    quiet: bool,
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
    println!(
        "  all fields right: {:.1} %",
        report
            .per_sample
            .iter()
            .filter(|s| s.wrong.is_empty())
            .count() as f64
            * 100.0
            / report.samples.max(1) as f64
    );
    println!("  confident wrong values: {}", report.confident_wrong);
    println!("  wrong values under status ok: {}", report.wrong_under_ok);
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
    for key in &args.by {
        print_breakdown(&samples, &report, key);
    }
    if !args.quiet {
        for m in &report.mistakes {
            println!("  {} wrong {}: got {}", m["id"], m["wrong"], m["got"]);
        }
    }
    Ok(())
}

/// One line per group: its size and the share right per field.
fn print_breakdown(samples: &[Sample], report: &EvalReport, key: &str) {
    let groups = breakdown(samples, report, |s| match key {
        "genre" => s.genre.as_deref(),
        "language" => s.language.as_deref(),
        _ => s.convention.as_deref(),
    });
    let width = groups
        .iter()
        .map(|g| g.group.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!("  by {key}:");
    let names: Vec<String> = FIELDS.iter().map(|f| format!("{:>8}", short(f))).collect();
    println!(
        "    {:<width$} {:>5} {} {:>8} {:>7} {:>6}",
        key,
        "n",
        names.join(""),
        "all",
        "wrong",
        "at ok"
    );
    for g in groups {
        let cells: Vec<String> = g.exact.iter().map(|e| format!("{:>8.2}", e)).collect();
        println!(
            "    {:<width$} {:>5} {} {:>8.2} {:>7} {:>6}",
            g.group,
            g.samples,
            cells.join(""),
            g.all_right,
            g.confident_wrong,
            g.wrong_under_ok
        );
    }
}

fn short(field: &str) -> &str {
    match field {
        "apr_percent" => "apr",
        "term_days" => "term",
        "currency" => "cur",
        "risk_tier" => "tier",
        other => other,
    }
}
