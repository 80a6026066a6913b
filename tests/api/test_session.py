#!/usr/bin/env python3
"""test_session.py — console sign-in (POST/GET/DELETE /api/v1/session) and the console's files.

  * `mailfleet user passwd EMAIL` (stdin or --password-file) sets an argon2id hash; contributors
    get none (R14).
  * Sign-in: wrong password / unknown address → 401 invalid_credentials (same answer), the
    cookie is HttpOnly, SameSite=Lax, Path=/, Secure only over TLS (X-Forwarded-Proto: https),
    the token is stored only as a hash (R29); login needs Content-Type: application/json.
  * Contributors (R14) and locked seats (R2) never sign in, even with the right password.
  * Cookie calls: GET works without the CSRF token; every state-changing call without it or
    with a wrong one is 403 csrf_failed and changes nothing; with it, it works; bearer tokens
    need no CSRF token.
  * Logout ends the session server-side; an idle session expires (session_idle_seconds = 5).
  * Failed sign-ins are throttled: login_max_failures (5) per address, then 429 even with the
    right password.
  * / and /assets/... are served from the binary with Content-Type, ETag (304 on If-None-Match),
    gzip; the first screen stays under 100 KB.
Run alone: python3 tests/api/test_session.py (TAP on stdout).
"""
import gzip
import hashlib
import os
import re
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# tiny idle timeout for the expiry test; every other test here finishes its calls quickly
os.environ["MAILFLEET_SESSION_IDLE_SECONDS"] = "5"
os.environ["MAILFLEET_LOGIN_MAX_FAILURES"] = "5"
from harness import Suite, check, expect, main, short  # noqa: E402

suite = Suite("session")
S = types.SimpleNamespace()
PW = "correct horse battery"


def login(env, email, password, headers=None, ctype="application/json"):
    """POST /session -> (status, headers, body dict or text)."""
    import json
    hdrs = {"Content-Type": ctype} if ctype else {}
    hdrs.update(headers or {})
    st, rh, text = env.req_raw("POST", "/session", raw=json.dumps({"email": email, "password": password}),
                               headers=hdrs)
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    return st, rh, body


def cookie_of(rh):
    sc = rh.get("set-cookie", "")
    m = re.match(r"mf_session=([^;]*)", sc)
    check(m, "no mf_session cookie in Set-Cookie: %r" % sc)
    return m.group(1), sc


def with_cookie(env, method, path, cookie, csrf=None, body=None):
    hdrs = {"Cookie": "mf_session=" + cookie}
    if csrf:
        hdrs["X-CSRF-Token"] = csrf
    return env.req(method, path, body=body, headers=hdrs)


def signed_in(env, email):
    st, rh, body = login(env, email, PW)
    check(st == 200, "sign-in of %s: %s %s" % (email, st, short(body)))
    return cookie_of(rh)[0], body["csrf_token"]


@suite.test("setup: an organisation, an admin and a user with console passwords (user passwd)")
def _(env):
    S.org = env.org("Acme")
    S.admin = env.user("admin@acme.test", "Ada Admin", "admin", S.org)
    S.alice = env.user("alice@acme.test", "Alice", "user", S.org)
    S.bob = env.user("bob@acme.test", "Bob", "user", S.org)
    rc, out, errout = env.cli("user", "passwd", "admin@acme.test", stdin=PW + "\n")
    check(rc == 0 and out == "", "passwd (positional, stdin): rc %s %r %r" % (rc, out, errout))
    pwfile = os.path.join(env.tmp, "pw.txt")
    with open(pwfile, "w") as f:
        f.write(PW + "\n")
    rc, _, errout = env.cli("user", "passwd", "--email", "alice@acme.test", "--password-file", pwfile)
    check(rc == 0, "passwd --password-file: rc %s %r" % (rc, errout))
    rc, _, errout = env.cli("user", "passwd", "bob@acme.test", stdin=PW + "\n")
    check(rc == 0, "passwd bob: rc %s %r" % (rc, errout))
    rc, _, errout = env.cli("user", "passwd", "bob@acme.test", stdin="short\n")
    check(rc == 1 and "8 characters" in errout, "a short password must be refused: %s %r" % (rc, errout))
    h = env.sql("SELECT password_hash FROM users WHERE email_norm = ?", ("alice@acme.test",))[0][0]
    check(h and h.startswith("$argon2id$"), "the stored hash is not argon2id: %r" % h)


