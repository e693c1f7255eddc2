//! Builds the hand-written data sets from what their writers wrote, and reports every count.
//!
//! `build_data heldout` builds `models/data/heldout/{dev,test}.jsonl` from what its writers and
//! its blind labellers wrote (below); `build_data train` builds `models/data/train/train.jsonl`
//! from the training writers' texts (`raw/writer-*.jsonl`): each text whose evidence gives its
//! labels, with every labelled span (the values and the risk facts) and its distractors (other
//! amounts, rates and durations, with their roles).
//!
//! - `raw/writer-*.jsonl`: texts with their writer's labels and evidence quotes
//!   (`[quote, occurrence]`);
//! - `labels/labeller-*.jsonl`: the same texts labelled a second time by writers who saw only
//!   the text and the spec;
//! - `labels/adjudicated.jsonl` (optional): for texts the two disagreed on, a third reading
//!   against the spec that picks the writer's labels (`a`), the labeller's (`b`) or `drop`.
//!
//! A text is kept when both labels agree on every field (or adjudication settled it) and its
//! evidence, read by the normalisers (`assemble` on the quoted spans), gives the label. The
//! rest are dropped and counted. Kept texts are split by a hash of their id: `dev` for model
//! selection and calibration, `test` only for reporting.
//!
//! Run: `scripts/build-heldout.sh`, `scripts/build-train.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use loan_oracle::eval::{FIELDS, read_gold_spans};
use loan_oracle::extract::Entity;
use loan_oracle::synth::{LabelSpan, Sample};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const EVIDENCE: [(&str, Entity); 4] = [
    ("amount", Entity::Amount),
    ("currency", Entity::Currency),
    ("apr_percent", Entity::Rate),
    ("term_days", Entity::Term),
];

fn main() -> anyhow::Result<()> {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/data");
    match std::env::args().nth(1).as_deref() {
        Some("heldout") => build_heldout(&data.join("heldout")),
        Some("train") => build_train(&data.join("train")),
        _ => anyhow::bail!("usage: build_data heldout|train"),
    }
}

/// The risk facts a training writer quotes, and the entity each is tagged as.
const FACTS: [(&str, Entity); 7] = [
    ("collateral_value", Entity::CollateralValue),
    ("collateral_ratio", Entity::CollateralRatio),
    ("ltv", Entity::Ltv),
    ("credit_score", Entity::CreditScore),
    ("adverse", Entity::Adverse),
    ("secured", Entity::Secured),
    ("unsecured", Entity::Unsecured),
];

fn build_train(root: &Path) -> anyhow::Result<()> {
    let written = read_dir_jsonl(&root.join("raw"), "writer-")?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dropped = Vec::new();
    let mut kept = Vec::new();
    for sample in &written {
        *counts.entry("written").or_default() += 1;
        let text = sample["text"].as_str().unwrap_or_default();
        let mut out = match heldout_sample(sample, text, &sample["expected"], &sample["evidence"]) {
            Ok(out) => out,
            Err(why) => {
                *counts
                    .entry("dropped: evidence does not give the label")
                    .or_default() += 1;
                dropped.push(json!({"id": sample["id"], "why": why}));
                continue;
            }
        };
        let mut spans = Vec::new();
        for (field, entity) in EVIDENCE {
            if let Some([start, end]) = out["expected"]["evidence"][field]
                .as_array()
                .and_then(|a| Some([a.first()?.as_u64()?, a.get(1)?.as_u64()?]))
            {
                spans.push(json!({"entity": entity, "start": start, "end": end}));
            }
        }
        for (fact, entity) in FACTS {
            let quote = &sample["facts"][fact];
            if quote.is_null() {
                continue;
            }
            match locate(text, quote) {
                Some((start, end)) => {
                    spans.push(json!({"entity": entity, "start": start, "end": end}))
                }
                None => {
                    *counts
                        .entry("facts: quote not found (fact left out)")
                        .or_default() += 1
                }
            }
        }
        let mut distractors = Vec::new();
        for d in sample["distractors"].as_array().into_iter().flatten() {
            let role = d.get(2).and_then(Value::as_str).unwrap_or("other_amount");
            match locate(text, &json!([d.get(0), d.get(1)])) {
                Some((start, end)) => {
                    distractors.push(json!({"start": start, "end": end, "role": role}))
                }
                None => {
                    *counts
                        .entry("distractors: quote not found (left out)")
                        .or_default() += 1
                }
            }
        }
        *counts.entry("kept").or_default() += 1;
        out["spans"] = Value::Array(spans);
        out["distractors"] = Value::Array(distractors);
        kept.push(out);
    }
    write_jsonl(&root.join("train.jsonl"), &kept)?;
    let report = json!({ "counts": counts, "per_source": tally(&kept), "dropped": dropped });
    report_counts(root, "training corpus", &report, &counts)
}

