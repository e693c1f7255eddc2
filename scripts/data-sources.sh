#!/usr/bin/env bash
# What each data source adds on the held-out dev split: trains the same model on the synthetic
# texts alone, the hand-written corpus alone, and both (as scripts/train-model.sh does),
# calibrates each on dev and prints its dev figures. Takes about an hour on 2 cores.
#   scripts/data-sources.sh    (COUNT, SEED, EPOCHS, LAYERS, LR, OUT as for train-model.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
count="${COUNT:-1500}"
seed="${SEED:-11}"
epochs="${EPOCHS:-4}"
layers="${LAYERS:-1}"
lr="${LR:-1.5e-3}"
out="${OUT:-data/sources}"
hand="models/data/train/train.jsonl"
synth="data/synth-$count-$seed.jsonl"

scripts/setup.sh
cargo build --locked --quiet
oracle="${CARGO_TARGET_DIR:-$root/target}/debug/loan-oracle"
mkdir -p "$out"
"$oracle" synth --count "$count" --seed "$seed" --out "$synth"
for source in synth hand both; do
  case "$source" in
    synth) inputs=("$synth") ;;
    hand) inputs=("$hand") ;;
    both) inputs=("$hand" "$synth") ;;
  esac
  model="$out/$source"
  rm -rf "$model"
  start=$(date +%s)
  "$oracle" train --data "${inputs[@]}" --out "$model" --epochs "$epochs" --layers "$layers" \
    --lr "$lr" --seed "$seed" > "$model.train.json"
  seconds=$(( $(date +%s) - start ))
  "$oracle" calibrate --model "$model" --data models/data/heldout/dev.jsonl > "$model.calibration.json"
  "$oracle" eval --model "$model" --data models/data/heldout/dev.jsonl --quiet --by language \
    > "$model.dev.txt"
  echo "== $source (${inputs[*]}; trained in ${seconds}s)"
  cat "$model.dev.txt"
done
