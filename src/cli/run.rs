//! `loan-oracle run`: the node daemon.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use anyhow::Context;
use clap::Args;

use crate::config::Config;
use crate::keys::{load_evm_key, load_node_key};
use crate::node::{NodeKeys, run as run_node, shutdown_signal};

/// The environment variable that may hold the transmitter's hex private key.
pub const TRANSMITTER_KEY_ENV: &str = "LOAN_ORACLE_TRANSMITTER_KEY";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node config (see config/node.example.toml).
    #[arg(long)]
    config: PathBuf,
    /// The ed25519 node key file; overrides `keys.node_key_file`.
    #[arg(long)]
    node_key: Option<PathBuf>,
    /// The transmitter's key file; overrides `keys.transmitter_key_file` and
    /// LOAN_ORACLE_TRANSMITTER_KEY.
    #[arg(long)]
    transmitter_key_file: Option<PathBuf>,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let keys = load_keys(&args, &config)?;
    let shutdown = shutdown_signal()?;
    run_node(config, keys, shutdown).await
}

/// The node key and the transmitter key, from the flags, else the config, else (transmitter
/// only) the environment; errors say which setting to fix.
fn load_keys(args: &RunArgs, config: &Config) -> anyhow::Result<NodeKeys> {
    let (node_key_path, setting) = chosen_path(
        (&args.node_key, "--node-key"),
        (&config.keys.node_key_file, "keys.node_key_file"),
    )
    .context("no node key: set keys.node_key_file in the config or pass --node-key")?;
    let node_key = load_node_key(node_key_path).context(setting)?;
    let transmitter = match chosen_path(
        (&args.transmitter_key_file, "--transmitter-key-file"),
        (
            &config.keys.transmitter_key_file,
            "keys.transmitter_key_file",
        ),
    ) {
        Some((path, setting)) => load_evm_key(path).context(setting)?,
        None => transmitter_from_env()?,
    };
    Ok(NodeKeys {
        node_key,
        transmitter,
    })
}

/// The flag's path if given, else the config's, each with the name an error should point at.
fn chosen_path<'a>(
    (flag, flag_name): (&'a Option<PathBuf>, &'static str),
    (configured, config_key): (&'a Option<PathBuf>, &'static str),
) -> Option<(&'a PathBuf, &'static str)> {
    flag.as_ref()
        .map(|path| (path, flag_name))
        .or_else(|| configured.as_ref().map(|path| (path, config_key)))
}

fn transmitter_from_env() -> anyhow::Result<PrivateKeySigner> {
    let hex_key = std::env::var(TRANSMITTER_KEY_ENV).map_err(|_| {
        anyhow::anyhow!(
            "no transmitter key: set keys.transmitter_key_file in the config, pass \
             --transmitter-key-file, or set {TRANSMITTER_KEY_ENV}"
        )
    })?;
    hex_key
        .trim()
        .parse()
        .with_context(|| format!("{TRANSMITTER_KEY_ENV} is not a hex secp256k1 private key"))
}
