#!/usr/bin/env python3
"""test_webhooks.py — webhook management and notification preferences through the HTTP API.

  * POST /webhooks (admins): 201 with the secret shown once (generated "whsec_..." or the one
    given), events in canonical order without duplicates; the secret never comes back (GET,
    list, PATCH, audit log) and is sealed at rest (R29).
  * Validation: url (http/https, host, port, no credentials, no spaces), events (known names,
    a non-empty list), secret (16..128), wrong types, bad JSON: 400 invalid_request naming the
    field. Users 403; another organisation's webhook 404; operators need org_id.
  * PATCH (url, events, active, rotate_secret once), DELETE (then 404), deliveries list and
    its ?status= filter; audit entries webhook.create/update/delete.
  * A real event through the API: pausing an enrollment by hand emits enrollment.paused,
    delivered by the engine's worker to a local receiver with a signature it verifies.
  * Notifications (R28): GET /me/notification-preferences (all 7 kinds, email on by default),
    PUT changes only the kinds given (per user, 400 for unknown kinds or non-booleans); a
    notification whose kind has email off is stored with email_status 'off' (not mailed), one
    with email on 'pending'; ?unread=true, POST /notifications/{id}/read, /read-all.
Run alone: python3 tests/api/test_webhooks.py (TAP on stdout).
"""
import os
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, expect_denied, main, short  # noqa: E402
from webhook_receiver import Receiver, verify  # noqa: E402

suite = Suite("webhooks")
S = types.SimpleNamespace(recv=None)
EVENTS = ["message.received", "message.reply", "message.bounce", "mailbox.status",
          "conversation.assigned", "enrollment.paused"]
KINDS = ["master_inbox_set", "mailbox_failing", "mailbox_recovered", "request_approved",
         "request_rejected", "invite_accepted", "conversation_unassigned"]
HOOK_FIELDS = ("id", "org_id", "url", "events", "active", "created_at", "updated_at")


def no_secret(obj, *secrets):
    text = repr(obj)
    for s in secrets:
        check(s not in text, "a webhook secret came back: %s" % short(obj))
    check("secret" not in (obj if isinstance(obj, dict) else {}),
          "a webhook object has a secret field: %s" % short(obj))


@suite.test("setup: two organisations with admins, a user, and a local receiver")
def _(env):
    S.org = env.org("Hook Co")
    S.admin = env.user("ada@hook.test", "Ada Admin", "admin", S.org)
    S.user = env.user("uli@hook.test", "Uli User", "user", S.org)
    S.org2 = env.org("Other Co")
    S.admin2 = env.user("otto@other.test", "Otto Admin", "admin", S.org2)
    S.recv = Receiver()


@suite.test("POST /webhooks: 201, generated secret shown once, events canonical and deduplicated")
def _(env):
    b = expect(env.req("POST", "/webhooks", S.admin.token,
                       {"url": S.recv.url("/a"),
                        "events": ["mailbox.status", "message.received", "mailbox.status"]}), 201)
    for f in HOOK_FIELDS + ("secret",):
        check(f in b, "webhook lacks %r: %s" % (f, short(b)))
    check(b["org_id"] == S.org and b["url"] == S.recv.url("/a") and b["active"] is True, short(b))
    check(b["events"] == ["message.received", "mailbox.status"], "events: %s" % b["events"])
    check(isinstance(b["secret"], str) and b["secret"].startswith("whsec_") and
          len(b["secret"]) >= 40, "generated secret: %r" % b["secret"])
    S.hook, S.secret = b, b["secret"]
    env.secrets.add(S.secret)  # from now on no response may contain it


@suite.test("POST /webhooks with a secret of our own: that one is shown once, sealed at rest (R29)")
def _(env):
    mine = "my-own-secret-0123456789-abcdef"
    b = expect(env.req("POST", "/webhooks", S.admin.token,
                       {"url": S.recv.url("/b"), "events": EVENTS, "secret": mine,
                        "active": False}), 201)
    check(b["secret"] == mine and b["active"] is False and b["events"] == EVENTS, short(b))
    S.hook2, S.secret2 = b, mine
    env.secrets.add(mine)
    rows = env.sql("SELECT secret_sealed FROM webhooks WHERE id IN (?, ?)", (S.hook["id"], b["id"]))
    check(len(rows) == 2, "rows: %s" % rows)
    for (sealed,) in rows:
        check(sealed.startswith("v1:") and mine not in sealed and S.secret not in sealed,
              "secret not sealed at rest: %r" % sealed[:40])


