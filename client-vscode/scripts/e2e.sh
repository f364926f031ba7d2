#!/usr/bin/env bash
# End to end in a real VS Code: installs the built .vsix into code-server, opens a copy of the
# example workspace (a Python project with a failing test), and drives it from Chromium with
# Playwright (e2e/review.e2e.test.js): "Fix Failing Tests" from the palette with the scripted
# model, review in the diff editor, accept one hunk and reject the other, files checked on disk.
# Screenshots and VS Code's logs go to test-results/e2e/. Exit 0 with "skipped" printed only
# when a tool cannot be installed here (scripts/e2e-setup.sh exit 3).
#
# Environment (all optional; not GREENPATCH_*, which the server reads as its settings):
#   E2E_PYTHON   Python with greenpatch's dependencies (default: ../.venv/bin/python,
#                           else python3); the server runs from this checkout via PYTHONPATH.
#   E2E_EXAMPLE  workspace to copy (default: ../examples/shop)
#   E2E_SCRIPT   scripted model replies (default: ../examples/scripted/fix-shop.json)
#   E2E_SOURCE   directory put on PYTHONPATH for the server (default: the checkout)
#   E2E_VIA_RUN_TASK=1  start the run with "Run Task..." (input box, model pick) instead of
#                "Fix Failing Tests"
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=$HERE/test-results/e2e
EXAMPLE=${E2E_EXAMPLE:-$REPO/examples/shop}
SCRIPT=${E2E_SCRIPT:-$REPO/examples/scripted/fix-shop.json}
SOURCE=${E2E_SOURCE:-$REPO}
if [ -n "${E2E_PYTHON:-}" ]; then
  PY=$E2E_PYTHON
elif [ -x "$REPO/.venv/bin/python" ]; then
  PY=$REPO/.venv/bin/python
else
  PY=$(command -v python3)
fi
log() { echo "e2e: $*" >&2; }

set +e
CACHE=$("$HERE/scripts/e2e-setup.sh" | tail -1)
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -eq 3 ]; then
  echo "e2e: skipped: a tool the test needs could not be installed here (see above)"
  exit 0
fi
[ "$rc" -eq 0 ] || exit "$rc"
export PATH="$CACHE/bin:$PATH"

for f in "$EXAMPLE" "$SCRIPT"; do
  [ -e "$f" ] || { log "missing $f"; exit 1; }
done
if ! PYTHONPATH=$SOURCE "$PY" -c "import greenpatch.server, greenpatch.cli" 2>/dev/null; then
  log "$PY cannot import greenpatch.server from $SOURCE; install the project (scripts/test does)"
  exit 1
fi

if [ ! -f "$HERE/greenpatch.vsix" ] || [ -n "$(find "$HERE/src" "$HERE/package.json" -newer "$HERE/greenpatch.vsix" -print -quit)" ]; then
  log "building greenpatch.vsix"
  (cd "$HERE" && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run compile && npm run package) >&2
fi

WORK=$(mktemp -d /tmp/greenpatch-e2e.XXXXXX)
CS_PID=
cleanup() {
  if [ -n "$CS_PID" ]; then kill "$CS_PID" 2>/dev/null || true; wait "$CS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
rm -rf "$OUT" && mkdir -p "$OUT"

# The workspace: a copy, so the example itself is never changed; no caches from earlier runs.
mkdir -p "$WORK/ws" "$WORK/data/User" "$WORK/ext"
tar -C "$EXAMPLE" --exclude=.pytest_cache --exclude=.greenpatch --exclude=__pycache__ -cf - . | tar -C "$WORK/ws" -xf -
cp "$SCRIPT" "$WORK/script.json"
cat > "$WORK/data/User/settings.json" <<JSON
{
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "extensions.ignoreRecommendations": true,
  "update.mode": "none",
  "telemetry.telemetryLevel": "off",
  "files.autoSave": "off",
  "git.enabled": false,
  "chat.disableAIFeatures": true,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "greenpatch.interpreter": "$PY",
  "greenpatch.models.default": "scripted/$WORK/script.json",
  "greenpatch.index.enabled": false,
  "greenpatch.logLevel": "debug",
  "greenpatch.trace.server": "messages"
}
JSON

CODE_SERVER=$CACHE/node/node_modules/.bin/code-server
CS_ARGS=(--auth none --disable-telemetry --disable-update-check --disable-workspace-trust
  --config "$WORK/config.yaml" --user-data-dir "$WORK/data" --extensions-dir "$WORK/ext")
"$CODE_SERVER" "${CS_ARGS[@]}" --install-extension "$HERE/greenpatch.vsix" >"$OUT/install.log" 2>&1 \
  || { cat "$OUT/install.log" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The server is started by the extension host, a child of code-server: it inherits PYTHONPATH.
PYTHONPATH=$SOURCE "$CODE_SERVER" "${CS_ARGS[@]}" --bind-addr "127.0.0.1:$PORT" "$WORK/ws" >"$OUT/code-server.log" 2>&1 &
CS_PID=$!
for _ in $(seq 1 60); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break
  sleep 1
done
curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" || { cat "$OUT/code-server.log" >&2; log "code-server did not start"; exit 1; }

set +e
E2E_VIA_RUN_TASK=${E2E_VIA_RUN_TASK:-} E2E_URL="http://127.0.0.1:$PORT/?folder=$WORK/ws" E2E_WORKSPACE="$WORK/ws" E2E_OUT="$OUT" E2E_PYTHON="$PY" \
  NODE_PATH="$CACHE/node/node_modules" node --test --test-timeout=600000 "$HERE/e2e/review.e2e.test.js"
rc=$?
set -e
# VS Code's own logs (the Greenpatch output channel among them) for whoever reads a failure.
cp -r "$WORK/data/logs" "$OUT/vscode-logs" 2>/dev/null || true
[ "$rc" -eq 0 ] && log "passed; screenshots in $OUT" || log "failed; screenshots and logs in $OUT"
exit "$rc"
