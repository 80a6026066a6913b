#!/usr/bin/env python3
"""test_shared.py — a shared mailbox (R20) with assignment and collision detection (R21) in
`mailfleet serve` against the real lab: Dovecot holds support@example.test, Postfix delivers
customers' mail into it (SMTP -> LMTP) and takes the replies sent from it (STARTTLS + AUTH).

  R20/R21  support@ is shared: owner Olive, members Ana, Ben, Cy with reply access and Reed
           with read access; only the owner edits the members (Ana and the admin get 403).
  R21      round-robin: six new conversations delivered into its INBOX are assigned 2/2/2
           (a, b, c, a, b, c by user id); the members see them in their unified inbox.
  R21      cap 1 (after the six are closed): four new conversations -> one each, the fourth
           stays unassigned; a customer's reply to a closed conversation reopens it (open,
           same assignee).
  R21/R28  unassigned alert (1 minute, checked every second here): nothing for a fresh
           conversation; once it is older (its opened_at moved back 2 minutes in SQLite) the
           owner gets exactly one conversation_unassigned notification, and no second one.
  R20/R18  Reed (read) cannot send from support@ (403 reply_access_required); Ana (reply)
           answers a conversation: the mail reaches the customer's Maildir from support@, and
           the sent message is in that conversation for Ben and Olive (direction out).
  R21      collision: Ana types in a conversation (taken_by Ana for 2 minutes, seen by Ben);
           Ben's reply gets 409 conversation_taken with error.taken_by; with "force": true it
           is sent.
  R2/R21   round-robin skips a member whose seat is locked.

Shortcuts (SQLite): the alert's clock is moved back by editing conversations.opened_at
instead of waiting a minute. Knobs: MAILFLEET_ASSIGNMENT_CHECK_SECONDS=1 (the alert check),
engine tick 1 s. Everything started here is stopped at the end, also on failure or SIGTERM.
Needs root (the lab scripts run Dovecot and Postfix). Run alone: python3
tests/engine/test_shared.py (TAP on stdout); MAILFLEET_KEEP_TMP=1 keeps the folders. Python 3
standard library only.
"""
import collections
import os
import secrets
import signal
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import harness  # noqa: E402
from harness import Suite, check, expect, short  # noqa: E402
from lab import Lab, address, message, new_passwords, run_lab_suite  # noqa: E402

suite = Suite("shared")


timed = suite.timed


S = types.SimpleNamespace(lab=None, env=None, passwords={})

ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
    "MAILFLEET_ASSIGNMENT_CHECK_SECONDS": "1",
}
CUSTOMERS = ["cust%d" % i for i in range(1, 12)]
USERS = ["support"] + CUSTOMERS


# --- helpers -------------------------------------------------------------------------------


def wait(desc, probe, timeout, interval=0.2):
    return harness.wait(desc, probe, timeout, interval)


def bare(mid):
    return (mid or "").strip().strip("<>")


def rfc2822():
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())


def server(local, kind):
    lab = S.lab
    return {"host": "127.0.0.1", "port": lab.imap_port if kind == "imap" else lab.smtp_port,
            "security": "starttls", "username": address(local), "password": S.passwords[local]}


def shared_inbox(env, who, **q):
    qs = "&".join(["mailbox_id=%s" % S.mb, "limit=500"] + ["%s=%s" % kv for kv in q.items()])
    return expect(env.req("GET", "/inbox?" + qs, who.token), 200)["items"]


def conversation(env, who, cid):
    return expect(env.req("GET", "/conversations/%s" % cid, who.token), 200)


def deliver(customer, subject, in_reply_to=None):
    """A customer's mail to support@ through Postfix; -> its Message-ID (bare)."""
    mid = "<%s.%s@customer.example.test>" % (customer, secrets.token_hex(6))
    headers = [("From", "%s <%s>" % (customer.title(), address(customer))),
               ("To", address("support")), ("Subject", subject), ("Date", rfc2822()),
               ("Message-ID", mid)]
    if in_reply_to:
        headers += [("In-Reply-To", "<%s>" % in_reply_to), ("References", "<%s>" % in_reply_to)]
    S.lab.send(address(customer), [address("support")],
               message(headers, "Hello support,\n\nplease help with %s.\n" % subject))
    return bare(mid)


def wait_conversations(env, subjects, timeout=30):
    """-> {subject: conversation} once every subject is a conversation of support@."""
    def probe():
        got = {c["subject"]: c for c in shared_inbox(env, S.olive) if c["subject"] in subjects}
        return len(got) == len(subjects), sorted(got)
    wait("%d conversations in support@" % len(subjects), probe, timeout)
    return {c["subject"]: c for c in shared_inbox(env, S.olive) if c["subject"] in subjects}


