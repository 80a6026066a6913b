#!/usr/bin/env python3
"""test_login_invites.py — console passwords set through an emailed invite (issue 6 point 2)
and the org directory, through the HTTP API, the public page /welcome/{token} and the command
line, against a real `mailfleet serve`. The invite email is read from the durable outbox
(system mail: no system_smtp here, so it stays queued); the link is taken from its text.

  R1     only an admin of the member's org (or an operator) sends a login invite: a user gets
         403, another org's admin 404, no token 401
  R14/R2 contributors (422 contributor_no_login) and locked seats (409 seat_locked) get none;
         an operator's own account neither (422)
  email  one system mail per invite, text + HTML, with <public>/welcome/<token>; the answer is
         {id, user_id, expires_at}; the token is stored hashed only and is in no answer or log
  page   GET /welcome/{t}: a form; a short password or two different ones: 400, nothing set;
         success: 303 to /, the password works on POST /session, old sessions end; the link
         again: 410 invite_used (page and JSON)
  states a new invite revokes the older link (410 invite_revoked); an expired one (expires_at
         moved back in the DB) answers 410 invite_expired and changes nothing; unknown: 404
  JSON   POST /login-invites/{t}/accept {password} → 200; POST /users {send_login_invite} makes
         the member and the invite together
  R27    login_invite.create, login_invite.accept and user.passwd are in the audit log
  CLI    mailfleet user invite --email prints the link (stdout only) and mails it
  dir    GET /directory: active users/admins of the caller's org, {id, name, email} only; 403
         for another org
Run alone: python3 tests/api/test_login_invites.py (TAP on stdout).
"""
import json
import os
import re
import secrets
import sys
import types
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, expect_denied, main, short  # noqa: E402

suite = Suite("login-invites")
S = types.SimpleNamespace()
TOKEN_RE = r"wel_[A-Za-z0-9_-]{43}"


def send_invite(env, who, user_id, status=201, code=None):
    return expect(env.req("POST", "/users/%s/login-invite" % user_id, who.token), status, code)


def mail_of(env, invite_id):
    """(raw, rcpts, kind) of a login invite's email."""
    rows = env.sql("SELECT r.raw, o.rcpts, o.kind FROM outbox o JOIN login_invites i ON "
                   "i.outbox_id = o.id JOIN outbox_raw r ON r.outbox_id = o.id WHERE i.id = ?",
                   (invite_id,))
    check(rows, "login invite %s has no email in the outbox" % invite_id)
    return rows[0]


def token_of(env, invite_id):
    raw = mail_of(env, invite_id)[0]
    m = re.search(r"http://127\.0\.0\.1:%d/welcome/(%s)" % (env.port, TOKEN_RE), raw)
    check(m, "no welcome link in the email: %s" % short(raw, 1500))
    env.secrets.add(m.group(1))  # a token must never come back in an answer
    return m.group(1)


def page(env, method, token, form=None, ctype="application/x-www-form-urlencoded"):
    raw = urllib.parse.urlencode(form) if form is not None else None
    hdrs = {"Content-Type": ctype} if raw is not None else None
    return env.req_raw(method, "/welcome/" + token, raw=raw, headers=hdrs, base=False)


def login(env, email, password):
    st, rh, text = env.req_raw("POST", "/session", raw=json.dumps({"email": email, "password": password}))
    return st, rh, text


def new_password():
    pw = "Pw-" + secrets.token_hex(8)
    env_secrets.append(pw)
    return pw


env_secrets = []


def audit_actions(env, user_id):
    return [r[0] for r in env.sql("SELECT action FROM audit_log WHERE target_id = ? ORDER BY id", (user_id,))]


@suite.test("setup: orgs A and B, an admin and users in A (one locked, one contributor), an admin in B")
def _(env):
    S.org_a = env.org("Alpha Logins")
    S.org_b = env.org("Beta Logins")
    S.admin = env.user("ada@alpha.test", "Ada Admin", "admin", S.org_a)
    S.user = env.user("uma@alpha.test", "Uma User", "user", S.org_a)
    S.locked = env.user("lou@alpha.test", "Lou Locked", "user", S.org_a)
    rc, _, errout = env.cli("user", "lock", "--email", "lou@alpha.test")
    check(rc == 0, "lock: %s" % errout)
    S.admin_b = env.user("bea@beta.test", "Bea Admin", "admin", S.org_b)
    S.contrib_id = "usr_" + secrets.token_hex(8)
    env.insert_row("users", {"id": S.contrib_id, "org_id": S.org_a, "email": "info@alpha.test",
                             "email_norm": "info@alpha.test", "name": "Info", "role": "contributor"})


