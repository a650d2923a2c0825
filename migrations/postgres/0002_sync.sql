-- Directory sync: member counts from Okta (to skip empty groups), the record of sync runs, and
-- the lock that keeps one sync at a time across all Gatepass processes.

ALTER TABLE groups ADD COLUMN okta_member_count BIGINT;

CREATE TABLE sync_runs (
    id                  BIGSERIAL PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
    status              TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    started_at          BIGINT NOT NULL,
    finished_at         BIGINT,
    changes_since       BIGINT,                -- incremental: what changed after this instant
    users_seen          BIGINT NOT NULL DEFAULT 0,
    groups_seen         BIGINT NOT NULL DEFAULT 0,
    memberships_seen    BIGINT NOT NULL DEFAULT 0,
    users_removed       BIGINT NOT NULL DEFAULT 0,
    groups_removed      BIGINT NOT NULL DEFAULT 0,
    memberships_removed BIGINT NOT NULL DEFAULT 0,
    calls               BIGINT NOT NULL DEFAULT 0,
    error               TEXT
);
CREATE INDEX sync_runs_started_at ON sync_runs (started_at);

CREATE TABLE sync_lock (
    name   TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
