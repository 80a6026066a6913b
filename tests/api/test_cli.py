#!/usr/bin/env python3
"""test_cli.py — the command-line contract, against the same database a running server uses.

  * `--help` on the program and on every command exits 0 and says something.
  * Wrong usage (unknown command, unknown flag, missing or malformed argument) exits 2.
  * A refused operation exits 1 with a message on stderr and nothing on stdout.
  * org/user/token create print only the id or token; `--db URL` after the subcommand words
    works as well as MAILFLEET_DB; the token works against the server.
  * user list, mailbox list, request list/approve/reject, user lock/unlock act on the same data
    the API shows (R2, R10); migrate is idempotent.
Run alone: python3 tests/api/test_cli.py (TAP on stdout).
"""
import os
import re
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, err, expect, main, short  # noqa: E402

suite = Suite("cli")
S = types.SimpleNamespace()

COMMANDS = [[], ["serve"], ["migrate"], ["org", "create"], ["user", "create"], ["user", "lock"],
            ["user", "unlock"], ["user", "list"], ["token", "create"], ["mailbox", "list"],
            ["request", "list"], ["request", "approve"], ["request", "reject"], ["worker"],
            ["api"], ["outbox", "list"], ["suppression", "list"], ["suppression", "add"]]


def value_only(out):
    """stdout is exactly one token-like value and an optional newline."""
    return re.fullmatch(r"[^\s]+\n?", out) is not None


def refused(env, *args):
    rc, out, errout = env.cli(*args)
    check(rc == 1, "%s: expected exit 1, got %s (stdout %r, stderr %r)" % (" ".join(args), rc, out, errout[-300:]))
    check(out == "", "%s: refused but printed on stdout: %r" % (" ".join(args), out))
    check(errout.strip() != "", "%s: refused without a message on stderr" % " ".join(args))


def usage(env, *args):
    rc, out, errout = env.cli(*args, timeout=15)
    check(rc == 2, "%s: expected exit 2 (usage), got %s (stdout %r, stderr %r)"
          % (" ".join(args), rc, out[-200:], errout[-300:]))
    check(errout.strip() != "", "%s: usage error without a message on stderr" % " ".join(args))


@suite.test("CLI --help on the program and on every command exits 0 and prints help")
def _(env):
    bad = []
    for cmd in COMMANDS:
        rc, out, errout = env.cli(*(cmd + ["--help"]))
        if rc != 0 or not (out.strip() or errout.strip()):
            bad.append("%s --help -> rc %s, %d bytes" % (" ".join(cmd) or "mailfleet", rc, len(out + errout)))
    check(not bad, "\n".join(bad))


@suite.test("CLI wrong usage exits 2: unknown command, unknown flag, missing or bad argument")
def _(env):
    usage(env, "frobnicate")
    usage(env, "org", "frobnicate")
    usage(env, "user", "frobnicate")
    usage(env, "org", "create", "Acme", "--bogus")
    usage(env, "org", "create")
    usage(env, "org", "create", "Acme", "--mailbox-limit", "many")
    usage(env, "org", "create", "Acme", "--mailbox-limit")
    usage(env, "user", "create", "--email", "x@cli.test")
    usage(env, "user", "create", "--email", "x@cli.test", "--name", "X", "--role", "king")
    usage(env, "token", "create")
    usage(env, "request", "reject", "some-id")
    usage(env, "serve", "--no-such-flag")
    rc, _o, _e = env.cli()
    check(rc == 2, "no command at all: expected 2, got %s" % rc)


@suite.test("CLI org create prints only the id; flags are accepted")
def _(env):
    rc, out, errout = env.cli("org", "create", "Cli Corp")
    check(rc == 0 and value_only(out), "rc %s stdout %r stderr %r" % (rc, out, errout[-200:]))
    S.org = out.strip()
    rc, out, _e = env.cli("org", "create", "Cli Big", "--mailbox-limit", "3", "--allow-generic",
                          "--admin-self-approve")
    check(rc == 0 and value_only(out), "rc %s stdout %r" % (rc, out))
    S.big = out.strip()
    check(S.big != S.org, "two orgs, one id")


@suite.test("CLI user create prints only the id; token create prints only the token; it works")
def _(env):
    rc, out, errout = env.cli("user", "create", "--email", "ceo@cli.test", "--name", "Cleo Admin",
                              "--role", "admin", "--org", S.org)
    check(rc == 0 and value_only(out), "rc %s stdout %r stderr %r" % (rc, out, errout[-200:]))
    S.admin_id = out.strip()
    rc, out, errout = env.cli("token", "create", "--user", "ceo@cli.test")
    check(rc == 0 and value_only(out), "rc %s stdout %r stderr %r" % (rc, out, errout[-200:]))
    S.admin_tok = out.strip()
    u = expect(env.req("GET", "/users/%s" % S.admin_id, S.admin_tok), 200)
    check(u["email"] == "ceo@cli.test" and u["role"] == "admin" and u["org_id"] == S.org
          and u["name"] == "Cleo Admin", short(u))
    expect(env.req("GET", "/mailboxes", S.admin_tok), 200)
    S.admin = types.SimpleNamespace(id=S.admin_id, token=S.admin_tok)


