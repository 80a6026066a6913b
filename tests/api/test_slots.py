#!/usr/bin/env python3
"""test_slots.py — Autoklose's multiple email connections: limits, purchased slots, team view.

  * A user starts at 0/2; one mailbox makes 1/2; the admin buys 2 slots (unassigned,
    org-owned), assigns one: 1/3; two more mailboxes: 3/3 and a fourth is refused (R3).
  * A slot that holds a mailbox cannot be removed (409 slot_in_use, R4); after deleting a
    mailbox (which needs ?confirm=true, R9) the removal is 204 and the slot is cancelled at its
    next renewal (ends_at = renews_at) and no longer counted.
  * Team totals in GET /connections; 422 no_free_slots; counts out of 1..100 refused.
  * Contract overrides of the limit: org --mailbox-limit 3, and PATCH /users mailbox_limit.
Run alone: python3 tests/api/test_slots.py (TAP on stdout).
"""
import os
import sys
import types
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, main, short  # noqa: E402

suite = Suite("slots")
S = types.SimpleNamespace()
SLOT_FIELDS = ("id", "state", "purchased_at", "renews_at", "ends_at")


def conn(env, who, uid):
    c = expect(env.req("GET", "/users/%s/connections" % uid, who.token), 200)
    for f in ("user_id", "used", "available", "display", "base", "slots"):
        check(f in c, "connections lacks %r: %s" % (f, short(c)))
    check(c["display"] == "%d/%d" % (c["used"], c["available"]),
          "display %r does not read used/available: %s" % (c["display"], short(c)))
    return c


def shows(c, used, available):
    check(c["used"] == used and c["available"] == available,
          "expected %d/%d, got %s" % (used, available, short(c)))


@suite.test("R1 setup: org with default limit, admin, users U and V")
def _(env):
    S.org = env.org("Klose Inc")
    S.admin = env.user("kim@klose.test", "Kim Admin", "admin", S.org)
    S.u = env.user("uma@klose.test", "Uma Usher", "user", S.org)
    S.v = env.user("vic@klose.test", "Vic Vale", "user", S.org)


@suite.test("R3 a new user shows 0/2, base 2, no slots")
def _(env):
    c = conn(env, S.u, S.u.id)
    shows(c, 0, 2)
    check(c["base"] == 2 and c["slots"] == [] and c["user_id"] == S.u.id, short(c))


@suite.test("R3 one mailbox -> 1/2")
def _(env):
    S.m1 = env.new_mailbox(S.u, S.u.id, "uma@klose.test")
    shows(conn(env, S.admin, S.u.id), 1, 2)


@suite.test("R3 admin buys 2 slots: 201, unassigned, org-owned, listed by GET /slots")
def _(env):
    b = expect(env.req("POST", "/slots", S.admin.token, {"count": 2}), 201)
    check(isinstance(b.get("slots"), list) and len(b["slots"]) == 2, short(b))
    for s in b["slots"]:
        for f in SLOT_FIELDS:
            check(f in s, "slot lacks %r: %s" % (f, short(s)))
        check(s.get("user_id") is None and s["state"] != "cancelled" and s["ends_at"] is None, short(s))
    S.slots = [s["id"] for s in b["slots"]]
    lst = expect(env.req("GET", "/slots", S.admin.token), 200)
    items = lst["items"] if isinstance(lst, dict) and "items" in lst else lst.get("slots", [])
    check({s["id"] for s in items} >= set(S.slots), "GET /slots lists the bought slots: %s" % short(lst))
    t = expect(env.req("GET", "/connections", S.admin.token), 200)
    check(t.get("unassigned_slots") == 2, "team unassigned_slots: %s" % short(t))


@suite.test("R3 assigning one slot to U: 1/2 -> 1/3 (200 with U's connections)")
def _(env):
    c = expect(env.req("POST", "/users/%s/slots" % S.u.id, S.admin.token, {"count": 1}), 200)
    check(c.get("user_id") == S.u.id and c.get("base") == 2, short(c))
    shows(c, 1, 3)
    check(c["display"] == "1/3" and len(c["slots"]) == 1, short(c))
    S.u_slot = c["slots"][0]
    check(S.u_slot["id"] in S.slots and S.u_slot["renews_at"], short(S.u_slot))
    shows(conn(env, S.u, S.u.id), 1, 3)


