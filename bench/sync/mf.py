#!/usr/bin/env python3
"""mf.py — the HTTP side of bench/sync: add mailboxes through mailfleet's API and wait for them.

    mf.py import  API TOKEN OWNER ADDRESS PASSWORD IMAP_JSON EXPECT TIMEOUT
        POST /api/v1/mailboxes once, then GET /api/v1/mailboxes/{id} every POLL_SECONDS (0.1 s:
        the time is known to that step, about a tenth of a percent of an import's) until
        sync.backfill_done is true and sync.messages_imported == EXPECT. Prints one JSON line:
        {"seconds": time from just before the POST to the first poll that saw it done,
         "first_message_seconds": first poll that saw messages_imported > 0, "messages": ...,
         "polls": ...}. Exit 1 on timeout, on status "failing", or when more than EXPECT arrive.
        Also exit 1 when the mailbox stays in status "error" without progress for 5 s.
    mf.py add-many API TOKEN OWNER USERS_FILE IMAP_JSON
        one POST /api/v1/mailboxes per line EMAIL:PASSWORD of USERS_FILE (address and IMAP
        username = EMAIL) over one keep-alive connection; prints {"added": N, "seconds": S}.
    mf.py add-and-wait API TOKEN OWNER USERS_FILE IMAP_JSON TIMEOUT
        add-many, then wait for all of them, over the SAME keep-alive connection (opened before
        the engine holds its IMAP connections: mailfleet's HTTP server refuses connections whose
        fd is >= 1024, see docs/benchmarks.md); prints {"added", "add_seconds", "seconds", ...}.
    mf.py wait API TOKEN COUNT TIMEOUT
        page through GET /api/v1/mailboxes?limit=500 every 2 s until COUNT mailboxes are
        status "good" with sync.backfill_done; prints {"seconds": S, "good": N, "statuses": {...}}.
        Exit 1 on timeout (with the status counts).

API is http://127.0.0.1:PORT; IMAP_JSON is the "imap" object without username/password, e.g.
{"host":"127.0.0.1","port":143,"security":"none"}; SMTP gets the same host with port 1 (never
used by a sync). Every request has a 30 s timeout; nothing loops without a deadline.
"""
import http.client
import json
import sys
import time
import urllib.parse

POLL_SECONDS = 0.1  # sync progress polls of `import`


class Api:
    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        self.conn = None

    def req(self, method, path, body=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, None if body is None else json.dumps(body),
                                  self.hdr)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, (json.loads(data) if data else None)
            except (http.client.HTTPException, ConnectionError) as e:
                self.conn.close()
                self.conn = None
                if attempt:
                    sys.exit("mf.py: %s %s: %s (a new connection to mailfleet failed too; with "
                             "over ~1000 IMAP sessions its HTTP server refuses fds >= 1024)"
                             % (method, path, e))
        raise RuntimeError("unreachable")


def mailbox_body(owner, email, password, imap):
    srv = dict(imap, username=email, password=password)
    smtp = dict(srv, port=1)
    return {"owner_id": owner, "address": email, "imap": srv, "smtp": smtp}


