#!/usr/bin/env bash
# test_lab.sh — self-test of the mail lab (dovecot.sh, postfix.sh, mail-lab.sh) against the
# real servers, on loopback only. Prints TAP (`ok N - ...`) and a closing
# `# test_lab: N passed, N failed` line (a TAP comment); exits non-zero on any failure.
#
#   tests/lab/test_lab.sh [--keep] [DIR]
#
# DIR (default: a new temp folder, removed afterwards unless the test failed or --keep) holds
# the lab; the ports are six free ones from a random base in 20000–29999. Needs root (the lab
# scripts install dovecot/postfix if missing) and curl. Everything it starts it stops.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
DOVECOT=$HERE/dovecot.sh
POSTFIX=$HERE/postfix.sh
LAB=$HERE/mail-lab.sh

keep=0
DIR=
for a in "$@"; do
    case "$a" in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "test_lab.sh: unknown option $a" >&2; exit 2 ;;
    *) DIR=$a ;;
    esac
done

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 40 | sed 's/^/#   /'; fi
}
diag() {
    echo "# $*"
}
# check DESC CMD...: ok if CMD succeeds (its output is shown on failure).
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}
secs() { # ms -> "1.234"
    printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

command -v curl >/dev/null || { echo "Bail out! curl is needed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "Bail out! run as root"; exit 1; }

made_dir=0
if [ -z "$DIR" ]; then
    DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailfleet-lab.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
    made_dir=1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)

port_in_use() {
    local hex
    hex=$(printf ':%04X' "$1")
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -v h="$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }'
}

# Six consecutive free ports from a random base in 20000–29999.
BASE=
for _ in $(seq 1 100); do
    b=$((20000 + RANDOM % 9990))
    free=1
    for p in $(seq "$b" $((b + 5))); do
        if port_in_use "$p"; then free=0; break; fi
    done
    if [ "$free" = 1 ]; then BASE=$b; break; fi
done
[ -n "$BASE" ] || { echo "Bail out! no free ports in 20000-29999"; exit 1; }

cleanup() {
    "$LAB" stop "$DIR" >/dev/null 2>&1 || true
    if [ "$keep" = 0 ] && [ "$failed" = 0 ] && [ "$made_dir" = 1 ]; then
        rm -rf "$DIR"
    else
        echo "# lab folder kept: $DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

diag "lab in $DIR, ports $BASE-$((BASE + 5))"

# --- start -----------------------------------------------------------------------------------

t0=$(now_ms)
if dline=$("$DOVECOT" start "$DIR" "$BASE" 2>"$DIR/start-dovecot.err"); then
    t_dovecot=$(($(now_ms) - t0))
    eval "$dline"
    if [ "${IMAP_PORT:-}" = "$BASE" ] && [ "${IMAPS_PORT:-}" = $((BASE + 1)) ] &&
        [ "${LMTP_PORT:-}" = $((BASE + 2)) ] && [ "${AUTH_PORT:-}" = $((BASE + 3)) ] &&
        [ -s "${CA_FILE:-}" ]; then
        ok "dovecot.sh start prints the ports and CA file ($(secs "$t_dovecot") s)"
    else
        not_ok "dovecot.sh start prints the ports and CA file" "$dline"
    fi
else
    not_ok "dovecot.sh start" "$(cat "$DIR/start-dovecot.err")"
    echo "Bail out! Dovecot did not start"
    exit 1
fi
t0=$(now_ms)
if pline=$("$POSTFIX" start "$DIR" $((BASE + 4)) "$LMTP_PORT" "$AUTH_PORT" 2>"$DIR/start-postfix.err"); then
    t_postfix=$(($(now_ms) - t0))
    eval "$pline"
    if [ "${SMTP_PORT:-}" = $((BASE + 4)) ]; then
        ok "postfix.sh start prints SMTP_PORT ($(secs "$t_postfix") s)"
    else
        not_ok "postfix.sh start prints SMTP_PORT" "$pline"
    fi
else
    not_ok "postfix.sh start" "$(cat "$DIR/start-postfix.err")"
    echo "Bail out! Postfix did not start"
    exit 1
fi
t0=$(now_ms)
if sline=$("$POSTFIX" sink-start "$DIR" $((BASE + 5)) 2>"$DIR/start-sink.err"); then
    t_sink=$(($(now_ms) - t0))
    eval "$sline"
    if [ "${SINK_PORT:-}" = $((BASE + 5)) ]; then
        ok "postfix.sh sink-start prints SINK_PORT ($(secs "$t_sink") s)"
    else
        not_ok "postfix.sh sink-start prints SINK_PORT" "$sline"
    fi
else
    not_ok "postfix.sh sink-start" "$(cat "$DIR/start-sink.err")"
fi
diag "start times: dovecot $(secs "$t_dovecot") s, postfix $(secs "$t_postfix") s, smtp-sink $(secs "${t_sink:-0}") s"

all=$("$LAB" start "$DIR" "$BASE" 2>&1)
if [ "$all" = "$(printf '%s\n%s\n%s' "$dline" "$pline" "$sline")" ]; then
    ok "start again on the running lab (mail-lab.sh) prints the same lines"
else
    not_ok "start again on the running lab (mail-lab.sh) prints the same lines" "$all"
fi
check "mail-lab.sh status: all running" "$LAB" status "$DIR"

# --- users and IMAP --------------------------------------------------------------------------

check "adduser alice@example.test" "$DOVECOT" adduser "$DIR" alice@example.test secret
check "adduser bob (domain added)" test "$("$DOVECOT" adduser "$DIR" bob secret)" = bob@example.test

CURL=(curl -sS --max-time 20)
IMAP=imap://127.0.0.1:$IMAP_PORT
IMAPS=imaps://127.0.0.1:$IMAPS_PORT
ALICE=(--user alice@example.test:secret)

list_ok() { # output of a LIST: INBOX and the special-use folders
    grep -q 'INBOX' <<<"$1" && grep -q '\\Sent.*Sent' <<<"$1" && grep -q '\\Drafts' <<<"$1" &&
        grep -q '\\Trash' <<<"$1" && grep -q '\\Junk' <<<"$1"
}
out=$("${CURL[@]}" "${ALICE[@]}" "$IMAP/" 2>&1)
if list_ok "$out"; then ok "IMAP plain LOGIN + LIST (INBOX, \\Sent \\Drafts \\Trash \\Junk)"; else not_ok "IMAP plain LOGIN + LIST" "$out"; fi
out=$("${CURL[@]}" "${ALICE[@]}" --ssl-reqd --cacert "$CA_FILE" "$IMAP/" 2>&1)
if list_ok "$out"; then ok "IMAP STARTTLS (certificate verified) LOGIN + LIST"; else not_ok "IMAP STARTTLS LOGIN + LIST" "$out"; fi
out=$("${CURL[@]}" "${ALICE[@]}" --cacert "$CA_FILE" "$IMAPS/" -X 'LIST "" "*" RETURN (SPECIAL-USE)' 2>&1)
if list_ok "$out"; then ok "IMAPS (certificate verified) LOGIN + LIST RETURN (SPECIAL-USE)"; else not_ok "IMAPS LOGIN + LIST" "$out"; fi
out=$("${CURL[@]}" --user alice@example.test:wrong "$IMAP/" 2>&1)
rc=$?
if [ "$rc" = 67 ]; then ok "IMAP LOGIN with a wrong password is refused"; else not_ok "IMAP LOGIN with a wrong password is refused (curl rc $rc)" "$out"; fi

"$DOVECOT" adduser "$DIR" carol first >/dev/null 2>&1
"$DOVECOT" adduser "$DIR" carol second >/dev/null 2>&1
out=$("${CURL[@]}" --user carol@example.test:second "$IMAP/" 2>&1)
if list_ok "$out"; then ok "adduser on a running lab: a changed password works at once"; else not_ok "adduser on a running lab: a changed password works at once" "$out"; fi

# --- SMTP through Postfix into Dovecot -------------------------------------------------------

SMTP=smtp://127.0.0.1:$SMTP_PORT
token=lab$$x$RANDOM
mkmsg() { # mkmsg SUBJECT > file
    printf 'From: Bob <bob@example.test>\r\nTo: Alice <alice@example.test>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\nHello Alice,\r\nthis is %s.\r\n' \
        "$1" "$(LC_ALL=C date -R)" "$1.$RANDOM" "$1"
}
mkmsg "plain-$token" >"$DIR/plain.eml"
mkmsg "tls-$token" >"$DIR/tls.eml"
check "SMTP AUTH PLAIN without TLS, bob -> alice" \
    "${CURL[@]}" "$SMTP" --mail-from bob@example.test --mail-rcpt alice@example.test \
    --user bob@example.test:secret -T "$DIR/plain.eml"
check "SMTP STARTTLS (certificate verified) + AUTH, bob -> alice" \
    "${CURL[@]}" --ssl-reqd --cacert "$CA_FILE" "$SMTP" --mail-from bob@example.test \
    --mail-rcpt alice@example.test --user bob@example.test:secret -T "$DIR/tls.eml"
out=$("${CURL[@]}" "$SMTP" --mail-from bob@example.test --mail-rcpt alice@example.test \
    --user bob@example.test:wrong -T "$DIR/plain.eml" 2>&1)
rc=$?
if [ "$rc" = 67 ]; then ok "SMTP AUTH with a wrong password is refused"; else not_ok "SMTP AUTH with a wrong password is refused (curl rc $rc)" "$out"; fi
out=$("${CURL[@]}" "$SMTP" --mail-from bob@example.test --mail-rcpt someone@example.com \
    --user bob@example.test:secret -T "$DIR/plain.eml" 2>&1)
rc=$?
if [ "$rc" != 0 ]; then ok "SMTP to another domain is refused (nothing leaves)"; else not_ok "SMTP to another domain is refused" "$out"; fi

# search QUERY: the UIDs of alice's INBOX that match (space separated).
search() {
    "${CURL[@]}" "${ALICE[@]}" "$IMAP/INBOX" -X "UID SEARCH $1" 2>/dev/null |
        tr -d '\r' | sed -n 's/^\* SEARCH *//p' | tr -s ' ' | sed 's/ *$//'
}
t0=$(now_ms)
uid_plain=
uid_tls=
for _ in $(seq 1 100); do
    uid_plain=$(search "SUBJECT plain-$token")
    uid_tls=$(search "SUBJECT tls-$token")
    [ -n "$uid_plain" ] && [ -n "$uid_tls" ] && break
    sleep 0.2
done
t_deliver=$(($(now_ms) - t0))
if [ -n "$uid_plain" ] && [ -n "$uid_tls" ]; then
    ok "both messages delivered to alice's INBOX via LMTP (UIDs $uid_plain, $uid_tls; seen after $(secs "$t_deliver") s)"
else
    not_ok "both messages delivered to alice's INBOX" "$(tail -n 20 "$DIR/postfix/maillog" 2>&1)"
fi
body=$("${CURL[@]}" "${ALICE[@]}" "$IMAP/INBOX;UID=${uid_plain:-0}" 2>&1)
if grep -q "this is plain-$token" <<<"$body" && grep -qi '^Received: .*mail.example.test' <<<"$body"; then
    ok "UID FETCH returns the delivered message"
else
    not_ok "UID FETCH returns the delivered message" "$body"
fi

# --- old mail, INTERNALDATE and SEARCH SINCE ------------------------------------------------

mkmsg "old-$token" >"$DIR/old.eml"
mkmsg "new-$token" >"$DIR/new.eml"
old_path=$("$DOVECOT" place "$DIR" alice@example.test 40 "$DIR/old.eml" 2>&1)
rc1=$?
new_path=$("$DOVECOT" place "$DIR" alice 0 - <"$DIR/new.eml" 2>&1)
rc2=$?
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] && [ -f "$old_path" ] && [ -f "$new_path" ] &&
    [ "$(stat -c %U:%G "$old_path")" = nobody:nogroup ]; then
    ok "place puts messages into alice's Maildir cur/, owned by nobody"
else
    not_ok "place puts messages into alice's Maildir cur/" "$old_path
$new_path"
fi
uid_old=$(search "SUBJECT old-$token")
uid_new=$(search "SUBJECT new-$token")
if [ -n "$uid_old" ] && [ -n "$uid_new" ]; then
    ok "placed messages get UIDs ($uid_old, $uid_new)"
else
    not_ok "placed messages get UIDs" "old=$uid_old new=$uid_new"
fi
out=$("${CURL[@]}" "${ALICE[@]}" "$IMAP/INBOX" -X "UID FETCH ${uid_old:-0} INTERNALDATE" 2>&1)
idate=$(sed -n 's/.*INTERNALDATE "\([^"]*\)".*/\1/p' <<<"$out" | head -n 1)
got=$(date -d "$(tr '-' ' ' <<<"${idate% *}") ${idate##* }" +%s 2>/dev/null || echo 0)
want=$(($(date +%s) - 40 * 86400))
if [ $((got - want)) -gt -120 ] && [ $((got - want)) -lt 120 ]; then
    ok "INTERNALDATE of the placed message is 40 days ago ($idate)"
else
    not_ok "INTERNALDATE of the placed message is 40 days ago" "$out"
fi
since=$(LC_ALL=C date -d '30 days ago' +%d-%b-%Y)
res=" $(search "SINCE $since") "
all=" $(search ALL) "
expect_in=1
for u in $uid_new $uid_plain $uid_tls; do
    case "$res" in *" $u "*) ;; *) expect_in=0 ;; esac
