-- Segments, mailings and their deliveries (one row per guest per channel tried).

-- A segment is a saved set of conditions over the guest base. Conditions are
-- JSON (a list; empty = every guest). The built-in "All guests" has id 1 and
-- is shown under its translated name.
CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    conditions TEXT NOT NULL DEFAULT '[]',
    is_builtin INTEGER NOT NULL DEFAULT 0 CHECK (is_builtin IN (0, 1)),
    created_at TEXT NOT NULL
);

INSERT INTO segments (id, name, conditions, is_builtin, created_at)
VALUES (1, 'All guests', '[]', 1, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'));

-- A one-off mailing. Times are ISO-8601 in UTC; the admin typed them in TIMEZONE.
CREATE TABLE mailings (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    segment_id    INTEGER NOT NULL REFERENCES segments (id),
    scheduled_at  TEXT NOT NULL,
    -- Chosen channels, comma-separated in priority order: 'telegram', 'email',
    -- 'telegram,email' or 'email,telegram'.
    channels      TEXT NOT NULL,
    -- all: every chosen channel; priority: the first channel that can reach the
    -- guest, the next one as fallback (order from `channels`).
    send_mode     TEXT NOT NULL DEFAULT 'all' CHECK (send_mode IN ('all', 'priority')),
    subject       TEXT,                 -- email subject template
    text_html     TEXT,                 -- message template, Telegram HTML with {variables}
    image_path    TEXT,                 -- normalised image, relative to DATA_DIR
    image_file_id TEXT,                 -- Telegram file_id once uploaded (sent by id after)
    status        TEXT NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'running', 'paused', 'completed',
                                    'cancelled', 'missed')),
    locale        TEXT NOT NULL DEFAULT 'ru',   -- language of {balance} and of reports
    created_by    INTEGER NOT NULL,             -- Telegram id of the admin
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT
);

CREATE INDEX mailings_by_status_time ON mailings (status, scheduled_at);
CREATE INDEX mailings_by_time ON mailings (scheduled_at);

-- One row per guest per channel tried (docs/architecture.md, "State machines").
-- The journal of a mailing is these rows; the engine's progress is their statuses.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    mailing_id  INTEGER NOT NULL REFERENCES mailings (id) ON DELETE CASCADE,
    guest_id    INTEGER NOT NULL REFERENCES guests (id),
    channel     TEXT NOT NULL CHECK (channel IN ('telegram', 'email')),
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'unknown')),
    address     TEXT,                   -- chat id or email address at the time of the run
    attempts    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,                   -- why failed/skipped, in plain words
    external_id TEXT,                   -- Telegram message id or email Message-ID
    updated_at  TEXT,
    sent_at     TEXT,
    UNIQUE (mailing_id, guest_id, channel)
);

CREATE INDEX deliveries_by_mailing_status ON deliveries (mailing_id, status, id);
CREATE INDEX deliveries_by_guest ON deliveries (guest_id);
