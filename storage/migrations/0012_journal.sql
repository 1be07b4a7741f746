-- A mailing's journal opens at any page in a few index steps (keyset by id), with a
-- filter by channel, by status or both (docs/architecture.md, "Storage").
--
-- By channel: the channel never changes, so this index is written once per row,
-- when the run writes it `pending`. Its entries end with the row id, so a page is
-- `mailing_id = ? AND channel = ? AND id > ?` read in order.
CREATE INDEX deliveries_journal_channel ON deliveries (mailing_id, channel);

-- By status: only rows that are done. `pending` rows have deliveries_pending, and
-- `sending` is a moment. A row enters this index once, when it ends, so the
-- engine's claim (pending -> sending) writes no entry here (see 0005).
CREATE INDEX deliveries_journal_done ON deliveries (mailing_id, status, channel)
    WHERE status IN ('sent', 'failed', 'skipped', 'unknown');
