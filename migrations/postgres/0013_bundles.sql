-- Bundles: a named set of requestable groups with its own policy. A person asks for the
-- bundle once; the request is one row per group, the first (the lead) carrying the approvers
-- and the decisions, the others following it (`bundle_lead`).
CREATE TABLE bundles (
    id          BIGSERIAL PRIMARY KEY,
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
-- A policy applies to exactly one of a group, a pattern or a bundle.
ALTER TABLE policies ADD COLUMN bundle_id BIGINT REFERENCES bundles (id);
ALTER TABLE policies DROP CONSTRAINT policies_check;
ALTER TABLE policies ADD CONSTRAINT policies_target CHECK (
    (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN pattern IS NULL THEN 0 ELSE 1 END)
    + (CASE WHEN bundle_id IS NULL THEN 0 ELSE 1 END) = 1);
CREATE UNIQUE INDEX policies_bundle ON policies (bundle_id) WHERE bundle_id IS NOT NULL;
ALTER TABLE access_requests ADD COLUMN bundle_id BIGINT;
ALTER TABLE access_requests ADD COLUMN bundle_lead BIGINT;                   -- the request decided for the bundle
CREATE INDEX access_requests_bundle ON access_requests (bundle_lead);