@suite.test("CLI --db URL after the subcommand words works without MAILFLEET_DB")
def _(env):
    bare = env.cli_env(MAILFLEET_DB=None)
    rc, out, errout = env.cli("user", "create", "--email", "uwe@cli.test", "--name", "Uwe User",
                              "--role", "user", "--org", S.org, "--db", env.db_url, env=bare)
    check(rc == 0 and value_only(out), "rc %s stdout %r stderr %r" % (rc, out, errout[-200:]))
    S.uwe = out.strip()
    rc, out, errout = env.cli("token", "create", "--user", "uwe@cli.test", "--db", env.db_url, env=bare)
    check(rc == 0 and value_only(out), "rc %s stdout %r stderr %r" % (rc, out, errout[-200:]))
    S.uwe_tok = out.strip()
    u = expect(env.req("GET", "/users/%s" % S.uwe, S.uwe_tok), 200)
    check(u["email"] == "uwe@cli.test" and u["org_id"] == S.org, short(u))
    rc, out, _e = env.cli("org", "create", "Bare Path Org", "--db", env.db_path, env=bare)
    check(rc == 0 and value_only(out), "a bare path as --db: rc %s stdout %r" % (rc, out))


@suite.test("R3 CLI org flags take effect (--mailbox-limit 3 shows 0/3)")
def _(env):
    uid = env.cli_value("user", "create", "--email", "bea@cli.test", "--name", "Bea Big", "--role", "user",
                        "--org", S.big)
    tok = env.cli_value("token", "create", "--user", "bea@cli.test")
    c = expect(env.req("GET", "/users/%s/connections" % uid, tok), 200)
    check(c["used"] == 0 and c["available"] == 3, short(c))
    m = env.new_mailbox(types.SimpleNamespace(token=tok), uid, "sales@clibig.test")
    check(m["owner_id"] == uid, "--allow-generic lets sales@ on a personal seat: %s" % short(m))


@suite.test("CLI refused operations exit 1, message on stderr, nothing on stdout")
def _(env):
    refused(env, "user", "create", "--email", "ceo@cli.test", "--name", "Dup", "--role", "user", "--org", S.org)
    refused(env, "user", "create", "--email", "CEO@CLI.test", "--name", "Dup", "--role", "user", "--org", S.org)
    refused(env, "user", "create", "--email", "ghost@cli.test", "--name", "G", "--role", "user",
            "--org", "no-such-org")
    refused(env, "token", "create", "--user", "nobody@cli.test")
    refused(env, "user", "lock", "--email", "nobody@cli.test")
    refused(env, "request", "approve", "no-such-request")
    refused(env, "request", "reject", "no-such-request", "--reason", "x")
    rc, out, _e = env.cli("user", "create", "--email", "orgless@cli.test", "--name", "O", "--role", "user")
    check(rc in (1, 2) and out == "", "a user without --org: rc %s stdout %r" % (rc, out))
    rc, out, _e = env.cli("org", "create", "X", env=env.cli_env(MAILFLEET_DB="sqlite:/nonexistent-dir/x/y.db"))
    check(rc == 1 and out == "", "an unusable database: rc %s stdout %r" % (rc, out))


@suite.test("CLI migrate is idempotent on a migrated database")
def _(env):
    for _i in range(2):
        rc, out, errout = env.cli("migrate")
        check(rc == 0, "migrate: rc %s %s" % (rc, errout[-300:]))


@suite.test("CLI user list and mailbox list show what the API made")
def _(env):
    m = env.new_mailbox(types.SimpleNamespace(token=S.uwe_tok), S.uwe, "uwe.work@cli.test")
    S.uwe_mb = m
    rc, out, errout = env.cli("user", "list", "--org", S.org)
    check(rc == 0 and "uwe@cli.test" in out and "ceo@cli.test" in out, "user list: rc %s %r %r"
          % (rc, out[-300:], errout[-200:]))
    check("bea@cli.test" not in out, "user list --org shows another org's user")
    rc, out, errout = env.cli("mailbox", "list", "--org", S.org)
    check(rc == 0 and "uwe.work@cli.test" in out, "mailbox list: rc %s %r %r" % (rc, out[-300:], errout[-200:]))
    check(not any(s in out for s in env.secrets), "R29 mailbox list printed a password")
    rc, out, _e = env.cli("mailbox", "list")
    check(rc == 0 and "sales@clibig.test" in out and "uwe.work@cli.test" in out, "mailbox list (all): %r" % out[-300:])


