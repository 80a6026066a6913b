#!/usr/bin/env python3
"""test_engine.py — the mail engine of `mailfleet serve` against real servers on loopback:
Dovecot (IMAP, STARTTLS and implicit TLS with the lab CA) and Postfix (SMTP → LMTP → Maildir),
from tests/lab/dovecot.sh and tests/lab/postfix.sh.

  R12  health: good over STARTTLS and TLS; error with a certificate reason without the CA
       (a second server); failing on a refused password, not retried, fixed by PATCH, with
       mailbox_failing / mailbox_recovered notifications; error while Dovecot is down and good
       again after it restarts, with no duplicate messages.
  R13  the 30-day backfill (5/20/29 days in, 31/45/90 out); new mail through Postfix seen
       within 5 s by IDLE (long-poll events); bursts of 40 (Postfix) and 1,000 + 10 (Maildir,
       the 10 arriving during the fetch) all imported; a UIDVALIDITY change imports
       no duplicates.
  R22  a reply to a message in Sent: classification reply, outbound_id, same conversation.
  R23  out-of-office with a return date; hard (5.1.1) and soft (4.4.1) DSNs; a real DSN from
       Postfix.
  R24  the Maildir files (names carry the flags) are the same before and after a full sync,
       IDLE and a reconnection; unread mail stays unread; Dovecot counts no delete/expunge.

Each mailbox has its own Dovecot user, so the tests do not disturb one another; the Dovecot
restart uses a second Dovecot instance. Everything started here is stopped at the end, also
on failure or SIGTERM. Needs root (the lab scripts run Dovecot and Postfix).
Run alone: python3 tests/engine/test_engine.py (TAP on stdout); MAILFLEET_KEEP_TMP=1 keeps the
folders. Python 3 standard library only.
"""
import calendar
import datetime
import grp
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import harness  # noqa: E402
from harness import Env, Fail, Suite, check, expect, short, wait  # noqa: E402
from lab import Lab, address, message  # noqa: E402

suite = Suite("engine")


timed = suite.timed


S = types.SimpleNamespace(lab=None, lab2=None, env=None, extra_envs=[], org=None, admin=None,
                          passwords={})

# Knobs for the server under test (set in os.environ before the harness starts it).
ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",      # reconnect backoff cap
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    # High on purpose: new mail must be seen through IDLE's EXISTS, not by a timer.
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
}
USERS = ["stan", "tina", "wendy", "bea", "ivy", "alice", "olive", "uma", "rita", "sam", "vera"]
PROSPECT = "prospect.test"


# --- helpers -------------------------------------------------------------------------------


def bare(mid):
    return (mid or "").strip().strip("<>")


def new_mid(tag):
    return "<%s.%s@%s>" % (tag, secrets.token_hex(6), PROSPECT)


def rfc2822(days_ago=0.0):
    t = time.time() - days_ago * 86400
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def seat(env, local):
    """A member of the test organisation named after the Dovecot user."""
    return env.user(address(local), local.capitalize() + " Tester", "user", S.org)


def imap_settings(local, lab=None, security="starttls", password=None, port=None):
    lab = lab or S.lab
    if port is None:
        port = lab.imaps_port if security == "tls" else lab.imap_port
    return {"host": "127.0.0.1", "port": port, "security": security,
            "username": address(local), "password": password or S.passwords[local]}


def add_mailbox(env, who, local, lab=None, **imap_kw):
    lab = lab or S.lab
    imap = imap_settings(local, lab, **imap_kw)
    smtp = {"host": "127.0.0.1", "port": lab.smtp_port or 25, "security": "none",
            "username": address(local), "password": imap["password"]}
    env.secrets.add(imap["password"])
    mb = expect(env.req("POST", "/mailboxes", who.token,
                        {"owner_id": who.id, "address": address(local), "imap": imap,
                         "smtp": smtp}), 201)
    return mb


def get_mailbox(env, who, mid):
    return expect(env.req("GET", "/mailboxes/%s" % mid, who.token), 200)


def wait_status(env, who, mid, status, timeout=20, reason=None):
    def probe():
        m = get_mailbox(env, who, mid)
        ok = m.get("status") == status and (reason is None or reason(m.get("status_reason") or ""))
        return ok, m
    return wait("mailbox %s to be %s" % (mid, status), probe, timeout)


def wait_synced(env, who, mid, imported=None, timeout=20):
    """good, backfill_done, and (if given) exactly `imported` messages so far."""
    def probe():
        m = get_mailbox(env, who, mid)
        sy = m.get("sync") or {}
        ok = (m.get("status") == "good" and sy.get("backfill_done") is True
              and sy.get("last_sync_at") and
              (imported is None or sy.get("messages_imported") == imported))
        return ok, m
    return wait("mailbox %s good and synced%s" % (
        mid, "" if imported is None else " with %d messages" % imported), probe, timeout)


def inbox(env, who, mid, **q):
    qs = "&".join(["mailbox_id=%s" % mid, "limit=500"] + ["%s=%s" % kv for kv in q.items()])
    return expect(env.req("GET", "/inbox?" + qs, who.token), 200)["items"]


def conversation(env, who, cid):
    return expect(env.req("GET", "/conversations/%s" % cid, who.token), 200)


def all_messages(env, who, mid):
    """Every message of a mailbox, through the inbox and its conversations."""
    out = []
    for c in inbox(env, who, mid):
        for m in conversation(env, who, c["id"]).get("messages") or []:
            m["_conversation"] = c["id"]
            out.append(m)
    return out


def by_subject(msgs, subject):
    return [m for m in msgs if m.get("subject") == subject]


def wait_message(env, who, mid, subject, timeout=15):
    def probe():
        msgs = all_messages(env, who, mid)
        hit = by_subject(msgs, subject)
        return bool(hit), hit or [m.get("subject") for m in msgs]
    return wait("message %r in mailbox %s" % (subject, mid), probe, timeout)[0]


def db_count(env, mid, where="1=1", params=()):
    return env.sql("SELECT COUNT(*) FROM messages WHERE mailbox_id = ? AND " + where,
                   (mid,) + tuple(params))[0][0]


def db_duplicates(env, mid):
    """Message-IDs (and, for mail without one, subjects) stored more than once."""
    rows = env.sql("SELECT COALESCE(NULLIF(message_id, ''), 'subject:' || subject), COUNT(*) "
                   "FROM messages WHERE mailbox_id = ? GROUP BY 1 HAVING COUNT(*) > 1", (mid,))
    return rows


