#!/usr/bin/env python3
"""mf.py — the HTTP side of bench/assign: set up the shared mailboxes, then measure.

    mf.py setup API ADMIN_TOKEN ADMIN_ID MAILBOXES MEMBERS POOL MODE CAP PASSWORD IMAP_JSON TIMEOUT
        As the admin (who owns every shared mailbox): POST /users for POOL agents
        (agent0001@agents.test ..., role user), POST /users/{id}/tokens for the first one (the
        member whose inbox is measured), POST /mailboxes for MAILBOXES shared mailboxes
        team01..@example.test (IMAP = the lab, SMTP port 1: never used), PUT their members
        (MEMBERS agents each, access reply, available; mailbox i gets agents i*MEMBERS ...
        modulo POOL, so POOL = MEMBERS puts the same team on every mailbox), PUT their assignment
        ({"mode": MODE, "cap": CAP}; CAP 0 = no cap), then waits until every mailbox is status
        "good" with sync.backfill_done (their INBOXes are empty: nothing is imported). Prints
        {"member_id", "member_token", "mailboxes": [...], "setup_seconds", "sync_seconds"}.
    mf.py measure API ADMIN_TOKEN MEMBER_TOKEN EXPECT TIMEOUT OUT_DIR SERVE_PID -- DELIVER...
        Starts two latency.py clients with MEMBER_TOKEN (GET /api/v1/inbox?assignee=me and
        GET /api/v1/inbox; none with CLIENTS=0 in the environment: the ingest alone), lets them
        run BEFORE seconds (env, default 3), then runs the
        DELIVER command (gen.py deliver) and polls GET /api/v1/mailboxes?limit=500 every 0.25 s
        until the mailboxes' sync.messages_imported add up to EXPECT (ingest and assignment are
        one transaction per batch: a stored message of a shared mailbox with round-robin is an
        assigned one), lets the clients run AFTER seconds more (default 10: the full database,
        no ingest), stops them and prints one JSON object: times from the start of delivery
        (first message seen, delivery done, all imported), mailfleet's CPU seconds in that
        window, the machine's busy share, and latency statistics per client and phase
        (before / during / after). Exit 1 on timeout or a mailbox in error or failing.

API is http://127.0.0.1:PORT. Every request has a 30 s timeout. Python 3 standard library only.
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Api:
    def __init__(self, base, token):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        self.conn = None

    def req(self, method, path, body=None, want=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, "/api/v1" + path,
                                  None if body is None else json.dumps(body), self.hdr)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                if attempt:
                    sys.exit("mf.py: %s %s: %s" % (method, path, e))
        out = json.loads(data) if data else None
        if want is not None and r.status != want:
            sys.exit("mf.py: %s %s: HTTP %d %s" % (method, path, r.status, json.dumps(out)[:400]))
        return r.status, out


def all_mailboxes(api):
    items, cursor = [], None
    for _ in range(100):
        _, page = api.req("GET", "/mailboxes?limit=500" + ("&cursor=" + cursor if cursor else ""),
                          want=200)
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items
    sys.exit("mf.py: too many mailbox pages")


def cmd_setup(base, admin_token, admin_id, mailboxes, members, pool, mode, cap, password, imap,
              timeout):
    mailboxes, members, pool, cap, timeout = int(mailboxes), int(members), int(pool), int(cap), \
        float(timeout)
    if pool < members:
        sys.exit("mf.py: POOL (%d) must be at least MEMBERS (%d)" % (pool, members))
    imap = json.loads(imap)
    api = Api(base, admin_token)
    t0 = time.monotonic()
    agents = []
    for k in range(pool):
        _, u = api.req("POST", "/users", {"email": "agent%04d@agents.test" % (k + 1),
                                          "name": "Agent %d" % (k + 1), "role": "user"}, want=201)
        agents.append(u["id"])
    _, tok = api.req("POST", "/users/%s/tokens" % agents[0], want=201)
    ids = []
    for i in range(mailboxes):
        addr = "team%02d@example.test" % (i + 1)
        srv = dict(imap, username=addr, password=password)
        body = {"owner_id": admin_id, "address": addr, "kind": "shared",
                "sender_name": "Team %d" % (i + 1), "imap": srv, "smtp": dict(srv, port=1)}
        _, mb = api.req("POST", "/mailboxes", body, want=201)
        ids.append(mb["id"])
        team = [agents[(i * members + j) % pool] for j in range(members)]
        api.req("PUT", "/mailboxes/%s/members" % mb["id"],
                {"members": [{"user_id": u, "access": "reply", "available": True} for u in team]},
                want=200)
        api.req("PUT", "/mailboxes/%s/assignment" % mb["id"],
                {"mode": mode, "cap": cap if cap > 0 else None}, want=200)
    t1 = time.monotonic()
    while True:
        mbs = [m for m in all_mailboxes(api) if m["id"] in set(ids)]
        good = sum(m["status"] == "good" and m["sync"]["backfill_done"] for m in mbs)
        if good == len(ids):
            break
        bad = [m for m in mbs if m["status"] in ("failing", "error")]
        if time.monotonic() - t1 > timeout or (bad and time.monotonic() - t1 > 30):
            sys.exit("mf.py: %d of %d mailboxes good after %.0f s; e.g. %s" % (
                good, len(ids), time.monotonic() - t1,
                json.dumps([(m["address"], m["status"], m.get("status_reason")) for m in bad][:3])))
        time.sleep(0.5)
    print(json.dumps({"member_id": agents[0], "member_token": tok["token"], "mailboxes": ids,
                      "setup_seconds": round(t1 - t0, 2),
                      "sync_seconds": round(time.monotonic() - t1, 2)}))


def proc_cpu(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


def machine_ticks():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    k = (len(sorted_vals) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(sorted_vals) - 1)
    return sorted_vals[lo] + (sorted_vals[hi] - sorted_vals[lo]) * (k - lo)


def stats(rows, t_from, t_to):
    lat = sorted(r[1] for r in rows if t_from <= r[0] < t_to and r[2] == 200)
    bad = sum(1 for r in rows if t_from <= r[0] < t_to and r[2] != 200)
    if not lat:
        return {"requests": 0, "errors": bad}
    items = [r[3] for r in rows if t_from <= r[0] < t_to and r[2] == 200]
    return {"requests": len(lat), "errors": bad, "rps": round(len(lat) / max(t_to - t_from, 1e-9), 1),
            "p50_ms": round(pct(lat, 50), 2), "p90_ms": round(pct(lat, 90), 2),
            "p99_ms": round(pct(lat, 99), 2), "max_ms": round(lat[-1], 2),
            "mean_ms": round(statistics.fmean(lat), 2), "items_min": min(items),
            "items_max": max(items)}


def cmd_measure(base, admin_token, member_token, expect, timeout, out_dir, serve_pid, deliver):
    expect, timeout, serve_pid = int(expect), float(timeout), int(serve_pid)
    before = float(os.environ.get("BEFORE", "3"))
    after = float(os.environ.get("AFTER", "10"))
    api = Api(base, admin_token)
    clients = {"inbox_assignee_me": "/api/v1/inbox?assignee=me", "inbox_all": "/api/v1/inbox"}
    if os.environ.get("CLIENTS", "1") == "0":
        clients = {}  # the ingest alone
    procs = {}
    for name, path in clients.items():
        procs[name] = subprocess.Popen([sys.executable, os.path.join(HERE, "latency.py"),
                                        base + path, member_token,
                                        os.path.join(out_dir, "latency-%s.txt" % name)])
    result = {}
    try:
        time.sleep(before)
        cpu0, (busy0, tot0) = proc_cpu(serve_pid), machine_ticks()
        t0 = time.monotonic()
        dp = subprocess.Popen(deliver, stdout=subprocess.PIPE)
        t_first = t_delivered = t_done = None
        deliver_out = None
        progress = []
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            if t_delivered is None and dp.poll() is not None:
                t_delivered = now
                deliver_out = dp.stdout.read().decode()
                if dp.returncode != 0:
                    sys.exit("mf.py: delivery failed: %s" % deliver_out)
            mbs = all_mailboxes(api)
            n = sum(m["sync"]["messages_imported"] for m in mbs)
            progress.append((round(time.monotonic() - t0, 2), n))
            if n > 0 and t_first is None:
                t_first = time.monotonic()
            bad = [(m["address"], m["status"], m.get("status_reason")) for m in mbs
                   if m["status"] in ("error", "failing")]
            if bad:
                sys.exit("mf.py: mailbox in trouble during the run: %s" % json.dumps(bad[:3]))
            if n >= expect and t_delivered is not None:
                t_done = time.monotonic()
                break
            if now - t0 > timeout:
                sys.exit("mf.py: timeout after %.0f s: %d of %d imported" % (now - t0, n, expect))
        cpu1, (busy1, tot1) = proc_cpu(serve_pid), machine_ticks()
        time.sleep(after)
        t_end = time.monotonic()
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(timeout=30)
    secs = t_done - t0
    result.update(expect=expect, imported=n, t0_monotonic=t0,
                  first_seconds=round(t_first - t0, 2), delivered_seconds=round(t_delivered - t0, 2),
                  seconds=round(secs, 2), conversations_per_second=round(expect / secs, 1),
                  deliver=json.loads(deliver_out), serve_cpu_seconds=round(cpu1 - cpu0, 2),
                  machine_busy_pct=round(100.0 * (busy1 - busy0) / max(tot1 - tot0, 1), 1),
                  progress=progress[:: max(1, len(progress) // 40)])
    lat = {}
    for name in clients:
        rows = []
        with open(os.path.join(out_dir, "latency-%s.txt" % name)) as f:
            for line in f:
                a = line.split()
                rows.append((float(a[0]), float(a[1]), int(a[2]), int(a[3])))
        lat[name] = {"before": stats(rows, t0 - before, t0), "during": stats(rows, t0, t_done),
                     "after": stats(rows, t_done, t_end)}
    result["latency"] = lat
    print(json.dumps(result))


def main():
    a = sys.argv[1:]
    if len(a) == 12 and a[0] == "setup":
        cmd_setup(*a[1:])
    elif len(a) >= 10 and a[0] == "measure" and a[8] == "--":
        cmd_measure(*a[1:8], a[9:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
