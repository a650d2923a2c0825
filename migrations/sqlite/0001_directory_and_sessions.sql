-- The directory as last synced from Okta, and browser sessions.
-- Instants are BIGINT milliseconds since the Unix epoch (UTC) on both engines.

CREATE TABLE users (
    okta_id           TEXT PRIMARY KEY NOT NULL,
    login             TEXT NOT NULL UNIQUE,
    email             TEXT NOT NULL,
    display_name      TEXT NOT NULL,
    status            TEXT NOT NULL,            -- Okta user status: ACTIVE, SUSPENDED, DEPROVISIONED, ...
    okta_last_updated BIGINT,
    synced_at         BIGINT NOT NULL,
    removed_at        BIGINT                    -- set when a sync no longer finds the user
);
CREATE INDEX users_email ON users (email);

CREATE TABLE groups (
    okta_id                      TEXT PRIMARY KEY NOT NULL,
    name                         TEXT NOT NULL,
    description                  TEXT NOT NULL DEFAULT '',
    okta_type                    TEXT NOT NULL CHECK (okta_type IN ('OKTA_GROUP', 'APP_GROUP', 'BUILT_IN')),
    managed_by_rule              BOOLEAN NOT NULL DEFAULT FALSE,
    okta_last_updated            BIGINT,
    okta_last_membership_updated BIGINT,
    synced_at                    BIGINT NOT NULL,
    removed_at                   BIGINT
);
CREATE INDEX groups_name ON groups (name);

CREATE TABLE memberships (
    group_id TEXT NOT NULL REFERENCES groups (okta_id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (okta_id) ON DELETE CASCADE,
    source   TEXT NOT NULL CHECK (source IN ('okta_sync', 'grant')),
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    data       BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
