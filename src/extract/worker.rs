//! The extraction worker: one thread that owns the loaded model and reads texts in batches (up
//! to a size, or whatever arrived within a wait), so the async runtime never blocks on it.
//!
//! A text must never stop the node, so the worker is built in three rings:
//! - a panic while reading is caught, for the batch and then for each text alone; a text whose
//!   reading panics is attested `incomplete` with the panic's message as its note, and the next
//!   text is read;
//! - the thread itself is supervised ([`Worker::supervise`]): if it dies for any other reason,
//!   [`WorkerHealth`] names why (so `/readyz` answers 503), and it is restarted after a pause,
//!   or the node gives up and exits non-zero after [`MAX_RESTARTS`] deaths in a row; a batch
//!   that runs past its time limit also makes the node exit, since a stuck thread cannot be
//!   stopped from outside;
//! - before each batch is read, `on_read` is told its requests, so the node can count the
//!   reading against them: a crash no catch can stop (an abort, `kill -9`) is then known after
//!   the restart, and such a text is read alone, then set aside (see `node::dispatch`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes, U256, keccak256};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::mpsc::UnboundedSender;

use crate::extract::{Extraction, Status};
use crate::model::{Extractor, check_text};

/// Deaths of the thread in a row (without a batch read in between) after which the node stops.
pub const MAX_RESTARTS: u32 = 5;

/// A text to read.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: U256,
    pub text: Bytes,
    /// Read in a batch of its own: an earlier reading of it died, and it must not take other
    /// texts down with it again.
    pub alone: bool,
}

impl Job {
    fn outcome(&self, extraction: Extraction, note: Option<String>) -> Outcome {
        Outcome {
            id: self.id,
            text_hash: keccak256(&self.text),
            extraction,
            note,
        }
    }
}

/// What was read, and a note where the text could not be read as a loan text at all.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: U256,
    /// The hash of the text that was read (a reorg may have put another text under the id).
    pub text_hash: B256,
    pub extraction: Extraction,
    pub note: Option<String>,
}

/// What reads texts: the model ([`Extractor`]) in the node, a stand-in in tests.
pub trait TextModel: Send + Sync + 'static {
    /// Extracts the spec's terms from each text.
    fn extract(&self, texts: &[&str]) -> anyhow::Result<Vec<Extraction>>;
}

impl TextModel for Extractor {
    fn extract(&self, texts: &[&str]) -> anyhow::Result<Vec<Extraction>> {
        Extractor::extract(self, texts)
    }
}

/// Told the requests of each batch before it is read.
pub type OnRead = Arc<dyn Fn(&[U256]) + Send + Sync>;

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    pub max_batch: usize,
    pub max_wait: Duration,
    /// How long one batch may take before the worker counts as stuck.
    pub max_read: Duration,
    /// The pause before the first restart of a dead thread; it doubles with each death in a
    /// row.
    pub restart_pause: Duration,
}

/// The worker's metrics, registered into the node's registry.
#[derive(Debug)]
pub struct WorkerMetrics {
    pub extraction_seconds: Histogram,
    pub batch_size: Histogram,
    /// Texts whose reading panicked (caught, attested `incomplete`).
    pub panics: Counter,
    /// Times the thread died and was started again.
    pub restarts: Counter,
    pub health: WorkerHealth,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> Self {
        Self {
            extraction_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            batch_size: Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
            panics: Counter::default(),
            restarts: Counter::default(),
            health: WorkerHealth::default(),
        }
    }

    /// Registers the worker's metrics (`extraction_seconds`, `batch_size`,
    /// `extraction_panics_total`, `extraction_worker_restarts_total`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "extraction_seconds",
            "Wall time of one model batch",
            self.extraction_seconds.clone(),
        );
        registry.register(
            "batch_size",
            "Texts per model batch",
            self.batch_size.clone(),
        );
        registry.register(
            "extraction_panics",
            "Texts whose reading panicked (attested incomplete)",
            self.panics.clone(),
        );
        registry.register(
            "extraction_worker_restarts",
            "Times the extraction thread died and was started again",
            self.restarts.clone(),
        );
    }
}

/// Whether the worker is reading: why it is down, and since when its batch has been running.
#[derive(Debug, Default)]
pub struct WorkerHealth {
    down: Mutex<Option<String>>,
    /// Unix milliseconds when the batch in hand began; 0 when idle.
    busy_since_ms: AtomicU64,
    max_read_ms: AtomicU64,
    /// Batches read to the end since the node started.
    batches_read: AtomicU64,
}

