//! Fine-tuning: the top encoder layers and both heads trained on labelled texts. The frozen
//! lower layers' outputs are computed once per window, so each step runs only the top layers.

pub mod data;
pub mod plot;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use candle_core::{D, DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::candidates::Kind;
use crate::extract::{ScoredCandidate, Thresholds, assemble_roles};
use crate::model::bert::{
    BertConfig, Embeddings, Layer, LowRankSource, Mode, additive_mask, layer_linears, seed_dropout,
};
use crate::model::labels::{CLASSES, NUM_TAGS, tag_names};
use crate::model::{
    Heads, ModelSettings, SCHEMA_VERSION, SpecialTokens, load_tokenizer, merge_windows, read_json,
    roles::RoleHeads, sha256_file,
};
use crate::synth::Sample;
use data::{IGNORE, Window, make_windows};

/// Steps averaged into each point of the training-loss curve.
pub const LOSS_EVERY: usize = 10;

/// What `loan-oracle train` was asked to do.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub base: PathBuf,
    pub data: Vec<PathBuf>,
    pub out: PathBuf,
    pub epochs: usize,
    pub lr: f64,
    pub batch: usize,
    pub max_len: usize,
    pub overlap: usize,
    pub trained_layers: usize,
    /// LoRA on every layer at this rank instead of training the top layers whole.
    pub lora_rank: Option<usize>,
    pub holdout: f64,
    pub patience: usize,
    pub seed: u64,
    pub device: Device,
    pub progress: bool,
}

/// The figures of a training run, written to `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainReport {
    pub model_id: String,
    pub samples: usize,
    pub train_windows: usize,
    pub holdout_samples: usize,
    pub epochs_run: usize,
    pub best_epoch: usize,
    pub train_loss: Vec<f32>,
    /// Training loss averaged over each run of `LOSS_EVERY` steps, for the curve.
    pub step_loss: Vec<f32>,
    pub holdout_loss: Vec<f32>,
    pub holdout_exact: Vec<HashMap<String, f32>>,
    pub thresholds: Thresholds,
    pub feature_seconds: f64,
    pub train_seconds: f64,
    pub options: serde_json::Value,
}

/// The trainable part: top layers (whole, or frozen with LoRA updates) and heads, over a var
/// map.
pub struct Trainable {
    pub varmap: VarMap,
    pub layers: Vec<Layer>,
    pub heads: Heads,
    pub roles: RoleHeads,
    /// The LoRA rank when every layer is frozen and only their low-rank updates train.
    pub low_rank: Option<usize>,
}

/// LoRA's alpha: the update is scaled by alpha / rank, so changing the rank keeps its size.
pub const LORA_ALPHA: f64 = 16.0;

/// Copies the top `trained` layers from the base weights and initialises the heads from `seed`.
pub fn trainable(
    base: &HashMap<String, Tensor>,
    config: &BertConfig,
    trained: usize,
    seed: u64,
    device: &Device,
) -> anyhow::Result<Trainable> {
    let varmap = VarMap::new();
    let first = config.num_hidden_layers - trained;
    {
        let mut vars = lock(&varmap)?;
        for i in first..config.num_hidden_layers {
            let prefix = format!("encoder.layer.{i}.");
            for (name, tensor) in base.iter().filter(|(n, _)| n.starts_with(&prefix)) {
                vars.insert(name.clone(), Var::from_tensor(&tensor.to_device(device)?)?);
            }
        }
        insert_heads(&mut vars, config.hidden_size, seed, device)?;
    }
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let layers = (first..config.num_hidden_layers)
        .map(|i| Layer::load(config, vb.pp(format!("encoder.layer.{i}"))))
        .collect::<candle_core::Result<Vec<_>>>()?;
    finish_trainable(varmap, layers, None, config.hidden_size, device)
}

