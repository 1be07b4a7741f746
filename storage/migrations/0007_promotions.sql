-- Segment promotions: a segment, a message and a schedule that create one
-- mailing per occurrence (docs/architecture.md, "Engine invariants").

CREATE TABLE promotions (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    segment_id    INTEGER NOT NULL REFERENCES segments (id),
    -- Schedule as JSON: {"kind": "daily"|"weekly"|"monthly"|"every_n_days",
    -- "at": "HH:MM", "weekdays": [0..6], "day": 1..31, "every": N}; times in TIMEZONE.
    schedule      TEXT NOT NULL,
    starts_on     TEXT NOT NULL,                 -- YYYY-MM-DD in TIMEZONE
    ends_on       TEXT,                          -- YYYY-MM-DD in TIMEZONE, inclusive
    channels      TEXT NOT NULL,                 -- as mailings.channels
    send_mode     TEXT NOT NULL DEFAULT 'all' CHECK (send_mode IN ('all', 'priority')),
    subject       TEXT,
    text_html     TEXT,
    image_path    TEXT,
    -- "The same guest gets at most one mailing every N days" for this promotion
    -- (NULL: no cap of its own; the global cap in /settings still applies).
    cap_days      INTEGER CHECK (cap_days IS NULL OR cap_days > 0),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    locale        TEXT NOT NULL DEFAULT 'ru',
    created_by    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT                           -- deleted promotions keep their mailings
);

CREATE INDEX promotions_by_segment ON promotions (segment_id);

-- A mailing is one-off or one occurrence of a promotion. The occurrence's
-- moment (UTC, ISO-8601) with the promotion id is unique: one mailing per
-- occurrence whatever fires it, however often.
ALTER TABLE mailings ADD COLUMN kind TEXT NOT NULL DEFAULT 'one_off'
    CHECK (kind IN ('one_off', 'promotion'));
ALTER TABLE mailings ADD COLUMN promotion_id INTEGER REFERENCES promotions (id);
ALTER TABLE mailings ADD COLUMN occurrence_at TEXT;
-- Frequency cap this mailing applies at populate time, in days (NULL: none).
ALTER TABLE mailings ADD COLUMN cap_days INTEGER;
CREATE UNIQUE INDEX mailings_one_per_occurrence ON mailings (promotion_id, occurrence_at)
    WHERE promotion_id IS NOT NULL;
