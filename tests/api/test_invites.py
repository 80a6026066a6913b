#!/usr/bin/env python3
"""test_invites.py — invites and contributors (R14) through the HTTP API, the public connect
page /connect/{token} and the command line, against a real `mailfleet serve`.

The connection test of the connect page is real: this file runs a tiny fake IMAP server
(greeting, CAPABILITY, LOGIN, LOGOUT) and a fake SMTP server (EHLO, AUTH PLAIN/LOGIN, QUIT) on
loopback that accept one password; anything else they refuse. (The lab test
tests/engine/test_invites.py does the same against real Dovecot and Postfix, with the email
really delivered.) The invite email is read from the durable outbox (system mail: no
system_smtp here, so it stays queued) — the link is taken from its text.

  R14 validation    POST /invites: address, kind, note, owner_id checked (400 naming the field,
                    422 for an owner who is not a member); ?status= checked
  R1                only admins (of the same org) invite, list, resend, revoke, and manage
                    contributors; a user gets 403, another org's admin 404, no token 401
  R6/R7             a generic address only as a shared invite (or with the contract); an address
                    already connected (409 address_in_use) or a member's login (409
                    address_is_member); a second pending invite (409 invite_pending)
  R14 email         queued once per send as system mail, text + HTML, with <public>/connect/<t>;
                    the token is in no API answer and not stored in clear
  R14 connect page  GET: a form; a wrong password: 422, the form again with what failed, nothing
                    created; a bad form: 400; JSON accept with the same rules; success: mailbox
                    (shared: owned by the inviting admin; personal: by the contributor),
                    contributor, invite accepted, the admin notified (invite_accepted), audit
  R14 states        a used link: 410 invite_used (page and JSON); revoked: 410 invite_revoked;
                    expired (expires_at moved back in the DB): 410 invite_expired, listed as
                    expired; resend: new link, old one dead (404), new email; closed invites
                    cannot be resent (409)
  R14 contributors  no token (CLI, API), no password (CLI), a token slipped into the DB is
                    refused (403); listed with their mailboxes, renamed, removed (428 without
                    confirm when they own a mailbox, R9; a shared mailbox stays with its owner)
  CLI               mailfleet invite create|list|revoke
Run alone: python3 tests/api/test_invites.py (TAP on stdout).
"""
import base64
import os
import re
import secrets
import socket
import socketserver
import sys
import threading
import time
import types
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, err, expect, expect_denied, main, short  # noqa: E402

suite = Suite("invites")
S = types.SimpleNamespace()
GOOD = "Good-" + secrets.token_hex(8)   # the password the fake servers accept
BAD = "Wrong-" + secrets.token_hex(8)


# --- fake mail servers ---------------------------------------------------------------------

class _Handler(socketserver.StreamRequestHandler):
    timeout = 20

    def send(self, line):
        self.wfile.write((line + "\r\n").encode())
        self.wfile.flush()

    def readline(self):
        line = self.rfile.readline(8192)
        if not line:
            raise EOFError
        return line.decode("utf-8", "replace").rstrip("\r\n")


class FakeImap(_Handler):
    def handle(self):
        try:
            self.send("* OK [CAPABILITY IMAP4rev1] fake IMAP ready")
            while True:
                line = self.readline()
                parts = line.split(" ", 2)
                tag, cmd = parts[0], (parts[1].upper() if len(parts) > 1 else "")
                if cmd == "CAPABILITY":
                    self.send("* CAPABILITY IMAP4rev1")
                    self.send(tag + " OK done")
                elif cmd == "LOGIN":
                    args = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', parts[2] if len(parts) > 2 else "")
                    vals = [a or b for a, b in args]
                    S.imap_logins.append(vals[0] if vals else "")
                    if len(vals) == 2 and vals[1] == GOOD:
                        self.send(tag + " OK LOGIN completed")
                    else:
                        self.send(tag + " NO [AUTHENTICATIONFAILED] Authentication failed.")
                elif cmd == "LOGOUT":
                    self.send("* BYE logging out")
                    self.send(tag + " OK LOGOUT completed")
                    return
                else:
                    self.send(tag + " BAD not in this fake")
        except (EOFError, OSError):
            return


