#!/bin/sh
# dovecot.sh — a private, throw-away Dovecot (IMAP + LMTP + SASL auth) for tests (lab).
#
#   tests/lab/dovecot.sh start DIR BASEPORT [USERS_FILE]
#       write a config in DIR (nothing in /etc/dovecot is read), a self-signed certificate
#       (DIR/tls, shared with postfix.sh) and start Dovecot on loopback:
#         BASEPORT    IMAP (plain, STARTTLS offered)     BASEPORT+2  LMTP
#         BASEPORT+1  IMAPS (implicit TLS)               BASEPORT+3  auth (Postfix SASL)
#       USERS_FILE: lines EMAIL:PASSWORD (a bare name gets @example.test) added to the users.
#       Once the IMAP port answers its greeting, prints on stdout one shell-assignable line:
#         IMAP_PORT=... IMAPS_PORT=... LMTP_PORT=... AUTH_PORT=... CA_FILE=...
#   tests/lab/dovecot.sh stop DIR       stop it (master.pid) and make sure no process of it is left
#   tests/lab/dovecot.sh status DIR     exit 0 if it runs
#   tests/lab/dovecot.sh adduser DIR EMAIL PASSWORD
#       add the user (or change its password; PLAIN scheme), create its Maildir; prints EMAIL
#   tests/lab/dovecot.sh place DIR EMAIL DAYS_AGO FILE
#       put FILE (- for stdin) into the user's INBOX (Maildir cur/, unseen) with its mtime, so
#       its INTERNALDATE, DAYS_AGO days (may be fractional) in the past; prints the Maildir file
#       path. Dovecot gives it a UID at its next sync of INBOX.
#   tests/lab/dovecot.sh uidvalidity-reset DIR EMAIL
#       drop INBOX's dovecot-uidlist and dovecot.index* (messages stay) so Dovecot gives INBOX a
#       new, higher UIDVALIDITY and numbers the messages anew; prints
#         OLD_UIDVALIDITY=... UIDVALIDITY=...   (UIDVALIDITY empty if Dovecot is not running)
#   tests/lab/dovecot.sh install        install the Debian packages if missing
#
# Users: passwd-file DIR/dovecot/users, every mailbox owned by nobody:nogroup under
# DIR/mail/DOMAIN/USER/Maildir; special-use folders Sent, Drafts, Trash, Junk are created and
# subscribed. Plaintext LOGIN/AUTH is allowed without TLS. Limits are raised for many IDLE
# sessions (LAB_MAX_CLIENTS, default 5000). Idempotent: start on a running instance with the
# same BASEPORT only prints the line; stop on a stopped one does nothing. Runs as root (Dovecot
# needs it), no systemd, no stdin. Diagnostics go to stderr, Dovecot's log to
# DIR/dovecot/dovecot.log. Env: LAB_DOMAIN (default example.test), LAB_MAX_CLIENTS,
# LAB_AUTH_FAILURE_DELAY (Dovecot's delay before a failed login is answered, default "2 secs").
# Dovecot's per-IP auth penalty is off: a failed login must not slow the next tests.
set -eu

PATH=$PATH:/usr/sbin:/sbin
export PATH
DOMAIN=${LAB_DOMAIN:-example.test}
MAX_CLIENTS=${LAB_MAX_CLIENTS:-5000}
FAIL_DELAY=${LAB_AUTH_FAILURE_DELAY:-2 secs}
ME=dovecot.sh

die() {
    echo "$ME: $*" >&2
    exit 1
}

usage() {
    die "usage: $0 start DIR BASEPORT [USERS_FILE] | stop DIR | status DIR | adduser DIR EMAIL PASSWORD | place DIR EMAIL DAYS_AGO FILE | uidvalidity-reset DIR EMAIL | install"
}

is_number() {
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    return 0
}

# --- packages --------------------------------------------------------------------------------

