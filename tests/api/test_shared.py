#!/usr/bin/env python3
"""test_shared.py — shared mailboxes (R20) and assignment (R21) through the HTTP API: who may
do what.

One organisation with an admin, the owner Olive of the shared mailbox support@, two members
with reply access (Walt, Wren), one with read access (Reed), a colleague who is no member
(Xena); a second organisation's admin.
  * R20 members: only the owner edits them (admins, members, other orgs refused); every
    member reads them; bad input is a 400 naming the field; the owner, unknown users, users of
    another org, operators are refused; a personal mailbox has no members (422 not_shared).
  * R20 reading: members see the mailbox, its conversations (GET /conversations/{id}) and
    find them in their unified inbox; a colleague who is no member does not.
  * R20 settings: PATCH of a shared mailbox and its assignment rule by the owner only.
  * R18/R20 sending: a read member gets 403 reply_access_required, a non-member 403 forbidden,
    a reply member 202 (a reply is queued in the shared mailbox's conversation).
  * R21 assignment: owner and admins assign anyone eligible, reassign and unassign; a reply
    member takes an unassigned conversation for themselves only and gives back only their own;
    read members and non-eligible assignees are refused; GET /inbox filters by assignee,
    unassigned and status; removing a member gives back their conversations.
  * R21 status: open | pending | closed by owner, admins, reply members.
  * R21 collision: typing marks a conversation taken for two minutes (taken_by); a second
    member's typing or compose answering it gets 409 conversation_taken with error.taken_by
    unless "force": true; an expired mark does not block.
  * R20 ownership transfer: admins only, shared mailboxes only (R8 keeps personal ones on
    mailbox requests); the previous owner stays a reply member (or leaves); the new owner
    alone edits members then.
  * R27 the changes are in the audit log.

Conversations are inserted straight into the SQLite database (the mail engine that normally
makes them is exercised with real mail in tests/engine/test_shared.py).
Run alone: python3 tests/api/test_shared.py (TAP on stdout).
"""
import os
import secrets
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, expect_denied, main, short  # noqa: E402

suite = Suite("shared")
S = types.SimpleNamespace()
T = "2026-11-25T10:00:00Z"


def new_conversation(env, mailbox_id, subject):
    cid = "cnv_t%s" % secrets.token_hex(8)
    env.insert_row("conversations", {"id": cid, "mailbox_id": mailbox_id, "subject": subject,
                                     "last_message_at": T, "created_at": T, "message_count": 1})
    env.insert_row("messages", {"id": "msg_t%s" % secrets.token_hex(8), "mailbox_id": mailbox_id,
                                "conversation_id": cid, "dedupe_key": secrets.token_hex(6),
                                "message_id": "%s@customer.test" % secrets.token_hex(6),
                                "direction": "in", "folder": "INBOX", "from_addr": "c@customer.test",
                                "subject": subject, "date": T, "classification": "human",
                                "created_at": T})
    return cid


def conv(env, who, cid, status=200):
    return expect(env.req("GET", "/conversations/%s" % cid, who.token), status)


def assign(env, who, cid, user_id):
    return env.req("POST", "/conversations/%s/assign" % cid, who.token, {"assignee_id": user_id})


def inbox(env, who, query=""):
    r = expect(env.req("GET", "/inbox?limit=500" + ("&" + query if query else ""), who.token), 200)
    return {c["id"] for c in r["items"]}


def members(env, who, mid):
    return expect(env.req("GET", "/mailboxes/%s/members" % mid, who.token), 200)


def put_members(env, who, mid, lst):
    return env.req("PUT", "/mailboxes/%s/members" % mid, who.token, {"members": lst})


def reply_body(mid, cid=None, **extra):
    b = {"from_mailbox_id": mid, "to": ["c@customer.test"], "subject": "Re: help",
         "text": "We are on it.\n"}
    if cid:
        b["in_reply_to_conversation_id"] = cid
    b.update(extra)
    return b