class FakeSmtp(_Handler):
    def check_plain(self, b64):
        try:
            parts = base64.b64decode(b64).split(b"\0")
            return len(parts) == 3 and parts[2].decode() == GOOD
        except (ValueError, UnicodeDecodeError):
            return False

    def handle(self):
        try:
            self.send("220 fake.test ESMTP")
            while True:
                line = self.readline()
                up = line.upper()
                if up.startswith("EHLO") or up.startswith("HELO"):
                    self.send("250-fake.test")
                    self.send("250 AUTH PLAIN LOGIN")
                elif up.startswith("AUTH PLAIN"):
                    rest = line[10:].strip()
                    if not rest:
                        self.send("334 ")
                        rest = self.readline()
                    ok = self.check_plain(rest)
                    S.smtp_auths.append(ok)
                    self.send("235 2.7.0 Authentication successful" if ok
                              else "535 5.7.8 Authentication failed")
                elif up.startswith("AUTH LOGIN"):
                    self.send("334 VXNlcm5hbWU6")
                    self.readline()
                    self.send("334 UGFzc3dvcmQ6")
                    try:
                        ok = base64.b64decode(self.readline()).decode() == GOOD
                    except (ValueError, UnicodeDecodeError):
                        ok = False
                    S.smtp_auths.append(ok)
                    self.send("235 2.7.0 ok" if ok else "535 5.7.8 Authentication failed")
                elif up.startswith("QUIT"):
                    self.send("221 bye")
                    return
                else:
                    self.send("502 5.5.2 not in this fake")
        except (EOFError, OSError):
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def start_fake(handler):
    srv = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


# --- helpers -------------------------------------------------------------------------------

def settings(env, address, password, imap_port=None, smtp_port=None):
    env.secrets.add(password)
    imap = {"host": "127.0.0.1", "port": imap_port or S.imap.server_address[1], "security": "none",
            "username": address, "password": password}
    smtp = {"host": "127.0.0.1", "port": smtp_port or S.smtp.server_address[1], "security": "none",
            "username": address, "password": password}
    return imap, smtp


def form_body(env, address, password, sender_name=None, **override):
    imap, smtp = settings(env, address, password)
    f = {}
    for p, d in (("imap", imap), ("smtp", smtp)):
        for k, v in d.items():
            f["%s_%s" % (p, k)] = str(v)
    if sender_name:
        f["sender_name"] = sender_name
    f.update(override)
    return urllib.parse.urlencode(f)


def post_form(env, token, body):
    return env.req_raw("POST", "/connect/%s" % token, raw=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, base=False)


def invite(env, who, address, kind="shared", status=201, code=None, **extra):
    body = {"address": address, "kind": kind}
    body.update(extra)
    return expect(env.req("POST", "/invites", who.token, body), status, code)


def outbox_of(env, invite_id):
    """(raw, rcpts, kind, status) of the invite's latest email."""
    rows = env.sql("SELECT r.raw, o.rcpts, o.kind, o.status FROM outbox o JOIN invites i ON "
                   "i.outbox_id = o.id JOIN outbox_raw r ON r.outbox_id = o.id WHERE i.id = ?",
                   (invite_id,))
    check(rows, "invite %s has no email in the outbox" % invite_id)
    return rows[0]


def link_token(env, invite_id):
    raw = outbox_of(env, invite_id)[0]
    m = re.search(r"http://127\.0\.0\.1:%d/connect/([A-Za-z0-9_-]+)" % env.port, raw)
    check(m, "no connect link in the invite email: %s" % short(raw, 1500))
    return m.group(1)


def get_invite(env, who, iid):
    return expect(env.req("GET", "/invites/%s" % iid, who.token), 200)


def mailbox_count(env, address):
    return env.sql("SELECT COUNT(*) FROM mailboxes WHERE address_norm = ?", (address,))[0][0]


def user_row(env, address):
    rows = env.sql("SELECT id, role, org_id FROM users WHERE email_norm = ?", (address,))
    return rows[0] if rows else None


# --- setup ---------------------------------------------------------------------------------

