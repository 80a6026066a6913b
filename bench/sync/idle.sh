#!/usr/bin/env bash
# bench/sync/idle.sh — resident memory per idle IMAP session: mailfleet against imapflow.
#
# A private lab Dovecot (tests/lab/dovecot.sh) with SESSIONS users (i0001@example.test ...,
# empty mailboxes). For each MODE (plain: IMAP on BASEPORT, no TLS; tls: implicit TLS on
# BASEPORT+1, the lab CA trusted):
#
#   mailfleet  a new `mailfleet serve` (release build) on a new SQLite database: one org
#              (--mailbox-limit 5000), one user holding every mailbox. Baseline = VmRSS with zero
#              mailboxes (after a few API requests and 3 s of rest). Then SESSIONS mailboxes are
#              added with POST /api/v1/mailboxes; once all are status "good" with
#              sync.backfill_done (each then sits in IDLE on INBOX), and the process holds
#              SESSIONS established connections to Dovecot, VmRSS is sampled once a second for
#              HOLD seconds. KB per idle session = (median sample - baseline) / SESSIONS.
#   imapflow   bench/sync/idle.mjs: one Node.js process, SESSIONS ImapFlow clients each in IDLE on
#              INBOX; the same arithmetic on its own VmRSS (after forced GCs).
#
# Goals (the issue): mailfleet <= 15 KB per idle plain session, <= 30 KB per TLS session.
# Raises fs.inotify.max_user_instances (Dovecot's IDLE uses one inotify instance per imap
# process, all under uid nobody; restored on exit) and the fd limit. Every process it starts
# is stopped by PID; its temp dir is removed; the lab (users, Maildirs) stays in LAB_DIR.
#
# Knobs: SESSIONS=2000 MODES="plain tls" PEERS="mailfleet imapflow" HOLD=15 (seconds)
#   BASEPORT=24320 LAB_DIR=/tmp/mf-bench-idle/lab KEEP_LAB=0 MAILFLEET_BIN=build-release/mailfleet
#   RESULTS_DIR=DIR  MASSIF=1 (run mailfleet under valgrind massif: heap by allocation site in
#     RESULTS_DIR/massif-mailfleet-MODE.out; its RSS figures are then valgrind's, not mailfleet's)
#   TRIM_PROBE=1 (after the samples, call malloc_trim(0) inside mailfleet through gdb and measure
#     again: shows how much of the resident memory is free heap that glibc keeps; diagnostic only)
#   SMAPS=1 (save /proc/PID/smaps of mailfleet at baseline and at idle in RESULTS_DIR)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SESSIONS=${SESSIONS:-2000}
MODES=${MODES:-plain tls}
PEERS=${PEERS:-mailfleet imapflow}
HOLD=${HOLD:-15}
BASEPORT=${BASEPORT:-24320}
LAB_DIR=${LAB_DIR:-/tmp/mf-bench-idle/lab}
KEEP_LAB=${KEEP_LAB:-0}
BIN=${MAILFLEET_BIN:-$ROOT/build-release/mailfleet}
RESULTS_DIR=${RESULTS_DIR:-}
LAB=$ROOT/tests/lab/dovecot.sh
WAIT_TIMEOUT=${WAIT_TIMEOUT:-900}

