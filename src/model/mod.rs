//! The extraction model: a BERT encoder (all-MiniLM-L6-v2) with a token head that tags the
//! terms and risk facts and a sequence head that classifies the text; inference lives in
//! [`Extractor`], the one place to swap for a faster path.

pub mod bert;
pub mod labels;
pub mod roles;
pub mod windows;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use candle_core::{D, DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder, linear};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::extract::candidates::{Candidate, Kind, propose};
use crate::extract::{
    Extraction, ScoredCandidate, TaggedSpan, TextClass, Thresholds, assemble, assemble_roles,
};
use bert::{BertConfig, Embeddings, Layer, Mode, additive_mask};
use labels::{CLASSES, NOT_A_LOAN, NUM_TAGS};
use roles::{Pooling, RoleHeads, centrality, pooling_in, token_span};
use windows::{Encoded, decode_spans, encode, windows};

/// The schema the model reads to (`shared/spec/loan-terms-v1.md`).
pub const SCHEMA_VERSION: u32 = 1;

/// What sits beside a trained model's weights in `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSettings {
    pub schema_version: u32,
    /// The base model's folder name under `models/base/`.
    pub base_name: String,
    /// sha256 of the base `model.safetensors`.
    pub base_sha256: String,
    pub bert: BertConfig,
    /// How many top encoder layers were trained (their weights are in the adapter).
    pub trained_layers: usize,
    /// Window length in tokens, special tokens included.
    pub max_len: usize,
    /// Tokens shared by neighbouring windows.
    pub overlap: usize,
    pub thresholds: Thresholds,
    /// Whether the model has role heads: values are then chosen among the candidates the
    /// readers propose, not read from tagged spans.
    #[serde(default)]
    pub role_heads: bool,
}

/// The device to run on: `auto` (CUDA when built with it and present), `cpu`, `cuda:N`.
pub fn parse_device(spec: &str) -> anyhow::Result<Device> {
    match spec {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available(0).unwrap_or(Device::Cpu)),
        other => {
            let ordinal = other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("device {other:?}: expected auto, cpu or cuda:N"))?;
            Device::new_cuda(ordinal).with_context(|| {
                format!("device {other}: CUDA unavailable (build with --features cuda)")
            })
        }
    }
}

/// The two heads on the encoder's output.
#[derive(Debug, Clone)]
pub struct Heads {
    pub token: Linear,
    pub class: Linear,
}

impl Heads {
    pub fn load(hidden: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            token: linear(hidden, NUM_TAGS, vb.pp("token"))?,
            class: linear(hidden, CLASSES.len(), vb.pp("class"))?,
        })
    }

    /// Token logits (batch, seq, tags) and class logits (batch, classes) from the `[CLS]` vector.
    pub fn forward(&self, hidden: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?;
        Ok((self.token.forward(hidden)?, self.class.forward(&cls)?))
    }
}

/// sha256 of a file, hex.
pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Where the base model of a trained model lives: `LOAN_ORACLE_BASE_DIR`, else
/// `models/base/<name>` beside the model's folder.
pub fn base_dir_for(model_dir: &Path, base_name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("LOAN_ORACLE_BASE_DIR") {
        return PathBuf::from(dir);
    }
    model_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("base")
        .join(base_name)
}

/// The windows of a batch of texts, padded into tensors.
pub struct WindowBatch {
    pub ids: Tensor,
    pub mask: Tensor,
    /// For each window: which text, which token range of that text's encoding.
    pub owners: Vec<(usize, std::ops::Range<usize>)>,
}

/// Cuts encodings into windows and pads them into one batch.
pub fn window_batch(
    encodings: &[Encoded],
    max_len: usize,
    overlap: usize,
    special: SpecialTokens,
    device: &Device,
) -> candle_core::Result<WindowBatch> {
    let mut rows: Vec<Vec<u32>> = Vec::new();
    let mut owners = Vec::new();
    for (i, enc) in encodings.iter().enumerate() {
        for range in windows(enc.ids.len(), max_len, overlap) {
            let mut row = Vec::with_capacity(range.len() + 2);
            row.push(special.cls);
            row.extend_from_slice(&enc.ids[range.clone()]);
            row.push(special.sep);
            rows.push(row);
            owners.push((i, range));
        }
    }
    let width = rows.iter().map(Vec::len).max().unwrap_or(2);
    let mut ids = Vec::with_capacity(rows.len() * width);
    let mut mask = Vec::with_capacity(rows.len() * width);
    for row in &rows {
        ids.extend(
            row.iter()
                .copied()
                .chain(std::iter::repeat_n(special.pad, width - row.len())),
        );
        mask.extend(
            std::iter::repeat_n(1u32, row.len()).chain(std::iter::repeat_n(0, width - row.len())),
        );
    }
    Ok(WindowBatch {
        ids: Tensor::from_vec(ids, (rows.len(), width), device)?,
        mask: Tensor::from_vec(mask, (rows.len(), width), device)?,
        owners,
    })
}