@suite.test("R14 setup: orgs A and B, admins and a user; fake IMAP/SMTP servers on loopback")
def _(env):
    S.imap_logins, S.smtp_auths = [], []
    S.imap, S.smtp = start_fake(FakeImap), start_fake(FakeSmtp)
    S.org_a = env.org("Alpha Invites")
    S.org_b = env.org("Beta Invites")
    S.admin = env.user("ada@alpha.test", "Ada Admin", "admin", S.org_a)
    S.admin2 = env.user("abe@alpha.test", "Abe Admin", "admin", S.org_a)
    S.user = env.user("uma@alpha.test", "Uma User", "user", S.org_a)
    S.admin_b = env.user("bea@beta.test", "Bea Admin", "admin", S.org_b)
    S.uma_mb = env.new_mailbox(S.user, S.user.id, "uma.work@alpha.test")


# --- validation and permissions ------------------------------------------------------------

@suite.test("R14 POST /invites validates address, kind, note, owner_id (400 naming the field)")
def _(env):
    bad = [
        ({"kind": "shared"}, "address"),
        ({"address": "not an address", "kind": "shared"}, "address"),
        ({"address": 42, "kind": "shared"}, "address"),
        ({"address": "x@alpha.test"}, "kind"),
        ({"address": "x@alpha.test", "kind": "team"}, "kind"),
        ({"address": "x@alpha.test", "kind": "shared", "note": ["x"]}, "note"),
        ({"address": "x@alpha.test", "kind": "shared", "note": "n" * 1001}, "note"),
        ({"address": "x@alpha.test", "kind": "personal", "owner_id": S.admin.id}, "owner_id"),
        ({"address": "x@alpha.test", "kind": "shared", "owner_id": 7}, "owner_id"),
    ]
    checks = []
    for body, field in bad:
        def one(body=body, field=field):
            e = err(expect(env.req("POST", "/invites", S.admin.token, body), 400, "invalid_request"))
            check(e["message"].startswith(field), "message should name %s: %s" % (field, e))
        checks.append(one)
    checks.append(lambda: expect(env.req("POST", "/invites", S.admin.token, raw="{nope"), 400,
                                 "invalid_request"))
    checks.append(lambda: expect(env.req("POST", "/invites", S.admin.token,
                                         {"address": "x@alpha.test", "kind": "shared",
                                          "owner_id": S.admin_b.id}), 422, "invalid_request", "R20"))
    checks.append(lambda: expect(env.req("GET", "/invites?status=used", S.admin.token), 400,
                                 "invalid_request"))
    env.all_of(*checks)
    check(env.sql("SELECT COUNT(*) FROM invites")[0][0] == 0, "a refused invite was stored")


@suite.test("R1 only admins invite; a user gets 403, no token 401, another org 404")
def _(env):
    expect(env.req("POST", "/invites", S.user.token, {"address": "u1@alpha.test", "kind": "shared"}),
           403, "forbidden", "R1")
    expect(env.req("GET", "/invites", S.user.token), 403, "forbidden")
    expect(env.req("GET", "/contributors", S.user.token), 403, "forbidden")
    expect(env.req("POST", "/invites", None, {"address": "u1@alpha.test", "kind": "shared"}), 401,
           "unauthenticated")
    expect(env.req("POST", "/invites", S.admin.token,
                   {"address": "u1@alpha.test", "kind": "shared", "org_id": S.org_b}), 404, "not_found")


@suite.test("R6 a generic address is refused as a personal invite, allowed as a shared one")
def _(env):
    invite(env, S.admin, "info@alpha.test", "personal", 422, "generic_address_not_allowed")
    inv = invite(env, S.admin, "Info@Alpha.test", "shared", note="Please connect the info box")
    check(inv["address"] == "info@alpha.test" and inv["kind"] == "shared"
          and inv["status"] == "pending" and inv["owner_id"] == S.admin.id
          and inv["invited_by"] == S.admin.id and inv["sent_count"] == 1
          and inv["note"] == "Please connect the info box", "invite: %s" % short(inv))
    S.info = inv


@suite.test("R7/R14 an address already connected (409 address_in_use), a member's login (409 "
            "address_is_member), a second pending invite (409 invite_pending)")
