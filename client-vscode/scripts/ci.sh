#!/usr/bin/env bash
# CI for the VS Code extension: clean install from the lock file, compile, unit tests (plain
# Node with a fake VS Code API, no VS Code download), and the packaged .vsix.
# Usage: client-vscode/scripts/ci.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund
npm run compile
npm test
npm run package
ls -l greenpatch.vsix
