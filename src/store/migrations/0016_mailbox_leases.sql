-- 0016 mailbox leases: with PostgreSQL several engine workers share the mailboxes. Each worker
-- has a row in engine_workers renewed on its heartbeat; each mailbox has at most one lease
-- holder (worker_id '' = free). A lease whose expires_at passed may be taken over by another
-- worker (SELECT ... FOR UPDATE SKIP LOCKED). outbox.claimed_by names the worker that claimed a
-- message, so messages left "sending" by a worker that died become "unknown" (R26).
CREATE TABLE engine_workers (
    id TEXT PRIMARY KEY,                  -- host:pid:random
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    expires_at TEXT NOT NULL              -- dead after this unless renewed
);

CREATE TABLE mailbox_leases (
    mailbox_id TEXT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    worker_id TEXT NOT NULL DEFAULT '',   -- '' = free
    expires_at TEXT NOT NULL DEFAULT '',  -- RFC 3339; '' sorts before every time: free
    heartbeat_at TEXT NOT NULL DEFAULT '',
    acquired_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mailbox_leases_worker ON mailbox_leases(worker_id);
CREATE INDEX mailbox_leases_expiry ON mailbox_leases(expires_at);

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
