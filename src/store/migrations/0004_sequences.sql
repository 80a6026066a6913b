-- 0004 sequences (R18): a sequence sends from exactly one mailbox, in steps with delays, inside
-- a send window; prospects are enrolled once per sequence; every step is queued once per
-- enrollment (outbox.unique_key, R26); replies, bounces, out-of-office answers, unsubscribes
-- (R22, R23, R25), owner changes (R8) and a master inbox going down (R19) stop or pause it.

CREATE TABLE sequences (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    mailbox_id TEXT REFERENCES mailboxes(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','paused')),
    window_days BIGINT NOT NULL DEFAULT 127,       -- bit 0 Sunday .. bit 6 Saturday
    window_start BIGINT NOT NULL DEFAULT 0,        -- minutes after local midnight
    window_end BIGINT NOT NULL DEFAULT 1440,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at TEXT NOT NULL
);
CREATE INDEX sequences_org ON sequences(org_id, id);

CREATE TABLE sequence_steps (
    sequence_id TEXT NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
    idx BIGINT NOT NULL,
    delay_minutes BIGINT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    html TEXT,
    PRIMARY KEY (sequence_id, idx)
);

CREATE TABLE enrollments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    sequence_id TEXT NOT NULL REFERENCES sequences(id) ON DELETE CASCADE,
    prospect_id TEXT NOT NULL REFERENCES prospects(id) ON DELETE CASCADE,
    mailbox_id TEXT REFERENCES mailboxes(id) ON DELETE SET NULL, -- the sending mailbox (R8 moves it)
    state TEXT NOT NULL CHECK (state IN ('active','paused','replied','bounced','unsubscribed','finished')),
    pause_reason TEXT,
    step BIGINT NOT NULL DEFAULT 0,              -- the next step to send
    next_at TEXT NOT NULL,                       -- when it is due
    resume_at TEXT,                              -- out-of-office: resume then (R23)
    unsubscribe_token TEXT NOT NULL UNIQUE,      -- the one-click link's secret (R25)
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sequence_id, prospect_id)
);
CREATE INDEX enrollments_due ON enrollments(state, next_at);
CREATE INDEX enrollments_mailbox ON enrollments(mailbox_id, state);

ALTER TABLE outbox ADD COLUMN enrollment_id TEXT;
ALTER TABLE prospects ADD COLUMN bounced INTEGER NOT NULL DEFAULT 0;
