-- MCP: a per-guild opt-in, where each token came from, and the OAuth device flow.

ALTER TABLE guilds ADD COLUMN mcp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE api_tokens ADD COLUMN source TEXT NOT NULL DEFAULT 'cli';

-- A pending pairing. The device code is kept only as a keyed hash; no token exists until
-- the device picks it up after approval.
CREATE TABLE device_codes (
    code_hash         BYTEA PRIMARY KEY,
    user_code         TEXT NOT NULL UNIQUE,
    guild_id          TEXT NOT NULL REFERENCES guilds(id),
    client_name       TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    interval_secs     BIGINT NOT NULL,
    last_polled_at    BIGINT,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    approved_by       TEXT,
    capabilities      TEXT,
    token_id          TEXT
);
