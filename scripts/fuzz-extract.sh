#!/usr/bin/env bash
# Fuzzes everything that reads a text, with the proptest harness in examples/fuzz_extract.rs:
# at least 100,000 generated and mutated texts with arbitrary tagged spans, offsets and
# probabilities through decoding, the normalisers, the rubric and the LoanTerms encoding, and
# at least 2,000 through the whole read path (tokenizer and shipped model included). Prints how
# many inputs each run read and whether anything failed; exits non-zero on a failure, with the
# shrunk input printed. A script for developers, not a CI test (it takes minutes).
#
#   scripts/fuzz-extract.sh [--post-model N] [--full N] [--seed S] [--model DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/fetch-model.sh
# The dev profile optimises every dependency (tokenizers, candle), so the model runs at speed.
exec cargo run --quiet --example fuzz_extract -- "$@"
