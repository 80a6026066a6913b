#!/usr/bin/env python3
"""test_invites.py — invites (R14) end to end against the real mail lab (tests/lab/: Dovecot
for IMAP, Postfix for SMTP with STARTTLS + AUTH, delivering by LMTP into Dovecot), the way an
admin and an invitee would do it:

  R14/R6  an admin invites support@ (a generic address) as a shared mailbox; the invitation
          email goes through the system mailer (MAILFLEET_SYSTEM_SMTP = the lab Postfix) and
          arrives in support@'s Maildir, with a text and an HTML part carrying the same link.
  R14     the link, taken from that email, is followed with an HTTP client: GET shows the form
          (its fields are read from the page), a POST with a wrong password shows the error and
          creates nothing; a POST with the lab's real IMAP (STARTTLS) and SMTP (STARTTLS + AUTH)
          settings connects the mailbox.
  R13     the mailbox becomes good and backfills: a message placed in support@'s INBOX before the
          invite shows up in GET /inbox (so does the invitation itself).
  R14     the inbox's owner exists as a contributor of the org (owner of the shared mailbox: the
          inviting admin); a contributor cannot get a token (CLI, API) nor a password, and a
          token slipped into the database is refused.
  R28     the admin gets the invite_accepted notification, also by email (into their Maildir).
  R14     a second use of the link is refused (410 invite_used); an expired link (its expiry
          moved into the past in the database) is refused (410 invite_expired) and creates
          nothing; resending mails a new link that works while the old one is dead.

Everything started here is stopped at the end, also on failure or SIGTERM. Needs root (the lab
scripts run Dovecot and Postfix). Run alone: python3 tests/engine/test_invites.py (TAP on
stdout); MAILFLEET_KEEP_TMP=1 keeps the folders. Python 3 standard library only.
"""
import email.policy
import hashlib
import html.parser
import http.client
import os
import re
import secrets
import signal
import sys
import time
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import harness  # noqa: E402
from harness import Suite, check, expect, short  # noqa: E402
from lab import Lab, address, message, new_passwords, run_lab_suite  # noqa: E402

suite = Suite("invites-lab")
S = types.SimpleNamespace(lab=None, env=None, passwords={})

ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
}
USERS = ["support", "ada", "pat"]


timed = suite.timed


def wait(desc, probe, timeout, interval=0.2):
    return harness.wait(desc, probe, timeout, interval)


# --- the invitee's side: email and browser -------------------------------------------------

def maildir_messages(local):
    return S.lab.messages(local, email.policy.default)


def wait_mail(local, subject_part, count=1, timeout=20):
    """-> the messages in local's Maildir whose Subject contains subject_part (at least count)."""
    def probe():
        got = [m for m in maildir_messages(local) if subject_part in str(m.get("Subject", ""))]
        return len(got) >= count, [str(m.get("Subject")) for m in maildir_messages(local)]
    wait("%d mail(s) '%s' in %s's Maildir" % (count, subject_part, local), probe, timeout)
    return [m for m in maildir_messages(local) if subject_part in str(m.get("Subject", ""))]


def parts(msg):
    """(text, html) bodies of a message."""
    text = msg.get_body(preferencelist=("plain",))
    htm = msg.get_body(preferencelist=("html",))
    return (text.get_content() if text else ""), (htm.get_content() if htm else "")


def link_in(msg):
    text, htm = parts(msg)
    pat = r"(http://127\.0\.0\.1:%d/connect/[A-Za-z0-9_-]+)" % S.env.port
    t = re.search(pat, text)
    h = re.search(r'href="%s"' % pat, htm)
    check(t and h, "no connect link in the text and HTML parts: %s | %s" % (short(text, 600),
                                                                            short(htm, 600)))
    check(t.group(1) == h.group(1), "the text and HTML links differ")
    return t.group(1)


class FormReader(html.parser.HTMLParser):
    """The named inputs and selects of a page's first form, with their current values."""

    def __init__(self):
        super().__init__()
        self.fields, self.in_form, self.select, self.forms = {}, False, None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms += 1
            self.in_form = self.forms == 1
        elif self.in_form and tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""
        elif self.in_form and tag == "select":
            self.select = a.get("name")
            self.fields.setdefault(self.select, "")
        elif self.in_form and tag == "option" and self.select:
            if "selected" in a or not self.fields[self.select]:
                self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self.select = None


def browse(method, url, form=None):
    """-> (status, body text) of a GET, or of a POST of an HTML form (urlencoded)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        body = urllib.parse.urlencode(form) if form is not None else None
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        conn.request(method, u.path, body=body, headers=hdrs)
        r = conn.getresponse()
        text = r.read().decode("utf-8", "replace")
    finally:
        conn.close()
    for s in S.env.secrets:
        if s in text:
            S.env.leaks.append((method, u.path, s))
    return r.status, text


def fill(page, imap_password, smtp_password, sender_name=""):
    """Fill the form of the connect page with the lab's real settings (STARTTLS both)."""
    reader = FormReader()
    reader.feed(page)
    f = reader.fields
    for name in ("imap_host", "imap_port", "imap_security", "imap_username", "imap_password",
                 "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_password",
                 "sender_name"):
        check(name in f, "the connect form has no field %s: %s" % (name, sorted(f)))
    S.env.secrets.update({imap_password, smtp_password})
    f.update({"imap_host": "127.0.0.1", "imap_port": str(S.lab.imap_port),
              "imap_security": "starttls", "imap_password": imap_password,
              "smtp_host": "127.0.0.1", "smtp_port": str(S.lab.smtp_port),
              "smtp_security": "starttls", "smtp_password": smtp_password,
              "sender_name": sender_name})
    return f


