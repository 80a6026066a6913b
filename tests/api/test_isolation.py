#!/usr/bin/env python3
"""test_isolation.py — organisations, roles and locked seats (R1, R2, R5, R7).

Two organisations A and B, each with an admin and a user; B's user has a mailbox, a prospect,
a slot and a pending request.
  * Every route on one of B's objects, called by A's admin or A's user, is refused with 404
    (or 403) — never 2xx, never 500 — and B's objects are unchanged afterwards; A's lists never
    show B's objects. The operator sees both.
  * Role checks inside one org: a user cannot create users, buy slots, approve requests, read
    the audit log, create orgs, or touch a colleague's mailboxes; an admin cannot create an
    operator nor a user in another org.
  * A locked seat's token gets 403 seat_locked on every call; the seat's mailboxes still
    block their address (R7); unlocking restores access.
  * R7 across organisations: an address in org B blocks org A (409 address_in_use, seat).
Contributors (R14) are not part of this phase and are not exercised.
Run alone: python3 tests/api/test_isolation.py (TAP on stdout).
"""
import os
import sys
import types
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, expect_denied, find_check, main, short  # noqa: E402

suite = Suite("isolation")
S = types.SimpleNamespace()


def never_ok(resp, what):
    st, body = resp
    check(st in (403, 404), "%s: expected 404 (or 403), got %s: %s" % (what, st, short(body or "")))
    check(isinstance(body, dict) and body.get("error", {}).get("code") in ("not_found", "forbidden"),
          "%s: no error envelope: %s" % (what, short(body or "")))


def ids(lst):
    return {i["id"] for i in lst["items"]}


@suite.test("R1 setup: orgs A and B with admins, users, and B's mailbox, prospect, slot, request")
def _(env):
    S.org_a = env.org("Alpha Ltd")
    S.org_b = env.org("Beta GmbH")
    S.admin_a = env.user("root@alpha.test", "Andy Alpha", "admin", S.org_a)
    S.user_a = env.user("ann@alpha.test", "Ann Alpha", "user", S.org_a)
    S.user_a2 = env.user("art@alpha.test", "Art Alpha", "user", S.org_a)
    S.admin_b = env.user("root@beta.test", "Berta Beta", "admin", S.org_b)
    S.user_b = env.user("ben@beta.test", "Ben Beta", "user", S.org_b)
    S.mb_b = env.new_mailbox(S.user_b, S.user_b.id, "ben@beta.test")
    env.add_history(S.mb_b["id"], 1)
    S.pr_b = expect(env.req("POST", "/prospects", S.user_b.token,
                            {"email": "lead@beta-client.test", "tags": ["beta-tag"],
                             "mailbox_id": S.mb_b["id"]}), 201)["items"][0]
    slots = expect(env.req("POST", "/slots", S.admin_b.token, {"count": 2}), 201)["slots"]
    S.slot_b = slots[0]["id"]
    expect(env.req("POST", "/users/%s/slots" % S.user_b.id, S.admin_b.token, {"count": 1}), 200)
    c = expect(env.req("GET", "/users/%s/connections" % S.user_b.id, S.admin_b.token), 200)
    S.slot_b_assigned = c["slots"][0]["id"]
    S.req_b = expect(env.req("POST", "/mailbox-requests", S.user_b.token,
                             {"kind": "add", "address": "ben.two@beta.test",
                              "target_user_id": S.user_b.id}), 201)
    check(S.req_b["status"] == "pending", short(S.req_b))
    S.mb_a = env.new_mailbox(S.user_a, S.user_a.id, "ann@alpha.test")


