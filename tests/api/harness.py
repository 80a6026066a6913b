"""harness.py — runs a real mailfleet server for the HTTP API tests, and a tiny TAP runner.

Each test file builds a `Suite`, registers plain functions with `@suite.test("R3 ...")` and
calls `suite.run()`. The suite:
  1. makes a temporary directory, picks a free TCP port and bootstraps the database with the
     CLI (`migrate`, an operator user and its token), all through env MAILFLEET_DB and
     MAILFLEET_KEY_FILE;
  2. starts `MAILFLEET_BIN serve --db sqlite:TMP/mf.db --listen 127.0.0.1:PORT` and waits for
     GET /healthz;
  3. runs the tests in order (they may share state through module globals), printing TAP;
  4. adds three checks of its own: no response was a 5xx, no response ever contained a
     mailbox password the tests sent (R29), and the server exits 0 within 10 s of SIGTERM.
The binary is env MAILFLEET_BIN, default build/mailfleet under the repository root.
Python 3 standard library only.
"""
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("MAILFLEET_BIN") or os.path.join(REPO, "build", "mailfleet")
BASE = "/api/v1"
# A loopback port nobody listens on: mailboxes we add point there, so the engine (if any)
# gets "connection refused" (a transient error), never a real server.
DEAD_PORT = 9


