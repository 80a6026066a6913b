-- 0009 console sessions: a signed-in browser holds a random token in an HttpOnly cookie; only
-- its BLAKE2b hash is stored (R29). last_seen_at drives the idle expiry (session_idle_seconds).
-- login_failures slows password guessing: failed sign-ins per normalised email in a window.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    email_norm TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
);
