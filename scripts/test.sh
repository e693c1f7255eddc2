#!/usr/bin/env bash
# Runs every test: installs what is missing, checks the committed contract artifacts, runs the
# Foundry tests with a gas report, then the cargo tests (which start their own anvils).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh
export FOUNDRY_SOLC="$root/.tools/bin/solc"
export PATH="$root/.tools/bin:$PATH"

step "contract artifacts are current"
scripts/build-contracts.sh --check

step "forge fmt --check and forge test --gas-report"
(cd contracts && forge fmt --check && forge test --gas-report)

step "cargo fmt --check"
cargo fmt --check

step "cargo test"
cargo test --all-targets --locked

step "cargo clippy -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