@suite.test("R1: a user 403, another org's admin 404, no token 401; nothing is queued")
def _(env):
    send_invite(env, S.user, S.user.id, 403, "forbidden")
    expect_denied(env.req("POST", "/users/%s/login-invite" % S.user.id, S.admin_b.token), (404,))
    st, _ = env.req("POST", "/users/%s/login-invite" % S.user.id)
    check(st == 401, "no token: %s" % st)
    n = env.sql("SELECT COUNT(*) FROM login_invites")[0][0]
    check(n == 0, "%d login invites after refusals" % n)


@suite.test("R14/R2: contributors 422 contributor_no_login, locked seats 409 seat_locked, operators 422")
def _(env):
    send_invite(env, S.admin, S.contrib_id, 422, "contributor_no_login")
    send_invite(env, S.admin, S.locked.id, 409, "seat_locked")
    send_invite(env, env.op, env.op.id, 422, "invalid_request")
    n = env.sql("SELECT COUNT(*) FROM login_invites")[0][0]
    check(n == 0, "%d login invites after refusals" % n)


@suite.test("an admin sends a login invite: 201 {id, user_id, expires_at}; one system email, text + HTML, with the link")
def _(env):
    inv = send_invite(env, S.admin, S.user.id)
    check(sorted(inv) == ["expires_at", "id", "user_id"] and inv["user_id"] == S.user.id,
          "answer: %s" % short(inv))
    check(inv["expires_at"] > "2026-11-26", "expires_at: %s" % inv["expires_at"])
    raw, rcpts, kind = mail_of(env, inv["id"])
    check(kind == "system" and json.loads(rcpts) == ["uma@alpha.test"], "outbox: %s %s" % (kind, rcpts))
    check("multipart/alternative" in raw and "text/html" in raw and "text/plain" in raw,
          "not text + HTML: %s" % short(raw, 800))
    check(re.search(r"^Subject: .*set your password", raw, re.M | re.I), "subject: %s" % short(raw, 600))
    S.tok1 = token_of(env, inv["id"])
    S.inv1 = inv["id"]
    row = env.sql("SELECT token_hash, status FROM login_invites WHERE id = ?", (inv["id"],))[0]
    check(row[1] == "pending" and S.tok1 not in row[0] and re.fullmatch(r"[0-9a-f]{64}", row[0]),
          "stored: %s" % (row,))


@suite.test("a second invite for the same member revokes the first link (410 invite_revoked)")
def _(env):
    inv = send_invite(env, S.admin, S.user.id)
    S.tok2 = token_of(env, inv["id"])
    check(S.tok2 != S.tok1, "the same token twice")
    st, _, text = page(env, "GET", S.tok1)
    check(st == 410 and "invite_revoked" in text, "old link: %s %s" % (st, short(text)))
    st, body = env.req("POST", "/login-invites/%s/accept" % S.tok1, body={"password": "long enough pw"})
    check(st == 410 and body["error"]["code"] == "invite_revoked", "JSON old link: %s %s" % (st, short(body)))
    check(env.sql("SELECT status FROM login_invites WHERE id = ?", (S.inv1,))[0][0] == "revoked", "not revoked")


@suite.test("GET /welcome/{t}: the form names the member; bad passwords are refused with 400 and nothing is set")
def _(env):
    st, rh, text = page(env, "GET", S.tok2)
    check(st == 200 and "text/html" in rh.get("content-type", ""), "page: %s %s" % (st, short(text)))
    check("uma@alpha.test" in text and 'name="password"' in text and 'name="confirm"' in text
          and "Alpha Logins" in text, "form: %s" % short(text, 1500))
    st, _, text = page(env, "POST", S.tok2, {"password": "short", "confirm": "short"})
    check(st == 400 and "at least 8 characters" in text, "short: %s %s" % (st, short(text)))
    st, _, text = page(env, "POST", S.tok2, {"password": "long enough one", "confirm": "long enough two"})
    check(st == 400 and "differ" in text, "mismatch: %s %s" % (st, short(text)))
    st, body = env.req("POST", "/login-invites/%s/accept" % S.tok2, body={"password": "short"})
    check(st == 400 and body["error"]["code"] == "invalid_request" and "password" in body["error"]["message"],
          "JSON short: %s %s" % (st, short(body)))
    h = env.sql("SELECT password_hash FROM users WHERE id = ?", (S.user.id,))[0][0]
    check(not h, "a password was set by a refused form")
    check(env.sql("SELECT status FROM login_invites WHERE token_hash IS NOT NULL AND user_id = ? "
                  "AND status = 'pending'", (S.user.id,)), "the link was used up by a refusal")


