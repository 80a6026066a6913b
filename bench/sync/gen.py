#!/usr/bin/env python3
"""gen.py — write a realistic INBOX of N messages straight into a Dovecot Maildir (bench/sync).

    bench/sync/gen.py --maildir DIR/mail/example.test/bench/Maildir [-n 100000] [--seed 1]
                      [--days 25] [--address bench@example.test] [--owner nobody:nogroup]
                      [--check]

Writes N files into MAILDIR/cur/ (and empties cur/, new/, tmp/ and Dovecot's INBOX index files
first, so Dovecot numbers the new set from scratch), each 2-50 KB, with INTERNALDATEs (file
mtimes) spread evenly over the last --days days (default 25: inside the 30-day backfill window).
Deterministic: the same --seed and -n give the same bytes (only the dates move with the time
of generation). Everything is chowned to --owner (Dovecot will not read mail as root).

The mix (fractions of N):
  41 %  text/plain in one of 9 charsets (us-ascii 7bit, utf-8 QP/base64/8bit, iso-8859-1 QP,
        iso-8859-2 QP, windows-1252 QP, koi8-r base64, iso-2022-jp 7bit)
  30 %  multipart/alternative (text/plain + text/html), some newsletters with List-Unsubscribe
  15 %  multipart/mixed with one or two base64 attachments (pdf, png, zip, docx)
   5 %  bounces: multipart/report; report-type=delivery-status (DSN), hard and soft
   5 %  auto-replies (Auto-Submitted: auto-replied, X-Autoreply, Out of office)
   4 %  forwarded mail: multipart/mixed with a message/rfc822 part
About half of the messages answer an earlier one of the set (In-Reply-To + References, "Re:"
subjects), so threads up to ~20 messages long form; every Message-ID is unique.

A stamp BENCH_GEN.json is written next to the Maildir (in the user's home, outside the
Maildir) with the parameters, the count, the bytes and the time of generation. --check exits 0
when that stamp matches -n/--seed, cur/ holds N files and the oldest message is still inside
30 - 1 days (so a reused set is still fully inside the backfill window), else 1.
"""
import argparse
import base64
import binascii
import datetime
import email.utils
import grp
import json
import os
import pwd
import random
import sys
import time
import unicodedata

# --- text pools -------------------------------------------------------------------------------

EN = """the of and to in is you that it he was for on are as with his they at be this have from
or one had by word but not what all were we when your can said there use an each which she do
how their if will up other about out many then them these so some her would make like him into
time has look two more write go see number no way could people my than first water been call
who oil its now find long down day did get come made may part meeting proposal contract pricing
quarter forecast invoice shipment delivery schedule review feedback update customer account
renewal budget timeline deadline project launch team office report draft agenda follow thanks
regards please attached request confirm available tomorrow week monday friday call demo trial
license seats upgrade discount order support ticket issue resolved escalate priority""".split()

DE = """und der die das ist nicht wir Sie ich es ein eine zu mit für auf dem den des Angebot
Rechnung Lieferung Besprechung Termin nächste Woche Grüße freundlichen vielen Dank Ihre Anfrage
Bestätigung Vertrag Preise Quartal Übersicht Änderung Prüfung möchten würden könnten müssen
Größe Straße Bürozeiten über während Gespräch Unterlagen beigefügt zurück""".split()

FR = """le la les de des du et est un une pour dans avec sur pas nous vous je il elle ce que qui
réunion proposition contrat facture livraison semaine prochaine cordialement merci beaucoup
demande confirmation tarifs trimestre été déjà très après où à l'équipe voilà reçu prévu
évaluation côté""".split()

CS = """a v se na je že to s z do o k i ale jak pro by byl jsme jste děkuji schůzka nabídka
smlouva faktura dodávka příští týden pozdravem žádost potvrzení čtvrtletí účet změna řešení
přehled""".split()

RU = """и в не на я что он с как а то все она так его но да ты к у же вы за бы по только её мне
было вот от меня ещё нет о из ему встреча предложение договор счёт поставка неделя спасибо
пожалуйста заявка подтверждение квартал отчёт команда""".split()

