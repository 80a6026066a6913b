#!/usr/bin/env python3
"""test_log_redaction.py — link tokens never reach the log, even at log_level debug (R29).

The debug log has a line per request ("GET /path -> status"). The paths of the public links
carry their token, which is the credential of the link: mailbox invites (/connect/{token},
POST /api/v1/invites/{token}/accept), login invites (/welcome/{token},
POST /api/v1/login-invites/{token}/accept) and unsubscribe links (/u/{token}). Those segments
are written as "***"; other paths (ids are not secrets) are logged as they are.
Run alone: python3 tests/api/test_log_redaction.py (TAP on stdout).
"""
import os
import secrets
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, main  # noqa: E402

suite = Suite("log-redaction")
S = types.SimpleNamespace()


def log_text(env):
    with open(env.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


@suite.test("setup: an organisation with an admin")
def _(env):
    S.org = env.org("Log Co")
    S.admin = env.user("ada@log.test", "Ada Admin", "admin", S.org)


@suite.test("R29 the token of every public link is written as *** in the debug request log")
def _(env):
    links = [("GET", "/connect/%s", False), ("POST", "/connect/%s", False),
             ("GET", "/welcome/%s", False), ("POST", "/welcome/%s", False),
             ("GET", "/u/%s", False), ("POST", "/u/%s", False),
             ("POST", "/api/v1/invites/%s/accept", True),
             ("POST", "/api/v1/login-invites/%s/accept", True)]
    tokens = []
    for method, path, api in links:
        tok = secrets.token_urlsafe(24)
        tokens.append(tok)
        body = {} if api else None
        env.req_raw(method, path % tok, None, body, None, None, False)
    text = log_text(env)
    for tok in tokens:
        check(tok not in text, "a link token is in the log")
    for method, path, _api in links:
        want = "%s %s -> " % (method, path % "***")
        check(want in text, "no line %r in the log" % want)


@suite.test("other paths are logged as they are (the debug log stays useful)")
def _(env):
    expect(env.req("GET", "/mailboxes?limit=5", S.admin.token), 200)
    expect(env.req("GET", "/users/%s" % S.admin.id, S.admin.token), 200)
    text = log_text(env)
    check("GET /api/v1/mailboxes -> 200" in text, "GET /api/v1/mailboxes missing from the log")
    check("GET /api/v1/users/%s -> 200" % S.admin.id in text, "the user's path is not logged as is")


if __name__ == "__main__":
    os.environ["MAILFLEET_LOG_LEVEL"] = "debug"
    main(suite)