# --- setup ----------------------------------------------------------------------------------

@suite.test("R20 setup: an org with an admin, the owner of support@ (shared), reply and read "
            "members, a colleague who is no member; another org's admin")
def _(env):
    S.org = env.org("Team Inbox Co")
    S.admin = env.user("admin@teaminbox.test", "Ada Admin", "admin", S.org)
    S.olive = env.user("olive@teaminbox.test", "Olive Owner", "user", S.org)
    S.walt = env.user("walt@teaminbox.test", "Walt Reply", "user", S.org)
    S.wren = env.user("wren@teaminbox.test", "Wren Reply", "user", S.org)
    S.reed = env.user("reed@teaminbox.test", "Reed Read", "user", S.org)
    S.xena = env.user("xena@teaminbox.test", "Xena Outside", "user", S.org)
    S.org_b = env.org("Other Org")
    S.admin_b = env.user("admin@other.test", "Bea Other", "admin", S.org_b)
    S.user_b = env.user("bob@other.test", "Bob Other", "user", S.org_b)
    S.shared = env.new_mailbox(S.admin, S.olive.id, "support@teaminbox.test", kind="shared")["id"]
    check(S.shared, "no shared mailbox")
    S.personal = env.new_mailbox(S.walt, S.walt.id, "walt@teaminbox.test")["id"]
    S.c1 = new_conversation(env, S.shared, "Cannot log in")
    S.c2 = new_conversation(env, S.shared, "Invoice question")
    S.c3 = new_conversation(env, S.shared, "Feature request")
    S.cp = new_conversation(env, S.personal, "Walt's own thread")


# --- R20 members ----------------------------------------------------------------------------

@suite.test("R20 the owner sets the members (reply, reply, read with available false); every "
            "member reads the list")
def _(env):
    r = expect(put_members(env, S.olive, S.shared, [
        {"user_id": S.walt.id, "access": "reply"},
        {"user_id": S.wren.id, "access": "reply", "available": True},
        {"user_id": S.reed.id, "access": "read", "available": False}]), 200)
    got = {m["user_id"]: (m["access"], m["available"]) for m in r["members"]}
    check(got == {S.walt.id: ("reply", True), S.wren.id: ("reply", True),
                  S.reed.id: ("read", False)}, "members: %s" % short(r))
    check(r["owner_id"] == S.olive.id and r["mailbox_id"] == S.shared, short(r))
    for who in (S.walt, S.reed, S.admin, S.olive):
        m = members(env, who, S.shared)
        check(len(m["members"]) == 3, "%s reads %s" % (who.email, short(m)))
    w = [m for m in members(env, S.reed, S.shared)["members"] if m["user_id"] == S.walt.id][0]
    check(w["email"] == S.walt.email and w["name"] == S.walt.name, "member row: %s" % short(w))


@suite.test("R20 only the owner edits members: an admin, a reply member, a non-member get 403, "
            "another org 404; nothing changes")
def _(env):
    lst = [{"user_id": S.xena.id, "access": "reply"}]
    expect(put_members(env, S.admin, S.shared, lst), 403, "forbidden", "R20")
    expect(put_members(env, S.walt, S.shared, lst), 403, "forbidden", "R20")
    expect(put_members(env, S.xena, S.shared, lst), 403, "forbidden", "R20")
    expect(put_members(env, S.admin_b, S.shared, lst), 404, "not_found")
    expect(put_members(env, env.op, S.shared, lst), 403, "forbidden", "R20")
    expect_denied(env.req("GET", "/mailboxes/%s/members" % S.shared, S.xena.token))
    expect(env.req("GET", "/mailboxes/%s/members" % S.shared, S.admin_b.token), 404, "not_found")
    check(len(members(env, S.olive, S.shared)["members"]) == 3, "members changed")


@suite.test("R20 bad member lists are refused with the field named: access, duplicates, the "
            "owner, unknown users, users of another org or none (operators); a personal mailbox -> 422 not_shared")
