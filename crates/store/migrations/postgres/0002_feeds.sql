-- Remote TAXII 2.1 collections this hub polls (`watchpost feed add`). `last_added` is the
-- remote server's X-TAXII-Date-Added-Last, as it sent it, so polling resumes exactly there.
CREATE TABLE feeds (
    pk            BIGSERIAL PRIMARY KEY,
    api_root      TEXT NOT NULL,
    remote        TEXT NOT NULL,
    collection_pk BIGINT NOT NULL REFERENCES collections (pk),
    org_pk        BIGINT NOT NULL REFERENCES orgs (pk),
    auth          TEXT,
    interval_secs BIGINT NOT NULL,
    last_added    TEXT,
    last_polled   BIGINT,
    last_error    TEXT,
    created       BIGINT NOT NULL,
    UNIQUE (api_root, remote, collection_pk)
);