@suite.test("GET /webhooks/{id}, GET /webhooks: no secret; admins see only their organisation's")
def _(env):
    g = expect(env.req("GET", "/webhooks/%s" % S.hook["id"], S.admin.token), 200)
    no_secret(g, S.secret)
    check(g["id"] == S.hook["id"] and g["events"] == S.hook["events"], short(g))
    lst = expect(env.req("GET", "/webhooks", S.admin.token), 200)
    ids = [w["id"] for w in lst["items"]]
    check(ids == [S.hook["id"], S.hook2["id"]] and lst["next_cursor"] is None, short(lst))
    for w in lst["items"]:
        no_secret(w, S.secret, S.secret2)
    page = expect(env.req("GET", "/webhooks?limit=1", S.admin.token), 200)
    check(len(page["items"]) == 1 and page["next_cursor"], short(page))
    other = expect(env.req("GET", "/webhooks", S.admin2.token), 200)
    check(other["items"] == [], "another organisation's admin lists: %s" % short(other))
    op = expect(env.req("GET", "/webhooks?org_id=%s" % S.org, env.op.token), 200)
    check([w["id"] for w in op["items"]] == ids, short(op))


@suite.test("validation: url, events, secret, types, JSON -> 400 invalid_request naming the field")
def _(env):
    def bad(body, field):
        b = expect(env.req("POST", "/webhooks", S.admin.token, body), 400, "invalid_request")
        check(b["error"]["message"].startswith(field), "message should name %r: %s" % (field, short(b)))
    ok_url, ev = S.recv.url("/x"), ["message.received"]
    env.all_of(
        lambda: bad({"events": ev}, "url"),
        lambda: bad({"url": "ftp://example.com/h", "events": ev}, "url"),
        lambda: bad({"url": "example.com/h", "events": ev}, "url"),
        lambda: bad({"url": "https://user:pw@example.com/h", "events": ev}, "url"),
        lambda: bad({"url": "https://example.com/a b", "events": ev}, "url"),
        lambda: bad({"url": "https://example.com:99999/", "events": ev}, "url"),
        lambda: bad({"url": "https:///nohost", "events": ev}, "url"),
        lambda: bad({"url": "https://e.com/" + "a" * 2100, "events": ev}, "url"),
        lambda: bad({"url": 42, "events": ev}, "url"),
        lambda: bad({"url": ok_url}, "events"),
        lambda: bad({"url": ok_url, "events": []}, "events"),
        lambda: bad({"url": ok_url, "events": "message.received"}, "events"),
        lambda: bad({"url": ok_url, "events": ["message.received", "message.deleted"]}, "events"),
        lambda: bad({"url": ok_url, "events": [1]}, "events"),
        lambda: bad({"url": ok_url, "events": ev, "secret": "short"}, "secret"),
        lambda: bad({"url": ok_url, "events": ev, "secret": "with spaces in it 12345"}, "secret"),
        lambda: bad({"url": ok_url, "events": ev, "secret": 123}, "secret"),
        lambda: bad({"url": ok_url, "events": ev, "active": "yes"}, "active"),
        lambda: expect(env.req("POST", "/webhooks", S.admin.token, raw="{not json"), 400,
                       "invalid_request"),
        lambda: expect(env.req("POST", "/webhooks", S.admin.token, raw="[]"), 400,
                       "invalid_request"),
    )
    n = env.sql("SELECT COUNT(*) FROM webhooks")[0][0]
    check(n == 2, "refused webhooks were stored: %d rows" % n)