def notifications(env, who):
    b = expect(env.req("GET", "/notifications?limit=500", who.token), 200)
    return b.get("items") if isinstance(b, dict) else b


def mailbox_notes(env, who, local):
    """Kinds of the caller's mailbox_* notifications about this address, oldest first."""
    return [n["kind"] for n in notifications(env, who)
            if n.get("kind", "").startswith("mailbox_")
            and (n.get("data") or {}).get("address") == address(local)]


def events(env, who, mid, cursor=None, wait_s=0):
    q = "wait=%d&limit=500" % wait_s
    if cursor:
        q += "&cursor=" + cursor
    return expect(env.req("GET", "/mailboxes/%s/events?%s" % (mid, q), who.token), 200)


def drain_events(env, who, mid):
    """-> the cursor after every message already there."""
    cursor = None
    while True:
        b = events(env, who, mid, cursor)
        if not b["items"]:
            return cursor
        cursor = b["next_cursor"]


def restart_server(env):
    """SIGTERM the harness's server and start it again on the same database and port."""
    rc, secs = env.stop()
    check(rc == 0, "the server did not exit 0 on SIGTERM (rc %s, %.1f s)" % (rc, secs))
    log = open(env.log_path, "ab")
    env.proc = subprocess.Popen(
        [harness.BIN, "serve", "--db", env.db_url, "--listen", "127.0.0.1:%d" % env.port],
        stdout=log, stderr=subprocess.STDOUT, env=env.cli_env(), cwd=env.tmp)
    log.close()

    def up():
        if env.proc.poll() is not None:
            raise Fail("the restarted server exited with %s: %s"
                       % (env.proc.returncode, env.log_tail(800)))
        try:
            return env.req("GET", "/healthz")[0] == 200, None
        except OSError as e:
            return False, str(e)
    wait("the restarted server to answer /healthz", up, 20)


def dovecot_lines(lab, needle, also=None):
    return [ln for ln in lab.dovecot_log().splitlines()
            if needle in ln and (also is None or also in ln)]


def ooo_date(days_ahead):
    d = datetime.date.today() + datetime.timedelta(days=days_ahead)
    return d, "%d %s %d" % (d.day, calendar.month_name[d.month], d.year)


# --- setup ---------------------------------------------------------------------------------

@timed("R12 setup: organisation, admin, lab Dovecot + Postfix running")
def _(env):
    S.env = env
    S.org = env.org("Engine Lab Inc")
    S.admin = env.user("ada@enginelab.test", "Ada Admin", "admin", S.org)
    check(S.lab.dovecot_up and S.lab.postfix_up, "the lab is not running")


# --- R12 connections and health ------------------------------------------------------------

@timed("R12 STARTTLS (IMAP port, lab CA trusted) reaches good; the login was over TLS")
def _(env):
    S.stan = seat(env, "stan")
    S.lab.place("stan", 1, message([("From", "x@%s" % PROSPECT), ("To", address("stan")),
                                    ("Subject", "starttls hello"), ("Date", rfc2822(1)),
                                    ("Message-ID", new_mid("st"))], "hi\n"))
    mb = add_mailbox(env, S.stan, "stan", security="starttls")
    S.stan_mb = mb["id"]
    check(mb["status"] == "connecting", "a new mailbox starts connecting: %s" % short(mb))
    m = wait_synced(env, S.stan, mb["id"], imported=1)
    S.stan_good_at = time.time()
    check(m["status_reason"] is None, "good has no reason: %s" % short(m))
    logins = dovecot_lines(S.lab, "Login: user=<%s>" % address("stan"))
    check(logins and all(", TLS," in ln for ln in logins),
          "Dovecot logins of stan not all over TLS: %s" % logins)


@timed("R12 implicit TLS (IMAPS port, lab CA trusted) reaches good; the login was over TLS")
def _(env):
    S.tina = seat(env, "tina")
    S.lab.place("tina", 2, message([("From", "x@%s" % PROSPECT), ("To", address("tina")),
                                    ("Subject", "tls hello"), ("Date", rfc2822(2)),
                                    ("Message-ID", new_mid("tl"))], "hi\n"))
    mb = add_mailbox(env, S.tina, "tina", security="tls")
    S.tina_mb = mb["id"]
    wait_synced(env, S.tina, mb["id"], imported=1)
    S.tina_good_at = time.time()
    logins = dovecot_lines(S.lab, "Login: user=<%s>" % address("tina"))
    check(logins and all(", TLS," in ln for ln in logins),
          "Dovecot logins of tina not all over TLS: %s" % logins)


@timed("R12 without MAILFLEET_CA_FILE (second server): TLS and STARTTLS mailboxes go to "
       "error with a certificate reason, never good")
def _(env):
    saved = os.environ.pop("MAILFLEET_CA_FILE", None)
    e2 = Env()
    S.extra_envs.append(e2)
    try:
        e2.start()
    finally:
        if saved is not None:
            os.environ["MAILFLEET_CA_FILE"] = saved
    org = e2.org("No CA Inc")
    tina = e2.user(address("tina"), "Tina NoCA", "user", org)
    stan = e2.user(address("stan"), "Stan NoCA", "user", org)
    ids = {}
    for who, local, sec in ((tina, "tina", "tls"), (stan, "stan", "starttls")):
        ids[local] = add_mailbox(e2, who, local, security=sec)["id"]
    for who, local in ((tina, "tina"), (stan, "stan")):
        m = wait_status(e2, who, ids[local], "error", 20,
                        reason=lambda r: "certificate" in r.lower())
        check("trusted" in m["status_reason"] or "verify" in m["status_reason"].lower(),
              "%s: the reason should say the certificate is not trusted: %r"
              % (local, m["status_reason"]))
        check(m["sync"]["messages_imported"] == 0, "imported without TLS trust: %s" % short(m))
    # The statuses stay error (retried), never good.
    st = [r[0] for r in e2.sql("SELECT DISTINCT status FROM mailbox_status_log")]
    check("good" not in st, "a mailbox was good without the CA: %s" % st)
    check(not e2.server_errors, "5xx from the second server: %s" % e2.server_errors)
    check(not e2.leaks, "the second server echoed a password")
    rc, secs = e2.stop()
    check(rc == 0, "the second server did not exit 0 on SIGTERM (rc %s, %.1fs): %s"
          % (rc, secs, e2.log_tail(600)))


