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
ALTER TABLE policies ADD COLUMN bundle_id BIGINT REFERENCES bundles (id);   -- a bundle's own policy (its pattern column holds bundle:<id>, never matched)
ALTER TABLE access_requests ADD COLUMN bundle_id BIGINT;
ALTER TABLE access_requests ADD COLUMN bundle_lead BIGINT;                   -- the request decided for the bundle
CREATE INDEX access_requests_bundle ON access_requests (bundle_lead);
