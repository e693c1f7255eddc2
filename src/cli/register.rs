//! `loan-oracle register`: register a node key and transmitter with the hub.

use std::path::PathBuf;

use alloy::primitives::Address;
use clap::Args;

use crate::chain::signing_provider;
use crate::config::Config;
use crate::contracts::register_node;
use crate::keys::{load_evm_key, load_node_key, node_key_id};

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The node config `deploy` wrote.
    #[arg(long)]
    config: PathBuf,
    /// The node's ed25519 key file (`keys new`).
    #[arg(long)]
    node_key: PathBuf,
    /// The address that will post the node's attestations.
    #[arg(long)]
    transmitter: Address,
    /// File with the hub owner's hex private key (mode 0600).
    #[arg(long)]
    private_key_file: PathBuf,
}

pub async fn run(args: RegisterArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let node_key = node_key_id(&load_node_key(&args.node_key)?.verifying_key());
    let provider = signing_provider(&config.chain.rpc_url, load_evm_key(&args.private_key_file)?)?;
    register_node(
        &provider,
        config.chain.hub_address,
        node_key,
        args.transmitter,
    )
    .await?;
    tracing::info!(%node_key, transmitter = %args.transmitter, hub = %config.chain.hub_address, "registered node");
    println!(
        "{}",
        serde_json::json!({ "node_key": node_key, "transmitter": args.transmitter })
    );
    Ok(())
}