done
if [ -n "$uid_old" ] && [ "$expect_in" = 1 ] && [[ "$res" != *" $uid_old "* ]] &&
    [ $(($(wc -w <<<"$all") - 1)) = "$(wc -w <<<"$res")" ]; then
    ok "UID SEARCH SINCE $since returns all but the 40-day-old message"
else
    not_ok "UID SEARCH SINCE $since returns all but the 40-day-old message" "SINCE:$res ALL:$all old=$uid_old"
fi

# --- UIDVALIDITY change ---------------------------------------------------------------------

examine() { # prints "UIDVALIDITY EXISTS"
    local out
    out=$("${CURL[@]}" "${ALICE[@]}" "$IMAP/" -X 'EXAMINE INBOX' 2>/dev/null | tr -d '\r')
    echo "$(sed -n 's/.*\[UIDVALIDITY \([0-9]*\)\].*/\1/p' <<<"$out") $(sed -n 's/^\* \([0-9]*\) EXISTS/\1/p' <<<"$out")"
}
before=$(examine)
rline=$("$DOVECOT" uidvalidity-reset "$DIR" alice@example.test 2>&1)
rc=$?
after=$(examine)
OLD_UIDVALIDITY=
UIDVALIDITY=
[ "$rc" = 0 ] && eval "$rline"
if [ "$rc" = 0 ] && [ -n "${before%% *}" ] && [ "${after%% *}" != "${before%% *}" ] &&
    [ "${after#* }" = "${before#* }" ] && [ "$OLD_UIDVALIDITY" = "${before%% *}" ] &&
    [ "$UIDVALIDITY" = "${after%% *}" ] && [ "${after%% *}" -gt "${before%% *}" ]; then
    ok "uidvalidity-reset: EXAMINE shows a new, higher UIDVALIDITY, same messages ($before -> $after)"
