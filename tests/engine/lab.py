"""lab.py — drives the real mail servers of tests/lab/ (dovecot.sh, postfix.sh) for the engine
tests, and reads and writes their Maildirs.

  Lab(name)              a temporary folder (removed by cleanup() unless MAILFLEET_KEEP_TMP)
  .start_dovecot(users)  users: {local part or address: password}; sets imap_port, imaps_port,
                         lmtp_port, auth_port, ca_file (four consecutive free ports, retried)
  .start_postfix()       Postfix delivering into this Dovecot by LMTP; sets smtp_port
  .stop()                stops whatever this Lab started (safe to call twice, also after errors)
  .place(email, days_ago, text)        dovecot.sh place: into INBOX (cur/, unseen)
  .place_folder(email, folder, days_ago, text, flags)  into a subfolder (".Sent") ourselves
  .snapshot(email)       every message file of the user's Maildir (all folders, cur/ and new/)
  .send(mail_from, rcpts, text)        SMTP to Postfix (no AUTH: loopback is in mynetworks)

Python 3 standard library only. Every command has a timeout; nothing here sleeps longer than
a poll interval.
"""
import email.parser
import email.policy
import grp
import os
import pwd
import random
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DOVECOT_SH = os.path.join(REPO, "tests", "lab", "dovecot.sh")
POSTFIX_SH = os.path.join(REPO, "tests", "lab", "postfix.sh")
DOMAIN = "example.test"


class LabError(RuntimeError):
    pass


def _port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_base(n, lo=20000, hi=29990):
    """A base port with n consecutive free ports after it (random, so parallel runs differ)."""
    for _ in range(200):
        b = random.randint(lo, hi - n)
        if all(_port_free(p) for p in range(b, b + n)):
            return b
    raise LabError("no %d consecutive free ports in %d-%d" % (n, lo, hi))


def parse_line(out):
    """The KEY=VALUE ... line a lab script prints -> dict."""
    vals = {}
    for line in out.splitlines():
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                vals[k] = v
    return vals


def address(user):
    return user if "@" in user else "%s@%s" % (user, DOMAIN)


