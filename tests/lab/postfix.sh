#!/bin/sh
# postfix.sh — a private, throw-away Postfix that delivers to the lab Dovecot, and smtp-sink.
#
#   tests/lab/postfix.sh start DIR SMTP_PORT LMTP_PORT AUTH_PORT
#       own main.cf/master.cf in DIR/postfix/conf (nothing in /etc/postfix is read), started with
#       `postfix -c DIR/postfix/conf start`: smtpd on 127.0.0.1:SMTP_PORT only; mail for the
#       virtual domain (example.test) goes by LMTP to 127.0.0.1:LMTP_PORT (Dovecot), every other
#       domain bounces (error transport: nothing leaves the machine). SMTP AUTH PLAIN/LOGIN
#       against Dovecot's auth at 127.0.0.1:AUTH_PORT, allowed without TLS; STARTTLS offered
#       with the lab certificate (DIR/tls, shared with dovecot.sh, made if missing). Relaying is
#       permitted for authenticated clients and 127.0.0.0/8. Once the port answers its
#       greeting, prints on stdout one shell-assignable line:
#         SMTP_PORT=... CA_FILE=...
#   tests/lab/postfix.sh stop DIR           stop it and make sure no process of it is left
#   tests/lab/postfix.sh status DIR         exit 0 if it runs
#   tests/lab/postfix.sh sink-start DIR PORT
#       run `smtp-sink -u nobody -m 2000 127.0.0.1:PORT 1024` in the background (it accepts and
#       discards everything: for throughput tests; pid in DIR/smtp-sink/pid); prints
#         SINK_PORT=...
#   tests/lab/postfix.sh sink-stop DIR      kill it
#   tests/lab/postfix.sh sink-status DIR    exit 0 if it runs
#   tests/lab/postfix.sh install            install the Debian packages if missing
#
# Idempotent: start (sink-start) on a running instance with the same port only prints its line;
# stop on a stopped one does nothing. Runs as root (postfix start needs it), no systemd, no
# stdin. Diagnostics go to stderr, Postfix's log to DIR/postfix/maillog. Env: LAB_DOMAIN
# (default example.test), LAB_TLS_DIR (folder with cert.pem and key.pem, default DIR/tls: give
# the Dovecot DIR's tls/ when the two use different DIRs), LAB_SINK_OPTS (more smtp-sink
# options).
set -eu

PATH=$PATH:/usr/sbin:/sbin
export PATH
DOMAIN=${LAB_DOMAIN:-example.test}
ME=postfix.sh
MASTER=/usr/lib/postfix/sbin/master

die() {
    echo "$ME: $*" >&2
    exit 1
}

usage() {
    die "usage: $0 start DIR SMTP_PORT LMTP_PORT AUTH_PORT | stop DIR | status DIR | sink-start DIR PORT | sink-stop DIR | sink-status DIR | install"
}

is_number() {
    case "$1" in '' | *[!0-9]*) return 1 ;; esac
    return 0
}

check_port() {
    is_number "$2" && [ "$2" -ge 1 ] && [ "$2" -le 65535 ] || die "$1 must be a port number"
}

# --- packages --------------------------------------------------------------------------------

installed() {
    command -v postfix >/dev/null 2>&1 && [ -x "$MASTER" ] && [ -x /usr/sbin/smtp-sink ] &&
        command -v openssl >/dev/null 2>&1
}

install_if_missing() {
    installed && return 0
    [ "$(id -u)" = 0 ] || die "Postfix is not installed (apt-get install postfix, as root)"
    echo "$ME: installing postfix openssl" >&2
    # No system configuration (no main.cf, nothing listening on port 25) ...
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    # ... and package scripts must not start a system Postfix (create policy-rc.d if missing).
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
                -o DPkg::Lock::Timeout=600 postfix openssl </dev/null >&2
    } || rc=$?
    [ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install postfix failed"
    installed || die "postfix installed but its binaries not found"
}

# --- paths and processes ---------------------------------------------------------------------

set_paths() {
    DIR=$(cd "$DIR" && pwd -P)
    case "$DIR" in
    *[!A-Za-z0-9_./+-]*) die "DIR must be a plain path (letters, digits, _ . / + -): $DIR" ;;
    esac
    P=$DIR/postfix
    CONFD=$P/conf
    QUEUE=$P/queue
    TLS=${LAB_TLS_DIR:-$DIR/tls}
    SINK=$DIR/smtp-sink
}

# proc_ok PID EXE-GLOB: pid is live (not a zombie) and runs a binary matching EXE-GLOB.
proc_ok() {
    is_number "$1" || return 1
    [ -r "/proc/$1/stat" ] || return 1
    [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ] || return 1
    exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
    # shellcheck disable=SC2254
    case "$exe" in $2) return 0 ;; esac
    return 1
}

