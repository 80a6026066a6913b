#!/usr/bin/env python3
"""driver.py — the HTTP and SQLite side of bench/send/run.sh (standard library only).

  driver.py text SIZE FILE
      write a plain-text body (ASCII lines of at most 76 characters) such that mailfleet's
      composed message is about SIZE bytes (its headers take about 290 of them)
  driver.py mailboxes URL TOKEN OWNER_ID COUNT SINK_PORT OUT_FILE
      create COUNT mailboxes m01@bench.test ... with POST /api/v1/mailboxes (SMTP: the sink,
      security none, a user name of its own per mailbox; IMAP: a dead port), one id a line
  driver.py queue URL TOKEN MAILBOX_FILE TEXT_FILE COUNT CLIENTS DB [WAIT]
      POST COUNT messages (round robin over the mailboxes, to sink@bench.test) from CLIENTS
      threads, each on its own keep-alive connection; with WAIT=wait, then poll the outbox in DB
      until all COUNT are sent. Prints one JSON line: t0 (first POST), t_queued (last 202),
      t_sent, POST latency percentiles, statuses.
  driver.py wait DB COUNT T_START
      poll the outbox until COUNT messages are sent; prints JSON {t_start, t_sent, ...}

Every wait is bounded (BENCH_TIMEOUT seconds, default 900, and BENCH_STALL seconds without
progress, default 60); a message that ends failed or unknown stops the run.
"""
import http.client
import json
import os
import random
import sqlite3
import sys
import threading
import time

TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "900"))
STALL = float(os.environ.get("BENCH_STALL", "60"))


def die(msg):
    sys.exit("driver.py: " + msg)


def make_text(size, path):
    words = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
             "incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud "
             "exercitation ullamco laboris nisi aliquip ex ea commodo consequat").split()
    rnd = random.Random(1)
    want = max(200, size - 290)  # the composed headers take about 290 bytes
    lines, n = [], 0
    while n < want:
        line = []
        while len(" ".join(line)) < 66:
            line.append(rnd.choice(words))
        s = " ".join(line)[:76]
        lines.append(s)
        n += len(s) + 2  # CRLF on the wire
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def conn_for(url):
    assert url.startswith("http://")
    host, port = url[len("http://"):].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=60)


def mailboxes(url, token, owner, count, sink_port, out):
    c = conn_for(url)
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    ids = []
    for i in range(1, count + 1):
        addr = "m%02d@bench.test" % i
        body = {
            "owner_id": owner, "address": addr, "daily_limit": 1000000,
            # a dead IMAP port: the mailbox becomes "error", which still sends
            "imap": {"host": "127.0.0.1", "port": 9, "security": "none",
                     "username": addr, "password": "x"},
            # the API refuses an empty user name; smtp-sink takes any AUTH. A user name of its
            # own per mailbox also makes each mailbox its own SMTP account (connection) in
            # src/mail/smtp_sender.c, as with real mailboxes.
            "smtp": {"host": "127.0.0.1", "port": sink_port, "security": "none",
                     "username": addr, "password": "x"},
        }
        c.request("POST", "/api/v1/mailboxes", json.dumps(body), hdr)
        r = c.getresponse()
        data = r.read()
        if r.status != 201:
            die("mailbox %s: HTTP %d %s" % (addr, r.status, data[:300]))
        ids.append(json.loads(data)["id"])
    with open(out, "w") as f:
        f.write("\n".join(ids) + "\n")


def outbox_counts(db):
    # A read of the WAL database through its own connection (read-only; no writer is blocked).
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return dict(con.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    finally:
        con.close()


def wait_sent(db, count, t_begin):
    last_sent, last_change = -1, time.time()
    while True:
        counts = outbox_counts(db)
        sent = counts.get("sent", 0)
        now = time.time()
        if sent >= count:
            return now, counts
        bad = {k: v for k, v in counts.items() if k in ("failed", "unknown") and v}
        if bad:
            die("messages ended %s (counts %s); see the server log" % (bad, counts))
        if sent != last_sent:
            last_sent, last_change = sent, now
        if now - last_change > STALL:
            die("no message sent for %.0f s (counts %s)" % (STALL, counts))
        if now - t_begin > TIMEOUT:
            die("not all sent after %.0f s (counts %s)" % (TIMEOUT, counts))
        time.sleep(0.05)


def queue(url, token, mbfile, textfile, count, clients, db, wait):
    ids = [l.strip() for l in open(mbfile) if l.strip()]
    text_json = json.dumps(open(textfile).read())
    hdr = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    lock = threading.Lock()
    state = {"next": 0, "error": None}
    lat = [0.0] * count

    def worker():
        c = conn_for(url)
        while True:
            with lock:
                i = state["next"]
                if i >= count or state["error"]:
                    break
                state["next"] = i + 1
            body = ('{"from_mailbox_id":"%s","to":["sink@bench.test"],"subject":"bench message %d",'
                    '"text":%s}' % (ids[i % len(ids)], i, text_json))
            t = time.monotonic()
            try:
                c.request("POST", "/api/v1/messages", body, hdr)
                r = c.getresponse()
                data = r.read()
            except Exception as e:  # noqa: BLE001 — reported and the run stops
                with lock:
                    state["error"] = state["error"] or "POST %d: %r" % (i, e)
                break
            lat[i] = time.monotonic() - t
            if r.status != 202:
                with lock:
                    state["error"] = state["error"] or "POST %d: HTTP %d %s" % (i, r.status,
                                                                                 data[:300])
                break
        c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        if t.is_alive():
            die("queueing took longer than %.0f s" % TIMEOUT)
    t_queued = time.time()
    if state["error"]:
        die(state["error"])
    s = sorted(lat)
    res = {"t0": t0, "t_queued": t_queued, "queue_s": t_queued - t0,
           "post_p50_ms": 1000 * s[len(s) // 2], "post_p99_ms": 1000 * s[int(len(s) * 0.99)],
           "post_max_ms": 1000 * s[-1]}
    res["sent_when_queued"] = outbox_counts(db).get("sent", 0)
    if wait:
        t_sent, counts = wait_sent(db, count, t0)
        res.update({"t_sent": t_sent, "total_s": t_sent - t0, "drain_s": t_sent - t_queued,
                    "counts": counts})
    print(json.dumps(res))


def main(argv):
    if len(argv) < 2:
        die(__doc__)
    cmd = argv[1]
    if cmd == "text" and len(argv) == 4:
        make_text(int(argv[2]), argv[3])
    elif cmd == "mailboxes" and len(argv) == 8:
        mailboxes(argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), argv[7])
    elif cmd == "queue" and len(argv) in (9, 10):
        queue(argv[2], argv[3], argv[4], argv[5], int(argv[6]), int(argv[7]), argv[8],
              len(argv) == 10 and argv[9] == "wait")
    elif cmd == "wait" and len(argv) == 5:
        t_start = float(argv[4])
        t_sent, counts = wait_sent(argv[2], int(argv[3]), t_start)
        print(json.dumps({"t_start": t_start, "t_sent": t_sent, "send_s": t_sent - t_start,
                          "counts": counts}))
    else:
        die(__doc__)


if __name__ == "__main__":
    main(sys.argv)
