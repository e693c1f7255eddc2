//! `loan-oracle status`: a request's state on the hub and its attested terms, as JSON.

use std::path::PathBuf;

use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use anyhow::Context;
use clap::Args;

use crate::chain::read_provider;
use crate::config::Config;
use crate::contracts::{LoanTerms, OracleHub, contract_error};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The node config (for the RPC URL, the hub and the node's HTTP API).
    #[arg(long)]
    config: PathBuf,
    /// The request id.
    id: U256,
}

pub async fn run(args: StatusArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let provider = read_provider(&config.chain.rpc_url)?;
    let hub = OracleHub::new(config.chain.hub_address, &provider);
    let request = hub
        .requests(args.id)
        .call()
        .await
        .map_err(|e| contract_error(e, "requests"))?;
    anyhow::ensure!(
        request.state != 0,
        "request {} is not known to the hub {}",
        args.id,
        config.chain.hub_address
    );
    let state = ["none", "pending", "fulfilled", "cancelled"]
        .get(usize::from(request.state))
        .copied()
        .unwrap_or("unknown");
    let mut out = serde_json::json!({
        "request_id": args.id.to_string(),
        "state": state,
        "requester": request.requester,
        "consumer": request.consumer,
        "text_hash": request.textHash,
    });
    if let Some(attested) = attestation(&provider, &config, args.id).await? {
        out["attestation"] = attested;
    }
    if let Some(node) = node_view(&config, args.id).await {
        out["node"] = node;
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// The request's `TermsAttested` event, with the terms in the spec's units.
async fn attestation(
    provider: &impl Provider,
    config: &Config,
    id: U256,
) -> anyhow::Result<Option<serde_json::Value>> {
    let filter = Filter::new()
        .address(config.chain.hub_address)
        .event_signature(OracleHub::TermsAttested::SIGNATURE_HASH)
        .topic1(id)
        .from_block(config.chain.start_block);
    let logs = provider
        .get_logs(&filter)
        .await
        .context("eth_getLogs failed")?;
    let Some(log) = logs.first() else {
        return Ok(None);
    };
    let event = log.log_decode::<OracleHub::TermsAttested>()?.inner.data;
    let terms: LoanTerms = event.terms.into();
    Ok(Some(serde_json::json!({
        "tx": log.transaction_hash,
        "block": log.block_number,
        "node_key": event.nodeKey,
        "model_id": event.modelId,
        "digest": event.digest,
        "signature": event.signature,
        "terms": terms_json(&terms),
    })))
}

/// The on-chain terms as the spec's JSON.
pub fn terms_json(terms: &LoanTerms) -> serde_json::Value {
    let status = ["", "ok", "incomplete", "not_a_loan"]
        .get(usize::from(terms.status))
        .copied()
        .unwrap_or("invalid");
    if terms.status == 3 {
        return serde_json::json!({ "status": status });
    }
    let currency = String::from_utf8_lossy(terms.currency.as_slice())
        .trim_end_matches('\0')
        .to_owned();
    let amount = rust_decimal::Decimal::from_str_exact(&terms.amountMinor.to_string())
        .ok()
        .map(|minor| {
            (minor / rust_decimal::Decimal::from(10u64.pow(u32::from(terms.decimals))))
                .normalize()
                .to_string()
        });
    let apr = (rust_decimal::Decimal::from(terms.aprPpm) / rust_decimal::Decimal::from(10_000))
        .normalize()
        .to_string();
    let tier = ["", "low", "medium", "high"]
        .get(usize::from(terms.riskTier))
        .copied()
        .filter(|t| !t.is_empty());
    let e = terms.evidence;
    let span = |i: usize| (e[i] != e[i + 1]).then(|| [e[i], e[i + 1]]);
    serde_json::json!({
        "status": status,
        "amount": (terms.amountMinor > U256::ZERO).then_some(amount).flatten(),
        "currency": (!currency.is_empty()).then_some(currency),
        "apr_percent": span(4).map(|_| apr),
        "term_days": (terms.termDays > 0).then_some(terms.termDays),
        "risk_tier": tier,
        "risk_score": terms.riskScore,
        "evidence": {
            "amount": span(0), "currency": span(2), "apr_percent": span(4), "term_days": span(6),
        },
    })
}

/// The node's own record of the request, if its HTTP API answers.
async fn node_view(config: &Config, id: U256) -> Option<serde_json::Value> {
    let url = format!("http://{}/requests/{id}", config.http.listen);
    let client = alloy::transports::http::reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .ok()?;
    let response = client.get(url).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let record: serde_json::Value = response.json().await.ok()?;
    Some(serde_json::json!({
        "state": record["state"],
        "attempts": record["attempts"].as_array().map(|a| a.len()),
        "fulfilled_tx": record["fulfilled_tx"],
        "reason": record["reason"],
        "result": record["result"],
    }))
}