def notifications(env, who, kind):
    items = expect(env.req("GET", "/notifications?limit=500", who.token), 200)["items"]
    return [n for n in items if n["kind"] == kind]


def wait_msg(env, who, oid, timeout=30):
    def probe():
        m = expect(env.req("GET", "/messages/%s" % oid, who.token), 200)
        return m["status"] in ("sent", "failed", "unknown"), m
    return wait("message %s to be sent" % oid, probe, timeout)


def in_maildir(local, message_id):
    for path in S.lab.mail_files(local):
        with open(path, "rb") as fh:
            head = fh.read(8192).decode("utf-8", "replace")
        if bare(message_id) in head:
            return head
    return None


# --- setup ---------------------------------------------------------------------------------

@timed("R20 setup: support@ shared, owned by Olive, connected to the lab and synced; members "
       "Ana, Ben, Cy (reply) and Reed (read) set by the owner")
def _(env):
    S.env = env
    S.org = env.org("Shared Lab Ltd")
    S.admin = env.user("admin@sharedlab.test", "Ada Admin", "admin", S.org)
    S.olive = env.user("olive@sharedlab.test", "Olive Owner", "user", S.org)
    # ids sort in creation order, which fixes the round-robin order: Ana, Ben, Cy
    S.ana = env.user("ana@sharedlab.test", "Ana Agent", "user", S.org)
    S.ben = env.user("ben@sharedlab.test", "Ben Agent", "user", S.org)
    S.cy = env.user("cy@sharedlab.test", "Cy Agent", "user", S.org)
    S.reed = env.user("reed@sharedlab.test", "Reed Reader", "user", S.org)
    env.secrets.add(S.passwords["support"])
    body = {"owner_id": S.olive.id, "address": address("support"), "kind": "shared",
            "sender_name": "Support Team", "imap": server("support", "imap"),
            "smtp": server("support", "smtp")}
    S.mb = expect(env.req("POST", "/mailboxes", S.admin.token, body), 201)["id"]

    def good():
        m = expect(env.req("GET", "/mailboxes/%s" % S.mb, S.olive.token), 200)
        return m["status"] == "good" and (m.get("sync") or {}).get("backfill_done") is True, m
    wait("support@ good and synced", good, 30)
    r = expect(env.req("PUT", "/mailboxes/%s/members" % S.mb, S.olive.token, {"members": [
        {"user_id": S.ana.id, "access": "reply"}, {"user_id": S.ben.id, "access": "reply"},
        {"user_id": S.cy.id, "access": "reply"}, {"user_id": S.reed.id, "access": "read"}]}), 200)
    check(len(r["members"]) == 4, short(r))
    S.agents = sorted([S.ana, S.ben, S.cy], key=lambda u: u.id)


@timed("R20 only the owner edits the members: a reply member and an admin get 403, nothing "
       "changes")
def _(env):
    lst = {"members": [{"user_id": S.ana.id, "access": "reply"}]}
    expect(env.req("PUT", "/mailboxes/%s/members" % S.mb, S.ana.token, lst), 403, "forbidden",
           "R20")
    expect(env.req("PUT", "/mailboxes/%s/members" % S.mb, S.admin.token, lst), 403, "forbidden",
           "R20")
    m = expect(env.req("GET", "/mailboxes/%s/members" % S.mb, S.reed.token), 200)["members"]
    check(len(m) == 4, "the members changed: %s" % short(m))


# --- R21 round-robin -------------------------------------------------------------------------

@timed("R21 round-robin: six new conversations delivered into support@'s INBOX are assigned "
       "2/2/2, in turn by user id; members find theirs with ?assignee=me")
def _(env):
    a = expect(env.req("PUT", "/mailboxes/%s/assignment" % S.mb, S.olive.token,
                       {"mode": "round_robin"}), 200)
    check(a["mode"] == "round_robin" and a["cap"] is None, short(a))
    S.first_six = ["Order %d %s" % (i, secrets.token_hex(2)) for i in range(1, 7)]
    S.first_mids = {}
    for i, subj in enumerate(S.first_six):
        S.first_mids[subj] = deliver(CUSTOMERS[i], subj)
        time.sleep(0.3)  # distinct arrival order
    convs = wait_conversations(env, S.first_six)

    def all_assigned():
        got = {c["subject"]: c for c in shared_inbox(env, S.olive) if c["subject"] in S.first_six}
        return all(c["assignee_id"] for c in got.values()), got
    convs = wait("the six to be assigned", all_assigned, 15)
    S.first_convs = convs
    counts = collections.Counter(c["assignee_id"] for c in convs.values())
    check(sorted(counts.values()) == [2, 2, 2] and set(counts) == {u.id for u in S.agents},
          "round-robin counts %s (members %s)" % (dict(counts), [u.id for u in S.agents]))
    # in turn by user id, a b c a b c, in the order the conversations were stored (their ids
    # are time-ordered); the cursor started empty, so with the smallest id
    order = [c["assignee_id"] for c in sorted(convs.values(), key=lambda c: c["id"])]
    want = [u.id for u in S.agents] * 2
    check(order == want, "turn order %s, want %s" % (order, want))
    for u in S.agents:
        mine = [c for c in shared_inbox(env, u, assignee="me")]
        check(len(mine) == 2 and all(c["assignee_id"] == u.id for c in mine),
              "%s's ?assignee=me: %s" % (u.email, short(mine)))
    unified = {c["id"] for c in expect(env.req("GET", "/inbox?limit=500", S.reed.token), 200)["items"]}
    check({c["id"] for c in convs.values()} <= unified, "Reed's unified inbox lacks them")
    a = expect(env.req("GET", "/mailboxes/%s/assignment" % S.mb, S.olive.token), 200)
    check(a["last_assigned_user_id"] in {u.id for u in S.agents}, short(a))


