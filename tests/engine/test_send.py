#!/usr/bin/env python3
"""test_send.py — one-off sending through `mailfleet serve` (POST /messages, the engine's outbox
runner) against real servers on loopback: Postfix (SMTP with STARTTLS + AUTH, the lab CA
trusted, delivering by LMTP into Dovecot's Maildirs), Dovecot (the mailboxes' IMAP, so replies
come back), and smtp-sink (a server that answers 4xx), from tests/lab/.

  R17/R18  a message from alice's own mailbox reaches bob's Maildir once: From with the sender
           name, the signature, our tracking id <mf-<outbox id>@mailfleet> in References; GET
           /messages/{id} says sent, recipient outcome sent; it is stored in the mailbox's
           conversations (direction out). Submitted over STARTTLS with SMTP AUTH.
  R19      a mailbox with a master inbox sends Reply-To the master; one without sends none.
  R22      bob's reply is classified reply with outbound_id, in the sent message's conversation;
           a compose reply (in_reply_to_conversation_id) carries In-Reply-To bob's reply and
           References with the thread root. A reply naming only our tracking id (a provider
           rewrote our Message-ID) is matched to the sent message.
  R26      a 5xx at RCPT for one of two recipients: sent, that one permfail; all refused: failed.
           4xx (smtp-sink -r RCPT) and a refused connection (Postfix stopped): queued again with
           attempts and an error, sent once the server is back. kill -9 in the middle of 200
           sends, restart on the same database: no message in the Maildir twice; statuses sent
           or unknown; sent + unknown = 200 (how many ended unknown is printed).
  R15      daily_limit 5 in a mailbox time zone (UTC-10 or UTC+14, whichever has another date
           than UTC now): 8 queued -> 5 sent, 3 wait (due no earlier than the next local
           midnight); the next local day -> the rest go out. sent_today of a past day reads 0.
           Messages waiting for their mailbox's next day do not hold up other mailboxes.
  issue 4  smtp_connections (PATCH, 1-10, default 1): with 3 and an SMTP server that takes 1 s to
           answer each message, 3 of a mailbox's messages are in flight at once and never more;
           daily_limit 7 with 3 in flight: of 10 exactly 7 are sent, sent_today never above 7
           (in-flight sends are counted), no message is sent twice; min_gap_seconds: one at a
           time again.
  R25/R18/R12  a suppressed recipient -> 422 recipient_suppressed (and one suppressed while its
           message waits is not sent to); someone else's mailbox -> 403/404; a failing mailbox
           -> 422 mailbox_not_connected.

Shortcuts (said again where they are used), all in SQLite: retries are made due at once by
setting outbox.next_attempt_at to now (instead of waiting the 60 s backoff); "the next local
day" is simulated by setting mailboxes.sent_day back one day and making the waiting messages
due now; a mailbox is "held" (the runner leaves its queue alone) by setting its day's count
(sent_day, sent_today) to its limit, and released by setting it to 0 and making its queued
messages due; the kill -9 test watches the outbox table (GET /messages for 200 ids is too slow
to catch the moment), the final statuses come from GET /messages/{id}.

Everything started here (lab servers, smtp-sink, restarted mailfleet) is stopped at the end,
also on failure or SIGTERM. Needs root (the lab scripts run Dovecot and Postfix).
Run alone: python3 tests/engine/test_send.py (TAP on stdout); MAILFLEET_KEEP_TMP=1 keeps the
folders. Python 3 standard library only.
"""
import datetime
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import types
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import harness  # noqa: E402
from harness import Fail, Suite, check, expect, expect_denied, short, wait  # noqa: E402
from lab import POSTFIX_SH, Lab, address, free_base, message, new_passwords, run_lab_suite  # noqa: E402

suite = Suite("send")


timed = suite.timed


S = types.SimpleNamespace(lab=None, env=None, org=None, admin=None, passwords={}, sinks=[])

# Knobs for the server under test (set in os.environ before the harness starts it).
ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
}
USERS = ["alice", "alice2", "bob", "carol", "erin", "kim", "dave", "fay", "hal", "pat"]
PROSPECT = "prospect.test"
N_KILL = 200           # messages in the kill -9 test
KILL_CLAIM = 120       # of which the runner may take this many before the kill


# --- helpers -------------------------------------------------------------------------------


def bare(mid):
    return (mid or "").strip().strip("<>")


def ids_in(value):
    """The <...> ids in a References / In-Reply-To value, without <>."""
    return re.findall(r"<([^<>\s]+)>", value or "")


def rfc2822(days_ago=0.0):
    t = time.time() - days_ago * 86400
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))


def new_mid(tag):
    return "<%s.%s@%s>" % (tag, secrets.token_hex(6), PROSPECT)


def server(local, kind, security="starttls", port=None, password=None):
    lab = S.lab
    if port is None:
        port = (lab.imap_port if kind == "imap" else lab.smtp_port)
    return {"host": "127.0.0.1", "port": port, "security": security,
            "username": address(local), "password": password or S.passwords[local]}


def add_mailbox(env, who, local, imap=None, smtp=None, **extra):
    imap = imap or server(local, "imap")
    smtp = smtp or server(local, "smtp")
    env.secrets.add(imap["password"])
    env.secrets.add(smtp["password"])
    body = {"owner_id": who.id, "address": address(local), "imap": imap, "smtp": smtp}
    body.update(extra)
    return expect(env.req("POST", "/mailboxes", who.token, body), 201)


def get_mailbox(env, who, mid):
    return expect(env.req("GET", "/mailboxes/%s" % mid, who.token), 200)


def wait_status(env, who, mid, want, timeout=20):
    def probe():
        m = get_mailbox(env, who, mid)
        return m.get("status") in want, m
    return wait("mailbox %s to be %s" % (mid, "/".join(want)), probe, timeout)


def wait_good(env, who, mid, timeout=20):
    def probe():
        m = get_mailbox(env, who, mid)
        sy = m.get("sync") or {}
        return m.get("status") == "good" and sy.get("backfill_done") is True, m
    return wait("mailbox %s good and synced" % mid, probe, timeout)


def inbox(env, who, mid, **q):
    qs = "&".join(["mailbox_id=%s" % mid, "limit=500"] + ["%s=%s" % kv for kv in q.items()])
    return expect(env.req("GET", "/inbox?" + qs, who.token), 200)["items"]


def all_messages(env, who, mid):
    out = []
    for c in inbox(env, who, mid):
        conv = expect(env.req("GET", "/conversations/%s" % c["id"], who.token), 200)
        for m in conv.get("messages") or []:
            m["_conversation"] = c["id"]
            out.append(m)
    return out