fn build_heldout(root: &Path) -> anyhow::Result<()> {
    let written = read_dir_jsonl(&root.join("raw"), "writer-")?;
    let labelled: BTreeMap<String, Value> = read_dir_jsonl(&root.join("labels"), "labeller-")?
        .into_iter()
        .filter_map(|v| Some((v["id"].as_str()?.to_owned(), v)))
        .collect();
    let adjudicated: BTreeMap<String, Value> = read_jsonl(&root.join("labels/adjudicated.jsonl"))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| Some((v["id"].as_str()?.to_owned(), v)))
        .collect();

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dropped: Vec<Value> = Vec::new();
    let mut kept: Vec<Value> = Vec::new();
    for sample in &written {
        *counts.entry("written").or_default() += 1;
        let id = sample["id"].as_str().unwrap_or_default().to_owned();
        let Some(second) = labelled.get(&id) else {
            *counts.entry("dropped: no second label").or_default() += 1;
            dropped.push(json!({"id": id, "why": "no second label"}));
            continue;
        };
        let differ = differing_fields(&sample["expected"], &second["expected"]);
        let chosen = if differ.is_empty() {
            *counts.entry("agreed blind").or_default() += 1;
            sample
        } else {
            match adjudicated.get(&id).and_then(|a| a["choose"].as_str()) {
                Some("writer" | "a") => {
                    *counts.entry("settled by adjudication").or_default() += 1;
                    sample
                }
                Some("labeller" | "b") => {
                    *counts.entry("settled by adjudication").or_default() += 1;
                    second
                }
                _ => {
                    *counts.entry("dropped: labels disagree").or_default() += 1;
                    dropped.push(json!({"id": id, "why": "labels disagree", "fields": differ}));
                    continue;
                }
            }
        };
        let text = sample["text"].as_str().unwrap_or_default();
        match heldout_sample(sample, text, &chosen["expected"], &chosen["evidence"]) {
            Ok(out) => kept.push(out),
            Err(why) => {
                *counts
                    .entry("dropped: evidence does not give the label")
                    .or_default() += 1;
                dropped.push(json!({"id": id, "why": why}));
            }
        }
    }

    let (dev, test): (Vec<Value>, Vec<Value>) = kept.into_iter().partition(in_dev);
    write_jsonl(&root.join("dev.jsonl"), &dev)?;
    write_jsonl(&root.join("test.jsonl"), &test)?;
    let report = json!({
        "counts": counts,
        "kept": dev.len() + test.len(),
        "dev": dev.len(),
        "test": test.len(),
        "per_split": {"dev": tally(&dev), "test": tally(&test)},
        "dropped": dropped,
    });
    report_counts(root, "held-out set", &report, &counts)?;
    println!(
        "  kept {} = dev {} + test {}",
        dev.len() + test.len(),
        dev.len(),
        test.len()
    );
    println!("  (ids and reasons of dropped texts in build-report.json)");
    Ok(())
}

