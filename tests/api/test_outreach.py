#!/usr/bin/env python3
"""test_outreach.py — the Outreach secondary-mailbox procedure, end to end over HTTP.

One organisation with the default limit (2), an admin and users A, B, C, D:
  * A adds a first mailbox directly, then requests a second for their own seat: pending with
    every check ok; neither A nor the admin may approve (the org does not allow self-approval);
    the operator approves: completed, the mailbox waits for IMAP/SMTP settings, A shows 2/2.
  * A third request is stored rejected with the R3 check false; a request for B's seat by A is
    rejected on R5; the admin's request for B is pending and approved; generic → R6 false.
  * An address on a locked seat (C): refused without permission (R7 false); with
    remove_from_other_seat it is approved, C's mailbox and its history are purged (R9), its
    prospects paused and tagged (R8), the address lands on the target seat.
  * change_owner with prospects: tagged, paused with owner_change; reassign by tag resumes them
    under the new owner (R8).
  * A second organisation created with --admin-self-approve lets its admin decide (R10).
Run alone: python3 tests/api/test_outreach.py (TAP on stdout).
"""
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, expect_denied, find_check, main, short  # noqa: E402

suite = Suite("outreach")
S = types.SimpleNamespace()
RULES = ("R2", "R3", "R5", "R6", "R7")
MAILBOX_FIELDS = ("id", "owner_id", "address", "kind", "status", "status_reason", "status_since",
                  "is_default", "sender_name", "signature", "daily_limit", "sent_today",
                  "master_id", "created_at")
REQUEST_FIELDS = ("id", "kind", "address", "target_user_id", "requester_id", "status", "checks",
                  "reason", "mailbox_id", "continuity_tag", "created_at")


def request(env, who, kind, address, target, **extra):
    body = {"kind": kind, "address": address, "target_user_id": target}
    body.update(extra)
    return env.req("POST", "/mailbox-requests", who.token, body)


def new_request(env, who, kind, address, target, **extra):
    r = expect(request(env, who, kind, address, target, **extra), 201)
    for f in REQUEST_FIELDS:
        check(f in r, "request lacks field %r: %s" % (f, short(r)))
    check(r["kind"] == kind and r["target_user_id"] == target and r["requester_id"] == who.id,
          "kind/target/requester not as sent: %s" % short(r))
    return r


def approve(env, who, rid):
    return env.req("POST", "/mailbox-requests/%s/approve" % rid, who.token)


def connections(env, who, uid):
    return expect(env.req("GET", "/users/%s/connections" % uid, who.token), 200)


def all_checks_ok(r):
    for rule in RULES:
        c = find_check(r, rule)
        check(c.get("ok") is True, "check %s not ok: %s" % (rule, short(r)))
        check(isinstance(c.get("message"), str), "check %s has no message: %s" % (rule, short(c)))


def rejected_on(r, rule):
    check(r["status"] == "rejected", "expected status rejected, got %s" % short(r))
    check(find_check(r, rule).get("ok") is False, "check %s should be false: %s" % (rule, short(r)))
    check(isinstance(r.get("reason"), str) and rule in r["reason"],
          "reason should name %s: %r" % (rule, r.get("reason")))


@suite.test("R1 setup: org with default limit, admin and users A B C D")
def _(env):
    S.op = env.op
    S.org = env.org("Outreach Co")
    S.admin = env.user("ada@outreach.test", "Ada Admin", "admin", S.org)
    S.a = env.user("alice@outreach.test", "Alice Able", "user", S.org)
    S.b = env.user("bob@outreach.test", "Bob Baker", "user", S.org)
    S.c = env.user("carol@outreach.test", "Carol Cole", "user", S.org)
    S.d = env.user("dave@outreach.test", "Dave Dunn", "user", S.org)


@suite.test("R3 a new user shows 0/2 (organisation default limit 2)")
def _(env):
    c = connections(env, S.a, S.a.id)
    check(c.get("user_id") == S.a.id, "user_id: %s" % short(c))
    check(c["used"] == 0 and c["available"] == 2 and c.get("display") == "0/2", short(c))
    c2 = connections(env, S.admin, S.a.id)
    check(c2["available"] == 2, "admin view: %s" % short(c2))


