-- 24/7 requests between the focal points of two organisations, and the hash chain of their
-- events (watchpost-coop gives both meaning). Organisations are named, as the directory names
-- them; only the users of those two organisations see a request. The events are the record:
-- UNIQUE (request_id, seq) backs the compare-and-set on the previous hash, so two writers
-- cannot both append event n+1. Times are microseconds since the epoch, except those the
-- requester wrote (deadline, event times), which keep their text.
CREATE TABLE requests (
    id       TEXT PRIMARY KEY,
    from_org TEXT NOT NULL REFERENCES orgs (name),
    to_org   TEXT NOT NULL REFERENCES orgs (name),
    type     TEXT NOT NULL,
    state    TEXT NOT NULL,
    deadline TEXT,
    body     TEXT NOT NULL,
    created  BIGINT NOT NULL,
    updated  BIGINT NOT NULL
);
CREATE INDEX requests_from_org ON requests (from_org, updated);
CREATE INDEX requests_to_org ON requests (to_org, updated);

CREATE TABLE request_events (
    request_id TEXT NOT NULL REFERENCES requests (id),
    seq        BIGINT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (request_id, seq)
);

CREATE TABLE request_attachments (
    request_id TEXT NOT NULL REFERENCES requests (id),
    sha256     TEXT NOT NULL,
    name       TEXT NOT NULL,
    size       BIGINT NOT NULL,
    content    BYTEA NOT NULL,
    PRIMARY KEY (request_id, sha256)
);
