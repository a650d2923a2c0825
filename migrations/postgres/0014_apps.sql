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

-- A policy applies to exactly one of a group, a pattern, a bundle or an app.
ALTER TABLE policies ADD COLUMN app_id TEXT REFERENCES apps (okta_id);
ALTER TABLE policies DROP CONSTRAINT policies_target;
ALTER TABLE policies ADD CONSTRAINT policies_target CHECK (
    (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN pattern IS NULL THEN 0 ELSE 1 END)
    + (CASE WHEN bundle_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN app_id IS NULL THEN 0 ELSE 1 END) = 1);
CREATE UNIQUE INDEX policies_app ON policies (app_id) WHERE app_id IS NOT NULL;

-- A request's resource is a group or an app: its id is no longer only a group's.
ALTER TABLE access_requests DROP CONSTRAINT access_requests_group_id_fkey;
ALTER TABLE access_requests ADD COLUMN resource TEXT NOT NULL DEFAULT 'group'
    CHECK (resource IN ('group', 'app'));
ALTER TABLE grants ADD COLUMN resource TEXT NOT NULL DEFAULT 'group'
    CHECK (resource IN ('group', 'app'));
ALTER TABLE okta_ops ADD COLUMN resource TEXT NOT NULL DEFAULT 'group'
    CHECK (resource IN ('group', 'app'));