else
    not_ok "uidvalidity-reset changes UIDVALIDITY" "before: $before, after: $after, printed: $rline"
fi
res=$(search "SUBJECT new-$token")
if [ -n "$res" ]; then ok "messages are still found after the reset (UID $res)"; else not_ok "messages are still found after the reset"; fi

# --- smtp-sink -------------------------------------------------------------------------------

out=$("${CURL[@]}" "smtp://127.0.0.1:$((BASE + 5))" --mail-from bob@example.test \
    --mail-rcpt anyone@example.org -T "$DIR/plain.eml" 2>&1)
rc=$?
if [ "$rc" = 0 ]; then ok "smtp-sink accepts a message"; else not_ok "smtp-sink accepts a message" "$out"; fi

# --- stop ------------------------------------------------------------------------------------

INSTANCE=mflab-$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
# lab_procs: live (non-zombie) processes of this lab: Dovecot's (instance name in their title
# or our config in their command line), Postfix's (working in our queue), the sink (its port).
lab_procs() { # (bash builtins only: no fork per process)
    local f p st cmd a
    for f in /proc/[0-9]*; do
        p=${f#/proc/}
        { IFS= read -r st <"$f/stat"; } 2>/dev/null || continue
        st=${st##*) }
        [ "${st:0:1}" != Z ] || continue
        a=()
        { mapfile -d '' -t a <"$f/cmdline"; } 2>/dev/null || continue
        cmd="${a[*]}"
        case "$cmd" in
        *"$INSTANCE"* | *"$DIR/dovecot/"* | *smtp-sink*"127.0.0.1:$((BASE + 5))"*) echo "$p $cmd"; continue ;;
        esac
        if [ "$f/cwd" -ef "$DIR/postfix/queue" ]; then echo "$p $cmd"; fi
    done
    return 0
}
n_before=$(lab_procs | wc -l)
t0=$(now_ms)
out=$("$LAB" stop "$DIR" 2>&1)
rc=$?
t_stop=$(($(now_ms) - t0))
if [ "$rc" = 0 ]; then ok "mail-lab.sh stop ($(secs "$t_stop") s)"; else not_ok "mail-lab.sh stop" "$out"; fi
left=$(lab_procs)
if [ "$n_before" -ge 8 ] && [ -z "$left" ]; then
    ok "no dovecot/postfix/smtp-sink process of the lab is left ($n_before before)"
else
    not_ok "no dovecot/postfix/smtp-sink process of the lab is left ($n_before before)" "$left"
fi
busy=
for p in $(seq "$BASE" $((BASE + 5))); do port_in_use "$p" && busy="$busy $p"; done
if [ -z "$busy" ]; then ok "all six ports are free again"; else not_ok "all six ports are free again" "busy:$busy"; fi
st=0
"$DOVECOT" status "$DIR" 2>/dev/null && st=1
"$POSTFIX" status "$DIR" 2>/dev/null && st=1
"$POSTFIX" sink-status "$DIR" 2>/dev/null && st=1
if [ "$st" = 0 ]; then ok "status reports all stopped"; else not_ok "status reports all stopped"; fi
check "stop on a stopped lab does nothing" "$LAB" stop "$DIR"

diag "timings: dovecot start $(secs "$t_dovecot") s, postfix start $(secs "$t_postfix") s, delivery seen $(secs "$t_deliver") s, stop $(secs "$t_stop") s"
echo "1..$n"
echo "# test_lab: $((n - failed)) passed, $failed failed"
[ "$failed" = 0 ]
