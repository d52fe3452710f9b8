-- guildgate schema v1. Times are milliseconds since the Unix epoch (BIGINT); ids are
-- ULID strings or Discord snowflakes (TEXT). Nothing here stores a plaintext secret.

CREATE TABLE guilds (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_id    TEXT NOT NULL,
    tier        TEXT NOT NULL CHECK (tier IN ('pro', 'free')),
    created_at  BIGINT NOT NULL
);

CREATE TABLE members (
    guild_id      TEXT NOT NULL REFERENCES guilds(id),
    user_id       TEXT NOT NULL,
    capabilities  TEXT NOT NULL,
    added_at      BIGINT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE api_tokens (
    id                 TEXT PRIMARY KEY,
    guild_id           TEXT NOT NULL REFERENCES guilds(id),
    user_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    secret_hash        BYTEA NOT NULL UNIQUE,
    capabilities       TEXT NOT NULL,
    allowed_cidrs      TEXT NOT NULL,
    allow_self_reauth  BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    expires_at         BIGINT,
    revoked_at         BIGINT,
    revoked_reason     TEXT,
    last_used_at       BIGINT,
    last_used_ip       TEXT
);
CREATE INDEX api_tokens_by_guild_user ON api_tokens (guild_id, user_id);

CREATE TABLE reauth_windows (
    id          TEXT PRIMARY KEY,
    token_id    TEXT NOT NULL REFERENCES api_tokens(id),
    opened_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    closed_at   BIGINT,
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
    issued_at    BIGINT NOT NULL,
    removed_at   BIGINT,
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
    claimed_at  BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX tickets_by_guild ON tickets (guild_id, id);

CREATE TABLE bans (
    id                      TEXT PRIMARY KEY,
    guild_id                TEXT NOT NULL REFERENCES guilds(id),
    user_id                 TEXT NOT NULL,
    reason                  TEXT,
    duration_minutes        BIGINT,
    delete_message_seconds  BIGINT NOT NULL,
    issued_by               TEXT NOT NULL,
    issued_at               BIGINT NOT NULL,
    expires_at              BIGINT,
    lifted_at               BIGINT,
    lifted_by               TEXT
);
CREATE INDEX bans_by_guild_user ON bans (guild_id, user_id);

CREATE TABLE mutes (
    id                TEXT PRIMARY KEY,
    guild_id          TEXT NOT NULL REFERENCES guilds(id),
    user_id           TEXT NOT NULL,
    reason            TEXT,
    duration_minutes  BIGINT NOT NULL,
    issued_by         TEXT NOT NULL,
    issued_at         BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    lifted_at         BIGINT,
    lifted_by         TEXT
);
CREATE INDEX mutes_by_guild_user ON mutes (guild_id, user_id);

CREATE TABLE purges (
    id          TEXT PRIMARY KEY,
    guild_id    TEXT NOT NULL REFERENCES guilds(id),
    channel_id  TEXT NOT NULL,
    count       BIGINT NOT NULL,
    reason      TEXT,
    issued_by   TEXT NOT NULL,
    issued_at   BIGINT NOT NULL,
    status      TEXT NOT NULL
);

CREATE TABLE game_servers (
    id               TEXT PRIMARY KEY,
    guild_id         TEXT NOT NULL REFERENCES guilds(id),
    name             TEXT NOT NULL,
    host             TEXT NOT NULL,
    port             BIGINT NOT NULL,
    sealed_password  BYTEA NOT NULL,
    created_at       BIGINT NOT NULL
);

CREATE TABLE rcon_runs (
    id         TEXT PRIMARY KEY,
    guild_id   TEXT NOT NULL REFERENCES guilds(id),
    server_id  TEXT NOT NULL REFERENCES game_servers(id),
    command    TEXT NOT NULL,
    issued_by  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    status     TEXT NOT NULL,
    output     TEXT
);

-- Never purged automatically.
CREATE TABLE audit_log (
    id             TEXT PRIMARY KEY,
    at             BIGINT NOT NULL,
    guild_id       TEXT,
    actor_source   TEXT NOT NULL,
    actor_user_id  TEXT,
    token_id       TEXT,
    token_name     TEXT,
    action         TEXT NOT NULL,
    method         TEXT,
    path           TEXT,
    outcome        TEXT NOT NULL,
    status         BIGINT,
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
    fingerprint  BYTEA NOT NULL,
    locked_at    BIGINT,
    status       BIGINT,
    body         TEXT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, key)
);