@suite.test("R3 two more mailboxes -> 3/3; a fourth -> 422 mailbox_limit_reached limit 3 used 3")
def _(env):
    S.m2 = env.new_mailbox(S.u, S.u.id, "uma.two@klose.test")
    S.m3 = env.new_mailbox(S.u, S.u.id, "uma.three@klose.test")
    c = conn(env, S.u, S.u.id)
    shows(c, 3, 3)
    check(c["display"] == "3/3", short(c))
    b = expect(env.add_mailbox(S.u, S.u.id, "uma.four@klose.test"), 422, "mailbox_limit_reached", "R3")
    check(b["error"].get("limit") == 3 and b["error"].get("used") == 3, short(b))


@suite.test("R3 team totals in GET /connections: members with used/available, unassigned slots")
def _(env):
    t = expect(env.req("GET", "/connections", S.admin.token), 200)
    for f in ("used", "available", "display", "unassigned_slots", "members"):
        check(f in t, "team connections lacks %r: %s" % (f, short(t)))
    check(t["unassigned_slots"] == 1, short(t))
    members = {m["user_id"]: m for m in t["members"]}
    check(S.u.id in members and S.v.id in members, "U and V are members: %s" % short(t))
    mu, mv = members[S.u.id], members[S.v.id]
    check(mu["email"] == S.u.email and mu["used"] == 3 and mu["available"] == 3 and mu["display"] == "3/3",
          short(mu))
    check(mv["used"] == 0 and mv["available"] == 2 and mv["display"] == "0/2", short(mv))
    used = sum(m["used"] for m in t["members"])
    avail = sum(m["available"] for m in t["members"])
    check(t["used"] == used, "team used %s != sum of members %s" % (t["used"], used))
    check(t["available"] in (avail, avail + t["unassigned_slots"]),
          "team available %s vs members' %s" % (t["available"], avail))
    check(t["display"] == "%d/%d" % (t["used"], t["available"]), short(t))


@suite.test("R4 removing a slot that holds a mailbox -> 409 slot_in_use")
def _(env):
    expect(env.req("DELETE", "/users/%s/slots/%s" % (S.u.id, S.u_slot["id"]), S.admin.token),
           409, "slot_in_use", "R4")
    shows(conn(env, S.u, S.u.id), 3, 3)


@suite.test("R9 deleting a mailbox without ?confirm=true -> 428 confirmation_required")
def _(env):
    expect(env.req("DELETE", "/mailboxes/%s" % S.m3["id"], S.u.token), 428, "confirmation_required", "R9")
    expect(env.req("GET", "/mailboxes/%s" % S.m3["id"], S.u.token), 200)


@suite.test("R4 R9 after deleting a mailbox (confirmed) the slot removal is 204")
def _(env):
    st, body = env.req("DELETE", "/mailboxes/%s?confirm=true" % S.m3["id"], S.u.token)
    check(st == 204, "delete mailbox: %s %s" % (st, short(body or "")))
    expect(env.req("GET", "/mailboxes/%s" % S.m3["id"], S.u.token), 404, "not_found")
    st, body = env.req("DELETE", "/users/%s/slots/%s" % (S.u.id, S.u_slot["id"]), S.admin.token)
    check(st == 204, "remove slot: %s %s" % (st, short(body or "")))


@suite.test("R4 the removed slot is cancelled at its next renewal (ends_at = renews_at), not counted")
def _(env):
    c = conn(env, S.u, S.u.id)
    shows(c, 2, 2)
    for s in c["slots"]:
        check(s["id"] != S.u_slot["id"] or s["state"] == "cancelled", "slot still counted: %s" % short(s))
    lst = expect(env.req("GET", "/slots", S.admin.token), 200)
    items = lst["items"] if "items" in lst else lst.get("slots", [])
    mine = [s for s in items if s["id"] == S.u_slot["id"]]
    check(mine, "GET /slots still lists the cancelled slot: %s" % short(lst))
    s = mine[0]
    check(s["state"] == "cancelled", short(s))
    check(s["ends_at"] and s["ends_at"] == s["renews_at"], "ends_at should equal renews_at: %s" % short(s))
    check(s["renews_at"] == S.u_slot["renews_at"], "renewal date moved: %s vs %s"
          % (s["renews_at"], S.u_slot["renews_at"]))


