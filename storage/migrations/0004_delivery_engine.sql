-- The delivery engine's own state: why a row ended as it did (a code beside the
-- text), and one row per started mailing run (who is told, how far the segment
-- was written, which channels are paused, where the progress message is).

-- A stable English code for each failed/skipped/unknown row ("blocked",
-- "no_email", "bounced", "cancelled"...); `error` keeps the short text.
ALTER TABLE deliveries ADD COLUMN error_code TEXT;

CREATE TABLE mailing_runs (
    mailing_id          INTEGER PRIMARY KEY REFERENCES mailings (id) ON DELETE CASCADE,
    launched_by         INTEGER,                    -- Telegram id of the admin told about it
    -- The segment is written as pending rows in pages of guest ids up to the
    -- largest id at the start (guests added later are not part of the run).
    populate_until      INTEGER,
    populate_cursor     INTEGER NOT NULL DEFAULT 0, -- last guest id written
    populated           INTEGER NOT NULL DEFAULT 0 CHECK (populated IN (0, 1)),
    -- Channels paused after CHANNEL_FAILURE_LIMIT failures in a row, comma-separated.
    paused_channels     TEXT NOT NULL DEFAULT '',
    last_error          TEXT,                       -- why a channel was paused
    progress_chat_id    INTEGER,
    progress_message_id INTEGER,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
