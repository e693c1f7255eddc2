//! The model on a tiny random encoder (for speed) with the real tokenizer: gradients reach
//! every trainable variable, the loss falls, a saved model loads to identical outputs, and BIO
//! tags line up with byte spans in non-ASCII text.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use loan_oracle::extract::Entity;
use loan_oracle::extract::candidates::Kind;
use loan_oracle::model::SpecialTokens;
use loan_oracle::model::bert::{BertConfig, Mode};
use loan_oracle::model::windows::{bio_tags, encode};
use loan_oracle::model::{
    Extractor, ModelSettings, SCHEMA_VERSION, check_text, load_tokenizer, sha256_file,
};
use loan_oracle::train::data::{make_windows, read_samples};
use loan_oracle::train::{
    TrainOptions, forward_top, loss, role_logits, role_loss, train, trainable,
};

fn real_tokenizer() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/base/all-minilm-l6-v2/tokenizer.json");
    assert!(
        path.exists(),
        "{} is missing: run scripts/fetch-model.sh",
        path.display()
    );
    path
}

fn tiny_config() -> BertConfig {
    BertConfig {
        vocab_size: 30522,
        hidden_size: 32,
        num_hidden_layers: 3,
        num_attention_heads: 4,
        intermediate_size: 64,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_dropout_prob: 0.1,
    }
}

/// Random BERT weights for `config`, named as in a Hugging Face checkpoint.
fn random_weights(config: &BertConfig) -> HashMap<String, Tensor> {
    let dev = Device::Cpu;
    let (h, i) = (config.hidden_size, config.intermediate_size);
    let mut w = HashMap::new();
    let mut put = |name: String, shape: &[usize], norm: bool| {
        let t = if norm && name.ends_with("weight") {
            Tensor::ones(shape, DType::F32, &dev)
        } else if norm {
            Tensor::zeros(shape, DType::F32, &dev)
        } else {
            Tensor::randn(0f32, 0.05, shape, &dev)
        };
        w.insert(name, t.unwrap());
    };
    put(
        "embeddings.word_embeddings.weight".into(),
        &[config.vocab_size, h],
        false,
    );
    put(
        "embeddings.position_embeddings.weight".into(),
        &[config.max_position_embeddings, h],
        false,
    );
    put(
        "embeddings.token_type_embeddings.weight".into(),
        &[2, h],
        false,
    );
    put("embeddings.LayerNorm.weight".into(), &[h], true);
    put("embeddings.LayerNorm.bias".into(), &[h], true);
    for l in 0..config.num_hidden_layers {
        let p = format!("encoder.layer.{l}");
        for name in [
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
        ] {
            put(format!("{p}.{name}.weight"), &[h, h], false);
            put(format!("{p}.{name}.bias"), &[h], false);
        }
        put(format!("{p}.intermediate.dense.weight"), &[i, h], false);
        put(format!("{p}.intermediate.dense.bias"), &[i], false);
        put(format!("{p}.output.dense.weight"), &[h, i], false);
        put(format!("{p}.output.dense.bias"), &[h], false);
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(format!("{p}.{norm}.weight"), &[h], true);
            put(format!("{p}.{norm}.bias"), &[h], true);
        }
    }
    w
}

/// A base model folder `<root>/base/tiny` with random weights and the real tokenizer.
fn tiny_base(root: &Path) -> PathBuf {
    let dir = root.join("base/tiny");
    std::fs::create_dir_all(&dir).unwrap();
    let config = tiny_config();
    candle_core::safetensors::save(&random_weights(&config), dir.join("model.safetensors"))
        .unwrap();
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    std::fs::copy(real_tokenizer(), dir.join("tokenizer.json")).unwrap();
    dir
}

fn synth_file(root: &Path, count: usize) -> PathBuf {
    let path = root.join("train.jsonl");
    let lines: Vec<String> = loan_oracle::synth::generate(count, 3)
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path
}

