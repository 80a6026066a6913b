-- 0006 invites (R14): an admin invites an address to connect; the invitee follows a one-time
-- link (only the BLAKE2b hash of its token is stored, R29), enters IMAP/SMTP settings, and on
-- success the mailbox is created and the inbox's owner appears as a `contributor` user.
-- The invite row is also the link between a contributor and the mailbox they connected:
-- a personal invite's mailbox is owned by the contributor; a shared invite's mailbox is owned
-- by owner_id (the inviting admin by default) and the contributor is found through here.
-- `status` is stored as pending | accepted | revoked; "expired" is a pending invite whose
-- expires_at has passed (computed by src/core/invite.c, never stored).
CREATE TABLE invites (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    address TEXT NOT NULL,
    address_norm TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('personal','shared')),
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','accepted','revoked')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    owner_id TEXT REFERENCES users(id) ON DELETE SET NULL, -- shared: the mailbox's owner (R20)
    expires_at TEXT NOT NULL,
    sent_count BIGINT NOT NULL DEFAULT 1,
    last_sent_at TEXT NOT NULL,
    outbox_id TEXT,                      -- the latest invite email (system mail)
    accepted_at TEXT,
    revoked_at TEXT,
    contributor_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    mailbox_id TEXT REFERENCES mailboxes(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX invites_org ON invites(org_id, id);
CREATE INDEX invites_address ON invites(org_id, address_norm, status);
CREATE INDEX invites_contributor ON invites(contributor_id);
