//! A BERT encoder in candle with two modes: training, where every op has a backward (the
//! composed layer norm and softmax) and dropout is live, and inference, with candle's fused ops.

use std::cell::RefCell;

use candle_core::{D, DType, Module, Tensor};
use candle_nn::{Embedding, Linear, VarBuilder, embedding, linear};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The parts of a Hugging Face BERT `config.json` the encoder needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f32,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f32 {
    0.1
}

/// How a forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Differentiable ops everywhere, dropout on.
    Train,
    /// Fused ops, no dropout.
    Infer,
}

/// Layer norm with weights; composed of differentiable ops in training.
#[derive(Debug, Clone)]
pub struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn load(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            weight: vb.get(size, "weight")?,
            bias: vb.get(size, "bias")?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> candle_core::Result<Tensor> {
        match mode {
            // candle's fused layer norm has no backward pass: gradients would silently stop.
            Mode::Train => {
                candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps as f32)
            }
            Mode::Infer => candle_nn::ops::layer_norm(
                &x.contiguous()?,
                &self.weight,
                &self.bias,
                self.eps as f32,
            ),
        }
    }
}

thread_local! {
    /// Dropout's randomness. candle's CPU generator cannot be seeded, so masks come from here:
    /// a seeded run drops the same units every time.
    static DROPOUT_RNG: RefCell<ChaCha8Rng> = RefCell::new(ChaCha8Rng::seed_from_u64(0));
}

/// Seeds this thread's dropout masks.
pub fn seed_dropout(seed: u64) {
    DROPOUT_RNG.with(|rng| *rng.borrow_mut() = ChaCha8Rng::seed_from_u64(seed));
}

/// Inverted dropout: zeroes each value with probability `p` in training, scales the rest.
fn dropout(x: &Tensor, p: f32, mode: Mode) -> candle_core::Result<Tensor> {
    if mode != Mode::Train || p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 - p;
    let mask: Vec<f32> = DROPOUT_RNG.with(|rng| {
        let mut rng = rng.borrow_mut();
        (0..x.elem_count())
            .map(|_| {
                if rng.random::<f32>() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect()
    });
    x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)
}

/// Token, position and type embeddings, normalised.
#[derive(Debug, Clone)]
pub struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: Norm,
    dropout: f32,
}

impl Embeddings {
    pub fn load(config: &BertConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            word: embedding(
                config.vocab_size,
                config.hidden_size,
                vb.pp("word_embeddings"),
            )?,
            position: embedding(
                config.max_position_embeddings,
                config.hidden_size,
                vb.pp("position_embeddings"),
            )?,
            token_type: embedding(
                config.type_vocab_size,
                config.hidden_size,
                vb.pp("token_type_embeddings"),
            )?,
            norm: Norm::load(
                config.hidden_size,
                config.layer_norm_eps,
                vb.pp("LayerNorm"),
            )?,
            dropout: config.hidden_dropout_prob,
        })
    }

    /// `ids`: (batch, seq) u32 → (batch, seq, hidden).
    pub fn forward(&self, ids: &Tensor, mode: Mode) -> candle_core::Result<Tensor> {
        let (_, seq) = ids.dims2()?;
        let positions = Tensor::arange(0u32, seq as u32, ids.device())?.unsqueeze(0)?;
        let types = ids.zeros_like()?;
        let x = self
            .word
            .forward(ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&self.token_type.forward(&types)?)?;
        dropout(&self.norm.forward(&x, mode)?, self.dropout, mode)
    }
}

/// A low-rank update `scale · B·A` beside a frozen linear map (LoRA): `a` is (rank, in),
/// `b` is (out, rank) and starts at zero, so training starts from the base model exactly.
#[derive(Debug, Clone)]
pub struct LowRank {
    a: Tensor,
    b: Tensor,
    scale: f64,
}

impl LowRank {
    /// The update's A and B from `vb` (`lora_a`, `lora_b`), with LoRA's usual scale alpha/rank.
    pub fn load(
        input: usize,
        output: usize,
        rank: usize,
        alpha: f64,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            a: vb.get((rank, input), "lora_a")?,
            b: vb.get((output, rank), "lora_b")?,
            scale: alpha / rank as f64,
        })
    }

    /// The dense (out, in) weight change this update stands for.
    pub fn delta(&self) -> candle_core::Result<Tensor> {
        self.b.matmul(&self.a)? * self.scale
    }
}

/// A linear map, with a LoRA update beside it when one is being trained.
#[derive(Debug, Clone)]
pub struct Projection {
    base: Linear,
    low_rank: Option<LowRank>,
}

impl Projection {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let y = self.base.forward(x)?;
        match &self.low_rank {
            None => Ok(y),
            Some(l) => y + (x.broadcast_matmul(&l.a.t()?)?.broadcast_matmul(&l.b.t()?)? * l.scale)?,
        }
    }

    /// The weight and bias a plain linear map would need to give the same output.
    pub fn merged(&self) -> candle_core::Result<(Tensor, Option<Tensor>)> {
        let weight = match &self.low_rank {
            None => self.base.weight().clone(),
            Some(l) => (self.base.weight() + l.delta()?)?,
        };
        Ok((weight, self.base.bias().cloned()))
    }
}

/// Where a layer's LoRA updates come from: their var builder, rank and alpha.
#[derive(Clone)]
pub struct LowRankSource<'a> {
    pub vb: VarBuilder<'a>,
    pub rank: usize,
    pub alpha: f64,
}

