#!/usr/bin/env bash
# Install, upgrade or remove wardgate on a box (Debian / Raspberry Pi OS, arm64), from a checkout:
#   sudo scripts/install.sh                 install or upgrade in place (the outbox is kept)
#   sudo scripts/install.sh --uninstall     remove code and unit; keep /var/lib/wardgate and the config
#   sudo scripts/install.sh --uninstall --purge   also remove the data, the config and the user
# Options:
#   --root DIR   install into DIR as if it were / (a throwaway root for tests or image building):
#                no apt-get, no user changes, no systemctl; everything else is the same.
#   --prebuilt   use this checkout's dist/ and node_modules/ as they are (built for this machine's
#                architecture) instead of npm ci + tsc in the destination.
# Installs into /opt/wardgate, creates the `wardgate` user (groups gpio, dialout), installs the
# systemd unit, and leaves /etc/wardgate/config.yaml for the installer to write (an example is
# copied next to it). Re-running gives the same tree (tested: test/integration/install.test.ts).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
root='' prebuilt=0 uninstall=0 purge=0
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=${2:?--root needs a directory}; shift ;;
    --root=*) root=${1#--root=} ;;
    --prebuilt) prebuilt=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
[ $purge = 0 ] || [ $uninstall = 1 ] || { echo "install.sh: --purge goes with --uninstall" >&2; exit 64; }
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
  [ "$root" != / ] || root=''
fi
# In a throwaway root nothing touches this machine's users, packages or services.
live() { [ -z "$root" ]; }
live && { [ "$(id -u)" = 0 ] || { echo "install.sh: run as root (or give --root DIR)" >&2; exit 1; }; }

dest=$root/opt/wardgate
etc=$root/etc/wardgate
data=$root/var/lib/wardgate
unit=$root/etc/systemd/system/wardgate.service

if [ $uninstall = 1 ]; then
  if live && systemctl list-unit-files wardgate.service >/dev/null 2>&1; then
    systemctl disable --now wardgate 2>/dev/null || true
  fi
  rm -f "$unit" "$root/etc/systemd/system/multi-user.target.wants/wardgate.service"
  rm -rf "$dest" "$dest.staging" "$dest.old" "$etc/config.example.yaml"
  live && systemctl daemon-reload
  if [ $purge = 1 ]; then
    # The outbox may hold events never delivered: purge is for a box leaving service.
    rm -rf "$data" "$etc"
    live && { id wardgate >/dev/null 2>&1 && userdel wardgate || true; }
    echo "wardgate removed, with its data ($data) and config ($etc)"
  else
    echo "wardgate removed; kept the outbox and state in ${data:-/var/lib/wardgate} and the config in $etc (--purge removes them)"
  fi
  exit 0
fi

command -v node >/dev/null || { echo "install.sh: Node.js 20 is required (apt-get install nodejs)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || {
  echo "install.sh: Node.js >= 20 is required" >&2
  exit 1
}
if live; then
  # --prebuilt still needs gpiod (the GPIO backend's tools); a build also needs the compiler.
  pkgs=(gpiod)
  [ $prebuilt = 1 ] || pkgs+=(python3 make g++)
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >/dev/null
  getent group gpio >/dev/null || groupadd --system gpio
  id wardgate >/dev/null 2>&1 || useradd --system --home /var/lib/wardgate --shell /usr/sbin/nologin wardgate
  usermod -a -G gpio,dialout wardgate
fi

# Build the new tree beside the old one and swap at the end: a failed build (npm, tsc) leaves the
# running installation as it was, and a running agent never loads half-old, half-new modules.
stage=$dest.staging
rm -rf "$stage"
mkdir -p "$stage"
cp -a "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$src/tsconfig.json" "$src/README.md" "$stage/"
cp -a "$src/agent" "$src/drivers" "$src/bin" "$src/config" "$src/docs" "$src/bench" "$stage/"
if [ $prebuilt = 1 ]; then
  [ -f "$src/dist/agent/cli.js" ] || { echo "install.sh: --prebuilt needs a build (npm run build)" >&2; exit 1; }
  cp -a "$src/dist" "$src/node_modules" "$stage/"
  # Offline: removes the dev tools from the copy, fetches nothing.
  (cd "$stage" && npm prune --omit=dev --offline --no-audit --no-fund >/dev/null)
else
  (cd "$stage" && npm ci --no-audit --no-fund && npx tsc -p tsconfig.json && npm prune --omit=dev)
fi
# npm leaves a lock file whose timestamps differ per run; the tree is defined by package-lock.json.
rm -f "$stage/node_modules/.package-lock.json"

if live && systemctl is-active --quiet wardgate 2>/dev/null; then
  systemctl stop wardgate # the outbox is closed cleanly; unacknowledged events stay in it
fi
rm -rf "$dest.old"
[ ! -d "$dest" ] || mv "$dest" "$dest.old"
mv "$stage" "$dest"
rm -rf "$dest.old"

mkdir -p "$etc" "$(dirname "$unit")"
cp "$src/config/ward.example.yaml" "$etc/config.example.yaml"
chmod 0750 "$etc"
live && chgrp wardgate "$etc"
install -m 0644 "$src/systemd/wardgate.service" "$unit"
if ! live; then
  echo "wardgate installed into $root (no service started)"
  exit 0
fi
systemctl daemon-reload
if [ -f /etc/wardgate/config.yaml ]; then
  node "$dest/bin/wardgate.js" check-config /etc/wardgate/config.yaml
  systemctl enable wardgate
  systemctl restart wardgate
  echo "wardgate installed and (re)started: journalctl -u wardgate -f"
else
  echo "wardgate installed. Write /etc/wardgate/config.yaml (see config.example.yaml), then: systemctl enable --now wardgate"
fi
