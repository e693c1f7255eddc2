//! Storage: every request's state, the watcher's cursor and the transmitter's next nonce, in
//! sled; each transition is one atomic write, so a restart resumes exactly where work stopped.

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its log was read and confirmed.
    Seen,
    /// The model read its text (or found it unreadable: that is a result too).
    Extracted,
    /// The attestation is signed.
    Signed,
    /// A fulfilment transaction is out (possibly replaced).
    Submitted,
    /// The hub recorded the attestation.
    Fulfilled,
    /// Given up, with a reason.
    Failed,
    /// Not ours to post: fulfilled by another node, cancelled, or orphaned by a reorg.
    Skipped,
}

impl State {
    /// Whether nothing more will happen to the request.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Fulfilled | Self::Failed | Self::Skipped)
    }

    /// The transitions the pipeline makes; anything else is a bug and is refused.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        match (self, next) {
            (from, Failed | Skipped) => !from.is_terminal(),
            (Seen, Extracted) | (Extracted, Signed) | (Signed, Submitted) => true,
            // A replacement transaction, and the receipt of any of them.
            (Submitted, Submitted | Fulfilled) => true,
            // The node refused the only transaction: it never left, so the request is as signed.
            (Submitted, Signed) => true,
            _ => false,
        }
    }

    /// Every state, for metrics.
    pub const ALL: [State; 7] = [
        Self::Seen,
        Self::Extracted,
        Self::Signed,
        Self::Submitted,
        Self::Fulfilled,
        Self::Failed,
        Self::Skipped,
    ];
}

/// One fulfilment transaction sent for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub nonce: u64,
    pub tx_hash: B256,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    /// The chain head when it was sent.
    pub sent_at_block: u64,
    /// When it was sent, in Unix seconds.
    #[serde(default)]
    pub sent_at_secs: u64,
    /// Its gas limit (a replacement keeps it).
    #[serde(default)]
    pub gas_limit: u64,
    /// The signed transaction, kept so it can be sent again after a restart or a lost send.
    #[serde(default)]
    pub raw: Bytes,
}

/// Everything the node knows about one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub id: U256,
    pub block_number: u64,
    pub block_hash: B256,
    pub log_index: u64,
    pub requester: Address,
    pub consumer: Address,
    pub callback_gas_limit: u32,
    pub text: Bytes,
    pub text_hash: B256,
    pub state: State,
    /// The spec's JSON of what was read.
    pub result: Option<serde_json::Value>,
    /// The ABI-encoded `LoanTerms` that were signed.
    pub terms: Option<Bytes>,
    pub model_id: Option<B256>,
    pub digest: Option<B256>,
    pub signature: Option<Bytes>,
    /// Every transaction sent, oldest first; the same nonce when one replaces another.
    pub attempts: Vec<Attempt>,
    pub fulfilled_tx: Option<B256>,
    pub reason: Option<String>,
    /// When the node first read the request, in Unix milliseconds.
    #[serde(default)]
    pub seen_at_ms: u64,
    /// Readings of the text begun by the model. One that ends stores its result, so a count
    /// above zero on a request still `seen` means a reading died with the process (an abort,
    /// `kill -9`, a stuck thread): the text is then read alone, and after
    /// [`MAX_READ_ATTEMPTS`] it is set aside.
    #[serde(default)]
    pub read_attempts: u32,
}

impl RequestRecord {
    /// A request just read from its log.
    #[allow(clippy::too_many_arguments)]
    pub fn seen(
        id: U256,
        block_number: u64,
        block_hash: B256,
        log_index: u64,
        requester: Address,
        consumer: Address,
        callback_gas_limit: u32,
        text: Bytes,
        text_hash: B256,
    ) -> Self {
        Self {
            id,
            block_number,
            block_hash,
            log_index,
            requester,
            consumer,
            callback_gas_limit,
            text,
            text_hash,
            state: State::Seen,
            result: None,
            terms: None,
            model_id: None,
            digest: None,
            signature: None,
            attempts: Vec::new(),
            fulfilled_tx: None,
            reason: None,
            seen_at_ms: now_ms(),
            read_attempts: 0,
        }
    }

