#!/usr/bin/env bash
# bench/assign/run.sh — new conversations arriving in shared mailboxes: ingest + round-robin
# assignment time, and GET /api/v1/inbox latency of one member while it runs (issue 5).
#
# Setup of every run (a new `mailfleet serve` on a new SQLite database): an org, an admin who
# owns MAILBOXES shared mailboxes team01..@example.test on a private lab Dovecot
# (tests/lab/dovecot.sh), POOL agents (users) of whom MEMBERS are `reply` members of each
# mailbox (POOL = MEMBERS, the default: one team of 20 works all 50 addresses), the rule
# round_robin with cap CAP (5,000: never reached here) — all through the API (bench/assign/mf.py
# setup). The INBOXes are empty when the mailboxes connect, so the 30-day backfill imports
# nothing; mail imported by a backfill is history and is never assigned (R21), so the measured
# mail must arrive afterwards, as new mail.
#
# Measure (mf.py measure): two closed-loop clients (latency.py, one keep-alive connection
# each, the member's token) run GET /api/v1/inbox?assignee=me and GET /api/v1/inbox (50 items,
# newest first) back to back; BEFORE seconds later the staged mail (bench/assign/gen.py: PER
# messages per mailbox, each a new customer conversation) is delivered into the Maildirs'
# new/ by hard links, interleaved across the mailboxes, as fast as possible (RATE=0) or at
# RATE messages/s. Dovecot tells the engine's IDLE sessions (EXISTS), the engine fetches
# `UID FETCH n:*`, parses, stores and round-robins each batch in one transaction. Timed from
# the start of delivery to the first poll (every 0.25 s, GET /api/v1/mailboxes?limit=500) at
# which sync.messages_imported adds up to MAILBOXES x PER; the clients run AFTER seconds more.
# Then serve is stopped and the database checked directly: N conversations, N assigned (0 with
# MODES=manual), assignments per member and mailbox (min/max).
#
# Prints per mode the medians of RUNS runs: seconds, conversations/s, and p50/p99/max of both
# clients during the ingest (and p99 after it, on the full database, nothing arriving).
#
# Knobs (environment):
#   MAILBOXES=50 PER=2000 MEMBERS=20 POOL=20 CAP=5000 RUNS=3 MODES="round_robin"
#     (MODES="round_robin manual": the same runs without assignment, the cost of assignment)
#   RATE=0 SEED=1 BEFORE=3 AFTER=10 RUN_TIMEOUT=1800
#   CLIENTS=0: no latency clients, the ingest alone (the clients' requests take CPU from the
#     ingest on a small machine; this shows how much, and the cost of assignment by itself)
#   LAB_DIR=/tmp/mf-bench-assign/lab BASEPORT=24370 (Dovecot: BASEPORT..BASEPORT+3)
#   KEEP_LAB=0 (1: leave the lab Dovecot running)  MAILFLEET_BIN=build-release/mailfleet
#   RESULTS_DIR=DIR (keep the raw JSON, latency samples, logs; with KEEP_DB=1 also the
#     database of the last run, for EXPLAIN QUERY PLAN)
#   REQUIRE_IDLE=1 (before each run wait, up to 30 min, until the CPUs are < 15 % busy)
#   PROFILE=1 (perf record of `mailfleet serve` during each measure, RESULTS_DIR/MODE-runN/
#     perf.data; PERF_CALLGRAPH=dwarf,16384 PERF_FREQ=199; the figures of such runs are slower)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
MAILBOXES=${MAILBOXES:-50}
PER=${PER:-2000}
MEMBERS=${MEMBERS:-20}
POOL=${POOL:-$MEMBERS}
CAP=${CAP:-5000}
RUNS=${RUNS:-3}
MODES=${MODES:-round_robin}
RATE=${RATE:-0}
SEED=${SEED:-1}
RUN_TIMEOUT=${RUN_TIMEOUT:-1800}
LAB_DIR=${LAB_DIR:-/tmp/mf-bench-assign/lab}
BASEPORT=${BASEPORT:-24370}
KEEP_LAB=${KEEP_LAB:-0}
KEEP_DB=${KEEP_DB:-0}
BIN=$(realpath -m "${MAILFLEET_BIN:-$ROOT/build-release/mailfleet}") # absolute: serve runs in its own directory
RESULTS_DIR=${RESULTS_DIR:-}
export BEFORE=${BEFORE:-3} AFTER=${AFTER:-10} CLIENTS=${CLIENTS:-1}
N=$((MAILBOXES * PER))
PASSWORD=bench-assign-pw
LAB=$ROOT/tests/lab/dovecot.sh

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (the lab Dovecot needs it)"
case $LAB_DIR in /tmp/*) ;; *) die "LAB_DIR must be under /tmp" ;; esac
((MAILBOXES >= 1 && MAILBOXES <= 99)) || die "MAILBOXES must be 1..99"
for tool in python3 curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
for m in $MODES; do
    case $m in round_robin | manual) ;; *) die "MODES: round_robin and/or manual, not '$m'" ;; esac
done

# --- release build ---------------------------------------------------------------------------
if [[ ! -x $BIN && $BIN == "$ROOT/build-release/mailfleet" ]]; then
    say "== building a release mailfleet in build-release"
    (
        cd "$ROOT"
        [[ -f build-release/build.ninja ]] || meson setup build-release --buildtype=release -Dwerror=false >&2
        ninja -C build-release mailfleet >&2
    ) || die "release build failed"
fi
[[ -x $BIN ]] || die "no mailfleet binary at $BIN"

# --- temp dir, processes, cleanup (as bench/sync/run.sh) -------------------------------------
TMP=$(mktemp -d /tmp/mf-bench-assign-run.XXXXXX)
chmod 755 "$TMP"
RES=$TMP/res
mkdir -p "$RES"
LAB_STARTED=0
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
        cp -r "$RES/." "$RESULTS_DIR/" 2>/dev/null || true
    fi
    if [[ $LAB_STARTED == 1 && $KEEP_LAB != 1 ]]; then "$LAB" stop "$LAB_DIR" || true; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# mailfleet reads only the config file each run writes: no MAILFLEET_* from the caller.
while IFS='=' read -r name _; do
    case $name in MAILFLEET_*) unset "$name" ;; esac
done < <(env)

# --- lab and data ----------------------------------------------------------------------------
mkdir -p "$LAB_DIR"
for ((i = 1; i <= MAILBOXES; i++)); do printf 'team%02d@example.test:%s\n' "$i" "$PASSWORD"; done >"$TMP/users"
"$LAB" status "$LAB_DIR" 2>/dev/null || LAB_STARTED=1
LINE=$("$LAB" start "$LAB_DIR" "$BASEPORT" "$TMP/users") || die "lab Dovecot did not start"
eval "$LINE"
say "== lab Dovecot in $LAB_DIR: IMAP 127.0.0.1:$IMAP_PORT, $MAILBOXES users"
INOTIFY=$(cat /proc/sys/fs/inotify/max_user_instances)
say "== fs.inotify.max_user_instances = $INOTIFY (Dovecot's IDLE needs one per session; without, it polls every 5 s)"
GEN=(python3 "$HERE/gen.py" --lab "$LAB_DIR" --mailboxes "$MAILBOXES" --per "$PER" --seed "$SEED")
"${GEN[@]}" stage || die "gen.py stage failed"
cp "$LAB_DIR/stage/STAMP.json" "$RES/gen.json"

# Share of the CPUs busy over 2 s; with REQUIRE_IDLE=1 wait (up to 30 min) for < 15 %.
cpu_busy() {
    local a b
    a=$(awk '/^cpu /{ print $2+$3+$4+$7+$8, $5+$6 }' /proc/stat)
    sleep 2
    b=$(awk '/^cpu /{ print $2+$3+$4+$7+$8, $5+$6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; idle = y[2] - x[2]; printf "%d", 100 * busy / (busy + idle + 0.001) }'
}
settle() {
    local busy waited=0
    busy=$(cpu_busy)
    while [[ ${REQUIRE_IDLE:-0} == 1 && $busy -ge 15 && $waited -lt 1800 ]]; do
        say "   CPUs ${busy}% busy with other work; waiting (REQUIRE_IDLE=1)"
        sleep 10
        waited=$((waited + 12))
        busy=$(cpu_busy)
    done
    echo "$busy"
}

# --- one run ---------------------------------------------------------------------------------
run_one() { # MODE LABEL -> $RES/MODE-LABEL.json
    local mode=$1 label=$2 d=$TMP/mf-$1-$2 port pid admin admin_tok setup busy load0 load1 rc=0
    "${GEN[@]}" clear || die "gen.py clear failed"
    mkdir -p "$d"
    cat >"$d/mailfleet.conf" <<EOF
# bench/assign/run.sh
db = sqlite:$d/mf.db
key_file = $d/key
backfill_days = 30
log_level = info
EOF
    (
        cd "$d"
        org=$("$BIN" --config "$d/mailfleet.conf" org create Bench --mailbox-limit 5000 2>>"$d/setup.log")
        user=$("$BIN" --config "$d/mailfleet.conf" user create --email admin@bench.test --name Admin \
            --role admin --org "$org" 2>>"$d/setup.log")
        token=$("$BIN" --config "$d/mailfleet.conf" token create --user admin@bench.test 2>>"$d/setup.log")
        printf '%s %s\n' "$user" "$token" >"$d/ids"
    ) || { cat "$d/setup.log" >&2; die "org/admin setup failed"; }
    read -r admin admin_tok <"$d/ids"
    port=$(free_port)
    (
        cd "$d"
        exec "$BIN" --config "$d/mailfleet.conf" serve --listen "127.0.0.1:$port" 2>"$d/serve.log"
    ) &
    pid=$!
    track "$pid"
    for ((i = 0; i < 100; i++)); do
        curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/healthz" && break
        kill -0 "$pid" 2>/dev/null || { cat "$d/serve.log" >&2; die "serve died"; }
        sleep 0.1
    done
    setup=$(python3 "$HERE/mf.py" setup "http://127.0.0.1:$port" "$admin_tok" "$admin" "$MAILBOXES" \
        "$MEMBERS" "$POOL" "$mode" "$CAP" "$PASSWORD" \
        "{\"host\":\"127.0.0.1\",\"port\":$IMAP_PORT,\"security\":\"none\"}" 300) ||
        { tail -n 20 "$d/serve.log" >&2; die "setup failed ($mode $label)"; }
    busy=$(settle)
    read -r load0 _ </proc/loadavg
    say "   $mode $label: $MAILBOXES mailboxes good; machine ${busy}% busy, load $load0; delivering $N messages"
    local member_tok
    member_tok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["member_token"])' "$setup")
    mkdir -p "$RES/$mode-$label"
    python3 "$HERE/mf.py" measure "http://127.0.0.1:$port" "$admin_tok" "$member_tok" "$N" \
        "$RUN_TIMEOUT" "$RES/$mode-$label" "$pid" -- "${GEN[@]}" deliver --rate "$RATE" \
        >"$TMP/measure.json" &
    local mp=$! perf_pid=''
    track "$mp"
    if [[ ${PROFILE:-0} == 1 ]]; then
        perf record -q --call-graph "${PERF_CALLGRAPH:-dwarf,16384}" -F "${PERF_FREQ:-199}" -p "$pid" \
            -o "$RES/$mode-$label/perf.data" 2>"$RES/$mode-$label/perf-record.log" &
        perf_pid=$!
        track "$perf_pid"
    fi
    wait "$mp" || rc=$?
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
    fi
    read -r load1 _ </proc/loadavg
    stop_pid "$pid"
    cp "$d/serve.log" "$RES/$mode-$label/serve.log" 2>/dev/null || true
    [[ $rc == 0 ]] || { tail -n 20 "$d/serve.log" >&2; die "measure failed ($mode $label)"; }
    # the database after the run: every conversation there and (round-robin) assigned, evenly
    python3 - "$d/mf.db" "$TMP/measure.json" "$setup" "$busy" "$load0" "$load1" "$mode" \
        >"$RES/$mode-$label.json" <<'PY'
import json, sqlite3, sys
db, meas, setup = sys.argv[1], json.load(open(sys.argv[2])), json.loads(sys.argv[3])
c = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
q = lambda s, *a: c.execute(s, a).fetchall()
per_pair = [r[0] for r in q("SELECT COUNT(*) FROM conversations WHERE assignee_id IS NOT NULL "
                            "GROUP BY mailbox_id, assignee_id")]
per_user = [r[0] for r in q("SELECT COUNT(*) FROM conversations WHERE assignee_id IS NOT NULL "
                            "GROUP BY assignee_id")]
meas.update(
    mode=sys.argv[7], busy_before_pct=int(sys.argv[4]), load_before=float(sys.argv[5]),
    load_after=float(sys.argv[6]), setup_seconds=setup["setup_seconds"],
    sync_seconds=setup["sync_seconds"],
    db_conversations=q("SELECT COUNT(*) FROM conversations")[0][0],
    db_messages=q("SELECT COUNT(*) FROM messages")[0][0],
    db_assigned=q("SELECT COUNT(*) FROM conversations WHERE assignee_id IS NOT NULL")[0][0],
    db_open=q("SELECT COUNT(*) FROM conversations WHERE status = 'open' AND opened_at IS NOT NULL")[0][0],
    per_member_mailbox=[min(per_pair), max(per_pair)] if per_pair else None,
    per_member=[min(per_user), max(per_user)] if per_user else None,
    member_assigned=q("SELECT COUNT(*) FROM conversations WHERE assignee_id = ?",
                      setup["member_id"])[0][0])
print(json.dumps(meas))
PY
    if [[ $KEEP_DB == 1 && -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
            "$d/mf.db" "$RESULTS_DIR/$mode-$label.db"
    fi
    rm -rf "$d"
    python3 - "$RES/$mode-$label.json" <<'PY' >&2
import json, sys
r = json.load(open(sys.argv[1]))
L = r["latency"]
print("   %s: %d conversations in %.2f s (%.0f/s; first after %.2f s, delivered in %.2f s), "
      "%d assigned (per member and mailbox %s), serve CPU %.1f s, machine %.0f%% busy, load %.1f -> %.1f"
      % (r["mode"], r["db_conversations"], r["seconds"], r["conversations_per_second"],
         r["first_seconds"], r["delivered_seconds"], r["db_assigned"], r["per_member_mailbox"],
         r["serve_cpu_seconds"], r["machine_busy_pct"], r["load_before"], r["load_after"]))
for k, v in L.items():
    d, a = v["during"], v["after"]
    print("     %-18s during: %5d req, p50 %7.2f ms, p99 %7.2f ms, max %7.2f ms, errors %d | after: p99 %.2f ms"
          % (k, d["requests"], d.get("p50_ms", 0), d.get("p99_ms", 0), d.get("max_ms", 0),
             d["errors"], a.get("p99_ms", 0)))
PY
}

say "== $N conversations = $MAILBOXES shared mailboxes x $PER, $MEMBERS members each (pool $POOL), cap $CAP; modes: $MODES; $RUNS run(s) each"
say "== uptime before: $(uptime)"
uptime >"$RES/uptime-before.txt"
for ((r = 1; r <= RUNS; r++)); do
    for mode in $MODES; do run_one "$mode" "run$r"; done
done
uptime >"$RES/uptime-after.txt"
say "== uptime after: $(uptime)"
{
    echo "binary: $BIN ($(stat -c %y "$BIN"))"
    echo "repo HEAD: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | grep -q . && echo ' (src modified)')"
    echo "dovecot: $(dovecot --version 2>/dev/null)"
    echo "cpus: $(nproc), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
} >"$RES/versions.txt"
cat "$RES/versions.txt" >&2

# --- table -----------------------------------------------------------------------------------
python3 - "$RES" "$RUNS" "$MODES" "$N" "$MAILBOXES" "$PER" "$MEMBERS" "$POOL" "$CAP" "$RATE" <<'PY'
import json, os, statistics, sys
res, runs, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
n, mbx, per, members, pool, cap, rate = sys.argv[4:11]
med = statistics.median
print()
print("bench/assign: %s conversations (%s shared mailboxes x %s), %s members each (pool %s), "
      "cap %s, delivery %s; medians of %d run(s)%s" % (n, mbx, per, members, pool, cap,
      "burst" if float(rate) == 0 else "%s msg/s" % rate, runs,
      "" if os.environ.get("CLIENTS", "1") != "0" else "; no latency clients (CLIENTS=0)"))
for mode in modes:
    rr = [json.load(open(os.path.join(res, "%s-run%d.json" % (mode, r)))) for r in range(1, runs + 1)]
    secs = [r["seconds"] for r in rr]
    print()
    print("mode %-12s runs (s): %-28s median %.2f s = %.0f conversations/s; assigned %s of %s; "
          "serve CPU %.1f s; machine busy %s %%; load before %s"
          % (mode, " ".join("%.2f" % s for s in secs), med(secs), int(n) / med(secs),
             "/".join(str(r["db_assigned"]) for r in rr), "/".join(str(r["db_conversations"]) for r in rr),
             med(r["serve_cpu_seconds"] for r in rr), " ".join("%.0f" % r["machine_busy_pct"] for r in rr),
             " ".join("%.1f" % r["load_before"] for r in rr)))
    for k in rr[0]["latency"]:
        d = [r["latency"][k]["during"] for r in rr]
        a = [r["latency"][k]["after"] for r in rr]
        print("  GET %-22s during: req %-6d p50 %7.2f  p90 %7.2f  p99 %7.2f  max %8.2f ms (p99 runs: %s)  errors %d"
              " | after: p50 %.2f p99 %.2f ms"
              % ({"inbox_all": "/inbox", "inbox_assignee_me": "/inbox?assignee=me"}[k],
                 med(x["requests"] for x in d), med(x["p50_ms"] for x in d), med(x["p90_ms"] for x in d),
                 med(x["p99_ms"] for x in d), med(x["max_ms"] for x in d),
                 " ".join("%.1f" % x["p99_ms"] for x in d), sum(x["errors"] for x in d),
                 med(x["p50_ms"] for x in a), med(x["p99_ms"] for x in a)))
PY
