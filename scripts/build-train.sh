#!/usr/bin/env bash
# Builds models/data/train/train.jsonl from the training writers' texts (raw/writer-*.jsonl):
# keeps a text when its quoted evidence, read by the normalisers, gives its labels, with every
# labelled span (values and risk facts) and its distractors; prints the counts and writes
# build-report.json. See examples/build_data.rs. Never mix in models/data/heldout/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --quiet --example build_data -- train