@suite.test("R5 R16 R17 user adds a first mailbox to own seat: connecting, default, owner's name")
def _(env):
    m = env.new_mailbox(S.a, S.a.id, "alice@outreach.test")
    for f in MAILBOX_FIELDS:
        check(f in m, "mailbox lacks field %r: %s" % (f, short(m)))
    check(m["status"] == "connecting", "status: %s" % m["status"])
    check(m["is_default"] is True, "first mailbox must be default: %s" % short(m))
    check(m["sender_name"] == "Alice Able", "sender_name: %r" % m["sender_name"])
    check(m["owner_id"] == S.a.id and m["kind"] == "personal", short(m))
    check(m["daily_limit"] == 500 and m["master_id"] is None, short(m))
    S.a1 = m


@suite.test("R10 request for a second mailbox on own seat is pending with R2 R3 R5 R6 R7 ok")
def _(env):
    r = new_request(env, S.a, "add", "alice.second@outreach.test", S.a.id)
    check(r["status"] == "pending", "status: %s" % short(r))
    all_checks_ok(r)
    check(r["mailbox_id"] is None, "no mailbox before approval: %s" % short(r))
    g = expect(env.req("GET", "/mailbox-requests/%s" % r["id"], S.a.token), 200)
    check(g["id"] == r["id"] and g["status"] == "pending" and len(g["checks"]) >= 5,
          "GET shows the stored request with its checks: %s" % short(g))
    S.req2 = r


@suite.test("R10 neither the user nor the admin may approve when the org does not allow it")
def _(env):
    expect(approve(env, S.a, S.req2["id"]), 403, "forbidden")
    expect(approve(env, S.admin, S.req2["id"]), 403, "forbidden")
    expect(env.req("POST", "/mailbox-requests/%s/reject" % S.req2["id"], S.admin.token,
                   {"reason": "no"}), 403, "forbidden")
    g = expect(env.req("GET", "/mailbox-requests/%s" % S.req2["id"], S.op.token), 200)
    check(g["status"] == "pending", "still pending: %s" % short(g))


@suite.test("R10 operator approves: completed, mailbox disconnected awaiting IMAP/SMTP settings")
def _(env):
    r = expect(approve(env, S.op, S.req2["id"]), 200)
    check(r["status"] == "completed" and r["mailbox_id"], "completed with mailbox: %s" % short(r))
    m = expect(env.req("GET", "/mailboxes/%s" % r["mailbox_id"], S.a.token), 200)
    check(m["owner_id"] == S.a.id and m["address"] == "alice.second@outreach.test", short(m))
    check(m["status"] == "disconnected", "status should be disconnected: %s" % short(m))
    reason = (m.get("status_reason") or "").lower()
    check("imap" in reason or "smtp" in reason, "status_reason should mention IMAP/SMTP: %r"
          % m.get("status_reason"))
    check(m["is_default"] is False, "second mailbox is not the default: %s" % short(m))
    S.a2 = m


@suite.test("R10 approving an already completed request -> 409 invalid_state")
def _(env):
    expect(approve(env, S.op, S.req2["id"]), 409, "invalid_state")


@suite.test("R3 A now shows 2/2")
def _(env):
    c = connections(env, S.a, S.a.id)
    check(c["used"] == 2 and c["available"] == 2 and c["display"] == "2/2", short(c))


@suite.test("R11 IMAP+SMTP settings on the approved mailbox via PATCH -> connecting")
def _(env):
    imap, smtp = env.server_settings("alice.second@outreach.test")
    m = expect(env.req("PATCH", "/mailboxes/%s" % S.a2["id"], S.a.token,
                       {"imap": imap, "smtp": smtp}), 200)
    check(m["status"] == "connecting", "status after new settings: %s" % short(m))


@suite.test("R3 a third request is stored rejected with the R3 check false")
def _(env):
    r = new_request(env, S.a, "add", "alice.third@outreach.test", S.a.id)
    rejected_on(r, "R3")
    for rule in ("R5", "R6", "R7"):
        check(find_check(r, rule)["ok"] is True, "%s should pass: %s" % (rule, short(r)))
    S.req3 = r


@suite.test("R10 approving a rejected request -> 409 invalid_state")
def _(env):
    expect(approve(env, S.op, S.req3["id"]), 409, "invalid_state")