/// Writes `build-report.json` and prints the counts.
fn report_counts(
    root: &Path,
    what: &str,
    report: &Value,
    counts: &BTreeMap<&str, usize>,
) -> anyhow::Result<()> {
    std::fs::write(
        root.join("build-report.json"),
        serde_json::to_string_pretty(report)? + "\n",
    )?;
    println!("{what} built in {}:", root.display());
    for (what, n) in counts {
        println!("  {what:<42} {n}");
    }
    Ok(())
}

/// The fields whose normalised labels differ.
fn differing_fields(a: &Value, b: &Value) -> Vec<&'static str> {
    let status = |v: &Value| v["status"].as_str().map(str::to_owned);
    let loan = status(a).as_deref() != Some("not_a_loan");
    FIELDS
        .into_iter()
        .filter(|f| *f == "status" || loan)
        .filter(|f| normal(&a[*f]) != normal(&b[*f]))
        .collect()
}

/// A label in one form: numbers as normalised decimals, strings upper- or lower-cased as the
/// spec writes them.
fn normal(v: &Value) -> Value {
    match v {
        Value::String(s) => match s.trim().parse::<Decimal>() {
            Ok(d) => Value::String(d.normalize().to_string()),
            Err(_) => Value::String(s.trim().to_owned()),
        },
        Value::Number(n) => n
            .as_f64()
            .and_then(|f| Decimal::try_from(f).ok())
            .map_or(v.clone(), |d| Value::String(d.normalize().to_string())),
        other => other.clone(),
    }
}

/// The sample in the examples' format (byte-offset evidence), after checking that the
/// normalisers read each quoted span to its label.
fn heldout_sample(
    sample: &Value,
    text: &str,
    expected: &Value,
    evidence: &Value,
) -> Result<Value, String> {
    let status = expected["status"].as_str().unwrap_or_default();
    let mut out_expected = json!({ "status": status });
    if status != "not_a_loan" {
        let mut spans = Vec::new();
        let mut offsets = serde_json::Map::new();
        for (field, entity) in EVIDENCE {
            let label = &expected[field];
            if label.is_null() {
                continue;
            }
            let quote = &evidence[field];
            let (start, end) = locate(text, quote)
                .ok_or_else(|| format!("{field}: quote {quote} is not in the text"))?;
            offsets.insert(field.into(), json!([start, end]));
            spans.push(LabelSpan { entity, start, end });
        }
        let gold = Sample {
            id: String::new(),
            text: text.to_owned(),
            expected: Value::Null,
            spans,
            genre: None,
            language: None,
            convention: None,
            distractors: Vec::new(),
        };
        let read = read_gold_spans(&gold).to_json(false);
        for (field, _) in EVIDENCE {
            if !expected[field].is_null() && normal(&read[field]) != normal(&expected[field]) {
                return Err(format!(
                    "{field}: the span reads {} but the label is {}",
                    read[field], expected[field]
                ));
            }
        }
        for field in FIELDS.into_iter().skip(1) {
            out_expected[field] = normalised_label(field, &expected[field]);
        }
        out_expected["evidence"] = Value::Object(offsets);
    }
    let mut out = json!({
        "id": sample["id"],
        "text": text,
        "expected": out_expected,
    });
    for key in ["language", "convention"] {
        if let Some(v) = sample[key].as_str() {
            out[key] = v.into();
        }
    }
    if let Some(detail) = sample["genre"].as_str() {
        out["genre"] = genre_family(detail, &out_expected).into();
        out["genre_detail"] = detail.into();
    }
    Ok(out)
}

