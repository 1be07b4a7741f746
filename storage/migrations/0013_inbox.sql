-- The sender's mailbox, read over IMAP for unsubscribe requests and bounce reports.

-- The mailbox settings in force: one row (id = 1), only ever settings that passed a
-- real login and SELECT INBOX. No row: the mailbox is not read.
CREATE TABLE inbox_settings (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    host               TEXT NOT NULL,
    port               INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    security           TEXT NOT NULL CHECK (security IN ('tls', 'starttls')),
    username           TEXT NOT NULL,
    password_encrypted TEXT NOT NULL,            -- Fernet token (key in DATA_DIR), never plain
    verified_at        TEXT NOT NULL,            -- ISO-8601, UTC
    updated_by         INTEGER
);

-- What the reading did: one row (id = 1), shown in /settings.
CREATE TABLE inbox_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_read_at  TEXT,                          -- ISO-8601, UTC, of the last good round
    last_error    TEXT,                          -- the last round's failure kind, NULL when fine
    unsubscribes  INTEGER NOT NULL DEFAULT 0,    -- unsubscribe requests handled, all time
    bounces       INTEGER NOT NULL DEFAULT 0     -- bounce reports handled, all time
);

INSERT INTO inbox_state (id) VALUES (1);
