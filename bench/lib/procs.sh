# shellcheck shell=bash
# bench/lib/procs.sh — process bookkeeping shared by the bench scripts (sourced, not run).
# Every process a script starts is recorded with track PID (PID and its start time, so a
# recycled PID is never signalled) in "$PIDFILE"; the script's cleanup stops each recorded
# process and its descendants with stop_pid. Needs say() defined by the caller.

starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }
track() { echo "$1 $(starttime "$1")" >>"$PIDFILE"; }
descendants() { # PID: its children, grandchildren, ... (deepest last)
    local c
    # shellcheck disable=SC2013 # the file is one line of space-separated PIDs
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}
stop_pid() { # PID [SECONDS]: TERM, wait (15 s by default), then KILL
    local p=$1 i max=$((${2:-15} * 10))
    kill -TERM "$p" 2>/dev/null || return 0
    for ((i = 0; i < max; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then
        say "${0##*/}: pid $p did not stop on SIGTERM; sending SIGKILL"
        kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
}
