#!/usr/bin/env bash
# The main job on one machine: a local anvil (1 s blocks), the contracts deployed, a node key
# registered, the node started, every example loan text submitted, and a table of the attested
# terms printed as the LoanDesk callbacks land; then everything stops cleanly.
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

# The node's own settings beside the [chain] section deploy wrote.
http_port="${NODE_HTTP_PORT:-9464}"
cat >>"$dev/node.toml" <<TOML

[keys]
node_key_file = "$dev/node.key"
transmitter_key_file = "$dev/transmitter.key"

[storage]
data_dir = "$dev/data"

[http]
listen = "127.0.0.1:$http_port"
TOML

"$oracle" run --config "$dev/node.toml" 2>"$dev/node.log" &
node_pid=$!
stop_all() {
  kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  kill "$anvil_pid" 2>/dev/null || true
  wait "$anvil_pid" 2>/dev/null || true
}
trap stop_all EXIT
for _ in $(seq 300); do
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || { echo "dev: the node failed to start:" >&2; tail -20 "$dev/node.log" >&2; exit 1; }
  sleep 0.2
done
echo "dev: node running (pid $node_pid, http://127.0.0.1:$http_port, log .dev/node.log)"

# Every example text, submitted by eight lenders (anvil accounts 2..9) in parallel, as a
# lender's app would: `loan-oracle submit` prints each request id.
examples="$root/../shared/examples/loans.jsonl"
mkdir -p "$dev/texts" "$dev/submitted"
node -e '
  const fs = require("fs");
  const [file, out] = process.argv.slice(1);
  fs.readFileSync(file, "utf8").split("\n").filter(Boolean).forEach((line) => {
    const ex = JSON.parse(line);
    fs.writeFileSync(`${out}/${ex.id}.txt`, ex.text);
  });
' "$examples" "$dev/texts"
texts=("$dev"/texts/*.txt)
submitted_at=$(date +%s.%N)
mnemonic="test test test test test test test test test test test junk"
lenders=8
submitters=()
for ((lender = 0; lender < lenders; lender++)); do
  (umask 077; cast wallet private-key --mnemonic "$mnemonic" --mnemonic-index $((lender + 2)) >"$dev/lender$lender.key")
  (
    for ((i = lender; i < ${#texts[@]}; i += lenders)); do
      name="$(basename "${texts[$i]}" .txt)"
      "$oracle" submit --config "$dev/node.toml" --private-key-file "$dev/lender$lender.key" \
        --text-file "${texts[$i]}" >"$dev/submitted/$name.json"
    done
  ) &
  submitters+=($!)
done
wait "${submitters[@]}"
echo "dev: submitted ${#texts[@]} example texts; the attested terms as the LoanDesk callbacks land:"

# One row per request as its attestation lands, compared with the example's labels.
node -e '
  const fs = require("fs");
  const { execFileSync } = require("child_process");
  const [dev, oracle, examples, desk, rpc, started] = process.argv.slice(1);
  const labels = Object.fromEntries(fs.readFileSync(examples, "utf8").split("\n").filter(Boolean)
    .map((l) => JSON.parse(l)).map((e) => [e.id, e.expected]));
  const pending = fs.readdirSync(`${dev}/submitted`).map((f) => {
    const name = f.replace(/\.json$/, "");
    return { name, id: JSON.parse(fs.readFileSync(`${dev}/submitted/${f}`, "utf8")).request_id };
  }).sort((a, b) => Number(a.id) - Number(b.id));
  const decisions = ["none", "pending", "approved", "rejected"];
  const reasons = ["", "incomplete", "high risk", "currency not lent", "over limit"];
  const pad = (v, n) => String(v ?? "-").padEnd(n);
  console.log([pad("req", 4), pad("example", 8), pad("status", 11), pad("amount", 12), pad("cur", 5),
    pad("apr %", 7), pad("days", 6), pad("tier", 7), pad("LoanDesk", 28), "matches labels"].join(" "));
  let matched = 0;
  const deadline = Date.now() + 300000;
  while (pending.length && Date.now() < deadline) {
    for (let i = 0; i < pending.length; i++) {
      const { name, id } = pending[i];
      const status = JSON.parse(execFileSync(oracle, ["status", "--config", `${dev}/node.toml`, id]));
      if (status.state !== "fulfilled") continue;
      const t = status.attestation.terms;
      const want = labels[name];
      const fields = ["status", "amount", "currency", "apr_percent", "term_days", "risk_tier"];
      const wrong = fields.filter((f) => String(t[f] ?? null) !== String(want[f] ?? null));
      if (!wrong.length) matched++;
      const app = execFileSync("cast", ["call", "--rpc-url", rpc, desk, "applications(uint256)(address,uint8,uint8)", id]).toString().split("\n");
      const decision = decisions[Number(app[1])] + (Number(app[2]) ? `: ${reasons[Number(app[2])]}` : "");
      console.log([pad(id, 4), pad(name, 8), pad(t.status, 11), pad(t.amount, 12), pad(t.currency, 5),
        pad(t.apr_percent, 7), pad(t.term_days, 6), pad(t.risk_tier, 7), pad(decision, 28),
        wrong.length ? `no (${wrong.join(", ")})` : "yes"].join(" "));
      pending.splice(i--, 1);
    }
    if (pending.length) execFileSync("sleep", ["0.5"]);
  }
  const total = fs.readdirSync(`${dev}/submitted`).length;
  const secs = (Date.now() / 1000 - Number(started)).toFixed(1);
  console.log(`dev: ${total - pending.length} of ${total} requests attested on chain in ${secs} s; ${matched} match every labelled field`);
  if (pending.length) { console.error(`dev: not attested: ${pending.map((p) => p.id).join(", ")}`); process.exit(1); }
' "$dev" "$oracle" "$examples" "$desk" "$rpc" "$submitted_at"

# The node sees the last receipts on its next poll; let it record them before it stops.
for _ in $(seq 100); do
  curl -s "http://127.0.0.1:$http_port/metrics" | grep -q "^loan_oracle_requests{state=\"fulfilled\"} ${#texts[@]}\$" && break
  sleep 0.2
done
echo "dev: node metrics:"
curl -s "http://127.0.0.1:$http_port/metrics" | grep -E '^loan_oracle_(requests|tx_attempts_total|gas_used_total|fees_paid_wei_total|request_latency_seconds_(sum|count))[{ ]' | grep -v ' 0$' || true
echo "dev: stopping the node (SIGTERM) and anvil"
kill -TERM "$node_pid"
wait "$node_pid" && echo "dev: node exited cleanly"