impl WorkerHealth {
    /// What keeps the worker from reading, if anything: it died, or its batch has run too long.
    pub fn problem(&self) -> Option<String> {
        if let Some(why) = self.down.lock().ok().and_then(|d| d.clone()) {
            return Some(format!("extraction worker down: {why}"));
        }
        self.stuck().map(|(secs, limit)| {
            format!("extraction worker stuck: one batch has run {secs} s (limit {limit} s)")
        })
    }

    /// How long, in seconds, the batch in hand has run and its limit, once it is past it.
    fn stuck(&self) -> Option<(u64, u64)> {
        let (busy_ms, limit_ms) = (self.busy_ms(), self.max_read_ms.load(Ordering::Relaxed));
        (limit_ms > 0 && busy_ms > limit_ms).then_some((busy_ms / 1000, limit_ms / 1000))
    }

    /// How long the batch in hand has run, in milliseconds (0 when idle).
    fn busy_ms(&self) -> u64 {
        match self.busy_since_ms.load(Ordering::Relaxed) {
            0 => 0,
            since => now_ms().saturating_sub(since),
        }
    }

    pub(crate) fn set_down(&self, why: Option<String>) {
        if let Ok(mut down) = self.down.lock() {
            *down = why;
        }
    }
}

fn now_ms() -> u64 {
    crate::store::now_ms().max(1)
}

/// A running worker: send jobs with `submit`; outcomes arrive on the channel given to `spawn`.
pub struct Worker {
    model: Arc<dyn TextModel>,
    settings: BatchSettings,
    outcomes: UnboundedSender<Outcome>,
    metrics: Arc<WorkerMetrics>,
    on_read: OnRead,
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Deaths in a row: without a batch read to the end in between.
    deaths: u32,
    /// `batches_read` at the last death.
    batches_at_death: u64,
    restart_at: Option<Instant>,
}

/// What [`Worker::supervise`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Supervision {
    /// Reading, or idle.
    Running,
    /// The thread died (why); it is started again after a pause. Jobs sent to it are lost and
    /// must be sent again.
    Died(String),
    /// Pausing before a restart.
    Restarting,
    /// Started again.
    Restarted,
}

/// Why the worker cannot go on; the node exits non-zero so that its supervisor restarts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    #[error("the extraction thread died {deaths} times in a row; last: {last}")]
    KeepsDying { deaths: u32, last: String },
    #[error("the extraction thread is stuck: one batch has run {secs} s (limit {limit} s)")]
    Stuck { secs: u64, limit: u64 },
}

impl Worker {
    /// Starts the worker thread with a loaded model.
    pub fn spawn(
        model: Arc<dyn TextModel>,
        settings: BatchSettings,
        outcomes: UnboundedSender<Outcome>,
        metrics: Arc<WorkerMetrics>,
        on_read: OnRead,
    ) -> anyhow::Result<Self> {
        let max_read_ms = u64::try_from(settings.max_read.as_millis()).unwrap_or(u64::MAX);
        metrics
            .health
            .max_read_ms
            .store(max_read_ms, Ordering::Relaxed);
        let mut worker = Self {
            model,
            settings,
            outcomes,
            metrics,
            on_read,
            jobs: None,
            thread: None,
            deaths: 0,
            batches_at_death: 0,
            restart_at: None,
        };
        worker.start()?;
        Ok(worker)
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let (jobs, queue) = channel();
        let reading = Reading {
            model: self.model.clone(),
            settings: self.settings,
            outcomes: self.outcomes.clone(),
            metrics: self.metrics.clone(),
            on_read: self.on_read.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("extraction".into())
            .spawn(move || reading.run(queue))?;
        self.jobs = Some(jobs);
        self.thread = Some(thread);
        self.metrics.health.set_down(None);
        Ok(())
    }

    /// Queues a text; false while the worker is down (the job is then kept by the caller and
    /// sent again once the worker runs).
    pub fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }

    /// Checks the thread: a dead one is reported and, after a pause that doubles with each
    /// death in a row, started again; too many deaths in a row, or a batch past its time limit,
    /// is an error the node cannot recover from by itself.
    pub fn supervise(&mut self) -> Result<Supervision, WorkerError> {
        self.check_fatal()?;
        if let Some((secs, limit)) = self.metrics.health.stuck() {
            return Err(WorkerError::Stuck { secs, limit });
        }
        if let Some(at) = self.restart_at {
            if Instant::now() < at {
                return Ok(Supervision::Restarting);
            }
            self.restart_at = None;
            if let Err(error) = self.start() {
                let why = format!("cannot start the extraction thread: {error}");
                return Ok(self.died(why));
            }
            return Ok(Supervision::Restarted);
        }
        match &self.thread {
            Some(thread) if !thread.is_finished() => {
                // A batch read to the end since the last death ends the run of deaths.
                let read = self.metrics.health.batches_read.load(Ordering::Relaxed);
                if self.deaths > 0 && read > self.batches_at_death {
                    self.deaths = 0;
                }
                return Ok(Supervision::Running);
            }
            None => return Ok(Supervision::Running),
            Some(_) => {}
        }
        let why = match self.thread.take().map(JoinHandle::join) {
            Some(Err(panic)) => format!("panicked: {}", panic_message(panic.as_ref())),
            _ => "the thread ended".to_owned(),
        };
        self.jobs = None;
        Ok(self.died(why))
    }

    fn died(&mut self, why: String) -> Supervision {
        self.deaths = self.deaths.saturating_add(1);
        self.batches_at_death = self.metrics.health.batches_read.load(Ordering::Relaxed);
        self.metrics.restarts.inc();
        self.metrics
            .health
            .busy_since_ms
            .store(0, Ordering::Relaxed);
        self.metrics.health.set_down(Some(why.clone()));
        tracing::error!(deaths = self.deaths, "extraction thread died: {why}");
        if self.deaths <= MAX_RESTARTS {
            let doubling = 1u32 << (self.deaths - 1).min(6);
            let pause = self.settings.restart_pause.saturating_mul(doubling);
            self.restart_at = Some(Instant::now() + pause);
        }
        Supervision::Died(why)
    }

    /// An error when the thread has died too often to be restarted again.
    pub fn check_fatal(&self) -> Result<(), WorkerError> {
        if self.deaths > MAX_RESTARTS {
            let last = self
                .metrics
                .health
                .down
                .lock()
                .ok()
                .and_then(|d| d.clone())
                .unwrap_or_default();
            return Err(WorkerError::KeepsDying {
                deaths: self.deaths,
                last,
            });
        }
        Ok(())
    }