@suite.test("R3 a third direct add -> 422 mailbox_limit_reached limit 2 used 2")
def _(env):
    b = expect(env.add_mailbox(S.a, S.a.id, "alice.direct@outreach.test"), 422,
               "mailbox_limit_reached", "R3")
    check(b["error"].get("limit") == 2 and b["error"].get("used") == 2, short(b))


@suite.test("R5 a user's request for a colleague's seat is stored rejected with R5 false (not 403)")
def _(env):
    r = new_request(env, S.a, "add", "bob.extra@outreach.test", S.b.id)
    rejected_on(r, "R5")


@suite.test("R5 a user cannot add a mailbox directly to a colleague's seat -> 403 forbidden")
def _(env):
    expect(env.add_mailbox(S.a, S.b.id, "bob.direct@outreach.test"), 403, "forbidden")


@suite.test("R5 R10 admin's request for B's seat is pending, then approved by the operator")
def _(env):
    r = new_request(env, S.admin, "add", "bob.second@outreach.test", S.b.id)
    check(r["status"] == "pending", short(r))
    all_checks_ok(r)
    done = expect(approve(env, S.op, r["id"]), 200)
    check(done["status"] == "completed" and done["mailbox_id"], short(done))
    c = connections(env, S.admin, S.b.id)
    check(c["used"] == 1 and c["display"] == "1/2", short(c))
    S.b2 = done["mailbox_id"]


@suite.test("R6 a request for a generic address on a personal seat is rejected with R6 false")
def _(env):
    r = new_request(env, S.admin, "add", "Sales@outreach.test", S.b.id)
    rejected_on(r, "R6")


@suite.test("R2 setup: C has a mailbox with history and a prospect, then C's seat is locked")
def _(env):
    m = env.new_mailbox(S.c, S.c.id, "carol.work@outreach.test")
    S.c1 = m
    env.add_history(m["id"], 3)
    p = expect(env.req("POST", "/prospects", S.c.token,
                       {"email": "lead.c@example.test", "first_name": "Lee", "mailbox_id": m["id"]}), 201)
    S.c_prospect = p["items"][0]
    u = expect(env.req("PATCH", "/users/%s" % S.c.id, S.admin.token, {"seat": "locked"}), 200)
    check(u["seat"] == "locked" and u["id"] == S.c.id, short(u))
    expect(env.req("GET", "/mailboxes", S.c.token), 403, "seat_locked")


@suite.test("R7 a direct add of an address on a locked seat -> 409 address_in_use, seat locked")
def _(env):
    b = expect(env.add_mailbox(S.admin, S.b.id, "  Carol.Work@Outreach.TEST "), 409, "address_in_use", "R7")
    seat = b["error"].get("seat") or {}
    check(seat.get("user_id") == S.c.id and seat.get("state") == "locked", short(b))


@suite.test("R7 a request for that address without permission is rejected with R7 false")
def _(env):
    r = new_request(env, S.b, "add", "carol.work@outreach.test", S.b.id)
    rejected_on(r, "R7")


@suite.test("R7 with remove_from_other_seat the request is pending with R7 ok (permission given)")
def _(env):
    r = new_request(env, S.b, "add", "CAROL.WORK@outreach.test", S.b.id, remove_from_other_seat=True)
    check(r["status"] == "pending", short(r))
    all_checks_ok(r)
    S.req_c = r


@suite.test("R7 R9 approval removes C's mailbox and its history, the address lands on B's seat")
def _(env):
    r = expect(approve(env, S.op, S.req_c["id"]), 200)
    check(r["status"] == "completed" and r["mailbox_id"] and r["mailbox_id"] != S.c1["id"], short(r))
    S.req_c = r
    expect(env.req("GET", "/mailboxes/%s" % S.c1["id"], S.admin.token), 404, "not_found")
    left = env.history_count(S.c1["id"])
    check(all(v == 0 for v in left.values()), "history rows left for the removed mailbox: %s" % left)
    m = expect(env.req("GET", "/mailboxes/%s" % r["mailbox_id"], S.b.token), 200)
    check(m["owner_id"] == S.b.id and m["address"].lower() == "carol.work@outreach.test", short(m))
    lst = expect(env.req("GET", "/mailboxes?owner_id=%s" % S.c.id, S.admin.token), 200)
    check(lst["items"] == [], "C keeps no mailbox: %s" % short(lst))
    c = connections(env, S.admin, S.b.id)
    check(c["used"] == 2, short(c))


