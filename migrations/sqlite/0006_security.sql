-- Invariants the database enforces, so concurrent requests cannot break them:
--   at most one pending request, and at most one live (scheduled or active) grant, per person
--   and group.
-- Duplicates that concurrent requests could create before this migration are closed first:
-- the oldest pending request stays; of live grants, the one ending last stays (it holds the
-- membership longest; the others would have removed it early).
UPDATE access_requests SET state = 'cancelled', decided_at = created_at, decided_by = 'gatepass'
 WHERE state = 'pending'
   AND id NOT IN (SELECT MIN(id) FROM access_requests WHERE state = 'pending'
                  GROUP BY requester_id, group_id);
UPDATE grants SET state = 'revoked', revoked_reason = 'merged into the grant of the same membership that ends last'
 WHERE state IN ('scheduled', 'active')
   AND id NOT IN (SELECT g.id FROM grants g
                   WHERE g.state IN ('scheduled', 'active')
                     AND NOT EXISTS (SELECT 1 FROM grants o
                                      WHERE o.user_id = g.user_id AND o.group_id = g.group_id
                                        AND o.state IN ('scheduled', 'active')
                                        AND (o.ends_at > g.ends_at
                                             OR (o.ends_at = g.ends_at AND o.id > g.id))));
CREATE UNIQUE INDEX access_requests_one_pending ON access_requests (requester_id, group_id)
 WHERE state = 'pending';
CREATE UNIQUE INDEX grants_one_live ON grants (user_id, group_id)
 WHERE state IN ('scheduled', 'active');

-- Sessions are now kept under a hash of their id (read access to the database no longer
-- allows taking one over); sessions stored under the plain id end here.
DELETE FROM sessions;
