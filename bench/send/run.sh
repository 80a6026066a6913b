#!/usr/bin/env bash
# bench/send/run.sh — sending throughput of mailfleet against smtp-source and nodemailer.
#
# One smtp-sink (tests/lab/postfix.sh sink-start, started with -a: no AUTH announced) on a free
# loopback port receives, in the same run:
#
#   mailfleet e2e    `mailfleet serve` on a fresh SQLite database with MAILBOXES mailboxes whose
#                    SMTP server is the sink; COUNT messages of about SIZE bytes queued with
#                    POST /api/v1/messages from CLIENTS parallel keep-alive HTTP clients; timed
#                    from the first POST until the outbox holds COUNT rows with status 'sent'
#   mailfleet split  the same in two parts: queue-only (`mailfleet api`, no engine: POSTs only),
#                    then send-only (`mailfleet serve` started on that database: from its start
#                    until all are sent)
#   smtp-source      smtp-source -d -s SESSIONS -m COUNT -l SIZE   (Postfix's load generator)
#   nodemailer       one pooled transport, maxConnections SESSIONS (bench/send/nodemailer.mjs),
#                    as shipped (Nagle on) and with TCP_NODELAY (NODELAY=1)
#
# RUNS rounds, the order rotating each round; prints the medians (messages/s), mailfleet's
# ratios to smtp-source and nodemailer with the goals (>= 1.5x nodemailer, >= 0.7x smtp-source),
# peak memory (VmHWM of mailfleet from /proc/PID/status, /usr/bin/time -v "Maximum resident set
# size" for the others) and CPU seconds. Everything it starts is stopped by PID and its temp dir
# removed on exit. See bench/send/README.md.
#
# Knobs (environment): COUNT=20000 MAILBOXES=20 SIZE=5120 RUNS=3 CLIENTS=8 SESSIONS=20
#   NM_WINDOW=1000 (nodemailer: sendMail calls outstanding)  MAILFLEET_BIN=build/mailfleet
#   CLIENTS_LIST="" (e.g. "1 4 16": also time queue-only with these HTTP client counts)
#   SKIP="" (any of: e2e split source nodemailer)  BENCH_TIMEOUT=900 (s, per phase)
#   RESULTS_DIR=DIR (keep results and logs)  REQUIRE_IDLE=1 (wait for an idle machine)
#   PROFILE=1 (after the measured rounds: one e2e and one send-only round under perf record)
#   PERF_FREQ=149 (samples/s of that profile)  CALLEES="" (more functions to split by callee)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN_SRC=${MAILFLEET_BIN:-$ROOT/build/mailfleet}
COUNT=${COUNT:-20000}
MAILBOXES=${MAILBOXES:-20}
SIZE=${SIZE:-5120}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-8}
SESSIONS=${SESSIONS:-20}
NM_WINDOW=${NM_WINDOW:-1000}
CLIENTS_LIST=${CLIENTS_LIST:-}
SKIP=${SKIP:-}
RESULTS_DIR=${RESULTS_DIR:-}
PROFILE=${PROFILE:-0}
export BENCH_TIMEOUT=${BENCH_TIMEOUT:-900}
DRIVER=$HERE/driver.py

say() { printf '%s\n' "$*" >&2; }
die() {
    say "run.sh: $*"
    exit 1
}
skipped() { [[ " $SKIP " == *" $1 "* ]]; }

for tool in python3 node npm curl /usr/bin/time; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (Debian: apt-get install python3 nodejs npm curl time)"
done
[[ -x /usr/sbin/smtp-source && -x /usr/sbin/smtp-sink ]] || "$ROOT/tests/lab/postfix.sh" install
[[ $PROFILE != 1 ]] || command -v perf >/dev/null 2>&1 || die "PROFILE=1 needs perf (apt-get install linux-perf)"

# --- the binary and nodemailer ---------------------------------------------------------------
if [[ ! -x $BIN_SRC ]]; then
    say "== building mailfleet"
    (cd "$ROOT" && { [[ -f build/build.ninja ]] || meson setup build >&2; } && ninja -C build >&2) ||
        die "build failed"
