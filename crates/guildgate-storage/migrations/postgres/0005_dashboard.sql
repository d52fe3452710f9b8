-- The owner dashboard: local accounts, their sessions, and token rotation.

CREATE TABLE dashboard_users (
    user_id        TEXT PRIMARY KEY,      -- the owner's Discord user id
    password_hash  TEXT NOT NULL,         -- argon2id, PHC string
    email          TEXT,                  -- links the tasks surface's user of this email
    created_at     BIGINT NOT NULL
);

-- Sessions by the keyed hash of their cookie secret: the secret itself is never stored.
CREATE TABLE dashboard_sessions (
    id_hash     BYTEA PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES dashboard_users(user_id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_by_user ON dashboard_sessions (user_id);

-- A rotated token points at its successor; it works until its (shortened) expiry, then
-- the sweeper revokes it.
ALTER TABLE api_tokens ADD COLUMN replaced_by TEXT;