@timed("R21 cap 1 (the six closed first): four new conversations -> one per member, the fourth "
       "stays unassigned")
def _(env):
    for c in S.first_convs.values():
        r = expect(env.req("PATCH", "/conversations/%s" % c["id"], S.olive.token,
                           {"status": "closed"}), 200)
        check(r["status"] == "closed", short(r))
    a = expect(env.req("PUT", "/mailboxes/%s/assignment" % S.mb, S.olive.token,
                       {"mode": "round_robin", "cap": 1, "unassigned_alert_minutes": 1}), 200)
    check(a["cap"] == 1 and a["unassigned_alert_minutes"] == 1, short(a))
    S.next_four = ["Ticket %d %s" % (i, secrets.token_hex(2)) for i in range(1, 5)]
    for i, subj in enumerate(S.next_four):
        deliver(CUSTOMERS[6 + i], subj)
        time.sleep(0.3)
    wait_conversations(env, S.next_four)
    time.sleep(1.0)  # the last of them stored, whatever the batch
    convs = {c["subject"]: c for c in shared_inbox(env, S.olive) if c["subject"] in S.next_four}
    assigned = [c for c in convs.values() if c["assignee_id"]]
    free = [c for c in convs.values() if not c["assignee_id"]]
    counts = collections.Counter(c["assignee_id"] for c in assigned)
    check(len(assigned) == 3 and len(free) == 1 and sorted(counts.values()) == [1, 1, 1],
          "cap 1: assigned %s, unassigned %s" % (dict(counts), [c["subject"] for c in free]))
    for u in S.agents:
        open_mine = shared_inbox(env, u, assignee="me", status="open")
        check(len(open_mine) == 1, "%s holds %d open: %s" % (u.email, len(open_mine),
                                                           short(open_mine)))
    S.unassigned = free[0]
    none = shared_inbox(env, S.ben, assignee="none", status="open")
    check([c["id"] for c in none] == [S.unassigned["id"]], "?assignee=none: %s" % short(none))


@timed("R21 a customer's reply reopens a closed conversation (open again, same assignee)")
def _(env):
    subj = S.first_six[0]
    c = S.first_convs[subj]
    deliver(CUSTOMERS[0], "Re: " + subj, in_reply_to=S.first_mids[subj])

    def reopened():
        x = conversation(env, S.olive, c["id"])
        return x["status"] == "open" and x["message_count"] >= 2, x
    x = wait("the closed conversation to reopen", reopened, 20)
    check(x["assignee_id"] == c["assignee_id"], "assignee changed: %s" % short(x))


@timed("R21/R28 unassigned alert: none while the conversation is younger than 1 minute; once "
       "older, exactly one conversation_unassigned notification to the owner")
def _(env):
    time.sleep(3.0)  # three checks
    check(notifications(env, S.olive, "conversation_unassigned") == [],
          "alerted too early: %s" % short(notifications(env, S.olive, "conversation_unassigned")))
    env.sql("UPDATE conversations SET opened_at = ? WHERE id = ?",
            (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120)),
             S.unassigned["id"]))

    def alerted():
        n = notifications(env, S.olive, "conversation_unassigned")
        return len(n) >= 1, n
    n = wait("the owner's alert", alerted, 10)
    time.sleep(3.0)  # more checks: still one
    n = notifications(env, S.olive, "conversation_unassigned")
    check(len(n) == 1, "want exactly one alert, got %d: %s" % (len(n), short(n)))
    d = n[0]["data"]
    check(d.get("conversation_id") == S.unassigned["id"] and d.get("mailbox_id") == S.mb
          and d.get("minutes") == 1, "alert data: %s" % short(d))
    for u in S.agents + [S.reed]:
        check(notifications(env, u, "conversation_unassigned") == [], "a member was alerted")