def _(env):
    def bad(lst, status, code, field=None, rule=None):
        b = expect(put_members(env, S.olive, S.shared, lst), status, code, rule)
        if field:
            check(field in b["error"]["message"], "message names %s: %s" % (field, short(b)))
    bad([{"user_id": S.walt.id, "access": "write"}], 400, "invalid_request", "members[0].access")
    bad([{"user_id": S.walt.id}], 400, "invalid_request", "members[0].access")
    bad([{"user_id": S.walt.id, "access": "reply", "available": "yes"}], 400, "invalid_request",
        "members[0].available")
    bad([{"user_id": S.walt.id, "access": "reply"}, {"user_id": S.walt.id, "access": "read"}],
        400, "invalid_request", "members[1].user_id")
    bad([{"user_id": S.olive.id, "access": "reply"}], 422, "invalid_request", "members[0].user_id",
        "R20")
    bad([{"user_id": "usr_nobody", "access": "reply"}], 404, "not_found", "members[0].user_id")
    bad([{"user_id": S.user_b.id, "access": "reply"}], 404, "not_found", "members[0].user_id")
    bad([{"user_id": env.op.id, "access": "reply"}], 404, "not_found", "members[0].user_id")
    bad(["x"], 400, "invalid_request", "members[0]")
    expect(env.req("PUT", "/mailboxes/%s/members" % S.shared, S.olive.token, {}), 400,
           "invalid_request")
    expect(env.req("PUT", "/mailboxes/%s/members" % S.personal, S.walt.token, {"members": []}),
           422, "not_shared", "R20")
    expect(env.req("GET", "/mailboxes/%s/members" % S.personal, S.walt.token), 422, "not_shared")
    check(len(members(env, S.olive, S.shared)["members"]) == 3, "members changed")


# --- R20 reading ----------------------------------------------------------------------------

@suite.test("R20 members read the shared mailbox and its conversations and find them in their "
            "unified inbox; a colleague who is no member does not")
def _(env):
    for who in (S.walt, S.reed):
        m = expect(env.req("GET", "/mailboxes/%s" % S.shared, who.token), 200)
        check(m["kind"] == "shared" and m["owner_id"] == S.olive.id, short(m))
        c = conv(env, who, S.c1)
        check(c["id"] == S.c1 and len(c["messages"]) == 1, short(c))
        got = inbox(env, who)
        check({S.c1, S.c2, S.c3} <= got, "%s's inbox lacks the shared conversations: %s"
              % (who.email, got))
    check(S.cp in inbox(env, S.walt), "Walt's inbox lacks his own mailbox's conversation")
    check(S.cp not in inbox(env, S.reed), "Reed sees Walt's personal conversation")
    check(not ({S.c1, S.c2, S.c3} & inbox(env, S.xena)), "Xena sees shared conversations")
    expect_denied(env.req("GET", "/mailboxes/%s" % S.shared, S.xena.token))
    expect(env.req("GET", "/conversations/%s" % S.c1, S.xena.token), 404, "not_found")
    expect(env.req("GET", "/conversations/%s" % S.c1, S.user_b.token), 404, "not_found")
    expect_denied(env.req("GET", "/inbox?mailbox_id=%s" % S.shared, S.xena.token))
    check({S.c1, S.c2, S.c3} == inbox(env, S.reed, "mailbox_id=%s" % S.shared), "mailbox filter")
    # an admin sees a member's inbox with its shared conversations
    check({S.c1, S.c2, S.c3} <= inbox(env, S.admin, "owner_id=%s" % S.reed.id), "admin view")


@suite.test("R20 GET /mailboxes?member=me: the caller's own mailboxes and the shared ones they "
            "are a member of; without it a user still lists only their own")
