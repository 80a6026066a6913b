#!/usr/bin/env python3
"""test_webhook_targets.py — webhooks do not reach the server's own network by default.

With the default configuration (webhook_allow_private off):
  * POST/PATCH /webhooks refuse URLs written with a loopback, private, link-local or other
    internal address (IPv4 in every form a resolver accepts, IPv6, IPv4-mapped IPv6) or
    "localhost": 400 invalid_request naming the url; a public address or name is accepted.
  * A name that resolves to such an address (this machine's host name) is accepted when
    registered and judged at delivery: the attempt is not sent, the delivery's last_error
    says why, and the receiver listening there gets nothing.
The webhook tests (tests/api/test_webhooks.py, tests/engine/test_webhooks.py) run their
receivers on loopback with MAILFLEET_WEBHOOK_ALLOW_PRIVATE=1, which is the other half.
Run alone: python3 tests/api/test_webhook_targets.py (TAP on stdout).
"""
import ipaddress
import os
import socket
import sys
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, main, short  # noqa: E402
from webhook_receiver import Receiver  # noqa: E402

suite = Suite("webhook-targets")
S = types.SimpleNamespace(recv=None)
EV = ["mailbox.status"]


def internal_name():
    """This machine's host name when it resolves only to internal addresses, else None."""
    name = socket.gethostname()
    try:
        addrs = {a[4][0] for a in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}
    except OSError:
        return None
    ok = addrs and all(ipaddress.ip_address(a.split("%")[0]).is_private or
                       ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)
    return name if ok else None


@suite.test("setup: an organisation with an admin, a receiver on loopback")
def _(env):
    S.org = env.org("Guard Co")
    S.admin = env.user("ada@guard.test", "Ada Admin", "admin", S.org)
    S.user = env.user("uli@guard.test", "Uli User", "user", S.org)
    S.recv = Receiver()


@suite.test("internal addresses in the URL are refused with 400 naming the url (every form)")
def _(env):
    port = S.recv.url("/x").split(":")[2].split("/")[0]
    for host in ["127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "10.1.2.3", "172.20.0.5",
                 "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "[::1]", "[::]",
                 "[fd00::1]", "[fe80::1]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "localhost",
                 "LOCALHOST.", "api.localhost"]:
        url = "http://%s:%s/hook" % (host, port)
        r = expect(env.req("POST", "/webhooks", S.admin.token, {"url": url, "events": EV}), 400,
                   "invalid_request")
        msg = r["error"]["message"]
        check(msg.startswith("url:") and "private" in msg, "%s: %s" % (url, msg))
    n = len(expect(env.req("GET", "/webhooks", S.admin.token), 200)["items"])
    check(n == 0, "%d webhooks were created" % n)


@suite.test("public addresses and names are accepted; PATCH to an internal one is refused")
def _(env):
    for url in ["https://hooks.example.com/in", "http://93.184.216.34:8080/x",
                "https://[2606:4700::1111]/x", "https://8.8.8.8/hook"]:
        h = expect(env.req("POST", "/webhooks", S.admin.token, {"url": url, "events": EV}), 201)
        check(h["url"] == url, short(h))
        S.public = h
    r = expect(env.req("PATCH", "/webhooks/%s" % S.public["id"], S.admin.token,
                       {"url": "http://192.168.0.10/x"}), 400, "invalid_request")
    check("private" in r["error"]["message"], short(r))
    g = expect(env.req("GET", "/webhooks/%s" % S.public["id"], S.admin.token), 200)
    check(g["url"] == "https://8.8.8.8/hook", "the refused PATCH changed the url: %s" % short(g))
    for h in expect(env.req("GET", "/webhooks", S.admin.token), 200)["items"]:
        expect(env.req("DELETE", "/webhooks/%s" % h["id"], S.admin.token), 204)


@suite.test("a name resolving to an internal address: registered, but the delivery is not sent "
            "and says why; the receiver gets nothing")
def _(env):
    name = internal_name()
    if name is None:  # a machine whose host name resolves to a public address
        sys.stdout.write("# the host name %r does not resolve to internal addresses only: "
                         "delivery-time check not exercised here\n" % socket.gethostname())
        return
    port = S.recv.url("/x").split(":")[2].split("/")[0]
    url = "http://%s:%s/by-name" % (name, port)
    hook = expect(env.req("POST", "/webhooks", S.admin.token, {"url": url, "events": EV}), 201)
    # an event: a mailbox that cannot connect changes status (mailbox.status)
    env.new_mailbox(S.user, S.user.id, "uli@guard.test")
    items = []
    for _ in range(150):
        items = expect(env.req("GET", "/webhooks/%s/deliveries" % hook["id"], S.admin.token),
                       200)["items"]
        if items and items[0].get("last_error"):
            break
        time.sleep(0.1)
    check(items, "no delivery was made for mailbox.status")
    x = items[0]
    check(x["status"] in ("pending", "failed") and x["status_code"] is None and
          "loopback or private address" in (x["last_error"] or ""), short(x))
    time.sleep(0.5)
    check(not [r for r in S.recv.requests() if r["path"] == "/by-name"],
          "the receiver got the request anyway")


if __name__ == "__main__":
    os.environ.pop("MAILFLEET_WEBHOOK_ALLOW_PRIVATE", None)  # the default: refused
    try:
        main(suite)
    finally:
        if S.recv:
            S.recv.stop()
