#!/usr/bin/env python3
"""test_cli_send.py — the sending commands of the command line (issue 4 point 8), against the
database a running `mailfleet serve` uses, checked through the API:

  * `--help` exits 0; wrong usage exits 2; a refused operation exits 1, stderr says why and
    stdout is empty.
  * R18 `prospect import --user --csv`: every row a prospect of that member (custom fields,
    tags), visible in GET /prospects; a file with a bad address in row 3 stores nothing and the
    error names row 3.
  * R18/R16 `sequence create --user --file`: the JSON of POST /sequences; without mailbox_id the
    member's default mailbox; someone else's mailbox or a bad template -> exit 1; `sequence
    list` shows it (per member with --user).
  * R18/R26 `sequence enroll ID --csv` imports and enrolls the rows; `--prospect ID` of one
    already enrolled gives the same enrollment (once per prospect).
  * `sequence pause|resume` on a sequence (all its enrollments) and on one enrollment, as GET
    /enrollments shows; resume of a sequence leaves enrollments paused for another reason.
  * R18/R25/R26 `message send --from ADDRESS|ID`: queued in the outbox as the mailbox owner
    (GET /messages/{id} as the owner), To/Cc/Subject in the raw message; a suppressed
    recipient or an unknown mailbox -> exit 1 and nothing queued; the audit log names the
    member.
Run alone: python3 tests/api/test_cli_send.py (TAP on stdout).
"""
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check, expect, main, short  # noqa: E402

suite = Suite("cli-send")
S = types.SimpleNamespace()

COMMANDS = [["sequence"], ["sequence", "list"], ["sequence", "create"], ["sequence", "enroll"],
            ["prospect"], ["prospect", "import"], ["message"], ["message", "send"]]

STEPS = [{"delay_minutes": 0, "subject": "Hello {{first_name|there}}",
          "text": "Hi {{first_name|there}},\nabout {{company}}.\n"},
         {"delay_minutes": 2880, "subject": "Following up", "text": "Any news?\n",
          "html": "<p>Any news?</p>"}]


def refused(env, *args, stdin=None):
    rc, out, errout = env.cli(*args, stdin=stdin)
    check(rc == 1, "%s: expected exit 1, got %s (stdout %r, stderr %r)"
          % (" ".join(map(str, args)), rc, out[-300:], errout[-300:]))
    check(out == "", "%s: refused but printed on stdout: %r" % (" ".join(map(str, args)), out))
    check(errout.strip() != "", "%s: refused without a message on stderr" % " ".join(map(str, args)))
    return errout


def usage(env, *args):
    rc, out, errout = env.cli(*args, timeout=15)
    check(rc == 2, "%s: expected exit 2 (usage), got %s (stdout %r, stderr %r)"
          % (" ".join(map(str, args)), rc, out[-200:], errout[-300:]))
    check(errout.strip() != "", "%s: usage error without a message on stderr" % " ".join(args))