    /// Whether this record may be replaced by a newer reading of the same request id: it was
    /// orphaned by a reorg, or nothing has been sent for it and its log moved to another block.
    fn replaceable_by(&self, newer: &RequestRecord) -> bool {
        let orphaned = self.state == State::Skipped
            && self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with(ORPHANED));
        let unsent = matches!(self.state, State::Seen | State::Extracted | State::Signed);
        orphaned || (unsent && (self.block_hash != newer.block_hash || self.text != newer.text))
    }

    /// The latest transaction sent for it.
    pub fn last_attempt(&self) -> Option<&Attempt> {
        self.attempts.last()
    }
}

/// Readings of one text that may die before the request is set aside as failed.
pub const MAX_READ_ATTEMPTS: u32 = 2;

/// How a skipped request's reason starts when a reorg removed its log.
pub const ORPHANED: &str = "orphaned by a reorg";

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The watcher's position: the last block whose logs were taken, and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub block: u64,
    pub hash: B256,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store: corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("request {0} is not in the store")]
    Unknown(U256),
    #[error("request {id}: {from:?} cannot become {to:?}")]
    Transition { id: U256, from: State, to: State },
}

/// The node's store.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    requests: sled::Tree,
    open: sled::Tree,
    meta: sled::Tree,
}

const CURSOR: &[u8] = b"cursor";
const NEXT_NONCE: &[u8] = b"next_nonce";

