-- Federation: other hubs this hub exchanges with over TAXII 2.1 (`watchpost peer add`). A peer
-- is an organisation of this hub (its accounts have the `peer` role); what this hub pulls from
-- it are TAXII feeds, and what it pushes to it is read per collection after `last_added` (this
-- hub's `date_added`, which follows commit order), so a peer that was away catches up from
-- there and nothing is sent twice once acknowledged.
CREATE TABLE peers (
    pk      BIGSERIAL PRIMARY KEY,
    org_pk  BIGINT NOT NULL UNIQUE REFERENCES orgs (pk),
    url     TEXT NOT NULL,
    token   TEXT NOT NULL,
    created BIGINT NOT NULL
);

CREATE TABLE peer_pushes (
    peer_pk       BIGINT NOT NULL REFERENCES peers (pk),
    collection_pk BIGINT NOT NULL REFERENCES collections (pk),
    last_added    BIGINT NOT NULL DEFAULT 0,
    failures      BIGINT NOT NULL DEFAULT 0,
    next_attempt  BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT,
    PRIMARY KEY (peer_pk, collection_pk)
);
