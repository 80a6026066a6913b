"""webhook_receiver.py — a local HTTP endpoint for the webhook tests (API and engine suites).

  r = Receiver()                 listens on 127.0.0.1 (a free port) in a thread
  r.url("/path")                 the URL to register
  r.script("/path", [500, 500])  answer these statuses to the first requests on that path,
                                 then 200 (default: always 200); an item (seconds, status)
                                 waits that long before answering
  r.requests("/path")            every request received: dicts {path, headers (lower-case),
                                 body (bytes), json, at}
  r.wait(pred, timeout)          the first request for which pred(req) is true, or Fail
  r.stop()
  verify(secret, req)            checks X-Mailfleet-Signature the way docs/api.md tells
                                 receivers to: HMAC-SHA256(secret, timestamp + "." + body)

Python 3 standard library only.
"""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature(secret, body):
    mac = hmac.new(secret.encode(), body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret, req, max_age=300):
    """-> (ok, why). The receiver-side check of one delivery."""
    h = req["headers"]
    ts, sig = h.get("x-mailfleet-timestamp"), h.get("x-mailfleet-signature")
    if not ts or not sig:
        return False, "no X-Mailfleet-Timestamp / X-Mailfleet-Signature header: %s" % h
    try:
        age = abs(time.time() - int(ts))
    except ValueError:
        return False, "timestamp %r is not a number" % ts
    if age > max_age:
        return False, "timestamp %s is %d s away from now" % (ts, age)
    want = signature(secret, req["body"])
    if not hmac.compare_digest(want, sig):
        return False, "signature %s, expected %s" % (sig, want)
    return True, ""


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.log = []
        self.scripts = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the stdlib's name
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                path = self.path
                with outer.lock:
                    q = outer.scripts.get(path)
                    status = q.pop(0) if q else 200
                delay = 0
                if isinstance(status, tuple):
                    delay, status = status
                with outer.lock:
                    outer.log.append({"path": path, "at": time.time(), "body": body, "json": parsed,
                                      "status": status,
                                      "headers": {k.lower(): v for k, v in self.headers.items()}})
                if delay:
                    time.sleep(delay)
                reply = b'{"ok":true}' if status < 300 else b'{"error":"scripted failure"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the client gave up (timeout): nothing to answer
                    pass

            def log_message(self, fmt, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def script(self, path, statuses):
        with self.lock:
            self.scripts[path] = list(statuses)

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.log if path is None or r["path"] == path]

    def wait(self, pred, timeout, desc="a webhook request"):
        deadline = time.time() + timeout
        while True:
            for r in self.requests():
                if pred(r):
                    return r
            if time.time() >= deadline:
                seen = [(r["path"], r["headers"].get("x-mailfleet-event"), r["status"])
                        for r in self.requests()]
                raise AssertionError("timed out after %.0f s waiting for %s; received: %s"
                                     % (timeout, desc, seen[-20:]))
            time.sleep(0.1)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