@suite.test("R4 removing an already cancelled or unknown slot is not a success")
def _(env):
    st, body = env.req("DELETE", "/users/%s/slots/%s" % (S.u.id, S.u_slot["id"]), S.admin.token)
    check(st in (404, 409), "second removal: %s %s" % (st, short(body or "")))
    expect(env.req("DELETE", "/users/%s/slots/nope-123" % S.u.id, S.admin.token), 404, "not_found")


@suite.test("R3 assigning more slots than free -> 422 no_free_slots; the cancelled one is not free")
def _(env):
    expect(env.req("POST", "/users/%s/slots" % S.v.id, S.admin.token, {"count": 2}), 422, "no_free_slots")
    c = expect(env.req("POST", "/users/%s/slots" % S.v.id, S.admin.token, {"count": 1}), 200)
    shows(c, 0, 3)
    expect(env.req("POST", "/users/%s/slots" % S.v.id, S.admin.token, {"count": 1}), 422, "no_free_slots")
    t = expect(env.req("GET", "/connections", S.admin.token), 200)
    check(t["unassigned_slots"] == 0, short(t))


@suite.test("R3 slot counts outside 1..100 -> 400 invalid_request naming count")
def _(env):
    for n in (0, -1, 101):
        b = expect(env.req("POST", "/slots", S.admin.token, {"count": n}), 400, "invalid_request")
        check("count" in b["error"]["message"], "message should name count: %s" % short(b))
    b = expect(env.req("POST", "/slots", S.admin.token, {"count": 100}), 201)
    check(len(b["slots"]) == 100, "100 slots bought")


@suite.test("R1 a user cannot buy, assign or remove slots, nor see the team totals")
def _(env):
    expect(env.req("POST", "/slots", S.u.token, {"count": 1}), 403, "forbidden")
    expect(env.req("POST", "/users/%s/slots" % S.u.id, S.u.token, {"count": 1}), 403, "forbidden")
    st, body = env.req("DELETE", "/users/%s/slots/%s" % (S.u.id, S.slots[1]), S.u.token)
    check(st == 403, "user removing a slot: %s %s" % (st, short(body or "")))
    expect(env.req("GET", "/connections", S.u.token), 403, "forbidden")
    st, _b = env.req("GET", "/users/%s/connections" % S.v.id, S.u.token)
    check(st in (403, 404), "user reading a colleague's connections: %s" % st)


@suite.test("R3 contract override for the org (--mailbox-limit 3): 3 mailboxes, the 4th refused")
def _(env):
    org = env.org("Big Contract", "--mailbox-limit", "3")
    w = env.user("wes@bigcontract.test", "Wes West", "user", org)
    c = conn(env, w, w.id)
    shows(c, 0, 3)
    check(c["base"] == 3, short(c))
    for i in range(3):
        env.new_mailbox(w, w.id, "wes%d@bigcontract.test" % i)
    b = expect(env.add_mailbox(w, w.id, "wes9@bigcontract.test"), 422, "mailbox_limit_reached", "R3")
    check(b["error"].get("limit") == 3 and b["error"].get("used") == 3, short(b))


