#!/usr/bin/env bash
# Installs whatever the tests need that is missing, then runs every check and every test:
# typecheck, lint, dependency boundaries, unit/integration/crash tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh

if ! command -v python3 >/dev/null 2>&1; then
  echo "python3 is missing; installing it (Python rules run in python3 workers)." >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3 >&2; else sudo apt-get install -y python3 >&2; fi
fi

# The PostgreSQL store's tests start a throwaway cluster with initdb/pg_ctl.
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "PostgreSQL binaries are missing; installing them (the PostgreSQL store's tests need initdb)." >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >&2; else sudo apt-get install -y postgresql >&2; fi
fi

# Browser tests drive Debian's chromium through playwright-core.
if [ ! -x /usr/bin/chromium ]; then
  echo "chromium is missing; installing it (the console's browser tests need it)." >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >&2; else sudo apt-get install -y chromium >&2; fi
fi
bash scripts/build-console.sh

echo "== typecheck" >&2
npx --no-install tsc --noEmit -p .
npx --no-install tsc --noEmit -p console
echo "== lint" >&2
npx --no-install biome check .
echo "== dependency boundaries" >&2
npx --no-install depcruise src --config .dependency-cruiser.cjs
echo "== tests" >&2
mapfile -t files < <(find src test packs console/src -name '*.test.ts' 2>/dev/null | sort)
node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${files[@]}"
