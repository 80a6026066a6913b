-- 0008 webhooks and notification email preferences.
--
-- notification_prefs: a user's choice per notification kind (R28); no row = email on.
-- A notification whose email is off is still stored, with email_status 'off'.
CREATE TABLE notification_prefs (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    email INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- An organisation's HTTP(S) endpoints and the events they receive. The signing secret is
-- sealed with the master key (R29) and never returned after creation.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,                 -- JSON array of event names
    secret_sealed TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhooks_org ON webhooks(org_id, active);

-- The outbox of webhook calls: written in the same transaction as the change that caused the
-- event, delivered (at least once) by the engine's webhook worker. A claimed delivery gets
-- next_attempt_at = now + a lease, so one left behind by a crash is tried again after it.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    org_id TEXT NOT NULL,
    event TEXT NOT NULL,
    event_id TEXT NOT NULL,               -- the same for every endpoint that gets this event
    payload TEXT NOT NULL,                -- the exact request body, JSON
    status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT,                 -- pending only
    last_status_code BIGINT,              -- HTTP status of the last attempt; NULL when none came
    last_error TEXT,
    last_attempt_at TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, id);
