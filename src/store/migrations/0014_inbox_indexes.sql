-- 0014 indexes for GET /inbox (R20, R21): the unified inbox is read newest first
-- (ORDER BY last_message_at DESC, id DESC LIMIT n). Without these, every request scanned all
-- conversations and sorted them (bench/assign: 65 ms per request at 20,000 conversations,
-- growing with the table). With them the newest rows are read in index order and the scan
-- stops after one page:
--   the unified inbox (the mailboxes a user owns or is a member of): by last_message_at;
--   ?assignee=me|<id>|none across those mailboxes: by assignee, then last_message_at;
--   ?mailbox_id= with an assignee (or none): by mailbox and assignee, then last_message_at.
CREATE INDEX conversations_recent ON conversations(last_message_at, id);
CREATE INDEX conversations_assignee_recent ON conversations(assignee_id, last_message_at, id);
CREATE INDEX conversations_mailbox_assignee_recent
    ON conversations(mailbox_id, assignee_id, last_message_at, id);