@suite.test("the form sets the password: 303 to /, POST /session works with it; the link again: 410 invite_used")
def _(env):
    S.pw_uma = new_password()
    env.secrets.add(S.pw_uma)
    st, rh, text = page(env, "POST", S.tok2, {"password": S.pw_uma, "confirm": S.pw_uma})
    check(st == 303 and rh.get("location") == "/", "set: %s %s %s" % (st, rh.get("location"), short(text)))
    h = env.sql("SELECT password_hash FROM users WHERE id = ?", (S.user.id,))[0][0]
    check(h and h.startswith("$argon2id$"), "hash: %r" % h)
    st, rh, text = login(env, "uma@alpha.test", S.pw_uma)
    check(st == 200 and "mf_session=" in rh.get("set-cookie", ""), "sign-in: %s %s" % (st, short(text)))
    S.uma_cookie = re.match(r"mf_session=([^;]*)", rh["set-cookie"]).group(1)
    for method, form in (("GET", None), ("POST", {"password": "another pw!", "confirm": "another pw!"})):
        st, _, text = page(env, method, S.tok2, form)
        check(st == 410 and "invite_used" in text and "already been used" in text, "%s again: %s %s" % (method, st, short(text)))
    st, body = env.req("POST", "/login-invites/%s/accept" % S.tok2, body={"password": "another pw!"})
    check(st == 410 and body["error"]["code"] == "invite_used", "JSON again: %s %s" % (st, short(body)))
    st, _, _ = login(env, "uma@alpha.test", S.pw_uma)
    check(st == 200, "a used link changed the password")


@suite.test("the JSON route sets a new password through a new link (200) and ends the old sessions")
def _(env):
    inv = send_invite(env, S.admin, S.user.id)
    tok = token_of(env, inv["id"])
    pw = new_password()
    env.secrets.add(pw)
    st, body = env.req("POST", "/login-invites/%s/accept" % tok, body={"password": pw})
    check(st == 200 and body["user_id"] == S.user.id and body["sign_in"] == "/", "accept: %s %s" % (st, short(body)))
    st, _, _ = env.req_raw("GET", "/session", headers={"Cookie": "mf_session=" + S.uma_cookie})
    check(st == 401, "the session of the old password still works: %s" % st)
    check(login(env, "uma@alpha.test", S.pw_uma)[0] == 401, "the old password still works")
    check(login(env, "uma@alpha.test", pw)[0] == 200, "the new password does not work")
    S.pw_uma = pw


@suite.test("an expired link (expires_at moved back): 410 invite_expired, page and JSON, nothing changes; unknown: 404")
def _(env):
    inv = send_invite(env, S.admin, S.user.id)
    tok = token_of(env, inv["id"])
    env.sql("UPDATE login_invites SET expires_at = '2026-01-01T00:00:00Z' WHERE id = ?", (inv["id"],))
    st, _, text = page(env, "GET", tok)
    check(st == 410 and "invite_expired" in text and "expired" in text, "GET: %s %s" % (st, short(text)))
    st, _, text = page(env, "POST", tok, {"password": "expired pw 1", "confirm": "expired pw 1"})
    check(st == 410 and "invite_expired" in text, "POST: %s %s" % (st, short(text)))
    st, body = env.req("POST", "/login-invites/%s/accept" % tok, body={"password": "expired pw 1"})
    check(st == 410 and body["error"]["code"] == "invite_expired", "JSON: %s %s" % (st, short(body)))
    check(login(env, "uma@alpha.test", S.pw_uma)[0] == 200, "an expired link changed the password")
    bogus = "wel_" + "A" * 43
    st, _, text = page(env, "GET", bogus)
    check(st == 404 and "not valid" in text, "unknown page: %s %s" % (st, short(text)))
    st, body = env.req("POST", "/login-invites/%s/accept" % bogus, body={"password": "whatever 123"})
    check(st == 404 and body["error"]["code"] == "not_found", "unknown JSON: %s %s" % (st, short(body)))


@suite.test("POST /users with send_login_invite: the member and the emailed link in one go; the answer has no token")
def _(env):
    st, body = env.req("POST", "/users", S.admin.token, {"email": "nia@alpha.test", "name": "Nia New",
                                                          "role": "user", "send_login_invite": "yes"})
    check(st == 400 and "send_login_invite" in body["error"]["message"], "bad flag: %s %s" % (st, short(body)))
    u = expect(env.req("POST", "/users", S.admin.token, {"email": "nia@alpha.test", "name": "Nia New",
                                                          "role": "user", "send_login_invite": True}), 201)
    li = u.get("login_invite") or {}
    check(u["email"] == "nia@alpha.test" and li.get("user_id") == u["id"] and sorted(li) == ["expires_at", "id", "user_id"],
          "answer: %s" % short(u))
    tok = token_of(env, li["id"])
    pw = new_password()
    env.secrets.add(pw)
    st, rh, _ = page(env, "POST", tok, {"password": pw, "confirm": pw})
    check(st == 303, "set: %s" % st)
    check(login(env, "nia@alpha.test", pw)[0] == 200, "Nia cannot sign in")
    plain = expect(env.req("POST", "/users", S.admin.token, {"email": "otto@alpha.test", "name": "Otto", "role": "user"}), 201)
    check("login_invite" not in plain, "POST /users without the flag: %s" % short(plain))
    check(env.sql("SELECT COUNT(*) FROM login_invites WHERE user_id = ?", (plain["id"],))[0][0] == 0, "invite without the flag")
    S.nia = u["id"]


