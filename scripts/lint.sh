#!/usr/bin/env bash
# Runs the linters of the test command: ruff, mypy (strict for model, backend,
# ops and keepalived) and the import-linter layer contracts, all configured in
# pyproject.toml.  Exits non-zero if any of them fails; all three always run,
# so one report shows every failure.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=${LVSTUI_VENV:-.venv}
status=0
run() {
    echo "== $*"
    "$venv/bin/$@" || status=1
}
run ruff check lvstui tests
run mypy lvstui
run lint-imports
exit $status
