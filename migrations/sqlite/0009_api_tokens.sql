-- Personal access tokens for the `/api/v1` REST API. Only a SHA-256 hash of each token is
-- stored (the token is shown once, when it is made); its first characters are kept to tell
-- tokens apart in lists. A token acts as its person, within its scopes and never beyond what
-- the person's role allows at the time of each call.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      TEXT NOT NULL,                 -- the person's Okta id
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,          -- hex SHA-256 of the whole token
    display       TEXT NOT NULL,                 -- `gpat_` and the first characters, for lists
    scopes        TEXT NOT NULL,                 -- space-separated: read request approve admin
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    last_used_ip  TEXT,
    revoked_at    BIGINT,
    revoked_by    TEXT
);
CREATE INDEX api_tokens_owner ON api_tokens (owner_id, id);

-- Answers to API calls made with an `Idempotency-Key`, per token, so that a retried call gets
-- the first answer instead of acting twice. Kept a day.
CREATE TABLE api_idempotency (
    token_id     BIGINT NOT NULL,
    idem_key     TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,                 -- hex SHA-256 of the method, path and body
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,                 -- the JSON body answered
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);
