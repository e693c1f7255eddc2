//! `loan-oracle train`: fine-tune the extraction model.

use std::path::PathBuf;

use clap::Args;

use crate::model::parse_device;
use crate::train::{TrainOptions, train};

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The base model folder (config.json, model.safetensors, tokenizer.json).
    #[arg(long, default_value = "models/base/all-minilm-l6-v2")]
    base: PathBuf,
    /// Labelled JSONL files (`synth` output or the examples' format).
    #[arg(long, num_args = 1.., required = true)]
    data: Vec<PathBuf>,
    /// Where to write the trained model.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    #[arg(long, default_value_t = 3e-4)]
    lr: f64,
    /// Top encoder layers to train (the rest stay frozen and run once).
    #[arg(long, default_value_t = 2)]
    layers: usize,
    /// Train LoRA updates of this rank on every encoder layer (weights frozen) instead of
    /// whole top layers; `--layers` is then ignored.
    #[arg(long)]
    lora_rank: Option<usize>,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// Window length in tokens.
    #[arg(long, default_value_t = 256)]
    max_len: usize,
    /// Tokens shared by neighbouring windows.
    #[arg(long, default_value_t = 64)]
    overlap: usize,
    /// Share of samples held out for scoring each epoch.
    #[arg(long, default_value_t = 0.1)]
    holdout: f64,
    /// Epochs without held-out improvement before stopping.
    #[arg(long, default_value_t = 2)]
    patience: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// auto, cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let opts = TrainOptions {
        base: args.base,
        data: args.data,
        out: args.out,
        epochs: args.epochs,
        lr: args.lr,
        batch: args.batch,
        max_len: args.max_len,
        overlap: args.overlap,
        trained_layers: args.layers,
        lora_rank: args.lora_rank,
        holdout: args.holdout,
        patience: args.patience,
        seed: args.seed,
        device: parse_device(&args.device)?,
        progress: true,
    };
    let report = train(&opts)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "model_id": report.model_id,
            "out": opts.out,
            "samples": report.samples,
            "epochs_run": report.epochs_run,
            "best_epoch": report.best_epoch,
            "train_loss": report.train_loss,
            "holdout_loss": report.holdout_loss,
            "holdout_exact": report.holdout_exact.last(),
            "thresholds": report.thresholds,
            "seconds": report.feature_seconds + report.train_seconds,
        }))?
    );
    Ok(())
}
