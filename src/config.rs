//! Node configuration: the TOML file `deploy` writes and the node reads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Url;
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The node's configuration file. Only `[chain]` is required: `deploy` writes it, and every
/// other section has defaults an operator overrides where needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub chain: ChainConfig,
    #[serde(default, skip_serializing_if = "is_default")]
    pub keys: KeysConfig,
    #[serde(default, skip_serializing_if = "is_default")]
    pub model: ModelConfig,
    #[serde(default, skip_serializing_if = "is_default")]
    pub submitter: SubmitterConfig,
    #[serde(default, skip_serializing_if = "is_default")]
    pub storage: StorageConfig,
    #[serde(default, skip_serializing_if = "is_default")]
    pub http: HttpConfig,
}

/// Where the hub lives and how it is watched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// HTTP JSON-RPC endpoint.
    pub rpc_url: String,
    /// The chain id the endpoint must report (part of the EIP-712 domain).
    pub chain_id: u64,
    /// The OracleHub contract.
    pub hub_address: Address,
    /// The block the hub was deployed in: where watching starts.
    pub start_block: u64,
    /// The example LoanDesk deployed beside the hub, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk_address: Option<Address>,
    /// Blocks a request's log must be buried under before the node acts on it.
    #[serde(default = "defaults::confirmations")]
    pub confirmations: u64,
    /// How often the head is polled, in milliseconds.
    #[serde(default = "defaults::poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// The most blocks one `eth_getLogs` covers while catching up.
    #[serde(default = "defaults::max_block_range")]
    pub max_block_range: u64,
    /// How far back the cursor goes when its block was reorganised away.
    #[serde(default = "defaults::reorg_rewind_blocks")]
    pub reorg_rewind_blocks: u64,
    /// Seconds any single RPC call may take.
    #[serde(default = "defaults::rpc_timeout_secs")]
    pub rpc_timeout_secs: u64,
}

impl ChainConfig {
    /// A hub at `hub_address` deployed in `start_block`, watched with the default settings.
    pub fn new(rpc_url: String, chain_id: u64, hub_address: Address, start_block: u64) -> Self {
        Self {
            rpc_url,
            chain_id,
            hub_address,
            start_block,
            desk_address: None,
            confirmations: defaults::confirmations(),
            poll_interval_ms: defaults::poll_interval_ms(),
            max_block_range: defaults::max_block_range(),
            reorg_rewind_blocks: defaults::reorg_rewind_blocks(),
            rpc_timeout_secs: defaults::rpc_timeout_secs(),
        }
    }
}

/// The node's two keys. Secrets never live in this file, only the paths of owner-only files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The ed25519 attestation key (`loan-oracle keys new`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_key_file: Option<PathBuf>,
    /// The EVM key that sends `fulfill`; `LOAN_ORACLE_TRANSMITTER_KEY` may hold it instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmitter_key_file: Option<PathBuf>,
}

/// The model and how texts are batched for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The fine-tuned model directory.
    #[serde(default = "defaults::model_dir")]
    pub dir: PathBuf,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    #[serde(default = "defaults::device")]
    pub device: String,
    /// The most texts read in one model call.
    #[serde(default = "defaults::batch_size")]
    pub batch_size: usize,
    /// How long a batch waits for more texts before it runs, in milliseconds.
    #[serde(default = "defaults::max_wait_ms")]
    pub max_wait_ms: u64,
    /// How long one batch may take, in seconds, before the worker counts as stuck: `/readyz`
    /// then fails and the node exits non-zero (the batch's texts are counted as read once).
    #[serde(default = "defaults::max_read_secs")]
    pub max_read_secs: u64,
}

/// How `fulfill` transactions are sent and replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitterConfig {
    /// Blocks a transaction may stay unmined before it is replaced.
    #[serde(default = "defaults::replace_after_blocks")]
    pub replace_after_blocks: u64,
    /// Seconds a transaction may stay unmined before it is replaced (for stalled chains).
    #[serde(default = "defaults::replace_after_secs")]
    pub replace_after_secs: u64,
    /// How much each replacement raises both fees, in percent (at least 12.5).
    #[serde(default = "defaults::fee_bump_percent")]
    pub fee_bump_percent: f64,
    /// The highest max fee per gas the node pays, in gwei.
    #[serde(default = "defaults::max_fee_gwei")]
    pub max_fee_gwei: f64,
    /// Gas added to the estimate of a `fulfill`, in percent.
    #[serde(default = "defaults::gas_headroom_percent")]
    pub gas_headroom_percent: u64,
}