@suite.test("wrong password and unknown address: the same 401 invalid_credentials, no cookie")
def _(env):
    for email, pw in (("alice@acme.test", "wrong password!"), ("nobody@acme.test", PW)):
        st, rh, body = login(env, email, pw)
        check(st == 401 and body["error"]["code"] == "invalid_credentials",
              "%s: expected 401 invalid_credentials, got %s %s" % (email, st, short(body)))
        check("set-cookie" not in rh, "a failed sign-in set a cookie: %r" % rh.get("set-cookie"))
    expect(env.req("POST", "/session", body={"email": "alice@acme.test"}), 400, "invalid_request")
    st, _, body = login(env, "alice@acme.test", PW, ctype="text/plain")
    check(st == 415, "sign-in without application/json must be refused (login CSRF): %s %s" % (st, short(body)))


@suite.test("sign-in sets an HttpOnly SameSite=Lax cookie (no Secure over plain HTTP); token stored hashed (R29)")
def _(env):
    st, rh, body = login(env, "alice@acme.test", PW)
    check(st == 200, "sign-in: %s %s" % (st, short(body)))
    token, sc = cookie_of(rh)
    flags = [f.strip().lower() for f in sc.split(";")[1:]]
    check("httponly" in flags and "samesite=lax" in flags and "path=/" in flags,
          "cookie flags: %r" % sc)
    check("secure" not in flags, "Secure over plain HTTP would drop the cookie: %r" % sc)
    check(re.fullmatch(r"[0-9a-f]{64}", body.get("csrf_token") or ""), "csrf_token: %s" % short(body))
    check(body["user"]["email"] == "alice@acme.test" and body["idle_seconds"] == 5, short(body))
    rows = env.sql("SELECT token_hash FROM sessions")
    check(rows and all(token not in r[0] for r in rows), "the session token is stored in clear")
    check(hashlib.blake2b(token.encode(), digest_size=32).hexdigest() in [r[0] for r in rows],
          "the session row holds no BLAKE2b hash of the token")
    S.alice_cookie, S.alice_csrf = token, body["csrf_token"]


@suite.test("over TLS (X-Forwarded-Proto: https) the cookie is also Secure")
def _(env):
    st, rh, body = login(env, "bob@acme.test", PW, headers={"X-Forwarded-Proto": "https"})
    check(st == 200, "sign-in: %s %s" % (st, short(body)))
    _, sc = cookie_of(rh)
    check("secure" in [f.strip().lower() for f in sc.split(";")], "no Secure flag over TLS: %r" % sc)


@suite.test("R14 a contributor never signs in, even with the right password; R2 neither does a locked seat")
def _(env):
    # contributors come from invites (another issue): make one directly in the database
    h = env.sql("SELECT password_hash FROM users WHERE email_norm = ?", ("alice@acme.test",))[0][0]
    env.sql("INSERT INTO users (id, org_id, email, email_norm, name, role, seat, password_hash, created_at) "
            "VALUES ('usr_00000000000000000000c1', ?, 'carl@partner.test', 'carl@partner.test', 'Carl', "
            "'contributor', 'active', ?, '2026-11-26T00:00:00Z')", (S.org, h))
    st, rh, body = login(env, "carl@partner.test", PW)
    check(st == 403 and body["error"]["code"] == "forbidden" and body["error"].get("rule") == "R14",
          "contributor: expected 403 forbidden R14, got %s %s" % (st, short(body)))
    check("set-cookie" not in rh, "a contributor got a cookie")
    rc, _, errout = env.cli("user", "passwd", "carl@partner.test", stdin=PW + "\n")
    check(rc == 1 and "R14" in errout, "user passwd for a contributor must be refused: %s %r" % (rc, errout))
    rc, _, errout = env.cli("user", "lock", "--email", "bob@acme.test")
    check(rc == 0, "lock bob: %r" % errout)
    st, _, body = login(env, "bob@acme.test", PW)
    check(st == 403 and body["error"]["code"] == "seat_locked", "locked seat: %s %s" % (st, short(body)))
    env.cli("user", "unlock", "--email", "bob@acme.test")


@suite.test("GET with the cookie needs no CSRF token; GET /session gives the user and the same CSRF token")
def _(env):
    # a fresh session: the idle expiry is short here, and a loaded machine may be slow
    S.alice_cookie, S.alice_csrf = signed_in(env, "alice@acme.test")
    st, body = with_cookie(env, "GET", "/me", S.alice_cookie)
    check(st == 200 and body["email"] == "alice@acme.test", "%s %s" % (st, short(body)))
    st, body = with_cookie(env, "GET", "/session", S.alice_cookie)
    check(st == 200 and body["csrf_token"] == S.alice_csrf, "GET /session: %s %s" % (st, short(body)))