def wait_message(env, who, mid, pred, desc, timeout=15):
    def probe():
        msgs = all_messages(env, who, mid)
        hit = [m for m in msgs if pred(m)]
        return bool(hit), hit or [(m.get("subject"), m.get("direction")) for m in msgs]
    return wait("%s in mailbox %s" % (desc, mid), probe, timeout)[0]


def send(env, who, body, status=202):
    return expect(env.req("POST", "/messages", who.token, body), status)


def get_msg(env, who, oid):
    return expect(env.req("GET", "/messages/%s" % oid, who.token), 200)


def wait_msg(env, who, oid, want, timeout=20, extra=None):
    """GET /messages/{id} until its status is one of want (and extra(m) holds)."""
    def probe():
        m = get_msg(env, who, oid)
        return m.get("status") in want and (extra is None or extra(m)), m
    return wait("message %s to be %s" % (oid, "/".join(want)), probe, timeout)


def outbox_counts(env, mailbox_id):
    rows = env.sql("SELECT status, COUNT(*) FROM outbox WHERE mailbox_id = ? GROUP BY status",
                   (mailbox_id,))
    return {s: n for s, n in rows}


def make_due(env, oid):
    """Skip the retry backoff (60·2^(n-1) s): the message is due now."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    env.sql("UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'queued'", (now, oid))


def hold(env, mb):
    """Put the mailbox at its day's limit (UTC day: its zone is the default), so the runner
    sends none of its queued messages (it may move them to the next local day); -> the limit."""
    limit = env.sql("SELECT daily_limit FROM mailboxes WHERE id = ?", (mb,))[0][0]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    env.sql("UPDATE mailboxes SET sent_day = ?, sent_today = ? WHERE id = ?", (today, limit, mb))
    return limit


def release(env, mb):
    """The day's count back to 0, and the mailbox's queued messages due now (a runner that
    found the mailbox at its limit may have moved them to the next local day)."""
    env.sql("UPDATE mailboxes SET sent_today = 0 WHERE id = ?", (mb,))
    make_all_due(env, mb)


def make_all_due(env, mb):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    env.sql("UPDATE outbox SET next_attempt_at = ? WHERE mailbox_id = ? AND status = 'queued'",
            (now, mb))


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


# --- Maildirs ------------------------------------------------------------------------------

def maildir_messages(local):
    """{Message-ID without <>: [parsed message, ...]} of every file in the user's Maildir."""
    out = {}
    for msg in S.lab.messages(local):
        out.setdefault(bare(msg.get("Message-ID")), []).append(msg)
    return out


def wait_delivered(local, message_id, timeout=15):
    """-> the one copy of message_id in the user's Maildir (fails if none, or later two)."""
    key = bare(message_id)

    def probe():
        got = maildir_messages(local).get(key, [])
        return bool(got), len(got)
    wait("%s in %s's Maildir" % (message_id, local), probe, timeout)
    time.sleep(0.3)  # a duplicate would come right behind
    got = maildir_messages(local).get(key, [])
    check(len(got) == 1, "%s is %d times in %s's Maildir" % (message_id, len(got), local))
    return got[0]


def body_text(msg):
    if msg.is_multipart():
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode("utf-8", "replace")
        return ""
    return msg.get_payload(decode=True).decode("utf-8", "replace")


def postfix_queue_empty():
    conf = os.path.join(S.lab.dir, "postfix", "conf")
    p = subprocess.run(["postqueue", "-c", conf, "-p"], capture_output=True, text=True,
                       timeout=20)
    return "Mail queue is empty" in p.stdout, p.stdout[-300:]


# --- lab servers we start and stop ---------------------------------------------------------

def sink_start(name, opts):
    """An smtp-sink (postfix.sh sink-start with LAB_SINK_OPTS) in its own folder; -> port."""
    d = os.path.join(S.lab.dir, name)
    os.makedirs(d, exist_ok=True)
    port = getattr(S, "sink_port_" + name, None) or free_base(1)
    setattr(S, "sink_port_" + name, port)
    env = dict(os.environ, LAB_SINK_OPTS=opts)
    if d not in S.sinks:
        S.sinks.append(d)
    p = subprocess.run([POSTFIX_SH, "sink-start", d, str(port)], env=env, capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, "smtp-sink %s (%s) did not start: %s %s"
          % (name, opts, p.stdout[-500:], p.stderr[-800:]))
    return port


