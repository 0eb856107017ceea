-- What the risk-trend dashboard counts, kept beside the objects so that it never parses object
-- bodies: one row per sighting (its latest version), per `indicates` relationship and per named
-- object (malware, threat actor, intrusion set, campaign, attack pattern), written in the
-- transaction that stores the object. `tlp` is the effective rank (the collection's default
-- applied), `owner` and `collection_pk` those of the stored version, so the store applies the
-- read rules to every count. `day` is days since the epoch, UTC.
--
-- Each process counts in memory and catches up on rows whose `seq` passed the last it saw.
-- `trend_clock` hands out `seq`: the row is locked by the transaction that ticks it until it
-- commits, so `seq` follows commit order and a catch-up never skips a row. A revoked or
-- deleted object's row stays, marked `gone`, so that catching up sees it go.
CREATE TABLE trend_clock (seq BIGINT NOT NULL);
INSERT INTO trend_clock (seq) VALUES (0);

CREATE TABLE sighting_facts (
    sighting_id   TEXT PRIMARY KEY,
    day           BIGINT NOT NULL,
    org_identity  TEXT NOT NULL,
    indicator_id  TEXT NOT NULL,
    count         BIGINT NOT NULL,
    collection_pk BIGINT NOT NULL,
    owner         TEXT NOT NULL,
    tlp           BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    gone          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sighting_facts_by_seq ON sighting_facts (seq);

CREATE TABLE indicator_links (
    relationship_id TEXT PRIMARY KEY,
    indicator_id    TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    collection_pk   BIGINT NOT NULL,
    owner           TEXT NOT NULL,
    tlp             BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    gone            BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX indicator_links_by_seq ON indicator_links (seq);

CREATE TABLE named_objects (
    stix_id       TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    collection_pk BIGINT NOT NULL,
    owner         TEXT NOT NULL,
    tlp           BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    gone          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX named_objects_by_seq ON named_objects (seq);
