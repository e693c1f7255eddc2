//! Node figures on anvil with 1 s blocks: request → fulfilled latency (p50/p95) at a steady
//! offered rate, the sustained rate of a burst, and the node's memory.
//!
//! Run: `scripts/setup.sh && cargo build && cargo run --example node_bench [-- RATE SECONDS BURST]`
//! (defaults: 2 requests/s for 30 s, then a burst of 160 from 24 lenders). The node is the `loan-oracle` binary
//! beside this example in the target directory, with the shipped model on the CPU.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::node_bindings::Anvil;
use alloy::primitives::{Bytes, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::SigningKey;
use loan_oracle::chain::signing_provider;
use loan_oracle::contracts::{DeploySettings, LoanDesk, OracleHub, deploy, register_node};
use loan_oracle::keys::{node_key_id, write_secret};

const LENDERS: usize = 24;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rate: f64 = args.first().map_or(Ok(2.0), |a| a.parse())?;
    let seconds: u64 = args.get(1).map_or(Ok(30), |a| a.parse())?;
    let burst: usize = args.get(2).map_or(Ok(160), |a| a.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let anvil = Anvil::at(root.join(".tools/bin/anvil"))
        .block_time(1)
        .args(["--accounts", "30"])
        .try_spawn()?;
    let signer = |i: usize| PrivateKeySigner::from(anvil.keys()[i].clone());
    let owner = signing_provider(&anvil.endpoint(), signer(0))?;
    let settings = DeploySettings {
        request_timeout_secs: 3600,
        desk_currency: "USD".into(),
        desk_limit_minor: 100_000_000,
    };
    let deployment = deploy(&owner, signer(0).address(), &settings).await?;
    let node_key = SigningKey::from_bytes(&[9u8; 32]);
    register_node(
        &owner,
        deployment.hub,
        node_key_id(&node_key.verifying_key()),
        signer(1).address(),
    )
    .await?;

    let dir = tempfile::tempdir()?;
    write_secret(
        &dir.path().join("node.key"),
        &hex::encode(node_key.to_bytes()),
    )?;
    write_secret(
        &dir.path().join("tx.key"),
        &hex::encode(anvil.keys()[1].to_bytes()),
    )?;
    let config = dir.path().join("node.toml");
    let http = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    std::fs::write(
        &config,
        format!(
            "[chain]\nrpc_url = \"{}\"\nchain_id = 31337\nhub_address = \"{}\"\nstart_block = {}\n\
             confirmations = 1\npoll_interval_ms = 250\n[keys]\nnode_key_file = \"{d}/node.key\"\n\
             transmitter_key_file = \"{d}/tx.key\"\n[model]\ndir = \"{}\"\n[storage]\n\
             data_dir = \"{d}/data\"\n[http]\nlisten = \"{http}\"\n",
            anvil.endpoint(),
            deployment.hub,
            deployment.block,
            root.join("models/loan-terms-v1").display(),
            d = dir.path().display(),
        ),
    )?;
    let binary = node_binary()?;
    let mut node = Command::new(&binary)
        .args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit())
        .spawn()?;
    wait_ready(http).await?;

    let texts = example_texts(root)?;
    let lenders: Vec<DynProvider> = (2..2 + LENDERS)
        .map(|i| signing_provider(&anvil.endpoint(), signer(i)))
        .collect::<anyhow::Result<_>>()?;
    let fulfilled = watch_fulfilled(OracleHub::new(deployment.hub, owner.clone()));

    // A steady offered rate: latency per request.
    let count = (rate * seconds as f64).round() as usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let sent = submit(&lenders, deployment.desk, &texts, count, Some(interval)).await?;
    let done = wait_fulfilled(&fulfilled, &sent).await?;
    let mut latencies: Vec<f64> = sent
        .iter()
        .zip(&done)
        .map(|((_, at), end)| end.duration_since(*at).as_secs_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    println!(
        "steady {rate} req/s for {seconds} s ({count} requests): latency p50 {:.2} s, p95 {:.2} s, max {:.2} s",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        latencies.last().copied().unwrap_or(0.0)
    );

    // A burst: how fast the backlog drains.
    let started = Instant::now();
    let sent = submit(&lenders, deployment.desk, &texts, burst, None).await?;
    let submitted = started.elapsed().as_secs_f64();
    let done = wait_fulfilled(&fulfilled, &sent).await?;
    let last = done.iter().max().copied().unwrap_or(started);
    let total = last.duration_since(started).as_secs_f64();
    println!(
        "burst of {burst}: submitted in {submitted:.1} s, all fulfilled after {total:.1} s: {:.2} req/s sustained",
        burst as f64 / total
    );
    println!("node memory: {}", memory(node.id())?);
    node.kill()?;
    node.wait()?;
    Ok(())
}

/// Sends `count` requests through the desk, request `i` from lender `i mod LENDERS` at
/// `interval × i` (or as fast as each lender goes; a lender's own sends go one at a time, as its
/// nonces come from the chain); each with the time its receipt came back.
async fn submit(
    lenders: &[DynProvider],
    desk: alloy::primitives::Address,
    texts: &[String],
    count: usize,
    interval: Option<Duration>,
) -> anyhow::Result<Vec<(U256, Instant)>> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (lender_index, lender) in lenders.iter().enumerate() {
        let lender = lender.clone();
        let mine: Vec<(usize, Bytes)> = (lender_index..count)
            .step_by(lenders.len())
            .map(|i| (i, Bytes::from(texts[i % texts.len()].clone().into_bytes())))
            .collect();
        tasks.spawn(async move {
            let desk = LoanDesk::new(desk, &lender);
            let mut sent = Vec::new();
            for (i, text) in mine {
                if let Some(interval) = interval {
                    tokio::time::sleep_until((started + interval * i as u32).into()).await;
                }
                let receipt = desk
                    .applyForLoan(text)
                    .send()
                    .await?
                    .with_timeout(Some(Duration::from_secs(60)))
                    .get_receipt()
                    .await?;
                let id = receipt
                    .decoded_log::<OracleHub::TermsRequested>()
                    .ok_or_else(|| anyhow::anyhow!("no TermsRequested"))?
                    .requestId;
                sent.push((id, Instant::now()));
            }
            anyhow::Ok(sent)
        });
    }
    let mut sent = Vec::new();
    for done in tasks.join_all().await {
        sent.extend(done?);
    }
    sent.sort_by_key(|(id, _)| *id);
    Ok(sent)
}