def sink_stop(d):
    p = subprocess.run([POSTFIX_SH, "sink-stop", d], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        return "sink-stop %s: %s" % (d, p.stderr[-400:])
    return None


def postfix_stop():
    S.lab.run(POSTFIX_SH, "stop", S.lab.dir)


def postfix_start_again():
    """Postfix on the same port as before (the mailboxes point there)."""
    S.lab.run(POSTFIX_SH, "start", S.lab.dir, S.lab.smtp_port, S.lab.lmtp_port,
              S.lab.auth_port)


# --- the server ----------------------------------------------------------------------------

def start_server_again(env):
    """`mailfleet serve` on the same database, key and port (after a kill -9)."""
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


# --- setup ---------------------------------------------------------------------------------

@timed("R18 setup: organisation, members, mailboxes on the lab Dovecot + Postfix are good")
def _(env):
    S.env = env
    S.org = env.org("Send Lab Inc")
    S.admin = env.user("ada@sendlab.test", "Ada Admin", "admin", S.org)
    S.alice = env.user(address("alice"), "Alice Tester", "user", S.org)
    S.gus = env.user("gus@sendlab.test", "Gus Other", "user", S.org)
    S.bob = env.user(address("bob"), "Bob Tester", "user", S.org)
    S.erin = env.user(address("erin"), "Erin Tester", "user", S.org)
    S.kim = env.user(address("kim"), "Kim Tester", "user", S.org)
    S.dave = env.user(address("dave"), "Dave Tester", "user", S.org)
    S.fay = env.user(address("fay"), "Fay Tester", "user", S.org)
    S.hal = env.user(address("hal"), "Hal Tester", "user", S.org)
    S.pat = env.user(address("pat"), "Pat Tester", "user", S.org)
    S.a1 = add_mailbox(env, S.alice, "alice")["id"]
    S.a2 = add_mailbox(env, S.alice, "alice2")["id"]
    S.bob_mb = add_mailbox(env, S.bob, "bob")["id"]
    for who, mid in ((S.alice, S.a1), (S.alice, S.a2), (S.bob, S.bob_mb)):
        wait_good(env, who, mid)


# --- R17/R18 one-off message ---------------------------------------------------------------

@timed("R18/R17 a one-off message from alice's own mailbox (STARTTLS + AUTH) reaches bob's "
       "Maildir once: From with the sender name, signature, References <mf-<id>@mailfleet>; "
       "GET says sent, recipient sent; stored in the mailbox (direction out)")
def _(env):
    S.sender_name = "Alice from Send Lab"
    S.signature = "Alice Tester\nSales, Send Lab Inc"
    m = expect(env.req("PATCH", "/mailboxes/%s" % S.a1, S.alice.token,
                       {"sender_name": S.sender_name, "signature": S.signature}), 200)
    check(m["sender_name"] == S.sender_name and m["signature"] == S.signature,
          "PATCH did not keep the sender name / signature: %s" % short(m))
    subj = "Our proposal %s" % secrets.token_hex(3)
    r = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [address("bob")], "subject": subj,
                            "text": "Hi Bob,\n\nhere is our proposal.\n"})
    check(r.get("status") == "queued" and r.get("id"), "202 body: %s" % short(r))
    oid = r["id"]
    m = wait_msg(env, S.alice, oid, ("sent", "failed", "unknown"))
    check(m["status"] == "sent", "want sent: %s; log: %s" % (short(m, 1200), env.log_tail(600)))
    rec = m.get("recipients") or []
    env.all_of(
        lambda: check(len(rec) == 1 and rec[0].get("address") == address("bob")
                      and rec[0].get("outcome") == "sent" and rec[0].get("code") == 250,
                      "recipients: %s" % short(rec)),
        lambda: check(m.get("from_mailbox_id") == S.a1 and m.get("kind") == "one_off"
                      and m.get("attempts") == 1 and m.get("sent_at")
                      and m.get("to") == [address("bob")] and "error" not in m,
                      "GET /messages/{id}: %s" % short(m, 1200)),
    )
    msg = wait_delivered("bob", m["message_id"])
    S.first = {"oid": oid, "message_id": m["message_id"], "subject": subj}
    # What was sent is stored in alice's mailbox (direction out, folder Sent); the R22 test
    # below answers it, so it is kept before the header checks.
    out = wait_message(env, S.alice, S.a1,
                       lambda x: bare(x.get("message_id")) == bare(m["message_id"]),
                       "the sent message")
    S.first["row"] = out
    log = S.lab.postfix_log()
    frm = msg.get("From", "")
    refs = ids_in(msg.get("References"))
    body = body_text(msg).replace("\r\n", "\n")
    tracking = [x for x in refs if re.fullmatch(r"mf-[A-Za-z0-9_-]+@mailfleet", x)]
    env.all_of(
        lambda: check(S.sender_name in frm and address("alice") in frm,
                      "From %r lacks the sender name %r" % (frm, S.sender_name)),
        lambda: check("-- \n" + S.signature in body,
                      "the signature (\"-- \\n\" + signature) is not in the body: %r" % body),
        lambda: check("here is our proposal." in body, "the text is not in the body: %r" % body),
        lambda: check(msg.get("Reply-To") is None,
                      "no master inbox, yet Reply-To: %r" % msg.get("Reply-To")),
        lambda: check(len(tracking) == 1,
                      "References %r carries no <mf-...@mailfleet> tracking id"
                      % msg.get("References")),
        lambda: check("mf-%s@mailfleet" % oid in refs,
                      "the tracking id in References %r is not <mf-%s@mailfleet> (the outbox "
                      "id GET /messages returns)" % (msg.get("References"), oid)),
        lambda: check(bare(msg.get("Message-ID")) == bare(m["message_id"]),
                      "Message-ID %r vs GET message_id %r"
                      % (msg.get("Message-ID"), m["message_id"])),
        lambda: check(out["direction"] == "out" and out["subject"] == subj
                      and out.get("folder") == "Sent",
                      "stored sent message: %s" % short(out, 800)),
        # Submitted over STARTTLS with SMTP AUTH as alice (Postfix's log of the session).
        lambda: check(re.search(r"sasl_method=PLAIN, sasl_username=%s"
                                % re.escape(address("alice")), log),
                      "Postfix logged no SASL login of alice: %s" % log[-800:]),
        # RFC 3848: Postfix writes "with ESMTPSA" for a session with STARTTLS and AUTH.
        lambda: check(re.search(r"\bwith ESMTPSA\b", " ".join(msg.get_all("Received") or [])),
                      "Received does not say ESMTPSA (STARTTLS + AUTH): %r"
                      % msg.get_all("Received")),
    )


# --- R19 master inbox ----------------------------------------------------------------------

@timed("R19 with a master inbox (a2 -> a1) mail from a2 carries Reply-To a1's address; "
       "a1 (no master) sends no Reply-To; a2 uses the default sender name (R17)")
def _(env):
    r = expect(env.req("PUT", "/master-inbox", S.alice.token,
                       {"mailbox_ids": [S.a2], "master_id": S.a1}), 200)
    items = r.get("items") or []
    check(len(items) == 1 and items[0]["master_id"] == S.a1, "PUT /master-inbox: %s" % short(r))
    ids = {}
    for mb in (S.a2, S.a1):
        b = send(env, S.alice, {"from_mailbox_id": mb, "to": [address("bob")],
                                "subject": "master test from %s" % mb, "text": "hello\n"})
        ids[mb] = b["id"]
    got = {}
    for mb, oid in ids.items():
        m = wait_msg(env, S.alice, oid, ("sent", "failed", "unknown"))
        check(m["status"] == "sent", "want sent: %s" % short(m, 1000))
        got[mb] = wait_delivered("bob", m["message_id"])
    rt2 = got[S.a2].get("Reply-To")
    rt1 = got[S.a1].get("Reply-To")
    env.all_of(
        lambda: check(rt2 is not None and address("alice") in rt2
                      and address("alice2") not in rt2,
                      "from a2: Reply-To %r, want %s" % (rt2, address("alice"))),
        lambda: check(rt1 is None, "from a1 (no master): Reply-To %r" % rt1),
        lambda: check("Alice Tester" in got[S.a2].get("From", "")
                      and address("alice2") in got[S.a2].get("From", ""),
                      "a2's From %r should carry the user's name (default sender name)"
                      % got[S.a2].get("From")),
    )


# --- R22 replies ---------------------------------------------------------------------------

@timed("R22 bob's reply (In-Reply-To the sent Message-ID) -> reply, outbound_id, same "
       "conversation; a compose reply goes out with In-Reply-To bob's reply")