def cross_org_calls(env, who):
    ub, mb, rq = S.user_b.id, S.mb_b["id"], S.req_b["id"]
    return [
        ("GET /users/{b}", env.req("GET", "/users/%s" % ub, who.token)),
        ("PATCH /users/{b}", env.req("PATCH", "/users/%s" % ub, who.token, {"seat": "locked"})),
        ("GET /users/{b}/connections", env.req("GET", "/users/%s/connections" % ub, who.token)),
        ("POST /users/{b}/tokens", env.req("POST", "/users/%s/tokens" % ub, who.token)),
        ("POST /users/{b}/slots", env.req("POST", "/users/%s/slots" % ub, who.token, {"count": 1})),
        ("DELETE /users/{b}/slots/{slot}", env.req("DELETE", "/users/%s/slots/%s"
                                                   % (ub, S.slot_b_assigned), who.token)),
        ("GET /mailboxes/{b}", env.req("GET", "/mailboxes/%s" % mb, who.token)),
        ("PATCH /mailboxes/{b}", env.req("PATCH", "/mailboxes/%s" % mb, who.token,
                                         {"sender_name": "Pwned"})),
        ("DELETE /mailboxes/{b}?confirm=true", env.req("DELETE", "/mailboxes/%s?confirm=true" % mb,
                                                       who.token)),
        ("DELETE /mailboxes/{b}", env.req("DELETE", "/mailboxes/%s" % mb, who.token)),
        ("POST /mailboxes/{b}/default", env.req("POST", "/mailboxes/%s/default" % mb, who.token)),
        ("POST /mailboxes owner {b}", env.add_mailbox(who, ub, "intruder@alpha.test")),
        ("PUT /master-inbox with {b}", env.req("PUT", "/master-inbox", who.token,
                                               {"mailbox_ids": [mb], "master_id": None})),
        ("PUT /master-inbox master {b}", env.req("PUT", "/master-inbox", who.token,
                                                 {"mailbox_ids": [S.mb_a["id"]], "master_id": mb})),
        ("GET /mailbox-requests/{b}", env.req("GET", "/mailbox-requests/%s" % rq, who.token)),
        ("POST /mailbox-requests/{b}/approve", env.req("POST", "/mailbox-requests/%s/approve" % rq,
                                                       who.token)),
        ("POST /mailbox-requests/{b}/reject", env.req("POST", "/mailbox-requests/%s/reject" % rq,
                                                      who.token, {"reason": "x"})),
        ("POST /mailbox-requests target {b}", env.req("POST", "/mailbox-requests", who.token,
                                                      {"kind": "add", "address": "z@alpha.test",
                                                       "target_user_id": ub})),
        ("POST /prospects/reassign to {b}", env.req("POST", "/prospects/reassign", who.token,
                                                    {"tag": "beta-tag", "mailbox_id": mb})),
        ("POST /prospects on {b} mailbox", env.req("POST", "/prospects", who.token,
                                                   {"email": "x@y.test", "mailbox_id": mb})),
    ]


def b_unchanged(env):
    m = expect(env.req("GET", "/mailboxes/%s" % S.mb_b["id"], S.admin_b.token), 200)
    check(m["sender_name"] == S.mb_b["sender_name"] and m["owner_id"] == S.user_b.id, short(m))
    u = expect(env.req("GET", "/users/%s" % S.user_b.id, S.admin_b.token), 200)
    check(u["seat"] == "active", "B's user was locked by another org: %s" % short(u))
    r = expect(env.req("GET", "/mailbox-requests/%s" % S.req_b["id"], S.admin_b.token), 200)
    check(r["status"] == "pending", short(r))
    c = expect(env.req("GET", "/users/%s/connections" % S.user_b.id, S.admin_b.token), 200)
    check(c["available"] == 3, "B's slot assignment changed: %s" % short(c))
    h = env.history_count(S.mb_b["id"])
    check(all(v == 1 for v in h.values()), "B's history changed: %s" % h)


@suite.test("R1 A's admin gets 404 (or 403) on every route touching B's objects")
def _(env):
    bad = []
    for what, (st, body) in cross_org_calls(env, S.admin_a):
        try:
            never_ok((st, body), what)
        except AssertionError as e:
            bad.append(str(e))
    env.last = None
    check(not bad, "\n".join(bad))
    b_unchanged(env)


