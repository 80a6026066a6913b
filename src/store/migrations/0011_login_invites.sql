-- 0011 login invites: an admin (or an operator) emails a member a one-time link to set their
-- console password ("You've been added to mailfleet — set your password"). Only the BLAKE2b
-- hash of the link's token is stored (R29). `status` is pending | accepted | revoked; "expired"
-- is a pending invite whose expires_at has passed (computed, as for the mailbox invites of
-- 0006). A new invite for the same user revokes the older pending ones.
CREATE TABLE login_invites (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','accepted','revoked')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL, -- NULL: an operator's CLI
    expires_at TEXT NOT NULL,
    outbox_id TEXT,                      -- the invite email (system mail)
    accepted_at TEXT,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX login_invites_user ON login_invites(user_id, status);