def _(env):
    f = S.first
    sent_id = "<%s>" % bare(f["message_id"])
    reply_id = new_mid("bob-reply").replace(PROSPECT, "example.test")
    rsubj = "Re: " + f["subject"]
    S.lab.send(address("bob"), [address("alice")], message(
        [("From", "Bob Tester <%s>" % address("bob")), ("To", address("alice")),
         ("Subject", rsubj), ("Date", rfc2822()), ("Message-ID", reply_id),
         ("In-Reply-To", sent_id), ("References", sent_id)],
        "Sounds good.\n\n> here is our proposal.\n"))
    reply = wait_message(env, S.alice, S.a1, lambda x: bare(x.get("message_id")) == bare(reply_id),
                         "bob's reply")
    sent = f["row"]
    # The sent row is re-read: its conversation now.
    msgs = all_messages(env, S.alice, S.a1)
    sent_now = [x for x in msgs if x["id"] == sent["id"]]
    check(sent_now, "the sent message is gone from the mailbox")
    sent = sent_now[0]
    check(reply["classification"] == "reply" and reply["outbound_id"] == sent["id"]
          and bare(reply.get("outbound_message_id")) == bare(sent_id)
          and reply["_conversation"] == sent["_conversation"] and reply["direction"] == "in",
          "reply: %s\nsent: %s" % (short(reply, 900), short(sent, 500)))
    conv = reply["_conversation"]
    # Answer in that conversation (one-off compose reply).
    b = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [address("bob")], "subject": rsubj,
                            "text": "Great, talk soon.\n", "in_reply_to_conversation_id": conv})
    m = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"))
    check(m["status"] == "sent", "want sent: %s" % short(m, 1000))
    msg = wait_delivered("bob", m["message_id"])
    irt = ids_in(msg.get("In-Reply-To"))
    refs = ids_in(msg.get("References"))
    env.all_of(
        lambda: check(irt == [bare(reply_id)], "In-Reply-To %r, want %s"
                      % (msg.get("In-Reply-To"), reply_id)),
        lambda: check(refs and refs[-1] == bare(reply_id)
                      and any(x.startswith("mf-") and x.endswith("@mailfleet") for x in refs),
                      "References %r: want our tracking id and bob's reply last"
                      % msg.get("References")),

        lambda: check(m.get("conversation_id") == conv,
                      "GET /messages/{id}.conversation_id %r, want %s"
                      % (m.get("conversation_id"), conv)),
    )
    S.compose_reply = (msg, sent_id, reply_id)
    out = wait_message(env, S.alice, S.a1,
                       lambda x: bare(x.get("message_id")) == bare(m["message_id"]),
                       "the compose reply")
    check(out["_conversation"] == conv and out["direction"] == "out",
          "the compose reply is not stored in the conversation %s: %s" % (conv, short(out, 600)))


@timed("R22 the compose reply's References carry the thread: the parent's References (our "
       "first message), then the parent (RFC 5322 3.6.4, src/mail/compose.h)")
def _(env):
    check(getattr(S, "compose_reply", None), "no compose reply (see the test above)")
    msg, sent_id, reply_id = S.compose_reply
    refs = ids_in(msg.get("References"))
    check(bare(sent_id) in refs and refs[-1] == bare(reply_id),
          "References %r: bob's reply (the parent) has References %s, so the thread root %s "
          "should come before the parent %s" % (msg.get("References"), sent_id, sent_id,
                                                reply_id))


@timed("R22 a reply that names only our tracking id (its provider rewrote our Message-ID) "
       "-> reply, outbound_id the sent message, same conversation")
def _(env):
    subj = "Tracking only %s" % secrets.token_hex(3)
    b = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [address("bob")], "subject": subj,
                            "text": "Hello again.\n"})
    m = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"))
    check(m["status"] == "sent", "want sent: %s" % short(m, 1000))
    msg = wait_delivered("bob", m["message_id"])
    tracking = [x for x in ids_in(msg.get("References")) if x.startswith("mf-")]
    check(tracking, "no tracking id in References %r" % msg.get("References"))
    sent = wait_message(env, S.alice, S.a1,
                        lambda x: bare(x.get("message_id")) == bare(m["message_id"]),
                        "the sent message")
    tid = "<%s>" % tracking[0]
    reply_id = new_mid("bob-trk").replace(PROSPECT, "example.test")
    S.lab.send(address("bob"), [address("alice")], message(
        [("From", "Bob Tester <%s>" % address("bob")), ("To", address("alice")),
         ("Subject", "Re: " + subj), ("Date", rfc2822()), ("Message-ID", reply_id),
         ("References", tid)], "Yes.\n"))
    reply = wait_message(env, S.alice, S.a1, lambda x: bare(x.get("message_id")) == bare(reply_id),
                         "bob's tracking-id reply")
    check(reply["classification"] == "reply" and reply["outbound_id"] == sent["id"]
          and reply["_conversation"] == sent["_conversation"],
          "reply naming only %s: classification %r, outbound_id %r (want %s), "
          "outbound_message_id %r, conversation %s (sent message's %s)"
          % (tid, reply["classification"], reply["outbound_id"], sent["id"],
             reply.get("outbound_message_id"), reply["_conversation"], sent["_conversation"]))


# --- R26 permanent and temporary failures --------------------------------------------------

@timed("R26 5xx at RCPT for one of two recipients -> sent, that recipient permfail and the "
       "other sent; every recipient refused -> failed with an error")
def _(env):
    bad = "someone@elsewhere.test"
    b = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [address("bob"), bad],
                            "subject": "half refused", "text": "x\n"})
    m = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"))
    rec = {x.get("address"): x for x in m.get("recipients") or []}
    check(m["status"] == "sent", "want sent: %s" % short(m, 1200))
    env.all_of(
        lambda: check(rec.get(address("bob"), {}).get("outcome") == "sent",
                      "bob: %s" % short(rec.get(address("bob")))),
        lambda: check(rec.get(bad, {}).get("outcome") == "permfail"
                      and rec[bad].get("code") == 550 and "5.7.1" in rec[bad].get("text", ""),
                      "%s: %s" % (bad, short(rec.get(bad)))),
    )
    wait_delivered("bob", m["message_id"])
    b = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [bad, "other@elsewhere.test"],
                            "subject": "all refused", "text": "x\n"})
    m = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"))
    rec = m.get("recipients") or []
    check(m["status"] == "failed" and m.get("error") and m.get("sent_at") is None
          and len(rec) == 2 and all(x.get("outcome") == "permfail" for x in rec),
          "want failed with an error and both recipients permfail: %s" % short(m, 1500))
    check(m.get("attempts") == 1, "a 5xx must not be retried: attempts %s" % m.get("attempts"))


@timed("R26 4xx (smtp-sink answers 450 to RCPT) -> queued again with attempts and an error, "
       "backoff 60 s, day's count given back; the server answers again -> sent once")
