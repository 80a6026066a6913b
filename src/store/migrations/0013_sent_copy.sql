-- 0013 the stored copy of a sent message without a parse (issue 4): what compose_build knows
-- of the message it wrote (ids, addresses, subject, date, where its text starts), as JSON from
-- compose_message.copy, kept beside the message. When the message is sent, the engine stores
-- it in its conversation from this (compose_copy_read) instead of parsing the raw message
-- again with GMime. NULL (older rows, system mail, values GMime might not read back
-- unchanged): the raw message is parsed as before.
ALTER TABLE outbox_raw ADD COLUMN copy_json TEXT;
