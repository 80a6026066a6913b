-- 0017 cheaper message imports (bench/sync, docs/benchmarks.md). Every stored message paid for
-- messages_message_id (mailbox_id, message_id), a second random-order index next to
-- UNIQUE (mailbox_id, dedupe_key) whose key is "<Message-ID>" for every message that has one:
-- threading looks a Message-ID up by that key now (store/messages.c). The lookups of our own
-- sent messages by Message-ID (R22 recognition of replies, once per In-Reply-To/References id
-- of every inbound message; the previous step of a sequence) get a partial index holding only
-- sent messages: inbound mail does not write it, and most lookups find it empty at once.
DROP INDEX messages_message_id;
CREATE INDEX messages_outbound ON messages(message_id) WHERE direction = 'out';
