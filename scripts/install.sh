#!/usr/bin/env bash
# Install wardgate on a box (Debian / Raspberry Pi OS, arm64), from a checkout of this repository:
#   sudo scripts/install.sh
# Installs into /opt/wardgate, creates the `wardgate` user (groups gpio, dialout), installs the
# systemd unit, and leaves /etc/wardgate/config.yaml for the installer to write (an example is
# copied next to it). Re-running upgrades in place; the outbox in /var/lib/wardgate is kept.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
src=$(cd "$(dirname "$0")/.." && pwd)
dest=/opt/wardgate

command -v node >/dev/null || { echo "install.sh: Node.js 20 is required (apt-get install nodejs)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "install.sh: Node.js >= 20 is required" >&2
  exit 1
}
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gpiod python3 make g++ >/dev/null

getent group gpio >/dev/null || groupadd --system gpio
id wardgate >/dev/null 2>&1 || useradd --system --home /var/lib/wardgate --shell /usr/sbin/nologin wardgate
usermod -a -G gpio,dialout wardgate

mkdir -p "$dest"
cp -a "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$src/tsconfig.json" "$dest/"
rm -rf "$dest/agent" "$dest/drivers" "$dest/bin" "$dest/config" "$dest/docs" "$dest/bench"
cp -a "$src/agent" "$src/drivers" "$src/bin" "$src/config" "$src/docs" "$src/bench" "$src/README.md" "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund && npx tsc -p tsconfig.json && npm prune --omit=dev)

mkdir -p /etc/wardgate
cp "$src/config/ward.example.yaml" /etc/wardgate/config.example.yaml 2>/dev/null || true
chmod 0750 /etc/wardgate && chgrp wardgate /etc/wardgate
install -m 0644 "$src/systemd/wardgate.service" /etc/systemd/system/wardgate.service
systemctl daemon-reload
if [ -f /etc/wardgate/config.yaml ]; then
  node "$dest/bin/wardgate.js" check-config /etc/wardgate/config.yaml
  systemctl enable --now wardgate
  echo "wardgate installed and (re)started: journalctl -u wardgate -f"
else
  echo "wardgate installed. Write /etc/wardgate/config.yaml (see config.example.yaml), then: systemctl enable --now wardgate"
fi