@suite.test("R27: the audit log has login_invite.create, login_invite.accept and user.passwd (actor: the member)")
def _(env):
    acts = audit_actions(env, S.user.id)
    check(acts.count("login_invite.create") == 4 and acts.count("login_invite.accept") == 2 and
          acts.count("user.passwd") == 2, "actions: %s" % acts)
    rows = env.sql("SELECT actor_id, detail FROM audit_log WHERE action = 'login_invite.accept' AND target_id = ?", (S.nia,))
    check(rows and rows[0][0] == S.nia, "accept audit: %s" % (rows,))
    acts = audit_actions(env, S.nia)
    check(acts[:2] == ["user.create", "login_invite.create"], "Nia: %s" % acts)


@suite.test("operators invite in any org; CLI `user invite --email` prints the link (stdout only) and mails it")
def _(env):
    inv = send_invite(env, env.op, S.admin_b.id)
    check(inv["user_id"] == S.admin_b.id, short(inv))
    rc, out, errout = env.cli("user", "invite", "--email", "bea@beta.test")
    check(rc == 0, "CLI: %s %r" % (rc, errout))
    m = re.fullmatch(r"(http://127\.0\.0\.1:8025/welcome/(%s))\n" % TOKEN_RE, out)
    check(m, "stdout: %r" % out)
    check(m.group(2) not in errout, "the link went to stderr too")
    env.secrets.add(m.group(2))
    # the CLI's link is the one in the email, and the API's invite before it was revoked
    raw = env.sql("SELECT r.raw FROM login_invites i JOIN outbox_raw r ON r.outbox_id = i.outbox_id "
                  "WHERE i.user_id = ? AND i.status = 'pending'", (S.admin_b.id,))
    check(len(raw) == 1 and m.group(2) in raw[0][0].replace("=\r\n", "").replace("=\n", ""), "pending mails: %d" % len(raw))
    pw = new_password()
    env.secrets.add(pw)
    st, body = env.req("POST", "/login-invites/%s/accept" % m.group(2), body={"password": pw})
    check(st == 200, "accept: %s %s" % (st, short(body)))
    check(login(env, "bea@beta.test", pw)[0] == 200, "Bea cannot sign in")
    rc, _, errout = env.cli("user", "invite", "--email", "info@alpha.test")
    check(rc != 0 and "contributor" in errout, "CLI contributor: %s %r" % (rc, errout))
    rc, _, errout = env.cli("user", "passwd", "--email", "uma@alpha.test", stdin="short\n")
    check(rc == 1 and "8 characters" in errout, "CLI short password: %s %r" % (rc, errout))


@suite.test("directory: a user sees the active users and admins of their org, {id, name, email} only; 403 for another org")
def _(env):
    items = expect(env.req("GET", "/directory", S.user.token), 200)["items"]
    emails = sorted(x["email"] for x in items)
    check(emails == ["ada@alpha.test", "nia@alpha.test", "otto@alpha.test", "uma@alpha.test"],
          "directory: %s" % emails)
    check(all(sorted(x) == ["email", "id", "name"] for x in items), "keys: %s" % short(items))
    expect(env.req("GET", "/directory?org_id=%s" % S.org_b, S.user.token), 403, "forbidden")
    expect(env.req("GET", "/directory?org_id=%s" % S.org_a, S.admin_b.token), 403, "forbidden")
    b = expect(env.req("GET", "/directory", S.admin_b.token), 200)["items"]
    check([x["email"] for x in b] == ["bea@beta.test"], "org B: %s" % short(b))
    expect(env.req("GET", "/directory", env.op.token), 400, "invalid_request")
    o = expect(env.req("GET", "/directory?org_id=%s" % S.org_b, env.op.token), 200)["items"]
    check(len(o) == 1, "operator: %s" % short(o))
    st, _ = env.req("GET", "/directory")
    check(st == 401, "no token: %s" % st)


@suite.test("no link token and no password in the server log")
def _(env):
    log = env.log_tail(10 ** 7)
    leaked = [s for s in env.secrets | set(env_secrets) if s in log]
    check(not leaked and not re.search(TOKEN_RE, log), "leaked into the log: %s" % leaked[:3])


if __name__ == "__main__":
    main(suite)
