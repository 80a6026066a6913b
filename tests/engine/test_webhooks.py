#!/usr/bin/env python3
"""test_webhooks.py — webhooks and notification email preferences with the real engine:
Dovecot and Postfix from tests/lab/, a local Python HTTP receiver (tests/api/webhook_receiver.py)
checking every signature with the secret the way docs/api.md tells receivers to.

  * mailbox.status (connecting -> good) when a mailbox connects; the 30-day backfill emits no
    message.received (only mail seen live does).
  * A message delivered through Postfix into the lab mailbox -> a signed message.received
    with its data (mailbox, conversation, from, subject, classification).
  * A reply to a message of the mailbox's Sent folder -> message.received and message.reply;
    a DSN about it -> message.bounce (hard, 5.1.1).
  * A receiver answering 500 twice is retried with backoff and recovers: the same delivery
    (same body and id), attempts 3, last status 200.
  * A receiver that hangs is cut off by the timeout, while other endpoints and mail go on.
  * A receiver that always answers 500, and a closed port: failed after
    MAILFLEET_WEBHOOK_MAX_ATTEMPTS attempts, with the last status code / error shown.
  * A refused password -> mailbox.status to failing (and to good after PATCH). R28: the owner
    turned email off for mailbox_failing: the notification is stored (listed, email_status
    off) and no email is queued for it, while the admin's (email on) is queued in the outbox
    for the system mailer (Postfix here); mailbox_recovered with email on is mailed too.
  * A webhook made inactive gets nothing.

Needs root (the lab). Run alone: python3 tests/engine/test_webhooks.py (TAP on stdout);
MAILFLEET_KEEP_TMP=1 keeps the folders. Python 3 standard library only.
"""
import os
import secrets
import signal
import socket
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
from harness import Fail, Suite, check, expect, short, wait  # noqa: E402
from lab import Lab, address, message, new_passwords, run_lab_suite  # noqa: E402
from webhook_receiver import Receiver, verify  # noqa: E402

suite = Suite("webhooks-engine")
S = types.SimpleNamespace(lab=None, env=None, recv=None, passwords={}, hooks={}, secrets={})
USERS = ["rita", "tina"]
PROSPECT = "prospect.test"
MAX_ATTEMPTS = 4
ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
    # fast webhook retries for the test: 1 s, then 2 s steps, 4 attempts, 5 s timeout
    "MAILFLEET_WEBHOOK_RETRY_BASE_SECONDS": "1",
    "MAILFLEET_WEBHOOK_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    "MAILFLEET_WEBHOOK_TIMEOUT_SECONDS": "5",
    "MAILFLEET_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver runs on loopback
}


timed = suite.timed


def rfc2822(days_ago=0.0):
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(time.time() - days_ago * 86400))


def new_mid(tag):
    return "<%s.%s@%s>" % (tag, secrets.token_hex(6), PROSPECT)


def received(path, event, pred=lambda j: True, timeout=20, answered=None):
    """The first request at path for event whose JSON body satisfies pred (and that the
    receiver answered with status `answered`, when given); its signature is checked with that
    webhook's secret."""
    def match(r):
        return (r["path"] == path and r["headers"].get("x-mailfleet-event") == event and
                (answered is None or r["status"] == answered) and
                r["json"] is not None and r["json"].get("event") == event and pred(r["json"]))
    try:
        r = S.recv.wait(match, timeout, "%s at %s" % (event, path))
    except AssertionError as e:
        raise Fail(str(e))
    ok, why = verify(S.secrets[path], r)
    check(ok, "%s at %s: %s" % (event, path, why))
    return r


def events_at(path, event=None):
    return [r for r in S.recv.requests(path)
            if event is None or r["headers"].get("x-mailfleet-event") == event]


def deliveries(env, path):
    return expect(env.req("GET", "/webhooks/%s/deliveries?limit=500" % S.hooks[path],
                          S.admin.token), 200)["items"]