def _(env):
    e = err(invite(env, S.admin, "uma.work@alpha.test", "personal", 409, "address_in_use"))
    check(e.get("rule") == "R7", short(e))
    invite(env, S.admin, "uma@alpha.test", "personal", 409, "address_is_member")
    e = err(invite(env, S.admin2, "info@alpha.test", "shared", 409, "invite_pending"))
    check(e.get("invite_id") == S.info["id"], "error.invite_id: %s" % short(e))


@suite.test("R14 the email is queued as system mail with text and HTML and the link; the token "
            "is in no answer and not stored in clear")
def _(env):
    raw, rcpts, kind, status = outbox_of(env, S.info["id"])
    check(kind == "system" and rcpts == '["info@alpha.test"]' and status == "queued",
          "outbox row: %s %s %s" % (kind, rcpts, status))
    check("text/plain" in raw and "text/html" in raw and "multipart/alternative" in raw,
          "not text + HTML: %s" % short(raw, 800))
    check("Please connect the info box" in raw and "Alpha Invites" in raw, short(raw, 1500))
    tok = link_token(env, S.info["id"])
    S.info_token = tok
    check(tok.startswith("inv_") and len(tok) >= 40, "token %r" % tok)
    stored = env.sql("SELECT * FROM invites WHERE id = ?", (S.info["id"],))[0]
    check(not any(isinstance(v, str) and tok in v for v in stored), "the token is stored in clear")
    lst = expect(env.req("GET", "/invites", S.admin.token), 200)
    one = get_invite(env, S.admin, S.info["id"])
    check(tok not in short(lst, 100000) and tok not in short(one, 100000), "the token was answered")
    check(one["email_id"] and one["expires_at"] > one["created_at"], short(one))


@suite.test("R1 another organisation's admin sees none of A's invites (404), lists none")
def _(env):
    iid = S.info["id"]
    for m, p in (("GET", "/invites/%s" % iid), ("POST", "/invites/%s/resend" % iid),
                 ("POST", "/invites/%s/revoke" % iid), ("DELETE", "/invites/%s" % iid)):
        expect(env.req(m, p, S.admin_b.token), 404, "not_found")
        expect_denied(env.req(m, p, S.user.token))
    lst = expect(env.req("GET", "/invites", S.admin_b.token), 200)
    check(lst["items"] == [], "B lists A's invites: %s" % short(lst))
    check(get_invite(env, S.admin, iid)["status"] == "pending", "changed by B")


# --- the connect page ----------------------------------------------------------------------

@suite.test("R14 GET /connect/{token}: an HTML form; an unknown token: 404 page")
def _(env):
    st, hdrs, text = env.req_raw("GET", "/connect/%s" % S.info_token, base=False)
    check(st == 200 and hdrs.get("content-type", "").startswith("text/html"), "%s %s" % (st, hdrs))
    for needle in ('name="imap_host"', 'name="imap_password"', 'name="smtp_port"',
                   'name="smtp_security"', 'name="sender_name"', "info@alpha.test", "<form"):
        check(needle in text, "the form lacks %s" % needle)
    st, _h, text = env.req_raw("GET", "/connect/inv_" + "x" * 43, base=False)
    check(st == 404 and "not valid" in text, "unknown token: %s %s" % (st, short(text, 300)))
    st, _h, _t = env.req_raw("GET", "/connect/bad.token", base=False)
    check(st == 404, "malformed token: %s" % st)


@suite.test("R14/R11 a wrong password: 422, the form again saying what failed; nothing created")
def _(env):
    st, hdrs, text = post_form(env, S.info_token, form_body(env, "info@alpha.test", BAD))
    check(st == 422, "want 422, got %s: %s" % (st, short(text, 500)))
    check("IMAP login: failed" in text and "SMTP authentication: failed" in text,
          "the page does not say what failed: %s" % short(text, 1500))
    check(BAD not in text, "the page shows the password")
    check('value="127.0.0.1"' in text, "the form lost the values entered")
    check(mailbox_count(env, "info@alpha.test") == 0 and user_row(env, "info@alpha.test") is None,
          "something was created")
    check(get_invite(env, S.admin, S.info["id"])["status"] == "pending", "the invite changed")
    check(S.imap_logins and False in S.smtp_auths, "the fake servers were not asked")