@suite.test("R1 A's user gets 404 (or 403) on every route touching B's objects")
def _(env):
    bad = []
    for what, (st, body) in cross_org_calls(env, S.user_a):
        try:
            never_ok((st, body), what)
        except AssertionError as e:
            bad.append(str(e))
    env.last = None
    check(not bad, "\n".join(bad))
    b_unchanged(env)


@suite.test("R1 A's lists never show B's users, mailboxes, requests, prospects, slots, audit")
def _(env):
    for who in (S.admin_a, S.user_a):
        lst = expect(env.req("GET", "/mailboxes?limit=500", who.token), 200)
        check(S.mb_b["id"] not in ids(lst), "GET /mailboxes shows B's mailbox")
        st, lst = env.req("GET", "/mailboxes?owner_id=%s" % S.user_b.id, who.token)
        check(st in (403, 404) or (st == 200 and lst["items"] == []),
              "GET /mailboxes?owner_id=B: %s %s" % (st, short(lst)))
        lst = expect(env.req("GET", "/mailbox-requests?limit=500", who.token), 200)
        check(S.req_b["id"] not in ids(lst), "GET /mailbox-requests shows B's request")
        lst = expect(env.req("GET", "/prospects?limit=500", who.token), 200)
        check(S.pr_b["id"] not in ids(lst), "GET /prospects shows B's prospect")
        lst = expect(env.req("GET", "/prospects?tag=beta-tag", who.token), 200)
        check(lst["items"] == [], "GET /prospects?tag= shows B's prospect")
    lst = expect(env.req("GET", "/users?limit=500", S.admin_a.token), 200)
    check(S.user_b.id not in ids(lst) and S.admin_b.id not in ids(lst), "GET /users shows B's users")
    check(all(u["org_id"] == S.org_a for u in lst["items"]), short(lst))
    lst = expect(env.req("GET", "/slots", S.admin_a.token), 200)
    items = lst["items"] if "items" in lst else lst.get("slots", [])
    check(S.slot_b not in {s["id"] for s in items}, "GET /slots shows B's slot")
    t = expect(env.req("GET", "/connections", S.admin_a.token), 200)
    check(S.user_b.id not in {m["user_id"] for m in t["members"]}, "team view shows B's user")
    check(t["unassigned_slots"] == 0, "A sees B's unassigned slot: %s" % short(t))
    audit = expect(env.req("GET", "/audit-log?limit=500", S.admin_a.token), 200)
    b_ids = {S.user_b.id, S.admin_b.id, S.mb_b["id"], S.req_b["id"], S.slot_b, S.org_b}
    leaked = [i for i in audit["items"] if i.get("target_id") in b_ids or i.get("actor_id") in b_ids]
    check(not leaked, "A's audit log shows B's entries: %s" % short(leaked))


@suite.test("R1 the operator sees and reads both organisations")
def _(env):
    lst = expect(env.req("GET", "/mailboxes?limit=500", env.op.token), 200)
    check({S.mb_a["id"], S.mb_b["id"]} <= ids(lst), "operator's list lacks a mailbox: %s" % short(lst))
    expect(env.req("GET", "/mailboxes/%s" % S.mb_b["id"], env.op.token), 200)
    expect(env.req("GET", "/users/%s" % S.user_a.id, env.op.token), 200)
    lst = expect(env.req("GET", "/mailbox-requests?limit=500", env.op.token), 200)
    check(S.req_b["id"] in ids(lst), short(lst))
    audit = expect(env.req("GET", "/audit-log?limit=500", env.op.token), 200)
    check(isinstance(audit.get("items"), list), short(audit))


