#!/usr/bin/env python3
"""test_cache.py — the answer caches of the API (docs/benchmarks.md) never show old data.

GET /mailboxes answers and the bearer-token -> user lookups are kept per HTTP thread while
the database does not change. Each test first asks enough times that every HTTP thread (8 by
default) has the answer cached, then changes the data — through the API, through SQL from
another process, with the CLI (another process), or through a second `mailfleet api` process
on the same database file — and requires the very next answers, from every thread, to show
the change:
  * R17 a new sender name (PATCH) is listed at once; the ETag changes with the bytes;
  * a row changed by another process (sqlite3) is listed at once;
  * two mailfleet processes on one database: a mailbox added through one is listed by the
    other at once, and a delete through the other is seen by the first;
  * R2 a seat locked by the CLI is refused at once, unlocked is served again; a token deleted
    in SQL is refused at once (the token cache);
  * R1 each caller has their own answers: a user's list never comes from the admin's;
  * ETag / If-None-Match: 304 without a body while the bytes are the same, 200 after a change.
Run alone: python3 tests/api/test_cache.py (TAP on stdout).
"""
import json
import os
import subprocess
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, Suite, check, expect, free_port, main, short  # noqa: E402

suite = Suite("cache")
S = types.SimpleNamespace()
ROUNDS = 24  # requests per check: more than the server's 8 HTTP threads, each on a new connection


def listing(env, who, query="", port=None):
    """GET /mailboxes as `who` (on another server when port is given) -> (headers, body)."""
    saved = env.port
    if port:
        env.port = port
    try:
        st, hdrs, text = env.req_raw("GET", "/mailboxes" + query, who.token)
    finally:
        env.port = saved
    check(st == 200, "GET /mailboxes%s: %s %s" % (query, st, text[:300]))
    return hdrs, json.loads(text)


def every_answer(env, who, pred, what, query="", port=None):
    """ROUNDS answers in a row must all satisfy pred(body)."""
    for i in range(ROUNDS):
        _h, body = listing(env, who, query, port)
        check(pred(body), "answer %d of %d: %s: %s" % (i + 1, ROUNDS, what, short(body, 400)))


def by_id(body, mid):
    return next((m for m in body["items"] if m["id"] == mid), None)


@suite.test("R1 setup: org, admin, user U with a mailbox, admin with two")
def _(env):
    S.org = env.org("Cache Co", "--mailbox-limit", "5")
    S.admin = env.user("ada@cache.test", "Ada Admin", "admin", S.org)
    S.u = env.user("ulf@cache.test", "Ulf User", "user", S.org)
    S.mu = env.new_mailbox(S.admin, S.u.id, "ulf@cache.test")
    S.m1 = env.new_mailbox(S.admin, S.admin.id, "ada@cache.test")
    S.m2 = env.new_mailbox(S.admin, S.admin.id, "ada2@cache.test")
    every_answer(env, S.admin, lambda b: len(b["items"]) == 3, "the admin lists the org's 3")


@suite.test("R17 a sender name changed with PATCH is listed at once by every thread")
def _(env):
    h0, _b = listing(env, S.admin)
    expect(env.req("PATCH", "/mailboxes/" + S.m1["id"], S.admin.token,
                   {"sender_name": "Ada Lovelace"}), 200)
    every_answer(env, S.admin, lambda b: by_id(b, S.m1["id"])["sender_name"] == "Ada Lovelace",
                 "the new sender name")
    h1, _b = listing(env, S.admin)
    check(h0.get("etag") and h1.get("etag") and h0["etag"] != h1["etag"],
          "the ETag did not change with the bytes: %r -> %r" % (h0.get("etag"), h1.get("etag")))


@suite.test("a row changed by another process (sqlite3) is listed at once")
def _(env):
    every_answer(env, S.admin, lambda b: by_id(b, S.m2["id"])["daily_limit"] != 123, "warm-up")
    env.sql("UPDATE mailboxes SET daily_limit = 123 WHERE id = ?", (S.m2["id"],))
    every_answer(env, S.admin, lambda b: by_id(b, S.m2["id"])["daily_limit"] == 123,
                 "daily_limit 123 written by another process")


