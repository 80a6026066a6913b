#!/usr/bin/env python3
"""Start a throw-away Dovecot on loopback, run a scripted IMAP client session against it and
write the server's bytes, exactly as received, to a transcript file.

    capture_dovecot.py OUT.imap session    LOGIN, SELECT, UID SEARCH, UID FETCH, IDLE, LOGOUT
    capture_dovecot.py OUT.imap more       AUTHENTICATE, ID, LIST, STATUS, FETCH ENVELOPE ...

Needs root (the mail user is nobody) and the dovecot-imapd package; PORT overrides 14393.
UIDVALIDITY, timings and Message-IDs differ from run to run."""
import hashlib, os, pwd, shutil, socket, subprocess, sys, tempfile, time

PORT = int(os.environ.get("PORT", "14393"))

def msg(frm, to, subj, date, body, extra=""):
    return (f"Return-Path: <{frm}>\r\nFrom: {frm}\r\nTo: {to}\r\nSubject: {subj}\r\n"
            f"Date: {date}\r\nMessage-ID: <{int(hashlib.sha1(subj.encode()).hexdigest()[:15], 16)}@example.org>\r\n{extra}"
            f"\r\n{body}").encode()

def setup(root):
    home = os.path.join(root, "home", "alice")
    md = os.path.join(home, "Maildir")
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d))
    for sub in (".Sent Messages", ".Archive", ".Archive.2024"):
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub, d))
    open(os.path.join(md, "subscriptions"), "w").write("Sent Messages\nArchive\n")
    msgs = [
        ("1700000001.M1P1.lab:2,S", msg("Bob Example <bob@example.org>", "alice@example.org",
            "Quarterly numbers", "Tue, 14 Nov 2023 22:13:21 +0000", "Hi Alice,\r\nsee attached.\r\n")),
        ("1700000002.M2P1.lab:2,", msg("\"Carol \\\"CJ\\\" Jones\" <carol@example.net>", "alice@example.org",
            "Re: lunch (today)?", "Wed, 15 Nov 2023 09:00:00 +0100", "Sure.\r\n")),
        ("1700000003.M3P1.lab:2,FS", msg("dave@example.com", "alice@example.org",
            "=?UTF-8?Q?Caf=C3=A9_invoice?=", "Thu, 16 Nov 2023 12:30:00 -0500",
            "Invoice body\r\n")),
        ("1700000004.M4P1.lab:2,", msg("Eve <eve@example.com>", "alice@example.org",
            "Binary part", "Fri, 17 Nov 2023 08:00:00 +0000",
            "--b1\r\nContent-Type: text/plain\r\n\r\nsee part 2\r\n--b1\r\nContent-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nAAECA/8NCg==\r\n--b1--\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n")),
    ]
    for i, (name, data) in enumerate(msgs):
        path = os.path.join(md, "cur", name)
        open(path, "wb").write(data)
        t = 1700000000 + i * 1000
        os.utime(path, (t, t))
    uid = pwd.getpwnam("nobody").pw_uid
    for dp, dns, fns in os.walk(os.path.join(root, "home")):
        os.chown(dp, uid, uid)
        for f in fns:
            os.chown(os.path.join(dp, f), uid, uid)
    open(os.path.join(root, "passwd"), "w").write(
        f"alice:{{PLAIN}}secret:{uid}:{uid}::{home}\n")
    conf = f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {PORT}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "Sent Messages" {{
    special_use = \\Sent
  }}
  mailbox Archive {{
    special_use = \\Archive
  }}
}}
"""
    open(os.path.join(root, "dovecot.conf"), "w").write(conf)
    return md

class Client:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT))
        self.s.settimeout(10)
        self.raw = bytearray()
        self.pending = bytearray()
    def read_until(self, pred):
        while True:
            if pred(bytes(self.pending)):
                return
            d = self.s.recv(65536)
            if not d:
                raise SystemExit("connection closed; got %r" % bytes(self.pending))
            self.raw += d
            self.pending += d
    def line_done(self, start):
        def p(buf):
            return buf.startswith(start) or (b"\r\n" + start) in buf
        return p
    def raw_cmd(self, data, w):
        self.s.sendall(data)
        self.read_until(lambda b: b.endswith(b"\r\n") and ((b"\r\n" + w) in b or b.startswith(w)))
        self.pending.clear()
    def cmd(self, tag, text, want=None):
        self.s.sendall(tag + b" " + text + b"\r\n")
        w = want or tag + b" "
        self.read_until(lambda b: (b"\r\n" + w) in b or b.startswith(w))
        self.read_until(lambda b: b.endswith(b"\r\n") and ((b"\r\n" + w) in b or b.startswith(w)))
        self.pending.clear()

def main():
    out = sys.argv[1]
    extra = sys.argv[2] if len(sys.argv) > 2 else "session"
    root = tempfile.mkdtemp(prefix="mf-dovecot-")
    os.chmod(root, 0o755)
    md = setup(root)
    subprocess.run(["dovecot", "-c", os.path.join(root, "dovecot.conf")], check=True)
    try:
        time.sleep(0.5)
        c = Client()
        c.read_until(lambda b: b.endswith(b"\r\n"))
        c.pending.clear()
        if extra == "session":
            c.cmd(b"a1", b"LOGIN alice secret")
            c.cmd(b"a2", b"SELECT INBOX (CONDSTORE)")
            c.cmd(b"a3", b"UID SEARCH ALL")
            c.cmd(b"a4", b"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])")
            c.s.sendall(b"a5 IDLE\r\n")
            c.read_until(lambda b: b.endswith(b"+ idling\r\n"))
            c.pending.clear()
            new = msg("Frank <frank@example.com>", "alice@example.org", "New while idling",
                      "Sat, 18 Nov 2023 10:00:00 +0000", "ping\r\n")
            tmp = os.path.join(md, "tmp", "1700000005.M5P1.lab")
            open(tmp, "wb").write(new)
            os.chown(tmp, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
            os.rename(tmp, os.path.join(md, "new", "1700000005.M5P1.lab"))
            c.read_until(lambda b: b"EXISTS\r\n" in b)
            time.sleep(0.3)
            c.raw_cmd(b"DONE\r\n", b"a5 ")
            c.cmd(b"a6", b"LOGOUT")
        else:
            c.cmd(b"b1", b"AUTHENTICATE PLAIN", want=b"+ ")  # continuation "+ " with empty challenge
            import base64
            c.raw_cmd(base64.b64encode(b"\0alice\0secret") + b"\r\n", b"b1 ")
            c.cmd(b"b2", b"ID (\"name\" \"mailfleet\" \"version\" \"0.1\")")
            c.cmd(b"b3", b"NAMESPACE")
            c.cmd(b"b4", b"LIST \"\" \"*\"")
            c.cmd(b"b5", b"LSUB \"\" \"*\"")
            c.cmd(b"b6", b"STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
            c.cmd(b"b7", b"ENABLE CONDSTORE")
            c.cmd(b"b8", b"EXAMINE INBOX")
            c.cmd(b"b9", b"FETCH 1:4 (ENVELOPE BODYSTRUCTURE MODSEQ)")
            c.cmd(b"b10", b"FETCH 4 (BINARY.PEEK[2] BODY.PEEK[1.MIME] BODY.PEEK[]<0.40>)")
            c.cmd(b"b11", b"SEARCH UNSEEN")
            c.cmd(b"b12", b"FETCH 99 FLAGS")
            c.cmd(b"b13", b"SELECT \"No such box\"")
            c.cmd(b"b14", b"BOGUS")
            c.cmd(b"b15", b"LOGOUT")
        open(out, "wb").write(bytes(c.raw))
    finally:
        subprocess.run(["doveadm", "-c", os.path.join(root, "dovecot.conf"), "stop"])
        time.sleep(0.3)
        shutil.rmtree(root, ignore_errors=True)

main()