say() { printf '%s\n' "$*" >&2; }
die() { say "idle.sh: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "run as root (the lab Dovecot needs it)"
case $LAB_DIR in /tmp/*) ;; *) die "LAB_DIR must be under /tmp" ;; esac
for tool in python3 curl node ss; do command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"; done
if [[ $PEERS == *imapflow* && ! -d $HERE/node_modules/imapflow ]]; then
    (cd "$HERE" && npm ci --no-audit --no-fund >&2) || die "npm ci failed"
fi
[[ -x $BIN ]] || die "no mailfleet binary at $BIN (see bench/sync/run.sh for the release build)"
[[ ${MASSIF:-0} != 1 ]] || command -v valgrind >/dev/null 2>&1 || die "MASSIF=1 needs valgrind"

while IFS='=' read -r name _; do
    case $name in MAILFLEET_*) unset "$name" ;; esac
done < <(env)

# --- temp dir, processes, cleanup (as in run.sh) ---------------------------------------------
TMP=$(mktemp -d /tmp/mf-bench-idle-run.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/res"
RES=$TMP/res
PIDFILE=$TMP/pids
: >"$PIDFILE"
LAB_STARTED=0
INOTIFY_OLD=$(cat /proc/sys/fs/inotify/max_user_instances)
# shellcheck source=bench/lib/procs.sh
. "$ROOT/bench/lib/procs.sh" # starttime track descendants stop_pid
cleanup() {
    local rc=$? p st tree
    trap - EXIT INT TERM
    while read -r p st; do
        [[ -n $p && $(starttime "$p") == "$st" ]] || continue
        tree="$p $(descendants "$p")"
        for p in $tree; do stop_pid "$p" 30; done
    done < <(tac "$PIDFILE")
    if [[ -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        cp -r "$RES/." "$RESULTS_DIR/" 2>/dev/null || true
    fi
    if [[ $LAB_STARTED == 1 && $KEEP_LAB != 1 ]]; then "$LAB" stop "$LAB_DIR" || true; fi
    echo "$INOTIFY_OLD" >/proc/sys/fs/inotify/max_user_instances 2>/dev/null || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# --- limits ----------------------------------------------------------------------------------
NOTES=()
want=$((2 * SESSIONS + 512))
if [[ $INOTIFY_OLD -lt $want ]]; then
    if echo "$want" >/proc/sys/fs/inotify/max_user_instances 2>/dev/null; then
        NOTES+=("fs.inotify.max_user_instances raised from $INOTIFY_OLD to $want (restored on exit)")
    else
        NOTES+=("could NOT raise fs.inotify.max_user_instances ($INOTIFY_OLD): Dovecot falls back to polling past that many IDLE sessions")
    fi
fi
hard=$(ulimit -Hn)
need=$((SESSIONS + 1024))
if [[ $hard != unlimited && $hard -lt $need ]]; then
    ulimit -Hn "$need" 2>/dev/null || NOTES+=("could NOT raise the hard fd limit ($hard) to $need")
    hard=$(ulimit -Hn)
fi
ulimit -n "$hard" 2>/dev/null || true
NOTES+=("fd limit (ulimit -n) $(ulimit -n)")
for n in "${NOTES[@]}"; do say "== $n"; done

# --- lab with SESSIONS users -----------------------------------------------------------------
USERS=$LAB_DIR/../idle-users-$SESSIONS.txt
mkdir -p "$LAB_DIR"
if [[ ! -s $USERS ]]; then
    for ((i = 1; i <= SESSIONS; i++)); do printf 'i%04d@example.test:idle-pw-%04d\n' "$i" "$i"; done >"$USERS.tmp"
    mv "$USERS.tmp" "$USERS"
fi
"$LAB" status "$LAB_DIR" 2>/dev/null || LAB_STARTED=1
# The lab adds users one by one (a few seconds per 100); skip it when they are all there.
marker=$LAB_DIR/.idle-users-$SESSIONS
if [[ -f $marker ]]; then
    LINE=$(LAB_MAX_CLIENTS=$((SESSIONS + 1000)) "$LAB" start "$LAB_DIR" "$BASEPORT") || die "lab did not start"
else
    say "== lab Dovecot in $LAB_DIR: adding $SESSIONS users (once)"
    t0=$(date +%s)
    LINE=$(LAB_MAX_CLIENTS=$((SESSIONS + 1000)) "$LAB" start "$LAB_DIR" "$BASEPORT" "$USERS") || die "lab did not start"
    touch "$marker"
    say "   users added in $(($(date +%s) - t0)) s"
fi
eval "$LINE"
: "${IMAP_PORT:?}" "${IMAPS_PORT:?}" "${CA_FILE:?}"
say "== lab Dovecot: IMAP 127.0.0.1:$IMAP_PORT, IMAPS 127.0.0.1:$IMAPS_PORT (LAB_MAX_CLIENTS=$((SESSIONS + 1000)))"
dovecot_imap_count() { # imap processes of this lab (its instance name in the process title)
    local inst
    inst=$(awk -F' = ' '$1 == "instance_name" { print $2 }' "$LAB_DIR/dovecot/dovecot.conf")
    pgrep -c -f -- "$inst/imap( |\$)" || true
}
wait_dovecot_quiet() { # until its imap processes are gone (the previous phase's sessions), max 60 s
    local i
    for ((i = 0; i < 60; i++)); do
        [[ $(dovecot_imap_count) -le 0 ]] && return 0
        sleep 1
    done
    say "   note: $(dovecot_imap_count) Dovecot imap processes still there after 60 s"
}

# --- mailfleet -------------------------------------------------------------------------------
established_to() { # PID PORT: established TCP connections of PID to 127.0.0.1:PORT
    ss -Htnp state established "( dport = :$2 )" 2>/dev/null | grep -c "pid=$1," || true
}

run_mailfleet() { # MODE
    local mode=$1 d=$TMP/mf-$1 port pid user token sec imap_port api i
    mkdir -p "$d"
    if [[ $mode == tls ]]; then sec=tls; imap_port=$IMAPS_PORT; else sec=none; imap_port=$IMAP_PORT; fi
    cat >"$d/mailfleet.conf" <<EOF
# bench/sync/idle.sh
db = sqlite:$d/mf.db
key_file = $d/key
ca_file = $CA_FILE
log_level = warn
EOF
    (
        cd "$d"
        org=$("$BIN" --config "$d/mailfleet.conf" org create Idle --mailbox-limit 5000)
        u=$("$BIN" --config "$d/mailfleet.conf" user create --email u@bench.test --name U --role user --org "$org")
        t=$("$BIN" --config "$d/mailfleet.conf" token create --user u@bench.test)
        printf '%s %s\n' "$u" "$t" >"$d/ids"
    ) 2>>"$d/setup.log" || { cat "$d/setup.log" >&2; return 1; }
    read -r user token <"$d/ids"
    port=$(free_port)
    api=http://127.0.0.1:$port
    local massif=()
    if [[ ${MASSIF:-0} == 1 ]]; then
        massif=(valgrind --tool=massif --pages-as-heap=no --depth=40 --threshold=0.5
            --massif-out-file="$RES/massif-mailfleet-$mode.out")
    fi
    (
        cd "$d"
        exec "${massif[@]}" "$BIN" --config "$d/mailfleet.conf" serve --listen "127.0.0.1:$port" 2>"$d/serve.log"
    ) &
    pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        curl -s -o /dev/null "$api/api/v1/healthz" && break
        kill -0 "$pid" 2>/dev/null || { cat "$d/serve.log" >&2; return 1; }
        sleep 0.1
    done
    # warm the HTTP side the same way the adds will use it, then rest
    for ((i = 0; i < 20; i++)); do
        curl -s -o /dev/null -H "Authorization: Bearer $token" "$api/api/v1/mailboxes?limit=500"
    done
    sleep 3
    local base
    base=$(for i in 1 2 3; do status_kb "$pid" VmRSS; sleep 1; done | median)
    [[ ${SMAPS:-0} != 1 ]] || cp "/proc/$pid/smaps" "$RES/smaps-mailfleet-$mode-base.txt"
    say "   mailfleet $mode: pid $pid, baseline VmRSS $base KB; adding $SESSIONS mailboxes"
    # one keep-alive HTTP connection for the adds and the polling (see mf.py add-and-wait)
    python3 "$HERE/mf.py" add-and-wait "$api" "$token" "$user" "$USERS" \
        "{\"host\":\"127.0.0.1\",\"port\":$imap_port,\"security\":\"$sec\"}" "$WAIT_TIMEOUT" \
        >"$d/wait.json" || { cat "$d/wait.json" >&2; tail -n 20 "$d/serve.log" >&2; return 1; }
    # every session holds its connection (in IDLE on INBOX right after its round)
    local est=0
    for ((i = 0; i < 60; i++)); do
        est=$(established_to "$pid" "$imap_port")
        [[ $est -ge $SESSIONS ]] && break
        sleep 1
    done
    sleep 5
    local samples=() s
    for ((i = 0; i < HOLD; i++)); do
        samples+=("$(status_kb "$pid" VmRSS)")
        sleep 1
    done
    est=$(established_to "$pid" "$imap_port")
    s=$(printf '%s\n' "${samples[@]}" | median)
    [[ ${SMAPS:-0} != 1 ]] || cp "/proc/$pid/smaps" "$RES/smaps-mailfleet-$mode-idle.txt"
    # TRIM_PROBE=1: how much of that is free memory malloc keeps (fragmentation)? Ask glibc to
    # give back every free page (malloc_trim(0) in the process, through gdb), measure again.
    local trimmed=0
    if [[ ${TRIM_PROBE:-0} == 1 ]]; then
        gdb -p "$pid" -batch -ex 'call (int) malloc_trim(0)' >"$d/gdb.log" 2>&1 || true
        sleep 2
        trimmed=$(status_kb "$pid" VmRSS)
        say "   mailfleet $mode: VmRSS after malloc_trim(0): $trimmed KB"
    fi
    local rollup anon hwm threads
    rollup=$(tr -s ' ' <"/proc/$pid/smaps_rollup" | tr '\n' ';')
    anon=$(status_kb "$pid" RssAnon)
    hwm=$(status_kb "$pid" VmHWM)
    threads=$(status_kb "$pid" Threads)
    stop_pid "$pid" 60
    python3 - "$mode" "$SESSIONS" "$base" "$s" "$est" "$d/wait.json" "$anon" "$hwm" \
        "$threads" "$rollup" "${samples[*]}" "$trimmed" >"$RES/mailfleet-$mode.json" <<'PY'
import json, sys
mode, n, base, rss, est = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
wait = json.load(open(sys.argv[6]))
print(json.dumps({"peer": "mailfleet", "mode": mode, "sessions": n, "base_rss_kb": base, "rss_kb": rss,
                  "per_session_kb": round((rss - base) / n, 1), "established": est,
                  "add_seconds": wait["add_seconds"], "all_good_seconds_after_adds": wait["seconds"],
                  "rss_anon_kb": int(sys.argv[7]), "hwm_kb": int(sys.argv[8]), "threads": int(sys.argv[9]),
                  "smaps_rollup": sys.argv[10], "samples": [int(x) for x in sys.argv[11].split()],
                  "rss_after_malloc_trim_kb": int(sys.argv[12]) or None,
                  "per_session_kb_after_trim": round((int(sys.argv[12]) - base) / n, 1) if int(sys.argv[12]) else None}))
PY
    [[ $est -ge $SESSIONS ]] || say "   warning: only $est of $SESSIONS connections established at the end"
}

run_imapflow() { # MODE
    local mode=$1 port
    if [[ $mode == tls ]]; then port=$IMAPS_PORT; else port=$IMAP_PORT; fi
    timeout 900 node --expose-gc "$HERE/idle.mjs" 127.0.0.1 "$port" "$USERS" "$SESSIONS" "$mode" \
        "$CA_FILE" "$HOLD" >"$TMP/idle-out.json" 2>"$TMP/idle-err.txt" &
    local p=$!
    track "$p"
    wait "$p" || { cat "$TMP/idle-err.txt" >&2; return 1; }
    python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); o["peer"]="imapflow"; print(json.dumps(o))' \
        "$TMP/idle-out.json" >"$RES/imapflow-$mode.json"
}

# --- phases ----------------------------------------------------------------------------------
for mode in $MODES; do
    for peer in $PEERS; do
        wait_dovecot_quiet
        say "== $peer, $mode: $SESSIONS IDLE sessions"
        "run_$peer" "$mode" &
        p=$!
        track "$p"
        wait "$p" || die "$peer $mode failed"
        python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); print("   %s %s: baseline %d KB, with sessions %d KB -> %.1f KB per session" % (o["peer"], o["mode"], o["base_rss_kb"], o["rss_kb"], o["per_session_kb"]))' \
            "$RES/$peer-$mode.json" >&2
    done
done

printf '%s\n' "${NOTES[@]}" >"$RES/notes.txt"
python3 - "$RES" "$SESSIONS" "$MODES" "$PEERS" <<'PY'
import json, os, sys
res, n, modes, peers = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
goal = {"plain": 15, "tls": 30}
print()
print("Resident memory per idle IMAP session, %d sessions in one process (VmRSS - baseline) / %d" % (n, n))
print("%-10s %-6s %12s %14s %14s %10s" % ("peer", "mode", "baseline KB", "with sessions", "KB/session", "goal"))
for mode in modes:
    for p in peers:
        f = os.path.join(res, "%s-%s.json" % (p, mode))
        if not os.path.exists(f):
            continue
        o = json.load(open(f))
        g = ""
        if p == "mailfleet":
            g = "<= %d KB: %s" % (goal[mode], "MET" if o["per_session_kb"] <= goal[mode] else "MISSED")
        print("%-10s %-6s %12d %14d %14.1f %s" % (p, mode, o["base_rss_kb"], o["rss_kb"], o["per_session_kb"], g))
PY