@timed("R12 a refused password -> failing with Dovecot's reason; not retried while failing")
def _(env):
    S.wendy = seat(env, "wendy")
    mb = add_mailbox(env, S.wendy, "wendy", password="Wrong-" + secrets.token_hex(6))
    S.wendy_mb = mb["id"]
    m = wait_status(env, S.wendy, mb["id"], "failing", 20)
    reason = m["status_reason"] or ""
    check("Authentication failed" in reason,
          "the reason should carry the server's text (Authentication failed): %r" % reason)
    since = m["status_since"]
    # Well past the reconnect backoff cap (2 s): still failing, same since, one attempt only.
    time.sleep(3.0)
    m2 = get_mailbox(env, S.wendy, mb["id"])
    check(m2["status"] == "failing" and m2["status_since"] == since,
          "a failing mailbox must wait for new credentials: %s" % short(m2))
    fails = dovecot_lines(S.lab, "user=<%s>" % address("wendy"), "auth failed")
    check(len(fails) == 1, "Dovecot saw %d failed logins of wendy (want 1): %s"
          % (len(fails), fails))


@timed("R12 PATCH with the right password -> good; owner and admin notified "
       "mailbox_failing then mailbox_recovered")
def _(env):
    mid = S.wendy_mb
    pw = S.passwords["wendy"]
    env.secrets.add(pw)
    m = expect(env.req("PATCH", "/mailboxes/%s" % mid, S.wendy.token,
                       {"imap": imap_settings("wendy")}), 200)
    check(m["status"] == "connecting", "new credentials mean connecting: %s" % short(m))
    wait_synced(env, S.wendy, mid, imported=0)
    bad = []
    for who in (S.wendy, S.admin):
        kinds = mailbox_notes(env, who, "wendy")
        if kinds[:1] != ["mailbox_failing"] or "mailbox_recovered" not in kinds:
            bad.append("%s sees %s (want mailbox_failing then mailbox_recovered)"
                       % (who.email, kinds))
    check(not bad, "; ".join(bad) + "; status log: %s" % env.sql(
        "SELECT status, reason FROM mailbox_status_log WHERE mailbox_id = ? ORDER BY at, rowid",
        (mid,)))


@timed("R12 Dovecot stopped -> error with a reason; restarted -> good; nothing twice")
def _(env):
    lab2 = S.lab2 = Lab("dovecot2")
    pw = "Pw-" + secrets.token_hex(8)
    S.passwords["dora"] = pw
    lab2.start_dovecot({"dora": pw})
    who = seat(env, "dora")
    for i, days in enumerate((3, 1)):
        lab2.place("dora", days, message([("From", "p%d@%s" % (i, PROSPECT)),
                                          ("To", address("dora")), ("Subject", "dora %d" % i),
                                          ("Date", rfc2822(days)),
                                          ("Message-ID", new_mid("dora%d" % i))], "x\n"))
    mid = add_mailbox(env, who, "dora", lab=lab2, security="none")["id"]
    wait_synced(env, who, mid, imported=2)
    lab2.stop_dovecot()
    t0 = time.time()
    m = wait_status(env, who, mid, "error", 15)
    check(m["status_reason"], "error without a reason: %s" % short(m))
    first_reason = m["status_reason"]
    t_err = time.time() - t0
    # Mail that arrives while the server is down.
    lab2.place("dora", 0.01, message([("From", "late@%s" % PROSPECT), ("To", address("dora")),
                                      ("Subject", "dora while down"), ("Date", rfc2822()),
                                      ("Message-ID", new_mid("doralate"))], "x\n"))
    # Retried with backoff (cap 2 s) against the stopped server: still error, now refused.
    m = wait_status(env, who, mid, "error", 10, reason=lambda r: "refused" in r)
    lab2.restart_dovecot()
    t1 = time.time()
    wait_synced(env, who, mid, imported=3, timeout=20)
    t_back = time.time() - t1
    msgs = all_messages(env, who, mid)
    check(len(msgs) == 3 and db_count(env, mid) == 3 and not db_duplicates(env, mid),
          "want 3 distinct messages, API %d, DB %d, duplicates %s"
          % (len(msgs), db_count(env, mid), db_duplicates(env, mid)))
    kinds = mailbox_notes(env, who, "dora")
    check("mailbox_recovered" in kinds, "the owner was not told it recovered: %s" % kinds)
    sys.stdout.write("# dora: error after %.2fs (%r), good again %.2fs after restart\n"
                     % (t_err, first_reason, t_back))


# --- R13 backfill and new mail -------------------------------------------------------------

@timed("R13 30-day backfill: of INBOX mail 5, 20, 29, 31, 45, 90 days old exactly the "
       "3 recent are imported")
def _(env):
    who = seat(env, "bea")
    for d in (5, 20, 29, 31, 45, 90):
        S.lab.place("bea", d, message([("From", "old@%s" % PROSPECT), ("To", address("bea")),
                                       ("Subject", "aged %d days" % d), ("Date", rfc2822(d)),
                                       ("Message-ID", new_mid("aged%d" % d))], "x\n"))
    mid = add_mailbox(env, who, "bea")["id"]
    m = wait_synced(env, who, mid)  # backfill_done is set after the whole round
    subjects = sorted(x["subject"] for x in all_messages(env, who, mid))
    want = sorted("aged %d days" % d for d in (5, 20, 29))
    check(m["sync"]["messages_imported"] == 3 and m["sync"]["backfill_done"] is True
          and subjects == want,
          "want exactly %s, got %s; sync %s" % (want, subjects, m["sync"]))


@timed("R13 mail delivered through Postfix while connected shows in the events long-poll "
       "and the inbox within 5 s (IDLE)")
