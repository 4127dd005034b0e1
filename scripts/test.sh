#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every check: the linters (scripts/lint.sh: ruff, mypy,
# the import-linter layer contracts), then every test: unit, UI and the lab tests against the
# real IPVS kernel in User-Mode Linux.  Extra arguments go to pytest.  Both always run; the
# exit status is non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || exit $?
./scripts/lint.sh
lint=$?
.venv/bin/python -m pytest "$@"
tests=$?
if [ "$lint" -ne 0 ]; then
    echo "test.sh: the linters failed (see the '==' sections above)" >&2
fi
[ "$tests" -ne 0 ] && exit "$tests"
exit "$lint"
