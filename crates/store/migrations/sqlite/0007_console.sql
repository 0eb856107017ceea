-- The analyst console (watchpost-web). Sessions live in the store, not in the hub's memory, so
-- that several hub processes sharing one database share the logins too. Only the SHA-256 of a
-- session id is kept: a copy of this table logs no one in.
CREATE TABLE console_sessions (
    id_digest TEXT PRIMARY KEY,
    username  TEXT NOT NULL,
    csrf      TEXT NOT NULL,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires);

-- Every login attempt, kept to lock out password guessing (by user name and by address).
CREATE TABLE login_attempts (
    pk        INTEGER PRIMARY KEY,
    username  TEXT NOT NULL,
    ip        TEXT NOT NULL,
    at        INTEGER NOT NULL,
    succeeded INTEGER NOT NULL
);
CREATE INDEX login_attempts_user ON login_attempts (username, at);
CREATE INDEX login_attempts_ip ON login_attempts (ip, at);

-- What analysts do with a warning besides acknowledging it: assign it to a colleague and close
-- it; the notes keep who did what, with the comment a closing needs.
ALTER TABLE warnings ADD COLUMN assigned_to TEXT;
ALTER TABLE warnings ADD COLUMN closed_by TEXT;
ALTER TABLE warnings ADD COLUMN closed_at INTEGER;

CREATE TABLE warning_notes (
    pk         INTEGER PRIMARY KEY,
    warning_id TEXT NOT NULL REFERENCES warnings (id),
    author     TEXT NOT NULL,
    at         INTEGER NOT NULL,
    action     TEXT NOT NULL,
    text       TEXT NOT NULL
);
CREATE INDEX warning_notes_warning ON warning_notes (warning_id, pk);
