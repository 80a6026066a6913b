#!/usr/bin/env bash
# run.sh — long libFuzzer runs outside CI: build the fuzz targets (configuring the build
# directory with clang and -Dfuzz=true if needed) and fuzz each target for SECONDS (default
# 300), one after the other. Without TARGETs: every test of suite 'fuzz' (tests/fuzz/meson.build).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      e.g. tests/fuzz/run.sh 3600 fuzz_api_input
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (targets fuzzed at the same time,
# default 1), FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=4 -workers=4"), FUZZ_NO_BUILD=1
# (fuzz the binaries already built, e.g. while someone's half-done change breaks the build).
# New inputs go to $FUZZ_BUILD_DIR/tests/fuzz/corpus/<target>/ (kept between runs; the
# committed seeds in tests/fuzz/corpus/<target>/ are only read). Crashes are written as
# $FUZZ_BUILD_DIR/tests/fuzz/<target>-crash-<sha1> (also leak-, timeout-, oom-); replay one with
#   $FUZZ_BUILD_DIR/tests/fuzz/<target> <file>
# To fold a long run's findings into the seeds (keep seeds small: 10-30 files), minimise first:
#   <target> -merge=1 /tmp/min tests/fuzz/corpus/<target> $FUZZ_BUILD_DIR/tests/fuzz/corpus/<target>
# Exit status: 0 when every target ran clean, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
secs="${1:-300}"
shift || true
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
targets=("$@")
build="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${FUZZ_JOBS:-1}"

if [ -n "${FUZZ_NO_BUILD:-}" ]; then
  :
elif [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false || exit 1
elif ! grep -qE '^ *fuzz +true' <<<"$(meson configure "$build" 2>/dev/null)"; then
  meson configure "$build" -Dfuzz=true -Db_lundef=false || exit 1
fi
if [ ${#targets[@]} -eq 0 ]; then # every test of suite 'fuzz' in tests/fuzz/meson.build
  [ -n "${FUZZ_NO_BUILD:-}" ] || ninja -C "$build" build.ninja >/dev/null || exit 1 # regenerate
  mapfile -t targets < <(meson introspect --tests "$build" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if "fuzz" in t["suite"] or any(s.endswith(":fuzz") for s in t["suite"]):
        print(t["name"])')
  [ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets in $build" >&2; exit 1; }
fi
[ -n "${FUZZ_NO_BUILD:-}" ] || ninja -C "$build" "${targets[@]/#/tests/fuzz/}" || exit 1
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/$t" ] || { echo "$build/tests/fuzz/$t is not built" >&2; exit 1; }
done

out="$build/tests/fuzz"
dict_arg() { [ -f "tests/fuzz/$1.dict" ] && echo "-dict=tests/fuzz/$1.dict"; }
fuzz_one() {
  local t="$1"
  local log="$out/$t.log"
  mkdir -p "$out/corpus/$t"
  echo "== $t: ${secs}s (log: $log)"
  # shellcheck disable=SC2046,SC2086
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$out/$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$out/$t-" $(dict_arg "$t") ${FUZZ_ARGS:-} \
      "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  local rc=$?
  echo $rc >"$out/$t.rc"
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|new_units_added)' "$log" | sed "s/^/   $t: /"
  if [ $rc -ne 0 ]; then
    echo "!! $t FAILED (exit $rc):"
    grep -E 'ERROR: |runtime error|invariant broken|Test unit written|SUMMARY' "$log" | sed 's/^/   /'
  fi
  return $rc
}

for t in "${targets[@]}"; do
  rm -f "$out/$t.rc"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  fuzz_one "$t" &
done
wait
fail=0
for t in "${targets[@]}"; do
  [ "$(cat "$out/$t.rc" 2>/dev/null)" = 0 ] || { fail=1; echo "FAILED: $t"; }
done
[ $fail -eq 0 ] && echo "all targets ran clean for ${secs}s each"
exit $fail