@suite.test("R1 a user cannot create users, buy slots, approve, read the audit log or create orgs")
def _(env):
    expect(env.req("POST", "/users", S.user_a.token, {"email": "new@alpha.test", "name": "N",
                                                      "role": "user"}), 403, "forbidden")
    expect(env.req("POST", "/slots", S.user_a.token, {"count": 1}), 403, "forbidden")
    r = expect(env.req("POST", "/mailbox-requests", S.user_a.token,
                       {"kind": "add", "address": "ann.two@alpha.test", "target_user_id": S.user_a.id}), 201)
    S.req_a = r
    expect(env.req("POST", "/mailbox-requests/%s/approve" % r["id"], S.user_a.token), 403, "forbidden")
    expect(env.req("POST", "/mailbox-requests/%s/reject" % r["id"], S.user_a.token, {"reason": "x"}),
           403, "forbidden")
    expect(env.req("GET", "/audit-log", S.user_a.token), 403, "forbidden")
    expect(env.req("POST", "/orgs", S.user_a.token, {"name": "Mine"}), 403, "forbidden")
    expect(env.req("POST", "/orgs", S.admin_a.token, {"name": "Mine"}), 403, "forbidden")
    expect(env.req("PATCH", "/users/%s" % S.user_a.id, S.user_a.token, {"mailbox_limit": 50}),
           403, "forbidden")
    expect(env.req("PATCH", "/users/%s" % S.user_a2.id, S.user_a.token, {"seat": "locked"}),
           403, "forbidden")
    c = expect(env.req("GET", "/users/%s/connections" % S.user_a.id, S.user_a.token), 200)
    check(c["available"] == 2, "a user raised their own limit: %s" % short(c))


@suite.test("R1 R5 a user cannot read, change, delete or default a colleague's mailbox")
def _(env):
    m2 = env.new_mailbox(S.user_a2, S.user_a2.id, "art@alpha.test")
    S.mb_a2 = m2
    u = S.user_a
    expect_denied(env.req("GET", "/mailboxes/%s" % m2["id"], u.token))
    expect_denied(env.req("PATCH", "/mailboxes/%s" % m2["id"], u.token, {"signature": "hi"}))
    expect_denied(env.req("DELETE", "/mailboxes/%s?confirm=true" % m2["id"], u.token))
    expect_denied(env.req("POST", "/mailboxes/%s/default" % m2["id"], u.token))
    expect_denied(env.req("PUT", "/master-inbox", u.token, {"mailbox_ids": [m2["id"]], "master_id": None}))
    expect_denied(env.req("POST", "/users/%s/tokens" % S.user_a2.id, u.token))
    lst = expect(env.req("GET", "/mailboxes", u.token), 200)
    check(ids(lst) == {S.mb_a["id"]}, "a user lists only their own mailboxes: %s" % short(lst))
    expect(env.req("GET", "/mailboxes/%s" % m2["id"], S.user_a2.token), 200)
    expect(env.req("GET", "/mailboxes/%s" % m2["id"], S.admin_a.token), 200)


@suite.test("R1 tokens: a user may mint their own token, and it works")
def _(env):
    t = expect(env.req("POST", "/users/%s/tokens" % S.user_a.id, S.user_a.token), 201)
    check(isinstance(t.get("token"), str) and t["token"] and t["token"] != S.user_a.token, short(t))
    u = expect(env.req("GET", "/users/%s" % S.user_a.id, t["token"]), 200)
    check(u["id"] == S.user_a.id and u["org_id"] == S.org_a and u["role"] == "user", short(u))
    t2 = expect(env.req("POST", "/users/%s/tokens" % S.user_a2.id, S.admin_a.token), 201)
    expect(env.req("GET", "/mailboxes", t2["token"]), 200)


