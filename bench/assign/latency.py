#!/usr/bin/env python3
"""latency.py — one closed-loop HTTP client for bench/assign: the same GET again and again.

    latency.py URL TOKEN OUT_FILE

Sends GET URL (Authorization: Bearer TOKEN) over one keep-alive connection, the next request
as soon as the previous answer is read, until SIGTERM/SIGINT; then writes OUT_FILE, one line
per request: "START_MONOTONIC LATENCY_MS STATUS ITEMS" (time.monotonic() is the same clock in
every process of the machine, so run.sh can cut the ingest window out of it). A request that
fails at the socket level counts with STATUS 0 and a new connection is opened. A single
process with no other thread: nothing else in it delays the reading of an answer. Python 3
standard library only.
"""
import http.client
import json
import signal
import sys
import time
import urllib.parse

stop = False


def on_signal(_sig, _frame):
    global stop
    stop = True


def main():
    url, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    u = urllib.parse.urlparse(url)
    path = u.path + ("?" + u.query if u.query else "")
    hdr = {"Authorization": "Bearer " + token}
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rows = []
    conn = None
    while not stop:
        if conn is None:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        t0 = time.monotonic()
        status, items = 0, -1
        try:
            conn.request("GET", path, headers=hdr)
            r = conn.getresponse()
            data = r.read()
            status = r.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = None
        t1 = time.monotonic()
        if status == 200:
            try:
                items = len(json.loads(data)["items"])
            except (ValueError, KeyError):
                items = -1
        rows.append("%.6f %.3f %d %d" % (t0, (t1 - t0) * 1000.0, status, items))
        if status == 0 and not stop:
            time.sleep(0.05)
    with open(out, "w") as f:
        f.write("\n".join(rows) + ("\n" if rows else ""))


if __name__ == "__main__":
    main()
