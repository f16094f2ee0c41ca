#!/usr/bin/env bash
# The fleet simulator on its own: N gateways x M sim panic buttons against one local Mosquitto.
#   scripts/fleet.sh --gateways 100 --devices 20 [--rounds 5]
# Writes bench/results/fleet.json; exits non-zero if any event was lost or arrived out of order.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json || echo "fleet.sh: type errors above (tsc still emitted dist/); running anyway" >&2
exec node dist/bench/fleet.js "$@"