@suite.test("R1 an admin creates users only in their own org, never operators")
def _(env):
    u = expect(env.req("POST", "/users", S.admin_a.token,
                       {"email": "amy@alpha.test", "name": "Amy Alpha", "role": "user"}), 201)
    check(u["org_id"] == S.org_a and u["role"] == "user" and u["seat"] == "active", short(u))
    st, body = env.req("POST", "/users", S.admin_a.token,
                       {"email": "spy@beta.test", "name": "Spy", "role": "user", "org_id": S.org_b})
    check(st in (400, 403, 404) or (st == 201 and body["org_id"] == S.org_a),
          "admin creating a user in another org: %s %s" % (st, short(body)))
    st, body = env.req("POST", "/users", S.admin_a.token,
                       {"email": "boss@alpha.test", "name": "Boss", "role": "operator"})
    check(st in (400, 403), "admin creating an operator: %s %s" % (st, short(body)))
    expect(env.req("POST", "/users", S.admin_a.token,
                   {"email": "AMY@alpha.test", "name": "Amy Again", "role": "user"}), (400, 409))


@suite.test("R1 the operator creates users in any org with org_id")
def _(env):
    u = expect(env.req("POST", "/users", env.op.token, {"email": "bo@beta.test", "name": "Bo Beta",
                                                        "role": "admin", "org_id": S.org_b}), 201)
    check(u["org_id"] == S.org_b and u["role"] == "admin", short(u))


@suite.test("R2 a locked seat's token gets 403 seat_locked on every call")
def _(env):
    u = expect(env.req("PATCH", "/users/%s" % S.user_a2.id, S.admin_a.token, {"seat": "locked"}), 200)
    check(u["seat"] == "locked", short(u))
    t = S.user_a2.token
    mb = S.mb_a2["id"]
    uid = S.user_a2.id
    calls = [
        ("GET /mailboxes", env.req("GET", "/mailboxes", t)),
        ("GET /mailboxes/{own}", env.req("GET", "/mailboxes/%s" % mb, t)),
        ("GET /users/{self}", env.req("GET", "/users/%s" % uid, t)),
        ("GET /users/{self}/connections", env.req("GET", "/users/%s/connections" % uid, t)),
        ("POST /users/{self}/tokens", env.req("POST", "/users/%s/tokens" % uid, t)),
        ("POST /mailboxes", env.add_mailbox(S.user_a2, uid, "art.two@alpha.test")),
        ("PATCH /mailboxes/{own}", env.req("PATCH", "/mailboxes/%s" % mb, t, {"signature": "x"})),
        ("POST /mailbox-requests", env.req("POST", "/mailbox-requests", t,
                                           {"kind": "add", "address": "art.three@alpha.test",
                                            "target_user_id": uid})),
        ("GET /mailbox-requests", env.req("GET", "/mailbox-requests", t)),
        ("GET /prospects", env.req("GET", "/prospects", t)),
        ("POST /prospects", env.req("POST", "/prospects", t, {"email": "p@x.test"})),
        ("GET /notifications", env.req("GET", "/notifications", t)),
        ("PUT /master-inbox", env.req("PUT", "/master-inbox", t, {"mailbox_ids": [mb], "master_id": None})),
        ("DELETE /mailboxes/{own}", env.req("DELETE", "/mailboxes/%s?confirm=true" % mb, t)),
    ]
    env.last = None
    bad = ["%s -> %s %s" % (what, st, short(b or "")) for what, (st, b) in calls
           if st != 403 or not isinstance(b, dict) or b.get("error", {}).get("code") != "seat_locked"]
    check(not bad, "calls with a locked seat's token not refused with 403 seat_locked:\n" + "\n".join(bad))
    expect(env.req("GET", "/mailboxes/%s" % S.mb_a2["id"], S.admin_a.token), 200)


@suite.test("R2 an admin cannot add a mailbox to a locked seat (403 seat_locked)")
def _(env):
    expect(env.add_mailbox(S.admin_a, S.user_a2.id, "art.four@alpha.test"), 403, "seat_locked")