master_pid() {
    tr -d ' \n' <"$QUEUE/pid/master.pid" 2>/dev/null
}

is_running() {
    [ -f "$QUEUE/pid/master.pid" ] || return 1
    pid=$(master_pid)
    proc_ok "$pid" "$MASTER" || return 1
    # ... and it is this DIR's instance (the master works in its queue directory).
    [ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" = "$QUEUE" ]
}

# Postfix processes in the session of master pid $1 (the master calls setsid()).
session_pids() {
    for f in /proc/[0-9]*/stat; do
        { IFS= read -r st <"$f"; } 2>/dev/null || continue
        # shellcheck disable=SC2086 # split the fields on purpose
        set -- "$1" ${st##*) }
        [ "${5:-}" = "$1" ] || continue
        p=${f#/proc/}
        p=${p%/stat}
        proc_ok "$p" '/usr/lib/postfix/sbin/*' && echo "$p"
    done
    return 0
}

port_in_use() {
    hex=$(printf ':%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }'
}

# greeting PORT PREFIX: does 127.0.0.1:PORT answer a first line starting with PREFIX?
greeting() {
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        IFS= read -r -t 3 line <&3 || exit 1
        printf "QUIT\r\n" >&3 2>/dev/null
        exec 3<&-
        case "$line" in "$2"*) exit 0 ;; esac
        exit 1' greeting "$1" "$2" 2>/dev/null
}

# Same certificate as dovecot.sh makes (if DIR is shared with it, that one is used).
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

# --- config ----------------------------------------------------------------------------------

write_config() {
    # queue/ and data/ must not lie inside the config folder (postfix-script wants all of that
    # owned by root).
    mkdir -p "$CONFD" "$QUEUE" "$P/data"
    chown root:root "$QUEUE"
    chmod 755 "$QUEUE"
    chown postfix: "$P/data"
    cat >"$CONFD/main.cf.tmp" <<EOF
# mailfleet lab (tests/lab/postfix.sh) — generated on every start, do not edit.
compatibility_level = 3.6
queue_directory = $QUEUE
data_directory = $P/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $P/maillog
maillog_file_prefixes = $P
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C
biff = no

myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP mailfleet lab

# Mail for the lab domain goes to Dovecot by LMTP; nothing else can leave.
virtual_mailbox_domains = $DOMAIN
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
relay_domains =
local_transport = error:5.1.1 the lab has no local delivery
default_transport = error:5.7.1 the lab delivers only to $DOMAIN
relay_transport = error:5.7.1 the lab delivers only to $DOMAIN
message_size_limit = 52428800
# Retry soon when Dovecot was down (tests restart it).
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
delay_warning_time = 0

# SMTP AUTH against the lab Dovecot; plaintext AUTH is fine on loopback.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTH_PORT
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_tls_auth_only = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/cert.pem
smtpd_tls_key_file = $TLS/key.pem
smtpd_tls_loglevel = 0
smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated reject_unauth_destination
smtpd_recipient_restrictions = permit_sasl_authenticated permit_mynetworks reject_unauth_destination
EOF
    mv -f "$CONFD/main.cf.tmp" "$CONFD/main.cf"
    # No chroot anywhere (the queue is a private folder, not a prepared jail).
    cat >"$CONFD/master.cf.tmp" <<EOF
# mailfleet lab (tests/lab/postfix.sh) — generated on every start, do not edit.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
    mv -f "$CONFD/master.cf.tmp" "$CONFD/master.cf"
    # Postfix waits until a main.cf it reads is a few seconds old (it could still be being
    # written): date the files back instead of waiting 2 s on every start.
    touch -d "@$(($(date +%s) - 60))" "$CONFD/main.cf" "$CONFD/master.cf"
    echo "$SMTP_PORT" >"$P/smtp_port"
}

line() {
    echo "SMTP_PORT=$1 CA_FILE=$TLS/cert.pem"
}

# --- commands --------------------------------------------------------------------------------

cmd_start() {
    check_port SMTP_PORT "$SMTP_PORT"
    check_port LMTP_PORT "$LMTP_PORT"
    check_port AUTH_PORT "$AUTH_PORT"
    [ "$(id -u)" = 0 ] || die "must run as root (postfix start needs it)"
    install_if_missing
    mkdir -p "$DIR"
    set_paths
    chmod 755 "$DIR"

    if is_running; then
        running=$(cat "$P/smtp_port" 2>/dev/null || true)
        [ "$running" = "$SMTP_PORT" ] ||
            die "Postfix already runs in $DIR on port $running, not $SMTP_PORT"
        line "$SMTP_PORT"
        return 0
    fi
    port_in_use "$SMTP_PORT" && die "port $SMTP_PORT is already in use"
    ensure_tls
    write_config
    rm -f "$QUEUE/pid/master.pid"
    # `postfix start` runs `postfix check` first (maillog_file must be allowed by
    # maillog_file_prefixes, or that check fails with little said).
    postfix -c "$CONFD" start </dev/null >"$P/start.out" 2>&1 ||
        { cat "$P/start.out" >&2; tail -n 20 "$P/maillog" >&2 2>/dev/null || true; die "postfix start failed"; }

    i=0
    until greeting "$SMTP_PORT" 220; do
        i=$((i + 1))
        if [ "$i" -ge 150 ]; then
            tail -n 20 "$P/maillog" >&2 2>/dev/null || true
            die "Postfix on 127.0.0.1:$SMTP_PORT does not answer"
        fi
        sleep 0.1
    done
    line "$SMTP_PORT"
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    set_paths
    [ -f "$QUEUE/pid/master.pid" ] || return 0
    pid=$(master_pid)
    is_number "$pid" || { rm -f "$QUEUE/pid/master.pid"; return 0; }
    if is_running; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    # The master, and whatever of its session is left.
    i=0
    while :; do
        left=$(session_pids "$pid")
        [ -n "$left" ] || break
        i=$((i + 1))
        if [ "$i" -eq 100 ]; then
            echo "$ME: processes $(printf '%s' "$left" | tr '\n' ' ') still there after 10 s; killing them" >&2
            for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
        elif [ "$i" -ge 150 ]; then
            die "Postfix processes $(printf '%s' "$left" | tr '\n' ' ') do not stop"
        fi
        sleep 0.1
    done
    rm -f "$QUEUE/pid/master.pid"
}

cmd_status() {
    [ -d "$DIR" ] || exit 1
    set_paths
    is_running
}

sink_pid() {
    cat "$SINK/pid" 2>/dev/null
}

sink_running() {
    [ -f "$SINK/pid" ] && proc_ok "$(sink_pid)" '*/smtp-sink'
}

cmd_sink_start() {
    check_port PORT "$PORT"
    [ "$(id -u)" = 0 ] || die "must run as root"
    install_if_missing
    mkdir -p "$DIR"
    set_paths
    mkdir -p "$SINK"
    if sink_running; then
        running=$(cat "$SINK/port" 2>/dev/null || true)
        [ "$running" = "$PORT" ] || die "smtp-sink already runs in $DIR on port $running, not $PORT"
        echo "SINK_PORT=$PORT"
        return 0
    fi
    port_in_use "$PORT" && die "port $PORT is already in use"
    echo "$PORT" >"$SINK/port"
    # In its own session, away from the caller's terminal and pipes; dash runs it in the
    # background without job control, so setsid execs in place and $! is smtp-sink's pid.
    # shellcheck disable=SC2086
    setsid /usr/sbin/smtp-sink -u nobody -m 2000 ${LAB_SINK_OPTS:-} "127.0.0.1:$PORT" 1024 \
        </dev/null >>"$SINK/log" 2>&1 &
    pid=$!
    echo "$pid" >"$SINK/pid"
    # (Until it has exec'd, the child is not smtp-sink yet: only check that it lives.)
    i=0
    until greeting "$PORT" 220; do
        i=$((i + 1))
        if [ "$i" -ge 100 ] || ! proc_ok "$pid" '*'; then
            tail -n 20 "$SINK/log" >&2 2>/dev/null || true
            kill "$pid" 2>/dev/null || true
            rm -f "$SINK/pid"
            die "smtp-sink on 127.0.0.1:$PORT does not answer"
        fi
        sleep 0.1
    done
    sink_running || die "the process answering on 127.0.0.1:$PORT is not smtp-sink $pid"
    echo "SINK_PORT=$PORT"
}

cmd_sink_stop() {
    [ -d "$DIR" ] || return 0
    set_paths
    [ -f "$SINK/pid" ] || return 0
    pid=$(sink_pid)
    if sink_running; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while proc_ok "$pid" '*/smtp-sink'; do
            i=$((i + 1))
            [ "$i" -ne 50 ] || kill -KILL "$pid" 2>/dev/null || true
            [ "$i" -lt 100 ] || die "smtp-sink $pid does not stop"
            sleep 0.1
        done
    fi
    rm -f "$SINK/pid"
}

cmd_sink_status() {
    [ -d "$DIR" ] || exit 1
    set_paths
    sink_running
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
    [ $# -eq 5 ] || usage
    SMTP_PORT=$3
    LMTP_PORT=$4
    AUTH_PORT=$5
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
sink-start)
    [ $# -eq 3 ] || usage
    PORT=$3
    cmd_sink_start
    ;;
sink-stop)
    [ $# -eq 2 ] || usage
    cmd_sink_stop
    ;;
sink-status)
    [ $# -eq 2 ] || usage
    cmd_sink_status
    ;;
*) usage ;;
esac
