#!/usr/bin/env python3
"""gen.py — the mail of bench/assign: new customer conversations for shared mailboxes.

    gen.py stage   --lab DIR --mailboxes 50 --per 2000 [--seed 1] [--owner nobody:nogroup]
        writes PER messages per mailbox team01..teamNN@example.test into DIR/stage/teamNN/
        (outside the Maildirs: Dovecot does not see them yet). Every message opens a new
        conversation: a unique Message-ID, no In-Reply-To/References, a unique subject, a
        customer as From and the shared address as To; 70 % text/plain (UTF-8, 8bit or QP),
        30 % multipart/alternative (text + HTML); 0.6-6 KB. Skipped when DIR/stage/STAMP.json
        already matches the parameters (--check only tests that: exit 0 when it matches).
    gen.py clear   --lab DIR --mailboxes 50
        empties the INBOX of every teamNN (cur/ new/ tmp/ and Dovecot's index and uid list, so
        Dovecot numbers the next set from scratch). Run while no IMAP session holds them.
    gen.py deliver --lab DIR --mailboxes 50 --per 2000 [--rate 0]
        "delivers" the staged mail: hard-links each staged file into its Maildir's new/ (the
        Maildir delivery protocol's final step: one link per message, atomic, nothing copied),
        interleaved across the mailboxes (message 1 of every mailbox, then message 2, ...).
        --rate R: at most R messages per second overall (0 = as fast as possible: a burst).
        Prints {"delivered": N, "seconds": S} on stdout.

Deterministic: the same --seed gives the same bytes except the Date headers (the time of
staging). Python 3 standard library only.
"""
import argparse
import grp
import json
import os
import pwd
import random
import sys
import time

DOMAIN = "example.test"
FORMAT = 1

TOPICS = ["cannot log in", "invoice question", "refund request", "order not arrived",
          "change of address", "password reset does not work", "upgrade our plan",
          "cancel my subscription", "wrong item delivered", "billing address", "API limits",
          "export my data", "two-factor code", "delivery date", "damaged parcel",
          "discount code", "add seats", "contract renewal", "VAT number", "account locked"]
WORDS = """the of and to in is you that it was for on are as with they at be this have from or
one had by but not what all were we when your can said there an each which she do how their if
will up other about out many then them these so some her would make like him into time has look
two more go see number no way could people my than first been call who its now find long down
day did get come made may part order invoice account delivery parcel refund password login
please help thanks regards urgent today tomorrow week since again still error screen email
phone support ticket number customer subscription plan billing address receipt payment card
müller café naïve déjà vu straße""".split()
FIRST = ["Anna", "Ben", "Carla", "David", "Eva", "Felix", "Greta", "Hugo", "Ines", "Jonas",
         "Klara", "Lukas", "Maria", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tina", "Yusuf"]
LAST = ["Smith", "Miller", "Dubois", "Novak", "Rossi", "Garcia", "Kowalski", "Jensen", "Brown"]


def local(i):
    return "team%02d" % (i + 1)


def maildir(lab, i):
    return os.path.join(lab, "mail", DOMAIN, local(i), "Maildir")


def stage_dir(lab, i):
    return os.path.join(lab, "stage", local(i))


def para(rnd, n):
    words = [rnd.choice(WORDS) for _ in range(n)]
    words[0] = words[0].capitalize()
    out, line = [], ""
    for w in words:
        if len(line) + len(w) + 1 > 72:
            out.append(line)
            line = w
        else:
            line = (line + " " + w) if line else w
    out.append(line + ".")
    return "\n".join(out)


def qp(text):
    """quoted-printable of UTF-8 text (lines are short: no soft breaks needed)."""
    out = []
    for ch in text.encode("utf-8"):
        if ch == 10 or (32 < ch < 127 and ch != 61):
            out.append(chr(ch))
        elif ch == 32:
            out.append(" ")
        else:
            out.append("=%02X" % ch)
    return "".join(out)


def message(rnd, mb, k, when):
    cust = "cust%02d%05d" % (mb + 1, k)
    name = "%s %s" % (rnd.choice(FIRST), rnd.choice(LAST))
    subject = "%s (ref %02d-%05d)" % (rnd.choice(TOPICS).capitalize(), mb + 1, k)
    body = "Hello support,\n\n" + "\n\n".join(para(rnd, rnd.randint(15, 120))
                                              for _ in range(rnd.randint(1, 6)))
    body += "\n\nKind regards,\n%s\n" % name
    hdr = ["From: %s <%s@customers.example>" % (name, cust),
           "To: %s@%s" % (local(mb), DOMAIN),
           "Subject: %s" % subject,
           "Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(when)),
           "Message-ID: <assign-%02d-%05d.%d@customers.example>" % (mb + 1, k, when),
           "MIME-Version: 1.0"]
    if rnd.random() < 0.7:
        if rnd.random() < 0.5:
            hdr += ["Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit"]
            text = body
        else:
            hdr += ["Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: quoted-printable"]
            text = qp(body)
    else:
        b = "b-%02d-%05d" % (mb + 1, k)
        html = "<html><body>%s</body></html>" % "".join(
            "<p>%s</p>" % p.replace("\n", " ") for p in body.split("\n\n"))
        hdr.append('Content-Type: multipart/alternative; boundary="%s"' % b)
        text = ("--%s\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n%s\n"
                "--%s\nContent-Type: text/html; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n%s\n--%s--\n"
                % (b, qp(body), b, qp(html), b))
    return ("\n".join(hdr) + "\n\n" + text).encode("utf-8")


def stamp(lab):
    return os.path.join(lab, "stage", "STAMP.json")


def check(a):
    try:
        with open(stamp(a.lab)) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return False
    if st.get("format") != FORMAT or st.get("seed") != a.seed or st.get("per") != a.per \
            or st.get("mailboxes") < a.mailboxes:
        return False
    return all(len(os.listdir(stage_dir(a.lab, i))) == a.per for i in range(a.mailboxes))


def owner(spec):
    user, _, group = spec.partition(":")
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group or user).gr_gid