def _(env):
    S.ivy = who = seat(env, "ivy")
    mid = S.ivy_mb = add_mailbox(env, who, "ivy")["id"]
    wait_synced(env, who, mid, imported=0)
    cursor = drain_events(env, who, mid)
    subj = "fresh via smtp %s" % secrets.token_hex(3)
    mid_hdr = new_mid("fresh")
    t0 = time.time()
    S.lab.send("carol@%s" % PROSPECT, [address("ivy")],
               message([("From", "Carol <carol@%s>" % PROSPECT), ("To", address("ivy")),
                        ("Subject", subj), ("Date", rfc2822()), ("Message-ID", mid_hdr)],
                       "Hello Ivy\n"))
    got = []
    while time.time() - t0 < 5 and not got:
        b = events(env, who, mid, cursor, wait_s=max(1, int(5 - (time.time() - t0) + 0.999)))
        got = b["items"]
        cursor = b["next_cursor"] or cursor
    dt = time.time() - t0
    check(got, "no event within 5 s (Dovecot log: %s)" % dovecot_lines(S.lab, "ivy")[-3:])
    e = got[0]
    check(e.get("subject") == subj and bare(e.get("message_id")) == bare(mid_hdr)
          and e.get("direction") == "in" and e.get("folder") == "INBOX"
          and e.get("from", {}).get("address") == "carol@%s" % PROSPECT
          and e.get("from", {}).get("name") == "Carol" and e.get("unread") is True
          and e.get("classification") == "human",
          "event item: %s" % short(e, 1500))
    convs = inbox(env, who, mid)
    check(any(c["subject"] == subj for c in convs), "not in the inbox: %s" % short(convs))
    check(dt <= 5.0, "took %.2f s" % dt)
    sys.stdout.write("# ivy: SMTP -> event in %.2f s\n" % dt)


@timed("R13 a burst of 40 messages through Postfix while connected: all imported within 10 s")
def _(env):
    mid = S.ivy_mb
    before = db_count(env, mid)
    tag = secrets.token_hex(3)
    t0 = time.time()
    n = 40
    for i in range(n):
        S.lab.send("burst@%s" % PROSPECT, [address("ivy")], message(
            [("From", "burst@%s" % PROSPECT), ("To", address("ivy")),
             ("Subject", "burst %s %02d" % (tag, i)), ("Date", rfc2822()),
             ("Message-ID", new_mid("burst%02d" % i))], "x\n"))
        time.sleep(0.02)
    t_sent = time.time() - t0

    def probe():
        have = db_count(env, mid, "subject LIKE ?", ("burst %s %%" % tag,))
        saved = sum(("burst" in ln and "saved mail to INBOX" in ln)
                    for ln in dovecot_lines(S.lab, "lmtp(%s)" % address("ivy")))
        return have == n, {"imported": have, "delivered by LMTP": saved}
    got = wait("all %d burst messages imported" % n, probe, 10)
    sys.stdout.write("# ivy burst: %d sent in %.2f s, all imported after %.2f s (%s)\n"
                     % (n, t_sent, time.time() - t0, got))
    check(db_count(env, mid) == before + n, "count %d, want %d" % (db_count(env, mid), before + n))


@timed("R13 a burst of 1,000 messages written into INBOX's Maildir new/ while connected, and "
       "10 more while the engine fetches it: all imported within 30 s")
def _(env):
    # The burst is more than imap_fetch_batch: new mail is fetched and stored in batches (UID
    # ranges up to UIDNEXT), not in one FETCH of everything. The 10 may arrive while a round
    # runs; Dovecot then announces them (EXISTS) inside that round's commands and not again in
    # the IDLE that follows: they used to wait for the next IDLE renewal (300 s here). Whether
    # they land in that window depends on timing (bench/assign hit it under load), so this
    # test does not always catch that bug; it does catch a lost or duplicated batch.
    mid = S.ivy_mb
    before = db_count(env, mid)
    tag = secrets.token_hex(3)
    md = S.lab.maildir("ivy")
    uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid

    def deliver(i):
        data = message([("From", "burst@%s" % PROSPECT), ("To", address("ivy")),
                        ("Subject", "big burst %s %04d" % (tag, i)), ("Date", rfc2822()),
                        ("Message-ID", new_mid("bigburst%04d" % i))], "x\n").encode()
        name = "%d.M%dP%d.mflburst%s,S=%d" % (int(time.time()), i, os.getpid(), tag, len(data))
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, uid, gid)
        os.rename(tmp, os.path.join(md, "new", name))  # Maildir delivery: tmp/ then new/
    t0 = time.time()
    for i in range(1000):
        deliver(i)
    time.sleep(0.3)
    for i in range(1000, 1010):
        deliver(i)
        time.sleep(0.02)
    n = 1010

    def probe():
        have = db_count(env, mid, "subject LIKE ?", ("big burst %s %%" % tag,))
        return have == n, {"imported": have}
    wait("all %d messages imported" % n, probe, 30)
    sys.stdout.write("# ivy Maildir burst: %d written, all imported after %.2f s\n"
                     % (n, time.time() - t0))
    check(db_count(env, mid) == before + n, "count %d, want %d" % (db_count(env, mid), before + n))
    check(not db_duplicates(env, mid), "duplicates: %s" % db_duplicates(env, mid))


@timed("R13 a message delivered to INBOX while the Sent folder is being backfilled (INBOX is "
       "not selected then, so no EXISTS) is imported by the same round, within 10 s")
def _(env):
    who = seat(env, "sam")
    # A round syncs Sent first and INBOX last, so what came during Sent is fetched when INBOX
    # is opened, and the round ends with INBOX selected for IDLE (src/engine/session.c).
    n_sent = 4000  # enough for the Sent backfill to take a few seconds
    for i in range(n_sent):
        S.lab.place_folder("sam", ".Sent", 1, message(
            [("From", address("sam")), ("To", "p%d@%s" % (i, PROSPECT)),
             ("Subject", "sent %04d" % i), ("Date", rfc2822(1)),
             ("Message-ID", new_mid("samsent%04d" % i))], "x\n"), flags="S")
    mid = add_mailbox(env, who, "sam")["id"]

    def sent_started():
        m = get_mailbox(env, who, mid)
        n = (m.get("sync") or {}).get("messages_imported") or 0
        return n > 0, m
    wait("the Sent backfill to start", sent_started, 30, interval=0.02)
    md = S.lab.maildir("sam")
    data = message([("From", "late@%s" % PROSPECT), ("To", address("sam")),
                    ("Subject", "arrived during the Sent backfill"), ("Date", rfc2822()),
                    ("Message-ID", new_mid("samlate"))], "x\n").encode()
    name = "%d.M1P%d.mfllate,S=%d" % (int(time.time()), os.getpid(), len(data))
    with open(os.path.join(md, "tmp", name), "wb") as f:
        f.write(data)
    os.chown(os.path.join(md, "tmp", name), pwd.getpwnam("nobody").pw_uid,
             grp.getgrnam("nogroup").gr_gid)
    os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
    during = (get_mailbox(env, who, mid).get("sync") or {}).get("messages_imported") or 0
    check(during < n_sent, "the Sent backfill was already over (%d of %d) when the message "
          "came: the case is not exercised" % (during, n_sent))
    t0 = time.time()
    wait_message(env, who, mid, "arrived during the Sent backfill", timeout=10)
    sys.stdout.write("# sam: delivered with %d of %d Sent messages imported; seen after %.2f s\n"
                     % (during, n_sent, time.time() - t0))
    wait_synced(env, who, mid, imported=n_sent + 1, timeout=30)
    check(not db_duplicates(env, mid), "duplicates: %s" % db_duplicates(env, mid))