def _(env):
    S.erin_mb = add_mailbox(env, S.erin, "erin")["id"]
    dump = os.path.join(S.lab.dir, "sinkdump")
    os.makedirs(dump, exist_ok=True)
    os.chmod(dump, 0o777)
    # -a: no AUTH offered (smtp-sink would answer AUTH with 250, not 235).
    port = sink_start("sink4xx", "-a -r RCPT")
    smtp = server("erin", "smtp", security="none", port=port)
    expect(env.req("PATCH", "/mailboxes/%s" % S.erin_mb, S.erin.token, {"smtp": smtp}), 200)
    wait_good(env, S.erin, S.erin_mb)
    b = send(env, S.erin, {"from_mailbox_id": S.erin_mb, "to": [address("bob")],
                           "subject": "greylisted", "text": "x\n"})
    oid = b["id"]
    m = wait_msg(env, S.erin, oid, ("queued", "sent", "failed", "unknown"),
                 extra=lambda x: x.get("attempts", 0) >= 1 and x["status"] != "sending")
    check(m["status"] == "queued" and m["attempts"] >= 1 and m.get("error"),
          "after a 450: want queued with attempts and an error: %s" % short(m, 1200))
    check("450" in m["error"] or "4.3.0" in m["error"]
          or any(x.get("code") == 450 for x in m.get("recipients") or []),
          "the error / recipients should show the 4xx answer: %s" % short(m, 1200))
    row = env.sql("SELECT next_attempt_at, updated_at FROM outbox WHERE id = ?", (oid,))[0]
    delay = (parse_time(row[0]) - parse_time(row[1])).total_seconds()
    check(55 <= delay <= 65, "the first retry should come 60 s later: next_attempt_at %s, "
          "updated_at %s" % row)
    mb = get_mailbox(env, S.erin, S.erin_mb)
    check(mb["sent_today"] == 0, "a deferred send still counts for the day: %s" % short(mb))
    time.sleep(1.5)  # not retried before its time (ticks run every second)
    check(get_msg(env, S.erin, oid)["attempts"] == m["attempts"], "retried before the backoff")
    # The server accepts again: a plain smtp-sink on the same port, dumping what it gets.
    for d in list(S.sinks):
        if d.endswith("sink4xx"):
            why = sink_stop(d)
            check(why is None, why)
    sink_start("sink4xx", "-a -D %s/dump" % dump)
    make_due(env, oid)  # shortcut: skip the 60 s backoff
    m = wait_msg(env, S.erin, oid, ("sent", "failed", "unknown"))
    check(m["status"] == "sent" and m["attempts"] == 2 and "error" not in m,
          "after the server is back: %s" % short(m, 1200))
    key = bare(m["message_id"]).encode()

    def dumped():
        try:
            with open(os.path.join(dump, "dump"), "rb") as fh:
                data = fh.read()
        except OSError:
            return False, 0
        n = len(re.findall(rb"(?im)^Message-ID:\s*<" + re.escape(key) + rb">", data))
        return n >= 1, n
    wait("the message in smtp-sink's dump", dumped, 10)
    check(dumped()[1] == 1, "the message reached the sink %d times" % dumped()[1])
    check(get_mailbox(env, S.erin, S.erin_mb)["sent_today"] == 1, "sent_today after one send")


@timed("R26 a refused connection (Postfix stopped) -> queued again with attempts and an "
       "error; Postfix back on its port -> sent, in bob's Maildir once")
def _(env):
    smtp = server("erin", "smtp")
    expect(env.req("PATCH", "/mailboxes/%s" % S.erin_mb, S.erin.token, {"smtp": smtp}), 200)
    wait_good(env, S.erin, S.erin_mb)
    postfix_stop()
    try:
        b = send(env, S.erin, {"from_mailbox_id": S.erin_mb, "to": [address("bob")],
                               "subject": "while postfix is down", "text": "x\n"})
        oid = b["id"]
        m = wait_msg(env, S.erin, oid, ("queued", "sent", "failed", "unknown"),
                     extra=lambda x: x.get("attempts", 0) >= 1 and x["status"] != "sending")
        check(m["status"] == "queued" and m["attempts"] >= 1 and m.get("error"),
              "Postfix down: want queued with attempts and an error: %s" % short(m, 1200))
        sys.stdout.write("# while Postfix was down: %s\n" % short(m.get("error"), 200))
    finally:
        postfix_start_again()
    make_due(env, oid)  # shortcut: skip the 60 s backoff
    m = wait_msg(env, S.erin, oid, ("sent", "failed", "unknown"))
    check(m["status"] == "sent" and m["attempts"] >= 2,
          "after Postfix is back: %s" % short(m, 1200))
    wait_delivered("bob", m["message_id"])


# --- R26 at most once under kill -9 ---------------------------------------------------------

@timed("R26 kill -9 while sending %d messages, restart on the same database: every message "
       "at most once in bob's Maildir; sent or unknown; sent + unknown = %d" % (N_KILL, N_KILL))
