//! Submission: signed attestations posted with `fulfill` under nonces the store hands out,
//! simulated first, watched to their receipts, and replaced with higher fees when they stall.
//!
//! Every transaction is signed here and written to the store (nonce, hash, raw bytes) before it
//! is sent, so a crash can never leave a transaction the node does not know about; one the RPC
//! node refuses is taken back out, so it leaves no nonce gap. The hub accepts one fulfilment per
//! request, so a request can never be fulfilled twice, and a simulation before every first send
//! keeps the node from paying for a fulfilment that would revert.

use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::BlockId;
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use alloy::transports::RpcError;
use anyhow::Context;

use crate::chain::within;
use crate::contracts::{LoanTerms, OracleHub};
use crate::node::metrics::Metrics;
use crate::store::{Attempt, ORPHANED, RequestRecord, State, Store, now_ms};

/// How transactions are priced and replaced.
#[derive(Debug, Clone)]
pub struct SubmitSettings {
    pub hub: Address,
    pub chain_id: u64,
    pub replace_after_blocks: u64,
    pub replace_after: Duration,
    /// Each replacement's fees over the last one's, in per-mille (1125 = +12.5 %).
    pub fee_bump_permille: u128,
    pub max_fee_per_gas: u128,
    pub gas_headroom_percent: u64,
    pub rpc_timeout: Duration,
}

/// What the hub says about a request before the node sends anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// `fulfill` would succeed.
    Ready,
    /// Not the node's to post; the reason is recorded with the skip.
    Skip(String),
    /// Already fulfilled with exactly this attestation (a send the node lost track of).
    AlreadyOurs,
    /// Would fail for a reason that will not pass (bad terms).
    Fail(String),
    /// Would fail for now (e.g. the transmitter is not registered yet): try again later.
    Retry(String),
}

/// Sends and tracks `fulfill` transactions for one transmitter.
pub struct Submitter {
    provider: DynProvider,
    wallet: EthereumWallet,
    transmitter: Address,
    store: Store,
    settings: SubmitSettings,
    metrics: Arc<Metrics>,
}

