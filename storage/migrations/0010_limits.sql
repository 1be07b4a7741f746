-- Mailing limits: quiet hours and the global frequency cap (one row, id = 1), the
-- engine's record of a run paused for quiet hours, and the index the cap reads.

-- Quiet hours are local times "HH:MM" in TIMEZONE, both NULL when off (the
-- default); the window may cross midnight (22:00-09:00). The global cap is
-- "a guest gets at most one mailing every cap_days days" (NULL: off); its scope
-- says whether one-off mailings are held back by it too, or promotions only.
CREATE TABLE mailing_limits (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    quiet_from  TEXT,
    quiet_until TEXT,
    cap_days    INTEGER CHECK (cap_days IS NULL OR cap_days > 0),
    cap_scope   TEXT NOT NULL DEFAULT 'promotions' CHECK (cap_scope IN ('promotions', 'all')),
    updated_at  TEXT,
    updated_by  INTEGER,
    CHECK ((quiet_from IS NULL) = (quiet_until IS NULL)),
    CHECK (quiet_from IS NULL OR quiet_from <> quiet_until)
);

INSERT INTO mailing_limits (id) VALUES (1);

-- A paused mailing whose run stopped for quiet hours: the moment (UTC, ISO-8601)
-- it continues by itself. NULL for every other pause. The engine plans the
-- wake-up from this at start, so a restart keeps it.
ALTER TABLE mailing_runs ADD COLUMN quiet_until TEXT;

-- The frequency cap asks "did this guest get a mailing since ...?" per guest.
CREATE INDEX IF NOT EXISTS deliveries_sent_by_guest ON deliveries (guest_id, sent_at)
    WHERE status = 'sent';