def add_hook(env, path, events, url=None):
    secret = "test-secret-%s" % secrets.token_hex(12)
    b = expect(env.req("POST", "/webhooks", S.admin.token,
                       {"url": url or S.recv.url(path), "events": events, "secret": secret}), 201)
    env.secrets.add(secret)
    S.hooks[path], S.secrets[path] = b["id"], secret
    return b


def seat(env, local):
    return env.user(address(local), local.capitalize() + " Tester", "user", S.org)


def add_mailbox(env, who, local, password):
    imap = {"host": "127.0.0.1", "port": S.lab.imap_port, "security": "starttls",
            "username": address(local), "password": password}
    smtp = {"host": "127.0.0.1", "port": S.lab.smtp_port, "security": "none",
            "username": address(local), "password": password}
    env.secrets.add(password)
    return expect(env.req("POST", "/mailboxes", who.token,
                          {"owner_id": who.id, "address": address(local), "imap": imap,
                           "smtp": smtp}), 201)


def get_mailbox(env, who, mid):
    return expect(env.req("GET", "/mailboxes/%s" % mid, who.token), 200)


def wait_status(env, who, mid, status, timeout=20):
    def probe():
        m = get_mailbox(env, who, mid)
        return m.get("status") == status, m
    return wait("mailbox %s to be %s" % (mid, status), probe, timeout)


def notes(env, who, kind, addr):
    b = expect(env.req("GET", "/notifications?limit=500", who.token), 200)
    return [n for n in b["items"] if n["kind"] == kind and n["data"].get("address") == addr]


def mail_of(env, note_id):
    """(email_status, outbox rows) of a notification."""
    st = env.sql("SELECT email_status FROM notifications WHERE id = ?", (note_id,))
    rows = env.sql("SELECT kind, status FROM outbox WHERE unique_key = ?",
                   ("notification:%s" % note_id,))
    return (st[0][0] if st else None), rows


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- tests ---------------------------------------------------------------------------------

@timed("setup: organisation, admin, receiver; webhooks /all (every event), /down (always 500) "
       "and /closed (nobody listens) for mailbox.status")
def _(env):
    S.env = env
    S.org = env.org("Hook Lab Inc")
    S.admin = env.user("ada@example.test", "Ada Admin", "admin", S.org)
    S.recv = Receiver()
    S.recv.script("/down", [500] * 100)
    add_hook(env, "/all", ["message.received", "message.reply", "message.bounce",
                           "mailbox.status", "conversation.assigned", "enrollment.paused"])
    add_hook(env, "/down", ["mailbox.status"])
    add_hook(env, "/closed", ["mailbox.status"],
             url="http://127.0.0.1:%d/closed" % closed_port())


@timed("mailbox.status connecting -> good when a mailbox connects; the backfill emits no "
       "message.received")
def _(env):
    S.rita = seat(env, "rita")
    S.sent_id = "<rita-sent.%s@example.test>" % secrets.token_hex(5)
    S.sent_subject = "Proposal for Carl"
    S.lab.place_folder("rita", ".Sent", 1, message(
        [("From", "Rita <%s>" % address("rita")), ("To", "carl@%s" % PROSPECT),
         ("Subject", S.sent_subject), ("Date", rfc2822(1)), ("Message-ID", S.sent_id)],
        "Hello Carl, here is the proposal.\n"), flags="S")
    S.old_subject = "Old mail from last week %s" % secrets.token_hex(3)
    S.lab.place("rita", 7, message(
        [("From", "Old <old@%s>" % PROSPECT), ("To", address("rita")),
         ("Subject", S.old_subject), ("Date", rfc2822(7)), ("Message-ID", new_mid("old"))],
        "From last week.\n"))
    mb = add_mailbox(env, S.rita, "rita", S.passwords["rita"])
    S.rita_mb = mb["id"]
    r = received("/all", "mailbox.status",
                 lambda j: j["data"].get("mailbox_id") == S.rita_mb and j["data"]["to"] == "good")
    d = r["json"]["data"]
    check(d["address"] == address("rita") and d["from"] in ("connecting", "error"),
          "data: %s" % short(d))
    j = r["json"]
    check(j["org_id"] == S.org and j["id"].startswith("evt_") and
          r["headers"].get("x-mailfleet-delivery", "").startswith("whd_"), short(j))

    def synced():
        m = get_mailbox(env, S.rita, S.rita_mb)
        sy = m.get("sync") or {}
        return sy.get("backfill_done") is True and sy.get("messages_imported") == 2, m
    wait("the backfill of 2 messages", synced, 20)