installed() {
    command -v dovecot >/dev/null 2>&1 && command -v doveconf >/dev/null 2>&1 &&
        [ -x /usr/lib/dovecot/imap ] && [ -x /usr/lib/dovecot/lmtp ] &&
        command -v openssl >/dev/null 2>&1
}

install_if_missing() {
    installed && return 0
    [ "$(id -u)" = 0 ] || die "Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd, as root)"
    echo "$ME: installing dovecot-imapd dovecot-lmtpd openssl" >&2
    # Package scripts must not start a system Dovecot on port 143: a policy-rc.d denies it
    # (the machines have one; create it only for the install if missing).
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    rc=0
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                -o DPkg::Lock::Timeout=600 dovecot-imapd dovecot-lmtpd openssl </dev/null >&2
    } || rc=$?
    [ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install dovecot-imapd dovecot-lmtpd failed"
    installed || die "packages installed but dovecot binaries not found"
}

# --- paths and processes ---------------------------------------------------------------------

# Sets D (Dovecot's own folder), CONF, RUN (base_dir), USERS, MAILROOT, TLS; DIR made absolute.
set_paths() {
    DIR=$(cd "$DIR" && pwd -P)
    case "$DIR" in
    *[!A-Za-z0-9_./+-]*) die "DIR must be a plain path (letters, digits, _ . / + -): $DIR" ;;
    esac
    D=$DIR/dovecot
    CONF=$D/dovecot.conf
    RUN=$D/run
    USERS=$D/users
    MAILROOT=$DIR/mail
    TLS=$DIR/tls
    # One instance name per DIR: shows in ps titles and tells instances apart.
    INSTANCE=mflab-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
}

# Is pid a live (not zombie) Dovecot process? $2 = "master" also requires the master binary.
pid_alive() {
    is_number "$1" || return 1
    [ -r "/proc/$1/stat" ] || return 1
    [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ] || return 1
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    case "$exe" in
    */sbin/dovecot) return 0 ;;
    */dovecot/*) [ "${2:-}" != master ] ;;
    *) return 1 ;;
    esac
}

master_pid() {
    sed -n 1p "$RUN/master.pid" 2>/dev/null
}

# Dovecot processes in the session of master pid $1 (the master calls setsid()).
session_pids() {
    for f in /proc/[0-9]*/stat; do
        { IFS= read -r st <"$f"; } 2>/dev/null || continue
        # pid (comm) state ppid pgrp session ...
        # shellcheck disable=SC2086 # split the fields on purpose
        set -- "$1" ${st##*) }
        [ "${5:-}" = "$1" ] || continue
        p=${f#/proc/}
        p=${p%/stat}
        pid_alive "$p" && echo "$p"
    done
    return 0
}

is_running() {
    [ -f "$RUN/master.pid" ] || return 1
    pid=$(master_pid)
    pid_alive "$pid" master || return 1
    # ... and it is this DIR's instance, not a recycled pid.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}

# port_in_use PORT: is a TCP socket listening on PORT (any address)?
port_in_use() {
    hex=$(printf ':%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }'
}

# greeting PORT PREFIX: does 127.0.0.1:PORT answer a first line starting with PREFIX?
greeting() {
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        IFS= read -r -t 3 line <&3 || exit 1
        exec 3<&-
        case "$line" in "$2"*) exit 0 ;; esac
        exit 1' greeting "$1" "$2" 2>/dev/null
}

# --- TLS -------------------------------------------------------------------------------------

# A self-signed certificate for localhost / 127.0.0.1 in DIR/tls (cert.pem is its own CA).
ensure_tls() {
    if [ -s "$TLS/cert.pem" ] && [ -s "$TLS/key.pem" ]; then
        return 0
    fi
    mkdir -p "$TLS"
    # P-256 by default (made in 10 ms; RSA-2048 takes up to 0.5 s here): LAB_TLS_KEY=rsa for RSA.
    case "${LAB_TLS_KEY:-ec}" in
    rsa) set -- -newkey rsa:2048 ;;
    ec) set -- -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 ;;
    *) die "LAB_TLS_KEY must be ec or rsa" ;;
    esac
    openssl req -x509 "$@" -nodes -sha256 -days 3650 \
        -subj "/O=mailfleet lab/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:127.0.0.1" \
        -keyout "$TLS/key.pem.$$" -out "$TLS/cert.pem.$$" </dev/null >/dev/null 2>"$TLS/openssl.log" ||
        { cat "$TLS/openssl.log" >&2; die "openssl req failed"; }
    chmod 600 "$TLS/key.pem.$$"
    chmod 644 "$TLS/cert.pem.$$"
    mv -f "$TLS/key.pem.$$" "$TLS/key.pem"
    mv -f "$TLS/cert.pem.$$" "$TLS/cert.pem"
}

