-- 0003 outbox: durable at-most-once sending (R26), per-mailbox daily counting in the
-- mailbox's time zone (R15), and the organisation's suppression list (R25).

ALTER TABLE mailboxes ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE mailboxes ADD COLUMN min_gap_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN sent_day TEXT;     -- local day ("YYYY-MM-DD") sent_today counts
ALTER TABLE mailboxes ADD COLUMN last_send_at TEXT;

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    mailbox_id TEXT REFERENCES mailboxes(id) ON DELETE CASCADE, -- NULL for system mail
    kind TEXT NOT NULL CHECK (kind IN ('one_off','sequence','system')),
    unique_key TEXT UNIQUE,               -- e.g. "enrollment:<id>:step:<n>": enqueued once (R26)
    status TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed','unknown')),
    mail_from TEXT NOT NULL,
    rcpts TEXT NOT NULL,                  -- JSON array of addresses
    raw TEXT NOT NULL,                    -- the composed message, CRLF, ready for DATA
    message_id TEXT NOT NULL,             -- without <>
    conversation_id TEXT,                 -- a reply's conversation
    created_by TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    error TEXT,
    recipients TEXT,                      -- JSON per-recipient outcome of the last attempt
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_mailbox ON outbox(mailbox_id, status);

CREATE TABLE suppressions (
    org_id TEXT NOT NULL REFERENCES orgs(id),
    address_norm TEXT NOT NULL,
    reason TEXT NOT NULL,                 -- unsubscribe | bounce | manual
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, address_norm)
);
