-- A finished mailing's numbers in guests, kept so a page of the history list does
-- not count millions of delivery rows (storage/guest_counts.py; docs/architecture.md,
-- "Storage"). `histogram` is JSON {guest state: guests}; the numbers shown are
-- derived from it in code.
CREATE TABLE mailing_guest_counts (
    mailing_id INTEGER PRIMARY KEY REFERENCES mailings (id) ON DELETE CASCADE,
    histogram  TEXT NOT NULL,
    counted_at TEXT NOT NULL
);

-- A change to a mailing's rows drops its kept numbers: a kept histogram is never
-- stale (the next reader counts again). During a run there is nothing to drop, and
-- the lookup costs well under a microsecond per row.
-- No trigger on INSERT: rows are inserted before a run ends (its segment written as
-- pending, a fallback row beside the update of the row that failed), never into a
-- mailing whose numbers are kept; a per-row trigger there cost the start of a
-- 1,000,000-guest mailing ~15%.
CREATE TRIGGER guest_counts_stale_on_update AFTER UPDATE OF status, error_code ON deliveries
BEGIN
    DELETE FROM mailing_guest_counts WHERE mailing_id = NEW.mailing_id;
END;

CREATE TRIGGER guest_counts_stale_on_delete AFTER DELETE ON deliveries
BEGIN
    DELETE FROM mailing_guest_counts WHERE mailing_id = OLD.mailing_id;
END;