fn options(base: PathBuf, data: PathBuf, out: PathBuf, epochs: usize) -> TrainOptions {
    TrainOptions {
        base,
        data: vec![data],
        out,
        epochs,
        lr: 3e-3,
        batch: 8,
        max_len: 64,
        overlap: 16,
        trained_layers: 2,
        holdout: 0.2,
        lora_rank: None,
        patience: 10,
        seed: 5,
        device: Device::Cpu,
        progress: false,
    }
}

/// Windows of a few synthetic texts, read by the real tokenizer.
fn tiny_windows() -> Vec<loan_oracle::train::data::Window> {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_base(dir.path());
    let data = synth_file(dir.path(), 12);
    let tokenizer = load_tokenizer(&base.join("tokenizer.json")).unwrap();
    let special = SpecialTokens::of(&tokenizer).unwrap();
    let samples = read_samples(&[&data]).unwrap();
    make_windows(&samples, &tokenizer, special, 64, 16)
        .unwrap()
        .0
}

fn assert_every_gradient_nonzero(
    vars: &HashMap<String, candle_core::Var>,
    grads: &candle_core::backprop::GradStore,
) {
    for (name, var) in vars.iter() {
        let grad = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name} has no gradient"));
        let magnitude = grad
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(magnitude > 0.0, "{name} has a zero gradient");
    }
}

#[test]
fn every_trainable_variable_gets_a_gradient() {
    let windows = tiny_windows();
    let config = tiny_config();
    let weights = random_weights(&config);
    let model = trainable(&weights, &config, 2, 1, &Device::Cpu).unwrap();
    // Features for the top layers: any hidden states of the right shape will do here. The
    // batch holds candidates of every kind, so every role head takes part in the loss.
    let mut batch: Vec<_> = windows.iter().take(4).collect();
    for kind in Kind::ALL {
        if !batch
            .iter()
            .any(|w| w.candidates.iter().any(|c| c.kind == kind))
        {
            let with = windows
                .iter()
                .find(|w| w.candidates.iter().any(|c| c.kind == kind))
                .unwrap_or_else(|| panic!("no window holds a {kind:?} candidate"));
            batch.push(with);
        }
    }
    let features: Vec<Tensor> = batch
        .iter()
        .map(|w| Tensor::randn(0f32, 1.0, (w.ids.len(), config.hidden_size), &Device::Cpu).unwrap())
        .collect();
    let (tokens, classes, hidden) = forward_top(&model, &features, &batch, Mode::Train).unwrap();
    let roles = role_logits(&model, &hidden, &batch).unwrap();
    let total = (loss(&tokens, &classes, &batch).unwrap()
        + role_loss(&roles, &Device::Cpu).unwrap())
    .unwrap();
    let grads = total.backward().unwrap();
    let vars = model.varmap.data().lock().unwrap();
    assert_eq!(
        vars.len(),
        2 * 16 + 4 + 2 * Kind::ALL.len(),
        "two layers of 16 tensors, two heads and a role head per kind"
    );
    assert_every_gradient_nonzero(&vars, &grads);
}

