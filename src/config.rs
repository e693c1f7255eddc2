//! Node configuration: the TOML file `deploy` writes and the node reads.

use std::path::Path;

use alloy::primitives::Address;
use alloy::transports::http::reqwest::Url;
use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The node's configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub chain: ChainConfig,
}

/// Where the hub lives.
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
}

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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        Config {
            chain: ChainConfig {
                rpc_url: "http://127.0.0.1:8545".into(),
                chain_id: 31337,
                hub_address: Address::repeat_byte(0x11),
                start_block: 3,
                desk_address: Some(Address::repeat_byte(0x22)),
            },
        }
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
        ];
        for (text, key) in cases {
            std::fs::write(&path, text).unwrap();
            let err = format!("{:#}", Config::load(&path).unwrap_err());
            assert!(err.contains(key), "{key} not named in: {err}");
        }
    }
}
