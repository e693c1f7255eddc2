#!/usr/bin/env bash
# Trains the shipped model, models/loan-terms-v1: the hand-written corpus
# (models/data/train/train.jsonl) and synthetic texts for volume; then scripts/finish-model.sh
# calibrates its thresholds on the held-out dev split for 99.5 % precision, scores it on the
# public examples and on both held-out splits, and writes its model card. Seeded: the same
# settings give the same model on CPU. About 40 minutes on 2 cores.
#   scripts/train-model.sh     (COUNT, SEED, EPOCHS, LAYERS, LR, OUT may be set in the environment)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
count="${COUNT:-1500}"
seed="${SEED:-11}"
epochs="${EPOCHS:-2}"
layers="${LAYERS:-1}"
lr="${LR:-1.5e-3}"
out="${OUT:-models/loan-terms-v1}"
hand="models/data/train/train.jsonl"
data="data/synth-$count-$seed.jsonl"

scripts/setup.sh
# The dev profile optimises every dependency (candle does the work), so no second, release
# build of the dependencies is needed.
cargo build --locked --quiet
oracle="${CARGO_TARGET_DIR:-$root/target}/debug/loan-oracle"
mkdir -p data
inputs=("$hand")
if [ "$count" -gt 0 ]; then
  "$oracle" synth --count "$count" --seed "$seed" --out "$data"
  inputs+=("$data")
fi

rm -rf "$out.new"
start=$(date +%s)
"$oracle" train --data "${inputs[@]}" --out "$out.new" --epochs "$epochs" --layers "$layers" \
  --lr "$lr" --seed "$seed" | tee "$out.new.train.json"
seconds=$(( $(date +%s) - start ))
rm -rf "$out" && mv "$out.new" "$out"
mv "$out.new.train.json" "$out/train-summary.json"
# Thresholds from hand-written texts the model never saw (held-out dev), the scores and the card.
COUNT="$count" SEED="$seed" EPOCHS="$epochs" LAYERS="$layers" LR="$lr" scripts/finish-model.sh "$out"
echo "train-model: wrote $out in ${seconds}s"