/// The tokenizer's special tokens.
#[derive(Debug, Clone, Copy)]
pub struct SpecialTokens {
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
}

impl SpecialTokens {
    pub fn of(tokenizer: &Tokenizer) -> anyhow::Result<Self> {
        let id = |t: &str| {
            tokenizer
                .token_to_id(t)
                .with_context(|| format!("tokenizer has no {t}"))
        };
        Ok(Self {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            pad: id("[PAD]")?,
        })
    }
}

/// A loaded model: tokenizer, encoder and heads, ready to read texts.
pub struct Extractor {
    tokenizer: Tokenizer,
    special: SpecialTokens,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    heads: Heads,
    roles: Option<RoleHeads>,
    settings: ModelSettings,
    device: Device,
    model_id: String,
}

/// Per-window tag probabilities (window, position, tag) and class probabilities (window, class).
pub type WindowProbs = (Vec<Vec<Vec<f32>>>, Vec<Vec<f32>>);

/// What the model read in one text.
#[derive(Debug, Clone)]
pub struct Reading {
    pub spans: Vec<TaggedSpan>,
    pub class: TextClass,
    /// Every candidate with its role probabilities (models with role heads; else empty).
    pub candidates: Vec<ScoredCandidate>,
}

impl Extractor {
    /// Loads a trained model folder (config.json, adapter.safetensors, tokenizer.json,
    /// manifest.json) over its base weights.
    pub fn load(model_dir: &Path, device: &Device) -> anyhow::Result<Self> {
        let settings: ModelSettings = read_json(&model_dir.join("config.json"))?;
        let manifest: serde_json::Value = read_json(&model_dir.join("manifest.json"))?;
        let base_dir = base_dir_for(model_dir, &settings.base_name);
        let base_weights = base_dir.join("model.safetensors");
        let base_sha = sha256_file(&base_weights)
            .with_context(|| "run scripts/fetch-model.sh to get the base model")?;
        anyhow::ensure!(
            base_sha == settings.base_sha256,
            "{} has sha256 {base_sha}, but the model was trained on {}",
            base_weights.display(),
            settings.base_sha256
        );
        let mut tensors = candle_core::safetensors::load(&base_weights, device)?;
        tensors.extend(candle_core::safetensors::load(
            model_dir.join("adapter.safetensors"),
            device,
        )?);
        let tokenizer = load_tokenizer(&model_dir.join("tokenizer.json"))?;
        let model_id = manifest["model_id"]
            .as_str()
            .context("manifest.json has no model_id")?
            .to_owned();
        Self::from_tensors(tensors, tokenizer, settings, device.clone(), model_id)
    }