def write(env, name, text):
    path = os.path.join(env.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def lines(out):
    return [l.split("\t") for l in out.splitlines() if l.strip()]


def ok(env, *args, stdin=None):
    rc, out, errout = env.cli(*args, stdin=stdin)
    check(rc == 0, "%s: rc %s, stderr %r" % (" ".join(map(str, args)), rc, errout[-500:]))
    return out


@suite.test("CLI sending commands: --help exits 0; wrong usage exits 2")
def _(env):
    bad = []
    for cmd in COMMANDS:
        rc, out, errout = env.cli(*(cmd + ["--help"]))
        if rc != 0 or not out.strip():
            bad.append("%s --help -> rc %s, %d bytes" % (" ".join(cmd), rc, len(out + errout)))
    check(not bad, "\n".join(bad))
    usage(env, "sequence", "frobnicate")
    usage(env, "sequence", "create", "--file", "x.json")                # no --user
    usage(env, "sequence", "enroll", "seq_x")                           # neither --csv nor --prospect
    usage(env, "sequence", "enroll", "seq_x", "--csv", "a", "--prospect", "p")
    usage(env, "sequence", "pause")
    usage(env, "prospect", "import", "--user", "x@y.test")              # no --csv
    usage(env, "message", "send", "--from", "a@b.test", "--subject", "s", "--body", "b")  # no --to
    usage(env, "message", "send", "--from", "a@b.test", "--to", "c@d.test", "--subject", "s")
    usage(env, "message", "send", "--from", "a@b.test", "--to", "not an address", "--subject",
          "s", "--body", "b")


@suite.test("setup: an organisation, two members with a mailbox each (the first is the default)")
def _(env):
    S.org = env.org("Cli Send Org")
    S.ann = env.user("ann@clisend.test", "Ann Sender", "user", S.org)
    S.ben = env.user("ben@clisend.test", "Ben Other", "user", S.org)
    S.ann_mb = env.new_mailbox(S.ann, S.ann.id, "ann@clisend.test")
    S.ben_mb = env.new_mailbox(S.ben, S.ben.id, "ben@clisend.test")
    check(S.ann_mb["is_default"], "ann's first mailbox is her default (R16): %s" % short(S.ann_mb))


@suite.test("R18 CLI prospect import --csv: every row a prospect of the member with custom fields "
            "and tags; a bad address in row 3 stores nothing and names the row")
def _(env):
    csv = write(env, "p.csv", "Email,First Name,Company,Tags,Phone\n"
                              "ada@prospect.test,Ada,Analytical,vip;2026,+44 1\n"
                              "\"Bob@Prospect.TEST\",Bob,,,\n")
    out = ok(env, "prospect", "import", "--user", "ann@clisend.test", "--csv", csv)
    rows = lines(out)
    check(len(rows) == 2 and [r[1] for r in rows] == ["ada@prospect.test", "bob@prospect.test"],
          "prospect import printed %r" % out)
    S.prospects = [r[0] for r in rows]
    got = expect(env.req("GET", "/prospects", S.ann.token), 200)["items"]
    ada = [p for p in got if p["email"] == "ada@prospect.test"]
    check(len(ada) == 1 and ada[0]["owner_id"] == S.ann.id, "GET /prospects: %s" % short(got))
    a = ada[0]
    check(a.get("first_name") == "Ada" and a.get("company") == "Analytical"
          and (a.get("fields") or {}).get("phone") == "+44 1"
          and sorted(a.get("tags") or []) == ["2026", "vip"], "ada as stored: %s" % short(a))
    bad = write(env, "bad.csv", "email,first_name\nc1@prospect.test,C\nnot-an-address,D\n")
    before = len(expect(env.req("GET", "/prospects", S.ann.token), 200)["items"])
    why = refused(env, "prospect", "import", "--user", "ann@clisend.test", "--csv", bad)
    check("row 3" in why, "the error should name row 3: %r" % why)
    after = len(expect(env.req("GET", "/prospects", S.ann.token), 200)["items"])
    check(after == before, "a refused file stored %d prospects" % (after - before))
    refused(env, "prospect", "import", "--user", "nobody@clisend.test", "--csv", csv)
    refused(env, "prospect", "import", "--user", "ann@clisend.test", "--csv",
            os.path.join(env.tmp, "missing.csv"))


@suite.test("R18/R16 CLI sequence create --file: the JSON of POST /sequences, default mailbox "
            "when none is given; another member's mailbox or a bad template -> exit 1; list")
def _(env):
    body = {"name": "Cli outreach", "steps": STEPS,
            "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00",
                       "end": "17:30", "time_zone": "Europe/Paris"}}
    f = write(env, "seq.json", json.dumps(body))
    out = ok(env, "sequence", "create", "--user", "ann@clisend.test", "--file", f)
    check(len(lines(out)) == 1, "create printed %r" % out)
    S.seq = out.strip()
    s = expect(env.req("GET", "/sequences/%s" % S.seq, S.ann.token), 200)
    check(s["mailbox_id"] == S.ann_mb["id"] and s["owner_id"] == S.ann.id
          and s["name"] == "Cli outreach" and len(s["steps"]) == 2
          and s["steps"][1]["delay_minutes"] == 2880 and s["steps"][1].get("html")
          and s["window"]["start"] == "09:00" and s["window"]["time_zone"] == "Europe/Paris"
          and s["window"]["days"] == ["mon", "tue", "wed", "thu", "fri"], short(s, 900))
    # from stdin, with another member's mailbox: refused (R18 one of your own mailboxes)
    other = dict(body, mailbox_id=S.ben_mb["id"])
    refused(env, "sequence", "create", "--user", "ann@clisend.test", "--file", "-",
            stdin=json.dumps(other))
    broken = dict(body, steps=[{"delay_minutes": 0, "subject": "Hi {{first_name",
                                "text": "x"}])
    refused(env, "sequence", "create", "--user", "ann@clisend.test", "--file", "-",
            stdin=json.dumps(broken))
    refused(env, "sequence", "create", "--user", "ann@clisend.test", "--file", "-",
            stdin="{not json")
    rows = lines(ok(env, "sequence", "list", "--user", "ann@clisend.test"))
    check([r[0] for r in rows] == [S.seq] and rows[0][4] == "Cli outreach",
          "sequence list --user: %r" % rows)
    rows = lines(ok(env, "sequence", "list", "--user", "ben@clisend.test"))
    check(rows == [], "ben has no sequence: %r" % rows)


@suite.test("R18/R26 CLI sequence enroll --csv imports and enrolls; --prospect of one already "
            "enrolled gives the same enrollment")