# --- R20 sending -----------------------------------------------------------------------------

@timed("R20 Reed (read) cannot send from support@ (403 reply_access_required); Ana (reply) "
       "answers: delivered from support@, and the sent message is in the conversation for "
       "Ben and Olive")
def _(env):
    c = S.unassigned
    body = {"from_mailbox_id": S.mb, "to": [address(CUSTOMERS[9])], "subject": "Re: " + c["subject"],
            "text": "Hello,\n\nwe are looking into it.\n", "in_reply_to_conversation_id": c["id"]}
    expect(env.req("POST", "/messages", S.reed.token, body), 403, "reply_access_required", "R20")
    r = expect(env.req("POST", "/messages", S.ana.token, body), 202)
    m = wait_msg(env, S.ana, r["id"])
    check(m["status"] == "sent", "want sent: %s; log %s" % (short(m), env.log_tail(600)))
    head = wait("delivery to %s" % CUSTOMERS[9],
                lambda: (in_maildir(CUSTOMERS[9], m["message_id"]) is not None,
                         in_maildir(CUSTOMERS[9], m["message_id"])), 15)
    check("support@example.test" in head and "Support Team" in head,
          "From is not support@ with its sender name: %s" % head[:600])

    def stored():
        x = conversation(env, S.ben, c["id"])
        out = [mm for mm in x["messages"] if bare(mm.get("message_id")) == bare(m["message_id"])]
        return bool(out), x
    x = wait("the sent reply in the conversation", stored, 15)
    out = [mm for mm in x["messages"] if bare(mm.get("message_id")) == bare(m["message_id"])][0]
    check(out["direction"] == "out", short(out))
    y = conversation(env, S.olive, c["id"])
    check(any(bare(mm.get("message_id")) == bare(m["message_id"]) for mm in y["messages"]),
          "Olive does not see the reply")


# --- R21 collision ---------------------------------------------------------------------------

@timed("R21 collision: Ana types (taken_by Ana, seen by Ben); Ben's reply -> 409 "
       "conversation_taken with error.taken_by; with force it is sent")
def _(env):
    c = S.unassigned
    t = expect(env.req("POST", "/conversations/%s/typing" % c["id"], S.ana.token), 200)
    check(t["taken_by"] == S.ana.id and t["taken_until"], short(t))
    x = conversation(env, S.ben, c["id"])
    check(x["taken_by"] == S.ana.id, "Ben does not see taken_by: %s" % short(x))
    body = {"from_mailbox_id": S.mb, "to": [address(CUSTOMERS[9])], "subject": "Re: " + c["subject"],
            "text": "Ben here.\n", "in_reply_to_conversation_id": c["id"]}
    b = expect(env.req("POST", "/messages", S.ben.token, body), 409, "conversation_taken", "R21")
    check(b["error"].get("taken_by") == S.ana.id, short(b))
    body["force"] = True
    r = expect(env.req("POST", "/messages", S.ben.token, body), 202)
    m = wait_msg(env, S.ben, r["id"])
    check(m["status"] == "sent", "forced reply: %s" % short(m))


# --- R2 / R21 a locked seat ----------------------------------------------------------------

@timed("R2/R21 round-robin skips a member whose seat is locked: with Cy locked (no cap), "
       "three new conversations go to Ana and Ben only")
def _(env):
    cy = [u for u in S.agents if u.id == S.cy.id][0]
    expect(env.req("PATCH", "/users/%s" % cy.id, S.admin.token, {"seat": "locked"}), 200)
    expect(env.req("PUT", "/mailboxes/%s/assignment" % S.mb, S.olive.token,
                   {"mode": "round_robin"}), 200)
    # three in a row: without the R2 rule each of the three would get one, whoever's turn it is
    subjects = ["Locked %d %s" % (i, secrets.token_hex(2)) for i in range(1, 4)]
    for i, subj in enumerate(subjects):
        deliver(CUSTOMERS[i], subj)
        time.sleep(0.3)

    def assigned():
        got = {c["subject"]: c for c in shared_inbox(env, S.olive) if c["subject"] in subjects}
        return len(got) == 3 and all(c["assignee_id"] for c in got.values()), got
    got = wait("the three to be assigned", assigned, 20)
    holders = sorted(set(c["assignee_id"] for c in got.values()))
    check(holders == sorted([S.ana.id, S.ben.id]),
          "holders %s, want Ana and Ben (Cy %s is locked)" % (holders, S.cy.id))
    expect(env.req("PATCH", "/users/%s" % cy.id, S.admin.token, {"seat": "active"}), 200)


# --- running -------------------------------------------------------------------------------

def main():
    return run_lab_suite('shared', suite, S, new_passwords(S.passwords, USERS),
                         ENGINE_ENV)


if __name__ == "__main__":
    sys.exit(main())
