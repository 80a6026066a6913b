-- 0007 shared mailboxes and assignment (R20, R21): the members of a shared mailbox with their
-- access, its assignment rule (manual or round-robin with a per-member cap, and the minutes
-- after which an unassigned conversation alerts the owner), and per conversation its assignee,
-- status, collision mark (taken_by until taken_until) and the alert clock.

CREATE TABLE mailbox_members (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    access TEXT NOT NULL CHECK (access IN ('read','reply')),
    available INTEGER NOT NULL DEFAULT 1,   -- takes part in round-robin (R21)
    created_at TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, user_id)
);
CREATE INDEX mailbox_members_user ON mailbox_members(user_id, mailbox_id);

-- No row = manual, no cap, no alert.
CREATE TABLE mailbox_assignment (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    mode TEXT NOT NULL DEFAULT 'manual' CHECK (mode IN ('manual','round_robin')),
    cap BIGINT,                          -- open conversations per member; NULL = no cap
    unassigned_alert_minutes BIGINT,     -- NULL = no alert
    cursor_user_id TEXT,                 -- round-robin: the member given the last conversation
    updated_at TEXT NOT NULL
);

ALTER TABLE conversations ADD COLUMN assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL;
ALTER TABLE conversations ADD COLUMN assigned_at TEXT;
ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open','pending','closed'));
ALTER TABLE conversations ADD COLUMN taken_by TEXT;     -- collision detection (R21)
ALTER TABLE conversations ADD COLUMN taken_until TEXT;
-- when mail from outside last opened it (new, or reopened); NULL for history imported by the
-- backfill and conversations we started: they never alert
ALTER TABLE conversations ADD COLUMN opened_at TEXT;
ALTER TABLE conversations ADD COLUMN alerted_at TEXT;   -- the owner was alerted for this opening
CREATE INDEX conversations_assignee ON conversations(mailbox_id, assignee_id, status);
