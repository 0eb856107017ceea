-- Warnings: one per (indicator, organisation) and deduplication window, and the outbox of
-- their deliveries. The outbox is the only record of what is still to be sent, so a restarted
-- hub resumes it and a sent delivery (status 'sent') is never picked up again. Times are
-- microseconds since the epoch; the warning crate gives severity, levels and channels meaning.
CREATE TABLE warnings (
    id           TEXT PRIMARY KEY,
    indicator_id TEXT NOT NULL,
    org          TEXT NOT NULL,
    severity     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    first_seen   INTEGER NOT NULL,
    last_seen    INTEGER NOT NULL,
    count        INTEGER NOT NULL DEFAULT 1,
    level        INTEGER NOT NULL DEFAULT 0,
    escalate_at  INTEGER,
    ack_by       TEXT,
    ack_at       INTEGER,
    created      INTEGER NOT NULL,
    dedup_until  INTEGER NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX warnings_dedup ON warnings (indicator_id, org, dedup_until);
CREATE INDEX warnings_escalation ON warnings (escalate_at) WHERE status = 'open';
CREATE INDEX warnings_created ON warnings (created);

-- A (warning, level, channel, target) is enqueued once: the constraint backs the escalation's
-- compare-and-set on `warnings.level`.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    warning_id      TEXT NOT NULL REFERENCES warnings (id),
    level           INTEGER NOT NULL,
    channel         TEXT NOT NULL,
    target          TEXT NOT NULL,
    focal_point     TEXT NOT NULL,
    language        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    status          TEXT NOT NULL DEFAULT 'pending',
    last_error      TEXT,
    sent_at         INTEGER,
    created         INTEGER NOT NULL,
    UNIQUE (warning_id, level, channel, target)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
