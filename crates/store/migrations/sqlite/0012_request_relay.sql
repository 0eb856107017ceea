-- 24/7 requests between hubs. A request to an organisation that is a peer travels as a STIX
-- object in the requests collection; `requests_read` is the last `date_added` of that
-- collection whose objects from the peer this hub has taken into its own requests.
ALTER TABLE peers ADD COLUMN requests_read INTEGER NOT NULL DEFAULT 0;

-- The reminders raised on the deadline clocks of requests, each once: the warning it raised
-- goes out and escalates like any other.
CREATE TABLE request_reminders (
    request_id TEXT NOT NULL REFERENCES requests (id),
    kind       TEXT NOT NULL,
    org        TEXT NOT NULL,
    warning_id TEXT NOT NULL,
    raised     INTEGER NOT NULL,
    PRIMARY KEY (request_id, kind, org)
);