@suite.test("R14 a bad form: 400 naming the field; JSON accept: 400, 422 connection_failed")
def _(env):
    st, _h, text = post_form(env, S.info_token,
                             form_body(env, "info@alpha.test", GOOD, imap_host="", smtp_port="x"))
    check(st == 400 and "imap.host" in text, "bad form: %s %s" % (st, short(text, 800)))
    st, _h, text = post_form(env, S.info_token, "imap_host=%zz")
    check(st == 400, "bad escape: %s" % st)
    imap, smtp = settings(env, "info@alpha.test", BAD)
    e = err(expect(env.req("POST", "/invites/%s/accept" % S.info_token, None,
                           {"imap": imap, "smtp": smtp}), 422, "connection_failed"))
    check(e["imap"]["ok"] is False and e["imap"]["failure"] == "auth"
          and e["smtp"]["ok"] is False and e["smtp"]["failure"] == "auth", short(e))
    imap, smtp = settings(env, "info@alpha.test", GOOD)
    expect(env.req("POST", "/invites/%s/accept" % S.info_token, None, {"imap": imap}), 400,
           "invalid_request")
    imap["port"] = "993"
    expect(env.req("POST", "/invites/%s/accept" % S.info_token, None, {"imap": imap, "smtp": smtp}),
           400, "invalid_request")
    # a remote host with security none would carry the password in clear: refused by the test
    imap, smtp = settings(env, "info@alpha.test", GOOD)
    imap["host"] = "192.0.2.1"
    e = err(expect(env.req("POST", "/invites/%s/accept" % S.info_token, None,
                           {"imap": imap, "smtp": smtp}), 422, "connection_failed"))
    check(e["imap"]["failure"] == "settings" and e["smtp"]["ok"] is True, short(e))
    check(mailbox_count(env, "info@alpha.test") == 0, "created by a failed accept")


@suite.test("R14 success (form): the shared mailbox is created for the inviting admin, the "
            "contributor appears, the invite is accepted, the admin is notified, audited")
def _(env):
    st, _h, text = post_form(env, S.info_token,
                             form_body(env, "info@alpha.test", GOOD, sender_name="Info Desk"))
    check(st == 201 and "is connected" in text, "want 201 connected: %s %s" % (st, short(text, 800)))
    check(GOOD not in text, "password in the page")
    inv = get_invite(env, S.admin, S.info["id"])
    check(inv["status"] == "accepted" and inv["accepted_at"] and inv["mailbox_id"]
          and inv["contributor_id"], "invite: %s" % short(inv))
    S.info_mb, S.info_contrib = inv["mailbox_id"], inv["contributor_id"]
    m = expect(env.req("GET", "/mailboxes/%s" % S.info_mb, S.admin.token), 200)
    check(m["kind"] == "shared" and m["owner_id"] == S.admin.id and m["address"] == "info@alpha.test"
          and m["sender_name"] == "Info Desk" and m["status"] in ("connecting", "good", "error"),
          "mailbox: %s" % short(m))
    sealed = env.sql("SELECT imap_sealed, smtp_sealed FROM mailboxes WHERE id = ?", (S.info_mb,))[0]
    check(all(s and s.startswith("v1:") and GOOD not in s for s in sealed), "credentials not sealed")
    c = expect(env.req("GET", "/contributors", S.admin.token), 200)["items"]
    mine = [x for x in c if x["id"] == S.info_contrib]
    check(len(mine) == 1 and mine[0]["email"] == "info@alpha.test" and mine[0]["name"] == "Info Desk"
          and mine[0]["role"] == "contributor"
          and [x["id"] for x in mine[0]["mailboxes"]] == [S.info_mb], "contributors: %s" % short(c))
    u = expect(env.req("GET", "/users/%s" % S.info_contrib, S.admin.token), 200)
    check(u["role"] == "contributor", short(u))
    n = expect(env.req("GET", "/notifications", S.admin.token), 200)["items"]
    acc = [x for x in n if x["kind"] == "invite_accepted"]
    check(len(acc) == 1 and acc[0]["data"]["mailbox_id"] == S.info_mb
          and acc[0]["data"]["address"] == "info@alpha.test", "notifications: %s" % short(n))
    n2 = expect(env.req("GET", "/notifications", S.admin2.token), 200)["items"]
    check(not [x for x in n2 if x["kind"] == "invite_accepted"], "the other admin was notified")
    audit = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)["items"]
    actions = {a["action"] for a in audit}
    for want in ("invite.create", "invite.accept", "contributor.create", "mailbox.create"):
        check(want in actions, "audit lacks %s: %s" % (want, sorted(actions)))


