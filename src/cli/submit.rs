//! `loan-oracle submit`: ask the hub for a text's terms, as a lender's app would.

use std::path::PathBuf;

use alloy::primitives::Bytes;
use anyhow::Context;
use clap::Args;

use crate::chain::{confirm, signing_provider};
use crate::config::Config;
use crate::contracts::{LoanDesk, OracleHub, contract_error};
use crate::keys::load_evm_key;
use crate::model::check_text;

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["text_file", "text"])))]
pub struct SubmitArgs {
    /// The node config (for the RPC URL and the hub).
    #[arg(long)]
    config: PathBuf,
    /// File with the requester's hex private key (mode 0600).
    #[arg(long)]
    private_key_file: PathBuf,
    /// A file holding the loan text (sent as its bytes).
    #[arg(long)]
    text_file: Option<PathBuf>,
    /// The loan text itself.
    #[arg(long)]
    text: Option<String>,
    /// Request straight from the hub for this consumer contract (default: apply through the
    /// config's LoanDesk, `chain.desk_address`).
    #[arg(long)]
    consumer: Option<alloy::primitives::Address>,
    /// Exact gas for the consumer's callback (with --consumer).
    #[arg(long, default_value_t = 250_000)]
    callback_gas: u32,
}

pub async fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let text: Vec<u8> = match (&args.text_file, &args.text) {
        (Some(path), _) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => anyhow::bail!("give --text-file or --text"),
    };
    // The hub takes any bytes up to its limit; a text the node cannot read is still attested
    // (as not a loan), so only warn.
    if let Err(problem) = check_text(&text) {
        tracing::warn!("{problem}: the node will attest it as not a loan");
    }
    let signer = load_evm_key(&args.private_key_file)?;
    let provider = signing_provider(&config.chain.rpc_url, signer)?;
    let hub = OracleHub::new(config.chain.hub_address, &provider);
    let fee = hub
        .requestFee()
        .call()
        .await
        .map_err(|e| contract_error(e, "requestFee"))?;
    let text = Bytes::from(text);
    // Straight to the hub for a named consumer; otherwise as an application to the config's
    // LoanDesk, which files the request and decides on the terms when they arrive.
    let sent = match (args.consumer, config.chain.desk_address) {
        (Some(consumer), _) => hub
            .requestTerms(text, consumer, args.callback_gas)
            .value(fee)
            .send()
            .await
            .map_err(|e| contract_error(e, "requestTerms"))?,
        (None, Some(desk)) => LoanDesk::new(desk, &provider)
            .applyForLoan(text)
            .value(fee)
            .send()
            .await
            .map_err(|e| contract_error(e, "applyForLoan"))?,
        (None, None) => {
            anyhow::bail!("no consumer: pass --consumer or set chain.desk_address in the config")
        }
    };
    let receipt = confirm(sent, "the request").await?;
    let requested = receipt
        .decoded_log::<OracleHub::TermsRequested>()
        .context("no TermsRequested event in the receipt")?;
    println!(
        "{}",
        serde_json::json!({
            "request_id": requested.requestId.to_string(),
            "tx": receipt.transaction_hash,
            "block": receipt.block_number,
            "text_hash": requested.textHash,
        })
    );
    Ok(())
}