JA = """会議 提案 契約 請求書 納品 来週 よろしく お願いします ありがとうございます 確認 見積 四半期
報告 担当 資料 添付 予定 変更 対応 ご連絡 申し訳 ございません 本日 明日 打ち合わせ""".split()

FIRST = ["Anna", "Ben", "Carla", "David", "Eva", "Felix", "Greta", "Hugo", "Ines", "Jonas",
         "Klara", "Lukas", "Maria", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tina", "Yusuf",
         "Zoë", "Jürgen", "Chloé", "Łukasz", "Dvořák", "Søren", "Íñigo", "Ana-María"]
LAST = ["Smith", "Müller", "Dubois", "Novák", "Rossi", "García", "Kowalski", "Jensen", "Ivanova",
        "Tanaka", "Brown", "Schäfer", "Lefèvre", "Horák", "Nguyen", "O'Brien", "Weiß", "Öztürk"]
DOMAINS = ["acme-corp.com", "globex.io", "initech.de", "umbrella.fr", "hooli.cz", "vandelay.co.uk",
           "stark-industries.com", "wayne.example", "cyberdyne.jp", "tyrell.ru", "soylent.net",
           "wonka.biz", "gringotts.eu", "oscorp.org", "massive-dynamic.com", "aperture.se"]

# (charset, transfer encoding, word pool)
PLAIN_VARIANTS = [
    ("us-ascii", "7bit", EN),
    ("utf-8", "quoted-printable", EN + DE + FR),
    ("utf-8", "base64", EN + JA),
    ("utf-8", "8bit", EN + CS + DE),
    ("iso-8859-1", "quoted-printable", DE + FR + EN),
    ("iso-8859-2", "quoted-printable", CS + EN),
    ("windows-1252", "quoted-printable", FR + EN),
    ("koi8-r", "base64", RU),
    ("iso-2022-jp", "7bit", JA),
]

