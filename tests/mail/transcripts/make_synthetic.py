#!/usr/bin/env python3
"""Write the hand-made transcripts of this folder: the sample sessions of RFC 3501 and
RFC 9051 section 8 (server side only), sessions modelled on what Gmail and Outlook.com send,
and a file of grammar edge cases. Lines are joined with CRLF; "{#}" before a literal body is
replaced by its exact size, so the files stay byte-exact. Run from this folder."""

def lit(body, kind="{#}"):
    """A literal: the marker line ends here, then CRLF, then the body."""
    return ("\x00LIT", kind, body)

def render(parts):
    out = bytearray()
    for p in parts:
        if isinstance(p, tuple):
            _, kind, body = p
            b = body if isinstance(body, bytes) else body.encode()
            out += kind.replace("#", str(len(b))).encode() + b"\r\n" + b
        elif isinstance(p, bytes):
            out += p
        else:
            out += p.encode()
    return bytes(out)

CRLF = "\r\n"

def lines(*ls):
    return CRLF.join(ls) + CRLF

RFC_HEADER = lines(
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
    "From: Terry Gray <gray@cac.washington.edu>",
    "Subject: IMAP4rev1 WG mtg summary and minutes",
    "To: imap@cac.washington.edu",
    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>",
    "Message-Id: <B27397-0100000@cac.washington.edu>",
    "MIME-Version: 1.0",
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII",
    "")
assert len(RFC_HEADER) == 342, len(RFC_HEADER)

def rfc_fetch_full(rev):
    return ('* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" '
            'RFC822.SIZE 4286 ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" '
            f'"IMAP4{rev} WG mtg summary and minutes" '
            '(("Terry Gray" NIL "gray" "cac.washington.edu")) '
            '(("Terry Gray" NIL "gray" "cac.washington.edu")) '
            '(("Terry Gray" NIL "gray" "cac.washington.edu")) '
            '((NIL NIL "imap" "cac.washington.edu")) '
            '((NIL NIL "minutes" "CNRI.Reston.VA.US") '
            '("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL '
            '"<B27397-0100000@cac.washington.edu>") '
            'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))')

rfc3501 = [lines(
    "* OK IMAP4rev1 Service Ready",
    "a001 OK LOGIN completed",
    "* 18 EXISTS",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    "* 2 RECENT",
    "* OK [UNSEEN 17] Message 17 is the first unseen message",
    "* OK [UIDVALIDITY 3857529045] UIDs valid",
    "a002 OK [READ-WRITE] SELECT completed",
    rfc_fetch_full("rev1"),
    "a003 OK FETCH completed"),
    "* 12 FETCH (BODY[HEADER] ", lit(RFC_HEADER), lines(
    ")",
    "a004 OK FETCH completed",
    "* 12 FETCH (FLAGS (\\Seen \\Deleted))",
    "a005 OK +FLAGS completed",
    "* BYE IMAP4rev1 server terminating connection",
    "a006 OK LOGOUT completed")]

rfc9051 = [lines(
    "* OK [CAPABILITY STARTTLS AUTH=SCRAM-SHA-256 LOGINDISABLED IMAP4rev2] IMAP4rev2 Service Ready",
    "a000 OK Proceed with TLS negotiation",
    "+ cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
    "+ dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==",
    "A001 OK SCRAM-SHA-256 authentication successful",
    "* ENABLED IMAP4rev2",
    "babc OK Some capabilities enabled",
    "* 18 EXISTS",
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
    "* OK [UIDVALIDITY 3857529045] UIDs valid",
    '* LIST () "/" INBOX ("OLDNAME" ("inbox"))',
    "a002 OK [READ-WRITE] SELECT completed",
    rfc_fetch_full("rev2"),
    "a003 OK FETCH completed"),
    "* 12 FETCH (BODY[HEADER] ", lit(RFC_HEADER.replace("IMAP4rev1", "IMAP4rev2")), lines(
    ")",
    "a004 OK FETCH completed",
    "* 12 FETCH (FLAGS (\\Seen \\Deleted))",
    "a005 OK +FLAGS completed",
    "* BYE IMAP4rev2 server terminating connection",
    "a006 OK LOGOUT completed")]

