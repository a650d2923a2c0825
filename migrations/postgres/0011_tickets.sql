-- Tickets: a policy may require a ticket reference (a change or incident number) matching a
-- pattern, and show it as a link; the request keeps the reference and its link as they were
-- when it was made.
ALTER TABLE policies ADD COLUMN ticket_pattern TEXT;   -- a regular expression the whole reference must match
ALTER TABLE policies ADD COLUMN ticket_url TEXT;       -- https://… with {ticket}
ALTER TABLE access_requests ADD COLUMN ticket TEXT;
ALTER TABLE access_requests ADD COLUMN ticket_url TEXT;