class Fail(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def short(v, n=600):
    s = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def err(body):
    """The error object of an error response, or {}."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}


def expect(resp, status, code=None, rule=None):
    """Assert (status, body) has this status, and for errors this code/rule. Returns body."""
    st, body = resp
    want = "%s%s%s" % (status, " " + code if code else "", " rule " + rule if rule else "")
    if isinstance(status, (tuple, list)):
        ok = st in status
    else:
        ok = st == status
    check(ok, "expected %s, got %s: %s" % (want, st, short(body)))
    if code is not None:
        e = err(body)
        check(e.get("code") == code, "expected error.code %r, got %s" % (code, short(body)))
        check(isinstance(e.get("message"), str) and e["message"],
              "error.message missing or empty: %s" % short(body))
    if rule is not None:
        check(err(body).get("rule") == rule, "expected error.rule %r, got %s" % (rule, short(body)))
    return body


def expect_denied(resp, allowed=(403, 404)):
    """An access refusal: one of `allowed` statuses with a proper error envelope."""
    st, body = resp
    check(st in allowed, "expected one of %s, got %s: %s" % (list(allowed), st, short(body)))
    e = err(body)
    check(e.get("code") in ("forbidden", "not_found", "seat_locked"),
          "expected an error envelope with forbidden/not_found, got %s" % short(body))
    return body


def find_check(request, rule):
    for c in request.get("checks") or []:
        if c.get("rule") == rule:
            return c
    raise Fail("request has no check for %s: %s" % (rule, short(request)))


def has_key(obj, pred):
    """Does any key anywhere in a JSON value satisfy pred?"""
    if isinstance(obj, dict):
        return any(pred(k) or has_key(v, pred) for k, v in obj.items())
    if isinstance(obj, list):
        return any(has_key(v, pred) for v in obj)
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Env:
    """One temporary deployment: database, key file, a running server, and helpers."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="mf-api-")
        self.db_path = os.path.join(self.tmp, "mf.db")
        self.db_url = "sqlite:" + self.db_path
        self.key_file = os.path.join(self.tmp, "mailfleet.key")
        self.port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.tmp, "server.log")
        self.secrets = set()          # every password we sent: must never come back (R29)
        self.leaks = []               # (method, path, secret) of responses that echoed one
        self.server_errors = []       # (method, path, status, text) of every 5xx
        self.last = None              # the last exchange, for diagnostics
        self.op = None                # the bootstrap operator (namespace id/email/token)

    # --- command line -------------------------------------------------------------------
    def cli_env(self, **extra):
        env = dict(os.environ)
        env["MAILFLEET_DB"] = self.db_url
        env["MAILFLEET_KEY_FILE"] = self.key_file
        env.pop("MAILFLEET_CONFIG", None)
        env.pop("MAILFLEET_LISTEN", None)
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def cli(self, *args, stdin=None, env=None, timeout=60):
        """Run the CLI with MAILFLEET_DB set: -> (rc, stdout, stderr)."""
        p = subprocess.run([BIN] + [str(a) for a in args], input=stdin, capture_output=True,
                           text=True, env=env or self.cli_env(), timeout=timeout, cwd=self.tmp)
        self.last = ("CLI", " ".join(str(a) for a in args), None, p.returncode,
                     "stdout=%r stderr=%r" % (p.stdout[-400:], p.stderr[-400:]))
        return p.returncode, p.stdout, p.stderr

    def cli_value(self, *args):
        """Run a CLI command that prints one value; fail unless rc 0 and one line out."""
        rc, out, errout = self.cli(*args)
        check(rc == 0, "CLI %s: rc %s, stderr %r" % (" ".join(map(str, args)), rc, errout[-400:]))
        val = out.strip()
        check(val and "\n" not in val, "CLI %s printed %r, not one value" % (args, out))
        return val

    def org(self, name, *flags):
        return self.cli_value("org", "create", name, *flags)

    def user(self, email, name, role="user", org=None):
        """Create a user and a token for them: -> namespace(id, email, name, token, org)."""
        args = ["user", "create", "--email", email, "--name", name, "--role", role]
        if org:
            args += ["--org", org]
        uid = self.cli_value(*args)
        tok = self.cli_value("token", "create", "--user", email)
        return types.SimpleNamespace(id=uid, email=email, name=name, token=tok, org=org, role=role)

    # --- server -------------------------------------------------------------------------
    def start(self):
        if not os.access(BIN, os.X_OK):
            raise RuntimeError("no executable at %s (set MAILFLEET_BIN)" % BIN)
        rc, out, errout = self.cli("migrate")
        if rc != 0:
            raise RuntimeError("mailfleet migrate failed: rc %s %s" % (rc, errout[-800:]))
        self.op = self.user("operator@mailfleet.test", "Olga Operator", "operator")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--db", self.db_url, "--listen", "127.0.0.1:%d" % self.port],
            stdout=log, stderr=subprocess.STDOUT, env=self.cli_env(), cwd=self.tmp)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s: %s" % (self.proc.returncode,
                                                                  self.log_tail()))
            try:
                st, body = self.req("GET", "/healthz")
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not answer /healthz within 20 s: " + self.log_tail())

    def stop(self):
        """SIGTERM; -> (exit code or None if it had to be killed, seconds taken)."""
        if not self.proc or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.time()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, time.time() - t0

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""

    def cleanup(self):
        if os.environ.get("MAILFLEET_KEEP_TMP"):
            sys.stdout.write("# kept %s\n" % self.tmp)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- HTTP ---------------------------------------------------------------------------
    def full_path(self, path):
        if path.startswith("/api/") or path == "/healthz" or path.startswith("/healthz?"):
            return path
        return BASE + path

    def req(self, method, path, token=None, body=None, raw=None, headers=None, base=True):
        """-> (status, parsed JSON or text). Paths are under /api/v1 unless they start with
        /api/ or are /healthz, or base=False."""
        st, _hdrs, text = self.req_raw(method, path, token, body, raw, headers, base)
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return st, data

    def req_raw(self, method, path, token=None, body=None, raw=None, headers=None, base=True):
        """-> (status, headers dict lower-cased, body text)."""
        url = self.full_path(path) if base else path
        data = None
        hdrs = {}
        if raw is not None:
            data = raw.encode() if isinstance(raw, str) else raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, url, body=data, headers=hdrs)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            st = r.status
            rh = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        sent = short(data.decode("utf-8", "replace"), 300) if data is not None else None
        self.last = (method, url, sent, st, short(text, 800))
        if st >= 500:
            self.server_errors.append((method, url, sent, st, short(text, 300)))
        for s in self.secrets:
            if s in text:
                self.leaks.append((method, url, s))
        return st, rh, text

    def big_request(self, method, path, token, size, chunked=False, valid=False):
        """Send a JSON body of `size` bytes over a raw socket (with Content-Length, or chunked
        without one); valid=True makes it {"name":"Big Body"} padded with whitespace, else one
        huge name. -> (status or None, body text)."""
        if valid:
            head_ = b'{"name":"Big Body"'
            payload = head_ + b" " * (size - len(head_) - 1) + b"}"
        else:
            payload = b'{"name":"' + b"a" * (size - len('{"name":""}')) + b'"}'
        framing = "Transfer-Encoding: chunked" if chunked else "Content-Length: %d" % len(payload)
        head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\n%s\r\nConnection: close\r\n\r\n"
                % (method, self.full_path(path), self.port, token, framing)).encode()
        if chunked:
            parts = [payload[i:i + 65536] for i in range(0, len(payload), 65536)]
            payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in parts) + b"0\r\n\r\n"
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        resp = b""
        try:
            s.sendall(head)
            try:
                for i in range(0, len(payload), 65536):
                    s.sendall(payload[i:i + 65536])
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    resp += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        finally:
            s.close()
        text = resp.decode("utf-8", "replace")
        self.last = (method, path, "<%d bytes>" % size, None, short(text, 500))
        try:
            status = int(text.split(" ", 2)[1])
        except (IndexError, ValueError):
            return None, text
        if status >= 500:
            self.server_errors.append((method, path, "<big>", status, short(text, 300)))
        body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
        return status, body

    def all_of(self, *thunks):
        """Run every check, then fail once listing each failed one with its request."""
        bad = []
        for th in thunks:
            self.last = None
            try:
                th()
            except Fail as e:
                where = "%s %s: " % (self.last[0], self.last[1]) if self.last else ""
                bad.append(where + str(e))
        self.last = None  # each failure above names its own request
        check(not bad, "%d of %d checks failed:\n" % (len(bad), len(thunks)) + "\n".join(bad))

    # --- database (read/insert history rows directly) -----------------------------------
    def sql(self, query, params=()):
        con = sqlite3.connect(self.db_path, timeout=15)
        try:
            cur = con.execute(query, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def insert_row(self, table, values):
        """INSERT a row with `values`; any other NOT NULL column without a default (the schema
        grows as the engine does) gets a plausible value: the first value its CHECK (col IN
        (...)) allows, a time for *_at/date columns, 0 for numbers, else a unique string."""
        ddl = self.sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))[0][0]
        row = dict(values)
        for _cid, name, ctype, notnull, dflt, pk in self.sql("PRAGMA table_info(%s)" % table):
            if name in row or not notnull or dflt is not None or pk:
                continue
            allowed = re.search(r"\b%s\s+[^,]*?CHECK\s*\(\s*%s\s+IN\s*\(\s*'([^']*)'" % (name, name), ddl,
                                re.I | re.S)
            if allowed:
                row[name] = allowed.group(1)
            elif name.endswith("_at") or name == "date":
                row[name] = "2026-11-25T00:00:00Z"
            elif "INT" in (ctype or "").upper():
                row[name] = 0
            else:
                row[name] = "%s-%s" % (name, secrets.token_hex(6))
        cols = sorted(row)
        self.sql("INSERT INTO %s(%s) VALUES (%s)" % (table, ", ".join(cols), ", ".join("?" * len(cols))),
                 tuple(row[c] for c in cols))

    def add_history(self, mailbox_id, n=2):
        """Insert n conversations, messages and send_log rows for a mailbox (R9 tests)."""
        t = "2026-11-25T00:00:00Z"
        for i in range(n):
            cid = "conv-%s" % secrets.token_hex(6)
            self.insert_row("conversations", {"id": cid, "mailbox_id": mailbox_id, "subject": "Hello %d" % i,
                                              "last_message_at": t, "created_at": t})
            self.insert_row("messages", {"id": "msg-%s" % secrets.token_hex(6), "mailbox_id": mailbox_id,
                                         "conversation_id": cid, "message_id": "<%s@test>" % secrets.token_hex(6),
                                         "subject": "Hello %d" % i, "created_at": t})
            self.insert_row("send_log", {"id": "log-%s" % secrets.token_hex(6), "mailbox_id": mailbox_id,
                                         "recipient": "p%d@example.test" % i, "sent_at": t})

    def history_count(self, mailbox_id):
        return {t: self.sql("SELECT COUNT(*) FROM %s WHERE mailbox_id = ?" % t, (mailbox_id,))[0][0]
                for t in ("conversations", "messages", "send_log")}

    # --- fixtures -----------------------------------------------------------------------
    def server_settings(self, address):
        """Fresh imap+smtp settings with a unique password (remembered for the R29 check)."""
        pw = "Pw-" + secrets.token_hex(10)
        self.secrets.add(pw)
        imap = {"host": "127.0.0.1", "port": DEAD_PORT, "security": "none",
                "username": address, "password": pw}
        smtp = {"host": "127.0.0.1", "port": DEAD_PORT, "security": "none",
                "username": address, "password": pw}
        return imap, smtp

    def mailbox_body(self, owner_id, address, **extra):
        imap, smtp = self.server_settings(address.strip())
        body = {"owner_id": owner_id, "address": address, "imap": imap, "smtp": smtp}
        body.update(extra)
        return body

    def add_mailbox(self, who, owner_id, address, **extra):
        """POST /mailboxes as `who` (namespace with .token) -> (status, body)."""
        return self.req("POST", "/mailboxes", who.token, self.mailbox_body(owner_id, address, **extra))

    def new_mailbox(self, who, owner_id, address, **extra):
        """Add a mailbox and require 201; -> the mailbox object."""
        return expect(self.add_mailbox(who, owner_id, address, **extra), 201)


