-- Okta applications as requestable resources. `apps` and `app_users` copy what Okta has (the
-- sync reads ACTIVE apps and every user assigned to each, directly or through a group); a
-- policy may target an app; a request, a grant and an Okta operation name their resource:
-- `group_id` holds the Okta id of the group or, when `resource` is 'app', of the app.
CREATE TABLE apps (
    okta_id           TEXT PRIMARY KEY NOT NULL,
    name              TEXT NOT NULL,             -- Okta's app name (`amazon_aws`, …)
    label             TEXT NOT NULL,             -- what people see
    sign_on_mode      TEXT NOT NULL,
    status            TEXT NOT NULL,
    okta_last_updated BIGINT,
    synced_at         BIGINT NOT NULL,
    removed_at        BIGINT                     -- set when a sync no longer finds it ACTIVE
);
CREATE INDEX apps_label ON apps (label);

-- Who Okta has assigned to an app: directly (`USER`) or only through a group (`GROUP`).
CREATE TABLE app_users (
    app_id  TEXT NOT NULL REFERENCES apps (okta_id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (okta_id) ON DELETE CASCADE,
    scope   TEXT NOT NULL CHECK (scope IN ('USER', 'GROUP')),
    source  TEXT NOT NULL CHECK (source IN ('okta_sync', 'grant')),
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (app_id, user_id)
);
CREATE INDEX app_users_user ON app_users (user_id);

-- SQLite cannot change a table's CHECK or drop a foreign key in place: `policies` and
-- `access_requests` are rebuilt with the same rows. Rows of other tables point at
-- `access_requests`; their foreign keys are checked at commit (`defer_foreign_keys`), when
-- every request is back under the same id.
PRAGMA defer_foreign_keys = ON;

-- A policy applies to exactly one of a group, a pattern, a bundle or an app.
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
    app_id                   TEXT REFERENCES apps (okta_id),    -- … or an app
    CHECK ((group_id IS NOT NULL) + (pattern IS NOT NULL) + (bundle_id IS NOT NULL)
           + (app_id IS NOT NULL) = 1)
);
INSERT INTO policies_new (id, group_id, pattern, bundle_id, requestable, eligible_groups, approver_users, approver_groups, quorum, default_duration_secs, max_duration_secs, require_reason, allow_self_approval, auto_approve, updated_at, updated_by, approve_in_gatepass_only, slack_channel, keep_needs_comment, ticket_pattern, ticket_url, rules)
  SELECT id, group_id, pattern, bundle_id, requestable, eligible_groups, approver_users, approver_groups, quorum, default_duration_secs, max_duration_secs, require_reason, allow_self_approval, auto_approve, updated_at, updated_by, approve_in_gatepass_only, slack_channel, keep_needs_comment, ticket_pattern, ticket_url, rules FROM policies;
DROP TABLE policies;
ALTER TABLE policies_new RENAME TO policies;
CREATE UNIQUE INDEX policies_group ON policies (group_id) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX policies_pattern ON policies (pattern) WHERE pattern IS NOT NULL;
CREATE UNIQUE INDEX policies_bundle ON policies (bundle_id) WHERE bundle_id IS NOT NULL;
CREATE UNIQUE INDEX policies_app ON policies (app_id) WHERE app_id IS NOT NULL;

-- A request's resource is a group or an app: its id is no longer only a group's.
CREATE TABLE access_requests_old AS SELECT * FROM access_requests;
DROP TABLE access_requests;
CREATE TABLE access_requests (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    requester_id        TEXT NOT NULL REFERENCES users (okta_id),
    group_id            TEXT NOT NULL,                -- the group's id, or the app's
    reason              TEXT NOT NULL,
    duration_secs       BIGINT NOT NULL,
    starts_at           BIGINT,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    policy              TEXT NOT NULL,
    quorum              BIGINT NOT NULL,
    extends_grant_id    BIGINT,
    created_at          BIGINT NOT NULL,
    decided_at          BIGINT,
    decided_by          TEXT,
    ticket              TEXT,
    ticket_url          TEXT,
    policy_id           BIGINT,
    emergency           BOOLEAN NOT NULL DEFAULT FALSE,
    followup            TEXT CHECK (followup IN ('pending', 'justified', 'flagged')),
    followup_by         TEXT,
    followup_at         BIGINT,
    followup_comment    TEXT,
    escalate_at         BIGINT,
    admins_at           BIGINT,
    escalated_at        BIGINT,
    admins_escalated_at BIGINT,
    bundle_id           BIGINT,
    bundle_lead         BIGINT,
    resource            TEXT NOT NULL DEFAULT 'group' CHECK (resource IN ('group', 'app'))
);
INSERT INTO access_requests (id, requester_id, group_id, reason, duration_secs, starts_at, state, policy, quorum, extends_grant_id, created_at, decided_at, decided_by, ticket, ticket_url, policy_id, emergency, followup, followup_by, followup_at, followup_comment, escalate_at, admins_at, escalated_at, admins_escalated_at, bundle_id, bundle_lead)
  SELECT id, requester_id, group_id, reason, duration_secs, starts_at, state, policy, quorum, extends_grant_id, created_at, decided_at, decided_by, ticket, ticket_url, policy_id, emergency, followup, followup_by, followup_at, followup_comment, escalate_at, admins_at, escalated_at, admins_escalated_at, bundle_id, bundle_lead FROM access_requests_old;
DROP TABLE access_requests_old;
CREATE INDEX access_requests_state ON access_requests (state, created_at);
CREATE INDEX access_requests_requester ON access_requests (requester_id, created_at);
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (requester_id, group_id)
 WHERE state = 'pending';
CREATE INDEX access_requests_policy ON access_requests (requester_id, policy_id, state);
CREATE INDEX access_requests_emergency ON access_requests (requester_id, emergency, created_at);
CREATE INDEX access_requests_followup ON access_requests (followup);
CREATE INDEX access_requests_bundle ON access_requests (bundle_lead);

ALTER TABLE grants ADD COLUMN resource TEXT NOT NULL DEFAULT 'group'
    CHECK (resource IN ('group', 'app'));
ALTER TABLE okta_ops ADD COLUMN resource TEXT NOT NULL DEFAULT 'group'
    CHECK (resource IN ('group', 'app'));