@timed("R13 memory bound (third server, imap_fetch_bytes 256 KiB): 120 messages of ~40 KB "
       "are fetched a few at a time (16 first, then ~6 by their size), all imported once; one "
       "of 400 KB over imap_max_message_bytes (128 KiB) is stored cut, with its real size")
def _(env):
    os.environ["MAILFLEET_IMAP_FETCH_BYTES"] = "262144"
    os.environ["MAILFLEET_IMAP_MAX_MESSAGE_BYTES"] = "131072"
    os.environ["MAILFLEET_LOG_LEVEL"] = "debug"
    e3 = Env()
    S.extra_envs.append(e3)
    try:
        e3.start()
    finally:
        os.environ.pop("MAILFLEET_IMAP_FETCH_BYTES", None)
        os.environ.pop("MAILFLEET_IMAP_MAX_MESSAGE_BYTES", None)
        os.environ.pop("MAILFLEET_LOG_LEVEL", None)
    org = e3.org("Big Mail Inc")
    who = e3.user(address("vera"), "Vera Big", "user", org)
    tag = secrets.token_hex(3)
    n, filler = 120, ("x" * 76 + "\n") * 520  # ~40 KB of body each
    for i in range(n):
        S.lab.place("vera", 1, message(
            [("From", "big@%s" % PROSPECT), ("To", address("vera")),
             ("Subject", "big %s %03d" % (tag, i)), ("Date", rfc2822(1)),
             ("Message-ID", new_mid("big%s%03d" % (tag, i)))], filler))
        if i == 60:  # one far over the cap: its text first, then 400 KB of "attachment"
            huge = S.lab.place("vera", 1, message(
                [("From", "huge@%s" % PROSPECT), ("To", address("vera")),
                 ("Subject", "huge %s" % tag), ("Date", rfc2822(1)),
                 ("Message-ID", new_mid("huge%s" % tag))],
                "Hello Vera, the report is attached.\n\n" + ("y" * 76 + "\n") * 5200))
    huge_size = os.path.getsize(huge)
    mid = add_mailbox(e3, who, "vera")["id"]
    n += 1
    wait_synced(e3, who, mid, imported=n, timeout=60)
    with open(e3.log_path, encoding="utf-8", errors="replace") as f:
        sizes = [int(ln.split("fetching ")[1].split(" ")[0]) for ln in f
                 if "sync: %s: fetching " % address("vera") in ln and "message(s) of INBOX" in ln]
    sys.stdout.write("# vera: UID FETCH sizes %s\n" % sizes)
    check(sizes and sizes[0] == 16, "the first FETCH should take 16 messages: %s" % sizes)
    check(len(sizes) >= 10 and max(sizes[1:]) <= 8,
          "later FETCHes should take about 256 KiB / 40 KB = 6 messages: %s" % sizes)
    check(sum(sizes) == n, "fetched %d messages in all, want %d" % (sum(sizes), n))
    got = e3.sql("SELECT COUNT(*), COUNT(DISTINCT message_id) FROM messages WHERE mailbox_id = ?",
                 (mid,))[0]
    check(tuple(got) == (n, n), "stored %s, want %d distinct" % (tuple(got), n))
    row = e3.sql("SELECT size, snippet FROM messages WHERE mailbox_id = ? AND subject = ?",
                 (mid, "huge %s" % tag))
    check(row and row[0][0] == huge_size and (row[0][1] or "").startswith("Hello Vera"),
          "the cut message: %s (want size %d and its text)" % (row, huge_size))
    m = get_mailbox(e3, who, mid)
    check(m["status"] == "good", "the mailbox left good: %s" % short(m))
    with open(e3.log_path, encoding="utf-8", errors="replace") as f:
        warned = [ln for ln in f if "is %d bytes; stored from its first 131072" % huge_size in ln]
    check(len(warned) == 1, "want one warning about the cut message, got %d" % len(warned))
    rc, _secs = e3.stop()
    check(rc == 0, "the third server did not exit 0 on SIGTERM: %s" % e3.log_tail(600))


# --- R22 replies ---------------------------------------------------------------------------

@timed("R22 a reply (In-Reply-To a message in Sent) through Postfix -> reply, outbound_id, "
       "same conversation as the sent message")
def _(env):
    who = seat(env, "alice")
    mid = add_mailbox(env, who, "alice")["id"]
    wait_synced(env, who, mid, imported=0)
    sent_id = new_mid("alice-out").replace(PROSPECT, "example.test")
    S.lab.place_folder("alice", ".Sent", 0.01, message(
        [("From", "Alice <%s>" % address("alice")), ("To", "Bob <bob@%s>" % PROSPECT),
         ("Subject", "Our proposal"), ("Date", rfc2822(0.01)), ("Message-ID", sent_id)],
        "Hi Bob, here it is.\n"), flags="S")
    S.lab.send("bob@%s" % PROSPECT, [address("alice")], message(
        [("From", "Bob <bob@%s>" % PROSPECT), ("To", address("alice")),
         ("Subject", "Re: Our proposal"), ("Date", rfc2822()), ("Message-ID", new_mid("bob")),
         ("In-Reply-To", sent_id), ("References", sent_id)],
        "Sounds good.\n\n> Hi Bob, here it is.\n"))
    reply = wait_message(env, who, mid, "Re: Our proposal")
    msgs = all_messages(env, who, mid)
    sent = by_subject(msgs, "Our proposal")
    check(len(sent) == 1, "the sent message is not (once) in the mailbox: %s"
          % [(m["subject"], m["folder"]) for m in msgs])
    sent = sent[0]
    check(sent["direction"] == "out" and sent["folder"] == "Sent",
          "sent message: %s" % short(sent, 800))
    check(reply["classification"] == "reply" and reply["outbound_id"] == sent["id"]
          and bare(reply["outbound_message_id"]) == bare(sent_id)
          and bare(reply["in_reply_to"]) == bare(sent_id)
          and reply["_conversation"] == sent["_conversation"] and reply["direction"] == "in",
          "reply: %s\nsent: %s" % (short(reply, 900), short(sent, 500)))
    replies = inbox(env, who, mid, classification="reply")
    check([c["id"] for c in replies] == [reply["_conversation"]],
          "?classification=reply: %s" % short(replies))


