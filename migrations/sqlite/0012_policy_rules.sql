-- Richer policies: limits (a cap on a person's live grants, a window when requests may start),
-- break-glass (emergency access without approval, reviewed afterwards), a second tier of
-- approvers and admins for requests left undecided, and out-of-office delegates.
ALTER TABLE policies ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';     -- JSON: PolicyRules

ALTER TABLE access_requests ADD COLUMN policy_id BIGINT;              -- the policy it was made under
ALTER TABLE access_requests ADD COLUMN emergency BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE access_requests ADD COLUMN followup TEXT                  -- an emergency's review afterwards
    CHECK (followup IN ('pending', 'justified', 'flagged'));
ALTER TABLE access_requests ADD COLUMN followup_by TEXT;
ALTER TABLE access_requests ADD COLUMN followup_at BIGINT;
ALTER TABLE access_requests ADD COLUMN followup_comment TEXT;
ALTER TABLE access_requests ADD COLUMN escalate_at BIGINT;            -- when the second tier joins
ALTER TABLE access_requests ADD COLUMN admins_at BIGINT;              -- when the admins join
ALTER TABLE access_requests ADD COLUMN escalated_at BIGINT;
ALTER TABLE access_requests ADD COLUMN admins_escalated_at BIGINT;
CREATE INDEX access_requests_policy ON access_requests (requester_id, policy_id, state);
CREATE INDEX access_requests_emergency ON access_requests (requester_id, emergency, created_at);
CREATE INDEX access_requests_followup ON access_requests (followup);

-- How an approver came to a request: NULL, its policy; 'escalation'; 'admins';
-- 'delegate:<okta id>', standing in for that person.
ALTER TABLE request_approvers ADD COLUMN via TEXT;

-- Out of office: while a delegation runs, requests routed to `user_id` go to `delegate_id` too.
CREATE TABLE delegations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL REFERENCES users (okta_id),
    delegate_id TEXT NOT NULL REFERENCES users (okta_id),
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    CHECK (user_id <> delegate_id),
    CHECK (starts_at < ends_at)
);
CREATE INDEX delegations_user ON delegations (user_id, ends_at);
CREATE INDEX delegations_window ON delegations (starts_at, ends_at);
