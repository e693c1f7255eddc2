//! `loan-oracle keys`: create and show ed25519 node keys.

use std::path::PathBuf;

use clap::Subcommand;

use crate::keys::{create_node_key, load_node_key, node_key_id};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new key file (mode 0600); refuses to overwrite.
    New {
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print a key file's public key as hex (the hub's nodeKey).
    Show {
        /// The key file.
        path: PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::New { out } => {
            let key = create_node_key(&out)?;
            tracing::info!(path = %out.display(), "created ed25519 node key");
            println!("{}", node_key_id(&key.verifying_key()));
        }
        KeysCommand::Show { path } => {
            let key = load_node_key(&path)?;
            println!("{}", node_key_id(&key.verifying_key()));
        }
    }
    Ok(())
}