# --- R23 auto-replies and bounces ----------------------------------------------------------

def dsn(to, recipient, action, status, orig_id, orig_subject, diag):
    b = "mfdsn-" + secrets.token_hex(6)
    body = (
        "This is a MIME-encapsulated message.\n\n"
        "--%(b)s\nContent-Type: text/plain; charset=us-ascii\n\n"
        "Delivery to <%(rcpt)s> %(what)s.\n\n"
        "--%(b)s\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.%(dom)s\nArrival-Date: %(date)s\n\n"
        "Final-Recipient: rfc822; %(rcpt)s\nAction: %(action)s\nStatus: %(status)s\n"
        "Diagnostic-Code: smtp; %(diag)s\n\n"
        "--%(b)s\nContent-Type: text/rfc822-headers\n\n"
        "From: Olive <%(to)s>\nTo: <%(rcpt)s>\nSubject: %(subj)s\nMessage-ID: %(orig)s\n"
        "Date: %(date)s\n\n"
        "--%(b)s--\n") % {"b": b, "rcpt": recipient, "action": action, "status": status,
                          "dom": PROSPECT, "date": rfc2822(0.02), "diag": diag, "to": to,
                          "subj": orig_subject, "orig": orig_id,
                          "what": "failed" if action == "failed" else "is delayed"}
    return message([("From", "Mail Delivery System <MAILER-DAEMON@mx.%s>" % PROSPECT),
                    ("To", to), ("Subject", "Delivery Status Notification (%s)" % action),
                    ("Date", rfc2822()), ("Message-ID", new_mid("dsn")),
                    ("MIME-Version", "1.0"),
                    ("Content-Type", 'multipart/report; report-type=delivery-status; '
                                     'boundary="%s"' % b)], body)


def olive_setup(env):
    """Olive's mailbox with three messages in Sent (placed before it is added, so they are
    known before anything arrives): A to carl, B to dan, C to nosuch@example.test."""
    if getattr(S, "olive_mb", None):
        return
    check(not getattr(S, "olive", None), "Olive's mailbox could not be set up (see above)")
    S.olive = seat(env, "olive")
    S.olive_sent = {}
    for key, rcpt in (("A", "carl@%s" % PROSPECT), ("B", "dan@%s" % PROSPECT),
                      ("C", "nosuch@example.test")):
        i = "<olive-%s.%s@example.test>" % (key, secrets.token_hex(5))
        subj = "Olive's note %s" % key
        text = message([("From", "Olive <%s>" % address("olive")), ("To", rcpt),
                        ("Subject", subj), ("Date", rfc2822(1)), ("Message-ID", i)],
                       "Hello from Olive (%s).\n" % key)
        S.lab.place_folder("olive", ".Sent", 1, text, flags="S")
        S.olive_sent[key] = (i, subj, rcpt, text)
    S.olive_mb = add_mailbox(env, S.olive, "olive")["id"]
    wait_synced(env, S.olive, S.olive_mb, imported=3)
    S.olive_rows = {m["subject"]: m for m in all_messages(env, S.olive, S.olive_mb)}


def olive_row(key):
    return S.olive_rows[S.olive_sent[key][1]]


@timed("R23 out-of-office (Auto-Submitted: auto-replied, \"I am back on <date>\") -> "
       "auto_reply with return_date and the outbound message")
def _(env):
    olive_setup(env)
    a_id, a_subj, carl, _t = S.olive_sent["A"]
    d, text = ooo_date(12)
    subj = "Automatic reply: %s" % a_subj
    S.lab.send("carl@%s" % PROSPECT, [address("olive")], message(
        [("From", "Carl <%s>" % carl), ("To", address("olive")), ("Subject", subj),
         ("Date", rfc2822()), ("Message-ID", new_mid("ooo")), ("In-Reply-To", a_id),
         ("References", a_id), ("Auto-Submitted", "auto-replied")],
        "Thank you for your message. I am out of the office and I am back on %s.\n" % text))
    m = wait_message(env, S.olive, S.olive_mb, subj)
    check(m["classification"] == "auto_reply"
          and (m.get("return_date") or "").startswith(d.isoformat())
          and m["outbound_id"] == olive_row("A")["id"]
          and bare(m["outbound_message_id"]) == bare(a_id),
          "want auto_reply, return_date %s, outbound A: %s" % (d.isoformat(), short(m, 1200)))


@timed("R23 a DSN (multipart/report, Status 5.1.1, original Message-ID in "
       "text/rfc822-headers) -> bounce hard 5.1.1 with recipient and outbound message")
def _(env):
    olive_setup(env)
    b_id, b_subj, dan, _t = S.olive_sent["B"]
    text = dsn(address("olive"), dan, "failed", "5.1.1", b_id, b_subj,
               "550 5.1.1 <%s>: Recipient address rejected: User unknown" % dan)
    S.lab.send("", [address("olive")], text)
    m = wait_message(env, S.olive, S.olive_mb, "Delivery Status Notification (failed)")
    bo = m.get("bounce") or {}
    check(m["classification"] == "bounce" and bo.get("kind") == "hard"
          and bo.get("status") == "5.1.1" and bo.get("recipient") == dan
          and bare(m["outbound_message_id"]) == bare(b_id)
          and m["outbound_id"] == olive_row("B")["id"],
          "want bounce hard 5.1.1 %s for B %s: %s" % (dan, b_id, short(m, 1500)))


