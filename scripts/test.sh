#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the real peers the tests talk to (Debian
# packages, when run as root on Debian), the npm dependencies, builds, then runs vitest.
# A required peer that cannot be had is a loud failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

# command (or header) -> Debian package that provides it. The GPIO contract tests run the real
# libgpiod 1.6 tools over fake hardware: an LD_PRELOAD shim compiled at test time (gcc, libc and
# libgpiod headers; test/fixtures/gpio/shim/).
declare -A PEERS=(
  [/usr/sbin/mosquitto]=mosquitto
  [/usr/bin/mosquitto_sub]=mosquitto-clients
  [/usr/bin/gpiomon]=gpiod
  [/usr/bin/gcc]=gcc
  [/usr/include/stdio.h]=libc6-dev
  [/usr/include/gpiod.h]=libgpiod-dev
  [/usr/bin/promtool]=prometheus
  [/usr/bin/systemd-analyze]=systemd
  [/usr/bin/openssl]=openssl
  [/usr/bin/chromium]=chromium
  [/usr/bin/script]=bsdutils
  [/lib/nut/upsd]=nut-server
  # issue 12: the reload test's sd_notify socket (AF_UNIX datagrams, fds closed like systemd's barrier)
  [/usr/bin/python3]=python3
  # Modbus doors (issue 8): a controller that is not ours (pymodbus, TCP and RTU framer) and a
  # pty pair standing in for the RS-485 adapter.
  [/usr/bin/socat]=socat
  [/usr/lib/python3/dist-packages/pymodbus/__init__.py]=python3-pymodbus
  [/usr/lib/python3/dist-packages/serial/__init__.py]=python3-serial
  [/usr/lib/python3/dist-packages/serial_asyncio/__init__.py]=python3-serial-asyncio
)
# A header or a Python module is present when it exists; a command when it can be run.
present() { case $1 in *.h | *.py) [ -f "$1" ] ;; *) [ -x "$1" ] ;; esac; }
missing=()
for cmd in "${!PEERS[@]}"; do
  present "$cmd" || missing+=("${PEERS[$cmd]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing test peers: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Not starting the packaged daemons: the tests start their own, on random ports.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    rm -f /usr/sbin/policy-rc.d
  else
    echo "test.sh: missing test peers: ${missing[*]} — install them (apt-get install ${missing[*]}) or run as root on Debian" >&2
    exit 1
  fi
fi
for cmd in "${!PEERS[@]}"; do
  present "$cmd" || { echo "test.sh: $cmd still missing after install" >&2; exit 1; }
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
npx tsc -p tsconfig.test.json
report=$(mktemp /tmp/wardgate-vitest-XXXXXX.json)
status=0
WG_SKIP_BUILD=1 npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line for any reader of the log: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || echo "test.sh: no test report (vitest did not finish)" >&2
rm -f "$report"
exit "$status"