@suite.test("R1 users get 403; another organisation's webhook is 404; operators need org_id")
def _(env):
    body = {"url": S.recv.url("/u"), "events": ["message.received"]}
    expect(env.req("POST", "/webhooks", S.user.token, body), 403, "forbidden")
    expect(env.req("GET", "/webhooks", S.user.token), 403, "forbidden")
    expect(env.req("GET", "/webhooks/%s" % S.hook["id"], S.user.token), 403, "forbidden")
    hid = S.hook["id"]
    expect(env.req("GET", "/webhooks/%s" % hid, S.admin2.token), 404, "not_found")
    expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin2.token, {"active": False}), 404,
           "not_found")
    expect(env.req("DELETE", "/webhooks/%s" % hid, S.admin2.token), 404, "not_found")
    expect(env.req("GET", "/webhooks/%s/deliveries" % hid, S.admin2.token), 404, "not_found")
    expect_denied(env.req("POST", "/webhooks", S.admin2.token, dict(body, org_id=S.org)))
    expect(env.req("POST", "/webhooks", env.op.token, body), 400, "invalid_request")
    b = expect(env.req("POST", "/webhooks", env.op.token, dict(body, org_id=S.org2)), 201)
    check(b["org_id"] == S.org2, short(b))
    env.secrets.add(b["secret"])
    expect(env.req("DELETE", "/webhooks/%s" % b["id"], S.admin2.token), 204)


@suite.test("PATCH: url, events, active; rotate_secret shows the new secret once; both -> 400")
def _(env):
    hid = S.hook2["id"]
    p = expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin.token,
                       {"events": ["enrollment.paused"], "active": True,
                        "url": S.recv.url("/b2")}), 200)
    no_secret(p, S.secret2)
    check(p["events"] == ["enrollment.paused"] and p["active"] is True and
          p["url"] == S.recv.url("/b2"), short(p))
    expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin.token, {"url": "gopher://x"}), 400,
           "invalid_request")
    expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin.token, {"events": []}), 400,
           "invalid_request")
    expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin.token,
                   {"rotate_secret": True, "secret": "another-secret-0123456789"}), 400,
           "invalid_request")
    r = expect(env.req("PATCH", "/webhooks/%s" % hid, S.admin.token, {"rotate_secret": True}), 200)
    check(r.get("secret", "").startswith("whsec_") and r["secret"] != S.secret2, short(r))
    S.secret2 = r["secret"]
    env.secrets.add(S.secret2)
    g = expect(env.req("GET", "/webhooks/%s" % hid, S.admin.token), 200)
    no_secret(g, S.secret2)
    check(g["events"] == ["enrollment.paused"], short(g))


@suite.test("deliveries: an empty list for a new webhook; ?status= must be a delivery status")
def _(env):
    d = expect(env.req("GET", "/webhooks/%s/deliveries" % S.hook["id"], S.admin.token), 200)
    check(d == {"items": [], "next_cursor": None}, short(d))
    expect(env.req("GET", "/webhooks/%s/deliveries?status=lost" % S.hook["id"], S.admin.token),
           400, "invalid_request")
    expect(env.req("GET", "/webhooks/whk_0000000000000000000000/deliveries", S.admin.token), 404,
           "not_found")