def _(env):
    def ids(who, query=""):
        r = expect(env.req("GET", "/mailboxes?limit=500" + query, who.token), 200)
        return {m["id"] for m in r["items"]}
    check(ids(S.walt, "&member=me") == {S.shared, S.personal}, "Walt: %s" % ids(S.walt, "&member=me"))
    check(ids(S.walt) == {S.personal}, "GET /mailboxes changed for users: %s" % ids(S.walt))
    check(ids(S.reed, "&member=me") == {S.shared}, "Reed (read member)")
    check(ids(S.olive, "&member=me") == {S.shared}, "Olive (the owner)")
    check(ids(S.xena, "&member=me") == set(), "Xena (no member) sees %s" % ids(S.xena, "&member=me"))
    check(ids(S.admin, "&member=me") == set(), "the admin is no member and owns nothing")
    check({S.shared, S.personal} <= ids(S.admin), "admins still list the organisation's mailboxes")
    check(ids(S.walt, "&member=me&owner_id=%s" % S.walt.id) == {S.personal}, "with owner_id")
    check(ids(S.user_b, "&member=me") == set(), "another organisation")
    expect(env.req("GET", "/mailboxes?member=walt", S.walt.token), 400, "invalid_request")
    expect(env.req("GET", "/mailboxes?member=me&owner_id=%s" % S.olive.id, S.walt.token), 403,
           "forbidden", "R1")


@suite.test("R20 the owner alone changes a shared mailbox's settings and assignment rule "
            "(admins and members 403); members read the rule")
def _(env):
    expect(env.req("PATCH", "/mailboxes/%s" % S.shared, S.admin.token, {"signature": "x"}), 403,
           "forbidden", "R20")
    expect(env.req("PATCH", "/mailboxes/%s" % S.shared, S.walt.token, {"signature": "x"}),
           (403, 404))
    m = expect(env.req("PATCH", "/mailboxes/%s" % S.shared, S.olive.token,
                       {"sender_name": "Support Team"}), 200)
    check(m["sender_name"] == "Support Team", short(m))
    rule = {"mode": "round_robin", "cap": 2, "unassigned_alert_minutes": 30}
    for who in (S.admin, S.walt, S.reed):
        expect(env.req("PUT", "/mailboxes/%s/assignment" % S.shared, who.token, rule), 403,
               "forbidden", "R20")
    a = expect(env.req("GET", "/mailboxes/%s/assignment" % S.shared, S.walt.token), 200)
    check(a["mode"] == "manual" and a["cap"] is None and a["unassigned_alert_minutes"] is None,
          "default rule: %s" % short(a))
    a = expect(env.req("PUT", "/mailboxes/%s/assignment" % S.shared, S.olive.token, rule), 200)
    check(a["mode"] == "round_robin" and a["cap"] == 2 and a["unassigned_alert_minutes"] == 30,
          short(a))
    a = expect(env.req("GET", "/mailboxes/%s/assignment" % S.shared, S.reed.token), 200)
    check(a["mode"] == "round_robin" and a["cap"] == 2, short(a))
    for body, field in (({"mode": "random"}, "mode"), ({}, "mode"),
                        ({"mode": "round_robin", "cap": 0}, "cap"),
                        ({"mode": "round_robin", "cap": "2"}, "cap"),
                        ({"mode": "manual", "unassigned_alert_minutes": -1},
                         "unassigned_alert_minutes")):
        b = expect(env.req("PUT", "/mailboxes/%s/assignment" % S.shared, S.olive.token, body),
                   400, "invalid_request")
        check(b["error"]["message"].startswith(field), "names %s: %s" % (field, short(b)))
    a = expect(env.req("PUT", "/mailboxes/%s/assignment" % S.shared, S.olive.token,
                       {"mode": "none"}), 200)
    check(a["mode"] == "manual" and a["cap"] is None, "mode none = manual: %s" % short(a))
    expect(env.req("PUT", "/mailboxes/%s/assignment" % S.personal, S.walt.token,
                   {"mode": "manual"}), 422, "not_shared")


# --- R18 / R20 sending ------------------------------------------------------------------------

