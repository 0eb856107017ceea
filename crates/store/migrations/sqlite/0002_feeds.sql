-- Remote TAXII 2.1 collections this hub polls (`watchpost feed add`). `last_added` is the
-- remote server's X-TAXII-Date-Added-Last, as it sent it, so polling resumes exactly there.
CREATE TABLE feeds (
    pk            INTEGER PRIMARY KEY,
    api_root      TEXT NOT NULL,
    remote        TEXT NOT NULL,
    collection_pk INTEGER NOT NULL REFERENCES collections (pk),
    org_pk        INTEGER NOT NULL REFERENCES orgs (pk),
    auth          TEXT,
    interval_secs INTEGER NOT NULL,
    last_added    TEXT,
    last_polled   INTEGER,
    last_error    TEXT,
    created       INTEGER NOT NULL,
    UNIQUE (api_root, remote, collection_pk)
);
