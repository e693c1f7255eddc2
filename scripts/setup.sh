#!/usr/bin/env bash
# Installs the project's tools into the git-ignored .tools/ folder: Foundry's
# forge, anvil and cast (npm builds of 1.7.1), solcjs behind a native-solc shim,
# and the base model (skipped with --tools-only). Idempotent and quick when
# everything is already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"

FOUNDRY_VERSION=1.7.1
SOLC_VERSION=0.8.30

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "setup: '$1' is missing: $2" >&2
    exit 1
  }
}
need node "install Node.js 18 or newer (Debian: apt-get install nodejs npm)"
need npm "install npm (Debian: apt-get install npm)"
need cargo "install Rust with rustup (https://rustup.rs)"

tools_current() {
  [ -x "$bin/forge" ] && [ -x "$bin/anvil" ] && [ -x "$bin/cast" ] && [ -x "$bin/solc" ] || return 1
  "$bin/forge" --version 2>/dev/null | grep -q "forge Version: $FOUNDRY_VERSION" || return 1
  "$bin/solc" --version 2>/dev/null | grep -q "Version: $SOLC_VERSION" || return 1
}

if ! tools_current; then
  echo "setup: installing Foundry $FOUNDRY_VERSION and solc $SOLC_VERSION into .tools/"
  mkdir -p "$bin"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error \
    "@foundry-rs/forge@$FOUNDRY_VERSION" "@foundry-rs/anvil@$FOUNDRY_VERSION" \
    "@foundry-rs/cast@$FOUNDRY_VERSION" "solc@$SOLC_VERSION" >/dev/null
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) platform=linux-amd64 ;;
    Linux-aarch64) platform=linux-arm64 ;;
    Darwin-arm64) platform=darwin-arm64 ;;
    Darwin-x86_64) platform=darwin-amd64 ;;
    *) echo "setup: no Foundry build for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
  esac
  # Link the platform binaries directly: the npm launchers only wrap them.
  for tool in forge anvil cast; do
    ln -sf "../node_modules/@foundry-rs/$tool-$platform/bin/$tool" "$bin/$tool"
  done
  cat >"$bin/solc" <<SHIM
#!/usr/bin/env bash
NODE_PATH="$tools/node_modules" exec node "$root/scripts/lib/solc-shim.cjs" "\$@"
SHIM
  chmod +x "$bin/solc"
  tools_current || { echo "setup: the tools in .tools/bin do not answer as expected" >&2; exit 1; }
fi

if [ "${1:-}" != "--tools-only" ] && [ -x "$root/scripts/fetch-model.sh" ]; then
  "$root/scripts/fetch-model.sh"
fi
echo "setup: tools ready in .tools/bin ($("$bin/forge" --version | head -1))"
