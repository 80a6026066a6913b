#!/usr/bin/env bash
# bench/api/run.sh — HTTP API benchmark of mailfleet against an nginx static-file ceiling.
#
# Sets up a throw-away SQLite database through the real binary (org, admin, token, 1,000
# mailboxes via POST /api/v1/mailboxes), starts `mailfleet serve` and a private nginx on two
# loopback ports, and runs the same wrk command against both:
#
#   list50   GET  /api/v1/mailboxes            (default page: 50 items)
#   list500  GET  /api/v1/mailboxes?limit=500  (largest page: 500 items)
#   post     POST /api/v1/mailbox-requests     (bench/api/post.lua; one new request row each)
#
# nginx serves, for each GET, a static file holding the exact bytes mailfleet returned for that
# URL (so the body size is identical), and for the POST a fixed `return 201` body of the same
# bytes as a mailfleet answer. Prints the median req/s and p99 of RUNS runs, the ratio
# mailfleet/nginx and the goals (reads >= 50% of nginx, writes >= 5,000/s). Everything it starts
# is stopped by PID and its temp dir removed on exit. See bench/api/README.md.
#
# Knobs (environment): RUNS=3 DURATION=10s WARMUP=5s WRK_THREADS=2 CONNS=32 MAILBOXES=1000
#   MAILFLEET_HTTP_THREADS=4 (server thread pool)  NGINX_WORKERS=auto  BENCHES="list50 list500 post"
#   MAILFLEET_API_CACHE=1 (0: the server reads the database for every GET: the cache-miss path)
#   RESULTS_DIR=DIR (keep raw wrk output and logs)  REBUILD=1 (run ninja even if the binary exists)
#   MAILFLEET_BIN=PATH (binary to test; default build/mailfleet)
#   MODE=api (`mailfleet api`: the HTTP API alone) or MODE=serve (API + engine in one process; the
#   engine then works on the 1,000 unreachable mailboxes during the runs)
#   REQUIRE_IDLE=1 (wait for other load to go; repeat runs disturbed by it)  PROFILE=1 (perf)
#   CEILING=0 (skip nginx, for sweeps)  POST_SEAT=admin|empty (seat the POSTed requests target)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${MAILFLEET_BIN:-$ROOT/build/mailfleet}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
WRK_THREADS=${WRK_THREADS:-2}
CONNS=${CONNS:-32}
MAILBOXES=${MAILBOXES:-1000}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
BENCHES=${BENCHES:-list50 list500 post}
RESULTS_DIR=${RESULTS_DIR:-}
MODE=${MODE:-api}
CEILING=${CEILING:-1}       # 0: skip the nginx runs (for parameter sweeps)
POST_SEAT=${POST_SEAT:-admin} # admin: the seat holding the 1,000 mailboxes; empty: a seat with none
export MAILFLEET_HTTP_THREADS=${MAILFLEET_HTTP_THREADS:-4}
export MAILFLEET_API_CACHE=${MAILFLEET_API_CACHE:-1} # 0: no answer/token caches (the miss path)

say() { printf '%s\n' "$*" >&2; }
die() { say "run.sh: $*"; exit 1; }

for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (Debian: apt-get install wrk nginx-light curl python3)"
done

# --- build -----------------------------------------------------------------------------------
if [[ ! -x $BIN || ${REBUILD:-0} == 1 ]]; then
    say "== building mailfleet"
    (
        cd "$ROOT"
        [[ -f build/build.ninja ]] || meson setup build >&2
        ninja -C build >&2
    ) || die "build failed"
fi
[[ -x $BIN ]] || die "no binary at $BIN"

# --- temp dir, process bookkeeping, cleanup --------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mailfleet-bench.XXXXXX")
PIDS=()
cleanup() {
    local rc=$? p i
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$p" 2>/dev/null; then
            say "run.sh: pid $p did not stop on SIGTERM; sending SIGKILL"
            kill -KILL "$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
    done
    if [[ -n $RESULTS_DIR ]]; then
        mkdir -p "$RESULTS_DIR"
        cp -r "$TMP/raw" "$TMP/mf/serve.log" "$TMP/nginx/error.log" "$TMP/nginx/nginx.conf" \
            "$RESULTS_DIR/" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$TMP/mf" "$TMP/nginx/www" "$TMP/nginx/tmp" "$TMP/raw" "$TMP/res"
# Run a private copy: the tree may be rebuilt while we measure, and perf needs the exact file.
cp "$BIN" "$TMP/mailfleet"
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain -- src meson.build 2>/dev/null | head -1) ]] && COMMIT="$COMMIT+local-changes"
COMMIT="$COMMIT, binary built $(date -u -r "$BIN" +%Y-%m-%dT%H:%MZ)"
BIN="$TMP/mailfleet"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL PID NAME
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up (see its log above)"
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "$3 did not answer $1 within 10 s"
}

