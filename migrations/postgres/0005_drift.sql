-- Drift: where Okta's memberships and Gatepass's grants disagree, found after each directory
-- sync and listed for admins until someone re-applies, revokes or ignores it, or it clears up.
--   missing   — an active grant whose membership Okta no longer has;
--   unmanaged — a membership of a requestable group that no grant accounts for.

CREATE TABLE drift_items (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('missing', 'unmanaged')),
    user_id     TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    grant_id    BIGINT REFERENCES grants (id),
    state       TEXT NOT NULL CHECK (state IN ('open', 'ignored', 'resolved')),
    resolution  TEXT CHECK (resolution IN ('reapplied', 'revoked', 'cleared')),
    detected_at BIGINT NOT NULL,
    decided_at  BIGINT,
    decided_by  TEXT
);
-- At most one live item per finding.
CREATE UNIQUE INDEX drift_items_live ON drift_items (kind, user_id, group_id) WHERE state <> 'resolved';
CREATE INDEX drift_items_state ON drift_items (state, id);

-- Operations by membership: the grant engine's claim (one change per membership at a time) and
-- the drift check (is a change for this membership unsettled?) look them up this way.
CREATE INDEX okta_ops_membership ON okta_ops (user_id, group_id, id);