/// Where the node keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// The sled database directory.
    #[serde(default = "defaults::data_dir")]
    pub data_dir: PathBuf,
}

/// The health, metrics and request API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the HTTP server listens on (port 0 picks a free one).
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// `/readyz` fails when the cursor is more blocks than this behind the confirmed head.
    #[serde(default = "defaults::max_cursor_lag_blocks")]
    pub max_cursor_lag_blocks: u64,
}

/// Sections left at their defaults are not written (`deploy` writes `[chain]` only).
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

mod defaults {
    use std::net::SocketAddr;
    use std::path::PathBuf;

    pub fn confirmations() -> u64 {
        2
    }
    pub fn poll_interval_ms() -> u64 {
        1000
    }
    pub fn max_block_range() -> u64 {
        500
    }
    pub fn reorg_rewind_blocks() -> u64 {
        64
    }
    pub fn rpc_timeout_secs() -> u64 {
        10
    }
    pub fn model_dir() -> PathBuf {
        "models/loan-terms-v1".into()
    }
    pub fn device() -> String {
        "cpu".into()
    }
    pub fn batch_size() -> usize {
        8
    }
    pub fn max_wait_ms() -> u64 {
        100
    }
    pub fn max_read_secs() -> u64 {
        120
    }
    pub fn replace_after_blocks() -> u64 {
        3
    }
    pub fn replace_after_secs() -> u64 {
        30
    }
    pub fn fee_bump_percent() -> f64 {
        12.5
    }
    pub fn max_fee_gwei() -> f64 {
        500.0
    }
    pub fn gas_headroom_percent() -> u64 {
        25
    }
    pub fn data_dir() -> PathBuf {
        "data/node".into()
    }
    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 9464))
    }
    pub fn max_cursor_lag_blocks() -> u64 {
        50
    }
}

macro_rules! default_from_serde {
    ($($section:ty),*) => {$(
        impl Default for $section {
            fn default() -> Self {
                toml::from_str("").expect("every key has a default")
            }
        }
    )*};
}
default_from_serde!(ModelConfig, SubmitterConfig, StorageConfig, HttpConfig);