@suite.test("R10 CLI request list / approve: the operator's approval completes the request")
def _(env):
    r = expect(env.req("POST", "/mailbox-requests", S.uwe_tok,
                       {"kind": "add", "address": "uwe.second@cli.test", "target_user_id": S.uwe}), 201)
    check(r["status"] == "pending", short(r))
    rc, out, _e = env.cli("request", "list")
    check(rc == 0 and r["id"] in out, "request list lacks %s: %r" % (r["id"], out[-300:]))
    rc, out, errout = env.cli("request", "approve", r["id"])
    check(rc == 0, "approve: rc %s %r" % (rc, errout[-300:]))
    g = expect(env.req("GET", "/mailbox-requests/%s" % r["id"], S.uwe_tok), 200)
    check(g["status"] == "completed" and g["mailbox_id"], short(g))
    m = expect(env.req("GET", "/mailboxes/%s" % g["mailbox_id"], S.uwe_tok), 200)
    check(m["address"] == "uwe.second@cli.test" and m["owner_id"] == S.uwe, short(m))
    refused(env, "request", "approve", r["id"])


@suite.test("R10 CLI request reject --reason stores the reason")
def _(env):
    r = expect(env.req("POST", "/mailbox-requests", S.admin.token,
                       {"kind": "add", "address": "cleo.two@cli.test", "target_user_id": S.admin.id}), 201)
    check(r["status"] == "pending", short(r))
    rc, out, errout = env.cli("request", "reject", r["id"], "--reason", "not personally identifiable")
    check(rc == 0, "reject: rc %s %r" % (rc, errout[-300:]))
    g = expect(env.req("GET", "/mailbox-requests/%s" % r["id"], S.admin.token), 200)
    check(g["status"] == "rejected" and g["reason"] == "not personally identifiable", short(g))


@suite.test("R2 CLI user lock makes the token answer 403 seat_locked; unlock restores it")
def _(env):
    rc, out, errout = env.cli("user", "lock", "--email", "uwe@cli.test")
    check(rc == 0, "lock: rc %s %r" % (rc, errout[-300:]))
    expect(env.req("GET", "/mailboxes", S.uwe_tok), 403, "seat_locked")
    u = expect(env.req("GET", "/users/%s" % S.uwe, S.admin.token), 200)
    check(u["seat"] == "locked", short(u))
    rc, out, errout = env.cli("user", "unlock", "--email", "UWE@cli.test")
    check(rc == 0, "unlock (email in other case): rc %s %r" % (rc, errout[-300:]))
    expect(env.req("GET", "/mailboxes", S.uwe_tok), 200)


@suite.test("CLI an operator created by the CLI works against the server")
def _(env):
    rc, out, _e = env.cli("user", "create", "--email", "op2@mailfleet.test", "--name", "Otto Op", "--role", "operator")
    check(rc == 0 and value_only(out), "rc %s %r" % (rc, out))
    tok = env.cli_value("token", "create", "--user", "op2@mailfleet.test")
    o = expect(env.req("POST", "/orgs", tok, {"name": "Made By Otto"}), 201)
    check(o["name"] == "Made By Otto" and o["mailbox_limit"] in (2, None), short(o))
    check(tok not in env.sql("SELECT group_concat(hash, ' ') FROM tokens")[0][0], "R29 token stored in clear")


@suite.test("R25 CLI suppression add / list, and the API refuses mail to a suppressed address")
def _(env):
    usage(env, "suppression", "add", "--email", "x@y.test")       # no --org
    usage(env, "suppression", "add", "--org", "org_x", "--email", "not-an-address")
    org = env.org("Quiet Org")
    refused(env, "suppression", "add", "--org", "org_missing", "--email", "x@y.test")
    rc, out, errout = env.cli("suppression", "add", "--org", org, "--email", " Gone@Example.TEST ")
    check(rc == 0 and out == "", "rc %s out %r err %r" % (rc, out, errout[-200:]))
    rc, out, _e = env.cli("suppression", "list", "--org", org)
    check(rc == 0 and out.startswith("gone@example.test\tmanual\t"), "list: %r" % out)
    u = env.user("quiet@example.test", "Quinn", "user", org)
    mb = env.new_mailbox(u, u.id, "quiet@example.test")
    st, body = env.req("POST", "/messages", u.token, {"from_mailbox_id": mb["id"],
                       "to": ["gone@example.test"], "subject": "hi", "text": "hello"})
    check(st == 422 and err(body).get("code") == "recipient_suppressed", "%s %s" % (st, short(body)))


@suite.test("R26 CLI outbox list shows queued mail with its state")
def _(env):
    rc, out, _e = env.cli("outbox", "list", "--status", "queued")
    check(rc == 0, "rc %s" % rc)
    usage(env, "outbox", "list", "extra-argument")


if __name__ == "__main__":
    main(suite)