/// The names of a layer's linear maps, as in a Hugging Face checkpoint, in the order the
/// layer holds them.
pub const LAYER_LINEARS: [&str; 6] = [
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
];

/// A layer's linear maps with their (in, out) sizes, in `LAYER_LINEARS`' order.
pub fn layer_linears(config: &BertConfig) -> [(&'static str, usize, usize); 6] {
    let (h, i) = (config.hidden_size, config.intermediate_size);
    let [query, key, value, attention_out, intermediate, output] = LAYER_LINEARS;
    [
        (query, h, h),
        (key, h, h),
        (value, h, h),
        (attention_out, h, h),
        (intermediate, h, i),
        (output, i, h),
    ]
}

/// `vb` pushed down a dotted checkpoint path.
fn checkpoint_path<'a>(vb: &VarBuilder<'a>, dotted: &str) -> VarBuilder<'a> {
    dotted.split('.').fold(vb.clone(), |vb, part| vb.pp(part))
}

/// One transformer layer: self-attention and the feed-forward block, each with a residual norm.
#[derive(Debug, Clone)]
pub struct Layer {
    query: Projection,
    key: Projection,
    value: Projection,
    attention_out: Projection,
    attention_norm: Norm,
    intermediate: Projection,
    output: Projection,
    output_norm: Norm,
    heads: usize,
    dropout: f32,
}

impl Layer {
    pub fn load(config: &BertConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        Self::load_with(config, vb, None)
    }

    /// A layer whose weights come from `vb`; with `low_rank`, every linear map gets a LoRA
    /// update from there (the base weights then stay as they are).
    pub fn load_with(
        config: &BertConfig,
        vb: VarBuilder,
        low_rank: Option<&LowRankSource>,
    ) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let load =
            |(name, input, output): (&str, usize, usize)| -> candle_core::Result<Projection> {
                Ok(Projection {
                    base: linear(input, output, checkpoint_path(&vb, name))?,
                    low_rank: low_rank
                        .map(|l| {
                            LowRank::load(
                                input,
                                output,
                                l.rank,
                                l.alpha,
                                checkpoint_path(&l.vb, name),
                            )
                        })
                        .transpose()?,
                })
            };
        let [query, key, value, attention_out, intermediate, output] = layer_linears(config);
        let attention = vb.pp("attention");
        Ok(Self {
            query: load(query)?,
            key: load(key)?,
            value: load(value)?,
            attention_out: load(attention_out)?,
            attention_norm: Norm::load(
                h,
                config.layer_norm_eps,
                attention.pp("output").pp("LayerNorm"),
            )?,
            intermediate: load(intermediate)?,
            output: load(output)?,
            output_norm: Norm::load(h, config.layer_norm_eps, vb.pp("output").pp("LayerNorm"))?,
            heads: config.num_attention_heads,
            dropout: config.hidden_dropout_prob,
        })
    }

    /// Every linear map's weight and bias with any LoRA update folded in, by checkpoint name
    /// (`attention.self.query.weight`, ...), so a plain layer loads the trained one.
    pub fn merged_linears(&self) -> candle_core::Result<Vec<(String, Tensor)>> {
        let maps = [
            &self.query,
            &self.key,
            &self.value,
            &self.attention_out,
            &self.intermediate,
            &self.output,
        ];
        let mut out = Vec::new();
        for (name, map) in LAYER_LINEARS.iter().zip(maps) {
            let (weight, bias) = map.merged()?;
            out.push((format!("{name}.weight"), weight));
            if let Some(bias) = bias {
                out.push((format!("{name}.bias"), bias));
            }
        }
        Ok(out)
    }

    /// The layer norms' weights and biases by checkpoint name.
    pub fn norms(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (name, norm) in [
            ("attention.output.LayerNorm", &self.attention_norm),
            ("output.LayerNorm", &self.output_norm),
        ] {
            out.push((format!("{name}.weight"), norm.weight.clone()));
            out.push((format!("{name}.bias"), norm.bias.clone()));
        }
        out
    }

    /// `x`: (batch, seq, hidden); `mask`: additive (batch, 1, 1, seq), 0 for tokens and a large
    /// negative number for padding.
    pub fn forward(&self, x: &Tensor, mask: &Tensor, mode: Mode) -> candle_core::Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let head_dim = h / self.heads;
        let split = |y: Tensor| {
            y.reshape((b, t, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = split(self.query.forward(x)?)?;
        let k = split(self.key.forward(x)?)?;
        let v = split(self.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?.broadcast_add(mask)?;
        let probs = match mode {
            // softmax_last_dim has no backward pass.
            Mode::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
            Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
        };
        let probs = dropout(&probs, self.dropout, mode)?;
        let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        let attended = dropout(&self.attention_out.forward(&context)?, self.dropout, mode)?;
        let x = self.attention_norm.forward(&(attended + x)?, mode)?;
        let inner = self.intermediate.forward(&x)?.gelu_erf()?;
        let out = dropout(&self.output.forward(&inner)?, self.dropout, mode)?;
        self.output_norm.forward(&(out + x)?, mode)
    }
}

/// The additive attention mask for (batch, seq) 1/0 `mask`: 0 where attended, -10000 where
/// padded. A finite value, not `f32::MIN`, so reduced precision cannot turn it into NaN.
pub fn additive_mask(mask: &Tensor) -> candle_core::Result<Tensor> {
    let (b, t) = mask.dims2()?;
    ((mask.to_dtype(DType::F32)? - 1.0)? * 10_000.0)?.reshape((b, 1, 1, t))
}
