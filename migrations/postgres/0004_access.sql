-- The access workflow: policies, requests and their approvals, grants, and the durable outbox
-- of Okta membership changes (okta_ops) the grant engine works through.

CREATE TABLE policies (
    id                    BIGSERIAL PRIMARY KEY,
    group_id              TEXT REFERENCES groups (okta_id),   -- one group …
    pattern               TEXT,                               -- … or a name pattern (`*` wildcard)
    requestable           BOOLEAN NOT NULL,
    eligible_groups       TEXT NOT NULL,                      -- JSON array of group ids; [] = everyone
    approver_users        TEXT NOT NULL,                      -- JSON array of user ids
    approver_groups       TEXT NOT NULL,                      -- JSON array of group ids
    quorum                BIGINT NOT NULL CHECK (quorum >= 1),
    default_duration_secs BIGINT NOT NULL,
    max_duration_secs     BIGINT NOT NULL,
    require_reason        BOOLEAN NOT NULL,
    allow_self_approval   BOOLEAN NOT NULL,
    auto_approve          BOOLEAN NOT NULL,
    updated_at            BIGINT NOT NULL,
    updated_by            TEXT NOT NULL,
    CHECK ((group_id IS NULL AND pattern IS NOT NULL) OR (group_id IS NOT NULL AND pattern IS NULL))
);
CREATE UNIQUE INDEX policies_group ON policies (group_id) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX policies_pattern ON policies (pattern) WHERE pattern IS NOT NULL;

CREATE TABLE access_requests (
    id               BIGSERIAL PRIMARY KEY,
    requester_id     TEXT NOT NULL REFERENCES users (okta_id),
    group_id         TEXT NOT NULL REFERENCES groups (okta_id),
    reason           TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    starts_at        BIGINT,                                  -- scheduled start; NULL: at approval
    state            TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied', 'cancelled', 'expired')),
    policy           TEXT NOT NULL,                           -- JSON: the policy as it was when asked
    quorum           BIGINT NOT NULL,
    extends_grant_id BIGINT,
    created_at       BIGINT NOT NULL,
    decided_at       BIGINT,
    decided_by       TEXT
);
CREATE INDEX access_requests_state ON access_requests (state, created_at);
CREATE INDEX access_requests_requester ON access_requests (requester_id, created_at);

-- Who may decide a request, fixed when it is made (a user, or the members of a group).
CREATE TABLE request_approvers (
    request_id BIGINT NOT NULL REFERENCES access_requests (id),
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'group')),
    ref        TEXT NOT NULL,
    PRIMARY KEY (request_id, kind, ref)
);
CREATE INDEX request_approvers_ref ON request_approvers (kind, ref);

CREATE TABLE approvals (
    request_id    BIGINT NOT NULL REFERENCES access_requests (id),
    approver_id   TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('approve', 'deny')),
    comment       TEXT NOT NULL,
    duration_secs BIGINT,                                     -- shortened by this approver
    at            BIGINT NOT NULL,
    PRIMARY KEY (request_id, approver_id)
);

CREATE TABLE grants (
    id             BIGSERIAL PRIMARY KEY,
    request_id     BIGINT NOT NULL REFERENCES access_requests (id),
    user_id        TEXT NOT NULL,
    group_id       TEXT NOT NULL,
    starts_at      BIGINT NOT NULL,
    ends_at        BIGINT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('scheduled', 'active', 'revoking', 'revoked', 'failed')),
    revoked_reason TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX grants_user ON grants (user_id, state);
CREATE INDEX grants_group ON grants (group_id, state);
CREATE INDEX grants_due ON grants (state, ends_at);

CREATE TABLE okta_ops (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('add', 'remove')),
    user_id         TEXT NOT NULL,
    group_id        TEXT NOT NULL,
    grant_id        BIGINT REFERENCES grants (id),
    state           TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'done', 'dead')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    done_at         BIGINT
);
CREATE INDEX okta_ops_due ON okta_ops (state, next_attempt_at);