@timed("a message delivered through Postfix -> signed message.received with its data")
def _(env):
    S.live_subject = "Live question %s" % secrets.token_hex(3)
    mid = new_mid("live")
    S.lab.send("dora@%s" % PROSPECT, [address("rita")], message(
        [("From", "Dora Prospect <dora@%s>" % PROSPECT), ("To", address("rita")),
         ("Subject", S.live_subject), ("Date", rfc2822()), ("Message-ID", mid)],
        "Hi Rita, a question about pricing.\n"))
    r = received("/all", "message.received", lambda j: j["data"].get("subject") == S.live_subject)
    h, j, d = r["headers"], r["json"], r["json"]["data"]
    ts = int(h["x-mailfleet-timestamp"])
    check(abs(ts - time.time()) < 60, "timestamp %s" % ts)
    check(h.get("content-type") == "application/json" and h.get("user-agent"), "headers: %s" % h)
    check(set(j) == {"id", "event", "created_at", "org_id", "data"}, "body keys: %s" % sorted(j))
    check(d["mailbox_id"] == S.rita_mb and d["mailbox_address"] == address("rita") and
          d["from"] == "dora@%s" % PROSPECT and d["from_name"] == "Dora Prospect" and
          d["internet_message_id"].strip("<>") == mid.strip("<>") and
          d["classification"] == "human" and d["conversation_id"] and d["message_id"] and
          "pricing" in d["snippet"], "data: %s" % short(d))
    c = expect(env.req("GET", "/conversations/%s" % d["conversation_id"], S.rita.token), 200)
    m = [x for x in c.get("messages") or [] if x.get("id") == d["message_id"]]
    check(m and m[0].get("subject") == S.live_subject,
          "the event names the stored message and its conversation: %s" % short(c))
    old = [x for x in events_at("/all", "message.received")
           if x["json"]["data"].get("subject") == S.old_subject]
    check(not old, "the backfilled message was sent as message.received: %s" % short(old))
    n = [x for x in events_at("/all", "message.received")
         if x["json"]["data"].get("subject") == S.live_subject]
    check(len(n) == 1, "message.received came %d times" % len(n))


@timed("R22 a reply to a message in Sent -> message.received and message.reply (same data)")
def _(env):
    subj = "Re: %s" % S.sent_subject
    S.lab.send("carl@%s" % PROSPECT, [address("rita")], message(
        [("From", "Carl <carl@%s>" % PROSPECT), ("To", address("rita")), ("Subject", subj),
         ("Date", rfc2822()), ("Message-ID", new_mid("reply")), ("In-Reply-To", S.sent_id),
         ("References", S.sent_id)], "Sounds good, let's talk.\n"))
    rep = received("/all", "message.reply", lambda j: j["data"].get("subject") == subj)
    rec = received("/all", "message.received", lambda j: j["data"].get("subject") == subj)
    d = rep["json"]["data"]
    check(d["classification"] == "reply" and
          d.get("in_reply_to_ours", "").strip("<>") == S.sent_id.strip("<>"), short(d))
    check(rec["json"]["data"] == d, "message.received and message.reply differ: %s / %s"
          % (short(rec["json"]["data"]), short(d)))
    check(rec["json"]["id"] != rep["json"]["id"], "two events share an id")


