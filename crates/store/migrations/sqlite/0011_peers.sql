-- Federation: other hubs this hub exchanges with over TAXII 2.1 (`watchpost peer add`). A peer
-- is an organisation of this hub (its accounts have the `peer` role); what this hub pulls from
-- it are TAXII feeds, and what it pushes to it is read per collection after `last_added` (this
-- hub's `date_added`, which follows commit order), so a peer that was away catches up from
-- there and nothing is sent twice once acknowledged.
CREATE TABLE peers (
    pk      INTEGER PRIMARY KEY,
    org_pk  INTEGER NOT NULL UNIQUE REFERENCES orgs (pk),
    url     TEXT NOT NULL,
    token   TEXT NOT NULL,
    -- The peer's Ed25519 public key (base64): envelopes it pushes here must carry its
    -- signature; without one, it is trusted by its token alone.
    public_key TEXT,
    created INTEGER NOT NULL
);

CREATE TABLE peer_pushes (
    peer_pk       INTEGER NOT NULL REFERENCES peers (pk),
    collection_pk INTEGER NOT NULL REFERENCES collections (pk),
    last_added    INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    next_attempt  INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    PRIMARY KEY (peer_pk, collection_pk)
);

-- This hub's Ed25519 signing key (32 random bytes, base64), made on first use; its public
-- half is what `watchpost peer key` prints for the peers.
CREATE TABLE hub_key (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
);