@suite.test("R20 sending from the shared mailbox: read member 403 reply_access_required, "
            "non-member and admin 403 forbidden, reply member 202 (a reply in its conversation)")
def _(env):
    before = env.sql("SELECT COUNT(*) FROM outbox")[0][0]
    expect(env.req("POST", "/messages", S.reed.token, reply_body(S.shared, S.c1)), 403,
           "reply_access_required", "R20")
    expect(env.req("POST", "/messages", S.xena.token, reply_body(S.shared)), 403, "forbidden")
    expect(env.req("POST", "/messages", S.admin.token, reply_body(S.shared)), 403, "forbidden")
    expect(env.req("POST", "/messages", S.user_b.token, reply_body(S.shared)), 404, "not_found")
    check(env.sql("SELECT COUNT(*) FROM outbox")[0][0] == before, "a refused message was queued")
    r = expect(env.req("POST", "/messages", S.walt.token, reply_body(S.shared, S.c1)), 202)
    g = expect(env.req("GET", "/messages/%s" % r["id"], S.walt.token), 200)
    check(g["from_mailbox_id"] == S.shared and g.get("conversation_id") == S.c1, short(g))
    r = expect(env.req("POST", "/messages", S.olive.token, reply_body(S.shared)), 202)
    # a personal mailbox still sends for its owner alone (R18)
    expect(env.req("POST", "/messages", S.wren.token, reply_body(S.personal)), 403, "forbidden",
           "R18")


# --- R21 assignment ---------------------------------------------------------------------------

@suite.test("R21 a reply member takes an unassigned conversation for themselves only; a second "
            "one cannot take it over; read members and non-members cannot assign")
def _(env):
    c = expect(assign(env, S.walt, S.c1, S.walt.id), 200)
    check(c["assignee_id"] == S.walt.id and c["assigned_at"], short(c))
    expect(assign(env, S.wren, S.c1, S.wren.id), 403, "forbidden", "R21")
    expect(assign(env, S.wren, S.c2, S.walt.id), 403, "forbidden", "R21")
    expect(assign(env, S.reed, S.c2, S.reed.id), 403, "reply_access_required", "R20")
    expect(assign(env, S.xena, S.c2, S.xena.id), 404, "not_found")
    expect(assign(env, S.admin_b, S.c2, S.admin_b.id), 404, "not_found")
    expect(env.req("POST", "/conversations/%s/unassign" % S.c1, S.wren.token), 403, "forbidden",
           "R21")
    check(conv(env, S.olive, S.c1)["assignee_id"] == S.walt.id, "assignee changed")
    # the same call again is harmless
    expect(assign(env, S.walt, S.c1, S.walt.id), 200)


@suite.test("R21 webhooks: every assignment change of a conversation is a conversation.assigned "
            "event (one delivery per change, with the assignee and the previous one)")
def _(env):
    hook = expect(env.req("POST", "/webhooks", S.admin.token,
                          {"url": "http://127.0.0.1:9/hook", "events": ["conversation.assigned"]}),
                  201)
    cur = conv(env, S.olive, S.c3)["assignee_id"]
    if cur:
        expect(assign(env, S.olive, S.c3, None), 200)
    expect(assign(env, S.olive, S.c3, S.walt.id), 200)
    expect(assign(env, S.olive, S.c3, S.walt.id), 200)  # no change: no event
    expect(assign(env, S.olive, S.c3, None), 200)
    items = expect(env.req("GET", "/webhooks/%s/deliveries" % hook["id"], S.admin.token),
                   200)["items"]
    evs = [i for i in items if i["event"] == "conversation.assigned"]
    check(len(evs) == 2, "deliveries: %s" % short(items))
    expect(env.req("DELETE", "/webhooks/%s" % hook["id"], S.admin.token), 204)


@suite.test("R21 the owner and admins assign, reassign and unassign; only the owner or a reply "
            "member can hold a conversation (422 invalid_assignee)")
