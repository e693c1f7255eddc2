//! The node: the watcher, the extraction worker, signing and the submitter as tasks around one
//! store, with the HTTP API beside them and a graceful stop on SIGINT/SIGTERM.

pub mod http;
pub mod metrics;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::primitives::{B256, Bytes, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolValue};
use anyhow::Context;
use ed25519_dalek::SigningKey;
use tokio::sync::{Notify, mpsc, watch};

use crate::attestation::{self, domain};
use crate::chain::watcher::{Poll, WatchSettings, Watcher};
use crate::chain::{chain_id, read_provider, signing_provider};
use crate::config::Config;
use crate::extract::worker::{BatchSettings, Job, OnRead, Outcome, Supervision, Worker};
use crate::model::{Extractor, parse_device};
use crate::store::{MAX_READ_ATTEMPTS, State, Store};
use crate::submit::{SubmitSettings, Submitter, bump_permille};
use metrics::Metrics;

/// Everything `run` needs besides the config: the keys, already loaded.
pub struct NodeKeys {
    pub node_key: SigningKey,
    pub transmitter: PrivateKeySigner,
}

/// The longest pause between retries of a failing chain call.
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// Runs the node until `shutdown` turns true (or a signal arrives, see [`shutdown_signal`]).
pub async fn run(
    config: Config,
    keys: NodeKeys,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let store = Store::open(&config.storage.data_dir).with_context(|| {
        format!(
            "cannot open the store in {} (is another node using it?)",
            config.storage.data_dir.display()
        )
    })?;
    let http = http::serve(
        config.http.listen,
        store.clone(),
        metrics.clone(),
        config.http.max_cursor_lag_blocks,
        shutdown.clone(),
    )
    .await?;

    let rpc_timeout = Duration::from_secs(config.chain.rpc_timeout_secs);
    let read = read_provider(&config.chain.rpc_url)?;
    let chain_id = wait_for_chain(&read, &config, &metrics, shutdown.clone()).await?;
    let Some(chain_id) = chain_id else {
        return http.stop().await;
    };
    let domain = domain(chain_id, config.chain.hub_address);

    let model = load_model(config.model.dir.clone(), config.model.device.clone()).await?;
    let model_id: B256 = model
        .model_id()
        .parse()
        .context("the model's id is not 32 bytes of hex")?;
    tracing::info!(model = %model_id, dir = %config.model.dir.display(), "model loaded");
    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let worker = Worker::spawn(
        Arc::new(model),
        BatchSettings {
            max_batch: config.model.batch_size,
            max_wait: Duration::from_millis(config.model.max_wait_ms),
            max_read: Duration::from_secs(config.model.max_read_secs),
            restart_pause: Duration::from_secs(1),
        },
        outcomes_tx,
        metrics.worker.clone(),
        count_readings(store.clone()),
    )?;
    metrics.model_loaded.store(true, Ordering::Relaxed);

    let watcher = Watcher::new(
        read.clone(),
        store.clone(),
        WatchSettings {
            hub: config.chain.hub_address,
            start_block: config.chain.start_block,
            confirmations: config.chain.confirmations,
            max_block_range: config.chain.max_block_range,
            reorg_rewind_blocks: config.chain.reorg_rewind_blocks,
            rpc_timeout,
        },
        metrics.clone(),
    );
    let submitter = Submitter::new(
        signing_provider(&config.chain.rpc_url, keys.transmitter.clone())?,
        keys.transmitter,
        store.clone(),
        SubmitSettings {
            hub: config.chain.hub_address,
            chain_id,
            replace_after_blocks: config.submitter.replace_after_blocks,
            replace_after: Duration::from_secs(config.submitter.replace_after_secs),
            fee_bump_permille: bump_permille(config.submitter.fee_bump_percent),
            max_fee_per_gas: (config.submitter.max_fee_gwei * 1e9) as u128,
            gas_headroom_percent: config.submitter.gas_headroom_percent,
            rpc_timeout,
        },
        metrics.clone(),
    );
    tracing::info!(
        hub = %config.chain.hub_address,
        chain_id,
        transmitter = %submitter.transmitter(),
        node_key = %crate::keys::node_key_id(&keys.node_key.verifying_key()),
        "node started"
    );

    check_registration(&read, &config, &keys.node_key, submitter.transmitter()).await;

    let poll = Duration::from_millis(config.chain.poll_interval_ms);
    // The signer wakes the submitter, so a signed attestation does not wait for a poll.
    let signed = Arc::new(Notify::new());
    let signer = Signer {
        store: store.clone(),
        key: keys.node_key,
        domain,
        model_id,
        signed: signed.clone(),
    };
    // The tasks stop on a signal, or when the extraction worker cannot go on.
    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(forward_shutdown(shutdown, stop_tx.clone()));
    let tasks = (
        tokio::spawn(watch_loop(watcher, poll, metrics.clone(), stop.clone())),
        tokio::spawn(extract_loop(
            store.clone(),
            worker,
            outcomes,
            signer,
            (stop.clone(), stop_tx),
        )),
        tokio::spawn(submit_loop(submitter, poll, signed, stop.clone())),
    );
    let (watched, extracted, submitted) = tokio::join!(tasks.0, tasks.1, tasks.2);
    watched.context("watcher task")?;
    submitted.context("submitter task")?;
    if let Err(error) = extracted.context("extraction task")? {
        let counts = store.counts()?;
        tracing::error!(?counts, "node stopping: {error:#}");
        let _ = http.stop().await;
        return Err(error);
    }
    let counts = store.counts()?;
    tracing::info!(?counts, "node stopped; every request's state is stored");
    http.stop().await
}