#[test]
fn loss_falls_and_saved_model_reloads_identically() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny_base(dir.path());
    let data = synth_file(dir.path(), 40);
    let out = dir.path().join("model");
    let report = train(&options(base.clone(), data.clone(), out.clone(), 6)).unwrap();
    let first = report.train_loss[0];
    let last = *report.train_loss.last().unwrap();
    assert!(
        last < first * 0.8,
        "training loss did not fall: {:?}",
        report.train_loss
    );
    for file in [
        "adapter.safetensors",
        "config.json",
        "tokenizer.json",
        "labels.json",
        "manifest.json",
        "report.json",
        "loss.png",
    ] {
        assert!(out.join(file).exists(), "{file} not written");
    }

    // The saved model, loaded, reads exactly as the weights it was saved from.
    let settings: ModelSettings =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(settings.schema_version, SCHEMA_VERSION);
    let mut tensors =
        candle_core::safetensors::load(base.join("model.safetensors"), &Device::Cpu).unwrap();
    tensors.extend(
        candle_core::safetensors::load(out.join("adapter.safetensors"), &Device::Cpu).unwrap(),
    );
    let tokenizer = load_tokenizer(&out.join("tokenizer.json")).unwrap();
    let before =
        Extractor::from_tensors(tensors, tokenizer, settings, Device::Cpu, String::new()).unwrap();
    let loaded = Extractor::load(&out, &Device::Cpu).unwrap();
    let texts = [
        "Lender lends USD 50,000 at 7% per annum for 3 years.",
        "gm, swapping ETH for USDC",
    ];
    let (a, b) = (before.read(&texts).unwrap(), loaded.read(&texts).unwrap());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.spans, y.spans);
        assert_eq!(x.class, y.class);
        assert_eq!(x.candidates, y.candidates);
    }
    // The role heads rate every candidate the readers propose: the amount, rate and term.
    let kinds: Vec<Kind> = b[0].candidates.iter().map(|c| c.candidate.kind).collect();
    for kind in Kind::ALL {
        assert!(
            kinds.contains(&kind),
            "no {kind:?} candidate rated: {kinds:?}"
        );
    }
    assert!(
        b[0].candidates
            .iter()
            .all(|c| c.roles.len() == c.candidate.kind.roles().len()
                && (c.roles.iter().sum::<f32>() - 1.0).abs() < 1e-4)
    );
    assert!(loaded.model_id().starts_with("0x") && loaded.model_id().len() == 66);
    // Binary noise that happens to be valid UTF-8 is not a loan, whatever the weights say.
    let noise = "\u{1}\u{7f}\u{3}%$ 0x9f 12 \u{fffd}\u{fffd} ## 77";
    let noise_out = loaded.extract(&[noise]).unwrap().remove(0);
    assert_eq!(
        noise_out.to_json(true),
        serde_json::json!({"status": "not_a_loan"})
    );

    // A seeded run on CPU is reproducible: the same adapter bytes, the same model id.
    let again = dir.path().join("again");
    let report2 = train(&options(base, data, again.clone(), 6)).unwrap();
    assert_eq!(report2.train_loss, report.train_loss);
    assert_eq!(
        sha256_file(&again.join("adapter.safetensors")).unwrap(),
        sha256_file(&out.join("adapter.safetensors")).unwrap()
    );
    assert_eq!(report2.model_id, report.model_id);
}

#[test]
fn bio_tags_follow_byte_spans_in_non_ascii_text() {
    let tokenizer = load_tokenizer(&real_tokenizer()).unwrap();
    let text = "Préstamo de €5.000 a 5 años – Darlehen über ¥1,000,000 für zwölf Monate zu 4,5 %";
    let encoded = encode(&tokenizer, text).unwrap();
    let spans = [
        ("5.000", Entity::Amount),
        ("¥", Entity::Currency),
        ("1,000,000", Entity::Amount),
        ("4,5 %", Entity::Rate),
    ];
    let labelled: Vec<(Entity, usize, usize)> = spans
        .iter()
        .map(|(needle, entity)| {
            let start = text.find(needle).unwrap();
            (*entity, start, start + needle.len())
        })
        .collect();
    let tags = bio_tags(&encoded.offsets, &labelled);
    for &(entity, start, end) in &labelled {
        let tagged: Vec<usize> = (0..tags.len())
            .filter(|&i| tags[i] != 0 && encoded.offsets[i].0 < end && encoded.offsets[i].1 > start)
            .collect();
        assert!(
            !tagged.is_empty(),
            "{entity:?} {start}..{end} has no tokens"
        );
        let (first, last) = (
            encoded.offsets[tagged[0]].0,
            encoded.offsets[*tagged.last().unwrap()].1,
        );
        assert_eq!(
            (first, last),
            (start, end),
            "tokens of {:?} cover {:?}",
            &text[start..end],
            &text[first..last]
        );
        assert!(text.is_char_boundary(first) && text.is_char_boundary(last));
    }
}

