#!/usr/bin/env bash
# bench/sync/run.sh — backfill import benchmark: mailfleet against mbsync and imapflow.
#
# One Dovecot INBOX of N generated messages (bench/sync/gen.py, default 100,000, 2-50 KB, last
# 25 days) on a private lab Dovecot (tests/lab/dovecot.sh), read over plain IMAP on loopback by:
#
#   mailfleet  a release build of `mailfleet serve`; timed from just before
#              POST /api/v1/mailboxes to the first poll (every 0.1 s) of GET /api/v1/mailboxes/{id}
#              showing sync.backfill_done with sync.messages_imported == N. It LISTs, EXAMINEs
#              Sent (empty) and INBOX, UID SEARCH SINCE <30 days ago>, then
#              UID FETCH <BATCH uids> (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[]) one command
#              at a time (the next one while the previous batch is parsed on a work-pool thread),
#              and parses (GMime), classifies, threads and stores every message in SQLite.
#   mbsync     isync 1.4 pulling INBOX into an empty local Maildir, `FSync no`; timed process.
#              SELECT INBOX, UID FETCH 1:N (UID FLAGS), then one pipelined
#              UID FETCH <uid> (BODY.PEEK[]) per message, each written to a file.
#   imapflow   bench/sync/fetch.mjs (Node.js, imapflow 2.10.2); timed process. EXAMINE INBOX,
#              UID SEARCH YOUNGER 2592000, one UID FETCH <all> (UID FLAGS INTERNALDATE
#              RFC822.SIZE BODY.PEEK[] MODSEQ BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO
#              REFERENCES FROM TO SUBJECT DATE)]) streamed; bytes counted and dropped.
#
# Warm-up (not counted): the files are read once into the page cache and every peer runs once,
# so Dovecot's index and cache files are built before the timed runs. Then RUNS rounds, the peer
# order rotating each round; every mailfleet run starts a new process on a new database. Prints
# a table of medians, messages/s and the ratio mailfleet/mbsync. Everything it starts is stopped
# by PID; its temp dir is removed; the generated Maildir stays in LAB_DIR (under /tmp) for the
# next run (regenerated when N/SEED change or the set would leave the 30-day window).
#
# Knobs (environment):
#   N=100000 SEED=1 RUNS=3 BATCH=200 (imap_fetch_batch in mailfleet's config file, its default)
#   PARSE_THREADS= (parse_threads in mailfleet's config file; empty: the binary's default)
#   PEERS="mailfleet mbsync imapflow"  WARMUP=1  RUN_TIMEOUT=1800 (seconds per invocation)
#   LAB_DIR=/tmp/mf-bench-sync/lab  BASEPORT=24310 (Dovecot: BASEPORT..BASEPORT+3)
#   KEEP_LAB=0 (1: leave the lab Dovecot running)  MAILFLEET_BIN=build-release/mailfleet
#   RESULTS_DIR=DIR (keep raw results and mailfleet logs)
#   MF_DATA_DIR=DIR (where each mailfleet run keeps its SQLite database; default the temp dir
#     in /tmp, the same disk mbsync writes to; e.g. /dev/shm to take the disk out)
#   REQUIRE_IDLE=1 (before each round wait, up to 30 min, until the CPUs are < 15 % busy)
#   PROFILE=1 (one extra mailfleet run under `perf record --call-graph dwarf`, report in
#     RESULTS_DIR; use a binary with debug info: DEBUG_INFO=1 bench/sync/build-patched.sh)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-100000}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
BATCH=${BATCH:-200}
PARSE_THREADS=${PARSE_THREADS:-}
PEERS=${PEERS:-mailfleet mbsync imapflow}
WARMUP=${WARMUP:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
LAB_DIR=${LAB_DIR:-/tmp/mf-bench-sync/lab}
BASEPORT=${BASEPORT:-24310}
KEEP_LAB=${KEEP_LAB:-0}
BIN=${MAILFLEET_BIN:-$ROOT/build-release/mailfleet}
RESULTS_DIR=${RESULTS_DIR:-}
PROFILE=${PROFILE:-0}
USER_EMAIL=bench@example.test
USER_PASS=bench-sync-pw
LAB=$ROOT/tests/lab/dovecot.sh

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (the lab Dovecot needs it)"
case $LAB_DIR in /tmp/*) ;; *) die "LAB_DIR must be under /tmp (the generated Maildir is large)" ;; esac

# --- tools -----------------------------------------------------------------------------------
for tool in python3 curl node npm; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
if [[ $PEERS == *mbsync* ]] && ! command -v mbsync >/dev/null 2>&1; then
    say "== installing isync (mbsync)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends isync </dev/null >&2 ||
        die "apt-get install isync failed"
fi
if [[ $PEERS == *imapflow* && ! -d $HERE/node_modules/imapflow ]]; then
    say "== npm ci in bench/sync (imapflow)"
    (cd "$HERE" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
fi
[[ $PROFILE != 1 ]] || command -v perf >/dev/null 2>&1 || die "PROFILE=1 needs perf"

# --- release build ---------------------------------------------------------------------------
if [[ ! -x $BIN && $BIN == "$ROOT/build-release/mailfleet" ]]; then
    say "== building a release mailfleet in build-release"
    (
        cd "$ROOT"
        [[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release >&2
        if ! ninja -C build-release >&2; then
            # gcc -O3 finds maybe-uninitialized warnings that -O2 does not; -Werror stops there.
            say "run.sh: release build failed with -Werror; retrying with -Dwerror=false"
            meson configure build-release -Dwerror=false >&2
            ninja -C build-release >&2
        fi
    ) || die "release build failed"
fi
[[ -x $BIN ]] || die "no mailfleet binary at $BIN"

# --- temp dir, processes, cleanup ------------------------------------------------------------
TMP=$(mktemp -d /tmp/mf-bench-sync-run.XXXXXX)
chmod 755 "$TMP"
LAB_STARTED=0
# Peers run in background subshells that the main shell `wait`s for (so INT/TERM are handled at
# once). Every PID started is written to a file with its start time; the cleanup stops each
# one still alive with the same start time, and all its descendants, by PID.
PIDFILE=$TMP/pids
: >"$PIDFILE"
# shellcheck source=bench/lib/procs.sh
. "$ROOT/bench/lib/procs.sh" # starttime track descendants stop_pid
cleanup() {
    local rc=$? p st tree
    trap - EXIT INT TERM
    while read -r p st; do
        [[ -n $p && $(starttime "$p") == "$st" ]] || continue
        tree="$p $(descendants "$p")"
        for p in $tree; do stop_pid "$p"; done
    done < <(tac "$PIDFILE")
    if [[ -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        cp -r "$TMP/res/." "$RESULTS_DIR/" 2>/dev/null || true
    fi
    if [[ $LAB_STARTED == 1 && $KEEP_LAB != 1 ]]; then "$LAB" stop "$LAB_DIR" || true; fi
    [[ -z ${MF_DATA_DIR:-} ]] || rm -rf "$MF_DATA_DIR"/mf-*-"$$"
    rm -rf "$TMP"
    exit "$rc"
}
# run_peer PEER LABEL: run it in the background, wait, print its seconds (empty on failure).
run_peer() {
    local p rc=0
    "run_$1" "$2" >"$TMP/secs" &
    p=$!
    track "$p"
    wait "$p" || rc=$?
    [[ $rc == 0 ]] || return "$rc"
    cat "$TMP/secs"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$TMP/res"
RES=$TMP/res

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$2"; }

# mailfleet reads only the config file each run writes: no MAILFLEET_* from the caller.
while IFS='=' read -r name _; do
    case $name in MAILFLEET_*) unset "$name" ;; esac
done < <(env)

# --- lab and data ----------------------------------------------------------------------------
mkdir -p "$LAB_DIR"
printf '%s:%s\n' "$USER_EMAIL" "$USER_PASS" >"$TMP/users"
"$LAB" status "$LAB_DIR" 2>/dev/null || LAB_STARTED=1
LINE=$("$LAB" start "$LAB_DIR" "$BASEPORT" "$TMP/users") || die "lab Dovecot did not start"
eval "$LINE"
say "== lab Dovecot in $LAB_DIR: IMAP 127.0.0.1:$IMAP_PORT"
MAILDIR=$LAB_DIR/mail/${USER_EMAIL#*@}/${USER_EMAIL%%@*}/Maildir
if python3 "$HERE/gen.py" --maildir "$MAILDIR" -n "$N" --seed "$SEED" --check; then
    say "== reusing the generated INBOX ($N messages) in $MAILDIR"
else
    say "== generating $N messages into $MAILDIR"
    python3 "$HERE/gen.py" --maildir "$MAILDIR" -n "$N" --seed "$SEED" ||
        die "gen.py failed"
fi
cp "$(dirname "$MAILDIR")/BENCH_GEN.json" "$RES/" 2>/dev/null || true
BYTES=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes"])' "$(dirname "$MAILDIR")/BENCH_GEN.json")

# --- peers -----------------------------------------------------------------------------------
# Each prints "SECONDS" on stdout (and details in $RES/<peer>-<label>.json); non-zero on failure.
CLK_TCK=$(getconf CLK_TCK)
cpu_seconds() { # PID: user+system CPU seconds so far
    awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / t }' "/proc/$1/stat"
}
written_bytes() { # PID: bytes it passed to write/pwrite so far (wchar: page cache included)
    awk '$1 == "wchar:" { print $2 }' "/proc/$1/io"
}
status_kb() { # PID FIELD
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

run_mailfleet() { # LABEL [perf]
    local label=$1 d=${MF_DATA_DIR:-$TMP}/mf-$1-$$ port pid t0 out org user token rc=0
    mkdir -p "$d"
    cat >"$d/mailfleet.conf" <<EOF
# bench/sync/run.sh
db = sqlite:$d/mf.db
key_file = $d/key
imap_fetch_batch = $BATCH
backfill_days = 30
log_level = info
EOF
    [[ -z $PARSE_THREADS ]] || echo "parse_threads = $PARSE_THREADS" >>"$d/mailfleet.conf"
    (
        cd "$d"
        org=$("$BIN" --config "$d/mailfleet.conf" org create Bench --mailbox-limit 5000 2>>"$d/setup.log")
        user=$("$BIN" --config "$d/mailfleet.conf" user create --email u@bench.test --name U \
            --role user --org "$org" 2>>"$d/setup.log")
        token=$("$BIN" --config "$d/mailfleet.conf" token create --user u@bench.test 2>>"$d/setup.log")
        printf '%s %s\n' "$user" "$token" >"$d/ids"
    ) || { cat "$d/setup.log" >&2; return 1; }
    read -r user token <"$d/ids"
    port=$(free_port)
    (
        cd "$d"
        exec "$BIN" --config "$d/mailfleet.conf" serve --listen "127.0.0.1:$port" 2>"$d/serve.log"
    ) &
    pid=$!
    track "$pid"
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/healthz" && break
        kill -0 "$pid" 2>/dev/null || { cat "$d/serve.log" >&2; return 1; }
        sleep 0.1
    done
    local perf_pid='' stat_pid=''
    if [[ ${2:-} == perf ]]; then
        perf record --call-graph "${PERF_CALLGRAPH:-dwarf,32768}" -F "${PERF_FREQ:-199}" -p "$pid" -o "$RES/perf.data" 2>"$RES/perf-record.log" &
        perf_pid=$!
        track "$perf_pid"
        # and the syscalls that can block it: fsync (SQLite WAL checkpoints), writes, reads
        perf stat -e 'syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_pwrite64,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_readv,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_wait' \
            -p "$pid" -o "$RES/perf-stat-syscalls.txt" &
        track $!
        stat_pid=$!
        sleep 0.5
    fi
    local rss0 cpu0 wr0
    rss0=$(status_kb "$pid" VmRSS)
    cpu0=$(cpu_seconds "$pid")
    wr0=$(written_bytes "$pid")
    out=$(timeout "$RUN_TIMEOUT" python3 "$HERE/mf.py" import "http://127.0.0.1:$port" "$token" \
        "$user" "$USER_EMAIL" "$USER_PASS" \
        "{\"host\":\"127.0.0.1\",\"port\":$IMAP_PORT,\"security\":\"none\"}" "$N" "$RUN_TIMEOUT") || rc=$?
    local cpu1 hwm rss1 wr1
    cpu1=$(cpu_seconds "$pid")
    wr1=$(written_bytes "$pid")
    hwm=$(status_kb "$pid" VmHWM)
    rss1=$(status_kb "$pid" VmRSS)
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" "$stat_pid" 2>/dev/null || true
        wait "$perf_pid" "$stat_pid" 2>/dev/null || true
    fi
    stop_pid "$pid"
    local dbsize
    dbsize=$(du -sb "$d" | cut -f1)
    cp "$d/serve.log" "$RES/mailfleet-$label-serve.log" 2>/dev/null || true
    if [[ $rc != 0 ]]; then
        say "run.sh: mailfleet run $label failed: $out"
        tail -n 20 "$d/serve.log" >&2
        return 1
    fi
    python3 - "$out" "$cpu0" "$cpu1" "$rss0" "$rss1" "$hwm" "$dbsize" "$((wr1 - wr0))" >"$RES/mailfleet-$label.json" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
o.update(cpu_seconds=round(float(sys.argv[3]) - float(sys.argv[2]), 2), rss_before_kb=int(sys.argv[4]),
         rss_after_kb=int(sys.argv[5]), hwm_kb=int(sys.argv[6]), data_dir_bytes=int(sys.argv[7]),
         written_bytes=int(sys.argv[8]))
print(json.dumps(o))
PY
    rm -rf "$d"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$RES/mailfleet-$label.json"
}

run_mbsync() { # LABEL
    local label=$1 d=$TMP/mbsync-$1 t0 t1 count rc=0
    mkdir -p "$d/md"
    cat >"$d/mbsyncrc" <<EOF
# bench/sync/run.sh — pull INBOX into an empty Maildir, no fsync
FSync no
IMAPAccount bench
Host 127.0.0.1
Port $IMAP_PORT
User $USER_EMAIL
Pass $USER_PASS
SSLType None
AuthMechs PLAIN LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path $d/md/
Inbox $d/md/INBOX

Channel bench
Far :remote:INBOX
Near :local:INBOX
Sync Pull
Create Near
SyncState *
EOF
    t0=$(now)
    /usr/bin/time -f '%U %S %M' -o "$d/time" \
        timeout "$RUN_TIMEOUT" mbsync -c "$d/mbsyncrc" -q bench >"$d/out" 2>&1 || rc=$?
    t1=$(now)
    if [[ $rc != 0 ]]; then
        say "run.sh: mbsync run $label failed (rc $rc)"
        tail -n 20 "$d/out" >&2
        return 1
    fi
    count=$(find "$d/md/INBOX/cur" "$d/md/INBOX/new" -type f | wc -l)
    [[ $count == "$N" ]] || { say "run.sh: mbsync copied $count messages, not $N"; return 1; }
    python3 - "$(elapsed "$t0" "$t1")" "$count" "$(tail -n 1 "$d/time")" >"$RES/mbsync-$label.json" <<'PY'
import json, sys
u, s, m = sys.argv[3].split()
print(json.dumps({"seconds": float(sys.argv[1]), "messages": int(sys.argv[2]),
                  "cpu_seconds": round(float(u) + float(s), 2), "max_rss_kb": int(m)}))
PY
    rm -rf "$d"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$RES/mbsync-$label.json"
}

run_imapflow() { # LABEL
    local label=$1 t0 t1 out rc=0
    t0=$(now)
    out=$(/usr/bin/time -f '%U %S' -o "$TMP/imapflow-time" timeout "$RUN_TIMEOUT" \
        node "$HERE/fetch.mjs" 127.0.0.1 "$IMAP_PORT" "$USER_EMAIL" "$USER_PASS" "$N") || rc=$?
    t1=$(now)
    [[ $rc == 0 ]] || { say "run.sh: imapflow run $label failed: $out"; return 1; }
    python3 - "$out" "$(elapsed "$t0" "$t1")" "$(tail -n 1 "$TMP/imapflow-time")" >"$RES/imapflow-$label.json" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
o["process_seconds"] = o.pop("seconds")
u, s = sys.argv[3].split()
o.update(seconds=float(sys.argv[2]), cpu_seconds=round(float(u) + float(s), 2))
print(json.dumps(o))
PY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$RES/imapflow-$label.json"
}

# Share of the 2 CPUs busy over 2 s (other work on the machine skews every figure).
cpu_busy() {
    local a b
    a=$(awk '/^cpu /{ print $2+$3+$4+$7+$8, $5+$6 }' /proc/stat)
    sleep 2
    b=$(awk '/^cpu /{ print $2+$3+$4+$7+$8, $5+$6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d", 100 * busy / (busy + idle + 0.001) }'
}
# Before each round: with REQUIRE_IDLE=1 wait (up to 30 min) for the CPUs to be < 15 % busy.
settle() {
    local busy waited=0
    busy=$(cpu_busy)
    while [[ ${REQUIRE_IDLE:-0} == 1 && $busy -ge 15 && $waited -lt 1800 ]]; do
        say "   CPUs ${busy}% busy with other work; waiting (REQUIRE_IDLE=1)"
        sleep 10
        waited=$((waited + 12))
        busy=$(cpu_busy)
    done
    [[ $busy -lt 15 ]] || say "   warning: CPUs ${busy}% busy with other work before this round"
    echo "$busy" >>"$RES/busy.txt"
}

# --- warm-up ---------------------------------------------------------------------------------
read -r LOAD1 _ </proc/loadavg
say "== load average before the runs: $LOAD1 (2 cores shared by Dovecot, the peer and the poller)"
if [[ $WARMUP == 1 ]]; then
    say "== warm-up: page cache, then one untimed run of each peer (Dovecot builds its indexes)"
    find "$MAILDIR/cur" -type f -print0 | xargs -0 cat >/dev/null
    for peer in $PEERS; do
        run_peer "$peer" warmup >"$TMP/s" || die "warm-up of $peer failed"
        s=$(cat "$TMP/s")
        say "   $peer warm-up: $s s"
    done
fi

# --- timed runs ------------------------------------------------------------------------------
read -r -a ORDER <<<"$PEERS"
for ((r = 1; r <= RUNS; r++)); do
    settle
    for ((k = 0; k < ${#ORDER[@]}; k++)); do
        peer=${ORDER[$(((k + r - 1) % ${#ORDER[@]}))]}
        run_peer "$peer" "run$r" >"$TMP/s" || die "$peer run $r failed"
        s=$(cat "$TMP/s")
        say "   run $r: $peer $s s"
    done
done

if [[ $PROFILE == 1 ]]; then
    say "== PROFILE=1: one more mailfleet run under perf record -g"
    run_mailfleet profile perf >"$TMP/s" & # (perf: an argument run_peer does not pass)
    track $!
    wait $! || die "profiled run failed"
    s=$(cat "$TMP/s")
    say "   profiled run: $s s (slower than the others: perf overhead)"
    perf report -i "$RES/perf.data" --no-children --percent-limit 0.7 --stdio -g none 2>/dev/null \
        >"$RES/perf-self.txt" || true
    perf report -i "$RES/perf.data" --children --percent-limit 1.5 --stdio -g none 2>/dev/null \
        >"$RES/perf-inclusive.txt" || true
    perf report -i "$RES/perf.data" --no-children --sort dso --stdio 2>/dev/null \
        >"$RES/perf-dso.txt" || true
    say "   perf reports: perf-self.txt, perf-inclusive.txt, perf-dso.txt (in RESULTS_DIR when set)"
fi

# what was measured
{
    echo "binary: $BIN"
    echo "binary mtime: $(stat -c %y "$BIN")"
    echo "repo HEAD: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)"
    [[ ! -f $(dirname "$(dirname "$(dirname "$BIN")")")/HEAD ]] ||
        echo "patched copy of: $(cat "$(dirname "$(dirname "$(dirname "$BIN")")")/HEAD")"
    echo "mbsync: $(mbsync --version 2>/dev/null | head -n 1)"
    echo "node: $(node --version), imapflow $(node -p 'require("'"$HERE"'/node_modules/imapflow/package.json").version' 2>/dev/null)"
    echo "dovecot: $(dovecot --version 2>/dev/null)"
    echo "cpus: $(nproc), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
} >"$RES/versions.txt"
cat "$RES/versions.txt" >&2

# --- table -----------------------------------------------------------------------------------
python3 - "$RES" "$N" "$BYTES" "$RUNS" "$PEERS" "$BATCH" <<'PY'
import json, os, statistics, sys
res, n, nbytes, runs, peers, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].split(), sys.argv[6]
what = {
    "mailfleet": "parse+classify+store in SQLite (UID FETCH %s at a time)" % batch,
    "mbsync": "copy to Maildir, FSync no (1 pipelined FETCH per msg)",
    "imapflow": "fetch 7 headers + BODY[] and drop (1 FETCH)",
}
med = {}
rows = []
for p in peers:
    rr = []
    for r in range(1, runs + 1):
        with open(os.path.join(res, "%s-run%d.json" % (p, r))) as f:
            rr.append(json.load(f))
    secs = [x["seconds"] for x in rr]
    cpu = [x.get("cpu_seconds") for x in rr]
    m = statistics.median(secs)
    med[p] = m
    rss = max(x.get("hwm_kb") or x.get("max_rss_kb") or 0 for x in rr)
    rows.append((p, what[p], secs, m, n / m, nbytes / m / 1e6, statistics.median(cpu), rss))
print()
print("Backfill of %d messages (%.0f MB), medians of %d runs, plain IMAP on loopback" % (n, nbytes / 1e6, runs))
print("%-10s %-58s %-24s %9s %9s %7s %8s %9s" % ("peer", "what", "runs (s)", "median s", "msg/s", "MB/s", "CPU s", "peak RSS"))
for p, w, secs, m, rate, mbs, cpu, rss in rows:
    print("%-10s %-58s %-24s %9.2f %9.0f %7.1f %8.1f %7.0f MB" % (
        p, w, " ".join("%.2f" % s for s in secs), m, rate, mbs, cpu, rss / 1024))
if "mailfleet" in med and "mbsync" in med:
    ratio = med["mailfleet"] / med["mbsync"]
    print()
    print("ratio mailfleet/mbsync (time): %.2f  -> goal (import faster than mbsync without fsync): %s"
          % (ratio, "MET" if ratio < 1 else "MISSED (%.1fx slower)" % ratio))
if "mailfleet" in med and "imapflow" in med:
    print("ratio mailfleet/imapflow (time): %.2f" % (med["mailfleet"] / med["imapflow"]))
try:
    busy = open(os.path.join(res, "busy.txt")).read().split()
    print("CPU busy with other work before each round (%%): %s" % " ".join(busy))
except OSError:
    pass
summary = {"n": n, "bytes": nbytes, "runs": runs, "batch": batch, "medians_s": med}
with open(os.path.join(res, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
PY
