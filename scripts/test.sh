#!/usr/bin/env bash
# test.sh — the second README command: install what the tests need, build with ASan+UBSan,
# start the real servers the tests use (PostgreSQL on loopback), run every test suite (unit,
# api, fuzz for a bounded time), stop the servers, and print "N passed, N failed".
# Exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/setup.sh --test --no-build || { echo "0 passed, 1 failed"; exit 1; }

work=$(mktemp -d /tmp/mailfleet-test.XXXXXX)
chmod 755 "$work"
cleanup() {
  tests/lab/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

status=0
builds=()

# playwright-core for the console's end-to-end tests (tests/e2e, the meson suite 'e2e')
e2e_ready=1
if ! (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
  echo "test.sh: npm ci in tests/e2e failed; the e2e suite skips, and the run fails" >&2
  e2e_ready=0
fi

# 1. unit + API tests under AddressSanitizer and UndefinedBehaviorSanitizer
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [ ! -d build-asan ]; then
  meson setup build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || status=1
fi
ninja -C build-asan || status=1

# PostgreSQL for the store tests (the neutral query API on both backends)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if pg_url=$(tests/lab/postgres.sh start "$work/pg" "$pg_port"); then
  export MAILFLEET_TEST_PG_URL="$pg_url"
else
  echo "test.sh: PostgreSQL did not start; store tests run on SQLite only" >&2
  status=1
fi

if [ "$status" = 0 ]; then
  meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 || status=1
  builds+=(build-asan)
fi

# 2. fuzz targets, a bounded time each (long runs: tests/fuzz/run.sh)
if [ -d tests/fuzz ] && [ -f tests/fuzz/meson.build ]; then
  if [ ! -d build-fuzz ]; then
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_lundef=false >/dev/null || status=1
  fi
  if ninja -C build-fuzz; then
    meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs || status=1
    builds+=(build-fuzz)
  else
    status=1
  fi
fi

[ "$e2e_ready" = 1 ] || status=1

python3 scripts/test_summary.py "${builds[@]/%//meson-logs/testlog.json}" || status=1
exit $status
