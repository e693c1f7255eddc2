//! The command line: one file per subcommand.

mod calibrate;
mod deploy;
mod eval;
mod extract;
mod keys;
mod register;
mod run;
mod status;
mod submit;
mod synth;
mod train;

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
    /// Generate labelled training texts.
    Synth(synth::SynthArgs),
    /// Fine-tune the extraction model.
    Train(train::TrainArgs),
    /// Print the terms of a text (or of JSONL texts) as the spec's JSON.
    Extract(extract::ExtractArgs),
    /// Score a model on labelled texts.
    Eval(eval::EvalArgs),
    /// Set a model's confidence threshold from labelled texts it was not trained on.
    Calibrate(calibrate::CalibrateArgs),
    /// Run the node: watch the hub, read each requested text, sign the terms and post them.
    Run(run::RunArgs),
    /// Ask the hub for a text's terms (as a lender's app would) and print the request id.
    Submit(submit::SubmitArgs),
    /// Print a request's state and attested terms as JSON.
    Status(status::StatusArgs),
}

impl Cli {
    /// Runs the chosen subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Keys(cmd) => keys::run(cmd),
            Command::Deploy(args) => deploy::run(args).await,
            Command::Register(args) => register::run(args).await,
            Command::Synth(args) => synth::run(args),
            // The model runs off the async runtime: it would block its threads.
            Command::Train(args) => tokio::task::spawn_blocking(move || train::run(args)).await?,
            Command::Extract(args) => {
                tokio::task::spawn_blocking(move || extract::run(args)).await?
            }
            Command::Eval(args) => tokio::task::spawn_blocking(move || eval::run(args)).await?,
            Command::Calibrate(args) => {
                tokio::task::spawn_blocking(move || calibrate::run(args)).await?
            }
            Command::Run(args) => run::run(args).await,
            Command::Submit(args) => submit::run(args).await,
            Command::Status(args) => status::run(args).await,
        }
    }
}

/// Sends tracing output to stderr, filtered by RUST_LOG, as text or JSON.
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