def cmd_import(api, owner, address, password, imap, expect, timeout):
    imap = json.loads(imap)
    expect, timeout = int(expect), float(timeout)
    t0 = time.monotonic()
    st, mb = api.req("POST", "/api/v1/mailboxes", mailbox_body(owner, address, password, imap))
    if st != 201:
        sys.exit("mf.py: POST /api/v1/mailboxes: HTTP %d %s" % (st, json.dumps(mb)[:300]))
    mid = mb["id"]
    first = None
    polls = 0
    errors, n_at_error = 0, -1
    next_poll = t0 + POLL_SECONDS
    while True:
        now = time.monotonic()
        if now - t0 > timeout:
            print(json.dumps({"error": "timeout", "seconds": round(now - t0, 3),
                              "messages": mb["sync"]["messages_imported"], "status": mb["status"],
                              "reason": mb.get("status_reason")}))
            sys.exit(1)
        if next_poll > now:
            time.sleep(next_poll - now)
        next_poll += POLL_SECONDS
        st, mb = api.req("GET", "/api/v1/mailboxes/" + mid)
        polls += 1
        t = time.monotonic() - t0
        if st != 200:
            sys.exit("mf.py: GET mailbox: HTTP %d %s" % (st, json.dumps(mb)[:300]))
        n = mb["sync"]["messages_imported"]
        if n > 0 and first is None:
            first = t
        if mb["status"] == "failing":
            sys.exit("mf.py: mailbox failing: %s" % mb.get("status_reason"))
        # error with no progress for 5 s: the engine is stuck retrying; say why
        if mb["status"] == "error":
            if errors == 0:
                n_at_error = n
            errors += 1
            if errors >= round(5 / POLL_SECONDS) and n == n_at_error:
                print(json.dumps({"error": "mailbox in error", "seconds": round(t, 3),
                                  "messages": n, "reason": mb.get("status_reason")}))
                sys.exit(1)
        elif n != n_at_error:
            errors = 0
        if n > expect:
            sys.exit("mf.py: %d messages imported, more than the %d expected" % (n, expect))
        if mb["sync"]["backfill_done"] and n == expect:
            print(json.dumps({"seconds": round(t, 3), "first_message_seconds":
                              None if first is None else round(first, 3), "messages": n,
                              "polls": polls, "mailbox_id": mid}))
            return
        if mb["sync"]["backfill_done"] and n < expect:
            # backfill_done with fewer messages: some were not stored (parse errors, dedupe)
            print(json.dumps({"error": "short", "seconds": round(t, 3), "messages": n}))
            sys.exit(1)


def cmd_add_many(api, owner, users_file, imap, quiet=False):
    imap = json.loads(imap)
    t0 = time.monotonic()
    n = 0
    with open(users_file) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            email, _, password = line.partition(":")
            st, mb = api.req("POST", "/api/v1/mailboxes", mailbox_body(owner, email, password, imap))
            if st != 201:
                sys.exit("mf.py: POST mailbox %s: HTTP %d %s" % (email, st, json.dumps(mb)[:300]))
            n += 1
    out = {"added": n, "seconds": round(time.monotonic() - t0, 3)}
    if not quiet:
        print(json.dumps(out))
    return out


def cmd_add_and_wait(api, owner, users_file, imap, timeout):
    added = cmd_add_many(api, owner, users_file, imap, quiet=True)
    out = cmd_wait(api, added["added"], timeout, quiet=True)
    out.update(added=added["added"], add_seconds=added["seconds"])
    print(json.dumps(out))
    if "error" in out:
        sys.exit(1)


def cmd_wait(api, count, timeout, quiet=False):
    count, timeout = int(count), float(timeout)
    t0 = time.monotonic()
    while True:
        statuses, good, cursor = {}, 0, None
        for _ in range(1000):  # pages; 500 each
            path = "/api/v1/mailboxes?limit=500" + ("&cursor=" + cursor if cursor else "")
            st, page = api.req("GET", path)
            if st != 200:
                sys.exit("mf.py: GET %s: HTTP %d" % (path, st))
            for mb in page["items"]:
                key = mb["status"] + ("+backfilled" if mb["sync"]["backfill_done"] else "")
                statuses[key] = statuses.get(key, 0) + 1
                good += mb["status"] == "good" and mb["sync"]["backfill_done"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        t = time.monotonic() - t0
        if good >= count:
            out = {"seconds": round(t, 3), "good": good, "statuses": statuses}
            if not quiet:
                print(json.dumps(out))
            return out
        if t > timeout:
            out = {"error": "timeout", "seconds": round(t, 3), "good": good, "statuses": statuses}
            if quiet:
                return out
            print(json.dumps(out))
            sys.exit(1)
        time.sleep(2)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    cmd, base, token = sys.argv[1], sys.argv[2], sys.argv[3]
    api = Api(base, token)
    args = sys.argv[4:]
    if cmd == "import" and len(args) == 6:
        cmd_import(api, *args)
    elif cmd == "add-many" and len(args) == 3:
        cmd_add_many(api, *args)
    elif cmd == "add-and-wait" and len(args) == 4:
        cmd_add_and_wait(api, *args)
    elif cmd == "wait" and len(args) == 2:
        cmd_wait(api, *args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