/// The genre family of a writer's own genre name (`German Ratenkredit …, English working
/// translation` → `translated European contract`), so scores group into families of texts
/// rather than one name per text. First rule that matches wins.
fn genre_family(detail: &str, expected: &Value) -> &'static str {
    let lower = detail.to_lowercase();
    if expected["status"] == "not_a_loan" {
        return "not a loan (look-alike)";
    }
    let rules: &[(&[&str], &str)] = &[
        (&["借条", "欠条"], "Chinese IOU (借条)"),
        (&["借款合同"], "Chinese loan contract (借款合同)"),
        (&["贷款合同"], "Chinese bank loan contract (贷款合同)"),
        (&["审批通知"], "Chinese loan approval notice"),
        (&["wechat"], "chat"),
        (&["japanese"], "translated Japanese contract"),
        (&["working translation"], "translated European contract"),
        (&["chat", "text thread", "whatsapp", "app)"], "chat"),
        (&["email"], "email thread"),
        (&["defi", "on-chain"], "DeFi / on-chain"),
        (
            &["term sheet", "heads of terms", "indication"],
            "term sheet",
        ),
        (
            &["facility agreement", "revolving", "facility letter"],
            "facility agreement",
        ),
        (&["board minutes"], "board minutes"),
        (&["promissory"], "promissory note"),
        (&["credit union"], "credit union loan"),
        (&["formal personal loan"], "personal loan agreement"),
        (&["mortgage", "deed of trust", "buy-to-let"], "mortgage"),
        (&["home equity"], "home equity loan"),
        (&["auto", "car loan", "logbook"], "auto loan"),
        (
            &["hard-money", "bridge", "bridging"],
            "bridge / hard-money loan",
        ),
        (
            &["sanction", "offer letter", "commitment letter"],
            "bank offer / sanction letter",
        ),
        (&["sme", "credit memo"], "SME credit memo"),
        (&["microfinance"], "microfinance record"),
        (&["student"], "student loan"),
        (&["payday", "short-term"], "payday / short-term loan"),
        (&["peer-to-peer"], "peer-to-peer listing"),
        (&["invoice-finance", "factoring"], "invoice finance"),
        (&["equipment"], "equipment finance"),
        (&["family loan"], "family loan letter"),
    ];
    rules
        .iter()
        .find(|(words, _)| words.iter().any(|w| lower.contains(w)))
        .map_or("other", |(_, family)| family)
}

/// A label in the spec's JSON form (`"1250000.5"`, `1080`).
fn normalised_label(field: &str, v: &Value) -> Value {
    match (field, normal(v)) {
        ("term_days", Value::String(s)) => s.parse::<u64>().map_or(Value::Null, Value::from),
        (_, other) => other,
    }
}

/// The byte range of the `occurrence`-th (1-based) `quote` in `text`.
fn locate(text: &str, quote: &Value) -> Option<(usize, usize)> {
    let (needle, nth) = match quote {
        Value::Array(a) => (
            a.first()?.as_str()?,
            a.get(1).and_then(Value::as_u64).unwrap_or(1),
        ),
        Value::String(s) => (s.as_str(), 1),
        _ => return None,
    };
    if needle.is_empty() {
        return None;
    }
    let start = text
        .match_indices(needle)
        .nth(usize::try_from(nth.max(1) - 1).ok()?)?
        .0;
    Some((start, start + needle.len()))
}

/// Half the texts of each writer to `dev`, by a hash of the id.
fn in_dev(sample: &Value) -> bool {
    let id = sample["id"].as_str().unwrap_or_default();
    Sha256::digest(id.as_bytes())[0] % 2 == 0
}

fn tally(samples: &[Value]) -> Value {
    let mut by: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for s in samples {
        for key in ["genre", "language", "convention"] {
            let v = s[key].as_str().unwrap_or("unknown").to_owned();
            *by.entry(key.into()).or_default().entry(v).or_default() += 1;
        }
        let status = s["expected"]["status"].as_str().unwrap_or("?").to_owned();
        *by.entry("status".into())
            .or_default()
            .entry(status)
            .or_default() += 1;
    }
    json!(by)
}

fn read_dir_jsonl(dir: &Path, prefix: &str) -> anyhow::Result<Vec<Value>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".jsonl"))
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_jsonl(&path)?);
    }
    Ok(out)
}

fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))
        })
        .collect()
}

fn write_jsonl(path: &Path, samples: &[Value]) -> anyhow::Result<()> {
    let mut out = String::new();
    for s in samples {
        out.push_str(&serde_json::to_string(s)?);
        out.push('\n');
    }
    std::fs::write(path, out)?;
    Ok(())
}