impl Submitter {
    pub fn new(
        provider: DynProvider,
        signer: PrivateKeySigner,
        store: Store,
        settings: SubmitSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            provider,
            transmitter: signer.address(),
            wallet: EthereumWallet::from(signer),
            store,
            settings,
            metrics,
        }
    }

    /// The address that sends the transactions.
    pub fn transmitter(&self) -> Address {
        self.transmitter
    }

    /// Reconciles the store's next nonce with the chain at start: the larger of the two, since
    /// transactions the store recorded but the RPC node lost are sent again by `tick`.
    pub async fn reconcile_nonce(&self) -> anyhow::Result<u64> {
        let pending = within(
            self.settings.rpc_timeout,
            "eth_getTransactionCount",
            self.provider
                .get_transaction_count(self.transmitter)
                .pending(),
        )
        .await?;
        let stored = self.store.next_nonce()?.unwrap_or(0);
        let next = pending.max(stored);
        self.store.set_next_nonce(next)?;
        tracing::info!(pending, stored, next, transmitter = %self.transmitter, "nonce reconciled");
        Ok(next)
    }

    /// One pass: follow every sent transaction to its receipt (replacing or resending stalled
    /// ones), then send the signed attestations.
    pub async fn tick(&self) -> anyhow::Result<()> {
        let head = self
            .rpc("eth_blockNumber", self.provider.get_block_number())
            .await?;
        let mined_nonce = self
            .rpc(
                "eth_getTransactionCount",
                self.provider
                    .get_transaction_count(self.transmitter)
                    .latest(),
            )
            .await?;
        let (sent, signed): (Vec<_>, Vec<_>) = self
            .store
            .open_requests()?
            .into_iter()
            .filter(|r| matches!(r.state, State::Submitted | State::Signed))
            .partition(|r| r.state == State::Submitted);
        for record in sent {
            if let Err(error) = self.follow(&record, head, mined_nonce).await {
                tracing::warn!(id = %record.id, "following the fulfilment failed: {error:#}");
            }
        }
        for record in signed {
            self.send_first(&record, head).await?;
        }
        let balance = self
            .rpc(
                "eth_getBalance",
                self.provider.get_balance(self.transmitter),
            )
            .await?;
        self.metrics.wallet_balance_wei.set(f64::from(balance));
        Ok(())
    }

    /// Checks the hub, then sends a request's first transaction (or records why not).
    async fn send_first(&self, record: &RequestRecord, head: u64) -> anyhow::Result<()> {
        if self.checked(record).await? {
            let fees = self.fees().await?;
            let nonce = self.store.next_nonce()?.unwrap_or(0);
            self.send(record, nonce, fees, None, head, "first").await?;
        }
        Ok(())
    }

    /// Runs the preflight and records any outcome but `Ready`; true when sending may go on.
    async fn checked(&self, record: &RequestRecord) -> anyhow::Result<bool> {
        let (to, reason) = match self.preflight(record).await? {
            Preflight::Ready => return Ok(true),
            Preflight::AlreadyOurs => (
                State::Fulfilled,
                "found fulfilled with this node's attestation".to_owned(),
            ),
            Preflight::Skip(reason) => (State::Skipped, reason),
            Preflight::Fail(reason) => (State::Failed, reason),
            Preflight::Retry(reason) => {
                tracing::warn!(id = %record.id, %reason, "fulfil would fail for now; will retry");
                return Ok(false);
            }
        };
        tracing::info!(id = %record.id, state = ?to, %reason, "settled without sending");
        self.store
            .transition(record.id, to, |r| r.reason = Some(reason.clone()))?;
        Ok(false)
    }

    /// Reads the request on the hub and simulates `fulfill` from the transmitter.
    pub async fn preflight(&self, record: &RequestRecord) -> anyhow::Result<Preflight> {
        let hub = OracleHub::new(self.settings.hub, &self.provider);
        let onchain = self.rpc("requests", hub.requests(record.id).call()).await?;
        // An id the hub does not know, or knows with another text: the log was reorganised
        // away (deeper than the confirmations); the watcher reads the id again.
        if onchain.requester == Address::ZERO || onchain.textHash != record.text_hash {
            self.store.set_cursor(crate::store::Cursor {
                block: record.block_number.saturating_sub(1),
                hash: B256::ZERO,
            })?;
            return Ok(Preflight::Skip(format!(
                "{ORPHANED}: the hub holds another text for this id"
            )));
        }
        let call = self.fulfill_call(record)?;
        let simulated = hub
            .fulfill(call.requestId, call.terms, call.modelId, call.signature)
            .from(self.transmitter)
            .call()
            .await;
        let Err(error) = simulated else {
            return Ok(Preflight::Ready);
        };
        use OracleHub::OracleHubErrors as E;
        Ok(match error.as_decoded_interface_error::<E>() {
            Some(E::AlreadyFulfilled(_)) => {
                let digest = self
                    .rpc("attestationDigest", hub.attestationDigest(record.id).call())
                    .await?;
                if Some(digest) == record.digest {
                    Preflight::AlreadyOurs
                } else {
                    Preflight::Skip("fulfilled by another node".into())
                }
            }
            Some(E::RequestNotPending(_)) => Preflight::Skip("cancelled by the requester".into()),
            Some(E::UnknownRequest(_)) => {
                Preflight::Skip(format!("{ORPHANED}: unknown to the hub"))
            }
            Some(E::InvalidTerms(_)) => Preflight::Fail("the hub refuses these terms".into()),
            Some(other) => Preflight::Retry(format!("OracleHub.{other:?}")),
            None => anyhow::bail!("simulating fulfil for {}: {error}", record.id),
        })
    }

    /// Follows a sent request: its receipt, a resend if the RPC node lost it, a replacement if
    /// it stalled.
    async fn follow(
        &self,
        record: &RequestRecord,
        head: u64,
        mined_nonce: u64,
    ) -> anyhow::Result<()> {
        for attempt in record.attempts.iter().rev() {
            let receipt = self
                .rpc(
                    "eth_getTransactionReceipt",
                    self.provider.get_transaction_receipt(attempt.tx_hash),
                )
                .await?;
            if let Some(receipt) = receipt {
                return self.settle(record, attempt, &receipt).await;
            }
        }
        let Some(last) = record.last_attempt() else {
            return Ok(());
        };
        let known = self
            .rpc(
                "eth_getTransactionByHash",
                self.provider.get_transaction_by_hash(last.tx_hash),
            )
            .await?;
        if let Some(tx) = &known
            && tx.block_number.is_some()
        {
            // Mined a moment ago: its receipt comes on the next pass.
            return Ok(());
        }
        if mined_nonce > last.nonce {
            if known.is_some() {
                return Ok(());
            }
            // The nonce went to a transaction the store does not hold (another tool using the
            // key): this request needs a new one, after a fresh check of the hub.
            tracing::warn!(id = %record.id, nonce = last.nonce, "nonce used elsewhere; sending anew");
            return self.send_first(record, head).await;
        }
        if known.is_none() {
            tracing::info!(id = %record.id, tx = %last.tx_hash, "the RPC node lost the transaction; sending it again");
            self.metrics.tx_sent("resend");
            if let Err(error) = self
                .rpc(
                    "eth_sendRawTransaction",
                    self.provider.send_raw_transaction(&last.raw),
                )
                .await
            {
                tracing::warn!(id = %record.id, "resend failed: {error:#}");
            }
            return Ok(());
        }
        let stalled_blocks = head >= last.sent_at_block + self.settings.replace_after_blocks;
        let stalled_time =
            now_ms() / 1000 >= last.sent_at_secs + self.settings.replace_after.as_secs();
        if stalled_blocks || stalled_time {
            self.replace(record, last, head).await?;
        }
        Ok(())
    }

    /// Records a mined transaction's outcome.
    async fn settle(
        &self,
        record: &RequestRecord,
        attempt: &Attempt,
        receipt: &alloy::rpc::types::TransactionReceipt,
    ) -> anyhow::Result<()> {
        let gas = receipt.gas_used;
        self.metrics.gas_used.inc_by(gas);
        self.metrics
            .fees_paid_wei
            .inc_by(gas as f64 * receipt.effective_gas_price as f64);
        if receipt.status() {
            let latency = now_ms().saturating_sub(record.seen_at_ms) as f64 / 1000.0;
            self.metrics.request_latency_seconds.observe(latency);
            self.store.transition(record.id, State::Fulfilled, |r| {
                r.fulfilled_tx = Some(attempt.tx_hash)
            })?;
            tracing::info!(id = %record.id, tx = %attempt.tx_hash, gas, latency_s = latency, "fulfilled");
            return Ok(());
        }
        // Reverted: find out why from the hub's state now.
        let reason = match self.preflight(record).await? {
            Preflight::AlreadyOurs => {
                self.store.transition(record.id, State::Fulfilled, |r| {
                    r.reason = Some("fulfilled with this node's attestation".into())
                })?;
                return Ok(());
            }
            Preflight::Skip(reason) => {
                self.store.transition(record.id, State::Skipped, |r| {
                    r.reason = Some(reason.clone())
                })?;
                return Ok(());
            }
            Preflight::Fail(reason) | Preflight::Retry(reason) => reason,
            Preflight::Ready => "reverted on chain, though a simulation now passes".into(),
        };
        self.store.transition(record.id, State::Failed, |r| {
            r.reason = Some(format!("fulfil {} reverted: {reason}", attempt.tx_hash))
        })?;
        Ok(())
    }

    /// Replaces a stalled transaction: same nonce, both fees raised by the configured bump (at
    /// least 12.5 %, what RPC nodes require), never above the cap.
    async fn replace(
        &self,
        record: &RequestRecord,
        last: &Attempt,
        head: u64,
    ) -> anyhow::Result<()> {
        if !self.checked(record).await? {
            return Ok(());
        }
        let market = self.fees().await?;
        let old = (last.max_fee_per_gas, last.max_priority_fee_per_gas);
        let cap = self.settings.max_fee_per_gas;
        let Some((max_fee, priority)) =
            replacement_fees(old, market, self.settings.fee_bump_permille, cap)
        else {
            tracing::warn!(
                id = %record.id,
                max_fee = last.max_fee_per_gas,
                cap,
                "stalled transaction not replaced: a bumped fee would pass the cap"
            );
            return Ok(());
        };
        tracing::info!(
            id = %record.id,
            nonce = last.nonce,
            old_max_fee = last.max_fee_per_gas,
            max_fee,
            priority,
            "replacing a stalled transaction"
        );
        let fees = (max_fee, priority);
        // The same call with the same gas: an estimate now would run against a pending state
        // that already holds the stalled transaction, and revert.
        self.send(
            record,
            last.nonce,
            fees,
            Some(last.gas_limit),
            head,
            "replacement",
        )
        .await
    }

    /// Signs, records, then sends one `fulfill`. A refusal by the RPC node takes the record back.
    async fn send(
        &self,
        record: &RequestRecord,
        nonce: u64,
        (max_fee, priority): (u128, u128),
        gas_limit: Option<u64>,
        head: u64,
        kind: &'static str,
    ) -> anyhow::Result<()> {
        let input = Bytes::from(self.fulfill_call(record)?.abi_encode());
        let request = TransactionRequest::default()
            .with_from(self.transmitter)
            .with_to(self.settings.hub)
            .with_input(input);
        let gas_limit = match gas_limit {
            Some(limit) => limit,
            None => {
                let estimate = self
                    .rpc(
                        "eth_estimateGas",
                        self.provider
                            .estimate_gas(request.clone())
                            .block(BlockId::latest()),
                    )
                    .await?;
                estimate + estimate * self.settings.gas_headroom_percent / 100
            }
        };
        let envelope: TxEnvelope = request
            .with_chain_id(self.settings.chain_id)
            .with_nonce(nonce)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority)
            .build(&self.wallet)
            .await
            .context("cannot sign the fulfil transaction")?;
        let raw = Bytes::from(envelope.encoded_2718());
        let attempt = Attempt {
            nonce,
            tx_hash: *envelope.tx_hash(),
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority,
            sent_at_block: head,
            sent_at_secs: now_ms() / 1000,
            gas_limit,
            raw: raw.clone(),
        };
        self.store.record_attempt(record.id, attempt.clone())?;
        self.metrics.tx_sent(kind);
        match tokio::time::timeout(
            self.settings.rpc_timeout,
            self.provider.send_raw_transaction(&raw),
        )
        .await
        {
            Ok(Ok(_)) => {
                tracing::info!(id = %record.id, nonce, tx = %attempt.tx_hash, max_fee, kind, "fulfil sent");
                Ok(())
            }
            Ok(Err(RpcError::ErrorResp(refusal))) => {
                self.store.drop_attempt(record.id, attempt.tx_hash)?;
                anyhow::bail!("the RPC node refused fulfil for {}: {refusal}", record.id)
            }
            // A transport error or a timeout leaves it unknown whether the node took the
            // transaction: keep it; `follow` sends it again if the node does not know it.
            Ok(Err(error)) => {
                tracing::warn!(id = %record.id, tx = %attempt.tx_hash, "send may have failed: {error}");
                Ok(())
            }
            Err(_) => {
                tracing::warn!(id = %record.id, tx = %attempt.tx_hash, "send timed out");
                Ok(())
            }
        }
    }

    /// The network's fees now, capped: (max fee, priority fee).
    async fn fees(&self) -> anyhow::Result<(u128, u128)> {
        let estimate = self
            .rpc("eth_feeHistory", self.provider.estimate_eip1559_fees())
            .await?;
        let max_fee = estimate.max_fee_per_gas.min(self.settings.max_fee_per_gas);
        Ok((max_fee, estimate.max_priority_fee_per_gas.min(max_fee)))
    }

    /// The `fulfill` call for a signed record.
    fn fulfill_call(&self, record: &RequestRecord) -> anyhow::Result<OracleHub::fulfillCall> {
        let terms = record
            .terms
            .as_ref()
            .with_context(|| format!("request {} has no signed terms", record.id))?;
        let terms = LoanTerms::abi_decode(terms).context("stored terms do not decode")?;
        Ok(OracleHub::fulfillCall {
            requestId: record.id,
            terms: terms.into(),
            modelId: record.model_id.context("no model id")?,
            signature: record.signature.clone().context("no signature")?,
        })
    }

    async fn rpc<T, E>(
        &self,
        what: &str,
        call: impl std::future::IntoFuture<Output = Result<T, E>>,
    ) -> anyhow::Result<T>
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        let result = within(self.settings.rpc_timeout, what, call).await;
        if result.is_err() {
            self.metrics.rpc_failed("submitter");
        }
        result
    }
}