@suite.test("two mailfleet processes on one database see each other's writes at once")
def _(env):
    port = free_port()
    log = open(os.path.join(env.tmp, "api2.log"), "wb")
    proc = subprocess.Popen([BIN, "api", "--db", env.db_url, "--listen", "127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT, env=env.cli_env(), cwd=env.tmp)
    log.close()
    try:
        deadline = time.time() + 20
        while True:
            saved = env.port
            env.port = port
            try:
                st, _b = env.req("GET", "/healthz")
            except OSError:
                st = None
            finally:
                env.port = saved
            if st == 200:
                break
            check(proc.poll() is None and time.time() < deadline, "the second server did not start")
            time.sleep(0.1)
        every_answer(env, S.admin, lambda b: len(b["items"]) == 3, "3 on server A")
        every_answer(env, S.admin, lambda b: len(b["items"]) == 3, "3 on server B", port=port)
        # add through B, list through A
        saved = env.port
        env.port = port
        try:
            m3 = env.new_mailbox(S.admin, S.admin.id, "ada3@cache.test")
        finally:
            env.port = saved
        every_answer(env, S.admin, lambda b: by_id(b, m3["id"]) is not None,
                     "server A lists the mailbox added through server B")
        # delete through A, list through B
        expect(env.req("DELETE", "/mailboxes/%s?confirm=true" % m3["id"], S.admin.token), 204)
        every_answer(env, S.admin, lambda b: by_id(b, m3["id"]) is None,
                     "server B no longer lists the mailbox deleted through server A", port=port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, "the second server exited with %s" % proc.returncode)


@suite.test("R2 a seat locked by the CLI is refused at once by every thread; unlocked, served")
def _(env):
    every_answer(env, S.u, lambda b: len(b["items"]) == 1, "U's own mailbox")
    rc, _out, errout = env.cli("user", "lock", "--email", S.u.email)
    check(rc == 0, "mailfleet user lock: rc %s %s" % (rc, errout[-300:]))
    for i in range(ROUNDS):
        expect(env.req("GET", "/mailboxes", S.u.token), 403, "seat_locked", "R2")
    rc, _out, errout = env.cli("user", "unlock", "--email", S.u.email)
    check(rc == 0, "mailfleet user unlock: rc %s %s" % (rc, errout[-300:]))
    every_answer(env, S.u, lambda b: len(b["items"]) == 1, "U served again after unlock")


@suite.test("a token deleted in the database is refused at once (token cache)")
def _(env):
    tmp = types.SimpleNamespace(token=env.cli_value("token", "create", "--user", S.u.email))
    every_answer(env, tmp, lambda b: len(b["items"]) == 1, "the second token works")
    env.sql("DELETE FROM tokens WHERE id = (SELECT MAX(id) FROM tokens WHERE user_id = ?)",
            (S.u.id,))
    for i in range(ROUNDS):
        expect(env.req("GET", "/mailboxes", tmp.token), 401, "unauthenticated")
    every_answer(env, S.u, lambda b: len(b["items"]) == 1, "U's first token still works")


@suite.test("R1 each caller and query has its own cached answer")
def _(env):
    for _ in range(3):
        every_answer(env, S.admin, lambda b: len(b["items"]) == 3, "admin: the org's 3")
        every_answer(env, S.u, lambda b: [m["id"] for m in b["items"]] == [S.mu["id"]],
                     "U: only U's mailbox")
        every_answer(env, S.admin, lambda b: len(b["items"]) == 1 and b["next_cursor"],
                     "admin, limit=1: one and a cursor", query="?limit=1")
        every_answer(env, S.admin, lambda b: [m["id"] for m in b["items"]] == [S.mu["id"]],
                     "admin, owner_id=U", query="?owner_id=" + S.u.id)
    expect(env.req("GET", "/mailboxes?owner_id=" + S.admin.id, S.u.token), 403, "forbidden", "R1")


@suite.test("ETag and If-None-Match: 304 without a body while unchanged, 200 after a change")
def _(env):
    h, _b = listing(env, S.admin)
    etag = h.get("etag")
    check(etag and etag.startswith('"') and etag.endswith('"'), "no strong ETag: %r" % etag)
    for i in range(ROUNDS):
        st, hdrs, text = env.req_raw("GET", "/mailboxes", S.admin.token,
                                     headers={"If-None-Match": etag})
        check(st == 304 and text == "" and hdrs.get("etag") == etag,
              "answer %d: expected 304 with the same ETag and no body, got %s %r %r"
              % (i + 1, st, hdrs.get("etag"), text[:100]))
    st, _h, _t = env.req_raw("GET", "/mailboxes", S.admin.token,
                             headers={"If-None-Match": '"0000", W/%s' % etag})
    check(st == 304, "a list with a weak form of the ETag: expected 304, got %s" % st)
    st, _h, _t = env.req_raw("GET", "/mailboxes", S.u.token, headers={"If-None-Match": etag})
    check(st == 200, "another caller's list has other bytes: expected 200, got %s" % st)
    expect(env.req("PATCH", "/mailboxes/" + S.m1["id"], S.admin.token,
                   {"sender_name": "Ada King"}), 200)
    for i in range(ROUNDS):
        st, hdrs, text = env.req_raw("GET", "/mailboxes", S.admin.token,
                                     headers={"If-None-Match": etag})
        check(st == 200 and "Ada King" in text and hdrs.get("etag") != etag,
              "answer %d after the change: expected 200 with a new ETag, got %s %r"
              % (i + 1, st, hdrs.get("etag")))


if __name__ == "__main__":
    main(suite)
