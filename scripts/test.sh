#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: unit, UI and the lab tests
# against the real IPVS kernel in User-Mode Linux.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
