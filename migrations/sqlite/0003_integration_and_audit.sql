-- The Okta integration as admins configure it (one row), and the append-only audit log.

CREATE TABLE integration (
    id                       BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    okta_org_url             TEXT NOT NULL,
    auth_method              TEXT NOT NULL CHECK (auth_method IN ('api_token', 'oauth_service_app')),
    secret_ref               TEXT NOT NULL,          -- where the credential is; never the credential
    client_id                TEXT,
    key_id                   TEXT,
    sync_incremental_minutes BIGINT NOT NULL,
    sync_full_hours          BIGINT NOT NULL,
    group_name_prefix        TEXT,
    group_types              TEXT NOT NULL,          -- comma-separated Okta group types; empty: all
    updated_at               BIGINT NOT NULL,
    updated_by               TEXT NOT NULL
);

CREATE TABLE audit_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    details   TEXT NOT NULL,                         -- JSON
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