def _(env):
    c = expect(assign(env, S.olive, S.c1, S.wren.id), 200)
    check(c["assignee_id"] == S.wren.id, "reassigned: %s" % short(c))
    expect(assign(env, S.olive, S.c2, S.reed.id), 422, "invalid_assignee", "R21")
    expect(assign(env, S.olive, S.c2, S.xena.id), 422, "invalid_assignee", "R21")
    expect(assign(env, S.olive, S.c2, S.user_b.id), 422, "invalid_assignee", "R21")
    c = expect(assign(env, S.admin, S.c2, S.olive.id), 200)
    check(c["assignee_id"] == S.olive.id, "the owner holds it: %s" % short(c))
    c = expect(env.req("POST", "/conversations/%s/assign" % S.c2, S.admin.token,
                       {"user_id": S.walt.id}), 200)
    check(c["assignee_id"] == S.walt.id, "user_id form: %s" % short(c))
    c = expect(assign(env, S.admin, S.c2, None), 200)
    check(c["assignee_id"] is None and c["assigned_at"] is None, "null unassigns: %s" % short(c))
    c = expect(assign(env, S.olive, S.c2, S.walt.id), 200)
    c = expect(env.req("POST", "/conversations/%s/unassign" % S.c2, S.walt.token), 200)
    check(c["assignee_id"] is None, "a member gives back their own: %s" % short(c))
    expect(assign(env, S.walt, S.cp, S.walt.id), 422, "not_shared", "R20")
    expect(assign(env, S.olive, S.cp, S.walt.id), 404, "not_found")  # not hers to see
    expect(env.req("POST", "/conversations/%s/assign" % S.c2, S.olive.token, {}), 400,
           "invalid_request")
    expect(assign(env, S.olive, S.c2, "not an id!"), 400, "invalid_request")
    expect(assign(env, S.olive, "cnv_nothere", S.walt.id), 404, "not_found")


@suite.test("R21 GET /inbox filters: assignee=me|none|<id>, assignee_id, unassigned=true, "
            "status, mailbox_id; bad values 400")
def _(env):
    # c1 -> Wren, c2 unassigned, c3 unassigned
    check(inbox(env, S.wren, "assignee=me") == {S.c1}, inbox(env, S.wren, "assignee=me"))
    check(inbox(env, S.walt, "assignee=me") == set(), "Walt holds nothing")
    check(inbox(env, S.walt, "assignee=%s" % S.wren.id) == {S.c1}, "assignee=<id>")
    check(inbox(env, S.walt, "assignee_id=%s" % S.wren.id) == {S.c1}, "assignee_id=<id>")
    none = inbox(env, S.reed, "assignee=none")
    check(none == {S.c2, S.c3}, "assignee=none: %s" % none)
    check(inbox(env, S.reed, "unassigned=true&mailbox_id=%s" % S.shared) == {S.c2, S.c3},
          "unassigned=true")
    check(inbox(env, S.reed, "status=open") >= {S.c1, S.c2, S.c3}, "status=open")
    check(inbox(env, S.reed, "status=closed") == set(), "nothing closed yet")
    for q in ("status=done", "assignee=somebody!", "assignee_id=x%21", "assignee=none&assignee_id=%s"
              % S.walt.id):
        expect(env.req("GET", "/inbox?" + q, S.reed.token), 400, "invalid_request")


@suite.test("R21 status open|pending|closed by owner, admins and reply members; read members "
            "403, outsiders 404; GET /inbox?status= finds it")
