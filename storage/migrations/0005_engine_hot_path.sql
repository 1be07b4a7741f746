-- The engine finds a mailing's next pending rows of a channel through an index
-- that holds pending rows only. The index it replaces, on (mailing_id, status,
-- id), was rewritten twice for every message (pending -> sending -> sent), and
-- each rewrite is a page in the write-ahead log: a third of what a run writes.
-- Counting a mailing's rows by status reads its rows through the
-- (mailing_id, guest_id, channel) key instead, which happens at a run's start
-- and end and when a card is opened, not per message.
DROP INDEX IF EXISTS deliveries_by_mailing_status;
CREATE INDEX deliveries_pending ON deliveries (mailing_id, channel, id) WHERE status = 'pending';

-- When a run's task ended with every claimed row finished and written. A start
-- after a crash turns `sending` rows into `unknown` only in runs that did not
-- end so (a cancelled mailing's last sends may still be finishing when the
-- admin is told it is cancelled).
ALTER TABLE mailing_runs ADD COLUMN ended_at TEXT;