    /// Builds an extractor from named weights (base overlaid with trained ones).
    pub fn from_tensors(
        tensors: HashMap<String, Tensor>,
        tokenizer: Tokenizer,
        settings: ModelSettings,
        device: Device,
        model_id: String,
    ) -> anyhow::Result<Self> {
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let config = &settings.bert;
        let embeddings = Embeddings::load(config, vb.pp("embeddings"))?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(config, vb.pp(format!("encoder.layer.{i}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let heads = Heads::load(config.hidden_size, vb.pp("heads"))?;
        let roles = if settings.role_heads {
            Some(RoleHeads::load(config.hidden_size, vb.pp("roles"))?)
        } else {
            None
        };
        let special = SpecialTokens::of(&tokenizer)?;
        Ok(Self {
            tokenizer,
            special,
            embeddings,
            layers,
            heads,
            roles,
            settings,
            device,
            model_id,
        })
    }

    /// The model id (sha256 over base weights, adapter, tokenizer and schema version).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// The model's settings.
    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// Extracts the spec's terms from each text (checked with [`check_text`] by the caller).
    /// Texts with almost no words are not loans and skip the model.
    pub fn extract(&self, texts: &[&str]) -> anyhow::Result<Vec<Extraction>> {
        let wordy: Vec<usize> = (0..texts.len()).filter(|&i| has_words(texts[i])).collect();
        let readings = self.read(&wordy.iter().map(|&i| texts[i]).collect::<Vec<_>>())?;
        let mut out = vec![Extraction::not_a_loan(); texts.len()];
        for (i, reading) in wordy.into_iter().zip(readings) {
            out[i] = self.assemble(texts[i], &reading, &self.settings.thresholds);
        }
        Ok(out)
    }

    /// The extraction of one reading at `thresholds`, by the model's design.
    pub fn assemble(&self, text: &str, reading: &Reading, thresholds: &Thresholds) -> Extraction {
        if self.roles.is_some() {
            assemble_roles(
                text,
                &reading.spans,
                &reading.candidates,
                reading.class,
                thresholds,
            )
        } else {
            assemble(text, &reading.spans, reading.class, thresholds.clone())
        }
    }

    /// Reads texts in one batch: tagged spans and text class for each.
    pub fn read(&self, texts: &[&str]) -> anyhow::Result<Vec<Reading>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = texts
            .iter()
            .map(|t| encode(&self.tokenizer, t))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let batch = window_batch(
            &encodings,
            self.settings.max_len,
            self.settings.overlap,
            self.special,
            &self.device,
        )?;
        let hidden = self.forward_hidden(&batch.ids, &batch.mask)?;
        let (token_probs, class_probs) = self.head_probs(&hidden)?;
        let mut readings =
            merge_windows(texts, &encodings, &batch.owners, &token_probs, &class_probs);
        if let Some(roles) = &self.roles {
            for (reading, scored) in readings.iter_mut().zip(score_candidates(
                roles,
                &hidden,
                texts,
                &encodings,
                &batch.owners,
            )?) {
                reading.candidates = scored;
            }
        }
        Ok(readings)
    }

    /// Per-window tag probabilities (window, seq, tags) and class probabilities (window, classes).
    pub fn forward_probs(&self, ids: &Tensor, mask: &Tensor) -> anyhow::Result<WindowProbs> {
        self.head_probs(&self.forward_hidden(ids, mask)?)
    }

    /// The encoder's output (window, seq, hidden).
    pub fn forward_hidden(&self, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor> {
        let additive = additive_mask(mask)?;
        let mut hidden = self.embeddings.forward(ids, Mode::Infer)?;
        for layer in &self.layers {
            hidden = layer.forward(&hidden, &additive, Mode::Infer)?;
        }
        Ok(hidden)
    }

    /// Tag and class probabilities from the encoder's output.
    pub fn head_probs(&self, hidden: &Tensor) -> anyhow::Result<WindowProbs> {
        let (tokens, class) = self.heads.forward(hidden)?;
        let token_probs = candle_nn::ops::softmax(&tokens, D::Minus1)?
            .to_dtype(DType::F32)?
            .to_vec3()?;
        let class_probs = candle_nn::ops::softmax(&class, D::Minus1)?
            .to_dtype(DType::F32)?
            .to_vec2()?;
        Ok((token_probs, class_probs))
    }
}

/// Averages each token's probabilities over the windows that hold it, and each text's class
/// probabilities over its windows; then decodes spans.
pub fn merge_windows(
    texts: &[&str],
    encodings: &[Encoded],
    owners: &[(usize, std::ops::Range<usize>)],
    token_probs: &[Vec<Vec<f32>>],
    class_probs: &[Vec<f32>],
) -> Vec<Reading> {
    let mut sums: Vec<Vec<Vec<f32>>> = encodings
        .iter()
        .map(|e| vec![vec![0.0; NUM_TAGS]; e.ids.len()])
        .collect();
    let mut counts: Vec<Vec<f32>> = encodings.iter().map(|e| vec![0.0; e.ids.len()]).collect();
    let mut classes = vec![vec![0.0f32; CLASSES.len()]; encodings.len()];
    let mut windows_of = vec![0.0f32; encodings.len()];
    for (w, (text, range)) in owners.iter().enumerate() {
        for (k, token) in range.clone().enumerate() {
            // Row 0 is [CLS]; the window's tokens follow.
            for (sum, p) in sums[*text][token].iter_mut().zip(&token_probs[w][k + 1]) {
                *sum += p;
            }
            counts[*text][token] += 1.0;
        }
        for (sum, p) in classes[*text].iter_mut().zip(&class_probs[w]) {
            *sum += p;
        }
        windows_of[*text] += 1.0;
    }
    encodings
        .iter()
        .enumerate()
        .map(|(i, enc)| {
            let probs: Vec<Vec<f32>> = sums[i]
                .iter()
                .zip(&counts[i])
                .map(|(s, c)| s.iter().map(|v| v / c.max(1.0)).collect())
                .collect();
            let class: Vec<f32> = classes[i]
                .iter()
                .map(|v| v / windows_of[i].max(1.0))
                .collect();
            let loan_mass = (1.0 - class[NOT_A_LOAN]).max(f32::EPSILON);
            Reading {
                spans: decode_spans(texts[i], &enc.offsets, &probs),
                class: TextClass {
                    tier: [
                        class[0] / loan_mass,
                        class[1] / loan_mass,
                        class[2] / loan_mass,
                    ],
                    not_a_loan: class[NOT_A_LOAN],
                },
                candidates: Vec::new(),
            }
        })
        .collect()
}

/// Proposes every text's candidates and rates their roles: each candidate is pooled in the
/// window that holds it most centrally.
pub fn score_candidates(
    roles: &RoleHeads,
    hidden: &Tensor,
    texts: &[&str],
    encodings: &[Encoded],
    owners: &[(usize, std::ops::Range<usize>)],
) -> anyhow::Result<Vec<Vec<ScoredCandidate>>> {
    let proposed: Vec<Vec<Candidate>> = texts.iter().map(|t| propose(t)).collect();
    let mut out: Vec<Vec<ScoredCandidate>> = vec![Vec::new(); texts.len()];
    for kind in Kind::ALL {
        let mut pooling: Vec<Pooling> = Vec::new();
        let mut whose: Vec<(usize, usize)> = Vec::new();
        for (text, candidates) in proposed.iter().enumerate() {
            for (n, c) in candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == kind)
            {
                let Some(tokens) = token_span(&encodings[text].offsets, c.start, c.end) else {
                    continue;
                };
                let best = owners
                    .iter()
                    .enumerate()
                    .filter(|(_, (t, _))| *t == text)
                    .filter_map(|(w, (_, held))| {
                        Some((centrality(held, &tokens), pooling_in(w, held, &tokens)?))
                    })
                    // The first window of the most central ones, as training's evaluation.
                    .fold(
                        None,
                        |best: Option<(usize, Pooling)>, (centre, p)| match best {
                            Some((b, _)) if b >= centre => best,
                            _ => Some((centre, p)),
                        },
                    );
                if let Some((_, p)) = best {
                    pooling.push(p);
                    whose.push((text, n));
                }
            }
        }
        if pooling.is_empty() {
            continue;
        }
        let logits = roles.forward(kind, hidden, &pooling)?;
        let probs = candle_nn::ops::softmax(&logits, D::Minus1)?
            .to_dtype(DType::F32)?
            .to_vec2::<f32>()?;
        for ((text, n), roles) in whose.into_iter().zip(probs) {
            out[text].push(ScoredCandidate {
                candidate: proposed[text][n].clone(),
                roles,
            });
        }
    }
    for scored in &mut out {
        scored.sort_by_key(|c| (c.candidate.start, c.candidate.end));
    }
    Ok(out)
}

/// Whether a text has at least three words of two or more letters; binary noise does not.
fn has_words(text: &str) -> bool {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2)
        .nth(2)
        .is_some()
}

/// Why a submitted text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is {0} bytes; at most {MAX_TEXT_BYTES} are read")]
    TooLong(usize),
    #[error("the text is not valid UTF-8 (first bad byte at offset {0})")]
    NotUtf8(usize),
}

/// The longest text the hub accepts, in bytes.
pub const MAX_TEXT_BYTES: usize = 16_384;

/// Checks submitted bytes: non-empty, at most 16384 bytes, valid UTF-8.
pub fn check_text(bytes: &[u8]) -> Result<&str, TextError> {
    if bytes.is_empty() {
        return Err(TextError::Empty);
    }
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(TextError::TooLong(bytes.len()));
    }
    std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8(e.valid_up_to()))
}

/// Loads a `tokenizer.json` with truncation and padding off (the model windows texts itself).
pub fn load_tokenizer(path: &Path) -> anyhow::Result<Tokenizer> {
    let mut tokenizer =
        Tokenizer::from_file(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tokenizer
        .with_truncation(None)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("invalid {}", path.display()))
}
