-- The comms shard Owner API: one shard per guild, its owner keys, its configuration (one
-- versioned JSON document, as central would distribute it), shard-local documents
-- (archive, presets), the event log behind the stream and webhooks, and the webhook
-- delivery queue.

CREATE TABLE shards (
    guild_id         TEXT PRIMARY KEY REFERENCES guilds(id),
    tier             TEXT NOT NULL DEFAULT 'free',  -- free | premium
    config           TEXT NOT NULL DEFAULT '{}',
    version          INTEGER NOT NULL DEFAULT 0,
    archive_version  INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);

-- Owner keys by the keyed hash of their secret; the secret itself is never stored.
CREATE TABLE shard_keys (
    id           TEXT PRIMARY KEY,
    guild_id     TEXT NOT NULL REFERENCES guilds(id),
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);
CREATE INDEX shard_keys_by_guild ON shard_keys (guild_id);

-- Archive entries (kind 'archive', id = netUid), presets (kind 'preset', id = name), and
-- the like: JSON bodies the API reads and writes whole.
CREATE TABLE shard_docs (
    guild_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, kind, id)
);

-- Every event, in order: the SSE id is `seq`, and Last-Event-ID resumes after it.
CREATE TABLE shard_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id  TEXT NOT NULL,
    type      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX shard_events_by_guild ON shard_events (guild_id, seq);

-- Assignments the server undoes on time (also after a restart).
CREATE TABLE shard_temporary_assignments (
    guild_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    net_uid     TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id, net_uid)
);
CREATE INDEX shard_temporary_assignments_due ON shard_temporary_assignments (expires_at);

-- The signing secret is sealed (XChaCha20-Poly1305 under the server key), never stored plain.
CREATE TABLE shard_webhooks (
    id                    TEXT PRIMARY KEY,
    guild_id              TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,      -- JSON array of event types
    sealed_secret         BLOB NOT NULL,
    created_at            INTEGER NOT NULL,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT,
    disabled_at           INTEGER
);
CREATE INDEX shard_webhooks_by_guild ON shard_webhooks (guild_id);

-- One row per (webhook, event), written in the transaction that records the event.
CREATE TABLE shard_deliveries (
    id               TEXT PRIMARY KEY,   -- the webhook-id header: the same on every retry
    webhook_id       TEXT NOT NULL REFERENCES shard_webhooks(id) ON DELETE CASCADE,
    event_seq        INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
    last_error       TEXT,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX shard_deliveries_due ON shard_deliveries (status, next_attempt_at);