GMAIL_PARTIAL = lines("Delivered-To: alice@gmail.com",
                      "Received: by 2002:a05:6a10:1234 with SMTP id x1csp12345;")
gmail = [lines(
    "* OK Gimap ready for requests from 192.0.2.10 x12mb3456789ltx",
    "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 XYZZY SASL-IR AUTH=XOAUTH2 AUTH=PLAIN AUTH=PLAIN-CLIENTTOKEN AUTH=OAUTHBEARER",
    "g1 OK Thats all she wrote! x12mb3456789ltx",
    "+ eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
    "g2 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
    "* CAPABILITY IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584",
    "g3 OK alice@gmail.com authenticated (Success)",
    '* LIST (\\HasNoChildren) "/" "INBOX"',
    '* LIST (\\HasChildren \\Noselect) "/" "[Gmail]"',
    '* LIST (\\All \\HasNoChildren) "/" "[Gmail]/All Mail"',
    '* LIST (\\Drafts \\HasNoChildren) "/" "[Gmail]/Drafts"',
    '* LIST (\\HasNoChildren \\Important) "/" "[Gmail]/Important"',
    '* LIST (\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"',
    '* LIST (\\HasNoChildren \\Junk) "/" "[Gmail]/Spam"',
    '* LIST (\\Flagged \\HasNoChildren) "/" "[Gmail]/Starred"',
    '* LIST (\\HasNoChildren \\Trash) "/" "[Gmail]/Trash"',
    "g4 OK Success",
    "* FLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing)",
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\Deleted \\Seen $NotPhishing $Phishing \\*)] Flags permitted.",
    "* OK [UIDVALIDITY 1] UIDs valid.",
    "* 2 EXISTS",
    "* 0 RECENT",
    "* OK [UIDNEXT 5] Predicted next UID.",
    "* OK [HIGHESTMODSEQ 4117]",
    "g5 OK [READ-WRITE] [Gmail]/Sent Mail selected. (Success)",
    '* 1 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278455344230334865 X-GM-LABELS (\\Important \\Sent "Project X") UID 3 FLAGS (\\Seen))',
    "* 2 FETCH (X-GM-THRID 1278455344230334865 X-GM-MSGID 1278456112345678901 X-GM-LABELS () UID 4 MODSEQ (4117) FLAGS ())",
    "g6 OK Success",
    '* ESEARCH (TAG "g7") UID MIN 3 MAX 4 COUNT 2 ALL 3:4',
    "g7 OK SEARCH completed (Success)"),
    "* 2 FETCH (UID 4 BODY[]<0> ", lit(GMAIL_PARTIAL), lines(")",
    "g8 OK Success",
    "* BYE System Error")]

OUTLOOK_HDR = lines("From: \"Grace Hopper\" <grace@contoso.com>",
                    "Subject: =?utf-8?B?UmU6IFN0YXR1cyDinIU=?=",
                    "Date: Mon, 20 Nov 2023 14:02:11 +0000", "")
