//! `loan-oracle calibrate`: set a model's confidence threshold from labelled texts it was not
//! trained on.

use std::path::PathBuf;

use clap::Args;

use super::extract::ExtractArgs;
use crate::eval::score_values;
use crate::eval::{CALIBRATION_TARGET, calibrate};
use crate::train::data::read_samples;

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The trained model folder; its config.json gets the new threshold.
    #[arg(long)]
    model: PathBuf,
    /// Labelled JSONL the model was not trained on.
    #[arg(long)]
    data: PathBuf,
    /// Share of values that must be right at the chosen threshold.
    #[arg(long, default_value_t = CALIBRATION_TARGET)]
    target: f32,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let extractor = ExtractArgs::load_model(&args.model, "cpu")?;
    let samples = read_samples(&[&args.data])?;
    let scored = score_values(&extractor, &samples, 16)?;
    let thresholds = calibrate(&scored, args.target);
    let config_path = args.model.join("config.json");
    let mut settings = extractor.settings().clone();
    settings.thresholds = thresholds;
    std::fs::write(&config_path, serde_json::to_string_pretty(&settings)?)?;
    // The manifest records each file's hash; the config changed.
    let manifest_path = args.model.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
    manifest["files"]["config.json"] = crate::model::sha256_file(&config_path)?.into();
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)?;
    let accepted: Vec<&(f32, bool)> = scored
        .iter()
        .filter(|(c, _)| *c >= thresholds.span)
        .collect();
    let right = accepted.iter().filter(|(_, ok)| *ok).count();
    println!(
        "{}",
        serde_json::json!({
            "samples": samples.len(),
            "values": scored.len(),
            "threshold": thresholds.span,
            "accepted": accepted.len(),
            "precision": right as f64 / accepted.len().max(1) as f64,
            "recall": right as f64 / scored.iter().filter(|(_, ok)| *ok).count().max(1) as f64,
        })
    );
    Ok(())
}
