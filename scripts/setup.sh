#!/usr/bin/env bash
# setup.sh — install the Debian packages mailfleet needs (idempotent) and build it.
#   scripts/setup.sh            runtime + build packages, then a release build in ./build
#   scripts/setup.sh --test     also the test tools (cmocka, clang for fuzzing, PostgreSQL,
#                               Chromium and node for the console's end-to-end tests)
#   scripts/setup.sh --no-build packages only
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
test=0
for arg in "$@"; do
  case "$arg" in
    --test) test=1 ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown flag $arg" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential meson ninja-build pkg-config python3
      libsodium-dev libjansson-dev libsqlite3-dev libpq-dev libmicrohttpd-dev
      libevent-dev libssl-dev libcurl4-openssl-dev libgmime-3.0-dev libmimalloc-dev sqlite3 curl ca-certificates tzdata)
if [ "$test" = 1 ]; then
  # chromium + nodejs: the console's end-to-end tests (playwright-core from npm, tests/e2e)
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev postgresql wrk nginx-light chromium nodejs)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Keep package scripts from starting system services (PostgreSQL, nginx): we run our own.
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  [ "$created_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
fi
# Debian's nodejs comes without npm (a separate package); other builds of nodejs carry it
if [ "$test" = 1 ] && ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
fi

if [ "$build" = 1 ]; then
  # debugoptimized (-O2): the build warnings are checked at -O2 in CI; -O3 adds new ones
  [ -d build ] || meson setup build --buildtype=debugoptimized
  ninja -C build
fi
