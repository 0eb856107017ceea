-- Watchpost knowledge base, SQLite dialect. Timestamps are microseconds since the Unix epoch;
-- TLP levels are ranks 0 (CLEAR) to 4 (RED); flags are 0/1 integers (the sqlx Any driver
-- carries no portable boolean).

CREATE TABLE orgs (
    pk          INTEGER PRIMARY KEY,
    identity_id TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    sector      TEXT,
    country     TEXT,
    identity    TEXT NOT NULL,
    created     INTEGER NOT NULL
);

CREATE TABLE users (
    pk            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    org_pk        INTEGER NOT NULL REFERENCES orgs (pk),
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL
);

CREATE TABLE tokens (
    pk         INTEGER PRIMARY KEY,
    user_pk    INTEGER NOT NULL REFERENCES users (pk),
    token_hash TEXT NOT NULL UNIQUE,
    created    INTEGER NOT NULL
);

CREATE TABLE sharing_groups (
    pk      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
);

CREATE TABLE sharing_group_members (
    group_pk INTEGER NOT NULL REFERENCES sharing_groups (pk),
    org_pk   INTEGER NOT NULL REFERENCES orgs (pk),
    PRIMARY KEY (group_pk, org_pk)
);

CREATE TABLE collections (
    pk          INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT,
    default_tlp INTEGER NOT NULL,
    read_all    INTEGER NOT NULL,
    group_pk    INTEGER REFERENCES sharing_groups (pk),
    last_added  INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL
);

CREATE TABLE collection_access (
    collection_pk INTEGER NOT NULL REFERENCES collections (pk),
    org_pk        INTEGER NOT NULL REFERENCES orgs (pk),
    can_read      INTEGER NOT NULL,
    can_write     INTEGER NOT NULL,
    PRIMARY KEY (collection_pk, org_pk)
);

CREATE TABLE objects (
    pk            INTEGER PRIMARY KEY,
    collection_pk INTEGER NOT NULL REFERENCES collections (pk),
    date_added    INTEGER NOT NULL,
    stix_id       TEXT NOT NULL,
    type          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    spec_version  TEXT NOT NULL,
    owner         TEXT NOT NULL,
    tlp           INTEGER,
    recipients    TEXT,
    is_first      INTEGER NOT NULL,
    is_last       INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE UNIQUE INDEX objects_by_date ON objects (collection_pk, date_added);
CREATE UNIQUE INDEX objects_by_version ON objects (collection_pk, stix_id, version);

CREATE TABLE statuses (
    id            TEXT PRIMARY KEY,
    owner         TEXT NOT NULL,
    collection_pk INTEGER NOT NULL REFERENCES collections (pk),
    created       INTEGER NOT NULL,
    body          TEXT NOT NULL
);

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor_org  TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    action     TEXT NOT NULL,
    collection TEXT,
    object_id  TEXT,
    version    INTEGER,
    tlp        INTEGER,
    detail     TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
