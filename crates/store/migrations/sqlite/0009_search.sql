-- Full-text search over what analysts name things by: each object's latest version in each
-- collection, its name, description, pattern or value, aliases and external ids. It is filled
-- behind ingest, not in the ingest transaction: `search_progress` holds, per collection, the
-- last `date_added` indexed (a collection's `date_added` follows commit order), and the hub,
-- and each search before it runs, catch up from there. `tlp`, `owner` and `recipients` let the
-- store apply the read rules to every hit.
CREATE TABLE search_progress (
    collection_pk INTEGER PRIMARY KEY REFERENCES collections (pk),
    date_added    INTEGER NOT NULL
);

CREATE TABLE search_docs (
    rowid         INTEGER PRIMARY KEY,
    collection_pk INTEGER NOT NULL,
    stix_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT,
    version       INTEGER NOT NULL,
    owner         TEXT NOT NULL,
    tlp           INTEGER,
    recipients    TEXT,
    revoked       INTEGER NOT NULL,
    UNIQUE (collection_pk, stix_id)
);
-- Hits come newest first by row number (a new version is indexed again, so it moves up);
-- with a type, the type index gives the same order.
CREATE INDEX search_docs_by_type ON search_docs (type);

-- Diacritics removed: "canh bao" finds "cảnh báo", as Vietnamese analysts type on any keyboard.
CREATE VIRTUAL TABLE search_text USING fts5(
    text,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 2"
);
