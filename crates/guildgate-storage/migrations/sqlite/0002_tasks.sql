-- The tasks surface (Arca-compatible): users, workspaces and their content, and arca_ keys.
-- Numeric ids, as the tasks API's clients expect them.

ALTER TABLE audit_log ADD COLUMN surface TEXT NOT NULL DEFAULT 'guild';
CREATE INDEX audit_log_by_surface ON audit_log (surface, guild_id, id);

CREATE TABLE task_users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    avatar_url  TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE workspaces (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL,
    slug             TEXT NOT NULL UNIQUE,
    description      TEXT,
    icon             TEXT,
    color            TEXT,
    image_url        TEXT,
    owner_id         INTEGER NOT NULL REFERENCES task_users(id),
    next_identifier  INTEGER NOT NULL DEFAULT 1,
    created_at       INTEGER NOT NULL
);

CREATE TABLE workspace_members (
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    user_id       INTEGER NOT NULL REFERENCES task_users(id),
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'member', 'admin', 'owner')),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);

CREATE TABLE task_statuses (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    category      TEXT NOT NULL,
    icon          TEXT,
    color         TEXT NOT NULL,
    position      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX task_statuses_by_workspace ON task_statuses (workspace_id, position);

CREATE TABLE task_labels (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    color         TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE task_folders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    icon          TEXT,
    color         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);

CREATE TABLE task_lists (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    folder_id     INTEGER NOT NULL REFERENCES task_folders(id),
    name          TEXT NOT NULL,
    icon          TEXT,
    color         TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
);

CREATE TABLE tasks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces(id),
    list_id        INTEGER NOT NULL REFERENCES task_lists(id),
    parent_id      INTEGER REFERENCES tasks(id),
    identifier     INTEGER NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT,
    priority       TEXT NOT NULL,
    status_id      INTEGER REFERENCES task_statuses(id),
    due_date       INTEGER,
    start_date     INTEGER,
    creator_id     INTEGER NOT NULL REFERENCES task_users(id),
    assignee_ids   TEXT NOT NULL,
    label_ids      TEXT NOT NULL,
    custom_fields  TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    deleted_at     INTEGER,
    UNIQUE (workspace_id, identifier)
);
CREATE INDEX tasks_by_workspace ON tasks (workspace_id, parent_id, id);

CREATE TABLE task_comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id     INTEGER NOT NULL REFERENCES tasks(id),
    user_id     INTEGER NOT NULL REFERENCES task_users(id),
    content     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tasks_api_keys (
    id           TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES task_users(id),
    label        TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