outlook = [lines(
    "* OK The Microsoft Exchange IMAP4 service is ready. [TQBOADIAUABSADAANgBDAEEAMAAwADEANAAuAEUAVQBSAFAAUgBEADAANgAuAFAAUgBPAEQALgBPAFUAVABMAE8ATwBLAC4AQwBPAE0A]",
    "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+",
    "o1 OK CAPABILITY completed.",
    "+ ",
    "o2 OK AUTHENTICATE completed.",
    '* LIST (\\HasNoChildren) "/" Archive',
    '* LIST (\\HasNoChildren \\Trash) "/" "Deleted Items"',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\Marked \\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Junk) "/" "Junk Email"',
    '* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"',
    "o3 OK LIST completed.",
    "* 3 EXISTS",
    "* 0 RECENT",
    "* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)",
    "* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft $MDNSent)] Permanent flags",
    "* OK [UNSEEN 2] Is the first unseen message",
    "* OK [UIDVALIDITY 14] UIDVALIDITY value",
    "* OK [UIDNEXT 311] The next unique identifier value",
    "o4 OK [READ-WRITE] SELECT completed.",
    "* SEARCH 308 309 310",
    "o5 OK SEARCH completed."),
    "* 2 FETCH (UID 309 BODY[HEADER.FIELDS (FROM SUBJECT DATE)] ", lit(OUTLOOK_HDR), lines(
    " FLAGS ())",
    "o6 OK FETCH completed.",
    "+ IDLE accepted, awaiting DONE command.",
    "* 4 EXISTS",
    "o7 OK IDLE completed.",
    "* BYE Microsoft Exchange Server IMAP4 server signing off.",
    "o8 OK LOGOUT completed.")]

edge = [lines(
    "* PREAUTH [CAPABILITY IMAP4rev2 LITERAL+ BINARY] logged in as alice",
    "* ok lower-case status word",
    "* NO [ALERT] Mailbox is at 95% of quota",
    "* BAD [PARSE] Bad header",
    "* OK [REFERRAL imap://alice@[2001:db8::1]/INBOX] try there",
    "* OK [BADCHARSET (US-ASCII \"UTF-8\")] charsets",
    "* OK [PERMANENTFLAGS ()] No permanent flags permitted",
    "* OK [READ-ONLY]",
    "* OK",
    "* OK [COPYUID 38505 304,319:320 3956:3958] Done",
    "* NO [Gmail]/Trash/x is not a response code",
    "* OK [UNSEEN 3]",
    "+",
    "+ [ALERT] continue please",
    "* SEARCH ",
    "* SEARCH",
    "* 1 FETCH (FLAGS (\\Seen \\* $Forwarded) UID 1)",
    '* 2 FETCH (ENVELOPE ("" "" NIL NIL NIL NIL NIL NIL "" NIL))',
    '* LIST (\\Noselect) "." "a\\"quoted\\\\name"',
    '* LIST () "/" "Café"',
    "* LIST () NIL INBOX",
    '* 3 FETCH (BODY[1.2.MIME] "x" BODY[HEADER.FIELDS.NOT (Received "X-Spam")] NIL BINARY.SIZE[1] 42)',
    "* 4 FETCH (A (B (C (D (E (F (G (H))))))))",
    "*  5   FETCH   (UID  7)  ",
    "* 6 FETCH (X-Nested ((a)(b))(c))",
    "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)",
    "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540",
    "* 7 FETCH (MODSEQ (18446744073709551615) UID 4294967295)",
    "* QUOTA \"\" (STORAGE 10 512)"),
    "* 8 FETCH (BINARY[1] ", lit(b"\x00\x01\r\n\xff", "~{#}"), " BODY[TEXT] ", lit("", "{#}"),
    " X-NONSYNC ", lit("ab)\r\n", "{#+}"), lines(")"),
    '* 9 FETCH (BODY[]<0> ', lit("A{5}\r\n"), ' BODY[HEADER.FIELDS (FROM "TO")]<10> ', lit("From: x\r\n"), lines(")"),
    "* ID (\"name\" ", lit("Dove\"cot"), lines(" \"support-url\" NIL)"),
    "a1 OK done\n* 10 EXISTS\na2 NO [TRYCREATE] no such mailbox\n"]

for name, parts in [("rfc3501_section8", rfc3501), ("rfc9051_section8", rfc9051),
                    ("gmail_style", gmail), ("outlook_style", outlook), ("grammar_edges", edge)]:
    with open(name + ".imap", "wb") as f:
        f.write(render(parts))