fi
[[ -x $BIN_SRC ]] || die "no binary at $BIN_SRC"
if [[ ! -f $HERE/node_modules/nodemailer/package.json ]]; then
    say "== npm ci in bench/send (nodemailer)"
    (cd "$HERE" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
fi

# --- temp dir, processes, cleanup ------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mailfleet-send.XXXXXX")
chmod 755 "$TMP" # smtp-sink runs as nobody and the lab wants its DIR reachable
LAB=$TMP/lab
PIDS=() # mailfleet and perf processes still running
SINK_STARTED=0

stop_pid() { # PID [SIGNAL] — signal, wait up to 10 s, then SIGKILL
    local p=$1 sig=${2:-TERM} i
    kill -"$sig" "$p" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        say "run.sh: pid $p did not stop on SIG$sig; sending SIGKILL"
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if ((SINK_STARTED)); then "$ROOT/tests/lab/postfix.sh" sink-stop "$LAB" || true; fi
    if [[ -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        cp -r "$TMP/res" "$TMP/logs" "$RESULTS_DIR/" 2>/dev/null || true
        cp "$TMP"/*.perf.txt "$RESULTS_DIR/" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$TMP/res" "$TMP/logs"

cp "$BIN_SRC" "$TMP/mailfleet" # a rebuild of build/ during the runs does not change what is measured
BIN=$TMP/mailfleet
BIN_ID="$(sha1sum "$BIN" | cut -c1-12), built $(date -u -r "$BIN_SRC" '+%Y-%m-%d %H:%M UTC')"
GIT_ID=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo "?")
if (cd "$ROOT" && ! git diff --quiet HEAD -- src 2>/dev/null); then GIT_ID="$GIT_ID + uncommitted changes in src/"; fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }

# --- machine load ----------------------------------------------------------------------------
machine_ticks() { # → "busy total" ticks of all CPUs
    awk '/^cpu /{busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9}' /proc/stat
}
busy_pct() {
    local a b
    a=$(machine_ticks)
    sleep 2
    b=$(machine_ticks)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
        printf "%.0f\n", (d > 0) ? 100 * (y[1] - x[1]) / d : 0 }'
}
WAITED=0
wait_idle() { # REQUIRE_IDLE=1: wait (30 min at most) until the machine is <= 10 % busy
    local b
    b=$(busy_pct)
    while ((b > 10)) && [[ ${REQUIRE_IDLE:-0} == 1 ]] && ((WAITED < 1800)); do
        if ((WAITED % 60 == 0)); then
            say "   machine ${b}% busy with other work; waiting (REQUIRE_IDLE=1). Top CPU users:"
            ps -eo pcpu,pid,etime,comm --sort=-pcpu | sed -n '2,4p' | sed 's/^/      /' >&2
        fi
        sleep 8
        WAITED=$((WAITED + 10))
        b=$(busy_pct)
    done
    echo "$b"
}
cpu_ticks() { # PID... → summed user+system ticks (all threads)
    local p t=0 v
    for p in "$@"; do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
TICK=$(getconf CLK_TCK)

# phase_begin / phase_end PIDS... — CPU of the given processes and of the machine over a phase.
# phase_end prints JSON fields: cpu_s (the given processes) machine_busy_pct
phase_begin() {
    PH_M=$(machine_ticks)
    PH_C=$(cpu_ticks "$@")
}
phase_end() {
    local m c
    m=$(machine_ticks)
    c=$(cpu_ticks "$@")
    awk -v a="$PH_M" -v b="$m" -v c0="$PH_C" -v c1="$c" -v hz="$TICK" -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
        split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
        printf "\"cpu_s\": %.2f, \"machine_busy_pct\": %.0f, \"load1\": %s", (c1 - c0) / hz,
            (d > 0) ? 100 * (y[1] - x[1]) / d : 0, l }'
}

# --- the sink ----------------------------------------------------------------------------------
SINK_PORT=$(free_port)
LAB_SINK_OPTS="-a ${LAB_SINK_OPTS:-}" "$ROOT/tests/lab/postfix.sh" sink-start "$LAB" "$SINK_PORT" >/dev/null ||
    die "smtp-sink did not start"
SINK_STARTED=1
SINK_PID=$(cat "$LAB/smtp-sink/pid")
sink_alive() { "$ROOT/tests/lab/postfix.sh" sink-status "$LAB" || die "smtp-sink $SINK_PID is gone"; }

python3 "$DRIVER" text "$SIZE" "$TMP/text.txt"

# --- mailfleet ---------------------------------------------------------------------------------
unset MAILFLEET_LISTEN MAILFLEET_KEY MAILFLEET_PUBLIC_URL MAILFLEET_CA_FILE \
    MAILFLEET_GENERIC_LOCAL_PARTS MAILFLEET_LOG_LEVEL MAILFLEET_SYSTEM_SMTP
export MAILFLEET_CONFIG=""

# mf_setup DIR — fresh database: org, user, token (sets ORG USER_ID TOKEN)
mf_setup() {
    local d=$1
    mkdir -p "$d"
    export MAILFLEET_DB="sqlite:$d/mf.db" MAILFLEET_KEY_FILE="$d/key"
    ORG=$("$BIN" org create Bench --mailbox-limit 100 --max-daily-limit 1000000 2>>"$d/setup.log") ||
        { cat "$d/setup.log" >&2; die "org create failed"; }
    USER_ID=$("$BIN" user create --email u@bench.test --name U --role user --org "$ORG" 2>>"$d/setup.log") ||
        { cat "$d/setup.log" >&2; die "user create failed"; }
    TOKEN=$("$BIN" token create --user u@bench.test 2>>"$d/setup.log") ||
        { cat "$d/setup.log" >&2; die "token create failed"; }
}
# mf_start MODE DIR LOGNAME — start `mailfleet MODE` on DIR's database (sets MF_PID MF_URL)
mf_start() {
    local mode=$1 d=$2 port i
    export MAILFLEET_DB="sqlite:$d/mf.db" MAILFLEET_KEY_FILE="$d/key"
    port=$(free_port)
    "$BIN" "$mode" --listen "127.0.0.1:$port" 2>>"$d/$3.log" &
    MF_PID=$!
    PIDS+=("$MF_PID")
    MF_URL="http://127.0.0.1:$port"
    for ((i = 0; i < 200; i++)); do
        kill -0 "$MF_PID" 2>/dev/null || { tail -20 "$d/$3.log" >&2; die "mailfleet $mode exited during start-up"; }
        curl -s -o /dev/null "$MF_URL/healthz" && return 0
        sleep 0.05
    done
    die "mailfleet $mode did not answer within 10 s"
}
mf_stop() {
    stop_pid "$MF_PID"
    forget_pid "$MF_PID"
}
# mf_mailboxes DIR — MAILBOXES mailboxes through the API (ids in DIR/mailboxes)
mf_mailboxes() {
    python3 "$DRIVER" mailboxes "$MF_URL" "$TOKEN" "$USER_ID" "$MAILBOXES" "$SINK_PORT" "$1/mailboxes" ||
        die "mailbox creation failed"
}
# wait until the engine has given every mailbox its first state (the dead IMAP port: error)
mf_settle() {
    local i
    for ((i = 0; i < 100; i++)); do
        curl -s -H "Authorization: Bearer $TOKEN" "$MF_URL/api/v1/mailboxes?limit=500" |
            grep -q '"status":"connecting"' || return 0
        sleep 0.1
    done
    say "   (some mailboxes still connecting after 10 s)"
}
log_problems() { # DIR → count of warn/error lines, other than the expected ones
    cat "$1"/*.log 2>/dev/null | grep -E ' (warn|error) ' |
        grep -vc -e 'system mail is not configured' -e 'is error: connection to 127.0.0.1:9' || true
}
raw_size() {
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); t="outbox_raw" if c.execute("SELECT 1 FROM sqlite_master WHERE name = ?", ("outbox_raw",)).fetchone() else "outbox"; print(int(c.execute("SELECT avg(length(raw)) FROM %s" % t).fetchone()[0]))' "$1/mf.db"
}

PERF_PID=
perf_start() { # NAME — perf record on MF_PID, if PROFILING (DWARF stacks: build/ has no frame pointers)
    [[ ${PROFILING:-0} == 1 ]] || return 0
    perf record -F "${PERF_FREQ:-149}" --call-graph dwarf,16384 -p "$MF_PID" -o "$TMP/$1.perf.data" \
        >"$TMP/logs/$1.perf.log" 2>&1 &
    PERF_PID=$!
    PIDS+=("$PERF_PID")
    sleep 0.5
}
perf_stop() { # NAME
    [[ -n $PERF_PID ]] || return 0
    stop_pid "$PERF_PID" INT
    forget_pid "$PERF_PID"
    PERF_PID=
    {
        echo "== perf, mailfleet during $1: share of all samples by thread (the engine and the SMTP worker are both \"mailfleet\")"
        perf report -i "$TMP/$1.perf.data" --no-children --sort pid --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' || true
        echo "== by shared object (self)"
        perf report -i "$TMP/$1.perf.data" --no-children --sort dso --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -10 || true
        echo "== top symbols (self)"
        perf report -i "$TMP/$1.perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -15 || true
        echo "== inclusive, split by direct callee"
        perf script -i "$TMP/$1.perf.data" 2>/dev/null |
            python3 "$HERE/callees.py" on_tick outbox_due send_one on_sent ingest_message on_request \
                ops_message_send sq_prepare ${CALLEES:-} || true
    } >"$TMP/$1.perf.txt"
    rm -f "$TMP/$1.perf.data"
}

run_e2e() { # ROUND
    local d=$TMP/mf-e2e-$1 out c1
    mf_setup "$d"
    mf_start serve "$d" serve
    mf_mailboxes "$d"
    mf_settle
    perf_start "e2e"
    phase_begin "$MF_PID"
    /usr/bin/time -f '%U %S %M' -o "$d/driver.time" \
        python3 "$DRIVER" queue "$MF_URL" "$TOKEN" "$d/mailboxes" "$TMP/text.txt" "$COUNT" "$CLIENTS" \
        "$d/mf.db" wait >"$d/out.json" || { grep -v " info " "$d/serve.log" | tail -60 >&2; die "mailfleet e2e failed"; }
    c1=$(phase_end "$MF_PID")
    perf_stop "e2e"
    out=$(cat "$d/out.json")
    printf '{"round": %s, "what": "e2e", "hwm_kb": %s, %s, "client_cpu_s": %s, "raw_bytes": %s, "log_problems": %s, %s\n' \
        "$1" "$(hwm_kb "$MF_PID")" "$c1" "$(awk '{print $1 + $2}' "$d/driver.time")" "$(raw_size "$d")" \
        "$(log_problems "$d")" "${out#\{}" >>"$TMP/res/results.jsonl"
    mf_stop
    cp "$d/serve.log" "$TMP/logs/e2e-$1.serve.log"
    rm -rf "$d"
}

run_split() { # ROUND
    local d=$TMP/mf-split-$1 out t c1 c2 hwm_api
    mf_setup "$d"
    mf_start api "$d" api
    mf_mailboxes "$d"
    phase_begin "$MF_PID"
    /usr/bin/time -f '%U %S %M' -o "$d/driver.time" \
        python3 "$DRIVER" queue "$MF_URL" "$TOKEN" "$d/mailboxes" "$TMP/text.txt" "$COUNT" "$CLIENTS" \
        "$d/mf.db" >"$d/queue.json" || { tail -5 "$d/api.log" >&2; die "mailfleet queue-only failed"; }
    c1=$(phase_end "$MF_PID")
    hwm_api=$(hwm_kb "$MF_PID")
    mf_stop
    out=$(cat "$d/queue.json")
    printf '{"round": %s, "what": "queue", "hwm_kb": %s, %s, "client_cpu_s": %s, %s\n' \
        "$1" "$hwm_api" "$c1" "$(awk '{print $1 + $2}' "$d/driver.time")" "${out#\{}" >>"$TMP/res/results.jsonl"
    # send-only: the whole backlog is in the outbox before the engine starts
    t=$(now)
    mf_start serve "$d" serve
    perf_start "send"
    phase_begin "$MF_PID"
    python3 "$DRIVER" wait "$d/mf.db" "$COUNT" "$t" >"$d/send.json" ||
        { tail -5 "$d/serve.log" >&2; die "mailfleet send-only failed"; }
    c2=$(phase_end "$MF_PID")
    perf_stop "send"
    out=$(cat "$d/send.json")
    printf '{"round": %s, "what": "send", "hwm_kb": %s, %s, "log_problems": %s, %s\n' \
        "$1" "$(hwm_kb "$MF_PID")" "$c2" "$(log_problems "$d")" "${out#\{}" >>"$TMP/res/results.jsonl"
    mf_stop
    cp "$d/api.log" "$TMP/logs/split-$1.api.log"
    cp "$d/serve.log" "$TMP/logs/split-$1.serve.log"
    rm -rf "$d"
}

run_clients() { # ROUND N — queue-only with N HTTP clients
    local d=$TMP/mf-clients-$2 out c1
    mf_setup "$d"
    mf_start api "$d" api
    mf_mailboxes "$d"
    phase_begin "$MF_PID"
    python3 "$DRIVER" queue "$MF_URL" "$TOKEN" "$d/mailboxes" "$TMP/text.txt" "$COUNT" "$2" \
        "$d/mf.db" >"$d/queue.json" || die "mailfleet queue-only ($2 clients) failed"
    c1=$(phase_end "$MF_PID")
    out=$(cat "$d/queue.json")
    printf '{"round": %s, "what": "queue-c%s", "clients": %s, %s, %s\n' "$1" "$2" "$2" "$c1" "${out#\{}" \
        >>"$TMP/res/results.jsonl"
    mf_stop
    rm -rf "$d"
}

# --- the references ------------------------------------------------------------------------------
run_source() { # ROUND
    local t0 t1 c1
    phase_begin "$SINK_PID"
    t0=$(now)
    /usr/bin/time -f '%U %S %M' -o "$TMP/source.time" timeout "$BENCH_TIMEOUT" \
        /usr/sbin/smtp-source -d -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -f from@bench.test \
        -t sink@bench.test "127.0.0.1:$SINK_PORT" >"$TMP/logs/source.out" 2>&1 ||
        { cat "$TMP/logs/source.out" >&2; die "smtp-source failed"; }
    t1=$(now)
    c1=$(phase_end "$SINK_PID")
    read -r u s m <"$TMP/source.time"
    printf '{"round": %s, "what": "smtp-source", "seconds": %s, "hwm_kb": %s, "client_cpu_s": %s, %s}\n' \
        "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" "$m" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}')" \
        "$c1" >>"$TMP/res/results.jsonl"
}

run_nodemailer() { # ROUND NODELAY(0|1)
    local name=nodemailer c1 out
    [[ $2 == 1 ]] && name=nodemailer-nodelay
    phase_begin "$SINK_PID"
    NODELAY=$2 /usr/bin/time -f '%U %S %M' -o "$TMP/nm.time" timeout "$BENCH_TIMEOUT" \
        node "$HERE/nodemailer.mjs" "$SINK_PORT" "$COUNT" "$SESSIONS" "$TMP/text.txt" "$NM_WINDOW" \
        >"$TMP/nm.json" 2>"$TMP/logs/$name.err" || { cat "$TMP/nm.json" "$TMP/logs/$name.err" >&2; die "$name failed"; }
    c1=$(phase_end "$SINK_PID")
    read -r u s m <"$TMP/nm.time"
    out=$(cat "$TMP/nm.json")
    printf '{"round": %s, "what": "%s", "hwm_kb": %s, "client_cpu_s": %s, %s, %s\n' \
        "$1" "$name" "$m" "$(awk -v u="$u" -v s="$s" 'BEGIN{print u + s}')" "$c1" "${out#\{}" \
        >>"$TMP/res/results.jsonl"
}

# --- the rounds ------------------------------------------------------------------------------------
STEPS=()
skipped e2e || STEPS+=(e2e)
skipped source || STEPS+=(source)
skipped nodemailer || STEPS+=(nodemailer)
skipped split || STEPS+=(split)
skipped nodemailer || STEPS+=(nodemailer-nodelay)
((${#STEPS[@]})) || die "SKIP leaves nothing to run"

say "== mailfleet $BIN_ID (git $GIT_ID)"
say "== $COUNT messages of ~$SIZE bytes, $MAILBOXES mailboxes, $CLIENTS HTTP clients; smtp-sink pid $SINK_PID on 127.0.0.1:$SINK_PORT; $RUNS rounds"
IDLE_BUSY=$(wait_idle)
if ((IDLE_BUSY > 10)); then
    say "run.sh: WARNING: the machine is ${IDLE_BUSY}% busy before the runs; the figures will be low. Top CPU users:"
    ps -eo pcpu,pid,etime,comm --sort=-pcpu | sed -n '1,6p' >&2
fi

for ((r = 1; r <= RUNS; r++)); do
    n=${#STEPS[@]}
    for ((k = 0; k < n; k++)); do
        step=${STEPS[$(((k + r - 1) % n))]}
        [[ ${REQUIRE_IDLE:-0} == 1 ]] && wait_idle >/dev/null
        sink_alive
        say "== round $r/$RUNS: $step"
        case $step in
        e2e) run_e2e "$r" ;;
        split) run_split "$r" ;;
        source) run_source "$r" ;;
        nodemailer) run_nodemailer "$r" 0 ;;
        nodemailer-nodelay) run_nodemailer "$r" 1 ;;
        esac
        tail -1 "$TMP/res/results.jsonl" | sed 's/^/   /' >&2
    done
done
for c in $CLIENTS_LIST; do
    say "== queue-only with $c HTTP clients"
    run_clients 1 "$c"
    tail -1 "$TMP/res/results.jsonl" | sed 's/^/   /' >&2
done
if [[ $PROFILE == 1 ]]; then
    PROFILING=1
    say "== profiling round (not in the medians): e2e and split under perf record --call-graph dwarf"
    run_e2e 0
    run_split 0
    PROFILING=0
fi
sink_alive

# --- the table ---------------------------------------------------------------------------------------
python3 - "$TMP/res/results.jsonl" "$COUNT" "$MAILBOXES" "$SIZE" "$CLIENTS" "$SESSIONS" "$RUNS" \
    "$BIN_ID" "$GIT_ID" "$IDLE_BUSY" <<'PY' | tee "$TMP/res/table.txt"
import json, statistics, sys
path, count, mboxes, size, clients, sessions, runs, bin_id, git_id, idle = sys.argv[1:]
count = int(count)
rows = [json.loads(l) for l in open(path)]
def pick(what):
    return [r for r in rows if r["what"] == what and r["round"] > 0]
def med(xs):
    return statistics.median(xs) if xs else float("nan")
def fmt_rate(x):
    return "%8.0f" % x if x == x else "       -"
res = {}
def add(name, what, seconds_key, label):
    rs = pick(what)
    if not rs:
        return
    rates = [count / r[seconds_key] for r in rs]
    res[name] = {
        "label": label, "rate": med(rates), "rates": rates,
        "hwm": med([r.get("hwm_kb", 0) for r in rs]) / 1024,
        "cpu": med([r["cpu_s"] for r in rs if "cpu_s" in r]) if any("cpu_s" in r for r in rs) else None,
        "client_cpu": med([r["client_cpu_s"] for r in rs if "client_cpu_s" in r]) if any("client_cpu_s" in r for r in rs) else None,
        "busy": med([r["machine_busy_pct"] for r in rs if "machine_busy_pct" in r]) if any("machine_busy_pct" in r for r in rs) else None,
        "load": med([r["load1"] for r in rs if "load1" in r]) if any("load1" in r for r in rs) else None,
        "rows": rs,
    }
add("e2e", "e2e", "total_s", "mailfleet e2e: first POST -> all sent")
add("queue", "queue", "queue_s", "mailfleet queue-only (api, no engine)")
add("send", "send", "send_s", "mailfleet send-only (serve start -> all sent)")
add("source", "smtp-source", "seconds", "smtp-source -d -s %s" % sessions)
add("nm", "nodemailer", "seconds", "nodemailer pool %s (as shipped)" % sessions)
add("nmnd", "nodemailer-nodelay", "seconds", "nodemailer pool %s + TCP_NODELAY" % sessions)
print()
print("mailfleet %s (git %s); %d messages, ~%s bytes, %s mailboxes, %s HTTP clients; medians of %s"
      % (bin_id, git_id, count, size, mboxes, clients, runs))
print("machine %s%% busy before the runs; 'busy' = whole machine during the phase (2 CPUs); "
      "'load' = 1-minute load average (uptime) at the end of the phase" % idle)
print()
print("| what | msg/s (median) | each round | peak RSS MB | CPU s (proc) | CPU s (client) | busy % | load |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for k in ("e2e", "queue", "send", "source", "nm", "nmnd"):
    if k not in res:
        continue
    v = res[k]
    cpu = "%.1f" % v["cpu"] if v["cpu"] is not None else "-"
    ccpu = "%.1f" % v["client_cpu"] if v["client_cpu"] is not None else "-"
    busy = "%.0f" % v["busy"] if v["busy"] is not None else "-"
    load = "%.1f" % v["load"] if v["load"] is not None else "-"
    print("| %s | %s | %s | %.0f | %s | %s | %s | %s |" % (v["label"], fmt_rate(v["rate"]).strip(),
          " ".join("%.0f" % x for x in v["rates"]), v["hwm"], cpu, ccpu, busy, load))
print()
print("CPU s (proc): mailfleet for the mailfleet rows, smtp-sink for the others; CPU s (client): the")
print("HTTP driver (python) / smtp-source / node. Peak RSS: mailfleet's VmHWM, else /usr/bin/time.")
if "e2e" in res:
    e = res["e2e"]["rows"]
    print("e2e detail (medians): queueing %.1f s (%.0f POST/s, p50 %.1f ms, p99 %.1f ms), %.0f sent by then, "
          "then %.1f s to drain; raw message %d bytes"
          % (med([r["queue_s"] for r in e]), count / med([r["queue_s"] for r in e]),
             med([r["post_p50_ms"] for r in e]), med([r["post_p99_ms"] for r in e]),
             med([r["sent_when_queued"] for r in e]), med([r["drain_s"] for r in e]),
             med([r["raw_bytes"] for r in e])))
    probs = sum(r.get("log_problems", 0) for r in e)
    if probs:
        print("WARNING: %d warn/error lines in the mailfleet logs" % probs)
print()
def ratio(a, b, goal, name):
    if a in res and b in res:
        x = res[a]["rate"] / res[b]["rate"]
        g = "" if goal is None else ("  goal >= %.1fx: %s" % (goal, "MET" if x >= goal else "MISSED"))
        print("%-44s %5.2fx%s" % (name, x, g))
ratio("e2e", "nm", 1.5, "mailfleet e2e / nodemailer (as shipped)")
ratio("e2e", "nmnd", 1.5, "mailfleet e2e / nodemailer (TCP_NODELAY)")
ratio("e2e", "source", 0.7, "mailfleet e2e / smtp-source")
ratio("send", "nm", None, "mailfleet send-only / nodemailer (as shipped)")
ratio("send", "nmnd", None, "mailfleet send-only / nodemailer (TCP_NODELAY)")
ratio("send", "source", None, "mailfleet send-only / smtp-source")
ratio("queue", "e2e", None, "mailfleet queue-only / e2e")
qc = sorted([r for r in rows if r["what"].startswith("queue-c")], key=lambda r: r["clients"])
if qc:
    print()
    print("queue-only by HTTP clients: " + ", ".join("%d: %.0f POST/s (p99 %.0f ms)"
          % (r["clients"], count / r["queue_s"], r["post_p99_ms"]) for r in qc))
PY
for f in e2e send; do
    if [[ -f $TMP/$f.perf.txt ]]; then
        echo
        cat "$TMP/$f.perf.txt"
    fi
done | tee -a "$TMP/res/table.txt"
