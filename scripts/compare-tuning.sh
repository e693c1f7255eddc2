#!/usr/bin/env bash
# How much of the encoder to train: the top layer whole, all six layers whole, and LoRA on all
# six, each on the same seeded sample of the hand-written corpus for the same epochs. Prints,
# per way, the training time and the held-out dev figures twice: with every value given (open
# thresholds: how well the model ranks candidates) and calibrated on dev for 99.5 % precision
# (how much it can give safely). About an hour on 2 cores with the defaults.
#   scripts/compare-tuning.sh   (N texts, EPOCHS, SEED, RANK, OUT may be set in the environment)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${N:-500}"
epochs="${EPOCHS:-3}"
seed="${SEED:-11}"
rank="${RANK:-8}"
out="${OUT:-data/tuning}"
hand="models/data/train/train.jsonl"
dev="models/data/heldout/dev.jsonl"

scripts/setup.sh
cargo build --locked --quiet
oracle="${CARGO_TARGET_DIR:-$root/target}/debug/loan-oracle"
# The models are written outside models/, so say where their base is.
export LOAN_ORACLE_BASE_DIR="${LOAN_ORACLE_BASE_DIR:-$root/models/base/all-minilm-l6-v2}"
mkdir -p "$out"
# The same texts for every way: a seeded shuffle of the corpus, first N.
node -e '
  const fs = require("fs");
  const lines = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
  let s = BigInt(process.argv[3]);
  const next = () => Number((s = (s * 6364136223846793005n + 1442695040888963407n) % (1n << 64n)) >> 33n);
  for (let i = lines.length - 1; i > 0; i--) { const j = next() % (i + 1); [lines[i], lines[j]] = [lines[j], lines[i]]; }
  fs.writeFileSync(process.argv[4], lines.slice(0, Number(process.argv[2])).join("\n") + "\n");
' "$hand" "$n" "$seed" "$out/sample.jsonl"

summary="$out/summary.txt"
: > "$summary"
for way in top1 all6 lora; do
  case "$way" in
    top1) args=(--layers 1 --lr 1.5e-3) ;;
    all6) args=(--layers 6 --lr 3e-4) ;;
    lora) args=(--lora-rank "$rank" --lr 1.5e-3) ;;
  esac
  model="$out/$way"
  rm -rf "$model"
  start=$(date +%s)
  "$oracle" train --data "$out/sample.jsonl" --out "$model" --epochs "$epochs" --seed "$seed" \
    "${args[@]}" > "$model.train.json"
  seconds=$(( $(date +%s) - start ))
  # Open: every value the model reads is given.
  node -e '
    const f = process.argv[1], c = JSON.parse(require("fs").readFileSync(f));
    c.thresholds.fields = {}; c.thresholds.span = 0;
    require("fs").writeFileSync(f, JSON.stringify(c, null, 2));
  ' "$model/config.json"
  "$oracle" eval --model "$model" --data "$dev" --quiet > "$model.dev-open.txt"
  "$oracle" calibrate --model "$model" --data "$dev" > "$model.calibration.json"
  "$oracle" eval --model "$model" --data "$dev" --quiet > "$model.dev-calibrated.txt"
  {
    echo "== $way (${args[*]}; $n texts, $epochs epochs; trained in ${seconds}s on $(nproc) cores)"
    echo "-- dev, open thresholds"
    head -12 "$model.dev-open.txt"
    echo "-- dev, calibrated for 99.5 % precision"
    head -12 "$model.dev-calibrated.txt"
  } | tee -a "$summary"
done
echo "compare-tuning: summary in $summary"