@timed("R23 a delayed DSN (Action: delayed, Status 4.4.1) -> bounce soft")
def _(env):
    olive_setup(env)
    a_id, a_subj, carl, _t = S.olive_sent["A"]
    text = dsn(address("olive"), carl, "delayed", "4.4.1", a_id, a_subj,
               "451 4.4.1 connection timed out")
    S.lab.send("", [address("olive")], text)
    m = wait_message(env, S.olive, S.olive_mb, "Delivery Status Notification (delayed)")
    bo = m.get("bounce") or {}
    check(m["classification"] == "bounce" and bo.get("kind") == "soft"
          and bo.get("status") == "4.4.1" and bo.get("recipient") == carl
          and bare(m["outbound_message_id"]) == bare(a_id),
          "want bounce soft 4.4.1: %s" % short(m, 1500))


@timed("R23 a real Postfix DSN (550 5.1.1 from Dovecot LMTP, Auto-Submitted set) -> "
       "bounce hard for the message in Sent")
def _(env):
    olive_setup(env)
    c_id, c_subj, nosuch, text = S.olive_sent["C"]
    S.lab.send(address("olive"), [nosuch], text)
    m = wait_message(env, S.olive, S.olive_mb, "Undelivered Mail Returned to Sender")
    bo = m.get("bounce") or {}
    check(m["classification"] == "bounce" and bo.get("kind") == "hard"
          and bo.get("status") == "5.1.1" and bo.get("recipient") == nosuch
          and bare(m["outbound_message_id"]) == bare(c_id)
          and m["outbound_id"] == olive_row("C")["id"],
          "want bounce hard 5.1.1 for C: %s" % short(m, 1500))
    convs = inbox(env, S.olive, S.olive_mb, classification="bounce")
    check(len(convs) >= 1, "?classification=bounce lists nothing: %s" % short(convs))


@timed("R12 quiet IDLE sessions stay good past MAILFLEET_IMAP_TIMEOUT_SECONDS (no reconnect, "
       "no notifications): STARTTLS and implicit TLS")
def _(env):
    limit = int(ENGINE_ENV["MAILFLEET_IMAP_TIMEOUT_SECONDS"])
    for at in (S.stan_good_at, S.tina_good_at):
        time.sleep(max(0.0, at + limit + 3 - time.time()))
    bad = []
    for local, who, mid in (("stan", S.stan, S.stan_mb), ("tina", S.tina, S.tina_mb)):
        log = env.sql("SELECT status, reason, at FROM mailbox_status_log WHERE mailbox_id = ? "
                      "ORDER BY at, rowid", (mid,))
        logins = dovecot_lines(S.lab, "Login: user=<%s>" % address(local))
        notes = mailbox_notes(env, who, local)
        if [r[0] for r in log] != ["good"] or len(logins) != 1 or notes:
            bad.append("%s (%s): %d status changes %s; %d IMAP logins; owner notified %s"
                       % (local, "STARTTLS" if local == "stan" else "TLS", len(log),
                          [(r[0], r[1]) for r in log[:4]], len(logins), notes[:4]))
    check(not bad, "\n".join(bad))


# --- R13 UIDVALIDITY -----------------------------------------------------------------------

@timed("R13 UIDVALIDITY change (dovecot.sh uidvalidity-reset) then new mail: the new "
       "message is imported, nothing twice")
def _(env):
    S.uma = who = seat(env, "uma")
    S.uma_ids = {}
    for key, days in (("one", 2), ("two", 1)):
        i = new_mid("uma-" + key)
        S.uma_ids[key] = i
        S.lab.place("uma", days, message([("From", "p@%s" % PROSPECT), ("To", address("uma")),
                                          ("Subject", "uma %s" % key), ("Date", rfc2822(days)),
                                          ("Message-ID", i)], "x\n"))
    # ... and one without a Message-ID (automated mail sometimes has none).
    S.lab.place("uma", 1, message([("From", "robot@%s" % PROSPECT), ("To", address("uma")),
                                   ("Subject", "uma no id"), ("Date", rfc2822(1))], "beep\n"))
    mid = S.uma_mb = add_mailbox(env, who, "uma")["id"]
    wait_synced(env, who, mid, imported=3)
    old = env.sql("SELECT uidvalidity FROM folder_state WHERE mailbox_id = ? AND folder = 'INBOX'",
                  (mid,))
    r = S.lab.uidvalidity_reset("uma")
    check(r.get("UIDVALIDITY") and r.get("UIDVALIDITY") != r.get("OLD_UIDVALIDITY"),
          "uidvalidity-reset: %s" % r)
    S.uma_uv = int(r["UIDVALIDITY"])
    # New mail, then a restart of the server: Dovecot's IMAP process that was IDLE when its
    # index went away answers "* NO Internal error" and reports no EXISTS, so the new mail
    # is picked up by the next session; the restart also proves the sync state persists.
    S.lab.send("p@%s" % PROSPECT, [address("uma")], message(
        [("From", "p@%s" % PROSPECT), ("To", address("uma")), ("Subject", "uma three"),
         ("Date", rfc2822()), ("Message-ID", new_mid("uma-three"))], "x\n"))
    wait("Postfix to deliver 'uma three'", lambda: (
        (lambda n: (n >= 1, n))(sum("uma-three" in ln for ln in S.lab.dovecot_log().splitlines()
                                    if "saved mail to INBOX" in ln))), 10)
    restart_server(env)

    def probe():
        st = env.sql("SELECT uidvalidity, backfill_done FROM folder_state WHERE mailbox_id = ? "
                     "AND folder = 'INBOX'", (mid,))
        have = db_count(env, mid, "subject = 'uma three'")
        m = get_mailbox(env, who, mid)
        return (bool(st) and st[0][0] == S.uma_uv and st[0][1] == 1 and have >= 1
                and m["status"] == "good"), (st, have, m["status"], m["status_reason"])
    wait("INBOX resynced with UIDVALIDITY %d (was %s) and 'uma three' imported"
         % (S.uma_uv, old), probe, 20)
    counts = {s: db_count(env, mid, "subject = ?", (s,)) for s in ("uma one", "uma two",
                                                                    "uma three")}
    check(counts == {"uma one": 1, "uma two": 1, "uma three": 1},
          "messages per subject after the UIDVALIDITY change: %s; log: %s"
          % (counts, env.log_tail(600)))


