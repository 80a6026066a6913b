-- 0001 foundation: organisations, seats, tokens, slots, mailboxes, requests, prospects, audit.
-- Neutral SQL for SQLite and PostgreSQL: TEXT ids and RFC 3339 times, BIGINT numbers,
-- INTEGER 0/1 booleans, JSON kept as TEXT.

CREATE TABLE orgs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    mailbox_limit BIGINT,                 -- contract override of the per-user limit (R3); NULL = default
    allow_generic INTEGER NOT NULL DEFAULT 0,      -- contract allows generic addresses (R6)
    admin_self_approve INTEGER NOT NULL DEFAULT 0, -- admins may approve their org's requests (R10)
    max_daily_limit BIGINT NOT NULL DEFAULT 500,   -- cap of every mailbox's daily limit (R15)
    created_at TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT REFERENCES orgs(id),     -- NULL for operators
    email TEXT NOT NULL,
    email_norm TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator','admin','user','contributor')),
    seat TEXT NOT NULL DEFAULT 'active' CHECK (seat IN ('active','locked')),
    mailbox_limit BIGINT,                -- per-user contract override (R3); NULL = org's
    password_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX users_org ON users(org_id, id);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,           -- BLAKE2b of the token; the token itself is never stored (R29)
    created_at TEXT NOT NULL
);

CREATE TABLE slots (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    user_id TEXT REFERENCES users(id),   -- NULL = bought, not assigned
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','cancelled')),
    purchased_at TEXT NOT NULL,
    renews_at TEXT NOT NULL,             -- next monthly renewal
    cancelled_at TEXT,                   -- when removal was asked (R4)
    ends_at TEXT                         -- subscription ends at this renewal date (R4)
);
CREATE INDEX slots_org ON slots(org_id, state, user_id);

CREATE TABLE mailboxes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    address TEXT NOT NULL,
    address_norm TEXT NOT NULL UNIQUE,   -- one seat per address in the deployment (R7)
    kind TEXT NOT NULL DEFAULT 'personal' CHECK (kind IN ('personal','shared')),
    status TEXT NOT NULL DEFAULT 'connecting'
        CHECK (status IN ('connecting','good','failing','error','disconnected')),
    status_reason TEXT,
    status_since TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    sender_name TEXT NOT NULL DEFAULT '',
    signature TEXT NOT NULL DEFAULT '',
    daily_limit BIGINT NOT NULL DEFAULT 500,
    sent_today BIGINT NOT NULL DEFAULT 0,
    master_id TEXT REFERENCES mailboxes(id) ON DELETE SET NULL,
    imap_sealed TEXT,                    -- sealed JSON settings incl. password (R29)
    smtp_sealed TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX mailboxes_org ON mailboxes(org_id, id);
CREATE INDEX mailboxes_owner ON mailboxes(owner_id, created_at);

CREATE TABLE mailbox_requests (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    requester_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL CHECK (kind IN ('add','change_owner')),
    address TEXT NOT NULL,
    address_norm TEXT NOT NULL,
    target_user_id TEXT NOT NULL REFERENCES users(id),
    remove_from_other_seat INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending','completed','rejected')),
    checks TEXT NOT NULL,                -- JSON [{rule, ok, message}] (R10)
    reason TEXT,
    decided_by TEXT REFERENCES users(id),
    decided_at TEXT,
    mailbox_id TEXT,                     -- the mailbox made or moved on approval
    continuity_tag TEXT,                 -- tag given to paused prospects (R8)
    created_at TEXT NOT NULL
);
CREATE INDEX requests_org ON mailbox_requests(org_id, status, id);

CREATE TABLE prospects (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id),
    owner_id TEXT NOT NULL REFERENCES users(id),
    mailbox_id TEXT REFERENCES mailboxes(id) ON DELETE SET NULL,  -- sending mailbox
    email TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    company TEXT,
    fields TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','paused','finished')),
    pause_reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX prospects_org ON prospects(org_id, id);
CREATE INDEX prospects_mailbox ON prospects(mailbox_id);

CREATE TABLE prospect_tags (
    prospect_id TEXT NOT NULL REFERENCES prospects(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (prospect_id, tag)
);
CREATE INDEX prospect_tags_tag ON prospect_tags(tag);

-- Mail history kept per mailbox; purged with the mailbox (R9). Later migrations extend these.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    subject TEXT,
    last_message_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    message_id TEXT,
    subject TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE send_log (
    id TEXT PRIMARY KEY,
    mailbox_id TEXT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    recipient TEXT,
    sent_at TEXT NOT NULL
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    read INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, id);

-- Who did what to what, when (R27). Never message content or credentials.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    org_id TEXT,
    actor_id TEXT,                       -- NULL for the command line and the engine ("system")
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX audit_org ON audit_log(org_id, id);
