-- A finished mailing's numbers in guests, kept so a page of the history list does
-- not count millions of delivery rows (storage/guest_counts.py; docs/architecture.md,
-- "Storage"). `histogram` is JSON {guest state: guests}; the numbers shown are
-- derived from it in code.
CREATE TABLE mailing_guest_counts (
    mailing_id INTEGER PRIMARY KEY REFERENCES mailings (id) ON DELETE CASCADE,
    histogram  TEXT NOT NULL,
    counted_at TEXT NOT NULL
);

-- Any change to a mailing's rows drops its kept numbers: a kept histogram is never
-- stale (the next reader counts again). During a run there is nothing to drop, and
-- the lookup costs well under a microsecond per row.
CREATE TRIGGER guest_counts_stale_on_insert AFTER INSERT ON deliveries
BEGIN
    DELETE FROM mailing_guest_counts WHERE mailing_id = NEW.mailing_id;
END;

CREATE TRIGGER guest_counts_stale_on_update AFTER UPDATE OF status, error_code ON deliveries
BEGIN
    DELETE FROM mailing_guest_counts WHERE mailing_id = NEW.mailing_id;
END;

CREATE TRIGGER guest_counts_stale_on_delete AFTER DELETE ON deliveries
BEGIN
    DELETE FROM mailing_guest_counts WHERE mailing_id = OLD.mailing_id;
END;