@timed("R23 a DSN about that message -> message.bounce (hard, 5.1.1, the recipient)")
def _(env):
    b = "mfdsn-" + secrets.token_hex(6)
    rcpt = "carl@%s" % PROSPECT
    body = ("--%(b)s\nContent-Type: text/plain\n\nDelivery failed.\n\n"
            "--%(b)s\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.%(dom)s\n\n"
            "Final-Recipient: rfc822; %(rcpt)s\nAction: failed\nStatus: 5.1.1\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\n\n"
            "--%(b)s\nContent-Type: text/rfc822-headers\n\nFrom: <%(me)s>\nTo: <%(rcpt)s>\n"
            "Subject: %(subj)s\nMessage-ID: %(orig)s\n\n--%(b)s--\n") % {
                "b": b, "dom": PROSPECT, "rcpt": rcpt, "me": address("rita"),
                "subj": S.sent_subject, "orig": S.sent_id}
    subj = "Undelivered Mail %s" % secrets.token_hex(3)
    S.lab.send("", [address("rita")], message(
        [("From", "Mail Delivery System <MAILER-DAEMON@mx.%s>" % PROSPECT),
         ("To", address("rita")), ("Subject", subj), ("Date", rfc2822()),
         ("Message-ID", new_mid("dsn")), ("MIME-Version", "1.0"),
         ("Content-Type", 'multipart/report; report-type=delivery-status; boundary="%s"' % b)],
        body))
    r = received("/all", "message.bounce", lambda j: j["data"].get("subject") == subj)
    d = r["json"]["data"]
    check(d["classification"] == "bounce" and d.get("bounce") == {
        "kind": "hard", "status": "5.1.1", "recipient": rcpt}, "data: %s" % short(d))
    received("/all", "message.received", lambda j: j["data"].get("subject") == subj)


@timed("a receiver answering 500 twice is retried with backoff and recovers: the same "
       "delivery, attempts 3, last status 200")
def _(env):
    S.recv.script("/flaky", [500, 500])
    add_hook(env, "/flaky", ["message.received"])
    subj = "For the flaky receiver %s" % secrets.token_hex(3)
    S.lab.send("eve@%s" % PROSPECT, [address("rita")], message(
        [("From", "Eve <eve@%s>" % PROSPECT), ("To", address("rita")), ("Subject", subj),
         ("Date", rfc2822()), ("Message-ID", new_mid("flaky"))], "Third time lucky.\n"))
    last = received("/flaky", "message.received",
                    lambda j: j["data"].get("subject") == subj, timeout=30, answered=200)
    got = [r for r in events_at("/flaky") if r["json"]["data"].get("subject") == subj]
    check([r["status"] for r in got] == [500, 500, 200],
          "answers given: %s" % [r["status"] for r in got])
    check(len({r["headers"]["x-mailfleet-delivery"] for r in got}) == 1 and
          len({r["body"] for r in got}) == 1, "retries must send the same delivery and body")
    for r in got:  # each attempt carries a valid signature
        ok, why = verify(S.secrets["/flaky"], r)
        check(ok, why)
    span = got[-1]["at"] - got[0]["at"]
    check(span >= 1.0, "three attempts within %.2f s: no backoff" % span)

    def done():
        items = deliveries(env, "/flaky")
        x = [i for i in items if i["id"] == last["headers"]["x-mailfleet-delivery"]]
        return bool(x) and x[0]["status"] == "delivered", items
    items = wait("the flaky delivery recorded as delivered", done, 10)
    x = [i for i in items if i["id"] == last["headers"]["x-mailfleet-delivery"]][0]
    check(x["attempts"] == 3 and x["status_code"] == 200 and x["last_error"] is None and
          x["next_attempt_at"] is None and x["delivered_at"] and x["event"] == "message.received",
          short(x))


@timed("an endpoint that hangs is cut off by the timeout (no status, 'timed out') and holds "
       "up nothing: mail still arrives and other endpoints still get their events at once")
