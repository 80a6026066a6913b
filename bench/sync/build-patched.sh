#!/usr/bin/env bash
# bench/sync/build-patched.sh — a release build of a commit (REV, default HEAD) with one measurement aid,
# in /tmp, never in the repo: the engine's IMAP parser accepts more than 65,536 arguments in one
# response, so that a UID SEARCH answering 100,000 UIDs (one "* SEARCH" line) is not refused.
#
#   bench/sync/build-patched.sh [OUT_DIR]     (default /tmp/mf-bench-sync/patched)
#   -> prints the path of the binary on stdout
#   MAILFLEET_BIN=$(bench/sync/build-patched.sh) bench/sync/run.sh
#   DEBUG_INFO=1: add -g -fno-omit-frame-pointer (for perf --call-graph and massif; same -O3)
#   REV=<commit>: build that commit (git archive; uncommitted changes are never included)
#   PATCH=0: no change at all (a clean release build of REV, e.g. the stock build at N < 65,536)
#
# The change, in a copy of src/mail/imap_client.c (imap_client_new): the limits given to
# imap_parser_new() get `.max_list_args = 1u << 20` next to the existing max_line/max_buffered.
# It is not a proposed fix (see docs/benchmarks.md, "## bench/sync", for those); it only lets
# the rest of the import pipeline be measured at N = 100,000. Nothing else differs from REV.
# (When REV already sets max_list_args there, nothing is patched.)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-/tmp/mf-bench-sync/patched}
case $OUT in /tmp/*) ;; *) echo "build-patched.sh: OUT_DIR must be under /tmp" >&2; exit 1 ;; esac

rm -rf "$OUT/src-copy"
mkdir -p "$OUT/src-copy"
# the committed tree (REV, default HEAD): other people's uncommitted work stays out of it
REV=${REV:-HEAD}
git -C "$ROOT" archive --format=tar "$REV" meson.build meson_options.txt src tests scripts web |
    tar -xf - -C "$OUT/src-copy"
f=$OUT/src-copy/src/mail/imap_client.c
grep -q 'imap_parser_limits lim = {' "$f" ||
    { echo "build-patched.sh: imap_client.c no longer has 'imap_parser_limits lim = {'; adapt the patch" >&2; exit 1; }
if [[ ${PATCH:-1} == 1 ]] && ! grep -q 'max_list_args' "$f"; then
    sed -i 's/imap_parser_limits lim = {/imap_parser_limits lim = {.max_list_args = 1u << 20, /' "$f"
fi
grep -n 'imap_parser_limits lim' "$f" >&2
git -C "$ROOT" rev-parse "$REV" >"$OUT/HEAD"
(
    cd "$OUT/src-copy"
    extra=()
    [[ ${DEBUG_INFO:-0} != 1 ]] || extra=(-Dc_args=-g\ -fno-omit-frame-pointer)
    meson setup build --buildtype=release -Dwerror=false "${extra[@]}" >"$OUT/meson.log" 2>&1
    ninja -C build mailfleet >"$OUT/ninja.log" 2>&1
) || { tail -n 30 "$OUT/meson.log" "$OUT/ninja.log" >&2; exit 1; }
echo "$OUT/src-copy/build/mailfleet"
