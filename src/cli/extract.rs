//! `loan-oracle extract`: read one text, or JSONL of texts, and print the spec's terms.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::model::{Extractor, check_text, parse_device};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// The trained model folder.
    #[arg(
        long,
        env = "LOAN_ORACLE_MODEL",
        default_value = "models/loan-terms-v1"
    )]
    pub model: PathBuf,
    /// auto, cpu or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Read `{"id","text"}` lines and write one result line per input.
    #[arg(long)]
    jsonl: bool,
    /// Also print the tagged spans, the candidates with their role probabilities and the text
    /// class the values were read from.
    #[arg(long)]
    spans: bool,
    /// Texts per model batch with --jsonl.
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// The input file; `-` or nothing reads stdin.
    input: Option<PathBuf>,
}

impl ExtractArgs {
    /// Loads the model, resolving the default folder against the crate when run from elsewhere.
    pub fn load_model(model: &std::path::Path, device: &str) -> anyhow::Result<Extractor> {
        let dir = if model.exists() || model.is_absolute() {
            model.to_path_buf()
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(model)
        };
        Extractor::load(&dir, &parse_device(device)?)
            .with_context(|| format!("cannot load the model in {}", dir.display()))
    }
}

pub fn run(args: ExtractArgs) -> anyhow::Result<()> {
    let extractor = ExtractArgs::load_model(&args.model, &args.device)?;
    let input: Box<dyn Read> = match args.input.as_deref() {
        None => Box::new(std::io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin()),
        Some(p) => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        ),
    };
    if args.jsonl {
        return run_jsonl(&extractor, std::io::BufReader::new(input), args.batch);
    }
    let mut bytes = Vec::new();
    std::io::BufReader::new(input).read_to_end(&mut bytes)?;
    let text = check_text(&bytes)?;
    let out = extractor.extract(&[text])?.remove(0);
    let mut json = out.to_json(false);
    if args.spans {
        // What the tagger saw, before normalisation: for checking a surprising result.
        let reading = extractor.read(&[text])?.remove(0);
        json["spans"] = reading
            .spans
            .iter()
            .map(|s| serde_json::json!({"entity": s.entity, "text": crate::extract::slice::span(text, s.start, s.end), "span": [s.start, s.end], "confidence": s.confidence}))
            .collect();
        json["candidates"] = reading
            .candidates
            .iter()
            .map(|c| {
                let roles: serde_json::Map<String, serde_json::Value> = c
                    .candidate
                    .kind
                    .roles()
                    .iter()
                    .zip(&c.roles)
                    .map(|(role, p)| ((*role).to_owned(), serde_json::json!(p)))
                    .collect();
                serde_json::json!({
                    "kind": c.candidate.kind.name(),
                    "text": crate::extract::slice::span(text, c.candidate.start, c.candidate.end),
                    "span": [c.candidate.start, c.candidate.end],
                    "value": format!("{:?}", c.candidate.value),
                    "roles": roles,
                })
            })
            .collect();
        json["class"] =
            serde_json::json!({"tier": reading.class.tier, "not_a_loan": reading.class.not_a_loan});
    }
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

fn run_jsonl(extractor: &Extractor, input: impl BufRead, batch: usize) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let lines: Vec<String> = input.lines().collect::<Result<_, _>>()?;
    for chunk in lines.chunks(batch.max(1)) {
        // Lines that cannot be read get an error line; the rest go to the model together.
        let parsed: Vec<Result<(serde_json::Value, String), String>> =
            chunk.iter().map(|l| parse_line(l)).collect();
        let texts: Vec<&str> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|(_, t)| t.as_str()))
            .collect();
        let mut results = extractor.extract(&texts)?.into_iter();
        for item in parsed {
            let line = match item {
                Ok((id, _)) => {
                    let mut json = results.next().context("one result per text")?.to_json(true);
                    json["id"] = id;
                    json
                }
                Err(error) => serde_json::json!({ "error": error }),
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn parse_line(line: &str) -> Result<(serde_json::Value, String), String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let id = value.get("id").cloned().unwrap_or(serde_json::Value::Null);
    let text = value
        .get("text")
        .and_then(|t| t.as_str())
        .ok_or_else(|| format!("line {id} has no \"text\" string"))?;
    check_text(text.as_bytes()).map_err(|e| format!("{id}: {e}"))?;
    Ok((id, text.to_owned()))
}
