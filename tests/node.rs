//! The node daemon (`loan-oracle run`) on a real anvil with the shipped model: every test checks
//! that each request is fulfilled exactly once, with the terms the model reads from its text,
//! signed over the digest the hub stored.

mod common;

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::node_bindings::AnvilInstance;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::{SolCall, SolEvent};
use ed25519_dalek::SigningKey;
use loan_oracle::attestation::{self, domain};
use loan_oracle::chain::{confirm, signing_provider};
use loan_oracle::contracts::{
    DeploySettings, LoanDesk, LoanTerms, OracleHub, deploy, register_node,
};
use loan_oracle::keys::{node_key_id, write_secret};
use loan_oracle::model::Extractor;
use serde_json::Value;

/// A deployed hub and desk with a registered node, and the keys to run it.
struct Chain {
    anvil: AnvilInstance,
    owner: DynProvider,
    hub: Address,
    desk: Address,
    start_block: u64,
    chain_id: u64,
    node_key: SigningKey,
    dir: tempfile::TempDir,
}

impl Chain {
    async fn new() -> Self {
        Self::on(common::spawn_anvil()).await
    }

    async fn on(anvil: AnvilInstance) -> Self {
        let owner_signer = common::dev_signer(&anvil, 0);
        let owner_address = owner_signer.address();
        let owner = signing_provider(&anvil.endpoint(), owner_signer).unwrap();
        let settings = DeploySettings {
            request_timeout_secs: 3600,
            desk_currency: "USD".into(),
            desk_limit_minor: 100_000_000,
        };
        let deployment = deploy(&owner, owner_address, &settings).await.unwrap();
        let node_key = SigningKey::from_bytes(&[42u8; 32]);
        let transmitter = common::dev_signer(&anvil, 1).address();
        register_node(
            &owner,
            deployment.hub,
            node_key_id(&node_key.verifying_key()),
            transmitter,
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        write_secret(
            &dir.path().join("node.key"),
            &hex::encode(node_key.to_bytes()),
        )
        .unwrap();
        write_secret(
            &dir.path().join("transmitter.key"),
            &hex::encode(anvil.keys()[1].to_bytes()),
        )
        .unwrap();
        let chain_id = owner.get_chain_id().await.unwrap();
        Self {
            anvil,
            owner,
            hub: deployment.hub,
            desk: deployment.desk,
            start_block: deployment.block,
            chain_id,
            node_key,
            dir,
        }
    }

    /// A fresh chain and a ready node on it that reads requests as soon as they are mined.
    async fn with_ready_node() -> (Self, Node) {
        let chain = Self::new().await;
        let http = free_port();
        let config = chain.config(&chain.anvil.endpoint(), http, "confirmations = 0", "");
        let node = Node::start_ready(&config, http).await;
        (chain, node)
    }

    /// A node config for this chain: `chain_extra` adds `[chain]` keys, `extra` more sections.
    fn config(&self, rpc_url: &str, http: SocketAddr, chain_extra: &str, extra: &str) -> PathBuf {
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/loan-terms-v1");
        let dir = self.dir.path();
        let text = format!(
            r#"[chain]
rpc_url = "{rpc_url}"
chain_id = {chain_id}
hub_address = "{hub}"
start_block = {start}
poll_interval_ms = 200
{chain_extra}
rpc_timeout_secs = 2

[keys]
node_key_file = "{dir}/node.key"
transmitter_key_file = "{dir}/transmitter.key"

[model]
dir = "{model}"
batch_size = 8
max_wait_ms = 300

[storage]
data_dir = "{dir}/data"

[http]
listen = "{http}"
{extra}
"#,
            chain_id = self.chain_id,
            hub = self.hub,
            start = self.start_block,
            dir = dir.display(),
            model = model.display(),
        );
        let path = dir.join("node.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Applies for a loan through the desk; returns the request id.
    async fn apply(&self, text: &str) -> U256 {
        self.apply_bytes(text.as_bytes()).await
    }

    async fn apply_bytes(&self, text: &[u8]) -> U256 {
        let desk = LoanDesk::new(self.desk, &self.owner);
        let sent = desk
            .applyForLoan(Bytes::from(text.to_vec()))
            .send()
            .await
            .unwrap();
        let receipt = confirm(sent, "applyForLoan").await.unwrap();
        receipt
            .decoded_log::<OracleHub::TermsRequested>()
            .unwrap()
            .requestId
    }

    /// The `TermsAttested` events of request `id`.
    async fn attestations(&self, id: U256) -> Vec<OracleHub::TermsAttested> {
        let filter = Filter::new()
            .address(self.hub)
            .event_signature(OracleHub::TermsAttested::SIGNATURE_HASH)
            .topic1(id)
            .from_block(self.start_block);
        self.owner
            .get_logs(&filter)
            .await
            .unwrap()
            .iter()
            .map(|l| {
                l.log_decode::<OracleHub::TermsAttested>()
                    .unwrap()
                    .inner
                    .data
            })
            .collect()
    }

    /// Checks request `id` was fulfilled exactly once, with `expected` terms, signed by the
    /// node over the digest the hub stored, and that the desk received them.
    async fn assert_fulfilled_once(&self, id: U256, text: &[u8], expected: &LoanTerms) {
        let hub = OracleHub::new(self.hub, &self.owner);
        let attested = self.attestations(id).await;
        assert_eq!(
            attested.len(),
            1,
            "request {id}: {} attestations",
            attested.len()
        );
        let event = &attested[0];
        assert_eq!(
            &LoanTerms::from(event.terms.clone()),
            expected,
            "request {id}: attested terms differ from the model's reading"
        );
        let att = attestation::attestation(id, text, event.modelId, expected.clone());
        let digest = attestation::digest(&att, &domain(self.chain_id, self.hub));
        assert_eq!(hub.attestationDigest(id).call().await.unwrap(), digest);
        assert_eq!(event.digest, digest);
        assert!(attestation::verify(
            &self.node_key.verifying_key(),
            digest,
            &event.signature
        ));
        let desk = LoanDesk::new(self.desk, &self.owner);
        let stored = desk.termsOf(id).call().await.unwrap();
        assert_eq!(
            &LoanTerms::from(stored),
            expected,
            "request {id}: desk terms"
        );
    }

    /// `assert_fulfilled_once` for each request with the terms the model reads from its text.
    async fn assert_all_fulfilled_once(&self, ids: &[U256], texts: &[String]) {
        let expected = expected_terms(texts);
        for ((id, text), terms) in ids.iter().zip(texts).zip(&expected) {
            self.assert_fulfilled_once(*id, text.as_bytes(), terms)
                .await;
        }
    }

    /// An unsent `applyForLoan` from the owner, for `anvil_reorg` to mine.
    fn application(&self, text: &str) -> TransactionData {
        let call = LoanDesk::applyForLoanCall {
            text: Bytes::from(text.as_bytes().to_vec()),
        };
        TransactionData::JSON(
            TransactionRequest::default()
                .from(common::dev_signer(&self.anvil, 0).address())
                .to(self.desk)
                .input(call.abi_encode().into())
                .gas_limit(1_000_000),
        )
    }

    /// Transactions the transmitter has had mined.
    async fn transmitter_nonce(&self) -> u64 {
        let transmitter = common::dev_signer(&self.anvil, 1).address();
        self.owner.get_transaction_count(transmitter).await.unwrap()
    }
}

/// A running `loan-oracle run`, killed when dropped.
struct Node {
    child: Child,
    http: SocketAddr,
    log: PathBuf,
}

impl Node {
    fn start(config: &Path, http: SocketAddr) -> Self {
        let log = config.with_file_name(format!("node-{}.log", unique()));
        let child = Command::new(env!("CARGO_BIN_EXE_loan-oracle"))
            .args(["run", "--config", config.to_str().unwrap()])
            .env("RUST_LOG", "info,loan_oracle=debug")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start loan-oracle run");
        Self { child, http, log }
    }

    /// Starts the node and waits until `/readyz` says ready.
    async fn start_ready(config: &Path, http: SocketAddr) -> Self {
        let mut node = Self::start(config, http);
        node.wait_for("ready", Duration::from_secs(60), Ready(true))
            .await;
        node
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let client = alloy::transports::http::reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let response = client
            .get(format!("http://{}{path}", self.http))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    async fn record(&self, id: U256) -> Option<Value> {
        match self.get(&format!("/requests/{id}")).await {
            Some((200, body)) => serde_json::from_str(&body).ok(),
            _ => None,
        }
    }

    async fn state(&self, id: U256) -> Option<String> {
        Some(self.record(id).await?["state"].as_str()?.to_owned())
    }

    async fn ready(&self) -> bool {
        matches!(self.get("/readyz").await, Some((200, _)))
    }

    /// Waits until every id is fulfilled in the node's store.
    async fn wait_fulfilled(&mut self, ids: &[U256], limit: Duration) {
        let mut left: Vec<U256> = ids.to_vec();
        let started = Instant::now();
        while !left.is_empty() {
            let mut still = Vec::new();
            for id in left {
                if self.state(id).await.as_deref() != Some("fulfilled") {
                    still.push(id);
                }
            }
            left = still;
            if left.is_empty() {
                break;
            }
            self.assert_alive();
            assert!(
                started.elapsed() < limit,
                "not fulfilled within {limit:?}: {left:?}\n{}",
                tail(&self.log_text())
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn wait_for(&mut self, what: &str, limit: Duration, mut check: impl AsyncCheck) {
        let started = Instant::now();
        loop {
            if check.check(self).await {
                return;
            }
            self.assert_alive();
            assert!(
                started.elapsed() < limit,
                "{what}: not within {limit:?}\n{}",
                tail(&self.log_text())
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("the node exited with {status}\n{}", tail(&self.log_text()));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the node did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An async predicate over the node (closures cannot borrow it across awaits).
trait AsyncCheck {
    async fn check(&mut self, node: &Node) -> bool;
}

struct StateIs(U256, &'static str);

impl AsyncCheck for StateIs {
    async fn check(&mut self, node: &Node) -> bool {
        node.state(self.0).await.as_deref() == Some(self.1)
    }
}

struct Ready(bool);

impl AsyncCheck for Ready {
    async fn check(&mut self, node: &Node) -> bool {
        node.ready().await == self.0
    }
}

struct AttemptsAtLeast(U256, usize);

impl AsyncCheck for AttemptsAtLeast {
    async fn check(&mut self, node: &Node) -> bool {
        node.record(self.0)
            .await
            .and_then(|r| r["attempts"].as_array().map(|a| a.len() >= self.1))
            .unwrap_or(false)
    }
}

struct CursorAt(u64);

impl AsyncCheck for CursorAt {
    async fn check(&mut self, node: &Node) -> bool {
        let line = format!("loan_oracle_cursor_block {}", self.0);
        node.get("/metrics")
            .await
            .is_some_and(|(_, body)| body.lines().any(|l| l == line))
    }
}

struct AnySeen;

impl AsyncCheck for AnySeen {
    async fn check(&mut self, node: &Node) -> bool {
        node.get("/metrics").await.is_some_and(|(_, body)| {
            body.lines().any(|l| {
                l.starts_with("loan_oracle_requests{state=\"seen\"}") && !l.ends_with(" 0")
            })
        })
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// The example loan texts.
fn example_texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/examples/loans.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// What the shipped model reads from each text, as the struct the node signs.
fn expected_terms(texts: &[String]) -> Vec<LoanTerms> {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/loan-terms-v1");
    let extractor = Extractor::load(&model, &candle_core::Device::Cpu).unwrap();
    texts
        .iter()
        .map(|t| LoanTerms::from(&extractor.extract(&[t.as_str()]).unwrap()[0]))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_requests_end_to_end() {
    let (chain, mut node) = Chain::with_ready_node().await;

    let texts: Vec<String> = example_texts().into_iter().take(20).collect();
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    // Bytes that are not UTF-8 are attested too, as not a loan, with the reason kept.
    let garbled: &[u8] = b"Loan of USD 5,000 \xff\xfe at 9%";
    let garbled_id = chain.apply_bytes(garbled).await;
    node.wait_fulfilled(&ids, Duration::from_secs(180)).await;
    node.wait_fulfilled(&[garbled_id], Duration::from_secs(30))
        .await;
    chain.assert_all_fulfilled_once(&ids, &texts).await;
    let not_a_loan = LoanTerms::from(&loan_oracle::extract::Extraction::not_a_loan());
    chain
        .assert_fulfilled_once(garbled_id, garbled, &not_a_loan)
        .await;
    let record = node.record(garbled_id).await.unwrap();
    let note = record["result"]["note"].as_str().unwrap_or_default();
    assert!(note.contains("not valid UTF-8"), "{record}");
    assert_eq!(
        chain.transmitter_nonce().await,
        21,
        "one transaction per request"
    );

    let (status, metrics) = node.get("/metrics").await.unwrap();
    assert_eq!(status, 200);
    for line in [
        "loan_oracle_requests{state=\"fulfilled\"} 21",
        "loan_oracle_tx_attempts_total{kind=\"first\"} 21",
        "loan_oracle_extraction_seconds_count",
        "loan_oracle_batch_size_bucket",
        "loan_oracle_wallet_balance_wei",
        "loan_oracle_cursor_lag_blocks",
        "loan_oracle_gas_used_total",
    ] {
        assert!(metrics.contains(line), "/metrics lacks {line}:\n{metrics}");
    }
    assert_eq!(node.get("/healthz").await.unwrap().0, 200);
    assert_eq!(node.get("/requests/999").await.unwrap().0, 404);
    assert_eq!(node.get("/requests/nope").await.unwrap().0, 400);

    // SIGTERM: a clean stop with exit status 0.
    let status = node.terminate();
    assert!(status.success(), "exit status {status}");
    assert!(node.log_text().contains("node stopped"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_batch_resumes_without_double_posting() {
    let chain = Chain::new().await;
    let http = free_port();
    let config = chain.config(&chain.anvil.endpoint(), http, "confirmations = 0", "");
    let texts: Vec<String> = example_texts().into_iter().skip(20).take(10).collect();
    let mut node = Node::start_ready(&config, http).await;
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    // Requests are stored and their batch is with the model: kill without warning.
    node.wait_for("a request seen", Duration::from_secs(30), AnySeen)
        .await;
    node.kill();
    let fulfilled_before = {
        let mut n = 0;
        for id in &ids {
            n += chain.attestations(*id).await.len();
        }
        n
    };
    assert!(
        fulfilled_before < ids.len(),
        "killed after all were fulfilled"
    );

    let mut node = Node::start(&config, http);
    node.wait_fulfilled(&ids, Duration::from_secs(180)).await;
    chain.assert_all_fulfilled_once(&ids, &texts).await;
    let sent = chain.transmitter_nonce().await;
    assert_eq!(
        sent,
        ids.len() as u64,
        "no wasted or duplicate transactions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_made_while_down_are_fulfilled_after_start() {
    let chain = Chain::new().await;
    let http = free_port();
    // Small log ranges, so catching up takes several reads.
    let config = chain.config(
        &chain.anvil.endpoint(),
        http,
        "confirmations = 1\nmax_block_range = 2",
        "",
    );
    let texts: Vec<String> = example_texts().into_iter().skip(30).take(5).collect();

    // Start once (places the cursor), stop cleanly, then lend while it is down.
    let mut node = Node::start_ready(&config, http).await;
    assert!(node.terminate().success());
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    chain.owner.anvil_mine(Some(6), None).await.unwrap();
    for id in &ids {
        assert!(chain.attestations(*id).await.is_empty());
    }

    let mut node = Node::start(&config, http);
    node.wait_fulfilled(&ids, Duration::from_secs(180)).await;
    chain.assert_all_fulfilled_once(&ids, &texts).await;
    assert!(
        node.log_text().contains("catching up"),
        "{}",
        tail(&node.log_text())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorged_request_is_not_attested_and_its_replacement_is() {
    let chain = Chain::new().await;
    let http = free_port();
    let config = chain.config(&chain.anvil.endpoint(), http, "confirmations = 3", "");
    let mut node = Node::start_ready(&config, http).await;

    let texts = example_texts();
    let (orphan, kept) = (&texts[0], &texts[1]);
    // Request 1 with the first text is mined, then a reorg of depth 1 replaces its block with
    // one holding request 1 with the other text, before the 3 confirmations.
    let id = chain.apply(orphan).await;
    // Time enough for a node that ignored confirmations to read, sign and post it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        node.get(&format!("/requests/{id}")).await.unwrap().0,
        404,
        "the node took a request with fewer than 3 confirmations"
    );
    chain
        .owner
        .anvil_reorg(ReorgOptions {
            depth: 1,
            tx_block_pairs: vec![(chain.application(kept), 0)],
        })
        .await
        .unwrap();
    let hub = OracleHub::new(chain.hub, &chain.owner);
    let onchain = hub.requests(id).call().await.unwrap();
    assert_eq!(
        onchain.textHash,
        alloy::primitives::keccak256(kept.as_bytes()),
        "the reorg put the other text under the same id"
    );
    chain.owner.anvil_mine(Some(4), None).await.unwrap();

    node.wait_fulfilled(&[id], Duration::from_secs(120)).await;
    chain
        .assert_all_fulfilled_once(&[id], std::slice::from_ref(kept))
        .await;
    let record = node.record(id).await.unwrap();
    let stored_text: Bytes = serde_json::from_value(record["text"].clone()).unwrap();
    assert_eq!(
        stored_text.as_ref(),
        kept.as_bytes(),
        "the node read only the kept text"
    );
    assert_eq!(chain.transmitter_nonce().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_below_the_cursor_is_found_by_block_hash() {
    let (chain, mut node) = Chain::with_ready_node().await;
    chain.owner.anvil_mine(Some(3), None).await.unwrap();
    let head = chain.owner.get_block_number().await.unwrap();
    node.wait_for(
        "cursor at the head",
        Duration::from_secs(30),
        CursorAt(head),
    )
    .await;

    // Replace the last two blocks (already read, empty) with two holding a request: the head
    // number stays, so only the changed hash at the cursor tells the node to read them again.
    let text = example_texts()[3].clone();
    chain
        .owner
        .anvil_reorg(ReorgOptions {
            depth: 2,
            tx_block_pairs: vec![(chain.application(&text), 0)],
        })
        .await
        .unwrap();
    assert_eq!(chain.owner.get_block_number().await.unwrap(), head);
    let id = U256::from(1);
    node.wait_fulfilled(&[id], Duration::from_secs(60)).await;
    chain
        .assert_all_fulfilled_once(&[id], std::slice::from_ref(&text))
        .await;
    let (_, metrics) = node.get("/metrics").await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("loan_oracle_reorgs_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transaction_is_replaced_with_higher_fees() {
    let chain = Chain::new().await;
    let http = free_port();
    let config = chain.config(
        &chain.anvil.endpoint(),
        http,
        "confirmations = 0",
        "[submitter]\nreplace_after_secs = 2\nreplace_after_blocks = 2\n",
    );
    let mut node = Node::start_ready(&config, http).await;

    chain.owner.anvil_set_auto_mine(false).await.unwrap();
    let text = example_texts()[2].clone();
    let desk = LoanDesk::new(chain.desk, &chain.owner);
    let pending = desk
        .applyForLoan(Bytes::from(text.as_bytes().to_vec()))
        .send()
        .await
        .unwrap();
    chain.owner.anvil_mine(Some(1), None).await.unwrap();
    let receipt = confirm(pending, "applyForLoan").await.unwrap();
    let id = receipt
        .decoded_log::<OracleHub::TermsRequested>()
        .unwrap()
        .requestId;

    // No blocks: the fulfilment waits in the pool until the node replaces it.
    node.wait_for(
        "a replacement",
        Duration::from_secs(90),
        AttemptsAtLeast(id, 2),
    )
    .await;
    chain.owner.anvil_set_auto_mine(true).await.unwrap();
    chain.owner.anvil_mine(Some(1), None).await.unwrap();
    node.wait_for(
        "fulfilled",
        Duration::from_secs(60),
        StateIs(id, "fulfilled"),
    )
    .await;

    let record = node.record(id).await.unwrap();
    let attempts = record["attempts"].as_array().unwrap();
    let fee = |a: &Value, key: &str| a[key].as_u64().unwrap() as u128;
    for pair in attempts.windows(2) {
        assert_eq!(
            pair[0]["nonce"], pair[1]["nonce"],
            "a replacement keeps the nonce"
        );
        for key in ["max_fee_per_gas", "max_priority_fee_per_gas"] {
            assert!(
                fee(&pair[1], key) * 1000 >= fee(&pair[0], key) * 1125,
                "{key} raised by less than 12.5 %: {attempts:?}"
            );
        }
    }
    let mined: B256 = serde_json::from_value(record["fulfilled_tx"].clone()).unwrap();
    let first: B256 = serde_json::from_value(attempts[0]["tx_hash"].clone()).unwrap();
    assert_ne!(mined, first, "the replacement was mined, not the first");
    chain
        .assert_all_fulfilled_once(&[id], std::slice::from_ref(&text))
        .await;
    assert_eq!(chain.transmitter_nonce().await, 1);
}

/// A TCP proxy in front of anvil that can be cut and restored.
struct Proxy {
    address: SocketAddr,
    upstream: SocketAddr,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Arc<Self> {
        let proxy = Arc::new(Self {
            address: free_port(),
            upstream,
            task: Mutex::new(None),
        });
        proxy.restore().await;
        proxy
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(self.address).await.unwrap();
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Closes the listener and every connection.
    fn cut(&self) {
        if let Some(task) = self.task.lock().unwrap().take() {
            task.abort();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_rpc_is_retried_and_the_node_recovers() {
    let chain = Chain::new().await;
    let upstream: SocketAddr = format!("127.0.0.1:{}", chain.anvil.port()).parse().unwrap();
    let proxy = Proxy::start(upstream).await;
    let http = free_port();
    let config = chain.config(
        &format!("http://{}", proxy.address),
        http,
        "confirmations = 0",
        "",
    );
    let mut node = Node::start_ready(&config, http).await;

    proxy.cut();
    let cut_at = Instant::now();
    let texts: Vec<String> = example_texts().into_iter().skip(5).take(2).collect();
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    node.wait_for("not ready", Duration::from_secs(20), Ready(false))
        .await;
    let (_, why) = node.get("/readyz").await.unwrap();
    assert!(why.contains("rpc unreachable"), "{why}");
    while cut_at.elapsed() < Duration::from_secs(20) {
        node.assert_alive();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for id in &ids {
        assert!(chain.attestations(*id).await.is_empty());
    }
    proxy.restore().await;

    node.wait_fulfilled(&ids, Duration::from_secs(120)).await;
    node.wait_for("ready again", Duration::from_secs(30), Ready(true))
        .await;
    chain.assert_all_fulfilled_once(&ids, &texts).await;
    let (_, metrics) = node.get("/metrics").await.unwrap();
    let errors: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("loan_oracle_rpc_errors_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(errors >= 3, "retries were not counted:\n{metrics}");
    let retries = node.log_text().matches("watcher:").count();
    assert!(retries >= 3, "the watcher did not retry: {retries}");
}

/// Texts of the kinds that used to crash the reader (issue 8): a Chinese contract with U+3000
/// beside its figures, multi-byte whitespace and invisible marks, numbers of 40+ digits, rates
/// and terms too large for their fields.
fn hostile_texts() -> Vec<String> {
    let contract = include_str!("data/loan-contract-zh.txt").to_owned();
    let forty = "9".repeat(44);
    vec![
        contract,
        "借条\n今借到王小明人民币\u{3000}5万元整（¥50,000.00），年利率\u{3000}8%，借款期限\u{3000}12\u{3000}个月，\
         到期一次还本付息。除另有约定外，逾期按日万分之五计息。\n借款人：张三\u{3000}2026年1月5日"
            .to_owned(),
        "Loan\u{3000}agreement:\u{a0}the\u{2009}lender\u{202f}lends USD\u{3000}12,500\u{200b} at\u{200f}\
         9.5%\u{202e} per annum\u{feff} for\u{3000}36\u{3000}months, secured, LTV\u{a0}55%."
            .to_owned(),
        format!(
            "Promissory note. The borrower promises to pay USD {forty} billion with interest at \
             99999999999999999999999999% per annum over 99999999999 years."
        ),
        "Facility of EUR 100000000000000000000 billion at 4294967296 percent per month for \
         4294967296 days, FICO 700."
            .to_owned(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_texts_are_attested_and_the_loans_behind_them_are_read() {
    let (chain, mut node) = Chain::with_ready_node().await;

    let mut texts = hostile_texts();
    texts.extend(example_texts().into_iter().take(3));
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    node.wait_fulfilled(&ids, Duration::from_secs(180)).await;
    // Every request, hostile or not, carries exactly what the model reads from its text.
    chain.assert_all_fulfilled_once(&ids, &texts).await;
    let huge = node.record(ids[3]).await.unwrap();
    assert_ne!(huge["result"]["status"], "ok", "{huge}");
    assert_eq!(node.get("/readyz").await.map(|r| r.0), Some(200));
    let (_, metrics) = node.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("loan_oracle_extraction_panics_total 0"),
        "no reading panicked:\n{metrics}"
    );
    assert!(node.terminate().success());
}

/// Records the confirmed requests into `store`, as the watcher does, without a node.
async fn watch_into_store(chain: &Chain, store: &loan_oracle::store::Store, expected: usize) {
    use loan_oracle::chain::read_provider;
    use loan_oracle::chain::watcher::{WatchSettings, Watcher};
    let watcher = Watcher::new(
        read_provider(&chain.anvil.endpoint()).unwrap(),
        store.clone(),
        WatchSettings {
            hub: chain.hub,
            start_block: chain.start_block,
            confirmations: 0,
            max_block_range: 500,
            reorg_rewind_blocks: 64,
            rpc_timeout: Duration::from_secs(5),
        },
        Arc::new(loan_oracle::node::metrics::Metrics::new()),
    );
    while store.open_requests().unwrap().len() < expected {
        watcher.poll().await.unwrap();
    }
}

/// A crash no catch can stop (an abort, `kill -9` mid-read) leaves a reading counted against the
/// texts being read. This test leaves the store exactly as two such crashes would: one text
/// whose reading died twice, one whose reading died once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_whose_reading_died_twice_is_set_aside_and_the_rest_flow_on() {
    let chain = Chain::new().await;
    let http = free_port();
    let config = chain.config(&chain.anvil.endpoint(), http, "confirmations = 0", "");
    let texts: Vec<String> = example_texts().into_iter().skip(5).take(3).collect();
    let mut ids = Vec::new();
    for text in &texts {
        ids.push(chain.apply(text).await);
    }
    let data_dir = chain.dir.path().join("data");
    {
        let store = loan_oracle::store::Store::open(&data_dir).unwrap();
        watch_into_store(&chain, &store, ids.len()).await;
        store.begin_reading(&ids).unwrap(); // a batch of all three died
        store.begin_reading(&ids[..1]).unwrap(); // the first, read alone, died again
    }
    // sled's flusher lets go of the store's file lock on its next tick after the last handle.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut node = Node::start_ready(&config, http).await;
    node.wait_fulfilled(&ids[1..], Duration::from_secs(120))
        .await;
    chain
        .assert_all_fulfilled_once(&ids[1..], &texts[1..])
        .await;
    let failed = node.record(ids[0]).await.unwrap();
    assert_eq!(failed["state"], "failed", "{failed}");
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("died 2 times"), "{reason}");
    assert!(
        chain.attestations(ids[0]).await.is_empty(),
        "never attested"
    );
    let second = node.record(ids[1]).await.unwrap();
    assert_eq!(
        second["read_attempts"], 2,
        "read once more, alone: {second}"
    );
    let (_, metrics) = node.get("/metrics").await.unwrap();
    assert!(
        metrics.contains("loan_oracle_requests{state=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(node.ready().await);
}