# --- mailfleet: data through the real binary --------------------------------------------------
# A clean environment: only our database and key, no config file from the cwd or the caller.
unset MAILFLEET_LISTEN MAILFLEET_KEY MAILFLEET_PUBLIC_URL MAILFLEET_CA_FILE \
    MAILFLEET_GENERIC_LOCAL_PARTS MAILFLEET_LOG_LEVEL
export MAILFLEET_CONFIG=""
export MAILFLEET_DB="sqlite:$TMP/mf/mf.db"
export MAILFLEET_KEY_FILE="$TMP/mf/key"
cd "$TMP"

say "== setting up org, admin and token in $TMP/mf"
ORG=$("$BIN" org create Bench --mailbox-limit 2000 2>>"$TMP/mf/setup.log") || { cat "$TMP/mf/setup.log" >&2; die "org create failed"; }
ADMIN=$("$BIN" user create --email admin@bench.test --name Admin --role admin --org "$ORG" 2>>"$TMP/mf/setup.log") || { cat "$TMP/mf/setup.log" >&2; die "user create failed"; }
TOKEN=$("$BIN" token create --user admin@bench.test 2>>"$TMP/mf/setup.log") || { cat "$TMP/mf/setup.log" >&2; die "token create failed"; }
[[ $ORG && $ADMIN && $TOKEN ]] || die "setup printed an empty id or token"
case $POST_SEAT in
admin) TARGET=$ADMIN ;;
empty)
    TARGET=$("$BIN" user create --email seat@bench.test --name Seat --role user --org "$ORG" 2>>"$TMP/mf/setup.log") ||
        { cat "$TMP/mf/setup.log" >&2; die "user create failed"; }
    ;;
*) die "POST_SEAT must be admin or empty" ;;
esac

if [[ $MODE == api ]] && ! "$BIN" api --help >/dev/null 2>&1; then
    say "run.sh: this binary has no \`api\` command; using \`serve\`"
    MODE=serve
fi
[[ $MODE == api || $MODE == serve ]] || die "MODE must be api or serve"
MF_PORT=$(free_port)
"$BIN" "$MODE" --listen "127.0.0.1:$MF_PORT" 2>"$TMP/mf/serve.log" &
MF_PID=$!
PIDS+=("$MF_PID")
MF="http://127.0.0.1:$MF_PORT"
wait_http "$MF/healthz" "$MF_PID" "mailfleet" || { cat "$TMP/mf/serve.log" >&2; exit 1; }
say "== mailfleet $MODE, pid $MF_PID on $MF (MAILFLEET_HTTP_THREADS=$MAILFLEET_HTTP_THREADS)"

say "== creating $MAILBOXES mailboxes with POST /api/v1/mailboxes"
python3 - "$MF_PORT" "$TOKEN" "$ADMIN" "$MAILBOXES" <<'PY' || die "mailbox creation failed"
import http.client, json, sys, time
port, token, admin, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
server = {"host": "127.0.0.1", "port": 993, "security": "tls", "username": "u", "password": "p"}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
t0 = time.monotonic()
for i in range(1, count + 1):
    body = json.dumps({"owner_id": admin, "address": "m%04d@bench.test" % i,
                       "imap": server, "smtp": server})
    conn.request("POST", "/api/v1/mailboxes", body, hdr)
    r = conn.getresponse()
    data = r.read()
    if r.status != 201:
        sys.exit("mailbox %d: HTTP %d %s" % (i, r.status, data[:300]))
print("   %d mailboxes in %.1f s" % (count, time.monotonic() - t0), file=sys.stderr)
PY

AUTH="Authorization: Bearer $TOKEN"
fetch() { # PATH FILE — GET into FILE, fail on non-200
    local code
    code=$(curl -sS -o "$2" -w '%{http_code}' -H "$AUTH" "$MF$1") || die "GET $1 failed"
    [[ $code == 200 ]] || die "GET $1 answered HTTP $code: $(head -c 300 "$2")"
}
if [[ $MODE == serve ]]; then # let the engine give every mailbox its first health state
    for ((i = 0; i < 60; i++)); do
        fetch "/api/v1/mailboxes?limit=500" "$TMP/settle.json"
        grep -q '"status":"connecting"' "$TMP/settle.json" || break
        sleep 1
    done