# --- users and mailboxes ---------------------------------------------------------------------

# normalize EMAIL: lower case, @DOMAIN added to a bare name.
normalize() {
    case "$1" in
    *@*) e=$1 ;;
    *) e=$1@$DOMAIN ;;
    esac
    printf '%s' "$e" | tr '[:upper:]' '[:lower:]'
}

check_email() {
    case "$1" in
    '' | *:* | *' '* | *'/'* | @* | *@ | *@*@*) die "bad email address: '$1'" ;;
    esac
    [ "$(printf '%s' "$1" | wc -l)" = 0 ] || die "bad email address"
}

ensure_users_file() {
    mkdir -p "$D"
    [ -f "$USERS" ] || : >"$USERS"
    # Read by the auth process, which runs as the dovecot user.
    chown root:dovecot "$USERS" 2>/dev/null || chmod 644 "$USERS"
    chmod 640 "$USERS" 2>/dev/null || true
    id dovecot >/dev/null 2>&1 || chmod 644 "$USERS"
}

# set_user EMAIL PASSWORD: add or replace the passwd-file line (atomically).
set_user() {
    case "$2" in
    '' | *:*) die "bad password for $1: empty or with ':'" ;;
    esac
    [ "$(printf '%s' "$2" | wc -l)" = 0 ] || die "bad password for $1"
    ensure_users_file
    tmp=$USERS.tmp.$$
    awk -F: -v u="$1" '$1 != u' "$USERS" >"$tmp"
    printf '%s:{PLAIN}%s::::::\n' "$1" "$2" >>"$tmp"
    chown --reference="$USERS" "$tmp" 2>/dev/null || true
    chmod --reference="$USERS" "$tmp" 2>/dev/null || true
    # Dovecot rereads a passwd-file when its mtime or size changes: a change within the same
    # second with the same size (a new password as long as the old) would go unseen, so every
    # version gets a later mtime than the one before.
    before=$(stat -c %Y "$USERS")
    now=$(date +%s)
    [ "$now" -gt "$before" ] || now=$((before + 1))
    touch -d "@$now" "$tmp"
    mv -f "$tmp" "$USERS"
}

# Dovecot's auth looks at the passwd-file at most once per second: after a change, wait for the
# next second so that the very next login sees it.
settle_users() {
    is_running || return 0
    ns=$(date +%N | sed 's/^0*//')
    sleep "$(awk -v ns="${ns:-0}" 'BEGIN { printf "%.3f", (1e9 - ns) / 1e9 + 0.02 }')"
}

user_known() {
    [ -f "$USERS" ] && awk -F: -v u="$1" '$1 == u { f = 1 } END { exit !f }' "$USERS"
}

# Maildir of EMAIL (same as userdb home=DIR/mail/%Ld/%Ln + mail_location).
maildir_of() {
    echo "$MAILROOT/${1#*@}/${1%%@*}/Maildir"
}

# ensure_maildir EMAIL: the home and Maildir exist, owned by nobody:nogroup.
ensure_maildir() {
    md=$(maildir_of "$1")
    mkdir -p "$MAILROOT"
    chown nobody:nogroup "$MAILROOT"
    chmod 755 "$MAILROOT"
    for d in "$MAILROOT/${1#*@}" "$MAILROOT/${1#*@}/${1%%@*}" "$md" "$md/cur" "$md/new" "$md/tmp"; do
        if [ ! -d "$d" ]; then
            mkdir "$d"
            chown nobody:nogroup "$d"
            chmod 700 "$d"
        fi
    done
    chmod 755 "$MAILROOT/${1#*@}"
}

