//! How often the true value is among the candidates the deterministic readers propose: the
//! ceiling on what choosing among them can reach.
//!   cargo run --example candidate_recall -- FILE.jsonl...

use std::collections::BTreeMap;

use loan_oracle::extract::candidates::{CandidateValue, Kind, propose};
use loan_oracle::train::data::read_samples;
use rust_decimal::Decimal;

fn main() -> anyhow::Result<()> {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!paths.is_empty(), "usage: candidate_recall FILE.jsonl...");
    for path in &paths {
        let samples = read_samples(&[path])?;
        let mut found: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        let mut per_text = 0usize;
        let mut misses: Vec<String> = Vec::new();
        for s in &samples {
            let candidates = propose(&s.text);
            per_text += candidates.len();
            for (field, kind) in [
                ("amount", Kind::Money),
                ("apr_percent", Kind::Percent),
                ("term_days", Kind::Duration),
            ] {
                let gold = &s.expected[field];
                let gold: Option<Decimal> = match gold {
                    serde_json::Value::String(v) => v.parse().ok(),
                    serde_json::Value::Number(n) => n.to_string().parse().ok(),
                    _ => None,
                };
                let Some(gold) = gold else { continue };
                let hit = candidates.iter().any(|c| {
                    c.kind == kind
                        && match &c.value {
                            CandidateValue::Number(v) => v.normalize() == gold.normalize(),
                            CandidateValue::Days(d) => Decimal::from(*d) == gold,
                            _ => false,
                        }
                });
                let entry = found.entry(field).or_default();
                entry.1 += 1;
                if hit {
                    entry.0 += 1;
                } else {
                    misses.push(format!("{} {field} {gold}", s.id));
                }
            }
        }
        println!(
            "{path}: {} texts, {:.1} candidates per text",
            samples.len(),
            per_text as f64 / samples.len().max(1) as f64
        );
        for (field, (hit, all)) in &found {
            println!(
                "  {field:<12} {hit:>4}/{all:<4} {:.3}",
                *hit as f64 / (*all).max(1) as f64
            );
        }
        if std::env::var("MISSES").is_ok() {
            for m in &misses {
                println!("    miss {m}");
            }
        }
    }
    Ok(())
}
