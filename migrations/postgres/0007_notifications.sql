-- Notifications: webhook endpoints admins add, the events each receives, the channels to people
-- the configuration turns on, and the outbox of deliveries. A delivery is queued in the
-- transaction that records its event (an audit event), claimed with a lease by the notifier
-- and closed with its outcome.

CREATE TABLE webhook_endpoints (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    url        TEXT NOT NULL,
    secret_ref TEXT NOT NULL,                 -- a secret reference to a whsec_… value, never the value
    enabled    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- The events an endpoint receives: audit actions (`request.created`, …) or `*` for every one.
CREATE TABLE webhook_subscriptions (
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event)
);
CREATE INDEX webhook_subscriptions_event ON webhook_subscriptions (event, endpoint_id);

-- Channels to people (email) and whether this deployment's configuration turns them on;
-- written at start-up, read when an event is recorded.
CREATE TABLE notification_channels (
    channel TEXT PRIMARY KEY NOT NULL CHECK (channel IN ('email')),
    enabled BOOLEAN NOT NULL
);

CREATE TABLE notifications (
    id              BIGSERIAL PRIMARY KEY,
    event_seq       BIGINT NOT NULL REFERENCES audit_events (seq),
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    target          TEXT NOT NULL,            -- webhook: the endpoint's id; email: the person's Okta id
    state           TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    -- One delivery per event, channel and recipient: the idempotency key.
    UNIQUE (channel, target, event_seq)
);
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);

-- Reminders sent before a grant ends: one per grant, lead time and end, so an extension (a new
-- end) arms them again and several Gatepass processes send each once.
CREATE TABLE grant_reminders (
    grant_id BIGINT NOT NULL REFERENCES grants (id),
    lead_ms  BIGINT NOT NULL,
    ends_at  BIGINT NOT NULL,
    sent_at  BIGINT NOT NULL,
    PRIMARY KEY (grant_id, lead_ms, ends_at)
);

-- Kinds of email a person turned off on Settings › Notifications (everything is on by default).
CREATE TABLE notification_opt_outs (
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email')),
    kind    TEXT NOT NULL CHECK (kind IN ('to_decide', 'decisions', 'access', 'reminders')),
    PRIMARY KEY (user_id, channel, kind)
);

-- Reminders about a request still pending after a while: to its approvers, then (escalated)
-- to the admins; one of each per request.
CREATE TABLE request_reminders (
    request_id BIGINT NOT NULL REFERENCES access_requests (id),
    kind       TEXT NOT NULL CHECK (kind IN ('approvers', 'admins')),
    sent_at    BIGINT NOT NULL,
    PRIMARY KEY (request_id, kind)
);

-- Who gets admin alerts by email (grants failed in Okta, removals that keep failing): the
-- admins as Gatepass's own rules resolve them (bootstrap admins, members of the admin groups),
-- written by Gatepass when they change.
CREATE TABLE notification_admins (
    user_id TEXT PRIMARY KEY NOT NULL
);