# --- config ----------------------------------------------------------------------------------

write_config() {
    p_imap=$BASEPORT
    p_imaps=$((BASEPORT + 1))
    p_lmtp=$((BASEPORT + 2))
    p_auth=$((BASEPORT + 3))
    cat >"$CONF.tmp" <<EOF
# mailfleet lab (tests/lab/dovecot.sh) — generated on every start, do not edit.
instance_name = $INSTANCE
base_dir = $RUN
state_dir = $D/state
log_path = $D/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
shutdown_clients = yes

ssl = yes
ssl_cert = <$TLS/cert.pem
ssl_key = <$TLS/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = $FAIL_DELAY

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%Lu $USERS
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$MAILROOT/%Ld/%Ln
}

mail_location = maildir:~/Maildir
mail_fsync = never
mailbox_idle_check_interval = 5 secs
mail_max_userip_connections = $MAX_CLIENTS

namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
}

protocol lmtp {
  postmaster_address = postmaster@$DOMAIN
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $p_imap
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $p_imaps
    ssl = yes
  }
  # High-performance mode: a few long-lived login processes proxy every connection.
  service_count = 0
  process_min_avail = 2
  client_limit = $MAX_CLIENTS
  vsz_limit = 1G
}
service imap {
  process_limit = $MAX_CLIENTS
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $p_lmtp
  }
}
service auth {
  inet_listener auth-inet {
    address = 127.0.0.1
    port = $p_auth
  }
  client_limit = $((MAX_CLIENTS + 1000))
}
service anvil {
  client_limit = $((MAX_CLIENTS + 1000))
  # No auth penalty: after one failed login from 127.0.0.1 it would delay every later
  # authentication from it (good ones too, 2-15 s), across tests.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  client_limit = $((MAX_CLIENTS + 1000))
}
EOF
    mv -f "$CONF.tmp" "$CONF"
    doveconf -c "$CONF" -n >"$D/doveconf.out" 2>&1 ||
        { cat "$D/doveconf.out" >&2; die "doveconf -c $CONF rejects the config"; }
}

line() {
    echo "IMAP_PORT=$1 IMAPS_PORT=$(($1 + 1)) LMTP_PORT=$(($1 + 2)) AUTH_PORT=$(($1 + 3)) CA_FILE=$TLS/cert.pem"
}

# --- commands --------------------------------------------------------------------------------