    /// Stops taking jobs, lets the batch in hand finish, and waits for the thread. A thread
    /// stuck past its time limit is left behind (it cannot be stopped; the process is exiting).
    pub fn stop(&mut self) {
        self.jobs.take();
        if self.metrics.health.stuck().is_some() {
            tracing::error!("leaving the stuck extraction thread behind");
            self.thread.take();
            return;
        }
        if let Some(thread) = self.thread.take()
            && let Err(panic) = thread.join()
        {
            tracing::error!(
                "the extraction thread panicked: {}",
                panic_message(panic.as_ref())
            );
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the thread owns.
struct Reading {
    model: Arc<dyn TextModel>,
    settings: BatchSettings,
    outcomes: UnboundedSender<Outcome>,
    metrics: Arc<WorkerMetrics>,
    on_read: OnRead,
}

impl Reading {
    fn run(self, queue: Receiver<Job>) {
        let mut held = None;
        while let Some(batch) = next_batch(&queue, self.settings, &mut held) {
            let ids: Vec<U256> = batch.iter().map(|j| j.id).collect();
            (self.on_read)(&ids);
            let started = Instant::now();
            let health = &self.metrics.health;
            health.busy_since_ms.store(now_ms(), Ordering::Relaxed);
            let results = read_batch(self.model.as_ref(), &batch, &self.metrics);
            health.busy_since_ms.store(0, Ordering::Relaxed);
            health.batches_read.fetch_add(1, Ordering::Relaxed);
            self.metrics
                .extraction_seconds
                .observe(started.elapsed().as_secs_f64());
            self.metrics.batch_size.observe(batch.len() as f64);
            tracing::debug!(texts = batch.len(), elapsed = ?started.elapsed(), "read a batch");
            for outcome in results {
                if self.outcomes.send(outcome).is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits for one job, then takes more until the batch is full or `max_wait` has passed. A job
/// to be read alone is a batch of its own: one that arrives while a batch fills is held for the
/// next call. `None` once the sending side is gone and the queue is empty.
fn next_batch(
    queue: &Receiver<Job>,
    settings: BatchSettings,
    held: &mut Option<Job>,
) -> Option<Vec<Job>> {
    let first = match held.take() {
        Some(job) => job,
        None => queue.recv().ok()?,
    };
    if first.alone {
        return Some(vec![first]);
    }
    let deadline = Instant::now() + settings.max_wait;
    let mut batch = vec![first];
    while batch.len() < settings.max_batch {
        let left = deadline.saturating_duration_since(Instant::now());
        match queue.recv_timeout(left) {
            Ok(job) if job.alone => {
                *held = Some(job);
                break;
            }
            Ok(job) => batch.push(job),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Reads a batch. A text that is empty, too long or not UTF-8 is not a readable loan text and
/// gets `not_a_loan`. If the model fails or panics on the batch, each text is tried alone, and
/// one that still fails or panics is attested `incomplete` (a loan whose terms could not be
/// read) with the error noted, so no request is dropped and the next text is read.
pub fn read_batch(model: &dyn TextModel, batch: &[Job], metrics: &WorkerMetrics) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
    let mut readable = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        match check_text(&job.text) {
            Ok(text) => readable.push((i, job, text)),
            Err(error) => {
                outcomes[i] = Some(job.outcome(
                    Extraction::not_a_loan(),
                    Some(format!("unreadable text: {error}")),
                ))
            }
        }
    }
    let texts: Vec<&str> = readable.iter().map(|(_, _, t)| *t).collect();
    match guarded(|| model.extract(&texts)) {
        Ok(extractions) if extractions.len() == texts.len() => {
            for ((i, job, _), extraction) in readable.iter().zip(extractions) {
                outcomes[*i] = Some(job.outcome(extraction, None));
            }
        }
        failed => {
            let why = failed
                .err()
                .unwrap_or_else(|| "a result was missing".into());
            tracing::warn!(
                "model failed on a batch of {}: {why}; reading one by one",
                texts.len()
            );
            for (i, job, text) in &readable {
                outcomes[*i] = Some(read_alone(model, job, text, metrics));
            }
        }
    }
    outcomes.into_iter().flatten().collect()
}

fn read_alone(model: &dyn TextModel, job: &Job, text: &str, metrics: &WorkerMetrics) -> Outcome {
    match guarded(|| model.extract(&[text])) {
        Ok(mut one) if one.len() == 1 => job.outcome(one.remove(0), None),
        Ok(_) => unread(job, "the model gave no result for this text".into()),
        Err(why) => {
            if why.starts_with(PANICKED) {
                metrics.panics.inc();
                tracing::error!(id = %job.id, "{why}; attested incomplete");
            }
            unread(job, why)
        }
    }
}

fn unread(job: &Job, note: String) -> Outcome {
    job.outcome(Extraction::unread(Status::Incomplete), Some(note))
}

const PANICKED: &str = "reading this text panicked";

/// Runs `read`, turning an error or a panic into the message to note.
fn guarded<T>(read: impl FnOnce() -> anyhow::Result<T>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(read)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("the model failed on this text: {error:#}")),
        Err(panic) => Err(format!("{PANICKED}: {}", panic_message(panic.as_ref()))),
    }
}

/// The message a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every text as an `ok` loan, except that it panics on any batch holding `PANIC`
    /// and fails on any batch holding `FAIL`.
    struct Stand;

    impl TextModel for Stand {
        #[allow(clippy::string_slice)]
        fn extract(&self, texts: &[&str]) -> anyhow::Result<Vec<Extraction>> {
            if texts.iter().any(|t| t.contains("PANIC")) {
                let s = "借\u{3000}款";
                let _ = &s[..4]; // panics: inside U+3000's bytes, as the reported crash did
            }
            anyhow::ensure!(!texts.iter().any(|t| t.contains("FAIL")), "failed");
            Ok(texts
                .iter()
                .map(|_| Extraction::unread(Status::Ok))
                .collect())
        }
    }

    fn job(id: u64, text: &str) -> Job {
        Job {
            id: U256::from(id),
            text: Bytes::copy_from_slice(text.as_bytes()),
            alone: false,
        }
    }

    #[test]
    fn a_panicking_text_is_attested_incomplete_and_the_rest_are_read() {
        let metrics = WorkerMetrics::new();
        let batch = [
            job(1, "an ordinary loan"),
            job(2, "借款 PANIC"),
            job(3, "another loan"),
            job(4, "a text the model FAILs on"),
        ];
        let out = read_batch(&Stand, &batch, &metrics);
        let status: Vec<Status> = out.iter().map(|o| o.extraction.status).collect();
        assert_eq!(
            status,
            [
                Status::Ok,
                Status::Incomplete,
                Status::Ok,
                Status::Incomplete
            ]
        );
        let note = out[1].note.as_deref().unwrap_or_default();
        assert!(
            note.starts_with(PANICKED) && note.contains("char boundary"),
            "{note}"
        );
        assert!(
            out[3]
                .note
                .as_deref()
                .unwrap_or_default()
                .contains("failed")
        );
        assert_eq!(metrics.panics.get(), 1);
    }

    #[test]
    fn a_job_to_be_read_alone_is_a_batch_of_its_own() {
        let (tx, rx) = channel();
        let settings = BatchSettings {
            max_batch: 8,
            max_wait: Duration::from_millis(20),
            max_read: Duration::from_secs(60),
            restart_pause: Duration::from_millis(1),
        };
        for (id, alone) in [(1, false), (2, false), (3, true), (4, false), (5, true)] {
            tx.send(Job {
                alone,
                ..job(id, "x")
            })
            .unwrap();
        }
        drop(tx);
        let mut held = None;
        let mut batches = Vec::new();
        while let Some(batch) = next_batch(&rx, settings, &mut held) {
            batches.push(batch.iter().map(|j| j.id.to::<u64>()).collect::<Vec<_>>());
        }
        assert_eq!(batches, [vec![1, 2], vec![3], vec![4], vec![5]]);
    }

    #[test]
    fn a_dead_thread_is_named_restarted_and_given_up_on_when_it_keeps_dying() {
        let metrics = Arc::new(WorkerMetrics::new());
        let (outcomes, mut received) = tokio::sync::mpsc::unbounded_channel();
        // The hook panics outside any catch: the thread dies with the batch in hand.
        let on_read: OnRead = Arc::new(|ids: &[U256]| {
            assert!(!ids.contains(&U256::from(66)), "store unavailable");
        });
        let settings = BatchSettings {
            max_batch: 4,
            max_wait: Duration::from_millis(1),
            max_read: Duration::from_secs(60),
            restart_pause: Duration::from_millis(1),
        };
        let mut worker = Worker::spawn(
            Arc::new(Stand),
            settings,
            outcomes,
            metrics.clone(),
            on_read,
        )
        .unwrap();
        assert!(worker.submit(job(1, "a loan")));
        assert_eq!(received.blocking_recv().map(|o| o.id), Some(U256::from(1)));
        assert_eq!(worker.supervise(), Ok(Supervision::Running));
        assert_eq!(metrics.health.problem(), None);

        assert!(worker.submit(job(66, "a loan")));
        let died = wait_for(&mut worker, |s| matches!(s, Supervision::Died(_)));
        let Supervision::Died(why) = died else {
            unreachable!()
        };
        assert!(why.contains("store unavailable"), "{why}");
        let problem = metrics.health.problem().unwrap_or_default();
        assert!(
            problem.contains("extraction worker down") && problem.contains("store unavailable")
        );
        assert!(!worker.submit(job(2, "a loan")), "no jobs while down");
        wait_for(&mut worker, |s| *s == Supervision::Restarted);
        assert_eq!(metrics.health.problem(), None, "ready again once restarted");
        assert!(worker.submit(job(2, "a loan")));
        assert_eq!(received.blocking_recv().map(|o| o.id), Some(U256::from(2)));
        assert_eq!(metrics.restarts.get(), 1);

        // A text that kills the thread every time: the node is told to give up.
        let mut deaths = 0;
        while worker.check_fatal().is_ok() {
            assert!(worker.submit(job(66, "a loan")));
            wait_for(&mut worker, |s| matches!(s, Supervision::Died(_)));
            deaths += 1;
            if worker.check_fatal().is_ok() {
                wait_for(&mut worker, |s| *s == Supervision::Restarted);
            }
        }
        assert_eq!(deaths, MAX_RESTARTS + 1);
        let fatal = worker.supervise().unwrap_err();
        assert!(matches!(fatal, WorkerError::KeepsDying { .. }), "{fatal}");
        assert!(
            metrics.health.problem().is_some(),
            "not ready once given up"
        );
    }

    fn wait_for(worker: &mut Worker, done: impl Fn(&Supervision) -> bool) -> Supervision {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let seen = worker.supervise().unwrap();
            if done(&seen) {
                return seen;
            }
            assert!(Instant::now() < deadline, "still {seen:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
