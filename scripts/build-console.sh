#!/usr/bin/env bash
# Builds the web console (console/ → console/dist/) when it is missing or older than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f console/dist/index.html ] || [ -n "$(find console -path console/dist -prune -o -newer console/dist/index.html -type f -print | head -n 1)" ]; then
  echo "Building the web console…" >&2
  npx --no-install vite build console --logLevel warn >&2
fi