/// Every encoder layer frozen, each of its linear maps with a LoRA update of `rank` (A small
/// and random from `seed`, B zero), and the heads.
pub fn trainable_low_rank(
    base: &HashMap<String, Tensor>,
    config: &BertConfig,
    rank: usize,
    seed: u64,
    device: &Device,
) -> anyhow::Result<Trainable> {
    anyhow::ensure!(rank > 0, "the LoRA rank must be at least 1");
    let varmap = VarMap::new();
    let h = config.hidden_size;
    {
        let mut vars = lock(&varmap)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4c4f_5241);
        for i in 0..config.num_hidden_layers {
            for (name, input, output) in layer_linears(config) {
                let prefix = format!("lora.encoder.layer.{i}.{name}");
                // A as in LoRA's reference code (Kaiming-scaled), B zero: the update starts at 0.
                let normal = Normal::new(0.0f32, (1.0 / input as f32).sqrt())
                    .context("normal distribution")?;
                let a: Vec<f32> = (0..rank * input).map(|_| normal.sample(&mut rng)).collect();
                vars.insert(
                    format!("{prefix}.lora_a"),
                    Var::from_tensor(&Tensor::from_vec(a, (rank, input), device)?)?,
                );
                vars.insert(
                    format!("{prefix}.lora_b"),
                    Var::from_tensor(&Tensor::zeros((output, rank), DType::F32, device)?)?,
                );
            }
        }
        insert_heads(&mut vars, h, seed, device)?;
    }
    let frozen = VarBuilder::from_tensors(base.clone(), DType::F32, device);
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let layers = (0..config.num_hidden_layers)
        .map(|i| {
            let source = LowRankSource {
                vb: vb.pp(format!("lora.encoder.layer.{i}")),
                rank,
                alpha: LORA_ALPHA,
            };
            Layer::load_with(
                config,
                frozen.pp(format!("encoder.layer.{i}")),
                Some(&source),
            )
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    finish_trainable(varmap, layers, Some(rank), h, device)
}

fn lock(varmap: &VarMap) -> anyhow::Result<std::sync::MutexGuard<'_, HashMap<String, Var>>> {
    varmap
        .data()
        .lock()
        .map_err(|_| anyhow::anyhow!("var map poisoned"))
}

/// The token, class and role heads: small normal weights from the run's seed (candle's own
/// generator is unseeded), zero biases.
fn insert_heads(
    vars: &mut HashMap<String, Var>,
    hidden: usize,
    seed: u64,
    device: &Device,
) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4845_4144);
    let normal = Normal::new(0.0f32, 0.02).context("normal distribution")?;
    let mut heads = vec![
        ("heads.token".to_owned(), NUM_TAGS, hidden),
        ("heads.class".to_owned(), CLASSES.len(), hidden),
    ];
    for kind in Kind::ALL {
        heads.push((
            format!("roles.{}", kind.name()),
            kind.roles().len(),
            RoleHeads::input_width(hidden),
        ));
    }
    for (name, rows, cols) in heads {
        let weights: Vec<f32> = (0..rows * cols).map(|_| normal.sample(&mut rng)).collect();
        vars.insert(
            format!("{name}.weight"),
            Var::from_tensor(&Tensor::from_vec(weights, (rows, cols), device)?)?,
        );
        vars.insert(
            format!("{name}.bias"),
            Var::from_tensor(&Tensor::zeros(rows, DType::F32, device)?)?,
        );
    }
    Ok(())
}

fn finish_trainable(
    varmap: VarMap,
    layers: Vec<Layer>,
    low_rank: Option<usize>,
    hidden: usize,
    device: &Device,
) -> anyhow::Result<Trainable> {
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let heads = Heads::load(hidden, vb.pp("heads"))?;
    let roles = RoleHeads::load(hidden, vb.pp("roles"))?;
    Ok(Trainable {
        varmap,
        layers,
        heads,
        roles,
        low_rank,
    })
}