@suite.test("CSRF: a state-changing cookie call without X-CSRF-Token (or a wrong one) is 403 csrf_failed and changes nothing")
def _(env):
    S.alice_cookie, S.alice_csrf = signed_in(env, "alice@acme.test")
    body = env.mailbox_body(S.alice.id, "alice@acme.test")
    for csrf in (None, "0" * 64, S.alice_csrf[:-1]):
        st, resp = with_cookie(env, "POST", "/mailboxes", S.alice_cookie, csrf=csrf, body=body)
        check(st == 403 and resp["error"]["code"] == "csrf_failed",
              "csrf %r: expected 403 csrf_failed, got %s %s" % (csrf, st, short(resp)))
    check(env.sql("SELECT COUNT(*) FROM mailboxes")[0][0] == 0, "a mailbox was made without the CSRF token")
    st, resp = with_cookie(env, "PATCH", "/users/" + S.bob.id, S.alice_cookie, body={"name": "X"})
    check(st == 403 and resp["error"]["code"] == "csrf_failed", "PATCH: %s %s" % (st, short(resp)))
    st, resp = with_cookie(env, "DELETE", "/session", S.alice_cookie)
    check(st == 403 and resp["error"]["code"] == "csrf_failed", "DELETE /session without CSRF: %s" % st)
    st, resp = with_cookie(env, "POST", "/mailboxes", S.alice_cookie, csrf=S.alice_csrf, body=body)
    check(st == 201, "with the CSRF token: expected 201, got %s %s" % (st, short(resp)))
    # bearer tokens stay as they are: no CSRF token needed
    expect(env.req("POST", "/slots", S.admin.token, {"count": 1}), 201)


@suite.test("another user's session cannot be used with the first user's CSRF token")
def _(env):
    cookie, csrf = signed_in(env, "admin@acme.test")
    st, resp = with_cookie(env, "POST", "/slots", cookie, csrf=S.alice_csrf, body={"count": 1})
    check(st == 403 and resp["error"]["code"] == "csrf_failed", "%s %s" % (st, short(resp)))
    st, resp = with_cookie(env, "POST", "/slots", cookie, csrf=csrf, body={"count": 1})
    check(st == 201, "admin with own CSRF token: %s %s" % (st, short(resp)))


@suite.test("logout (DELETE /session) ends the session server-side and clears the cookie")
def _(env):
    cookie, csrf = signed_in(env, "alice@acme.test")
    st, rh, _ = env.req_raw("DELETE", "/session", headers={"Cookie": "mf_session=" + cookie, "X-CSRF-Token": csrf})
    check(st == 204, "logout: %s" % st)
    check("max-age=0" in rh.get("set-cookie", "").lower(), "logout does not clear the cookie: %r" % rh.get("set-cookie"))
    st, resp = with_cookie(env, "GET", "/me", cookie)
    check(st == 401 and resp["error"]["code"] == "unauthenticated", "after logout: %s %s" % (st, short(resp)))


@suite.test("idle expiry: a session unused for longer than session_idle_seconds (5 s) ends; use keeps it alive")
def _(env):
    cookie, _ = signed_in(env, "alice@acme.test")
    kept, _ = signed_in(env, "admin@acme.test")
    for _ in range(5):  # 7.5 s in all, but never 5 s without a call (whole seconds are compared)
        time.sleep(1.5)
        st, resp = with_cookie(env, "GET", "/me", kept)
        check(st == 200, "a session in use expired: %s %s" % (st, short(resp)))
    st, resp = with_cookie(env, "GET", "/me", cookie)
    check(st == 401 and resp["error"].get("reason") == "session_expired",
          "expected 401 with reason session_expired, got %s %s" % (st, short(resp)))
    st, resp = with_cookie(env, "GET", "/me", cookie)
    check(st == 401, "an expired session came back: %s" % st)


@suite.test("failed sign-ins are throttled: after 5 failures the address gets 429, even with the right password")
def _(env):
    for i in range(5):
        st, _, body = login(env, "admin@acme.test", "nope-%d-wrong" % i)
        check(st == 401, "failure %d: %s %s" % (i, st, short(body)))
    st, _, body = login(env, "admin@acme.test", PW)
    check(st == 429 and body["error"]["code"] == "too_many_attempts" and body["error"].get("retry_after", 0) > 0,
          "expected 429 too_many_attempts with retry_after, got %s %s" % (st, short(body)))
    st, _, body = login(env, "alice@acme.test", PW)
    check(st == 200, "another address is not throttled: %s %s" % (st, short(body)))


