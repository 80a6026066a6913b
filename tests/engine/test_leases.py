#!/usr/bin/env python3
"""test_leases.py — scaling out on PostgreSQL: two `mailfleet worker` processes and one
`mailfleet api` share one PostgreSQL database and the lab's real Dovecot + Postfix; the workers
lease the mailboxes (DESIGN.md "each worker leases the mailboxes it runs"; store/leases.h).

  leases   10 mailboxes, 2 workers: GET /api/v1/workers shows every mailbox leased by exactly
           one live worker, 5 each (fair share); mail delivered to each of the 10 addresses is
           stored once, and only the worker holding the lease syncs it (its log says
           "sync: <address>: N new message(s)", the other worker's never does).
  R12/R13  kill -9 of the worker holding a mailbox whose send is in the middle of SMTP: the
           other worker takes over all of its mailboxes within 2 x lease_seconds (lease_seconds
           3 here); mail delivered afterwards to them is stored exactly once.
  R26      the message that was "sending" under the dead worker (Postfix had it: a proxy in
           front of Postfix held back the answer to DATA) ends "unknown" and is never sent again
           (one copy in the recipient's Dovecot Maildir, also later); a message of the same
           mailbox that was still queued is sent by the new holder, once.
  share    a third worker started later gets its fair share: the survivor gives 5 back within a
           few heartbeats; mail is still stored once.
  stop     SIGTERM: a worker exits 0 and gives its leases back at once (the other takes them
           before they could have expired); after the last one no lease is held; the API exits
           0; no 5xx, no mailbox password in any answer.

PostgreSQL: a database of its own in the cluster of MAILFLEET_TEST_PG_URL (scripts/test.sh
starts one), else a private cluster started here with tests/lab/postgres.sh. Needs root (the
lab runs Dovecot and Postfix). Python 3 standard library only.
Run alone: python3 tests/engine/test_leases.py (TAP on stdout); MAILFLEET_KEEP_TMP=1 keeps the
folders.
"""
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import types
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))
import harness  # noqa: E402
from harness import Env, Fail, check, expect, short  # noqa: E402
from lab import Lab, address, free_base, message, new_passwords  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
POSTGRES_SH = os.path.join(REPO, "tests", "lab", "postgres.sh")
LEASE = 3            # lease_seconds of the workers
N_BOXES = 10
USERS = ["box%d" % i for i in range(N_BOXES)] + ["rcpt"]
ENGINE_ENV = {
    "MAILFLEET_LEASE_SECONDS": str(LEASE),
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
}

S = types.SimpleNamespace(lab=None, env=None, passwords={}, pg_dir=None, pg_admin_url=None,
                          db_name=None, boxes=[], users={}, proxy=None, killed=None)
tests = []


def test(name):
    def deco(fn):
        tests.append((name, fn))
        return fn
    return deco


def wait(desc, probe, timeout, interval=0.2):
    return harness.wait(desc, probe, timeout, interval)


# --- PostgreSQL ------------------------------------------------------------------------------

def psql_bin():
    for d in sorted(os.listdir("/usr/lib/postgresql"), reverse=True) if os.path.isdir(
            "/usr/lib/postgresql") else []:
        p = os.path.join("/usr/lib/postgresql", d, "bin", "psql")
        if os.access(p, os.X_OK):
            return p
    return shutil.which("psql") or "psql"


