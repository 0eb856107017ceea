-- Full-text search over what analysts name things by: each object's latest version in each
-- collection, its name, description, pattern or value, aliases and external ids. It is filled
-- behind ingest, not in the ingest transaction: `search_progress` holds, per collection, the
-- last `date_added` indexed (a collection's `date_added` follows commit order), and the hub,
-- and each search before it runs, catch up from there. `tlp`, `owner` and `recipients` let the
-- store apply the read rules to every hit. The `simple` configuration: no stemming, which
-- would mangle indicator values and Vietnamese alike.
CREATE TABLE search_progress (
    collection_pk BIGINT PRIMARY KEY REFERENCES collections (pk),
    date_added    BIGINT NOT NULL
);

CREATE TABLE search_docs (
    rowid         BIGSERIAL PRIMARY KEY,
    collection_pk BIGINT NOT NULL,
    stix_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    name          TEXT,
    version       BIGINT NOT NULL,
    owner         TEXT NOT NULL,
    tlp           BIGINT,
    recipients    TEXT,
    revoked       BIGINT NOT NULL,
    text          TEXT NOT NULL,
    tsv           tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
    UNIQUE (collection_pk, stix_id)
);
-- Hits come newest first by row number (a new version is indexed again, so it moves up);
-- with a type, the type index gives the same order.
CREATE INDEX search_docs_by_type ON search_docs (type, rowid);
CREATE INDEX search_docs_text ON search_docs USING GIN (tsv);