impl Trainable {
    /// The weights a model folder keeps: the trained layers (LoRA updates folded into their
    /// weights, so the reader loads plain layers) and the heads.
    pub fn export(&self) -> anyhow::Result<HashMap<String, Tensor>> {
        let vars = lock(&self.varmap)?;
        let mut out: HashMap<String, Tensor> = vars
            .iter()
            .filter(|(name, _)| !name.starts_with("lora."))
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        // With LoRA, `layers` holds every layer from the first.
        if self.low_rank.is_some() {
            for (n, layer) in self.layers.iter().enumerate() {
                let prefix = format!("encoder.layer.{n}.");
                for (name, tensor) in layer.merged_linears()?.into_iter().chain(layer.norms()) {
                    out.insert(format!("{prefix}{name}"), tensor);
                }
            }
        }
        Ok(out)
    }
}

/// The frozen layers' output for every window, computed once (batched by length).
pub fn frozen_features(
    base: &HashMap<String, Tensor>,
    config: &BertConfig,
    trained: usize,
    windows: &[Window],
    pad: u32,
    device: &Device,
    progress: &ProgressBar,
) -> anyhow::Result<Vec<Tensor>> {
    let vb = VarBuilder::from_tensors(base.clone(), DType::F32, device);
    let embeddings = Embeddings::load(config, vb.pp("embeddings"))?;
    let frozen = (0..config.num_hidden_layers - trained)
        .map(|i| Layer::load(config, vb.pp(format!("encoder.layer.{i}"))))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_by_key(|&i| windows[i].ids.len());
    let mut features: Vec<Option<Tensor>> = vec![None; windows.len()];
    for chunk in order.chunks(16) {
        let width = chunk
            .iter()
            .map(|&i| windows[i].ids.len())
            .max()
            .unwrap_or(1);
        let (ids, mask) = pad_ids(
            chunk.iter().map(|&i| &windows[i].ids[..]),
            width,
            pad,
            device,
        )?;
        let additive = additive_mask(&mask)?;
        let mut hidden = embeddings.forward(&ids, Mode::Infer)?;
        for layer in &frozen {
            hidden = layer.forward(&hidden, &additive, Mode::Infer)?;
        }
        for (row, &i) in chunk.iter().enumerate() {
            features[i] = Some(
                hidden
                    .get(row)?
                    .narrow(0, 0, windows[i].ids.len())?
                    .contiguous()?,
            );
        }
        progress.inc(chunk.len() as u64);
    }
    features
        .into_iter()
        .map(|f| f.context("window without features"))
        .collect()
}

fn pad_ids<'a>(
    rows: impl Iterator<Item = &'a [u32]>,
    width: usize,
    pad: u32,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let (mut ids, mut mask, mut n) = (Vec::new(), Vec::new(), 0);
    for row in rows {
        ids.extend(
            row.iter()
                .copied()
                .chain(std::iter::repeat_n(pad, width - row.len())),
        );
        mask.extend(
            std::iter::repeat_n(1u32, row.len()).chain(std::iter::repeat_n(0, width - row.len())),
        );
        n += 1;
    }
    Ok((
        Tensor::from_vec(ids, (n, width), device)?,
        Tensor::from_vec(mask, (n, width), device)?,
    ))
}

/// Runs the top layers and heads over a batch of windows' frozen features: token logits,
/// class logits and the encoder's output.
pub fn forward_top(
    model: &Trainable,
    features: &[Tensor],
    windows: &[&Window],
    mode: Mode,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let width = windows.iter().map(|w| w.ids.len()).max().unwrap_or(1);
    let padded = features
        .iter()
        .map(|f| f.pad_with_zeros(0, 0, width - f.dim(0).unwrap_or(width)))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let mut hidden = Tensor::stack(&padded, 0)?;
    let device = hidden.device().clone();
    let mask: Vec<u32> = windows
        .iter()
        .flat_map(|w| {
            std::iter::repeat_n(1u32, w.ids.len())
                .chain(std::iter::repeat_n(0, width - w.ids.len()))
        })
        .collect();
    let additive = additive_mask(&Tensor::from_vec(mask, (windows.len(), width), &device)?)?;
    for layer in &model.layers {
        hidden = layer.forward(&hidden, &additive, mode)?;
    }
    let (tokens, classes) = model.heads.forward(&hidden)?;
    Ok((tokens, classes, hidden))
}