#[test]
fn bad_input_is_refused_clearly() {
    assert_eq!(
        check_text(b"").unwrap_err().to_string(),
        "the text is empty"
    );
    assert!(
        check_text(&vec![b'a'; 16_385])
            .unwrap_err()
            .to_string()
            .contains("16385 bytes")
    );
    assert!(
        check_text(&[b'o', b'k', 0xff, 0xfe])
            .unwrap_err()
            .to_string()
            .contains("offset 2")
    );
    assert_eq!(check_text("préstamo".as_bytes()).unwrap(), "préstamo");
}

#[test]
fn low_rank_updates_get_gradients_and_fold_into_plain_layers() {
    let windows = tiny_windows();
    let config = tiny_config();
    let weights = random_weights(&config);
    let model =
        loan_oracle::train::trainable_low_rank(&weights, &config, 4, 1, &Device::Cpu).unwrap();
    let batch: Vec<_> = windows.iter().take(4).collect();
    let features: Vec<Tensor> = batch
        .iter()
        .map(|w| Tensor::randn(0f32, 1.0, (w.ids.len(), config.hidden_size), &Device::Cpu).unwrap())
        .collect();
    let step_loss = || {
        let (tokens, classes, hidden) =
            forward_top(&model, &features, &batch, Mode::Train).unwrap();
        let roles = role_logits(&model, &hidden, &batch).unwrap();
        (loss(&tokens, &classes, &batch).unwrap() + role_loss(&roles, &Device::Cpu).unwrap())
            .unwrap()
    };
    // B starts at zero, so A's gradient is zero until one step has moved B.
    let mut optimizer = candle_nn::AdamW::new_lr(model.varmap.all_vars(), 1e-2).unwrap();
    candle_nn::Optimizer::backward_step(&mut optimizer, &step_loss()).unwrap();
    let grads = step_loss().backward().unwrap();
    {
        let vars = model.varmap.data().lock().unwrap();
        assert_eq!(
            vars.len(),
            3 * 6 * 2 + 4 + 2 * Kind::ALL.len(),
            "A and B for six maps in three layers, two heads and a role head per kind"
        );
        assert_every_gradient_nonzero(&vars, &grads);
    }
    // The exported layers, with the updates folded in, compute what the LoRA layers compute.
    let mut merged = weights.clone();
    merged.extend(model.export().unwrap());
    assert!(merged.keys().all(|k| !k.starts_with("lora.")));
    let vb = candle_nn::VarBuilder::from_tensors(merged, DType::F32, &Device::Cpu);
    let x = Tensor::randn(0f32, 1.0, (2, 7, config.hidden_size), &Device::Cpu).unwrap();
    let mask = loan_oracle::model::bert::additive_mask(
        &Tensor::ones((2, 7), DType::U32, &Device::Cpu).unwrap(),
    )
    .unwrap();
    for (i, layer) in model.layers.iter().enumerate() {
        let plain =
            loan_oracle::model::bert::Layer::load(&config, vb.pp(format!("encoder.layer.{i}")))
                .unwrap();
        let a = layer.forward(&x, &mask, Mode::Infer).unwrap();
        let b = plain.forward(&x, &mask, Mode::Infer).unwrap();
        let gap = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(
            gap.to_scalar::<f32>().unwrap() < 1e-4,
            "layer {i} differs once folded"
        );
        let moved = (plain.forward(&x, &mask, Mode::Infer).unwrap()
            - loan_oracle::model::bert::Layer::load(
                &config,
                candle_nn::VarBuilder::from_tensors(weights.clone(), DType::F32, &Device::Cpu)
                    .pp(format!("encoder.layer.{i}")),
            )
            .unwrap()
            .forward(&x, &mask, Mode::Infer)
            .unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap();
        assert!(
            moved.to_scalar::<f32>().unwrap() > 0.0,
            "layer {i}: the update changed nothing"
        );
    }
}
