#!/usr/bin/env bash
# The fleet simulator on its own: N gateways x M sim panic buttons against one local Mosquitto.
#   scripts/fleet.sh --gateways 100 --devices 20 [--rounds 5]
# Writes bench/results/fleet.json; exits non-zero if any event was lost or arrived out of order.
# With --watch first: the same fleet with outages, evictions and SIGKILLs through `wardgate watch
# --json` (issue 15; consumer killed and restarted mid-run; --consumers 2 for a $share group):
#   scripts/fleet.sh --watch --gateways 100 --devices 20 [--rounds 6] [--consumers 2]
# Writes bench/results/watch-fleet.json.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json || echo "fleet.sh: type errors above (tsc still emitted dist/); running anyway" >&2
if [ "${1:-}" = "--watch" ]; then
  shift
  exec node dist/bench/watch-fleet.js "$@"
fi
exec node dist/bench/fleet.js "$@"