@suite.test("enrollment.paused: pausing an enrollment by hand is delivered, signed, to the receiver")
def _(env):
    mb = env.new_mailbox(S.user, S.user.id, "uli@hook.test")
    seq = expect(env.req("POST", "/sequences", S.user.token,
                         {"name": "Hooks", "mailbox_id": mb["id"],
                          "steps": [{"delay_minutes": 10000, "subject": "Hi", "text": "Hello\n"},
                                    {"delay_minutes": 10000, "subject": "Hi", "text": "Again\n"}]}),
                 201)
    pr = expect(env.req("POST", "/prospects", S.user.token,
                        {"email": "pat@prospect.test", "mailbox_id": mb["id"]}), 201)
    pid = pr["items"][0]["id"] if "items" in pr else pr["id"]
    en = expect(env.req("POST", "/sequences/%s/enrollments" % seq["id"], S.user.token,
                        {"prospect_ids": [pid]}), 201)["items"][0]
    expect(env.req("POST", "/enrollments/%s/pause" % en["id"], S.user.token), 200)
    req = S.recv.wait(lambda r: r["path"] == "/b2", 15, "enrollment.paused at /b2")
    ok, why = verify(S.secret2, req)
    check(ok, why)
    h, j = req["headers"], req["json"]
    check(h.get("x-mailfleet-event") == "enrollment.paused" and
          h.get("content-type") == "application/json", "headers: %s" % h)
    check(j and j["event"] == "enrollment.paused" and j["org_id"] == S.org and
          j["id"].startswith("evt_") and j["created_at"], "body: %s" % short(j))
    check(j["data"] == {"enrollment_id": en["id"], "sequence_id": seq["id"], "prospect_id": pid,
                        "mailbox_id": mb["id"], "reason": "manual"}, "data: %s" % short(j["data"]))
    ok, why = verify(S.secret, req)
    check(not ok, "the signature also verified with another webhook's secret")

    def delivered():
        d = expect(env.req("GET", "/webhooks/%s/deliveries" % S.hook2["id"], S.admin.token), 200)
        return d["items"]
    items = delivered()
    for _ in range(50):
        if items and items[0]["status"] == "delivered":
            break
        time.sleep(0.1)
        items = delivered()
    check(len(items) == 1, "deliveries: %s" % short(items))
    x = items[0]
    check(x["status"] == "delivered" and x["attempts"] == 1 and x["status_code"] == 200 and
          x["event"] == "enrollment.paused" and x["delivered_at"] and
          x["next_attempt_at"] is None and x["id"] == h.get("x-mailfleet-delivery") and
          x["event_id"] == j["id"], short(x))
    # the first webhook does not take enrollment.paused (it may have mailbox.status of the
    # mailbox above, which cannot connect)
    other = expect(env.req("GET", "/webhooks/%s/deliveries" % S.hook["id"], S.admin.token), 200)
    check(all(x["event"] == "mailbox.status" for x in other["items"]), short(other))


@suite.test("DELETE /webhooks/{id}: 204, then 404 everywhere; its deliveries go with it")
def _(env):
    hid = S.hook2["id"]
    expect(env.req("DELETE", "/webhooks/%s" % hid, S.admin.token), 204)
    expect(env.req("GET", "/webhooks/%s" % hid, S.admin.token), 404, "not_found")
    expect(env.req("DELETE", "/webhooks/%s" % hid, S.admin.token), 404, "not_found")
    expect(env.req("GET", "/webhooks/%s/deliveries" % hid, S.admin.token), 404, "not_found")
    n = env.sql("SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?", (hid,))[0][0]
    check(n == 0, "%d deliveries left behind" % n)


@suite.test("R27 audit: webhook.create/update/delete recorded, never with a secret")
def _(env):
    a = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)["items"]
    acts = [e["action"] for e in a if e["target_type"] == "webhook"]
    for want in ("webhook.create", "webhook.update", "webhook.delete"):
        check(want in acts, "no %s in the audit log: %s" % (want, acts))
    rot = [e for e in a if e["action"] == "webhook.update" and e["detail"].get("secret")]
    check(rot and rot[-1]["detail"]["secret"] == "rotated", short(rot))


@suite.test("R28 preferences: GET lists the 7 kinds, email on by default")
def _(env):
    p = expect(env.req("GET", "/me/notification-preferences", S.user.token), 200)
    check(p == {k: True for k in KINDS}, short(p))


@suite.test("R28 preferences: PUT changes only the kinds given, per user; bad input is 400")
def _(env):
    p = expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                       {"request_rejected": False, "mailbox_failing": False}), 200)
    want = {k: True for k in KINDS}
    want.update(request_rejected=False, mailbox_failing=False)
    check(p == want, short(p))
    p = expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                       {"mailbox_failing": True}), 200)
    want["mailbox_failing"] = True
    check(p == want, short(p))
    check(expect(env.req("GET", "/me/notification-preferences", S.user.token), 200) == want,
          "GET after PUT")
    other = expect(env.req("GET", "/me/notification-preferences", S.admin.token), 200)
    check(all(other.values()), "another user's preferences changed: %s" % short(other))
    env.all_of(
        lambda: expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                               {"mailbox_exploded": False}), 400, "invalid_request"),
        lambda: expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                               {"mailbox_failing": "no"}), 400, "invalid_request"),
        lambda: expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                               {"mailbox_failing": 0}), 400, "invalid_request"),
        lambda: expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                               raw="[true]"), 400, "invalid_request"),
        lambda: expect(env.req("PUT", "/me/notification-preferences", S.user.token,
                               {"master_inbox_set": False, "bogus": True}), 400,
                       "invalid_request"),
    )
    check(expect(env.req("GET", "/me/notification-preferences", S.user.token), 200) == want,
          "a refused PUT changed something")
    expect(env.req("GET", "/me/notification-preferences"), 401, "unauthenticated")


