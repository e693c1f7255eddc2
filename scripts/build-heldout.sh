#!/usr/bin/env bash
# Builds models/data/heldout/{dev,test}.jsonl from the writers' texts (raw/) and the blind
# second labels (labels/): keeps a text only when both labels agree (or adjudication settled
# it) and its quoted evidence, read by the normalisers, gives the label; prints every count and
# writes build-report.json. See examples/build_data.rs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --quiet --example build_data -- heldout
