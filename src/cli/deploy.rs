//! `loan-oracle deploy`: deploy the hub and the example desk, write a node config.

use std::path::PathBuf;

use alloy::providers::Provider;
use anyhow::Context;
use clap::Args;

use crate::chain::{chain_id, signing_provider};
use crate::config::{ChainConfig, Config};
use crate::contracts::{DeploySettings, deploy};
use crate::keys::load_evm_key;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// HTTP JSON-RPC endpoint.
    #[arg(long, env = "LOAN_ORACLE_RPC_URL")]
    rpc_url: String,
    /// File with the deployer's hex private key (mode 0600); the deployer owns the hub.
    #[arg(long)]
    private_key_file: PathBuf,
    /// Where to write the node config (must not exist).
    #[arg(long)]
    out: PathBuf,
    /// Seconds before a requester may cancel an unfulfilled request.
    #[arg(long, default_value_t = 3600)]
    request_timeout: u64,
    /// The currency the example LoanDesk lends in.
    #[arg(long, default_value = "USD")]
    desk_currency: String,
    /// The LoanDesk's largest principal, in minor units (default: 1,000,000.00).
    #[arg(long, default_value_t = 100_000_000)]
    desk_limit_minor: u128,
}

pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        !args.out.exists(),
        "{} already exists; refusing to overwrite a config",
        args.out.display()
    );
    let signer = load_evm_key(&args.private_key_file)?;
    let owner = signer.address();
    let provider = signing_provider(&args.rpc_url, signer)?;
    let chain_id = chain_id(&provider).await?;
    let settings = DeploySettings {
        request_timeout_secs: args.request_timeout,
        desk_currency: args.desk_currency,
        desk_limit_minor: args.desk_limit_minor,
    };
    let deployment = deploy(&provider, owner, &settings).await?;
    tracing::info!(hub = %deployment.hub, desk = %deployment.desk, block = deployment.block, %owner, "deployed");

    let mut chain = ChainConfig::new(args.rpc_url, chain_id, deployment.hub, deployment.block);
    chain.desk_address = Some(deployment.desk);
    let config = Config::for_chain(chain);
    config.save_new(&args.out)?;
    let balance = provider
        .get_balance(owner)
        .await
        .context("eth_getBalance failed")?;
    tracing::debug!(%balance, "deployer balance after deployment");
    println!(
        "{}",
        serde_json::json!({
            "hub": deployment.hub,
            "desk": deployment.desk,
            "block": deployment.block,
            "chain_id": chain_id,
            "config": args.out,
        })
    );
    Ok(())
}