def _(env):
    c = expect(env.req("PATCH", "/conversations/%s" % S.c3, S.walt.token, {"status": "pending"}),
               200)
    check(c["status"] == "pending", short(c))
    check(inbox(env, S.reed, "status=pending") == {S.c3}, "status=pending")
    c = expect(env.req("PATCH", "/conversations/%s" % S.c3, S.admin.token, {"status": "closed"}),
               200)
    check(c["status"] == "closed", short(c))
    expect(env.req("PATCH", "/conversations/%s" % S.c3, S.reed.token, {"status": "open"}), 403,
           "reply_access_required")
    expect(env.req("PATCH", "/conversations/%s" % S.c3, S.xena.token, {"status": "open"}), 404)
    expect(env.req("PATCH", "/conversations/%s" % S.c3, S.olive.token, {"status": "done"}), 400,
           "invalid_request")
    expect(env.req("PATCH", "/conversations/%s" % S.c3, S.olive.token, {}), 400, "invalid_request")
    c = expect(env.req("PATCH", "/conversations/%s" % S.c3, S.olive.token, {"status": "open"}),
               200)
    check(c["status"] == "open", short(c))
    c = expect(env.req("PATCH", "/conversations/%s" % S.cp, S.walt.token, {"status": "closed"}),
               200)
    check(c["status"] == "closed", "a personal conversation's owner sets its status: %s" % short(c))


# --- R21 collision ----------------------------------------------------------------------------

@suite.test("R21 collision: typing marks it taken for 2 minutes; the second member's typing and "
            "compose get 409 conversation_taken with error.taken_by unless force; the first "
            "member's compose goes")
def _(env):
    t = expect(env.req("POST", "/conversations/%s/typing" % S.c2, S.walt.token), 200)
    check(t["taken_by"] == S.walt.id and t["taken_until"], short(t))
    c = conv(env, S.wren, S.c2)
    check(c["taken_by"] == S.walt.id, "others see taken_by: %s" % short(c))
    check(inbox(env, S.wren, "mailbox_id=%s" % S.shared) >= {S.c2}, "inbox")
    b = expect(env.req("POST", "/conversations/%s/typing" % S.c2, S.wren.token), 409,
               "conversation_taken", "R21")
    check(b["error"].get("taken_by") == S.walt.id, "error.taken_by: %s" % short(b))
    before = env.sql("SELECT COUNT(*) FROM outbox")[0][0]
    b = expect(env.req("POST", "/messages", S.wren.token, reply_body(S.shared, S.c2)), 409,
               "conversation_taken", "R21")
    check(b["error"].get("taken_by") == S.walt.id and b["error"].get("taken_until"), short(b))
    check(env.sql("SELECT COUNT(*) FROM outbox")[0][0] == before, "a refused reply was queued")
    expect(env.req("POST", "/messages", S.wren.token, reply_body(S.shared, S.c2, force="yes")),
           400, "invalid_request")
    expect(env.req("POST", "/messages", S.wren.token, reply_body(S.shared, S.c2, force=True)), 202)
    expect(env.req("POST", "/messages", S.walt.token, reply_body(S.shared, S.c2)), 202)
    # a new message (not a reply) is never blocked
    expect(env.req("POST", "/messages", S.wren.token, reply_body(S.shared)), 202)
    # forced typing takes the mark over
    t = expect(env.req("POST", "/conversations/%s/typing" % S.c2, S.wren.token, {"force": True}),
               200)
    check(t["taken_by"] == S.wren.id, short(t))
    expect(env.req("POST", "/conversations/%s/typing" % S.c2, S.reed.token), 403,
           "reply_access_required")
    expect(env.req("POST", "/conversations/%s/typing" % S.c2, S.xena.token), 404)
    expect(env.req("POST", "/conversations/%s/typing" % S.cp, S.walt.token), 422, "not_shared")
    # an expired mark blocks nobody and is not shown
    env.sql("UPDATE conversations SET taken_until = '2020-01-01T00:00:00Z' WHERE id = ?", (S.c2,))
    c = conv(env, S.walt, S.c2)
    check(c["taken_by"] is None and c["taken_until"] is None, "expired mark shown: %s" % short(c))
    expect(env.req("POST", "/messages", S.walt.token, reply_body(S.shared, S.c2)), 202)


# --- R21 membership changes -------------------------------------------------------------------