fi
fetch "/api/v1/mailboxes" "$TMP/nginx/www/mailboxes-50.json"
fetch "/api/v1/mailboxes?limit=500" "$TMP/nginx/www/mailboxes-500.json"
count_items() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["items"]), "more" if d.get("next_cursor") else "last")' "$1"; }
read -r N50 MORE50 < <(count_items "$TMP/nginx/www/mailboxes-50.json")
read -r N500 MORE500 < <(count_items "$TMP/nginx/www/mailboxes-500.json")
SIZE50=$(stat -c %s "$TMP/nginx/www/mailboxes-50.json")
SIZE500=$(stat -c %s "$TMP/nginx/www/mailboxes-500.json")
say "   GET /api/v1/mailboxes           -> $N50 items ($MORE50 page), $SIZE50 bytes"
say "   GET /api/v1/mailboxes?limit=500 -> $N500 items ($MORE500 page), $SIZE500 bytes"

# One write through the same body post.lua sends: checks it works and gives the POST ceiling body.
code=$(curl -sS -o "$TMP/post-response.json" -w '%{http_code}' -H "$AUTH" \
    -H 'Content-Type: application/json' \
    -d "{\"kind\":\"add\",\"address\":\"x@bench.test\",\"target_user_id\":\"$TARGET\"}" \
    "$MF/api/v1/mailbox-requests") || die "POST /api/v1/mailbox-requests failed"
[[ $code == 201 ]] || die "POST /api/v1/mailbox-requests answered HTTP $code: $(head -c 300 "$TMP/post-response.json")"
SIZEPOST=$(stat -c %s "$TMP/post-response.json")
say "   POST /api/v1/mailbox-requests   -> 201, $SIZEPOST bytes"

# --- nginx: the static ceiling -----------------------------------------------------------------
NG_PORT=$(free_port)
NGD="$TMP/nginx"
POST_BODY=$(cat "$TMP/post-response.json")
case $POST_BODY in
*\$* | *\'* | *\\*) die "the POST response holds \$, ' or \\; cannot embed it in nginx.conf" ;;
esac
USER_LINE=""
[[ $(id -u) == 0 ]] && USER_LINE="user $(id -un) $(id -gn);" # workers read files in our 0700 dir
cat >"$NGD/nginx.conf" <<EOF
# generated by bench/api/run.sh — static ceiling for the mailfleet API benchmark
$USER_LINE
worker_processes $NGINX_WORKERS;
daemon off;
pid $NGD/nginx.pid;
error_log $NGD/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $NGD/tmp/body;
    proxy_temp_path $NGD/tmp/proxy;
    fastcgi_temp_path $NGD/tmp/fastcgi;
    uwsgi_temp_path $NGD/tmp/uwsgi;
    scgi_temp_path $NGD/tmp/scgi;
    types { application/json json; }
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$NG_PORT;
        root $NGD/www;
        location = /api/v1/mailbox-requests { return 201 '$POST_BODY'; }
    }
}
EOF
nginx -t -q -c "$NGD/nginx.conf" -p "$NGD" 2>"$NGD/error.log" || { cat "$NGD/error.log" >&2; die "nginx rejects its config"; }
nginx -c "$NGD/nginx.conf" -p "$NGD" 2>>"$NGD/error.log" &
NG_PID=$!
PIDS+=("$NG_PID")
NG="http://127.0.0.1:$NG_PORT"
wait_http "$NG/mailboxes-50.json" "$NG_PID" "nginx" || { cat "$NGD/error.log" >&2; exit 1; }
sleep 0.3
NG_WORKER_PIDS=$(pgrep -P "$NG_PID" | tr '\n' ' ')
[[ $(curl -s "$NG/mailboxes-500.json" | wc -c) == "$SIZE500" ]] || die "nginx serves a different size"
say "== nginx pid $NG_PID (workers: $NG_WORKER_PIDS) on $NG"

