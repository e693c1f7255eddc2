#!/usr/bin/env bash
# Compiles the contracts and writes each deployable contract's ABI and bytecode to
# contracts/artifacts/NAME.json, the files the Rust crate binds with sol!.
#   scripts/build-contracts.sh          rewrite the artifacts
#   scripts/build-contracts.sh --check  fail if the committed artifacts are stale
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh" --tools-only >/dev/null
export FOUNDRY_SOLC="$root/.tools/bin/solc"
contracts=(OracleHub LoanDesk)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
(cd "$root/contracts" && "$root/.tools/bin/forge" build --quiet --out "$out/forge" --cache-path "$out/cache")
mkdir -p "$out/artifacts"
for name in "${contracts[@]}"; do
  node -e '
    const fs = require("fs");
    const [from, to] = process.argv.slice(1);
    const forge = JSON.parse(fs.readFileSync(from, "utf8"));
    const artifact = { abi: forge.abi, bytecode: { object: forge.bytecode.object } };
    fs.writeFileSync(to, JSON.stringify(artifact, null, 2) + "\n");
  ' "$out/forge/$name.sol/$name.json" "$out/artifacts/$name.json"
done

target="$root/contracts/artifacts"
if [ "${1:-}" = "--check" ]; then
  if ! diff -r "$out/artifacts" "$target" >/dev/null 2>&1; then
    echo "build-contracts: contracts/artifacts is stale; run scripts/build-contracts.sh and commit it" >&2
    exit 1
  fi
  echo "build-contracts: artifacts are current"
else
  rm -rf "$target"
  cp -r "$out/artifacts" "$target"
  echo "build-contracts: wrote ${contracts[*]} to contracts/artifacts"
fi