@suite.test("R8 the removed mailbox's prospects are paused and tagged for continuity")
def _(env):
    tag = S.req_c.get("continuity_tag")
    check(isinstance(tag, str) and tag, "approved request has a continuity_tag: %s" % short(S.req_c))
    lst = expect(env.req("GET", "/prospects?tag=%s" % tag, S.admin.token), 200)
    ids = [p["id"] for p in lst["items"]]
    check(S.c_prospect["id"] in ids, "C's prospect found by tag %r: %s" % (tag, short(lst)))
    p = [p for p in lst["items"] if p["id"] == S.c_prospect["id"]][0]
    check(p["state"] == "paused" and tag in p["tags"], short(p))
    r = expect(env.req("POST", "/prospects/reassign", S.b.token,
                       {"tag": tag, "mailbox_id": S.req_c["mailbox_id"]}), 200)
    check(r.get("reassigned") == 1, "B takes the prospect over: %s" % short(r))
    lst = expect(env.req("GET", "/prospects?tag=%s" % tag, S.b.token), 200)
    check([(p["id"], p["state"], p["owner_id"], p["mailbox_id"]) for p in lst["items"]]
          == [(S.c_prospect["id"], "active", S.b.id, S.req_c["mailbox_id"])], short(lst))


@suite.test("R9 R27 the audit log keeps the removed mailbox's address")
def _(env):
    lst = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)
    gone = S.c1["id"]
    about = [i for i in lst["items"] if i.get("target_id") == gone or gone in json.dumps(i.get("detail"))]
    check(any("carol.work@outreach.test" in json.dumps(i).lower() for i in about),
          "no audit entry about removed mailbox %s names carol.work@outreach.test: %s"
          % (gone, short(about)))
    ops = [i for i in lst["items"] if i.get("actor_id") == S.op.id]
    check(ops, "no audit entry by the operator in the org's audit log")
    targets = {i.get("target_id") for i in lst["items"]}
    check(S.req_c["id"] in targets or S.req_c["mailbox_id"] in targets,
          "the approval of %s is not in the audit log" % S.req_c["id"])
    check(any(i.get("actor_id") == S.admin.id and i.get("target_id") == S.c.id for i in lst["items"]),
          "the admin's seat lock of C is not in the audit log")
    for i in lst["items"]:
        for f in ("id", "actor_id", "actor_role", "action", "target_type", "target_id", "detail",
                  "created_at"):
            check(f in i, "audit item lacks %r: %s" % (f, short(i)))


@suite.test("R8 change_owner setup: prospects sending from A's mailbox, one from another mailbox")
def _(env):
    body = [{"email": "p%d@example.test" % i, "first_name": "P%d" % i, "tags": ["q4"],
             "mailbox_id": S.a1["id"]} for i in range(3)]
    body.append({"email": "other@example.test", "mailbox_id": S.a2["id"]})
    lst = expect(env.req("POST", "/prospects", S.a.token, body), 201)
    check(len(lst["items"]) == 4, short(lst))
    for p in lst["items"]:
        check(p["owner_id"] == S.a.id and p["state"] == "active", short(p))
    S.moving = [p["id"] for p in lst["items"][:3]]
    S.staying = lst["items"][3]["id"]


@suite.test("R8 change_owner request by the admin is pending, approved: prospects tagged and paused")
def _(env):
    r = new_request(env, S.admin, "change_owner", "Alice@Outreach.test", S.d.id,
                    remove_from_other_seat=True)
    check(r["status"] == "pending", short(r))
    done = expect(approve(env, S.op, r["id"]), 200)
    check(done["status"] == "completed" and done["mailbox_id"] == S.a1["id"], short(done))
    tag = done.get("continuity_tag")
    check(isinstance(tag, str) and tag, "continuity_tag: %s" % short(done))
    S.tag = tag
    m = expect(env.req("GET", "/mailboxes/%s" % S.a1["id"], S.admin.token), 200)
    check(m["owner_id"] == S.d.id, "the mailbox joined D: %s" % short(m))
    lst = expect(env.req("GET", "/prospects?tag=%s" % tag, S.admin.token), 200)
    got = {p["id"]: p for p in lst["items"]}
    check(set(got) == set(S.moving), "tagged prospects %s, expected %s" % (sorted(got), sorted(S.moving)))
    for p in got.values():
        check(p["state"] == "paused" and p["pause_reason"] == "owner_change" and tag in p["tags"],
              short(p))
    all_a = expect(env.req("GET", "/prospects", S.admin.token), 200)
    other = [p for p in all_a["items"] if p["id"] == S.staying]
    check(other and other[0]["state"] == "active" and tag not in other[0]["tags"],
          "a prospect of another mailbox is untouched: %s" % short(other))
    ca = connections(env, S.admin, S.a.id)
    cd = connections(env, S.admin, S.d.id)
    check(ca["used"] == 1 and cd["used"] == 1, "A %s, D %s" % (short(ca), short(cd)))


