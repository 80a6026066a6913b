#!/usr/bin/env python3
"""run_e2e.py — the web console end to end: starts the mail lab (real Dovecot + Postfix,
tests/engine/lab.py), a real `mailfleet serve` (tests/api/harness.py) with an organisation, an
admin and two users whose console passwords are set with `mailfleet user passwd`, then runs
console.test.mjs (playwright-core driving /usr/bin/chromium headless) and passes its TAP
through. The system mailer (invitations, notification emails) sends through the lab's Postfix,
so an invitation to support@example.test lands in that account's Maildir. Screenshots go to $MAILFLEET_E2E_ARTIFACTS (default: a temporary folder, printed).

Skips (TAP "1..0 # SKIP") without root (the lab), without /usr/bin/chromium or without
tests/e2e/node_modules (run `npm ci` in tests/e2e; scripts/test.sh does).
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "api"))
sys.path.insert(0, os.path.join(REPO, "tests", "engine"))
from harness import Env  # noqa: E402
from lab import Lab  # noqa: E402

CHROMIUM = os.environ.get("MAILFLEET_CHROMIUM", "/usr/bin/chromium")
USERS = ["admin", "alice", "alice2", "alice3", "alice4", "bob", "support", "dave"]
ENGINE_ENV = {
    "MAILFLEET_RETRY_MAX_SECONDS": "2",
    "MAILFLEET_IMAP_TIMEOUT_SECONDS": "10",
    "MAILFLEET_ENGINE_TICK_SECONDS": "1",
    "MAILFLEET_IMAP_IDLE_SECONDS": "300",
    "MAILFLEET_WEBHOOK_ALLOW_PRIVATE": "1",  # the receiver runs on loopback
    "MAILFLEET_IMAP_POLL_SECONDS": "300",
}


def skip(why):
    sys.stdout.write("1..0 # SKIP %s\n" % why)
    return 0


def main():
    if os.geteuid() != 0:
        return skip("the mail lab (Dovecot, Postfix) needs root")
    if not os.access(CHROMIUM, os.X_OK):
        return skip("no Chromium at %s (scripts/setup.sh --test installs it)" % CHROMIUM)
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        return skip("playwright-core is not installed: run `npm ci` in tests/e2e")
    node = shutil.which("node")
    if not node:
        return skip("no node")
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    artifacts = os.environ.get("MAILFLEET_E2E_ARTIFACTS") or tempfile.mkdtemp(prefix="mf-e2e-shots-")
    os.makedirs(artifacts, exist_ok=True)
    for old in os.listdir(artifacts):  # screenshots of an earlier run would mislead
        if old.endswith(".png"):
            os.unlink(os.path.join(artifacts, old))
    lab = Lab("e2e")
    env = None
    rc = 1
    try:
        passwords = {u: "Pw-" + secrets.token_hex(8) for u in USERS}
        try:
            lab.start_dovecot(passwords)
            lab.start_postfix()
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..1\nBail out! e2e: cannot start the mail lab: %s\n" % str(e)[:1500])
            return 1
        os.environ["MAILFLEET_CA_FILE"] = lab.ca_file
        # the system mailer (invitations, notification emails) through the lab's Postfix
        os.environ["MAILFLEET_SYSTEM_SMTP"] = "smtp://127.0.0.1:%d" % lab.smtp_port
        os.environ["MAILFLEET_SYSTEM_FROM"] = "mailfleet@example.test"
        os.environ.update(ENGINE_ENV)
        env = Env()
        try:
            env.start()
            # admins of this organisation may decide its mailbox requests (R10)
            org = env.org("Example Ltd", "--admin-self-approve")
            console_pw = "console-" + secrets.token_hex(6)
            for email, name, role in (("admin@example.test", "Ada Admin", "admin"),
                                      ("alice@example.test", "Alice Martin", "user"),
                                      ("carol@example.test", "Carol Lee", "user")):
                env.user(email, name, role, org)
                rc_, _, err = env.cli("user", "passwd", "--email", email, stdin=console_pw + "\n")
                if rc_ != 0:
                    raise RuntimeError("user passwd %s: %s" % (email, err))
        except Exception as e:  # noqa: BLE001
            sys.stdout.write("1..1\nBail out! e2e: cannot start mailfleet: %s\n" % str(e)[:1500])
            return 1
        config = {
            "base": "http://127.0.0.1:%d" % env.port,
            "chromium": CHROMIUM,
            "artifacts": artifacts,
            "password": console_pw,
            "admin": "admin@example.test",
            "user": "alice@example.test",
            "user2": "carol@example.test",
            "lab": {"imap_port": lab.imap_port, "smtp_port": lab.smtp_port, "passwords": passwords,
                    "domain": "example.test", "maildir_support": lab.maildir("support"),
                    "maildir_dave": lab.maildir("dave")},
        }
        t0 = time.time()
        p = subprocess.run([node, os.path.join(HERE, "console.test.mjs")], cwd=HERE,
                           env=dict(os.environ, MAILFLEET_E2E=json.dumps(config)), timeout=600)
        rc = p.returncode
        sys.stdout.write("# e2e: %.1f s, screenshots in %s\n" % (time.time() - t0, artifacts))
        if rc != 0 and env is not None:
            for line in env.log_tail(2500).splitlines()[-25:]:
                sys.stdout.write("#   server | %s\n" % line)
    except KeyboardInterrupt:
        sys.stdout.write("Bail out! e2e: interrupted\n")
        rc = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if env is not None:
            code, _ = env.stop()
            if code not in (0, None) and rc == 0:
                sys.stdout.write("# mailfleet serve exited with %s\n" % code)
            env.cleanup()
        problems = lab.stop()
        if problems:
            sys.stdout.write("# stopping the lab: %s\n" % " | ".join(problems))
        lab.cleanup()
        sys.stdout.flush()
    return rc


if __name__ == "__main__":
    sys.exit(main())