def decide(env, address, how):
    r = expect(env.req("POST", "/mailbox-requests", S.user.token,
                       {"kind": "add", "address": address, "target_user_id": S.user.id}), 201)
    check(r["status"] == "pending", short(r))
    if how == "reject":
        expect(env.req("POST", "/mailbox-requests/%s/reject" % r["id"], env.op.token,
                       {"reason": "testing"}), 200)
    else:
        expect(env.req("POST", "/mailbox-requests/%s/approve" % r["id"], env.op.token), 200)
    return r["id"]


@suite.test("R28 email off: request_rejected is stored (listed) but not mailed (email_status off); "
            "request_approved with email on is pending for the mailer")
def _(env):
    rej = decide(env, "uli.two@hook.test", "reject")
    app = decide(env, "uli.three@hook.test", "approve")
    items = expect(env.req("GET", "/notifications?limit=500", S.user.token), 200)["items"]
    kinds = {n["data"].get("request_id"): n for n in items}
    check(rej in kinds and kinds[rej]["kind"] == "request_rejected", short(items))
    check(app in kinds and kinds[app]["kind"] == "request_approved", short(items))
    rows = dict(env.sql("SELECT kind, email_status FROM notifications WHERE user_id = ?",
                        (S.user.id,)))
    check(rows.get("request_rejected") == "off", "email of request_rejected: %s" % rows)
    check(rows.get("request_approved") == "pending", "email of request_approved: %s" % rows)
    S.ntf = [kinds[rej]["id"], kinds[app]["id"]]


@suite.test("R28 notifications: ?unread=true, mark one read, read-all, paging")
def _(env):
    u = expect(env.req("GET", "/notifications?unread=true", S.user.token), 200)["items"]
    check(len(u) == 2 and all(n["read"] is False for n in u), short(u))
    expect(env.req("POST", "/notifications/%s/read" % S.ntf[0], S.user.token), 204)
    expect(env.req("POST", "/notifications/%s/read" % S.ntf[0], S.admin.token), 404, "not_found")
    u = expect(env.req("GET", "/notifications?unread=true", S.user.token), 200)["items"]
    check([n["id"] for n in u] == [S.ntf[1]], short(u))
    page = expect(env.req("GET", "/notifications?limit=1", S.user.token), 200)
    check(len(page["items"]) == 1 and page["next_cursor"] == page["items"][0]["id"], short(page))
    rest = expect(env.req("GET", "/notifications?limit=1&cursor=%s" % page["next_cursor"],
                          S.user.token), 200)
    check(len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"], short(rest))
    expect(env.req("GET", "/notifications?unread=maybe", S.user.token), 400, "invalid_request")
    m = expect(env.req("POST", "/notifications/read-all", S.user.token), 200)
    check(m == {"marked": 1}, short(m))
    check(expect(env.req("GET", "/notifications?unread=1", S.user.token), 200)["items"] == [],
          "unread after read-all")
    all_ = expect(env.req("GET", "/notifications?unread=false", S.user.token), 200)["items"]
    check(len(all_) == 2 and all(n["read"] is True for n in all_), short(all_))
    m = expect(env.req("POST", "/notifications/read-all", S.user.token), 200)
    check(m == {"marked": 0}, short(m))


if __name__ == "__main__":
    os.environ["MAILFLEET_WEBHOOK_RETRY_BASE_SECONDS"] = "1"
    os.environ["MAILFLEET_WEBHOOK_ALLOW_PRIVATE"] = "1"  # the receiver runs on loopback
    os.environ["MAILFLEET_WEBHOOK_RETRY_MAX_SECONDS"] = "2"
    try:
        main(suite)
    finally:
        if S.recv:
            S.recv.stop()