def cmd_stage(a):
    if check(a):
        print("gen.py: staged mail already there (%d x %d)" % (a.mailboxes, a.per), file=sys.stderr)
        return
    uid, gid = owner(a.owner)
    try:
        os.unlink(stamp(a.lab))
    except FileNotFoundError:
        pass
    t0 = time.monotonic()
    rnd = random.Random(a.seed)
    now = int(time.time())
    total, sizes = 0, []
    for i in range(a.mailboxes):
        d = stage_dir(a.lab, i)
        os.makedirs(d, exist_ok=True)
        for e in os.scandir(d):
            os.unlink(e.path)
        for k in range(a.per):
            when = now - (a.per - k)  # one a second, the newest now
            data = message(rnd, i, k, when)
            fn = "%d.M%dP%dQ%d.benchassign,S=%d" % (when, k, i + 1, k, len(data))
            p = os.path.join(d, fn)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fchown(fd, uid, gid)
            finally:
                os.close(fd)
            total += len(data)
            sizes.append(len(data))
    sizes.sort()
    st = {"format": FORMAT, "seed": a.seed, "per": a.per, "mailboxes": a.mailboxes,
          "bytes": total, "median_size": sizes[len(sizes) // 2], "min_size": sizes[0],
          "max_size": sizes[-1], "seconds": round(time.monotonic() - t0, 1)}
    with open(stamp(a.lab), "w") as f:
        json.dump(st, f, indent=1)
    print("gen.py: staged %d messages, %.1f MB (median %d B) in %.1f s" % (
        len(sizes), total / 1e6, st["median_size"], st["seconds"]), file=sys.stderr)


def cmd_clear(a):
    uid, gid = owner(a.owner)
    for i in range(a.mailboxes):
        md = maildir(a.lab, i)
        for sub in ("cur", "new", "tmp"):
            d = os.path.join(md, sub)
            os.makedirs(d, exist_ok=True)
            os.chown(d, uid, gid)
            for e in os.scandir(d):
                if e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
        for f in os.listdir(md):
            if f.startswith("dovecot-uidlist") or f.startswith("dovecot.index"):
                os.unlink(os.path.join(md, f))


def cmd_deliver(a):
    names = []
    for i in range(a.mailboxes):
        names.append(sorted(os.listdir(stage_dir(a.lab, i)))[:a.per])
        if len(names[-1]) != a.per:
            sys.exit("gen.py: %s holds %d messages, not %d (run stage)"
                     % (stage_dir(a.lab, i), len(names[-1]), a.per))
    src = [stage_dir(a.lab, i) for i in range(a.mailboxes)]
    dst = [os.path.join(maildir(a.lab, i), "new") for i in range(a.mailboxes)]
    t0 = time.monotonic()
    n = 0
    for k in range(a.per):
        for i in range(a.mailboxes):
            os.link(os.path.join(src[i], names[i][k]), os.path.join(dst[i], names[i][k]))
            n += 1
            if a.rate > 0:
                ahead = t0 + n / a.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
    print(json.dumps({"delivered": n, "seconds": round(time.monotonic() - t0, 3)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["stage", "clear", "deliver"])
    ap.add_argument("--lab", required=True)
    ap.add_argument("--mailboxes", type=int, default=50)
    ap.add_argument("--per", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--owner", default="nobody:nogroup")
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if not a.lab.startswith("/tmp/"):
        sys.exit("gen.py: --lab must be under /tmp")
    if a.cmd == "stage" and a.check:
        sys.exit(0 if check(a) else 1)
    {"stage": cmd_stage, "clear": cmd_clear, "deliver": cmd_deliver}[a.cmd](a)


if __name__ == "__main__":
    main()
