-- 0013 the stored copy of a sent message without a parse (issue 4): what compose_build knows
-- of the message it wrote (ids, addresses, subject, date, where its text starts), as JSON from
-- compose_message.copy, kept beside the message. When the message is sent, the engine stores
-- it in its conversation from this (compose_copy_read) instead of parsing the raw message
-- again with GMime. NULL (older rows, system mail, values GMime might not read back
-- unchanged): the raw message is parsed as before.
ALTER TABLE outbox_raw ADD COLUMN copy_json TEXT;

-- Sent messages whose stored copy is not written yet. The outbox runner commits "sent" with a
-- row here, and stores the copies of many sent messages together a moment later (one pass over
-- the conversations' and messages' indexes for many messages), deleting their rows in the same
-- transaction; a restart stores what a crash left here.
CREATE TABLE sent_copies_pending (
    outbox_id TEXT PRIMARY KEY REFERENCES outbox(id) ON DELETE CASCADE
);