@suite.test("R14 a used link says so (410 invite_used, page and JSON) and does nothing")
def _(env):
    st, _h, text = env.req_raw("GET", "/connect/%s" % S.info_token, base=False)
    check(st == 410 and "invite_used" in text and "already been used" in text,
          "GET: %s %s" % (st, short(text, 500)))
    st, _h, text = post_form(env, S.info_token, form_body(env, "info@alpha.test", GOOD))
    check(st == 410 and "invite_used" in text, "POST form: %s" % st)
    imap, smtp = settings(env, "info@alpha.test", GOOD)
    expect(env.req("POST", "/invites/%s/accept" % S.info_token, None, {"imap": imap, "smtp": smtp}),
           410, "invite_used", "R14")
    st, body = env.req("POST", "/connect/%s" % S.info_token, None, {"imap": imap, "smtp": smtp},
                       base=False)
    check(st == 410 and err(body).get("code") == "invite_used", "POST JSON: %s %s" % (st, short(body)))
    check(mailbox_count(env, "info@alpha.test") == 1, "a second mailbox?")
    check(env.sql("SELECT COUNT(*) FROM users WHERE role = 'contributor'")[0][0] == 1, "contributors")
    expect(env.req("POST", "/invites/%s/resend" % S.info["id"], S.admin.token), 409, "invite_used")
    expect(env.req("DELETE", "/invites/%s" % S.info["id"], S.admin.token), 409, "invite_used")


@suite.test("R14 a contributor has no login: no token (CLI, API), no password, a token in the DB "
            "is refused")
def _(env):
    rc, out, errout = env.cli("token", "create", "--user", "info@alpha.test")
    check(rc == 1 and out == "" and "contributor" in errout, "CLI token: %s %r %r" % (rc, out, errout))
    rc, out, errout = env.cli("user", "passwd", "--email", "info@alpha.test", stdin="a-long-password\n")
    check(rc == 1 and "contributor" in errout, "CLI passwd: %s %r" % (rc, errout))
    check(env.sql("SELECT password_hash FROM users WHERE id = ?", (S.info_contrib,))[0][0] is None,
          "a password was set")
    expect(env.req("POST", "/users/%s/tokens" % S.info_contrib, S.admin.token), 403, "forbidden", "R14")
    # a token that somehow exists (inserted directly) still gets no API access
    import hashlib
    tok = "mf_" + secrets.token_urlsafe(32)
    h = hashlib.blake2b(tok.encode(), digest_size=32).hexdigest()
    env.sql("INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)",
            ("tok_" + secrets.token_hex(8), S.info_contrib, h, "2026-11-26T00:00:00Z"))
    for path in ("/me", "/mailboxes", "/invites", "/inbox"):
        expect(env.req("GET", path, tok), 403, "forbidden", "R14")


# --- revoke, expiry, resend ----------------------------------------------------------------

@suite.test("R14 revoke: DELETE 204, the link answers 410 invite_revoked, cannot be resent; "
            "revoking again is a no-op")