def count(env, sql, *args):
    return env.sql(sql, args)[0][0]


# --- tests ---------------------------------------------------------------------------------

@timed("R14 setup: organisation and admin; a message already in support@'s INBOX")
def _(env):
    S.env = env
    S.org = env.org("Lab Team Inc")
    S.admin = env.user(address("ada"), "Ada Admin", "admin", S.org)
    S.old_subject = "Where is my order %s" % secrets.token_hex(3)
    S.lab.place("support", 2, message([("From", "customer@client.test"),
                                       ("To", address("support")),
                                       ("Subject", S.old_subject),
                                       ("Message-ID", "<order.%s@client.test>" % secrets.token_hex(4)),
                                       ("Date", time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                              time.gmtime(time.time() - 2 * 86400)))],
                                      "Hello support,\nmy order has not arrived.\n"))


@timed("R14/R6 the admin invites support@ as shared; the email arrives in Dovecot with the "
       "link in its text and HTML parts")
def _(env):
    inv = expect(env.req("POST", "/invites", S.admin.token,
                         {"address": address("support"), "kind": "shared",
                          "note": "Please connect the support inbox."}), 201)
    check(inv["status"] == "pending" and inv["owner_id"] == S.admin.id, short(inv))
    S.invite = inv
    msgs = wait_mail("support", "invites you to connect " + address("support"))
    check(len(msgs) == 1, "%d invitation emails" % len(msgs))
    text, htm = parts(msgs[0])
    check("Please connect the support inbox." in text and "Lab Team Inc" in text, short(text, 800))
    S.link = link_in(msgs[0])


@timed("R14 the link opens the connect form; a wrong password shows the error and creates "
       "nothing")
def _(env):
    st, page = browse("GET", S.link)
    check(st == 200 and address("support") in page, "GET: %s %s" % (st, short(page, 400)))
    S.page = page
    bad = "Wrong-" + secrets.token_hex(6)
    st, text = browse("POST", S.link, fill(page, bad, bad))
    check(st == 422, "want 422, got %s: %s" % (st, short(text, 800)))
    check("IMAP login: failed" in text and "SMTP authentication: failed" in text,
          "the page does not show the failure: %s" % short(text, 1500))
    check(count(env, "SELECT COUNT(*) FROM mailboxes WHERE address_norm = ?", address("support")) == 0
          and count(env, "SELECT COUNT(*) FROM users WHERE role = 'contributor'") == 0,
          "a failed connection test created something")
    check(expect(env.req("GET", "/invites/%s" % S.invite["id"], S.admin.token), 200)["status"]
          == "pending", "the invite changed")


@timed("R14/R13 the real settings connect the mailbox: good, and the backfill brings the "
       "earlier message into GET /inbox")
def _(env):
    pw = S.passwords["support"]
    st, text = browse("POST", S.link, fill(S.page, pw, pw, "Support Team"))
    check(st == 201 and "is connected" in text, "want 201: %s %s" % (st, short(text, 1200)))
    inv = expect(env.req("GET", "/invites/%s" % S.invite["id"], S.admin.token), 200)
    check(inv["status"] == "accepted" and inv["mailbox_id"] and inv["contributor_id"], short(inv))
    S.mb, S.contrib = inv["mailbox_id"], inv["contributor_id"]

    def synced():
        m = expect(env.req("GET", "/mailboxes/%s" % S.mb, S.admin.token), 200)
        return m["status"] == "good" and (m.get("sync") or {}).get("backfill_done") is True, m
    m = wait("the mailbox good and backfilled", synced, 30)
    check(m["kind"] == "shared" and m["owner_id"] == S.admin.id and m["sender_name"] == "Support Team",
          short(m))

    def in_inbox():
        items = expect(env.req("GET", "/inbox?mailbox_id=%s&limit=500" % S.mb, S.admin.token),
                       200)["items"]
        subjects = [c.get("subject") for c in items]
        return S.old_subject in subjects, subjects
    subjects = wait("the earlier message in GET /inbox", in_inbox, 20)
    check(any("invites you to connect" in (s or "") for s in subjects),
          "the invitation itself was not imported: %s" % subjects)


