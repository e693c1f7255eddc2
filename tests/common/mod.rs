//! Helpers shared by the integration tests: a real anvil from `.tools/bin`.

#![allow(dead_code)]

use std::path::PathBuf;

use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::signers::local::PrivateKeySigner;

/// The project's pinned anvil, installed by `scripts/setup.sh`.
pub fn anvil_path() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/anvil");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

/// A fresh anvil on a free port.
pub fn spawn_anvil() -> AnvilInstance {
    Anvil::at(anvil_path()).spawn()
}

/// The signer for anvil's dev account `index`.
pub fn dev_signer(anvil: &AnvilInstance, index: usize) -> PrivateKeySigner {
    PrivateKeySigner::from(anvil.keys()[index].clone())
}