/// The candidates of one kind in a batch of windows: their role logits (candidates, roles),
/// gold roles, and (window in batch, candidate in window) of each.
pub struct KindLogits {
    pub kind: Kind,
    pub logits: Tensor,
    pub roles: Vec<u32>,
    pub whose: Vec<(usize, usize)>,
}

/// The role logits of every candidate in a batch of windows, per kind.
pub fn role_logits(
    model: &Trainable,
    hidden: &Tensor,
    windows: &[&Window],
) -> candle_core::Result<Vec<KindLogits>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let mut pooling = Vec::new();
        let mut roles = Vec::new();
        let mut whose = Vec::new();
        for (w, window) in windows.iter().enumerate() {
            for (n, c) in window
                .candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == kind)
            {
                pooling.push(crate::model::roles::Pooling {
                    window: w,
                    ..c.pooling.clone()
                });
                roles.push(c.role);
                whose.push((w, n));
            }
        }
        if !pooling.is_empty() {
            out.push(KindLogits {
                kind,
                logits: model.roles.forward(kind, hidden, &pooling)?,
                roles,
                whose,
            });
        }
    }
    Ok(out)
}

/// Mean cross-entropy of the candidates' roles over all kinds (0 without candidates).
pub fn role_loss(logits: &[KindLogits], device: &Device) -> candle_core::Result<Tensor> {
    let mut total = Tensor::zeros((), DType::F32, device)?;
    let mut count = 0usize;
    for KindLogits { logits, roles, .. } in logits {
        let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let labels = Tensor::from_vec(roles.clone(), (roles.len(), 1), device)?;
        total = (total + logp.gather(&labels, 1)?.sum_all()?)?;
        count += roles.len();
    }
    total / -(count.max(1) as f64)
}

/// Token cross-entropy (positions tagged `IGNORE` excluded) plus half the class cross-entropy.
pub fn loss(tokens: &Tensor, classes: &Tensor, windows: &[&Window]) -> candle_core::Result<Tensor> {
    let (b, t, c) = tokens.dims3()?;
    let device = tokens.device();
    let mut labels = Vec::with_capacity(b * t);
    let mut weights = Vec::with_capacity(b * t);
    for w in windows {
        for i in 0..t {
            let tag = w.tags.get(i).copied().unwrap_or(IGNORE);
            labels.push(if tag == IGNORE { 0 } else { tag });
            weights.push(if tag == IGNORE { 0f32 } else { 1.0 });
        }
    }
    let counted = weights.iter().sum::<f32>().max(1.0);
    let logp = candle_nn::ops::log_softmax(&tokens.reshape((b * t, c))?, D::Minus1)?;
    let picked = logp
        .gather(&Tensor::from_vec(labels, (b * t, 1), device)?, 1)?
        .squeeze(1)?;
    let token_loss =
        ((picked * Tensor::from_vec(weights, b * t, device)?)?.sum_all()? / f64::from(-counted))?;
    let class_labels: Vec<u32> = windows.iter().map(|w| w.class).collect();
    let class_logp = candle_nn::ops::log_softmax(classes, D::Minus1)?;
    let class_picked = class_logp.gather(&Tensor::from_vec(class_labels, (b, 1), device)?, 1)?;
    let class_loss = (class_picked.sum_all()? / -(b as f64))?;
    token_loss + (class_loss * 0.5)?
}

