-- 0012 parallel sending (issue 4): a mailbox may keep several SMTP connections (its outbox
-- messages in flight at once, 1-10, default 1). The outbox runner reads each mailbox's due
-- messages in id order (outbox_mailbox_queue) and finds the mailboxes with due mail from an
-- index alone (outbox_due_mailbox), never reading the rows (a message is several KB).
ALTER TABLE mailboxes ADD COLUMN smtp_connections BIGINT NOT NULL DEFAULT 1;
CREATE INDEX outbox_mailbox_queue ON outbox(mailbox_id, status, id);
CREATE INDEX outbox_due_mailbox ON outbox(status, next_attempt_at, mailbox_id);
