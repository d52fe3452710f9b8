-- guildgate schema v1. Times are milliseconds since the Unix epoch (INTEGER); ids are
-- ULID strings or Discord snowflakes (TEXT). Nothing here stores a plaintext secret.

CREATE TABLE guilds (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    tier        TEXT NOT NULL CHECK (tier IN ('pro', 'free')),
    created_at  INTEGER NOT NULL
);

CREATE TABLE members (
    guild_id      TEXT NOT NULL REFERENCES guilds(id),
    user_id       TEXT NOT NULL,
    capabilities  TEXT NOT NULL,
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE api_tokens (
    id                 TEXT PRIMARY KEY,
    guild_id           TEXT NOT NULL REFERENCES guilds(id),
    user_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    secret_hash        BLOB NOT NULL UNIQUE,
    capabilities       TEXT NOT NULL,
    allowed_cidrs      TEXT NOT NULL,
    allow_self_reauth  INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER,
    revoked_at         INTEGER,
    revoked_reason     TEXT,
    last_used_at       INTEGER,
    last_used_ip       TEXT
);
CREATE INDEX api_tokens_by_guild_user ON api_tokens (guild_id, user_id);

CREATE TABLE reauth_windows (
    id          TEXT PRIMARY KEY,
    token_id    TEXT NOT NULL REFERENCES api_tokens(id),
    opened_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    opened_by   TEXT NOT NULL
);
CREATE INDEX reauth_windows_by_token ON reauth_windows (token_id, expires_at);

CREATE TABLE strikes (
    id           TEXT PRIMARY KEY,
    guild_id     TEXT NOT NULL REFERENCES guilds(id),
    user_id      TEXT NOT NULL,
    player_name  TEXT,
    in_game_id   TEXT,
    reason       TEXT NOT NULL,
    category     TEXT,
    severity     TEXT NOT NULL,
    issued_by    TEXT NOT NULL,
    token_id     TEXT,
    issued_at    INTEGER NOT NULL,
    removed_at   INTEGER,
    removed_by   TEXT
);
CREATE INDEX strikes_by_guild ON strikes (guild_id, id);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    guild_id    TEXT NOT NULL REFERENCES guilds(id),
    opened_by   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL,
    claimed_by  TEXT,
    claimed_at  INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tickets_by_guild ON tickets (guild_id, id);

CREATE TABLE bans (
    id                      TEXT PRIMARY KEY,
    guild_id                TEXT NOT NULL REFERENCES guilds(id),
    user_id                 TEXT NOT NULL,
    reason                  TEXT,
    duration_minutes        INTEGER,
    delete_message_seconds  INTEGER NOT NULL,
    issued_by               TEXT NOT NULL,
    issued_at               INTEGER NOT NULL,
    expires_at              INTEGER,
    lifted_at               INTEGER,
    lifted_by               TEXT
);
CREATE INDEX bans_by_guild_user ON bans (guild_id, user_id);

CREATE TABLE mutes (
    id                TEXT PRIMARY KEY,
    guild_id          TEXT NOT NULL REFERENCES guilds(id),
    user_id           TEXT NOT NULL,
    reason            TEXT,
    duration_minutes  INTEGER NOT NULL,
    issued_by         TEXT NOT NULL,
    issued_at         INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    lifted_at         INTEGER,
    lifted_by         TEXT
);
CREATE INDEX mutes_by_guild_user ON mutes (guild_id, user_id);

CREATE TABLE purges (
    id          TEXT PRIMARY KEY,
    guild_id    TEXT NOT NULL REFERENCES guilds(id),
    channel_id  TEXT NOT NULL,
    count       INTEGER NOT NULL,
    reason      TEXT,
    issued_by   TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    status      TEXT NOT NULL
);

CREATE TABLE game_servers (
    id               TEXT PRIMARY KEY,
    guild_id         TEXT NOT NULL REFERENCES guilds(id),
    name             TEXT NOT NULL,
    host             TEXT NOT NULL,
    port             INTEGER NOT NULL,
    sealed_password  BLOB NOT NULL,
    created_at       INTEGER NOT NULL
);

CREATE TABLE rcon_runs (
    id         TEXT PRIMARY KEY,
    guild_id   TEXT NOT NULL REFERENCES guilds(id),
    server_id  TEXT NOT NULL REFERENCES game_servers(id),
    command    TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    status     TEXT NOT NULL,
    output     TEXT
);

-- Never purged automatically.
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    at             INTEGER NOT NULL,
    guild_id       TEXT,
    actor_source   TEXT NOT NULL,
    actor_user_id  TEXT,
    token_id       TEXT,
    token_name     TEXT,
    action         TEXT NOT NULL,
    method         TEXT,
    path           TEXT,
    outcome        TEXT NOT NULL,
    status         INTEGER,
    request_id     TEXT,
    ip             TEXT,
    target         TEXT
);
CREATE INDEX audit_log_by_guild ON audit_log (guild_id, id);

-- Stripe-style idempotency: one row per (token, key); body and status of the first
-- completed response, kept at least 24 hours.
CREATE TABLE idempotency_keys (
    token_id     TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  BLOB NOT NULL,
    locked_at    INTEGER,
    status       INTEGER,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);
