-- MCP: a per-guild opt-in, where each token came from, and the OAuth device flow.

ALTER TABLE guilds ADD COLUMN mcp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN source TEXT NOT NULL DEFAULT 'cli';

-- A pending pairing. The device code is kept only as a keyed hash; no token exists until
-- the device picks it up after approval.
CREATE TABLE device_codes (
    code_hash         BLOB PRIMARY KEY,
    user_code         TEXT NOT NULL UNIQUE,
    guild_id          TEXT NOT NULL REFERENCES guilds(id),
    client_name       TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    interval_secs     INTEGER NOT NULL,
    last_polled_at    INTEGER,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
    approved_by       TEXT,
    capabilities      TEXT,
    token_id          TEXT
);
