#!/usr/bin/env bash
# Run the whole test suite, lint and type checks (creates .venv on first run).
#
# Browser tests need Chromium and the records tests a PostgreSQL server binary; when the
# script runs as root it installs both from Debian's packages if they are missing (and
# Chromium if it is older than the one the fuzz oracle follows).
# Without them those tests skip with a reason, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# The fuzz oracle follows Chromium 156's parser (tests/fuzz/test_chromium_sample.py): an
# older Chromium (bookworm/main without bookworm-security has 150) is updated like a missing one.
ORACLE_CHROMIUM=156
need=()
chromium_major=$(chromium --version 2>/dev/null | grep -oE '[0-9]+' | head -1 || true)
[ "${chromium_major:-0}" -ge "$ORACLE_CHROMIUM" ] || need+=(chromium)
ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "note: ${need[*]} missing and cannot be installed here; those tests will skip" >&2
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

.venv/bin/ruff check src tests benchmarks scripts examples
.venv/bin/ruff format --check src tests benchmarks scripts examples
.venv/bin/mypy src
.venv/bin/python -m pytest "$@"
