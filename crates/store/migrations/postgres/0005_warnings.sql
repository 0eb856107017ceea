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
    first_seen   BIGINT NOT NULL,
    last_seen    BIGINT NOT NULL,
    count        BIGINT NOT NULL DEFAULT 1,
    level        BIGINT NOT NULL DEFAULT 0,
    escalate_at  BIGINT,
    ack_by       TEXT,
    ack_at       BIGINT,
    created      BIGINT NOT NULL,
    dedup_until  BIGINT NOT NULL,
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
    level           BIGINT NOT NULL,
    channel         TEXT NOT NULL,
    target          TEXT NOT NULL,
    focal_point     TEXT NOT NULL,
    language        TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    status          TEXT NOT NULL DEFAULT 'pending',
    last_error      TEXT,
    sent_at         BIGINT,
    created         BIGINT NOT NULL,
    UNIQUE (warning_id, level, channel, target)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