def wait(desc, probe, timeout, interval=0.1, shown=900):
    """Poll probe() -> (done, info) until done or timeout; -> info. Fails with the last info."""
    deadline = time.time() + timeout
    while True:
        done, info = probe()
        if done:
            return info
        if time.time() >= deadline:
            raise Fail("timed out after %.0f s waiting for %s; last seen: %s"
                       % (timeout, desc, short(info, shown)))
        time.sleep(interval)


class Suite:
    """Ordered tests printed as TAP. Test functions take the Env."""

    def __init__(self, name):
        self.name = name
        self.tests = []

    def test(self, name):
        def deco(fn):
            self.tests.append((name, fn))
            return fn
        return deco

    def timed(self, name):
        """Like test(), printing the test's duration as a TAP comment ("# took 1.23 s")."""
        def deco(fn):
            def run(env):
                t0 = time.time()
                try:
                    return fn(env)
                finally:
                    sys.stdout.write("# took %.2f s\n" % (time.time() - t0))
                    sys.stdout.flush()
            self.tests.append((name, run))
            return fn
        return deco

    def run(self):
        env = Env()
        out = sys.stdout
        total = len(self.tests) + 3
        try:
            env.start()
        except Exception as e:  # noqa: BLE001 - any failure to start is reported as bail out
            out.write("1..%d\nBail out! %s: cannot start the server: %s\n" % (total, self.name, e))
            out.flush()
            env.stop()
            env.cleanup()
            return 1
        out.write("1..%d\n" % total)
        failed = 0
        n = 0
        for name, fn in self.tests:
            n += 1
            env.last = None
            try:
                fn(env)
                out.write("ok %d - %s\n" % (n, name))
            except Exception as e:  # noqa: BLE001 - a test's failure of any kind is a "not ok"
                failed += 1
                out.write("not ok %d - %s\n" % (n, name))
                kind = "" if isinstance(e, Fail) else type(e).__name__ + ": "
                for line in (kind + str(e)).splitlines() or [""]:
                    out.write("#   %s\n" % line)
                if not isinstance(e, Fail):
                    for line in traceback.format_exc().splitlines()[-6:]:
                        out.write("#   %s\n" % line)
                if env.last:
                    m, p, sent, st, text = env.last
                    out.write("#   last exchange: %s %s\n" % (m, p))
                    if sent:
                        out.write("#     sent: %s\n" % sent)
                    out.write("#     got:  %s %s\n" % (st, text))
                if not env.alive():
                    out.write("#   the server is no longer running:\n")
                    for line in env.log_tail(1500).splitlines()[-15:]:
                        out.write("#     | %s\n" % line)
            out.flush()

        # Checks over the whole run.
        n += 1
        if env.server_errors:
            failed += 1
            out.write("not ok %d - no 5xx response to any request of this file\n" % n)
            for m, p, sent, st, text in env.server_errors[:20]:
                out.write("#   %s %s sent=%s -> %s %s\n" % (m, p, sent, st, text))
        else:
            out.write("ok %d - no 5xx response to any request of this file\n" % n)
        n += 1
        if env.leaks:
            failed += 1
            out.write("not ok %d - R29 no mailbox password in any response\n" % n)
            for m, p, s in env.leaks[:20]:
                out.write("#   %s %s echoed a password\n" % (m, p))
        else:
            out.write("ok %d - R29 no mailbox password in any response\n" % n)
        n += 1
        was_alive = env.alive()
        rc, secs = env.stop()
        if was_alive and rc == 0:
            out.write("ok %d - serve exits 0 within 10 s of SIGTERM (graceful shutdown, %.1fs)\n"
                      % (n, secs))
        else:
            failed += 1
            why = ("it had already exited with %s" % rc) if not was_alive else (
                "killed after 10 s" if rc is None else "exit status %s" % rc)
            out.write("not ok %d - serve exits 0 within 10 s of SIGTERM (graceful shutdown)\n"
                      "#   %s\n" % (n, why))
            for line in env.log_tail(1200).splitlines()[-10:]:
                out.write("#     | %s\n" % line)
        out.flush()
        env.cleanup()
        return 1 if failed else 0


def main(suite):
    sys.exit(suite.run())