@suite.test("R3 contract override for a user (PATCH /users mailbox_limit) plus assigned slots")
def _(env):
    u = expect(env.req("PATCH", "/users/%s" % S.v.id, S.admin.token, {"mailbox_limit": 4}), 200)
    for f in ("id", "org_id", "email", "name", "role", "seat", "mailbox_limit", "created_at"):
        check(f in u, "user lacks %r: %s" % (f, short(u)))
    check(u["mailbox_limit"] == 4 and u["org_id"] == S.org and u["seat"] == "active", short(u))
    n = expect(env.req("PATCH", "/users/%s" % S.v.id, S.admin.token, {"name": "Vic Vale-Smith"}), 200)
    check(n["name"] == "Vic Vale-Smith" and n["mailbox_limit"] == 4, "PATCH name: %s" % short(n))
    c = conn(env, S.v, S.v.id)
    check(c["base"] == 4, short(c))
    shows(c, 0, 5)  # 4 by contract + 1 assigned slot
    for i in range(5):
        env.new_mailbox(S.v, S.v.id, "vic%d@klose.test" % i)
    expect(env.add_mailbox(S.v, S.v.id, "vic9@klose.test"), 422, "mailbox_limit_reached", "R3")


@suite.test("R3 twelve concurrent adds on a 0/2 seat: exactly two succeed, the rest 422")
def _(env):
    r = env.user("rita@klose.test", "Rita Race", "user", S.org)
    bodies = [env.mailbox_body(r.id, "rita%d@klose.test" % i) for i in range(12)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        res = list(pool.map(lambda b: env.req("POST", "/mailboxes", r.token, b), bodies))
    codes = sorted(st for st, _b in res)
    check(codes.count(201) == 2 and codes.count(422) == 10, "statuses: %s" % codes)
    c = conn(env, r, r.id)
    shows(c, 2, 2)
    lst = expect(env.req("GET", "/mailboxes?owner_id=%s" % r.id, r.token), 200)
    check(len(lst["items"]) == 2 and sum(1 for m in lst["items"] if m["is_default"]) == 1,
          "two mailboxes, one default: %s" % short(lst))


@suite.test("R3 POST /orgs by the operator with mailbox_limit returns the org")
def _(env):
    o = expect(env.req("POST", "/orgs", env.op.token, {"name": "Via API", "mailbox_limit": 5,
                                                       "allow_generic": True}), 201)
    for f in ("id", "name", "mailbox_limit", "allow_generic", "admin_self_approve", "max_daily_limit",
              "created_at"):
        check(f in o, "org lacks %r: %s" % (f, short(o)))
    check(o["name"] == "Via API" and o["mailbox_limit"] == 5 and o["allow_generic"] is True
          and o["admin_self_approve"] is False and o["max_daily_limit"] == 500, short(o))
    x = expect(env.req("POST", "/users", env.op.token, {"email": "xena@viaapi.test", "name": "Xena",
                                                        "role": "user", "org_id": o["id"]}), 201)
    check(x["org_id"] == o["id"], short(x))
    tok = expect(env.req("POST", "/users/%s/tokens" % x["id"], env.op.token), 201)["token"]
    c = expect(env.req("GET", "/users/%s/connections" % x["id"], tok), 200)
    shows(c, 0, 5)
    S.api_org, S.xena, S.xena_tok = o["id"], x["id"], tok


@suite.test("R27 R29 the admin's and operator's writes are in the audit log, tokens are not")
def _(env):
    a = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)
    mine = [i for i in a["items"] if i.get("actor_id") == S.admin.id]
    # buy 2, assign to U, remove U's slot, assign to V, buy 100, PATCH V: six writes at least
    check(len(mine) >= 6, "expected >= 6 audit entries by the admin, got %d: %s" % (len(mine), short(mine)))
    check(all(i["actor_role"] == "admin" for i in mine), short(mine))
    targets = {i.get("target_id") for i in mine}
    check(S.v.id in targets, "PATCH /users/V is not in the audit log")
    check(S.u_slot["id"] in targets or S.u.id in targets, "the slot removal is not in the audit log")
    o = expect(env.req("GET", "/audit-log?limit=500", env.op.token), 200)
    ops = [i for i in o["items"] if i.get("actor_id") == env.op.id]
    check(any(i.get("target_id") == S.api_org for i in ops), "POST /orgs by the operator is not audited")
    check(any(i.get("target_id") == S.xena for i in ops), "POST /users by the operator is not audited")
    check(all(i["actor_role"] == "operator" for i in ops), short(ops))
    check(S.xena_tok not in str(o) and S.admin.token not in str(o), "an API token is in the audit log")


if __name__ == "__main__":
    main(suite)