class Lab:
    def __init__(self, name="lab"):
        self.dir = tempfile.mkdtemp(prefix="mf-engine-%s-" % name)
        os.chmod(self.dir, 0o755)  # Dovecot's mail processes run as nobody
        self.dovecot_up = False
        self.postfix_up = False
        self.imap_port = self.imaps_port = self.lmtp_port = self.auth_port = None
        self.smtp_port = None
        self.ca_file = None
        self.base = None
        self.timings = {}

    # --- running the scripts ------------------------------------------------------------
    def run(self, script, *args, stdin=None, timeout=60):
        t0 = time.time()
        p = subprocess.run([script] + [str(a) for a in args], input=stdin,
                           stdin=None if stdin is not None else subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        key = "%s %s" % (os.path.basename(script), args[0] if args else "")
        self.timings[key] = self.timings.get(key, 0.0) + time.time() - t0
        if p.returncode != 0:
            raise LabError("%s %s: exit %s\nstdout: %s\nstderr: %s" % (
                os.path.basename(script), " ".join(map(str, args)), p.returncode,
                p.stdout[-1500:], p.stderr[-1500:]))
        return p.stdout

    def start_dovecot(self, users, attempts=3):
        users_file = os.path.join(self.dir, "users.txt")
        with open(users_file, "w") as f:
            for u, pw in users.items():
                f.write("%s:%s\n" % (address(u), pw))
        last = None
        for _ in range(attempts):
            base = free_base(4)
            try:
                out = self.run(DOVECOT_SH, "start", self.dir, base, users_file)
            except LabError as e:  # a port taken between our check and Dovecot's bind
                last = e
                self.run(DOVECOT_SH, "stop", self.dir)
                continue
            v = parse_line(out)
            for k in ("IMAP_PORT", "IMAPS_PORT", "LMTP_PORT", "AUTH_PORT", "CA_FILE"):
                if k not in v:
                    self.run(DOVECOT_SH, "stop", self.dir)
                    raise LabError("dovecot.sh start printed no %s: %r" % (k, out))
            self.base = base
            self.imap_port = int(v["IMAP_PORT"])
            self.imaps_port = int(v["IMAPS_PORT"])
            self.lmtp_port = int(v["LMTP_PORT"])
            self.auth_port = int(v["AUTH_PORT"])
            self.ca_file = v["CA_FILE"]
            self.dovecot_up = True
            return v
        raise LabError("cannot start Dovecot: %s" % last)

    def stop_dovecot(self):
        self.run(DOVECOT_SH, "stop", self.dir)
        self.dovecot_up = False

    def restart_dovecot(self):
        out = self.run(DOVECOT_SH, "start", self.dir, self.base)
        self.dovecot_up = True
        return parse_line(out)

    def start_postfix(self, attempts=3):
        last = None
        for _ in range(attempts):
            port = free_base(1)
            try:
                out = self.run(POSTFIX_SH, "start", self.dir, port, self.lmtp_port, self.auth_port)
            except LabError as e:
                last = e
                self.run(POSTFIX_SH, "stop", self.dir)
                continue
            v = parse_line(out)
            if "SMTP_PORT" not in v:
                self.run(POSTFIX_SH, "stop", self.dir)
                raise LabError("postfix.sh start printed no SMTP_PORT: %r" % out)
            self.smtp_port = int(v["SMTP_PORT"])
            self.postfix_up = True
            return v
        raise LabError("cannot start Postfix: %s" % last)

    def stop(self):
        """Stop everything this lab started; returns a list of problems (never raises)."""
        problems = []
        if self.postfix_up or os.path.isdir(os.path.join(self.dir, "postfix")):
            try:
                self.run(POSTFIX_SH, "stop", self.dir)
                self.postfix_up = False
            except Exception as e:  # noqa: BLE001
                problems.append(str(e))
        if self.dovecot_up or os.path.isdir(os.path.join(self.dir, "dovecot")):
            try:
                self.run(DOVECOT_SH, "stop", self.dir)
                self.dovecot_up = False
            except Exception as e:  # noqa: BLE001
                problems.append(str(e))
        return problems

    def cleanup(self):
        if os.environ.get("MAILFLEET_KEEP_TMP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- mail ---------------------------------------------------------------------------
    def maildir(self, user):
        a = address(user)
        local, dom = a.split("@", 1)
        return os.path.join(self.dir, "mail", dom, local, "Maildir")

    def mail_files(self, user):
        """Paths of every message file in the user's Maildir (cur/ and new/ of all folders)."""
        for dirpath, _dirs, files in os.walk(self.maildir(user)):
            if os.path.basename(dirpath) in ("cur", "new"):
                for f in sorted(files):
                    yield os.path.join(dirpath, f)

    def messages(self, user, policy=email.policy.compat32):
        """[parsed message, ...] of every file in the user's Maildir (all folders)."""
        parser = email.parser.BytesParser(policy=policy)
        out = []
        for path in self.mail_files(user):
            try:
                with open(path, "rb") as fh:
                    out.append(parser.parse(fh))
            except OSError:  # moved from new/ to cur/ meanwhile
                continue
        return out

    def dovecot_log(self):
        try:
            with open(os.path.join(self.dir, "dovecot", "dovecot.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def postfix_log(self):
        try:
            with open(os.path.join(self.dir, "postfix", "maillog"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def place(self, user, days_ago, text):
        """INBOX, via dovecot.sh place (unseen, INTERNALDATE days_ago). -> the file path."""
        return self.run(DOVECOT_SH, "place", self.dir, address(user), days_ago, "-",
                        stdin=text).strip()

    def place_folder(self, user, folder, days_ago, text, flags=""):
        """Into Maildir subfolder `folder` (".Sent"): what a mail client's "save to Sent"
        leaves. cur/ with the given flags (e.g. "S"), mtime days_ago, owned by nobody."""
        root = self.maildir(user)
        uid = pwd.getpwnam("nobody").pw_uid
        gid = grp.getgrnam("nogroup").gr_gid
        fdir = os.path.join(root, folder)
        for d in (fdir, os.path.join(fdir, "cur"), os.path.join(fdir, "new"),
                  os.path.join(fdir, "tmp")):
            if not os.path.isdir(d):
                os.mkdir(d, 0o700)
                os.chown(d, uid, gid)
        data = text.encode()
        when = time.time() - float(days_ago) * 86400
        base = "%d.M%dP%d.mflabt" % (int(when), time.time_ns() % 1000000, os.getpid())
        tmp = os.path.join(fdir, "tmp", base)
        with open(tmp, "wb") as f:
            f.write(data)
        os.utime(tmp, (when, when))
        os.chown(tmp, uid, gid)
        os.chmod(tmp, 0o600)
        final = os.path.join(fdir, "cur", "%s,S=%d:2,%s" % (base, len(data), flags))
        n = 0
        while os.path.exists(final):
            n += 1
            final = os.path.join(fdir, "cur", "%sQ%d,S=%d:2,%s" % (base, n, len(data), flags))
        os.rename(tmp, final)
        return final

    def snapshot(self, user):
        """Sorted relative paths of every message file (all folders, cur/ and new/): the
        Maildir flags are in the names (":2,S" = \\Seen), a move or delete changes the set."""
        root = self.maildir(user)
        out = []
        for dirpath, dirnames, filenames in os.walk(root):
            if os.path.basename(dirpath) in ("cur", "new"):
                out.extend(os.path.relpath(os.path.join(dirpath, f), root) for f in filenames)
        return sorted(out)

    def new_files(self, user):
        return [p for p in self.snapshot(user) if p.startswith("new/")]

    def uidvalidity_reset(self, user):
        return parse_line(self.run(DOVECOT_SH, "uidvalidity-reset", self.dir, address(user)))

    def send(self, mail_from, rcpts, text):
        """Submit by SMTP to the lab Postfix; -> refused recipients (dict)."""
        s = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=20)
        try:
            return s.sendmail(mail_from, rcpts, text.encode())
        finally:
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                s.close()


def message(headers, body):
    """An RFC 5322 message from [(name, value)] and a body (CRLF line ends)."""
    lines = ["%s: %s" % (k, v) for k, v in headers]
    return "\r\n".join(lines) + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")


# --- running a lab suite ---------------------------------------------------------------------

def _on_term(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def run_lab_suite(name, suite, S, users, engine_env, setup=None, cleanup=None):
    """The main() of a lab test file: skip without root; start Dovecot with `users` ({local
    part: password}) and Postfix as S.lab; point mailfleet at the lab's CA, set engine_env, then
    setup() (more environment) and suite.run(); always stop S.env (the server under test),
    cleanup() (receivers, sinks) and the lab, also on SIGTERM. Returns the exit status."""
    if os.geteuid() != 0:
        sys.stdout.write("1..0 # SKIP the mail lab (Dovecot, Postfix) needs root\n")
        return 0
    signal.signal(signal.SIGTERM, _on_term)
    t0 = time.time()
    rc = 1
    interrupted = False
    S.lab = Lab(name)
    try:
        try:
            S.lab.start_dovecot(users)
            S.lab.start_postfix()
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..%d\nBail out! %s: cannot start the mail lab: %s\n"
                             % (len(suite.tests) + 3, name, str(e).replace("\n", " | ")[:1500]))
            sys.stdout.flush()
            return 1
        sys.stdout.write("# mail lab up in %.1f s\n" % (time.time() - t0))
        os.environ["MAILFLEET_CA_FILE"] = S.lab.ca_file
        os.environ.update(engine_env)
        if setup:
            setup()
        rc = suite.run()
    except KeyboardInterrupt as e:
        interrupted = True
        sys.stdout.write("Bail out! %s: interrupted (%s)\n" % (name, e))
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the cleanup finish
        e = getattr(S, "env", None)
        if e is not None:
            if e.alive():
                e.stop()
            if interrupted:
                e.cleanup()
        problems = list(cleanup() or []) if cleanup else []
        problems += S.lab.stop()
        if problems:
            sys.stdout.write("# stopping the lab: %s\n" % " | ".join(problems))
            rc = 1
        if os.environ.get("MAILFLEET_KEEP_TMP"):
            sys.stdout.write("# kept lab %s\n" % S.lab.dir)
        S.lab.cleanup()
        sys.stdout.write("# %s suite: %.1f s\n" % (name, time.time() - t0))
        sys.stdout.flush()
    return rc


def new_passwords(store, users):
    """A fresh random password per lab user, remembered in store; -> {user: password}."""
    for u in users:
        store[u] = "Pw-" + secrets.token_hex(8)
    return {u: store[u] for u in users}
