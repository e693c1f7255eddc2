//! The command line: one file per subcommand.

mod deploy;
mod keys;
mod register;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// loan-oracle: reads loan texts posted on-chain, extracts the terms, signs them and posts them back.
#[derive(Debug, Parser)]
#[command(name = "loan-oracle", version, about)]
pub struct Cli {
    /// Log format (the level comes from RUST_LOG, default "info").
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or inspect the node's ed25519 attestation key.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Deploy OracleHub and the example LoanDesk, and write a node config.
    Deploy(deploy::DeployArgs),
    /// Register a node's key and transmitter with the hub (as its owner).
    Register(register::RegisterArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Keys(cmd) => keys::run(cmd),
            Command::Deploy(args) => deploy::run(args).await,
            Command::Register(args) => register::run(args).await,
        }
    }
}

/// Sends tracing output to stderr, filtered by RUST_LOG, as text or JSON.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
