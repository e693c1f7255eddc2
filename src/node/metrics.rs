//! Metrics and health: what `/metrics` exports in Prometheus text format and what `/readyz`
//! decides from.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::extract::worker::WorkerMetrics;
use crate::store::{State, Store};

type Labels = Vec<(&'static str, &'static str)>;

/// The node's metrics and health flags, shared by its tasks.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Gauge>,
    /// The extraction worker's own metrics and health.
    pub worker: Arc<WorkerMetrics>,
    pub request_latency_seconds: Histogram,
    pub tx_attempts: Family<Labels, Counter>,
    pub gas_used: Counter,
    pub fees_paid_wei: Counter<f64, AtomicU64>,
    pub cursor_block: Gauge,
    pub cursor_lag_blocks: Gauge,
    pub wallet_balance_wei: Gauge<f64, AtomicU64>,
    pub reorgs: Counter,
    pub rpc_errors: Family<Labels, Counter>,
    /// The last chain call of the watcher succeeded.
    pub rpc_ok: AtomicBool,
    /// The model is loaded and its worker is running.
    pub model_loaded: AtomicBool,
    /// How far the cursor is behind the confirmed head, in blocks.
    pub lag: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh metrics, registered under the `loan_oracle` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("loan_oracle");
        let requests = Family::<Labels, Gauge>::default();
        registry.register(
            "requests",
            "Requests in the store, by state",
            requests.clone(),
        );
        let worker = Arc::new(WorkerMetrics::new());
        worker.register(&mut registry);
        let request_latency_seconds = Histogram::new(exponential_buckets(0.25, 2.0, 12));
        registry.register(
            "request_latency_seconds",
            "From reading a request's log to its fulfilment receipt",
            request_latency_seconds.clone(),
        );
        let tx_attempts = Family::<Labels, Counter>::default();
        registry.register(
            "tx_attempts",
            "Fulfil transactions sent, by kind (first, replacement, resend)",
            tx_attempts.clone(),
        );
        let gas_used = Counter::default();
        registry.register(
            "gas_used",
            "Gas used by mined fulfil transactions",
            gas_used.clone(),
        );
        let fees_paid_wei = Counter::<f64, AtomicU64>::default();
        registry.register(
            "fees_paid_wei",
            "Wei paid for mined fulfil transactions",
            fees_paid_wei.clone(),
        );
        let cursor_block = Gauge::default();
        registry.register(
            "cursor_block",
            "The last block whose logs were taken",
            cursor_block.clone(),
        );
        let cursor_lag_blocks = Gauge::default();
        registry.register(
            "cursor_lag_blocks",
            "Blocks between the cursor and the confirmed head",
            cursor_lag_blocks.clone(),
        );
        let wallet_balance_wei = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "wallet_balance_wei",
            "The transmitter's balance",
            wallet_balance_wei.clone(),
        );
        let reorgs = Counter::default();
        registry.register("reorgs", "Reorgs seen at the cursor", reorgs.clone());
        let rpc_errors = Family::<Labels, Counter>::default();
        registry.register(
            "rpc_errors",
            "Failed chain calls, by task",
            rpc_errors.clone(),
        );
        Self {
            registry,
            requests,
            worker,
            request_latency_seconds,
            tx_attempts,
            gas_used,
            fees_paid_wei,
            cursor_block,
            cursor_lag_blocks,
            wallet_balance_wei,
            reorgs,
            rpc_errors,
            rpc_ok: AtomicBool::new(false),
            model_loaded: AtomicBool::new(false),
            lag: AtomicU64::new(u64::MAX),
        }
    }

    /// Counts one fulfil transaction of `kind`.
    pub fn tx_sent(&self, kind: &'static str) {
        self.tx_attempts.get_or_create(&vec![("kind", kind)]).inc();
    }

    /// Counts one failed chain call of `task`.
    pub fn rpc_failed(&self, task: &'static str) {
        self.rpc_errors.get_or_create(&vec![("task", task)]).inc();
    }

    /// Records the cursor's position against the confirmed head.
    pub fn set_cursor(&self, block: u64, confirmed_head: u64) {
        let lag = confirmed_head.saturating_sub(block);
        self.cursor_block.set(block as i64);
        self.cursor_lag_blocks.set(lag as i64);
        self.lag.store(lag, Ordering::Relaxed);
    }

    /// Whether the node can do its job: RPC answering, model loaded, cursor close to the head.
    pub fn readiness(&self, max_lag: u64) -> Result<(), String> {
        let mut problems = Vec::new();
        if !self.rpc_ok.load(Ordering::Relaxed) {
            problems.push("rpc unreachable".to_owned());
        }
        if !self.model_loaded.load(Ordering::Relaxed) {
            problems.push("model not loaded".to_owned());
        }
        if let Some(problem) = self.worker.health.problem() {
            problems.push(problem);
        }
        let lag = self.lag.load(Ordering::Relaxed);
        if lag > max_lag {
            problems.push(if lag == u64::MAX {
                "cursor not yet placed".to_owned()
            } else {
                format!("cursor {lag} blocks behind (bound {max_lag})")
            });
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The metrics in Prometheus (OpenMetrics) text format, with request counts read from the
    /// store now.
    pub fn render(&self, store: &Store) -> anyhow::Result<String> {
        for (state, count) in store.counts()? {
            self.requests
                .get_or_create(&vec![("state", state_name(state))])
                .set(count as i64);
        }
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// A state's label value.
pub fn state_name(state: State) -> &'static str {
    match state {
        State::Seen => "seen",
        State::Extracted => "extracted",
        State::Signed => "signed",
        State::Submitted => "submitted",
        State::Fulfilled => "fulfilled",
        State::Failed => "failed",
        State::Skipped => "skipped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_a_dead_extraction_worker() {
        let metrics = Metrics::new();
        metrics.rpc_ok.store(true, Ordering::Relaxed);
        metrics.model_loaded.store(true, Ordering::Relaxed);
        metrics.set_cursor(10, 10);
        assert_eq!(metrics.readiness(5), Ok(()));
        metrics
            .worker
            .health
            .set_down(Some("panicked: store unavailable".into()));
        let why = metrics.readiness(5).unwrap_err();
        assert_eq!(why, "extraction worker down: panicked: store unavailable");
        metrics.worker.health.set_down(None);
        assert_eq!(metrics.readiness(5), Ok(()));
    }
}