def with_db(url, name):
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def psql(url, sql):
    p = subprocess.run([psql_bin(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-F", "\t",
                        "-d", url, "-c", sql], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise Fail("psql: %s: %s" % (sql[:200], p.stderr[-500:]))
    return [line.split("\t") for line in p.stdout.splitlines() if line]


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def pg_start():
    """A fresh database: in MAILFLEET_TEST_PG_URL's cluster, else in a private cluster."""
    base = os.environ.get("MAILFLEET_TEST_PG_URL")
    if not base:
        S.pg_dir = os.path.join(S.lab.dir, "pg")
        port = free_base(1, 30000, 39990)
        p = subprocess.run([POSTGRES_SH, "start", S.pg_dir, str(port)], capture_output=True,
                           text=True, timeout=180, stdin=subprocess.DEVNULL)
        if p.returncode != 0:
            raise RuntimeError("postgres.sh start: %s" % p.stderr[-800:])
        base = p.stdout.strip().splitlines()[-1]
    S.pg_admin_url = base
    S.db_name = "mf_leases_%d_%s" % (os.getpid(), secrets.token_hex(3))
    psql(base, "CREATE DATABASE %s" % S.db_name)
    return with_db(base, S.db_name)


def pg_stop():
    problems = []
    if S.db_name and S.pg_admin_url:
        try:
            psql(S.pg_admin_url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % S.db_name)
        except Exception as e:  # noqa: BLE001
            problems.append(str(e))
    if S.pg_dir:
        subprocess.run([POSTGRES_SH, "stop", S.pg_dir], capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return problems


class PgEnv(Env):
    """harness.Env on PostgreSQL: `mailfleet api` (self.proc) and N `mailfleet worker`s."""

    def __init__(self, db_url):
        super().__init__()
        self.db_url = db_url
        self.workers = []  # namespaces: proc, log_path, n

    def start(self):
        rc, out, errout = self.cli("migrate")
        if rc != 0:
            raise RuntimeError("mailfleet migrate failed: rc %s %s" % (rc, errout[-800:]))
        self.op = self.user("operator@mailfleet.test", "Olga Operator", "operator")
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [harness.BIN, "api", "--listen", "127.0.0.1:%d" % self.port],
            stdout=log, stderr=subprocess.STDOUT, env=self.cli_env(), cwd=self.tmp)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("api exited with %s: %s" % (self.proc.returncode,
                                                               self.log_tail()))
            try:
                if self.req("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("api did not answer /healthz within 20 s: " + self.log_tail())

    def start_worker(self):
        n = len(self.workers)
        path = os.path.join(self.tmp, "worker%d.log" % n)
        log = open(path, "wb")
        proc = subprocess.Popen([harness.BIN, "worker"], stdout=log, stderr=subprocess.STDOUT,
                                env=self.cli_env(), cwd=self.tmp)
        log.close()
        w = types.SimpleNamespace(proc=proc, log_path=path, n=n)
        self.workers.append(w)
        return w

    def sql(self, query, params=()):
        parts = query.split("?")
        check(len(parts) == len(params) + 1, "sql: %d placeholders, %d params"
              % (len(parts) - 1, len(params)))
        text = parts[0] + "".join(lit(p) + rest for p, rest in zip(params, parts[1:]))
        return psql(self.db_url, text)

    def stop_workers(self):
        out = []
        for w in self.workers:
            if w.proc.poll() is None:
                w.proc.send_signal(signal.SIGTERM)
                try:
                    out.append(w.proc.wait(timeout=15))
                except subprocess.TimeoutExpired:
                    w.proc.kill()
                    w.proc.wait()
                    out.append(None)
        return out


def log_of(w):
    with open(w.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


# --- a proxy in front of Postfix that swallows the answer to the first DATA ------------------

class HoldingProxy:
    """Relays SMTP to Postfix. On the first connection that completes DATA (client sends the
    final "\\r\\n.\\r\\n"), the server's answer is held back for good: Postfix has the message
    (and delivers it) but the client never learns it. Later connections relay normally."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held = threading.Event()   # a DATA answer is being held
        self.used_hold = False
        self.stopping = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(c,), daemon=True).start()

    def _relay(self, c):
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        except OSError:
            c.close()
            return
        self.conns += [c, u]
        hold_this = False
        in_data = False
        tail = b""
        holding = False
        try:
            while not self.stopping:
                r, _, _ = select.select([c, u], [], [], 0.5)
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is c:
                        u.sendall(data)
                        tail = (tail + data)[-4096:]
                        if not in_data and re.search(rb"(^|\r\n)DATA\r\n$", tail, re.I):
                            in_data = True
                        elif in_data and tail.endswith(b"\r\n.\r\n"):
                            in_data = False
                            if not self.used_hold:
                                self.used_hold = True
                                hold_this = True
                                holding = True
                                self.held.set()
                    else:
                        if holding and hold_this:
                            continue  # the answer to DATA (and anything after) never goes back
                        c.sendall(data)
        except OSError:
            pass
        finally:
            for s in (c, u):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass


# --- helpers ---------------------------------------------------------------------------------

def workers_view(env):
    """GET /workers -> {worker pid: set(mailbox ids)} and the raw items."""
    body = expect(env.req("GET", "/workers", env.op.token), 200)
    out = {}
    for w in body.get("items") or []:
        check(isinstance(w.get("mailboxes"), list) and w.get("mailbox_count") == len(w["mailboxes"]),
              "worker item without mailboxes/mailbox_count: %s" % short(w))
        out[int(w["pid"])] = set(w["mailboxes"])
    return out, body.get("items")


def holder_of(view, mailbox_id):
    return [pid for pid, boxes in view.items() if mailbox_id in boxes]


def stored_count(env, mailbox_id, subject):
    return int(env.sql("SELECT COUNT(*) FROM messages WHERE mailbox_id = ? AND subject = ?",
                       (mailbox_id, subject))[0][0])


def deliver(local, subject):
    text = message([("From", "Pat Prospect <pat@prospect.test>"), ("To", address(local)),
                    ("Subject", subject),
                    ("Message-ID", "<%s@prospect.test>" % secrets.token_hex(8)),
                    ("Date", time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))],
                   "Hello %s\n" % local)
    refused = S.lab.send("pat@prospect.test", [address(local)], text)
    check(not refused, "Postfix refused %s: %s" % (local, refused))


def wait_stored_once(env, boxes, subject_of, timeout=30):
    """Every (local, mailbox id) in boxes has its message stored; then (after a pause in which a
    duplicate would arrive) exactly once."""
    def probe():
        missing = [local for local, mid in boxes if stored_count(env, mid, subject_of(local)) < 1]
        return not missing, missing
    wait("the messages to be stored", probe, timeout)
    time.sleep(1.5)
    counts = {local: stored_count(env, mid, subject_of(local)) for local, mid in boxes}
    check(all(n == 1 for n in counts.values()), "stored counts: %s" % counts)


def maildir_count(local, subject):
    return sum(1 for m in S.lab.messages(local) if (m.get("Subject") or "") == subject)


# --- tests -----------------------------------------------------------------------------------

@test("setup: api + 2 workers on one PostgreSQL database; 10 mailboxes on the lab Dovecot + "
      "Postfix are good and backfilled")
def _(env):
    for _ in range(2):
        env.start_worker()
    org = env.org("Lease Lab Inc")
    S.proxy = HoldingProxy(S.lab.smtp_port)
    for i in range(N_BOXES):
        local = "box%d" % i
        who = env.user(address(local), "Box %d" % i, "user", org)
        pw = S.passwords[local]
        env.secrets.add(pw)
        smtp = {"host": "127.0.0.1", "port": S.lab.smtp_port, "security": "starttls",
                "username": address(local), "password": pw}
        if i == N_BOXES - 1:  # the proxied one: plain SMTP (AUTH allowed), answer to DATA held
            smtp = dict(smtp, port=S.proxy.port, security="none")
        body = {"owner_id": who.id, "address": address(local),
                "imap": {"host": "127.0.0.1", "port": S.lab.imap_port, "security": "starttls",
                         "username": address(local), "password": pw},
                "smtp": smtp}
        mb = expect(env.req("POST", "/mailboxes", who.token, body), 201)
        S.boxes.append((local, mb["id"]))
        S.users[local] = who

    def probe():
        bad = []
        for local, mid in S.boxes:
            m = expect(env.req("GET", "/mailboxes/%s" % mid, S.users[local].token), 200)
            if not (m.get("status") == "good" and (m.get("sync") or {}).get("backfill_done")):
                bad.append((local, m.get("status"), m.get("status_reason")))
        return not bad, bad
    wait("10 mailboxes good and backfilled", probe, 60)


@test("leases: GET /workers shows 2 live workers holding 5 mailboxes each, every mailbox held "
      "by exactly one (fair share); only operators may read it")
def _(env):
    pids = {w.proc.pid for w in env.workers}
    ids = {mid for _, mid in S.boxes}

    def probe():
        view, items = workers_view(env)
        held = [m for boxes in view.values() for m in boxes]
        ok = (set(view) == pids and sorted(len(b) for b in view.values()) == [5, 5]
              and len(held) == len(set(held)) and set(held) == ids)
        return ok, items
    items = wait("2 workers with 5 mailboxes each", probe, 20)
    for w in items:
        check(re.match(r"^[^:]+:\d+:[0-9a-f]{8}$", w["id"]) and w["host"] and w["expires_at"] >
              w["heartbeat_at"] >= w["started_at"], "worker item: %s" % short(w))
    local, _mid = S.boxes[0]
    st, body = env.req("GET", "/workers", S.users[local].token)
    check(st == 403 and harness.err(body).get("code") == "forbidden",
          "a user got %s %s" % (st, short(body)))


@test("leases: mail delivered to each of the 10 mailboxes is stored once, synced only by the "
      "worker holding its lease (worker logs)")
def _(env):
    view, _ = workers_view(env)
    marks = {w.proc.pid: len(log_of(w)) for w in env.workers}
    tag = secrets.token_hex(4)
    subject_of = lambda local: "lease probe %s to %s" % (tag, local)  # noqa: E731
    for local, _mid in S.boxes:
        deliver(local, subject_of(local))
    wait_stored_once(env, S.boxes, subject_of)
    view2, _ = workers_view(env)
    check(view2 == view, "the leases moved during the test: %s -> %s" % (view, view2))
    for local, mid in S.boxes:
        holder = holder_of(view, mid)
        check(len(holder) == 1, "%s held by %s" % (mid, holder))
        for w in env.workers:
            synced = ("sync: %s: " % address(local)) in log_of(w)[marks[w.proc.pid]:]
            if w.proc.pid == holder[0]:
                check(synced, "worker %d (holder of %s) logged no sync of it" % (w.proc.pid, local))
            else:
                check(not synced, "worker %d synced %s, which it does not hold" % (w.proc.pid, local))


@test("R12/R26 kill -9 of the worker holding a mailbox with a send in the middle of SMTP: the "
      "other worker takes over all its mailboxes within 2 x lease_seconds")
def _(env):
    local, mid = S.boxes[-1]  # the proxied mailbox
    who = S.users[local]
    S.stuck_subject = "stuck send %s" % secrets.token_hex(4)
    S.queued_subject = "queued send %s" % secrets.token_hex(4)
    b = expect(env.req("POST", "/messages", who.token,
                       {"from_mailbox_id": mid, "to": [address("rcpt")],
                        "subject": S.stuck_subject, "text": "sent once or never\n"}), 202)
    S.stuck_id = b["id"]
    wait("the proxy to hold the answer to DATA", lambda: (S.proxy.held.is_set(), None), 20)
    # Postfix has it: it reaches rcpt's Maildir while the worker still waits for the answer
    wait("the held message in rcpt's Maildir",
         lambda: (maildir_count("rcpt", S.stuck_subject) == 1, maildir_count("rcpt", S.stuck_subject)),
         20)
    row = env.sql("SELECT status, claimed_by FROM outbox WHERE id = ?", (S.stuck_id,))[0]
    check(row[0] == "sending", "the held message is %s, not sending" % row)
    # a second message of the same mailbox waits behind it (one SMTP connection per mailbox)
    b2 = expect(env.req("POST", "/messages", who.token,
                        {"from_mailbox_id": mid, "to": [address("rcpt")],
                         "subject": S.queued_subject, "text": "sent by the new holder\n"}), 202)
    S.queued_id = b2["id"]
    time.sleep(0.5)
    check(env.sql("SELECT status FROM outbox WHERE id = ?", (S.queued_id,))[0][0] == "queued",
          "the second message did not wait")
    view, _ = workers_view(env)
    holder = holder_of(view, mid)
    check(len(holder) == 1, "%s held by %s" % (mid, holder))
    victim = [w for w in env.workers if w.proc.pid == holder[0]][0]
    check(row[1] and (":%d:" % victim.proc.pid) in row[1],
          "claimed_by %r does not name the holder %d" % (row[1], victim.proc.pid))
    survivor = [w for w in env.workers if w is not victim][0]
    S.killed, S.survivor = victim, survivor
    S.taken_over = set(view[victim.proc.pid])
    t0 = time.time()
    victim.proc.kill()
    victim.proc.wait()

    def probe():
        v, _ = workers_view(env)
        return set(v) == {survivor.proc.pid} and len(v[survivor.proc.pid]) == N_BOXES, v
    wait("the survivor to hold all 10", probe, 4 * LEASE, interval=0.1)
    took = time.time() - t0
    sys.stdout.write("# takeover after %.1f s (lease_seconds %d)\n" % (took, LEASE))
    check(took <= 2 * LEASE + 0.5, "takeover took %.1f s > 2 x %d s" % (took, LEASE))
    check("took over mailbox %s from worker" % mid in log_of(survivor),
          "the survivor's log has no takeover line for %s" % mid)


@test("R26 the message that was sending under the dead worker ends unknown and is never sent "
      "again (one copy in Dovecot); the queued one is sent once by the new holder")
def _(env):
    local, mid = S.boxes[-1]
    who = S.users[local]

    def probe():
        m = expect(env.req("GET", "/messages/%s" % S.stuck_id, who.token), 200)
        return m.get("status") == "unknown", m
    m = wait("the held message to be unknown", probe, 10)
    check(m.get("error"), "unknown without an error text: %s" % short(m))
    q = wait("the queued message to be sent",
             lambda: (lambda m: (m.get("status") == "sent", m))(
                 expect(env.req("GET", "/messages/%s" % S.queued_id, who.token), 200)), 20)
    check(q.get("status") == "sent", "queued: %s" % short(q))
    wait("the queued message in rcpt's Maildir",
         lambda: (maildir_count("rcpt", S.queued_subject) == 1, None), 15)
    time.sleep(2 * LEASE)  # a re-send would come in this time
    counts = (maildir_count("rcpt", S.stuck_subject), maildir_count("rcpt", S.queued_subject))
    check(counts == (1, 1), "copies in rcpt's Maildir (held, queued): %s" % (counts,))
    st = env.sql("SELECT status FROM outbox WHERE id = ?", (S.stuck_id,))[0][0]
    check(st == "unknown", "the held message is %s now" % st)
    check("marked unknown and will not be sent again (R26)" in log_of(S.survivor),
          "the survivor's log does not report the unknown message")


@test("R13 mail delivered after the takeover to the dead worker's mailboxes (and the others) is "
      "stored exactly once")
def _(env):
    tag = secrets.token_hex(4)
    subject_of = lambda local: "after takeover %s to %s" % (tag, local)  # noqa: E731
    for local, _mid in S.boxes:
        deliver(local, subject_of(local))
    wait_stored_once(env, S.boxes, subject_of)
    moved = [local for local, mid in S.boxes if mid in S.taken_over]
    check(len(moved) == 5, "taken over: %s" % moved)
    for local in moved:
        check(("sync: %s: " % address(local)) in log_of(S.survivor),
              "the survivor never synced %s" % local)


@test("leases: a worker started later gets its fair share (the survivor gives 5 back); mail is "
      "still stored once")
def _(env):
    S.late = env.start_worker()
    pids = {S.survivor.proc.pid, S.late.proc.pid}

    def probe():
        v, _ = workers_view(env)
        held = [m for boxes in v.values() for m in boxes]
        return (set(v) == pids and sorted(len(b) for b in v.values()) == [5, 5]
                and len(held) == len(set(held)) == N_BOXES), v
    wait("5 + 5 after the late start", probe, 6 * LEASE)
    check("gave back 5" in log_of(S.survivor), "the survivor's log does not say it gave back 5")
    tag = secrets.token_hex(4)
    subject_of = lambda local: "after rebalance %s to %s" % (tag, local)  # noqa: E731
    for local, _mid in S.boxes:
        deliver(local, subject_of(local))
    wait_stored_once(env, S.boxes, subject_of)


@test("stop: SIGTERM, a worker exits 0 and gives its leases back at once: the other takes them "
      "before they could have expired; after the last one no lease is held")
def _(env):
    def term(w):
        w.proc.send_signal(signal.SIGTERM)
        try:
            rc = w.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            w.proc.kill()
            rc = None
        check(rc == 0, "worker exit status %s: %s" % (rc, log_of(w)[-800:]))
    t0 = time.time()
    term(S.survivor)

    def probe():
        v, _ = workers_view(env)
        return set(v) == {S.late.proc.pid} and len(v[S.late.proc.pid]) == N_BOXES, v
    wait("the late worker to hold all 10", probe, 4 * LEASE, interval=0.1)
    took = time.time() - t0
    sys.stdout.write("# taken after a clean stop in %.1f s\n" % took)
    check(took < LEASE, "took %.1f s: as slow as an expiry (%d s)" % (took, LEASE))
    term(S.late)
    held = env.sql("SELECT COUNT(*) FROM mailbox_leases WHERE worker_id <> ''")[0][0]
    check(int(held) == 0, "%s leases still held after a clean stop" % held)
    view, _ = workers_view(env)
    check(not view, "GET /workers after every worker stopped: %s" % view)


# --- runner ----------------------------------------------------------------------------------

def run_suite(env):
    out = sys.stdout
    total = len(tests) + 3
    out.write("1..%d\n" % total)
    failed = n = 0
    for name, fn in tests:
        n += 1
        env.last = None
        t0 = time.time()
        try:
            fn(env)
            out.write("ok %d - %s\n" % (n, name))
        except Exception as e:  # noqa: BLE001
            failed += 1
            out.write("not ok %d - %s\n" % (n, name))
            kind = "" if isinstance(e, Fail) else type(e).__name__ + ": "
            for line in (kind + str(e)).splitlines() or [""]:
                out.write("#   %s\n" % line)
            if not isinstance(e, Fail):
                for line in traceback.format_exc().splitlines()[-6:]:
                    out.write("#   %s\n" % line)
            if env.last:
                out.write("#   last exchange: %s %s -> %s %s\n" % (env.last[0], env.last[1],
                                                                   env.last[3], env.last[4]))
            for w in env.workers:
                if w.proc.poll() is not None and w is not S.killed:
                    out.write("#   worker %d exited with %s:\n" % (w.n, w.proc.returncode))
                    for line in log_of(w)[-1500:].splitlines()[-12:]:
                        out.write("#     | %s\n" % line)
        out.write("# took %.1f s\n" % (time.time() - t0))
        out.flush()
    n += 1
    if env.server_errors:
        failed += 1
        out.write("not ok %d - no 5xx response\n" % n)
        for m, p, sent, st, text in env.server_errors[:10]:
            out.write("#   %s %s -> %s %s\n" % (m, p, st, text))
    else:
        out.write("ok %d - no 5xx response\n" % n)
    n += 1
    if env.leaks:
        failed += 1
        out.write("not ok %d - R29 no mailbox password in any response\n" % n)
    else:
        out.write("ok %d - R29 no mailbox password in any response\n" % n)
    n += 1
    rcs = env.stop_workers()
    rc, secs = env.stop()
    logs = [log_of(w) for w in env.workers] + [env.log_tail(10 ** 7)]
    sanitizer = [l for text in logs for l in text.splitlines()
                 if "runtime error:" in l or "Sanitizer" in l]
    if sanitizer:
        rc = "sanitizer report: %s" % sanitizer[:3]
    if rc == 0 and all(r == 0 for r in rcs):
        out.write("ok %d - api (and any worker left) exit 0 on SIGTERM, no sanitizer report\n" % n)
    else:
        failed += 1
        out.write("not ok %d - api (and any worker left) exit 0 on SIGTERM, no sanitizer report\n"
                  "#   api %s, workers %s\n"
                  % (n, rc, rcs))
        out.write("".join("#     | %s\n" % l for l in env.log_tail(1200).splitlines()[-10:]))
    out.flush()
    return 1 if failed else 0


def main():
    if os.geteuid() != 0:
        sys.stdout.write("1..0 # SKIP the mail lab (Dovecot, Postfix) needs root\n")
        return 0
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    t0 = time.time()
    rc = 1
    S.lab = Lab("leases")
    env = None
    try:
        try:
            S.lab.start_dovecot(new_passwords(S.passwords, USERS))
            S.lab.start_postfix()
            db_url = pg_start()
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..%d\nBail out! leases: cannot start the lab: %s\n"
                             % (len(tests) + 3, str(e).replace("\n", " | ")[:1500]))
            return 1
        sys.stdout.write("# lab and PostgreSQL up in %.1f s\n" % (time.time() - t0))
        os.environ["MAILFLEET_CA_FILE"] = S.lab.ca_file
        os.environ.update(ENGINE_ENV)
        env = S.env = PgEnv(db_url)
        try:
            env.start()
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..%d\nBail out! leases: cannot start mailfleet api: %s\n"
                             % (len(tests) + 3, e))
            return 1
        rc = run_suite(env)
    except KeyboardInterrupt:
        sys.stdout.write("Bail out! leases: interrupted\n")
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if env is not None:
            env.stop_workers()
            env.stop()
            env.cleanup()
        if S.proxy:
            S.proxy.stop()
        problems = pg_stop() + S.lab.stop()
        if problems:
            sys.stdout.write("# stopping the lab: %s\n" % " | ".join(problems))
        S.lab.cleanup()
        sys.stdout.write("# leases suite: %.1f s\n" % (time.time() - t0))
        sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