def _(env):
    S.recv.script("/slow", [(8, 200)] * 20)  # answers after 8 s; the timeout is 5 s
    add_hook(env, "/slow", ["message.received"])
    subj = "While an endpoint hangs %s" % secrets.token_hex(3)
    t0 = time.time()
    S.lab.send("gus@%s" % PROSPECT, [address("rita")], message(
        [("From", "Gus <gus@%s>" % PROSPECT), ("To", address("rita")), ("Subject", subj),
         ("Date", rfc2822()), ("Message-ID", new_mid("slow"))], "Hello?\n"))
    received("/all", "message.received", lambda j: j["data"].get("subject") == subj)
    first = received("/slow", "message.received", lambda j: j["data"].get("subject") == subj)
    subj2 = "Right behind it %s" % secrets.token_hex(3)
    S.lab.send("gus@%s" % PROSPECT, [address("rita")], message(
        [("From", "Gus <gus@%s>" % PROSPECT), ("To", address("rita")), ("Subject", subj2),
         ("Date", rfc2822()), ("Message-ID", new_mid("slow2"))], "Still there?\n"))
    r2 = received("/all", "message.received", lambda j: j["data"].get("subject") == subj2)
    check(r2["at"] - first["at"] < 4.0,
          "the next event waited %.1f s behind a hanging endpoint" % (r2["at"] - first["at"]))
    did = first["headers"]["x-mailfleet-delivery"]

    def timed_out():
        x = [i for i in deliveries(env, "/slow") if i["id"] == did]
        return bool(x) and x[0]["attempts"] >= 1 and x[0]["last_error"] is not None, x
    x = wait("the hanging attempt to be cut off", timed_out, 20)[0]
    check(x["status"] == "pending" and x["status_code"] is None and
          "timed out" in x["last_error"].lower(), short(x))
    check(time.time() - t0 < 25, "took %.1f s" % (time.time() - t0))
    expect(env.req("PATCH", "/webhooks/%s" % S.hooks["/slow"], S.admin.token,
                   {"active": False}), 200)


@timed("R12/R28 a refused password -> mailbox.status failing; email off for mailbox_failing: "
       "the notification is stored but no email is queued (the admin's is)")
def _(env):
    S.tina = seat(env, "tina")
    p = expect(env.req("PUT", "/me/notification-preferences", S.tina.token,
                       {"mailbox_failing": False}), 200)
    check(p["mailbox_failing"] is False and p["mailbox_recovered"] is True, short(p))
    mb = add_mailbox(env, S.tina, "tina", "Wrong-" + secrets.token_hex(6))
    S.tina_mb = mb["id"]
    wait_status(env, S.tina, S.tina_mb, "failing", 20)
    r = received("/all", "mailbox.status",
                 lambda j: j["data"].get("mailbox_id") == S.tina_mb and j["data"]["to"] == "failing")
    check("Authentication failed" in (r["json"]["data"].get("reason") or ""), short(r["json"]))
    mine = notes(env, S.tina, "mailbox_failing", address("tina"))
    check(len(mine) == 1, "tina's mailbox_failing notifications: %s" % short(mine))
    admins = notes(env, S.admin, "mailbox_failing", address("tina"))
    check(len(admins) == 1, "the admin's: %s" % short(admins))

    def admin_mailed():
        st, rows = mail_of(env, admins[0]["id"])
        return st == "queued" and len(rows) == 1 and rows[0][0] == "system", (st, rows)
    wait("the admin's notification email queued for the system mailer", admin_mailed, 15)
    time.sleep(1.5)  # a few more sender ticks
    st, rows = mail_of(env, mine[0]["id"])
    check(st == "off" and rows == [], "tina turned it off, yet: email_status %s, outbox %s"
          % (st, rows))


@timed("R12/R28 PATCH the right password -> mailbox.status good; mailbox_recovered (email on) "
       "is mailed")
