-- Watchpost knowledge base, PostgreSQL dialect. Timestamps are microseconds since the Unix epoch;
-- TLP levels are ranks 0 (CLEAR) to 4 (RED); flags are 0/1 integers (the sqlx Any driver
-- carries no portable boolean).

CREATE TABLE orgs (
    pk          BIGSERIAL PRIMARY KEY,
    identity_id TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    sector      TEXT,
    country     TEXT,
    identity    TEXT NOT NULL,
    created     BIGINT NOT NULL
);

CREATE TABLE users (
    pk            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    org_pk        BIGINT NOT NULL REFERENCES orgs (pk),
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       BIGINT NOT NULL
);

CREATE TABLE tokens (
    pk         BIGSERIAL PRIMARY KEY,
    user_pk    BIGINT NOT NULL REFERENCES users (pk),
    token_hash TEXT NOT NULL UNIQUE,
    created    BIGINT NOT NULL
);

CREATE TABLE sharing_groups (
    pk      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL
);

CREATE TABLE sharing_group_members (
    group_pk BIGINT NOT NULL REFERENCES sharing_groups (pk),
    org_pk   BIGINT NOT NULL REFERENCES orgs (pk),
    PRIMARY KEY (group_pk, org_pk)
);

CREATE TABLE collections (
    pk          BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT,
    default_tlp BIGINT NOT NULL,
    read_all    BIGINT NOT NULL,
    group_pk    BIGINT REFERENCES sharing_groups (pk),
    last_added  BIGINT NOT NULL DEFAULT 0,
    created     BIGINT NOT NULL
);

CREATE TABLE collection_access (
    collection_pk BIGINT NOT NULL REFERENCES collections (pk),
    org_pk        BIGINT NOT NULL REFERENCES orgs (pk),
    can_read      BIGINT NOT NULL,
    can_write     BIGINT NOT NULL,
    PRIMARY KEY (collection_pk, org_pk)
);

CREATE TABLE objects (
    pk            BIGSERIAL PRIMARY KEY,
    collection_pk BIGINT NOT NULL REFERENCES collections (pk),
    date_added    BIGINT NOT NULL,
    stix_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    version       BIGINT NOT NULL,
    spec_version  TEXT NOT NULL,
    owner         TEXT NOT NULL,
    tlp           BIGINT,
    recipients    TEXT,
    is_first      BIGINT NOT NULL,
    is_last       BIGINT NOT NULL,
    body          TEXT NOT NULL
);
CREATE UNIQUE INDEX objects_by_date ON objects (collection_pk, date_added);
CREATE UNIQUE INDEX objects_by_version ON objects (collection_pk, stix_id, version);

CREATE TABLE statuses (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    collection_pk BIGINT NOT NULL REFERENCES collections (pk),
    created       BIGINT NOT NULL,
    body          TEXT NOT NULL
);

CREATE TABLE audit (
    seq        BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor_org  TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    action     TEXT NOT NULL,
    collection TEXT,
    object_id  TEXT,
    version    BIGINT,
    tlp        BIGINT,
    detail     TEXT
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
