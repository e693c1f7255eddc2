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
use crate::contracts::{LoanTerms, OracleHub, contract_error, terms_json};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::decimal_string;
    use alloy::primitives::FixedBytes;

    fn terms(status: u8, minor: U256, decimals: u8, tier: u8) -> LoanTerms {
        LoanTerms {
            status,
            amountMinor: minor,
            currency: FixedBytes(*b"USD\0\0\0\0\0"),
            decimals,
            aprPpm: 71_250,
            termDays: 360,
            riskTier: tier,
            riskScore: 40,
            evidence: [0, 3, 4, 7, 8, 12, 13, 20],
        }
    }

    #[test]
    fn amounts_for_any_decimals_and_any_uint256() {
        assert_eq!(decimal_string(U256::from(125_000_050u64), 2), "1250000.5");
        assert_eq!(decimal_string(U256::from(5u8), 0), "5");
        assert_eq!(decimal_string(U256::from(5u8), 3), "0.005");
        assert_eq!(decimal_string(U256::ZERO, 255), "0");
        assert_eq!(decimal_string(U256::from(1000u64), 3), "1");
        let max = decimal_string(U256::MAX, 255);
        assert!(max.starts_with("0.") && max.len() == 257, "{max}");
        assert_eq!(decimal_string(U256::MAX, 0), U256::MAX.to_string());
        assert_eq!(
            decimal_string(U256::MAX, 18),
            "115792089237316195423570985008687907853269984665640564039457.584007913129639935"
        );
    }

    #[test]
    fn every_status_tier_and_decimals_decode_without_panicking() {
        for status in 0..=u8::MAX {
            for decimals in [0, 2, 18, 19, 20, 77, 78, 200, 255] {
                for tier in [0, 1, 3, 4, 255] {
                    for minor in [U256::ZERO, U256::from(1u8), U256::MAX] {
                        let _ = terms_json(&terms(status, minor, decimals, tier));
                    }
                }
            }
        }
        let json = terms_json(&terms(1, U256::from(18_000_000_u64), 2, 2));
        assert_eq!(json["amount"], "180000");
        assert_eq!(json["apr_percent"], "7.125");
        assert_eq!(json["risk_tier"], "medium");
        let odd = terms_json(&terms(9, U256::from(7u8), 255, 200));
        assert_eq!(odd["status"], "unknown (9)");
        assert_eq!(odd["risk_tier"], "unknown (200)");
        assert!(odd["amount"].as_str().unwrap().ends_with('7'));
        assert_eq!(
            terms_json(&terms(3, U256::MAX, 255, 255))["status"],
            "not_a_loan"
        );
    }
}