fn key(id: U256) -> [u8; 32] {
    id.to_be_bytes()
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &std::path::Path) -> Result<Self, StoreError> {
        let db = sled::open(dir)?;
        Ok(Self {
            requests: db.open_tree("requests")?,
            open: db.open_tree("open")?,
            meta: db.open_tree("meta")?,
            db,
        })
    }

    /// Records newly confirmed requests and moves the cursor, in one write. Requests already
    /// known are left as they are, unless a reorg orphaned the known reading (see
    /// `replaceable_by`). Returns how many were new or replaced.
    pub fn record_confirmed(
        &self,
        records: &[RequestRecord],
        cursor: Cursor,
    ) -> Result<usize, StoreError> {
        let encoded: Vec<([u8; 32], Vec<u8>)> = records
            .iter()
            .map(|r| Ok((key(r.id), serde_json::to_vec(r)?)))
            .collect::<Result<_, StoreError>>()?;
        let cursor_bytes = serde_json::to_vec(&cursor)?;
        let added = (&self.requests, &self.open, &self.meta)
            .transaction(|(requests, open, meta)| {
                let mut added = 0;
                for ((k, v), record) in encoded.iter().zip(records) {
                    let known = match requests.get(k)? {
                        None => None,
                        Some(bytes) => Some(
                            serde_json::from_slice::<RequestRecord>(&bytes).map_err(|e| {
                                ConflictableTransactionError::Abort(StoreError::Corrupt(e))
                            })?,
                        ),
                    };
                    if known.is_none_or(|known| known.replaceable_by(record)) {
                        requests.insert(&k[..], v.as_slice())?;
                        open.insert(&k[..], &[][..])?;
                        added += 1;
                    }
                }
                meta.insert(CURSOR, cursor_bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(added)
            })
            .map_err(unwrap_tx)?;
        self.db.flush()?;
        Ok(added)
    }

    /// Moves a request to `to`, applying `change` to its record, atomically; refuses transitions
    /// the pipeline does not make. Returns the new record.
    pub fn transition(
        &self,
        id: U256,
        to: State,
        change: impl Fn(&mut RequestRecord),
    ) -> Result<RequestRecord, StoreError> {
        let k = key(id);
        let record = (&self.requests, &self.open)
            .transaction(|(requests, open)| {
                let bytes = requests
                    .get(k)?
                    .ok_or(ConflictableTransactionError::Abort(StoreError::Unknown(id)))?;
                let mut record: RequestRecord = serde_json::from_slice(&bytes)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e)))?;
                if !record.state.can_become(to) {
                    return Err(ConflictableTransactionError::Abort(
                        StoreError::Transition {
                            id,
                            from: record.state,
                            to,
                        },
                    ));
                }
                change(&mut record);
                record.state = to;
                let encoded = serde_json::to_vec(&record)
                    .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e)))?;
                requests.insert(&k[..], encoded)?;
                if to.is_terminal() {
                    open.remove(&k[..])?;
                }
                Ok(record)
            })
            .map_err(unwrap_tx)?;
        self.db.flush()?;
        Ok(record)
    }

    /// Counts a reading begun for each of `ids` that is still `seen`, in one durable write
    /// before the model reads them (see [`RequestRecord::read_attempts`]).
    pub fn begin_reading(&self, ids: &[U256]) -> Result<(), StoreError> {
        self.requests
            .transaction(|requests| {
                for id in ids {
                    let k = key(*id);
                    let Some(bytes) = requests.get(k)? else {
                        continue;
                    };
                    let mut record: RequestRecord = serde_json::from_slice(&bytes)
                        .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e)))?;
                    if record.state != State::Seen {
                        continue;
                    }
                    record.read_attempts = record.read_attempts.saturating_add(1);
                    let encoded = serde_json::to_vec(&record)
                        .map_err(|e| ConflictableTransactionError::Abort(StoreError::Corrupt(e)))?;
                    requests.insert(&k[..], encoded)?;
                }
                Ok(())
            })
            .map_err(unwrap_tx)?;
        self.db.flush()?;
        Ok(())
    }

    /// A transaction's bookkeeping, written before it is sent: records the attempt and moves the
    /// next nonce past it, in one write.
    pub fn record_attempt(&self, id: U256, attempt: Attempt) -> Result<RequestRecord, StoreError> {
        let next = attempt.nonce + 1;
        let record = self.transition(id, State::Submitted, |r| r.attempts.push(attempt.clone()))?;
        if self.next_nonce()?.is_none_or(|n| n < next) {
            self.set_next_nonce(next)?;
        }
        Ok(record)
    }

    /// Undoes `record_attempt` for a transaction the RPC node refused: it never left, so its
    /// nonce is free again (a gap would stall every later transaction).
    pub fn drop_attempt(&self, id: U256, tx_hash: B256) -> Result<RequestRecord, StoreError> {
        let current = self.get(id)?.ok_or(StoreError::Unknown(id))?;
        let remaining = current
            .attempts
            .iter()
            .filter(|a| a.tx_hash != tx_hash)
            .count();
        let to = if remaining == 0 {
            State::Signed
        } else {
            State::Submitted
        };
        let dropped = current.attempts.iter().find(|a| a.tx_hash == tx_hash);
        // A refused replacement leaves its nonce to the transaction it meant to replace.
        if let Some(attempt) = dropped
            && self.next_nonce()? == Some(attempt.nonce + 1)
            && !current
                .attempts
                .iter()
                .any(|a| a.nonce == attempt.nonce && a.tx_hash != tx_hash)
        {
            self.set_next_nonce(attempt.nonce)?;
        }
        self.transition(id, to, |r| r.attempts.retain(|a| a.tx_hash != tx_hash))
    }

    /// One request.
    pub fn get(&self, id: U256) -> Result<Option<RequestRecord>, StoreError> {
        self.requests
            .get(key(id))?
            .map(|b| serde_json::from_slice(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Every request not yet fulfilled, failed or skipped, oldest first.
    pub fn open_requests(&self) -> Result<Vec<RequestRecord>, StoreError> {
        self.open
            .iter()
            .keys()
            .filter_map(|k| k.ok())
            .map(|k| {
                let id = U256::from_be_slice(&k);
                self.get(id)?.ok_or(StoreError::Unknown(id))
            })
            .collect()
    }

    /// How many requests are in each state.
    pub fn counts(&self) -> Result<Vec<(State, u64)>, StoreError> {
        let mut counts: std::collections::HashMap<State, u64> = Default::default();
        for value in self.requests.iter().values() {
            let record: RequestRecord = serde_json::from_slice(&value?)?;
            *counts.entry(record.state).or_default() += 1;
        }
        Ok(State::ALL
            .iter()
            .map(|s| (*s, counts.get(s).copied().unwrap_or(0)))
            .collect())
    }

    /// The watcher's cursor, if it has one.
    pub fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        self.meta
            .get(CURSOR)?
            .map(|b| serde_json::from_slice(&b).map_err(StoreError::from))
            .transpose()
    }

    /// Moves the cursor (after a reorg, back).
    pub fn set_cursor(&self, cursor: Cursor) -> Result<(), StoreError> {
        self.meta.insert(CURSOR, serde_json::to_vec(&cursor)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The next nonce the transmitter will use, as the store knows it.
    pub fn next_nonce(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta
            .get(NEXT_NONCE)?
            .map(|b| u64::from_be_bytes(b.as_ref().try_into().unwrap_or([0; 8]))))
    }

    /// Sets the next nonce (reconciled with the chain at start).
    pub fn set_next_nonce(&self, nonce: u64) -> Result<(), StoreError> {
        self.meta.insert(NEXT_NONCE, &nonce.to_be_bytes())?;
        self.db.flush()?;
        Ok(())
    }
}

fn unwrap_tx(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Sled(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> RequestRecord {
        RequestRecord::seen(
            U256::from(id),
            10 + id,
            B256::repeat_byte(id as u8),
            0,
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            200_000,
            Bytes::from_static(b"loan text"),
            B256::repeat_byte(9),
        )
    }

    #[test]
    fn requests_move_through_the_pipeline_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let cursor = Cursor {
            block: 12,
            hash: B256::repeat_byte(7),
        };
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(
                store
                    .record_confirmed(&[record(1), record(2)], cursor)
                    .unwrap(),
                2
            );
            assert_eq!(
                store.record_confirmed(&[record(1)], cursor).unwrap(),
                0,
                "known requests are kept"
            );
            store
                .transition(U256::from(1), State::Extracted, |r| {
                    r.result = Some(serde_json::json!({"status": "ok"}))
                })
                .unwrap();
            store
                .transition(U256::from(1), State::Signed, |r| {
                    r.digest = Some(B256::repeat_byte(3))
                })
                .unwrap();
            let attempt = Attempt {
                nonce: 4,
                tx_hash: B256::repeat_byte(5),
                max_fee_per_gas: 10,
                max_priority_fee_per_gas: 1,
                sent_at_block: 13,
                sent_at_secs: 0,
                gas_limit: 300_000,
                raw: Bytes::new(),
            };
            store.record_attempt(U256::from(1), attempt).unwrap();
            store
                .transition(U256::from(2), State::Skipped, |r| {
                    r.reason = Some("cancelled".into())
                })
                .unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.cursor().unwrap(), Some(cursor));
        assert_eq!(store.next_nonce().unwrap(), Some(5));
        let one = store.get(U256::from(1)).unwrap().unwrap();
        assert_eq!(one.state, State::Submitted);
        assert_eq!(one.digest, Some(B256::repeat_byte(3)));
        assert_eq!(one.attempts.len(), 1);
        let open: Vec<U256> = store
            .open_requests()
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(open, vec![U256::from(1)], "skipped requests are closed");
        let counts: std::collections::HashMap<State, u64> =
            store.counts().unwrap().into_iter().collect();
        assert_eq!(
            (
                counts[&State::Submitted],
                counts[&State::Skipped],
                counts[&State::Seen]
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn refuses_transitions_the_pipeline_does_not_make() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .record_confirmed(
                &[record(1)],
                Cursor {
                    block: 1,
                    hash: B256::ZERO,
                },
            )
            .unwrap();
        let err = store
            .transition(U256::from(1), State::Submitted, |_| {})
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Transition {
                    from: State::Seen,
                    to: State::Submitted,
                    ..
                }
            ),
            "{err}"
        );
        store
            .transition(U256::from(1), State::Failed, |r| {
                r.reason = Some("x".into())
            })
            .unwrap();
        let err = store
            .transition(U256::from(1), State::Fulfilled, |_| {})
            .unwrap_err();
        assert!(matches!(err, StoreError::Transition { .. }));
        assert!(matches!(
            store.transition(U256::from(9), State::Failed, |_| {}),
            Err(StoreError::Unknown(_))
        ));
        assert_eq!(
            store.get(U256::from(1)).unwrap().unwrap().state,
            State::Failed,
            "a refused change writes nothing"
        );
    }

    #[test]
    fn a_reorged_reading_replaces_only_unsent_or_orphaned_records() {
        let (_dir, store) = store_with_two();
        store
            .transition(U256::from(2), State::Skipped, |r| {
                r.reason = Some(format!("{ORPHANED}: gone"))
            })
            .unwrap();
        let mut moved = record(1);
        moved.block_hash = B256::repeat_byte(0xee);
        moved.text = Bytes::from_static(b"another text");
        let mut back = record(2);
        back.block_hash = B256::repeat_byte(0xdd);
        assert_eq!(
            store
                .record_confirmed(&[moved.clone(), back], CURSOR_20)
                .unwrap(),
            2
        );
        assert_eq!(store.get(U256::from(1)).unwrap().unwrap().text, moved.text);
        let two = store.get(U256::from(2)).unwrap().unwrap();
        assert_eq!(two.state, State::Seen, "an orphaned request is read again");

        // Once a transaction is out, a new reading does not overwrite the record.
        read_and_sign(&store, 1);
        store.record_attempt(U256::from(1), attempt(0, 1)).unwrap();
        let mut again = record(1);
        again.block_hash = B256::repeat_byte(0xcc);
        assert_eq!(store.record_confirmed(&[again], CURSOR_20).unwrap(), 0);
        assert_eq!(
            store.get(U256::from(1)).unwrap().unwrap().state,
            State::Submitted
        );
    }

    #[test]
    fn a_refused_transaction_gives_its_nonce_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.record_confirmed(&[record(1)], CURSOR_20).unwrap();
        read_and_sign(&store, 1);
        store.set_next_nonce(7).unwrap();
        store.record_attempt(U256::from(1), attempt(7, 1)).unwrap();
        store.record_attempt(U256::from(1), attempt(7, 2)).unwrap();
        assert_eq!(store.next_nonce().unwrap(), Some(8));

        // A refused replacement leaves the nonce with the first transaction.
        let record = store
            .drop_attempt(U256::from(1), B256::repeat_byte(2))
            .unwrap();
        assert_eq!((record.state, record.attempts.len()), (State::Submitted, 1));
        assert_eq!(store.next_nonce().unwrap(), Some(8));
        // The only transaction refused: the request is signed again and the nonce free.
        let record = store
            .drop_attempt(U256::from(1), B256::repeat_byte(1))
            .unwrap();
        assert_eq!((record.state, record.attempts.len()), (State::Signed, 0));
        assert_eq!(store.next_nonce().unwrap(), Some(7));
    }

    #[test]
    fn readings_begun_are_counted_on_seen_requests_only_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store
                .record_confirmed(&[record(1), record(2)], CURSOR_20)
                .unwrap();
            store
                .begin_reading(&[U256::from(1), U256::from(2)])
                .unwrap();
            store
                .begin_reading(&[U256::from(1), U256::from(9)])
                .unwrap();
            read_and_sign(&store, 2);
            store.begin_reading(&[U256::from(2)]).unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let attempts = |id: u64| store.get(U256::from(id)).unwrap().unwrap().read_attempts;
        assert_eq!(
            (attempts(1), attempts(2)),
            (2, 1),
            "a signed request is not read again"
        );
    }

    /// A new store holding requests 1 and 2, just seen.
    fn store_with_two() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .record_confirmed(&[record(1), record(2)], CURSOR_20)
            .unwrap();
        (dir, store)
    }

    const CURSOR_20: Cursor = Cursor {
        block: 20,
        hash: B256::ZERO,
    };

    /// Moves a seen request on to signed.
    fn read_and_sign(store: &Store, id: u64) {
        for state in [State::Extracted, State::Signed] {
            store.transition(U256::from(id), state, |_| {}).unwrap();
        }
    }

    fn attempt(nonce: u64, tag: u8) -> Attempt {
        Attempt {
            nonce,
            tx_hash: B256::repeat_byte(tag),
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            sent_at_block: 1,
            sent_at_secs: 0,
            gas_limit: 100_000,
            raw: Bytes::new(),
        }
    }
}
