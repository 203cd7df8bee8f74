#!/usr/bin/env bash
# Start the demo news site on http://127.0.0.1:8000 (creates .venv on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[demo]'
exec .venv/bin/python -m uvicorn --factory examples.newsroom:create_app --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