/// The fees of a replacement: each of (max fee, priority fee) raised by `bump_permille` over
/// the stalled transaction's (and at least by one wei), or to the market's if higher; `None`
/// when the max fee would pass `cap`.
pub fn replacement_fees(
    old: (u128, u128),
    market: (u128, u128),
    bump_permille: u128,
    cap: u128,
) -> Option<(u128, u128)> {
    let bump = |fee: u128| (fee * bump_permille).div_ceil(1000).max(fee + 1);
    let max_fee = bump(old.0).max(market.0);
    let priority = bump(old.1).max(market.1).min(max_fee);
    (max_fee <= cap).then_some((max_fee, priority))
}

/// Per-mille factor for a percent bump (12.5 → 1125).
pub fn bump_permille(percent: f64) -> u128 {
    (1000.0 + percent * 10.0).ceil() as u128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacements_raise_both_fees_by_the_bump_up_to_the_cap() {
        assert_eq!(bump_permille(12.5), 1125);
        assert_eq!(bump_permille(20.0), 1200);
        let gwei = 1_000_000_000u128;
        // Market unchanged: exactly +12.5 % on both, rounded up.
        let (max_fee, priority) = replacement_fees(
            (10 * gwei, 2 * gwei),
            (10 * gwei, 2 * gwei),
            1125,
            100 * gwei,
        )
        .unwrap();
        assert_eq!((max_fee, priority), (11_250_000_000, 2_250_000_000));
        // Tiny fees still rise (1 wei × 1.125 rounds up to 2).
        assert_eq!(replacement_fees((1, 1), (0, 0), 1125, 100), Some((2, 2)));
        // The market moved further: follow it.
        assert_eq!(replacement_fees((10, 2), (30, 5), 1125, 100), Some((30, 5)));
        // Never above the cap.
        assert_eq!(replacement_fees((95, 2), (0, 0), 1125, 100), None);
        // The priority fee never exceeds the max fee.
        let (max_fee, priority) = replacement_fees((10, 10), (0, 40), 1125, 100).unwrap();
        assert!(priority <= max_fee);
    }
}
