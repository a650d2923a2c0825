-- Slack (and which notices go where): the workspace Gatepass posts to (secret references only), people's Slack accounts as
-- Slack reports them for their Okta email, the request cards posted (to update them when the
-- request is decided), interaction signatures seen (replays are refused), and per-policy Slack
-- options. The outbox and personal opt-outs gain the `slack` channel.

-- The Slack app: one row, written on Admin › Notifications.
CREATE TABLE slack_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    bot_token_ref      TEXT NOT NULL,         -- a secret reference to the xoxb-… token, never the value
    signing_secret_ref TEXT NOT NULL,         -- a secret reference to the signing secret
    default_channel    TEXT,                  -- a channel id (C…) new requests are also posted to
    enabled            BOOLEAN NOT NULL,
    updated_at         BIGINT NOT NULL,
    updated_by         TEXT NOT NULL
);

-- What `users.lookupByEmail` answered for a person's Okta email (slack_id NULL: nobody), kept
-- for a while so that each message does not look it up again.
CREATE TABLE slack_users (
    okta_id      TEXT PRIMARY KEY NOT NULL,
    email        TEXT NOT NULL,
    slack_id     TEXT,
    looked_up_at BIGINT NOT NULL,
    dm_channel   TEXT                         -- the direct message channel with the app, once opened
);
CREATE INDEX slack_users_slack_id ON slack_users (slack_id);

-- Request cards (to approvers, to a channel) queued in the outbox: where Slack put each once
-- posted, so that a decision updates every one.
CREATE TABLE slack_posts (
    notification_id BIGINT PRIMARY KEY NOT NULL,
    request_id      BIGINT NOT NULL REFERENCES access_requests (id),
    channel_id      TEXT,
    ts              TEXT
);
CREATE INDEX slack_posts_request ON slack_posts (request_id);

-- Signatures of Slack interactions already taken: the same signed payload is refused again.
CREATE TABLE slack_replays (
    signature TEXT PRIMARY KEY NOT NULL,
    seen_at   BIGINT NOT NULL
);
CREATE INDEX slack_replays_seen ON slack_replays (seen_at);

-- A policy may keep decisions in Gatepass's pages (no Slack buttons) and name a Slack channel
-- its new requests are posted to.
ALTER TABLE policies ADD COLUMN approve_in_gatepass_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE policies ADD COLUMN slack_channel TEXT;

-- The outbox and the opt-outs gain the `slack` channel, and a delivery can be skipped (a person
-- with no Slack account); SQLite rebuilds a table to change a CHECK.
CREATE TABLE notifications_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq       BIGINT NOT NULL REFERENCES audit_events (seq),
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email', 'slack')),
    target          TEXT NOT NULL,            -- webhook: the endpoint's id; email, slack: the person's Okta id; slack: also channel:C…, refresh:request:N
    state           TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed', 'skipped')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (channel, target, event_seq)
);
INSERT INTO notifications_new SELECT * FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_due ON notifications (state, next_attempt_at);
CREATE INDEX notifications_event ON notifications (event_seq);

CREATE TABLE notification_opt_outs_new (
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'slack')),
    kind    TEXT NOT NULL CHECK (kind IN ('to_decide', 'decisions', 'access', 'reminders')),
    PRIMARY KEY (user_id, channel, kind)
);
INSERT INTO notification_opt_outs_new SELECT * FROM notification_opt_outs;
DROP TABLE notification_opt_outs;
ALTER TABLE notification_opt_outs_new RENAME TO notification_opt_outs;

-- Kinds of notice an admin turned off for a channel to people (everything is on by default; a
-- person's own choices apply on top). Admin alerts cannot be turned off.
CREATE TABLE notification_switches (
    channel TEXT NOT NULL CHECK (channel IN ('email', 'slack')),
    kind    TEXT NOT NULL CHECK (kind IN ('to_decide', 'decisions', 'access', 'reminders')),
    PRIMARY KEY (channel, kind)
);
