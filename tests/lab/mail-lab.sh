#!/bin/sh
# mail-lab.sh — the whole mail lab in one DIR: Dovecot + delivering Postfix + smtp-sink.
#
#   tests/lab/mail-lab.sh start DIR BASEPORT [USERS_FILE]
#       uses six ports from BASEPORT on 127.0.0.1:
#         BASEPORT    IMAP (STARTTLS offered)   BASEPORT+3  Dovecot auth (Postfix SASL)
#         BASEPORT+1  IMAPS                     BASEPORT+4  SMTP (Postfix, AUTH, STARTTLS)
#         BASEPORT+2  LMTP                      BASEPORT+5  smtp-sink (accepts and discards)
#       prints on stdout three shell-assignable lines (eval "$(... start ...)" takes them all):
#         IMAP_PORT=... IMAPS_PORT=... LMTP_PORT=... AUTH_PORT=... CA_FILE=...
#         SMTP_PORT=... CA_FILE=...
#         SINK_PORT=...
#   tests/lab/mail-lab.sh stop DIR      stop all three (sink, Postfix, Dovecot)
#   tests/lab/mail-lab.sh status DIR    exit 0 if all three run (what runs goes to stderr)
#
# Users, placing old mail, UIDVALIDITY changes: tests/lab/dovecot.sh adduser|place|
# uidvalidity-reset DIR ... on the same DIR. See tests/lab/README.md.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd -P)
ME=mail-lab.sh

die() {
    echo "$ME: $*" >&2
    exit 1
}

usage() {
    die "usage: $0 start DIR BASEPORT [USERS_FILE] | stop DIR | status DIR"
}

[ $# -ge 2 ] || usage
ACTION=$1
DIR=$2
case "$ACTION" in
start)
    [ $# -eq 3 ] || [ $# -eq 4 ] || usage
    BASE=$3
    case "$BASE" in '' | *[!0-9]*) die "BASEPORT must be a number" ;; esac
    [ "$BASE" -ge 1 ] && [ "$BASE" -le 65530 ] || die "BASEPORT out of range"
    shift 3
    "$HERE/dovecot.sh" start "$DIR" "$BASE" "$@"
    "$HERE/postfix.sh" start "$DIR" $((BASE + 4)) $((BASE + 2)) $((BASE + 3))
    "$HERE/postfix.sh" sink-start "$DIR" $((BASE + 5))
    ;;
stop)
    [ $# -eq 2 ] || usage
    rc=0
    "$HERE/postfix.sh" sink-stop "$DIR" || rc=1
    "$HERE/postfix.sh" stop "$DIR" || rc=1
    "$HERE/dovecot.sh" stop "$DIR" || rc=1
    exit "$rc"
    ;;
status)
    [ $# -eq 2 ] || usage
    rc=0
    for what in "dovecot.sh status" "postfix.sh status" "postfix.sh sink-status"; do
        # shellcheck disable=SC2086
        if "$HERE/"$what "$DIR"; then
            echo "$ME: $what: running" >&2
        else
            echo "$ME: $what: not running" >&2
            rc=1
        fi
    done
    exit "$rc"
    ;;
*) usage ;;
esac
