//! Chain watching: `TermsRequested` logs read from a persisted cursor in bounded block ranges,
//! taken only once buried under the configured confirmations, with reorgs found by block hash.
//!
//! alloy's log pollers (`watch_logs`) follow the head through an `eth_newFilter` the RPC node
//! holds in memory: nothing survives a restart of either side, and logs arrive unconfirmed. The
//! node needs a cursor it owns, so it reads fixed ranges with `eth_getLogs` and checks the hash of
//! the cursor's block on every poll (anvil does not mark reorged logs `removed`).

use std::sync::Arc;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use anyhow::Context;

use crate::chain::within;
use crate::contracts::OracleHub::TermsRequested;
use crate::node::metrics::Metrics;
use crate::store::{Cursor, ORPHANED, RequestRecord, State, Store};

/// How the watcher reads the chain.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    pub hub: Address,
    pub start_block: u64,
    pub confirmations: u64,
    pub max_block_range: u64,
    pub reorg_rewind_blocks: u64,
    pub rpc_timeout: Duration,
}

/// What one poll did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Read blocks up to `to`; `new` requests recorded; `behind` blocks still to read.
    Read { to: u64, new: usize, behind: u64 },
    /// Nothing confirmed beyond the cursor yet.
    UpToDate,
    /// The cursor's block was reorganised away; the cursor moved back to `to`.
    Rewound { to: u64, orphaned: usize },
}

/// Reads confirmed requests into the store.
pub struct Watcher {
    provider: DynProvider,
    store: Store,
    settings: WatchSettings,
    metrics: Arc<Metrics>,
}

impl Watcher {
    pub fn new(
        provider: DynProvider,
        store: Store,
        settings: WatchSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            provider,
            store,
            settings,
            metrics,
        }
    }

    /// One step: check the cursor's block is still canonical, then read the next range of
    /// confirmed blocks (at most `max_block_range`).
    pub async fn poll(&self) -> anyhow::Result<Poll> {
        let head = within(
            self.settings.rpc_timeout,
            "eth_blockNumber",
            self.provider.get_block_number(),
        )
        .await?;
        let confirmed = head.saturating_sub(self.settings.confirmations);
        let cursor = self.store.cursor()?;
        if let Some(cursor) = cursor
            && cursor.block <= head
            && self.block_hash(cursor.block).await? != Some(cursor.hash)
        {
            return self.rewind(cursor).await;
        }
        let from = cursor.map_or(self.settings.start_block, |c| c.block + 1);
        if from > confirmed {
            self.metrics.set_cursor(from.saturating_sub(1), confirmed);
            return Ok(Poll::UpToDate);
        }
        let to = confirmed.min(from + self.settings.max_block_range - 1);
        let (records, to_hash) = self.read_range(from, to).await?;
        let new = self.store.record_confirmed(
            &records,
            Cursor {
                block: to,
                hash: to_hash,
            },
        )?;
        self.metrics.set_cursor(to, confirmed);
        Ok(Poll::Read {
            to,
            new,
            behind: confirmed - to,
        })
    }

    /// The requests logged in `from..=to`, and the hash of `to` they were read against.
    async fn read_range(&self, from: u64, to: u64) -> anyhow::Result<(Vec<RequestRecord>, B256)> {
        let before = self
            .block_hash(to)
            .await?
            .with_context(|| format!("block {to} not found"))?;
        let filter = Filter::new()
            .address(self.settings.hub)
            .event_signature(TermsRequested::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = within(
            self.settings.rpc_timeout,
            "eth_getLogs",
            self.provider.get_logs(&filter),
        )
        .await?;
        // Logs read across a reorg would mix two chains: read again on the next poll.
        let after = self.block_hash(to).await?;
        anyhow::ensure!(
            after == Some(before),
            "block {to} changed while its logs were read"
        );
        let records = logs
            .iter()
            .filter(|log| !log.removed)
            .filter_map(|log| match record_of(log) {
                Ok(record) => Some(record),
                Err(error) => {
                    tracing::warn!(
                        ?log,
                        "skipping a TermsRequested log that does not decode: {error:#}"
                    );
                    None
                }
            })
            .collect();
        Ok((records, before))
    }

    /// The cursor's block is no longer canonical: move back `reorg_rewind_blocks` and drop the
    /// requests whose blocks were replaced before anything was sent for them.
    async fn rewind(&self, cursor: Cursor) -> anyhow::Result<Poll> {
        self.metrics.reorgs.inc();
        let floor = self.settings.start_block.saturating_sub(1);
        let to = cursor
            .block
            .saturating_sub(self.settings.reorg_rewind_blocks)
            .max(floor);
        let hash = self.block_hash(to).await?.unwrap_or_default();
        let mut orphaned = 0;
        for record in self.store.open_requests()? {
            let unsent = matches!(record.state, State::Seen | State::Extracted | State::Signed);
            if !unsent || record.block_number <= to {
                continue;
            }
            if self.block_hash(record.block_number).await? != Some(record.block_hash) {
                self.store.transition(record.id, State::Skipped, |r| {
                    r.reason = Some(format!(
                        "{ORPHANED}: block {} {} left the chain",
                        r.block_number, r.block_hash
                    ))
                })?;
                orphaned += 1;
            }
        }
        self.store.set_cursor(Cursor { block: to, hash })?;
        tracing::warn!(
            from = cursor.block,
            to,
            orphaned,
            "reorg: the cursor's block left the chain; reading again"
        );
        Ok(Poll::Rewound { to, orphaned })
    }

    async fn block_hash(&self, number: u64) -> anyhow::Result<Option<B256>> {
        let block = within(
            self.settings.rpc_timeout,
            "eth_getBlockByNumber",
            self.provider
                .get_block_by_number(BlockNumberOrTag::Number(number)),
        )
        .await?;
        Ok(block.map(|b| b.header.hash))
    }
}

/// A store record from a `TermsRequested` log.
fn record_of(log: &Log) -> anyhow::Result<RequestRecord> {
    let event = log.log_decode::<TermsRequested>()?.inner.data;
    Ok(RequestRecord::seen(
        event.requestId,
        log.block_number.context("log without block number")?,
        log.block_hash.context("log without block hash")?,
        log.log_index.context("log without index")?,
        event.requester,
        event.consumer,
        event.callbackGasLimit,
        event.text,
        event.textHash,
    ))
}
