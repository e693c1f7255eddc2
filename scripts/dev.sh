#!/usr/bin/env bash
# The main job on one machine: a local anvil, the contracts deployed, a node key registered,
# and a sample loan text submitted through the example LoanDesk.
# State goes to .dev/ (git-ignored); anvil is stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

scripts/setup.sh
export PATH="$root/.tools/bin:$PATH"
echo "dev: building loan-oracle"
cargo build --quiet --locked
oracle="${CARGO_TARGET_DIR:-$root/target}/debug/loan-oracle"

port="${ANVIL_PORT:-8545}"
rpc="http://127.0.0.1:$port"
dev="$root/.dev"
rm -rf "$dev" && mkdir -p "$dev"

anvil --port "$port" --block-time 1 --silent >"$dev/anvil.log" 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; wait "$anvil_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  cast chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
  kill -0 "$anvil_pid" 2>/dev/null || { echo "dev: anvil failed to start (port $port in use?)" >&2; cat "$dev/anvil.log" >&2; exit 1; }
  sleep 0.2
done
echo "dev: anvil on $rpc (chain $(cast chain-id --rpc-url "$rpc"))"

# anvil's well-known dev accounts 0 (owner, lender) and 1 (node transmitter).
(umask 077
 echo ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 >"$dev/owner.key"
 echo 59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d >"$dev/transmitter.key")
transmitter="$(cast wallet address --private-key "$(cat "$dev/transmitter.key")")"

node_key="$("$oracle" keys new --out "$dev/node.key")"
"$oracle" deploy --rpc-url "$rpc" --private-key-file "$dev/owner.key" --out "$dev/node.toml" >"$dev/deploy.json"
"$oracle" register --config "$dev/node.toml" --node-key "$dev/node.key" \
  --transmitter "$transmitter" --private-key-file "$dev/owner.key" >/dev/null
desk="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).desk' "$dev/deploy.json")"
hub="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).hub' "$dev/deploy.json")"
echo "dev: OracleHub $hub, LoanDesk $desk, node $node_key (transmitter $transmitter)"

# Submit the first example loan text as a borrower would, through the LoanDesk.
examples="$root/../shared/examples/loans.jsonl"
node -e '
  const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0];
  process.stdout.write(JSON.parse(line).text);
' "$examples" >"$dev/loan.txt"
text_hex="0x$(od -An -tx1 -v "$dev/loan.txt" | tr -d ' \n')"
cast send --rpc-url "$rpc" --private-key "$(cat "$dev/owner.key")" --json \
  "$desk" "applyForLoan(bytes)" "$text_hex" >"$dev/apply.json"
requested_topic="$(cast keccak "TermsRequested(uint256,address,address,bytes32,bytes,uint32)")"
node -e '
  const [file, hub, topic] = process.argv.slice(1);
  const receipt = JSON.parse(require("fs").readFileSync(file, "utf8"));
  const log = receipt.logs.find(l => l.address.toLowerCase() === hub.toLowerCase() && l.topics[0] === topic);
  if (!log) { console.error("dev: no TermsRequested in the receipt"); process.exit(1); }
  console.log(`dev: request ${BigInt(log.topics[1])} submitted in block ${BigInt(receipt.blockNumber)} (tx ${receipt.transactionHash}, gas ${BigInt(receipt.gasUsed)})`);
' "$dev/apply.json" "$hub" "$requested_topic"
echo "dev: the terms the shipped model reads from it (loan-oracle extract):"
"$oracle" extract "$dev/loan.txt"
echo "dev: the daemon that attests requests on chain arrives with the node issue; stopping anvil"