def _(env):
    mb = S.kim_mb = add_mailbox(env, S.kim, "kim")["id"]
    wait_good(env, S.kim, mb)
    # Hold the runner back while queueing (the day's count at the limit), so that the kill
    # lands in the middle of the sending, with some messages still queued.
    limit = hold(env, mb)
    ids = []
    t0 = time.time()
    for i in range(N_KILL):
        b = send(env, S.kim, {"from_mailbox_id": mb, "to": [address("bob")],
                              "subject": "bulk %03d" % i, "text": "message %d\n" % i})
        ids.append(b["id"])
    t_queue = time.time() - t0
    check(outbox_counts(env, mb) == {"queued": N_KILL},
          "held back, all should be queued: %s" % outbox_counts(env, mb))
    # Let the runner take KILL_CLAIM of them, and kill -9 while they are being sent.
    env.sql("UPDATE mailboxes SET sent_today = ? WHERE id = ?", (limit - KILL_CLAIM, mb))
    make_all_due(env, mb)
    t1 = time.time()
    seen = {}
    deadline = t1 + 30
    while True:
        seen = outbox_counts(env, mb)
        # one message of a mailbox is in flight at a time (src/engine/sender.c): kill once a
        # few are sent and the rest are still to go
        if seen.get("sent", 0) >= 3:
            break
        if seen.get("sent", 0) >= KILL_CLAIM or time.time() > deadline:
            raise Fail("could not catch the runner mid-sending: %s after %.1f s"
                       % (seen, time.time() - t1))
        time.sleep(0.005)
    env.proc.send_signal(signal.SIGKILL)
    env.proc.wait(timeout=10)
    at_kill = outbox_counts(env, mb)
    sys.stdout.write("# sent copies still pending at the kill: %d\n"
                     % env.sql("SELECT count(*) FROM sent_copies_pending")[0][0])
    sending_at_kill = [r[0] for r in env.sql("SELECT id FROM outbox WHERE mailbox_id = ? AND "
                                             "status = 'sending'", (mb,))]
    sys.stdout.write("# queued %d in %.2f s; killed %.2f s after release; at the kill: %s\n"
                     % (N_KILL, t_queue, time.time() - t1, at_kill))
    check(at_kill.get("sending", 0) <= 1,
          "R26: one message of a mailbox is claimed at a time, so a crash can leave at most one "
          "unknown; at the kill: %s" % at_kill)
    start_server_again(env)
    after = outbox_counts(env, mb)
    # the restarted runner may already have claimed a message of its own (one at a time)
    was = {oid: st for oid, st in env.sql("SELECT id, status FROM outbox WHERE mailbox_id = ?",
                                          (mb,)) if oid in sending_at_kill}
    check(all(st == "unknown" for st in was.values()) and after.get("sending", 0) <= 1,
          "after the restart: the messages sending at the kill are %s (want unknown); outbox %s"
          % (was, after))
    # The rest of the day's allowance back, so the still queued ones go out.
    release(env, mb)

    def settled():
        c = outbox_counts(env, mb)
        return c.get("queued", 0) == 0 and c.get("sending", 0) == 0, c
    final = wait("nothing queued or sending", settled, 60)
    wait("Postfix's queue to be empty", postfix_queue_empty, 30)
    # Statuses through the API.
    statuses = {}
    mids = {}
    for oid in ids:
        m = get_msg(env, S.kim, oid)
        statuses[oid] = m["status"]
        mids[oid] = bare(m["message_id"])
        if m["status"] == "unknown":
            check(m.get("error"), "unknown without an error text: %s" % short(m))
    sent = [o for o in ids if statuses[o] == "sent"]
    unknown = [o for o in ids if statuses[o] == "unknown"]
    other = {o: statuses[o] for o in ids if statuses[o] not in ("sent", "unknown")}

    def delivered_counts():
        box = maildir_messages("bob")
        return {o: len(box.get(mids[o], [])) for o in ids}
    # LMTP delivery trails Postfix's queue by a moment: wait for every sent one.
    counts = wait("every sent message in bob's Maildir",
                  lambda: (lambda c: (all(c[o] >= 1 for o in sent), c))(delivered_counts()), 20)
    time.sleep(0.5)
    counts = delivered_counts()
    twice = {o: n for o, n in counts.items() if n > 1}
    unknown_delivered = sum(1 for o in unknown if counts[o] == 1)
    sys.stdout.write("# final: %d sent, %d unknown (%d of them delivered once, %d never), "
                     "outbox %s\n" % (len(sent), len(unknown), unknown_delivered,
                                      len(unknown) - unknown_delivered, final))
    S.kill_report = (at_kill, len(sent), len(unknown), unknown_delivered)
    env.all_of(
        lambda: check(not twice, "in the Maildir more than once: %s" % twice),
        lambda: check(not other, "statuses other than sent/unknown: %s" % other),
        lambda: check(len(sent) + len(unknown) == N_KILL, "sent %d + unknown %d != %d"
                      % (len(sent), len(unknown), N_KILL)),
        lambda: check(all(counts[o] == 1 for o in sent), "sent but not delivered: %s"
                      % [o for o in sent if counts[o] != 1][:5]),
        lambda: check(not unknown or "marked unknown" in env.log_tail(200000),
                      "the restart did not report the unknown messages in its log"),
    )
    # Every sent message is stored in its conversation (direction out), also the ones whose
    # copy was still pending (sent_copies_pending) at the kill: the restart stores those.
    def copies():
        missing = env.sql("SELECT o.id FROM outbox o WHERE o.mailbox_id = ? AND o.status = "
                          "'sent' AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.mailbox_id = "
                          "o.mailbox_id AND m.message_id = o.message_id AND m.direction = 'out')",
                          (mb,))
        pending = env.sql("SELECT count(*) FROM sent_copies_pending")[0][0]
        return not missing and pending == 0, (len(missing), pending)
    wait("a stored copy of every sent message", copies, 10)


# --- R15 daily limit -----------------------------------------------------------------------

def zone_off_utc_day():
    """A time zone whose local date differs from the UTC date right now."""
    h = datetime.datetime.now(datetime.timezone.utc).hour
    return "Pacific/Honolulu" if h < 10 else "Pacific/Kiritimati"  # UTC-10 / UTC+14


def local_day(zone, when=None):
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.astimezone(zoneinfo.ZoneInfo(zone)).date()


@timed("R15 daily_limit 5 in the mailbox's time zone: of 8 queued exactly 5 are sent and 3 "
       "wait (sent_today 5, counted on the local day); the next local day -> the rest go out")