@timed("R14 the inbox's owner is a contributor with no login and no API access")
def _(env):
    c = expect(env.req("GET", "/contributors", S.admin.token), 200)["items"]
    check(len(c) == 1 and c[0]["id"] == S.contrib and c[0]["email"] == address("support")
          and c[0]["name"] == "Support Team" and [m["id"] for m in c[0]["mailboxes"]] == [S.mb],
          "contributors: %s" % short(c))
    rc, out, errout = env.cli("token", "create", "--user", address("support"))
    check(rc == 1 and out == "", "CLI token create for a contributor: %s %r %r" % (rc, out, errout))
    rc, _o, errout = env.cli("user", "passwd", "--email", address("support"),
                             stdin="a-password-for-support\n")
    check(rc == 1, "CLI user passwd for a contributor: %s %r" % (rc, errout))
    expect(env.req("POST", "/users/%s/tokens" % S.contrib, S.admin.token), 403, "forbidden", "R14")
    tok = "mf_" + secrets.token_urlsafe(32)
    env.sql("INSERT INTO tokens (id, user_id, hash, created_at) VALUES (?, ?, ?, ?)",
            ("tok_" + secrets.token_hex(8), S.contrib,
             hashlib.blake2b(tok.encode(), digest_size=32).hexdigest(), "2026-11-26T00:00:00Z"))
    for path in ("/me", "/mailboxes/%s" % S.mb, "/inbox"):
        expect(env.req("GET", path, tok), 403, "forbidden", "R14")


@timed("R28 the inviting admin is notified (invite_accepted), in the app and by email")
def _(env):
    n = expect(env.req("GET", "/notifications", S.admin.token), 200)["items"]
    acc = [x for x in n if x["kind"] == "invite_accepted"]
    check(len(acc) == 1 and acc[0]["data"]["mailbox_id"] == S.mb, short(n))
    wait_mail("ada", "An invited mailbox was connected")


@timed("R14 a second use of the link is refused (410 invite_used) and changes nothing")
def _(env):
    st, text = browse("GET", S.link)
    check(st == 410 and "invite_used" in text, "GET: %s %s" % (st, short(text, 500)))
    pw = S.passwords["support"]
    st, text = browse("POST", S.link, fill(S.page, pw, pw))
    check(st == 410 and "invite_used" in text, "POST: %s %s" % (st, short(text, 500)))
    check(count(env, "SELECT COUNT(*) FROM mailboxes WHERE address_norm = ?", address("support")) == 1
          and count(env, "SELECT COUNT(*) FROM users WHERE role = 'contributor'") == 1,
          "a second use created something")


@timed("R14 an expired link is refused (410 invite_expired); a resend mails a new link that "
       "works, the old one is dead")
def _(env):
    inv = expect(env.req("POST", "/invites", S.admin.token,
                         {"address": address("pat"), "kind": "personal"}), 201)
    old = link_in(wait_mail("pat", "invites you to connect " + address("pat"))[0])
    env.sql("UPDATE invites SET expires_at = '2026-01-01T00:00:00Z' WHERE id = ?", (inv["id"],))
    st, text = browse("GET", old)
    check(st == 410 and "invite_expired" in text, "GET expired: %s %s" % (st, short(text, 500)))
    pw = S.passwords["pat"]
    st, text = browse("POST", old, fill(S.page.replace(address("support"), address("pat")), pw, pw))
    check(st == 410 and "invite_expired" in text, "POST expired: %s" % st)
    check(count(env, "SELECT COUNT(*) FROM mailboxes WHERE address_norm = ?", address("pat")) == 0,
          "an expired link created a mailbox")
    r = expect(env.req("POST", "/invites/%s/resend" % inv["id"], S.admin.token), 200)
    check(r["status"] == "pending" and r["sent_count"] == 2, short(r))
    mails = wait_mail("pat", "invites you to connect " + address("pat"), count=2)
    links = {link_in(m) for m in mails}
    check(len(links) == 2 and old in links, "links: %s" % links)
    new = (links - {old}).pop()
    st, _t = browse("GET", old)
    check(st == 404, "the old link still answers %s" % st)
    st, page = browse("GET", new)
    check(st == 200, "the new link: %s" % st)
    st, text = browse("POST", new, fill(page, pw, pw))
    check(st == 201, "connecting with the new link: %s %s" % (st, short(text, 800)))
    mb = expect(env.req("GET", "/invites/%s" % inv["id"], S.admin.token), 200)["mailbox_id"]

    def good():
        m = expect(env.req("GET", "/mailboxes/%s" % mb, S.admin.token), 200)
        return m["status"] == "good" and (m.get("sync") or {}).get("backfill_done") is True, m
    # (also lets the engine finish connecting before the server is stopped)
    m = wait("pat's mailbox good and backfilled", good, 30)
    check(m["kind"] == "personal" and m["owner_id"] != S.admin.id, "personal mailbox: %s" % short(m))


# --- running -------------------------------------------------------------------------------

def _setup():
    # the system mailer: the lab Postfix on loopback (plain SMTP, relay allowed from 127/8)
    os.environ["MAILFLEET_SYSTEM_SMTP"] = "smtp://127.0.0.1:%d" % S.lab.smtp_port
    os.environ["MAILFLEET_SYSTEM_FROM"] = "mailfleet@" + address("x").split("@")[1]


def main():
    return run_lab_suite('invites', suite, S, new_passwords(S.passwords, USERS),
                         ENGINE_ENV, setup=_setup)


if __name__ == "__main__":
    sys.exit(main())