# --- wrk runs ----------------------------------------------------------------------------------
# Client and servers share the CPUs, so any other load on the machine (builds, tests, fuzzers)
# lowers the figures. Each run therefore accounts for every CPU tick of its interval: the server
# (from /proc/PID/stat), wrk (bash `time`), kernel threads (writeback, journal, softirq: part of
# the work) and the rest ("others", from /proc/stat). A run in which
# others took more than OTHER_MAX % of the machine is marked; with REQUIRE_IDLE=1 it is thrown away
# and repeated once the machine is quiet again (up to 30 minutes of waiting in all).
CLK_TCK=$(getconf CLK_TCK)
OTHER_MAX=${OTHER_MAX:-5}
WAITED=0
machine_ticks() { # → "busy total" ticks of all CPUs (busy = user nice system irq softirq)
    awk '/^cpu /{busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6 + $9}' /proc/stat
}
busy_pct() { # how busy the machine is over 2 s, in %
    local a b
    a=$(machine_ticks)
    sleep 2
    b=$(machine_ticks)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
        printf "%.0f\n", (d > 0) ? 100 * (y[1] - x[1]) / d : 0 }'
}
wait_idle() { # wait (REQUIRE_IDLE=1) until the machine is at most 10 % busy; prints the last figure
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
kthread_ticks() { # user+system ticks of all kernel threads (writeback, journal, softirq work)
    python3 -c '
import os
t = 0
for p in os.listdir("/proc"):
    if not p.isdigit(): continue
    try:
        f = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if f[1] in ("0", "2") and (f[1] == "2" or p == "2"):
        t += int(f[11]) + int(f[12])
print(t)'
}
cpu_ticks() { # PID... → summed user+system ticks (whole thread group)
    local p t=0 v
    for p in "$@"; do
        v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}

IDLE_BUSY=$(wait_idle)
if ((IDLE_BUSY > 10)); then
    say "run.sh: WARNING: the machine is ${IDLE_BUSY}% busy before the runs; the figures will be low. Top CPU users:"
    ps -eo pcpu,pid,etime,comm --sort=-pcpu | head -6 >&2
else
    say "== machine ${IDLE_BUSY}% busy before the runs"
fi

# run_wrk BENCH SERVER TAG — one wrk run. Sets LINE to "rps p99_ms bad_responses
# server_cpu_us_per_req others_pct" and, unless TAG is warmup, appends it to $TMP/res/BENCH.SERVER.
run_wrk() {
    local bench=$1 server=$2 tag=$3 dur=$DURATION url args=() pids
    [[ $tag == warmup ]] && dur=$WARMUP
    if [[ $server == mailfleet ]]; then
        pids=$MF_PID
        case $bench in
        list50) url="$MF/api/v1/mailboxes" ;;
        list500) url="$MF/api/v1/mailboxes?limit=500" ;;
        post) url="$MF/api/v1/mailbox-requests" ;;
        esac
    else
        pids="$NG_PID $NG_WORKER_PIDS"
        case $bench in
        list50) url="$NG/mailboxes-50.json" ;;
        list500) url="$NG/mailboxes-500.json" ;;
        post) url="$NG/api/v1/mailbox-requests" ;;
        esac
    fi
    if [[ $bench == post ]]; then
        args=(-s "$HERE/post.lua")
    else
        args=(-H "$AUTH")
    fi
    local out="$TMP/raw/$bench.$server.$tag.txt" tf="$TMP/raw/$bench.$server.$tag.time"
    local c0 m0 c1 m1 k0 k1 TIMEFORMAT='%U %S'
    # shellcheck disable=SC2086
    c0=$(cpu_ticks $pids)
    k0=$(kthread_ticks)
    m0=$(machine_ticks)
    { time MF_TOKEN=$TOKEN MF_TARGET=$TARGET \
        wrk -t"$WRK_THREADS" -c"$CONNS" -d"$dur" --latency "${args[@]}" "$url" >"$out" 2>&1; } 2>"$tf" ||
        { cat "$out" >&2; die "wrk failed ($bench, $server)"; }
    # shellcheck disable=SC2086
    c1=$(cpu_ticks $pids)
    m1=$(machine_ticks)
    k1=$(kthread_ticks)
    LINE=$(awk -v c0="$c0" -v c1="$c1" -v hz="$CLK_TCK" -v m0="$m0" -v m1="$m1" -v wt="$(cat "$tf")" \
        -v kt="$((k1 - k0))" '
        function ms(v) {
            if (v ~ /us$/) return v * 0.001
            if (v ~ /ms$/) return v + 0
            if (v ~ /m$/)  return v * 60000
            if (v ~ /s$/)  return v * 1000
            return v + 0
        }
        /^ +99%/ { p99 = ms($2) }
        /requests in/ { n = $1 }
        /^Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i + 0 }
        END {
            if (rps == "" || p99 == "") exit 1
            split(m0, a, " "); split(m1, b, " "); split(wt, w, " ")
            total = b[2] - a[2]; busy = b[1] - a[1]
            server = c1 - c0; client = (w[1] + w[2]) * hz
            others = (total > 0) ? 100 * (busy - server - client - kt) / total : 0
            if (others < 0) others = 0
            cpu = n > 0 ? server / hz * 1e6 / n : 0
            printf "%.1f %.3f %d %.1f %.1f\n", rps, p99, bad, cpu, others
        }' "$out") || { cat "$out" >&2; die "cannot parse wrk output ($bench, $server)"; }
    local rps p99 bad cpu others
    read -r rps p99 bad cpu others <<<"$LINE"
    say "   $(printf '%-8s %-9s %-7s %10s req/s  p99 %8s ms  errors %s  server CPU %6s us/req  others %s%%' \
        "$bench" "$server" "$tag" "$rps" "$p99" "$bad" "$cpu" "$others")"
    OTHERS=$others
    [[ $tag == warmup ]] || echo "$LINE" >>"$TMP/res/$bench.$server"
}

