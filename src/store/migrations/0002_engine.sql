-- 0002 engine: per-folder sync state (R13), the message store with conversations and
-- classification (R22, R23), the health history (R12). Replaces the placeholder history
-- tables of 0001 (empty until the engine existed).

DROP TABLE messages;
DROP TABLE conversations;

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    subject TEXT NOT NULL DEFAULT '',
    last_message_at TEXT NOT NULL,
    message_count BIGINT NOT NULL DEFAULT 0,
    unread_count BIGINT NOT NULL DEFAULT 0,
    classification TEXT NOT NULL DEFAULT 'human', -- of its latest inbound message
    created_at TEXT NOT NULL
);
CREATE INDEX conversations_mailbox ON conversations(mailbox_id, last_message_at);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    dedupe_key TEXT NOT NULL,             -- "<Message-ID>", else "hash:<BLAKE2b of the raw message>"
    message_id TEXT,
    in_reply_to TEXT,
    references_ids TEXT NOT NULL DEFAULT '', -- space-separated, header order
    direction TEXT NOT NULL CHECK (direction IN ('in','out')),
    folder TEXT NOT NULL,
    uidvalidity BIGINT NOT NULL DEFAULT 0,
    uid BIGINT NOT NULL DEFAULT 0,
    from_addr TEXT NOT NULL DEFAULT '',
    from_name TEXT NOT NULL DEFAULT '',
    to_addrs TEXT NOT NULL DEFAULT '',    -- comma-separated
    cc_addrs TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL,                   -- Date header, else INTERNALDATE
    snippet TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL DEFAULT '',
    size BIGINT NOT NULL DEFAULT 0,
    classification TEXT NOT NULL CHECK (classification IN ('human','reply','auto_reply','bounce')),
    classification_reason TEXT NOT NULL DEFAULT '',
    outbound_id TEXT,                     -- our message this answers or bounced (row id)
    outbound_message_id TEXT,             -- its Message-ID
    bounce_kind TEXT,                     -- hard | soft
    bounce_status TEXT,
    bounce_recipient TEXT,
    return_date TEXT,                     -- stated return of an out-of-office
    unread INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (mailbox_id, dedupe_key)
);
CREATE INDEX messages_message_id ON messages(mailbox_id, message_id);
CREATE INDEX messages_conversation ON messages(conversation_id, date);

CREATE TABLE folder_state (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    folder TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('inbox','sent')),
    uidvalidity BIGINT NOT NULL DEFAULT 0,
    last_uid BIGINT NOT NULL DEFAULT 0,
    backfill_done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox_id, folder)
);

CREATE TABLE mailbox_status_log (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX mailbox_status_log_mailbox ON mailbox_status_log(mailbox_id, id);

ALTER TABLE mailboxes ADD COLUMN messages_imported BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN backfill_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN last_sync_at TEXT;
-- bumped when credentials change: the engine reconnects (R12)
ALTER TABLE mailboxes ADD COLUMN config_version BIGINT NOT NULL DEFAULT 1;
