-- Bundles: a named set of requestable groups with its own policy. A person asks for the
-- bundle once; the request is one row per group, the first (the lead) carrying the approvers
-- and the decisions, the others following it (`bundle_lead`).
CREATE TABLE bundles (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL
);
CREATE TABLE bundle_groups (
    bundle_id BIGINT NOT NULL REFERENCES bundles (id),
    group_id  TEXT NOT NULL REFERENCES groups (okta_id),
    PRIMARY KEY (bundle_id, group_id)
);
-- A policy applies to exactly one of a group, a pattern or a bundle. SQLite cannot change a
-- table's CHECK in place: the table is rebuilt with the same rows.
CREATE TABLE policies_new (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id                 TEXT REFERENCES groups (okta_id),   -- one group …
    pattern                  TEXT,                               -- … or a name pattern (`*` wildcard)
    bundle_id                BIGINT REFERENCES bundles (id),     -- … or a bundle
    requestable              BOOLEAN NOT NULL,
    eligible_groups          TEXT NOT NULL,
    approver_users           TEXT NOT NULL,
    approver_groups          TEXT NOT NULL,
    quorum                   BIGINT NOT NULL CHECK (quorum >= 1),
    default_duration_secs    BIGINT NOT NULL,
    max_duration_secs        BIGINT NOT NULL,
    require_reason           BOOLEAN NOT NULL,
    allow_self_approval      BOOLEAN NOT NULL,
    auto_approve             BOOLEAN NOT NULL,
    updated_at               BIGINT NOT NULL,
    updated_by               TEXT NOT NULL,
    approve_in_gatepass_only BOOLEAN NOT NULL DEFAULT FALSE,
    slack_channel            TEXT,
    keep_needs_comment       BOOLEAN NOT NULL DEFAULT FALSE,
    ticket_pattern           TEXT,
    ticket_url               TEXT,
    rules                    TEXT NOT NULL DEFAULT '{}',
    CHECK ((group_id IS NOT NULL) + (pattern IS NOT NULL) + (bundle_id IS NOT NULL) = 1)
);
INSERT INTO policies_new (id, group_id, pattern, requestable, eligible_groups, approver_users,
    approver_groups, quorum, default_duration_secs, max_duration_secs, require_reason,
    allow_self_approval, auto_approve, updated_at, updated_by, approve_in_gatepass_only,
    slack_channel, keep_needs_comment, ticket_pattern, ticket_url, rules)
  SELECT id, group_id, pattern, requestable, eligible_groups, approver_users, approver_groups,
    quorum, default_duration_secs, max_duration_secs, require_reason, allow_self_approval,
    auto_approve, updated_at, updated_by, approve_in_gatepass_only, slack_channel,
    keep_needs_comment, ticket_pattern, ticket_url, rules
  FROM policies;
DROP TABLE policies;
ALTER TABLE policies_new RENAME TO policies;
CREATE UNIQUE INDEX policies_group ON policies (group_id) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX policies_pattern ON policies (pattern) WHERE pattern IS NOT NULL;
CREATE UNIQUE INDEX policies_bundle ON policies (bundle_id) WHERE bundle_id IS NOT NULL;
ALTER TABLE access_requests ADD COLUMN bundle_id BIGINT;
ALTER TABLE access_requests ADD COLUMN bundle_lead BIGINT;                   -- the request decided for the bundle
CREATE INDEX access_requests_bundle ON access_requests (bundle_lead);