# A measured run; repeated (REQUIRE_IDLE=1) while other work took more than OTHER_MAX %.
measure() { # BENCH SERVER TAG
    local try
    for ((try = 1; ; try++)); do
        [[ ${REQUIRE_IDLE:-0} == 1 ]] && wait_idle >/dev/null
        run_wrk "$@"
        awk -v o="$OTHERS" -v m="$OTHER_MAX" 'BEGIN { exit !(o > m) }' || return 0
        if [[ ${REQUIRE_IDLE:-0} != 1 ]] || ((try >= 5 || WAITED >= 1800)); then
            say "run.sh: WARNING: other work took ${OTHERS}% of the machine during $1/$2/$3; figure kept"
            return 0
        fi
        sed -i '$d' "$TMP/res/$1.$2" # drop it and measure again
        say "   (other work took ${OTHERS}% of the machine; repeating the run)"
    done
}

say "== wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency, $RUNS runs per target after a $WARMUP warm-up"
for bench in $BENCHES; do
    case $bench in list50 | list500 | post) ;; *) die "unknown bench '$bench'" ;; esac
    [[ $CEILING == 0 ]] || run_wrk "$bench" nginx warmup
    run_wrk "$bench" mailfleet warmup
    for ((r = 1; r <= RUNS; r++)); do
        [[ $CEILING == 0 ]] || measure "$bench" nginx "run$r"
        measure "$bench" mailfleet "run$r"
    done
done

# The page must not have changed under us (e.g. a status update would change the size).
fetch "/api/v1/mailboxes?limit=500" "$TMP/after-500.json"
[[ $(stat -c %s "$TMP/after-500.json") == "$SIZE500" ]] ||
    say "run.sh: WARNING: the limit=500 page changed size during the run ($SIZE500 -> $(stat -c %s "$TMP/after-500.json") bytes)"
if awk '$2 == "warn" || $2 == "error" { found = 1 } END { exit !found }' "$TMP/mf/serve.log"; then
    say "run.sh: WARNING: the mailfleet log has warnings or errors:"
    awk '$2 == "warn" || $2 == "error" { $1 = ""; print }' "$TMP/mf/serve.log" | sort | uniq -c | sort -rn | head -5 >&2
fi

# --- table -------------------------------------------------------------------------------------
MODEL=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
python3 - "$TMP/res" "$RUNS" "$OTHER_MAX" <<PY
import os, statistics, sys
res, runs, other_max = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def load(bench, server):
    p = os.path.join(res, "%s.%s" % (bench, server))
    if not os.path.exists(p): return None
    rows = [list(map(float, l.split())) for l in open(p) if l.strip()]
    return rows