@suite.test("R8 the former owner cannot reassign to a mailbox that is no longer theirs")
def _(env):
    expect_denied(env.req("POST", "/prospects/reassign", S.a.token,
                          {"tag": S.tag, "mailbox_id": S.a1["id"]}))


@suite.test("R8 reassign by tag to the mailbox under the new owner resumes the prospects")
def _(env):
    r = expect(env.req("POST", "/prospects/reassign", S.d.token,
                       {"tag": S.tag, "mailbox_id": S.a1["id"]}), 200)
    check(r.get("reassigned") == 3, "reassigned: %s" % short(r))
    lst = expect(env.req("GET", "/prospects?tag=%s" % S.tag, S.d.token), 200)
    check(len(lst["items"]) == 3, short(lst))
    for p in lst["items"]:
        check(p["state"] == "active" and p["pause_reason"] is None and p["mailbox_id"] == S.a1["id"]
              and p["owner_id"] == S.d.id, short(p))


@suite.test("R10 operator rejects a pending request with a reason; then it cannot be decided again")
def _(env):
    r = new_request(env, S.d, "add", "dave.second@outreach.test", S.d.id)
    check(r["status"] == "pending", short(r))
    j = expect(env.req("POST", "/mailbox-requests/%s/reject" % r["id"], S.op.token,
                       {"reason": "not personally identifiable"}), 200)
    check(j["status"] == "rejected" and j["reason"] == "not personally identifiable", short(j))
    expect(approve(env, S.op, r["id"]), 409, "invalid_state")
    expect(env.req("POST", "/mailbox-requests/%s/reject" % r["id"], S.op.token, {"reason": "x"}),
           409, "invalid_state")


@suite.test("R10 request lists: user sees own, admin the org (?status=), operator everything")
def _(env):
    mine = expect(env.req("GET", "/mailbox-requests", S.a.token), 200)
    check(mine["items"], "A has requests")
    for r in mine["items"]:
        check(r["requester_id"] == S.a.id, "A sees someone else's request: %s" % short(r))
    rej = expect(env.req("GET", "/mailbox-requests?status=rejected", S.admin.token), 200)
    ids = {r["id"] for r in rej["items"]}
    check(S.req3["id"] in ids, "admin's ?status=rejected includes A's third request")
    check(all(r["status"] == "rejected" for r in rej["items"]), short(rej))
    allr = expect(env.req("GET", "/mailbox-requests?limit=500", S.op.token), 200)
    check(S.req_c["id"] in {r["id"] for r in allr["items"]}, "operator sees every request")


@suite.test("R10 an org created with --admin-self-approve lets its admin approve and reject")
def _(env):
    org2 = env.org("Self Approvers", "--admin-self-approve")
    admin2 = env.user("sam@selfapp.test", "Sam Admin", "admin", org2)
    e = env.user("eve@selfapp.test", "Eve Early", "user", org2)
    r = new_request(env, e, "add", "eve.second@selfapp.test", e.id)
    check(r["status"] == "pending", short(r))
    expect(approve(env, e, r["id"]), 403, "forbidden")
    expect(approve(env, S.admin, r["id"]), (403, 404))  # another org's admin
    done = expect(approve(env, admin2, r["id"]), 200)
    check(done["status"] == "completed" and done["mailbox_id"], short(done))
    r2 = new_request(env, e, "add", "eve.third@selfapp.test", e.id)
    check(r2["status"] == "pending", short(r2))
    j = expect(env.req("POST", "/mailbox-requests/%s/reject" % r2["id"], admin2.token,
                       {"reason": "one is enough"}), 200)
    check(j["status"] == "rejected", short(j))


if __name__ == "__main__":
    main(suite)
