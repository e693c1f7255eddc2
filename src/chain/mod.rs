//! Chain access: providers for an RPC endpoint, timeouts on every call, transaction
//! confirmation, and the watcher that reads confirmed requests.

pub mod watcher;

use std::future::IntoFuture;
use std::time::Duration;

use alloy::network::{Ethereum, EthereumWallet};
use alloy::providers::{DynProvider, PendingTransactionBuilder, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;

/// How long to wait for a transaction to be mined before giving up (alloy's `get_receipt`
/// would otherwise wait forever).
pub const TX_TIMEOUT: Duration = Duration::from_secs(60);

/// A read-only provider for `rpc_url`.
pub fn read_provider(rpc_url: &str) -> anyhow::Result<DynProvider> {
    let url = rpc_url
        .parse()
        .with_context(|| format!("invalid RPC URL {rpc_url:?}"))?;
    Ok(ProviderBuilder::new().connect_http(url).erased())
}

/// A provider for `rpc_url` that signs and sends with `signer`.
pub fn signing_provider(rpc_url: &str, signer: PrivateKeySigner) -> anyhow::Result<DynProvider> {
    let url = rpc_url
        .parse()
        .with_context(|| format!("invalid RPC URL {rpc_url:?}"))?;
    Ok(ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(url)
        .erased())
}

/// Waits (at most `TX_TIMEOUT`) for a sent transaction's receipt and fails if it reverted.
pub async fn confirm(
    pending: PendingTransactionBuilder<Ethereum>,
    what: &str,
) -> anyhow::Result<TransactionReceipt> {
    let tx_hash = *pending.tx_hash();
    let receipt = pending
        .with_timeout(Some(TX_TIMEOUT))
        .get_receipt()
        .await
        .with_context(|| format!("{what}: no receipt for {tx_hash}"))?;
    anyhow::ensure!(receipt.status(), "{what}: transaction {tx_hash} reverted");
    Ok(receipt)
}

/// The chain id the endpoint reports.
pub async fn chain_id(provider: &impl Provider<Ethereum>) -> anyhow::Result<u64> {
    provider
        .get_chain_id()
        .await
        .context("eth_chainId failed: is the RPC endpoint up?")
}

/// Runs one RPC call with a time limit: an endpoint that stops answering must not stall the
/// node (alloy's HTTP transport has no timeout of its own).
pub async fn within<T, E>(
    limit: Duration,
    what: &str,
    call: impl IntoFuture<Output = Result<T, E>>,
) -> anyhow::Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.with_context(|| format!("{what} failed")),
        Err(_) => anyhow::bail!("{what} timed out after {limit:?}"),
    }
}
