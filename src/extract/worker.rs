//! The extraction worker: one thread that owns the loaded model and reads texts in batches (up
//! to a size, or whatever arrived within a wait), so the async runtime never blocks on it.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes, U256, keccak256};
use tokio::sync::mpsc::UnboundedSender;

use crate::extract::{Extraction, Status};
use crate::model::{Extractor, check_text};
use crate::node::metrics::Metrics;

/// A text to read.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: U256,
    pub text: Bytes,
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

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    pub max_batch: usize,
    pub max_wait: Duration,
}

/// A running worker: send jobs with `submit`; outcomes arrive on the channel given to `spawn`.
pub struct Worker {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker thread with a loaded model.
    pub fn spawn(
        extractor: Extractor,
        settings: BatchSettings,
        outcomes: UnboundedSender<Outcome>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let (jobs, queue) = channel();
        let thread = std::thread::Builder::new()
            .name("extraction".into())
            .spawn(move || run(extractor, settings, queue, outcomes, metrics))?;
        Ok(Self {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Queues a text; false once the worker has stopped.
    pub fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }

    /// Stops taking jobs, lets the batch in hand finish, and waits for the thread.
    pub fn stop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the extraction thread panicked");
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(
    extractor: Extractor,
    settings: BatchSettings,
    queue: Receiver<Job>,
    outcomes: UnboundedSender<Outcome>,
    metrics: Arc<Metrics>,
) {
    while let Some(batch) = next_batch(&queue, settings) {
        let started = Instant::now();
        let results = read_batch(&extractor, &batch);
        metrics
            .extraction_seconds
            .observe(started.elapsed().as_secs_f64());
        metrics.batch_size.observe(batch.len() as f64);
        tracing::debug!(texts = batch.len(), elapsed = ?started.elapsed(), "read a batch");
        for outcome in results {
            if outcomes.send(outcome).is_err() {
                return;
            }
        }
    }
}

/// Waits for one job, then takes more until the batch is full or `max_wait` has passed.
/// `None` once the sending side is gone and the queue is empty.
fn next_batch(queue: &Receiver<Job>, settings: BatchSettings) -> Option<Vec<Job>> {
    let first = queue.recv().ok()?;
    let deadline = Instant::now() + settings.max_wait;
    let mut batch = vec![first];
    while batch.len() < settings.max_batch {
        let left = deadline.saturating_duration_since(Instant::now());
        match queue.recv_timeout(left) {
            Ok(job) => batch.push(job),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Reads a batch. A text that is empty, too long or not UTF-8 is not a readable loan text and
/// gets `not_a_loan`; if the model fails on the batch, each text is tried alone, and one that
/// still fails is attested `incomplete` (a loan whose terms could not be read) with the error
/// noted, so no request is dropped.
pub fn read_batch(extractor: &Extractor, batch: &[Job]) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = vec![None; batch.len()];
    let mut readable = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        match check_text(&job.text) {
            Ok(text) => readable.push((i, text)),
            Err(error) => {
                outcomes[i] = Some(job.outcome(
                    Extraction::not_a_loan(),
                    Some(format!("unreadable text: {error}")),
                ))
            }
        }
    }
    let texts: Vec<&str> = readable.iter().map(|(_, t)| *t).collect();
    match extractor.extract(&texts) {
        Ok(extractions) => {
            for ((i, _), extraction) in readable.iter().zip(extractions) {
                outcomes[*i] = Some(batch[*i].outcome(extraction, None));
            }
        }
        Err(error) => {
            tracing::warn!(
                "model failed on a batch of {}: {error:#}; reading one by one",
                texts.len()
            );
            for (i, text) in &readable {
                outcomes[*i] = Some(match extractor.extract(&[text]) {
                    Ok(mut one) if one.len() == 1 => batch[*i].outcome(one.remove(0), None),
                    Ok(_) | Err(_) => batch[*i].outcome(
                        Extraction::unread(Status::Incomplete),
                        Some("the model failed on this text".into()),
                    ),
                });
            }
        }
    }
    outcomes.into_iter().flatten().collect()
}