def _(env):
    pw = S.passwords["tina"]
    env.secrets.add(pw)
    imap = {"host": "127.0.0.1", "port": S.lab.imap_port, "security": "starttls",
            "username": address("tina"), "password": pw}
    expect(env.req("PATCH", "/mailboxes/%s" % S.tina_mb, S.tina.token, {"imap": imap}), 200)
    wait_status(env, S.tina, S.tina_mb, "good", 20)
    received("/all", "mailbox.status",
             lambda j: j["data"].get("mailbox_id") == S.tina_mb and j["data"]["to"] == "good")
    rec = notes(env, S.tina, "mailbox_recovered", address("tina"))
    check(len(rec) == 1, short(rec))

    def mailed():
        st, rows = mail_of(env, rec[0]["id"])
        return st == "queued" and len(rows) == 1, (st, rows)
    wait("tina's mailbox_recovered email queued", mailed, 15)


@timed("endpoints that never succeed: failed after MAILFLEET_WEBHOOK_MAX_ATTEMPTS attempts, "
       "with the last status code (500) or the connection error")
def _(env):
    def final(path):
        def probe():
            items = deliveries(env, path)
            return bool(items) and all(i["status"] == "failed" for i in items), items
        return wait("every delivery of %s failed" % path, probe, 40, 0.5)
    for x in final("/down"):
        check(x["attempts"] == MAX_ATTEMPTS and x["status_code"] == 500 and
              "500" in (x["last_error"] or "") and x["next_attempt_at"] is None and
              x["delivered_at"] is None and x["event"] == "mailbox.status", short(x))
    n = len(events_at("/down"))
    check(n == MAX_ATTEMPTS * len(deliveries(env, "/down")),
          "/down was called %d times for %d deliveries" % (n, len(deliveries(env, "/down"))))
    for x in final("/closed"):
        check(x["attempts"] == MAX_ATTEMPTS and x["status_code"] is None and x["last_error"],
              short(x))
    f = expect(env.req("GET", "/webhooks/%s/deliveries?status=failed" % S.hooks["/down"],
                       S.admin.token), 200)["items"]
    check(len(f) == len(deliveries(env, "/down")), short(f))
    d = expect(env.req("GET", "/webhooks/%s/deliveries?status=delivered" % S.hooks["/down"],
                       S.admin.token), 200)["items"]
    check(d == [], short(d))


@timed("a webhook made inactive gets nothing (no delivery is even recorded for it)")
def _(env):
    expect(env.req("PATCH", "/webhooks/%s" % S.hooks["/flaky"], S.admin.token,
                   {"active": False}), 200)
    before = len(deliveries(env, "/flaky"))
    subj = "While flaky is off %s" % secrets.token_hex(3)
    S.lab.send("fred@%s" % PROSPECT, [address("rita")], message(
        [("From", "Fred <fred@%s>" % PROSPECT), ("To", address("rita")), ("Subject", subj),
         ("Date", rfc2822()), ("Message-ID", new_mid("off"))], "Anyone?\n"))
    received("/all", "message.received", lambda j: j["data"].get("subject") == subj)
    time.sleep(1.5)
    check(len(deliveries(env, "/flaky")) == before, "an inactive webhook got a delivery")
    check(not [r for r in events_at("/flaky") if r["json"]["data"].get("subject") == subj],
          "an inactive webhook was called")


# --- running -------------------------------------------------------------------------------

def _setup():
    os.environ["MAILFLEET_SYSTEM_SMTP"] = "smtp://127.0.0.1:%d" % S.lab.smtp_port
    os.environ["MAILFLEET_SYSTEM_FROM"] = "mailfleet@example.test"
    os.environ.pop("MAILFLEET_BACKFILL_DAYS", None)


def _cleanup():
    if S.recv:
        S.recv.stop()
    return []


def main():
    return run_lab_suite('webhooks', suite, S, new_passwords(S.passwords, USERS),
                         ENGINE_ENV, setup=_setup, cleanup=_cleanup)


if __name__ == "__main__":
    sys.exit(main())
