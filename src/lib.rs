//! # loan-oracle
//!
//! An oracle node for loan terms. Lenders post loan texts to the `OracleHub` contract; the node
//! reads each text with a fine-tuned transformer, extracts the terms defined by schema v1
//! (`shared/spec/loan-terms-v1.md`), signs an EIP-712 digest of them with ed25519 and posts them
//! back; the hub records the attestation and calls the requester's consumer contract.
//!
//! The modules follow the request's path:
//! - [`chain`]: RPC providers, timeouts, and the watcher that reads confirmed requests,
//! - [`contracts`]: the Solidity bindings (one definition of the terms struct) and deployment,
//! - [`attestation`]: the EIP-712 digest and the ed25519 signature,
//! - [`model`] and [`extract`]: the transformer that tags a text and the normalisers that read
//!   the tags to the spec's values; [`synth`], [`train`] and [`eval`] make and score models,
//! - [`store`]: each request's state in sled,
//! - [`submit`]: `fulfill` transactions with explicit nonces, simulation and fee bumps,
//! - [`node`]: the daemon that runs these as tasks, with its HTTP API and metrics,
//! - [`keys`] and [`config`]: the operator's key files and node configuration,
//! - [`cli`]: the `loan-oracle` command line.

pub mod attestation;
pub mod chain;
pub mod cli;
pub mod config;
pub mod contracts;
pub mod eval;
pub mod extract;
pub mod keys;
pub mod model;
pub mod node;
pub mod store;
pub mod submit;
pub mod synth;
pub mod train;