@timed("R13 UIDVALIDITY change: a message without Message-ID is not imported again")
def _(env):
    mid = S.uma_mb
    n = db_count(env, mid, "subject = 'uma no id'")
    m = get_mailbox(env, S.uma, mid)
    rows = env.sql("SELECT id, folder, uidvalidity, uid, message_id FROM messages WHERE "
                   "mailbox_id = ? AND subject = 'uma no id'", (mid,))
    check(n == 1 and m["sync"]["messages_imported"] == 4,
          "stored %d times (want 1), messages_imported %s (want 4): %s"
          % (n, m["sync"]["messages_imported"], rows))


# --- R24 read-only sync --------------------------------------------------------------------

@timed("R24 a full sync, IDLE and a reconnection change nothing on the server: same "
       "Maildir files and flags, unread stays unread, no delete/expunge")
def _(env):
    who = seat(env, "rita")
    mk = lambda subj, days, extra=(): message(  # noqa: E731
        [("From", "p@%s" % PROSPECT), ("To", address("rita")), ("Subject", subj),
         ("Date", rfc2822(days)), ("Message-ID", new_mid("rita"))] + list(extra), "x\n")
    S.lab.place("rita", 5, mk("rita unread old", 5))
    S.lab.place("rita", 2, mk("rita unread new", 2))
    S.lab.place_folder("rita", "", 3, mk("rita seen", 3), flags="S")
    S.lab.place_folder("rita", "", 4, mk("rita flagged unread", 4), flags="F")
    S.lab.place_folder("rita", ".Sent", 1, message(
        [("From", address("rita")), ("To", "p@%s" % PROSPECT), ("Subject", "rita sent"),
         ("Date", rfc2822(1)), ("Message-ID", new_mid("rita-out"))], "x\n"), flags="S")
    before = S.lab.snapshot("rita")
    mid = add_mailbox(env, who, "rita")["id"]
    wait_synced(env, who, mid, imported=5)
    # New mail while watching (IDLE): Postfix puts it in new/.
    S.lab.send("p@%s" % PROSPECT, [address("rita")], mk("rita live", 0))
    m = wait_message(env, who, mid, "rita live")
    delivered = [p for p in S.lab.new_files("rita") if p not in before]
    check(len(delivered) == 1, "want one newly delivered file in new/: %s" % delivered)
    expected = sorted(before + delivered)
    # A reconnection (same credentials): the old IMAP session ends (Dovecot logs its
    # counters) and a new one syncs again.
    m0 = get_mailbox(env, who, mid)
    last = m0["sync"]["last_sync_at"]
    while time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) <= last:
        time.sleep(0.05)
    expect(env.req("PATCH", "/mailboxes/%s" % mid, who.token,
                   {"imap": imap_settings("rita")}), 200)
    wait("a new sync after the reconnection", lambda: (
        (lambda x: (x["status"] == "good" and (x["sync"]["last_sync_at"] or "") > last, x))(
            get_mailbox(env, who, mid))), 20)
    ends = wait("Dovecot logging the end of rita's first session",
                lambda: (lambda ls: (bool(ls), ls))(
                    [ln for ln in dovecot_lines(S.lab, "imap(%s)" % address("rita"),
                                                "Disconnected")]), 10)
    after = S.lab.snapshot("rita")
    msgs = {x["subject"]: x for x in all_messages(env, who, mid)}
    unread = {s: msgs[s]["unread"] for s in msgs}
    want_unread = {"rita unread old": True, "rita unread new": True, "rita seen": False,
                   "rita flagged unread": True, "rita live": True, "rita sent": False}
    env.all_of(
        lambda: check(after == expected, "Maildir changed:\n  before %s\n  after  %s"
                      % (expected, after)),
        lambda: check(unread == want_unread, "unread: %s, want %s" % (unread, want_unread)),
        lambda: check(all("deleted=0 expunged=0 trashed=0" in ln for ln in ends),
                      "Dovecot counted changes: %s" % ends),
        lambda: check(m["unread"] is True, "the live message is not unread: %s" % short(m)),
    )


@timed("R13 no message is stored twice in any mailbox (after reconnections and a restart)")
def _(env):
    rows = env.sql("SELECT m.address, x.message_id, x.n FROM (SELECT mailbox_id, message_id, "
                   "COUNT(*) AS n FROM messages WHERE message_id IS NOT NULL AND message_id <> '' "
                   "GROUP BY mailbox_id, message_id HAVING COUNT(*) > 1) x "
                   "JOIN mailboxes m ON m.id = x.mailbox_id")
    check(not rows, "duplicates: %s" % rows)


# --- running -------------------------------------------------------------------------------

def _on_term(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    if os.geteuid() != 0:
        sys.stdout.write("1..0 # SKIP the mail lab (Dovecot, Postfix) needs root\n")
        return 0
    signal.signal(signal.SIGTERM, _on_term)
    t0 = time.time()
    rc = 1
    interrupted = False
    S.lab = Lab("main")
    try:
        try:
            for u in USERS:
                S.passwords[u] = "Pw-" + secrets.token_hex(8)
            S.lab.start_dovecot({u: S.passwords[u] for u in USERS})
            S.lab.start_postfix()
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..%d\nBail out! engine: cannot start the mail lab: %s\n"
                             % (len(suite.tests) + 3, str(e).replace("\n", " | ")[:1500]))
            sys.stdout.flush()
            return 1
        os.environ["MAILFLEET_CA_FILE"] = S.lab.ca_file
        os.environ.pop("MAILFLEET_BACKFILL_DAYS", None)  # the default, 30 days (R13)
        os.environ.update(ENGINE_ENV)
        rc = suite.run()
    except KeyboardInterrupt as e:
        interrupted = True
        sys.stdout.write("Bail out! engine: interrupted (%s)\n" % e)
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        # Servers: the harness stops and removes its own after the tests; this is for an
        # interruption, and for the second (no CA) server.
        for e in [S.env] + S.extra_envs:
            if e is None:
                continue
            if e.alive():
                e.stop()
            if e is not S.env or interrupted:
                e.cleanup()
        problems = []
        for lab in (S.lab2, S.lab):
            if lab is not None:
                problems += lab.stop()
        if problems:
            sys.stdout.write("# stopping the lab: %s\n" % " | ".join(problems))
            rc = 1
        for lab in (S.lab2, S.lab):
            if lab is not None:
                if os.environ.get("MAILFLEET_KEEP_TMP"):
                    sys.stdout.write("# kept lab %s\n" % lab.dir)
                lab.cleanup()
        sys.stdout.write("# engine suite: %.1f s\n" % (time.time() - t0))
        sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