def _(env):
    mb = S.dave_mb = add_mailbox(env, S.dave, "dave")["id"]
    wait_good(env, S.dave, mb)
    zone = S.dave_zone = zone_off_utc_day()
    env.sql("UPDATE mailboxes SET time_zone = ? WHERE id = ?", (zone, mb))
    m = expect(env.req("PATCH", "/mailboxes/%s" % mb, S.dave.token, {"daily_limit": 5}), 200)
    check(m["daily_limit"] == 5, "PATCH daily_limit: %s" % short(m))
    ids = []
    for i in range(8):
        ids.append(send(env, S.dave, {"from_mailbox_id": mb, "to": [address("bob")],
                                      "subject": "limited %d" % i, "text": "x\n"})["id"])

    def five():
        c = outbox_counts(env, mb)
        return c.get("sent", 0) >= 5, c
    wait("5 sent", five, 20)
    time.sleep(3)  # three more ticks: nothing else may go
    st = {o: get_msg(env, S.dave, o) for o in ids}
    n_sent = sum(1 for m in st.values() if m["status"] == "sent")
    waiting = [m for m in st.values() if m["status"] == "queued"]
    mbx = get_mailbox(env, S.dave, mb)
    day = env.sql("SELECT sent_day FROM mailboxes WHERE id = ?", (mb,))[0][0]
    want_days = {local_day(zone).isoformat(),
                 local_day(zone, datetime.datetime.now(datetime.timezone.utc)
                           - datetime.timedelta(seconds=30)).isoformat()}
    env.all_of(
        lambda: check(n_sent == 5 and len(waiting) == 3,
                      "want 5 sent and 3 queued: %s" % sorted(m["status"] for m in st.values())),
        lambda: check(all(m["attempts"] == 0 for m in waiting),
                      "over the limit messages must not be attempted: %s"
                      % [m["attempts"] for m in waiting]),
        lambda: check(mbx["sent_today"] == 5, "sent_today %s, want 5" % mbx["sent_today"]),
        lambda: check(day in want_days, "sent_day %r is not the local day in %s (%s); UTC "
                      "day %s" % (day, zone, sorted(want_days),
                                  datetime.datetime.now(datetime.timezone.utc).date())),
    )
    # Waiting for the next local day: either still due (skipped while over the limit) or
    # moved to exactly the next local midnight in the mailbox's zone -- never earlier.
    tz = zoneinfo.ZoneInfo(zone)
    local_now = datetime.datetime.now(tz)
    midnight = datetime.datetime.combine(local_now.date() + datetime.timedelta(days=1),
                                         datetime.time(0), tz).astimezone(datetime.timezone.utc)
    nexts = [r[0] for r in env.sql("SELECT next_attempt_at FROM outbox WHERE mailbox_id = ? "
                                   "AND status = 'queued'", (mb,))]
    now_utc = datetime.datetime.now(datetime.timezone.utc)
    bad = [t for t in nexts if parse_time(t) > now_utc and parse_time(t) != midnight]
    check(not bad, "the waiting messages are due at %s; the next local midnight in %s is %s"
          % (bad, zone, midnight.strftime("%Y-%m-%dT%H:%M:%SZ")))
    # The next local day, simulated: the day the count belongs to moves one day back, and the
    # waiting messages are due now (the clock reached that midnight).
    yesterday = (datetime.date.fromisoformat(day) - datetime.timedelta(days=1)).isoformat()
    env.sql("UPDATE mailboxes SET sent_day = ? WHERE id = ?", (yesterday, mb))
    make_all_due(env, mb)

    def rest():
        c = outbox_counts(env, mb)
        return c.get("sent", 0) == 8, c
    wait("the other 3 sent on the new day", rest, 20)
    mbx = get_mailbox(env, S.dave, mb)
    day2 = env.sql("SELECT sent_day FROM mailboxes WHERE id = ?", (mb,))[0][0]
    check(mbx["sent_today"] == 3 and day2 == day,
          "new day: sent_today %s (want 3), sent_day %s (want %s)"
          % (mbx["sent_today"], day2, day))
    box = maildir_messages("bob")
    for o in ids:
        mid = bare(get_msg(env, S.dave, o)["message_id"])
        wait("%s delivered" % mid, lambda: (len(maildir_messages("bob").get(mid, [])) >= 1,
                                            None), 10)
    box = maildir_messages("bob")
    counts = [len(box.get(bare(get_msg(env, S.dave, o)["message_id"]), [])) for o in ids]
    check(counts == [1] * 8, "Maildir copies per message: %s" % counts)


@timed("R15 GET /mailboxes/{id}.sent_today counts only the current local day (a count left "
       "from a past day reads 0)")
def _(env):
    mb = S.dave_mb
    day = env.sql("SELECT sent_day, sent_today FROM mailboxes WHERE id = ?", (mb,))[0]
    yesterday = (datetime.date.fromisoformat(day[0]) - datetime.timedelta(days=1)).isoformat()
    env.sql("UPDATE mailboxes SET sent_day = ? WHERE id = ?", (yesterday, mb))
    m = get_mailbox(env, S.dave, mb)
    check(m["sent_today"] == 0,
          "sent_day is %s (yesterday in %s) with %d sends, but GET /mailboxes/{id} reports "
          "sent_today %s for today" % (yesterday, S.dave_zone, day[1], m["sent_today"]))


# --- R25 / R15 with held messages ---------------------------------------------------------

@timed("R25 a recipient put on the suppression list while the message waits in the outbox is "
       "not sent to")
def _(env):
    mb = S.hal_mb = add_mailbox(env, S.hal, "hal")["id"]
    wait_good(env, S.hal, mb)
    hold(env, mb)
    b = send(env, S.hal, {"from_mailbox_id": mb, "to": [address("carol")],
                          "subject": "waits for tomorrow", "text": "x\n"})
    time.sleep(1.5)
    m = get_msg(env, S.hal, b["id"])
    check(m["status"] == "queued" and m["attempts"] == 0, "held: %s" % short(m, 800))
    # carol unsubscribes meanwhile (R25: honoured by every send).
    env.insert_row("suppressions", {"org_id": S.org, "address_norm": address("carol"),
                                    "reason": "unsubscribe",
                                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime())})
    release(env, mb)
    time.sleep(2.5)  # two ticks and more
    m = wait_msg(env, S.hal, b["id"], ("queued", "sent", "failed", "unknown"),
                 extra=lambda x: x["status"] != "sending")
    box = maildir_messages("carol").get(bare(m["message_id"]), [])
    check(m["status"] != "sent" and not box,
          "sent to a suppressed recipient: status %s, %d copies in carol's Maildir; %s"
          % (m["status"], len(box), short(m, 800)))


@timed("R15 hundreds of messages waiting for their mailbox's next day do not hold up another "
       "mailbox's message")
def _(env):
    mb = S.hal_mb
    hold(env, mb)
    n = 210
    for i in range(n):
        send(env, S.hal, {"from_mailbox_id": mb, "to": [address("bob")],
                          "subject": "tomorrow %03d" % i, "text": "x\n"})
    time.sleep(1.1)  # a different second: the next message is due after all of them
    b = send(env, S.alice, {"from_mailbox_id": S.a1, "to": [address("bob")],
                            "subject": "not stuck behind hal", "text": "x\n"})
    t0 = time.time()
    try:
        m = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"), timeout=10)
    except Fail:
        m = get_msg(env, S.alice, b["id"])
        waited = time.time() - t0
        held = outbox_counts(env, mb)
        # The proof: without hal's waiting messages, alice's goes at once.
        env.sql("DELETE FROM outbox WHERE mailbox_id = ? AND status = 'queued'", (mb,))
        t1 = time.time()
        try:
            after = wait_msg(env, S.alice, b["id"], ("sent", "failed", "unknown"), timeout=10)
            then = "%s %.1f s after hal's waiting messages were deleted" % (
                after["status"], time.time() - t1)
        except Fail:
            then = "still not sent after hal's waiting messages were deleted"
        raise Fail("alice's message is still %s %.0f s later, behind %d of hal's messages "
                   "waiting for hal's next day (hal's outbox: %s); %s"
                   % (m["status"], waited, n, held, then))
    finally:
        # hal's waiting messages stay held (they would go out tomorrow): drop them.
        env.sql("DELETE FROM outbox WHERE mailbox_id = ? AND status = 'queued'", (mb,))
    check(m["status"] == "sent", "alice's message: %s" % short(m, 800))


# --- parallel connections per mailbox (issue 4 point 2) -----------------------------------

