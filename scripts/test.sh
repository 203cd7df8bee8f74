#!/usr/bin/env bash
# Run the whole test suite, lint and type checks (creates .venv on first run).
#
# Browser tests need Chromium and the records tests a PostgreSQL server binary; when the
# script runs as root it installs both from Debian's packages if they are missing.
# Without them those tests skip with a reason, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
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