cmd_start() {
    is_number "$BASEPORT" || die "BASEPORT must be a number"
    [ "$BASEPORT" -ge 1 ] && [ "$BASEPORT" -le 65532 ] || die "BASEPORT out of range"
    [ -z "$USERS_IN" ] || [ -r "$USERS_IN" ] || die "cannot read USERS_FILE $USERS_IN"
    [ "$(id -u)" = 0 ] || die "must run as root (Dovecot drops to nobody for mail)"
    install_if_missing
    mkdir -p "$DIR"
    set_paths
    chmod 755 "$DIR"
    runuser -u nobody -- test -x "$DIR" ||
        die "$DIR is not reachable by user nobody (is a parent folder private?)"

    if is_running; then
        running=$(cat "$D/baseport" 2>/dev/null || true)
        [ "$running" = "$BASEPORT" ] ||
            die "Dovecot already runs in $DIR with BASEPORT $running, not $BASEPORT"
        [ -z "$USERS_IN" ] || import_users
        line "$BASEPORT"
        return 0
    fi

    mkdir -p "$D"
    for p in "$BASEPORT" $((BASEPORT + 1)) $((BASEPORT + 2)) $((BASEPORT + 3)); do
        port_in_use "$p" && die "port $p is already in use"
    done
    ensure_tls
    ensure_users_file
    [ -z "$USERS_IN" ] || import_users
    mkdir -p "$MAILROOT"
    chown nobody:nogroup "$MAILROOT"
    chmod 755 "$MAILROOT"
    write_config
    echo "$BASEPORT" >"$D/baseport"
    rm -f "$RUN/master.pid"

    # Room for many IDLE sessions: raise the fd limit as far as allowed.
    # shellcheck disable=SC3045 # dash and bash both have ulimit -H/-n
    hard=$(ulimit -Hn)
    # shellcheck disable=SC3045
    if [ "$hard" = unlimited ]; then ulimit -n 1048576 2>/dev/null || true; else ulimit -n "$hard" 2>/dev/null || true; fi

    # Dovecot keeps stderr open: send it to a file, never to the caller's pipe.
    dovecot -c "$CONF" </dev/null >>"$D/stderr.log" 2>&1 ||
        { tail -n 20 "$D/stderr.log" "$D/dovecot.log" >&2 2>/dev/null || true; die "dovecot did not start"; }

    i=0
    until greeting "$BASEPORT" "* OK"; do
        i=$((i + 1))
        # (The daemonized master writes master.pid a moment after `dovecot` returns.)
        if [ "$i" -ge 150 ] || { [ "$i" -ge 20 ] && ! is_running; }; then
            tail -n 20 "$D/stderr.log" "$D/dovecot.log" >&2 2>/dev/null || true
            die "Dovecot on 127.0.0.1:$BASEPORT does not answer"
        fi
        sleep 0.1
    done
    line "$BASEPORT"
}

import_users() {
    n=0
    while IFS= read -r l || [ -n "$l" ]; do
        l=$(printf '%s' "$l" | tr -d '\r')
        case "$l" in '' | '#'*) continue ;; esac
        case "$l" in *:*) ;; *) die "USERS_FILE line without ':': $l" ;; esac
        e=$(normalize "${l%%:*}")
        check_email "$e"
        set_user "$e" "${l#*:}"
        ensure_maildir "$e"
        n=$((n + 1))
    done <"$USERS_IN"
    settle_users
    echo "$ME: $n user(s) from $USERS_IN" >&2
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    set_paths
    [ -f "$RUN/master.pid" ] || return 0
    pid=$(master_pid)
    is_number "$pid" || { rm -f "$RUN/master.pid"; return 0; }
    # The master, and whatever of its session is left (children outlive a killed master).
    if is_running; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    i=0
    while :; do
        left=$(session_pids "$pid")
        [ -n "$left" ] || break
        i=$((i + 1))
        if [ "$i" -eq 100 ]; then
            echo "$ME: processes $(printf '%s' "$left" | tr '\n' ' ') still there after 10 s; killing them" >&2
            for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
        elif [ "$i" -ge 150 ]; then
            die "Dovecot processes $(printf '%s' "$left" | tr '\n' ' ') do not stop"
        elif [ $((i % 20)) -eq 0 ]; then
            for p in $left; do kill -TERM "$p" 2>/dev/null || true; done
        fi
        sleep 0.1
    done
    rm -f "$RUN/master.pid"
}

cmd_status() {
    [ -d "$DIR" ] || exit 1
    set_paths
    is_running
}

cmd_adduser() {
    [ -d "$DIR" ] || mkdir -p "$DIR"
    set_paths
    e=$(normalize "$EMAIL")
    check_email "$e"
    set_user "$e" "$PASSWORD"
    ensure_maildir "$e"
    settle_users
    echo "$e"
}