def watch_outbox(env, mb, until, timeout):
    """Poll the outbox and the mailbox's count every 10 ms until until(counts) or timeout:
    -> (most 'sending' at once, highest sent_today seen, last counts)."""
    most = high = 0
    c = {}
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = outbox_counts(env, mb)
        most = max(most, c.get("sending", 0))
        high = max(high, env.sql("SELECT sent_today FROM mailboxes WHERE id = ?", (mb,))[0][0])
        if until(c):
            break
        time.sleep(0.01)
    return most, high, c


@timed("issue 4 smtp_connections: PATCH 0/11 -> 400, 3 -> 3 messages of the mailbox in flight at "
       "once (never 4); daily_limit 7: exactly 7 of 10 sent, sent_today never above 7, each "
       "delivered once; min_gap_seconds -> one at a time")
def _(env):
    mb = S.pat_mb = add_mailbox(env, S.pat, "pat")["id"]
    m = get_mailbox(env, S.pat, mb)
    check(m.get("smtp_connections") == 1, "default smtp_connections: %s" % short(m))
    for bad in (0, 11, "3"):
        expect(env.req("PATCH", "/mailboxes/%s" % mb, S.pat.token, {"smtp_connections": bad}),
               400, "invalid_request")
    dump = os.path.join(S.lab.dir, "slowdump")
    os.makedirs(dump, exist_ok=True)
    os.chmod(dump, 0o777)
    # -w 1: the sink waits 1 s before answering DATA, so each message holds its connection
    port = sink_start("slowsink", "-a -w 1 -D %s/dump" % dump)
    smtp = server("pat", "smtp", security="none", port=port)
    m = expect(env.req("PATCH", "/mailboxes/%s" % mb, S.pat.token,
                       {"smtp": smtp, "smtp_connections": 3, "daily_limit": 7}), 200)
    check(m["smtp_connections"] == 3 and m["daily_limit"] == 7, "PATCH: %s" % short(m))
    wait_good(env, S.pat, mb)
    hold(env, mb)  # queue all ten before the runner may take any
    ids = [send(env, S.pat, {"from_mailbox_id": mb, "to": [address("bob")],
                             "subject": "parallel %d" % i, "text": "x\n"})["id"]
           for i in range(10)]
    release(env, mb)
    most, high, c = watch_outbox(env, mb, lambda c: c.get("sent", 0) >= 7, 30)
    time.sleep(2.5)  # more rounds: nothing else may go today
    final = outbox_counts(env, mb)
    most = max(most, final.get("sending", 0))
    mbx = get_mailbox(env, S.pat, mb)
    box = open(os.path.join(dump, "dump"), "rb").read() if os.path.exists(
        os.path.join(dump, "dump")) else b""
    copies = [len(re.findall(rb"(?im)^Message-ID:\s*<" + re.escape(
        bare(get_msg(env, S.pat, o)["message_id"]).encode()) + rb">", box)) for o in ids]
    env.all_of(
        lambda: check(most == 3, "most messages of the mailbox sending at once: %d (want 3 with "
                      "smtp_connections 3)" % most),
        lambda: check(final == {"sent": 7, "queued": 3}, "daily_limit 7: outbox %s" % final),
        lambda: check(high <= 7 and mbx["sent_today"] == 7,
                      "sent_today went up to %d (now %d); the limit is 7" % (high, mbx["sent_today"])),
        lambda: check(sorted(copies, reverse=True) == [1] * 7 + [0] * 3,
                      "copies the server got of each message: %s" % copies),
    )
    # min_gap_seconds: one at a time again, whatever smtp_connections says
    env.sql("DELETE FROM outbox WHERE mailbox_id = ? AND status = 'queued'", (mb,))
    expect(env.req("PATCH", "/mailboxes/%s" % mb, S.pat.token,
                   {"min_gap_seconds": 1, "daily_limit": 100}), 200)
    hold(env, mb)
    for i in range(3):
        send(env, S.pat, {"from_mailbox_id": mb, "to": [address("bob")],
                          "subject": "gap %d" % i, "text": "x\n"})
    release(env, mb)
    most, high, c = watch_outbox(env, mb, lambda c: c.get("sent", 0) >= 10, 30)
    check(c == {"sent": 10} and most == 1,
          "with min_gap_seconds: most sending at once %d (want 1), outbox %s" % (most, c))


# --- refusals ------------------------------------------------------------------------------

@timed("R25 a suppressed recipient (to or cc, any case) -> 422 recipient_suppressed; R18 "
       "another member's or an admin sending from alice's mailbox -> 403/404; R12 a failing "
       "mailbox -> 422 mailbox_not_connected; nothing is queued")
def _(env):
    blocked = "blocked@%s" % PROSPECT
    env.insert_row("suppressions", {"org_id": S.org, "address_norm": blocked,
                                    "reason": "unsubscribe",
                                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime())})
    fay_mb = add_mailbox(env, S.fay, "fay", imap=server("fay", "imap",
                                                          password="Wrong-" + secrets.token_hex(5)))
    before = env.sql("SELECT COUNT(*) FROM outbox")[0][0]
    base = {"from_mailbox_id": S.a1, "subject": "s", "text": "x\n"}
    expect(env.req("POST", "/messages", S.alice.token, dict(base, to=[address("bob"), blocked])),
           422, "recipient_suppressed", "R25")
    expect(env.req("POST", "/messages", S.alice.token,
                   dict(base, to=[address("bob")], cc=["Blocked@Prospect.TEST"])),
           422, "recipient_suppressed", "R25")
    expect_denied(env.req("POST", "/messages", S.gus.token, dict(base, to=[address("bob")])))
    st, body = env.req("POST", "/messages", S.admin.token, dict(base, to=[address("bob")]))
    check(st in (403, 404), "an admin sending from alice's mailbox: %s %s" % (st, short(body)))
    # Someone else cannot read alice's message either.
    st, body = env.req("GET", "/messages/%s" % S.first["oid"], S.gus.token)
    check(st in (403, 404), "gus reads alice's message: %s %s" % (st, short(body)))
    wait_status(env, S.fay, fay_mb["id"], ("failing",), 20)
    expect(env.req("POST", "/messages", S.fay.token,
                   {"from_mailbox_id": fay_mb["id"], "to": [address("bob")], "subject": "s",
                    "text": "x\n"}), 422, "mailbox_not_connected")
    after = env.sql("SELECT COUNT(*) FROM outbox")[0][0]
    check(after == before, "refused messages were queued: %d -> %d" % (before, after))


# --- running -------------------------------------------------------------------------------

def _cleanup():
    return [why for why in (sink_stop(d) for d in S.sinks) if why]


def main():
    return run_lab_suite('send', suite, S, new_passwords(S.passwords, USERS),
                         ENGINE_ENV, cleanup=_cleanup)


if __name__ == "__main__":
    sys.exit(main())
