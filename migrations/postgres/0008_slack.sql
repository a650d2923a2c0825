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
-- with no Slack account).
ALTER TABLE notifications DROP CONSTRAINT notifications_state_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_state_check
    CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed', 'skipped'));
ALTER TABLE notifications DROP CONSTRAINT notifications_channel_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('webhook', 'email', 'slack'));
CREATE INDEX notifications_event ON notifications (event_seq);
ALTER TABLE notification_opt_outs DROP CONSTRAINT notification_opt_outs_channel_check;
ALTER TABLE notification_opt_outs ADD CONSTRAINT notification_opt_outs_channel_check
    CHECK (channel IN ('email', 'slack'));

-- Kinds of notice an admin turned off for a channel to people (everything is on by default; a
-- person's own choices apply on top). Admin alerts cannot be turned off.
CREATE TABLE notification_switches (
    channel TEXT NOT NULL CHECK (channel IN ('email', 'slack')),
    kind    TEXT NOT NULL CHECK (kind IN ('to_decide', 'decisions', 'access', 'reminders')),
    PRIMARY KEY (channel, kind)
);