def _(env):
    inv = invite(env, S.admin, "rita@alpha.test", "personal")
    tok = link_token(env, inv["id"])
    expect(env.req("DELETE", "/invites/%s" % inv["id"], S.admin.token), 204)
    got = get_invite(env, S.admin, inv["id"])
    check(got["status"] == "revoked" and got["revoked_at"], short(got))
    st, _h, text = env.req_raw("GET", "/connect/%s" % tok, base=False)
    check(st == 410 and "invite_revoked" in text, "GET: %s" % st)
    imap, smtp = settings(env, "rita@alpha.test", GOOD)
    expect(env.req("POST", "/invites/%s/accept" % tok, None, {"imap": imap, "smtp": smtp}), 410,
           "invite_revoked")
    expect(env.req("POST", "/invites/%s/resend" % inv["id"], S.admin.token), 409, "invite_revoked")
    expect(env.req("DELETE", "/invites/%s" % inv["id"], S.admin.token), 204)
    r = expect(env.req("POST", "/invites/%s/revoke" % inv["id"], S.admin.token), 200)
    check(r["status"] == "revoked", short(r))
    check(mailbox_count(env, "rita@alpha.test") == 0 and user_row(env, "rita@alpha.test") is None,
          "a revoked link created something")
    # a revoked invite does not block a new one
    S.rita2 = invite(env, S.admin, "rita@alpha.test", "personal")


@suite.test("R14 expired: 410 invite_expired, listed as expired; resend makes a new link (the "
            "old one is dead), a new email, a new expiry")
def _(env):
    inv = invite(env, S.admin, "eve@alpha.test", "personal")
    old = link_token(env, inv["id"])
    env.sql("UPDATE invites SET expires_at = '2026-01-01T00:00:00Z' WHERE id = ?", (inv["id"],))
    check(get_invite(env, S.admin, inv["id"])["status"] == "expired", "not expired")
    ex = expect(env.req("GET", "/invites?status=expired", S.admin.token), 200)["items"]
    pend = expect(env.req("GET", "/invites?status=pending", S.admin.token), 200)["items"]
    check(inv["id"] in [x["id"] for x in ex] and inv["id"] not in [x["id"] for x in pend],
          "status filter: expired %s pending %s" % (short(ex), short(pend)))
    st, _h, text = env.req_raw("GET", "/connect/%s" % old, base=False)
    check(st == 410 and "invite_expired" in text, "GET: %s" % st)
    st, _h, text = post_form(env, old, form_body(env, "eve@alpha.test", GOOD))
    check(st == 410 and "invite_expired" in text, "POST: %s" % st)
    check(mailbox_count(env, "eve@alpha.test") == 0, "an expired link created a mailbox")
    # an expired invite does not block a new one either, but it can simply be resent
    r = expect(env.req("POST", "/invites/%s/resend" % inv["id"], S.admin.token), 200)
    check(r["status"] == "pending" and r["sent_count"] == 2 and r["expires_at"] > "2026-11-26",
          "resend: %s" % short(r))
    check(env.sql("SELECT COUNT(*) FROM outbox WHERE rcpts = ?", ('["eve@alpha.test"]',))[0][0] == 2,
          "no second email")
    new = link_token(env, inv["id"])
    check(new != old, "the same link was sent again")
    st, _h, _t = env.req_raw("GET", "/connect/%s" % old, base=False)
    check(st == 404, "the old link still works: %s" % st)
    st, _h, _t = env.req_raw("GET", "/connect/%s" % new, base=False)
    check(st == 200, "the new link: %s" % st)
    S.eve, S.eve_token = inv, new


@suite.test("R14 a personal invite: the mailbox belongs to the contributor (JSON accept, 201)")
def _(env):
    imap, smtp = settings(env, "eve@alpha.test", GOOD)
    r = expect(env.req("POST", "/invites/%s/accept" % S.eve_token, None,
                       {"imap": imap, "smtp": smtp}), 201)
    check(r["kind"] == "personal" and r["owner_id"] == r["contributor_id"]
          and r["status"] == "connecting" and r["mailbox_id"], short(r))
    S.eve_mb, S.eve_contrib = r["mailbox_id"], r["contributor_id"]
    c = expect(env.req("GET", "/contributors/%s" % S.eve_contrib, S.admin.token), 200)
    check(c["name"] == "eve" and [m["id"] for m in c["mailboxes"]] == [S.eve_mb], short(c))