cmd_place() {
    [ -d "$DIR" ] || die "no lab in $DIR"
    set_paths
    e=$(normalize "$EMAIL")
    user_known "$e" || die "unknown user $e (adduser first)"
    case "$DAYS" in
    '' | *[!0-9.]* | *.*.* | . ) die "DAYS_AGO must be a number of days" ;;
    esac
    [ "$FILE" = - ] || [ -r "$FILE" ] || die "cannot read $FILE"
    ensure_maildir "$e"
    md=$(maildir_of "$e")
    now=$(date +%s)
    when=$(awk -v n="$now" -v d="$DAYS" 'BEGIN { printf "%d", n - d * 86400 }')
    base=$when.M$(date +%N | sed 's/^0*//;s/^$/0/')P$$.mflab
    tmp=$md/tmp/$base
    if [ "$FILE" = - ]; then cat >"$tmp"; else cat -- "$FILE" >"$tmp"; fi
    size=$(wc -c <"$tmp" | tr -d ' ')
    touch -d "@$when" "$tmp"
    chown nobody:nogroup "$tmp"
    chmod 600 "$tmp"
    final=$md/cur/$base,S=$size:2,
    n=0
    while [ -e "$final" ]; do
        n=$((n + 1))
        final=$md/cur/${base}Q$n,S=$size:2,
    done
    mv "$tmp" "$final"
    echo "$final"
}

uidvalidity_of_file() {
    [ -f "$1/dovecot-uidlist" ] || return 0
    sed -n '1s/.* V\([0-9][0-9]*\).*/\1/p' "$1/dovecot-uidlist"
}

# doveadm_uidvalidity EMAIL: INBOX's UIDVALIDITY as Dovecot sees it (syncs INBOX first).
doveadm_uidvalidity() {
    doveadm -c "$CONF" mailbox status -u "$1" uidvalidity INBOX </dev/null |
        sed -n 's/^.*uidvalidity=\([0-9][0-9]*\).*$/\1/p'
}

cmd_uidvalidity_reset() {
    [ -d "$DIR" ] || die "no lab in $DIR"
    set_paths
    e=$(normalize "$EMAIL")
    user_known "$e" || die "unknown user $e"
    md=$(maildir_of "$e")
    [ -d "$md" ] || die "no Maildir for $e"
    running=
    is_running && running=1
    old=$(uidvalidity_of_file "$md")
    if [ -z "$old" ] && [ -n "$running" ]; then
        # Never synced yet: let Dovecot create its uidlist so that there is something to change.
        old=$(doveadm_uidvalidity "$e" 2>/dev/null) || true
    fi
    # INBOX is the Maildir root: its uidlist and indexes. dovecot-uidvalidity* (the source of
    # the next, higher UIDVALIDITY) and dovecot-keywords stay.
    rm -f "$md/dovecot-uidlist" "$md/dovecot-uidlist.lock" "$md"/dovecot.index*
    new=
    if [ -n "$running" ]; then
        new=$(doveadm_uidvalidity "$e" 2>"$D/doveadm.err") || true
        [ -n "$new" ] || { cat "$D/doveadm.err" >&2; die "doveadm mailbox status failed"; }
        [ "$new" != "$old" ] || die "UIDVALIDITY did not change ($old)"
    fi
    echo "OLD_UIDVALIDITY=$old UIDVALIDITY=$new"
}

[ $# -ge 1 ] || usage
ACTION=$1
case "$ACTION" in
install)
    [ $# -eq 1 ] || usage
    install_if_missing
    exit 0
    ;;
esac
[ $# -ge 2 ] || usage
DIR=$2
case "$ACTION" in
start)
    [ $# -eq 3 ] || [ $# -eq 4 ] || usage
    BASEPORT=$3
    USERS_IN=${4:-}
    if [ -n "$USERS_IN" ]; then USERS_IN=$(cd "$(dirname "$USERS_IN")" && pwd -P)/$(basename "$USERS_IN"); fi
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
adduser)
    [ $# -eq 4 ] || usage
    EMAIL=$3
    PASSWORD=$4
    cmd_adduser
    ;;
place)
    [ $# -eq 5 ] || usage
    EMAIL=$3
    DAYS=$4
    FILE=$5
    cmd_place
    ;;
uidvalidity-reset)
    [ $# -eq 3 ] || usage
    EMAIL=$3
    cmd_uidvalidity_reset
    ;;
*) usage ;;
esac
