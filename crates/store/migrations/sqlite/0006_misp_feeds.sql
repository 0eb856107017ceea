-- MISP feeds (`watchpost feed add --misp URL`) beside TAXII ones: a MISP feed is a directory of
-- event files listed by `manifest.json`, so where a poll got to is the timestamp of each event
-- stored, not one position. An event whose manifest timestamp is unchanged is not fetched again.
ALTER TABLE feeds ADD COLUMN kind TEXT NOT NULL DEFAULT 'taxii';

CREATE TABLE feed_events (
    feed_pk   INTEGER NOT NULL REFERENCES feeds (pk),
    uuid      TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    stored    INTEGER NOT NULL,
    PRIMARY KEY (feed_pk, uuid)
);
