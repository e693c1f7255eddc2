//! `loan-oracle calibrate`: set a model's confidence threshold from labelled texts it was not
//! trained on.

use std::path::PathBuf;

use clap::Args;

use super::extract::ExtractArgs;
use crate::eval::score_values;
use crate::eval::{CALIBRATION_TARGET, calibrate};
use crate::extract::Field;
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
    /// Where to draw coverage against precision per field (PNG).
    #[arg(long)]
    plot: Option<PathBuf>,
}

pub fn run(args: CalibrateArgs) -> anyhow::Result<()> {
    let extractor = ExtractArgs::load_model(&args.model, "cpu")?;
    let samples = read_samples(&[&args.data])?;
    let scored = score_values(&extractor, &samples, 16)?;
    let thresholds = calibrate(&scored, args.target);
    let config_path = args.model.join("config.json");
    let mut settings = extractor.settings().clone();
    settings.thresholds = thresholds.clone();
    std::fs::write(&config_path, serde_json::to_string_pretty(&settings)?)?;
    // The manifest records each file's hash; the config changed.
    let manifest_path = args.model.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)?;
    manifest["files"]["config.json"] = crate::model::sha256_file(&config_path)?.into();
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest)?)?;
    let mut fields = serde_json::Map::new();
    for field in [Field::Amount, Field::AprPercent, Field::TermDays] {
        let least = if settings.role_heads {
            thresholds.margin(field)
        } else {
            thresholds.span
        };
        let of_field: Vec<_> = scored.iter().filter(|(f, _, _)| *f == field).collect();
        let given: Vec<_> = of_field.iter().filter(|(_, c, _)| *c >= least).collect();
        let right = given.iter().filter(|(_, _, ok)| *ok).count();
        let right_total = of_field.iter().filter(|(_, _, ok)| *ok).count();
        fields.insert(
            format!("{field:?}").to_lowercase(),
            serde_json::json!({
                "threshold": least,
                "values": of_field.len(),
                "given": given.len(),
                "precision": right as f64 / given.len().max(1) as f64,
                "recall": right as f64 / right_total.max(1) as f64,
            }),
        );
    }
    if let Some(png) = &args.plot {
        crate::train::plot::coverage_png(png, &scored)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "samples": samples.len(),
            "target": args.target,
            "fields": fields,
        })
    );
    Ok(())
}
