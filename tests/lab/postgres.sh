#!/bin/sh
# postgres.sh — a private, throw-away PostgreSQL cluster for tests (lab).
#
#   tests/lab/postgres.sh start DIR PORT   init (once) and start a cluster with its data in DIR,
#                                          listening on 127.0.0.1:PORT only, trust auth on
#                                          loopback, database mailfleet_test; prints its URL
#                                          (postgres://postgres@127.0.0.1:PORT/mailfleet_test)
#                                          on stdout once it accepts connections
#   tests/lab/postgres.sh stop DIR         stop it (pg_ctl, else its postmaster pid)
#   tests/lab/postgres.sh status DIR       exit 0 if it runs
#
# Idempotent: start on a running cluster only prints the URL; stop on a stopped one does
# nothing. As root the server runs as the `postgres` system user (or `nobody`); no systemd, no
# stdin. Durability is off (fsync=off): this is for tests only. Diagnostics go to stderr, the
# server log to DIR/server.log. Env: PG_BIN overrides the binaries' folder.
set -eu

DB=mailfleet_test
SUPERUSER=postgres

die() {
    echo "postgres.sh: $*" >&2
    exit 1
}

usage() {
    die "usage: $0 start DIR PORT | stop DIR | status DIR"
}

find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        [ -x "$PG_BIN/pg_ctl" ] || die "no pg_ctl in PG_BIN=$PG_BIN"
        echo "$PG_BIN"
        return
    fi
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return
        fi
    done
    return 1
}

install_if_missing() {
    find_bin >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed (apt-get install postgresql, as root)"
    echo "postgres.sh: installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql </dev/null >&2 ||
        { apt-get update -q </dev/null >&2 && apt-get install -y -q postgresql </dev/null >&2; } ||
        die "apt-get install postgresql failed"
    find_bin >/dev/null 2>&1 || die "postgresql installed but no pg_ctl found"
}

# The OS user the server runs as; `as_owner CMD...` runs CMD as that user, from DIR.
owner() {
    if [ "$(id -u)" != 0 ]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        echo nobody
    fi
}

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        (cd "$DIR" && runuser -u "$OWNER" -- "$@" </dev/null)
    else
        (cd "$DIR" && "$@" </dev/null)
    fi
}

# Is pid a live postmaster of DIR (not a zombie: a container's init may reap late)?
pid_alive() {
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    if [ -r "/proc/$1/stat" ]; then
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = postgres ] || return 1
        tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$DIR/data" || return 1
        [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

postmaster_pid() {
    sed -n 1p "$DIR/data/postmaster.pid" 2>/dev/null
}

# Running, or else no stale pid file left behind (a killed postmaster leaves one).
is_running() {
    [ -f "$DIR/data/postmaster.pid" ] || return 1
    pid_alive "$(postmaster_pid)" && return 0
    rm -f "$DIR/data/postmaster.pid"
    return 1
}

url() {
    echo "postgres://$SUPERUSER@127.0.0.1:$1/$DB"
}

cmd_start() {
    case "$PORT" in
    '' | *[!0-9]*) die "PORT must be a number" ;;
    esac
    install_if_missing
    BIN=$(find_bin)
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    OWNER=$(owner)
    if [ "$(id -u)" = 0 ]; then
        chown "$OWNER:" "$DIR"
        [ -d "$DIR/data" ] && chown -R "$OWNER:" "$DIR/data"
        runuser -u "$OWNER" -- test -w "$DIR" ||
            die "$DIR is not reachable by user $OWNER (is a parent folder private?)"
    fi

    if is_running; then
        running_port=$(sed -n 4p "$DIR/data/postmaster.pid")
        [ "$running_port" = "$PORT" ] ||
            die "a cluster already runs in $DIR on port $running_port, not $PORT"
    else
        if [ ! -f "$DIR/data/PG_VERSION" ]; then
            rm -rf "$DIR/data"
            as_owner "$BIN/initdb" -D "$DIR/data" -U "$SUPERUSER" --auth=trust --no-locale \
                -E UTF8 --no-sync --no-instructions >"$DIR/initdb.log" 2>&1 ||
                { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
            cat >>"$DIR/data/postgresql.conf" <<EOF
# mailfleet lab (tests/lab/postgres.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
EOF
            cat >"$DIR/data/pg_hba.conf" <<EOF
# mailfleet lab: trust on loopback only
host all all 127.0.0.1/32 trust
EOF
        fi
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -o "-p $PORT" -w -t 60 \
            start >/dev/null 2>&1 ||
            { tail -n 20 "$DIR/server.log" >&2 2>/dev/null || true; die "server did not start"; }
    fi

    i=0
    until "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -t 2 </dev/null; do
        i=$((i + 1))
        [ "$i" -lt 60 ] || die "server on port $PORT does not accept connections"
        sleep 0.5
    done

    psql() {
        "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres \
            -tA "$@" </dev/null
    }
    if [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        psql -c "CREATE DATABASE $DB" >&2 || die "cannot create database $DB"
    fi
    url "$PORT"
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    DIR=$(cd "$DIR" && pwd -P)
    is_running || return 0
    BIN=$(find_bin) || die "no PostgreSQL binaries"
    OWNER=$(owner)
    pid=$(postmaster_pid)
    if as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
        return 0
    fi
    # pg_ctl could not: stop the postmaster by its pid (fast shutdown, then immediate).
    echo "postgres.sh: pg_ctl stop failed; signalling postmaster $pid" >&2
    kill -INT "$pid" 2>/dev/null || true
    i=0
    while pid_alive "$pid"; do
        i=$((i + 1))
        if [ "$i" -eq 100 ]; then
            kill -QUIT "$pid" 2>/dev/null || true
        elif [ "$i" -ge 200 ]; then
            die "postmaster $pid does not stop"
        fi
        sleep 0.1
    done
    rm -f "$DIR/data/postmaster.pid"
}

cmd_status() {
    [ -d "$DIR" ] || exit 1
    DIR=$(cd "$DIR" && pwd -P)
    is_running
}

[ $# -ge 2 ] || usage
ACTION=$1
DIR=$2
case "$ACTION" in
start)
    [ $# -eq 3 ] || usage
    PORT=$3
    cmd_start
    ;;
stop)
    [ $# -eq 2 ] || usage
    cmd_stop
    ;;
status)
    [ $# -eq 2 ] || usage
    cmd_status
    ;;
*) usage ;;
esac