@suite.test("R14 contributors: rename (PATCH), 404 across orgs, 403 for users, 400 bad name")
def _(env):
    c = expect(env.req("PATCH", "/contributors/%s" % S.eve_contrib, S.admin.token,
                       {"name": "Eve Outside"}), 200)
    check(c["name"] == "Eve Outside", short(c))
    expect(env.req("PATCH", "/contributors/%s" % S.eve_contrib, S.admin.token, {"name": ""}), 400,
           "invalid_request")
    expect(env.req("PATCH", "/contributors/%s" % S.eve_contrib, S.admin.token, {}), 400,
           "invalid_request")
    expect(env.req("PATCH", "/contributors/%s" % S.eve_contrib, S.admin_b.token, {"name": "X"}), 404,
           "not_found")
    expect(env.req("DELETE", "/contributors/%s" % S.eve_contrib, S.admin_b.token), 404, "not_found")
    expect_denied(env.req("PATCH", "/contributors/%s" % S.eve_contrib, S.user.token, {"name": "X"}))
    expect(env.req("GET", "/contributors/%s" % S.admin.id, S.admin.token), 404, "not_found")
    lst = expect(env.req("GET", "/contributors", S.admin_b.token), 200)["items"]
    check(lst == [], "B sees A's contributors: %s" % short(lst))


@suite.test("R14/R9 removing a contributor: 428 while they own a mailbox, confirm deletes it; "
            "a shared mailbox stays with its owner")
def _(env):
    e = err(expect(env.req("DELETE", "/contributors/%s" % S.eve_contrib, S.admin.token), 428,
                   "confirmation_required"))
    check(e.get("rule") == "R9" and "eve@alpha.test" in e["message"], short(e))
    expect(env.req("DELETE", "/contributors/%s?confirm=true" % S.eve_contrib, S.admin.token), 204)
    check(mailbox_count(env, "eve@alpha.test") == 0 and user_row(env, "eve@alpha.test") is None,
          "eve's mailbox or user remains")
    expect(env.req("DELETE", "/contributors/%s" % S.info_contrib, S.admin.token), 204)
    m = expect(env.req("GET", "/mailboxes/%s" % S.info_mb, S.admin.token), 200)
    check(m["owner_id"] == S.admin.id, "the shared mailbox moved: %s" % short(m))
    inv = get_invite(env, S.admin, S.info["id"])
    check(inv["contributor_id"] is None and inv["mailbox_id"] == S.info_mb, short(inv))
    audit = expect(env.req("GET", "/audit-log?limit=500", S.admin.token), 200)["items"]
    check(sum(1 for a in audit if a["action"] == "contributor.delete") == 2, "audit")
    check({"invite.revoke", "invite.resend", "contributor.update"} <= {a["action"] for a in audit},
          "audit lacks admin actions")


@suite.test("CLI mailfleet invite create|list|revoke (an operator names the org and owner)")
def _(env):
    rc, out, errout = env.cli("invite", "create", "--org", S.org_a, "--email", "sales@alpha.test",
                              "--kind", "shared")
    check(rc == 1 and "owner_id" in errout, "shared without --owner: %s %r" % (rc, errout))
    iid = env.cli_value("invite", "create", "--org", S.org_a, "--email", "sales@alpha.test",
                        "--kind", "shared", "--owner", S.admin2.id, "--note", "from the CLI")
    inv = get_invite(env, S.admin, iid)
    check(inv["owner_id"] == S.admin2.id and inv["invited_by"] is None and inv["note"] == "from the CLI",
          short(inv))
    rc, out, _e = env.cli("invite", "list", "--org", S.org_a, "--status", "pending")
    check(rc == 0 and iid in out and "sales@alpha.test" in out, "list: %r" % out)
    rc, out, errout = env.cli("invite", "revoke", iid)
    check(rc == 0 and out == "", "revoke: %s %r %r" % (rc, out, errout))
    check(get_invite(env, S.admin, iid)["status"] == "revoked", "not revoked")
    rc, _o, _e = env.cli("invite", "create", "--email", "x@alpha.test")
    check(rc == 2, "usage: %s" % rc)
    rc, out, _e = env.cli("invite", "--help")
    check(rc == 0 and "invite create" in out, "help")


if __name__ == "__main__":
    main(suite)