@suite.test("R21 a member removed (or moved to read) gives back the conversations they held")
def _(env):
    expect(assign(env, S.olive, S.c3, S.walt.id), 200)
    expect(assign(env, S.olive, S.c2, S.wren.id), 200)
    expect(put_members(env, S.olive, S.shared, [
        {"user_id": S.wren.id, "access": "read"},
        {"user_id": S.reed.id, "access": "read"}]), 200)
    check(conv(env, S.olive, S.c3)["assignee_id"] is None, "Walt (removed) still holds c3")
    check(conv(env, S.olive, S.c2)["assignee_id"] is None, "Wren (read now) still holds c2")
    expect(env.req("GET", "/conversations/%s" % S.c3, S.walt.token), 404, "not_found")
    check(S.c3 not in inbox(env, S.walt), "a removed member still sees the conversations")
    expect(put_members(env, S.olive, S.shared, [
        {"user_id": S.walt.id, "access": "reply"},
        {"user_id": S.wren.id, "access": "reply"},
        {"user_id": S.reed.id, "access": "read"}]), 200)


# --- R20 ownership transfer -------------------------------------------------------------------

@suite.test("R20 ownership transfer: admins only, shared mailboxes only; the previous owner "
            "stays a reply member; the new owner alone edits members")
def _(env):
    body = {"user_id": S.wren.id}
    expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.olive.token, body), 403,
           "forbidden", "R20")
    expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.walt.token, body), 403)
    expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.admin_b.token, body), 404)
    expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.admin.token,
                   {"user_id": S.user_b.id}), 404, "not_found")
    expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.admin.token,
                   {"user_id": S.wren.id, "previous_owner_access": "admin"}), 400,
           "invalid_request")
    expect(env.req("POST", "/mailboxes/%s/owner" % S.personal, S.admin.token,
                   {"user_id": S.wren.id}), 422, "not_shared", "R8")
    m = expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.admin.token, body), 200)
    check(m["owner_id"] == S.wren.id and m["kind"] == "shared", short(m))
    got = {x["user_id"]: x["access"] for x in members(env, S.wren, S.shared)["members"]}
    check(got == {S.olive.id: "reply", S.walt.id: "reply", S.reed.id: "read"},
          "members after the transfer: %s" % got)
    expect(put_members(env, S.olive, S.shared, []), 403, "forbidden", "R20")
    expect(put_members(env, S.wren, S.shared, [{"user_id": S.walt.id, "access": "reply"},
                                               {"user_id": S.reed.id, "access": "read"}]), 200)
    check(S.c1 in inbox(env, S.wren), "the new owner sees the conversations")
    check(S.c1 not in inbox(env, S.olive), "the previous owner, removed, still sees them")
    c = expect(assign(env, S.wren, S.c1, S.wren.id), 200)  # the owner holds c1
    check(c["assignee_id"] == S.wren.id, short(c))
    # back to Olive, Wren leaving altogether
    m = expect(env.req("POST", "/mailboxes/%s/owner" % S.shared, S.admin.token,
                       {"user_id": S.olive.id, "previous_owner_access": "none"}), 200)
    check(m["owner_id"] == S.olive.id, short(m))
    got = {x["user_id"] for x in members(env, S.olive, S.shared)["members"]}
    check(got == {S.walt.id, S.reed.id}, "previous owner left: %s" % got)
    check(conv(env, S.olive, S.c1)["assignee_id"] is None, "Wren, gone, still holds c1")


@suite.test("R27 the changes are in the audit log (members, rule, assignment, status, transfer)")
def _(env):
    log = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)["items"]
    actions = {e["action"] for e in log}
    want = {"mailbox.members.set", "mailbox.assignment.set", "conversation.assign",
            "conversation.unassign", "conversation.status", "mailbox.transfer_owner"}
    check(want <= actions, "missing audit actions: %s" % (want - actions))


if __name__ == "__main__":
    os.environ["MAILFLEET_WEBHOOK_ALLOW_PRIVATE"] = "1"  # a webhook to 127.0.0.1:9
    main(suite)