/// When each request was first seen fulfilled, polled every 100 ms while requests are sent.
type Fulfilled = Arc<Mutex<HashMap<U256, Instant>>>;

fn watch_fulfilled(hub: OracleHub::OracleHubInstance<DynProvider>) -> Fulfilled {
    let seen: Fulfilled = Arc::default();
    let out = seen.clone();
    tokio::spawn(async move {
        loop {
            if let Ok(next) = hub.nextRequestId().call().await {
                let mut id = U256::from(1);
                while id < next {
                    let known = seen.lock().unwrap().contains_key(&id);
                    if !known
                        && let Ok(request) = hub.requests(id).call().await
                        && request.state == 2
                    {
                        seen.lock().unwrap().insert(id, Instant::now());
                    }
                    id += U256::from(1);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    out
}

/// Waits until every sent request is fulfilled; the time each was first seen fulfilled.
async fn wait_fulfilled(
    fulfilled: &Fulfilled,
    sent: &[(U256, Instant)],
) -> anyhow::Result<Vec<Instant>> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let done: Vec<Option<Instant>> = {
            let map = fulfilled.lock().unwrap();
            sent.iter().map(|(id, _)| map.get(id).copied()).collect()
        };
        if done.iter().all(Option::is_some) {
            return Ok(done.into_iter().flatten().collect());
        }
        anyhow::ensure!(Instant::now() < deadline, "not all fulfilled in 10 minutes");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the node's `/readyz` answers 200, so no figure includes its start.
async fn wait_ready(http: std::net::SocketAddr) -> anyhow::Result<()> {
    let client = alloy::transports::http::reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = client.get(format!("http://{http}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the node was not ready in 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn memory(pid: u32) -> anyhow::Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    Ok(format!(
        "RSS {} (peak {})",
        field("VmRSS:"),
        field("VmHWM:")
    ))
}

fn node_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("loan-oracle"))
        .ok_or_else(|| anyhow::anyhow!("no target directory"))?;
    anyhow::ensure!(
        binary.exists(),
        "{} missing: run cargo build",
        binary.display()
    );
    Ok(binary)
}

fn example_texts(root: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(root.join("../shared/examples/loans.jsonl"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let value: serde_json::Value = serde_json::from_str(l)?;
            Ok(value["text"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}
