#!/usr/bin/env bash
# Scores a model on the held-out set written by hands that never saw the generator, the training
# data or the model (models/data/heldout/README.md): per field, per genre, per language and per
# number convention, with the count of confident wrong values and of wrong values under `ok`.
#
#   scripts/eval-heldout.sh [dev|test] [--model DIR] [more eval flags]
# `dev` (the default) is for model selection and calibration; `test` is for reporting only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
split="dev"
case "${1:-}" in dev|test) split="$1"; shift ;; esac
scripts/fetch-model.sh
exec cargo run --quiet -- eval --data "models/data/heldout/$split.jsonl" \
  --by genre --by language --by convention --quiet "$@"