/// Waits for the RPC endpoint (retrying with backoff) and checks its chain id. `None` when a
/// shutdown came first.
async fn wait_for_chain(
    provider: &DynProvider,
    config: &Config,
    metrics: &Metrics,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Option<u64>> {
    let mut backoff = Backoff::new(Duration::from_millis(config.chain.poll_interval_ms));
    loop {
        match chain_id(provider).await {
            Ok(id) => {
                anyhow::ensure!(
                    id == config.chain.chain_id,
                    "chain.chain_id: the config says {}, but {} reports {id}",
                    config.chain.chain_id,
                    config.chain.rpc_url
                );
                metrics.rpc_ok.store(true, Ordering::Relaxed);
                return Ok(Some(id));
            }
            Err(error) => {
                metrics.rpc_failed("start");
                tracing::warn!("waiting for the RPC endpoint: {error:#}");
            }
        }
        if backoff.sleep(&mut shutdown).await {
            return Ok(None);
        }
    }
}

/// Warns when the hub does not know this transmitter for this node key: every `fulfill` would
/// revert with `NotTransmitter` until the owner registers it (the node keeps its work meanwhile).
async fn check_registration(
    provider: &DynProvider,
    config: &Config,
    node_key: &SigningKey,
    transmitter: alloy::primitives::Address,
) {
    let hub = crate::contracts::OracleHub::new(config.chain.hub_address, provider);
    let expected = crate::keys::node_key_id(&node_key.verifying_key());
    match hub.nodeKeyOf(transmitter).call().await {
        Ok(registered) if registered == expected => {}
        Ok(registered) => tracing::error!(
            %transmitter,
            node_key = %expected,
            %registered,
            "the hub does not have this node key for this transmitter: run `loan-oracle register`; \
             requests are kept until it does"
        ),
        Err(error) => tracing::warn!("cannot check the node's registration: {error}"),
    }
}

/// Turns `to` true once `from` does (a signal), so the tasks have one stop they all follow.
async fn forward_shutdown(mut from: watch::Receiver<bool>, to: watch::Sender<bool>) {
    if from.wait_for(|stop| *stop).await.is_ok() {
        let _ = to.send(true);
    }
}

/// Counts a reading against each request before the model reads it (see
/// [`crate::store::RequestRecord::read_attempts`]).
fn count_readings(store: Store) -> OnRead {
    Arc::new(move |ids: &[U256]| {
        if let Err(error) = store.begin_reading(ids) {
            tracing::error!(
                "cannot count the readings of {} requests: {error}",
                ids.len()
            );
        }
    })
}

/// Loads the model off the async runtime.
async fn load_model(dir: PathBuf, device: String) -> anyhow::Result<Extractor> {
    tokio::task::spawn_blocking(move || {
        let device = parse_device(&device)?;
        Extractor::load(&dir, &device)
            .with_context(|| format!("cannot load the model in {}", dir.display()))
    })
    .await?
}

/// Reads confirmed requests until shutdown; failing calls are retried with backoff.
async fn watch_loop(
    watcher: Watcher,
    poll: Duration,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(poll);
    loop {
        let pause = match watcher.poll().await {
            Ok(outcome) => {
                metrics.rpc_ok.store(true, Ordering::Relaxed);
                backoff.reset();
                match outcome {
                    Poll::Read { to, new, behind } if behind > 0 => {
                        tracing::info!(block = to, behind, new, "catching up");
                        Duration::ZERO
                    }
                    Poll::Read { to, new, .. } if new > 0 => {
                        tracing::info!(block = to, new, "new requests");
                        poll
                    }
                    Poll::Rewound { .. } => Duration::ZERO,
                    _ => poll,
                }
            }
            Err(error) => {
                metrics.rpc_ok.store(false, Ordering::Relaxed);
                metrics.rpc_failed("watcher");
                tracing::warn!("watcher: {error:#}");
                backoff.next()
            }
        };
        if stopped(&mut shutdown, pause).await {
            return;
        }
    }
}

/// Feeds seen requests to the worker and signs what it reads, until shutdown; then lets the
/// batch in hand finish and stores its results. The worker is supervised on every tick: when
/// its thread dies, the jobs it held are sent again once it is restarted; when it cannot go on,
/// every task is stopped and the error returned, so the node exits non-zero.
async fn extract_loop(
    store: Store,
    mut worker: Worker,
    mut outcomes: mpsc::UnboundedReceiver<Outcome>,
    signer: Signer,
    (mut shutdown, stop_all): (watch::Receiver<bool>, watch::Sender<bool>),
) -> anyhow::Result<()> {
    let mut in_flight: HashSet<U256> = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut failure = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            Some(outcome) = outcomes.recv() => {
                in_flight.remove(&outcome.id);
                signer.store_outcome(outcome);
            }
            _ = tick.tick() => {
                match worker.supervise() {
                    Ok(Supervision::Died(_)) => in_flight.clear(),
                    Ok(_) => {}
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
                if let Err(error) = dispatch(&store, &worker, &signer, &mut in_flight) {
                    tracing::error!("dispatch: {error:#}");
                }
            }
        }
    }
    let _ = stop_all.send(true);
    // Stop taking work; the worker finishes its batch, and its results are stored.
    tokio::task::block_in_place(|| worker.stop());
    while let Ok(outcome) = outcomes.try_recv() {
        signer.store_outcome(outcome);
    }
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// One scan of the open requests: queues every seen one the worker does not already have, and
/// signs any left extracted (a stop between the two writes). A request whose reading died
/// before is read alone; one whose reading died [`MAX_READ_ATTEMPTS`] times is set aside as
/// failed, so it is never retried forever and the requests behind it flow on.
fn dispatch(
    store: &Store,
    worker: &Worker,
    signer: &Signer,
    in_flight: &mut HashSet<U256>,
) -> anyhow::Result<()> {
    for record in store.open_requests()? {
        match record.state {
            // The count includes a reading in hand: only one that is not can have died.
            State::Seen if in_flight.contains(&record.id) => {}
            State::Seen if record.read_attempts >= MAX_READ_ATTEMPTS => {
                set_aside(store, &record)?;
            }
            State::Seen if in_flight.insert(record.id) => {
                let job = Job {
                    id: record.id,
                    text: record.text,
                    alone: record.read_attempts > 0,
                };
                if !worker.submit(job) {
                    // The worker is down; the job is sent again once it runs.
                    in_flight.remove(&record.id);
                    return Ok(());
                }
            }
            State::Extracted => signer.sign(record.id)?,
            _ => {}
        }
    }
    Ok(())
}

/// Fails a request whose reading died too often.
fn set_aside(store: &Store, record: &crate::store::RequestRecord) -> anyhow::Result<()> {
    let reason = format!(
        "reading its text died {} times (the process aborted, was killed or the worker was \
         stuck while reading it); set aside, never read again",
        record.read_attempts
    );
    tracing::error!(id = %record.id, "{reason}");
    store.transition(record.id, State::Failed, |r| {
        r.reason = Some(reason.clone())
    })?;
    Ok(())
}

/// Signs extracted terms with the node key over the hub's digest.
struct Signer {
    store: Store,
    key: SigningKey,
    domain: Eip712Domain,
    model_id: B256,
    signed: Arc<Notify>,
}

impl Signer {
    /// Stores what was read, then signs it.
    fn store_outcome(&self, outcome: Outcome) {
        let id = outcome.id;
        // A reorg may have replaced the request while its old text was with the model.
        match self.store.get(id) {
            Ok(Some(r)) if r.state == State::Seen && r.text_hash == outcome.text_hash => {}
            Ok(_) => {
                tracing::info!(%id, "dropping a reading of a text the request no longer holds");
                return;
            }
            Err(error) => {
                tracing::error!(%id, "store: {error}");
                return;
            }
        }
        let stored = self.store.transition(id, State::Extracted, |r| {
            let mut json = outcome.extraction.to_json(false);
            if let Some(note) = &outcome.note {
                json["note"] = note.clone().into();
            }
            r.result = Some(json);
            r.terms = Some(Bytes::from(
                crate::contracts::LoanTerms::from(&outcome.extraction).abi_encode(),
            ));
        });
        match stored {
            Ok(_) => {
                if let Err(error) = self.sign(id) {
                    tracing::error!(%id, "signing: {error:#}");
                }
            }
            // A reorg may have closed the request meanwhile.
            Err(error) => tracing::warn!(%id, "not stored: {error}"),
        }
    }

    fn sign(&self, id: U256) -> anyhow::Result<()> {
        let record = self.store.get(id)?.context("request vanished")?;
        let terms =
            crate::contracts::LoanTerms::abi_decode(record.terms.as_ref().context("no terms")?)?;
        let attestation = attestation::attestation(id, &record.text, self.model_id, terms);
        let digest = attestation::digest(&attestation, &self.domain);
        let signature = attestation::sign(&self.key, digest);
        self.store.transition(id, State::Signed, |r| {
            r.model_id = Some(self.model_id);
            r.digest = Some(digest);
            r.signature = Some(Bytes::from(signature.to_vec()));
        })?;
        tracing::info!(%id, %digest, "signed");
        self.signed.notify_one();
        Ok(())
    }
}

/// Posts signed attestations until shutdown; failing calls are retried with backoff.
async fn submit_loop(
    submitter: Submitter,
    poll: Duration,
    signed: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new(poll);
    loop {
        match submitter.reconcile_nonce().await {
            Ok(_) => break,
            Err(error) => {
                tracing::warn!("submitter: cannot read the transmitter's nonce: {error:#}");
                if backoff.sleep(&mut shutdown).await {
                    return;
                }
            }
        }
    }
    backoff.reset();
    loop {
        let pause = match submitter.tick().await {
            Ok(()) => {
                backoff.reset();
                poll
            }
            Err(error) => {
                tracing::warn!("submitter: {error:#}");
                backoff.next()
            }
        };
        tokio::select! {
            _ = signed.notified() => {}
            stop = stopped(&mut shutdown, pause) => if stop { return },
        }
    }
}

/// Sleeps `pause`; true if a shutdown came first.
async fn stopped(shutdown: &mut watch::Receiver<bool>, pause: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = shutdown.changed() => true,
        _ = tokio::time::sleep(pause) => *shutdown.borrow(),
    }
}

/// Doubling pauses between retries, from the poll interval up to [`MAX_BACKOFF`].
struct Backoff {
    base: Duration,
    current: Duration,
}

impl Backoff {
    fn new(base: Duration) -> Self {
        Self {
            base,
            current: base,
        }
    }

    fn next(&mut self) -> Duration {
        let pause = self.current;
        self.current = (self.current * 2).min(MAX_BACKOFF);
        pause
    }

    fn reset(&mut self) {
        self.current = self.base;
    }

    async fn sleep(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        let pause = self.next();
        stopped(shutdown, pause).await
    }
}

/// A channel that turns true on the first SIGINT or SIGTERM.
pub fn shutdown_signal() -> anyhow::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!("{name}: stopping; work in hand is finished and stored");
        let _ = tx.send(true);
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(1));
        let pauses: Vec<u64> = (0..6).map(|_| backoff.next().as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 8, 8]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_secs(1));
    }
}