/// Trains, writes the model folder and returns the report.
pub fn train(opts: &TrainOptions) -> anyhow::Result<TrainReport> {
    let started = Instant::now();
    let samples = data::read_samples(&opts.data)?;
    anyhow::ensure!(
        samples.len() >= 10,
        "need at least 10 labelled samples, got {}",
        samples.len()
    );
    let config: BertConfig = read_json(&opts.base.join("config.json"))?;
    anyhow::ensure!(
        (1..=config.num_hidden_layers).contains(&opts.trained_layers),
        "--layers must be 1..={}",
        config.num_hidden_layers
    );
    // LoRA runs every layer (only the embeddings are computed once).
    let run_layers = if opts.lora_rank.is_some() {
        config.num_hidden_layers
    } else {
        opts.trained_layers
    };
    let tokenizer = load_tokenizer(&opts.base.join("tokenizer.json"))?;
    let special = SpecialTokens::of(&tokenizer)?;
    let base_weights = opts.base.join("model.safetensors");
    let base = candle_core::safetensors::load(&base_weights, &opts.device)
        .with_context(|| format!("cannot load {}", base_weights.display()))?;

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    seed_dropout(opts.seed);
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.shuffle(&mut rng);
    let holdout_count =
        ((samples.len() as f64 * opts.holdout).round() as usize).clamp(1, samples.len() - 1);
    let holdout_ids: std::collections::HashSet<usize> =
        order[..holdout_count].iter().copied().collect();

    let (windows, encodings) =
        make_windows(&samples, &tokenizer, special, opts.max_len, opts.overlap)?;
    let bar = progress_bar(opts.progress, windows.len() as u64, "frozen layers");
    let feature_start = Instant::now();
    let features = frozen_features(
        &base,
        &config,
        run_layers,
        &windows,
        special.pad,
        &opts.device,
        &bar,
    )?;
    bar.finish_and_clear();
    let feature_seconds = feature_start.elapsed().as_secs_f64();

    let (train_idx, hold_idx): (Vec<usize>, Vec<usize>) =
        (0..windows.len()).partition(|&i| !holdout_ids.contains(&windows[i].sample));
    let model = match opts.lora_rank {
        Some(rank) => trainable_low_rank(&base, &config, rank, opts.seed, &opts.device)?,
        None => trainable(&base, &config, run_layers, opts.seed, &opts.device)?,
    };
    let steps_per_epoch = train_idx.len().div_ceil(opts.batch);
    let total_steps = steps_per_epoch * opts.epochs;
    let mut optimizer = AdamW::new(
        model.varmap.all_vars(),
        ParamsAdamW {
            lr: opts.lr,
            weight_decay: 0.01,
            ..Default::default()
        },
    )?;

    let mut report = TrainReport {
        model_id: String::new(),
        samples: samples.len(),
        train_windows: train_idx.len(),
        holdout_samples: holdout_count,
        epochs_run: 0,
        best_epoch: 0,
        train_loss: Vec::new(),
        step_loss: Vec::new(),
        holdout_loss: Vec::new(),
        holdout_exact: Vec::new(),
        thresholds: Thresholds::default(),
        feature_seconds,
        train_seconds: 0.0,
        options: serde_json::json!({
            "epochs": opts.epochs, "lr": opts.lr, "batch": opts.batch, "max_len": opts.max_len,
            "overlap": opts.overlap, "trained_layers": run_layers, "lora_rank": opts.lora_rank,
            "holdout": opts.holdout, "seed": opts.seed, "data": opts.data,
        }),
    };
    let mut best: Option<(f32, HashMap<String, Tensor>)> = None;
    let mut step = 0usize;
    let mut recent = 0.0f32;
    let train_start = Instant::now();
    for epoch in 0..opts.epochs {
        let batches = length_buckets(&train_idx, &windows, opts.batch, &mut rng);
        let bar = progress_bar(
            opts.progress,
            steps_per_epoch as u64,
            &format!("epoch {}/{}", epoch + 1, opts.epochs),
        );
        let mut epoch_loss = 0.0f32;
        for (n, chunk) in batches.iter().enumerate() {
            // Linear warm-up over the first 10 % of steps, then linear decay.
            let warmup = (total_steps / 10).max(1);
            let scale = if step < warmup {
                (step + 1) as f64 / warmup as f64
            } else {
                (total_steps - step) as f64 / (total_steps - warmup).max(1) as f64
            };
            optimizer.set_learning_rate(opts.lr * scale.max(0.0));
            let batch_windows: Vec<&Window> = chunk.iter().map(|&i| &windows[i]).collect();
            let batch_features: Vec<Tensor> = chunk.iter().map(|&i| features[i].clone()).collect();
            let (tokens, classes, hidden) =
                forward_top(&model, &batch_features, &batch_windows, Mode::Train)?;
            let roles = role_logits(&model, &hidden, &batch_windows)?;
            let loss =
                (loss(&tokens, &classes, &batch_windows)? + role_loss(&roles, &opts.device)?)?;
            optimizer.backward_step(&loss)?;
            let value = loss.to_scalar::<f32>()?;
            epoch_loss += value;
            recent += value;
            step += 1;
            if step.is_multiple_of(LOSS_EVERY) {
                report.step_loss.push(recent / LOSS_EVERY as f32);
                recent = 0.0;
            }
            bar.set_message(format!("loss {:.4}", epoch_loss / (n + 1) as f32));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let train_loss = epoch_loss / steps_per_epoch.max(1) as f32;
        let (holdout_loss, exact, _) = evaluate_holdout(
            &model,
            &features,
            &windows,
            &hold_idx,
            &encodings,
            &samples,
            Thresholds::default(),
        )?;
        tracing::info!(
            epoch = epoch + 1,
            train_loss,
            holdout_loss,
            ?exact,
            "epoch done"
        );
        report.train_loss.push(train_loss);
        report.holdout_loss.push(holdout_loss);
        report.holdout_exact.push(exact);
        report.epochs_run = epoch + 1;
        if best.as_ref().is_none_or(|(l, _)| holdout_loss < *l) {
            best = Some((holdout_loss, snapshot(&model.varmap)?));
            report.best_epoch = epoch + 1;
        } else if epoch + 1 - report.best_epoch >= opts.patience {
            tracing::info!(
                epoch = epoch + 1,
                best_epoch = report.best_epoch,
                "early stop: held-out loss stopped improving"
            );
            break;
        }
    }
    report.train_seconds = train_start.elapsed().as_secs_f64();
    if let Some((_, weights)) = &best {
        restore(&model.varmap, weights)?;
    }
    let (_, _, calibration) = evaluate_holdout(
        &model,
        &features,
        &windows,
        &hold_idx,
        &encodings,
        &samples,
        Thresholds::open(),
    )?;
    report.thresholds = crate::eval::calibrate(&calibration, crate::eval::CALIBRATION_TARGET);
    let settings = ModelSettings {
        schema_version: SCHEMA_VERSION,
        base_name: opts
            .base
            .file_name()
            .map_or_else(|| "base".into(), |n| n.to_string_lossy().into_owned()),
        base_sha256: sha256_file(&base_weights)?,
        bert: config,
        trained_layers: run_layers,
        max_len: opts.max_len,
        overlap: opts.overlap,
        thresholds: report.thresholds.clone(),
        role_heads: true,
    };
    report.model_id = write_model(
        &opts.out,
        &model.export()?,
        &settings,
        &opts.base.join("tokenizer.json"),
    )?;
    std::fs::write(
        opts.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    plot::loss_png(
        &opts.out.join("loss.png"),
        &report.step_loss,
        &report.holdout_loss,
        steps_per_epoch,
    )?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), model_id = %report.model_id, "training finished");
    Ok(report)
}