@suite.test("R2 R7 a locked seat's mailbox still blocks its address (409, seat state locked)")
def _(env):
    b = expect(env.add_mailbox(S.admin_a, S.admin_a.id, "ART@alpha.test"), 409, "address_in_use", "R7")
    check(b["error"].get("seat") == {"user_id": S.user_a2.id, "state": "locked"} or
          (b["error"]["seat"].get("user_id") == S.user_a2.id and b["error"]["seat"].get("state") == "locked"),
          short(b))


@suite.test("R2 unlocking the seat restores access with the same token")
def _(env):
    u = expect(env.req("PATCH", "/users/%s" % S.user_a2.id, S.admin_a.token, {"seat": "active"}), 200)
    check(u["seat"] == "active", short(u))
    expect(env.req("GET", "/mailboxes", S.user_a2.token), 200)


@suite.test("R7 an address on a seat of org B blocks org A: 409 address_in_use with seat.state")
def _(env):
    b = expect(env.add_mailbox(S.user_a, S.user_a.id, " Ben@Beta.TEST"), 409, "address_in_use", "R7")
    seat = b["error"].get("seat")
    check(isinstance(seat, dict) and "user_id" in seat and seat.get("state") == "active", short(b))
    S.cross_seat = seat
    r = expect(env.req("POST", "/mailbox-requests", S.admin_a.token,
                       {"kind": "add", "address": "ben@beta.test", "target_user_id": S.user_a.id}), 201)
    check(r["status"] == "rejected" and find_check(r, "R7")["ok"] is False, short(r))
    lst = expect(env.req("GET", "/mailboxes?limit=500", S.admin_a.token), 200)
    check(all(m["address"].lower() != "ben@beta.test" for m in lst["items"]), short(lst))


@suite.test("R1/R7 across orgs error.seat keeps user_id null: another org's user id is not shown")
def _(env):
    check("user_id" in S.cross_seat and S.cross_seat.get("user_id") is None,
          "error.seat.user_id is %r, expected null across organisations" % S.cross_seat.get("user_id"))
    check(S.cross_seat.get("state") == "active", short(S.cross_seat))


@suite.test("R7 the same new address added concurrently from both orgs: exactly one seat gets it")
def _(env):
    a2 = env.user("ari@alpha.test", "Ari Alpha", "user", S.org_a)
    b2 = env.user("bea@beta.test", "Bea Beta", "user", S.org_b)
    jobs = [(w, env.mailbox_body(w.id, addr)) for w in (a2, b2) for addr in
            ("race@both.test", "RACE@both.test ", " Race@Both.Test")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        res = list(pool.map(lambda j: env.req("POST", "/mailboxes", j[0].token, j[1]), jobs))
    codes = sorted(st for st, _b in res)
    check(codes.count(201) == 1 and codes.count(409) == len(jobs) - 1, "statuses: %s" % codes)
    winner = [b["owner_id"] for st, b in res if st == 201]
    same_org = [b["error"]["seat"] for (w, _body), (st, b) in zip(jobs, res) if st == 409 and w.id in winner]
    check(all(seat.get("user_id") == winner[0] and seat.get("state") == "active" for seat in same_org),
          "the winner's own other attempts name its seat: %s" % short(same_org))
    lst = expect(env.req("GET", "/mailboxes?limit=500", env.op.token), 200)
    check(sum(1 for m in lst["items"] if m["address"].strip().lower() == "race@both.test") == 1, short(lst))


@suite.test("R1 unknown ids and B's ids answer alike (404 not_found) for A's admin")
def _(env):
    a = env.req("GET", "/mailboxes/%s" % S.mb_b["id"], S.admin_a.token)
    b = env.req("GET", "/mailboxes/does-not-exist-42", S.admin_a.token)
    expect(b, 404, "not_found")
    expect(a, 404, "not_found")
    a = env.req("GET", "/mailbox-requests/%s" % S.req_b["id"], S.admin_a.token)
    expect(a, 404, "not_found")
    a = env.req("GET", "/users/%s" % S.user_b.id, S.admin_a.token)
    expect(a, 404, "not_found")


if __name__ == "__main__":
    main(suite)
