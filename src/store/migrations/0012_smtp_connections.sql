-- 0012 parallel sending (issue 4): a mailbox may keep several SMTP connections (its outbox
-- messages in flight at once, 1-10, default 1).
ALTER TABLE mailboxes ADD COLUMN smtp_connections BIGINT NOT NULL DEFAULT 1;

-- The outbox runner reads each mailbox's due messages in id order (outbox_mailbox_queue) and
-- finds the mailboxes with due mail from an index alone (outbox_due_mailbox), never reading
-- the rows. They replace outbox_due and outbox_mailbox (their prefixes).
CREATE INDEX outbox_mailbox_queue ON outbox(mailbox_id, status, id);
CREATE INDEX outbox_due_mailbox ON outbox(status, next_attempt_at, mailbox_id);
DROP INDEX outbox_due;
DROP INDEX outbox_mailbox;

-- The message itself (several KB, written once) lives beside its outbox row: every state
-- change (queued -> sending -> sent, each committed, R26) then rewrites a small row instead of
-- the whole message. outbox.raw stays for older rows' sake and is '' from now on; read the
-- message with store/outbox.c (outbox_get), which takes it from outbox_raw.
CREATE TABLE outbox_raw (
    outbox_id TEXT PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE,
    raw TEXT NOT NULL
);
INSERT INTO outbox_raw (outbox_id, raw) SELECT id, raw FROM outbox;
UPDATE outbox SET raw = '';