def _(env):
    csv = write(env, "e.csv", "email,first_name\ncid@prospect.test,Cid\ndee@prospect.test,Dee\n")
    rows = lines(ok(env, "sequence", "enroll", S.seq, "--csv", csv))
    check(len(rows) == 2 and all(r[2] == "active" for r in rows), "enroll --csv printed %r" % rows)
    rows2 = lines(ok(env, "sequence", "enroll", S.seq, "--prospect", S.prospects[0],
                     "--prospect", S.prospects[1]))
    check(len(rows2) == 2, "enroll --prospect printed %r" % rows2)
    again = lines(ok(env, "sequence", "enroll", S.seq, "--prospect", S.prospects[0]))
    check(again[0][0] == rows2[0][0], "enrolled twice: %r then %r" % (rows2[0], again[0]))
    e = expect(env.req("GET", "/enrollments?sequence_id=%s" % S.seq, S.ann.token), 200)["items"]
    check(len(e) == 4 and all(x["state"] == "active" for x in e),
          "GET /enrollments: %s" % short(e, 900))
    S.enrollments = [x["id"] for x in e]
    refused(env, "sequence", "enroll", "seq_nosuchsequence0000000", "--prospect", S.prospects[0])


@suite.test("CLI sequence pause|resume: a whole sequence, and one enrollment; resume leaves "
            "enrollments paused for another reason alone")
def _(env):
    rows = lines(ok(env, "sequence", "pause", S.seq))
    check(len(rows) == 4 and all(r[1] == "paused" for r in rows), "pause printed %r" % rows)
    e = expect(env.req("GET", "/enrollments?sequence_id=%s" % S.seq, S.ann.token), 200)["items"]
    check(all(x["state"] == "paused" and x["pause_reason"] == "manual" for x in e), short(e, 900))
    # one of them paused by the engine for another reason: a bulk resume leaves it
    env.sql("UPDATE enrollments SET pause_reason = 'out_of_office' WHERE id = ?",
            (S.enrollments[0],))
    rows = lines(ok(env, "sequence", "resume", S.seq))
    check(len(rows) == 3 and all(r[1] == "active" for r in rows), "resume printed %r" % rows)
    one = expect(env.req("GET", "/enrollments?sequence_id=%s&state=paused" % S.seq,
                         S.ann.token), 200)["items"]
    check([x["id"] for x in one] == [S.enrollments[0]], "still paused: %s" % short(one))
    rows = lines(ok(env, "sequence", "resume", S.enrollments[0]))
    check(rows == [[S.enrollments[0], "active"]], "resume one printed %r" % rows)
    rows = lines(ok(env, "sequence", "pause", S.enrollments[1]))
    check(rows == [[S.enrollments[1], "paused"]], "pause one printed %r" % rows)
    refused(env, "sequence", "pause", S.enrollments[1])  # already paused: 409
    refused(env, "sequence", "resume", "enr_nosuchenrollment00000")


@suite.test("R18/R25/R26 CLI message send: queued as the mailbox owner with its headers; a "
            "suppressed recipient or an unknown mailbox -> exit 1 and nothing queued")
def _(env):
    out = ok(env, "message", "send", "--from", "ANN@clisend.test", "--to", "ada@prospect.test",
             "--cc", "bob@prospect.test", "--subject", "From the shell", "--body",
             "Hello from the command line.\n")
    oid = out.strip()
    check(len(lines(out)) == 1 and oid.startswith("out_"), "message send printed %r" % out)
    m = expect(env.req("GET", "/messages/%s" % oid, S.ann.token), 200)
    check(m["status"] in ("queued", "sending", "sent", "unknown") and m.get("message_id"),
          short(m, 800))
    raw, created_by = env.sql("SELECT r.raw, o.created_by FROM outbox o JOIN outbox_raw r ON "
                              "r.outbox_id = o.id WHERE o.id = ?", (oid,))[0]
    check("Subject: From the shell" in raw and "ada@prospect.test" in raw
          and "Cc: bob@prospect.test" in raw and "Hello from the command line." in raw,
          "raw message: %r" % raw[:600])
    check(created_by == S.ann.id, "created_by %s, want ann %s" % (created_by, S.ann.id))
    body = write(env, "body.txt", "From a file.\n")
    oid2 = ok(env, "message", "send", "--from", S.ann_mb["id"], "--to", "cid@prospect.test",
              "--subject", "File body", "--body-file", body).strip()
    raw2 = env.sql("SELECT raw FROM outbox_raw WHERE outbox_id = ?", (oid2,))[0][0]
    check("From a file." in raw2, "body file: %r" % raw2[:400])
    audit = env.sql("SELECT actor_id FROM audit_log WHERE action = 'message.queue' AND "
                    "target_id = ?", (oid,))
    check(audit and audit[0][0] == S.ann.id, "audit of message.queue: %s" % audit)
    n = env.sql("SELECT COUNT(*) FROM outbox")[0][0]
    ok(env, "suppression", "add", "--org", S.org, "--email", "gone@prospect.test")
    refused(env, "message", "send", "--from", "ann@clisend.test", "--to", "gone@prospect.test",
            "--subject", "s", "--body", "b")
    refused(env, "message", "send", "--from", "nobody@clisend.test", "--to",
            "ada@prospect.test", "--subject", "s", "--body", "b")
    check(env.sql("SELECT COUNT(*) FROM outbox")[0][0] == n, "a refused message was queued")


if __name__ == "__main__":
    main(suite)