/// Shuffled batches of windows of similar length, so little of each batch is padding: windows
/// are shuffled, sorted by length within groups of 50 batches, cut into batches, and the batches
/// shuffled.
fn length_buckets(
    indices: &[usize],
    windows: &[Window],
    batch: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut shuffled = indices.to_vec();
    shuffled.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = shuffled
        .chunks(batch * 50)
        .flat_map(|group| {
            let mut group = group.to_vec();
            group.sort_by_key(|&i| windows[i].ids.len());
            group
                .chunks(batch)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    batches.shuffle(rng);
    batches
}

fn progress_bar(visible: bool, len: u64, prefix: &str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>14} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    bar
}

fn snapshot(varmap: &VarMap) -> anyhow::Result<HashMap<String, Tensor>> {
    let vars = lock(varmap)?;
    vars.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

fn restore(varmap: &VarMap, weights: &HashMap<String, Tensor>) -> anyhow::Result<()> {
    let vars = lock(varmap)?;
    for (name, var) in vars.iter() {
        if let Some(w) = weights.get(name) {
            var.set(w)?;
        }
    }
    Ok(())
}

/// Held-out loss, exact-match per field, and (confidence, correct) of every value read.
#[allow(clippy::too_many_arguments)]
fn evaluate_holdout(
    model: &Trainable,
    features: &[Tensor],
    windows: &[Window],
    hold_idx: &[usize],
    encodings: &[crate::model::windows::Encoded],
    samples: &[Sample],
    thresholds: Thresholds,
) -> anyhow::Result<(f32, HashMap<String, f32>, crate::eval::Scored)> {
    let mut total = 0.0f32;
    let mut batches = 0;
    let mut token_probs: HashMap<usize, Vec<Vec<f32>>> = HashMap::new();
    let mut class_probs: HashMap<usize, Vec<f32>> = HashMap::new();
    // Per window: (candidate index in its sample, centrality, role probabilities).
    let mut role_probs: HashMap<usize, Vec<(usize, usize, Vec<f32>)>> = HashMap::new();
    for chunk in hold_idx.chunks(32) {
        let batch_windows: Vec<&Window> = chunk.iter().map(|&i| &windows[i]).collect();
        let batch_features: Vec<Tensor> = chunk.iter().map(|&i| features[i].clone()).collect();
        let (tokens, classes, hidden) =
            forward_top(model, &batch_features, &batch_windows, Mode::Infer)?;
        let roles = role_logits(model, &hidden, &batch_windows)?;
        let step =
            (loss(&tokens, &classes, &batch_windows)? + role_loss(&roles, hidden.device())?)?;
        total += step.to_scalar::<f32>()?;
        batches += 1;
        let tp = candle_nn::ops::softmax(&tokens, D::Minus1)?.to_vec3::<f32>()?;
        let cp = candle_nn::ops::softmax(&classes, D::Minus1)?.to_vec2::<f32>()?;
        for ((i, t), c) in chunk.iter().zip(tp).zip(cp) {
            token_probs.insert(*i, t);
            class_probs.insert(*i, c);
        }
        for KindLogits { logits, whose, .. } in &roles {
            let probs = candle_nn::ops::softmax(logits, D::Minus1)?.to_vec2::<f32>()?;
            for ((w, n), p) in whose.iter().zip(probs) {
                let c = &batch_windows[*w].candidates[*n];
                role_probs
                    .entry(chunk[*w])
                    .or_default()
                    .push((c.index, c.centre, p));
            }
        }
    }
    let mut by_sample: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for &i in hold_idx {
        by_sample.entry(windows[i].sample).or_default().push(i);
    }
    let fields = crate::eval::FIELDS;
    let mut right: HashMap<String, f32> = fields.iter().map(|f| (f.to_string(), 0.0)).collect();
    let mut scored = Vec::new();
    for (sample, idx) in &by_sample {
        let owners: Vec<(usize, std::ops::Range<usize>)> = idx
            .iter()
            .map(|&i| (0, windows[i].tokens.clone()))
            .collect();
        let tp: Vec<Vec<Vec<f32>>> = idx.iter().map(|i| token_probs[i].clone()).collect();
        let cp: Vec<Vec<f32>> = idx.iter().map(|i| class_probs[i].clone()).collect();
        let text = &samples[*sample].text;
        let reading = &merge_windows(
            &[text],
            std::slice::from_ref(&encodings[*sample]),
            &owners,
            &tp,
            &cp,
        )[0];
        let proposed = crate::extract::candidates::propose(text);
        let mut chosen: HashMap<usize, (usize, Vec<f32>)> = HashMap::new();
        for (index, centre, p) in idx
            .iter()
            .flat_map(|i| role_probs.get(i).into_iter().flatten())
        {
            if chosen.get(index).is_none_or(|(c, _)| centre > c) {
                chosen.insert(*index, (*centre, p.clone()));
            }
        }
        let candidates: Vec<ScoredCandidate> = chosen
            .into_iter()
            .filter_map(|(index, (_, roles))| {
                Some(ScoredCandidate {
                    candidate: proposed.get(index)?.clone(),
                    roles,
                })
            })
            .collect();
        // In text order, as the extractor gives them: ties are broken the same way.
        let mut candidates = candidates;
        candidates.sort_by_key(|c| (c.candidate.start, c.candidate.end, c.candidate.kind));
        let out = assemble_roles(
            text,
            &reading.spans,
            &candidates,
            reading.class,
            &thresholds,
        );
        let (score, values) = crate::eval::score(&samples[*sample].expected, &out);
        for f in fields {
            if !score.wrong.contains(&f) {
                *right.get_mut(f).unwrap_or(&mut 0.0) += 1.0;
            }
        }
        scored.extend(values);
    }
    let n = by_sample.len().max(1) as f32;
    let exact = right.into_iter().map(|(k, v)| (k, v / n)).collect();
    Ok((total / batches.max(1) as f32, exact, scored))
}

/// Writes adapter, config, tokenizer, label maps and manifest; returns the model id.
pub fn write_model(
    out: &Path,
    weights: &HashMap<String, Tensor>,
    settings: &ModelSettings,
    tokenizer: &Path,
) -> anyhow::Result<String> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let adapter = out.join("adapter.safetensors");
    candle_core::safetensors::save(weights, &adapter)?;
    std::fs::copy(tokenizer, out.join("tokenizer.json"))?;
    std::fs::write(
        out.join("config.json"),
        serde_json::to_string_pretty(settings)?,
    )?;
    let labels = serde_json::json!({ "tags": tag_names(), "classes": CLASSES });
    std::fs::write(
        out.join("labels.json"),
        serde_json::to_string_pretty(&labels)?,
    )?;
    let model_id = model_id(
        &settings.base_sha256,
        &sha256_file(&adapter)?,
        &sha256_file(&out.join("tokenizer.json"))?,
    );
    let manifest = serde_json::json!({
        "model_id": model_id,
        "schema_version": SCHEMA_VERSION,
        "base": { "name": settings.base_name, "sha256": settings.base_sha256 },
        "files": {
            "adapter.safetensors": sha256_file(&adapter)?,
            "tokenizer.json": sha256_file(&out.join("tokenizer.json"))?,
            "config.json": sha256_file(&out.join("config.json"))?,
        },
    });
    std::fs::write(
        out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(model_id)
}

/// The model id: sha256 over the base weights' hash, the adapter's, the tokenizer's and the
/// schema version, as 0x-prefixed hex (the `bytes32 modelId` on chain).
pub fn model_id(base_sha: &str, adapter_sha: &str, tokenizer_sha: &str) -> String {
    let mut h = Sha256::new();
    for part in [base_sha, adapter_sha, tokenizer_sha] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.update(SCHEMA_VERSION.to_be_bytes());
    format!("0x{}", hex::encode(h.finalize()))
}
