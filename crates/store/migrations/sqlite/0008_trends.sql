-- What the risk-trend dashboard counts, kept beside the objects so that it never parses object
-- bodies: one row per sighting (its latest version), per `indicates` relationship and per named
-- object (indicator, malware, threat actor, intrusion set, campaign, attack pattern), written
-- in the transaction that stores the object. `tlp` is the effective rank (the collection's
-- default applied), `owner` and `collection_pk` those of the stored version, so the store
-- applies the read rules to every count. `day` is days since the epoch, UTC.
CREATE TABLE sighting_facts (
    sighting_id   TEXT PRIMARY KEY,
    day           INTEGER NOT NULL,
    org_identity  TEXT NOT NULL,
    indicator_id  TEXT NOT NULL,
    count         INTEGER NOT NULL,
    collection_pk INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    tlp           INTEGER NOT NULL
);
CREATE INDEX sighting_facts_by_day ON sighting_facts (day);
CREATE INDEX sighting_facts_by_indicator ON sighting_facts (indicator_id, day);

CREATE TABLE indicator_links (
    relationship_id TEXT PRIMARY KEY,
    indicator_id    TEXT NOT NULL,
    target_id       TEXT NOT NULL,
    collection_pk   INTEGER NOT NULL,
    owner           TEXT NOT NULL,
    tlp             INTEGER NOT NULL
);
CREATE INDEX indicator_links_by_indicator ON indicator_links (indicator_id);

CREATE TABLE named_objects (
    stix_id       TEXT PRIMARY KEY,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    collection_pk INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    tlp           INTEGER NOT NULL
);