benches = [
    ("list50",  "GET /api/v1/mailboxes (${N50} items, ${SIZE50} B)", "read"),
    ("list500", "GET /api/v1/mailboxes?limit=500 (${N500} items, ${SIZE500} B)", "read"),
    ("post",    "POST /api/v1/mailbox-requests (${SIZEPOST} B answer, ${POST_SEAT} seat)", "write"),
]
print()
print("mailfleet API benchmark — $(date -u +%Y-%m-%dT%H:%MZ)")
print("machine: $(nproc) CPUs, ${MODEL}; client (wrk) and servers share them; ${IDLE_BUSY}% busy before the runs")
print("mailfleet at ${COMMIT} (mailfleet ${MODE}), MAILFLEET_HTTP_THREADS=${MAILFLEET_HTTP_THREADS}, MAILFLEET_API_CACHE=${MAILFLEET_API_CACHE}, SQLite (WAL); nginx $(nginx -v 2>&1 | sed 's/.*\///') worker_processes ${NGINX_WORKERS}")
print("wrk -t${WRK_THREADS} -c${CONNS} -d${DURATION} --latency; medians of %d runs after a ${WARMUP} warm-up; ${MAILBOXES} mailboxes in the org" % runs)
print("errors = non-2xx responses + socket errors over all runs; srv CPU/req = server CPU time per request;")
print("others = largest share of the machine taken by other processes during a run (should be ~0);")
print("runs marked * had others above %g%%" % other_max)
print()
hdr = "%-56s %-9s %11s %9s %7s %12s %8s  %s" % ("endpoint", "server", "req/s", "p99 ms", "errors", "srv CPU/req", "others", "runs (req/s)")
print(hdr); print("-" * len(hdr))
for key, name, kind in benches:
    nginx, mf = load(key, "nginx"), load(key, "mailfleet")
    if not mf: continue
    med = {}
    first = True
    for server, rows in (("nginx", nginx), ("mailfleet", mf)):
        if not rows: continue
        rps = statistics.median(r[0] for r in rows)
        p99 = statistics.median(r[1] for r in rows)
        bad = sum(int(r[2]) for r in rows)
        cpu = statistics.median(r[3] for r in rows)
        med[server] = rps
        others = max(r[4] for r in rows)
        print("%-56s %-9s %11.0f %9.2f %7d %9.0f us %7.1f%%  %s" % (name if first else "", server, rps, p99, bad, cpu,
              others, " ".join("%.0f%s" % (r[0], "*" if r[4] > other_max else "") for r in rows)))
        first = False
    ratio = med["mailfleet"] / med["nginx"] if med.get("nginx") else 0
    if kind == "read" and not med.get("nginx"):
        goal = "(no nginx runs: CEILING=0)"
    elif kind == "read":
        goal = "goal >= 50%% of nginx: %s" % ("MET" if ratio >= 0.5 else "MISSED")
    else:
        goal = "goal >= 5,000 req/s: %s" % ("MET" if med["mailfleet"] >= 5000 else "MISSED")
    print("%-56s %-9s %10s  %s" % ("", "ratio", "%.1f%%" % (100 * ratio) if ratio else "-", goal))
    print()
PY

# --- optional profile (PROFILE=1): where mailfleet spends its CPU, per benchmark ----------------
# A separate wrk run per benchmark under `perf record --call-graph dwarf` (not part of the medians:
# perf slows the server). Prints the top symbols by inclusive ("children") share.
if [[ ${PROFILE:-0} == 1 ]]; then
    command -v perf >/dev/null 2>&1 || die "PROFILE=1 needs perf (Debian: linux-perf)"
    for bench in $BENCHES; do
        say "== perf profile of mailfleet during $bench (inclusive share of samples)"
        case $bench in
        list50) url="$MF/api/v1/mailboxes" args=(-H "$AUTH") ;;
        list500) url="$MF/api/v1/mailboxes?limit=500" args=(-H "$AUTH") ;;
        post) url="$MF/api/v1/mailbox-requests" args=(-s "$HERE/post.lua") ;;
        esac
        MF_TOKEN=$TOKEN MF_TARGET=$TARGET wrk -t"$WRK_THREADS" -c"$CONNS" -d8s "${args[@]}" "$url" \
            >"$TMP/raw/$bench.mailfleet.profile.txt" 2>&1 &
        WRK_PID=$!
        PIDS+=("$WRK_PID")
        sleep 1
        perf record -q -F 499 --call-graph dwarf,16384 -p "$MF_PID" -o "$TMP/raw/$bench.perf.data" \
            -- sleep 5 >/dev/null 2>&1 || say "run.sh: perf record failed (perf_event_paranoid?)"
        wait "$WRK_PID" || true
        perf report -i "$TMP/raw/$bench.perf.data" --children --sort sym -g none --stdio \
            >"$TMP/raw/$bench.perf.txt" 2>/dev/null || say "run.sh: perf report failed"
        grep -E '^ +[0-9.]+%' "$TMP/raw/$bench.perf.txt" |
            grep -vE '\[\.\] 0x[0-9a-f]+ *$|clone3|start_thread' | sed -n '1,45p'
        rm -f "$TMP/raw/$bench.perf.data"
        echo
    done
fi