ATTACH_TYPES = [("application/pdf", "pdf"), ("image/png", "png"), ("application/zip", "zip"),
                ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")]


def para(rnd, words, n):
    sep = "" if words is JA else " "
    w = [rnd.choice(words) for _ in range(n)]
    s = sep.join(w)
    return s[0].upper() + s[1:] + ("。" if words is JA else ".")


def wrap(text, width=72):
    out, line = [], ""
    for w in text.split(" "):
        if line and len(line) + 1 + len(w) > width:
            out.append(line)
            line = w
        else:
            line = w if not line else line + " " + w
    if line:
        out.append(line)
    return "\n".join(out)


class Pools:
    """Pre-built paragraphs, subjects, names and attachment data: composing a message is then
    only picking and joining, which keeps 100,000 messages to well under a minute."""

    def __init__(self, rnd):
        self.paras = {}
        for cs, te, words in PLAIN_VARIANTS:
            key = id(words)
            if key in self.paras:
                continue
            ps = []
            for _ in range(300):
                p = para(rnd, words, rnd.randint(25, 70))
                ps.append(p if words is JA else wrap(p))
            self.paras[key] = ps
        self.en_paras = self.paras[id(EN)]
        self.subjects = {}
        for cs, te, words in PLAIN_VARIANTS:
            key = id(words)
            if key not in self.subjects:
                self.subjects[key] = [para(rnd, words, rnd.randint(3, 8)).rstrip(".。")
                                      for _ in range(400)]
        # Attachment data: 32 random blobs of 40 KB, base64 in 76-character lines.
        self.blobs = []
        for _ in range(32):
            raw = rnd.randbytes(40 * 1024)
            self.blobs.append(base64.encodebytes(raw))  # b"...76 chars\n..."
        self.people = []
        for i in range(2000):
            fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
            dom = rnd.choice(DOMAINS)
            ascii_ln = unicodedata.normalize("NFKD", ln).encode("ascii", "ignore").decode()
            ascii_fn = unicodedata.normalize("NFKD", fn).encode("ascii", "ignore").decode()
            local = "".join(c for c in (ascii_fn[:1] + "." + ascii_ln).lower()
                            if c.isalnum() or c in ".-")
            local = local.strip(".") + str(i % 97)
            self.people.append((fn + " " + ln, "%s@%s" % (local, dom)))


def enc_word(text, charset):
    """RFC 2047 encoded-word(s) for a header value (B for most, Q for Latin charsets)."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset, raw = "utf-8", text.encode("utf-8")
    if charset.startswith("iso-8859") or charset.startswith("windows"):
        q = binascii.b2a_qp(raw, header=True).decode("ascii").replace("?", "=3F")
        return "=?%s?Q?%s?=" % (charset.upper(), q)
    # split so each encoded-word stays below 76 characters
    words, chunk = [], 36
    for i in range(0, len(raw), chunk):
        part = raw[i:i + chunk]
        words.append("=?%s?B?%s?=" % (charset.upper(), base64.b64encode(part).decode()))
    return "\n ".join(words)


def addr(name, address, charset="utf-8"):
    return "%s <%s>" % (enc_word(name, charset) if any(ord(c) > 127 for c in name)
                        else '"%s"' % name if "'" in name else name, address)


def encode_body(text, charset, te):
    """(bytes) the text in charset with the transfer encoding te."""
    try:
        raw = text.encode(charset)
    except UnicodeEncodeError:
        raw = text.encode(charset, "replace")
    if te == "base64":
        return base64.encodebytes(raw)
    if te == "quoted-printable":
        return binascii.b2a_qp(raw)
    return raw


def fill(rnd, pool, nbytes):
    out, size = [], 0
    while size < nbytes:
        p = rnd.choice(pool)
        out.append(p)
        size += len(p) + 2
    return "\n\n".join(out)


# --- one message ------------------------------------------------------------------------------

class Gen:
    def __init__(self, args):
        self.rnd = random.Random(args.seed)
        self.pools = Pools(self.rnd)
        self.me = args.address
        self.me_name = "Bench User"
        self.threads = []  # [subject, charset, [message-ids], participant]
        self.n = args.n

    def headers(self, h):
        return "".join("%s: %s\n" % (k, v) for k, v in h).encode("utf-8")

    def common(self, i, when, frm, subject, msgid, extra=()):
        rnd = self.rnd
        date = email.utils.formatdate(when - rnd.randint(2, 90), localtime=False)
        rdate = email.utils.formatdate(when, localtime=False)
        dom = frm[1].split("@")[1]
        h = [
            ("Return-Path", "<%s>" % frm[1]),
            ("Delivered-To", self.me),
            ("Received", "from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail.example.test (Postfix) "
                         "with ESMTPS id %08X\n\tfor <%s>; %s" % (i % 4, dom, i % 4, dom, i % 250 + 1,
                                                                 rnd.getrandbits(32), self.me, rdate)),
            ("Received", "from [10.%d.%d.%d] (unknown [198.51.100.%d])\n\tby mx%d.%s with ESMTPSA "
                         "id %08x; %s" % (i % 200, i % 100, i % 50, i % 200, i % 4, dom,
                                          rnd.getrandbits(32), date)),
            ("DKIM-Signature", "v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s%d;\n\th=from:to:"
                               "subject:date:message-id; bh=%s;\n\tb=%s" % (
                                   dom, i % 3, base64.b64encode(rnd.randbytes(32)).decode(),
                                   "\n\t ".join(base64.b64encode(rnd.randbytes(48)).decode()
                                                for _ in range(4)))),
            ("Date", date),
            ("From", frm[0]),
            ("To", addr(self.me_name, self.me)),
        ]
        if rnd.random() < 0.25:
            cc = rnd.sample(self.pools.people, rnd.randint(1, 3))
            h.append(("Cc", ",\n ".join(addr(n, a) for n, a in cc)))
        h.append(("Subject", subject))
        h.append(("Message-ID", msgid))
        h.extend(extra)
        h.append(("MIME-Version", "1.0"))
        h.append(("X-Mailer", rnd.choice(["Microsoft Outlook 16.0", "Apple Mail (2.3731)",
                                          "Mozilla Thunderbird 115.5", "Roundcube Webmail/1.6",
                                          "Gmail", "K-9 Mail 6.7"])))
        return h

    def thread_headers(self, i, charset):
        """New thread or a reply to an existing one: (subject, extra headers, thread)."""
        rnd = self.rnd
        if self.threads and rnd.random() < 0.5:
            # recent threads are likelier to get replies
            k = len(self.threads) - 1 - min(int(rnd.expovariate(1 / 40)), len(self.threads) - 1)
            t = self.threads[k]
            ids = t[2]
            parent = ids[-1] if rnd.random() < 0.8 else rnd.choice(ids)
            refs = ids[-10:]
            if parent not in refs:
                refs = refs + [parent]
            extra = [("In-Reply-To", parent), ("References", "\n ".join(refs))]
            return "Re: " + t[0], extra, t
        words = self.words_for(charset)
        subj = enc_word(rnd.choice(self.pools.subjects[id(words)]), charset)
        t = [subj, charset, [], None]
        self.threads.append(t)
        if len(self.threads) > 5000:
            del self.threads[:1000]
        return subj, [], t

    def words_for(self, charset):
        for cs, te, words in PLAIN_VARIANTS:
            if cs == charset:
                return words
        return EN

    def size_target(self, lo, hi):
        # log-uniform between lo and hi KB
        rnd = self.rnd
        return int(1024 * lo * (hi / lo) ** rnd.random())

    def msgid(self, i, dom):
        return "<%08d.%012x@%s>" % (i, self.rnd.getrandbits(48), dom)

    def message(self, i, when):
        rnd = self.rnd
        r = rnd.random()
        if r < 0.41:
            kind = "plain"
        elif r < 0.71:
            kind = "alternative"
        elif r < 0.86:
            kind = "attachment"
        elif r < 0.91:
            kind = "bounce"
        elif r < 0.96:
            kind = "autoreply"
        else:
            kind = "forward"
        return getattr(self, "m_" + kind)(i, when)

    def person(self):
        n, a = self.rnd.choice(self.pools.people)
        return addr(n, a), a

    def m_plain(self, i, when):
        rnd = self.rnd
        cs, te, words = rnd.choice(PLAIN_VARIANTS)
        frm = self.person()
        subj, extra, t = self.thread_headers(i, cs)
        mid = self.msgid(i, frm[1].split("@")[1])
        t[2].append(mid)
        h = self.common(i, when, frm, subj, mid, extra)
        h.append(("Content-Type", 'text/plain; charset="%s"; format=flowed' % cs))
        h.append(("Content-Transfer-Encoding", te))
        target = self.size_target(1.2, 10)
        text = fill(rnd, self.pools.paras[id(words)], target)
        if extra:
            text += "\n\nOn %s, someone wrote:\n> " % email.utils.formatdate(when - 86400) + \
                    "\n> ".join(rnd.choice(self.pools.en_paras).split("\n"))
        return self.headers(h) + b"\n" + encode_body(text, cs, te)

    def m_alternative(self, i, when):
        rnd = self.rnd
        cs, te, words = rnd.choice(PLAIN_VARIANTS[:7])
        frm = self.person()
        subj, extra, t = self.thread_headers(i, cs)
        mid = self.msgid(i, frm[1].split("@")[1])
        t[2].append(mid)
        if rnd.random() < 0.2:
            extra = extra + [("List-Unsubscribe", "<https://%s/u/%x>, <mailto:unsub-%x@%s>" % (
                frm[1].split("@")[1], i, i, frm[1].split("@")[1])), ("Precedence", "bulk")]
        h = self.common(i, when, frm, subj, mid, extra)
        b = "----=_Part_%d_%x" % (i, rnd.getrandbits(40))
        h.append(("Content-Type", 'multipart/alternative;\n boundary="%s"' % b))
        target = self.size_target(2, 24)
        paras = []
        size = 0
        while size < target // 3:
            p = rnd.choice(self.pools.paras[id(words)])
            paras.append(p)
            size += len(p)
        text = "\n\n".join(paras)
        html = ("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=%s\">"
                "<style>p{margin:0 0 1em 0;font-family:Calibri,Arial,sans-serif;font-size:11pt}"
                "</style></head><body><div class=\"WordSection1\">\n" % cs +
                "\n".join('<p class="MsoNormal"><span style="color:#1F497D">%s</span></p>'
                          % p.replace("\n", " ") for p in paras) +
                "\n<p>--<br><b>%s</b><br><a href=\"https://example.com\">example.com</a></p>"
                "</div></body></html>\n" % frm[0].split("<")[0].strip())
        body = (b"This is a multi-part message in MIME format.\n\n--" + b.encode() +
                ("\nContent-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n"
                 % (cs, te)).encode() + encode_body(text, cs, te) +
                b"\n--" + b.encode() +
                ("\nContent-Type: text/html; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n"
                 % (cs, "quoted-printable" if te != "base64" else "base64")).encode() +
                encode_body(html, cs, "quoted-printable" if te != "base64" else "base64") +
                b"\n--" + b.encode() + b"--\n")
        return self.headers(h) + b"\n" + body

    def m_attachment(self, i, when):
        rnd = self.rnd
        cs, te, words = rnd.choice(PLAIN_VARIANTS[:7])
        frm = self.person()
        subj, extra, t = self.thread_headers(i, cs)
        mid = self.msgid(i, frm[1].split("@")[1])
        t[2].append(mid)
        h = self.common(i, when, frm, subj, mid, extra)
        b = "_004_%x_" % rnd.getrandbits(64)
        h.append(("Content-Type", 'multipart/mixed;\n boundary="%s"' % b))
        target = self.size_target(10, 48)
        text = fill(rnd, self.pools.paras[id(words)], rnd.randint(300, 2500))
        parts = [("\nContent-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n"
                  % (cs, te)).encode() + encode_body(text, cs, te)]
        left = max(target - len(text) - 3000, 2048)
        natt = 1 if rnd.random() < 0.8 else 2
        for k in range(natt):
            ctype, ext = rnd.choice(ATTACH_TYPES)
            blob = rnd.choice(self.pools.blobs)
            nlines = max(1, (left // natt) // 77)
            off = rnd.randint(0, max(0, len(blob) // 77 - nlines)) * 77
            data = blob[off:off + nlines * 77]
            fname = rnd.choice(["Angebot_2024", "invoice-%d" % (i % 9000), "Präsentation Q3",
                                "contract_v%d" % (i % 7), "screenshot", "Rapport d'activité",
                                "schéma"]) + "." + ext
            fname = enc_word(fname, "utf-8")  # non-ASCII: RFC 2047, as Outlook does
            disp = 'attachment;\n filename="%s"' % fname
            parts.append(("\nContent-Type: %s;\n name=\"%s\"\nContent-Disposition: %s\n"
                          "Content-Transfer-Encoding: base64\n\n" % (ctype, fname, disp))
                         .encode("utf-8") + data)
        body = b"This is a multi-part message in MIME format.\n"
        for p in parts:
            body += b"\n--" + b.encode() + p
        body += b"\n--" + b.encode() + b"--\n"
        return self.headers(h) + b"\n" + body

    def m_bounce(self, i, when):
        rnd = self.rnd
        dom = rnd.choice(DOMAINS)
        mta = "mx%d.%s" % (i % 3, dom)
        rcpt = rnd.choice(self.pools.people)[1]
        hard = rnd.random() < 0.7
        status, action, diag = (("5.1.1", "failed", "550 5.1.1 <%s>: Recipient address rejected: "
                                 "User unknown in virtual mailbox table" % rcpt) if hard else
                                ("4.2.2", "delayed", "452 4.2.2 <%s>: Mailbox full" % rcpt))
        mid = self.msgid(i, mta)
        orig_id = "<%012x.%d@example.test>" % (rnd.getrandbits(48), i)
        date = email.utils.formatdate(when, localtime=False)
        h = [
            ("Return-Path", "<>"),
            ("Delivered-To", self.me),
            ("Received", "by %s (Postfix)\n\tid %08X; %s" % (mta, rnd.getrandbits(32), date)),
            ("Date", date),
            ("From", "MAILER-DAEMON@%s (Mail Delivery System)" % mta),
            ("Subject", "Undelivered Mail Returned to Sender" if hard else
             "Delayed Mail (still being retried)"),
            ("To", self.me),
            ("Auto-Submitted", "auto-replied"),
            ("Message-ID", mid),
            ("MIME-Version", "1.0"),
            ("Content-Type", 'multipart/report; report-type=delivery-status;\n boundary="%X.%d/%s"'
             % (rnd.getrandbits(32), i, mta)),
            ("Content-Transfer-Encoding", "8bit"),
        ]
        b = "%X.%d/%s" % (rnd.getrandbits(32), i, mta)
        h[-2] = ("Content-Type", 'multipart/report; report-type=delivery-status;\n boundary="%s"' % b)
        orig_text = fill(rnd, self.pools.en_paras, self.size_target(1.5, 9))
        orig = ("Return-Path: <%s>\nDate: %s\nFrom: %s\nTo: <%s>\nSubject: %s\nMessage-ID: %s\n"
                "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                "Content-Transfer-Encoding: 8bit\n\n%s\n" % (
                    self.me, email.utils.formatdate(when - 600), addr(self.me_name, self.me), rcpt,
                    "Quick question about %s" % rnd.choice(EN), orig_id, orig_text))
        body = ("This is a MIME-encapsulated message.\n\n--%s\n"
                "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
                "This is the mail system at host %s.\n\nI'm sorry to have to inform you that your "
                "message could not\nbe delivered to one or more recipients. It's attached below.\n\n"
                "<%s>: host %s[203.0.113.%d] said: %s (in reply to RCPT TO command)\n\n"
                "--%s\nContent-Description: Delivery report\nContent-Type: message/delivery-status"
                "\n\nReporting-MTA: dns; %s\nX-Postfix-Queue-ID: %08X\nX-Postfix-Sender: rfc822; %s\n"
                "Arrival-Date: %s\n\nFinal-Recipient: rfc822; %s\nOriginal-Recipient: rfc822;%s\n"
                "Action: %s\nStatus: %s\nRemote-MTA: dns; %s\nDiagnostic-Code: smtp; %s\n\n"
                "--%s\nContent-Description: Undelivered Message\nContent-Type: message/rfc822\n"
                "Content-Transfer-Encoding: 8bit\n\n%s\n--%s--\n" % (
                    b, mta, rcpt, mta, i % 250, diag, b, mta, rnd.getrandbits(32), self.me,
                    email.utils.formatdate(when - 600), rcpt, rcpt, action, status, mta, diag,
                    b, orig, b))
        return self.headers(h) + b"\n" + body.encode("utf-8")

    def m_autoreply(self, i, when):
        rnd = self.rnd
        frm = self.person()
        cs, te, words = rnd.choice(PLAIN_VARIANTS[:7])
        orig_subject = rnd.choice(self.pools.subjects[id(EN)])
        prefix, text = rnd.choice([
            ("Automatic reply: ", "I am out of the office until %s with limited access to email. "
             "For urgent matters please contact my colleague."),
            ("Out of Office: ", "Thank you for your message. I am currently on leave and will "
             "return on %s."),
            ("Abwesenheitsnotiz: ", "Vielen Dank für Ihre Nachricht. Ich bin bis zum %s nicht im "
             "Büro und habe nur eingeschränkt Zugriff auf meine E-Mails."),
            ("Réponse automatique : ", "Merci pour votre message. Je suis absent jusqu'au %s et "
             "n'ai qu'un accès limité à mes e-mails."),
        ])
        text = text % email.utils.formatdate(when + 7 * 86400)[:16]
        text = wrap(text) + "\n\n" + fill(rnd, self.pools.paras[id(words)], self.size_target(0.3, 2))
        mid = self.msgid(i, frm[1].split("@")[1])
        extra = [("Auto-Submitted", "auto-replied")]
        r = rnd.random()
        if r < 0.4:
            extra += [("X-Autoreply", "yes")]
        elif r < 0.7:
            extra += [("Precedence", "auto_reply"), ("X-Auto-Response-Suppress", "All")]
        else:
            extra += [("X-MS-Exchange-Inbox-Rules-Loop", frm[1])]
        extra += [("In-Reply-To", "<%012x.%d@example.test>" % (rnd.getrandbits(48), i))]
        h = self.common(i, when, frm, enc_word(prefix + orig_subject, cs), mid, extra)
        h.append(("Content-Type", 'text/plain; charset="%s"' % cs))
        h.append(("Content-Transfer-Encoding", te))
        return self.headers(h) + b"\n" + encode_body(text, cs, te)

    def m_forward(self, i, when):
        rnd = self.rnd
        frm = self.person()
        cs, te, words = rnd.choice(PLAIN_VARIANTS[:7])
        mid = self.msgid(i, frm[1].split("@")[1])
        inner_from = self.person()
        inner_subject = rnd.choice(self.pools.subjects[id(words)])
        h = self.common(i, when, frm, enc_word("Fwd: " + inner_subject, cs), mid)
        b = "fwd-%x" % rnd.getrandbits(64)
        h.append(("Content-Type", 'multipart/mixed; boundary="%s"' % b))
        inner = ("Date: %s\nFrom: %s\nTo: %s\nSubject: %s\nMessage-ID: <%x.%d@%s>\nMIME-Version: 1.0\n"
                 "Content-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n" % (
                     email.utils.formatdate(when - 86400 * 3), inner_from[0], self.me,
                     enc_word(inner_subject, cs), rnd.getrandbits(48), i,
                     inner_from[1].split("@")[1], cs, te)).encode("utf-8")
        inner += encode_body(fill(rnd, self.pools.paras[id(words)], self.size_target(1.5, 15)), cs, te)
        body = (("--%s\nContent-Type: text/plain; charset=\"%s\"\nContent-Transfer-Encoding: %s\n\n"
                 % (b, cs, te)).encode() +
                encode_body("FYI, see below.\n\n" + rnd.choice(self.pools.paras[id(words)]), cs, te) +
                ("\n--%s\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n" % b).encode()
                + inner + ("\n--%s--\n" % b).encode())
        return self.headers(h) + b"\n" + body


# --- writing ----------------------------------------------------------------------------------

def clear_maildir(md):
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(md, sub)
        os.makedirs(d, exist_ok=True)
        with os.scandir(d) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    os.unlink(e.path)
    # INBOX's Dovecot index and uid list: the new set gets a fresh UIDVALIDITY and UIDs.
    for f in os.listdir(md):
        if f.startswith("dovecot-uidlist") or f.startswith("dovecot.index"):
            os.unlink(os.path.join(md, f))


def stamp_path(md):
    return os.path.join(os.path.dirname(os.path.abspath(md.rstrip("/"))), "BENCH_GEN.json")


def check(args):
    try:
        with open(stamp_path(args.maildir)) as f:
            st = json.load(f)
    except (OSError, ValueError):
        return False
    if st.get("n") != args.n or st.get("seed") != args.seed or st.get("days") != args.days \
            or st.get("format") != FORMAT:
        return False
    # the oldest message must stay inside the 30-day window with a day to spare
    if time.time() - st.get("oldest", 0) > 29 * 86400:
        return False
    try:
        count = sum(1 for _ in os.scandir(os.path.join(args.maildir, "cur")))
    except OSError:
        return False
    return count == args.n


FORMAT = 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maildir", required=True, help="the user's Maildir (INBOX) root")
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--days", type=float, default=25.0)
    ap.add_argument("--address", default="bench@example.test")
    ap.add_argument("--owner", default="nobody:nogroup")
    ap.add_argument("--check", action="store_true", help="exit 0 if a matching set is there")
    args = ap.parse_args()
    if args.check:
        sys.exit(0 if check(args) else 1)
    if not (0 < args.days < 29):
        sys.exit("gen.py: --days must be between 0 and 29 (backfill window is 30 days)")
    user, _, group = args.owner.partition(":")
    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(group or user).gr_gid

    md = args.maildir.rstrip("/")
    os.makedirs(md, exist_ok=True)
    t0 = time.monotonic()
    clear_maildir(md)
    for d in (md, os.path.join(md, "cur"), os.path.join(md, "new"), os.path.join(md, "tmp")):
        os.chown(d, uid, gid)
    try:
        os.unlink(stamp_path(md))
    except FileNotFoundError:
        pass

    g = Gen(args)
    now = int(time.time())
    start = now - int(args.days * 86400)
    span = int(args.days * 86400) - 3600  # the newest is an hour old
    cur = os.path.join(md, "cur")
    total = 0
    kinds_seen = 0
    sizes = []
    lo_b, hi_b = 2 * 1024, 50 * 1024
    for i in range(args.n):
        when = start + (span * i) // max(1, args.n - 1) + g.rnd.randint(0, 59)
        data = g.message(i, when)
        # keep every message inside 2-50 KB
        if len(data) < lo_b:
            pad = b"\n" + b"\n\n".join(p.encode("utf-8") for p in
                                        g.rnd.sample(g.pools.en_paras, 8))
            data += pad[:lo_b - len(data) + 200]
        if len(data) > hi_b:
            data = truncate_mime(data, hi_b)
        size = len(data)
        vsize = size + data.count(b"\n")
        r = g.rnd.random()
        flags = "S" if r < 0.55 else ("RS" if r < 0.65 else ("FS" if r < 0.67 else ""))
        name = "%d.M%dP%dQ%d.benchgen,S=%d,W=%d:2,%s" % (when, i % 1000000, 4242, i, size, vsize,
                                                          flags)
        path = os.path.join(cur, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, uid, gid)
        finally:
            os.close(fd)
        os.utime(path, (when, when))
        total += size
        sizes.append(size)
        if (i + 1) % 10000 == 0:
            print("gen.py: %d/%d messages, %.0f MB, %.1f s" % (i + 1, args.n, total / 1e6,
                                                            time.monotonic() - t0),
                  file=sys.stderr)
    sizes.sort()
    st = {"format": FORMAT, "n": args.n, "seed": args.seed, "days": args.days,
          "address": args.address, "bytes": total, "generated": now, "oldest": start,
          "newest": start + span + 59, "min_size": sizes[0] if sizes else 0,
          "median_size": sizes[len(sizes) // 2] if sizes else 0,
          "max_size": sizes[-1] if sizes else 0, "seconds": round(time.monotonic() - t0, 1)}
    with open(stamp_path(md), "w") as f:
        json.dump(st, f, indent=1)
    print("gen.py: %d messages, %.1f MB (median %d B, min %d, max %d) in %s in %.1f s" % (
        args.n, total / 1e6, st["median_size"], st["min_size"], st["max_size"], cur,
        st["seconds"]), file=sys.stderr)


def truncate_mime(data, limit):
    """Cut an over-long message to fit limit while keeping its MIME structure closed: drop
    base64 lines from the end of the last part that has them, else cut the text."""
    over = len(data) - limit + 64
    # find the last boundary terminator, if any
    hdr_end = data.find(b"\n\n")
    ct = data[:hdr_end]
    bpos = ct.find(b'boundary="')
    if bpos >= 0:
        b = ct[bpos + 10:ct.index(b'"', bpos + 10)]
        term = b"\n--" + b + b"--\n"
        tpos = data.rfind(term)
        last = data.rfind(b"\n--" + b + b"\n", 0, tpos)
        if tpos > 0 and last > 0:
            body_start = data.find(b"\n\n", last + 1) + 2
            part_len = tpos - body_start
            if part_len > over + 100:
                keep = part_len - over
                nl = data.rfind(b"\n", body_start, body_start + keep)  # whole lines only
                if nl > body_start:
                    return data[:nl] + data[tpos:]
    cut = data[:limit - 1]
    nl = cut.rfind(b"\n")
    return cut[:nl + 1] if nl > hdr_end else cut


if __name__ == "__main__":
    main()
