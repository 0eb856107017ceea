-- Each organisation's directory entry (focal points, constituency) as the JSON that
-- watchpost-warn reads; the store keeps it, the warning crate gives it meaning.
CREATE TABLE directory (
    org_pk  BIGINT PRIMARY KEY REFERENCES orgs (pk),
    entry   TEXT NOT NULL,
    updated BIGINT NOT NULL
);