impl Config {
    /// Reads and checks a config file; errors name the file, the key and what is wrong.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let config: Config =
            toml::from_str(&text).with_context(|| format!("invalid config {}", path.display()))?;
        config
            .validate()
            .with_context(|| format!("invalid config {}", path.display()))?;
        Ok(config)
    }

    /// Writes the config; refuses to overwrite an existing file.
    pub fn save_new(&self, path: &Path) -> anyhow::Result<()> {
        let body = toml::to_string_pretty(self).context("cannot serialise config")?;
        let text =
            format!("# loan-oracle node configuration (see config/node.example.toml)\n{body}");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("cannot create config {}", path.display()))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .with_context(|| format!("cannot write config {}", path.display()))
    }

    /// A config for a fresh deployment, with every other section at its default.
    pub fn for_chain(chain: ChainConfig) -> Self {
        Self {
            chain,
            keys: KeysConfig::default(),
            model: ModelConfig::default(),
            submitter: SubmitterConfig::default(),
            storage: StorageConfig::default(),
            http: HttpConfig::default(),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        let url = &self.chain.rpc_url;
        let parsed: Url = url
            .parse()
            .with_context(|| format!("chain.rpc_url: {url:?} is not a URL"))?;
        anyhow::ensure!(
            matches!(parsed.scheme(), "http" | "https"),
            "chain.rpc_url: {url:?} must be an http(s) URL"
        );
        anyhow::ensure!(
            self.chain.hub_address != Address::ZERO,
            "chain.hub_address: must not be zero"
        );
        anyhow::ensure!(
            self.chain.poll_interval_ms >= 10,
            "chain.poll_interval_ms: {} is too short (at least 10)",
            self.chain.poll_interval_ms
        );
        anyhow::ensure!(
            self.chain.max_block_range >= 1,
            "chain.max_block_range: must be at least 1"
        );
        anyhow::ensure!(
            self.chain.rpc_timeout_secs >= 1,
            "chain.rpc_timeout_secs: must be at least 1"
        );
        anyhow::ensure!(
            self.model.max_read_secs >= 1,
            "model.max_read_secs: must be at least 1"
        );
        anyhow::ensure!(
            (1..=256).contains(&self.model.batch_size),
            "model.batch_size: {} must be 1 to 256",
            self.model.batch_size
        );
        let device = self.model.device.as_str();
        anyhow::ensure!(
            matches!(device, "cpu" | "auto")
                || device
                    .strip_prefix("cuda:")
                    .is_some_and(|n| n.parse::<usize>().is_ok()),
            "model.device: {device:?} must be cpu, auto or cuda:N"
        );
        let bump = self.submitter.fee_bump_percent;
        anyhow::ensure!(
            (12.5..=1000.0).contains(&bump),
            "submitter.fee_bump_percent: {bump} must be 12.5 to 1000 (nodes refuse smaller replacements)"
        );
        anyhow::ensure!(
            self.submitter.max_fee_gwei > 0.0 && self.submitter.max_fee_gwei.is_finite(),
            "submitter.max_fee_gwei: must be a positive number"
        );
        anyhow::ensure!(
            self.submitter.replace_after_blocks >= 1,
            "submitter.replace_after_blocks: must be at least 1"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        let mut chain = ChainConfig::new(
            "http://127.0.0.1:8545".into(),
            31337,
            Address::repeat_byte(0x11),
            3,
        );
        chain.desk_address = Some(Address::repeat_byte(0x22));
        Config::for_chain(chain)
    }

    #[test]
    fn save_then_load_round_trips_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/node.toml");
        sample().save_new(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), sample());
        assert!(sample().save_new(&path).is_err());
    }

    #[test]
    fn the_example_documents_every_key_and_loads() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/node.example.toml");
        let example = Config::load(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut full = sample();
        full.keys.node_key_file = Some("k".into());
        full.keys.transmitter_key_file = Some("t".into());
        let written = [
            toml::to_string(&full.chain),
            toml::to_string(&full.keys),
            toml::to_string(&full.model),
            toml::to_string(&full.submitter),
            toml::to_string(&full.storage),
            toml::to_string(&full.http),
        ]
        .map(Result::unwrap)
        .join("\n");
        let keys: Vec<&str> = written
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .collect();
        assert!(keys.len() > 20, "{written}");
        for key in keys {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "config/node.example.toml does not document {key}"
            );
        }
        assert_eq!(example.model, ModelConfig::default());
        assert_eq!(example.submitter, SubmitterConfig::default());
        assert_eq!(example.http, HttpConfig::default());
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        let cases = [
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = 1\nstart_block = 0\n",
                "hub_address",
            ),
            (
                "[chain]\nrpc_url = \"ftp://x\"\nchain_id = 1\nstart_block = 0\nhub_address = \"0x1111111111111111111111111111111111111111\"\n",
                "chain.rpc_url",
            ),
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = \"one\"\nstart_block = 0\nhub_address = \"0x1111111111111111111111111111111111111111\"\n",
                "chain_id",
            ),
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = 1\nstart_block = 0\nhub_adress = \"0x1111111111111111111111111111111111111111\"\n",
                "hub_adress",
            ),
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = 1\nstart_block = 0\nhub_address = \"0x1111111111111111111111111111111111111111\"\n[submitter]\nfee_bump_percent = 5.0\n",
                "submitter.fee_bump_percent",
            ),
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = 1\nstart_block = 0\nhub_address = \"0x1111111111111111111111111111111111111111\"\n[model]\nbatch_size = 0\n",
                "model.batch_size",
            ),
            (
                "[chain]\nrpc_url = \"http://x\"\nchain_id = 1\nstart_block = 0\nhub_address = \"0x1111111111111111111111111111111111111111\"\n[http]\nlisten = \"nowhere\"\n",
                "listen",
            ),
        ];
        for (text, key) in cases {
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(err.contains(key), "{key} not named in: {err}");
        }
    }
}
