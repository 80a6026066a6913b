#!/usr/bin/env python3
"""test_batch.py — group commit of write requests (src/api/batch.h) keeps each request apart.

POST /mailbox-requests (and approve/reject) run on the server's writer thread, many requests
in one SQLite transaction, each in a savepoint of its own. Sent at the same time from many
connections, a mix of requests that are stored and requests that fail must each get exactly
their own answer (R10), and every answered request must already be committed: read back at
once through another connection (and by another process, sqlite3), it is there; the failed
ones left nothing behind (not even an audit entry, R27).
Run alone: python3 tests/api/test_batch.py (TAP on stdout).
"""
import os
import sys
import types
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, main, short  # noqa: E402

suite = Suite("batch")
S = types.SimpleNamespace()


@suite.test("R1 setup: two orgs, an admin and a user in A, an admin in B")
def _(env):
    S.a = env.org("Batch A", "--mailbox-limit", "50")
    S.b = env.org("Batch B")
    S.admin = env.user("ann@batch-a.test", "Ann Admin", "admin", S.a)
    S.u = env.user("uwe@batch-a.test", "Uwe User", "user", S.a)
    S.bob = env.user("bob@batch-b.test", "Bob Admin", "admin", S.b)


def post(env, who, body):
    return env.req("POST", "/mailbox-requests", who.token, body)


@suite.test("R10 60 requests at once, stored and failing mixed: each gets its own answer")
def _(env):
    jobs = []
    for i in range(60):
        kind = i % 4
        if kind == 0:    # stored, pending
            jobs.append(("pending", S.admin, {"kind": "add", "address": "p%02d@batch-a.test" % i,
                                              "target_user_id": S.u.id}))
        elif kind == 1:  # stored, rejected by its checks (R6: generic address)
            jobs.append(("rejected", S.admin, {"kind": "add", "address": "info+%d@batch-a.test" % i,
                                               "target_user_id": S.u.id}))
        elif kind == 2:  # another organisation's seat: 404, nothing stored
            jobs.append((404, S.admin, {"kind": "add", "address": "x%02d@batch-a.test" % i,
                                        "target_user_id": S.bob.id}))
        else:            # a user filing for another seat: stored, rejected by R5
            jobs.append(("rejected", S.u, {"kind": "add", "address": "y%02d@batch-a.test" % i,
                                           "target_user_id": S.admin.id}))
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda j: post(env, j[1], j[2]), jobs))
    S.stored = []
    for (want, who, body), (st, got) in zip(jobs, answers):
        if want in ("pending", "rejected"):
            check(st == 201 and got.get("status") == want and got.get("address") == body["address"],
                  "%s: expected 201 %s, got %s %s" % (body["address"], want, st, short(got)))
            S.stored.append(got)
        else:
            check(st == 404 and got["error"]["code"] == "not_found",
                  "%s: expected 404 not_found, got %s %s" % (body["address"], st, short(got)))
    check(len(S.stored) == 45, "expected 45 stored requests, got %d" % len(S.stored))


@suite.test("every answered request is committed: read back at once, also by another process")
def _(env):
    for q in S.stored:
        got = expect(env.req("GET", "/mailbox-requests/" + q["id"], S.admin.token), 200)
        check(got == q, "read back differs from the answer:\n%s\n%s" % (short(got), short(q)))
    ids = sorted(q["id"] for q in S.stored)
    rows = env.sql("SELECT id FROM mailbox_requests WHERE org_id = ? ORDER BY id", (S.a,))
    check([r[0] for r in rows] == ids,
          "the database holds %d requests of org A, the answers named %d" % (len(rows), len(ids)))


@suite.test("R27 failed requests left nothing: one audit entry per stored request only")
def _(env):
    n = env.sql("SELECT COUNT(*) FROM audit_log WHERE action = 'request.create' AND org_id = ?",
                (S.a,))[0][0]
    check(n == len(S.stored), "audit entries: %d, stored requests: %d" % (n, len(S.stored)))
    n = env.sql("SELECT COUNT(*) FROM mailbox_requests WHERE target_user_id = ?", (S.bob.id,))[0][0]
    check(n == 0, "a refused request was stored: %d rows for org B's seat" % n)


@suite.test("R10 approvals and rejections at once, each decided once")
def _(env):
    pending = [q for q in S.stored if q["status"] == "pending"][:10]
    jobs = []
    for i, q in enumerate(pending):
        jobs.append(("approve", q))
        jobs.append(("approve" if i % 2 else "reject", q))  # a second decision races the first
    def decide(job):
        what, q = job
        body = {} if what == "approve" else {"reason": "not now"}
        return env.req("POST", "/mailbox-requests/%s/%s" % (q["id"], what), env.op.token, body)
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(decide, jobs))
    for q in pending:
        mine = [a for j, a in zip(jobs, answers) if j[1]["id"] == q["id"]]
        ok = [a for a in mine if a[0] == 200]
        check(len(ok) == 1, "%s: expected exactly one decision, got %s" % (q["id"], [a[0] for a in mine]))
        check(all(a[0] in (200, 409) for a in mine), "%s: %s" % (q["id"], short(mine)))
        final = expect(env.req("GET", "/mailbox-requests/" + q["id"], S.admin.token), 200)
        check(final["status"] == ok[0][1]["status"] and final["status"] in ("completed", "rejected"),
              "%s: answered %s, stored %s" % (q["id"], ok[0][1]["status"], final["status"]))



@suite.test("R3 the seat's count follows the approvals at once (the cached count is renewed)")
def _(env):
    done = env.sql("SELECT COUNT(*) FROM mailbox_requests WHERE target_user_id = ? AND status = "
                   "'completed'", (S.u.id,))[0][0]
    check(done >= 1, "no approval completed")
    c = expect(env.req("GET", "/users/%s/connections" % S.u.id, S.admin.token), 200)
    check(c["used"] == done, "connections: used %s, completed approvals %d" % (c["used"], done))
    for i in range(3):  # each filed after the one before it was approved
        q = expect(post(env, S.admin, {"kind": "add", "address": "r3-%d@batch-a.test" % i,
                                       "target_user_id": S.u.id}), 201)
        msg = [k["message"] for k in q["checks"] if k["rule"] == "R3"][0]
        check(("uses %d of" % (done + i)) in msg, "R3 check %r, expected %d used" % (msg, done + i))
        expect(env.req("POST", "/mailbox-requests/%s/approve" % q["id"], env.op.token, {}), 200)
    env.sql("DELETE FROM mailboxes WHERE address_norm = 'r3-2@batch-a.test'")  # another process
    q = expect(post(env, S.admin, {"kind": "add", "address": "r3-x@batch-a.test",
                                   "target_user_id": S.u.id}), 201)
    msg = [k["message"] for k in q["checks"] if k["rule"] == "R3"][0]
    check(("uses %d of" % (done + 2)) in msg, "after a delete by another process: %r" % msg)


if __name__ == "__main__":
    main(suite)