@suite.test("a new password (user passwd) signs the user out everywhere")
def _(env):
    cookie, _ = signed_in(env, "alice@acme.test")
    rc, _, errout = env.cli("user", "passwd", "alice@acme.test", stdin=PW + "\n")
    check(rc == 0, errout)
    st, _ = with_cookie(env, "GET", "/me", cookie)
    check(st == 401, "the old session survived a password change: %s" % st)


@suite.test("the console is served from the binary: /, /assets/..., Content-Type, ETag and 304, gzip")
def _(env):
    st, rh, text = env.req_raw("GET", "/", base=False)
    check(st == 200 and rh.get("content-type", "").startswith("text/html") and "<title>mailfleet" in text,
          "GET /: %s %s" % (st, rh.get("content-type")))
    check("default-src 'self'" in rh.get("content-security-policy", ""), "no CSP on the page")
    etag = rh.get("etag")
    check(etag and rh.get("cache-control") == "no-cache", "ETag/Cache-Control: %r %r" % (etag, rh.get("cache-control")))
    st, _, _ = env.req_raw("GET", "/", base=False, headers={"If-None-Match": etag})
    check(st == 304, "If-None-Match with the ETag: expected 304, got %s" % st)
    st, rh, _ = env.req_raw("GET", "/assets/js/main.js", base=False)
    check(st == 200 and rh.get("content-type", "").startswith("text/javascript"), "main.js: %s %r" % (st, rh))
    st, rh, _ = env.req_raw("GET", "/assets/app.css", base=False)
    check(st == 200 and rh.get("content-type", "").startswith("text/css"), "app.css: %s %r" % (st, rh))
    st, _, _ = env.req_raw("GET", "/assets/nope.js", base=False)
    check(st == 404, "unknown asset: %s" % st)
    # gzip, read as bytes
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
    conn.request("GET", "/assets/js/main.js", headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    check(r.getheader("Content-Encoding") == "gzip" and b"refreshBell" in gzip.decompress(raw),
          "main.js with Accept-Encoding: gzip was not gzipped")


@suite.test("the first screen (page, stylesheet, the modules it loads) is under 100 KB gzipped")
def _(env):
    import http.client
    first = ["/", "/assets/app.css", "/assets/js/main.js", "/assets/js/api.js", "/assets/js/ui.js",
             "/assets/js/errors.js", "/assets/js/screens/login.js", "/assets/js/screens/mailboxes.js"]
    total = 0
    for path in first:
        conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=10)
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        r = conn.getresponse()
        total += len(r.read())
        conn.close()
        check(r.status == 200, "%s: %s" % (path, r.status))
    check(total < 100 * 1024, "the first screen is %d bytes" % total)
    sys.stdout.write("# first screen: %d bytes gzipped\n" % total)


@suite.test("`user passwd --email EMAIL` reads the new password from standard input (API.md); POST /session answers 200 {csrf_token}")
def _(env):
    new = PW + "-new"
    rc, out, errout = env.cli("user", "passwd", "--email", "bob@acme.test", stdin=new + "\n")
    check(rc == 0 and out == "", "passwd --email with stdin: rc %s %r %r" % (rc, out, errout))
    st, _, body = login(env, "bob@acme.test", PW)
    check(st == 401, "the old password still signs in: %s %s" % (st, short(body)))
    st, rh, body = login(env, "bob@acme.test", new)
    check(st == 200 and re.fullmatch(r"[0-9a-f]{64}", body.get("csrf_token") or "") and cookie_of(rh)[0],
          "sign-in with the password read from stdin: %s %s" % (st, short(body)))
    rc, _, errout = env.cli("user", "passwd", "--email", "bob@acme.test", stdin=PW + "\n")
    check(rc == 0, errout)


@suite.test("R2 locking a seat ends its console sessions at once; unlocking does not bring them back")
def _(env):
    cookie, _ = signed_in(env, "bob@acme.test")
    expect(env.req("PATCH", "/users/" + S.bob.id, S.admin.token, {"seat": "locked"}), 200)
    st, resp = with_cookie(env, "GET", "/session", cookie)
    check(st == 401 and resp["error"]["code"] == "unauthenticated", "a locked seat's session: %s %s" % (st, short(resp)))
    expect(env.req("PATCH", "/users/" + S.bob.id, S.admin.token, {"seat": "active"}), 200)
    st, resp = with_cookie(env, "GET", "/session", cookie)
    check(st == 401, "the session came back with the unlock: %s %s" % (st, short(resp)))
    signed_in(env, "bob@acme.test")


if __name__ == "__main__":
    main(suite)
