-- A Discord action is written down (and committed) before it is sent, and resolved in the
-- transaction that records it: a pending row after a restart is an action whose fate the
-- crash hid.
CREATE TABLE upstream_intents (
    id           TEXT PRIMARY KEY,
    guild_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    token_name   TEXT NOT NULL,
    reason       TEXT,
    request_id   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'uncertain')),
    resolved_at  BIGINT
);
CREATE INDEX upstream_intents_pending ON upstream_intents (status, created_at);
