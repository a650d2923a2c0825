-- Access reviews: certification campaigns over the memberships of governed groups.
--
-- The directory keeps what reviewers need to know about a person from their Okta profile, and
-- since when Okta has listed each membership.
ALTER TABLE users ADD COLUMN title TEXT;
ALTER TABLE users ADD COLUMN department TEXT;
ALTER TABLE users ADD COLUMN manager_id TEXT;       -- profile.managerId: the manager's Okta id
ALTER TABLE users ADD COLUMN manager_name TEXT;     -- profile.manager: a display name, shown only
ALTER TABLE users ADD COLUMN last_login BIGINT;     -- Okta's lastLogin, as of the last full sync
ALTER TABLE memberships ADD COLUMN since BIGINT;    -- first seen by a sync (or added by a grant)

-- A campaign: what it covers, who reviews, when it is due and what happens to what nobody
-- decided. Its items are snapshotted when it opens.
CREATE TABLE review_campaigns (
    id                 BIGSERIAL PRIMARY KEY,
    name               TEXT NOT NULL,
    scope              TEXT NOT NULL,                   -- JSON: ReviewScope
    include_standing   BOOLEAN NOT NULL,                -- memberships made outside Gatepass
    include_grants     BOOLEAN NOT NULL,                -- live Gatepass grants
    reviewers          TEXT NOT NULL CHECK (reviewers IN ('approvers', 'people', 'managers')),
    reviewer_people    TEXT NOT NULL,                   -- JSON array of user ids ('people')
    fallback           TEXT NOT NULL,                   -- JSON array of user ids
    default_action     TEXT NOT NULL CHECK (default_action IN ('revoke', 'keep', 'extend')),
    extend_secs        BIGINT NOT NULL,                 -- how far 'extend' moves the due date
    revoke_on_decision BOOLEAN NOT NULL,
    remind_before_secs BIGINT,                          -- reminder this long before the due date
    state              TEXT NOT NULL CHECK (state IN ('scheduled', 'open', 'closing', 'closed')),
    starts_at          BIGINT NOT NULL,
    due_at             BIGINT NOT NULL,
    extended_at        BIGINT,
    reminded_at        BIGINT,
    opened_at          BIGINT,
    closed_at          BIGINT,
    closed_by          TEXT,
    schedule_id        BIGINT,
    items              BIGINT NOT NULL DEFAULT 0,
    unrouted           BIGINT NOT NULL DEFAULT 0,           -- items nobody may review
    created_by         TEXT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX review_campaigns_state ON review_campaigns (state, id);

-- The groups a campaign covers, fixed when it opens, and whether keeping a member needs a
-- comment (the group's policy says so).
CREATE TABLE review_groups (
    campaign_id        BIGINT NOT NULL REFERENCES review_campaigns (id),
    group_id           TEXT NOT NULL,
    keep_needs_comment BOOLEAN NOT NULL,
    PRIMARY KEY (campaign_id, group_id)
);

-- Who reviews a pool of items: `group:<id>` (the group's approvers or the named people) or
-- `fallback`. Fixed when the campaign opens (approver groups expanded to their members).
CREATE TABLE review_pool_members (
    campaign_id BIGINT NOT NULL REFERENCES review_campaigns (id),
    pool        TEXT NOT NULL,
    reviewer_id TEXT NOT NULL,
    PRIMARY KEY (campaign_id, pool, reviewer_id)
);
CREATE INDEX review_pool_members_reviewer ON review_pool_members (reviewer_id, campaign_id);

-- One membership under review. Reviewed by one person (`reviewer_id`, e.g. a manager) or by
-- any member of a pool other than the member themself (`pool`).
CREATE TABLE review_items (
    id          BIGSERIAL PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES review_campaigns (id),
    user_id     TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    -- Who and what, as they were when the campaign opened (the evidence, and what lists sort by).
    user_name   TEXT NOT NULL,
    login       TEXT NOT NULL,
    title       TEXT,
    department  TEXT,
    group_name  TEXT NOT NULL,
    grant_id    BIGINT,                                 -- NULL: a membership outside Gatepass
    since       BIGINT,
    last_login  BIGINT,
    route       TEXT NOT NULL CHECK (route IN ('approvers', 'people', 'manager', 'fallback')),
    pool        TEXT,
    reviewer_id TEXT,
    decision    TEXT CHECK (decision IN ('keep', 'revoke')),
    comment     TEXT,
    decided_by  TEXT,
    decided_at  BIGINT,
    outcome     TEXT CHECK (outcome IN ('kept', 'revoked', 'flagged')),
    defaulted   BOOLEAN NOT NULL DEFAULT FALSE,
    effect      TEXT CHECK (effect IN ('queued', 'ended', 'skipped')),
    effect_note TEXT,
    okta_op_id  BIGINT,
    effect_at   BIGINT,
    CHECK ((pool IS NULL) <> (reviewer_id IS NULL))
);
CREATE UNIQUE INDEX review_items_membership ON review_items (campaign_id, group_id, user_id);
CREATE INDEX review_items_reviewer ON review_items (reviewer_id, campaign_id);
CREATE INDEX review_items_pool ON review_items (campaign_id, pool);
CREATE INDEX review_items_outcome ON review_items (campaign_id, outcome, effect, id);
CREATE INDEX review_items_decided ON review_items (campaign_id, decision);

-- Recurring reviews: a campaign made from `template` every `every_months` months.
CREATE TABLE review_schedules (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL,
    template      TEXT NOT NULL,                        -- JSON: the campaign form
    every_months  BIGINT NOT NULL CHECK (every_months >= 1),
    review_days   BIGINT NOT NULL CHECK (review_days >= 1),
    next_start_at BIGINT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX review_schedules_due ON review_schedules (enabled, next_start_at);

-- A policy may require a comment to keep a membership in a review.
ALTER TABLE policies ADD COLUMN keep_needs_comment BOOLEAN NOT NULL DEFAULT FALSE;
